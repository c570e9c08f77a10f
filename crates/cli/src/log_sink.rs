//! Where log lines go: stderr, with access lines batched.
//!
//! An access line per request written straight to stderr is one `write`
//! system call per request, which at gateway rates costs as much as a tenth
//! of the request, and tracing-subscriber's JSON formatter costs about as
//! much again. Access lines are instead formatted by [`AccessLayer`] (the
//! same text and JSON shapes, far cheaper) and appended to a buffer that is
//! written out when it passes [`FLUSH_AT`] bytes, at least every
//! [`FLUSH_EVERY`] (a task on the runtime), before any other log line (so the
//! order of lines is kept), and at exit ([`flush`]). This is nginx's
//! `access_log … buffer=32k flush=1s`: a process killed with SIGKILL loses at
//! most the last second of access lines; every other line is written at once.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, SystemTime};

use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;

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

/// Appends one access line, writing the buffer out when it is full (or at
/// once when there is no flusher).
fn append_access(line: &[u8]) {
    let batched = start_flusher();
    let mut buffer = pending();
    buffer.extend_from_slice(line);
    if !batched || buffer.len() >= FLUSH_AT {
        write_out(&mut buffer);
    }
}

/// The `tracing_subscriber` writer for every line but access lines: the
/// buffered access lines first, then the line, at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSink;

/// One event's line, appended whole to the buffer and written out on drop.
#[derive(Debug)]
pub struct LineWriter;

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
        write_out(&mut pending());
    }
}

impl<'a> MakeWriter<'a> for LogSink {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter
    }
}

/// Whether an event is an access line (they go through [`AccessLayer`]).
pub fn is_access(meta: &Metadata<'_>) -> bool {
    meta.target() == ACCESS_TARGET
}

/// Formats access events itself, in the same shapes as `tracing_subscriber`'s
/// text and JSON formats, at a tenth of their cost (no per-field serializer,
/// no intermediate strings but for `Display` fields), into the batch.
#[derive(Debug, Clone, Copy)]
pub struct AccessLayer {
    /// JSON lines (`log.format = "json"`) rather than text.
    pub json: bool,
}

thread_local! {
    static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

impl<S: Subscriber> Layer<S> for AccessLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !is_access(event.metadata()) {
            return;
        }
        // Log timestamps are the wall clock by definition (as in every other
        // line, which tracing-subscriber stamps the same way).
        #[allow(clippy::disallowed_methods)]
        let now = SystemTime::now();
        LINE.with_borrow_mut(|line| {
            line.clear();
            format_access(line, self.json, event, now);
            append_access(line);
        });
    }
}

fn format_access(line: &mut Vec<u8>, json: bool, event: &Event<'_>, at: SystemTime) {
    let level = event.metadata().level();
    // Pieces are appended as bytes: `write!` costs more than the rest of the
    // line together. (Writes into a Vec cannot fail.)
    if json {
        line.extend_from_slice(b"{\"timestamp\":\"");
        push_timestamp(line, at);
        line.extend_from_slice(b"\",\"level\":\"");
        line.extend_from_slice(level.as_str().as_bytes());
        line.extend_from_slice(b"\",\"fields\":{");
    } else {
        push_timestamp(line, at);
        let _ = write!(line, " {level:>5} {ACCESS_TARGET}: ");
    }
    event.record(&mut Fields { line, json, first: true });
    if json {
        line.extend_from_slice(b"},\"target\":\"");
        line.extend_from_slice(ACCESS_TARGET.as_bytes());
        line.extend_from_slice(b"\"}\n");
    } else {
        line.push(b'\n');
    }
}

thread_local! {
    /// The last second formatted (`2026-12-03T15:23:39`), reused by every
    /// line of that second.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Appends `at` as RFC 3339 in UTC with microseconds (as tracing-subscriber
/// writes it), formatting the date and time only once per second.
fn push_timestamp(line: &mut Vec<u8>, at: SystemTime) {
    let since = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    SECOND.with_borrow_mut(|(second, text)| {
        if *second != since.as_secs() {
            *second = since.as_secs();
            text.clear();
            let whole = humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(*second));
            let _ = std::fmt::Write::write_fmt(text, format_args!("{whole}"));
            // Without the trailing `Z`: the fraction goes before it.
            text.pop();
        }
        line.extend_from_slice(text.as_bytes());
    });
    let mut micros = since.subsec_micros();
    let mut fraction = *b".000000Z";
    for digit in fraction[1..7].iter_mut().rev() {
        *digit = b'0' + u8::try_from(micros % 10).unwrap_or(0);
        micros /= 10;
    }
    line.extend_from_slice(&fraction);
}

/// Writes an event's fields: `"name":value` pairs (JSON) or `name=value`.
struct Fields<'a> {
    line: &'a mut Vec<u8>,
    json: bool,
    first: bool,
}

impl Fields<'_> {
    fn name(&mut self, field: &Field) {
        let separator = if self.first {
            ""
        } else if self.json {
            ","
        } else {
            " "
        };
        self.first = false;
        self.line.extend_from_slice(separator.as_bytes());
        if self.json {
            self.line.push(b'"');
            self.line.extend_from_slice(field.name().as_bytes());
            self.line.extend_from_slice(b"\":");
        } else {
            self.line.extend_from_slice(field.name().as_bytes());
            self.line.push(b'=');
        }
    }

    fn string(&mut self, value: &str) {
        if self.json && value.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\') {
            // Nothing to escape (request ids, methods, route names).
            self.line.push(b'"');
            self.line.extend_from_slice(value.as_bytes());
            self.line.push(b'"');
            return;
        }
        let _ = if self.json {
            serde_json::to_writer(&mut *self.line, value).map_err(std::io::Error::from)
        } else {
            write!(self.line, "{value:?}")
        };
    }

    fn integer(&mut self, value: impl itoa::Integer) {
        self.line.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.name(field);
        self.string(value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.name(field);
        self.integer(value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.name(field);
        self.integer(value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.name(field);
        self.line.extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.name(field);
        if self.json {
            self.string(&format!("{value:?}"));
        } else {
            let _ = write!(self.line, "{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// Captures what [`format_access`] makes of the events logged in `f`.
    fn lines(json: bool, f: impl FnOnce()) -> Vec<String> {
        #[derive(Clone)]
        struct Capture {
            json: bool,
            lines: std::sync::Arc<Mutex<Vec<String>>>,
        }
        impl<S: Subscriber> Layer<S> for Capture {
            fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
                let mut line = Vec::new();
                format_access(&mut line, self.json, event, SystemTime::UNIX_EPOCH);
                self.lines.lock().unwrap().push(String::from_utf8(line).unwrap());
            }
        }
        let capture = Capture { json, lines: Default::default() };
        tracing::subscriber::with_default(tracing_subscriber::registry().with(capture.clone()), f);
        capture.lines.lock().unwrap().clone()
    }

    fn log_one() {
        let route = "gateway:\"odd\" name";
        tracing::info!(target: "access", request_id = "a\"b\\c", method = "GET", route = %route, status = 200u16, micros = 17u64, cached = true);
    }

    #[test]
    fn json_access_lines_are_json_with_the_fields_escaped() {
        let line = &lines(true, log_one)[0];
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "timestamp": "1970-01-01T00:00:00.000000Z",
                "level": "INFO",
                "fields": {"request_id": "a\"b\\c", "method": "GET", "route": "gateway:\"odd\" name", "status": 200, "micros": 17, "cached": true},
                "target": "access",
            })
        );
    }

    #[test]
    fn json_access_lines_escape_control_characters_and_keep_unicode() {
        let line = &lines(true, || {
            tracing::info!(target: "access", agent = "tab\there \u{1} é", offset = -5i64);
        })[0];
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["fields"], serde_json::json!({"agent": "tab\there \u{1} é", "offset": -5}));
        assert!(line.contains("\\t") && line.contains("\\u0001"));
    }

    #[test]
    fn timestamps_are_rfc3339_with_microseconds_across_seconds() {
        for (secs, micros) in [(0, 0), (1_780_000_000, 7), (1_780_000_000, 999_999), (1_780_000_001, 120_000)] {
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros);
            let mut line = Vec::new();
            push_timestamp(&mut line, at);
            assert_eq!(String::from_utf8(line).unwrap(), humantime::format_rfc3339_micros(at).to_string());
        }
    }

    #[test]
    fn text_access_lines_look_like_the_other_text_lines() {
        assert_eq!(
            lines(false, log_one),
            [
                "1970-01-01T00:00:00.000000Z  INFO access: request_id=\"a\\\"b\\\\c\" method=\"GET\" route=gateway:\"odd\" name status=200 micros=17 cached=true\n"
            ]
        );
    }
}
