//! Intake load benchmark: reports POSTed over real HTTP to the release binary on 127.0.0.1,
//! each acknowledged only after a durable commit. Run: `cargo bench -p todokede --bench intake_load`
//! (PostgreSQL too when TODOKEDE_TEST_POSTGRES_URL is set). Side by side in one run:
//! group commit (the default) against one fsync per report (`TODOKEDE_INTAKE_MAX_BATCH=1`).

use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 64;
const SECONDS: u64 = 10;

struct Run {
    label: String,
    acked: usize,
    errors: usize,
    secs: f64,
    latencies_ms: Vec<f64>,
}

fn pct(v: &[f64], p: f64) -> f64 {
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn run(label: &str, db: &str, env: &[(&str, &str)]) -> Run {
    let server = todokede_testkit::Server::spawn(env!("CARGO_BIN_EXE_todokede"), db, &["--api-limit", "0"], |c| {
        c.envs(env.iter().copied()).env("TODOKEDE_LOG", "error");
    });
    let base = Arc::new(server.base.clone());
    let client = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS).build().unwrap();
    let body = serde_json::json!({
        "form": "unauthorized_access",
        "description": "弊社のECサイトにおいて、管理画面へのログイン試行が多数の IP アドレスから行われ、一部のアカウントで不正ログインが成功しました。攻撃元は 203.0.113.45 など約1万件。phpMyAdmin が外部から到達可能でした。".repeat(3),
        "reporter": {"kind": "company", "email": "security@example.co.jp"},
        "damage_status": "damage", "damages": ["account_takeover"], "affected": {"exposed_ports": [3306, 443]}
    });
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, base, body) = (client.clone(), base.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut i) = (Vec::new(), 0usize, 0usize);
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = client
                    .post(format!("{base}/api/v1/reports"))
                    .header("Idempotency-Key", format!("bench-{c}-{i}"))
                    .json(&body)
                    .send()
                    .await;
                i += 1;
                match r {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut latencies_ms = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies_ms.extend(l);
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(server);
    latencies_ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Run { label: label.into(), acked: latencies_ms.len(), errors, secs, latencies_ms }
}

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("todokede-bench-{}", std::process::id()));
    let mut runs = Vec::new();
    let sqlite = |n: &str| format!("sqlite://{}", dir.join(n).display());
    runs.push(run("sqlite, group commit (default)", &sqlite("a.db"), &[]).await);
    runs.push(run("sqlite, one fsync per report", &sqlite("b.db"), &[("TODOKEDE_INTAKE_MAX_BATCH", "1")]).await);
    if let Ok(admin) = std::env::var("TODOKEDE_TEST_POSTGRES_URL") {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        for name in ["todokede_bench_a", "todokede_bench_b"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
        }
        let base = admin.rsplit_once('/').unwrap().0;
        runs.push(run("postgres, group commit (default)", &format!("{base}/todokede_bench_a"), &[]).await);
        runs.push(
            run(
                "postgres, one commit per report",
                &format!("{base}/todokede_bench_b"),
                &[("TODOKEDE_INTAKE_MAX_BATCH", "1")],
            )
            .await,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("\nintake over HTTP, {CLIENTS} concurrent clients, {SECONDS} s each, durable acknowledgement");
    println!(
        "{:<36} {:>10} {:>8} {:>9} {:>9} {:>9} {:>7}",
        "configuration", "reports/s", "acked", "p50 ms", "p99 ms", "max ms", "errors"
    );
    for r in &runs {
        println!(
            "{:<36} {:>10.0} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>7}",
            r.label,
            r.acked as f64 / r.secs,
            r.acked,
            pct(&r.latencies_ms, 0.5),
            pct(&r.latencies_ms, 0.99),
            r.latencies_ms.last().copied().unwrap_or(0.0),
            r.errors
        );
    }
}
