//! The C ABI of freshcreds, for callers that are not Java. `include/freshcreds.h` is generated
//! from this file by cbindgen at build time.
//!
//! Conventions: every function returns a [`FreshcredsStatus`]; on failure it stores a message
//! (cause and fix, never a secret) in `*error_out` if that is not null, to be released with
//! [`freshcreds_string_free`]. Agents are numeric handles, not pointers: a closed or unknown
//! handle gives `FRESHCREDS_STATUS_CLOSED`, never a crash. No panic crosses this boundary.

use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use freshcreds_core::config::AgentOptions;
use freshcreds_core::{Agent, CredentialsError, ErrorKind};
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

static AGENTS: Mutex<Option<HashMap<u64, Arc<Agent>>>> = Mutex::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn with_agents<T>(f: impl FnOnce(&mut HashMap<u64, Arc<Agent>>) -> T) -> T {
    let mut guard = AGENTS.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(HashMap::new))
}

enum Failure {
    Core(CredentialsError),
    Argument(String),
}

impl From<CredentialsError> for Failure {
    fn from(e: CredentialsError) -> Self {
        Self::Core(e)
    }
}

fn guarded(error_out: *mut *mut c_char, body: impl FnOnce() -> Result<(), Failure>) -> FreshcredsStatus {
    let (status, message) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return FreshcredsStatus::Ok,
        Ok(Err(Failure::Core(e))) => {
            let status = match e.kind() {
                ErrorKind::CredentialsUnavailable => FreshcredsStatus::CredentialsUnavailable,
                ErrorKind::InvalidConfiguration => FreshcredsStatus::InvalidConfiguration,
                ErrorKind::Closed => FreshcredsStatus::Closed,
                ErrorKind::Internal => FreshcredsStatus::Internal,
            };
            (status, e.to_string())
        }
        Ok(Err(Failure::Argument(m))) => (FreshcredsStatus::InvalidArgument, m),
        Err(_) => (FreshcredsStatus::Internal, "internal error in freshcreds (a panic); this is a bug, please report it".to_string()),
    };
    if !error_out.is_null() {
        let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
        // SAFETY: the caller passed a writable `char**` or null (checked above).
        unsafe { *error_out = text.into_raw() };
    }
    status
}

/// # Safety
/// `p` is null or a valid NUL-terminated string.
unsafe fn read_str(p: *const c_char, what: &str) -> Result<String, Failure> {
    if p.is_null() {
        return Err(Failure::Argument(format!("{what} is null")));
    }
    CStr::from_ptr(p).to_str().map(str::to_string).map_err(|_| Failure::Argument(format!("{what} is not UTF-8")))
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
    guarded(error_out, || {
        if agent_out.is_null() || (count > 0 && (keys.is_null() || values.is_null())) {
            return Err(Failure::Argument("agent_out, keys or values is null".into()));
        }
        let mut pairs = Vec::with_capacity(count);
        for i in 0..count {
            pairs.push((read_str(*keys.add(i), "an option key")?, read_str(*values.add(i), "an option value")?));
        }
        let agent = Agent::from_options(&AgentOptions::from_pairs(&pairs)?)?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        with_agents(|agents| agents.insert(id, Arc::new(agent)));
        *agent_out = id;
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
    guarded(error_out, || {
        if out.is_null() {
            return Err(Failure::Argument("out is null".into()));
        }
        let agent = with_agents(|agents| agents.get(&agent).cloned()).ok_or(CredentialsError::Closed)?;
        let snapshot = agent.get_blocking()?;
        let c = &snapshot.credentials;
        let string = |s: &str| CString::new(s).map(CString::into_raw).map_err(|_| Failure::Argument("credentials contain NUL".into()));
        let expiration = c
            .expiration()
            .and_then(|e| e.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(i64::MIN);
        *out = FreshcredsCredentials {
            access_key_id: string(c.access_key_id())?,
            secret_access_key: string(c.secret_access_key())?,
            session_token: match c.session_token() {
                Some(t) => string(t)?,
                None => std::ptr::null_mut(),
            },
            expiration_epoch_millis: expiration,
            generation: snapshot.generation,
        };
        Ok(())
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
    guarded(error_out, || {
        let id = read_str(access_key_id, "access_key_id")?;
        let agent = with_agents(|agents| agents.get(&agent).cloned()).ok_or(CredentialsError::Closed)?;
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
    guarded(error_out, || {
        let agent = with_agents(|agents| agents.remove(&agent)).ok_or(CredentialsError::Closed)?;
        agent.close();
        Ok(())
    })
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

/// Releases a message returned through `error_out`.
///
/// # Safety
/// `s` is null or a string returned by this library and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn freshcreds_string_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}
