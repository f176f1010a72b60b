//! Fault injection, settable in-process ([`Faults`]) or over HTTP: `POST /_sim/faults` with a
//! [`FaultsConfig`] JSON document replaces all faults; `PATCH /_sim/faults` with a [`FaultsPatch`]
//! changes only the fields it names (a field given as `null` goes back to its default, "no fault").
//!
//! | field | effect |
//! | --- | --- |
//! | `imds_status_override` | every IMDS request is answered with this status |
//! | `imds_delay_ms` | every IMDS answer (or drop) is delayed this long (real ms) |
//! | `credentials_status_override` | credential requests (only) are answered with this status |
//! | `credentials_body_override` | credential requests get this raw body with status 200 |
//! | `aws_clock_skew_ms` | AWS time = host real time + skew: shifts `Date` headers, the STS 5-minute request-time window and the credential timeline (sim time + skew, unscaled) |
//! | `token_put_hang` | `PUT /latest/api/token` never answers (the connection is held open) |
//! | `serve_expired_credentials` | the credentials document carries the current keys with `Expiration` = sim now − 5 min, and STS accepts the current generation even past its expiration |
//! | `imds_down` | every IMDS request has its connection closed without an answer |
//! | `imds_throttle` | every IMDS request is answered 429 |
//! | `credentials_truncate` | the credentials body is cut in half (`Content-Length` matches) |
//! | `no_instance_profile` | no role is attached: the role list and the credentials answer 404 |
//!
//! Order of application to every IMDS request (`/latest/...`, including the token PUT):
//! 1. sleep `imds_delay_ms`;
//! 2. `imds_down` → close the connection;
//! 3. `token_put_hang` (token PUT only) → hold the connection for an hour, then close it;
//! 4. `imds_throttle` → 429;
//! 5. `imds_status_override` → that status and a short text body;
//! 6. otherwise serve normally, except that a credentials request for the role is answered with
//!    `credentials_status_override` (if set) or `credentials_body_override` (if set, status 200)
//!    instead of the credentials document; `serve_expired_credentials` rewrites the document's
//!    `Expiration` and `credentials_truncate` then halves whichever body is sent.
//!
//! Status overrides outside 200..=599 and a skew beyond ±[`MAX_SKEW_MS`] are refused by the HTTP
//! API; set in-process, such statuses are served as 500 and the skew is clamped.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::patch::{patch_field, patch_opt};

/// The largest accepted `aws_clock_skew_ms` in either direction: one year.
pub const MAX_SKEW_MS: i64 = 365 * 24 * 3600 * 1000;

/// The JSON form of the faults. Missing fields mean "no fault".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultsConfig {
    pub imds_status_override: Option<u16>,
    pub imds_delay_ms: u64,
    pub credentials_status_override: Option<u16>,
    pub credentials_body_override: Option<String>,
    /// AWS time minus host real time, in (unscaled) milliseconds. Negative = the host runs fast.
    pub aws_clock_skew_ms: i64,
    pub token_put_hang: bool,
    pub serve_expired_credentials: bool,
    pub imds_down: bool,
    pub imds_throttle: bool,
    pub credentials_truncate: bool,
    pub no_instance_profile: bool,
}

impl FaultsConfig {
    /// Checks that status overrides are in 200..=599 and the skew within ±[`MAX_SKEW_MS`].
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in
            [("imds_status_override", self.imds_status_override), ("credentials_status_override", self.credentials_status_override)]
        {
            if let Some(s) = v {
                if !(200..=599).contains(&s) {
                    return Err(format!("{name} must be in 200..=599, got {s}"));
                }
            }
        }
        if !(-MAX_SKEW_MS..=MAX_SKEW_MS).contains(&self.aws_clock_skew_ms) {
            return Err(format!("aws_clock_skew_ms must be within ±{MAX_SKEW_MS}, got {}", self.aws_clock_skew_ms));
        }
        Ok(())
    }
}

/// A partial [`FaultsConfig`], as sent to `PATCH /_sim/faults` and in script steps: every field
/// is optional; a missing field (`None`) is left as it is, a field given as `null` (`Some(None)`)
/// goes back to its default ("no fault"), a value (`Some(Some(v))`) is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultsPatch {
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub imds_status_override: Option<Option<u16>>,
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub imds_delay_ms: Option<Option<u64>>,
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub credentials_status_override: Option<Option<u16>>,
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub credentials_body_override: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub aws_clock_skew_ms: Option<Option<i64>>,
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub token_put_hang: Option<Option<bool>>,
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub serve_expired_credentials: Option<Option<bool>>,
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub imds_down: Option<Option<bool>>,
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub imds_throttle: Option<Option<bool>>,
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub credentials_truncate: Option<Option<bool>>,
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub no_instance_profile: Option<Option<bool>>,
}

impl FaultsPatch {
    /// `cfg` with this patch applied (not validated).
    pub fn applied_to(&self, cfg: &FaultsConfig) -> FaultsConfig {
        let mut c = cfg.clone();
        patch_opt(&mut c.imds_status_override, &self.imds_status_override);
        patch_field(&mut c.imds_delay_ms, &self.imds_delay_ms);
        patch_opt(&mut c.credentials_status_override, &self.credentials_status_override);
        patch_opt(&mut c.credentials_body_override, &self.credentials_body_override);
        patch_field(&mut c.aws_clock_skew_ms, &self.aws_clock_skew_ms);
        patch_field(&mut c.token_put_hang, &self.token_put_hang);
        patch_field(&mut c.serve_expired_credentials, &self.serve_expired_credentials);
        patch_field(&mut c.imds_down, &self.imds_down);
        patch_field(&mut c.imds_throttle, &self.imds_throttle);
        patch_field(&mut c.credentials_truncate, &self.credentials_truncate);
        patch_field(&mut c.no_instance_profile, &self.no_instance_profile);
        c
    }

    /// Checks the values the patch sets (status ranges, skew bound).
    pub fn validate(&self) -> Result<(), String> {
        self.applied_to(&FaultsConfig::default()).validate()
    }
}

/// Live fault settings. All setters take effect for the next request.
#[derive(Debug, Default)]
pub struct Faults {
    /// 0 = none.
    imds_status_override: AtomicU32,
    imds_delay_ms: AtomicU64,
    /// 0 = none.
    credentials_status_override: AtomicU32,
    credentials_body_override: Mutex<Option<String>>,
    aws_clock_skew_ms: AtomicI64,
    token_put_hang: AtomicBool,
    serve_expired_credentials: AtomicBool,
    imds_down: AtomicBool,
    imds_throttle: AtomicBool,
    credentials_truncate: AtomicBool,
    no_instance_profile: AtomicBool,
    /// Serializes whole-config writes ([`Faults::set`], [`Faults::patch`]) so that two patches
    /// never interleave.
    write: Mutex<()>,
}

fn opt_status(v: u32) -> Option<u16> {
    if v == 0 {
        None
    } else {
        u16::try_from(v).ok()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Faults {
    /// Answer every IMDS request with this status (`None` to stop).
    pub fn set_imds_status_override(&self, status: Option<u16>) {
        self.imds_status_override.store(status.map_or(0, u32::from), Ordering::SeqCst);
    }

    pub fn imds_status_override(&self) -> Option<u16> {
        opt_status(self.imds_status_override.load(Ordering::SeqCst))
    }

    /// Delay every IMDS response by this many milliseconds (0 = none).
    pub fn set_imds_delay_ms(&self, ms: u64) {
        self.imds_delay_ms.store(ms, Ordering::SeqCst);
    }

    pub fn imds_delay_ms(&self) -> u64 {
        self.imds_delay_ms.load(Ordering::SeqCst)
    }

    /// The IMDS delay as a `Duration`.
    pub fn imds_delay(&self) -> Duration {
        Duration::from_millis(self.imds_delay_ms())
    }

    /// Answer credential requests (only) with this status.
    pub fn set_credentials_status_override(&self, status: Option<u16>) {
        self.credentials_status_override.store(status.map_or(0, u32::from), Ordering::SeqCst);
    }

    pub fn credentials_status_override(&self) -> Option<u16> {
        opt_status(self.credentials_status_override.load(Ordering::SeqCst))
    }

    /// Serve this raw body (status 200) instead of the credentials JSON.
    pub fn set_credentials_body_override(&self, body: Option<String>) {
        *lock(&self.credentials_body_override) = body;
    }

    pub fn credentials_body_override(&self) -> Option<String> {
        lock(&self.credentials_body_override).clone()
    }

    /// AWS time = host real time + `ms` (clamped to ±[`MAX_SKEW_MS`]). Negative: the host's clock
    /// looks fast to AWS.
    pub fn set_aws_clock_skew_ms(&self, ms: i64) {
        self.aws_clock_skew_ms.store(ms.clamp(-MAX_SKEW_MS, MAX_SKEW_MS), Ordering::SeqCst);
    }

    pub fn aws_clock_skew_ms(&self) -> i64 {
        self.aws_clock_skew_ms.load(Ordering::SeqCst)
    }

    /// `PUT /latest/api/token` never answers.
    pub fn set_token_put_hang(&self, on: bool) {
        self.token_put_hang.store(on, Ordering::SeqCst);
    }

    pub fn token_put_hang(&self) -> bool {
        self.token_put_hang.load(Ordering::SeqCst)
    }

    /// The credentials document has an `Expiration` 5 minutes in the (sim) past, with the current
    /// keys; STS keeps accepting the current generation.
    pub fn set_serve_expired_credentials(&self, on: bool) {
        self.serve_expired_credentials.store(on, Ordering::SeqCst);
    }

    pub fn serve_expired_credentials(&self) -> bool {
        self.serve_expired_credentials.load(Ordering::SeqCst)
    }

    /// Every IMDS request has its connection closed without an answer.
    pub fn set_imds_down(&self, on: bool) {
        self.imds_down.store(on, Ordering::SeqCst);
    }

    pub fn imds_down(&self) -> bool {
        self.imds_down.load(Ordering::SeqCst)
    }

    /// Every IMDS request is answered 429.
    pub fn set_imds_throttle(&self, on: bool) {
        self.imds_throttle.store(on, Ordering::SeqCst);
    }

    pub fn imds_throttle(&self) -> bool {
        self.imds_throttle.load(Ordering::SeqCst)
    }

    /// The credentials body is cut in half.
    pub fn set_credentials_truncate(&self, on: bool) {
        self.credentials_truncate.store(on, Ordering::SeqCst);
    }

    pub fn credentials_truncate(&self) -> bool {
        self.credentials_truncate.load(Ordering::SeqCst)
    }

    /// No instance profile: the role list and the credentials answer 404.
    pub fn set_no_instance_profile(&self, on: bool) {
        self.no_instance_profile.store(on, Ordering::SeqCst);
    }

    pub fn no_instance_profile(&self) -> bool {
        self.no_instance_profile.load(Ordering::SeqCst)
    }

    fn store(&self, cfg: &FaultsConfig) {
        self.set_imds_status_override(cfg.imds_status_override);
        self.set_imds_delay_ms(cfg.imds_delay_ms);
        self.set_credentials_status_override(cfg.credentials_status_override);
        self.set_credentials_body_override(cfg.credentials_body_override.clone());
        self.set_aws_clock_skew_ms(cfg.aws_clock_skew_ms);
        self.set_token_put_hang(cfg.token_put_hang);
        self.set_serve_expired_credentials(cfg.serve_expired_credentials);
        self.set_imds_down(cfg.imds_down);
        self.set_imds_throttle(cfg.imds_throttle);
        self.set_credentials_truncate(cfg.credentials_truncate);
        self.set_no_instance_profile(cfg.no_instance_profile);
    }

    /// Replaces every fault with `cfg` (not validated; see [`FaultsConfig::validate`]).
    pub fn set(&self, cfg: &FaultsConfig) {
        let _w = lock(&self.write);
        self.store(cfg);
    }

    /// Changes only the fields `patch` names. A patch whose result does not validate changes
    /// nothing. Returns the faults now in force.
    pub fn patch(&self, patch: &FaultsPatch) -> Result<FaultsConfig, String> {
        let _w = lock(&self.write);
        let next = patch.applied_to(&self.get());
        next.validate()?;
        self.store(&next);
        Ok(next)
    }

    /// The current faults.
    pub fn get(&self) -> FaultsConfig {
        FaultsConfig {
            imds_status_override: self.imds_status_override(),
            imds_delay_ms: self.imds_delay_ms(),
            credentials_status_override: self.credentials_status_override(),
            credentials_body_override: self.credentials_body_override(),
            aws_clock_skew_ms: self.aws_clock_skew_ms(),
            token_put_hang: self.token_put_hang(),
            serve_expired_credentials: self.serve_expired_credentials(),
            imds_down: self.imds_down(),
            imds_throttle: self.imds_throttle(),
            credentials_truncate: self.credentials_truncate(),
            no_instance_profile: self.no_instance_profile(),
        }
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.set(&FaultsConfig::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_validation() {
        let f = Faults::default();
        assert_eq!(f.get(), FaultsConfig::default());
        let cfg: FaultsConfig = serde_json::from_str(r#"{"imds_status_override":429,"credentials_body_override":"{"}"#).expect("json");
        assert!(cfg.validate().is_ok());
        f.set(&cfg);
        assert_eq!(f.imds_status_override(), Some(429));
        assert_eq!(f.credentials_body_override().as_deref(), Some("{"));
        assert_eq!(f.get(), cfg);
        f.clear();
        assert_eq!(f.get(), FaultsConfig::default());
        assert!(serde_json::from_str::<FaultsConfig>(r#"{"imds_status":500}"#).is_err());
        assert!(FaultsConfig { imds_status_override: Some(99), ..Default::default() }.validate().is_err());
        assert!(FaultsConfig { credentials_status_override: Some(600), ..Default::default() }.validate().is_err());
    }

    #[test]
    fn patch_changes_only_named_fields() {
        let f = Faults::default();
        f.set(&FaultsConfig {
            imds_status_override: Some(503),
            imds_delay_ms: 7,
            credentials_body_override: Some("x".into()),
            ..Default::default()
        });
        let p: FaultsPatch =
            serde_json::from_str(r#"{"aws_clock_skew_ms":-600000,"imds_status_override":null,"token_put_hang":true}"#).expect("patch json");
        assert_eq!(p.imds_status_override, Some(None));
        assert_eq!(p.imds_delay_ms, None);
        let now = f.patch(&p).expect("valid");
        assert_eq!(now, f.get());
        assert_eq!(
            now,
            FaultsConfig {
                imds_delay_ms: 7,
                credentials_body_override: Some("x".into()),
                aws_clock_skew_ms: -600_000,
                token_put_hang: true,
                ..Default::default()
            }
        );
        // null resets a non-optional field to its default.
        let p: FaultsPatch = serde_json::from_str(r#"{"imds_delay_ms":null,"token_put_hang":null}"#).expect("json");
        let now = f.patch(&p).expect("valid");
        assert_eq!((now.imds_delay_ms, now.token_put_hang), (0, false));
        // A bad patch changes nothing.
        let before = f.get();
        let p: FaultsPatch = serde_json::from_str(r#"{"imds_throttle":true,"imds_status_override":42}"#).expect("json");
        assert!(p.validate().is_err());
        assert!(f.patch(&p).is_err());
        assert_eq!(f.get(), before);
        assert!(serde_json::from_str::<FaultsPatch>(r#"{"typo":true}"#).is_err());
        assert!(FaultsConfig { aws_clock_skew_ms: MAX_SKEW_MS + 1, ..Default::default() }.validate().is_err());
        f.set_aws_clock_skew_ms(i64::MIN);
        assert_eq!(f.aws_clock_skew_ms(), -MAX_SKEW_MS);
        // The patch serializes back to the same JSON shape (absent fields skipped, null kept).
        let p: FaultsPatch = serde_json::from_str(r#"{"imds_down":true,"credentials_status_override":null}"#).expect("json");
        let v = serde_json::to_value(&p).expect("ser");
        assert_eq!(v, serde_json::json!({"imds_down":true,"credentials_status_override":null}));
    }
}
