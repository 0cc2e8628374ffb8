//! End to end in a real browser (headless Chromium): a reporter files a Japanese 不正アクセス届出
//! with an attachment, gets the tracking number; an analyst logs in, finds it in the queue,
//! replies; the reporter sees the reply on the secret-link page and adds a follow-up; the
//! analyst closes it. Both journeys in Japanese and English at 390 and 1280 px, every page
//! checked by axe-core (vendored in fixtures/axe, injected by the test) and for horizontal
//! scrolling. Screenshots of each page land in target/screenshots/. The service runs in
//! process (`TestApp`).

use crate::common;

use todokede_testkit::app::TestApp;
use todokede_testkit::{Browser, TestDb};

/// A fresh browser session, logged in as the analyst, on the queue that shows `tn`.
async fn log_in_as_analyst(b: &Browser, s: &TestApp, password: &str, tn: &str) {
    b.delete_cookies().await;
    b.goto(&s.url("/login")).await;
    b.type_into("#email", "chief@ipa.example").await;
    b.type_into("#password", password).await;
    b.click("button[type=submit]").await;
    b.wait_for(tn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_from_filing_to_closing_in_the_browser() {
    if !common::browser_available() {
        return;
    }
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "admin", "chief@ipa.example");
    let s = TestApp::start_with(&db, |c| c.mail.public_url = "http://127.0.0.1".into()).await;
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    let b = Browser::start(shots.clone()).await;
    let evidence = std::env::temp_dir().join(format!("auth-{}.log", std::process::id()));
    std::fs::write(
        &evidence,
        "Nov 25 09:58:01 web sshd[123]: Failed password for root from 45.33.32.156 port 51234 ssh2\n",
    )
    .unwrap();

    // The reporter.
    b.goto(&s.url("/")).await;
    assert!(b.screenshot("01-home").await > 10_000);
    b.goto(&s.url("/report/new?form=unauthorized_access")).await;
    b.type_into("#reporter_name", "山田 太郎").await;
    b.type_into("#reporter_email", "yamada@example.co.jp").await;
    b.type_into("#description", "弊社の EC サイトで phpMyAdmin が外部から接続可能な状態になっており、データベースが削除され 0.03 BTC を要求する脅迫文が残されていました。攻撃元は 45.33.32.156 です。").await;
    b.click("input[name=damages][value=data_destruction_extortion]").await;
    b.type_into("#attachments", evidence.to_str().unwrap()).await;
    b.screenshot("02-form-filled").await;
    b.click("button[type=submit]").await;
    b.wait_for("class=\"tn\"").await;
    let tn = b.text(".tn").await;
    assert_eq!(tn.len(), 11, "tracking number shown: {tn}");
    let link = b.text("a[rel=noreferrer]").await;
    b.screenshot("03-received").await;

    // The analyst.
    log_in_as_analyst(&b, &s, &password, &tn).await;
    assert!(b.url().await.ends_with("/queue"));
    b.screenshot("04-queue").await;
    b.click(&format!("a[href='/reports/{tn}']")).await;
    // The background analysis shows up on the report page.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !b.source().await.contains("データ消去・脅迫") {
        assert!(std::time::Instant::now() < deadline, "analysis not shown");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        b.goto(&s.url(&format!("/reports/{tn}"))).await;
    }
    assert!(b.source().await.contains("auth-"), "the attachment is listed");
    b.screenshot("05-report").await;
    b.click("#reply").await;
    b.type_into("#reply", "\n追加のログがあればお送りください。").await;
    b.click("form[action$='/reply'] button:not([data-insert-into])").await;
    b.wait_for("class=\"reply\"").await;

    // The reporter again, through the secret link.
    b.delete_cookies().await;
    // The public URL is configured without our ephemeral port: keep the link's path.
    let path = &link[link.find("/r/").expect("secret link")..];
    b.goto(&s.url(path)).await;
    b.wait_for("追加のログがあればお送りください").await;
    assert!(b.url().await.ends_with("/reporter"), "the secret left the address bar");
    b.type_into("#body", "auth.log の全体を追って送ります。").await;
    b.click("form[action='/reporter/follow-up'] button").await;
    b.wait_for("auth.log の全体を追って送ります。").await;
    b.screenshot("06-reporter").await;

    // The analyst closes it.
    log_in_as_analyst(&b, &s, &password, &tn).await;
    b.goto(&s.url(&format!("/reports/{tn}"))).await;
    b.wait_for("auth.log の全体を追って送ります。").await;
    b.click("#to option[value=closed]").await;
    b.click("form[action$='/state'] button").await;
    b.wait_for("badge closed").await;
    b.screenshot("07-closed").await;
}

/// From handled reports to an approved half-year report in the browser: the statistics page
/// with its charts, generating a draft with featured cases, an edit, approval, and the PDF
/// download (as an attachment, for analysts only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_the_half_year_report_in_the_browser() {
    if !common::browser_available() {
        return;
    }
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "analyst", "chief@ipa.example");
    let second = common::user_add(&db.url, "analyst", "second@ipa.example");
    let numbers = common::handled_seed_reports(&db.url, "chief@ipa.example").await;
    common::set_contacts(&db.url);
    let s = TestApp::start(&db).await;
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    let b = Browser::start(shots).await;
    b.goto(&s.url("/login")).await;
    b.type_into("#email", "chief@ipa.example").await;
    b.type_into("#password", &password).await;
    b.click("button[type=submit]").await;
    b.wait_for("/stats").await;

    // Across reports: the background analysis clusters the DB-wipe reports and raises the alert.
    let first = &numbers["2019H2-01"];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        b.goto(&s.url(&format!("/reports/{first}"))).await;
        let page = b.source().await;
        if page.contains(&numbers["2019H2-08"]) && page.contains(&numbers["2019H2-05"]) {
            assert!(page.contains("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"), "the shared ransom address is shown");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "correlation and clustering not shown");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    b.screenshot("08-report-related").await;
    b.goto(&s.url("/queue")).await;
    let page = b.wait_for("急増アラート").await;
    assert!(page.contains("データ消去・脅迫"), "surge alert on the queue");
    b.screenshot("09-queue-alerts").await;
    b.goto(&s.url("/search?q=%E8%BA%AB%E4%BB%A3%E9%87%91")).await; // 身代金
    let page = b.wait_for("件").await;
    assert!(page.contains(&numbers["2019H2-02"]));
    b.screenshot("10-search").await;

    b.goto(&s.url("/stats?period=2019H2")).await;
    let page = b.wait_for("急増アラート").await;
    assert!(page.contains("データ消去・脅迫") && page.contains("<svg"), "surge alert and charts");
    assert!(page.contains("&lt;3"), "small cells suppressed");
    b.screenshot("11-statistics").await;

    b.goto(&s.url("/publication?period=2019H2")).await;
    b.wait_for("草稿を生成").await;
    let featured = format!(
        "{}=データベースを消去し脅迫する手口による攻撃\n{}=ターゲット組織のウェブメールサービスを模造したフィッシング",
        numbers["2019H2-02"], numbers["2019H2-18"]
    );
    b.type_into("#featured", &featured).await;
    b.click("form[action$='/draft'] button").await;
    let page = b.wait_for("本文の確認と編集").await;
    assert!(page.contains("リスト型攻撃による顧客アカウントの被害") && page.contains("groups.0.rows.0.summary"));
    b.screenshot("12-publication-draft").await;
    // On a phone the page fits: the review notes (a 要確認 label is a whole sentence) wrap.
    b.set_window_size(390, 1400).await;
    assert!(page.contains("class=\"ev risk\""), "the seeds' draft has a passage to check");
    assert_eq!(b.horizontal_overflow().await, 0, "the draft's review page fits 390 px");
    b.screenshot("12-publication-draft-390").await;
    b.set_window_size(1280, 1400).await;
    // Edit the title; the change becomes version 2, which is then approved.
    b.type_into("input[name='text:title']", "（速報版）").await;
    b.click("form[action$='/edit'] button").await;
    let page = b.wait_for("編集：title").await;
    // Four eyes: the last editor is told another analyst approves; the second analyst does.
    assert!(page.contains("この版はあなたが最後に編集しました"));
    b.delete_cookies().await;
    b.goto(&s.url("/login")).await;
    b.type_into("#email", "second@ipa.example").await;
    b.type_into("#password", &second).await;
    b.click("button[type=submit]").await;
    b.wait_for("/stats").await;
    b.goto(&s.url("/publication?period=2019H2")).await;
    b.wait_for("編集：title").await;
    b.click("form[action$='/approve'] button").await;
    let page = b.wait_for("badge closed").await;
    assert!(page.contains("second@ipa.example"), "the approver is named");
    assert!(page.contains("/publication/2019H2/report.pdf\""), "download of the approved version offered");
    b.screenshot("13-publication-approved").await;

    // The PDF is a download for analysts only.
    let anon = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = anon.get(s.url("/publication/2019H2/report.pdf")).send().await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER, "anonymous users are sent to log in");
    let analyst =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = analyst
        .post(s.url("/login"))
        .header("origin", s.base.clone())
        .form(&[("email", "chief@ipa.example"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), reqwest::StatusCode::SEE_OTHER);
    let res = analyst.get(s.url("/publication/2019H2/report.pdf")).send().await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let pdf = res.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    db.cleanup().await;
}

/// Issue 15: the reporter's journey with mistakes made on purpose — on the virus form, in
/// Japanese and in English, on a phone (390 px) and a laptop (1280 px): the language switch
/// keeps the form; a wrong address and a missing description come back as localized messages
/// next to their fields and in a summary that has the focus; empty fields stay empty; the
/// attachment to choose again is named; nothing stored is the text "None". Then the analyst's
/// report page with long evidence lines fits both widths. Screenshots: target/screenshots/15-*.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reporters_journey_with_mistakes_at_two_widths_in_both_languages() {
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "analyst", "chief@ipa.example");
    let s = TestApp::start(&db).await;
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    let b = Browser::start(shots).await;
    // A log whose lines are far wider than any screen.
    let evidence = std::env::temp_dir().join(format!("long-auth-{}.log", std::process::id()));
    let long_user = "x".repeat(600);
    let lines: String = (0..40)
        .map(|i| {
            format!("Nov 25 09:58:{:02} web sshd[123]: Failed password for invalid user {long_user}{i} from 45.33.32.156 port 51234 ssh2\n", i % 60)
        })
        .collect();
    std::fs::write(&evidence, lines).unwrap();
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let mut numbers = Vec::new();
    for (lang, width) in [("ja", 390), ("en", 1280), ("ja", 1280), ("en", 390)] {
        let other = if lang == "ja" { "en" } else { "ja" };
        let shot = |what: &str| format!("15-{lang}-{width}-{what}");
        b.delete_cookies().await;
        b.set_window_size(width, 1400).await;
        b.goto(&s.url(&format!("/report/new?form=virus&lang={lang}"))).await;
        // There and back with the language switch: still the virus form.
        b.click(&format!("a[hreflang={other}]")).await;
        b.wait_for(&format!("<html lang=\"{other}\"")).await;
        b.click(&format!("a[hreflang={lang}]")).await;
        let page = b.wait_for(&format!("<html lang=\"{lang}\"")).await;
        assert!(page.contains("id=\"virus_name\""), "{lang}: the language switch kept the virus form");
        assert_eq!(b.horizontal_overflow().await, 0, "{lang} {width}: the form fits");
        b.screenshot(&shot("form")).await;

        // Mistakes: a wrong address, nothing under "what happened"; a log attached.
        b.type_into("#reporter_email", "taro@@example").await;
        b.type_into("#virus_name", "Emotet").await;
        b.type_into("#attachments", evidence.to_str().unwrap()).await;
        b.click("button[type=submit]").await;
        let page = b.wait_for("id=\"errors\"").await;
        let focused = b.execute("return document.activeElement ? document.activeElement.id : '';").await;
        assert_eq!(focused, "errors", "{lang} {width}: the error summary has the focus");
        if lang == "ja" {
            assert!(
                page.contains("メールアドレスの形式ではありません") && page.contains("何が起きたかを記入してください")
            );
        } else {
            assert!(page.contains("This is not an e-mail address") && page.contains("Tell us what happened"));
        }
        assert!(!page.contains("reporter.email"), "no developer text");
        assert!(page.contains("long-auth-"), "the attachment to choose again is named");
        for id in ["reporter_name", "reporter_organization", "reporter_phone", "reporter_address", "os", "detected_by"]
        {
            let v = b.execute(&format!("return document.getElementById('{id}').value;")).await;
            assert_eq!(v, "", "{lang} {width}: {id} stays empty after the error");
        }
        let v = b.execute("return document.getElementById('virus_name').value;").await;
        assert_eq!(v, "Emotet", "what was typed is kept");
        assert_eq!(b.horizontal_overflow().await, 0, "{lang} {width}: the form with errors fits");
        b.screenshot(&shot("form-errors")).await;

        // Corrected and sent.
        b.clear("#reporter_email").await;
        b.type_into("#reporter_email", "taro@example.jp").await;
        b.type_into(
            "#description",
            "請求書を装ったメールの添付ファイルを開いたところ、ウイルス対策ソフトが検知しました。",
        )
        .await;
        b.type_into("#attachments", evidence.to_str().unwrap()).await;
        b.click("button[type=submit]").await;
        b.wait_for("class=\"tn\"").await;
        let tn = b.text(".tn").await;
        assert_eq!(b.horizontal_overflow().await, 0, "{lang} {width}: the receipt fits");
        b.screenshot(&shot("received")).await;
        let id =
            store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&tn).unwrap()).await.unwrap().unwrap();
        let r = store.report(id).await.unwrap().unwrap();
        let c = &r.content;
        let texts =
            [&c.reporter.name, &c.reporter.organization, &c.reporter.phone, &c.reporter.address, &c.affected.os];
        assert!(texts.iter().all(|t| t.is_none()), "{lang} {width}: nothing stored as \"None\": {texts:?}");
        assert!(c.discovery_narrative.is_none() && c.damage_narrative.is_none());
        assert_eq!(c.virus.as_ref().and_then(|v| v.virus_name.as_deref()), Some("Emotet"));
        assert_eq!(r.attachments.len(), 1);
        numbers.push(tn);
    }

    // The analyst: the report page with the long evidence lines fits a laptop and a phone.
    b.delete_cookies().await;
    b.set_window_size(1280, 1400).await;
    log_in_as_analyst(&b, &s, &password, &numbers[0]).await;
    for (lang, width) in [("ja", 1280), ("en", 390), ("en", 1280), ("ja", 390)] {
        b.set_window_size(width, 1400).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            b.goto(&s.url(&format!("/reports/{}?lang={lang}", numbers[0]))).await;
            if b.source().await.contains("class=\"proof mono\"") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "evidence not shown");
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        assert_eq!(b.horizontal_overflow().await, 0, "{lang} {width}: the report page fits");
        let right = b
            .execute("return Math.max(...[...document.querySelectorAll('form button')].map(e => e.getBoundingClientRect().right));")
            .await;
        assert!(right.as_f64().unwrap() <= width as f64, "{lang} {width}: every action button on screen ({right})");
        b.screenshot(&format!("15-{lang}-{width}-analyst-report")).await;
    }
    db.cleanup().await;
}

/// Issue 15 items 9 and 10 as a person sees them: the TOTP enrolment page with its QR code (an
/// inline SVG drawn by the server) and the secret as text, and the queue with its flags (a
/// reporter's answer waiting for an analyst, unconfirmed classifications) and the report's
/// timeline with who did what. Screenshots: target/screenshots/16-*, 17-*, 18-*.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_totp_qr_code_and_the_queue_flags_in_the_browser() {
    if !common::browser_available() {
        return;
    }
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "admin", "chief@ipa.example");
    let s = TestApp::start(&db).await;
    let chief = s.store.user_by_email("chief@ipa.example").await.unwrap().unwrap().id;
    let waiting = s.submit_report("管理画面に不正ログインされ、顧客情報が閲覧された可能性があります。").await;
    let quiet = s.submit_report("不審なメールの添付ファイルを開いてしまいました。").await;
    let id = |tn: &str| todokede_domain::TrackingNumber::parse(tn).unwrap();
    let w = s.store.report_id_by_tracking(&id(&waiting.tracking_number)).await.unwrap().unwrap();
    for to in [todokede_domain::ReportState::Triage, todokede_domain::ReportState::WaitingOnReporter] {
        s.store.transition(w, to, chief, None).await.unwrap();
    }
    s.store.assign(w, Some(chief), chief, None).await.unwrap();
    s.store.add_follow_up(w, "アクセスログを添付します。", &[]).await.unwrap();
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    let b = Browser::start(shots).await;
    log_in_as_analyst(&b, &s, &password, &waiting.tracking_number).await;
    let page = b.source().await;
    assert!(page.contains("回答あり・要対応") && page.contains("分類未確定") && page.contains(&quiet.tracking_number));
    b.screenshot("17-queue-flags").await;
    b.goto(&s.url(&format!("/reports/{}", waiting.tracking_number))).await;
    let page = b.wait_for("timeline").await;
    assert!(page.contains("システム（届出者の回答による）") && page.contains("担当者を設定"));
    b.execute("document.querySelector('.timeline').scrollIntoView()").await;
    b.screenshot("18-report-timeline").await;
    b.goto(&s.url("/account")).await;
    let page = b.wait_for("<svg").await;
    assert!(page.contains("role=\"img\"") && page.contains("キー"), "the QR code and the key");
    assert!(b.screenshot("16-account-totp").await > 10_000);
    db.cleanup().await;
}

/// Measures one page as a person meets it: no horizontal scrolling (`scrollWidth`), no axe-core
/// violation of impact serious or critical; saves its screenshot. Problems are collected, so one
/// run names every page that needs fixing.
pub(crate) async fn look_at(b: &Browser, name: &str, problems: &mut Vec<String>) {
    let overflow = b.horizontal_overflow().await;
    if overflow != 0 {
        problems.push(format!("{name}: {overflow} px wider than the window"));
    }
    for v in b.axe_serious().await {
        problems.push(format!("{name}: {v}"));
    }
    // The header's links lie in rows across the width, not stacked one per line (a phone
    // showed the admin's eleven links as a column taller than the screen).
    let nav = b
        .execute(
            "const t = [...document.querySelectorAll('header nav a')].map(a => Math.round(a.getBoundingClientRect().top)); \
             return [t.length, new Set(t).size];",
        )
        .await;
    let (links, rows) = (nav[0].as_u64().unwrap_or(0), nav[1].as_u64().unwrap_or(0));
    if links >= 3 && rows > links.div_ceil(2) {
        problems.push(format!("{name}: the header's {links} links are stacked in {rows} rows"));
    }
    // A table is read without scrolling it sideways inside the page: the queue's and the
    // search's lists on a phone squeezed the form's name to one character per line.
    let wide = b
        .execute(
            "return [...document.querySelectorAll('main table')] \
               .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1) \
               .map(t => `table ${t.className || t.id || ''}: ${t.scrollWidth} px in ${t.parentElement.clientWidth} px`);",
        )
        .await;
    for w in wide.as_array().into_iter().flatten() {
        problems.push(format!("{name}: {}", w.as_str().unwrap_or("")));
    }
    // A placeholder is read in full or not at all: its text (measured in the input's own font)
    // fits inside the input's box (the search page's was cut off on a phone).
    let cut = b
        .execute(
            "const ctx = document.createElement('canvas').getContext('2d'); \
             return [...document.querySelectorAll('input[placeholder]')] \
               .filter(e => e.offsetParent !== null && e.placeholder) \
               .map(e => { const s = getComputedStyle(e); ctx.font = s.font; \
                 const room = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight); \
                 const need = ctx.measureText(e.placeholder).width; \
                 return need > room + 1 ? `${e.name || e.id}: placeholder ${Math.ceil(need)} px in ${Math.floor(room)} px` : ''; }) \
               .filter(x => x);",
        )
        .await;
    for c in cut.as_array().into_iter().flatten() {
        problems.push(format!("{name}: {}", c.as_str().unwrap_or("")));
    }
    b.screenshot(name).await;
}

/// Issue 15 ("beyond fixing"): both journeys, in Japanese and in English, on a phone (390 px)
/// and a laptop (1280 px), with axe-core run on every page on the way (every public page, and
/// the analysts' main pages and the admin pages): the reporter files with a mistake, corrects
/// it, gets the receipt and opens the status page through the secret link; the analyst logs
/// in, opens the report from the queue, inserts a reply template and sends it, and confirms
/// the classification. Zero serious or critical violations, nothing wider than the screen.
/// Screenshots: target/screenshots/19-{lang}-{width}-*.png.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_journeys_pass_axe_and_fit_a_phone_and_a_laptop_in_both_languages() {
    if !common::browser_available() {
        return;
    }
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "admin", "chief@ipa.example");
    let s = TestApp::start_with(&db, |c| c.mail.public_url = "http://127.0.0.1".into()).await;
    // A watch list, so that its page and the lists page have rows to check.
    let (source, parsed) = todokede_app::watchlists::read_source(
        std::path::Path::new(&common::repo("fixtures/watchlists/apt1.json")),
        None,
    )
    .unwrap();
    let req = todokede_app::watchlists::ImportRequest {
        name: "APT1".into(),
        kind: todokede_store::WatchlistKind::Watch,
        description: Some("OASIS の例".into()),
        tlp: Some("clear".into()),
        sources: vec![(source, parsed)],
    };
    todokede_app::watchlists::import(&s.store, req, None).await.unwrap();
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    let b = Browser::start(shots).await;
    let mut problems = Vec::new();
    for (lang, width) in [("ja", 390), ("en", 1280), ("ja", 1280), ("en", 390)] {
        let shot = |what: &str| format!("19-{lang}-{width}-{what}");
        b.delete_cookies().await;
        b.set_window_size(width, 1000).await;

        // The reporter.
        b.goto(&s.url(&format!("/?lang={lang}"))).await;
        b.wait_for(&format!("<html lang=\"{lang}\"")).await;
        look_at(&b, &shot("01-home"), &mut problems).await;
        b.goto(&s.url("/report/new?form=virus")).await;
        b.wait_for("id=\"virus_name\"").await;
        look_at(&b, &shot("02-virus-form"), &mut problems).await;
        b.goto(&s.url("/report/new?form=unauthorized_access")).await;
        b.wait_for("id=\"description\"").await;
        look_at(&b, &shot("03-form"), &mut problems).await;
        b.type_into("#reporter_name", "山田 太郎").await;
        b.type_into("#reporter_email", "yamada@@example").await;
        b.click("button[type=submit]").await;
        b.wait_for("id=\"errors\"").await;
        look_at(&b, &shot("04-form-errors"), &mut problems).await;
        b.clear("#reporter_email").await;
        b.type_into("#reporter_email", "yamada@example.co.jp").await;
        b.type_into("#description", "管理画面に不正ログインされ、顧客情報が閲覧された可能性があります。").await;
        b.click("button[type=submit]").await;
        b.wait_for("class=\"tn\"").await;
        let tn = b.text(".tn").await;
        let link = b.text("a[rel=noreferrer]").await;
        look_at(&b, &shot("05-received"), &mut problems).await;
        b.goto(&s.url(&link[link.find("/r/").expect("secret link")..])).await;
        b.wait_for("/reporter/follow-up").await;
        look_at(&b, &shot("06-status"), &mut problems).await;
        b.delete_cookies().await;
        b.goto(&s.url(&format!("/reporter/login?lang={lang}"))).await;
        look_at(&b, &shot("07-reporter-login"), &mut problems).await;

        // The analyst.
        b.goto(&s.url(&format!("/login?lang={lang}"))).await;
        look_at(&b, &shot("08-login"), &mut problems).await;
        b.type_into("#email", "chief@ipa.example").await;
        b.type_into("#password", &password).await;
        b.click("button[type=submit]").await;
        b.wait_for(&tn).await;
        look_at(&b, &shot("09-queue"), &mut problems).await;
        b.click(&format!("a[href='/reports/{tn}']")).await;
        b.wait_for("id=\"classification\"").await;
        look_at(&b, &shot("10-report"), &mut problems).await;
        // Inserted by app.js at the cursor, without reloading the page.
        b.click("button[data-insert-into]").await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let value = || async { b.execute("return document.getElementById('reply').value;").await };
        while !value().await.as_str().unwrap_or("").contains(&tn) {
            assert!(std::time::Instant::now() < deadline, "the template was not inserted");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let reply = value().await;
        assert!(reply.as_str().unwrap_or("").contains(&tn), "{lang}: the template names the report: {reply}");
        look_at(&b, &shot("11-report-template"), &mut problems).await;
        b.click("form[action$='/reply'] button:not([data-insert-into])").await;
        b.wait_for("id=\"done\"").await;
        look_at(&b, &shot("12-replied"), &mut problems).await;
        // The analyst names the primary cause: the form preselects none the analysis did not decide.
        b.click("#primary_cause option[value=weak_credentials]").await;
        b.click("#classification button[type=submit]").await;
        b.wait_for("badge closed").await;
        look_at(&b, &shot("13-classified"), &mut problems).await;
        for (path, what) in [
            ("/search?q=%E9%A1%A7%E5%AE%A2", "14-search"),
            ("/stats", "15-stats"),
            ("/publication", "16-publication"),
            ("/clusters", "17-clusters"),
            ("/account", "18-account"),
            ("/admin/users", "19-users"),
            ("/admin/settings", "20-settings"),
            ("/admin/templates", "21-templates"),
            ("/admin/audit", "22-audit"),
            ("/admin/mail", "23-mail"),
            ("/watchlists", "24-watchlists"),
            ("/watchlists/APT1", "25-watchlist"),
        ] {
            b.goto(&s.url(path)).await;
            b.wait_for("</footer>").await;
            look_at(&b, &shot(what), &mut problems).await;
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    db.cleanup().await;
}

/// Issue 15 ("forms usable by keyboard alone"): the 不正アクセス form filled with the keyboard
/// only — Tab to move, typing into whatever has the focus, Space to tick a checkbox, Enter to
/// send — in Japanese and in English. A wrong address on purpose: the error summary gets the
/// focus, its link (Enter) takes the focus to the field, which is marked invalid and described
/// by its message; corrected by keyboard and sent, the acknowledgement shows the number.
/// Screenshots: target/screenshots/20-{lang}-keyboard-*.png.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intrusion_form_works_with_the_keyboard_alone_in_both_languages() {
    if !common::browser_available() {
        return;
    }
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    let b = Browser::start(shots).await;
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    for lang in ["ja", "en"] {
        let shot = |what: &str| format!("20-{lang}-keyboard-{what}");
        b.delete_cookies().await;
        b.set_window_size(1280, 1000).await;
        b.goto(&s.url(&format!("/report/new?form=unauthorized_access&lang={lang}"))).await;
        b.wait_for("id=\"description\"").await;
        // From the top of the page, as a keyboard user arrives.
        b.tab_to("#reporter_name", 40).await;
        b.keys("Yamada Taro").await;
        b.tab_to("#reporter_email", 5).await;
        b.keys("yamada@@example").await;
        b.tab_to("#description", 20).await;
        b.keys("Our admin page was logged into from 45.33.32.156 and customer data was viewed.").await;
        b.tab_to("input[name=damages][value=information_leak]", 20).await;
        // A screen reader names the checkbox's group as the page shows it.
        let group = b
            .execute(
                "const g = document.activeElement.closest('[role=group]'); \
                 return g ? document.getElementById(g.getAttribute('aria-labelledby')).textContent : '';",
            )
            .await;
        assert_eq!(group, if lang == "ja" { "被害内容" } else { "Damage" }, "{lang}: the checkboxes' group is named");
        b.keys(Browser::SPACE).await;
        let ticked =
            b.execute("return document.querySelector('input[name=damages][value=information_leak]').checked;").await;
        assert_eq!(ticked, true, "{lang}: Space ticks the checkbox");
        b.tab_to("button[type=submit]", 80).await;
        b.screenshot(&shot("filled")).await;
        b.keys(Browser::ENTER).await;
        b.wait_for("id=\"errors\"").await;
        assert_eq!(b.focused_id().await, "errors", "{lang}: the error summary has the focus");
        b.screenshot(&shot("errors")).await;
        // The summary's link leads the keyboard to the field; the field says what is wrong.
        b.tab_to("#errors a[href='#reporter_email']", 3).await;
        b.keys(Browser::ENTER).await;
        assert_eq!(b.focused_id().await, "reporter_email", "{lang}: the summary's link focuses the field");
        let described = b
            .execute(
                "const e = document.activeElement; const d = document.getElementById(e.getAttribute('aria-describedby') || ''); \
                 return [e.getAttribute('aria-invalid'), d ? d.textContent : ''];",
            )
            .await;
        assert_eq!(described[0], "true", "{lang}: the field is marked invalid");
        let message = described[1].as_str().unwrap_or("");
        let expected = if lang == "ja" {
            "メールアドレスの形式ではありません"
        } else {
            "This is not an e-mail address"
        };
        assert!(message.contains(expected), "{lang}: the field is described by its message: {message:?}");
        // What was typed and ticked is still there; the address corrected by keyboard.
        let kept = b.execute("return [document.getElementById('description').value.length > 0, document.querySelector('input[name=damages][value=information_leak]').checked];").await;
        assert_eq!(kept, serde_json::json!([true, true]), "{lang}: the rest of the form kept");
        b.chord(Browser::CONTROL, 'a').await;
        b.keys("yamada@example.co.jp").await;
        b.tab_to("button[type=submit]", 80).await;
        b.keys(Browser::ENTER).await;
        b.wait_for("class=\"tn\"").await;
        let tn = b.text(".tn").await;
        b.screenshot(&shot("received")).await;
        let id = store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&tn).unwrap()).await.unwrap();
        let r = store.report(id.unwrap()).await.unwrap().unwrap();
        assert_eq!(r.content.reporter.email.as_ref().map(|e| e.as_str()), Some("yamada@example.co.jp"));
        assert_eq!(r.content.reporter.name.as_deref(), Some("Yamada Taro"));
        assert_eq!(r.content.damages, [todokede_domain::DamageCategory::InformationLeak]);
    }
    db.cleanup().await;
}
