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
            let pct = (self.done * 100).checked_div(self.total).unwrap_or(100);
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

/// Counts the bytes read from a file and shows how far it is, on a terminal, for files larger
/// than [`ProgressReader::MIN_SIZE`].
pub struct ProgressReader<R> {
    inner: R,
    total: u64,
    read: u64,
    name: String,
    show: bool,
    last: Instant,
    started: Instant,
}

impl<R> ProgressReader<R> {
    pub const MIN_SIZE: u64 = 8 << 20;
    pub fn new(inner: R, total: u64, name: String) -> Self {
        let now = Instant::now();
        ProgressReader {
            inner,
            total,
            read: 0,
            name,
            show: total >= Self::MIN_SIZE && std::io::stderr().is_terminal(),
            last: now,
            started: now,
        }
    }
}

impl<R: std::io::Read> std::io::Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.show && (self.last.elapsed().as_millis() >= 200 || n == 0) {
            self.last = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(1e-3);
            eprint!(
                "\r{}: {} / {} MB ({}%), {:.0} MB/s ",
                self.name,
                self.read >> 20,
                self.total >> 20,
                self.read * 100 / self.total.max(1),
                self.read as f64 / secs / 1e6
            );
            if n == 0 {
                eprintln!();
                self.show = false;
            }
            let _ = std::io::stderr().flush();
        }
        Ok(n)
    }
}
