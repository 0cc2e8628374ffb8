//! Rendering an approved (or, marked as such, a draft) document: Markdown, HTML with inline SVG
//! charts, and PDF typeset by typst with the IPAex fonts.

use crate::charts;
use crate::document::Document;
use std::sync::OnceLock;
use typst_layout::PagedDocument;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "the PDF needs the IPAex fonts (Debian: apt-get install fonts-ipaexfont), or TODOKEDE_FONT_DIR pointing at ipaexg.ttf and ipaexm.ttf: {0}"
    )]
    Fonts(String),
    #[error("typesetting failed: {0}")]
    Typst(String),
    #[error("template: {0}")]
    Template(String),
}

/// Everything a renderer needs beyond the document.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Marks every page as a draft (not approved).
    pub draft: bool,
    /// 発行日 etc. shown on the title page.
    pub issued: String,
}

fn charts_of(doc: &Document) -> (String, String) {
    (
        charts::bar_chart(&doc.statistics, "category", "分類別（主たる原因）の件数"),
        charts::monthly_line(&doc.statistics, "月別の件数"),
    )
}

/// The view the templates get: the document plus rendering details.
fn view(doc: &Document, opts: &RenderOptions) -> serde_json::Value {
    let mut v = serde_json::to_value(doc).expect("document serialises");
    v["draft"] = opts.draft.into();
    v["issued"] = opts.issued.clone().into();
    v["statistics"]["column_labels"] = column_labels(doc).into();
    v["statistics"]["multi_valued_note"] = crate::stats::MULTI_VALUED_NOTE.into();
    v["statistics"]["note"] = crate::stats::suppression_note(&doc.statistics).into();
    for (i, t) in doc.statistics.tables.iter().enumerate() {
        v["statistics"]["tables"][i]["multi"] = t.is_multi_valued().into();
    }
    // 「2019 年下半期」 where a bracket already surrounds it (付録 届出状況（…）).
    v["period_short"] = doc.period_label.split('（').next().unwrap_or(&doc.period_label).trim().into();
    // A 着目点's paragraphs (one text to edit, a line break between paragraphs).
    for (g, group) in doc.groups.iter().enumerate() {
        for (i, p) in group.points.iter().enumerate() {
            v["groups"][g]["points"][i]["paragraphs"] = paragraphs(&p.body.text).into();
        }
    }
    for (f, case) in doc.featured.iter().enumerate() {
        for (i, p) in case.points.iter().enumerate() {
            v["featured"][f]["points"][i]["paragraphs"] = paragraphs(&p.body.text).into();
        }
    }
    // Contact URLs as printed (the site's page, no query); the link keeps the whole URL.
    for (i, c) in doc.contacts.iter().enumerate() {
        v["contacts"][i]["printed_url"] = c.printed_url().into();
    }
    // The appendix prints the same tables in every format (see [`PUBLISHED_TABLES`]).
    if let Some(tables) = v["statistics"]["tables"].as_array_mut() {
        tables.retain(|t| t["key"].as_str().is_some_and(|k| PUBLISHED_TABLES.contains(&k)));
    }
    let mut units = serde_json::Map::new();
    compounds(&v, &mut units);
    v["katakana_units"] = units.into();
    // A chapter title's last words kept together (see [`runt_free`]).
    for (i, f) in doc.featured.iter().enumerate() {
        let (head, tail) = runt_free(&f.title.text);
        v["featured"][i]["title_head"] = head.into();
        v["featured"][i]["title_tail"] = tail.into();
    }
    // Figure files (the PDF reads them by name; the HTML inlines them).
    for (i, f) in doc.featured.iter().enumerate() {
        if let Some(fig) = &f.figure {
            v["featured"][i]["figure"]["file"] = format!("figure-{}.svg", fig.number).into();
        }
    }
    v
}

/// The statistics tables the leaflet's appendix prints, in HTML, PDF and Markdown alike. Not
/// printed: 分類別 and 月別 (図 付-1 and 付-2 draw them), and the ATT&CK table — an IPA leaflet
/// names no ATT&CK technique; it stays on the analysts' statistics page and in the CSV.
pub const PUBLISHED_TABLES: &[&str] = &[
    "summary",
    "attack_type",
    "cause",
    "damage",
    "host_kind",
    "reporter_kind",
    "virus",
    "virus_month",
    "virus_month_infected",
    "virus_family",
    "virus_detections",
];

/// A heading's title as (what may break, what stays together): its last words from after the
/// particle before them, 6 to 12 characters, so the heading's last line is never one word alone
/// (「5. 事例：…サービスを模造した / フィッシング」 became 「…サービスを / 模造したフィッシング」).
pub fn runt_free(title: &str) -> (String, String) {
    let chars: Vec<char> = title.chars().collect();
    let n = chars.len();
    if n <= 12 {
        return (String::new(), title.to_owned());
    }
    let start = (n - 12..=n - 6).rev().find(|&i| "をのがにでへと、・ ".contains(chars[i - 1])).unwrap_or(n - 8);
    (chars[..start].iter().collect(), chars[start..].iter().collect())
}

/// Katakana words of the reports' domain. A katakana word never breaks across lines
/// (フィッシ/ング); a compound made only of these words may break between them (フィッシング /
/// メール), so a narrow column is not spread wide to keep a nine-letter compound whole. (No
/// part of a loanword that is one word in its language: ランサムウェア stays whole.)
pub const KATAKANA_WORDS: &[&str] = &[
    "アカウント",
    "アクセス",
    "アドレス",
    "アプリケーション",
    "アラート",
    "インシデント",
    "インジェクション",
    "インストール",
    "インターネット",
    "ウイルス",
    "ウェブ",
    "エラー",
    "グループ",
    "クラウド",
    "コンピュータ",
    "サーバ",
    "サイト",
    "サービス",
    "システム",
    "ショッピング",
    "スクリプト",
    "セキュリティ",
    "ツール",
    "データ",
    "データベース",
    "テーブル",
    "テスト",
    "デスクトップ",
    "ドメイン",
    "ネットワーク",
    "パスワード",
    "バックアップ",
    "パソコン",
    "ビットコイン",
    "ファイル",
    "フィッシング",
    "フォーム",
    "ブラウザ",
    "プラグイン",
    "プログラム",
    "ページ",
    "ポータル",
    "ホスティング",
    "メール",
    "メッセージ",
    "メンテナンス",
    "ユーザ",
    "リスト",
    "リモート",
    "リンク",
    "ルータ",
    "ログ",
    "ログイン",
    "ワーム",
];

/// The units of a katakana run that a line may break between: the words of a compound made
/// only of [`KATAKANA_WORDS`] (longest first), else the whole run.
pub fn katakana_units(run: &str) -> Vec<&str> {
    let mut units = vec![];
    let mut rest = run;
    while !rest.is_empty() {
        let Some(w) = KATAKANA_WORDS.iter().filter(|w| rest.starts_with(**w)).max_by_key(|w| w.len()) else {
            return vec![run];
        };
        units.push(&rest[..w.len()]);
        rest = &rest[w.len()..];
    }
    units
}

/// A katakana run as the template matches it (`report.typ`'s show rule).
fn katakana_runs() -> &'static regex::Regex {
    static RUNS: OnceLock<regex::Regex> = OnceLock::new();
    RUNS.get_or_init(|| regex::Regex::new("[ァ-ヺー]{2,24}").expect("valid"))
}

/// Every katakana compound of the view's texts that may break, with its units (the template
/// keeps each unit whole and lets the line break between them).
fn compounds(v: &serde_json::Value, out: &mut serde_json::Map<String, serde_json::Value>) {
    match v {
        serde_json::Value::String(s) => {
            for m in katakana_runs().find_iter(s) {
                let units = katakana_units(m.as_str());
                if units.len() > 1 {
                    out.insert(m.as_str().to_owned(), units.into());
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| compounds(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| compounds(x, out)),
        _ => {}
    }
}

/// The statistics' column headers as the leaflet writes periods (「2019 年下半期」, not the
/// key 2019H2); a column that is not a period keeps its name.
pub fn column_labels(doc: &Document) -> Vec<String> {
    doc.statistics
        .columns
        .iter()
        .map(|c| match todokede_domain::Period::parse(c) {
            Ok(p) => p.label_ja().split('（').next().unwrap_or(c).trim().to_owned(),
            Err(_) => c.clone(),
        })
        .collect()
}

/// The paragraphs of a text that has several (an editor's line break starts a new one).
pub fn paragraphs(text: &str) -> Vec<&str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
}

/// The featured cases' figures as SVG, by file name.
fn figure_files(doc: &Document) -> Vec<(String, String)> {
    doc.featured
        .iter()
        .filter_map(|f| f.figure.as_ref())
        .map(|fig| (format!("figure-{}.svg", fig.number), crate::figures::svg(fig)))
        .collect()
}

pub fn markdown(doc: &Document, opts: &RenderOptions) -> String {
    let mut md = String::new();
    let mut p = |s: &str| {
        md.push_str(s);
        md.push('\n');
    };
    // Markdown has no escaping for every character; neutralise what would start markup.
    let esc = |s: &str| {
        s.replace('\\', "\\\\")
            .replace(['\n'], " ")
            .replace('|', "\\|")
            .replace('<', "&lt;")
            .replace('*', "\\*")
            .replace('_', "\\_")
            .replace('#', "\\#")
            .replace('[', "\\[")
    };
    if opts.draft {
        p("> **草稿（未承認）** — not approved for publication\n");
    }
    p(&format!("# {}［{}］\n", esc(&doc.title.text), esc(&doc.period_label)));
    p("## 1. はじめに\n");
    for t in &doc.introduction {
        p(&format!("{}\n", esc(&t.text)));
    }
    for t in &doc.notable {
        p(&format!("- {}", esc(&t.text)));
    }
    p("");
    for (i, s) in doc.sources.iter().enumerate() {
        p(&format!("[^{}]: {} {}", i + 1, esc(&s.title), s.url));
    }
    p("");
    for (i, ch) in doc.technique_chapters.iter().enumerate() {
        p(&format!("### 1-{}. {}\n", i + 1, esc(&ch.title.text)));
        for t in &ch.paragraphs {
            p(&format!("{}\n", esc(&t.text)));
        }
        p(&format!("| {} |", ch.counts.iter().map(|(l, _)| esc(l)).collect::<Vec<_>>().join(" | ")));
        p(&format!("|{}", "---|".repeat(ch.counts.len())));
        p(&format!(
            "| {} |\n",
            ch.counts
                .iter()
                .map(|(_, n)| n.map_or("（記録なし）".to_owned(), |n| format!("{n} 件")))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
        for (j, sub) in ch.subsections.iter().enumerate() {
            p(&format!("#### 1-{}-{}. {}\n", i + 1, j + 1, esc(&sub.heading)));
            for t in &sub.paragraphs {
                p(&format!("{}\n", esc(&t.text)));
            }
            for t in &sub.bullets {
                p(&format!("- {}", esc(&t.text)));
            }
            for b in &sub.more {
                p("");
                for t in &b.paragraphs {
                    p(&format!("{}\n", esc(&t.text)));
                }
                for t in &b.bullets {
                    p(&format!("- {}", esc(&t.text)));
                }
            }
            p("");
        }
    }
    p("## 2. 届出事例概要一覧\n");
    p("表 2-1 主な届出事例の概要一覧\n");
    p("| 項番 | 届出日 | 概要 |\n|---|---|---|");
    for g in &doc.groups {
        p(&format!("| | | **{}** |", esc(&g.heading.text)));
        for r in &g.rows {
            let note = r.featured_chapter.map(|c| format!(" ※本事例は {c} 章で紹介する。")).unwrap_or_default();
            p(&format!("| {} | {} | {}{} |", r.no, r.received_on, esc(&r.summary.text), note));
        }
    }
    p("\n### 2-1. 着目点\n");
    for t in &doc.points_intro {
        p(&format!("{}\n", esc(&t.text)));
    }
    for (i, g) in doc.groups.iter().enumerate() {
        p(&format!("#### 2-1-{}. {}\n", i + 1, esc(&g.heading.text)));
        for t in &g.points {
            if let Some(h) = &t.heading {
                p(&format!("**■ {}**\n", esc(&h.text)));
            }
            for para in paragraphs(&t.body.text) {
                p(&format!("{}\n", esc(para)));
            }
        }
    }
    for f in &doc.featured {
        p(&format!("## {}. 事例：{}\n", f.chapter, esc(&f.title.text)));
        p(&format!("### {}-1. 届出内容\n", f.chapter));
        if let Some(fig) = &f.figure {
            p(&format!("{}\n", esc(&fig.reference.text)));
        }
        for s in &f.sections {
            p(&format!("**{}**\n\n{}\n", s.heading, esc(&s.text.text)));
        }
        if let Some(fig) = &f.figure {
            p(&format!(
                "> {}\n>\n> 図 {} {}\n",
                fig.steps.iter().map(|s| esc(&s.text)).collect::<Vec<_>>().join(" → "),
                fig.number,
                esc(&fig.caption.text)
            ));
        }
        p(&format!("### {}-2. 着目点\n", f.chapter));
        for t in &f.points {
            if let Some(h) = &t.heading {
                p(&format!("**■ {}**\n", esc(&h.text)));
            }
            for para in paragraphs(&t.body.text) {
                p(&format!("{}\n", esc(para)));
            }
        }
        p("");
    }
    p(&format!("## {}. 届出のお願い\n", 3 + doc.featured.len()));
    for t in &doc.how_to_report {
        p(&format!("{}\n", esc(&t.text)));
    }
    for c in &doc.contacts {
        let mark = if c.placeholder { " 【要設定】" } else { "" };
        p(&format!("- {}{mark}：メール {} ウェブ {}", esc(&c.label), esc(&c.email), esc(&c.printed_url())));
    }
    p("");
    for t in &doc.closing {
        p(&format!("{}\n", esc(&t.text)));
    }
    for b in &doc.legal_basis {
        p(&format!("> **{}**\n>", esc(&b.title)));
        for t in &b.paragraphs {
            p(&format!("> {}\n>", esc(t)));
        }
        for (h, lines) in &b.notices {
            p(&format!("> ○{}\n>", esc(h)));
            for l in lines {
                p(&format!("> {}  ", esc(l)));
            }
            p(">");
        }
        p("");
    }
    p(&format!("## 付録 届出状況（{}）\n", esc(doc.period_label.split('（').next().unwrap_or(&doc.period_label))));
    p(&format!("{}\n", esc(&crate::stats::suppression_note(&doc.statistics))));
    for t in doc.statistics.tables.iter().filter(|t| PUBLISHED_TABLES.contains(&t.key.as_str())) {
        p(&format!("**{}**\n", esc(&t.title)));
        let n = t.total.len();
        p(&format!("| | {} |", column_labels(doc).into_iter().take(n).collect::<Vec<_>>().join(" | ")));
        p(&format!("|---|{}", "---|".repeat(n)));
        let shown = |i: usize, c: &crate::stats::Cell| {
            if doc.statistics.has_data.get(i) == Some(&false) {
                "—".to_owned()
            } else {
                c.display(doc.statistics.threshold)
            }
        };
        for r in &t.rows {
            p(&format!(
                "| {} | {} |",
                esc(&r.label),
                r.cells.iter().enumerate().map(|(i, c)| shown(i, c)).collect::<Vec<_>>().join(" | ")
            ));
        }
        // 合計 as the HTML and the PDF print it (届出件数 is its own total; 検出数 has one row).
        if t.key != "summary" && t.key != "virus_detections" {
            p(&format!(
                "| 合計 | {} |",
                t.total.iter().enumerate().map(|(i, c)| shown(i, c)).collect::<Vec<_>>().join(" | ")
            ));
        }
        if t.is_multi_valued() {
            p(&format!("\n{}", crate::stats::MULTI_VALUED_NOTE));
        }
        p("");
    }
    md
}

pub fn html(doc: &Document, opts: &RenderOptions) -> Result<String, RenderError> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", include_str!("../templates/report.html"))
        .map_err(|e| RenderError::Template(e.to_string()))?;
    let (category, month) = charts_of(doc);
    let mut v = view(doc, opts);
    // Our own SVG (plotters escapes every text it writes); inserted unescaped.
    v["chart_category"] = category.into();
    v["chart_month"] = month.into();
    for (i, f) in doc.featured.iter().enumerate() {
        if let Some(fig) = &f.figure {
            v["featured"][i]["figure"]["svg"] = crate::figures::svg(fig).into();
        }
    }
    env.get_template("report.html").and_then(|t| t.render(v)).map_err(|e| RenderError::Template(e.to_string()))
}

struct Fonts(Vec<Vec<u8>>);

fn fonts() -> Result<&'static Fonts, RenderError> {
    static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let dirs: Vec<std::path::PathBuf> =
                std::env::var_os("TODOKEDE_FONT_DIR").map(|d| vec![d.into()]).unwrap_or_else(|| {
                    vec![
                        "/usr/share/fonts/opentype/ipaexfont-gothic".into(),
                        "/usr/share/fonts/opentype/ipaexfont-mincho".into(),
                        "/usr/share/fonts/truetype/ipaexfont".into(),
                    ]
                });
            let mut out = vec![];
            for name in ["ipaexg.ttf", "ipaexm.ttf"] {
                let found = dirs
                    .iter()
                    .map(|d| d.join(name))
                    .find(|p| p.exists())
                    .ok_or_else(|| format!("{name} not found in {dirs:?}"))?;
                out.push(std::fs::read(&found).map_err(|e| format!("{}: {e}", found.display()))?);
            }
            Ok(Fonts(out))
        })
        .as_ref()
        .map_err(|e| RenderError::Fonts(e.clone()))
}

pub fn pdf(doc: &Document, opts: &RenderOptions) -> Result<Vec<u8>, RenderError> {
    let fonts = fonts()?;
    let (category, month) = charts_of(doc);
    let data = serde_json::to_vec(&view(doc, opts)).expect("view serialises");
    let figures = figure_files(doc);
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("data.json", data),
        ("chart_category.svg", category.into_bytes()),
        ("chart_month.svg", month.into_bytes()),
    ];
    files.extend(figures.iter().map(|(name, svg)| (name.as_str(), svg.clone().into_bytes())));
    let engine = typst_as_lib::TypstEngine::builder()
        .main_file(include_str!("../templates/report.typ"))
        .fonts(fonts.0.iter().map(|f| f.as_slice()))
        .with_static_file_resolver(files)
        .build();
    let doc: PagedDocument = engine.compile().output.map_err(|e| RenderError::Typst(format!("{e:?}")))?;
    typst_pdf::pdf(&doc, &Default::default()).map_err(|e| RenderError::Typst(format!("{e:?}")))
}

/// The characters of `text` that neither embedded font has a glyph for: typst would set them
/// as tofu (□). The PDF has no other font to fall back on.
pub fn missing_glyphs(text: &str) -> Result<Vec<char>, RenderError> {
    let faces: Vec<typst::text::Font> = fonts()?
        .0
        .iter()
        .filter_map(|f| typst::text::Font::new(typst::foundations::Bytes::new(f.clone()), 0))
        .collect();
    let mut missing: Vec<char> = text
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .filter(|c| faces.iter().all(|f| !f.info().coverage.contains(*c as u32)))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_keeps_its_last_words_together() {
        let (head, tail) = runt_free("ターゲット組織のウェブメールサービスを模造したフィッシング");
        assert_eq!((head.as_str(), tail.as_str()), ("ターゲット組織のウェブメールサービスを", "模造したフィッシング"));
        assert_eq!(runt_free("短い題"), (String::new(), "短い題".to_owned()));
        let (head, tail) = runt_free("データベースを消去し脅迫する手口による攻撃");
        assert_eq!(format!("{head}{tail}"), "データベースを消去し脅迫する手口による攻撃");
        assert!((6..=12).contains(&tail.chars().count()), "{tail}");
    }
}
