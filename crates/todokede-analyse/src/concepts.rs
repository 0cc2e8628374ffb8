//! The concept layer: many wordings, one meaning (`data/concepts.txt`). A concept that matches
//! becomes a model feature `c:NAME`, or `c:NAME!neg` when its sentence denies it
//! (「暗号化はされていなかった」, "no data was exfiltrated"), so the model learns from meanings
//! and not only from the phrases it was trained on.

use regex::Regex;
use std::sync::OnceLock;

/// One concept found in a text, with the words that expressed it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConceptHit {
    pub concept: &'static str,
    pub negated: bool,
    /// The matched words (shown as the explanation of a decision).
    pub phrase: String,
    /// An affirmed match lies in a sentence that states a cause (「原因は…」, 「…により侵入」,
    /// "caused by", "due to"): the concept is then also the feature `c:NAME@cause`, so the
    /// model can tell a contractor who caused the breach from one who merely investigated it.
    pub in_cause_sentence: bool,
}

struct Concept {
    name: &'static str,
    negatable: bool,
    re: Regex,
}

struct Concepts {
    list: Vec<Concept>,
    /// Denial after a match, within its sentence.
    denial_after: Regex,
    /// Denial just before a match ("no data was exfiltrated", "never encrypted").
    denial_before: Regex,
    /// A sentence with one of these words states a cause.
    cause_marker: Regex,
}

fn concepts() -> &'static Concepts {
    static C: OnceLock<Concepts> = OnceLock::new();
    C.get_or_init(|| {
        let file = std::env::var("TODOKEDE_EXP_CONCEPTS")
            .ok()
            .map(|p| &*Box::leak(std::fs::read_to_string(p).unwrap().into_boxed_str()))
            .unwrap_or(include_str!("../data/concepts.txt"));
        let list: Vec<Concept> = file
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|l| {
                let mut it = l.splitn(3, ' ');
                let (name, flags, re) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
                Concept {
                    name,
                    negatable: flags == "N",
                    re: Regex::new(re).unwrap_or_else(|e| panic!("concept {name}: {e}")),
                }
            })
            .collect();
        Concepts {
            list,
            denial_after: Regex::new(
                r"^[^。．.!?！？、，,\n]{0,16}?(?:ていない|ていなかった|ておらず|ておりません|ませんでした|ません|されず|せず|なかった|なし|無し|ない(?:こと|と|。|$)|は確認されて|は見つかって|は認められ|事実はない)",
            )
            .unwrap(),
            denial_before: Regex::new(
                r"(?:\bno|\bnot|\bnever|n't|\bwithout|\bnor|\bneither|no evidence (?:of|that)|no sign(?:s)? of|no indication (?:of|that))(?:\s+\S+){0,3}\s*$",
            )
            .unwrap(),
            cause_marker: Regex::new(CAUSE_MARKER).unwrap(),
        }
    })
}

/// Words that make a sentence the statement of a cause (matched on lower-cased text).
const CAUSE_MARKER: &str = r"原因|起因|要因|経路|経由|ため|によ(?:り|って|る)|突かれ|悪用され|判明|とみられ|と見られ|可能性が高|\bcause|caused by|due to|because|stemmed from|result(?:ed)? (?:of|from)|attributed to|(?:was|were) (?:made )?possible|allowed|enabled|\bthrough\b|\bvia\b|exploit|led to|traced (?:back )?to";

/// The byte ranges of the sentences of `lower` that state a cause.
fn cause_sentences(lower: &str, marker: &Regex) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = lower.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        let ends = match ch {
            '。' | '\n' | '!' | '?' | '！' | '？' => true,
            '.' => chars.peek().is_none_or(|(_, n)| n.is_whitespace()),
            _ => false,
        };
        if ends {
            if marker.is_match(&lower[start..i]) {
                out.push((start, i));
            }
            start = i + ch.len_utf8();
        }
    }
    if start < lower.len() && marker.is_match(&lower[start..]) {
        out.push((start, lower.len()));
    }
    out
}

/// The names of every concept (for the model's feature list and the documentation).
pub fn names() -> impl Iterator<Item = &'static str> {
    concepts().list.iter().map(|c| c.name)
}

/// Concepts in a normalised, lower-cased text. A concept is reported once, negated only when
/// every one of its matches is denied.
pub fn find(lower: &str) -> Vec<ConceptHit> {
    let c = concepts();
    let causal = cause_sentences(lower, &c.cause_marker);
    let in_cause = |at: usize| causal.iter().any(|(s, e)| (*s..*e).contains(&at));
    let mut out = Vec::new();
    // One regex at a time: a RegexSet of these alternations thrashes its DFA cache (measured
    // 18 ms per 2 KB report; one at a time 0.09 ms, benches/classify.rs).
    for concept in &c.list {
        let mut first_affirmed: Option<String> = None;
        let mut first_denied: Option<String> = None;
        let mut in_cause_sentence = false;
        for m in concept.re.find_iter(lower) {
            let denied = concept.negatable && {
                let after = &lower[m.end()..];
                let start = floor_boundary(lower, m.start().saturating_sub(40));
                c.denial_after.is_match(after) || c.denial_before.is_match(&lower[start..m.start()])
            };
            let slot = if denied { &mut first_denied } else { &mut first_affirmed };
            if slot.is_none() {
                *slot = Some(m.as_str().chars().take(40).collect());
            }
            in_cause_sentence |= !denied && in_cause(m.start());
            if first_affirmed.is_some() && (in_cause_sentence || causal.is_empty()) {
                break;
            }
        }
        match (first_affirmed, first_denied) {
            (Some(phrase), _) => {
                out.push(ConceptHit { concept: concept.name, negated: false, phrase, in_cause_sentence })
            }
            (None, Some(phrase)) => {
                out.push(ConceptHit { concept: concept.name, negated: true, phrase, in_cause_sentence: false })
            }
            (None, None) => {}
        }
    }
    out
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(text: &str, name: &str) -> Option<bool> {
        find(&text.to_lowercase()).into_iter().find(|h| h.concept == name).map(|h| h.negated)
    }

    #[test]
    fn variants_of_one_meaning_are_one_concept() {
        for t in
            ["NAS をインターネットに公開していた", "ルータでポートを開放していた", "RDP was exposed to the internet"]
        {
            assert_eq!(hit(t, "exposed_internet"), Some(false), "{t}");
        }
        for t in ["推測されやすいパスワードだった", "a guessable password", "パスワードが単純だった"]
        {
            assert_eq!(hit(t, "guessable_password"), Some(false), "{t}");
        }
        for t in ["プラグインを半年以上更新していなかった", "the plugin had not been updated for months"]
        {
            assert_eq!(hit(t, "not_updated"), Some(false), "{t}");
        }
    }

    #[test]
    fn denials_are_kept_apart() {
        assert_eq!(hit("ファイルの暗号化はされていなかった。", "encrypted"), Some(true));
        assert_eq!(hit("No data was exfiltrated.", "leak"), Some(true));
        assert_eq!(hit("個人情報が流出した可能性がある", "leak"), Some(false));
        assert_eq!(hit("情報漏えいは確認されていない。", "leak"), Some(true));
    }

    #[test]
    fn every_concept_compiles_and_has_a_unique_name() {
        let all: Vec<_> = names().collect();
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(all.len(), unique.len());
        assert!(all.len() > 50);
    }
}
