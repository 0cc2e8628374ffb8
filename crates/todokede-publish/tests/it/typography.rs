//! Typography of the rendered PDF, checked as an editor would, with poppler: every glyph is in
//! the embedded fonts (no tofu) and every font is embedded; the text round-trips; no word
//! leaves the page's text area and 表2-1's dates stay in their column; no line starts with
//! 、。 or a closing bracket (禁則); a katakana word is never broken across lines; no heading
//! is the last line of a page (its text follows on the next); the cover title breaks at 「・」
//! and not before 「事例」. The pages are kept in target/publication for a look.

use regex::Regex;
use std::process::Command;
use todokede_publish::render::{self, RenderOptions};

/// One line of `pdftotext -bbox-layout`: its page, box and words.
#[derive(Debug, Clone)]
struct Line {
    page: usize,
    x_min: f64,
    y_min: f64,
    x_max: f64,
    y_max: f64,
    words: Vec<Word>,
}

/// A word of a line, with its box.
#[derive(Debug, Clone)]
struct Word {
    x_min: f64,
    y_min: f64,
    x_max: f64,
    y_max: f64,
    text: String,
}

impl Word {
    /// Do the two boxes overlap by more than `slack` points both ways?
    fn overlaps(&self, o: &Word, slack: f64) -> bool {
        self.x_min + slack < o.x_max
            && o.x_min + slack < self.x_max
            && self.y_min + slack < o.y_max
            && o.y_min + slack < self.y_max
    }
}

impl Line {
    fn text(&self) -> String {
        self.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")
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
            let words: Vec<Word> = word_re
                .captures_iter(&l[2])
                .map(|w| Word {
                    x_min: attr(&w[1], "xMin"),
                    y_min: attr(&w[1], "yMin"),
                    x_max: attr(&w[1], "xMax"),
                    y_max: attr(&w[1], "yMax"),
                    text: unescape(&w[2]),
                })
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

/// The README's 2019H2 draft: the DB-wipe trend, the seed's three featured cases.
fn draft_2019h2() -> todokede_publish::Document {
    crate::common::draft("2019H2", &["damage.data_destruction_extortion"], crate::common::featured_2019h2())
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
    let dates: Vec<&Word> = lines.iter().flat_map(|l| &l.words).filter(|w| date.is_match(&w.text)).collect();
    assert!(dates.len() >= 18, "{} dates found", dates.len());
    for w in &dates {
        assert!(w.x_max <= summary_column, "{} overflows its column ({} > {summary_column})", w.text, w.x_max);
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
    // followed by one starting with katakana, in the same column, is a broken word — unless
    // the two are words of a compound (フィッシング / メール), which may break between them.
    let katakana = |c: char| ('\u{30A1}'..='\u{30FA}').contains(&c) || c == 'ー';
    for w in lines.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if a.page != b.page || (a.x_min - b.x_min).abs() > 30.0 || b.y_min - a.y_max > 8.0 {
            continue;
        }
        let (end, start) = (a.text().chars().last(), b.text().chars().next());
        if let (Some(e), Some(s)) = (end, start) {
            let tail: String =
                a.text().chars().rev().take_while(|c| katakana(*c)).collect::<Vec<_>>().into_iter().rev().collect();
            let head: String = b.text().chars().take_while(|c| katakana(*c)).collect();
            let whole = format!("{tail}{head}");
            let between_words = render::katakana_units(&whole).first().is_some_and(|u| u.len() < whole.len())
                && render::katakana_units(&whole)
                    .iter()
                    .scan(0, |at, u| {
                        *at += u.len();
                        Some(*at)
                    })
                    .any(|at| at == tail.len());
            assert!(
                !(katakana(e) && katakana(s)) || between_words,
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

/// The README's 2019H2 report as a PDF in target/publication/NAME, with its layout; None when
/// poppler or the fonts are missing (skipped with the reason, required under CI).
/// A rendered PDF: its path, its pages (width, height) and its lines.
type Rendered = (std::path::PathBuf, Vec<(f64, f64)>, Vec<Line>);

fn rendered_2019h2(name: &str) -> Option<Rendered> {
    if !(todokede_testkit::requires::ipaex_fonts() && todokede_testkit::requires::tool("pdftotext")) {
        return None;
    }
    let pdf = render::pdf(&draft_2019h2(), &RenderOptions { draft: false, issued: "2026年12月".into() }).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/publication");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, &pdf).unwrap();
    let (pages, lines) = layout(&path);
    Some((path, pages, lines))
}

/// The charts' texts reach the PDF as text (typst embeds an SVG's text), so poppler gives their
/// boxes: on the pages of 図 付-1 and 付-2 no word touches another — the axis description 件数
/// stays clear of the tick labels (it sat on them), a category label of its neighbours — and
/// none is cut off at the page's text area (a long category label reached past the image).
#[test]
fn no_text_of_the_charts_touches_another_or_leaves_the_figure() {
    let Some((_, pages, lines)) = rendered_2019h2("typography-charts-2019H2.pdf") else { return };
    let chart_pages: Vec<usize> = (0..pages.len())
        .filter(|p| lines.iter().any(|l| l.page == *p && l.text().replace(' ', "").starts_with("図付-")))
        .collect();
    assert!(!chart_pages.is_empty(), "no page with 図 付-1 / 付-2");
    let words: Vec<(usize, &Word)> = lines
        .iter()
        .filter(|l| chart_pages.contains(&l.page))
        .flat_map(|l| l.words.iter().map(|w| (l.page, w)))
        .collect();
    let axis = words.iter().filter(|(_, w)| w.text == "件数").count();
    assert!(axis >= 2, "the two charts' axis descriptions 件数 are not in the PDF's text ({axis})");
    for (i, (p, a)) in words.iter().enumerate() {
        for (q, b) in &words[i + 1..] {
            assert!(
                p != q || !a.overlaps(b, 0.3),
                "page {}: 「{}」 ({:.1},{:.1})–({:.1},{:.1}) touches 「{}」 ({:.1},{:.1})–({:.1},{:.1})",
                p + 1,
                a.text,
                a.x_min,
                a.y_min,
                a.x_max,
                a.y_max,
                b.text,
                b.x_min,
                b.y_min,
                b.x_max,
                b.y_max
            );
        }
    }
    let (left, right) = (22.0 / 25.4 * 72.0 - 1.0, pages[0].0 - 22.0 / 25.4 * 72.0 + 1.0);
    for (p, w) in &words {
        assert!(w.x_min >= left && w.x_max <= right, "page {}: 「{}」 leaves the figure", p + 1, w.text);
    }
}

/// Is `c` a character of Japanese text (kana, kanji, the prolonged sound mark, Japanese
/// punctuation and brackets)?
fn japanese(c: char) -> bool {
    matches!(c, '\u{3001}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}' | '\u{FF08}' | '\u{FF09}' | '\u{FF0C}')
}

/// A justified line spreads its space over all its characters, and no line is spread so wide
/// that its characters stand apart. Measured on each run of Japanese text of a line (the words
/// poppler reports, joined while they hold only Japanese characters and sit in one column): its
/// width against the width of its characters set solid, each an em — punctuation too, whose
/// half-width setting makes the estimate only kinder —, per gap between two characters.
/// 「外 部 組 織 か ら の 連 絡」 in 表2-1 was 0.22 em apart (its boxed katakana words took no
/// share of the space, and the next line's 「フィッシングメール」 could not break); five runs
/// were over an eighth of an em. No run of 8 characters or more may be.
/// And no line is a lone piece of a word: one Japanese character (「2019 年下半 / 期」 in a
/// column too narrow for its heading) or a few letters (「htm」).
#[test]
fn justified_lines_are_not_stretched_and_no_line_is_a_lone_piece_of_a_word() {
    let Some((_, _, lines)) = rendered_2019h2("typography-justified-2019H2.pdf") else { return };
    let mut stretched = vec![];
    let mut widest = (0.0f64, String::new());
    for l in &lines {
        // Runs: (first x, last x, characters, text).
        let mut runs: Vec<(f64, f64, usize, String)> = vec![];
        let mut open: Option<(f64, f64, usize, String)> = None;
        for w in &l.words {
            let size = w.y_max - w.y_min;
            let joins = open.as_ref().is_some_and(|o| w.x_min - o.1 < 1.5 * size);
            if !w.text.chars().all(japanese) {
                runs.extend(open.take());
                continue;
            }
            match open.as_mut() {
                Some(o) if joins => {
                    o.1 = w.x_max;
                    o.2 += w.text.chars().count();
                    o.3.push_str(&w.text);
                }
                _ => {
                    runs.extend(open.take());
                    open = Some((w.x_min, w.x_max, w.text.chars().count(), w.text.clone()));
                }
            }
        }
        runs.extend(open.take());
        let size = l.y_max - l.y_min;
        for (x0, x1, n, text) in runs.into_iter().filter(|r| r.2 >= 8) {
            let per_gap = ((x1 - x0) - n as f64 * size) / (n - 1) as f64 / size;
            if per_gap > widest.0 {
                widest = (per_gap, text.clone());
            }
            if per_gap > 0.125 {
                stretched.push(format!("page {}: {per_gap:.2} em apart: 「{text}」", l.page + 1));
            }
        }
    }
    eprintln!("widest run: {:.3} em between characters (「{}」)", widest.0, widest.1);
    assert!(stretched.is_empty(), "{} stretched lines:\n{}", stretched.len(), stretched.join("\n"));
    // The joiners that keep a katakana word whole are not in the text (copied, searched).
    let joined: Vec<String> = lines
        .iter()
        .flat_map(|l| &l.words)
        .filter(|w| w.text.contains('\u{2060}') && w.text.chars().any(|c| ('\u{30A1}'..='\u{30FA}').contains(&c)))
        .map(|w| w.text.clone())
        .collect();
    assert!(joined.is_empty(), "word joiners in the PDF's text: {joined:?}");
    assert!(lines.iter().any(|l| l.text().contains("データベース")), "データベース is not found in the PDF's text");
    let fragment = Regex::new(r"^([\p{Hiragana}\p{Katakana}\p{Han}ー]|[a-z]{2,4})$").unwrap();
    for l in &lines {
        let text: String = l.text().chars().filter(|c| !c.is_whitespace()).collect();
        assert!(!fragment.is_match(&text), "page {}: a line of 「{text}」 alone", l.page + 1);
    }
}

/// Issue 16, the editor's reading (item 5): a row of 表2-1 was split across pages (its
/// continuation with an empty 項番 and 届出日), and chapter 5's title left 「フィッシング」 alone
/// on its last line. Every row's 概要 is on one page, whole; no featured chapter's heading ends
/// on a line of one word.
#[test]
fn table_rows_stay_on_one_page_and_no_chapter_title_leaves_a_word_alone() {
    let Some((_, pages, lines)) = rendered_2019h2("rows-2019H2.pdf") else { return };
    let doc = draft_2019h2();
    let summary_column = 22.0 / 25.4 * 72.0 + 9.8 * 10.5 - 2.0;
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let per_page: Vec<String> = (0..pages.len())
        .map(|p| {
            // The 概要 column's words (a date's line may run on into it in poppler's lines).
            lines
                .iter()
                .filter(|l| l.page == p)
                .flat_map(|l| l.words.iter().filter(|w| w.x_min >= summary_column))
                .map(|w| squeeze(&w.text))
                .collect()
        })
        .collect();
    let mut rows = 0;
    for r in doc.groups.iter().flat_map(|g| &g.rows) {
        let text = squeeze(&r.summary.text);
        assert!(
            per_page.iter().any(|p| p.contains(&text)),
            "row {} of 表2-1 is split across pages: {}",
            r.no,
            r.summary.text
        );
        rows += 1;
    }
    assert!(rows >= 18);
    for f in &doc.featured {
        let start = format!("{}.事例：", f.chapter);
        let Some(i) = lines.iter().position(|l| squeeze(&l.text()).starts_with(&start) && l.page > 2) else {
            panic!("no heading {start}")
        };
        let title = squeeze(&format!("{start}{}", f.title.text));
        let first = squeeze(&lines[i].text());
        if first == title {
            continue;
        }
        let next = squeeze(&lines[i + 1].text());
        assert!(title.ends_with(&next) && first.len() + next.len() == title.len(), "{first} / {next}");
        assert!(next.chars().count() >= 8, "chapter {}'s title leaves {next} alone on its last line", f.chapter);
    }
}
