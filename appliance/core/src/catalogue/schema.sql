-- Version 1 of the catalogue. Times are RFC 3339 UTC text unless the column says otherwise.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE workspaces (
    id              INTEGER PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    folder_template TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

CREATE TABLE memberships (
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('viewer', 'contributor', 'editor', 'admin')),
    PRIMARY KEY (user_id, workspace_id)
) WITHOUT ROWID;

-- Login sessions, device tokens and access links. Only a hash of the secret is kept.
CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('session', 'device', 'access_link')),
    name         TEXT NOT NULL,
    secret_hash  BLOB NOT NULL,
    csrf_token   TEXT,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    expires_at   TEXT,
    revoked_at   TEXT
);
CREATE INDEX tokens_user ON tokens (user_id, kind);

CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    starts_at    TEXT NOT NULL, -- local wall-clock time, YYYY-MM-DDTHH:MM:SS
    ends_at      TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX events_span ON events (workspace_id, starts_at, ends_at);

CREATE TABLE tags (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL COLLATE NOCASE,
    UNIQUE (workspace_id, name)
);

CREATE TABLE event_tags (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    tag_id   INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (event_id, tag_id)
) WITHOUT ROWID;

-- state 'placing': the row is written before the file is renamed into the library, so a crash in
-- between is finished (or undone) at start-up instead of leaving a file nobody knows about.
-- AUTOINCREMENT: an id is never handed out twice, since clients remember them.
CREATE TABLE assets (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    sha256        BLOB NOT NULL,
    size          INTEGER NOT NULL,
    media_type    TEXT NOT NULL,
    rel_path      TEXT NOT NULL,
    staged_path   TEXT,
    original_name TEXT NOT NULL,
    title         TEXT,
    taken_at      TEXT NOT NULL, -- local wall-clock time, YYYY-MM-DDTHH:MM:SS
    taken_offset  INTEGER,       -- minutes east of UTC, when the file says
    taken_source  TEXT NOT NULL,
    event_id      INTEGER REFERENCES events(id) ON DELETE SET NULL,
    device        TEXT,
    uploaded_at   TEXT NOT NULL,
    uploaded_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    state         TEXT NOT NULL CHECK (state IN ('placing', 'ready')),
    UNIQUE (workspace_id, sha256),
    UNIQUE (workspace_id, rel_path)
);
CREATE INDEX assets_by_time ON assets (workspace_id, taken_at DESC, id DESC);

CREATE TABLE asset_tags (
    asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    tag_id   INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (asset_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX asset_tags_by_tag ON asset_tags (tag_id, asset_id);

-- Content the owner deleted, remembered by hash so a phone does not upload it again.
CREATE TABLE tombstones (
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    sha256        BLOB NOT NULL,
    original_name TEXT NOT NULL,
    deleted_at    TEXT NOT NULL,
    deleted_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    PRIMARY KEY (workspace_id, sha256)
) WITHOUT ROWID;

-- Unfinished resumable (tus) uploads; the bytes are in the library's temporary folder.
CREATE TABLE uploads (
    id               TEXT PRIMARY KEY,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    length           INTEGER NOT NULL,
    committed_offset INTEGER NOT NULL DEFAULT 0,
    metadata         TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    outcome          TEXT,
    asset_id         INTEGER
);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    user_id      INTEGER,
    workspace_id INTEGER,
    action       TEXT NOT NULL,
    target       TEXT,
    detail       TEXT,
    remote_addr  TEXT
);
