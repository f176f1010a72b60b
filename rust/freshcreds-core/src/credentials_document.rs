//! The JSON credentials document that IMDS and the container endpoints (ECS, EKS Pod Identity)
//! serve, and its one parser, [`parse`]:
//!
//! ```json
//! {"Code":"Success","AccessKeyId":"ASIA...","SecretAccessKey":"...","Token":"...","Expiration":"2026-11-30T07:00:00Z"}
//! ```
//!
//! The rules are the AWS SDKs', the same for both sources: `AccessKeyId`, `SecretAccessKey`,
//! `Token` and `Expiration` must be non-empty strings, `Expiration` an RFC 3339 time. `Code` may
//! be missing (container endpoints never send it, and the SDKs accept an IMDS document without
//! it); when present it must be `Success`. Other fields (`Type`, `LastUpdated`, `RoleArn`, ...)
//! are ignored.
//!
//! A refused document gets a message that says which part was wrong, never what the body held
//! (it carries the secret key and the session token).

use std::time::SystemTime;

use serde_json::Value;

use crate::credentials::Credentials;

/// Parses a credentials document into credentials of `source` (e.g. `imds`). The error says what
/// was wrong, never what was there.
pub fn parse(body: &str, source: &'static str) -> Result<Credentials, String> {
    let doc: Value = serde_json::from_str(body).map_err(|e| {
        // serde_json's syntax errors name a line and column, never content.
        format!("the body is not JSON ({} at line {} column {})", classify(&e), e.line(), e.column())
    })?;
    let obj = doc.as_object().ok_or("the body is JSON but not an object")?;
    let text = |field: &str| -> Result<&str, String> {
        match obj.get(field) {
            None | Some(Value::Null) => Err(format!("the field {field} is missing")),
            Some(Value::String(s)) if s.is_empty() => Err(format!("the field {field} is empty")),
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err(format!("the field {field} is not a string")),
        }
    };
    match obj.get("Code") {
        None | Some(Value::Null) => {}
        Some(_) => {
            let code = text("Code")?;
            if code != "Success" {
                // The code is a status word such as "Failure", not a secret; cap it anyway.
                let shown: String = code.chars().take(40).collect();
                return Err(format!("Code is '{shown}', not 'Success'"));
            }
        }
    }
    let access_key_id = text("AccessKeyId")?;
    let secret = text("SecretAccessKey")?;
    let token = text("Token")?;
    let expiration_text = text("Expiration")?;
    let expiration = parse_rfc3339(expiration_text).ok_or_else(|| {
        let shown: String = expiration_text.chars().take(40).collect();
        format!("Expiration '{shown}' is not an RFC 3339 time")
    })?;
    Ok(Credentials::new(access_key_id, secret, Some(token.to_string()), Some(expiration), source))
}

fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "it ends early",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    }
}

pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok().map(SystemTime::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"Code":"Success","LastUpdated":"2026-11-30T01:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAEXAMPLE000000001","SecretAccessKey":"SECRET-SHOULD-NOT-LEAK","Token":"TOKEN-SHOULD-NOT-LEAK","Expiration":"2026-11-30T07:00:00Z"}"#;

    #[test]
    fn parses_the_ec2_document() {
        let c = parse(GOOD, "imds").expect("valid");
        assert_eq!(c.access_key_id(), "ASIAEXAMPLE000000001");
        assert_eq!(c.secret_access_key(), "SECRET-SHOULD-NOT-LEAK");
        assert_eq!(c.session_token(), Some("TOKEN-SHOULD-NOT-LEAK"));
        assert_eq!(c.expiration(), parse_rfc3339("2026-11-30T07:00:00Z"));
        assert_eq!(c.source(), "imds");
    }

    /// One rule for both sources: no `Code` is fine (the container document has none), a `Code`
    /// other than `Success` is not.
    #[test]
    fn code_may_be_missing_but_if_present_must_be_success() {
        let without_code = GOOD.replace(r#""Code":"Success","#, "");
        let with_null_code = GOOD.replace(r#""Success""#, "null");
        let container = r#"{"AccessKeyId":"ASIACONTAINER0000001","SecretAccessKey":"s","Token":"t","Expiration":"2026-11-30T07:00:00Z","RoleArn":"arn:aws:iam::123456789012:role/sim-container-role"}"#;
        for source in ["imds", "container"] {
            assert_eq!(parse(&without_code, source).expect("no Code").source(), source);
            assert!(parse(&with_null_code, source).is_ok(), "a null Code is no Code");
            assert_eq!(parse(container, source).expect("the container document").access_key_id(), "ASIACONTAINER0000001");
            let failure = parse(&GOOD.replace(r#""Success""#, r#""Failure""#), source).expect_err("Code Failure");
            assert!(failure.contains("Code is 'Failure'"), "{failure}");
            let empty = parse(&GOOD.replace(r#""Success""#, r#""""#), source).expect_err("empty Code");
            assert!(empty.contains("Code is empty"), "{empty}");
        }
    }

    #[test]
    fn each_bad_body_gives_a_typed_error_that_names_the_problem_and_no_secret() {
        let cases: &[(&str, &str)] = &[
            ("not json at all SECRET-SHOULD-NOT-LEAK", "not JSON"),
            (r#"{"Code":"Success","AccessKeyId":"A"#, "not JSON"),
            ("[1,2]", "not an object"),
            (&GOOD.replace("\"Success\"", "\"Failure\""), "Code is 'Failure'"),
            (&GOOD.replace("\"AccessKeyId\"", "\"Other\""), "AccessKeyId is missing"),
            (&GOOD.replace("\"SecretAccessKey\":\"SECRET-SHOULD-NOT-LEAK\"", "\"SecretAccessKey\":\"\""), "SecretAccessKey is empty"),
            (&GOOD.replace("\"Token\":\"TOKEN-SHOULD-NOT-LEAK\"", "\"Token\":42"), "Token is not a string"),
            (&GOOD.replace("2026-11-30T07:00:00Z", "tomorrow"), "Expiration 'tomorrow' is not an RFC 3339 time"),
        ];
        for (body, expected) in cases {
            let err = parse(body, "imds").expect_err(body);
            assert!(err.contains(expected), "{body} -> {err}");
            assert!(!err.contains("SHOULD-NOT-LEAK"), "{err}");
        }
    }
}
