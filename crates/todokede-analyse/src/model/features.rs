//! What the model sees of a text: character bigrams and trigrams of its Japanese runs, words
//! and word pairs of its Latin runs (Snowball-stemmed, digits folded to `0`), the concepts (`c:…`) and the
//! precise phrase rules that matched (`r:…`). Every feature is present or absent; the n-grams
//! share a fixed weight (`NGRAM_MASS`/n) so a long text does not outvote a short one, concepts and rules
//! count 1 each.

use crate::concepts::{self, ConceptHit};

/// The n-grams of a text share this much weight (L1): with √n or none, a long unfamiliar text
/// piles up the small negative weights of its many n-grams and every label sinks.
const NGRAM_MASS: f32 = 10.0;

/// Features of one text, with the words behind the concept and rule features.
#[derive(Debug, Default)]
pub struct TextFeatures {
    /// (feature, value), sorted and unique by feature.
    pub values: Vec<(String, f32)>,
    /// Feature → the words that produced it (concepts and rules only).
    pub phrases: Vec<(String, String)>,
}

/// Features of a normalised text; `rule_hits` are the targets of the phrase rules that matched
/// with a snippet of the match.
pub fn extract(normalised: &str, rule_hits: &[(String, String)]) -> TextFeatures {
    let lower = normalised.to_lowercase();
    let mut grams: Vec<String> = Vec::with_capacity(lower.len());
    let mut word = String::new();
    let mut prev_word: Option<String> = None;
    let mut run: Vec<char> = Vec::new();
    let flush_run = |run: &mut Vec<char>, grams: &mut Vec<String>| {
        for w in run.windows(2) {
            grams.push(format!("2:{}{}", w[0], w[1]));
        }
        for w in run.windows(3) {
            grams.push(format!("3:{}{}{}", w[0], w[1], w[2]));
        }
        if run.len() == 1 {
            grams.push(format!("1:{}", run[0]));
        }
        run.clear();
    };
    let flush_word = |word: &mut String, prev: &mut Option<String>, grams: &mut Vec<String>| {
        if word.is_empty() {
            return;
        }
        let raw: String = std::mem::take(word);
        let w = english_stem(&raw);
        grams.push(format!("w:{w}"));
        if let Some(p) = prev.take() {
            grams.push(format!("w2:{p} {w}"));
        }
        *prev = Some(w);
    };
    for ch in lower.chars() {
        if ch.is_ascii_alphanumeric() {
            flush_run(&mut run, &mut grams);
            let c = if ch.is_ascii_digit() { '0' } else { ch };
            if !(c == '0' && word.ends_with('0')) {
                word.push(c);
            }
        } else if ch.is_alphanumeric() {
            flush_word(&mut word, &mut prev_word, &mut grams);
            prev_word = None;
            run.push(ch);
        } else {
            flush_word(&mut word, &mut prev_word, &mut grams);
            if !matches!(ch, ' ' | '-' | '_' | '/' | '\'') {
                prev_word = None;
            }
            if !matches!(ch, 'ー' | '・') {
                flush_run(&mut run, &mut grams);
            } else {
                run.push(ch);
            }
        }
    }
    flush_word(&mut word, &mut prev_word, &mut grams);
    flush_run(&mut run, &mut grams);
    grams.sort_unstable();
    grams.dedup();
    let weight = NGRAM_MASS / grams.len().max(1) as f32;
    let mut values: Vec<(String, f32)> = grams.into_iter().map(|g| (g, weight)).collect();
    let mut phrases = Vec::new();
    for ConceptHit { concept, negated, phrase } in concepts::find(&lower) {
        let f = if negated { format!("c:{concept}!neg") } else { format!("c:{concept}") };
        phrases.push((f.clone(), phrase));
        values.push((f, 1.0));
    }
    for (target, snippet) in rule_hits {
        let f = format!("r:{target}");
        if !phrases.iter().any(|(p, _)| *p == f) {
            phrases.push((f.clone(), snippet.clone()));
            values.push((f, 1.0));
        }
    }
    values.sort_by(|a, b| a.0.cmp(&b.0));
    values.dedup_by(|a, b| a.0 == b.0);
    TextFeatures { values, phrases }
}

/// The Snowball (Porter 2) stem of an English word: "patched", "patches", "patching" → "patch".
pub(crate) fn english_stem(word: &str) -> String {
    static STEMMER: std::sync::OnceLock<rust_stemmers::Stemmer> = std::sync::OnceLock::new();
    STEMMER.get_or_init(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English)).stem(word).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn japanese_runs_give_character_grams_and_latin_runs_give_words() {
        let f = super::extract("SSH の password は admin123 でした", &[]);
        let names: Vec<&str> = f.values.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"w:ssh"), "{names:?}");
        assert!(names.contains(&"w:admin0"), "{names:?}");
        let f = super::extract("the server was not patched", &[]);
        assert!(f.values.iter().any(|(n, _)| n == "w:patch"), "stemmed: {:?}", f.values);
        assert!(names.contains(&"2:でし") && names.contains(&"3:でした"), "{names:?}");
        assert!(names.contains(&"c:literal_password"), "{names:?}");
    }
}
