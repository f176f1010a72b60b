//! The simulator's settings, [`SimConfig`], checked by [`SimConfig::validate`] before
//! [`crate::Simulator::start`] binds.

use std::io;
use std::time::Duration;

/// The environment variable that turns on per-request logging to stderr (`1`).
pub const LOG_ENV: &str = "FRESHCREDS_SIM_LOG";

/// Simulator settings. Durations are in **sim** time.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Sim seconds per real second; finite and > 0. Default 1.0.
    pub time_scale: f64,
    /// Credential lifetime. Default 6 h.
    pub lifetime: Duration,
    /// Rotate when a credentials request arrives this close to expiration. Default 20 min.
    pub rotate_before: Duration,
    /// The instance profile role. Default `freshcreds-demo-role`.
    pub role_name: String,
    /// Port on 127.0.0.1; 0 = ephemeral. Default 0.
    pub port: u16,
    /// One stderr line per request. Default: whether `FRESHCREDS_SIM_LOG=1`.
    pub log_requests: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            time_scale: 1.0,
            lifetime: Duration::from_secs(6 * 3600),
            rotate_before: Duration::from_secs(20 * 60),
            role_name: "freshcreds-demo-role".to_string(),
            port: 0,
            log_requests: std::env::var(LOG_ENV).is_ok_and(|v| v == "1"),
        }
    }
}

impl SimConfig {
    /// Checks the settings; the error is `InvalidInput`.
    pub fn validate(&self) -> io::Result<()> {
        let bad = |msg: String| Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return bad(format!("time_scale must be finite and > 0, got {}", self.time_scale));
        }
        if self.lifetime.is_zero() {
            return bad("lifetime must be > 0".to_string());
        }
        let role_ok = !self.role_name.is_empty() && self.role_name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        if !role_ok {
            return bad(format!("role_name must be a valid IAM role name, got {:?}", self.role_name));
        }
        Ok(())
    }
}
