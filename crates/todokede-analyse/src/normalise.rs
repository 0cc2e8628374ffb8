//! Normalisation before anything else reads the text: NFKC (full-width digits, letters and dots,
//! ideographic spaces), repair of line breaks inside Japanese text and of hyphenated English
//! words, and refanging of defanged indicators (`hxxp`, `[.]`, `[at]`, …).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::borrow::Cow;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization as _;

/// Defanging conventions seen in reports and threat-intel feeds, and what they stand for.
const REFANG: &[(&str, &str)] = &[
    ("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", "."), ("(dot)", "."), ("{dot}", "."), (" [.] ", "."), ("\\.", "."),
    ("[:]", ":"), ("[://]", "://"), ("[:]//", "://"), (":[/]/", "://"),
    ("hxxp", "http"), ("hxxps", "https"), ("h**p", "http"), ("h**ps", "https"), ("h++p", "http"), ("hXXp", "http"), ("fxp", "ftp"),
    ("[at]", "@"), ("(at)", "@"), ("{at}", "@"), ("[@]", "@"), (" [at] ", "@"), (" (at) ", "@"),
];

fn refanger() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(REFANG.iter().map(|(from, _)| from))
            .expect("refang patterns")
    })
}

/// Undo defanging. Cheap when there is nothing to undo.
pub fn refang(text: &str) -> Cow<'_, str> {
    let ac = refanger();
    if !ac.is_match(text) {
        return Cow::Borrowed(text);
    }
    let to: Vec<&str> = REFANG.iter().map(|(_, to)| *to).collect();
    Cow::Owned(ac.replace_all(text, &to))
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
            (Some(p), Some(n)) if is_cjk(p) && is_cjk(n) && !matches!(p, '。' | '！' | '？' | '」' | '：') => out.push_str(before_trim),
            (Some('-'), Some(n)) if n.is_ascii_lowercase()
                && before_trim[..before_trim.len() - 1].chars().next_back().is_some_and(|c| c.is_ascii_alphabetic()) =>
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

/// The full normalisation: NFKC, line repair, refang.
pub fn normalise(text: &str) -> String {
    let nfkc: Cow<str> = if text.is_ascii() { Cow::Borrowed(text) } else { Cow::Owned(text.nfkc().collect()) };
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
    fn defanged_values_are_refanged() {
        assert_eq!(normalise("hxxps[:]//evil[.]example[.]com/a"), "https://evil.example.com/a");
        assert_eq!(normalise("198(.)51(.)100[dot]7"), "198.51.100.7");
        assert_eq!(normalise("user[at]evil.jp, x (at) y.jp"), "user@evil.jp, x@y.jp");
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
