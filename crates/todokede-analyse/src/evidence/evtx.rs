//! Windows event logs (.evtx), parsed with the `evtx` crate chunk by chunk (a file is never
//! held in memory whole when read from a path). Security: 4624/4625 (logon type 3 network,
//! 10 RDP), 4648, 4672, 4688, 4720/4732, 1102; System 7045 (new service) and 104 (log
//! cleared); TerminalServices 1149 (RDP authentication), RdpCoreTS 131 (RDP connection);
//! Kerberos 4768/4771; Sysmon 1 (process creation, e.g. from an IIS worker: a webshell).
//! Proof "lines" are record IDs with a one-line rendering of the record.

use super::sentence::{Facts, facts};
use super::{Finding, ProofLine, Severity, finish, keep};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Failures from one source (or for one account) from which it is a brute force.
const BRUTE_FORCE_MIN: u64 = 5;

#[derive(Debug, Default)]
pub struct EvtxStats {
    pub records: u64,
    pub unreadable: u64,
}

/// A field of the record as text: numbers, strings and `{"#text": …}` alike.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("#text").and_then(text),
        _ => None,
    }
}

struct Record {
    id: u64,
    event_id: u64,
    channel: String,
    time: String,
    computer: String,
    data: BTreeMap<String, String>,
}

impl Record {
    fn from_json(id: u64, v: &Value) -> Option<Record> {
        let ev = &v["Event"];
        let sys = &ev["System"];
        let event_id = text(&sys["EventID"])?.parse().ok()?;
        let mut data = BTreeMap::new();
        // EventData fields, and UserData's one child's fields (1102, 1149 …).
        let mut collect = |o: &serde_json::Map<String, Value>| {
            for (k, v) in o {
                if let Some(t) = text(v)
                    && !k.starts_with('#')
                {
                    data.insert(k.clone(), t);
                }
            }
        };
        if let Some(o) = ev["EventData"].as_object() {
            collect(o);
        }
        if let Some(o) = ev["UserData"].as_object() {
            for child in o.values().filter_map(Value::as_object) {
                collect(child);
            }
        }
        Some(Record {
            id: text(&sys["EventRecordID"]).and_then(|s| s.parse().ok()).unwrap_or(id),
            event_id,
            channel: text(&sys["Channel"]).unwrap_or_default(),
            time: sys["TimeCreated"]["#attributes"]["SystemTime"].as_str().unwrap_or("").to_owned(),
            computer: text(&sys["Computer"]).unwrap_or_default(),
            data,
        })
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.data.get(k).map(String::as_str).filter(|v| !v.is_empty() && *v != "-")
    }
    /// The remote address of the event, when it has one.
    fn source(&self) -> Option<String> {
        ["IpAddress", "ClientIP", "Param3", "SourceAddress"]
            .iter()
            .find_map(|k| self.get(k))
            .map(|s| s.trim_start_matches("::ffff:").split(':').next().unwrap_or(s).to_owned())
            .filter(|s| s.parse::<std::net::IpAddr>().is_ok() && s != "127.0.0.1" && s != "::1")
    }
    fn account(&self) -> Option<&str> {
        self.get("TargetUserName").or_else(|| self.get("Param1"))
    }
    fn line(&self) -> String {
        let mut s = format!("{} EventID {} {} {}", self.time, self.event_id, self.channel, self.computer);
        for k in [
            "TargetUserName",
            "Param1",
            "IpAddress",
            "ClientIP",
            "Param3",
            "LogonType",
            "ServiceName",
            "ImagePath",
            "NewProcessName",
            "Image",
            "ParentImage",
            "CommandLine",
            "MemberName",
            "SubjectUserName",
        ] {
            if let Some(v) = self.get(k) {
                s.push_str(&format!(" {k}={v}"));
            }
        }
        s
    }
}

/// Evidence gathered per kind, with its proof and span.
#[derive(Default)]
struct Acc {
    count: u64,
    sources: BTreeSet<String>,
    accounts: BTreeSet<String>,
    first: Option<String>,
    last: Option<String>,
    proof: Vec<ProofLine>,
}

impl Acc {
    fn add(&mut self, r: &Record) {
        self.count += 1;
        self.sources.extend(r.source());
        if let Some(a) = r.account()
            && self.accounts.len() < 50
        {
            self.accounts.insert(a.to_owned());
        }
        if self.first.is_none() {
            self.first = Some(r.time.clone());
        }
        self.last = Some(r.time.clone());
        keep(&mut self.proof, r.id, &r.line());
    }
    fn finding(
        self,
        kind: &'static str,
        severity: Severity,
        technique: Option<&'static str>,
        mut facts: Facts,
    ) -> Finding {
        facts.insert("count".into(), self.count.into());
        Finding {
            kind,
            severity,
            facts,
            technique,
            sources: self.sources.into_iter().take(50).collect(),
            accounts: self.accounts.into_iter().collect(),
            count: self.count,
            first_seen: self.first,
            last_seen: self.last,
            proof: self.proof,
        }
    }
}

fn lower(s: Option<&str>) -> String {
    s.unwrap_or("").to_lowercase()
}

/// Analyse an EVTX file from any seekable reader.
pub fn analyse<R: std::io::Read + std::io::Seek>(input: R) -> (EvtxStats, Vec<Finding>) {
    let mut stats = EvtxStats::default();
    let mut parser = match evtx::EvtxParser::from_read_seek(input) {
        Ok(p) => p.with_configuration(evtx::ParserSettings::new().num_threads(1)),
        Err(e) => {
            return (
                EvtxStats { records: 0, unreadable: 1 },
                finish(vec![], 1, "files (not EVTX)", Some(e.to_string())),
            );
        }
    };
    let mut failures_by_source: BTreeMap<String, Acc> = BTreeMap::new();
    let mut failed_sources: BTreeSet<String> = BTreeSet::new();
    let mut failed_accounts: BTreeSet<String> = BTreeSet::new();
    let mut success_after_failure = Acc::default();
    let mut rdp_logons = Acc::default();
    let mut rdp_attempts = Acc::default();
    let mut network_logons = Acc::default();
    let mut pass_the_hash = Acc::default();
    let mut explicit = Acc::default();
    let mut new_accounts = Acc::default();
    let mut admin_group = Acc::default();
    let mut services = Acc::default();
    let mut cleared = Acc::default();
    let mut webshell = Acc::default();
    let mut suspicious_process = Acc::default();
    let mut kerberos_failures = Acc::default();
    let mut all_failures = Acc::default();

    for r in parser.records_json_value() {
        let rec = match r {
            Ok(r) => Record::from_json(r.event_record_id, &r.data),
            Err(_) => None,
        };
        let Some(r) = rec else {
            stats.unreadable += 1;
            continue;
        };
        stats.records += 1;
        let logon_type = r.get("LogonType").unwrap_or("");
        match (r.event_id, r.channel.as_str()) {
            (4625, _) => {
                all_failures.add(&r);
                let src = r.source().unwrap_or_else(|| r.get("WorkstationName").unwrap_or("local").to_owned());
                failures_by_source.entry(src.clone()).or_default().add(&r);
                if let Some(a) = r.account() {
                    failed_accounts.insert(a.to_lowercase());
                }
                failed_sources.insert(src);
            }
            (4624, _) => {
                let src = r.source();
                let account = r.account().map(str::to_lowercase);
                let after_failure = src.as_ref().is_some_and(|s| failed_sources.contains(s))
                    || account
                        .as_ref()
                        .is_some_and(|a| failed_accounts.contains(a) && matches!(logon_type, "3" | "10" | "2"));
                if after_failure && !account.as_deref().is_some_and(|a| a.ends_with('$') || a == "anonymous logon") {
                    success_after_failure.add(&r);
                }
                if logon_type == "10" {
                    rdp_logons.add(&r);
                } else if logon_type == "3"
                    && src.is_some()
                    && !account.as_deref().is_some_and(|a| a.ends_with('$') || a == "anonymous logon")
                {
                    network_logons.add(&r);
                } else if logon_type == "9" && lower(r.get("LogonProcessName")).contains("seclogo") {
                    pass_the_hash.add(&r);
                }
            }
            (1149, _) => rdp_logons.add(&r),
            (131, _) => rdp_attempts.add(&r),
            (4648, _) => explicit.add(&r),
            (4720, _) => new_accounts.add(&r),
            (4732 | 4728 | 4756, _) if lower(r.get("TargetUserName")).contains("admin") => admin_group.add(&r),
            (7045, _) => services.add(&r),
            (1102, _) | (104, "System") => cleared.add(&r),
            (4771, _) | (4776, _) if r.get("Status").is_some_and(|s| s != "0x0") => kerberos_failures.add(&r),
            (4688, _) | (1, "Microsoft-Windows-Sysmon/Operational") => {
                let parent = lower(r.get("ParentProcessName").or_else(|| r.get("ParentImage")));
                let image = lower(r.get("NewProcessName").or_else(|| r.get("Image")));
                let cmd = lower(r.get("CommandLine"));
                let shell =
                    ["\\cmd.exe", "\\powershell.exe", "\\whoami.exe", "\\net.exe", "\\net1.exe", "\\certutil.exe"]
                        .iter()
                        .any(|s| image.ends_with(s));
                if ["\\w3wp.exe", "\\httpd.exe", "\\tomcat", "\\php-cgi.exe", "\\nginx.exe"]
                    .iter()
                    .any(|p| parent.contains(p))
                    && shell
                {
                    webshell.add(&r);
                } else if [
                    "mimikatz",
                    "sekurlsa",
                    "procdump",
                    "-encodedcommand",
                    " -enc ",
                    "vssadmin delete shadows",
                    "wevtutil cl",
                ]
                .iter()
                .any(|s| cmd.contains(s) || image.contains(s))
                {
                    suspicious_process.add(&r);
                }
            }
            _ => {}
        }
    }

    let mut findings = vec![];
    let total_failures = all_failures.count;
    let list = |v: &BTreeSet<String>| v.iter().cloned().collect::<Vec<_>>();
    for (src, acc) in failures_by_source {
        if acc.count >= BRUTE_FORCE_MIN {
            let facts = facts! { "source" => &src, "account_count" => acc.accounts.len() };
            findings.push(acc.finding("windows_logon_brute_force", Severity::Medium, Some("T1110"), facts));
        }
    }
    // One summary per source above; if no single source crossed the line, the total may.
    if findings.is_empty() && total_failures >= BRUTE_FORCE_MIN {
        let facts = facts! { "account_count" => all_failures.accounts.len() };
        findings.push(all_failures.finding("windows_logon_failures", Severity::Medium, Some("T1110"), facts));
    }
    // The facts of each kind's sentence (`count` is added by `Acc::finding`).
    let add = |findings: &mut Vec<Finding>,
               acc: Acc,
               kind: &'static str,
               sev: Severity,
               tech: Option<&'static str>,
               facts: &dyn Fn(&Acc) -> Facts| {
        if acc.count > 0 {
            let f = facts(&acc);
            findings.push(acc.finding(kind, sev, tech, f));
        }
    };
    let none = |_: &Acc| Facts::new();
    add(&mut findings, success_after_failure, "windows_logon_after_failures", Severity::High, Some("T1078"), &|a| {
        facts! { "accounts" => list(&a.accounts) }
    });
    add(&mut findings, rdp_logons, "rdp_logons", Severity::Medium, Some("T1021.001"), &|a| {
        facts! { "sources" => list(&a.sources) }
    });
    let rdp_severity = if rdp_attempts.count >= 20 { Severity::Medium } else { Severity::Low };
    add(&mut findings, rdp_attempts, "rdp_connection_attempts", rdp_severity, Some("T1110"), &|a| {
        facts! { "source_count" => a.sources.len() }
    });
    add(&mut findings, network_logons, "network_logons", Severity::Low, Some("T1021"), &|a| {
        facts! { "sources" => list(&a.sources) }
    });
    add(&mut findings, pass_the_hash, "pass_the_hash", Severity::High, Some("T1550.002"), &none);
    add(&mut findings, explicit, "explicit_credentials", Severity::Low, Some("T1078"), &none);
    add(&mut findings, new_accounts, "account_created", Severity::High, Some("T1136.001"), &|a| {
        facts! { "accounts" => list(&a.accounts) }
    });
    add(&mut findings, admin_group, "added_to_admin_group", Severity::High, Some("T1098"), &none);
    add(&mut findings, services, "service_installed", Severity::Medium, Some("T1543.003"), &none);
    add(&mut findings, cleared, "log_cleared", Severity::High, Some("T1070.001"), &none);
    add(&mut findings, webshell, "webshell_process", Severity::High, Some("T1505.003"), &none);
    add(&mut findings, suspicious_process, "suspicious_process", Severity::High, Some("T1003"), &none);
    add(&mut findings, kerberos_failures, "kerberos_failures", Severity::Medium, Some("T1110.003"), &|a| {
        facts! { "account_count" => a.accounts.len() }
    });
    let unreadable = stats.unreadable;
    (stats, finish(findings, unreadable, "records", None))
}
