//! The analysts' queue: filters, paging, state counts and the surge alerts.

use super::*;

pub(super) async fn queue(
    State(st): State<AppState>,
    Analyst(c, _user): Analyst,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let date = |k: &str| get(k).and_then(|d| crate::wire::parse_date("date", Some(&d)).ok().flatten());
    let page: i64 = get("page").and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let per_page = 50;
    let filter = ReportFilter {
        state: get("state").and_then(|s| ReportState::parse(&s).ok()),
        form: get("form").and_then(|s| ReportForm::parse(&s).ok()),
        reporter_kind: get("kind").and_then(|s| ReporterKind::parse(&s).ok()),
        received_from: date("from").map(|d| d.midnight().assume_offset(time::macros::offset!(+9))),
        received_before: date("until")
            .and_then(|d| d.next_day())
            .map(|d| d.midnight().assume_offset(time::macros::offset!(+9))),
        primary_cause: get("cause").and_then(|s| CauseCategory::parse(&s).ok()),
        assignee: (get("mine").is_some()).then_some(_user.id),
        answered: get("answered").is_some(),
        unconfirmed: get("unconfirmed").is_some(),
        newest_first: get("sort").as_deref() != Some("old"),
        limit: per_page + 1,
        offset: (page - 1) * per_page,
        after: None,
    };
    let Ok(mut rows) = st.store.list_reports(&filter).await else {
        return error_page(&st, &c, StatusCode::SERVICE_UNAVAILABLE, "一時的に表示できません。", "Unavailable.");
    };
    let more = rows.len() as i64 > per_page;
    rows.truncate(per_page as usize);
    let counts = st.store.count_by_state().await.unwrap_or_default();
    let (answered, unconfirmed) = st.store.count_flags().await.unwrap_or_default();
    let (alerts_period, alerts) = crossref_pages::dashboard_alerts(&st).await;
    let link = |p: i64| {
        let mut params: Vec<(String, String)> =
            q.iter().filter(|(k, _)| k.as_str() != "page").map(|(k, v)| (k.clone(), v.clone())).collect();
        params.push(("page".into(), p.to_string()));
        format!(
            "/queue?{}",
            params.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&")
        )
    };
    render(
        &st,
        &c,
        "queue.html",
        context! {
            counts => counts.iter().map(|(s, n)| context! { key => s.key(), label => label(*s, c.lang), n => *n }).collect::<Vec<_>>(),
            states => options::<ReportState>(c.lang), forms => options::<ReportForm>(c.lang), kinds => options::<ReporterKind>(c.lang), causes => options::<CauseCategory>(c.lang),
            f => context! { state => get("state"), form => get("form"), kind => get("kind"), from => get("from"), until => get("until"), sort => get("sort"), cause => get("cause"), mine => get("mine").is_some(), answered => get("answered").is_some(), unconfirmed => get("unconfirmed").is_some() },
            reports => rows.iter().map(|r| context! {
                tracking_number => r.tracking_number.to_string(), received_at => jst(r.received_at), form => label(r.form, c.lang),
                kind => r.reporter_kind.map(|k| label(k, c.lang)).unwrap_or("—"), headline => r.headline, state => label(r.state, c.lang), state_key => r.state.key(),
                answered => r.answered, confirmed => r.confirmed,
            }).collect::<Vec<_>>(),
            flags => context! { answered, unconfirmed },
            prev_page => (page > 1).then(|| link(page - 1)), next_page => more.then(|| link(page + 1)), alerts, alerts_period,
        },
    )
}
