//! Slowloris: the server's header, idle and body timeouts and its connection cap, over raw
//! TCP on loopback (bounded counts and times; the loops stop by themselves). Against the real
//! `serve` process: its flags and limits are the contract.

use crate::common;

use common::Server;
use std::time::{Duration, Instant};
use todokede_testkit::TestDb;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

fn addr(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_owned()
}

/// How long until the server closes a connection that sent `bytes` (None: still open at `max`).
async fn closed_after(s: &Server, bytes: &[u8], max: Duration) -> Option<Duration> {
    let mut c = TcpStream::connect(addr(s)).await.unwrap();
    c.write_all(bytes).await.unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(max.saturating_sub(start.elapsed()), c.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {} // a response (408); wait for the close
        }
    }
}

#[tokio::test]
async fn a_half_sent_header_is_closed_within_seconds() {
    let db = TestDb::sqlite().await;
    let s = common::serve(&db.url, &["--header-timeout", "2s"]);
    let t = closed_after(&s, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n", Duration::from_secs(10)).await;
    let t = t.expect("a half-sent header is not kept open");
    assert!(t < Duration::from_secs(5), "closed after {t:?}");
}

#[tokio::test]
async fn an_idle_connection_and_a_stalled_body_are_closed() {
    let db = TestDb::sqlite().await;
    let s = common::serve(&db.url, &["--idle-timeout", "2s", "--body-timeout", "1s"]);
    // One whole request, then nothing: closed after the idle timeout.
    let t = closed_after(&s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", Duration::from_secs(10)).await;
    assert!(t.expect("idle connection kept") < Duration::from_secs(5));
    // A body announced but never sent.
    let t = closed_after(
        &s,
        b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"form\":",
        Duration::from_secs(10),
    )
    .await;
    assert!(t.expect("stalled body kept") < Duration::from_secs(5));
}

#[tokio::test]
async fn healthz_answers_under_a_hundred_half_open_connections() {
    let db = TestDb::sqlite().await;
    let s = common::serve(&db.url, &["--max-connections", "32", "--header-timeout", "30s"]);
    let mut held = Vec::new();
    for _ in 0..100 {
        if let Ok(mut c) = TcpStream::connect(addr(&s)).await {
            let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await;
            held.push(c);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let c = reqwest::Client::builder().timeout(Duration::from_secs(3)).build().unwrap();
    let start = Instant::now();
    for _ in 0..5 {
        let res = c.get(s.url("/healthz")).send().await.expect("/healthz answers");
        assert_eq!(res.status(), reqwest::StatusCode::OK);
    }
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
    // The cap held: the server closed most of the half-open connections (the old server kept
    // all 100). A few may still be closing, and the health checks took slots of their own. On a
    // busy machine the server accepts (and so evicts) late: look again for a few seconds.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut open = 0;
        let mut still = Vec::new();
        for mut c in held {
            let mut b = [0u8; 16];
            match tokio::time::timeout(Duration::from_millis(20), c.read(&mut b)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {}
                _ => {
                    open += 1;
                    still.push(c);
                }
            }
        }
        if open <= 40 {
            break;
        }
        assert!(Instant::now() < deadline, "{open} half-open connections still held");
        held = still;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
