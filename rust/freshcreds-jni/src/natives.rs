//! The native methods of `dev.freshcreds.internal.NativeAgent` (see DEVELOPERS.md for the
//! contract). Each one is a thin shell: `entry` for safety, the registry for the handle, the
//! core `Agent` for the work.

use std::time::Duration;

use freshcreds_core::config::AgentOptions;
use freshcreds_core::{Agent, CredentialsError, Snapshot};
use jni::objects::{JClass, JObject, JObjectArray, JString, JValue};
use jni::sys::jlong;
use jni::{jni_sig, jni_str, Env, EnvUnowned};

use crate::entry::{entry, BridgeError};
use crate::{logging, registry};

/// The crate version, which the Java loader compares with the jar's.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_freshcreds_internal_NativeAgent_nativeVersion<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
) -> JString<'caller> {
    entry(&mut env, "nativeVersion", |env| Ok(env.new_string(freshcreds_core::VERSION)?))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_freshcreds_internal_NativeAgent_create<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    options: JObjectArray<'caller, JString<'caller>>,
) -> jlong {
    entry(&mut env, "create", |env| {
        logging::init();
        let pairs = read_pairs(env, &options)?;
        let options = AgentOptions::from_pairs(&pairs)?;
        let agent = Agent::from_options(&options)?;
        Ok(registry::insert(agent))
    })
}

fn read_pairs(env: &mut Env<'_>, options: &JObjectArray<'_, JString<'_>>) -> Result<Vec<(String, String)>, BridgeError> {
    if options.is_null() {
        return Ok(Vec::new());
    }
    let len = options.len(env)?;
    if len % 2 != 0 {
        return Err(CredentialsError::invalid_config("the options array has an odd length", "Pass key, value, key, value, ...").into());
    }
    let mut pairs = Vec::with_capacity(len / 2);
    for i in (0..len).step_by(2) {
        let key = options.get_element(env, i)?;
        let value = options.get_element(env, i + 1)?;
        if key.is_null() || value.is_null() {
            return Err(CredentialsError::invalid_config(
                format!("option #{} has a null key or value", i / 2),
                "Leave unset options out instead of passing null.",
            )
            .into());
        }
        pairs.push((key.try_to_string(env)?, value.try_to_string(env)?));
    }
    Ok(pairs)
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_freshcreds_internal_NativeAgent_getCredentials<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
) -> JObject<'caller> {
    entry(&mut env, "getCredentials", |env| {
        let snapshot = registry::get(handle)?.get_blocking()?;
        to_java(env, &snapshot)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_freshcreds_internal_NativeAgent_awaitSnapshot<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
    known_generation: jlong,
    timeout_millis: jlong,
) -> JObject<'caller> {
    entry(&mut env, "awaitSnapshot", |env| {
        let agent = registry::get(handle)?;
        let timeout = Duration::from_millis(timeout_millis.clamp(0, 60_000) as u64);
        match agent.await_snapshot(known_generation.max(0) as u64, timeout)? {
            Some(snapshot) => to_java(env, &snapshot),
            None => Ok(JObject::null()),
        }
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_freshcreds_internal_NativeAgent_refresh<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
) -> JObject<'caller> {
    entry(&mut env, "refresh", |env| {
        let snapshot = registry::get(handle)?.refresh_blocking()?;
        to_java(env, &snapshot)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_freshcreds_internal_NativeAgent_invalidate<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
    access_key_id: JString<'caller>,
) {
    entry(&mut env, "invalidate", |env| {
        let agent = registry::get(handle)?;
        if access_key_id.is_null() {
            return Err(CredentialsError::invalid_config(
                "invalidate was given a null access key id",
                "Pass the access key id AWS rejected.",
            )
            .into());
        }
        let id = access_key_id.try_to_string(env)?;
        agent.invalidate(&id)?;
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_freshcreds_internal_NativeAgent_statsJson<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
) -> JString<'caller> {
    entry(&mut env, "statsJson", |env| {
        let json = registry::get(handle)?.stats_json();
        Ok(env.new_string(json)?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_freshcreds_internal_NativeAgent_close<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
) {
    entry(&mut env, "close", |_env| Ok(registry::close(handle)?))
}

fn to_java<'local>(env: &mut Env<'local>, snapshot: &Snapshot) -> Result<JObject<'local>, BridgeError> {
    let credentials = &snapshot.credentials;
    let access_key_id = env.new_string(credentials.access_key_id())?;
    let secret = env.new_string(credentials.secret_access_key())?;
    let token = match credentials.session_token() {
        Some(t) => JObject::from(env.new_string(t)?),
        None => JObject::null(),
    };
    let expiration_millis = credentials
        .expiration()
        .map(|e| match e.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
        })
        .unwrap_or(i64::MIN);
    let valid_for_nanos = i64::try_from(snapshot.valid_for.as_nanos()).unwrap_or(i64::MAX);
    let generation = i64::try_from(snapshot.generation).unwrap_or(i64::MAX);
    let object = env.new_object(
        jni_str!("dev/freshcreds/CredentialsSnapshot"),
        jni_sig!("(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;JJJ)V"),
        &[
            JValue::Object(&access_key_id),
            JValue::Object(&secret),
            JValue::Object(&token),
            JValue::Long(expiration_millis),
            JValue::Long(valid_for_nanos),
            JValue::Long(generation),
        ],
    )?;
    Ok(object)
}

/// Feeds one AWS `Date` observation from an SDK hook to the clock-skew estimator.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_freshcreds_internal_NativeAgent_recordServerTime<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
    server_date_epoch_millis: jlong,
    request_sent_epoch_millis: jlong,
    response_received_epoch_millis: jlong,
) {
    entry(&mut env, "recordServerTime", |_env| {
        registry::get(handle)?.record_server_time(server_date_epoch_millis, request_sent_epoch_millis, response_received_epoch_millis)?;
        Ok(())
    })
}

/// AWS time minus this host's wall clock, in milliseconds (0 before any sample).
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_freshcreds_internal_NativeAgent_clockOffsetMillis<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
) -> jlong {
    entry(&mut env, "clockOffsetMillis", |_env| Ok(registry::get(handle)?.clock_offset_ms()))
}

/// The credential source that won the chain, e.g. `imds` or `environment`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_freshcreds_internal_NativeAgent_sourceName<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
) -> JString<'caller> {
    entry(&mut env, "sourceName", |env| {
        let name = registry::get(handle)?.source().name();
        Ok(env.new_string(name)?)
    })
}

/// Later sources that are configured too, comma-separated (empty when none).
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_freshcreds_internal_NativeAgent_shadowedSources<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
) -> JString<'caller> {
    entry(&mut env, "shadowedSources", |env| {
        let names: Vec<&str> = registry::get(handle)?.shadowed().iter().map(|k| k.name()).collect();
        Ok(env.new_string(names.join(","))?)
    })
}
