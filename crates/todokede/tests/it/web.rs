//! The web UI over real HTTP, as a browser uses it (cookies, forms, redirects), with the
//! security checks each as a test that fails when the protection is removed. Against the
//! in-process service (`TestApp`: the router and workers of `serve`).

use crate::common;

use common::{browser, hidden};
use reqwest::{StatusCode, redirect::Policy};
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

fn between<'a>(html: &'a str, a: &str, b: &str) -> &'a str {
    let s = html.find(a).unwrap_or_else(|| panic!("{a} not in page")) + a.len();
    &html[s..s + html[s..].find(b).unwrap()]
}

async fn file_report(s: &TestApp, b: &reqwest::Client, description: &str) -> (String, String, String) {
    let html = file_report_page(s, b, description).await;
    let tn = between(&html, "<p class=\"tn\">", "</p>").to_owned();
    let link = between(&html, "rel=\"noreferrer\">", "</a>").replace("&#x2f;", "/");
    let secret = link.rsplit('/').next().unwrap().to_owned();
    (tn, secret, link)
}

/// The page the web form answers with, for a report from taro@example.jp who asked for mail.
async fn file_report_page(s: &TestApp, b: &reqwest::Client, description: &str) -> String {
    let page = b.get(s.url("/report/new?form=unauthorized_access")).send().await.unwrap().text().await.unwrap();
    let form = reqwest::multipart::Form::new()
        .text("form", "unauthorized_access")
        .text("submission_id", hidden(&page, "submission_id"))
        .text("reporter_kind", "company")
        .text("reporter_email", "taro@example.jp")
        .text("mail_receipt", "1")
        .text("description", description.to_owned())
        .text("damages", "data_destruction_extortion")
        .part(
            "attachments",
            reqwest::multipart::Part::bytes(b"<html><script>alert(1)</script></html>".to_vec())
                .file_name("evil.html")
                .mime_str("text/html")
                .unwrap(),
        );
    let res = b.post(s.url("/report/new")).header("origin", s.base.clone()).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cannot_make_todokede_mail_bomb_an_address() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let b = browser();
    let mut pages = Vec::new();
    for i in 0..8 {
        pages.push(file_report_page(&s, &b, &format!("他人のアドレスで届出 {i}")).await);
    }
    // Every report is stored; only the first five acknowledgements are queued.
    let mut to_taro = 0;
    for page in &pages {
        let tn = todokede_domain::TrackingNumber::parse(between(page, "<p class=\"tn\">", "</p>")).unwrap();
        let id = s.store.report_id_by_tracking(&tn).await.unwrap().expect("stored");
        to_taro += s.store.report_mail(id).await.unwrap().iter().filter(|m| m.to == "taro@example.jp").count();
    }
    assert_eq!(to_taro, todokede_app::mail_flow::ACKS_PER_ADDRESS as usize);
    assert!(pages[..5].iter().all(|p| !p.contains("id=\"mail-limited\"")));
    assert!(pages[5..].iter().all(|p| p.contains("id=\"mail-limited\"") && p.contains("受付番号")));
    let audit = s.store.audit_log(100).await.unwrap();
    let limited: Vec<_> = audit.iter().filter(|e| e.action == "mail.ack_limited").collect();
    assert_eq!(limited.len(), 3, "each withheld acknowledgement is recorded");
    assert!(limited.iter().all(|e| !e.detail.as_deref().unwrap_or("").contains("taro@")), "no address in the audit");
}

async fn login(s: &TestApp, b: &reqwest::Client, email: &str, password: &str) -> StatusCode {
    b.post(s.url("/login"))
        .header("origin", s.base.clone())
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_filed_in_the_browser_is_handled_by_an_analyst() {
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "admin", "chief@ipa.example");
    let s = TestApp::start_with(&db, |c| c.mail.public_url = "http://127.0.0.1".into()).await;

    // Japanese by default, English on request.
    let b = browser();
    let home = b.get(s.url("/")).send().await.unwrap();
    assert!(home.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert!(home.text().await.unwrap().contains("不正アクセスの届出"));
    assert!(b.get(s.url("/?lang=en")).send().await.unwrap().text().await.unwrap().contains("Report a computer virus"));
    assert!(
        b.get(s.url("/")).send().await.unwrap().text().await.unwrap().contains("Report a computer virus"),
        "the language is remembered"
    );

    // The reporter files a report with a hostile payload.
    let reporter = browser();
    let (tn, secret, _link) = file_report(
        &s,
        &reporter,
        "<script>alert('xss')</script> phpMyAdmin 経由で DB が消去され 0.03 BTC を要求された。攻撃元 45.33.32.156",
    )
    .await;
    assert_eq!(tn.len(), 11);
    // The reporter asked for the number by mail: it is queued, with the secret link.
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let queued = store.due_mail(10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].to, "taro@example.jp");
    let mail = mail_parser::MessageParser::default().parse(&queued[0].raw).unwrap();
    assert!(mail.body_text(0).unwrap().contains(&secret));

    // The secret link becomes a session and a redirect to an address without the secret.
    let res = reporter.get(s.url(&format!("/r/{tn}/{secret}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/reporter");
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let page = reporter.get(s.url("/reporter")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&tn));
    assert!(page.contains("&lt;script&gt;alert("), "escaped");
    assert!(!page.contains("<script>alert"), "never inline");

    // The analyst logs in, sees it in the queue, reads the analysis, replies.
    let a = browser();
    assert_eq!(a.get(s.url("/queue")).send().await.unwrap().headers()["location"], "/login?next=%2Fqueue");
    assert_eq!(login(&s, &a, "chief@ipa.example", &password).await, StatusCode::SEE_OTHER);
    let queue = a.get(s.url("/queue?state=received")).send().await.unwrap().text().await.unwrap();
    assert!(queue.contains(&tn), "in the queue");
    let report_url = s.url(&format!("/reports/{tn}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let page = loop {
        let p = a.get(&report_url).send().await.unwrap().text().await.unwrap();
        if p.contains("データ消去・脅迫") || std::time::Instant::now() > deadline {
            break p;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(page.contains("データ消去・脅迫"), "analysis shown");
    assert!(page.contains("45.33.32.156"));
    assert!(!page.contains("<script>alert"), "escaped on the analyst side too");
    let csrf = hidden(&page, "csrf");
    let sha = between(&page, "/attachments/", "\"").to_owned();
    let dl = a.get(s.url(&format!("/reports/{tn}/attachments/{sha}"))).send().await.unwrap();
    assert_eq!(dl.headers()["content-type"], "application/octet-stream");
    assert!(dl.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    assert_eq!(dl.headers()["x-content-type-options"], "nosniff");
    // A hash that is not this report's attachment is not served through it.
    assert_eq!(
        a.get(s.url(&format!("/reports/{tn}/attachments/{}", "0".repeat(64)))).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    let post = |path: String, fields: Vec<(&'static str, String)>| {
        a.post(s.url(&path)).header("origin", s.base.clone()).form(&fields).send()
    };
    assert_eq!(
        post(format!("/reports/{tn}/state"), vec![("csrf", csrf.clone()), ("to", "triage".into())])
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post(
            format!("/reports/{tn}/reply"),
            vec![("csrf", csrf.clone()), ("body", "ログを送っていただけますか。".into())]
        )
        .await
        .unwrap()
        .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post(format!("/reports/{tn}/note"), vec![("csrf", csrf.clone()), ("body", "内部メモ：踏み台の疑い".into())])
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    // Without the CSRF token, or from another site: refused, nothing changes.
    assert_eq!(
        post(format!("/reports/{tn}/state"), vec![("csrf", "forged".into()), ("to", "closed".into())])
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let cross = a
        .post(s.url(&format!("/reports/{tn}/state")))
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str()), ("to", "closed")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    // The reporter sees the reply, not the internal note, and answers.
    let page = reporter.get(s.url("/reporter")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("ログを送っていただけますか。"));
    assert!(!page.contains("踏み台の疑い"), "internal notes stay internal");
    let rcsrf = hidden(&page, "csrf");
    let fu = reqwest::multipart::Form::new().text("csrf", rcsrf).text("body", "auth.log を添付します").part(
        "attachments",
        reqwest::multipart::Part::bytes(b"Failed password for root".to_vec()).file_name("auth.log"),
    );
    assert_eq!(
        reporter
            .post(s.url("/reporter/follow-up"))
            .header("origin", s.base.clone())
            .multipart(fu)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );

    // The analyst sees the follow-up and closes the report.
    let page = a.get(&report_url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("auth.log を添付します"));
    assert_eq!(
        post(format!("/reports/{tn}/state"), vec![("csrf", csrf.clone()), ("to", "closed".into())])
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    assert!(a.get(&report_url).send().await.unwrap().text().await.unwrap().contains("完了"));
    // Every action is in the audit log, which the admin can read.
    let audit = a.get(s.url("/admin/audit")).send().await.unwrap().text().await.unwrap();
    for action in ["login", "report.transition", "report.reply", "report.note", "attachment.download"] {
        assert!(audit.contains(action), "{action} not audited");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reporters_reach_only_their_own_report() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let (tn_a, secret_a, _) = file_report(&s, &browser(), "届出A").await;
    let (tn_b, _secret_b, _) = file_report(&s, &browser(), "届出B").await;
    let b = browser();
    // A's secret with B's number: nothing.
    assert_eq!(b.get(s.url(&format!("/r/{tn_b}/{secret_a}"))).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(b.get(s.url("/reporter")).send().await.unwrap().headers()["location"], "/reporter/login");
    // A mistyped password on the login form: the number stays filled in, the password does not.
    let res = b
        .post(s.url("/reporter/login"))
        .header("origin", s.base.clone())
        .form(&[("tracking_number", tn_b.as_str()), ("secret", secret_a.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let page = res.text().await.unwrap();
    assert!(page.contains("受付番号またはパスワードが正しくありません"), "told why");
    assert!(page.contains(&format!("value=\"{tn_b}\"")), "the number is kept");
    assert!(!page.contains(&secret_a), "the password is never sent back");
    // With A's session, the page is A's; analyst pages stay closed.
    b.get(s.url(&format!("/r/{tn_a}/{secret_a}"))).send().await.unwrap();
    let page = b.get(s.url("/reporter")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("届出A") && !page.contains("届出B"));
    let to = b.get(s.url(&format!("/reports/{tn_b}"))).send().await.unwrap();
    assert_eq!(to.headers()["location"].to_str().unwrap(), format!("/login?next=%2Freports%2F{tn_b}"));
    assert_eq!(b.get(s.url("/queue")).send().await.unwrap().headers()["location"], "/login?next=%2Fqueue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_does_not_enumerate_accounts_and_locks_out_guessing() {
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "analyst", "a@ipa.example");
    let s = TestApp::start(&db).await;
    let b = browser();
    let page = |st: reqwest::Response| async move { (st.status(), st.text().await.unwrap()) };
    let (s1, unknown) = page(
        b.post(s.url("/login"))
            .header("origin", s.base.clone())
            .form(&[("email", "nobody@ipa.example"), ("password", "x")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (s2, wrong) = page(
        b.post(s.url("/login"))
            .header("origin", s.base.clone())
            .form(&[("email", "a@ipa.example"), ("password", "x")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s1, s2), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(
        between(&unknown, "role=\"alert\">", "<"),
        between(&wrong, "role=\"alert\">", "<"),
        "same answer for unknown account and wrong password"
    );
    for _ in 0..4 {
        login(&s, &b, "a@ipa.example", "wrong").await;
    }
    // Locked now, even with the right password.
    assert_eq!(login(&s, &b, "a@ipa.example", &password).await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cookie_planted_before_login_is_not_elevated() {
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "analyst", "b@ipa.example");
    let s = TestApp::start(&db).await;
    let planted = "todokede_session=attacker-chosen-token";
    let res = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
        .post(s.url("/login"))
        .header("cookie", planted)
        .header("origin", s.base.clone())
        .form(&[("email", "b@ipa.example"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let issued = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(!issued.contains("attacker-chosen-token"));
    let with_planted = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
        .get(s.url("/queue"))
        .header("cookie", planted)
        .send()
        .await
        .unwrap();
    assert_eq!(with_planted.headers()["location"], "/login?next=%2Fqueue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_validation_errors_show_next_to_the_field_and_nothing_is_stored() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let b = browser();
    let form = reqwest::multipart::Form::new()
        .text("form", "virus")
        .text("description", "  ")
        .text("reporter_email", "not-an-address");
    let res = b.post(s.url("/report/new")).header("origin", s.base.clone()).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("class=\"error\""), "message next to the field");
    assert!(html.contains("not-an-address"), "what was typed is kept");
    let cross = b
        .post(s.url("/report/new"))
        .header("origin", "https://evil.example")
        .multipart(reqwest::multipart::Form::new().text("form", "virus").text("description", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert_eq!(todokede_store::Store::open(&db.url).await.unwrap().check_integrity().await.unwrap().reports, 0);
}

/// A file over the per-file limit does not throw away the form: the page comes back in the
/// reporter's language with what was typed, names the file at the attachment field, and stores
/// nothing (it used to be a dead-end page saying "`big.bin`: larger than 25 MiB" in English).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_attachment_brings_the_form_back_with_what_was_typed() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start_with(&db, |c| c.limits.max_attachment_bytes = 1 << 20).await;
    let b = browser();
    for (lang, expected) in [("ja", "1 ファイル 1 MiB を超える"), ("en", "larger than 1 MiB per file")] {
        let form = reqwest::multipart::Form::new()
            .text("form", "unauthorized_access")
            .text("description", "ホームページが改ざんされました")
            .text("reporter_email", "hanako@example.jp")
            .part("attachments", reqwest::multipart::Part::bytes(vec![b'x'; (1 << 20) + 1]).file_name("big.bin"))
            .part("attachments", reqwest::multipart::Part::bytes(b"GET / 200".to_vec()).file_name("access.log"));
        let res = b
            .post(s.url(&format!("/report/new?lang={lang}")))
            .header("origin", s.base.clone())
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{lang}");
        let html = res.text().await.unwrap();
        assert!(html.contains(expected), "{lang}: the limit in the page's language");
        let at_field = between(&html, "id=\"err-attachments\">", "</div>");
        assert!(at_field.contains("big.bin") && at_field.contains("access.log"), "{lang}: {at_field}");
        assert!(html.contains("ホームページが改ざんされました") && html.contains("hanako@example.jp"), "{lang}: kept");
        assert!(!html.contains("`big.bin`"), "{lang}: no developer wording");
    }
    assert_eq!(todokede_store::Store::open(&db.url).await.unwrap().check_integrity().await.unwrap().reports, 0);
}

/// A user walk: a follow-up on the reporter's page with a file over the limit (or with nothing
/// written) threw away what the reporter had typed — a dead-end page, or a silent reload of an
/// empty form. It comes back as the intake form does: the text kept (escaped), the reason in
/// the reporter's language, the files named to choose again, and nothing stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_follow_up_brings_the_reporters_form_back_with_what_was_typed() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start_with(&db, |c| {
        c.limits.max_attachment_bytes = 1 << 20;
        c.limits.max_attachments = 2;
    })
    .await;
    let (tn, secret, _) = file_report(&s, &browser(), "ランサムウェアに感染しました").await;
    let b = browser();
    b.get(s.url(&format!("/r/{tn}/{secret}"))).send().await.unwrap();
    let typed = "追加のログです。<b>攻撃元</b> 203.0.113.7 からのアクセス";
    for (lang, expected) in [("ja", "1 ファイル 1 MiB を超える"), ("en", "larger than 1 MiB per file")] {
        let page = b.get(s.url(&format!("/reporter?lang={lang}"))).send().await.unwrap().text().await.unwrap();
        let form = reqwest::multipart::Form::new()
            .text("csrf", hidden(&page, "csrf"))
            .text("body", typed)
            .part("attachments", reqwest::multipart::Part::bytes(vec![b'x'; (1 << 20) + 1]).file_name("big.bin"))
            .part("attachments", reqwest::multipart::Part::bytes(b"GET / 200".to_vec()).file_name("access.log"));
        let res =
            b.post(s.url("/reporter/follow-up")).header("origin", s.base.clone()).multipart(form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{lang}");
        let html = res.text().await.unwrap();
        assert!(html.contains(expected), "{lang}: the limit in the page's language");
        let textarea = between(&html, "name=\"body\" required>", "</textarea>");
        assert!(
            textarea.contains("追加のログです。&lt;b&gt;攻撃元&lt;&#x2f;b&gt; 203.0.113.7"),
            "{lang}: kept, escaped: {textarea}"
        );
        let errors = between(&html, "id=\"errors\"", "</div>");
        assert!(errors.contains("big.bin") && errors.contains("access.log"), "{lang}: files to choose again: {errors}");
        assert!(!html.contains("<b>攻撃元</b>"), "{lang}: never unescaped");
    }
    // More files than a form takes: the same (it used to end on an error page).
    let page = b.get(s.url("/reporter?lang=ja")).send().await.unwrap().text().await.unwrap();
    let mut form = reqwest::multipart::Form::new().text("csrf", hidden(&page, "csrf")).text("body", typed);
    for i in 0..3 {
        form =
            form.part("attachments", reqwest::multipart::Part::bytes(vec![b'a' + i]).file_name(format!("log{i}.txt")));
    }
    let res =
        b.post(s.url("/reporter/follow-up")).header("origin", s.base.clone()).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let html = res.text().await.unwrap();
    assert!(html.contains("添付ファイルは 2 個までです。log2.txt は受け付けていません"), "said why");
    assert!(between(&html, "name=\"body\" required>", "</textarea>").contains("203.0.113.7"), "kept");
    // Nothing written: said so (it used to reload the empty page); the file is named again.
    let page = b.get(s.url("/reporter?lang=ja")).send().await.unwrap().text().await.unwrap();
    let form = reqwest::multipart::Form::new()
        .text("csrf", hidden(&page, "csrf"))
        .text("body", "  ")
        .part("attachments", reqwest::multipart::Part::bytes(b"GET / 200".to_vec()).file_name("access.log"));
    let res =
        b.post(s.url("/reporter/follow-up")).header("origin", s.base.clone()).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("追加の情報・回答を入力してください") && html.contains("access.log"));
    // The checks before it stay: a stale token is refused and keeps nothing.
    let form = reqwest::multipart::Form::new().text("csrf", "stale").text("body", typed);
    let res =
        b.post(s.url("/reporter/follow-up")).header("origin", s.base.clone()).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let id =
        s.store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&tn).unwrap()).await.unwrap().unwrap();
    let report = s.store.report(id).await.unwrap().unwrap();
    assert!(
        !report.timeline.iter().any(|e| matches!(e, todokede_domain::TimelineEntry::FollowUp { .. })),
        "no follow-up stored"
    );
    // And a follow-up within the limits is stored.
    let page = b.get(s.url("/reporter")).send().await.unwrap().text().await.unwrap();
    let form = reqwest::multipart::Form::new().text("csrf", hidden(&page, "csrf")).text("body", typed);
    let res =
        b.post(s.url("/reporter/follow-up")).header("origin", s.base.clone()).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let report = s.store.report(id).await.unwrap().unwrap();
    assert!(report.timeline.iter().any(|e| matches!(e, todokede_domain::TimelineEntry::FollowUp { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_metadata_decides_when_present() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let b = browser();
    let post = |site: &'static str, origin: &'static str| {
        b.post(s.url("/report/new"))
            .header("sec-fetch-site", site)
            .header("origin", origin)
            .multipart(reqwest::multipart::Form::new().text("form", "virus").text("description", "fetch metadata"))
            .send()
    };
    // Chromium under Referrer-Policy: no-referrer sends Origin: null on our own forms.
    assert_eq!(post("same-origin", "null").await.unwrap().status(), StatusCode::OK);
    assert_eq!(post("cross-site", "null").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(post("same-site", "https://other.example").await.unwrap().status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_is_sent_when_the_public_url_is_https() {
    let db = TestDb::sqlite().await;
    let plain = TestApp::start(&db).await;
    assert!(!browser().get(plain.url("/")).send().await.unwrap().headers().contains_key("strict-transport-security"));
    drop(plain);
    let tls = TestApp::start_with(&db, |c| c.mail.public_url = "https://todokede.example".into()).await;
    let res = browser().get(tls.url("/")).send().await.unwrap();
    assert!(res.headers()["strict-transport-security"].to_str().unwrap().contains("max-age=31536000"));
}

async fn analyst_session(s: &TestApp, email: &str, role: &str) -> (reqwest::Client, String) {
    let role = match role {
        "admin" => todokede_store::Role::Admin,
        _ => todokede_store::Role::Analyst,
    };
    let password = s.user(role, email).await;
    let b = browser();
    assert_eq!(login(s, &b, email, &password).await, StatusCode::SEE_OTHER);
    (b, password)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_second_factor_is_required_once_on_and_codes_are_single_use() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let (b, password) = analyst_session(&s, "t@ipa.example", "analyst").await;
    let page = b.get(s.url("/account")).send().await.unwrap().text().await.unwrap();
    let secret = hidden(&page, "secret");
    let csrf = hidden(&page, "csrf");
    let code = todokede_app::accounts::totp::code_at(&secret, todokede_app::accounts::totp::current_step()).unwrap();
    let wrong = b
        .post(s.url("/account/totp"))
        .header("origin", s.base.clone())
        .form(&[("csrf", csrf.as_str()), ("secret", secret.as_str()), ("code", "000000")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let on = b
        .post(s.url("/account/totp"))
        .header("origin", s.base.clone())
        .form(&[("csrf", csrf.as_str()), ("secret", secret.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    // On: the answer is the page with the recovery codes, shown this once.
    assert_eq!(on.status(), StatusCode::OK);
    assert!(on.text().await.unwrap().contains("id=\"codes\""));
    // Now the password alone is not enough.
    let c = browser();
    assert_eq!(login(&s, &c, "t@ipa.example", &password).await, StatusCode::UNAUTHORIZED);
    let step = todokede_app::accounts::totp::current_step();
    let code = todokede_app::accounts::totp::code_at(&secret, step + 1).unwrap();
    let with = |code: String| {
        c.post(s.url("/login"))
            .header("origin", s.base.clone())
            .form(&[("email", "t@ipa.example".to_owned()), ("password", password.clone()), ("code", code)])
            .send()
    };
    assert_eq!(with(code.clone()).await.unwrap().status(), StatusCode::SEE_OTHER);
    // The same code again: refused (single use).
    assert_eq!(with(code).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Turning it off takes the current password, not only the session (which may be a
    // borrowed or stolen one).
    let off = |password: Option<&str>| {
        let mut form = vec![("csrf", csrf.clone()), ("action", "off".to_owned())];
        if let Some(p) = password {
            form.push(("password", p.to_owned()));
        }
        b.post(s.url("/account/totp")).header("origin", s.base.clone()).form(&form).send()
    };
    assert_eq!(off(None).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(off(Some("not the password")).await.unwrap().status(), StatusCode::FORBIDDEN);
    let d = browser();
    assert_eq!(login(&s, &d, "t@ipa.example", &password).await, StatusCode::UNAUTHORIZED, "still on");
    assert_eq!(off(Some(&password)).await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(login(&s, &d, "t@ipa.example", &password).await, StatusCode::SEE_OTHER, "off now");
    let audit = s.store.audit_log(50).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "totp.off") && audit.iter().any(|e| e.action == "reauth.failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_users_and_disabling_ends_sessions() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let (admin, _) = analyst_session(&s, "boss@ipa.example", "admin").await;
    let (analyst, _) = analyst_session(&s, "worker@ipa.example", "analyst").await;
    assert_eq!(
        analyst.get(s.url("/admin/users")).send().await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "analysts do not manage users"
    );
    let page = admin.get(s.url("/admin/users")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden(&page, "csrf");
    let created = admin
        .post(s.url("/admin/users"))
        .header("origin", s.base.clone())
        .form(&[("csrf", csrf.as_str()), ("email", "new@ipa.example"), ("role", "analyst")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(created.contains("new@ipa.example"));
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let worker = store.user_by_email("worker@ipa.example").await.unwrap().unwrap();
    assert_eq!(analyst.get(s.url("/queue")).send().await.unwrap().status(), StatusCode::OK);
    let res = admin
        .post(s.url(&format!("/admin/users/{}/disable", worker.id.0)))
        .header("origin", s.base.clone())
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        analyst.get(s.url("/queue")).send().await.unwrap().headers()["location"],
        "/login?next=%2Fqueue",
        "the disabled analyst's session ended at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignment_links_cause_filter_and_malware_downloads() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let (a, _) = analyst_session(&s, "h@ipa.example", "analyst").await;
    let (tn1, _, _) = file_report(&s, &browser(), "リスト型攻撃により顧客アカウントに不正ログインされた").await;
    let (tn2, _, _) = file_report(&s, &browser(), "phpMyAdmin 経由で DB が消去された").await;
    // A sample: an executable attached to a follow-up through the API.
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let id1 =
        store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&tn1).unwrap()).await.unwrap().unwrap();
    let sample = b"MZ\x90\x00 this would be a PE sample".to_vec();
    store
        .add_follow_up(
            id1,
            "検体を送ります",
            &[todokede_domain::Attachment::new("invoice.exe", "application/x-msdownload", sample.clone())],
        )
        .await
        .unwrap();

    let page = a.get(s.url(&format!("/reports/{tn1}"))).send().await.unwrap().text().await.unwrap();
    let csrf = hidden(&page, "csrf");
    let me = store.user_by_email("h@ipa.example").await.unwrap().unwrap();
    let post = |path: String, fields: Vec<(&'static str, String)>| {
        a.post(s.url(&path)).header("origin", s.base.clone()).form(&fields).send()
    };
    assert_eq!(
        post(format!("/reports/{tn1}/assign"), vec![("csrf", csrf.clone()), ("to", me.id.0.to_string())])
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post(format!("/reports/{tn1}/link"), vec![("csrf", csrf.clone()), ("other", tn2.clone())])
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    let mine = a.get(s.url("/queue?mine=1")).send().await.unwrap().text().await.unwrap();
    assert!(mine.contains(&tn1) && !mine.contains(&tn2));
    let page2 = a.get(s.url(&format!("/reports/{tn2}"))).send().await.unwrap().text().await.unwrap();
    assert!(page2.contains(&format!("/reports/{tn1}")), "the link shows on both reports");

    // The queue filters by the analysed primary cause (once the worker has analysed both).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let q = a.get(s.url("/queue?cause=credential_reuse")).send().await.unwrap().text().await.unwrap();
        if q.contains(&tn1) {
            assert!(!q.contains(&tn2));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "cause filter never matched");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The sample leaves only as an encrypted zip (password "infected").
    let page = a.get(s.url(&format!("/reports/{tn1}"))).send().await.unwrap().text().await.unwrap();
    let sha = todokede_domain::Attachment::new("x", "y", sample.clone()).sha256_hex();
    assert!(page.contains(&sha));
    let dl = a.get(s.url(&format!("/reports/{tn1}/attachments/{sha}"))).send().await.unwrap();
    assert!(dl.headers()["content-disposition"].to_str().unwrap().contains("invoice.exe.zip"));
    let zipped = dl.bytes().await.unwrap().to_vec();
    assert!(zipped.starts_with(b"PK"));
    assert!(!zipped.windows(12).any(|w| w == b"would be a P"), "not readable without the password");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zipped)).unwrap();
    let mut f = archive.by_index_decrypt(0, b"infected").unwrap();
    let mut inner = Vec::new();
    std::io::Read::read_to_end(&mut f, &mut inner).unwrap();
    assert_eq!(inner, sample);

    // Issue 17, finding 10: carriers that were served raw, recognised by content or by the name
    // as Windows reads it; a plain log stays a plain download.
    let carriers: Vec<(&str, Vec<u8>)> = vec![
        ("evil.vbs.", b"MsgBox 1\r\n".to_vec()),
        ("invoice.doc", [&b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"[..], &[0u8; 64]].concat()),
        ("letter.txt", b"{\\rtf1\\ansi {\\object\\objocx}}".to_vec()),
        ("scan.txt", b"%PDF-1.7\n1 0 obj <</OpenAction 2 0 R>>".to_vec()),
        ("logs.txt", b"PK\x03\x04\x14\x00\x00\x00xl/vbaProject.bin".to_vec()),
        ("a.log", b"\x1f\x8b\x08\x00\x00\x00\x00\x00".to_vec()),
        ("notes", b"\xe4\x52\x5c\x7b\x8c\xd8\xa7\x4d\xae\xb1\x53\x78\xd0\x29\x96\xd3".to_vec()),
        ("help", b"ITSF\x03\x00\x00\x00".to_vec()),
        ("tool", b"\xcf\xfa\xed\xfe\x07\x00\x00\x01".to_vec()),
    ];
    let log = b"Jan  1 00:00:01 host sshd[1]: Failed password for root from 203.0.113.9 port 22\n".to_vec();
    let mut files: Vec<todokede_domain::Attachment> = carriers
        .iter()
        .map(|(n, b)| todokede_domain::Attachment::new(n, "application/octet-stream", b.clone()))
        .collect();
    files.push(todokede_domain::Attachment::new("auth.log", "text/plain", log.clone()));
    store.add_follow_up(id1, "ほかの検体です", &files).await.unwrap();
    for (name, bytes) in carriers.iter().map(|(n, b)| (*n, b.clone())).chain([("auth.log", log)]) {
        let sha = todokede_domain::Attachment::new("x", "y", bytes.clone()).sha256_hex();
        let dl = a.get(s.url(&format!("/reports/{tn1}/attachments/{sha}"))).send().await.unwrap();
        assert_eq!(dl.headers()["content-type"], "application/octet-stream", "{name}");
        let disposition = dl.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment;"), "{name}: {disposition}");
        let body = dl.bytes().await.unwrap().to_vec();
        if name == "auth.log" {
            assert_eq!(body, bytes, "a plain log leaves as it is");
            continue;
        }
        assert!(disposition.contains(".zip"), "{name}: {disposition}");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(body)).unwrap();
        let mut f = archive.by_index_decrypt(0, b"infected").unwrap();
        let mut inner = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut inner).unwrap();
        assert_eq!(inner, bytes, "{name}");
    }
}

/// A user walk: `invoice.pdf.exe`, a name with U+202E RIGHT-TO-LEFT OVERRIDE (shown as
/// `invoiceexe.pdf`) and an executable named `.pdf` were listed like any document. The report
/// page marks each as a disguised name in the analyst's language and shows the override as its
/// code point; each leaves only zipped, as an `application/octet-stream` attachment, under a
/// name without the override. An honest log is not marked.
async fn a_disguised_attachment_name_is_marked_on_the_report_page_and_never_served_inline(db: &TestDb) {
    let s = TestApp::start(db).await;
    let (a, _) = analyst_session(&s, "mal@ipa.example", "analyst").await;
    let (tn, _, _) = file_report(&s, &browser(), "請求書を装ったメールの添付を開いた").await;
    let id =
        s.store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&tn).unwrap()).await.unwrap().unwrap();
    let pe = |tag: &str| [&b"MZ\x90\x00\x03\x00\x00\x00"[..], tag.as_bytes()].concat();
    let disguised: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("invoice.pdf.exe", pe("a"), "「.pdf」の文書に見せかけた「.exe」", "a “.exe” file posing as a “.pdf” document"),
        (
            "請求書.pdf          .scr",
            pe("b"),
            "「.pdf」の文書に見せかけた「.scr」",
            "a “.scr” file posing as a “.pdf” document",
        ),
        ("invoice\u{202e}fdp.exe", pe("c"), "U+202E", "U+202E"),
        ("photo\u{202e}gpj.txt", b"just words\r\n".to_vec(), "U+202E", "U+202E"),
        (
            "scan.pdf",
            pe("d"),
            "名前は「.pdf」ですが、中身は実行ファイル",
            "Named “.pdf”, but the content is an executable",
        ),
    ];
    let log = b"Jan  1 00:00:01 host sshd[1]: Failed password for root from 203.0.113.9 port 22\n".to_vec();
    let mut files: Vec<todokede_domain::Attachment> = disguised
        .iter()
        .map(|(n, b, _, _)| todokede_domain::Attachment::new(n, "application/pdf", b.clone()))
        .collect();
    files.push(todokede_domain::Attachment::new("auth.log", "text/plain", log.clone()));
    s.store.add_follow_up(id, "添付を送ります", &files).await.unwrap();

    for (lang, badge) in [("ja", "偽装の疑いがあるファイル名"), ("en", "Suspicious, disguised file name")]
    {
        let page = a.get(s.url(&format!("/reports/{tn}?lang={lang}"))).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains('\u{202e}'), "{lang}: the override never reaches the page raw");
        for (name, bytes, ja, en) in &disguised {
            let sha = todokede_domain::Attachment::new("x", "y", bytes.clone()).sha256_hex();
            let row = between(&page, &format!("/attachments/{sha}\">"), "</p>");
            assert!(row.contains(badge), "{lang}: {name:?} not marked: {row}");
            assert!(row.contains(if lang == "ja" { ja } else { en }), "{lang}: {name:?} not explained: {row}");
            if name.contains('\u{202e}') {
                assert!(row.contains("[U+202E]"), "{lang}: the override shown as its code point: {row}");
            }
        }
        let sha = todokede_domain::Attachment::new("x", "y", log.clone()).sha256_hex();
        let row = between(&page, &format!("/attachments/{sha}\">"), "</p>");
        assert!(row.starts_with("auth.log") && !row.contains(badge), "{lang}: an honest log is not marked: {row}");
    }
    for (name, bytes, _, _) in &disguised {
        let sha = todokede_domain::Attachment::new("x", "y", bytes.clone()).sha256_hex();
        let dl = a.get(s.url(&format!("/reports/{tn}/attachments/{sha}"))).send().await.unwrap();
        assert_eq!(dl.status(), StatusCode::OK, "{name:?}");
        assert_eq!(dl.headers()["content-type"], "application/octet-stream", "{name:?}");
        let disposition = dl.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment;") && disposition.contains(".zip"), "{name:?}: {disposition}");
        assert!(!disposition.contains("%E2%80%AE"), "{name:?}: no override in the saved name: {disposition}");
        assert!(dl.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"), "{name:?}");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(dl.bytes().await.unwrap().to_vec())).unwrap();
        let mut f = archive.by_index_decrypt(0, b"infected").unwrap();
        assert!(!f.name().contains('\u{202e}'), "{name:?}: {}", f.name());
        let mut inner = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut inner).unwrap();
        assert_eq!(&inner, bytes, "{name:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_sshd_logs_become_findings_with_their_lines_on_the_report_page() {
    let log = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/evidence/OpenSSH_2k_lines1-1000.log"),
    )
    .unwrap();
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let (a, _) = analyst_session(&s, "ev@ipa.example", "analyst").await;
    let form = reqwest::multipart::Form::new()
        .text("report", r#"{"form":"unauthorized_access","description":"SSH への総当たり攻撃を受けています。auth.log を添付します。"}"#)
        .part("attachments", reqwest::multipart::Part::bytes(log).file_name("auth.log"));
    let res = reqwest::Client::new().post(s.url("/api/v1/reports")).multipart(form).send().await.unwrap();
    let tn = res.json::<serde_json::Value>().await.unwrap()["tracking_number"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let page = loop {
        let p = a.get(s.url(&format!("/reports/{tn}"))).send().await.unwrap().text().await.unwrap();
        if p.contains("187.141.143.180 から SSH のログイン失敗 80 回") {
            break p;
        }
        assert!(std::time::Instant::now() < deadline, "evidence findings not shown");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(page.contains("Failed password for root from 187.141.143.180 port 33314"), "the proving line is shown");
    assert!(page.contains("auth.log"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_mail_renders_inert_and_the_web_reply_goes_out_as_threaded_mail() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start_with(&db, |c| {
        c.mail.from = todokede_domain::EmailAddress::parse("todokede@ipa.example").unwrap()
    })
    .await;
    let (a, _) = analyst_session(&s, "x@ipa.example", "analyst").await;
    // Stored XSS through a mail subject and an observable (peer systems' CVE pattern).
    let raw = "From: victim@example.jp\r\nSubject: <script>alert('subject')</script>\r\nMessage-ID: <xss-1@example.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
               攻撃元 URL: http://evil.example.top/\"><img src=x onerror=alert(1)>\r\n";
    let mut child = std::process::Command::new(common::BIN)
        .args(["--db", &db.url, "mailgate"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), raw.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let tn = String::from_utf8_lossy(&out.stdout).split('\t').next().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let page = loop {
        let p = a.get(s.url(&format!("/reports/{tn}"))).send().await.unwrap().text().await.unwrap();
        if p.contains("evil.example.top") || std::time::Instant::now() > deadline {
            break p;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(page.contains("evil.example.top"), "the indicator is shown");
    assert!(!page.contains("<script>alert") && !page.contains("<img src=x"), "nothing from the mail renders as markup");

    // The analyst's reply from the web UI is queued as mail to the reporter, threaded on their mail.
    let csrf = hidden(&page, "csrf");
    let res = a
        .post(s.url(&format!("/reports/{tn}/reply")))
        .header("origin", s.base.clone())
        .form(&[("csrf", csrf.as_str()), ("body", "詳細をお知らせください。")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let queued = store.due_mail(10).await.unwrap();
    let subject = format!("[届出 {tn}] ご連絡");
    let reply = queued.iter().find(|m| {
        mail_parser::MessageParser::default().parse(&m.raw).is_some_and(|p| p.subject() == Some(subject.as_str()))
    });
    let reply = reply.expect("the reply is queued as mail");
    assert_eq!(reply.to, "victim@example.jp");
    let parsed = mail_parser::MessageParser::default().parse(&reply.raw).unwrap();
    let refs: Vec<String> =
        parsed.references().as_text_list().map(|l| l.iter().map(|r| r.to_string()).collect()).unwrap_or_default();
    assert!(refs.contains(&"xss-1@example.jp".to_owned()), "threaded on the reporter's mail: {refs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_report_and_publication_pages_are_for_analysts_only_and_their_forms_need_the_token() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let anon = browser();
    for path in [
        "/search?q=45.33.32.156",
        "/clusters",
        "/stats?period=2019H2",
        "/stats.csv?period=2019H2",
        "/publication?period=2019H2",
        "/publication/2019H2/report.pdf",
        "/publication/2019H2/report.html?draft=1",
    ] {
        let res = anon.get(s.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        let back = path.replace('/', "%2F").replace('?', "%3F").replace('=', "%3D");
        assert_eq!(res.headers()["location"].to_str().unwrap(), format!("/login?next={back}"), "{path}");
    }
    let (analyst, _) = analyst_session(&s, "pub@ipa.example", "analyst").await;
    // A same-origin form post without the session's token changes nothing.
    for path in ["/publication/2019H2/draft", "/publication/2019H2/edit", "/publication/2019H2/approve"] {
        let res = analyst
            .post(s.url(path))
            .header("origin", s.base.clone())
            .form(&[("csrf", "wrong"), ("version", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let page = analyst.get(s.url("/publication?period=2019H2")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("草稿を生成"));
    // Nothing approved: no download of an approved version.
    assert_eq!(
        analyst.get(s.url("/publication/2019H2/report.pdf")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // A hostile search term is shown escaped, and is not FTS syntax.
    let res = analyst.get(s.url("/search?q=%22%3Cscript%3Ealert(1)%3C%2Fscript%3E%20OR%20*")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)</script>") && html.contains("&lt;script&gt;"));
}

/// Issue 16, item 6: the statistics page opens on the half-year of the latest report (the
/// seeds' 2019H2, not today's previous half-year, which has nothing), shows "—" for a period
/// the system has no record of (not 0), says 複数計上 under each multi-valued table, and offers
/// the period's CSV (suppressed as the page; BOM for Excel; audited).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistics_page_opens_on_the_latest_period_notes_multiple_counting_and_offers_the_csv() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let (analyst, _) = analyst_session(&s, "stats@ipa.example", "analyst").await;
    common::handled_seed_reports(&db.url, "stats@ipa.example").await;
    let page = analyst.get(s.url("/stats")).send().await.unwrap().text().await.unwrap();
    let h1 = page.lines().find(|l| l.contains("<h1>")).unwrap_or_default().to_owned();
    assert!(h1.contains("2019年下半期（7月～12月）"), "not the seeds' latest half-year: {h1}");
    assert!(
        page.contains("<th class=\"num\"><span class=\"nw\">2019年</span> <span class=\"nw\">下半期</span></th>"),
        "columns in Japanese"
    );
    // 2018H2: before the first report — "—", and said so.
    assert!(page.contains("<td class=\"num\">—</td>") && page.contains("0 件ではありません"));
    let notes = page.matches(todokede_publish::stats::MULTI_VALUED_NOTE).count();
    assert!(notes >= 3, "原因別, 被害内容別, 手口別 … carry the note ({notes})");
    assert!(page.contains("href=\"/stats.csv?period=2019H2\""), "no CSV download");
    let res = analyst.get(s.url("/stats.csv?period=2019H2")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let csv = String::from_utf8(res.bytes().await.unwrap().to_vec()).unwrap();
    assert!(csv.starts_with('\u{feff}'), "BOM for Excel");
    assert!(csv.contains("category,phishing,フィッシング等による認証情報の詐取,<3,"), "{csv}");
    let log = s.store.audit_log(50).await.unwrap();
    assert!(
        log.iter().any(|e| e.action == "export.csv"
            && e.detail.as_deref().is_some_and(|d| d.starts_with("/stats.csv?period=2019H2")))
    );
}

/// A user walk: the publication page opened on the calendar's last half-year, which had no
/// confirmed report, under an empty form. It opens on the newest half-year with confirmed
/// reports (the seeds' 2019H2); with none anywhere, on the current half-year, and a period
/// without confirmed reports says so in the analyst's language.
async fn the_publication_page_opens_on_the_newest_period_with_confirmed_reports(db: &TestDb) {
    let s = TestApp::start(db).await;
    let (analyst, _) = analyst_session(&s, "pubdefault@ipa.example", "analyst").await;
    let h1 = |page: &str| page.lines().find(|l| l.contains("<h1>")).unwrap_or_default().to_owned();
    // Nothing confirmed: the current half-year, said to have nothing to publish.
    let page = analyst.get(s.url("/publication")).send().await.unwrap().text().await.unwrap();
    let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date();
    let current = todokede_period(now);
    assert!(h1(&page).contains(&current.label_ja()), "not the current half-year: {}", h1(&page));
    let note = between(&page, "id=\"no-data\">", "</div>");
    assert!(note.contains("分類を確定した届出がありません") && note.contains("受付 0 件"), "{note}");

    common::handled_seed_reports(&db.url, "pubdefault@ipa.example").await;
    let page = analyst.get(s.url("/publication")).send().await.unwrap().text().await.unwrap();
    assert!(h1(&page).contains("2019年下半期（7月～12月）"), "not the newest confirmed half-year: {}", h1(&page));
    assert!(!page.contains("id=\"no-data\""), "2019H2 has confirmed reports");
    assert!(page.contains("action=\"/publication/2019H2/draft\""));
    // A period asked for that has none: said so, in English too.
    let page = analyst.get(s.url("/publication?period=2018H1&lang=en")).send().await.unwrap().text().await.unwrap();
    let note = between(&page, "id=\"no-data\">", "</div>");
    assert!(note.contains("2018 H1 (January–June) has no reports with a confirmed classification"), "{note}");
}

fn todokede_period(d: time::Date) -> todokede_domain::Period {
    todokede_domain::Period::Half(d.year(), if (d.month() as u8) <= 6 { 1 } else { 2 })
}

/// A user walk: the HTML draft's link downloaded a file. It is shown in the browser — inline,
/// `text/html; charset=utf-8`, in a sandbox without scripts (it is generated from reporters'
/// text) — while the PDF stays a download.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_draft_of_a_publication_is_shown_in_the_browser_sandboxed() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let (analyst, _) = analyst_session(&s, "pubhtml@ipa.example", "analyst").await;
    common::handled_seed_reports(&db.url, "pubhtml@ipa.example").await;
    let page = analyst.get(s.url("/publication?period=2019H2")).send().await.unwrap().text().await.unwrap();
    let res = analyst
        .post(s.url("/publication/2019H2/draft"))
        .header("origin", s.base.clone())
        .form(&[("csrf", hidden(&page, "csrf").as_str()), ("featured", ""), ("keep", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = analyst.get(s.url("/publication?period=2019H2")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("href=\"/publication/2019H2/report.html?draft=1\""));
    let res = analyst.get(s.url("/publication/2019H2/report.html?draft=1")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("inline"), "{disposition}");
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    assert!(directives.contains(&"sandbox"), "sandboxed: {csp}");
    assert!(directives.contains(&"default-src 'none'") && !csp.contains("script-src"), "no scripts: {csp}");
    assert!(!csp.contains("allow-scripts") && !csp.contains("allow-same-origin"), "{csp}");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let html = res.text().await.unwrap();
    assert!(html.contains("<style>") && html.contains("2019"), "the report itself");
    let pdf = analyst.get(s.url("/publication/2019H2/report.pdf?draft=1")).send().await.unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
}

/// When the analysis decided no primary cause (every cause 要確認, or no analysis yet), the
/// confirmation form preselects no cause: it used to show the list's first option, ID・パスワード
/// 管理の不備, as if suggested, and one click confirmed it. Sending no primary cause is refused in
/// the analyst's language and confirms nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_confirmation_form_never_preselects_a_cause_the_analysis_did_not_decide() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let reporter = browser();
    let (tn, _, _) = file_report(&s, &reporter, "昨日からなんとなく様子がおかしいです。").await;
    let (analyst, _) = analyst_session(&s, "pick@ipa.example", "analyst").await;
    let id =
        s.store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&tn).unwrap()).await.unwrap().unwrap();
    let page = analyst.get(s.url(&format!("/reports/{tn}"))).send().await.unwrap().text().await.unwrap();
    let select = between(&page, "<select id=\"primary_cause\"", "</select>");
    assert!(select.starts_with(" name=\"primary_cause\" required>"), "{select}");
    let decided = match s.store.analysis(id).await.unwrap().filter(|_| !page.contains("分析中です")) {
        Some(json) => todokede_analyse::AnalysisRecord::parse(&json).unwrap().suggested_classification().causes,
        None => vec![],
    };
    let selected: Vec<&str> = select.split("<option ").filter(|o| o.contains(" selected>")).collect();
    match decided.first() {
        None => assert_eq!(
            selected,
            ["value=\"\" selected>（選択してください：分析は主原因を決められませんでした）</option>"]
        ),
        Some(c) => assert!(selected.len() == 1 && selected[0].starts_with(&format!("value=\"{c}\"")), "{select}"),
    }
    let csrf = hidden(&page, "csrf");
    for lang in ["ja", "en"] {
        let res = analyst
            .post(s.url(&format!("/reports/{tn}/classify?lang={lang}")))
            .header("origin", s.base.clone())
            .form(&[("csrf", csrf.as_str()), ("primary_cause", ""), ("causes", "weak_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{lang}");
        let html = res.text().await.unwrap();
        let expected =
            if lang == "ja" { "主たる原因を選んでください" } else { "Choose the primary cause" };
        assert!(html.contains(expected), "{lang}: {html}");
    }
    assert!(s.store.classification(id).await.unwrap().is_none(), "nothing confirmed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_confirms_a_classification_on_the_report_page() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let reporter = browser();
    let (tn, _, _) =
        file_report(&s, &reporter, "phpMyAdmin 経由でデータベースが消去され、ビットコインを要求された。").await;
    let (analyst, _) = analyst_session(&s, "cls@ipa.example", "analyst").await;
    let page = analyst.get(s.url(&format!("/reports/{tn}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("自動分析の提案") || page.contains("suggested"), "not confirmed yet");
    let csrf = hidden(&page, "csrf");
    let form = [
        ("csrf", csrf.as_str()),
        ("primary_cause", "missing_access_control"),
        ("causes", "weak_credentials"),
        ("damages", "data_destruction_extortion"),
        ("attack_types", "intrusion"),
        ("techniques", "T1485, T1078"),
        ("has_damage", "yes"),
    ];
    let res = analyst
        .post(s.url(&format!("/reports/{tn}/classify")))
        .header("origin", s.base.clone())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let id = store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&tn).unwrap()).await.unwrap().unwrap();
    let c = store.classification(id).await.unwrap().expect("confirmed");
    assert_eq!(
        c.causes.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        ["missing_access_control", "weak_credentials"]
    );
    assert_eq!(c.techniques, ["T1485", "T1078"]);
    assert_eq!(c.has_damage, Some(true));
    let page = analyst.get(s.url(&format!("/reports/{tn}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("確定済み"));
    // Unknown keys are refused, nothing changes.
    let bad = [("csrf", csrf.as_str()), ("primary_cause", "aliens")];
    let res = analyst
        .post(s.url(&format!("/reports/{tn}/classify")))
        .header("origin", s.base.clone())
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(store.classification(id).await.unwrap().unwrap(), c);
}

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    a_nul_byte_in_a_search_or_a_broken_submission_id_is_a_400_in_the_users_language,
    a_disguised_attachment_name_is_marked_on_the_report_page_and_never_served_inline,
    the_publication_page_opens_on_the_newest_period_with_confirmed_reports,
);

/// Issue 17, finding 12: a NUL byte reached the database (PostgreSQL refuses it) and the user
/// saw a 503 with the raw database error; now a 400 that says what is wrong, in the page's language.
async fn a_nul_byte_in_a_search_or_a_broken_submission_id_is_a_400_in_the_users_language(db: &TestDb) {
    let s = TestApp::start(db).await;
    let analyst = s.logged_in(todokede_store::Role::Analyst, "nul@ipa.example").await;
    let res = analyst.client.get(s.url("/search?q=%00")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{}", db.backend);
    let page = res.text().await.unwrap();
    assert!(page.contains("検索語に使えない文字"), "{}: {page}", db.backend);
    assert!(!page.contains("invalid byte sequence") && !page.contains("0x00"), "no raw database text: {page}");
    let res = analyst.client.get(s.url("/search?q=%00&lang=en")).send().await.unwrap();
    assert!(res.text().await.unwrap().contains("cannot be searched for"), "{}: in English too", db.backend);

    let b = browser();
    let form = reqwest::multipart::Form::new()
        .text("form", "unauthorized_access")
        .text("submission_id", "abc\0def")
        .text("description", "管理画面に見知らぬアカウントがあった");
    let res = b.post(s.url("/report/new")).header("origin", s.base.clone()).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{}", db.backend);
    assert!(res.text().await.unwrap().contains("フォームを開き直して"), "{}", db.backend);
    let res = analyst.client.get(s.url("/search?q=%E8%A6%8B%E7%9F%A5%E3%82%89%E3%81%AC")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{}: the service still answers", db.backend);
}

/// The session cookie a response sets (`name=value`).
fn set_cookie(res: &reqwest::Response) -> String {
    let v = res.headers()["set-cookie"].to_str().unwrap();
    v.split(';').next().unwrap().to_owned()
}

/// Logging out ends the session in the database, not only the cookie — with a missing or
/// wrong CSRF token too (before, such a logout cleared the cookie and left the session alive
/// for whoever held a copy) — and reporters can log out as well (they had no way to). A copy
/// of the cookie taken before the logout opens nothing afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_session_even_without_a_token_and_reporters_can_log_out() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let password = s.user(todokede_store::Role::Analyst, "out@ipa.example").await;
    let log_in = || {
        raw.post(s.url("/login"))
            .header("origin", s.base.clone())
            .form(&[("email", "out@ipa.example"), ("password", password.as_str())])
            .send()
    };
    let res = log_in().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&res);
    let queue = |cookie: String| raw.get(s.url("/queue")).header("cookie", cookie).send();
    assert_eq!(queue(cookie.clone()).await.unwrap().status(), StatusCode::OK);
    for form in [vec![], vec![("csrf", "not-the-token")]] {
        // Each time with a fresh session: one without a token, one with a wrong one.
        let cookie = if form.is_empty() { cookie.clone() } else { set_cookie(&log_in().await.unwrap()) };
        let out = raw
            .post(s.url("/logout"))
            .header("origin", s.base.clone())
            .header("cookie", cookie.clone())
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), StatusCode::SEE_OTHER, "{form:?}");
        let after = queue(cookie).await.unwrap();
        assert_ne!(after.status(), StatusCode::OK, "{form:?}: the session is gone, not only the cookie");
    }

    // A reporter: the secret link gives a session bound to the report; logging out ends it.
    let filed = s.submit_report("ログアウトの確認").await;
    let res = raw.get(s.url(&format!("/r/{}/{}", filed.tracking_number, filed.secret))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&res);
    let page = raw.get(s.url("/reporter")).header("cookie", cookie.clone()).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains(&filed.tracking_number) && html.contains("action=\"/logout\""), "a logout button");
    let out = raw
        .post(s.url("/logout"))
        .header("origin", s.base.clone())
        .header("cookie", cookie.clone())
        .form(&[("csrf", hidden(&html, "csrf"))])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = raw.get(s.url("/reporter")).header("cookie", cookie).send().await.unwrap();
    let text = if after.status() == StatusCode::OK { after.text().await.unwrap() } else { String::new() };
    assert!(!text.contains(&filed.tracking_number), "the reporter's session ended");
}
