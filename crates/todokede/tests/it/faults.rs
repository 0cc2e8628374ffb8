//! Faults: the database unavailable, and the server killed with SIGKILL mid-load. An
//! acknowledged report must exist afterwards, whole and once; nothing half-written. The outage
//! runs against the in-process service (`TestApp`); SIGKILL needs the real process (`Server`).

use crate::common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    an_unavailable_database_is_a_503_and_the_retry_stores_once,
    sigkill_under_load_loses_no_acknowledged_report,
);

async fn an_unavailable_database_is_a_503_and_the_retry_stores_once(db: &TestDb) {
    // SQLite: give up on another connection's lock after 300 ms instead of 10 s.
    let url = if db.backend == "sqlite" { format!("{}?busy_timeout_ms=300", db.url) } else { db.url.clone() };
    let s = TestApp::start_url(&url, |_| {}).await;
    let c = reqwest::Client::new();
    let post = |key: &'static str| {
        c.post(s.url("/api/v1/reports"))
            .header("Idempotency-Key", key)
            .json(&json!({"form": "virus", "description": "障害中の届出"}))
            .send()
    };
    assert_eq!(post("before").await.unwrap().status(), StatusCode::CREATED);

    let outage = db.outage().await;
    let res = post("during").await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{}", db.backend);
    assert!(res.headers().contains_key("retry-after"));
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unavailable");
    assert!(!v.to_string().contains("sqlx"), "no internals leak: {v}");
    outage.end().await;

    let retry = post("during").await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED, "{}: the retry after the outage is stored", db.backend);
    drop(s);
    let integrity = todokede_store::Store::open(&db.url).await.unwrap().check_integrity().await.unwrap();
    assert_eq!(integrity.reports, 2, "{}", db.backend);
    assert!(integrity.problems.is_empty(), "{:?}", integrity.problems);
}

const REQUESTS: usize = 240;
const TASKS: usize = 6;
const KILL_AFTER: usize = 90;

async fn sigkill_under_load_loses_no_acknowledged_report(db: &TestDb) {
    let server = Arc::new(Mutex::new(Some(common::serve(&db.url, &["--api-limit", "0"]))));
    let base = server.lock().unwrap().as_ref().unwrap().base.clone();
    let acked = Arc::new(Mutex::new(BTreeMap::<usize, (String, String)>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let (client, base, acked, count, server) =
            (client.clone(), base.clone(), acked.clone(), count.clone(), server.clone());
        tasks.push(tokio::spawn(async move {
            for i in (t..REQUESTS).step_by(TASKS) {
                let res = client
                    .post(format!("{base}/api/v1/reports"))
                    .header("Idempotency-Key", format!("crash-{i}"))
                    .json(&body(i))
                    .send()
                    .await;
                let Ok(res) = res else { continue };
                if res.status() != StatusCode::CREATED {
                    return;
                }
                let Ok(v) = res.json::<Value>().await else { continue };
                acked
                    .lock()
                    .unwrap()
                    .insert(i, (v["tracking_number"].as_str().unwrap().into(), v["secret"].as_str().unwrap().into()));
                if count.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER
                    && let Some(mut s) = server.lock().unwrap().take()
                {
                    s.kill9();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= KILL_AFTER && acked.len() < REQUESTS,
        "{}: killed mid-way ({} acked)",
        db.backend,
        acked.len()
    );

    // Restart on the same database: every acknowledged report is there, whole.
    let s = common::serve(&db.url, &["--api-limit", "0"]);
    for (i, (tn, secret)) in &acked {
        let v: Value = client
            .get(s.url(&format!("/api/v1/reports/{tn}")))
            .bearer_auth(secret)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["description"], body(*i)["description"], "{}: report {i} ({tn}) lost or damaged", db.backend);
    }
    // Re-sending everything with the same keys: acknowledged ones come back with their
    // number; the rest are stored now. Exactly one report per key in the end.
    for i in 0..REQUESTS {
        let res = client
            .post(s.url("/api/v1/reports"))
            .header("Idempotency-Key", format!("crash-{i}"))
            .json(&body(i))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        let v: Value = res.json().await.unwrap();
        if let Some((tn, _)) = acked.get(&i) {
            assert_eq!(v["tracking_number"].as_str().unwrap(), tn, "{}: key {i} got a second number", db.backend);
        }
    }
    drop(s);
    let integrity = todokede_store::Store::open(&db.url).await.unwrap().check_integrity().await.unwrap();
    assert_eq!(integrity.reports as usize, REQUESTS, "{}: no duplicates", db.backend);
    assert!(integrity.problems.is_empty(), "{}: {:?}", db.backend, integrity.problems);
    eprintln!("{}: {} of {REQUESTS} acknowledged before SIGKILL; all found after restart", db.backend, acked.len());
}

fn body(i: usize) -> Value {
    json!({"form": if i.is_multiple_of(3) { "virus" } else { "unauthorized_access" },
           "description": format!("クラッシュ試験 {i}: 管理画面への不正ログイン。攻撃元 198.51.100.{}", i % 250),
           "reporter": {"kind": "company"}})
}
