//! The mail gateway as an MTA runs it (a process per message on stdin), on every backend:
//! decoding, dedup, threading, acknowledgements and replies over real SMTP, and exit 75 on
//! every fault so that no report bounces. The outbox that sends the replies runs in the
//! in-process service (`TestApp`).

use crate::common;

use common::{BIN, todokede};
use std::io::Write as _;
use std::process::{Command, Stdio};
use todokede_domain::*;
use todokede_store::Store;
use todokede_testkit::app::TestApp;
use todokede_testkit::{SmtpSink, TestDb};

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    a_japanese_report_by_mail_is_stored_once_and_acknowledged,
    two_deliveries_racing_store_one_report,
    replies_thread_as_follow_ups_and_analyst_replies_go_out_by_smtp,
    mailed_and_imported_reports_are_found_by_search_before_any_analysis,
    a_reused_message_id_is_stored_and_flagged_and_a_forged_from_cannot_follow_up,
    every_fault_is_exit_75_and_nothing_is_lost,
);

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mail").join(name)).unwrap()
}

/// Pipe a message into `todokede mailgate`: (exit code, stdout, stderr).
fn mailgate(db: &str, raw: &[u8], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .args(["--db", db, "mailgate", "--mail-from", "todokede@ipa.example"])
        .envs(env.iter().copied())
        .env("TODOKEDE_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(raw);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tn_of(stdout: &str) -> TrackingNumber {
    TrackingNumber::parse(stdout.split('\t').next().unwrap())
        .unwrap_or_else(|_| panic!("no tracking number in {stdout:?}"))
}

async fn report(store: &Store, tn: &TrackingNumber) -> Report {
    store.report(store.report_id_by_tracking(tn).await.unwrap().unwrap()).await.unwrap().unwrap()
}

async fn a_japanese_report_by_mail_is_stored_once_and_acknowledged(db: &TestDb) {
    let raw = corpus("iso2022jp_with_log.eml");
    let (code, out, err) = mailgate(&db.url, &raw, &[]);
    assert_eq!(code, 0, "{}: {err}", db.backend);
    assert!(out.ends_with("\tnew report\n"), "{out}");
    let tn = tn_of(&out);
    // The same message again (an MTA retry): same number, nothing new.
    let (code, out2, _) = mailgate(&db.url, &raw, &[]);
    assert_eq!(code, 0);
    assert_eq!(tn_of(&out2), tn);
    assert!(out2.ends_with("\talready received\n"));

    let store = Store::open(&db.url).await.unwrap();
    let r = report(&store, &tn).await;
    assert_eq!(r.channel, Channel::Email);
    assert!(r.content.description.starts_with("【至急】不正アクセスの報告"), "{}", r.content.description);
    assert_eq!(r.attachments[0].filename, "auth.log");
    assert_eq!(store.raw_input(r.id).await.unwrap().unwrap().bytes, raw, "the .eml is kept byte for byte");
    // Exactly one acknowledgement queued, to the reporter, threaded on their mail.
    let queued = store.due_mail(10).await.unwrap();
    assert_eq!(queued.len(), 1, "{}", db.backend);
    assert_eq!(queued[0].to, "yamada@example.co.jp");
    let ack = String::from_utf8_lossy(&queued[0].raw).into_owned();
    assert!(ack.contains("In-Reply-To: <iso2022jp-1@example.co.jp>"), "{ack}");
    assert_eq!(store.check_integrity().await.unwrap().reports, 1);
}

async fn two_deliveries_racing_store_one_report(db: &TestDb) {
    // Initialise the schema first, as a running system would have it.
    Store::open(&db.url).await.unwrap();
    let raw = corpus("no_message_id.eml");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (url, raw) = (db.url.clone(), raw.clone());
            std::thread::spawn(move || mailgate(&url, &raw, &[]))
        })
        .collect();
    let tns: std::collections::BTreeSet<String> = handles
        .into_iter()
        .map(|h| {
            let (code, out, err) = h.join().unwrap();
            assert_eq!(code, 0, "{err}");
            tn_of(&out).to_string()
        })
        .collect();
    assert_eq!(tns.len(), 1, "{}: {tns:?}", db.backend);
    assert_eq!(Store::open(&db.url).await.unwrap().check_integrity().await.unwrap().reports, 1);
}

#[tokio::test]
async fn every_corpus_message_is_accepted() {
    let db = TestDb::sqlite().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mail");
    let mut names: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    for name in &names {
        let (code, out, err) = mailgate(&db.url, &corpus(name), &[]);
        assert_eq!(code, 0, "{name}: {err}");
        assert!(!out.is_empty(), "{name}");
    }
    // Garbage and an empty message are kept too, never bounced.
    for raw in [b"".to_vec(), vec![0xffu8; 300]] {
        let (code, _, err) = mailgate(&db.url, &raw, &[]);
        assert_eq!(code, 0, "{err}");
    }
    let store = Store::open(&db.url).await.unwrap();
    assert_eq!(store.check_integrity().await.unwrap().reports as usize, names.len() + 2);
    // The auto-reply and the unparseable mails got no acknowledgement; the injection attempt's
    // acknowledgement went to From, with no smuggled header.
    let queued = store.due_mail(100).await.unwrap();
    assert!(queued.iter().all(|m| m.to != "someone@example.com"), "auto-responder answered");
    for m in &queued {
        let raw = String::from_utf8_lossy(&m.raw).to_ascii_lowercase();
        assert!(!raw.contains("\r\nbcc:") && !raw.contains("everyone@example.com"), "{raw}");
    }
}

async fn replies_thread_as_follow_ups_and_analyst_replies_go_out_by_smtp(db: &TestDb) {
    let (code, out, err) = mailgate(&db.url, &corpus("iso2022jp_with_log.eml"), &[]);
    assert_eq!(code, 0, "{err}");
    let tn = tn_of(&out);
    let mut sink = SmtpSink::start().await;
    let _server = TestApp::start_with(db, |c| {
        c.smtp = Some(todokede_mail::Smtp::from_url(&format!("smtp://{}", sink.addr)).unwrap());
        c.mail.from = todokede_domain::EmailAddress::parse("todokede@ipa.example").unwrap();
    })
    .await;
    let ack = String::from_utf8(sink.next(20).await.expect("acknowledgement sent")).unwrap();
    let parsed = mail_parser::MessageParser::default().parse(ack.as_bytes()).unwrap();
    assert_eq!(parsed.subject().unwrap(), format!("[届出 {tn}] 受付のお知らせ"));
    let ack_id = parsed.message_id().unwrap().to_owned();

    // An analyst replies; it goes out threaded on the reporter's mail and our ack.
    let store = Store::open(&db.url).await.unwrap();
    store.create_user("analyst@ipa.example", todokede_store::Role::Analyst, "x").await.unwrap();
    let reply_text = std::env::temp_dir().join(format!("reply-{}-{}.txt", std::process::id(), db.backend));
    std::fs::write(&reply_text, "ログの全体をお送りいただけますか。").unwrap();
    let out = todokede(
        &db.url,
        &[
            "reply",
            &tn.to_string(),
            "--as",
            "analyst@ipa.example",
            reply_text.to_str().unwrap(),
            "--mail-from",
            "todokede@ipa.example",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sent = sink.next(20).await.expect("reply sent");
    let reply = mail_parser::MessageParser::default().parse(&sent).unwrap();
    assert_eq!(reply.subject().unwrap(), format!("[届出 {tn}] ご連絡"));
    assert_eq!(reply.in_reply_to().as_text(), Some(ack_id.as_str()));
    let refs = reply
        .references()
        .as_text_list()
        .map(|l| l.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .unwrap_or_default();
    assert!(refs.contains(&"iso2022jp-1@example.co.jp".to_string()), "{refs:?}");
    assert!(reply.body_text(0).unwrap().contains("ログの全体"));
    let reply_id = reply.message_id().unwrap().to_owned();

    // The reporter answers the reply: a 続報 on the same report, with its log.
    let answer = format!(
        "From: yamada@example.co.jp\r\nTo: crack@todokede.example\r\nSubject: Re: [届出 {tn}] ご連絡\r\nMessage-ID: <answer-1@example.co.jp>\r\nIn-Reply-To: <{reply_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nauth.log の全体を添付します。\r\n"
    );
    let (code, out, _) = mailgate(&db.url, answer.as_bytes(), &[]);
    assert_eq!(code, 0);
    assert_eq!(tn_of(&out), tn);
    assert!(out.ends_with("\tfollow-up\n"), "{out}");
    // Delivered twice: still one follow-up.
    let (_, out, _) = mailgate(&db.url, answer.as_bytes(), &[]);
    assert!(out.ends_with("\talready received\n"), "{out}");
    // The number in the subject from the reporter's own address threads too; from a stranger it does not.
    let by_subject = |from: &str, id: &str| {
        format!(
            "From: {from}\r\nSubject: 追加情報 [届出 {tn}]\r\nMessage-ID: <{id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n追加です\r\n"
        )
    };
    let (_, out, _) = mailgate(&db.url, by_subject("yamada@example.co.jp", "s-1@x").as_bytes(), &[]);
    assert_eq!(tn_of(&out), tn);
    let (_, out, _) = mailgate(&db.url, by_subject("stranger@evil.example", "s-2@x").as_bytes(), &[]);
    assert_ne!(tn_of(&out), tn, "a stranger cannot write into a report by quoting its number");

    let r = report(&store, &tn).await;
    let follow_ups: Vec<_> = r.timeline.iter().filter(|e| matches!(e, TimelineEntry::FollowUp { .. })).collect();
    assert_eq!(follow_ups.len(), 2, "{}", db.backend);
    assert!(r.timeline.iter().any(|e| matches!(e, TimelineEntry::Reply { .. })));
}

async fn every_fault_is_exit_75_and_nothing_is_lost(db: &TestDb) {
    Store::open(&db.url).await.unwrap();
    let raw = corpus("shift_jis.eml");
    // The database locked (SQLite) or refusing connections (PostgreSQL).
    let url = if db.backend == "sqlite" { format!("{}?busy_timeout_ms=200", db.url) } else { db.url.clone() };
    let outage = db.outage().await;
    let (code, _, err) = mailgate(&url, &raw, &[]);
    assert_eq!(code, 75, "{}: {err}", db.backend);
    outage.end().await;
    // The MTA retries: stored now, once.
    let (code, out, _) = mailgate(&url, &raw, &[]);
    assert_eq!(code, 0);
    assert!(out.ends_with("\tnew report\n"));
    assert_eq!(Store::open(&db.url).await.unwrap().check_integrity().await.unwrap().reports, 1);
}

#[tokio::test]
async fn a_store_that_cannot_be_created_and_a_panic_are_exit_75_too() {
    // A store that cannot even be created.
    let dir = tempfile_dir();
    let blocker = dir.join("file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let (code, _, err) =
        mailgate(&format!("sqlite://{}/sub/db.sqlite", blocker.display()), b"Subject: x\r\n\r\nbody", &[]);
    assert_eq!(code, 75, "{err}");
    // A panic inside the process is 75 too, not Rust's 101 (which an MTA would bounce).
    let (code, _, err) = mailgate("sqlite::memory:", b"Subject: x\r\n\r\nbody", &[("TODOKEDE_FAULT_INJECT", "panic")]);
    assert_eq!(code, 75, "{err}");
    assert!(err.contains("internal fault"), "{err}");
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("todokede-mail-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

#[tokio::test]
async fn import_of_eml_files_is_the_batch_path() {
    let db = TestDb::sqlite().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mail");
    let files: Vec<String> = ["iso2022jp_with_log.eml", "shift_jis.eml", "ipa_form.eml"]
        .iter()
        .map(|f| dir.join(f).display().to_string())
        .collect();
    let mut args = vec!["import"];
    args.extend(files.iter().map(String::as_str));
    let out = todokede(&db.url, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains("\timported\t")).count(), 3);
    // A message already received by mailgate is recognised by its Message-ID.
    let (code, out, _) = mailgate(&db.url, &corpus("ipa_form.eml"), &[]);
    assert_eq!(code, 0);
    assert!(out.ends_with("\talready received\n"));
}

/// Issue 17, finding 4: a report is searchable the moment it is acknowledged — by mail and by
/// import, with no `serve` (so no analysis job) ever run; a mailed 続報 too.
async fn mailed_and_imported_reports_are_found_by_search_before_any_analysis(db: &TestDb) {
    {
        let mail = "From: suzuki@example.co.jp\r\nTo: crack@todokede.example\r\nSubject: 不正アクセスの届出\r\nMessage-ID: <search-1@example.co.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n社内の勤怠システムに見知らぬ管理者アカウントが作られていた。\r\n";
        let (code, out, err) = mailgate(&db.url, mail.as_bytes(), &[]);
        assert_eq!(code, 0, "{err}");
        let mailed = tn_of(&out);
        let json = std::env::temp_dir().join(format!("search-on-intake-{}-{}.json", std::process::id(), db.backend));
        std::fs::write(
            &json,
            r#"{"form": "unauthorized_access", "description": "Our payroll portal showed a defacement banner.", "damage_narrative": "閲覧者に偽の振込先が表示された"}"#,
        )
        .unwrap();
        let imported = common::ok(todokede(&db.url, &["import", json.to_str().unwrap()]));
        let imported = TrackingNumber::parse(imported.split('\t').next().unwrap()).unwrap();
        let store = Store::open(&db.url).await.unwrap();
        assert_eq!(store.pending_jobs(10).await.unwrap().len(), 2, "{}: no analysis has run", db.backend);

        let search = |q: &str| common::ok(todokede(&db.url, &["search", q]));
        assert!(search("勤怠システム").contains(&mailed.to_string()), "{}: the mailed report", db.backend);
        assert!(search("defacement").contains(&imported.to_string()), "{}: the description", db.backend);
        assert!(search("偽の振込先").contains(&imported.to_string()), "{}: a narrative", db.backend);

        // A 続報 by mail (an answer to our acknowledgement) is searchable at once too.
        let ack = store.sent_message_ids(store.report_id_by_tracking(&mailed).await.unwrap().unwrap()).await.unwrap();
        let follow = format!(
            "From: suzuki@example.co.jp\r\nTo: crack@todokede.example\r\nSubject: Re: 不正アクセスの届出\r\nMessage-ID: <search-2@example.co.jp>\r\nIn-Reply-To: <{}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n作成されたアカウント名は maintenance_svc でした。\r\n",
            ack[0]
        );
        let (_, out, _) = mailgate(&db.url, follow.as_bytes(), &[]);
        assert!(out.ends_with("\tfollow-up\n"), "{out}");
        assert!(search("maintenance_svc").contains(&mailed.to_string()), "{}: the follow-up", db.backend);
    }
}

/// Issue 17, finding 11: a different message under a Message-ID already seen is stored and
/// flagged (it was "already received" and lost); a redelivery is still one report; a reference
/// to someone's Message-ID with a forged From writes nothing into their report.
async fn a_reused_message_id_is_stored_and_flagged_and_a_forged_from_cannot_follow_up(db: &TestDb) {
    {
        let msg = |from: &str, id: &str, extra: &str, body: &str| {
            format!(
                "{extra}From: {from}\r\nTo: crack@todokede.example\r\nSubject: 届出\r\nMessage-ID: <{id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
            )
        };
        let store = Store::open(&db.url).await.unwrap();
        let first = msg("alice@example.co.jp", "same@example.jp", "", "ファイルサーバが暗号化された。");
        let (code, out, _) = mailgate(&db.url, first.as_bytes(), &[]);
        assert!(code == 0 && out.ends_with("\tnew report\n"), "{out}");
        let alice = tn_of(&out);
        // A relay adds a Received line: the same mail, once.
        let again = msg(
            "alice@example.co.jp",
            "same@example.jp",
            "Received: from mx2 by mx1; Mon, 1 Jan 2024 00:00:00 +0900\r\n",
            "ファイルサーバが暗号化された。",
        );
        let (_, out, _) = mailgate(&db.url, again.as_bytes(), &[]);
        assert_eq!(out, format!("{alice}\talready received\n"), "{}", db.backend);

        // Another message under that Message-ID: stored as its own report, flagged.
        let other = msg("bob@example.net", "same@example.jp", "", "取引先を装ったメールでマクロ付き文書が届いた。");
        let (code, out, _) = mailgate(&db.url, other.as_bytes(), &[]);
        assert!(code == 0 && out.ends_with("\tnew report\n"), "{}: {out}", db.backend);
        let bob = tn_of(&out);
        assert_ne!(bob, alice);
        let r = report(&store, &bob).await;
        assert!(r.content.description.contains("マクロ付き文書"), "its text is stored");
        assert!(r.intake_notes.iter().any(|n| n == "message_id_collision"), "{:?}", r.intake_notes);
        assert!(report(&store, &alice).await.intake_notes.is_empty(), "the first keeps its place");
        let (_, out, _) = mailgate(&db.url, other.as_bytes(), &[]);
        assert_eq!(out, format!("{bob}\talready received\n"), "its redelivery is one report too");

        // Forged From + In-Reply-To Alice's Message-ID: not a follow-up of her report.
        let forged = "From: alice@example.co.jp\r\nSubject: Re: 届出\r\nMessage-ID: <forged-1@evil.example>\r\nIn-Reply-To: <same@example.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n身代金は払ってください。\r\n";
        let (_, out, _) = mailgate(&db.url, forged.as_bytes(), &[]);
        assert!(out.ends_with("\tnew report\n"), "{}: {out}", db.backend);
        assert!(report(&store, &alice).await.timeline.is_empty(), "nothing written into Alice's report");
        let stray = report(&store, &tn_of(&out)).await;
        assert!(stray.intake_notes.contains(&format!("unverified_thread:{alice}")), "{:?}", stray.intake_notes);

        // Alice's answer to our acknowledgement is her follow-up; a different answer that
        // reuses its Message-ID in her thread is kept too, not dropped.
        let ack = store.sent_message_ids(report(&store, &alice).await.id).await.unwrap();
        let answer = |body: &str| {
            format!(
                "From: alice@example.co.jp\r\nSubject: Re: 届出\r\nMessage-ID: <answer@example.co.jp>\r\nIn-Reply-To: <{}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
                ack[0]
            )
        };
        let (_, out, _) = mailgate(&db.url, answer("ログを添付します。").as_bytes(), &[]);
        assert_eq!(out, format!("{alice}\tfollow-up\n"));
        let (_, out, _) = mailgate(&db.url, answer("ログを添付します。").as_bytes(), &[]);
        assert_eq!(out, format!("{alice}\talready received\n"));
        let (_, out, _) = mailgate(&db.url, answer("先ほどの件、追加です。").as_bytes(), &[]);
        assert_eq!(out, format!("{alice}\tfollow-up\n"), "{}", db.backend);
        assert_eq!(report(&store, &alice).await.timeline.len(), 2);
    }
}
