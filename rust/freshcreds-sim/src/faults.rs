//! Fault injection for the IMDS side, settable in-process ([`Faults`]) or over HTTP
//! (`POST /_sim/faults` with a [`FaultsConfig`] JSON document, which replaces all faults).
//!
//! Order of application to every IMDS request (`/latest/...`, including the token PUT):
//! 1. sleep `imds_delay_ms`;
//! 2. if `imds_status_override` is set, answer with that status and a short text body;
//! 3. otherwise serve normally, except that a credentials request for the role is answered with
//!    `credentials_status_override` (if set) or `credentials_body_override` (if set, status 200)
//!    instead of the credentials document.
//!
//! Status overrides outside 200..=599 are refused by the HTTP API; set in-process they are served
//! as 500.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The JSON form of the faults. Missing fields mean "no fault".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultsConfig {
    pub imds_status_override: Option<u16>,
    pub imds_delay_ms: u64,
    pub credentials_status_override: Option<u16>,
    pub credentials_body_override: Option<String>,
}

impl FaultsConfig {
    /// Checks that status overrides are in 200..=599.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("imds_status_override", self.imds_status_override),
            (
                "credentials_status_override",
                self.credentials_status_override,
            ),
        ] {
            if let Some(s) = v {
                if !(200..=599).contains(&s) {
                    return Err(format!("{name} must be in 200..=599, got {s}"));
                }
            }
        }
        Ok(())
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
}

fn opt_status(v: u32) -> Option<u16> {
    if v == 0 {
        None
    } else {
        u16::try_from(v).ok()
    }
}

impl Faults {
    /// Answer every IMDS request with this status (`None` to stop).
    pub fn set_imds_status_override(&self, status: Option<u16>) {
        self.imds_status_override
            .store(status.map_or(0, u32::from), Ordering::SeqCst);
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
        self.credentials_status_override
            .store(status.map_or(0, u32::from), Ordering::SeqCst);
    }

    pub fn credentials_status_override(&self) -> Option<u16> {
        opt_status(self.credentials_status_override.load(Ordering::SeqCst))
    }

    /// Serve this raw body (status 200) instead of the credentials JSON.
    pub fn set_credentials_body_override(&self, body: Option<String>) {
        *self
            .credentials_body_override
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = body;
    }

    pub fn credentials_body_override(&self) -> Option<String> {
        self.credentials_body_override
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces every fault with `cfg`.
    pub fn set(&self, cfg: &FaultsConfig) {
        self.set_imds_status_override(cfg.imds_status_override);
        self.set_imds_delay_ms(cfg.imds_delay_ms);
        self.set_credentials_status_override(cfg.credentials_status_override);
        self.set_credentials_body_override(cfg.credentials_body_override.clone());
    }

    /// The current faults.
    pub fn get(&self) -> FaultsConfig {
        FaultsConfig {
            imds_status_override: self.imds_status_override(),
            imds_delay_ms: self.imds_delay_ms(),
            credentials_status_override: self.credentials_status_override(),
            credentials_body_override: self.credentials_body_override(),
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
        let cfg: FaultsConfig =
            serde_json::from_str(r#"{"imds_status_override":429,"credentials_body_override":"{"}"#)
                .expect("json");
        assert!(cfg.validate().is_ok());
        f.set(&cfg);
        assert_eq!(f.imds_status_override(), Some(429));
        assert_eq!(f.credentials_body_override().as_deref(), Some("{"));
        assert_eq!(f.get(), cfg);
        f.clear();
        assert_eq!(f.get(), FaultsConfig::default());
        assert!(serde_json::from_str::<FaultsConfig>(r#"{"imds_status":500}"#).is_err());
        assert!(FaultsConfig {
            imds_status_override: Some(99),
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(FaultsConfig {
            credentials_status_override: Some(600),
            ..Default::default()
        }
        .validate()
        .is_err());
    }
}
