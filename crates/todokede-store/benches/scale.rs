//! Across reports at scale: a generated store of REPORTS (default 1,000,000) reports with
//! realistic Japanese text lengths (descriptions of 2–5 sentences taken from the seed cases,
//! 120–450 characters) and indicators drawn from skewed pools (a few scanner IPs in many
//! reports, most values in one or two), 2 % of them near-duplicate ransom notes. Then:
//! - Japanese substring search: common phrases, rare phrases, 2-character terms (LIKE path);
//! - indicator lookup: an exact IP, a /24, a domain with its subdomains;
//! - correlating and clustering one new report (signature, LSH candidates, similarity,
//!   index write with its fsync, correlations);
//! - a watch list of 1,000 entries imported over the whole index, and an index write with it.
//!
//! p50/p95 of each. Run (release):
//!   TODOKEDE_BENCH_DB=sqlite:///tmp/scale.db cargo bench -p todokede-store --bench scale
//!   TODOKEDE_BENCH_DB=postgres://postgres@127.0.0.1/scale REPORTS=200000 cargo bench -p todokede-store --bench scale
//!
//! (an existing store of the right size is reused: REUSE=1). PostgreSQL right after the bulk load
//! has no statistics and a long GIN pending list (searches of 0.4–2.8 s at 1M): run
//! `VACUUM (ANALYZE) search_docs; ANALYZE;` (7 s at 1M), then the bench again, as after any import. With BACKUP_DIR=DIR (SQLite), then
//! `todokede backup` and `restore` of the store into DIR, timed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};
use todokede_analyse::similarity;
use todokede_domain::*;
use todokede_store::*;

fn seed_sentences() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seeds");
    let mut out = vec![];
    for f in ["2019H1.json", "2019H2.json"] {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root.join(f)).unwrap()).unwrap();
        for r in v.as_array().unwrap() {
            for s in r["description"].as_str().unwrap().split('。').filter(|s| s.chars().count() > 8) {
                out.push(format!("{s}。"));
            }
        }
    }
    out
}

const NOTE: &str = "To recover your lost Database and avoid leaking it: Send us 0.05 Bitcoin (BTC) to our Bitcoin address and contact us by Email with your Server IP or Domain name and a Proof of Payment. Your Database is downloaded and backed up on our servers. If we dont receive your payment in the next 10 Days, we will delete the backups.";

/// Skewed pick in 0..n: low indices (the busy scanners) much more often.
fn skewed(rng: &mut StdRng, n: usize) -> usize {
    let u: f64 = rng.random();
    ((u * u * u) * n as f64) as usize
}

fn ip(i: usize) -> String {
    let x = (i as u32).wrapping_mul(2654435761) | 0x0100_0000;
    let [a, b, c, d] = x.to_be_bytes();
    format!("{}.{b}.{c}.{d}", 11 + a % 180)
}

fn report(rng: &mut StdRng, i: usize, sentences: &[String], start: time::OffsetDateTime) -> BulkReport {
    let n = rng.random_range(2..=5);
    let mut text: String = (0..n).map(|_| sentences[rng.random_range(0..sentences.len())].as_str()).collect();
    // Something only this report says (a place, a count), as real reports do.
    text.push_str(&format!("対象は第{}拠点の機器{}台。", rng.random_range(1..200_000), rng.random_range(1..500)));
    let mut indicators = vec![IndexedIndicator { kind: "ipv4".into(), value: ip(skewed(rng, 300_000)), common: false }];
    if rng.random_bool(0.4) {
        let base = skewed(rng, 50_000);
        indicators.push(IndexedIndicator {
            kind: "domain".into(),
            value: format!("{}.site{base}.example.com", ["www", "login", "mail", "cdn"][rng.random_range(0..4)]),
            common: false,
        });
    }
    if rng.random_bool(0.1) {
        indicators.push(IndexedIndicator {
            kind: "sha256".into(),
            value: format!("{:064x}", rng.random::<u128>()),
            common: false,
        });
    }
    if rng.random_bool(0.2) {
        indicators.push(IndexedIndicator { kind: "ipv4".into(), value: "8.8.8.8".into(), common: true });
    }
    let mut texts = vec![text.clone()];
    if i.is_multiple_of(50) {
        // A near-duplicate ransom note with its own address.
        let note = NOTE.replace("address", &format!("address 1Bv{:030}", rng.random_range(0..5_000u64)));
        indicators.push(IndexedIndicator { kind: "btc".into(), value: format!("1Bv{:030}", i % 5000), common: false });
        texts.push(note);
    }
    let signatures = texts
        .iter()
        .enumerate()
        .filter_map(|(p, t)| {
            similarity::signature(t)
                .map(|s| (if p == 0 { 0 } else { 1000 }, similarity::to_bytes(&s), similarity::band_keys(&s).to_vec()))
        })
        .collect();
    let facets = vec![
        format!(
            "cause.{}",
            [
                "missing_access_control",
                "weak_credentials",
                "unpatched_software",
                "credential_reuse",
                "phishing",
                "unknown"
            ][rng.random_range(0..6)]
        ),
        format!(
            "damage.{}",
            ["information_leak", "tampering", "account_takeover", "stepping_stone", "ransomware"]
                [rng.random_range(0..5)]
        ),
    ];
    BulkReport {
        received_at: start + time::Duration::minutes(i as i64 * 2),
        reporter_kind: Some(ReporterKind::ALL[rng.random_range(0..ReporterKind::ALL.len())]),
        description: text.clone(),
        index: ReportIndex {
            indicators,
            signatures,
            cluster: Some((ReportId(0), 1.0)),
            search_body: texts.join("\n"),
            facets,
        },
    }
}

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 * p).ceil() as usize).saturating_sub(1).min(v.len() - 1)].as_secs_f64() * 1e3
}

fn line(name: &str, v: Vec<Duration>, target: &str) {
    println!("| {name} | {} | {:.2} | {:.2} | {target} |", v.len(), pct(v.clone(), 0.5), pct(v, 0.95));
}

#[tokio::main]
async fn main() {
    let url = std::env::var("TODOKEDE_BENCH_DB").unwrap_or_else(|_| "sqlite:///tmp/todokede-scale.db".into());
    let n: usize = std::env::var("REPORTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let store = Store::open(&url).await.unwrap();
    let sentences = seed_sentences();
    let mut rng = StdRng::seed_from_u64(7);
    let start = time::macros::datetime!(2019-01-01 00:00 +9);
    let existing = store.check_integrity().await.map(|i| i.reports).unwrap_or(0) as usize;
    if existing < n {
        let t = Instant::now();
        let batch = 5_000;
        let mut i = existing;
        while i < n {
            let reports: Vec<BulkReport> =
                (i..(i + batch).min(n)).map(|k| report(&mut rng, k, &sentences, start)).collect();
            store.bulk_load(&reports).await.unwrap();
            i += reports.len();
            if i % 100_000 < batch {
                eprintln!(
                    "  {i} reports loaded ({:.0} s, {:.0}/s)",
                    t.elapsed().as_secs_f64(),
                    (i - existing) as f64 / t.elapsed().as_secs_f64()
                );
            }
        }
        eprintln!("generated {} reports in {:.0} s", n - existing, t.elapsed().as_secs_f64());
    }
    println!("{} store with {n} reports", store.backend_name());
    println!("| operation | runs | p50 ms | p95 ms | target |\n|---|---|---|---|---|");

    // Search: phrases cut from the seed sentences (common: in many reports), the per-report
    // place numbers (rare: in a handful), and 2-character terms (no trigram: the LIKE path).
    let mut q = StdRng::seed_from_u64(11);
    let run = |terms: Vec<String>| {
        let store = store.clone();
        async move {
            let t = Instant::now();
            let hits = store
                .search(&SearchQuery { terms, filter: ReportFilter { limit: 50, ..Default::default() } })
                .await
                .unwrap();
            (t.elapsed(), hits.len())
        }
    };
    let mut common = vec![];
    let mut rare = vec![];
    let mut short = vec![];
    let mut found = [0usize; 3];
    for _ in 0..100 {
        let s: Vec<char> = sentences[q.random_range(0..sentences.len())].chars().collect();
        let len = q.random_range(3..=6).min(s.len());
        let at = q.random_range(0..=s.len() - len);
        let (d, h) = run(vec![s[at..at + len].iter().collect()]).await;
        common.push(d);
        found[0] += h;
        let (d, h) = run(vec![format!("第{}拠点", q.random_range(1..200_000))]).await;
        rare.push(d);
        found[1] += h;
    }
    for _ in 0..20 {
        let s: Vec<char> = sentences[q.random_range(0..sentences.len())].chars().filter(|c| !c.is_ascii()).collect();
        let at = q.random_range(0..s.len() - 2);
        let (d, h) = run(vec![s[at..at + 2].iter().collect()]).await;
        short.push(d);
        found[2] += h;
    }
    line(&format!("search, common phrase (avg {} hits, first 50)", found[0] / 100), common, "p95 < 50");
    line(&format!("search, rare phrase (avg {:.1} hits)", found[1] as f64 / 100.0), rare, "p95 < 50");
    line(&format!("search, 2-character term (avg {} hits, first 50)", found[2] / 20), short, "—");

    // Indicator lookups.
    let mut exact = vec![];
    let mut cidr = vec![];
    let mut domain = vec![];
    for k in 0..200 {
        let v = ip(skewed(&mut q, 300_000));
        let t = Instant::now();
        store.reports_by_indicator(&IndicatorQuery::Exact(v.clone()), 50).await.unwrap();
        exact.push(t.elapsed());
        if k % 2 == 0 {
            let a: std::net::Ipv4Addr = v.parse().unwrap();
            let lo = u32::from(a) & 0xffff_ff00;
            let t = Instant::now();
            store.reports_by_indicator(&IndicatorQuery::Ipv4Range(lo as i64, (lo | 0xff) as i64), 50).await.unwrap();
            cidr.push(t.elapsed());
            let t = Instant::now();
            store
                .reports_by_indicator(
                    &IndicatorQuery::DomainTree(format!("com.example.site{}.", skewed(&mut q, 50_000))),
                    50,
                )
                .await
                .unwrap();
            domain.push(t.elapsed());
        }
    }
    line("indicator: exact IP", exact, "p95 < 10");
    line("indicator: /24 range", cidr, "p95 < 10");
    line("indicator: domain and subdomains", domain, "p95 < 10");

    // One new report at a time: signature, LSH candidates, best similarity, index write
    // (a committed, fsynced transaction), correlations.
    let mut new = vec![];
    let mut joined = 0;
    for k in 0..100 {
        let mut r = report(&mut rng, n + k * 50, &sentences, start);
        let ids = store.bulk_load(std::slice::from_ref(&r)).await.unwrap();
        let id = ids[0];
        let t = Instant::now();
        let texts: Vec<(i64, String)> = r
            .index
            .search_body
            .split('\n')
            .enumerate()
            .map(|(p, t)| (if p == 0 { 0 } else { 1000 }, t.to_owned()))
            .collect();
        // The clustering choice of the analysis job itself.
        let (signatures, cluster) = todokede_app::crossref::signatures_and_cluster(&store, id, &texts).await.unwrap();
        r.index.signatures = signatures;
        r.index.cluster = Some(cluster);
        joined += (cluster.0 != id) as usize;
        store.index_report(id, &r.index).await.unwrap();
        store.correlations(id, 50).await.unwrap();
        new.push(t.elapsed());
    }
    line(&format!("correlate + cluster one new report ({joined} of 100 joined a cluster)"), new, "p95 < 20");

    // A watch list imported over the whole index (every report re-checked, in the import's
    // transaction): 600 addresses of the pool (busy scanners among them), 100 /24 ranges, 300
    // domains with their subdomains; then again (the same file: its rows replaced), and one new
    // report's index write with the list in place.
    let mut entries = vec![];
    let entry = |kind: &str, value: String| NewWatchlistEntry {
        kind: kind.into(),
        value,
        source_id: String::new(),
        valid_until: None,
    };
    for _ in 0..600 {
        entries.push(entry("ipv4", ip(skewed(&mut q, 300_000))));
    }
    for _ in 0..100 {
        let a: std::net::Ipv4Addr = ip(q.random_range(0..300_000)).parse().unwrap();
        entries.push(entry("cidr", format!("{}/24", std::net::Ipv4Addr::from(u32::from(a) & 0xffff_ff00))));
    }
    for _ in 0..300 {
        entries.push(entry("domain", format!("site{}.example.com", skewed(&mut q, 50_000))));
    }
    entries.sort_by(|a, b| (&a.kind, &a.value).cmp(&(&b.kind, &b.value)));
    entries.dedup_by(|a, b| a.kind == b.kind && a.value == b.value);
    let import = WatchlistImport {
        name: "bench".into(),
        kind: WatchlistKind::Watch,
        description: None,
        tlp: None,
        sources: vec![("bench.json".into(), entries)],
    };
    let mut imports = vec![];
    let mut hit = 0;
    for _ in 0..3 {
        let t = Instant::now();
        hit = store.import_watchlist(&import, None).await.unwrap().reports_hit;
        imports.push(t.elapsed());
    }
    line(
        &format!("watch list of {} entries imported, every report re-checked ({hit} hit)", import.sources[0].1.len()),
        imports,
        "—",
    );
    let mut with_list = vec![];
    for k in 0..100 {
        let r = report(&mut rng, n + 10_000 + k * 50, &sentences, start);
        let id = store.bulk_load(std::slice::from_ref(&r)).await.unwrap()[0];
        let t = Instant::now();
        store.index_report(id, &r.index).await.unwrap();
        with_list.push(t.elapsed());
    }
    line("index write of one report with the watch list in place", with_list, "—");
    store.remove_watchlist("bench", None).await.unwrap();

    // `todokede backup` and `restore` of this store (SQLite; BACKUP_DIR=/somewhere with room):
    // the same functions the commands call, in release.
    if let (Some(dir), Some(db)) = (std::env::var_os("BACKUP_DIR"), Store::sqlite_file(&url)) {
        let dir = std::path::PathBuf::from(dir);
        let (copy, restored) = (dir.join("scale-backup.db"), dir.join("scale-restored.db"));
        for f in [&copy, &restored] {
            for suffix in ["", ".key", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
            }
        }
        let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
        let b = todokede_app::backup::backup(&store, &copy).await.unwrap();
        let t = Instant::now();
        let r = todokede_app::backup::restore(&copy, &restored, false).await.unwrap();
        println!(
            "\nbackup of a {:.2} GB store ({} reports): {:.1} s, copy {:.2} GB, checked; restore (checked): {:.1} s ({} reports)",
            size as f64 / 1e9,
            b.reports,
            b.took.as_secs_f64(),
            b.bytes as f64 / 1e9,
            t.elapsed().as_secs_f64(),
            r.reports
        );
    }
}
