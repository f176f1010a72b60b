//! Agent options by name, as the JNI and C bridges receive them (`key`, `value` pairs).
//!
//! | key | meaning |
//! | --- | --- |
//! | `source` | pin one source or give an order, e.g. `imds` or `profile,imds` (default: the SDKs' chain) |
//! | `systemProperties.*` | `accessKeyId`, `secretAccessKey`, `sessionToken`: the Java system properties |
//! | `endpoint` | IMDS base URL (else `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else the EC2 address) |
//! | `roleName` | the instance role; discovered when unset |
//! | `advisoryWindowMillis` | overrides the lifetime-based advisory window (5-minute floor) |
//! | `attemptTimeoutMillis` | per-attempt IMDS timeout (else `AWS_METADATA_SERVICE_TIMEOUT`) |
//! | `maxAttempts` | IMDS attempts per call (else `AWS_METADATA_SERVICE_NUM_ATTEMPTS`) |
//! | `loadTimeoutMillis` | deadline for one whole fetch from any source (default 5 s, or IMDS's own budget if larger) |
//! | `tokenTtlSeconds` | IMDSv2 session token TTL (default 21600) |
//! | `imdsDisabled` | `true` disables IMDS (else `AWS_EC2_METADATA_DISABLED`) |
//! | `clock.originEpochMillis`, `clock.scale` | compressed time, for tests and the demo only |
//!
//! Unknown keys are refused so that a typo cannot silently fall back to a default.

use std::time::{Duration, SystemTime};

use crate::clock::MAX_CLOCK_SCALE;
use crate::env::Env;
use crate::error::CredentialsError;
use crate::imds::ImdsClientBuilder;
use crate::sources::chain::{SourceKind, SystemProperties};
use crate::sources::static_keys::RedactedSystemProperties;

/// `Debug` is written by hand: the system properties carry a secret key and a session token.
#[derive(Clone, Default)]
pub struct AgentOptions {
    pub endpoint: Option<String>,
    pub role_name: Option<String>,
    pub advisory_window: Option<Duration>,
    pub attempt_timeout: Option<Duration>,
    pub max_attempts: Option<u32>,
    /// The deadline for one whole fetch, retries included (see `sources::timeout`).
    pub load_timeout: Option<Duration>,
    pub token_ttl: Option<Duration>,
    pub imds_disabled: Option<bool>,
    pub compressed_clock: Option<(SystemTime, f64)>,
    /// The chain's order, or the pinned sources (`source`, comma-separated); `None`: the SDKs' order.
    pub sources: Option<Vec<SourceKind>>,
    /// Java system properties `aws.accessKeyId`, `aws.secretKey`, `aws.sessionToken`.
    pub system_properties: SystemProperties,
}

impl AgentOptions {
    /// The IMDS client builder these options describe; unset options fall back to `env`.
    pub fn imds_client_builder(&self, env: Env) -> ImdsClientBuilder {
        let mut imds = crate::imds::ImdsClient::builder().env(env);
        if let Some(e) = &self.endpoint {
            imds = imds.endpoint(e.clone());
        }
        if let Some(t) = self.attempt_timeout {
            imds = imds.attempt_timeout(t);
        }
        if let Some(a) = self.max_attempts {
            imds = imds.max_attempts(a);
        }
        if let Some(t) = self.token_ttl {
            imds = imds.token_ttl(t);
        }
        if let Some(d) = self.imds_disabled {
            imds = imds.disabled(d);
        }
        imds
    }
}

impl std::fmt::Debug for AgentOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured so that a new field cannot be forgotten here (or printed unredacted by default).
        let Self {
            endpoint,
            role_name,
            advisory_window,
            attempt_timeout,
            max_attempts,
            load_timeout,
            token_ttl,
            imds_disabled,
            compressed_clock,
            sources,
            system_properties,
        } = self;
        f.debug_struct("AgentOptions")
            .field("endpoint", endpoint)
            .field("role_name", role_name)
            .field("advisory_window", advisory_window)
            .field("attempt_timeout", attempt_timeout)
            .field("max_attempts", max_attempts)
            .field("load_timeout", load_timeout)
            .field("token_ttl", token_ttl)
            .field("imds_disabled", imds_disabled)
            .field("compressed_clock", compressed_clock)
            .field("sources", sources)
            .field("system_properties", &RedactedSystemProperties(system_properties))
            .finish()
    }
}

const KNOWN_KEYS: &str = "source, systemProperties.accessKeyId, systemProperties.secretAccessKey, systemProperties.sessionToken, endpoint, roleName, advisoryWindowMillis, attemptTimeoutMillis, maxAttempts, loadTimeoutMillis, tokenTtlSeconds, imdsDisabled, clock.originEpochMillis, clock.scale";

impl AgentOptions {
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Result<Self, CredentialsError> {
        let mut options = Self::default();
        let mut origin = None;
        let mut scale = None;
        for (key, value) in pairs {
            let (key, value) = (key.as_ref(), value.as_ref().trim());
            match key {
                "source" => {
                    let mut kinds = Vec::new();
                    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                        kinds.push(SourceKind::parse(name).ok_or_else(|| {
                            CredentialsError::invalid_config(
                                format!("unknown credential source '{name}'"),
                                "Use environment, systemProperties, profile, container or imds (comma-separated for an order).",
                            )
                        })?);
                    }
                    if kinds.is_empty() {
                        return Err(CredentialsError::invalid_config("the source option is empty", "Name at least one source, e.g. imds."));
                    }
                    options.sources = Some(kinds);
                }
                "systemProperties.accessKeyId" => options.system_properties.access_key_id = Some(value.to_string()),
                "systemProperties.secretAccessKey" => options.system_properties.secret_access_key = Some(value.to_string()),
                "systemProperties.sessionToken" => options.system_properties.session_token = Some(value.to_string()),
                "endpoint" => options.endpoint = Some(value.to_string()),
                "roleName" => options.role_name = Some(value.to_string()),
                "advisoryWindowMillis" => options.advisory_window = Some(Duration::from_millis(number(key, value)?)),
                "attemptTimeoutMillis" => options.attempt_timeout = Some(Duration::from_millis(number(key, value)?)),
                "maxAttempts" => options.max_attempts = Some(u32::try_from(number(key, value)?).unwrap_or(u32::MAX)),
                "loadTimeoutMillis" => {
                    let millis = number(key, value)?;
                    if millis == 0 {
                        return Err(CredentialsError::invalid_config(
                            "loadTimeoutMillis is 0",
                            "Use a deadline of at least a few seconds (the default is 5000 ms), or leave it unset.",
                        ));
                    }
                    options.load_timeout = Some(Duration::from_millis(millis));
                }
                "tokenTtlSeconds" => options.token_ttl = Some(Duration::from_secs(number(key, value)?)),
                "imdsDisabled" => options.imds_disabled = Some(boolean(key, value)?),
                "clock.originEpochMillis" => {
                    // Checked: past what `SystemTime` holds (on some platforms), `+` panics.
                    origin = Some(SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(number(key, value)?)).ok_or_else(|| {
                        CredentialsError::invalid_config(
                            format!("clock.originEpochMillis '{value}' is past the end of time on this platform"),
                            "Use the simulator's clock origin in epoch milliseconds (GET /_sim/clock, origin_epoch_millis).",
                        )
                    })?)
                }
                "clock.scale" => {
                    // Bounded here, so the JNI and C bridges (which pass options through this) refuse a
                    // scale that would make every clock reading overflow.
                    scale = Some(value.parse::<f64>().ok().filter(|s| s.is_finite() && (1.0..=MAX_CLOCK_SCALE).contains(s)).ok_or_else(
                        || {
                            CredentialsError::invalid_config(
                                format!("clock.scale '{value}' is not a number from 1 to {MAX_CLOCK_SCALE}"),
                                "Use the simulator's time scale, e.g. 600 (compressed time is for tests and the demo only).",
                            )
                        },
                    )?)
                }
                other => {
                    return Err(CredentialsError::invalid_config(
                        format!("unknown option '{other}'"),
                        format!("Known options: {KNOWN_KEYS}."),
                    ))
                }
            }
        }
        match (origin, scale) {
            (Some(o), Some(s)) => options.compressed_clock = Some((o, s)),
            (None, None) => {}
            _ => {
                return Err(CredentialsError::invalid_config(
                    "only one of clock.originEpochMillis and clock.scale is set",
                    "Set both (compressed time is for tests and the demo) or neither.",
                ))
            }
        }
        Ok(options)
    }
}

fn number(key: &str, value: &str) -> Result<u64, CredentialsError> {
    value.parse::<u64>().map_err(|_| {
        CredentialsError::invalid_config(
            format!("option {key}='{value}' is not a whole number"),
            format!("Give {key} as a non-negative whole number."),
        )
    })
}

fn boolean(key: &str, value: &str) -> Result<bool, CredentialsError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(CredentialsError::invalid_config(
            format!("option {key}='{value}' is not true or false"),
            format!("Give {key} as true or false."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_known_key() {
        let o = AgentOptions::from_pairs(&[
            ("endpoint", "http://127.0.0.1:1"),
            ("roleName", "r"),
            ("advisoryWindowMillis", "600000"),
            ("attemptTimeoutMillis", "250"),
            ("maxAttempts", "5"),
            ("loadTimeoutMillis", "7000"),
            ("tokenTtlSeconds", "60"),
            ("imdsDisabled", "false"),
            ("clock.originEpochMillis", "1000"),
            ("clock.scale", "600"),
        ])
        .expect("valid");
        assert_eq!(o.max_attempts, Some(5));
        assert_eq!(o.attempt_timeout, Some(Duration::from_millis(250)));
        assert_eq!(o.load_timeout, Some(Duration::from_millis(7000)));
        assert_eq!(o.compressed_clock.map(|c| c.1), Some(600.0));
    }

    #[test]
    fn a_zero_load_timeout_is_refused_with_the_fix() {
        let e = AgentOptions::from_pairs(&[("loadTimeoutMillis", "0")]).expect_err("zero");
        assert!(e.to_string().contains("loadTimeoutMillis is 0") && e.to_string().contains("5000 ms"), "{e}");
    }

    #[test]
    fn refuses_unknown_keys_and_bad_values_with_the_fix() {
        let e = AgentOptions::from_pairs(&[("endpiont", "x")]).expect_err("typo");
        assert!(e.to_string().contains("unknown option 'endpiont'") && e.to_string().contains("Known options"), "{e}");
        let e = AgentOptions::from_pairs(&[("maxAttempts", "three")]).expect_err("bad number");
        assert!(e.to_string().contains("maxAttempts='three'"), "{e}");
        assert!(AgentOptions::from_pairs(&[("clock.scale", "600")]).is_err());
    }

    #[test]
    fn clock_scales_that_are_not_finite_not_positive_or_absurd_are_refused() {
        for scale in ["1e300", "1000001", "inf", "-inf", "NaN", "0", "-600", "0.5", "1e-300", "fast"] {
            let e = AgentOptions::from_pairs(&[("clock.originEpochMillis", "1000"), ("clock.scale", scale)]).expect_err(scale);
            let message = e.to_string();
            assert!(matches!(e, CredentialsError::InvalidConfiguration { .. }), "{scale}: {e:?}");
            assert!(message.contains(&format!("clock.scale '{scale}'")), "{message}");
            assert!(message.contains("from 1 to 1000000"), "{message}");
        }
        for scale in ["1", "600", "1000000", "1e6"] {
            let o = AgentOptions::from_pairs(&[("clock.originEpochMillis", "1000"), ("clock.scale", scale)]).expect(scale);
            let (origin, scale) = o.compressed_clock.expect("set");
            // Whatever the options accept, the clock accepts and can read without panicking.
            let clock = crate::clock::CompressedClock::new(origin, scale).expect("accepted by the clock too");
            let _ = crate::clock::Clock::now(&clock);
        }
    }

    #[test]
    fn debug_shows_the_key_id_but_never_the_secret_or_the_token() {
        const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLETOKENAAAAAAAAAAAAAAAAAAAAA";
        let o = AgentOptions::from_pairs(&[
            ("systemProperties.accessKeyId", "AKIAIOSFODNN7EXAMPLE"),
            ("systemProperties.secretAccessKey", SECRET),
            ("systemProperties.sessionToken", TOKEN),
            ("endpoint", "http://127.0.0.1:1"),
        ])
        .expect("valid");
        for text in [format!("{o:?}"), format!("{o:#?}")] {
            assert!(text.contains("AKIAIOSFODNN7EXAMPLE"), "the key id is shown: {text}");
            assert!(text.contains("http://127.0.0.1:1"), "{text}");
            assert!(text.contains("** redacted **"), "{text}");
            assert!(!text.contains(SECRET) && !text.contains("wJalrXUtnFEMI"), "the secret leaked: {text}");
            assert!(!text.contains(TOKEN) && !text.contains("IQoJb3JpZ2lu"), "the token leaked: {text}");
        }
        // Unset secrets are shown as unset, not as redacted values.
        let none = format!("{:?}", AgentOptions::default());
        assert!(!none.contains("redacted"), "{none}");
    }
}
