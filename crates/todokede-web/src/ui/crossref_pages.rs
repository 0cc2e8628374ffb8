//! Across reports in the analysts' UI: correlated and near-duplicate reports on a report page
//! (with one-click linking into an incident), search (words or an indicator), indicator
//! pages, clusters, and the surge alerts on the queue.

use super::*;
use todokede_app::crossref::{self, SearchKind};
use todokede_store::{IndicatorQuery, SearchQuery};

fn summary_row(r: &todokede_store::ReportSummary, lang: Language) -> Value {
    context! {
        tracking_number => r.tracking_number.to_string(), received_at => jst(r.received_at), form => label(r.form, lang),
        kind => r.reporter_kind.map(|k| label(k, lang)).unwrap_or("—"), headline => r.headline, state => label(r.state, lang), state_key => r.state.key(),
        watch_hit => r.watch_hit,
    }
}

/// Reports sharing indicators with this one (suggested links), and its near-duplicates.
pub(super) async fn suggestions(st: &AppState, id: ReportId, linked: &[String]) -> (Vec<Value>, Value) {
    let mut by_report: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for c in st.store.correlations(id, crossref::CORRELATION_CAP).await.unwrap_or_default() {
        by_report
            .entry(c.tracking_number.to_string())
            .or_default()
            .push(context! { kind => c.kind, value => c.value.clone(), q => urlencode(&c.value) });
    }
    let suggested = by_report
        .into_iter()
        .map(|(tn, values)| context! { linked => linked.contains(&tn), tracking_number => tn, values })
        .collect();
    let near = match st.store.cluster_of(id).await.ok().flatten() {
        Some((cluster, similarity)) => {
            let members = st.store.cluster_members(cluster).await.unwrap_or_default();
            let others: Vec<Value> = members.iter().filter(|m| m.id != id).map(|m| context! { tracking_number => m.tracking_number.to_string(), headline => m.headline, linked => linked.contains(&m.tracking_number.to_string()) }).collect();
            let root = members.iter().find(|m| m.id == cluster).map(|m| m.tracking_number.to_string());
            context! { others, root, similarity => format!("{:.0}%", similarity * 100.0) }
        }
        None => context! { others => Vec::<Value>::new() },
    };
    (suggested, near)
}

/// What a search found: the reports (with, for an indicator, the value each matched and
/// whether it is a common one), shared by the page and its CSV.
struct Found {
    rows: Vec<(todokede_store::ReportSummary, Option<(String, bool)>)>,
    matched_indicator: Option<String>,
    /// The analysts' list entries the searched indicator falls under.
    list_matches: Vec<todokede_store::WatchHit>,
}

async fn search_results(st: &AppState, c: &Ctx, q: &HashMap<String, String>) -> Result<Found, Response> {
    // A NUL byte is in no report and PostgreSQL cannot even compare with it: a 400, said so.
    if q.values().any(|v| v.contains('\0')) {
        return Err(error_page(
            st,
            c,
            StatusCode::BAD_REQUEST,
            "検索語に使えない文字（NUL）が含まれています。",
            "The search contains a character that cannot be searched for (NUL).",
        ));
    }
    let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty()).cloned();
    let period = get("period").and_then(|p| Period::parse(&p).ok());
    let span = period.map(crossref::period_span);
    let filter = ReportFilter {
        state: get("state").and_then(|s| ReportState::parse(&s).ok()),
        reporter_kind: get("kind").and_then(|s| ReporterKind::parse(&s).ok()),
        primary_cause: get("cause").and_then(|s| CauseCategory::parse(&s).ok()),
        received_from: span.map(|s| s.0),
        received_before: span.map(|s| s.1),
        limit: 100,
        ..Default::default()
    };
    let mut matched_indicator = None;
    let mut list_matches = vec![];
    let rows = if let Some(facet) = get("facet") {
        // The reports behind a surge alert.
        let (from, to) =
            span.unwrap_or_else(|| crossref::period_span(crossref::current_half(time::OffsetDateTime::now_utc())));
        st.store
            .reports_with_facet(&facet, from, to, 200)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r, None))
            .collect()
    } else if let Some(query) = get("q") {
        match crossref::parse_search(&query) {
            SearchKind::Indicator(iq) => {
                matched_indicator = Some(match &iq {
                    IndicatorQuery::Exact(v) => v.clone(),
                    IndicatorQuery::Ipv4Range(..) => format!("{query} (CIDR)"),
                    IndicatorQuery::DomainTree(_) => {
                        format!("{query} {}", c.lang.pick("とそのサブドメイン", "and subdomains"))
                    }
                });
                list_matches =
                    st.store.watchlist_matches(&iq, time::OffsetDateTime::now_utc()).await.unwrap_or_default();
                st.store
                    .reports_by_indicator(&iq, 200)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(r, ..)| {
                        filter.state.is_none_or(|s| r.state == s)
                            && span.is_none_or(|(a, b)| r.received_at >= a && r.received_at < b)
                    })
                    .map(|(r, kind, value, common)| (r, Some((format!("{kind} {value}"), common))))
                    .collect()
            }
            SearchKind::Text(terms) => match st.store.search(&SearchQuery { terms, filter }).await {
                Ok(rows) => rows.into_iter().map(|r| (r, None)).collect(),
                Err(e) => return Err(UiError::from(e).page(st, c)),
            },
        }
    } else {
        vec![]
    };
    Ok(Found { rows, matched_indicator, list_matches })
}

/// The search's own query keys, in a fixed order, for its CSV link.
fn search_query(q: &HashMap<String, String>) -> String {
    ["q", "facet", "period", "state", "kind", "cause"]
        .iter()
        .filter_map(|k| q.get(*k).filter(|v| !v.trim().is_empty()).map(|v| format!("{k}={}", urlencode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

pub(super) async fn search_page(
    State(st): State<AppState>,
    Analyst(c, _user): Analyst,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty()).cloned();
    let started = std::time::Instant::now();
    let found = match search_results(&st, &c, &q).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let results: Vec<Value> = found
        .rows
        .iter()
        .map(|(r, m)| match m {
            Some((matched, common)) => context! { ..summary_row(r, c.lang), ..context! { matched, common => *common } },
            None => summary_row(r, c.lang),
        })
        .collect();
    render(
        &st,
        &c,
        "search.html",
        context! {
            q => get("q"), facet => get("facet").map(|f| crossref::facet_label(&f, c.lang)), period => get("period"),
            f => context! { state => get("state"), kind => get("kind"), cause => get("cause") },
            states => options::<ReportState>(c.lang), kinds => options::<ReporterKind>(c.lang), causes => options::<CauseCategory>(c.lang),
            matched_indicator => found.matched_indicator, results, searched => get("q").is_some() || get("facet").is_some(),
            csv_query => search_query(&q),
            list_matches => found.list_matches.iter().map(|h| context! {
                list => h.list, href => format!("/watchlists/{}", urlencode(&h.list)), watch => h.list_kind == WatchlistKind::Watch,
                kind => label(h.list_kind, c.lang), entry => format!("{} {}", h.entry.kind, h.entry.value), source_id => h.entry.source_id,
            }).collect::<Vec<_>>(),
            elapsed => format!("{:.0}", started.elapsed().as_secs_f64() * 1e3),
        },
    )
}

/// The search results as CSV: the same search, the same authorization, audited.
pub(super) async fn search_csv(
    State(st): State<AppState>,
    Analyst(c, user): Analyst,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let found = match search_results(&st, &c, &q).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let settings = match todokede_app::settings::load(&st.store).await {
        Ok(s) => s,
        Err(e) => return UiError::from(e).page(&st, &c),
    };
    let rows: Vec<todokede_store::ReportSummary> = found.rows.into_iter().map(|(r, _)| r).collect();
    let body = todokede_app::csv_export::report_list(&rows, &settings, time::OffsetDateTime::now_utc(), c.lang);
    csv_download(&st, &user, "search", &search_query(&q), rows.len(), body).await
}

pub(super) async fn clusters_page(State(st): State<AppState>, Analyst(c, _user): Analyst) -> Response {
    let clusters = st.store.clusters(200).await.unwrap_or_default();
    let mut rows = vec![];
    for cl in &clusters {
        let members = st.store.cluster_members(cl.cluster).await.unwrap_or_default();
        rows.push(context! { root => cl.tracking_number.to_string(), members => cl.members, latest => jst(cl.latest), headline => members.first().map(|m| m.headline.clone()) });
    }
    render(&st, &c, "clusters.html", context! { clusters => rows, members => Vec::<Value>::new() })
}

pub(super) async fn cluster_page(
    State(st): State<AppState>,
    Analyst(c, _user): Analyst,
    Path(tn): Path<String>,
) -> Response {
    let Some(r) = load_for_analyst(&st, &tn).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    let cluster = st.store.cluster_of(r.id).await.ok().flatten().map(|(c, _)| c).unwrap_or(r.id);
    let members = st.store.cluster_members(cluster).await.unwrap_or_default();
    render(
        &st,
        &c,
        "clusters.html",
        context! { root => tn, members => members.iter().map(|m| summary_row(m, c.lang)).collect::<Vec<_>>(), clusters => Vec::<Value>::new() },
    )
}

/// The half-year of the latest report: the current one on a live system; on a store loaded
/// with history, the latest period it has (not an empty half-year of today's calendar).
pub(super) async fn newest_half(st: &AppState) -> todokede_domain::Period {
    let newest = st
        .store
        .list_reports(&ReportFilter { newest_first: true, limit: 1, ..Default::default() })
        .await
        .ok()
        .and_then(|r| r.first().map(|r| r.received_at));
    crossref::current_half(newest.unwrap_or_else(time::OffsetDateTime::now_utc))
}

/// Surge alerts of the current half-year for the queue, cached for a minute (they read every
/// report's facets).
pub(super) async fn dashboard_alerts(st: &AppState, lang: Language) -> (String, Vec<Value>) {
    let period = newest_half(st).await;
    let alerts = {
        let cached = st.alerts_cache.lock().expect("cache lock").clone();
        match cached {
            Some((at, p, a)) if p == period && at.elapsed() < std::time::Duration::from_secs(60) => a,
            _ => {
                let a = crossref::trend_alerts(&st.store, period).await.unwrap_or_default();
                *st.alerts_cache.lock().expect("cache lock") = Some((std::time::Instant::now(), period, a.clone()));
                a
            }
        }
    };
    let rows = alerts
        .iter()
        .take(5)
        .map(|s| context! {
            label => crossref::facet_label(&s.key, lang), current => s.current, previous => s.previous, facet => urlencode(&s.key), period => period.to_string(),
            p => p_value(s.p_value),
        })
        .collect();
    (period.label(lang), rows)
}
