//! `portcullis intel email|ip|url VALUE`, `intel update`, `intel status`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args as ClapArgs, Subcommand};
use portcullis_core::clock::{Clock, SystemClock};
use portcullis_core::intel::Intel;
use portcullis_intel::{DataStatus, IntelError, SourceKind, SourceSpec};
use serde_json::Value;

use crate::Failure;
use crate::cli::Args;
use crate::commands::keys::print;

/// Threat intelligence: checks and data files.
#[derive(Debug, Subcommand)]
pub enum IntelCommand {
    /// Score an email address.
    Email {
        email: String,
        #[command(flatten)]
        output: Output,
    },
    /// Score an IP address (optionally with the client's user agent).
    Ip {
        ip: String,
        #[arg(long, value_name = "UA")]
        user_agent: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Score a URL.
    Url {
        url: String,
        #[command(flatten)]
        output: Output,
    },
    /// Validate data files and install them into intel.data_dir, where
    /// `serve` loads them (at start, on SIGHUP, on POST /v1/intel/reload).
    /// Each kind given replaces that kind's installed files.
    Update(Box<UpdateArgs>),
    /// The installed data files: size, age, staleness.
    Status {
        #[command(flatten)]
        output: Output,
    },
}

/// How results are printed.
#[derive(Debug, ClapArgs)]
pub struct Output {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// The files of `intel update`, by kind (each flag repeatable).
#[derive(Debug, ClapArgs)]
pub struct UpdateArgs {
    /// A city database (.mmdb; give an -ipv4 / -ipv6 pair as two flags).
    #[arg(long, value_name = "FILE")]
    geoip: Vec<PathBuf>,
    /// An ASN database (.mmdb or ip-location-db CSV).
    #[arg(long, value_name = "FILE")]
    asn: Vec<PathBuf>,
    /// Tor exit addresses.
    #[arg(long, value_name = "FILE")]
    tor: Vec<PathBuf>,
    /// VPN ranges (`CIDR [provider]` per line).
    #[arg(long, value_name = "FILE")]
    vpn: Vec<PathBuf>,
    /// Hosting / data-centre ranges.
    #[arg(long, value_name = "FILE")]
    hosting: Vec<PathBuf>,
    /// Search-engine crawler ranges.
    #[arg(long, value_name = "FILE")]
    crawler: Vec<PathBuf>,
    /// Disposable email domains (adds to the compiled-in list).
    #[arg(long, value_name = "FILE")]
    disposable: Vec<PathBuf>,
    /// A URL / domain blocklist.
    #[arg(long, value_name = "FILE")]
    blocklist: Vec<PathBuf>,
    /// A phishing blocklist.
    #[arg(long, value_name = "FILE")]
    phishing_blocklist: Vec<PathBuf>,
    /// A malware blocklist.
    #[arg(long, value_name = "FILE")]
    malware_blocklist: Vec<PathBuf>,
    /// Hosting AS numbers (adds to the built-in list).
    #[arg(long, value_name = "FILE")]
    hosting_asns: Vec<PathBuf>,
    /// Crawler user-agent substrings.
    #[arg(long, value_name = "FILE")]
    bot_agents: Vec<PathBuf>,
    /// Only validate the files; install nothing.
    #[arg(long)]
    check: bool,
}

impl UpdateArgs {
    fn specs(&self) -> Vec<SourceSpec> {
        let kinds = [
            (SourceKind::GeoIp, &self.geoip),
            (SourceKind::Asn, &self.asn),
            (SourceKind::Tor, &self.tor),
            (SourceKind::Vpn, &self.vpn),
            (SourceKind::Hosting, &self.hosting),
            (SourceKind::Crawler, &self.crawler),
            (SourceKind::Disposable, &self.disposable),
            (SourceKind::Blocklist, &self.blocklist),
            (SourceKind::PhishingBlocklist, &self.phishing_blocklist),
            (SourceKind::MalwareBlocklist, &self.malware_blocklist),
            (SourceKind::HostingAsns, &self.hosting_asns),
            (SourceKind::BotAgents, &self.bot_agents),
        ];
        kinds.into_iter().flat_map(|(kind, paths)| paths.iter().map(move |p| SourceSpec::new(kind, p))).collect()
    }
}

/// A check failure: its stable code and message, exit 1.
fn failed(e: &IntelError) -> Failure {
    Failure::Other(anyhow::anyhow!("{}: {e}", e.code()))
}

pub async fn run(cmd: &IntelCommand, args: &Args) -> Result<(), Failure> {
    let config = super::load_config(args)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (state, _) = crate::app::open_state(&config).await?;
    let intel = crate::app::open_intel(&config, state, clock.clone()).await?;
    let engine = intel.engine();
    let now = clock.now();
    match cmd {
        IntelCommand::Email { email, output } => {
            show(&engine.check_email(email, now).await.map_err(|e| failed(&e))?, output)
        }
        IntelCommand::Ip { ip, user_agent, output } => {
            let ip = portcullis_intel::parse_ip(ip).map_err(|e| failed(&e))?;
            show(&engine.check_ip(ip, user_agent.as_deref(), now).await.map_err(|e| failed(&e))?, output)
        }
        IntelCommand::Url { url, output } => show(&engine.check_url(url, now).await.map_err(|e| failed(&e))?, output),
        IntelCommand::Update(update) => run_update(&intel, update, now).await,
        IntelCommand::Status { output } => show_status(&intel.status(now), output),
    }
}

async fn run_update(intel: &Intel, update: &UpdateArgs, now: i64) -> Result<(), Failure> {
    let specs = update.specs();
    if specs.is_empty() {
        return Err(Failure::Usage("intel update: name at least one file (--tor FILE, --geoip FILE, …)".into()));
    }
    let sources = intel.sources().clone();
    let check = update.check;
    let data = tokio::task::spawn_blocking(move || {
        if check {
            portcullis_intel::IntelData::load(&specs, now).map(|_| ())
        } else {
            sources.install(&specs, now).map(|_| ())
        }
    })
    .await
    .map_err(|e| Failure::Other(anyhow::anyhow!("the update task failed: {e}")))?;
    data.map_err(|e| failed(&e))?;
    if check {
        eprintln!("all files are valid; nothing installed (--check)");
        return Ok(());
    }
    let status = intel.reload(now).await.map_err(|e| failed(&e))?;
    show_status(&status, &Output { json: false })?;
    eprintln!(
        "installed into {}; a running server picks them up on SIGHUP or POST /v1/intel/reload",
        intel.sources().dir().display()
    );
    Ok(())
}

/// Prints a result: JSON, or a table of the fields that have a value, then
/// the signals.
fn show(result: &impl serde::Serialize, output: &Output) -> Result<(), Failure> {
    let value = serde_json::to_value(result).map_err(|e| Failure::Other(e.into()))?;
    if output.json {
        return print(&format!("{value:#}\n"));
    }
    let mut out = String::new();
    if let Value::Object(fields) = &value {
        for (name, v) in fields {
            if name == "signals" || v.is_null() {
                continue;
            }
            let shown = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("{name:<22} {shown}\n"));
        }
    }
    if let Some(signals) = value.get("signals").and_then(Value::as_array) {
        out.push_str("\nsignals:\n");
        for s in signals {
            let text = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            let points = s.get("points").and_then(Value::as_u64).filter(|p| *p > 0);
            let points = points.map(|p| format!(" (+{p})")).unwrap_or_default();
            out.push_str(&format!("  {:<15} {:<24} {}{points}\n", text("status"), text("check"), text("reason")));
        }
    }
    print(&out)
}

fn show_status(status: &DataStatus, output: &Output) -> Result<(), Failure> {
    if output.json {
        let value = serde_json::to_value(status).map_err(|e| Failure::Other(e.into()))?;
        return print(&format!("{value:#}\n"));
    }
    if status.sources.is_empty() {
        return print("no data files loaded: the compiled-in lists only (see docs/intel.md)\n");
    }
    let mut out = format!("{:<20} {:<32} {:>10} {:>12} {:>9}  stale\n", "kind", "name", "entries", "bytes", "age (d)");
    for s in &status.sources {
        out.push_str(&format!(
            "{:<20} {:<32} {:>10} {:>12} {:>9}  {}\n",
            s.info.kind.as_str(),
            s.info.name,
            s.info.entries,
            s.info.bytes,
            s.age_seconds / 86_400,
            if s.stale { "STALE" } else { "no" }
        ));
    }
    print(&out)
}
