//! Analyses and the job queue of the background worker.
//! Compiled into each backend (`#[path]` from `sqlite.rs` and `postgres.rs`): `Store` is that
//! backend's store, `dialect` its few statements that differ.

use super::rows::*;
use super::{Store, dialect};
use crate::{StoreError, model::*};
use sqlx::Row as _;
use time::OffsetDateTime;
use todokede_domain::*;

impl Store {
    pub(crate) async fn save_analysis(
        &self,
        id: ReportId,
        analyser_version: &str,
        result_json: &str,
        primary_cause: Option<CauseCategory>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO analyses (report_id, analysed_at, analyser_version, result_json, primary_cause) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (report_id) DO UPDATE SET analysed_at = excluded.analysed_at, analyser_version = excluded.analyser_version, result_json = excluded.result_json, primary_cause = excluded.primary_cause")
            .bind(id.0).bind(ts(OffsetDateTime::now_utc())).bind(analyser_version).bind(result_json).bind(primary_cause.map(|c| c.key()))
            .execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn analysis(&self, id: ReportId) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT result_json FROM analyses WHERE report_id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Claim up to `limit` runnable jobs for `lease` (see `dialect::CLAIM_JOBS_SQL` of each backend).
    pub(crate) async fn claim_jobs(&self, limit: i64, lease: time::Duration) -> Result<Vec<Job>, StoreError> {
        let rows = claim_leased(self, dialect::CLAIM_JOBS_SQL, limit, lease).await?;
        let mut jobs: Vec<Job> = rows.iter().map(job_from_row).collect::<Result<_, StoreError>>()?;
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    pub(crate) async fn pending_jobs(&self, limit: i64) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, report_id FROM jobs WHERE done_at IS NULL AND attempts < 5 ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    pub(crate) async fn finish_job(&self, job: i64, error: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let q = match error {
            None => sqlx::query("UPDATE jobs SET done_at = $1, attempts = attempts + 1, last_error = NULL, claimed_until = NULL WHERE id = $2")
                .bind(ts(OffsetDateTime::now_utc())).bind(job),
            Some(e) => sqlx::query("UPDATE jobs SET attempts = attempts + 1, last_error = $1, claimed_until = NULL WHERE id = $2").bind(e).bind(job),
        };
        q.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Give claimed jobs back unstarted (a worker that stops between jobs), so another worker
    /// takes them now rather than when the lease ends.
    pub(crate) async fn release_jobs(&self, ids: &[i64]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for id in ids {
            sqlx::query("UPDATE jobs SET claimed_until = NULL WHERE id = $1 AND done_at IS NULL")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn queue_counts(&self) -> Result<QueueCounts, StoreError> {
        let r = sqlx::query("SELECT COALESCE(SUM(CASE WHEN done_at IS NULL AND attempts < 5 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN done_at IS NULL AND attempts >= 5 THEN 1 ELSE 0 END), 0), (SELECT COUNT(*) FROM reports), COALESCE(SUM(CASE WHEN done_at IS NOT NULL THEN 1 ELSE 0 END), 0), CAST(COALESCE(SUM(CASE WHEN done_at IS NOT NULL THEN attempts ELSE 0 END), 0) AS BIGINT) FROM jobs")
            .fetch_one(&self.pool)
            .await?;
        let oldest =
            sqlx::query("SELECT created_at FROM jobs WHERE done_at IS NULL AND attempts < 5 ORDER BY id LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(QueueCounts {
            jobs_queued: r.try_get(0)?,
            jobs_failed: r.try_get(1)?,
            reports: r.try_get(2)?,
            jobs_done: r.try_get(3)?,
            jobs_done_attempts: r.try_get(4)?,
            oldest_queued_job: oldest.map(|o| o.try_get(0)).transpose()?,
        })
    }
}
