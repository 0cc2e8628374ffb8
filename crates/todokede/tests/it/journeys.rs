//! The reporter's and the analysts' journeys over real HTTP (the in-process `TestApp`), a real
//! SMTP sink and the real binary for the CLI steps (issue 15): what a new user tripped over, each as a test that failed before the fix.
//! The same journeys in a real browser, at two widths and in both languages: e2e_browser.rs.

use crate::common;

use common::{browser, hidden, visible_text};
use reqwest::StatusCode;
use todokede_testkit::app::TestApp;
use todokede_testkit::{SmtpSink, TestDb};

/// Every `value="…"` of the page's text inputs and the text of its textareas (what the
/// reporter would send back).
fn field_values(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in html.split("<input").skip(1) {
        let tag = &part[..part.find('>').unwrap_or(part.len())];
        if tag.contains("type=\"checkbox\"") {
            continue;
        }
        if let Some(i) = tag.find("value=\"") {
            let v = &tag[i + 7..];
            out.push(v[..v.find('"').unwrap()].to_owned());
        }
    }
    for part in html.split("<textarea").skip(1) {
        let body = &part[part.find('>').unwrap() + 1..];
        out.push(body[..body.find("</textarea>").unwrap()].to_owned());
    }
    out
}

async fn post_form(s: &TestApp, b: &reqwest::Client, form: reqwest::multipart::Form) -> (StatusCode, String) {
    let res = b.post(s.url("/report/new")).header("origin", s.base.clone()).multipart(form).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Issue 15 items 1 and 6: a form error shows every problem at once, in the form's language,
/// next to its field and in a summary that takes the focus; empty fields stay empty (never
/// "none"), and the dropped attachment is named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_error_lists_every_problem_in_the_reporters_language_and_keeps_empty_fields_empty() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    for lang in ["ja", "en"] {
        let b = browser();
        let page = b.get(s.url(&format!("/report/new?form=virus&lang={lang}"))).send().await.unwrap();
        let page = page.text().await.unwrap();
        let form = reqwest::multipart::Form::new()
            .text("form", "virus")
            .text("submission_id", hidden(&page, "submission_id"))
            .text("reporter_name", "")
            .text("reporter_email", "taro@@example")
            .text("discovered_on", "2999-01-01")
            .text("detection_count", "たくさん")
            .text("description", "  ")
            .part(
                "attachments",
                reqwest::multipart::Part::bytes(b"Nov 25 09:58:01 web sshd[1]: x".to_vec()).file_name("auth.log"),
            );
        let (status, html) = post_form(&s, &b, form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        for v in field_values(&html) {
            assert!(!v.eq_ignore_ascii_case("none"), "{lang}: an empty field came back as {v:?}");
        }
        assert!(html.contains("value=\"taro@@example\""), "what was typed is kept");
        assert!(html.contains("id=\"errors\"") && html.contains("autofocus"), "the summary takes the focus");
        for field in ["reporter_email", "discovered_on", "detection_count", "description"] {
            assert!(html.contains(&format!("id=\"err-{field}\"")), "{lang}: {field} has its message");
            assert!(html.contains(&format!("href=\"#{field}\"")), "{lang}: {field} is in the summary");
        }
        assert!(!html.contains("reporter.email") && !html.contains("`"), "no developer text");
        assert!(html.contains("auth.log"), "the attachment to choose again is named");
        if lang == "ja" {
            assert!(html.contains("メールアドレスの形式ではありません") && html.contains("未来の日付です"));
            assert!(html.contains("ウイルス名称"), "still the virus form");
        } else {
            assert!(html.contains("This is not an e-mail address") && html.contains("This date is in the future"));
            assert!(!html.contains("メールアドレスの形式"), "English page, English messages");
        }
    }
    assert_eq!(todokede_store::Store::open(&db.url).await.unwrap().check_integrity().await.unwrap().reports, 0);
    db.cleanup().await;
}

/// Issue 15 item 3: the 日本語/English switch keeps the form the reporter is on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_switch_stays_on_the_virus_form() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let b = browser();
    let ja = b.get(s.url("/report/new?form=virus")).send().await.unwrap().text().await.unwrap();
    let href = ja.split("hreflang=\"en\"").next().unwrap();
    let href = &href[href.rfind("href=\"").unwrap() + 6..];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    assert!(href.contains("form=virus"), "{href}");
    let en = b.get(s.url(&format!("/report/new{href}"))).send().await.unwrap().text().await.unwrap();
    assert!(en.contains("Virus report") && en.contains("Virus name"), "the English virus form");
    // And after a form error (a POST without a query), too.
    let form = reqwest::multipart::Form::new().text("form", "virus").text("description", "");
    let (_, html) = post_form(&s, &b, form).await;
    assert!(html.contains("?form=virus&amp;lang=ja") || html.contains("?form=virus&lang=ja"), "after an error");
    db.cleanup().await;
}

/// Issue 15 item 7: the virus form asks the virus form's items and they land in `virus.*`;
/// both forms ask OS, software and the 被害内容/被害原因 narratives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_virus_form_asks_its_own_items_and_stores_them() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let b = browser();
    let page = b.get(s.url("/report/new?form=virus")).send().await.unwrap().text().await.unwrap();
    for item in [
        "ウイルス名称",
        "検出した製品",
        "推定される感染経路",
        "感染した",
        "検知のみ",
        "検出数",
        "症状",
        "OS",
        "被害の詳細",
        "原因の詳細",
    ] {
        assert!(page.contains(item), "virus form asks {item}");
    }
    let intrusion = b.get(s.url("/report/new?form=unauthorized_access")).send().await.unwrap().text().await.unwrap();
    for item in ["設置環境", "公開していたポート", "被害の詳細", "原因の詳細", "ソフトウェア"]
    {
        assert!(intrusion.contains(item), "intrusion form asks {item}");
    }
    assert!(!intrusion.contains("ウイルス名称"));
    let form = reqwest::multipart::Form::new()
        .text("form", "virus")
        .text("submission_id", hidden(&page, "submission_id"))
        .text("damage_status", "attempt_only")
        .text("virus_name", "Emotet")
        .text("detected_by", "ESET Endpoint Security")
        .text("detection_count", "3")
        .text("symptoms", "請求書.doc のマクロ")
        .text("infection_vectors", "email")
        .text("assets", "pc")
        .text("internet_connected", "yes")
        .text("os", "Windows 10 22H2")
        .text("software", "Microsoft Word 2019\nAdobe Reader")
        .text("damage_narrative", "感染前に検知した")
        .text("cause_narrative", "マクロを有効にした")
        .text("description", "請求書を装ったメールの添付ファイルを開いたところ、ウイルス対策ソフトが検知しました。");
    let (status, html) = post_form(&s, &b, form).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let id = store.all_report_ids().await.unwrap()[0];
    let r = store.report(id).await.unwrap().unwrap();
    let v = r.content.virus.expect("virus details stored");
    assert_eq!(v.virus_name.as_deref(), Some("Emotet"));
    assert_eq!(v.detection_count, Some(3));
    assert_eq!(v.symptoms.as_deref(), Some("請求書.doc のマクロ"));
    assert_eq!(v.infection_vectors, vec![todokede_domain::InfectionVector::Email]);
    assert_eq!(r.content.damage_status, todokede_domain::DamageStatus::AttemptOnly);
    assert_eq!(r.content.affected.os.as_deref(), Some("Windows 10 22H2"));
    assert_eq!(r.content.affected.software.len(), 2);
    assert_eq!(r.content.affected.software[0].version.as_deref(), Some("2019"));
    assert_eq!(r.content.affected.internet_connected, Some(todokede_domain::TriState::Yes));
    assert_eq!(r.content.damage_narrative.as_deref(), Some("感染前に検知した"));
    assert_eq!(r.content.cause_narrative.as_deref(), Some("マクロを有効にした"));
    assert!(r.content.discovery_narrative.unwrap().contains("ESET Endpoint Security"));
    assert_eq!(r.content.reporter.name, None, "an empty field is absent, not the text \"None\"");
    db.cleanup().await;
}

/// Issue 15 item 2: the link in the acknowledgement mail (as sent over SMTP) opens a page
/// where the reporter, with the number filled in and the password from the same mail, reaches
/// their report. The older `/reporter/<number>` links land there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_in_the_acknowledgement_mail_leads_to_the_report() {
    let db = TestDb::sqlite().await;
    let mut sink = SmtpSink::start().await;
    let s = TestApp::start_with(&db, |c| {
        c.smtp = Some(todokede_mail::Smtp::from_url(&format!("smtp://{}", sink.addr)).unwrap());
        c.mail.from = todokede_domain::EmailAddress::parse("todokede@ipa.example").unwrap();
        c.mail.public_url = "https://todokede.example/".into();
    })
    .await;
    let b = browser();
    let page = b.get(s.url("/report/new?form=unauthorized_access")).send().await.unwrap().text().await.unwrap();
    let form = reqwest::multipart::Form::new()
        .text("form", "unauthorized_access")
        .text("submission_id", hidden(&page, "submission_id"))
        .text("reporter_email", "taro@example.jp")
        .text("mail_receipt", "1")
        .text("description", "管理画面に不正ログインされました。");
    let (status, _) = post_form(&s, &b, form).await;
    assert_eq!(status, StatusCode::OK);
    let raw = sink.next(20).await.expect("acknowledgement sent");
    let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let body = mail.body_text(0).unwrap().to_string();
    let tn = body.split("受付番号: ").nth(1).unwrap().lines().next().unwrap().trim().to_owned();
    let secret = body.split("届出者用パスワード: ").nth(1).unwrap().lines().next().unwrap().trim().to_owned();
    let link = body.split_whitespace().find(|w| w.starts_with("https://todokede.example/")).expect("a link").to_owned();
    assert!(!link.contains(&secret), "no password in the link");
    let path = link.strip_prefix("https://todokede.example").unwrap();
    let reporter = browser();
    let res = reporter.get(s.url(path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let login = res.text().await.unwrap();
    assert!(login.contains(&format!("value=\"{tn}\"")), "the number is filled in");
    let res = reporter
        .post(s.url("/reporter/login"))
        .header("origin", s.base.clone())
        .form(&[("tracking_number", tn.as_str()), ("secret", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/reporter");
    let mine = reporter.get(s.url("/reporter")).send().await.unwrap().text().await.unwrap();
    assert!(mine.contains("管理画面に不正ログインされました。"));
    // Mails sent before the fix carried /reporter/<number>.
    let old = browser().get(s.url(&format!("/reporter/{tn}"))).send().await.unwrap();
    assert_eq!(old.status(), StatusCode::SEE_OTHER);
    assert_eq!(old.headers()["location"], format!("/reporter/login?tracking_number={tn}").as_str());
    db.cleanup().await;
}

/// The acknowledgement shows the one-time password; its language switch was a link to the empty
/// form, so a reporter who switched to English lost the password. The switch posts the number
/// and the password back and shows the same acknowledgement in the other language; a wrong
/// password gets nothing, and another site cannot post it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acknowledgements_language_switch_keeps_the_number_and_the_password() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let b = browser();
    let page = b.get(s.url("/report/new?form=virus")).send().await.unwrap().text().await.unwrap();
    let form = reqwest::multipart::Form::new()
        .text("form", "virus")
        .text("submission_id", hidden(&page, "submission_id"))
        .text("description", "添付ファイルを開いたらウイルスを検知しました。");
    let (status, ack) = post_form(&s, &b, form).await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    let tn = ack.split("class=\"tn\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let secret = ack.split("<p class=\"mono\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(!ack.contains("href=\"?lang=en\""), "no plain link away from the password");
    assert!(ack.contains("action=\"/report/received?lang=en\""), "the switch posts the number back");
    let switch = |secret: String, origin: String| {
        b.post(s.url("/report/received?lang=en"))
            .header("origin", origin)
            .form(&[("tracking_number", tn.clone()), ("secret", secret)])
            .send()
    };
    let res = switch(secret.clone(), s.base.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let en = res.text().await.unwrap();
    assert!(en.contains("Your report has been received"), "{en}");
    assert!(en.contains(&format!("class=\"tn\">{tn}<")) && en.contains(&format!("<p class=\"mono\">{secret}<")));
    let wrong = switch("not-the-password".into(), s.base.clone()).await.unwrap();
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    assert!(!wrong.text().await.unwrap().contains(&secret));
    let foreign = switch(secret.clone(), "https://evil.example".into()).await.unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    db.cleanup().await;
}

/// Issue 15 item 8: the analyst sees what the reporter answered; a log attached twice is one
/// piece of evidence. Item 12: no 📎 (tofu without an emoji font), ATT&CK never an empty heading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analyst_sees_the_reporters_answers_and_a_log_attached_twice_once() {
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "analyst", "chief@ipa.example");
    let s = TestApp::start(&db).await;
    let b = browser();
    let page = b.get(s.url("/report/new?form=unauthorized_access")).send().await.unwrap().text().await.unwrap();
    let log = "Nov 25 09:58:01 web sshd[123]: Failed password for root from 45.33.32.156 port 51234 ssh2\n".repeat(30);
    let part = |name: &str| reqwest::multipart::Part::bytes(log.clone().into_bytes()).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new()
        .text("form", "unauthorized_access")
        .text("submission_id", hidden(&page, "submission_id"))
        .text("discovered_on", "2026-11-20")
        .text("discovery", "self_monitoring_alert")
        .text("damage_status", "damage")
        .text("damages", "account_takeover")
        .text("assets", "server_web")
        .text("deployment", "cloud_iaas")
        .text("causes", "weak_credentials")
        .text("exposed_ports", "22, 3306")
        .text("description", "SSH へのパスワード総当たりの後、root でログインされました。")
        .part("attachments", part("auth.log"))
        .part("attachments", part("auth-copy.log"));
    let (status, html) = post_form(&s, &b, form).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let tn = html.split("<p class=\"tn\">").nth(1).unwrap().split("</p>").next().unwrap().to_owned();
    let a = browser();
    a.post(s.url("/login"))
        .header("origin", s.base.clone())
        .form(&[("email", "chief@ipa.example"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let page = loop {
        let p = a.get(s.url(&format!("/reports/{tn}"))).send().await.unwrap().text().await.unwrap();
        if p.contains("証跡") || std::time::Instant::now() > deadline {
            break p;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let answers = page.split("id=\"answers\"").nth(1).expect("answers card").split("</div>").next().unwrap();
    for shown in [
        "2026-11-20",
        "監視ツール類のアラート",
        "被害あり",
        "なりすまし（不正ログイン）",
        "サーバ（ウェブシステム）",
        "クラウド環境に設置",
        "ID・パスワード管理の不備",
        "22, 3306",
    ] {
        assert!(answers.contains(shown), "the reporter's answer {shown} is shown: {answers}");
    }
    assert_eq!(page.matches("証跡").count(), 1, "the same log twice is one piece of evidence");
    assert!(page.contains("auth-copy.log"), "its other name is listed");
    assert!(!page.contains('📎'));
    let attck = page.split("ATT&amp;CK</h3>").nth(1).unwrap();
    assert!(!attck.trim_start().starts_with("<h3"), "ATT&CK is never an empty heading");
    db.cleanup().await;
}

/// Issue 15 item 12: pages in Japanese never carry the framework's English ("Unprocessable
/// Entity", "Failed to deserialize") for a malformed analyst form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_analyst_form_gets_a_localized_page() {
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "analyst", "chief@ipa.example");
    let s = TestApp::start(&db).await;
    let a = browser();
    a.post(s.url("/login"))
        .header("origin", s.base.clone())
        .form(&[("email", "chief@ipa.example"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    let res = a
        .post(s.url("/reports/AAAAA-AAAAA/note"))
        .header("origin", s.base.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("body=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("フォームの内容を読み取れませんでした") && html.contains("<title>入力内容を確認してください")
    );
    assert!(!html.contains("Failed to deserialize") && !html.contains("Unprocessable"));
    db.cleanup().await;
}

/// Issue 15 item 4: the README's sequence, as written, on a fresh database — and a mistyped
/// `--db` for a read command is an error that creates nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_sequence_works_as_written() {
    let db = TestDb::sqlite().await;
    let run = |args: &[&str]| common::todokede(&db.url, args);
    common::ok(run(&["user", "add", "--role", "admin", "you@example.org"]));
    common::ok(run(&["user", "add", "--role", "analyst", "colleague@example.org"]));
    // A period with nothing confirmed: said so, and no empty version 1.
    let empty = run(&["publication", "draft", "--period", "2019H2", "--as", "you@example.org"]);
    assert!(!empty.status.success());
    let err = String::from_utf8_lossy(&empty.stderr);
    assert!(err.contains("no confirmed reports") && err.contains("no draft was created"), "{err}");
    // `import fixtures/seeds/*.json` as the shell expands it: expected.json is skipped.
    let seeds = ["2019H1.json", "2019H2.json", "expected.json"].map(|f| common::repo(&format!("fixtures/seeds/{f}")));
    let out = run(&["import", &seeds[0], &seeds[1], &seeds[2]]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let imported = common::ok(out);
    assert_eq!(imported.lines().filter(|l| l.ends_with("\timported")).count(), 30, "{err}");
    assert!(err.contains("expected.json: skipped, not a report"), "{err}");
    assert!(err.contains("30 new reports, 0 already imported"), "{err}");
    let again = run(&["import", &seeds[0], &seeds[1], &seeds[2]]);
    let err = String::from_utf8_lossy(&again.stderr).into_owned();
    assert!(err.contains("0 new reports, 30 already imported"), "not \"imported 30\": {err}");
    // `… | todokede classify - --as … --labels fixtures/seeds/expected.json` confirms them all,
    // each with the analysts' labels of the seed case (DOMAIN.md), not the automatic ones.
    let labels = common::repo("fixtures/seeds/expected.json");
    let mut classify = std::process::Command::new(common::BIN)
        .args(["--db", &db.url, "classify", "-", "--as", "you@example.org", "--labels", &labels])
        .env("TODOKEDE_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut classify.stdin.take().unwrap(), imported.as_bytes()).unwrap();
    let classified = common::ok(classify.wait_with_output().unwrap());
    assert_eq!(classified.lines().filter(|l| l.contains("\tcauses=")).count(), 30);
    assert!(!classified.contains("Some(") && classified.contains("has_damage=yes"), "{classified}");
    assert!(classified.contains("(the labels of 2019H2-02)"), "{classified}");
    let confirmed_02 = classified.lines().find(|l| l.contains("techniques=T1110.001,T1078,T1213,T1485")).unwrap_or("");
    assert!(
        confirmed_02.contains(
            "\tcauses=missing_access_control,weak_credentials\tdamages=data_destruction_extortion,information_leak\t"
        ),
        "2019H2-02 as DOMAIN.md classifies it: {classified}"
    );
    let stats = common::ok(run(&["stats", "--period", "2019H2", "--csv"]));
    assert!(stats.lines().count() > 3 && stats.contains("18"), "real figures: {stats}");
    let draft_args = [
        "publication",
        "draft",
        "--period",
        "2019H2",
        "--as",
        "you@example.org",
        "--feature",
        "2019H2-02=データベースを消去し脅迫する手口による攻撃",
    ];
    // Issue 16 (editor): a draft made before the contact points are set prints 【要設定】, and
    // approval refuses it, naming the settings to set.
    let draft = common::ok(run(&draft_args));
    assert!(draft.contains("version 1") && draft.contains("1 featured"), "{draft}");
    let refused =
        run(&["publication", "approve", "--period", "2019H2", "--version", "1", "--as", "colleague@example.org"]);
    let err = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success(), "approved with placeholder contacts");
    for key in [
        "publication.contact.virus.email",
        "publication.contact.virus.url",
        "publication.contact.unauthorized_access.email",
        "publication.contact.unauthorized_access.url",
    ] {
        assert!(err.contains(key), "{key} not named: {err}");
    }
    assert!(err.contains("連絡先が設定されていない") && err.contains("cannot be approved"), "{err}");
    let draft_md = tempfile::tempdir().unwrap();
    let draft_md = draft_md.path().join("draft.md");
    common::ok(run(&["report", "--period", "2019H2", "--draft", "--format", "md", "-o", draft_md.to_str().unwrap()]));
    assert!(std::fs::read_to_string(&draft_md).unwrap().contains("【要設定】"), "the draft shows what is missing");
    // The README's `settings set publication.contact.…` lines, then the draft as written.
    let readme = std::fs::read_to_string(common::repo("README.md")).unwrap();
    let mut set = 0;
    for line in readme.lines().filter(|l| l.contains("-- settings set publication.contact.")) {
        let words: Vec<&str> =
            line.split("-- ").nth(1).unwrap().split('#').next().unwrap().split_whitespace().collect();
        common::ok(run(&words));
        set += 1;
    }
    assert_eq!(set, 4, "the README sets the four contact settings");
    let draft = common::ok(run(&draft_args));
    assert!(draft.contains("version 2") && draft.contains("1 featured"), "{draft}");
    // Four eyes: the drafter cannot approve; a colleague does.
    let own = run(&["publication", "approve", "--period", "2019H2", "--version", "2", "--as", "you@example.org"]);
    assert!(!own.status.success() && String::from_utf8_lossy(&own.stderr).contains("four-eyes"));
    common::ok(run(&[
        "publication",
        "approve",
        "--period",
        "2019H2",
        "--version",
        "2",
        "--as",
        "colleague@example.org",
    ]));
    // Issue 16: 図 3-1 of the published report follows the confirmed labels of 2019H2-02
    // (データ消去・脅迫, 情報漏えい・窃取), not the automatic classification (which adds
    // サービス停止・障害).
    let md_dir = tempfile::tempdir().unwrap();
    let md = md_dir.path().join("2019H2.md");
    common::ok(run(&["report", "--period", "2019H2", "--format", "md", "-o", md.to_str().unwrap()]));
    let md = std::fs::read_to_string(md).unwrap();
    let chapter3 = md.split("## 3. 事例").nth(1).unwrap().split("## 4.").next().unwrap();
    let figure = chapter3.lines().find(|l| l.starts_with("> 攻撃者")).expect("図 3-1's boxes");
    assert!(figure.ends_with("→ データ消去・脅迫 → 情報漏えい・窃取"), "{figure}");
    assert!(!chapter3.contains("サービス停止"), "{chapter3}");
    // The approved report prints the contact points as set: no placeholder, no program query.
    assert!(!md.contains("【要設定】") && !md.contains(".invalid"), "placeholders in the approved report");
    assert!(md.contains("crack@cert.example.jp") && !md.contains("form=unauthorized_access"), "{md}");

    // A typo in --db: a clear error, and no new database.
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo/todokede.db");
    let url = format!("sqlite://{}", typo.display());
    for args in [
        &["stats", "--period", "2019H2"][..],
        &["search", "脅迫文"][..],
        &["publication", "review", "--period", "2019H2"][..],
    ] {
        let out = common::todokede(&url, args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no database at") && err.contains("nothing was created"), "{args:?}: {err}");
        assert!(!typo.exists() && !typo.parent().unwrap().exists(), "{args:?} created a database");
    }
    db.cleanup().await;
}

/// Issue 15 item 9 (part): an action is confirmed on the page the analyst comes back to, and
/// the audit log names people and reports (an address, a tracking number), not `1`, `1`, `None`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_are_confirmed_and_the_audit_log_names_people_and_reports() {
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "admin", "chief@ipa.example");
    let s = TestApp::start(&db).await;
    let b = browser();
    let page = b.get(s.url("/report/new?form=unauthorized_access")).send().await.unwrap().text().await.unwrap();
    let form = reqwest::multipart::Form::new()
        .text("form", "unauthorized_access")
        .text("submission_id", hidden(&page, "submission_id"))
        .text("description", "管理画面に不正ログインされました。");
    let (_, html) = post_form(&s, &b, form).await;
    let tn = html.split("<p class=\"tn\">").nth(1).unwrap().split("</p>").next().unwrap().to_owned();
    let a = browser();
    a.post(s.url("/login"))
        .header("origin", s.base.clone())
        .form(&[("email", "chief@ipa.example"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    let report = a.get(s.url(&format!("/reports/{tn}"))).send().await.unwrap().text().await.unwrap();
    let csrf = hidden(&report, "csrf");
    let res = a
        .post(s.url(&format!("/reports/{tn}/state")))
        .header("origin", s.base.clone())
        .form(&[("csrf", csrf.as_str()), ("to", "triage")])
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let page = a.get(s.url(&location)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"done\"") && page.contains("状態を変更しました"), "the change is confirmed");
    let audit = a.get(s.url("/admin/audit")).send().await.unwrap().text().await.unwrap();
    let row = audit.lines().find(|l| l.contains("report.transition")).expect("the transition is audited");
    assert!(row.contains("chief@ipa.example") && row.contains(&format!(">{tn}</a>")), "{row}");
    assert!(!audit.to_lowercase().contains(">none<"), "no `None` cells");
    db.cleanup().await;
}

/// Issue 15 item 12: no bare or English-titled 400/403/404 on the UI. A missing report, a
/// missing attachment, a period and a format that do not exist, a path no route knows, a path
/// that does not parse, a wrong method, a forbidden admin page and a form without its
/// version: each is the error page in the analyst's language (Japanese by default, English
/// after choosing it), never a body the browser would replace with its own English page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_a_page_in_the_analysts_language() {
    use todokede_store::Role;
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let a = s.logged_in(Role::Analyst, "chief@ipa.example").await;
    let filed = s.submit_report("ログイン画面に不審なアクセスがありました。").await;
    let tn = filed.tracking_number.as_str();
    let attachment = format!("/reports/{tn}/attachments/{}", "0".repeat(64));
    let gets: Vec<(String, StatusCode)> = vec![
        ("/reports/AAAAA-AAAAA".into(), StatusCode::NOT_FOUND),
        (attachment, StatusCode::NOT_FOUND),
        ("/reports/AAAAA-AAAAA/attachments/00".into(), StatusCode::NOT_FOUND),
        ("/publication/2026X9/report.html".into(), StatusCode::NOT_FOUND),
        ("/publication/2026H2/report.docx".into(), StatusCode::NOT_FOUND),
        ("/no/such/page".into(), StatusCode::NOT_FOUND),
        ("/admin/templates/abc".into(), StatusCode::FORBIDDEN),
        ("/admin/users".into(), StatusCode::FORBIDDEN),
        ("/reports/AAAAA-AAAAA/note".into(), StatusCode::METHOD_NOT_ALLOWED),
    ];
    let english =
        ["Forbidden", "Not Found", "Unprocessable Entity", "Bad Request", "Method Not Allowed", "Invalid URL"];
    let check = |what: &str, html: &str, en: bool| {
        let title = html.split("<title>").nth(1).map(|t| &t[..t.find("</title>").unwrap()]).unwrap_or("");
        assert!(html.contains("<h1>") && html.contains("class=\"card\""), "{what}: no error page: {html}");
        for word in english {
            assert!(!html.contains(word), "{what}: {word} in {html}");
        }
        let japanese = title.chars().any(|ch| ('\u{3040}'..='\u{30ff}').contains(&ch));
        assert_eq!(japanese, !en, "{what}: title {title:?}");
    };
    for en in [false, true] {
        if en {
            a.client.get(s.url("/queue?lang=en")).send().await.unwrap();
        }
        for (path, status) in &gets {
            let res = a.client.get(s.url(path)).send().await.unwrap();
            assert_eq!(res.status(), *status, "{path}");
            assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
            check(path, &res.text().await.unwrap(), en);
        }
        // A path that does not parse as an id, and a form without the version it names.
        for (path, form) in [("/queue/filters/abc/delete", vec![]), ("/publication/2026H2/approve", vec![])] {
            let res = common::post(&s, &a, path, &form).await;
            assert!(res.status().is_client_error(), "{path}: {}", res.status());
            check(path, &res.text().await.unwrap(), en);
        }
    }
    // The API keeps its JSON errors.
    let res = reqwest::get(s.url("/api/v1/no-such")).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    db.cleanup().await;
}

/// A page, fetched again until `ready` holds (the analysis and the search index are built in
/// the background after a submission).
async fn page_when(client: &reqwest::Client, url: &str, ready: impl Fn(&str) -> bool) -> String {
    for _ in 0..100 {
        let page = client.get(url).send().await.unwrap().text().await.unwrap();
        if ready(&page) {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{url} never got ready")
}

/// Issue 15 item 12, 📎 as tofu: the mark was printed only for a follow-up's attachments (the
/// analyst's timeline and the reporter's page). A reporter's follow-up carries a file; both
/// pages name it with a text label in the page's language, and no emoji is left to draw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_ups_attachment_is_named_in_words_on_both_pages() {
    use todokede_store::Role;
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let a = s.logged_in(Role::Analyst, "chief@ipa.example").await;
    let filed = s.submit_report("管理画面に見知らぬログインがありました。").await;
    let tn = filed.tracking_number.as_str();
    let reporter = browser();
    reporter.get(s.url(&format!("/r/{tn}/{}", filed.secret))).send().await.unwrap();
    let page = reporter.get(s.url("/reporter")).send().await.unwrap().text().await.unwrap();
    let fu = reqwest::multipart::Form::new()
        .text("csrf", hidden(&page, "csrf"))
        .text("body", "ログを添付します")
        .part("attachments", reqwest::multipart::Part::bytes(b"login ok".to_vec()).file_name("access-1120.log"));
    let res = reporter.post(s.url("/reporter/follow-up")).header("origin", s.base.clone()).multipart(fu).send().await;
    assert_eq!(res.unwrap().status(), StatusCode::SEE_OTHER);
    let emoji = |p: &str| p.chars().find(|c| ('\u{1F000}'..='\u{1FAFF}').contains(c) || *c == '\u{2709}');
    let analyst_page = |lang: &'static str| {
        let url = s.url(&format!("/reports/{tn}?lang={lang}"));
        let client = a.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    for (lang, analyst_label, reporter_label) in [
        ("ja", "添付: access-1120.log", "添付：access-1120.log"),
        ("en", "Attached: access-1120.log", "Attached: access-1120.log"),
    ] {
        let page = analyst_page(lang).await;
        assert!(page.contains("ログを添付します") && page.contains(analyst_label), "{lang}: analyst's timeline");
        assert_eq!(emoji(&page), None, "{lang}: analyst's page");
        let page = reporter.get(s.url(&format!("/reporter?lang={lang}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(reporter_label), "{lang}: reporter's page: {page}");
        assert_eq!(emoji(&page), None, "{lang}: reporter's page");
    }
    db.cleanup().await;
}

/// Issue 15 item 12, the empty "ATT&CK" heading: a short report with no cause, no log and no
/// technique. The ATT&CK heading is followed by the "—" of an empty section, never directly
/// by the next heading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_without_techniques_shows_no_empty_attck_heading() {
    use todokede_store::Role;
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let a = s.logged_in(Role::Analyst, "chief@ipa.example").await;
    let filed = s.submit_report("お知らせです。").await;
    let url = s.url(&format!("/reports/{}", filed.tracking_number));
    let page = page_when(&a.client, &url, |p| !p.contains("分析中です。")).await;
    let attck = page.split("ATT&amp;CK</h3>").nth(1).expect("the analysis has its ATT&CK part");
    let next = &attck[..attck.find("<h3").unwrap()];
    assert!(!next.contains("class=\"mono\""), "this report has no technique: {next}");
    assert!(next.contains("<p class=\"conf\">—</p>"), "an empty ATT&CK part says so: {next}");
    db.cleanup().await;
}

/// Issue 15 item 12, `1 reports`: the English counts of the search page and of a cluster's
/// page, with exactly one report; Japanese says 件.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_result_is_one_report_in_english() {
    use todokede_store::Role;
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let a = s.logged_in(Role::Analyst, "chief@ipa.example").await;
    let filed = s.submit_report("ZQXJV という名前のサーバに不審なログインがありました。").await;
    let tn = filed.tracking_number.as_str();
    let found = |p: &str| p.contains(&format!(">{tn}</a>"));
    let page = page_when(&a.client, &s.url("/search?q=ZQXJV&lang=en"), found).await;
    assert!(page.contains("1 report ("), "{page}");
    assert!(!page.contains("1 reports"));
    let page = page_when(&a.client, &s.url("/search?q=ZQXJV&lang=ja"), found).await;
    assert!(page.contains("1 件"));
    let cluster = a.client.get(s.url(&format!("/clusters/{tn}?lang=en"))).send().await.unwrap();
    if cluster.status() == StatusCode::OK {
        let page = cluster.text().await.unwrap();
        assert!(!page.contains(" 1 reports"), "{page}");
    }
    s.submit_report("ZQXJV という名前のサーバにもう一度不審なログインがありました。").await;
    let page = page_when(&a.client, &s.url("/search?q=ZQXJV&lang=en"), |p| p.contains("2 reports")).await;
    assert!(!page.contains("1 report"));
    db.cleanup().await;
}

/// Issue 15 item 7, the publication side: reports filed through the web forms — the 不正アクセス
/// form and the virus form with its own items — become featured cases of a half-year draft
/// whose ■被害内容 and ■被害原因 are the reporter's narratives, anonymised (the organisation,
/// the person, the domain and the host replaced), and the virus form's items (the virus, the
/// product that found it, how it came in, what it did) are told too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_form_reports_become_featured_cases_with_their_narratives_anonymised() {
    let db = TestDb::sqlite().await;
    common::user_add(&db.url, "analyst", "chief@ipa.example");
    let s = TestApp::start(&db).await;
    let b = browser();
    let mut numbers = Vec::new();
    for (form, fields) in [
        (
            "unauthorized_access",
            vec![
                ("reporter_kind", "company"),
                ("reporter_name", "山田 太郎"),
                ("reporter_organization", "株式会社ヤマダ商事"),
                ("reporter_email", "yamada@yamada-shoji.co.jp"),
                ("reporter_phone", "03-1234-5678"),
                ("damage_status", "damage"),
                ("damages", "data_destruction_extortion"),
                ("causes", "missing_access_control"),
                (
                    "description",
                    "株式会社ヤマダ商事の EC サイトのデータベースが消去され、身代金を要求する脅迫文が残されていた。",
                ),
                (
                    "damage_narrative",
                    "株式会社ヤマダ商事の shop.yamada-shoji.co.jp のデータベースが消去され、脅迫文の入ったテーブルが作成された。",
                ),
                (
                    "cause_narrative",
                    "山田が設置した phpMyAdmin がインターネットから接続できる状態で、アクセス制限がなかった。",
                ),
                ("response_narrative", "phpMyAdmin を停止し、パスワードを変更した。"),
            ],
        ),
        (
            "virus",
            vec![
                ("reporter_kind", "company"),
                ("reporter_organization", "株式会社ヤマダ商事"),
                ("reporter_email", "yamada@yamada-shoji.co.jp"),
                ("damage_status", "damage"),
                ("virus_name", "Emotet"),
                ("detected_by", "ESET Endpoint Security"),
                ("detection_count", "3"),
                ("symptoms", "取引先に不審なメールが送信された"),
                ("infection_vectors", "email"),
                ("assets", "pc"),
                ("description", "請求書を装ったメールの添付ファイルを開いたところ、PC がウイルスに感染した。"),
                ("damage_narrative", "株式会社ヤマダ商事の経理部の PC が感染し、メールの送受信履歴が窃取された。"),
                ("cause_narrative", "添付ファイルのマクロを有効にした。"),
            ],
        ),
    ] {
        let page = b.get(s.url(&format!("/report/new?form={form}"))).send().await.unwrap().text().await.unwrap();
        let mut f =
            reqwest::multipart::Form::new().text("form", form).text("submission_id", hidden(&page, "submission_id"));
        for (k, v) in fields {
            f = f.text(k, v);
        }
        let (status, html) = post_form(&s, &b, f).await;
        assert_eq!(status, StatusCode::OK, "{form}: {html}");
        let tn = html.split("class=\"tn\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
        common::ok(common::todokede(&db.url, &["classify", &tn, "--as", "chief@ipa.example"]));
        numbers.push(tn);
    }
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let id = store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&numbers[0]).unwrap()).await;
    let received = store.report(id.unwrap().unwrap()).await.unwrap().unwrap().received_at;
    let day = received.to_offset(time::macros::offset!(+9)).date();
    let period = format!("{}H{}", day.year(), if u8::from(day.month()) <= 6 { 1 } else { 2 });
    let draft = common::ok(common::todokede(
        &db.url,
        &[
            "publication",
            "draft",
            "--period",
            &period,
            "--as",
            "chief@ipa.example",
            "--feature",
            &format!("{}=データベースを消去し脅迫する手口による攻撃", numbers[0]),
            "--feature",
            &format!("{}=請求書を装ったメールによるウイルス感染", numbers[1]),
        ],
    ));
    assert!(draft.contains("2 featured"), "{draft}");
    let out = std::env::temp_dir().join(format!("featured-web-{}.html", std::process::id()));
    common::ok(common::todokede(
        &db.url,
        &["report", "--period", &period, "--format", "html", "--draft", "-o", out.to_str().unwrap()],
    ));
    let html = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).ok();
    // A featured case's chapter: from its <h2> to the next.
    let chapter = |title: &str| {
        let h2 = html.split("<h2").find(|c| c[..c.find("</h2>").unwrap_or(0)].contains(title));
        h2.unwrap_or_else(|| panic!("no chapter {title}")).to_owned()
    };
    let section = |ch: &str, heading: &str| {
        let h = format!("<h4>■ {heading}</h4><p>");
        let start = ch.find(&h).unwrap_or_else(|| panic!("no ■{heading} in {ch}")) + h.len();
        ch[start..start + ch[start..].find("</p>").unwrap()].to_owned()
    };
    let intrusion = chapter("データベースを消去し脅迫する手口による攻撃");
    let damage = section(&intrusion, "被害内容");
    assert!(damage.contains("データベースが消去され、脅迫文の入ったテーブルが作成された"), "{damage}");
    let cause = section(&intrusion, "被害原因");
    assert!(cause.contains("phpMyAdmin がインターネットから接続できる状態で"), "{cause}");
    assert!(section(&intrusion, "被害対応").contains("phpMyAdmin を停止し"));
    let virus = chapter("請求書を装ったメールによるウイルス感染");
    let damage = section(&virus, "被害内容");
    assert!(damage.contains("メールの送受信履歴が窃取された"), "{damage}");
    assert!(section(&virus, "被害原因").contains("添付ファイルのマクロを有効にした"));
    assert!(section(&virus, "発見経緯").contains("検出した製品：ESET Endpoint Security"));
    for item in [
        "ウイルス名称：Emotet",
        "検出数：3 件",
        "推定される感染経路：電子メール",
        "症状：取引先に不審なメールが送信された",
    ] {
        assert!(virus.contains(item), "the virus form's item {item} is told: {virus}");
    }
    for who in ["ヤマダ", "山田", "yamada", "03-1234-5678"] {
        assert!(!html.contains(who), "{who} reached the draft");
    }
    db.cleanup().await;
}

/// Issue 15 item 3 (the evidence labels): an English report with an attached log, read by an
/// analyst in English — the analysis' evidence (「…」（規則）as the classifier stores it), its
/// explanations and every other part of the page are English; the only Japanese is the switch
/// to 日本語. Indicator types and severities are words in the page's language, not keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_english_report_page_has_no_japanese_labels() {
    use todokede_store::Role;
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let a = s.logged_in(Role::Analyst, "chief@ipa.example").await;
    let b = browser();
    let page = b.get(s.url("/report/new?form=unauthorized_access&lang=en")).send().await.unwrap().text().await.unwrap();
    let log = "Nov 25 09:58:01 web sshd[123]: Failed password for root from 45.33.32.156 port 51234 ssh2\n".repeat(30)
        + "Nov 25 09:59:01 web sshd[123]: Accepted password for root from 45.33.32.156 port 51299 ssh2\n";
    let form = reqwest::multipart::Form::new()
        .text("form", "unauthorized_access")
        .text("submission_id", hidden(&page, "submission_id"))
        .text("reporter_kind", "company")
        .text("damage_status", "damage")
        .text("damages", "information_leak")
        .text("causes", "weak_credentials")
        .text("assets", "server_database")
        .text("deployment", "cloud_iaas")
        .text("internet_connected", "yes")
        .text("discovery", "self_monitoring_alert")
        .text(
            "description",
            "Our phpMyAdmin admin page was exposed to the internet without access restrictions; \
             someone at 45.33.32.156 guessed the weak password by brute force and downloaded the customer table.",
        )
        .part("attachments", reqwest::multipart::Part::bytes(log.into_bytes()).file_name("auth.log"));
    let (status, html) = post_form(&s, &b, form).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let tn = html.split("class=\"tn\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let url = s.url(&format!("/reports/{tn}?lang=en"));
    let page = page_when(&a.client, &url, |p| p.contains("class=\"proof mono\"")).await;
    assert!(page.contains("class=\"ev\""), "the analysis shows its evidence");
    // The reply templates are named in their own language (a Japanese one is offered too).
    let (before, rest) = page.split_once("<select id=\"template\"").unwrap_or((&page, ""));
    let page = format!("{before}{}", rest.split_once("</select>").map(|(_, r)| r).unwrap_or(rest));
    assert!(page.contains("” (rule)"), "a phrase rule's evidence, in English");
    // The model's concept identifiers are not words for a person.
    for ev in page.split("class=\"ev\">").skip(1).map(|e| &e[..e.find('<').unwrap()]) {
        let ids: Vec<&str> = ev
            .split(['(', ')'])
            .filter(|w| w.contains('_') && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect();
        assert!(ids.is_empty(), "identifiers in the evidence {ev:?}: {ids:?}");
    }
    let text = visible_text(&page).replace("日本語", "");
    let japanese: Vec<&str> = text
        .split(|c: char| c.is_whitespace())
        .filter(|w| w.chars().any(|c| matches!(c as u32, 0x3000..=0x30FF | 0x3400..=0x9FFF | 0xFF00..=0xFFEF)))
        .collect();
    assert!(japanese.is_empty(), "Japanese on the English report page: {japanese:?}");
    assert!(page.contains("<b>IPv4 address</b>") && page.contains("\">high</span>"), "indicator and severity named");
    // And the Japanese page names them in Japanese, not by the analyser's keys.
    let ja = a.client.get(s.url(&format!("/reports/{tn}?lang=ja"))).send().await.unwrap().text().await.unwrap();
    assert!(ja.contains("<b>IPv4 アドレス</b>") && !ja.contains("<b>ipv4</b>"), "the indicator's type in Japanese");
    assert!(ja.contains("\">高</span>") && !ja.contains("\">high</span>"), "the finding's severity in Japanese");
    db.cleanup().await;
}

/// A Japanese report with an attached auth.log, read by an analyst: the log's findings, and
/// the decisions' evidence that names them, speak the page's language — Japanese on the
/// Japanese page (no English finding sentence left), English on the English one. (They were
/// stored as English sentences and shown so on both.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_findings_speak_the_report_pages_language() {
    use todokede_store::Role;
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let a = s.logged_in(Role::Analyst, "chief@ipa.example").await;
    let b = browser();
    let page = b.get(s.url("/report/new?form=unauthorized_access")).send().await.unwrap().text().await.unwrap();
    let log = "Nov 25 09:58:01 web sshd[123]: Failed password for root from 203.0.113.5 port 51234 ssh2\n".repeat(40)
        + "Nov 25 09:59:01 web sshd[123]: Accepted password for root from 203.0.113.5 port 51299 ssh2\n";
    let form = reqwest::multipart::Form::new()
        .text("form", "unauthorized_access")
        .text("submission_id", hidden(&page, "submission_id"))
        .text("reporter_kind", "company")
        .text("damage_status", "damage")
        .text(
            "description",
            "サーバに SSH で不正ログインされた。攻撃元は 203.0.113.5 で、root のパスワードが推測されたとみられる。",
        )
        .part("attachments", reqwest::multipart::Part::bytes(log.into_bytes()).file_name("auth.log"));
    let (status, html) = post_form(&s, &b, form).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let tn = html.split("class=\"tn\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let ja_sentence =
        "203.0.113.5 から SSH のログイン失敗 40 回の後、1 回成功（パスワードが推測または窃取された可能性）";
    let en_sentence = "203.0.113.5: 40 failed logins, then 1 successful — a guessed or stolen password";
    let url = s.url(&format!("/reports/{tn}?lang=ja"));
    let ja = page_when(&a.client, &url, |p| p.contains("class=\"proof mono\"")).await;
    assert!(ja.contains(&format!("\">高</span> {ja_sentence} ")), "the finding, in Japanese: {ja}");
    assert!(ja.contains(&format!("auth.log: {ja_sentence}")), "the decision's evidence names it in Japanese");
    for english in ["failed logins", "successful", "failed SSH logins", "account names"] {
        assert!(!ja.contains(english), "English finding text on the Japanese page: {english}");
    }
    assert!(ja.contains("203.0.113.5 から SSH のログイン失敗 40 回（アカウント名 1 種類）"), "the brute force too");
    let en = a.client.get(s.url(&format!("/reports/{tn}?lang=en"))).send().await.unwrap().text().await.unwrap();
    assert!(en.contains(&format!("\">high</span> {en_sentence} ")), "the finding, in English");
    assert!(en.contains(&format!("auth.log: {en_sentence}")), "the decision's evidence names it in English");
    assert!(!en.contains("ログイン失敗"), "no Japanese finding text on the English page");
    db.cleanup().await;
}

/// The walk's finding: the English queue's surge alerts named the period, the categories, the
/// techniques and the indicators in Japanese (2019年下半期（7月～12月）, 指標: ipv4). Now the
/// card is English on the English page, and Japanese on the Japanese one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queues_surge_alerts_speak_the_pages_language() {
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "analyst", "chief@ipa.example");
    common::handled_seed_reports(&db.url, "chief@ipa.example").await;
    let s = TestApp::start(&db).await;
    let a = s.login("chief@ipa.example", &password).await;
    let card = |page: &str| {
        let start = page.find("class=\"card alerts\"").unwrap_or_else(|| panic!("no surge alerts: {page}"));
        page[start..start + page[start..].find("</div>").unwrap()].to_owned()
    };
    let url = s.url("/queue?lang=en");
    let en = card(&page_when(&a.client, &url, |p| p.contains("class=\"card alerts\"")).await);
    assert!(en.contains("Surge alerts (2019 H2 (July–December))"), "{en}");
    let japanese: Vec<char> = visible_text(&en)
        .chars()
        .filter(|c| matches!(*c as u32, 0x3000..=0x30FF | 0x3400..=0x9FFF | 0xFF00..=0xFFEF))
        .collect();
    assert!(japanese.is_empty(), "Japanese in the English alerts: {en}");
    let ja = card(&common::get(&s, &a, "/queue?lang=ja").await);
    assert!(ja.contains("急増アラート（2019年下半期（7月～12月））") && ja.contains("データ消去・脅迫"), "{ja}");
    db.cleanup().await;
}
