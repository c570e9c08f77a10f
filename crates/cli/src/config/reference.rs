//! The configuration reference: one table, from which `portcullis config
//! example` and `docs/config.md` are generated (a test keeps the table, the
//! structs and the document in step).

/// One configuration key.
pub struct Key {
    pub path: &'static str,
    /// The default as TOML, or `None` when unset by default.
    pub default: Option<&'static str>,
    /// An example value for keys without a default.
    pub example: &'static str,
    pub doc: &'static str,
}

/// Every key, in file order.
pub const KEYS: &[Key] = &[
    Key {
        path: "server.listen",
        default: Some("\"127.0.0.1:8080\""),
        example: "",
        doc: "Address and port to listen on. Flag: --listen.",
    },
    Key {
        path: "server.trusted_proxies",
        default: Some("[]"),
        example: "",
        doc: "Addresses or CIDRs of proxies / load balancers whose X-Forwarded-For is believed: the client address (rate limits, audit) is then the rightmost untrusted hop. Anyone else's header is ignored.",
    },
    Key {
        path: "server.data_dir",
        default: Some("\"./portcullis-data\""),
        example: "",
        doc: "Directory for the SQLite database and the generated master key (`master.key`, mode 0600). Flag: --data-dir.",
    },
    Key {
        path: "server.public_url",
        default: None,
        example: "\"https://auth.example.com\"",
        doc: "Base URL clients reach this service at; used for discovery links and the default issuer. Default: http://<server.listen>, or https:// when server.tls is set.",
    },
    Key {
        path: "server.shutdown_grace_seconds",
        default: Some("30"),
        example: "",
        doc: "On SIGTERM / Ctrl-C, how long in-flight requests may take to finish.",
    },
    Key {
        path: "server.header_read_timeout_seconds",
        default: Some("30"),
        example: "",
        doc: "How long a client may take to send a request's head (request line and headers) on an HTTP/1.1 connection, idle keep-alive included; the connection is closed after that (slowloris protection, like HAProxy's timeout http-request).",
    },
    Key {
        path: "server.tls.cert_file",
        default: None,
        example: "\"/etc/portcullis/tls/fullchain.pem\"",
        doc: "Terminate TLS (rustls; TLS 1.2 and 1.3; ALPN h2 and http/1.1) with this PEM certificate chain, the leaf first, then its intermediates. Needs server.tls.key_file. Re-read on SIGHUP: new connections get the new certificate, a broken pair is refused and the old one kept. Default: off (plain HTTP/1.1 and h2c).",
    },
    Key {
        path: "server.tls.key_file",
        default: None,
        example: "\"/etc/portcullis/tls/privkey.pem\"",
        doc: "The PEM private key (PKCS#8, PKCS#1 or SEC1) of the server.tls.cert_file leaf; checked against it at start, by `config check` and on SIGHUP. Keep it readable only by the service user; it is never logged.",
    },
    Key {
        path: "database.url",
        default: None,
        example: "\"postgres://portcullis@db.internal/portcullis\"",
        doc: "sqlite://PATH or postgres://… . Default: sqlite://<server.data_dir>/portcullis.db (WAL). Point every instance at one PostgreSQL database to scale out.",
    },
    Key { path: "database.max_connections", default: Some("10"), example: "", doc: "Connection pool size." },
    Key {
        path: "state.redis_url",
        default: None,
        example: "\"redis://127.0.0.1:6379\"",
        doc: "Shared ephemeral state (rate limits, lockout counters, one-time MFA tokens, revoked jtis) in Redis, so N instances act as one. Default: in memory, per process.",
    },
    Key {
        path: "state.prefix",
        default: Some("\"portcullis:\""),
        example: "",
        doc: "Prefix of every Redis key (several deployments can share one Redis).",
    },
    Key {
        path: "state.on_redis_error",
        default: Some("\"local_fallback\""),
        example: "",
        doc: "When Redis is unreachable: local_fallback (decide from this instance's memory until Redis answers again) or fail_closed (503 on limited routes and logins). Each failure is logged and counted (portcullis_state_failures_total).",
    },
    Key {
        path: "rate_limits.enabled",
        default: Some("true"),
        example: "",
        doc: "Rate limiting by endpoint class and client address; 429 rate_limited with Retry-After, RateLimit-* headers on every limited route.",
    },
    Key {
        path: "rate_limits.auth",
        default: Some("\"10/min\""),
        example: "",
        doc: "login, login/mfa, register, refresh, oauth/token: N/sec|min|hour, optionally \",burst=B\" (default burst = N: a burst of the full limit, then one request per period/N).",
    },
    Key { path: "rate_limits.validation", default: Some("\"100/min\""), example: "", doc: "tokens/verify and intel." },
    Key {
        path: "rate_limits.user_management",
        default: Some("\"50/min\""),
        example: "",
        doc: "users, clients, keys, api-keys.",
    },
    Key {
        path: "rate_limits.routes",
        default: Some("{}"),
        example: "",
        doc: "Per-route overrides with their own bucket, by matched route: e.g. { \"/v1/auth/login\" = \"5/min\", \"/v1/users/{id}\" = \"200/min\" }.",
    },
    Key {
        path: "keys.algorithm",
        default: Some("\"RS256\""),
        example: "",
        doc: "Signing algorithm: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA, HS256, HS384, HS512. Changing it creates a new key version at the next start; the old one stays published for the grace window.",
    },
    Key {
        path: "keys.provider",
        default: Some("\"local\""),
        example: "",
        doc: "Where private keys live: local (generated, sealed in the database under the master key), file (keys.file), pkcs11 (an HSM; keys.pkcs11.*).",
    },
    Key { path: "keys.keyring", default: Some("\"jwt\""), example: "", doc: "Keyring name." },
    Key {
        path: "keys.key_name",
        default: Some("\"base-signing-key\""),
        example: "",
        doc: "Key name inside the keyring; key ids are <key_name>-v<version>-<random>.",
    },
    Key {
        path: "keys.rotate_after_days",
        default: Some("90"),
        example: "",
        doc: "Rotate the signing key automatically once the active version is this old; 0 disables. Superseded versions stay published for tokens.max_ttl_seconds + tokens.leeway_seconds.",
    },
    Key {
        path: "keys.refresh_interval_seconds",
        default: Some("10"),
        example: "",
        doc: "How often each instance re-reads the key versions (to publish a rotation made by another instance) and checks the rotation schedule.",
    },
    Key {
        path: "keys.file",
        default: None,
        example: "\"/etc/portcullis/signing.pem\"",
        doc: "For keys.provider = \"file\": a PEM (PKCS#8, PKCS#1, SEC1) or JWK private key. Replace the file and run `portcullis keys rotate` to rotate.",
    },
    Key {
        path: "keys.pkcs11.module",
        default: None,
        example: "\"/usr/lib/softhsm/libsofthsm2.so\"",
        doc: "For keys.provider = \"pkcs11\": the PKCS#11 module (SoftHSM2, CloudHSM, YubiHSM, a cloud KMS's PKCS#11 library).",
    },
    Key {
        path: "keys.pkcs11.token_label",
        default: None,
        example: "\"portcullis\"",
        doc: "For pkcs11: the label of the token holding the keys.",
    },
    Key {
        path: "keys.pkcs11.pin",
        default: None,
        example: "\"env:PORTCULLIS_HSM_PIN\"",
        doc: "For pkcs11: the user PIN, as a secret source (env:NAME, file:PATH or a literal).",
    },
    Key {
        path: "tokens.issuer",
        default: None,
        example: "\"https://auth.example.com\"",
        doc: "`iss` of issued tokens and the only issuer accepted. Default: server.public_url.",
    },
    Key {
        path: "tokens.audience",
        default: None,
        example: "\"api.example.com\"",
        doc: "`aud` of issued tokens and the audience required on verification. Default: unset (no aud).",
    },
    Key { path: "tokens.ttl_seconds", default: Some("3600"), example: "", doc: "Default access-token lifetime." },
    Key {
        path: "tokens.max_ttl_seconds",
        default: Some("86400"),
        example: "",
        doc: "Longest lifetime a token may be issued with (`token sign --ttl`). Sets the key grace window.",
    },
    Key {
        path: "tokens.leeway_seconds",
        default: Some("60"),
        example: "",
        doc: "Clock-skew allowance for exp, nbf and iat.",
    },
    Key {
        path: "tokens.max_bytes",
        default: Some("16384"),
        example: "",
        doc: "Tokens longer than this are rejected before parsing (token_too_large).",
    },
    Key {
        path: "tokens.required_claims",
        default: Some("[\"exp\"]"),
        example: "",
        doc: "Claims every accepted token must carry (missing_claim).",
    },
    Key {
        path: "jwks.max_age_seconds",
        default: Some("300"),
        example: "",
        doc: "Cache-Control max-age of /.well-known/jwks.json and the discovery document.",
    },
    Key {
        path: "jwks.min_refresh_interval_seconds",
        default: Some("30"),
        example: "",
        doc: "Least time between two fetches of a remote JWK Set caused by unknown kids (and between key reloads caused by unknown kids).",
    },
    Key {
        path: "auth.default_client_id",
        default: Some("\"portcullis\""),
        example: "",
        doc: "client_id claim of access tokens for logins that name no client (X-Client-Id).",
    },
    Key {
        path: "auth.lockout_threshold",
        default: Some("5"),
        example: "",
        doc: "Consecutive failed logins (per submitted email, whether or not the account exists) that lock it.",
    },
    Key {
        path: "auth.lockout_minutes",
        default: Some("30"),
        example: "",
        doc: "How long a lock lasts: 423 account_locked with Retry-After until then. Admins can unlock earlier.",
    },
    Key {
        path: "auth.refresh_ttl_seconds",
        default: Some("1209600"),
        example: "",
        doc: "Refresh-token lifetime (14 days). Refresh tokens are single-use and rotate on every refresh.",
    },
    Key {
        path: "auth.totp_issuer",
        default: Some("\"Portcullis\""),
        example: "",
        doc: "Issuer name shown in authenticator apps.",
    },
    Key {
        path: "auth.registration",
        default: Some("false"),
        example: "",
        doc: "Open POST /v1/auth/register for self-service sign-up (403 registration_disabled when off).",
    },
    Key {
        path: "auth.require_2fa_for_admins",
        default: Some("true"),
        example: "",
        doc: "Admin routes accept only tokens obtained with 2FA (403 mfa_enrollment_required otherwise).",
    },
    Key {
        path: "clients.rotation_grace_seconds",
        default: Some("86400"),
        example: "",
        doc: "After a client's secret is rotated, how long the previous one keeps working (both are accepted meanwhile; a second rotation ends the older one's grace at once).",
    },
    Key {
        path: "clients.secret_max_age_days",
        default: Some("90"),
        example: "",
        doc: "Client secrets older than this are flagged: `secret_age_warning` in the API, the `portcullis_clients_with_old_secrets` metric, and a `client_secret_too_old` audit event (once a day per secret, when used).",
    },
    Key {
        path: "clients.enforce_max_age",
        default: Some("false"),
        example: "",
        doc: "Refuse secrets older than clients.secret_max_age_days (401 `secret_expired`) instead of only flagging them.",
    },
    Key {
        path: "clients.cache_seconds",
        default: Some("5"),
        example: "",
        doc: "How long an instance caches a client (allowlist, unsealed secrets) for authentication; changes made through another instance or the CLI take effect within this time. 0 disables the cache.",
    },
    Key {
        path: "webhooks.urls",
        default: Some("[]"),
        example: "",
        doc: "Where chosen audit events are POSTed as JSON, signed like client requests (X-Client-Id: portcullis, X-Timestamp, X-Signature: sha256=HMAC(secret, \"<ts>.<body>\")). https, or plain http to loopback. Sent by `serve` in the background; never delays a request.",
    },
    Key {
        path: "webhooks.secret",
        default: None,
        example: "\"env:PORTCULLIS_WEBHOOK_SECRET\"",
        doc: "The HMAC key receivers verify deliveries with: env:NAME, file:PATH or the value. Required when webhooks.urls is set.",
    },
    Key {
        path: "webhooks.events",
        default: Some(
            "[\"lockout\", \"refresh_reuse_detected\", \"ip_blocked\", \"risk_denied\", \"alert\", \"client_secret_too_old\"]",
        ),
        example: "",
        doc: "The audit actions sent.",
    },
    Key {
        path: "webhooks.max_attempts",
        default: Some("5"),
        example: "",
        doc: "Attempts per delivery; network errors, 429 and 5xx are retried with exponential backoff, other statuses are final.",
    },
    Key {
        path: "webhooks.backoff_ms",
        default: Some("1000"),
        example: "",
        doc: "The first retry's delay; each next one doubles (at most 60 s).",
    },
    Key { path: "webhooks.timeout_ms", default: Some("5000"), example: "", doc: "Timeout of one delivery attempt." },
    Key {
        path: "gateway.token_cache",
        default: Some("true"),
        example: "",
        doc: "Cache verified JWTs (keyed by a SHA-256 of the token, never past its exp; key publication and revocation are still checked on every hit, authorization is never cached). false verifies every request in full.",
    },
    Key {
        path: "gateway.routes",
        default: Some("[]"),
        example: "",
        doc: "API gateway routes, each a `[[gateway.routes]]` table: `name`, `host`, `path_prefix` (default \"/\"), `strip_prefix`, `upstreams` (http or https URLs, round robin), `upstream_ca_file` (PEM CA certificates trusted for https upstreams instead of the system's roots; relative to the configuration file's directory), `methods`, `content_types`, `max_body_bytes` (1 MiB), `timeout_ms` (30000), `rate_limit` or `rate_class` (default \"validation\"), `cors` (`allowed_origins`, `allowed_methods`, `allowed_headers`, `exposed_headers`, `allow_credentials`, `max_age_seconds`), `allow_ips`, `deny_ips`, `deny` (`tor`, `vpn`, `proxy`, `hosting`, `crawler`), `deny_countries`, `allow_countries`, `auth` (`jwt` (default), `api_key`, `hmac`, `none`), `jwks_url` / `issuer` / `audience` (jwt from another issuer), `roles`, `scopes`, `client_ids` (a route with auth and no rule admits nobody), `endpoints` (`[[gateway.routes.endpoints]]` tables: `method` (any when absent), `path` (a pattern such as \"/orders/{id}\", matched against the path as received), `body_schema` and/or `query_schema`: JSON Schema files, relative paths resolved against the configuration file's directory, compiled at load; the first matching endpoint applies, other requests pass; 400 validation_failed). See docs/gateway.md. Reloaded on SIGHUP.",
    },
    Key {
        path: "secrets.master_key",
        default: None,
        example: "\"env:PORTCULLIS_MASTER_KEY\"",
        doc: "The master key (base64 of 32 bytes) as a secret source. Default: <server.data_dir>/master.key, generated on first start with mode 0600.",
    },
    Key {
        path: "captcha.provider",
        default: None,
        example: "\"turnstile\"",
        doc: "recaptcha_v3, hcaptcha or turnstile. When set, login and registration require a valid captcha_token (400 captcha_required, 403 captcha_failed, 503 captcha_unavailable when the provider cannot be reached — never a silent pass).",
    },
    Key {
        path: "captcha.secret",
        default: None,
        example: "\"env:PORTCULLIS_CAPTCHA_SECRET\"",
        doc: "The provider's secret key, as a secret source.",
    },
    Key {
        path: "captcha.verify_url",
        default: None,
        example: "\"https://challenges.cloudflare.com/turnstile/v0/siteverify\"",
        doc: "The siteverify URL. Default: the provider's. Plain http only to loopback.",
    },
    Key {
        path: "captcha.min_score",
        default: Some("0.5"),
        example: "",
        doc: "reCAPTCHA v3: the lowest score accepted (its action must also match: login or register).",
    },
    Key {
        path: "captcha.hostname",
        default: None,
        example: "\"auth.example.com\"",
        doc: "When set, the hostname the provider reports must match.",
    },
    Key { path: "captcha.timeout_ms", default: Some("5000"), example: "", doc: "Timeout of one siteverify call." },
    Key {
        path: "intel.provider",
        default: Some("\"offline\""),
        example: "",
        doc: "Who answers /v1/intel/* and `portcullis intel`: offline (compiled-in lists and loaded data files, no account), ipqs (IPQualityScore only; without a key every check is 503 KEY_NOT_FOUND) or both (IPQS fills what offline cannot; when IPQS fails the offline answer stands, with a provider_error signal).",
    },
    Key {
        path: "intel.ipqs_access_key",
        default: None,
        example: "\"env:IPQS_KEY\"",
        doc: "The IPQS API key as a secret source (env:NAME, file:PATH or the literal key). Sent in the IPQS-KEY header, never in URLs or logs.",
    },
    Key {
        path: "intel.ipqs_base_url",
        default: Some("\"https://www.ipqualityscore.com/api\""),
        example: "",
        doc: "The IPQS API base; requests go to {base}/json/email, /json/ip and /json/url. Change it only for tests or a proxy.",
    },
    Key {
        path: "intel.ipqs_timeout_ms",
        default: Some("10000"),
        example: "",
        doc: "Timeout of one IPQS request (above IPQS's own 7 s SMTP wait for emails).",
    },
    Key {
        path: "intel.ipqs_ip_strictness",
        default: Some("0"),
        example: "",
        doc: "IPQS IP `strictness`, 0-3 (2 and 3 are very strict).",
    },
    Key { path: "intel.ipqs_email_strictness", default: Some("0"), example: "", doc: "IPQS email `strictness`, 0-2." },
    Key { path: "intel.ipqs_url_strictness", default: Some("0"), example: "", doc: "IPQS URL `strictness`, 0-2." },
    Key {
        path: "intel.cache_ttl_seconds",
        default: Some("21600"),
        example: "",
        doc: "How long a successful IPQS answer is reused (errors never are). In Redis when state.redis_url is set, so instances share it; else in memory.",
    },
    Key {
        path: "intel.block_disposable",
        default: Some("true"),
        example: "",
        doc: "POST /v1/auth/register refuses disposable email domains (403 registration_denied, reason disposable_email).",
    },
    Key {
        path: "intel.max_fraud_score",
        default: Some("89"),
        example: "",
        doc: "POST /v1/auth/register refuses an email or caller IP whose fraud_score is above this (reasons email_fraud_score, ip_fraud_score). 89 refuses IPQS's block band (90+: Tor, bogons, disposable).",
    },
    Key {
        path: "intel.data_dir",
        default: None,
        example: "\"/var/lib/portcullis/intel\"",
        doc: "Where `portcullis intel update` installs data files (one directory per kind: tor/, geo_ip/, …) and where serve loads them from at start, on SIGHUP and on POST /v1/intel/reload. Default: <server.data_dir>/intel.",
    },
    Key {
        path: "intel.sources",
        default: None,
        example: "{ tor = [\"/var/lib/tor-exits/exits.txt\"], geo_ip = [\"/usr/share/dbip/dbip-city-ipv4.mmdb\", \"/usr/share/dbip/dbip-city-ipv6.mmdb\"] }",
        doc: "Data files kept elsewhere (e.g. refreshed by cron), by kind; loaded and reloaded with those of intel.data_dir. Kinds: tor, vpn, hosting, crawler, disposable, blocklist, phishing_blocklist, malware_blocklist, geo_ip, asn, hosting_asns, bot_agents.",
    },
    Key {
        path: "risk.enabled",
        default: Some("true"),
        example: "",
        doc: "Score every login (IP intelligence, impossible travel, new country, new device, recent failures; see docs/intel.md) and apply the thresholds below.",
    },
    Key {
        path: "risk.captcha_at",
        default: Some("30"),
        example: "",
        doc: "From this score (0-100) a login needs a solved captcha; without captcha configured it needs the second factor instead.",
    },
    Key {
        path: "risk.step_up_at",
        default: Some("50"),
        example: "",
        doc: "From this score a login needs 2FA (response: mfa_required with reason \"risk\"); a user without TOTP enrolled is refused with 403 risk_denied.",
    },
    Key {
        path: "risk.deny_at",
        default: Some("90"),
        example: "",
        doc: "From this score a login is refused: 403 risk_denied, audited as risk_denied.",
    },
    Key {
        path: "risk.max_travel_kmh",
        default: Some("1000.0"),
        example: "",
        doc: "Two logins further apart than 100 km whose great-circle distance needs more than this speed are impossible travel.",
    },
    Key {
        path: "log.level",
        default: Some("\"info\""),
        example: "",
        doc: "error, warn, info, debug, trace, or a tracing filter such as \"info,portcullis_core=debug\".",
    },
    Key { path: "log.format", default: Some("\"text\""), example: "", doc: "text or json." },
    Key {
        path: "log.access",
        default: Some("true"),
        example: "",
        doc: "One log line per HTTP request (target \"access\"), written in batches: at 32 KiB, every second, before any other line and at exit.",
    },
];

fn env_name(path: &str) -> String {
    let (section, key) = path.split_once('.').unwrap_or(("", path));
    format!("PORTCULLIS_{}__{}", section.to_ascii_uppercase(), key.to_ascii_uppercase().replace('.', "__"))
}

/// A commented TOML file with every key at its default (or a commented example).
pub fn example_toml() -> String {
    let mut out = String::from("# Portcullis configuration. Every key is optional; shown at its default.\n");
    let mut section = "";
    for key in KEYS {
        let (sec, name) = key.path.rsplit_once('.').unwrap_or(("", key.path));
        if sec != section {
            out.push_str(&format!("\n[{sec}]\n"));
            section = sec;
        }
        out.push_str(&format!("# {} Env: {}\n", key.doc, env_name(key.path)));
        match key.default {
            Some(d) => out.push_str(&format!("{name} = {d}\n")),
            None => out.push_str(&format!("# {name} = {}\n", key.example)),
        }
    }
    out
}

/// The reference document (`docs/config.md`).
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         Generated by `portcullis config docs` from the table in `crates/cli/src/config/reference.rs`;\n\
         a test fails when this file and the code differ.\n\n\
         Layers, lowest first: built-in defaults, the file given with `--config FILE` (TOML),\n\
         environment variables `PORTCULLIS_<SECTION>__<KEY>`, then the flags `--data-dir` and `--listen`.\n\
         Unknown keys are refused. `portcullis config check FILE` validates a file;\n\
         `portcullis config example` prints a commented one.\n\n\
         | key | default | environment | meaning |\n|---|---|---|---|\n",
    );
    for key in KEYS {
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} |\n",
            key.path,
            key.default.map_or_else(|| "unset".to_owned(), |d| format!("`{d}`")),
            env_name(key.path),
            key.doc.replace('|', "\\|"),
        ));
    }
    out
}
