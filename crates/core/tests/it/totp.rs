//! TOTP interop: codes from independent implementations — Python's standard
//! library (always) and `oathtool` from oath-toolkit (when on PATH) — must
//! equal ours and be accepted by `verify`.

use std::process::Command;

use portcullis_core::totp::{TotpAlgorithm, TotpParams, TotpSecret, code_at, time_step, verify};

/// RFC 4226 HOTP over RFC 6238 time steps, written from the RFCs with only
/// the Python standard library.
const PYTHON_TOTP: &str = r#"
import base64, hashlib, hmac, struct, sys
secret, now, digits, step, alg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
mac = hmac.new(key, struct.pack(">Q", now // step), getattr(hashlib, alg)).digest()
off = mac[-1] & 0x0F
value = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10 ** digits
print(str(value).zfill(digits))
"#;

fn python_code(secret: &str, now: i64, params: &TotpParams) -> String {
    let alg = match params.algorithm {
        TotpAlgorithm::Sha1 => "sha1",
        TotpAlgorithm::Sha256 => "sha256",
        TotpAlgorithm::Sha512 => "sha512",
    };
    let out = Command::new("python3")
        .args(["-c", PYTHON_TOTP, secret])
        .args([now.to_string(), params.digits.to_string(), params.step.to_string(), alg.into()])
        .output()
        .expect("python3 is needed for the TOTP interop test");
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn cases() -> Vec<(TotpSecret, i64, TotpParams)> {
    let generated = TotpSecret::generate().unwrap();
    let rfc = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
    let mut cases = Vec::new();
    for now in [59, 1_111_111_109, 1_700_000_015, 2_000_000_000, 20_000_000_000] {
        cases.push((generated.clone(), now, TotpParams::default()));
        cases.push((rfc.clone(), now, TotpParams::default()));
        for algorithm in [TotpAlgorithm::Sha256, TotpAlgorithm::Sha512] {
            let params = TotpParams { digits: 8, step: 60, algorithm, ..TotpParams::default() };
            cases.push((generated.clone(), now, params));
        }
    }
    cases
}

#[test]
fn python_stdlib_codes_match_and_verify() {
    for (secret, now, params) in cases() {
        let b32 = secret.to_base32();
        let theirs = python_code(&b32, now, &params);
        assert_eq!(code_at(&secret, &params, now), theirs, "{params:?} at {now}");
        // Parse the secret back from base32 as an enrollment would.
        let parsed = TotpSecret::from_base32(&b32).unwrap();
        assert_eq!(verify(&parsed, &params, &theirs, now, None), Some(time_step(&params, now)));
        // One step later the code is still accepted (skew), but not once used.
        let later = now + i64::try_from(params.step).unwrap();
        let used = verify(&parsed, &params, &theirs, later, None);
        assert_eq!(used, Some(time_step(&params, now)));
        assert_eq!(verify(&parsed, &params, &theirs, later, used), None);
    }
}

fn oathtool_available() -> bool {
    Command::new("oathtool").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn oathtool_codes_match_and_verify() {
    if !oathtool_available() {
        eprintln!("oathtool not on PATH (Debian package `oathtool`): skipping");
        return;
    }
    for (secret, now, params) in cases() {
        let b32 = secret.to_base32();
        let out = Command::new("oathtool")
            .arg(format!("--totp={}", params.algorithm.uri_name()))
            .args(["-b", "-d", &params.digits.to_string()])
            .args(["-s", &format!("{}s", params.step)])
            .args(["-N", &format!("@{now}")])
            .arg(&b32)
            .output()
            .unwrap();
        assert!(out.status.success(), "oathtool: {}", String::from_utf8_lossy(&out.stderr));
        let theirs = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert_eq!(code_at(&secret, &params, now), theirs, "{params:?} at {now}");
        assert_eq!(verify(&secret, &params, &theirs, now, None), Some(time_step(&params, now)));
    }
}
