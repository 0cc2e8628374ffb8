//! The text model learns from the analysts: reports of a kind the corpus lacks are confirmed
//! with `todokede classify`, `todokede train --from-store` retrains, and a new report of that
//! kind is then suggested right — through the real binary and store.

use crate::common;

use common::{repo, todokede};
use serde_json::Value;
use todokede_testkit::TestDb;

/// Reports whose cause is a third party looking after the site — here a relative, an
/// acquaintance or a volunteer rather than a company — told in words the corpus does not use.
const CONFIRMED: &[&str] = &[
    "店のページはいとこに作ってもらっていて、いとこが残した試しの入り口から入られ、お知らせが書き換えられた。",
    "サークルのページは先輩に頼んでいて、先輩が置いていった練習用の入り口から入られ、トップが書き換えられていた。",
    "教室のページは近所の学生さんが作ってくれたが、その学生さんの試験用の入り口が残っていて、そこから書き換えられた。",
    "同好会のページを見てくれているボランティアの方が、試しに作った入り口を消し忘れていて、そこから中身を書き換えられた。",
    "実家の民宿のページは甥っ子が作ったもので、甥っ子の練習用の入り口から入られ、料金のページが書き換えられた。",
    "うちの畑のページは友人に任せているが、友人が残したお試しの入り口から入られ、写真が書き換えられた。",
];
const NEW_REPORT: &str =
    "句会のページは孫に頼んで作ってもらったが、孫がこしらえた練習の裏口が開いたままで、そこから俳句の欄がいじられた。";

fn top_cause(db: &str, model: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("report.txt");
    std::fs::write(&text, NEW_REPORT).unwrap();
    let text = text.display().to_string();
    let mut args = vec!["analyse", "--json", &text];
    if let Some(m) = model {
        args.extend(["--model", m]);
    }
    let out = todokede(db, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["causes"][0]["key"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn confirmed_reports_teach_the_model_a_kind_it_lacked() {
    let db = TestDb::sqlite().await;
    let before = top_cause(&db.url, None);
    assert_ne!(before, "third_party", "precondition: the shipped model must not know this wording yet");

    let dir = tempfile::tempdir().unwrap();
    let reports: Vec<Value> =
        CONFIRMED.iter().map(|d| serde_json::json!({"form": "unauthorized_access", "description": d})).collect();
    let file = dir.path().join("reports.json");
    std::fs::write(&file, serde_json::to_vec(&reports).unwrap()).unwrap();
    let out = todokede(&db.url, &["import", &file.display().to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let numbers: Vec<String> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split('\t').next()).map(str::to_owned).collect();
    assert_eq!(numbers.len(), CONFIRMED.len());

    let analyst = "learner@example.org";
    let mut add = std::process::Command::new(env!("CARGO_BIN_EXE_todokede"))
        .args(["--db", &db.url, "user", "add", "--role", "analyst", analyst, "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    add.stdin.take().unwrap().write_all(b"a long enough passphrase 1\n").unwrap();
    assert!(add.wait().unwrap().success());
    for n in &numbers {
        let out = todokede(
            &db.url,
            &[
                "classify",
                n,
                "--as",
                analyst,
                "--causes",
                "third_party",
                "--damages",
                "tampering",
                "--has-damage",
                "yes",
            ],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    let model = dir.path().join("model.tsv").display().to_string();
    let out = todokede(
        &db.url,
        &[
            "train",
            "--from-store",
            "-o",
            &model,
            "--corpus",
            &repo("fixtures/corpus"),
            "--seeds",
            &repo("fixtures/seeds"),
            "--incident-texts",
            &repo("../shared/data/incident_texts/cases.jsonl"),
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{} analyst-confirmed reports", CONFIRMED.len())));
    assert_eq!(
        top_cause(&db.url, Some(&model)),
        "third_party",
        "after learning from {} confirmations",
        CONFIRMED.len()
    );
    db.cleanup().await;
}
