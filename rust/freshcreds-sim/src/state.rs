//! Shared simulator state: the credential generations, the issued role sessions, the static key
//! pairs, the IMDS session tokens and the counters.
//!
//! * Generation 1 is issued when the simulator starts. A new generation is issued lazily when a
//!   credentials request arrives at or after `expiration - rotate_before` (sim time), or at once
//!   by a forced rotation. Only the newest generation is served by IMDS; older ones stay known to
//!   STS (which answers `ExpiredToken` for them once they expire). At most [`MAX_GENERATIONS`]
//!   are kept. A revoked generation (`POST /_sim/revoke`,
//!   [`crate::Simulator::revoke_current`]) gets `ExpiredToken` from STS at once; revoking also
//!   issues the next generation.
//! * The container endpoint has its own generation series with the same rules (lifetime, lazy
//!   rotation `rotate_before` ahead of expiry, forced rotation, revocation), independent of IMDS.
//! * Role sessions issued by STS `AssumeRole` / `AssumeRoleWithWebIdentity` and by the SSO portal
//!   live their own duration (sim time); the newest [`MAX_SESSIONS`] are remembered.
//! * Static key pairs (an IAM user's long-term keys, no session token, no expiry): the built-in
//!   [`STATIC_ACCESS_KEY_ID`] / [`STATIC_SECRET_ACCESS_KEY`] and up to [`MAX_STATIC_KEYS`]
//!   registered ones. Every access key id the simulator knows is unique across all of these.
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
use crate::config::SimConfig;
use crate::faults::{Faults, FaultsPatch};
use crate::script::{ScriptRunner, ScriptTarget};
use crate::sources::Sources;

/// How many credential generations STS remembers.
pub const MAX_GENERATIONS: usize = 10_000;
/// How many live IMDS session tokens are kept (the ones closest to expiry are dropped beyond this).
pub const MAX_TOKENS: usize = 100_000;
/// How many role sessions (AssumeRole, AssumeRoleWithWebIdentity, SSO) STS remembers; the oldest
/// are forgotten beyond this (their keys then get `InvalidClientTokenId`).
pub const MAX_SESSIONS: usize = 50_000;
/// How many static key pairs may be known (the built-in one included).
pub const MAX_STATIC_KEYS: usize = 1_000;
/// The built-in static access key id (an IAM user's long-term key: no session token).
pub const STATIC_ACCESS_KEY_ID: &str = "AKIASIMSTATIC0000001";
/// The built-in static secret access key.
pub const STATIC_SECRET_ACCESS_KEY: &str = "simStaticSecretKey0000000000000000000001";
/// The account every simulated identity lives in (unless a role ARN names another).
pub const ACCOUNT: &str = "123456789012";
/// The IAM user the static key pairs belong to.
pub const STATIC_USER_ARN: &str = "arn:aws:iam::123456789012:user/sim-static-user";
/// Its user id (`AIDA` + 17).
pub const STATIC_USER_ID: &str = "AIDASIMSTATICUSER0001";

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
    /// Successful (200) container credential answers.
    pub container_gets: u64,
    /// Container requests refused for a missing (401) or wrong (403) `Authorization` header.
    pub container_auth_failures: u64,
    /// The current container generation number (state, not reset by reset-stats).
    pub container_generation: u64,
    /// New container generations issued (lazy, forced or by revocation).
    pub container_rotations: u64,
    /// Successful STS `AssumeRole` answers (also counted in `sts_ok`).
    pub sts_assume_role: u64,
    /// Successful STS `AssumeRoleWithWebIdentity` answers (also counted in `sts_ok`).
    pub sts_assume_role_with_web_identity: u64,
    /// Successful (200) SSO portal `GetRoleCredentials` answers.
    pub sso_gets: u64,
    /// SSO portal requests refused with 401 `UnauthorizedException`.
    pub sso_unauthorized: u64,
    /// Every request to the SQS endpoint (`/` with an `X-Amz-Target: AmazonSQS.…` header).
    pub sqs_calls: u64,
    /// Successful (200) SQS answers.
    pub sqs_ok: u64,
    /// SQS error answers, whatever the error (`ExpiredToken` ones included).
    pub sqs_errors: u64,
    /// SQS `ExpiredToken` answers, for expired or revoked credentials (also counted in `sqs_errors`).
    pub sqs_expired_token: u64,
}

pub(crate) struct CredentialStore {
    current: IssuedCredentials,
    by_key: HashMap<String, IssuedCredentials>,
    order: VecDeque<String>,
    /// Access key ids of revoked generations (a subset of `by_key`'s keys).
    revoked: HashSet<String>,
}

impl CredentialStore {
    fn new(first: IssuedCredentials) -> CredentialStore {
        let mut store = CredentialStore { current: first.clone(), by_key: HashMap::new(), order: VecDeque::new(), revoked: HashSet::new() };
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

    /// Issues the next generation under `access_key_id` (which the caller made sure is unused).
    fn rotate(&mut self, access_key_id: String, now: SystemTime, lifetime: Duration) -> IssuedCredentials {
        let next = new_credentials(self.current.generation + 1, access_key_id, now, lifetime);
        self.current = next.clone();
        self.remember(next.clone());
        next
    }

    /// The current generation, rotated first when `now` is within `rotate_before` of its expiry.
    /// The flag says whether it rotated.
    fn for_serving(
        &mut self,
        fresh_key: impl FnOnce() -> String,
        now: SystemTime,
        lifetime: Duration,
        rotate_before: Duration,
    ) -> (IssuedCredentials, bool) {
        let rotate_at = self.current.expiration.checked_sub(rotate_before).unwrap_or(self.current.last_updated);
        if now >= rotate_at {
            (self.rotate(fresh_key(), now, lifetime), true)
        } else {
            (self.current.clone(), false)
        }
    }

    /// Revokes the current generation and issues the next.
    fn revoke_current(&mut self, access_key_id: String, now: SystemTime, lifetime: Duration) -> IssuedCredentials {
        let old = self.current.access_key_id.clone();
        self.revoked.insert(old);
        self.rotate(access_key_id, now, lifetime)
    }
}

/// A role session: who the holder of issued credentials is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSession {
    /// `aws`, `aws-cn`, …
    pub partition: String,
    /// 12 digits.
    pub account: String,
    /// The role name (without its path).
    pub role_name: String,
    /// `AROA` + 17 characters, derived from the role ARN.
    pub role_id: String,
    pub session_name: String,
}

impl RoleSession {
    /// A session of role `role_name` (no path) in `partition`/`account`.
    pub fn new(partition: &str, account: &str, role_name: &str, session_name: &str) -> Self {
        RoleSession {
            partition: partition.to_string(),
            account: account.to_string(),
            role_name: role_name.to_string(),
            role_id: role_id(&format!("arn:{partition}:iam::{account}:role/{role_name}")),
            session_name: session_name.to_string(),
        }
    }

    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub fn arn(&self) -> String {
        format!("arn:{}:sts::{}:assumed-role/{}/{}", self.partition, self.account, self.role_name, self.session_name)
    }

    /// `AROA…:SESSION`, the `AssumedRoleId` / GetCallerIdentity `UserId`.
    pub fn assumed_role_id(&self) -> String {
        format!("{}:{}", self.role_id, self.session_name)
    }
}

/// A stable, role-id-shaped id for a role ARN: `AROA` + 17 uppercase hex characters.
pub fn role_id(role_arn: &str) -> String {
    let h = crate::sigv4::sha256_hex(role_arn.as_bytes()).to_ascii_uppercase();
    format!("AROA{}", &h[..17])
}

/// Who signed an STS request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The EC2 instance profile role (IMDS generations).
    InstanceRole,
    /// A role session: container generations, AssumeRole, AssumeRoleWithWebIdentity, SSO.
    RoleSession(RoleSession),
    /// The IAM user of the static key pairs.
    StaticUser,
}

/// The principal of the container credentials.
pub fn container_session() -> RoleSession {
    RoleSession::new("aws", ACCOUNT, CONTAINER_ROLE_NAME, CONTAINER_SESSION_NAME)
}

/// The container credentials' role name.
pub const CONTAINER_ROLE_NAME: &str = "sim-container-role";
/// The container credentials' role ARN (`RoleArn` in the container document).
pub const CONTAINER_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/sim-container-role";
/// The container credentials' session name (on ECS it is the task id).
pub const CONTAINER_SESSION_NAME: &str = "sim-container-task";

struct SessionStore {
    by_key: HashMap<String, (IssuedCredentials, RoleSession)>,
    order: VecDeque<String>,
    issued: u64,
}

/// Every credential the simulator knows, under one lock so that access key ids stay unique.
pub(crate) struct KeyStore {
    imds: CredentialStore,
    container: CredentialStore,
    sessions: SessionStore,
    /// access key id → secret.
    statics: BTreeMap<String, String>,
}

impl KeyStore {
    fn new(now: SystemTime, lifetime: Duration) -> KeyStore {
        let imds = CredentialStore::new(new_credentials(1, random_key_id(), now, lifetime));
        let mut container_key = random_key_id();
        while imds.by_key.contains_key(&container_key) {
            container_key = random_key_id();
        }
        let container = CredentialStore::new(new_credentials(1, container_key, now, lifetime));
        let mut statics = BTreeMap::new();
        statics.insert(STATIC_ACCESS_KEY_ID.to_string(), STATIC_SECRET_ACCESS_KEY.to_string());
        KeyStore { imds, container, sessions: SessionStore { by_key: HashMap::new(), order: VecDeque::new(), issued: 0 }, statics }
    }

    fn contains(&self, access_key_id: &str) -> bool {
        self.imds.by_key.contains_key(access_key_id)
            || self.container.by_key.contains_key(access_key_id)
            || self.sessions.by_key.contains_key(access_key_id)
            || self.statics.contains_key(access_key_id)
    }

    /// A new `ASIA…` key id no credential uses.
    fn fresh_key_id(&self) -> String {
        loop {
            let k = random_key_id();
            if !self.contains(&k) {
                return k;
            }
        }
    }
}

/// What STS needs to know about the key that signed a request.
pub(crate) struct KnownKey {
    pub secret_access_key: String,
    /// `None` for a static key pair (which must be used without a session token).
    pub session_token: Option<String>,
    /// `None` = never expires.
    pub expiration: Option<SystemTime>,
    pub revoked: bool,
    /// The current IMDS generation (exempt from expiry while `serve_expired_credentials` is on).
    pub imds_current: bool,
    pub principal: Principal,
}

impl KnownKey {
    fn issued(creds: &IssuedCredentials, revoked: bool, principal: Principal) -> KnownKey {
        KnownKey {
            secret_access_key: creds.secret_access_key.clone(),
            session_token: Some(creds.session_token.clone()),
            expiration: Some(creds.expiration),
            revoked,
            imds_current: false,
            principal,
        }
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
    pub sources: Sources,
    keys: Mutex<KeyStore>,
    tokens: Mutex<HashMap<String, SystemTime>>,
    stats: Mutex<Stats>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn new(cfg: &SimConfig) -> Shared {
        let clock = SimClock::start(cfg.time_scale);
        let keys = KeyStore::new(clock.sim_now(), cfg.lifetime);
        Shared {
            clock,
            lifetime: cfg.lifetime,
            rotate_before: cfg.rotate_before,
            role_name: cfg.role_name.clone(),
            log_requests: cfg.log_requests,
            faults: Faults::default(),
            script: ScriptRunner::default(),
            sources: Sources::default(),
            keys: Mutex::new(keys),
            tokens: Mutex::new(HashMap::new()),
            stats: Mutex::new(Stats::default()),
        }
    }

    /// Applies `f` to the live counters.
    pub fn count(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut lock(&self.stats));
    }

    pub fn stats(&self) -> Stats {
        let (generation, container_generation) = {
            let keys = lock(&self.keys);
            (keys.imds.current.generation, keys.container.current.generation)
        };
        let mut s = lock(&self.stats).clone();
        s.generation = generation;
        s.container_generation = container_generation;
        s
    }

    pub fn reset_stats(&self) {
        *lock(&self.stats) = Stats::default();
    }

    /// The credentials IMDS should serve now, rotating first if the current generation is within
    /// `rotate_before` of its expiration.
    pub fn credentials_for_serving(&self) -> IssuedCredentials {
        let now = self.sim_now();
        let (creds, rotated) = {
            let mut keys = lock(&self.keys);
            let fresh = keys.fresh_key_id();
            keys.imds.for_serving(|| fresh, now, self.lifetime, self.rotate_before)
        };
        if rotated {
            self.count(|s| s.rotations += 1);
        }
        creds
    }

    /// Forces a new generation.
    pub fn rotate_now(&self) -> IssuedCredentials {
        let now = self.sim_now();
        let next = {
            let mut keys = lock(&self.keys);
            let fresh = keys.fresh_key_id();
            keys.imds.rotate(fresh, now, self.lifetime)
        };
        self.count(|s| s.rotations += 1);
        next
    }

    /// Revokes the current generation (STS answers `ExpiredToken` for it from now on) and issues
    /// the next one, which IMDS serves at once. Returns the new generation.
    pub fn revoke_current(&self) -> IssuedCredentials {
        let now = self.sim_now();
        let next = {
            let mut keys = lock(&self.keys);
            let fresh = keys.fresh_key_id();
            keys.imds.revoke_current(fresh, now, self.lifetime)
        };
        self.count(|s| s.rotations += 1);
        next
    }

    /// The credentials the container endpoint should serve now (same rotation rule as IMDS, own
    /// generation series).
    pub fn container_credentials_for_serving(&self) -> IssuedCredentials {
        let now = self.sim_now();
        let (creds, rotated) = {
            let mut keys = lock(&self.keys);
            let fresh = keys.fresh_key_id();
            keys.container.for_serving(|| fresh, now, self.lifetime, self.rotate_before)
        };
        if rotated {
            self.count(|s| s.container_rotations += 1);
        }
        creds
    }

    /// Forces a new container generation.
    pub fn rotate_container_now(&self) -> IssuedCredentials {
        let now = self.sim_now();
        let next = {
            let mut keys = lock(&self.keys);
            let fresh = keys.fresh_key_id();
            keys.container.rotate(fresh, now, self.lifetime)
        };
        self.count(|s| s.container_rotations += 1);
        next
    }

    /// Revokes the current container generation and issues the next one.
    pub fn revoke_container_current(&self) -> IssuedCredentials {
        let now = self.sim_now();
        let next = {
            let mut keys = lock(&self.keys);
            let fresh = keys.fresh_key_id();
            keys.container.revoke_current(fresh, now, self.lifetime)
        };
        self.count(|s| s.container_rotations += 1);
        next
    }

    /// The current container generation, without rotating.
    pub fn current_container_credentials(&self) -> IssuedCredentials {
        lock(&self.keys).container.current.clone()
    }

    /// Issues role-session credentials valid for `duration` of sim time (from the credential
    /// timeline's now).
    pub fn issue_session(&self, session: RoleSession, duration: Duration) -> IssuedCredentials {
        let now = self.sim_now();
        let mut keys = lock(&self.keys);
        let fresh = keys.fresh_key_id();
        let store = &mut keys.sessions;
        store.issued += 1;
        let creds = new_credentials(store.issued, fresh, now, duration);
        store.order.push_back(creds.access_key_id.clone());
        store.by_key.insert(creds.access_key_id.clone(), (creds.clone(), session));
        while store.order.len() > MAX_SESSIONS {
            if let Some(old) = store.order.pop_front() {
                store.by_key.remove(&old);
            }
        }
        creds
    }

    /// Registers (or replaces the secret of) a static key pair. Refuses a key id that issued
    /// credentials use, a bad shape, or more than [`MAX_STATIC_KEYS`].
    pub fn add_static_key(&self, access_key_id: &str, secret: &str) -> Result<(), String> {
        validate_static_key(access_key_id, secret)?;
        let mut keys = lock(&self.keys);
        if keys.imds.by_key.contains_key(access_key_id)
            || keys.container.by_key.contains_key(access_key_id)
            || keys.sessions.by_key.contains_key(access_key_id)
        {
            return Err(format!("access_key_id {access_key_id} is already used by credentials the simulator issued"));
        }
        if !keys.statics.contains_key(access_key_id) && keys.statics.len() >= MAX_STATIC_KEYS {
            return Err(format!("at most {MAX_STATIC_KEYS} static key pairs"));
        }
        keys.statics.insert(access_key_id.to_string(), secret.to_string());
        Ok(())
    }

    /// The access key ids of the static key pairs, sorted (never the secrets).
    pub fn static_key_ids(&self) -> Vec<String> {
        lock(&self.keys).statics.keys().cloned().collect()
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
        lock(&self.keys).imds.current.clone()
    }

    /// Whatever the simulator knows about this access key id: an IMDS or container generation
    /// (remembered ones included), a role session or a static key pair.
    pub fn lookup_key(&self, access_key_id: &str) -> Option<KnownKey> {
        let keys = lock(&self.keys);
        if let Some(c) = keys.imds.by_key.get(access_key_id) {
            let mut k = KnownKey::issued(c, keys.imds.revoked.contains(access_key_id), Principal::InstanceRole);
            k.imds_current = keys.imds.current.access_key_id == access_key_id;
            return Some(k);
        }
        if let Some(c) = keys.container.by_key.get(access_key_id) {
            return Some(KnownKey::issued(c, keys.container.revoked.contains(access_key_id), Principal::RoleSession(container_session())));
        }
        if let Some((c, session)) = keys.sessions.by_key.get(access_key_id) {
            return Some(KnownKey::issued(c, false, Principal::RoleSession(session.clone())));
        }
        keys.statics.get(access_key_id).map(|secret| KnownKey {
            secret_access_key: secret.clone(),
            session_token: None,
            expiration: None,
            revoked: false,
            imds_current: false,
            principal: Principal::StaticUser,
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
            let oldest = tokens.iter().min_by_key(|(_, exp)| **exp).map(|(k, _)| k.clone());
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

/// What a fault script does to the simulator.
impl ScriptTarget for Shared {
    fn script_runner(&self) -> &ScriptRunner {
        &self.script
    }

    fn time_scale(&self) -> f64 {
        self.clock.scale()
    }

    fn log_requests(&self) -> bool {
        self.log_requests
    }

    fn patch_faults(&self, patch: &FaultsPatch) -> Result<(), String> {
        self.faults.patch(patch).map(|_| ())
    }

    fn revoke_generation(&self) {
        self.revoke_current();
    }

    fn rotate_generation(&self) {
        self.rotate_now();
    }
}

/// `t` shifted by `ms` milliseconds (either sign), saturating to `t` on overflow.
pub fn shift(t: SystemTime, ms: i64) -> SystemTime {
    let d = Duration::from_millis(ms.unsigned_abs());
    let shifted = if ms >= 0 { t.checked_add(d) } else { t.checked_sub(d) };
    shifted.unwrap_or(t)
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_string(len: usize, alphabet: &[u8]) -> String {
    (0..len).map(|_| alphabet[fastrand::usize(..alphabet.len())] as char).collect()
}

/// `ASIA` + 16 uppercase alphanumerics (not checked for uniqueness).
fn random_key_id() -> String {
    format!("ASIA{}", random_string(16, UPPER_ALNUM))
}

fn new_credentials(generation: u64, access_key_id: String, now: SystemTime, lifetime: Duration) -> IssuedCredentials {
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

/// Checks a static key pair's shape: the id 16..=128 ASCII letters and digits, the secret
/// 1..=128 visible ASCII characters.
pub fn validate_static_key(access_key_id: &str, secret: &str) -> Result<(), String> {
    if !(16..=128).contains(&access_key_id.len()) || !access_key_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("access_key_id must be 16..=128 ASCII letters and digits".to_string());
    }
    if !(1..=128).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("secret_access_key must be 1..=128 visible ASCII characters (no spaces)".to_string());
    }
    Ok(())
}

/// A uuid-shaped random request id (`8-4-4-4-12` lowercase hex).
pub fn request_id() -> String {
    let h = format!("{:032x}", fastrand::u128(..));
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_shapes() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let c = new_credentials(7, random_key_id(), now, Duration::from_secs(3600));
        assert_eq!(c.generation, 7);
        assert!(c.access_key_id.starts_with("ASIA") && c.access_key_id.len() == 20);
        assert!(c.access_key_id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(c.secret_access_key.len(), 40);
        assert_eq!(c.session_token.len(), 300);
        assert_eq!(c.expiration, now + Duration::from_secs(3600));
        assert!(!format!("{c:?}").contains(&c.secret_access_key));
        assert_eq!(request_id().len(), 36);
    }

    #[test]
    fn store_remembers_old_generations_up_to_the_cap() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut store = CredentialStore::new(new_credentials(1, random_key_id(), now, Duration::from_secs(60)));
        let first = store.current.access_key_id.clone();
        for _ in 0..MAX_GENERATIONS {
            store.rotate(random_key_id(), now, Duration::from_secs(60));
        }
        assert_eq!(store.current.generation, MAX_GENERATIONS as u64 + 1);
        assert_eq!(store.by_key.len(), MAX_GENERATIONS);
        assert!(!store.by_key.contains_key(&first));
    }

    #[test]
    fn key_ids_are_unique_across_sources_and_static_keys_validate() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let keys = KeyStore::new(now, Duration::from_secs(60));
        assert_ne!(keys.imds.current.access_key_id, keys.container.current.access_key_id);
        assert!(keys.contains(&keys.imds.current.access_key_id));
        assert!(keys.contains(&keys.container.current.access_key_id));
        assert!(keys.contains(STATIC_ACCESS_KEY_ID));
        assert!(!keys.contains(&keys.fresh_key_id()));

        assert!(validate_static_key(STATIC_ACCESS_KEY_ID, STATIC_SECRET_ACCESS_KEY).is_ok());
        for (id, secret) in [
            ("AKIA123", "s"),
            (&"A".repeat(129)[..], "s"),
            ("AKIA-0000000000000", "s"),
            ("AKIA000000000000", ""),
            ("AKIA000000000000", "a b"),
            ("AKIA000000000000", "é"),
        ] {
            assert!(validate_static_key(id, secret).is_err(), "{id} {secret}");
        }
        let session = RoleSession::new("aws", ACCOUNT, "r", "s");
        assert_eq!(session.arn(), "arn:aws:sts::123456789012:assumed-role/r/s");
        assert_eq!(session.role_id, role_id("arn:aws:iam::123456789012:role/r"));
        assert_eq!(session.role_id.len(), 21);
        assert!(session.assumed_role_id().ends_with(":s"));
    }
}
