//! End-to-end tests of the simulator over real HTTP on 127.0.0.1 (and nothing else).

mod assume_role;
mod binary;
mod common;
mod container;
mod control;
mod faults;
mod imds;
mod script;
mod sqs;
mod sso;
mod sts;
mod web_identity;

use std::time::Duration;

use freshcreds_sim::{SimConfig, Simulator};

/// Starts a simulator on an ephemeral 127.0.0.1 port.
pub async fn start(cfg: SimConfig) -> Simulator {
    let sim = Simulator::start(cfg).await.expect("simulator starts");
    assert!(sim.addr().ip().is_loopback());
    assert_eq!(sim.base_url(), format!("http://127.0.0.1:{}", sim.addr().port()));
    sim
}

pub async fn start_default() -> Simulator {
    start(SimConfig::default()).await
}

/// A compressed clock: 1 real second = `scale` sim seconds.
pub fn compressed(scale: f64, lifetime_secs: u64, rotate_before_secs: u64) -> SimConfig {
    SimConfig {
        time_scale: scale,
        lifetime: Duration::from_secs(lifetime_secs),
        rotate_before: Duration::from_secs(rotate_before_secs),
        ..SimConfig::default()
    }
}
