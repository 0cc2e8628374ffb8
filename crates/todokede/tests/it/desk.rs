//! An analyst's day (issue 15, "beyond fixing"), over real HTTP against the in-process service
//! (`TestApp`), each a test per backend: reply templates admins keep and analysts insert
//! (placeholders filled, no JavaScript), the SLA clocks of the settings flagging, filtering and
//! sorting overdue reports (real times: reports received hours ago), bulk actions on the queue
//! (audited), saved filters per analyst, and the 回答あり banner on the report page. The
//! settings' CLI (`todokede settings`) runs as the real binary: its output is the contract.
//! The queue and search results as CSV (issue 18 item 6), and `todokede export --format csv`.

use crate::common::{self, get, post, row};

use common::browser;
use reqwest::StatusCode;
use todokede_domain::ClosedEnum as _;
use todokede_store::{Role, Store};
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    an_admin_keeps_reply_templates_and_an_analyst_inserts_one_filled_for_the_report,
    overdue_reports_are_flagged_filtered_and_sorted_first_by_the_sla_settings,
    bulk_actions_assign_move_and_link_the_chosen_reports_and_are_audited,
    saved_filters_are_each_analysts_own_and_keep_only_the_queues_keys,
    the_report_page_says_when_the_reporter_answered_until_an_analyst_acts,
    the_queue_and_the_search_download_as_csv_with_their_filters_for_excel,
    export_format_csv_lists_a_periods_reports,
);

/// The tracking numbers of the queue's rows, in order.
fn order(queue: &str) -> Vec<String> {
    queue
        .split("<td class=\"mono\"><a href=\"/reports/")
        .skip(1)
        .map(|r| r[..r.find('"').unwrap()].to_owned())
        .collect()
}

/// File a report as the API does, with a reporter's name.
async fn file(s: &TestApp, name: &str, description: &str) -> String {
    let body =
        serde_json::json!({"form": "unauthorized_access", "description": description, "reporter": {"name": name}});
    let res = reqwest::Client::new().post(s.url("/api/v1/reports")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<serde_json::Value>().await.unwrap()["tracking_number"].as_str().unwrap().to_owned()
}

/// A report received `hours` ago (as `todokede import` keeps a historical 届出日).
async fn received_hours_ago(store: &Store, description: &str, hours: i64) -> String {
    let mut sub = todokede_testkit::submission(description, None);
    sub.received_at = Some(time::OffsetDateTime::now_utc() - time::Duration::hours(hours));
    let r = store.ingest_batch(&[sub]).await.unwrap().pop().unwrap().unwrap();
    r.tracking_number.to_string()
}

fn textarea<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id}"));
    let body = &page[start..];
    let body = &body[body.find('>').unwrap() + 1..];
    &body[..body.find("</textarea>").unwrap()]
}

/// Issue 15: reply templates in Japanese and English, kept by admins (list, create, edit,
/// delete; an unknown placeholder refused with the text kept), picked on the report page by a
/// select and an "insert" button (a GET form: the page comes back with the reply field filled).
async fn an_admin_keeps_reply_templates_and_an_analyst_inserts_one_filled_for_the_report(db: &TestDb) {
    let s = TestApp::start(db).await;
    let admin = s.logged_in(Role::Admin, "chief@ipa.example").await;
    let analyst = s.logged_in(Role::Analyst, "second@ipa.example").await;
    let tn = file(&s, "山田 太郎", "管理画面に不正ログインされました。").await;

    let list = get(&s, &admin, "/admin/templates").await;
    assert!(list.contains("お礼と追加情報のお願い") && list.contains("Thanks and a question"), "the two to start with");
    assert!(list.contains("{tracking_number}") && list.contains("{analyst_name}"), "the placeholders are listed");
    // A typo in a placeholder is refused, with what was typed kept.
    let res = post(
        &s,
        &admin,
        "/admin/templates",
        &[("name", "ログの依頼"), ("language", "ja"), ("body", "{reporter_name} 様\r\n{trackingnumber} のログを")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("使えない差し込み項目があります: {trackingnumber}"), "{page}");
    assert!(page.contains("value=\"ログの依頼\"") && page.contains("{trackingnumber} のログを"));
    let res = post(
        &s,
        &admin,
        "/admin/templates",
        &[
            ("name", "Logs, please"),
            ("language", "en"),
            ("body", "Dear {reporter_name},\r\nplease send the logs for {tracking_number}.\r\n{analyst_name}"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let templates = s.store.reply_templates().await.unwrap();
    let logs = templates.iter().find(|t| t.name == "Logs, please").expect("saved");
    assert_eq!(logs.body, "Dear {reporter_name},\nplease send the logs for {tracking_number}.\n{analyst_name}");
    // Edited in place.
    let edit = get(&s, &admin, &format!("/admin/templates/{}", logs.id)).await;
    assert!(edit.contains("テンプレートの編集") && edit.contains("value=\"Logs, please\""));
    let res = post(
        &s,
        &admin,
        &format!("/admin/templates/{}", logs.id),
        &[
            ("name", "Logs, please"),
            ("language", "en"),
            ("body", "Dear {reporter_name}, logs for {tracking_number}? {analyst_name}"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(get(&s, &admin, "/admin/templates?done=save").await.contains("テンプレートを保存しました"));

    // The analyst picks it on the report page: the reply field comes back filled.
    let page = get(&s, &analyst, &format!("/reports/{tn}")).await;
    assert!(page.contains("name=\"template\"") && page.contains("返信欄に挿入"), "the picker");
    assert_eq!(textarea(&page, "reply"), "", "nothing is put in the reporter's mouth unasked");
    let page = get(&s, &analyst, &format!("/reports/{tn}?template={}", logs.id)).await;
    assert_eq!(textarea(&page, "reply"), format!("Dear 山田 太郎, logs for {tn}? second@ipa.example"));
    assert!(page.contains(&format!("<option value=\"{}\" selected>", logs.id)), "the pick stays selected");
    let ja = templates.iter().find(|t| t.name == "お礼と追加情報のお願い").unwrap();
    let page = get(&s, &analyst, &format!("/reports/{tn}?template={}", ja.id)).await;
    let filled = textarea(&page, "reply");
    assert!(filled.starts_with("山田 太郎 様") && filled.contains(&format!("受付番号 {tn}")), "{filled}");
    assert!(!filled.contains('{'), "every placeholder filled: {filled}");
    // Sent as it stands: the reply is on the timeline.
    let res = post(&s, &analyst, &format!("/reports/{tn}/reply"), &[("body", filled)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(get(&s, &analyst, &format!("/reports/{tn}")).await.contains(&format!("受付番号 {tn}")));

    // Only admins keep them; a post needs the session's token.
    let refused = analyst.client.get(s.url("/admin/templates")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let res = post(&s, &analyst, &format!("/admin/templates/{}/delete", logs.id), &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let forged = admin
        .client
        .post(s.url(&format!("/admin/templates/{}/delete", logs.id)))
        .header("origin", s.base.clone())
        .form(&[("csrf", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let res = post(&s, &admin, &format!("/admin/templates/{}/delete", logs.id), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(!get(&s, &admin, "/admin/templates").await.contains("Logs, please"));
    let audit = get(&s, &admin, "/admin/audit").await;
    assert!(audit.contains("template.save") && audit.contains("template.delete"));
    // English pages, English words.
    let en = get(&s, &admin, "/admin/templates?lang=en").await;
    assert!(en.contains("Reply templates") && en.contains("the tracking number"));
    s.stop().await;
}

/// Issue 15: SLA clocks per state, in the settings (the admin page and `todokede settings`),
/// and the queue flagging, filtering and sorting overdue reports — with reports really
/// received 30 hours and 1 hour ago.
async fn overdue_reports_are_flagged_filtered_and_sorted_first_by_the_sla_settings(db: &TestDb) {
    let s = TestApp::start(db).await;
    let admin = s.logged_in(Role::Admin, "chief@ipa.example").await;
    let late = received_hours_ago(&s.store, "30 時間前に届いた届出", 30).await;
    let recent = received_hours_ago(&s.store, "1 時間前に届いた届出", 1).await;

    // The defaults: 受付 24 hours.
    let settings = get(&s, &admin, "/admin/settings").await;
    assert!(settings.contains("name=\"sla.received_hours\"") && settings.contains("value=\"24\""), "{settings}");
    let queue = get(&s, &admin, "/queue").await;
    assert!(row(&queue, &late).contains("期限超過 6時間"), "{}", row(&queue, &late));
    assert!(row(&queue, &late).starts_with(" class=\"overdue\""));
    assert!(row(&queue, &recent).contains("期限 ") && row(&queue, &recent).contains("残り23時間"));
    assert!(!row(&queue, &recent).contains("期限超過"));
    assert_eq!(order(&queue), [recent.clone(), late.clone()], "newest first");
    assert_eq!(order(&get(&s, &admin, "/queue?overdue=1").await), std::slice::from_ref(&late), "the filter");
    assert_eq!(order(&get(&s, &admin, "/queue?sort=sla").await), [late.clone(), recent.clone()], "overdue first");
    let en = get(&s, &admin, "/queue?lang=en").await;
    assert!(row(&en, &late).contains("Overdue by 6 hours"), "{}", row(&en, &late));
    get(&s, &admin, "/queue?lang=ja").await;
    let page = get(&s, &admin, &format!("/reports/{late}")).await;
    assert!(page.contains("id=\"sla\"") && page.contains("SLA 期限超過"), "the report page says so too");

    // 受付 gets 48 hours on the settings page: the late one is within it.
    let hours = [
        ("one_time_password_hours", "72"),
        ("four_eyes_publication", "on"),
        ("sla.received_hours", "48"),
        ("sla.triage_hours", "72"),
        ("sla.in_progress_hours", ""),
        ("sla.waiting_on_reporter_hours", "336"),
    ];
    let res = post(&s, &admin, "/admin/settings", &hours).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let queue = get(&s, &admin, "/queue").await;
    assert!(!queue.contains("期限超過 "), "no report is overdue at 48 hours");
    assert!(row(&queue, &late).contains("残り18時間"), "{}", row(&queue, &late));
    let res = post(&s, &admin, "/admin/settings", &[("sla.received_hours", "999")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("SLA の時間は 1〜720 時間か off"));

    // The console: `settings list` names the clocks, `settings set` turns one off.
    let listed = common::ok(common::todokede(&db.url, &["settings", "list"]));
    assert!(listed.contains("sla.received_hours\t48\tSLA: hours a report may stay Received"), "{listed}");
    assert!(listed.contains("sla.in_progress_hours\toff\t"), "{listed}");
    common::ok(common::todokede(&db.url, &["settings", "set", "sla.received_hours", "1"]));
    let queue = get(&s, &admin, "/queue?overdue=1").await;
    assert_eq!(order(&queue), [recent.clone(), late.clone()], "both past 1 hour");
    common::ok(common::todokede(&db.url, &["settings", "set", "sla.received_hours", "off"]));
    let queue = get(&s, &admin, "/queue").await;
    assert!(row(&queue, &late).contains("<span class=\"conf\">—</span>"), "no clock: {}", row(&queue, &late));
    assert!(get(&s, &admin, "/queue?overdue=1").await.contains("該当する届出はありません"));
    s.stop().await;
}

/// Issue 15: bulk actions on the queue — checkboxes and one form (POST, CSRF) that assigns,
/// moves or links the chosen reports; a report the move does not apply to is named, not
/// silently skipped; each change is on its report's timeline and audited, and the whole once.
async fn bulk_actions_assign_move_and_link_the_chosen_reports_and_are_audited(db: &TestDb) {
    let s = TestApp::start(db).await;
    let a = s.logged_in(Role::Admin, "chief@ipa.example").await;
    s.user(Role::Analyst, "second@ipa.example").await;
    let second = s.store.user_by_email("second@ipa.example").await.unwrap().unwrap().id;
    let chief = s.store.user_by_email("chief@ipa.example").await.unwrap().unwrap().id;
    let tns = [
        file(&s, "A", "同じ攻撃元からの不正ログイン（1）").await,
        file(&s, "B", "同じ攻撃元からの不正ログイン（2）").await,
        file(&s, "C", "同じ攻撃元からの不正ログイン（3）").await,
    ];
    let id = |tn: &str| {
        let tn = todokede_domain::TrackingNumber::parse(tn).unwrap();
        let store = s.store.clone();
        async move { store.report_id_by_tracking(&tn).await.unwrap().unwrap() }
    };
    let closed = id(&tns[2]).await;
    s.store.transition(closed, todokede_domain::ReportState::Closed, chief, None).await.unwrap();
    let queue = get(&s, &a, "/queue?state=received").await;
    assert!(queue.contains("action=\"/queue/bulk\"") && queue.contains(&format!("name=\"ids\" value=\"{}\"", tns[0])));
    let back = "state=received";
    let with = |extra: &[(&'static str, String)]| {
        let mut f: Vec<(&str, String)> = tns.iter().map(|t| ("ids", t.clone())).collect();
        f.push(("back", back.to_owned()));
        f.extend(extra.iter().cloned());
        f
    };

    // Assign all three to the second analyst.
    let f = with(&[("action", "assign".into()), ("assignee", second.0.to_string())]);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = post(&s, &a, "/queue/bulk", &f).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/queue?state=received&bulk=3"), "back to the same filter: {location}");
    for tn in &tns {
        assert_eq!(s.store.report(id(tn).await).await.unwrap().unwrap().assignee, Some(second));
    }
    // Move to 確認中: the closed one cannot be, and is named.
    let f = with(&[("action", "state".into()), ("to", "triage".into())]);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = post(&s, &a, "/queue/bulk", &f).await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let page = get(&s, &a, &location).await;
    assert!(page.contains("選んだ届出のうち 2 件を変更しました"), "{page}");
    assert!(page.contains(&format!("{}（この状態には変更できません）", tns[2])), "the one not moved is named");
    for (tn, want) in tns.iter().zip(["triage", "triage", "closed"]) {
        assert_eq!(s.store.report(id(tn).await).await.unwrap().unwrap().state.key(), want);
    }
    // Link the three as one incident.
    let f = with(&[("action", "link".into())]);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(post(&s, &a, "/queue/bulk", &f).await.status(), StatusCode::SEE_OTHER);
    let linked = s.store.linked_reports(id(&tns[0]).await).await.unwrap();
    assert_eq!(linked.len(), 2, "the first with each other: {linked:?}");
    let page = get(&s, &a, &format!("/reports/{}", tns[2])).await;
    assert!(page.contains(&format!("関連付け: {}", tns[0])) && page.contains("担当者を設定: second@ipa.example"));

    // Each change audited, and each bulk action once.
    let log = s.store.audit_log(200).await.unwrap();
    let count = |action: &str| log.iter().filter(|e| e.action == action).count();
    assert_eq!((count("report.assign"), count("report.link"), count("report.bulk")), (3, 2, 3));
    let state =
        log.iter().find(|e| e.action == "report.bulk" && e.detail.as_deref().unwrap_or("").starts_with("state"));
    assert!(state.unwrap().detail.as_deref().unwrap().contains("2 done, 1 not"), "{state:?}");

    // Nothing chosen, one to link, a forged form, another site: refused, nothing changed.
    let res = post(&s, &a, "/queue/bulk", &[("action", "state"), ("to", "closed")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("届出を選んでください"));
    let res = post(&s, &a, "/queue/bulk", &[("action", "link"), ("ids", tns[0].as_str())]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let forged = a
        .client
        .post(s.url("/queue/bulk"))
        .header("origin", s.base.clone())
        .form(&[("csrf", "forged"), ("action", "state"), ("to", "closed"), ("ids", tns[0].as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let cross = a
        .client
        .post(s.url("/queue/bulk"))
        .header("origin", "https://evil.example")
        .form(&[("csrf", a.csrf.as_str()), ("action", "state"), ("to", "closed"), ("ids", tns[0].as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let anonymous = browser()
        .post(s.url("/queue/bulk"))
        .header("origin", s.base.clone())
        .form(&[("action", "state"), ("to", "closed"), ("ids", tns[0].as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "to the login");
    assert_eq!(s.store.report(id(&tns[0]).await).await.unwrap().unwrap().state.key(), "triage");
    s.stop().await;
}

/// Issue 15: saved filters — the current filter saved under a name, shown as a link on the
/// queue, the analyst's own (another analyst neither sees nor deletes it), keeping only the
/// queue's filter keys.
async fn saved_filters_are_each_analysts_own_and_keep_only_the_queues_keys(db: &TestDb) {
    let s = TestApp::start(db).await;
    let a = s.logged_in(Role::Analyst, "a@ipa.example").await;
    let b = s.logged_in(Role::Analyst, "b@ipa.example").await;
    let queue = get(&s, &a, "/queue?state=triage&answered=1&page=2").await;
    assert!(queue.contains("name=\"query\" value=\"state=triage&amp;answered=1\""), "the page's own filter");
    let res = post(
        &s,
        &a,
        "/queue/filters",
        &[("name", "回答待ちの確認"), ("query", "state=triage&answered=1&bulk=3&evil=x")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/queue?state=triage&answered=1&saved=1");
    let queue = get(&s, &a, "/queue?state=triage&answered=1&saved=1").await;
    assert!(queue.contains("絞り込み条件を保存しました"));
    let link = &queue[..queue.find("aria-current=\"page\">回答待ちの確認</a>").expect("the saved filter, current")];
    assert!(link[link.rfind("<a href=").unwrap()..].contains("state=triage&amp;answered=1"), "its link");
    let theirs = get(&s, &b, "/queue").await;
    assert!(!theirs.contains("回答待ちの確認"), "another analyst's filters are not shown");
    let mine = s.store.user_by_email("a@ipa.example").await.unwrap().unwrap().id;
    let saved = s.store.saved_filters(mine).await.unwrap();
    assert_eq!(saved[0].query, "state=triage&answered=1", "only the queue's keys are kept");
    let res = post(&s, &b, &format!("/queue/filters/{}/delete", saved[0].id), &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "not another's");
    let res = post(&s, &a, "/queue/filters", &[("name", " "), ("query", "")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = post(&s, &a, &format!("/queue/filters/{}/delete", saved[0].id), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(s.store.saved_filters(mine).await.unwrap().is_empty());
    s.stop().await;
}

/// Issue 15: the report page itself says the reporter answered (not only the queue), until an
/// analyst replies, writes a note or changes the state; the reporter's structured answers stand
/// beside the automatic analysis.
async fn the_report_page_says_when_the_reporter_answered_until_an_analyst_acts(db: &TestDb) {
    let s = TestApp::start(db).await;
    let a = s.logged_in(Role::Analyst, "chief@ipa.example").await;
    let filed = s.submit_report("管理画面に不正ログインされました。").await;
    let tn = &filed.tracking_number;
    let page = get(&s, &a, &format!("/reports/{tn}")).await;
    assert!(!page.contains("id=\"answered\""), "nothing answered yet");
    let id =
        s.store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(tn).unwrap()).await.unwrap().unwrap();
    s.store.add_follow_up(id, "ログを添付します。", &[]).await.unwrap();
    let page = get(&s, &a, &format!("/reports/{tn}")).await;
    let banner = &page[page.find("id=\"answered\"").expect("the banner")..];
    assert!(banner.contains("回答あり・要対応") && banner.contains("href=\"#timeline\""), "{banner}");
    // The two columns of one grid: the reporter's answers (left), the analysis (right).
    let (grid, answers, analysis) = (
        page.find("class=\"grid2 report\"").unwrap(),
        page.find("id=\"answers\"").unwrap(),
        page.find(">分析</h2>").unwrap(),
    );
    assert!(grid < answers && answers < analysis, "side by side");
    assert!(get(&s, &a, &format!("/reports/{tn}?lang=en")).await.contains("the reporter answered at"));
    get(&s, &a, "/queue?lang=ja").await;
    let res = post(&s, &a, &format!("/reports/{tn}/note"), &[("body", "確認しました")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(!get(&s, &a, &format!("/reports/{tn}")).await.contains("id=\"answered\""), "an analyst acted");
    s.stop().await;
}

/// The rows of a CSV body (after the BOM), each cell unquoted (RFC 4180; every cell quoted).
fn csv_rows(body: &str) -> Vec<Vec<String>> {
    let body = body.strip_prefix('\u{feff}').expect("a BOM for Excel");
    assert!(body.ends_with("\r\n"), "CRLF line ends");
    let (mut rows, mut row, mut cell) = (vec![], vec![], String::new());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        assert_eq!(c, '"', "every cell quoted: {body}");
        loop {
            match chars.next().expect("a closing quote") {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => break,
                c => cell.push(c),
            }
        }
        row.push(std::mem::take(&mut cell));
        match chars.next() {
            Some(',') => {}
            Some('\r') => {
                assert_eq!(chars.next(), Some('\n'));
                rows.push(std::mem::take(&mut row));
            }
            other => panic!("after a cell: {other:?}"),
        }
    }
    rows
}

/// Issue 18 item 6: what the analyst sees, as CSV — a link on /queue and /search that keeps the
/// current filter; every row the filter matches (not only the page); UTF-8 with a BOM, a
/// download, formulas neutralised; the pages' authorization; audited.
async fn the_queue_and_the_search_download_as_csv_with_their_filters_for_excel(db: &TestDb) {
    let s = TestApp::start(db).await;
    let a = s.logged_in(Role::Analyst, "chief@ipa.example").await;
    let formula =
        file(&s, "山田 太郎", "=HYPERLINK(\"http://evil.example/\",\"詳細\") 管理画面に不正ログインされました。").await;
    let plus = file(&s, "佐藤 花子", "+81 からの不正ログインがありました。").await;
    let plain = file(&s, "鈴木 一郎", "ランサムウェアに感染しました。").await;
    let res = post(&s, &a, &format!("/reports/{plain}/state"), &[("to", "triage")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // The link keeps the filter; the CSV has exactly the filter's rows.
    let queue = get(&s, &a, "/queue?state=triage&page=1").await;
    assert!(queue.contains("href=\"/queue.csv?state=triage\""), "the CSV link keeps the filter");
    let res = a.client.get(s.url("/queue.csv?state=triage")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment; filename=\"todokede-queue-") && disposition.ends_with(".csv\""));
    let rows = csv_rows(&res.text().await.unwrap());
    assert_eq!(rows[0][..5], ["受付番号", "受付日時（JST）", "届出種別", "届出者種別", "状態"]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[1][0].as_str(), rows[1][4].as_str()), (plain.as_str(), "確認中"));

    // Every report, and a reporter's formula is text in Excel.
    let all = csv_rows(&a.client.get(s.url("/queue.csv")).send().await.unwrap().text().await.unwrap());
    assert_eq!(all.len(), 4);
    let summary = |tn: &str| all.iter().find(|r| r[0] == tn).unwrap().last().unwrap().clone();
    assert!(summary(&formula).starts_with("'=HYPERLINK(\"http://evil.example/\""), "{}", summary(&formula));
    assert!(summary(&plus).starts_with("'+81"), "{}", summary(&plus));
    assert_eq!(summary(&plain), "ランサムウェアに感染しました。");
    let en = a.client.get(s.url("/queue.csv?lang=en")).send().await.unwrap().text().await.unwrap();
    assert!(csv_rows(&en)[0][0] == "Tracking number", "the page's language");
    get(&s, &a, "/queue?lang=ja").await;

    // The search: the same words, the same rows.
    let search = get(&s, &a, "/search?q=%E4%B8%8D%E6%AD%A3%E3%83%AD%E3%82%B0%E3%82%A4%E3%83%B3").await;
    let link = "/search.csv?q=%E4%B8%8D%E6%AD%A3%E3%83%AD%E3%82%B0%E3%82%A4%E3%83%B3";
    let main = &search[search.find("<main>").unwrap()..];
    assert!(search.contains(&format!("href=\"{link}\"")), "the search's CSV link: {main}");
    let res = a.client.get(s.url(link)).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let found = csv_rows(&res.text().await.unwrap());
    let mut numbers: Vec<&str> = found[1..].iter().map(|r| r[0].as_str()).collect();
    numbers.sort();
    let mut expected = vec![formula.as_str(), plus.as_str()];
    expected.sort();
    assert_eq!(numbers, expected, "{found:?}");

    // Only analysts: a visitor (and a reporter) gets the login, not the list.
    for path in ["/queue.csv", link] {
        let res = browser().get(s.url(path)).send().await.unwrap();
        assert_ne!(res.status(), StatusCode::OK, "{path}");
        assert!(!res.headers().get("content-type").is_some_and(|c| c.to_str().unwrap().starts_with("text/csv")));
    }
    // Audited: who took which list, with how many rows.
    let log = s.store.audit_log(50).await.unwrap();
    let exports: Vec<String> =
        log.iter().filter(|e| e.action == "export.csv").map(|e| e.detail.clone().unwrap_or_default()).collect();
    assert!(exports.iter().any(|d| d == "/queue.csv?state=triage (1 rows)"), "{exports:?}");
    assert!(exports.iter().any(|d| d.starts_with("/search.csv?q=") && d.ends_with("(2 rows)")), "{exports:?}");
    assert!(log.iter().filter(|e| e.action == "export.csv").all(|e| e.user.is_some()));
    s.stop().await;
}

/// `todokede export --format csv --period 2019H2`: the period's reports (the seeds' 18), in the
/// queue's columns, oldest first; a period is required.
async fn export_format_csv_lists_a_periods_reports(db: &TestDb) {
    common::user_add(&db.url, "analyst", "chief@ipa.example");
    common::handled_seed_reports(&db.url, "chief@ipa.example").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("2019H2.csv");
    let out =
        common::todokede(&db.url, &["export", "--format", "csv", "--period", "2019H2", "-o", path.to_str().unwrap()]);
    common::ok(out);
    let rows = csv_rows(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(rows.len(), 1 + 18, "{rows:?}");
    assert_eq!(rows[0][0], "受付番号");
    assert!(rows[1][1].starts_with("2019-08-14"), "oldest first: {:?}", rows[1]);
    assert!(rows.iter().skip(1).all(|r| r[8] == "はい"), "every seed case confirmed");
    let out = common::todokede(&db.url, &["export", "--format", "csv", "--report", "7K3MQ-9XD2A"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--period"));
}
