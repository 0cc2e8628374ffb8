//! The analysts' queue: filters (and each analyst's saved ones), paging, state counts, the SLA
//! clocks (a deadline per report, overdue ones flagged, filtered and sorted first), bulk actions
//! and the surge alerts.

use super::*;

/// The queue's own query keys: what a saved filter keeps and a bulk action returns to.
const FILTER_KEYS: &[&str] =
    &["state", "form", "kind", "cause", "mine", "answered", "unconfirmed", "overdue", "watch", "from", "until", "sort"];

/// The filter part of a query, in a fixed order (empty values dropped), as a query string.
fn filter_query(q: &[(String, String)]) -> String {
    FILTER_KEYS
        .iter()
        .flat_map(|k| q.iter().filter(move |(n, v)| n == k && !v.is_empty()))
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// How long ago or ahead, in hours or days, in the page's language.
fn span(d: time::Duration, l: Language) -> String {
    // To the nearest hour (a deadline 22 h 59 min away is "23 hours").
    let h = (d.whole_minutes().abs() + 30) / 60;
    if h >= 48 {
        format!("{}{}", h / 24, l.pick("日", if h / 24 == 1 { " day" } else { " days" }))
    } else {
        format!("{}{}", h.max(1), l.pick("時間", if h <= 1 { " hour" } else { " hours" }))
    }
}

/// A report's SLA as the queue and the report page show it: overdue (and by how much) or the
/// deadline; None when its state has no clock.
pub(super) fn sla_view(
    s: &todokede_app::settings::Settings,
    state: ReportState,
    since: time::OffsetDateTime,
    now: time::OffsetDateTime,
    l: Language,
) -> Option<Value> {
    let deadline = s.sla_deadline(state, since)?;
    let overdue = deadline <= now;
    let text = if overdue {
        format!("{} {}", l.pick("期限超過", "Overdue by"), span(now - deadline, l))
    } else {
        let left = span(deadline - now, l);
        let left = l.pick(format!("（残り{left}）"), format!(" (in {left})"));
        format!("{} {}{left}", l.pick("期限", "Due"), jst(deadline))
    };
    Some(context! { overdue, text, deadline => jst(deadline) })
}

/// The reports the queue's query asks for (the page's or the CSV's).
fn queue_filter(
    q: &[(String, String)],
    user: &todokede_store::User,
    settings: &todokede_app::settings::Settings,
    now: time::OffsetDateTime,
    limit: i64,
    offset: i64,
) -> ReportFilter {
    let get = |k: &str| q.iter().find(|(n, v)| n == k && !v.is_empty()).map(|(_, v)| v.clone());
    let date = |k: &str| get(k).and_then(|d| crate::wire::parse_date("date", Some(&d)).ok().flatten());
    ReportFilter {
        state: get("state").and_then(|s| ReportState::parse(&s).ok()),
        form: get("form").and_then(|s| ReportForm::parse(&s).ok()),
        reporter_kind: get("kind").and_then(|s| ReporterKind::parse(&s).ok()),
        received_from: date("from").map(|d| d.midnight().assume_offset(time::macros::offset!(+9))),
        received_before: date("until")
            .and_then(|d| d.next_day())
            .map(|d| d.midnight().assume_offset(time::macros::offset!(+9))),
        primary_cause: get("cause").and_then(|s| CauseCategory::parse(&s).ok()),
        assignee: (get("mine").is_some()).then_some(user.id),
        answered: get("answered").is_some(),
        unconfirmed: get("unconfirmed").is_some(),
        newest_first: get("sort").as_deref() != Some("old"),
        overdue: get("overdue").is_some(),
        watch_hit: get("watch").is_some(),
        overdue_first: get("sort").as_deref() == Some("sla"),
        sla: settings.sla_cutoffs(now),
        limit,
        offset,
        after: None,
    }
}

/// At most this many rows leave in one CSV (the queue pages by 50; the CSV is every row the
/// filter matches, up to this).
pub const CSV_MAX_ROWS: i64 = 50_000;

/// The queue as CSV: every report the current filter matches (not only the page shown), in
/// the page's order and language; the same authorization as the queue, audited.
pub(super) async fn queue_csv(
    State(st): State<AppState>,
    Analyst(c, user): Analyst,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let settings = match todokede_app::settings::load(&st.store).await {
        Ok(s) => s,
        Err(e) => return UiError::from(e).page(&st, &c),
    };
    let now = time::OffsetDateTime::now_utc();
    let filter = queue_filter(&q, &user, &settings, now, CSV_MAX_ROWS, 0);
    let Ok(rows) = st.store.list_reports(&filter).await else {
        return error_page(&st, &c, StatusCode::SERVICE_UNAVAILABLE, "一時的に表示できません。", "Unavailable.");
    };
    let body = todokede_app::csv_export::report_list(&rows, &settings, now, c.lang);
    csv_download(&st, &user, "queue", &filter_query(&q), rows.len(), body).await
}

pub(super) async fn queue(
    State(st): State<AppState>,
    Analyst(c, user): Analyst,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    queue_view(&st, &c, &user, &q, BulkTyped::default()).await
}

/// A refused bulk action, back on the queue: why (beside the bulk form), the reports ticked
/// and the values chosen, so nothing has to be chosen again.
#[derive(Default)]
struct BulkTyped {
    error: Option<String>,
    ids: Vec<String>,
    assignee: String,
    to: String,
}

// The body is the handler's as it was (`&st`, `&c` on references): kept so for the merge.
#[allow(clippy::needless_borrow)]
async fn queue_view(
    st: &AppState,
    c: &Ctx,
    user: &todokede_store::User,
    q: &[(String, String)],
    typed: BulkTyped,
) -> Response {
    let get = |k: &str| q.iter().find(|(n, v)| n == k && !v.is_empty()).map(|(_, v)| v.clone());
    let page: i64 = get("page").and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let per_page = 50;
    let settings = match todokede_app::settings::load(&st.store).await {
        Ok(s) => s,
        Err(e) => return UiError::from(e).page(&st, &c),
    };
    let now = time::OffsetDateTime::now_utc();
    let filter = queue_filter(q, user, &settings, now, per_page + 1, (page - 1) * per_page);
    let Ok(mut rows) = st.store.list_reports(&filter).await else {
        return error_page(&st, &c, StatusCode::SERVICE_UNAVAILABLE, "一時的に表示できません。", "Unavailable.");
    };
    let more = rows.len() as i64 > per_page;
    rows.truncate(per_page as usize);
    let counts = st.store.count_by_state().await.unwrap_or_default();
    let (answered, unconfirmed) = st.store.count_flags().await.unwrap_or_default();
    let (alerts_period, alerts) = crossref_pages::dashboard_alerts(&st, c.lang).await;
    let current = filter_query(q);
    let link = |p: i64| format!("/queue?{}{}page={p}", current, if current.is_empty() { "" } else { "&" });
    let l = c.lang;
    let saved = st.store.saved_filters(user.id).await.unwrap_or_default();
    let analysts: Vec<Value> = st
        .store
        .users()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|u| !u.disabled)
        .map(|u| context! { id => u.id.0, email => u.email })
        .collect();
    // The outcome of a bulk action (post/redirect/get): how many, and which were not changed.
    let bulk = get("bulk").and_then(|n| n.parse::<usize>().ok()).map(|n| {
        let skipped: Vec<String> = get("skipped")
            .unwrap_or_default()
            .split(',')
            .filter_map(|s| s.split_once(':'))
            .filter_map(|(tn, why)| {
                todokede_app::bulk::BulkFailure::parse(why).map(|w| format!("{tn}（{}）", w.text(l)))
            })
            .collect();
        context! { text => format!("{} {n} {}", l.pick("選んだ届出のうち", "Changed"), l.pick("件を変更しました。", "of the chosen reports.")), skipped }
    });
    let filter_saved = get("saved").map(|_| l.pick("絞り込み条件を保存しました。", "The filter was saved."));
    let refused = typed.error.is_some();
    let mut res = render(
        st,
        c,
        "queue.html",
        context! {
            counts => counts.iter().map(|(s, n)| context! { key => s.key(), label => label(*s, l), n => *n }).collect::<Vec<_>>(),
            states => options::<ReportState>(l), forms => options::<ReportForm>(l), kinds => options::<ReporterKind>(l), causes => options::<CauseCategory>(l),
            f => context! { state => get("state"), form => get("form"), kind => get("kind"), from => get("from"), until => get("until"), sort => get("sort"), cause => get("cause"), mine => get("mine").is_some(), answered => get("answered").is_some(), unconfirmed => get("unconfirmed").is_some(), overdue => get("overdue").is_some(), watch => get("watch").is_some() },
            reports => rows.iter().map(|r| context! {
                tracking_number => r.tracking_number.to_string(), received_at => jst(r.received_at), form => label(r.form, l),
                kind => r.reporter_kind.map(|k| label(k, l)).unwrap_or("—"), headline => r.headline, state => label(r.state, l), state_key => r.state.key(),
                answered => r.answered, confirmed => r.confirmed, watch_hit => r.watch_hit, sla => todokede_app::settings::Settings::clock_start(r.channel, r.received_at, r.state_since).and_then(|since| sla_view(&settings, r.state, since, now, l)),
                picked => typed.ids.contains(&r.tracking_number.to_string()),
            }).collect::<Vec<_>>(),
            bulk_typed => context! { error => typed.error, assignee => typed.assignee, to => typed.to },
            flags => context! { answered, unconfirmed },
            saved => saved.iter().map(|s| context! { id => s.id, name => s.name, href => format!("/queue?{}", s.query), current => s.query == current }).collect::<Vec<_>>(),
            current, analysts, bulk, filter_saved,
            prev_page => (page > 1).then(|| link(page - 1)), next_page => more.then(|| link(page + 1)), alerts, alerts_period,
        },
    );
    if refused {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

/// Save the current filter under a name (the same name again replaces it).
pub(super) async fn save_filter(
    State(st): State<AppState>,
    CsrfForm { c, user, form: f }: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let one = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let name = one("name");
    if name.is_empty() || name.chars().count() > 60 {
        return error_page(
            &st,
            &c,
            StatusCode::UNPROCESSABLE_ENTITY,
            "保存する名前を 1〜60 文字で入力してください。",
            "Give the filter a name of 1 to 60 characters.",
        );
    }
    // Only the queue's own keys are kept, whatever the form sent.
    let query = filter_query(&parse_query(&one("query")));
    match st.store.save_filter(user.id, &name, &query).await {
        Ok(_) => {
            Redirect::to(&format!("/queue?{query}{}saved=1", if query.is_empty() { "" } else { "&" })).into_response()
        }
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

pub(super) async fn delete_filter(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { c, user, form: _ }: CsrfForm<Vec<(String, String)>>,
) -> Response {
    match st.store.delete_saved_filter(user.id, id).await {
        Ok(()) => Redirect::to("/queue").into_response(),
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

/// The bulk form: the chosen reports (`ids`), which button (`action`: assign, state, link) and
/// its value (`assignee`, `to`); back to the same filter with the outcome.
pub(super) async fn bulk(
    State(st): State<AppState>,
    CsrfForm { c, user, form: f }: CsrfForm<Vec<(String, String)>>,
) -> Response {
    use todokede_app::bulk::BulkAction;
    let one = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let ids: Vec<String> = f.iter().filter(|(n, _)| n == "ids").map(|(_, v)| v.clone()).collect();
    let action = match one("action").as_str() {
        "assign" => BulkAction::Assign(one("assignee").parse::<i64>().ok().map(UserId)),
        "state" => match ReportState::parse(&one("to")) {
            Ok(s) => BulkAction::State(s),
            Err(_) => return error_page(&st, &c, StatusCode::BAD_REQUEST, "不正な状態です。", "Unknown state."),
        },
        "link" => BulkAction::Link,
        _ => return error_page(&st, &c, StatusCode::BAD_REQUEST, "不正な操作です。", "Unknown action."),
    };
    if let BulkAction::Assign(Some(u)) = action
        && !matches!(st.store.user(u).await, Ok(Some(x)) if !x.disabled)
    {
        return error_page(&st, &c, StatusCode::BAD_REQUEST, "その担当者はいません。", "No such analyst.");
    }
    match todokede_app::bulk::apply(&st.store, &ids, action, user.id).await {
        Ok(out) => {
            let back = filter_query(&parse_query(&one("back")));
            let skipped =
                out.failed.iter().map(|(tn, why)| format!("{tn}:{}", why.key())).collect::<Vec<_>>().join(",");
            Redirect::to(&format!(
                "/queue?{back}{}bulk={}&skipped={}",
                if back.is_empty() { "" } else { "&" },
                out.done.len(),
                urlencode(&skipped)
            ))
            .into_response()
        }
        // Nothing chosen, or one report to link: the queue again (its filter, what was ticked
        // and chosen), the reason beside the bulk form.
        Err(todokede_app::AppError::Refused { ja, en }) => {
            let typed = BulkTyped { error: Some(c.lang.pick(ja, en)), ids, assignee: one("assignee"), to: one("to") };
            queue_view(&st, &c, &user, &parse_query(&one("back")), typed).await
        }
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

/// A query string (our own, from a hidden field) back to its pairs; anything unreadable is none.
fn parse_query(s: &str) -> Vec<(String, String)> {
    format!("/?{s}")
        .parse::<axum::http::Uri>()
        .ok()
        .and_then(|u| Query::<Vec<(String, String)>>::try_from_uri(&u).ok())
        .map(|Query(q)| q)
        .unwrap_or_default()
}
