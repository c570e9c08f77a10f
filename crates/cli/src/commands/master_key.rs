//! `portcullis master-key rotate`.

use anyhow::Context;
use portcullis_core::master_key::MasterKeyring;

use crate::Failure;
use crate::cli::{Args, MasterKeyCommand};

/// Re-seals every secret under a new master key. Crash-safe: the file holds
/// both keys until every blob is re-sealed, so a rerun finishes the job; a lock
/// file keeps two rotations from dropping each other's keys. Run it with the
/// service stopped (running instances keep the old key in memory).
pub async fn run(cmd: &MasterKeyCommand, args: &Args) -> Result<(), Failure> {
    let MasterKeyCommand::Rotate = cmd;
    let config = super::load_config(args)?;
    if config.master_key.is_some() {
        return Err(Failure::Usage(
            "secrets.master_key is configured: rotate it where it is kept; `master-key rotate` manages the data-directory key file".into(),
        ));
    }
    let path = config.master_key_path();
    let lock_path = path.with_extension("key.lock");
    let _lock = LockFile::acquire(&lock_path)?;
    let old = MasterKeyring::load(&path).context("the master key file")?;
    let store = crate::app::open_store(&config).await?;
    let ring = old.rotated().context("generating the new master key")?;
    ring.write_file(&path).context("writing the master key file")?;
    let mut resealed = 0usize;
    for version in store.sealed_key_versions().await.context("listing sealed keys")? {
        let Some(blob) = version.sealed_material.as_deref() else { continue };
        if let Some(sealed) =
            ring.reseal(blob, version.kid.as_bytes()).with_context(|| format!("key {}", version.kid))?
        {
            store
                .reseal_key_version(&version.kid, &sealed)
                .await
                .with_context(|| format!("storing key {}", version.kid))?;
            resealed += 1;
        }
    }
    for secret in store.sealed_client_secrets().await.context("listing client secrets")? {
        let aad = portcullis_core::clients::secret_aad(&secret.client_id);
        if let Some(sealed) =
            ring.reseal(&secret.sealed, &aad).with_context(|| format!("a secret of client {}", secret.client_id))?
        {
            store.reseal_client_secret(secret.id, &sealed).await.context("storing a client secret")?;
            resealed += 1;
        }
    }
    for (user_id, blob) in store.sealed_totp_secrets().await.context("listing TOTP secrets")? {
        let aad = portcullis_core::accounts::totp_aad(user_id);
        if let Some(sealed) = ring.reseal(&blob, &aad).with_context(|| format!("the TOTP secret of user {user_id}"))? {
            store.reseal_totp_secret(user_id, &sealed).await.context("storing a TOTP secret")?;
            resealed += 1;
        }
    }
    // Only drop the old keys once nothing needs them (a secret sealed by a
    // running instance meanwhile would otherwise be lost).
    let stale_key = store
        .sealed_key_versions()
        .await
        .context("listing sealed keys")?
        .into_iter()
        .find(|v| v.sealed_material.as_deref().is_some_and(|blob| ring.needs_reseal(blob)))
        .map(|v| format!("key {}", v.kid));
    let stale_client = store
        .sealed_client_secrets()
        .await
        .context("listing client secrets")?
        .into_iter()
        .find(|s| ring.needs_reseal(&s.sealed))
        .map(|s| format!("a secret of client {}", s.client_id));
    let stale_totp = store
        .sealed_totp_secrets()
        .await
        .context("listing TOTP secrets")?
        .into_iter()
        .find(|(_, blob)| ring.needs_reseal(blob))
        .map(|(id, _)| format!("the TOTP secret of user {id}"));
    if let Some(what) = stale_key.or(stale_client).or(stale_totp) {
        return Err(Failure::Other(anyhow::anyhow!(
            "{what} was sealed under the old master key during rotation; stop every instance and run again"
        )));
    }
    store.set_meta("master_key_id", ring.current().id()).await.context("recording the master key id")?;
    ring.without_previous().write_file(&path).context("writing the master key file")?;
    eprintln!("master key rotated to {}; re-sealed {resealed} secret(s)", ring.current().id());
    Ok(())
}

/// An exclusive lock held by creating a file; removed on drop.
struct LockFile(std::path::PathBuf);

impl LockFile {
    fn acquire(path: &std::path::Path) -> Result<LockFile, Failure> {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(_) => Ok(LockFile(path.to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Failure::Other(anyhow::anyhow!(
                "another master-key rotation holds {}; if none is running (a crash), remove the file and run again",
                path.display()
            ))),
            Err(e) => Err(Failure::Other(anyhow::Error::new(e).context(format!("creating {}", path.display())))),
        }
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
