//! Exchange benchmark (issue 18): a period of REPORTS (default 10,000) generated reports, each
//! with attacker indicators (its own address, domain, URL and hash, and one of 50 shared
//! scanners), analysed by the real analysis, confirmed and approved for sharing under the four
//! shareable TLP levels (and every 20th under TLP:RED, which never leaves). Then:
//! - the STIX 2.1 export of the period (`exchange::stix_bundle`: loading and anonymising the
//!   approved cases, then the pure bundle), three times — the same bytes each time;
//! - the real `todokede serve` binary: its first TAXII request (which materialises the
//!   collections), then full walks of every collection with pages of 1000 and of 100, each
//!   object checked once, the total checked against the export.
//!
//! Run (the dev profile builds in a fraction of release's time; figures say which):
//!   cargo bench -p todokede --bench exchange --profile dev
//!   TODOKEDE_BENCH_DB=postgres://postgres@127.0.0.1/exchange_bench cargo bench -p todokede --bench exchange
//! The SQLite store lives in /dev/shm when it exists (the set-up's 20,000 commits are not the
//! measurement).

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;
use todokede_app::exchange::{self, ExportScope};
use todokede_domain::*;
use todokede_publish::stix::{Publisher, Tlp};
use todokede_store::{Role, Store};

fn description(i: usize) -> String {
    format!(
        "弊社の VPN 装置に 45.137.{}.{} と 185.{}.{}.{} から総当たり攻撃があり、侵入後に hxxp://drop-{i}[.]xyz/p.exe \
         がダウンロードされ、c2-{i}.top へ通信していました。ハッシュ SHA-256 {:064x}。被害拠点は第{}拠点です。",
        20 + i % 50 / 10,
        1 + i % 50,
        100 + (i / 60_000) % 100,
        (i / 250) % 250,
        1 + i % 250,
        0x5eed_0000_0000_u64 + i as u64,
        i % 97
    )
}

async fn setup(store: &Store, reports: usize) -> UserId {
    let started = Instant::now();
    let hash = todokede_app::accounts::hash_password("bench-password-not-used").unwrap();
    let user = store.create_user("bench@example.jp", Role::Analyst, &hash).await.unwrap();
    let mut ids = Vec::with_capacity(reports);
    let subs: Vec<Submission> = (0..reports)
        .map(|i| {
            let day = 1 + i % 28;
            let month = 1 + (i / 28) % 6;
            let body = serde_json::json!({
                "form": "unauthorized_access", "received_on": format!("2026-{month:02}-{day:02}"),
                "reporter": {"kind": "company"}, "description": description(i)});
            todokede_app::intake::submission_from_json(body.to_string().as_bytes(), vec![], Channel::Import, None)
                .unwrap()
        })
        .collect();
    for chunk in subs.chunks(500) {
        for r in store.ingest_batch(chunk).await.unwrap() {
            ids.push(r.unwrap().report_id);
        }
    }
    eprintln!("stored {reports} reports in {:.1} s", started.elapsed().as_secs_f64());
    // The analysis worker's loop, to the end of the queue.
    let t = Instant::now();
    loop {
        let jobs = store.claim_jobs(200, time::Duration::minutes(10)).await.unwrap();
        if jobs.is_empty() {
            break;
        }
        for j in jobs {
            todokede_app::analysis::analyse_report(store, j.report_id).await.unwrap();
            store.finish_job(j.id, None).await.unwrap();
        }
    }
    eprintln!("analysed them in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let c = Classification {
        causes: vec![CauseCategory::WeakCredentials],
        damages: vec![],
        attack_types: vec![AttackType::Intrusion],
        techniques: vec!["T1110.001".into(), "T1133".into()],
        has_damage: Some(true),
    };
    let levels = ["clear", "green", "amber", "amber+strict"];
    for (i, id) in ids.iter().enumerate() {
        store.confirm_classification(*id, user, &c, &c, None).await.unwrap();
        let tlp = if i % 20 == 19 { "red" } else { levels[i % 4] };
        store.approve_sharing(*id, tlp, user).await.unwrap();
    }
    eprintln!("confirmed and shared them in {:.1} s", t.elapsed().as_secs_f64());
    user
}

struct Walk {
    requests: usize,
    objects: usize,
    secs: f64,
}

async fn walk(client: &reqwest::Client, base: &str, token: &str, collection: &str, limit: usize) -> Walk {
    let t = Instant::now();
    let (mut requests, mut seen, mut next) = (0, HashSet::new(), None::<String>);
    loop {
        let mut url = format!("{base}/taxii2/todokede/collections/{collection}/objects/?limit={limit}");
        if let Some(n) = &next {
            url.push_str(&format!("&next={n}"));
        }
        let res = client
            .get(url)
            .bearer_auth(token)
            .header("accept", "application/taxii+json;version=2.1")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let v: serde_json::Value = res.json().await.unwrap();
        requests += 1;
        for o in v["objects"].as_array().into_iter().flatten() {
            assert!(seen.insert(o["id"].as_str().unwrap().to_owned()), "{} twice", o["id"]);
        }
        if v["more"] != true {
            break;
        }
        next = Some(v["next"].as_str().unwrap().to_owned());
    }
    Walk { requests, objects: seen.len(), secs: t.elapsed().as_secs_f64() }
}

#[tokio::main]
async fn main() {
    let reports: usize = std::env::var("REPORTS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    }
    .join(format!("todokede-exchange-bench-{}", std::process::id()));
    let url = std::env::var("TODOKEDE_BENCH_DB").unwrap_or_else(|_| format!("sqlite://{}", dir.join("b.db").display()));
    let store = Store::open(&url).await.unwrap();
    assert!(store.all_report_ids().await.unwrap().is_empty(), "the benchmark wants an empty store: {url}");
    let user = setup(&store, reports).await;
    let profile = if cfg!(debug_assertions) { "dev profile" } else { "release" };
    println!("\nexchange, {reports} reports in 2026H1 ({}, {profile})", store.backend_name());

    let publisher = Publisher { name: exchange::DEFAULT_PUBLISHER.into() };
    let scope = ExportScope::Period(Period::parse("2026H1").unwrap());
    let mut first: Option<Vec<u8>> = None;
    for run in 1..=3 {
        let t = Instant::now();
        let cases = exchange::share_cases(&store, &scope, Tlp::AmberStrict).await.unwrap();
        let load = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let bytes = exchange::stix_bundle(&store, &publisher, &scope, Tlp::AmberStrict).await.unwrap();
        let whole = t.elapsed().as_secs_f64();
        let objects = serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["objects"].as_array().unwrap().len();
        println!(
            "STIX export run {run}: {:.2} s ({} shared cases, loading and anonymising them alone {load:.2} s), \
             {objects} objects, {:.1} MB",
            whole,
            cases.len(),
            bytes.len() as f64 / 1e6
        );
        match &first {
            None => first = Some(bytes),
            Some(f) => assert_eq!(f, &bytes, "the same bytes every time"),
        }
    }
    let exported = serde_json::from_slice::<serde_json::Value>(first.as_ref().unwrap()).unwrap()["objects"]
        .as_array()
        .unwrap()
        .len();

    let owner = store.user(user).await.unwrap().unwrap();
    let token = todokede_app::tokens::create(
        &store,
        &owner,
        "bench",
        &[todokede_app::tokens::Scope::Export],
        time::Duration::days(1),
        &owner,
    )
    .await
    .unwrap()
    .token;
    let mut child = Command::new(env!("CARGO_BIN_EXE_todokede"))
        .args(["--db", &url, "serve", "--listen", "127.0.0.1:0"])
        .env("TODOKEDE_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().trim_start_matches("listening on ").to_owned();
    let client = reqwest::Client::new();
    let collections: Vec<String> = todokede_app::taxii::Collection::ALL.iter().map(|c| c.id()).collect();
    let t = Instant::now();
    let _ = walk(&client, &base, &token, &collections[0], 1).await;
    println!("TAXII first request (materialises the collections): {:.2} s", t.elapsed().as_secs_f64());
    for limit in [1000, 100] {
        let (mut requests, mut objects, mut secs) = (0, 0, 0.0);
        for c in &collections {
            let w = walk(&client, &base, &token, c, limit).await;
            requests += w.requests;
            objects += w.objects;
            secs += w.secs;
        }
        assert_eq!(objects, exported, "every exported object once");
        println!(
            "TAXII walk, pages of {limit}: {objects} objects in {requests} requests, {secs:.2} s \
             ({:.0} objects/s, {:.1} ms a request)",
            objects as f64 / secs,
            secs * 1000.0 / requests as f64
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
