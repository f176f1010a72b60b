//! Time synchronisation checks: is the clock disciplined, and by what.
//!
//! SigV4 signatures and credential expirations are judged against the wall clock, so a drifting
//! clock turns valid credentials into `403 ExpiredToken` or `SignatureDoesNotMatch`. AWS's advice
//! is to run a time daemon pointed at Amazon Time Sync (`169.254.169.123`, `fd00:ec2::123` on
//! IPv6-only instances, or the ENA PTP hardware clock). This module reports two checks:
//!
//! * `clock.kernel`, from [`read_kernel_clock`]: `adjtimex(2)` with `modes = 0`, which only reads
//!   the kernel's clock discipline state and is allowed unprivileged. Pass when the kernel is
//!   synchronised with an estimated error of at most 100 ms (or when the state is not available on
//!   this OS); warn when `STA_UNSYNC` is set or the estimated error is larger.
//! * `clock.daemon`, from [`inspect`]: which of chronyd, ntpd and systemd-timesyncd runs (from
//!   `/proc/<pid>/comm`) and which time sources their configuration files name. Fail when none
//!   runs; pass when a running daemon's own configuration names Amazon Time Sync; warn otherwise,
//!   with the exact line to add for that daemon.
//!
//! Nothing here contacts a time server or any other address: configuration files are read, never
//! the daemons' runtime state (`chronyc sources`), so sources learnt at run time (DHCP, `sourcedir
//! /run/...`) are not seen. All host files are read under a root directory so tests use a
//! temporary one; missing or unreadable files are skipped, never fatal.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Check;

/// Above this estimated error the kernel's clock is considered too imprecise for comfort (SigV4
/// tolerates minutes, but an error this large means the discipline is not working well).
const MAX_ESTIMATED_ERROR_US: i64 = 100_000;

/// Amazon Time Sync's link-local addresses (IPv4 and IPv6).
const AMAZON_TIME_SYNC_V4: &str = "169.254.169.123";
const AMAZON_TIME_SYNC_V6: &str = "fd00:ec2::123";

/// The ENA PTP hardware clock devices a chrony `refclock PHC` can name.
const AMAZON_PHC_DEVICES: [&str; 2] = ["/dev/ptp0", "/dev/ptp_ena"];

/// The line AWS documents for chrony.
const CHRONY_LINE: &str = "server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4";
const CHRONY_LINE_V6: &str = "server fd00:ec2::123 prefer iburst minpoll 4 maxpoll 4";

/// The kernel's view of its clock discipline (Linux `adjtimex` with modes = 0: reads, changes nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelClock {
    /// STA_UNSYNC is clear: a time daemon has disciplined the clock recently.
    pub synchronized: bool,
    /// Estimated error, microseconds (`esterror`).
    pub estimated_error_us: i64,
    /// Maximum error, microseconds (`maxerror`).
    pub maximum_error_us: i64,
}

/// `adjtimex(2)` read-only on Linux (libc::adjtimex with a zeroed timex, modes 0); `None` elsewhere or if the call fails.
#[cfg(target_os = "linux")]
pub fn read_kernel_clock() -> Option<KernelClock> {
    // SAFETY: an all-zero `timex` is a valid value (plain integers); zero `modes` makes the call
    // read-only, and `tx` is a valid, writable timex for the duration of the call.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    tx.modes = 0;
    // SAFETY: see above; the kernel only writes into `tx`.
    let rc = unsafe { libc::adjtimex(&mut tx) };
    if rc == -1 {
        return None;
    }
    // `c_long` is 32 bits on some targets; widen without a lossy cast.
    #[allow(clippy::useless_conversion)]
    let (estimated_error_us, maximum_error_us) = (i64::from(tx.esterror), i64::from(tx.maxerror));
    Some(KernelClock { synchronized: tx.status & libc::STA_UNSYNC == 0, estimated_error_us, maximum_error_us })
}

/// `adjtimex(2)` read-only on Linux (libc::adjtimex with a zeroed timex, modes 0); `None` elsewhere or if the call fails.
#[cfg(not(target_os = "linux"))]
pub fn read_kernel_clock() -> Option<KernelClock> {
    None
}

/// A time synchronisation daemon this module recognises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Daemon {
    Chrony,
    Ntpd,
    Timesyncd,
}

impl Daemon {
    /// Every daemon, in the order reports list them.
    const ALL: [Daemon; 3] = [Daemon::Chrony, Daemon::Ntpd, Daemon::Timesyncd];

    /// The daemon's process name as users know it.
    pub fn name(&self) -> &'static str {
        match self {
            Daemon::Chrony => "chronyd",
            Daemon::Ntpd => "ntpd",
            Daemon::Timesyncd => "systemd-timesyncd",
        }
    }

    /// Which daemon a `/proc/<pid>/comm` value belongs to. The kernel cuts `comm` at 15 bytes,
    /// hence `systemd-timesyn`; the full name is accepted too in case a fake root writes it.
    fn from_comm(comm: &str) -> Option<Daemon> {
        match comm.trim_end_matches(['\n', '\0']) {
            "chronyd" => Some(Daemon::Chrony),
            "ntpd" => Some(Daemon::Ntpd),
            "systemd-timesyn" | "systemd-timesyncd" => Some(Daemon::Timesyncd),
            _ => None,
        }
    }

    /// The file the fix tells the user to edit when the daemon's own files name no Amazon source.
    fn default_config(&self) -> &'static str {
        match self {
            Daemon::Chrony => "/etc/chrony.conf",
            Daemon::Ntpd => "/etc/ntp.conf",
            Daemon::Timesyncd => "/etc/systemd/timesyncd.conf",
        }
    }
}

/// One configuration file of a time daemon and the time sources it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    pub daemon: Daemon,
    /// The path as on the host, i.e. without the root prefix, e.g. `/etc/chrony.conf`.
    pub path: PathBuf,
    /// Source lines, trimmed: `server 169.254.169.123`, `pool 2.amazon.pool.ntp.org`,
    /// `refclock PHC /dev/ptp0`, or `NTP=169.254.169.123` for systemd-timesyncd.
    pub sources: Vec<String>,
    /// One of `sources` is Amazon Time Sync.
    pub amazon_time_sync: bool,
}

/// What [`inspect`] found: the running daemons (in [`Daemon`] order, each once) and every
/// configuration file present (in a fixed order, directory entries sorted by name).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimeSync {
    pub running: Vec<Daemon>,
    pub configs: Vec<SyncConfig>,
}

/// Reads under `root` (a temp dir in tests, "/" for real): which daemons run (scan `<root>/proc/<pid>/comm` for numeric pids: "chronyd", "ntpd", "systemd-timesyn" — comm is cut at 15 bytes) and their configuration files.
pub fn inspect(root: &Path) -> TimeSync {
    TimeSync { running: running_daemons(root), configs: config_files(root) }
}

/// The daemons with at least one process under `<root>/proc`.
fn running_daemons(root: &Path) -> Vec<Daemon> {
    let mut seen = Vec::new();
    let Ok(entries) = fs::read_dir(root.join("proc")) else {
        return seen;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_pid = name.to_str().is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !is_pid {
            continue;
        }
        // Processes exit while we scan; a vanished comm is simply not a daemon.
        let Some(comm) = read_lossy(&entry.path().join("comm")) else {
            continue;
        };
        if let Some(daemon) = Daemon::from_comm(&comm) {
            if !seen.contains(&daemon) {
                seen.push(daemon);
            }
        }
    }
    // `read_dir` order is arbitrary; report in a fixed order.
    Daemon::ALL.into_iter().filter(|d| seen.contains(d)).collect()
}

/// How a daemon's file is parsed.
#[derive(Clone, Copy)]
enum Syntax {
    Chrony,
    Ntp,
    Timesyncd,
}

/// Where each daemon's configuration lives, as host paths: single files, then directories whose
/// entries with the given extension are read.
enum Location {
    File(&'static str),
    Dir(&'static str, &'static str),
}

const LOCATIONS: [(Daemon, Syntax, Location); 10] = [
    (Daemon::Chrony, Syntax::Chrony, Location::File("/etc/chrony.conf")),
    (Daemon::Chrony, Syntax::Chrony, Location::File("/etc/chrony/chrony.conf")),
    (Daemon::Chrony, Syntax::Chrony, Location::Dir("/etc/chrony.d", "conf")),
    // Amazon Linux 2023 ships /etc/chrony.d/link-local.sources.
    (Daemon::Chrony, Syntax::Chrony, Location::Dir("/etc/chrony.d", "sources")),
    (Daemon::Chrony, Syntax::Chrony, Location::Dir("/etc/chrony/conf.d", "conf")),
    // Debian and Ubuntu: `sourcedir /etc/chrony/sources.d`.
    (Daemon::Chrony, Syntax::Chrony, Location::Dir("/etc/chrony/sources.d", "sources")),
    (Daemon::Ntpd, Syntax::Ntp, Location::File("/etc/ntp.conf")),
    (Daemon::Ntpd, Syntax::Ntp, Location::File("/etc/ntpsec/ntp.conf")),
    (Daemon::Timesyncd, Syntax::Timesyncd, Location::File("/etc/systemd/timesyncd.conf")),
    (Daemon::Timesyncd, Syntax::Timesyncd, Location::Dir("/etc/systemd/timesyncd.conf.d", "conf")),
];

/// Every configuration file present under `root`, parsed.
fn config_files(root: &Path) -> Vec<SyncConfig> {
    let mut configs = Vec::new();
    for (daemon, syntax, location) in &LOCATIONS {
        let host_paths = match location {
            Location::File(path) => vec![PathBuf::from(path)],
            Location::Dir(dir, ext) => dir_entries(root, dir, ext),
        };
        for host_path in host_paths {
            // Missing files are normal (only one daemon is installed); unreadable ones are skipped
            // rather than reported as "names no source", which would be a false finding.
            let Some(text) = read_lossy(&under_root(root, &host_path)) else {
                continue;
            };
            let sources = parse_sources(*syntax, &text);
            let amazon_time_sync = sources.iter().any(|s| is_amazon_source(s));
            configs.push(SyncConfig { daemon: daemon.clone(), path: host_path, sources, amazon_time_sync });
        }
    }
    configs
}

/// The host paths of the entries of `dir` ending in `.ext`, sorted by name for a deterministic report.
fn dir_entries(root: &Path, dir: &str, ext: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(under_root(root, Path::new(dir))) else {
        return Vec::new();
    };
    let mut names: Vec<_> =
        entries.flatten().map(|e| e.file_name()).filter(|name| Path::new(name).extension().is_some_and(|e| e == ext)).collect();
    names.sort();
    names.into_iter().map(|name| Path::new(dir).join(name)).collect()
}

/// `host_path` (absolute, as on the host) under `root`.
fn under_root(root: &Path, host_path: &Path) -> PathBuf {
    root.join(host_path.strip_prefix("/").unwrap_or(host_path))
}

/// A file's text, invalid UTF-8 replaced; `None` when it cannot be read (missing, a directory,
/// no permission).
fn read_lossy(path: &Path) -> Option<String> {
    match fs::read(path) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Err(err) => {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::debug!(path = %path.display(), error = %err, "time sync: file not read");
            }
            None
        }
    }
}

/// The time sources a file names, as trimmed lines (one entry per server for timesyncd).
fn parse_sources(syntax: Syntax, text: &str) -> Vec<String> {
    match syntax {
        Syntax::Chrony => source_lines(text, &['#', '!', ';', '%'], &["server", "pool", "peer", "refclock"]),
        Syntax::Ntp => source_lines(text, &['#'], &["server", "pool", "peer"]),
        Syntax::Timesyncd => timesyncd_sources(text),
    }
}

/// Lines whose first word is one of `directives`, comment lines skipped. ntp.conf also allows a
/// trailing `#` comment, which is cut so it is not mistaken for an option.
fn source_lines(text: &str, comment_starts: &[char], directives: &[&str]) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with(comment_starts))
        .map(|line| line.split_once('#').map_or(line, |(before, _)| before).trim_end())
        .filter(|line| line.split_whitespace().next().is_some_and(|word| directives.iter().any(|d| word.eq_ignore_ascii_case(d))))
        .map(str::to_string)
        .collect()
}

/// `NTP=` and `FallbackNTP=` in the `[Time]` section, one entry per server (`NTP=a b` gives
/// `NTP=a`, `NTP=b`). systemd ignores assignments outside a section, so do we.
fn timesyncd_sources(text: &str) -> Vec<String> {
    let mut sources = Vec::new();
    let mut in_time = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if line.starts_with('[') {
            in_time = line == "[Time]";
            continue;
        }
        if !in_time {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key == "NTP" || key == "FallbackNTP" {
            sources.extend(value.split_whitespace().map(|server| format!("{key}={server}")));
        }
    }
    sources
}

/// A source line (as [`parse_sources`] records it) names Amazon Time Sync: its address is
/// `169.254.169.123` or `fd00:ec2::123`, or it is a chrony `refclock PHC` on the ENA PTP clock.
fn is_amazon_source(source: &str) -> bool {
    if let Some((_, server)) = source.split_once('=') {
        if !source.contains(char::is_whitespace) {
            return is_amazon_address(server);
        }
    }
    let mut words = source.split_whitespace();
    let directive = words.next().unwrap_or_default();
    let Some(target) = words.next() else {
        return false;
    };
    if directive.eq_ignore_ascii_case("refclock") {
        // `refclock PHC /dev/ptp0[:options] ...`: the device is the first colon-separated field.
        let device = words.next().unwrap_or_default().split(':').next().unwrap_or_default();
        return target.eq_ignore_ascii_case("PHC") && AMAZON_PHC_DEVICES.contains(&device);
    }
    is_amazon_address(target)
}

/// `169.254.169.123` or `fd00:ec2::123`, with or without brackets and an optional port.
fn is_amazon_address(address: &str) -> bool {
    let host = if let Some(rest) = address.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else if address.matches(':').count() == 1 {
        // `host:port`; more than one colon is a bare IPv6 address.
        address.split(':').next().unwrap_or_default()
    } else {
        address
    };
    host == AMAZON_TIME_SYNC_V4 || host.eq_ignore_ascii_case(AMAZON_TIME_SYNC_V6)
}

/// The checks: id "clock.kernel" (from the kernel clock) and id "clock.daemon" (from TimeSync).
pub fn checks(sync: &TimeSync, kernel: Option<&KernelClock>) -> Vec<Check> {
    let daemon = if cfg!(target_os = "linux") {
        daemon_check(sync)
    } else {
        // chronyd, ntpd and timesyncd are Linux's; elsewhere their absence says nothing.
        Check::pass(
            "clock.daemon",
            "time daemons are checked on Linux only; on Windows, `w32tm /query /status` shows the time source \
             (Amazon Time Sync is 169.254.169.123)",
        )
    };
    vec![kernel_check(kernel), daemon]
}

fn kernel_check(kernel: Option<&KernelClock>) -> Check {
    let Some(k) = kernel else {
        return Check::pass("clock.kernel", "the kernel clock state is not available on this OS (adjtimex is Linux-only)")
            .detail("available", false);
    };
    let estimated_ms = k.estimated_error_us as f64 / 1000.0;
    let maximum_ms = k.maximum_error_us as f64 / 1000.0;
    let check = if !k.synchronized {
        Check::warn(
            "clock.kernel",
            "the kernel reports its clock as not synchronized (STA_UNSYNC)",
            "start or repair the time daemon: `sudo systemctl enable --now chronyd`, then `chronyc tracking` to see its state \
             (`Leap status: Normal` once synchronised)",
        )
    } else if k.estimated_error_us > MAX_ESTIMATED_ERROR_US {
        Check::warn(
            "clock.kernel",
            format!("the kernel clock is synchronized but its estimated error is {estimated_ms:.1} ms (more than 100 ms)"),
            "check the daemon's state with `chronyc tracking` (System time, Root dispersion) and its sources with \
             `chronyc sources -v`; prefer Amazon Time Sync (`server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4`)",
        )
    } else {
        Check::pass("clock.kernel", format!("the kernel clock is synchronized (estimated error {estimated_ms:.3} ms)"))
    };
    check
        .detail("available", true)
        .detail("synchronized", k.synchronized)
        .detail("estimated_error_ms", estimated_ms)
        .detail("maximum_error_ms", maximum_ms)
}

fn daemon_check(sync: &TimeSync) -> Check {
    let running: Vec<Value> = sync.running.iter().map(|d| Value::from(d.name())).collect();
    let files: Vec<Value> = sync.configs.iter().map(|c| Value::from(c.path.display().to_string())).collect();

    let amazon = sync.running.iter().find_map(|d| own_configs(sync, d).find(|c| c.amazon_time_sync).map(|c| (d, c)));
    // When no running daemon uses Amazon Time Sync, advise on the first one (chrony before ntpd
    // before timesyncd), the one most likely to be the host's intended daemon.
    let check = match (sync.running.first(), amazon) {
        (None, _) => {
            Check::fail("clock.daemon", "no time synchronisation daemon (chronyd, ntpd, systemd-timesyncd) is running", no_daemon_fix(sync))
        }
        (Some(_), Some((daemon, config))) => {
            let source = config.sources.iter().find(|s| is_amazon_source(s)).map_or("", String::as_str);
            Check::pass(
                "clock.daemon",
                format!("{} is running and {} names Amazon Time Sync ({source})", daemon.name(), config.path.display()),
            )
        }
        (Some(daemon), None) => {
            let sources: Vec<&str> = own_configs(sync, daemon).flat_map(|c| c.sources.iter().map(String::as_str)).collect();
            let listed = match sources.len() {
                0 => "no time source".to_string(),
                1..=3 => sources.join(", "),
                n => format!("{} and {} more", sources[..3].join(", "), n - 3),
            };
            // Edit the file that already names sources, so the new line sits next to them.
            let file = own_configs(sync, daemon)
                .find(|c| !c.sources.is_empty())
                .or_else(|| own_configs(sync, daemon).next())
                .map_or_else(|| daemon.default_config().to_string(), |c| c.path.display().to_string());
            Check::warn(
                "clock.daemon",
                format!("{} is running but its configuration names {listed}, not Amazon Time Sync (169.254.169.123)", daemon.name()),
                amazon_fix(daemon, &file),
            )
        }
    };
    check.detail("running", running).detail("config_files", files).detail("amazon_time_sync", amazon.is_some())
}

/// `daemon`'s configuration files, in inspection order.
fn own_configs<'a>(sync: &'a TimeSync, daemon: &'a Daemon) -> impl Iterator<Item = &'a SyncConfig> + 'a {
    sync.configs.iter().filter(move |c| &c.daemon == daemon)
}

/// The exact change that points `daemon` at Amazon Time Sync.
fn amazon_fix(daemon: &Daemon, file: &str) -> String {
    match daemon {
        Daemon::Chrony => format!(
            "add `{CHRONY_LINE}` to {file} (on IPv6-only instances `{CHRONY_LINE_V6}`), then run \
             `sudo systemctl restart chronyd` and check with `chronyc sources`"
        ),
        Daemon::Ntpd => format!(
            "add `server 169.254.169.123 prefer iburst` to {file} (on IPv6-only instances `server fd00:ec2::123 prefer iburst`), \
             then restart ntpd with `sudo systemctl restart ntpd` (the unit is `ntp` or `ntpsec` on Debian/Ubuntu)"
        ),
        Daemon::Timesyncd => format!(
            "add `NTP=169.254.169.123` under `[Time]` in {file} (on IPv6-only instances `NTP=fd00:ec2::123`), then run \
             `sudo systemctl restart systemd-timesyncd`"
        ),
    }
}

/// The fix when no daemon runs: start chrony if it is configured for Amazon Time Sync already,
/// otherwise install it and add the line.
fn no_daemon_fix(sync: &TimeSync) -> String {
    let chrony_amazon = sync.configs.iter().find(|c| c.daemon == Daemon::Chrony && c.amazon_time_sync);
    let start = "`sudo systemctl enable --now chronyd`";
    match chrony_amazon {
        Some(config) => format!("chrony is configured for Amazon Time Sync in {} but not running: run {start}", config.path.display()),
        None => format!(
            "install chrony (`sudo dnf install -y chrony` or `sudo apt-get install -y chrony`) and point it at Amazon Time Sync: \
             add `{CHRONY_LINE}` to /etc/chrony.conf (on IPv6-only instances `{CHRONY_LINE_V6}`), then run {start}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A temporary host root, removed on drop.
    struct Root(PathBuf);

    impl Root {
        fn new() -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("freshcreds-timesync-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Root(dir)
        }

        fn write(&self, host_path: &str, content: impl AsRef<[u8]>) -> &Self {
            let path = self.0.join(host_path.trim_start_matches('/'));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
            self
        }

        fn process(&self, pid: u32, comm: &str) -> &Self {
            self.write(&format!("/proc/{pid}/comm"), format!("{comm}\n"))
        }

        fn daemon_check(&self) -> Check {
            let sync = inspect(&self.0);
            checks(&sync, None).into_iter().find(|c| c.id == "clock.daemon").unwrap()
        }
    }

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn chrony_with_amazon_server_passes() {
        let root = Root::new();
        root.process(123, "chronyd").write("/etc/chrony.conf", "server 169.254.169.123 prefer iburst\n");
        let check = root.daemon_check();
        assert_eq!(check.status, Status::Pass, "{check:?}");
        assert!(check.finding.contains("chronyd") && check.finding.contains("/etc/chrony.conf"), "{}", check.finding);
        assert_eq!(check.details["amazon_time_sync"], true);
        assert_eq!(check.details["running"], serde_json::json!(["chronyd"]));
        assert_eq!(check.details["config_files"], serde_json::json!(["/etc/chrony.conf"]));
        assert_eq!(check.fix, None);
    }

    #[test]
    fn chrony_with_public_pool_only_warns_with_fix_line() {
        let root = Root::new();
        root.process(123, "chronyd").write("/etc/chrony/chrony.conf", "pool 2.debian.pool.ntp.org iburst\n");
        let check = root.daemon_check();
        assert_eq!(check.status, Status::Warn, "{check:?}");
        assert!(check.finding.contains("pool 2.debian.pool.ntp.org iburst"), "{}", check.finding);
        let fix = check.fix.unwrap();
        assert!(fix.contains("server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4"), "{fix}");
        assert!(fix.contains("/etc/chrony/chrony.conf"), "{fix}");
        assert!(fix.contains("sudo systemctl restart chronyd"), "{fix}");
        assert!(fix.contains("fd00:ec2::123"), "{fix}");
        assert_eq!(check.details["amazon_time_sync"], false);
    }

    #[test]
    fn warn_lists_at_most_three_sources() {
        let root = Root::new();
        root.process(9, "chronyd").write("/etc/chrony.conf", "pool a\npool b\npool c\npool d\npool e\n");
        let check = root.daemon_check();
        assert_eq!(check.status, Status::Warn);
        assert!(check.finding.contains("pool a, pool b, pool c and 2 more"), "{}", check.finding);
    }

    #[test]
    fn al2023_link_local_sources_passes() {
        let root = Root::new();
        root.process(123, "chronyd")
            .write("/etc/chrony.conf", "pool 2.amazon.pool.ntp.org iburst\nsourcedir /etc/chrony.d\n")
            .write("/etc/chrony.d/link-local.sources", "# Amazon Time Sync\nserver 169.254.169.123 prefer iburst minpoll 4 maxpoll 4\n");
        let sync = inspect(&root.0);
        let paths: Vec<_> = sync.configs.iter().map(|c| c.path.clone()).collect();
        assert_eq!(paths, vec![PathBuf::from("/etc/chrony.conf"), PathBuf::from("/etc/chrony.d/link-local.sources")]);
        let check = root.daemon_check();
        assert_eq!(check.status, Status::Pass, "{check:?}");
        assert!(check.finding.contains("/etc/chrony.d/link-local.sources"), "{}", check.finding);
    }

    #[test]
    fn ubuntu_sources_d_passes() {
        let root = Root::new();
        root.process(77, "chronyd")
            .write("/etc/chrony/chrony.conf", "sourcedir /etc/chrony/sources.d\n")
            .write("/etc/chrony/sources.d/zz-other.sources", "pool ntp.ubuntu.com iburst\n")
            .write("/etc/chrony/sources.d/aws.sources", "server 169.254.169.123 prefer iburst\n")
            .write("/etc/chrony/sources.d/ignored.txt", "server 169.254.169.123\n");
        let sync = inspect(&root.0);
        let paths: Vec<_> = sync.configs.iter().map(|c| c.path.display().to_string()).collect();
        assert_eq!(paths, ["/etc/chrony/chrony.conf", "/etc/chrony/sources.d/aws.sources", "/etc/chrony/sources.d/zz-other.sources"]);
        assert_eq!(root.daemon_check().status, Status::Pass);
    }

    #[test]
    fn chrony_phc_refclock_passes() {
        for line in ["refclock PHC /dev/ptp0 poll 0 delay 0.000010 prefer", "refclock PHC /dev/ptp_ena:extpps poll 0"] {
            let root = Root::new();
            root.process(123, "chronyd").write("/etc/chrony.conf", format!("{line}\n"));
            let sync = inspect(&root.0);
            assert_eq!(sync.configs[0].sources, vec![line.to_string()]);
            assert!(sync.configs[0].amazon_time_sync, "{line}");
            assert_eq!(root.daemon_check().status, Status::Pass, "{line}");
        }
        let root = Root::new();
        root.process(123, "chronyd").write("/etc/chrony.conf", "refclock PHC /dev/ptp1\n");
        assert_eq!(root.daemon_check().status, Status::Warn);
    }

    #[test]
    fn chrony_bracketed_ipv6_passes() {
        let root = Root::new();
        root.process(123, "chronyd").write("/etc/chrony.conf", "server [fd00:ec2::123] prefer iburst\n");
        assert_eq!(root.daemon_check().status, Status::Pass);
        assert!(is_amazon_source("server fd00:ec2::123 iburst"));
        assert!(is_amazon_source("server FD00:EC2::123"));
        assert!(!is_amazon_source("server 169.254.169.1234"));
    }

    #[test]
    fn timesyncd_truncated_comm_with_ntp_passes() {
        let root = Root::new();
        root.process(321, "systemd-timesyn")
            .write("/etc/systemd/timesyncd.conf", "[Time]\n#NTP=\n#FallbackNTP=ntp.ubuntu.com\n")
            .write("/etc/systemd/timesyncd.conf.d/aws.conf", "[Time]\nNTP=169.254.169.123 fd00:ec2::123\n");
        let sync = inspect(&root.0);
        assert_eq!(sync.running, vec![Daemon::Timesyncd]);
        assert_eq!(sync.configs[1].sources, vec!["NTP=169.254.169.123", "NTP=fd00:ec2::123"]);
        let check = root.daemon_check();
        assert_eq!(check.status, Status::Pass, "{check:?}");
        assert!(check.finding.contains("systemd-timesyncd"), "{}", check.finding);
    }

    #[test]
    fn timesyncd_without_amazon_warns_with_its_line() {
        let root = Root::new();
        root.process(321, "systemd-timesyn").write("/etc/systemd/timesyncd.conf", "[Time]\nFallbackNTP=ntp.ubuntu.com\n");
        let check = root.daemon_check();
        assert_eq!(check.status, Status::Warn);
        let fix = check.fix.unwrap();
        assert!(fix.contains("NTP=169.254.169.123") && fix.contains("[Time]"), "{fix}");
        assert!(fix.contains("sudo systemctl restart systemd-timesyncd"), "{fix}");
    }

    #[test]
    fn ntpd_with_pool_only_warns() {
        let root = Root::new();
        root.process(55, "ntpd").write("/etc/ntp.conf", "driftfile /var/lib/ntp/drift\npool 0.amazon.pool.ntp.org iburst # public\n");
        let sync = inspect(&root.0);
        assert_eq!(sync.configs[0].sources, vec!["pool 0.amazon.pool.ntp.org iburst"]);
        let check = root.daemon_check();
        assert_eq!(check.status, Status::Warn, "{check:?}");
        assert!(check.finding.contains("ntpd"), "{}", check.finding);
        let fix = check.fix.unwrap();
        assert!(fix.contains("server 169.254.169.123 prefer iburst") && fix.contains("/etc/ntp.conf"), "{fix}");
    }

    #[test]
    fn nothing_running_fails() {
        let root = Root::new();
        root.process(1, "systemd").process(2, "bash").write("/proc/self/comm", "chronyd\n");
        let check = root.daemon_check();
        assert_eq!(check.status, Status::Fail, "{check:?}");
        assert_eq!(check.finding, "no time synchronisation daemon (chronyd, ntpd, systemd-timesyncd) is running");
        let fix = check.fix.unwrap();
        assert!(fix.contains("server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4"), "{fix}");
        assert!(fix.contains("sudo systemctl enable --now chronyd"), "{fix}");
        assert_eq!(check.details["running"], serde_json::json!([]));
    }

    #[test]
    fn empty_root_fails() {
        let root = Root::new();
        assert_eq!(inspect(&root.0), TimeSync::default());
        assert_eq!(root.daemon_check().status, Status::Fail);
    }

    #[test]
    fn configured_daemon_that_is_not_running_does_not_count() {
        let root = Root::new();
        root.process(10, "systemd-timesyn").write("/etc/chrony.conf", "server 169.254.169.123 prefer iburst\n");
        let check = root.daemon_check();
        assert_eq!(check.status, Status::Warn, "{check:?}");
        assert!(check.finding.contains("systemd-timesyncd"), "{}", check.finding);
        assert!(check.fix.unwrap().contains("/etc/systemd/timesyncd.conf"));
    }

    #[test]
    fn commented_out_server_is_ignored() {
        let root = Root::new();
        root.process(123, "chronyd").write(
            "/etc/chrony.conf",
            "# server 169.254.169.123 prefer iburst\n! server 169.254.169.123\n; server fd00:ec2::123\n\npool 2.debian.pool.ntp.org iburst\n",
        );
        let sync = inspect(&root.0);
        assert_eq!(sync.configs[0].sources, vec!["pool 2.debian.pool.ntp.org iburst"]);
        assert!(!sync.configs[0].amazon_time_sync);
        assert_eq!(root.daemon_check().status, Status::Warn);
    }

    #[test]
    fn invalid_utf8_is_read_lossily() {
        let root = Root::new();
        root.process(123, "chronyd").write("/etc/chrony.conf", b"# caf\xe9\nserver 169.254.169.123 iburst\n");
        assert_eq!(root.daemon_check().status, Status::Pass);
    }

    #[test]
    fn running_daemons_are_reported_once_in_fixed_order() {
        let root = Root::new();
        root.process(300, "systemd-timesyn").process(200, "chronyd").process(201, "chronyd").process(100, "ntpd");
        assert_eq!(inspect(&root.0).running, vec![Daemon::Chrony, Daemon::Ntpd, Daemon::Timesyncd]);
    }

    #[test]
    fn kernel_none_passes_as_not_available() {
        let check = kernel_check(None);
        assert_eq!(check.id, "clock.kernel");
        assert_eq!(check.status, Status::Pass);
        assert!(check.finding.contains("not available"), "{}", check.finding);
        assert_eq!(check.details["available"], false);
    }

    #[test]
    fn kernel_synchronized_passes() {
        let k = KernelClock { synchronized: true, estimated_error_us: 1_500, maximum_error_us: 250_000 };
        let check = kernel_check(Some(&k));
        assert_eq!(check.status, Status::Pass, "{check:?}");
        assert_eq!(check.details["synchronized"], true);
        assert_eq!(check.details["estimated_error_ms"], 1.5);
        assert_eq!(check.details["maximum_error_ms"], 250.0);
    }

    #[test]
    fn kernel_unsynchronized_warns() {
        let k = KernelClock { synchronized: false, estimated_error_us: 16_000_000, maximum_error_us: 16_000_000 };
        let check = kernel_check(Some(&k));
        assert_eq!(check.status, Status::Warn);
        assert_eq!(check.finding, "the kernel reports its clock as not synchronized (STA_UNSYNC)");
        let fix = check.fix.unwrap();
        assert!(fix.contains("sudo systemctl enable --now chronyd") && fix.contains("chronyc tracking"), "{fix}");
    }

    #[test]
    fn kernel_large_error_warns() {
        let k = KernelClock { synchronized: true, estimated_error_us: 250_000, maximum_error_us: 500_000 };
        let check = kernel_check(Some(&k));
        assert_eq!(check.status, Status::Warn, "{check:?}");
        assert!(check.finding.contains("250.0 ms"), "{}", check.finding);
        assert!(check.fix.unwrap().contains("chronyc tracking"));
        // The boundary itself is still fine.
        let k = KernelClock { estimated_error_us: 100_000, ..k };
        assert_eq!(kernel_check(Some(&k)).status, Status::Pass);
    }

    #[test]
    fn checks_returns_kernel_then_daemon() {
        let ids: Vec<_> = checks(&TimeSync::default(), None).iter().map(|c| c.id).collect();
        assert_eq!(ids, ["clock.kernel", "clock.daemon"]);
    }

    #[test]
    fn read_kernel_clock_is_some_on_linux() {
        let clock = read_kernel_clock();
        if cfg!(target_os = "linux") {
            let clock = clock.unwrap();
            assert!(clock.maximum_error_us >= 0 && clock.estimated_error_us >= 0, "{clock:?}");
        } else {
            assert_eq!(clock, None);
        }
    }
}
