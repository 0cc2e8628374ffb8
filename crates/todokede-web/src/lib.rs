#![recursion_limit = "256"]
//! HTTP face of todokede: the JSON API (`/api/v1`; the analysts' part, token-authorised, in
//! `analyst_api`), the TAXII 2.1 server (`/taxii2/`, `taxii`), the web UI, with the security headers and body limits
//! every response gets.

pub mod analyst_api;
pub mod api;
pub mod client;
pub mod error;
pub mod metrics;
pub mod multipart;
mod openapi;
pub mod serve;
pub mod taxii;
pub mod ui;
pub mod wire;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use todokede_store::{IntakeQueue, LimitQueue, Store};
use tower_http::set_header::SetResponseHeaderLayer;

/// Size limits of intake. Defaults suit logs and screenshots; a deployment may raise them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Whole request body (JSON or multipart, attachments included).
    pub max_body_bytes: usize,
    /// One attachment.
    pub max_attachment_bytes: usize,
    pub max_attachments: usize,
    /// A request body that sends nothing for this long fails.
    pub body_timeout: std::time::Duration,
    /// Requests to the reporter API (`/api/v1/reports…`) per client address in 10 minutes,
    /// counted in the database (all processes together); 0: no limit (`serve --api-limit`).
    pub api_requests: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 32 * 1024 * 1024,
            max_attachment_bytes: 25 * 1024 * 1024,
            max_attachments: 20,
            body_timeout: std::time::Duration::from_secs(30),
            api_requests: todokede_app::accounts::API_PER_ADDRESS,
        }
    }
}

/// Everything a handler needs; built once in `main` and passed explicitly.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub intake: IntakeQueue,
    /// Rate-limit hits of the API, group-committed.
    pub limiter: LimitQueue,
    pub limits: Limits,
    pub mail: todokede_mail::MailConfig,
    pub templates: std::sync::Arc<minijinja::Environment<'static>>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`serve --trusted-proxy`).
    pub trusted_proxies: std::sync::Arc<Vec<client::Cidr>>,
    /// Set the Secure flag on cookies (the public URL is https).
    pub secure_cookies: bool,
    /// The queue's surge alerts, recomputed at most once a minute per process.
    pub alerts_cache: std::sync::Arc<std::sync::Mutex<Option<AlertsCache>>>,
    /// This process's counters for `/metrics`.
    pub metrics: std::sync::Arc<metrics::Metrics>,
    /// `serve --metrics-token`: without it, `/metrics` answers only this host.
    pub metrics_token: Option<std::sync::Arc<str>>,
    /// Set when shutdown began: `/readyz` answers 503.
    pub draining: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Keeps the TAXII server's objects up to date (`serve` runs its loop).
    pub taxii: todokede_app::taxii::Materialiser,
}

/// When, for which period, and the alerts.
pub type AlertsCache = (std::time::Instant, todokede_domain::Period, Vec<todokede_analyse::trends::Surge>);

impl AppState {
    /// Must be called inside a tokio runtime (starts the intake writer).
    pub fn new(store: Store, limits: Limits, mail: todokede_mail::MailConfig) -> Self {
        AppState {
            intake: IntakeQueue::start(store.clone()),
            limiter: LimitQueue::start(store.clone()),
            taxii: todokede_app::taxii::Materialiser::new(store.clone()),
            store,
            limits,
            secure_cookies: mail.public_url.starts_with("https://"),
            mail,
            templates: std::sync::Arc::new(ui::templates()),
            alerts_cache: Default::default(),
            trusted_proxies: Default::default(),
            metrics: Default::default(),
            metrics_token: None,
            draining: Default::default(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    let h = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(HeaderName::from_static(name), HeaderValue::from_static(value))
    };
    let tls = state.secure_cookies;
    let trusted = state.trusted_proxies.clone();
    let body_timeout = state.limits.body_timeout;
    let counters = state.metrics.clone();
    let ops = Router::new()
        .route("/healthz", axum::routing::get(metrics::healthz))
        .route("/readyz", axum::routing::get(metrics::readyz))
        .route("/metrics", axum::routing::get(metrics::metrics))
        .with_state(state.clone());
    let app = api::routes(state.clone())
        .merge(analyst_api::routes(state.clone()))
        .merge(taxii::routes(state.clone()))
        .merge(ui::routes(state))
        .merge(ops)
        .layer(axum::middleware::from_fn_with_state(trusted, client::resolve_client))
        // A body that stalls (slowloris on POST) fails instead of holding its handler.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(body_timeout));
    // Behind TLS (an https public URL), browsers must never fall back to plain HTTP.
    let app = if tls { app.layer(h("strict-transport-security", "max-age=31536000; includeSubDomains")) } else { app };
    app.layer(h("x-content-type-options", "nosniff"))
        .layer(h("referrer-policy", "no-referrer"))
        .layer(h("x-frame-options", "DENY"))
        .layer(h("content-security-policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        // Outermost: every answer is counted, the limits' 408/413 included.
        .layer(axum::middleware::from_fn_with_state(counters, metrics::track))
}
