//! The intel result cache on shared state: with Redis configured, every
//! instance sees every cached IPQS answer (one paid call per value per TTL,
//! not one per instance).

use std::sync::Arc;

use async_trait::async_trait;
use portcullis_intel::{IntelError, IntelErrorKind, ResultCache};
use portcullis_state::StateBackend;

use crate::clock::Clock;

/// Caller keys are namespaced under this.
const PREFIX: &str = "intel:";

/// [`ResultCache`] over a [`StateBackend`]'s values (seconds ↔ milliseconds).
#[derive(Debug, Clone)]
pub struct StateResultCache {
    state: Arc<dyn StateBackend>,
    /// `put` is given only the deadline; the backend also wants "now" (its
    /// server-side cleanup TTL is the difference).
    clock: Arc<dyn Clock>,
}

impl StateResultCache {
    /// A cache in `state`.
    pub fn new(state: Arc<dyn StateBackend>, clock: Arc<dyn Clock>) -> StateResultCache {
        StateResultCache { state, clock }
    }
}

fn cache_error(e: portcullis_state::StateError) -> IntelError {
    IntelError::new(IntelErrorKind::Cache, "the shared result cache failed").with_source(e)
}

#[async_trait]
impl ResultCache for StateResultCache {
    async fn get(&self, key: &str, now: i64) -> Result<Option<String>, IntelError> {
        self.state.get_value(&format!("{PREFIX}{key}"), now.saturating_mul(1000)).await.map_err(cache_error)
    }

    async fn put(&self, key: &str, value: String, expires_at: i64) -> Result<(), IntelError> {
        let now_ms = self.clock.now().saturating_mul(1000);
        let expires_ms = expires_at.saturating_mul(1000);
        if expires_ms <= now_ms {
            return Ok(());
        }
        self.state.set_value(&format!("{PREFIX}{key}"), &value, expires_ms, now_ms).await.map_err(cache_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use portcullis_state::{MemoryBackend, StateConfig};

    #[tokio::test]
    async fn cached_answers_expire_at_their_deadline_in_seconds() {
        let state = Arc::new(MemoryBackend::new(StateConfig::default()));
        let cache = StateResultCache::new(state, Arc::new(ManualClock::new(100)));
        assert_eq!(cache.get("ipqs:ip:1.2.3.4", 100).await.unwrap(), None);
        cache.put("ipqs:ip:1.2.3.4", "{\"fraud_score\":3}".into(), 200).await.unwrap();
        assert_eq!(cache.get("ipqs:ip:1.2.3.4", 199).await.unwrap().as_deref(), Some("{\"fraud_score\":3}"));
        assert_eq!(cache.get("ipqs:ip:1.2.3.4", 200).await.unwrap(), None);
        cache.put("stale", "x".into(), 50).await.unwrap();
        assert_eq!(cache.get("stale", 10).await.unwrap(), None, "an answer already expired is not stored");
    }
}
