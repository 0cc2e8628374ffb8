//! Typography of the rendered PDF, checked as an editor would, with poppler: every glyph is in
//! the embedded fonts (no tofu) and every font is embedded; the text round-trips; no word
//! leaves the page's text area and 表2-1's dates stay in their column; no line starts with
//! 、。 or a closing bracket (禁則); a katakana word is never broken across lines; no heading
//! is the last line of a page (its text follows on the next); the cover title breaks at 「・」
//! and not before 「事例」. The pages are kept in target/publication for a look.

use crate::common::seed_cases;
use regex::Regex;
use std::collections::BTreeSet;
use std::process::Command;
use todokede_domain::Period;
use todokede_publish::document::{DraftChoices, FeatureChoice, generate};
use todokede_publish::render::{self, RenderOptions};
use todokede_publish::stats::{self, CaseRecord};

/// One line of `pdftotext -bbox-layout`: its page, box and text.
#[derive(Debug, Clone)]
struct Line {
    page: usize,
    x_min: f64,
    y_min: f64,
    x_max: f64,
    y_max: f64,
    words: Vec<(f64, f64, String)>,
}

impl Line {
    fn text(&self) -> String {
        self.words.iter().map(|(_, _, w)| w.as_str()).collect::<Vec<_>>().join(" ")
    }
}

fn attr(tag: &str, name: &str) -> f64 {
    let key = format!("{name}=\"");
    let start = tag.find(&key).unwrap() + key.len();
    tag[start..].split('"').next().unwrap().parse().unwrap()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

/// Pages (width, height) and lines of the PDF.
fn layout(pdf: &std::path::Path) -> (Vec<(f64, f64)>, Vec<Line>) {
    let out = Command::new("pdftotext").arg("-bbox-layout").arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success());
    let xml = String::from_utf8(out.stdout).unwrap();
    let page_re = Regex::new(r#"<page width="([\d.]+)" height="([\d.]+)">"#).unwrap();
    let line_re = Regex::new(r#"(?s)<line ([^>]*)>(.*?)</line>"#).unwrap();
    let word_re = Regex::new(r#"<word ([^>]*)>([^<]*)</word>"#).unwrap();
    let mut pages = vec![];
    let mut lines = vec![];
    for (i, chunk) in xml.split("<page ").skip(1).enumerate() {
        let chunk = format!("<page {chunk}");
        let p = page_re.captures(&chunk).unwrap();
        pages.push((p[1].parse().unwrap(), p[2].parse().unwrap()));
        for l in line_re.captures_iter(&chunk) {
            let words: Vec<(f64, f64, String)> = word_re
                .captures_iter(&l[2])
                .map(|w| (attr(&w[1], "xMin"), attr(&w[1], "xMax"), unescape(&w[2])))
                .collect();
            lines.push(Line {
                page: i,
                x_min: attr(&l[1], "xMin"),
                y_min: attr(&l[1], "yMin"),
                x_max: attr(&l[1], "xMax"),
                y_max: attr(&l[1], "yMax"),
                words,
            });
        }
    }
    (pages, lines)
}

fn draft_2019h2() -> todokede_publish::Document {
    let cases = seed_cases();
    let period = Period::parse("2019H2").unwrap();
    let records: Vec<CaseRecord> = cases.iter().map(|c| c.record.clone()).collect();
    let statistics = stats::compute(&records, records.len() as u64, period, 3);
    let featured = [
        ("2019H2-02", "データベースを消去し脅迫する手口による攻撃"),
        ("2019H2-03", "アクセス制限されていない SSHサービスに対する執拗な攻撃"),
        ("2019H2-18", "ターゲット組織のウェブメールサービスを模造したフィッシング"),
    ]
    .iter()
    .map(|(r, t)| FeatureChoice { report: (*r).into(), title: (*t).into() })
    .collect();
    let choices = DraftChoices {
        featured,
        notable: vec!["damage.data_destruction_extortion".into()],
        keep: BTreeSet::new(),
        listed: vec![],
    };
    generate(period, &cases, &records, &choices, statistics)
}

#[test]
fn the_pdf_has_no_tofu_no_overflow_no_line_starting_with_punctuation_and_no_orphaned_heading() {
    let tools = ["pdftotext", "pdffonts", "pdftoppm"];
    if !(todokede_testkit::requires::ipaex_fonts() && tools.iter().all(|t| todokede_testkit::requires::tool(t))) {
        return;
    }
    let doc = draft_2019h2();
    let opts = RenderOptions { draft: false, issued: "2026年11月 発行（第 1 版）".into() };
    // Every character the document prints has a glyph in the embedded fonts.
    let md = render::markdown(&doc, &opts);
    let missing = render::missing_glyphs(&md).unwrap();
    assert!(missing.is_empty(), "no glyph in IPAex for {missing:?}");
    let pdf = render::pdf(&doc, &opts).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/publication");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("typography-2019H2.pdf");
    std::fs::write(&path, &pdf).unwrap();

    // Every font embedded (pdffonts' "emb" column), none of them Type 3.
    let fonts = String::from_utf8(Command::new("pdffonts").arg(&path).output().unwrap().stdout).unwrap();
    let rows: Vec<&str> = fonts.lines().skip(2).filter(|l| !l.trim().is_empty()).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in &rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name type [encoding…] emb sub uni object ID: emb is the fifth field from the end.
        assert_eq!(cols[cols.len() - 5], "yes", "font not embedded: {row}");
        assert!(!row.contains("Type 3"), "{row}");
    }

    // The text round-trips: every featured title and group heading is in the PDF's text.
    let plain = String::from_utf8(Command::new("pdftotext").arg(&path).arg("-").output().unwrap().stdout).unwrap();
    let squeezed: String = plain.chars().filter(|c| !c.is_whitespace()).collect();
    for t in doc.featured.iter().map(|f| &f.title.text).chain(doc.groups.iter().map(|g| &g.heading.text)) {
        let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(squeezed.contains(&t), "{t} lost in the PDF's text");
    }
    assert!(!plain.contains('\u{FFFD}'), "a character came back as U+FFFD");

    let (pages, lines) = layout(&path);
    assert!(pages.len() >= 10, "{} pages", pages.len());
    // A4, margins 22 mm left and right: no word leaves the text area (1 pt of tolerance).
    let (left, right) = (22.0 / 25.4 * 72.0 - 1.0, pages[0].0 - 22.0 / 25.4 * 72.0 + 1.0);
    // A full-width bracket or punctuation at a line's edge is set half-width (its blank half
    // trimmed, JIS X 4051): its glyph box, not its ink, reaches half an em past the margin.
    let half_em = 10.5 / 2.0 + 0.5;
    for l in &lines {
        let text = l.text();
        let trim_left = text.chars().next().is_some_and(|c| "（「『【〔".contains(c));
        let trim_right = text.chars().last().is_some_and(|c| "、。，．）」』】〕・".contains(c));
        let (left, right) =
            (left - if trim_left { half_em } else { 0.0 }, right + if trim_right { half_em } else { 0.0 });
        assert!(
            l.x_min >= left && l.x_max <= right,
            "page {}: line outside the text area ({:.1}–{:.1}): {}",
            l.page + 1,
            l.x_min,
            l.x_max,
            l.text()
        );
        assert!(l.y_min >= 0.0 && l.y_max <= pages[l.page].1, "page {}: line off the page", l.page + 1);
    }
    // 表2-1: 項番 3.2em and 届出日 6.6em at 10.5 pt: a date ends before the 概要 column begins.
    let date = Regex::new(r"^20\d\d/\d{1,2}/\d{1,2}$").unwrap();
    let summary_column = 22.0 / 25.4 * 72.0 + 9.8 * 10.5;
    let dates: Vec<&(f64, f64, String)> = lines.iter().flat_map(|l| &l.words).filter(|w| date.is_match(&w.2)).collect();
    assert!(dates.len() >= 18, "{} dates found", dates.len());
    for (_, x_max, w) in &dates {
        assert!(*x_max <= summary_column, "{w} overflows its column ({x_max} > {summary_column})");
    }
    // 禁則: no visual line starts with 、。 or a closing bracket. (poppler may report a
    // punctuation mark compressed against the bracket before it as a line of its own: it is
    // on the same baseline, so what counts is the leftmost text at each height.)
    for l in &lines {
        let Some(c) = l.text().chars().next() else { continue };
        if !"、。，．）」』】〕".contains(c) {
            continue;
        }
        let same_height_before =
            lines.iter().any(|o| o.page == l.page && (o.y_max - l.y_max).abs() < 2.0 && o.x_min < l.x_min);
        assert!(same_height_before, "page {}: a line starts with {c}: {}", l.page + 1, l.text());
    }
    // A katakana word is not broken across lines (フィッシ/ング): a line ending in katakana
    // followed by one starting with katakana, in the same column, is a broken word.
    let katakana = |c: char| ('\u{30A1}'..='\u{30FA}').contains(&c) || c == 'ー';
    for w in lines.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if a.page != b.page || (a.x_min - b.x_min).abs() > 30.0 || b.y_min - a.y_max > 8.0 {
            continue;
        }
        let (end, start) = (a.text().chars().last(), b.text().chars().next());
        if let (Some(e), Some(s)) = (end, start) {
            assert!(
                !(katakana(e) && katakana(s)),
                "page {}: a katakana word broken across lines: …{} / {}…",
                a.page + 1,
                a.text().chars().rev().take(6).collect::<String>().chars().rev().collect::<String>(),
                b.text().chars().take(6).collect::<String>()
            );
        }
    }
    // No heading is the last line of a page's body (the footer's page number excepted).
    let heading = Regex::new(r"^(\d+(-\d+)*\.\s|■|表 ?\d|図 ?\S+-\d)").unwrap();
    for p in 0..pages.len() {
        let body: Vec<&Line> = lines
            .iter()
            .filter(|l| l.page == p && !l.text().trim_matches(['-', ' ']).chars().all(|c| c.is_ascii_digit()))
            .collect();
        if let Some(last) = body.iter().max_by(|a, b| a.y_max.total_cmp(&b.y_max)) {
            // The table of contents lists headings with their page numbers: not a heading.
            let toc = last.text().trim_end().chars().last().is_some_and(|c| c.is_ascii_digit()) && p <= 2;
            assert!(
                toc || !heading.is_match(&last.text()),
                "page {}: heading orphaned at the bottom: {}",
                p + 1,
                last.text()
            );
        }
    }
    // The cover: the title breaks after 「・」, 「事例」 is never alone.
    let cover: Vec<String> = lines.iter().filter(|l| l.page == 0).map(|l| l.text().replace(' ', "")).collect();
    assert!(cover.iter().any(|l| l == "不正アクセスの届出事例"), "{cover:?}");
    assert!(!cover.iter().any(|l| l == "事例"), "{cover:?}");
    // Footnotes sit at the words they annotate: 告示 1, 2 and 届出 3, 4 (superscripts).
    assert!(squeezed.contains("経済産業省の告示1,2に基づき"), "the markers of 1 and 2 are not at 告示");
    assert!(squeezed.contains("関する届出3,4を受け付けている"), "the markers of 3 and 4 are not at 届出");

    // Pages for a look, next to the seed.
    let prefix = dir.join("typography-2019H2-page");
    let st = Command::new("pdftoppm").args(["-png", "-r", "60"]).arg(&path).arg(&prefix).status().unwrap();
    assert!(st.success());
}
