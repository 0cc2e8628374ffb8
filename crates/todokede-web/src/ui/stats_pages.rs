//! 届出状況 for analysts: the tables and SVG charts of a period, in the page's language, and the
//! same figures as CSV. What the user types as the period is kept: a period that does not parse
//! is said to be wrong, never replaced by another one.

use super::*;
use todokede_app::publication;
use todokede_publish::stats::{Cell, Statistics};

/// What the `period` parameter asks for.
pub(super) enum Asked {
    /// Nothing typed: the default period.
    Default,
    Period(Period),
    /// Typed, but not a period (`2019H9`): kept as typed, to show it in the box.
    Wrong(String),
}

pub(super) fn asked_period(q: &HashMap<String, String>) -> Asked {
    match q.get("period").map(|p| p.trim()).filter(|p| !p.is_empty()) {
        None => Asked::Default,
        Some(p) => Period::parse(p).map(Asked::Period).unwrap_or_else(|_| Asked::Wrong(p.to_owned())),
    }
}

/// The period statistics (and the publication) open on: the newest half-year with an
/// analyst-confirmed report — what there is to count and publish — else the half-year now
/// falls in (one rule, [`publication::default_period`]).
pub(super) async fn default_period(st: &AppState) -> Result<Period, UiError> {
    Ok(publication::default_period(&st.store, time::OffsetDateTime::now_utc()).await?)
}

/// The page for a period that does not parse: what was typed stays in the box, a localized
/// message says what a period looks like, and nothing is counted (400).
pub(super) fn wrong_period_page(st: &AppState, c: &Ctx, action: &str, typed: &str) -> Response {
    let heading = if action == "/stats" {
        c.lang.pick("届出状況", "Statistics")
    } else {
        c.lang.pick("届出事例の公開", "Publication")
    };
    let message = c.lang.pick(
        format!("「{typed}」は期間として読み取れません。2019H2（半期）、2019（年）、2019Q3（四半期）、2019-08（月）、2019-07-01..2019-12-31 のように入力してください。"),
        format!("“{typed}” is not a period. Type one like 2019H2 (half-year), 2019 (year), 2019Q3 (quarter), 2019-08 (month) or 2019-07-01..2019-12-31."),
    );
    let mut r = render(
        st,
        c,
        "period_error.html",
        context! { heading => heading, action => action, typed => typed, message => message },
    );
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r
}

/// The period asked for or the default; `Err` is the page for a wrong one.
async fn chosen_period(st: &AppState, c: &Ctx, q: &HashMap<String, String>, action: &str) -> Result<Period, Response> {
    match asked_period(q) {
        Asked::Period(p) => Ok(p),
        Asked::Default => default_period(st).await.map_err(|e| e.page(st, c)),
        Asked::Wrong(typed) => Err(wrong_period_page(st, c, action, &typed)),
    }
}

/// A column's header as two pieces that each stay whole ("2019年" "下半期", "2019" "H2"): a
/// narrow table breaks the header between them, never inside.
fn column_header(key: &str, lang: Language) -> (String, String) {
    let Ok(p) = Period::parse(key) else { return (key.to_owned(), String::new()) };
    match (lang, p) {
        (Language::Ja, Period::Half(y, h)) => (format!("{y}年"), if h == 1 { "上半期" } else { "下半期" }.to_owned()),
        (_, Period::Half(y, h)) => (y.to_string(), format!("H{h}")),
        (Language::Ja, Period::Quarter(y, q)) => (format!("{y}年"), format!("第{q}四半期")),
        (_, Period::Quarter(y, q)) => (y.to_string(), format!("Q{q}")),
        (Language::Ja, Period::Month(y, m)) => (format!("{y}年"), format!("{m}月")),
        (_, Period::Month(_, _)) => {
            let l = p.label(lang);
            let (m, y) = l.split_once(' ').unwrap_or((&l, ""));
            (m.to_owned(), y.to_owned())
        }
        (_, Period::Range(a, b)) => (format!("{a}–"), b.to_string()),
        (_, Period::Year(_)) => (p.label(lang), String::new()),
    }
}

/// A table's title in `lang` (the statistics carry the Japanese one).
pub(super) fn table_title(key: &str, ja: &str, lang: Language) -> String {
    let en = match key {
        "summary" => "Reports",
        "attack_type" => "By attack type (unauthorized access; acts counted)",
        "cause" => "By cause (unauthorized access with damage only)",
        "damage" => "By damage",
        "category" => "By category (primary cause)",
        "technique" => "By ATT&CK technique",
        "host_kind" => "Machines hit",
        "reporter_kind" => "By type of reporter",
        "month" => "By month",
        "virus" => "Virus reports (infected or not)",
        "virus_month" => "Virus reports by month",
        "virus_month_infected" => "Virus reports with an infection, by month",
        "virus_family" => "Main virus infections (reports with an infection)",
        "virus_detections" => "Virus detections",
        _ => ja,
    };
    lang.pick(ja, en).to_owned()
}

/// A row's label in `lang`: the closed lists' own labels, months as the language writes them,
/// techniques by their name in the language with their ID; else the statistics' (Japanese) one.
pub(super) fn row_label(table: &str, key: &str, ja: &str, lang: Language) -> String {
    let closed = match table {
        "attack_type" => AttackType::parse(key).ok().map(|v| v.label(lang)),
        "damage" => DamageCategory::parse(key).ok().map(|v| v.label(lang)),
        "category" => CauseCategory::parse(key).ok().map(|v| v.label(lang)),
        "host_kind" => AffectedAsset::parse(key).ok().map(|v| v.label(lang)),
        "reporter_kind" => ReporterKind::parse(key).ok().map(|v| v.label(lang)),
        _ => None,
    };
    if let Some(l) = closed {
        return l.to_owned();
    }
    if table == "technique" {
        return todokede_app::crossref::facet_label(&format!("technique.{key}"), lang);
    }
    if table.ends_with("month")
        && let Ok(p @ Period::Month(..)) = Period::parse(key)
    {
        return p.label(lang);
    }
    let en = match (table, key) {
        ("summary", "reports") => "Reports",
        ("summary", "incidents") => "Incidents",
        ("summary", "virus") => "Virus reports",
        ("summary", "virus_infected") => "of which infected",
        ("summary", "unauthorized_access") => "Unauthorized-access reports",
        ("summary", "unauthorized_access_damage") => "of which with damage",
        ("cause", "credential_management") => "Weak ID and password management",
        ("cause", "old_version_unpatched") => "Old versions, patches not applied",
        ("cause", "misconfiguration") => "Misconfiguration",
        ("virus", "infected") => "Infected",
        ("virus", "detected_only") => "Detected only",
        ("virus_family", "ransomware") => "Ransomware",
        ("virus_family", "worm") => "Worm",
        ("virus_family", "stealer") => "Information stealer",
        ("virus_detections", "detections") => "Detections (the counts the reports give, added up)",
        (_, "other") => "Other",
        (_, "unknown") => "Unknown",
        _ => ja,
    };
    lang.pick(ja, en).to_owned()
}

/// The statistics with every title and row label in `lang` (the counts untouched).
pub(super) fn localized(s: &Statistics, lang: Language) -> Statistics {
    let mut out = s.clone();
    out.period_label = Period::parse(&s.period).map(|p| p.label(lang)).unwrap_or_else(|_| s.period_label.clone());
    for t in &mut out.tables {
        for r in &mut t.rows {
            r.label = row_label(&t.key, &r.key, &r.label, lang);
        }
        t.title = table_title(&t.key, &t.title, lang);
    }
    out
}

/// Chart widths: the desktop's, and a phone's (drawn for it, so its text is not shrunk).
const WIDE: u32 = 760;
const NARROW: u32 = 340;

pub(super) async fn stats_page(
    State(st): State<AppState>,
    Analyst(c, _user): Analyst,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let period = match chosen_period(&st, &c, &q, "/stats").await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let raw = match publication::statistics(&st.store, period, todokede_publish::stats::DEFAULT_THRESHOLD).await {
        Ok(s) => s,
        Err(e) => return UiError::from(e).page(&st, &c),
    };
    let s = localized(&raw, c.lang);
    let surges = publication::surges(&st.store, period).await.unwrap_or_default();
    // A period the system has no record of is "—", not 0 (the report's appendix says the same).
    let shown = |i: usize, c: &Cell| {
        if s.has_data.get(i) == Some(&false) { "—".to_owned() } else { c.display(s.threshold) }
    };
    let total = c.lang.pick("合計", "Total");
    let tables: Vec<Value> = s
        .tables
        .iter()
        .map(|t| {
            let row = |label: &str, cells: &[Cell]| context! { label => label, cells => cells.iter().enumerate().map(|(i, c)| shown(i, c)).collect::<Vec<_>>() };
            context! { title => t.title, multi => t.is_multi_valued(), rows => t.rows.iter().map(|r| row(&r.label, &r.cells)).chain(std::iter::once(row(total, &t.total))).collect::<Vec<_>>() }
        })
        .collect();
    let columns: Vec<Vec<String>> = s
        .columns
        .iter()
        .map(|k| {
            let (a, b) = column_header(k, c.lang);
            vec![a, b]
        })
        .collect();
    // The monthly chart's axis names the month alone ("7月", "Jul").
    let mut chart_stats = s.clone();
    for t in chart_stats.tables.iter_mut().filter(|t| t.key == "month") {
        for r in &mut t.rows {
            r.label = match (c.lang, Period::parse(&r.key)) {
                (Language::En, Ok(p)) => p.label(c.lang).chars().take(3).collect(),
                _ => r.label.clone(),
            };
        }
    }
    let axis = c.lang.pick("件数", "Incidents");
    let category_title = c.lang.pick("分類別（主たる原因）の件数", "By category (primary cause)");
    let month_title = c.lang.pick("月別の件数", "By month");
    let charts: Vec<Value> = [
        (
            todokede_publish::charts::bar_chart_in(&chart_stats, "category", category_title, axis, WIDE),
            todokede_publish::charts::bar_chart_in(&chart_stats, "category", category_title, axis, NARROW),
        ),
        (
            todokede_publish::charts::monthly_line_in(&chart_stats, month_title, axis, WIDE),
            todokede_publish::charts::monthly_line_in(&chart_stats, month_title, axis, NARROW),
        ),
    ]
    .into_iter()
    .filter(|(w, _)| !w.is_empty())
    .map(|(wide, narrow)| context! { wide => wide, narrow => narrow })
    .collect();
    render(
        &st,
        &c,
        "stats.html",
        context! {
            period => period.to_string(), period_label => s.period_label, columns => columns, threshold => s.threshold,
            no_data => s.has_data.contains(&false), multi_valued_note => c.lang.pick(todokede_publish::stats::MULTI_VALUED_NOTE, "One incident may count in several rows: the rows add up to more than the total."),
            received => s.reports_received, confirmed => s.reports_confirmed, tables => tables,
            // Our own SVG from the suppressed statistics (plotters escapes the text it writes).
            charts => charts,
            surges => surges.iter().map(|x| context! { label => todokede_app::crossref::facet_label(&x.key, c.lang), current => x.current, previous => x.previous, p => p_value(x.p_value) }).collect::<Vec<_>>(),
        },
    )
}

/// The statistics as CSV (the `stats --csv` lines: suppressed as the page shows them; a period
/// without records an empty cell, as the page's "—"), for Excel (UTF-8 BOM), named after the
/// period; audited as every export.
pub(super) async fn stats_csv(
    State(st): State<AppState>,
    Analyst(c, user): Analyst,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let period = match asked_period(&q) {
        Asked::Period(p) => p,
        Asked::Default => match default_period(&st).await {
            Ok(p) => p,
            Err(e) => return e.page(&st, &c),
        },
        Asked::Wrong(typed) => return wrong_period_page(&st, &c, "/stats", &typed),
    };
    let s = match publication::statistics(&st.store, period, todokede_publish::stats::DEFAULT_THRESHOLD).await {
        Ok(s) => s,
        Err(e) => return UiError::from(e).page(&st, &c),
    };
    let rows = s.tables.iter().map(|t| t.rows.len()).sum();
    let body = format!("{}{}", todokede_app::csv_export::BOM, todokede_publish::stats::to_csv(&s));
    let mut res = csv_download(&st, &user, "stats", &format!("period={period}"), rows, body).await;
    // The file says which period it holds (two downloads of one day are two periods).
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"todokede-stats-{period}.csv\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// `/publication` with a period that does not parse says so (what was typed kept) instead of
/// opening another period; without one, it opens on the statistics' default period.
pub(super) async fn publication_page(
    st: State<AppState>,
    Analyst(c, user): Analyst,
    q: Query<HashMap<String, String>>,
) -> Response {
    let Query(mut q) = q;
    match asked_period(&q) {
        Asked::Wrong(typed) => return wrong_period_page(&st, &c, "/publication", &typed),
        // The same default as the statistics: the newest half-year with confirmed reports.
        Asked::Default => match default_period(&st).await {
            Ok(p) => {
                q.insert("period".into(), p.to_string());
            }
            Err(e) => return e.page(&st, &c),
        },
        Asked::Period(_) => {}
    }
    super::publication_pages::publication_page(st, Analyst(c, user), Query(q)).await
}
