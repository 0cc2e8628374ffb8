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
pub mod record;
pub mod sample;
pub mod similarity;
pub mod trends;
pub mod warninglists;

pub use classify::{
    Classification, Countermeasure, Decision, Technique, classify, classify_with, countermeasures_for,
    named_techniques, technique_name, technique_name_in,
};
pub use indicators::{Extraction, IndicatorType, extract};
pub use model::TextModel;
pub use normalise::normalise;
pub use record::AnalysisRecord;

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
