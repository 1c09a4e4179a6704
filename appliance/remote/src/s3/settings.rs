//! One S3 connection: where the bucket is, how to address it, with which key, and below which
//! prefix the connection's folder lives.

use crate::secret::Secret;
use crate::RemotePath;

#[derive(Debug, Clone)]
pub struct S3Settings {
    /// `https://s3.eu-central-1.amazonaws.com`, `http://nas2.lan:3900`, ...
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// `/bucket/key` (S3-compatible servers) rather than `bucket.host/key` (AWS).
    pub path_style: bool,
    pub access_key: String,
    pub secret_key: Secret,
    /// The connection's folder in the bucket; the root for the whole bucket.
    pub root: RemotePath,
    /// Files above this go in a multipart upload.
    pub multipart_threshold: u64,
    /// The part size of multipart uploads (at least 5 MiB, grown for very large files). It is
    /// also the memory an upload holds: one part at a time.
    pub part_size: u64,
}

impl S3Settings {
    pub fn new(endpoint: &str, region: &str, bucket: &str, access_key: &str, secret_key: Secret) -> Self {
        S3Settings {
            endpoint: endpoint.into(),
            region: region.into(),
            bucket: bucket.into(),
            path_style: true,
            access_key: access_key.into(),
            secret_key,
            root: RemotePath::root(),
            multipart_threshold: 16 * 1024 * 1024,
            part_size: 8 * 1024 * 1024,
        }
    }
}
