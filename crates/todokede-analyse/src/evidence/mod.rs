//! Evidence analysis: attached logs → findings, each with the original lines that prove it.
//! Streaming (a line at a time from any `BufRead`), bounded memory per source and account,
//! never fails on bad input: unreadable lines are counted and reported as a finding.
//!
//! So far: sshd / auth.log, web access logs, application login logs. (EVTX and mail server
//! logs are next; they share `Finding` and `ProofLine`.)

pub mod access;
pub mod login;
pub mod sshd;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn key(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// At most this many proving lines per finding.
pub const MAX_PROOF_LINES: usize = 8;

/// A line of the original file that proves a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofLine {
    /// 1-based.
    pub line: u64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable key, e.g. `ssh_brute_force`, `ssh_login_after_failures`.
    pub kind: &'static str,
    pub severity: Severity,
    pub summary: String,
    /// ATT&CK technique ID, when one applies.
    pub technique: Option<&'static str>,
    pub sources: Vec<String>,
    pub accounts: Vec<String>,
    pub count: u64,
    /// First and last timestamp as written in the log.
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub proof: Vec<ProofLine>,
}

/// Keep the first lines of a kind, bounded.
pub(crate) fn keep(proof: &mut Vec<ProofLine>, line: u64, text: &str) {
    if proof.len() < MAX_PROOF_LINES {
        proof.push(ProofLine { line, text: text.chars().take(400).collect() });
    }
}

impl Finding {
    /// The JSON form used by `todokede evidence --json` and stored with a report's analysis.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind, "severity": self.severity.key(), "summary": self.summary, "technique": self.technique,
            "sources": self.sources, "accounts": self.accounts, "count": self.count,
            "first_seen": self.first_seen, "last_seen": self.last_seen,
            "proof": self.proof.iter().map(|p| serde_json::json!({"line": p.line, "text": p.text})).collect::<Vec<_>>(),
        })
    }
}

/// The analyser for a file, detected from its first bytes; `None` when no analyser reads it.
pub fn detect(head: &[u8]) -> Option<&'static str> {
    let head = String::from_utf8_lossy(&head[..head.len().min(64 << 10)]);
    if head.contains("sshd[") || head.contains("sshd:") {
        return Some("sshd");
    }
    let access_like = head.contains("#Fields: date time") || head.lines().take(50).any(|l| {
        (l.contains("] \"GET ") || l.contains("] \"POST ") || l.contains("] \"HEAD ")) && l.contains(" HTTP/")
    });
    if access_like {
        return Some("access");
    }
    login::looks_like(&head).then_some("login")
}

/// Run the analyser of `kind` over a log: (lines read, unreadable lines, findings).
pub fn analyse(kind: &str, input: impl std::io::BufRead) -> Option<(u64, u64, Vec<Finding>)> {
    match kind {
        "sshd" => {
            let (s, f) = sshd::analyse(input);
            Some((s.lines, s.unreadable, f))
        }
        "access" => {
            let (s, f) = access::analyse(input);
            Some((s.lines, s.unreadable, f))
        }
        "login" => {
            let (s, f) = login::analyse(input);
            Some((s.lines, s.unreadable, f))
        }
        _ => None,
    }
}
