//! Test support: a fresh, isolated database per test on every backend the machine offers, and
//! builders for realistic submissions; the real `todokede serve` process ([`Server`]).
//!
//! SQLite always; PostgreSQL when `TODOKEDE_TEST_POSTGRES_URL` is set (CI sets it). Each
//! PostgreSQL test gets its own database, created here and dropped by [`TestDb::cleanup`], so
//! parallel tests and repeated runs never collide.

use rand::RngCore as _;
use sqlx::Connection as _;
use todokede_domain::*;

#[cfg(feature = "app")]
pub mod app;
pub mod requires;
pub mod server;

pub use server::Server;

pub const POSTGRES_ENV: &str = "TODOKEDE_TEST_POSTGRES_URL";

/// The TOTP sealing key of test databases on PostgreSQL, which has no key file of its own
/// (a deployment configures `TODOKEDE_TOTP_KEY` or `--totp-key-file`); SQLite test databases
/// use their generated `DB.key`. [`totp_key_env`] gives it to a spawned `todokede`.
pub const TEST_TOTP_KEY_HEX: &str = "7d0c5e1f3a9b2846c1d07e5f9a3b6c2d8e4f1a0b7c3d5e9f2a6b8c0d4e1f3a57";

/// The environment a spawned `todokede` on `url` needs for the TOTP key: on PostgreSQL the
/// test key, on SQLite nothing (the key file beside the database).
pub fn totp_key_env(url: &str) -> Vec<(&'static str, &'static str)> {
    if url.starts_with("postgres") { vec![("TODOKEDE_TOTP_KEY", TEST_TOTP_KEY_HEX)] } else { vec![] }
}

pub struct TestDb {
    pub url: String,
    pub backend: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("todokede.db").display());
        TestDb { url, backend: "sqlite", _dir: Some(dir), pg_admin: None }
    }

    /// A new empty PostgreSQL database, or `None` when `TODOKEDE_TEST_POSTGRES_URL` is not set
    /// ([`requires::postgres`]: skipped with the reason locally, a failure when `CI` is set).
    pub async fn postgres() -> Option<TestDb> {
        let admin = requires::postgres()?;
        let name = format!("todokede_t_{:016x}", rand::rng().next_u64());
        let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to TODOKEDE_TEST_POSTGRES_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        let url = format!("{base}/{name}");
        Some(TestDb { url, backend: "postgres", _dir: None, pg_admin: Some((admin, name)) })
    }

    /// Every enabled backend, each with a fresh database (PostgreSQL as [`TestDb::postgres`]).
    pub async fn all() -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite().await];
        v.extend(TestDb::postgres().await);
        v
    }

    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self._dir.as_ref().map(|d| d.path())
    }

    /// Drop the PostgreSQL database (SQLite's directory goes with the value).
    pub async fn cleanup(self) {
        if let Some((admin, name)) = &self.pg_admin
            && let Ok(mut conn) = sqlx::PgConnection::connect(admin).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(&mut conn)
                .await;
        }
    }
}

/// A behaviour written once and run on each backend: `async fn name(x: &T)` boxed, for
/// [`on_both_backends!`] (`T` is a `Store` in the store suite, a [`TestDb`] elsewhere).
pub type Behaviour<T> = for<'a> fn(&'a T) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>;

/// Each behaviour as a test per backend: `sqlite::name` and `postgres::name`, so a PostgreSQL
/// failure is its own red line and `cargo test postgres::` runs one backend. Invoked in a
/// module as `on_both_backends!(#[tokio::test] super::run => name, …)`: each test makes a
/// fresh [`TestDb`] (PostgreSQL skips or, with `CI`, fails when it is not configured:
/// [`requires::postgres`]) and calls `run(db, behaviour)`, which sets up what the behaviour
/// takes, runs it and cleans up. A behaviour not listed is dead code (clippy fails).
#[macro_export]
macro_rules! on_both_backends {
    (#[$test:meta] $run:path => $($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[$test]
                async fn $name() {
                    let db = $crate::TestDb::sqlite().await;
                    $run(db, |x| Box::pin(super::$name(x))).await;
                }
            )+
        }
        mod postgres {
            $(
                #[$test]
                async fn $name() {
                    let Some(db) = $crate::TestDb::postgres().await else { return };
                    $run(db, |x| Box::pin(super::$name(x))).await;
                }
            )+
        }
    };
}

/// The runner of [`on_both_backends!`] for behaviours that take the database itself
/// (`async fn name(db: &TestDb)`): runs it, then drops the PostgreSQL database.
pub async fn run_on(db: TestDb, behaviour: Behaviour<TestDb>) {
    behaviour(&db).await;
    db.cleanup().await;
}

/// A minimal valid content: what the smallest API body produces.
pub fn content(form: ReportForm, description: &str) -> ReportContent {
    ReportContent::new(form, Language::Ja, description.to_owned())
}

/// A submission as the API would build it, with the description as its raw body.
pub fn submission(description: &str, dedup: Option<DedupKey>) -> Submission {
    Submission {
        content: content(ReportForm::UnauthorizedAccess, description),
        channel: Channel::Api,
        attachments: vec![],
        raw: RawInput { content_type: "application/json".into(), bytes: description.as_bytes().to_vec() },
        dedup,
        received_at: None,
        intake_notes: vec![],
    }
}

/// Makes the database refuse the application, to test the "store unavailable" paths.
pub enum Outage {
    /// An exclusive SQLite write lock held by another connection.
    SqliteLocked(sqlx::SqliteConnection),
    /// A PostgreSQL database that accepts no connections, its sessions terminated.
    PostgresBlocked { admin: String, name: String },
}

impl TestDb {
    /// Start an outage of this database; end it with [`Outage::end`].
    pub async fn outage(&self) -> Outage {
        match &self.pg_admin {
            None => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.expect("open sqlite");
                sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await.expect("lock");
                Outage::SqliteLocked(conn)
            }
            Some((admin, name)) => {
                let mut conn = sqlx::PgConnection::connect(admin).await.expect("admin connection");
                sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
                    .bind(name)
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Outage::PostgresBlocked { admin: admin.clone(), name: name.clone() }
            }
        }
    }
}

impl TestDb {
    /// Mark this build's newest migration as not applied (`false`) or applied again: a database
    /// another version left behind, for the readiness check.
    pub async fn mark_latest_migration(&self, applied: bool) {
        const SQL: &str =
            "UPDATE _sqlx_migrations SET success = $1 WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)";
        if self.pg_admin.is_some() {
            let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect");
            sqlx::query(SQL).bind(applied).execute(&mut conn).await.expect("mark migration");
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await.expect("open sqlite");
            sqlx::query(SQL).bind(applied).execute(&mut conn).await.expect("mark migration");
        }
    }
}

impl Outage {
    pub async fn end(self) {
        match self {
            Outage::SqliteLocked(mut conn) => {
                sqlx::query("ROLLBACK").execute(&mut conn).await.expect("unlock");
            }
            Outage::PostgresBlocked { admin, name } => {
                let mut conn = sqlx::PgConnection::connect(&admin).await.expect("admin connection");
                sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
    }
}

/// A local SMTP sink: accepts every message and hands it to the test. Speaks just enough
/// SMTP (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for a real client such as lettre.
pub struct SmtpSink {
    pub addr: std::net::SocketAddr,
    pub received: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        SmtpSink::start_at("127.0.0.1:0".parse().unwrap()).await
    }

    /// A free loopback address where nothing listens yet: an SMTP server that is down (the
    /// connection is refused) until [`SmtpSink::start_at`] brings it up there.
    pub fn down() -> std::net::SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
    }

    pub async fn start_at(addr: std::net::SocketAddr) -> SmtpSink {
        SmtpSink::serve(addr, false).await
    }

    /// A server that refuses every recipient the way real ones do, quoting the address:
    /// `550 5.1.1 <taro@example.jp>: Recipient address rejected: User unknown`.
    pub async fn rejecting_recipients() -> SmtpSink {
        SmtpSink::serve("127.0.0.1:0".parse().unwrap(), true).await
    }

    async fn serve(addr: std::net::SocketAddr, reject_recipients: bool) -> SmtpSink {
        use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind sink");
        let addr = listener.local_addr().unwrap();
        let (tx, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let cmd = line.trim_end().to_ascii_uppercase();
                        if reject_recipients && cmd.starts_with("RCPT") {
                            let to = line.trim_end().split_once(':').map(|(_, a)| a.trim()).unwrap_or("");
                            let answer = format!("550 5.1.1 {to}: Recipient address rejected: User unknown\r\n");
                            let _ = w.write_all(answer.as_bytes()).await;
                            continue;
                        }
                        let reply: &[u8] = if cmd.starts_with("EHLO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if cmd.starts_with("DATA") {
                            let _ = w.write_all(b"354 go ahead\r\n").await;
                            let mut data = Vec::new();
                            loop {
                                let mut l = Vec::new();
                                if r.read_until(b'\n', &mut l).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if l == b".\r\n" || l == b".\n" {
                                    break;
                                }
                                data.extend_from_slice(if l.starts_with(b"..") { &l[1..] } else { &l });
                            }
                            let _ = tx.send(data);
                            b"250 queued\r\n"
                        } else if cmd.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = w.write_all(reply).await;
                    }
                });
            }
        });
        SmtpSink { addr, received }
    }

    /// The next message, waiting up to `secs`.
    pub async fn next(&mut self, secs: u64) -> Option<Vec<u8>> {
        tokio::time::timeout(std::time::Duration::from_secs(secs), self.received.recv()).await.ok().flatten()
    }
}

/// A headless Chromium driven over the WebDriver protocol (Debian's chromium and
/// chromium-driver; `.ci/run` installs them). Just what the end-to-end tests need.
pub struct Browser {
    driver: std::process::Child,
    base: String,
    session: String,
    http: reqwest::Client,
    /// Screenshots go here (target/screenshots), to be looked at.
    pub shots: std::path::PathBuf,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    pub async fn start(shots: std::path::PathBuf) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = std::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium chromium-driver; .ci/run installs them)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(std::time::Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap().keep();
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1280,1400", format!("--user-data-dir={}", profile.display())]}}}});
        let v: serde_json::Value =
            http.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session =
            v["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {v}")).to_owned();
        std::fs::create_dir_all(&shots).unwrap();
        Browser { driver, base, session, http, shots }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: serde_json::Value) -> serde_json::Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let mut req = self.http.request(method.clone(), url);
        if method == reqwest::Method::POST {
            req = req.json(&body);
        }
        let v: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("WebDriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", serde_json::json!({"url": url})).await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(reqwest::Method::POST, "/element", serde_json::json!({"using": "css selector", "value": css}))
            .await;
        v[ELEMENT].as_str().unwrap().to_owned()
    }

    /// Type into a field (also: a file path into a file input).
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{e}/value"), serde_json::json!({"text": text})).await;
    }

    /// Empty a field (before typing a correction).
    pub async fn clear(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{e}/clear"), serde_json::json!({})).await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{e}/click"), serde_json::json!({})).await;
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::GET, &format!("/element/{e}/text"), serde_json::Value::Null)
            .await
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    pub async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", serde_json::Value::Null).await.as_str().unwrap_or("").to_owned()
    }

    /// Wait until the page contains `needle` (after a click that navigates, the old page may
    /// still be current for a moment). Returns the page source.
    pub async fn wait_for(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let src = self.source().await;
            if src.contains(needle) {
                return src;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "page never showed {needle:?}: …{}",
                &src[src.len().saturating_sub(1500)..]
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", serde_json::Value::Null).await.as_str().unwrap_or("").to_owned()
    }

    /// Run a script in the page and return its value (WebDriver; the tests measure layout and
    /// focus with it — the product itself has no JavaScript).
    pub async fn execute(&self, script: &str) -> serde_json::Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", serde_json::json!({"script": script, "args": []})).await
    }

    /// Resize the window (the viewport is what the page lays out for).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.cmd(reqwest::Method::POST, "/window/rect", serde_json::json!({"width": width, "height": height})).await;
    }

    /// How far the page is wider than the viewport, in CSS pixels (0: no horizontal scrolling).
    pub async fn horizontal_overflow(&self) -> i64 {
        self.execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
            .await
            .as_i64()
            .unwrap_or(i64::MAX)
    }

    /// Run axe-core (vendored: fixtures/axe, injected by this call through WebDriver — the
    /// page's CSP allows no script, and the product serves none) on the current page; returns
    /// the violations of impact serious or critical, one line each (rule, impact, help, the
    /// first elements' selectors).
    pub async fn axe_serious(&self) -> Vec<String> {
        const AXE: &str = include_str!("../../../fixtures/axe/axe.min.js");
        let script = format!(
            "{AXE}\n;const done = arguments[arguments.length - 1];\n\
             axe.run(document, {{resultTypes: ['violations']}}).then(r => done(r.violations\n\
               .filter(v => v.impact === 'serious' || v.impact === 'critical')\n\
               .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.slice(0, 4).map(n => n.target.join(' ')).join(' | '))))\n\
             .catch(e => done(['axe failed: ' + e]));"
        );
        let v =
            self.cmd(reqwest::Method::POST, "/execute/async", serde_json::json!({"script": script, "args": []})).await;
        v.as_array().expect("axe's answer").iter().map(|x| x.as_str().unwrap_or("").to_owned()).collect()
    }

    /// Press keys as a person at the keyboard does: to whatever has the focus, one key after
    /// the other (WebDriver actions; no element is picked for the typist). `text` may mix
    /// characters and the WebDriver key codes ([`Browser::TAB`], [`Browser::ENTER`], …).
    pub async fn keys(&self, text: &str) {
        let mut actions = Vec::new();
        for ch in text.chars() {
            let k = ch.to_string();
            actions.push(serde_json::json!({"type": "keyDown", "value": k}));
            actions.push(serde_json::json!({"type": "keyUp", "value": k}));
        }
        self.cmd(
            reqwest::Method::POST,
            "/actions",
            serde_json::json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .await;
    }

    /// A key pressed while another is held (Control+A, Shift+Tab).
    pub async fn chord(&self, held: char, key: char) {
        let (h, k) = (held.to_string(), key.to_string());
        let actions = serde_json::json!([
            {"type": "keyDown", "value": h}, {"type": "keyDown", "value": k},
            {"type": "keyUp", "value": k}, {"type": "keyUp", "value": h}]);
        self.cmd(
            reqwest::Method::POST,
            "/actions",
            serde_json::json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .await;
    }

    /// Press Tab until the focused element matches the CSS selector; panics when it is not
    /// reached in `limit` presses (the element cannot be reached by keyboard). Returns the
    /// number of presses.
    pub async fn tab_to(&self, css: &str, limit: usize) -> usize {
        let check = format!(
            "return !!document.activeElement && document.activeElement.matches({});",
            serde_json::Value::String(css.to_owned())
        );
        for n in 0..=limit {
            if self.execute(&check).await == serde_json::Value::Bool(true) {
                return n;
            }
            self.keys(Self::TAB).await;
        }
        let at =
            self.execute("return document.activeElement ? document.activeElement.outerHTML.slice(0, 200) : '';").await;
        panic!("{css} not reached with {limit} Tab presses; the focus is on {at}");
    }

    /// The focused element's id ("" when it has none).
    pub async fn focused_id(&self) -> String {
        self.execute("return document.activeElement ? document.activeElement.id : '';")
            .await
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    pub const TAB: &'static str = "\u{E004}";
    pub const ENTER: &'static str = "\u{E007}";
    pub const SPACE: &'static str = "\u{E00D}";
    pub const CONTROL: char = '\u{E009}';

    pub async fn delete_cookies(&self) {
        self.http.delete(format!("{}/session/{}/cookie", self.base, self.session)).send().await.unwrap();
    }

    /// Save a full-window screenshot as `<name>.png`; returns its size in bytes.
    pub async fn screenshot(&self, name: &str) -> usize {
        use base64::Engine as _;
        let v = self.cmd(reqwest::Method::GET, "/screenshot", serde_json::Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), &png).unwrap();
        png.len()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
