//! Admin pages: the audit log, outgoing mail (failed mail, counts, retry), the accounts
//! (create with a one-time password, reset the password or the second factor, disable,
//! enable), the settings (with the SLA clocks) and the reply templates.

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
    // Accounts named by their id (user.disable, report.assign's assignee) by their address.
    let person = |raw: &Option<String>| {
        raw.as_deref()
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(|id| people.get(&id).cloned())
            .or_else(|| raw.clone())
    };
    let target_of = |e: &todokede_store::AuditEntry, t: Option<i64>| {
        if e.action.starts_with("user.") { person(&e.target) } else { shown(t, &e.target) }
    };
    let detail_of = |e: &todokede_store::AuditEntry, d: Option<i64>| match e.action.as_str() {
        "report.assign" if e.detail.as_deref() == Some("nobody") => Some(c.lang.pick("担当なし", "nobody").to_owned()),
        "report.assign" => person(&e.detail),
        _ => shown(d, &e.detail),
    };
    render(
        &st,
        &c,
        "audit.html",
        context! {
            entries => rows.iter().map(|(e, t, d)| context! {
                at => jst(e.at),
                user => e.user.map(|u| people.get(&u.0).cloned().unwrap_or_else(|| format!("#{}", u.0))).unwrap_or_else(|| "—".into()),
                action => e.action, target => target_of(e, *t), target_is_report => t.is_some(),
                detail => detail_of(e, *d),
            }).collect::<Vec<_>>(),
        },
    )
}

pub(super) async fn users_page(
    State(st): State<AppState>,
    Admin(c, _): Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // The one-shot notice after a redirect (post/redirect/get).
    let l = c.lang;
    let done = match q.get("done").map(String::as_str) {
        Some("disable") => Some(l.pick("アカウントを無効にしました。", "The account was disabled.")),
        Some("enable") => Some(l.pick("アカウントを有効にしました。", "The account was enabled.")),
        Some("reset_totp") => Some(l.pick(
            "2段階認証を解除しました（リカバリーコードも無効）。",
            "Two-step verification was reset (recovery codes too).",
        )),
        _ => None,
    };
    let who = match q.get("id").and_then(|i| i.parse::<i64>().ok()) {
        Some(id) => st.store.user(UserId(id)).await.ok().flatten().map(|u| u.email),
        None => None,
    };
    let handed = done.zip(who).map(|(done, email)| Handed { email, password: None, done: Some(done) });
    users_view(&st, &c, handed).await
}

/// What an admin just did to an account, and the one-time password to hand over (shown once).
pub(super) struct Handed {
    email: String,
    password: Option<todokede_app::accounts::lifecycle::OneTime>,
    done: Option<&'static str>,
}

pub(super) async fn users_view(st: &AppState, c: &Ctx, handed: Option<Handed>) -> Response {
    use todokede_app::accounts::lifecycle::{PasswordState, password_state};
    let users = st.store.users().await.unwrap_or_default();
    let now = time::OffsetDateTime::now_utc();
    let mut rows = Vec::with_capacity(users.len());
    for u in &users {
        let totp = st.store.has_totp(u.id).await.unwrap_or(false);
        let password = match password_state(u, now) {
            PasswordState::Own => c.lang.pick("設定済み", "set").to_owned(),
            PasswordState::OneTime(t) => {
                format!("{} {}", c.lang.pick("初期パスワード・期限", "one-time, until"), jst(t))
            }
            PasswordState::Expired(t) => {
                format!("{} {}", c.lang.pick("初期パスワード・期限切れ", "one-time, expired"), jst(t))
            }
        };
        rows.push(
            context! { id => u.id.0, email => u.email, role => u.role.key(), disabled => u.disabled, totp, password },
        );
    }
    let me = c.analyst.as_ref().map(|u| u.email.clone());
    render(
        st,
        c,
        "users.html",
        context! {
            users => rows, me,
            handed => handed.map(|h| context! { email => h.email, done => h.done,
                password => h.password.as_ref().map(|p| p.password.clone()), until => h.password.as_ref().map(|p| jst(p.until)) }),
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
    match accounts::lifecycle::create(&st.store, email.as_str(), role, Some(admin.id)).await {
        Ok((_, once)) => {
            let done = Some(c.lang.pick("アカウントを追加しました。", "The account was added."));
            users_view(&st, &c, Some(Handed { email: email.as_str().to_owned(), password: Some(once), done })).await
        }
        Err(todokede_app::AppError::Conflict(_)) => {
            error_page(&st, &c, StatusCode::CONFLICT, "そのアカウントは既にあります。", "That account exists already.")
        }
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

/// disable, enable, reset_password (a new one-time password, shown once), reset_totp (the
/// second factor off: a lost phone). Never on one's own account (the account page is for that).
pub(super) async fn user_action(
    State(st): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
    CsrfForm { c, user: admin, form: _ }: CsrfForm<HashMap<String, String>>,
) -> Response {
    use todokede_app::accounts::lifecycle;
    if admin.role != Role::Admin || id == admin.id.0 {
        return error_page(&st, &c, StatusCode::FORBIDDEN, "この操作はできません。", "Not allowed.");
    }
    let Ok(Some(target)) = st.store.user(UserId(id)).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    match action.as_str() {
        // Shown once, so this answer is the page (no redirect that could show it again).
        "reset_password" => match lifecycle::reset_password(&st.store, target.id, Some(admin.id)).await {
            Ok(once) => {
                let done = Some(c.lang.pick(
                    "パスワードを再発行しました。次のログインで変更が必要です。",
                    "A new one-time password was issued; it must be changed at the next login.",
                ));
                users_view(&st, &c, Some(Handed { email: target.email, password: Some(once), done })).await
            }
            Err(e) => UiError::from(e).page(&st, &c),
        },
        "disable" | "enable" | "reset_totp" => {
            let result = match action.as_str() {
                "reset_totp" => lifecycle::reset_second_factor(&st.store, target.id, Some(admin.id)).await,
                a => lifecycle::set_disabled(&st.store, target.id, a == "disable", Some(admin.id)).await,
            };
            match result {
                Ok(()) => Redirect::to(&format!("/admin/users?done={action}&id={}", target.id.0)).into_response(),
                Err(e) => UiError::from(e).page(&st, &c),
            }
        }
        _ => error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found."),
    }
}

/// The settings admins change at run time (todokede_app::settings).
pub(super) async fn settings_page(
    State(st): State<AppState>,
    Admin(c, _): Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let done = q.contains_key("done").then(|| c.lang.pick("設定を保存しました。", "The settings were saved."));
    settings_view(&st, &c, done, None).await
}

async fn settings_view(st: &AppState, c: &Ctx, done: Option<&str>, error: Option<String>) -> Response {
    let s = match todokede_app::settings::load(&st.store).await {
        Ok(s) => s,
        Err(e) => return UiError::from(e).page(st, c),
    };
    let mut r = render(
        st,
        c,
        "settings.html",
        context! {
            hours => s.one_time_password_hours, four_eyes => s.four_eyes_publication, done, error => error.clone(),
            sla => todokede_app::settings::SLA.iter().map(|k| context! {
                key => k.key, what => c.lang.pick(k.ja, k.en), state => label(k.state, c.lang),
                value => s.sla_hours.get(k.key).copied().flatten(),
            }).collect::<Vec<_>>(),
            contacts => todokede_app::settings::CONTACTS.iter().map(|(key, ja, en)| context! {
                key => key, what => c.lang.pick(ja, en), value => s.contacts.get(key).cloned().unwrap_or_default(),
                input => if key.ends_with(".email") { "email" } else { "url" },
            }).collect::<Vec<_>>(),
        },
    );
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub(super) async fn save_settings(
    State(st): State<AppState>,
    CsrfForm { c, user: admin, form: f }: CsrfForm<HashMap<String, String>>,
) -> Response {
    if admin.role != Role::Admin {
        return error_page(&st, &c, StatusCode::FORBIDDEN, "管理者のみが利用できます。", "Admins only.");
    }
    let current = match todokede_app::settings::load(&st.store).await {
        Ok(s) => s,
        Err(e) => return UiError::from(e).page(&st, &c),
    };
    // The form has the account part and the contact points; a post without the hours field (a
    // script setting contact points) leaves the account part as it is.
    let mut changes = vec![];
    if let Some(hours) = f.get("one_time_password_hours") {
        // An unticked checkbox sends nothing.
        let four_eyes = if f.contains_key("four_eyes_publication") { "on" } else { "off" };
        changes.push(("one_time_password_hours", hours.trim().to_owned(), current.one_time_password_hours.to_string()));
        let now = if current.four_eyes_publication { "on" } else { "off" };
        changes.push(("four_eyes_publication", four_eyes.to_owned(), now.to_owned()));
    }
    // An SLA clock absent from the form stays as it is; an emptied one is off.
    for k in todokede_app::settings::SLA {
        if let Some(value) = f.get(k.key) {
            let value = if value.trim().is_empty() { "off".to_owned() } else { value.trim().to_owned() };
            let now =
                current.sla_hours.get(k.key).copied().flatten().map_or_else(|| "off".to_owned(), |h| h.to_string());
            changes.push((k.key, value, now));
        }
    }
    // A contact point absent from the form stays as it is; an emptied one is unset.
    for (key, ..) in todokede_app::settings::CONTACTS {
        if let Some(value) = f.get(*key) {
            changes.push((key, value.trim().to_owned(), current.contacts.get(key).cloned().unwrap_or_default()));
        }
    }
    for (key, value, now) in changes {
        let value = value.as_str();
        if value == now {
            continue;
        }
        match todokede_app::settings::set(&st.store, key, value, Some(admin.id)).await {
            Ok(_) => {}
            Err(todokede_app::AppError::Refused { ja, en }) => {
                return settings_view(&st, &c, None, Some(c.lang.pick(&ja, &en).to_owned())).await;
            }
            Err(e) => return UiError::from(e).page(&st, &c),
        }
    }
    Redirect::to("/admin/settings?done=1").into_response()
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

/// The reply templates: the list, and the form to add one or edit the one chosen (`Some(id)`).
pub(super) async fn templates_page(
    State(st): State<AppState>,
    Admin(c, _): Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let done = match q.get("done").map(String::as_str) {
        Some("save") => Some(c.lang.pick("テンプレートを保存しました。", "The template was saved.")),
        Some("delete") => Some(c.lang.pick("テンプレートを削除しました。", "The template was deleted.")),
        _ => None,
    };
    templates_view(&st, &c, None, done, None).await
}

pub(super) async fn template_page(State(st): State<AppState>, Admin(c, _): Admin, Path(id): Path<i64>) -> Response {
    templates_view(&st, &c, Some(id), None, None).await
}

/// What was typed into the template form, shown again with the reason it was refused.
pub(super) struct TemplateDraft {
    name: String,
    language: String,
    body: String,
    error: String,
}

async fn templates_view(
    st: &AppState,
    c: &Ctx,
    editing: Option<i64>,
    done: Option<&str>,
    draft: Option<TemplateDraft>,
) -> Response {
    let all = match st.store.reply_templates().await {
        Ok(t) => t,
        Err(e) => return UiError::from(e).page(st, c),
    };
    let edited = editing.and_then(|id| all.iter().find(|t| t.id == id));
    if editing.is_some() && edited.is_none() {
        return error_page(st, c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    }
    let people: HashMap<i64, String> =
        st.store.users().await.unwrap_or_default().into_iter().map(|u| (u.id.0, u.email)).collect();
    let l = c.lang;
    let form = match (&draft, edited) {
        (Some(d), _) => context! { name => d.name, language => d.language, body => d.body },
        (None, Some(t)) => context! { name => t.name, language => t.language.key(), body => t.body },
        (None, None) => context! { name => "", language => l.key(), body => "" },
    };
    let mut r = render(
        st,
        c,
        "reply_templates.html",
        context! {
            templates => all.iter().map(|t| context! {
                id => t.id, name => t.name, language => label(t.language, l), updated_at => jst(t.updated_at),
                updated_by => t.updated_by.and_then(|u| people.get(&u.0).cloned()).unwrap_or_else(|| "—".into()),
                editing => Some(t.id) == editing,
            }).collect::<Vec<_>>(),
            editing, form, done, error => draft.as_ref().map(|d| d.error.clone()),
            languages => options::<Language>(l),
            placeholders => todokede_app::replies::PLACEHOLDERS.iter().map(|(k, ja, en)| context! { key => format!("{{{k}}}"), what => l.pick(*ja, *en) }).collect::<Vec<_>>(),
        },
    );
    if draft.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

async fn save_template_form(
    st: &AppState,
    c: &Ctx,
    admin: &todokede_store::User,
    id: Option<i64>,
    f: &HashMap<String, String>,
) -> Response {
    if admin.role != Role::Admin {
        return error_page(st, c, StatusCode::FORBIDDEN, "管理者のみが利用できます。", "Admins only.");
    }
    let field = |k: &str| f.get(k).cloned().unwrap_or_default();
    // Line ends as typed in a browser (CRLF) are stored as LF: the mail composer folds them.
    let body = field("body").replace("\r\n", "\n");
    let Ok(language) = Language::parse(&field("language")) else {
        return error_page(st, c, StatusCode::BAD_REQUEST, "不正な言語です。", "Unknown language.");
    };
    match todokede_app::replies::save_template(&st.store, id, &field("name"), language, &body, Some(admin.id)).await {
        Ok(_) => Redirect::to("/admin/templates?done=save").into_response(),
        Err(todokede_app::AppError::Refused { ja, en }) => {
            let draft = TemplateDraft {
                name: field("name"),
                language: language.key().to_owned(),
                body,
                error: c.lang.pick(ja, en),
            };
            templates_view(st, c, id, None, Some(draft)).await
        }
        Err(e) => UiError::from(e).page(st, c),
    }
}

pub(super) async fn create_template(
    State(st): State<AppState>,
    CsrfForm { c, user, form: f }: CsrfForm<HashMap<String, String>>,
) -> Response {
    save_template_form(&st, &c, &user, None, &f).await
}

pub(super) async fn update_template(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { c, user, form: f }: CsrfForm<HashMap<String, String>>,
) -> Response {
    save_template_form(&st, &c, &user, Some(id), &f).await
}

pub(super) async fn delete_template(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { c, user: admin, form: _ }: CsrfForm<HashMap<String, String>>,
) -> Response {
    if admin.role != Role::Admin {
        return error_page(&st, &c, StatusCode::FORBIDDEN, "管理者のみが利用できます。", "Admins only.");
    }
    match st.store.delete_reply_template(id, Some(admin.id)).await {
        Ok(()) => Redirect::to("/admin/templates?done=delete").into_response(),
        Err(e) => UiError::from(e).page(&st, &c),
    }
}
