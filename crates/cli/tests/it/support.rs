//! Helpers: run the binary against a throw-away data directory, start `serve`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// The issuer every test instance uses, so CLI-signed tokens match a server on any port.
pub const ISSUER: &str = "https://portcullis.test";

/// A data directory and environment for one test.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub vars: Vec<(String, String)>,
    /// Passed as `--config` when set.
    pub config: Option<PathBuf>,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            vars: vec![
                ("PORTCULLIS_TOKENS__ISSUER".into(), ISSUER.into()),
                // Tests of other behaviour make more requests than the default limits
                // allow; the rate-limit tests turn limiting back on.
                ("PORTCULLIS_RATE_LIMITS__ENABLED".into(), "false".into()),
            ],
            config: None,
        }
    }

    /// Writes `toml` to `portcullis.toml` in the data directory and passes it
    /// as `--config` (rewrite it with [`Env::write_config`]).
    pub fn config_file(mut self, toml: &str) -> Env {
        self.write_config(toml);
        self.config = Some(self.path("portcullis.toml"));
        self
    }

    /// Replaces the configuration file's contents.
    pub fn write_config(&self, toml: &str) {
        std::fs::write(self.path("portcullis.toml"), toml).unwrap();
    }

    pub fn var(mut self, k: &str, v: &str) -> Env {
        self.vars.push((k.to_owned(), v.to_owned()));
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--data-dir").arg(self.dir.path());
        if let Some(config) = &self.config {
            c.arg("--config").arg(config);
        }
        // The tests' own environment must not leak configuration in.
        for (k, _) in std::env::vars() {
            if k.starts_with("PORTCULLIS_") && k.contains("__") {
                c.env_remove(k);
            }
        }
        c.envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    /// Runs the binary with `args`; returns the output whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Runs and expects exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "portcullis {args:?} failed: {}\n{}", stderr(&out), stdout(&out));
        stdout(&out)
    }

    /// `token sign` with the service's key.
    pub fn sign(&self, claims: &str) -> String {
        self.ok(&["token", "sign", "--claims", claims]).trim().to_owned()
    }

    /// Starts `serve` on an ephemeral loopback port (`https://…` when
    /// `server.tls` is configured).
    pub fn serve(&self) -> Server {
        self.start("serve")
    }

    fn start(&self, command: &str) -> Server {
        let mut child = self
            .command()
            .args([command, "--listen", "127.0.0.1:0"])
            .env("PORTCULLIS_LOG__FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = logs.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                log.lock().unwrap().push(line.clone());
                if !sent {
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                        && v["fields"]["message"] == "portcullis listening"
                    {
                        let scheme = if v["fields"]["tls"] == true { "https" } else { "http" };
                        let _ = tx.send(Ok(format!("{scheme}://{}", v["fields"]["address"].as_str().unwrap())));
                        sent = true;
                    }
                    if (line.contains("\"level\":\"ERROR\"") || line.starts_with("error:")) && !sent {
                        let _ = tx.send(Err(line.clone()));
                    }
                }
            }
            if !sent {
                let _ = tx.send(Err("serve exited before listening".to_owned()));
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(base)) => base,
            Ok(Err(line)) => {
                let _ = child.kill();
                panic!("serve failed to start: {line}")
            }
            Err(_) => {
                let _ = child.kill();
                panic!("serve did not start within 60 s")
            }
        };
        Server { child, base, logs }
    }

    /// Starts `portcullis gateway` (only the proxy) like [`Env::serve`].
    pub fn gateway(&self) -> Server {
        self.start("gateway")
    }
}

/// A running `portcullis serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// Every line the process wrote to stderr so far.
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a signal (`HUP`, `TERM`, …) to the process.
    pub fn signal(&self, name: &str) {
        Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `token verify` output parsed, with its exit code.
pub fn verify(env: &Env, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["token", "verify"];
    all.extend_from_slice(args);
    let out = env.run(&all);
    let code = out.status.code().unwrap_or(-1);
    let value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|_| panic!("verify printed no JSON (exit {code}): {}\n{}", stdout(&out), stderr(&out)));
    (code, value)
}

/// Asserts a rejection with `code`.
pub fn assert_rejected(env: &Env, args: &[&str], code: &str) {
    let (exit, value) = verify(env, args);
    assert_eq!(exit, 1, "expected exit 1 for {args:?}, got {value}");
    assert_eq!(value["valid"], false);
    assert_eq!(value["error"], code, "{value}");
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}

pub fn now() -> i64 {
    #[allow(clippy::disallowed_methods)]
    let t = std::time::SystemTime::now();
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Runs a Python snippet with the given arguments; panics on failure.
pub fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3").arg("-c").arg(script).args(args).output().unwrap();
    assert!(out.status.success(), "python failed: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}
