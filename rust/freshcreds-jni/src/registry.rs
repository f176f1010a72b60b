//! Handles: ids into a registry, never pointers.
//!
//! Ids count up from 1 and are never reused, so a stale handle can never reach another agent.
//! Calls clone the agent's `Arc` out of the registry and work on that; `close` removes the entry
//! and closes the agent, which wakes every thread blocked on it with `AgentClosedException`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use freshcreds_core::{Agent, CredentialsError};
use once_cell::sync::Lazy;

static AGENTS: Lazy<Mutex<HashMap<i64, Arc<Agent>>>> = Lazy::new(|| Mutex::new(HashMap::new()));
static NEXT_ID: AtomicI64 = AtomicI64::new(1);

fn agents() -> std::sync::MutexGuard<'static, HashMap<i64, Arc<Agent>>> {
    AGENTS.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn insert(agent: Agent) -> i64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    agents().insert(id, Arc::new(agent));
    id
}

pub fn get(handle: i64) -> Result<Arc<Agent>, CredentialsError> {
    agents().get(&handle).cloned().ok_or(CredentialsError::Closed)
}

/// Removes and closes the agent. `Err(Closed)` if the handle was already closed or unknown.
pub fn close(handle: i64) -> Result<(), CredentialsError> {
    let agent = agents().remove(&handle).ok_or(CredentialsError::Closed)?;
    agent.close();
    Ok(())
}
