//! Test helpers: an HTTP client that never uses a proxy, and a SigV4 signer written independently
//! of the crate's `sigv4` module (checked against the AWS documentation example below).

use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(20)).build().expect("client")
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    /// The text of `<Code>` in an STS error.
    pub fn code(&self) -> String {
        between(&self.body, "<Code>", "</Code>").unwrap_or_default()
    }
    pub fn message(&self) -> String {
        between(&self.body, "<Message>", "</Message>").unwrap_or_default()
    }
}

/// Undoes the simulator's XML escaping.
pub fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

pub fn between(s: &str, a: &str, b: &str) -> Option<String> {
    let start = s.find(a)? + a.len();
    let end = s[start..].find(b)? + start;
    Some(s[start..end].to_string())
}

pub async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body");
    Reply { status, headers, body }
}

pub async fn send(req: reqwest::RequestBuilder) -> Reply {
    reply(req.send().await.expect("request")).await
}

pub async fn imds_token(c: &reqwest::Client, base: &str, ttl: u32) -> String {
    let r = send(c.put(format!("{base}/latest/api/token")).header("X-aws-ec2-metadata-token-ttl-seconds", ttl.to_string())).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

pub async fn imds_get(c: &reqwest::Client, base: &str, token: &str, path: &str) -> Reply {
    send(c.get(format!("{base}{path}")).header("X-aws-ec2-metadata-token", token)).await
}

#[derive(Clone, Debug)]
pub struct Creds {
    pub akid: String,
    pub secret: String,
    pub token: String,
}

/// Fetches credentials over IMDS (token + role list + role).
pub async fn fetch_creds(c: &reqwest::Client, base: &str) -> (Creds, serde_json::Value) {
    let token = imds_token(c, base, 21600).await;
    let role = imds_get(c, base, &token, "/latest/meta-data/iam/security-credentials/").await;
    assert_eq!(role.status, 200);
    let doc = imds_get(c, base, &token, &format!("/latest/meta-data/iam/security-credentials/{}", role.body)).await;
    assert_eq!(doc.status, 200, "{}", doc.body);
    let v = doc.json();
    let s = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("{k} missing")).to_string();
    (Creds { akid: s("AccessKeyId"), secret: s("SecretAccessKey"), token: s("Token") }, v)
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k = hmac(format!("AWS4{secret}").as_bytes(), date);
    let k = hmac(&k, region);
    let k = hmac(&k, service);
    hmac(&k, "aws4_request")
}

/// The `Authorization` value for a request. `headers` are the headers to sign, any case, values as
/// sent; `query` must already be canonical (sorted, encoded) — the tests only use simple queries.
#[allow(clippy::too_many_arguments)]
pub fn authorization(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
    akid: &str,
    secret: &str,
    region: &str,
    service: &str,
    amz_date: &str,
) -> String {
    let mut h: Vec<(String, String)> =
        headers.iter().map(|(k, v)| (k.to_lowercase(), v.split_whitespace().collect::<Vec<_>>().join(" "))).collect();
    h.sort();
    let canonical_headers: String = h.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed: Vec<&str> = h.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let creq = format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{}", sha_hex(body));
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let sts = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", sha_hex(creq.as_bytes()));
    let sig = hex::encode(hmac(&signing_key(secret, date, region, service), &sts));
    format!("AWS4-HMAC-SHA256 Credential={akid}/{scope}, SignedHeaders={signed}, Signature={sig}")
}

pub fn amz_date_of(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", dt.year(), u8::from(dt.month()), dt.day(), dt.hour(), dt.minute(), dt.second())
}

pub const GCI_BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// A signed STS request, ready to send (and to tamper with).
pub struct StsCall {
    pub method: String,
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl StsCall {
    /// Signs a form-encoded `POST /` with this body, now.
    pub fn form(port: u16, creds: &Creds, body: &str) -> StsCall {
        StsCall::signed(port, creds, &now_amz_date(), "POST", "", body.as_bytes(), "sts")
    }

    /// Signs `GetCallerIdentity` like the AWS SDK for Java v2: form body, signed content-type,
    /// content-length, host, x-amz-date, x-amz-security-token, amz-sdk-* headers.
    pub fn get_caller_identity(port: u16, creds: &Creds, amz_date: &str) -> StsCall {
        StsCall::signed(port, creds, amz_date, "POST", "", GCI_BODY.as_bytes(), "sts")
    }

    #[allow(clippy::too_many_arguments)]
    pub fn signed(port: u16, creds: &Creds, amz_date: &str, method: &str, query: &str, body: &[u8], service: &str) -> StsCall {
        let mut headers = vec![
            ("Host".to_string(), format!("127.0.0.1:{port}")),
            ("X-Amz-Date".to_string(), amz_date.to_string()),
            ("amz-sdk-invocation-id".to_string(), "d1e7e4b1-0b2a-4c3d-9e8f-0a1b2c3d4e5f".to_string()),
            ("amz-sdk-request".to_string(), "attempt=1; max=4".to_string()),
        ];
        // Long-term (static) keys have no session token.
        if !creds.token.is_empty() {
            headers.push(("X-Amz-Security-Token".to_string(), creds.token.clone()));
        }
        if !body.is_empty() {
            headers.push(("Content-Type".to_string(), "application/x-www-form-urlencoded; charset=utf-8".to_string()));
            headers.push(("Content-Length".to_string(), body.len().to_string()));
        }
        let auth = authorization(method, "/", query, &headers, body, &creds.akid, &creds.secret, "us-east-1", service, amz_date);
        headers.push(("Authorization".to_string(), auth));
        let path_and_query = if query.is_empty() { "/".to_string() } else { format!("/?{query}") };
        StsCall { method: method.to_string(), path_and_query, headers, body: body.to_vec() }
    }

    /// Signs an SQS JSON 1.0 call like the AWS SDK for Java v2: `POST /` with `X-Amz-Target`,
    /// `Content-Type: application/x-amz-json-1.0` and `x-amzn-query-mode` signed, for `service`
    /// (`sqs`, or another to test the scope check).
    pub fn sqs(port: u16, creds: &Creds, amz_date: &str, target: &str, body: &str, service: &str) -> StsCall {
        let mut headers = vec![
            ("Host".to_string(), format!("127.0.0.1:{port}")),
            ("X-Amz-Date".to_string(), amz_date.to_string()),
            ("X-Amz-Target".to_string(), target.to_string()),
            ("Content-Type".to_string(), "application/x-amz-json-1.0".to_string()),
            ("x-amzn-query-mode".to_string(), "true".to_string()),
            ("amz-sdk-invocation-id".to_string(), "0f5c7a0e-3b1d-4e6f-8a9b-1c2d3e4f5a6b".to_string()),
            ("amz-sdk-request".to_string(), "attempt=1; max=4".to_string()),
        ];
        if !creds.token.is_empty() {
            headers.push(("X-Amz-Security-Token".to_string(), creds.token.clone()));
        }
        // An empty body goes without a Content-Length header.
        if !body.is_empty() {
            headers.push(("Content-Length".to_string(), body.len().to_string()));
        }
        let auth = authorization("POST", "/", "", &headers, body.as_bytes(), &creds.akid, &creds.secret, "us-east-1", service, amz_date);
        headers.push(("Authorization".to_string(), auth));
        StsCall { method: "POST".to_string(), path_and_query: "/".to_string(), headers, body: body.as_bytes().to_vec() }
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    pub async fn send(&self, c: &reqwest::Client, base: &str) -> Reply {
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).expect("method");
        let mut req = c.request(method, format!("{base}{}", self.path_and_query));
        for (k, v) in &self.headers {
            if !k.eq_ignore_ascii_case("content-length") {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        send(req.body(self.body.clone())).await
    }
}

/// `application/x-www-form-urlencoded` encoding of `pairs`, as the SDKs send it.
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect::<String>()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// The credentials in an `AssumeRole*` answer.
pub fn creds_from_xml(body: &str) -> Creds {
    let get = |tag: &str| between(body, &format!("<{tag}>"), &format!("</{tag}>")).unwrap_or_else(|| panic!("no <{tag}> in {body}"));
    Creds { akid: get("AccessKeyId"), secret: get("SecretAccessKey"), token: get("SessionToken") }
}

/// The built-in static key pair (no session token).
pub fn static_creds() -> Creds {
    Creds { akid: "AKIASIMSTATIC0000001".to_string(), secret: "simStaticSecretKey0000000000000000000001".to_string(), token: String::new() }
}

/// Milliseconds since the epoch of an RFC 3339 time.
pub fn rfc3339_millis(s: &str) -> i64 {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap_or_else(|e| panic!("{s}: {e}"));
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn epoch_millis(t: SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH).expect("after epoch").as_millis() as i64
}

/// Sends `GetCallerIdentity` signed with `creds`.
pub async fn caller_identity(c: &reqwest::Client, base: &str, port: u16, creds: &Creds) -> Reply {
    StsCall::get_caller_identity(port, creds, &now_amz_date()).send(c, base).await
}

pub fn now_amz_date() -> String {
    amz_date_of(SystemTime::now())
}

/// The AWS SigV4 documentation's worked example (IAM ListUsers), to validate this signer. The
/// vector is the crate's own copy, which its verifier checks too; nothing is sent anywhere.
#[test]
fn signer_matches_aws_documentation_example() {
    use freshcreds_sim::sigv4::documentation_example as ex;
    assert_eq!(hex::encode(signing_key(ex::SECRET_ACCESS_KEY, ex::DATE, ex::REGION, ex::SERVICE)), ex::SIGNING_KEY_HEX);
    let headers = vec![
        ("Content-Type".to_string(), ex::CONTENT_TYPE.to_string()),
        ("Host".to_string(), ex::HOST.to_string()),
        ("X-Amz-Date".to_string(), ex::AMZ_DATE.to_string()),
    ];
    let auth = authorization(
        "GET",
        "/",
        ex::QUERY,
        &headers,
        b"",
        ex::ACCESS_KEY_ID,
        ex::SECRET_ACCESS_KEY,
        ex::REGION,
        ex::SERVICE,
        ex::AMZ_DATE,
    );
    assert_eq!(
        auth,
        format!(
            "AWS4-HMAC-SHA256 Credential={}/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={}",
            ex::ACCESS_KEY_ID,
            ex::SIGNATURE
        )
    );
}
