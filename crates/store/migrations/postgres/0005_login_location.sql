-- Where and with what the last successful login happened (risk-based login:
-- impossible travel, new country, new device). Coordinates are degrees from
-- the GeoIP data; the device is the user agent's family ("Firefox on Linux").

ALTER TABLE users
    ADD COLUMN last_login_country   TEXT,
    ADD COLUMN last_login_latitude  DOUBLE PRECISION,
    ADD COLUMN last_login_longitude DOUBLE PRECISION,
    ADD COLUMN last_login_device    TEXT;
