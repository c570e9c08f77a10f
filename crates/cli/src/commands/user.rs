//! `portcullis user create|list|unlock|set-role|reset-2fa`.

use portcullis_core::accounts::RequestContext;

use crate::Failure;
use crate::cli::{Args, UserCommand};
use crate::commands::keys::print;

fn failed(e: portcullis_core::accounts::AccountError) -> Failure {
    use portcullis_core::accounts::AccountError as E;
    match e {
        E::InvalidRequest(m) => Failure::Usage(m),
        other => Failure::Other(anyhow::anyhow!("{other}")),
    }
}

pub async fn run(cmd: &UserCommand, args: &Args) -> Result<(), Failure> {
    let config = super::load_config(args)?;
    let services = crate::app::open(&config).await?;
    let accounts = &services.accounts;
    let now = services.clock.now();
    let ctx = RequestContext { actor: Some("cli".into()), now, ..RequestContext::default() };
    match cmd {
        UserCommand::Create { email, role, password_env } => {
            let password = match password_env {
                Some(var) => {
                    Some(std::env::var(var).map_err(|_| Failure::Usage(format!("--password-env: {var} is not set")))?)
                }
                None => None,
            };
            let (user, generated) =
                accounts.create_user(email, password.as_deref(), role, now).await.map_err(failed)?;
            eprintln!("created user {} ({}) with role {}", user.id, user.email, user.role);
            if let Some(password) = generated {
                eprintln!("password (shown once):");
                print(&format!("{password}\n"))?;
            }
            Ok(())
        }
        UserCommand::List { search } => {
            let mut out =
                format!("{:>6} {:<40} {:<10} {:<9} {:<5} {}\n", "ID", "EMAIL", "ROLE", "STATUS", "2FA", "LOCKED");
            let mut after = None;
            loop {
                let page = accounts.list_users(search.as_deref(), after, 500).await.map_err(failed)?;
                for u in &page {
                    let locked = accounts.locked_until(&u.email, now).await.map_err(failed)?.is_some();
                    out.push_str(&format!(
                        "{:>6} {:<40} {:<10} {:<9} {:<5} {}\n",
                        u.id,
                        u.email,
                        u.role,
                        u.status,
                        if u.totp_enabled { "yes" } else { "no" },
                        if locked { "yes" } else { "no" }
                    ));
                }
                match page.last() {
                    Some(last) if page.len() == 500 => after = Some(last.id),
                    _ => break,
                }
            }
            print(&out)
        }
        UserCommand::Unlock { email } if config.redis_url.is_none() => Err(Failure::Usage(format!(
            "locks live in the serving process's memory (no state.redis_url): unlock {email} with \
             POST /v1/users/{{id}}/unlock on the server, or configure Redis so the CLI shares its state"
        ))),
        UserCommand::Unlock { email } => {
            accounts.unlock(email, &ctx).await.map_err(failed)?;
            eprintln!("unlocked {email}");
            Ok(())
        }
        UserCommand::SetRole { email, role } => {
            let user = accounts.user_by_email(email).await.map_err(failed)?;
            accounts.update_user(user.id, Some(role), None, None, &ctx).await.map_err(failed)?;
            eprintln!("{email} now has role {role}");
            Ok(())
        }
        UserCommand::Reset2fa { email } => {
            let user = accounts.user_by_email(email).await.map_err(failed)?;
            accounts.reset_2fa(user.id, &ctx).await.map_err(failed)?;
            eprintln!("2FA removed for {email}; they can enrol again");
            Ok(())
        }
    }
}
