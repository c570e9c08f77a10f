//! Reading and parsing the files of one kind into [`Parts`].

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use aho_corasick::AhoCorasick;

use crate::data::geo::MmdbFile;
use crate::data::lists::{self, Blocklist};
use crate::data::{AsnData, Parts, SourceInfo, SourceKind, SourceSpec, asn};
use crate::error::IntelError;

struct File {
    bytes: Vec<u8>,
    size: u64,
    modified_at: Option<i64>,
}

fn read(path: &Path) -> Result<File, IntelError> {
    let err = |what: &str, e: std::io::Error| IntelError::data(path, None, what.to_owned()).with_source(e);
    let meta = std::fs::metadata(path).map_err(|e| err("cannot read file", e))?;
    let modified_at = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_secs()).ok());
    let bytes = std::fs::read(path).map_err(|e| err("cannot read file", e))?;
    Ok(File { size: bytes.len() as u64, bytes, modified_at })
}

fn text(path: &Path, bytes: Vec<u8>) -> Result<String, IntelError> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid].iter().filter(|&&b| b == b'\n').count() + 1;
        IntelError::data(path, Some(line), "not UTF-8 text")
    })
}

/// `.mmdb` files end with a metadata section introduced by this marker.
fn is_mmdb(bytes: &[u8]) -> bool {
    const MARKER: &[u8] = b"\xab\xcd\xefMaxMind.com";
    let tail = &bytes[bytes.len().saturating_sub(128 * 1024)..];
    tail.windows(MARKER.len()).any(|w| w == MARKER)
}

/// Loads every file of one kind into `parts`, recording one `SourceInfo`
/// per file.
pub(super) fn load_kind(
    parts: &mut Parts,
    kind: SourceKind,
    files: &[&SourceSpec],
    now: i64,
    sources: &mut Vec<SourceInfo>,
) -> Result<(), IntelError> {
    let mut ranges_out = Vec::new();
    let mut tor_out = Vec::new();
    let mut domains_out: HashSet<Box<str>> = HashSet::new();
    let mut block_out = Blocklist::default();
    let mut mmdb_out = Vec::new();
    let mut asn_out = AsnData::default();
    let mut asns_out: HashSet<u32> = HashSet::new();
    let mut agents_out: Vec<String> = Vec::new();
    for spec in files {
        let path = spec.path.as_path();
        let file = read(path)?;
        let mut built_at = None;
        let entries = match kind {
            SourceKind::Tor => {
                let t = lists::tor_exits(path, &text(path, file.bytes)?)?;
                let n = t.entries();
                tor_out.push(t);
                n
            }
            SourceKind::Vpn | SourceKind::Hosting | SourceKind::Crawler => {
                let t = lists::ranges(path, &text(path, file.bytes)?)?;
                let n = t.entries();
                ranges_out.push(t);
                n
            }
            SourceKind::Disposable => {
                let set = lists::domains(path, &text(path, file.bytes)?)?;
                let n = set.len();
                domains_out.extend(set);
                n
            }
            SourceKind::Blocklist | SourceKind::PhishingBlocklist | SourceKind::MalwareBlocklist => {
                let list = lists::blocklist(path, &text(path, file.bytes)?)?;
                let n = list.len();
                block_out.domains.extend(list.domains);
                block_out.urls.extend(list.urls);
                n
            }
            SourceKind::GeoIp => {
                let db = MmdbFile::open(path, file.bytes)?;
                built_at = Some(db.built_at());
                let n = db.nodes();
                mmdb_out.push(db);
                n
            }
            SourceKind::Asn if is_mmdb(&file.bytes) => {
                let db = MmdbFile::open(path, file.bytes)?;
                built_at = Some(db.built_at());
                let n = db.nodes();
                asn_out.mmdb.push(db);
                n
            }
            SourceKind::Asn => {
                let t = asn::csv(path, &text(path, file.bytes)?)?;
                let n = t.entries();
                asn_out.csv.push(t);
                n
            }
            SourceKind::HostingAsns => {
                let set = lists::asns(path, &text(path, file.bytes)?)?;
                let n = set.len();
                asns_out.extend(set);
                n
            }
            SourceKind::BotAgents => {
                let list = lists::agents(path, &text(path, file.bytes)?);
                let n = list.len();
                agents_out.extend(list);
                n
            }
        };
        if entries == 0 {
            return Err(IntelError::data(path, None, format!("no {} entries in the file", kind.as_str())));
        }
        sources.push(SourceInfo {
            name: spec.name.clone().unwrap_or_else(|| file_name(path)),
            kind,
            path: spec.path.clone(),
            entries,
            bytes: file.size,
            loaded_at: now,
            modified_at: file.modified_at,
            built_at,
        });
    }
    match kind {
        SourceKind::Tor => parts.tor = Some(Arc::new(tor_out)),
        SourceKind::Vpn => parts.vpn = Some(Arc::new(ranges_out)),
        SourceKind::Hosting => parts.hosting = Some(Arc::new(ranges_out)),
        SourceKind::Crawler => parts.crawler = Some(Arc::new(ranges_out)),
        SourceKind::Disposable => parts.disposable = Some(Arc::new(domains_out)),
        SourceKind::Blocklist => parts.blocklist = Some(Arc::new(block_out)),
        SourceKind::PhishingBlocklist => parts.phishing = Some(Arc::new(block_out)),
        SourceKind::MalwareBlocklist => parts.malware = Some(Arc::new(block_out)),
        SourceKind::GeoIp => parts.geo = Some(Arc::new(mmdb_out)),
        SourceKind::Asn => parts.asn = Some(Arc::new(asn_out)),
        SourceKind::HostingAsns => parts.hosting_asns = Some(Arc::new(asns_out)),
        SourceKind::BotAgents => {
            let matcher = AhoCorasick::builder().ascii_case_insensitive(true).build(&agents_out).map_err(|e| {
                IntelError::data(files.first().map_or(Path::new(""), |s| s.path.as_path()), None, "bad patterns")
                    .with_source(e)
            })?;
            parts.bot_agents = Some(Arc::new(matcher));
        }
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}
