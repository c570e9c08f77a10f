-- Signing-key versions (see portcullis_store::KeyVersion) and schema facts.
-- Timestamps are Unix seconds.

CREATE TABLE key_versions (
    keyring         TEXT   NOT NULL,
    key_name        TEXT   NOT NULL,
    version         BIGINT NOT NULL CHECK (version >= 1),
    kid             TEXT   NOT NULL UNIQUE,
    algorithm       TEXT   NOT NULL,
    provider        TEXT   NOT NULL,
    public_jwk      TEXT,
    sealed_material BYTEA,
    provider_ref    TEXT,
    created_at      BIGINT NOT NULL,
    retire_at       BIGINT,
    PRIMARY KEY (keyring, key_name, version)
);

CREATE TABLE meta (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
