//! The key manager: which version signs, which are published, rotation.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use arc_swap::ArcSwap;
use portcullis_jose::{Algorithm, Jwk, JwkSet, KeySet, VerifyingKey};
use portcullis_store::{KeyVersion, Store, StoreErrorKind};

use super::{KeyError, KeyErrorKind, KeyProvider, LoadedKey, parse_algorithm};

/// What the key manager is told by configuration.
#[derive(Debug, Clone)]
pub struct KeyConfig {
    /// Keyring name. Default `jwt`.
    pub keyring: String,
    /// Key name inside the keyring. Default `base-signing-key`.
    pub key_name: String,
    /// Algorithm new versions are created for.
    pub algorithm: Algorithm,
    /// Rotate automatically once the active version is this old (seconds); `None` disables.
    pub rotate_after: Option<i64>,
    /// How long a superseded version stays published (seconds): the longest
    /// token lifetime plus the verification leeway, so every token it signed
    /// expires before its key disappears.
    pub grace: i64,
}

/// An immutable view of the keys at one moment, swapped atomically on reload.
#[derive(Debug)]
pub struct KeySnapshot {
    /// The version that signs.
    pub active: Option<ActiveKey>,
    /// Every published version (active and retiring), for verification.
    pub keyset: KeySet,
    /// `kid` → the instant it stops being accepted (`None` = active).
    pub retire_at: HashMap<String, Option<i64>>,
    /// The public JWK Set (HMAC keys never appear).
    pub jwks: JwkSet,
    /// All stored versions, oldest first, for listings.
    pub versions: Vec<KeyVersion>,
}

impl KeySnapshot {
    /// The keys that verify at `now`: the snapshot's set, minus versions whose
    /// grace window ended since it was built (rare: between a retirement and the
    /// next reload, or when verifying "as of" a later time).
    pub fn keyset_at(&self, now: i64) -> std::borrow::Cow<'_, KeySet> {
        let expired = |k: &VerifyingKey| k.kid().is_some_and(|kid| !self.is_published(kid, now));
        if !self.keyset.keys().iter().any(expired) {
            return std::borrow::Cow::Borrowed(&self.keyset);
        }
        std::borrow::Cow::Owned(KeySet::new(self.keyset.keys().iter().filter(|k| !expired(k)).cloned().collect()))
    }

    /// True when `kid` is published at `now`.
    pub fn is_published(&self, kid: &str, now: i64) -> bool {
        matches!(self.retire_at.get(kid), Some(None)) || matches!(self.retire_at.get(kid), Some(Some(t)) if *t > now)
    }
}

/// The active signing key.
#[derive(Debug, Clone)]
pub struct ActiveKey {
    pub kid: String,
    pub version: i64,
    pub created_at: i64,
    pub key: LoadedKey,
}

/// Owns the signing keys of one keyring/key: creates the first version,
/// rotates (by command, API or schedule), keeps superseded versions published
/// for the grace window, and reloads what other instances changed.
#[derive(Debug)]
pub struct KeyManager {
    store: Arc<dyn Store>,
    provider: Arc<dyn KeyProvider>,
    config: KeyConfig,
    snapshot: ArcSwap<KeySnapshot>,
    /// When a reload was last caused by an unknown `kid` (not by the schedule).
    last_on_demand_reload: AtomicI64,
    reload_lock: tokio::sync::Mutex<()>,
}

impl KeyManager {
    /// Opens the key: loads what is stored, creating (or re-creating, when the
    /// configured algorithm or provider changed) the active version as `serve` does.
    pub async fn open(
        store: Arc<dyn Store>,
        provider: Arc<dyn KeyProvider>,
        config: KeyConfig,
        now: i64,
    ) -> Result<Arc<KeyManager>, KeyError> {
        let manager = Arc::new(KeyManager {
            store,
            provider,
            config,
            snapshot: ArcSwap::from_pointee(KeySnapshot {
                active: None,
                keyset: KeySet::new(Vec::new()),
                retire_at: HashMap::new(),
                jwks: JwkSet::default(),
                versions: Vec::new(),
            }),
            last_on_demand_reload: AtomicI64::new(i64::MIN),
            reload_lock: tokio::sync::Mutex::new(()),
        });
        manager.ensure_active(now).await?;
        Ok(manager)
    }

    /// The configuration.
    pub fn config(&self) -> &KeyConfig {
        &self.config
    }

    /// The current snapshot (cheap: an `Arc` clone).
    pub fn snapshot(&self) -> Arc<KeySnapshot> {
        self.snapshot.load_full()
    }

    async fn ensure_active(&self, now: i64) -> Result<(), KeyError> {
        self.reload(now).await?;
        let snapshot = self.snapshot();
        let reason = match (snapshot.versions.last(), &snapshot.active) {
            (None, _) => Some("no signing key yet"),
            (Some(v), _) if v.algorithm != self.config.algorithm.as_str() => Some("keys.algorithm changed"),
            (Some(v), _) if v.provider != self.provider.name() => Some("keys.provider changed"),
            // e.g. the operator replaced the key file: start a new version from it.
            (Some(_), None) => Some("the active key cannot be loaded from its provider"),
            (Some(_), Some(_)) => None,
        };
        if let Some(reason) = reason {
            tracing::info!(reason, "creating a new signing key version");
            match self.rotate_after(snapshot.versions.last().map(|v| v.version), now).await {
                Ok(_) => {}
                // Another instance made the new version first: use theirs.
                Err(e) if e.kind() == KeyErrorKind::Conflict => self.reload(now).await?,
                Err(e) => return Err(e),
            }
        }
        if self.snapshot().active.is_none() {
            return Err(KeyError::new(KeyErrorKind::NotFound, "no usable active signing key"));
        }
        Ok(())
    }

    /// Creates a new version after the newest stored one and makes it active;
    /// the previous one stays published for the grace window.
    pub async fn rotate(&self, now: i64) -> Result<KeyVersion, KeyError> {
        let versions = self
            .store
            .key_versions(&self.config.keyring, &self.config.key_name)
            .await
            .map_err(|e| KeyError::new(KeyErrorKind::Store, "listing key versions").with_source(e))?;
        self.rotate_after(versions.last().map(|v| v.version), now).await
    }

    /// Creates version `current + 1`. The store refuses (`Conflict`) unless
    /// `current` is still the newest version, so instances acting on the same
    /// observation (a schedule, a start-up) rotate exactly once between them.
    async fn rotate_after(&self, current: Option<i64>, now: i64) -> Result<KeyVersion, KeyError> {
        let version = current.map_or(1, |v| v + 1);
        let kid = new_kid(&self.config.key_name, version)?;
        let alg = self.config.algorithm;
        let created = self.provider.create(alg, &kid).await?;
        let public_jwk = created
            .public_jwk
            .map(|jwk| serde_json::to_string(&jwk))
            .transpose()
            .map_err(|e| KeyError::new(KeyErrorKind::InvalidKey, "serialising the public key").with_source(e))?;
        let record = KeyVersion {
            keyring: self.config.keyring.clone(),
            key_name: self.config.key_name.clone(),
            version,
            kid,
            algorithm: alg.as_str().to_owned(),
            provider: self.provider.name().to_owned(),
            public_jwk,
            sealed_material: created.sealed_material,
            provider_ref: created.provider_ref,
            created_at: now,
            retire_at: None,
        };
        let previous_retire_at = now.saturating_add(self.config.grace);
        self.store.activate_key_version(&record, Some(previous_retire_at)).await.map_err(|e| {
            let kind = if e.kind() == StoreErrorKind::Conflict { KeyErrorKind::Conflict } else { KeyErrorKind::Store };
            KeyError::new(kind, format!("activating key version {version}")).with_source(e)
        })?;
        tracing::info!(kid = %record.kid, version, alg = %alg, provider = %record.provider, "signing key rotated");
        self.reload(now).await?;
        Ok(record)
    }

    /// Rotates when the active version is older than `keys.rotate_after_days`.
    pub async fn rotate_if_due(&self, now: i64) -> Result<Option<KeyVersion>, KeyError> {
        let Some(after) = self.config.rotate_after else { return Ok(None) };
        let due = self.snapshot().active.as_ref().is_none_or(|a| a.created_at.saturating_add(after) <= now);
        if !due {
            return Ok(None);
        }
        let current = self.snapshot().active.as_ref().map(|a| a.version);
        match self.rotate_after(current, now).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == KeyErrorKind::Conflict => {
                self.reload(now).await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Reloads because a token names a `kid` this instance does not know (another
    /// instance may have just rotated), at most once per `min_interval` seconds:
    /// the interval bounds the database traffic a flood of random `kid`s can cause.
    pub async fn reload_on_unknown_kid(&self, min_interval: i64, now: i64) -> Result<bool, KeyError> {
        let last = self.last_on_demand_reload.load(Ordering::Acquire);
        if now.saturating_sub(last) < min_interval
            || self.last_on_demand_reload.compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire).is_err()
        {
            return Ok(false);
        }
        self.reload(now).await?;
        Ok(true)
    }

    /// Re-reads the versions from the store and swaps in a new snapshot.
    pub async fn reload(&self, now: i64) -> Result<(), KeyError> {
        let _guard = self.reload_lock.lock().await;
        let versions = self
            .store
            .key_versions(&self.config.keyring, &self.config.key_name)
            .await
            .map_err(|e| KeyError::new(KeyErrorKind::Store, "listing key versions").with_source(e))?;
        let previous = self.snapshot();
        let mut keys = Vec::new();
        let mut retire_at = HashMap::new();
        let mut jwks = JwkSet::default();
        let mut active = None;
        for v in &versions {
            let is_active = v.retire_at.is_none();
            if !is_active && v.retire_at.is_some_and(|t| t <= now) {
                continue;
            }
            if is_active && v.provider == self.provider.name() {
                let loaded = match previous.active.as_ref().filter(|a| a.kid == v.kid) {
                    Some(a) => Ok(a.key.clone()),
                    None => self.provider.load(v).await,
                };
                match loaded {
                    Ok(key) => {
                        active =
                            Some(ActiveKey { kid: v.kid.clone(), version: v.version, created_at: v.created_at, key });
                    }
                    Err(e) => tracing::error!(kid = %v.kid, error = %e, "the active signing key cannot be loaded"),
                }
            }
            let cached = previous.keyset.keys().iter().find(|k| k.kid() == Some(v.kid.as_str())).cloned();
            let verifying = match cached {
                Some(k) => k,
                None => match self.verifying_key(v).await {
                    Ok(k) => k,
                    // One unusable old version must not stop this instance from
                    // seeing new ones; its tokens fail with key_not_found.
                    Err(e) => {
                        tracing::warn!(kid = %v.kid, error = %e, "skipping a key version that cannot verify");
                        continue;
                    }
                },
            };
            if let Some(jwk) = public_jwk(v)? {
                jwks.keys.push(jwk);
            }
            retire_at.insert(v.kid.clone(), v.retire_at);
            keys.push(verifying);
        }
        // Newest first: the active key is the likeliest match for a kid-less token.
        keys.reverse();
        jwks.keys.reverse();
        self.snapshot.store(Arc::new(KeySnapshot { active, keyset: KeySet::new(keys), retire_at, jwks, versions }));
        Ok(())
    }

    async fn verifying_key(&self, v: &KeyVersion) -> Result<VerifyingKey, KeyError> {
        let alg = parse_algorithm(v)?;
        match public_jwk(v)? {
            Some(jwk) => VerifyingKey::from_jwk(&jwk, Some(alg)).map(|k| k.with_kid(v.kid.clone())).map_err(|e| {
                KeyError::new(KeyErrorKind::InvalidKey, format!("public key of {}", v.kid)).with_source(e)
            }),
            // HMAC: the secret is needed to verify, so its provider opens it.
            None if v.provider == self.provider.name() => Ok(self.provider.load(v).await?.verifying),
            None => Err(KeyError::new(
                KeyErrorKind::NotFound,
                format!("HMAC key {} belongs to the {} provider, which is not configured", v.kid, v.provider),
            )),
        }
    }
}

fn public_jwk(v: &KeyVersion) -> Result<Option<Jwk>, KeyError> {
    v.public_jwk
        .as_deref()
        .map(serde_json::from_str::<Jwk>)
        .transpose()
        .map_err(|e| KeyError::new(KeyErrorKind::InvalidKey, format!("stored public key of {}", v.kid)).with_source(e))
}

/// `<key name>-v<version>-<8 random hex>`: readable in logs, unique across
/// instances racing for the same version number.
fn new_kid(key_name: &str, version: i64) -> Result<String, KeyError> {
    let mut random = [0u8; 4];
    aws_lc_rs::rand::fill(&mut random)
        .map_err(|_| KeyError::new(KeyErrorKind::Provider, "the system random generator failed"))?;
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{key_name}-v{version}-{hex}"))
}

impl KeyManager {
    /// Background upkeep until `shutdown` flips: reload what other instances
    /// changed, and rotate on schedule. Errors are logged and retried next tick.
    pub async fn maintain(
        self: Arc<Self>,
        clock: Arc<dyn crate::clock::Clock>,
        interval: std::time::Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = shutdown.changed() => return,
            }
            let now = clock.now();
            if let Err(e) = self.reload(now).await {
                tracing::warn!(error = %e, "reloading signing keys failed");
                continue;
            }
            if let Err(e) = self.rotate_if_due(now).await {
                tracing::error!(error = %e, "scheduled key rotation failed");
            }
        }
    }
}
