//! What `serve` forgets on time: the plaintext reporter secrets kept with the dedup keys (so
//! a retry that lost the first answer gets the secret too) after the retention, a day by
//! default; the rate-limit windows that ended; and the watch-list hits of entries past their
//! `valid_until`. Every process runs the sweep; its
//! statements are idempotent, so several at once are harmless.

use std::time::Duration;
use todokede_store::Store;

/// How long a reporter secret stays retrievable by a retry, and how often the sweep runs.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub secrets: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { secrets: Duration::from_secs(24 * 3600) }
    }
}

impl Retention {
    /// A quarter of the retention, between 100 ms and 10 minutes: a secret outlives its
    /// retention by at most that.
    pub fn sweep_interval(&self) -> Duration {
        (self.secrets / 4).clamp(Duration::from_millis(100), Duration::from_secs(600))
    }
}

/// One sweep: secrets of submissions older than the retention are forgotten.
pub async fn sweep(store: &Store, retention: &Retention) -> Result<u64, crate::AppError> {
    let before = time::OffsetDateTime::now_utc() - retention.secrets;
    let forgotten = store.prune_secrets(before).await?;
    store.evict_limits().await?;
    store.expire_watch_hits(time::OffsetDateTime::now_utc()).await?;
    Ok(forgotten)
}

/// The housekeeping loop of `serve`.
pub async fn run(store: Store, retention: Retention) {
    loop {
        match sweep(&store, &retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "reporter secrets past their retention forgotten"),
            Err(e) => tracing::warn!(error = %e, "housekeeping failed; retried"),
        }
        tokio::time::sleep(retention.sweep_interval()).await;
    }
}
