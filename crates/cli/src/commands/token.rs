//! `portcullis token sign|verify|decode`.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use portcullis_core::clock::{Clock, SystemClock};
use portcullis_core::remote_jwks::{RemoteJwks, RemoteJwksConfig};
use portcullis_core::tokens::IssueError;
use portcullis_jose::{Algorithm, Jwk, JwkSet, KeySet, Validation, VerifyingKey};
use serde_json::{Map, Value, json};

use super::keys::print;
use crate::Failure;
use crate::cli::{Args, TokenCommand, VerifyArgs};

pub async fn run(cmd: &TokenCommand, args: &Args) -> Result<(), Failure> {
    match cmd {
        TokenCommand::Sign { claims, ttl, key, alg } => sign(args, claims, *ttl, key.as_deref(), alg.as_deref()).await,
        TokenCommand::Verify(v) => verify(args, v).await,
        TokenCommand::Decode { token } => decode(token),
    }
}

fn usage(flag: &str, e: impl std::fmt::Display) -> Failure {
    Failure::Usage(format!("{flag}: {e}"))
}

fn parse_alg(s: &str) -> Result<Algorithm, Failure> {
    s.parse().map_err(|e: portcullis_jose::Error| usage("--alg", e.message()))
}

async fn sign(
    args: &Args,
    claims: &str,
    ttl: Option<i64>,
    key: Option<&Path>,
    alg: Option<&str>,
) -> Result<(), Failure> {
    let claims: Map<String, Value> = match serde_json::from_str(claims) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(usage("--claims", "must be a JSON object")),
        Err(e) => return Err(usage("--claims", e)),
    };
    let token = match key {
        Some(path) => {
            let alg = alg.map(parse_alg).transpose()?;
            let text = std::fs::read_to_string(path).map_err(|e| usage("--key", format!("{}: {e}", path.display())))?;
            let signing = portcullis_core::keys::parse_signing_key(&text, alg)
                .map_err(|e| usage("--key", format!("{}: {}", path.display(), e.message())))?;
            // A JWK key file may name its kid; PEM has none.
            let kid = serde_json::from_str::<Jwk>(&text).ok().and_then(|jwk| jwk.kid);
            let mut claims = claims;
            portcullis_core::tokens::fill_standard_claims(&mut claims, SystemClock.now(), ttl.unwrap_or(3600))
                .map_err(|e| Failure::Other(anyhow::anyhow!("{e}")))?;
            portcullis_jose::encode(&signing, kid.as_deref(), &Value::Object(claims))
                .map_err(|e| Failure::Other(anyhow::anyhow!("signing: {e}")))?
        }
        None => {
            let config = super::load_config(args)?;
            let services = crate::app::open(&config).await?;
            services.tokens.issue(claims, ttl, services.clock.now()).map_err(|e| match e {
                IssueError::InvalidRequest(m) => Failure::Usage(m),
                other => Failure::Other(anyhow::anyhow!("{other}")),
            })?
        }
    };
    print(&format!("{token}\n"))
}

fn read_token(arg: &str) -> Result<String, Failure> {
    if arg == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| usage("standard input", e))?;
        Ok(s.trim().to_owned())
    } else {
        Ok(arg.trim().to_owned())
    }
}

async fn verify(args: &Args, v: &VerifyArgs) -> Result<(), Failure> {
    let token = read_token(&v.token)?;
    let now = v.now.unwrap_or_else(|| SystemClock.now());
    let algs = v.algs.iter().map(|a| parse_alg(a)).collect::<Result<Vec<_>, _>>()?;
    // Flags adjust a base: the service's own rules when verifying against its
    // keys, otherwise the defaults (exp required, 60 s leeway, 16 KiB limit).
    let apply = |mut validation: Validation| {
        if let Some(iss) = &v.iss {
            validation.issuers = vec![iss.clone()];
        }
        if let Some(aud) = &v.aud {
            validation.audiences = vec![aud.clone()];
        }
        if let Some(leeway) = v.leeway {
            validation.leeway = leeway;
        }
        for claim in &v.require {
            if !validation.required_claims.contains(claim) {
                validation.required_claims.push(claim.clone());
            }
        }
        if !algs.is_empty() {
            validation.allowed_algorithms = algs.clone();
        }
        validation
    };
    let result = if let Some(source) = &v.jwks {
        if source.starts_with("https://") || source.starts_with("http://") {
            let mut config = RemoteJwksConfig::new(source.as_str());
            // An explicit URL on the command line is the user's choice of transport.
            config.danger_allow_http = source.starts_with("http://");
            let remote = RemoteJwks::new(config).map_err(|e| usage("--jwks", e))?;
            remote.refresh(now).await.map_err(|e| Failure::Other(anyhow::Error::new(e)))?;
            remote.verify(&token, &apply(Validation::default()), now).await
        } else {
            let text = std::fs::read_to_string(source).map_err(|e| usage("--jwks", format!("{source}: {e}")))?;
            let set: JwkSet =
                serde_json::from_str(&text).map_err(|e| usage("--jwks", format!("not a JWK Set: {e}")))?;
            let (keys, skipped) = KeySet::from_jwk_set(&set);
            for e in skipped {
                eprintln!("note: skipped a key in the JWK Set: {e}");
            }
            portcullis_jose::decode(&token, &keys, &apply(Validation::default()), now)
        }
    } else if let Some(path) = &v.key {
        let key = load_verifying_key(path, algs.first().copied())?;
        portcullis_jose::decode(&token, &KeySet::new(vec![key]), &apply(Validation::default()), now)
    } else {
        let config = super::load_config(args)?;
        let services = crate::app::open(&config).await?;
        let validation = apply(services.tokens.validation().clone());
        services.tokens.verify_with(&token, &validation, now).await
    };
    match result {
        Ok(verified) => {
            let text = serde_json::to_string_pretty(verified.claims()).context("encoding claims")?;
            print(&format!("{text}\n"))
        }
        Err(e) => {
            print(&format!("{}\n", json!({"valid": false, "error": e.kind().code(), "message": e.message()})))?;
            Err(Failure::Rejected)
        }
    }
}

fn load_verifying_key(path: &Path, alg: Option<Algorithm>) -> Result<VerifyingKey, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| usage("--key", format!("{}: {e}", path.display())))?;
    portcullis_core::keys::parse_verifying_key(&text, alg)
        .map_err(|e| usage("--key", format!("{}: {}", path.display(), e.message())))
}

fn decode(token: &str) -> Result<(), Failure> {
    let token = read_token(token)?;
    match portcullis_jose::insecure_decode(&token, 16 * 1024) {
        Ok((header, claims)) => {
            eprintln!("WARNING: UNVERIFIED — the signature and claims were not checked");
            let out = json!({"verified": false, "header": header, "claims": claims});
            print(&format!("{}\n", serde_json::to_string_pretty(&out).context("encoding")?))
        }
        Err(e) => {
            print(&format!("{}\n", json!({"valid": false, "error": e.kind().code(), "message": e.message()})))?;
            Err(Failure::Rejected)
        }
    }
}
