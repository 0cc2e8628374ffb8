//! `todokede backup` and `todokede restore` (the real binary: the commands, their output and
//! exit status are the contract) round-trip an SQLite store — reports, attachments, mail,
//! audit — and a backup taken while reports arrive holds every report acknowledged before it
//! began. PostgreSQL is backed up with pg_dump and restored with pg_restore (the documented
//! procedure, README "Operations"), tested here once.

use crate::common::{self, todokede};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};
use todokede_store::Store;
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

/// Everything a restore must bring back, as text: counts, every report (content, timeline,
/// attachments) with its attachments' bytes and raw input, its mail, and the audit log.
async fn snapshot(url: &str) -> String {
    let store = Store::open(url).await.unwrap();
    let check = store.check_integrity().await.unwrap();
    assert!(check.problems.is_empty(), "{url}: {:?}", check.problems);
    let mut out = format!("{} reports, {} dedup keys, {} blobs\n", check.reports, check.dedup_keys, check.blobs);
    for id in store.all_report_ids().await.unwrap() {
        let r = store.report(id).await.unwrap().unwrap();
        out += &format!("{r:?}\n");
        for a in &r.attachments {
            let bytes = store.blob(&a.sha256).await.unwrap().expect("attachment bytes");
            out += &format!("blob {} {} bytes, first {:?}\n", a.sha256, bytes.len(), &bytes[..bytes.len().min(16)]);
        }
        let raw = store.raw_input(id).await.unwrap().expect("raw input");
        out += &format!("raw {} bytes\n", raw.bytes.len());
        for m in store.report_mail(id).await.unwrap() {
            out += &format!("mail {} {} {:?} {:?}\n", m.id, m.to, m.state, m.last_error);
        }
        out += &format!("analysis {:?}\n", store.analysis(id).await.unwrap().map(|a| a.len()));
    }
    for e in store.audit_log(1000).await.unwrap() {
        out += &format!("audit {e:?}\n");
    }
    store.close().await.unwrap();
    out
}

/// A store with reports (one with an attachment), a mailed report with its acknowledgement
/// queued, analyses, and audit entries (a login, a failed one).
async fn populate(db: &TestDb) {
    let s = TestApp::start(db).await;
    s.submit_report("バックアップ対象の届出").await;
    let form = reqwest::multipart::Form::new()
        .text("report", r#"{"form":"virus","description":"添付ファイル付きの届出"}"#)
        .part(
            "attachments",
            reqwest::multipart::Part::bytes(b"Failed password for root from 203.0.113.5".to_vec())
                .file_name("auth.log"),
        );
    let r = reqwest::Client::new().post(s.url("/api/v1/reports")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    s.logged_in(todokede_store::Role::Admin, "admin@ipa.example").await;
    let _ = reqwest::Client::new()
        .post(s.url("/login"))
        .header("origin", s.base.clone())
        .form(&[("email", "admin@ipa.example"), ("password", "wrong password!")])
        .send()
        .await
        .unwrap();
    let eml = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        eml.path(),
        "From: reporter@example.co.jp\r\nTo: todokede@ipa.example\r\nSubject: 不正アクセスの届出\r\nMessage-ID: <backup-1@example.co.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nWeb サーバが改ざんされました。\r\n",
    )
    .unwrap();
    common::ok(todokede(&db.url, &["import", eml.path().to_str().unwrap()]));
    // Let the analyses run.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !s.store.pending_jobs(10).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "analyses never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_reports_attachments_mail_and_audit() {
    let db = TestDb::sqlite().await;
    populate(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let out = common::ok(todokede(&db.url, &["backup", "-o", copy.to_str().unwrap()]));
    assert!(out.starts_with("backup\t") && out.contains("\t3 reports\t") && out.contains("integrity ok"), "{out}");
    // Never over an existing file.
    let again = todokede(&db.url, &["backup", "--to", copy.to_str().unwrap()]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("exists"));

    let restored = format!("sqlite://{}", dir.path().join("restored/todokede.db").display());
    let out = common::ok(todokede(&restored, &["restore", copy.to_str().unwrap()]));
    assert!(out.starts_with("restored\t") && out.contains("\t3 reports\t"), "{out}");
    let before = snapshot(&db.url).await;
    assert!(before.contains("blob ") && before.contains("mail ") && before.contains("audit "), "{before}");
    assert_eq!(snapshot(&restored).await, before, "the restored store is the original");

    // Over an existing store only with --replace, and the replaced store is the backup's.
    let other = TestDb::sqlite().await;
    TestApp::start(&other).await.submit_report("別のストア").await;
    let refused = todokede(&other.url, &["restore", "--from", copy.to_str().unwrap()]);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("--replace"));
    common::ok(todokede(&other.url, &["restore", copy.to_str().unwrap(), "--replace"]));
    assert_eq!(snapshot(&other.url).await, before);

    // A damaged backup is refused and the store is left as it was.
    let bad = dir.path().join("bad.db");
    let mut bytes = std::fs::read(&copy).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n / 2..n / 2 + 8192] {
        *b ^= 0x5a;
    }
    std::fs::write(&bad, bytes).unwrap();
    let refused = todokede(&other.url, &["restore", bad.to_str().unwrap(), "--replace"]);
    assert!(!refused.status.success(), "a damaged backup is not restored");
    assert_eq!(snapshot(&other.url).await, before, "the store is untouched");

    // PostgreSQL is backed up with its own tools.
    if let Some(pg) = TestDb::postgres().await {
        common::ok(todokede(&pg.url, &["user", "add", "--role", "admin", "x@ipa.example"]));
        let out = todokede(&pg.url, &["backup", "-o", dir.path().join("pg.db").to_str().unwrap()]);
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
        pg.cleanup().await;
    }
}

/// Reports keep arriving (in process, many at once) while `todokede backup` runs: every report
/// acknowledged before the backup started is in the copy, and the copy has nothing else than
/// acknowledged reports, each whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_reports_arrive_holds_every_report_acknowledged_before_it() {
    let db = TestDb::sqlite().await;
    // As many reports as the writers manage: no request limit.
    let s = TestApp::start_with(&db, |c| c.limits.api_requests = 0).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (url, stop) = (s.url("/api/v1/reports"), stop.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut acked = Vec::new();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = json!({"form": "unauthorized_access", "description": format!("バックアップ中の届出 {w}-{i} {}", "本文。".repeat(200))});
                    let r = client.post(&url).json(&body).send().await.unwrap();
                    assert_eq!(r.status(), StatusCode::CREATED);
                    let v: serde_json::Value = r.json().await.unwrap();
                    acked.push((Instant::now(), v["tracking_number"].as_str().unwrap().to_owned()));
                    i += 1;
                }
                acked
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("during.db");
    let began = Instant::now();
    let (url, path) = (db.url.clone(), copy.to_str().unwrap().to_owned());
    let out = tokio::task::spawn_blocking(move || common::ok(todokede(&url, &["backup", "-o", &path]))).await.unwrap();
    let ended = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    s.stop().await;

    let store = Store::open(&format!("sqlite://{}", copy.display())).await.unwrap();
    let check = store.check_integrity().await.unwrap();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    let mut in_copy = std::collections::BTreeSet::new();
    for id in store.all_report_ids().await.unwrap() {
        let r = store.report(id).await.unwrap().unwrap();
        assert!(r.content.description.ends_with("本文。"), "whole");
        in_copy.insert(r.tracking_number.to_string());
    }
    let before: Vec<&String> = acked.iter().filter(|(at, _)| *at < began).map(|(_, tn)| tn).collect();
    let during = acked.iter().filter(|(at, _)| *at >= began && *at <= ended).count();
    assert!(before.len() > 20, "a load before the backup: {}", before.len());
    let missing: Vec<_> = before.iter().filter(|tn| !in_copy.contains(**tn)).collect();
    assert!(missing.is_empty(), "acknowledged before the backup but not in it: {missing:?}");
    let all: std::collections::BTreeSet<&String> = acked.iter().map(|(_, tn)| tn).collect();
    assert!(in_copy.iter().all(|tn| all.contains(tn)), "only acknowledged reports");
    eprintln!(
        "backup during load: {} reports acknowledged before, {during} during the {:.0} ms backup, {} in the copy; {out}",
        before.len(),
        (ended - began).as_secs_f64() * 1000.0,
        in_copy.len()
    );
}

/// The documented PostgreSQL procedure: `pg_dump -Fc` of the live database, `pg_restore
/// --no-owner` into an empty one; todokede opens the restored database as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_round_trips_through_pg_dump_and_pg_restore() {
    let Some(db) = TestDb::postgres().await else { return };
    if !todokede_testkit::requires::tool("pg_dump") || !todokede_testkit::requires::tool("pg_restore") {
        return;
    }
    populate(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("todokede.dump");
    let run = |program: &str, args: &[&str]| {
        let out = std::process::Command::new(program).args(args).output().unwrap();
        assert!(out.status.success(), "{program}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run("pg_dump", &["-Fc", "-f", dump.to_str().unwrap(), "-d", &db.url]);
    let target = TestDb::postgres().await.unwrap();
    run("pg_restore", &["--no-owner", "-d", &target.url, dump.to_str().unwrap()]);
    let before = snapshot(&db.url).await;
    assert!(before.contains("blob ") && before.contains("mail ") && before.contains("audit "), "{before}");
    assert_eq!(snapshot(&target.url).await, before);
    db.cleanup().await;
    target.cleanup().await;
}
