//! The command line over a real store: import of the seed fixtures, re-analysis, analyze,
//! users, and one-line errors; and the analysis worker of the service (`TestApp`).

use crate::common;

use common::todokede;
use serde_json::Value;
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    seed_fixtures_import_once_and_reanalyse,
    analysts_confirm_or_override_and_overrides_are_counted,
);

fn repo(rel: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel).display().to_string()
}

async fn seed_fixtures_import_once_and_reanalyse(db: &TestDb) {
    let h1 = repo("fixtures/seeds/2019H1.json");
    let h2 = repo("fixtures/seeds/2019H2.json");
    let out = todokede(&db.url, &["import", &h1, &h2]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().filter(|l| l.ends_with("\timported")).count(), 30, "{stdout}");
    // Importing again stores nothing twice.
    let again = todokede(&db.url, &["import", &h1, &h2]);
    assert_eq!(String::from_utf8_lossy(&again.stdout).lines().filter(|l| l.ends_with("already imported")).count(), 30);

    let out = todokede(&db.url, &["reanalyse"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let reports = store.list_reports(&todokede_store::ReportFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(reports.len(), 30, "{}", db.backend);
    // 届出日 is kept from the seed (2019-08-14 for 2019H2 #1), not the import date.
    let first_h2 = reports.iter().find(|r| r.headline.starts_with("届出者（企業）の社内グループウェア")).unwrap();
    assert_eq!(first_h2.received_at.date().to_string(), "2019-08-14");
    let analysis: Value = serde_json::from_str(&store.analysis(first_h2.id).await.unwrap().unwrap()).unwrap();
    assert_eq!(analysis["causes"][0]["key"], "missing_access_control", "{}", db.backend);
    assert_eq!(analysis["damages"][0]["key"], "data_destruction_extortion");
}

#[tokio::test]
async fn new_reports_are_analysed_in_the_background() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    s.submit_report("ECサイトでリスト型攻撃を受け、顧客アカウントに不正ログインされた。攻撃元 45.33.32.156").await;
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let id = store.list_reports(&Default::default()).await.unwrap()[0].id;
    // The worker polls every 200 ms; wait for its result, not a fixed time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // The analysis is stored before its job is marked done, so wait for both.
    let analysis = loop {
        if let Some(a) = store.analysis(id).await.unwrap()
            && store.pending_jobs(10).await.unwrap().is_empty()
        {
            break a;
        }
        assert!(std::time::Instant::now() < deadline, "no finished analysis after 20 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let a: Value = serde_json::from_str(&analysis).unwrap();
    assert_eq!(a["causes"][0]["key"], "credential_reuse");
    assert_eq!(a["indicators"]["ipv4"][0], "45.33.32.156");
}

#[test]
fn analyze_prints_the_documented_json() {
    let db = "sqlite::memory:";
    let path = repo("fixtures/heldout/cases.json");
    let out = todokede(db, &["analyze", "--json", &path]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in
        ["indicators", "causes", "damages", "attack_types", "has_damage", "techniques", "countermeasures", "normalised"]
    {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert!(v["indicators"]["cve"].as_array().unwrap().iter().any(|c| c == "CVE-2018-13379"));
    let d = &v["causes"][0];
    for key in ["key", "label_ja", "label_en", "confidence", "evidence"] {
        assert!(d.get(key).is_some(), "cause lacks {key}");
    }
}

#[test]
fn bad_input_is_a_one_line_error() {
    let out = todokede("sqlite::memory:", &["analyze", "/nonexistent/file"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: cannot read /nonexistent/file"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1);
    let out = todokede("mysql://nope", &["reanalyse"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}

#[tokio::test]
async fn user_add_prints_a_one_time_password_and_hashes_it() {
    let db = TestDb::sqlite().await;
    let out = todokede(&db.url, &["user", "add", "--role", "admin", "chief@ipa.example"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    let password = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert_eq!(password.len(), 20);
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let u = store.user_by_email("chief@ipa.example").await.unwrap().unwrap();
    assert!(u.password_hash.starts_with("$argon2id$"), "{}", u.password_hash);
    assert!(!u.password_hash.contains(&password));
    let dup = todokede(&db.url, &["user", "add", "--role", "analyst", "chief@ipa.example"]);
    assert!(!dup.status.success());
}

async fn analysts_confirm_or_override_and_overrides_are_counted(db: &TestDb) {
    let out = todokede(&db.url, &["import", &repo("fixtures/seeds/2019H2.json")]);
    assert!(out.status.success());
    let first = String::from_utf8_lossy(&out.stdout).lines().next().unwrap().split('\t').next().unwrap().to_owned();
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    store.create_user("a@ipa.example", todokede_store::Role::Analyst, "x").await.unwrap();
    // Confirm as analysed: no override.
    let out = todokede(&db.url, &["classify", &first, "--as", "a@ipa.example"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("overridden: none"));
    // Override the damages and the damage flag.
    let out = todokede(
        &db.url,
        &[
            "classify",
            &first,
            "--as",
            "a@ipa.example",
            "--damages",
            "data_destruction_extortion,tampering",
            "--has-damage",
            "yes",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("overridden: damages"), "{stdout}");
    let id =
        store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&first).unwrap()).await.unwrap().unwrap();
    let c = store.classification(id).await.unwrap().unwrap();
    assert_eq!(c.damages.len(), 2);
    assert_eq!(c.causes[0].to_string(), "missing_access_control");
    assert_eq!(store.override_counts().await.unwrap(), vec![("damages".to_owned(), 1)], "{}", db.backend);
    let bad = todokede(&db.url, &["classify", &first, "--as", "a@ipa.example", "--causes", "aliens"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown"));
}

#[test]
fn evidence_reads_gzip_logs_and_windows_event_logs() {
    let dir = tempfile::tempdir().unwrap();
    let log = "Dec 10 06:55:46 web sshd[1]: Failed password for root from 45.33.32.156 port 1 ssh2\n".repeat(12)
        + "Dec 10 07:00:00 web sshd[2]: Accepted password for root from 45.33.32.156 port 2 ssh2\n";
    let gz = dir.path().join("auth.log.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, log.as_bytes()).unwrap();
    enc.finish().unwrap();
    let evtx = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/evidence/mdecrevoisier_ID_4776_4625-AccountRestore_local_bruteforce.evtx");
    let out =
        common::todokede("sqlite::memory:", &["evidence", "--json", gz.to_str().unwrap(), evtx.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["kind"], "sshd");
    assert_eq!(v[0]["lines"], 13);
    assert_eq!(v[0]["findings"][0]["kind"], "ssh_login_after_failures");
    assert_eq!(v[1]["kind"], "evtx");
    assert_eq!(v[1]["lines"], 16, "records");
    assert!(
        v[1]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "windows_logon_brute_force" && f["count"] == 16)
    );
    // An unknown kind is a one-line error.
    let bad = common::todokede("sqlite::memory:", &["evidence", "--kind", "pcap", gz.to_str().unwrap()]);
    assert!(
        !bad.status.success()
            && String::from_utf8_lossy(&bad.stderr).contains("supported: auto, sshd, access, login, mail, evtx")
    );
}

/// Issue 15 item 12, misaligned CLI tables: `todokede stats` on a terminal, its Japanese row
/// labels (漢字 and かな take two columns). In every table, each column of figures ends at
/// the same display column on the header and on every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stats_table_lines_up_with_japanese_labels() {
    fn width(s: &str) -> usize {
        s.chars()
            .map(
                |c| {
                    if ('\u{3000}'..='\u{9fff}').contains(&c) || ('\u{ff00}'..='\u{ff60}').contains(&c) { 2 } else { 1 }
                },
            )
            .sum()
    }
    /// The display columns where the last `n` space-separated words of a line end.
    fn ends(line: &str, n: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut col = 0;
        let chars: Vec<char> = line.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            col += width(&c.to_string());
            if *c != ' ' && chars.get(i + 1).is_none_or(|n| *n == ' ') {
                out.push(col);
            }
        }
        out.split_off(out.len().saturating_sub(n))
    }
    let db = TestDb::sqlite().await;
    common::user_add(&db.url, "analyst", "chief@ipa.example");
    common::handled_seed_reports(&db.url, "chief@ipa.example").await;
    let table = common::ok(todokede(&db.url, &["stats", "--period", "2019H2"]));
    let (mut checked, mut japanese) = (0, 0);
    for block in table.split("\n\n").skip(1) {
        let lines: Vec<&str> = block.lines().skip(1).filter(|l| !l.trim().is_empty()).collect();
        let header = lines[0];
        let n = header.split_whitespace().count();
        let want = ends(header, n);
        assert!(n >= 2, "{block}");
        for row in &lines[1..] {
            japanese += usize::from(row.chars().any(|c| width(&c.to_string()) == 2));
            // The figures: trailing words of digits, "—", "<3" or "x" (a month table fills only its
            // first columns).
            let cell = |w: &&str| w.chars().all(|c| c.is_ascii_digit() || "—<.,x%-".contains(c));
            let m = row.split_whitespace().rev().take_while(cell).count().min(n);
            assert!(m > 0, "{row}");
            assert_eq!(ends(row, m), want[..m], "columns line up:\n{header}\n{row}");
            checked += 1;
        }
    }
    assert!(checked > 10 && japanese > 10, "rows labelled in Japanese: {table}");
    db.cleanup().await;
}
