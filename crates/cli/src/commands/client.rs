//! `portcullis client create|list|rotate-secret|allow-ip|deny-ip`.

use portcullis_core::accounts::RequestContext;
use portcullis_core::clients::{ClientError, ClientSpec, SecretInfo};
use portcullis_core::secret::Secret;
use portcullis_store::Client;
use serde_json::json;

use crate::Failure;
use crate::cli::{Args, ClientCommand};
use crate::commands::keys::print;

fn failed(e: ClientError) -> Failure {
    match e {
        ClientError::InvalidRequest(m) => Failure::Usage(m),
        ClientError::Conflict => Failure::Usage("a client with this id exists".into()),
        ClientError::NotFound => Failure::Usage("no such client".into()),
        other => Failure::Other(anyhow::anyhow!("{other}")),
    }
}

fn secret_text(secret: &Secret) -> Result<&str, Failure> {
    secret.expose_str().ok_or_else(|| Failure::Other(anyhow::anyhow!("the generated secret is not text")))
}

fn oldest_age(secrets: &[SecretInfo]) -> String {
    let days = secrets.iter().map(|s| s.age_days).max().unwrap_or(0);
    let flag = if secrets.iter().any(|s| s.too_old) { " (too old: rotate)" } else { "" };
    format!("{days}d{flag}")
}

fn json_view(client: &Client, secrets: &[SecretInfo]) -> serde_json::Value {
    json!({
        "id": client.id,
        "name": client.name,
        "scopes": client.scopes,
        "allowed_ips": client.allowed_ips,
        "rate_limit": client.rate_limit,
        "enabled": client.enabled,
        "created_at": client.created_at,
        "secret_age_warning": secrets.iter().any(|s| s.too_old),
        "secrets": secrets,
    })
}

pub async fn run(cmd: &ClientCommand, args: &Args) -> Result<(), Failure> {
    let config = super::load_config(args)?;
    let services = crate::app::open(&config).await?;
    let clients = &services.clients;
    let now = services.clock.now();
    let ctx = RequestContext { actor: Some("cli".into()), now, ..RequestContext::default() };
    match cmd {
        ClientCommand::Create { id, name, scopes, allowed_ips, rate_limit, json } => {
            let spec = ClientSpec {
                id: id.clone(),
                name: name.clone(),
                scopes: scopes.clone(),
                allowed_ips: allowed_ips.clone(),
                rate_limit: rate_limit.clone(),
            };
            let (client, secret) = clients.create(spec, &ctx).await.map_err(failed)?;
            if *json {
                let (_, secrets) = clients.get(&client.id, now).await.map_err(failed)?;
                let mut out = json_view(&client, &secrets);
                out["client_secret"] = json!(secret_text(&secret)?);
                print(&format!("{out}\n"))
            } else {
                eprintln!("created client {} ({}); its secret (shown once):", client.id, client.name);
                print(&format!("{}\n", secret_text(&secret)?))
            }
        }
        ClientCommand::List { json } => {
            let mut rows = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = clients.list(after.as_deref(), 500).await.map_err(failed)?;
                for client in &page {
                    let (_, secrets) = clients.get(&client.id, now).await.map_err(failed)?;
                    rows.push((client.clone(), secrets));
                }
                match page.last() {
                    Some(last) if page.len() == 500 => after = Some(last.id.clone()),
                    _ => break,
                }
            }
            if *json {
                let list: Vec<_> = rows.iter().map(|(c, s)| json_view(c, s)).collect();
                return print(&format!("{}\n", json!(list)));
            }
            let mut out =
                format!("{:<24} {:<24} {:<7} {:<28} {}\n", "ID", "NAME", "ENABLED", "ALLOWED IPS", "SECRET AGE");
            for (c, secrets) in &rows {
                let ips = if c.allowed_ips.is_empty() { "any".to_owned() } else { c.allowed_ips.join(",") };
                out.push_str(&format!(
                    "{:<24} {:<24} {:<7} {:<28} {}\n",
                    c.id,
                    c.name,
                    if c.enabled { "yes" } else { "no" },
                    ips,
                    oldest_age(secrets)
                ));
            }
            print(&out)
        }
        ClientCommand::RotateSecret { id } => {
            let (_, secret) = clients.rotate_secret(id, &ctx).await.map_err(failed)?;
            eprintln!(
                "rotated the secret of {id}; the previous one works for {} s more. New secret (shown once):",
                clients.config().rotation_grace
            );
            print(&format!("{}\n", secret_text(&secret)?))
        }
        ClientCommand::AllowIp { id, cidrs } | ClientCommand::DenyIp { id, cidrs } => {
            let allow = matches!(cmd, ClientCommand::AllowIp { .. });
            let client = clients.change_allowlist(id, cidrs, allow, &ctx).await.map_err(failed)?;
            let ips =
                if client.allowed_ips.is_empty() { "any address".to_owned() } else { client.allowed_ips.join(", ") };
            eprintln!("{id} may now call from: {ips}");
            Ok(())
        }
    }
}
