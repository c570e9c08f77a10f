//! Where data files live: a directory per kind under `intel.data_dir`,
//! filled by `portcullis intel update`, plus files named in configuration.

use std::path::{Path, PathBuf};

use portcullis_intel::{IntelData, IntelError, SourceKind, SourceSpec};

/// The data files the service loads at start and on every reload.
///
/// Layout: `DIR/<kind>/<file>`, where `<kind>` is a [`SourceKind`] name
/// (`tor`, `vpn`, `hosting`, `crawler`, `disposable`, `blocklist`,
/// `phishing_blocklist`, `malware_blocklist`, `geo_ip`, `asn`,
/// `hosting_asns`, `bot_agents`). Every regular file in a kind's directory
/// is loaded (a GeoIP `-ipv4` / `-ipv6` pair is two files); names starting
/// with `.` are in-progress copies and skipped. Other entries are ignored.
#[derive(Debug, Clone)]
pub struct DataSources {
    dir: PathBuf,
    extra: Vec<SourceSpec>,
}

impl DataSources {
    /// Files under `dir`, plus `extra` files kept elsewhere (configured paths).
    pub fn new(dir: PathBuf, extra: Vec<SourceSpec>) -> DataSources {
        DataSources { dir, extra }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every file to load: the directory's (kinds in order, files by name),
    /// then the configured ones. A missing directory holds no files.
    pub fn specs(&self) -> Result<Vec<SourceSpec>, IntelError> {
        let mut specs = Vec::new();
        for kind in SourceKind::ALL {
            for path in self.installed(kind)? {
                specs.push(SourceSpec::new(kind, path));
            }
        }
        specs.extend(self.extra.iter().cloned());
        Ok(specs)
    }

    /// The files installed for `kind`, sorted by name.
    fn installed(&self, kind: SourceKind) -> Result<Vec<PathBuf>, IntelError> {
        let dir = self.dir.join(kind.as_str());
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(IntelError::data(&dir, None, "cannot read the directory").with_source(e)),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| IntelError::data(&dir, None, "cannot read the directory").with_source(e))?;
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !hidden && entry.file_type().is_ok_and(|t| t.is_file()) {
                files.push(entry.path());
            }
        }
        files.sort();
        Ok(files)
    }

    /// Validates `files` completely (as a load would) and then installs them:
    /// for each kind named, its directory ends up holding exactly these files
    /// (older ones of that kind are removed), each copied under a temporary
    /// name and renamed, so a reload never reads half a file. Kinds not named
    /// keep their files. Blocking file I/O. Returns the installed paths.
    pub fn install(&self, files: &[SourceSpec], now: i64) -> Result<Vec<PathBuf>, IntelError> {
        IntelData::load(files, now)?;
        let mut installed = Vec::new();
        for kind in SourceKind::ALL {
            let of_kind: Vec<&SourceSpec> = files.iter().filter(|s| s.kind == kind).collect();
            if of_kind.is_empty() {
                continue;
            }
            let dir = self.dir.join(kind.as_str());
            std::fs::create_dir_all(&dir)
                .map_err(|e| IntelError::data(&dir, None, "cannot create the directory").with_source(e))?;
            let mut names = Vec::new();
            for spec in of_kind {
                let name = spec
                    .path
                    .file_name()
                    .ok_or_else(|| IntelError::data(&spec.path, None, "is not a file name"))?
                    .to_owned();
                let target = dir.join(&name);
                let partial = dir.join(format!(".{}.partial", name.to_string_lossy()));
                std::fs::copy(&spec.path, &partial)
                    .and_then(|_| std::fs::rename(&partial, &target))
                    .map_err(|e| IntelError::data(&target, None, "cannot install the file").with_source(e))?;
                names.push(name);
                installed.push(target);
            }
            for old in self.installed(kind)? {
                if old.file_name().is_some_and(|n| !names.iter().any(|k| k == n)) {
                    std::fs::remove_file(&old)
                        .map_err(|e| IntelError::data(&old, None, "cannot remove the old file").with_source(e))?;
                }
            }
        }
        Ok(installed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_validates_replaces_a_kind_and_keeps_the_others() {
        let src = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let sources = DataSources::new(data.path().to_path_buf(), Vec::new());
        assert!(sources.specs().unwrap().is_empty(), "no directory, no files");
        let tor = src.path().join("exits.txt");
        std::fs::write(&tor, "192.0.2.1\n").unwrap();
        let disposable = src.path().join("disposable.txt");
        std::fs::write(&disposable, "throwaway.example\n").unwrap();
        sources
            .install(&[SourceSpec::new(SourceKind::Tor, &tor), SourceSpec::new(SourceKind::Disposable, &disposable)], 0)
            .unwrap();
        let newer = src.path().join("exits-2.txt");
        std::fs::write(&newer, "192.0.2.2\n").unwrap();
        sources.install(&[SourceSpec::new(SourceKind::Tor, &newer)], 0).unwrap();
        let specs = sources.specs().unwrap();
        let names: Vec<(SourceKind, String)> =
            specs.iter().map(|s| (s.kind, s.path.file_name().unwrap().to_string_lossy().into_owned())).collect();
        assert_eq!(
            names,
            [(SourceKind::Tor, "exits-2.txt".to_owned()), (SourceKind::Disposable, "disposable.txt".to_owned())]
        );
    }

    #[test]
    fn a_malformed_file_installs_nothing() {
        let src = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let sources = DataSources::new(data.path().to_path_buf(), Vec::new());
        let bad = src.path().join("exits.txt");
        std::fs::write(&bad, "192.0.2.1\nnot an address\n").unwrap();
        let err = sources.install(&[SourceSpec::new(SourceKind::Tor, &bad)], 0).unwrap_err();
        assert_eq!(err.code(), "DATA_LOAD_ERROR");
        assert!(err.to_string().contains(":2"), "{err}");
        assert!(sources.specs().unwrap().is_empty());
    }
}
