//! Mail server logs: Postfix and Sendmail (syslog), Exim (main.log), and Exchange message
//! tracking (CSV with a `#Fields:` header). What matters in the seeds' cases: one authenticated
//! account suddenly sending to very many recipients (lateral phishing, spam through a stolen
//! account), authentication failures by source (password guessing against SMTP AUTH), and
//! accounts that authenticated from several sources or from one that had failed before.
//!
//! Postfix and Sendmail log a message over several lines tied by the queue ID; the analyser keeps
//! the queue ID → account map bounded.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead;

use super::sentence::facts;
use super::{Finding, LineReader, ProofLine, Severity, finish, keep};

/// Recipients from one account in one log before it is bulk sending.
pub const BULK_RECIPIENTS: u64 = 100;
/// Authentication failures from one source before it is password guessing.
pub const AUTH_FAILURES: u64 = 10;
const MAX_TRACKED: usize = 200_000;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MailSummary {
    pub lines: u64,
    pub unreadable: u64,
    pub messages: u64,
    pub recipients: u64,
    pub auth_failures: u64,
}

#[derive(Default)]
struct Account {
    messages: u64,
    recipients: u64,
    sources: BTreeSet<String>,
    first: Option<String>,
    last: Option<String>,
    proof: Vec<ProofLine>,
    login_proof: Vec<ProofLine>,
}

#[derive(Default)]
struct FailingSource {
    failures: u64,
    accounts: BTreeSet<String>,
    first: Option<String>,
    last: Option<String>,
    proof: Vec<ProofLine>,
}

fn timestamp(line: &str) -> Option<String> {
    let b = line.as_bytes();
    if b.len() >= 15 && b[3] == b' ' && b[6] == b' ' && b[9] == b':' {
        return line.get(..15).map(str::to_owned);
    }
    if b.len() >= 19 && b[4] == b'-' && (b[10] == b'T' || b[10] == b' ') {
        return line.get(..19).map(str::to_owned);
    }
    None
}

/// The value after `key` up to a delimiter.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(key)? + key.len();
    let rest = &line[start..];
    let end = rest.find([',', ' ', '>', ']']).unwrap_or(rest.len());
    Some(rest[..end].trim_matches(['<', '>']))
}

/// `host[1.2.3.4]` or `[1.2.3.4]:port` → the address.
fn bracket_ip(s: &str) -> Option<String> {
    // The first bracketed address (`smtpd[2101]` is a process ID, not an address).
    s.split('[')
        .skip(1)
        .filter_map(|part| part.split(']').next())
        .find(|ip| ip.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_owned)
}

fn domain_of(addr: &str) -> Option<String> {
    addr.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase())
}

/// Whether the head of a file looks like a mail server log.
pub fn looks_like(head: &str) -> bool {
    head.contains("postfix/")
        || head.contains("sendmail[")
        || (head.contains(" <= ") && head.contains(" H="))
        || (head.contains("#Fields:") && head.contains("recipient-address"))
}

pub fn analyse(input: impl BufRead) -> (MailSummary, Vec<Finding>) {
    let mut s = MailSummary::default();
    let mut accounts: HashMap<String, Account> = HashMap::new();
    let mut failing: HashMap<String, FailingSource> = HashMap::new();
    // Postfix/Sendmail queue ID → (authenticated account, client address).
    let mut queue: HashMap<String, (String, String)> = HashMap::new();
    let mut exchange_fields: Option<Vec<String>> = None;
    let mut internal_recipients: HashMap<String, u64> = HashMap::new();
    let mut lines = LineReader::new(input);
    while let Some((n, bytes)) = lines.next_line() {
        let Ok(line) = std::str::from_utf8(bytes) else {
            s.unreadable += 1;
            continue;
        };
        if let Some(f) = line.strip_prefix("#Fields:") {
            exchange_fields = Some(f.split(',').map(|x| x.trim().to_owned()).collect());
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(fields) = &exchange_fields {
            // Exchange message tracking: a SUBMIT/RECEIVE row per message with its recipients.
            let cols: Vec<&str> = line.split(',').collect();
            let get = |name: &str| {
                fields.iter().position(|f| f == name).and_then(|i| cols.get(i)).map(|v| v.trim_matches('"'))
            };
            if cols.len() < fields.len() / 2 {
                s.unreadable += 1;
                continue;
            }
            if get("event-id") == Some("RECEIVE") && get("source") == Some("SMTP") || get("event-id") == Some("SUBMIT")
            {
                let (Some(sender), Some(count)) =
                    (get("sender-address"), get("recipient-count").and_then(|c| c.parse::<u64>().ok()))
                else {
                    continue;
                };
                s.messages += 1;
                s.recipients += count;
                let ip = get("client-ip").unwrap_or("").to_owned();
                let a = accounts.entry(sender.to_ascii_lowercase()).or_default();
                record_message(a, count, &ip, get("date-time").map(str::to_owned), n, line);
                if let (Some(sd), Some(rcpts)) = (domain_of(sender), get("recipient-address")) {
                    let internal =
                        rcpts.split(';').filter(|r| domain_of(r).as_deref() == Some(sd.as_str())).count() as u64;
                    *internal_recipients.entry(sender.to_ascii_lowercase()).or_default() += internal;
                }
            }
            continue;
        }
        let ts = timestamp(line);
        // Authentication failures: Postfix, Exim, Sendmail.
        if line.contains("authentication failed")
            || line.contains("authenticator failed")
            || line.contains("AUTH failure")
        {
            s.auth_failures += 1;
            let Some(ip) = bracket_ip(line.split("failed").next().unwrap_or(line)).or_else(|| bracket_ip(line)) else {
                continue;
            };
            if failing.len() < MAX_TRACKED || failing.contains_key(&ip) {
                let f = failing.entry(ip).or_default();
                f.failures += 1;
                if let Some(u) = field(line, "sasl_username=").or_else(|| field(line, "set_id="))
                    && f.accounts.len() < 50
                {
                    f.accounts.insert(u.trim_end_matches(')').to_owned());
                }
                if f.first.is_none() {
                    f.first = ts.clone();
                }
                f.last = ts.clone();
                keep(&mut f.proof, n, line);
            }
            continue;
        }
        // Postfix: "QUEUEID: client=host[ip], sasl_method=LOGIN, sasl_username=user"
        if line.contains("postfix/") || line.contains("sendmail[") {
            let Some((_, msg)) = line.split_once("]: ") else { continue };
            let Some((qid, rest)) = msg.split_once(": ") else { continue };
            if let Some(user) = field(rest, "sasl_username=").or_else(|| field(rest, "authid=")) {
                let ip = bracket_ip(rest).unwrap_or_default();
                if queue.len() < MAX_TRACKED {
                    queue.insert(qid.to_owned(), (user.to_ascii_lowercase(), ip.clone()));
                }
                let a = accounts.entry(user.to_ascii_lowercase()).or_default();
                if !ip.is_empty() && a.sources.insert(ip) {
                    keep(&mut a.login_proof, n, line);
                }
                continue;
            }
            // "QUEUEID: from=<a@b>, size=…, nrcpt=N (queue active)" / sendmail "nrcpts=N"
            if let Some(count) =
                field(rest, "nrcpt=").or_else(|| field(rest, "nrcpts=")).and_then(|c| c.parse::<u64>().ok())
            {
                s.messages += 1;
                s.recipients += count;
                if let Some((user, ip)) = queue.remove(qid) {
                    let a = accounts.entry(user).or_default();
                    record_message(a, count, &ip, ts, n, line);
                }
            }
            continue;
        }
        // Exim: "… <= sender H=(helo) [ip]:port P=esmtpsa … A=dovecot_login:user … for r1 r2"
        if let Some((_, after)) = line.split_once(" <= ") {
            let Some(auth) = field(after, " A=").map(|a| a.rsplit(':').next().unwrap_or(a).to_ascii_lowercase()) else {
                continue;
            };
            let ip = bracket_ip(after).unwrap_or_default();
            let count = after.split_once(" for ").map(|(_, r)| r.split_whitespace().count() as u64).unwrap_or(1);
            s.messages += 1;
            s.recipients += count;
            let a = accounts.entry(auth).or_default();
            if !ip.is_empty() && !a.sources.contains(&ip) {
                keep(&mut a.login_proof, n, line);
            }
            record_message(a, count, &ip, ts, n, line);
        }
    }

    let mut findings = vec![];
    for (account, a) in &accounts {
        if a.recipients >= BULK_RECIPIENTS {
            let internal = internal_recipients.get(account).copied().unwrap_or(0);
            let lateral = internal * 2 >= a.recipients;
            findings.push(Finding {
                kind: "mail_bulk_sending",
                severity: Severity::High,
                facts: facts! {
                    "account" => account, "messages" => a.messages, "recipients" => a.recipients,
                    "source_count" => a.sources.len(), "lateral" => lateral,
                },
                technique: Some(if lateral { "T1534" } else { "T1566" }),
                sources: a.sources.iter().take(50).cloned().collect(),
                accounts: vec![account.clone()],
                count: a.recipients,
                first_seen: a.first.clone(),
                last_seen: a.last.clone(),
                proof: a.proof.clone(),
            });
        }
        let failed_before: Vec<&String> = a.sources.iter().filter(|ip| failing.contains_key(*ip)).collect();
        if !failed_before.is_empty() || a.sources.len() >= 3 {
            findings.push(Finding {
                kind: "mail_login_new_sources",
                severity: if failed_before.is_empty() { Severity::Medium } else { Severity::High },
                facts: facts! {
                    "account" => account, "source_count" => a.sources.len(),
                    "failed_from" => failed_before.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                },
                technique: Some("T1078"),
                sources: a.sources.iter().take(50).cloned().collect(),
                accounts: vec![account.clone()],
                count: a.sources.len() as u64,
                first_seen: a.first.clone(),
                last_seen: a.last.clone(),
                proof: a.login_proof.clone(),
            });
        }
    }
    let mut by_source: BTreeMap<&String, &FailingSource> = BTreeMap::new();
    for (ip, f) in &failing {
        if f.failures >= AUTH_FAILURES {
            by_source.insert(ip, f);
        }
    }
    for (ip, f) in by_source {
        findings.push(Finding {
            kind: "mail_auth_brute_force",
            severity: Severity::Medium,
            facts: facts! { "source" => ip, "failures" => f.failures },
            technique: Some("T1110"),
            sources: vec![ip.clone()],
            accounts: f.accounts.iter().cloned().collect(),
            count: f.failures,
            first_seen: f.first.clone(),
            last_seen: f.last.clone(),
            proof: f.proof.clone(),
        });
    }
    s.lines = lines.count;
    let unreadable = s.unreadable;
    let err = lines.error.take();
    (s, finish(findings, unreadable, "lines", err))
}

fn record_message(a: &mut Account, count: u64, ip: &str, ts: Option<String>, n: u64, line: &str) {
    a.messages += 1;
    a.recipients += count;
    if !ip.is_empty() && a.sources.len() < 1000 {
        a.sources.insert(ip.to_owned());
    }
    if a.first.is_none() {
        a.first = ts.clone();
    }
    a.last = ts;
    keep(&mut a.proof, n, line);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's 2019H2 #18: phished webmail accounts sending 40,000+ phishing mails inside
    /// the organisation, after password guessing from one address.
    fn postfix_lateral_phishing() -> String {
        let mut log = String::new();
        for i in 0..12 {
            log.push_str(&format!("Oct 17 09:{:02}:01 mx1 postfix/smtpd[2101]: warning: unknown[203.0.113.66]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=tanaka@city.example.lg.jp\n", i));
        }
        log.push_str("Oct 17 09:30:12 mx1 postfix/smtpd[2101]: 4A1B2C3D4E: client=unknown[203.0.113.66], sasl_method=LOGIN, sasl_username=tanaka@city.example.lg.jp\n");
        for m in 0..60 {
            let q = format!("5B{m:08X}");
            log.push_str(&format!("Oct 17 10:{:02}:00 mx1 postfix/smtpd[2200]: {q}: client=unknown[198.51.100.{}], sasl_method=LOGIN, sasl_username=tanaka@city.example.lg.jp\n", m % 60, 1 + m % 3));
            log.push_str(&format!("Oct 17 10:{:02}:01 mx1 postfix/qmgr[900]: {q}: from=<tanaka@city.example.lg.jp>, size=5321, nrcpt=50 (queue active)\n", m % 60));
        }
        // An ordinary user.
        log.push_str("Oct 17 11:00:00 mx1 postfix/smtpd[2300]: 9C0000000A: client=pc12.city.example.lg.jp[10.1.2.3], sasl_method=PLAIN, sasl_username=suzuki@city.example.lg.jp\n");
        log.push_str("Oct 17 11:00:01 mx1 postfix/qmgr[900]: 9C0000000A: from=<suzuki@city.example.lg.jp>, size=1200, nrcpt=2 (queue active)\n");
        log.push_str("\u{ff}\u{fe} broken line\n");
        log
    }

    #[test]
    fn postfix_bulk_sending_from_a_guessed_account() {
        let (s, f) = analyse(postfix_lateral_phishing().as_bytes());
        super::super::assert_worded(&f);
        assert_eq!((s.messages, s.recipients, s.auth_failures), (61, 3002, 12));
        let bulk = f.iter().find(|x| x.kind == "mail_bulk_sending").unwrap();
        assert_eq!(bulk.accounts, ["tanaka@city.example.lg.jp"]);
        assert_eq!(bulk.count, 3000);
        assert!(bulk.proof[0].text.contains("nrcpt=50"));
        let new = f.iter().find(|x| x.kind == "mail_login_new_sources").unwrap();
        assert_eq!(new.severity, Severity::High, "logged in from the address that failed before: {}", new.summary());
        assert!(new.summary().contains("203.0.113.66"));
        assert!(f.iter().any(|x| x.kind == "mail_auth_brute_force" && x.sources == ["203.0.113.66"]));
        assert!(
            !f.iter().any(|x| x.accounts.contains(&"suzuki@city.example.lg.jp".to_owned())),
            "the ordinary user is not a finding"
        );
        assert!(looks_like(&postfix_lateral_phishing()));
    }

    #[test]
    fn exim_and_exchange_tracking() {
        let mut exim = String::new();
        for i in 0..30 {
            let rcpts: Vec<String> = (0..10).map(|r| format!("user{}@corp.example.jp", i * 10 + r)).collect();
            exim.push_str(&format!("2019-10-17 10:00:{:02} 1iL4aB-000{i:03}-Cd <= sato@corp.example.jp H=(client) [192.0.2.44]:51234 P=esmtpsa X=TLS1.2 A=dovecot_login:sato@corp.example.jp S=4412 for {}\n", i, rcpts.join(" ")));
        }
        exim.push_str("2019-10-17 09:59:00 dovecot_login authenticator failed for (client) [192.0.2.44]:51200: 535 Incorrect authentication data (set_id=sato@corp.example.jp)\n");
        let (s, f) = analyse(exim.as_bytes());
        super::super::assert_worded(&f);
        assert_eq!(s.recipients, 300);
        let bulk = f.iter().find(|x| x.kind == "mail_bulk_sending").unwrap();
        assert_eq!(bulk.accounts, ["sato@corp.example.jp"]);

        let mut ex = String::from(
            "#Software: Microsoft Exchange Server\n#Fields: date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id,internal-message-id,message-id,recipient-address,recipient-status,total-bytes,recipient-count,related-recipient-address,reference,message-subject,sender-address\n",
        );
        for i in 0..4 {
            let rcpts: Vec<String> = (0..40).map(|r| format!("staff{r}@hospital.example.jp")).collect();
            ex.push_str(&format!("2019-10-17T10:0{i}:00.000Z,198.51.100.9,,10.0.0.5,EX01,,,SMTP,RECEIVE,{i},<m{i}@x>,{},,2000,40,,,パスワードの確認,nurse1@hospital.example.jp\n", rcpts.join(";")));
        }
        let (_, f) = analyse(ex.as_bytes());
        super::super::assert_worded(&f);
        let bulk = f.iter().find(|x| x.kind == "mail_bulk_sending").unwrap();
        assert_eq!(bulk.technique, Some("T1534"), "to the organisation's own addresses: lateral phishing");
        assert_eq!(bulk.count, 160);
    }
}
