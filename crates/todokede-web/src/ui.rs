//! The web UI, server-rendered (minijinja, autoescaped; no JavaScript at all): the public report
//! forms, the reporter's page, and the analysts' workspace. Japanese by default, English by
//! `?lang=en` (remembered in a cookie).
//!
//! Security: sessions are server-side (only the token's SHA-256 is stored), issued fresh at
//! every login (no fixation); every state-changing form carries the session's CSRF token and
//! every POST must come from our own origin; CSP forbids scripts, framing and foreign forms;
//! attachments are served only as downloads.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine as _;
use minijinja::{Environment, Value, context};
use rand::RngCore as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use todokede_domain::*;
use todokede_store::{ReportFilter, Role, Session, SessionSubject};

use crate::AppState;
use todokede_app::accounts;

const SESSION_COOKIE: &str = "todokede_session";
const ANALYST_SESSION: time::Duration = time::Duration::hours(8);
const REPORTER_SESSION: time::Duration = time::Duration::minutes(30);
const HTML_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, src) in [
        ("base.html", include_str!("../templates/base.html")),
        ("index.html", include_str!("../templates/index.html")),
        ("report_form.html", include_str!("../templates/report_form.html")),
        ("submitted.html", include_str!("../templates/submitted.html")),
        ("reporter_login.html", include_str!("../templates/reporter_login.html")),
        ("reporter.html", include_str!("../templates/reporter.html")),
        ("login.html", include_str!("../templates/login.html")),
        ("queue.html", include_str!("../templates/queue.html")),
        ("report.html", include_str!("../templates/report.html")),
        ("audit.html", include_str!("../templates/audit.html")),
        ("stats.html", include_str!("../templates/stats.html")),
        ("search.html", include_str!("../templates/search.html")),
        ("clusters.html", include_str!("../templates/clusters.html")),
        ("publication.html", include_str!("../templates/publication.html")),
        ("error.html", include_str!("../templates/error.html")),
        ("users.html", include_str!("../templates/users.html")),
        ("account.html", include_str!("../templates/account.html")),
    ] {
        env.add_template(name, src).expect("template");
    }
    // t("日本語", "English"): the language of the page picks one.
    env.add_function("t", |state: &minijinja::State, ja: String, en: String| -> String {
        if state.lookup("lang").and_then(|l| l.as_str().map(|s| s == "en")).unwrap_or(false) { en } else { ja }
    });
    env
}

pub use todokede_app::accounts::Limiter;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route(
            "/static/app.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../static/app.css")) }),
        )
        .route("/report/new", get(report_form).post(submit_form))
        .route("/r/{tracking_number}/{secret}", get(secret_link))
        .route("/reporter/login", get(reporter_login_page).post(reporter_login))
        .route("/reporter", get(reporter_page))
        .route("/reporter/follow-up", post(reporter_follow_up))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/queue", get(queue))
        .route("/reports/{tracking_number}", get(report_page))
        .route("/reports/{tracking_number}/attachments/{sha256}", get(download))
        .route("/reports/{tracking_number}/state", post(change_state))
        .route("/reports/{tracking_number}/reply", post(reply))
        .route("/reports/{tracking_number}/note", post(note))
        .route("/reports/{tracking_number}/assign", post(assign))
        .route("/reports/{tracking_number}/link", post(link))
        .route("/reports/{tracking_number}/classify", post(classify))
        .route("/search", get(crossref_pages::search_page))
        .route("/clusters", get(crossref_pages::clusters_page))
        .route("/clusters/{tracking_number}", get(crossref_pages::cluster_page))
        .route("/stats", get(publication_pages::stats_page))
        .route("/publication", get(publication_pages::publication_page))
        .route("/publication/{period}/draft", post(publication_pages::publication_draft))
        .route("/publication/{period}/edit", post(publication_pages::publication_edit))
        .route("/publication/{period}/approve", post(publication_pages::publication_approve))
        .route("/publication/{period}/{file}", get(publication_pages::publication_download))
        .route("/admin/audit", get(audit))
        .route("/admin/users", get(users_page).post(create_user))
        .route("/admin/users/{id}/{action}", post(user_action))
        .route("/account", get(account_page))
        .route("/account/totp", post(account_totp))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .with_state(state)
}

// ── request context ─────────────────────────────────────────────────────────────────────

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

fn lang(headers: &HeaderMap, query: &HashMap<String, String>) -> &'static str {
    match query.get("lang").map(String::as_str).or_else(|| cookie(headers, "lang")) {
        Some("en") => "en",
        _ => "ja",
    }
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn client_ip(headers: &HeaderMap) -> String {
    // Behind a reverse proxy the operator should configure it to set this; without one the
    // socket address would be better, but every request here passes through the same key.
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .unwrap_or("direct")
        .trim()
        .to_owned()
}

struct Ctx {
    lang: &'static str,
    set_lang: bool,
    session: Option<(String, Session)>,
    analyst: Option<todokede_store::User>,
}

async fn ctx(st: &AppState, headers: &HeaderMap, query: &HashMap<String, String>) -> Ctx {
    let lang = lang(headers, query);
    let mut session = None;
    let mut analyst = None;
    if let Some(tok) = cookie(headers, SESSION_COOKIE) {
        let h = token_hash(tok);
        if let Ok(Some(s)) = st.store.session(&h).await {
            if let SessionSubject::Analyst(u) = s.subject {
                analyst = st.store.user(u).await.ok().flatten().filter(|u| !u.disabled);
                if analyst.is_none() {
                    return Ctx { lang, set_lang: query.contains_key("lang"), session: None, analyst: None };
                }
            }
            session = Some((h, s));
        }
    }
    Ctx { lang, set_lang: query.contains_key("lang"), session, analyst }
}

impl Ctx {
    fn csrf(&self) -> &str {
        self.session.as_ref().map(|(_, s)| s.csrf.as_str()).unwrap_or("")
    }
    fn base(&self) -> Value {
        let analyst = self.analyst.as_ref().map(|u| context! { email => u.email, admin => u.role == Role::Admin });
        context! { lang => self.lang, analyst => analyst, csrf => self.csrf() }
    }
    fn reporter_report(&self) -> Option<ReportId> {
        match self.session.as_ref()?.1.subject {
            SessionSubject::Reporter(r) => Some(r),
            _ => None,
        }
    }
}

fn render(st: &AppState, c: &Ctx, name: &str, extra: Value) -> Response {
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
            HeaderValue::from_str(&format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax", c.lang)).unwrap(),
        );
    }
    res
}

fn error_page(st: &AppState, c: &Ctx, status: StatusCode, ja: &str, en: &str) -> Response {
    let msg = if c.lang == "en" { en } else { ja };
    let mut r =
        render(st, c, "error.html", context! { title => status.canonical_reason().unwrap_or("Error"), message => msg });
    *r.status_mut() = status;
    r
}

fn session_cookie(st: &AppState, token: &str, max_age: i64) -> HeaderValue {
    let secure = if st.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap()
}

/// Every POST must come from our own pages. Browsers say where a request comes from in
/// Sec-Fetch-Site; older ones only in Origin. (Origin alone is not enough: under our
/// `Referrer-Policy: no-referrer` Chromium sends `Origin: null` even for same-origin forms.)
fn same_origin(headers: &HeaderMap) -> bool {
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

fn csrf_ok(c: &Ctx, presented: Option<&str>) -> bool {
    let expected = c.csrf();
    let p = presented.unwrap_or("");
    !expected.is_empty()
        && p.len() == expected.len()
        && p.bytes().zip(expected.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
}

fn options<T: ClosedEnum>(lang: &str) -> Vec<Value> {
    T::ALL
        .iter()
        .map(|v| context! { key => v.key(), label => if lang == "en" { v.label_en() } else { v.label_ja() } })
        .collect()
}

fn label<T: ClosedEnum>(v: T, lang: &str) -> &'static str {
    if lang == "en" { v.label_en() } else { v.label_ja() }
}

fn jst(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::macros::offset!(+9));
    format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), t.month() as u8, t.day(), t.hour(), t.minute())
}

// ── public pages ────────────────────────────────────────────────────────────────────────

async fn index(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let c = ctx(&st, &headers, &q).await;
    render(&st, &c, "index.html", context! {})
}

fn form_page(st: &AppState, c: &Ctx, form: ReportForm, values: Value, error: Option<(String, String)>) -> Response {
    render(
        st,
        c,
        "report_form.html",
        context! {
            form => form.key(), form_label => label(form, c.lang), v => values,
            error => error.map(|(field, message)| context! { field, message }),
            reporter_kinds => options::<ReporterKind>(c.lang), discoveries => options::<DiscoveryTrigger>(c.lang),
            damage_statuses => options::<DamageStatus>(c.lang), damages => options::<DamageCategory>(c.lang),
            assets => options::<AffectedAsset>(c.lang), causes => options::<CauseCategory>(c.lang),
            max_attachment_mib => st.limits.max_attachment_bytes >> 20, max_body_mib => st.limits.max_body_bytes >> 20,
        },
    )
}

async fn report_form(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let c = ctx(&st, &headers, &q).await;
    let form = q.get("form").and_then(|f| ReportForm::parse(f).ok()).unwrap_or(ReportForm::UnauthorizedAccess);
    form_page(&st, &c, form, context! { submission_id => random_token() }, None)
}

/// Text fields (repeatable) and files of a multipart form.
async fn read_multipart(
    req: Request,
    limits: crate::Limits,
) -> Result<(HashMap<String, Vec<String>>, Vec<Attachment>), String> {
    let mut mp = Multipart::from_request(req, &()).await.map_err(|e| e.body_text())?;
    let mut fields: HashMap<String, Vec<String>> = HashMap::new();
    let mut files = Vec::new();
    while let Some(mut f) = mp.next_field().await.map_err(|e| e.body_text())? {
        let name = f.name().unwrap_or("").to_owned();
        if let Some(filename) = f.file_name().map(str::to_owned) {
            let ct = f.content_type().unwrap_or("application/octet-stream").to_owned();
            let mut bytes = Vec::new();
            while let Some(chunk) = f.chunk().await.map_err(|e| e.body_text())? {
                if bytes.len() + chunk.len() > limits.max_attachment_bytes {
                    return Err(format!(
                        "`{}`: larger than {} MiB",
                        submission::display_filename(&filename),
                        limits.max_attachment_bytes >> 20
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            if !filename.is_empty() && !bytes.is_empty() {
                if files.len() >= limits.max_attachments {
                    return Err(format!("at most {} files", limits.max_attachments));
                }
                files.push(Attachment::new(&filename, &ct, bytes));
            }
        } else {
            fields.entry(name).or_default().push(f.text().await.map_err(|e| e.body_text())?);
        }
    }
    Ok((fields, files))
}

async fn submit_form(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Response {
    let c = ctx(&st, &headers, &q).await;
    if !same_origin(&headers) {
        return error_page(
            &st,
            &c,
            StatusCode::FORBIDDEN,
            "他のサイトからの送信は受け付けません。",
            "Submissions from other sites are refused.",
        );
    }
    if accounts::submission_throttled(&st.limiter, &client_ip(&headers)) {
        return error_page(
            &st,
            &c,
            StatusCode::TOO_MANY_REQUESTS,
            "送信が多すぎます。しばらくしてから再度お試しください。",
            "Too many submissions; please try again later.",
        );
    }
    let (fields, files) = match read_multipart(req, st.limits).await {
        Ok(x) => x,
        Err(e) => {
            return error_page(
                &st,
                &c,
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("送信できませんでした：{e}"),
                &format!("Not sent: {e}"),
            );
        }
    };
    let one = |k: &str| fields.get(k).and_then(|v| v.first()).cloned().filter(|s| !s.trim().is_empty());
    let many = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let form = one("form").and_then(|f| ReportForm::parse(&f).ok()).unwrap_or(ReportForm::UnauthorizedAccess);
    let payload = todokede_app::intake::ReportPayload {
        form: form.key().to_owned(),
        description: one("description").unwrap_or_default(),
        reporter_reference: one("reporter_reference"),
        attachments: vec![],
        language: Some(c.lang.to_owned()),
        reporter: Some(todokede_app::intake::ReporterPayload {
            kind: one("reporter_kind"),
            name: one("reporter_name"),
            organization: one("reporter_organization"),
            email: one("reporter_email"),
            phone: one("reporter_phone"),
            address: one("reporter_address"),
        }),
        discovered_on: one("discovered_on"),
        discovery: one("discovery"),
        discovery_narrative: one("discovery_narrative"),
        damage_status: one("damage_status"),
        damages: many("damages"),
        damage_narrative: None,
        causes: many("causes"),
        cause_narrative: None,
        response_narrative: one("response_narrative"),
        affected: Some(todokede_app::intake::AffectedPayload { assets: many("assets"), ..Default::default() }),
        virus: None,
        received_on: None,
    };
    let values = context! {
        submission_id => one("submission_id"), reporter_kind => one("reporter_kind"), reporter_name => one("reporter_name"),
        reporter_organization => one("reporter_organization"), reporter_email => one("reporter_email"), reporter_phone => one("reporter_phone"),
        reporter_address => one("reporter_address"), discovered_on => one("discovered_on"), discovery => one("discovery"),
        discovery_narrative => one("discovery_narrative"), description => one("description"), damage_status => one("damage_status"),
        damages => many("damages"), assets => many("assets"), causes => many("causes"), response_narrative => one("response_narrative"),
        mail_receipt => one("mail_receipt").is_some(),
    };
    let mail_receipt = one("mail_receipt").is_some();
    // What was received is archived as the payload's JSON.
    let raw =
        RawInput { content_type: "application/json".into(), bytes: serde_json::to_vec(&payload).unwrap_or_default() };
    // The form's own id makes a double click or a reload store one report.
    let dedup = one("submission_id").filter(|s| s.len() <= 64).map(|s| DedupKey::IdempotencyKey(format!("web:{s}")));
    let sub = match todokede_app::intake::submission_from_payload(&payload, raw, files, Channel::WebForm, dedup) {
        Ok(s) => s,
        Err(e) => {
            let field = match &e {
                todokede_app::intake::IntakeError::Invalid(e) => e.field(),
                _ => "",
            };
            let mut r = form_page(&st, &c, form, values, Some((field.to_owned(), e.to_string())));
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return r;
        }
    };
    match st.intake.submit(sub).await {
        Ok(Ok(receipt)) => {
            let secret = receipt.secret.as_ref().map(|s| s.expose().to_owned()).unwrap_or_default();
            // On request, the number and the link by mail too (queued; sent by the outbox worker).
            let to =
                payload.reporter.as_ref().and_then(|r| r.email.as_deref()).and_then(|e| EmailAddress::parse(e).ok());
            let mut mailed = false;
            if let (true, Some(to), false) = (mail_receipt, to, receipt.duplicate) {
                let lang = if c.lang == "en" { Language::En } else { Language::Ja };
                if let Ok(m) = todokede_mail::outbound::acknowledgement(
                    &st.mail.from,
                    &to,
                    &receipt.tracking_number,
                    &secret,
                    lang,
                    &st.mail.public_url,
                    None,
                ) {
                    mailed = st
                        .store
                        .enqueue_mail(receipt.report_id, &m.message_id, m.from.as_str(), m.to.as_str(), &m.raw)
                        .await
                        .is_ok();
                }
            }
            let link = format!("{}/r/{}/{}", st.mail.public_url.trim_end_matches('/'), receipt.tracking_number, secret);
            render(
                &st,
                &c,
                "submitted.html",
                context! { tracking_number => receipt.tracking_number.to_string(), secret, secret_link => link, mailed },
            )
        }
        Ok(Err(_)) => error_page(
            &st,
            &c,
            StatusCode::CONFLICT,
            "この届出は既に送信されています。",
            "This report was already submitted.",
        ),
        Err(e) => {
            tracing::error!(error = %e, "web intake failed");
            error_page(
                &st,
                &c,
                StatusCode::SERVICE_UNAVAILABLE,
                "一時的に受け付けられません。入力内容は保存されていません。しばらくしてから再度送信してください。",
                "We cannot accept reports right now; nothing was stored. Please submit again in a moment.",
            )
        }
    }
}

// ── reporter ────────────────────────────────────────────────────────────────────────────

async fn start_reporter_session(st: &AppState, report: ReportId) -> Response {
    let token = random_token();
    if let Err(e) = st
        .store
        .create_session(&token_hash(&token), &SessionSubject::Reporter(report), &random_token(), REPORTER_SESSION)
        .await
    {
        tracing::error!(error = %e, "session");
        return (StatusCode::SERVICE_UNAVAILABLE, "unavailable").into_response();
    }
    // The secret never stays in the address bar, the history or a Referer.
    let mut res = Redirect::to("/reporter").into_response();
    res.headers_mut().insert(header::SET_COOKIE, session_cookie(st, &token, REPORTER_SESSION.whole_seconds()));
    res
}

async fn secret_link(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((tn, secret)): Path<(String, String)>,
) -> Response {
    let c = ctx(&st, &headers, &HashMap::new()).await;
    let ip = client_ip(&headers);
    if accounts::reporter_locked(&st.limiter, &ip) {
        return error_page(&st, &c, StatusCode::TOO_MANY_REQUESTS, "試行が多すぎます。", "Too many attempts.");
    }
    let found = match TrackingNumber::parse(&tn) {
        Ok(tn) => st.store.report_for_reporter(&tn, &ReporterSecret::from_presented(&secret)).await.ok().flatten(),
        Err(_) => None,
    };
    match found {
        Some(r) => start_reporter_session(&st, r.id).await,
        None => {
            accounts::reporter_failed(&st.limiter, &ip);
            let mut r = render(&st, &c, "reporter_login.html", context! { error => true });
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    }
}

async fn reporter_login_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let c = ctx(&st, &headers, &q).await;
    render(&st, &c, "reporter_login.html", context! {})
}

#[derive(Deserialize)]
struct ReporterLogin {
    tracking_number: String,
    secret: String,
}

async fn reporter_login(State(st): State<AppState>, headers: HeaderMap, Form(f): Form<ReporterLogin>) -> Response {
    let c = ctx(&st, &headers, &HashMap::new()).await;
    if !same_origin(&headers) {
        return error_page(
            &st,
            &c,
            StatusCode::FORBIDDEN,
            "他のサイトからの送信は受け付けません。",
            "Requests from other sites are refused.",
        );
    }
    secret_link(State(st), headers, Path((f.tracking_number, f.secret))).await
}

async fn reporter_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let c = ctx(&st, &headers, &q).await;
    let Some(id) = c.reporter_report() else { return Redirect::to("/reporter/login").into_response() };
    let Ok(Some(r)) = st.store.report(id).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    // What a reporter may see is decided once, for the API and this page alike.
    let view = crate::wire::ReporterReportView::of(&r);
    let messages: Vec<Value> = view.messages.iter().map(|m| {
        let who = match (m.kind.as_str(), c.lang) {
            ("reply", "en") => "Analyst",
            ("reply", _) => "担当者",
            (_, "en") => "You",
            _ => "届出者",
        };
        context! { kind => m.kind, who, at => jst(m.at), body => m.body, attachments => m.attachments.iter().map(|a| a.filename.clone()).collect::<Vec<_>>() }
    }).collect();
    render(
        &st,
        &c,
        "reporter.html",
        context! {
            report => context! { tracking_number => r.tracking_number.to_string(), state => r.state.key(), state_label => label(r.state, c.lang),
                form_label => label(r.content.form, c.lang), received_at => jst(r.received_at), description => r.content.description },
            messages,
        },
    )
}

async fn reporter_follow_up(State(st): State<AppState>, headers: HeaderMap, req: Request) -> Response {
    let c = ctx(&st, &headers, &HashMap::new()).await;
    let Some(id) = c.reporter_report() else { return Redirect::to("/reporter/login").into_response() };
    if !same_origin(&headers) {
        return error_page(
            &st,
            &c,
            StatusCode::FORBIDDEN,
            "他のサイトからの送信は受け付けません。",
            "Requests from other sites are refused.",
        );
    }
    let (fields, files) = match read_multipart(req, st.limits).await {
        Ok(x) => x,
        Err(e) => return error_page(&st, &c, StatusCode::PAYLOAD_TOO_LARGE, &e, &e),
    };
    if !csrf_ok(&c, fields.get("csrf").and_then(|v| v.first()).map(String::as_str)) {
        return error_page(
            &st,
            &c,
            StatusCode::FORBIDDEN,
            "フォームの有効期限が切れました。ページを開き直してください。",
            "The form has expired; please reload the page.",
        );
    }
    let body = fields.get("body").and_then(|v| v.first()).map(|s| s.trim().to_owned()).unwrap_or_default();
    if body.is_empty() {
        return Redirect::to("/reporter").into_response();
    }
    match st.store.add_follow_up(id, &body, &files).await {
        Ok(()) => Redirect::to("/reporter").into_response(),
        Err(_) => {
            error_page(&st, &c, StatusCode::SERVICE_UNAVAILABLE, "一時的に送信できません。", "Cannot send right now.")
        }
    }
}

// ── analysts ────────────────────────────────────────────────────────────────────────────

async fn login_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let c = ctx(&st, &headers, &q).await;
    render(&st, &c, "login.html", context! {})
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    /// The TOTP code, for accounts with the second factor on.
    #[serde(default)]
    code: String,
}

async fn login(State(st): State<AppState>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    let c = ctx(&st, &headers, &HashMap::new()).await;
    if !same_origin(&headers) {
        return error_page(
            &st,
            &c,
            StatusCode::FORBIDDEN,
            "他のサイトからの送信は受け付けません。",
            "Requests from other sites are refused.",
        );
    }
    let email = f.email.trim().to_ascii_lowercase();
    // The message is the same for a wrong password and a locked account, so it tells an
    // attacker nothing.
    let generic = if c.lang == "en" {
        "The e-mail address or password is not right, or the account is locked for a while."
    } else {
        "メールアドレスまたはパスワードが正しくないか、一時的にロックされています。"
    };
    let user = match accounts::login(&st.store, &st.limiter, &email, &f.password, &f.code, &client_ip(&headers)).await {
        accounts::Login::Ok(user) => user,
        accounts::Login::Locked => {
            let mut r = render(&st, &c, "login.html", context! { error => generic });
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            return r;
        }
        accounts::Login::Failed => {
            let mut r = render(&st, &c, "login.html", context! { error => generic });
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            return r;
        }
    };
    // A fresh session at every login: a token planted before login is never elevated.
    if let Some((old, _)) = &c.session {
        let _ = st.store.delete_session(old).await;
    }
    let token = random_token();
    if st
        .store
        .create_session(&token_hash(&token), &SessionSubject::Analyst(user.id), &random_token(), ANALYST_SESSION)
        .await
        .is_err()
    {
        return error_page(
            &st,
            &c,
            StatusCode::SERVICE_UNAVAILABLE,
            "一時的にログインできません。",
            "Cannot log in right now.",
        );
    }
    let _ = st.store.audit(Some(user.id), "login", None, None).await;
    let mut res = Redirect::to("/queue").into_response();
    res.headers_mut().insert(header::SET_COOKIE, session_cookie(&st, &token, ANALYST_SESSION.whole_seconds()));
    res
}

async fn logout(State(st): State<AppState>, headers: HeaderMap, Form(f): Form<HashMap<String, String>>) -> Response {
    let c = ctx(&st, &headers, &HashMap::new()).await;
    if same_origin(&headers) && csrf_ok(&c, f.get("csrf").map(String::as_str)) {
        if let Some((h, _)) = &c.session {
            let _ = st.store.delete_session(h).await;
            if let Some(u) = &c.analyst {
                let _ = st.store.audit(Some(u.id), "logout", None, None).await;
            }
        }
    }
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().insert(header::SET_COOKIE, session_cookie(&st, "", 0));
    res
}

/// The signed-in analyst, or a redirect to the login page.
macro_rules! analyst_or_login {
    ($c:expr) => {
        match &$c.analyst {
            Some(u) => u.clone(),
            None => return Redirect::to("/login").into_response(),
        }
    };
}

async fn queue(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let c = ctx(&st, &headers, &q).await;
    let _user = analyst_or_login!(c);
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
        assignee: (get("mine").is_some()).then(|| _user.id),
        newest_first: get("sort").as_deref() != Some("old"),
        limit: per_page + 1,
        offset: (page - 1) * per_page,
    };
    let Ok(mut rows) = st.store.list_reports(&filter).await else {
        return error_page(&st, &c, StatusCode::SERVICE_UNAVAILABLE, "一時的に表示できません。", "Unavailable.");
    };
    let more = rows.len() as i64 > per_page;
    rows.truncate(per_page as usize);
    let counts = st.store.count_by_state().await.unwrap_or_default();
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
            f => context! { state => get("state"), form => get("form"), kind => get("kind"), from => get("from"), until => get("until"), sort => get("sort"), cause => get("cause"), mine => get("mine").is_some() },
            reports => rows.iter().map(|r| context! {
                tracking_number => r.tracking_number.to_string(), received_at => jst(r.received_at), form => label(r.form, c.lang),
                kind => r.reporter_kind.map(|k| label(k, c.lang)).unwrap_or("—"), headline => r.headline, state => label(r.state, c.lang), state_key => r.state.key(),
            }).collect::<Vec<_>>(),
            prev_page => (page > 1).then(|| link(page - 1)), next_page => more.then(|| link(page + 1)), alerts, alerts_period,
        },
    )
}

/// A p-value as people read it: 0.0018, or 1.4e-6 when tiny.
fn p_value(p: f64) -> String {
    if p < 1e-4 { format!("{p:.1e}") } else { format!("{p:.4}") }
}

fn urlencode(s: &str) -> String {
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

async fn load_for_analyst(st: &AppState, tn: &str) -> Option<Report> {
    let tn = TrackingNumber::parse(tn).ok()?;
    let id = st.store.report_id_by_tracking(&tn).await.ok()??;
    st.store.report(id).await.ok()?
}

fn analysis_view(json: &serde_json::Value, lang: &str) -> Value {
    let section = |key: &str, ja: &str, en: &str| {
        let items: Vec<Value> = json[key].as_array().into_iter().flatten().map(|d| context! {
            label => d[if lang == "en" { "label_en" } else { "label_ja" }].as_str().unwrap_or(""),
            confidence => format!("{:.2}", d["confidence"].as_f64().unwrap_or(0.0)),
            evidence => d["evidence"].as_array().map(|e| e.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(" | ")).unwrap_or_default(),
        }).collect();
        context! { title => if lang == "en" { en } else { ja }, items }
    };
    context! {
        sections => vec![section("causes", "被害原因（主原因が先頭）", "Causes (primary first)"), section("damages", "被害内容", "Damage"), section("attack_types", "攻撃行為", "Attack types")],
        indicators => json["indicators"].as_object().map(|o| o.iter().map(|(k, v)| context! { type => k, values => v.as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default() }).collect::<Vec<_>>()).unwrap_or_default(),
        techniques => json["techniques"].as_array().map(|a| a.iter().map(|t| context! { id => t["id"].as_str(), name => t["name"].as_str() }).collect::<Vec<_>>()).unwrap_or_default(),
        countermeasures => json["countermeasures"].as_array().map(|a| a.iter().filter_map(|m| m[if lang == "en" { "en" } else { "ja" }].as_str()).collect::<Vec<_>>()).unwrap_or_default(),
        evidence => json["evidence"].as_array().map(|files| files.iter().map(|f| context! {
            file => f["file"].as_str(), lines => f["lines"].as_u64(),
            findings => f["findings"].as_array().map(|fs| fs.iter().map(|x| context! {
                severity => x["severity"].as_str(), summary => x["summary"].as_str(), technique => x["technique"].as_str(),
                proof => x["proof"].as_array().map(|p| p.iter().map(|l| format!("{:>7}: {}", l["line"].as_u64().unwrap_or(0), l["text"].as_str().unwrap_or(""))).collect::<Vec<_>>()).unwrap_or_default(),
            }).collect::<Vec<_>>()).unwrap_or_default(),
        }).collect::<Vec<_>>()).unwrap_or_default(),
    }
}

async fn report_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(tn): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let c = ctx(&st, &headers, &q).await;
    let _user = analyst_or_login!(c);
    let Some(r) = load_for_analyst(&st, &tn).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    let l = c.lang;
    let rep = &r.content.reporter;
    let row = |ja: &str, en: &str, v: Option<String>| context! { k => if l == "en" { en.to_owned() } else { ja.to_owned() }, v => v.unwrap_or_else(|| "—".into()) };
    let reporter = vec![
        row("種別", "Kind", rep.kind.map(|k| label(k, l).to_owned())),
        row("氏名", "Name", rep.name.clone()),
        row("組織", "Organisation", rep.organization.clone()),
        row("E-Mail", "E-mail", rep.email.as_ref().map(|e| e.as_str().to_owned())),
        row("TEL", "Phone", rep.phone.clone()),
        row("住所", "Prefecture", rep.address.clone()),
        row("届出者の管理番号", "Reporter's reference", r.content.reporter_reference.clone()),
    ];
    let mut narratives = Vec::new();
    for (ja, en, v) in [
        ("発見の経緯", "Discovery", &r.content.discovery_narrative),
        ("被害", "Damage", &r.content.damage_narrative),
        ("原因", "Cause", &r.content.cause_narrative),
        ("対応", "Response", &r.content.response_narrative),
    ] {
        if let Some(text) = v {
            narratives.push(context! { title => if l == "en" { en } else { ja }, text });
        }
    }
    let timeline: Vec<Value> = r.timeline.iter().map(|e| match e {
        TimelineEntry::StateChanged { from, to, at, .. } => context! { kind => "state", at => jst(*at), what => format!("{} → {}", label(*from, l), label(*to, l)), body => "" },
        TimelineEntry::FollowUp { body, at, attachments } => context! { kind => "follow_up", at => jst(*at), what => if l == "en" { "Follow-up from the reporter" } else { "届出者からの続報" },
            body => format!("{body}{}", attachments.iter().map(|a| format!("\n📎 {}", a.filename)).collect::<String>()) },
        TimelineEntry::Note { body, at, .. } => context! { kind => "note", at => jst(*at), what => if l == "en" { "Internal note" } else { "内部メモ" }, body },
        TimelineEntry::Reply { body, at, .. } => context! { kind => "reply", at => jst(*at), what => if l == "en" { "Reply to the reporter" } else { "届出者への返信" }, body },
    }).collect();
    let attachments = r.all_attachments();
    let analysis_json =
        st.store.analysis(r.id).await.ok().flatten().and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
    let analysis = analysis_json.as_ref().map(|j| analysis_view(j, l));
    let analysts: Vec<Value> = st
        .store
        .users()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| context! { id => u.id.0, email => u.email, selected => Some(u.id) == r.assignee })
        .collect();
    let links: Vec<String> =
        st.store.linked_reports(r.id).await.unwrap_or_default().iter().map(|t| t.to_string()).collect();
    let (suggested, near) = crossref_pages::suggestions(&st, r.id, &links).await;
    // The classification form: the confirmed values, else the automatic ones to confirm.
    let confirmed = st.store.classification(r.id).await.ok().flatten();
    let current = match &confirmed {
        Some(c) => c.clone(),
        None => analysis_json.as_ref().map(todokede_analyse::suggested_classification).unwrap_or_default(),
    };
    let checks = |all: Vec<Value>, chosen: Vec<&str>| {
        all.into_iter()
            .map(|o| {
                let on = chosen.contains(
                    &o.get_attr("key").ok().and_then(|k| k.as_str().map(str::to_owned)).unwrap_or_default().as_str(),
                );
                context! { ..o, ..context! { on } }
            })
            .collect::<Vec<_>>()
    };
    let classification = context! {
        confirmed => confirmed.is_some(),
        primary => current.causes.first().map(|c| c.key()),
        causes => checks(options::<CauseCategory>(l), current.causes.iter().skip(1).map(|c| c.key()).collect()),
        cause_options => options::<CauseCategory>(l),
        damages => checks(options::<DamageCategory>(l), current.damages.iter().map(|c| c.key()).collect()),
        attack_types => checks(options::<AttackType>(l), current.attack_types.iter().map(|c| c.key()).collect()),
        techniques => current.techniques.join(", "),
        has_damage => match current.has_damage { Some(true) => "yes", Some(false) => "no", None => "unknown" },
    };
    let reply_template = if r.content.language == Language::En {
        "Thank you for your report. Could you tell us more about …?\n\nThe todokede team"
    } else {
        "このたびは届出をいただきありがとうございます。\n差し支えなければ、〜についてお教えいただけますでしょうか。\n\n届出窓口"
    };
    render(
        &st,
        &c,
        "report.html",
        context! {
            r => context! {
                tracking_number => r.tracking_number.to_string(), state => label(r.state, l), state_key => r.state.key(), form => label(r.content.form, l),
                channel => label(r.channel, l), received_at => jst(r.received_at), description => r.content.description, narratives, reporter,
                attachments => attachments.iter().map(|a| context! { sha256 => a.sha256, filename => a.filename, size => a.size, content_type => a.content_type }).collect::<Vec<_>>(),
                intake_notes => r.intake_notes, timeline,
                next_states => r.state.next_states().iter().map(|s| context! { key => s.key(), label => label(*s, l) }).collect::<Vec<_>>(),
            },
            analysis, reply_template, analysts, links, suggested, near, classification,
        },
    )
}

/// Attachments leave only as downloads: never rendered in our origin.
async fn download(State(st): State<AppState>, headers: HeaderMap, Path((tn, sha)): Path<(String, String)>) -> Response {
    let c = ctx(&st, &headers, &HashMap::new()).await;
    let user = analyst_or_login!(c);
    let Some(r) = load_for_analyst(&st, &tn).await else { return StatusCode::NOT_FOUND.into_response() };
    // Only an attachment of this report: a hash from another report is not found here.
    let Some(meta) = r.all_attachments().into_iter().find(|a| a.sha256 == sha) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(Some(bytes)) = st.store.blob(&meta.sha256).await else { return StatusCode::NOT_FOUND.into_response() };
    let _ = st.store.audit(Some(user.id), "attachment.download", Some(&r.id.0.to_string()), Some(&meta.filename)).await;
    let (bytes, filename) = if suspected_malware(&meta.filename, &bytes) {
        // A suspected sample leaves only inside an encrypted archive with the conventional
        // password, so no scanner quarantines it on the way and nobody opens it by a click.
        match infected_zip(&meta.filename, &bytes) {
            Ok(z) => (z, format!("{}.zip", meta.filename)),
            Err(e) => {
                tracing::error!(error = %e, "zip");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        }
    } else {
        (bytes, meta.filename.clone())
    };
    let meta = AttachmentMeta { filename, ..meta.clone() };
    let ascii: String = meta
        .filename
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_') { ch } else { '_' })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", urlencode(&meta.filename));
    let mut res = Bytes::from(bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    res
}

#[derive(Deserialize)]
struct ActionForm {
    csrf: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    body: String,
}

async fn action_guard(st: &AppState, headers: &HeaderMap, csrf: &str) -> Result<(Ctx, todokede_store::User), Response> {
    let c = ctx(st, headers, &HashMap::new()).await;
    let Some(user) = c.analyst.clone() else { return Err(Redirect::to("/login").into_response()) };
    if !same_origin(headers) || !csrf_ok(&c, Some(csrf)) {
        return Err(error_page(
            st,
            &c,
            StatusCode::FORBIDDEN,
            "フォームの有効期限が切れたか、他のサイトからの送信です。",
            "The form has expired or came from another site.",
        ));
    }
    Ok((c, user))
}

async fn change_state(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(tn): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let (c, user) = match action_guard(&st, &headers, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(r) = load_for_analyst(&st, &tn).await else { return StatusCode::NOT_FOUND.into_response() };
    let Ok(to) = ReportState::parse(&f.to) else {
        return error_page(&st, &c, StatusCode::BAD_REQUEST, "不正な状態です。", "Unknown state.");
    };
    match st.store.transition(r.id, to, user.id).await {
        Ok(_) => Redirect::to(&format!("/reports/{}", r.tracking_number)).into_response(),
        Err(e) => error_page(&st, &c, StatusCode::CONFLICT, &e.to_string(), &e.to_string()),
    }
}

async fn reply(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(tn): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let (c, user) = match action_guard(&st, &headers, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(r) = load_for_analyst(&st, &tn).await else { return StatusCode::NOT_FOUND.into_response() };
    if f.body.trim().is_empty() {
        return Redirect::to(&format!("/reports/{}", r.tracking_number)).into_response();
    }
    match todokede_app::replies::reply_to_reporter(&st.store, &st.mail, r.id, user.id, f.body.trim()).await {
        Ok(_) => Redirect::to(&format!("/reports/{}", r.tracking_number)).into_response(),
        Err(e) => error_page(&st, &c, StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), &e.to_string()),
    }
}

async fn note(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(tn): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let (c, user) = match action_guard(&st, &headers, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(r) = load_for_analyst(&st, &tn).await else { return StatusCode::NOT_FOUND.into_response() };
    if !f.body.trim().is_empty() {
        if let Err(e) = st.store.add_note(r.id, user.id, f.body.trim()).await {
            return error_page(&st, &c, StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), &e.to_string());
        }
    }
    Redirect::to(&format!("/reports/{}", r.tracking_number)).into_response()
}

/// The analyst confirms the classification (primary cause, other causes, damages, attack types,
/// techniques, damage flag) from the report page.
async fn classify(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(tn): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let one = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let all = |k: &str| pairs.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let (c, user) = match action_guard(&st, &headers, &one("csrf")).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(r) = load_for_analyst(&st, &tn).await else { return StatusCode::NOT_FOUND.into_response() };
    let parse_all = |k: &str| all(k).iter().map(|v| v.as_str()).collect::<Vec<_>>().join(",");
    let primary = one("primary_cause");
    let mut causes = vec![primary.clone()];
    causes.extend(all("causes").into_iter().filter(|c| *c != primary));
    let parsed = (|| -> Result<todokede_app::classification::Overrides, todokede_domain::UnknownKey> {
        Ok(todokede_app::classification::Overrides {
            causes: Some(todokede_app::classification::keys(&causes.join(","))?),
            damages: Some(todokede_app::classification::keys(&parse_all("damages"))?),
            attack_types: Some(todokede_app::classification::keys(&parse_all("attack_types"))?),
            techniques: Some(
                one("techniques").split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect(),
            ),
            has_damage: Some(match one("has_damage").as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            }),
        })
    })();
    let o = match parsed {
        Ok(o) => o,
        Err(e) => return error_page(&st, &c, StatusCode::BAD_REQUEST, &e.to_string(), &e.to_string()),
    };
    match todokede_app::classification::confirm(&st.store, r.id, user.id, &o).await {
        Ok(_) => Redirect::to(&format!("/reports/{}", r.tracking_number)).into_response(),
        Err(e) => error_page(&st, &c, StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), &e.to_string()),
    }
}

async fn audit(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let c = ctx(&st, &headers, &q).await;
    let user = analyst_or_login!(c);
    if user.role != Role::Admin {
        return error_page(&st, &c, StatusCode::FORBIDDEN, "管理者のみが閲覧できます。", "Admins only.");
    }
    let entries = st.store.audit_log(500).await.unwrap_or_default();
    render(
        &st,
        &c,
        "audit.html",
        context! {
            entries => entries.iter().map(|e| context! { at => jst(e.at), user => e.user.map(|u| u.0.to_string()).unwrap_or_else(|| "—".into()),
                action => e.action, target => e.target, detail => e.detail }).collect::<Vec<_>>(),
        },
    )
}

async fn assign(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(tn): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let (c, user) = match action_guard(&st, &headers, f.get("csrf").map(String::as_str).unwrap_or("")).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(r) = load_for_analyst(&st, &tn).await else { return StatusCode::NOT_FOUND.into_response() };
    let to = f.get("to").and_then(|v| v.parse::<i64>().ok()).map(UserId);
    match st.store.assign(r.id, to, user.id).await {
        Ok(()) => Redirect::to(&format!("/reports/{}", r.tracking_number)).into_response(),
        Err(e) => error_page(&st, &c, StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), &e.to_string()),
    }
}

async fn link(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(tn): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let (c, user) = match action_guard(&st, &headers, f.get("csrf").map(String::as_str).unwrap_or("")).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(r) = load_for_analyst(&st, &tn).await else { return StatusCode::NOT_FOUND.into_response() };
    let Some(other) =
        load_for_analyst(&st, f.get("other").map(String::as_str).unwrap_or("")).await.filter(|o| o.id != r.id)
    else {
        return error_page(
            &st,
            &c,
            StatusCode::NOT_FOUND,
            "その受付番号の届出はありません。",
            "No report with that number.",
        );
    };
    match st.store.link_reports(r.id, other.id, user.id).await {
        Ok(()) => Redirect::to(&format!("/reports/{}", r.tracking_number)).into_response(),
        Err(e) => error_page(&st, &c, StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), &e.to_string()),
    }
}

async fn users_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let c = ctx(&st, &headers, &q).await;
    let user = analyst_or_login!(c);
    if user.role != Role::Admin {
        return error_page(&st, &c, StatusCode::FORBIDDEN, "管理者のみが利用できます。", "Admins only.");
    }
    users_view(&st, &c, None).await
}

async fn users_view(st: &AppState, c: &Ctx, created: Option<(String, String)>) -> Response {
    let users = st.store.users().await.unwrap_or_default();
    render(
        st,
        c,
        "users.html",
        context! {
            users => users.iter().map(|u| context! { id => u.id.0, email => u.email, role => u.role.key(), disabled => u.disabled }).collect::<Vec<_>>(),
            created => created.map(|(email, password)| context! { email, password }),
        },
    )
}

async fn create_user(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let (c, admin) = match action_guard(&st, &headers, f.get("csrf").map(String::as_str).unwrap_or("")).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if admin.role != Role::Admin {
        return error_page(&st, &c, StatusCode::FORBIDDEN, "管理者のみが利用できます。", "Admins only.");
    }
    let Ok(email) = EmailAddress::parse(f.get("email").map(String::as_str).unwrap_or("")) else {
        return error_page(
            &st,
            &c,
            StatusCode::UNPROCESSABLE_ENTITY,
            "メールアドレスが正しくありません。",
            "Not an e-mail address.",
        );
    };
    let role = if f.get("role").map(String::as_str) == Some("admin") { Role::Admin } else { Role::Analyst };
    let password = accounts::one_time_password();
    let Ok(hash) = accounts::hash_password(&password) else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    match st.store.create_user(email.as_str(), role, &hash).await {
        Ok(_) => {
            let _ = st.store.audit(Some(admin.id), "user.create", Some(email.as_str()), Some(role.key())).await;
            users_view(&st, &c, Some((email.as_str().to_owned(), password))).await
        }
        Err(_) => {
            error_page(&st, &c, StatusCode::CONFLICT, "そのアカウントは既にあります。", "That account exists already.")
        }
    }
}

async fn user_action(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let (c, admin) = match action_guard(&st, &headers, f.get("csrf").map(String::as_str).unwrap_or("")).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if admin.role != Role::Admin || id == admin.id.0 {
        return error_page(&st, &c, StatusCode::FORBIDDEN, "この操作はできません。", "Not allowed.");
    }
    let disabled = match action.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match st.store.set_user_disabled(UserId(id), disabled, admin.id).await {
        Ok(()) => Redirect::to("/admin/users").into_response(),
        Err(e) => error_page(&st, &c, StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), &e.to_string()),
    }
}

async fn account_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let c = ctx(&st, &headers, &q).await;
    let user = analyst_or_login!(c);
    let on = st.store.totp(user.id).await.map(|(s, _)| s.is_some()).unwrap_or(false);
    let secret = accounts::totp::new_secret();
    render(
        &st,
        &c,
        "account.html",
        context! { totp_on => on, secret => secret, uri => accounts::totp::uri(&secret, &user.email) },
    )
}

async fn account_totp(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let (c, user) = match action_guard(&st, &headers, f.get("csrf").map(String::as_str).unwrap_or("")).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    if get("action") == "off" {
        let _ = st.store.set_totp(user.id, None).await;
        return Redirect::to("/account").into_response();
    }
    // Turned on only with a code that proves the authenticator holds the secret.
    let secret = get("secret");
    if secret.len() != 32 || accounts::totp::matching_step(secret, get("code")).is_none() {
        return error_page(
            &st,
            &c,
            StatusCode::UNPROCESSABLE_ENTITY,
            "確認コードが正しくありません。",
            "The code is not right.",
        );
    }
    match st.store.set_totp(user.id, Some(secret)).await {
        Ok(()) => Redirect::to("/account").into_response(),
        Err(e) => error_page(&st, &c, StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), &e.to_string()),
    }
}

/// Executables, scripts, macro documents and disk images, by name or by content.
pub fn suspected_malware(filename: &str, bytes: &[u8]) -> bool {
    const EXTENSIONS: &[&str] = &[
        "exe", "dll", "scr", "com", "pif", "cpl", "sys", "bat", "cmd", "ps1", "vbs", "vbe", "js", "jse", "wsf", "hta",
        "jar", "lnk", "msi", "docm", "xlsm", "pptm", "iso", "img", "elf", "sh", "apk", "php", "aspx", "jsp",
    ];
    let ext = filename.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    EXTENSIONS.contains(&ext.as_str())
        || bytes.starts_with(b"MZ")
        || bytes.starts_with(b"\x7fELF")
        || bytes.starts_with(b"#!")
}

/// A zip (AES-256) holding the file, password `infected`.
pub fn infected_zip(filename: &str, bytes: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Write as _;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    let opts = zip::write::SimpleFileOptions::default().with_aes_encryption(zip::AesMode::Aes256, "infected");
    z.start_file(filename, opts).map_err(|e| e.to_string())?;
    z.write_all(bytes).map_err(|e| e.to_string())?;
    z.finish().map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

mod crossref_pages;
mod publication_pages;
