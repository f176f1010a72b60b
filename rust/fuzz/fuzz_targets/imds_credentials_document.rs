//! The credentials document parser that the instance-role and container sources share
//! (`freshcreds_core::credentials_document::parse`), as the instance-role source calls it on every
//! refresh (`freshcreds_core::imds::credentials::parse_credentials`) and as the container source does.
//!
//! Input: the raw body. The IMDS client hands the parser only bodies that are valid UTF-8 (and at
//! most 64 KiB), so anything else is skipped here too.
#![no_main]

use freshcreds_core::credentials_document;
use freshcreds_core::imds::credentials::parse_credentials;
use freshcreds_core::Credentials;
use libfuzzer_sys::fuzz_target;

/// What the agent does with parsed credentials besides handing them out: log them (`Debug`, the
/// abbreviated key id). The module's contract: every field it accepted is non-empty.
fn use_like_the_agent(c: &Credentials) {
    assert!(!c.access_key_id().is_empty() && !c.secret_access_key().is_empty());
    assert!(c.session_token().is_some_and(|t| !t.is_empty()));
    assert!(c.expiration().is_some());
    let _ = format!("{c:?}");
    let _ = c.key_id_for_logs();
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else { return };
    if body.len() > 64 * 1024 {
        return;
    }
    match parse_credentials(body) {
        Ok(c) => use_like_the_agent(&c),
        // The error ends up in CredentialsError::InvalidResponse and in logs.
        Err(problem) => assert!(!problem.is_empty()),
    }
    match credentials_document::parse(body, "container") {
        Ok(c) => use_like_the_agent(&c),
        Err(problem) => assert!(!problem.is_empty()),
    }
});
