//! Analysts' login (the lockout and second factor are `todokede_app::accounts`), logout, the
//! account page (TOTP on/off with a QR code drawn here as SVG, recovery codes, API tokens) and
//! the password page (where an account on its one-time password must go first).

use super::*;

pub(super) async fn login_page(
    State(st): State<AppState>,
    c: Ctx,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // The page that sent here (a link opened without a session) is where the login goes on to.
    let next = q.get("next").and_then(|n| local_next(n));
    render(&st, &c, "login.html", context! { next })
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    email: String,
    password: String,
    /// The TOTP code, for accounts with the second factor on.
    #[serde(default)]
    code: String,
    /// Where to go after the login (a local path only: [`local_next`]).
    #[serde(default)]
    next: String,
}

pub(super) async fn login(
    State(st): State<AppState>,
    client: crate::client::ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let c = ctx(&st, &headers, &HashMap::new()).await;
    if !same_origin(&headers) {
        return cross_site_refused(&st, &c);
    }
    let email = f.email.trim().to_ascii_lowercase();
    let next = local_next(&f.next);
    // A refused login comes back with the address as typed and the page it leads to (never
    // the password or the code).
    let again = |error: &str| context! { error, email => f.email.trim(), next };
    // The message is the same for a wrong password and a locked account, so it tells an
    // attacker nothing.
    let generic = if c.lang == Language::En {
        "The e-mail address or password is not right, or the account is locked for a while."
    } else {
        "メールアドレスまたはパスワードが正しくないか、一時的にロックされています。"
    };
    let user = match accounts::login(&st.store, &email, &f.password, &f.code, &client.0).await {
        accounts::Login::Ok(user) => user,
        accounts::Login::Locked => {
            st.metrics.login_failed();
            let mut r = render(&st, &c, "login.html", again(generic));
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            return r;
        }
        accounts::Login::Failed => {
            st.metrics.login_failed();
            let mut r = render(&st, &c, "login.html", again(generic));
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            return r;
        }
        accounts::Login::Expired => {
            let msg = c.lang.pick(
                "初期パスワードの有効期限が切れています。管理者に再発行を依頼してください。",
                "The one-time password has expired; ask an admin for a new one.",
            );
            let mut r = render(&st, &c, "login.html", again(msg));
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
    // A one-time password is replaced before anything else.
    let to = if user.one_time_until.is_some() { PASSWORD_PAGE } else { next.unwrap_or("/queue") };
    signed_in(&st, &token, to)
}

/// The redirect that sets a new analyst session's cookie.
fn signed_in(st: &AppState, token: &str, to: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().insert(header::SET_COOKIE, session_cookie(st, token, ANALYST_SESSION.whole_seconds()));
    res
}

pub(super) async fn logout(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let c = ctx(&st, &headers, &HashMap::new()).await;
    // Logging out harms no one, so a missing or stale token does not keep a session alive (the
    // cookie would be gone while the session lived on for whoever holds a copy). Only a post
    // from another site is refused: it changes nothing.
    if !same_origin(&headers) {
        return cross_site_refused(&st, &c);
    }
    let _ = f.get("csrf");
    if let Some((h, _)) = &c.session {
        let _ = st.store.delete_session(h).await;
        if let Some(u) = &c.analyst {
            let _ = st.store.audit(Some(u.id), "logout", None, None).await;
        }
    }
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().insert(header::SET_COOKIE, session_cookie(&st, "", 0));
    res
}

/// The otpauth:// URI as a QR code, inline SVG (dark modules as one path; no script, no image
/// request), for the authenticator app's camera.
fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // The XML declaration has no place inside HTML.
    let svg = svg.find("<svg").map(|i| svg[i..].to_owned())?;
    Some(svg.replacen("<svg", "<svg role=\"img\" aria-label=\"QR code\"", 1))
}

/// The account page: TOTP, recovery codes, and the account's API tokens (a just-created one
/// shown once).
async fn account_view(
    st: &AppState,
    c: &Ctx,
    user: &todokede_store::User,
    codes: Option<Vec<String>>,
    done: Option<&str>,
    created: Option<&todokede_app::tokens::Created>,
) -> Response {
    let on = st.store.has_totp(user.id).await.unwrap_or(false);
    let left = st.store.recovery_codes_left(user.id).await.unwrap_or(0);
    let secret = accounts::totp::new_secret();
    let uri = accounts::totp::uri(&secret, &user.email);
    let qr = qr_svg(&uri).map(Value::from_safe_string);
    // The secret in groups of four, as authenticator apps ask for it typed.
    let grouped =
        secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ");
    let tokens = match todokede_app::tokens::list(&st.store, Some(user)).await {
        Ok(t) => t,
        Err(e) => return UiError::from(e).page(st, c),
    };
    let now = time::OffsetDateTime::now_utc();
    let tokens: Vec<Value> = tokens
        .iter()
        .rev()
        .map(|t| {
            let (ja, en, live) = if t.revoked_at.is_some() {
                ("失効済み", "revoked", false)
            } else if t.expires_at <= now {
                ("期限切れ", "expired", false)
            } else {
                ("有効", "active", true)
            };
            context! {
                id => t.id, prefix => t.prefix, name => t.name, scopes => t.scopes,
                expires => jst(t.expires_at), last_used => t.last_used_at.map(jst),
                state => c.lang.pick(ja, en), live => live,
            }
        })
        .collect();
    render(
        st,
        c,
        "account.html",
        context! {
            totp_on => on, secret => secret, grouped, uri, qr, recovery_left => left, codes, email => user.email, done,
            tokens => tokens,
            new_token => created.map(|t| t.token.clone()),
            new_token_expires => created.map(|t| jst(t.expires_at)),
        },
    )
}

pub(super) async fn account_page(
    State(st): State<AppState>,
    Analyst(c, user): Analyst,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let done = (q.get("done").map(String::as_str) == Some("totp_off"))
        .then(|| c.lang.pick("2段階認証を無効にしました。", "Two-step verification is off."));
    account_view(&st, &c, &user, None, done, None).await
}

/// Create an API token (POST /account/tokens): name, scopes (checkboxes), lifetime in days.
/// The answer is the account page with the token shown this once (never in a redirect's URL).
pub(super) async fn account_token_create(
    State(st): State<AppState>,
    CsrfForm { c, user, form: pairs }: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let one = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("");
    let scopes: Vec<&str> = pairs.iter().filter(|(n, _)| n == "scope").map(|(_, v)| v.as_str()).collect();
    let Ok(scopes) = todokede_app::tokens::parse_scopes(&scopes.join(",")) else {
        return error_page(
            &st,
            &c,
            StatusCode::UNPROCESSABLE_ENTITY,
            "スコープを一つ以上選んでください。",
            "Choose at least one scope.",
        );
    };
    let days = one("days").trim().parse::<i64>().unwrap_or(0);
    if !(1..=366).contains(&days) {
        return error_page(
            &st,
            &c,
            StatusCode::UNPROCESSABLE_ENTITY,
            "有効期間は 1〜366 日です。",
            "The lifetime is 1 to 366 days.",
        );
    }
    match todokede_app::tokens::create(&st.store, &user, one("name"), &scopes, time::Duration::days(days), &user).await
    {
        Ok(created) => account_view(&st, &c, &user, None, None, Some(&created)).await,
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

/// Revoke one of the account's own tokens (POST /account/tokens/{id}/revoke).
pub(super) async fn account_token_revoke(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { c, user, form: _ }: CsrfForm<HashMap<String, String>>,
) -> Response {
    match todokede_app::tokens::revoke(&st.store, id, Some(&user), &user).await {
        Ok(()) => Redirect::to("/account").into_response(),
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

pub(super) async fn account_totp(
    State(st): State<AppState>,
    client: crate::client::ClientAddr,
    CsrfForm { c, user, form: f }: CsrfForm<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    if get("action") == "off" {
        // Only with the current password: a session alone cannot remove the second factor.
        if !accounts::reauthenticate(&st.store, &user, get("password"), &client.0).await {
            return error_page(
                &st,
                &c,
                StatusCode::FORBIDDEN,
                "現在のパスワードが正しくないため、2段階認証を無効にできませんでした。",
                "The current password is not right; two-step verification stays on.",
            );
        }
        if let Err(e) = st.store.set_totp(user.id, None).await {
            return UiError::from(e).page(&st, &c);
        }
        let _ = st.store.replace_recovery_codes(user.id, &[]).await;
        let _ = st.store.audit(Some(user.id), "totp.off", None, None).await;
        return Redirect::to("/account?done=totp_off").into_response();
    }
    if get("action") == "codes" {
        // A new set of recovery codes, shown once (this answer is the only place they appear).
        return match accounts::recovery::new_codes(&st.store, user.id).await {
            Ok(codes) => account_view(&st, &c, &user, Some(codes), None, None).await,
            Err(e) => UiError::from(e).page(&st, &c),
        };
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
    if !st.store.can_seal() {
        return error_page(
            &st,
            &c,
            StatusCode::SERVICE_UNAVAILABLE,
            "二要素認証の鍵が設定されていません（TODOKEDE_TOTP_KEY または --totp-key-file）。管理者に連絡してください。",
            "No TOTP key is configured (TODOKEDE_TOTP_KEY or --totp-key-file): ask the administrator.",
        );
    }
    if let Err(e) = st.store.set_totp(user.id, Some(secret)).await {
        return UiError::from(e).page(&st, &c);
    }
    // With the second factor come its recovery codes, shown this once.
    match accounts::recovery::new_codes(&st.store, user.id).await {
        Ok(codes) => account_view(&st, &c, &user, Some(codes), None, None).await,
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

pub(super) async fn password_page(
    State(st): State<AppState>,
    SignedIn(c, user): SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    password_view(&st, &c, &user, None, q.contains_key("done"))
}

fn password_view(st: &AppState, c: &Ctx, user: &todokede_store::User, error: Option<String>, done: bool) -> Response {
    let until = user.one_time_until.map(jst);
    let mut r = render(
        st,
        c,
        "password.html",
        context! { one_time => until, error => error.clone(), done => done.then_some(c.lang.pick("パスワードを変更しました。", "The password was changed.")),
        min => accounts::lifecycle::MIN_PASSWORD_CHARS },
    );
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[allow(dead_code)]
    csrf: String,
    current: String,
    new: String,
    confirm: String,
}

/// The owner's password change. Every session of the account ends, and this browser gets a
/// fresh one (whoever else held a session is out).
pub(super) async fn change_password(
    State(st): State<AppState>,
    CsrfForm { c, user, form: f }: CsrfForm<PasswordForm, true>,
) -> Response {
    match accounts::lifecycle::change_password(&st.store, &user, &f.current, &f.new, &f.confirm).await {
        Ok(()) => {
            let token = random_token();
            if st
                .store
                .create_session(
                    &token_hash(&token),
                    &SessionSubject::Analyst(user.id),
                    &random_token(),
                    ANALYST_SESSION,
                )
                .await
                .is_err()
            {
                return Redirect::to("/login").into_response();
            }
            signed_in(&st, &token, &format!("{PASSWORD_PAGE}?done=1"))
        }
        Err(todokede_app::AppError::Refused { ja, en }) => {
            password_view(&st, &c, &user, Some(c.lang.pick(&ja, &en).to_owned()), false)
        }
        Err(e) => UiError::from(e).page(&st, &c),
    }
}
