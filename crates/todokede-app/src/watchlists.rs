//! Analysts' indicator lists (issue 18, item 5): STIX 2.1 bundles and MISP events, attribute
//! lists or static feeds read into `watch` lists (known bad: a report that names one of their
//! values gets a visible hit) or `warning` lists (known benign or noise: such a value links no
//! reports, like the built-in warning lists). Values are normalised as the indicator extractor
//! writes them, so they match the index (`todokede_store::Store::import_watchlist` does the
//! matching, in SQL, over every indexed report).
//!
//! What a file holds that cannot be a list entry is counted and said (a pattern with AND or
//! MATCHES, an x509 certificate, an IPv6 range), never dropped silently; a file that is not a
//! STIX bundle or MISP JSON at all refuses the whole import before anything is stored.

use crate::AppError;
use serde_json::Value;
use std::net::{Ipv4Addr, Ipv6Addr};
use time::OffsetDateTime;
use todokede_domain::UserId;
use todokede_store::{NewWatchlistEntry, Store, WatchlistImport, WatchlistImported, WatchlistKind};

/// The formats a list is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Stix,
    Misp,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stix" | "stix2" | "stix2.1" => Some(Format::Stix),
            "misp" => Some(Format::Misp),
            _ => None,
        }
    }
}

/// Why something in a file did not become an entry, in Japanese and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    /// The STIX object id or MISP attribute uuid (else its position).
    pub id: String,
    /// What it was (the pattern, the attribute's type and value), shortened.
    pub what: String,
    pub ja: String,
    pub en: String,
}

/// What one file gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub entries: Vec<NewWatchlistEntry>,
    pub unusable: Vec<Unusable>,
}

fn unusable(id: &str, what: &str, ja: &str, en: &str) -> Unusable {
    let what: String = what.chars().take(160).collect();
    Unusable { id: id.to_owned(), what, ja: ja.to_owned(), en: en.to_owned() }
}

/// A value of `kind` as the extractor writes it: (entry kind, value), or why not.
fn normalise(kind: &str, raw: &str) -> Result<(&'static str, String), (&'static str, &'static str)> {
    let v = raw.trim();
    let hex = |n: usize| v.len() == n && v.chars().all(|c| c.is_ascii_hexdigit());
    match kind {
        "ipv4" => {
            if let Some((addr, bits)) = v.split_once('/') {
                let (Ok(a), Ok(bits)) = (addr.parse::<Ipv4Addr>(), bits.parse::<u32>()) else {
                    return Err(("IPv4 アドレスとして読めません", "not an IPv4 address"));
                };
                if bits > 32 {
                    return Err(("IPv4 アドレスとして読めません", "not an IPv4 address"));
                }
                if bits == 32 {
                    return Ok(("ipv4", a.to_string()));
                }
                let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
                return Ok(("cidr", format!("{}/{bits}", Ipv4Addr::from(u32::from(a) & mask))));
            }
            v.parse::<Ipv4Addr>()
                .map(|a| ("ipv4", a.to_string()))
                .map_err(|_| ("IPv4 アドレスとして読めません", "not an IPv4 address"))
        }
        "ipv6" => match v.split_once('/') {
            Some((a, "128")) => a
                .parse::<Ipv6Addr>()
                .map(|a| ("ipv6", a.to_string()))
                .map_err(|_| ("IPv6 アドレスとして読めません", "not an IPv6 address")),
            Some(_) => Err(("IPv6 の範囲（CIDR）は照合できません", "IPv6 ranges (CIDR) are not matched")),
            None => v
                .parse::<Ipv6Addr>()
                .map(|a| ("ipv6", a.to_string()))
                .map_err(|_| ("IPv6 アドレスとして読めません", "not an IPv6 address")),
        },
        "domain" => todokede_analyse::indicators::canonical_domain_indicator(v).map(|d| ("domain", d)).ok_or((
            "ドメイン名として読めません（公開接尾辞がありません）",
            "not a domain name (no known public suffix)",
        )),
        "url" => {
            if v.contains("://") && !v.contains(char::is_whitespace) {
                Ok(("url", v.to_owned()))
            } else {
                Err(("URL として読めません", "not a URL"))
            }
        }
        "email" => {
            let v = v.to_lowercase();
            match v.rsplit_once('@') {
                Some((local, domain)) if !local.is_empty() && domain.contains('.') => Ok(("email", v)),
                _ => Err(("メールアドレスとして読めません", "not an e-mail address")),
            }
        }
        "md5" if hex(32) => Ok(("md5", v.to_ascii_lowercase())),
        "sha1" if hex(40) => Ok(("sha1", v.to_ascii_lowercase())),
        "sha256" if hex(64) => Ok(("sha256", v.to_ascii_lowercase())),
        "md5" | "sha1" | "sha256" => Err(("ハッシュ値の長さまたは文字が不正です", "not a hash of that length")),
        _ => Err(("この種類の値は照合できません", "this kind of value is not matched")),
    }
}

fn push(out: &mut Parsed, id: &str, kind: &str, raw: &str, valid_until: Option<OffsetDateTime>) {
    match normalise(kind, raw) {
        Ok((kind, value)) => {
            out.entries.push(NewWatchlistEntry { kind: kind.to_owned(), value, source_id: id.to_owned(), valid_until })
        }
        Err((ja, en)) => out.unusable.push(unusable(id, &format!("{kind} {raw}"), ja, en)),
    }
}

// ── STIX 2.1 ────────────────────────────────────────────────────────────────────────────

/// The entry kind of a STIX object path (`ipv4-addr:value`, `file:hashes.'SHA-256'`).
fn stix_path_kind(path: &str) -> Option<&'static str> {
    let path = path.trim();
    let (object, property) = path.split_once(':')?;
    match (object.trim(), property.trim()) {
        ("ipv4-addr", "value") => Some("ipv4"),
        ("ipv6-addr", "value") => Some("ipv6"),
        ("domain-name", "value") => Some("domain"),
        ("url", "value") => Some("url"),
        ("email-addr", "value") => Some("email"),
        ("file", p) => {
            let algo = p.strip_prefix("hashes.")?.trim_matches(['\'', '"']);
            hash_kind(algo)
        }
        _ => None,
    }
}

/// md5, sha1, sha256 by the names STIX and its producers use (`MD5`, `'SHA-1'`, `sha256`).
fn hash_kind(algo: &str) -> Option<&'static str> {
    match algo.to_ascii_uppercase().replace(['-', '_'], "").as_str() {
        "MD5" => Some("md5"),
        "SHA1" => Some("sha1"),
        "SHA256" => Some("sha256"),
        _ => None,
    }
}

/// The comparisons of a simple STIX pattern: `[path = 'v'] OR [path = 'v' OR path = 'w'] …`,
/// or `None` for anything else (AND, FOLLOWEDBY, MATCHES, IN, LIKE, qualifiers, ≠).
fn simple_pattern(pattern: &str) -> Option<Vec<(String, String)>> {
    let mut out = vec![];
    let mut rest = pattern.trim();
    loop {
        rest = rest.strip_prefix('[')?;
        // One observation expression: comparisons joined by OR, up to its closing bracket.
        loop {
            let (path, after) = rest.split_once('=')?;
            if path.contains(['!', '<', '>', '(', ')']) || path.split_whitespace().count() != 1 {
                return None;
            }
            let after = after.trim_start().strip_prefix('\'')?;
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next()? {
                    (_, '\\') => value.push(chars.next()?.1),
                    (i, '\'') => break i,
                    (_, c) => value.push(c),
                }
            };
            out.push((path.trim().to_owned(), value));
            rest = after[end + 1..].trim_start();
            if let Some(r) = rest.strip_prefix("OR ") {
                rest = r.trim_start();
                continue;
            }
            rest = rest.strip_prefix(']')?.trim_start();
            break;
        }
        if rest.is_empty() {
            return Some(out);
        }
        rest = rest.strip_prefix("OR ")?.trim_start();
    }
}

fn stix_time(v: Option<&Value>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(v?.as_str()?, &time::format_description::well_known::Rfc3339).ok()
}

fn stix(bundle: &Value) -> Result<Parsed, (String, String)> {
    let objects = match bundle.get("objects") {
        Some(Value::Array(a)) => a,
        None if bundle.get("type").and_then(Value::as_str) == Some("bundle") => return Ok(Parsed::default()),
        _ => return Err(("STIX バンドルに objects がありません".into(), "the STIX bundle has no objects".into())),
    };
    let mut out = Parsed::default();
    for (n, o) in objects.iter().enumerate() {
        let kind = o.get("type").and_then(Value::as_str).unwrap_or("");
        let id = o.get("id").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| format!("#{}", n + 1));
        match kind {
            "indicator" => {
                let pattern = o.get("pattern").and_then(Value::as_str).unwrap_or("");
                if o.get("revoked").and_then(Value::as_bool) == Some(true) {
                    out.unusable.push(unusable(&id, pattern, "取り消された指標です", "the indicator is revoked"));
                    continue;
                }
                let pattern_type = o.get("pattern_type").and_then(Value::as_str).unwrap_or("stix");
                if pattern_type != "stix" {
                    out.unusable.push(unusable(
                        &id,
                        pattern,
                        "STIX 以外のパターン（Sigma、YARA など）は照合できません",
                        "patterns other than STIX (Sigma, YARA, …) are not matched",
                    ));
                    continue;
                }
                let valid_until = stix_time(o.get("valid_until"));
                let comparisons = simple_pattern(pattern);
                let kinds: Option<Vec<(&str, String)>> =
                    comparisons.and_then(|c| c.into_iter().map(|(p, v)| Some((stix_path_kind(&p)?, v))).collect());
                match kinds {
                    Some(values) if !values.is_empty() => {
                        for (kind, v) in values {
                            push(&mut out, &id, kind, &v, valid_until);
                        }
                    }
                    _ => out.unusable.push(unusable(
                        &id,
                        pattern,
                        "単純な比較（[ipv4-addr:value = '…'] とその OR）以外のパターンは照合できません",
                        "only simple comparisons ([ipv4-addr:value = '…'] and ORs of them) are matched",
                    )),
                }
            }
            "ipv4-addr" | "ipv6-addr" | "domain-name" | "url" | "email-addr" => {
                let entry_kind = match kind {
                    "ipv4-addr" => "ipv4",
                    "ipv6-addr" => "ipv6",
                    "domain-name" => "domain",
                    "url" => "url",
                    _ => "email",
                };
                match o.get("value").and_then(Value::as_str) {
                    Some(v) => push(&mut out, &id, entry_kind, v, None),
                    None => out.unusable.push(unusable(&id, kind, "value がありません", "it has no value")),
                }
            }
            "file" => {
                let mut any = false;
                if let Some(Value::Object(hashes)) = o.get("hashes") {
                    for (algo, v) in hashes {
                        if let (Some(k), Some(v)) = (hash_kind(algo), v.as_str()) {
                            push(&mut out, &id, k, v, None);
                            any = true;
                        }
                    }
                }
                if !any {
                    out.unusable.push(unusable(
                        &id,
                        "file",
                        "MD5・SHA-1・SHA-256 のハッシュ値がありません",
                        "it has no MD5, SHA-1 or SHA-256 hash",
                    ));
                }
            }
            // Other observables carry values we cannot match; say so.
            "mac-addr"
            | "autonomous-system"
            | "x509-certificate"
            | "email-message"
            | "network-traffic"
            | "process"
            | "windows-registry-key"
            | "mutex"
            | "software"
            | "user-account"
            | "directory"
            | "artifact" => out.unusable.push(unusable(
                &id,
                kind,
                "この種類の観測対象は照合できません",
                "this kind of observable is not matched",
            )),
            // Identities, reports, relationships, markings, malware …: not values.
            _ => {}
        }
    }
    Ok(out)
}

// ── MISP ────────────────────────────────────────────────────────────────────────────────

/// The entry kinds of a MISP attribute type and the part of its value each takes
/// (`ip-dst|port` → the address; `domain|ip` → both).
fn misp_kinds(t: &str) -> Option<&'static [(&'static str, usize)]> {
    Some(match t {
        "ip-src" | "ip-dst" | "ip-src|port" | "ip-dst|port" => &[("ip", 0)],
        "domain" | "hostname" | "hostname|port" => &[("domain", 0)],
        "domain|ip" => &[("domain", 0), ("ip", 1)],
        "url" | "link" => &[("url", 0)],
        "email" | "email-src" | "email-dst" | "email-reply-to" => &[("email", 0)],
        "md5" | "sha1" | "sha256" => match t {
            "md5" => &[("md5", 0)],
            "sha1" => &[("sha1", 0)],
            _ => &[("sha256", 0)],
        },
        "filename|md5" | "malware-sample" => &[("md5", 1)],
        "filename|sha1" => &[("sha1", 1)],
        "filename|sha256" => &[("sha256", 1)],
        _ => return None,
    })
}

fn misp_attribute(out: &mut Parsed, a: &Value, n: usize) {
    let t = a.get("type").and_then(Value::as_str).unwrap_or("");
    let value = a.get("value").and_then(Value::as_str).unwrap_or("");
    let id = a.get("uuid").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| format!("#{n}"));
    if a.get("deleted").is_some_and(|d| d.as_bool() == Some(true) || d.as_str() == Some("1")) {
        return; // deleted in MISP: not part of the event any more
    }
    // Free text about the event, not a value to match.
    if matches!(t, "comment" | "text" | "other") {
        return;
    }
    let Some(kinds) = misp_kinds(t) else {
        out.unusable.push(unusable(
            &id,
            &format!("{t} {value}"),
            "この種類の属性は照合できません",
            "this attribute type is not matched",
        ));
        return;
    };
    let parts: Vec<&str> = value.split('|').collect();
    for (kind, i) in kinds {
        let Some(part) = parts.get(*i) else {
            out.unusable.push(unusable(
                &id,
                &format!("{t} {value}"),
                "値が型と合いません",
                "the value does not fit its type",
            ));
            continue;
        };
        let kind = match *kind {
            "ip" if part.contains(':') && !part.contains('.') => "ipv6",
            "ip" => "ipv4",
            k => k,
        };
        push(out, &id, kind, part, None);
    }
}

fn misp_event(out: &mut Parsed, event: &Value, n: &mut usize) -> Result<(), (String, String)> {
    let event = event.get("Event").unwrap_or(event);
    let attrs = event.get("Attribute").map(Value::as_array);
    let objects = event.get("Object").map(Value::as_array);
    if attrs.is_none() && objects.is_none() {
        return Err((
            "MISP イベントに Attribute も Object もありません".into(),
            "the MISP event has no Attribute or Object".into(),
        ));
    }
    for a in attrs.flatten().into_iter().flatten() {
        *n += 1;
        misp_attribute(out, a, *n);
    }
    for o in objects.flatten().into_iter().flatten() {
        for a in o.get("Attribute").and_then(Value::as_array).into_iter().flatten() {
            *n += 1;
            misp_attribute(out, a, *n);
        }
    }
    Ok(())
}

fn misp(v: &Value) -> Result<Parsed, (String, String)> {
    let mut out = Parsed::default();
    let mut n = 0;
    match v {
        Value::Object(m) if m.contains_key("Event") => misp_event(&mut out, v, &mut n)?,
        // `restSearch` answers: {"response": [{"Event": …}, …]} or {"response": {"Attribute": […]}}.
        Value::Object(m) if m.contains_key("response") => match &m["response"] {
            Value::Array(events) => {
                for e in events {
                    misp_event(&mut out, e, &mut n)?;
                }
            }
            r => misp_event(&mut out, r, &mut n)?,
        },
        Value::Object(m) if m.contains_key("Attribute") => misp_event(&mut out, v, &mut n)?,
        Value::Array(items) if items.iter().all(|a| a.get("type").is_some() && a.get("value").is_some()) => {
            for a in items {
                n += 1;
                misp_attribute(&mut out, a, n);
            }
        }
        _ => {
            return Err((
                "MISP のイベント（{\"Event\": …}）か属性の配列ではありません".into(),
                "not a MISP event ({\"Event\": …}) or a list of attributes".into(),
            ));
        }
    }
    Ok(out)
}

/// Read one file's bytes as a list; `format` None: told apart by the content (a STIX bundle
/// has `"type": "bundle"`). An error says, in Japanese and English, why the file is refused.
pub fn parse(format: Option<Format>, bytes: &[u8]) -> Result<Parsed, AppError> {
    let refused = |ja: &str, en: &str| AppError::refused(ja, en);
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| refused(&format!("JSON として読めません（{e}）"), &format!("not JSON ({e})")))?;
    let is_bundle = v.get("type").and_then(Value::as_str) == Some("bundle");
    let format = match format {
        Some(f) => f,
        None if is_bundle => Format::Stix,
        None => Format::Misp,
    };
    let result = match format {
        Format::Stix if !is_bundle => {
            return Err(refused(
                "STIX 2.1 バンドル（\"type\": \"bundle\"）ではありません",
                "not a STIX 2.1 bundle (\"type\": \"bundle\")",
            ));
        }
        Format::Stix => stix(&v),
        Format::Misp => misp(&v),
    };
    let mut parsed = result.map_err(|(ja, en)| refused(&ja, &en))?;
    // The same value twice in one file (an indicator and its SCO) is one entry: the first source.
    let mut seen = std::collections::BTreeSet::new();
    parsed.entries.retain(|e| seen.insert((e.kind.clone(), e.value.clone())));
    Ok(parsed)
}

/// A file or a static MISP feed directory (its `manifest.json` names the event files): the
/// source name stored with its entries (the file or directory name) and what it gave.
pub fn read_source(path: &std::path::Path, format: Option<Format>) -> Result<(String, Parsed), AppError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
    let io = |p: &std::path::Path, e: std::io::Error| {
        AppError::refused(format!("{} を読めません: {e}", p.display()), format!("cannot read {}: {e}", p.display()))
    };
    if !path.is_dir() {
        let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
        return Ok((name, parse(format, &bytes)?));
    }
    if format == Some(Format::Stix) {
        return Err(AppError::refused(
            "ディレクトリは MISP の静的フィード（manifest.json）として読みます",
            "a directory is read as a static MISP feed (manifest.json)",
        ));
    }
    let manifest_path = path.join("manifest.json");
    let manifest: Value = serde_json::from_slice(&std::fs::read(&manifest_path).map_err(|e| io(&manifest_path, e))?)
        .map_err(|e| {
            AppError::refused(
                format!("manifest.json が JSON ではありません（{e}）"),
                format!("manifest.json is not JSON ({e})"),
            )
        })?;
    let Value::Object(events) = manifest else {
        return Err(AppError::refused(
            "manifest.json がイベントの一覧ではありません",
            "manifest.json is not a map of events",
        ));
    };
    let mut all = Parsed::default();
    for uuid in events.keys() {
        if !uuid.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(AppError::refused(
                format!("manifest.json の不正なイベント名: {uuid}"),
                format!("a bad event name in manifest.json: {uuid}"),
            ));
        }
        let file = path.join(format!("{uuid}.json"));
        let bytes = std::fs::read(&file).map_err(|e| io(&file, e))?;
        let p = parse(Some(Format::Misp), &bytes).map_err(|e| match e {
            AppError::Refused { ja, en } => {
                AppError::refused(format!("{uuid}.json: {ja}"), format!("{uuid}.json: {en}"))
            }
            e => e,
        })?;
        all.entries.extend(p.entries);
        all.unusable.extend(p.unusable);
    }
    let mut seen = std::collections::BTreeSet::new();
    all.entries.retain(|e| seen.insert((e.kind.clone(), e.value.clone())));
    Ok((name, all))
}

/// A list's name: what the CLI and the page name it by.
pub fn check_name(name: &str) -> Result<String, AppError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 || n.chars().any(|c| c.is_control() || c == '/') {
        return Err(AppError::refused(
            "リスト名は 1〜100 文字で、/ や制御文字を含められません",
            "a list's name is 1 to 100 characters without / or control characters",
        ));
    }
    Ok(n.to_owned())
}

/// The TLP 2.0 levels a list may be marked with.
pub fn check_tlp(tlp: &str) -> Result<String, AppError> {
    let t = tlp.trim().to_ascii_lowercase();
    let t = t.strip_prefix("tlp:").unwrap_or(&t).to_owned();
    match t.as_str() {
        "clear" | "white" => Ok("clear".into()),
        "green" | "amber" | "amber+strict" | "red" => Ok(t),
        _ => Err(AppError::refused(
            format!("TLP は clear・green・amber・amber+strict・red のいずれかです（{tlp}）"),
            format!("TLP is one of clear, green, amber, amber+strict, red (not {tlp})"),
        )),
    }
}

/// What an import asks for: the list and its parsed sources (every file read first, so a bad
/// one stores nothing).
pub struct ImportRequest {
    pub name: String,
    pub kind: WatchlistKind,
    pub description: Option<String>,
    pub tlp: Option<String>,
    pub sources: Vec<(String, Parsed)>,
}

/// Store an import (each source's entries replace the same source's before) and match the
/// list against every indexed report. A list of the other kind is refused.
pub async fn import(store: &Store, req: ImportRequest, by: Option<UserId>) -> Result<WatchlistImported, AppError> {
    let name = check_name(&req.name)?;
    let tlp = req.tlp.as_deref().filter(|t| !t.trim().is_empty()).map(check_tlp).transpose()?;
    if let Some(existing) = store.watchlist(&name).await?
        && existing.kind != req.kind
    {
        return Err(AppError::refused(
            format!(
                "リスト「{name}」は{}です（種類は変えられません）",
                todokede_domain::ClosedEnum::label_ja(existing.kind)
            ),
            format!(
                "the list “{name}” is a {} (its kind cannot change)",
                todokede_domain::ClosedEnum::label_en(existing.kind)
            ),
        ));
    }
    let import = WatchlistImport {
        name,
        kind: req.kind,
        description: req.description.map(|d| d.trim().to_owned()),
        tlp,
        sources: req.sources.into_iter().map(|(file, p)| (file, p.entries)).collect(),
    };
    Ok(store.import_watchlist(&import, by).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_patterns_are_read_and_others_are_not() {
        assert_eq!(
            simple_pattern("[ipv4-addr:value = '198.51.100.1'] OR [domain-name:value = 'evil.example']"),
            Some(vec![
                ("ipv4-addr:value".into(), "198.51.100.1".into()),
                ("domain-name:value".into(), "evil.example".into())
            ])
        );
        assert_eq!(
            simple_pattern("[ file:hashes.'SHA-256' = 'ab' OR file:hashes.MD5 = 'c\\'d' ]"),
            Some(vec![("file:hashes.'SHA-256'".into(), "ab".into()), ("file:hashes.MD5".into(), "c'd".into())])
        );
        assert_eq!(simple_pattern("[x509-certificate:issuer = 'CN=A' AND x509-certificate:serial_number = '1']"), None);
        assert_eq!(simple_pattern("[email-message:subject MATCHES '^x']"), None);
        assert_eq!(simple_pattern("[ipv4-addr:value != '1.2.3.4']"), None);
        assert_eq!(simple_pattern("[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '1.2.3.5']"), None);
        assert_eq!(stix_path_kind("file:hashes.'SHA-256'"), Some("sha256"));
        assert_eq!(stix_path_kind("file:hashes.md5"), Some("md5"));
        assert_eq!(stix_path_kind("file:name"), None);
    }

    fn values(p: &Parsed) -> Vec<(String, String, String)> {
        p.entries.iter().map(|e| (e.kind.clone(), e.value.clone(), e.source_id.clone())).collect()
    }

    #[test]
    fn stix_indicators_and_observables_become_entries_and_the_rest_is_said() {
        let bundle = serde_json::json!({"type": "bundle", "id": "bundle--1", "objects": [
            {"type": "indicator", "id": "indicator--a", "pattern_type": "stix", "valid_until": "2030-01-01T00:00:00Z",
             "pattern": "[ipv4-addr:value = '198.51.100.7'] OR [file:hashes.'SHA-256' = 'AB' OR url:value = 'http://x.example/a']"},
            {"type": "indicator", "id": "indicator--b", "pattern_type": "sigma", "pattern": "title: x"},
            {"type": "indicator", "id": "indicator--c", "pattern_type": "stix", "revoked": true, "pattern": "[domain-name:value = 'x.example.com']"},
            {"type": "domain-name", "id": "domain-name--d", "value": "Evil.Example.COM"},
            {"type": "email-addr", "id": "email-addr--e", "value": "Boss@Evil.Example.com"},
            {"type": "file", "id": "file--f", "hashes": {"MD5": "0123456789abcdef0123456789abcdef", "SSDEEP": "3:a:b"}},
            {"type": "mac-addr", "id": "mac-addr--g", "value": "00:00:5e:00:53:af"},
            {"type": "malware", "id": "malware--h", "name": "x", "is_family": false}
        ]});
        let p = parse(None, &serde_json::to_vec(&bundle).unwrap()).unwrap();
        let e = |k: &str, v: &str, id: &str| (k.to_owned(), v.to_owned(), id.to_owned());
        assert_eq!(
            values(&p),
            [
                e("ipv4", "198.51.100.7", "indicator--a"),
                e("url", "http://x.example/a", "indicator--a"),
                e("domain", "evil.example.com", "domain-name--d"),
                e("email", "boss@evil.example.com", "email-addr--e"),
                e("md5", "0123456789abcdef0123456789abcdef", "file--f"),
            ]
        );
        assert!(p.entries[0].valid_until.is_some(), "the indicator's valid_until");
        // The short "hash", Sigma, the revoked indicator, the MAC address: each said, with why.
        let why: Vec<(&str, &str)> = p.unusable.iter().map(|u| (u.id.as_str(), u.en.as_str())).collect();
        assert_eq!(why.len(), 4, "{why:?}");
        assert!(why.iter().any(|(id, en)| *id == "indicator--a" && en.contains("hash")));
        assert!(why.iter().any(|(id, en)| *id == "indicator--b" && en.contains("Sigma")));
        assert!(why.iter().any(|(id, en)| *id == "indicator--c" && en.contains("revoked")));
        assert!(why.iter().any(|(id, _)| *id == "mac-addr--g"));
        assert!(p.unusable.iter().all(|u| !u.ja.is_empty()));
        // Told apart by content; a bundle asked for as MISP is not MISP.
        assert!(matches!(parse(Some(Format::Stix), b"{\"Event\": {}}"), Err(AppError::Refused { .. })));
        assert!(matches!(parse(None, b"not json"), Err(AppError::Refused { .. })));
    }

    #[test]
    fn misp_events_attribute_lists_and_search_answers_are_read() {
        let attributes = serde_json::json!([
            {"uuid": "u1", "type": "ip-dst|port", "value": "203.0.113.9|443"},
            {"uuid": "u2", "type": "domain|ip", "value": "c2.example.net|198.51.100.20"},
            {"uuid": "u3", "type": "filename|sha1", "value": "a.exe|0123456789abcdef0123456789abcdef01234567"},
            {"uuid": "u4", "type": "ip-src", "value": "2001:DB8::1"},
            {"uuid": "u5", "type": "hostname", "value": "Mail.Example.ORG"},
            {"uuid": "u6", "type": "yara", "value": "rule x {}"},
            {"uuid": "u7", "type": "md5", "value": "0123456789abcdef0123456789abcdef", "deleted": true},
            {"uuid": "u8", "type": "comment", "value": "free text"}
        ]);
        let p = parse(Some(Format::Misp), &serde_json::to_vec(&attributes).unwrap()).unwrap();
        let kinds: Vec<(String, String)> = p.entries.iter().map(|e| (e.kind.clone(), e.value.clone())).collect();
        let kv = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            kinds,
            [
                kv("ipv4", "203.0.113.9"),
                kv("domain", "c2.example.net"),
                kv("ipv4", "198.51.100.20"),
                kv("sha1", "0123456789abcdef0123456789abcdef01234567"),
                kv("ipv6", "2001:db8::1"),
                kv("domain", "mail.example.org"),
            ]
        );
        assert_eq!(
            p.unusable.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
            ["u6"],
            "YARA said; deleted, comment not"
        );
        let search = serde_json::json!({"response": [{"Event": {"Attribute": [{"uuid": "a", "type": "url", "value": "http://x.example/"}],
                                         "Object": [{"Attribute": [{"uuid": "b", "type": "sha256", "value": "ab".repeat(32)}]}]}}]});
        let p = parse(None, &serde_json::to_vec(&search).unwrap()).unwrap();
        assert_eq!(p.entries.iter().map(|e| e.source_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(matches!(parse(None, b"[{\"form\": \"virus\"}]"), Err(AppError::Refused { .. })));
    }

    #[test]
    fn values_are_normalised_as_the_extractor_writes_them() {
        assert_eq!(normalise("ipv4", "223.166.0.0/15"), Ok(("cidr", "223.166.0.0/15".into())));
        assert_eq!(normalise("ipv4", "223.167.9.9/15"), Ok(("cidr", "223.166.0.0/15".into())));
        assert_eq!(normalise("ipv4", "203.0.113.9/32"), Ok(("ipv4", "203.0.113.9".into())));
        assert_eq!(normalise("domain", "WWW.Hugesoft.ORG."), Ok(("domain", "www.hugesoft.org".into())));
        assert_eq!(normalise("sha256", &"AB".repeat(32)), Ok(("sha256", "ab".repeat(32))));
        assert!(normalise("ipv6", "2001:db8::/32").is_err());
        assert!(normalise("md5", "abc").is_err());
    }
}
