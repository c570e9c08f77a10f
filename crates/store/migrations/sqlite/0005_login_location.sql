-- Where and with what the last successful login happened (risk-based login:
-- impossible travel, new country, new device). Coordinates are degrees from
-- the GeoIP data; the device is the user agent's family ("Firefox on Linux").

ALTER TABLE users ADD COLUMN last_login_country   TEXT;
ALTER TABLE users ADD COLUMN last_login_latitude  REAL;
ALTER TABLE users ADD COLUMN last_login_longitude REAL;
ALTER TABLE users ADD COLUMN last_login_device    TEXT;
