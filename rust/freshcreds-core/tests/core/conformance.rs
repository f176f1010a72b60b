//! Runs every case of the cross-SDK credential refresh specification
//! (`tests/conformance/credential-refresh-tests.json`, copied with its licence from smithy-rs) against [`CredentialsCache`] with a
//! manual clock and a scripted source. The file is read at test time and never edited; set
//! `FRESHCREDS_CONFORMANCE_FILE` to point elsewhere.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use freshcreds_core::cache::{CacheConfig, CredentialsCache, CredentialsFuture, ProvideCredentials};
use freshcreds_core::clock::{Clock, ManualClock};
use freshcreds_core::{Credentials, CredentialsError};
use serde_json::Value;

const SIX_HOURS: Duration = Duration::from_secs(6 * 3600);

fn spec_path() -> PathBuf {
    if let Ok(p) = std::env::var("FRESHCREDS_CONFORMANCE_FILE") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/credential-refresh-tests.json")
}

#[derive(Clone, Copy, Debug)]
enum Response {
    Fresh { lifetime: Duration },
    Error,
    NonRecoverable,
    Stale,
}

/// A source that answers what the current step scripts and records whether it was asked.
#[derive(Debug)]
struct ScriptedSource {
    clock: Arc<ManualClock>,
    next: Mutex<Option<Response>>,
    contacted: AtomicBool,
    issued: AtomicU32,
}

impl ScriptedSource {
    async fn answer(&self) -> Result<Credentials, CredentialsError> {
        self.contacted.store(true, Ordering::SeqCst);
        let now = self.clock.now();
        let response = self.next.lock().unwrap().take();
        match response {
            Some(Response::Fresh { lifetime }) => {
                let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(Credentials::new(format!("AKID-NEW-{n}"), "secret", Some("token".into()), Some(now + lifetime), "scripted"))
            }
            Some(Response::Stale) => Ok(Credentials::new("AKID-STALE", "secret", Some("token".into()), Some(now), "scripted")),
            Some(Response::Error) => Err(CredentialsError::ImdsUnreachable {
                endpoint: "scripted".into(),
                attempts: 1,
                detail: "scripted recoverable failure".into(),
                hint: "",
            }),
            Some(Response::NonRecoverable) => Err(CredentialsError::NoRoleAttached { endpoint: "scripted".into() }),
            None => Err(CredentialsError::internal("the source was contacted although the step scripted no response")),
        }
    }
}

struct Source(Arc<ScriptedSource>);

impl ProvideCredentials for Source {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(self.0.answer())
    }
    fn name(&self) -> &'static str {
        "scripted"
    }
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name).unwrap_or(&Value::Null)
}

async fn run_case(index: usize, case: &Value) -> Result<(), String> {
    let doc = field(case, "documentation").as_str().unwrap_or("?").to_string();
    let given = field(case, "given");
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let clock = Arc::new(ManualClock::new(start));
    let scripted = Arc::new(ScriptedSource {
        clock: clock.clone(),
        next: Mutex::new(None),
        contacted: AtomicBool::new(false),
        issued: AtomicU32::new(0),
    });
    let mut config = CacheConfig::default();
    if let Some(w) = field(given, "configuredAdvisoryWindowSeconds").as_u64() {
        config.advisory_window = Some(Duration::from_secs(w));
    }
    let mut cache = CredentialsCache::new(Arc::new(Source(scripted.clone())), clock.clone(), config);
    if let Some(b) = field(given, "refreshBackoffSeconds").as_u64() {
        cache = cache.with_fixed_backoff(Duration::from_secs(b));
    }

    // The cached state: 6-hour credentials (60-minute advisory window) fetched long enough ago
    // that `now` falls where the state name says.
    let cached_key = field(given, "accessKeyId").as_str().unwrap_or("AKID-CACHED").to_string();
    let remaining: Option<i64> = match field(given, "cachedCredentials").as_str() {
        Some("valid") => Some(3 * 3600),
        Some("advisory") => Some(30 * 60),
        Some("mandatory") => Some(30),
        Some("expired") => Some(-60),
        Some("none") | None => None,
        Some(other) => return Err(format!("case {index}: unknown cachedCredentials '{other}'")),
    };
    let mut current_key: Option<String> = None;
    if let Some(remaining) = remaining {
        let expiry =
            if remaining >= 0 { start + Duration::from_secs(remaining as u64) } else { start - Duration::from_secs((-remaining) as u64) };
        let fetched_at = expiry - SIX_HOURS;
        cache.seed(Credentials::new(cached_key.clone(), "secret", Some("token".into()), Some(expiry), "seed"), fetched_at);
        current_key = Some(cached_key);
    }

    for (step_no, step) in field(case, "steps").as_array().into_iter().flatten().enumerate() {
        let at = format!("case {index} ({doc}) step {step_no}");
        match field(step, "type").as_str() {
            Some("advanceTime") => clock.advance(Duration::from_secs(field(step, "seconds").as_u64().ok_or(format!("{at}: no seconds"))?)),
            Some("invalidate") => {
                cache.invalidate(field(step, "rejectedAccessKeyId").as_str().ok_or(format!("{at}: no key"))?);
            }
            Some("getCredentials") => {
                let lifetime = Duration::from_secs(field(step, "lifetimeSeconds").as_u64().unwrap_or(6 * 3600));
                let response = match field(step, "response").as_str() {
                    None => None,
                    Some("freshCredentials") => Some(Response::Fresh { lifetime }),
                    Some("error") => Some(Response::Error),
                    Some("nonRecoverableError") => Some(Response::NonRecoverable),
                    Some("staleCredentials") => Some(Response::Stale),
                    Some(other) => return Err(format!("{at}: unknown response '{other}'")),
                };
                *scripted.next.lock().unwrap() = response;
                scripted.contacted.store(false, Ordering::SeqCst);
                let issued_before = scripted.issued.load(Ordering::SeqCst);
                let outcome = cache.get().await;
                let expected = field(step, "expected");
                let contacted = scripted.contacted.load(Ordering::SeqCst);
                if Some(contacted) != field(expected, "sourceContacted").as_bool() {
                    return Err(format!("{at}: sourceContacted was {contacted}, expected {}", field(expected, "sourceContacted")));
                }
                if Some(outcome.rate_limited) != field(expected, "rateLimited").as_bool() {
                    return Err(format!("{at}: rateLimited was {}, expected {}", outcome.rate_limited, field(expected, "rateLimited")));
                }
                match (field(expected, "result").as_str(), &outcome.result) {
                    (Some("cachedCredentials"), Ok(c)) if Some(c.access_key_id()) == current_key.as_deref() => {}
                    (Some("newCredentials"), Ok(c)) => {
                        let issued = scripted.issued.load(Ordering::SeqCst);
                        let expected_key = format!("AKID-NEW-{issued}");
                        if issued != issued_before + 1 || c.access_key_id() != expected_key {
                            return Err(format!("{at}: expected newly issued credentials, got {c:?}"));
                        }
                        current_key = Some(expected_key);
                    }
                    (Some("noCredentialsError"), Err(e)) if e.is_recoverable() => {}
                    (Some("nonRecoverableError"), Err(e)) if !e.is_recoverable() => {}
                    (want, got) => return Err(format!("{at}: expected {want:?}, got {got:?} (cached key {current_key:?})")),
                }
                if let Some(window) = field(expected, "advisoryWindowSeconds").as_u64() {
                    let actual = cache.advisory_window().map(|w| w.as_secs());
                    if actual != Some(window) {
                        return Err(format!("{at}: advisory window {actual:?}, expected {window}"));
                    }
                }
            }
            other => return Err(format!("{at}: unknown step type {other:?}")),
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_conformance_case_passes() {
    let path = spec_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the conformance file {} ({e}); it ships in the repository under tests/conformance/, or set FRESHCREDS_CONFORMANCE_FILE",
            path.display()
        )
    });
    let cases: Vec<Value> = serde_json::from_str(&text).expect("the conformance file is JSON");
    assert_eq!(cases.len(), 24, "the specification has 24 cases");
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if let Err(e) = run_case(i, case).await {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
