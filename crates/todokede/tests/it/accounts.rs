//! The account lifecycle (issue 15 item 10) over real HTTP against the in-process service
//! (`TestApp`), each a test per backend: one-time passwords that expire and must be changed
//! first, the password page, an admin's resets and disabling, TOTP enrolment with a QR code,
//! recovery codes; and `todokede user passwd|reset|disable|list` (the real binary: its output
//! is the contract).

use crate::common;

use common::{browser, hidden, post};
use reqwest::StatusCode;
use todokede_store::Role;
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    a_one_time_password_expires_and_must_be_changed_before_anything_else,
    totp_enrolment_shows_a_qr_code_and_each_recovery_code_works_once,
    the_console_lists_resets_disables_and_sets_passwords,
    totp_seeds_are_sealed_at_rest_and_still_open_after_a_restart,
);

async fn login(s: &TestApp, b: &reqwest::Client, email: &str, password: &str, code: &str) -> reqwest::Response {
    b.post(s.url("/login"))
        .header("origin", s.base.clone())
        .form(&[("email", email), ("password", password), ("code", code)])
        .send()
        .await
        .unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// The one-time password shown (once) on the users page.
fn shown_password(html: &str) -> String {
    let i = html.find("id=\"one-time-password\">").expect("a one-time password is shown") + 23;
    html[i..i + html[i..].find('<').unwrap()].to_owned()
}

/// Before: the "one-time" password never expired and could not be changed; there was no
/// password page and no admin reset.
async fn a_one_time_password_expires_and_must_be_changed_before_anything_else(db: &TestDb) {
    let s = TestApp::start(db).await;
    let admin = s.logged_in(Role::Admin, "chief@ipa.example").await;
    // The lifetime is a setting: 24 hours here.
    let res =
        post(&s, &admin, "/admin/settings", &[("one_time_password_hours", "24"), ("four_eyes_publication", "on")])
            .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = post(&s, &admin, "/admin/users", &[("email", "new@ipa.example"), ("role", "analyst")]).await;
    let page = page.text().await.unwrap();
    let once = shown_password(&page);
    assert!(page.contains("初回ログイン時に変更が必要です"));
    let new = s.store.user_by_email("new@ipa.example").await.unwrap().unwrap();
    let left = new.one_time_until.unwrap() - time::OffsetDateTime::now_utc();
    assert!(left > time::Duration::hours(23) && left <= time::Duration::hours(24), "{left}");

    // First login: only the password page, whatever is asked for.
    let b = browser();
    let res = login(&s, &b, "new@ipa.example", &once, "").await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/account/password".into()));
    for path in ["/queue", "/reports/ABCDE-12345", "/account"] {
        let res = b.get(s.url(path)).send().await.unwrap();
        assert_eq!(location(&res), "/account/password", "{path}");
    }
    let page = b.get(s.url("/account/password")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"one-time\"") && page.contains("初期パスワードでログインしています"));
    let csrf = hidden(&page, "csrf");
    let note = b
        .post(s.url("/reports/ABCDE-12345/note"))
        .header("origin", s.base.clone())
        .form(&[("csrf", csrf.as_str()), ("body", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&note), "/account/password", "no action before the change");
    let change = |current: String, new: &'static str, confirm: &'static str, lang: &'static str| {
        let (b, csrf, base) = (b.clone(), csrf.clone(), s.base.clone());
        let url = s.url(&format!("/account/password?lang={lang}"));
        async move {
            b.post(url)
                .header("origin", base)
                .form(&[("csrf", csrf.as_str()), ("current", current.as_str()), ("new", new), ("confirm", confirm)])
                .send()
                .await
                .unwrap()
        }
    };
    let res = change("wrong".into(), "a fine new passphrase", "a fine new passphrase", "ja").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("現在のパスワードが正しくありません"));
    let res = change(once.clone(), "short", "short", "en").await;
    assert!(res.text().await.unwrap().contains("at least 12 characters"));
    let res = change(once.clone(), "a fine new passphrase", "a different one!!", "ja").await;
    assert!(res.text().await.unwrap().contains("確認用と一致しません"));
    let res = change(once.clone(), "a fine new passphrase", "a fine new passphrase", "ja").await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/account/password?done=1".into()));
    assert_eq!(b.get(s.url("/queue")).send().await.unwrap().status(), StatusCode::OK, "a fresh session, free now");
    assert_eq!(s.store.user_by_email("new@ipa.example").await.unwrap().unwrap().one_time_until, None);
    assert_eq!(login(&s, &browser(), "new@ipa.example", &once, "").await.status(), StatusCode::UNAUTHORIZED);
    let res = login(&s, &browser(), "new@ipa.example", "a fine new passphrase", "").await;
    assert_eq!(location(&res), "/queue");

    // An admin's reset: a new one-time password; the user's sessions end.
    let page = post(&s, &admin, &format!("/admin/users/{}/reset_password", new.id.0), &[]).await.text().await.unwrap();
    let again = shown_password(&page);
    assert_ne!(again, once);
    assert_eq!(
        location(&b.get(s.url("/queue")).send().await.unwrap()),
        "/login?next=%2Fqueue",
        "the old session ended"
    );
    let res = login(&s, &browser(), "new@ipa.example", &again, "").await;
    assert_eq!(location(&res), "/account/password");

    // Past its time, a one-time password no longer logs in, and says why.
    let hash = todokede_app::accounts::hash_password(&again).unwrap();
    let past = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    s.store.set_password(new.id, &hash, Some(past), None).await.unwrap();
    let res = login(&s, &browser(), "new@ipa.example", &again, "").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("初期パスワードの有効期限が切れています"));
    let users = s.store.users().await.unwrap();
    assert!(!users.is_empty());
    let page = admin.client.get(s.url("/admin/users")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("初期パスワード・期限切れ"), "the admin sees it expired");

    // Disabled: no login at all.
    post(&s, &admin, &format!("/admin/users/{}/disable", new.id.0), &[]).await;
    let res = login(&s, &browser(), "new@ipa.example", "a fine new passphrase", "").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let audit = admin.client.get(s.url("/admin/audit")).send().await.unwrap().text().await.unwrap();
    for action in ["user.password_change", "user.password_reset", "user.disable", "login.expired", "settings.set"] {
        let row = audit.lines().find(|l| l.contains(action)).unwrap_or_else(|| panic!("{action} not audited"));
        if action != "settings.set" {
            assert!(row.contains("new@ipa.example"), "{action} names the account: {row}");
        }
    }
    s.stop().await;
}

/// Before: TOTP enrolment showed only a URI (no QR code), and there were no recovery codes
/// and no admin reset of the second factor.
async fn totp_enrolment_shows_a_qr_code_and_each_recovery_code_works_once(db: &TestDb) {
    use todokede_app::accounts::totp;
    let s = TestApp::start(db).await;
    let admin = s.logged_in(Role::Admin, "chief@ipa.example").await;
    let password = s.user(Role::Analyst, "a@ipa.example").await;
    let a = s.login("a@ipa.example", &password).await;
    let page = a.client.get(s.url("/account")).send().await.unwrap().text().await.unwrap();
    let svg = &page[page.find("<svg").expect("an inline SVG QR code")..page.find("</svg>").unwrap()];
    assert!(svg.contains("<path") || svg.contains("<rect"), "drawn modules");
    let scripts = page.matches("<script").count();
    assert!(
        !page.contains("<?xml") && scripts == page.matches("<script src=\"/static/app.js\"").count(),
        "inline, no script but ours"
    );
    let secret = hidden(&page, "secret");
    assert!(
        page.contains(&secret[..4]) && page.contains("otpauth:") && page.contains(&secret[28..]),
        "the key as text"
    );

    // On with a right code: ten recovery codes, shown this once.
    let code = totp::code_at(&secret, totp::current_step()).unwrap();
    let res = post(&s, &a, "/account/totp", &[("secret", secret.as_str()), ("code", code.as_str())]).await;
    let page = res.text().await.unwrap();
    let list = &page[page.find("class=\"codes mono\"").expect("recovery codes shown")..];
    let codes: Vec<String> =
        list.split("<li>").skip(1).take(10).map(|c| c[..c.find('<').unwrap()].to_owned()).collect();
    assert_eq!(codes.len(), 10);
    let again = a.client.get(s.url("/account")).send().await.unwrap().text().await.unwrap();
    assert!(!again.contains(&codes[0]) && again.contains("<strong>10</strong>"), "never shown again");

    // A recovery code stands in for the TOTP code, once.
    let uid = s.store.user_by_email("a@ipa.example").await.unwrap().unwrap().id;
    assert_eq!(login(&s, &browser(), "a@ipa.example", &password, "").await.status(), StatusCode::UNAUTHORIZED);
    let typed = codes[3].to_uppercase();
    let res = login(&s, &browser(), "a@ipa.example", &password, &typed).await;
    assert_eq!(location(&res), "/queue", "a recovery code as typed");
    let res = login(&s, &browser(), "a@ipa.example", &password, &codes[3]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "used once");
    assert_eq!(s.store.recovery_codes_left(uid).await.unwrap(), 9);
    let audit = admin.client.get(s.url("/admin/audit")).send().await.unwrap().text().await.unwrap();
    assert!(audit.lines().any(|l| l.contains("user.recovery_code_used") && l.contains("9 left")));

    // The phone is lost: an admin resets the second factor; the password alone logs in.
    let res = post(&s, &admin, &format!("/admin/users/{}/reset_totp", uid.0), &[]).await;
    let back = admin.client.get(s.url(&location(&res))).send().await.unwrap().text().await.unwrap();
    assert!(back.contains("id=\"done\"") && back.contains("2段階認証を解除しました"), "confirmed once");
    assert_eq!(s.store.totp(uid).await.unwrap().0, None);
    let res = login(&s, &browser(), "a@ipa.example", &password, "").await;
    assert_eq!(location(&res), "/queue");
    let res = login(&s, &browser(), "a@ipa.example", &password, &codes[4]).await;
    assert_eq!(location(&res), "/queue", "the codes are gone with it (the code field is ignored without TOTP)");
    assert_eq!(s.store.recovery_codes_left(uid).await.unwrap(), 0);
    s.stop().await;
}

/// Before: `todokede user` had only `add`.
async fn the_console_lists_resets_disables_and_sets_passwords(db: &TestDb) {
    use std::io::Write as _;
    let run = |args: &[&str]| common::todokede(&db.url, args);
    let added = common::ok(run(&["user", "add", "--role", "analyst", "new@ipa.example"]));
    assert!(added.contains("valid until") && added.contains("to be changed at the first login"), "{added}");
    common::user_add(&db.url, "admin", "chief@ipa.example");

    let list = common::ok(run(&["user", "list"]));
    assert!(!list.contains('\u{1b}'), "no colours: {list:?}");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    // Aligned: every column starts where its heading does.
    for heading in ["ROLE", "STATE", "PASSWORD", "TOTP"] {
        let at = lines[0].find(heading).unwrap();
        for l in &lines[1..] {
            assert!(l.len() > at && &l[at - 2..at] == "  " && !l[at..].starts_with(' '), "{heading} in {l:?}");
        }
    }
    let row = |list: &str, email: &str| list.lines().find(|l| l.starts_with(email)).unwrap().to_owned();
    assert!(row(&list, "new@ipa.example").contains("one-time until"));
    assert!(row(&list, "chief@ipa.example").contains("set"));

    // passwd: from standard input; the policy applies.
    let passwd = |pw: &str| {
        let mut child = std::process::Command::new(common::BIN)
            .args(["--db", &db.url, "user", "passwd", "new@ipa.example"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{pw}").unwrap();
        child.wait_with_output().unwrap()
    };
    let short = passwd("short");
    assert!(!short.status.success() && String::from_utf8_lossy(&short.stderr).contains("12 characters"));
    common::ok(passwd("a console-set passphrase"));
    assert!(row(&common::ok(run(&["user", "list"])), "new@ipa.example").contains(" set "));

    // reset: a new one-time password (and with --totp the second factor off).
    let store = todokede_testkit::app::open_store(&db.url).await;
    let id = store.user_by_email("new@ipa.example").await.unwrap().unwrap().id;
    store.set_totp(id, Some("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")).await.unwrap();
    assert!(row(&common::ok(run(&["user", "list"])), "new@ipa.example").ends_with("on"));
    let reset = common::ok(run(&["user", "reset", "new@ipa.example", "--totp"]));
    let password = reset.trim().rsplit(' ').next().unwrap();
    assert_eq!(password.len(), 20, "{reset}");
    let user = store.user_by_email("new@ipa.example").await.unwrap().unwrap();
    assert!(
        user.one_time_until.is_some() && todokede_app::accounts::verify_password(password, Some(&user.password_hash))
    );
    assert_eq!(store.totp(id).await.unwrap().0, None);
    let list = common::ok(run(&["user", "list"]));
    assert!(row(&list, "new@ipa.example").contains("one-time until") && row(&list, "new@ipa.example").ends_with("off"));

    // disable / --enable.
    common::ok(run(&["user", "disable", "new@ipa.example"]));
    assert!(row(&common::ok(run(&["user", "list"])), "new@ipa.example").contains("disabled"));
    assert!(store.user(id).await.unwrap().unwrap().disabled);
    common::ok(run(&["user", "disable", "new@ipa.example", "--enable"]));
    assert!(!store.user(id).await.unwrap().unwrap().disabled);
    let unknown = run(&["user", "reset", "nobody@ipa.example"]);
    assert!(
        !unknown.status.success() && String::from_utf8_lossy(&unknown.stderr).contains("no account nobody@ipa.example")
    );

    // Settings from the console.
    common::ok(run(&["settings", "set", "one_time_password_hours", "48"]));
    let settings = common::ok(run(&["settings", "list"]));
    assert!(settings.contains("one_time_password_hours\t48") && settings.contains("four_eyes_publication\ton"));
    let bad = run(&["settings", "set", "one_time_password_hours", "0"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("1 to 720 hours"));
    // Actions from the console are audited without a user.
    let audit = store.audit_log(100).await.unwrap();
    for action in ["user.password_reset", "user.totp_reset", "user.disable", "user.enable", "settings.set"] {
        assert!(audit.iter().any(|e| e.action == action && e.user.is_none()), "{action}");
    }
}

/// The raw value in a user's `totp_secret` column, as a copy of the database shows it.
async fn stored_seed(db: &TestDb, email: &str) -> Option<String> {
    let sql = "SELECT totp_secret FROM users WHERE email = $1";
    if db.backend == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sql).bind(email).fetch_one(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sql).bind(email).fetch_one(&pool).await.unwrap()
    }
}

/// TOTP seeds were stored in clear (finding 12): whoever had a copy of the database had every
/// analyst's second factor. Now they are sealed (AES-256-GCM) under a key outside the
/// database: the SQLite file (and its WAL) holds no seed, and after a restart — another
/// process, the key read again from `DB.key` (SQLite) or the configured key (PostgreSQL) — the
/// second factor works. A seed stored in clear before is still accepted and sealed on start.
async fn totp_seeds_are_sealed_at_rest_and_still_open_after_a_restart(db: &TestDb) {
    use todokede_app::accounts::totp;
    let s = TestApp::start(db).await;
    let password = s.user(Role::Analyst, "a@ipa.example").await;
    let a = s.login("a@ipa.example", &password).await;
    let page = a.client.get(s.url("/account")).send().await.unwrap().text().await.unwrap();
    let secret = hidden(&page, "secret");
    let code = totp::code_at(&secret, totp::current_step()).unwrap();
    let res = post(&s, &a, "/account/totp", &[("secret", secret.as_str()), ("code", code.as_str())]).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", db.backend);
    // A seed from before sealing, in clear, for another account.
    let b_password = s.user(Role::Analyst, "b@ipa.example").await;
    let old_seed = totp::new_secret();
    let sql = "UPDATE users SET totp_secret = $1 WHERE email = 'b@ipa.example'";
    if db.backend == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query(sql).bind(&old_seed).execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query(sql).bind(&old_seed).execute(&pool).await.unwrap();
    }
    s.stop().await;

    let stored = stored_seed(db, "a@ipa.example").await.expect("on");
    assert!(stored.starts_with("seal1:") && !stored.contains(&secret), "{}: {stored}", db.backend);
    if let Some(dir) = db.data_dir() {
        use std::os::unix::fs::PermissionsExt as _;
        for f in std::fs::read_dir(dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "key") || !f.is_file() {
                continue;
            }
            let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "the seed in {}", f.display());
        }
        let key = dir.join("todokede.db.key");
        assert_eq!(std::fs::metadata(&key).expect("DB.key").permissions().mode() & 0o777, 0o600);
    }

    // Restarted: the real binary, another process, the key read again.
    let server = common::serve(&db.url, &[]);
    let c = browser();
    let login_at = |email: &'static str, password: String, code: String| {
        c.post(server.url("/login"))
            .header("origin", server.base.clone())
            .form(&[("email", email.to_owned()), ("password", password), ("code", code)])
            .send()
    };
    let wrong = login_at("a@ipa.example", password.clone(), "000000".into()).await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let next = totp::code_at(&secret, totp::current_step() + 1).unwrap();
    let res = login_at("a@ipa.example", password.clone(), next).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}: TOTP after the restart", db.backend);
    // The clear seed was sealed when the store opened, and still logs in.
    let stored = stored_seed(db, "b@ipa.example").await.unwrap();
    assert!(stored.starts_with("seal1:") && !stored.contains(&old_seed), "{}: {stored}", db.backend);
    let code = totp::code_at(&old_seed, totp::current_step()).unwrap();
    let res = browser()
        .post(server.url("/login"))
        .header("origin", server.base.clone())
        .form(&[("email", "b@ipa.example"), ("password", b_password.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}: the old seed after sealing", db.backend);
    drop(server);
}
