//! Settings of the other credential sources (container endpoint, STS web identity, SSO portal),
//! settable in-process ([`Sources`]) or over HTTP at `/_sim/config`:
//!
//! | field | default | effect |
//! | --- | --- | --- |
//! | `container_auth_token` | `"sim-container-token"` | the exact `Authorization` header the container endpoint requires (missing → 401, other → 403); `null` = no header needed |
//! | `web_identity_token` | `null` | the `WebIdentityToken` `AssumeRoleWithWebIdentity` requires (other → 400 `InvalidIdentityToken`); `null` = any non-empty token |
//! | `sso_access_token` | `null` | the `x-amz-sso_bearer_token` the SSO portal requires (other → 401 `UnauthorizedException`); `null` = any non-empty token |
//!
//! * `GET /_sim/config` answers the settings in force.
//! * `POST /_sim/config` replaces them all: a missing field takes its **default**, `null` means
//!   "none" (so `{}` or an empty body restores the defaults).
//! * `PATCH /_sim/config` changes only the fields given; `null` means "none" (unlike
//!   `PATCH /_sim/faults`, where `null` restores the default — here the defaults are not all
//!   "none"; send the default value itself to restore it).
//!
//! A token must be 1..=8192 visible ASCII characters or spaces, without leading or trailing
//! space (it travels in a header or a form field); anything else → 400 and nothing changes.
//! The settings are test fixtures, not secrets, and are shown by `GET /_sim/config`.

use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::patch::patch_opt;

/// The default `container_auth_token`.
pub const DEFAULT_CONTAINER_AUTH_TOKEN: &str = "sim-container-token";
/// The longest token accepted.
pub const MAX_TOKEN_LEN: usize = 8192;

/// The JSON form of the settings. Missing fields take their defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourcesConfig {
    pub container_auth_token: Option<String>,
    pub web_identity_token: Option<String>,
    pub sso_access_token: Option<String>,
}

impl Default for SourcesConfig {
    fn default() -> Self {
        SourcesConfig {
            container_auth_token: Some(DEFAULT_CONTAINER_AUTH_TOKEN.to_string()),
            web_identity_token: None,
            sso_access_token: None,
        }
    }
}

fn check_token(name: &str, v: &Option<String>) -> Result<(), String> {
    let Some(t) = v else { return Ok(()) };
    let ok = (1..=MAX_TOKEN_LEN).contains(&t.len())
        && t.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
        && !t.starts_with(' ')
        && !t.ends_with(' ');
    if ok {
        Ok(())
    } else {
        Err(format!("{name} must be null or 1..={MAX_TOKEN_LEN} visible ASCII characters or inner spaces"))
    }
}

impl SourcesConfig {
    /// Checks the token shapes.
    pub fn validate(&self) -> Result<(), String> {
        check_token("container_auth_token", &self.container_auth_token)?;
        check_token("web_identity_token", &self.web_identity_token)?;
        check_token("sso_access_token", &self.sso_access_token)
    }
}

/// A partial [`SourcesConfig`] for `PATCH /_sim/config`: a missing field (`None`) stays as it
/// is, `null` (`Some(None)`) sets "none", a value (`Some(Some(v))`) is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourcesPatch {
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub container_auth_token: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub web_identity_token: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::present", skip_serializing_if = "Option::is_none")]
    pub sso_access_token: Option<Option<String>>,
}

impl SourcesPatch {
    /// `cfg` with this patch applied (not validated).
    pub fn applied_to(&self, cfg: &SourcesConfig) -> SourcesConfig {
        let mut c = cfg.clone();
        patch_opt(&mut c.container_auth_token, &self.container_auth_token);
        patch_opt(&mut c.web_identity_token, &self.web_identity_token);
        patch_opt(&mut c.sso_access_token, &self.sso_access_token);
        c
    }
}

/// The live settings.
#[derive(Debug)]
pub struct Sources {
    cfg: Mutex<SourcesConfig>,
}

impl Default for Sources {
    fn default() -> Self {
        Sources { cfg: Mutex::new(SourcesConfig::default()) }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sources {
    /// The settings in force.
    pub fn get(&self) -> SourcesConfig {
        lock(&self.cfg).clone()
    }

    /// Replaces every setting (validated first; an invalid config changes nothing).
    pub fn set(&self, cfg: &SourcesConfig) -> Result<SourcesConfig, String> {
        cfg.validate()?;
        *lock(&self.cfg) = cfg.clone();
        Ok(cfg.clone())
    }

    /// Changes only the fields `patch` names (an invalid result changes nothing). Returns the
    /// settings now in force.
    pub fn patch(&self, patch: &SourcesPatch) -> Result<SourcesConfig, String> {
        let mut cfg = lock(&self.cfg);
        let next = patch.applied_to(&cfg);
        next.validate()?;
        *cfg = next.clone();
        Ok(next)
    }

    /// Back to the defaults.
    pub fn reset(&self) {
        *lock(&self.cfg) = SourcesConfig::default();
    }

    /// The `Authorization` value the container endpoint requires, if any.
    pub fn container_auth_token(&self) -> Option<String> {
        lock(&self.cfg).container_auth_token.clone()
    }

    /// Sets (or with `None` drops) the container authorization token.
    pub fn set_container_auth_token(&self, token: Option<String>) -> Result<(), String> {
        self.patch(&SourcesPatch { container_auth_token: Some(token), ..SourcesPatch::default() }).map(|_| ())
    }

    /// The web identity token STS requires, if any.
    pub fn web_identity_token(&self) -> Option<String> {
        lock(&self.cfg).web_identity_token.clone()
    }

    /// Sets (or with `None` drops) the required web identity token.
    pub fn set_web_identity_token(&self, token: Option<String>) -> Result<(), String> {
        self.patch(&SourcesPatch { web_identity_token: Some(token), ..SourcesPatch::default() }).map(|_| ())
    }

    /// The SSO access token the portal requires, if any.
    pub fn sso_access_token(&self) -> Option<String> {
        lock(&self.cfg).sso_access_token.clone()
    }

    /// Sets (or with `None` drops) the required SSO access token.
    pub fn set_sso_access_token(&self, token: Option<String>) -> Result<(), String> {
        self.patch(&SourcesPatch { sso_access_token: Some(token), ..SourcesPatch::default() }).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_post_and_patch_semantics() {
        let s = Sources::default();
        assert_eq!(s.container_auth_token().as_deref(), Some(DEFAULT_CONTAINER_AUTH_TOKEN));
        assert_eq!(s.web_identity_token(), None);
        // POST semantics: missing = default, null = none.
        let cfg: SourcesConfig = serde_json::from_str("{}").expect("json");
        assert_eq!(cfg, SourcesConfig::default());
        let cfg: SourcesConfig = serde_json::from_str(r#"{"container_auth_token":null,"sso_access_token":"t"}"#).expect("json");
        assert_eq!(cfg.container_auth_token, None);
        assert_eq!(cfg.sso_access_token.as_deref(), Some("t"));
        assert!(serde_json::from_str::<SourcesConfig>(r#"{"typo":1}"#).is_err());
        // PATCH semantics: missing = unchanged, null = none.
        let p: SourcesPatch = serde_json::from_str(r#"{"container_auth_token":null,"web_identity_token":"jwt"}"#).expect("json");
        let now = s.patch(&p).expect("valid");
        assert_eq!(now.container_auth_token, None);
        assert_eq!(now.web_identity_token.as_deref(), Some("jwt"));
        assert_eq!(now.sso_access_token, None);
        // Invalid tokens change nothing.
        let before = s.get();
        for bad in [
            r#"{"sso_access_token":""}"#,
            r#"{"sso_access_token":" x"}"#,
            r#"{"sso_access_token":"a\nb"}"#,
            r#"{"container_auth_token":"é"}"#,
        ] {
            let p: SourcesPatch = serde_json::from_str(bad).expect("json");
            assert!(s.patch(&p).is_err(), "{bad}");
        }
        assert!(s.set_container_auth_token(Some("x".repeat(MAX_TOKEN_LEN + 1))).is_err());
        assert_eq!(s.get(), before);
        s.reset();
        assert_eq!(s.get(), SourcesConfig::default());
    }
}
