//! Exchange benchmark (issue 18): a period of REPORTS (default 10,000) generated reports, each
//! with attacker indicators (its own address, domain, URL and hash, and one of 50 shared
//! scanners), analysed by the real analysis, confirmed and approved for sharing under the four
//! shareable TLP levels (and every 20th under TLP:RED, which never leaves). Then:
//! - the STIX 2.1 export of the period (`exchange::stix_bundle`: loading and anonymising the
//!   approved cases, then the pure bundle), three times — the same bytes each time;
//! - the TAXII materialiser in process: its first run (every case loaded and compared with the
//!   store), a refresh with nothing changed, and one after one report was approved again;
//! - the real `todokede serve` binary over plain HTTP: its first page, full walks of every
//!   collection with pages of 1000 and of 100 (each object once, the total checked against the
//!   export), then one report approved again: the first page right after it and a poll of every
//!   collection with `added_after`, which must return exactly the objects whose bytes changed;
//! - beside it, what a consumer does without TAXII: `todokede export stix --all` as one static
//!   file, downloaded whole from a plain HTTP file server and parsed.
//!
//! Figures (2026-12-07, dev profile, SQLite in /dev/shm, 10,000 reports → 9,500 shared,
//! 247,058 objects, a 167.1 MB bundle; 2 cores shared with other builds, so ± 30 %):
//! - STIX export of the period: 19.8–28.0 s, of which loading and anonymising the cases
//!   10.5–14.1 s (the pure bundle the rest).
//! - Before (67a77b3, the same data, in process): the first request after any change rebuilt
//!   everything — the whole export 22.4 s, re-parsing and hashing its objects 4.9 s, then
//!   `taxii_rebuild` 11.7 s into an empty table (2.2 s to compare when nothing changed): 35.2 s
//!   a request; every other request paid 36 ms for the freshness check, a page of one 42 ms.
//!   (Its "first request" was in fact a walk of tlp-clear a page of one, ~62,000 requests at
//!   ~42 ms: why it had not finished after 13 minutes.)
//! - Now: the first run of a process 25.9 s writing all 247,058 objects into an empty table,
//!   23.7–28.6 s when they are stored already (nothing written) — in the background, requests
//!   served meanwhile; a refresh with nothing changed 53–76 ms; after one report changed
//!   610 ms (1 report reloaded, 1 incident rebuilt, 22 objects written: its incident,
//!   indicators and relationships and the report object; 1.9 s before the report object —
//!   every id — was written into its JSON rather than built as a value).
//! - serve: first page 70–98 ms; full walk with pages of 1000: 136.8 MB in 251 requests,
//!   4.5–5.6 s (44,000–55,000 objects/s, 18–22 ms a request); pages of 100: 2,474 requests,
//!   6.0–9.5 s; after one report changed, the first page 444 ms (it waits for the incremental
//!   refresh), a poll of all four collections with `added_after` 253–307 ms returning exactly
//!   the 22 objects that differ in the export.
//! - Static bundle instead: the export 24.1–33.6 s by the CLI after every change, the download
//!   of 167.1 MB 0.3–0.6 s and parsing it 0.6–0.9 s for every consumer, every time; with
//!   TAXII a consumer walks once (~5 s) and then polls the changes (~0.3 s).
//! - PostgreSQL 15 (same machine, dev profile, loaded): first run 89.8 s writing all objects;
//!   nothing changed 131 ms; one report changed 902 ms (22 objects); full walk with pages of
//!   1000 4.8 s, of 100 20.2 s; first page after one change 988 ms, the poll 338 ms (exactly
//!   the 22 changed objects).
//!
//! Run (the dev profile builds in a fraction of release's time; figures say which):
//!   cargo bench -p todokede --bench exchange --profile dev
//!   TODOKEDE_BENCH_DB=postgres://postgres@127.0.0.1/exchange_bench cargo bench -p todokede --bench exchange
//! The SQLite store lives in /dev/shm when it exists (the set-up's 20,000 commits are not the
//! measurement). TODOKEDE_BENCH_KEEP=NAME keeps it (in /dev/shm/NAME) and a later run with the
//! same NAME reuses it, skipping the set-up.

use std::collections::HashSet;
use std::process::Command;
use std::time::Instant;
use todokede_app::exchange::{self, ExportScope};
use todokede_app::taxii;
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
    ids: HashSet<String>,
    bytes: usize,
    secs: f64,
}

struct Page {
    objects: usize,
    next: Option<String>,
    ids: Vec<String>,
    bytes: usize,
}

async fn page(client: &reqwest::Client, base: &str, token: &str, collection: &str, limit: usize, query: &str) -> Page {
    let url = format!("{base}/taxii2/todokede/collections/{collection}/objects/?limit={limit}{query}");
    let res =
        client.get(url).bearer_auth(token).header("accept", "application/taxii+json;version=2.1").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let body = res.bytes().await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let ids: Vec<String> =
        v["objects"].as_array().into_iter().flatten().map(|o| o["id"].as_str().unwrap().to_owned()).collect();
    Page {
        objects: ids.len(),
        next: (v["more"] == true).then(|| v["next"].as_str().unwrap().to_owned()),
        ids,
        bytes: body.len(),
    }
}

async fn walk(client: &reqwest::Client, base: &str, token: &str, collection: &str, limit: usize, query: &str) -> Walk {
    let t = Instant::now();
    let (mut requests, mut ids, mut bytes, mut next) = (0, HashSet::new(), 0, None::<String>);
    loop {
        let q = match &next {
            Some(n) => format!("{query}&next={n}"),
            None => query.to_owned(),
        };
        let p = page(client, base, token, collection, limit, &q).await;
        requests += 1;
        bytes += p.bytes;
        for id in p.ids {
            assert!(!ids.contains(&id), "{id} twice");
            ids.insert(id);
        }
        match p.next {
            Some(n) => next = Some(n),
            None => break,
        }
    }
    Walk { requests, ids, bytes, secs: t.elapsed().as_secs_f64() }
}

/// The ids of `after`'s objects that are new or differ from `before`'s.
fn differing(before: &[u8], after: &[u8]) -> HashSet<String> {
    let objects = |b: &[u8]| -> std::collections::HashMap<String, serde_json::Value> {
        let v: serde_json::Value = serde_json::from_slice(b).unwrap();
        v["objects"].as_array().unwrap().iter().map(|o| (o["id"].as_str().unwrap().to_owned(), o.clone())).collect()
    };
    let (b, a) = (objects(before), objects(after));
    a.into_iter().filter(|(id, o)| b.get(id) != Some(o)).map(|(id, _)| id).collect()
}

/// The collection (index into `Collection::ALL`) of a TLP key.
fn taxii_index(tlp: &str) -> usize {
    taxii::Collection::ALL.iter().position(|c| c.tlp.key() == tlp).unwrap_or(0)
}

/// A static file server for `dir` (HTTP/1.1, one file a connection, Content-Length): what a
/// consumer downloads the export from without TAXII. Its base URL.
async fn static_server(dir: &std::path::Path) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let dir = dir.to_owned();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else { return };
            let dir = dir.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = conn.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_owned();
                let body = tokio::fs::read(dir.join(path)).await.unwrap_or_default();
                let h = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(h.as_bytes()).await;
                let _ = conn.write_all(&body).await;
            });
        }
    });
    base
}

#[tokio::main]
async fn main() {
    let reports: usize = std::env::var("REPORTS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    }
    .join(
        std::env::var("TODOKEDE_BENCH_KEEP")
            .unwrap_or_else(|_| format!("todokede-exchange-bench-{}", std::process::id())),
    );
    // The static bundle is written here on PostgreSQL too.
    std::fs::create_dir_all(&dir).unwrap();
    let url = std::env::var("TODOKEDE_BENCH_DB").unwrap_or_else(|_| format!("sqlite://{}", dir.join("b.db").display()));
    let store = Store::open(&url).await.unwrap();
    let have = store.all_report_ids().await.unwrap().len();
    let user = if have == 0 {
        setup(&store, reports).await
    } else {
        assert_eq!(have, reports, "the benchmark wants an empty store or one it set up (TODOKEDE_BENCH_KEEP): {url}");
        eprintln!("reusing the {have} reports of {url}");
        store.user_by_email("bench@example.jp").await.unwrap().unwrap().id
    };
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

    // The materialiser in process: the first run of a process (every case loaded, everything
    // compared with the store and written where it differs), then one that finds nothing.
    let m = taxii::Materialiser::new(store.clone());
    let t = Instant::now();
    let r = m.refresh().await.unwrap();
    println!(
        "TAXII materialisation, first run of a process: {:.2} s ({} reports loaded, {} incidents built, {} objects \
         written, {} deleted)",
        t.elapsed().as_secs_f64(),
        r.reports,
        r.incidents,
        r.inserted,
        r.deleted
    );
    let t = Instant::now();
    let r = m.refresh().await.unwrap();
    assert_eq!((r.inserted, r.deleted), (0, 0));
    println!("TAXII refresh with nothing changed: {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    let shared = store.shared_reports().await.unwrap();
    let one = &shared[3];
    store.approve_sharing(one.report, &one.tlp, user).await.unwrap();
    let t = Instant::now();
    let r = m.refresh().await.unwrap();
    assert_eq!((r.reports, r.incidents, r.full), (1, 1, false));
    println!(
        "TAXII refresh after one report changed: {:.1} ms ({} report reloaded, {} incident rebuilt, {} objects \
         written, {} deleted)",
        t.elapsed().as_secs_f64() * 1000.0,
        r.reports,
        r.incidents,
        r.inserted,
        r.deleted
    );
    drop(m);

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
    let server = todokede_testkit::Server::spawn(env!("CARGO_BIN_EXE_todokede"), &url, &[], |c| {
        c.env("TODOKEDE_LOG", "error");
    });
    let generation = store.taxii_state().await.unwrap().generation;
    let base = server.base.clone();
    let started = Instant::now();
    let client = reqwest::Client::new();
    let collections: Vec<String> = taxii::Collection::ALL.iter().map(|c| c.id()).collect();
    let t = Instant::now();
    let p = page(&client, &base, &token, &collections[0], 1000, "").await;
    println!(
        "TAXII first page of a just started serve (1000 objects): {:.1} ms ({} objects)",
        t.elapsed().as_secs_f64() * 1000.0,
        p.objects
    );
    // The server's own first run (every case loaded, compared, nothing to write) ends with a
    // write of the state: from then on its refreshes are incremental.
    while store.taxii_state().await.unwrap().generation == generation {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    println!(
        "serve's first run (in the background, requests served meanwhile) done {:.1} s after start",
        started.elapsed().as_secs_f64()
    );
    let mut walk_secs = 0.0;
    for limit in [1000, 100] {
        let (mut requests, mut objects, mut secs, mut bytes) = (0, 0, 0.0, 0);
        for c in &collections {
            let w = walk(&client, &base, &token, c, limit, "").await;
            requests += w.requests;
            objects += w.ids.len();
            secs += w.secs;
            bytes += w.bytes;
        }
        assert_eq!(objects, exported, "every exported object once");
        if limit == 1000 {
            walk_secs = secs;
        }
        println!(
            "TAXII full walk, pages of {limit}: {objects} objects, {:.1} MB in {requests} requests, {secs:.2} s \
             ({:.0} objects/s, {:.1} ms a request)",
            bytes as f64 / 1e6,
            objects as f64 / secs,
            secs * 1000.0 / requests as f64
        );
    }

    // One report changes (approved again: its objects' modified time moves). A client polling
    // with added_after gets exactly the changed objects; the first page waits for the refresh.
    let last = store
        .taxii_objects(&todokede_store::TaxiiQuery { collection: "clear".into(), limit: 1, ..Default::default() })
        .await
        .unwrap();
    let mut newest = last.first().map(|r| r.date_added.clone()).unwrap_or_default();
    for c in ["green", "amber", "amber+strict"] {
        let all = store
            .taxii_objects(&todokede_store::TaxiiQuery { collection: c.into(), limit: 1_000_000, ..Default::default() })
            .await
            .unwrap();
        if let Some(r) = all.iter().map(|r| r.date_added.clone()).max() {
            newest = newest.max(r);
        }
    }
    let changed = shared[4].clone();
    let before = exchange::stix_bundle(&store, &publisher, &ExportScope::All, Tlp::AmberStrict).await.unwrap();
    store.approve_sharing(changed.report, &changed.tlp, user).await.unwrap();
    let query = format!("&added_after={newest}");
    let t = Instant::now();
    let p = page(&client, &base, &token, &collections[taxii_index(&changed.tlp)], 1000, &query).await;
    let first_page = t.elapsed().as_secs_f64();
    let after_export = exchange::stix_bundle(&store, &publisher, &ExportScope::All, Tlp::AmberStrict).await.unwrap();
    let differ = differing(&before, &after_export);
    let mut fresh = HashSet::new();
    let mut poll_secs = 0.0;
    for c in &collections {
        let w = walk(&client, &base, &token, c, 1000, &query).await;
        poll_secs += w.secs;
        fresh.extend(w.ids);
    }
    assert_eq!(fresh, differ, "a poll with added_after sees exactly the objects that changed");
    println!(
        "one report re-approved: first page after it {:.1} ms ({} objects on it); a poll of all collections with \
         added_after {:.1} ms: {} objects, exactly the {} that differ in the export",
        first_page * 1000.0,
        p.objects,
        poll_secs * 1000.0,
        fresh.len(),
        differ.len()
    );

    // What a consumer does without TAXII: the export as one static bundle, regenerated by the
    // CLI and downloaded whole after every change.
    let file = dir.join("bundle.json");
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_todokede"))
        .args(["--db", &url, "export", "stix", "--all", "-o", file.to_str().unwrap()])
        .env("TODOKEDE_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let export_cli = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(&file).unwrap().len();
    let statics = static_server(&dir).await;
    let t = Instant::now();
    let body = client.get(format!("{statics}/bundle.json")).send().await.unwrap().bytes().await.unwrap();
    let download = t.elapsed().as_secs_f64();
    assert_eq!(body.len() as u64, size);
    let t = Instant::now();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let parse = t.elapsed().as_secs_f64();
    assert_eq!(v["objects"].as_array().unwrap().len(), exported);
    println!(
        "static bundle instead: `todokede export stix --all` {export_cli:.2} s, download of the {:.1} MB file {:.2} s, \
         parsing it {parse:.2} s — after every change, for every consumer (TAXII: the full walk {walk_secs:.2} s once, \
         then {:.1} ms a poll)",
        size as f64 / 1e6,
        download,
        poll_secs * 1000.0
    );
    drop(server);
    drop(store);
    if std::env::var("TODOKEDE_BENCH_KEEP").is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
