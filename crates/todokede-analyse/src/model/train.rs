//! Training: logistic regression per label by AdaGrad over the examples in a fixed order
//! (shuffled by a hash of epoch and position, never by a random generator), so the same
//! examples always give the same model bytes. Only n-grams seen in at least `MIN_DOCUMENT_FREQUENCY` examples
//! (concepts and rules always) get weights; weights below `PRUNE` are dropped from the file.

use super::{TextModel, features};
use crate::corpus::LabelledCase;
use std::collections::HashMap;
use todokede_domain::ClosedEnum;

// Chosen on the dev split of the incident texts (fixtures/corpus/split.json), never on test.
const EPOCHS: usize = 30;
const LEARNING_RATE: f32 = 0.1;
const L2: f32 = 1e-5;
const PRUNE: f32 = 0.02;
/// A rare label's positives weigh at most this much more than its negatives.
const MAX_POSITIVE_WEIGHT: f32 = 3.0;
/// An n-gram needs this many training texts to get a weight.
const MIN_DOCUMENT_FREQUENCY: u32 = 3;

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

/// Train a model on labelled cases (their `weight` counts each case that many times).
pub fn train(cases: &[LabelledCase], trained_on: &str) -> TextModel {
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
        .filter(|(f, n)| **n >= MIN_DOCUMENT_FREQUENCY || f.starts_with("c:") || f.starts_with("r:"))
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
            if pos == 0.0 { 1.0 } else { (neg / pos).sqrt().clamp(1.0, MAX_POSITIVE_WEIGHT) }
        })
        .collect();
    let nf = vocab.len();
    let mut w = vec![0f32; nf * nl];
    let mut g = vec![1e-6f32; nf * nl];
    let mut b = vec![0f32; nl];
    let mut gb = vec![1e-6f32; nl];
    let mut order: Vec<usize> = (0..examples.len()).collect();
    for epoch in 0..EPOCHS {
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
                b[l] -= LEARNING_RATE * err / gb[l].sqrt();
                for (f, x) in &e.features {
                    let k = *f as usize * nl + l;
                    let grad = err * x + L2 * w[k];
                    g[k] += grad * grad;
                    w[k] -= LEARNING_RATE * grad / g[k].sqrt();
                }
            }
        }
    }
    let mut weights = HashMap::new();
    for (fi, f) in vocab.iter().enumerate() {
        let ws: Vec<(u16, f32)> = (0..nl)
            .filter_map(|l| {
                let v = round3(w[fi * nl + l]);
                (v.abs() >= PRUNE).then_some((l as u16, v))
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
