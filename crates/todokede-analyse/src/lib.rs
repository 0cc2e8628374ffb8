//! Pure text analysis: normalise → indicators → classification → countermeasures (着目点).
//! No I/O: every function maps text to findings and cannot fail for outside reasons.
//! The knowledge (warning lists, rules, techniques, countermeasures) is data under `data/`.

pub mod classify;
pub mod concepts;
pub mod corpus;
pub mod eval;
pub mod evidence;
pub mod indicators;
pub mod model;
pub mod normalise;
pub mod similarity;
pub mod trends;
pub mod warninglists;

pub use classify::{
    Classification, Countermeasure, Decision, Technique, classify, classify_with, countermeasures_for, technique_name,
};
pub use indicators::{Extraction, IndicatorType, extract};
pub use model::TextModel;
pub use normalise::normalise;

use serde_json::{Map, Value, json};
use todokede_domain::ClosedEnum;

/// Bumped whenever rules or extraction change, so stored results can be re-run (`reanalyse`).
pub const ANALYSER_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+model1");

/// Everything the analysis says about one text.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub normalised: String,
    pub extraction: Extraction,
    pub classification: Classification,
}

/// Analyse a report text (description, narratives, follow-ups joined by the caller).
pub fn analyse(text: &str) -> Analysis {
    analyse_with(TextModel::embedded(), text)
}

/// Analyse with a given text model (one retrained from analysts' confirmations, say).
pub fn analyse_with(model: &TextModel, text: &str) -> Analysis {
    let normalised = normalise(text);
    let extraction = extract(&normalised, true);
    let classification = classify_with(model, &normalised);
    Analysis { normalised, extraction, classification }
}

fn decision_json<T: ClosedEnum>(d: &Decision<T>) -> Value {
    json!({"key": d.value.key(), "label_ja": d.value.label_ja(), "label_en": d.value.label_en(),
           "confidence": d.confidence, "needs_review": d.needs_review, "evidence": d.evidence})
}

fn values_json(v: &indicators::ValueSet) -> Value {
    Value::Object(v.by_type.iter().map(|(t, vals)| (t.key().to_owned(), json!(vals))).collect::<Map<_, _>>())
}

/// The automatic classification as domain values (decisions above the reporting threshold), read
/// back from the stored JSON of [`Analysis::to_json`].
pub fn suggested_classification(json: &Value) -> todokede_domain::Classification {
    fn keys<T: ClosedEnum>(v: &Value) -> Vec<T> {
        // Decided values only: a 要確認 candidate is the analyst's to confirm.
        v.as_array()
            .into_iter()
            .flatten()
            .filter(|d| !d["needs_review"].as_bool().unwrap_or(false))
            .filter_map(|d| d["key"].as_str())
            .filter_map(|k| T::parse(k).ok())
            .collect()
    }
    todokede_domain::Classification {
        causes: keys(&json["causes"]),
        damages: keys(&json["damages"]),
        attack_types: keys(&json["attack_types"]),
        techniques: json["techniques"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["id"].as_str().map(str::to_owned))
            .collect(),
        has_damage: json["has_damage"].as_bool(),
    }
}

impl Analysis {
    /// The documented, stable JSON schema of `todokede analyze --json` (see ARCHITECTURE.md).
    pub fn to_json(&self) -> Value {
        let c = &self.classification;
        json!({
            "analyser_version": ANALYSER_VERSION,
            "normalised": self.normalised,
            "indicators": values_json(&self.extraction.indicators),
            "internal": values_json(&self.extraction.internal),
            "context": self.extraction.context.iter().map(|(t, v, b)| json!({"type": t.key(), "value": v, "reason": b.key()})).collect::<Vec<_>>(),
            "causes": c.causes.iter().map(decision_json).collect::<Vec<_>>(),
            "damages": c.damages.iter().map(decision_json).collect::<Vec<_>>(),
            "attack_types": c.attack_types.iter().map(decision_json).collect::<Vec<_>>(),
            "has_damage": c.has_damage,
            "has_damage_evidence": c.has_damage_evidence,
            "techniques": c.techniques.iter().map(|t| json!({"id": t.id, "name": t.name, "confidence": t.confidence, "evidence": t.evidence})).collect::<Vec<_>>(),
            "countermeasures": c.countermeasures.iter().map(|m| json!({"key": m.key, "ja": m.ja, "en": m.en, "source": m.source, "triggered_by": m.triggered_by})).collect::<Vec<_>>(),
        })
    }
}
