//! sshd in syslog / auth.log form (with or without the year, journald's short export too):
//! failed and accepted logins, invalid users, per-source counts, and what matters most — a
//! successful login from a source that failed before (brute force that worked), and logins
//! from sources never seen before in the log.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;

use super::sentence::facts;
use super::{Finding, LineReader, ProofLine, Severity, finish, keep};

/// Failures from one source before it is called brute force.
pub const BRUTE_FORCE_THRESHOLD: u64 = 10;
/// Sources tracked at most (a log of a 10,000-IP attack stays bounded in memory).
const MAX_SOURCES: usize = 100_000;
/// Proving lines kept per source while reading (a finding shows at most this many of a kind).
const PROOF_PER_SOURCE: usize = 4;

#[derive(Default)]
struct Source {
    failed: u64,
    invalid: u64,
    accepted: u64,
    users: HashSet<String>,
    first: Option<String>,
    last: Option<String>,
    proof_failed: Vec<ProofLine>,
    proof_accepted: Vec<ProofLine>,
}

/// What the log says, in numbers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SshdSummary {
    pub lines: u64,
    pub sshd_lines: u64,
    pub unreadable: u64,
    pub failed: u64,
    pub invalid_user: u64,
    pub accepted: u64,
    pub failed_by_source: BTreeMap<String, u64>,
    pub invalid_by_source: BTreeMap<String, u64>,
    pub accepted_by_source: BTreeMap<String, u64>,
}

/// The syslog timestamp at the start of a line (`Dec 10 06:55:46`, `2024-01-02T03:04:05…`).
fn timestamp(line: &str) -> Option<&str> {
    let b = line.as_bytes();
    if b.len() >= 15 && b[3] == b' ' && b[6] == b' ' && b[9] == b':' {
        return line.get(..15);
    }
    if b.len() >= 19 && b[4] == b'-' && b[10] == b'T' {
        return line.split(' ').next();
    }
    None
}

/// `… from IP port …` → (user, ip)
fn user_and_source(rest: &str) -> Option<(&str, &str)> {
    let (user, tail) = rest.split_once(" from ")?;
    let ip = tail.split_whitespace().next()?;
    ip.parse::<std::net::IpAddr>().ok()?;
    Some((user.trim_start_matches("invalid user ").trim(), ip))
}

/// Analyse an sshd log. Never fails: I/O errors end the reading and are reported.
pub fn analyse(input: impl BufRead) -> (SshdSummary, Vec<Finding>) {
    let mut s = SshdSummary::default();
    let mut sources: HashMap<String, Source> = HashMap::new();
    let mut first_seen_accept: Vec<(String, String, ProofLine)> = Vec::new();
    let mut lines = LineReader::new(input);
    while let Some((n, bytes)) = lines.next_line() {
        let line = match std::str::from_utf8(bytes) {
            Ok(l) => l,
            Err(_) => {
                s.unreadable += 1;
                continue;
            }
        };
        let Some(pos) = line.find("sshd[").or_else(|| line.find("sshd:")) else { continue };
        s.sshd_lines += 1;
        let Some(msg) = line[pos..].split_once(": ").map(|(_, m)| m) else { continue };
        let ts = timestamp(line);
        // "message repeated N times: [ Failed password for root from IP port P]"
        let (msg, times) = match msg.strip_prefix("message repeated ") {
            Some(r) => match r.split_once(" times: [ ") {
                Some((n, inner)) => (inner.trim_end_matches(']'), n.trim().parse::<u64>().unwrap_or(1)),
                None => (msg, 1),
            },
            None => (msg, 1),
        };
        enum Ev<'a> {
            Failed(&'a str, &'a str),
            Invalid(&'a str, &'a str),
            Accepted(&'a str, &'a str),
        }
        let ev = if let Some(r) = msg
            .strip_prefix("Failed password for ")
            .or_else(|| msg.strip_prefix("Failed none for "))
            .or_else(|| msg.strip_prefix("Failed publickey for "))
        {
            user_and_source(r).map(|(u, ip)| Ev::Failed(u, ip))
        } else if let Some(r) = msg.strip_prefix("Invalid user ") {
            user_and_source(r).map(|(u, ip)| Ev::Invalid(u, ip))
        } else if let Some(r) = msg
            .strip_prefix("Accepted password for ")
            .or_else(|| msg.strip_prefix("Accepted publickey for "))
            .or_else(|| msg.strip_prefix("Accepted keyboard-interactive/pam for "))
        {
            user_and_source(r).map(|(u, ip)| Ev::Accepted(u, ip))
        } else {
            None
        };
        let Some(ev) = ev else { continue };
        let ip = match &ev {
            Ev::Failed(_, ip) | Ev::Invalid(_, ip) | Ev::Accepted(_, ip) => *ip,
        };
        if !sources.contains_key(ip) && sources.len() >= MAX_SOURCES {
            continue;
        }
        // The hot path: no allocation for a source, user or timestamp already seen.
        let known_before = sources.contains_key(ip);
        if !known_before {
            sources.insert(ip.to_owned(), Source::default());
        }
        let src = sources.get_mut(ip).expect("just inserted");
        if let Some(ts) = ts {
            if src.first.is_none() {
                src.first = Some(ts.to_owned());
            }
            match &mut src.last {
                Some(last) if last.len() == ts.len() => {
                    last.clear();
                    last.push_str(ts);
                }
                last => *last = Some(ts.to_owned()),
            }
        }
        match ev {
            Ev::Failed(user, _) => {
                s.failed += times;
                src.failed += times;
                if src.users.len() < 1000 && !src.users.contains(user) {
                    src.users.insert(user.to_owned());
                }
                if src.proof_failed.len() < PROOF_PER_SOURCE {
                    keep(&mut src.proof_failed, n, line);
                }
            }
            Ev::Invalid(user, _) => {
                s.invalid_user += 1;
                src.invalid += 1;
                if src.users.len() < 1000 && !src.users.contains(user) {
                    src.users.insert(user.to_owned());
                }
            }
            Ev::Accepted(user, _) => {
                s.accepted += 1;
                src.accepted += 1;
                keep(&mut src.proof_accepted, n, line);
                if !known_before && first_seen_accept.len() < 1000 {
                    first_seen_accept.push((
                        ip.to_owned(),
                        user.to_owned(),
                        ProofLine { line: n, text: line.to_owned() },
                    ));
                }
            }
        }
    }

    let mut findings = Vec::new();
    let mut by_failures: Vec<(&String, &Source)> = sources.iter().collect();
    by_failures.sort_by(|a, b| b.1.failed.cmp(&a.1.failed).then(a.0.cmp(b.0)));
    for (ip, src) in &by_failures {
        if src.failed > 0 {
            s.failed_by_source.insert((*ip).clone(), src.failed);
        }
        if src.invalid > 0 {
            s.invalid_by_source.insert((*ip).clone(), src.invalid);
        }
        if src.accepted > 0 {
            s.accepted_by_source.insert((*ip).clone(), src.accepted);
        }
        let mut users: Vec<String> = src.users.iter().cloned().collect();
        users.sort();
        users.truncate(20);
        if src.failed > 0 && src.accepted > 0 {
            let mut proof = src.proof_failed.iter().take(4).cloned().collect::<Vec<_>>();
            proof.extend(src.proof_accepted.iter().take(4).cloned());
            findings.push(Finding {
                kind: "ssh_login_after_failures",
                severity: Severity::High,
                facts: facts! { "source" => *ip, "failed" => src.failed, "accepted" => src.accepted },
                technique: Some("T1110.001"),
                sources: vec![(*ip).clone()],
                accounts: users.clone(),
                count: src.failed + src.accepted,
                first_seen: src.first.clone(),
                last_seen: src.last.clone(),
                proof,
            });
        }
        if src.failed >= BRUTE_FORCE_THRESHOLD {
            findings.push(Finding {
                kind: "ssh_brute_force",
                severity: if src.accepted > 0 { Severity::High } else { Severity::Medium },
                facts: facts! { "source" => *ip, "failed" => src.failed, "account_names" => src.users.len() },
                technique: Some("T1110.001"),
                sources: vec![(*ip).clone()],
                accounts: users,
                count: src.failed,
                first_seen: src.first.clone(),
                last_seen: src.last.clone(),
                proof: src.proof_failed.clone(),
            });
        }
    }
    for (ip, user, proof) in first_seen_accept {
        if sources.get(&ip).is_some_and(|s| s.failed == 0) {
            findings.push(Finding {
                kind: "ssh_login_new_source",
                severity: Severity::Low,
                facts: facts! { "account" => &user, "source" => &ip },
                technique: Some("T1078"),
                sources: vec![ip],
                accounts: vec![user],
                count: 1,
                first_seen: timestamp(&proof.text).map(str::to_owned),
                last_seen: None,
                proof: vec![proof],
            });
        }
    }
    s.lines = lines.count;
    let findings = finish(findings, s.unreadable, "lines", lines.error);
    (s, findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brute_force_that_worked_is_the_top_finding() {
        let mut log = String::new();
        for i in 0..12 {
            log.push_str(&format!(
                "Jan  5 10:00:{i:02} web sshd[1{i}]: Failed password for root from 203.0.113.7 port 4{i} ssh2\n"
            ));
        }
        log.push_str("Jan  5 10:01:00 web sshd[99]: Accepted password for root from 203.0.113.7 port 5000 ssh2\n");
        log.push_str("Jan  5 11:00:00 web sshd[100]: Accepted publickey for alice from 198.51.100.4 port 5001 ssh2\n");
        log.push_str("\u{0}\u{1} garbage \u{fffd}\n");
        let mut bytes = log.into_bytes();
        bytes.extend_from_slice(b"\xff\xfe not utf-8\n");
        let (s, f) = analyse(&bytes[..]);
        super::super::assert_worded(&f);
        assert_eq!((s.failed, s.accepted, s.unreadable), (12, 2, 1));
        assert_eq!(f[0].kind, "ssh_login_after_failures");
        assert_eq!(f[0].severity, Severity::High);
        assert!(f[0].proof.iter().any(|p| p.line == 13 && p.text.contains("Accepted password for root")));
        assert!(f.iter().any(|x| x.kind == "ssh_brute_force" && x.count == 12));
        assert!(f.iter().any(|x| x.kind == "ssh_login_new_source" && x.sources == ["198.51.100.4"]));
        assert!(f.iter().any(|x| x.kind == "unreadable_input" && x.count == 1));
    }
}
