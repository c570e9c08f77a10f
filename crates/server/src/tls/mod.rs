//! TLS termination: a certificate chain and private key from PEM files,
//! checked against each other, served through a resolver that a reload can
//! swap while connections are open.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, InconsistentKeys, RootCertStore, ServerConfig};

/// A request extension on every request that arrived over TLS terminated by
/// this service (the gateway then tells upstreams `X-Forwarded-Proto: https`).
#[derive(Debug, Clone, Copy)]
pub struct Tls;

/// Which of the two PEM files a [`TlsError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PemFile {
    /// The certificate chain.
    Certificate,
    /// The private key.
    Key,
}

/// Why a certificate and key cannot be served. Messages name the file and
/// never contain key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The file cannot be opened or read.
    #[error("cannot read {}: {error}", path.display())]
    Read { file: PemFile, path: PathBuf, error: std::io::Error },
    /// The file is not well-formed PEM.
    #[error("{} is not valid PEM: {problem}", path.display())]
    Malformed { file: PemFile, path: PathBuf, problem: String },
    /// No `CERTIFICATE` block in the certificate file.
    #[error("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----, the leaf first)", path.display())]
    NoCertificate { path: PathBuf },
    /// No private key block in the key file.
    #[error("{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)", path.display())]
    NoKey { path: PathBuf },
    /// The key parses as PEM but not as a key rustls can sign with.
    #[error("{}: unsupported private key: {reason}", path.display())]
    UnsupportedKey { path: PathBuf, reason: String },
    /// The leaf certificate cannot be parsed.
    #[error("{}: the leaf certificate cannot be used: {reason}", path.display())]
    BadCertificate { path: PathBuf, reason: String },
    /// The private key is not the one the leaf certificate was issued for.
    #[error("{}: the private key does not match the certificate in {}", key.display(), cert.display())]
    KeyMismatch { key: PathBuf, cert: PathBuf },
}

impl TlsError {
    /// The file to fix.
    pub fn file(&self) -> PemFile {
        match self {
            TlsError::Read { file, .. } | TlsError::Malformed { file, .. } => *file,
            TlsError::NoCertificate { .. } | TlsError::BadCertificate { .. } => PemFile::Certificate,
            TlsError::NoKey { .. } | TlsError::UnsupportedKey { .. } | TlsError::KeyMismatch { .. } => PemFile::Key,
        }
    }
}

/// A certificate chain with the private key of its leaf, loaded and checked.
#[derive(Clone)]
pub struct TlsCertificate {
    key: Arc<CertifiedKey>,
}

impl fmt::Debug for TlsCertificate {
    // rustls's own Debug would print the certificates; the key never.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsCertificate").field("chain_len", &self.key.cert.len()).finish_non_exhaustive()
    }
}

impl TlsCertificate {
    /// Reads `cert_file` (PEM certificates, the leaf first, then its chain)
    /// and `key_file` (a PEM PKCS#8, PKCS#1 or SEC1 private key), and checks
    /// that the key belongs to the leaf.
    pub fn from_pem_files(cert_file: &Path, key_file: &Path) -> Result<TlsCertificate, TlsError> {
        let chain = read_chain(cert_file)?;
        let key = read_key(key_file)?;
        let signing_key = provider()
            .key_provider
            .load_private_key(key)
            .map_err(|e| TlsError::UnsupportedKey { path: key_file.to_owned(), reason: e.to_string() })?;
        let certified = CertifiedKey::new(chain, signing_key);
        match certified.keys_match() {
            // aws-lc-rs keys always know their public key; like rustls, an
            // unknown answer is not a mismatch.
            Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => {}
            Err(rustls::Error::InconsistentKeys(_)) => {
                return Err(TlsError::KeyMismatch { key: key_file.to_owned(), cert: cert_file.to_owned() });
            }
            Err(e) => return Err(TlsError::BadCertificate { path: cert_file.to_owned(), reason: e.to_string() }),
        }
        Ok(TlsCertificate { key: Arc::new(certified) })
    }
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |e| pem_error(PemFile::Certificate, path, e);
    let chain = CertificateDer::pem_file_iter(path).map_err(error)?.collect::<Result<Vec<_>, _>>().map_err(error)?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: path.to_owned() });
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::NoKey { path: path.to_owned() },
        e => pem_error(PemFile::Key, path, e),
    })
}

fn pem_error(file: PemFile, path: &Path, error: pem::Error) -> TlsError {
    let path = path.to_owned();
    match error {
        pem::Error::Io(error) => TlsError::Read { file, path, error },
        // Decoding problems are described without the offending bytes: in a
        // key file those would be key material.
        pem::Error::Base64Decode(_) => TlsError::Malformed { file, path, problem: "bad base64".into() },
        pem::Error::MissingSectionEnd { .. } => {
            TlsError::Malformed { file, path, problem: "a block has no END line".into() }
        }
        pem::Error::IllegalSectionStart { .. } => {
            TlsError::Malformed { file, path, problem: "a BEGIN line is malformed".into() }
        }
        other => TlsError::Malformed { file, path, problem: other.to_string() },
    }
}

/// The TLS client settings for a gateway route's https upstreams: the
/// certificates of `ca_file` as the only trust roots when given (a private
/// CA), else the system's. The error says which file or why.
pub fn upstream_client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let Some(path) = ca_file else {
        // Read once per process and shared by every route that names no CA.
        return SYSTEM_ROOTS.get_or_init(system_roots_config).clone();
    };
    let mut roots = RootCertStore::empty();
    for cert in read_chain(path).map_err(|e| e.to_string())? {
        roots.add(cert).map_err(|e| format!("{}: not a usable CA certificate: {e}", path.display()))?;
    }
    client_config(roots)
}

/// The client settings over the system's trust roots (or why there are none).
static SYSTEM_ROOTS: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();

fn system_roots_config() -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if added == 0 {
        return Err("no system trust roots were found; name the upstream's CA in upstream_ca_file".into());
    }
    client_config(roots)
}

fn client_config(roots: RootCertStore) -> Result<Arc<ClientConfig>, String> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// aws-lc-rs with rustls's defaults (TLS 1.2 and 1.3, its cipher suites),
/// passed explicitly rather than installed process-wide.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The certificate being served. Each handshake reads it with one lock-free
/// load; [`CertificateResolver::replace`] swaps in a new one for the
/// connections that follow, while open ones keep theirs.
pub struct CertificateResolver {
    current: ArcSwap<CertifiedKey>,
}

impl fmt::Debug for CertificateResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateResolver").finish_non_exhaustive()
    }
}

impl CertificateResolver {
    /// Starts serving `certificate`.
    pub fn new(certificate: TlsCertificate) -> CertificateResolver {
        CertificateResolver { current: ArcSwap::new(certificate.key) }
    }

    /// Serves `certificate` from the next handshake on.
    pub fn replace(&self, certificate: TlsCertificate) {
        self.current.store(certificate.key);
    }

    /// The server side of rustls: no client certificates, ALPN `h2` then
    /// `http/1.1`.
    pub(crate) fn server_config(self: &Arc<Self>) -> Result<ServerConfig, rustls::Error> {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

impl ResolvesServerCert for CertificateResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

#[cfg(test)]
mod tests;
