//! Exchange with the CSIRT world (issue 18): API tokens (account page and `todokede token`),
//! the analysts' API under /api/v1/analyst over the in-process service (`TestApp`), on every
//! backend. The CLI runs as the real binary where its output is the contract.

use crate::common::{self, todokede};
use reqwest::StatusCode;
use serde_json::Value;
use todokede_store::Role;
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    an_api_token_is_shown_once_kept_as_a_hash_scoped_revocable_and_every_use_audited,
    an_expired_token_or_one_of_a_disabled_account_is_refused,
    the_cli_creates_lists_and_revokes_tokens,
);

fn sha256_hex(s: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    reqwest::Client::new().get(app.url("/api/v1/analyst/me")).bearer_auth(token).send().await.unwrap()
}

/// The token shown on the page after creating one.
fn new_token(page: &str) -> Option<String> {
    let start = page.find("id=\"new-token\">")? + "id=\"new-token\">".len();
    Some(page[start..start + page[start..].find('<')?].to_owned())
}

async fn an_api_token_is_shown_once_kept_as_a_hash_scoped_revocable_and_every_use_audited(db: &TestDb) {
    let app = TestApp::start(db).await;
    let s = app.logged_in(Role::Analyst, "ana@example.jp").await;
    let res = s
        .client
        .post(app.url("/account/tokens"))
        .header("origin", app.base.clone())
        .form(&[("csrf", s.csrf.as_str()), ("name", "nightly"), ("scope", "read"), ("days", "30")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    let token = new_token(&page).expect("the new token is shown");
    assert!(token.starts_with("tdk_") && token.len() == 47, "{token}");
    // Shown once: the account page does not show it again, only its prefix.
    let again = s.client.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
    assert!(!again.contains(&token) && again.contains(&token[..10]), "only the prefix is listed");
    let stored = app.store.api_tokens(None).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].scopes, "read");
    let hash = sha256_hex(&token);
    // Only the hash is kept: the store finds it by hash, and the database holds no plaintext.
    assert!(app.store.use_api_token(&token, "probe").await.unwrap().is_none(), "the plaintext is no key");
    assert!(app.store.use_api_token(&hash, "GET /probe").await.unwrap().is_some());
    if let Some(dir) = db.data_dir() {
        for f in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(f.unwrap().path()).unwrap();
            assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "plaintext token on disk");
        }
    }

    // Without a token, or with a wrong one: 401 with the Bearer challenge, the usual error shape.
    let none = reqwest::Client::new().get(app.url("/api/v1/analyst/me")).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(none.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(me(&app, "tdk_wrongwrongwrongwrongwrongwrongwrongwrongwro").await.status(), StatusCode::UNAUTHORIZED);

    let ok = me(&app, &token).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let v: Value = ok.json().await.unwrap();
    assert_eq!(v["email"], "ana@example.jp");
    assert_eq!(v["scopes"], serde_json::json!(["read"]));
    let audit = app.store.audit_log(50).await.unwrap();
    let uses: Vec<_> = audit.iter().filter(|e| e.action == "api.use").collect();
    assert_eq!(uses.len(), 2, "each use is audited: {audit:?}");
    assert_eq!(uses[0].detail.as_deref(), Some("GET /api/v1/analyst/me"));
    assert_eq!(uses[0].target.as_deref(), Some(format!("token:{}", stored[0].id).as_str()));
    assert!(audit.iter().any(|e| e.action == "api_token.create"));
    assert!(app.store.api_tokens(None).await.unwrap()[0].last_used_at.is_some());

    // Another analyst cannot revoke it; its owner can, from the account page, and then it is refused.
    let other = app.logged_in(Role::Analyst, "other@example.jp").await;
    let path = format!("/account/tokens/{}/revoke", stored[0].id);
    let res = other
        .client
        .post(app.url(&path))
        .header("origin", app.base.clone())
        .form(&[("csrf", other.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(me(&app, &token).await.status(), StatusCode::OK);
    // Without the session's CSRF token nothing happens.
    let res = s
        .client
        .post(app.url(&path))
        .header("origin", app.base.clone())
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = s
        .client
        .post(app.url(&path))
        .header("origin", app.base.clone())
        .form(&[("csrf", s.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let refused = me(&app, &token).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.text().await.unwrap().contains("revoked"));
    let audit = app.store.audit_log(50).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "api_token.revoke"));
    assert!(
        audit.iter().any(|e| e.action == "api.refused" && e.detail.as_deref().unwrap_or("").starts_with("revoked"))
    );

    // No scope, or a lifetime out of range: refused with a message in the page's language.
    let res = s
        .client
        .post(app.url("/account/tokens"))
        .header("origin", app.base.clone())
        .form(&[("csrf", s.csrf.as_str()), ("name", "x"), ("days", "30")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("スコープを一つ以上選んでください"));
    let res = s
        .client
        .post(app.url("/account/tokens"))
        .header("origin", app.base.clone())
        .form(&[("csrf", s.csrf.as_str()), ("scope", "read"), ("days", "400")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.store.api_tokens(None).await.unwrap().len(), 1);
}

async fn an_expired_token_or_one_of_a_disabled_account_is_refused(db: &TestDb) {
    use todokede_app::tokens::{self, Scope};
    let app = TestApp::start(db).await;
    app.user(Role::Analyst, "short@example.jp").await;
    app.user(Role::Admin, "boss@example.jp").await;
    let user = app.store.user_by_email("short@example.jp").await.unwrap().unwrap();
    let boss = app.store.user_by_email("boss@example.jp").await.unwrap().unwrap();
    let short = tokens::create(&app.store, &user, "short", &[Scope::Read], time::Duration::milliseconds(300), &user)
        .await
        .unwrap();
    assert_eq!(me(&app, &short.token).await.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let res = me(&app, &short.token).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("expired"));
    let long =
        tokens::create(&app.store, &user, "long", &[Scope::Write], time::Duration::days(1), &user).await.unwrap();
    assert_eq!(me(&app, &long.token).await.status(), StatusCode::OK);
    app.store.set_user_disabled(user.id, true, boss.id).await.unwrap();
    assert_eq!(me(&app, &long.token).await.status(), StatusCode::UNAUTHORIZED, "a disabled account's tokens stop");
    assert!(matches!(
        tokens::create(&app.store, &boss, "x", &[Scope::Read], time::Duration::days(367), &boss).await,
        Err(todokede_app::AppError::Invalid(_))
    ));
    assert!(tokens::parse_scopes("read,admin").is_err());
    assert_eq!(tokens::parse_scopes("export, read,read").unwrap(), vec![Scope::Read, Scope::Export]);
}

/// The real binary: `token create` prints the token alone on stdout (scripts capture it).
async fn the_cli_creates_lists_and_revokes_tokens(db: &TestDb) {
    let app = TestApp::start(db).await;
    app.user(Role::Analyst, "cli@example.jp").await;
    let out =
        todokede(&db.url, &["token", "create", "--as", "cli@example.jp", "--scope", "read,export", "--expires", "7d"]);
    let token = common::ok(out).trim().to_owned();
    assert!(token.starts_with("tdk_"), "{token}");
    let v: Value = me(&app, &token).await.json().await.unwrap();
    assert_eq!(v["scopes"], serde_json::json!(["read", "export"]));
    let list = common::ok(todokede(&db.url, &["token", "list", "--as", "cli@example.jp"]));
    let line = list.lines().next().expect("one token listed");
    assert!(line.contains("cli@example.jp") && line.contains("read,export") && line.ends_with("active"), "{line}");
    assert!(!list.contains(&token), "never the token itself");
    let id = line.split('\t').next().unwrap();
    assert_eq!(common::ok(todokede(&db.url, &["token", "revoke", id])).trim(), format!("{id}\trevoked"));
    assert_eq!(me(&app, &token).await.status(), StatusCode::UNAUTHORIZED);
    let again = todokede(&db.url, &["token", "revoke", id]);
    assert!(!again.status.success());
    let bad = todokede(&db.url, &["token", "create", "--as", "cli@example.jp", "--scope", "root"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("unknown scope"));
}
