//! Session 13's walk through the analysts' pages, each dead end it found as a test that fails
//! on the old behaviour: a link opened logged out is where the login goes on to (never another
//! site); refused input (a bogus link, a bulk action with nothing ticked, a featured case that
//! is no confirmed report, approving one's own version) comes back to its own page with what
//! was typed and the reason beside the field; imported history does not trip the SLA clock;
//! a reply template goes into the draft, never over it; the report page uses both columns.
//! Over real HTTP against the in-process service (`TestApp`); the layout and the script in
//! headless Chromium.

use crate::common::{self, get, post};

use common::browser;
use reqwest::StatusCode;
use todokede_store::Role;
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

/// The text of a `<textarea id=…>` on a page (escaped as the page has it).
fn textarea<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id}"));
    let body = &page[start..];
    let body = &body[body.find('>').unwrap() + 1..];
    &body[..body.find("</textarea>").unwrap()]
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

async fn login_form(s: &TestApp, b: &reqwest::Client, form: &[(&str, &str)]) -> reqwest::Response {
    b.post(s.url("/login")).header("origin", s.base.clone()).form(form).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_opened_logged_out_is_where_the_login_goes_and_never_another_site() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let password = s.user(Role::Analyst, "chief@ipa.example").await;
    let tn = s.submit_report("管理画面に不正ログインされました。").await.tracking_number;

    // Opened without a session: the login page, which keeps the page asked for.
    let b = browser();
    let res = b.get(s.url(&format!("/reports/{tn}?done=note"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to_login = location(&res);
    assert!(to_login.starts_with("/login?next=%2Freports%2F"), "{to_login}");
    let page = b.get(s.url(&to_login)).send().await.unwrap().text().await.unwrap();
    let next = common::hidden(&page, "next");
    assert_eq!(next.replace("&#x2f;", "/").replace("&amp;", "&"), format!("/reports/{tn}?done=note"));

    // A wrong password: the address as typed stays, the password does not; still going there.
    let res = login_form(
        &s,
        &b,
        &[("email", "Chief@ipa.example"), ("password", "wrong-horse-battery"), ("next", &format!("/reports/{tn}"))],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let page = res.text().await.unwrap();
    assert!(page.contains("value=\"Chief@ipa.example\""), "the e-mail is kept");
    assert!(!page.contains("wrong-horse-battery"), "never the password");
    assert!(page.contains("name=\"next\""), "still on the way to the report");

    // The right password: the report, not the queue.
    let res = login_form(
        &s,
        &b,
        &[("email", "chief@ipa.example"), ("password", &password), ("next", &format!("/reports/{tn}"))],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/reports/{tn}"));

    // Another site is never where a login sends anyone.
    for foreign in
        ["//evil.example", "https://evil.example/phish", "/\\evil.example", "http:/evil", "javascript:alert(1)"]
    {
        let b = browser();
        let res =
            login_form(&s, &b, &[("email", "chief@ipa.example"), ("password", &password), ("next", foreign)]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/queue", "{foreign} refused");
        let page = b.get(s.url(&format!("/login?next={}", urlencode(foreign)))).send().await.unwrap();
        assert!(!page.text().await.unwrap().contains("name=\"next\""), "{foreign} not even kept in the form");
    }

    // A protected page asked for in English: the login page in English.
    let b = browser();
    let res = b.get(s.url("/queue?lang=en")).send().await.unwrap();
    let to_login = location(&res);
    assert!(to_login.contains("lang=en"), "{to_login}");
    let page = b.get(s.url(&to_login)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<html lang=\"en\">") && page.contains("Analyst login") && page.contains("Log in"));
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_link_and_an_inserted_template_come_back_with_what_was_typed() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let a = s.logged_in(Role::Analyst, "chief@ipa.example").await;
    let tn = s.submit_report("管理画面に不正ログインされました。").await.tracking_number;

    // A tracking number that names no report: the report page, the number as typed, why.
    let res = post(&s, &a, &format!("/reports/{tn}/link"), &[("other", "NOPE1")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("action=\"/reports/") && page.contains("id=\"timeline\""), "the report page itself");
    assert!(!page.contains("トップへ"), "no dead end");
    assert!(page.contains("name=\"other\" value=\"NOPE1\""), "the number as typed");
    assert!(
        page.contains("id=\"other-error\"") && page.contains("受付番号「NOPE1」の届出はありません"),
        "beside the field"
    );
    let res = post(&s, &a, &format!("/reports/{tn}/link?lang=en"), &[("other", &tn)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("A report cannot be linked with itself."));

    // 返信欄に挿入 without JavaScript: the draft stays, the template goes after it, nothing sent.
    let templates = s.store.reply_templates().await.unwrap();
    let ja = templates.iter().find(|t| t.language == todokede_domain::Language::Ja).expect("a Japanese template");
    let page = get(&s, &a, &format!("/reports/{tn}")).await;
    assert!(page.contains("formaction") || page.contains("name=\"insert\""), "the insert button is in the reply form");
    let res = post(
        &s,
        &a,
        &format!("/reports/{tn}/reply"),
        &[("body", "ログの保存期間を教えてください。"), ("template", &ja.id.to_string()), ("insert", "1")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    let reply = textarea(&page, "reply");
    assert!(reply.starts_with("ログの保存期間を教えてください。\n\n"), "the draft first: {reply}");
    assert!(reply.contains(&format!("受付番号 {tn}")), "then the template, filled: {reply}");
    let id = s.store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&tn).unwrap()).await.unwrap();
    let report = s.store.report(id.unwrap()).await.unwrap().unwrap();
    assert!(
        !report.timeline.iter().any(|e| matches!(e, todokede_domain::TimelineEntry::Reply { .. })),
        "inserting sends nothing"
    );

    // With JavaScript: the filled text for the cursor, and the one script CSP lets run.
    let res = a.client.get(s.url(&format!("/reports/{tn}/reply-template?template={}", ja.id))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(res.text().await.unwrap().contains(&format!("受付番号 {tn}")));
    let res = a.client.get(s.url(&format!("/reports/{tn}"))).send().await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(res.text().await.unwrap().contains("<script src=\"/static/app.js\" defer></script>"));
    let js = browser().get(s.url("/static/app.js")).send().await.unwrap();
    assert!(js.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(js.text().await.unwrap().contains("data-insert-into"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_action_with_nothing_ticked_comes_back_to_the_queue_with_the_choices() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let a = s.logged_in(Role::Analyst, "chief@ipa.example").await;
    let tn = s.submit_report("同じ攻撃元からの不正ログイン").await.tracking_number;

    let res = post(&s, &a, "/queue/bulk", &[("action", "state"), ("to", "triage"), ("back", "state=received")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("action=\"/queue/bulk\"") && page.contains(&tn), "the queue itself, its reports listed");
    assert!(!page.contains("トップへ"), "no dead end");
    assert!(page.contains("id=\"bulk-error\"") && page.contains("届出を選んでください"), "the reason at the bulk form");
    assert!(page.contains("<option value=\"triage\" selected>"), "the state chosen stays chosen");
    assert!(page.contains("<option value=\"received\" selected>"), "the queue's filter stays");

    // One ticked to link: that one stays ticked.
    let res = post(&s, &a, "/queue/bulk", &[("action", "link"), ("ids", &tn)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("2 件以上を選んでください"));
    assert!(page.contains(&format!("id=\"pick-{tn}\" checked")), "the ticked report stays ticked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_featured_case_and_an_own_approval_come_back_to_the_publication_page() {
    let db = TestDb::sqlite().await;
    let drafter = common::user_add(&db.url, "analyst", "drafter@ipa.example");
    common::handled_seed_reports(&db.url, "drafter@ipa.example").await;
    let s = TestApp::start(&db).await;
    let d = s.login("drafter@ipa.example", &drafter).await;

    // A number that is no confirmed case: the page, what was typed (all of it), why, in Japanese.
    let form = [("featured", "NOPE1=データベースを消去し脅迫する手口"), ("keep", "203.0.113.9"), ("notable.x", "")];
    let res = post(&s, &d, "/publication/2019H2/draft", &form).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("action=\"/publication/2019H2/draft\"") && !page.contains("トップへ"), "its own page");
    assert!(page.contains("「NOPE1」は 2019H2 の分類を確定した届出ではありません"), "named as typed, in Japanese");
    assert!(!page.contains("N0PE1"), "not read as a tracking number");
    assert_eq!(textarea(&page, "featured"), "NOPE1=データベースを消去し脅迫する手口");
    assert_eq!(textarea(&page, "keep"), "203.0.113.9");
    assert!(page.contains("aria-describedby=\"draft-error\""), "the field points at the reason");
    // A line without a title, and the English page.
    let res = post(&s, &d, "/publication/2019H2/draft?lang=en", &[("featured", "NOPE1")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("“NOPE1”: give NUMBER=TITLE"), "{}", &page[page.find("draft-error").unwrap_or(0)..][..300]);
    let res = post(&s, &d, "/publication/2019H2/draft?lang=en", &[("featured", "NOPE1=x")]).await;
    assert!(res.text().await.unwrap().contains("“NOPE1” is not a confirmed report of 2019H2"));

    // A draft; its drafter's approve button is disabled and says why.
    let res = post(&s, &d, "/publication/2019H2/draft", &[("featured", "")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = get(&s, &d, "/publication?period=2019H2&lang=ja").await;
    assert!(page.contains("disabled aria-describedby=\"four-eyes\""), "the last editor cannot press it");
    assert!(page.contains("id=\"four-eyes\"") && page.contains("この版はあなたが最後に編集しました"));
    // Posted anyway: the page, the reason at the approval (403 as every refusal by a rule).
    let res = post(&s, &d, "/publication/2019H2/approve", &[("version", "1")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"approve-error\"") && page.contains("承認は別の分析者が行ってください"));
    assert!(page.contains("草稿を生成") && !page.contains("トップへ"), "the publication page");
    // Another analyst's button is enabled.
    let other = s.logged_in(Role::Analyst, "second@ipa.example").await;
    assert!(!get(&s, &other, "/publication?period=2019H2").await.contains("disabled aria-describedby=\"four-eyes\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_history_does_not_trip_the_sla_clock_until_an_analyst_moves_it() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let a = s.logged_in(Role::Analyst, "chief@ipa.example").await;
    let out = common::ok(common::todokede(&db.url, &["import", &common::repo("fixtures/seeds/2019H2.json")]));
    let imported: Vec<String> = out.lines().map(|l| l.split('\t').next().unwrap().to_owned()).collect();
    assert!(imported.len() >= 10);

    // 2019's reports, imported today: no 期限超過 (it read 2557日), not in the overdue filter.
    let queue = get(&s, &a, "/queue").await;
    for tn in &imported {
        assert!(!common::row(&queue, tn).contains("期限超過"), "{tn}: {}", common::row(&queue, tn));
    }
    let overdue = get(&s, &a, "/queue?overdue=1").await;
    assert!(imported.iter().all(|tn| !overdue.contains(tn.as_str())), "none is overdue");
    let sorted = get(&s, &a, "/queue?sort=sla").await;
    assert!(!sorted.contains("<tr class=\"overdue\"") && !sorted.contains("期限超過 "), "no row flagged");
    assert!(!get(&s, &a, &format!("/reports/{}", imported[0])).await.contains("id=\"sla\""));
    let csv = a.client.get(s.url("/queue.csv")).send().await.unwrap().text().await.unwrap();
    assert!(!csv.contains("はい,"), "no overdue row in the CSV: {csv}");

    // Once an analyst moves one, its clock runs from that change.
    let chief = s.store.user_by_email("chief@ipa.example").await.unwrap().unwrap().id;
    let id = s.store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&imported[0]).unwrap()).await;
    s.store.transition(id.unwrap().unwrap(), todokede_domain::ReportState::Triage, chief, None).await.unwrap();
    let page = get(&s, &a, &format!("/reports/{}", imported[0])).await;
    assert!(page.contains("id=\"sla\"") && page.contains("残り"), "a deadline from the change, not 2019's");
    // A report filed now has its clock as before.
    let live = s.submit_report("今朝から管理画面に不正ログインが続いています。").await.tracking_number;
    assert!(common::row(&get(&s, &a, "/queue").await, &live).contains("残り"));
}

/// The report page at 1280 px used the right column only (the left ended after the
/// attachments, the timeline sat at the very bottom); at 390 px the columns stack. The reply
/// template goes in at the cursor without reloading the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_page_uses_both_columns_and_a_template_goes_into_the_draft() {
    if !common::browser_available() {
        return;
    }
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "admin", "chief@ipa.example");
    let s = TestApp::start(&db).await;
    let log = "Nov 25 09:58:01 web sshd[123]: Failed password for root from 45.33.32.156 port 51234 ssh2\n".repeat(40);
    let body = serde_json::json!({
        "form": "unauthorized_access",
        "description": "SSH のパスワード総当たり攻撃を受け、root で不正ログインされました。",
        "attachments": [{"filename": "auth.log", "content_type": "text/plain",
            "content_base64": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, log)}],
    });
    let res = reqwest::Client::new().post(s.url("/api/v1/reports")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let tn = res.json::<serde_json::Value>().await.unwrap()["tracking_number"].as_str().unwrap().to_owned();

    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    let b = todokede_testkit::Browser::start(shots).await;
    b.set_window_size(1280, 1000).await;
    // Logged out, the report's link: after the login, the report.
    b.goto(&s.url(&format!("/reports/{tn}"))).await;
    b.wait_for("name=\"next\"").await;
    b.type_into("#email", "chief@ipa.example").await;
    b.type_into("#password", &password).await;
    b.click("button[type=submit]").await;
    b.wait_for("id=\"timeline\"").await;
    assert!(b.url().await.ends_with(&format!("/reports/{tn}")), "{}", b.url().await);

    let rect = |css: &str| {
        format!("const r = document.querySelector({css:?}).getBoundingClientRect(); return [r.left, r.top + scrollY];")
    };
    let at = |v: serde_json::Value| (v[0].as_f64().unwrap(), v[1].as_f64().unwrap());
    let (tl_x, tl_y) = at(b.execute(&rect("#timeline")).await);
    let (reply_x, _) = at(b.execute(&rect("#reply")).await);
    let (analysis_x, _) = at(b.execute(&rect("#classification")).await);
    assert!(tl_x < 640.0 && reply_x < 640.0 && analysis_x > 640.0, "{tl_x} {reply_x} {analysis_x}");
    assert!(tl_y < 1000.0, "the timeline is near the top ({tl_y} px), not at the very bottom");
    let cols = b
        .execute("const c = document.querySelectorAll('.grid2.report > div'); return [c[0].scrollHeight, c[1].scrollHeight];")
        .await;
    let (left, right) = at(cols);
    assert!(left > right * 0.4, "the left column is used: {left} px beside {right} px");
    b.screenshot("ana13-report-1280").await;

    // The template at the cursor: the draft stays, no reload (the URL has no ?template=).
    b.type_into("#reply", "ログの保存期間を教えてください。").await;
    b.click("button[data-insert-into]").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let value = loop {
        let v = b.execute("return document.getElementById('reply').value;").await.as_str().unwrap_or("").to_owned();
        if v.contains(&tn) || std::time::Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(value.starts_with("ログの保存期間を教えてください。\n\n") && value.contains(&tn), "{value}");
    assert!(b.url().await.ends_with(&format!("/reports/{tn}")), "no reload: {}", b.url().await);

    // 390 px: one column, nothing wider than the screen.
    b.set_window_size(390, 1000).await;
    let (tl_x, _) = at(b.execute(&rect("#timeline")).await);
    let (cl_x, _) = at(b.execute(&rect("#classification")).await);
    assert!((tl_x - cl_x).abs() < 1.0, "stacked: {tl_x} {cl_x}");
    assert_eq!(b.horizontal_overflow().await, 0);
    b.screenshot("ana13-report-390").await;
}
