//! The agent options parser (`freshcreds_core::config::AgentOptions::from_pairs`, which the JNI
//! `create(String[] options)` and the C ABI call with the caller's key/value pairs), then the
//! checks `Agent::from_options_with_env` applies to what it returns before any request: the
//! compressed clock, the IMDS client builder (endpoint, timeout, attempts, token TTL; builds a
//! client object, opens nothing) and the role-name check.
//!
//! Input: UTF-8 text, one `key=value` pair per line (split at the first `=`; a line without one is
//! a key with an empty value).
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use freshcreds_core::clock::{Clock, CompressedClock, ManualClock};
use freshcreds_core::config::AgentOptions;
use freshcreds_core::env::Env;
use freshcreds_core::imds::ImdsCredentialsProvider;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let pairs: Vec<(&str, &str)> = text.split('\n').filter(|l| !l.is_empty()).map(|l| l.split_once('=').unwrap_or((l, ""))).collect();
    let options = match AgentOptions::from_pairs(&pairs) {
        Ok(o) => o,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = format!("{options:?}");
    // Agent::from_options_with_env: a compressed clock when both clock options are set.
    if let Some((origin, scale)) = options.compressed_clock {
        if let Some(clock) = CompressedClock::new(origin, scale) {
            let _ = clock.now();
            let _ = clock.real_duration(Duration::from_secs(1));
            if let Some(window) = options.advisory_window {
                let _ = clock.real_duration(window);
            }
        }
    }
    // ...the IMDS client builder with the options, an empty environment as fallback...
    let imds = options.imds_client_builder(Env::empty());
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000)));
    match imds.build(clock) {
        Ok(client) => {
            let _ = client.endpoint();
            // ...and the role name check.
            let mut provider = ImdsCredentialsProvider::builder();
            if let Some(role) = &options.role_name {
                provider = provider.role_name(role.clone());
            }
            if let Err(e) = provider.build(Arc::new(client)) {
                let _ = e.to_string();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
