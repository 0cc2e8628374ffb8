//! Training: logistic regression per label by AdaGrad over the examples in a fixed order
//! (shuffled by a hash of epoch and position, never by a random generator), so the same
//! examples always give the same model bytes. Only n-grams seen in at least `MIN_DOCUMENT_FREQUENCY` examples
//! (concepts and rules always) get weights; weights below `PRUNE` are dropped from the file.
//! A concept or a rule speaks for what it names: its weights against the other labels are held
//! near zero (`concept_negative_l2`), so a co-occurrence of the corpus (「SQLインジェクション」 cases
//! seldom had a web shell) does not deny a damage a new text plainly states.

use super::{TextModel, features};
use crate::corpus::LabelledCase;
use std::collections::HashMap;
use todokede_domain::ClosedEnum;

/// The training's knobs. The defaults were chosen on the dev split of the incident texts and by
/// grouped cross-validation of the training set (`todokede train --cv`), never on test.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    /// Weights below this are dropped from the file.
    pub prune: f32,
    /// A rare label's positives weigh at most this much more than its negatives.
    pub max_positive_weight: f32,
    /// An n-gram needs this many training texts to get a weight.
    pub min_document_frequency: u32,
    /// Extra L2 on a concept's or rule's negative weight for a cause, damage or attack type
    /// (not the attempt and no-damage concepts, which speak against damage, nor a denied concept).
    pub concept_negative_l2: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 30,
            learning_rate: 0.1,
            l2: 3e-4,
            prune: 0.2,
            max_positive_weight: 3.0,
            min_document_frequency: 3,
            concept_negative_l2: 0.1,
        }
    }
}

impl TrainConfig {
    /// The defaults with `key=value,…` overrides (`epochs`, `lr`, `l2`, `prune`, `max_pos`,
    /// `min_df`, `neg_l2`), for trying a setting by cross-validation.
    pub fn with_overrides(overrides: &str) -> Result<TrainConfig, String> {
        let mut c = TrainConfig::default();
        for kv in overrides.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').ok_or_else(|| format!("`{kv}`: expected key=value"))?;
            let bad = |e: &dyn std::fmt::Display| format!("`{kv}`: {e}");
            match k {
                "epochs" => c.epochs = v.parse().map_err(|e| bad(&e))?,
                "lr" => c.learning_rate = v.parse().map_err(|e| bad(&e))?,
                "l2" => c.l2 = v.parse().map_err(|e| bad(&e))?,
                "prune" => c.prune = v.parse().map_err(|e| bad(&e))?,
                "max_pos" => c.max_positive_weight = v.parse().map_err(|e| bad(&e))?,
                "min_df" => c.min_document_frequency = v.parse().map_err(|e| bad(&e))?,
                "neg_l2" => c.concept_negative_l2 = v.parse().map_err(|e| bad(&e))?,
                _ => return Err(format!("unknown setting `{k}` (epochs, lr, l2, prune, max_pos, min_df, neg_l2)")),
            }
        }
        Ok(c)
    }
}

/// What one case teaches, per label: `Some(true/false)` or `None` when the case does not say
/// (a seed case has no 攻撃行為 labels, say).
struct Example {
    features: Vec<(u32, f32)>,
    targets: Vec<Option<bool>>,
    weight: f32,
}

/// The per-label targets of a labelled case, in [`super::label_names`] order.
pub fn targets(case: &LabelledCase) -> Vec<Option<bool>> {
    let mut t = Vec::new();
    let causes = case.causes.as_ref();
    for c in todokede_domain::CauseCategory::ALL {
        t.push(causes.map(|v| v.contains(c)));
    }
    for d in todokede_domain::DamageCategory::ALL {
        t.push(case.damages.as_ref().map(|v| v.contains(d)));
    }
    for a in todokede_domain::AttackType::ALL {
        t.push(case.attack_types.as_ref().map(|v| v.contains(a)));
    }
    t.push(case.has_damage.map(|h| h == Some(true)));
    t.push(case.has_damage.map(|h| h == Some(false)));
    t
}

/// Train a model on labelled cases (their `weight` counts each case that many times) with the
/// default settings.
pub fn train(cases: &[LabelledCase], trained_on: &str) -> TextModel {
    train_with(cases, trained_on, &TrainConfig::default())
}

/// Grouped k-fold cross-validation: each fold's cases (all texts of one group — one site of the
/// incident texts — fall in the same fold) are classified by a model trained on the other
/// folds. Returns every case with its classification, for [`crate::eval::evaluate`].
pub fn cross_validate(
    cases: &[LabelledCase],
    folds: usize,
    config: &TrainConfig,
) -> Vec<(LabelledCase, crate::Classification)> {
    let fold_of = |c: &LabelledCase| fold_of(&c.group, folds);
    let mut out = Vec::new();
    for fold in 0..folds {
        let (held_out, training): (Vec<&LabelledCase>, Vec<&LabelledCase>) =
            cases.iter().partition(|c| fold_of(c) == fold);
        let training: Vec<LabelledCase> = training.into_iter().cloned().collect();
        let model = train_with(&training, "cross-validation fold", config);
        for c in held_out {
            let got = crate::classify_with(&model, &crate::normalise(&c.text));
            out.push((c.clone(), got));
        }
    }
    out.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    out
}

/// The cross-validation fold of a group (a site, a case).
pub fn fold_of(group: &str, folds: usize) -> usize {
    (mix(fnv(group)) % folds as u64) as usize
}

/// The concepts and rules that speak against damage: their negative weights are not held back.
const SPEAK_AGAINST_DAMAGE: &[&str] = &[
    "c:no_damage",
    "c:attempt",
    "c:blocked",
    "c:detected_only",
    "c:report_only",
    "c:systems_intact",
    "r:status.attempt",
    "r:damage.none",
];

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

/// Train a model with the given settings.
pub fn train_with(cases: &[LabelledCase], trained_on: &str, config: &TrainConfig) -> TextModel {
    let labels = super::label_names();
    let texts: Vec<features::TextFeatures> = cases
        .iter()
        .map(|c| {
            let normalised = crate::normalise(&c.text);
            features::extract(&normalised, &crate::classify::rule_hits(&normalised))
        })
        .collect();
    // Vocabulary: features in ≥ 2 examples, plus every concept and rule feature.
    let mut df: HashMap<&str, u32> = HashMap::new();
    for t in &texts {
        for (f, _) in &t.values {
            *df.entry(f.as_str()).or_default() += 1;
        }
    }
    let mut vocab: Vec<&str> = df
        .iter()
        .filter(|(f, n)| **n >= config.min_document_frequency || f.starts_with("c:") || f.starts_with("r:"))
        .map(|(f, _)| *f)
        .collect();
    vocab.sort_unstable();
    let index: HashMap<&str, u32> = vocab.iter().enumerate().map(|(i, f)| (*f, i as u32)).collect();
    let examples: Vec<Example> = cases
        .iter()
        .zip(&texts)
        .map(|(c, t)| Example {
            features: t.values.iter().filter_map(|(f, x)| index.get(f.as_str()).map(|i| (*i, *x))).collect(),
            targets: targets(c),
            weight: c.weight,
        })
        .collect();
    let nl = labels.len();
    // Positives are rare for most labels: weigh them up to √(negatives/positives), at most 3.
    let positive_weight: Vec<f32> = (0..nl)
        .map(|l| {
            let pos = examples.iter().filter(|e| e.targets[l] == Some(true)).count() as f32;
            let neg = examples.iter().filter(|e| e.targets[l] == Some(false)).count() as f32;
            if pos == 0.0 { 1.0 } else { (neg / pos).sqrt().clamp(1.0, config.max_positive_weight) }
        })
        .collect();
    let nf = vocab.len();
    let held_back: Vec<bool> = vocab
        .iter()
        .map(|f| {
            (f.starts_with("c:") || f.starts_with("r:")) && !f.ends_with("!neg") && !SPEAK_AGAINST_DAMAGE.contains(f)
        })
        .collect();
    let status_label: Vec<bool> = labels.iter().map(|l| l.starts_with("status.")).collect();
    let mut w = vec![0f32; nf * nl];
    let mut g = vec![1e-6f32; nf * nl];
    let mut b = vec![0f32; nl];
    let mut gb = vec![1e-6f32; nl];
    let mut order: Vec<usize> = (0..examples.len()).collect();
    for epoch in 0..config.epochs {
        order.sort_by_key(|i| mix((epoch as u64) << 32 | *i as u64));
        for &i in &order {
            let e = &examples[i];
            for l in 0..nl {
                let Some(y) = e.targets[l] else { continue };
                let z: f32 = b[l] + e.features.iter().map(|(f, x)| w[*f as usize * nl + l] * x).sum::<f32>();
                let p = 1.0 / (1.0 + (-z).exp());
                let scale = e.weight * if y { positive_weight[l] } else { 1.0 };
                let err = (p - if y { 1.0 } else { 0.0 }) * scale;
                gb[l] += err * err;
                b[l] -= config.learning_rate * err / gb[l].sqrt();
                for (f, x) in &e.features {
                    let k = *f as usize * nl + l;
                    let l2 = if w[k] < 0.0 && held_back[*f as usize] && !status_label[l] {
                        config.l2 + config.concept_negative_l2
                    } else {
                        config.l2
                    };
                    let grad = err * x + l2 * w[k];
                    g[k] += grad * grad;
                    w[k] -= config.learning_rate * grad / g[k].sqrt();
                }
            }
        }
    }
    let mut weights = HashMap::new();
    for (fi, f) in vocab.iter().enumerate() {
        let ws: Vec<(u16, f32)> = (0..nl)
            .filter_map(|l| {
                let v = round3(w[fi * nl + l]);
                (v.abs() >= config.prune).then_some((l as u16, v))
            })
            .collect();
        if !ws.is_empty() {
            weights.insert((*f).to_owned(), ws);
        }
    }
    TextModel { trained_on: trained_on.to_owned(), labels, bias: b.into_iter().map(round3).collect(), weights }
}

fn round3(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

/// SplitMix64: a fixed, portable shuffle key.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weight of `feature` for `label` in a model's text.
    fn weight(model: &TextModel, feature: &str, label: &str) -> f32 {
        let i = model.labels().iter().position(|l| l == label).unwrap();
        let text = model.to_text();
        let line = text.lines().find(|l| l.split('\t').next() == Some(feature));
        line.and_then(|l| {
            l.split('\t').nth(1)?.split(' ').find_map(|p| {
                let (j, w) = p.split_once(':')?;
                (j.parse::<usize>().ok()? == i).then(|| w.parse().unwrap())
            })
        })
        .unwrap_or(0.0)
    }

    /// In this corpus SQL injection never came with a web shell; the concept still does not learn
    /// to deny one (a new text may say both), while it learns what it names.
    #[test]
    fn a_concept_speaks_for_what_it_names_not_against_what_it_never_met() {
        let line = |id: usize, text: &str, damages: &str| {
            format!(
                r#"{{"id": "t-{id}", "lang": "ja", "text": "{text}", "primary_cause_any": ["custom_code_vulnerability"], "damages": [{damages}], "has_damage": true}}"#
            )
        };
        let mut jsonl = String::new();
        for i in 0..12 {
            jsonl.push_str(&line(
                i,
                &format!("SQLインジェクションにより会員情報{i}件が漏えいした。"),
                r#""information_leak""#,
            ));
            jsonl.push('\n');
            jsonl.push_str(&line(100 + i, &format!("サーバ{i}号機にWebシェルが設置された。"), r#""malware_placed""#));
            jsonl.push('\n');
        }
        let cases = crate::corpus::parse_jsonl(&jsonl).unwrap();
        let held = train(&cases, "test");
        let free = train_with(&cases, "test", &TrainConfig { concept_negative_l2: 0.0, ..TrainConfig::default() });
        assert!(weight(&held, "c:sqli", "damage.information_leak") > 0.3);
        let (h, f) =
            (weight(&held, "c:sqli", "damage.malware_placed"), weight(&free, "c:sqli", "damage.malware_placed"));
        assert!(h > f && h > -0.1, "held back {h}, free {f}");
        assert!(f < -0.1, "without the penalty the concept learns to deny: {f}");
    }
}
