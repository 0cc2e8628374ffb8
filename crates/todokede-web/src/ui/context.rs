//! Request context and rendering: the language, the session and the signed-in analyst of a request (`Ctx`), cookies and tokens, the same-origin and CSRF checks, the page renderer and the error page, the small formatting helpers.

use super::*;

pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// The page language: `?lang=` first, then the `lang` cookie, Japanese by default.
pub(super) fn lang(headers: &HeaderMap, query: &HashMap<String, String>) -> Language {
    match query.get("lang").map(String::as_str).or_else(|| cookie(headers, "lang")) {
        Some("en") => Language::En,
        _ => Language::Ja,
    }
}

pub(super) fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub(super) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(super) struct Ctx {
    pub(super) lang: Language,
    pub(super) set_lang: bool,
    pub(super) session: Option<(String, Session)>,
    pub(super) analyst: Option<todokede_store::User>,
    /// The request's query without `lang`, for the language switch (it keeps `form=` etc.).
    pub(super) keep_query: String,
}

pub(super) async fn ctx(st: &AppState, headers: &HeaderMap, query: &HashMap<String, String>) -> Ctx {
    let lang = lang(headers, query);
    let mut keep: Vec<(&String, &String)> = query.iter().filter(|(k, _)| k.as_str() != "lang").collect();
    keep.sort();
    let keep_query = keep.iter().map(|(k, v)| format!("{}={}&", urlencode(k), urlencode(v))).collect::<String>();
    let mut session = None;
    let mut analyst = None;
    if let Some(tok) = cookie(headers, SESSION_COOKIE) {
        let h = token_hash(tok);
        if let Ok(Some(s)) = st.store.session(&h).await {
            if let SessionSubject::Analyst(u) = s.subject {
                analyst = st.store.user(u).await.ok().flatten().filter(|u| !u.disabled);
                if analyst.is_none() {
                    return Ctx {
                        lang,
                        set_lang: query.contains_key("lang"),
                        session: None,
                        analyst: None,
                        keep_query,
                    };
                }
            }
            session = Some((h, s));
        }
    }
    Ctx { lang, set_lang: query.contains_key("lang"), session, analyst, keep_query }
}

impl Ctx {
    pub(super) fn csrf(&self) -> &str {
        self.session.as_ref().map(|(_, s)| s.csrf.as_str()).unwrap_or("")
    }
    pub(super) fn base(&self) -> Value {
        let analyst = self.analyst.as_ref().map(|u| context! { email => u.email, admin => u.role == Role::Admin });
        context! {
            lang => self.lang.key(), analyst => analyst, reporter => self.reporter_report().is_some(), csrf => self.csrf(),
            lang_ja => format!("?{}lang=ja", self.keep_query), lang_en => format!("?{}lang=en", self.keep_query),
        }
    }
    pub(super) fn reporter_report(&self) -> Option<ReportId> {
        match self.session.as_ref()?.1.subject {
            SessionSubject::Reporter(r) => Some(r),
            _ => None,
        }
    }
}

pub(super) fn render(st: &AppState, c: &Ctx, name: &str, extra: Value) -> Response {
    let v = context! { ..extra, ..c.base() };
    let body = match st.templates.get_template(name).and_then(|t| t.render(v)) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, template = name, "render failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let mut res = Html(body).into_response();
    res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(HTML_CSP));
    if c.set_lang {
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(&format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax", c.lang.key())).unwrap(),
        );
    }
    res
}

pub(super) fn error_page(st: &AppState, c: &Ctx, status: StatusCode, ja: &str, en: &str) -> Response {
    let msg = c.lang.pick(ja, en);
    let mut r = render(st, c, "error.html", context! { title => error_title(status, c.lang), message => msg });
    *r.status_mut() = status;
    r
}

pub(super) fn session_cookie(st: &AppState, token: &str, max_age: i64) -> HeaderValue {
    let secure = if st.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap()
}

/// Every POST must come from our own pages. Browsers say where a request comes from in
/// Sec-Fetch-Site; older ones only in Origin. (Origin alone is not enough: under our
/// `Referrer-Policy: no-referrer` Chromium sends `Origin: null` even for same-origin forms.)
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    match (get("origin"), get("host")) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, h)| h == host).unwrap_or(false),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

pub(super) fn csrf_ok(c: &Ctx, presented: Option<&str>) -> bool {
    let expected = c.csrf();
    let p = presented.unwrap_or("");
    !expected.is_empty()
        && p.len() == expected.len()
        && p.bytes().zip(expected.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
}

pub(super) fn options<T: ClosedEnum>(lang: Language) -> Vec<Value> {
    T::ALL.iter().map(|v| context! { key => v.key(), label => v.label(lang) }).collect()
}

pub(super) fn label<T: ClosedEnum>(v: T, lang: Language) -> &'static str {
    v.label(lang)
}

pub(super) fn jst(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::macros::offset!(+9));
    format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), t.month() as u8, t.day(), t.hour(), t.minute())
}

/// A p-value as people read it: 0.0018, or 1.4e-6 when tiny.
pub(super) fn p_value(p: f64) -> String {
    if p < 1e-4 { format!("{p:.1e}") } else { format!("{p:.4}") }
}

pub(super) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Deserialize)]
pub(super) struct ActionForm {
    /// Required (a form without it is refused as malformed); checked by [`CsrfForm`].
    #[allow(dead_code)]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) to: String,
    #[serde(default)]
    pub(super) body: String,
}

pub(super) async fn load_for_analyst(st: &AppState, tn: &str) -> Option<Report> {
    let tn = TrackingNumber::parse(tn).ok()?;
    let id = st.store.report_id_by_tracking(&tn).await.ok()??;
    st.store.report(id).await.ok()?
}

/// Text fields (repeatable) and files of a multipart form (the one reader: `crate::multipart`),
/// or what to tell the person why not.
pub(super) async fn read_multipart(req: Request, limits: crate::Limits) -> Result<FormUpload, UiError> {
    use crate::multipart::{Mode, ReadError};
    match crate::multipart::read(req, limits, Mode::Form).await {
        Ok(u) => Ok(FormUpload {
            fields: u
                .fields
                .into_iter()
                .map(|(k, v)| (k, v.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect()))
                .collect(),
            files: u.files,
            too_large: u.too_large,
            too_many: u.too_many,
        }),
        Err(ReadError::Body { too_large: true, .. }) => Err(UiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "送信内容が大きすぎます（添付ファイルは合計 {} MiB まで）。添付を減らすか圧縮して、もう一度送信してください。",
                limits.max_body_bytes >> 20
            ),
            format!(
                "Too much to send at once (attachments: {} MiB in all). Attach fewer or compressed files and send again.",
                limits.max_body_bytes >> 20
            ),
        )),
        Err(ReadError::Body { .. }) => Err(UiError::new(
            StatusCode::BAD_REQUEST,
            "送信内容を読み取れませんでした。ページを開き直して、もう一度送信してください。",
            "What was sent could not be read. Open the page again and send it once more.",
        )),
        Err(ReadError::TooManyFiles) => Err(UiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("添付ファイルは {} 個までです。", limits.max_attachments),
            format!("At most {} attachments.", limits.max_attachments),
        )),
        // Forms never stop at one large file: it is named in `too_large`.
        Err(ReadError::FileTooLarge(name)) => Err(too_large_error(&[name], limits)),
    }
}

/// A form's multipart body: text fields by name, the files kept, and the names of the files
/// dropped for being over the per-file limit.
pub(super) struct FormUpload {
    pub(super) fields: HashMap<String, Vec<String>>,
    pub(super) files: Vec<Attachment>,
    pub(super) too_large: Vec<String>,
    /// The files past the number allowed, dropped (the form says which).
    pub(super) too_many: Vec<String>,
}

/// Files past the number a form takes, as the person at the browser reads it.
pub(super) fn too_many_error(names: &[String], limits: crate::Limits) -> UiError {
    let (n, names) = (limits.max_attachments, names.join(", "));
    UiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "添付ファイルは {n} 個までです。{names} は受け付けていません。まとめて圧縮するか、分けて送信してください。"
        ),
        format!("At most {n} attachments: {names} not accepted. Zip them together or send them separately."),
    )
}

/// Files over the per-file limit, as the reporter reads it.
pub(super) fn too_large_error(names: &[String], limits: crate::Limits) -> UiError {
    let mib = limits.max_attachment_bytes >> 20;
    let names = names.join(", ");
    UiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "{names}：1 ファイル {mib} MiB を超えるため受け付けられません。圧縮するか分割して、もう一度選択してください。"
        ),
        format!("{names}: larger than {mib} MiB per file, not accepted. Compress or split it and choose it again."),
    )
}

// ── errors ──────────────────────────────────────────────────────────────────────────────

/// What went wrong, as the person at the browser should read it (Japanese and English). The
/// cause is logged where the error is made; it never reaches the page.
pub(super) struct UiError {
    pub(super) status: StatusCode,
    pub(super) ja: String,
    pub(super) en: String,
}

impl UiError {
    pub(super) fn new(status: StatusCode, ja: impl Into<String>, en: impl Into<String>) -> Self {
        UiError { status, ja: ja.into(), en: en.into() }
    }
    /// The localized error page.
    pub(super) fn page(self, st: &AppState, c: &Ctx) -> Response {
        error_page(st, c, self.status, &self.ja, &self.en)
    }
}

impl From<todokede_app::AppError> for UiError {
    fn from(e: todokede_app::AppError) -> Self {
        use todokede_app::AppError;
        match e {
            AppError::NotFound => UiError::new(StatusCode::NOT_FOUND, "見つかりません。", "Not found."),
            // The application's own words about the request (an unknown key, nothing changed).
            AppError::Invalid(m) => UiError::new(StatusCode::BAD_REQUEST, m.clone(), m),
            AppError::Refused { ja, en } => UiError::new(StatusCode::FORBIDDEN, ja, en),
            AppError::Stale(_) => UiError::new(
                StatusCode::CONFLICT,
                "この届出は他の人によって更新されました。ページを開き直してください。",
                "Someone else changed this report meanwhile; please reload the page.",
            ),
            AppError::Conflict(m) => {
                tracing::info!(cause = %m, "ui: conflict");
                UiError::new(
                    StatusCode::CONFLICT,
                    "現在の状態ではこの操作はできません。ページを開き直してください。",
                    "This is not possible in the current state; please reload the page.",
                )
            }
            AppError::Unavailable(e) => {
                tracing::error!(error = %e, "ui: store unavailable");
                UiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "一時的に利用できません。しばらくしてから再度お試しください。",
                    "Unavailable right now; please try again in a moment.",
                )
            }
            AppError::Internal(m) => {
                tracing::error!(cause = %m, "ui: internal error");
                UiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "内部エラーが発生しました。担当者に連絡してください。",
                    "An internal error occurred; please tell the administrators.",
                )
            }
        }
    }
}

impl From<UnknownKey> for UiError {
    fn from(e: UnknownKey) -> Self {
        todokede_app::AppError::Invalid(e.to_string()).into()
    }
}

impl From<todokede_store::StoreError> for UiError {
    fn from(e: todokede_store::StoreError) -> Self {
        todokede_app::AppError::from(e).into()
    }
}

/// The answer to a form posted from another site (the same-origin check failed): it changes
/// nothing.
pub(super) fn cross_site_refused(st: &AppState, c: &Ctx) -> Response {
    error_page(
        st,
        c,
        StatusCode::FORBIDDEN,
        "他のサイトからの送信は受け付けません。",
        "Requests from other sites are refused.",
    )
}

/// The title of an error page, in the page's language.
fn error_title(status: StatusCode, lang: Language) -> &'static str {
    let (ja, en) = match status.as_u16() {
        400 | 422 => ("入力内容を確認してください", "Please check the input"),
        403 => ("この操作はできません", "Not allowed"),
        404 => ("見つかりません", "Not found"),
        405 => ("この方法では利用できません", "Method not allowed"),
        409 => ("操作できません", "Conflict"),
        413 => ("送信できませんでした", "Too large"),
        429 => ("しばらくお待ちください", "Too many requests"),
        503 => ("一時的に利用できません", "Temporarily unavailable"),
        _ => ("エラー", "Error"),
    };
    lang.pick(ja, en)
}

// ── extractors ──────────────────────────────────────────────────────────────────────────

impl axum::extract::FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        st: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let q = Query::<HashMap<String, String>>::try_from_uri(&parts.uri).map(|Query(q)| q).unwrap_or_default();
        Ok(ctx(st, &parts.headers, &q).await)
    }
}

/// A signed-in analyst, whatever their password: the one extractor of the password page (an
/// account with a one-time password may do nothing else).
pub(super) struct SignedIn(pub(super) Ctx, pub(super) todokede_store::User);

impl axum::extract::FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, st: &AppState) -> Result<Self, Response> {
        let Ok(c) = Ctx::from_request_parts(parts, st).await;
        match c.analyst.clone() {
            Some(u) => Ok(SignedIn(c, u)),
            None => Err(Redirect::to(&login_url(&c, &parts.uri)).into_response()),
        }
    }
}

/// The login page for a page that needs a session: it comes back to the page asked for
/// (`next`, see [`local_next`]) and speaks the language the page was asked in (`?lang=en`).
pub(super) fn login_url(c: &Ctx, uri: &axum::http::Uri) -> String {
    let next = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut url = format!("/login?next={}", urlencode(next));
    if c.set_lang {
        url.push_str(&format!("&lang={}", c.lang.key()));
    }
    url
}

/// Where a login may send the browser afterwards: only a path of this site (one `/` and then
/// no `/` or `\`, which browsers read as another host: `//evil.example`, `/\evil.example`),
/// without control characters. Anything else (`https://…`) is refused: no open redirect.
pub(super) fn local_next(next: &str) -> Option<&str> {
    let b = next.as_bytes();
    let ok = b.first() == Some(&b'/')
        && b.get(1) != Some(&b'/')
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(next)
}

/// Where an account with a one-time password is sent until it has chosen its own.
pub(super) const PASSWORD_PAGE: &str = "/account/password";

/// The signed-in analyst (with the request's context); anyone else is sent to the login page,
/// and an account still on its one-time password to the password page.
pub(super) struct Analyst(pub(super) Ctx, pub(super) todokede_store::User);

impl axum::extract::FromRequestParts<AppState> for Analyst {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, st: &AppState) -> Result<Self, Response> {
        let SignedIn(c, u) = SignedIn::from_request_parts(parts, st).await?;
        if u.one_time_until.is_some() {
            return Err(Redirect::to(PASSWORD_PAGE).into_response());
        }
        Ok(Analyst(c, u))
    }
}

/// A signed-in admin; other analysts get a 403 page.
pub(super) struct Admin(pub(super) Ctx, #[allow(dead_code)] pub(super) todokede_store::User);

impl axum::extract::FromRequestParts<AppState> for Admin {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, st: &AppState) -> Result<Self, Response> {
        let Analyst(c, u) = Analyst::from_request_parts(parts, st).await?;
        if u.role != Role::Admin {
            return Err(error_page(st, &c, StatusCode::FORBIDDEN, "管理者のみが利用できます。", "Admins only."));
        }
        Ok(Admin(c, u))
    }
}

/// An analyst's form POST: the form (`T`, urlencoded), from our own origin, carrying the
/// session's CSRF token (its `csrf` field). Without a session: the login page; from another
/// site or with a stale token: a 403 page; an account on its one-time password: the password
/// page (unless `ONE_TIME_OK`, the password form's own).
pub(super) struct CsrfForm<T, const ONE_TIME_OK: bool = false> {
    pub(super) c: Ctx,
    pub(super) user: todokede_store::User,
    pub(super) form: T,
}

impl<T: serde::de::DeserializeOwned + Send, const ONE_TIME_OK: bool> axum::extract::FromRequest<AppState>
    for CsrfForm<T, ONE_TIME_OK>
{
    type Rejection = Response;
    async fn from_request(req: Request, st: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Ok(c) = Ctx::from_request_parts(&mut parts, st).await;
        let (headers, method) = (parts.headers.clone(), parts.method.clone());
        // A malformed or oversized form gets the localized page, not the framework's English text.
        let bad = |st: &AppState, c: &Ctx| {
            error_page(
                st,
                c,
                StatusCode::BAD_REQUEST,
                "フォームの内容を読み取れませんでした。ページを開き直して、もう一度お試しください。",
                "The form could not be read; please reload the page and try again.",
            )
        };
        let Ok(bytes) = Bytes::from_request(Request::from_parts(parts, body), st).await else {
            return Err(bad(st, &c));
        };
        let form_of = |bytes: Bytes| {
            let mut r = Request::new(axum::body::Body::from(bytes));
            *r.method_mut() = method.clone();
            if let Some(ct) = headers.get(header::CONTENT_TYPE) {
                r.headers_mut().insert(header::CONTENT_TYPE, ct.clone());
            }
            r
        };
        let Ok(Form(form)) = Form::<T>::from_request(form_of(bytes.clone()), st).await else {
            return Err(bad(st, &c));
        };
        let Ok(Form(pairs)) = Form::<Vec<(String, String)>>::from_request(form_of(bytes), st).await else {
            return Err(bad(st, &c));
        };
        let csrf = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
        let Some(user) = c.analyst.clone() else { return Err(Redirect::to("/login").into_response()) };
        if user.one_time_until.is_some() && !ONE_TIME_OK {
            return Err(Redirect::to(PASSWORD_PAGE).into_response());
        }
        if !same_origin(&headers) || !csrf_ok(&c, Some(csrf)) {
            return Err(error_page(
                st,
                &c,
                StatusCode::FORBIDDEN,
                "フォームの有効期限が切れたか、他のサイトからの送信です。",
                "The form has expired or came from another site.",
            ));
        }
        Ok(CsrfForm { c, user, form })
    }
}

/// A report list (the queue's, the search's) as a CSV download for Excel, audited as
/// `export.csv` with what was asked for and how many rows left.
pub(super) async fn csv_download(
    st: &AppState,
    user: &todokede_store::User,
    what: &str,
    query: &str,
    rows: usize,
    body: String,
) -> Response {
    let detail = format!("/{what}.csv?{query} ({rows} rows)");
    let _ = st.store.audit(Some(user.id), "export.csv", Some(what), Some(&detail)).await;
    let today = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date();
    let name = format!("todokede-{what}-{:04}{:02}{:02}.csv", today.year(), today.month() as u8, today.day());
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

// ── errors no handler rendered ──────────────────────────────────────────────────────────

/// A path no route knows: the localized 404 page (an API or TAXII path keeps a JSON error).
pub(super) async fn unknown_path(State(st): State<AppState>, c: Ctx, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") || uri.path().starts_with("/taxii2/") {
        return crate::error::ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response();
    }
    error_page(&st, &c, StatusCode::NOT_FOUND, "このページはありません。", "There is no such page.")
}

/// Every error answer of the UI is a page in the user's language: a bare status (an empty
/// body) or axum's plain-text rejection (a path, query or form that does not parse, a wrong
/// method) becomes the error page, so a browser never shows its own English "Not Found".
/// HTML and JSON answers are the handlers' own and pass unchanged.
pub(super) async fn localize_errors(
    State(st): State<AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = req.headers().clone();
    let query = Query::<HashMap<String, String>>::try_from_uri(req.uri()).map(|q| q.0).unwrap_or_default();
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let status = res.status();
    if api || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let ct = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("text/html") || ct.starts_with("application/json") {
        return res;
    }
    let (ja, en) = match status.as_u16() {
        400 | 422 => ("リクエストの内容を読み取れませんでした。", "The request could not be read."),
        403 => ("この操作は許可されていません。", "This is not allowed."),
        404 => ("見つかりません。", "Not found."),
        405 => ("この方法では利用できません。", "This page cannot be used this way."),
        413 => ("送信内容が大きすぎます。", "What was sent is too large."),
        _ => ("エラーが発生しました。", "An error occurred."),
    };
    let c = ctx(&st, &headers, &query).await;
    let mut page = error_page(&st, &c, status, ja, en);
    for h in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = res.headers().get(&h) {
            page.headers_mut().insert(h, v.clone());
        }
    }
    page
}
