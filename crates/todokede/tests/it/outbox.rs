//! The outbox as a queue, against a real SMTP sink that is down and then comes up: nothing is
//! dropped after a number of tries, each mail arrives once even with several `serve`
//! processes on one database, and a mail that could not be delivered is marked failed, shown
//! to admins and on the report, and counted. The outbox worker runs in the in-process service
//! (`TestApp`); the test of several `serve` processes on one database runs real processes.

use crate::common;

use common::{Server, todokede};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use todokede_store::Store;
use todokede_testkit::app::{Config, TestApp};
use todokede_testkit::{SmtpSink, TestDb};

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    an_smtp_outage_longer_than_twenty_tries_delays_mail_and_loses_none,
    three_serve_processes_on_one_database_send_each_mail_once,
    mail_never_delivered_is_marked_failed_shown_to_admins_and_on_the_report,
    a_refused_recipient_is_named_neither_in_the_log_nor_in_the_stored_error,
);

/// `n` reports by mail (each acknowledged to its sender), through `import`.
fn import_mails(db: &str, tag: &str, n: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = (0..n)
        .map(|i| {
            let p = dir.path().join(format!("{tag}-{i}.eml"));
            std::fs::write(
                &p,
                format!(
                    "From: reporter{i}@example.co.jp\r\nTo: todokede@ipa.example\r\nSubject: 不正アクセスの届出 {i}\r\nMessage-ID: <{tag}-{i}@example.co.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nサーバに不正ログインされました（{tag} {i}）。\r\n"
                ),
            )
            .unwrap();
            p.display().to_string()
        })
        .collect();
    let mut args = vec!["import"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--mail-from", "todokede@ipa.example"]);
    let out = common::ok(todokede(db, &args));
    out.lines().map(|l| l.split('\t').next().unwrap().to_owned()).collect()
}

fn message_id(raw: &[u8]) -> String {
    mail_parser::MessageParser::default().parse(raw).unwrap().message_id().unwrap().to_owned()
}

/// Everything the sink receives until `want` distinct messages came, then `settle` more time
/// (a duplicate would arrive then). Message-ID → times received.
async fn collect(sink: &mut SmtpSink, want: usize, within: Duration, settle: Duration) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::<String, usize>::new();
    let deadline = Instant::now() + within;
    while seen.len() < want && Instant::now() < deadline {
        if let Some(raw) = sink.next(1).await {
            *seen.entry(message_id(&raw)).or_default() += 1;
        }
    }
    let until = Instant::now() + settle;
    while Instant::now() < until {
        if let Some(raw) = sink.next(1).await {
            *seen.entry(message_id(&raw)).or_default() += 1;
        }
    }
    seen
}

/// The sink has a mail before its sender records it: wait for the record.
async fn wait_sent(store: &Store, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.outbox_counts().await.unwrap().sent < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const FAST_RETRY: [&str; 4] = ["--mail-retry-min", "200ms", "--mail-retry-max", "1s"];

/// `serve --smtp smtp://ADDR --mail-from todokede@ipa.example` with [`FAST_RETRY`].
fn fast_retry_to(smtp: std::net::SocketAddr) -> impl FnOnce(&mut Config) {
    move |c| {
        c.smtp = Some(todokede_mail::Smtp::from_url(&format!("smtp://{smtp}")).unwrap());
        c.mail.from = todokede_domain::EmailAddress::parse("todokede@ipa.example").unwrap();
        c.outbox.retry_min = Duration::from_millis(200);
        c.outbox.retry_max = Duration::from_secs(1);
    }
}

async fn an_smtp_outage_longer_than_twenty_tries_delays_mail_and_loses_none(db: &TestDb) {
    let tns = import_mails(&db.url, "outage", 4);
    let store = Store::open(&db.url).await.unwrap();
    store.create_user("analyst@ipa.example", todokede_store::Role::Analyst, "x").await.unwrap();
    let smtp = SmtpSink::down();
    let _server = TestApp::start_with(db, fast_retry_to(smtp)).await;
    // An analyst's reply during the outage, queued too.
    let reply = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(reply.path(), "詳しいログをお送りください。").unwrap();
    common::ok(todokede(
        &db.url,
        &[
            "reply",
            &tns[0],
            "--as",
            "analyst@ipa.example",
            reply.path().to_str().unwrap(),
            "--mail-from",
            "todokede@ipa.example",
        ],
    ));
    // The old worker tried every 10 ms and dropped a mail after 20 tries (a fraction of a
    // second). Four seconds of outage: every mail is still queued, tried and not given up.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let queued = store.due_mail(100).await.unwrap();
    assert_eq!(queued.len(), 5, "{}: every mail still queued during the outage", db.backend);
    assert!(
        queued.iter().all(|m| m.attempts >= 2),
        "{}: tried: {:?}",
        db.backend,
        queued.iter().map(|m| m.attempts).collect::<Vec<_>>()
    );
    assert!(queued.iter().all(|m| m.attempts < 20), "{}: backing off, not hammering", db.backend);
    assert_eq!(store.outbox_counts().await.unwrap().failed, 0);

    let mut sink = SmtpSink::start_at(smtp).await;
    let seen = collect(&mut sink, 5, Duration::from_secs(20), Duration::from_secs(2)).await;
    assert_eq!(seen.len(), 5, "{}: every mail arrived after the outage: {seen:?}", db.backend);
    assert!(seen.values().all(|&n| n == 1), "{}: each exactly once: {seen:?}", db.backend);
    wait_sent(&store, 5).await;
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.queued, counts.failed, counts.sent), (0, 0, 5), "{}", db.backend);
}

/// Real processes: several `serve` processes sharing one database is the point.
async fn three_serve_processes_on_one_database_send_each_mail_once(db: &TestDb) {
    const MAILS: usize = 40;
    let tns = import_mails(&db.url, "three", MAILS);
    assert_eq!(tns.len(), MAILS);
    let smtp = SmtpSink::down();
    let mut args =
        vec!["--smtp".to_owned(), format!("smtp://{smtp}"), "--mail-from".into(), "todokede@ipa.example".into()];
    args.extend(FAST_RETRY.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let servers: Vec<Server> = (0..3).map(|_| common::serve(&db.url, &args)).collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut sink = SmtpSink::start_at(smtp).await;
    let seen = collect(&mut sink, MAILS, Duration::from_secs(30), Duration::from_secs(3)).await;
    let store = Store::open(&db.url).await.unwrap();
    wait_sent(&store, MAILS as i64).await;
    drop(servers);
    let dups: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert_eq!(seen.len(), MAILS, "{}: every acknowledgement arrived", db.backend);
    assert!(dups.is_empty(), "{}: sent more than once: {dups:?}", db.backend);
    assert_eq!(store.outbox_counts().await.unwrap().sent, MAILS as i64);
}

async fn mail_never_delivered_is_marked_failed_shown_to_admins_and_on_the_report(db: &TestDb) {
    let tns = import_mails(&db.url, "never", 1);
    let password = common::user_add(&db.url, "admin", "admin@ipa.example");
    let smtp = SmtpSink::down();
    let smtp_url = format!("smtp://{smtp}");
    let s = TestApp::start_with(db, |c| {
        c.smtp = Some(todokede_mail::Smtp::from_url(&smtp_url).unwrap());
        c.outbox.retry_min = Duration::from_millis(100);
        c.outbox.retry_max = Duration::from_millis(300);
        c.outbox.give_up_after = Duration::from_secs(2);
    })
    .await;
    let reply = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(reply.path(), "ご連絡です。").unwrap();
    common::ok(todokede(&db.url, &["reply", &tns[0], "--as", "admin@ipa.example", reply.path().to_str().unwrap()]));
    let store = Store::open(&db.url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    // The audit entry is written just after the mail is marked failed: wait for both.
    let failed_in_audit =
        || async { store.audit_log(50).await.unwrap().iter().filter(|e| e.action == "mail.failed").count() };
    while store.outbox_counts().await.unwrap().failed < 2 || failed_in_audit().await < 2 {
        assert!(Instant::now() < deadline, "{}: never marked failed and audited", db.backend);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(store.due_mail(10).await.unwrap().is_empty(), "a failed mail is not retried on its own");
    assert_eq!(failed_in_audit().await, 2, "{}", db.backend);

    let b = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = b
        .post(s.url("/login"))
        .header("origin", s.base.clone())
        .form(&[("email", "admin@ipa.example"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    let page = b.get(s.url("/admin/mail")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<strong id=\"mail-failed\">2</strong>"), "{}: counted", db.backend);
    assert!(page.contains(&tns[0]) && page.contains("送信失敗"), "{}: listed", db.backend);
    // The report page does not show the reply as sent.
    let report = b.get(s.url(&format!("/reports/{}", tns[0]))).send().await.unwrap().text().await.unwrap();
    assert_eq!(report.matches("class=\"mail-failed\"").count(), 2, "{}", db.backend);
    assert!(!report.contains("送信済み"), "{}: a reply that failed does not show as sent", db.backend);

    // An admin queues one again; the server is up now: it goes out.
    let mut sink = SmtpSink::start_at(smtp).await;
    let csrf = {
        let needle = "name=\"csrf\" value=\"";
        let i = page.find(needle).unwrap() + needle.len();
        page[i..i + page[i..].find('"').unwrap()].to_owned()
    };
    let id = store.failed_mail(10).await.unwrap()[0].id;
    let res = b
        .post(s.url(&format!("/admin/mail/{id}/retry")))
        .header("origin", s.base.clone())
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    assert!(sink.next(10).await.is_some(), "{}: the retried mail went out", db.backend);
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.outbox_counts().await.unwrap().sent < 1 {
        assert!(Instant::now() < deadline, "{}: never recorded as sent", db.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.failed, counts.sent), (1, 1), "{}", db.backend);
}

/// Real process: what `serve` writes to its log is the contract. SMTP servers quote the
/// recipient in a refusal; the reporter's address must reach neither the log nor the error
/// text stored with the mail (the old worker stored and logged the server's answer as it was).
async fn a_refused_recipient_is_named_neither_in_the_log_nor_in_the_stored_error(db: &TestDb) {
    let tns = import_mails(&db.url, "refused", 1);
    let sink = SmtpSink::rejecting_recipients().await;
    let log = std::env::temp_dir().join(format!("todokede-refused-{}-{}.log", db.backend, std::process::id()));
    let mut args =
        vec!["--smtp".to_owned(), format!("smtp://{}", sink.addr), "--mail-from".into(), "todokede@ipa.example".into()];
    args.extend(FAST_RETRY.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = common::serve_logging(&db.url, &args, &log);
    let store = Store::open(&db.url).await.unwrap();
    let id =
        store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&tns[0]).unwrap()).await.unwrap().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let error = loop {
        let mails = store.report_mail(id).await.unwrap();
        if let Some(e) = mails.iter().find_map(|m| m.last_error.clone()).filter(|_| mails[0].to.contains('@')) {
            break e;
        }
        assert!(Instant::now() < deadline, "{}: the refusal was never recorded", db.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Let the retry log it too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(error.contains("550") && error.contains("<address>"), "{}: {error}", db.backend);
    assert!(!error.contains("reporter0@"), "{}: stored: {error}", db.backend);
    assert!(logged.contains("mail not sent"), "{}: the failure is logged: {logged}", db.backend);
    assert!(!logged.contains("reporter0@"), "{}: logged: {logged}", db.backend);
    // The admins' outbox view still says where the mail was going.
    assert_eq!(store.report_mail(id).await.unwrap()[0].to, "reporter0@example.co.jp");
}
