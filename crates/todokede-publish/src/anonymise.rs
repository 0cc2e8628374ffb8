//! The anonymiser: every text that may be published passes through it. It replaces what could
//! identify a reporter or victim — names of people and organisations, e-mail addresses, phone
//! numbers, postal addresses, the victim's domains and hosts, IP addresses, URLs, account names,
//! staff and account numbers, identifying amounts — with the neutral wording the seeds use
//! (届出者（企業）, 当該サーバ, 特定の IP アドレス), and lists every replacement for the
//! analyst's review. Values the analyst chose to keep (an attacker's public indicator) pass
//! unchanged.
//!
//! It errs on the side of the reporter. Matching runs on a normalised view of the text (NFKC,
//! so full-width digits and ㈱ match; dashes unified; defanged `203.0.113[.]10` and `hxxp`
//! refanged), and the reporter's own values match whitespace- and punctuation-insensitively
//! with their variants: without the legal form, name parts, the romaji of the e-mail address
//! and its katakana, every label of their domains, the phone number's digits in national and
//! international form. Replacement spans map back to the original text, so everything else
//! (the seeds' wording) is published exactly as written. What it cannot decide — Latin names,
//! unknown proper nouns, long digit runs, a text not in Japanese — is listed as a residual
//! [`Risk`] for the approver to clear.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization as _;

/// What the report itself says about its reporter: replaced wherever it appears, with variants.
#[derive(Debug, Clone, Default)]
pub struct KnownIdentifiers {
    /// 届出者（企業） etc.: how the reporter is referred to.
    pub reporter_label: String,
    pub person_names: Vec<String>,
    /// Readings of the person names where given (ヤマダ タロウ, Taro Yamada).
    pub person_readings: Vec<String>,
    pub organisations: Vec<String>,
    /// Readings of the organisations where given (サンプルショウジ, Sample Shoji).
    pub organisation_readings: Vec<String>,
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

/// Something the anonymiser left in place but could not rule out: the approver clears it (or
/// edits the text) before approving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    /// `latin_name`, `proper_noun`, `digits`, `english`, `not_japanese`.
    pub kind: String,
    pub text: String,
}

impl Risk {
    /// What the approver is asked to check, Japanese first.
    pub fn label_ja(&self) -> &'static str {
        match self.kind.as_str() {
            "latin_name" => "ローマ字・英字の人名の可能性",
            "proper_noun" => "固有名詞（組織名・店名）の可能性",
            "digits" => "識別番号の可能性がある長い数字列",
            "not_japanese" => "日本語でない届出文（編集者による日本語の要約が必要）",
            "english" => "日本語の文中の英語の語句（日本語に改めるか、原文のまま掲載するかを編集者が判断）",
            _ => "要確認",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anonymised {
    pub text: String,
    pub replacements: Vec<Replacement>,
    #[serde(default)]
    pub risks: Vec<Risk>,
}

/// What a text that is not in Japanese becomes: never printed raw.
pub const NOT_JAPANESE: &str = "（日本語以外で届け出られた内容のため、編集者による日本語の要約が必要）";

// ---------------------------------------------------------------------------------------------
// The normalised view: each char of the view remembers the span of the original it came from.

#[derive(Debug, Clone, Copy)]
struct Ch {
    c: char,
    s: usize,
    e: usize,
}

fn dash(c: char) -> bool {
    matches!(c, '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' | '\u{30FC}' | '\u{FF70}')
}

/// NFKC per character, dashes unified to `-` (the long vowel mark only between digits).
fn normalise(text: &str) -> Vec<Ch> {
    let mut out: Vec<Ch> = Vec::with_capacity(text.len());
    for (s, c) in text.char_indices() {
        let e = s + c.len_utf8();
        for n in std::iter::once(c).nfkc() {
            out.push(Ch { c: n, s, e });
        }
    }
    for i in 0..out.len() {
        let c = out[i].c;
        if dash(c) {
            let long_vowel = matches!(c, '\u{30FC}' | '\u{FF70}');
            let between_digits =
                i > 0 && out[i - 1].c.is_ascii_digit() && out.get(i + 1).is_some_and(|n| n.c.is_ascii_digit());
            if !long_vowel || between_digits {
                out[i].c = '-';
            }
        }
    }
    out
}

/// Defanged indicators written back: `[.]`, `(.)`, `[dot]` → `.`, `hxxp` → `http`, `[@]` → `@`.
fn refang(v: Vec<Ch>) -> Vec<Ch> {
    const RULES: &[(&str, &str)] = &[
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("(dot)", "."),
        ("[:]", ":"),
        ("[://]", "://"),
        ("[@]", "@"),
        ("(@)", "@"),
        ("[at]", "@"),
        ("hxxps", "https"),
        ("hxxp", "http"),
        ("hxtp", "http"),
        ("fxp", "ftp"),
    ];
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    'outer: while i < v.len() {
        for (from, to) in RULES {
            let n = from.chars().count();
            if i + n <= v.len() && v[i..i + n].iter().map(|c| c.c.to_ascii_lowercase()).eq(from.chars()) {
                // A scheme only at a word start ("hxxp" inside a word is a word).
                if (from.starts_with('h') || from.starts_with('f')) && i > 0 && v[i - 1].c.is_ascii_alphanumeric() {
                    continue;
                }
                let (s, e) = (v[i].s, v[i + n - 1].e);
                out.extend(to.chars().map(|c| Ch { c, s, e }));
                i += n;
                continue 'outer;
            }
        }
        out.push(v[i]);
        i += 1;
    }
    out
}

struct View {
    s: String,
    /// Per byte of `s`: the original span of the char it belongs to.
    map: Vec<(usize, usize)>,
}

impl View {
    fn new(chs: impl IntoIterator<Item = Ch>) -> View {
        let mut s = String::new();
        let mut map = vec![];
        for ch in chs {
            s.push(ch.c);
            map.extend(std::iter::repeat_n((ch.s, ch.e), ch.c.len_utf8()));
        }
        View { s, map }
    }
    fn orig(&self, a: usize, b: usize) -> (usize, usize) {
        (self.map[a].0, self.map[b - 1].1)
    }
}

/// Only letters and digits, lower-cased: spaces, hyphens and dots never defeat a match.
fn tight(v: &[Ch]) -> Vec<Ch> {
    v.iter()
        .filter(|c| c.c.is_alphanumeric())
        .flat_map(|c| c.c.to_lowercase().map(move |l| Ch { c: l, s: c.s, e: c.e }))
        .collect()
}

fn tight_str(s: &str) -> String {
    tight(&refang(normalise(s))).into_iter().map(|c| c.c).collect()
}

fn nfkc_str(s: &str) -> String {
    normalise(s).into_iter().map(|c| c.c).collect()
}

// ---------------------------------------------------------------------------------------------
// Variants of the reporter's own values.

/// Legal forms, normalised (NFKC, lower case): stripped for the variant, taken along when they
/// stand next to a match.
const LEGAL_FORMS: &[&str] = &[
    "株式会社",
    "有限会社",
    "合同会社",
    "合資会社",
    "合名会社",
    "一般社団法人",
    "一般財団法人",
    "(株)",
    "(有)",
    "(同)",
    "co., ltd.",
    "co.,ltd.",
    "co., ltd",
    "co.,ltd",
    "co. ltd.",
    "co.ltd.",
    "inc.",
    "inc",
    "corporation",
    "corp.",
    "k.k.",
    "ltd.",
    "llc",
];

fn strip_legal_form(org: &str) -> String {
    let mut v = nfkc_str(org).to_lowercase();
    loop {
        let before = v.clone();
        for f in LEGAL_FORMS {
            let t = v.trim().trim_end_matches(',').trim();
            if let Some(r) = t.strip_prefix(f) {
                v = r.to_owned();
            } else if let Some(r) = t.strip_suffix(f) {
                v = r.trim_end().trim_end_matches(',').to_owned();
            }
        }
        if v == before {
            return v.trim().to_owned();
        }
    }
}

/// Public suffix labels and generic host labels: never a variant on their own.
const GENERIC_LABELS: &[&str] = &[
    "www", "mail", "smtp", "co", "ne", "or", "ac", "go", "ed", "lg", "gr", "ad", "jp", "com", "net", "org", "info",
    "biz", "tokyo", "osaka", "nagoya", "yokohama", "kyoto", "io", "uk", "us", "cn", "de", "local", "lan", "corp",
];

/// E-mail local parts that name a role, not a person.
const ROLE_MAILBOXES: &[&str] = &[
    "info",
    "admin",
    "support",
    "contact",
    "webmaster",
    "postmaster",
    "security",
    "soc",
    "csirt",
    "sales",
    "noreply",
    "no-reply",
    "office",
    "system",
    "sysadmin",
    "master",
    "root",
    "help",
    "desk",
    "service",
];

/// Account names that say nothing about whom (an attacker's dictionary words).
const GENERIC_ACCOUNTS: &[&str] = &[
    "admin",
    "administrator",
    "root",
    "test",
    "guest",
    "user",
    "sa",
    "postgres",
    "mysql",
    "oracle",
    "ftp",
    "www",
    "ubuntu",
    "pi",
    "www-data",
    "anonymous",
];

/// Hepburn and kunrei syllables to katakana (longest first when matching).
const SYLLABLES: &[(&str, &str)] = &[
    ("kya", "キャ"),
    ("kyu", "キュ"),
    ("kyo", "キョ"),
    ("sha", "シャ"),
    ("shu", "シュ"),
    ("sho", "ショ"),
    ("she", "シェ"),
    ("sya", "シャ"),
    ("syu", "シュ"),
    ("syo", "ショ"),
    ("cha", "チャ"),
    ("chu", "チュ"),
    ("cho", "チョ"),
    ("che", "チェ"),
    ("tya", "チャ"),
    ("tyu", "チュ"),
    ("tyo", "チョ"),
    ("nya", "ニャ"),
    ("nyu", "ニュ"),
    ("nyo", "ニョ"),
    ("hya", "ヒャ"),
    ("hyu", "ヒュ"),
    ("hyo", "ヒョ"),
    ("mya", "ミャ"),
    ("myu", "ミュ"),
    ("myo", "ミョ"),
    ("rya", "リャ"),
    ("ryu", "リュ"),
    ("ryo", "リョ"),
    ("gya", "ギャ"),
    ("gyu", "ギュ"),
    ("gyo", "ギョ"),
    ("jya", "ジャ"),
    ("jyu", "ジュ"),
    ("jyo", "ジョ"),
    ("bya", "ビャ"),
    ("byu", "ビュ"),
    ("byo", "ビョ"),
    ("pya", "ピャ"),
    ("pyu", "ピュ"),
    ("pyo", "ピョ"),
    ("shi", "シ"),
    ("chi", "チ"),
    ("tsu", "ツ"),
    ("ja", "ジャ"),
    ("ju", "ジュ"),
    ("jo", "ジョ"),
    ("je", "ジェ"),
    ("ji", "ジ"),
    ("fu", "フ"),
    ("ka", "カ"),
    ("ki", "キ"),
    ("ku", "ク"),
    ("ke", "ケ"),
    ("ko", "コ"),
    ("sa", "サ"),
    ("si", "シ"),
    ("su", "ス"),
    ("se", "セ"),
    ("so", "ソ"),
    ("ta", "タ"),
    ("ti", "チ"),
    ("tu", "ツ"),
    ("te", "テ"),
    ("to", "ト"),
    ("na", "ナ"),
    ("ni", "ニ"),
    ("nu", "ヌ"),
    ("ne", "ネ"),
    ("no", "ノ"),
    ("ha", "ハ"),
    ("hi", "ヒ"),
    ("hu", "フ"),
    ("he", "ヘ"),
    ("ho", "ホ"),
    ("ma", "マ"),
    ("mi", "ミ"),
    ("mu", "ム"),
    ("me", "メ"),
    ("mo", "モ"),
    ("ya", "ヤ"),
    ("yu", "ユ"),
    ("yo", "ヨ"),
    ("ra", "ラ"),
    ("ri", "リ"),
    ("ru", "ル"),
    ("re", "レ"),
    ("ro", "ロ"),
    ("wa", "ワ"),
    ("wo", "ヲ"),
    ("ga", "ガ"),
    ("gi", "ギ"),
    ("gu", "グ"),
    ("ge", "ゲ"),
    ("go", "ゴ"),
    ("za", "ザ"),
    ("zi", "ジ"),
    ("zu", "ズ"),
    ("ze", "ゼ"),
    ("zo", "ゾ"),
    ("da", "ダ"),
    ("di", "ヂ"),
    ("du", "ヅ"),
    ("de", "デ"),
    ("do", "ド"),
    ("ba", "バ"),
    ("bi", "ビ"),
    ("bu", "ブ"),
    ("be", "ベ"),
    ("bo", "ボ"),
    ("pa", "パ"),
    ("pi", "ピ"),
    ("pu", "プ"),
    ("pe", "ペ"),
    ("po", "ポ"),
    ("a", "ア"),
    ("i", "イ"),
    ("u", "ウ"),
    ("e", "エ"),
    ("o", "オ"),
];

/// A romaji word as katakana syllables, or None when it is not romaji (so "Windows" is not a name).
fn romaji_syllables(word: &str) -> Option<Vec<&'static str>> {
    let w = word.to_ascii_lowercase();
    let b = w.as_bytes();
    if b.len() < 2 || !b.iter().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        let rest = &w[i..];
        // ん: n not followed by a vowel or y; っ: a doubled consonant; oh: a long o (Ohno).
        if rest.starts_with('n') && rest[1..].chars().next().is_none_or(|c| !"aiueoy".contains(c)) {
            out.push("ン");
            i += 1;
            continue;
        }
        if rest.len() >= 2 && b[i] == b[i + 1] && !"aiueon".contains(b[i] as char) {
            out.push("ッ");
            i += 1;
            continue;
        }
        if rest.starts_with('h')
            && i > 0
            && b[i - 1] == b'o'
            && rest[1..].chars().next().is_none_or(|c| !"aiueoy".contains(c))
        {
            out.push("ウ");
            i += 1;
            continue;
        }
        let (from, kana) = SYLLABLES.iter().find(|(r, _)| rest.starts_with(r))?;
        out.push(kana);
        i += from.len();
    }
    Some(out)
}

/// Katakana readings of a romaji word: as written, and with the long vowel an o often hides
/// (Taro → タロ, タロウ, タロー).
fn katakana_variants(word: &str) -> Vec<String> {
    let Some(syl) = romaji_syllables(word) else { return vec![] };
    let os: Vec<usize> = (0..syl.len())
        .filter(|i| {
            syl[*i]
                .ends_with(['オ', 'コ', 'ソ', 'ト', 'ノ', 'ホ', 'モ', 'ヨ', 'ロ', 'ゴ', 'ゾ', 'ド', 'ボ', 'ポ', 'ョ'])
        })
        .take(3)
        .collect();
    let mut out = vec![];
    for mask in 0..(1u32 << os.len()) {
        for long in ["ウ", "ー"] {
            let mut s = String::new();
            for (i, k) in syl.iter().enumerate() {
                s.push_str(k);
                if let Some(j) = os.iter().position(|o| *o == i)
                    && mask & (1 << j) != 0
                    && syl.get(i + 1) != Some(&"ウ")
                {
                    s.push_str(long);
                }
            }
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

fn hiragana(s: &str) -> String {
    s.chars()
        .map(|c| if ('\u{30A1}'..='\u{30F6}').contains(&c) { char::from_u32(c as u32 - 0x60).unwrap_or(c) } else { c })
        .collect()
}

/// Name parts read from an e-mail local part (taro.yamada, t_yamada, yamada-taro).
fn local_part_names(local: &str) -> Vec<String> {
    local
        .split(['.', '_', '-', '+'])
        .filter(|p| p.len() >= 3 && romaji_syllables(p).is_some())
        .map(str::to_lowercase)
        .collect()
}

/// (kind, tight needle, replacement, extend over a host token, take a legal form along)
struct Needle {
    kind: &'static str,
    tight: String,
    replacement: String,
    hostish: bool,
    legal_form: bool,
}

impl KnownIdentifiers {
    fn needles(&self) -> Vec<Needle> {
        let label = if self.reporter_label.is_empty() { "届出者".to_owned() } else { self.reporter_label.clone() };
        let mut out: Vec<Needle> = vec![];
        let mut add = |kind: &'static str, value: &str, repl: &str, hostish: bool, legal_form: bool| {
            let t = tight_str(value);
            let min = if t.is_ascii() { 3 } else { 2 };
            if t.chars().count() >= min && !out.iter().any(|n| n.tight == t) {
                out.push(Needle { kind, tight: t, replacement: repl.to_owned(), hostish, legal_form });
            }
        };
        let mut romaji_names: Vec<Vec<String>> = vec![];
        for o in &self.organisations {
            add("organisation", o, &label, false, true);
            add("organisation", &strip_legal_form(o), &label, false, true);
        }
        for o in &self.organisation_readings {
            add("organisation", o, &label, false, true);
            add("organisation", &strip_legal_form(o), &label, false, true);
            let words: Vec<String> = o.split_whitespace().map(str::to_owned).collect();
            if words.iter().all(|w| romaji_syllables(w).is_some()) {
                romaji_names.push(words);
            }
        }
        for p in self.person_names.iter().chain(&self.person_readings) {
            add("person", p, "担当者", false, false);
            let parts: Vec<&str> = p.split_whitespace().collect();
            if parts.len() >= 2 {
                let swapped: Vec<&str> = parts.iter().rev().copied().collect();
                add("person", &swapped.join(""), "担当者", false, false);
                // The family name alone (山田さん, Yamada).
                add("person", parts[0], "担当者", false, false);
                if parts[0].is_ascii() {
                    add("person", parts[parts.len() - 1], "担当者", false, false);
                }
            }
            let words: Vec<String> = parts.iter().map(|w| w.to_lowercase()).collect();
            if !words.is_empty() && words.iter().all(|w| romaji_syllables(w).is_some()) {
                romaji_names.push(words);
            }
        }
        for e in &self.emails {
            add("email", e, "特定のメールアドレス", false, false);
            if let Some((local, domain)) = e.trim().rsplit_once('@') {
                if !ROLE_MAILBOXES.contains(&local.to_lowercase().as_str()) {
                    add("account", local, "特定のアカウント", true, false);
                    let names = local_part_names(local);
                    if !names.is_empty() {
                        romaji_names.push(names);
                    }
                }
                let _ = domain;
            }
        }
        // Romaji names: both orders, each part of four letters or more alone, and in katakana.
        for words in &romaji_names {
            let joined = words.join("");
            add("person", &joined, "担当者", true, false);
            let rev: Vec<String> = words.iter().rev().cloned().collect();
            add("person", &rev.join(""), "担当者", true, false);
            for w in words.iter().filter(|w| w.len() >= 4) {
                add("person", w, "担当者", true, false);
            }
            let kana: Vec<Vec<String>> = words.iter().map(|w| katakana_variants(w)).collect();
            if kana.iter().all(|k| !k.is_empty()) {
                let mut combos: Vec<String> = vec![String::new()];
                for k in &kana {
                    combos = combos.iter().flat_map(|c| k.iter().map(move |x| format!("{c}{x}"))).take(64).collect();
                }
                let mut rcombos: Vec<String> = vec![String::new()];
                for k in kana.iter().rev() {
                    rcombos = rcombos.iter().flat_map(|c| k.iter().map(move |x| format!("{c}{x}"))).take(64).collect();
                }
                for c in combos.iter().chain(&rcombos) {
                    add("person", c, "担当者", false, false);
                    add("person", &hiragana(c), "担当者", false, false);
                }
                if let Some(first) = kana.first().filter(|_| kana.len() >= 2) {
                    for k in first.iter().filter(|k| k.chars().count() >= 3) {
                        add("person", k, "担当者", false, false);
                    }
                }
            }
        }
        for p in &self.phones {
            let digits: String = nfkc_str(p).chars().filter(|c| c.is_ascii_digit()).collect();
            if digits.len() >= 9 {
                add("phone", &digits, "特定の電話番号", false, false);
                if let Some(rest) = digits.strip_prefix('0') {
                    add("phone", &format!("81{rest}"), "特定の電話番号", false, false);
                }
            }
        }
        for a in &self.addresses {
            add("address", a, "（所在地）", false, false);
            let n = nfkc_str(a);
            if let Some(m) = prefecture_re().find(&n).filter(|m| m.start() == 0) {
                add("address", &n[m.end()..], "（所在地）", false, false);
            }
        }
        // The wording of a domain depends on where it stands: see `domain_wording`.
        for d in &self.own_domains() {
            add("domain", d, "当該組織のドメイン", true, false);
            for label in d.split('.') {
                if label.len() >= 3 && !GENERIC_LABELS.contains(&label) {
                    add("domain", label, "当該組織のドメイン", true, false);
                }
            }
        }
        // Longest first, so "株式会社サンプル商事" wins over "サンプル商事".
        out.sort_by_key(|n| std::cmp::Reverse(n.tight.chars().count()));
        out
    }
}

impl KnownIdentifiers {
    /// The victim's own domains: those given, and those of the reporter's e-mail addresses.
    fn own_domains(&self) -> Vec<String> {
        let mut domains: Vec<String> = self.domains.iter().map(|d| d.trim().to_lowercase()).collect();
        for e in &self.emails {
            if let Some((_, d)) = e.trim().rsplit_once('@') {
                domains.push(d.to_lowercase());
            }
        }
        domains
    }
}

/// One of the victim's domains or hosts (`text[s..e]`), replaced so the sentence still reads:
/// `victim.co.jp ドメイン` → 当該組織のドメイン, `victim.co.jp のメール` / `www.victim.co.jp の管理画面`
/// → 当該組織のメール / 当該組織の管理画面, `mail.victim.co.jp が踏み台に` → 当該サーバが踏み台に,
/// `サーバ www.victim.co.jp（…）` → サーバ（…） (the name goes, the server stays), and the domain
/// itself otherwise → 当該組織のドメイン. Returns the span to replace, widened over the words
/// taken along, and its replacement.
fn domain_wording(text: &str, s: usize, e: usize, domains: &[String]) -> (usize, usize, String) {
    const SPACE: [char; 2] = [' ', '\u{3000}'];
    let token = nfkc_str(&text[s..e]).to_lowercase();
    let host = !domains.contains(&token) && domains.iter().any(|d| token.ends_with(&format!(".{d}")));
    let before = text[..s].trim_end_matches(SPACE);
    if host && ["サーバ", "サーバー", "ホスト"].iter().any(|w| before.ends_with(w)) {
        return (before.len(), e, String::new());
    }
    let after = text[e..].trim_start_matches(SPACE);
    let (e, wording) = if after.starts_with("ドメイン") {
        (text.len() - after.len() + "ドメイン".len(), "当該組織のドメイン")
    } else if after.starts_with('の') {
        (text.len() - after.len() + 'の'.len_utf8(), "当該組織の")
    } else if after.chars().next().is_some_and(|c| !c.is_ascii()) {
        // The spaces that set the Latin name apart from the Japanese around it go with it.
        (text.len() - after.len(), if host { "当該サーバ" } else { "当該組織のドメイン" })
    } else {
        (e, if host { "当該サーバ" } else { "当該組織のドメイン" })
    };
    let s = if before.chars().next_back().is_some_and(|c| !c.is_ascii()) { before.len() } else { s };
    (s, e, wording.into())
}

fn prefecture_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"東京都|北海道|京都府|大阪府|[\p{Han}]{2,3}県").expect("prefecture regex"))
}

// ---------------------------------------------------------------------------------------------
// Patterns, on the normalised and refanged view.

type Check = fn(&str, (usize, usize), (usize, usize)) -> bool;

struct Pattern {
    kind: &'static str,
    re: Regex,
    /// Which capture group is replaced (0: the whole match).
    group: usize,
    replacement: &'static str,
    /// A test the regex cannot express (digit counts, boundaries, stop words): hay, whole
    /// match, replaced group.
    check: Option<Check>,
}

fn prev_char(h: &str, at: usize) -> Option<char> {
    h[..at].chars().next_back()
}

fn next_char(h: &str, at: usize) -> Option<char> {
    h[at..].chars().next()
}

fn digits(s: &str) -> usize {
    s.chars().filter(|c| c.is_ascii_digit()).count()
}

/// Not inside a longer number: no digit (or a digit after a dot or hyphen) on either side.
fn standalone_number(h: &str, (s, e): (usize, usize)) -> bool {
    let before = prev_char(h, s);
    let after = &h[e..];
    let mut a = after.chars();
    let after_ok = match a.next() {
        Some(c) if c.is_ascii_digit() => false,
        Some('.' | '-') => !a.next().is_some_and(|c| c.is_ascii_digit()),
        _ => true,
    };
    !before.is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | '/' | ':')) && after_ok
}

/// Not a time of day (10:30:00): compressed, or hex letters, or five groups and more.
fn check_ipv6(h: &str, w: (usize, usize), _: (usize, usize)) -> bool {
    let v = &h[w.0..w.1];
    v.contains("::") || v.chars().any(|c| c.is_ascii_alphabetic()) || v.matches(':').count() >= 4
}

fn check_national_phone(h: &str, _: (usize, usize), g: (usize, usize)) -> bool {
    (10..=11).contains(&digits(&h[g.0..g.1])) && standalone_number(h, g)
}

fn check_international_phone(h: &str, _: (usize, usize), g: (usize, usize)) -> bool {
    (10..=13).contains(&digits(&h[g.0..g.1])) && standalone_number(h, g)
}

fn check_labelled_phone(h: &str, _: (usize, usize), g: (usize, usize)) -> bool {
    (9..=13).contains(&digits(&h[g.0..g.1]))
}

/// Nouns that take 様/さん without being anyone's name.
const NOT_NAMES: &[&str] = &[
    "客",
    "お客",
    "皆",
    "各",
    "皆さん",
    "利用者",
    "顧客",
    "担当者",
    "管理者",
    "会員",
    "関係者",
    "取引先",
    "同",
    "貴",
    "御社",
    "貴社",
    "先方",
    "相手",
    "当該",
    "ユーザ",
    "ユーザー",
    "オペレータ",
    "オペレーター",
    "作業者",
    "委託先",
    "業者",
    "皆様",
    "模様",
    "仕様",
    "同様",
    "多様",
    "異様",
    "一様",
    "様",
];

fn check_honorific_name(h: &str, w: (usize, usize), _: (usize, usize)) -> bool {
    let m = &h[w.0..w.1];
    let name = m.trim_end_matches(['様', 'さ', 'ま', 'ん', '氏', '殿']).trim();
    // 氏名, 様式, 様子: not an honorific.
    if next_char(h, w.1).is_some_and(|c| matches!(c, '名' | '式' | '子' | '相' | '々')) {
        return false;
    }
    !name.is_empty()
        && !NOT_NAMES.contains(&name)
        && !NOT_NAMES.iter().any(|n| n.chars().count() >= 2 && name.ends_with(n))
        && !name.ends_with(['者', '員', '先', '様', '客'])
}

fn check_surname_name(h: &str, w: (usize, usize), _: (usize, usize)) -> bool {
    let m = &h[w.0..w.1];
    !m.ends_with(['県', '市', '区', '町', '村', '都', '府', '道', '駅', '線', '港', '川', '山'])
        && !next_char(h, w.1).is_some_and(|c| matches!(c, '県' | '市' | '区' | '町' | '村' | '駅'))
}

fn check_romaji_name(h: &str, w: (usize, usize), _: (usize, usize)) -> bool {
    h[w.0..w.1].split_whitespace().all(|p| p.len() >= 3 && romaji_syllables(p).is_some())
}

fn check_account(h: &str, w: (usize, usize), g: (usize, usize)) -> bool {
    let v = h[g.0..g.1].trim_end_matches(['.', '-']);
    let upper_acronym = v.len() <= 6 && v.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    !prev_char(h, w.0).is_some_and(|c| c.is_ascii_alphanumeric())
        && !GENERIC_ACCOUNTS.contains(&v.to_lowercase().as_str())
        && !upper_acronym
}

fn check_reverse_account(h: &str, w: (usize, usize), g: (usize, usize)) -> bool {
    let v = &h[g.0..g.1];
    let lower = v.chars().any(|c| c.is_ascii_lowercase());
    // Microsoft アカウント is a product; yamada-t, t.sato, admin01 are names.
    let name_like = v.chars().any(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
        || v.chars().all(|c| c.is_ascii_lowercase());
    lower && name_like && check_account(h, w, g)
}

fn check_ascii_start(h: &str, w: (usize, usize), _: (usize, usize)) -> bool {
    !prev_char(h, w.0).is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

const SURNAMES: &str = "佐藤|鈴木|高橋|田中|伊藤|渡辺|渡邊|山本|中村|小林|加藤|吉田|山田|佐々木|山口|松本|井上|木村|斎藤|斉藤|清水|山崎|池田|橋本|阿部|石川|山下|中島|石井|小川|前田|岡田|長谷川|藤田|後藤|近藤|村上|遠藤|青木|坂本|福田|太田|西村|藤井|金子|岡本|藤原|中野|三浦|原田|中川|松田|竹内|小野|田村|中山|和田|石田|森田|上田|内田|柴田|酒井|工藤|横山|宮崎|宮本|内藤|高木|安藤|島田|谷口|大野|高田|丸山|今井|河野|藤本|村田|武田|上野|杉山|増田|小山|大塚|平野|菅原|久保|松井|千葉|岩崎|桜井|木下|野口|松尾|菊地|野村|新井|渡部|佐野|杉本|古川|大西|樋口|市川|浅野|服部|北村|菊池|水野|小島|川口|辻|吉川|大橋|荒木|永井|松下|中西|岩田|山内|片山|本田|西田|平田|久保田|大久保|飯田|沢田|須藤|中田|堀|関|原|林|森";

fn patterns() -> &'static [Pattern] {
    static P: OnceLock<Vec<Pattern>> = OnceLock::new();
    P.get_or_init(|| {
        let p = |kind, re: &str, group, replacement, check: Option<Check>| Pattern {
            kind,
            re: Regex::new(re).unwrap_or_else(|e| panic!("{kind}: {e}")),
            group,
            replacement,
            check,
        };
        let name = r"[\p{Han}\p{Katakana}ーA-Za-z0-9&]";
        let surnames: String =
            SURNAMES.split('|').filter(|s| s.chars().count() >= 2).collect::<Vec<_>>().join("|");
        vec![
            p("email", r"(?i)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+", 0, "特定のメールアドレス", None),
            p("url", r"(?i)(?-u:\b)(?:https?|ftp)://[^\s<>「」『』（）()、。]+", 0, "特定の URL", None),
            p(
                "ip",
                r"(?-u:\b)(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?:/\d{1,2})?(?-u:\b)",
                0,
                "特定の IP アドレス",
                None,
            ),
            p(
                "ip",
                r"(?i)(?-u:\b)(?:(?:[0-9a-f]{1,4}:){1,7}(?::[0-9a-f]{1,4}){1,7}|(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,7}:)(?-u:\b)",
                0,
                "特定の IP アドレス",
                Some(check_ipv6),
            ),
            p(
                "phone",
                r"(\+\s?81[\s-]?(?:\(0\)\s?)?\(?\d{1,4}\)?[\s.-]?\d{1,4}[\s.-]?\d{3,4})",
                1,
                "特定の電話番号",
                Some(check_international_phone),
            ),
            p(
                "phone",
                r"(\(?0\d{1,4}\)?[\s.-]?\d{1,4}[\s.-]?\d{3,4})",
                1,
                "特定の電話番号",
                Some(check_national_phone),
            ),
            p(
                "phone",
                r"(?i)(?:TEL|電話番号|電話|携帯|FAX|ファクス|ファックス)\s*[:：は]?\s*(\+?[\d(][\d\s()-]{7,18}\d)",
                1,
                "特定の電話番号",
                Some(check_labelled_phone),
            ),
            p("postal_code", r"〒?\s?(?-u:\b)\d{3}-\d{4}(?-u:\b)", 0, "（郵便番号）", None),
            p(
                "address",
                r"(?:東京都|北海道|京都府|大阪府|[\p{Han}]{2,3}県)[\p{Han}\p{Katakana}ー]{1,8}?[市区町村郡][\p{Han}\p{Hiragana}\p{Katakana}ー]{0,10}?(?:[0-9]+(?:丁目|番地?|号|-)?)*(?:\s?[\p{Katakana}ー\p{Han}A-Za-z0-9]{1,15}?(?:ビルディング|ビル|タワー|マンション|ハイツ|コーポ|プラザ)(?:\s?\d+(?:階|F|号室|号館))?)?",
                0,
                "（所在地）",
                None,
            ),
            p(
                "address",
                r"(?:[\p{Han}]{1,5}?[市区郡]){1,2}(?:[\p{Han}]{1,4}?[町村])?[\p{Han}\p{Hiragana}\p{Katakana}ー]{1,8}?\d+(?:(?:丁目|番地|番|号|-)\d*)*(?:\s?[\p{Katakana}ー\p{Han}A-Za-z0-9]{1,15}?(?:ビルディング|ビル|タワー|マンション|ハイツ|コーポ|プラザ)(?:\s?\d+(?:階|F|号室|号館))?)?",
                0,
                "（所在地）",
                None,
            ),
            p(
                "organisation",
                &format!(
                    r"(?:株式会社|有限会社|合同会社|一般社団法人|一般財団法人|公益社団法人|公益財団法人|学校法人|医療法人|社会福祉法人)[ 　]?{name}{{1,20}}|{name}{{1,20}}(?:株式会社|有限会社|合同会社|大学|高等学校|中学校|小学校|病院|クリニック|銀行|信用金庫|市役所|町役場|村役場|県庁)"
                ),
                0,
                "特定の組織",
                None,
            ),
            p("organisation", &format!(r"\((?:株|有|同)\)\s?{name}{{1,20}}|{name}{{1,20}}\s?\((?:株|有|同)\)"), 0, "特定の組織", None),
            p(
                "organisation",
                r"(?:[A-Z][A-Za-z0-9&-]*\s){0,3}[A-Z][A-Za-z0-9&-]*,?\s(?:Co\.,?\s?Ltd\.?|Inc\.|Corporation|Corp\.|K\.K\.|LLC|Ltd\.)",
                0,
                "特定の組織",
                None,
            ),
            p(
                "person",
                r"[\p{Han}]{1,4}[ 　]?[\p{Han}]{0,3}(?:様|さま|氏|さん|殿)|[\p{Katakana}ー]{2,10}[ 　]?(?:様|さん|氏)",
                0,
                "担当者",
                Some(check_honorific_name),
            ),
            p("person", &format!(r"(?:{surnames})[ 　]?[\p{{Han}}]{{1,3}}"), 0, "担当者", Some(check_surname_name)),
            p("person", r"(?:Mr|Ms|Mrs|Dr)\.? [A-Z][a-z]+(?: [A-Z][a-z]+)?", 0, "担当者", None),
            p("person", r"(?-u:\b)(?:[A-Z][a-z]{2,14}|[A-Z]{3,14})\s(?:[A-Z][a-z]{2,14}|[A-Z]{3,14})(?-u:\b)", 0, "担当者", Some(check_romaji_name)),
            p(
                "account",
                r"(?i:ID|アカウント名?|ユーザー?名?|ユーザID|ログインID|ログイン名|user(?:name)?|account)\s*(?:[「『:=]|は|が|の)?\s*([A-Za-z][A-Za-z0-9_.@-]{1,63})",
                1,
                "特定のアカウント",
                Some(check_account),
            ),
            p(
                "account",
                r"([A-Za-z][A-Za-z0-9_.-]{1,63})[」』]?\s*(?:という|の)?(?:アカウント|ユーザ)",
                1,
                "特定のアカウント",
                Some(check_reverse_account),
            ),
            p(
                "number",
                r"(?:社員番号|従業員番号|職員番号|社員ID|社員コード|口座番号|内線番号|内線|会員番号|顧客番号|お客様番号|契約番号|カード番号|学籍番号|患者ID|患者番号|診察券番号)\s*(?:[:：は]|が)?\s*([A-Za-z]{0,3}-?\d[\d-]{1,19})",
                1,
                "特定の番号",
                None,
            ),
            p("amount", r"(?:約|およそ)?[0-9][0-9,.]*(?:万|億|千)?円", 0, "一定の金額", None),
            p(
                "hostname",
                r"(?i)(?-u:\b)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:jp|com|net|org|info|biz|io|co|edu|gov|local|lan|internal|corp|tokyo|osaka|xyz|top|site|online|shop|me|us|uk|cn|ru|de|fr|kr|tw|hk|app|dev|cloud|tech|asia)(?-u:\b)",
                0,
                "当該ホスト",
                Some(check_ascii_start),
            ),
            p(
                "hostname",
                r"(?i)(?-u:\b)(?:web|www|mail|smtp|pop|imap|db|srv|svr|server|app|ap|fs|file|dc|ad|vpn|fw|proxy|dev|stg|prod|pc|host|ns|mx|nas|gw|sv)[-_]?\d{1,3}[a-z]?(?-u:\b)",
                0,
                "当該ホスト",
                None,
            ),
            p(
                "hostname",
                r"(?:ホスト名|サーバ名|サーバー名|コンピュータ名|コンピューター名|端末名|PC名)\s*(?:[はが:「『=]|の)?\s*([A-Za-z0-9][A-Za-z0-9_.-]{1,62})",
                1,
                "当該ホスト",
                None,
            ),
        ]
    })
}

/// Words in capitalised pairs that are products, not people: not a residual risk.
const TECH_WORDS: &[&str] = &[
    "Windows",
    "Server",
    "Microsoft",
    "Office",
    "Exchange",
    "Outlook",
    "Remote",
    "Desktop",
    "Google",
    "Chrome",
    "Apache",
    "Struts",
    "Linux",
    "Red",
    "Hat",
    "Oracle",
    "Database",
    "Internet",
    "Explorer",
    "Active",
    "Directory",
    "Web",
    "Mail",
    "Amazon",
    "Services",
    "Azure",
    "Cloud",
    "Security",
    "Center",
    "Defender",
    "Adobe",
    "Flash",
    "Player",
    "Reader",
    "Java",
    "Movable",
    "Type",
    "Word",
    "Press",
    "Excel",
    "Point",
    "Visual",
    "Studio",
    "Basic",
    "Team",
    "Viewer",
    "Any",
    "Desk",
    "Bitcoin",
    "The",
    "This",
    "Your",
    "Send",
    "Proof",
    "Payment",
    "Data",
    "Cobalt",
    "Strike",
    "Power",
    "Shell",
    "Task",
    "Scheduler",
    "Event",
    "Log",
    "Viewer",
    "Application",
    "System",
    "Network",
    "Access",
    "Control",
    "Secure",
    "Shell",
];

fn residual_risks(norm: &View, chosen: &[(usize, usize)], text: &str) -> Vec<Risk> {
    static R: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    let res = R.get_or_init(|| {
        vec![
            ("latin_name", Regex::new(r"(?-u:\b)[A-Z][a-z]{1,20}(?:\s[A-Z][a-z]{1,20})+(?-u:\b)").expect("re")),
            (
                "proper_noun",
                Regex::new(r"[\p{Katakana}ー]{2,}(?:社|店|商店|工業|製作所|商会|産業|物産|電機|建設|不動産|薬局|ホテル|クリニック|医院|歯科)").expect("re"),
            ),
            ("digits", Regex::new(r"\d{6,}").expect("re")),
            // English words in a Japanese text (a reporter's "500 server error"): the editor
            // writes them in Japanese or keeps them on purpose. Two lowercase words or more, or
            // one long lowercase run (words that lost their spaces: "500servererror"); not
            // inside a longer Latin word (checked below: the regex has no look-behind).
            ("english", Regex::new(r"[a-z]{2,}(?:[ \t]+[a-z]{2,})+|[a-z]{11,}").expect("re")),
        ]
    });
    let mut out: Vec<Risk> = vec![];
    for (kind, re) in res {
        for m in re.find_iter(&norm.s) {
            let (s, e) = norm.orig(m.start(), m.end());
            if chosen.iter().any(|(cs, ce)| s < *ce && e > *cs) {
                continue;
            }
            if *kind == "latin_name" && m.as_str().split_whitespace().all(|w| TECH_WORDS.contains(&w)) {
                continue;
            }
            let letter_at = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphabetic());
            if *kind == "english"
                && (letter_at(norm.s[..m.start()].chars().next_back()) || letter_at(norm.s[m.end()..].chars().next()))
            {
                continue;
            }
            let r = Risk { kind: (*kind).to_owned(), text: text[s..e].to_owned() };
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

/// A text mostly in Latin letters (an English report): it needs an editor's Japanese summary.
fn not_japanese(text: &str) -> bool {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let latin = text.chars().filter(|c| c.is_ascii_alphabetic()).count();
    latin >= 40 && latin * 10 >= letters * 7
}

fn hostish(c: char) -> bool {
    let n: String = std::iter::once(c).nfkc().collect();
    n.len() == 1 && n.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Widen a match over the host or account token it sits in (www.sample-shoji.tokyo, yamada-t).
fn extend_token(text: &str, mut s: usize, mut e: usize) -> (usize, usize) {
    while let Some(c) = text[..s].chars().next_back().filter(|c| hostish(*c)) {
        s -= c.len_utf8();
    }
    while let Some(c) = text[e..].chars().next().filter(|c| hostish(*c)) {
        e += c.len_utf8();
    }
    // A sentence's full stop is not part of the host.
    while text[s..e].ends_with(['.', '-', '_']) && e > s {
        e -= 1;
    }
    (s, e)
}

/// Take a legal form standing next to a matched organisation along ((株)サンプル商事).
fn extend_legal_form(text: &str, mut s: usize, mut e: usize) -> (usize, usize) {
    let forms = |t: &str| {
        let n = nfkc_str(t).to_lowercase();
        let n = n.trim().trim_end_matches(',').trim();
        LEGAL_FORMS.contains(&n) || n == "co." || n == ", co., ltd." || n == ", inc."
    };
    let before: Vec<usize> = text[..s].char_indices().map(|(i, _)| i).rev().take(8).collect();
    if let Some(b) = before.iter().rev().find(|b| forms(&text[**b..s])) {
        s = *b;
    }
    let after: Vec<usize> = text[e..].char_indices().map(|(i, c)| e + i + c.len_utf8()).take(12).collect();
    if let Some(a) = after.iter().rev().find(|a| forms(&text[e..**a])) {
        e = *a;
    }
    (s, e)
}

/// Replace identifying values in `text`. `keep` holds values the analyst chose to publish
/// (compared case-insensitively, after trimming).
pub fn anonymise(text: &str, known: &KnownIdentifiers, keep: &BTreeSet<String>) -> Anonymised {
    let kept = |v: &str| keep.contains(&v.trim().to_lowercase()) || keep.contains(&nfkc_str(v.trim()).to_lowercase());
    if not_japanese(text) {
        return Anonymised {
            text: NOT_JAPANESE.to_owned(),
            replacements: vec![Replacement {
                kind: "not_japanese".into(),
                original: text.to_owned(),
                replacement: NOT_JAPANESE.to_owned(),
            }],
            risks: vec![Risk { kind: "not_japanese".into(), text: text.chars().take(120).collect() }],
        };
    }
    let label = if known.reporter_label.is_empty() { "届出者".to_owned() } else { known.reporter_label.clone() };
    let norm_chars = refang(normalise(text));
    let norm = View::new(norm_chars.iter().copied());
    let tightv = View::new(tight(&norm_chars));
    // Candidate spans in the original: (start, end, priority, kind, replacement).
    let mut spans: Vec<(usize, usize, usize, &str, String)> = vec![];
    let domains = known.own_domains();
    for (prio, n) in known.needles().into_iter().enumerate() {
        let all_digits = n.tight.chars().all(|c| c.is_ascii_digit());
        for (i, _) in tightv.s.match_indices(&n.tight) {
            let j = i + n.tight.len();
            if all_digits
                && (prev_char(&tightv.s, i).is_some_and(|c| c.is_ascii_digit())
                    || next_char(&tightv.s, j).is_some_and(|c| c.is_ascii_digit()))
            {
                continue;
            }
            let (mut s, mut e) = tightv.orig(i, j);
            if n.hostish {
                (s, e) = extend_token(text, s, e);
            }
            if n.legal_form {
                (s, e) = extend_legal_form(text, s, e);
            }
            if kept(&text[s..e]) {
                continue;
            }
            // A label of the reporter's domain standing alone (SAMPLE SHOJI) names the reporter.
            if n.kind == "domain" && !text[s..e].contains(['.', '．', '@']) {
                spans.push((s, e, prio, "organisation", label.clone()));
                continue;
            }
            if n.kind == "domain" {
                let (s, e, wording) = domain_wording(text, s, e, &domains);
                spans.push((s, e, prio, n.kind, wording));
                continue;
            }
            spans.push((s, e, prio, n.kind, n.replacement.clone()));
        }
    }
    let base = spans.len() + 1000;
    for (i, p) in patterns().iter().enumerate() {
        for c in p.re.captures_iter(&norm.s) {
            let Some(m) = c.get(p.group) else { continue };
            let w = c.get(0).expect("whole match");
            if m.is_empty() || p.check.is_some_and(|f| !f(&norm.s, (w.start(), w.end()), (m.start(), m.end()))) {
                continue;
            }
            let (s, e) = norm.orig(m.start(), m.end());
            let value = m.as_str();
            if kept(value) || kept(&text[s..e]) {
                continue;
            }
            // A sub-domain of a kept domain is kept too.
            if matches!(p.kind, "hostname" | "url" | "email")
                && keep.iter().any(|k| {
                    let v = value.to_lowercase();
                    v.ends_with(&format!(".{k}")) || v.contains(&format!(".{k}/")) || v.contains(&format!("//{k}"))
                })
            {
                continue;
            }
            spans.push((s, e, base + i, p.kind, p.replacement.to_owned()));
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
    let ranges: Vec<(usize, usize)> = chosen.iter().map(|(s, e, ..)| (*s, *e)).collect();
    let risks = residual_risks(&norm, &ranges, text);
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
    Anonymised { text: out, replacements, risks }
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

    /// The victim's domain is replaced by what it is where it stands — the organisation's
    /// domain, something of the organisation's, a server — so the published sentence reads as
    /// the seeds' do (the old 「届出者のドメイン」 everywhere gave 「届出者のドメイン ドメインを騙る」,
    /// 「届出者のドメイン が踏み台」, 「サーバ 届出者のドメイン（…）」).
    #[test]
    fn the_victims_domain_reads_naturally_where_it_stands() {
        let known = KnownIdentifiers {
            reporter_label: "届出者（企業）".into(),
            domains: vec!["sample-shoji.co.jp".into()],
            ..Default::default()
        };
        let text = "sample-shoji.co.jp ドメインを騙るメールが届いた。mail.sample-shoji.co.jp が踏み台にされ、\
                    sample-shoji.co.jp の利用者に送られた。公開サーバ www.sample-shoji.co.jp（203.0.113.7）も改ざんされ、\
                    sample-shoji.co.jp を装うサイトもあった。";
        let a = anonymise(text, &known, &none());
        assert_eq!(
            a.text,
            "当該組織のドメインを騙るメールが届いた。当該サーバが踏み台にされ、当該組織の利用者に送られた。\
             公開サーバ（特定の IP アドレス）も改ざんされ、当該組織のドメインを装うサイトもあった。"
        );
        // Each is listed for the review, with what it became.
        let domains: Vec<(&str, &str)> = a
            .replacements
            .iter()
            .filter(|r| r.kind == "domain")
            .map(|r| (r.original.as_str(), r.replacement.as_str()))
            .collect();
        assert_eq!(
            domains,
            [
                ("sample-shoji.co.jp ドメイン", "当該組織のドメイン"),
                ("mail.sample-shoji.co.jp ", "当該サーバ"),
                ("sample-shoji.co.jp の", "当該組織の"),
                (" www.sample-shoji.co.jp", ""),
                ("sample-shoji.co.jp ", "当該組織のドメイン"),
            ]
        );
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
