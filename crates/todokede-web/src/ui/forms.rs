//! The public pages: the start page and the report forms (multipart, with files) → intake.

use super::*;

pub(super) async fn index(State(st): State<AppState>, c: Ctx) -> Response {
    render(&st, &c, "index.html", context! {})
}

/// The form's fields in the order the page shows them, with their labels: the error summary
/// lists problems in this order and names each field as the page does.
const FIELDS: &[(&str, &str, &str)] = &[
    ("reporter_kind", "届出者種別", "Reporter kind"),
    ("reporter_name", "氏名", "Name"),
    ("reporter_organization", "企業・組織名", "Organisation"),
    ("reporter_email", "E-Mail", "E-Mail"),
    ("reporter_phone", "TEL", "Phone"),
    ("reporter_address", "住所", "Prefecture"),
    ("virus_name", "ウイルス名称", "Virus name"),
    ("symptoms", "症状", "Symptoms"),
    ("discovered_on", "発見年月日", "Date discovered"),
    ("detection_count", "検出数", "Number of detections"),
    ("discovery", "発見契機", "How it was found"),
    ("detected_by", "検出した製品", "Detecting product"),
    ("discovery_narrative", "発見の経緯", "What led to the discovery"),
    ("description", "何が起きたか", "What happened"),
    ("damage_status", "被害の有無", "Was there damage?"),
    ("damages", "被害内容", "Damage"),
    ("damage_narrative", "被害の詳細", "Damage in detail"),
    ("assets", "被害を受けた機器等", "Affected systems"),
    ("deployment", "設置環境", "Where the systems are"),
    ("internet_connected", "インターネット接続", "Connected to the Internet"),
    ("os", "OS", "OS"),
    ("software", "ソフトウェア", "Software"),
    ("exposed_ports", "公開していたポート", "Ports open to the Internet"),
    ("infection_vectors", "推定される感染経路", "Likely infection route"),
    ("causes", "被害原因", "Cause"),
    ("cause_narrative", "原因の詳細", "Cause in detail"),
    ("response_narrative", "被害対応・事後対策", "What you did"),
    ("attachments", "添付", "Attachments"),
];

/// A problem with one field of the form, in both languages (the page picks one).
#[derive(Debug, Clone)]
pub(super) struct FieldError {
    pub(super) field: &'static str,
    pub(super) ja: String,
    pub(super) en: String,
}

/// The form field a payload path belongs to (`reporter.email` → `reporter_email`).
fn form_field(path: &str) -> &'static str {
    let f = match path {
        "affected.assets" => "assets",
        "affected.deployment" => "deployment",
        "affected.os" => "os",
        "affected.software.name" | "affected.software.version" => "software",
        "affected.internet_connected" => "internet_connected",
        "virus.virus_name" => "virus_name",
        "virus.symptoms" => "symptoms",
        "virus.infection_vectors" => "infection_vectors",
        p => return FIELDS.iter().find(|(k, _, _)| k.replace('_', ".") == p || *k == p).map(|f| f.0).unwrap_or(""),
    };
    FIELDS.iter().find(|(k, _, _)| *k == f).map(|f| f.0).unwrap_or("")
}

/// What the reporter reads about an invalid field: the field's name and what to do, never the
/// developer's wording of the error.
fn localize(e: &SubmissionError) -> FieldError {
    let field = form_field(e.field());
    let (ja, en) = match e {
        SubmissionError::EmptyDescription => (
            "何が起きたかを記入してください（一文でも構いません）。".to_owned(),
            "Tell us what happened, even in one sentence.".to_owned(),
        ),
        SubmissionError::TooLong { len, max, .. } => (
            format!("長すぎます（{len} 文字）。{max} 文字以内にしてください。長いログは添付してください。"),
            format!("Too long ({len} characters); at most {max}. Attach long logs as files."),
        ),
        SubmissionError::Invalid { message, .. } if message == "must be a single line" => {
            ("改行を含めずに 1 行で入力してください。".to_owned(), "Please use a single line.".to_owned())
        }
        SubmissionError::Invalid { field: "reporter.email", .. } => (
            "メールアドレスの形式ではありません（例：taro@example.jp）。".to_owned(),
            "This is not an e-mail address (e.g. taro@example.com).".to_owned(),
        ),
        SubmissionError::Invalid { field: "discovered_on", message } if message.contains("future") => {
            ("未来の日付です。発見した日を入力してください。".to_owned(), "This date is in the future.".to_owned())
        }
        SubmissionError::Invalid { field: "discovered_on", .. } => (
            "日付の形式ではありません（例：2026-04-01）。".to_owned(),
            "This is not a date (e.g. 2026-04-01).".to_owned(),
        ),
        SubmissionError::Invalid { field: "affected.software.name", .. } => {
            ("ソフトウェア名を入力してください。".to_owned(), "Give the software's name.".to_owned())
        }
        SubmissionError::Invalid { .. } => {
            ("選択肢の中から選んでください。".to_owned(), "Please choose one of the options.".to_owned())
        }
    };
    FieldError { field, ja, en }
}

pub(super) fn form_page(
    st: &AppState,
    c: &Ctx,
    form: ReportForm,
    values: Value,
    errors: &[FieldError],
    dropped_files: &[String],
) -> Response {
    let mut errors = errors.to_vec();
    errors.sort_by_key(|e| FIELDS.iter().position(|(k, _, _)| *k == e.field).unwrap_or(usize::MAX));
    let pick = |ja: &str, en: &str| c.lang.pick(ja, en).to_owned();
    let list: Vec<Value> = errors
        .iter()
        .map(|e| {
            let name =
                FIELDS.iter().find(|(k, _, _)| *k == e.field).map(|(_, ja, en)| pick(ja, en)).unwrap_or_default();
            context! { field => e.field, label => name, message => pick(&e.ja, &e.en) }
        })
        .collect();
    let by_field: HashMap<&str, String> = errors.iter().rev().map(|e| (e.field, pick(&e.ja, &e.en))).collect();
    let virus = form == ReportForm::Virus;
    // The virus form asks 感染 or 検知のみ; the intrusion form 被害あり or 未遂.
    let damage_statuses: Vec<Value> = DamageStatus::ALL
        .iter()
        .map(|s| {
            let l = match (s, virus) {
                (DamageStatus::Damage, true) => pick("感染した", "Infected"),
                (DamageStatus::AttemptOnly, true) => pick("検知のみ（感染なし）", "Detected only (not infected)"),
                _ => label(*s, c.lang).to_owned(),
            };
            context! { key => s.key(), label => l }
        })
        .collect();
    let q = format!("form={}&", form.key());
    render(
        st,
        c,
        "report_form.html",
        context! {
            form => form.key(), virus, form_label => label(form, c.lang), v => values,
            errors => list, field_errors => by_field, dropped_files,
            lang_ja => format!("?{q}lang=ja"), lang_en => format!("?{q}lang=en"),
            reporter_kinds => options::<ReporterKind>(c.lang), discoveries => options::<DiscoveryTrigger>(c.lang),
            damage_statuses, damages => options::<DamageCategory>(c.lang),
            assets => options::<AffectedAsset>(c.lang), causes => options::<CauseCategory>(c.lang),
            deployments => options::<Deployment>(c.lang), tri => options::<TriState>(c.lang),
            vectors => options::<InfectionVector>(c.lang),
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
    form_page(&st, &c, form, context! { submission_id => random_token() }, &[], &[])
}

/// 「OpenSSH 9.6」 per line → name and version (the last word, when it starts with a digit).
fn software_lines(text: &str) -> Vec<todokede_app::intake::SoftwarePayload> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.rsplit_once(char::is_whitespace) {
            Some((name, v)) if v.starts_with(|c: char| c.is_ascii_digit()) => {
                todokede_app::intake::SoftwarePayload { name: name.trim().to_owned(), version: Some(v.to_owned()) }
            }
            _ => todokede_app::intake::SoftwarePayload { name: l.to_owned(), version: None },
        })
        .collect()
}

/// The acknowledgement page again, in the language its switch asked for. The page shows the
/// reporter's one-time password, which a plain language link (a GET of the empty form) lost:
/// its switch posts the number and the password back, and they are checked like a login
/// (same origin, the reporter-attempt limit) before the page is shown again.
pub(super) async fn acknowledgement_in_language(
    State(st): State<AppState>,
    client: crate::client::ClientAddr,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    Form(f): Form<super::reporter::ReporterLogin>,
) -> Response {
    let c = ctx(&st, &headers, &q).await;
    if !same_origin(&headers) {
        return cross_site_refused(&st, &c);
    }
    let found = match super::reporter::report_by_secret(&st, &client, &f.tracking_number, &f.secret).await {
        Ok(found) => found,
        Err(refused) => return error_page(&st, &c, StatusCode::TOO_MANY_REQUESTS, refused.ja, refused.en),
    };
    let Some(report) = found else {
        return error_page(
            &st,
            &c,
            StatusCode::NOT_FOUND,
            "受付番号またはパスワードが違います。",
            "The tracking number or the password is wrong.",
        );
    };
    let link = format!("{}/r/{}/{}", st.mail.public_url.trim_end_matches('/'), report.tracking_number, f.secret);
    render(
        &st,
        &c,
        "submitted.html",
        context! { tracking_number => report.tracking_number.to_string(), secret_link => link, secret => f.secret },
    )
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
    let FormUpload { fields, files, too_large, too_many } = match read_multipart(req, st.limits).await {
        Ok(x) => x,
        Err(e) => return e.page(&st, &c),
    };
    let one = |k: &str| fields.get(k).and_then(|v| v.first()).cloned().filter(|s| !s.trim().is_empty());
    let many = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let form = one("form").and_then(|f| ReportForm::parse(&f).ok()).unwrap_or(ReportForm::UnauthorizedAccess);
    let virus_form = form == ReportForm::Virus;
    let mut form_errors: Vec<FieldError> = Vec::new();
    // A file over the limit was dropped: the form comes back with what was typed and says which.
    if !too_large.is_empty() {
        let e = too_large_error(&too_large, st.limits);
        form_errors.push(FieldError { field: "attachments", ja: e.ja, en: e.en });
    }
    if !too_many.is_empty() {
        let e = too_many_error(&too_many, st.limits);
        form_errors.push(FieldError { field: "attachments", ja: e.ja, en: e.en });
    }
    let detection_count = one("detection_count").and_then(|n| match n.trim().parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => {
            form_errors.push(FieldError {
                field: "detection_count",
                ja: "0 以上の整数で入力してください。".into(),
                en: "Please give a whole number.".into(),
            });
            None
        }
    });
    let mut exposed_ports = Vec::new();
    for p in one("exposed_ports").unwrap_or_default().split([',', '、', ' ', '\n']).filter(|p| !p.trim().is_empty()) {
        match p.trim().parse::<u16>() {
            Ok(n) if n > 0 => exposed_ports.push(n),
            _ => {
                form_errors.push(FieldError {
                    field: "exposed_ports",
                    ja: "ポート番号（1〜65535）をカンマで区切って入力してください（例：22, 3306）。".into(),
                    en: "Port numbers (1–65535) separated by commas, e.g. 22, 3306.".into(),
                });
                break;
            }
        }
    }
    // 検出した製品 is part of how the virus was found: it goes with 発見の経緯.
    let discovery_narrative = match (one("detected_by").filter(|_| virus_form), one("discovery_narrative")) {
        (Some(p), Some(n)) => Some(format!("検出した製品：{}\n{n}", p.trim())),
        (Some(p), None) => Some(format!("検出した製品：{}", p.trim())),
        (None, n) => n,
    };
    let virus = virus_form.then(|| todokede_app::intake::VirusPayload {
        virus_name: one("virus_name"),
        symptoms: one("symptoms"),
        detection_count,
        infection_vectors: many("infection_vectors"),
    });
    let payload = todokede_app::intake::ReportPayload {
        form: form.key().to_owned(),
        description: one("description").unwrap_or_default(),
        reporter_reference: one("reporter_reference"),
        attachments: vec![],
        language: Some(c.lang.key().to_owned()),
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
        discovery_narrative,
        damage_status: one("damage_status"),
        damages: many("damages"),
        damage_narrative: one("damage_narrative"),
        causes: many("causes"),
        cause_narrative: one("cause_narrative"),
        response_narrative: one("response_narrative"),
        affected: Some(todokede_app::intake::AffectedPayload {
            assets: many("assets"),
            deployment: if virus_form { vec![] } else { many("deployment") },
            os: one("os"),
            software: software_lines(&one("software").unwrap_or_default()),
            exposed_ports: if virus_form { vec![] } else { exposed_ports },
            internet_connected: one("internet_connected"),
        }),
        virus,
        received_on: None,
    };
    // What was typed goes back into the form as typed: strings and lists, never an absent value.
    let mut values = serde_json::Map::new();
    for (k, v) in &fields {
        if k == "attachments" {
            continue;
        }
        values.insert(k.clone(), serde_json::Value::String(v.first().cloned().unwrap_or_default()));
    }
    for k in ["damages", "assets", "causes", "deployment", "infection_vectors"] {
        values.insert(k.into(), serde_json::json!(many(k)));
    }
    values.insert("mail_receipt".into(), serde_json::json!(one("mail_receipt").is_some()));
    let values = Value::from_serialize(&values);
    if let Err(errors) = payload.into_content_all() {
        form_errors.extend(errors.iter().map(localize));
    }
    if !form_errors.is_empty() {
        // Browsers cannot refill a file input: name the files that must be chosen again.
        let dropped: Vec<String> = files.iter().map(|f| f.filename.clone()).collect();
        let mut r = form_page(&st, &c, form, values, &form_errors, &dropped);
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return r;
    }
    let mail_receipt = one("mail_receipt").is_some();
    // What was received is archived as the payload's JSON.
    let raw =
        RawInput { content_type: "application/json".into(), bytes: serde_json::to_vec(&payload).unwrap_or_default() };
    // The form's own id makes a double click or a reload store one report.
    // Our own ids are URL-safe tokens; anything else (a NUL byte broke PostgreSQL) is not ours.
    let dedup = match one("submission_id") {
        Some(s) if s.len() > 64 || !s.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_')) => {
            return error_page(
                &st,
                &c,
                StatusCode::BAD_REQUEST,
                "送信内容が壊れています。フォームを開き直して送信してください。",
                "The form's data is damaged. Open the form again and send it.",
            );
        }
        s => s.map(|s| DedupKey::IdempotencyKey(format!("web:{s}"))),
    };
    let sub = match todokede_app::intake::submission_from_payload(&payload, raw, files, Channel::WebForm, dedup) {
        Ok(s) => s,
        Err(e) => {
            let errors: Vec<FieldError> = match &e {
                todokede_app::intake::IntakeError::Invalid(e) => vec![localize(e)],
                _ => vec![FieldError {
                    field: "",
                    ja: "送信内容を確認してください。".into(),
                    en: "Please check the form.".into(),
                }],
            };
            let mut r = form_page(&st, &c, form, values, &errors, &[]);
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return r;
        }
    };
    match st.intake.submit(sub).await {
        Ok(Ok(receipt)) => {
            if !receipt.duplicate {
                st.metrics.intake_accepted(crate::metrics::IntakeChannel::Web);
            }
            let secret = receipt.secret.as_ref().map(|s| s.expose().to_owned()).unwrap_or_default();
            // On request, the number and the link by mail too (queued; sent by the outbox worker).
            let to =
                payload.reporter.as_ref().and_then(|r| r.email.as_deref()).and_then(|e| EmailAddress::parse(e).ok());
            let (mut mailed, mut mail_limited) = (false, false);
            if let (true, Some(to), false) = (mail_receipt, to, receipt.duplicate) {
                // At most a few per address a day: the submitter names the address.
                if !todokede_app::mail_flow::acknowledgement_allowed(&st.store, to.as_str(), receipt.report_id).await {
                    mail_limited = true;
                } else if let Ok(m) = todokede_mail::outbound::acknowledgement(
                    &st.mail.from,
                    &to,
                    &receipt.tracking_number,
                    &secret,
                    c.lang,
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
                context! { tracking_number => receipt.tracking_number.to_string(), secret_link => (!secret.is_empty()).then_some(link), secret, mailed, mail_limited },
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
