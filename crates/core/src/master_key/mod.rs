//! The master key: envelope encryption of secrets at rest (AES-256-GCM).
//!
//! Private key material of the `local` provider is sealed under the master key
//! before it reaches the database. Every sealed blob records which master key
//! sealed it, so the key can be rotated: a [`MasterKeyring`] holds the current
//! key (which seals) and previous keys (which still open old blobs).
//!
//! Sealed blob layout:
//!
//! ```text
//! b"PCS1" || key id (16 ASCII hex bytes) || nonce (12 random bytes) || ciphertext || tag (16 bytes)
//! ```
//!
//! The AEAD's additional data is the 20-byte header followed by the caller's
//! `aad` (for key material: the version's `kid`), so a blob cannot be moved to
//! another row or have its key id swapped without failing to open.
//!
//! Key file (`DATA_DIR/master.key`, mode 0600): one `v1:<base64 of 32 bytes>`
//! per line, the current key first, then previous keys still needed.
//!
//! Rotation, crash-safe at every step (some key in the file always opens every
//! blob):
//! 1. `ring.rotated()?.write_file(path)` — new current key, old keys kept;
//! 2. for every `store.sealed_key_versions()` blob with `needs_reseal`:
//!    `ring.reseal(blob, kid)` and `store.reseal_key_version(kid, new_blob)`;
//! 3. re-list, check no blob `needs_reseal`, then
//!    `ring.without_previous().write_file(path)`.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::secret::Secret;

/// Length of a master key in bytes (AES-256).
pub const KEY_LEN: usize = 32;

const MAGIC: &[u8; 4] = b"PCS1";
const ID_LEN: usize = 16;
const HEADER_LEN: usize = MAGIC.len() + ID_LEN;
const TAG_LEN: usize = 16;
const LINE_PREFIX: &str = "v1:";

/// One AES-256 master key. Zeroed on drop; `Debug` shows only its id.
#[derive(Clone)]
pub struct MasterKey {
    key: Zeroizing<[u8; KEY_LEN]>,
    id: String,
}

impl MasterKey {
    /// A new random key.
    pub fn generate() -> Result<MasterKey, MasterKeyError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        aws_lc_rs::rand::fill(key.as_mut()).map_err(|_| MasterKeyError::Crypto("generating a random key"))?;
        Ok(MasterKey::from_array(key))
    }

    /// A key from exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, MasterKeyError> {
        let array: [u8; KEY_LEN] = bytes.try_into().map_err(|_| MasterKeyError::KeyLength(bytes.len()))?;
        Ok(MasterKey::from_array(Zeroizing::new(array)))
    }

    fn from_array(key: Zeroizing<[u8; KEY_LEN]>) -> MasterKey {
        let hash = digest(&SHA256, key.as_ref());
        let id = hash.as_ref()[..ID_LEN / 2].iter().map(|b| format!("{b:02x}")).collect();
        MasterKey { key, id }
    }

    /// The key id: hex of the first 8 bytes of SHA-256 over the key (16 chars).
    /// Safe to log.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key-file line `v1:<base64>`.
    fn to_line(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{LINE_PREFIX}{}", STANDARD.encode(self.key.as_ref())))
    }

    fn aead(&self) -> Result<RandomizedNonceKey, MasterKeyError> {
        RandomizedNonceKey::new(&AES_256_GCM, self.key.as_ref()).map_err(|_| MasterKeyError::Crypto("loading the key"))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).field("key", &"[REDACTED]").finish()
    }
}

/// The current master key (seals) and previous keys (only open).
#[derive(Debug, Clone)]
pub struct MasterKeyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl MasterKeyring {
    /// A ring from its keys. Previous keys that repeat the current key or each
    /// other are dropped.
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> MasterKeyring {
        let mut ring = MasterKeyring { current, previous: Vec::with_capacity(previous.len()) };
        for key in previous {
            if ring.key(key.id()).is_none() {
                ring.previous.push(key);
            }
        }
        ring
    }

    /// A ring with a new random key and no previous keys.
    pub fn generate() -> Result<MasterKeyring, MasterKeyError> {
        Ok(MasterKeyring::new(MasterKey::generate()?, Vec::new()))
    }

    /// The key that seals.
    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// Keys that still open blobs sealed before a rotation.
    pub fn previous(&self) -> &[MasterKey] {
        &self.previous
    }

    /// Whether the ring holds the key with `id` (current or previous), i.e.
    /// can open blobs sealed under it.
    pub fn can_open_key_id(&self, id: &str) -> bool {
        self.key(id).is_some()
    }

    /// The key with `id`, current or previous.
    fn key(&self, id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.current).chain(&self.previous).find(|k| k.id() == id)
    }

    /// Loads the key file at `path`, or creates it with a new random key when
    /// it does not exist (and its directory, mode 0700). Returns whether it was
    /// created.
    ///
    /// Refuses a file that group or others can access (like ssh does) and
    /// malformed content, naming the path and line. Creation is atomic and
    /// exclusive: of several processes starting at once, one writes the file
    /// and the others load it.
    pub fn load_or_create(path: &Path) -> Result<(MasterKeyring, bool), MasterKeyError> {
        match MasterKeyring::load(path) {
            Err(MasterKeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            other => return other.map(|ring| (ring, false)),
        }
        if let Some(dir) = parent_dir(path) {
            create_private_dir(dir).map_err(|source| MasterKeyError::io(dir, "creating directory", source))?;
        }
        let ring = MasterKeyring::generate()?;
        match write_atomically(path, &ring.to_file_contents(), Replace::No) {
            Ok(()) => Ok((ring, true)),
            // Another process created it first: use theirs.
            Err(MasterKeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                MasterKeyring::load(path).map(|ring| (ring, false))
            }
            Err(e) => Err(e),
        }
    }

    /// Loads the key file at `path` (see [`MasterKeyring::load_or_create`]).
    pub fn load(path: &Path) -> Result<MasterKeyring, MasterKeyError> {
        let file = std::fs::File::open(path).map_err(|source| MasterKeyError::io(path, "opening", source))?;
        check_private(path, &file)?;
        let mut contents = Zeroizing::new(String::new());
        std::io::Read::read_to_string(&mut &file, &mut contents)
            .map_err(|source| MasterKeyError::io(path, "reading", source))?;
        parse_ring(&contents, &path.display().to_string(), false)
    }

    /// A ring from configuration (`master_key = "env:…"` etc.): the base64 of
    /// 32 bytes, or key-file lines (`v1:<base64>`, current first).
    pub fn from_secret(secret: &Secret) -> Result<MasterKeyring, MasterKeyError> {
        let text = secret.expose_str().ok_or_else(|| MasterKeyError::Malformed {
            origin: "configured master key".to_owned(),
            line: 1,
            problem: "not UTF-8 text".to_owned(),
        })?;
        parse_ring(text, "configured master key", true)
    }

    /// Writes the ring to `path` in the key-file format, atomically (temporary
    /// file + rename) with mode 0600, replacing any existing file.
    pub fn write_file(&self, path: &Path) -> Result<(), MasterKeyError> {
        write_atomically(path, &self.to_file_contents(), Replace::Yes)
    }

    /// Rotation step 1: a ring with a new random current key; the old current
    /// and previous keys become previous keys.
    pub fn rotated(&self) -> Result<MasterKeyring, MasterKeyError> {
        let mut previous = Vec::with_capacity(self.previous.len() + 1);
        previous.push(self.current.clone());
        previous.extend(self.previous.iter().cloned());
        Ok(MasterKeyring::new(MasterKey::generate()?, previous))
    }

    /// Rotation's last step: the current key alone, once no blob needs an old key.
    pub fn without_previous(&self) -> MasterKeyring {
        MasterKeyring::new(self.current.clone(), Vec::new())
    }

    fn to_file_contents(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::new());
        for key in std::iter::once(&self.current).chain(&self.previous) {
            out.push_str(&key.to_line());
            out.push('\n');
        }
        out
    }

    /// Encrypts `plaintext` under the current key. `aad` binds the blob to its
    /// context (e.g. the key version's `kid`): opening needs the same `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, MasterKeyError> {
        let header = header(self.current.id());
        let mut body = Vec::with_capacity(plaintext.len() + TAG_LEN);
        body.extend_from_slice(plaintext);
        let nonce = self
            .current
            .aead()?
            .seal_in_place_append_tag(Aad::from(full_aad(&header, aad)), &mut body)
            .map_err(|_| MasterKeyError::Crypto("sealing"))?;
        let mut blob = Vec::with_capacity(HEADER_LEN + NONCE_LEN + body.len());
        blob.extend_from_slice(&header);
        blob.extend_from_slice(nonce.as_ref());
        blob.extend_from_slice(&body);
        Ok(blob)
    }

    /// Decrypts a blob from [`MasterKeyring::seal`] with whichever key of the
    /// ring sealed it.
    pub fn open(&self, blob: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, MasterKeyError> {
        let id = MasterKeyring::sealed_key_id(blob).ok_or(MasterKeyError::NotSealed)?;
        let key = self.key(id).ok_or_else(|| MasterKeyError::UnknownKeyId(id.to_owned()))?;
        let rest = &blob[HEADER_LEN..];
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(MasterKeyError::NotSealed);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| MasterKeyError::NotSealed)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let plaintext_len = key
            .aead()?
            .open_in_place(nonce, Aad::from(full_aad(&blob[..HEADER_LEN], aad)), &mut buf)
            .map_err(|_| MasterKeyError::Authentication)?
            .len();
        buf.truncate(plaintext_len);
        Ok(buf)
    }

    /// Opens `blob` and seals it again under the current key; `None` when it
    /// already is (rotation step 2).
    pub fn reseal(&self, blob: &[u8], aad: &[u8]) -> Result<Option<Vec<u8>>, MasterKeyError> {
        if !self.needs_reseal(blob) {
            return Ok(None);
        }
        let plaintext = self.open(blob, aad)?;
        self.seal(&plaintext, aad).map(Some)
    }

    /// The id of the key that sealed `blob`, or `None` if it is not a sealed blob.
    pub fn sealed_key_id(blob: &[u8]) -> Option<&str> {
        let header = blob.get(..HEADER_LEN)?;
        if &header[..MAGIC.len()] != MAGIC {
            return None;
        }
        let id = std::str::from_utf8(&header[MAGIC.len()..]).ok()?;
        id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)).then_some(id)
    }

    /// Whether `blob` is not sealed under the current key (sealed under a
    /// previous key, or not a sealed blob at all — which opening will report).
    pub fn needs_reseal(&self, blob: &[u8]) -> bool {
        MasterKeyring::sealed_key_id(blob) != Some(self.current.id())
    }
}

fn header(id: &str) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..MAGIC.len()].copy_from_slice(MAGIC);
    header[MAGIC.len()..].copy_from_slice(id.as_bytes());
    header
}

fn full_aad(header: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(header.len() + aad.len());
    full.extend_from_slice(header);
    full.extend_from_slice(aad);
    full
}

/// Parses key-file lines; `bare_base64` also accepts lines without `v1:`.
/// Errors name `origin` and the line, never the line's content.
fn parse_ring(text: &str, origin: &str, bare_base64: bool) -> Result<MasterKeyring, MasterKeyError> {
    let mut keys = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let malformed = |problem: &str| MasterKeyError::Malformed {
            origin: origin.to_owned(),
            line: index + 1,
            problem: problem.to_owned(),
        };
        let encoded = match line.strip_prefix(LINE_PREFIX) {
            Some(encoded) => encoded,
            None if bare_base64 && !line.contains(':') => line,
            None => return Err(malformed("expected `v1:<base64 of 32 bytes>`")),
        };
        let bytes = Zeroizing::new(STANDARD.decode(encoded).map_err(|_| malformed("invalid base64"))?);
        let key = MasterKey::from_bytes(&bytes)
            .map_err(|_| malformed(&format!("the key is {} bytes, expected {KEY_LEN}", bytes.len())))?;
        keys.push(key);
    }
    let mut keys = keys.into_iter();
    let current = keys.next().ok_or_else(|| MasterKeyError::Malformed {
        origin: origin.to_owned(),
        line: 1,
        problem: "no key found".to_owned(),
    })?;
    Ok(MasterKeyring::new(current, keys.collect()))
}

fn parent_dir(path: &Path) -> Option<&Path> {
    path.parent().filter(|p| !p.as_os_str().is_empty())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Refuses a key file that group or others may access.
#[cfg(unix)]
fn check_private(path: &Path, file: &std::fs::File) -> Result<(), MasterKeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = file.metadata().map_err(|source| MasterKeyError::io(path, "inspecting", source))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(MasterKeyError::Permissions { path: path.to_owned(), mode: mode & 0o777 });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _file: &std::fs::File) -> Result<(), MasterKeyError> {
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Replace {
    /// Fail with `AlreadyExists` if `path` exists.
    No,
    /// Replace `path` atomically.
    Yes,
}

/// Writes `contents` to a temporary file (mode 0600) beside `path`, flushes it
/// to disk, then moves it into place: a reader sees the old file or the whole
/// new one, never a part.
fn write_atomically(path: &Path, contents: &str, replace: Replace) -> Result<(), MasterKeyError> {
    let dir = parent_dir(path).unwrap_or(Path::new("."));
    let mut suffix = [0u8; 8];
    aws_lc_rs::rand::fill(&mut suffix).map_err(|_| MasterKeyError::Crypto("naming a temporary file"))?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = dir.join(format!(".{file_name}.tmp-{suffix}"));

    let result = write_new_private(&tmp, contents).and_then(|()| match replace {
        Replace::Yes => std::fs::rename(&tmp, path).map_err(|source| MasterKeyError::io(path, "replacing", source)),
        // A hard link fails if `path` exists, unlike rename: exclusive creation
        // of a file that is complete from its first moment.
        Replace::No => std::fs::hard_link(&tmp, path).map_err(|source| MasterKeyError::io(path, "creating", source)),
    });
    if result.is_err() || replace == Replace::No {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    // Make the new directory entry durable too.
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn write_new_private(path: &Path, contents: &str) -> Result<(), MasterKeyError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| MasterKeyError::io(path, "creating", source))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| MasterKeyError::io(path, "writing", source))
}

/// Why the master key or a sealed blob could not be used. Never contains key
/// material or plaintext.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MasterKeyError {
    /// A file operation failed.
    #[error("master key: {action} {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The key file is accessible by group or others.
    #[error(
        "master key file {} is accessible by group or others (mode {mode:04o}); \
         it must be readable by its owner only: chmod 600 {}",
        path.display(),
        path.display()
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file or configured key is not in the expected format.
    #[error("{origin} line {line}: {problem}")]
    Malformed {
        /// The file path, or "configured master key".
        origin: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong (never the line's content).
        problem: String,
    },
    /// A key of the wrong length.
    #[error("a master key is {KEY_LEN} bytes, got {0}")]
    KeyLength(usize),
    /// The data is not a sealed blob (wrong prefix or too short).
    #[error("not a sealed blob (expected the PCS1 format)")]
    NotSealed,
    /// The blob was sealed under a key that is not in the ring.
    #[error(
        "sealed under master key {0}, which is not in the master keyring \
         (was the master key replaced, or a previous key dropped too early?)"
    )]
    UnknownKeyId(String),
    /// Decryption failed: wrong context (AAD), or the blob was altered.
    #[error("sealed data failed authentication: it was altered or belongs to another context")]
    Authentication,
    /// The crypto library failed (should not happen).
    #[error("crypto failure while {0}")]
    Crypto(&'static str),
}

impl MasterKeyError {
    fn io(path: &Path, action: &'static str, source: std::io::Error) -> MasterKeyError {
        MasterKeyError::Io { path: path.to_owned(), action, source }
    }
}

#[cfg(test)]
mod tests;
