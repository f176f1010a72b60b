//! The `freshcreds-sim` binary.
//!
//! ```text
//! freshcreds-sim [--port N] [--time-scale F] [--lifetime-secs S] [--rotate-before-secs S]
//!                [--role-name R] [--script FILE] [--ignore-stdin]
//! ```
//!
//! Binds 127.0.0.1 only, then prints exactly one line to stdout and flushes it:
//! `{"event":"listening","port":N,"base_url":"http://127.0.0.1:N","origin_epoch_millis":M,"time_scale":F}`.
//! Durations are sim seconds (fractions allowed). Exits with status 0 on SIGINT, SIGTERM or when
//! stdin reaches EOF — so a parent that dies takes the simulator with it; `--ignore-stdin` turns
//! the stdin watch off (for running it by hand in the background). Bad arguments → usage on stderr,
//! exit status 2; failure to bind → exit status 1. `FRESHCREDS_SIM_LOG=1` logs one line per
//! request to stderr. `--script FILE` starts a fault script (the JSON of `POST /_sim/script`, see
//! `freshcreds_sim::script`) when the server starts, before the listening line is printed; an
//! unreadable or invalid file → exit status 2.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use freshcreds_sim::{clock::epoch_millis, Script, SimConfig, Simulator};
use serde::Serialize;

const USAGE: &str = "usage: freshcreds-sim [--port N] [--time-scale F] [--lifetime-secs S] \
[--rotate-before-secs S] [--role-name R] [--script FILE] [--ignore-stdin]";

#[derive(Debug)]
struct Args {
    cfg: SimConfig,
    watch_stdin: bool,
    script: Option<String>,
}

fn parse_secs(flag: &str, v: &str) -> Result<Duration, String> {
    let secs: f64 = v.parse().map_err(|_| format!("{flag}: not a number: {v:?}"))?;
    if secs.is_nan() || secs < 0.0 {
        return Err(format!("{flag}: must be >= 0, got {v}"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{flag}: out of range: {v}"))
}

/// `Ok(None)` means `--help`.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut cfg = SimConfig::default();
    let mut watch_stdin = true;
    let mut script = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--ignore-stdin" => {
                watch_stdin = false;
                continue;
            }
            _ => {}
        }
        let mut value = || inline.clone().or_else(|| it.next()).ok_or_else(|| format!("{flag}: missing value"));
        match flag.as_str() {
            "--port" => {
                let v = value()?;
                cfg.port = v.parse().map_err(|_| format!("--port: not a port number: {v:?}"))?;
            }
            "--time-scale" => {
                let v = value()?;
                cfg.time_scale = v.parse().map_err(|_| format!("--time-scale: not a number: {v:?}"))?;
            }
            "--lifetime-secs" => cfg.lifetime = parse_secs(&flag, &value()?)?,
            "--rotate-before-secs" => cfg.rotate_before = parse_secs(&flag, &value()?)?,
            "--role-name" => cfg.role_name = value()?,
            "--script" => script = Some(value()?),
            other => return Err(format!("unknown argument: {other:?}")),
        }
    }
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(Some(Args { cfg, watch_stdin, script }))
}

/// Reads and validates a script file.
fn load_script(path: &str) -> Result<Script, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--script {path}: {e}"))?;
    let script: Script = serde_json::from_str(&text).map_err(|e| format!("--script {path}: bad JSON: {e}"))?;
    script.validate().map_err(|e| format!("--script {path}: {e}"))?;
    Ok(script)
}

#[derive(Serialize)]
struct Listening<'a> {
    event: &'a str,
    port: u16,
    base_url: String,
    origin_epoch_millis: i64,
    time_scale: f64,
}

/// SIGINT/SIGTERM handlers, installed before the listening line is printed so that a signal sent
/// right after it is never lost.
#[cfg(unix)]
struct Signals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        Signals { int: signal(SignalKind::interrupt()).ok(), term: signal(SignalKind::terminate()).ok() }
    }

    async fn recv(&mut self) -> &'static str {
        async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            _ = next(&mut self.int) => "SIGINT",
            _ = next(&mut self.term) => "SIGTERM",
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> Signals {
        Signals
    }

    async fn recv(&mut self) -> &'static str {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        "Ctrl-C"
    }
}

/// Resolves when stdin reaches EOF (or fails). Reads on a plain thread so that the tokio runtime
/// never waits for a blocked read at shutdown.
async fn stdin_eof(watch: bool) {
    if !watch {
        return std::future::pending::<()>().await;
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let spawned = std::thread::Builder::new().name("stdin-watch".into()).spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 4096];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = tx.send(());
    });
    if spawned.is_err() {
        return std::future::pending::<()>().await;
    }
    let _ = rx.await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("freshcreds-sim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let script = match args.script.as_deref().map(load_script).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("freshcreds-sim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let log = args.cfg.log_requests;
    let mut signals = Signals::install();
    let sim = match Simulator::start(args.cfg).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("freshcreds-sim: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(script) = script {
        if let Err(e) = sim.run_script(script) {
            eprintln!("freshcreds-sim: --script: {e}");
            return ExitCode::from(2);
        }
    }
    let clock = sim.clock();
    let line = Listening {
        event: "listening",
        port: sim.addr().port(),
        base_url: sim.base_url(),
        origin_epoch_millis: epoch_millis(clock.origin()),
        time_scale: clock.scale(),
    };
    let written = serde_json::to_string(&line).map_err(std::io::Error::from).and_then(|line| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()
    });
    if let Err(e) = written {
        eprintln!("freshcreds-sim: cannot write to stdout: {e}");
        return ExitCode::from(1);
    }
    let reason = tokio::select! {
        _ = stdin_eof(args.watch_stdin) => "stdin closed",
        sig = signals.recv() => sig,
    };
    if log {
        eprintln!("freshcreds-sim: stopping ({reason})");
    }
    drop(sim);
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_flags() {
        let a = parse(&[
            "--port",
            "8080",
            "--time-scale=600",
            "--lifetime-secs",
            "3600",
            "--rotate-before-secs=60.5",
            "--role-name",
            "r1",
            "--script=s.json",
            "--ignore-stdin",
        ])
        .expect("ok")
        .expect("not help");
        assert_eq!(a.cfg.port, 8080);
        assert_eq!(a.cfg.time_scale, 600.0);
        assert_eq!(a.cfg.lifetime, Duration::from_secs(3600));
        assert_eq!(a.cfg.rotate_before, Duration::from_millis(60_500));
        assert_eq!(a.cfg.role_name, "r1");
        assert_eq!(a.script.as_deref(), Some("s.json"));
        assert!(!a.watch_stdin);
        assert!(parse(&["--help"]).expect("ok").is_none());
        assert!(parse(&[]).expect("ok").expect("args").watch_stdin);
    }

    #[test]
    fn rejects_bad_flags() {
        for bad in [
            &["--port"][..],
            &["--port", "70000"],
            &["--time-scale", "0"],
            &["--time-scale", "NaN"],
            &["--time-scale", "inf"],
            &["--lifetime-secs", "0"],
            &["--lifetime-secs", "-5"],
            &["--rotate-before-secs", "x"],
            &["--role-name", "a/b"],
            &["--bind", "x"],
            &["--script"],
            &["extra"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
