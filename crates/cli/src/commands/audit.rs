//! `portcullis audit export|verify`.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use portcullis_core::audit::{AuditFilter, AuditLog, AuditRecord, MAX_PAGE, NoGeo, VerifyReport, parse_ms};

use crate::Failure;
use crate::cli::Args;

/// `portcullis audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write audit events to standard output, oldest first.
    Export {
        /// Output format: one JSON object per line, or CSV with a header row.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
        /// Only this action (e.g. key_rotated).
        #[arg(long)]
        action: Option<String>,
        /// Only events about this user id.
        #[arg(long)]
        user: Option<String>,
        /// Only this client id.
        #[arg(long)]
        client: Option<String>,
        /// Only this IP address.
        #[arg(long)]
        ip: Option<String>,
        /// Only events at or after this time (ISO 8601 with offset, or Unix seconds).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only events at or before this time (ISO 8601 with offset, or Unix seconds).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
    },
    /// Check the hash chain: exit 0 if untouched, 1 naming the first bad record.
    Verify,
}

/// `audit export --format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// JSON Lines.
    Jsonl,
    /// RFC 4180 CSV.
    Csv,
}

const CSV_HEADER: [&str; 13] = [
    "id",
    "timestamp",
    "action",
    "outcome",
    "user_id",
    "client_system",
    "ip_address",
    "user_agent",
    "geo_location",
    "request_id",
    "details",
    "prev_hash",
    "hash",
];

pub async fn run(cmd: &AuditCommand, args: &Args) -> Result<(), Failure> {
    let config = super::load_config(args)?;
    let store = crate::app::open_store(&config).await?;
    let log = AuditLog::new(store, Arc::new(NoGeo));
    match cmd {
        AuditCommand::Export { format, action, user, client, ip, since, until } => {
            let time = |flag: &str, v: &Option<String>| -> Result<Option<i64>, Failure> {
                v.as_deref()
                    .map(|s| {
                        parse_ms(s).ok_or_else(|| {
                            Failure::Usage(format!(
                                "--{flag}: expected ISO 8601 with an offset (2026-11-25T16:00:00Z) or Unix seconds"
                            ))
                        })
                    })
                    .transpose()
            };
            let filter = AuditFilter {
                user_id: user.clone(),
                action: action.clone(),
                client_system: client.clone(),
                ip_address: ip.clone(),
                from_ms: time("since", since)?,
                to_ms: time("until", until)?,
            };
            export(&log, &filter, *format).await
        }
        AuditCommand::Verify => match log.verify().await.context("verifying the audit log")? {
            VerifyReport::Verified { count, head_hash } => {
                eprintln!("head hash {head_hash}");
                super::keys::print(&format!("audit log verified: {count} records\n"))
            }
            VerifyReport::Broken { id, kind, verified } => {
                super::keys::print(&format!(
                    "audit log broken at record {id}: {kind} ({verified} records before it verified)\n"
                ))?;
                Err(Failure::Rejected)
            }
        },
    }
}

async fn export(log: &AuditLog, filter: &AuditFilter, format: ExportFormat) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let io = |e: std::io::Error| Failure::Other(anyhow::Error::new(e).context("writing to standard output"));
    if let ExportFormat::Csv = format {
        writeln!(out, "{}", CSV_HEADER.join(",")).map_err(io)?;
    }
    let mut cursor = None;
    loop {
        let page = log.list(filter, cursor, MAX_PAGE).await.context("reading the audit log")?;
        for record in &page.events {
            let line = match format {
                ExportFormat::Jsonl => serde_json::to_string(record).context("encoding an audit event")?,
                ExportFormat::Csv => csv_row(record),
            };
            writeln!(out, "{line}").map_err(io)?;
        }
        match page.next_cursor.as_deref().and_then(AuditLog::parse_cursor) {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    out.flush().map_err(io)
}

fn csv_row(r: &AuditRecord) -> String {
    let json = |v: Option<String>| v.unwrap_or_default();
    let fields = [
        r.id.to_string(),
        r.timestamp.clone(),
        r.action.clone(),
        r.outcome.clone(),
        r.user_id.clone().unwrap_or_default(),
        r.client_system.clone().unwrap_or_default(),
        r.ip_address.clone().unwrap_or_default(),
        r.user_agent.clone().unwrap_or_default(),
        json(r.geo_location.as_ref().and_then(|g| serde_json::to_string(g).ok())),
        r.request_id.clone().unwrap_or_default(),
        json(r.details.as_ref().map(|d| d.to_string())),
        r.prev_hash.clone(),
        r.hash.clone(),
    ];
    fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",")
}

/// RFC 4180: quote a field holding a comma, quote or line break, doubling quotes.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field(r#"{"kid":"x"}"#), r#""{""kid"":""x""}""#);
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }
}
