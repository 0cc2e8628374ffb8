//! Labelled cases for training and evaluation, read from text the caller loaded (no I/O here but
//! listing the corpus folder, [`training_files`]):
//! the corpus JSON-lines format of `fixtures/corpus/` and `../shared/data/incident_texts`
//! (`primary_cause_any`, `damages`, `attack_types`, `has_damage`), the seed fixtures
//! (`fixtures/seeds/*.json` with `expected.json`), and analysts' confirmed classifications.

use serde::Deserialize;
use todokede_domain::{AttackType, CauseCategory, Classification, ClosedEnum, DamageCategory};

/// One labelled text. A dimension that is `None` is not labelled (it teaches nothing and is
/// not measured); `has_damage: Some(None)` means "the text does not say".
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledCase {
    pub id: String,
    /// `ja` or `en`.
    pub lang: String,
    pub text: String,
    /// Acceptable primary causes (any one is right); empty: the text states none.
    pub causes: Option<Vec<CauseCategory>>,
    pub damages: Option<Vec<DamageCategory>>,
    pub attack_types: Option<Vec<AttackType>>,
    pub has_damage: Option<Option<bool>>,
    /// How many times training counts it.
    pub weight: f32,
    /// Texts of one group never straddle two folds of a cross-validation: the site an incident
    /// text came from, else the case itself.
    pub group: String,
    /// Written for the project (`"kind": "written"`), not a real text: the evaluation shows
    /// real texts apart, since they are what the model meets in use.
    pub written: bool,
}

#[derive(Deserialize)]
struct Line {
    id: String,
    lang: String,
    text: String,
    primary_cause_any: Vec<String>,
    damages: Vec<String>,
    #[serde(default)]
    attack_types: Option<Vec<String>>,
    has_damage: Option<bool>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

/// The host of a source URL (`https://www.example.jp/news/1` → `www.example.jp`).
fn source_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

fn keys<T: ClosedEnum>(v: &[String], id: &str) -> Result<Vec<T>, String> {
    v.iter().map(|k| T::parse(k).map_err(|e| format!("{id}: {e}"))).collect()
}

/// Cases of a JSON-lines corpus file.
pub fn parse_jsonl(text: &str) -> Result<Vec<LabelledCase>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let line: Line = serde_json::from_str(l).map_err(|e| format!("line {}: {e}", n + 1))?;
            Ok(LabelledCase {
                causes: Some(keys(&line.primary_cause_any, &line.id)?),
                damages: Some(keys(&line.damages, &line.id)?),
                attack_types: line.attack_types.as_deref().map(|a| keys(a, &line.id)).transpose()?,
                has_damage: Some(line.has_damage),
                weight: 1.0,
                group: line.source.as_deref().map_or_else(|| line.id.clone(), |s| source_host(s).to_owned()),
                written: line.kind.as_deref() == Some("written"),
                lang: line.lang,
                text: line.text,
                id: line.id,
            })
        })
        .collect()
}

/// The seed cases: report JSON arrays and the `expected.json` that labels them by
/// `reporter_reference`. The seeds' 表2-1 has no 攻撃行為, so that dimension is unlabelled.
pub fn parse_seeds(reports: &[&str], expected: &str) -> Result<Vec<LabelledCase>, String> {
    let expected: serde_json::Value = serde_json::from_str(expected).map_err(|e| format!("expected.json: {e}"))?;
    let mut out = Vec::new();
    for file in reports {
        let reports: Vec<serde_json::Value> = serde_json::from_str(file).map_err(|e| format!("seed file: {e}"))?;
        for r in reports {
            let id = r["reporter_reference"].as_str().ok_or("seed without reporter_reference")?.to_owned();
            let e = &expected[&id];
            let strs = |v: &serde_json::Value| -> Vec<String> {
                v.as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_owned)).collect()
            };
            let mut causes: Vec<CauseCategory> = keys(&strs(&e["causes"]), &id)?;
            if let Ok(p) = CauseCategory::parse(e["primary_cause"].as_str().unwrap_or_default()) {
                causes.retain(|c| *c != p);
                causes.insert(0, p);
            }
            let damages: Vec<DamageCategory> = keys(&strs(&e["damages"]), &id)?;
            let has_damage = Some(!damages.is_empty() && !damages.contains(&DamageCategory::None));
            out.push(LabelledCase {
                lang: "ja".into(),
                text: r["description"].as_str().unwrap_or_default().to_owned(),
                causes: Some(causes),
                damages: Some(damages),
                attack_types: None,
                has_damage: Some(has_damage),
                weight: 1.0,
                group: id.clone(),
                written: false,
                id,
            });
        }
    }
    Ok(out)
}

impl LabelledCase {
    /// An analyst's confirmed classification of a stored report, as training data.
    pub fn from_confirmed(id: String, text: String, c: &Classification) -> LabelledCase {
        let lang = if text.chars().any(|ch| matches!(ch, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}')) {
            "ja"
        } else {
            "en"
        };
        LabelledCase {
            lang: lang.into(),
            text,
            causes: Some(c.causes.clone()),
            damages: Some(c.damages.clone()),
            attack_types: Some(c.attack_types.clone()),
            has_damage: Some(c.has_damage),
            weight: 1.0,
            group: id.clone(),
            written: false,
            id,
        }
    }
}

/// The ids of one split (`train`, `dev`, `test`) of `fixtures/corpus/split.json`.
pub fn split_ids(split_json: &str, split: &str) -> Result<std::collections::BTreeSet<String>, String> {
    let v: serde_json::Value = serde_json::from_str(split_json).map_err(|e| format!("split.json: {e}"))?;
    let ids = v[split].as_array().ok_or_else(|| format!("split.json has no split `{split}`"))?;
    Ok(ids.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
}

/// The texts of the training set, as loaded by the caller (`todokede train`, the tests).
pub struct TrainingSources<'a> {
    /// The corpus files written for the project (`fixtures/corpus/written_train_*.jsonl`, …).
    pub written: Vec<&'a str>,
    /// The seed report files and their `expected.json`.
    pub seeds: Vec<&'a str>,
    pub seeds_expected: &'a str,
    /// `../shared/data/incident_texts/cases.jsonl` when it is there, and `split.json`: its
    /// `train` and `dev` ids are used (dev chose the thresholds and hyperparameters, then
    /// joined training); `test` never is.
    pub incident_texts: Option<&'a str>,
    pub split: &'a str,
    /// Analysts' confirmed classifications from a store.
    pub confirmed: Vec<LabelledCase>,
}

/// The corpus files training reads from `fixtures/corpus` (`written_train*.jsonl`,
/// `veris*.jsonl`; never `written_test.jsonl`), sorted by name so training is deterministic.
pub fn training_files(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if is_training_file(name) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Whether a corpus file name is one of the training files.
fn is_training_file(name: &str) -> bool {
    name.ends_with(".jsonl") && (name.starts_with("written_train") || name.starts_with("veris"))
}

/// Seed cases and analysts' confirmations count this many times.
pub const SEED_WEIGHT: f32 = 2.0;
pub const CONFIRMED_WEIGHT: f32 = 3.0;

/// Every training case, in a fixed order.
pub fn training_cases(s: &TrainingSources<'_>) -> Result<Vec<LabelledCase>, String> {
    let mut out = Vec::new();
    for w in &s.written {
        out.extend(parse_jsonl(w)?);
    }
    for mut c in parse_seeds(&s.seeds, s.seeds_expected)? {
        c.weight = SEED_WEIGHT;
        out.push(c);
    }
    if let Some(texts) = s.incident_texts {
        let mut train = split_ids(s.split, "train")?;
        train.extend(split_ids(s.split, "dev")?);
        out.extend(parse_jsonl(texts)?.into_iter().filter(|c| train.contains(&c.id)));
    }
    for c in &s.confirmed {
        out.push(LabelledCase { weight: CONFIRMED_WEIGHT, ..c.clone() });
    }
    Ok(out)
}
