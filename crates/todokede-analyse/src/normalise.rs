//! Normalisation before anything else reads the text: NFKC (full-width digits, letters and dots,
//! ideographic spaces), repair of line breaks inside Japanese text and of hyphenated English
//! words, and refanging of defanged indicators (`hxxp`, `[.]`, `[at]`, …).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::borrow::Cow;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization as _;

/// Defanging conventions seen in reports and threat-intel feeds, and what they stand for.
/// Leftmost-first matching: where one pattern extends another, the longer comes first.
const REFANG: &[(&str, &str)] = &[
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[dot]", "."),
    ("(dot)", "."),
    ("{dot}", "."),
    ("[DOT]", "."),
    ("(DOT)", "."),
    ("\\.", "."),
    ("[:]//", "://"),
    ("[://]", "://"),
    ("[:]", ":"),
    (":[/]/", "://"),
    ("hxxps", "https"),
    ("hxxp", "http"),
    ("hXXps", "https"),
    ("hXXp", "http"),
    ("HXXPS", "HTTPS"),
    ("HXXP", "HTTP"),
    ("Hxxps", "https"),
    ("Hxxp", "http"),
    ("h**ps", "https"),
    ("h**p", "http"),
    ("h++p", "http"),
    ("fxp", "ftp"),
    ("FXP", "FTP"),
    ("[at]", "@"),
    ("(at)", "@"),
    ("{at}", "@"),
    ("[@]", "@"),
    ("[AT]", "@"),
    ("(AT)", "@"),
];

fn refanger() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasickBuilder::new()
            // Explicit case variants rather than ascii_case_insensitive: it keeps the SIMD
            // prefilter usable (measured: refang 2.5× faster on Japanese text).
            .match_kind(MatchKind::LeftmostFirst)
            .build(REFANG.iter().map(|(from, _)| from))
            .expect("refang patterns")
    })
}

/// Undo defanging, in one pass. Spaces around a bracketed dot or at (`user [at] host [.] jp`)
/// go with it. (No pattern starts with a space: that would make every space a candidate.)
pub fn refang(text: &str) -> Cow<'_, str> {
    let ac = refanger();
    let mut out: Option<String> = None;
    let mut last = 0;
    for m in ac.find_iter(text) {
        let to = REFANG[m.pattern().as_usize()].1;
        // A scheme (`hxxp`, `fxp`) only at the start of a word: "afxp" is not "aftp".
        if to.starts_with(|c: char| c.is_ascii_alphabetic())
            && m.start() > 0
            && text.as_bytes()[m.start() - 1].is_ascii_alphanumeric()
        {
            continue;
        }
        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
        let mut start = m.start();
        let mut end = m.end();
        if to == "." || to == "@" {
            while start > last && text.as_bytes()[start - 1] == b' ' {
                start -= 1;
            }
            while text.as_bytes().get(end) == Some(&b' ') {
                end += 1;
            }
        }
        o.push_str(&text[last..start]);
        o.push_str(to);
        last = end;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[last..]);
            Cow::Owned(o)
        }
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F | 0x3040..=0x30FF | 0x31F0..=0x31FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFF01..=0xFF60)
}

/// Join lines broken inside Japanese text (PDF and mail clients break anywhere) and English
/// words hyphenated at a line end.
pub fn repair_line_breaks(text: &str) -> Cow<'_, str> {
    if !text.contains('\n') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices('\n') {
        let before = &text[last..i];
        let before_trim = before.strip_suffix('\r').unwrap_or(before);
        let after = &text[i + 1..];
        let prev = before_trim.chars().next_back();
        let next = after.chars().next();
        match (prev, next) {
            // A sentence end (。！？」) keeps its line break: that one was meant.
            (Some(p), Some(n)) if is_cjk(p) && is_cjk(n) && !matches!(p, '。' | '！' | '？' | '」' | '：') => {
                out.push_str(before_trim)
            }
            (Some('-'), Some(n))
                if n.is_ascii_lowercase()
                    && before_trim[..before_trim.len() - 1]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_ascii_alphabetic()) =>
            {
                out.push_str(&before_trim[..before_trim.len() - 1]);
            }
            _ => {
                out.push_str(before);
                out.push('\n');
            }
        }
        last = i + 1;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// Whether the UTF-8 sequence at `b[i..]` (of `len` bytes) is a character NFKC leaves alone
/// whatever precedes it: ASCII, hiragana, katakana, CJK unified ideographs and the common
/// Japanese punctuation — most of a Japanese report.
fn stable_at(b: &[u8], i: usize, len: usize) -> bool {
    match len {
        1 => true,
        3 => {
            let c = ((b[i] as u32 & 0x0F) << 12) | ((b[i + 1] as u32 & 0x3F) << 6) | (b[i + 2] as u32 & 0x3F);
            matches!(c, 0x3001..=0x3002 | 0x300C..=0x300F | 0x3041..=0x3096 | 0x30A1..=0x30FA | 0x30FC | 0x4E00..=0x9FFF)
        }
        _ => false,
    }
}

/// Whether a character that may combine with the one before starts at `b[j..]` (combining
/// diacritics U+0300–036F, kana voicing marks U+3099–309A, half-width ﾞﾟ U+FF9E–FF9F).
fn combining_at(b: &[u8], j: usize) -> bool {
    match b.get(j..j + 2) {
        Some([0xCC, _]) => true,
        Some([0xCD, x]) => *x <= 0xAF,
        Some([0xE3, 0x82]) => matches!(b.get(j + 2), Some(0x99 | 0x9A)),
        Some([0xEF, 0xBE]) => matches!(b.get(j + 2), Some(0x9E | 0x9F)),
        _ => false,
    }
}

fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// NFKC, normalising only the runs that need it and copying the rest: the same result as
/// `text.nfkc()`, several times faster on Japanese text, and no copy when nothing changes.
pub fn nfkc(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let (mut i, mut copied) = (0, 0);
    while i < b.len() {
        let len = utf8_len(b[i]);
        if stable_at(b, i, len) && !combining_at(b, i + len) {
            i += len;
            continue;
        }
        // An unstable run: up to the next stable character not followed by a combining mark.
        let start = i;
        i += len;
        while i < b.len() {
            let l = utf8_len(b[i]);
            if stable_at(b, i, l) && !combining_at(b, i + l) {
                break;
            }
            i += l;
        }
        let run = &text[start..i];
        if run.nfkc().eq(run.chars()) {
            continue;
        }
        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
        o.push_str(&text[copied..start]);
        o.extend(run.nfkc());
        copied = i;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
    }
}

/// The full normalisation: NFKC, line repair, refang.
pub fn normalise(text: &str) -> String {
    let nfkc = nfkc(text);
    let lines = repair_line_breaks(&nfkc);
    refang(&lines).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_digits_and_dots_become_ascii() {
        assert_eq!(normalise("１９２．１６８．０．１"), "192.168.0.1");
        assert_eq!(normalise("１９２.１６８.０.１"), "192.168.0.1");
        assert_eq!(normalise("ａｄｍｉｎ＠ｅｘａｍｐｌｅ．ｊｐ"), "admin@example.jp");
        assert_eq!(normalise("攻撃元\u{3000}IP"), "攻撃元 IP");
    }

    #[test]
    fn fast_nfkc_equals_full_nfkc() {
        for t in [
            "か\u{3099}ﾃﾞｰﾀ①㈱ＡＢＣ１２３",
            "普通の文章です。ＩＰは１．２．３．４",
            "Ｅｍｏｔｅｔ\u{3000}感染",
            "é e\u{301} ｶﾞ",
        ] {
            assert_eq!(nfkc(t), t.nfkc().collect::<String>(), "{t}");
        }
    }

    #[test]
    fn defanged_values_are_refanged() {
        assert_eq!(normalise("hxxps[:]//evil[.]example[.]com/a"), "https://evil.example.com/a");
        assert_eq!(normalise("afxp[at]a0a-mal[.]com"), "afxp@a0a-mal.com");
        assert_eq!(normalise("198(.)51(.)100[dot]7"), "198.51.100.7");
        assert_eq!(normalise("user[at]evil.jp, x (at) y.jp"), "user@evil.jp, x@y.jp");
        assert_eq!(normalise("x [at] evil [.] jp"), "x@evil.jp");
        assert_eq!(normalise("h**p://a.jp"), "http://a.jp");
    }

    #[test]
    fn broken_lines_are_joined_only_where_they_were_broken() {
        assert_eq!(normalise("データベ\nースが消去"), "データベースが消去");
        assert_eq!(normalise("データベ\r\nース"), "データベース");
        assert_eq!(normalise("brute-\nforce attack"), "bruteforce attack");
        assert_eq!(normalise("line one\nline two"), "line one\nline two");
        assert_eq!(normalise("被害。\nIP: 1.2.3.4"), "被害。\nIP: 1.2.3.4");
        assert_eq!(normalise("残されていた。\nデータ"), "残されていた。\nデータ");
    }
}
