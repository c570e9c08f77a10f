//! The `portcullis` binary: parse flags, load configuration, run one command,
//! map the outcome to an exit code.

mod app;
mod cli;
mod commands;
mod config;
mod log_sink;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than glibc malloc: the request path allocates small,
/// short-lived objects on every request (docs/architecture.md has the figures).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How a command ended, beyond success.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Bad flags or configuration: exit 2.
    #[error("{0}")]
    Usage(String),
    /// The command ran and the answer is "no" (e.g. a rejected token): exit 1,
    /// its output already printed.
    #[error("rejected")]
    Rejected,
    /// Anything else: exit 1 with the message.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// One worker per CPU; with a single CPU (pinned with taskset, a one-CPU
/// container) or `TOKIO_WORKER_THREADS=1`, the single-threaded runtime: the
/// same model as a multi-threaded one with one worker, without its
/// cross-thread bookkeeping (5–8% less CPU per gateway request). Blocking
/// work (argon2) still runs on the blocking pool either way.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let workers = std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .or_else(|| std::thread::available_parallelism().ok().map(std::num::NonZeroUsize::get));
    let mut builder = if workers == Some(1) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(commands::run(args));
    log_sink::flush();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Rejected) => ExitCode::from(1),
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Other(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
