//! From handled reports to an approved half-year report, on both backends, through the CLI:
//! import the seed fixtures, confirm each case's classification (DOMAIN.md's), link two
//! reports into one incident, draft with featured cases, edit (the edit passes the anonymiser),
//! approve, render HTML/Markdown/PDF, and the period statistics.

use crate::common;

use common::{ok, todokede};
use serde_json::Value;
use todokede_domain::TrackingNumber;
use todokede_testkit::{TestDb, requires};

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    handled_seed_reports_become_an_approved_report_and_statistics,
    the_26_probe_values_never_reach_the_approved_html_or_pdf,
    the_logs_findings_and_the_configured_contacts_reach_the_report,
);

async fn handled_seed_reports_become_an_approved_report_and_statistics(db: &TestDb) {
    ok(todokede(&db.url, &["user", "add", "--role", "analyst", "analyst@example.org"]));
    // Four eyes: another analyst approves what analyst@ drafted and edited.
    ok(todokede(&db.url, &["user", "add", "--role", "analyst", "reviewer@example.org"]));
    let by_reference = common::handled_seed_reports(&db.url, "analyst@example.org").await;
    common::set_contacts(&db.url);
    let number_of = |r: &str| by_reference[r].clone();
    let numbers: Vec<String> = by_reference.values().cloned().collect();
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let analyst = store.user_by_email("analyst@example.org").await.unwrap().unwrap();
    // Two reports of one incident (#10 and #11 of 2019H2, say the victim and its host): counted once.
    let id = |r: &str| {
        let store = store.clone();
        let n = number_of(r);
        async move { store.report_id_by_tracking(&TrackingNumber::parse(&n).unwrap()).await.unwrap().unwrap() }
    };
    store.link_reports(id("2019H2-10").await, id("2019H2-11").await, analyst.id, None).await.unwrap();

    // Statistics: 18 reports, 17 incidents in 2019H2, 12 in 2019H1; small cells suppressed.
    let stats: Value =
        serde_json::from_str(&ok(todokede(&db.url, &["stats", "--period", "2019H2", "--json"]))).unwrap();
    let summary = stats["tables"].as_array().unwrap().iter().find(|t| t["key"] == "summary").unwrap();
    let row = |k: &str| summary["rows"].as_array().unwrap().iter().find(|r| r["key"] == k).unwrap()["cells"].clone();
    assert_eq!(row("reports"), serde_json::json!([18, 12, 0]), "{}", db.backend);
    assert_eq!(row("incidents"), serde_json::json!([17, 12, 0]));
    let csv = ok(todokede(&db.url, &["stats", "--period", "2019H2", "--csv"]));
    assert!(csv.contains("category,phishing,フィッシング等による認証情報の詐取,<3,"), "{csv}");
    // 2018H2 is before the first record: the terminal table says so ("—"), it does not print zeros.
    let table = ok(todokede(&db.url, &["stats", "--period", "2019H2"]));
    let line = table.lines().find(|l| l.trim_start().starts_with("インシデント件数")).unwrap();
    assert!(line.trim_end().ends_with("—") && line.contains("17") && line.contains("12"), "{table}");

    // Rendering before any approval is refused; the draft is marked.
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("2019H2.pdf");
    let refused = todokede(&db.url, &["report", "--period", "2019H2", "--format", "pdf", "-o", pdf.to_str().unwrap()]);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("no approved version"));

    let out = ok(todokede(
        &db.url,
        &[
            "publication",
            "draft",
            "--period",
            "2019H2",
            "--as",
            "analyst@example.org",
            "--feature",
            &format!("{}=データベースを消去し脅迫する手口による攻撃", number_of("2019H2-02")),
            "--feature",
            &format!("{}=アクセス制限されていない SSHサービスに対する執拗な攻撃", number_of("2019H2-03")),
            "--feature",
            &format!("{}=ターゲット組織のウェブメールサービスを模造したフィッシング", number_of("2019H2-18")),
            "--notable",
            "damage.data_destruction_extortion",
        ],
    ));
    assert!(out.starts_with("2019H2 version 1: 18 cases in 5 groups, 3 featured"), "{out}");

    // An analyst rewrites the first summary and types an address into it by mistake: the
    // anonymiser catches it in the new version.
    let review = ok(todokede(&db.url, &["publication", "review", "--period", "2019H2"]));
    assert!(
        review.lines().any(|l| l.starts_with("groups.0.rows.0.summary\t届出者（企業）の社内グループウェア")),
        "{review}"
    );
    let edits = dir.path().join("edits.json");
    std::fs::write(&edits, r#"{"groups.0.rows.0.summary": "届出者（企業）のグループウェアのデータベースが消去され、脅迫文が置かれていた。管理者 admin@victim.example.jp が発見した。"}"#).unwrap();
    assert!(
        ok(todokede(
            &db.url,
            &["publication", "edit", "--period", "2019H2", "--as", "analyst@example.org", edits.to_str().unwrap()]
        ))
        .starts_with("2019H2 version 2: 1 texts changed")
    );
    let review = ok(todokede(&db.url, &["publication", "review", "--period", "2019H2"]));
    assert!(review.contains("管理者 特定のメールアドレス が発見した。"), "{review}");
    assert!(review.contains("replaced email 「admin@victim.example.jp」 → 「特定のメールアドレス」"));

    ok(todokede(
        &db.url,
        &["publication", "approve", "--period", "2019H2", "--version", "2", "--as", "reviewer@example.org"],
    ));
    // The PDF needs the IPAex fonts and poppler's pdftotext (the switch in testkit).
    let with_pdf = requires::ipaex_fonts() && requires::tool("pdftotext");
    for format in if with_pdf { &["pdf", "html", "md"][..] } else { &["html", "md"] } {
        let path = dir.path().join(format!("2019H2.{format}"));
        ok(todokede(&db.url, &["report", "--period", "2019H2", "--format", format, "-o", path.to_str().unwrap()]));
    }
    let html = std::fs::read_to_string(dir.path().join("2019H2.html")).unwrap();
    assert!(html.contains("管理者 特定のメールアドレス が発見した。") && !html.contains("victim.example"));
    assert!(!html.contains("草稿"), "the approved version is not marked as a draft");
    assert!(html.contains("第 2 版"));
    let md = std::fs::read_to_string(dir.path().join("2019H2.md")).unwrap();
    assert!(md.contains("## 5. 事例：ターゲット組織のウェブメールサービスを模造したフィッシング"));
    let text = if with_pdf {
        let out = std::process::Command::new("pdftotext").args([pdf.to_str().unwrap(), "-"]).output().unwrap();
        String::from_utf8(out.stdout).unwrap().chars().filter(|c| !c.is_whitespace()).collect()
    } else {
        String::new()
    };
    assert!(
        !with_pdf
            || (text.contains("リスト型攻撃による顧客アカウントの被害")
                && text.contains("事例：アクセス制限されていないSSHサービスに対する執拗な攻撃"))
    );
    for n in &numbers {
        assert!(!text.contains(n.as_str()) && !html.contains(n.as_str()), "tracking numbers are never published");
    }
    eprintln!("publication flow passed on {}", db.backend);
}

/// Issue 16's probe: a report whose reporter fields were 山田 太郎 / 株式会社サンプル商事 /
/// taro.yamada@sample-shoji.co.jp / 03-1234-5678 / 東京都千代田区丸の内1-2-3 and whose texts use
/// everyday variants of them and other identifying values. Through the real publication path
/// (import, confirm, draft featuring it, approve, render), none of the 26 values may reach the
/// approved HTML or the PDF's text; the review lists what the anonymiser could not decide.
async fn the_26_probe_values_never_reach_the_approved_html_or_pdf(db: &TestDb) {
    const PROBE: [&str; 26] = [
        "山田 太郎",
        "山田太郎",
        "ヤマダタロウ",
        "Taro Yamada",
        "株式会社サンプル商事",
        "サンプル商事",
        "(株)サンプル商事",
        "㈱サンプル商事",
        "SAMPLE SHOJI",
        "taro.yamada@sample-shoji.co.jp",
        "www.sample-shoji.tokyo",
        "090 1234 5678",
        "09012345678",
        "+81 90 1234 5678",
        "０３－１２３４－５６７８",
        "千代田区丸の内1-2-3 サンプルビル5階",
        "大阪市北区梅田1-1",
        "203.0.113[.]10",
        "１９２．０．２．１０",
        "佐藤花子",
        "Hanako Sato",
        "yamada-t",
        "E12345",
        "1234567",
        "内線 1234",
        "web01",
    ];
    let report = serde_json::json!([{
        "form": "unauthorized_access",
        "received_on": "2019-09-10",
        "reporter": {
            "kind": "company", "name": "山田 太郎", "organization": "株式会社サンプル商事",
            "email": "taro.yamada@sample-shoji.co.jp", "phone": "03-1234-5678", "address": "東京都千代田区丸の内1-2-3"
        },
        "description": "(株)サンプル商事（㈱サンプル商事、英文名 SAMPLE SHOJI）の山田 太郎です。当社のウェブサーバ web01（203.0.113[.]10）が改ざんされ、www.sample-shoji.tokyo に不正なスクリプトが埋め込まれました。",
        "discovery_narrative": "情報システム部の山田太郎（ヤマダタロウ、Taro Yamada）が、社員の佐藤花子（Hanako Sato）からの連絡で発見した。連絡先は taro.yamada@sample-shoji.co.jp、090 1234 5678。",
        "damage_narrative": "サンプル商事の顧客情報が閲覧された。攻撃者はアカウント yamada-t を使い、社員番号 E12345 の従業員情報と口座番号 1234567 の振込情報を参照した。",
        "cause_narrative": "内部の管理サーバ １９２．０．２．１０ の管理画面にアクセス制限がなかった。",
        "response_narrative": "本社（千代田区丸の内1-2-3 サンプルビル5階、代表 ０３－１２３４－５６７８）と大阪支店（大阪市北区梅田1-1、09012345678、+81 90 1234 5678、内線 1234）で対応した。"
    }]);
    let squeeze = |s: &str| -> String {
        use unicode_normalization::UnicodeNormalization as _;
        s.nfkc().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase()
    };
    ok(todokede(&db.url, &["user", "add", "--role", "analyst", "analyst@example.org"]));
    // Four eyes: another analyst approves what analyst@ drafted and edited.
    ok(todokede(&db.url, &["user", "add", "--role", "analyst", "reviewer@example.org"]));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("probe.json");
    std::fs::write(&file, report.to_string()).unwrap();
    let out = ok(todokede(&db.url, &["import", file.to_str().unwrap()]));
    let number = out.lines().next().unwrap().split('\t').next().unwrap().to_owned();
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let analyst = store.user_by_email("analyst@example.org").await.unwrap().unwrap();
    let id = store.report_id_by_tracking(&TrackingNumber::parse(&number).unwrap()).await.unwrap().unwrap();
    let c = todokede_domain::Classification {
        causes: vec![todokede_domain::CauseCategory::MissingAccessControl],
        damages: vec![todokede_domain::DamageCategory::Tampering],
        attack_types: vec![todokede_domain::AttackType::Intrusion],
        techniques: vec!["T1190".into()],
        has_damage: Some(true),
    };
    store.confirm_classification(id, analyst.id, &c, &c, None).await.unwrap();
    common::set_contacts(&db.url);
    ok(todokede(
        &db.url,
        &[
            "publication",
            "draft",
            "--period",
            "2019H2",
            "--as",
            "analyst@example.org",
            "--feature",
            &format!("{number}=ウェブサイトの改ざん"),
        ],
    ));
    // The approver sees what the anonymiser could not decide, next to what it replaced.
    let review = ok(todokede(&db.url, &["publication", "review", "--period", "2019H2"]));
    assert!(review.contains("replaced phone 「０３－１２３４－５６７８」"), "{review}");
    ok(todokede(
        &db.url,
        &["publication", "approve", "--period", "2019H2", "--version", "1", "--as", "reviewer@example.org"],
    ));
    let html_path = dir.path().join("2019H2.html");
    ok(todokede(&db.url, &["report", "--period", "2019H2", "--format", "html", "-o", html_path.to_str().unwrap()]));
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.contains("届出者（企業）"), "the reporter is named as the seeds do");
    let mut published = vec![("HTML", squeeze(&html))];
    let pdf_path = dir.path().join("2019H2.pdf");
    let pdf = todokede(&db.url, &["report", "--period", "2019H2", "--format", "pdf", "-o", pdf_path.to_str().unwrap()]);
    if pdf.status.success() {
        let text = std::process::Command::new("pdftotext").args([pdf_path.to_str().unwrap(), "-"]).output().unwrap();
        published.push(("PDF", squeeze(&String::from_utf8(text.stdout).unwrap())));
    } else {
        // Only a missing font excuses the PDF.
        assert!(String::from_utf8_lossy(&pdf.stderr).contains("IPAex"), "{}", String::from_utf8_lossy(&pdf.stderr));
    }
    for (what, text) in &published {
        let leaked: Vec<&str> = PROBE.iter().copied().filter(|v| text.contains(&squeeze(v))).collect();
        assert!(leaked.is_empty(), "{} of 26 probe values reached the approved {what}: {leaked:?}", leaked.len());
    }
    eprintln!("probe passed on {} ({} outputs)", db.backend, published.len());
}

/// Issue 16, closing list items 1–2: a report that came with its sshd log (the real log of
/// fixtures/evidence), analysed as the service analyses it, confirmed and drafted into a trend
/// chapter: 観測状況と攻撃経路 says what the log showed — counts and kinds, no address or
/// account. The contact points are set on the admin's settings page (analysts may not; a form
/// without the CSRF token is refused) and printed in 届出のお願い, the unset one marked
/// 【要設定】, under the legal-basis box and after 2-1's introduction and 図 3-1.
async fn the_logs_findings_and_the_configured_contacts_reach_the_report(db: &TestDb) {
    use base64::Engine as _;
    ok(todokede(&db.url, &["user", "add", "--role", "analyst", "analyst@example.org"]));
    // Four eyes: a colleague approves what analyst@ drafted.
    ok(todokede(&db.url, &["user", "add", "--role", "analyst", "colleague@example.org"]));
    let log = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/evidence/OpenSSH_2k_lines1-1000.log"),
    )
    .unwrap();
    let report = serde_json::json!([{
        "form": "unauthorized_access",
        "received_on": "2019-10-18",
        "reporter": {"kind": "public_agency"},
        "description": "外部組織からの連絡により、届出者の組織内から外部へ大量の SSH 通信が行われていることが発覚。外部に公開していたウェブサーバが SSH の総当たり攻撃により不正にログインされ、攻撃の踏み台にされていた。",
        "attachments": [{
            "filename": "auth.log",
            "content_type": "text/plain",
            "content_base64": base64::engine::general_purpose::STANDARD.encode(&log),
        }]
    }]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ssh.json");
    std::fs::write(&file, report.to_string()).unwrap();
    let out = ok(todokede(&db.url, &["import", file.to_str().unwrap()]));
    let number = out.lines().next().unwrap().split('\t').next().unwrap().to_owned();
    ok(todokede(&db.url, &["reanalyse"]));
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let analyst = store.user_by_email("analyst@example.org").await.unwrap().unwrap();
    let id = store.report_id_by_tracking(&TrackingNumber::parse(&number).unwrap()).await.unwrap().unwrap();
    let analysis = store.analysis(id).await.unwrap().expect("analysed");
    let record = todokede_analyse::AnalysisRecord::parse(&analysis).unwrap();
    let findings: Vec<_> = record.evidence.iter().flat_map(|e| &e.findings).collect();
    assert!(findings.iter().any(|f| f.kind == "ssh_brute_force"), "{findings:?}");
    let c = todokede_domain::Classification {
        causes: vec![
            todokede_domain::CauseCategory::MissingAccessControl,
            todokede_domain::CauseCategory::WeakCredentials,
        ],
        damages: vec![todokede_domain::DamageCategory::SteppingStone, todokede_domain::DamageCategory::AccountTakeover],
        attack_types: vec![todokede_domain::AttackType::Intrusion],
        techniques: vec!["T1110".into(), "T1021.004".into()],
        has_damage: Some(true),
    };
    store.confirm_classification(id, analyst.id, &c, &c, None).await.unwrap();

    // Settings: admins only, with the CSRF token; a wrong value is refused in the user's language.
    let app = todokede_testkit::app::TestApp::start(db).await;
    let admin = app.logged_in(todokede_store::Role::Admin, "admin@example.org").await;
    let other = app.logged_in(todokede_store::Role::Analyst, "worker@example.org").await;
    assert_eq!(other.client.get(app.url("/admin/settings")).send().await.unwrap().status(), 403);
    let page = admin.client.get(app.url("/admin/settings")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("publication.contact.virus.email"), "{page}");
    let post = |form: Vec<(&'static str, String)>| {
        admin.client.post(app.url("/admin/settings")).header("origin", app.base.clone()).form(&form).send()
    };
    let without_token = post(vec![("publication.contact.virus.email", "evil@example.org".into())]).await.unwrap();
    assert!(without_token.status().is_client_error(), "{}", without_token.status());
    let wrong =
        post(vec![("csrf", admin.csrf.clone()), ("publication.contact.virus.url", "javascript:alert(1)".into())])
            .await
            .unwrap();
    assert_eq!(wrong.status(), 422);
    assert!(wrong.text().await.unwrap().contains("形式が正しくありません"));
    let saved = post(vec![
        ("csrf", admin.csrf.clone()),
        ("publication.contact.virus.email", "virus@cert.example.jp".into()),
        ("publication.contact.virus.url", "https://cert.example.jp/virus".into()),
    ])
    .await
    .unwrap();
    // Post/redirect/get: the page then says the settings were saved.
    assert_eq!(saved.status(), 303);
    assert_eq!(saved.headers()["location"], "/admin/settings?done=1");
    app.stop().await;
    let listed = ok(todokede(&db.url, &["settings", "list"]));
    assert!(listed.contains("publication.contact.virus.email\tvirus@cert.example.jp"), "{listed}");
    assert!(listed.contains("publication.contact.unauthorized_access.email\t(not set)"), "{listed}");
    let audit = store.audit_log(100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "settings.set" && a.target.as_deref() == Some("publication.contact.virus.url"))
    );

    ok(todokede(
        &db.url,
        &[
            "publication",
            "draft",
            "--period",
            "2019H2",
            "--as",
            "analyst@example.org",
            "--feature",
            &format!("{number}=アクセス制限されていない SSHサービスに対する執拗な攻撃"),
            "--notable",
            "damage.stepping_stone",
        ],
    ));
    // Issue 16 (editor): half the contact points set, the draft marks the other 【要設定】 and
    // approval refuses, naming what is still to set.
    let html_path = dir.path().join("2019H2.html");
    ok(todokede(
        &db.url,
        &["report", "--period", "2019H2", "--draft", "--format", "html", "-o", html_path.to_str().unwrap()],
    ));
    let draft_html = std::fs::read_to_string(&html_path).unwrap();
    assert_eq!(draft_html.matches("【要設定】").count(), 1, "only the unset contact is marked");
    assert!(draft_html.contains("crack@todokede.invalid"));
    let refused = todokede(
        &db.url,
        &["publication", "approve", "--period", "2019H2", "--version", "1", "--as", "colleague@example.org"],
    );
    let err = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success(), "approved with a placeholder contact");
    assert!(err.contains("publication.contact.unauthorized_access.email"), "{err}");
    assert!(!err.contains("publication.contact.virus.email"), "the set one is not asked for: {err}");
    ok(todokede(
        &db.url,
        &["settings", "set", "publication.contact.unauthorized_access.email", "crack@cert.example.jp"],
    ));
    ok(todokede(
        &db.url,
        &[
            "settings",
            "set",
            "publication.contact.unauthorized_access.url",
            "https://cert.example.jp/report/new?form=unauthorized_access",
        ],
    ));
    // Set now, but version 1 was drafted before: drafted again, then approved.
    let stale = todokede(
        &db.url,
        &["publication", "approve", "--period", "2019H2", "--version", "1", "--as", "colleague@example.org"],
    );
    assert!(!stale.status.success() && String::from_utf8_lossy(&stale.stderr).contains("draft again"));
    ok(todokede(
        &db.url,
        &[
            "publication",
            "draft",
            "--period",
            "2019H2",
            "--as",
            "analyst@example.org",
            "--feature",
            &format!("{number}=アクセス制限されていない SSHサービスに対する執拗な攻撃"),
            "--notable",
            "damage.stepping_stone",
        ],
    ));
    ok(todokede(
        &db.url,
        &["publication", "approve", "--period", "2019H2", "--version", "2", "--as", "colleague@example.org"],
    ));
    ok(todokede(&db.url, &["report", "--period", "2019H2", "--format", "html", "-o", html_path.to_str().unwrap()]));
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.contains("届出に添付されたログ（1 件の届出）"), "{html}");
    assert!(html.contains("項番 1：SSH への総当たりのログイン試行"), "{html}");
    assert!(html.contains("2019 年 10 月：アクセス制限されていない SSH サービスへの攻撃（1 件）"));
    // No address of the log anywhere; no account of it in what the chapter says of the logs
    // (the 着目点 name generic accounts such as admin themselves).
    let observed = html.split("観測状況と攻撃経路").nth(1).unwrap().split("<h4>").next().unwrap();
    for f in &findings {
        for v in &f.sources {
            assert!(!html.contains(v.as_str()), "{v} published");
        }
        for v in f.accounts.iter().filter(|a| a.chars().count() >= 2) {
            assert!(
                !observed.contains(&format!("{v}、"))
                    && !observed.contains(&format!("{v}（"))
                    && !observed.contains(&format!(" {v} ")),
                "{v} published"
            );
        }
    }
    assert!(!html.contains("173.234.31.186") && !html.contains("LabSZ"));
    // Contacts as configured, no placeholder; the printed URL without the program's query (the
    // link keeps it); the legal basis box.
    let text = html.replace("&#x2f;", "/").replace("&#x3d;", "=").replace("&amp;", "&");
    assert!(text.contains("virus@cert.example.jp") && text.contains("https://cert.example.jp/virus"), "{html}");
    assert!(!html.contains("【要設定】") && !html.contains(".invalid"), "{html}");
    assert!(text.contains(">https://cert.example.jp/report/new</a>"), "{text}");
    for needle in [
        "【コンピュータ不正アクセス被害の届出制度】",
        "通商産業省告示 第 362 号",
        "経済産業省告示 第 2 号",
        "図 3-1 事例の概要図",
        "事例の概要を図 3-1 に示す。",
        "2019年下半期で届出のあった被害について全体を通して見ると",
    ] {
        assert!(html.contains(needle), "HTML lacks {needle}");
    }
    eprintln!("evidence and contacts passed on {}", db.backend);
}
