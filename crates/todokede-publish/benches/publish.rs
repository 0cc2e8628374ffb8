//! Statistics and the full half-year report (HTML + PDF) for a period with 10,000 reports.
//! Target: < 5 s in total on the 2-core machine.
//!
//! The reports are the 30 seed cases (fixtures/seeds, with DOMAIN.md's classification) repeated
//! with dates spread over 2019H2 and the two half-years before, one incident in ten reported
//! twice, one in twenty a virus report. Run: `cargo bench -p todokede-publish --bench publish`
//! (release), or in the test profile with `--profile dev` (an upper bound: typst's release
//! build takes >12 min here). `RUNS` (default 3) repeats the HTML and PDF steps and reports the
//! median.
//!
//! Beside it, what a user would otherwise do: print the same HTML to PDF with WeasyPrint
//! (PyPI `weasyprint`, when `python3 -c "import weasyprint"` works): its time in-process
//! (parse, lay out, write; Python's start and the import not counted) and end to end.
//! The harness is our own (std::time::Instant, median of `RUNS`): criterion is not a
//! dependency of the workspace.

use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Instant;
use time::Duration;
use todokede_domain::{ClosedEnum, Period};
use todokede_publish::KnownIdentifiers;
use todokede_publish::document::{CaseInput, DraftChoices, FeatureChoice, generate};
use todokede_publish::render::{self, RenderOptions};
use todokede_publish::stats::{self, CaseRecord};

fn load(rel: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn keys<T: ClosedEnum>(v: &Value) -> Vec<T> {
    v.as_array().unwrap().iter().map(|k| T::parse(k.as_str().unwrap()).unwrap()).collect()
}

fn main() {
    let n: usize = std::env::var("REPORTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let expected = load("fixtures/seeds/expected.json");
    let seeds: Vec<Value> = ["fixtures/seeds/2019H1.json", "fixtures/seeds/2019H2.json"]
        .iter()
        .flat_map(|f| load(f).as_array().unwrap().clone())
        .collect();
    let period = Period::parse("2019H2").unwrap();
    // n reports in the period, n/2 in each of the two half-years before (for the comparison).
    let (p_start, p_end) = period.bounds();
    let before = period.previous().previous().bounds().0;
    let date = |i: usize| {
        let (from, to) = if i < n { (p_start, p_end) } else { (before, p_start - Duration::days(1)) };
        from + Duration::days((i as i64 * 7919) % ((to - from).whole_days() + 1))
    };
    let cases: Vec<CaseInput> = (0..2 * n)
        .map(|i| {
            let s = &seeds[i % seeds.len()];
            let e = &expected[s["reporter_reference"].as_str().unwrap()];
            let id = format!("R{i:06}");
            CaseInput {
                record: CaseRecord {
                    report: id.clone(),
                    incident: if i % 10 == 1 { format!("R{:06}", i - 1) } else { id },
                    received_on: date(i),
                    form: if i % 20 == 7 {
                        todokede_domain::ReportForm::Virus
                    } else {
                        todokede_domain::ReportForm::parse(s["form"].as_str().unwrap()).unwrap()
                    },
                    reporter_kind: s["reporter"]["kind"]
                        .as_str()
                        .map(|k| todokede_domain::ReporterKind::parse(k).unwrap()),
                    has_damage: Some(i % 7 != 0),
                    attack_types: vec![todokede_domain::AttackType::Intrusion],
                    causes: keys(&e["causes"]),
                    damages: keys(&e["damages"]),
                    techniques: e["techniques"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap().to_owned())
                        .collect(),
                    virus: (i % 20 == 7).then(|| stats::VirusRecord {
                        name: Some(["Emotet", "LockBit", "Conficker", "不明な添付ファイル"][i % 4].into()),
                        detections: Some(1 + (i % 50) as u32),
                    }),
                    assets: vec![todokede_domain::AffectedAsset::ServerWeb],
                },
                description: format!(
                    "{}（問い合わせ先: tanaka{i}@example.co.jp、03-1234-{:04}）",
                    s["description"].as_str().unwrap(),
                    i % 10_000
                ),
                discovery: s["discovery_narrative"].as_str().map(str::to_owned),
                damage: s["damage_narrative"].as_str().map(str::to_owned),
                cause: s["cause_narrative"].as_str().map(str::to_owned),
                response: s["response_narrative"].as_str().map(str::to_owned),
                virus: None,
                known: KnownIdentifiers {
                    reporter_label: "届出者（企業）".into(),
                    organisations: vec![format!("テスト商事{i}")],
                    ..Default::default()
                },
                evidence: vec![],
            }
        })
        .collect();
    let records: Vec<CaseRecord> = cases.iter().map(|c| c.record.clone()).collect();
    let in_period = records.iter().filter(|r| period.contains(r.received_on)).count();

    let t = Instant::now();
    let statistics = stats::compute(&records, in_period as u64, period, 3);
    let t_stats = t.elapsed();

    let t = Instant::now();
    let first_h2 = |reference: &str| {
        cases
            .iter()
            .find(|c| {
                period.contains(c.record.received_on)
                    && c.description.starts_with(
                        seeds.iter().find(|s| s["reporter_reference"] == reference).unwrap()["description"]
                            .as_str()
                            .unwrap(),
                    )
            })
            .unwrap()
            .record
            .report
            .clone()
    };
    let choices = DraftChoices {
        featured: vec![
            FeatureChoice {
                report: first_h2("2019H2-02"), title: "データベースを消去し脅迫する手口による攻撃".into()
            },
            FeatureChoice {
                report: first_h2("2019H2-18"),
                title: "ターゲット組織のウェブメールサービスを模造したフィッシング".into(),
            },
        ],
        notable: vec![],
        keep: BTreeSet::new(),
        listed: vec![],
    };
    let doc = generate(period, &cases, &records, &choices, statistics);
    let t_generate = t.elapsed();

    let opts = RenderOptions { draft: false, issued: "bench".into() };
    let runs: usize = std::env::var("RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
    let median = |mut v: Vec<std::time::Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let mut html = String::new();
    let mut pdf = vec![];
    let (mut html_times, mut pdf_times) = (vec![], vec![]);
    for _ in 0..runs {
        let t = Instant::now();
        html = render::html(&doc, &opts).unwrap();
        html_times.push(t.elapsed());
        let t = Instant::now();
        pdf = render::pdf(&doc, &opts).unwrap();
        pdf_times.push(t.elapsed());
    }
    let (t_html, t_pdf) = (median(html_times), median(pdf_times));
    let total = t_stats + t_generate + t_html + t_pdf;
    println!(
        "publication for {period}: {} reports generated over three half-years, {in_period} in the period, {} listed in 表2-1",
        records.len(),
        doc.groups.iter().map(|g| g.rows.len()).sum::<usize>()
    );
    println!("| step | ms |\n|---|---|");
    println!("| statistics (per incident, suppressed) | {:.1} |", t_stats.as_secs_f64() * 1e3);
    println!("| draft: anonymise + 表2-1 + chapters | {:.1} |", t_generate.as_secs_f64() * 1e3);
    println!("| HTML with SVG charts ({} KB) | {:.1} |", html.len() / 1024, t_html.as_secs_f64() * 1e3);
    println!("| PDF, typst ({} KB) | {:.1} |", pdf.len() / 1024, t_pdf.as_secs_f64() * 1e3);
    println!("| **total** (target < 5000) | **{:.1}** |", total.as_secs_f64() * 1e3);
    weasyprint(&html, runs, t_pdf, pdf.len());
}

/// The same HTML printed to PDF by WeasyPrint (a user's alternative), when it is installed.
fn weasyprint(html: &str, runs: usize, ours: std::time::Duration, our_size: usize) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/publication");
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("bench.html");
    let output = dir.join("bench-weasyprint.pdf");
    std::fs::write(&input, html).unwrap();
    let script = format!(
        "import sys,time,weasyprint\nts=[]\nfor _ in range({runs}):\n    t=time.perf_counter(); weasyprint.HTML(filename=sys.argv[1]).write_pdf(sys.argv[2]); ts.append(time.perf_counter()-t)\nts.sort(); print(ts[len(ts)//2]*1e3)"
    );
    let t = Instant::now();
    let out = std::process::Command::new("python3").arg("-c").arg(&script).arg(&input).arg(&output).output();
    let wall = t.elapsed();
    match out {
        Ok(o) if o.status.success() => {
            let ms: f64 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(f64::NAN);
            let size = std::fs::metadata(&output).map(|m| m.len() / 1024).unwrap_or(0);
            println!("\nthe same HTML to PDF, side by side (median of {runs}):");
            println!("| tool | PDF ms | KB |\n|---|---|---|");
            println!("| todokede (typst, in-process) | {:.1} | {} |", ours.as_secs_f64() * 1e3, our_size / 1024);
            println!("| WeasyPrint (in-process, import not counted) | {ms:.1} | {size} |");
            println!(
                "| WeasyPrint end to end (python3 start + import + {runs} runs) | {:.1} | |",
                wall.as_secs_f64() * 1e3
            );
        }
        Ok(o) => println!("\nWeasyPrint failed: {}", String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")),
        Err(e) => println!("\nWeasyPrint not run (pip install weasyprint): {e}"),
    }
}
