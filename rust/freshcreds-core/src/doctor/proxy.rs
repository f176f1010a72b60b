//! `proxy.env` and `proxy.jvm`: would an HTTP proxy intercept requests to the instance metadata
//! service (IMDS, `http://169.254.169.254`, or `http://[fd00:ec2::254]` in IPv6 mode)?
//!
//! freshcreds' own IMDS client never uses a proxy, whatever these settings say; every finding
//! states it (and every check carries `"freshcreds_uses_proxy": false`). Other clients on the same
//! host do use one: curl, the AWS CLI and SDK clients read the proxy environment variables, JVM
//! HTTP clients read the JVM's proxy properties. A proxy that receives a metadata request answers
//! for its own host, or serves credentials from its cache after they expired: `403 ExpiredToken`.
//! These checks only inspect settings; they never contact any address.
//!
//! # `proxy.env`: the environment variables
//!
//! * Which variables apply. IMDS is plain `http`, so: `http_proxy` (curl reads only this
//!   lower-case name for http URLs, because a CGI request's `Proxy:` header arrives as
//!   `HTTP_PROXY`), `HTTP_PROXY` (the AWS CLI/botocore, Go, Python) and `all_proxy`/`ALL_PROXY`
//!   (curl's fallback). `HTTPS_PROXY`/`https_proxy` are for https URLs: set alone they pass, and
//!   the finding says they do not apply to IMDS. (Were the endpoint configured as https, the two
//!   families swap roles.)
//! * No applicable variable set: pass. One set and the IMDS host exempted: pass, naming the
//!   variable and the entry that exempts it. One set and not exempted: warn; the fix is the exact
//!   `export NO_PROXY=<existing>,<host>` and the same for `no_proxy` (the host without brackets:
//!   `fd00:ec2::254`; only the host when the list is empty), for each list that does not exempt it.
//! * Bypass lists: `no_proxy` and `NO_PROXY`. curl and Python read `no_proxy` first, Go reads
//!   `NO_PROXY` first, so the check passes only when every list that is set exempts the host (a
//!   list that does not would send some tools through the proxy); the entry named is from the first
//!   one set in curl's order, and the finding notes when the two differ.
//! * Entries are comma-separated, trimmed and case-insensitive:
//!   - `*` as the whole value exempts everything. As one entry among others it exempts nothing:
//!     curl and Python compare it as a name (only Go honours it there).
//!   - An address (IPv4, or IPv6 with or without brackets) matches the same address.
//!   - A CIDR (`169.254.0.0/16`, `fd00:ec2::/64`) matches the addresses inside it, as curl ≥ 7.86
//!     and Go do. Python's urllib compares names only; the finding says so.
//!   - A name matches itself and its subdomains, with or without a leading dot, and never an
//!     address. So `.169.254.169.254` does not exempt `169.254.169.254`: curl and Go compare an
//!     address host only with address and CIDR entries (Python strips the dot and would exempt it;
//!     the check follows curl and warns).
//!   - A port suffix (`host:80`, `[fd00:ec2::254]:80`) limits the entry to that port, as in Go
//!     (curl does not understand ports in entries).
//! * Credentials embedded in a proxy URL are never shown: `http://user:pass@proxy:3128` appears as
//!   `http://proxy:3128` in the finding and the details.
//!
//! # `proxy.jvm`: the JVM's proxy properties
//!
//! `http.proxyHost` (port `http.proxyPort`, default 80) is the proxy the JVM's default proxy
//! selector gives `HttpURLConnection` and the HTTP clients that read the JVM's proxy properties.
//! The AWS SDKs for Java's instance-profile providers open their IMDS connections with
//! `Proxy.NO_PROXY` in current releases, but other JVM code reaching IMDS (older releases, clients
//! built from system properties, application code) goes through the proxy, so an unexempted IMDS
//! host warns.
//!
//! * No `http.proxyHost` (or an empty one, which the JVM ignores): pass. An https endpoint: pass,
//!   as `http.proxyHost` applies to http URLs only (`https.proxyHost` is not inspected).
//! * `http.nonProxyHosts` is a `|`-separated list of host patterns, case-insensitive, `*` a
//!   wildcard only at the start or end (`*.internal`, `169.254.*`), matched against the URL's host
//!   as the JVM sees it (IPv6 in brackets: `[fd00:ec2::254]`). Unset, the JVM default
//!   [`JVM_DEFAULT_NON_PROXY_HOSTS`] applies, which does not cover IMDS. OpenJDK appends that
//!   default to a non-empty value, and an empty value exempts nothing.
//! * Not exempted: warn, fix `-Dhttp.nonProxyHosts="<existing or the default>|169.254.169.254"`.
//!   The default is spelled out so that the flag also holds on a JVM that replaces it.

use std::net::IpAddr;

use serde_json::{Map, Value};
use url::{Host, Url};

use super::Check;
use crate::env::{Env, ALL_PROXY, HTTPS_PROXY, HTTP_PROXY, NO_PROXY};

/// The environment variables check.
pub const ID_ENV: &str = "proxy.env";
/// The JVM properties check.
pub const ID_JVM: &str = "proxy.jvm";

/// The JVM's `http.nonProxyHosts` when the property is unset (OpenJDK's
/// `sun.net.spi.DefaultProxySelector`): loopback names and addresses only.
pub const JVM_DEFAULT_NON_PROXY_HOSTS: &str = "localhost|127.*|[::1]|0.0.0.0|[::0]";

// The lower-case spellings: `env` has constants for the upper-case names only (its
// PROXY_VARIABLES lists both), and curl treats the two spellings differently.
const HTTP_PROXY_LOWER: &str = "http_proxy";
const HTTPS_PROXY_LOWER: &str = "https_proxy";
const ALL_PROXY_LOWER: &str = "all_proxy";
const NO_PROXY_LOWER: &str = "no_proxy";

/// Stated in every finding that could make a reader suspect freshcreds itself.
const FRESHCREDS_DIRECT: &str = "freshcreds itself never uses a proxy for IMDS";

/// The JVM's proxy system properties, as the Java entry point passes them (all optional).
///
/// `None` means the property is unset; `Some("")` that it is set to the empty string, which the
/// JVM treats differently for `http.nonProxyHosts` (it then exempts nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JavaProxyProperties {
    /// `http.proxyHost`
    pub http_proxy_host: Option<String>,
    /// `http.proxyPort`
    pub http_proxy_port: Option<String>,
    /// `http.nonProxyHosts`
    pub http_non_proxy_hosts: Option<String>,
}

/// The checks for an IMDS endpoint URL: id `proxy.env` (environment variables) and id
/// `proxy.jvm` (JVM properties), in that order.
pub fn checks(env: &Env, java: &JavaProxyProperties, imds_endpoint: &Url) -> Vec<Check> {
    match Target::of(imds_endpoint) {
        Some(target) => vec![env_check(env, &target), jvm_check(java, &target)],
        // An http(s) URL always has a host; anything else has nothing a proxy could intercept.
        None => [ID_ENV, ID_JVM]
            .into_iter()
            .map(|id| {
                Check::pass(
                    id,
                    format!("the IMDS endpoint ({}) has no host, so no proxy applies; {FRESHCREDS_DIRECT}", imds_endpoint.scheme()),
                )
                .detail("freshcreds_uses_proxy", false)
            })
            .collect(),
    }
}

/// The IMDS endpoint as the proxy rules compare it.
struct Target {
    https: bool,
    /// `scheme://host[:port]`, never with user info.
    endpoint: String,
    /// Lower case, IPv6 without brackets: as curl and Go compare it, and as a `NO_PROXY` entry.
    host: String,
    ip: Option<IpAddr>,
    port: Option<u16>,
    /// As the JVM's proxy selector compares it: IPv6 in brackets.
    jvm_host: String,
}

impl Target {
    fn of(url: &Url) -> Option<Self> {
        let (host, ip) = match url.host()? {
            Host::Domain(name) => (name.trim_end_matches('.').to_ascii_lowercase(), None),
            Host::Ipv4(addr) => (addr.to_string(), Some(IpAddr::V4(addr))),
            Host::Ipv6(addr) => (addr.to_string(), Some(IpAddr::V6(addr))),
        };
        let jvm_host = match ip {
            Some(IpAddr::V6(_)) => format!("[{host}]"),
            _ => url.host_str()?.to_ascii_lowercase(),
        };
        let port_suffix = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        Some(Self {
            https: url.scheme().eq_ignore_ascii_case("https"),
            endpoint: format!("{}://{}{port_suffix}", url.scheme(), url.host_str()?),
            host,
            ip,
            port: url.port_or_known_default(),
            jvm_host,
        })
    }
}

// ---- proxy.env ----

/// How a bypass entry matched; a CIDR gets a caveat because Python ignores CIDR entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchKind {
    Everything,
    Address,
    Network,
    Name,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Bypass {
    /// The entry as written (trimmed).
    entry: String,
    kind: MatchKind,
}

/// One bypass list that is set: its variable, its value and whether it exempts the target.
struct BypassList {
    name: &'static str,
    value: String,
    bypass: Option<Bypass>,
}

fn env_check(env: &Env, target: &Target) -> Check {
    // The variables for the endpoint's scheme, in curl's order; the other scheme's are only noted.
    let (applicable, other, scheme_word): ([&'static str; 4], [&'static str; 2], &str) = if target.https {
        ([HTTPS_PROXY_LOWER, HTTPS_PROXY, ALL_PROXY_LOWER, ALL_PROXY], [HTTP_PROXY_LOWER, HTTP_PROXY], "HTTPS")
    } else {
        ([HTTP_PROXY_LOWER, HTTP_PROXY, ALL_PROXY_LOWER, ALL_PROXY], [HTTPS_PROXY_LOWER, HTTPS_PROXY], "HTTP")
    };
    let proxies: Vec<(&'static str, String)> =
        applicable.into_iter().filter_map(|name| env.get(name).map(|v| (name, redact(&v)))).collect();
    let not_applicable: Vec<&'static str> = other.into_iter().filter(|name| env.get(name).is_some()).collect();
    // curl's order: no_proxy first.
    let lists: Vec<BypassList> = [NO_PROXY_LOWER, NO_PROXY]
        .into_iter()
        .filter_map(|name| {
            env.get(name).map(|value| BypassList { name, bypass: no_proxy_match(&value, target), value: value.trim().to_string() })
        })
        .collect();

    let mut details = Map::new();
    details.insert("imds_host".into(), target.host.clone().into());
    details.insert("freshcreds_uses_proxy".into(), false.into());
    details.insert("variables".into(), proxies.iter().map(|(name, _)| *name).collect::<Vec<_>>().into());
    details.insert("proxies".into(), Value::Object(proxies.iter().map(|(name, value)| (name.to_string(), value.clone().into())).collect()));
    if !not_applicable.is_empty() {
        details.insert("not_applicable".into(), not_applicable.clone().into());
    }
    if !lists.is_empty() {
        details.insert("no_proxy".into(), Value::Object(lists.iter().map(|l| (l.name.to_string(), l.value.clone().into())).collect()));
    }

    if proxies.is_empty() {
        let finding = if not_applicable.is_empty() {
            format!("no {scheme_word} proxy variable is set; IMDS requests go direct ({FRESHCREDS_DIRECT})")
        } else {
            let (verb, pronoun, apply) = if not_applicable.len() == 1 { ("is", "it is", "does") } else { ("are", "they are", "do") };
            let (other_scheme, scheme) = if target.https { ("http", "https") } else { ("https", "plain http") };
            format!(
                "{} {verb} set but {apply} not apply to IMDS: {pronoun} used for {other_scheme} URLs and {} is {scheme}; no {scheme_word} \
                 proxy variable is set, so IMDS requests go direct ({FRESHCREDS_DIRECT})",
                join_and(&not_applicable),
                target.endpoint
            )
        };
        return Check { details, ..Check::pass(ID_ENV, finding) };
    }

    let proxies_text = join_and(&proxies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>());
    let proxies_verb = if proxies.len() == 1 { "is" } else { "are" };
    let every_list_exempts = !lists.is_empty() && lists.iter().all(|l| l.bypass.is_some());

    if every_list_exempts {
        let first = &lists[0];
        let Some(bypass) = &first.bypass else {
            // every_list_exempts guarantees a match; this arm only keeps the no-panic rule.
            return Check { details, ..Check::pass(ID_ENV, format!("{proxies_text} {proxies_verb} set; {FRESHCREDS_DIRECT}")) };
        };
        details.insert("bypassed_by".into(), bypass.entry.clone().into());
        details.insert("bypass_variable".into(), first.name.into());
        let caveat = match bypass.kind {
            MatchKind::Network => " (a CIDR entry: curl 7.86 and later and Go honour it, Python's urllib does not)",
            MatchKind::Everything | MatchKind::Address | MatchKind::Name => "",
        };
        let differ = if lists.len() > 1 && !same_list(&lists[0].value, &lists[1].value) {
            format!("; {} and {} differ, but both exempt it", lists[0].name, lists[1].name)
        } else {
            String::new()
        };
        let finding = format!(
            "{proxies_text} {proxies_verb} set, but {} entry {} exempts {}{caveat}{differ}: IMDS requests go direct ({FRESHCREDS_DIRECT})",
            first.name, bypass.entry, target.host
        );
        return Check { details, ..Check::pass(ID_ENV, finding) };
    }

    let bypass_text = match lists.as_slice() {
        [] => format!("neither {NO_PROXY_LOWER} nor {NO_PROXY} is set"),
        [only] => format!("{}={} does not exempt {}", only.name, only.value, target.host),
        [first, second, ..] => match (&first.bypass, &second.bypass) {
            (Some(_), None) | (None, Some(_)) => {
                let (yes, no) = if first.bypass.is_some() { (first, second) } else { (second, first) };
                format!(
                    "{}={} exempts {} but {}={} does not (curl and Python read {NO_PROXY_LOWER} first, Go reads {NO_PROXY} first)",
                    yes.name, yes.value, target.host, no.name, no.value
                )
            }
            _ => format!("neither {}={} nor {}={} exempts {}", first.name, first.value, second.name, second.value, target.host),
        },
    };
    let curl_uses = proxies.iter().any(|(name, _)| *name != HTTP_PROXY);
    let others_use = proxies.iter().any(|(name, _)| [HTTP_PROXY, HTTP_PROXY_LOWER, HTTPS_PROXY, HTTPS_PROXY_LOWER].contains(name));
    let pronoun = if proxies.len() == 1 { "it" } else { "them" };
    let tools = match (curl_uses, others_use) {
        (true, true) => format!("curl, the AWS CLI and SDK clients that honour {pronoun}"),
        (true, false) => format!("curl and the clients that honour {pronoun}"),
        // Only HTTP_PROXY for an http endpoint: curl ignores it (see the module docs).
        _ => format!("the AWS CLI and SDK clients that honour {pronoun} (not curl, which reads only the lower-case {HTTP_PROXY_LOWER})"),
    };
    let finding = format!(
        "{proxies_text} {proxies_verb} set and {bypass_text}: {tools} would send metadata requests through the proxy, which answers for \
         the wrong host or caches credentials ({FRESHCREDS_DIRECT})"
    );
    // Both spellings, so every tool sees the exemption; a list that already exempts is left alone.
    let exports: Vec<String> = [NO_PROXY, NO_PROXY_LOWER]
        .into_iter()
        .filter_map(|name| {
            let existing = lists.iter().find(|l| l.name == name);
            match existing {
                Some(list) if list.bypass.is_some() => None,
                _ => Some(format!("export {name}={}", shell_word(&append_entry(existing.map(|l| l.value.as_str()), &target.host, ',')))),
            }
        })
        .collect();
    let fix = format!("exempt the metadata address in the environment the application and these tools start with: {}", exports.join("; "));
    Check { details, ..Check::warn(ID_ENV, finding, fix) }
}

/// The entry of a `no_proxy` list that exempts the target, if any (see the module docs).
fn no_proxy_match(list: &str, target: &Target) -> Option<Bypass> {
    // curl and Python honour `*` only as the whole value.
    if list.trim() == "*" {
        return Some(Bypass { entry: "*".into(), kind: MatchKind::Everything });
    }
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .find_map(|entry| entry_matches(&entry.to_ascii_lowercase(), target).map(|kind| Bypass { entry: entry.to_string(), kind }))
}

/// Whether one lower-cased, trimmed entry matches the target.
fn entry_matches(entry: &str, target: &Target) -> Option<MatchKind> {
    if let Some((network, bits)) = entry.split_once('/') {
        let network = parse_ip(network)?;
        let bits: u8 = bits.trim().parse().ok()?;
        return target.ip.filter(|ip| in_network(*ip, network, bits)).map(|_| MatchKind::Network);
    }
    let (host, port) = split_port(entry);
    if port.is_some_and(|p| Some(p) != target.port) {
        return None;
    }
    if let Some(ip) = parse_ip(host) {
        return (target.ip == Some(ip)).then_some(MatchKind::Address);
    }
    // A name never matches an address host (curl, Go): `.169.254.169.254` is a domain suffix.
    if target.ip.is_some() {
        return None;
    }
    let name = host.strip_prefix('.').unwrap_or(host).trim_end_matches('.');
    if name.is_empty() {
        return None;
    }
    let exact = target.host == name;
    let subdomain =
        target.host.len() > name.len() && target.host.ends_with(name) && target.host[..target.host.len() - name.len()].ends_with('.');
    (exact || subdomain).then_some(MatchKind::Name)
}

/// An address, IPv6 with or without brackets.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    bare.parse().ok()
}

/// `host:port` or `[v6]:port` into host and port; a bare IPv6 address (several colons) has none.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if entry.starts_with('[') {
        if let Some(end) = entry.find(']') {
            let (host, rest) = entry.split_at(end + 1);
            if let Some(port) = rest.strip_prefix(':').and_then(|p| p.parse().ok()) {
                return (host, Some(port));
            }
        }
        return (entry, None);
    }
    match entry.split_once(':') {
        Some((host, port)) if !port.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

/// Whether `ip` lies in `network/bits` (same family only; a prefix longer than the address
/// matches nothing, as in curl).
fn in_network(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            (u32::from(ip) ^ u32::from(net)) & mask == 0
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            (u128::from(ip) ^ u128::from(net)) & mask == 0
        }
        _ => false,
    }
}

/// Two lists with the same entries (order, spacing and case aside) are not worth a note.
fn same_list(a: &str, b: &str) -> bool {
    let entries = |s: &str| {
        let mut v: Vec<String> = s.split(',').map(|e| e.trim().to_ascii_lowercase()).filter(|e| !e.is_empty()).collect();
        v.sort();
        v
    };
    entries(a) == entries(b)
}

// ---- proxy.jvm ----

fn jvm_check(java: &JavaProxyProperties, target: &Target) -> Check {
    let mut details = Map::new();
    details.insert("imds_host".into(), target.jvm_host.clone().into());
    details.insert("freshcreds_uses_proxy".into(), false.into());

    // The JVM ignores an empty proxy host, as if unset.
    let Some(proxy_host) = java.http_proxy_host.as_deref().map(str::trim).filter(|h| !h.is_empty()) else {
        let finding = format!("http.proxyHost is not set: JVM HTTP clients reach IMDS directly ({FRESHCREDS_DIRECT})");
        return Check { details, ..Check::pass(ID_JVM, finding) };
    };
    let port = java.http_proxy_port.as_deref().map(str::trim).filter(|p| !p.is_empty()).unwrap_or("80");
    let proxy = format!("{}:{port}", redact(proxy_host));
    details.insert("proxy".into(), proxy.clone().into());
    details.insert("non_proxy_hosts".into(), java.http_non_proxy_hosts.clone().map_or(Value::Null, Value::from));

    if target.https {
        let finding = format!(
            "http.proxyHost={proxy} applies to http URLs only and the endpoint {} is https (https.proxyHost is not inspected); \
             {FRESHCREDS_DIRECT}",
            target.endpoint
        );
        return Check { details, ..Check::pass(ID_JVM, finding) };
    }

    // What the JVM matches: the default when unset, nothing when empty, the value plus the
    // default otherwise (OpenJDK appends it).
    let host = &target.jvm_host;
    let (effective, described) = match java.http_non_proxy_hosts.as_deref() {
        None => (
            JVM_DEFAULT_NON_PROXY_HOSTS.to_string(),
            format!("http.nonProxyHosts is not set and the JVM default ({JVM_DEFAULT_NON_PROXY_HOSTS}) does not match {host}"),
        ),
        Some("") => (String::new(), "http.nonProxyHosts is set empty, which exempts nothing".to_string()),
        Some(value) => (
            format!("{value}|{JVM_DEFAULT_NON_PROXY_HOSTS}"),
            format!("http.nonProxyHosts={value} (with the JVM default) does not match {host}"),
        ),
    };
    let matched = effective.split('|').filter(|p| !p.is_empty()).find(|p| jvm_pattern_matches(p, &target.jvm_host));

    if let Some(pattern) = matched {
        details.insert("bypassed_by".into(), pattern.into());
        let finding = format!(
            "http.proxyHost={proxy} is set, but the http.nonProxyHosts pattern {pattern} exempts {}: JVM HTTP clients reach IMDS directly \
             ({FRESHCREDS_DIRECT})",
            target.jvm_host
        );
        return Check { details, ..Check::pass(ID_JVM, finding) };
    }

    let finding = format!(
        "http.proxyHost={proxy} is set and {described}: JVM HTTP clients that honour the proxy properties (HttpURLConnection without \
         an explicit proxy, clients configured from system properties) would send metadata requests through the proxy, which answers for \
         the wrong host or caches credentials (the AWS SDKs' instance-profile providers use Proxy.NO_PROXY, and {FRESHCREDS_DIRECT})"
    );
    let base = java.http_non_proxy_hosts.as_deref().map(str::trim).filter(|v| !v.is_empty()).unwrap_or(JVM_DEFAULT_NON_PROXY_HOSTS);
    let fix = format!(
        "add the metadata host to the JVM's bypass list: -Dhttp.nonProxyHosts=\"{}\"",
        double_quoted(&append_entry(Some(base), host, '|'))
    );
    Check { details, ..Check::warn(ID_JVM, finding, fix) }
}

/// One `http.nonProxyHosts` pattern against a host, as OpenJDK's `DefaultProxySelector` does:
/// `*` alone matches all, `*x*` contains, `*x` ends with, `x*` starts with, else equal; no trimming.
fn jvm_pattern_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.to_lowercase();
    let host = host.to_lowercase();
    if pattern == "*" {
        return true;
    }
    if let Some(middle) = pattern.strip_prefix('*').and_then(|p| p.strip_suffix('*')) {
        return host.contains(middle);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return host.ends_with(suffix);
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return host.starts_with(prefix);
    }
    host == pattern
}

// ---- shared ----

/// A proxy URL (or host) without its user info: everything between the scheme and the last `@`
/// goes, so a password containing `/` or `@` cannot leak either.
fn redact(value: &str) -> String {
    let value = value.trim();
    let (scheme, rest) = match value.find("://") {
        Some(i) => value.split_at(i + 3),
        None => ("", value),
    };
    match rest.rfind('@') {
        Some(at) => format!("{scheme}{}", &rest[at + 1..]),
        None => value.to_string(),
    }
}

/// `existing` with `entry` appended after `separator`; only `entry` when nothing exists.
fn append_entry(existing: Option<&str>, entry: &str, separator: char) -> String {
    match existing.map(|e| e.trim().trim_end_matches(separator).trim_end()) {
        Some(e) if !e.is_empty() => format!("{e}{separator}{entry}"),
        _ => entry.to_string(),
    }
}

/// A value as one shell word: bare when it holds only characters no shell treats specially,
/// single-quoted otherwise (`*` would be a glob in a plain `sh`'s `export` arguments).
fn shell_word(value: &str) -> String {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || ".,:/_-+=%@".contains(c)) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// The inside of a shell double-quoted string.
fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `a`, `a and b`, `a, b and c`.
fn join_and<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => format!("{} and {}", init.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", "), last.as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use crate::env::PROXY_VARIABLES;

    fn v4() -> Url {
        Url::parse("http://169.254.169.254").unwrap()
    }

    fn v6() -> Url {
        Url::parse("http://[fd00:ec2::254]").unwrap()
    }

    fn env_check_for<const N: usize>(pairs: [(&str, &str); N], endpoint: &Url) -> Check {
        let checks = checks(&Env::from_pairs(pairs), &JavaProxyProperties::default(), endpoint);
        checks.into_iter().find(|c| c.id == ID_ENV).unwrap()
    }

    fn jvm_check_for(host: Option<&str>, port: Option<&str>, non_proxy: Option<&str>, endpoint: &Url) -> Check {
        let java = JavaProxyProperties {
            http_proxy_host: host.map(String::from),
            http_proxy_port: port.map(String::from),
            http_non_proxy_hosts: non_proxy.map(String::from),
        };
        checks(&Env::empty(), &java, endpoint).into_iter().find(|c| c.id == ID_JVM).unwrap()
    }

    fn everything(check: &Check) -> String {
        format!("{} {:?} {}", check.finding, check.fix, Value::Object(check.details.clone()))
    }

    #[test]
    fn lowercase_names_are_the_env_modules_spellings() {
        for name in [HTTP_PROXY_LOWER, HTTPS_PROXY_LOWER, ALL_PROXY_LOWER] {
            assert!(PROXY_VARIABLES.contains(&name), "{name}");
        }
        assert_eq!(NO_PROXY_LOWER, NO_PROXY.to_ascii_lowercase());
    }

    #[test]
    fn checks_returns_env_then_jvm() {
        let ids: Vec<_> = checks(&Env::empty(), &JavaProxyProperties::default(), &v4()).iter().map(|c| c.id).collect();
        assert_eq!(ids, [ID_ENV, ID_JVM]);
    }

    #[test]
    fn no_variables_pass() {
        let check = env_check_for([], &v4());
        assert_eq!(check.status, Status::Pass);
        assert!(check.finding.starts_with("no HTTP proxy variable is set; IMDS requests go direct"), "{}", check.finding);
        assert!(check.finding.contains(FRESHCREDS_DIRECT));
        assert_eq!(check.details["freshcreds_uses_proxy"], Value::Bool(false));
        assert_eq!(check.details["imds_host"], "169.254.169.254");
        assert_eq!(check.fix, None);
    }

    #[test]
    fn upper_http_proxy_without_no_proxy_warns_with_exact_fix() {
        let check = env_check_for([(HTTP_PROXY, "http://proxy.corp:3128")], &v4());
        assert_eq!(check.status, Status::Warn);
        assert!(check.finding.contains("HTTP_PROXY=http://proxy.corp:3128"), "{}", check.finding);
        assert!(check.finding.contains("neither no_proxy nor NO_PROXY is set"), "{}", check.finding);
        assert!(check.finding.contains("AWS CLI"), "{}", check.finding);
        // curl ignores the upper-case name for http.
        assert!(check.finding.contains("not curl"), "{}", check.finding);
        assert!(check.finding.contains(FRESHCREDS_DIRECT));
        assert_eq!(
            check.fix.as_deref(),
            Some(
                "exempt the metadata address in the environment the application and these tools start with: \
                 export NO_PROXY=169.254.169.254; export no_proxy=169.254.169.254"
            )
        );
        assert_eq!(check.details["variables"], serde_json::json!(["HTTP_PROXY"]));
    }

    #[test]
    fn lowercase_http_proxy_names_curl_and_appends_to_existing_lists() {
        let check = env_check_for(
            [(HTTP_PROXY_LOWER, "http://proxy:3128"), (NO_PROXY, "localhost, .corp ,"), (NO_PROXY_LOWER, "localhost,.corp")],
            &v4(),
        );
        assert_eq!(check.status, Status::Warn);
        assert!(check.finding.contains("curl, the AWS CLI"), "{}", check.finding);
        let fix = check.fix.unwrap();
        assert!(fix.contains("export NO_PROXY='localhost, .corp,169.254.169.254'"), "{fix}");
        assert!(fix.contains("export no_proxy=localhost,.corp,169.254.169.254"), "{fix}");
    }

    #[test]
    fn lowercase_no_proxy_with_imds_address_passes() {
        let check = env_check_for([(HTTP_PROXY_LOWER, "http://proxy:3128"), (NO_PROXY_LOWER, "localhost,169.254.169.254")], &v4());
        assert_eq!(check.status, Status::Pass, "{}", check.finding);
        assert!(check.finding.contains("http_proxy=http://proxy:3128"), "{}", check.finding);
        assert!(check.finding.contains("no_proxy entry 169.254.169.254 exempts"), "{}", check.finding);
        assert_eq!(check.details["bypassed_by"], "169.254.169.254");
        assert_eq!(check.details["bypass_variable"], "no_proxy");
        assert_eq!(check.fix, None);
    }

    /// Decision: a domain-style entry never matches an address host (curl and Go; Python would).
    #[test]
    fn leading_dot_entry_does_not_exempt_an_address() {
        let check = env_check_for([(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY, ".169.254.169.254")], &v4());
        assert_eq!(check.status, Status::Warn, "{}", check.finding);
        assert!(check.finding.contains("NO_PROXY=.169.254.169.254 does not exempt 169.254.169.254"), "{}", check.finding);
        let fix = check.fix.unwrap();
        assert!(fix.contains("export NO_PROXY=.169.254.169.254,169.254.169.254"), "{fix}");
        assert!(fix.contains("export no_proxy=169.254.169.254"), "{fix}");
    }

    #[test]
    fn leading_dot_entry_exempts_a_name_and_its_subdomains() {
        let endpoint = Url::parse("http://imds.example.internal:1338").unwrap();
        for entry in [".example.internal", "example.internal", "IMDS.example.internal", "imds.example.internal:1338"] {
            let check = env_check_for([(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY, entry)], &endpoint);
            assert_eq!(check.status, Status::Pass, "{entry}: {}", check.finding);
        }
        for entry in ["ample.internal", "imds.example.internal:80", "*.example.internal"] {
            let check = env_check_for([(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY, entry)], &endpoint);
            assert_eq!(check.status, Status::Warn, "{entry}: {}", check.finding);
        }
    }

    #[test]
    fn cidr_entry_passes_with_a_caveat() {
        let check = env_check_for([(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY, "10.0.0.0/8, 169.254.0.0/16")], &v4());
        assert_eq!(check.status, Status::Pass, "{}", check.finding);
        assert_eq!(check.details["bypassed_by"], "169.254.0.0/16");
        assert!(check.finding.contains("CIDR"), "{}", check.finding);
        let outside = env_check_for([(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY, "169.254.170.0/24")], &v4());
        assert_eq!(outside.status, Status::Warn);
    }

    #[test]
    fn star_passes() {
        let check = env_check_for([(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY, " * ")], &v4());
        assert_eq!(check.status, Status::Pass, "{}", check.finding);
        assert_eq!(check.details["bypassed_by"], "*");
    }

    #[test]
    fn star_among_other_entries_does_not_exempt() {
        let check = env_check_for([(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY, "localhost,*")], &v4());
        assert_eq!(check.status, Status::Warn, "{}", check.finding);
        assert!(check.fix.unwrap().contains("export NO_PROXY='localhost,*,169.254.169.254'"));
    }

    #[test]
    fn only_https_proxy_passes_as_not_applicable() {
        let check = env_check_for([(HTTPS_PROXY, "http://proxy:3128")], &v4());
        assert_eq!(check.status, Status::Pass);
        assert!(check.finding.starts_with("HTTPS_PROXY is set but does not apply to IMDS"), "{}", check.finding);
        assert!(check.finding.contains("http://169.254.169.254 is plain http"), "{}", check.finding);
        assert_eq!(check.details["not_applicable"], serde_json::json!(["HTTPS_PROXY"]));
        assert_eq!(check.fix, None);
    }

    #[test]
    fn https_endpoint_swaps_the_families() {
        let endpoint = Url::parse("https://imds.test:8443").unwrap();
        let only_http = env_check_for([(HTTP_PROXY, "http://proxy:3128")], &endpoint);
        assert_eq!(only_http.status, Status::Pass, "{}", only_http.finding);
        let https = env_check_for([(HTTPS_PROXY, "http://proxy:3128")], &endpoint);
        assert_eq!(https.status, Status::Warn, "{}", https.finding);
        assert!(https.fix.unwrap().contains("export NO_PROXY=imds.test"));
        let jvm = jvm_check_for(Some("proxy"), None, None, &endpoint);
        assert_eq!(jvm.status, Status::Pass, "{}", jvm.finding);
    }

    #[test]
    fn all_proxy_warns_for_curl() {
        let check = env_check_for([(ALL_PROXY, "socks5h://proxy:1080")], &v4());
        assert_eq!(check.status, Status::Warn);
        assert!(check.finding.contains("curl"), "{}", check.finding);
    }

    #[test]
    fn userinfo_is_redacted() {
        let check = env_check_for(
            [(HTTP_PROXY, "http://alice:s3cr3t-pw@proxy.corp:3128"), (HTTP_PROXY_LOWER, "bob:hunter2@proxy.corp:3128")],
            &v4(),
        );
        assert_eq!(check.status, Status::Warn);
        let all = everything(&check);
        for secret in ["s3cr3t-pw", "alice", "hunter2", "bob", "@"] {
            assert!(!all.contains(secret), "{secret} in {all}");
        }
        assert!(check.finding.contains("HTTP_PROXY=http://proxy.corp:3128"), "{}", check.finding);
        assert_eq!(check.details["proxies"]["http_proxy"], "proxy.corp:3128");

        let jvm = jvm_check_for(Some("carol:pa55w0rd@proxy.corp"), Some("3128"), None, &v4());
        let all = everything(&jvm);
        assert!(!all.contains("pa55w0rd") && !all.contains("carol"), "{all}");
        assert_eq!(jvm.details["proxy"], "proxy.corp:3128");
    }

    #[test]
    fn redact_cuts_at_the_last_at_sign() {
        assert_eq!(redact("http://u:p@ss/w@proxy:3128"), "http://proxy:3128");
        assert_eq!(redact(" http://proxy:3128 "), "http://proxy:3128");
        assert_eq!(redact("proxy:3128"), "proxy:3128");
    }

    #[test]
    fn ipv6_endpoint_with_ipv6_cidr_passes() {
        let check = env_check_for([(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY, "fd00:ec2::/16")], &v6());
        assert_eq!(check.status, Status::Pass, "{}", check.finding);
        assert_eq!(check.details["imds_host"], "fd00:ec2::254");
        assert_eq!(check.details["bypassed_by"], "fd00:ec2::/16");
    }

    #[test]
    fn ipv6_entries_with_or_without_brackets_and_fix_without_brackets() {
        for entry in ["fd00:ec2::254", "[fd00:ec2::254]", "[FD00:EC2::254]:80", "[fd00:ec2::]/64"] {
            let check = env_check_for([(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY, entry)], &v6());
            assert_eq!(check.status, Status::Pass, "{entry}: {}", check.finding);
        }
        let check = env_check_for([(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY, "169.254.169.254")], &v6());
        assert_eq!(check.status, Status::Warn);
        let fix = check.fix.unwrap();
        assert!(fix.contains("export NO_PROXY=169.254.169.254,fd00:ec2::254;"), "{fix}");
        assert!(fix.contains("export no_proxy=fd00:ec2::254"), "{fix}");
    }

    #[test]
    fn differing_lists_warn_when_one_does_not_exempt() {
        let check = env_check_for([(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY_LOWER, "169.254.169.254"), (NO_PROXY, "localhost")], &v4());
        assert_eq!(check.status, Status::Warn, "{}", check.finding);
        assert!(
            check.finding.contains("no_proxy=169.254.169.254 exempts 169.254.169.254 but NO_PROXY=localhost does not"),
            "{}",
            check.finding
        );
        assert_eq!(
            check.fix.as_deref(),
            Some("exempt the metadata address in the environment the application and these tools start with: export NO_PROXY=localhost,169.254.169.254")
        );

        let both = env_check_for(
            [(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY_LOWER, "169.254.169.254"), (NO_PROXY, "localhost,169.254.0.0/16")],
            &v4(),
        );
        assert_eq!(both.status, Status::Pass, "{}", both.finding);
        assert_eq!(both.details["bypass_variable"], "no_proxy");
        assert!(both.finding.contains("differ, but both exempt it"), "{}", both.finding);
    }

    #[test]
    fn entry_with_another_port_does_not_exempt() {
        let check = env_check_for([(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY, "169.254.169.254:8080")], &v4());
        assert_eq!(check.status, Status::Warn);
        let check = env_check_for([(HTTP_PROXY, "http://proxy:3128"), (NO_PROXY, "169.254.169.254:80")], &v4());
        assert_eq!(check.status, Status::Pass);
    }

    #[test]
    fn jvm_without_proxy_host_passes() {
        let check = jvm_check_for(None, Some("3128"), None, &v4());
        assert_eq!(check.status, Status::Pass);
        assert!(check.finding.starts_with("http.proxyHost is not set"), "{}", check.finding);
        assert!(check.finding.contains(FRESHCREDS_DIRECT));
        let empty = jvm_check_for(Some("  "), None, None, &v4());
        assert_eq!(empty.status, Status::Pass);
    }

    #[test]
    fn jvm_proxy_host_without_non_proxy_hosts_warns_keeping_the_default() {
        let check = jvm_check_for(Some("proxy.corp"), Some("3128"), None, &v4());
        assert_eq!(check.status, Status::Warn);
        assert!(check.finding.contains("http.proxyHost=proxy.corp:3128"), "{}", check.finding);
        assert!(check.finding.contains("http.nonProxyHosts is not set"), "{}", check.finding);
        assert!(check.finding.contains(FRESHCREDS_DIRECT));
        assert_eq!(
            check.fix.as_deref(),
            Some("add the metadata host to the JVM's bypass list: -Dhttp.nonProxyHosts=\"localhost|127.*|[::1]|0.0.0.0|[::0]|169.254.169.254\"")
        );
        assert_eq!(check.details["non_proxy_hosts"], Value::Null);
        assert_eq!(check.details["proxy"], "proxy.corp:3128");
    }

    #[test]
    fn jvm_wildcard_suffix_pattern_passes() {
        let check = jvm_check_for(Some("proxy.corp"), None, Some("169.254.*"), &v4());
        assert_eq!(check.status, Status::Pass, "{}", check.finding);
        assert_eq!(check.details["bypassed_by"], "169.254.*");
    }

    #[test]
    fn jvm_list_with_exact_host_passes() {
        let check = jvm_check_for(Some("proxy.corp"), None, Some("*.internal|169.254.169.254"), &v4());
        assert_eq!(check.status, Status::Pass, "{}", check.finding);
        assert_eq!(check.details["bypassed_by"], "169.254.169.254");
    }

    #[test]
    fn jvm_list_without_imds_warns_and_appends_to_it() {
        let check = jvm_check_for(Some("proxy.corp"), None, Some("*.internal|localhost|"), &v4());
        assert_eq!(check.status, Status::Warn);
        assert_eq!(
            check.fix.as_deref(),
            Some("add the metadata host to the JVM's bypass list: -Dhttp.nonProxyHosts=\"*.internal|localhost|169.254.169.254\"")
        );
        // The JVM does not trim patterns.
        let spaced = jvm_check_for(Some("proxy.corp"), None, Some("localhost| 169.254.169.254"), &v4());
        assert_eq!(spaced.status, Status::Warn);
    }

    #[test]
    fn jvm_default_and_empty_value_against_a_loopback_endpoint() {
        let local = Url::parse("http://127.0.0.1:1338").unwrap();
        let default = jvm_check_for(Some("proxy.corp"), None, None, &local);
        assert_eq!(default.status, Status::Pass, "{}", default.finding);
        assert_eq!(default.details["bypassed_by"], "127.*");
        // A non-empty value keeps the default (appended); an empty one exempts nothing.
        let custom = jvm_check_for(Some("proxy.corp"), None, Some("*.internal"), &local);
        assert_eq!(custom.status, Status::Pass, "{}", custom.finding);
        let empty = jvm_check_for(Some("proxy.corp"), None, Some(""), &local);
        assert_eq!(empty.status, Status::Warn, "{}", empty.finding);
    }

    #[test]
    fn jvm_ipv6_host_is_matched_and_fixed_in_brackets() {
        let warn = jvm_check_for(Some("proxy.corp"), None, None, &v6());
        assert_eq!(warn.status, Status::Warn);
        assert!(warn.fix.unwrap().ends_with("|[fd00:ec2::254]\""));
        let pass = jvm_check_for(Some("proxy.corp"), None, Some("[FD00:EC2::*"), &v6());
        assert_eq!(pass.status, Status::Pass, "{}", pass.finding);
    }

    #[test]
    fn jvm_patterns() {
        assert!(jvm_pattern_matches("*", "anything"));
        assert!(jvm_pattern_matches("*254.169*", "169.254.169.254"));
        assert!(jvm_pattern_matches("*.169.254", "169.254.169.254"));
        assert!(!jvm_pattern_matches("169.*.254", "169.254.169.254"));
        assert!(!jvm_pattern_matches("169.254.169", "169.254.169.254"));
    }

    #[test]
    fn cidr_edges() {
        let ip: IpAddr = "169.254.169.254".parse().unwrap();
        assert!(in_network(ip, "0.0.0.0".parse().unwrap(), 0));
        assert!(in_network(ip, "169.254.169.254".parse().unwrap(), 32));
        assert!(!in_network(ip, "169.254.169.254".parse().unwrap(), 33));
        assert!(!in_network(ip, "::".parse().unwrap(), 0));
        assert!(in_network("fd00:ec2::254".parse().unwrap(), "fd00:ec2::".parse().unwrap(), 64));
    }
}
