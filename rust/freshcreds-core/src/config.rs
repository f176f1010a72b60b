//! Agent options by name, as the JNI and C bridges receive them (`key`, `value` pairs).
//!
//! [`OPTIONS`] is the one list of them: per option its key, how its value is parsed, its range
//! (and when that is checked), its fallbacks, its default and one line of documentation. It drives
//! [`AgentOptions::from_pairs`], the unknown-key check and its message, and [`options_markdown`],
//! the table in `DEVELOPERS.md` (between `<!-- options:start -->` and `<!-- options:end -->`; a test
//! fails when that is stale, and `FRESHCREDS_BLESS=1 cargo test -p freshcreds-core --lib options_doc`
//! rewrites it). [`SOURCES`] is the one list of credential source names.
//!
//! An option that is an SDK setting names its [`Fallback`]s: the Java system properties (SDK v2's
//! `aws.*` name, then SDK v1's own name where it differs), the environment variable and the profile
//! key the AWS SDK for Java reads for it, in that order after the option itself (see
//! [`crate::settings`]). Java reads the system properties and passes each as the option
//! `systemProperties.<name>` ([`system_property_option`]: `aws.profile` is
//! `systemProperties.profile`, `com.amazonaws.sdk.disableEc2Metadata` keeps its whole name), so the
//! order is decided here, in one place.
//!
//! Unknown keys are refused so that a typo cannot silently fall back to a default.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::clock::MAX_CLOCK_SCALE;
use crate::env::Env;
use crate::error::CredentialsError;
use crate::imds::client::{
    EndpointMode, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_ENDPOINT, DEFAULT_ENDPOINT_IPV6, DEFAULT_MAX_ATTEMPTS, MAX_ATTEMPTS,
    MAX_ATTEMPT_TIMEOUT, MIN_ATTEMPT_TIMEOUT,
};
use crate::imds::token::{DEFAULT_TOKEN_TTL, MAX_TOKEN_TTL, MIN_TOKEN_TTL};
use crate::imds::ImdsClientBuilder;
use crate::settings::Lookup;
use crate::sources::chain::{SourceKind, SystemProperties};
use crate::sources::static_keys::RedactedSystemProperties;
use crate::sources::timeout::DEFAULT_LOAD_TIMEOUT;

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
    /// IPv4 or IPv6: which default IMDS endpoint to use when no endpoint is set anywhere.
    pub endpoint_mode: Option<EndpointMode>,
    /// The profile to read from the shared files (`default` when unset everywhere).
    pub profile_name: Option<String>,
    /// The shared `config` file.
    pub config_file: Option<String>,
    /// The shared `credentials` file.
    pub credentials_file: Option<String>,
    /// The home directory used when neither `HOME` nor `USERPROFILE` is set (Java's `user.home`).
    pub home_directory: Option<String>,
    /// The SDK settings' Java system properties the Java side read (`systemProperties.*` keys
    /// derived from [`Fallback::system_properties`]), by property name, e.g. `aws.profile`.
    pub java_properties: BTreeMap<&'static str, String>,
}

impl AgentOptions {
    /// The IMDS client builder these options describe; unset options fall back to the Java system
    /// properties passed in the options, `env` and the selected profile (see [`Lookup`]).
    pub fn imds_client_builder(&self, env: Env) -> ImdsClientBuilder {
        self.imds_client_builder_with(Lookup::for_options(self, env))
    }

    /// [`Self::imds_client_builder`] with the fallbacks already resolved (an agent shares one
    /// [`Lookup`] between IMDS and the profile source, so the files are read once).
    pub fn imds_client_builder_with(&self, lookup: Lookup) -> ImdsClientBuilder {
        let mut imds = crate::imds::ImdsClient::builder().lookup(lookup);
        if let Some(e) = &self.endpoint {
            imds = imds.endpoint(e.clone());
        }
        if let Some(mode) = self.endpoint_mode {
            imds = imds.endpoint_mode(mode);
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
            endpoint_mode,
            profile_name,
            config_file,
            credentials_file,
            home_directory,
            java_properties,
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
            .field("endpoint_mode", endpoint_mode)
            .field("profile_name", profile_name)
            .field("config_file", config_file)
            .field("credentials_file", credentials_file)
            .field("home_directory", home_directory)
            .field("java_properties", java_properties)
            .finish()
    }
}

/// The option keys, for code and messages that name one.
pub mod keys {
    pub const SOURCE: &str = "source";
    pub const SYSTEM_PROPERTIES_ACCESS_KEY_ID: &str = "systemProperties.accessKeyId";
    pub const SYSTEM_PROPERTIES_SECRET_ACCESS_KEY: &str = "systemProperties.secretAccessKey";
    pub const SYSTEM_PROPERTIES_SESSION_TOKEN: &str = "systemProperties.sessionToken";
    pub const ENDPOINT: &str = "endpoint";
    pub const ENDPOINT_MODE: &str = "endpointMode";
    pub const ROLE_NAME: &str = "roleName";
    pub const ADVISORY_WINDOW_MILLIS: &str = "advisoryWindowMillis";
    pub const ATTEMPT_TIMEOUT_MILLIS: &str = "attemptTimeoutMillis";
    pub const MAX_ATTEMPTS: &str = "maxAttempts";
    pub const LOAD_TIMEOUT_MILLIS: &str = "loadTimeoutMillis";
    pub const TOKEN_TTL_SECONDS: &str = "tokenTtlSeconds";
    pub const IMDS_DISABLED: &str = "imdsDisabled";
    pub const PROFILE_NAME: &str = "profileName";
    pub const CONFIG_FILE: &str = "configFile";
    pub const CREDENTIALS_FILE: &str = "credentialsFile";
    pub const HOME_DIRECTORY: &str = "homeDirectory";
    pub const CLOCK_ORIGIN_EPOCH_MILLIS: &str = "clock.originEpochMillis";
    pub const CLOCK_SCALE: &str = "clock.scale";
}

/// The credential sources by the names the `source` option takes (any case), in the SDKs' order:
/// the default chain.
pub const SOURCES: [(&str, SourceKind); 6] = [
    ("environment", SourceKind::Environment),
    ("systemProperties", SourceKind::SystemProperties),
    ("webIdentity", SourceKind::WebIdentity),
    ("profile", SourceKind::Profile),
    ("container", SourceKind::Container),
    ("imds", SourceKind::Imds),
];

/// A source by its name (any case).
pub fn source_by_name(name: &str) -> Option<SourceKind> {
    SOURCES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, kind)| *kind)
}

/// The source names as prose: `a, b, c or d` (`quote` puts each in backticks).
fn source_names(quote: bool) -> String {
    let names: Vec<String> = SOURCES.iter().map(|(n, _)| if quote { format!("`{n}`") } else { n.to_string() }).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// What an option's value is: its syntax, and the unit of its range and default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// Text, trimmed.
    Text,
    /// Names from [`SOURCES`], comma-separated.
    Sources,
    /// A whole number of milliseconds.
    Millis,
    /// A whole number of seconds.
    Seconds,
    /// An instant: whole milliseconds since 1970-01-01T00:00:00Z.
    EpochMillis,
    /// A whole number.
    Count,
    /// `true` or `false`, any case.
    Boolean,
    /// One of the names of its [`Range::OneOf`], any case.
    Choice,
    /// A decimal number.
    Decimal,
}

/// The values an option accepts, in its [`Value`]'s unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// Anything of its kind.
    Any,
    /// An `http://` URL with a host.
    HttpUrl,
    /// One of these names (any case).
    OneOf(&'static [&'static str]),
    /// Whole numbers from `min` up to `max` (inclusive); no upper bound when `max` is `None`.
    Whole { min: u64, max: Option<u64> },
    /// Finite numbers from `min` to `max`, inclusive.
    Decimal { min: f64, max: f64 },
}

impl Range {
    fn contains_whole(self, n: u64) -> bool {
        match self {
            Self::Whole { min, max } => n >= min && max.is_none_or(|max| n <= max),
            _ => true,
        }
    }
}

/// When an option's range is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// By [`AgentOptions::from_pairs`]: a value out of range is refused at once.
    WhenParsed,
    /// When the IMDS client is built, with the same bounds: only when IMDS is a source the agent
    /// uses (its failures elsewhere, e.g. in the background check for a shadowed role, are ignored).
    WhenImdsIsBuilt,
}

/// An option's value when it is not given (and its environment variable is not set).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unset {
    /// No value: what happens instead, in words.
    Described(&'static str),
    /// Every source, in [`SOURCES`]' order.
    AllSources,
    /// A duration, shown in the option's unit.
    Duration(Duration),
    Count(u32),
    Text(&'static str),
    Boolean(bool),
    /// The IMDS endpoint: the first URL, or the second in IPv6 mode.
    EndpointByMode {
        ipv4: &'static str,
        ipv6: &'static str,
    },
}

/// Where an SDK setting is looked up when its option is not given: the Java system property, the
/// environment variable, then the key in the selected profile (the AWS SDK for Java's order; each
/// may be absent). Their values are in the SDKs' syntax (e.g. seconds), not the option's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback {
    /// The Java system properties, first wins: SDK v2's `aws.*` name, then SDK v1's own name where
    /// it has a different one (`com.amazonaws.sdk.*`), so an app keeps the property its SDK reads.
    pub system_properties: &'static [&'static str],
    pub env: Option<&'static str>,
    pub profile_key: Option<&'static str>,
}

impl Fallback {
    /// Not an SDK setting: the option or its default.
    pub const NONE: Self = Self { system_properties: &[], env: None, profile_key: None };

    /// The lookups, in order, as documentation lists them; `—` when there are none.
    fn text(&self) -> String {
        let mut parts = Vec::new();
        for p in self.system_properties {
            parts.push(format!("system property `{p}`"));
        }
        if let Some(e) = self.env {
            parts.push(format!("`{e}`"));
        }
        if let Some(k) = self.profile_key {
            parts.push(format!("profile key `{k}`"));
        }
        if parts.is_empty() {
            "—".to_string()
        } else {
            parts.join(", then ")
        }
    }
}

/// The SDK settings' fallbacks, by setting: the names are the AWS SDK for Java v2's
/// (`SdkSystemSetting`, `ProfileFileSystemSetting`, `ProfileProperty`), and the SDKs' shared
/// `metadata_service_num_attempts`.
pub mod fallback {
    use super::Fallback;
    use crate::env;

    pub const IMDS_DISABLED: Fallback = Fallback {
        system_properties: &["aws.disableEc2Metadata", "com.amazonaws.sdk.disableEc2Metadata"],
        env: Some(env::AWS_EC2_METADATA_DISABLED),
        profile_key: None,
    };
    pub const ENDPOINT: Fallback = Fallback {
        system_properties: &["aws.ec2MetadataServiceEndpoint", "com.amazonaws.sdk.ec2MetadataServiceEndpointOverride"],
        env: Some(env::AWS_EC2_METADATA_SERVICE_ENDPOINT),
        profile_key: Some("ec2_metadata_service_endpoint"),
    };
    pub const ENDPOINT_MODE: Fallback = Fallback {
        system_properties: &["aws.ec2MetadataServiceEndpointMode"],
        env: Some(env::AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE),
        profile_key: Some("ec2_metadata_service_endpoint_mode"),
    };
    /// Seconds, fractions allowed.
    pub const ATTEMPT_TIMEOUT: Fallback = Fallback {
        system_properties: &["aws.ec2MetadataServiceTimeout"],
        env: Some(env::AWS_METADATA_SERVICE_TIMEOUT),
        profile_key: Some("metadata_service_timeout"),
    };
    /// The SDK for Java has no system property for it.
    pub const MAX_ATTEMPTS: Fallback = Fallback {
        system_properties: &[],
        env: Some(env::AWS_METADATA_SERVICE_NUM_ATTEMPTS),
        profile_key: Some("metadata_service_num_attempts"),
    };
    pub const PROFILE_NAME: Fallback = Fallback { system_properties: &["aws.profile"], env: Some(env::AWS_PROFILE), profile_key: None };
    pub const CONFIG_FILE: Fallback =
        Fallback { system_properties: &["aws.configFile"], env: Some(env::AWS_CONFIG_FILE), profile_key: None };
    pub const CREDENTIALS_FILE: Fallback =
        Fallback { system_properties: &["aws.sharedCredentialsFile"], env: Some(env::AWS_SHARED_CREDENTIALS_FILE), profile_key: None };
}

/// The option key that carries a Java system property: `systemProperties.` and the property's name
/// without its `aws.` prefix (`aws.profile` → `systemProperties.profile`).
pub fn system_property_option(property: &str) -> String {
    format!("systemProperties.{}", property.strip_prefix("aws.").unwrap_or(property))
}

/// How an option's value is read into the options being built.
type Parse = fn(&mut Parsed, &OptionSpec, &str) -> Result<(), CredentialsError>;

/// One option: a row of [`OPTIONS`].
#[derive(Clone, Copy)]
pub struct OptionSpec {
    pub key: &'static str,
    pub value: Value,
    pub range: Range,
    pub checked: Checked,
    /// Where the setting is looked up when the option is not given.
    pub fallback: Fallback,
    pub default: Unset,
    /// One line for the documentation: what the option does.
    pub doc: &'static str,
    parse: Parse,
}

impl std::fmt::Debug for OptionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self { key, value, range, checked, fallback, default, doc, parse: _ } = self;
        f.debug_struct("OptionSpec")
            .field("key", key)
            .field("value", value)
            .field("range", range)
            .field("checked", checked)
            .field("fallback", fallback)
            .field("default", default)
            .field("doc", doc)
            .finish_non_exhaustive()
    }
}

/// The options being read, and the two halves of the compressed clock until both are seen.
#[derive(Default)]
struct Parsed {
    options: AgentOptions,
    origin: Option<SystemTime>,
    scale: Option<f64>,
}

/// Milliseconds of a duration as an option value (the bounds here are far below `u64::MAX`).
const fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// Every option the bridges accept, in the order messages and documentation list them.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        key: keys::SOURCE,
        value: Value::Sources,
        range: Range::Any,
        checked: Checked::WhenParsed,
        fallback: Fallback::NONE,
        default: Unset::AllSources,
        doc: "Pins one source or gives the order to try them in, e.g. `imds` or `profile,imds`; sources not named are never used.",
        parse: |p, spec, v| {
            p.options.sources = Some(spec.sources(v)?);
            Ok(())
        },
    },
    OptionSpec {
        key: keys::SYSTEM_PROPERTIES_ACCESS_KEY_ID,
        value: Value::Text,
        range: Range::Any,
        checked: Checked::WhenParsed,
        fallback: Fallback::NONE,
        default: Unset::Described("unset"),
        doc: "The Java system property `aws.accessKeyId` (the Java library reads it and passes it on).",
        parse: |p, _, v| {
            p.options.system_properties.access_key_id = Some(v.to_string());
            Ok(())
        },
    },
    OptionSpec {
        key: keys::SYSTEM_PROPERTIES_SECRET_ACCESS_KEY,
        value: Value::Text,
        range: Range::Any,
        checked: Checked::WhenParsed,
        fallback: Fallback::NONE,
        default: Unset::Described("unset"),
        doc: "The Java system property `aws.secretKey` (read by the Java library); never logged or shown.",
        parse: |p, _, v| {
            p.options.system_properties.secret_access_key = Some(v.to_string());
            Ok(())
        },
    },
    OptionSpec {
        key: keys::SYSTEM_PROPERTIES_SESSION_TOKEN,
        value: Value::Text,
        range: Range::Any,
        checked: Checked::WhenParsed,
        fallback: Fallback::NONE,
        default: Unset::Described("unset"),
        doc: "The Java system property `aws.sessionToken` (read by the Java library); never logged or shown.",
        parse: |p, _, v| {
            p.options.system_properties.session_token = Some(v.to_string());
            Ok(())
        },
    },
    OptionSpec {
        key: keys::ENDPOINT,
        value: Value::Text,
        range: Range::HttpUrl,
        checked: Checked::WhenImdsIsBuilt,
        fallback: fallback::ENDPOINT,
        default: Unset::EndpointByMode { ipv4: DEFAULT_ENDPOINT, ipv6: DEFAULT_ENDPOINT_IPV6 },
        doc: "The IMDS base URL; IMDS is plain HTTP. Set anywhere (option, system property, variable or profile), it wins over `endpointMode` set anywhere, as in the SDKs.",
        parse: |p, _, v| {
            p.options.endpoint = Some(v.to_string());
            Ok(())
        },
    },
    OptionSpec {
        key: keys::ENDPOINT_MODE,
        value: Value::Choice,
        range: Range::OneOf(&EndpointMode::NAMES),
        checked: Checked::WhenParsed,
        fallback: fallback::ENDPOINT_MODE,
        default: Unset::Text("IPv4"),
        doc: "Which default IMDS endpoint to use when no endpoint is set: IPv6 is `http://[fd00:ec2::254]`; a bad value from a fallback is refused only when IMDS is used.",
        parse: |p, spec, v| {
            p.options.endpoint_mode = Some(EndpointMode::parse(v).ok_or_else(|| {
                CredentialsError::invalid_config(
                    format!("option {}='{v}' is not IPv4 or IPv6", spec.key),
                    format!("Give {} as {}.", spec.key, spec.range_text()),
                )
            })?);
            Ok(())
        },
    },
    OptionSpec {
        key: keys::ROLE_NAME,
        value: Value::Text,
        range: Range::Any,
        checked: Checked::WhenParsed,
        fallback: Fallback::NONE,
        default: Unset::Described("the role IMDS lists first, discovered"),
        doc: "The instance profile role to take credentials for.",
        parse: |p, _, v| {
            p.options.role_name = Some(v.to_string());
            Ok(())
        },
    },
    OptionSpec {
        key: keys::ADVISORY_WINDOW_MILLIS,
        value: Value::Millis,
        range: Range::Whole { min: 0, max: None },
        checked: Checked::WhenParsed,
        fallback: Fallback::NONE,
        default: Unset::Described("by the credentials' lifetime: 5, 15 or 60 min"),
        doc: "How long before expiry the background refresh starts; a window under 5 min is raised to 5 min.",
        parse: |p, spec, v| {
            p.options.advisory_window = Some(Duration::from_millis(spec.whole(v)?));
            Ok(())
        },
    },
    OptionSpec {
        key: keys::ATTEMPT_TIMEOUT_MILLIS,
        value: Value::Millis,
        range: Range::Whole { min: millis(MIN_ATTEMPT_TIMEOUT), max: Some(millis(MAX_ATTEMPT_TIMEOUT)) },
        checked: Checked::WhenImdsIsBuilt,
        fallback: fallback::ATTEMPT_TIMEOUT,
        default: Unset::Duration(DEFAULT_ATTEMPT_TIMEOUT),
        doc: "Timeout of one HTTP attempt, connect to last byte, against IMDS and the container endpoint; the fallbacks (in seconds, fractions allowed) are read for IMDS only.",
        parse: |p, spec, v| {
            p.options.attempt_timeout = Some(Duration::from_millis(spec.whole(v)?));
            Ok(())
        },
    },
    OptionSpec {
        key: keys::MAX_ATTEMPTS,
        value: Value::Count,
        range: Range::Whole { min: 1, max: Some(MAX_ATTEMPTS as u64) },
        checked: Checked::WhenImdsIsBuilt,
        fallback: fallback::MAX_ATTEMPTS,
        default: Unset::Count(DEFAULT_MAX_ATTEMPTS),
        doc: "Attempts per IMDS request, the first one included.",
        parse: |p, spec, v| {
            // Past `u32`, out of range all the same: the IMDS client refuses it by its bounds.
            p.options.max_attempts = Some(u32::try_from(spec.whole(v)?).unwrap_or(u32::MAX));
            Ok(())
        },
    },
    OptionSpec {
        key: keys::LOAD_TIMEOUT_MILLIS,
        value: Value::Millis,
        range: Range::Whole { min: 1, max: None },
        checked: Checked::WhenParsed,
        fallback: Fallback::NONE,
        default: Unset::Duration(DEFAULT_LOAD_TIMEOUT),
        doc: "The deadline for one whole fetch from any source, retries included; unset, it is raised to IMDS's own budget (attempts × attempt timeout + backoff) when that is longer.",
        parse: |p, spec, v| {
            let millis = number(spec.key, v)?;
            if !spec.range.contains_whole(millis) {
                return Err(CredentialsError::invalid_config(
                    format!("{} is {millis}", spec.key),
                    format!("Use a deadline of at least a few seconds (the default is {} ms), or leave it unset.", DEFAULT_LOAD_TIMEOUT.as_millis()),
                ));
            }
            p.options.load_timeout = Some(Duration::from_millis(millis));
            Ok(())
        },
    },
    OptionSpec {
        key: keys::TOKEN_TTL_SECONDS,
        value: Value::Seconds,
        range: Range::Whole { min: MIN_TOKEN_TTL.as_secs(), max: Some(MAX_TOKEN_TTL.as_secs()) },
        checked: Checked::WhenImdsIsBuilt,
        fallback: Fallback::NONE,
        default: Unset::Duration(DEFAULT_TOKEN_TTL),
        doc: "The TTL asked for IMDSv2 session tokens; a token is renewed shortly before it runs out.",
        parse: |p, spec, v| {
            p.options.token_ttl = Some(Duration::from_secs(spec.whole(v)?));
            Ok(())
        },
    },
    OptionSpec {
        key: keys::IMDS_DISABLED,
        value: Value::Boolean,
        range: Range::Any,
        checked: Checked::WhenParsed,
        fallback: fallback::IMDS_DISABLED,
        default: Unset::Boolean(false),
        doc: "`true`: never contact IMDS, not even to check for an instance role another source shadows.",
        parse: |p, spec, v| {
            p.options.imds_disabled = Some(boolean(spec.key, v)?);
            Ok(())
        },
    },
    OptionSpec {
        key: keys::PROFILE_NAME,
        value: Value::Text,
        range: Range::Any,
        checked: Checked::WhenParsed,
        fallback: fallback::PROFILE_NAME,
        default: Unset::Text("default"),
        doc: "The profile of the shared files that the `profile` source and the IMDS settings' profile keys are read from.",
        parse: |p, _, v| {
            p.options.profile_name = Some(v.to_string());
            Ok(())
        },
    },
    OptionSpec {
        key: keys::CONFIG_FILE,
        value: Value::Text,
        range: Range::Any,
        checked: Checked::WhenParsed,
        fallback: fallback::CONFIG_FILE,
        default: Unset::Described("`~/.aws/config`"),
        doc: "The shared `config` file (a leading `~` is the home directory: `HOME`, else `USERPROFILE`, else `homeDirectory`; with none of them no file is read, never one in the working directory).",
        parse: |p, _, v| {
            p.options.config_file = Some(v.to_string());
            Ok(())
        },
    },
    OptionSpec {
        key: keys::CREDENTIALS_FILE,
        value: Value::Text,
        range: Range::Any,
        checked: Checked::WhenParsed,
        fallback: fallback::CREDENTIALS_FILE,
        default: Unset::Described("`~/.aws/credentials`"),
        doc: "The shared `credentials` file (`~` as for `configFile`).",
        parse: |p, _, v| {
            p.options.credentials_file = Some(v.to_string());
            Ok(())
        },
    },
    OptionSpec {
        key: keys::HOME_DIRECTORY,
        value: Value::Text,
        range: Range::Any,
        checked: Checked::WhenParsed,
        fallback: Fallback::NONE,
        default: Unset::Described("none"),
        doc: "The home directory when neither `HOME` nor `USERPROFILE` is set; the Java library passes the system property `user.home`.",
        parse: |p, _, v| {
            p.options.home_directory = Some(v.to_string());
            Ok(())
        },
    },
    OptionSpec {
        key: keys::CLOCK_ORIGIN_EPOCH_MILLIS,
        value: Value::EpochMillis,
        range: Range::Whole { min: 0, max: None },
        checked: Checked::WhenParsed,
        fallback: Fallback::NONE,
        default: Unset::Described("real time"),
        doc: "Tests and the demo only, with `clock.scale`: the instant at which the compressed clock equals the wall clock.",
        parse: |p, spec, v| {
            // Checked: past what `SystemTime` holds (on some platforms), `+` panics.
            let origin = SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(spec.whole(v)?)).ok_or_else(|| {
                CredentialsError::invalid_config(
                    format!("{} '{v}' is past the end of time on this platform", spec.key),
                    "Use the simulator's clock origin in epoch milliseconds (GET /_sim/clock, origin_epoch_millis).",
                )
            })?;
            p.origin = Some(origin);
            Ok(())
        },
    },
    OptionSpec {
        key: keys::CLOCK_SCALE,
        value: Value::Decimal,
        range: Range::Decimal { min: 1.0, max: MAX_CLOCK_SCALE },
        checked: Checked::WhenParsed,
        fallback: Fallback::NONE,
        default: Unset::Described("real time"),
        doc: "Tests and the demo only, with `clock.originEpochMillis`: how many times faster than real time the clock runs (the simulator's time scale).",
        parse: |p, spec, v| {
            // Bounded here, so the JNI and C bridges (which pass options through this) refuse a
            // scale that would make every clock reading overflow.
            let Range::Decimal { min, max } = spec.range else {
                return Err(CredentialsError::internal(format!("{} has no decimal range", spec.key)));
            };
            let scale = v.parse::<f64>().ok().filter(|s| s.is_finite() && (min..=max).contains(s)).ok_or_else(|| {
                CredentialsError::invalid_config(
                    format!("{} '{v}' is not a number from {min} to {max}", spec.key),
                    "Use the simulator's time scale, e.g. 600 (compressed time is for tests and the demo only).",
                )
            })?;
            p.scale = Some(scale);
            Ok(())
        },
    },
];

/// The option with this key.
pub fn option(key: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.key == key)
}

/// The Java system property whose option key this is ([`system_property_option`]).
fn system_property_of(key: &str) -> Option<&'static str> {
    OPTIONS.iter().flat_map(|o| o.fallback.system_properties.iter().copied()).find(|p| system_property_option(p) == key)
}

impl OptionSpec {
    /// A whole number, within the range when that is checked here.
    fn whole(&self, value: &str) -> Result<u64, CredentialsError> {
        let n = number(self.key, value)?;
        if self.checked == Checked::WhenParsed && !self.range.contains_whole(n) {
            return Err(CredentialsError::invalid_config(
                format!("option {}='{value}' is out of range", self.key),
                format!("Give {} as {}.", self.key, self.range_text()),
            ));
        }
        Ok(n)
    }

    /// Source names, comma-separated: at least one, each from [`SOURCES`].
    fn sources(&self, value: &str) -> Result<Vec<SourceKind>, CredentialsError> {
        let mut kinds = Vec::new();
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            kinds.push(source_by_name(name).ok_or_else(|| {
                CredentialsError::invalid_config(
                    format!("unknown credential source '{name}'"),
                    format!("Use {} (comma-separated for an order).", source_names(false)),
                )
            })?);
        }
        if kinds.is_empty() {
            return Err(CredentialsError::invalid_config(
                format!("the {} option is empty", self.key),
                format!("Name at least one source, e.g. {}.", SOURCES[SOURCES.len() - 1].0),
            ));
        }
        Ok(kinds)
    }

    /// The option's unit, as documentation names it.
    fn value_text(&self) -> &'static str {
        match self.value {
            Value::Text => "text",
            Value::Sources => "source names, comma-separated",
            Value::Millis => "milliseconds",
            Value::Seconds => "seconds",
            Value::EpochMillis => "epoch milliseconds",
            Value::Count => "whole number",
            Value::Boolean => "`true` or `false`",
            Value::Choice => "name",
            Value::Decimal => "number",
        }
    }

    /// A number in the option's unit, with the duration it stands for.
    fn amount_text(&self, n: u64) -> String {
        match self.value {
            Value::Millis => format!("{n} ({})", spoken_duration(Duration::from_millis(n))),
            Value::Seconds => format!("{n} ({})", spoken_duration(Duration::from_secs(n))),
            _ => n.to_string(),
        }
    }

    fn range_text(&self) -> String {
        match (self.value, self.range) {
            (Value::Sources, _) => format!("{} (any case)", source_names(true)),
            (_, Range::Any) => "any".to_string(),
            (_, Range::HttpUrl) => "an `http://` URL with a host".to_string(),
            (_, Range::OneOf(names)) => {
                let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                format!("{} (any case)", quoted.join(" or "))
            }
            (_, Range::Whole { min: 0, max: None }) => "any".to_string(),
            (_, Range::Whole { min, max: None }) => format!("at least {}", self.amount_text(min)),
            (_, Range::Whole { min, max: Some(max) }) => format!("{} to {}", self.amount_text(min), self.amount_text(max)),
            (_, Range::Decimal { min, max }) => format!("{min} to {max}"),
        }
    }

    pub(crate) fn default_text(&self) -> String {
        match self.default {
            Unset::Described(text) => text.to_string(),
            Unset::AllSources => "all, in the order above (SDK v1's chain; the SDK v2 provider's builder sets SDK v2's)".to_string(),
            Unset::Duration(d) => match self.value {
                Value::Seconds => self.amount_text(d.as_secs()),
                _ => self.amount_text(millis(d)),
            },
            Unset::Count(n) => n.to_string(),
            Unset::Text(text) => format!("`{text}`"),
            Unset::Boolean(b) => format!("`{b}`"),
            Unset::EndpointByMode { ipv4, ipv6 } => format!("`{ipv4}`; `{ipv6}` when the endpoint mode is IPv6"),
        }
    }
}

/// The options as a markdown table, generated from [`OPTIONS`]: what `DEVELOPERS.md` holds
/// between `<!-- options:start -->` and `<!-- options:end -->`.
pub fn options_markdown() -> String {
    let mut text = String::from(
        "| key | value | range | default | when not set: system property, environment, profile key | meaning |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for o in OPTIONS {
        let range = match o.checked {
            Checked::WhenParsed => o.range_text(),
            Checked::WhenImdsIsBuilt => format!("{}; checked only when IMDS is used", o.range_text()),
        };
        let _ = writeln!(text, "| `{}` | {} | {range} | {} | {} | {} |", o.key, o.value_text(), o.default_text(), o.fallback.text(), o.doc);
        for property in o.fallback.system_properties {
            let _ = writeln!(
                text,
                "| `{}` | text | the SDK's syntax; checked when used | unset | — | The Java system property `{property}`, which the Java library reads and passes on: `{}` when that option is not set. |",
                system_property_option(property),
                o.key
            );
        }
    }
    text
}

/// Every key [`AgentOptions::from_pairs`] takes, in the order documentation lists them: each
/// option, followed by the key of its system property if it has one.
pub fn known_keys() -> Vec<String> {
    let mut keys = Vec::new();
    for o in OPTIONS {
        keys.push(o.key.to_string());
        keys.extend(o.fallback.system_properties.iter().map(|p| system_property_option(p)));
    }
    keys
}

/// A duration in words, for messages and documentation: `1 ms`, `2.5 s`, `5 min`, `6 hours`.
pub(crate) fn spoken_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() == 0 && secs >= 3600 && secs.is_multiple_of(3600) {
        let hours = secs / 3600;
        format!("{hours} hour{}", if hours == 1 { "" } else { "s" })
    } else if d.subsec_nanos() == 0 && secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else if d.subsec_nanos() == 0 {
        format!("{secs} s")
    } else if secs == 0 && d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{} ms", d.subsec_millis())
    } else {
        format!("{} s", d.as_secs_f64())
    }
}

impl AgentOptions {
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Result<Self, CredentialsError> {
        let mut parsed = Parsed::default();
        for (key, value) in pairs {
            let (key, value) = (key.as_ref(), value.as_ref().trim());
            if let Some(spec) = option(key) {
                (spec.parse)(&mut parsed, spec, value)?;
            } else if let Some(property) = system_property_of(key) {
                // Kept as text: it is read in the SDK's syntax, like the variable after it.
                if !value.is_empty() {
                    parsed.options.java_properties.insert(property, value.to_string());
                }
            } else {
                return Err(CredentialsError::invalid_config(
                    format!("unknown option '{key}'"),
                    format!("Known options: {}.", known_keys().join(", ")),
                ));
            }
        }
        let Parsed { mut options, origin, scale } = parsed;
        match (origin, scale) {
            (Some(o), Some(s)) => options.compressed_clock = Some((o, s)),
            (None, None) => {}
            _ => {
                return Err(CredentialsError::invalid_config(
                    format!("only one of {} and {} is set", keys::CLOCK_ORIGIN_EPOCH_MILLIS, keys::CLOCK_SCALE),
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
    fn the_source_names_are_the_chains_in_its_order_and_name_webidentity() {
        let kinds: Vec<SourceKind> = SOURCES.iter().map(|(_, kind)| *kind).collect();
        assert_eq!(kinds, SourceKind::ORDER.to_vec(), "SOURCES follows the chain's order");
        for (name, kind) in SOURCES {
            assert_eq!(kind.name(), name, "one name per source");
            assert_eq!(source_by_name(&name.to_ascii_uppercase()), Some(kind), "any case");
        }
        let o = AgentOptions::from_pairs(&[("source", " webidentity , IMDS,")]).expect("valid");
        assert_eq!(o.sources, Some(vec![SourceKind::WebIdentity, SourceKind::Imds]));
        let e = AgentOptions::from_pairs(&[("source", "imds,nowhere")]).expect_err("unknown");
        assert!(e.to_string().contains("unknown credential source 'nowhere'"), "{e}");
        assert!(e.to_string().contains("Use environment, systemProperties, webIdentity, profile, container or imds"), "{e}");
        let e = AgentOptions::from_pairs(&[("source", " , ")]).expect_err("empty");
        assert!(e.to_string().contains("the source option is empty") && e.to_string().contains("e.g. imds"), "{e}");
    }

    #[test]
    fn the_table_has_each_key_once_and_every_key_is_accepted() {
        let mut keys: Vec<&str> = OPTIONS.iter().map(|o| o.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), OPTIONS.len(), "duplicate keys");
        let e = AgentOptions::from_pairs(&[("nope", "1")]).expect_err("unknown");
        let known = known_keys().join(", ");
        assert!(e.to_string().contains(&format!("Known options: {known}.")), "{e}");
        for o in OPTIONS {
            assert!(!o.doc.contains('|') && !o.doc.contains('\n') && o.doc.ends_with('.'), "{}: one markdown-safe line", o.key);
            // A value of its kind at the low end of its range parses.
            let value = match (o.value, o.range) {
                (Value::Sources, _) => "imds".to_string(),
                (Value::Boolean, _) => "true".to_string(),
                (_, Range::OneOf(names)) => names[0].to_string(),
                (_, Range::Whole { min, .. }) => min.to_string(),
                (_, Range::Decimal { min, .. }) => min.to_string(),
                _ => "http://127.0.0.1:1".to_string(),
            };
            let mut pairs = vec![(o.key, value.as_str())];
            // The clock options come in pairs.
            if o.key == keys::CLOCK_SCALE {
                pairs.push((keys::CLOCK_ORIGIN_EPOCH_MILLIS, "0"));
            } else if o.key == keys::CLOCK_ORIGIN_EPOCH_MILLIS {
                pairs.push((keys::CLOCK_SCALE, "1"));
            }
            AgentOptions::from_pairs(&pairs).unwrap_or_else(|e| panic!("{}={value}: {e}", o.key));
        }
    }

    /// Each SDK setting's system property has its own key, accepted and kept by property name;
    /// blank values are no value, as for variables.
    #[test]
    fn system_property_keys_are_derived_from_the_table_and_accepted() {
        let properties: Vec<&str> = OPTIONS.iter().flat_map(|o| o.fallback.system_properties.iter().copied()).collect();
        assert_eq!(
            properties,
            [
                "aws.ec2MetadataServiceEndpoint",
                "com.amazonaws.sdk.ec2MetadataServiceEndpointOverride",
                "aws.ec2MetadataServiceEndpointMode",
                "aws.ec2MetadataServiceTimeout",
                "aws.disableEc2Metadata",
                "com.amazonaws.sdk.disableEc2Metadata",
                "aws.profile",
                "aws.configFile",
                "aws.sharedCredentialsFile"
            ]
        );
        for property in properties {
            let key = system_property_option(property);
            assert!(known_keys().contains(&key), "{key}");
            let o = AgentOptions::from_pairs(&[(key.as_str(), " value ")]).unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(o.java_properties.get(property).map(String::as_str), Some("value"), "{key}");
            let blank = AgentOptions::from_pairs(&[(key.as_str(), "  ")]).expect("blank is accepted");
            assert!(blank.java_properties.is_empty(), "{key}: blank is unset");
        }
        assert_eq!(system_property_option("aws.profile"), "systemProperties.profile");
        assert_eq!(system_property_option("com.amazonaws.sdk.disableEc2Metadata"), "systemProperties.com.amazonaws.sdk.disableEc2Metadata");
        assert!(AgentOptions::from_pairs(&[("systemProperties.region", "x")]).is_err(), "only the settings' properties");
    }

    /// The Java library forwards exactly the system properties of the table (as
    /// `systemProperties.*` keys) and Java's home directory; README's settings table names every
    /// option's fallbacks.
    #[test]
    fn java_forwards_every_system_property_and_the_readme_names_every_fallback() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let java = std::fs::read_to_string(root.join("java/src/main/java/dev/freshcreds/AgentOptions.java")).expect("AgentOptions.java");
        let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
        for o in OPTIONS.iter().filter(|o| o.fallback != Fallback::NONE) {
            for property in o.fallback.system_properties {
                assert!(java.contains(&format!("\"{property}\"")), "AgentOptions.java does not forward {property}");
                assert!(readme.contains(&format!("`{property}`")), "README.md does not name {property}");
            }
            for name in [o.fallback.env, o.fallback.profile_key].into_iter().flatten() {
                assert!(readme.contains(&format!("`{name}`")), "README.md does not name {name} ({})", o.key);
            }
        }
        assert!(java.contains("\"user.home\"") && java.contains(&format!("\"{}\"", keys::HOME_DIRECTORY)), "Java passes user.home");
    }

    /// The IMDS options' ranges in the table are the bounds the IMDS client enforces: the edges
    /// build, one past them does not.
    #[test]
    fn the_imds_ranges_in_the_table_are_the_ones_the_client_enforces() {
        use crate::clock::SystemClock;
        use std::sync::Arc;
        for o in OPTIONS.iter().filter(|o| o.checked == Checked::WhenImdsIsBuilt) {
            let Range::Whole { min, max: Some(max) } = o.range else { continue };
            for (n, ok) in [(min, true), (max, true), (min.saturating_sub(1), min == 0), (max + 1, false)] {
                let options = AgentOptions::from_pairs(&[(o.key, n.to_string())]).expect("parses: the range is checked later");
                let built = options.imds_client_builder(Env::empty()).build(Arc::new(SystemClock));
                assert_eq!(built.is_ok(), ok, "{}={n}: {:?}", o.key, built.err());
            }
        }
    }

    #[test]
    fn durations_are_spoken_in_their_largest_whole_unit() {
        for (d, text) in [
            (Duration::from_millis(1), "1 ms"),
            (Duration::from_secs(1), "1 s"),
            (Duration::from_millis(2500), "2.5 s"),
            (Duration::from_secs(300), "5 min"),
            (Duration::from_secs(3600), "1 hour"),
            (Duration::from_secs(21_600), "6 hours"),
            (Duration::ZERO, "0 s"),
        ] {
            assert_eq!(spoken_duration(d), text);
        }
    }

    /// `DEVELOPERS.md` holds the table [`options_markdown`] writes. When the table changes, run
    /// `FRESHCREDS_BLESS=1 cargo test -p freshcreds-core --lib options_doc` to rewrite it there.
    #[test]
    fn the_options_doc_in_developers_md_is_current() {
        const START: &str = "<!-- options:start -->\n";
        const END: &str = "<!-- options:end -->";
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../DEVELOPERS.md");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let start = text.find(START).map(|i| i + START.len()).expect("DEVELOPERS.md has <!-- options:start -->");
        let end = start + text[start..].find(END).expect("DEVELOPERS.md has <!-- options:end --> after the start marker");
        let generated = options_markdown();
        if text[start..end] == generated {
            return;
        }
        if std::env::var(crate::env::FRESHCREDS_BLESS).is_ok_and(|v| v == "1") {
            std::fs::write(&path, format!("{}{generated}{}", &text[..start], &text[end..])).expect("DEVELOPERS.md rewritten");
            return;
        }
        panic!(
            "the options table in DEVELOPERS.md is stale. Regenerate it with\n    \
             FRESHCREDS_BLESS=1 cargo test -p freshcreds-core --lib options_doc\n\
             --- generated ---\n{generated}--- in DEVELOPERS.md ---\n{}",
            &text[start..end]
        );
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
