//! The reporter's side: the secret link and the reporter login exchanged for a session bound to one report, the reporter's page and their follow-ups.

use super::*;

pub(super) async fn start_reporter_session(st: &AppState, report: ReportId) -> Response {
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

/// Why a reporter's number and password were not even checked.
pub(super) struct TooManyAttempts {
    pub(super) ja: &'static str,
    pub(super) en: &'static str,
}

/// The report a tracking number and reporter password open (`None`: unknown number or wrong
/// password, indistinguishably), counted against the client's reporter attempts; the one check
/// behind the secret link, the reporter login and the acknowledgement's language switch.
pub(super) async fn report_by_secret(
    st: &AppState,
    client: &crate::client::ClientAddr,
    tn: &str,
    secret: &str,
) -> Result<Option<todokede_domain::Report>, TooManyAttempts> {
    if !accounts::reporter_attempt(&st.store, &client.0).await {
        return Err(TooManyAttempts { ja: "試行が多すぎます。", en: "Too many attempts." });
    }
    let found = match TrackingNumber::parse(tn) {
        Ok(tn) => st.store.report_for_reporter(&tn, &ReporterSecret::from_presented(secret)).await.ok().flatten(),
        Err(_) => None,
    };
    if found.is_some() {
        accounts::reporter_succeeded(&st.store, &client.0).await;
    }
    Ok(found)
}

pub(super) async fn secret_link(
    State(st): State<AppState>,
    client: crate::client::ClientAddr,
    headers: HeaderMap,
    Path((tn, secret)): Path<(String, String)>,
) -> Response {
    let c = ctx(&st, &headers, &HashMap::new()).await;
    // Login CSRF: another site could send a victim's browser to the attacker's own link and
    // sign it into the attacker's report. A link opened from a mail program or typed in
    // (Sec-Fetch-Site: none) or from our pages opens the report; from another site (webmail
    // too) the reporter confirms with a click on our own form.
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|s| s != "none" && s != "same-origin") {
        let tracking_number = TrackingNumber::parse(&tn).ok().map(|t| t.to_string());
        return render(&st, &c, "reporter_login.html", context! { tracking_number, secret, confirm => true });
    }
    let found = match report_by_secret(&st, &client, &tn, &secret).await {
        Ok(found) => found,
        Err(refused) => return error_page(&st, &c, StatusCode::TOO_MANY_REQUESTS, refused.ja, refused.en),
    };
    match found {
        Some(r) => start_reporter_session(&st, r.id).await,
        None => {
            // The number stays as typed (to correct it or retype only the password); never the password.
            let mut r =
                render(&st, &c, "reporter_login.html", context! { error => true, tracking_number => tn.trim() });
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    }
}

/// The login page; `?tracking_number=` (the acknowledgement mail's link) fills the number in.
pub(super) async fn reporter_login_page(
    State(st): State<AppState>,
    c: Ctx,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let tracking_number = q.get("tracking_number").and_then(|t| TrackingNumber::parse(t).ok()).map(|t| t.to_string());
    render(&st, &c, "reporter_login.html", context! { tracking_number })
}

/// `/reporter/<number>`: the link acknowledgement mails carried before; the login page with
/// the number filled in.
pub(super) async fn reporter_number_link(Path(tn): Path<String>) -> Response {
    match TrackingNumber::parse(&tn) {
        Ok(tn) => Redirect::to(&format!("/reporter/login?tracking_number={tn}")).into_response(),
        Err(_) => Redirect::to("/reporter/login").into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct ReporterLogin {
    pub(super) tracking_number: String,
    pub(super) secret: String,
}

pub(super) async fn reporter_login(
    State(st): State<AppState>,
    client: crate::client::ClientAddr,
    headers: HeaderMap,
    Form(f): Form<ReporterLogin>,
) -> Response {
    let c = ctx(&st, &headers, &HashMap::new()).await;
    if !same_origin(&headers) {
        return cross_site_refused(&st, &c);
    }
    secret_link(State(st), client, headers, Path((f.tracking_number, f.secret))).await
}

pub(super) async fn reporter_page(State(st): State<AppState>, c: Ctx) -> Response {
    let Some(id) = c.reporter_report() else { return Redirect::to("/reporter/login").into_response() };
    reporter_view(&st, &c, id, None).await
}

/// What the reporter typed into the follow-up form, brought back with why it was not sent (the
/// files must be chosen again: a browser cannot refill a file input).
pub(super) struct FollowUpDraft {
    body: String,
    error: UiError,
    dropped_files: Vec<String>,
}

/// The reporter's page; with a draft, the follow-up form holds what was typed, the error sits
/// above it and the answer has the error's status.
async fn reporter_view(st: &AppState, c: &Ctx, id: ReportId, draft: Option<FollowUpDraft>) -> Response {
    let Ok(Some(r)) = st.store.report(id).await else {
        return error_page(st, c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    // What a reporter may see is decided once, for the API and this page alike.
    let view = crate::wire::ReporterReportView::of(&r);
    let messages: Vec<Value> = view.messages.iter().map(|m| {
        let who = match (m.kind.as_str(), c.lang) {
            ("reply", Language::En) => "Analyst",
            ("reply", _) => "担当者",
            (_, Language::En) => "You",
            _ => "届出者",
        };
        context! { kind => m.kind, who, at => jst(m.at), body => m.body, attachments => m.attachments.iter().map(|a| a.filename.clone()).collect::<Vec<_>>() }
    }).collect();
    let status = draft.as_ref().map(|d| d.error.status);
    let follow_up = draft.map(|d| {
        context! { body => d.body, error => c.lang.pick(d.error.ja, d.error.en), dropped_files => d.dropped_files }
    });
    let mut res = render(
        st,
        c,
        "reporter.html",
        context! {
            report => context! { tracking_number => r.tracking_number.to_string(), state => r.state.key(), state_label => label(r.state, c.lang),
                form_label => label(r.content.form, c.lang), received_at => jst(r.received_at), description => r.content.description },
            messages, follow_up,
        },
    );
    if let Some(status) = status {
        *res.status_mut() = status;
    }
    res
}

pub(super) async fn reporter_follow_up(State(st): State<AppState>, headers: HeaderMap, req: Request) -> Response {
    let c = ctx(&st, &headers, &HashMap::new()).await;
    let Some(id) = c.reporter_report() else { return Redirect::to("/reporter/login").into_response() };
    if !same_origin(&headers) {
        return cross_site_refused(&st, &c);
    }
    let FormUpload { fields, files, too_large, too_many } = match read_multipart(req, st.limits).await {
        Ok(x) => x,
        Err(e) => return e.page(&st, &c),
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
    let typed = fields.get("body").and_then(|v| v.first()).cloned().unwrap_or_default();
    // Whatever stops the follow-up, the page comes back with what was typed and says why.
    let back = |error: UiError, dropped_files: Vec<String>| FollowUpDraft { body: typed.clone(), error, dropped_files };
    let chosen: Vec<String> = files.iter().map(|f| f.filename.clone()).collect();
    if !too_large.is_empty() {
        let draft = back(too_large_error(&too_large, st.limits), chosen.into_iter().chain(too_large).collect());
        return reporter_view(&st, &c, id, Some(draft)).await;
    }
    if !too_many.is_empty() {
        let draft = back(too_many_error(&too_many, st.limits), chosen.into_iter().chain(too_many).collect());
        return reporter_view(&st, &c, id, Some(draft)).await;
    }
    // The same rules as the API's follow-ups (todokede_domain::submission::text_field).
    let body = match todokede_domain::submission::text_field(
        "body",
        Some(&typed),
        todokede_domain::submission::MAX_TEXT_CHARS,
    ) {
        Ok(Some(b)) => b,
        Ok(None) => {
            let e = UiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "追加の情報・回答を入力してください（添付だけの場合も一言添えてください）。",
                "Please write the information or your answer (a word is enough when you send files).",
            );
            return reporter_view(&st, &c, id, Some(back(e, chosen))).await;
        }
        Err(todokede_domain::submission::SubmissionError::TooLong { len, max, .. }) => {
            let e = UiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("長すぎます（{len} 文字）。{max} 文字以内にしてください。長いログは添付してください。"),
                format!("Too long ({len} characters); at most {max}. Attach long logs as files."),
            );
            return reporter_view(&st, &c, id, Some(back(e, chosen))).await;
        }
        Err(_) => {
            let e = UiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "送信内容を確認してください。",
                "Please check what you wrote.",
            );
            return reporter_view(&st, &c, id, Some(back(e, chosen))).await;
        }
    };
    match st.store.add_follow_up(id, &body, &files).await {
        Ok(()) => Redirect::to("/reporter").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reporter follow-up");
            let e = UiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "一時的に送信できません。入力内容は送信されていません。しばらくしてから、もう一度送信してください。",
                "Cannot send right now; nothing was sent. Please send it again in a moment.",
            );
            reporter_view(&st, &c, id, Some(back(e, chosen))).await
        }
    }
}
