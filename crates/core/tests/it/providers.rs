//! The provider conformance suite, written once and run for `local` and `file`
//! (PKCS#11 has its own module because it needs an HSM token per test).

use std::sync::Arc;

use portcullis_core::keys::{FileProvider, KeyErrorKind, KeyProvider, LocalProvider};
use portcullis_core::master_key::MasterKeyring;
use portcullis_jose::{Algorithm, KeySet, SigningKey, Validation};
use portcullis_store::KeyVersion;
use serde_json::json;

/// What the manager stores for a freshly created key.
pub fn record(
    provider: &dyn KeyProvider,
    alg: Algorithm,
    kid: &str,
    created: portcullis_core::keys::NewKey,
) -> KeyVersion {
    KeyVersion {
        keyring: "jwt".into(),
        key_name: "k".into(),
        version: 1,
        kid: kid.into(),
        algorithm: alg.as_str().into(),
        provider: provider.name().into(),
        public_jwk: created.public_jwk.map(|j| serde_json::to_string(&j).unwrap()),
        sealed_material: created.sealed_material,
        provider_ref: created.provider_ref,
        created_at: 0,
        retire_at: None,
    }
}

/// Create → load → sign → verify with the published key; tampering fails.
pub async fn creates_keys_that_sign_and_verify(provider: &dyn KeyProvider, alg: Algorithm) {
    let kid = format!("kid-{alg}");
    let created = provider.create(alg, &kid).await.unwrap();
    if alg.is_symmetric() {
        assert!(created.public_jwk.is_none(), "HMAC keys are never published");
    } else {
        let jwk = created.public_jwk.as_ref().unwrap();
        assert_eq!(jwk.kid.as_deref(), Some(kid.as_str()));
        assert!(jwk.d.is_none() && jwk.k.is_none(), "no private members in the public JWK");
    }
    let version = record(provider, alg, &kid, created);
    let loaded = provider.load(&version).await.unwrap();
    assert_eq!(loaded.signer.algorithm(), alg);
    let token = portcullis_jose::encode(loaded.signer.as_ref(), Some(&kid), &json!({"sub": "1", "exp": 2_000_000_000}))
        .unwrap();
    let keys = KeySet::new(vec![loaded.verifying.clone()]);
    let verified = portcullis_jose::decode(&token, &keys, &Validation::default(), 1_700_000_000).unwrap();
    assert_eq!(verified.claims()["sub"], "1");
    let mut tampered = token.into_bytes();
    let i = tampered.len() - 5;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(portcullis_jose::decode(&tampered, &keys, &Validation::default(), 1_700_000_000).is_err());
}

mod local {
    use super::*;

    fn provider() -> (tempfile::TempDir, LocalProvider) {
        let dir = tempfile::tempdir().unwrap();
        let (ring, _) = MasterKeyring::load_or_create(&dir.path().join("master.key")).unwrap();
        (dir, LocalProvider::new(Arc::new(ring)))
    }

    #[tokio::test]
    async fn every_algorithm_signs_and_verifies() {
        let (_dir, p) = provider();
        for alg in Algorithm::ALL {
            creates_keys_that_sign_and_verify(&p, alg).await;
        }
    }

    #[tokio::test]
    async fn sealed_material_is_bound_to_its_kid() {
        let (_dir, p) = provider();
        let created = p.create(Algorithm::ES256, "a").await.unwrap();
        let mut version = record(&p, Algorithm::ES256, "a", created);
        version.kid = "b".into();
        let err = p.load(&version).await.unwrap_err();
        assert_eq!(err.kind(), KeyErrorKind::Sealing);
    }

    #[tokio::test]
    async fn another_master_key_cannot_open_the_key() {
        let (_dir, p) = provider();
        let created = p.create(Algorithm::EdDSA, "a").await.unwrap();
        let version = record(&p, Algorithm::EdDSA, "a", created);
        let (_other_dir, other) = provider();
        assert_eq!(other.load(&version).await.unwrap_err().kind(), KeyErrorKind::Sealing);
    }
}

mod file {
    use super::*;

    fn write_key(dir: &std::path::Path, alg: Algorithm, as_jwk: bool) -> std::path::PathBuf {
        let key = SigningKey::generate(alg).unwrap();
        let path = dir.join(if as_jwk { "key.jwk" } else { "key.pem" });
        if as_jwk || alg.is_symmetric() {
            std::fs::write(&path, serde_json::to_string(&key.to_jwk().unwrap()).unwrap()).unwrap();
        } else {
            std::fs::write(&path, key.to_pem().unwrap().as_bytes()).unwrap();
        }
        path
    }

    #[tokio::test]
    async fn pem_and_jwk_files_sign_and_verify() {
        for alg in [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
            for as_jwk in [false, true] {
                let dir = tempfile::tempdir().unwrap();
                let p = FileProvider::new(write_key(dir.path(), alg, as_jwk));
                creates_keys_that_sign_and_verify(&p, alg).await;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let p = FileProvider::new(write_key(dir.path(), Algorithm::HS256, true));
        creates_keys_that_sign_and_verify(&p, Algorithm::HS256).await;
    }

    #[tokio::test]
    async fn nothing_private_is_stored_for_a_file_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = FileProvider::new(write_key(dir.path(), Algorithm::ES256, false));
        let created = p.create(Algorithm::ES256, "f").await.unwrap();
        assert!(created.sealed_material.is_none());
        assert!(created.provider_ref.is_some());
    }

    #[tokio::test]
    async fn a_replaced_file_no_longer_loads_the_old_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_key(dir.path(), Algorithm::ES256, false);
        let p = FileProvider::new(&path);
        let version = record(&p, Algorithm::ES256, "f", p.create(Algorithm::ES256, "f").await.unwrap());
        std::fs::remove_file(&path).unwrap();
        write_key(dir.path(), Algorithm::ES256, false);
        assert_eq!(p.load(&version).await.unwrap_err().kind(), KeyErrorKind::NotFound);
    }

    #[tokio::test]
    async fn a_key_of_the_wrong_family_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = FileProvider::new(write_key(dir.path(), Algorithm::ES256, false));
        assert_eq!(p.create(Algorithm::RS256, "x").await.unwrap_err().kind(), KeyErrorKind::InvalidKey);
    }
}

mod pkcs11 {
    use super::*;
    use crate::pkcs11::SoftHsmToken;

    #[tokio::test]
    async fn every_asymmetric_algorithm_signs_and_verifies_inside_the_hsm() {
        let token = SoftHsmToken::new();
        let p = token.provider();
        for alg in Algorithm::ALL.into_iter().filter(|a| !a.is_symmetric()) {
            creates_keys_that_sign_and_verify(&p, alg).await;
        }
    }
}
