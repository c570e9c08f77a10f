use super::*;

const SEED20: &[u8] = b"12345678901234567890";
const SEED32: &[u8] = b"12345678901234567890123456789012";
const SEED64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

fn params(algorithm: TotpAlgorithm) -> TotpParams {
    TotpParams { digits: 8, algorithm, ..TotpParams::default() }
}

fn default_secret() -> TotpSecret {
    TotpSecret::from_bytes(SEED20.to_vec()).unwrap()
}

#[test]
fn rfc6238_appendix_b_vectors() {
    use TotpAlgorithm::*;
    let table: &[(i64, &str, TotpAlgorithm)] = &[
        (59, "94287082", Sha1),
        (59, "46119246", Sha256),
        (59, "90693936", Sha512),
        (1111111109, "07081804", Sha1),
        (1111111109, "68084774", Sha256),
        (1111111109, "25091201", Sha512),
        (1111111111, "14050471", Sha1),
        (1111111111, "67062674", Sha256),
        (1111111111, "99943326", Sha512),
        (1234567890, "89005924", Sha1),
        (1234567890, "91819424", Sha256),
        (1234567890, "93441116", Sha512),
        (2000000000, "69279037", Sha1),
        (2000000000, "90698825", Sha256),
        (2000000000, "38618901", Sha512),
        (20000000000, "65353130", Sha1),
        (20000000000, "77737706", Sha256),
        (20000000000, "47863826", Sha512),
    ];
    for &(time, expected, algorithm) in table {
        let seed = match algorithm {
            Sha1 => SEED20,
            Sha256 => SEED32,
            Sha512 => SEED64,
        };
        let secret = TotpSecret::from_bytes(seed.to_vec()).unwrap();
        let p = params(algorithm);
        assert_eq!(code_at(&secret, &p, time), expected, "{algorithm:?} at {time}");
        assert_eq!(verify(&secret, &p, expected, time, None), Some(time_step(&p, time)));
    }
}

#[test]
fn default_params_are_google_authenticator() {
    let p = TotpParams::default();
    assert_eq!((p.digits, p.step, p.skew, p.algorithm), (6, 30, 1, TotpAlgorithm::Sha1));
    // RFC 6238 SHA-1 vector at T=59, last six digits, zero padding kept.
    assert_eq!(code_at(&default_secret(), &p, 59), "287082");
    assert_eq!(code_at(&default_secret(), &p, 1111111109), "081804");
}

#[test]
fn accepts_one_step_of_drift_and_refuses_two() {
    let s = default_secret();
    let p = TotpParams::default();
    let now = 1_700_000_000;
    let step = time_step(&p, now);
    for (offset, accepted) in [(-60, false), (-30, true), (0, true), (30, true), (60, false)] {
        let code = code_at(&s, &p, now + offset);
        let expected = accepted.then(|| step.wrapping_add_signed(offset / 30));
        assert_eq!(verify(&s, &p, &code, now, None), expected, "offset {offset}");
    }
}

#[test]
fn used_code_and_earlier_codes_are_refused_and_next_step_accepted() {
    let s = default_secret();
    let p = TotpParams::default();
    let now = 1_700_000_000;
    let code = code_at(&s, &p, now);
    let used = verify(&s, &p, &code, now, None).unwrap();
    // Same code again, still inside its window.
    assert_eq!(verify(&s, &p, &code, now, Some(used)), None);
    assert_eq!(verify(&s, &p, &code, now + 10, Some(used)), None);
    // The previous step's code is still within skew but older than the used one.
    let earlier = code_at(&s, &p, now - 30);
    assert_eq!(verify(&s, &p, &earlier, now, Some(used)), None);
    // The next step's code is accepted once.
    let next = code_at(&s, &p, now + 30);
    assert_eq!(verify(&s, &p, &next, now + 30, Some(used)), Some(used + 1));
}

#[test]
fn malformed_codes_are_refused() {
    let s = default_secret();
    let p = TotpParams::default();
    let good = code_at(&s, &p, 1_700_000_000);
    for bad in ["", "abcdef", "12345", "1234567", "12 456", "１２３４５６", " 123456", "+12345"] {
        assert_eq!(verify(&s, &p, bad, 1_700_000_000, None), None, "{bad:?}");
    }
    assert_eq!(verify(&s, &p, &format!("{good}0"), 1_700_000_000, None), None);
}

#[test]
fn invalid_params_are_refused() {
    let s = default_secret();
    for p in [
        TotpParams { digits: 5, ..TotpParams::default() },
        TotpParams { digits: 11, ..TotpParams::default() },
        TotpParams { step: 0, ..TotpParams::default() },
        TotpParams { skew: 11, ..TotpParams::default() },
    ] {
        assert!(p.validate().is_err(), "{p:?}");
        let code = code_at(&s, &p, 1_700_000_000);
        assert_eq!(verify(&s, &p, &code, 1_700_000_000, None), None, "{p:?}");
    }
}

#[test]
fn times_before_the_epoch_do_not_panic() {
    let p = TotpParams::default();
    assert_eq!(time_step(&p, -1), 0);
    assert_eq!(code_at(&default_secret(), &p, i64::MIN).len(), 6);
    assert_eq!(verify(&default_secret(), &p, "000000", i64::MAX, Some(u64::MAX)), None);
}

#[test]
fn base32_round_trip_and_leniency() {
    let s = TotpSecret::generate().unwrap();
    assert_eq!(s.expose().len(), 20);
    let text = s.to_base32();
    assert_eq!(text.len(), 32);
    assert_eq!(TotpSecret::from_base32(&text).unwrap().expose(), s.expose());
    assert_eq!(default_secret().to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    let typed = "gezd gnbv gy3t qojq gezd gnbv gy3t qojq";
    assert_eq!(TotpSecret::from_base32(typed).unwrap().expose(), SEED20);
    assert!(TotpSecret::from_base32("not base32!").is_err());
    assert!(TotpSecret::from_base32("GEZDGNBV").is_err(), "too short");
    assert!(TotpSecret::from_bytes(vec![0; 15]).is_err());
    assert_ne!(TotpSecret::generate().unwrap().expose(), s.expose());
}

#[test]
fn secret_debug_is_redacted() {
    let s = default_secret();
    let debug = format!("{s:?}");
    assert_eq!(debug, "TotpSecret([REDACTED])");
    assert!(!debug.contains("GEZD"));
}

#[test]
fn otpauth_uri_exact() {
    let s = default_secret();
    let p = TotpParams::default();
    assert_eq!(
        otpauth_uri(&s, "Portcullis", "alice@example.com", &p),
        "otpauth://totp/Portcullis:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
         &issuer=Portcullis&algorithm=SHA1&digits=6&period=30"
    );
    let p = TotpParams { digits: 8, step: 60, algorithm: TotpAlgorithm::Sha256, ..p };
    assert_eq!(
        otpauth_uri(&s, "ACME Co: R&D", "bob smith", &p),
        "otpauth://totp/ACME%20Co%3A%20R%26D:bob%20smith?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
         &issuer=ACME%20Co%3A%20R%26D&algorithm=SHA256&digits=8&period=60"
    );
    assert_eq!(
        otpauth_uri(&s, "", "alice", &TotpParams::default()),
        "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30"
    );
}

#[test]
fn qr_png_decodes_and_svg_is_svg() {
    let uri = otpauth_uri(&default_secret(), "Portcullis", "alice@example.com", &TotpParams::default());
    let svg = qr_svg(&uri).unwrap();
    assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{}", &svg[..40]);
    assert!(svg.contains("<svg"));

    let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, qr_png_base64(&uri).unwrap()).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.width, info.height);
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let pixels = &buf[..info.buffer_size()];
    // Quiet zone is light, the top-left finder pattern is dark.
    assert_eq!(pixels[0], 0xff);
    let finder = (4 * 8 + 1) * info.width as usize + 4 * 8 + 1;
    assert_eq!(pixels[finder], 0);
}

#[test]
fn qr_refuses_oversized_input() {
    let huge = "x".repeat(8000);
    assert!(matches!(qr_svg(&huge), Err(TotpError::Qr(_))));
    assert!(matches!(qr_png_base64(&huge), Err(TotpError::Qr(_))));
}

#[test]
fn backup_codes_are_distinct_and_well_formed() {
    let codes = generate_backup_codes(BACKUP_CODE_COUNT).unwrap();
    assert_eq!(codes.len(), 10);
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10);
    for code in &codes {
        assert_eq!(code.len(), 11, "{code}");
        assert_eq!(code.as_bytes()[5], b'-');
        assert!(code.chars().all(|c| c == '-' || "0123456789abcdefghjkmnpqrstvwxyz".contains(c)));
        assert_eq!(normalize_backup_code(code).unwrap(), code.replace('-', ""));
    }
    assert!(generate_backup_codes(0).unwrap().is_empty());
}

#[test]
fn backup_code_input_is_normalised() {
    assert_eq!(normalize_backup_code("ABCDE-FGHJK").as_deref(), Some("abcdefghjk"));
    assert_eq!(normalize_backup_code(" abc de fghjk ").as_deref(), Some("abcdefghjk"));
    assert_eq!(normalize_backup_code("O1I2L-34567").as_deref(), Some("0112134567"));
    for bad in ["", "abcde", "abcde-fghjk-m", "abcde-fghju", "abcde_fghjk", "äbcde-fghjk"] {
        assert_eq!(normalize_backup_code(bad), None, "{bad:?}");
    }
}

#[test]
fn backup_code_hash_verifies_right_code_only() {
    let code = "7k3mq-x9a2b";
    let hash = hash_backup_code(code).unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"), "{hash}");
    assert!(verify_backup_code(code, &hash));
    assert!(verify_backup_code("7K3MQ X9A2B", &hash), "normalised before hashing");
    assert!(!verify_backup_code("7k3mq-x9a2c", &hash));
    assert!(!verify_backup_code("", &hash));
    assert!(!verify_backup_code(code, "not a phc string"));
    assert_ne!(hash_backup_code(code).unwrap(), hash, "fresh salt each time");
    assert!(matches!(hash_backup_code("short"), Err(TotpError::InvalidBackupCode)));
}
