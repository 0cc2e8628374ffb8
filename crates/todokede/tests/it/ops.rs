//! What an operator relies on: `/healthz`, `/readyz` and `/metrics` against the in-process
//! service (`TestApp`); the JSON log and the SIGTERM drain against the real `serve` process,
//! because the process, its signals, its exit status and what it writes to stderr are the
//! contract there.

use crate::common;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};
use todokede_store::Store;
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    readiness_follows_the_database_and_its_migrations,
    metrics_count_requests_intake_logins_and_the_queues,
    sigterm_mid_upload_stores_the_report_whole_or_not_at_all_and_exits_0,
);

async fn get(url: String) -> (StatusCode, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn readiness_follows_the_database_and_its_migrations(db: &TestDb) {
    let s = TestApp::start(db).await;
    assert_eq!(get(s.url("/healthz")).await, (StatusCode::OK, "ok".into()));
    assert_eq!(get(s.url("/readyz")).await, (StatusCode::OK, "ready".into()), "{}", db.backend);

    // A database without this build's newest migration (another version's) is not ready.
    db.mark_latest_migration(false).await;
    let (status, why) = get(s.url("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{}", db.backend);
    assert!(why.contains("migrations not applied"), "{why}");
    assert_eq!(get(s.url("/healthz")).await.0, StatusCode::OK, "alive all the same");
    db.mark_latest_migration(true).await;
    assert_eq!(get(s.url("/readyz")).await.0, StatusCode::OK);

    if db.backend == "postgres" {
        // The server refuses connections: not ready, but alive; ready again when it is back.
        let outage = db.outage().await;
        let start = Instant::now();
        let (status, why) = get(s.url("/readyz")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{why}");
        assert!(start.elapsed() < Duration::from_secs(5), "answered promptly: {:?}", start.elapsed());
        assert_eq!(get(s.url("/healthz")).await.0, StatusCode::OK);
        outage.end().await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(s.url("/readyz")).await.0 != StatusCode::OK {
            assert!(Instant::now() < deadline, "never ready again");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// `name{labels}` → value, checking the exposition format on the way: every sample's family
/// has a HELP and a TYPE line, every value is a number.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut typed = std::collections::BTreeSet::new();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.insert(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        let (key, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
        let family = key.split('{').next().unwrap();
        let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| family.strip_suffix(s)).unwrap_or(family);
        assert!(typed.contains(family) || typed.contains(base), "no TYPE for {family}");
        out.insert(key.to_owned(), value.parse::<f64>().unwrap_or_else(|_| panic!("not a number: {line}")));
    }
    out
}

async fn metrics_count_requests_intake_logins_and_the_queues(db: &TestDb) {
    let s = TestApp::start(db).await;
    let filed = s.submit_report("メトリクスの届出 1").await;
    s.submit_report("メトリクスの届出 2").await;
    let res = reqwest::Client::new()
        .post(s.url("/login"))
        .header("origin", s.base.clone())
        .form(&[("email", "nobody@ipa.example"), ("password", "wrong password")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let tn = todokede_domain::TrackingNumber::parse(&filed.tracking_number).unwrap();
    let id = s.store.report_id_by_tracking(&tn).await.unwrap().unwrap();
    s.store.enqueue_mail(id, "metrics-1@ipa.example", "todokede@ipa.example", "taro@example.jp", b"x").await.unwrap();

    // The analysis worker runs meanwhile: wait until its queue is empty.
    let deadline = Instant::now() + Duration::from_secs(20);
    let m = loop {
        let r = reqwest::get(s.url("/metrics")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
        let m = samples(&r.text().await.unwrap());
        if m["todokede_jobs_queued"] == 0.0 {
            break m;
        }
        assert!(Instant::now() < deadline, "{}: jobs never ran: {m:?}", db.backend);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let at = |k: &str| *m.get(k).unwrap_or_else(|| panic!("{}: no {k} in {m:#?}", db.backend));
    assert_eq!(at("todokede_intake_accepted_total{channel=\"api\"}"), 2.0);
    assert_eq!(at("todokede_intake_accepted_total{channel=\"web\"}"), 0.0);
    assert_eq!(at("todokede_http_requests_total{class=\"api\",status=\"201\"}"), 2.0);
    assert_eq!(at("todokede_http_requests_total{class=\"login\",status=\"401\"}"), 1.0);
    assert_eq!(at("todokede_http_request_duration_seconds_count{class=\"api\"}"), 2.0);
    assert_eq!(at("todokede_http_request_duration_seconds_bucket{class=\"api\",le=\"+Inf\"}"), 2.0);
    assert_eq!(at("todokede_login_failures_total"), 1.0);
    assert_eq!(at("todokede_database_up"), 1.0);
    assert_eq!(at("todokede_reports"), 2.0);
    assert_eq!((at("todokede_jobs_failed"), at("todokede_jobs_oldest_queued_seconds")), (0.0, 0.0));
    assert_eq!(
        (at("todokede_outbox_pending"), at("todokede_outbox_failed"), at("todokede_outbox_sent")),
        (1.0, 0.0, 0.0)
    );

    // Not for the public: a request through a proxy is not "this host".
    let r =
        reqwest::Client::new().get(s.url("/metrics")).header("x-forwarded-for", "203.0.113.9").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_metrics_need_it_even_from_this_host() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start_with(&db, |c| c.metrics_token = Some("scrape-token-1234".into())).await;
    assert_eq!(get(s.url("/metrics")).await.0, StatusCode::UNAUTHORIZED);
    let r = reqwest::Client::new().get(s.url("/metrics")).bearer_auth("wrong-token-12345").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = reqwest::Client::new().get(s.url("/metrics")).bearer_auth("scrape-token-1234").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("todokede_http_requests_total"));
}

/// A raw HTTP/1.1 request head for a JSON report of `len` bytes.
fn head(addr: &str, key: &str, len: usize) -> String {
    format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nIdempotency-Key: {key}\r\nContent-Length: {len}\r\n\r\n"
    )
}

/// Real process: SIGTERM and the exit status are the contract. Two uploads are half-sent when
/// the signal comes; one finishes its body afterwards (it is stored and acknowledged), the
/// other never does (it is dropped at the drain deadline and nothing of it is stored). New
/// connections are refused from the signal on, and the process exits 0 by itself. The old
/// server kept its listener open while it drained (new connections hung in the backlog) and
/// waited a fixed 30 s.
async fn sigterm_mid_upload_stores_the_report_whole_or_not_at_all_and_exits_0(db: &TestDb) {
    let mut server = common::serve(&db.url, &["--drain-timeout", "3s"]);
    let addr = server.base.strip_prefix("http://").unwrap().to_owned();
    let client = reqwest::Client::new();
    for i in 0..10 {
        let r = client
            .post(server.url("/api/v1/reports"))
            .json(&json!({"form": "unauthorized_access", "description": format!("停止前の届出 {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let text = format!("停止の最中に届いた長い届出。{}", "ログの抜粋。".repeat(20_000));
    let body = serde_json::to_vec(&json!({"form": "virus", "description": text})).unwrap();
    let half = body.len() / 2;
    let (whole_body, stalled_body) = (body.clone(), body);
    let a = addr.clone();
    let (whole, stalled) = tokio::task::spawn_blocking(move || {
        let mut whole = std::net::TcpStream::connect(&a).unwrap();
        whole.write_all(head(&a, "drain-whole", whole_body.len()).as_bytes()).unwrap();
        whole.write_all(&whole_body[..half]).unwrap();
        let mut stalled = std::net::TcpStream::connect(&a).unwrap();
        stalled.write_all(head(&a, "drain-stalled", stalled_body.len()).as_bytes()).unwrap();
        stalled.write_all(&stalled_body[..half]).unwrap();
        (whole, stalled)
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.sigterm();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(std::net::TcpStream::connect(&addr).is_err(), "{}: a new connection is refused while draining", db.backend);

    let rest = text.len();
    let answer = tokio::task::spawn_blocking(move || {
        let mut whole = whole;
        let body = serde_json::to_vec(&json!({"form": "virus", "description": text})).unwrap();
        whole.write_all(&body[half..]).unwrap();
        whole.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answer = String::new();
        let _ = whole.read_to_string(&mut answer);
        answer
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{}: the upload in flight is finished: {answer}", db.backend);
    let receipt: Value = serde_json::from_str(&answer[answer.find("\r\n\r\n").unwrap() + 4..]).unwrap();

    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || {
        let status = server.wait_exit(Duration::from_secs(15));
        (status, server)
    })
    .await
    .unwrap();
    let (status, _server) = status;
    let status = status.unwrap_or_else(|| panic!("{}: still running 15 s after SIGTERM", db.backend));
    assert_eq!(status.code(), Some(0), "{}: {status:?}", db.backend);
    assert!(started.elapsed() < Duration::from_secs(6), "within the 3 s drain deadline: {:?}", started.elapsed());
    let mut stalled = stalled;
    stalled.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut late = String::new();
    let _ = stalled.read_to_string(&mut late);
    assert!(!late.contains("201"), "the stalled upload was not acknowledged: {late}");

    let store = Store::open(&db.url).await.unwrap();
    let check = store.check_integrity().await.unwrap();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert_eq!(check.reports, 11, "{}: ten before, the finished upload, not the stalled one", db.backend);
    let tn = todokede_domain::TrackingNumber::parse(receipt["tracking_number"].as_str().unwrap()).unwrap();
    let id = store.report_id_by_tracking(&tn).await.unwrap().unwrap();
    assert_eq!(store.report(id).await.unwrap().unwrap().content.description.len(), rest, "stored whole");

    // Whatever jobs the stopped process held are taken by the next one at once (given back,
    // not left to a five-minute lease).
    let _next = common::serve(&db.url, &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !store.pending_jobs(100).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "{}: jobs left claimed", db.backend);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Real process: the log on stderr is the contract.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_one_json_object_per_line_on_request_and_no_colours_into_a_file() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (json_log, text_log) = (dir.path().join("json.log"), dir.path().join("text.log"));
    let mut server = common::serve_logging(&db.url, &["--log-format", "json"], &json_log);
    let r = reqwest::Client::new()
        .post(server.url("/api/v1/reports"))
        .json(&json!({"form": "virus", "description": "ログの形式"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    server.sigterm();
    assert_eq!(server.wait_exit(Duration::from_secs(15)).and_then(|s| s.code()), Some(0));
    let log = std::fs::read_to_string(&json_log).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 2, "{log}");
    for l in &lines {
        assert!(l["timestamp"].is_string() && l["level"].is_string() && l["target"].is_string(), "{l}");
    }
    let serving = lines.iter().find(|l| l["message"] == "todokede serving").expect("the start is logged");
    assert!(serving["fields"]["addr"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(lines.iter().any(|l| l["message"].as_str().unwrap_or("").starts_with("draining")), "{log}");

    let mut server = common::serve_logging(&db.url, &[], &text_log);
    server.sigterm();
    assert_eq!(server.wait_exit(Duration::from_secs(15)).and_then(|s| s.code()), Some(0));
    let log = std::fs::read_to_string(&text_log).unwrap();
    assert!(log.contains("todokede serving"), "{log}");
    assert!(!log.contains('\u{1b}'), "no colour codes in a file: {log:?}");
    common::ok(common::todokede(&db.url, &["--log-format", "json", "search", "ログ"]));
}

/// A second SIGTERM while `serve` drains ends it at once (exit 143), as an operator who
/// presses Ctrl-C twice expects; before, the second signal was swallowed and the process
/// waited out the whole drain deadline.
#[tokio::test]
async fn a_second_sigterm_while_draining_exits_at_once() {
    let db = TestDb::sqlite().await;
    let mut server = common::serve(&db.url, &["--drain-timeout", "30s"]);
    let addr = server.base.strip_prefix("http://").unwrap().to_owned();
    // An upload that never finishes keeps the drain busy until its deadline.
    let mut stalled = std::net::TcpStream::connect(&addr).unwrap();
    stalled.write_all(head(&addr, "never-finished", 10_000).as_bytes()).unwrap();
    stalled.write_all(b"{\"form\": \"virus\", ").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.sigterm();
    std::thread::sleep(Duration::from_millis(700));
    assert!(server.child.try_wait().unwrap().is_none(), "draining after the first signal");
    let started = Instant::now();
    server.sigterm();
    let status = server.wait_exit(Duration::from_secs(5)).expect("exited after the second signal");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(status.code(), Some(143), "{status:?}");
    drop(stalled);
}
