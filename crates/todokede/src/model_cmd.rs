//! `todokede train` and `todokede eval`: the text model's training set read from the corpus
//! files (and analysts' confirmations in a store), and its figures on labelled files.

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use todokede_analyse::TextModel;
use todokede_analyse::corpus::{self, LabelledCase, TrainingSources};
use todokede_analyse::model::train::TrainConfig;
use todokede_store::Store;

fn read(p: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
}

/// A model file given on the command line, or the shipped one.
pub fn load_model(path: Option<&Path>) -> anyhow::Result<TextModel> {
    match path {
        Some(p) => TextModel::parse(&read(p)?).map_err(|e| anyhow::anyhow!("{}: {e}", p.display())),
        None => Ok(TextModel::embedded().clone()),
    }
}

/// Reports with an analyst-confirmed classification, as training cases.
pub async fn confirmed_cases(store: &Store) -> anyhow::Result<Vec<LabelledCase>> {
    let mut out = Vec::new();
    for id in store.all_report_ids().await? {
        let Some(c) = store.classification(id).await? else { continue };
        let Some(report) = store.report(id).await? else { continue };
        let texts = todokede_app::crossref::texts_of(store, &report).await?;
        let text = texts.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join("\n\n");
        out.push(LabelledCase::from_confirmed(report.tracking_number.to_string(), text, &c));
    }
    Ok(out)
}

pub struct TrainArgs {
    pub corpus: PathBuf,
    pub seeds: PathBuf,
    pub incident_texts: PathBuf,
    /// `None` only with `cv`.
    pub output: Option<PathBuf>,
    pub cv: Option<usize>,
    pub settings: String,
    pub verbose: bool,
}

pub fn train(args: &TrainArgs, confirmed: Vec<LabelledCase>) -> anyhow::Result<()> {
    let written_files = corpus::training_files(&args.corpus)
        .with_context(|| format!("cannot read the corpus folder {}", args.corpus.display()))?;
    let written: Vec<String> = written_files.iter().map(|p| read(p)).collect::<Result<_, _>>()?;
    let seeds: Vec<String> =
        ["2019H1.json", "2019H2.json"].iter().map(|f| read(&args.seeds.join(f))).collect::<Result<_, _>>()?;
    let expected = read(&args.seeds.join("expected.json"))?;
    let split = read(&args.corpus.join("split.json"))?;
    let incident_texts = match std::fs::read_to_string(&args.incident_texts) {
        Ok(t) => Some(t),
        Err(_) => {
            eprintln!(
                "note: {} not found: training without the incident texts (the committed model has them)",
                args.incident_texts.display()
            );
            None
        }
    };
    let confirmed_n = confirmed.len();
    let sources = TrainingSources {
        written: written.iter().map(String::as_str).collect(),
        seeds: seeds.iter().map(String::as_str).collect(),
        seeds_expected: &expected,
        incident_texts: incident_texts.as_deref(),
        split: &split,
        confirmed,
    };
    let cases = corpus::training_cases(&sources).map_err(anyhow::Error::msg)?;
    if cases.is_empty() {
        bail!("no training cases found");
    }
    let description = format!(
        "{} cases: {} written files, 30 seed cases, incident_texts train+dev splits {}, {confirmed_n} analyst-confirmed reports",
        cases.len(),
        written_files.len(),
        if incident_texts.is_some() { "yes" } else { "no" },
    );
    let config = TrainConfig::with_overrides(&args.settings).map_err(|e| anyhow::anyhow!("--settings: {e}"))?;
    if let Some(folds) = args.cv {
        if folds < 2 {
            bail!("--cv needs at least 2 folds");
        }
        let results = todokede_analyse::model::train::cross_validate(&cases, folds, &config);
        let figures = todokede_analyse::eval::evaluate(&results);
        let title = format!("{folds}-fold cross-validation of the training set ({description}), {config:?}");
        print!("{}", todokede_analyse::eval::render(&title, &figures, args.verbose));
        return Ok(());
    }
    let output = args.output.as_ref().context("--output is required")?;
    let model = todokede_analyse::model::train::train_with(&cases, &description, &config);
    let text = model.to_text();
    crate::commands::write_atomically(output, text.as_bytes())?;
    println!("{description}\n{} features, {} bytes → {}", model.feature_count(), text.len(), output.display());
    Ok(())
}

/// `todokede eval FILE…`: the figures of a model on labelled corpus files.
pub fn eval(
    files: &[PathBuf],
    split: Option<&str>,
    split_file: &Path,
    model: &TextModel,
    verbose: bool,
) -> anyhow::Result<()> {
    let mut cases = Vec::new();
    for f in files {
        let text = read(f)?;
        let mut c = if f.file_name().and_then(|n| n.to_str()) == Some("expected.json") {
            bail!("give the seed report files, not expected.json")
        } else if f.extension().and_then(|e| e.to_str()) == Some("json") {
            let dir = f.parent().unwrap_or(Path::new("."));
            corpus::parse_seeds(&[&text], &read(&dir.join("expected.json"))?).map_err(anyhow::Error::msg)?
        } else {
            corpus::parse_jsonl(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?
        };
        if let Some(s) = split {
            let ids = corpus::split_ids(&read(split_file)?, s).map_err(anyhow::Error::msg)?;
            c.retain(|c| ids.contains(&c.id));
        }
        cases.extend(c);
    }
    let results: Vec<_> = cases
        .into_iter()
        .map(|c| {
            let got = todokede_analyse::classify_with(model, &todokede_analyse::normalise(&c.text));
            (c, got)
        })
        .collect();
    let figures = todokede_analyse::eval::evaluate(&results);
    let title = files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
        + &split.map(|s| format!(" (split {s})")).unwrap_or_default();
    print!("{}", todokede_analyse::eval::render(&title, &figures, verbose));
    Ok(())
}
