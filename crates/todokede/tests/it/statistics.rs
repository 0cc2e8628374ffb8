//! 届出状況 (/stats, /stats.csv) as a user walked it in session 13: the English page was mostly
//! Japanese and named techniques by raw keys, a mistyped period was silently replaced by
//! another, the CSV said 0 where the page says "no record", and the statistics and the
//! publication opened on different default periods. Each as a test that failed before the fix.

use crate::common;
use crate::common::visible_text;

use reqwest::StatusCode;
use todokede_store::Role;
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

fn is_japanese(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{9fff}' | '\u{ff01}'..='\u{ff60}' | '\u{3000}'..='\u{303f}')
}

/// The rows of the table titled `title` on a page: (label, cells).
fn table_rows(html: &str, title: &str) -> Vec<(String, Vec<String>)> {
    let start = html.find(&format!(">{title}</h2>")).unwrap_or_else(|| panic!("no table {title}"));
    let table = &html[start..];
    let table = &table[..table.find("</table>").unwrap()];
    let body = &table[table.find("<tbody>").unwrap()..];
    body.split("<tr>")
        .skip(1)
        .map(|tr| {
            let cells: Vec<String> = tr
                .split("<td")
                .skip(1)
                .map(|td| {
                    let td = &td[td.find('>').unwrap() + 1..];
                    td[..td.find("</td>").unwrap()].to_owned()
                })
                .collect();
            (cells[0].clone(), cells[1..].to_vec())
        })
        .collect()
}

/// Session 13, walk item 1: `/stats?period=2019H2&lang=en` showed the period title, every table
/// heading, row and column label, 合計, the chart titles and the surge alerts in Japanese, raw
/// keys (`technique.T1078`) beside the labels, and techniques without a name (T1222.002,
/// T1114.002, T1078.003, T1213). The English page is English throughout (the only Japanese
/// word is the switch to 日本語); the Japanese page names every technique in Japanese.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_english_statistics_page_is_english_and_the_japanese_one_japanese() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let analyst = s.logged_in(Role::Analyst, "stats@ipa.example").await.client;
    common::handled_seed_reports(&db.url, "stats@ipa.example").await;

    let page = analyst.get(s.url("/stats?period=2019H2&lang=en")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<h1>Statistics — 2019 H2 (July–December)</h1>"), "period title in English");
    assert!(page.contains("Surge alerts") && page.contains("<svg"), "the seeds' period has alerts and charts");
    let text = visible_text(&page).replace("日本語", "");
    let japanese: Vec<&str> = text
        .split(|c: char| !is_japanese(c))
        .filter(|w| !w.is_empty())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(japanese.is_empty(), "Japanese on the English page: {japanese:?}");
    assert!(!text.contains("technique.") && !text.contains("damage.") && !text.contains("cause."), "raw keys shown");
    let techniques = table_rows(&page, "By ATT&amp;CK technique");
    assert!(techniques.len() > 10, "{techniques:?}");
    for (label, _) in techniques.iter().filter(|(l, _)| l != "Total") {
        // "Valid Accounts (T1078)": a name, then the ID.
        let (name, id) = label.rsplit_once(" (").unwrap_or_else(|| panic!("no name: {label}"));
        assert!(!name.trim().is_empty() && id.starts_with('T'), "{label}");
    }
    for id in ["T1222.002", "T1114.002", "T1078.003", "T1213"] {
        assert!(techniques.iter().any(|(l, _)| l.ends_with(&format!(" ({id})")) && !l.starts_with(id)), "{id} unnamed");
    }
    assert!(table_rows(&page, "Reports").iter().any(|(l, _)| l == "Total"), "合計 in English");

    let page = analyst.get(s.url("/stats?period=2019H2&lang=ja")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<h1>届出状況 — 2019年下半期（7月～12月）</h1>"));
    let techniques = table_rows(&page, "ATT&amp;CK テクニック別");
    for (label, _) in techniques.iter().filter(|(l, _)| l != "合計") {
        let (name, id) = label.rsplit_once('（').unwrap_or_else(|| panic!("no name: {label}"));
        assert!(
            name.chars().any(is_japanese) && id.starts_with('T'),
            "a technique named in English on the Japanese page: {label}"
        );
    }
    assert!(techniques.iter().any(|(l, _)| l == "正規アカウントの悪用（T1078）"), "{techniques:?}");
    let text = visible_text(&page);
    assert!(!text.contains("technique.") && !text.contains("Valid Accounts"), "raw keys or English names");
    db.cleanup().await;
}

/// The ATT&CK technique IDs in a text (`T1078`, `T1222.002`), each standing alone.
fn technique_ids(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let word = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
    let digits = |i: usize, n: usize| (i..i + n).all(|j| b.get(j).is_some_and(u8::is_ascii_digit));
    let mut out = vec![];
    for i in 0..b.len() {
        if b[i] != b'T' || b.get(i + 1) != Some(&b'1') || !digits(i + 1, 4) || (i > 0 && word(i - 1)) {
            continue;
        }
        let mut end = i + 5;
        if b.get(end) == Some(&b'.') && digits(end + 1, 3) {
            end += 4;
        }
        if !word(end) {
            out.push(text[i..end].to_owned());
        }
    }
    out
}

/// Every ATT&CK technique the analysis can name — the technique phrase rules, the decisions'
/// technique map, the text model's technique labels, the log readers — and every technique
/// the seeds' analysts confirmed has a name in English and in Japanese (the statistics showed
/// T1222.002 and others by their bare ID). The publication's own Japanese names are the same.
#[test]
fn every_technique_the_analysis_can_name_has_a_name_in_both_languages() {
    use todokede_domain::Language;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let mut sources: Vec<(String, String)> = vec![];
    for p in [
        "crates/todokede-analyse/data/rules.txt",
        "crates/todokede-analyse/data/technique_map.txt",
        "crates/todokede-analyse/data/countermeasures.txt",
        "fixtures/seeds/expected.json",
    ] {
        sources.push((p.to_owned(), read(p)));
    }
    // The text model's labels only (its feature lines are numbers).
    let model: String = read("crates/todokede-analyse/data/model.tsv")
        .lines()
        .filter_map(|l| l.strip_prefix("r:technique."))
        .map(|l| l.split('\t').next().unwrap_or("").to_owned() + "\n")
        .collect();
    sources.push(("model.tsv".into(), model));
    let evidence = root.join("crates/todokede-analyse/src");
    let mut dirs = vec![evidence];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                sources.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut missing = vec![];
    for (file, text) in &sources {
        for id in technique_ids(text) {
            if !seen.insert(id.clone()) {
                continue;
            }
            for lang in [Language::En, Language::Ja] {
                if todokede_analyse::technique_name_in(&id, lang).trim().is_empty() {
                    missing.push(format!("{id} in {lang:?} ({file})"));
                }
            }
        }
    }
    assert!(seen.len() > 40, "found only {seen:?}");
    assert!(missing.is_empty(), "techniques without a name: {missing:#?}");
    for t in todokede_analyse::named_techniques() {
        let ja = todokede_analyse::technique_name_in(t, Language::Ja);
        assert!(ja.chars().any(is_japanese), "{t}: {ja:?} is not Japanese");
        if let Some(doc) = todokede_publish::document::technique_ja(t) {
            assert_eq!(doc, ja, "{t}: the publication and the statistics name it alike");
        }
    }
}

/// Session 13, walk item 3: `/stats?period=2019H9` and `/publication?period=garbage` showed
/// another period, the box overwritten with it. A wrong period is said to be wrong, in the
/// page's language, what was typed stays in the box, and no statistics are shown for it; the
/// CSV of a wrong period is refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistyped_period_is_said_to_be_wrong_and_kept_never_replaced_by_another() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let analyst = s.logged_in(Role::Analyst, "typo@ipa.example").await.client;
    common::handled_seed_reports(&db.url, "typo@ipa.example").await;
    for (path, typed, lang, says) in [
        ("/stats", "2019H9", "ja", "「2019H9」は期間として読み取れません"),
        ("/stats", "2019H9", "en", "“2019H9” is not a period"),
        ("/publication", "garbage", "ja", "「garbage」は期間として読み取れません"),
        ("/publication", "garbage", "en", "“garbage” is not a period"),
    ] {
        let res = analyst.get(s.url(&format!("{path}?period={typed}&lang={lang}"))).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path} {typed}");
        let page = res.text().await.unwrap();
        assert!(page.contains(says), "{path} {lang}: {}", visible_text(&page));
        assert!(page.contains(&format!("value=\"{typed}\"")), "{path}: what was typed is kept");
        assert!(page.contains("aria-invalid=\"true\"") && page.contains("role=\"alert\""));
        // (The help's examples name 2019H2: never as the period shown, nor in the box.)
        for other in ["value=\"2019H2\"", "2026H", "2019年下半期", "2019 H2 ("] {
            assert!(!page.contains(other), "{path} {typed} showed another period ({other})");
        }
        assert!(!page.contains("<table") && !page.contains("<svg"), "no statistics for a wrong period");
    }
    let res = analyst.get(s.url("/stats.csv?period=2019H9")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "no CSV of another period");
    // A period typed right still works, with spaces around it.
    let res = analyst.get(s.url("/stats?period=%202019H2%20")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    db.cleanup().await;
}

/// Session 13, walk item 4: `/stats.csv?period=2019H2` said 0 for 2018H2, a period the system
/// has no record of, where the page shows "—" (no record, not 0); and the file was named after
/// the day of the download, not the period. The cell is empty, a note line says why, the page
/// says the CSV leaves it empty, and the file is todokede-stats-2019H2.csv.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistics_csv_leaves_a_period_without_records_empty_and_is_named_after_the_period() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let analyst = s.logged_in(Role::Analyst, "csv@ipa.example").await.client;
    common::handled_seed_reports(&db.url, "csv@ipa.example").await;
    let page = analyst.get(s.url("/stats?period=2019H2")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("CSV では空欄です"), "the page says how the CSV marks it");
    let res = analyst.get(s.url("/stats.csv?period=2019H2")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert_eq!(disposition, "attachment; filename=\"todokede-stats-2019H2.csv\"");
    let csv = res.text().await.unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with("table,row,label,2019H2,2019H1,2018H2"), "{header}");
    let mut lines = 0;
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields[0] == "note" {
            assert!(line.contains("0 件ではない"), "{line}");
            continue;
        }
        // 2018H2 is before the seeds' first report: never a number, not even 0.
        if fields.len() == 6 {
            assert_eq!(fields[5], "", "no record is not 0: {line}");
            lines += 1;
        }
    }
    assert!(lines > 20, "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("note,no_record,")), "the CSV says what an empty cell means");
    let incidents = csv.lines().find(|l| l.starts_with("summary,incidents,")).unwrap();
    assert!(!incidents.split(',').nth(3).unwrap().is_empty(), "the period itself has its figures: {incidents}");
    db.cleanup().await;
}

/// Session 13, walk item 5: with the seeds (2019, confirmed) and a report received today (not
/// classified yet), the publication opened on the calendar's last half-year and the statistics
/// on today's, both empty. Both open on the newest half-year with confirmed reports, 2019H2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_and_publication_open_on_the_newest_half_year_with_confirmed_reports() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let analyst = s.logged_in(Role::Analyst, "default@ipa.example").await.client;
    common::handled_seed_reports(&db.url, "default@ipa.example").await;
    let reporter = common::browser();
    let page = reporter.get(s.url("/report/new?form=unauthorized_access")).send().await.unwrap().text().await.unwrap();
    let form = reqwest::multipart::Form::new()
        .text("form", "unauthorized_access")
        .text("submission_id", common::hidden(&page, "submission_id"))
        .text("reporter_kind", "company")
        .text("description", "本日、管理画面に不正ログインされました。");
    let res =
        reporter.post(s.url("/report/new")).header("origin", s.base.clone()).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    for path in ["/stats", "/publication"] {
        let page = analyst.get(s.url(path)).send().await.unwrap().text().await.unwrap();
        let h1 = page.lines().find(|l| l.contains("<h1>")).unwrap_or_default().to_owned();
        assert!(h1.contains("2019年下半期（7月～12月）"), "{path} opens on {h1}");
        assert!(page.contains("value=\"2019H2\""), "{path}: the box holds the period shown");
    }
    db.cleanup().await;
}

/// What a phone shows badly on the statistics page, measured in the browser: a cell whose
/// text runs out of it (the headers ran together: 2019年下半期019年上半期…), a cell broken
/// letter by letter (fewer than 3 characters a line), chart text smaller than 9 px as drawn
/// (the 760 px charts shrank to a third, their text to ~4 px).
const PHONE_PROBLEMS: &str = r#"
const out = [];
for (const cell of document.querySelectorAll('main table.compact th, main table.compact td')) {
  const text = cell.textContent.trim();
  if (!text) continue;
  if (cell.scrollWidth > cell.clientWidth + 1) out.push(`cell runs out of its box: ${text}`);
  // The line boxes of the cell's text: one rectangle per line of each text node.
  const tops = [];
  const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const r = document.createRange(); r.selectNodeContents(walk.currentNode);
    for (const x of r.getClientRects()) if (x.width > 0) tops.push(x.top);
  }
  tops.sort((a, b) => a - b);
  const lines = tops.filter((t, i) => i === 0 || t - tops[i - 1] > 6).length;
  if (text.length >= 6 && lines > 1 && text.length / lines < 3) out.push(`broken letter by letter (${lines} lines): ${text}`);
}
for (const svg of document.querySelectorAll('.chart svg')) {
  const box = svg.getBoundingClientRect();
  if (box.width === 0) continue;
  const scale = box.width / (svg.viewBox.baseVal && svg.viewBox.baseVal.width || parseFloat(svg.getAttribute('width')));
  for (const t of svg.querySelectorAll('text')) {
    if (!t.textContent.trim()) continue;
    const size = parseFloat(t.getAttribute('font-size') || getComputedStyle(t).fontSize) * scale;
    if (size < 9) { out.push(`chart text ${size.toFixed(1)} px: ${t.textContent}`); break; }
  }
}
return out;
"#;

/// Session 13, walk item 2: at 390 px the statistics page was unreadable — header cells ran
/// together, the surge-alert table broke words letter by letter, the charts' text shrank to
/// ~4 px. With the seeds' 2019H2 (every table, the surge alerts and both charts), in both
/// languages, at 390 and 1280 px: nothing wider than the screen, axe-core clean, every cell
/// holds its text in whole words or lines of several characters, chart text at least 9 px.
/// Screenshots: target/screenshots/26-stats-{lang}-{width}.png.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistics_page_is_readable_on_a_phone_in_both_languages() {
    if !common::browser_available() {
        return;
    }
    let db = TestDb::sqlite().await;
    let password = common::user_add(&db.url, "analyst", "phone@ipa.example");
    common::handled_seed_reports(&db.url, "phone@ipa.example").await;
    let s = TestApp::start(&db).await;
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    let b = todokede_testkit::Browser::start(shots).await;
    b.goto(&s.url("/login")).await;
    b.type_into("#email", "phone@ipa.example").await;
    b.type_into("#password", &password).await;
    b.click("button[type=submit]").await;
    b.wait_for("/stats").await;
    let mut problems = vec![];
    for (lang, width) in [("ja", 390), ("en", 390), ("ja", 1280), ("en", 1280)] {
        b.set_window_size(width, 1000).await;
        b.goto(&s.url(&format!("/stats?period=2019H2&lang={lang}"))).await;
        let page = b.wait_for("</footer>").await;
        assert!(page.contains("<svg") && page.contains("class=\"compact\""), "{lang}: tables and charts");
        let name = format!("26-stats-{lang}-{width}");
        for p in b.execute(PHONE_PROBLEMS).await.as_array().into_iter().flatten() {
            problems.push(format!("{name}: {}", p.as_str().unwrap_or("")));
        }
        crate::e2e_browser::look_at(&b, &name, &mut problems).await;
        // A wrong period's page, on the phone too.
        b.goto(&s.url(&format!("/stats?period=2019H9&lang={lang}"))).await;
        b.wait_for("period-error").await;
        crate::e2e_browser::look_at(&b, &format!("26-stats-wrong-{lang}-{width}"), &mut problems).await;
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    db.cleanup().await;
}
