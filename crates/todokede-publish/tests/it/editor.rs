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
            "「何者かによりデータベースが消去され、身代金を要求する脅迫文が残されていた」という被害が 4 件、届出窓口へ報告された"
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

/// Issue 16, the editor's reading of session 13 (item 4): 1-1 counted 5 DB wipes (項番 1, 2, 5, 6,
/// 8) where the seed counts 4 (1, 2, 5, 8): 項番 6 is a ransom note on a file server with nothing
/// deleted (DOMAIN.md files it under データ消去・脅迫, "note only"). The chapter counts what it
/// describes — the data destroyed — and names 項番 6 apart, so its number agrees with the
/// tables that count the same thing: the data destroyed (ATT&CK T1485, the analysts' table) and,
/// with the one named apart, 被害内容別's データ消去・脅迫.
#[test]
fn the_trend_chapter_counts_what_it_describes_and_agrees_with_the_tables() {
    let doc = draft(&["damage.data_destruction_extortion"]);
    let ch = &doc.technique_chapters[0];
    assert_eq!(ch.counts.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [Some(4), Some(0), None]);
    assert!(ch.paragraphs[0].text.contains("という被害が 4 件"), "{}", ch.paragraphs[0].text);
    let rows = &ch.paragraphs[1].text;
    assert!(rows.starts_with("表 2-1 の項番 1, 2, 5, 8 が該当する。"), "{rows}");
    assert!(rows.contains("データの消去は確認されなかった届出が 1 件（項番 6）"), "{rows}");
    let routes = format!("{:?}", ch.subsections[1]);
    assert!(routes.contains("IPA へ届出のあった 4 件"), "{routes}");
    assert!(!routes.contains("ファイル共有サービス"), "項番 6's route is not the theme's: {routes}");
    let cell = |table: &str, row: &str| -> Option<u64> {
        let t = doc.statistics.tables.iter().find(|t| t.key == table).unwrap();
        t.rows.iter().find(|r| r.key == row).and_then(|r| r.cells[0].count())
    };
    assert_eq!(cell("technique", "T1485"), Some(4), "the data destroyed");
    let aside = 1;
    assert_eq!(cell("damage", DamageCategory::DataDestructionExtortion.key()), Some(4 + aside));
}

/// Issue 16, the editor's reading (item 2): the HTML's appendix had an 「ATT&CK テクニック別」
/// table in English ("T1110.001 Brute Force: Password Guessing") with bare ids, and a 「分類別」
/// table, neither in the PDF. Both print the same tables now, none of them ATT&CK's.
#[test]
fn the_html_and_the_pdf_print_the_same_appendix_tables_and_no_attack_table() {
    let doc = draft(&["damage.data_destruction_extortion"]);
    assert!(doc.statistics.tables.iter().any(|t| t.key == "technique"), "the analysts keep it");
    let opts = RenderOptions { draft: false, issued: "2026年12月".into() };
    let html = render::html(&doc, &opts).unwrap();
    let md = render::markdown(&doc, &opts);
    let id = Regex::new(r"ATT&(amp;)?CK|\bT1\d{3}\b|Brute Force|Valid Accounts").unwrap();
    assert!(!id.is_match(&html), "{:?}", id.find(&html));
    assert!(!id.is_match(&md), "{:?}", id.find(&md));
    let appendix = html.split("付録 届出状況").last().unwrap();
    let captions: Vec<String> = appendix
        .split("<div class=\"caption\">")
        .skip(1)
        .map(|c| c.split("</div>").next().unwrap().to_owned())
        .collect();
    let published: Vec<String> = doc
        .statistics
        .tables
        .iter()
        .filter(|t| render::PUBLISHED_TABLES.contains(&t.key.as_str()))
        .map(|t| t.title.clone())
        .collect();
    assert_eq!(captions, published);
    assert!(!captions.iter().any(|c| c.starts_with("分類別")), "図 付-1 draws it: {captions:?}");
    for t in &published {
        assert!(md.contains(&format!("**{t}**")), "Markdown lacks {t}");
    }
    if !(todokede_testkit::requires::ipaex_fonts() && todokede_testkit::requires::tool("pdftotext")) {
        return;
    }
    let pdf = render::pdf(&doc, &opts).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tables.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext").args([path.to_str().unwrap(), "-"]).output().unwrap();
    let text: String = String::from_utf8(out.stdout).unwrap().chars().filter(|c| !c.is_whitespace()).collect();
    let appendix = text.split("付録").last().unwrap();
    let mut at = 0;
    for t in &published {
        let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
        let found = appendix[at..].find(&t).unwrap_or_else(|| panic!("the PDF lacks {t}"));
        at += found + t.len();
    }
    assert!(!id.is_match(appendix), "{:?}", id.find(appendix));
    for other in doc.statistics.tables.iter().filter(|t| !render::PUBLISHED_TABLES.contains(&t.key.as_str())) {
        let title: String = other.title.chars().filter(|c| !c.is_whitespace()).collect();
        // 図 付-1's caption names 分類別 itself; no table of that title follows it.
        assert!(!appendix.contains(&format!("{title}合計")), "the PDF prints {title}");
    }
}

/// Issue 16, the editor's reading (item 2): 表2-1 row 15 said 「webshell」 where 2-1-3 says
/// 「ウェブシェル」; the published text uses the one Japanese term (an editor's edit too).
#[test]
fn table_2_1_writes_the_leaflets_japanese_term() {
    let mut doc = draft(&["damage.data_destruction_extortion"]);
    let row15 = doc.groups.iter().flat_map(|g| &g.rows).find(|r| r.no == 15).unwrap();
    assert!(row15.summary.text.contains("ウェブシェル（"), "{}", row15.summary.text);
    for (path, t) in doc.texts() {
        assert!(!t.text.to_lowercase().contains("webshell"), "{path}: {}", t.text);
    }
    let edits = [("groups.0.rows.0.summary".to_owned(), "Webshell と Ransomware が置かれていた。".to_owned())].into();
    doc.apply_edits(&edits).unwrap();
    assert_eq!(doc.groups[0].rows[0].summary.text, "ウェブシェル と ランサムウェア が置かれていた。");
    assert_eq!(todokede_publish::document::house_terms("CMSのwebshellとWeb Shell"), "CMSのウェブシェルとウェブシェル");
    assert_eq!(todokede_publish::document::house_terms("webshells.example"), "ウェブシェル.example");
}

/// Issue 16, the editor's reading (item 1): the contact points print the site's report page,
/// not the program's query (「…/report/new?form=unauthorized_access」); the link keeps it.
#[test]
fn contact_urls_are_printed_without_the_programs_query() {
    let mut doc = draft(&[]);
    doc.contacts = todokede_publish::scheme::contacts_from(|k| {
        Some(if k.ends_with(".email") {
            "crack@cert.example.jp".into()
        } else {
            "https://cert.example.jp/report/new?form=unauthorized_access".into()
        })
    });
    let opts = RenderOptions { draft: false, issued: "2026年12月".into() };
    let html = render::html(&doc, &opts).unwrap().replace("&#x2f;", "/").replace("&#x3d;", "=");
    let md = render::markdown(&doc, &opts);
    let printed = |s: &str| s.split("届出のお願い").last().unwrap().to_owned();
    for (what, out) in [("HTML", printed(&html)), ("Markdown", printed(&md))] {
        assert!(!out.contains("【要設定】"), "{what}");
        let shown = out.replace("href=\"https://cert.example.jp/report/new?form=unauthorized_access\"", "");
        assert!(
            !shown.contains("form=unauthorized_access") && !shown.contains("unauthorized\\_access"),
            "{what}: {out}"
        );
        assert!(shown.contains("https://cert.example.jp/report/new"), "{what}: {out}");
    }
}
