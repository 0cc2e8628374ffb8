//! Admin pages: the audit log, outgoing mail (failed mail, counts, retry) and the accounts (create with a one-time password, disable, enable).

use super::*;

pub(super) async fn audit(State(st): State<AppState>, Analyst(c, user): Analyst) -> Response {
    if user.role != Role::Admin {
        return error_page(&st, &c, StatusCode::FORBIDDEN, "管理者のみが閲覧できます。", "Admins only.");
    }
    let entries = st.store.audit_log(500).await.unwrap_or_default();
    // People by their address and reports by their tracking number, not by database ids.
    let people: HashMap<i64, String> =
        st.store.users().await.unwrap_or_default().into_iter().map(|u| (u.id.0, u.email)).collect();
    let mut reports: HashMap<i64, Option<String>> = HashMap::new();
    let mut rows = Vec::with_capacity(entries.len());
    for e in &entries {
        let is_report = e.action.starts_with("report.")
            || e.action.starts_with("attachment.")
            || e.action.starts_with("classification");
        let mut number = |v: &Option<String>| {
            let id = v.as_deref().and_then(|t| t.parse::<i64>().ok()).filter(|_| is_report)?;
            reports.entry(id).or_insert(None);
            Some(id)
        };
        let target_id = number(&e.target);
        let detail_id = if e.action == "report.link" { number(&e.detail) } else { None };
        rows.push((e, target_id, detail_id));
    }
    for (id, tn) in reports.iter_mut() {
        *tn = st.store.report(ReportId(*id)).await.ok().flatten().map(|r| r.tracking_number.to_string());
    }
    let shown = |id: Option<i64>, raw: &Option<String>| match id {
        Some(id) => reports.get(&id).cloned().flatten().or_else(|| raw.clone()),
        None => raw.clone(),
    };
    render(
        &st,
        &c,
        "audit.html",
        context! {
            entries => rows.iter().map(|(e, t, d)| context! {
                at => jst(e.at),
                user => e.user.map(|u| people.get(&u.0).cloned().unwrap_or_else(|| format!("#{}", u.0))).unwrap_or_else(|| "—".into()),
                action => e.action, target => shown(*t, &e.target), target_is_report => t.is_some(),
                detail => shown(*d, &e.detail),
            }).collect::<Vec<_>>(),
        },
    )
}

pub(super) async fn users_page(State(st): State<AppState>, Admin(c, _): Admin) -> Response {
    users_view(&st, &c, None).await
}

pub(super) async fn users_view(st: &AppState, c: &Ctx, created: Option<(String, String)>) -> Response {
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

pub(super) async fn create_user(
    State(st): State<AppState>,
    CsrfForm { c, user: admin, form: f }: CsrfForm<HashMap<String, String>>,
) -> Response {
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

pub(super) async fn user_action(
    State(st): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
    CsrfForm { c, user: admin, form: _ }: CsrfForm<HashMap<String, String>>,
) -> Response {
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
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

/// Outgoing mail: the counts, and every mail given up on (with a retry).
pub(super) async fn mail_page(State(st): State<AppState>, Admin(c, _): Admin) -> Response {
    let (counts, failed) = match (st.store.outbox_counts().await, st.store.failed_mail(500).await) {
        (Ok(n), Ok(f)) => (n, f),
        (Err(e), _) | (_, Err(e)) => return UiError::from(e).page(&st, &c),
    };
    let l = c.lang;
    render(
        &st,
        &c,
        "mail.html",
        context! {
            counts => context! { queued => counts.queued, failed => counts.failed, sent => counts.sent },
            failed => failed.iter().map(|m| report_page::mail_view(m, l)).collect::<Vec<_>>(),
        },
    )
}

pub(super) async fn mail_retry(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { c, user: admin, form: _ }: CsrfForm<HashMap<String, String>>,
) -> Response {
    if admin.role != Role::Admin {
        return error_page(&st, &c, StatusCode::FORBIDDEN, "管理者のみが利用できます。", "Admins only.");
    }
    match st.store.retry_mail(id).await {
        Ok(_) => {
            let _ = st.store.audit(Some(admin.id), "mail.retry", None, Some(&format!("mail {id}"))).await;
            Redirect::to("/admin/mail").into_response()
        }
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

/// Settings: the contact points the half-year report prints in 届出のお願い (placeholders
/// marked 【要設定】 until set).
pub(super) async fn settings_page(State(st): State<AppState>, Admin(c, _): Admin) -> Response {
    settings_view(&st, &c, None).await
}

async fn settings_view(st: &AppState, c: &Ctx, saved: Option<&str>) -> Response {
    let set: HashMap<String, String> = match st.store.settings("").await {
        Ok(s) => s.into_iter().collect(),
        Err(e) => return UiError::from(e).page(st, c),
    };
    render(
        st,
        c,
        "settings.html",
        context! {
            settings => todokede_app::publication::SETTINGS.iter().map(|(key, what)| context! {
                key => key, what => what, value => set.get(*key).cloned().unwrap_or_default(),
                input => if key.ends_with(".email") { "email" } else { "url" },
            }).collect::<Vec<_>>(),
            saved => saved,
        },
    )
}

pub(super) async fn save_settings(
    State(st): State<AppState>,
    CsrfForm { c, user: admin, form: f }: CsrfForm<HashMap<String, String>>,
) -> Response {
    if admin.role != Role::Admin {
        return error_page(&st, &c, StatusCode::FORBIDDEN, "管理者のみが利用できます。", "Admins only.");
    }
    let current: HashMap<String, String> = st.store.settings("").await.unwrap_or_default().into_iter().collect();
    for (key, _) in todokede_app::publication::SETTINGS {
        let Some(value) = f.get(*key) else { continue };
        if current.get(*key).map(String::as_str).unwrap_or("") == value.trim() {
            continue;
        }
        if let Err(e) = todokede_app::publication::set_setting(&st.store, key, value, Some(admin.id)).await {
            return match e {
                todokede_app::AppError::Invalid(_) => error_page(
                    &st,
                    &c,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "メールアドレスまたは URL（http/https）の形式が正しくありません。",
                    "Not an e-mail address or an http(s) URL.",
                ),
                e => UiError::from(e).page(&st, &c),
            };
        }
    }
    settings_view(&st, &c, Some("saved")).await
}
