//! Rate limits and lockouts: fixed-window counters shared by every process on the database.
//! Compiled into each backend (`#[path]` from `sqlite.rs` and `postgres.rs`): `Store` is that
//! backend's store.

use super::Store;
use super::rows::ts;
use crate::StoreError;
use sqlx::Row as _;
use time::OffsetDateTime;

impl Store {
    /// Count one hit on `key` in a window of `window` (a new window when the old one ended);
    /// the count after this hit, in one statement, so concurrent hits are each counted.
    pub(crate) async fn limit_hit(&self, key: &str, window: time::Duration) -> Result<i64, StoreError> {
        Ok(self.limit_hits(&[(key.to_owned(), window)]).await?[0])
    }

    /// Several hits in one transaction (one commit for a batch: `LimitQueue`); the count
    /// after each hit, in the order given. Keys are written in sorted order, so two
    /// processes' batches on PostgreSQL cannot deadlock on each other's rows.
    pub(crate) async fn limit_hits(&self, hits: &[(String, time::Duration)]) -> Result<Vec<i64>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut order: Vec<usize> = (0..hits.len()).collect();
        order.sort_by(|a, b| hits[*a].0.cmp(&hits[*b].0));
        let mut counts = vec![0; hits.len()];
        let mut tx = self.begin_write().await?;
        for i in order {
            let (key, window) = &hits[i];
            counts[i] = sqlx::query(
                "INSERT INTO rate_limits (key, hits, expires_at) VALUES ($1, 1, $2)
                 ON CONFLICT (key) DO UPDATE SET
                   hits = CASE WHEN rate_limits.expires_at <= $3 THEN 1 ELSE rate_limits.hits + 1 END,
                   expires_at = CASE WHEN rate_limits.expires_at <= $3 THEN excluded.expires_at ELSE rate_limits.expires_at END
                 RETURNING hits",
            )
            .bind(key)
            .bind(ts(now + *window))
            .bind(ts(now))
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        }
        tx.commit().await?;
        Ok(counts)
    }

    /// Take back one hit (an attempt that turned out fine), or forget the key (`clear`).
    pub(crate) async fn limit_undo(&self, key: &str, clear: bool) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let sql = if clear {
            "DELETE FROM rate_limits WHERE key = $1"
        } else {
            "UPDATE rate_limits SET hits = hits - 1 WHERE key = $1 AND hits > 0"
        };
        sqlx::query(sql).bind(key).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Hits on `key` in its current window.
    pub(crate) async fn limit_count(&self, key: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT hits FROM rate_limits WHERE key = $1 AND expires_at > $2")
            .bind(key)
            .bind(ts(OffsetDateTime::now_utc()))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(0))
    }

    /// Delete ended windows. Returns how many.
    pub(crate) async fn evict_limits(&self) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM rate_limits WHERE expires_at <= $1")
            .bind(ts(OffsetDateTime::now_utc()))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}
