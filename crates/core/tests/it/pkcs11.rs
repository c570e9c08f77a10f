//! The `pkcs11` key provider against SoftHSM2 (`.ci/softhsm.sh` installs it):
//! keys are generated in the token, sign there, and never come out.
//!
//! Every test initialises its own token with a unique label and deletes it
//! when done, so tests share no state and may run in parallel.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use portcullis_core::keys::pkcs11::{Pkcs11Config, Pkcs11Provider};
use portcullis_core::keys::{KeyError, KeyErrorKind, KeyProvider, NewKey};
use portcullis_core::secret::Secret;
use portcullis_jose::{Algorithm, Jwk, JwkSet, KeySet, Validation};
use portcullis_store::KeyVersion;
use serde_json::json;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN of every test token.
pub const USER_PIN: &str = "user-pin-4711";
const SO_PIN: &str = "so-pin-0815";
const NOW: i64 = 1_710_072_000;

/// A SoftHSM2 token of its own for one test, deleted on drop (also when the
/// test fails), and a SoftHSM2 instance of its own to reach it through.
///
/// SoftHSM2 reads its token directory once, in `C_Initialize`, and the module
/// is one instance per process however often it is opened, so a token made
/// by `softhsm2-util` after the first test opened the module would stay
/// invisible to the tests running beside it. Each test therefore loads its
/// own copy of the module file (a separate instance with its own state),
/// after its token exists.
///
/// The token is made by `softhsm2-util --init-token --free` in a private
/// staging directory next to the system token directory, moved into it with
/// one `rename`, and on drop moved out again before it is deleted, so the
/// shared directory never holds a half-made or half-deleted token for another
/// test's SoftHSM2 or `softhsm2-util` to trip over.
pub struct SoftHsmToken {
    /// The token's label.
    pub label: String,
    /// Its directory under the system token directory.
    dir: PathBuf,
    /// This test's copy of the module.
    module: PathBuf,
    _module_dir: tempfile::TempDir,
}

impl SoftHsmToken {
    /// A fresh token labelled `portcullis-test-<pid>-<random>` with the user
    /// PIN `USER_PIN`, in the system SoftHSM2 configuration.
    pub fn new() -> SoftHsmToken {
        assert!(Path::new(MODULE).exists(), "SoftHSM2 is not installed ({MODULE} missing): run .ci/softhsm.sh");
        let mut random = [0u8; 4];
        aws_lc_rs::rand::fill(&mut random).unwrap();
        let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
        // Token labels hold at most 32 bytes.
        let label = format!("portcullis-test-{}-{random}", std::process::id());
        assert!(label.len() <= 32, "token label {label} is too long");

        let (conf, token_dir) = system_config();
        let parent = token_dir.parent().unwrap();
        let staging = tempfile::Builder::new()
            .prefix(".portcullis-staging-")
            .tempdir_in(parent)
            .unwrap_or_else(|e| panic!("cannot create a staging directory in {}: {e}", parent.display()));
        let staging_tokens = staging.path().join("tokens");
        std::fs::create_dir(&staging_tokens).unwrap();
        let staging_conf = staging.path().join("softhsm2.conf");
        let conf = conf
            .lines()
            .filter(|l| !l.trim_start().starts_with("directories.tokendir"))
            .chain([format!("directories.tokendir = {}", staging_tokens.display()).as_str()])
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&staging_conf, conf).unwrap();

        let output = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &staging_conf)
            .args(["--init-token", "--free", "--label", &label, "--pin", USER_PIN, "--so-pin", SO_PIN])
            .output()
            .expect("softhsm2-util runs (install it with .ci/softhsm.sh)");
        assert!(
            output.status.success(),
            "softhsm2-util --init-token failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let made: Vec<_> = std::fs::read_dir(&staging_tokens).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(made.len(), 1, "softhsm2-util made {made:?}");
        let dir = token_dir.join(made[0].file_name().unwrap());
        std::fs::rename(&made[0], &dir)
            .unwrap_or_else(|e| panic!("cannot move the new token into {}: {e}", token_dir.display()));

        let module_dir = tempfile::tempdir().unwrap();
        let module = module_dir.path().join("libsofthsm2.so");
        std::fs::copy(MODULE, &module).unwrap();
        SoftHsmToken { label, dir, module, _module_dir: module_dir }
    }

    /// Provider configuration for this token with `pin` as the user PIN.
    pub fn config(&self, pin: &str) -> Pkcs11Config {
        Pkcs11Config { module: self.module.clone(), token_label: self.label.clone(), pin: Secret::from(pin) }
    }

    /// A provider logged in to this token.
    pub fn provider(&self) -> Pkcs11Provider {
        Pkcs11Provider::open(self.config(USER_PIN)).unwrap()
    }

    /// A session of our own, outside the provider, to look at what the token
    /// holds the way any other PKCS#11 application could.
    fn inspect<T>(&self, look: impl FnOnce(&cryptoki::session::Session) -> T) -> T {
        let pkcs11 = Pkcs11::new(&self.module).unwrap();
        match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => panic!("initialising SoftHSM: {e}"),
        }
        // Other tests' tokens, deleted since this instance started, are unreadable.
        let slot = pkcs11
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| pkcs11.get_token_info(*s).is_ok_and(|info| info.label() == self.label))
            .unwrap();
        let session = pkcs11.open_rw_session(slot).unwrap();
        match session.login(UserType::User, Some(&AuthPin::from(USER_PIN))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => panic!("logging in: {e}"),
        }
        look(&session)
    }
}

impl Drop for SoftHsmToken {
    fn drop(&mut self) {
        // Best effort: a failed clean-up must not hide the test's own result.
        // Out of the shared directory first (atomically), then delete.
        let mut trash = self.dir.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
        trash.push(format!(".portcullis-deleted-{}", self.label));
        if std::fs::rename(&self.dir, &trash).is_ok() {
            let _ = std::fs::remove_dir_all(&trash);
        } else {
            let _ = Command::new("softhsm2-util").args(["--delete-token", "--token", &self.label]).output();
        }
    }
}

/// The system SoftHSM2 configuration (`$SOFTHSM2_CONF` or the Debian default)
/// and its token directory.
fn system_config() -> (String, PathBuf) {
    let path =
        std::env::var_os("SOFTHSM2_CONF").map_or_else(|| PathBuf::from("/etc/softhsm/softhsm2.conf"), PathBuf::from);
    let conf = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the SoftHSM2 configuration {}: {e}", path.display()));
    let token_dir = conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("directories.tokendir"))
        .filter_map(|rest| rest.trim_start().strip_prefix('='))
        .map(|dir| PathBuf::from(dir.trim().trim_end_matches('/')))
        .next_back()
        .unwrap_or_else(|| PathBuf::from("/var/lib/softhsm/tokens"));
    (conf, token_dir)
}

/// The stored record for a key the provider just created.
fn version(kid: &str, alg: Algorithm, new: &NewKey) -> KeyVersion {
    KeyVersion {
        keyring: "jwt".to_owned(),
        key_name: "base-signing-key".to_owned(),
        version: 1,
        kid: kid.to_owned(),
        algorithm: alg.as_str().to_owned(),
        provider: "pkcs11".to_owned(),
        public_jwk: new.public_jwk.as_ref().map(|jwk| serde_json::to_string(jwk).unwrap()),
        sealed_material: new.sealed_material.clone(),
        provider_ref: new.provider_ref.clone(),
        created_at: NOW,
        retire_at: None,
    }
}

fn validation(alg: Algorithm) -> Validation {
    Validation { allowed_algorithms: vec![alg], ..Validation::default() }
}

fn claims() -> serde_json::Value {
    json!({ "iss": "https://portcullis.test", "sub": "42", "iat": NOW, "exp": NOW + 3600, "jti": "j1" })
}

fn keyset(jwk: &Jwk) -> KeySet {
    let (keys, skipped) = KeySet::from_jwk_set(&JwkSet { keys: vec![jwk.clone()] });
    assert!(skipped.is_empty(), "{skipped:?}");
    keys
}

/// Everything an error says, sources included.
fn full_message(e: &KeyError) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(&format!(" / {s}"));
        source = s.source();
    }
    message
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// create → load (through a second provider, as after a restart) → sign a JWT
/// in the token → verify it against the published JWK; a tampered token fails.
async fn round_trip(alg: Algorithm) {
    let token = SoftHsmToken::new();
    let provider = token.provider();
    let kid = format!("base-signing-key-v1-{}", alg.as_str().to_lowercase());

    let new = provider.create(alg, &kid).await.unwrap();
    assert!(new.sealed_material.is_none(), "nothing of the private key leaves the token");
    let jwk = new.public_jwk.clone().unwrap();
    assert_eq!(jwk.kid.as_deref(), Some(kid.as_str()));
    assert_eq!(jwk.alg.as_deref(), Some(alg.as_str()));
    assert_eq!(jwk.use_.as_deref(), Some("sig"));
    assert!(jwk.d.is_none() && jwk.p.is_none() && jwk.q.is_none() && jwk.k.is_none());
    let reference = new.provider_ref.clone().unwrap();
    assert_eq!(reference.len(), 40, "provider_ref is the hex CKA_ID");

    let restarted = token.provider();
    let loaded = restarted.load(&version(&kid, alg, &new)).await.unwrap();
    assert_eq!(loaded.signer.algorithm(), alg);

    let jwt = portcullis_jose::encode(loaded.signer.as_ref(), Some(&kid), &claims()).unwrap();
    let validation = validation(alg);
    let verified = portcullis_jose::decode(&jwt, &keyset(&jwk), &validation, NOW).unwrap();
    assert_eq!(verified.claims()["sub"], "42");
    // The loaded verifying key accepts it too.
    let loaded_keys = KeySet::new(vec![loaded.verifying.clone()]);
    portcullis_jose::decode(&jwt, &loaded_keys, &validation, NOW).unwrap();

    let (head, signature) = jwt.rsplit_once('.').unwrap();
    let mut tampered_sig = signature.to_owned().into_bytes();
    tampered_sig[3] = if tampered_sig[3] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{head}.{}", String::from_utf8(tampered_sig).unwrap());
    assert!(portcullis_jose::decode(&tampered, &keyset(&jwk), &validation, NOW).is_err());
    // A valid signature over other claims does not carry over.
    let other =
        portcullis_jose::encode(loaded.signer.as_ref(), Some(&kid), &json!({"sub": "43", "exp": NOW + 60})).unwrap();
    let swapped = format!("{}.{signature}", other.rsplit_once('.').unwrap().0);
    assert!(portcullis_jose::decode(&swapped, &keyset(&jwk), &validation, NOW).is_err());

    assert_private_key_stays_inside(&token, &provider, &reference).await;
}

/// The private key is never exported: the token marks it sensitive and
/// non-extractable, refuses to show any private component, and refuses to
/// lift either protection.
async fn assert_private_key_stays_inside(token: &SoftHsmToken, provider: &Pkcs11Provider, reference: &str) {
    let protection = provider.protection(reference).await.unwrap();
    assert!(protection.sensitive && !protection.extractable, "{protection:?}");
    assert!(protection.always_sensitive && protection.never_extractable, "{protection:?}");
    assert!(!protection.private_value_readable, "{protection:?}");
    assert!(protection.is_protected());

    let id = hex_decode(reference);
    token.inspect(|session| {
        let keys =
            session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(id.clone())]).unwrap();
        assert_eq!(keys.len(), 1);
        let key = keys[0];
        let flags = session
            .get_attributes(key, &[AttributeType::Sensitive, AttributeType::Extractable, AttributeType::Token])
            .unwrap();
        assert!(flags.contains(&Attribute::Sensitive(true)), "{flags:?}");
        assert!(flags.contains(&Attribute::Extractable(false)), "{flags:?}");
        assert!(flags.contains(&Attribute::Token(true)), "{flags:?}");

        let secrets = [AttributeType::Value, AttributeType::PrivateExponent, AttributeType::Prime1];
        for info in session.get_attribute_info(key, &secrets).unwrap() {
            assert!(
                matches!(info, AttributeInfo::Sensitive | AttributeInfo::TypeInvalid),
                "a private component is readable: {info:?}"
            );
        }
        assert!(
            session.get_attribute_info(key, &secrets).unwrap().iter().any(|i| matches!(i, AttributeInfo::Sensitive))
        );
        let values = session.get_attributes(key, &secrets).unwrap();
        assert!(values.is_empty(), "the token returned private material: {values:?}");

        assert!(session.update_attributes(key, &[Attribute::Extractable(true)]).is_err());
        assert!(session.update_attributes(key, &[Attribute::Sensitive(false)]).is_err());
    });
}

#[tokio::test]
async fn rs256_key_signs_in_the_token_and_verifies_with_its_jwk() {
    round_trip(Algorithm::RS256).await;
}

#[tokio::test]
async fn ps256_key_signs_in_the_token_and_verifies_with_its_jwk() {
    round_trip(Algorithm::PS256).await;
}

#[tokio::test]
async fn es256_key_signs_in_the_token_and_verifies_with_its_jwk() {
    round_trip(Algorithm::ES256).await;
}

#[tokio::test]
async fn es384_key_signs_in_the_token_and_verifies_with_its_jwk() {
    round_trip(Algorithm::ES384).await;
}

#[tokio::test]
async fn eddsa_key_signs_in_the_token_or_is_clearly_unsupported() {
    let token = SoftHsmToken::new();
    let provider = token.provider();
    if provider.supports(Algorithm::EdDSA).await.unwrap() {
        drop(provider);
        drop(token);
        round_trip(Algorithm::EdDSA).await;
    } else {
        let err = provider.create(Algorithm::EdDSA, "ed-1").await.unwrap_err();
        assert_eq!(err.kind(), KeyErrorKind::Provider);
        assert!(err.to_string().contains("EdDSA"), "{err}");
    }
}

#[tokio::test]
async fn rs512_and_ps384_sign_with_their_own_hashes() {
    let token = SoftHsmToken::new();
    let provider = token.provider();
    for alg in [Algorithm::RS384, Algorithm::RS512, Algorithm::PS384, Algorithm::PS512] {
        let kid = format!("k-{}", alg.as_str());
        let new = provider.create(alg, &kid).await.unwrap();
        let loaded = provider.load(&version(&kid, alg, &new)).await.unwrap();
        let jwt = portcullis_jose::encode(loaded.signer.as_ref(), Some(&kid), &claims()).unwrap();
        let jwk = new.public_jwk.unwrap();
        portcullis_jose::decode(&jwt, &keyset(&jwk), &validation(alg), NOW).unwrap();
    }
}

#[tokio::test]
async fn hmac_keys_are_refused() {
    let token = SoftHsmToken::new();
    let provider = token.provider();
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let err = provider.create(alg, "h-1").await.unwrap_err();
        assert_eq!(err.kind(), KeyErrorKind::InvalidKey);
        assert!(err.to_string().contains("HMAC keys are not supported by the pkcs11 provider"), "{err}");
    }
    assert!(!provider.supports(Algorithm::HS256).await.unwrap());
}

#[tokio::test]
async fn loading_a_key_the_token_does_not_hold_is_not_found() {
    let token = SoftHsmToken::new();
    let provider = token.provider();
    let new = provider.create(Algorithm::ES256, "present").await.unwrap();
    let mut missing = version("absent", Algorithm::ES256, &new);
    missing.provider_ref = Some("00".repeat(20));
    let err = provider.load(&missing).await.unwrap_err();
    assert_eq!(err.kind(), KeyErrorKind::NotFound, "{err}");

    let mut malformed = version("absent", Algorithm::ES256, &new);
    malformed.provider_ref = Some("not hex".to_owned());
    assert_eq!(provider.load(&malformed).await.unwrap_err().kind(), KeyErrorKind::InvalidKey);

    let mut unset = version("absent", Algorithm::ES256, &new);
    unset.provider_ref = None;
    assert_eq!(provider.load(&unset).await.unwrap_err().kind(), KeyErrorKind::InvalidKey);

    assert_eq!(provider.protection(&"00".repeat(20)).await.unwrap_err().kind(), KeyErrorKind::NotFound);
}

#[tokio::test]
async fn a_wrong_pin_is_a_provider_error_that_does_not_show_the_pin() {
    let token = SoftHsmToken::new();
    let wrong = "wrong-pin-93417";
    let err = Pkcs11Provider::open(token.config(wrong)).unwrap_err();
    assert_eq!(err.kind(), KeyErrorKind::Provider);
    let message = full_message(&err);
    assert!(message.contains("incorrect PIN"), "{message}");
    assert!(!message.contains(wrong) && !message.contains(USER_PIN), "{message}");
    assert!(!format!("{err:?}").contains(wrong));
    assert!(!format!("{:?}", token.config(wrong)).contains(wrong));
}

#[tokio::test]
async fn an_unknown_token_or_module_is_a_provider_error() {
    let token = SoftHsmToken::new();
    let mut config = token.config(USER_PIN);
    config.token_label = format!("{}-x", token.label);
    let err = Pkcs11Provider::open(config).unwrap_err();
    assert_eq!(err.kind(), KeyErrorKind::Provider);
    assert!(err.to_string().contains("no initialised token"), "{err}");

    let mut config = token.config(USER_PIN);
    config.module = "/nonexistent/libpkcs11.so".into();
    let err = Pkcs11Provider::open(config).unwrap_err();
    assert_eq!(err.kind(), KeyErrorKind::Provider);
    assert!(err.to_string().contains("/nonexistent/libpkcs11.so"), "{err}");
}

#[tokio::test]
async fn a_kid_cannot_be_created_twice() {
    let token = SoftHsmToken::new();
    let provider = token.provider();
    provider.create(Algorithm::ES256, "twice").await.unwrap();
    let err = provider.create(Algorithm::ES384, "twice").await.unwrap_err();
    assert_eq!(err.kind(), KeyErrorKind::Provider);
    assert!(err.to_string().contains("already holds a key"), "{err}");
}

#[tokio::test]
async fn a_version_naming_another_algorithm_is_rejected() {
    let token = SoftHsmToken::new();
    let provider = token.provider();
    let new = provider.create(Algorithm::ES256, "ec").await.unwrap();
    for alg in [Algorithm::RS256, Algorithm::ES384, Algorithm::EdDSA] {
        let mut v = version("ec", Algorithm::ES256, &new);
        v.algorithm = alg.as_str().to_owned();
        v.public_jwk = None;
        let err = provider.load(&v).await.unwrap_err();
        assert_eq!(err.kind(), KeyErrorKind::InvalidKey, "{alg}: {err}");
    }
    let mut hmac = version("ec", Algorithm::ES256, &new);
    hmac.algorithm = "HS256".to_owned();
    assert_eq!(provider.load(&hmac).await.unwrap_err().kind(), KeyErrorKind::InvalidKey);
    let mut local = version("ec", Algorithm::ES256, &new);
    local.provider = "local".to_owned();
    assert_eq!(provider.load(&local).await.unwrap_err().kind(), KeyErrorKind::InvalidKey);
}

#[tokio::test]
async fn without_a_stored_jwk_the_public_key_comes_from_the_token() {
    let token = SoftHsmToken::new();
    let provider = token.provider();
    let new = provider.create(Algorithm::ES384, "from-token").await.unwrap();
    let mut v = version("from-token", Algorithm::ES384, &new);
    v.public_jwk = None;
    let loaded = provider.load(&v).await.unwrap();
    let jwt = portcullis_jose::encode(loaded.signer.as_ref(), Some("from-token"), &claims()).unwrap();
    let validation = validation(Algorithm::ES384);
    portcullis_jose::decode(&jwt, &KeySet::new(vec![loaded.verifying.clone()]), &validation, NOW).unwrap();
    portcullis_jose::decode(&jwt, &keyset(&new.public_jwk.unwrap()), &validation, NOW).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_signers_share_the_session_pool() {
    let token = SoftHsmToken::new();
    let provider = token.provider();
    let new = provider.create(Algorithm::ES256, "busy").await.unwrap();
    let loaded = provider.load(&version("busy", Algorithm::ES256, &new)).await.unwrap();
    let keys = Arc::new(keyset(&new.public_jwk.unwrap()));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let signer = Arc::clone(&loaded.signer);
        let keys = Arc::clone(&keys);
        tasks.push(tokio::task::spawn_blocking(move || {
            for j in 0..8 {
                let claims = json!({ "sub": format!("{i}-{j}"), "exp": NOW + 60 });
                let jwt = portcullis_jose::encode(signer.as_ref(), Some("busy"), &claims).unwrap();
                portcullis_jose::decode(&jwt, &keys, &validation(Algorithm::ES256), NOW).unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}
