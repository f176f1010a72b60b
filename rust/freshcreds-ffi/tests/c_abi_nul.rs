//! Credentials with a NUL inside a field, through the C ABI: the simulator serves a document
//! whose `Token` holds `\u0000` (valid JSON, valid UTF-8, impossible as a C string). The call
//! fails with `FRESHCREDS_STATUS_CREDENTIALS_UNAVAILABLE` and a message that names the field,
//! leaves `*out` untouched, and shows no secret. (That the fields converted before the token are
//! freed and wiped is checked under a watching allocator in the crate's unit tests.)

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use freshcreds::*;
use freshcreds_sim::{SimConfig, Simulator};

#[test]
fn a_nul_in_the_session_token_is_an_error_and_hands_out_nothing() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let sim = runtime.block_on(Simulator::start(SimConfig::default())).expect("simulator");
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYNULTESTKEY";
    let document = serde_json_document(secret, "IQoJb3JpZ2lu\\u0000AFTER-THE-NUL");
    sim.faults().set_credentials_body_override(Some(document));

    let keys = [CString::new("source").expect("no NUL"), CString::new("endpoint").expect("no NUL")];
    let values = [CString::new("imds").expect("no NUL"), CString::new(sim.base_url()).expect("no NUL")];
    let key_ptrs: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr()).collect();
    let value_ptrs: Vec<*const c_char> = values.iter().map(|v| v.as_ptr()).collect();
    let mut agent = 0u64;
    let status = unsafe { freshcreds_agent_new(key_ptrs.as_ptr(), value_ptrs.as_ptr(), 2, &mut agent, ptr::null_mut()) };
    assert_eq!(status, FreshcredsStatus::Ok);

    let mut creds = FreshcredsCredentials {
        access_key_id: ptr::null_mut(),
        secret_access_key: ptr::null_mut(),
        session_token: ptr::null_mut(),
        expiration_epoch_millis: 0,
        generation: 0,
    };
    let mut error = ptr::null_mut();
    let status = unsafe { freshcreds_agent_get_credentials(agent, &mut creds, &mut error) };
    assert_eq!(status, FreshcredsStatus::CredentialsUnavailable);
    assert!(!error.is_null());
    let message = unsafe { CStr::from_ptr(error) }.to_string_lossy().to_string();
    unsafe { freshcreds_string_free(error) };
    assert!(message.contains("session token") && message.contains("NUL"), "{message}");
    assert!(!message.contains(secret) && !message.contains("IQoJb3JpZ2lu"), "{message}");
    assert!(creds.access_key_id.is_null() && creds.secret_access_key.is_null() && creds.session_token.is_null(), "out untouched");
    assert_eq!(creds.generation, 0);

    // Once IMDS serves a clean document and the bad keys are invalidated, the same agent hands
    // credentials out.
    sim.faults().set_credentials_body_override(None);
    let bad_id = CString::new("ASIANULTEST000000001").expect("no NUL");
    assert_eq!(unsafe { freshcreds_agent_invalidate(agent, bad_id.as_ptr(), ptr::null_mut()) }, FreshcredsStatus::Ok);
    let status = unsafe { freshcreds_agent_get_credentials(agent, &mut creds, ptr::null_mut()) };
    assert_eq!(status, FreshcredsStatus::Ok);
    assert_eq!(unsafe { CStr::from_ptr(creds.access_key_id) }.to_str().expect("utf8"), sim.current_credentials().access_key_id);
    unsafe { freshcreds_credentials_free(&mut creds) };
    assert_eq!(unsafe { freshcreds_agent_close(agent, ptr::null_mut()) }, FreshcredsStatus::Ok);
}

/// The IMDS credentials document, with `token` inserted as raw JSON string content.
fn serde_json_document(secret: &str, token: &str) -> String {
    format!(
        r#"{{"Code":"Success","LastUpdated":"2030-01-01T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIANULTEST000000001","SecretAccessKey":"{secret}","Token":"{token}","Expiration":"2030-01-01T06:00:00Z"}}"#
    )
}
