//! The C ABI of freshcreds, for callers that are not Java. `include/freshcreds.h` is generated
//! from this file by cbindgen at build time.
//!
//! Conventions: every function returns a [`FreshcredsStatus`]; on failure it stores a message
//! (cause and fix, never a secret) in `*error_out` if that is not null, to be released with
//! [`freshcreds_string_free`]. Agents are numeric handles, not pointers: a closed or unknown
//! handle gives `FRESHCREDS_STATUS_CLOSED`, never a crash. No panic crosses this boundary.
//!
//! The handle registry, the panic guard, the failure classification and the epoch-millis
//! conversion are `freshcreds-bridge`'s, shared with the JNI library; what is C-only lives here:
//! the status codes, C strings and their wiping.

// No unwrap or expect outside tests: every failure becomes an error the caller (and, across the
// bridges, the Java or C caller) can act on, never a panic.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::ffi::{c_char, CStr, CString};

use freshcreds_bridge::{agents, time, Failure, FailureKind};
use freshcreds_core::CredentialsError;
use zeroize::Zeroize;

/// Result of every call.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreshcredsStatus {
    Ok = 0,
    CredentialsUnavailable = 1,
    InvalidConfiguration = 2,
    Closed = 3,
    Internal = 4,
    /// A null pointer or non-UTF-8 string where one was required.
    InvalidArgument = 5,
}

/// Credentials handed to C. Release with [`freshcreds_credentials_free`], which also overwrites
/// the secret and token.
#[repr(C)]
pub struct FreshcredsCredentials {
    pub access_key_id: *mut c_char,
    pub secret_access_key: *mut c_char,
    /// Null when the credentials have no session token.
    pub session_token: *mut c_char,
    /// Milliseconds since the Unix epoch; `INT64_MIN` when they do not expire.
    pub expiration_epoch_millis: i64,
    pub generation: u64,
}

/// The one table from failure kind to status code. Exhaustive, so a new kind does not build until
/// it has a status.
impl From<FailureKind> for FreshcredsStatus {
    fn from(kind: FailureKind) -> Self {
        match kind {
            FailureKind::CredentialsUnavailable => Self::CredentialsUnavailable,
            FailureKind::InvalidConfiguration => Self::InvalidConfiguration,
            FailureKind::Closed => Self::Closed,
            FailureKind::Internal => Self::Internal,
            FailureKind::InvalidArgument => Self::InvalidArgument,
        }
    }
}

/// The message a C caller gets for a caught panic: the C ABI has never passed the panic's own text
/// on (the JNI library does, in `FreshcredsException`).
const PANIC_MESSAGE: &str = "internal error in freshcreds (a panic); this is a bug, please report it";

/// Runs `body` for the C function `method` inside the shared panic guard: `Ok`, or the failure's
/// status with its message stored in `*error_out`.
fn guarded(method: &'static str, error_out: *mut *mut c_char, body: impl FnOnce() -> Result<(), Failure>) -> FreshcredsStatus {
    let failure = match freshcreds_bridge::guard(method, body) {
        Ok(()) => return FreshcredsStatus::Ok,
        Err(failure) => failure,
    };
    let message = match &failure {
        Failure::Panic { .. } => PANIC_MESSAGE.to_string(),
        other => other.to_string(),
    };
    if !error_out.is_null() {
        let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
        // SAFETY: the caller passed a writable `char**` or null (checked above).
        unsafe { *error_out = text.into_raw() };
    }
    failure.kind().into()
}

/// # Safety
/// `p` is null or a valid NUL-terminated string.
unsafe fn read_str(p: *const c_char, what: &str) -> Result<String, Failure> {
    if p.is_null() {
        return Err(Failure::InvalidArgument(format!("{what} is null")));
    }
    CStr::from_ptr(p).to_str().map(str::to_string).map_err(|_| Failure::InvalidArgument(format!("{what} is not UTF-8")))
}

/// Creates an agent from `count` option pairs (`keys[i]` = `values[i]`; the option names of the
/// Java builder, e.g. `endpoint`, `roleName`). Stores the handle in `*agent_out`.
///
/// # Safety
/// `keys` and `values` point to `count` valid strings each (or `count` is 0); `agent_out` is a
/// valid pointer; `error_out` is null or valid.
#[no_mangle]
pub unsafe extern "C" fn freshcreds_agent_new(
    keys: *const *const c_char,
    values: *const *const c_char,
    count: usize,
    agent_out: *mut u64,
    error_out: *mut *mut c_char,
) -> FreshcredsStatus {
    guarded("freshcreds_agent_new", error_out, || {
        if agent_out.is_null() {
            return Err(Failure::InvalidArgument("agent_out is null".into()));
        }
        *agent_out = agents::create(&read_pairs(keys, values, count, "option")?)?;
        Ok(())
    })
}

/// `count` key, value pairs from two arrays of C strings; `what` names them in messages.
///
/// # Safety
/// `keys` and `values` point to `count` valid strings each, or `count` is 0.
unsafe fn read_pairs(
    keys: *const *const c_char,
    values: *const *const c_char,
    count: usize,
    what: &str,
) -> Result<Vec<(String, String)>, Failure> {
    if count > 0 && (keys.is_null() || values.is_null()) {
        return Err(Failure::InvalidArgument(format!("the {what} keys or values are null")));
    }
    let mut pairs = Vec::with_capacity(count);
    for i in 0..count {
        pairs.push((read_str(*keys.add(i), &format!("an {what} key"))?, read_str(*values.add(i), &format!("an {what} value"))?));
    }
    Ok(pairs)
}

/// Runs the doctor's checks, as `java -jar freshcreds.jar doctor` and `freshcreds-doctor` do:
/// agent options as for [`freshcreds_agent_new`], and the doctor's own settings by name (`json`,
/// `callSts`, `stsEndpoint`, `root`, `http.proxyHost`, `http.proxyPort`, `http.nonProxyHosts`).
/// Stores the exit code (0 every check passed, 1 a warning, 2 a failure) in `*exit_code_out` and
/// the report (text, or JSON when `json` is `true`) in `*report_out`, to be released with
/// [`freshcreds_string_free`]. The report never holds a secret.
///
/// # Safety
/// `keys`/`values` point to `count` valid strings each and `setting_keys`/`setting_values` to
/// `setting_count` (or the counts are 0); `exit_code_out` and `report_out` are valid pointers;
/// `error_out` is null or valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // two arrays of pairs, two outputs and the error, as every function here takes them
pub unsafe extern "C" fn freshcreds_doctor(
    keys: *const *const c_char,
    values: *const *const c_char,
    count: usize,
    setting_keys: *const *const c_char,
    setting_values: *const *const c_char,
    setting_count: usize,
    exit_code_out: *mut i32,
    report_out: *mut *mut c_char,
    error_out: *mut *mut c_char,
) -> FreshcredsStatus {
    guarded("freshcreds_doctor", error_out, || {
        if exit_code_out.is_null() || report_out.is_null() {
            return Err(Failure::InvalidArgument("exit_code_out or report_out is null".into()));
        }
        let options = read_pairs(keys, values, count, "option")?;
        let settings = read_pairs(setting_keys, setting_values, setting_count, "doctor setting")?;
        let (code, report) = freshcreds_core::doctor::run_with_settings(options, &settings)?;
        let report = CString::new(report.replace('\0', " ")).map_err(|_| Failure::InvalidArgument("the report holds a NUL".into()))?;
        *exit_code_out = code;
        *report_out = report.into_raw();
        Ok(())
    })
}

/// Fills `*out` with current credentials, refreshing first if they are due. May block on the
/// first call and inside the mandatory refresh window.
///
/// # Safety
/// `out` is a valid pointer; `error_out` is null or valid.
#[no_mangle]
pub unsafe extern "C" fn freshcreds_agent_get_credentials(
    agent: u64,
    out: *mut FreshcredsCredentials,
    error_out: *mut *mut c_char,
) -> FreshcredsStatus {
    guarded("freshcreds_agent_get_credentials", error_out, || {
        if out.is_null() {
            return Err(Failure::InvalidArgument("out is null".into()));
        }
        let agent = agents::get(agent)?;
        let snapshot = agent.get_blocking()?;
        *out = to_c(&snapshot.credentials, snapshot.generation)?;
        Ok(())
    })
}

/// A C string on its way to the caller. Until [`SecretCString::into_raw`] hands it over, it is
/// ours, and dropping it (say, because a later field could not be converted) overwrites it first:
/// `CString` itself frees its bytes as they are.
struct SecretCString(Option<CString>);

impl SecretCString {
    /// `None` when `text` contains a NUL, which a C string cannot carry. The copy that the refused
    /// conversion made is overwritten too.
    fn new(text: &str) -> Option<Self> {
        match CString::new(text) {
            Ok(c) => Some(Self(Some(c))),
            Err(e) => {
                e.into_vec().zeroize();
                None
            }
        }
    }

    fn into_raw(mut self) -> *mut c_char {
        self.0.take().map_or(std::ptr::null_mut(), CString::into_raw)
    }
}

impl Drop for SecretCString {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.into_bytes_with_nul().zeroize();
        }
    }
}

/// The credentials as C strings. Every field is converted before any is handed over, so a field
/// that cannot be (a NUL inside) leaves nothing allocated and no copy of the secret behind.
fn to_c(c: &freshcreds_core::Credentials, generation: u64) -> Result<FreshcredsCredentials, Failure> {
    let field = |text: &str, name: &str| {
        SecretCString::new(text).ok_or_else(|| {
            Failure::Core(CredentialsError::SourceFailed {
                source_name: c.source(),
                detail: format!("the {name} contains a NUL byte, which a C string cannot carry"),
            })
        })
    };
    let access_key_id = field(c.access_key_id(), "access key id")?;
    let secret_access_key = field(c.secret_access_key(), "secret access key")?;
    let session_token = c.session_token().map(|t| field(t, "session token")).transpose()?;
    Ok(FreshcredsCredentials {
        access_key_id: access_key_id.into_raw(),
        secret_access_key: secret_access_key.into_raw(),
        session_token: session_token.map_or(std::ptr::null_mut(), SecretCString::into_raw),
        expiration_epoch_millis: time::epoch_millis(c.expiration()),
        generation,
    })
}

/// Marks `access_key_id` as rejected by AWS; the agent refreshes at once (backoff allowing).
///
/// # Safety
/// `access_key_id` is a valid string; `error_out` is null or valid.
#[no_mangle]
pub unsafe extern "C" fn freshcreds_agent_invalidate(
    agent: u64,
    access_key_id: *const c_char,
    error_out: *mut *mut c_char,
) -> FreshcredsStatus {
    guarded("freshcreds_agent_invalidate", error_out, || {
        let id = read_str(access_key_id, "access_key_id")?;
        let agent = agents::get(agent)?;
        agent.invalidate(&id)?;
        Ok(())
    })
}

/// Closes the agent. Closing twice gives `FRESHCREDS_STATUS_CLOSED`.
///
/// # Safety
/// `error_out` is null or valid.
#[no_mangle]
pub unsafe extern "C" fn freshcreds_agent_close(agent: u64, error_out: *mut *mut c_char) -> FreshcredsStatus {
    guarded("freshcreds_agent_close", error_out, || Ok(agents::close(agent)?))
}

/// Releases the strings in `*credentials`, overwriting the secret and token first.
///
/// # Safety
/// `credentials` is null or was filled by [`freshcreds_agent_get_credentials`] and not freed.
#[no_mangle]
pub unsafe extern "C" fn freshcreds_credentials_free(credentials: *mut FreshcredsCredentials) {
    if credentials.is_null() {
        return;
    }
    let c = &mut *credentials;
    for (p, secret) in [(&mut c.access_key_id, false), (&mut c.secret_access_key, true), (&mut c.session_token, true)] {
        if !p.is_null() {
            let owned = CString::from_raw(*p);
            let mut bytes = owned.into_bytes();
            if secret {
                bytes.zeroize();
            }
            *p = std::ptr::null_mut();
        }
    }
}

/// Releases a message returned through `error_out`, or a report from [`freshcreds_doctor`].
///
/// # Safety
/// `s` is null or a string returned by this library and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn freshcreds_string_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

#[cfg(test)]
mod tests {
    //! The conversion to C strings, watched by an allocator that counts, on the test's own thread,
    //! the blocks allocated and freed and the freed blocks that still hold a marker from the
    //! secret or the token.

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    use freshcreds_core::{Credentials, ErrorKind};

    use super::*;

    const MARK: &[u8] = b"CANARY-";

    thread_local! {
        static WATCHING: Cell<bool> = const { Cell::new(false) };
        /// Blocks allocated minus blocks freed while watched.
        static LIVE: Cell<isize> = const { Cell::new(0) };
        /// Blocks freed (or moved by realloc) while watched that still held [`MARK`].
        static LEFT_BEHIND: Cell<usize> = const { Cell::new(0) };
    }

    fn watching() -> bool {
        WATCHING.try_with(Cell::get).unwrap_or(false)
    }

    fn bump(counter: &'static std::thread::LocalKey<Cell<isize>>, by: isize) {
        let _ = counter.try_with(|c| c.set(c.get() + by));
    }

    /// # Safety
    /// `ptr` points to `len` readable bytes.
    unsafe fn holds_mark(ptr: *const u8, len: usize) -> bool {
        len >= MARK.len() && std::slice::from_raw_parts(ptr, len).windows(MARK.len()).any(|w| w == MARK)
    }

    fn note_release(ptr: *const u8, len: usize) {
        // SAFETY: called with a block that is still allocated, before it is released.
        if unsafe { holds_mark(ptr, len) } {
            let _ = LEFT_BEHIND.try_with(|c| c.set(c.get() + 1));
        }
    }

    struct Watching;

    // SAFETY: every call is forwarded to `System` unchanged; blocks are only read before release.
    unsafe impl GlobalAlloc for Watching {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if watching() {
                bump(&LIVE, 1);
            }
            System.alloc(layout)
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if watching() {
                bump(&LIVE, -1);
                note_release(ptr, layout.size());
            }
            System.dealloc(ptr, layout)
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if watching() {
                note_release(ptr, layout.size());
            }
            System.realloc(ptr, layout, new_size)
        }
    }

    #[global_allocator]
    static ALLOCATOR: Watching = Watching;

    /// Runs `f` watched: (blocks still allocated, blocks freed with the mark still in them).
    fn watch(f: impl FnOnce()) -> (isize, usize) {
        LIVE.with(|c| c.set(0));
        LEFT_BEHIND.with(|c| c.set(0));
        WATCHING.with(|w| w.set(true));
        f();
        WATCHING.with(|w| w.set(false));
        (LIVE.with(Cell::get), LEFT_BEHIND.with(Cell::get))
    }

    fn credentials(id: &str, secret: &str, token: Option<&str>) -> Credentials {
        Credentials::new(id, secret, token.map(str::to_string), None, "imds")
    }

    #[test]
    fn every_failure_kind_has_its_own_status() {
        let statuses: Vec<FreshcredsStatus> = FailureKind::ALL.into_iter().map(FreshcredsStatus::from).collect();
        assert_eq!(statuses.iter().map(|s| *s as i32).collect::<Vec<_>>(), [1, 2, 3, 4, 5], "the codes are ABI: {statuses:?}");
        assert_eq!(FreshcredsStatus::from(FailureKind::from(ErrorKind::Closed)), FreshcredsStatus::Closed);
    }

    /// Reads the message `guarded` stored.
    fn take_message(p: *mut c_char) -> String {
        assert!(!p.is_null());
        // SAFETY: `guarded` stored a string from `CString::into_raw`.
        let text = unsafe { CStr::from_ptr(p) }.to_string_lossy().to_string();
        unsafe { freshcreds_string_free(p) };
        text
    }

    #[test]
    fn guarded_calls_report_failures_and_panics_as_statuses() {
        let mut error = std::ptr::null_mut();
        assert_eq!(guarded("t", &mut error, || Ok(())), FreshcredsStatus::Ok);
        assert!(error.is_null());
        assert_eq!(guarded("t", &mut error, || Err(CredentialsError::Closed.into())), FreshcredsStatus::Closed);
        assert_eq!(take_message(error), CredentialsError::Closed.to_string());
        let mut error = std::ptr::null_mut();
        assert_eq!(guarded("t", &mut error, || Err(Failure::InvalidArgument("x\0y".into()))), FreshcredsStatus::InvalidArgument);
        assert_eq!(take_message(error), "x y", "a NUL in a message cannot end it early");
        let mut error = std::ptr::null_mut();
        assert_eq!(guarded("t", &mut error, || panic!("detail CANARY")), FreshcredsStatus::Internal);
        assert_eq!(take_message(error), PANIC_MESSAGE);
        assert_eq!(guarded("t", std::ptr::null_mut(), || panic!("no error_out")), FreshcredsStatus::Internal);
    }

    #[test]
    fn expiration_is_epoch_millis() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        let c = Credentials::new("ASIAEXAMPLE000000001", "secret", None, Some(at), "imds");
        let Ok(mut out) = to_c(&c, 1) else { panic!("converts") };
        assert_eq!(out.expiration_epoch_millis, 1_700_000_000_123);
        // SAFETY: filled by `to_c` just above.
        unsafe { freshcreds_credentials_free(&mut out) };
    }

    #[test]
    fn a_nul_in_a_later_field_frees_and_wipes_the_fields_already_converted() {
        let cases = [
            ("session token", credentials("ASIAEXAMPLE000000001", "CANARY-secret-0000000000000000000000000", Some("CANARY-token\0rest"))),
            ("secret access key", credentials("ASIAEXAMPLE000000001", "CANARY-secret\0rest-00000000000000000000", Some("CANARY-token"))),
            ("access key id", credentials("ASIA\0EXAMPLE", "CANARY-secret-0000000000000000000000000", None)),
        ];
        for (field, c) in cases {
            // Everything, the error and its message included, is dropped inside the watch.
            let (live, left_behind) = watch(|| match to_c(&c, 7) {
                Ok(_) => panic!("{field}: a NUL cannot cross into C"),
                Err(Failure::Core(e)) => {
                    assert_eq!(e.kind(), ErrorKind::CredentialsUnavailable);
                    let message = e.to_string();
                    assert!(message.contains(field) && message.contains("NUL"), "{message}");
                    assert!(!message.contains("CANARY"), "{message}");
                }
                Err(other) => panic!("{field}: neither the caller's argument nor a panic: {other}"),
            });
            assert_eq!(live, 0, "{field}: {live} block(s) leaked (the fields converted before it)");
            assert_eq!(left_behind, 0, "{field}: {left_behind} freed block(s) still held the secret or token");
        }
    }

    #[test]
    fn converted_credentials_are_freed_whole_and_wiped() {
        let c = credentials("ASIAEXAMPLE000000001", "CANARY-secret-0000000000000000000000000", Some("CANARY-token-0000"));
        let (live, left_behind) = watch(|| {
            let Ok(mut out) = to_c(&c, 7) else { panic!("converts") };
            // SAFETY: filled by `to_c` just above.
            unsafe {
                assert_eq!(CStr::from_ptr(out.secret_access_key).to_bytes(), c.secret_access_key().as_bytes());
                assert_eq!(CStr::from_ptr(out.session_token).to_bytes(), b"CANARY-token-0000");
                assert_eq!(out.generation, 7);
                assert_eq!(out.expiration_epoch_millis, i64::MIN);
                freshcreds_credentials_free(&mut out);
            }
            assert!(out.access_key_id.is_null() && out.secret_access_key.is_null() && out.session_token.is_null());
        });
        assert_eq!(live, 0, "everything converted is freed");
        assert_eq!(left_behind, 0, "the secret and token are overwritten before they are freed");
    }
}
