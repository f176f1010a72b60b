//! The checks in order, from one set of options as the agent would get them: settings, chain,
//! proxy, IMDS (token, role, credentials, throttling), the credentials' lifetime, the clock and,
//! when asked, one signed STS call.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::imds_probe::{self, ImdsFindings};
use super::proxy::{self, JavaProxyProperties};
use super::timesync::{self, KernelClock};
use super::{host, settings_check, sts, Check, Report};
use crate::agent::{cache_config, chain_inputs, AgentClocks};
use crate::clock::{BootClock, SystemBootClock, SystemClock};
use crate::config::AgentOptions;
use crate::env::{self as env_vars, Env};
use crate::error::CredentialsError;
use crate::settings::Lookup;
use crate::sources::chain::{self, SourceKind};

/// Probes of the role list spaced over the throttling check.
pub const DEFAULT_THROTTLE_PROBES: u32 = 3;
/// The pause between two throttling probes.
pub const DEFAULT_PROBE_SPACING: Duration = Duration::from_millis(500);
/// An offset from AWS time above this fails the clock check: SigV4 allows 5 minutes, and the
/// credentials' refresh windows assume a clock within a minute.
pub const MAX_CLOCK_OFFSET: Duration = Duration::from_secs(60);
/// Above this the offset is a warning: within SigV4's tolerance, but a sign the clock drifts.
pub const WARN_CLOCK_OFFSET: Duration = Duration::from_secs(5);

/// What the doctor looks at. [`Inputs::new`] gives the host's own view; tests replace the parts
/// that would read this machine (root, kernel clock).
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The agent options, as `key`, `value` pairs (the Java entry point passes the same ones as a
    /// builder with no option set would, system properties included).
    pub options: Vec<(String, String)>,
    pub env: Env,
    pub java_proxy: JavaProxyProperties,
    /// Where `/proc`, `/etc` and `/.dockerenv` are read.
    pub root: PathBuf,
    /// The kernel's clock discipline; `None` where it cannot be read.
    pub kernel_clock: Option<KernelClock>,
    /// `--call-sts`: one signed `GetCallerIdentity`, at this endpoint when given.
    pub call_sts: bool,
    pub sts_endpoint: Option<String>,
    pub throttle_probes: u32,
    pub probe_spacing: Duration,
    pub boot_clock: Arc<dyn BootClock>,
}

impl Inputs {
    /// This host: `/`, the kernel's clock, the process environment.
    pub fn new(options: Vec<(String, String)>) -> Self {
        Self {
            options,
            env: Env::process(),
            java_proxy: JavaProxyProperties::default(),
            root: PathBuf::from("/"),
            kernel_clock: timesync::read_kernel_clock(),
            call_sts: false,
            sts_endpoint: None,
            throttle_probes: DEFAULT_THROTTLE_PROBES,
            probe_spacing: DEFAULT_PROBE_SPACING,
            boot_clock: Arc::new(SystemBootClock),
        }
    }
}

/// Runs every check on the shared runtime and waits for the report.
pub fn run_blocking(inputs: Inputs) -> Result<Report, CredentialsError> {
    Ok(crate::runtime::runtime()?.block_on(run(inputs)))
}

/// Runs every check. Never fails: what goes wrong is a finding.
pub async fn run(inputs: Inputs) -> Report {
    let mut report = Report::default();
    let (options, option_error) = match AgentOptions::from_pairs(&inputs.options) {
        Ok(options) => (options, None),
        Err(e) => (AgentOptions::default(), Some(e)),
    };
    let lookup = Lookup::for_options(&options, inputs.env.clone());
    report.checks.push(settings_check::check(&inputs.options, &options, &lookup, option_error.as_ref()));

    let clocks = match AgentClocks::for_options(&options) {
        Ok(clocks) => clocks,
        Err(e) => {
            report.checks.push(Check::fail("settings.clock", e.to_string(), "Fix the clock options."));
            return report;
        }
    };
    let inputs_for_chain = chain_inputs(&options, &inputs.env, &lookup, &clocks);
    let imds_builder = inputs_for_chain.imds.as_ref().map(|link| link.client.clone());
    let resolution = chain::resolve(&inputs_for_chain);

    // The chain: which source wins and what it hides.
    let attached_role = match &resolution {
        Ok(r) => match &r.imds_probe {
            Some(probe) => probe.attached_role().await,
            None => None,
        },
        Err(_) => None,
    };
    report.checks.push(chain_check(&resolution, attached_role.as_deref()));
    report.checks.push(temporary_keys_check(&inputs.env, &options, &lookup));

    // Proxies, against the endpoint IMDS requests go to.
    let endpoint = options.imds_client_builder_with(lookup.clone()).resolved_endpoint();
    if let Ok(url) = &endpoint {
        report.checks.extend(proxy::checks(&inputs.env, &inputs.java_proxy, url));
    }

    // IMDS, step by step, then the credentials of whichever source won.
    let container = host::container(&inputs.root);
    let mut imds_findings = ImdsFindings::default();
    match imds_builder {
        None => report.checks.push(imds_disabled_check(&lookup, &options, &resolution)),
        Some(builder) => match builder.max_attempts(1).build(clocks.clock.clone()) {
            Err(e) => report.checks.push(Check::fail("imds.token", e.to_string(), "Fix the IMDS setting the message names.")),
            Ok(client) => {
                imds_findings =
                    imds_probe::probe(&client, options.role_name.as_deref(), container.as_deref(), inputs.boot_clock.as_ref()).await;
                report.checks.append(&mut imds_findings.checks);
                report.checks.push(
                    imds_probe::throttling(
                        &client,
                        &imds_findings,
                        inputs.throttle_probes,
                        inputs.probe_spacing,
                        inputs.boot_clock.as_ref(),
                    )
                    .await,
                );
            }
        },
    }
    report.checks.push(credentials_check(&resolution, &imds_findings, &options, clocks.clock.as_ref()).await);

    // The clock: the offset IMDS's Date headers show, then (with --call-sts) STS's, then the host.
    let mut sts_offset_ms = None;
    if inputs.call_sts {
        let (check, offset) = match &resolution {
            Ok(r) => sts::call(r.provider.as_ref(), &inputs.env, inputs.sts_endpoint.as_deref(), Arc::new(SystemClock)).await,
            Err(e) => (Check::fail("sts.call", format!("no credentials to sign with: {e}"), "Fix the chain first (chain.source)."), None),
        };
        sts_offset_ms = offset;
        report.checks.push(check);
    }
    report.checks.push(offset_check(clocks.skew.estimate().samples.len(), clocks.skew.offset_ms(), sts_offset_ms));
    report.checks.extend(timesync::checks(&timesync::inspect(&inputs.root), inputs.kernel_clock.as_ref()));
    report
}

fn chain_check(resolution: &Result<chain::Resolution, CredentialsError>, attached_role: Option<&str>) -> Check {
    let r = match resolution {
        Ok(r) => r,
        Err(e) => {
            return Check::fail("chain.source", format!("no credential source works: {e}"), "Follow the fix in the message.")
                .detail("winner", Value::Null)
        }
    };
    let shadowed: Vec<&str> = r.shadowed.iter().map(|k| k.name()).collect();
    let skipped: Vec<String> = r.skipped.iter().map(|(k, e)| format!("{}: {e}", k.name())).collect();
    let mut check = match (r.winner, attached_role) {
        (SourceKind::Imds, _) if shadowed.is_empty() => {
            Check::pass("chain.source", "the instance role (IMDS) wins the chain; nothing shadows it")
        }
        (winner, Some(role)) => Check::warn(
            "chain.source",
            format!(
                "credentials from '{}' win the chain and shadow this instance's IAM role '{role}'{}",
                winner.name(),
                if shadowed.is_empty() { String::new() } else { format!(" (also configured: {})", shadowed.join(", ")) }
            ),
            remove_fix(winner),
        ),
        (winner, None) if shadowed.is_empty() => {
            Check::pass("chain.source", format!("credentials from '{}' win the chain; nothing else is configured", winner.name()))
        }
        (winner, None) => Check::warn(
            "chain.source",
            format!("credentials from '{}' win the chain and shadow: {}", winner.name(), shadowed.join(", ")),
            format!("If '{}' is not the source you mean to use: {}", shadowed[0], remove_fix(winner)),
        ),
    };
    if !skipped.is_empty() {
        check.finding.push_str(&format!("; skipped as unusable: {}", skipped.join("; ")));
    }
    check
        .detail("winner", r.winner.name())
        .detail("shadowed", shadowed.clone())
        .detail("instance_role", attached_role.map(str::to_string))
        .detail("skipped", skipped.len())
}

/// How to take a source out of the chain.
fn remove_fix(kind: SourceKind) -> String {
    match kind {
        SourceKind::Environment => "unset AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN in the application's environment (systemd unit, container definition, shell profile).".into(),
        SourceKind::SystemProperties => "remove -Daws.accessKeyId, -Daws.secretAccessKey/-Daws.secretKey and -Daws.sessionToken from the JVM's options.".into(),
        SourceKind::Profile => "remove the keys from the profile in ~/.aws/credentials (or the file AWS_SHARED_CREDENTIALS_FILE names), or unset AWS_PROFILE.".into(),
        SourceKind::WebIdentity => "unset AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN.".into(),
        SourceKind::Container => "unset AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / AWS_CONTAINER_CREDENTIALS_FULL_URI.".into(),
        SourceKind::Imds => "nothing: the instance role is the source.".into(),
    }
}

/// Temporary keys (a session token) in the environment, the system properties or the selected
/// profile: they expire and nothing renews them.
fn temporary_keys_check(env: &Env, options: &AgentOptions, lookup: &Lookup) -> Check {
    let mut found = Vec::new();
    if env.get(env_vars::AWS_SESSION_TOKEN).is_some_and(|t| !t.trim().is_empty()) && env.get(env_vars::AWS_ACCESS_KEY_ID).is_some() {
        found.push(("environment", "unset AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN".to_string()));
    }
    if options.system_properties.session_token.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        found.push((
            "systemProperties",
            "remove -Daws.accessKeyId, -Daws.secretAccessKey/-Daws.secretKey and -Daws.sessionToken".to_string(),
        ));
    }
    if let Some(files) = lookup.profile_files() {
        if let Ok(profile) = files.load() {
            if profile.get("aws_session_token").is_some_and(|t| !t.trim().is_empty()) {
                found.push((
                    "profile",
                    format!("remove aws_session_token and its keys from profile '{}' ({})", files.profile, files.describe()),
                ));
            }
        }
    }
    if found.is_empty() {
        return Check::pass(
            "chain.temporary_keys",
            "no temporary keys (with a session token) in the environment, system properties or profile",
        );
    }
    let places: Vec<&str> = found.iter().map(|(p, _)| *p).collect();
    let fixes: Vec<String> = found.iter().map(|(_, f)| f.clone()).collect();
    Check::fail(
        "chain.temporary_keys",
        format!(
            "temporary keys (with a session token) are set in: {}; they expire and are never refreshed, then calls fail with ExpiredToken",
            places.join(", ")
        ),
        format!("{}; on EC2 let the instance role supply credentials.", fixes.join("; ")),
    )
    .detail("sources", places)
}

fn imds_disabled_check(lookup: &Lookup, options: &AgentOptions, resolution: &Result<chain::Resolution, CredentialsError>) -> Check {
    let by = match options.imds_disabled {
        Some(true) => "the imdsDisabled option".to_string(),
        _ => lookup
            .get(&crate::config::fallback::IMDS_DISABLED)
            .map(|f| f.from.to_string())
            .unwrap_or_else(|| "the source option".to_string()),
    };
    let finding = format!("IMDS is disabled by {by}: the instance role is never used");
    match resolution {
        Ok(r) if r.winner != SourceKind::Imds => {
            Check::pass("imds.enabled", format!("{finding} (credentials come from '{}')", r.winner.name()))
        }
        _ => Check::fail("imds.enabled", finding, format!("Remove {by} to use the instance role.")),
    }
    .detail("disabled_by", by)
}

/// The winner's credentials: for IMDS the document's own fields, else what the source returns.
async fn credentials_check(
    resolution: &Result<chain::Resolution, CredentialsError>,
    imds: &ImdsFindings,
    options: &AgentOptions,
    clock: &dyn crate::clock::Clock,
) -> Check {
    let Ok(r) = resolution else {
        return Check::fail("credentials", "no credentials: the chain has no working source", "Fix the chain first (chain.source).");
    };
    let now = clock.now();
    let (expiration, issued, code, temporary) = if r.winner == SourceKind::Imds {
        match &imds.document {
            Some(doc) => (doc.expiration, doc.last_updated, doc.code.clone(), true),
            None => {
                return Check::fail(
                    "credentials",
                    "IMDS gave no credentials document (see the imds checks)",
                    "Fix the imds checks above first.",
                )
            }
        }
    } else {
        match r.provider.provide_credentials().await {
            Ok(c) => (c.expiration(), None, None, c.session_token().is_some()),
            Err(e) => {
                return Check::fail(
                    "credentials",
                    format!("'{}' gave no credentials: {e}", r.winner.name()),
                    "Follow the fix in the message.",
                )
            }
        }
    };
    let Some(expiration) = expiration else {
        if temporary {
            return Check::warn(
                "credentials",
                format!(
                    "'{}' gives temporary keys (a session token) whose expiration is not known: they stop working when it passes, and nothing renews them",
                    r.winner.name()
                ),
                "See chain.temporary_keys.",
            )
            .detail("source", r.winner.name());
        }
        return Check::pass("credentials", format!("'{}' gives long-term keys with no expiration", r.winner.name()))
            .detail("source", r.winner.name());
    };
    let left = expiration.duration_since(now).unwrap_or_default();
    let lifetime = issued.and_then(|i| expiration.duration_since(i).ok()).unwrap_or(left);
    let advisory = cache_config(options).advisory_window_for(lifetime);
    let refresh_in = left.saturating_sub(advisory);
    let mut check = if code.as_deref().is_some_and(|c| c != "Success") {
        Check::fail(
            "credentials",
            format!("IMDS answered the credentials document with Code '{}'", code.as_deref().unwrap_or_default()),
            "Check the instance profile's role and its trust policy (the role must trust ec2.amazonaws.com).",
        )
    } else if expiration <= now {
        Check::fail(
            "credentials",
            format!(
                "the credentials from '{}' expired {} ago",
                r.winner.name(),
                crate::error::human_duration(now.duration_since(expiration).unwrap_or_default())
            ),
            if r.winner == SourceKind::Imds {
                "IMDS is serving expired credentials: compare the clock checks below; if the clock is right, stop and start the instance or re-associate its instance profile."
            } else {
                "Replace the keys, or remove them so that the instance role is used."
            },
        )
    } else if lifetime < advisory {
        Check::warn(
            "credentials",
            format!(
                "the credentials live {} in all, shorter than the advisory window of {}: every fetch is already due for refresh",
                crate::error::human_duration(lifetime),
                crate::error::human_duration(advisory)
            ),
            "Give the role a longer session (MaxSessionDuration), or set a shorter advisoryWindow.",
        )
    } else {
        Check::pass(
            "credentials",
            format!(
                "credentials from '{}'{} expire at {} (in {}); freshcreds refreshes them in {} (advisory window {})",
                r.winner.name(),
                match (&code, issued) {
                    (Some(code), Some(issued)) => format!(" (Code {code}, LastUpdated {})", rfc3339(issued)),
                    _ => String::new(),
                },
                rfc3339(expiration),
                crate::error::human_duration(left),
                crate::error::human_duration(refresh_in),
                crate::error::human_duration(advisory)
            ),
        )
    };
    check = check
        .detail("source", r.winner.name())
        .detail("expiration", rfc3339(expiration))
        .detail("expires_in_s", left.as_secs())
        .detail("advisory_window_s", advisory.as_secs())
        .detail("refresh_in_s", refresh_in.as_secs())
        .detail("code", code)
        .detail("last_updated", issued.map(rfc3339));
    check
}

fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The clock's offset from AWS time: IMDS's `Date` headers (as the agent measures them) and STS's.
fn offset_check(imds_samples: usize, imds_offset_ms: i64, sts_offset_ms: Option<i64>) -> Check {
    let measured: Vec<(&str, i64)> =
        [(imds_samples > 0).then_some(("IMDS", imds_offset_ms)), sts_offset_ms.map(|o| ("STS", o))].into_iter().flatten().collect();
    let Some(&(worst_by, worst)) = measured.iter().max_by_key(|(_, o)| o.unsigned_abs()) else {
        return Check::pass("clock.offset", "no AWS Date header was seen (IMDS did not answer); the offset is unknown")
            .detail("imds_offset_ms", Value::Null)
            .detail("sts_offset_ms", sts_offset_ms);
    };
    let text: Vec<String> = measured.iter().map(|(by, o)| format!("{} by {by}", offset_magnitude(*o))).collect();
    let abs = Duration::from_millis(worst.unsigned_abs());
    let finding = format!("this host's clock is {} AWS time ({})", if worst > 0 { "behind" } else { "ahead of" }, text.join(", "));
    let check = if abs > MAX_CLOCK_OFFSET {
        Check::fail(
            "clock.offset",
            finding,
            format!(
                "Synchronise the clock: requests signed with it fail (Signature expired) beyond 5 min, and credentials look valid when AWS considers them expired. \
                 Point chrony at Amazon Time Sync (server 169.254.169.123 prefer iburst) and run `sudo chronyc makestep` (offset measured by {worst_by})."
            ),
        )
    } else if abs > WARN_CLOCK_OFFSET {
        Check::warn("clock.offset", finding, "Check the time daemon (clock.daemon): the clock drifts; freshcreds corrects its own expiry judgement, but the SDK signs with this clock.")
    } else {
        Check::pass("clock.offset", finding)
    };
    check.detail("imds_offset_ms", (imds_samples > 0).then_some(imds_offset_ms)).detail("sts_offset_ms", sts_offset_ms)
}

/// `3.2 s`, `10 min 0 s`: the size of an offset, without its sign (the finding says ahead or behind).
fn offset_magnitude(offset_ms: i64) -> String {
    let abs = offset_ms.unsigned_abs();
    if abs < 60_000 {
        format!("{:.1} s", abs as f64 / 1000.0)
    } else {
        format!("{} min {} s", abs / 60_000, (abs % 60_000) / 1000)
    }
}
