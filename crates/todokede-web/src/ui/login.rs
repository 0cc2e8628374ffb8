//! Analysts' login (the lockout and second factor are `todokede_app::accounts`), logout, and the account page (TOTP on/off, API tokens).

use super::*;

pub(super) async fn login_page(State(st): State<AppState>, c: Ctx) -> Response {
    render(&st, &c, "login.html", context! {})
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    email: String,
    password: String,
    /// The TOTP code, for accounts with the second factor on.
    #[serde(default)]
    code: String,
}

pub(super) async fn login(
    State(st): State<AppState>,
    client: crate::client::ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
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
    let generic = if c.lang == Language::En {
        "The e-mail address or password is not right, or the account is locked for a while."
    } else {
        "メールアドレスまたはパスワードが正しくないか、一時的にロックされています。"
    };
    let user = match accounts::login(&st.store, &email, &f.password, &f.code, &client.0).await {
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
        return error_page(
            &st,
            &c,
            StatusCode::FORBIDDEN,
            "他のサイトからの送信は受け付けません。",
            "Requests from other sites are refused.",
        );
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

pub(super) async fn account_page(State(st): State<AppState>, Analyst(c, user): Analyst) -> Response {
    account_view(&st, &c, &user, None).await
}

/// The account page: TOTP, and the account's API tokens (a just-created one shown once).
async fn account_view(
    st: &AppState,
    c: &Ctx,
    user: &todokede_store::User,
    created: Option<&todokede_app::tokens::Created>,
) -> Response {
    let on = st.store.totp(user.id).await.map(|(s, _)| s.is_some()).unwrap_or(false);
    let secret = accounts::totp::new_secret();
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
            totp_on => on, secret => secret, uri => accounts::totp::uri(&secret, &user.email),
            tokens => tokens,
            new_token => created.map(|t| t.token.clone()),
            new_token_expires => created.map(|t| jst(t.expires_at)),
        },
    )
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
        Ok(created) => account_view(&st, &c, &user, Some(&created)).await,
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
    CsrfForm { c, user, form: f }: CsrfForm<HashMap<String, String>>,
) -> Response {
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
        Err(e) => UiError::from(e).page(&st, &c),
    }
}
