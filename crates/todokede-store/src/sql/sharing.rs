//! Analysts' approvals to share a report (STIX, MISP exports) under a TLP level.
//! Compiled into each backend (`#[path]` from `sqlite.rs` and `postgres.rs`): `Store` is that
//! backend's store.

use super::Store;
use super::rows::*;
use crate::{StoreError, model::*};
use sqlx::Row as _;
use time::OffsetDateTime;
use todokede_domain::*;

impl Store {
    pub(crate) async fn approve_sharing(&self, id: ReportId, tlp: &str, by: UserId) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        bump_version(&mut tx, id.0, None).await?;
        sqlx::query(
            "INSERT INTO report_sharing (report_id, tlp, approved_by, approved_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (report_id) DO UPDATE SET tlp = excluded.tlp, approved_by = excluded.approved_by, approved_at = excluded.approved_at",
        )
        .bind(id.0)
        .bind(tlp)
        .bind(by.0)
        .bind(ts(OffsetDateTime::now_utc()))
        .execute(&mut *tx)
        .await?;
        audit_in(&mut tx, Some(by), "report.share", Some(&id.0.to_string()), Some(tlp)).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn withdraw_sharing(&self, id: ReportId, by: UserId) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM report_sharing WHERE report_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            bump_version(&mut tx, id.0, None).await?;
            audit_in(&mut tx, Some(by), "report.unshare", Some(&id.0.to_string()), None).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    pub(crate) async fn shared_reports(&self) -> Result<Vec<Sharing>, StoreError> {
        let rows =
            sqlx::query("SELECT report_id, tlp, approved_by, approved_at FROM report_sharing ORDER BY report_id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Sharing {
                    report: ReportId(r.try_get("report_id")?),
                    tlp: r.try_get("tlp")?,
                    approved_by: UserId(r.try_get("approved_by")?),
                    approved_at: r.try_get("approved_at")?,
                })
            })
            .collect()
    }
}
