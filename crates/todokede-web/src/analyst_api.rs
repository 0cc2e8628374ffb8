//! `/api/v1/analyst/*`: the analysts' API for scripts, authorised by API tokens
//! (`Authorization: Bearer tdk_…`, `todokede_app::tokens`): scoped read / write / export,
//! every use in the audit log. The same error shape as the reporter API (`error.rs`).

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use todokede_app::tokens::{self, Refused, Scope};
use todokede_domain::*;
use todokede_store::{ReportFilter, ReportSummary};

use crate::AppState;
use crate::error::ApiError;
use crate::wire::Labelled;

/// Every route of the analysts' API (the OpenAPI document lists exactly these; a test checks).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/analyst/me"),
    ("GET", "/api/v1/analyst/reports"),
    ("GET", "/api/v1/analyst/reports/{tracking_number}"),
    ("POST", "/api/v1/analyst/reports/{tracking_number}/state"),
    ("POST", "/api/v1/analyst/reports/{tracking_number}/assignee"),
    ("POST", "/api/v1/analyst/reports/{tracking_number}/classification"),
    ("POST", "/api/v1/analyst/reports/{tracking_number}/links"),
    ("POST", "/api/v1/analyst/reports/{tracking_number}/replies"),
    ("POST", "/api/v1/analyst/reports/{tracking_number}/notes"),
    ("POST", "/api/v1/analyst/reports/{tracking_number}/sharing"),
    ("GET", "/api/v1/analyst/export/stix"),
    ("GET", "/api/v1/analyst/search"),
    ("GET", "/api/v1/analyst/statistics"),
];

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/analyst/me", get(me))
        .route("/api/v1/analyst/reports", get(list))
        .route("/api/v1/analyst/reports/{tracking_number}", get(read))
        .route("/api/v1/analyst/reports/{tracking_number}/state", post(change_state))
        .route("/api/v1/analyst/reports/{tracking_number}/assignee", post(assign))
        .route("/api/v1/analyst/reports/{tracking_number}/classification", post(classify))
        .route("/api/v1/analyst/reports/{tracking_number}/links", post(link))
        .route("/api/v1/analyst/reports/{tracking_number}/replies", post(reply))
        .route("/api/v1/analyst/reports/{tracking_number}/notes", post(note))
        .route("/api/v1/analyst/reports/{tracking_number}/sharing", post(share))
        .route("/api/v1/analyst/export/stix", get(export_stix))
        .route("/api/v1/analyst/search", get(search))
        .route("/api/v1/analyst/statistics", get(statistics))
        .with_state(state)
}

/// The caller of an analysts' API request: the token's account and scopes.
pub struct Caller(pub tokens::Caller);

impl Caller {
    /// 403 unless the token has `scope` (`write` includes `read`).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if tokens::allows(&self.0.scopes, scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("this token lacks the `{}` scope", scope.key()),
            ))
        }
    }
}

/// 401 with the challenge RFC 6750 asks for.
fn unauthorized(message: &str) -> Response {
    let mut res = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"todokede\""));
    res
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_owned());
        let Some(presented) = presented else {
            return Err(unauthorized(
                "send an API token as `Authorization: Bearer <token>` (created on /account or with `todokede token create`)",
            ));
        };
        let what = format!("{} {}", parts.method, parts.uri.path());
        match tokens::authenticate(&st.store, &presented, &what).await {
            Ok(Ok(caller)) => Ok(Caller(caller)),
            Ok(Err(why)) => {
                tracing::info!(?why, %what, "API token refused");
                Err(unauthorized(match why {
                    Refused::Expired => "this API token has expired",
                    Refused::Revoked => "this API token was revoked",
                    Refused::Unknown | Refused::OwnerDisabled => "this API token is not valid",
                }))
            }
            Err(e) => Err(ApiError::from(e).into_response()),
        }
    }
}

#[derive(Serialize)]
struct Me {
    email: String,
    role: &'static str,
    token_id: i64,
    scopes: Vec<&'static str>,
}

/// Who the token acts as, and what it may do.
async fn me(State(_): State<AppState>, Caller(c): Caller) -> Json<Me> {
    Json(Me {
        email: c.user.email.clone(),
        role: c.user.role.key(),
        token_id: c.token_id,
        scopes: c.scopes.iter().map(|s| s.key()).collect(),
    })
}

// ── reading ─────────────────────────────────────────────────────────────────────────────

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

fn parse_opt<T: ClosedEnum>(q: &HashMap<String, String>, name: &'static str) -> Result<Option<T>, ApiError> {
    match q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => T::parse(v).map(Some).map_err(|e| {
            let mut err = bad("invalid_parameter", format!("{name}: {e}"));
            err.field = Some(name);
            err
        }),
    }
}

fn limit_of(q: &HashMap<String, String>) -> Result<i64, ApiError> {
    match q.get("limit") {
        None => Ok(50),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=200).contains(&n) => Ok(n),
            _ => Err(bad("invalid_parameter", "limit: 1 to 200")),
        },
    }
}

/// The cursor of a page: the last row's (received_at, id) and the order, opaque to clients.
fn encode_cursor(newest_first: bool, r: &ReportSummary) -> String {
    let raw = format!("{}:{}:{}", u8::from(newest_first), r.received_at.unix_timestamp_nanos(), r.id.0);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(c: &str) -> Option<(bool, time::OffsetDateTime, ReportId)> {
    let raw = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    let mut parts = raw.split(':');
    let order = parts.next()? == "1";
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(parts.next()?.parse().ok()?).ok()?;
    let id = ReportId(parts.next()?.parse().ok()?);
    Some((order, at, id))
}

fn date_param(q: &HashMap<String, String>, name: &'static str) -> Result<Option<time::OffsetDateTime>, ApiError> {
    let Some(v) = q.get(name).filter(|v| !v.is_empty()) else { return Ok(None) };
    if let Ok(t) = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339) {
        return Ok(Some(t));
    }
    let d = crate::wire::parse_date(name, Some(v))
        .ok()
        .flatten()
        .ok_or_else(|| bad("invalid_parameter", format!("{name}: a date (2019-07-01) or an RFC 3339 time")))?;
    // A bare date is 00:00 JST, the scheme's day.
    Ok(Some(d.midnight().assume_offset(time::macros::offset!(+9))))
}

async fn user_by_email(st: &AppState, email: &str) -> Result<todokede_store::User, ApiError> {
    st.store.user_by_email(email).await?.filter(|u| !u.disabled).ok_or_else(|| {
        let mut e = bad("unknown_user", format!("no active analyst {email}"));
        e.field = Some("assignee");
        e
    })
}

/// The queue's filters from the query string.
async fn filter_of(st: &AppState, q: &HashMap<String, String>) -> Result<ReportFilter, ApiError> {
    let assignee = match q.get("assignee").map(String::as_str) {
        None | Some("") => None,
        Some(email) => Some(user_by_email(st, email).await?.id),
    };
    Ok(ReportFilter {
        state: parse_opt(q, "state")?,
        form: parse_opt(q, "form")?,
        reporter_kind: parse_opt(q, "reporter_kind")?,
        primary_cause: parse_opt(q, "category")?,
        received_from: date_param(q, "received_from")?,
        received_before: date_param(q, "received_before")?,
        assignee,
        newest_first: match q.get("order").map(String::as_str) {
            None | Some("newest") => true,
            Some("oldest") => false,
            Some(_) => return Err(bad("invalid_parameter", "order: newest or oldest")),
        },
        limit: limit_of(q)?,
        ..Default::default()
    })
}

#[derive(Serialize)]
struct SummaryView {
    tracking_number: String,
    form: Labelled,
    state: Labelled,
    channel: &'static str,
    received_at: String,
    reporter_kind: Option<&'static str>,
    damage_status: &'static str,
    headline: String,
    url: String,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn summary(r: &ReportSummary) -> SummaryView {
    SummaryView {
        tracking_number: r.tracking_number.to_string(),
        form: Labelled::of(r.form),
        state: Labelled::of(r.state),
        channel: r.channel.key(),
        received_at: rfc3339(r.received_at),
        reporter_kind: r.reporter_kind.map(|k| k.key()),
        damage_status: r.damage_status.key(),
        headline: r.headline.clone(),
        url: format!("/api/v1/analyst/reports/{}", r.tracking_number),
    }
}

/// `GET /api/v1/analyst/reports`: the queue, filtered, newest first (or `order=oldest`), in
/// pages of `limit`; `next_cursor` continues after the last row (keyset: a report received
/// meanwhile neither repeats nor shifts a page).
async fn list(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Read)?;
    let mut filter = filter_of(&st, &q).await?;
    if let Some(c) = q.get("cursor").filter(|c| !c.is_empty()) {
        let (order, at, id) = decode_cursor(c).ok_or_else(|| bad("invalid_cursor", "cursor: not one this API gave"))?;
        if order != filter.newest_first {
            return Err(bad("invalid_cursor", "cursor: it belongs to the other order"));
        }
        filter.after = Some((at, id));
    }
    let page = st.store.list_reports(&filter).await?;
    let next = (page.len() as i64 == filter.limit)
        .then(|| page.last().map(|r| encode_cursor(filter.newest_first, r)))
        .flatten();
    Ok(Json(json!({"reports": page.iter().map(summary).collect::<Vec<_>>(), "next_cursor": next})))
}

/// The ETag of a report version.
fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"v{version}\"")).expect("an ETag is ASCII")
}

/// The version an `If-Match` names; writes need one (428 without: a client must have read
/// what it changes).
fn if_match(headers: &HeaderMap) -> Result<i64, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "if_match_required",
            "send the report's ETag as If-Match (read it with GET first), so a change made meanwhile is not overwritten",
        ));
    };
    v.to_str()
        .ok()
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|s| s.strip_prefix('v'))
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ApiError::bad_request("bad_if_match", "If-Match must be an ETag this API gave, e.g. \"v3\""))
}

async fn load(st: &AppState, tn: &str) -> Result<Report, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no report with this tracking number");
    let tn = TrackingNumber::parse(tn).map_err(|_| not_found())?;
    let id = st.store.report_id_by_tracking(&tn).await?.ok_or_else(not_found)?;
    st.store.report(id).await?.ok_or_else(not_found)
}

/// A report as analysts see it: content, the automatic analysis, the confirmed
/// classification, links, the whole timeline (notes included), and its version.
async fn report_view(st: &AppState, r: &Report) -> Result<Value, ApiError> {
    let mut emails: HashMap<UserId, String> = HashMap::new();
    for u in st.store.users().await? {
        emails.insert(u.id, u.email);
    }
    let who = |u: &UserId| emails.get(u).cloned();
    // Who did a state change: an analyst (by address), the reporter, or the system.
    let actor = |a: &Actor| match a {
        Actor::Analyst(u) => json!(who(u)),
        Actor::Reporter => json!("reporter"),
        Actor::System => json!("system"),
    };
    let keys = |v: &[&'static str]| v.to_vec();
    let c = &r.content;
    let analysis = match st.store.analysis(r.id).await? {
        Some(j) => {
            serde_json::from_str::<Value>(&j).map_err(|e| ApiError::from(todokede_app::AppError::internal(e)))?
        }
        None => Value::Null,
    };
    let classification = st.store.classification(r.id).await?.map(|k| {
        json!({
            "causes": keys(&k.causes.iter().map(|x| x.key()).collect::<Vec<_>>()),
            "damages": k.damages.iter().map(|x| x.key()).collect::<Vec<_>>(),
            "attack_types": k.attack_types.iter().map(|x| x.key()).collect::<Vec<_>>(),
            "techniques": k.techniques, "has_damage": k.has_damage,
        })
    });
    let attachments = |a: &[AttachmentMeta]| -> Vec<Value> {
        a.iter()
            .map(
                |a| json!({"filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256}),
            )
            .collect()
    };
    let timeline: Vec<Value> = r
        .timeline
        .iter()
        .map(|e| match e {
            TimelineEntry::StateChanged { from, to, by, at } => {
                json!({"kind": "state", "at": rfc3339(*at), "by": actor(by), "from": from.key(), "to": to.key()})
            }
            TimelineEntry::FollowUp { body, attachments: a, at } => {
                json!({"kind": "follow_up", "at": rfc3339(*at), "body": body, "attachments": attachments(a)})
            }
            TimelineEntry::Note { body, by, at } => {
                json!({"kind": "note", "at": rfc3339(*at), "by": who(by), "body": body})
            }
            TimelineEntry::Reply { body, by, at } => {
                json!({"kind": "reply", "at": rfc3339(*at), "by": who(by), "body": body})
            }
            TimelineEntry::Assigned { to, by, at } => {
                json!({"kind": "assign", "at": rfc3339(*at), "by": who(by), "to": to.as_ref().and_then(who)})
            }
            TimelineEntry::Classified { primary_cause, by, at } => {
                json!({"kind": "classify", "at": rfc3339(*at), "by": who(by), "primary_cause": primary_cause.map(|c| c.key())})
            }
            TimelineEntry::Linked { other, by, at } => {
                json!({"kind": "link", "at": rfc3339(*at), "by": who(by), "other": other.to_string()})
            }
        })
        .collect();
    let links: Vec<String> = st.store.linked_reports(r.id).await?.iter().map(|t| t.to_string()).collect();
    Ok(json!({
        "tracking_number": r.tracking_number.to_string(),
        "version": r.version,
        "form": Labelled::of(r.content.form),
        "state": Labelled::of(r.state),
        "allowed_states": ReportState::ALL.iter().filter(|s| r.state.transition(**s).is_ok()).map(|s| s.key()).collect::<Vec<_>>(),
        "channel": r.channel.key(),
        "received_at": rfc3339(r.received_at),
        "assignee": r.assignee.as_ref().and_then(who),
        "content": {
            "language": c.language.key(),
            "reporter": {"kind": c.reporter.kind.map(|k| k.key()), "name": c.reporter.name, "organization": c.reporter.organization,
                         "email": c.reporter.email.as_ref().map(|e| e.as_str()), "phone": c.reporter.phone, "address": c.reporter.address},
            "discovered_on": c.discovered_on.map(|d| d.to_string()),
            "discovery": c.discovery.map(|k| k.key()), "discovery_narrative": c.discovery_narrative,
            "damage_status": c.damage_status.key(),
            "damages": c.damages.iter().map(|k| k.key()).collect::<Vec<_>>(), "damage_narrative": c.damage_narrative,
            "causes": c.causes.iter().map(|k| k.key()).collect::<Vec<_>>(), "cause_narrative": c.cause_narrative,
            "response_narrative": c.response_narrative,
            "description": c.description,
        },
        "attachments": attachments(&r.attachments),
        "intake_notes": r.intake_notes,
        "analysis": analysis,
        "classification": classification,
        "links": links,
        "timeline": timeline,
    }))
}

async fn respond(st: &AppState, r: &Report) -> Result<Response, ApiError> {
    let body = report_view(st, r).await?;
    let mut res = Json(body).into_response();
    res.headers_mut().insert(header::ETAG, etag(r.version));
    Ok(res)
}

/// `GET /api/v1/analyst/reports/{tracking_number}`, with its ETag.
async fn read(State(st): State<AppState>, caller: Caller, Path(tn): Path<String>) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let r = load(&st, &tn).await?;
    respond(&st, &r).await
}

fn body_of<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request("malformed_json", e.to_string()))
}

/// A write: the caller needs `write`, the report the version in If-Match; the answer is the
/// report as it is now, with its new ETag.
async fn write<F, Fut>(
    st: &AppState,
    caller: &Caller,
    tn: &str,
    headers: &HeaderMap,
    f: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(Report, i64) -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>>,
{
    caller.require(Scope::Write)?;
    let version = if_match(headers)?;
    let r = load(st, tn).await?;
    let id = r.id;
    f(r, version).await?;
    let now = st.store.report(id).await?.ok_or_else(ApiError::not_found)?;
    respond(st, &now).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    to: String,
}

async fn change_state(
    State(st): State<AppState>,
    caller: Caller,
    Path(tn): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: StateBody = body_of(&body)?;
    let user = caller.0.user.id;
    let state = st.clone();
    write(&st, &caller, &tn, &headers, |r, v| async move {
        let st = state;
        let to = ReportState::parse(&b.to).map_err(|e| {
            let mut err = bad("invalid_field", e.to_string());
            err.field = Some("to");
            err
        })?;
        st.store.transition(r.id, to, user, Some(v)).await?;
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// An analyst's e-mail address, or null for nobody.
    assignee: Option<String>,
}

async fn assign(
    State(st): State<AppState>,
    caller: Caller,
    Path(tn): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: AssignBody = body_of(&body)?;
    let user = caller.0.user.id;
    let state = st.clone();
    write(&st, &caller, &tn, &headers, |r, v| async move {
        let st = state;
        let to = match b.assignee.as_deref() {
            Some(email) => Some(user_by_email(&st, email).await?.id),
            None => None,
        };
        st.store.assign(r.id, to, user, Some(v)).await?;
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassifyBody {
    /// Primary first. Absent: the automatic value of that dimension.
    causes: Option<Vec<String>>,
    damages: Option<Vec<String>>,
    attack_types: Option<Vec<String>>,
    techniques: Option<Vec<String>>,
    /// true, false or null (unknown); absent: the automatic value.
    #[serde(default, deserialize_with = "present")]
    has_damage: Option<Option<bool>>,
}

/// Tells an absent field (None) from an explicit null (Some(None)).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<bool>>, D::Error> {
    Ok(Some(Option::<bool>::deserialize(d)?))
}

fn keys_of<T: ClosedEnum>(v: &Option<Vec<String>>, field: &'static str) -> Result<Option<Vec<T>>, ApiError> {
    v.as_ref()
        .map(|v| {
            v.iter().map(|k| T::parse(k)).collect::<Result<Vec<T>, _>>().map_err(|e| {
                let mut err = bad("invalid_field", e.to_string());
                err.field = Some(field);
                err
            })
        })
        .transpose()
}

async fn classify(
    State(st): State<AppState>,
    caller: Caller,
    Path(tn): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: ClassifyBody = body_of(&body)?;
    let user = caller.0.user.id;
    let state = st.clone();
    write(&st, &caller, &tn, &headers, |r, v| async move {
        let st = state;
        let o = todokede_app::classification::Overrides {
            causes: keys_of(&b.causes, "causes")?,
            damages: keys_of(&b.damages, "damages")?,
            attack_types: keys_of(&b.attack_types, "attack_types")?,
            techniques: b.techniques.clone(),
            has_damage: b.has_damage,
        };
        todokede_app::classification::confirm(&st.store, r.id, user, &o, Some(v)).await?;
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    /// The tracking number of the other report.
    other: String,
}

async fn link(
    State(st): State<AppState>,
    caller: Caller,
    Path(tn): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: LinkBody = body_of(&body)?;
    let user = caller.0.user.id;
    let state = st.clone();
    write(&st, &caller, &tn, &headers, |r, v| async move {
        let st = state;
        let other = load(&st, &b.other).await.map_err(|_| {
            let mut err = bad("invalid_field", "no report with that tracking number");
            err.field = Some("other");
            err
        })?;
        if other.id == r.id {
            return Err(bad("invalid_field", "a report cannot be linked to itself"));
        }
        st.store.link_reports(r.id, other.id, user, Some(v)).await?;
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextBody {
    body: String,
}

fn text(b: &TextBody) -> Result<String, ApiError> {
    let t =
        todokede_domain::submission::text_field("body", Some(&b.body), todokede_domain::submission::MAX_TEXT_CHARS)?;
    t.ok_or_else(|| {
        let mut err = bad("invalid_field", "must not be empty");
        err.field = Some("body");
        err
    })
}

/// A reply to the reporter: on the timeline and, when they gave an address, by mail.
async fn reply(
    State(st): State<AppState>,
    caller: Caller,
    Path(tn): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: TextBody = body_of(&body)?;
    let user = caller.0.user.id;
    let state = st.clone();
    write(&st, &caller, &tn, &headers, |r, v| async move {
        let st = state;
        let t = text(&b)?;
        todokede_app::replies::reply_to_reporter(&st.store, &st.mail, r.id, user, &t, Some(v)).await?;
        Ok(())
    })
    .await
}

/// An internal note (never shown to the reporter).
async fn note(
    State(st): State<AppState>,
    caller: Caller,
    Path(tn): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: TextBody = body_of(&body)?;
    let user = caller.0.user.id;
    let state = st.clone();
    write(&st, &caller, &tn, &headers, |r, v| async move {
        let st = state;
        let t = text(&b)?;
        st.store.add_note(r.id, user, &t, Some(v)).await?;
        Ok(())
    })
    .await
}

/// `GET /api/v1/analyst/search?q=…`: words (all must occur, Japanese substrings too) or one
/// indicator (an address, a CIDR range, a domain with its subdomains, a hash, a URL, an
/// e-mail address), with the queue's filters; at most `limit` (200) hits, newest first.
async fn search(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    use todokede_app::crossref::{SearchKind, parse_search};
    caller.require(Scope::Read)?;
    let query = q.get("q").map(|s| s.trim()).unwrap_or("");
    if query.is_empty() || query.contains('\0') {
        return Err(bad("invalid_parameter", "q: the words or the indicator to search for"));
    }
    let mut filter = filter_of(&st, &q).await?;
    filter.newest_first = true;
    let hits: Vec<Value> = match parse_search(query) {
        SearchKind::Indicator(iq) => st
            .store
            .reports_by_indicator(&iq, filter.limit)
            .await?
            .into_iter()
            .filter(|(r, ..)| {
                filter.state.is_none_or(|s| r.state == s)
                    && filter.received_from.is_none_or(|a| r.received_at >= a)
                    && filter.received_before.is_none_or(|b| r.received_at < b)
            })
            .map(|(r, kind, value, common)| {
                json!({"report": summary(&r), "matched": {"kind": kind, "value": value, "common": common}})
            })
            .collect(),
        SearchKind::Text(terms) => st
            .store
            .search(&todokede_store::SearchQuery { terms, filter })
            .await?
            .iter()
            .map(|r| json!({"report": summary(r), "matched": null}))
            .collect(),
    };
    Ok(Json(json!({"hits": hits})))
}

/// `GET /api/v1/analyst/statistics?period=2019H2`: 届出状況 (analyst-confirmed, per incident,
/// small cells suppressed), as `todokede stats --json`.
async fn statistics(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Read)?;
    let period = Period::parse(q.get("period").map(String::as_str).unwrap_or(""))
        .map_err(|e| bad("invalid_parameter", format!("period: {e}")))?;
    let threshold = match q.get("threshold") {
        None => 3,
        Some(t) => t
            .parse::<u64>()
            .ok()
            .filter(|t| (1..=100).contains(t))
            .ok_or_else(|| bad("invalid_parameter", "threshold: 1 to 100"))?,
    };
    let s = todokede_app::publication::statistics(&st.store, period, threshold).await?;
    Ok(Json(serde_json::to_value(&s).map_err(|e| ApiError::from(todokede_app::AppError::internal(e)))?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    /// clear, green, amber, amber+strict, red; null withdraws the approval.
    tlp: Option<String>,
}

/// Approve the report for sharing (STIX) under a TLP 2.0 level, or (null) withdraw it.
async fn share(
    State(st): State<AppState>,
    caller: Caller,
    Path(tn): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: ShareBody = body_of(&body)?;
    let user = caller.0.user.id;
    let state = st.clone();
    write(&st, &caller, &tn, &headers, |r, v| async move {
        let st = state;
        if r.version != v {
            return Err(ApiError::stale(r.version));
        }
        match b.tlp.as_deref() {
            None => {
                st.store.withdraw_sharing(r.id, user).await?;
            }
            Some(t) => {
                let tlp = todokede_publish::stix::Tlp::parse(t).ok_or_else(|| {
                    let mut err = bad("invalid_field", "tlp: clear, green, amber, amber+strict or red");
                    err.field = Some("tlp");
                    err
                })?;
                todokede_app::exchange::approve_sharing(&st.store, r.id, tlp, user).await?;
            }
        }
        Ok(())
    })
    .await
}

/// `GET /api/v1/analyst/export/stix?period=2019H2` (or `report=` / `incident=` a tracking
/// number; `max_tlp`, default amber+strict): the STIX 2.1 bundle of the approved reports.
/// Needs the `export` scope.
async fn export_stix(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    use todokede_app::exchange::ExportScope;
    caller.require(Scope::Export)?;
    let tn = |name: &'static str, v: &str| {
        TrackingNumber::parse(v).map_err(|_| {
            let mut e = bad("invalid_parameter", format!("{name}: a tracking number"));
            e.field = Some(name);
            e
        })
    };
    let scope = match (q.get("report"), q.get("incident"), q.get("period")) {
        (Some(r), None, None) => ExportScope::Report(tn("report", r)?),
        (None, Some(i), None) => ExportScope::Incident(tn("incident", i)?),
        (None, None, Some(p)) => {
            ExportScope::Period(Period::parse(p).map_err(|e| bad("invalid_parameter", format!("period: {e}")))?)
        }
        _ => return Err(bad("invalid_parameter", "give exactly one of report, incident, period")),
    };
    let max = match q.get("max_tlp") {
        None => todokede_publish::stix::Tlp::AmberStrict,
        Some(t) => todokede_publish::stix::Tlp::parse(t)
            .ok_or_else(|| bad("invalid_parameter", "max_tlp: clear, green, amber, amber+strict or red"))?,
    };
    let publisher = todokede_publish::stix::Publisher { name: todokede_app::exchange::DEFAULT_PUBLISHER.into() };
    let bytes = match todokede_app::exchange::stix_bundle(&st.store, &publisher, &scope, max).await {
        Err(todokede_app::AppError::NotFound) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "nothing_shared",
                "no report in this scope is approved for sharing",
            ));
        }
        other => other?,
    };
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/stix+json;version=2.1"))], bytes).into_response())
}
