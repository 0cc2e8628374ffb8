//! Evidence analysis: attached logs → findings, each with the original lines that prove it.
//! Streaming (a line at a time from any `BufRead`), bounded memory per source and account,
//! never fails on bad input: unreadable lines are counted and reported as a finding.
//!
//! Kinds: sshd / auth.log, web access logs, application login logs, mail server logs
//! (Postfix, Sendmail, Exim, Exchange tracking) and Windows event logs (.evtx).

pub mod access;
pub mod evtx;
pub mod login;
pub mod mail;
pub mod sentence;
pub mod sshd;

pub use sentence::{Fact, Facts};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    /// The badge's word, in the reader's language.
    pub fn label(self, lang: todokede_domain::Language) -> &'static str {
        match self {
            Severity::Info => lang.pick("参考", "info"),
            Severity::Low => lang.pick("低", "low"),
            Severity::Medium => lang.pick("中", "medium"),
            Severity::High => lang.pick("高", "high"),
        }
    }

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
    /// The numbers and names the finding's sentence is made of ([`sentence::sentence`]).
    pub facts: Facts,
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

impl Finding {
    /// The sentence in the reader's language (every kind has its wording: the analysers'
    /// tests check it; the kind's key would stand in for a missing one).
    pub fn summary_in(&self, lang: todokede_domain::Language) -> String {
        sentence::sentence(self.kind, &self.facts, lang).unwrap_or_else(|| self.kind.to_owned())
    }

    /// The English sentence (stored beside the facts, printed by `todokede evidence`).
    pub fn summary(&self) -> String {
        self.summary_in(todokede_domain::Language::En)
    }
}

/// The longest line kept: the rest of a longer line is skipped (counted in
/// [`LineReader::cut`]). A 1 MB gzip can hold a single 1 GiB line; read whole it took 1 GB.
pub(crate) const MAX_LINE_BYTES: usize = 64 << 10;

/// Reads a log a line at a time into one reused buffer (memory stays bounded whatever the
/// file size and however long its lines: at most [`MAX_LINE_BYTES`] of a line are kept),
/// numbering lines from 1. An I/O error ends the reading and is kept in `error`.
pub(crate) struct LineReader<R> {
    input: R,
    buf: Vec<u8>,
    /// Lines read so far.
    pub(crate) count: u64,
    /// Lines longer than [`MAX_LINE_BYTES`], cut there.
    pub(crate) cut: u64,
    pub(crate) error: Option<String>,
}

impl<R: std::io::BufRead> LineReader<R> {
    pub(crate) fn new(input: R) -> Self {
        LineReader { input, buf: Vec::new(), count: 0, cut: 0, error: None }
    }

    /// The next line without its line ending, with its number.
    pub(crate) fn next_line(&mut self) -> Option<(u64, &[u8])> {
        self.buf.clear();
        let (mut any, mut cut) = (false, false);
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.error = Some(e.to_string());
                    return None;
                }
            };
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (take, ended) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            cut |= take > room;
            self.input.consume(take);
            if ended {
                break;
            }
        }
        if !any {
            return None;
        }
        self.count += 1;
        self.cut += u64::from(cut);
        let mut end = self.buf.len();
        while end > 0 && matches!(self.buf[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        Some((self.count, &self.buf[..end]))
    }
}

/// What every analyser ends with: the unreadable input as a finding of its own, and the
/// findings in one order — most severe, then largest, then by summary.
pub(crate) fn finish(
    mut findings: Vec<Finding>,
    unreadable: u64,
    unit: &str,
    read_error: Option<String>,
) -> Vec<Finding> {
    if unreadable > 0 || read_error.is_some() {
        findings.push(Finding {
            kind: "unreadable_input",
            severity: Severity::Info,
            facts: {
                let mut f = sentence::facts! { "count" => unreadable, "unit" => unit };
                if let Some(e) = read_error {
                    f.insert("error".into(), Fact::Text(e));
                }
                f
            },
            technique: None,
            sources: vec![],
            accounts: vec![],
            count: unreadable,
            first_seen: None,
            last_seen: None,
            proof: vec![],
        });
    }
    findings.sort_by_cached_key(|f| (std::cmp::Reverse(f.severity), std::cmp::Reverse(f.count), f.summary()));
    findings
}

/// Keep the first lines of a kind, bounded.
pub(crate) fn keep(proof: &mut Vec<ProofLine>, line: u64, text: &str) {
    if proof.len() < MAX_PROOF_LINES {
        proof.push(ProofLine { line, text: text.chars().take(400).collect() });
    }
}

/// The analyser for a file, detected from its first bytes; `None` when no analyser reads it.
pub fn detect(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"ElfFile\0") {
        return Some("evtx");
    }
    let head = String::from_utf8_lossy(&head[..head.len().min(64 << 10)]);
    if head.contains("sshd[") || head.contains("sshd:") {
        return Some("sshd");
    }
    if mail::looks_like(&head) {
        return Some("mail");
    }
    let access_like = head.contains("#Fields: date time")
        || head.lines().take(50).any(|l| {
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
        "mail" => {
            let (s, f) = mail::analyse(input);
            Some((s.lines, s.unreadable, f))
        }
        // EVTX is a binary format with chunk offsets: it needs to seek. A stream is read into
        // memory here; `evtx::analyse` on a file reads it chunk by chunk.
        "evtx" => {
            let mut input = input;
            let mut bytes = vec![];
            if std::io::Read::read_to_end(&mut input, &mut bytes).is_err() {
                return None;
            }
            let (s, f) = evtx::analyse(std::io::Cursor::new(bytes));
            Some((s.records, s.unreadable, f))
        }
        _ => None,
    }
}

/// What a finding says about the report's classification: a damage it shows (the account was
/// taken over, a webshell was placed, the server sent phishing) and the cause it points to.
pub(crate) fn implications(
    kind: &str,
) -> (Option<todokede_domain::DamageCategory>, Option<todokede_domain::CauseCategory>) {
    use todokede_domain::{CauseCategory as C, DamageCategory as D};
    match kind {
        "ssh_login_after_failures" | "windows_logon_after_failures" => {
            (Some(D::AccountTakeover), Some(C::WeakCredentials))
        }
        "login_success_after_failures" => (Some(D::AccountTakeover), None),
        "login_credential_stuffing" => (None, Some(C::CredentialReuse)),
        "mail_bulk_sending" => (Some(D::SteppingStone), None),
        "web_webshell" | "webshell_process" => (Some(D::MalwarePlaced), None),
        "web_sqli" => (None, Some(C::CustomCodeVulnerability)),
        "account_created" | "added_to_admin_group" | "pass_the_hash" => (Some(D::AccountTakeover), None),
        _ => (None, None),
    }
}

/// Every finding has its sentence in both languages, and the Japanese one is Japanese.
#[cfg(test)]
pub(crate) fn assert_worded(findings: &[Finding]) {
    use todokede_domain::Language;
    for f in findings {
        let ja = sentence::sentence(f.kind, &f.facts, Language::Ja);
        let en = sentence::sentence(f.kind, &f.facts, Language::En);
        let (Some(ja), Some(en)) = (ja, en) else { panic!("{} has no wording for {:?}", f.kind, f.facts) };
        assert!(ja.chars().any(|c| matches!(c as u32, 0x3040..=0x30FF | 0x4E00..=0x9FFF)), "{}: {ja}", f.kind);
        assert_ne!(ja, en, "{}", f.kind);
    }
}

#[cfg(test)]
mod tests {
    use crate::record::{EvidenceFile, EvidenceKind};

    /// A log of `n` bytes of one line, then a second line, made as it is read.
    struct LongLine(u64);
    impl std::io::Read for LongLine {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let tail = b"\nDec 10 06:55:46 web sshd[1]: Failed password for root from 45.33.32.156 port 1 ssh2\n";
            if self.0 == 0 {
                return Ok(0);
            }
            if self.0 <= tail.len() as u64 {
                let start = tail.len() - self.0 as usize;
                let n = out.len().min(self.0 as usize);
                out[..n].copy_from_slice(&tail[start..start + n]);
                self.0 -= n as u64;
                return Ok(n);
            }
            let n = out.len().min((self.0 - tail.len() as u64) as usize);
            out[..n].fill(b'a');
            self.0 -= n as u64;
            Ok(n)
        }
    }

    /// Issue 17, finding 9: a line is kept up to 64 KiB, whatever its length (the old reader
    /// held a whole 1 GiB line in memory).
    #[test]
    fn a_very_long_line_is_cut_and_memory_stays_bounded() {
        let mut r = super::LineReader::new(std::io::BufReader::new(LongLine(64 << 20)));
        let (n, first) = r.next_line().unwrap();
        assert_eq!((n, first.len()), (1, super::MAX_LINE_BYTES));
        let (n, second) = r.next_line().unwrap();
        assert!(n == 2 && second.starts_with(b"Dec 10"), "the next line is read as usual");
        assert!(r.next_line().is_none());
        assert_eq!(r.cut, 1);
        assert!(r.buf.capacity() <= 2 * super::MAX_LINE_BYTES, "{} bytes held", r.buf.capacity());
    }

    #[test]
    fn log_findings_join_the_text_analysis() {
        let log = "Dec 10 06:55:46 web sshd[1]: Failed password for root from 45.33.32.156 port 1 ssh2\n".repeat(12)
            + "Dec 10 07:00:00 web sshd[2]: Accepted password for root from 45.33.32.156 port 2 ssh2\n";
        let (lines, unreadable, findings) = super::analyse("sshd", log.as_bytes()).unwrap();
        super::assert_worded(&findings);
        let mut record = crate::analyse("サーバの動作が遅い。").record();
        record.add_evidence(vec![EvidenceFile::new("auth.log", EvidenceKind::Sshd, lines, unreadable, &findings)]);
        let takeover = record.damages.iter().find(|d| d.key == "account_takeover").expect("a damage from the log");
        assert!(takeover.evidence[0].starts_with("auth.log: "), "{takeover:?}");
        assert!(record.causes.iter().any(|d| d.key == "weak_credentials"));
        assert!(record.techniques.iter().any(|t| t.id == "T1110.001"));
        // Stored and read back, the same record; the suggestion counts what the log proved.
        let stored = super::super::AnalysisRecord::parse(&record.to_json_string()).unwrap();
        assert_eq!(stored, record);
        assert!(stored.suggested_classification().damages.contains(&todokede_domain::DamageCategory::AccountTakeover));
    }
}
