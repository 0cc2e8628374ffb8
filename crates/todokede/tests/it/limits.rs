//! Limits that a stranger cannot turn against users, over real HTTP from several loopback
//! addresses (127.0.0.2 … are this machine too): keyed on the socket's peer, X-Forwarded-For
//! believed only from a trusted proxy, lockouts per (account, address), counted in the
//! database before the check (no race, shared by processes); reporters' secrets forgotten
//! on time. Against the in-process service (`TestApp`); the lockout shared by processes
//! runs two real `serve` processes (`common::Server`), since two processes are the point.

use crate::common;

use reqwest::{StatusCode, redirect::Policy};
use serde_json::{Value, json};
use std::net::IpAddr;
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    twenty_four_concurrent_wrong_passwords_are_not_all_checked,
    lockouts_are_counted_across_processes,
    a_reporters_secret_is_forgotten_after_the_retention_and_a_retry_keeps_its_number,
    the_api_limit_is_counted_across_processes,
);

/// A client whose connections come from `ip`.
fn from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

fn analyst(db: &str, email: &str) -> String {
    crate::common::user_add(db, "analyst", email)
}

/// A login at the service at `base` (a `TestApp`'s or a `Server`'s).
/// A virus report through the reporter API: its tracking number and secret.
async fn report_by_api(c: &reqwest::Client, s: &TestApp) -> (String, String) {
    let v: Value = c
        .post(s.url("/api/v1/reports"))
        .json(&json!({"form": "virus", "description": "感染しました"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (v["tracking_number"].as_str().unwrap().to_owned(), v["secret"].as_str().unwrap().to_owned())
}

async fn login(base: &str, b: &reqwest::Client, email: &str, password: &str, xff: Option<&str>) -> StatusCode {
    let mut req = b.post(format!("{base}/login")).header("origin", base);
    if let Some(x) = xff {
        req = req.header("x-forwarded-for", x);
    }
    req.form(&[("email", email), ("password", password)]).send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_failed_logins_do_not_lock_the_owner_out() {
    let db = TestDb::sqlite().await;
    let password = analyst(&db.url, "a@ipa.example");
    let s = TestApp::start(&db).await;
    let stranger = from("127.0.0.2");
    let mut answers = Vec::new();
    for _ in 0..10 {
        answers.push(login(&s.base, &stranger, "a@ipa.example", "guess", None).await);
    }
    assert_eq!(&answers[..5], &[StatusCode::UNAUTHORIZED; 5]);
    assert!(answers[5..].iter().all(|a| *a == StatusCode::TOO_MANY_REQUESTS), "{answers:?}");
    // The stranger is locked out, even with the right password …
    assert_eq!(login(&s.base, &stranger, "a@ipa.example", &password, None).await, StatusCode::TOO_MANY_REQUESTS);
    // … the owner, from their own address, is not.
    assert_eq!(login(&s.base, &from("127.0.0.1"), "a@ipa.example", &password, None).await, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_x_forwarded_for_does_not_reset_a_clients_limit() {
    let db = TestDb::sqlite().await;
    analyst(&db.url, "a@ipa.example");
    let s = TestApp::start(&db).await;
    let sprayer = from("127.0.0.3");
    let mut answers = Vec::new();
    // Password spraying: a different account and a made-up X-Forwarded-For on every try.
    for i in 0..25 {
        let xff = format!("198.51.100.{i}");
        answers.push(login(&s.base, &sprayer, &format!("user{i}@ipa.example"), "Winter2026!", Some(&xff)).await);
    }
    let locked = answers.iter().filter(|a| **a == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(locked, 5, "20 per address, whatever the header says: {answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_believed_from_a_trusted_proxy_only() {
    let db = TestDb::sqlite().await;
    let password = analyst(&db.url, "a@ipa.example");
    let s = TestApp::start_with(&db, |c| c.trusted_proxies = vec!["127.0.0.4/32".parse().unwrap()]).await;
    let proxy = from("127.0.0.4");
    for _ in 0..6 {
        login(&s.base, &proxy, "a@ipa.example", "guess", Some("203.0.113.66")).await;
    }
    assert_eq!(
        login(&s.base, &proxy, "a@ipa.example", &password, Some("203.0.113.66")).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the client the proxy names is locked"
    );
    // The proxy itself, and the other clients behind it, are not.
    assert_eq!(login(&s.base, &proxy, "a@ipa.example", &password, Some("203.0.113.7")).await, StatusCode::SEE_OTHER);
}

async fn twenty_four_concurrent_wrong_passwords_are_not_all_checked(db: &TestDb) {
    analyst(&db.url, "a@ipa.example");
    let s = std::sync::Arc::new(TestApp::start(db).await);
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { login(&s.base, &from("127.0.0.5"), "a@ipa.example", "guess", None).await })
        })
        .collect();
    let mut checked = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("{other}"),
        }
    }
    // The race is the point: never more than the limit checked. Under load a busy SQLite
    // writer can refuse one attempt outright (it fails closed), so fewer is allowed.
    assert!((1..=5).contains(&checked), "{}: {checked} of 24 concurrent guesses were checked", db.backend);
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let failed = store.audit_log(100).await.unwrap().iter().filter(|e| e.action == "login.failed").count();
    assert_eq!(failed, checked, "{}", db.backend);
    drop(s);
}

async fn lockouts_are_counted_across_processes(db: &TestDb) {
    let password = analyst(&db.url, "a@ipa.example");
    let (one, two) = (common::serve(&db.url, &[]), common::serve(&db.url, &[]));
    let b = from("127.0.0.6");
    for i in 0..5 {
        let s = if i % 2 == 0 { &one } else { &two };
        assert_eq!(login(&s.base, &b, "a@ipa.example", "guess", None).await, StatusCode::UNAUTHORIZED);
    }
    // Three failures on one process, two on the other: five for the pair, locked on both.
    assert_eq!(
        login(&two.base, &b, "a@ipa.example", &password, None).await,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        db.backend
    );
    assert_eq!(
        login(&one.base, &b, "a@ipa.example", &password, None).await,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        db.backend
    );
    drop((one, two));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_form_and_reporter_links_are_limited_per_address() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let owner = from("127.0.0.1");
    let (tn, secret) = report_by_api(&owner, &s).await;
    let stranger = from("127.0.0.7");
    let mut last = StatusCode::OK;
    for i in 0..22 {
        last = stranger.get(s.url(&format!("/r/{tn}/wrong-secret-{i}"))).send().await.unwrap().status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS, "the guesser is limited");
    let res = owner.get(s.url(&format!("/r/{tn}/{secret}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the reporter's own link still works");

    // 31 form posts from one address close the form to that address only.
    for _ in 0..31 {
        let form = reqwest::multipart::Form::new().text("form", "virus");
        stranger.post(s.url("/report/new")).header("origin", s.base.clone()).multipart(form).send().await.unwrap();
    }
    let form = reqwest::multipart::Form::new().text("form", "virus");
    let res =
        stranger.post(s.url("/report/new")).header("origin", s.base.clone()).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = owner.get(s.url("/report/new?form=virus")).send().await.unwrap().text().await.unwrap();
    let needle = "name=\"submission_id\" value=\"";
    let i = page.find(needle).unwrap() + needle.len();
    let submission_id = page[i..i + page[i..].find('"').unwrap()].to_owned();
    let form = reqwest::multipart::Form::new()
        .text("form", "virus")
        .text("submission_id", submission_id)
        .text("description", "ウイルスに感染しました");
    let res = owner.post(s.url("/report/new")).header("origin", s.base.clone()).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "another reporter can still file");
}

async fn a_reporters_secret_is_forgotten_after_the_retention_and_a_retry_keeps_its_number(db: &TestDb) {
    let s = TestApp::start_with(db, |c| c.retention.secrets = std::time::Duration::from_secs(1)).await;
    let c = from("127.0.0.1");
    let post = || {
        c.post(s.url("/api/v1/reports"))
            .header("Idempotency-Key", "late-retry")
            .json(&json!({"form": "virus", "description": "再送のテスト"}))
            .send()
    };
    let first: Value = post().await.unwrap().json().await.unwrap();
    let soon: Value = post().await.unwrap().json().await.unwrap();
    assert_eq!(soon["secret"], first["secret"], "within the retention a retry gets the secret");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let res = post().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let late: Value = res.json().await.unwrap();
    assert_eq!(late["tracking_number"], first["tracking_number"], "{}", db.backend);
    assert!(late["secret"].is_null(), "{}: {late}", db.backend);
    assert!(late["notice"].as_str().unwrap().contains("secret no longer available"));
    drop(s);
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    assert_eq!(store.check_integrity().await.unwrap().reports, 1, "{}: never a new report", db.backend);
    let kept: i64 = match db.backend {
        "sqlite" => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query_scalar("SELECT COUNT(*) FROM dedup_keys WHERE response_secret IS NOT NULL")
                .fetch_one(&pool)
                .await
                .unwrap()
        }
        _ => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query_scalar("SELECT COUNT(*) FROM dedup_keys WHERE response_secret IS NOT NULL")
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(kept, 0, "{}: no plaintext secret left", db.backend);
}

/// The reporter API had no limit: one program could file reports (or poll) without end. By
/// default 300 requests per address in 10 minutes; 310 at once from one address get exactly
/// 300 answers and 10 refusals (each hit counted, batched or not), another address is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reporter_api_is_limited_per_address_by_default() {
    let db = TestDb::sqlite().await;
    let s = std::sync::Arc::new(TestApp::start(&db).await);
    let flood = from("127.0.0.8");
    let mut answers = std::collections::BTreeMap::<u16, usize>::new();
    for chunk in 0..5 {
        let tasks: Vec<_> = (0..62)
            .map(|i| {
                let (c, url) = (flood.clone(), s.url(&format!("/api/v1/reports/NOPE{chunk}{i}")));
                tokio::spawn(async move { c.get(url).send().await.unwrap() })
            })
            .collect();
        for t in tasks {
            *answers.entry(t.await.unwrap().status().as_u16()).or_default() += 1;
        }
    }
    assert_eq!(answers.get(&401), Some(&300), "{answers:?}");
    assert_eq!(answers.get(&429), Some(&10), "{answers:?}");
    let res = flood
        .post(s.url("/api/v1/reports"))
        .json(&json!({"form": "virus", "description": "感染"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "600");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limited");
    // Nothing of the refused submission was stored; another address files as usual.
    let res = from("127.0.0.1")
        .post(s.url("/api/v1/reports"))
        .json(&json!({"form": "virus", "description": "感染"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(s.store.check_integrity().await.unwrap().reports, 1);
}

/// `--api-limit N` counts in the database: N requests from one address over two processes,
/// not N on each. `--api-limit 0` turns the limit off.
async fn the_api_limit_is_counted_across_processes(db: &TestDb) {
    let (one, two) = (common::serve(&db.url, &["--api-limit", "10"]), common::serve(&db.url, &["--api-limit", "10"]));
    let c = from("127.0.0.9");
    let mut answers = Vec::new();
    for i in 0..12 {
        let s = if i % 2 == 0 { &one } else { &two };
        let body = json!({"form": "virus", "description": format!("プロセスをまたぐ制限 {i}")});
        answers.push(c.post(s.url("/api/v1/reports")).json(&body).send().await.unwrap().status());
    }
    assert_eq!(answers.iter().filter(|a| **a == StatusCode::CREATED).count(), 10, "{}: {answers:?}", db.backend);
    assert_eq!(&answers[10..], &[StatusCode::TOO_MANY_REQUESTS; 2], "{}", db.backend);
    drop((one, two));
    let off = common::serve(&db.url, &["--api-limit", "0"]);
    for _ in 0..15 {
        let res = c.get(off.url("/api/v1/reports/NOPE")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{}", db.backend);
    }
    drop(off);
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    assert_eq!(store.check_integrity().await.unwrap().reports, 10, "{}", db.backend);
}

/// Wrong secrets on `Authorization: Bearer` were unlimited (every one a fresh guess): now 20
/// per address in 15 minutes, shared with the reporters' links; then even the right secret is
/// refused from that address, while the reporter, elsewhere, still reads and writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_api_secrets_are_limited_per_address() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let owner = from("127.0.0.1");
    let (tn, secret) = report_by_api(&owner, &s).await;
    let guesser = from("127.0.0.10");
    let view =
        |c: &reqwest::Client, secret: &str| c.get(s.url(&format!("/api/v1/reports/{tn}"))).bearer_auth(secret).send();
    let mut answers = Vec::new();
    for i in 0..22 {
        answers.push(view(&guesser, &format!("wrong-secret-{i}")).await.unwrap().status());
    }
    assert_eq!(&answers[..20], &[StatusCode::NOT_FOUND; 20]);
    assert_eq!(&answers[20..], &[StatusCode::TOO_MANY_REQUESTS; 2]);
    let res = view(&guesser, &secret).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "not even checked from the guessing address");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "too_many_attempts");
    let follow_up = guesser
        .post(s.url(&format!("/api/v1/reports/{tn}/follow-ups")))
        .bearer_auth(&secret)
        .json(&json!({"body": "続報"}))
        .send()
        .await
        .unwrap();
    assert_eq!(follow_up.status(), StatusCode::TOO_MANY_REQUESTS);
    // The secret links share the count: the guesser cannot switch to /r/….
    let link = guesser.get(s.url(&format!("/r/{tn}/{secret}"))).send().await.unwrap();
    assert_eq!(link.status(), StatusCode::TOO_MANY_REQUESTS);
    // The reporter, from their own address, is not locked out; right secrets do not count.
    for _ in 0..25 {
        assert_eq!(view(&owner, &secret).await.unwrap().status(), StatusCode::OK);
    }
}
