//! VERIS import (issue 18): `todokede import --format veris` on the VERIS data in
//! `../shared/data/veris` — the complete example incidents (schema 1.3.4–1.4.0, `.json` and
//! `.JSON`) and the upstream rule tests (valid and invalid), each imported or refused as it
//! should, a second import storing nothing, and the mapping of three records checked by hand
//! against DOMAIN.md §2.6. The real binary runs: the command's output and exit code are the
//! contract. The validator's verdicts are compared with Python's `jsonschema` (the reference
//! implementation of draft-04) on every record.

use crate::common::todokede;
use serde_json::Value;
use std::collections::BTreeMap;
use todokede_domain::{ClosedEnum as _, TrackingNumber};
use todokede_testkit::TestDb;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    every_veris_record_imports_or_is_refused_as_it_should_and_twice_stores_nothing_twice,
    veris_categories_map_onto_the_project_keys_as_domain_md_says,
);

/// The rule tests' records (their `incident`) and whether each should pass, written as files.
/// Each valid one gets its own incident_id (they all say "test", which would make them one
/// source record); one without an incident_id keeps lacking it.
fn rule_tests(dir: &std::path::Path) -> BTreeMap<String, (std::path::PathBuf, bool, String)> {
    let tests = todokede_testkit::requires::shared_data("veris/tests").expect("checked by the caller");
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(tests).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let t: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let mut incident = t["incident"].clone();
        if incident.get("incident_id").is_some() {
            incident["incident_id"] = Value::String(format!("rule-{stem}"));
        }
        let file = dir.join(format!("{stem}.json"));
        std::fs::write(&file, serde_json::to_vec_pretty(&incident).unwrap()).unwrap();
        out.insert(stem, (file, t["should"] == "pass", t["message"].as_str().unwrap_or("").to_owned()));
    }
    out
}

/// `TN\timported|already imported\tFILE` lines by file, and `refused\tFILE\tWHY` by file.
fn outcome(out: &std::process::Output) -> (BTreeMap<String, (String, String)>, BTreeMap<String, String>) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stored = stdout
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (tn, what, file) = (f.next()?, f.next()?, f.next()?);
            Some((file.to_owned(), (tn.to_owned(), what.to_owned())))
        })
        .collect();
    let refused = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("refused\t"))
        .filter_map(|l| l.split_once('\t'))
        .map(|(f, why)| (f.to_owned(), why.to_owned()))
        .collect();
    (stored, refused)
}

async fn every_veris_record_imports_or_is_refused_as_it_should_and_twice_stores_nothing_twice(db: &TestDb) {
    let Some(veris) = todokede_testkit::requires::shared_data("veris") else { return };
    let dir = tempfile::Builder::new().prefix(&format!("veris-{}-", db.backend)).tempdir().unwrap();
    let rules = rule_tests(dir.path());
    assert!(rules.len() > 200, "the upstream rule tests: {}", rules.len());
    let examples: Vec<String> =
        ["1_3_4-test1.json", "1_3_6-test1.json", "1_3_7-test1.JSON", "1_4_0-test1.JSON", "1_4_1-test1.JSON"]
            .iter()
            .map(|f| veris.join(format!("veris-{f}")).display().to_string())
            .collect();
    let mut args: Vec<String> = vec!["import".into(), "--format".into(), "veris".into()];
    args.extend(examples.iter().cloned());
    // The rule tests as a directory: its .json files are read in order.
    args.push(dir.path().display().to_string());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = todokede(&db.url, &argv);
    assert!(!first.status.success(), "refusals make the exit code non-zero");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("records refused (listed above); the others were imported"), "{stderr}");
    let (stored, refused) = outcome(&first);

    // Every rule test as upstream says, with the refusal naming the field the rule is about.
    let mut wrong = Vec::new();
    for (stem, (file, should_pass, message)) in &rules {
        let f = file.display().to_string();
        match (should_pass, stored.get(&f), refused.get(&f)) {
            (true, Some((_, what)), None) if what == "imported" => {}
            (false, None, Some(why)) => {
                // `a.b.c_rule` (or `a.b.c.rule`) is about field a.b.c; a refusal names it, or for
                // a missing one its name. Five upstream tests break another field than their name
                // says (copied records): those name what they really break.
                let rule_at = stem.strip_suffix("_not_array").map(str::len);
                let field = match rule_at {
                    Some(n) => &stem[..n],
                    None => stem.rsplit_once('_').or_else(|| stem.rsplit_once('.')).unwrap().0,
                };
                let last = field.rsplit('.').next().unwrap();
                let named = match stem.as_str() {
                    "impact_unrecognized" => why.contains("(record): 'test' is not a recognised field"),
                    "ioc.0.variety_missing" => why.contains("ioc.0: 'indicator' is a required property"),
                    "attribute.availability_unrecognized" => why.contains("attribute: 'test' is not a recognised"),
                    "action.error.vector_empty" => why.contains("action.misuse.vector: [] should be non-empty"),
                    "action.physical_unrecognized" => why.contains("action.social: 'test' is not a recognised"),
                    "root_unrecognized" => why.contains("(record): 'test' is not a recognised field"),
                    "related_incidents" => why.contains("(record): 'related_incidents' is not a recognised field"),
                    _ => {
                        why.contains(&format!("{field}: "))
                            || why.contains(&format!("{field}."))
                            || why.contains(&format!(": '{last}' is "))
                    }
                };
                if !named {
                    wrong.push(format!("{stem}: refused, but not for {field}: {why}"));
                }
                assert!(why.contains("(schema #/"), "names the schema's rule: {why}");
                // Without a schema_version the current schema says why.
                let schema = if stem == "schema_version_missing" { "1.4.1" } else { "1.3.0" };
                assert!(
                    why.starts_with(&format!(
                        "VERIS {schema} スキーマに合いません / not valid under the VERIS {schema} schema"
                    )),
                    "{why}"
                );
            }
            other => wrong.push(format!("{stem} ({message}): {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{} of {} rule tests wrong:\n{}", wrong.len(), rules.len(), wrong.join("\n"));
    let valid = rules.values().filter(|r| r.1).count();
    assert_eq!(valid, 26, "upstream's valid rule tests");

    // The example incidents: all import but 1.3.4's, which lacks action.malware.vector (required
    // in 1.3 and in 1.4: the rule test action.malware.vector_missing, the 1.4.1 schema).
    for e in &examples[1..] {
        assert_eq!(stored.get(e).map(|s| s.1.as_str()), Some("imported"), "{e}: {refused:?}");
    }
    let why = &refused[&examples[0]];
    assert!(why.starts_with("VERIS 1.3.x スキーマに合いません"), "{why}");
    assert!(why.contains("action.malware: 'vector' is a required property"), "{why}");
    assert!(why.contains("#/properties/action/properties/malware/required"), "{why}");

    // A 1.4 record that breaks a 1.4 rule names the 1.4.1 schema; an unknown version is refused.
    let mut bad: Value = serde_json::from_slice(&std::fs::read(&examples[4]).unwrap()).unwrap();
    bad["incident_id"] = "bad-1".into();
    bad["action"]["hacking"]["variety"] = serde_json::json!(["Use of stolen creds", "Telepathy"]);
    // Beside the rule tests' directory, not in it (the second import below reads it again).
    let extra = dir.path().join("extra");
    std::fs::create_dir(&extra).unwrap();
    let bad_file = extra.join("bad-1.4.JSON");
    std::fs::write(&bad_file, serde_json::to_vec(&bad).unwrap()).unwrap();
    let mut old = bad.clone();
    old["schema_version"] = "1.2.1".into();
    let old_file = extra.join("old.json");
    std::fs::write(&old_file, serde_json::to_vec(&old).unwrap()).unwrap();
    let out = todokede(
        &db.url,
        &["import", "--format", "veris", &bad_file.display().to_string(), &old_file.display().to_string()],
    );
    let (_, r) = outcome(&out);
    let why = &r[&bad_file.display().to_string()];
    assert!(why.starts_with("VERIS 1.4.1 スキーマに合いません"), "{why}");
    assert!(why.contains("action.hacking.variety.1: \"Telepathy\" is not one of the schema's values (schema #/properties/action/properties/hacking/properties/variety/items/enum)"), "{why}");
    assert!(r[&old_file.display().to_string()].contains("schema_version `1.2.1` is not supported"), "{r:?}");

    // Twice: nothing new, every stored record found again under its source id.
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let before = store.all_report_ids().await.unwrap().len();
    assert_eq!(before, valid + examples.len() - 1);
    let again = todokede(&db.url, &argv);
    let (stored_again, refused_again) = outcome(&again);
    assert_eq!(store.all_report_ids().await.unwrap().len(), before, "a second import stores nothing");
    assert_eq!(refused_again.len(), refused.len());
    for (file, (tn, _)) in &stored {
        assert_eq!(stored_again.get(file), Some(&(tn.clone(), "already imported".to_owned())), "{file}");
    }
}

async fn veris_categories_map_onto_the_project_keys_as_domain_md_says(db: &TestDb) {
    let Some(veris) = todokede_testkit::requires::shared_data("veris") else { return };
    let files: Vec<String> = ["1_4_1-test1.JSON", "1_4_0-test1.JSON", "1_3_7-test1.JSON"]
        .iter()
        .map(|f| veris.join(format!("veris-{f}")).display().to_string())
        .collect();
    let out = todokede(&db.url, &["import", "--format", "veris", &files[0], &files[1], &files[2]]);
    let (stored, refused) = outcome(&out);
    assert!(out.status.success() && refused.is_empty(), "{refused:?}");
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let report = |f: &str| {
        let tn = TrackingNumber::parse(&stored[f].0).unwrap();
        let store = &store;
        async move {
            let id = store.report_id_by_tracking(&tn).await.unwrap().unwrap();
            store.report(id).await.unwrap().unwrap()
        }
    };
    let keys = |v: Vec<&'static str>| v.join(",");

    // 1.4.0 record: stolen credentials over desktop sharing, ransomware, employees' data out,
    // a local government, a web application and the WLAN in an external cloud.
    let r = report(&files[0]).await;
    let c = &r.content;
    assert_eq!(keys(c.causes.iter().map(|k| k.key()).collect()), "credential_reuse");
    assert_eq!(keys(c.damages.iter().map(|k| k.key()).collect()), "information_leak,ransomware,account_takeover");
    assert_eq!(c.damage_status.key(), "damage");
    assert_eq!(c.form.key(), "unauthorized_access");
    assert_eq!(c.reporter.kind.map(|k| k.key()), Some("local_government"));
    assert_eq!(keys(c.affected.assets.iter().map(|k| k.key()).collect()), "network_device,server_web");
    assert_eq!(keys(c.affected.deployment.iter().map(|k| k.key()).collect()), "cloud_iaas");
    assert_eq!(c.reporter_reference.as_deref(), Some("VERIS vcdb/5b2c1160-a083-11f0-b4de-6102c171a07e"));
    let notes = r.intake_notes.join("\n");
    assert!(notes.contains("credential_reuse ← action.hacking.variety Use of stolen creds"), "{notes}");
    assert!(notes.contains("攻撃行為 / attack types: intrusion ← action.hacking; impersonation ←"), "{notes}");
    // The original record, byte for byte, as an attachment.
    assert_eq!(r.attachments.len(), 1);
    assert_eq!(r.attachments[0].filename, "veris-5b2c1160-a083-11f0-b4de-6102c171a07e.json");
    let kept = store.blob(&r.attachments[0].sha256).await.unwrap().unwrap();
    assert_eq!(kept, std::fs::read(&files[0]).unwrap());

    // 1.3.7 record: an exploited vulnerability of a web application, a backdoor, extortion.
    let c = report(&files[1]).await.content;
    assert_eq!(keys(c.causes.iter().map(|k| k.key()).collect()), "unpatched_software");
    assert_eq!(
        keys(c.damages.iter().map(|k| k.key()).collect()),
        "information_leak,malware_placed,data_destruction_extortion"
    );
    assert_eq!(c.reporter.kind.map(|k| k.key()), Some("local_government"));
    assert_eq!(c.reporter.organization, None, "victim_id \"test\" is no name");

    // 1.3.6 record: errors (omission, disposal) and no attacker: no cause VERIS names, data
    // disclosed and a defacement; a tablet on premises; "a test json for 1.3.7" as the text.
    let r = report(&files[2]).await;
    let c = &r.content;
    assert_eq!(keys(c.causes.iter().map(|k| k.key()).collect()), "unknown");
    assert_eq!(keys(c.damages.iter().map(|k| k.key()).collect()), "information_leak,tampering");
    assert_eq!(keys(c.affected.assets.iter().map(|k| k.key()).collect()), "smartphone_tablet");
    assert_eq!(keys(c.affected.deployment.iter().map(|k| k.key()).collect()), "on_premises");
    assert_eq!(c.description, "a test json for 1.3.7");
    assert_eq!(c.reporter_reference.as_deref(), Some("VERIS -/313859c0-69bf-11ed-b363-f7eda7b3e77c"));
}

/// The validator agrees with Python's `jsonschema` (Draft4Validator) on every record, under
/// both schemas (the 1.3 one as derived here).
#[test]
fn the_validator_agrees_with_the_reference_jsonschema_on_every_record() {
    let Some(veris) = todokede_testkit::requires::shared_data("veris") else { return };
    if !todokede_testkit::requires::python_module("jsonschema") {
        return;
    }
    use todokede_app::veris::SchemaVersion;
    let dir = tempfile::Builder::new().prefix("veris-ref-").tempdir().unwrap();
    let mut records: Vec<Value> = Vec::new();
    for e in std::fs::read_dir(veris.join("tests")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            records.push(serde_json::from_slice::<Value>(&std::fs::read(&p).unwrap()).unwrap()["incident"].clone());
        }
    }
    for e in std::fs::read_dir(&veris).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("veris-1_") {
            records.push(serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap());
        }
    }
    let mut ours = Vec::new();
    let versions = [("1.3.0", SchemaVersion::V1_3_0), ("1.3", SchemaVersion::V1_3), ("1.4", SchemaVersion::V1_4)];
    for (name, version) in versions {
        std::fs::write(dir.path().join(format!("{name}.json")), serde_json::to_vec(version.schema()).unwrap()).unwrap();
        let v = todokede_app::veris::Validator::new(version.schema().clone()).unwrap();
        ours.push(records.iter().map(|r| v.validate(r).is_empty()).collect::<Vec<bool>>());
    }
    std::fs::write(dir.path().join("records.json"), serde_json::to_vec(&records).unwrap()).unwrap();
    let script = r#"
import json, sys
from jsonschema import Draft4Validator
d = sys.argv[1]
records = json.load(open(d + "/records.json"))
out = []
for name in ("1.3.0", "1.3", "1.4"):
    v = Draft4Validator(json.load(open(d + "/" + name + ".json")))
    out.append([v.is_valid(r) for r in records])
print(json.dumps(out))
"#;
    let out =
        std::process::Command::new("python3").args(["-c", script, &dir.path().display().to_string()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reference: Vec<Vec<bool>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reference.len(), 3);
    for (i, (o, r)) in ours.iter().zip(&reference).enumerate() {
        let differ: Vec<usize> = (0..records.len()).filter(|&k| o[k] != r[k]).collect();
        assert!(differ.is_empty(), "schema {i}: records {differ:?} judged differently");
    }
    // Not a vacuous agreement: both verdicts occur under the 1.3.0 schema.
    assert!(ours[0].iter().any(|v| *v) && ours[0].iter().any(|v| !*v));
}
