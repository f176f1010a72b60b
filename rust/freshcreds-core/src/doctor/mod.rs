//! `doctor`: the AWS troubleshooting checklist for `403 ExpiredToken` on EC2 as one run of checks,
//! each a line with its status, its finding and the fix. The Java entry point (`java -jar
//! freshcreds.jar doctor`) and the `freshcreds-doctor` binary both run [`run`]; only how the options
//! reach it differs.
//!
//! * Nothing here prints a secret: findings name sources, key ids' prefixes never, expirations and
//!   counts only.
//! * Every address contacted is the configured IMDS endpoint (and, with `--call-sts`, the STS
//!   endpoint); time servers are never contacted, their configuration is read.
//! * The host's files (`/proc`, `/etc`, `/.dockerenv`) are read under [`Host::root`], so tests use a
//!   temporary root.

pub mod host;
pub mod imds_probe;
pub mod proxy;
mod run;
pub mod settings_check;
pub mod sts;
pub mod timesync;

pub use run::{run, run_blocking, Inputs, DEFAULT_PROBE_SPACING, DEFAULT_THROTTLE_PROBES, MAX_CLOCK_OFFSET};

use serde_json::{Map, Value};

/// A check's result. The run's exit code is the worst one's: pass 0, warn 1, fail 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Nothing wrong found, or the check does not apply (its finding says which).
    Pass,
    /// Works now, but is a risk or a likely cause; the fix says what to change.
    Warn,
    /// Broken: credentials will fail or expire unrefreshed.
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }

    pub fn exit_code(self) -> i32 {
        match self {
            Status::Pass => 0,
            Status::Warn => 1,
            Status::Fail => 2,
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Stable id for automation, `<area>.<what>`: `clock.offset`, `imds.token`, `proxy.env`.
    pub id: &'static str,
    pub status: Status,
    /// What was found, in one sentence.
    pub finding: String,
    /// What to do; `None` when nothing needs doing.
    pub fix: Option<String>,
    /// Machine-readable facts behind the finding (numbers in plain units: `_ms`, `_s`).
    pub details: Map<String, Value>,
}

impl Check {
    pub fn new(id: &'static str, status: Status, finding: impl Into<String>) -> Self {
        Self { id, status, finding: finding.into(), fix: None, details: Map::new() }
    }

    pub fn pass(id: &'static str, finding: impl Into<String>) -> Self {
        Self::new(id, Status::Pass, finding)
    }

    pub fn warn(id: &'static str, finding: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(id, Status::Warn, finding).with_fix(fix)
    }

    pub fn fail(id: &'static str, finding: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(id, Status::Fail, finding).with_fix(fix)
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }
}

/// The whole run: every check, in the order they are printed.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

/// The version of [`Report::to_json`]'s shape; it changes only when a field changes meaning or
/// goes away (new fields and new check ids may appear within a version).
pub const JSON_SCHEMA: &str = "freshcreds-doctor/1";

impl Report {
    /// The worst status; [`Status::Pass`] for an empty report.
    pub fn worst(&self) -> Status {
        self.checks.iter().map(|c| c.status).max().unwrap_or(Status::Pass)
    }

    /// 0, 1 or 2: the worst status (pass, warn, fail).
    pub fn exit_code(&self) -> i32 {
        self.worst().exit_code()
    }

    /// The first check with this id.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// One line per check (`PASS`, `WARN`, `FAIL`, the id, the finding), the fix indented below it,
    /// and a summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            out.push_str(&format!("{:<4}  {:<20} {}\n", c.status.as_str().to_uppercase(), c.id, c.finding));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("{:<26} fix: {fix}\n", ""));
            }
        }
        let count = |s: Status| self.checks.iter().filter(|c| c.status == s).count();
        out.push_str(&format!(
            "freshcreds doctor {}: {} passed, {} warnings, {} failed (exit code {})\n",
            crate::VERSION,
            count(Status::Pass),
            count(Status::Warn),
            count(Status::Fail),
            self.exit_code()
        ));
        out
    }

    /// `{"schema": "freshcreds-doctor/1", "version", "status", "exit_code", "checks": [{"id",
    /// "status", "finding", "fix" (null when none), "details": {...}}]}`.
    pub fn to_json(&self) -> String {
        let checks: Vec<Value> = self
            .checks
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.id,
                    "status": c.status.as_str(),
                    "finding": c.finding,
                    "fix": c.fix,
                    "details": Value::Object(c.details.clone()),
                })
            })
            .collect();
        let report = serde_json::json!({
            "schema": JSON_SCHEMA,
            "version": crate::VERSION,
            "status": self.worst().as_str(),
            "exit_code": self.exit_code(),
            "checks": checks,
        });
        // A Value always serializes; the fallback keeps the no-panic rule without an expect.
        serde_json::to_string_pretty(&report).unwrap_or_else(|_| "{}".to_string())
    }
}

/// The doctor's own settings, by the names both entry points pass them in (the binary's flags and
/// the Java entry point's arguments map onto these).
pub mod setting {
    /// `true`: the report as JSON ([`super::Report::to_json`]) instead of text.
    pub const JSON: &str = "json";
    /// `true`: make one signed STS `GetCallerIdentity`.
    pub const CALL_STS: &str = "callSts";
    /// The STS endpoint URL for `callSts` (default: `AWS_ENDPOINT_URL_STS`, else STS in the region).
    pub const STS_ENDPOINT: &str = "stsEndpoint";
    /// Read `/proc`, `/etc` and `/.dockerenv` under this directory instead of `/` (a chroot, tests).
    pub const ROOT: &str = "root";
    /// The JVM's proxy properties, which the Java entry point passes on.
    pub const HTTP_PROXY_HOST: &str = "http.proxyHost";
    pub const HTTP_PROXY_PORT: &str = "http.proxyPort";
    pub const HTTP_NON_PROXY_HOSTS: &str = "http.nonProxyHosts";
    /// Every name [`super::run_with_settings`] takes.
    pub const ALL: [&str; 7] = [JSON, CALL_STS, STS_ENDPOINT, ROOT, HTTP_PROXY_HOST, HTTP_PROXY_PORT, HTTP_NON_PROXY_HOSTS];
}

/// Runs the doctor for one entry point: the agent `options`, the doctor's own `settings` (names in
/// [`setting`]), the process environment. Returns the exit code and the report as text or JSON;
/// an error only for an unknown setting.
pub fn run_with_settings(options: Vec<(String, String)>, settings: &[(String, String)]) -> Result<(i32, String), crate::CredentialsError> {
    let mut inputs = Inputs::new(options);
    let mut json = false;
    for (key, value) in settings {
        let value = value.trim().to_string();
        let on = value.eq_ignore_ascii_case("true");
        match key.as_str() {
            setting::JSON => json = on,
            setting::CALL_STS => inputs.call_sts = on,
            setting::STS_ENDPOINT => {
                inputs.sts_endpoint = Some(value);
                inputs.call_sts = true;
            }
            setting::ROOT => inputs.root = std::path::PathBuf::from(value),
            setting::HTTP_PROXY_HOST => inputs.java_proxy.http_proxy_host = Some(value),
            setting::HTTP_PROXY_PORT => inputs.java_proxy.http_proxy_port = Some(value),
            setting::HTTP_NON_PROXY_HOSTS => inputs.java_proxy.http_non_proxy_hosts = Some(value),
            other => {
                return Err(crate::CredentialsError::invalid_config(
                    format!("'{other}' is not a doctor setting"),
                    format!("Use one of: {}.", setting::ALL.join(", ")),
                ))
            }
        }
    }
    let report = run_blocking(inputs)?;
    Ok((report.exit_code(), if json { report.to_json() } else { report.to_text() }))
}
