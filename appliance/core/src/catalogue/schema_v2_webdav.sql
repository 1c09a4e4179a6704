-- Version 2: the workspace tree as WebDAV clients see it. An asset's own file is at assets.rel_path;
-- these are the other names in the tree. asset_id set: another name for that asset's file (a hard
-- link, so identical content at two paths is stored once); NULL: a file that is not a photo or video
-- (a sidecar, Finder's ._ files), kept for the client that put it there but never catalogued.
CREATE TABLE dav_files (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    asset_id     INTEGER REFERENCES assets(id),
    PRIMARY KEY (workspace_id, path)
) WITHOUT ROWID;
CREATE INDEX dav_files_by_asset ON dav_files (asset_id) WHERE asset_id IS NOT NULL;

-- WebDAV dead properties (PROPPATCH), kept by path and moved and copied with it.
CREATE TABLE dav_props (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    namespace    TEXT NOT NULL,
    name         TEXT NOT NULL,
    prefix       TEXT,
    xml          BLOB,
    PRIMARY KEY (workspace_id, path, namespace, name)
) WITHOUT ROWID;
