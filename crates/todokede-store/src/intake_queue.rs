//! Group commit for intake. Every acknowledged report must be fsynced first; one fsync per
//! request would cap intake at the disk's fsync rate, so concurrent submissions are collected
//! into one transaction (one fsync) and all acknowledged after it commits.

use todokede_domain::Submission;
use tokio::sync::{mpsc, oneshot};

use crate::{IngestRejection, Receipt, Store, StoreError};

/// Most submissions per transaction: bounds the latency one batch adds and the memory it holds.
const MAX_BATCH: usize = 128;

/// `TODOKEDE_INTAKE_MAX_BATCH=1` turns group commit off (one fsync per report); the intake
/// benchmark uses it to show what group commit buys.
fn max_batch() -> usize {
    std::env::var("TODOKEDE_INTAKE_MAX_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(MAX_BATCH)
}

type Reply = oneshot::Sender<Result<Result<Receipt, IngestRejection>, StoreError>>;

/// Handle to the single intake writer task of this process.
#[derive(Clone)]
pub struct IntakeQueue {
    tx: mpsc::Sender<(Submission, Reply)>,
}

impl IntakeQueue {
    /// Start the writer tasks on the current tokio runtime: one for SQLite (a single-writer
    /// database), several for PostgreSQL, where concurrent transactions commit in parallel.
    pub fn start(store: Store) -> Self {
        let (tx, rx) = mpsc::channel::<(Submission, Reply)>(1024);
        let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        let writers = match store {
            Store::Sqlite(_) => 1,
            Store::Postgres(_) => 4,
        };
        let max_batch = max_batch();
        for _ in 0..writers {
            let (store, rx) = (store.clone(), rx.clone());
            tokio::spawn(async move {
                let mut subs = Vec::with_capacity(max_batch);
                let mut replies = Vec::with_capacity(max_batch);
                loop {
                    {
                        // Take what is queued now (at least one), then let the next writer in.
                        let mut rx = rx.lock().await;
                        let Some((s, r)) = rx.recv().await else { return };
                        subs.push(s);
                        replies.push(r);
                        while subs.len() < max_batch {
                            match rx.try_recv() {
                                Ok((s, r)) => {
                                    subs.push(s);
                                    replies.push(r);
                                }
                                Err(_) => break,
                            }
                        }
                    }
                    match store.ingest_batch(&subs).await {
                        Ok(results) => {
                            for (r, res) in replies.drain(..).zip(results) {
                                let _ = r.send(Ok(res));
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, batch = subs.len(), "intake batch failed; nothing acknowledged");
                            for r in replies.drain(..) {
                                let _ = r.send(Err(StoreError::Unavailable(
                                    "intake batch failed; see the server log".into(),
                                )));
                            }
                        }
                    }
                    subs.clear();
                }
            });
        }
        IntakeQueue { tx }
    }

    /// Store one submission; returns after its batch committed.
    pub async fn submit(&self, sub: Submission) -> Result<Result<Receipt, IngestRejection>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send((sub, reply)).await.map_err(|_| StoreError::Unavailable("intake writer stopped".into()))?;
        answer.await.map_err(|_| StoreError::Unavailable("intake writer stopped".into()))?
    }
}
