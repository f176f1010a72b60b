//! Log output. Every enabled `tracing` event is formatted (level, target, message and fields, plain
//! text) into a bounded in-memory queue that Java drains (`NativeAgent.drainLogEvents`, from each
//! agent's watcher thread and on close) and logs through SLF4J or `java.util.logging`: no Rust
//! thread ever attaches to the JVM. The Java side sets the level (`NativeAgent.setLogLevel`) from
//! its logger `dev.freshcreds.native`, so nothing is formatted here for a level that is off. When
//! the queue is full the oldest event is dropped and counted; the next drain reports the count as
//! one warning. Nothing logged ever holds a secret; see the core crate's log test.
//!
//! Standard error gets the events too only when `FRESHCREDS_LOG` is set, filtered by its value:
//! `tracing_subscriber`'s `Targets` (`info`, `warn,freshcreds_core=debug`, `off`), the same syntax
//! as `RUST_LOG` for levels and targets, without the regex engine `EnvFilter` links (a fifth of a
//! megabyte in every platform's library). An unreadable value falls back to `info` and says so once.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};

use once_cell::sync::OnceCell;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

const DEFAULT_FILTER: &str = "info";

/// How many formatted events the queue holds before it drops the oldest.
pub const QUEUE_CAPACITY: usize = 1024;

/// The filter for a `FRESHCREDS_LOG` value, and the value back when it could not be read.
fn parse_filter(value: Option<&str>) -> (Targets, Option<String>) {
    let text = value.map(str::trim).filter(|v| !v.is_empty()).unwrap_or(DEFAULT_FILTER);
    match text.parse::<Targets>() {
        Ok(filter) => (filter, None),
        Err(_) => (DEFAULT_FILTER.parse().unwrap_or_default(), Some(text.to_string())),
    }
}

static INIT: OnceCell<()> = OnceCell::new();

/// Installs the global subscriber once: the queue layer and, when `FRESHCREDS_LOG` is set, the
/// standard error layer. Another library in the process may have set one already: theirs is kept.
pub fn init() {
    INIT.get_or_init(|| {
        let configured = std::env::var("FRESHCREDS_LOG").ok();
        let mut unreadable = None;
        let stderr = configured.as_deref().map(|value| {
            let (filter, bad) = parse_filter(Some(value));
            unreadable = bad;
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_target(false)
                .with_filter(filter)
        });
        let _ = tracing_subscriber::registry().with(QueueLayer.with_filter(JavaLevel)).with(stderr).try_init();
        if let Some(value) = unreadable {
            tracing::warn!("FRESHCREDS_LOG='{value}' is not a log filter; using 'info'. Use a level (error, warn, info, debug, trace, off) or target=level pairs separated by commas.");
        }
    });
}

// ------------------------------------------------------------------------- the level Java sets

/// 0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace: the most verbose level Java logs.
static LEVEL: AtomicU8 = AtomicU8::new(0);

/// Sets the most verbose level recorded for Java (0 off, 1 error … 5 trace; out of range clamps).
pub fn set_level(level: i32) {
    LEVEL.store(level.clamp(0, 5) as u8, Ordering::Relaxed);
}

fn level_number(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// A per-layer filter reading [`LEVEL`] on every event: `Interest::sometimes`, so a change takes
/// effect at once instead of being cached per call site.
struct JavaLevel;

impl<S> Filter<S> for JavaLevel {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        meta.is_event() && level_number(meta.level()) <= LEVEL.load(Ordering::Relaxed)
    }

    fn callsite_enabled(&self, _meta: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // The level may become more verbose later: promise nothing.
        Some(LevelFilter::TRACE)
    }
}

// ------------------------------------------------------------------------------------ the queue

/// One formatted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: &'static str,
    /// The `tracing` target, e.g. `freshcreds_core::cache`.
    pub target: String,
    /// The message, then ` name=value` for each other field.
    pub message: String,
}

struct Queue {
    events: VecDeque<LogEvent>,
    dropped: u64,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue { events: VecDeque::new(), dropped: 0 });
static FORMATTED: AtomicU64 = AtomicU64::new(0);

fn queue() -> MutexGuard<'static, Queue> {
    // Nothing panics while holding the lock; a poisoned queue is still a queue.
    QUEUE.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How many events were formatted for Java since the process started (a test hook).
pub fn formatted_count() -> u64 {
    FORMATTED.load(Ordering::Relaxed)
}

fn push(event: LogEvent) {
    FORMATTED.fetch_add(1, Ordering::Relaxed);
    let mut queue = queue();
    while queue.events.len() >= QUEUE_CAPACITY {
        queue.events.pop_front();
        queue.dropped += 1;
    }
    queue.events.push_back(event);
}

/// Takes up to `max` events, oldest first; when events were dropped since the last drain, the
/// first one is a warning that says how many.
pub fn drain(max: usize) -> Vec<LogEvent> {
    let mut queue = queue();
    let mut out = Vec::with_capacity(max.min(queue.events.len() + 1));
    if max == 0 {
        return out;
    }
    if queue.dropped > 0 {
        out.push(LogEvent {
            level: "WARN",
            target: module_path!().to_string(),
            message: format!(
                "{} native log events were dropped: more than {QUEUE_CAPACITY} were waiting to be logged through Java",
                queue.dropped
            ),
        });
        queue.dropped = 0;
    }
    let take = (max - out.len()).min(queue.events.len());
    out.extend(queue.events.drain(..take));
    out
}

/// The layer that formats each enabled event into the queue.
struct QueueLayer;

impl<S: Subscriber> Layer<S> for QueueLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = PlainFields::default();
        event.record(&mut fields);
        let level = match *meta.level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARN",
            Level::INFO => "INFO",
            Level::DEBUG => "DEBUG",
            Level::TRACE => "TRACE",
        };
        push(LogEvent { level, target: meta.target().to_string(), message: fields.finish() });
    }
}

/// The message, then ` name=value` per field; strings are written as they are, not quoted.
#[derive(Default)]
struct PlainFields {
    message: String,
    rest: String,
}

impl PlainFields {
    fn finish(self) -> String {
        if self.message.is_empty() {
            self.rest.trim_start().to_string()
        } else {
            self.message + &self.rest
        }
    }
}

impl Visit for PlainFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_targets_parse_and_garbage_falls_back_to_info() {
        assert_eq!(parse_filter(None).0.default_level(), Some(LevelFilter::INFO));
        assert_eq!(parse_filter(Some("warn")).0.default_level(), Some(LevelFilter::WARN));
        assert_eq!(parse_filter(Some("off")).0.default_level(), Some(LevelFilter::OFF));
        let (targets, unreadable) = parse_filter(Some("warn,freshcreds_core=debug"));
        assert!(unreadable.is_none());
        assert!(targets.would_enable("freshcreds_core::agent", &tracing::Level::DEBUG));
        assert!(!targets.would_enable("aws_config", &tracing::Level::INFO));
        let (fallback, unreadable) = parse_filter(Some("loud=very"));
        assert_eq!(unreadable.as_deref(), Some("loud=very"));
        assert_eq!(fallback.default_level(), Some(LevelFilter::INFO));
    }

    /// One test for the process-wide queue and level, so no other test races it.
    #[test]
    fn events_are_gated_by_the_java_level_formatted_plainly_and_bounded() {
        let subscriber = tracing_subscriber::registry().with(QueueLayer.with_filter(JavaLevel));
        tracing::subscriber::with_default(subscriber, || {
            drain(usize::MAX);
            set_level(2);
            let before = formatted_count();
            tracing::info!(target: "t::info", "not recorded");
            assert_eq!(formatted_count(), before, "an INFO event was formatted with the level at WARN");
            tracing::warn!(target: "t::warn", role = "r1", attempt = 2, "refresh failed");
            set_level(3);
            tracing::info!(target: "t::info", "now recorded");
            let events = drain(10);
            assert_eq!(
                events,
                vec![
                    LogEvent { level: "WARN", target: "t::warn".into(), message: "refresh failed role=r1 attempt=2".into() },
                    LogEvent { level: "INFO", target: "t::info".into(), message: "now recorded".into() },
                ]
            );

            for i in 0..QUEUE_CAPACITY + 5 {
                tracing::info!(target: "t::many", "event {i}");
            }
            let first = drain(3);
            assert_eq!(first.len(), 3);
            assert_eq!(first[0].level, "WARN");
            assert!(first[0].message.starts_with("5 native log events were dropped"), "{}", first[0].message);
            assert_eq!(first[1].message, "event 5");
            let rest = drain(usize::MAX);
            assert_eq!(rest.len(), QUEUE_CAPACITY - 2);
            assert!(drain(usize::MAX).is_empty());
            set_level(0);
        });
    }
}
