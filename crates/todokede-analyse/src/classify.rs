//! Classification into the IPA dimensions by weighted phrase rules (`data/rules.txt`), with the
//! evidence that led to each decision, ATT&CK techniques, and the 着目点 they call for.
//!
//! Method: every rule that matches adds its weight to its target; a target's confidence is
//! 1 − Π(1 − wᵢ). Causes are ordered by IPA's grouping precedence (the root condition that let
//! the attacker in: leaked credentials and phishing first, then code, patches, exposure,
//! passwords) among those with confidence ≥ `PRIMARY_THRESHOLD`, then by confidence.

use regex::Regex;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use todokede_domain::{AttackType, CauseCategory, ClosedEnum, DamageCategory};

/// A decision needs at least this confidence to be reported.
pub const REPORT_THRESHOLD: f32 = 0.4;
/// …and this much to become the primary cause.
pub const PRIMARY_THRESHOLD: f32 = 0.5;

/// IPA's grouping precedence of causes (2019H2 表2-1 groups; DOMAIN.md §2.1).
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

#[derive(Debug, Clone, PartialEq)]
pub struct Decision<T> {
    pub value: T,
    pub confidence: f32,
    /// The phrases (or derivations) that led to it.
    pub evidence: Vec<String>,
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
    countermeasures: Vec<(Countermeasure, Vec<&'static str>)>,
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
        let technique_names = include_str!("../data/techniques.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .collect();
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
            ));
        }
        Knowledge {
            rules,
            technique_names,
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

fn decisions<T: ClosedEnum>(scores: &BTreeMap<String, Score>, prefix: &str) -> Vec<Decision<T>> {
    let mut v: Vec<Decision<T>> = scores
        .iter()
        .filter_map(|(k, s)| {
            let key = k.strip_prefix(prefix)?;
            let value = T::parse(key).ok()?;
            (s.confidence() >= REPORT_THRESHOLD).then(|| Decision {
                value,
                confidence: s.confidence(),
                evidence: s.evidence.clone(),
            })
        })
        .collect();
    v.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    v
}

/// The ATT&CK name of a technique ID (empty when not in the table).
pub fn technique_name(id: &str) -> &'static str {
    knowledge().technique_names.get(id).copied().unwrap_or("")
}

/// The 着目点 relevant to an analyst-confirmed classification (publication uses these).
pub fn countermeasures_for(c: &todokede_domain::Classification) -> Vec<Countermeasure> {
    let fired: Vec<String> = c
        .causes
        .iter()
        .map(|c| format!("cause.{}", c.key()))
        .chain(c.damages.iter().map(|d| format!("damage.{}", d.key())))
        .chain(c.techniques.iter().map(|t| format!("technique.{t}")))
        .collect();
    countermeasures_fired_by(&fired)
}

fn countermeasures_fired_by(fired: &[String]) -> Vec<Countermeasure> {
    knowledge()
        .countermeasures
        .iter()
        .filter_map(|(c, triggers)| {
            let by: Vec<String> = fired.iter().filter(|f| triggers.contains(&f.as_str())).cloned().collect();
            (!by.is_empty()).then(|| Countermeasure { triggered_by: by, ..c.clone() })
        })
        .collect()
}

/// Classify normalised report text.
pub fn classify(text: &str) -> Classification {
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

    let mut damages: Vec<Decision<DamageCategory>> = decisions(&scores, "damage.");
    let attempt = scores.get("status.attempt").filter(|s| s.confidence() >= REPORT_THRESHOLD);
    let real_damage = damages.iter().any(|d| d.value != DamageCategory::None && d.confidence >= 0.6);
    let has_damage = match (attempt, real_damage) {
        (Some(_), false) => Some(false),
        (_, true) => Some(true),
        (None, false) => None,
    };
    let has_damage_evidence = match has_damage {
        Some(false) => attempt.map(|s| s.evidence.clone()).unwrap_or_default(),
        Some(true) => damages
            .iter()
            .filter(|d| d.value != DamageCategory::None)
            .flat_map(|d| d.evidence.iter().take(1).cloned())
            .collect(),
        None => vec![],
    };
    if has_damage == Some(false) {
        damages.retain(|d| d.value == DamageCategory::None);
        if damages.is_empty() {
            damages.push(Decision {
                value: DamageCategory::None,
                confidence: 0.8,
                evidence: has_damage_evidence.clone(),
            });
        }
    } else {
        damages.retain(|d| d.value != DamageCategory::None);
    }

    let mut causes: Vec<Decision<CauseCategory>> = decisions(&scores, "cause.");
    if has_damage == Some(false) {
        causes.insert(
            0,
            Decision { value: CauseCategory::NotApplicable, confidence: 0.8, evidence: has_damage_evidence.clone() },
        );
    }
    let rank = |c: CauseCategory| CAUSE_PRECEDENCE.iter().position(|x| *x == c).unwrap_or(usize::MAX);
    causes.sort_by(|a, b| {
        let strong = |d: &Decision<CauseCategory>| d.confidence >= PRIMARY_THRESHOLD;
        strong(b).cmp(&strong(a)).then(rank(a.value).cmp(&rank(b.value))).then(b.confidence.total_cmp(&a.confidence))
    });
    // A known cause makes "unknown" moot only when the text does not itself say it is unknown.
    // (Kept: "推測されるが特定には至らなかった" is both.)

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
    techniques.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.id.cmp(&b.id)));

    let attack_types = attack_types(&scores, &causes, &damages);

    let fired: Vec<String> = causes
        .iter()
        .map(|c| format!("cause.{}", c.value.key()))
        .chain(damages.iter().map(|d| format!("damage.{}", d.value.key())))
        .chain(techniques.iter().map(|t| format!("technique.{}", t.id)))
        .collect();
    let countermeasures = countermeasures_fired_by(&fired);

    Classification { causes, damages, attack_types, has_damage, has_damage_evidence, techniques, countermeasures }
}

/// 攻撃行為: text rules (`attack.*`) plus what follows from causes and damages.
fn attack_types(
    scores: &BTreeMap<String, Score>,
    causes: &[Decision<CauseCategory>],
    damages: &[Decision<DamageCategory>],
) -> Vec<Decision<AttackType>> {
    let mut out: Vec<Decision<AttackType>> = decisions(scores, "attack.");
    let mut derive = |t: AttackType, conf: f32, why: String| match out.iter_mut().find(|d| d.value == t) {
        Some(d) => {
            d.confidence = d.confidence.max(conf);
            d.evidence.push(why);
        }
        None => out.push(Decision { value: t, confidence: conf, evidence: vec![why] }),
    };
    use CauseCategory as C;
    use DamageCategory as D;
    for c in causes.iter().filter(|c| c.confidence >= PRIMARY_THRESHOLD) {
        match c.value {
            C::MissingAccessControl | C::WeakCredentials | C::UnpatchedSoftware | C::CustomCodeVulnerability => {
                derive(AttackType::Intrusion, c.confidence, format!("cause.{}", c.value.key()))
            }
            C::CredentialReuse | C::Phishing => {
                derive(AttackType::Impersonation, c.confidence, format!("cause.{}", c.value.key()))
            }
            _ => {}
        }
    }
    for d in damages {
        match d.value {
            D::AccountTakeover => derive(AttackType::Impersonation, d.confidence, "damage.account_takeover".into()),
            D::SteppingStone => derive(AttackType::SteppingStone, d.confidence, "damage.stepping_stone".into()),
            D::Tampering | D::MalwarePlaced | D::Ransomware | D::DataDestructionExtortion | D::InformationLeak => {
                derive(AttackType::Intrusion, d.confidence * 0.9, format!("damage.{}", d.value.key()))
            }
            D::MalwareInfection => {
                derive(AttackType::AutomatedWorm, d.confidence * 0.7, "damage.malware_infection".into())
            }
            _ => {}
        }
    }
    for d in &mut out {
        d.confidence = (d.confidence * 100.0).round() / 100.0;
        d.evidence.dedup();
    }
    out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    out
}
