//! Log output: `tracing` to the JVM's standard error, filtered by `FRESHCREDS_LOG` (default
//! `info`: one line per credentials load, warnings for failed refreshes). Nothing logged ever
//! holds a secret; see the core crate's log test.

use once_cell::sync::OnceCell;

static INIT: OnceCell<()> = OnceCell::new();

pub fn init() {
    INIT.get_or_init(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_env("FRESHCREDS_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        // Another library in the process may have set a global subscriber already: keep theirs.
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .try_init();
    });
}
