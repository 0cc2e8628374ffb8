//! Three real `serve` processes on one PostgreSQL database — the deployment behind a load
//! balancer, so the processes are the point and run as the binary. Reports, retries, form
//! posts with acknowledgements and logins are spread over all three while one is SIGKILLed
//! and restarted: every acknowledged report is stored once, every analysis job is done and
//! ran once, every mail reaches the SMTP sink once, and the limits count the attempts of all
//! three together.

use crate::common::{self, Server, hidden, todokede};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use todokede_store::Store;
use todokede_testkit::{SmtpSink, TestDb};

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// `POST /api/v1/reports` with an Idempotency-Key; the tracking number, or None when the
/// server did not answer (it was killed).
async fn api_report(c: &reqwest::Client, base: &str, key: &str) -> Option<String> {
    let body = json!({"form": "unauthorized_access", "description": format!("三つのプロセスへの届出 {key}")});
    let r = c.post(format!("{base}/api/v1/reports")).header("Idempotency-Key", key).json(&body).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    Some(r.json::<Value>().await.ok()?["tracking_number"].as_str()?.to_owned())
}

/// A web-form report asking for the acknowledgement by mail; its status and tracking number.
async fn form_report(c: &reqwest::Client, base: &str, email: &str) -> (StatusCode, Option<String>) {
    let page = c.get(format!("{base}/report/new?form=virus")).send().await.unwrap().text().await.unwrap();
    let form = reqwest::multipart::Form::new()
        .text("form", "virus")
        .text("submission_id", hidden(&page, "submission_id"))
        .text("reporter_email", email.to_owned())
        .text("mail_receipt", "1")
        .text("description", format!("フォームからの届出 {email}"));
    let r =
        c.post(format!("{base}/report/new")).header("origin", base.to_owned()).multipart(form).send().await.unwrap();
    let status = r.status();
    let html = r.text().await.unwrap();
    let tn = html.split("<p class=\"tn\">").nth(1).and_then(|s| s.split("</p>").next()).map(str::to_owned);
    (status, tn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_serve_processes_on_one_postgres_database_store_run_and_send_everything_once() {
    let Some(db) = TestDb::postgres().await else { return };
    let out = todokede(&db.url, &["user", "add", "--role", "analyst", "analyst@ipa.example"]);
    let password = String::from_utf8_lossy(&out.stdout).trim().rsplit(' ').next().unwrap().to_owned();
    let mut sink = SmtpSink::start().await;
    let smtp = format!("smtp://{}", sink.addr);
    let args = [
        "--smtp",
        smtp.as_str(),
        "--mail-from",
        "todokede@ipa.example",
        "--mail-retry-min",
        "200ms",
        "--mail-retry-max",
        "1s",
        "--job-lease",
        "5s",
    ];
    let mut servers: Vec<Server> = (0..3).map(|_| common::serve(&db.url, &args)).collect();
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();

    // 1. API reports, 20 per process at once; then each retried on another process.
    let api = client_from("127.0.0.2");
    let mut acked: BTreeMap<String, String> = BTreeMap::new();
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (c, base) = (api.clone(), bases[i % 3].clone());
        tasks.push(tokio::spawn(async move { (format!("k{i}"), api_report(&c, &base, &format!("k{i}")).await) }));
    }
    for t in tasks {
        let (key, tn) = t.await.unwrap();
        acked.insert(key, tn.expect("all three answer"));
    }
    for i in 0..60 {
        let key = format!("k{i}");
        let again = api_report(&api, &bases[(i + 1) % 3], &key).await.unwrap();
        assert_eq!(again, acked[&key], "a retry on another process gets the same number");
    }

    // 2. SIGKILL one process under load and start it again; the other two carry on.
    let mut tasks = Vec::new();
    for i in 60..120 {
        let (c, base) = (api.clone(), bases[i % 3].clone());
        tasks.push(tokio::spawn(async move { (format!("k{i}"), api_report(&c, &base, &format!("k{i}")).await) }));
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    servers[1].kill9();
    let mut unanswered = 0;
    for t in tasks {
        match t.await.unwrap() {
            (key, Some(tn)) => {
                acked.insert(key, tn);
            }
            (_, None) => unanswered += 1,
        }
    }
    servers[1] = common::serve(&db.url, &args);
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();

    // 3. Web-form reports with an acknowledgement by mail, from one address over all three:
    //    the form's limit (30 posts per address in 10 minutes) holds across the processes.
    let form = client_from("127.0.0.3");
    let (mut accepted, mut refused, mut form_tns) = (0, 0, Vec::new());
    for i in 0..36 {
        match form_report(&form, &bases[i % 3], &format!("reporter{i}@example.co.jp")).await {
            (StatusCode::OK, Some(tn)) => {
                accepted += 1;
                form_tns.push(tn);
            }
            (StatusCode::TOO_MANY_REQUESTS, _) => refused += 1,
            other => panic!("form post {i}: {other:?}"),
        }
    }
    assert_eq!((accepted, refused), (30, 6), "30 posts per address across all processes, not 30 each");

    // 4. Logins: five wrong passwords over the three lock the (account, address) pair on all.
    let guesser = client_from("127.0.0.4");
    let login = |c: reqwest::Client, base: String, password: String| async move {
        c.post(format!("{base}/login"))
            .header("origin", base.clone())
            .form(&[("email", "analyst@ipa.example".to_owned()), ("password", password)])
            .send()
            .await
            .unwrap()
            .status()
    };
    for i in 0..5 {
        let status = login(guesser.clone(), bases[i % 3].clone(), format!("guess number {i}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(guesser.clone(), bases[2].clone(), password.clone()).await, StatusCode::TOO_MANY_REQUESTS);
    // The owner, from an address that did not fail, logs in on any of them.
    assert_eq!(login(client_from("127.0.0.5"), bases[1].clone(), password.clone()).await, StatusCode::SEE_OTHER);

    // Everything settles: jobs done, mail sent.
    let store = Store::open(&db.url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let q = store.queue_counts().await.unwrap();
        let o = store.outbox_counts().await.unwrap();
        if q.jobs_queued == 0 && o.queued == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "not settled: {q:?} {o:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(raw) = sink.next(2).await {
        let id = mail_parser::MessageParser::default().parse(&raw).unwrap().message_id().unwrap().to_owned();
        *seen.entry(id).or_default() += 1;
    }
    drop(servers);

    // Every acknowledged report once; nothing else but the unanswered ones (stored or not).
    let check = store.check_integrity().await.unwrap();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    let distinct: BTreeSet<&String> = acked.values().chain(form_tns.iter()).collect();
    assert_eq!(distinct.len(), acked.len() + form_tns.len(), "no two answers share a number");
    let stored = check.reports as usize;
    assert!(
        stored >= distinct.len() && stored <= distinct.len() + unanswered,
        "{stored} stored, {} acknowledged, {unanswered} unanswered",
        distinct.len()
    );
    for tn in &distinct {
        let tn = todokede_domain::TrackingNumber::parse(tn).unwrap();
        assert!(store.report_id_by_tracking(&tn).await.unwrap().is_some(), "{tn} acknowledged but not stored");
    }
    // Every job done, each in one run.
    let q = store.queue_counts().await.unwrap();
    assert_eq!((q.jobs_queued, q.jobs_failed), (0, 0));
    assert_eq!(q.jobs_done, check.reports, "one analysis job per report, all done");
    assert_eq!(q.jobs_done_attempts, q.jobs_done, "each job ran once");
    // Every acknowledgement once.
    let o = store.outbox_counts().await.unwrap();
    assert_eq!((o.sent, o.failed), (30, 0), "{o:?}");
    assert_eq!(seen.len(), 30, "every acknowledgement arrived");
    let dups: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "sent more than once: {dups:?}");
    eprintln!(
        "three processes: {} reports acknowledged ({unanswered} unanswered at the SIGKILL), {stored} stored, {} jobs done in {} runs, {} mails sent once",
        distinct.len(),
        q.jobs_done,
        q.jobs_done_attempts,
        seen.len()
    );
    db.cleanup().await;
}
