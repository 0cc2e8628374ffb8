//! The public pages: the start page and the report forms (multipart, with files) → intake.

use super::*;

pub(super) async fn index(State(st): State<AppState>, c: Ctx) -> Response {
    render(&st, &c, "index.html", context! {})
}

pub(super) fn form_page(
    st: &AppState,
    c: &Ctx,
    form: ReportForm,
    values: Value,
    error: Option<(String, String)>,
) -> Response {
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

pub(super) async fn report_form(
    State(st): State<AppState>,
    c: Ctx,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let form = q.get("form").and_then(|f| ReportForm::parse(f).ok()).unwrap_or(ReportForm::UnauthorizedAccess);
    form_page(&st, &c, form, context! { submission_id => random_token() }, None)
}

pub(super) async fn submit_form(
    State(st): State<AppState>,
    client: crate::client::ClientAddr,
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
    if accounts::submission_throttled(&st.store, &client.0).await {
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
                context! { tracking_number => receipt.tracking_number.to_string(), secret_link => (!secret.is_empty()).then_some(link), secret, mailed },
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
