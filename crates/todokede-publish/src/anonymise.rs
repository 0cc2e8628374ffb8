//! The anonymiser: every text that may be published passes through it. It replaces what could
//! identify a reporter or victim — names of people and organisations, e-mail addresses, phone
//! numbers, postal addresses, the victim's domains and hosts, IP addresses, URLs, account names,
//! identifying amounts — with the neutral wording the seeds use (届出者（企業）, 当該サーバ,
//! 特定の IP アドレス), and lists every replacement for the analyst's review. Values the analyst
//! chose to keep (an attacker's public indicator) pass unchanged.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// What the report itself says about its reporter: replaced wherever it appears.
#[derive(Debug, Clone, Default)]
pub struct KnownIdentifiers {
    /// 届出者（企業） etc.: how the reporter is referred to.
    pub reporter_label: String,
    pub person_names: Vec<String>,
    pub organisations: Vec<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub addresses: Vec<String>,
    /// The victim's own domains (from the reporter's e-mail address, the organisation's site).
    pub domains: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    pub kind: String,
    pub original: String,
    pub replacement: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anonymised {
    pub text: String,
    pub replacements: Vec<Replacement>,
}

struct Pattern {
    kind: &'static str,
    re: Regex,
    /// Which capture group is replaced (0: the whole match).
    group: usize,
    replacement: &'static str,
}

fn patterns() -> &'static [Pattern] {
    static P: OnceLock<Vec<Pattern>> = OnceLock::new();
    P.get_or_init(|| {
        let p = |kind, re: &str, group, replacement| Pattern { kind, re: Regex::new(re).unwrap_or_else(|e| panic!("{kind}: {e}")), group, replacement };
        vec![
            p("email", r"(?i)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+", 0, "特定のメールアドレス"),
            p("url", r"(?i)\b(?:https?|ftp)://[^\s<>「」『』（）()、。]+", 0, "特定の URL"),
            p("ip", r"\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?:/\d{1,2})?\b", 0, "特定の IP アドレス"),
            p("ip", r"(?i)\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}\b", 0, "特定の IP アドレス"),
            p("phone", r"(?:\+81[\s-]?|\b0)\d{1,4}[-‐－ー(（]\d{1,4}[-‐－ー)）]\d{3,4}\b", 0, "特定の電話番号"),
            p("postal_code", r"〒?\s?\b\d{3}-\d{4}\b", 0, "（郵便番号）"),
            p(
                "address",
                r"(?:東京都|北海道|京都府|大阪府|[\p{Han}]{2,3}県)[\p{Han}\p{Katakana}ー]{1,8}?[市区町村郡][\p{Han}\p{Katakana}ー]{0,10}(?:[0-9０-９]+(?:丁目|番地?|号|[-－ー])?)*",
                0,
                "（所在地）",
            ),
            p(
                "organisation",
                r"(?:株式会社|有限会社|合同会社|一般社団法人|一般財団法人|公益社団法人|公益財団法人|学校法人|医療法人|社会福祉法人)[ 　]?[\p{Han}\p{Katakana}ーA-Za-z0-9＆&]{1,20}|[\p{Han}\p{Katakana}ーA-Za-z0-9＆&]{1,20}(?:株式会社|有限会社|合同会社|大学|高等学校|中学校|小学校|病院|クリニック|銀行|信用金庫|市役所|町役場|村役場|県庁)",
                0,
                "特定の組織",
            ),
            p("person", r"[\p{Han}]{1,4}[ 　]?[\p{Han}]{0,3}(?:様|さま|氏)|(?:Mr|Ms|Mrs|Dr)\.? [A-Z][a-z]+(?: [A-Z][a-z]+)?", 0, "担当者"),
            p("account", r"(?i)(?:ID|アカウント名?|ユーザー?名|ユーザID|ログインID|user(?:name)?)\s*[「『:：=]\s*([A-Za-z0-9_.@-]{2,64})", 1, "特定のアカウント"),
            p("amount", r"(?:約|およそ)?[0-9０-９][0-9０-９,，.]*(?:万|億|千)?円", 0, "一定の金額"),
            p("hostname", r"(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:jp|com|net|org|info|biz|io|co|edu|gov|local|lan|internal|corp)\b", 0, "当該ホスト"),
        ]
    })
}

impl KnownIdentifiers {
    fn literals(&self) -> Vec<(&'static str, String, String)> {
        let label = if self.reporter_label.is_empty() { "届出者".to_owned() } else { self.reporter_label.clone() };
        let mut out = vec![];
        let mut add = |kind: &'static str, values: &[String], repl: &str| {
            for v in values.iter().map(|v| v.trim()).filter(|v| v.chars().count() >= 2) {
                out.push((kind, v.to_owned(), repl.to_owned()));
            }
        };
        add("organisation", &self.organisations, &label);
        add("person", &self.person_names, "担当者");
        add("email", &self.emails, "特定のメールアドレス");
        add("phone", &self.phones, "特定の電話番号");
        add("address", &self.addresses, "（所在地）");
        add("domain", &self.domains, "届出者のドメイン");
        // Longest first, so "株式会社サンプル商事" wins over "サンプル商事".
        out.sort_by_key(|(_, v, _)| std::cmp::Reverse(v.chars().count()));
        out
    }
}

/// Replace identifying values in `text`. `keep` holds values the analyst chose to publish
/// (compared case-insensitively, after trimming).
pub fn anonymise(text: &str, known: &KnownIdentifiers, keep: &BTreeSet<String>) -> Anonymised {
    let kept = |v: &str| keep.contains(&v.trim().to_lowercase());
    // Candidate spans: (start, end, priority, kind, replacement). Known identifiers first.
    let mut spans: Vec<(usize, usize, usize, &str, String)> = vec![];
    let lower = text.to_lowercase();
    let same_offsets = lower.len() == text.len();
    for (prio, (kind, value, repl)) in known.literals().into_iter().enumerate() {
        let (hay, needle) = if same_offsets { (lower.as_str(), value.to_lowercase()) } else { (text, value.clone()) };
        let mut from = 0;
        while let Some(i) = hay[from..].find(&needle) {
            let s = from + i;
            spans.push((s, s + needle.len(), prio, kind, repl.clone()));
            from = s + needle.len().max(1);
        }
    }
    let base = spans.len() + 1000;
    for (i, p) in patterns().iter().enumerate() {
        for c in p.re.captures_iter(text) {
            let Some(m) = c.get(p.group) else { continue };
            if kept(m.as_str()) {
                continue;
            }
            // A sub-domain of a kept domain is kept too.
            if p.kind == "hostname" && keep.iter().any(|k| m.as_str().to_lowercase().ends_with(&format!(".{k}"))) {
                continue;
            }
            spans.push((m.start(), m.end(), base + i, p.kind, p.replacement.to_owned()));
        }
    }
    // Longest first (an e-mail address wins over the domain inside it), then the known
    // identifiers before the patterns; a span overlapping a chosen one is dropped.
    spans.sort_by_key(|(s, e, prio, _, _)| (std::cmp::Reverse(e - s), *prio));
    let mut chosen: Vec<(usize, usize, &str, String)> = vec![];
    for (s, e, _, kind, repl) in spans {
        if chosen.iter().all(|(cs, ce, _, _)| e <= *cs || s >= *ce) {
            chosen.push((s, e, kind, repl));
        }
    }
    chosen.sort_by_key(|(s, ..)| *s);
    let mut out = String::with_capacity(text.len());
    let mut replacements = vec![];
    let mut at = 0;
    for (s, e, kind, repl) in chosen {
        out.push_str(&text[at..s]);
        out.push_str(&repl);
        replacements.push(Replacement { kind: kind.to_owned(), original: text[s..e].to_owned(), replacement: repl });
        at = e;
    }
    out.push_str(&text[at..]);
    Anonymised { text: out, replacements }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> BTreeSet<String> {
        BTreeSet::new()
    }

    #[test]
    fn identifying_values_are_replaced_and_listed() {
        let known = KnownIdentifiers {
            reporter_label: "届出者（企業）".into(),
            organisations: vec!["サンプル商事".into()],
            person_names: vec!["山田太郎".into()],
            domains: vec!["sample-shoji.co.jp".into()],
            ..Default::default()
        };
        let text = "サンプル商事の山田太郎です。担当の鈴木様（suzuki@sample-shoji.co.jp、03-1234-5678）によると、\
                    〒100-0001 東京都千代田区千代田1-1 のサーバ www.sample-shoji.co.jp（203.0.113.7）に \
                    http://www.sample-shoji.co.jp/admin/ からログインされ、ID:admin01 が使われ、約120万円の被害。\
                    株式会社テスト物流にも連絡した。sample-shoji.co.jp の全ページを確認した。";
        let a = anonymise(text, &known, &none());
        for leaked in [
            "サンプル商事",
            "山田太郎",
            "鈴木",
            "suzuki@",
            "03-1234-5678",
            "100-0001",
            "千代田区",
            "203.0.113.7",
            "sample-shoji",
            "admin01",
            "120万円",
            "テスト物流",
        ] {
            assert!(!a.text.contains(leaked), "{leaked} leaked: {}", a.text);
        }
        assert!(a.text.starts_with("届出者（企業）の担当者です。担当の担当者（"), "{}", a.text);
        assert!(a.text.contains("特定の IP アドレス"), "{}", a.text);
        let kinds: BTreeSet<&str> = a.replacements.iter().map(|r| r.kind.as_str()).collect();
        for k in [
            "organisation",
            "person",
            "email",
            "phone",
            "postal_code",
            "address",
            "ip",
            "url",
            "account",
            "amount",
            "domain",
        ] {
            assert!(kinds.contains(k), "no {k} replacement in {:?}", a.replacements);
        }
        // Every replacement is reviewable: original and replacement are listed.
        assert!(a.replacements.iter().any(|r| r.original == "203.0.113.7" && r.replacement == "特定の IP アドレス"));
    }

    #[test]
    fn seed_wording_passes_unchanged_and_kept_attacker_indicators_stay() {
        let seed = "届出者（企業）が運営するECサイトで、phpMyAdmin へ第三者によるアクセスが可能であった。0.03ビットコインを要求された。";
        let a = anonymise(seed, &KnownIdentifiers::default(), &none());
        assert_eq!(a.text, seed);
        assert!(a.replacements.is_empty());

        let text = "攻撃元は 198.51.100.23 で、誘導先は evil-login.example.com だった。当社の 192.0.2.10 が狙われた。";
        let keep: BTreeSet<String> = ["198.51.100.23".to_owned(), "example.com".to_owned()].into();
        let a = anonymise(text, &KnownIdentifiers::default(), &keep);
        assert!(a.text.contains("198.51.100.23") && a.text.contains("evil-login.example.com"), "{}", a.text);
        assert!(!a.text.contains("192.0.2.10"), "{}", a.text);
    }
}
