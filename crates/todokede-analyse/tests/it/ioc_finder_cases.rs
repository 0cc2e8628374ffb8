//! The extraction measured against ioc-finder's own test cases (../shared/data/ioc, LGPL-3.0,
//! not vendored): per indicator type, precision and recall of the types both tools support.
//! Warning lists are off here — ioc-finder has none, and its cases use example.com freely.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use todokede_analyse::{IndicatorType, extract, normalise};

const TYPES: &[(&str, IndicatorType)] = &[
    ("ipv4s", IndicatorType::Ipv4),
    ("ipv6s", IndicatorType::Ipv6),
    ("domains", IndicatorType::Domain),
    ("urls", IndicatorType::Url),
    ("email_addresses", IndicatorType::Email),
    ("md5s", IndicatorType::Md5),
    ("sha1s", IndicatorType::Sha1),
    ("sha256s", IndicatorType::Sha256),
    ("cves", IndicatorType::Cve),
    ("bitcoin_addresses", IndicatorType::Btc),
    ("monero_addresses", IndicatorType::Xmr),
    ("registry_key_paths", IndicatorType::Registry),
];

#[test]
fn precision_and_recall_on_ioc_finder_cases() {
    let Some(path) = todokede_testkit::requires::shared_data("ioc/ioc_finder_cases.jsonl") else { return };
    let data = std::fs::read_to_string(&path).unwrap();
    let mut tally: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut cases = 0;
    for line in data.lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        // Cases that only exercise ioc-finder options (included/excluded types, parse flags) are
        // about its API, not about what is in the text.
        if case["options"].as_object().is_some_and(|o| !o.is_empty()) {
            continue;
        }
        cases += 1;
        let e = extract(&normalise(case["text"].as_str().unwrap()), false);
        for (name, t) in TYPES {
            let expected: BTreeSet<String> = case["expected"]
                .get(*name)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(|s| s.to_lowercase()).collect())
                .unwrap_or_default();
            let got: BTreeSet<String> =
                e.indicators.get(*t).iter().chain(e.internal.get(*t)).map(|s| s.to_lowercase()).collect();
            let entry = tally.entry(name).or_default();
            entry.0 += expected.intersection(&got).count();
            entry.1 += got.difference(&expected).count();
            entry.2 += expected.difference(&got).count();
        }
    }
    println!("\nioc-finder cases without options: {cases}");
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (name, (t, f, n)) in &tally {
        println!(
            "  {name:<20} precision {:>5.2}  recall {:>5.2}  (tp {t} fp {f} fn {n})",
            *t as f64 / (t + f).max(1) as f64,
            *t as f64 / (t + n).max(1) as f64
        );
        tp += t;
        fp += f;
        fn_ += n;
    }
    let (p, r) = (tp as f64 / (tp + fp) as f64, tp as f64 / (tp + fn_) as f64);
    println!("  overall              precision {p:>5.2}  recall {r:>5.2}");
    assert!(p >= 0.75 && r >= 0.75, "precision {p:.2}, recall {r:.2}");
}
