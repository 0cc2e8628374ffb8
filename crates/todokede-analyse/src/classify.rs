//! Classification into the IPA dimensions (被害原因, 被害内容, 攻撃行為, 被害の有無), with the
//! evidence that led to each decision, ATT&CK techniques, and the 着目点 they call for.
//!
//! Method: the statistical model (`model`, trained on the labelled corpus) scores every label
//! from the text's character n-grams and words, its concepts (`data/concepts.txt`) and the
//! precise phrase rules (`data/rules.txt`, which are model features too). A label with
//! probability ≥ `DECIDE_THRESHOLD` is decided; the best cause below it is still shown, marked
//! `needs_review` (要確認), so a report that states a cause never silently gets none.
//! Techniques come from the technique phrase rules and from the decisions
//! (`data/technique_map.txt`); 着目点 from the confident causes and damages only.

use crate::model::{TextFeatures, TextModel};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use todokede_domain::{AttackType, CauseCategory, ClosedEnum, DamageCategory};

/// Among decided causes, IPA's grouping precedence picks the primary one (the root condition
/// that let the attacker in: leaked credentials and phishing first, then code, patches,
/// exposure, passwords; 2019H2 表2-1 groups, DOMAIN.md §2.1).
const CAUSE_PRECEDENCE: &[CauseCategory] = &[
    CauseCategory::CredentialReuse,
    CauseCategory::Phishing,
    CauseCategory::CustomCodeVulnerability,
    CauseCategory::UnpatchedSoftware,
    CauseCategory::MissingAccessControl,
    CauseCategory::WeakCredentials,
    CauseCategory::ThirdParty,
    CauseCategory::Other,
    CauseCategory::Unknown,
    CauseCategory::NotApplicable,
];

/// …between decided causes within this much confidence of the best.
const PRECEDENCE_MARGIN: f32 = 0.2;

/// Concepts of money taken by deceit: with them `other` (fraud) goes before `phishing`.
const MONEY_FRAUD: &[&str] = &["c:bec", "c:money"];

/// A concept or rule names a cause when it adds at least this much to the cause's log-odds.
const NAMED_PUSH: f32 = 1.0;

/// A technique phrase rule needs at least this confidence to be reported.
pub const REPORT_THRESHOLD: f32 = 0.4;

#[derive(Debug, Clone, PartialEq)]
pub struct Decision<T> {
    pub value: T,
    pub confidence: f32,
    /// The phrases (or derivations) that led to it.
    pub evidence: Vec<String>,
    /// Below the decision threshold: shown to the analyst as 要確認, never counted as decided.
    pub needs_review: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Technique {
    pub id: String,
    pub name: String,
    pub confidence: f32,
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Countermeasure {
    pub key: &'static str,
    pub ja: &'static str,
    pub en: &'static str,
    pub source: &'static str,
    /// The decisions (`cause.…`, `damage.…`, `technique.…`) that made it relevant.
    pub triggered_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub causes: Vec<Decision<CauseCategory>>,
    pub damages: Vec<Decision<DamageCategory>>,
    pub attack_types: Vec<Decision<AttackType>>,
    /// `Some(false)` when only an attempt is described, `None` when the text does not say.
    pub has_damage: Option<bool>,
    pub has_damage_evidence: Vec<String>,
    pub techniques: Vec<Technique>,
    pub countermeasures: Vec<Countermeasure>,
}

struct Rule {
    target: String,
    weight: f32,
    negatable: bool,
    re: Regex,
}

struct Knowledge {
    rules: Vec<Rule>,
    technique_names: BTreeMap<&'static str, &'static str>,
    /// The same techniques in Japanese (the third column of `data/techniques.txt`).
    technique_names_ja: BTreeMap<&'static str, &'static str>,
    /// (point, its triggers, the words the case must name for it: `requires:`).
    countermeasures: Vec<(Countermeasure, Vec<&'static str>, Option<Regex>)>,
    /// (every condition must hold: `cause.…`, `damage.…`, `attack.…`, `c:concept`) → technique IDs.
    technique_map: Vec<(Vec<String>, Vec<&'static str>)>,
    negation: Regex,
}

fn knowledge() -> &'static Knowledge {
    static K: OnceLock<Knowledge> = OnceLock::new();
    K.get_or_init(|| {
        let rules = include_str!("../data/rules.txt")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|l| {
                let mut it = l.splitn(4, ' ');
                let (t, w, f, re) = (
                    it.next().unwrap(),
                    it.next().unwrap(),
                    it.next().unwrap(),
                    it.next().unwrap_or_else(|| panic!("rule: {l}")),
                );
                Rule {
                    target: t.to_owned(),
                    weight: w.parse().unwrap_or_else(|_| panic!("weight in rule: {l}")),
                    negatable: f == "N",
                    re: Regex::new(re).unwrap_or_else(|e| panic!("rule {l}: {e}")),
                }
            })
            .collect();
        let technique_rows: Vec<Vec<&'static str>> = include_str!("../data/techniques.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split('\t').collect())
            .collect();
        let technique_names = technique_rows.iter().filter_map(|r| Some((*r.first()?, *r.get(1)?))).collect();
        let technique_names_ja = technique_rows.iter().filter_map(|r| Some((*r.first()?, *r.get(2)?))).collect();
        let mut countermeasures = Vec::new();
        for block in include_str!("../data/countermeasures.txt").split("\n\n") {
            let field = |name: &str| -> Option<&'static str> {
                block.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')).map(str::trim))
            };
            let (Some(key), Some(triggers)) = (field("key"), field("triggers")) else { continue };
            countermeasures.push((
                Countermeasure {
                    key,
                    ja: field("ja").unwrap_or(""),
                    en: field("en").unwrap_or(""),
                    source: field("source").unwrap_or(""),
                    triggered_by: vec![],
                },
                triggers.split_whitespace().collect(),
                field("requires").map(|r| Regex::new(r).unwrap_or_else(|e| panic!("countermeasure {key}: {e}"))),
            ));
        }
        let technique_map = include_str!("../data/technique_map.txt")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let mut it = l.split_whitespace();
                let condition = it.next().unwrap_or_default().split('+').map(str::to_owned).collect();
                (condition, it.collect())
            })
            .collect();
        Knowledge {
            rules,
            technique_map,
            technique_names,
            technique_names_ja,
            countermeasures,
            negation: Regex::new(
                r"(?:なかった|ていない|ていなかった|されず|ません|しなかった|(?i:\bnot\b|\bno\b|n't))",
            )
            .unwrap(),
        }
    })
}

fn snippet(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}

/// The rest of the sentence after a match (up to 。, . or a line end).
fn rest_of_sentence(text: &str, end: usize) -> &str {
    let rest = &text[end..];
    let mut stop = rest.find(['。', '\n', '.']).unwrap_or(rest.len()).min(120);
    while !rest.is_char_boundary(stop) {
        stop -= 1;
    }
    &rest[..stop]
}

#[derive(Default)]
struct Score {
    miss: f32,
    evidence: Vec<String>,
}

impl Score {
    fn add(&mut self, weight: f32, evidence: String) {
        self.miss *= 1.0 - weight;
        if !self.evidence.contains(&evidence) && self.evidence.len() < 5 {
            self.evidence.push(evidence);
        }
    }
    fn confidence(&self) -> f32 {
        ((1.0 - self.miss) * 100.0).round() / 100.0
    }
}

/// The ATT&CK name of a technique ID (empty when not in the table).
pub fn technique_name(id: &str) -> &'static str {
    knowledge().technique_names.get(id).copied().unwrap_or("")
}

/// The name of a technique ID in `lang` (ATT&CK's English name, or the Japanese one the
/// statistics and the publication print); empty when not in the table.
pub fn technique_name_in(id: &str, lang: todokede_domain::Language) -> &'static str {
    let k = knowledge();
    let names = match lang {
        todokede_domain::Language::Ja => &k.technique_names_ja,
        _ => &k.technique_names,
    };
    names.get(id).copied().unwrap_or("")
}

/// Every technique ID the knowledge base names.
pub fn named_techniques() -> Vec<&'static str> {
    knowledge().technique_names.keys().copied().collect()
}

/// The 着目点 relevant to an analyst-confirmed classification (publication uses these): those of
/// its own causes and damages.
pub fn countermeasures_for(c: &todokede_domain::Classification) -> Vec<Countermeasure> {
    let fired: Vec<String> = c
        .causes
        .iter()
        .map(|c| format!("cause.{}", c.key()))
        .chain(c.damages.iter().map(|d| format!("damage.{}", d.key())))
        .collect();
    countermeasures_fired_by(&fired, None)
}

/// The 着目点 that the fired decisions (`cause.…`, `damage.…`, `technique.…`) call for. With the
/// case's own words (`case`: its text and log evidence), a point tied to a tool or product
/// (`requires:` in `data/countermeasures.txt`: phpMyAdmin, a VPN appliance, mail macros) is
/// kept only when the case names it; without them (a confirmed classification alone) it is kept.
pub fn countermeasures_fired_by(fired: &[String], case: Option<&str>) -> Vec<Countermeasure> {
    knowledge()
        .countermeasures
        .iter()
        .filter(|(_, _, requires)| match (requires, case) {
            (Some(re), Some(text)) => re.is_match(text),
            _ => true,
        })
        .filter_map(|(c, triggers, _)| {
            let by: Vec<String> = fired.iter().filter(|f| triggers.contains(&f.as_str())).cloned().collect();
            (!by.is_empty()).then(|| Countermeasure { triggered_by: by, ..c.clone() })
        })
        .collect()
}

/// Damages and attack types (several per report) are decided from this probability (dev split).
pub const MULTI_LABEL_THRESHOLD: f32 = 0.4;
/// Below this probability a cause is not decided…
pub const DECIDE_THRESHOLD: f32 = 0.5;
/// …but the most likely cause is still shown, marked 要確認, down to this probability.
pub const REVIEW_FLOOR: f32 = 0.0;
/// A damage below the multi-label threshold is shown (as 要確認) only above this, and only
/// when the text says there was damage but no damage is sure.
pub const REVIEW_FLOOR_DAMAGE: f32 = 0.1;
/// At most this many 要確認 cause candidates are shown when none is decided.
const CAUSE_CANDIDATES: usize = 3;

/// The phrase rules that match a normalised text: (target, the matched words). A negatable
/// rule whose sentence denies it does not match.
pub fn rule_hits(text: &str) -> Vec<(String, String)> {
    rule_scores(text).into_iter().map(|(t, s)| (t, s.evidence.into_iter().next().unwrap_or_default())).collect()
}

fn rule_scores(text: &str) -> BTreeMap<String, Score> {
    let k = knowledge();
    let mut scores: BTreeMap<String, Score> = BTreeMap::new();
    for rule in &k.rules {
        for m in rule.re.find_iter(text) {
            if rule.negatable && k.negation.is_match(rest_of_sentence(text, m.end())) {
                continue;
            }
            scores
                .entry(rule.target.clone())
                .or_insert_with(|| Score { miss: 1.0, evidence: vec![] })
                .add(rule.weight, snippet(m.as_str()));
        }
    }
    scores
}

/// Classify normalised report text with the shipped model.
pub fn classify(text: &str) -> Classification {
    classify_with(crate::model::TextModel::embedded(), text)
}

/// The words behind a feature, for the explanation of a decision.
fn explain(feature: &str, features: &TextFeatures) -> String {
    if let Some((_, phrase)) = features.phrases.iter().find(|(f, _)| f == feature) {
        return match feature.strip_prefix("c:") {
            Some(c) if c.ends_with("!neg") => format!("「{phrase}」（否定 {}）", c.trim_end_matches("!neg")),
            Some(c) => format!("「{phrase}」（{c}）"),
            None => format!("「{phrase}」（規則）"),
        };
    }
    let gram = feature.split_once(':').map(|(_, g)| g).unwrap_or(feature);
    format!("「{gram}」")
}

/// At most this many explanations are kept per decision.
const MAX_EXPLANATIONS: usize = 4;
/// Characters of the sentence shown on each side of an n-gram's phrase.
const SPAN_CONTEXT: usize = 8;

/// English function words (Snowball stems): a word or word pair of these alone explains nothing.
const EN_STOP_WORDS: &[&str] = &[
    "a", "an", "the", "our", "ours", "their", "theirs", "we", "they", "us", "them", "it", "its", "this", "that",
    "these", "those", "of", "to", "in", "on", "at", "by", "for", "from", "with", "as", "and", "or", "but", "is", "are",
    "was", "were", "be", "been", "has", "had", "have", "i", "my", "me", "you", "your", "he", "she", "his", "her",
    "which", "who", "what", "so", "then", "than", "there", "here", "also", "some", "all", "any", "into", "onto",
    "about", "after", "before", "will", "would", "can", "could", "do", "did", "does", "s",
];

/// Why a label scored as it did, as a reader sees it, most contributing first: the concepts and
/// rules by the words that matched (`「phrase」（concept）`), the character n-grams and words by
/// the span of the text they sit in with the phrase marked (`「…を【使い回し】ていた…」`), adjacent
/// n-grams merged into one phrase, n-grams of function words only (でした, して, "our") left out.
/// The one way every decision's explanation is written (stored, shown on the report page).
fn explanation(because: &[(String, f32)], features: &TextFeatures, text: &TextIndex) -> Vec<String> {
    let (index, text) = (text, text.text);
    let mut ranked: Vec<(f32, String)> = Vec::new();
    // (byte range in the text, contribution) of the n-grams that explain something.
    let mut spans: Vec<(std::ops::Range<usize>, f32)> = Vec::new();
    for (f, c) in because {
        if f.starts_with("c:") || f.starts_with("r:") {
            ranked.push((*c, explain(f, features)));
        } else if let Some(range) = locate_gram(f, index) {
            spans.push((widen_to_word(text, range), *c));
        }
    }
    spans.sort_by_key(|(r, _)| (r.start, r.end));
    let mut merged: Vec<(std::ops::Range<usize>, f32)> = Vec::new();
    for (r, c) in spans {
        match merged.last_mut() {
            Some((m, mc)) if r.start <= m.end => {
                m.end = m.end.max(r.end);
                *mc += c;
            }
            _ => merged.push((r, c)),
        }
    }
    ranked.extend(merged.into_iter().map(|(r, c)| (c, in_context(text, r))));
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<String> = Vec::new();
    for (_, e) in ranked {
        if !out.contains(&e) && out.len() < MAX_EXPLANATIONS {
            out.push(e);
        }
    }
    out
}

/// A gram that only function words or particles make up (でした, して, "our", "of the").
fn is_stop_gram(feature: &str) -> bool {
    let Some((kind, gram)) = feature.split_once(':') else { return true };
    match kind {
        "w" | "w2" => gram.split(' ').all(|w| EN_STOP_WORDS.contains(&w)),
        // A lone character, or kana particles and endings only.
        "1" => true,
        _ => gram.chars().all(|c| matches!(c, '\u{3041}'..='\u{309F}' | 'ー' | '・')),
    }
}

/// The Latin words of a text with their byte ranges, stemmed as the model's features are.
fn latin_words(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let mut out = Vec::new();
    let mut start = None;
    let push = |s: usize, e: usize, out: &mut Vec<(std::ops::Range<usize>, String)>| {
        let mut w = String::new();
        for ch in text[s..e].chars().map(|c| c.to_ascii_lowercase()) {
            let c = if ch.is_ascii_digit() { '0' } else { ch };
            if !(c == '0' && w.ends_with('0')) {
                w.push(c);
            }
        }
        out.push((s..e, crate::model::features::english_stem(&w)));
    };
    for (i, ch) in text.char_indices() {
        match (ch.is_ascii_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                push(s, i, &mut out);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        push(s, text.len(), &mut out);
    }
    out
}

/// A report's text with what finding an n-gram in it needs, made once per report: every
/// label's explanation looks up its grams, and the words need not be stemmed or the text
/// lower-cased again for each lookup.
struct TextIndex<'a> {
    text: &'a str,
    lower: String,
    words: Vec<(std::ops::Range<usize>, String)>,
}

impl<'a> TextIndex<'a> {
    fn new(text: &'a str) -> Self {
        TextIndex { text, lower: text.to_ascii_lowercase(), words: latin_words(text) }
    }
}

/// Where an n-gram feature (`3:…`, `2:…`, `w:…`, `w2:… …`) first occurs in the text; `None` for a
/// function-word gram or one not found.
fn locate_gram(feature: &str, index: &TextIndex<'_>) -> Option<std::ops::Range<usize>> {
    if is_stop_gram(feature) {
        return None;
    }
    let (kind, gram) = feature.split_once(':')?;
    match kind {
        "w" => index.words.iter().find(|(_, w)| w == gram).map(|(r, _)| r.clone()),
        "w2" => {
            let (a, b) = gram.split_once(' ')?;
            index.words.windows(2).find(|p| p[0].1 == a && p[1].1 == b).map(|p| p[0].0.start..p[1].0.end)
        }
        _ => index.lower.find(gram).map(|s| s..s + gram.len()),
    }
}

/// Katakana (ー and ・ among them), kanji, Latin: the classes a Japanese word's n-gram is widened through.
fn script(c: char) -> u8 {
    match c {
        '\u{30A0}'..='\u{30FF}' => 1,
        '\u{4E00}'..='\u{9FFF}' | '々' => 2,
        c if c.is_ascii_alphanumeric() => 3,
        _ => 0,
    }
}

/// Widen a match to the whole word at its edges (パスワ → パスワード, 新して → 更新して).
fn widen_to_word(text: &str, r: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let (mut start, mut end) = (r.start, r.end);
    if let Some(first) = text[start..].chars().next() {
        let class = script(first);
        while let Some(c) = text[..start].chars().next_back().filter(|c| class != 0 && script(*c) == class) {
            start -= c.len_utf8();
        }
    }
    if let Some(last) = text[..end].chars().next_back() {
        let class = script(last);
        while let Some(c) = text[end..].chars().next().filter(|c| class != 0 && script(*c) == class) {
            end += c.len_utf8();
        }
    }
    start..end
}

/// The phrase with up to [`SPAN_CONTEXT`] characters of its sentence on each side:
/// 「…context【phrase】context…」.
fn in_context(text: &str, r: std::ops::Range<usize>) -> String {
    let stop = |c: char| matches!(c, '。' | '！' | '？' | '\n' | '!' | '?');
    let before: Vec<char> = text[..r.start].chars().rev().take_while(|c| !stop(*c)).take(SPAN_CONTEXT + 1).collect();
    let after: Vec<char> = text[r.end..].chars().take_while(|c| !stop(*c)).take(SPAN_CONTEXT + 1).collect();
    // A cut through a Latin word drops the word's stump ("…k their" → "…their").
    let trim_stump = |side: &[char]| -> usize {
        let kept = &side[..side.len().min(SPAN_CONTEXT)];
        if side.len() <= SPAN_CONTEXT || !side[SPAN_CONTEXT].is_ascii_alphanumeric() {
            return kept.len();
        }
        kept.iter().rposition(|c| c.is_whitespace()).unwrap_or(0)
    };
    let (keep_before, keep_after) = (trim_stump(&before), trim_stump(&after));
    let mut out = String::from("「");
    if before.len() > SPAN_CONTEXT {
        out.push('…');
    }
    out.extend(before[..keep_before].iter().rev());
    out.push('【');
    out.push_str(&text[r.clone()]);
    out.push('】');
    out.extend(after[..keep_after].iter());
    if after.len() > SPAN_CONTEXT {
        out.push('…');
    }
    out.push('」');
    out
}

/// An explanation as [`explain`] wrote it (stored in the analysis record), as a reader sees it:
/// the phrase, and whether a rule matched it or it was read as negated — in the reader's
/// language (the English page quotes with “ ”). The concept's name is the model's identifier
/// (`database_service`), not a word for a person, so it is left out. Anything else (a log
/// finding's `file: summary`, a technique's conditions) is shown as stored.
pub fn explanation_in(e: &str, lang: todokede_domain::Language) -> String {
    let Some(rest) = e.strip_prefix('「') else { return e.to_owned() };
    let Some((phrase, kind)) = rest.rsplit_once('」') else { return e.to_owned() };
    let kind = match kind.strip_prefix('（').and_then(|k| k.strip_suffix('）')) {
        None if kind.is_empty() => "",
        None => return e.to_owned(),
        Some("規則") => lang.pick("（規則）", " (rule)"),
        Some(k) if k.starts_with("否定 ") => lang.pick("（否定）", " (negated)"),
        Some(_) => "",
    };
    match lang {
        todokede_domain::Language::Ja => format!("「{phrase}」{kind}"),
        // The marked phrase of an n-gram's context: 【】 are Japanese brackets.
        todokede_domain::Language::En => format!("“{}”{kind}", phrase.replace('【', "[").replace('】', "]")),
    }
}

/// Classify normalised report text with a given model: the model scores every label from the
/// text's n-grams, concepts and rule matches; decisions keep the features that made them.
pub fn classify_with(model: &TextModel, text: &str) -> Classification {
    let k = knowledge();
    let scores = rule_scores(text);
    let hits: Vec<(String, String)> =
        scores.iter().map(|(t, s)| (t.clone(), s.evidence.first().cloned().unwrap_or_default())).collect();
    let features = crate::model::features::extract(text, &hits);
    let predictions = model.predict(&features);
    let index = TextIndex::new(text);
    let score = |label: &str| predictions.iter().find(|p| p.label == label);
    let decision = |p: &crate::model::LabelScore| -> (f32, Vec<String>, bool) {
        let evidence = explanation(&p.because, &features, &index);
        let confidence = (p.probability * 100.0).round() / 100.0;
        (confidence, evidence, p.probability < DECIDE_THRESHOLD)
    };
    /// (confidence, evidence, needs_review) of one label's score.
    type Explain<'a> = dyn Fn(&crate::model::LabelScore) -> (f32, Vec<String>, bool) + 'a;
    fn decided<T: ClosedEnum>(
        predictions: &[crate::model::LabelScore],
        prefix: &str,
        floor: f32,
        decision: &Explain<'_>,
    ) -> Vec<Decision<T>> {
        let mut v: Vec<Decision<T>> = predictions
            .iter()
            .filter(|p| p.probability >= floor)
            .filter_map(|p| {
                let value = T::parse(p.label.strip_prefix(prefix)?).ok()?;
                let (confidence, evidence, needs_review) = decision(p);
                Some(Decision { value, confidence, evidence, needs_review })
            })
            .collect();
        v.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        v
    }

    let p_damage = score(crate::model::STATUS_DAMAGE).map(|p| p.probability).unwrap_or(0.0);
    let p_no_damage = score(crate::model::STATUS_NO_DAMAGE).map(|p| p.probability).unwrap_or(0.0);
    // Several damages and attack types per report: decided from the multi-label threshold.
    let multi_label = |d: Decision<_>| Decision { needs_review: false, ..d };
    let mut damages: Vec<Decision<DamageCategory>> =
        decided(&predictions, "damage.", MULTI_LABEL_THRESHOLD, &decision).into_iter().map(multi_label).collect();
    let real_damage = damages.iter().any(|d| d.value != DamageCategory::None);
    let has_damage = if p_no_damage >= DECIDE_THRESHOLD && p_no_damage > p_damage {
        Some(false)
    } else if p_damage >= DECIDE_THRESHOLD || real_damage {
        Some(true)
    } else {
        None
    };
    let status_label = match has_damage {
        Some(true) => score(crate::model::STATUS_DAMAGE),
        Some(false) => score(crate::model::STATUS_NO_DAMAGE),
        None => None,
    };
    let has_damage_evidence = status_label.map(|p| decision(p).1).unwrap_or_default();
    if has_damage == Some(false) {
        damages.retain(|d| d.value == DamageCategory::None);
        if damages.is_empty() {
            let confidence = (p_no_damage * 100.0).round() / 100.0;
            damages.push(Decision {
                value: DamageCategory::None,
                confidence,
                evidence: has_damage_evidence.clone(),
                needs_review: false,
            });
        }
    } else {
        damages.retain(|d| d.value != DamageCategory::None);
    }
    // Damage stated but none sure enough: the likeliest is shown as 要確認, never nothing.
    if has_damage == Some(true) && damages.is_empty() {
        let best = decided::<DamageCategory>(&predictions, "damage.", REVIEW_FLOOR_DAMAGE, &decision)
            .into_iter()
            .find(|d| d.value != DamageCategory::None);
        damages.extend(best.map(|d| Decision { needs_review: true, ..d }));
    }

    let mut causes: Vec<Decision<CauseCategory>> = decided(&predictions, "cause.", REVIEW_FLOOR, &decision);
    // Below the threshold only the best candidate stays, marked 要確認.
    let confident = causes.iter().filter(|c| !c.needs_review).count();
    causes.truncate(confident.max(CAUSE_CANDIDATES));
    // Money taken by deceit (a changed bank account, a transfer to a fake account, gift cards):
    // the fraud is the cause (IPA: `other`, business-e-mail-compromise), not the mail that carried it.
    let money_fraud = features.values.iter().any(|(f, _)| MONEY_FRAUD.contains(&f.as_str()));
    let rank = |c: CauseCategory| {
        let at = |c: CauseCategory| CAUSE_PRECEDENCE.iter().position(|x| *x == c).map_or(usize::MAX, |i| 2 * i + 1);
        if money_fraud && c == CauseCategory::Other { at(CauseCategory::Phishing) - 1 } else { at(c) }
    };
    // Precedence decides only between causes about as sure as the best one.
    let best = causes.first().map(|c| c.confidence).unwrap_or(0.0);
    // …and only for a cause a concept or a rule speaks for: n-grams alone (「を使っ」 for 使い回し)
    // must not put a cause before a surer one that the text names.
    let named = |c: CauseCategory| {
        score(&format!("cause.{}", c.key())).is_some_and(|p| {
            // …by a clear push (≥ NAMED_PUSH), not a concept's side weight (admin123 for exposure).
            p.because
                .iter()
                .any(|(f, c)| (f.starts_with("c:") || f.starts_with("r:")) && !f.ends_with("!neg") && *c >= NAMED_PUSH)
        })
    };
    let close = |d: &Decision<CauseCategory>| {
        let fraud = money_fraud && d.value == CauseCategory::Other;
        !d.needs_review && d.confidence >= best - PRECEDENCE_MARGIN && (d.confidence >= best || named(d.value) || fraud)
    };
    causes.sort_by(|a, b| {
        close(b).cmp(&close(a)).then_with(|| {
            if close(a) { rank(a.value).cmp(&rank(b.value)) } else { b.confidence.total_cmp(&a.confidence) }
        })
    });
    if has_damage == Some(false) {
        causes.retain(|c| c.value == CauseCategory::NotApplicable);
        if causes.is_empty() {
            let confidence = (p_no_damage * 100.0).round() / 100.0;
            causes.push(Decision {
                value: CauseCategory::NotApplicable,
                confidence,
                evidence: has_damage_evidence.clone(),
                needs_review: false,
            });
        }
    } else {
        causes.retain(|c| c.value != CauseCategory::NotApplicable);
    }

    let attack_types: Vec<Decision<AttackType>> = decided(&predictions, "attack.", MULTI_LABEL_THRESHOLD, &decision)
        .into_iter()
        .map(|d| Decision { needs_review: false, ..d })
        .collect();

    // ATT&CK: the precise technique phrases, then what the decisions imply.
    let mut techniques: Vec<Technique> = scores
        .iter()
        .filter_map(|(key, s)| {
            let id = key.strip_prefix("technique.")?;
            (s.confidence() >= REPORT_THRESHOLD).then(|| Technique {
                id: id.to_owned(),
                name: k.technique_names.get(id).copied().unwrap_or("").to_owned(),
                confidence: s.confidence(),
                evidence: s.evidence.clone(),
            })
        })
        .collect();
    let facts: Vec<(String, f32)> = causes
        .iter()
        .filter(|d| !d.needs_review)
        .map(|d| (format!("cause.{}", d.value.key()), d.confidence))
        .chain(damages.iter().map(|d| (format!("damage.{}", d.value.key()), d.confidence)))
        .chain(attack_types.iter().map(|d| (format!("attack.{}", d.value.key()), d.confidence)))
        .chain(features.values.iter().filter(|(f, _)| f.starts_with("c:")).map(|(f, _)| (f.clone(), 1.0)))
        .collect();
    for (condition, ids) in &k.technique_map {
        let held: Vec<&(String, f32)> = condition.iter().filter_map(|c| facts.iter().find(|(f, _)| f == c)).collect();
        if held.len() != condition.len() {
            continue;
        }
        let confidence = held.iter().map(|(_, c)| *c).fold(1.0f32, f32::min);
        let why = condition.join(" + ");
        for id in ids {
            match techniques.iter_mut().find(|t| t.id == *id) {
                Some(t) => {
                    t.confidence = t.confidence.max(confidence);
                    if !t.evidence.contains(&why) {
                        t.evidence.push(why.clone());
                    }
                }
                None => techniques.push(Technique {
                    id: (*id).to_owned(),
                    name: k.technique_names.get(id).copied().unwrap_or("").to_owned(),
                    confidence,
                    evidence: vec![why.clone()],
                }),
            }
        }
    }
    techniques.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.id.cmp(&b.id)));

    // 着目点 for this case's own confident causes and damages only.
    let fired: Vec<String> = causes
        .iter()
        .filter(|d| !d.needs_review)
        .map(|c| format!("cause.{}", c.value.key()))
        .chain(damages.iter().map(|d| format!("damage.{}", d.value.key())))
        .collect();
    let countermeasures = countermeasures_fired_by(&fired, Some(text));

    Classification { causes, damages, attack_types, has_damage, has_damage_evidence, techniques, countermeasures }
}

#[cfg(test)]
mod tests {
    use super::classify;
    use crate::normalise::normalise;
    use todokede_domain::CauseCategory;

    const SKIMMING: &str = "Our online shop was compromised through a payment plugin maintained by our contractor. \
        Attackers inserted a card skimmer and our customers' credit card numbers were stolen.";

    /// Issue 14 (user trial): 委託先 for a card-skimming text was explained by “their”, “custom”,
    /// “our”. Now the concepts and rules come first, an n-gram is shown in its sentence with the
    /// phrase marked, and function-word n-grams are never shown.
    #[test]
    fn explanations_are_concepts_and_phrases_in_context_never_function_words() {
        let texts = [
            SKIMMING,
            "パスワードを使い回していたため、不正ログインされました。",
            "委託先が運用する EC サイトに不正なスクリプトが埋め込まれ、お客様のクレジットカード情報が盗まれました。",
            "Their staff told us that our server was not patched for a year and the attackers used it.",
        ];
        for text in texts {
            let c = classify(&normalise(text));
            let all = c.causes.iter().flat_map(|d| &d.evidence).chain(c.damages.iter().flat_map(|d| &d.evidence));
            for e in all {
                let gram = e.strip_prefix('「').and_then(|e| e.strip_suffix('」'));
                // An n-gram is never shown bare: it sits in its span with the phrase marked.
                assert!(gram.is_none_or(|g| g.contains('【')), "{text}: bare n-gram {e}");
                for stop in ["our", "their", "the", "でした", "して", "our】", "【their】", "【でした】", "【して】"]
                {
                    assert_ne!(gram, Some(stop), "{text}: {e}");
                    assert!(!e.contains(&format!("【{stop}】")), "{text}: {e}");
                }
            }
        }
        let c = classify(&normalise(SKIMMING));
        let third = c.causes.iter().find(|d| d.value == CauseCategory::ThirdParty).expect("third party");
        assert!(third.evidence[0].contains("contractor"), "{:?}", third.evidence);
        // A katakana n-gram (「スワー」) is shown as its word in its sentence.
        let c = classify(&normalise("パスワードを使い回していたため、不正ログインされました。"));
        let ev: Vec<&String> = c.causes.iter().flat_map(|d| &d.evidence).collect();
        assert!(ev.iter().any(|e| e.contains("【パスワード")), "{ev:?}");
        assert!(!ev.iter().any(|e| e.as_str() == "「スワー」" || e.as_str() == "「パスワ」"), "{ev:?}");
    }

    #[test]
    fn adjacent_ngrams_merge_into_one_phrase_ranked_by_contribution() {
        let text = "パスワードを使い回していた。";
        let features = crate::model::features::extract(text, &[]);
        let because = vec![
            ("3:パスワ".to_owned(), 0.2),
            ("3:スワー".to_owned(), 0.3),
            ("2:でし".to_owned(), 0.9),
            ("3:使い回".to_owned(), 0.6),
            ("2:して".to_owned(), 0.9),
        ];
        let e = super::explanation(&because, &features, &super::TextIndex::new(text));
        assert_eq!(e, ["「パスワードを【使い回】していた」", "「【パスワード】を使い回していた」"]);
        let text = "We think their custom plugin was old.";
        let features = crate::model::features::extract(text, &[]);
        let because =
            vec![("w:their".to_owned(), 0.9), ("w:custom".to_owned(), 0.3), ("w2:custom plugin".to_owned(), 0.2)];
        let e = super::explanation(&because, &features, &super::TextIndex::new(text));
        assert_eq!(e, ["「…their 【custom plugin】 was old…」"]);
        // The English page marks the phrase without Japanese brackets.
        let shown = super::explanation_in("「…their 【custom plugin】 was old…」", todokede_domain::Language::En);
        assert_eq!(shown, "“…their [custom plugin] was old…”");
    }

    fn points(text: &str) -> Vec<&'static str> {
        classify(&normalise(text)).countermeasures.iter().map(|m| m.key).collect()
    }

    /// Issue 14 (user trial): the phpMyAdmin point went to a ransomware-via-VPN case and a card-
    /// skimming case; a macro virus got no macro point. A tool's point needs the case to name it.
    #[test]
    fn countermeasures_follow_the_cases_own_causes_and_tools() {
        let vpn = points(
            "古い VPN 装置の脆弱性を突かれて社内ネットワークに侵入され、ランサムウェアでファイルサーバが暗号化されました。",
        );
        assert!(vpn.contains(&"vpn_appliance_patch") && vpn.contains(&"offline_backups"), "{vpn:?}");
        assert!(!vpn.contains(&"remove_temporary_services"), "{vpn:?}");
        for skimming in [
            SKIMMING,
            "委託先が運用する EC サイトに不正なスクリプトが埋め込まれ、お客様のクレジットカード情報が盗まれました。",
        ] {
            let p = points(skimming);
            assert!(p.contains(&"contractor_access"), "{p:?}");
            assert!(!p.contains(&"remove_temporary_services") && !p.contains(&"vpn_appliance_patch"), "{p:?}");
        }
        let macro_mail = points(
            "請求書を装ったメールの添付ファイル（Word）を開き、マクロを有効にしたところウイルスに感染しました。",
        );
        assert!(macro_mail.contains(&"mail_macro_attachments"), "{macro_mail:?}");
        let en = points(
            "An employee opened an invoice attachment from a fake supplier and enabled macros; the PC was infected with malware.",
        );
        assert!(en.contains(&"mail_macro_attachments"), "{en:?}");
        // The phpMyAdmin point stays where the text names the tool.
        let pma = points(
            "phpMyAdmin がインターネットから誰でもアクセスできる状態で、データベースが削除され身代金を要求された。",
        );
        assert!(pma.contains(&"remove_temporary_services"), "{pma:?}");
    }
}
