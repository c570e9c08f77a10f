//! Published test vectors: RFC 7515 Appendix A, RFC 7520 §3–4, RFC 8037
//! Appendix A. One table-driven test per RFC section.
//!
//! The RFC payloads are not JWT claim sets we would accept (no `exp`, or not
//! JSON at all), so signatures are checked with `VerifyingKey::verify` on the
//! signing input, and `decode` is used only where the payload is a claim set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_jose::{
    Algorithm, ErrorKind, Jwk, JwkSet, KeySet, Signer, SigningKey, Validation, VerifyingKey, decode,
};

fn jwk(json: &str) -> Jwk {
    serde_json::from_str(json).unwrap()
}

fn b64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

/// `(signing input, signature)` of a compact JWS.
fn split(token: &str) -> (&str, Vec<u8>) {
    let (input, signature) = token.rsplit_once('.').unwrap();
    (input, b64(signature))
}

fn alg_of(token: &str) -> Algorithm {
    let header: serde_json::Value = serde_json::from_slice(&b64(token.split('.').next().unwrap())).unwrap();
    header["alg"].as_str().unwrap().parse().unwrap()
}

// ---- RFC 7515 Appendix A -------------------------------------------------

const A_PAYLOAD: &str =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
/// The A.1–A.3 payload's `exp`.
const A_EXP: i64 = 1_300_819_380;

const A1_KEY: &str =
    r#"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;
const A1_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

const A2_KEY: &str = r#"{"kty":"RSA",
 "n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
 "e":"AQAB",
 "d":"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
 "p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
 "q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
 "dp":"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
 "dq":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
 "qi":"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"}"#;
const A2_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
/// The A.2 key in PKCS#1 PEM form: importing it must give the same key.
const A2_PKCS1_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd/wWJcyQoTbji9k0
l8W26mPddxHmfHQp+Vaw+4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL+yRT+SFd2lZS+pC
gNMsD1W/YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb/7OMg0LOL+bSf63kpaSHSX
ndS5z5rexMdbBYUsLA9e+KXBdQOS+UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uD
Zlxvb3qCo5ZwKh9kG4LT6/I5IhlJH7aGhyxXFvUK+DWNmoudF8NAco9/h9iaGNj8
q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQIDAQABAoIBABKucaRpzQorw35S
bEUAVx8dYXUdZOlJcHtiWQ+dC6V8ljxAHj/PLyzTveyI5QO/xkObCyjIL303l2cf
UhPu2MFaJdjVzqACXuOrLot/eSFvxjvqVidTtAZExqFRJ9mylUVAoLvhowVWmC1O
n95fZCXxTUtxNEG1Xcc7m0rtzJKs45J+N/V9DP1edYH6USyPSWGp6wuA+KgHRnKK
Vf9GRx80JQY7nVNkL17eHoTWEwga+lwi0FEoW9Y7lDtWXYmKBWhUE+U8PGxlJf8f
40493HDw1WRQ/aSLoS4QTp3rn7gYgeHEvfJdkkf0UMhlknlo53M09EFPdadQ4TlU
bjqKc50CgYEA4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH/5IB3jw3bcxGn6QLvnE
tfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw/Py5PJdTJNPY8cQn7ouZ2KKDcmnPG
BY5t7yLc1QlQ5xHdwW1VhvKn+nXqhJTBgIPgtldC+KDV5z+y2XDwGUcCgYEAuQPE
fgmVtjL0Uyyx88GZFF1fOunH3+7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYs
p1ZSe7zFYHj7C6ul7TjeLQeZD/YwD66t62wDmpe/HlB+TnBA+njbglfIsRLtXlnD
zQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdcCgYAHAp9XcCSrn8wVkMVkKdb7
DOX4IKjzdahm+ctDAJN4O/y7OW5FKebvUjdAIt2GuoTZ71iTG+7F0F+lP88jtjP4
U4qe7VHoewl4MKOfXZKTe+YCS1XbNvfgwJ3Ltyl1OH9hWvu2yza7q+d5PCsDzqtm
27kxuvULVeya+TEdAB1ijQKBgQCH/3r6YrVH/uCWGy6bzV1nGNOdjKc9tmkfOJmN
54dxdixdpozCQ6U4OxZrsj3FcOhHBsqAHvX2uuYjagqvo3cOj1TRqNocX40omfCC
Mx3bD1yPPf/6TI2XECva/ggqEY2mYzmIiA5LVVmc5nrybr+lssFKneeyxN2Wq93S
0iJMdQKBgCGHewxzoa1r8ZMD0LETNrToK423K377UCYqXfg5XMclbrjPbEC3YI1Z
NqMtuhdBJqUnBi6tjKMF+34Xf0CUN8ncuXGO2CAYvO8PdyCixHX52ybaDjy1FtCE
6yUXjoKNXKvUm7MWGsAYH6f4IegOetN5NvmUMFStCSkh7ixZLkN1
-----END RSA PRIVATE KEY-----";

const A3_KEY: &str = r#"{"kty":"EC","crv":"P-256",
 "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
 "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
 "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#;
const A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
/// The A.3 key in PKCS#8 PEM form.
const A3_PKCS8_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjpsQnnGQmL+YBIff
H1136cspYG6+0iY7X1fCE9+E9LKhRANCAAR/zc4ncPbEXUGDy+5v20t7WAczNXvp
7xO6z248e9FURcfxRM0bvZt+hyzf7bnuufSzaV1uqQskrYpGIyiFiOWt
-----END PRIVATE KEY-----";

const A4_KEY: &str = r#"{"kty":"EC","crv":"P-521",
 "x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",
 "y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}"#;
const A4_TOKEN: &str = "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

const A5_TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";

/// Before the example's expiry, with its own key set.
fn decode_a(token: &str, key: VerifyingKey, now: i64) -> Result<serde_json::Map<String, serde_json::Value>, ErrorKind> {
    decode(token, &KeySet::new(vec![key]), &Validation::default(), now).map(|v| v.into_claims()).map_err(|e| e.kind())
}

#[test]
fn rfc7515_appendix_a_examples_verify() {
    struct Case {
        section: &'static str,
        key: VerifyingKey,
        token: &'static str,
        deterministic: Option<SigningKey>,
    }
    let cases = [
        Case {
            section: "A.1 HS256",
            key: VerifyingKey::from_jwk(&jwk(A1_KEY), None).unwrap(),
            token: A1_TOKEN,
            deterministic: Some(SigningKey::from_jwk(&jwk(A1_KEY), None).unwrap()),
        },
        Case {
            section: "A.2 RS256",
            key: VerifyingKey::from_jwk(&jwk(A2_KEY), None).unwrap(),
            token: A2_TOKEN,
            deterministic: Some(SigningKey::from_jwk(&jwk(A2_KEY), None).unwrap()),
        },
        Case {
            section: "A.2 RS256, key from PKCS#1 PEM",
            key: VerifyingKey::from_pem(A2_PKCS1_PEM, None).unwrap(),
            token: A2_TOKEN,
            deterministic: Some(SigningKey::from_pem(A2_PKCS1_PEM, None).unwrap()),
        },
        Case {
            section: "A.3 ES256 (randomized: verify only)",
            key: VerifyingKey::from_jwk(&jwk(A3_KEY), None).unwrap(),
            token: A3_TOKEN,
            deterministic: None,
        },
        Case {
            section: "A.3 ES256, key from PKCS#8 PEM",
            key: VerifyingKey::from_pem(A3_PKCS8_PEM, None).unwrap(),
            token: A3_TOKEN,
            deterministic: None,
        },
    ];
    for case in cases {
        let alg = alg_of(case.token);
        assert_eq!(case.key.algorithm(), alg, "{}", case.section);
        let (input, signature) = split(case.token);
        case.key.verify(alg, input.as_bytes(), &signature).unwrap_or_else(|e| panic!("{}: {e}", case.section));
        if let Some(signer) = case.deterministic {
            assert_eq!(signer.sign(input.as_bytes()).unwrap(), signature, "{}: signature differs", case.section);
        }
        // The payload is a claim set, so the full decode path works too…
        let claims = decode_a(case.token, case.key.clone(), A_EXP - 100).unwrap();
        assert_eq!(claims["iss"], "joe", "{}", case.section);
        // …and honours the example's expiry (plus the default 60 s leeway).
        assert_eq!(decode_a(case.token, case.key, A_EXP + 60).unwrap_err(), ErrorKind::Expired, "{}", case.section);
    }
}

#[test]
fn rfc7515_appendix_a_examples_we_refuse() {
    // A.4: ES512 on P-521 is not among our algorithms; neither is its key.
    assert_eq!(VerifyingKey::from_jwk(&jwk(A4_KEY), None).unwrap_err().kind(), ErrorKind::InvalidKey);
    let any_key = VerifyingKey::from_jwk(&jwk(A3_KEY), None).unwrap();
    assert_eq!(decode_a(A4_TOKEN, any_key.clone(), A_EXP - 100).unwrap_err(), ErrorKind::UnsupportedAlgorithm);
    // A.5: the unsecured JWS is never accepted, whatever the keys.
    assert_eq!(decode_a(A5_TOKEN, any_key, A_EXP - 100).unwrap_err(), ErrorKind::UnsupportedAlgorithm);
    let hmac = VerifyingKey::from_jwk(&jwk(A1_KEY), None).unwrap();
    assert_eq!(decode_a(A5_TOKEN, hmac, A_EXP - 100).unwrap_err(), ErrorKind::UnsupportedAlgorithm);
}

#[test]
fn rfc7515_payload_segment_matches_the_published_one() {
    assert!(A1_TOKEN.contains(A_PAYLOAD) && A2_TOKEN.contains(A_PAYLOAD) && A3_TOKEN.contains(A_PAYLOAD));
}

// ---- RFC 7520 §3: JWK examples --------------------------------------------

const C3_1_EC_PUBLIC: &str = r#"{"kty":"EC","kid":"bilbo.baggins@hobbiton.example","use":"sig","crv":"P-521",
 "x":"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
 "y":"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"}"#;
const C3_2_EC_PRIVATE: &str = r#"{"kty":"EC","kid":"bilbo.baggins@hobbiton.example","use":"sig","crv":"P-521",
 "x":"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
 "y":"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1",
 "d":"AAhRON2r9cqXX1hg-RoI6R1tX5p2rUAYdmpHZoC1XNM56KtscrX6zbKipQrCW9CGZH3T4ubpnoTKLDYJ_fF3_rJt"}"#;
const C3_3_RSA_PUBLIC: &str = r#"{"kty":"RSA","kid":"bilbo.baggins@hobbiton.example","use":"sig",
 "n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",
 "e":"AQAB"}"#;
const C3_4_RSA_PRIVATE: &str = r#"{"kty":"RSA","kid":"bilbo.baggins@hobbiton.example","use":"sig",
 "n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",
 "e":"AQAB",
 "d":"bWUC9B-EFRIo8kpGfh0ZuyGPvMNKvYWNtB_ikiH9k20eT-O1q_I78eiZkpXxXQ0UTEs2LsNRS-8uJbvQ-A1irkwMSMkK1J3XTGgdrhCku9gRldY7sNA_AKZGh-Q661_42rINLRCe8W-nZ34ui_qOfkLnK9QWDDqpaIsA-bMwWWSDFu2MUBYwkHTMEzLYGqOe04noqeq1hExBTHBOBdkMXiuFhUq1BU6l-DqEiWxqg82sXt2h-LMnT3046AOYJoRioz75tSUQfGCshWTBnP5uDjd18kKhyv07lhfSJdrPdM5Plyl21hsFf4L_mHCuoFau7gdsPfHPxxjVOcOpBrQzwQ",
 "p":"3Slxg_DwTXJcb6095RoXygQCAZ5RnAvZlno1yhHtnUex_fp7AZ_9nRaO7HX_-SFfGQeutao2TDjDAWU4Vupk8rw9JR0AzZ0N2fvuIAmr_WCsmGpeNqQnev1T7IyEsnh8UMt-n5CafhkikzhEsrmndH6LxOrvRJlsPp6Zv8bUq0k",
 "q":"uKE2dh-cTf6ERF4k4e_jy78GfPYUIaUyoSSJuBzp3Cubk3OCqs6grT8bR_cu0Dm1MZwWmtdqDyI95HrUeq3MP15vMMON8lHTeZu2lmKvwqW7anV5UzhM1iZ7z4yMkuUwFWoBvyY898EXvRD-hdqRxHlSqAZ192zB3pVFJ0s7pFc",
 "dp":"B8PVvXkvJrj2L-GYQ7v3y9r6Kw5g9SahXBwsWUzp19TVlgI-YV85q1NIb1rxQtD-IsXXR3-TanevuRPRt5OBOdiMGQp8pbt26gljYfKU_E9xn-RULHz0-ed9E9gXLKD4VGngpz-PfQ_q29pk5xWHoJp009Qf1HvChixRX59ehik",
 "dq":"CLDmDGduhylc9o7r84rEUVn7pzQ6PF83Y-iBZx5NT-TpnOZKF1pErAMVeKzFEl41DlHHqqBLSM0W1sOFbwTxYWZDm6sI6og5iTbwQGIC3gnJKbi_7k_vJgGHwHxgPaX2PnvP-zyEkDERuf-ry4c_Z11Cq9AqC2yeL6kdKT1cYF8",
 "qi":"3PiqvXQN0zwMeE-sBvZgi289XP9XCQF3VWqPzMKnIgQp7_Tugo6-NZBKCQsMf3HaEGBjTVJs_jcK8-TRXvaKe-7ZMaQj8VfBdYkssbu0NKDDhjJ-GtiseaDVWt7dcH0cfwxgFUHpQh7FoCrjFJ6h6ZEpMF6xmujs4qMpPz8aaI4"}"#;
const C3_5_MAC: &str = r#"{"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037","use":"sig","alg":"HS256",
 "k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}"#;
const C3_6_ENC: &str = r#"{"kty":"oct","kid":"1e571774-2e08-40da-8308-e8d68773842d","use":"enc","alg":"A256GCM",
 "k":"AAPapAv4LbFbiVawEjagUBluYqN5rhna-8nuldDvOx8"}"#;

#[test]
fn rfc7520_section_3_jwk_examples_import() {
    type Outcome = Result<Algorithm, ErrorKind>;
    // (section, JWK, verifying import outcome, signing import outcome)
    let cases: [(&str, &str, Outcome, Outcome); 6] = [
        ("3.1 EC P-521 public", C3_1_EC_PUBLIC, Err(ErrorKind::InvalidKey), Err(ErrorKind::InvalidKey)),
        ("3.2 EC P-521 private", C3_2_EC_PRIVATE, Err(ErrorKind::InvalidKey), Err(ErrorKind::InvalidKey)),
        ("3.3 RSA public", C3_3_RSA_PUBLIC, Ok(Algorithm::RS256), Err(ErrorKind::InvalidKey)),
        ("3.4 RSA private", C3_4_RSA_PRIVATE, Ok(Algorithm::RS256), Ok(Algorithm::RS256)),
        ("3.5 HMAC", C3_5_MAC, Ok(Algorithm::HS256), Ok(Algorithm::HS256)),
        ("3.6 AES (use enc)", C3_6_ENC, Err(ErrorKind::InvalidKey), Err(ErrorKind::InvalidKey)),
    ];
    for (section, json, verifying, signing) in cases {
        let key = jwk(json);
        let got = VerifyingKey::from_jwk(&key, None).map(|k| k.algorithm()).map_err(|e| e.kind());
        assert_eq!(got, verifying, "{section}: verifying key");
        let got = SigningKey::from_jwk(&key, None).map(|k| k.algorithm()).map_err(|e| e.kind());
        assert_eq!(got, signing, "{section}: signing key");
    }
    // The kid is kept, and the private key's public half is the public key.
    let public = VerifyingKey::from_jwk(&jwk(C3_3_RSA_PUBLIC), None).unwrap();
    assert_eq!(public.kid(), Some("bilbo.baggins@hobbiton.example"));
    let private = SigningKey::from_jwk(&jwk(C3_4_RSA_PRIVATE), None).unwrap();
    let exported = private.public_jwk().unwrap();
    assert_eq!((exported.n, exported.e), (jwk(C3_3_RSA_PUBLIC).n, jwk(C3_3_RSA_PUBLIC).e));
    // As a JWK Set, the unusable keys are skipped with a reason each.
    let set = JwkSet { keys: [C3_1_EC_PUBLIC, C3_3_RSA_PUBLIC, C3_5_MAC, C3_6_ENC].map(jwk).to_vec() };
    let (keys, skipped) = KeySet::from_jwk_set(&set);
    assert_eq!(keys.len(), 2);
    assert_eq!(skipped.len(), 2);
}

// ---- RFC 7520 §4: JWS examples --------------------------------------------

const C4_PAYLOAD: &str = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
const C4_1_HEADER: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
const C4_1_SIGNATURE: &str = "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg";
const C4_2_HEADER: &str = "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
const C4_2_SIGNATURE: &str = "cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw";
const C4_3_HEADER: &str = "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
const C4_3_SIGNATURE: &str = "AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2";
const C4_4_HEADER: &str = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9";
const C4_4_SIGNATURE: &str = "s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";

#[test]
fn rfc7520_section_4_jws_examples() {
    // (section, header, signature, key JWK, the signature is deterministic)
    let cases = [
        ("4.1 RS256", C4_1_HEADER, C4_1_SIGNATURE, C3_4_RSA_PRIVATE, true),
        ("4.2 PS384 (randomized: verify only)", C4_2_HEADER, C4_2_SIGNATURE, C3_4_RSA_PRIVATE, false),
        ("4.4 HS256", C4_4_HEADER, C4_4_SIGNATURE, C3_5_MAC, true),
    ];
    for (section, header, signature, key, deterministic) in cases {
        let token = format!("{header}.{C4_PAYLOAD}.{signature}");
        let alg = alg_of(&token);
        let (input, signature) = split(&token);
        let verifying = VerifyingKey::from_jwk(&jwk(key), Some(alg)).unwrap();
        verifying.verify(alg, input.as_bytes(), &signature).unwrap_or_else(|e| panic!("{section}: {e}"));
        let signer = SigningKey::from_jwk(&jwk(key), Some(alg)).unwrap();
        let ours = signer.sign(input.as_bytes()).unwrap();
        if deterministic {
            assert_eq!(ours, signature, "{section}: our signature differs");
        }
        verifying.verify(alg, input.as_bytes(), &ours).unwrap();
        // Through decode the signature verifies, then the non-JSON payload is refused.
        let err = decode(&token, &KeySet::new(vec![verifying]), &Validation::default(), 0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed, "{section}");
    }
    // 4.3 is ES512, which we do not support.
    let token = format!("{C4_3_HEADER}.{C4_PAYLOAD}.{C4_3_SIGNATURE}");
    let keys = KeySet::new(vec![VerifyingKey::from_jwk(&jwk(C3_3_RSA_PUBLIC), None).unwrap()]);
    let err = decode(&token, &keys, &Validation::default(), 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm);
}

// ---- RFC 8037 Appendix A: Ed25519 ------------------------------------------

const ED_PRIVATE: &str = r#"{"kty":"OKP","crv":"Ed25519",
 "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
 "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
const ED_PUBLIC: &str = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
const ED_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

#[test]
fn rfc8037_appendix_a_ed25519() {
    // A.1 / A.2: the keys import, and the private key's public half is A.2.
    let signer = SigningKey::from_jwk(&jwk(ED_PRIVATE), None).unwrap();
    assert_eq!(signer.algorithm(), Algorithm::EdDSA);
    let public = VerifyingKey::from_jwk(&jwk(ED_PUBLIC), None).unwrap();
    assert_eq!(signer.public_jwk().unwrap().x, jwk(ED_PUBLIC).x);
    // A.4: Ed25519 is deterministic, so the exact signature is reproduced.
    let (input, signature) = split(ED_JWS);
    assert_eq!(input.split('.').nth(1).map(b64).unwrap(), b"Example of Ed25519 signing");
    assert_eq!(signer.sign(input.as_bytes()).unwrap(), signature);
    // A.5: and verified.
    public.verify(Algorithm::EdDSA, input.as_bytes(), &signature).unwrap();
    let mut altered = signature.clone();
    altered[10] ^= 1;
    assert_eq!(
        public.verify(Algorithm::EdDSA, input.as_bytes(), &altered).unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    // A mismatched public half is refused.
    let mut wrong = jwk(ED_PRIVATE);
    wrong.x = Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
    assert_eq!(SigningKey::from_jwk(&wrong, None).unwrap_err().kind(), ErrorKind::InvalidKey);
}
