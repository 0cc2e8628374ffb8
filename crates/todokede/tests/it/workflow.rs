//! The analysts' workflow signals and the four-eyes publication rule (issue 15 items 9 and 11),
//! over real HTTP against the in-process service (`TestApp`), each a test per backend: a
//! reporter's answer flags the report, the queue shows what is unconfirmed, the timeline names
//! who did what, and a version's last editor cannot approve it (web and CLI).

use crate::common;

use common::{browser, get, hidden, post, row};
use reqwest::StatusCode;
use todokede_store::Role;
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    a_reporters_answer_flags_the_report_and_the_timeline_names_who_did_what,
    the_last_editor_of_a_version_cannot_approve_it,
);

/// Issue 15 item 9: before, a reporter's answer left 届出者回答待ち unchanged and unflagged, the
/// queue did not say what is unconfirmed, and the timeline had no actors and no assign,
/// classify or link entries.
async fn a_reporters_answer_flags_the_report_and_the_timeline_names_who_did_what(db: &TestDb) {
    let s = TestApp::start(db).await;
    let a = s.logged_in(Role::Admin, "chief@ipa.example").await;
    s.user(Role::Analyst, "second@ipa.example").await;
    let filed = s.submit_report("管理画面に不正ログインされました。").await;
    let other = s.submit_report("同じ攻撃元からの別の届出").await;
    let tn = filed.tracking_number.clone();
    for to in ["triage", "waiting_on_reporter"] {
        let res = post(&s, &a, &format!("/reports/{tn}/state"), &[("to", to)]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    let queue = get(&s, &a, "/queue").await;
    assert!(!row(&queue, &tn).contains("回答あり"), "nothing to act on yet");
    assert!(row(&queue, &tn).contains("分類未確定"), "not confirmed: {}", row(&queue, &tn));

    // The reporter answers on their page.
    let reporter = browser();
    reporter.get(s.url(&format!("/r/{tn}/{}", filed.secret))).send().await.unwrap();
    let page = reporter.get(s.url("/reporter")).send().await.unwrap().text().await.unwrap();
    let fu = reqwest::multipart::Form::new().text("csrf", hidden(&page, "csrf")).text("body", "ログを確認しました。");
    let res = reporter
        .post(s.url("/reporter/follow-up"))
        .header("origin", s.base.clone())
        .multipart(fu)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // The queue flags it, back in 対応中; the filter finds it; the reporter sees no flag.
    let queue = get(&s, &a, "/queue").await;
    let r = row(&queue, &tn);
    assert!(r.contains("回答あり・要対応") && r.contains("対応中") && !r.contains("届出者回答待ち"), "{r}");
    assert!(!row(&queue, &other.tracking_number).contains("回答あり"));
    assert!(queue.contains("id=\"count-answered\"><span class=\"badge flag answered\">回答あり・要対応</span> 1</a>"));
    assert!(queue.contains("id=\"count-unconfirmed\"><span class=\"badge flag unconfirmed\">分類未確定</span> 2</a>"));
    let answered = get(&s, &a, "/queue?answered=1").await;
    assert!(answered.contains(&tn) && !answered.contains(&other.tracking_number));
    let en = get(&s, &a, "/queue?lang=en").await;
    assert!(row(&en, &tn).contains("Answered") && row(&en, &tn).contains("Unconfirmed"));
    get(&s, &a, "/queue?lang=ja").await;

    // The analyst's handling: assigned, linked, classified — each on the timeline with who.
    let users = s.store.users().await.unwrap();
    let second = users.iter().find(|u| u.email == "second@ipa.example").unwrap().id.0.to_string();
    for (path, form) in [
        ("assign", vec![("to", second.as_str())]),
        ("link", vec![("other", other.tracking_number.as_str())]),
        ("classify", vec![("primary_cause", "weak_credentials"), ("has_damage", "yes")]),
    ] {
        let res = post(&s, &a, &format!("/reports/{tn}/{path}"), &form).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        let back = get(&s, &a, res.headers()["location"].to_str().unwrap()).await;
        assert!(back.contains("id=\"done\""), "{path} is confirmed");
    }
    let report = get(&s, &a, &format!("/reports/{tn}")).await;
    let timeline = &report[report.find("class=\"timeline\"").unwrap()..];
    let entries: Vec<&str> = timeline.split("<li class=\"").skip(1).collect();
    let entry = |kind: &str| {
        *entries.iter().find(|e| e.starts_with(kind)).unwrap_or_else(|| panic!("no {kind} entry in {timeline}"))
    };
    assert!(entry("follow_up").contains("届出者"), "the reporter: {}", entry("follow_up"));
    let states: Vec<&&str> = entries.iter().filter(|e| e.starts_with("state")).collect();
    assert!(states[0].contains("chief@ipa.example") && states[0].contains("受付 → 確認中"));
    let by_system = states.iter().find(|e| e.contains("届出者回答待ち → 対応中")).expect("the automatic move");
    assert!(by_system.contains("システム"), "{by_system}");
    assert!(entry("assign").contains("second@ipa.example") && entry("assign").contains("chief@ipa.example"));
    assert!(entry("link").contains(&other.tracking_number) && entry("link").contains("chief@ipa.example"));
    assert!(entry("classify").contains("chief@ipa.example") && entry("classify").contains("主原因"));
    let other_page = get(&s, &a, &format!("/reports/{}", other.tracking_number)).await;
    assert!(other_page.contains(&format!("関連付け: {tn}")), "both reports show the link");

    // Confirmed: no longer flagged unconfirmed; a reply is the analyst acting: the flag goes.
    let queue = get(&s, &a, "/queue").await;
    assert!(!row(&queue, &tn).contains("分類未確定") && row(&queue, &tn).contains("回答あり"));
    let res = post(&s, &a, &format!("/reports/{tn}/reply"), &[("body", "ありがとうございます。")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let queue = get(&s, &a, "/queue").await;
    assert!(!row(&queue, &tn).contains("回答あり"), "{}", row(&queue, &tn));
    assert!(!get(&s, &a, "/queue?answered=1").await.contains(&tn));
    assert!(get(&s, &a, "/queue?unconfirmed=1").await.contains(&other.tracking_number));
    assert!(!get(&s, &a, "/queue?unconfirmed=1").await.contains(&format!(">{tn}<")));

    // The reporter's page shows none of the analysts' handling.
    let page = reporter.get(s.url("/reporter")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("chief@ipa.example") && !page.contains("second@ipa.example") && !page.contains("関連付け"));

    // The audit log names the assignee by address, not by id.
    let audit = get(&s, &a, "/admin/audit").await;
    let assign = audit.lines().find(|l| l.contains("report.assign")).expect("audited");
    assert!(assign.contains("second@ipa.example") && assign.contains(&format!(">{tn}</a>")), "{assign}");
    s.stop().await;
}

/// Issue 15 item 11: before, the analyst who drafted or edited a version could approve it, and
/// the version list did not say who did what.
async fn the_last_editor_of_a_version_cannot_approve_it(db: &TestDb) {
    let drafter = common::user_add(&db.url, "analyst", "drafter@ipa.example");
    let approver = common::user_add(&db.url, "analyst", "approver@ipa.example");
    common::handled_seed_reports(&db.url, "drafter@ipa.example").await;
    common::set_contacts(&db.url);
    common::ok(common::todokede(
        &db.url,
        &["publication", "draft", "--period", "2019H2", "--as", "drafter@ipa.example"],
    ));
    let s = TestApp::start(db).await;
    let d = s.login("drafter@ipa.example", &drafter).await;
    let page = get(&s, &d, "/publication?period=2019H2").await;
    assert!(page.contains("この版はあなたが最後に編集しました"), "said before trying");

    // The drafter cannot approve their own version: web (403, localized) and CLI.
    let res = post(&s, &d, "/publication/2019H2/approve", &[("version", "1")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("承認は別の分析者が行ってください"));
    let res = post(&s, &d, "/publication/2019H2/approve?lang=en", &[("version", "1")]).await;
    assert!(res.text().await.unwrap().contains("another analyst must approve it"));
    let cli = common::todokede(
        &db.url,
        &["publication", "approve", "--period", "2019H2", "--version", "1", "--as", "drafter@ipa.example"],
    );
    assert!(!cli.status.success());
    let err = String::from_utf8_lossy(&cli.stderr);
    assert!(err.contains("承認は別の分析者") && err.contains("four-eyes"), "{err}");

    // Another analyst edits: now the drafter may approve version 2, the editor may not.
    let a = s.login("approver@ipa.example", &approver).await;
    let edit = post(&s, &a, "/publication/2019H2/edit", &[("text:title", "2019年下半期 届出事例（改訂）")]).await;
    assert_eq!(edit.status(), StatusCode::SEE_OTHER);
    let res = post(&s, &a, "/publication/2019H2/approve", &[("version", "2")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "the editor of version 2");
    let res = post(&s, &d, "/publication/2019H2/approve", &[("version", "2")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = get(&s, &d, res.headers()["location"].to_str().unwrap()).await;
    assert!(page.contains("id=\"done\""), "the approval is confirmed");

    // The version list: who drafted, who edited, who approved, when.
    let versions = &page[page.find("class=\"versions\"").unwrap()..page.find("</table>").unwrap()];
    let rows: Vec<&str> = versions.split("<tr>").skip(2).collect();
    assert!(rows[0].contains("approver@ipa.example") && rows[0].contains("drafter@ipa.example"), "v2: {}", rows[0]);
    assert!(rows[1].contains("drafter@ipa.example") && rows[1].contains("<td>generated</td>"), "v1: {}", rows[1]);
    assert!(rows[0].contains("<td>edited: title</td>"), "this page is English (?lang=en above): {}", rows[0]);

    // The rule is a setting (on by default): off, the last editor may approve.
    let admin = s.logged_in(Role::Admin, "chief@ipa.example").await;
    let res = post(&s, &admin, "/admin/settings", &[("one_time_password_hours", "72")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    common::ok(common::todokede(
        &db.url,
        &["publication", "draft", "--period", "2019H2", "--as", "drafter@ipa.example"],
    ));
    common::ok(common::todokede(
        &db.url,
        &["publication", "approve", "--period", "2019H2", "--version", "3", "--as", "drafter@ipa.example"],
    ));
    s.stop().await;
}
