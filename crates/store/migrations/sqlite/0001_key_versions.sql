-- Signing-key versions (see portcullis_store::KeyVersion) and schema facts.
-- Timestamps are Unix seconds. STRICT makes SQLite enforce the column types.

CREATE TABLE key_versions (
    keyring         TEXT    NOT NULL,
    key_name        TEXT    NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    kid             TEXT    NOT NULL UNIQUE,
    algorithm       TEXT    NOT NULL,
    provider        TEXT    NOT NULL,
    public_jwk      TEXT,
    sealed_material BLOB,
    provider_ref    TEXT,
    created_at      INTEGER NOT NULL,
    retire_at       INTEGER,
    PRIMARY KEY (keyring, key_name, version)
) STRICT;

CREATE TABLE meta (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
