//! Application login logs (CSV with a header, or JSON lines): time, source IP, account, result.
//! The columns are found by name. Tells apart the attacks the seeds distinguish:
//! **credential stuffing** (リスト型攻撃: many accounts, few tries each, many unknown accounts,
//! often many source IPs), **brute force** (few accounts, many tries each) and **password
//! spraying** (many existing accounts, one or two tries each, from few sources) — and lists the
//! accounts that logged in after failing: the ones actually taken over.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use super::sentence::facts;
use super::{Finding, LineReader, ProofLine, Severity, finish, keep};

const MAX_KEYS: usize = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    Failure,
    UnknownAccount,
}

fn outcome(v: &str) -> Option<Outcome> {
    let v = v.trim().trim_matches('"').to_ascii_lowercase();
    if [
        "no_such_user",
        "unknown_user",
        "unknown_account",
        "invalid_user",
        "user_not_found",
        "not_found",
        "nouser",
        "存在しない",
    ]
    .iter()
    .any(|k| v.contains(k))
    {
        return Some(Outcome::UnknownAccount);
    }
    if matches!(
        v.as_str(),
        "success" | "succeeded" | "ok" | "true" | "1" | "200" | "302" | "pass" | "passed" | "成功" | "login_success"
    ) {
        return Some(Outcome::Success);
    }
    if v.contains("fail")
        || v.contains("denied")
        || v.contains("invalid")
        || v.contains("error")
        || matches!(v.as_str(), "false" | "0" | "401" | "403" | "ng" | "失敗")
    {
        return Some(Outcome::Failure);
    }
    None
}

fn column(names: &[String], wanted: &[&str]) -> Option<usize> {
    names.iter().position(|n| wanted.contains(&n.trim().trim_matches('"').to_ascii_lowercase().as_str()))
}

const TIME: &[&str] = &["time", "timestamp", "date", "datetime", "@timestamp", "日時"];
const IP: &[&str] =
    &["ip", "src", "src_ip", "source", "source_ip", "client", "client_ip", "remote_addr", "remote_ip", "ip_address"];
const ACCOUNT: &[&str] = &["user", "username", "account", "login", "login_id", "email", "user_id", "userid", "id"];
const RESULT: &[&str] = &["result", "status", "success", "outcome", "login_result", "event"];

/// Whether a file looks like a login log: a CSV header or a JSON object with the four roles.
pub fn looks_like(head: &str) -> bool {
    let first = head.lines().next().unwrap_or("");
    if first.trim_start().starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(first).unwrap_or_default();
        let keys: Vec<String> = v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        return column(&keys, IP).is_some() && column(&keys, ACCOUNT).is_some() && column(&keys, RESULT).is_some();
    }
    let names: Vec<String> = first.split(',').map(str::to_owned).collect();
    column(&names, IP).is_some() && column(&names, ACCOUNT).is_some() && column(&names, RESULT).is_some()
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoginSummary {
    pub lines: u64,
    pub attempts: u64,
    pub unreadable: u64,
    pub successes: u64,
    pub unknown_account: u64,
    pub sources: u64,
    pub accounts: u64,
}

/// Analyse a login log. Never fails; rows that cannot be read are counted.
pub fn analyse(input: impl BufRead) -> (LoginSummary, Vec<Finding>) {
    let mut s = LoginSummary::default();
    let mut cols: Option<(Option<usize>, usize, usize, usize)> = None;
    let mut per_ip: HashMap<String, u64> = HashMap::new();
    let mut per_account: HashMap<String, (u64, u64)> = HashMap::new(); // (failures so far, attempts)
    let mut taken_over: Vec<(String, u64, ProofLine)> = Vec::new();
    let mut seen_taken: HashSet<String> = HashSet::new();
    let (mut first, mut last) = (None, None);
    let mut proof = Vec::new();
    let mut lines = LineReader::new(input);
    while let Some((n, bytes)) = lines.next_line() {
        let line = String::from_utf8_lossy(bytes);
        let line = &*line;
        if line.trim().is_empty() {
            continue;
        }
        // (time, ip, account, result)
        let row: Option<(String, String, String, String)> = if line.trim_start().starts_with('{') {
            serde_json::from_str::<serde_json::Value>(line).ok().and_then(|v| {
                let o = v.as_object()?;
                let keys: Vec<String> = o.keys().cloned().collect();
                let get = |want: &[&str]| {
                    column(&keys, want)
                        .and_then(|i| o.get(&keys[i]))
                        .map(|x| x.as_str().map(str::to_owned).unwrap_or_else(|| x.to_string()))
                };
                Some((get(TIME).unwrap_or_default(), get(IP)?, get(ACCOUNT)?, get(RESULT)?))
            })
        } else if cols.is_none() && n == 1 {
            let names: Vec<String> = line.split(',').map(str::to_owned).collect();
            cols = match (column(&names, IP), column(&names, ACCOUNT), column(&names, RESULT)) {
                (Some(i), Some(a), Some(r)) => Some((column(&names, TIME), i, a, r)),
                _ => None,
            };
            continue;
        } else {
            cols.and_then(|(t, i, a, r)| {
                let f: Vec<&str> = line.split(',').collect();
                let get = |k: usize| f.get(k).map(|v| v.trim().trim_matches('"').to_owned());
                Some((t.and_then(get).unwrap_or_default(), get(i)?, get(a)?, get(r)?))
            })
        };
        let Some((time, ip, account, result)) = row else {
            s.unreadable += 1;
            continue;
        };
        let Some(out) = outcome(&result) else {
            s.unreadable += 1;
            continue;
        };
        s.attempts += 1;
        if first.is_none() {
            first = Some(time.clone());
        }
        last = Some(time);
        if per_ip.len() < MAX_KEYS || per_ip.contains_key(&ip) {
            *per_ip.entry(ip).or_default() += 1;
        }
        let acc = if per_account.len() < MAX_KEYS || per_account.contains_key(&account) {
            Some(per_account.entry(account.clone()).or_default())
        } else {
            None
        };
        match out {
            Outcome::Success => {
                s.successes += 1;
                if let Some(acc) = acc {
                    acc.1 += 1;
                    if acc.0 > 0 && seen_taken.insert(account.clone()) && taken_over.len() < 10_000 {
                        taken_over.push((
                            account,
                            acc.0,
                            ProofLine { line: n, text: line.chars().take(400).collect() },
                        ));
                    }
                }
            }
            Outcome::Failure | Outcome::UnknownAccount => {
                if out == Outcome::UnknownAccount {
                    s.unknown_account += 1;
                }
                if let Some(acc) = acc {
                    acc.0 += 1;
                    acc.1 += 1;
                }
                keep(&mut proof, n, line);
            }
        }
    }
    s.lines = lines.count;
    s.sources = per_ip.len() as u64;
    s.accounts = per_account.len() as u64;
    let mut findings = Vec::new();
    let failures = s.attempts - s.successes;
    if failures > 0 {
        let mut per_acc: Vec<u64> = per_account.values().map(|(_, a)| *a).collect();
        per_acc.sort_unstable();
        let median_per_account = per_acc.get(per_acc.len() / 2).copied().unwrap_or(0);
        let max_per_ip = per_ip.values().copied().max().unwrap_or(0);
        let unknown_share = s.unknown_account as f64 / s.attempts.max(1) as f64;
        let top_sources = || {
            let mut v: Vec<(&String, &u64)> = per_ip.iter().collect();
            v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            v.into_iter().take(10).map(|(k, _)| k.clone()).collect::<Vec<_>>()
        };
        let stats = facts! {
            "attempts" => s.attempts,
            "accounts" => s.accounts,
            "median_per_account" => median_per_account,
            "source_count" => s.sources,
            "max_per_source" => max_per_ip,
            "unknown_percent" => (unknown_share * 100.0).round() as u64,
            "successes" => s.successes,
        };
        let verdict = if s.accounts >= 50 && median_per_account <= 3 && (unknown_share >= 0.3 || s.sources >= 100) {
            Some(("login_credential_stuffing", "T1110.004"))
        } else if s.accounts >= 20 && median_per_account <= 2 && s.sources < 20 && unknown_share < 0.1 {
            Some(("login_password_spraying", "T1110.003"))
        } else if per_account.values().any(|(_, a)| *a >= 20) {
            Some(("login_brute_force", "T1110.001"))
        } else {
            None
        };
        if let Some((kind, technique)) = verdict {
            findings.push(Finding {
                kind,
                severity: if taken_over.is_empty() { Severity::Medium } else { Severity::High },
                facts: stats,
                technique: Some(technique),
                sources: top_sources(),
                accounts: vec![],
                count: failures,
                first_seen: first.clone(),
                last_seen: last.clone(),
                proof: proof.clone(),
            });
        }
    }
    if !taken_over.is_empty() {
        findings.push(Finding {
            kind: "login_success_after_failures",
            severity: Severity::High,
            facts: facts! { "accounts" => taken_over.len() },
            technique: Some("T1078"),
            sources: vec![],
            accounts: taken_over.iter().take(50).map(|(a, f, _)| format!("{a} (after {f} failures)")).collect(),
            count: taken_over.len() as u64,
            first_seen: first,
            last_seen: last,
            proof: taken_over.iter().take(super::MAX_PROOF_LINES).map(|(_, _, p)| p.clone()).collect(),
        });
    }
    let findings = finish(findings, s.unreadable, "rows", lines.error);
    (s, findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's 2019H2 #11 in miniature: many IPs, few tries each, most accounts unknown,
    /// some logins succeed.
    #[test]
    fn stuffing_spraying_and_brute_force_are_told_apart() {
        let mut csv = String::from("time,src_ip,account,result\n");
        for i in 0..2000u32 {
            let ip = format!("10.{}.{}.{}", i % 200, i / 200, i % 7);
            let (acct, res) = if i % 10 == 0 {
                (format!("member{i}@example.jp"), if i % 40 == 0 { "success" } else { "failure" })
            } else {
                (format!("x{i}@leaked.example"), "unknown_user")
            };
            csv.push_str(&format!("2019-09-01T00:{:02}:00,{ip},{acct},{res}\n", i % 60));
        }
        let (s, f) = analyse(csv.as_bytes());
        super::super::assert_worded(&f);
        assert_eq!(s.attempts, 2000);
        assert_eq!(
            f.iter().find(|x| x.technique == Some("T1110.004")).map(|x| x.kind),
            Some("login_credential_stuffing"),
            "{f:#?}"
        );

        let mut spray = String::from("time,ip,user,status\n");
        for i in 0..60 {
            spray.push_str(&format!("t{i},203.0.113.5,user{i},failed\n"));
        }
        let (_, f) = analyse(spray.as_bytes());
        super::super::assert_worded(&f);
        assert_eq!(f[0].kind, "login_password_spraying");

        let mut brute = String::new();
        for i in 0..30 {
            brute.push_str(&format!(
                "{{\"timestamp\":\"t{i}\",\"ip\":\"198.51.100.7\",\"username\":\"admin\",\"result\":\"{}\"}}\n",
                if i == 29 { "success" } else { "failure" }
            ));
        }
        brute.push_str("not json at all\n");
        let (s, f) = analyse(brute.as_bytes());
        super::super::assert_worded(&f);
        assert_eq!(s.unreadable, 1);
        assert!(f.iter().any(|x| x.kind == "login_brute_force"));
        let taken = f.iter().find(|x| x.kind == "login_success_after_failures").unwrap();
        assert_eq!(taken.accounts, ["admin (after 29 failures)"]);
        assert_eq!(taken.proof[0].line, 30);
    }
}
