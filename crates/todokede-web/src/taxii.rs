//! `/taxii2/`: a TAXII 2.1 server, the read side (issue 18) — discovery, one API root
//! (`/taxii2/todokede/`), a collection per TLP level up to TLP:AMBER+STRICT, and each
//! collection's objects, object, versions and manifest endpoints with `added_after`,
//! `match[type|id|version|spec_version]`, `limit` and `next` (`todokede_app::taxii`).
//!
//! Authorised by the analysts' API tokens with the `export` scope — the scope of everything
//! that leaves for CSIRTs — as `Authorization: Bearer tdk_…` or HTTP Basic with the token as
//! the password (any user name: TAXII clients such as taxii2-client, OpenCTI and MISP's
//! speak Basic); every use is in the audit log, as on the analysts' API. Every answer is
//! `application/taxii+json;version=2.1`; errors are TAXII error messages (`title`,
//! `description`, `http_status`); an `Accept` that allows no TAXII 2.1 answer gets 406.

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Value, json};
use todokede_app::AppError;
use todokede_app::taxii::{self, Collection, Filter, Page, TAXII_MEDIA_TYPE, Versions};
use todokede_app::tokens::{self, Refused, Scope};

use crate::AppState;

/// Every route of the TAXII server.
pub const ROUTES: &[&str] = &[
    "/taxii2/",
    "/taxii2/todokede/",
    "/taxii2/todokede/collections/",
    "/taxii2/todokede/collections/{id}/",
    "/taxii2/todokede/collections/{id}/objects/",
    "/taxii2/todokede/collections/{id}/objects/{object_id}/",
    "/taxii2/todokede/collections/{id}/objects/{object_id}/versions/",
    "/taxii2/todokede/collections/{id}/manifest/",
];

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/taxii2", get(discovery))
        .route("/taxii2/", get(discovery))
        .route("/taxii2/todokede/", get(api_root))
        .route("/taxii2/todokede/collections/", get(collections))
        .route("/taxii2/todokede/collections/{id}/", get(collection))
        .route("/taxii2/todokede/collections/{id}/objects/", get(objects))
        .route("/taxii2/todokede/collections/{id}/objects/{object_id}/", get(object))
        .route("/taxii2/todokede/collections/{id}/objects/{object_id}/versions/", get(versions))
        .route("/taxii2/todokede/collections/{id}/manifest/", get(manifest))
        .with_state(state)
}

/// A TAXII error message (TAXII 2.1 §3.6.1).
pub struct TaxiiError {
    status: StatusCode,
    title: &'static str,
    description: String,
}

fn error(status: StatusCode, title: &'static str, description: impl Into<String>) -> TaxiiError {
    TaxiiError { status, title, description: description.into() }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let body = json!({"title": self.title, "description": self.description,
                          "http_status": self.status.as_u16().to_string()});
        let mut res = taxii_json(self.status, body.to_string());
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

fn app_error(e: AppError) -> TaxiiError {
    match e {
        AppError::NotFound => error(StatusCode::NOT_FOUND, "見つかりません / not found", "no such resource"),
        AppError::Invalid(m) => error(StatusCode::BAD_REQUEST, "不正な要求 / bad request", m),
        AppError::Unavailable(e) => {
            tracing::error!(error = %e, "store unavailable");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "一時的に利用できません / unavailable",
                "the store is unavailable; retry later",
            )
        }
        other => {
            tracing::error!(error = %other, "TAXII request failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "内部エラー / internal error", "an internal error occurred")
        }
    }
}

fn taxii_json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_MEDIA_TYPE))], body).into_response()
}

fn ok(v: Value) -> Response {
    taxii_json(StatusCode::OK, v.to_string())
}

/// 401 with both challenges this server takes.
fn unauthorized(description: &str) -> Response {
    let mut res =
        error(StatusCode::UNAUTHORIZED, "認証が必要です / authentication required", description).into_response();
    let h = res.headers_mut();
    h.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"todokede\""));
    h.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"todokede\", charset=\"UTF-8\""));
    res
}

/// Does this `Accept` allow a TAXII 2.1 answer? No header (or an empty one) allows anything.
fn acceptable(accept: Option<&str>) -> bool {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else { return true };
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let (mut version, mut refused) = (None, false);
        for p in parts {
            let Some((k, v)) = p.split_once('=') else { continue };
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "version" => version = Some(v.to_owned()),
                "q" => refused = v.parse::<f32>().is_ok_and(|q| q <= 0.0),
                _ => {}
            }
        }
        !refused
            && match media.as_str() {
                "application/taxii+json" => version.is_none_or(|v| v == "2.1"),
                "*/*" | "application/*" => version.is_none(),
                _ => false,
            }
    })
}

/// The token a request presents: `Bearer <token>`, or Basic with the token as the password.
fn presented(headers: &HeaderMap) -> Option<String> {
    let (scheme, value) = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(value.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()?;
        let (_, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
        return Some(password.to_owned());
    }
    None
}

/// A TAXII request's caller: a valid token with the `export` scope (every use audited), and
/// an `Accept` that allows TAXII 2.1.
pub struct Reader(pub tokens::Caller);

impl FromRequestParts<AppState> for Reader {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let Some(token) = presented(&parts.headers) else {
            return Err(unauthorized(
                "send an API token with the export scope as `Authorization: Bearer <token>` or as the password of \
                 HTTP Basic (created on /account or with `todokede token create --scope export`)",
            ));
        };
        let what = format!("{} {}", parts.method, parts.uri.path());
        let caller = match tokens::authenticate(&st.store, &token, &what).await {
            Ok(Ok(caller)) => caller,
            Ok(Err(why)) => {
                tracing::info!(?why, %what, "API token refused");
                return Err(unauthorized(match why {
                    Refused::Expired => "this API token has expired",
                    Refused::Revoked => "this API token was revoked",
                    Refused::Unknown | Refused::OwnerDisabled => "this API token is not valid",
                }));
            }
            Err(e) => return Err(app_error(e).into_response()),
        };
        if !tokens::allows(&caller.scopes, Scope::Export) {
            return Err(error(
                StatusCode::FORBIDDEN,
                "権限がありません / forbidden",
                "this token lacks the `export` scope, which TAXII needs",
            )
            .into_response());
        }
        let accept = parts.headers.get(header::ACCEPT).map(|v| v.to_str().unwrap_or("?"));
        if !acceptable(accept) {
            return Err(error(
                StatusCode::NOT_ACCEPTABLE,
                "応答できない形式です / not acceptable",
                format!("this server answers {TAXII_MEDIA_TYPE} only"),
            )
            .into_response());
        }
        Ok(Reader(caller))
    }
}

/// The API root's absolute URL, from the request's Host (relative without one).
fn api_root_url(st: &AppState, headers: &HeaderMap) -> String {
    let path = format!("/taxii2/{}/", taxii::API_ROOT);
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| {
        !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    });
    match host {
        Some(h) => format!("{}://{h}{path}", if st.secure_cookies { "https" } else { "http" }),
        None => path,
    }
}

/// `GET /taxii2/`: server discovery.
async fn discovery(State(st): State<AppState>, _: Reader, headers: HeaderMap) -> Response {
    let root = api_root_url(&st, &headers);
    ok(json!({
        "title": "todokede TAXII 2.1",
        "description": "届出窓口が共有を承認した匿名化済みの情報 (STIX 2.1) / anonymised, approved-for-sharing \
                        STIX 2.1 intelligence of the incident reporting point",
        "default": root,
        "api_roots": [root],
    }))
}

/// `GET /taxii2/todokede/`: the API root.
async fn api_root(State(st): State<AppState>, _: Reader) -> Response {
    ok(json!({
        "title": todokede_app::exchange::DEFAULT_PUBLISHER,
        "description": "TLP 2.0 のレベルごとのコレクション (TLP:RED は共有しません) / one collection per TLP 2.0 level \
                        (TLP:RED is never served); read only",
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": st.limits.max_body_bytes,
    }))
}

fn collection_view(c: Collection) -> Value {
    json!({
        "id": c.id(), "title": c.title(), "description": c.description(), "alias": c.alias(),
        "can_read": true, "can_write": false, "media_types": [taxii::STIX_MEDIA_TYPE],
    })
}

/// `GET /taxii2/todokede/collections/`.
async fn collections(_: Reader) -> Response {
    ok(json!({"collections": Collection::ALL.map(collection_view)}))
}

fn find(id: &str) -> Result<Collection, TaxiiError> {
    Collection::find(id).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "コレクションがありません / no such collection",
            format!("no collection `{id}` (see /taxii2/{}/collections/)", taxii::API_ROOT),
        )
    })
}

/// `GET …/collections/{id}/`.
async fn collection(_: Reader, Path(id): Path<String>) -> Result<Response, TaxiiError> {
    Ok(ok(collection_view(find(&id)?)))
}

fn bad(description: impl Into<String>) -> TaxiiError {
    error(StatusCode::BAD_REQUEST, "不正な要求 / bad request", description)
}

/// The parameters of a paged request: filters, limit, cursor. Repeated parameters are joined
/// as one comma-separated list.
struct Params {
    filter: Filter,
    limit: usize,
    next: Option<String>,
}

fn params(q: &[(String, String)]) -> Result<Params, TaxiiError> {
    let all = |name: &str| -> Vec<String> {
        q.iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let one = |name: &str| q.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let mut filter = Filter::default();
    if let Some(a) = one("added_after") {
        let t = time::OffsetDateTime::parse(a.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|_| bad(format!("added_after: a timestamp such as 2026-01-01T00:00:00.000Z, not `{a}`")))?;
        filter.added_after = Some(t);
    }
    filter.types = all("match[type]");
    filter.ids = all("match[id]");
    filter.spec_versions = all("match[spec_version]");
    let versions = all("match[version]");
    if !versions.is_empty() && !versions.iter().any(|v| matches!(v.as_str(), "last" | "first" | "all")) {
        let mut exact = Vec::new();
        for v in &versions {
            exact.push(
                taxii::parse_timestamp(v)
                    .ok_or_else(|| bad(format!("match[version]: last, first, all or a timestamp, not `{v}`")))?,
            );
        }
        filter.versions = Versions::Exactly(exact);
    }
    let limit = match one("limit") {
        None => taxii::DEFAULT_PAGE,
        Some(l) => l
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| bad(format!("limit: a whole number from 1 (at most {} are served)", taxii::MAX_PAGE)))?,
    };
    Ok(Params { filter, limit, next: one("next").map(str::to_owned) })
}

/// A page with its X-TAXII-Date-Added-First/-Last headers.
fn paged(body: String, page: &Page) -> Response {
    let mut res = taxii_json(StatusCode::OK, body);
    if let (Some(first), Some(last)) = (page.objects.first(), page.objects.last()) {
        for (name, v) in
            [("x-taxii-date-added-first", &first.date_added), ("x-taxii-date-added-last", &last.date_added)]
        {
            if let Ok(v) = HeaderValue::from_str(v) {
                res.headers_mut().insert(HeaderName::from_static(name), v);
            }
        }
    }
    res
}

/// `{"more": …, "next": …,` — the start of an envelope or manifest.
fn head(page: &Page) -> String {
    let mut s = format!("{{\"more\":{}", page.more);
    if let Some(n) = &page.next {
        s.push_str(&format!(",\"next\":{}", Value::from(n.as_str())));
    }
    s
}

/// The envelope: the stored objects' bytes as they are (the export's, unchanged).
fn envelope(page: &Page) -> String {
    let mut s = head(page);
    if !page.objects.is_empty() {
        s.push_str(",\"objects\":[");
        for (i, o) in page.objects.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&o.content);
        }
        s.push(']');
    }
    s.push('}');
    s
}

async fn page_of(st: &AppState, id: &str, q: &[(String, String)], object_id: Option<&str>) -> Result<Page, TaxiiError> {
    let c = find(id)?;
    let mut p = params(q)?;
    if let Some(oid) = object_id {
        p.filter.ids = vec![oid.to_owned()];
    }
    let page = taxii::page(&st.taxii, c, &p.filter, p.limit, p.next.as_deref()).await.map_err(app_error)?;
    if let Some(oid) = object_id
        && page.objects.is_empty()
        && p.next.is_none()
    {
        // No such object at all, or only none that passes the filters?
        let any = Filter { ids: vec![oid.to_owned()], ..Filter::default() };
        if taxii::page(&st.taxii, c, &any, 1, None).await.map_err(app_error)?.objects.is_empty() {
            return Err(error(
                StatusCode::NOT_FOUND,
                "オブジェクトがありません / no such object",
                format!("no object `{oid}` in this collection"),
            ));
        }
    }
    Ok(page)
}

/// `GET …/collections/{id}/objects/`.
async fn objects(
    State(st): State<AppState>,
    _: Reader,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, TaxiiError> {
    let page = page_of(&st, &id, &q, None).await?;
    Ok(paged(envelope(&page), &page))
}

/// `GET …/collections/{id}/objects/{object_id}/`.
async fn object(
    State(st): State<AppState>,
    _: Reader,
    Path((id, object_id)): Path<(String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, TaxiiError> {
    let page = page_of(&st, &id, &q, Some(&object_id)).await?;
    Ok(paged(envelope(&page), &page))
}

/// `GET …/collections/{id}/objects/{object_id}/versions/`.
async fn versions(
    State(st): State<AppState>,
    _: Reader,
    Path((id, object_id)): Path<(String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, TaxiiError> {
    let page = page_of(&st, &id, &q, Some(&object_id)).await?;
    let mut body = head(&page);
    let versions: Vec<&str> = page.objects.iter().map(|o| o.version.as_str()).collect();
    if !versions.is_empty() {
        body.push_str(&format!(",\"versions\":{}", json!(versions)));
    }
    body.push('}');
    Ok(paged(body, &page))
}

/// `GET …/collections/{id}/manifest/`.
async fn manifest(
    State(st): State<AppState>,
    _: Reader,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, TaxiiError> {
    let page = page_of(&st, &id, &q, None).await?;
    let mut body = head(&page);
    if !page.objects.is_empty() {
        let records: Vec<Value> = page
            .objects
            .iter()
            .map(|o| json!({"id": o.id, "date_added": o.date_added, "version": o.version, "media_type": taxii::STIX_MEDIA_TYPE}))
            .collect();
        body.push_str(&format!(",\"objects\":{}", Value::Array(records)));
    }
    body.push('}');
    Ok(paged(body, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_allows_taxii_21_only() {
        for yes in [
            None,
            Some(""),
            Some("application/taxii+json;version=2.1"),
            Some("application/taxii+json; version=2.1"),
            Some("application/taxii+json"),
            Some("*/*"),
            Some("text/html, application/taxii+json;version=2.1;q=0.5"),
        ] {
            assert!(acceptable(yes), "{yes:?}");
        }
        for no in [
            Some("application/json"),
            Some("application/taxii+json;version=2.0"),
            Some("application/vnd.oasis.taxii+json; version=2.0"),
            Some("application/stix+json;version=2.1"),
            Some("application/taxii+json;version=2.1;q=0"),
            Some("text/html"),
        ] {
            assert!(!acceptable(no), "{no:?}");
        }
    }

    #[test]
    fn tokens_come_as_bearer_or_as_the_basic_password() {
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer tdk_abc"));
        assert_eq!(presented(&h).as_deref(), Some("tdk_abc"));
        let basic = base64::engine::general_purpose::STANDARD.encode("csirt@example.jp:tdk_xyz");
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Basic {basic}")).unwrap());
        assert_eq!(presented(&h).as_deref(), Some("tdk_xyz"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Digest x"));
        assert_eq!(presented(&h), None);
    }
}
