//! Fault scripts on the compressed clock.
//!
//! A [`Script`] is a list of steps, each at `at_sim_secs` sim seconds after the script is started
//! (`POST /_sim/script`, [`crate::Simulator::run_script`] or `--script FILE`). A background task
//! sleeps `at_sim_secs / time_scale` real seconds (on the monotonic clock, so neither a wall-clock
//! step nor the `aws_clock_skew_ms` fault moves it) and then applies the step: first its `faults`
//! patch (a [`FaultsPatch`], as for `PATCH /_sim/faults`), then `revoke`, then `rotate`.
//!
//! ```json
//! {"steps": [
//!   {"at_sim_secs": 0,    "faults": {"imds_throttle": true}},
//!   {"at_sim_secs": 600,  "faults": {"imds_throttle": null}},
//!   {"at_sim_secs": 3600, "revoke": true}
//! ]}
//! ```
//!
//! Steps must be in non-decreasing `at_sim_secs` order (finite, >= 0); steps with the same time
//! are applied in the order given. Starting a script replaces (cancels) the running one;
//! `DELETE /_sim/script` cancels it. Faults already applied stay in force.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::faults::FaultsPatch;

/// The most steps a script may have.
pub const MAX_STEPS: usize = 10_000;
/// The latest a step may be: ten years of sim time.
pub const MAX_AT_SIM_SECS: f64 = 10.0 * 365.0 * 24.0 * 3600.0;

/// A script, as posted to `POST /_sim/script`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub steps: Vec<ScriptStep>,
}

/// One step of a [`Script`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptStep {
    /// Sim seconds after the script started.
    pub at_sim_secs: f64,
    /// Fault changes, as for `PATCH /_sim/faults`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultsPatch>,
    /// Revoke the current generation (and issue the next), as `POST /_sim/revoke`.
    #[serde(default)]
    pub revoke: bool,
    /// Issue a new generation, as `POST /_sim/rotate`.
    #[serde(default)]
    pub rotate: bool,
}

impl Script {
    /// Checks step count, times and fault values.
    pub fn validate(&self) -> Result<(), String> {
        if self.steps.len() > MAX_STEPS {
            return Err(format!("a script has at most {MAX_STEPS} steps, got {}", self.steps.len()));
        }
        let mut prev = 0.0f64;
        for (i, step) in self.steps.iter().enumerate() {
            let at = step.at_sim_secs;
            if !(at.is_finite() && (0.0..=MAX_AT_SIM_SECS).contains(&at)) {
                return Err(format!("steps[{i}].at_sim_secs must be in 0..={MAX_AT_SIM_SECS}, got {at}"));
            }
            if at < prev {
                return Err(format!("steps must be in non-decreasing at_sim_secs order: steps[{i}].at_sim_secs = {at} < {prev}"));
            }
            prev = at;
            if let Some(p) = &step.faults {
                p.validate().map_err(|e| format!("steps[{i}].faults: {e}"))?;
            }
        }
        Ok(())
    }
}

/// One step in [`ScriptStatus`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepStatus {
    pub at_sim_secs: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultsPatch>,
    pub revoke: bool,
    pub rotate: bool,
    pub applied: bool,
    /// Sim seconds after the script's start at which the step was applied.
    pub applied_at_sim_secs: Option<f64>,
}

/// `GET /_sim/script`: the running (or last) script and its progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptStatus {
    /// A script was started and has steps left to apply (not cancelled).
    pub running: bool,
    /// It was cancelled (by `DELETE /_sim/script` or by starting another one).
    pub cancelled: bool,
    pub steps_total: usize,
    pub steps_applied: usize,
    /// Sim seconds since the script started; `null` when no script was ever started.
    pub elapsed_sim_secs: Option<f64>,
    /// `at_sim_secs` of the next step to apply.
    pub next_at_sim_secs: Option<f64>,
    pub steps: Vec<StepStatus>,
}

#[derive(Default)]
struct State {
    /// Bumped by every start and cancel, so a stale task never applies a step.
    epoch: u64,
    started: Option<Instant>,
    cancelled: bool,
    steps: Vec<StepStatus>,
    task: Option<JoinHandle<()>>,
}

/// What a script acts on: the simulator's shared state (`crate::state::Shared` implements it).
/// Declared here so that this module needs nothing from the state module.
pub(crate) trait ScriptTarget: Send + Sync + 'static {
    /// The runner that holds this target's script.
    fn script_runner(&self) -> &ScriptRunner;
    /// Sim seconds per real second.
    fn time_scale(&self) -> f64;
    /// Whether applied steps are logged to stderr.
    fn log_requests(&self) -> bool;
    /// Applies a step's faults patch, as `PATCH /_sim/faults`.
    fn patch_faults(&self, patch: &FaultsPatch) -> Result<(), String>;
    /// Revokes the current generation and issues the next, as `POST /_sim/revoke`.
    fn revoke_generation(&self);
    /// Issues a new generation, as `POST /_sim/rotate`.
    fn rotate_generation(&self);
}

/// The script runner held by the [`ScriptTarget`].
#[derive(Default)]
pub(crate) struct ScriptRunner {
    state: Mutex<State>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn elapsed_sim(started: Instant, scale: f64) -> f64 {
    started.elapsed().as_secs_f64() * scale
}

impl ScriptRunner {
    /// Starts `script` (after validating it), replacing any running one. Must be called inside a
    /// tokio runtime.
    pub fn start<T: ScriptTarget>(target: &Arc<T>, script: Script) -> Result<(), String> {
        script.validate()?;
        let scale = target.time_scale();
        let started = Instant::now();
        let mut st = lock(&target.script_runner().state);
        if let Some(t) = st.task.take() {
            t.abort();
        }
        st.epoch = st.epoch.wrapping_add(1);
        st.started = Some(started);
        st.cancelled = false;
        st.steps = script
            .steps
            .iter()
            .map(|s| StepStatus {
                at_sim_secs: s.at_sim_secs,
                faults: s.faults.clone(),
                revoke: s.revoke,
                rotate: s.rotate,
                applied: false,
                applied_at_sim_secs: None,
            })
            .collect();
        let epoch = st.epoch;
        let weak = Arc::downgrade(target);
        let times: Vec<f64> = script.steps.iter().map(|s| s.at_sim_secs).collect();
        st.task = Some(tokio::spawn(async move {
            for (i, at) in times.into_iter().enumerate() {
                let deadline = Duration::try_from_secs_f64(at / scale).ok().and_then(|real| started.checked_add(real));
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    // Too far in the future to represent: it never comes.
                    None => std::future::pending::<()>().await,
                }
                // A weak reference, so that a forgotten task never keeps the state alive.
                let Some(target) = weak.upgrade() else { return };
                if !apply_step(&*target, epoch, i, started, scale) {
                    return;
                }
            }
        }));
        Ok(())
    }

    /// Cancels the running script (applied faults stay).
    pub fn cancel(&self) {
        let mut st = lock(&self.state);
        if let Some(t) = st.task.take() {
            t.abort();
        }
        st.epoch = st.epoch.wrapping_add(1);
        if st.started.is_some() && st.steps.iter().any(|s| !s.applied) {
            st.cancelled = true;
        }
    }

    pub fn status(&self, scale: f64) -> ScriptStatus {
        let st = lock(&self.state);
        let applied = st.steps.iter().filter(|s| s.applied).count();
        let next = st.steps.iter().find(|s| !s.applied);
        ScriptStatus {
            running: st.started.is_some() && !st.cancelled && next.is_some(),
            cancelled: st.cancelled,
            steps_total: st.steps.len(),
            steps_applied: applied,
            elapsed_sim_secs: st.started.map(|t| elapsed_sim(t, scale)),
            next_at_sim_secs: next.map(|s| s.at_sim_secs),
            steps: st.steps.clone(),
        }
    }
}

/// Applies step `i` if the script of `epoch` is still the live one. Returns whether to go on.
fn apply_step(target: &impl ScriptTarget, epoch: u64, i: usize, started: Instant, scale: f64) -> bool {
    // Holding the script lock while applying keeps a concurrent cancel or restart from
    // interleaving with a half-applied step; nothing here takes the script lock again.
    let mut st = lock(&target.script_runner().state);
    if st.epoch != epoch {
        return false;
    }
    let Some(slot) = st.steps.get_mut(i) else {
        return false;
    };
    let step = slot.clone();
    if let Some(p) = &step.faults {
        if let Err(e) = target.patch_faults(p) {
            // Validated when the script was started, so this cannot happen; never panic anyway.
            if target.log_requests() {
                eprintln!("freshcreds-sim: script step {i}: faults not applied: {e}");
            }
        }
    }
    if step.revoke {
        target.revoke_generation();
    }
    if step.rotate {
        target.rotate_generation();
    }
    slot.applied = true;
    slot.applied_at_sim_secs = Some(elapsed_sim(started, scale));
    if target.log_requests() {
        eprintln!("freshcreds-sim: script step {i} applied (at_sim_secs {})", step.at_sim_secs);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let ok: Script = serde_json::from_str(
            r#"{"steps":[{"at_sim_secs":0,"faults":{"imds_throttle":true}},{"at_sim_secs":0},{"at_sim_secs":60.5,"revoke":true,"rotate":true}]}"#,
        )
        .expect("json");
        assert!(ok.validate().is_ok());
        for bad in [
            r#"{"steps":[{"at_sim_secs":-1}]}"#,
            r#"{"steps":[{"at_sim_secs":10},{"at_sim_secs":5}]}"#,
            r#"{"steps":[{"at_sim_secs":1e300}]}"#,
            r#"{"steps":[{"at_sim_secs":1,"faults":{"imds_status_override":42}}]}"#,
        ] {
            let s: Script = serde_json::from_str(bad).expect("json");
            assert!(s.validate().is_err(), "{bad}");
        }
        for bad in [
            r#"{"steps":[{"at_sim_secs":1,"typo":true}]}"#,
            r#"{"steps":[{"faults":{}}]}"#,
            r#"{"step":[]}"#,
            r#"{"steps":[{"at_sim_secs":1,"faults":{"nope":1}}]}"#,
        ] {
            assert!(serde_json::from_str::<Script>(bad).is_err(), "{bad}");
        }
    }
}
