//! The credentials value handed out by every source and the cache.
//!
//! The secret access key and the session token live in [`Zeroizing`] strings, so their bytes are
//! overwritten when the last copy is dropped, and `Debug` prints neither of them.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use zeroize::Zeroizing;

/// AWS credentials. Cheap to clone (one shared allocation).
#[derive(Clone)]
pub struct Credentials(Arc<Inner>);

struct Inner {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
    expiration: Option<SystemTime>,
    source: &'static str,
}

impl Credentials {
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
        expiration: Option<SystemTime>,
        source: &'static str,
    ) -> Self {
        Self(Arc::new(Inner {
            access_key_id: access_key_id.into(),
            secret_access_key: Zeroizing::new(secret_access_key.into()),
            session_token: session_token.map(Zeroizing::new),
            expiration,
            source,
        }))
    }

    pub fn access_key_id(&self) -> &str {
        &self.0.access_key_id
    }

    pub fn secret_access_key(&self) -> &str {
        &self.0.secret_access_key
    }

    pub fn session_token(&self) -> Option<&str> {
        self.0.session_token.as_deref().map(String::as_str)
    }

    pub fn expiration(&self) -> Option<SystemTime> {
        self.0.expiration
    }

    /// The name of the source that produced these credentials (e.g. `imds`).
    pub fn source(&self) -> &'static str {
        self.0.source
    }

    /// True when both values name the same issued credentials (same key id and expiry).
    pub fn same_issue(&self, other: &Credentials) -> bool {
        self.0.access_key_id == other.0.access_key_id && self.0.expiration == other.0.expiration
    }

    /// The access key id shortened for logs: enough to tell rotations apart.
    pub fn key_id_for_logs(&self) -> String {
        abbreviate_key_id(&self.0.access_key_id)
    }
}

/// `ASIA…WXYZ`: the first four and last four characters of an access key id.
pub fn abbreviate_key_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "****".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.key_id_for_logs())
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &self.0.session_token.as_ref().map(|_| "** redacted **"))
            .field("expiration", &self.0.expiration)
            .field("source", &self.0.source)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials::new("ASIAEXAMPLEKEYID1234", "s3cr3t-VALUE", Some("t0k3n-VALUE".into()), None, "test");
        let printed = format!("{c:?}");
        assert!(!printed.contains("s3cr3t-VALUE"), "{printed}");
        assert!(!printed.contains("t0k3n-VALUE"), "{printed}");
        assert!(!printed.contains("ASIAEXAMPLEKEYID1234"), "{printed}");
        assert!(printed.contains("ASIA…1234"), "{printed}");
    }
}
