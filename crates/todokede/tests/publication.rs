//! From handled reports to an approved half-year report, on both backends, through the CLI:
//! import the seed fixtures, confirm each case's classification (DOMAIN.md's), link two
//! reports into one incident, draft with featured cases, edit (the edit passes the anonymiser),
//! approve, render HTML/Markdown/PDF, and the period statistics.

mod common;

use common::{ok, todokede};
use serde_json::Value;
use todokede_domain::TrackingNumber;
use todokede_testkit::{TestDb, requires};

#[tokio::test]
async fn handled_seed_reports_become_an_approved_report_and_statistics() {
    for db in TestDb::all().await {
        ok(todokede(&db.url, &["user", "add", "--role", "analyst", "analyst@example.org"]));
        let by_reference = common::handled_seed_reports(&db.url, "analyst@example.org").await;
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
        store.link_reports(id("2019H2-10").await, id("2019H2-11").await, analyst.id).await.unwrap();

        // Statistics: 18 reports, 17 incidents in 2019H2, 12 in 2019H1; small cells suppressed.
        let stats: Value =
            serde_json::from_str(&ok(todokede(&db.url, &["stats", "--period", "2019H2", "--json"]))).unwrap();
        let summary = stats["tables"].as_array().unwrap().iter().find(|t| t["key"] == "summary").unwrap();
        let row =
            |k: &str| summary["rows"].as_array().unwrap().iter().find(|r| r["key"] == k).unwrap()["cells"].clone();
        assert_eq!(row("reports"), serde_json::json!([18, 12, 0]), "{}", db.backend);
        assert_eq!(row("incidents"), serde_json::json!([17, 12, 0]));
        let csv = ok(todokede(&db.url, &["stats", "--period", "2019H2", "--csv"]));
        assert!(csv.contains("category,phishing,フィッシング等による認証情報の詐取,<3,"), "{csv}");

        // Rendering before any approval is refused; the draft is marked.
        let dir = tempfile::tempdir().unwrap();
        let pdf = dir.path().join("2019H2.pdf");
        let refused =
            todokede(&db.url, &["report", "--period", "2019H2", "--format", "pdf", "-o", pdf.to_str().unwrap()]);
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
            &["publication", "approve", "--period", "2019H2", "--version", "2", "--as", "analyst@example.org"],
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
        db.cleanup().await;
    }
}
