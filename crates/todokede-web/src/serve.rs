//! `todokede serve` as one function, [`run`]: the background workers (analysis jobs, the
//! outbox, housekeeping, the TAXII objects' refresh), the router and the HTTP server loop. The binary calls it with its
//! parsed flags and a listener; the tests' in-process `TestApp` (todokede-testkit) calls the
//! same function on port 0, so what they test is what runs.
//!
//! The server loop is hyper's HTTP/1 connection with the timeouts a public
//! service needs, which `axum::serve` does not set — a request head must arrive within
//! `header_timeout` (a half-sent header is closed: slowloris), a connection idle between
//! requests is closed after `idle_timeout`, a request body that stops sending for
//! `body_timeout` fails (set in the router, [`crate::router`]), and at most
//! `max_connections` are open at once. At the cap, a new connection takes the place of the
//! oldest one that has not yet sent a whole request head (half-open connections are what a
//! slowloris holds; a real client sends its head within milliseconds); when every connection
//! is in a request, the new one is closed. So descriptors and memory stay bounded and /healthz
//! answers under a flood of half-sent headers. A reverse proxy in front keeps its own limits
//! too (ARCHITECTURE.md, "Limits").

use crate::client::Cidr;
use crate::{AppState, Limits};
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use todokede_app::housekeeping::Retention;
use todokede_app::mail_flow::OutboxPolicy;
use todokede_store::Store;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    /// After the shutdown signal: how long requests in flight and the running job may take.
    pub drain_timeout: Duration,
}

impl Default for ServerLimits {
    /// The defaults of `serve --header-timeout`, `--idle-timeout`, `--max-connections` and
    /// `--drain-timeout`.
    fn default() -> Self {
        ServerLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 256,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Everything `serve` is configured with (the binary fills it from its flags).
#[derive(Clone)]
pub struct ServeConfig {
    pub limits: Limits,
    pub mail: todokede_mail::MailConfig,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<Cidr>,
    pub server: ServerLimits,
    /// Where queued mail is sent; without it, mail stays queued (no outbox worker).
    pub smtp: Option<todokede_mail::Smtp>,
    pub outbox: OutboxPolicy,
    pub retention: Retention,
    /// `/metrics` needs `Authorization: Bearer` this; without it, only this host may read it.
    pub metrics_token: Option<String>,
    /// How long a claimed analysis job is no other worker's: after a crash, its jobs wait this
    /// long. Longer than the slowest analysis.
    pub job_lease: Duration,
}

impl ServeConfig {
    /// The defaults of `serve`'s flags, with this mail configuration.
    pub fn new(mail: todokede_mail::MailConfig) -> Self {
        ServeConfig {
            limits: Limits::default(),
            mail,
            trusted_proxies: vec![],
            server: ServerLimits::default(),
            smtp: None,
            outbox: OutboxPolicy::default(),
            retention: Retention::default(),
            metrics_token: None,
            job_lease: Duration::from_secs(300),
        }
    }
}

/// Aborts the background workers when `run` returns (or its future is dropped).
struct Workers(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Workers {
    fn drop(&mut self) {
        for w in &self.0 {
            w.abort();
        }
    }
}

/// Run the service on `listener` until `shutdown` resolves: start the background workers
/// (housekeeping, the outbox when `smtp` is set, the analysis worker) and the intake writer,
/// build the router and serve it ([`serve`]).
///
/// When `shutdown` resolves, the service drains: `/readyz` answers 503, no connection is
/// accepted any more (the listener is closed: new connections are refused, so a load balancer
/// moves on at once), requests in flight are finished — an upload still arriving is read to
/// its end and stored, or, if the deadline passes first, dropped before anything of it was
/// stored (a report is one transaction: stored whole or not at all) — and the workers finish
/// the job or mail in hand and give the rest of their claims back. All within
/// `server.drain_timeout`; then the workers are stopped and this returns.
pub async fn run(
    store: Store,
    listener: TcpListener,
    cfg: ServeConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let housekeeping = Workers(vec![tokio::spawn(todokede_app::housekeeping::run(store.clone(), cfg.retention))]);
    let mut finishing = vec![];
    if let Some(smtp) = cfg.smtp {
        finishing.push(tokio::spawn(todokede_app::mail_flow::run_outbox(
            store.clone(),
            smtp,
            cfg.outbox,
            stop_rx.clone(),
        )));
    }
    let mut state = AppState::new(store.clone(), cfg.limits, cfg.mail);
    state.trusted_proxies = Arc::new(cfg.trusted_proxies);
    state.metrics_token = cfg.metrics_token.map(Arc::from);
    let draining = state.draining.clone();
    // The TAXII objects follow the approved data in the background (a request never rebuilds them).
    let taxii = Workers(vec![tokio::spawn(state.taxii.clone().run(todokede_app::taxii::REFRESH_EVERY))]);
    finishing.push(tokio::spawn(todokede_app::analysis::run_worker(store, cfg.job_lease, stop_rx)));
    let finishing = Workers(finishing);
    let drain = cfg.server.drain_timeout;
    let started = Arc::new(Mutex::new(None::<tokio::time::Instant>));
    let signal = {
        let started = started.clone();
        async move {
            shutdown.await;
            *started.lock().unwrap_or_else(|e| e.into_inner()) = Some(tokio::time::Instant::now());
            draining.store(true, Ordering::SeqCst);
            let _ = stop_tx.send(true);
            tracing::info!(
                deadline_s = drain.as_secs_f64(),
                "draining: no new connections; finishing requests in flight and the running job"
            );
        }
    };
    serve(listener, crate::router(state), cfg.server, signal).await?;
    let since = started.lock().unwrap_or_else(|e| e.into_inner()).unwrap_or_else(tokio::time::Instant::now);
    let deadline = since + drain;
    for w in &finishing.0 {
        if tokio::time::timeout_at(deadline, async {
            while !w.is_finished() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .is_err()
        {
            tracing::warn!(
                "drain deadline passed: a worker was stopped in its job (its claim is retried after the lease)"
            );
            break;
        }
    }
    tracing::info!(took_ms = since.elapsed().as_millis() as u64, "drained; stopped");
    drop(housekeeping);
    drop(taxii);
    drop(finishing);
    Ok(())
}

/// The open connections: how many, and those still waiting for their first request head
/// (by age: ids grow), each with the signal that closes it.
#[derive(Default)]
struct Conns {
    open: AtomicUsize,
    waiting: Mutex<BTreeMap<u64, Arc<Notify>>>,
}

impl Conns {
    fn waiting(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Notify>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts a connection as open while it lives.
struct Open(Arc<Conns>, u64);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.waiting().remove(&self.1);
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serve `app` on `listener` until `shutdown` resolves; then close the listener, finish the
/// requests in flight (for up to `limits.drain_timeout`) and return.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: ServerLimits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let conns = Arc::new(Conns::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut next_id: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of descriptors or similar: wait a moment instead of spinning.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if conns.open.load(Ordering::SeqCst) >= limits.max_connections {
            // Make room by closing the oldest half-open connection, or refuse this one.
            let oldest = conns.waiting().pop_first();
            match oldest {
                Some((_, close)) => close.notify_one(),
                None => {
                    tracing::warn!(max = limits.max_connections, "connection cap reached; connection closed");
                    drop(stream);
                    continue;
                }
            }
        }
        next_id += 1;
        let id = next_id;
        let close = Arc::new(Notify::new());
        conns.open.fetch_add(1, Ordering::SeqCst);
        conns.waiting().insert(id, close.clone());
        let open = Open(conns.clone(), id);
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let io = IdleIo::new(stream, limits.idle_timeout);
            let idle = io.watchdog();
            let registry = open.0.clone();
            let first = AtomicBool::new(true);
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                // A whole head arrived: no longer a candidate for eviction.
                if first.swap(false, Ordering::Relaxed) {
                    registry.waiting().remove(&id);
                }
                req.extensions_mut().insert(ConnectInfo(peer));
                tower::ServiceExt::oneshot(app.clone(), req)
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(io), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                // Evicted while still half-open: close now.
                _ = close.notified() => return,
                _ = idle => {}
                _ = stop.changed() => {}
            }
            // Idle too long or shutting down: end after the response in progress, if any.
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(limits.drain_timeout, conn).await;
            drop(open);
        });
    }
    // Refuse new connections from now on (queued ones in the backlog are reset too).
    drop(listener);
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + limits.drain_timeout;
    while conns.open.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left = conns.open.load(Ordering::SeqCst);
    if left > 0 {
        tracing::warn!(
            connections = left,
            "drain deadline passed: requests still in flight are dropped (nothing of them is stored)"
        );
    }
    Ok(())
}

/// A TCP stream that notes when it last read or wrote, for the idle timeout.
struct IdleIo {
    inner: tokio::net::TcpStream,
    last: Arc<std::sync::Mutex<tokio::time::Instant>>,
    idle: Duration,
}

impl IdleIo {
    fn new(inner: tokio::net::TcpStream, idle: Duration) -> Self {
        IdleIo { inner, last: Arc::new(std::sync::Mutex::new(tokio::time::Instant::now())), idle }
    }

    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = tokio::time::Instant::now();
    }

    /// Resolves once the stream has seen no traffic for the idle timeout.
    fn watchdog(&self) -> impl std::future::Future<Output = ()> + use<> {
        let (last, idle) = (self.last.clone(), self.idle);
        async move {
            loop {
                let deadline = *last.lock().unwrap_or_else(|e| e.into_inner()) + idle;
                if tokio::time::Instant::now() >= deadline {
                    return;
                }
                tokio::time::sleep_until(deadline).await;
            }
        }
    }
}

impl tokio::io::AsyncRead for IdleIo {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl tokio::io::AsyncWrite for IdleIo {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let r = std::pin::Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
