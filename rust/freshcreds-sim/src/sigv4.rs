//! AWS Signature Version 4 building blocks, used by the STS and SQS endpoints to verify requests
//! (`verify` in [`crate::sts`]).
//!
//! This verifier is written independently of the signers in the AWS SDKs (`aws-sigv4` and the
//! Java SDKs' `Aws4Signer` / `AwsV4HttpSigner`), on purpose, and must stay so: do not replace it
//! with, or derive it from, an SDK's signing code. The simulator exists to check requests that the
//! SDKs sign; a verifier that shares the signer's code shares its bugs — a wrong canonical
//! query, header or path would be computed identically on both sides and the signatures would
//! still match — while an independent implementation, pinned to the AWS documentation's worked
//! examples in the tests below, rejects the request and exposes the bug. Only generic primitives
//! come from crates (HMAC, SHA-256, hex, percent-encoding with the encode set defined here).
//!
//! * canonical request = `method \n canonical URI \n canonical query \n canonical headers \n
//!   signed headers \n payload hash`, where the canonical URI is the RFC 3986 encoding of the path
//!   as received (`/` when empty; non-S3 services double-encode, which is what encoding the
//!   received, already-encoded path does), the canonical query is the decoded-then-re-encoded
//!   parameters sorted by name then value, and each canonical header is
//!   `lowercase-name:value` with the value trimmed and inner whitespace runs collapsed to one space
//!   (repeated headers joined with `,`), each followed by `\n`;
//! * string to sign = `AWS4-HMAC-SHA256 \n X-Amz-Date \n date/region/service/aws4_request \n
//!   hex(sha256(canonical request))`;
//! * signing key = HMAC-SHA256 chain over `"AWS4" + secret`, date, region, service,
//!   `aws4_request`; signature = hex(HMAC(signing key, string to sign)).
//!
//! Everything here is a pure function of its inputs and never panics on malformed input.

use hmac::{Hmac, Mac};
use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// A parsed `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    /// `YYYYMMDD` from the credential scope.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Should be `aws4_request`.
    pub terminator: String,
    /// The `SignedHeaders` value exactly as sent (`a;b;c`).
    pub signed_headers: String,
    /// Lowercase hex.
    pub signature: String,
}

impl Authorization {
    /// `date/region/service/terminator`.
    pub fn scope(&self) -> String {
        format!("{}/{}/{}/{}", self.date, self.region, self.service, self.terminator)
    }

    /// The signed header names, in the order sent.
    pub fn signed_header_names(&self) -> impl Iterator<Item = &str> {
        self.signed_headers.split(';')
    }
}

/// Parses an `Authorization` header value. The error is an AWS-style `IncompleteSignature` message.
pub fn parse_authorization(value: &str) -> Result<Authorization, String> {
    let value = value.trim();
    let (algorithm, rest) = match value.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((a, r)) => (a, r.trim()),
        None => (value, ""),
    };
    if algorithm != ALGORITHM {
        return Err(format!("Unsupported AWS 'algorithm': '{}'.", truncate(algorithm, 40)));
    }
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((key, val)) = part.split_once('=') else {
            return Err(format!(
                "Authorization header requires each component to be of the form key=value. '{}' is not.",
                truncate(part, 40)
            ));
        };
        let slot = match key.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_some() {
            return Err(format!("Authorization header has a duplicate '{}' component.", key.trim()));
        }
        *slot = Some(val.trim().to_string());
    }
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("Authorization header requires 'Credential' parameter.");
    }
    if signature.is_none() {
        missing.push("Authorization header requires 'Signature' parameter.");
    }
    if signed_headers.is_none() {
        missing.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    let (Some(credential), Some(signed_headers), Some(signature)) = (credential, signed_headers, signature) else {
        return Err(missing.join(" "));
    };
    let parts: Vec<&str> = credential.split('/').collect();
    let [akid, date, region, service, terminator] = parts.as_slice() else {
        return Err(format!("Credential should have exactly 5 slash-separated components, found {}.", parts.len()));
    };
    if akid.is_empty() || date.is_empty() || region.is_empty() || service.is_empty() {
        return Err("Credential has an empty component.".to_string());
    }
    if signed_headers.is_empty() || signed_headers.split(';').any(|h| h.is_empty()) {
        return Err("Authorization header has an empty 'SignedHeaders' entry.".to_string());
    }
    if signature.is_empty() {
        return Err("Authorization header has an empty 'Signature'.".to_string());
    }
    Ok(Authorization {
        access_key_id: akid.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        terminator: terminator.to_string(),
        signed_headers,
        signature: signature.to_ascii_lowercase(),
    })
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// HMAC-SHA256.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this constructor cannot fail; should it ever, an all-zero
    // MAC simply never verifies, which is safer than a panic.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return [0u8; 32];
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The SigV4 signing key for a secret and scope.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// The bytes RFC 3986 (and SigV4) leaves unencoded: `A-Z a-z 0-9 - _ . ~`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// [`UNRESERVED`] and `/`, for paths.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// RFC 3986 encoding: every byte except `A-Z a-z 0-9 - _ . ~` (and `/` when `keep_slash`) becomes
/// `%XX` with uppercase hex.
pub fn uri_encode(input: &[u8], keep_slash: bool) -> String {
    percent_encode(input, if keep_slash { UNRESERVED_AND_SLASH } else { UNRESERVED }).to_string()
}

/// Decodes `%XX` escapes (malformed escapes are kept literally). `plus_as_space` is for form
/// bodies (a literal `+` is a space there; `%2B` stays a `+`).
pub fn percent_decode(input: &str, plus_as_space: bool) -> Vec<u8> {
    if plus_as_space {
        percent_encoding::percent_decode(input.replace('+', " ").as_bytes()).collect()
    } else {
        percent_encoding::percent_decode(input.as_bytes()).collect()
    }
}

/// Splits `a=1&b=2` into decoded pairs (a missing `=` gives an empty value; empty pieces are
/// skipped).
pub fn parse_pairs(input: &str, plus_as_space: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
    input
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, plus_as_space), percent_decode(v, plus_as_space))
        })
        .collect()
}

/// The canonical URI for a raw (as received) request path.
pub fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        "/".to_string()
    } else {
        uri_encode(raw_path.as_bytes(), true)
    }
}

/// The canonical query string for a raw query (without `?`).
pub fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> =
        parse_pairs(raw_query, false).into_iter().map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false))).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// Trims a header value and collapses inner runs of whitespace to a single space.
pub fn canonical_header_value(raw: &str) -> String {
    raw.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// Builds the canonical request. `headers` are `(lowercase name, canonical value)` for exactly the
/// signed headers, in signed-header order.
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &[(String, String)],
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    let mut s = String::new();
    s.push_str(method);
    s.push('\n');
    s.push_str(canonical_uri);
    s.push('\n');
    s.push_str(canonical_query);
    s.push('\n');
    for (name, value) in headers {
        s.push_str(name);
        s.push(':');
        s.push_str(value);
        s.push('\n');
    }
    s.push('\n');
    s.push_str(signed_headers);
    s.push('\n');
    s.push_str(payload_hash);
    s
}

/// The string to sign.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// Lowercase hex signature of a string to sign.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(signing_key, string_to_sign.as_bytes()))
}

/// Equality that does not stop at the first differing byte.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The worked example of the AWS SigV4 documentation (IAM `ListUsers`, 2015-08-30), written once
/// for the two signers that check themselves against it: this module's verifier and the tests'
/// independent signer. A published test vector only: nothing is ever sent to its host.
pub mod documentation_example {
    pub const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
    pub const SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    pub const AMZ_DATE: &str = "20150830T123600Z";
    pub const DATE: &str = "20150830";
    pub const REGION: &str = "us-east-1";
    pub const SERVICE: &str = "iam";
    /// The `Host` header the example signs.
    pub const HOST: &str = "iam.amazonaws.com";
    pub const QUERY: &str = "Action=ListUsers&Version=2010-05-08";
    pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
    pub const SIGNING_KEY_HEX: &str = "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9";
    pub const SIGNATURE: &str = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = documentation_example::SECRET_ACCESS_KEY;

    /// The worked example from the AWS SigV4 documentation (IAM ListUsers, 2015-08-30).
    #[test]
    fn aws_documentation_example() {
        use documentation_example as ex;
        let key = signing_key(ex::SECRET_ACCESS_KEY, ex::DATE, ex::REGION, ex::SERVICE);
        assert_eq!(hex::encode(key), ex::SIGNING_KEY_HEX);

        let headers = vec![
            ("content-type".to_string(), canonical_header_value(ex::CONTENT_TYPE)),
            ("host".to_string(), ex::HOST.to_string()),
            ("x-amz-date".to_string(), ex::AMZ_DATE.to_string()),
        ];
        let cr = canonical_request(
            "GET",
            &canonical_uri("/"),
            &canonical_query("Version=2010-05-08&Action=ListUsers"),
            &headers,
            "content-type;host;x-amz-date",
            &sha256_hex(b""),
        );
        assert_eq!(
            cr,
            format!(
                "GET\n/\n{}\ncontent-type:{}\nhost:{}\nx-amz-date:{}\n\ncontent-type;host;x-amz-date\n\
                 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                ex::QUERY,
                ex::CONTENT_TYPE,
                ex::HOST,
                ex::AMZ_DATE
            )
        );
        assert_eq!(sha256_hex(cr.as_bytes()), "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
        let sts = string_to_sign(ex::AMZ_DATE, "20150830/us-east-1/iam/aws4_request", &cr);
        assert_eq!(signature(&key, &sts), ex::SIGNATURE);
    }

    /// `get-vanilla` from the AWS SigV4 test suite.
    #[test]
    fn aws_test_suite_get_vanilla() {
        let headers =
            vec![("host".to_string(), "example.amazonaws.com".to_string()), ("x-amz-date".to_string(), "20150830T123600Z".to_string())];
        let cr = canonical_request("GET", "/", "", &headers, "host;x-amz-date", &sha256_hex(b""));
        let sts = string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", &cr);
        let key = signing_key(SECRET, "20150830", "us-east-1", "service");
        assert_eq!(signature(&key, &sts), "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    }

    #[test]
    fn parses_sdk_style_authorization() {
        let a = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20150830/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ABCDEF",
        )
        .expect("valid header");
        assert_eq!(a.access_key_id, "ASIAEXAMPLE");
        assert_eq!(a.scope(), "20150830/us-east-1/sts/aws4_request");
        assert_eq!(a.signed_header_names().collect::<Vec<_>>(), ["content-type", "host", "x-amz-date"]);
        assert_eq!(a.signature, "abcdef");
        // v1 SDK style, no spaces after commas
        assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/sts/aws4_request,SignedHeaders=host,Signature=00")
            .is_ok());
    }

    #[test]
    fn rejects_garbled_authorization() {
        for bad in [
            "",
            "Bearer x",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/sts/aws4_request",
            "AWS4-HMAC-SHA256 Credential=A/b/c, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/sts/aws4_request, SignedHeaders=host;;x, Signature=00",
            "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/sts/aws4_request, SignedHeaders, Signature=00",
            "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/sts/aws4_request, Credential=B/20150830/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=é/€/x/y/z, SignedHeaders=host, Signature=",
        ] {
            assert!(parse_authorization(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn encoding_and_decoding() {
        assert_eq!(uri_encode(b"a b/c~-_.*+", false), "a%20b%2Fc~-_.%2A%2B");
        assert_eq!(uri_encode(b"/a b/", true), "/a%20b/");
        assert_eq!(percent_decode("a%2Fb+c%zz%4", true), b"a/b c%zz%4");
        assert_eq!(percent_decode("%", false), b"%");
        assert_eq!(percent_decode("%4", false), b"%4");
        assert_eq!(percent_decode("%41", false), b"A");
        assert_eq!(percent_decode("a%2Bb+c", true), b"a+b c");
        assert_eq!(percent_decode("a+b%e2%82%AC", false), "a+b€".as_bytes());
        assert_eq!(uri_encode("é\u{0}%".as_bytes(), false), "%C3%A9%00%25");
        assert_eq!(canonical_query("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query("x=a%20b&y=a+b"), "x=a%20b&y=a%2Bb");
        assert_eq!(canonical_header_value("  a   b \t c  "), "a b c");
        assert_eq!(canonical_uri(""), "/");
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
