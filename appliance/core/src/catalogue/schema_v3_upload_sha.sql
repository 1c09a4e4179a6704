-- Version 3: the SHA-256 of a resumable upload's bytes, written just before they are placed in the
-- library. A crash between placing the file and recording the outcome leaves no upload file behind;
-- this is how the retried last PATCH finds the asset it became.
ALTER TABLE uploads ADD COLUMN sha256 BLOB;
