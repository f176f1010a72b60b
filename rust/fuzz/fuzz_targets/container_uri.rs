//! Container credentials endpoint validation, through the chain's own entry point
//! (`freshcreds_core::sources::container::ContainerProvider::from_env`): the relative URI appended
//! to the ECS host, or the full URI, checked as the SDKs check it. A valid one builds aws-config's
//! ECS provider object; nothing is fetched (that only happens when credentials are asked for).
//!
//! Input: one selector byte (value mod 3: 0 = `AWS_CONTAINER_CREDENTIALS_FULL_URI`,
//! 1 = `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, 2 = both, the rest split at the first newline:
//! relative, then full), then the variable's value.
#![no_main]

use std::time::Duration;

use freshcreds_core::env::Env;
use freshcreds_core::sources::container::ContainerProvider;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(value) = std::str::from_utf8(rest) else { return };
    let (relative, full) = match selector % 3 {
        0 => (None, Some(value.to_string())),
        1 => (Some(value.to_string()), None),
        _ => {
            let (r, f) = value.split_once('\n').unwrap_or((value, ""));
            (Some(r.to_string()), Some(f.to_string()))
        }
    };
    let env = Env::from_fn(move |name| match name {
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" => relative.clone(),
        "AWS_CONTAINER_CREDENTIALS_FULL_URI" => full.clone(),
        // Pinned so aws-config's provider does not read the process environment for these.
        "AWS_REGION" => Some("us-east-1".to_string()),
        _ => None,
    });
    match ContainerProvider::from_env(&env, Duration::from_secs(1)) {
        None | Some(Ok(_)) => {}
        Some(Err(e)) => {
            let _ = e.to_string();
        }
    }
});
