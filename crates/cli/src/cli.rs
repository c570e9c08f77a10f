//! Flags and subcommands.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand};

/// Portcullis: JWTs with rotating keys, login security, client authentication,
/// rate limiting, audit and an API gateway in one service.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about)]
pub struct Args {
    /// Configuration file (TOML).
    #[arg(long, global = true, env = "PORTCULLIS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database, master key). Overrides server.data_dir.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Listen address. Overrides server.listen.
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the API, and the gateway when routes are configured).
    Serve,
    /// Run only the API gateway: the configured routes, health and metrics.
    Gateway,
    /// Apply database migrations and exit.
    Migrate,
    /// Check, print or document the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sign, verify or inspect tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The tamper-evident audit trail.
    #[command(subcommand)]
    Audit(crate::commands::audit::AuditCommand),
    /// Print the HMAC signature headers for a client request (PRODUCT §4).
    Sign(SignArgs),
    /// User accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Client applications (HMAC signing, OAuth client credentials).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Threat intelligence: score emails, IPs and URLs; install data files.
    #[command(subcommand)]
    Intel(crate::commands::intel::IntelCommand),
    /// The master key that seals private keys and secrets at rest.
    #[command(subcommand, name = "master-key")]
    MasterKey(MasterKeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file (and the environment) and exit.
    Check {
        /// The file to check.
        file: PathBuf,
    },
    /// Print a commented configuration file with every key.
    Example,
    /// Print the configuration reference (docs/config.md).
    Docs,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a key pair for `--key` or the file provider.
    Generate {
        /// Algorithm the key is for.
        #[arg(long, default_value = "ES256")]
        alg: String,
        /// Write the private key here (mode 0600) instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Output format. HMAC keys are always written as JWK.
        #[arg(long, value_parser = ["pem", "jwk"], default_value = "pem")]
        format: String,
    },
    /// List the service's key versions.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a new key version now; the previous one stays published for the grace window.
    Rotate,
    /// Print the service's public JWK Set.
    Jwks,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Sign a token (prints the compact token alone on one line).
    Sign {
        /// Claims as a JSON object. With the service's key, iss, iat, exp (from --ttl) and aud are
        /// set by the service; with --key, iat, exp and jti are added unless present.
        #[arg(long)]
        claims: String,
        /// Lifetime in seconds (default tokens.ttl_seconds).
        #[arg(long)]
        ttl: Option<i64>,
        /// Sign with this key (PEM or JWK) instead of the service's key.
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// Algorithm for --key (default: follows the key).
        #[arg(long, requires = "key")]
        alg: Option<String>,
    },
    /// Verify a token; prints its claims (exit 0) or why it was rejected (exit 1).
    /// Without --jwks or --key, the service's own keys and rules (issuer, audience) apply.
    Verify(VerifyArgs),
    /// Show a token's header and claims WITHOUT verifying anything.
    Decode {
        /// The token, or - for standard input.
        token: String,
    },
}

#[derive(Debug, ClapArgs)]
pub struct VerifyArgs {
    /// A JWK Set file or URL to verify against.
    #[arg(long, value_name = "PATH|URL", conflicts_with = "key")]
    pub jwks: Option<String>,
    /// A public or private key (PEM or JWK) to verify against.
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
    /// Accepted algorithm(s); with --key, the first one binds the key.
    #[arg(long = "alg", value_name = "ALG")]
    pub algs: Vec<String>,
    /// Required issuer.
    #[arg(long)]
    pub iss: Option<String>,
    /// Required audience.
    #[arg(long)]
    pub aud: Option<String>,
    /// Clock-skew allowance in seconds (default 60, or tokens.leeway_seconds for the service's keys).
    #[arg(long)]
    pub leeway: Option<u64>,
    /// A claim that must be present, in addition to exp (repeatable).
    #[arg(long = "require", value_name = "CLAIM")]
    pub require: Vec<String>,
    /// Verify as of this Unix time instead of now.
    #[arg(long, value_name = "UNIX")]
    pub now: Option<i64>,
    /// The token, or - for standard input.
    pub token: String,
}

#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Generate a new master key and re-seal every secret under it.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; without --password-env a password is generated and printed once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "user")]
        role: String,
        /// Read the password from this environment variable (never from a flag: flags show in `ps`).
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
    },
    /// List users.
    List {
        /// Only emails containing this text.
        #[arg(long)]
        search: Option<String>,
    },
    /// Lift a lockout.
    Unlock {
        /// The email whose lock to lift.
        email: String,
    },
    /// Change a user's role.
    SetRole { email: String, role: String },
    /// Remove a user's 2FA so they can enrol again.
    #[command(name = "reset-2fa")]
    Reset2fa { email: String },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; its secret is printed once.
    Create {
        /// The client id (sent as X-Client-Id / OAuth client_id).
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// A scope the client may hold (repeatable).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// A CIDR or address the client may call from (repeatable; none = any).
        #[arg(long = "allow-ip", value_name = "CIDR")]
        allowed_ips: Vec<String>,
        /// The client's own rate, e.g. "1000/min".
        #[arg(long)]
        rate_limit: Option<String>,
        /// Print the client as JSON (with the secret) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List clients (secret ages flagged).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Rotate a client's secret; the new one is printed once, the old one
    /// keeps working for clients.rotation_grace_seconds.
    RotateSecret { id: String },
    /// Add CIDRs or addresses to a client's allowlist.
    AllowIp {
        id: String,
        #[arg(required = true)]
        cidrs: Vec<String>,
    },
    /// Remove CIDRs or addresses from a client's allowlist.
    DenyIp {
        id: String,
        #[arg(required = true)]
        cidrs: Vec<String>,
    },
}

#[derive(Debug, ClapArgs)]
pub struct SignArgs {
    /// The client id (sent as X-Client-Id).
    #[arg(long)]
    pub client_id: String,
    /// The environment variable holding the client secret (never a flag: flags show in `ps`).
    #[arg(long, value_name = "VAR")]
    pub secret_env: String,
    /// The request body, read as raw bytes (default: empty).
    #[arg(long, value_name = "FILE")]
    pub body: Option<PathBuf>,
    /// Use version 2, which also covers --method, --path and --query.
    #[arg(long)]
    pub v2: bool,
    #[arg(long, default_value = "POST", requires = "v2")]
    pub method: String,
    #[arg(long, default_value = "/", requires = "v2")]
    pub path: String,
    /// The query string as it will be sent, without '?'.
    #[arg(long, default_value = "", requires = "v2")]
    pub query: String,
    /// Unix seconds to sign for (default: now).
    #[arg(long)]
    pub timestamp: Option<i64>,
    /// Print a JSON object instead of header lines.
    #[arg(long)]
    pub json: bool,
}
