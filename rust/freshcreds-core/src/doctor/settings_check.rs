//! The `settings` check: every IMDS and chain setting in effect, where its value came from
//! (option, system property, environment variable, profile key, default), and any invalid value.

use serde_json::{Map, Value};

use super::Check;
use crate::config::{fallback, keys, AgentOptions, Fallback, OPTIONS};
use crate::error::CredentialsError;
use crate::settings::Lookup;

/// The settings the doctor lists, in the order of the README's settings table.
const LISTED: [(&str, Fallback); 8] = [
    (keys::IMDS_DISABLED, fallback::IMDS_DISABLED),
    (keys::ENDPOINT, fallback::ENDPOINT),
    (keys::ENDPOINT_MODE, fallback::ENDPOINT_MODE),
    (keys::ATTEMPT_TIMEOUT_MILLIS, fallback::ATTEMPT_TIMEOUT),
    (keys::MAX_ATTEMPTS, fallback::MAX_ATTEMPTS),
    (keys::PROFILE_NAME, fallback::PROFILE_NAME),
    (keys::CONFIG_FILE, fallback::CONFIG_FILE),
    (keys::CREDENTIALS_FILE, fallback::CREDENTIALS_FILE),
];

pub fn check(pairs: &[(String, String)], options: &AgentOptions, lookup: &Lookup, option_error: Option<&CredentialsError>) -> Check {
    let mut details = Map::new();
    let mut shown = Vec::new();
    for (key, fallback) in LISTED {
        let given = pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let (value, from) = match (given, lookup.get(&fallback)) {
            (Some(v), _) => (v, format!("the {key} option")),
            (None, Some(found)) => (found.value, found.from.to_string()),
            (None, None) => (default_text(key), "the default".to_string()),
        };
        shown.push(format!("{key}={value} ({from})"));
        details.insert(key.to_string(), serde_json::json!({ "value": value, "from": from }));
    }
    let order = options.sources.as_ref().map(|s| s.iter().map(|k| k.name()).collect::<Vec<_>>().join(","));
    details.insert(keys::SOURCE.to_string(), Value::from(order.clone().unwrap_or_else(|| "the default chain".to_string())));

    // A bad value is refused where it is used; the doctor asks for each of them now.
    let builder = options.imds_client_builder_with(lookup.clone());
    let mut invalid: Vec<String> = option_error.map(|e| e.to_string()).into_iter().collect();
    if !builder.is_disabled() {
        invalid.extend(builder.resolved_endpoint().err().map(|e| e.to_string()));
        invalid.extend(builder.resolved_attempt_timeout().err().map(|e| e.to_string()));
        invalid.extend(builder.resolved_max_attempts().err().map(|e| e.to_string()));
    }
    let mut check = if invalid.is_empty() {
        Check::pass("settings", format!("in effect: {}", shown.join(", ")))
    } else {
        Check::fail("settings", format!("invalid: {}", invalid.join("; ")), "Fix each value where the message says it comes from.")
    };
    check.details = details;
    check.detail("invalid", invalid)
}

/// The table's default for `key`, as documentation shows it.
fn default_text(key: &str) -> String {
    OPTIONS.iter().find(|o| o.key == key).map(|o| o.default_text().replace('`', "")).unwrap_or_default()
}
