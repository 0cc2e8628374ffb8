//! [`Server`]: the real `todokede serve` process on an ephemeral loopback port, for the tests
//! and benchmarks where the process itself is the point (signals, exit codes, flags, several
//! processes on one database, load over real HTTP). Killed when dropped.
//!
//! The binary's path is the caller's: `env!("CARGO_BIN_EXE_todokede")` exists only in the
//! `todokede` package's own tests and benches.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

/// A `todokede serve` process; `base` is the `http://127.0.0.1:PORT` it printed.
pub struct Server {
    pub base: String,
    pub child: Child,
}

impl Server {
    /// Run `bin --db DB serve --listen 127.0.0.1:0 EXTRA…`, with what `configure` adds (its
    /// environment, where its stderr goes), and return once it printed `listening on URL`.
    pub fn spawn(bin: &str, db: &str, extra: &[&str], configure: impl FnOnce(&mut Command)) -> Server {
        let mut command = Command::new(bin);
        command.args(["--db", db, "serve", "--listen", "127.0.0.1:0"]).args(extra);
        configure(&mut command);
        let mut child = command.stdout(Stdio::piped()).spawn().expect("spawn todokede serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line).expect("read the listen line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        Server { base, child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// SIGTERM, as a service manager stops it: the server drains and exits on its own.
    pub fn sigterm(&self) {
        // SAFETY: kill(2) on our own child's pid; no memory is touched.
        let rc = unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill -TERM");
    }

    /// Wait up to `within` for the process to exit on its own; its status, or None if it did not.
    pub fn wait_exit(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
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
