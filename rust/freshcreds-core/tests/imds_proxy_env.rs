//! Proxy variables in the real process environment (its own test binary, so setting them cannot
//! disturb other tests): IMDS is still reached directly. hyper's client ignores these variables,
//! and this keeps it that way should the HTTP stack change again (reqwest, for one, honours them).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use freshcreds_core::cache::ProvideCredentials;
use freshcreds_core::clock::SystemClock;
use freshcreds_core::config::AgentOptions;
use freshcreds_core::env::{self, Env, PROXY_VARIABLES};
use freshcreds_core::imds::{ImdsClient, ImdsCredentialsProvider};
use freshcreds_core::Agent;
use freshcreds_sim::{SimConfig, Simulator};

#[test]
fn proxy_variables_in_the_process_environment_are_ignored() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let sim = runtime.block_on(Simulator::start(SimConfig::default())).expect("simulator");
    // The trap: a loopback listener that counts connections and never answers.
    let trap = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind 127.0.0.1");
    let trap_url = format!("http://127.0.0.1:{}", trap.local_addr().expect("addr").port());
    let connections = Arc::new(AtomicUsize::new(0));
    {
        let connections = connections.clone();
        runtime.spawn(async move {
            while let Ok((stream, _)) = trap.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
    }
    // The only test in this binary, and no other thread reads the environment yet.
    for name in PROXY_VARIABLES {
        std::env::set_var(name, &trap_url);
    }
    for name in [env::NO_PROXY, "no_proxy"] {
        std::env::remove_var(name);
    }

    // The client on its own, falling back to the process environment.
    let client = ImdsClient::builder().env(Env::process()).endpoint(sim.base_url()).build(Arc::new(SystemClock)).expect("client");
    let provider = ImdsCredentialsProvider::builder().build(Arc::new(client)).expect("provider");
    let credentials = runtime.block_on(provider.provide_credentials()).expect("credentials from the simulator");
    assert_eq!(credentials.access_key_id(), sim.current_credentials().access_key_id);

    // A whole agent built the way the bridges build it.
    let options = AgentOptions::from_pairs(&[("source", "imds"), ("endpoint", &sim.base_url())]).expect("options");
    let agent = Agent::from_options(&options).expect("agent");
    let snapshot = agent.get_blocking().expect("credentials from the simulator");
    assert_eq!(snapshot.credentials.access_key_id(), sim.current_credentials().access_key_id);
    agent.close();

    assert!(sim.stats().credential_gets >= 2);
    assert_eq!(connections.load(Ordering::SeqCst), 0, "an IMDS request went to the proxy");
}
