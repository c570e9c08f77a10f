//! `portcullis master-key rotate`.

use anyhow::Context;

use crate::Failure;
use crate::cli::{Args, MasterKeyCommand};

/// Re-seals every secret under a new master key. Crash-safe: the file holds
/// both keys until every blob is re-sealed, so a rerun finishes the job.
/// Run it with the service stopped (running instances keep the old key in memory).
pub async fn run(cmd: &MasterKeyCommand, args: &Args) -> Result<(), Failure> {
    let MasterKeyCommand::Rotate = cmd;
    let config = super::load_config(args)?;
    if config.master_key.is_some() {
        return Err(Failure::Usage(
            "secrets.master_key is configured: rotate it where it is kept; `master-key rotate` manages the data-directory key file".into(),
        ));
    }
    let store = crate::app::open_store(&config).await?;
    let path = config.master_key_path();
    let old = crate::app::open_master_key(&config)?;
    let ring = old.rotated().context("generating the new master key")?;
    ring.write_file(&path).context("writing the master key file")?;
    let mut resealed = 0usize;
    for version in store.sealed_key_versions().await.context("listing sealed keys")? {
        let Some(blob) = version.sealed_material.as_deref() else { continue };
        if !ring.needs_reseal(blob) {
            continue;
        }
        let plain = ring.open(blob, version.kid.as_bytes()).with_context(|| format!("opening key {}", version.kid))?;
        let sealed =
            ring.seal(&plain, version.kid.as_bytes()).with_context(|| format!("sealing key {}", version.kid))?;
        store
            .reseal_key_version(&version.kid, &sealed)
            .await
            .with_context(|| format!("storing key {}", version.kid))?;
        resealed += 1;
    }
    store.set_meta("master_key_id", ring.current().id()).await.context("recording the master key id")?;
    ring.without_previous().write_file(&path).context("writing the master key file")?;
    eprintln!("master key rotated to {}; re-sealed {resealed} key(s)", ring.current().id());
    Ok(())
}
