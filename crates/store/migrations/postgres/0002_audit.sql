-- The audit trail (see portcullis_store::AuditStore): append-only, hash-chained.
-- `id` is the chain order (a sequence: rolled-back appends may leave gaps).
-- Timestamps are Unix milliseconds; geo_location and details are JSON text,
-- hashed exactly as stored.

CREATE TABLE audit_events (
    id            BIGSERIAL PRIMARY KEY,
    timestamp_ms  BIGINT  NOT NULL,
    action        TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    user_id       TEXT,
    client_system TEXT,
    ip_address    TEXT,
    user_agent    TEXT,
    geo_location  TEXT,
    request_id    TEXT,
    details       TEXT,
    prev_hash     TEXT    NOT NULL,
    hash          TEXT    NOT NULL
);

-- One index per filter of GET /v1/audit, each ending in id for cursor paging.
CREATE INDEX audit_events_user_id ON audit_events (user_id, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_client_system ON audit_events (client_system, id);
CREATE INDEX audit_events_ip_address ON audit_events (ip_address, id);
CREATE INDEX audit_events_timestamp ON audit_events (timestamp_ms, id);
