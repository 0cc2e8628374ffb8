//! Indicator extraction from normalised text: addresses, domains, URLs, e-mail, hashes, CVEs,
//! cryptocurrency addresses, ports, executable file names, registry keys. Values on the warning
//! lists are returned as context, the reporter's own addresses as internal.

use regex::Regex;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use crate::warninglists::{Benign, lists};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndicatorType {
    Ipv4,
    Ipv6,
    Domain,
    Url,
    Email,
    Md5,
    Sha1,
    Sha256,
    Cve,
    Btc,
    Xmr,
    Port,
    Filename,
    Registry,
}

impl IndicatorType {
    pub const ALL: [IndicatorType; 14] = [
        Self::Ipv4,
        Self::Ipv6,
        Self::Domain,
        Self::Url,
        Self::Email,
        Self::Md5,
        Self::Sha1,
        Self::Sha256,
        Self::Cve,
        Self::Btc,
        Self::Xmr,
        Self::Port,
        Self::Filename,
        Self::Registry,
    ];
    /// The key used in the JSON output.
    pub fn key(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
            Self::Domain => "domain",
            Self::Url => "url",
            Self::Email => "email",
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Cve => "cve",
            Self::Btc => "btc",
            Self::Xmr => "xmr",
            Self::Port => "port",
            Self::Filename => "filename",
            Self::Registry => "registry",
        }
    }

    /// What a person calls it, in their language (the report page's indicator list).
    pub fn label(self, lang: todokede_domain::Language) -> &'static str {
        let (ja, en) = match self {
            Self::Ipv4 => ("IPv4 アドレス", "IPv4 address"),
            Self::Ipv6 => ("IPv6 アドレス", "IPv6 address"),
            Self::Domain => ("ドメイン", "Domain"),
            Self::Url => ("URL", "URL"),
            Self::Email => ("メールアドレス", "E-mail address"),
            Self::Md5 => ("MD5 ハッシュ値", "MD5 hash"),
            Self::Sha1 => ("SHA-1 ハッシュ値", "SHA-1 hash"),
            Self::Sha256 => ("SHA-256 ハッシュ値", "SHA-256 hash"),
            Self::Cve => ("CVE", "CVE"),
            Self::Btc => ("ビットコインアドレス", "Bitcoin address"),
            Self::Xmr => ("Monero アドレス", "Monero address"),
            Self::Port => ("ポート番号", "Port"),
            Self::Filename => ("ファイル名", "File name"),
            Self::Registry => ("レジストリキー", "Registry key"),
        };
        lang.pick(ja, en)
    }
}

/// Values found, per type, in order of first appearance, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueSet {
    pub by_type: BTreeMap<IndicatorType, Vec<String>>,
    seen: HashSet<(IndicatorType, String)>,
}

impl ValueSet {
    fn add(&mut self, t: IndicatorType, v: String) {
        if self.seen.insert((t, v.clone())) {
            self.by_type.entry(t).or_default().push(v);
        }
    }
    pub fn get(&self, t: IndicatorType) -> &[String] {
        self.by_type.get(&t).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn is_empty(&self) -> bool {
        self.by_type.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extraction {
    /// Attacker-side and otherwise notable values.
    pub indicators: ValueSet,
    /// The reporter's own addresses (private ranges, loopback).
    pub internal: ValueSet,
    /// Known-benign values (documentation ranges, the scheme's domains, well-known sites).
    pub context: Vec<(IndicatorType, String, Benign)>,
}

impl Extraction {
    fn classify_ip(&mut self, t: IndicatorType, ip: IpAddr, shown: String, use_lists: bool) {
        match lists().ip(ip).filter(|_| use_lists) {
            None => self.indicators.add(t, shown),
            Some(Benign::Internal) => self.internal.add(t, shown),
            Some(b) => self.add_context(t, shown, b),
        }
    }
    fn add_context(&mut self, t: IndicatorType, v: String, b: Benign) {
        if !self.context.iter().any(|(ct, cv, _)| *ct == t && *cv == v) {
            self.context.push((t, v, b));
        }
    }
}

struct Patterns {
    url: Regex,
    email: Regex,
    ipv4: Regex,
    ipv6: Regex,
    domain: Regex,
    hash: Regex,
    cve: Regex,
    btc: Regex,
    xmr: Regex,
    port: Regex,
    port_suffix: Regex,
    filename: Regex,
    registry: Regex,
}

/// Boundaries are ASCII word boundaries (`(?-u:\b)`): in Japanese text an indicator often
/// touches kana or kanji (攻撃元は45.33.32.156でした), which Unicode `\b` counts as word characters.
fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let r = |s: &str| Regex::new(s).expect("indicator pattern");
        Patterns {
            url: r(r#"(?i)(?-u:\b)(?:https?|ftp)://[^\s<>"'`「」『』（）、。，]+"#),
            email: r(r"(?i)(?-u:\b)[a-z0-9][a-z0-9._%+-]{0,63}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}(?-u:\b)"),
            ipv4: r(r"(?-u:\b)(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}(?-u:\b)"),
            ipv6: r(r"(?i)(?:[0-9a-f]{1,4}:){1,7}:?(?:[0-9a-f]{1,4})?(?::[0-9a-f]{1,4}){0,6}|::(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4}"),
            domain: r(r"(?i)(?-u:\b)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z][a-z0-9-]{0,61}[a-z0-9]|xn--[a-z0-9-]{1,59})(?-u:\b)"),
            hash: r(r"(?-u:\b)[0-9a-fA-F]{32,64}(?-u:\b)"),
            cve: r(r"(?i)(?-u:\b)CVE[- ]?(\d{4})-(\d{4,7})(?-u:\b)"),
            btc: r(r"(?-u:\b)(?:[13][a-km-zA-HJ-NP-Z1-9]{25,34}|bc1[ac-hj-np-z02-9]{11,71})(?-u:\b)"),
            xmr: r(r"(?-u:\b)[48][0-9AB][1-9A-HJ-NP-Za-km-z]{93}(?:[1-9A-HJ-NP-Za-km-z]{11})?(?-u:\b)"),
            port: r(r"(?i)(?:(?-u:\b)port\s*(?:number\s*)?|ポート(?:番号)?\s*|(?-u:\b)(?:tcp|udp)\s*[/:]?\s*)(\d{1,5})(?-u:\b)"),
            port_suffix: r(r"(?i)^(\d{1,5})/(?:tcp|udp)$"),
            filename: r(r"(?i)(?-u:\b)[a-z0-9_][a-z0-9_.\-]{0,200}\.(?:exe|dll|scr|bat|cmd|ps1|psm1|vbs|vbe|jse?|wsf|hta|jar|lnk|msi|pif|cpl|docm|xlsm|pptm|iso|img|php|phtml|aspx?|ashx|jspx?|sh|py|elf|bin)(?-u:\b)"),
            // Inner key names may contain spaces ("Windows NT"); the last one may not, so the match
            // does not run on into the sentence.
            registry: r(r#"(?i)(?-u:\b)(?:HKEY_LOCAL_MACHINE|HKLM|HKEY_CURRENT_USER|HKCU|HKEY_CLASSES_ROOT|HKCR|HKEY_USERS|HKU|HKEY_CURRENT_CONFIG|HKCC)(?:\\[^\\\s"'<>,、。“”]+(?: [^\\\s"'<>,、。“”]+)*)*\\[^\\\s"'<>,、。“”]+"#),
        }
    })
}

/// File extensions that are also top-level domains: `abc.py` is a file, `www.abc.py` a domain.
const EXTENSION_LIKE_TLDS: &[&str] = &[
    "py", "sh", "pl", "rs", "md", "zip", "mov", "cc", "ps", "so", "js", "sys", "tar", "gz", "bat", "exe", "log", "txt",
    "csv", "php", "html", "htm", "asp", "aspx", "jsp", "cgi",
];

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

/// In Japanese prose a URL runs straight into the sentence (…/login でした). The path stops at
/// the first CJK character; an ASCII TLD stops where its ASCII run ends (例え.jpです → 例え.jp).
fn cut_at_prose(u: &str) -> &str {
    let Some(host_start) = u.find("://").map(|i| i + 3) else { return u };
    let host_end = u[host_start..].find(['/', '?', '#']).map(|i| i + host_start).unwrap_or(u.len());
    let host = &u[host_start..host_end];
    if let Some(dot) = host.rfind('.') {
        let tld = &host[dot + 1..];
        if tld.starts_with(|c: char| c.is_ascii_alphanumeric())
            && let Some(run) = tld.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == ':'))
        {
            return &u[..host_start + dot + 1 + run];
        }
    }
    match u[host_end..].find(is_cjk) {
        Some(i) => &u[..host_end + i],
        None => u,
    }
}

fn trim_url(u: &str) -> &str {
    let mut u = cut_at_prose(u).trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '"', '>', '*']);
    // A closing bracket belongs to the URL only if it also opened inside it.
    while let Some(last) = u.chars().last().filter(|c| matches!(c, ')' | ']' | '}')) {
        let open = match last {
            ')' => '(',
            ']' => '[',
            _ => '{',
        };
        if u.matches(open).count() >= u.matches(last).count() {
            break;
        }
        u = &u[..u.len() - 1];
    }
    u
}

/// The host of a URL, without userinfo and port.
fn url_host(u: &str) -> &str {
    let rest = u.split_once("://").map(|(_, r)| r).unwrap_or(u);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    host_port.split(':').next().unwrap_or("")
}

/// A registrable domain under a known public suffix (ICANN or private section).
fn valid_domain(d: &str) -> bool {
    let labels = d.split('.').count();
    if labels < 2 || d.len() > 253 {
        return false;
    }
    let tld = d.rsplit('.').next().unwrap_or("");
    if labels == 2 && EXTENSION_LIKE_TLDS.contains(&tld) {
        return false;
    }
    match psl::domain(d.as_bytes()) {
        Some(reg) => reg.suffix().is_known(),
        None => false,
    }
}

/// Lower-case, and Unicode form for IDN (`xn--` labels decoded).
fn canonical_domain(d: &str) -> String {
    let d = d.trim_end_matches('.').to_lowercase();
    if d.contains("xn--") {
        let (u, res) = idna::domain_to_unicode(&d);
        if res.is_ok() {
            return u;
        }
    }
    d
}

fn ascii_punycode(d: &str) -> Option<String> {
    if d.is_ascii() { Some(d.to_owned()) } else { idna::domain_to_ascii(d).ok() }
}

/// A domain as the extractor writes it (lower-case, IDN in Unicode), or `None` when the
/// extractor would not take it (no known public suffix, a file-extension-like name): for values
/// from elsewhere (imported indicator lists) that must match what was extracted.
pub fn canonical_domain_indicator(raw: &str) -> Option<String> {
    let d = canonical_domain(raw);
    valid_domain(&ascii_punycode(&d)?).then_some(d)
}

fn add_domain(out: &mut Extraction, raw: &str, use_lists: bool) {
    let d = canonical_domain(raw);
    let Some(ascii) = ascii_punycode(&d) else { return };
    if !valid_domain(&ascii) {
        return;
    }
    match lists().domain(&ascii).filter(|_| use_lists) {
        Some(b) => out.add_context(IndicatorType::Domain, d, b),
        None => out.indicators.add(IndicatorType::Domain, d),
    }
}

fn base58_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut out: Vec<u8> = vec![0; s.len()];
    let mut len = 0;
    for c in s.bytes() {
        let mut carry = ALPHABET.iter().position(|&a| a == c)? as u32;
        for b in out[..len].iter_mut() {
            carry += (*b as u32) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out[len] = (carry & 0xff) as u8;
            len += 1;
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|&c| c == b'1').count();
    let mut v = vec![0u8; zeros];
    v.extend(out[..len].iter().rev());
    Some(v)
}

/// Legacy (P2PKH/P2SH) addresses carry a double-SHA-256 checksum: random words fail it.
fn valid_base58check(s: &str) -> bool {
    let Some(b) = base58_decode(s) else { return false };
    if b.len() != 25 {
        return false;
    }
    let check = Sha256::digest(Sha256::digest(&b[..21]));
    check[..4] == b[21..]
}

/// Bech32 / Bech32m checksum (BIP 173 / BIP 350).
fn valid_bech32(s: &str) -> bool {
    const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let s = s.to_ascii_lowercase();
    let Some((hrp, data)) = s.rsplit_once('1') else { return false };
    let mut values = Vec::with_capacity(hrp.len() * 2 + 1 + data.len());
    values.extend(hrp.bytes().map(|b| b >> 5));
    values.push(0);
    values.extend(hrp.bytes().map(|b| b & 31));
    for c in data.bytes() {
        match CHARSET.iter().position(|&x| x == c) {
            Some(p) => values.push(p as u8),
            None => return false,
        }
    }
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = (chk & 0x1ff_ffff) << 5 ^ v as u32;
        for (i, g) in [0x3b6a57b2u32, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3].iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk == 1 || chk == 0x2bc830a3
}

/// Extract every indicator from already normalised text. `use_lists: false` disables the
/// warning lists (for comparisons with tools that have none).
pub fn extract(text: &str, use_lists: bool) -> Extraction {
    let p = patterns();
    let mut out = Extraction::default();
    let bytes = text.as_bytes();

    for m in p.url.find_iter(text) {
        let u = trim_url(m.as_str());
        let host = url_host(u);
        if host.is_empty() {
            continue;
        }
        let benign = if let Ok(ip) = host.parse::<IpAddr>() {
            let b = lists().ip(ip).filter(|_| use_lists);
            out.classify_ip(
                if ip.is_ipv4() { IndicatorType::Ipv4 } else { IndicatorType::Ipv6 },
                ip,
                host.to_owned(),
                use_lists,
            );
            b
        } else {
            add_domain(&mut out, host, use_lists);
            lists().domain(&ascii_punycode(&canonical_domain(host)).unwrap_or_default()).filter(|_| use_lists)
        };
        match benign {
            Some(b) => out.add_context(IndicatorType::Url, u.to_owned(), b),
            None => out.indicators.add(IndicatorType::Url, u.to_owned()),
        }
    }
    // Most patterns only ever match inside a run of ASCII non-space bytes, and Japanese text is
    // mostly not that: scanning such runs first keeps extraction linear and fast (see
    // benches/extract.rs) instead of running every pattern over every byte.
    for (s, e) in candidate_regions(bytes) {
        region_indicators(text, s, e, &mut out, use_lists);
    }
    if !text.is_ascii() {
        idn_domains(text, &mut out, use_lists);
    }
    // Patterns with a literal start (the regex engine finds those quickly) or spanning spaces.
    for c in p.cve.captures_iter(text) {
        out.indicators.add(IndicatorType::Cve, format!("CVE-{}-{}", &c[1], &c[2]));
    }
    for c in p.port.captures_iter(text) {
        if let Some(port) = c.get(1).and_then(|d| d.as_str().parse::<u16>().ok()) {
            add_port(&mut out, port);
        }
    }
    for m in p.registry.find_iter(text) {
        out.indicators.add(IndicatorType::Registry, m.as_str().trim_end_matches(['.', ')', ']']).to_owned());
    }
    out
}

/// Maximal runs of ASCII graphic bytes (brackets, quotes and separators excluded) that could
/// hold an indicator: with a dot, @ or colon, long enough for a hash or coin address, or a
/// short number (a port when followed by 番 or /tcp).
fn candidate_regions(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let in_region = |b: u8| {
        b.is_ascii_graphic()
            && !matches!(b, b'"' | b'\'' | b'<' | b'>' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b',' | b';' | b'`')
    };
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            while i < bytes.len() && !in_region(bytes[i]) {
                i += 1;
            }
            let start = i;
            let (mut special, mut digits) = (false, true);
            while i < bytes.len() && in_region(bytes[i]) {
                special |= matches!(bytes[i], b'.' | b'@' | b':' | b'/');
                digits &= bytes[i].is_ascii_digit();
                i += 1;
            }
            let len = i - start;
            if len > 0 && (special || len >= 25 || (digits && len <= 5)) {
                return Some((start, i));
            }
        }
        None
    })
}

/// The region patterns, on `text[s..e]`, with boundary checks against the whole text.
fn region_indicators(text: &str, s: usize, e: usize, out: &mut Extraction, use_lists: bool) {
    let p = patterns();
    let region = &text[s..e];
    let bytes = text.as_bytes();
    let rb = region.as_bytes();
    if rb.iter().all(u8::is_ascii_digit) {
        // 3306番, 3306 番ポート
        if text[e..].trim_start_matches(' ').starts_with('番')
            && let Ok(port) = region.parse::<u16>()
        {
            add_port(out, port);
        }
        return;
    }
    if let Some(c) = p.port_suffix.captures(region)
        && let Ok(port) = c[1].parse::<u16>()
    {
        add_port(out, port);
    }
    let has = |b: u8| rb.contains(&b);
    if has(b'@') {
        for m in p.email.find_iter(region) {
            let em = m.as_str().to_lowercase();
            let domain = em.rsplit('@').next().unwrap_or("");
            if !valid_domain(domain) {
                continue;
            }
            match lists().domain(domain).filter(|_| use_lists) {
                Some(b) => out.add_context(IndicatorType::Email, em, b),
                None => out.indicators.add(IndicatorType::Email, em),
            }
        }
    }
    if has(b'.') {
        for m in p.ipv4.find_iter(region) {
            let (ms, me) = (s + m.start(), s + m.end());
            // Not part of a longer dotted number (a version string like 1.2.3.4.5).
            let before = text[..ms].bytes().next_back();
            let after = &bytes[me..];
            if before == Some(b'.') || (after.first() == Some(&b'.') && after.get(1).is_some_and(u8::is_ascii_digit)) {
                continue;
            }
            let Ok(ip) = m.as_str().parse::<Ipv4Addr>() else { continue };
            out.classify_ip(IndicatorType::Ipv4, IpAddr::V4(ip), m.as_str().to_owned(), use_lists);
            // 192.0.2.1:3389 — the port is worth knowing.
            if after.first() == Some(&b':') {
                let digits: String = text[me + 1..].chars().take_while(char::is_ascii_digit).collect();
                if let Ok(port) = digits.parse::<u16>() {
                    add_port(out, port);
                }
            }
        }
        for m in p.domain.find_iter(region) {
            // An e-mail's local part is not a domain; the part after @ is matched on its own.
            if text[..s + m.start()].ends_with(['@', '.', '-']) {
                continue;
            }
            add_domain(out, m.as_str(), use_lists);
        }
        for m in p.filename.find_iter(region) {
            out.indicators.add(IndicatorType::Filename, m.as_str().to_owned());
        }
    }
    if rb.iter().filter(|b| **b == b':').count() >= 2 {
        for m in p.ipv6.find_iter(region) {
            let v = m.as_str();
            if v.matches(':').count() < 2 || !(v.contains("::") || v.matches(':').count() == 7) {
                continue;
            }
            let Ok(ip) = v.parse::<Ipv6Addr>() else { continue };
            if ip.is_unspecified() || ip.to_ipv4_mapped().is_some() {
                continue;
            }
            out.classify_ip(IndicatorType::Ipv6, IpAddr::V6(ip), v.to_lowercase(), use_lists);
        }
    }
    if region.len() >= 26 {
        for m in p.hash.find_iter(region) {
            let t = match m.len() {
                32 => IndicatorType::Md5,
                40 => IndicatorType::Sha1,
                64 => IndicatorType::Sha256,
                _ => continue,
            };
            out.indicators.add(t, m.as_str().to_lowercase());
        }
        for m in p.btc.find_iter(region) {
            let v = m.as_str();
            if if v.starts_with("bc1") { valid_bech32(v) } else { valid_base58check(v) } {
                out.indicators.add(IndicatorType::Btc, v.to_owned());
            }
        }
        if region.len() >= 95 {
            for m in p.xmr.find_iter(region) {
                out.indicators.add(IndicatorType::Xmr, m.as_str().to_owned());
            }
        }
    }
}

fn add_port(out: &mut Extraction, port: u16) {
    // "10番" is usually not a port: only numbers with a known service, or above 1023, count.
    match lists().service(port) {
        Some(s) => out.indicators.add(IndicatorType::Port, format!("{port}/{s}")),
        None if port > 1023 => out.indicators.add(IndicatorType::Port, port.to_string()),
        None => {}
    }
}

/// Bare internationalised domains (例え.jp, 日本語.テスト): label runs with non-ASCII letters
/// around a dot. Only validated ones (public suffix list) are kept.
fn idn_domains(text: &str, out: &mut Extraction, use_lists: bool) {
    let is_label = |c: char| c.is_alphanumeric() || c == '-';
    for (i, _) in text.match_indices('.') {
        let before = &text[..i];
        // Only a dot right after a non-ASCII letter can start an IDN the region scan missed.
        if !before.chars().next_back().is_some_and(|c| !c.is_ascii() && c.is_alphanumeric()) {
            continue;
        }
        // Labels are at most 63 characters: never scan further back or ahead than that.
        let start = before
            .char_indices()
            .rev()
            .take(64)
            .take_while(|(_, c)| is_label(*c) || *c == '.')
            .last()
            .map(|(j, _)| j)
            .unwrap_or(i);
        let after = &text[i + 1..];
        let end = after
            .char_indices()
            .take(64)
            .find(|(_, c)| !(is_label(*c) || *c == '.'))
            .map(|(j, _)| j)
            .unwrap_or(after.len().min(after.char_indices().nth(64).map(|(j, _)| j).unwrap_or(after.len())));
        let cand = text[start..i + 1 + end].trim_matches('.');
        if cand.is_ascii() || !cand.contains('.') || text[..start].ends_with(['@', '/']) {
            continue;
        }
        // Japanese prose around an ASCII domain (攻撃元はevil.jpでした) must not glue onto it.
        let labels: Vec<&str> = cand.split('.').collect();
        if labels.iter().any(|l| l.is_empty()) {
            continue;
        }
        let tld = labels[labels.len() - 1];
        let first = labels[0];
        if tld.is_ascii() && !first.is_ascii() && first.chars().any(|c| c.is_ascii()) {
            continue;
        }
        add_domain(out, cand, use_lists);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::normalise;
    use IndicatorType::*;

    fn ex(text: &str) -> Extraction {
        extract(&normalise(text), true)
    }

    #[test]
    fn addresses_urls_and_domains() {
        let e =
            ex("攻撃元は 45.33.32.156 と hxxp://evil-site[.]top/dl/a.exe?x=1). 内部は 192.168.1.10、例示は 192.0.2.1");
        assert_eq!(e.indicators.get(Ipv4), ["45.33.32.156"]);
        assert_eq!(e.indicators.get(Url), ["http://evil-site.top/dl/a.exe?x=1"]);
        assert_eq!(e.indicators.get(Domain), ["evil-site.top"]);
        assert_eq!(e.internal.get(Ipv4), ["192.168.1.10"]);
        assert!(e.context.iter().any(|(t, v, b)| *t == Ipv4 && v == "192.0.2.1" && *b == Benign::Documentation));
        assert!(e.indicators.get(Filename).contains(&"a.exe".to_owned()));
    }

    #[test]
    fn versions_and_prose_numbers_are_not_addresses() {
        let e = ex("バージョン 1.2.3.4.5 を使用。0.03 ビットコイン。2019/8/14、10,000件。");
        assert!(e.indicators.get(Ipv4).is_empty(), "{e:?}");
        assert!(e.indicators.is_empty(), "{e:?}");
    }

    #[test]
    fn email_hashes_cves_and_coins() {
        let e = ex("連絡先 attacker[at]protonmail.com, md5 d41d8cd98f00b204e9800998ecf8427e, \
                    CVE-2019-11043 / cve-2021-44228, BTC 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 と bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq");
        assert_eq!(e.indicators.get(Email), ["attacker@protonmail.com"]);
        assert_eq!(e.indicators.get(Md5), ["d41d8cd98f00b204e9800998ecf8427e"]);
        assert_eq!(e.indicators.get(Cve), ["CVE-2019-11043", "CVE-2021-44228"]);
        assert_eq!(
            e.indicators.get(Btc),
            ["1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"]
        );
        // A base58-looking word with a wrong checksum is not an address.
        assert!(ex("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3").indicators.get(Btc).is_empty());
    }

    #[test]
    fn ports_with_services() {
        let e = ex("MySQL サーバのポート 3306 番、RDP (3389/tcp)、TCP 445、ssh port 22、203.0.113.9:8081");
        let mut ports = e.indicators.get(Port).to_vec();
        ports.sort();
        assert_eq!(ports, ["22/ssh", "3306/mysql", "3389/rdp", "445/smb", "8081"]);
    }

    #[test]
    fn idn_and_punycode_domains() {
        let e = ex("偽サイト http://例え.jp/login と xn--r8jz45g.jp と ドメイン名.jp");
        assert!(e.indicators.get(Domain).contains(&"例え.jp".to_owned()), "{e:?}");
        assert!(e.indicators.get(Domain).contains(&"ドメイン名.jp".to_owned()), "{e:?}");
    }

    #[test]
    fn benign_domains_are_context() {
        let e = ex("https://www.ipa.go.jp/security/ と example.com と evil.example.net");
        assert!(e.indicators.get(Domain).is_empty(), "{e:?}");
        assert!(e.context.iter().any(|(t, v, b)| *t == Domain && v == "www.ipa.go.jp" && *b == Benign::Scheme));
    }

    #[test]
    fn registry_keys_and_ipv6() {
        let e = ex(r"HKLM\Software\Microsoft\Windows\CurrentVersion\Run に登録。接続元 2400:4050:a1b2::15 と fe80::1");
        assert_eq!(e.indicators.get(Registry), [r"HKLM\Software\Microsoft\Windows\CurrentVersion\Run"]);
        assert_eq!(e.indicators.get(Ipv6), ["2400:4050:a1b2::15"]);
        assert_eq!(e.internal.get(Ipv6), ["fe80::1"]);
        assert!(ex("時刻 10:00:00 に").indicators.is_empty());
    }
}
