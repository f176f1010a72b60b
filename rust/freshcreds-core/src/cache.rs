//! The credentials cache, following the cross-SDK refresh specification
//! (`tests/conformance/credential-refresh-tests.json`, run in full by `tests/conformance.rs`).
//!
//! Behaviour, in the order a call meets it:
//! 1. **Error cache.** A non-recoverable failure is remembered for 1–5 s and raised again without
//!    contacting the source, so an application that swallows the error and retries in a loop
//!    cannot hammer the source.
//! 2. **Fresh credentials** (outside the advisory window and not invalidated) are returned as is.
//! 3. **Refresh backoff.** After a recoverable failure the source is left alone for 300–600 s;
//!    callers get the cached credentials, even expired ones (*static stability*: during an outage
//!    the credentials in hand are the best there is, and AWS may still accept them).
//! 4. **Refresh.** Otherwise the source is contacted. Concurrent callers share one in-flight
//!    fetch: whoever waited for it gets its result and does not fetch again (single flight).
//!    Credentials that come back already expired count as a recoverable failure.
//!
//! The advisory window is chosen by the credentials' lifetime at fetch time (≤ 20 min: 5 min,
//! < 90 min: 15 min, otherwise 60 min) unless configured; a configured window is never below the
//! 5-minute floor. The mandatory window is the last 60 s before expiry; the agent's snapshots are
//! valid until it opens ([`crate::agent`]). A `get` that finds a refresh due (advisory window open,
//! no backoff) fetches and waits for the fetch. The agent's background refresher makes that rare
//! by refreshing soon after the advisory window opens: after a random *fleet jitter* of up to a
//! fifth of the window (at most 5 minutes), so that credentials issued together are not all
//! refreshed at the same moment.
//!
//! A source may answer a refresh with the credentials it already gave (IMDS rotates only a few
//! minutes before expiry). That is not a failure, but asking again at once would be a storm, so
//! the cache waits a short while (a tenth of the remaining life, 1–60 s) before asking again.
//!
//! Invalidation (after AWS rejected a key as expired or invalid) is keyed by access key id: it
//! only affects the credentials that were rejected, never newer ones a concurrent refresh brought.
//!
//! **Recovery schedule.** The specification's 300–600 s backoff protects a source while the
//! credentials in hand still work. Once they are expired, inside the mandatory window or rejected
//! by AWS (invalidated), waiting out that backoff would keep every caller failing for up to 10
//! minutes after the source is back. So the agent's background refresher (and only it: callers
//! keep the specification's behaviour, which `tests/conformance.rs` checks) retries then on a
//! short schedule: capped exponential backoff with full jitter, from [`RECOVERY_BACKOFF_BASE`] up to
//! [`RECOVERY_BACKOFF_CAP`], and never more than [`RECOVERY_MAX_FETCHES_PER_WINDOW`] fetches within
//! any [`RECOVERY_RATE_WINDOW`]. The next attempt is therefore never more than 30 s away, and an
//! outage of any length costs at most 4 fetches a minute (40 in 10 minutes).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::backoff;
use crate::clock::Clock;
use crate::credentials::Credentials;
use crate::error::CredentialsError;
/// The source interface lives in [`crate::provider`]; re-exported here, where it used to be.
pub use crate::provider::{CredentialsFuture, ProvideCredentials};

/// Recovery schedule: the ceiling of the first retry's full-jitter delay (doubled per failure).
pub const RECOVERY_BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Recovery schedule: the largest delay between two attempts.
pub const RECOVERY_BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Recovery schedule: at most this many fetches start within any [`RECOVERY_RATE_WINDOW`], however
/// the jitter falls (full jitter alone can draw delays near zero several times in a row).
pub const RECOVERY_MAX_FETCHES_PER_WINDOW: usize = 2;
/// Recovery schedule: see [`RECOVERY_MAX_FETCHES_PER_WINDOW`]. Not longer than
/// [`RECOVERY_BACKOFF_CAP`], so the next attempt is never further away than the cap.
pub const RECOVERY_RATE_WINDOW: Duration = Duration::from_secs(30);

/// The refresh policy. Defaults are the specification's.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Overrides the lifetime-based advisory window (raised to [`Self::advisory_floor`]).
    pub advisory_window: Option<Duration>,
    /// The smallest advisory window: the "refresh 5 minutes before expiry" rule.
    pub advisory_floor: Duration,
    pub mandatory_window: Duration,
    /// Backoff after a recoverable failure: uniformly random within these bounds.
    pub refresh_backoff: (Duration, Duration),
    /// How long a non-recoverable error is remembered: uniformly random within these bounds.
    pub error_cache: (Duration, Duration),
    /// Recovery schedule (see the module docs): full-jitter backoff from `.0`, capped at `.1`.
    pub recovery_backoff: (Duration, Duration),
    /// Recovery schedule: at most `.0` fetches start within any `.1`.
    pub recovery_rate: (usize, Duration),
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            advisory_window: None,
            advisory_floor: Duration::from_secs(300),
            mandatory_window: Duration::from_secs(60),
            refresh_backoff: (Duration::from_secs(300), Duration::from_secs(600)),
            error_cache: (Duration::from_secs(1), Duration::from_secs(5)),
            recovery_backoff: (RECOVERY_BACKOFF_BASE, RECOVERY_BACKOFF_CAP),
            recovery_rate: (RECOVERY_MAX_FETCHES_PER_WINDOW, RECOVERY_RATE_WINDOW),
        }
    }
}

impl CacheConfig {
    /// The advisory window for credentials that live `lifetime` from now.
    pub fn advisory_window_for(&self, lifetime: Duration) -> Duration {
        if let Some(configured) = self.advisory_window {
            return configured.max(self.advisory_floor);
        }
        let minutes = |m: u64| Duration::from_secs(m * 60);
        if lifetime <= minutes(20) {
            minutes(5)
        } else if lifetime < minutes(90) {
            minutes(15)
        } else {
            minutes(60)
        }
    }
}

/// What one `get` did, for callers and for the conformance tests.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub result: Result<Credentials, CredentialsError>,
    /// The source was contacted by this call.
    pub source_contacted: bool,
    /// A refresh was due but the refresh backoff held it back.
    pub rate_limited: bool,
    /// This call brought credentials the cache did not have before.
    pub refreshed: bool,
}

impl Outcome {
    /// Answered from the cache (or its error cache, or a fetch another caller made) without
    /// contacting the source.
    fn not_contacted(result: Result<Credentials, CredentialsError>) -> Self {
        Self { result, source_contacted: false, rate_limited: false, refreshed: false }
    }

    /// A refresh was due, but the refresh backoff held it back: the cached credentials.
    fn rate_limited(credentials: Credentials) -> Self {
        Self { result: Ok(credentials), source_contacted: false, rate_limited: true, refreshed: false }
    }

    /// The source was contacted and brought nothing new: the credentials it gave again, the cached
    /// ones after a recoverable failure, or the failure.
    fn fetched(result: Result<Credentials, CredentialsError>) -> Self {
        Self { result, source_contacted: true, rate_limited: false, refreshed: false }
    }

    /// The source was contacted and brought new credentials.
    fn refreshed(credentials: Credentials) -> Self {
        Self { result: Ok(credentials), source_contacted: true, rate_limited: false, refreshed: true }
    }
}

/// Counters for stats and tests. No secrets.
#[derive(Debug, Clone, Default)]
pub struct CacheStats {
    pub source_calls: u64,
    pub refreshes: u64,
    pub failures: u64,
    pub rate_limited: u64,
    pub generation: u64,
    pub last_error: Option<String>,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    invalidated: bool,
    backoff_until: Option<SystemTime>,
    error_cache: Option<(CredentialsError, SystemTime)>,
    /// After the source answered with the credentials we already had: not before this.
    recheck_after: Option<SystemTime>,
    /// Counts completed fetches; lets callers that waited on the refresh lock share its result.
    attempts: u64,
    /// Failed fetches in a row: the recovery schedule's exponent. Reset by a success.
    failures_in_a_row: u32,
    /// When the last few fetches completed, oldest first: the recovery schedule's rate limit.
    recent_fetches: VecDeque<SystemTime>,
    /// After a recoverable failure: when the refresher may try again if the credentials are
    /// expired, in the mandatory window or invalidated (the recovery schedule).
    recovery_at: Option<SystemTime>,
    last_attempt: Option<Result<Credentials, CredentialsError>>,
    stats: CacheStats,
}

#[derive(Clone)]
struct Cached {
    credentials: Credentials,
    advisory_window: Duration,
    /// When the advisory window opens (or half-life for credentials shorter than the window).
    refresh_due: Option<SystemTime>,
    /// How long after `refresh_due` the background refresher waits: a random part of the window,
    /// so that a fleet whose credentials were issued together does not refresh in step.
    fleet_jitter: Duration,
}

/// Who asks the cache. Callers get the specification's behaviour exactly; the agent's background
/// refresher may also retry on the recovery schedule while the credentials are no longer usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asker {
    Caller,
    Refresher,
}

enum Decision {
    Serve(Credentials),
    RateLimited(Credentials),
    Fail(CredentialsError),
    Refresh,
}

/// Called with each new generation of credentials.
pub type OnUpdate = Box<dyn Fn(u64) + Send + Sync>;

pub struct CredentialsCache {
    source: Arc<dyn ProvideCredentials>,
    clock: Arc<dyn Clock>,
    config: CacheConfig,
    state: Mutex<State>,
    /// Held while the source is contacted: the single-flight gate.
    refresh_lock: tokio::sync::Mutex<()>,
    on_update: Option<OnUpdate>,
}

impl CredentialsCache {
    pub fn new(source: Arc<dyn ProvideCredentials>, clock: Arc<dyn Clock>, config: CacheConfig) -> Self {
        Self { source, clock, config, state: Mutex::new(State::default()), refresh_lock: tokio::sync::Mutex::new(()), on_update: None }
    }

    /// Calls `f` with the new generation number whenever the cache takes in new credentials.
    pub fn with_update_listener(mut self, f: OnUpdate) -> Self {
        self.on_update = Some(f);
        self
    }

    /// Seeds the cache as if `credentials` had been fetched at `fetched_at` (for tests that
    /// start from a given state).
    pub fn seed(&self, credentials: Credentials, fetched_at: SystemTime) {
        let entry = self.cached_entry(credentials, fetched_at);
        let mut state = self.lock();
        state.cached = Some(entry);
        state.stats.generation += 1;
    }

    /// Sets the refresh backoff to a fixed value (the conformance cases pin it).
    pub fn with_fixed_backoff(mut self, backoff: Duration) -> Self {
        self.config.refresh_backoff = (backoff, backoff);
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-written in a way that
        // matters more than losing the credentials, so recover rather than poison every caller.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Credentials per the policy above. Waits for a fetch only when a refresh is due and no
    /// backoff holds it back: the first load, after an invalidation, or once the advisory window
    /// is open (callers that must never wait use [`Self::peek`] and leave refreshes to the agent's
    /// refresher).
    pub async fn get(&self) -> Outcome {
        self.get_as(Asker::Caller).await
    }

    /// [`Self::get`] for the agent's background refresher: the same, except that while the cached
    /// credentials are expired, inside the mandatory window or invalidated, a refresh backoff does
    /// not hold it back once the recovery schedule allows the next attempt (see the module docs).
    pub async fn get_for_refresher(&self) -> Outcome {
        self.get_as(Asker::Refresher).await
    }

    async fn get_as(&self, asker: Asker) -> Outcome {
        let seen_attempts = {
            let mut state = self.lock();
            match self.decide(&mut state, self.clock.now(), asker) {
                Decision::Refresh => state.attempts,
                other => return Self::without_contact(&mut state, other),
            }
        };

        let _gate = self.refresh_lock.lock().await;
        {
            let mut state = self.lock();
            match self.decide(&mut state, self.clock.now(), asker) {
                // A fetch completed while we waited and left nothing to serve (a failed first
                // load): share its result rather than fetching again (single flight).
                Decision::Refresh if state.attempts != seen_attempts => {
                    if let Some(result) = state.last_attempt.clone() {
                        return Outcome::not_contacted(result);
                    }
                }
                Decision::Refresh => {}
                other => return Self::without_contact(&mut state, other),
            }
            state.stats.source_calls += 1;
        }

        let fetched = self.source.provide_credentials().await;
        self.complete(fetched)
    }

    /// The cached credentials without any refresh or waiting, if there are any and they have not
    /// been invalidated.
    pub fn peek(&self) -> Option<Credentials> {
        let state = self.lock();
        if state.invalidated {
            return None;
        }
        state.cached.as_ref().map(|c| c.credentials.clone())
    }

    fn without_contact(state: &mut State, decision: Decision) -> Outcome {
        match decision {
            Decision::Serve(c) => Outcome::not_contacted(Ok(c)),
            Decision::RateLimited(c) => {
                state.stats.rate_limited += 1;
                Outcome::rate_limited(c)
            }
            Decision::Fail(e) => Outcome::not_contacted(Err(e)),
            Decision::Refresh => Outcome::not_contacted(Err(CredentialsError::internal("refresh decision without a refresh"))),
        }
    }

    /// Whether the cached credentials are past use, so that the recovery schedule applies: AWS
    /// rejected them, or they are inside the mandatory window or expired.
    fn past_use(&self, state: &State, now: SystemTime) -> bool {
        state.invalidated || state.cached.as_ref().is_some_and(|c| self.mandatory_start(&c.credentials).is_some_and(|m| now >= m))
    }

    /// When the mandatory window of `credentials` opens (`None`: they never expire).
    fn mandatory_start(&self, credentials: &Credentials) -> Option<SystemTime> {
        credentials.expiration().map(|expiry| expiry.checked_sub(self.config.mandatory_window).unwrap_or(expiry))
    }

    fn decide(&self, state: &mut State, now: SystemTime, asker: Asker) -> Decision {
        if let Some((error, until)) = &state.error_cache {
            if now < *until {
                return Decision::Fail(error.clone());
            }
            state.error_cache = None;
        }
        let Some(cached) = &state.cached else {
            return Decision::Refresh;
        };
        let due = state.invalidated || cached.refresh_due.is_some_and(|due| now >= due);
        if !due {
            return Decision::Serve(cached.credentials.clone());
        }
        if state.backoff_until.is_some_and(|until| now < until) {
            let recovering = asker == Asker::Refresher && self.past_use(state, now) && state.recovery_at.is_none_or(|at| now >= at);
            if !recovering {
                return Decision::RateLimited(cached.credentials.clone());
            }
        }
        if !state.invalidated && state.recheck_after.is_some_and(|after| now < after) {
            return Decision::Serve(cached.credentials.clone());
        }
        Decision::Refresh
    }

    fn cached_entry(&self, credentials: Credentials, now: SystemTime) -> Cached {
        let (advisory_window, refresh_due) = match credentials.expiration() {
            None => (self.config.advisory_window_for(Duration::MAX), None),
            Some(expiry) => {
                let lifetime = expiry.duration_since(now).unwrap_or_default();
                let window = self.config.advisory_window_for(lifetime);
                // Credentials that live less than their window would be "due" the moment they
                // arrive; refresh those at half-life instead of in a loop.
                let due = if lifetime > window { expiry - window } else { now + lifetime / 2 };
                (window, Some(due))
            }
        };
        let fleet_jitter = backoff::uniform(Duration::ZERO, (advisory_window / 5).min(Duration::from_secs(300)));
        Cached { credentials, advisory_window, refresh_due, fleet_jitter }
    }

    /// Takes in the result of a fetch: new credentials are cached, a failure starts the refresh
    /// backoff (recoverable) or the error cache (not recoverable).
    fn complete(&self, fetched: Result<Credentials, CredentialsError>) -> Outcome {
        let now = self.clock.now();
        let fetched = match fetched {
            Ok(c) if c.expiration().is_some_and(|e| e <= now) => {
                Err(CredentialsError::StaleCredentials { expired_at: c.expiration().map(format_time).unwrap_or_default() })
            }
            other => other,
        };
        let mut state = self.lock();
        state.attempts += 1;
        state.recent_fetches.push_back(now);
        while state.recent_fetches.len() > self.config.recovery_rate.0.max(1) {
            state.recent_fetches.pop_front();
        }
        let (outcome, new_generation) = match fetched {
            Ok(fresh) => self.take_in(&mut state, fresh, now),
            Err(error) if error.is_recoverable() => (self.ride_out(&mut state, error, now), None),
            Err(error) => (self.remember_error(&mut state, error, now), None),
        };
        state.last_attempt = Some(outcome.result.clone());
        drop(state);
        if let (Some(generation), Some(listener)) = (new_generation, &self.on_update) {
            listener(generation);
        }
        outcome
    }

    /// A successful fetch. Credentials the cache already holds only postpone the next look (see
    /// the module docs); new ones are cached as a new generation, returned for the listener.
    fn take_in(&self, state: &mut State, fresh: Credentials, now: SystemTime) -> (Outcome, Option<u64>) {
        let unchanged = state.cached.as_ref().is_some_and(|c| c.credentials.same_issue(&fresh));
        state.backoff_until = None;
        state.failures_in_a_row = 0;
        state.recovery_at = None;
        state.error_cache = None;
        state.stats.last_error = None;
        if unchanged && !state.invalidated {
            let remaining = fresh.expiration().and_then(|e| e.duration_since(now).ok()).unwrap_or_default();
            let wait = (remaining / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
            state.recheck_after = Some(now + wait);
            tracing::debug!(source = self.source.name(), recheck_in = %crate::error::log_duration(wait), "source has no newer credentials yet");
            return (Outcome::fetched(Ok(fresh)), None);
        }
        let entry = self.cached_entry(fresh.clone(), now);
        tracing::info!(
            source = self.source.name(),
            access_key_id = %fresh.key_id_for_logs(),
            expires_in = %crate::error::log_time_left(fresh.expiration().and_then(|e| e.duration_since(now).ok())),
            advisory_window = %crate::error::log_duration(entry.advisory_window),
            "loaded new credentials"
        );
        state.cached = Some(entry);
        state.invalidated = false;
        state.recheck_after = None;
        state.stats.refreshes += 1;
        state.stats.generation += 1;
        (Outcome::refreshed(fresh), Some(state.stats.generation))
    }

    /// A recoverable failure: with credentials cached, they are served (even expired: static
    /// stability) while the refresh backoff runs; without, the caller gets the error.
    fn ride_out(&self, state: &mut State, error: CredentialsError, now: SystemTime) -> Outcome {
        state.stats.failures += 1;
        state.stats.last_error = Some(error.to_string());
        let Some(cached) = state.cached.as_ref().map(|c| c.credentials.clone()) else {
            tracing::warn!(source = self.source.name(), error = %error, "could not load credentials");
            return Outcome::fetched(Err(error));
        };
        let backoff = backoff::uniform(self.config.refresh_backoff.0, self.config.refresh_backoff.1);
        state.backoff_until = Some(now + backoff);
        state.failures_in_a_row = state.failures_in_a_row.saturating_add(1);
        let recovery_at = self.recovery_after_failure(state, now);
        state.recovery_at = Some(recovery_at);
        let expired = cached.expiration().is_some_and(|e| e <= now);
        let recovering = self.past_use(state, now);
        let next_attempt_in = if recovering { recovery_at.duration_since(now).unwrap_or_default() } else { backoff };
        // A long outage retried every few seconds would flood the log: the first failures are
        // warnings, later ones only every 20th.
        let streak = state.failures_in_a_row;
        if streak <= 3 || streak.is_multiple_of(20) {
            tracing::warn!(
                source = self.source.name(),
                error = %error,
                failures_in_a_row = streak,
                next_attempt_in = %crate::error::log_duration(next_attempt_in),
                serving_expired_credentials = expired,
                "credentials refresh failed; serving the cached credentials meanwhile"
            );
        } else {
            tracing::debug!(
                source = self.source.name(),
                error = %error,
                failures_in_a_row = streak,
                next_attempt_in = %crate::error::log_duration(next_attempt_in),
                serving_expired_credentials = expired,
                "credentials refresh failed again"
            );
        }
        Outcome::fetched(Ok(cached))
    }

    /// A non-recoverable failure: raised now and, from the error cache, for a few seconds more.
    fn remember_error(&self, state: &mut State, error: CredentialsError, now: SystemTime) -> Outcome {
        state.stats.failures += 1;
        state.stats.last_error = Some(error.to_string());
        let hold = backoff::uniform(self.config.error_cache.0, self.config.error_cache.1);
        state.error_cache = Some((error.clone(), now + hold));
        tracing::error!(source = self.source.name(), error = %error, "credentials source failed");
        Outcome::fetched(Err(error))
    }

    /// When the refresher may try again after a recoverable failure that completed at `now`, if the
    /// credentials are past use by then: a full-jitter delay, but never sooner than the rate window
    /// after the fetch [`CacheConfig::recovery_rate`]`.0 - 1` fetches before this one.
    fn recovery_after_failure(&self, state: &State, now: SystemTime) -> SystemTime {
        let (base, cap) = self.config.recovery_backoff;
        let (max_fetches, window) = self.config.recovery_rate;
        let mut at = now + backoff::full_jitter(state.failures_in_a_row, base, cap);
        if state.recent_fetches.len() >= max_fetches.max(1) {
            if let Some(oldest) = state.recent_fetches.front() {
                at = at.max(*oldest + window);
            }
        }
        at
    }

    /// Marks the cached credentials as rejected by AWS if their access key id matches; the next
    /// `get` then refreshes (unless the refresh backoff holds it back).
    pub fn invalidate(&self, rejected_access_key_id: &str) -> bool {
        let mut state = self.lock();
        let matches = state.cached.as_ref().is_some_and(|c| c.credentials.access_key_id() == rejected_access_key_id);
        if matches {
            state.invalidated = true;
            tracing::info!(access_key_id = %crate::credentials::abbreviate_key_id(rejected_access_key_id), "credentials invalidated");
        }
        matches
    }

    /// The advisory window in force for the cached credentials.
    pub fn advisory_window(&self) -> Option<Duration> {
        self.lock().cached.as_ref().map(|c| c.advisory_window)
    }

    /// When the refresher should next look: the advisory window's start (plus the fleet jitter),
    /// the end of a refresh backoff (or the recovery schedule's next attempt once the credentials
    /// are past use) or a recheck delay, or now when credentials were invalidated. `None` when nothing
    /// is cached (the first load is a caller's).
    pub fn next_refresh_at(&self) -> Option<SystemTime> {
        let state = self.lock();
        let cached = state.cached.as_ref()?;
        // A refresh backoff that reaches past the point where the credentials stop being usable
        // ends, for the refresher, at that point or at the recovery schedule's next attempt.
        let backoff = state.backoff_until.map(|until| {
            let past_use_from = if state.invalidated { Some(SystemTime::UNIX_EPOCH) } else { self.mandatory_start(&cached.credentials) };
            match past_use_from {
                Some(from) if from < until => until.min(from.max(state.recovery_at.unwrap_or(from))),
                _ => until,
            }
        });
        if state.invalidated {
            return Some(backoff.unwrap_or(SystemTime::UNIX_EPOCH));
        }
        let due = cached.refresh_due?;
        let mut at = due + cached.fleet_jitter;
        for later in [backoff, state.recheck_after].into_iter().flatten() {
            at = at.max(later);
        }
        Some(at)
    }

    /// Until when a caller may use the cached credentials without asking the cache again: the
    /// start of the mandatory window, or the end of a backoff that would keep the cache from
    /// refreshing anyway. `None` if nothing usable is cached.
    pub fn usable_until(&self) -> Option<(Credentials, Option<SystemTime>)> {
        let state = self.lock();
        if state.invalidated {
            return None;
        }
        let cached = state.cached.as_ref()?;
        let until = cached.credentials.expiration().map(|expiry| {
            let mandatory = expiry.checked_sub(self.config.mandatory_window).unwrap_or(expiry);
            match state.backoff_until {
                Some(backoff) if backoff > mandatory => backoff,
                _ => mandatory,
            }
        });
        Some((cached.credentials.clone(), until))
    }

    pub fn stats(&self) -> CacheStats {
        self.lock().stats.clone()
    }
}

pub(crate) fn format_time(t: SystemTime) -> String {
    let odt = time::OffsetDateTime::from(t);
    odt.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| format!("{t:?}"))
}
