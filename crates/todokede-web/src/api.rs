//! `/api/v1`: intake of reports and the reporter's own view of them.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use todokede_domain::*;
use todokede_store::IngestRejection;

use crate::error::ApiError;
use crate::wire::*;
use crate::{AppState, Limits, openapi};

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/reports", post(submit_report))
        .route("/api/v1/reports/{tracking_number}", get(reporter_view))
        .route("/api/v1/reports/{tracking_number}/follow-ups", post(add_follow_up))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), request_limit))
        .route("/api/v1/openapi.json", get(|| async { Json(openapi::document()) }))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .with_state(state)
}

/// The reporter API's request limit per client address (`serve --api-limit`, 300 in 10
/// minutes by default, shared by all processes): one program cannot flood intake or the
/// reporters' views for everyone. Counted before anything else of the request is read.
async fn request_limit(
    State(st): State<AppState>,
    client: crate::client::ClientAddr,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    if todokede_app::accounts::api_throttled(&st.limiter, &client.0, st.limits.api_requests).await {
        let window = todokede_app::accounts::API_WINDOW.whole_seconds();
        let mut res = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "more than {} requests from this address in {} minutes; retry later",
                st.limits.api_requests,
                window / 60
            ),
        )
        .into_response();
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(window));
        return res;
    }
    next.run(req).await
}

/// A request body: the JSON part and the uploaded files.
struct Upload {
    json: Bytes,
    attachments: Vec<Attachment>,
}

/// Read a JSON body, or a multipart body with a `report` (or `body`) JSON part and file parts.
async fn read_upload(req: Request, limits: Limits, json_part: &'static str) -> Result<Upload, ApiError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        let json = Bytes::from_request(req, &()).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(format!("the request body is larger than {} bytes", limits.max_body_bytes))
            } else {
                ApiError::bad_request("unreadable_body", e.body_text())
            }
        })?;
        return Ok(Upload { json, attachments: vec![] });
    }
    use crate::multipart::{Mode, ReadError};
    let upload = crate::multipart::read(req, limits, Mode::Api { json_part }).await.map_err(|e| match e {
        ReadError::Body { too_large: true, .. } => {
            ApiError::too_large(format!("the request body is larger than {} bytes", limits.max_body_bytes))
        }
        ReadError::Body { text, .. } => ApiError::bad_request("bad_multipart", text),
        ReadError::TooManyFiles => {
            ApiError::too_large(format!("at most {} attachments per request", limits.max_attachments))
        }
        ReadError::FileTooLarge(name) => {
            ApiError::too_large(format!("attachment `{name}` is larger than {} bytes", limits.max_attachment_bytes))
        }
    })?;
    let json = upload.fields.get(json_part).and_then(|v| v.last()).cloned().ok_or_else(|| {
        ApiError::bad_request("missing_part", format!("multipart body needs a `{json_part}` part with the JSON"))
    })?;
    let attachments = upload.files;
    Ok(Upload { json, attachments })
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<DedupKey>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    let k = v
        .to_str()
        .map_err(|_| ApiError::bad_request("bad_idempotency_key", "Idempotency-Key must be visible ASCII"))?
        .trim();
    if k.is_empty() || k.len() > 255 || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "bad_idempotency_key",
            "Idempotency-Key must be 1–255 visible ASCII characters",
        ));
    }
    Ok(Some(DedupKey::IdempotencyKey(k.to_owned())))
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    Ok(todokede_app::intake::parse_json(bytes)?)
}

/// What a web page on another site must not be able to do with a visitor's browser. Browsers
/// send "simple" requests — `text/plain`, form-urlencoded or multipart bodies — to any site
/// without asking it first (no CORS preflight), so a hostile page could file reports or
/// follow-ups in its visitors' names (and with their addresses). The API is for programs, not
/// for pages: a request a browser marks as coming from another site (Sec-Fetch-Site, else
/// Origin) is refused with 403, and a body must say it is JSON or multipart (415 otherwise) —
/// a cross-site JSON post needs a preflight, which this API never grants. Programs (curl,
/// CSIRT tooling) send neither header and are unaffected.
fn refuse_cross_site(headers: &HeaderMap) -> Result<(), ApiError> {
    let get = |h| headers.get(h).and_then(|v: &HeaderValue| v.to_str().ok());
    let same = match (get("sec-fetch-site"), get("origin")) {
        (Some(site), _) => site == "same-origin" || site == "none",
        (None, Some(origin)) => {
            let host = get("host");
            origin.split_once("://").map(|(_, h)| Some(h) == host).unwrap_or(false)
        }
        (None, None) => true,
    };
    if !same {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "requests from web pages of other sites are refused; call the API from a program",
        ));
    }
    let media = get("content-type").map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/json" | "multipart/form-data") => Ok(()),
        Some(m) if m.starts_with("application/") && m.ends_with("+json") => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as `Content-Type: application/json` (or multipart/form-data with attachments)",
        )),
    }
}

async fn submit_report(State(st): State<AppState>, req: Request) -> Result<Response, ApiError> {
    refuse_cross_site(req.headers())?;
    let dedup = idempotency_key(req.headers())?;
    let upload = read_upload(req, st.limits, "report").await?;
    let sub = todokede_app::intake::submission_from_json(&upload.json, upload.attachments, Channel::Api, dedup)?;
    // Inline (base64) attachments obey the same limits as multipart ones.
    if sub.attachments.len() > st.limits.max_attachments {
        return Err(ApiError::too_large(format!("at most {} attachments per request", st.limits.max_attachments)));
    }
    if let Some(a) = sub.attachments.iter().find(|a| a.bytes.len() > st.limits.max_attachment_bytes) {
        return Err(ApiError::too_large(format!(
            "attachment {} is larger than {} bytes",
            a.filename, st.limits.max_attachment_bytes
        )));
    }
    let receipt = match st.intake.submit(sub).await? {
        Ok(r) => r,
        Err(IngestRejection::KeyReusedWithDifferentContent) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different report",
            ));
        }
    };
    if !receipt.duplicate {
        st.metrics.intake_accepted(crate::metrics::IntakeChannel::Api);
    }
    let status_url = format!("/api/v1/reports/{}", receipt.tracking_number);
    let body = ReceiptPayload {
        tracking_number: receipt.tracking_number.to_string(),
        secret: receipt.secret.as_ref().map(|s| s.expose().to_owned()),
        status_url: status_url.clone(),
        duplicate: receipt.duplicate,
        notice: (receipt.duplicate && receipt.secret.is_none()).then(|| {
            "secret no longer available: it is kept only for a day after the first submission; use the secret from the first answer".to_owned()
        }),
    };
    let status = if receipt.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    let mut res = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&status_url) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    if receipt.duplicate {
        res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

fn bearer(headers: &HeaderMap) -> Option<ReporterSecret> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| ReporterSecret::from_presented(token))
}

/// The report a request's tracking number and bearer secret designate — or 404 for any
/// mismatch, so numbers cannot be probed. Wrong secrets are limited per client address as on
/// the reporters' links (20 in 15 minutes, then 429 even for a right one, from that address).
async fn authorised_report(
    st: &AppState,
    client: &crate::client::ClientAddr,
    tracking_number: &str,
    headers: &HeaderMap,
) -> Result<Report, ApiError> {
    let secret = bearer(headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the report's secret as `Authorization: Bearer <secret>`",
        )
    })?;
    if !todokede_app::accounts::reporter_attempt(&st.store, &client.0).await {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many wrong secrets from this address; retry in 15 minutes",
        ));
    }
    let found = match TrackingNumber::parse(tracking_number) {
        Ok(tn) => st.store.report_for_reporter(&tn, &secret).await?,
        Err(_) => None,
    };
    let report = found.ok_or_else(ApiError::not_found)?;
    todokede_app::accounts::reporter_succeeded(&st.store, &client.0).await;
    Ok(report)
}

async fn reporter_view(
    State(st): State<AppState>,
    client: crate::client::ClientAddr,
    Path(tn): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ReporterReportView>, ApiError> {
    let report = authorised_report(&st, &client, &tn, &headers).await?;
    Ok(Json(ReporterReportView::of(&report)))
}

async fn add_follow_up(
    State(st): State<AppState>,
    client: crate::client::ClientAddr,
    Path(tn): Path<String>,
    req: Request,
) -> Result<StatusCode, ApiError> {
    refuse_cross_site(req.headers())?;
    let report = authorised_report(&st, &client, &tn, req.headers()).await?;
    let upload = read_upload(req, st.limits, "body").await?;
    let payload: FollowUpPayload = parse_json(&upload.json)?;
    let body = todokede_domain::submission::text_field(
        "body",
        Some(&payload.body),
        todokede_domain::submission::MAX_TEXT_CHARS,
    )?
    .ok_or(SubmissionError::Invalid { field: "body", message: "must not be empty".into() })?;
    st.store.add_follow_up(report.id, &body, &upload.attachments).await?;
    Ok(StatusCode::CREATED)
}
