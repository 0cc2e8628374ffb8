//! The analysis record: what `todokede analyse --json` prints and `analyses.result_json`
//! stores, as one typed value (schema in ARCHITECTURE.md § Analysis JSON). Built once by
//! [`Analysis::record`], completed with attached logs by [`AnalysisRecord::add_evidence`],
//! decoded only by [`AnalysisRecord::parse`]; everyone else reads its fields.
//!
//! Every field has a default, so records stored by earlier analyser versions (without
//! `needs_review`, say) keep reading.

use crate::evidence::{Facts, Finding, Severity};
use crate::{ANALYSER_VERSION, Analysis, Decision, IndicatorType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use todokede_domain::{CauseCategory, ClosedEnum, DamageCategory};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalysisRecord {
    pub analyser_version: String,
    pub normalised: String,
    /// Attacker-side and otherwise notable values, per type, in order of first appearance.
    pub indicators: BTreeMap<IndicatorType, Vec<String>>,
    /// The reporter's own addresses.
    pub internal: BTreeMap<IndicatorType, Vec<String>>,
    /// Known-benign values (documentation ranges, well-known services, the scheme's domains).
    pub context: Vec<ContextValue>,
    /// Primary cause first, the others most confident first.
    pub causes: Vec<DecisionRecord>,
    pub damages: Vec<DecisionRecord>,
    pub attack_types: Vec<DecisionRecord>,
    pub has_damage: Option<bool>,
    pub has_damage_evidence: Vec<String>,
    pub techniques: Vec<TechniqueRecord>,
    pub countermeasures: Vec<CountermeasureRecord>,
    /// Stored analyses only: the attached logs and their findings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceFile>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContextValue {
    #[serde(rename = "type")]
    pub kind: Option<IndicatorType>,
    pub value: String,
    /// documentation | well_known | scheme | special | internal
    pub reason: String,
}

/// One decided (or 要確認) category with the phrases that decided it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionRecord {
    pub key: String,
    pub label_ja: String,
    pub label_en: String,
    pub confidence: f32,
    /// Below the decision threshold: shown as 要確認, never counted as decided.
    pub needs_review: bool,
    pub evidence: Vec<String>,
}

impl DecisionRecord {
    fn of<T: ClosedEnum>(d: &Decision<T>) -> DecisionRecord {
        DecisionRecord {
            key: d.value.key().to_owned(),
            label_ja: d.value.label_ja().to_owned(),
            label_en: d.value.label_en().to_owned(),
            confidence: d.confidence,
            needs_review: d.needs_review,
            evidence: d.evidence.clone(),
        }
    }

    fn from_log<T: ClosedEnum>(value: T, confidence: f32, why: String) -> DecisionRecord {
        DecisionRecord {
            key: value.key().to_owned(),
            label_ja: value.label_ja().to_owned(),
            label_en: value.label_en().to_owned(),
            confidence,
            needs_review: false,
            evidence: vec![why],
        }
    }

    /// The category, when the key is one this version knows.
    pub fn value<T: ClosedEnum>(&self) -> Option<T> {
        T::parse(&self.key).ok()
    }

    pub fn label(&self, lang: todokede_domain::Language) -> &str {
        lang.pick(&self.label_ja, &self.label_en)
    }

    /// The evidence in the reader's language (stored as the classifier wrote it).
    pub fn evidence(&self, lang: todokede_domain::Language) -> Vec<String> {
        self.evidence.iter().map(|e| crate::classify::explanation_in(e, lang)).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TechniqueRecord {
    pub id: String,
    pub name: String,
    pub confidence: f32,
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CountermeasureRecord {
    pub key: String,
    pub ja: String,
    pub en: String,
    pub source: String,
    /// The decisions (`cause.…`, `damage.…`, `technique.…`) that made it relevant.
    pub triggered_by: Vec<String>,
}

/// The kind of an attached log, as [`crate::evidence::detect`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceKind {
    Sshd,
    Access,
    Login,
    Mail,
    Evtx,
}

impl EvidenceKind {
    pub fn parse(key: &str) -> Option<EvidenceKind> {
        Some(match key {
            "sshd" => EvidenceKind::Sshd,
            "access" => EvidenceKind::Access,
            "login" => EvidenceKind::Login,
            "mail" => EvidenceKind::Mail,
            "evtx" => EvidenceKind::Evtx,
            _ => return None,
        })
    }
}

/// One attached log and what its analyser found in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceFile {
    pub file: String,
    /// The same bytes attached again under other names (analysed once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_attached_as: Vec<String>,
    pub kind: EvidenceKind,
    /// Lines (records for .evtx) read.
    pub lines: u64,
    #[serde(default)]
    pub unreadable: u64,
    #[serde(default)]
    pub findings: Vec<FindingRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    pub kind: String,
    pub severity: Severity,
    /// The sentence in English, as written when analysed: what a record without `facts` (from
    /// an analyser before them) shows in every language. Read [`FindingRecord::summary_in`].
    pub summary: String,
    /// The numbers and names the sentence is made of, shown in the reader's language.
    #[serde(default, skip_serializing_if = "Facts::is_empty")]
    pub facts: Facts,
    #[serde(default)]
    pub technique: Option<String>,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub accounts: Vec<String>,
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub first_seen: Option<String>,
    #[serde(default)]
    pub last_seen: Option<String>,
    #[serde(default)]
    pub proof: Vec<ProofRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofRecord {
    /// 1-based.
    pub line: u64,
    pub text: String,
}

impl From<&Finding> for FindingRecord {
    fn from(f: &Finding) -> FindingRecord {
        FindingRecord {
            kind: f.kind.to_owned(),
            severity: f.severity,
            summary: f.summary(),
            facts: f.facts.clone(),
            technique: f.technique.map(str::to_owned),
            sources: f.sources.clone(),
            accounts: f.accounts.clone(),
            count: f.count,
            first_seen: f.first_seen.clone(),
            last_seen: f.last_seen.clone(),
            proof: f.proof.iter().map(|p| ProofRecord { line: p.line, text: p.text.clone() }).collect(),
        }
    }
}

impl FindingRecord {
    /// The sentence in the reader's language, made from the facts; the stored (English)
    /// sentence for a record that has no facts, or facts this version has no wording for.
    pub fn summary_in(&self, lang: todokede_domain::Language) -> String {
        if self.facts.is_empty() {
            return self.summary.clone();
        }
        crate::evidence::sentence::sentence(&self.kind, &self.facts, lang).unwrap_or_else(|| self.summary.clone())
    }
}

impl EvidenceFile {
    pub fn new(file: &str, kind: EvidenceKind, lines: u64, unreadable: u64, findings: &[Finding]) -> EvidenceFile {
        EvidenceFile {
            file: file.to_owned(),
            also_attached_as: vec![],
            kind,
            lines,
            unreadable,
            findings: findings.iter().map(Into::into).collect(),
        }
    }
}

impl Analysis {
    /// The record of this analysis (no evidence yet: see [`AnalysisRecord::add_evidence`]).
    pub fn record(&self) -> AnalysisRecord {
        let c = &self.classification;
        let values = |v: &crate::indicators::ValueSet| v.by_type.clone();
        AnalysisRecord {
            analyser_version: ANALYSER_VERSION.to_owned(),
            normalised: self.normalised.clone(),
            indicators: values(&self.extraction.indicators),
            internal: values(&self.extraction.internal),
            context: self
                .extraction
                .context
                .iter()
                .map(|(t, v, b)| ContextValue { kind: Some(*t), value: v.clone(), reason: b.key().to_owned() })
                .collect(),
            causes: c.causes.iter().map(DecisionRecord::of).collect(),
            damages: c.damages.iter().map(DecisionRecord::of).collect(),
            attack_types: c.attack_types.iter().map(DecisionRecord::of).collect(),
            has_damage: c.has_damage,
            has_damage_evidence: c.has_damage_evidence.clone(),
            techniques: c
                .techniques
                .iter()
                .map(|t| TechniqueRecord {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    confidence: t.confidence,
                    evidence: t.evidence.clone(),
                })
                .collect(),
            countermeasures: c
                .countermeasures
                .iter()
                .map(|m| CountermeasureRecord {
                    key: m.key.to_owned(),
                    ja: m.ja.to_owned(),
                    en: m.en.to_owned(),
                    source: m.source.to_owned(),
                    triggered_by: m.triggered_by.clone(),
                })
                .collect(),
            evidence: vec![],
        }
    }
}

/// A finding's evidence string holds at most this many log findings per decision.
const MAX_LOG_EVIDENCE: usize = 6;

impl AnalysisRecord {
    /// Decode a stored record (the one place that reads the stored JSON).
    pub fn parse(json: &str) -> Result<AnalysisRecord, serde_json::Error> {
        serde_json::from_str(json)
    }

    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).expect("an analysis record always serialises")
    }

    /// Attach the findings of the report's logs, and fold them into the decisions: their
    /// techniques, the damages they show and the causes they point to join the text's, each
    /// with the log finding as its evidence. High and medium findings only.
    pub fn add_evidence(&mut self, files: Vec<EvidenceFile>) {
        let mut log_techniques: Vec<String> = Vec::new();
        for file in &files {
            for f in &file.findings {
                if !matches!(f.severity, Severity::High | Severity::Medium) {
                    continue;
                }
                let why = format!("{}: {}", file.file, f.summary);
                if let Some(t) = &f.technique {
                    log_techniques.push(format!("technique.{t}"));
                    let technique = TechniqueRecord {
                        id: t.clone(),
                        name: crate::technique_name(t).to_owned(),
                        confidence: 0.9,
                        evidence: vec![why.clone()],
                    };
                    match self.techniques.iter_mut().find(|x| x.id == technique.id) {
                        Some(existing) => push_bounded(&mut existing.evidence, &why),
                        None => self.techniques.push(technique),
                    }
                }
                let (damage, cause) = crate::evidence::implications(&f.kind);
                if let Some(d) = damage {
                    merge_decision(&mut self.damages, DecisionRecord::from_log(d, 0.9, why.clone()));
                }
                if let Some(c) = cause {
                    merge_decision(&mut self.causes, DecisionRecord::from_log(c, 0.8, why.clone()));
                }
            }
        }
        self.evidence.extend(files);
        self.add_countermeasures(&log_techniques);
    }

    /// The 着目点 of the decisions as the logs completed them (a wp-login.php flood's T1110
    /// calls for strong passwords), gated by what the text and the logs name.
    fn add_countermeasures(&mut self, log_techniques: &[String]) {
        let fired: Vec<String> = self
            .causes
            .iter()
            .filter(|d| !d.needs_review)
            .map(|d| format!("cause.{}", d.key))
            .chain(self.damages.iter().filter(|d| !d.needs_review).map(|d| format!("damage.{}", d.key)))
            .chain(log_techniques.iter().cloned())
            .collect();
        let mut case = self.normalised.clone();
        for f in self.evidence.iter().flat_map(|e| &e.findings) {
            case.push('\n');
            case.push_str(&f.summary);
            for l in &f.proof {
                case.push('\n');
                case.push_str(&l.text);
            }
        }
        for m in crate::classify::countermeasures_fired_by(&fired, Some(&case)) {
            match self.countermeasures.iter_mut().find(|x| x.key == m.key) {
                Some(existing) => {
                    for t in m.triggered_by {
                        if !existing.triggered_by.contains(&t) {
                            existing.triggered_by.push(t);
                        }
                    }
                }
                None => self.countermeasures.push(CountermeasureRecord {
                    key: m.key.to_owned(),
                    ja: m.ja.to_owned(),
                    en: m.en.to_owned(),
                    source: m.source.to_owned(),
                    triggered_by: m.triggered_by,
                }),
            }
        }
    }

    /// A decision's evidence in the reader's language: a log finding's `FILE: summary` (as
    /// [`AnalysisRecord::add_evidence`] stored it, in English) with the finding's sentence in
    /// that language, the classifier's phrases as [`DecisionRecord::evidence`] shows them.
    pub fn evidence_in(&self, d: &DecisionRecord, lang: todokede_domain::Language) -> Vec<String> {
        d.evidence
            .iter()
            .map(|e| {
                let from_log = self.evidence.iter().find_map(|file| {
                    let summary = e.strip_prefix(file.file.as_str())?.strip_prefix(": ")?;
                    let f = file.findings.iter().find(|f| f.summary == summary)?;
                    Some(format!("{}: {}", file.file, f.summary_in(lang)))
                });
                from_log.unwrap_or_else(|| crate::classify::explanation_in(e, lang))
            })
            .collect()
    }

    /// The primary cause: the first decided one.
    pub fn primary_cause(&self) -> Option<CauseCategory> {
        self.causes.iter().find(|d| !d.needs_review).and_then(DecisionRecord::value)
    }

    /// The automatic classification as domain values: decided values only (a 要確認 candidate
    /// is the analyst's to confirm).
    pub fn suggested_classification(&self) -> todokede_domain::Classification {
        fn decided<T: ClosedEnum>(v: &[DecisionRecord]) -> Vec<T> {
            v.iter().filter(|d| !d.needs_review).filter_map(DecisionRecord::value).collect()
        }
        todokede_domain::Classification {
            causes: decided(&self.causes),
            damages: decided::<DamageCategory>(&self.damages),
            attack_types: decided(&self.attack_types),
            techniques: self.techniques.iter().map(|t| t.id.clone()).collect(),
            has_damage: self.has_damage,
        }
    }
}

fn push_bounded(evidence: &mut Vec<String>, why: &str) {
    if evidence.len() < MAX_LOG_EVIDENCE {
        evidence.push(why.to_owned());
    }
}

fn merge_decision(list: &mut Vec<DecisionRecord>, decision: DecisionRecord) {
    match list.iter_mut().find(|d| d.key == decision.key) {
        Some(existing) => {
            push_bounded(&mut existing.evidence, &decision.evidence[0]);
            // What a log proves is decided, whatever the text alone suggested.
            if existing.needs_review {
                existing.needs_review = false;
                existing.confidence = existing.confidence.max(decision.confidence);
            }
        }
        None => list.push(decision),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as the current schema stores it: read and written again, every field survives
    /// and nothing is added.
    #[test]
    fn a_stored_record_reads_and_writes_back_unchanged() {
        let stored = include_str!("../tests/snapshots/stored_0.1.0+model1.json");
        let record = AnalysisRecord::parse(stored).unwrap();
        let original: serde_json::Value = serde_json::from_str(stored).unwrap();
        let written: serde_json::Value = serde_json::from_str(&record.to_json_string()).unwrap();
        assert_eq!(written, original);
        assert_eq!(record.primary_cause(), Some(CauseCategory::WeakCredentials));
        assert_eq!(record.evidence[0].kind, EvidenceKind::Sshd);
        assert_eq!(record.indicators[&IndicatorType::Ipv4], ["45.33.32.156"]);
        // The 要確認 cause is not suggested; the decided one is.
        let suggested = record.suggested_classification();
        assert_eq!(suggested.causes, [CauseCategory::WeakCredentials]);
        assert_eq!(suggested.techniques, ["T1110.001"]);
    }

    /// A decision's evidence as a person reads it: the phrase and whether a rule matched it or
    /// it was negated, in the reader's language (“phrase” (rule), not 「…」（規則）, on the English
    /// page), never the model's concept identifiers (`no_restriction`).
    #[test]
    fn a_decisions_evidence_reads_in_the_readers_language() {
        use todokede_domain::Language;
        let d = DecisionRecord {
            evidence: vec![
                "「phpMyAdmin」（規則）".into(),
                "「アクセス制限」（否定 no_restriction）".into(),
                "「外部公開」（exposed_internet）".into(),
                "「パスワ」".into(),
                "auth.log: 12 failed logins from 45.33.32.156".into(),
            ],
            ..Default::default()
        };
        assert_eq!(
            d.evidence(Language::Ja),
            [
                "「phpMyAdmin」（規則）",
                "「アクセス制限」（否定）",
                "「外部公開」",
                "「パスワ」",
                "auth.log: 12 failed logins from 45.33.32.156"
            ]
        );
        assert_eq!(
            d.evidence(Language::En),
            [
                "“phpMyAdmin” (rule)",
                "“アクセス制限” (negated)",
                "“外部公開”",
                "“パスワ”",
                "auth.log: 12 failed logins from 45.33.32.156",
            ]
        );
    }

    /// A finding stored before findings kept their facts (the snapshot's: a summary only) is
    /// shown as it was stored, in either language — and so is the decision evidence naming it.
    #[test]
    fn a_finding_without_facts_shows_its_stored_sentence() {
        use todokede_domain::Language;
        let record = AnalysisRecord::parse(include_str!("../tests/snapshots/stored_0.1.0+model1.json")).unwrap();
        let f = &record.evidence[0].findings[0];
        assert!(f.facts.is_empty());
        for lang in [Language::Ja, Language::En] {
            assert_eq!(f.summary_in(lang), "12 failed passwords then a login from 45.33.32.156");
            assert_eq!(
                record.evidence_in(&record.causes[0], lang),
                ["auth.log: 12 failed passwords then a login from 45.33.32.156"]
            );
        }
    }

    /// A finding analysed now keeps its facts: its sentence, and the decisions' evidence that
    /// names it (`auth.log: …`, stored in English), read in the reader's language.
    #[test]
    fn a_findings_sentence_and_the_evidence_naming_it_follow_the_language() {
        use todokede_domain::Language;
        let log = "Dec 10 06:55:46 web sshd[1]: Failed password for root from 45.33.32.156 port 1 ssh2\n".repeat(12)
            + "Dec 10 07:00:00 web sshd[2]: Accepted password for root from 45.33.32.156 port 2 ssh2\n";
        let (lines, unreadable, findings) = crate::evidence::analyse("sshd", log.as_bytes()).unwrap();
        let mut record = crate::analyse("サーバの動作が遅い。").record();
        record.add_evidence(vec![EvidenceFile::new("auth.log", EvidenceKind::Sshd, lines, unreadable, &findings)]);
        let record = AnalysisRecord::parse(&record.to_json_string()).unwrap();
        let takeover = record.damages.iter().find(|d| d.key == "account_takeover").unwrap();
        assert_eq!(
            record.evidence_in(takeover, Language::Ja),
            [
                "auth.log: 45.33.32.156 から SSH のログイン失敗 12 回の後、1 回成功（パスワードが推測または窃取された可能性）"
            ]
        );
        assert_eq!(
            record.evidence_in(takeover, Language::En),
            ["auth.log: 45.33.32.156: 12 failed logins, then 1 successful — a guessed or stolen password"]
        );
        assert_eq!(record.evidence[0].findings[0].summary, takeover.evidence[0].trim_start_matches("auth.log: "));
    }

    /// Issue 14 (user trial): a WordPress site with a wp-login.php flood got only a backup
    /// point. The log's brute-force finding gives T1110 and the password point joins the 着目点.
    #[test]
    fn a_wp_login_flood_in_the_access_log_adds_brute_force_and_its_point() {
        let mut log = String::new();
        for i in 0..200 {
            log.push_str(&format!(
                "198.51.100.3 - - [01/Apr/2024:10:{:02}:{:02} +0900] \"POST /wp-login.php HTTP/1.1\" 200 100 \"-\" \"Mozilla\"\n",
                i / 60,
                i % 60
            ));
        }
        let (lines, unreadable, findings) = crate::evidence::analyse("access", log.as_bytes()).unwrap();
        let mut record = crate::analyse("WordPress のサイトが改ざんされました。").record();
        assert!(!record.countermeasures.iter().any(|m| m.key == "strong_unique_passwords"));
        record.add_evidence(vec![EvidenceFile::new("access.log", EvidenceKind::Access, lines, unreadable, &findings)]);
        assert!(record.techniques.iter().any(|t| t.id == "T1110"), "{:?}", record.techniques);
        let point = record.countermeasures.iter().find(|m| m.key == "strong_unique_passwords").expect("password point");
        assert_eq!(point.triggered_by, ["technique.T1110"]);
        // phpMyAdmin is not named by the text or the log: no temporary-tools point.
        assert!(!record.countermeasures.iter().any(|m| m.key == "remove_temporary_services"));
    }

    /// Records stored before decisions had `needs_review` (and without evidence) keep reading.
    #[test]
    fn records_of_earlier_analyser_versions_keep_reading() {
        let record = AnalysisRecord::parse(include_str!("../tests/snapshots/stored_0.1.0+rules1.json")).unwrap();
        assert!(!record.causes[0].needs_review);
        assert_eq!(record.primary_cause(), Some(CauseCategory::MissingAccessControl));
        assert_eq!(record.suggested_classification().damages, [DamageCategory::DataDestructionExtortion]);
        assert!(record.evidence.is_empty());
    }

    /// The record's fields are the documented schema (ARCHITECTURE.md § Analysis JSON).
    #[test]
    fn the_record_has_exactly_the_documented_fields() {
        let record = crate::analyse("SSH に総当たりされ、攻撃元 45.33.32.156 からログインされた。").record();
        let value: serde_json::Value = serde_json::from_str(&record.to_json_string()).unwrap();
        let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "analyser_version",
                "attack_types",
                "causes",
                "context",
                "countermeasures",
                "damages",
                "has_damage",
                "has_damage_evidence",
                "indicators",
                "internal",
                "normalised",
                "techniques"
            ]
        );
    }
}
