//! Analysts' login (the lockout and second factor are `todokede_app::accounts`), logout, and the account page (TOTP on/off).

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
            st.metrics.login_failed();
            let mut r = render(&st, &c, "login.html", context! { error => generic });
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            return r;
        }
        accounts::Login::Failed => {
            st.metrics.login_failed();
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
    let on = st.store.totp(user.id).await.map(|(s, _)| s.is_some()).unwrap_or(false);
    let secret = accounts::totp::new_secret();
    render(
        &st,
        &c,
        "account.html",
        context! { totp_on => on, secret => secret, uri => accounts::totp::uri(&secret, &user.email) },
    )
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
        return match st.store.set_totp(user.id, None).await {
            Ok(()) => {
                let _ = st.store.audit(Some(user.id), "totp.off", None, None).await;
                Redirect::to("/account").into_response()
            }
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
    match st.store.set_totp(user.id, Some(secret)).await {
        Ok(()) => Redirect::to("/account").into_response(),
        Err(e) => UiError::from(e).page(&st, &c),
    }
}
