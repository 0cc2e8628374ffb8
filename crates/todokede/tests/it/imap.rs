//! IMAP intake against a real IMAP server (Debian's dovecot, started privately for the test,
//! TLS with a certificate made for it): messages are stored, then flagged and moved — and a
//! second poll finds nothing new.

use crate::common;

use common::todokede;
use std::process::{Child, Command, Stdio};
use todokede_testkit::TestDb;

struct Dovecot {
    child: Child,
    port: u16,
    dir: tempfile_dir::Dir,
}

mod tempfile_dir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_dovecot() -> Dovecot {
    let dir = std::env::temp_dir().join(format!(
        "todokede-imap-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    ));
    std::fs::create_dir_all(dir.join("run")).unwrap();
    // A private CA and a server certificate for localhost signed by it (webpki refuses a
    // self-signed CA certificate as the server's own).
    let openssl = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(ok.success(), "openssl {args:?}");
    };
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=todokede test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "req.csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "cert.pem",
        "-extfile",
        "ext.cnf",
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(dir.join("passwd"), "reports:{PLAIN}imap-secret:::::\n").unwrap();
    let d = dir.display();
    let conf = format!(
        "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
         ssl = required\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n\
         service imap-login {{\n  inet_listener imap {{\n    port = 0\n  }}\n  inet_listener imaps {{\n    port = {port}\n    ssl = yes\n  }}\n}}\n\
         passdb {{\n  driver = passwd-file\n  args = {d}/passwd\n}}\nuserdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/home/%u\n}}\n\
         mail_location = maildir:~/Maildir\nfirst_valid_uid = 0\nfirst_valid_gid = 0\nauth_mechanisms = plain\n"
    );
    std::fs::write(dir.join("dovecot.conf"), conf).unwrap();
    let child = Command::new("/usr/sbin/dovecot")
        .arg("-F")
        .arg("-c")
        .arg(dir.join("dovecot.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("dovecot (apt-get install dovecot-imapd; .ci/run installs it)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "dovecot did not start: {}",
            std::fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Dovecot { child, port, dir: tempfile_dir::Dir(dir) }
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mail").join(name)).unwrap()
}

#[tokio::test]
async fn imap_messages_are_stored_then_flagged_and_moved() {
    if !(todokede_testkit::requires::tool("/usr/sbin/dovecot") && todokede_testkit::requires::tool("openssl")) {
        return;
    }
    let imap = start_dovecot();
    let maildir = imap.dir.0.join("home/reports/Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    for (i, name) in ["iso2022jp_with_log.eml", "shift_jis.eml", "ipa_form.eml"].iter().enumerate() {
        std::fs::write(maildir.join("new").join(format!("1700000000.{i}.test")), corpus(name)).unwrap();
    }
    // Dovecot refuses to run mail processes as root: the mailbox belongs to nobody.
    assert!(
        Command::new("chown").args(["-R", "nobody:nogroup"]).arg(imap.dir.0.join("home")).status().unwrap().success()
    );
    let db = TestDb::sqlite().await;
    let url = format!("imaps://reports@localhost:{}/INBOX", imap.port);
    let ca = imap.dir.0.join("ca.pem");
    let run = || {
        let out = Command::new(common::BIN)
            .args([
                "--db",
                &db.url,
                "mailgate",
                "--imap",
                &url,
                "--imap-ca",
                ca.to_str().unwrap(),
                "--imap-done-folder",
                "Processed",
                "--imap-once",
            ])
            .env("TODOKEDE_IMAP_PASSWORD", "imap-secret")
            .env("TODOKEDE_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = run();
    assert_eq!(first.lines().filter(|l| l.ends_with("\tnew report")).count(), 3, "{first}");
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    assert_eq!(store.check_integrity().await.unwrap().reports, 3);
    // Moved to Processed only after the commit; the inbox is empty.
    let processed = maildir.join(".Processed/cur");
    assert_eq!(std::fs::read_dir(&processed).map(|d| d.count()).unwrap_or(0), 3);
    assert_eq!(
        std::fs::read_dir(maildir.join("new")).unwrap().count()
            + std::fs::read_dir(maildir.join("cur")).unwrap().count(),
        0
    );
    // Nothing new the second time.
    assert_eq!(run().lines().count(), 0);

    // A wrong password is a clear error, and nothing is touched.
    let out = Command::new(common::BIN)
        .args(["--db", &db.url, "mailgate", "--imap", &url, "--imap-ca", ca.to_str().unwrap(), "--imap-once"])
        .env("TODOKEDE_IMAP_PASSWORD", "wrong")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("IMAP login"), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = todokede;
}
