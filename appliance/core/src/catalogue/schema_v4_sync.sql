-- Version 4: cloud connections of a workspace and the push outbox (shoebox-sync owns the queries).

CREATE TABLE connections (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    direction       TEXT NOT NULL CHECK (direction IN ('push', 'pull')),
    provider        TEXT NOT NULL,
    remote_folder   TEXT NOT NULL,
    -- Provider specifics as JSON (S3 endpoint and bucket, SharePoint site and library).
    options         TEXT NOT NULL DEFAULT '{}',
    -- OAuth tokens or S3 keys as JSON; never logged, never sent back by the API.
    secrets         TEXT,
    enabled         INTEGER NOT NULL DEFAULT 1,
    auto_sync       INTEGER NOT NULL DEFAULT 1,
    interval_secs   INTEGER NOT NULL DEFAULT 300,
    local_prefix    TEXT NOT NULL DEFAULT '',
    mirror_deletes  INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL,
    last_error      TEXT,
    last_sync_at    TEXT,
    last_success_at TEXT,
    cursor          TEXT,
    created_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX connections_by_workspace ON connections (workspace_id);

-- One row per replication still to do. Uploads name the asset (its current path is read when the
-- job runs); deletes name the path the file had.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    op            TEXT NOT NULL CHECK (op IN ('upload', 'delete')),
    asset_id      INTEGER,
    rel_path      TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    -- Set when a worker takes the job: a job found started after a restart may have reached the
    -- remote, so it is checked there before being sent again.
    started_at    TEXT,
    not_before    TEXT,
    last_error    TEXT,
    enqueued_at   TEXT NOT NULL
);
CREATE INDEX outbox_by_connection ON outbox (connection_id, id);
CREATE INDEX outbox_by_asset ON outbox (asset_id) WHERE asset_id IS NOT NULL;

-- The outbox is filled in the same transaction that makes an asset ready, whichever way it came in
-- (REST, tus, WebDAV, a pull), so no photo can be stored without its replication being queued.
CREATE TRIGGER outbox_on_ready AFTER UPDATE OF state ON assets
WHEN NEW.state = 'ready' AND OLD.state <> 'ready'
BEGIN
    INSERT INTO outbox (connection_id, op, asset_id, rel_path, enqueued_at)
    SELECT id, 'upload', NEW.id, NEW.rel_path, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM connections WHERE workspace_id = NEW.workspace_id AND direction = 'push';
END;

-- A file moved in the library (WebDAV MOVE) goes to its new path; the old copy is deleted only
-- where the owner asked for deletions to be mirrored.
CREATE TRIGGER outbox_on_move AFTER UPDATE OF rel_path ON assets
WHEN NEW.state = 'ready' AND OLD.state = 'ready' AND NEW.rel_path <> OLD.rel_path
BEGIN
    INSERT INTO outbox (connection_id, op, asset_id, rel_path, enqueued_at)
    SELECT id, 'upload', NEW.id, NEW.rel_path, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM connections WHERE workspace_id = NEW.workspace_id AND direction = 'push';
    INSERT INTO outbox (connection_id, op, asset_id, rel_path, enqueued_at)
    SELECT id, 'delete', NULL, OLD.rel_path, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM connections WHERE workspace_id = NEW.workspace_id AND direction = 'push' AND mirror_deletes = 1;
END;

CREATE TRIGGER outbox_on_delete AFTER DELETE ON assets
WHEN OLD.state = 'ready'
BEGIN
    DELETE FROM outbox WHERE asset_id = OLD.id AND op = 'upload';
    INSERT INTO outbox (connection_id, op, asset_id, rel_path, enqueued_at)
    SELECT id, 'delete', NULL, OLD.rel_path, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM connections WHERE workspace_id = OLD.workspace_id AND direction = 'push' AND mirror_deletes = 1;
END;

-- What a pull connection has seen at each remote path, so a later sync downloads only what changed
-- and a file renamed or copied on the remote (the same hash) is not downloaded again.
CREATE TABLE pulled (
    connection_id INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    remote_path   TEXT NOT NULL,
    size          INTEGER NOT NULL,
    -- The provider's hash as "kind:value", when it keeps one.
    hash          TEXT,
    -- imported (a new photo), exists (the box had these bytes), not_media, deleted_locally (the owner
    -- deleted these bytes from the box: not brought back).
    outcome       TEXT NOT NULL,
    asset_id      INTEGER,
    PRIMARY KEY (connection_id, remote_path)
) WITHOUT ROWID;
CREATE INDEX pulled_by_hash ON pulled (connection_id, hash) WHERE hash IS NOT NULL;
