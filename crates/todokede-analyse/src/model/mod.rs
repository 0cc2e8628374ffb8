//! The statistical text model: one logistic regression per label (each 被害原因, 被害内容 and
//! 攻撃行為 key, and 被害の有無 stated either way) over the features of [`features`]. Trained by
//! [`train::train`] (`todokede train`), deterministic, stored as reviewable text
//! (`data/model.tsv`: one line per feature with its non-zero weights, in thousandths). Every prediction keeps
//! the features that pushed it up, so a decision can always be explained.

pub mod features;
pub mod train;

use std::collections::HashMap;
use std::sync::OnceLock;
use todokede_domain::{AttackType, CauseCategory, ClosedEnum, DamageCategory};

pub use features::TextFeatures;

/// `status.damage`: the text says harm was done; `status.no_damage`: it says only an attempt
/// or a detection happened. Neither: the text does not say.
pub const STATUS_DAMAGE: &str = "status.damage";
pub const STATUS_NO_DAMAGE: &str = "status.no_damage";

/// Every label the model scores, in its fixed order.
pub fn label_names() -> Vec<String> {
    let mut v: Vec<String> = CauseCategory::ALL.iter().map(|c| format!("cause.{}", c.key())).collect();
    v.extend(DamageCategory::ALL.iter().map(|d| format!("damage.{}", d.key())));
    v.extend(AttackType::ALL.iter().map(|a| format!("attack.{}", a.key())));
    v.push(STATUS_DAMAGE.into());
    v.push(STATUS_NO_DAMAGE.into());
    v
}

/// A trained model.
#[derive(Debug, Clone, PartialEq)]
pub struct TextModel {
    /// Provenance: what it was trained on, by which command.
    pub trained_on: String,
    labels: Vec<String>,
    bias: Vec<f32>,
    weights: HashMap<String, Vec<(u16, f32)>>,
}

/// One label's score for a text, with what pushed it up most.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelScore {
    pub label: String,
    pub probability: f32,
    /// (feature, contribution), largest first; positive contributions only.
    pub because: Vec<(String, f32)>,
}

/// v2: weights in thousandths (`7:-1250` is −1.25), two bytes a weight less than decimals, so
/// the model stays under 5 MiB; the values are the same (training rounds to 0.001).
const HEADER: &str = "# todokede text model v2";

impl TextModel {
    /// The model shipped with the code (`data/model.tsv`).
    pub fn embedded() -> &'static TextModel {
        static M: OnceLock<TextModel> = OnceLock::new();
        M.get_or_init(|| TextModel::parse(include_str!("../../data/model.tsv")).expect("data/model.tsv"))
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Number of features with a weight (for the review of a new model).
    pub fn feature_count(&self) -> usize {
        self.weights.len()
    }

    /// Read a model written by [`TextModel::to_text`].
    pub fn parse(text: &str) -> Result<TextModel, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err("not a todokede text model (first line)".into());
        }
        let mut trained_on = String::new();
        let mut labels = Vec::new();
        let mut bias = Vec::new();
        let mut weights = HashMap::new();
        for (n, line) in lines.enumerate() {
            let bad = |what: &str| format!("model line {}: {what}", n + 2);
            if let Some(rest) = line.strip_prefix("# trained on: ") {
                trained_on = rest.to_owned();
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (key, rest) = line.split_once('\t').ok_or_else(|| bad("no tab"))?;
            match key {
                "labels" => labels = rest.split('\t').map(str::to_owned).collect(),
                "bias" => {
                    bias = rest
                        .split('\t')
                        .map(|w| parse_weight(w).ok_or_else(|| bad("bias")))
                        .collect::<Result<_, _>>()?
                }
                feature => {
                    let mut ws = Vec::new();
                    for pair in rest.split(' ') {
                        let (i, w) = pair.split_once(':').ok_or_else(|| bad("weight"))?;
                        let i: u16 = i.parse().map_err(|_| bad("label index"))?;
                        if usize::from(i) >= labels.len() {
                            return Err(bad("label index out of range"));
                        }
                        ws.push((i, parse_weight(w).ok_or_else(|| bad("weight"))?));
                    }
                    weights.insert(feature.to_owned(), ws);
                }
            }
        }
        if labels.is_empty() || bias.len() != labels.len() {
            return Err("model has no labels or a bias of the wrong length".into());
        }
        Ok(TextModel { trained_on, labels, bias, weights })
    }

    /// The model as text: stable order, so the same training gives the same bytes.
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n# trained on: {}\n", self.trained_on);
        out.push_str(&format!("labels\t{}\n", self.labels.join("\t")));
        out.push_str(&format!("bias\t{}\n", self.bias.iter().map(|b| fmt_weight(*b)).collect::<Vec<_>>().join("\t")));
        let mut features: Vec<_> = self.weights.iter().collect();
        features.sort_by(|a, b| a.0.cmp(b.0));
        for (f, ws) in features {
            let ws: Vec<String> = ws.iter().map(|(i, w)| format!("{i}:{}", fmt_weight(*w))).collect();
            out.push_str(&format!("{f}\t{}\n", ws.join(" ")));
        }
        out
    }

    /// Scores of every label for a text's features.
    pub fn predict(&self, features: &TextFeatures) -> Vec<LabelScore> {
        let mut z: Vec<f32> = self.bias.clone();
        let mut because: Vec<Vec<(String, f32)>> = vec![Vec::new(); self.labels.len()];
        for (f, x) in &features.values {
            if let Some(ws) = self.weights.get(f) {
                for (i, w) in ws {
                    let c = w * x;
                    z[usize::from(*i)] += c;
                    if c > 0.05 {
                        because[usize::from(*i)].push((f.clone(), c));
                    }
                }
            }
        }
        self.labels
            .iter()
            .zip(z)
            .zip(because)
            .map(|((label, z), mut because)| {
                because.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                because.truncate(6);
                LabelScore { label: label.clone(), probability: sigmoid(z), because }
            })
            .collect()
    }
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// A weight in thousandths.
fn fmt_weight(w: f32) -> String {
    ((w * 1000.0).round() as i32).to_string()
}

fn parse_weight(s: &str) -> Option<f32> {
    s.parse::<i32>().ok().map(|m| m as f32 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_model_reads_and_writes_back_the_same_text() {
        let m = TextModel::embedded();
        assert_eq!(m.labels(), label_names().as_slice());
        let again = TextModel::parse(&m.to_text()).unwrap();
        assert_eq!(&again, m);
        // Small enough to review.
        assert!(include_str!("../../data/model.tsv").len() <= 5 << 20);
    }

    #[test]
    fn a_broken_model_file_is_an_error_not_a_panic() {
        assert!(TextModel::parse("").is_err());
        assert!(TextModel::parse("# todokede text model v2\nlabels\ta\tb\nbias\t0\n").is_err());
        assert!(TextModel::parse("# todokede text model v2\nlabels\ta\nbias\t0\nf\t7:1\n").is_err());
    }
}
