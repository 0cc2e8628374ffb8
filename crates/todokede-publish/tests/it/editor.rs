//! The 2019H2 report read as IPA's editor reads it, against the seed (../shared/seeds): what
//! the editor would otherwise rewrite by hand each half-year. The trend chapter named as the
//! seed names it (「データベースを消去し脅迫する手口」, not the statistics label
//! 「データ消去・脅迫」) and chosen as a 手口 by its damage, not an ATT&CK technique; 表2-1's row
//! numbers in the table's order; full-width brackets in Japanese text; English in a Japanese
//! summary flagged for the editor; the appendix's periods in Japanese and its rows in the
//! domain's order; in the PDF, the quarter-em space between Latin and Japanese on both sides of
//! a word (katakana words included) and the four footnote markers drawn alike.

use regex::Regex;
use std::collections::BTreeSet;
use std::process::Command;
use todokede_domain::{ClosedEnum, DamageCategory};
use todokede_publish::document::FeatureChoice;
use todokede_publish::render::{self, RenderOptions};

/// The 2019H2 draft with the DB-wipe case featured, as the README's `publication draft`.
fn draft(notable: &[&str]) -> todokede_publish::Document {
    let featured = vec![FeatureChoice {
        report: "2019H2-02".into(),
        title: "データベースを消去し脅迫する手口による攻撃".into(),
    }];
    crate::common::draft("2019H2", notable, featured)
}

#[test]
fn the_trend_chapter_is_named_and_introduced_as_the_seed_does() {
    let doc = draft(&["damage.data_destruction_extortion"]);
    let ch = &doc.technique_chapters[0];
    assert_eq!(ch.title.text, "「データベースを消去し脅迫する手口」について");
    assert!(
        ch.paragraphs[0].text.contains(
            "「何者かによりデータベースが消去され、身代金を要求する脅迫文が残されていた」という被害が 5 件、届出窓口へ報告された"
        ),
        "{}",
        ch.paragraphs[0].text
    );
    // Its featured case (3 章) on the same line, as the seed's — not a second point of its own.
    assert_eq!(doc.notable.len(), 1, "{:?}", doc.notable);
    assert_eq!(doc.notable[0].text, "データベースを消去し脅迫する手口：1-1 章および 3 章で紹介する。");
    assert!(doc.introduction[2].text.contains("次の 1 点である"), "{}", doc.introduction[2].text);
    let heading = doc.featured[0].points[0].heading.as_ref().unwrap();
    assert_eq!(heading.text, "データベースを消去し脅迫する手口", "3-2's first 着目点 names the chapter as 1-1 does");
    // 1-1-1 as the seed's: the attack's steps, no ATT&CK ids or counts per technique.
    let method = &ch.subsections[0];
    assert_eq!(method.paragraphs[0].text, "この攻撃は次のような手口で行われる。");
    assert!(method.bullets[0].text.starts_with("攻撃者が何らかの方法で企業等のデータベース等へ不正アクセスする"));
    assert!(method.more[0].paragraphs[0].text.contains("ランサムウェアによる脅迫と同等の攻撃手口である"));
    // The statistics label stays where statistics are, never in the chapter's running text.
    for (path, t) in doc.texts() {
        if path.starts_with("technique_chapters") || path.starts_with("notable") || path.contains(".points.") {
            assert!(!t.text.contains("データ消去・脅迫"), "{path}: {}", t.text);
        }
    }
}

#[test]
fn the_automatic_trend_is_a_technique_told_by_its_damage_not_an_attack_id() {
    // Without the analyst's choice: the period's rises of damages first (the seeds' 1-1), not
    // 「正規アカウントの悪用（T1078）」, which nearly every intrusion has.
    let doc = draft(&[]);
    let ch = &doc.technique_chapters[0];
    assert!(ch.key.starts_with("damage."), "{}", ch.key);
    assert!(!Regex::new(r"T\d{4}").unwrap().is_match(&ch.title.text), "{}", ch.title.text);
    assert!(
        !doc.notable[0].text.contains("ATT&CK") && !doc.notable[0].text.contains("T1078"),
        "{}",
        doc.notable[0].text
    );
}

#[test]
fn no_attack_ids_in_the_leaflets_text() {
    // ATT&CK ids are the analyst's (statistics, STIX); the leaflet names techniques in Japanese.
    let id = Regex::new(r"ATT&CK|\bT1\d{3}\b").unwrap();
    for notable in [&["damage.data_destruction_extortion"][..], &["technique.T1078"][..], &[][..]] {
        let doc = draft(notable);
        for (path, t) in doc.texts() {
            assert!(!id.is_match(&t.text), "{notable:?} {path}: {}", t.text);
        }
    }
}

#[test]
fn the_trend_chapter_lists_table_rows_in_the_tables_order() {
    let number = Regex::new(r"項番 ([\d, ]+) が該当する").unwrap();
    for key in ["technique.T1078", "damage.stepping_stone", "damage.data_destruction_extortion"] {
        let doc = draft(&[key]);
        let p = &doc.technique_chapters[0].paragraphs[1].text;
        let rows: Vec<u32> =
            number.captures(p).unwrap_or_else(|| panic!("{p}"))[1].split(", ").map(|n| n.parse().unwrap()).collect();
        let mut sorted = rows.clone();
        sorted.sort_unstable();
        assert_eq!(rows, sorted, "{key}: {p}");
        assert!(rows.len() >= 3, "{key}: {p}");
    }
}

#[test]
fn japanese_text_has_full_width_brackets_everywhere_including_the_category_labels() {
    // An ASCII bracket touching Japanese text.
    let re = Regex::new(r"[\p{Han}\p{Hiragana}\p{Katakana}ー][()]|[()][\p{Han}\p{Hiragana}\p{Katakana}ー]").unwrap();
    for notable in [&["damage.data_destruction_extortion"][..], &["cause.missing_access_control"][..], &[][..]] {
        let doc = draft(notable);
        for (path, t) in doc.texts() {
            assert!(!re.is_match(&t.text), "{path}: {}", t.text);
        }
        for table in &doc.statistics.tables {
            for r in &table.rows {
                assert!(!r.label.contains(['(', ')']), "{}: {}", table.title, r.label);
            }
        }
        let md = render::markdown(&doc, &RenderOptions { draft: false, issued: String::new() });
        assert!(!md.contains("設定不備(アクセス制限の不備)") && !md.contains("ランサムウェア(暗号化)"));
    }
}

#[test]
fn english_in_a_japanese_summary_is_readable_and_flagged_for_the_editor() {
    let doc = draft(&["damage.data_destruction_extortion"]);
    let row = doc.groups.iter().flat_map(|g| &g.rows).find(|r| r.report == "2019H2-08").unwrap();
    assert!(row.summary.text.contains("エラー（500 server error）"), "as the seed prints it: {}", row.summary.text);
    assert!(!row.summary.text.contains("servererror"));
    assert!(
        row.summary.risks.iter().any(|r| r.kind == "english" && r.text == "server error"),
        "the editor is asked: {:?}",
        row.summary.risks
    );
    assert!(doc.risks().iter().any(|(p, r)| p.ends_with(".summary") && r.kind == "english"));
    // Words that lost their spaces are English too; product names are not.
    let a = todokede_publish::anonymise(
        "ウェブサイトがエラー（500servererror）となり、phpMyAdmin と MySQL と webshell を確認した。",
        &Default::default(),
        &BTreeSet::new(),
    );
    let english: Vec<&str> = a.risks.iter().filter(|r| r.kind == "english").map(|r| r.text.as_str()).collect();
    assert_eq!(english, ["servererror"], "{:?}", a.risks);
}

#[test]
fn the_appendix_writes_periods_in_japanese_and_rows_in_the_domains_order() {
    let doc = draft(&["damage.data_destruction_extortion"]);
    let md = render::markdown(&doc, &RenderOptions { draft: false, issued: String::new() });
    assert!(md.contains("| | 2019年下半期 | 2019年上半期 | 2018年下半期 |"), "{md}");
    assert!(!md.contains("| 2019H2 |") && !md.contains("2019H1 |"));
    assert!(md.contains("## 付録 届出状況（2019年下半期）"), "no bracket in a bracket");
    let damages = doc.statistics.tables.iter().find(|t| t.key == "damage").unwrap();
    let order: Vec<usize> = damages
        .rows
        .iter()
        .map(|r| DamageCategory::ALL.iter().position(|d| d.key() == r.key).unwrap_or_else(|| panic!("{}", r.key)))
        .collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(
        order,
        sorted,
        "被害内容別 in the form's order: {:?}",
        damages.rows.iter().map(|r| &r.label).collect::<Vec<_>>()
    );
    let html = render::html(&doc, &RenderOptions { draft: false, issued: String::new() }).unwrap();
    assert!(html.contains("<th>2019年下半期</th>") && !html.contains("<th>2019H2</th>"));
}

#[test]
fn the_pdf_spaces_latin_and_japanese_alike_and_draws_the_four_footnote_markers_alike() {
    let tools = ["pdftotext", "pdftohtml"];
    if !(todokede_testkit::requires::ipaex_fonts() && tools.iter().all(|t| todokede_testkit::requires::tool(t))) {
        return;
    }
    let doc = draft(&["damage.data_destruction_extortion"]);
    let pdf = render::pdf(&doc, &RenderOptions { draft: false, issued: "2026年12月".into() }).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/publication");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("editor-2019H2.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = String::from_utf8(Command::new("pdftotext").arg(&path).arg("-").output().unwrap().stdout).unwrap();
    // 「に 0.03 ビットコイン」: the quarter-em space typst puts between Latin and Japanese is on
    // both sides (poppler reads it as a space). A katakana word kept whole by a box lost it.
    let glued = Regex::new(r"[A-Za-z0-9][\p{Katakana}]").unwrap();
    let found: Vec<&str> = glued.find_iter(&text).map(|m| m.as_str()).collect();
    assert!(found.is_empty(), "Latin glued to a katakana word: {found:?}");
    for spaced in ["0.03 ビットコイン", "root ユーザ", "EC サイト", "MySQL サーバ"] {
        assert!(text.contains(spaced), "{spaced}");
    }
    // The footnote markers 1–4 at the foot of 1. はじめに: each its own text run in one font
    // size (IPAex's own superscripts exist for 1–3 only: 「³,4」).
    let xml =
        Command::new("pdftohtml").args(["-xml", "-i", "-stdout", "-f", "3", "-l", "3"]).arg(&path).output().unwrap();
    let xml = String::from_utf8_lossy(&xml.stdout);
    let marker = Regex::new(r#"<text [^>]*font="(\d+)"><a [^>]*>([1-4])</a></text>"#).unwrap();
    let mut fonts: Vec<(String, String)> =
        marker.captures_iter(&xml).map(|c| (c[2].to_owned(), c[1].to_owned())).collect();
    fonts.sort();
    fonts.dedup();
    let numbers: BTreeSet<&str> = fonts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(numbers.len(), 4, "every marker drawn as a superscript of its own: {fonts:?}\n{xml}");
    let sizes: BTreeSet<&str> = fonts.iter().map(|(_, f)| f.as_str()).collect();
    assert_eq!(sizes.len(), 1, "the four markers alike: {fonts:?}");
}
