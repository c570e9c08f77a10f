//! Threat intelligence in the service: the engine with the data files it
//! loads from (and reloads without a restart), its result cache on shared
//! state, and its GeoIP data as the audit log's geo enricher.
//!
//! Where data files live: `intel.data_dir` (default `DATA_DIR/intel`), one
//! sub-directory per kind (`tor/`, `geo_ip/`, …; see [`DataSources`]), which
//! `portcullis intel update` fills, plus any files named in the `[intel]`
//! configuration. [`Intel::reload`] re-reads all of them into a fresh
//! snapshot and swaps it in; checks in flight finish on the old one.

mod cache;
mod geo;
mod sources;

use std::sync::Arc;

use portcullis_intel::{DataStatus, IntelData, IntelEngine, IntelError, IntelErrorKind};

pub use cache::StateResultCache;
pub use geo::IntelGeo;
pub use sources::DataSources;

/// The engine and where its data comes from.
#[derive(Debug, Clone)]
pub struct Intel {
    engine: Arc<IntelEngine>,
    sources: Arc<DataSources>,
}

impl Intel {
    /// Wraps `engine`, whose data comes from `sources`.
    pub fn new(engine: Arc<IntelEngine>, sources: DataSources) -> Intel {
        Intel { engine, sources: Arc::new(sources) }
    }

    /// The engine (checks, geo, status).
    pub fn engine(&self) -> &Arc<IntelEngine> {
        &self.engine
    }

    /// Where the data files are.
    pub fn sources(&self) -> &DataSources {
        &self.sources
    }

    /// Re-reads every configured data file into a new snapshot and swaps it
    /// in. A kind whose files were removed is unloaded. On any error (a
    /// malformed line names its file and line) nothing changes. File I/O runs
    /// on the blocking pool.
    pub async fn reload(&self, now: i64) -> Result<DataStatus, IntelError> {
        let engine = self.engine.clone();
        let sources = self.sources.clone();
        tokio::task::spawn_blocking(move || {
            let specs = sources.specs()?;
            let data = IntelData::load(&specs, now)?;
            engine.replace_data(data);
            Ok(engine.status(now))
        })
        .await
        .map_err(|e| IntelError::new(IntelErrorKind::DataLoad, format!("the reload task failed: {e}")))?
    }

    /// Every loaded source with its age and staleness at `now`.
    pub fn status(&self, now: i64) -> DataStatus {
        self.engine.status(now)
    }
}
