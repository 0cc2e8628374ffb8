//! Progress of long CLI work on standard error, only when a person is watching (a terminal).

use std::io::{IsTerminal as _, Write as _};
use std::time::Instant;

pub struct Progress {
    what: &'static str,
    total: usize,
    done: usize,
    tty: bool,
    last: Instant,
    started: Instant,
}

impl Progress {
    pub fn new(what: &'static str, total: usize) -> Self {
        let now = Instant::now();
        Progress { what, total, done: 0, tty: std::io::stderr().is_terminal(), last: now, started: now }
    }

    pub fn inc(&mut self, n: usize) {
        self.done += n;
        if self.tty && (self.last.elapsed().as_millis() >= 100 || self.done == self.total) {
            self.last = Instant::now();
            let pct = if self.total > 0 { self.done * 100 / self.total } else { 100 };
            eprint!("\r{} {}/{} ({pct}%)", self.what, self.done, self.total);
            let _ = std::io::stderr().flush();
        }
    }

    pub fn finish(self) {
        if self.tty {
            eprintln!();
        }
        eprintln!("{} {} in {:.1} s", self.what, self.done, self.started.elapsed().as_secs_f64());
    }
}
