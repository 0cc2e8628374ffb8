//! Grouped 5-fold cross-validation of the training set, every held-out case's label
//! probabilities written as JSON lines (for studying decision rules on CV, never on test).
//!
//!     cargo run -p todokede-analyse --example cv_dump -- OUT.jsonl [settings] [by-writer]
//!
//! Prints the figures of `todokede train --cv` (per-label with `CV_VERBOSE=1`).
//! `by-writer`: each writer's files are one fold (the incident texts still by site), so a
//! written text is judged by a model that never saw its writer — closer to texts unlike ours.
//! `dev`: one model trained on everything but the dev split of the incident texts (the shipped
//! model trains on dev too), the 31 dev texts classified by it — real text never trained on.
use todokede_analyse::corpus::{self, TrainingSources};
use todokede_analyse::model::train::{TrainConfig, fold_of, train_with};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out_path = &args[1];
    let config = TrainConfig::with_overrides(args.get(2).map(String::as_str).unwrap_or("")).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let written_files = corpus::training_files(&root.join("fixtures/corpus")).unwrap();
    let written: Vec<String> = written_files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    let seeds = [read("fixtures/seeds/2019H1.json"), read("fixtures/seeds/2019H2.json")];
    let expected = read("fixtures/seeds/expected.json");
    let split = read("fixtures/corpus/split.json");
    let texts = read("../shared/data/incident_texts/cases.jsonl");
    let cases = corpus::training_cases(&TrainingSources {
        written: written.iter().map(String::as_str).collect(),
        seeds: seeds.iter().map(String::as_str).collect(),
        seeds_expected: &expected,
        incident_texts: Some(&texts),
        split: &split,
        confirmed: vec![],
    })
    .unwrap();
    // `by-writer` as a third argument: each writer's files (ja and en) are one fold, so every
    // written text is classified by a model that never saw its writer's hand.
    let by_writer = args.get(3).is_some_and(|a| a == "by-writer");
    let dev_only = args.get(3).is_some_and(|a| a == "dev");
    let dev_ids = corpus::split_ids(&split, "dev").unwrap();
    let fold = |c: &corpus::LabelledCase| -> usize {
        if dev_only {
            return if dev_ids.contains(&c.id) { 0 } else { 1 };
        }
        let prefix = c.id.split('-').next().unwrap_or_default();
        match prefix.strip_prefix("wja").or_else(|| prefix.strip_prefix("wen")) {
            Some(n) if by_writer && c.written => (n.parse::<usize>().unwrap_or(1) - 1) % 5,
            _ => fold_of(&c.group, 5),
        }
    };
    let mut out = String::new();
    let mut results = Vec::new();
    for fold_no in 0..if dev_only { 1 } else { 5 } {
        let training: Vec<_> = cases.iter().filter(|c| fold(c) != fold_no).cloned().collect();
        let model = train_with(&training, "cv", &config);
        for c in cases.iter().filter(|c| fold(c) == fold_no) {
            let normalised = todokede_analyse::normalise(&c.text);
            let hits = todokede_analyse::classify::rule_hits(&normalised);
            let features = todokede_analyse::model::features::extract(&normalised, &hits);
            let predictions = model.predict(&features);
            let ngrams = features.values.iter().filter(|(f, _)| !f.starts_with("c:") && !f.starts_with("r:")).count();
            let probs: serde_json::Map<String, serde_json::Value> =
                predictions.iter().map(|p| (p.label.clone(), serde_json::json!(p.probability))).collect();
            let concepts: Vec<&str> = features
                .values
                .iter()
                .map(|(f, _)| f.as_str())
                .filter(|f| f.starts_with("c:") || f.starts_with("r:"))
                .collect();
            let got = todokede_analyse::classify_with(&model, &normalised);
            let key = |v: &[todokede_analyse::Decision<todokede_domain::CauseCategory>]| -> Vec<String> {
                v.iter().map(|d| d.value.to_string()).collect()
            };
            let line = serde_json::json!({
                "id": c.id, "lang": c.lang, "written": c.written, "fold": fold_no,
                "causes": c.causes.as_ref().map(|v| v.iter().map(|x| x.to_string()).collect::<Vec<_>>()),
                "damages": c.damages.as_ref().map(|v| v.iter().map(|x| x.to_string()).collect::<Vec<_>>()),
                "attack_types": c.attack_types.as_ref().map(|v| v.iter().map(|x| x.to_string()).collect::<Vec<_>>()),
                "has_damage": c.has_damage,
                "probs": probs, "features": concepts, "ngrams": ngrams,
                "got_causes": key(&got.causes),
                "got_damages": got.damages.iter().filter(|d| !d.needs_review).map(|d| d.value.to_string()).collect::<Vec<_>>(),
                "got_has_damage": got.has_damage,
            });
            out.push_str(&line.to_string());
            out.push('\n');
            results.push((c.clone(), got));
        }
    }
    std::fs::write(out_path, out).unwrap();
    // The same figures as `todokede train --cv`, for comparing the two ways of folding.
    let title = format!(
        "5-fold cross-validation {} ({} cases), {config:?}",
        if dev_only {
            "(dev split only: trained on the rest)"
        } else if by_writer {
            "by writer"
        } else {
            "grouped"
        },
        results.len()
    );
    let verbose = std::env::var_os("CV_VERBOSE").is_some();
    print!("{}", todokede_analyse::eval::render(&title, &todokede_analyse::eval::evaluate(&results), verbose));
}
