//! `portcullis keys generate|list|rotate|jwks`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use portcullis_core::audit::{AuditAction, AuditEvent, AuditLog, AuditOutcome, NoGeo};
use portcullis_core::keys::{KeyErrorKind, version_status};
use portcullis_jose::{Algorithm, SigningKey};

use crate::Failure;
use crate::cli::{Args, KeysCommand};

pub async fn run(cmd: &KeysCommand, args: &Args) -> Result<(), Failure> {
    match cmd {
        KeysCommand::Generate { alg, out, format } => generate(alg, out.as_deref(), format),
        KeysCommand::List { json } => {
            let config = super::load_config(args)?;
            let services = crate::app::open(&config).await?;
            let now = services.clock.now();
            let snapshot = services.tokens.keys().snapshot();
            if *json {
                let rows: Vec<_> = snapshot
                    .versions
                    .iter()
                    .map(|v| {
                        serde_json::json!({
                            "kid": v.kid, "version": v.version, "algorithm": v.algorithm, "provider": v.provider,
                            "status": version_status(v, now), "created_at": v.created_at, "retire_at": v.retire_at,
                        })
                    })
                    .collect();
                print(&format!("{}\n", serde_json::Value::Array(rows)))
            } else {
                let mut out = format!(
                    "{:<40} {:>7} {:<6} {:<7} {:<9} {:>12} {:>12}\n",
                    "KID", "VERSION", "ALG", "PROVIDER", "STATUS", "CREATED", "RETIRE_AT"
                );
                for v in &snapshot.versions {
                    out.push_str(&format!(
                        "{:<40} {:>7} {:<6} {:<7} {:<9} {:>12} {:>12}\n",
                        v.kid,
                        v.version,
                        v.algorithm,
                        v.provider,
                        version_status(v, now),
                        v.created_at,
                        v.retire_at.map_or_else(|| "-".to_owned(), |t| t.to_string())
                    ));
                }
                print(&out)
            }
        }
        KeysCommand::Rotate => {
            let config = super::load_config(args)?;
            let services = crate::app::open(&config).await?;
            let now = services.clock.now();
            let version = services.tokens.keys().rotate(now).await.map_err(|e| {
                if e.kind() == KeyErrorKind::Conflict {
                    Failure::Other(anyhow::anyhow!("another instance rotated the key at the same moment; run again"))
                } else {
                    Failure::Other(anyhow::Error::new(e).context("rotating the signing key"))
                }
            })?;
            // Recorded before reporting success (PRODUCT §6).
            let event = AuditEvent::new(AuditAction::KeyRotated, AuditOutcome::Success)
                .detail("kid", version.kid.clone())
                .detail("version", version.version);
            AuditLog::new(services.store.clone(), Arc::new(NoGeo))
                .record(event, now.saturating_mul(1000))
                .await
                .context("the key was rotated but its audit event was not recorded")?;
            eprintln!("rotated: new active version {} ({})", version.version, version.algorithm);
            print(&format!("{}\n", version.kid))
        }
        KeysCommand::Jwks => {
            let config = super::load_config(args)?;
            let services = crate::app::open(&config).await?;
            let jwks = &services.tokens.keys().snapshot().jwks;
            let text = serde_json::to_string_pretty(jwks).context("encoding the JWK Set")?;
            print(&format!("{text}\n"))
        }
    }
}

fn generate(alg: &str, out: Option<&Path>, format: &str) -> Result<(), Failure> {
    let alg: Algorithm =
        alg.parse().map_err(|e: portcullis_jose::Error| Failure::Usage(format!("--alg: {}", e.message())))?;
    let key = SigningKey::generate(alg).map_err(|e| Failure::Other(anyhow::anyhow!("generating the key: {e}")))?;
    let text = if format == "jwk" || alg.is_symmetric() {
        let jwk = key.to_jwk().map_err(|e| Failure::Other(anyhow::anyhow!("encoding the key: {e}")))?;
        zeroize::Zeroizing::new(format!("{}\n", serde_json::to_string_pretty(&jwk).context("encoding the key")?))
    } else {
        let pem = key.to_pem().map_err(|e| Failure::Other(anyhow::anyhow!("encoding the key: {e}")))?;
        zeroize::Zeroizing::new(pem.to_string())
    };
    match out {
        Some(path) => {
            write_private(path, text.as_bytes())?;
            if let Some(public) = key.public_jwk() {
                eprintln!("wrote the {alg} private key to {}; public key:", path.display());
                print(&format!("{}\n", serde_json::to_string(&public).context("encoding the public key")?))?;
            } else {
                eprintln!("wrote the {alg} secret to {}", path.display());
            }
            Ok(())
        }
        None => print(&text),
    }
}

/// Writes a private key readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Failure::Usage(format!("--out {}: {e}", path.display())))?;
    file.write_all(bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub fn print(text: &str) -> Result<(), Failure> {
    std::io::stdout().write_all(text.as_bytes()).map_err(|e| Failure::Other(e.into()))
}
