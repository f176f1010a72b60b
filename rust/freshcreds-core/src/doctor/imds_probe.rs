//! The IMDS checks, one request at a time so each step is reported on its own with its latency:
//! the token `PUT` (`imds.token`), the role list (`imds.role`), the credentials document
//! (`imds.credentials`), and a few spaced requests that count 429s (`imds.throttling`).
//!
//! A token `PUT` that times out while a tokenless `GET` to the same endpoint is answered (401 from
//! an IMDSv2-only instance, or 200) is the hop-limit symptom: the `PUT`'s answer is dropped one hop
//! short of a container. The credentials document is read for its `Code`, `LastUpdated` and
//! `Expiration` only; the keys in it are never kept or shown.

use std::time::{Duration, SystemTime};

use http::Method;
use serde_json::Value;

use super::Check;
use crate::clock::BootClock;
use crate::imds::client::{ImdsClient, ProbeError};
use crate::imds::credentials::ROLE_LIST_PATH;
use crate::imds::token::TOKEN_PATH;

/// What a tokenless GET asks for: any answer proves the endpoint is reached.
const PLAIN_GET_PATH: &str = "/latest/meta-data/";
/// The article's fix for a token PUT lost in a container.
pub const HOP_LIMIT_FIX: &str =
    "aws ec2 modify-instance-metadata-options --instance-id <instance-id> --http-put-response-hop-limit 2 --http-endpoint enabled";

/// The non-secret fields of a credentials document.
#[derive(Debug, Clone, Default)]
pub struct DocumentFields {
    pub code: Option<String>,
    pub last_updated: Option<SystemTime>,
    pub expiration: Option<SystemTime>,
}

/// What the probes found, for the later checks.
#[derive(Debug, Default)]
pub struct ImdsFindings {
    pub checks: Vec<Check>,
    pub token: Option<zeroize::Zeroizing<String>>,
    pub role: Option<String>,
    pub document: Option<DocumentFields>,
    /// 429s seen by the probes so far.
    pub throttled: u32,
    pub requests: u32,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One request, timed on the boot clock.
async fn timed(
    client: &ImdsClient,
    boot: &dyn BootClock,
    method: Method,
    path: &str,
    token: Option<&str>,
) -> (Result<zeroize::Zeroizing<String>, ProbeError>, u64) {
    let started = boot.since_boot();
    let result = client.probe(method, path, token).await;
    (result, millis(boot.since_boot().saturating_sub(started)))
}

/// The token, role list and credentials probes. `role` pins the role (the `roleName` option).
pub async fn probe(client: &ImdsClient, role: Option<&str>, container: Option<&str>, boot: &dyn BootClock) -> ImdsFindings {
    let mut found = ImdsFindings::default();
    let endpoint = client.endpoint().to_string();

    // 1. The token PUT.
    let (put, put_ms) = timed(client, boot, Method::PUT, TOKEN_PATH, None).await;
    found.requests += 1;
    let token = match put {
        Ok(token) => {
            found.checks.push(
                Check::pass("imds.token", format!("the IMDSv2 token PUT to {endpoint} answered in {put_ms} ms"))
                    .detail("latency_ms", put_ms),
            );
            token
        }
        Err(failure) => {
            let (get, get_ms) = timed(client, boot, Method::GET, PLAIN_GET_PATH, None).await;
            found.requests += 1;
            if matches!(failure, ProbeError::Status(429)) {
                found.throttled += 1;
            }
            found.checks.push(token_failure(&endpoint, &failure, put_ms, get, get_ms, container));
            return found;
        }
    };

    // 2. The role list (or the pinned role).
    let role = match role {
        Some(role) => role.to_string(),
        None => {
            let (list, list_ms) = timed(client, boot, Method::GET, ROLE_LIST_PATH, Some(&token)).await;
            found.requests += 1;
            match list {
                Ok(body) => match body.lines().next().map(str::trim).filter(|r| !r.is_empty()) {
                    Some(role) => {
                        found.checks.push(
                            Check::pass("imds.role", format!("the instance profile role is '{role}' (role list answered in {list_ms} ms)"))
                                .detail("role", role)
                                .detail("latency_ms", list_ms),
                        );
                        role.to_string()
                    }
                    None => {
                        found.checks.push(no_role_check("the role list is empty"));
                        found.token = Some(token);
                        return found;
                    }
                },
                Err(ProbeError::Status(404)) => {
                    found.checks.push(no_role_check("the role list answered 404"));
                    found.token = Some(token);
                    return found;
                }
                Err(failure) => {
                    if failure == ProbeError::Status(429) {
                        found.throttled += 1;
                    }
                    found.checks.push(request_failure("imds.role", "the role list", &failure, list_ms));
                    found.token = Some(token);
                    return found;
                }
            }
        }
    };
    found.role = Some(role.clone());

    // 3. The credentials document.
    let path = format!("{ROLE_LIST_PATH}{role}");
    let (doc, doc_ms) = timed(client, boot, Method::GET, &path, Some(&token)).await;
    found.requests += 1;
    match doc {
        Ok(body) => match document_fields(&body) {
            Ok(fields) => {
                found.checks.push(
                    Check::pass("imds.credentials", format!("the credentials of '{role}' answered in {doc_ms} ms")).detail("latency_ms", doc_ms),
                );
                found.document = Some(fields);
            }
            Err(problem) => found.checks.push(Check::fail(
                "imds.credentials",
                format!("the credentials document of '{role}' is not usable: {problem}"),
                "Something other than IMDS answers at this endpoint, or the role's credentials are broken: check the endpoint setting and the instance profile.",
            )),
        },
        Err(ProbeError::Status(404)) => found.checks.push(Check::fail(
            "imds.credentials",
            format!("IMDS has no credentials for the role '{role}' (404)"),
            "The roleName option names a role this instance does not have: remove it, or attach that role's instance profile.",
        )),
        Err(failure) => {
            if failure == ProbeError::Status(429) {
                found.throttled += 1;
            }
            found.checks.push(request_failure("imds.credentials", "the credentials", &failure, doc_ms));
        }
    }
    found.token = Some(token);
    found
}

fn no_role_check(what: &str) -> Check {
    Check::fail(
        "imds.role",
        format!("no instance profile is attached to this instance ({what})"),
        "Attach one: aws ec2 associate-iam-instance-profile --instance-id <instance-id> --iam-instance-profile Name=<profile>",
    )
}

fn request_failure(id: &'static str, what: &str, failure: &ProbeError, ms: u64) -> Check {
    match failure {
        ProbeError::Status(429) => Check::fail(
            id,
            format!("IMDS answered {what} with 429 Too Many Requests after {ms} ms: this instance is throttled"),
            "Find what else polls IMDS on this host (see imds.throttling) and make it cache credentials.",
        ),
        ProbeError::Status(status) => {
            Check::fail(id, format!("IMDS answered {what} with HTTP {status} after {ms} ms"), "Check what answers at the endpoint setting.")
        }
        ProbeError::Unreachable(detail) => {
            Check::fail(id, format!("{what} got no answer: {detail}"), "Check the endpoint setting and the instance's metadata options.")
        }
    }
    .detail("latency_ms", ms)
}

/// The token PUT failed: tell the hop limit from a blocked or absent IMDS by whether a plain GET
/// is answered.
fn token_failure(
    endpoint: &str,
    failure: &ProbeError,
    put_ms: u64,
    get: Result<zeroize::Zeroizing<String>, ProbeError>,
    get_ms: u64,
    container: Option<&str>,
) -> Check {
    let get_answered = match &get {
        Ok(_) => Some(200),
        Err(ProbeError::Status(s)) => Some(*s),
        Err(ProbeError::Unreachable(_)) => None,
    };
    let check = match (failure, get_answered) {
        (ProbeError::Unreachable(detail), Some(status)) => {
            let place = match container {
                Some(evidence) => format!("this process runs in a container ({evidence}), and "),
                None => String::new(),
            };
            Check::fail(
                "imds.token",
                format!(
                    "the IMDSv2 token PUT got no answer ({detail}) while a plain GET to {endpoint} answered HTTP {status} in {get_ms} ms: \
                     {place}the PUT's answer is dropped by the hop limit (IMDSv2 answers travel 1 hop by default)"
                ),
                format!("Raise the hop limit to 2: {HOP_LIMIT_FIX}"),
            )
            .detail("hop_limit_suspected", true)
        }
        (ProbeError::Status(403), _) => Check::fail(
            "imds.token",
            format!("the IMDSv2 token PUT to {endpoint} was refused (403): IMDS is disabled for this instance, or the request was forwarded"),
            "Enable it: aws ec2 modify-instance-metadata-options --instance-id <instance-id> --http-endpoint enabled",
        ),
        (ProbeError::Status(429), _) => Check::fail(
            "imds.token",
            format!("the IMDSv2 token PUT to {endpoint} was throttled (429)"),
            "Find what else polls IMDS on this host (see imds.throttling) and make it cache credentials.",
        ),
        (ProbeError::Status(status), _) => Check::fail(
            "imds.token",
            format!("the IMDSv2 token PUT to {endpoint} answered HTTP {status}"),
            "Something other than IMDS answers at this endpoint: check the endpoint setting and any proxy (proxy checks).",
        ),
        (ProbeError::Unreachable(detail), None) => Check::fail(
            "imds.token",
            format!("IMDS at {endpoint} does not answer ({detail}), nor does a plain GET"),
            "On EC2: check that the instance metadata service is enabled (aws ec2 describe-instances ... MetadataOptions) and that no firewall rule drops 169.254.169.254; off EC2 disable IMDS (AWS_EC2_METADATA_DISABLED=true).",
        ),
    };
    check.detail("put_latency_ms", put_ms).detail("get_status", get_answered).detail("container", container.map(str::to_string))
}

/// The non-secret fields of a credentials document; an error names what is wrong, never content.
fn document_fields(body: &str) -> Result<DocumentFields, String> {
    // The full parse checks the document the way the agent will; its result (with the keys) is
    // dropped at once.
    let parsed = crate::credentials_document::parse(body, "imds");
    let doc: Value = serde_json::from_str(body).map_err(|_| "the body is not JSON".to_string())?;
    let field = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_string);
    let time = |name: &str| {
        field(name).and_then(|t| time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()).map(SystemTime::from)
    };
    let fields = DocumentFields { code: field("Code"), last_updated: time("LastUpdated"), expiration: time("Expiration") };
    match parsed {
        Ok(_) => Ok(fields),
        // A non-Success Code is reported by the credentials check, with the Code itself.
        Err(_) if fields.code.as_deref().is_some_and(|c| c != "Success") => Ok(fields),
        Err(problem) => Err(problem),
    }
}

/// A few spaced role-list requests with the token found, counting 429s.
pub async fn throttling(client: &ImdsClient, found: &ImdsFindings, probes: u32, spacing: Duration, boot: &dyn BootClock) -> Check {
    let mut throttled = found.throttled;
    let mut requests = found.requests;
    // With a token, the role list; without one (the PUT failed), a plain GET: either way a 429
    // is IMDS throttling this instance.
    let (path, token) = match &found.token {
        Some(token) => (ROLE_LIST_PATH, Some(token.as_str())),
        None => (PLAIN_GET_PATH, None),
    };
    for i in 0..probes {
        if i > 0 {
            tokio::time::sleep(spacing).await;
        }
        let (result, _) = timed(client, boot, Method::GET, path, token).await;
        requests += 1;
        if matches!(result, Err(ProbeError::Status(429))) {
            throttled += 1;
        }
    }
    let stats = client.stats();
    let own = format!(
        "freshcreds' own requests: {} in this run; a running agent sends about 2 per refresh and one token PUT per 6 hours",
        stats.token_requests + stats.metadata_requests
    );
    let check = if throttled == 0 {
        Check::pass("imds.throttling", format!("no 429 in {requests} IMDS requests; {own}"))
    } else {
        Check::warn(
            "imds.throttling",
            format!("IMDS answered 429 to {throttled} of {requests} requests spaced {} ms apart; so few requests being throttled means other processes on this host are likely polling IMDS; {own}", millis(spacing)),
            "Find them (e.g. `sudo ss -tnp dst 169.254.169.254`) and make them cache credentials or share one freshcreds agent; IMDS throttles per instance.",
        )
    };
    check
        .detail("requests", requests)
        .detail("throttled", throttled)
        .detail("freshcreds_requests", stats.token_requests + stats.metadata_requests)
}
