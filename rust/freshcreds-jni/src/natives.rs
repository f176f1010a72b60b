//! The native methods of `dev.freshcreds.NativeAgent` (see DEVELOPERS.md for the
//! contract). Each one is a thin shell: [`native_agent!`] for the export, the table entry and the
//! panic-safe [`entry`](crate::entry::entry); the shared registry for the handle; the core
//! `Agent` for the work.

use std::sync::Arc;
use std::time::Duration;

use freshcreds_bridge::{agents, registry, time};
use freshcreds_core::{Agent, CredentialsError, Snapshot};
use jni::objects::{JObject, JObjectArray, JString, JValue};
use jni::sys::{jint, jlong};
use jni::{jni_sig, jni_str, Env};

use crate::contract::{native_agent, JavaType};
use crate::entry::BridgeError;
use crate::logging;

/// A `dev.freshcreds.CredentialsSnapshot` reference (or null), as native methods return it.
#[repr(transparent)]
#[derive(Debug, Default)]
pub struct JCredentialsSnapshot<'local>(JObject<'local>);

impl JavaType for JCredentialsSnapshot<'_> {
    const DESCRIPTOR: &'static str = "Ldev/freshcreds/CredentialsSnapshot;";
}

native_agent! {
    /// The crate version, which the Java loader compares with the jar's.
    "nativeVersion" => fn native_version<'caller>(env) -> JString<'caller> {
        Ok(env.new_string(freshcreds_core::VERSION)?)
    }

    /// Creates an agent from `key, value, key, value, ...`; unknown keys are refused.
    "create" => fn create<'caller>(env, options: JObjectArray<'caller, JString<'caller>>) -> jlong {
        logging::init();
        let pairs = read_pairs(env, &options)?;
        Ok(registry::handle_to_i64(agents::create(&pairs)?)?)
    }

    /// The current credentials; may block on the first load or inside the mandatory window.
    "getCredentials" => fn get_credentials<'caller>(env, handle: jlong) -> JCredentialsSnapshot<'caller> {
        let snapshot = agent(handle)?.get_blocking()?;
        to_java(env, &snapshot)
    }

    /// Waits until a snapshot newer than `known_generation` exists; null on timeout.
    "awaitSnapshot" => fn await_snapshot<'caller>(
        env,
        handle: jlong,
        known_generation: jlong,
        timeout_millis: jlong,
    ) -> JCredentialsSnapshot<'caller> {
        let agent = agent(handle)?;
        let timeout = Duration::from_millis(timeout_millis.clamp(0, 60_000) as u64);
        match agent.await_snapshot(known_generation.max(0) as u64, timeout)? {
            Some(snapshot) => to_java(env, &snapshot),
            None => Ok(JCredentialsSnapshot::default()),
        }
    }

    /// Forces a refresh and returns the result.
    "refresh" => fn refresh<'caller>(env, handle: jlong) -> JCredentialsSnapshot<'caller> {
        let snapshot = agent(handle)?.refresh_blocking()?;
        to_java(env, &snapshot)
    }

    /// Marks the credentials with this access key id as rejected by AWS.
    "invalidate" => fn invalidate<'caller>(env, handle: jlong, access_key_id: JString<'caller>) -> () {
        let agent = agent(handle)?;
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
    }

    /// Agent statistics as JSON; no secrets.
    "statsJson" => fn stats_json<'caller>(env, handle: jlong) -> JString<'caller> {
        let json = agent(handle)?.stats_json();
        Ok(env.new_string(json)?)
    }

    /// Closes the handle; wakes `awaitSnapshot` callers with `AgentClosedException`.
    "close" => fn close<'caller>(_env, handle: jlong) -> () {
        Ok(agents::close(registry::handle_from_i64(handle))?)
    }

    /// Feeds one AWS `Date` observation from an SDK hook to the clock-skew estimator.
    "recordServerTime" => fn record_server_time<'caller>(
        _env,
        handle: jlong,
        server_date_epoch_millis: jlong,
        request_sent_epoch_millis: jlong,
        response_received_epoch_millis: jlong,
    ) -> () {
        agent(handle)?.record_server_time(server_date_epoch_millis, request_sent_epoch_millis, response_received_epoch_millis)?;
        Ok(())
    }

    /// AWS time minus this host's wall clock, in milliseconds (0 before any sample).
    "clockOffsetMillis" => fn clock_offset_millis<'caller>(_env, handle: jlong) -> jlong {
        Ok(agent(handle)?.clock_offset_ms())
    }

    /// The credential source that won the chain, e.g. `imds` or `environment`.
    "sourceName" => fn source_name<'caller>(env, handle: jlong) -> JString<'caller> {
        let name = agent(handle)?.source().name();
        Ok(env.new_string(name)?)
    }

    /// Sets the most verbose native log level recorded for Java: 0 off, 1 error, 2 warn, 3 info,
    /// 4 debug, 5 trace. Process-wide.
    "setLogLevel" => fn set_log_level<'caller>(_env, level: jint) -> () {
        logging::init();
        logging::set_level(level);
        Ok(())
    }

    /// Takes up to `max` queued native log events, oldest first, flattened as
    /// `level, target, message` triples. Process-wide.
    "drainLogEvents" => fn drain_log_events<'caller>(env, max: jint) -> JObjectArray<'caller, JString<'caller>> {
        let events = logging::drain(usize::try_from(max).unwrap_or(0));
        let array = JObjectArray::<JString>::new(env, events.len() * 3, JString::null())?;
        for (i, event) in events.iter().enumerate() {
            for (j, text) in [event.level, event.target.as_str(), event.message.as_str()].into_iter().enumerate() {
                let string = env.new_string(text)?;
                array.set_element(env, i * 3 + j, &string)?;
                // Up to 3072 strings: free each local reference at once.
                env.delete_local_ref(string);
            }
        }
        Ok(array)
    }

    /// How many native log events were formatted for Java since the library was loaded (for tests).
    "formattedLogEvents" => fn formatted_log_events<'caller>(_env) -> jlong {
        Ok(time::saturating_i64(logging::formatted_count()))
    }

    /// Later sources that are configured too, comma-separated (empty when none).
    "shadowedSources" => fn shadowed_sources<'caller>(env, handle: jlong) -> JString<'caller> {
        let names: Vec<&str> = agent(handle)?.shadowed().iter().map(|k| k.name()).collect();
        Ok(env.new_string(names.join(","))?)
    }

    /// Runs the doctor's checks with these agent options and doctor settings; `{exit code, report}`.
    "doctor" => fn doctor<'caller>(
        env,
        options: JObjectArray<'caller, JString<'caller>>,
        settings: JObjectArray<'caller, JString<'caller>>,
    ) -> JObjectArray<'caller, JString<'caller>> {
        logging::init();
        let pairs = read_pairs(env, &options)?;
        let settings = read_pairs(env, &settings)?;
        let (code, report) = freshcreds_core::doctor::run_with_settings(pairs, &settings)?;
        let array = JObjectArray::<JString>::new(env, 2, JString::null())?;
        for (i, text) in [code.to_string(), report].iter().enumerate() {
            let string = env.new_string(text)?;
            array.set_element(env, i, &string)?;
        }
        Ok(array)
    }
}

/// The agent behind a Java handle; `Closed` for a closed, unknown or negative one.
fn agent(handle: jlong) -> Result<Arc<Agent>, CredentialsError> {
    agents::get(registry::handle_from_i64(handle))
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

fn to_java<'local>(env: &mut Env<'local>, snapshot: &Snapshot) -> Result<JCredentialsSnapshot<'local>, BridgeError> {
    let credentials = &snapshot.credentials;
    let access_key_id = env.new_string(credentials.access_key_id())?;
    let secret = env.new_string(credentials.secret_access_key())?;
    let token = match credentials.session_token() {
        Some(t) => JObject::from(env.new_string(t)?),
        None => JObject::null(),
    };
    let object = env.new_object(
        jni_str!("dev/freshcreds/CredentialsSnapshot"),
        jni_sig!("(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;JJJ)V"),
        &[
            JValue::Object(&access_key_id),
            JValue::Object(&secret),
            JValue::Object(&token),
            JValue::Long(time::epoch_millis(credentials.expiration())),
            JValue::Long(time::nanos_i64(snapshot.valid_for)),
            JValue::Long(time::saturating_i64(snapshot.generation)),
        ],
    )?;
    Ok(JCredentialsSnapshot(object))
}
