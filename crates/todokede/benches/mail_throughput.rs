//! Mail intake throughput on the release binary with SQLite (durable commits):
//! `todokede mailgate` as a process per message — what an MTA pipe does — one at a time and
//! four at a time, and the batch path (`todokede import *.eml`, the IMAP import path).
//! Run: `cargo bench -p todokede --bench mail_throughput`.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_todokede");

fn message(i: usize) -> Vec<u8> {
    format!(
        "From: reporter{i}@example.co.jp\r\nTo: crack@todokede.example\r\nSubject: =?UTF-8?B?5LiN5q2j44Ki44Kv44K744K544Gu5aCx5ZGK?= {i}\r\n\
         Message-ID: <bench-{i}@example.co.jp>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         弊社サーバへの不正アクセスを検知しました（{i}）。攻撃元は 45.33.32.{} で、phpMyAdmin からデータベースが削除され、\r\n\
         0.03 BTC を要求する脅迫文が残されていました。SSH への総当たり攻撃も続いています。\r\n",
        i % 250
    )
    .into_bytes()
}

fn mailgate(db: &str, raw: &[u8]) {
    let mut c = Command::new(BIN)
        .args(["--db", db, "mailgate"])
        .env("TODOKEDE_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(raw).unwrap();
    assert!(c.wait().unwrap().success());
}

fn main() {
    let dir = std::env::temp_dir().join(format!("todokede-mailbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = |n: &str| format!("sqlite://{}", dir.join(n).display());

    // Process per message, sequential.
    let n = 500;
    let d1 = db("seq.db");
    mailgate(&d1, &message(1_000_000)); // creates the schema
    let t = Instant::now();
    for i in 0..n {
        mailgate(&d1, &message(i));
    }
    let seq = n as f64 / t.elapsed().as_secs_f64();

    // Process per message, four concurrent deliveries (an MTA's pipe concurrency).
    let d2 = db("par.db");
    mailgate(&d2, &message(1_000_000));
    let t = Instant::now();
    std::thread::scope(|s| {
        for w in 0..4 {
            let d2 = d2.clone();
            s.spawn(move || {
                for i in (w..n).step_by(4) {
                    mailgate(&d2, &message(i));
                }
            });
        }
    });
    let par = n as f64 / t.elapsed().as_secs_f64();

    // The batch path: import of many .eml files.
    let m = 20_000;
    let emls = dir.join("eml");
    std::fs::create_dir_all(&emls).unwrap();
    let paths: Vec<String> = (0..m)
        .map(|i| {
            let p = emls.join(format!("{i}.eml"));
            std::fs::write(&p, message(i)).unwrap();
            p.display().to_string()
        })
        .collect();
    let t = Instant::now();
    let out = Command::new(BIN)
        .args(["--db", &db("batch.db"), "import"])
        .args(&paths)
        .env("TODOKEDE_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(out.success());
    let batch = m as f64 / t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);

    println!("\nmail intake, release build, SQLite with synchronous=FULL");
    println!("{:<52} {:>10}", "path", "messages/s");
    println!("{:<52} {:>10.0}", "mailgate, a process per message, 1 at a time", seq);
    println!("{:<52} {:>10.0}", "mailgate, a process per message, 4 concurrent", par);
    println!("{:<52} {:>10.0}", format!("import of {m} .eml files (batch path)"), batch);
}
