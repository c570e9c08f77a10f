-- Client applications, their secrets and API keys (portcullis_store::ClientStore,
-- ApiKeyStore). Timestamps are Unix seconds; lists are space-separated text.

CREATE TABLE clients (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    scopes       TEXT    NOT NULL DEFAULT '',
    allowed_ips  TEXT    NOT NULL DEFAULT '',
    rate_limit   TEXT,
    enabled      INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- A secret is live while expires_at is NULL or in the future; a rotation sets
-- the previous one's expires_at to the end of the grace period.
CREATE TABLE client_secrets (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id  TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE INDEX client_secrets_client ON client_secrets (client_id);

-- Only the SHA-256 of a key is stored; lookup is one indexed equality.
CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    key_hash     TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    client_id    TEXT,
    scopes       TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
