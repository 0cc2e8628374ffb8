//! Run the real `todokede` binary against a test database.
#![allow(dead_code)]

use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_todokede");

pub use todokede_testkit::Server;

/// `todokede serve` on `db` (the test TOTP key given), logging at `warn` to the test's stderr.
pub fn serve(db: &str, extra: &[&str]) -> Server {
    spawn(db, extra, "warn", Stdio::inherit())
}

/// As [`serve`], logging at `info` into `log` (a file the test reads).
pub fn serve_logging(db: &str, extra: &[&str], log: &std::path::Path) -> Server {
    spawn(db, extra, "info", std::fs::File::create(log).expect("create the log file").into())
}

fn spawn(db: &str, extra: &[&str], level: &str, stderr: Stdio) -> Server {
    Server::spawn(BIN, db, extra, |c| {
        c.envs(todokede_testkit::totp_key_env(db)).env("TODOKEDE_LOG", level).stderr(stderr);
    })
}

pub fn todokede(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["--db", db])
        .args(args)
        .envs(todokede_testkit::totp_key_env(db))
        .env("TODOKEDE_LOG", "warn")
        .output()
        .expect("run todokede")
}

/// `todokede user add --password-stdin` with a password of the test's choosing (an account
/// with its own password, not a one-time one that must be changed first); returns it.
pub fn user_add(db: &str, role: &str, email: &str) -> String {
    use std::io::Write as _;
    let password = format!("pw-{}-{}", email.replace(['@', '.'], "-"), std::process::id());
    let mut child = Command::new(BIN)
        .args(["--db", db, "user", "add", "--role", role, email, "--password-stdin"])
        .envs(todokede_testkit::totp_key_env(db))
        .env("TODOKEDE_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run todokede user add");
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
    password
}

pub fn repo(rel: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel).display().to_string()
}

/// Both seeds imported and every case confirmed by `analyst` with the classification DOMAIN.md
/// gives it (through the store; `classify` itself is tested in cli.rs). Returns the tracking
/// number of each fixture by its reporter_reference (2019H2-01 …).
pub async fn handled_seed_reports(db: &str, analyst: &str) -> std::collections::BTreeMap<String, String> {
    use todokede_domain::{ClosedEnum, TrackingNumber};
    fn keys<T: ClosedEnum>(v: &serde_json::Value) -> Vec<T> {
        v.as_array().unwrap().iter().map(|k| T::parse(k.as_str().unwrap()).unwrap()).collect()
    }
    let files = [repo("fixtures/seeds/2019H1.json"), repo("fixtures/seeds/2019H2.json")];
    let out = todokede(db, &["import", &files[0], &files[1]]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let numbers: Vec<String> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| l.split('\t').next().unwrap().to_owned()).collect();
    let fixtures: Vec<serde_json::Value> = files
        .iter()
        .flat_map(|f| serde_json::from_str::<Vec<serde_json::Value>>(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect();
    assert_eq!(numbers.len(), fixtures.len());
    let store = todokede_store::Store::open(db).await.unwrap();
    let user = store.user_by_email(analyst).await.unwrap().expect("analyst exists");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo("fixtures/seeds/expected.json")).unwrap()).unwrap();
    let mut by_reference = std::collections::BTreeMap::new();
    for (f, n) in fixtures.iter().zip(&numbers) {
        let reference = f["reporter_reference"].as_str().unwrap();
        let e = &expected[reference];
        let id = store.report_id_by_tracking(&TrackingNumber::parse(n).unwrap()).await.unwrap().unwrap();
        let c = todokede_domain::Classification {
            causes: keys(&e["causes"]),
            damages: keys(&e["damages"]),
            attack_types: vec![todokede_domain::AttackType::Intrusion],
            techniques: e["techniques"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect(),
            has_damage: Some(true),
        };
        store.confirm_classification(id, user.id, &c, &c, None).await.unwrap();
        by_reference.insert(reference.to_owned(), n.clone());
    }
    by_reference
}

/// The four contact points of 届出のお願い (`settings set publication.contact.…`): a report
/// whose contacts are placeholders cannot be approved.
pub fn set_contacts(db: &str) {
    for (key, value) in [
        ("publication.contact.virus.email", "virus@cert.example.jp"),
        ("publication.contact.virus.url", "https://cert.example.jp/report/"),
        ("publication.contact.unauthorized_access.email", "crack@cert.example.jp"),
        ("publication.contact.unauthorized_access.url", "https://cert.example.jp/report/"),
    ] {
        ok(todokede(db, &["settings", "set", key, value]));
    }
}

/// The standard output of a command that must have succeeded.
pub fn ok(out: std::process::Output) -> String {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Whether headless Chromium and its driver are here (the testkit switch: required in CI).
pub fn browser_available() -> bool {
    todokede_testkit::requires::tool("chromedriver") && todokede_testkit::requires::tool("/usr/bin/chromium")
}

/// A client that behaves like a browser for the UI tests: keeps cookies, shows redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The value of a hidden form field (`csrf`, `submission_id`) on a page.
pub fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle).unwrap_or_else(|| panic!("no {name} in page")) + needle.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// A form post from a logged-in analyst's browser: the session's CSRF token and a same-site Origin.
pub async fn post(
    s: &todokede_testkit::app::TestApp,
    a: &todokede_testkit::app::Session,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut f: Vec<(&str, &str)> = vec![("csrf", a.csrf.as_str())];
    f.extend_from_slice(form);
    a.client.post(s.url(path)).header("origin", s.base.clone()).form(&f).send().await.unwrap()
}

/// A page as a logged-in analyst's browser gets it.
pub async fn get(s: &todokede_testkit::app::TestApp, a: &todokede_testkit::app::Session, path: &str) -> String {
    a.client.get(s.url(path)).send().await.unwrap().text().await.unwrap()
}

/// The queue row of a report (its `<tr…>`, flagged overdue or not).
pub fn row<'a>(queue: &'a str, tn: &str) -> &'a str {
    queue.split("<tr").find(|r| r.contains(&format!(">{tn}</a>"))).unwrap_or_else(|| panic!("{tn} not in the queue"))
}

/// The text a person reads on a page (the charts' SVG text included): tags dropped, entities
/// left as they are.
pub fn visible_text(html: &str) -> String {
    let body = &html[html.find("<body").unwrap_or(0)..];
    let (mut out, mut in_tag) = (String::new(), false);
    for ch in body.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}
