//! Log output: `tracing` to the JVM's standard error, filtered by `FRESHCREDS_LOG` (default
//! `info`: one line per credentials load, warnings for failed refreshes). Nothing logged ever
//! holds a secret; see the core crate's log test.
//!
//! The filter is `tracing_subscriber`'s `Targets` (`info`, `warn,freshcreds_core=debug`, `off`):
//! the same syntax as `RUST_LOG` for levels and targets, without the regex engine `EnvFilter` links
//! (a fifth of a megabyte in every platform's library). An unreadable value falls back to `info`
//! and says so once.

use once_cell::sync::OnceCell;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

const DEFAULT_FILTER: &str = "info";

/// The filter for a `FRESHCREDS_LOG` value, and the value back when it could not be read.
fn parse_filter(value: Option<&str>) -> (Targets, Option<String>) {
    let text = value.map(str::trim).filter(|v| !v.is_empty()).unwrap_or(DEFAULT_FILTER);
    match text.parse::<Targets>() {
        Ok(filter) => (filter, None),
        Err(_) => (DEFAULT_FILTER.parse().unwrap_or_default(), Some(text.to_string())),
    }
}

static INIT: OnceCell<()> = OnceCell::new();

pub fn init() {
    INIT.get_or_init(|| {
        let configured = std::env::var("FRESHCREDS_LOG").ok();
        let (filter, unreadable) = parse_filter(configured.as_deref());
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false);
        // Another library in the process may have set a global subscriber already: keep theirs.
        let _ = tracing_subscriber::registry().with(layer.with_filter(filter)).try_init();
        if let Some(value) = unreadable {
            tracing::warn!("FRESHCREDS_LOG='{value}' is not a log filter; using 'info'. Use a level (error, warn, info, debug, trace, off) or target=level pairs separated by commas.");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::level_filters::LevelFilter;

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
}
