use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// Runs the `openssl` CLI in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("the openssl CLI is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A self-signed certificate `<name>.crt` with its PKCS#8 key `<name>.key`.
fn self_signed(dir: &Path, name: &str, key: &str) -> (PathBuf, PathBuf) {
    let (cert, private) = (format!("{name}.crt"), format!("{name}.key"));
    let mut args = vec!["req", "-x509", "-newkey", key];
    if key == "ec" {
        args.extend(["-pkeyopt", "ec_paramgen_curve:P-256"]);
    }
    args.extend(["-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", &private, "-out", &cert]);
    openssl(dir, &args);
    (dir.join(cert), dir.join(private))
}

#[test]
fn a_certificate_loads_with_its_pkcs8_pkcs1_or_sec1_key() {
    let dir = tempfile::tempdir().unwrap();
    let (ec_cert, pkcs8) = self_signed(dir.path(), "ec", "ec");
    TlsCertificate::from_pem_files(&ec_cert, &pkcs8).unwrap();
    openssl(dir.path(), &["ec", "-in", "ec.key", "-out", "sec1.key"]);
    assert!(std::fs::read_to_string(dir.path().join("sec1.key")).unwrap().starts_with("-----BEGIN EC PRIVATE KEY"));
    TlsCertificate::from_pem_files(&ec_cert, &dir.path().join("sec1.key")).unwrap();
    let (rsa_cert, _) = self_signed(dir.path(), "rsa", "rsa:2048");
    openssl(dir.path(), &["rsa", "-in", "rsa.key", "-traditional", "-out", "pkcs1.key"]);
    assert!(std::fs::read_to_string(dir.path().join("pkcs1.key")).unwrap().starts_with("-----BEGIN RSA PRIVATE KEY"));
    TlsCertificate::from_pem_files(&rsa_cert, &dir.path().join("pkcs1.key")).unwrap();
}

#[test]
fn the_leaf_and_its_chain_are_all_served() {
    let dir = tempfile::tempdir().unwrap();
    let (leaf, key) = self_signed(dir.path(), "leaf", "ec");
    let (issuer, _) = self_signed(dir.path(), "issuer", "ec");
    let chain = dir.path().join("chain.pem");
    let text = std::fs::read_to_string(&leaf).unwrap() + &std::fs::read_to_string(&issuer).unwrap();
    std::fs::write(&chain, text).unwrap();
    let loaded = TlsCertificate::from_pem_files(&chain, &key).unwrap();
    assert_eq!(loaded.key.cert.len(), 2);
}

#[test]
fn a_missing_file_is_a_read_error_about_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "a", "ec");
    let nowhere = dir.path().join("nowhere.pem");
    let e = TlsCertificate::from_pem_files(&nowhere, &key).unwrap_err();
    assert!(matches!(e, TlsError::Read { file: PemFile::Certificate, .. }), "{e:?}");
    assert!(e.to_string().contains("nowhere.pem"), "{e}");
    let e = TlsCertificate::from_pem_files(&cert, &nowhere).unwrap_err();
    assert!(matches!(e, TlsError::Read { file: PemFile::Key, .. }), "{e:?}");
}

#[test]
fn a_certificate_file_without_a_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = self_signed(dir.path(), "a", "ec");
    let e = TlsCertificate::from_pem_files(&key, &key).unwrap_err();
    assert!(matches!(e, TlsError::NoCertificate { .. }), "{e:?}");
    assert_eq!(e.file(), PemFile::Certificate);
}

#[test]
fn a_key_file_without_a_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = self_signed(dir.path(), "a", "ec");
    let e = TlsCertificate::from_pem_files(&cert, &cert).unwrap_err();
    assert!(matches!(e, TlsError::NoKey { .. }), "{e:?}");
    assert_eq!(e.file(), PemFile::Key);
}

#[test]
fn the_key_of_another_certificate_is_a_mismatch_blamed_on_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = self_signed(dir.path(), "a", "ec");
    let (_, other_key) = self_signed(dir.path(), "b", "ec");
    let e = TlsCertificate::from_pem_files(&cert, &other_key).unwrap_err();
    assert!(matches!(e, TlsError::KeyMismatch { .. }), "{e:?}");
    assert_eq!(e.file(), PemFile::Key);
    assert!(e.to_string().contains("b.key: the private key does not match the certificate in"), "{e}");
    let (_, rsa_key) = self_signed(dir.path(), "c", "rsa:2048");
    let e = TlsCertificate::from_pem_files(&cert, &rsa_key).unwrap_err();
    assert!(matches!(e, TlsError::KeyMismatch { .. }), "{e:?}");
}

#[test]
fn a_truncated_key_is_malformed_and_the_error_quotes_none_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "a", "ec");
    let text = std::fs::read_to_string(&key).unwrap();
    let body: Vec<&str> = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let truncated = dir.path().join("truncated.key");
    std::fs::write(&truncated, text.lines().take(2).collect::<Vec<_>>().join("\n")).unwrap();
    let e = TlsCertificate::from_pem_files(&cert, &truncated).unwrap_err();
    assert!(matches!(e, TlsError::Malformed { file: PemFile::Key, .. }), "{e:?}");
    let shown = format!("{e} {e:?}");
    assert!(body.iter().all(|line| !shown.contains(line)), "{shown}");
}

#[test]
fn a_replaced_certificate_is_served_from_the_next_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_a, key_a) = self_signed(dir.path(), "a", "ec");
    let (cert_b, key_b) = self_signed(dir.path(), "b", "ec");
    let first = TlsCertificate::from_pem_files(&cert_a, &key_a).unwrap();
    let second = TlsCertificate::from_pem_files(&cert_b, &key_b).unwrap();
    let resolver = Arc::new(CertificateResolver::new(first.clone()));
    assert!(Arc::ptr_eq(&resolver.current.load_full(), &first.key));
    resolver.replace(second.clone());
    assert!(Arc::ptr_eq(&resolver.current.load_full(), &second.key));
    let config = resolver.server_config().unwrap();
    assert_eq!(config.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
}
