//! The seed fixtures as handled reports (fixtures/seeds, with DOMAIN.md's classification of each
//! case as the analyst-confirmed one), shared by the publication tests.
#![allow(dead_code)]

use serde_json::Value;
use time::Date;
use todokede_domain::ClosedEnum;
use todokede_publish::KnownIdentifiers;
use todokede_publish::document::CaseInput;
use todokede_publish::stats::CaseRecord;

pub fn load(rel: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

pub fn keys<T: ClosedEnum>(v: &Value) -> Vec<T> {
    v.as_array().unwrap().iter().map(|k| T::parse(k.as_str().unwrap()).unwrap()).collect()
}

pub fn seed_cases() -> Vec<CaseInput> {
    let expected = load("fixtures/seeds/expected.json");
    let mut out = vec![];
    for file in ["fixtures/seeds/2019H1.json", "fixtures/seeds/2019H2.json"] {
        for r in load(file).as_array().unwrap() {
            let id = r["reporter_reference"].as_str().unwrap().to_owned();
            let e = &expected[&id];
            let s = |k: &str| r[k].as_str().map(str::to_owned);
            out.push(CaseInput {
                record: CaseRecord {
                    report: id.clone(),
                    incident: id.clone(),
                    received_on: Date::parse(
                        r["received_on"].as_str().unwrap(),
                        time::macros::format_description!("[year]-[month]-[day]"),
                    )
                    .unwrap(),
                    form: todokede_domain::ReportForm::parse(r["form"].as_str().unwrap()).unwrap(),
                    reporter_kind: r["reporter"]["kind"]
                        .as_str()
                        .map(|k| todokede_domain::ReporterKind::parse(k).unwrap()),
                    // As `classify --labels` confirms them: no damage for a case whose only
                    // damage is `none` or whose cause is `not_applicable`.
                    has_damage: Some(
                        !(e["damages"].as_array().unwrap().iter().all(|d| d == "none")
                            || e["causes"][0] == "not_applicable"),
                    ),
                    attack_types: vec![todokede_domain::AttackType::Intrusion],
                    causes: keys(&e["causes"]),
                    damages: keys(&e["damages"]),
                    techniques: e["techniques"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap().to_owned())
                        .collect(),
                    virus: (r["form"] == "virus").then(todokede_publish::stats::VirusRecord::default),
                    assets: vec![],
                },
                description: r["description"].as_str().unwrap().to_owned(),
                discovery: s("discovery_narrative"),
                damage: s("damage_narrative"),
                cause: s("cause_narrative"),
                response: s("response_narrative"),
                virus: None,
                known: KnownIdentifiers { reporter_label: "届出者".into(), ..Default::default() },
                evidence: vec![],
            });
        }
    }
    out
}

/// The seeds' draft of `period`: the given 着目点 trends (`damage.…`, `cause.…`) and featured
/// cases, every seed case counted, the threshold 3.
pub fn draft(
    period: &str,
    notable: &[&str],
    featured: Vec<todokede_publish::document::FeatureChoice>,
) -> todokede_publish::Document {
    use todokede_publish::document::{DraftChoices, generate};
    let cases = seed_cases();
    let period = todokede_domain::Period::parse(period).unwrap();
    let records: Vec<CaseRecord> = cases.iter().map(|c| c.record.clone()).collect();
    let statistics = todokede_publish::stats::compute(&records, records.len() as u64, period, 3);
    let choices = DraftChoices {
        featured,
        notable: notable.iter().map(|k| (*k).to_owned()).collect(),
        keep: std::collections::BTreeSet::new(),
        listed: vec![],
    };
    generate(period, &cases, &records, &choices, statistics)
}

/// The seed's three featured cases of 2019H2 (chapters 3–5) with the seed's titles.
pub fn featured_2019h2() -> Vec<todokede_publish::document::FeatureChoice> {
    [
        ("2019H2-02", "データベースを消去し脅迫する手口による攻撃"),
        ("2019H2-03", "アクセス制限されていない SSHサービスに対する執拗な攻撃"),
        ("2019H2-18", "ターゲット組織のウェブメールサービスを模造したフィッシング"),
    ]
    .iter()
    .map(|(r, t)| todokede_publish::document::FeatureChoice { report: (*r).into(), title: (*t).into() })
    .collect()
}
