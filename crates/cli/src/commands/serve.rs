//! `portcullis serve`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use portcullis_core::captcha::{CaptchaConfig, CaptchaVerifier};
use portcullis_core::webhooks::{WebhookConfig, WebhookSender};
use portcullis_server::gateway::Gateway;
use portcullis_server::tls::CertificateResolver;
use portcullis_server::{AppState, ServerConfig};

use crate::Failure;
use crate::config::Config;

/// Logs go to stderr: text for people, JSON for collectors; access lines
/// are formatted by their own layer and batched (`log_sink`).
pub fn init_logging(level: &str, json: bool) -> Result<(), Failure> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter =
        tracing_subscriber::EnvFilter::try_new(level).map_err(|e| Failure::Usage(format!("log.level: {e}")))?;
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(crate::log_sink::LogSink)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let lines = if json { lines.json().boxed() } else { lines.boxed() };
    let not_access = tracing_subscriber::filter::filter_fn(|meta| !crate::log_sink::is_access(meta));
    tracing_subscriber::registry()
        .with(filter)
        .with(lines.with_filter(not_access))
        .with(crate::log_sink::AccessLayer { json })
        .try_init()
        .map_err(|e| Failure::Other(anyhow::anyhow!("initialising logging: {e}")))
}

/// What a process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The API, and the gateway's routes for every other path (`serve`).
    Everything,
    /// Only the gateway, with health and metrics (`gateway`).
    GatewayOnly,
}

/// Serves until SIGTERM / Ctrl-C, over TLS when `server.tls` is set.
/// `reload` re-reads the configuration on SIGHUP; its gateway routes and TLS
/// certificate replace the running ones when it validates.
pub async fn run(
    mut config: Config,
    mode: Mode,
    reload: impl Fn() -> Result<Config, Failure> + Send + 'static,
) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("server.listen: cannot listen on {}", config.listen))?;
    let local = listener.local_addr().context("reading the bound address")?;
    config.adopt_bound_address(local);
    let services = crate::app::open(&config).await?;
    let keys = services.tokens.keys().clone();
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let maintenance = tokio::spawn(keys.clone().maintain(
        services.clock.clone(),
        Duration::from_secs(config.key_refresh_interval_seconds),
        shutdown_rx,
    ));
    let gateway = Arc::new(Gateway::new(config.gateway_routes.clone(), config.gateway_token_cache));
    let certificates = config.tls.clone().map(|certificate| Arc::new(CertificateResolver::new(certificate)));
    tokio::spawn(reload_on_hangup(
        gateway.clone(),
        certificates.clone(),
        services.intel.clone(),
        services.clock.clone(),
        reload,
    ));
    let state = AppState::new(
        ServerConfig {
            public_url: config.public_url.clone(),
            jwks_max_age: config.jwks_max_age_seconds,
            require_2fa_for_admins: config.require_2fa_for_admins,
            access_log: config.access_log,
            registration: config.registration,
            trusted_proxies: config.trusted_proxies.clone(),
            state_failures: services.state_failures.clone(),
        },
        portcullis_server::Services {
            tokens: services.tokens.clone(),
            accounts: services.accounts.clone(),
            clients: services.clients.clone(),
            api_keys: services.api_keys.clone(),
            oauth: services.oauth.clone(),
            gateway: Some(gateway.clone()),
            captcha: captcha(&config)?,
            limiter: services.limiter.clone(),
            state: services.state.clone(),
            store: services.store.clone(),
            clock: services.clock.clone(),
            intel: services.intel.clone(),
        },
    );
    if let Some(hooks) = &config.webhooks {
        let config = WebhookConfig {
            urls: hooks.urls.clone(),
            secret: hooks.secret.resolve().context("webhooks.secret")?,
            sender_id: "portcullis".into(),
            events: hooks.events.clone(),
            max_attempts: hooks.max_attempts,
            initial_backoff: Duration::from_millis(hooks.backoff_ms),
            timeout: Duration::from_millis(hooks.timeout_ms),
            queue: 1000,
        };
        let sender = WebhookSender::start(config, services.clock.clone()).context("the webhook HTTP client")?;
        services.accounts.audit_log().subscribe(sender);
    }
    // Accounts are the API's business: the proxy alone creates no admin (and
    // so never runs argon2, whose memory block would stay resident).
    if matches!(mode, Mode::Everything) {
        bootstrap_admin(&services).await?;
    }
    let active = keys.snapshot().active.as_ref().map(|a| a.kid.clone()).unwrap_or_default();
    tracing::info!(
        address = %local,
        database = %portcullis_store::redact_url(&config.database_url),
        store = services.store.backend(),
        kid = %active,
        tls = certificates.is_some(),
        gateway_routes = gateway.route_count(),
        mode = ?mode,
        "portcullis listening"
    );
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let router = match mode {
        Mode::Everything => portcullis_server::router(state),
        Mode::GatewayOnly => portcullis_server::gateway_router(state),
    };
    let stopped = async {
        let _ = stop_rx.await;
    };
    let head = Duration::from_secs(config.header_read_timeout_seconds);
    let server = tokio::spawn(portcullis_server::serve(listener, router, certificates, head, stopped));
    shutdown_signal().await;
    tracing::info!(grace_seconds = grace.as_secs(), "shutting down: finishing in-flight requests");
    let _ = stop_tx.send(());
    let _ = shutdown_tx.send(true);
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => return Err(Failure::Other(anyhow::Error::new(e).context("serving HTTP"))),
        Ok(Err(e)) => return Err(Failure::Other(anyhow::Error::new(e).context("the server task failed"))),
        Err(_) => tracing::warn!("shutdown grace period over; dropping remaining connections"),
    }
    let _ = maintenance.await;
    Ok(())
}

/// On each SIGHUP: re-reads the configuration and swaps in its gateway
/// routes and TLS certificate (an invalid file, or a certificate and key that
/// do not load or match, changes nothing and the reason is logged; requests
/// in flight finish on the routes they matched, open connections keep their
/// certificate), and re-reads the intel data files as `POST /v1/intel/reload`
/// does, so `portcullis intel update` + `kill -HUP` needs no restart.
async fn reload_on_hangup(
    gateway: Arc<Gateway>,
    certificates: Option<Arc<CertificateResolver>>,
    intel: portcullis_core::intel::Intel,
    clock: Arc<dyn portcullis_core::clock::Clock>,
    reload: impl Fn() -> Result<Config, Failure>,
) {
    let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::warn!(
            "cannot listen for SIGHUP; gateway routes, the TLS certificate and intel data reload only on restart"
        );
        return;
    };
    while hangups.recv().await.is_some() {
        match reload() {
            Ok(config) => {
                let n = config.gateway_routes.len();
                gateway.reload(config.gateway_routes);
                tracing::info!(routes = n, "SIGHUP: gateway routes reloaded");
                match (&certificates, config.tls) {
                    (Some(certificates), Some(certificate)) => {
                        certificates.replace(certificate);
                        tracing::info!("SIGHUP: TLS certificate reloaded");
                    }
                    (None, None) => {}
                    _ => tracing::warn!("SIGHUP: turning server.tls on or off takes a restart"),
                }
            }
            Err(e) => tracing::error!(
                error = %e,
                "SIGHUP: the configuration is invalid; keeping the running routes and TLS certificate"
            ),
        }
        match intel.reload(clock.now()).await {
            Ok(status) => {
                tracing::info!(sources = status.sources.len(), stale = status.stale, "intel data reloaded (SIGHUP)")
            }
            Err(e) => tracing::error!(error = %e, "intel data reload failed; the previous data stays loaded"),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// The first start with no users creates an admin: from
/// `PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL` / `_PASSWORD`, or with a generated
/// password printed once (to stderr, never to the log).
async fn bootstrap_admin(services: &crate::app::Services) -> Result<(), Failure> {
    let email = std::env::var("PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL").ok();
    let password = std::env::var("PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD").ok();
    let created = services
        .accounts
        .bootstrap_admin(email.as_deref(), password.as_deref(), services.clock.now())
        .await
        .map_err(|e| Failure::Other(anyhow::anyhow!("creating the bootstrap admin: {e}")))?;
    if let Some((user, generated)) = created {
        tracing::info!(email = %user.email, "created the bootstrap admin; enrol 2FA before using admin routes");
        if let Some(password) = generated {
            eprintln!(
                "\n  Bootstrap admin: {}\n  Password (shown once): {password}\n  Log in, enrol TOTP (POST /v1/auth/mfa/totp/enroll), then log in again with the code.\n",
                user.email
            );
        }
    }
    Ok(())
}

/// The captcha verifier when `captcha.provider` is set.
fn captcha(config: &Config) -> Result<Option<std::sync::Arc<CaptchaVerifier>>, Failure> {
    let Some(settings) = &config.captcha else { return Ok(None) };
    let secret = settings.secret.resolve().context("captcha.secret")?;
    let mut captcha = CaptchaConfig::new(settings.provider, secret);
    captcha.verify_url = settings.verify_url.clone();
    captcha.min_score = settings.min_score;
    captcha.expected_hostname = settings.hostname.clone();
    captcha.timeout = Duration::from_millis(settings.timeout_ms);
    let verifier = CaptchaVerifier::new(captcha).map_err(|e| Failure::Usage(format!("captcha: {e}")))?;
    Ok(Some(std::sync::Arc::new(verifier)))
}
