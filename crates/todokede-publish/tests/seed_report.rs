//! The 2019H2 seed as handled reports (fixtures/seeds, with the classification DOMAIN.md gives
//! each case as the analyst-confirmed one) through the publication pipeline: the generated
//! half-year report has the seed's 表2-1 (same rows under the same five headings), its featured
//! case chapters, and the DB-wipe surge; HTML, Markdown and a real PDF (checked with poppler's
//! pdftotext and rendered with pdftoppm; pages kept in target/publication for a look).

use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use time::Date;
use todokede_domain::{ClosedEnum, Period};
use todokede_publish::KnownIdentifiers;
use todokede_publish::document::{CaseInput, DraftChoices, FeatureChoice, generate, period_surges};
use todokede_publish::render::{self, RenderOptions};
use todokede_publish::stats::{self, CaseRecord};

fn load(rel: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn keys<T: ClosedEnum>(v: &Value) -> Vec<T> {
    v.as_array().unwrap().iter().map(|k| T::parse(k.as_str().unwrap()).unwrap()).collect()
}

fn seed_cases() -> Vec<CaseInput> {
    let expected = load("fixtures/seeds/expected.json");
    let mut out = vec![];
    for file in ["fixtures/seeds/2019H1.json", "fixtures/seeds/2019H2.json"] {
        for r in load(file).as_array().unwrap() {
            let id = r["reporter_reference"].as_str().unwrap().to_owned();
            let e = &expected[&id];
            let s = |k: &str| r[k].as_str().map(str::to_owned);
            out.push(CaseInput {
                record: CaseRecord {
                    report: id.clone(),
                    incident: id.clone(),
                    received_on: Date::parse(
                        r["received_on"].as_str().unwrap(),
                        time::macros::format_description!("[year]-[month]-[day]"),
                    )
                    .unwrap(),
                    form: todokede_domain::ReportForm::parse(r["form"].as_str().unwrap()).unwrap(),
                    reporter_kind: r["reporter"]["kind"]
                        .as_str()
                        .map(|k| todokede_domain::ReporterKind::parse(k).unwrap()),
                    has_damage: Some(true),
                    attack_types: vec![todokede_domain::AttackType::Intrusion],
                    causes: keys(&e["causes"]),
                    damages: keys(&e["damages"]),
                    techniques: e["techniques"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap().to_owned())
                        .collect(),
                },
                description: r["description"].as_str().unwrap().to_owned(),
                discovery: s("discovery_narrative"),
                damage: s("damage_narrative"),
                cause: s("cause_narrative"),
                response: s("response_narrative"),
                known: KnownIdentifiers { reporter_label: "届出者".into(), ..Default::default() },
            });
        }
    }
    out
}

fn out_dir() -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/publication");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_2019h2_report_has_the_seeds_structure_and_renders_to_a_real_pdf() {
    let cases = seed_cases();
    let period = Period::parse("2019H2").unwrap();
    let records: Vec<CaseRecord> = cases.iter().map(|c| c.record.clone()).collect();
    let statistics = stats::compute(&records, records.len() as u64, period, 3);
    let featured = [
        FeatureChoice {
            report: "2019H2-02".into(), title: "データベースを消去し脅迫する手口による攻撃".into()
        },
        FeatureChoice {
            report: "2019H2-03".into(),
            title: "アクセス制限されていない SSHサービスに対する執拗な攻撃".into(),
        },
        FeatureChoice {
            report: "2019H2-18".into(),
            title: "ターゲット組織のウェブメールサービスを模造したフィッシング".into(),
        },
    ];
    // The DB-wipe rise is among the period's surges; the analyst picks it for chapter 1-1.
    let surges = period_surges(&records, period);
    let wipe = surges.iter().find(|s| s.key == "damage.data_destruction_extortion").expect("DB-wipe surge");
    assert_eq!((wipe.current, wipe.previous.as_slice()), (5, &[0, 0][..]));
    let choices = DraftChoices {
        featured: featured.to_vec(),
        notable: vec![wipe.key.clone()],
        keep: BTreeSet::new(),
        listed: vec![],
    };
    let doc = generate(period, &cases, &records, &choices, statistics);

    // 表2-1: the seed's five groups, the same rows in each, numbered 1–18 in date order.
    let groups: Vec<(String, Vec<u32>)> =
        doc.groups.iter().map(|g| (g.heading.text.clone(), g.rows.iter().map(|r| r.no).collect())).collect();
    assert_eq!(
        groups,
        [
            ("アクセス制限の不備を悪用された被害".to_owned(), (1..=9).collect::<Vec<_>>()),
            ("リスト型攻撃による顧客アカウントの被害".to_owned(), (10..=13).collect()),
            ("CMSの脆弱性を悪用された被害".to_owned(), vec![14, 15]),
            ("独自プログラムの脆弱性を悪用された被害".to_owned(), vec![16, 17]),
            ("フィッシング攻撃による被害".to_owned(), vec![18]),
        ]
    );
    let rows: Vec<(&str, &str)> =
        doc.groups.iter().flat_map(|g| g.rows.iter().map(|r| (r.report.as_str(), r.received_on.as_str()))).collect();
    assert_eq!(rows[0], ("2019H2-01", "2019/8/14"));
    assert_eq!(rows[17], ("2019H2-18", "2019/10/17"));
    for (i, (report, _)) in rows.iter().enumerate() {
        assert_eq!(*report, format!("2019H2-{:02}", i + 1), "row {}", i + 1);
    }
    // Every group has 着目点.
    assert!(
        doc.groups.iter().all(|g| !g.points.is_empty()),
        "{:?}",
        doc.groups.iter().map(|g| &g.key).collect::<Vec<_>>()
    );

    // Featured chapters 3–5 with the seed's 届出内容 headings.
    let chapters: Vec<(u32, &str, Vec<&str>)> = doc
        .featured
        .iter()
        .map(|f| (f.chapter, f.title.text.as_str(), f.sections.iter().map(|s| s.heading.as_str()).collect()))
        .collect();
    let sections = vec!["発見経緯", "被害内容", "被害原因", "被害対応"];
    assert_eq!(
        chapters,
        [
            (3, featured[0].title.as_str(), sections.clone()),
            (4, featured[1].title.as_str(), sections.clone()),
            (5, featured[2].title.as_str(), sections)
        ]
    );
    assert_eq!(doc.groups[0].rows[1].featured_chapter, Some(3));

    // The notable technique: DB wipe and extortion, 5 this half after 0 and 0 (the seed counts 4:
    // 1, 2, 5, 8; DOMAIN.md also files #6, a ransom note without deletion, under it).
    let chapter = &doc.technique_chapters[0];
    assert_eq!(chapter.key, "damage.data_destruction_extortion");
    assert_eq!(chapter.counts.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [5, 0, 0]);
    assert!(chapter.paragraphs[1].text.contains("項番 1, 2, 5, 6, 8"), "{}", chapter.paragraphs[1].text);

    // Markdown and HTML carry the same structure.
    let opts = RenderOptions { draft: false, issued: "2026年11月".into() };
    let md = render::markdown(&doc, &opts);
    assert!(md.contains("| 1 | 2019/8/14 | 届出者（企業）の社内グループウェア"), "{md}");
    assert!(md.contains("## 3. 事例：データベースを消去し脅迫する手口による攻撃"));
    let html = render::html(&doc, &opts).unwrap();
    assert!(html.contains("<tr class=\"group\"><td colspan=\"3\">リスト型攻撃による顧客アカウントの被害</td></tr>"));
    assert!(html.contains("<svg"), "charts inline");
    assert!(!html.contains("2019H2-01"), "internal references are never rendered");
    std::fs::write(out_dir().join("2019H2.html"), &html).unwrap();

    // PDF: typeset, Japanese text extractable, every group heading and chapter present.
    let tools = ["pdftotext", "pdffonts", "pdftoppm"];
    if !(todokede_testkit::requires::ipaex_fonts() && tools.iter().all(|t| todokede_testkit::requires::tool(t))) {
        return;
    }
    let pdf = render::pdf(&doc, &opts).expect("PDF");
    assert!(pdf.starts_with(b"%PDF-"));
    let path = out_dir().join("2019H2.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for needle in [
        "目次",
        "表2-1主な届出事例の概要一覧",
        "アクセス制限の不備を悪用された被害",
        "リスト型攻撃による顧客アカウントの被害",
        "CMSの脆弱性を悪用された被害",
        "独自プログラムの脆弱性を悪用された被害",
        "フィッシング攻撃による被害",
        "事例：データベースを消去し脅迫する手口による攻撃",
        "届出内容",
        "発見経緯",
        "被害対応",
        "着目点",
        "届出のお願い",
        "「データ消去・脅迫」について",
        "※本事例は3章で紹介する。",
        "経済産業省「コンピュータウイルス対策基準」",
    ] {
        assert!(squeezed.contains(needle), "PDF text lacks {needle}");
    }
    assert!(!squeezed.contains("2019H2-0"), "internal references leaked into the PDF");
    // The table of contents has page numbers: "届出のお願い …… N".
    assert!(
        text.lines()
            .any(|l| l.contains("届出のお願い") && l.trim_end().chars().last().is_some_and(|c| c.is_ascii_digit())),
        "ToC without page numbers"
    );
    let fonts = Command::new("pdffonts").arg(&path).output().unwrap();
    assert!(String::from_utf8_lossy(&fonts.stdout).contains("IPAex"), "font embedded");
    // Render the pages: a real multi-page A4 document.
    let prefix = out_dir().join("2019H2-page");
    let st = Command::new("pdftoppm")
        .args(["-png", "-r", "50", path.to_str().unwrap(), prefix.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    let pages = std::fs::read_dir(out_dir())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("2019H2-page"))
        .count();
    assert!(pages >= 8, "{pages} pages");
}
