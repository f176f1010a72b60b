//! `freshcreds-doctor`: the checks of `java -jar freshcreds.jar doctor` for hosts without a JVM.
//! The checks are `freshcreds_core::doctor`'s; this file only maps flags onto its settings.
//!
//! ```text
//! freshcreds-doctor [--json] [--call-sts] [--sts-endpoint URL] [--root DIR] [--option KEY=VALUE]...
//! ```
//!
//! Exit code: 0 every check passed, 1 a warning, 2 a failure; 3 the command line is wrong.

// No unwrap or expect outside tests (the crate-wide rule of the workspace).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::process::ExitCode;

use freshcreds_core::doctor::{run_with_settings, setting};

/// The exit code for a wrong command line: beyond the checks' 0, 1 and 2.
const EXIT_USAGE: u8 = 3;

const USAGE: &str = "usage: freshcreds-doctor [--json] [--call-sts] [--sts-endpoint URL] [--root DIR] [--option KEY=VALUE]...

Runs the checklist for 403 ExpiredToken on this host: the credential chain, IMDS (token, role,
credentials, throttling), proxies, the credentials' lifetime, the clock and its synchronisation.
Settings come from the environment and ~/.aws/config as the SDK reads them; --option sets an
agent option (e.g. --option endpoint=http://127.0.0.1:8080, --option source=imds).

  --json               the report as JSON (schema freshcreds-doctor/1)
  --call-sts           make one signed STS GetCallerIdentity with the credentials found
  --sts-endpoint URL   ...at this endpoint (implies --call-sts)
  --root DIR           read /proc and /etc under DIR (a chroot)

Exit code: 0 all passed, 1 a warning, 2 a failure, 3 a wrong command line.";

/// `key`, `value` pairs.
type Pairs = Vec<(String, String)>;

/// The agent options and doctor settings a command line gives, or what is wrong with it.
fn parse(args: &[String]) -> Result<(Pairs, Pairs), String> {
    let mut options = Vec::new();
    let mut settings = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--json" => settings.push((setting::JSON.to_string(), "true".to_string())),
            "--call-sts" => settings.push((setting::CALL_STS.to_string(), "true".to_string())),
            "--sts-endpoint" => settings.push((setting::STS_ENDPOINT.to_string(), value(arg)?)),
            "--root" => settings.push((setting::ROOT.to_string(), value(arg)?)),
            "--option" => {
                let pair = value(arg)?;
                let (key, v) = pair.split_once('=').ok_or_else(|| format!("--option takes KEY=VALUE, got '{pair}'"))?;
                options.push((key.to_string(), v.to_string()));
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok((options, settings))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let (options, settings) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(problem) => {
            eprintln!("freshcreds-doctor: {problem}\n\n{USAGE}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run_with_settings(options, &settings) {
        Ok((code, report)) => {
            print!("{report}");
            ExitCode::from(u8::try_from(code).unwrap_or(EXIT_USAGE))
        }
        Err(e) => {
            eprintln!("freshcreds-doctor: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_map_onto_settings_and_options() {
        let (options, settings) =
            parse(&strings(&["--json", "--sts-endpoint", "http://127.0.0.1:1", "--option", "source=imds"])).expect("valid");
        assert_eq!(options, vec![("source".to_string(), "imds".to_string())]);
        assert_eq!(settings[0], ("json".to_string(), "true".to_string()));
        assert_eq!(settings[1], ("stsEndpoint".to_string(), "http://127.0.0.1:1".to_string()));
        assert!(parse(&strings(&["--option", "novalue"])).is_err());
        assert!(parse(&strings(&["--sts-endpoint"])).is_err());
        assert!(parse(&strings(&["--bogus"])).is_err());
    }
}
