//! Where log lines go: stderr, with access lines batched.
//!
//! An access line per request written straight to stderr is one `write`
//! system call per request, which at gateway rates costs as much as a tenth
//! of the request. Access lines are instead appended to a buffer that is
//! written out when it passes [`FLUSH_AT`] bytes, at least every
//! [`FLUSH_EVERY`] (a task on the runtime), before any other log line (so the
//! order of lines is kept), and at exit ([`flush`]). This is nginx's
//! `access_log … buffer=32k flush=1s`: a process killed with SIGKILL loses at
//! most the last second of access lines; every other line is written at once.

use std::io::Write;
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

use tracing::Metadata;
use tracing_subscriber::fmt::MakeWriter;

/// Buffered access lines are written out once they reach this many bytes.
pub const FLUSH_AT: usize = 32 * 1024;
/// ... and at least this often.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The target of access-log events (`tracing::info!(target: "access", …)`).
const ACCESS_TARGET: &str = "access";

static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static FLUSHER: Once = Once::new();

fn pending() -> MutexGuard<'static, Vec<u8>> {
    // A panic while holding the lock leaves at worst a partial line.
    PENDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write_out(buffer: &mut Vec<u8>) {
    if buffer.is_empty() {
        return;
    }
    // Nowhere to report a failed write to stderr; the lines are dropped
    // rather than kept growing.
    let _ = std::io::stderr().lock().write_all(buffer);
    buffer.clear();
}

/// Writes out any buffered access lines (called at exit).
pub fn flush() {
    write_out(&mut pending());
}

/// Starts the timer that writes out the buffer, on the runtime the first
/// access line was logged from; `false` (write the line through) when there
/// is no runtime to run it on.
fn start_flusher() -> bool {
    if FLUSHER.is_completed() {
        return true;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return false };
    FLUSHER.call_once(|| {
        runtime.spawn(async {
            let mut every = tokio::time::interval(FLUSH_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                flush();
            }
        });
    });
    true
}

/// The `tracing_subscriber` writer: stderr, access lines batched.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSink;

/// One event's line, appended whole to the buffer.
#[derive(Debug)]
pub struct LineWriter {
    batched: bool,
}

impl Write for LineWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        pending().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let mut buffer = pending();
        if !self.batched || buffer.len() >= FLUSH_AT {
            write_out(&mut buffer);
        }
    }
}

impl<'a> MakeWriter<'a> for LogSink {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter { batched: false }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> LineWriter {
        LineWriter { batched: meta.target() == ACCESS_TARGET && start_flusher() }
    }
}
