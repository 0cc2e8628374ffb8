//! What an operator watches: `/healthz` (the process answers), `/readyz` (the database answers
//! and has this build's migrations; 503 otherwise, and while draining) and `/metrics` in the
//! Prometheus text format (0.0.4). Counters are per process (Prometheus sums the instances);
//! queue depths and ages are read from the database, so every process reports the same ones.
//!
//! `/metrics` is not public: it tells how busy intake is and how many mails failed, which is
//! nobody else's business. With `serve --metrics-token` it needs `Authorization: Bearer TOKEN`
//! from anywhere; without one it is served only to a client on the same host (socket peer on
//! loopback) whose request did not come through a proxy (no X-Forwarded-For, Forwarded or
//! X-Real-IP) — a reverse proxy on the same host would otherwise make every visitor local.

use crate::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the request-duration histogram.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// One histogram: counts per bucket (not cumulative), the sum and the count.
#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i] += 1;
        }
        self.sum += secs;
        self.count += 1;
    }
}

/// The process's counters.
#[derive(Default)]
pub struct Metrics {
    /// (route class, status) → requests answered.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    durations: Mutex<BTreeMap<&'static str, Histogram>>,
    intake_api: AtomicU64,
    intake_web: AtomicU64,
    login_failures: AtomicU64,
}

/// Where an intake was accepted.
#[derive(Debug, Clone, Copy)]
pub enum IntakeChannel {
    Api,
    Web,
}

impl Metrics {
    pub fn intake_accepted(&self, channel: IntakeChannel) {
        match channel {
            IntakeChannel::Api => &self.intake_api,
            IntakeChannel::Web => &self.intake_web,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    pub fn login_failed(&self) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
    }

    fn request(&self, class: &'static str, status: u16, took: Duration) {
        *lock(&self.requests).entry((class, status)).or_default() += 1;
        lock(&self.durations).entry(class).or_default().observe(took.as_secs_f64());
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A closed set of route classes (never the path itself: label values must stay few).
pub fn route_class(path: &str) -> &'static str {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "api" => "api",
        "taxii2" => "taxii",
        "healthz" | "readyz" | "metrics" => "ops",
        "static" => "static",
        "" | "report" => "form",
        "r" | "reporter" => "reporter",
        "login" | "logout" | "account" => "login",
        "admin" => "admin",
        "queue" | "reports" | "search" | "clusters" | "stats" | "publication" => "analyst",
        _ => "other",
    }
}

/// Middleware: count every answer by route class and status, and time it.
pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let class = route_class(req.uri().path());
    let start = std::time::Instant::now();
    let res = next.run(req).await;
    metrics.request(class, res.status().as_u16(), start.elapsed());
    res
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 "ready" when the database answers within 3 s and has every migration of this build;
/// 503 with the reason otherwise, and while the process drains (so a load balancer stops
/// sending it new work).
pub async fn readyz(State(st): State<AppState>) -> Response {
    let unavailable = |why: String| (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
    if st.draining.load(Ordering::SeqCst) {
        return unavailable("draining: shutting down".into());
    }
    match tokio::time::timeout(Duration::from_secs(3), st.store.schema_status()).await {
        Err(_) => unavailable("database: no answer within 3 s".into()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unavailable");
            unavailable("database: unavailable".into())
        }
        Ok(Ok(s)) if !s.ready() => unavailable(format!(
            "database: migrations not applied: {}",
            s.missing.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        )),
        Ok(Ok(_)) => "ready".into_response(),
    }
}

/// Whether a request may read `/metrics` (see the module's documentation).
pub fn metrics_allowed(
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<(), StatusCode> {
    if let Some(token) = token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .unwrap_or("");
        let same = presented.len() == token.len()
            && presented.bytes().zip(token.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0;
        return if same { Ok(()) } else { Err(StatusCode::UNAUTHORIZED) };
    }
    let proxied = ["x-forwarded-for", "forwarded", "x-real-ip"].iter().any(|h| headers.contains_key(*h));
    let local = peer.is_some_and(|ip| match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map(|v4| v4.is_loopback()).unwrap_or(v6.is_loopback()),
        v4 => v4.is_loopback(),
    });
    if local && !proxied { Ok(()) } else { Err(StatusCode::FORBIDDEN) }
}

pub async fn metrics(State(st): State<AppState>, headers: HeaderMap, req: axum::extract::Request) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Err(status) = metrics_allowed(peer, &headers, st.metrics_token.as_deref()) {
        let msg = if status == StatusCode::UNAUTHORIZED {
            "metrics need the token: Authorization: Bearer <serve --metrics-token>\n"
        } else {
            "metrics are served only to this host, or with serve --metrics-token\n"
        };
        return (status, msg).into_response();
    }
    let body = render(&st).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

async fn render(st: &AppState) -> String {
    let m = &st.metrics;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP todokede_http_requests_total HTTP requests answered, by route class and status.\n# TYPE todokede_http_requests_total counter"
    );
    let requests = lock(&m.requests).clone();
    for ((class, status), n) in &requests {
        let _ = writeln!(out, "todokede_http_requests_total{{class=\"{class}\",status=\"{status}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP todokede_http_request_duration_seconds Time to answer, by route class.\n# TYPE todokede_http_request_duration_seconds histogram"
    );
    let durations = lock(&m.durations).clone();
    for (class, h) in &durations {
        let mut cumulative = 0;
        for (b, n) in BUCKETS.iter().zip(h.buckets) {
            cumulative += n;
            let _ = writeln!(
                out,
                "todokede_http_request_duration_seconds_bucket{{class=\"{class}\",le=\"{b}\"}} {cumulative}"
            );
        }
        let _ =
            writeln!(out, "todokede_http_request_duration_seconds_bucket{{class=\"{class}\",le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "todokede_http_request_duration_seconds_sum{{class=\"{class}\"}} {}", h.sum);
        let _ = writeln!(out, "todokede_http_request_duration_seconds_count{{class=\"{class}\"}} {}", h.count);
    }
    let _ = writeln!(
        out,
        "# HELP todokede_intake_accepted_total New reports accepted by this process, by channel.\n# TYPE todokede_intake_accepted_total counter"
    );
    let _ = writeln!(out, "todokede_intake_accepted_total{{channel=\"api\"}} {}", m.intake_api.load(Ordering::Relaxed));
    let _ = writeln!(out, "todokede_intake_accepted_total{{channel=\"web\"}} {}", m.intake_web.load(Ordering::Relaxed));
    let gauge = |out: &mut String, name: &str, kind: &str, help: &str, v: String| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    };
    gauge(
        &mut out,
        "todokede_login_failures_total",
        "counter",
        "Failed or refused analyst logins in this process.",
        m.login_failures.load(Ordering::Relaxed).to_string(),
    );
    // The database's view, the same from every process.
    let db = tokio::time::timeout(Duration::from_secs(3), async {
        Ok::<_, todokede_store::StoreError>((st.store.queue_counts().await?, st.store.outbox_counts().await?))
    })
    .await;
    let up = matches!(db, Ok(Ok(_)));
    gauge(
        &mut out,
        "todokede_database_up",
        "gauge",
        "1 when the database answered this scrape.",
        u8::from(up).to_string(),
    );
    if let Ok(Ok((q, o))) = db {
        let age =
            q.oldest_queued_job.map(|t| (time::OffsetDateTime::now_utc() - t).as_seconds_f64().max(0.0)).unwrap_or(0.0);
        for (name, help, v) in [
            ("todokede_reports", "Reports stored.", q.reports.to_string()),
            ("todokede_jobs_queued", "Analysis jobs waiting to run.", q.jobs_queued.to_string()),
            ("todokede_jobs_failed", "Analysis jobs given up after 5 failed attempts.", q.jobs_failed.to_string()),
            ("todokede_jobs_done", "Analysis jobs done.", q.jobs_done.to_string()),
            (
                "todokede_jobs_oldest_queued_seconds",
                "Age of the oldest waiting analysis job (0 when none).",
                format!("{age:.3}"),
            ),
            ("todokede_outbox_pending", "Mails queued or retrying.", o.queued.to_string()),
            ("todokede_outbox_failed", "Mails given up (shown on /admin/mail).", o.failed.to_string()),
            ("todokede_outbox_sent", "Mails sent.", o.sent.to_string()),
        ] {
            gauge(&mut out, name, "gauge", help, v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_for_this_host_or_the_token_holder() {
        let none = HeaderMap::new();
        let local = Some("127.0.0.1".parse().unwrap());
        let mapped = Some("::ffff:127.0.0.1".parse().unwrap());
        let remote = Some("203.0.113.7".parse().unwrap());
        assert_eq!(metrics_allowed(local, &none, None), Ok(()));
        assert_eq!(metrics_allowed(mapped, &none, None), Ok(()));
        assert_eq!(metrics_allowed(Some("::1".parse().unwrap()), &none, None), Ok(()));
        assert_eq!(metrics_allowed(remote, &none, None), Err(StatusCode::FORBIDDEN));
        assert_eq!(metrics_allowed(None, &none, None), Err(StatusCode::FORBIDDEN));
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
        assert_eq!(metrics_allowed(local, &proxied, None), Err(StatusCode::FORBIDDEN), "through a local proxy");
        let mut bearer = HeaderMap::new();
        bearer.insert(header::AUTHORIZATION, "Bearer s3cret-token".parse().unwrap());
        assert_eq!(metrics_allowed(remote, &bearer, Some("s3cret-token")), Ok(()));
        assert_eq!(metrics_allowed(local, &none, Some("s3cret-token")), Err(StatusCode::UNAUTHORIZED));
        assert_eq!(metrics_allowed(remote, &bearer, Some("other-token!")), Err(StatusCode::UNAUTHORIZED));
    }

    #[test]
    fn route_classes_are_a_closed_set() {
        assert_eq!(route_class("/api/v1/reports/ABCDE-12345"), "api");
        assert_eq!(route_class("/r/ABCDE-12345/secret"), "reporter");
        assert_eq!(route_class("/"), "form");
        assert_eq!(route_class("/metrics"), "ops");
        assert_eq!(route_class("/taxii2/todokede/collections/"), "taxii");
        assert_eq!(route_class("/anything/the/client/wants"), "other");
    }
}
