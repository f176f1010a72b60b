//! The C ABI as a C caller uses it, against the in-process simulator: create, fetch, free,
//! invalidate, close; null pointers, unknown options and closed handles give status codes and a
//! message, never a crash.

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use freshcreds::*;
use freshcreds_sim::{SimConfig, Simulator};

fn message(p: *mut c_char) -> String {
    assert!(!p.is_null(), "an error message is returned");
    let text = unsafe { CStr::from_ptr(p) }.to_string_lossy().to_string();
    unsafe { freshcreds_string_free(p) };
    text
}

fn create(pairs: &[(&str, &str)]) -> (FreshcredsStatus, u64, Option<String>) {
    let keys: Vec<CString> = pairs.iter().map(|(k, _)| CString::new(*k).expect("no NUL")).collect();
    let values: Vec<CString> = pairs.iter().map(|(_, v)| CString::new(*v).expect("no NUL")).collect();
    let key_ptrs: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr()).collect();
    let value_ptrs: Vec<*const c_char> = values.iter().map(|v| v.as_ptr()).collect();
    let mut agent = 0u64;
    let mut error = ptr::null_mut();
    let status = unsafe { freshcreds_agent_new(key_ptrs.as_ptr(), value_ptrs.as_ptr(), pairs.len(), &mut agent, &mut error) };
    let error = (!error.is_null()).then(|| message(error));
    (status, agent, error)
}

#[test]
fn the_c_abi_end_to_end() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let sim = runtime.block_on(Simulator::start(SimConfig::default())).expect("simulator");

    let (status, agent, error) = create(&[("source", "imds"), ("endpoint", &sim.base_url())]);
    assert_eq!(status, FreshcredsStatus::Ok, "{error:?}");

    let mut creds = FreshcredsCredentials {
        access_key_id: ptr::null_mut(),
        secret_access_key: ptr::null_mut(),
        session_token: ptr::null_mut(),
        expiration_epoch_millis: 0,
        generation: 0,
    };
    let mut error = ptr::null_mut();
    assert_eq!(unsafe { freshcreds_agent_get_credentials(agent, &mut creds, &mut error) }, FreshcredsStatus::Ok);
    let issued = sim.current_credentials();
    assert_eq!(unsafe { CStr::from_ptr(creds.access_key_id) }.to_str().expect("utf8"), issued.access_key_id);
    assert_eq!(unsafe { CStr::from_ptr(creds.secret_access_key) }.to_str().expect("utf8"), issued.secret_access_key);
    assert!(!creds.session_token.is_null());
    assert!(creds.expiration_epoch_millis > 0);
    assert_eq!(creds.generation, 1);
    unsafe { freshcreds_credentials_free(&mut creds) };
    assert!(creds.access_key_id.is_null() && creds.secret_access_key.is_null() && creds.session_token.is_null());
    unsafe { freshcreds_credentials_free(&mut creds) }; // freeing twice is harmless
    unsafe { freshcreds_credentials_free(ptr::null_mut()) };

    let id = CString::new(issued.access_key_id.clone()).expect("no NUL");
    assert_eq!(unsafe { freshcreds_agent_invalidate(agent, id.as_ptr(), ptr::null_mut()) }, FreshcredsStatus::Ok);
    let mut error = ptr::null_mut();
    assert_eq!(unsafe { freshcreds_agent_invalidate(agent, ptr::null(), &mut error) }, FreshcredsStatus::InvalidArgument);
    assert!(message(error).contains("access_key_id is null"));
    let mut error = ptr::null_mut();
    assert_eq!(unsafe { freshcreds_agent_get_credentials(agent, ptr::null_mut(), &mut error) }, FreshcredsStatus::InvalidArgument);
    let _ = message(error);

    assert_eq!(unsafe { freshcreds_agent_close(agent, ptr::null_mut()) }, FreshcredsStatus::Ok);
    let mut error = ptr::null_mut();
    assert_eq!(unsafe { freshcreds_agent_close(agent, &mut error) }, FreshcredsStatus::Closed);
    assert!(message(error).contains("closed"));
    let mut error = ptr::null_mut();
    assert_eq!(unsafe { freshcreds_agent_get_credentials(agent, &mut creds, &mut error) }, FreshcredsStatus::Closed);
    let _ = message(error);
    assert_eq!(unsafe { freshcreds_agent_get_credentials(987_654, &mut creds, ptr::null_mut()) }, FreshcredsStatus::Closed);

    let (status, _, error) = create(&[("endpiont", "x")]);
    assert_eq!(status, FreshcredsStatus::InvalidConfiguration);
    assert!(error.expect("message").contains("unknown option 'endpiont'"));

    let (status, down, _) = create(&[("source", "imds"), ("endpoint", "http://127.0.0.1:9"), ("maxAttempts", "1")]);
    assert_eq!(status, FreshcredsStatus::Ok);
    let mut error = ptr::null_mut();
    assert_eq!(unsafe { freshcreds_agent_get_credentials(down, &mut creds, &mut error) }, FreshcredsStatus::CredentialsUnavailable);
    assert!(message(error).contains("http://127.0.0.1:9"));
}

#[test]
fn the_generated_header_declares_the_abi() {
    let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/freshcreds.h")).expect("cbindgen wrote the header");
    for symbol in [
        "freshcreds_agent_new",
        "freshcreds_agent_get_credentials",
        "freshcreds_agent_invalidate",
        "freshcreds_agent_close",
        "freshcreds_credentials_free",
        "freshcreds_string_free",
        "freshcreds_doctor",
        "FRESHCREDS_STATUS_CLOSED",
    ] {
        assert!(header.contains(symbol), "{symbol} missing from freshcreds.h");
    }
}

/// `freshcreds_doctor` as a C caller uses it: the checks against the simulator (IMDS and STS), a
/// host root with chronyd on Amazon Time Sync, the JSON report and its exit code; null outputs and
/// an unknown setting give a status and a message.
#[test]
fn the_doctor_through_the_c_abi() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let sim = runtime.block_on(Simulator::start(SimConfig::default())).expect("simulator");
    let root = std::env::temp_dir().join(format!("freshcreds-c-abi-doctor-{}", std::process::id()));
    std::fs::create_dir_all(root.join("proc/412")).expect("mkdir");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::write(root.join("proc/412/comm"), "chronyd\n").expect("write");
    std::fs::write(root.join("etc/chrony.conf"), "server 169.254.169.123 prefer iburst\n").expect("write");

    let strings = |items: &[&str]| -> Vec<CString> { items.iter().map(|s| CString::new(*s).expect("no NUL")).collect() };
    let base = sim.base_url();
    let root_text = root.display().to_string();
    let keys = strings(&["source", "endpoint"]);
    let values = strings(&["imds", &base]);
    let setting_keys = strings(&["json", "root", "stsEndpoint"]);
    let setting_values = strings(&["true", &root_text, &base]);
    let pointers = |v: &[CString]| -> Vec<*const c_char> { v.iter().map(|s| s.as_ptr()).collect() };
    let (k, v, sk, sv) = (pointers(&keys), pointers(&values), pointers(&setting_keys), pointers(&setting_values));

    let mut code = -1;
    let mut report = ptr::null_mut();
    let mut error = ptr::null_mut();
    let status = unsafe { freshcreds_doctor(k.as_ptr(), v.as_ptr(), 2, sk.as_ptr(), sv.as_ptr(), 3, &mut code, &mut report, &mut error) };
    assert_eq!(status, FreshcredsStatus::Ok, "{:?}", (!error.is_null()).then(|| message(error)));
    assert!(!report.is_null());
    let text = unsafe { CStr::from_ptr(report) }.to_string_lossy().to_string();
    unsafe { freshcreds_string_free(report) };
    assert!(text.contains("\"schema\": \"freshcreds-doctor/1\""), "{text}");
    for id in ["imds.credentials", "sts.call", "clock.daemon"] {
        assert!(text.contains(&format!("\"id\": \"{id}\",\n      \"status\": \"pass\"")), "{id} passes:\n{text}");
    }
    assert!((0..=2).contains(&code), "{code}");
    assert!(text.contains(&format!("\"exit_code\": {code}")), "{text}");
    let issued = sim.current_credentials();
    assert!(!text.contains(&issued.secret_access_key) && !text.contains(&issued.session_token));

    // Misuse: a status and a message, never a crash.
    let mut error = ptr::null_mut();
    let status =
        unsafe { freshcreds_doctor(ptr::null(), ptr::null(), 0, ptr::null(), ptr::null(), 0, &mut code, ptr::null_mut(), &mut error) };
    assert_eq!(status, FreshcredsStatus::InvalidArgument);
    assert!(message(error).contains("report_out"));
    let bad = strings(&["bogus"]);
    let bad_value = strings(&["1"]);
    let (bk, bv) = (pointers(&bad), pointers(&bad_value));
    let mut error = ptr::null_mut();
    let status = unsafe { freshcreds_doctor(ptr::null(), ptr::null(), 0, bk.as_ptr(), bv.as_ptr(), 1, &mut code, &mut report, &mut error) };
    assert_eq!(status, FreshcredsStatus::InvalidConfiguration);
    assert!(message(error).contains("'bogus' is not a doctor setting"));
    let _ = std::fs::remove_dir_all(&root);
}
