//! Shared simulator state: the credential generations, the IMDS session tokens and the counters.
//!
//! * Generation 1 is issued when the simulator starts. A new generation is issued lazily when a
//!   credentials request arrives at or after `expiration - rotate_before` (sim time), or at once
//!   by a forced rotation. Only the newest generation is served by IMDS; older ones stay known to
//!   STS (which answers `ExpiredToken` for them once they expire). At most [`MAX_GENERATIONS`]
//!   are kept. A revoked generation (`POST /_sim/revoke`,
//!   [`crate::Simulator::revoke_current`]) gets `ExpiredToken` from STS at once; revoking also
//!   issues the next generation.
//! * Two clocks are derived from the [`SimClock`] and the `aws_clock_skew_ms` fault:
//!   **AWS time** = real now + skew ([`crate::Simulator::aws_now`]) and the **credential timeline**
//!   = compressed clock + skew, unscaled ([`crate::Simulator::sim_now`]).
//! * IMDS session tokens expire on the compressed clock *without* the skew (a TTL is a duration
//!   on the instance, not an AWS timestamp); expired tokens are pruned whenever a token is issued.
//! * Locks are `std::sync::Mutex`es held only for short, non-async sections; a poisoned lock is
//!   recovered rather than propagated, so a request can never panic on it.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::clock::SimClock;
use crate::faults::Faults;
use crate::script::ScriptRunner;
use crate::SimConfig;

/// How many credential generations STS remembers.
pub const MAX_GENERATIONS: usize = 10_000;
/// How many live IMDS session tokens are kept (the ones closest to expiry are dropped beyond this).
pub const MAX_TOKENS: usize = 100_000;

/// One generation of role credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCredentials {
    /// 1, 2, 3, …
    pub generation: u64,
    /// `ASIA` + 16 uppercase alphanumerics.
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Issue time (sim).
    pub last_updated: SystemTime,
    /// `last_updated + lifetime` (sim).
    pub expiration: SystemTime,
}

impl fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("generation", &self.generation)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .field("last_updated", &self.last_updated)
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// A snapshot of the simulator's counters (see the crate docs for what each one counts).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub token_puts: u64,
    pub imds_gets: u64,
    pub role_list_gets: u64,
    pub credential_gets: u64,
    /// The current generation number (state, not reset by reset-stats).
    pub generation: u64,
    pub rotations: u64,
    /// Successful credential GETs per generation served; JSON keys are decimal strings.
    pub credential_gets_by_generation: BTreeMap<u64, u64>,
    pub sts_calls: u64,
    pub sts_ok: u64,
    pub sts_expired_token: u64,
    pub sts_signature_does_not_match: u64,
    pub sts_invalid_client_token_id: u64,
    pub sts_other_errors: u64,
    /// Every request under `/latest`, whatever the method or outcome (dropped and hung included).
    pub imds_requests_total: u64,
    /// IMDS answers with status 429 (the `imds_throttle` fault or any 429 status override).
    pub imds_throttled: u64,
    /// IMDS connections closed without an answer by the `imds_down` fault.
    pub imds_dropped: u64,
    /// Token PUTs held unanswered by the `token_put_hang` fault.
    pub token_put_hangs: u64,
    /// STS `ExpiredToken` answers given because the generation was revoked (these are also
    /// counted in `sts_expired_token`).
    pub sts_revoked_rejections: u64,
}

pub(crate) struct CredentialStore {
    current: IssuedCredentials,
    by_key: HashMap<String, IssuedCredentials>,
    order: VecDeque<String>,
    /// Access key ids of revoked generations (a subset of `by_key`'s keys).
    revoked: HashSet<String>,
}

/// What STS needs to know about a remembered generation.
pub(crate) struct KnownCredentials {
    pub creds: IssuedCredentials,
    pub revoked: bool,
    pub current: bool,
}

impl CredentialStore {
    fn new(now: SystemTime, lifetime: Duration) -> CredentialStore {
        let first = new_credentials(1, now, lifetime, |_| false);
        let mut store = CredentialStore {
            current: first.clone(),
            by_key: HashMap::new(),
            order: VecDeque::new(),
            revoked: HashSet::new(),
        };
        store.remember(first);
        store
    }

    fn remember(&mut self, creds: IssuedCredentials) {
        self.order.push_back(creds.access_key_id.clone());
        self.by_key.insert(creds.access_key_id.clone(), creds);
        while self.order.len() > MAX_GENERATIONS {
            if let Some(old) = self.order.pop_front() {
                self.by_key.remove(&old);
                self.revoked.remove(&old);
            }
        }
    }

    fn rotate(&mut self, now: SystemTime, lifetime: Duration) -> IssuedCredentials {
        let by_key = &self.by_key;
        let next = new_credentials(self.current.generation + 1, now, lifetime, |k| {
            by_key.contains_key(k)
        });
        self.current = next.clone();
        self.remember(next.clone());
        next
    }
}

pub(crate) struct Shared {
    pub clock: SimClock,
    pub lifetime: Duration,
    pub rotate_before: Duration,
    pub role_name: String,
    pub log_requests: bool,
    pub faults: Faults,
    pub script: ScriptRunner,
    creds: Mutex<CredentialStore>,
    tokens: Mutex<HashMap<String, SystemTime>>,
    stats: Mutex<Stats>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn new(cfg: &SimConfig) -> Shared {
        let clock = SimClock::start(cfg.time_scale);
        let creds = CredentialStore::new(clock.sim_now(), cfg.lifetime);
        Shared {
            clock,
            lifetime: cfg.lifetime,
            rotate_before: cfg.rotate_before,
            role_name: cfg.role_name.clone(),
            log_requests: cfg.log_requests,
            faults: Faults::default(),
            script: ScriptRunner::default(),
            creds: Mutex::new(creds),
            tokens: Mutex::new(HashMap::new()),
            stats: Mutex::new(Stats::default()),
        }
    }

    /// Applies `f` to the live counters.
    pub fn count(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut lock(&self.stats));
    }

    pub fn stats(&self) -> Stats {
        let generation = lock(&self.creds).current.generation;
        let mut s = lock(&self.stats).clone();
        s.generation = generation;
        s
    }

    pub fn reset_stats(&self) {
        *lock(&self.stats) = Stats::default();
    }

    /// The credentials IMDS should serve now, rotating first if the current generation is within
    /// `rotate_before` of its expiration.
    pub fn credentials_for_serving(&self) -> IssuedCredentials {
        let now = self.sim_now();
        let mut store = lock(&self.creds);
        let rotate_at = store
            .current
            .expiration
            .checked_sub(self.rotate_before)
            .unwrap_or(store.current.last_updated);
        if now >= rotate_at {
            let next = store.rotate(now, self.lifetime);
            drop(store);
            self.count(|s| s.rotations += 1);
            next
        } else {
            store.current.clone()
        }
    }

    /// Forces a new generation.
    pub fn rotate_now(&self) -> IssuedCredentials {
        let now = self.sim_now();
        let next = lock(&self.creds).rotate(now, self.lifetime);
        self.count(|s| s.rotations += 1);
        next
    }

    /// Revokes the current generation (STS answers `ExpiredToken` for it from now on) and issues
    /// the next one, which IMDS serves at once. Returns the new generation.
    pub fn revoke_current(&self) -> IssuedCredentials {
        let now = self.sim_now();
        let next = {
            let mut store = lock(&self.creds);
            let old = store.current.access_key_id.clone();
            store.revoked.insert(old);
            store.rotate(now, self.lifetime)
        };
        self.count(|s| s.rotations += 1);
        next
    }

    /// AWS's now: real now + `aws_clock_skew_ms`.
    pub fn aws_now(&self) -> SystemTime {
        shift(self.clock.real_now(), self.faults.aws_clock_skew_ms())
    }

    /// The credential timeline: the compressed clock + `aws_clock_skew_ms` (unscaled).
    pub fn sim_now(&self) -> SystemTime {
        shift(self.clock.sim_now(), self.faults.aws_clock_skew_ms())
    }

    /// The current generation, without rotating.
    pub fn current_credentials(&self) -> IssuedCredentials {
        lock(&self.creds).current.clone()
    }

    /// Any remembered generation with this access key id, whether it is revoked and whether it
    /// is the current one.
    pub fn find_credentials(&self, access_key_id: &str) -> Option<KnownCredentials> {
        let store = lock(&self.creds);
        let creds = store.by_key.get(access_key_id)?.clone();
        Some(KnownCredentials {
            revoked: store.revoked.contains(access_key_id),
            current: store.current.access_key_id == access_key_id,
            creds,
        })
    }

    /// Issues an IMDS session token valid for `ttl` of sim time.
    pub fn issue_token(&self, ttl: Duration) -> String {
        let now = self.clock.sim_now();
        let expiry = now.checked_add(ttl).unwrap_or(now);
        let token = random_string(56, ALNUM);
        let mut tokens = lock(&self.tokens);
        tokens.retain(|_, exp| *exp > now);
        while tokens.len() >= MAX_TOKENS {
            let oldest = tokens
                .iter()
                .min_by_key(|(_, exp)| **exp)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => tokens.remove(&k),
                None => break,
            };
        }
        tokens.insert(token.clone(), expiry);
        token
    }

    /// Whether `token` was issued and has not expired (sim time).
    pub fn token_valid(&self, token: &str) -> bool {
        let now = self.clock.sim_now();
        lock(&self.tokens).get(token).is_some_and(|exp| now < *exp)
    }
}

/// `t` shifted by `ms` milliseconds (either sign), saturating to `t` on overflow.
pub fn shift(t: SystemTime, ms: i64) -> SystemTime {
    let d = Duration::from_millis(ms.unsigned_abs());
    let shifted = if ms >= 0 {
        t.checked_add(d)
    } else {
        t.checked_sub(d)
    };
    shifted.unwrap_or(t)
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_string(len: usize, alphabet: &[u8]) -> String {
    (0..len)
        .map(|_| alphabet[fastrand::usize(..alphabet.len())] as char)
        .collect()
}

fn new_credentials(
    generation: u64,
    now: SystemTime,
    lifetime: Duration,
    taken: impl Fn(&str) -> bool,
) -> IssuedCredentials {
    let access_key_id = loop {
        let k = format!("ASIA{}", random_string(16, UPPER_ALNUM));
        if !taken(&k) {
            break k;
        }
    };
    // Real session tokens are long base64 blobs starting with "IQoJb3JpZ2lu" ("!\n\torigin").
    let session_token = format!("IQoJb3JpZ2luX2VjE{}", random_string(283, BASE64));
    IssuedCredentials {
        generation,
        access_key_id,
        secret_access_key: random_string(40, BASE64),
        session_token,
        last_updated: now,
        expiration: now.checked_add(lifetime).unwrap_or(now),
    }
}

/// A uuid-shaped random request id (`8-4-4-4-12` lowercase hex).
pub fn request_id() -> String {
    let h = format!("{:032x}", fastrand::u128(..));
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_shapes() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let c = new_credentials(7, now, Duration::from_secs(3600), |_| false);
        assert_eq!(c.generation, 7);
        assert!(c.access_key_id.starts_with("ASIA") && c.access_key_id.len() == 20);
        assert!(c
            .access_key_id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(c.secret_access_key.len(), 40);
        assert_eq!(c.session_token.len(), 300);
        assert_eq!(c.expiration, now + Duration::from_secs(3600));
        assert!(!format!("{c:?}").contains(&c.secret_access_key));
        assert_eq!(request_id().len(), 36);
    }

    #[test]
    fn store_remembers_old_generations_up_to_the_cap() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut store = CredentialStore::new(now, Duration::from_secs(60));
        let first = store.current.access_key_id.clone();
        for _ in 0..MAX_GENERATIONS {
            store.rotate(now, Duration::from_secs(60));
        }
        assert_eq!(store.current.generation, MAX_GENERATIONS as u64 + 1);
        assert_eq!(store.by_key.len(), MAX_GENERATIONS);
        assert!(!store.by_key.contains_key(&first));
    }
}
