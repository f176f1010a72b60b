//! The container credentials endpoint (ECS / EKS Pod Identity) over real HTTP.

use std::time::Duration;

use crate::common::*;
use crate::{compressed, start, start_default};

const PATH: &str = "/container/credentials";
const TOKEN: &str = "sim-container-token";

fn port(sim: &freshcreds_sim::Simulator) -> u16 {
    sim.addr().port()
}

async fn get(c: &reqwest::Client, base: &str, path: &str, auth: Option<&str>) -> Reply {
    let mut req = c.get(format!("{base}{path}"));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    send(req).await
}

fn creds_of(v: &serde_json::Value) -> Creds {
    let s = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("{k} missing in {v}")).to_string();
    Creds { akid: s("AccessKeyId"), secret: s("SecretAccessKey"), token: s("Token") }
}

#[tokio::test]
async fn serves_its_own_generation_which_sts_accepts() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());
    let r = get(&c, &base, PATH, Some(TOKEN)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    let obj = v.as_object().expect("object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["AccessKeyId", "Expiration", "RoleArn", "SecretAccessKey", "Token"], "the ECS shape, no Code");
    assert_eq!(v["RoleArn"].as_str(), Some("arn:aws:iam::123456789012:role/sim-container-role"));
    let creds = creds_of(&v);
    assert!(creds.akid.starts_with("ASIA") && creds.akid.len() == 20);
    assert_eq!(creds.secret.len(), 40);
    assert_eq!(creds.akid, sim.current_container_credentials().access_key_id);
    // Expiration = issue + 6 h (default lifetime), in sim time.
    let exp = rfc3339_millis(v["Expiration"].as_str().expect("Expiration"));
    let expected = epoch_millis(sim.sim_now()) + 6 * 3600 * 1000;
    assert!((exp - expected).abs() < 5_000, "{exp} vs {expected}");

    // Its own series: not the IMDS credentials.
    let (imds, _) = fetch_creds(&c, &base).await;
    assert_ne!(imds.akid, creds.akid);

    // The same generation again, under any path below /container/.
    for path in [PATH, "/container/v2/credentials/3f2a", "/container/"] {
        let again = creds_of(&get(&c, &base, path, Some(TOKEN)).await.json());
        assert_eq!(again.akid, creds.akid, "{path}");
    }

    // STS accepts them and names the container role.
    let r = caller_identity(&c, &base, port(&sim), &creds).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        between(&r.body, "<Arn>", "</Arn>").as_deref(),
        Some("arn:aws:sts::123456789012:assumed-role/sim-container-role/sim-container-task")
    );
    let user_id = between(&r.body, "<UserId>", "</UserId>").expect("UserId");
    assert!(user_id.starts_with("AROA") && user_id.ends_with(":sim-container-task"), "{user_id}");
    assert_eq!(user_id.len(), 21 + ":sim-container-task".len());

    let s = sim.stats();
    assert_eq!(s.container_gets, 4);
    assert_eq!((s.container_generation, s.container_rotations), (1, 0));
    assert_eq!((s.generation, s.credential_gets), (1, 1));
    assert_eq!(s.imds_requests_total, 3, "container requests are not IMDS requests");

    // Forced rotation and revocation, over the control API.
    let r = send(c.post(format!("{base}/_sim/container/rotate"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["container_generation"], 2);
    let rotated = creds_of(&get(&c, &base, PATH, Some(TOKEN)).await.json());
    assert_ne!(rotated.akid, creds.akid);
    assert_eq!(caller_identity(&c, &base, port(&sim), &creds).await.status, 200);
    let r = send(c.post(format!("{base}/_sim/container/revoke"))).await;
    assert_eq!(r.json()["container_generation"], 3);
    let r = caller_identity(&c, &base, port(&sim), &rotated).await;
    assert_eq!((r.status, r.code().as_str()), (403, "ExpiredToken"));
    let third = creds_of(&get(&c, &base, PATH, Some(TOKEN)).await.json());
    assert_eq!(caller_identity(&c, &base, port(&sim), &third).await.status, 200);
    let s = sim.stats();
    assert_eq!((s.container_generation, s.container_rotations), (3, 2));
    assert_eq!((s.generation, s.rotations), (1, 0), "IMDS untouched");
    assert_eq!(s.sts_revoked_rejections, 1);
    assert_eq!(send(c.get(format!("{base}/_sim/container/rotate"))).await.status, 405);
}

#[tokio::test]
async fn authorization_token_is_enforced_and_configurable() {
    let sim = start_default().await;
    let (base, c) = (sim.base_url(), client());

    let r = get(&c, &base, PATH, None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.json()["code"].is_string() && r.json()["message"].is_string());
    let r = get(&c, &base, PATH, Some("sim-container-token-x")).await;
    assert_eq!(r.status, 403);
    assert!(r.json()["code"].is_string());
    let r = get(&c, &base, PATH, Some("Bearer sim-container-token")).await;
    assert_eq!(r.status, 403);
    let r = send(c.get(format!("{base}{PATH}")).header("Authorization", TOKEN).header("Authorization", TOKEN)).await;
    assert_eq!(r.status, 403, "two Authorization headers");
    let r = send(c.post(format!("{base}{PATH}")).header("Authorization", TOKEN)).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));
    assert!(!r.body.contains("AccessKeyId"));

    // A custom token over the control API.
    let r = send(c.patch(format!("{base}/_sim/config")).body(r#"{"container_auth_token":"Basic abc=="}"#)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["container_auth_token"], "Basic abc==");
    assert_eq!(get(&c, &base, PATH, Some(TOKEN)).await.status, 403);
    assert_eq!(get(&c, &base, PATH, Some("Basic abc==")).await.status, 200);

    // null: no token required at all (any header is fine too).
    let r = send(c.patch(format!("{base}/_sim/config")).body(r#"{"container_auth_token":null}"#)).await;
    assert_eq!(r.json()["container_auth_token"], serde_json::Value::Null);
    assert_eq!(get(&c, &base, PATH, None).await.status, 200);
    assert_eq!(get(&c, &base, PATH, Some("anything")).await.status, 200);

    // In-process, and back to the default with POST {}.
    sim.sources().set_container_auth_token(Some("in-process".into())).expect("valid");
    assert_eq!(get(&c, &base, PATH, Some("in-process")).await.status, 200);
    assert_eq!(send(c.post(format!("{base}/_sim/config")).body("{}")).await.status, 200);
    assert_eq!(get(&c, &base, PATH, Some("in-process")).await.status, 403);
    assert_eq!(get(&c, &base, PATH, Some(TOKEN)).await.status, 200);

    let s = sim.stats();
    assert_eq!((s.container_auth_failures, s.container_gets), (6, 5));
}

#[tokio::test]
async fn rotates_lazily_and_expires_on_the_compressed_clock() {
    // 1 real s = 1 sim h; lifetime 1 h, rotate 60 s before expiry.
    let sim = start(compressed(3600.0, 3600, 60)).await;
    let (base, c) = (sim.base_url(), client());
    let first = creds_of(&get(&c, &base, PATH, Some(TOKEN)).await.json());
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let r = caller_identity(&c, &base, port(&sim), &first).await;
    assert_eq!((r.status, r.code().as_str()), (403, "ExpiredToken"));

    let second = creds_of(&get(&c, &base, PATH, Some(TOKEN)).await.json());
    assert_ne!(second.akid, first.akid);
    assert_eq!(caller_identity(&c, &base, port(&sim), &second).await.status, 200);
    let s = sim.stats();
    assert_eq!((s.container_generation, s.container_rotations), (2, 1));
    assert_eq!((s.generation, s.rotations), (1, 0), "IMDS rotates only when asked");
    assert_eq!((s.sts_expired_token, s.sts_ok), (1, 1));
}
