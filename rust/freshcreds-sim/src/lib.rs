//! `freshcreds-sim`: a local simulator of the EC2 instance metadata service (IMDSv2), of AWS STS
//! (`GetCallerIdentity`, `AssumeRole`, `AssumeRoleWithWebIdentity`), of the ECS / EKS Pod Identity
//! container credentials endpoint and of the IAM Identity Center (SSO) portal's
//! `GetRoleCredentials`, for tests and the demo: every source of the AWS SDKs' default credential
//! chain can be exercised over real HTTP. A minimal Amazon SQS endpoint (`ListQueues`,
//! `GetQueueUrl`) gives applications a signed service call to make with those credentials.
//!
//! * It binds **127.0.0.1 only** (port 0 = ephemeral). One port serves IMDSv2 (`/latest/…`, see
//!   [`imds`]), STS (`/`, see [`sts`] and [`assume`]), SQS (`/` with an
//!   `X-Amz-Target: AmazonSQS.…` header, AWS JSON 1.0 protocol, see [`sqs`]), container
//!   credentials (`/container/…`, see [`container`]), the SSO portal (`/federation/credentials`,
//!   see [`sso`]) and a JSON control API (`/_sim/…`, see [`control`]; the sources' settings in
//!   [`sources`]).
//! * Time: credential lifetimes, rotation and IMDS token TTLs run on a compressed **sim clock**,
//!   `origin + (real_now - origin) * time_scale` ([`clock::SimClock`]); the SigV4 request-time
//!   check (5 minutes) and the `Date` header use **AWS time**, the real clock. The
//!   `aws_clock_skew_ms` fault shifts AWS time (`aws_now = real_now + skew`) and the credential
//!   timeline (`sim_now = compressed clock + skew`, the skew unscaled) but not IMDS token TTLs —
//!   so a skew of −600000 makes this host's clock look 10 minutes fast.
//! * Credentials: generation 1 is issued at start; IMDS rotates lazily — a credentials request at
//!   or after `expiration - rotate_before` (sim) first issues a new generation.
//!   [`Simulator::rotate_now`] or `POST /_sim/rotate` forces one. STS remembers old generations
//!   (up to [`state::MAX_GENERATIONS`]) and answers `ExpiredToken` for expired ones.
//!   [`Simulator::revoke_current`] or `POST /_sim/revoke` revokes the current generation
//!   (`ExpiredToken` at once) and issues the next.
//! * STS and SQS verify real AWS SigV4 signatures ([`sigv4`]) made with the simulator's
//!   credentials — IMDS and container generations, role sessions it issued, static key pairs
//!   ([`STATIC_ACCESS_KEY_ID`] built in, more via `POST /_sim/static-keys`) — as sent by the AWS
//!   SDKs for Java v1 and v2 with an endpoint override; SQS answers `ExpiredToken` and the other
//!   signature errors in SQS's JSON error shape.
//! * The container endpoint serves its own generation series (same lifetime and rotation rules);
//!   `AssumeRole`, `AssumeRoleWithWebIdentity` and the SSO portal issue role sessions that live
//!   their own duration of sim time. STS accepts all of them until they expire. Their settings
//!   (container authorization token, expected web identity and SSO tokens) are [`Sources`].
//! * Faults ([`Faults`], table in [`faults`]) inject IMDS status codes, throttling, delays,
//!   outages (connections closed), hung token PUTs, bad, truncated or expired-looking credential
//!   documents and AWS clock skew. A [`Script`] ([`script`]) changes faults, revokes or rotates at
//!   given sim times.
//! * No request can make the server panic; bad input gets an error response.
//! * Dropping the [`Simulator`] stops the server and closes its connections.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use freshcreds_sim::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig { time_scale: 600.0, ..SimConfig::default() }).await?;
//! println!("IMDS and STS at {}", sim.base_url());
//! # Ok(()) }
//! ```

pub mod assume;
pub mod clock;
mod config;
pub mod container;
pub mod control;
pub mod faults;
mod http;
pub mod imds;
mod patch;
mod query;
pub mod script;
mod server;
pub mod sigv4;
pub mod sources;
pub mod sqs;
pub mod sso;
pub mod state;
pub mod sts;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::SystemTime;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use clock::SimClock;
pub use config::{SimConfig, LOG_ENV};
pub use control::{ClockInfo, StaticKeys};
pub use faults::{Faults, FaultsConfig, FaultsPatch};
pub use script::{Script, ScriptStatus, ScriptStep};
pub use sources::{Sources, SourcesConfig, SourcesPatch};
pub use state::{IssuedCredentials, Stats, CONTAINER_ROLE_ARN, STATIC_ACCESS_KEY_ID, STATIC_SECRET_ACCESS_KEY};

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    shared: Arc<state::Shared>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Simulator {
    /// Binds 127.0.0.1:`cfg.port` and starts serving on the current tokio runtime (which must keep
    /// being driven: with a current-thread runtime the server only runs inside `block_on`; a
    /// multi-thread runtime serves in the background). Fails with `InvalidInput` for a bad config.
    pub async fn start(cfg: SimConfig) -> io::Result<Simulator> {
        cfg.validate()?;
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, cfg.port))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(state::Shared::new(&cfg));
        let task = tokio::spawn(server::serve(listener, shared.clone()));
        Ok(Simulator { shared, addr, task })
    }

    /// The bound address (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Zeroes every counter (the generation number stays).
    pub fn reset_stats(&self) {
        self.shared.reset_stats()
    }

    /// Forces a new credential generation.
    pub fn rotate_now(&self) {
        self.shared.rotate_now();
    }

    /// Revokes the current generation — STS answers `ExpiredToken` for its token from now on,
    /// even before it expires — and issues the next one, which IMDS serves at once.
    pub fn revoke_current(&self) {
        self.shared.revoke_current();
    }

    /// Starts a fault script (validated first; an invalid one changes nothing), replacing any
    /// running one. Its times count from now. Must be called inside the simulator's tokio runtime.
    pub fn run_script(&self, script: Script) -> Result<(), String> {
        script::ScriptRunner::start(&self.shared, script)
    }

    /// The script's progress, as `GET /_sim/script`.
    pub fn script_status(&self) -> ScriptStatus {
        self.shared.script.status(self.shared.clock.scale())
    }

    /// Cancels the running script (faults it applied stay).
    pub fn cancel_script(&self) {
        self.shared.script.cancel();
    }

    /// The generation IMDS serves now (without rotating).
    pub fn current_credentials(&self) -> IssuedCredentials {
        self.shared.current_credentials()
    }

    /// The live fault settings.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// The live settings of the container, web identity and SSO sources (`/_sim/config`).
    pub fn sources(&self) -> &Sources {
        &self.shared.sources
    }

    /// The container generation the container endpoint serves now (without rotating).
    pub fn current_container_credentials(&self) -> IssuedCredentials {
        self.shared.current_container_credentials()
    }

    /// Forces a new container credential generation.
    pub fn rotate_container_now(&self) {
        self.shared.rotate_container_now();
    }

    /// Revokes the current container generation (STS: `ExpiredToken` for it from now on) and
    /// issues the next one.
    pub fn revoke_container_current(&self) {
        self.shared.revoke_container_current();
    }

    /// Registers a static key pair (an IAM user's long-term keys, used without a session token),
    /// or gives a registered id a new secret. See `POST /_sim/static-keys`.
    pub fn add_static_key(&self, access_key_id: &str, secret_access_key: &str) -> Result<(), String> {
        self.shared.add_static_key(access_key_id, secret_access_key)
    }

    /// The static access key ids, sorted (the built-in one included; never the secrets).
    pub fn static_key_ids(&self) -> Vec<String> {
        self.shared.static_key_ids()
    }

    /// The simulator's compressed clock (without the `aws_clock_skew_ms` fault: the host's view).
    pub fn clock(&self) -> SimClock {
        self.shared.clock
    }

    /// Sim now on the credential timeline: the compressed clock + `aws_clock_skew_ms` (unscaled).
    /// Compare credential `Expiration`s with this.
    pub fn sim_now(&self) -> SystemTime {
        self.shared.sim_now()
    }

    /// AWS's now: the real clock + `aws_clock_skew_ms`. The `Date` headers and the STS
    /// request-time check use it.
    pub fn aws_now(&self) -> SystemTime {
        self.shared.aws_now()
    }

    /// The real time at which the simulator started (sim time = real time there).
    pub fn clock_origin(&self) -> SystemTime {
        self.shared.clock.origin()
    }

    /// The same document as `GET /_sim/clock`.
    pub fn clock_info(&self) -> ClockInfo {
        control::clock_info(&self.shared)
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shared.script.cancel();
        self.task.abort();
    }
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").field("addr", &self.addr).finish_non_exhaustive()
    }
}
