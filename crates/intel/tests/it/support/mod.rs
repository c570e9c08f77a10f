//! Test helpers: tiny `.mmdb` fixtures written at test time, data files in a
//! temporary directory, and a loopback IPQS stand-in.

pub mod ipqs;
pub mod mmdb;

use std::path::PathBuf;

use portcullis_intel::{IntelEngine, SourceKind, SourceSpec};

/// A fixed "now" (2024-11-22T00:00:00Z); tests never read the clock.
pub const NOW: i64 = 1_732_233_600;

/// Data files written into a temporary directory that lives as long as it.
pub struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    pub fn new() -> Files {
        Files { dir: tempfile::tempdir().unwrap() }
    }

    /// Writes `contents` to `name` and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Writes a file and returns a spec for it.
    pub fn spec(&self, kind: SourceKind, name: &str, contents: impl AsRef<[u8]>) -> SourceSpec {
        SourceSpec::new(kind, self.write(name, contents))
    }
}

/// An offline engine with `specs` loaded at [`NOW`].
pub fn engine_with(specs: &[SourceSpec]) -> IntelEngine {
    let engine = IntelEngine::offline();
    engine.update(specs, NOW).unwrap();
    engine
}
