//! The anonymiser measured: recall over the labelled set written for it
//! (fixtures/anonymisation, ≥ 200 identifying values in report text), the seeds' wording
//! unchanged, issue 16's 26-value probe, and the residual risks it lists for the approver.

use crate::common;

use serde_json::Value;
use std::collections::BTreeSet;
use todokede_publish::{KnownIdentifiers, anonymise};
use unicode_normalization::UnicodeNormalization as _;

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

fn squeeze(s: &str) -> String {
    s.nfkc().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase()
}

#[test]
fn recall_over_the_labelled_set_is_at_least_99_percent() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/anonymisation/labelled.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let (mut total, mut caught) = (0usize, 0usize);
    let mut missed = vec![];
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        let k = &case["known"];
        let known = KnownIdentifiers {
            reporter_label: k["reporter_label"].as_str().unwrap_or("届出者").to_owned(),
            person_names: strings(&k["person_names"]),
            organisations: strings(&k["organisations"]),
            emails: strings(&k["emails"]),
            phones: strings(&k["phones"]),
            addresses: strings(&k["addresses"]),
            domains: strings(&k["domains"]),
            ..Default::default()
        };
        let a = anonymise(case["text"].as_str().unwrap(), &known, &BTreeSet::new());
        let out = squeeze(&a.text);
        for v in strings(&case["values"]) {
            total += 1;
            if out.contains(&squeeze(&v)) {
                missed.push(format!("#{}: {v} in {}", case["id"], a.text));
            } else {
                caught += 1;
            }
        }
    }
    let recall = caught as f64 / total as f64;
    eprintln!("anonymiser recall: {caught}/{total} = {:.2} %", recall * 100.0);
    for m in &missed {
        eprintln!("  missed {m}");
    }
    assert!(total >= 200, "the labelled set has {total} values");
    assert!(recall >= 0.99, "recall {:.3}: missed {missed:#?}", recall);
}

#[test]
fn the_seeds_wording_passes_unchanged() {
    let mut n = 0;
    for c in common::seed_cases() {
        for t in [Some(&c.description), c.discovery.as_ref(), c.damage.as_ref(), c.cause.as_ref(), c.response.as_ref()]
            .into_iter()
            .flatten()
        {
            let a = anonymise(t, &c.known, &BTreeSet::new());
            assert_eq!(a.text, *t, "{}: {:?}", c.record.report, a.replacements);
            n += 1;
        }
    }
    assert!(n >= 40, "{n} seed texts");
}

/// The probe of issue 16, at the anonymiser (the CLI test runs it through the publication).
#[test]
fn the_26_probe_values_are_all_replaced() {
    let known = KnownIdentifiers {
        reporter_label: "届出者（企業）".into(),
        person_names: vec!["山田 太郎".into()],
        organisations: vec!["株式会社サンプル商事".into()],
        emails: vec!["taro.yamada@sample-shoji.co.jp".into()],
        phones: vec!["03-1234-5678".into()],
        addresses: vec!["東京都千代田区丸の内1-2-3".into()],
        domains: vec!["sample-shoji.co.jp".into()],
        ..Default::default()
    };
    let text = "(株)サンプル商事（㈱サンプル商事、英文名 SAMPLE SHOJI）の山田 太郎です。山田太郎（ヤマダタロウ、Taro Yamada）が \
                社員の佐藤花子（Hanako Sato）から連絡を受けた。サイト www.sample-shoji.tokyo とサーバ web01（203.0.113[.]10）、\
                管理サーバ １９２．０．２．１０。連絡先 taro.yamada@sample-shoji.co.jp、090 1234 5678、09012345678、\
                +81 90 1234 5678、代表 ０３－１２３４－５６７８。本社 千代田区丸の内1-2-3 サンプルビル5階、大阪支店 大阪市北区梅田1-1。\
                アカウント yamada-t、社員番号 E12345、口座番号 1234567、内線 1234。サンプル商事として届け出る。株式会社サンプル商事。";
    let probe = [
        "山田 太郎",
        "山田太郎",
        "ヤマダタロウ",
        "Taro Yamada",
        "株式会社サンプル商事",
        "サンプル商事",
        "(株)サンプル商事",
        "㈱サンプル商事",
        "SAMPLE SHOJI",
        "taro.yamada@sample-shoji.co.jp",
        "www.sample-shoji.tokyo",
        "090 1234 5678",
        "09012345678",
        "+81 90 1234 5678",
        "０３－１２３４－５６７８",
        "千代田区丸の内1-2-3 サンプルビル5階",
        "大阪市北区梅田1-1",
        "203.0.113[.]10",
        "１９２．０．２．１０",
        "佐藤花子",
        "Hanako Sato",
        "yamada-t",
        "E12345",
        "1234567",
        "内線 1234",
        "web01",
    ];
    assert_eq!(probe.len(), 26);
    let a = anonymise(text, &known, &BTreeSet::new());
    let out = squeeze(&a.text);
    let leaked: Vec<&str> = probe.iter().copied().filter(|v| out.contains(&squeeze(v))).collect();
    assert!(leaked.is_empty(), "{} of 26 leaked: {leaked:?}\n{}", leaked.len(), a.text);
    assert!(a.text.starts_with("届出者（企業）（届出者（企業）、英文名 届出者（企業））の担当者です。"), "{}", a.text);
}

#[test]
fn what_it_cannot_decide_is_listed_and_english_is_never_printed_raw() {
    let a = anonymise(
        "海外拠点の John Smith から連絡があった。照会番号 88123456 の件で、ミドリ商店の注文が止まった。",
        &KnownIdentifiers::default(),
        &BTreeSet::new(),
    );
    let risks: Vec<(&str, &str)> = a.risks.iter().map(|r| (r.kind.as_str(), r.text.as_str())).collect();
    assert!(risks.contains(&("latin_name", "John Smith")), "{risks:?}");
    assert!(risks.contains(&("digits", "88123456")), "{risks:?}");
    assert!(risks.contains(&("proper_noun", "ミドリ商店")), "{risks:?}");
    let english = "Our web server was compromised through an outdated plugin and the attacker uploaded a web shell \
                   (SHA-256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08) from hxxp://evil.example[.]com/.";
    let a = anonymise(english, &KnownIdentifiers::default(), &BTreeSet::new());
    assert_eq!(a.text, todokede_publish::anonymise::NOT_JAPANESE);
    assert_eq!(a.risks[0].kind, "not_japanese");
}
