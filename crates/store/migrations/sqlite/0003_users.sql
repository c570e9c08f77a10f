-- Users, their backup codes and refresh-token sessions (portcullis_store::UserStore).
-- Timestamps are Unix seconds; booleans are 0/1 integers on both backends.

CREATE TABLE users (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    email            TEXT    NOT NULL,
    email_normalized TEXT    NOT NULL UNIQUE,
    password_hash    TEXT    NOT NULL,
    role             TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'active',
    totp_secret      BLOB,
    totp_enabled     INTEGER NOT NULL DEFAULT 0,
    totp_last_step   INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_login_at    INTEGER,
    last_login_ip    TEXT
);

CREATE TABLE backup_codes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    used_at    INTEGER
);
CREATE INDEX backup_codes_user ON backup_codes (user_id);

CREATE TABLE refresh_sessions (
    token_hash  TEXT    NOT NULL PRIMARY KEY,
    family_id   TEXT    NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT    NOT NULL,
    access_jti  TEXT    NOT NULL,
    mfa         INTEGER NOT NULL DEFAULT 0,
    ip_address  TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX refresh_sessions_family ON refresh_sessions (family_id);
CREATE INDEX refresh_sessions_user ON refresh_sessions (user_id);
