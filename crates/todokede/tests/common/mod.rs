//! Run the real `todokede` binary against a test database.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_todokede");

/// A `todokede serve` process on an ephemeral port; killed when dropped.
pub struct Server {
    pub base: String,
    pub child: Child,
}

impl Server {
    pub fn start(db: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("TODOKEDE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn todokede serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read listen line");
        let base = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line: {line:?}")).to_owned();
        Server { base, child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// SIGKILL: no graceful shutdown, no flush — what a power cut or OOM kill does to the process.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn todokede(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(["--db", db]).args(args).env("TODOKEDE_LOG", "warn").output().expect("run todokede")
}
