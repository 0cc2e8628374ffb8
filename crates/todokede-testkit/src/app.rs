//! [`TestApp`]: the whole service in the test's own process, on a free loopback port — the
//! same function `todokede serve` runs (`todokede_web::serve::run`: router, intake writer,
//! analysis worker, outbox, housekeeping), on a [`TestDb`] of either backend. Helpers make a
//! user with a role, log one in (a cookie-keeping client and the session's CSRF token) and
//! submit a report through the JSON API.
//!
//! Behind the testkit's `app` feature, so the crates below the web layer can use the rest of
//! the testkit without building it. Tests where the process itself is the contract (exit
//! codes, signals, flags) run the real binary instead.

use crate::TestDb;
use todokede_store::{Role, Store};
use todokede_web::serve::ServeConfig;

pub use todokede_web::serve::ServeConfig as Config;

/// A running service; stopped (its workers too) when dropped.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    pub addr: std::net::SocketAddr,
    /// The service's own store handle (the same pool the handlers use).
    pub store: Store,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A logged-in analyst or admin: a client that keeps the session cookie (and shows redirects
/// instead of following them, as the UI tests need) and the session's CSRF token.
pub struct Session {
    pub client: reqwest::Client,
    pub csrf: String,
}

/// What the JSON API answers to a new report.
pub struct Filed {
    pub tracking_number: String,
    pub secret: String,
}

/// The mail configuration `serve` has by default, with this public URL.
pub fn mail_config(public_url: &str) -> todokede_mail::MailConfig {
    todokede_mail::MailConfig {
        from: todokede_domain::EmailAddress::parse("todokede@localhost.localdomain").unwrap(),
        public_url: public_url.to_owned(),
        limits: Default::default(),
    }
}

/// Open the store at a test database's URL, with the test TOTP key on PostgreSQL
/// ([`crate::TEST_TOTP_KEY_HEX`]; SQLite uses the key file beside the database).
pub async fn open_store(url: &str) -> Store {
    let key = url
        .starts_with("postgres")
        .then(|| todokede_store::seal::SealKey::from_hex(crate::TEST_TOTP_KEY_HEX).expect("the test key"));
    Store::open_with(url, key).await.unwrap_or_else(|e| panic!("open the store at {url}: {e}"))
}

impl TestApp {
    /// `serve` with its default flags on `db`.
    pub async fn start(db: &TestDb) -> TestApp {
        TestApp::start_with(db, |_| {}).await
    }

    /// `serve` on `db` with the configuration changed by `configure` (the flags' defaults
    /// before it; the public URL `http://127.0.0.1:8080` as in `serve`).
    pub async fn start_with(db: &TestDb, configure: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::start_url(&db.url, configure).await
    }

    /// As [`TestApp::start_with`], on a database URL (a test database's with options added,
    /// say SQLite's `?busy_timeout_ms=`).
    pub async fn start_url(url: &str, configure: impl FnOnce(&mut Config)) -> TestApp {
        let store = open_store(url).await;
        let mut cfg = ServeConfig::new(mail_config("http://127.0.0.1:8080"));
        configure(&mut cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(todokede_web::serve::run(store.clone(), listener, cfg, async {
            let _ = stopped.await;
        }));
        TestApp { base: format!("http://{addr}"), addr, store, stop: Some(stop), task: Some(task) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A new account with this role; returns its password.
    pub async fn user(&self, role: Role, email: &str) -> String {
        let password = todokede_app::accounts::one_time_password();
        let hash = todokede_app::accounts::hash_password(&password).expect("hash password");
        self.store.create_user(email, role, &hash).await.expect("create user");
        password
    }

    /// Log in through the login form (as a browser does: same-origin POST); panics unless the
    /// login succeeds. The CSRF token is read from the queue page's logout form.
    pub async fn login(&self, email: &str, password: &str) -> Session {
        let client =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let res = client
            .post(self.url("/login"))
            .header("origin", self.base.clone())
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER, "login of {email}");
        let page = client.get(self.url("/queue")).send().await.unwrap().text().await.unwrap();
        let csrf = hidden(&page, "csrf").unwrap_or_else(|| panic!("no CSRF token after logging in {email}"));
        Session { client, csrf }
    }

    /// A user with this role, logged in.
    pub async fn logged_in(&self, role: Role, email: &str) -> Session {
        let password = self.user(role, email).await;
        self.login(email, &password).await
    }

    /// File an 不正アクセス report with this description through `POST /api/v1/reports`.
    pub async fn submit_report(&self, description: &str) -> Filed {
        let body = serde_json::json!({"form": "unauthorized_access", "description": description});
        let res = reqwest::Client::new().post(self.url("/api/v1/reports")).json(&body).send().await.unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::CREATED, "submit a report");
        let v: serde_json::Value = res.json().await.unwrap();
        Filed {
            tracking_number: v["tracking_number"].as_str().expect("tracking_number").to_owned(),
            secret: v["secret"].as_str().expect("secret").to_owned(),
        }
    }

    /// Stop serving (requests in flight finish) and wait for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("serve task").expect("serve");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The value of a hidden form field (`csrf`, `submission_id`) on a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle)? + needle.len();
    Some(html[start..start + html[start..].find('"')?].to_owned())
}
