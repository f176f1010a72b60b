//! The registry of live agents that a bridge library hands out handles to. Each bridge library
//! (cdylib) links its own copy, so JNI handles and C handles are separate spaces.

use std::sync::Arc;

use freshcreds_core::config::AgentOptions;
use freshcreds_core::{Agent, CredentialsError};

use crate::Registry;

static AGENTS: Registry<Agent> = Registry::new();

/// Builds an agent from option pairs (the Java builder's names: `endpoint`, `roleName`, …;
/// unknown keys are refused) and registers it. Returns its handle.
pub fn create(pairs: &[(String, String)]) -> Result<u64, CredentialsError> {
    let agent = Agent::from_options(&AgentOptions::from_pairs(pairs)?)?;
    AGENTS.insert(agent)
}

/// The agent behind `handle`; `Closed` when the handle is closed, unknown or never issued.
pub fn get(handle: u64) -> Result<Arc<Agent>, CredentialsError> {
    AGENTS.get(handle)
}

/// Removes and closes the agent, which wakes every thread blocked on it with `Closed`.
/// `Closed` if the handle was already closed or unknown.
pub fn close(handle: u64) -> Result<(), CredentialsError> {
    AGENTS.remove(handle)?.close();
    Ok(())
}
