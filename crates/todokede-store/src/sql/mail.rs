//! Mail: threading by Message-ID and the outbox.
//! Compiled into each backend (`#[path]` from `sqlite.rs` and `postgres.rs`): `Store` is that
//! backend's store, `dialect` its few statements that differ.

use super::Store;
use super::rows::*;
use crate::{StoreError, model::*};
use sqlx::Row as _;
use time::OffsetDateTime;
use todokede_domain::*;

impl Store {
    /// The report a mail thread belongs to: a Message-ID we received (the report's own mail or
    /// a follow-up) or sent (acknowledgement, reply).
    pub(crate) async fn report_by_message_ids(&self, ids: &[String]) -> Result<Option<ReportId>, StoreError> {
        for id in ids.iter().rev() {
            let id = id.trim().trim_matches(['<', '>']);
            let row = sqlx::query("SELECT report_id FROM dedup_keys WHERE key = $1 AND report_id IS NOT NULL UNION ALL SELECT report_id FROM outbox WHERE message_id = $2")
                .bind(format!("msgid:{id}")).bind(id).fetch_optional(&self.pool).await?;
            if let Some(r) = row {
                return Ok(Some(ReportId(r.try_get(0)?)));
            }
        }
        Ok(None)
    }

    pub(crate) async fn sent_message_ids(&self, report: ReportId) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT message_id FROM outbox WHERE report_id = $1 ORDER BY id")
            .bind(report.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    pub(crate) async fn enqueue_mails(&self, mails: &[NewMail]) -> Result<(), StoreError> {
        if mails.is_empty() {
            return Ok(());
        }
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        for m in mails {
            sqlx::query("INSERT INTO outbox (report_id, message_id, from_addr, to_addr, raw, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(m.report.0).bind(&m.message_id).bind(&m.from).bind(&m.to).bind(&m.raw).bind(now)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn due_mail(&self, limit: i64) -> Result<Vec<QueuedMail>, StoreError> {
        let rows = sqlx::query("SELECT id, report_id, message_id, from_addr, to_addr, raw, attempts FROM outbox WHERE sent_at IS NULL AND attempts < 20 ORDER BY id LIMIT $1")
            .bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(mail_from_row).collect()
    }

    pub(crate) async fn mail_outcome(&self, id: i64, error: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let q = match error {
            None => {
                sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2")
                    .bind(OffsetDateTime::now_utc())
                    .bind(id)
            }
            Some(e) => {
                sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2").bind(e).bind(id)
            }
        };
        q.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
