//! Publication: the confirmed cases of a period and the versions of its document.
//! Compiled into each backend (`#[path]` from `sqlite.rs` and `postgres.rs`): `Store` is that
//! backend's store, `dialect` its few statements that differ.

use super::Store;
use super::rows::*;
use crate::{StoreError, codec, model::*};
use sqlx::Row as _;
use time::OffsetDateTime;
use todokede_domain::*;

impl Store {
    /// Reports received in [from, to) that an analyst classified, oldest first.
    pub(crate) async fn confirmed_cases(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<ConfirmedCase>, StoreError> {
        let rows = sqlx::query("SELECT r.id, r.tracking_number, r.received_at, r.content_json, c.causes, c.damages, c.attack_types, c.techniques, c.has_damage
                                FROM reports r JOIN classifications c ON c.report_id = r.id
                                WHERE r.received_at >= $1 AND r.received_at < $2 ORDER BY r.received_at, r.id")
            .bind(ts(from)).bind(ts(to)).fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let classification = classification_from_row(&r)?;
            out.push(ConfirmedCase {
                id: ReportId(r.try_get("id")?),
                tracking_number: tracking(&r.try_get::<String, _>("tracking_number")?)?,
                received_at: r.try_get("received_at")?,
                content: codec::decode_content(&r.try_get::<String, _>("content_json")?)?,
                classification,
            });
        }
        Ok(out)
    }

    /// When the newest report that an analyst classified was received.
    pub(crate) async fn newest_confirmed_received_at(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        let row = sqlx::query(
            "SELECT r.received_at FROM reports r JOIN classifications c ON c.report_id = r.id
             ORDER BY r.received_at DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("received_at")).transpose()?)
    }

    pub(crate) async fn count_received(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM reports WHERE received_at >= $1 AND received_at < $2")
            .bind(ts(from))
            .bind(ts(to))
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Every analyst-confirmed link, as (report, report).
    pub(crate) async fn all_links(&self) -> Result<Vec<(ReportId, ReportId)>, StoreError> {
        let rows = sqlx::query("SELECT report_a, report_b FROM report_links").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((ReportId(r.try_get(0)?), ReportId(r.try_get(1)?)))).collect()
    }

    /// Save a new version of a period's document; returns its version number.
    pub(crate) async fn save_publication(
        &self,
        period: &str,
        document_json: &str,
        by: UserId,
        change_note: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let version: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) + 1 FROM publications WHERE period = $1")
            .bind(period)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        sqlx::query("INSERT INTO publications (period, version, document_json, created_by, created_at, change_note) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(period).bind(version).bind(document_json).bind(by.0).bind(ts(OffsetDateTime::now_utc())).bind(change_note)
            .execute(&mut *tx).await?;
        audit_in(
            &mut tx,
            Some(by),
            "publication.save",
            Some(period),
            Some(&format!("version {version}: {change_note}")),
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Versions of a period, newest first (the documents included).
    pub(crate) async fn publication_versions(&self, period: &str) -> Result<Vec<PublicationVersion>, StoreError> {
        let rows = sqlx::query("SELECT period, version, document_json, created_by, created_at, change_note, approved_by, approved_at FROM publications WHERE period = $1 ORDER BY version DESC")
            .bind(period).fetch_all(&self.pool).await?;
        rows.iter().map(publication_from_row).collect()
    }

    /// Approve one version (the latest approved one is what gets published).
    pub(crate) async fn approve_publication(&self, period: &str, version: i64, by: UserId) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE publications SET approved_by = $1, approved_at = $2 WHERE period = $3 AND version = $4 AND approved_at IS NULL")
            .bind(by.0).bind(ts(OffsetDateTime::now_utc())).bind(period).bind(version).execute(&mut *tx).await?.rows_affected() == 1;
        if done {
            audit_in(&mut tx, Some(by), "publication.approve", Some(period), Some(&format!("version {version}")))
                .await?;
        }
        tx.commit().await?;
        Ok(done)
    }
}
