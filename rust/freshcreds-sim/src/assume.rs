//! STS `AssumeRole` (signed) and `AssumeRoleWithWebIdentity` (unsigned), dispatched from
//! [`crate::sts`].
//!
//! * `AssumeRole`: form `Action=AssumeRole&Version=2011-06-15&RoleArn=…&RoleSessionName=…`
//!   `[&DurationSeconds=…]`, SigV4-signed by any credentials STS knows (IMDS, container, a role
//!   session, a static key pair; see [`crate::sts`] checks 1–6).
//! * `AssumeRoleWithWebIdentity`: form
//!   `Action=AssumeRoleWithWebIdentity&RoleArn=…&RoleSessionName=…&WebIdentityToken=…`
//!   `[&DurationSeconds=…]`, not signed. When `web_identity_token` is configured
//!   (`/_sim/config`) the token must equal it, else 400 `InvalidIdentityToken`; otherwise any
//!   non-empty token is accepted. When the token is a JWT, its `sub`, `aud` and `iss` claims become
//!   `SubjectFromWebIdentityToken`, `Audience` and `Provider` (the signature is not checked);
//!   otherwise the subject is [`DEFAULT_SUBJECT`] and the other two are left out.
//!
//! Parameter checks (400 `ValidationError`, AWS's wording, all violations listed in one message:
//! `"1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member
//! must not be null"`): `RoleArn` present, 20..=2048 characters; `RoleSessionName` present,
//! 2..=64 of `[\w+=,.@-]`; `DurationSeconds` an integer in 900..=43200 (default 3600);
//! `WebIdentityToken` present, 1..=20000 characters (AWS requires ≥ 4). Then a `RoleArn` that is
//! not `arn:PARTITION:iam::ACCOUNT(12 digits):role/[PATH/]NAME` → `ValidationError` "Request ARN
//! is invalid". Every role exists, trusts every caller and has a maximum session duration of
//! 12 h — except that `AssumeRole` called with role-session credentials (IMDS, container, an
//! earlier AssumeRole, web identity, SSO) is role chaining, limited to 1 h as on AWS: a longer
//! `DurationSeconds` → `ValidationError`.
//!
//! Success: 200 `text/xml` with `Credentials` (`AccessKeyId` `ASIA…`, `SecretAccessKey`,
//! `SessionToken`, `Expiration` RFC 3339 = sim now + duration) and `AssumedRoleUser`
//! (`arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION`, `AROA…:SESSION`). The credentials are
//! valid for STS until then (sim time; `ExpiredToken` after).

use std::time::Duration;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hyper::StatusCode;

use crate::clock::rfc3339_seconds;
use crate::http::Resp;
use crate::query::{error_response, xml_escape, xml_response, Params, StsError, NAMESPACE};
use crate::state::{IssuedCredentials, Principal, RoleSession, Shared};

pub const DEFAULT_DURATION_SECS: u64 = 3600;
pub const MIN_DURATION_SECS: u64 = 900;
pub const MAX_DURATION_SECS: u64 = 43_200;
/// The longest session role chaining allows.
pub const CHAINED_MAX_DURATION_SECS: u64 = 3600;
/// `SubjectFromWebIdentityToken` when the token is not a JWT with a `sub` claim.
pub const DEFAULT_SUBJECT: &str = "sim-web-identity-subject";
/// The longest web identity token accepted.
pub const MAX_WEB_IDENTITY_TOKEN_LEN: usize = 20_000;

const INVALID_IDENTITY_TOKEN: &str = "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.";
const CHAINING_LIMIT: &str = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.";

/// A parsed IAM role ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleArn {
    pub partition: String,
    pub account: String,
    /// The role name, without its path.
    pub name: String,
}

/// Parses `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
pub fn parse_role_arn(s: &str) -> Option<RoleArn> {
    let mut parts = s.splitn(6, ':');
    let (arn, partition, service, region, account, resource) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let partition_ok = partition.starts_with("aws") && partition.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    if arn != "arn"
        || !partition_ok
        || service != "iam"
        || !region.is_empty()
        || account.len() != 12
        || !account.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let path_and_name = resource.strip_prefix("role/")?;
    let (path, name) = match path_and_name.rsplit_once('/') {
        Some((p, n)) => (p, n),
        None => ("", path_and_name),
    };
    if !path.bytes().all(|b| b.is_ascii_graphic()) || !crate::sso::valid_role_name(name) {
        return None;
    }
    Some(RoleArn { partition: partition.to_string(), account: account.to_string(), name: name.to_string() })
}

/// A value as shown in a validation message (at most 128 characters).
fn shown(v: &str) -> String {
    if v.chars().count() > 128 {
        format!("{}...", v.chars().take(128).collect::<String>())
    } else {
        v.to_string()
    }
}

fn null(field: &str) -> String {
    format!("Value null at '{field}' failed to satisfy constraint: Member must not be null")
}

fn constraint(value: &str, field: &str, what: &str) -> String {
    format!("Value '{}' at '{field}' failed to satisfy constraint: Member must {what}", shown(value))
}

fn check_length(errors: &mut Vec<String>, value: &Option<String>, field: &str, min: usize, max: usize) {
    match value {
        None => errors.push(null(field)),
        Some(v) if v.chars().count() < min => errors.push(constraint(v, field, &format!("have length greater than or equal to {min}"))),
        Some(v) if v.chars().count() > max => errors.push(constraint(v, field, &format!("have length less than or equal to {max}"))),
        Some(_) => {}
    }
}

fn validation_error(message: impl Into<String>) -> StsError {
    StsError::new(StatusCode::BAD_REQUEST, "ValidationError", message)
}

/// The parameters both actions share, checked.
struct Request {
    arn: RoleArn,
    session_name: String,
    duration_secs: u64,
    explicit_duration: bool,
}

/// Checks `RoleArn`, `RoleSessionName`, `DurationSeconds` and (with `token_field`) the token
/// field, collecting every violation, then parses the ARN.
fn check(params: &Params, token: Option<&Option<String>>) -> Result<Request, StsError> {
    let mut errors = Vec::new();
    let role_arn = params.get("RoleArn");
    check_length(&mut errors, &role_arn, "roleArn", 20, 2048);
    let session = params.get("RoleSessionName");
    check_length(&mut errors, &session, "roleSessionName", 2, 64);
    if let Some(s) = &session {
        let ok = s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b));
        if !ok {
            errors.push(constraint(s, "roleSessionName", "satisfy regular expression pattern: [\\w+=,.@-]*"));
        }
    }
    let raw_duration = params.get("DurationSeconds");
    let mut duration_secs = DEFAULT_DURATION_SECS;
    if let Some(d) = &raw_duration {
        match d.trim().parse::<i64>() {
            Ok(n) if n < MIN_DURATION_SECS as i64 => {
                errors.push(constraint(d, "durationSeconds", &format!("have value greater than or equal to {MIN_DURATION_SECS}")))
            }
            Ok(n) if n > MAX_DURATION_SECS as i64 => {
                errors.push(constraint(d, "durationSeconds", &format!("have value less than or equal to {MAX_DURATION_SECS}")))
            }
            Ok(n) => duration_secs = n.unsigned_abs(),
            Err(_) => errors.push(constraint(d, "durationSeconds", "be an integer")),
        }
    }
    if let Some(t) = token {
        check_length(&mut errors, t, "webIdentityToken", 1, MAX_WEB_IDENTITY_TOKEN_LEN);
    }
    if !errors.is_empty() {
        let n = errors.len();
        let plural = if n == 1 { "" } else { "s" };
        return Err(validation_error(format!("{n} validation error{plural} detected: {}", errors.join("; "))));
    }
    let (Some(role_arn), Some(session_name)) = (role_arn, session) else {
        return Err(validation_error("Request ARN is invalid"));
    };
    let arn = parse_role_arn(&role_arn).ok_or_else(|| validation_error("Request ARN is invalid"))?;
    Ok(Request { arn, session_name, duration_secs, explicit_duration: raw_duration.is_some() })
}

fn credentials_xml(c: &IssuedCredentials) -> String {
    format!(
        "    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n",
        xml_escape(&c.access_key_id),
        xml_escape(&c.secret_access_key),
        xml_escape(&c.session_token),
        rfc3339_seconds(c.expiration)
    )
}

fn assumed_role_user_xml(s: &RoleSession) -> String {
    format!(
        "    <AssumedRoleUser>\n      <Arn>{}</Arn>\n      <AssumedRoleId>{}</AssumedRoleId>\n    </AssumedRoleUser>\n",
        xml_escape(&s.arn()),
        xml_escape(&s.assumed_role_id())
    )
}

fn issue(shared: &Shared, req: &Request) -> (IssuedCredentials, RoleSession) {
    let session = RoleSession::new(&req.arn.partition, &req.arn.account, &req.arn.name, &req.session_name);
    let creds = shared.issue_session(session.clone(), Duration::from_secs(req.duration_secs));
    (creds, session)
}

/// `AssumeRole`, already verified as signed by `caller`.
pub(crate) fn assume_role(shared: &Shared, request_id: &str, params: &Params, caller: &Principal) -> Resp {
    let req = match check(params, None) {
        Ok(r) => r,
        Err(e) => return error_response(shared, request_id, e),
    };
    let chaining = !matches!(caller, Principal::StaticUser);
    if chaining && req.explicit_duration && req.duration_secs > CHAINED_MAX_DURATION_SECS {
        return error_response(shared, request_id, validation_error(CHAINING_LIMIT));
    }
    let (creds, session) = issue(shared, &req);
    shared.count(|s| {
        s.sts_ok += 1;
        s.sts_assume_role += 1;
    });
    let body = format!(
        "<AssumeRoleResponse xmlns=\"{NAMESPACE}\">\n  <AssumeRoleResult>\n{}{}  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n",
        credentials_xml(&creds),
        assumed_role_user_xml(&session)
    );
    xml_response(StatusCode::OK, request_id, body, "OK")
}

/// `AssumeRoleWithWebIdentity` (unsigned).
pub(crate) fn assume_role_with_web_identity(shared: &Shared, request_id: &str, params: &Params) -> Resp {
    let token = params.get("WebIdentityToken");
    let req = match check(params, Some(&token)) {
        Ok(r) => r,
        Err(e) => return error_response(shared, request_id, e),
    };
    let token = token.unwrap_or_default();
    if let Some(expected) = shared.sources.web_identity_token() {
        if !crate::sigv4::constant_time_eq(token.as_bytes(), expected.as_bytes()) {
            let err = StsError::new(StatusCode::BAD_REQUEST, "InvalidIdentityToken", INVALID_IDENTITY_TOKEN);
            return error_response(shared, request_id, err);
        }
    }
    let claims = jwt_claims(&token);
    let (creds, session) = issue(shared, &req);
    shared.count(|s| {
        s.sts_ok += 1;
        s.sts_assume_role_with_web_identity += 1;
    });
    let subject = claims.subject.unwrap_or_else(|| DEFAULT_SUBJECT.to_string());
    let audience = claims.audience.map(|a| format!("    <Audience>{}</Audience>\n", xml_escape(&a))).unwrap_or_default();
    let provider = claims.issuer.map(|p| format!("    <Provider>{}</Provider>\n", xml_escape(&p))).unwrap_or_default();
    let body = format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{NAMESPACE}\">\n  <AssumeRoleWithWebIdentityResult>\n    <SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken>\n{audience}{}{}{provider}  </AssumeRoleWithWebIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleWithWebIdentityResponse>\n",
        xml_escape(&subject),
        credentials_xml(&creds),
        assumed_role_user_xml(&session)
    );
    xml_response(StatusCode::OK, request_id, body, "OK")
}

/// The claims of a JWT the response echoes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct JwtClaims {
    pub subject: Option<String>,
    pub audience: Option<String>,
    pub issuer: Option<String>,
}

/// Reads `sub`, `aud` (a string or the first string of an array) and `iss` from a JWT's payload,
/// without checking anything; a token that is not a JWT gives no claims.
pub fn jwt_claims(token: &str) -> JwtClaims {
    let parts: Vec<&str> = token.split('.').collect();
    let [_, payload, _] = parts.as_slice() else {
        return JwtClaims::default();
    };
    let Some(json) = base64url_decode(payload).and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok()) else {
        return JwtClaims::default();
    };
    let text = |v: &serde_json::Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    JwtClaims {
        subject: json.get("sub").and_then(text),
        audience: json.get("aud").and_then(|a| text(a).or_else(|| a.as_array().and_then(|arr| arr.iter().find_map(text)))),
        issuer: json.get("iss").and_then(text),
    }
}

/// Decodes base64url (or standard base64), padding optional (trailing `=`s are ignored), as JWT
/// segments need. `None` when the text is not base64.
pub fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    // Lenient like the JWT readers: no padding required, unused trailing bits ignored.
    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::RequireNone).with_decode_allow_trailing_bits(true);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
    let s = s.trim_end_matches('=');
    URL_SAFE.decode(s).or_else(|_| STANDARD.decode(s)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        let a = parse_role_arn("arn:aws:iam::123456789012:role/app").expect("valid");
        assert_eq!(a, RoleArn { partition: "aws".into(), account: "123456789012".into(), name: "app".into() });
        let a = parse_role_arn("arn:aws-cn:iam::210987654321:role/a/b/svc-role@x").expect("path");
        assert_eq!((a.partition.as_str(), a.name.as_str()), ("aws-cn", "svc-role@x"));
        for bad in [
            "",
            "arn:aws:iam::123456789012:user/app",
            "arn:aws:iam::12345678901:role/app",
            "arn:aws:iam:us-east-1:123456789012:role/app",
            "arn:aws:sts::123456789012:role/app",
            "arn:AWS:iam::123456789012:role/app",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/a b",
            "arn:aws:iam::123456789012:role/p/",
            "xrn:aws:iam::123456789012:role/app",
            "arn:aws:iam::123456789012",
        ] {
            assert_eq!(parse_role_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn jwt_and_base64() {
        assert_eq!(base64url_decode("eyJzdWIiOiJ4In0").as_deref(), Some(&b"{\"sub\":\"x\"}"[..]));
        assert_eq!(base64url_decode("eyJzdWIiOiJ4In0=").as_deref(), Some(&b"{\"sub\":\"x\"}"[..]));
        assert_eq!(base64url_decode("a*b"), None);
        assert_eq!(base64url_decode("").as_deref(), Some(&b""[..]));
        assert_eq!(base64url_decode("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(base64url_decode("+/8=").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(base64url_decode("eR").as_deref(), Some(&b"y"[..])); // unused trailing bits ignored
                                                                        // {"sub":"system:serviceaccount:ns:sa","aud":["sts.amazonaws.com"],"iss":"https://oidc.example"}
        let payload = "eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bnM6c2EiLCJhdWQiOlsic3RzLmFtYXpvbmF3cy5jb20iXSwiaXNzIjoiaHR0cHM6Ly9vaWRjLmV4YW1wbGUifQ";
        let c = jwt_claims(&format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln"));
        assert_eq!(c.subject.as_deref(), Some("system:serviceaccount:ns:sa"));
        assert_eq!(c.audience.as_deref(), Some("sts.amazonaws.com"));
        assert_eq!(c.issuer.as_deref(), Some("https://oidc.example"));
        for not_jwt in ["", "abc", "a.b", "a.!!.c", "a.eyJ4IjoxfQ.c", "a.b.c.d"] {
            assert_eq!(jwt_claims(not_jwt).subject, None, "{not_jwt}");
        }
    }

    #[test]
    fn shown_values_are_bounded() {
        assert_eq!(shown("abc"), "abc");
        assert_eq!(shown(&"é".repeat(300)).chars().count(), 131);
    }
}
