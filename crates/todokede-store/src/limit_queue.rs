//! Group commit for rate-limit hits. A limit counted in the database is shared by every
//! process, but a hit per request is a write transaction per request — on SQLite with
//! `synchronous=FULL` an fsync each, which would cap the API at the disk's fsync rate (and
//! take the write lock from intake's own group commit). Concurrent hits are collected into one
//! transaction, as intake does (`IntakeQueue`); each still gets its own exact count.

use tokio::sync::{mpsc, oneshot};

use crate::{Store, StoreError};

/// Most hits per transaction.
const MAX_BATCH: usize = 256;

type Hit = (String, time::Duration, oneshot::Sender<Result<i64, StoreError>>);

/// Handle to this process's rate-limit writer task.
#[derive(Clone)]
pub struct LimitQueue {
    tx: mpsc::Sender<Hit>,
}

impl LimitQueue {
    /// Start the writer task on the current tokio runtime.
    pub fn start(store: Store) -> Self {
        let (tx, mut rx) = mpsc::channel::<Hit>(4096);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            let mut replies = Vec::with_capacity(MAX_BATCH);
            loop {
                let Some((key, window, reply)) = rx.recv().await else { return };
                batch.push((key, window));
                replies.push(reply);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok((key, window, reply)) => {
                            batch.push((key, window));
                            replies.push(reply);
                        }
                        Err(_) => break,
                    }
                }
                match store.limit_hits(&batch).await {
                    Ok(counts) => {
                        for (reply, n) in replies.drain(..).zip(counts) {
                            let _ = reply.send(Ok(n));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, batch = batch.len(), "rate-limit hits not counted");
                        for reply in replies.drain(..) {
                            let _ = reply.send(Err(StoreError::Unavailable("rate-limit hits not counted".into())));
                        }
                    }
                }
                batch.clear();
            }
        });
        LimitQueue { tx }
    }

    /// Count one hit on `key` (as `Store::limit_hit`); returns after its batch committed.
    pub async fn hit(&self, key: String, window: time::Duration) -> Result<i64, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable("rate-limit writer stopped".into());
        self.tx.send((key, window, reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}
