//! Environment variables: their names, and a lookup that tests can replace.
//!
//! Every variable freshcreds (or a test of it) reads is named by a constant here, in the style of
//! aws-config's `env` modules, so a name is spelled once and `grep` finds every reader. The
//! constants are the variables' own names. [`Env`] looks them up; it is injectable so tests never
//! depend on (or change) the process environment.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

// ---- IMDS (the options `endpoint`, `endpointMode`, `attemptTimeoutMillis`, `maxAttempts`, `imdsDisabled`
// and their Java system properties win over these; profile keys come after them: see config::fallback) ----

/// The IMDS base URL; default `http://169.254.169.254` (`http://[fd00:ec2::254]` in IPv6 mode).
pub const AWS_EC2_METADATA_SERVICE_ENDPOINT: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
/// `IPv4` or `IPv6`: the default endpoint's family when no endpoint is set.
pub const AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE";
/// Timeout of one IMDS attempt, in seconds (fractions allowed).
pub const AWS_METADATA_SERVICE_TIMEOUT: &str = "AWS_METADATA_SERVICE_TIMEOUT";
/// Attempts per IMDS request, the first one included.
pub const AWS_METADATA_SERVICE_NUM_ATTEMPTS: &str = "AWS_METADATA_SERVICE_NUM_ATTEMPTS";
/// `true` (any case) turns IMDS off.
pub const AWS_EC2_METADATA_DISABLED: &str = "AWS_EC2_METADATA_DISABLED";

// ---- Static keys (the `environment` source) ----

pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
pub const AWS_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";

// ---- Web identity (the `webIdentity` source) ----

pub const AWS_WEB_IDENTITY_TOKEN_FILE: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
pub const AWS_ROLE_ARN: &str = "AWS_ROLE_ARN";
pub const AWS_ROLE_SESSION_NAME: &str = "AWS_ROLE_SESSION_NAME";

// ---- Shared files (the `profile` source; the options `profileName`, `configFile`, `credentialsFile` and
// their Java system properties win over these) ----

pub const AWS_PROFILE: &str = "AWS_PROFILE";
pub const AWS_CONFIG_FILE: &str = "AWS_CONFIG_FILE";
pub const AWS_SHARED_CREDENTIALS_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";
/// Where `~/.aws` is, on Unix.
pub const HOME: &str = "HOME";
/// Where `~/.aws` is, on Windows when `HOME` is unset (then the `homeDirectory` option: Java's `user.home`).
pub const USERPROFILE: &str = "USERPROFILE";

// ---- Container credentials (the `container` source: ECS, EKS Pod Identity) ----

pub const AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: &str = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
pub const AWS_CONTAINER_CREDENTIALS_FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const AWS_CONTAINER_AUTHORIZATION_TOKEN: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
pub const AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";

// ---- STS and SSO clients (aws-config reads the endpoint overrides itself; tests set them) ----

pub const AWS_REGION: &str = "AWS_REGION";
pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
pub const AWS_ENDPOINT_URL_STS: &str = "AWS_ENDPOINT_URL_STS";
pub const AWS_ENDPOINT_URL_SSO: &str = "AWS_ENDPOINT_URL_SSO";

// ---- Proxies: the IMDS client never uses one, whatever these say (tests set them to prove it) ----

pub const HTTP_PROXY: &str = "HTTP_PROXY";
pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
pub const ALL_PROXY: &str = "ALL_PROXY";
pub const NO_PROXY: &str = "NO_PROXY";
/// Every proxy variable, in both the upper- and lower-case spellings that HTTP clients honour.
pub const PROXY_VARIABLES: [&str; 6] = [HTTP_PROXY, "http_proxy", HTTPS_PROXY, "https_proxy", ALL_PROXY, "all_proxy"];

// ---- freshcreds' own ----

/// The log filter of the bridges (default `info`), `RUST_LOG` syntax for levels and targets.
pub const FRESHCREDS_LOG: &str = "FRESHCREDS_LOG";
/// Development only: the conformance test reads its cases from this file instead of the bundled one.
pub const FRESHCREDS_CONFORMANCE_FILE: &str = "FRESHCREDS_CONFORMANCE_FILE";
/// Development only: the JNI contract test reads `NativeAgent.java` from this path.
pub const FRESHCREDS_NATIVE_AGENT_JAVA: &str = "FRESHCREDS_NATIVE_AGENT_JAVA";
/// Development only: `1` makes the generated-documentation tests rewrite the documents instead
/// of failing when they are stale (see `config::options_markdown`).
pub const FRESHCREDS_BLESS: &str = "FRESHCREDS_BLESS";

/// How a variable is looked up: the process environment, or a map in tests.
type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where configuration falls back to when an option is not given.
#[derive(Clone)]
pub struct Env(Arc<Lookup>);

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self(Arc::new(|name| std::env::var(name).ok()))
    }

    /// A fixed set of variables; everything else is unset.
    pub fn from_pairs<const N: usize>(pairs: [(&str, &str); N]) -> Self {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self(Arc::new(move |name| map.get(name).cloned()))
    }

    /// Variables looked up by a function (tests build these from maps).
    pub fn from_fn(f: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// An environment with nothing set.
    pub fn empty() -> Self {
        Self(Arc::new(|_| None))
    }

    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Env")
    }
}
