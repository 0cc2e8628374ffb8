//! Web server access logs: Apache/nginx combined and common, IIS W3C (with or without its
//! `#Fields` header). Requests are URL-decoded twice before matching, so `%2527` reads as `'`.
//! Findings: SQL injection, path traversal, webshell access (known names, command parameters,
//! scripts in upload directories, tunnels such as Tunna's `proxy&port=`), admin/CMS login
//! brute force, scanners by user agent, probes for sensitive files.

use std::collections::HashMap;
use std::io::BufRead;

use super::sentence::facts;
use super::{Finding, LineReader, ProofLine, Severity, finish, keep};

/// POSTs to a login page from one source before it is called brute force.
pub const LOGIN_BRUTE_FORCE_THRESHOLD: u64 = 20;
const MAX_SOURCES: usize = 100_000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub source: String,
    pub time: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub user_agent: String,
}

fn percent_decode(s: &str) -> std::borrow::Cow<'_, str> {
    let b = s.as_bytes();
    // Most requests have nothing to decode: no copy.
    if !b.iter().any(|c| matches!(c, b'%' | b'+')) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    std::borrow::Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Twice: attackers double-encode to get past filters that decode once.
pub fn decode(s: &str) -> std::borrow::Cow<'_, str> {
    match percent_decode(s) {
        std::borrow::Cow::Borrowed(once) => percent_decode(once),
        std::borrow::Cow::Owned(once) => std::borrow::Cow::Owned(percent_decode(&once).into_owned()),
    }
}

/// Apache/nginx combined or common format.
fn parse_combined(line: &str) -> Option<Request> {
    let (source, rest) = line.split_once(' ')?;
    let t0 = rest.find('[')?;
    let t1 = rest[t0..].find(']')? + t0;
    let time = rest[t0 + 1..t1].to_owned();
    let after = &rest[t1 + 1..];
    let q0 = after.find('"')?;
    let q1 = after[q0 + 1..].find('"')? + q0 + 1;
    let mut req = after[q0 + 1..q1].split(' ');
    let method = req.next()?.to_owned();
    let target = req.next().unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut tail = after[q1 + 1..].split_whitespace();
    let status = tail.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let quoted: Vec<&str> = after[q1 + 1..].split('"').collect();
    let user_agent = quoted.get(3).copied().unwrap_or("").to_owned();
    Some(Request {
        source: source.to_owned(),
        time,
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        status,
        user_agent,
    })
}

const IIS_DEFAULT: &[&str] = &[
    "date",
    "time",
    "s-ip",
    "cs-method",
    "cs-uri-stem",
    "cs-uri-query",
    "s-port",
    "cs-username",
    "c-ip",
    "cs(User-Agent)",
    "sc-status",
    "sc-substatus",
    "sc-win32-status",
    "time-taken",
];

fn parse_iis(line: &str, fields: &[String]) -> Option<Request> {
    let t: Vec<&str> = line.split(' ').collect();
    let idx = |name: &str| fields.iter().position(|f| f == name);
    let get = |name: &str| idx(name).and_then(|i| t.get(i)).copied().filter(|v| *v != "-").unwrap_or("");
    let method = get("cs-method");
    if method.is_empty() {
        return None;
    }
    Some(Request {
        source: get("c-ip").to_owned(),
        time: format!("{} {}", get("date"), get("time")),
        method: method.to_owned(),
        path: get("cs-uri-stem").to_owned(),
        query: get("cs-uri-query").to_owned(),
        status: get("sc-status").parse().unwrap_or(0),
        user_agent: get("cs(User-Agent)").replace('+', " "),
    })
}

/// IIS lines without a `#Fields` header: the default field order, anchored at the method
/// (some writers add fields before it, such as the site name and server).
fn parse_iis_headerless(line: &str) -> Option<Request> {
    let t: Vec<&str> = line.split(' ').collect();
    let m = t
        .iter()
        .position(|x| matches!(*x, "GET" | "POST" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "PROPFIND" | "PATCH"))?;
    let field = |off: usize| t.get(m + off).copied().filter(|v| *v != "-").unwrap_or("");
    Some(Request {
        source: field(5).to_owned(),
        time: format!("{} {}", t.first().unwrap_or(&""), t.get(1).unwrap_or(&"")),
        method: t[m].to_owned(),
        path: field(1).to_owned(),
        query: field(2).to_owned(),
        status: t
            .iter()
            .skip(m + 6)
            .find_map(|x| x.parse::<u16>().ok().filter(|s| (100..600).contains(s)))
            .unwrap_or(0),
        user_agent: field(6).replace('+', " "),
    })
}

/// Parse one line in any of the supported formats (IIS lines with the default field order).
pub fn parse(line: &str) -> Option<Request> {
    let b = line.as_bytes();
    if b.len() > 10 && b[4] == b'-' && b[7] == b'-' { parse_iis_headerless(line) } else { parse_combined(line) }
}

/// The detectors, on the decoded, lower-cased request.
pub fn classify(r: &Request) -> Vec<&'static str> {
    let target = if r.query.is_empty() {
        decode(&r.path).to_ascii_lowercase()
    } else {
        decode(&format!("{}?{}", r.path, r.query)).to_ascii_lowercase()
    };
    let path = decode(&r.path).to_ascii_lowercase();
    let ua = r.user_agent.to_ascii_lowercase();
    let mut hits = Vec::new();
    const SQLI: &[&str] = &[
        "union select",
        "union all select",
        "' or '1'='1",
        "\" or \"1\"=\"1",
        " or 1=1",
        "'or'1'='1",
        "sleep(",
        "benchmark(",
        "information_schema",
        "declare @",
        "xp_cmdshell",
        "waitfor delay",
        "cast(",
        "convert(int",
        "' --",
        "';--",
        "@@version",
        "load_file(",
        "into outfile",
        "select * from",
        "exec(@",
        "char(124)",
    ];
    if SQLI.iter().any(|p| target.contains(p)) {
        hits.push("web_sqli");
    }
    if target.contains("../")
        || target.contains("..\\")
        || target.contains("/etc/passwd")
        || target.contains("win.ini")
        || target.contains("boot.ini")
        || target.contains('\0')
    {
        hits.push("web_path_traversal");
    }
    let file = path.rsplit('/').next().unwrap_or("");
    // Remote file inclusion: a parameter whose value is a URL (…?src=http://…, board_skin_path=http://…).
    if decode(&r.query).to_ascii_lowercase().split('&').any(|kv| {
        kv.split_once('=')
            .is_some_and(|(_, v)| v.starts_with("http://") || v.starts_with("https://") || v.starts_with("ftp://"))
    }) || path.contains(".php/") && path.ends_with(".php")
    {
        hits.push("web_exploit_attempt");
    }
    const SHELLS: &[&str] = &[
        "shell.php",
        "c99.php",
        "r57.php",
        "cmd.php",
        "wso.php",
        "b374k",
        "cmd.aspx",
        "cmd.jsp",
        "conn.aspx",
        "conn.php",
        "conn.jsp",
        "tunnel.aspx",
        "webshell",
        "shell.aspx",
        "shell.jsp",
    ];
    let script = [".php", ".aspx", ".asp", ".jsp", ".jspx", ".ashx"].iter().any(|e| file.ends_with(e));
    let upload_dir = ["/uploads/", "/upload/", "/images/", "/files/", "/tmp/", "/wp-content/uploads/", "/media/"]
        .iter()
        .any(|d| path.contains(d));
    let decoded_query = decode(&r.query).to_ascii_lowercase();
    if SHELLS.iter().any(|s| file.contains(s))
        || path.contains("/cache/external")
        || (script
            && (decoded_query.starts_with("cmd=")
                || decoded_query.contains("&cmd=")
                || decoded_query.starts_with("exec=")
                || decoded_query.contains("proxy&port=")))
        || (script && upload_dir && r.method == "POST")
    {
        hits.push("web_webshell");
    }
    const LOGIN: &[&str] =
        &["wp-login.php", "xmlrpc.php", "/administrator", "/phpmyadmin/index.php", "/user/login", "/admin/login"];
    if r.method == "POST" && LOGIN.iter().any(|l| path.contains(l) || path.ends_with(l.trim_end_matches('/'))) {
        hits.push("web_login_attempt");
    }
    const SCANNERS: &[&str] = &[
        "nikto",
        "sqlmap",
        "zmeu",
        "masscan",
        "nmap",
        "w3af",
        "acunetix",
        "dirbuster",
        "gobuster",
        "wpscan",
        "libwww-perl",
        "the beast",
        "morfeus",
        "nessus",
        "openvas",
        "fingerprinter",
        "zgrab",
        "nuclei",
        "wget/",
        "curl/",
    ];
    if SCANNERS.iter().any(|s| ua.contains(s)) {
        hits.push("web_scanner");
    }
    // Search engines crawl; they do not post forms. A "Googlebot" that POSTs is a disguise.
    if r.method == "POST"
        && ["googlebot", "bingbot", "msnbot", "yandexbot", "baiduspider"].iter().any(|b| ua.contains(b))
    {
        hits.push("web_fake_crawler");
    }
    const SENSITIVE: &[&str] = &[
        "/.git",
        "/.env",
        "/.htaccess",
        "/.htpasswd",
        ".swp",
        ".bak",
        "/server-status",
        "/.ssh",
        "/.history",
        "/.bash_history",
        "setup.php",
        "/phpmyadmin",
        "/wp-config.php.",
        "/cfide/",
        "timthumb",
        "uploadify.php",
        "/etc/",
    ];
    if SENSITIVE.iter().any(|s| path.contains(s)) || (file.ends_with("thumb.php") && decoded_query.contains("src=")) {
        hits.push("web_sensitive_probe");
    }
    hits
}

/// The ATT&CK technique of a kind of request (its wording: [`super::sentence`]).
fn technique(kind: &str) -> Option<&'static str> {
    match kind {
        "web_sqli" | "web_path_traversal" | "web_exploit_attempt" => Some("T1190"),
        "web_webshell" => Some("T1505.003"),
        "web_login_brute_force" => Some("T1110"),
        "web_scanner" => Some("T1595.002"),
        "web_fake_crawler" => None,
        _ => Some("T1595.003"),
    }
}

#[derive(Default)]
struct Agg {
    count: u64,
    success: u64,
    first: Option<String>,
    last: Option<String>,
    paths: Vec<String>,
    proof: Vec<ProofLine>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AccessSummary {
    pub lines: u64,
    pub requests: u64,
    pub unreadable: u64,
    pub sources: u64,
}

/// Analyse an access log. Never fails; unreadable lines are counted.
pub fn analyse(input: impl BufRead) -> (AccessSummary, Vec<Finding>) {
    let mut s = AccessSummary::default();
    let mut fields: Option<Vec<String>> = None;
    let mut agg: HashMap<(&'static str, String), Agg> = HashMap::new();
    let mut sources: std::collections::HashSet<String> = Default::default();
    let mut lines = LineReader::new(input);
    while let Some((n, bytes)) = lines.next_line() {
        // Mixed encodings (a Shift_JIS path in an IIS log) must not stop the reading.
        let line = String::from_utf8_lossy(bytes);
        let line = &*line;
        if let Some(f) = line.strip_prefix("#Fields:") {
            fields = Some(f.split_whitespace().map(str::to_owned).collect());
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let starts_with_date = line.len() > 10 && line.as_bytes()[4] == b'-' && line.as_bytes()[7] == b'-';
        let req = if starts_with_date {
            match &fields {
                Some(f) => parse_iis(line, f),
                None => parse_iis_headerless(line)
                    .or_else(|| parse_iis(line, &IIS_DEFAULT.iter().map(|s| s.to_string()).collect::<Vec<_>>())),
            }
        } else {
            parse_combined(line)
        };
        let Some(req) = req else {
            s.unreadable += 1;
            continue;
        };
        s.requests += 1;
        if sources.len() < MAX_SOURCES {
            sources.insert(req.source.clone());
        }
        for kind in classify(&req) {
            let key = (kind, req.source.clone());
            if !agg.contains_key(&key) && agg.len() >= MAX_SOURCES {
                continue;
            }
            let a = agg.entry(key).or_default();
            a.count += 1;
            if (200..300).contains(&req.status) {
                a.success += 1;
            }
            if a.first.is_none() {
                a.first = Some(req.time.clone());
            }
            a.last = Some(req.time.clone());
            if a.paths.len() < 10 && !a.paths.contains(&req.path) {
                a.paths.push(req.path.clone());
            }
            keep(&mut a.proof, n, line);
        }
    }
    s.lines = lines.count;
    s.sources = sources.len() as u64;
    let mut findings = Vec::new();
    for ((kind, source), a) in agg {
        let kind = if kind == "web_login_attempt" {
            if a.count < LOGIN_BRUTE_FORCE_THRESHOLD {
                continue;
            }
            "web_login_brute_force"
        } else {
            kind
        };
        let technique = technique(kind);
        let severity = match kind {
            "web_sqli" | "web_webshell" if a.success > 0 => Severity::High,
            "web_sqli" | "web_webshell" | "web_login_brute_force" | "web_path_traversal" | "web_exploit_attempt" => {
                Severity::Medium
            }
            _ => Severity::Low,
        };
        findings.push(Finding {
            kind,
            severity,
            facts: facts! { "source" => &source, "count" => a.count, "success" => a.success, "paths" => a.paths.clone() },
            technique,
            sources: vec![source],
            accounts: vec![],
            count: a.count,
            first_seen: a.first,
            last_seen: a.last,
            proof: a.proof,
        });
    }
    let findings = finish(findings, s.unreadable, "lines", lines.error);
    (s, findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_encoded_sqli_is_seen() {
        let line = r#"203.0.113.9 - - [01/Apr/2024:10:00:00 +0900] "GET /item.php?id=1%2527%2520union%2520select%25201,2 HTTP/1.1" 200 512 "-" "Mozilla/5.0""#;
        let (_, f) = analyse(line.as_bytes());
        super::super::assert_worded(&f);
        assert_eq!(f[0].kind, "web_sqli");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].proof[0].line, 1);
    }

    #[test]
    fn login_brute_force_needs_volume() {
        let mut log = String::new();
        for i in 0..25 {
            log.push_str(&format!("198.51.100.3 - - [01/Apr/2024:10:00:{:02} +0900] \"POST /wp-login.php HTTP/1.1\" 200 100 \"-\" \"Mozilla\"\n", i % 60));
        }
        log.push_str(
            "192.0.2.1 - - [01/Apr/2024:11:00:00 +0900] \"POST /wp-login.php HTTP/1.1\" 302 100 \"-\" \"Mozilla\"\n",
        );
        log.push_str("garbage line\n");
        let (s, f) = analyse(log.as_bytes());
        super::super::assert_worded(&f);
        assert_eq!(s.unreadable, 1);
        assert_eq!(f.iter().filter(|x| x.kind == "web_login_brute_force").count(), 1);
        assert!(f.iter().any(|x| x.kind == "unreadable_input"));
    }
}
