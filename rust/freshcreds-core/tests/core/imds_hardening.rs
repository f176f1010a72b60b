//! The IMDS client against misbehaving endpoints, all on 127.0.0.1: a token PUT answered 401,
//! redirects, proxy variables in the (injected) environment, and bodies at and over the size
//! limit with and without `Content-Length`. The endpoints are the in-process simulator or tiny
//! HTTP/1.1 servers started by each test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use freshcreds_core::cache::ProvideCredentials;
use freshcreds_core::clock::{Clock, SystemClock};
use freshcreds_core::env::{self, Env};
use freshcreds_core::imds::client::MAX_BODY_BYTES;
use freshcreds_core::imds::{ImdsClient, ImdsCredentialsProvider};
use freshcreds_core::CredentialsError;
use freshcreds_sim::{SimConfig, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as a [`Loopback`] server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    /// Lower-case names.
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A throwaway HTTP/1.1 server on 127.0.0.1 that answers each request with the raw bytes its
/// handler returns, closes the connection, and records what it saw.
struct Loopback {
    port: u16,
    connections: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Loopback {
    async fn start(handler: impl Fn(&Seen) -> Vec<u8> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("addr").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let task = {
            let (connections, seen) = (connections.clone(), seen.clone());
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    connections.fetch_add(1, Ordering::SeqCst);
                    let (seen, handler) = (seen.clone(), handler.clone());
                    tokio::spawn(async move {
                        let mut head = Vec::new();
                        let mut buf = [0u8; 1024];
                        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                            match stream.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => head.extend_from_slice(&buf[..n]),
                            }
                        }
                        let text = String::from_utf8_lossy(&head).to_string();
                        let mut lines = text.split("\r\n");
                        let mut request_line = lines.next().unwrap_or_default().split(' ');
                        let method = request_line.next().unwrap_or_default().to_string();
                        let path = request_line.next().unwrap_or_default().to_string();
                        let headers = lines
                            .take_while(|l| !l.is_empty())
                            .filter_map(|l| l.split_once(':'))
                            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                            .collect();
                        let request = Seen { method, path, headers };
                        let answer = handler(&request);
                        seen.lock().expect("lock").push(request);
                        let _ = stream.write_all(&answer).await;
                        let _ = stream.shutdown().await;
                    });
                }
            })
        };
        Self { port, connections, seen, task }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn with_length(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let length = body.len().to_string();
    let mut all = headers.to_vec();
    all.push(("Content-Length", &length));
    answer(status, &all, body)
}

/// `body` in `Transfer-Encoding: chunked`, in chunks of at most `chunk` bytes: no `Content-Length`.
fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = answer("200 OK", &[("Transfer-Encoding", "chunked")], b"");
    for piece in body.chunks(chunk) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

const TOKEN: &str = "AQAEAIMDS-SESSION-TOKEN-THAT-MUST-STAY-HOME-0000000000000";

fn client(endpoint: &str, env: Env, max_attempts: u32) -> ImdsClient {
    ImdsClient::builder()
        .env(env)
        .endpoint(endpoint)
        .max_attempts(max_attempts)
        .attempt_timeout(Duration::from_secs(2))
        .build(Arc::new(SystemClock))
        .expect("valid client")
}

/// Before the fix a 401 on the PUT fell through to "retry" without counting, with the token
/// mutex held: the call never returned and every other caller queued behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_on_the_token_put_is_retried_within_the_budget_then_names_the_endpoint() {
    let sim = Simulator::start(SimConfig::default()).await.expect("simulator");
    sim.faults().set_imds_status_override(Some(401));
    for max_attempts in [1u32, 4] {
        sim.reset_stats();
        let client = Arc::new(client(&sim.base_url(), Env::empty(), max_attempts));
        // A second caller queued on the token mutex must be released as well.
        let other = {
            let client = client.clone();
            tokio::spawn(async move { client.get("/latest/meta-data/instance-id", "the instance id").await })
        };
        let started = Instant::now();
        let result =
            tokio::time::timeout(Duration::from_secs(20), client.get("/latest/meta-data/iam/security-credentials/", "the IAM role list"))
                .await;
        let error = result.expect("returns within the attempt budget instead of retrying forever").expect_err("401");
        let elapsed = started.elapsed();
        match &error {
            CredentialsError::ImdsHttpStatus { status: 401, attempts, .. } => assert_eq!(*attempts, max_attempts),
            other => panic!("unexpected {other:?}"),
        }
        let message = error.to_string();
        assert!(message.contains(&sim.base_url()), "names the endpoint: {message}");
        assert!(message.contains("401") && message.contains("session token"), "{message}");
        let other = tokio::time::timeout(Duration::from_secs(20), other).await.expect("the queued caller is released").expect("task");
        assert!(other.is_err());
        // Two callers, one after the other on the token mutex, each exactly `max_attempts` PUTs.
        let stats = sim.stats();
        assert_eq!(stats.token_puts, u64::from(max_attempts) * 2, "PUTs for max_attempts {max_attempts}");
        assert_eq!(stats.imds_gets, 0, "no metadata GET without a token");
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    }
    // One caller alone: exactly max_attempts PUTs.
    sim.reset_stats();
    let client = client(&sim.base_url(), Env::empty(), 3);
    let error = client.get("/latest/meta-data/instance-id", "the instance id").await.expect_err("401");
    assert!(matches!(error, CredentialsError::ImdsHttpStatus { status: 401, attempts: 3, .. }), "{error:?}");
    assert_eq!(sim.stats().token_puts, 3);
    assert_eq!(client.stats().token_requests, 3);
    assert_eq!(client.stats().retries, 2);
}

/// hyper does not follow redirects and the client must not either: a 3xx from the IMDS address
/// would otherwise hand the session token (and the credentials request) to another host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_not_followed_and_the_token_never_reaches_its_target() {
    let elsewhere = Loopback::start(|_| with_length("200 OK", &[], b"should never be asked")).await;
    for status in ["301 Moved Permanently", "302 Found", "303 See Other", "307 Temporary Redirect", "308 Permanent Redirect"] {
        let location = format!("{}/latest/meta-data/iam/security-credentials/", elsewhere.url());
        let imds = Loopback::start(move |req| {
            if req.method == "PUT" {
                with_length("200 OK", &[("x-aws-ec2-metadata-token-ttl-seconds", "21600")], TOKEN.as_bytes())
            } else {
                with_length(status, &[("Location", &location)], b"")
            }
        })
        .await;
        let provider = ImdsCredentialsProvider::builder().build(Arc::new(client(&imds.url(), Env::empty(), 3))).expect("valid provider");
        let error = provider.provide_credentials().await.expect_err("a redirect is an error");
        let code: u16 = status[..3].parse().expect("code");
        assert!(matches!(error, CredentialsError::ImdsHttpStatus { status: s, .. } if s == code), "{status}: {error:?}");
        let message = error.to_string();
        assert!(message.contains(&format!("HTTP {code}")), "names the status: {message}");
        assert!(!message.contains(TOKEN), "{message}");
        let seen = imds.seen();
        assert!(seen.iter().any(|r| r.method == "GET" && r.header("x-aws-ec2-metadata-token") == Some(TOKEN)), "{seen:?}");
        assert_eq!(seen.iter().filter(|r| r.method == "GET").count(), 1, "a redirect is not retried: {seen:?}");
        assert!(seen.iter().all(|r| r.path.starts_with("/latest/")), "{seen:?}");
    }
    // And a redirect of the token PUT itself.
    let location = format!("{}/latest/api/token", elsewhere.url());
    let imds = Loopback::start(move |_| with_length("302 Found", &[("Location", &location)], b"")).await;
    let error = client(&imds.url(), Env::empty(), 3).get("/latest/meta-data/instance-id", "the instance id").await.expect_err("302");
    assert!(matches!(error, CredentialsError::ImdsHttpStatus { status: 302, attempts: 1, .. }), "{error:?}");
    assert!(error.to_string().contains("HTTP 302"), "{error}");
    assert_eq!(elsewhere.connections(), 0, "the redirect target was contacted: {:?}", elsewhere.seen());
}

/// Proxy variables, in every spelling, in the environment the client is given: IMDS must be
/// reached directly (a proxy would cache it, answer for it, or see the token).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_variables_in_the_injected_environment_are_ignored() {
    let sim = Simulator::start(SimConfig::default()).await.expect("simulator");
    let trap = Loopback::start(|_| with_length("502 Bad Gateway", &[], b"proxy")).await;
    let proxy = trap.url();
    let env = {
        let proxy = proxy.clone();
        Env::from_fn(move |name| env::PROXY_VARIABLES.contains(&name).then(|| proxy.clone()))
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let client = ImdsClient::builder().env(env).endpoint(sim.base_url()).build(clock).expect("valid");
    let provider = ImdsCredentialsProvider::builder().build(Arc::new(client)).expect("provider");
    let credentials = provider.provide_credentials().await.expect("credentials straight from the simulator");
    assert_eq!(credentials.access_key_id(), sim.current_credentials().access_key_id);
    assert_eq!(sim.stats().credential_gets, 1);
    assert_eq!(trap.connections(), 0, "the proxy was used: {:?}", trap.seen());
}

/// Bodies up to [`MAX_BODY_BYTES`] are read whole, with `Content-Length` (one allocation of that
/// size), chunked or delimited by the connection's end (grown by hand); one byte more is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_up_to_the_limit_are_read_with_or_without_a_length_and_larger_ones_refused() {
    let body_of = |len: usize| -> Vec<u8> { (0..len).map(|i| b'a' + (i % 26) as u8).collect() };
    type Framing = fn(&[u8]) -> Vec<u8>;
    let framings: [(&str, Framing); 4] = [
        ("Content-Length", |b| with_length("200 OK", &[], b)),
        ("chunked, 1000-byte chunks", |b| chunked(b, 1000)),
        ("chunked, one chunk", |b| chunked(b, usize::MAX)),
        ("until the connection closes", |b| answer("200 OK", &[], b)),
    ];
    for (name, framing) in framings {
        for len in [0, 1, 1500, 5000, MAX_BODY_BYTES - 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1, 3 * MAX_BODY_BYTES] {
            let body = body_of(len);
            let imds =
                Loopback::start(
                    move |req| {
                        if req.method == "PUT" {
                            with_length("200 OK", &[], TOKEN.as_bytes())
                        } else {
                            framing(&body_of(len))
                        }
                    },
                )
                .await;
            let result = client(&imds.url(), Env::empty(), 1).get("/latest/meta-data/anything", "the test body").await;
            if len <= MAX_BODY_BYTES {
                let text = result.unwrap_or_else(|e| panic!("{name}, {len} bytes: {e}"));
                assert_eq!(text.as_bytes(), &body[..], "{name}, {len} bytes");
            } else {
                let error = result.expect_err("too large");
                assert!(matches!(error, CredentialsError::InvalidResponse { .. }), "{name}, {len} bytes: {error:?}");
                assert!(error.to_string().contains("larger than 64 KiB"), "{name}, {len} bytes: {error}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_utf8_is_an_error_without_its_content() {
    let imds = Loopback::start(|req| {
        if req.method == "PUT" {
            with_length("200 OK", &[], TOKEN.as_bytes())
        } else {
            with_length("200 OK", &[], b"SECRET-\xff\xfe")
        }
    })
    .await;
    let error = client(&imds.url(), Env::empty(), 1).get("/latest/meta-data/anything", "the test body").await.expect_err("not UTF-8");
    let message = error.to_string();
    assert!(message.contains("not UTF-8"), "{message}");
    assert!(!message.contains("SECRET"), "{message}");
}
