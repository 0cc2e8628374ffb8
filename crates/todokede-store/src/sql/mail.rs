//! Mail: threading by Message-ID and the outbox.
//! Compiled into each backend (`#[path]` from `sqlite.rs` and `postgres.rs`): `Store` is that
//! backend's store, `dialect` its few statements that differ.

use super::rows::*;
use super::{Store, dialect};
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

    /// The report one of our own messages (acknowledgement, reply) in `ids` was about; the
    /// last reference first.
    pub(crate) async fn report_by_our_message_ids(&self, ids: &[String]) -> Result<Option<ReportId>, StoreError> {
        for id in ids.iter().rev() {
            let id = id.trim().trim_matches(['<', '>']);
            let row = sqlx::query("SELECT report_id FROM outbox WHERE message_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
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
                .bind(m.report.0).bind(&m.message_id).bind(&m.from).bind(&m.to).bind(&m.raw).bind(ts(now))
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Mail not yet sent nor given up, oldest first (a view; the worker claims with `claim_mail`).
    pub(crate) async fn due_mail(&self, limit: i64) -> Result<Vec<QueuedMail>, StoreError> {
        let rows = sqlx::query("SELECT id, report_id, message_id, from_addr, to_addr, raw, attempts, created_at FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT $1")
            .bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(mail_from_row).collect()
    }

    /// Claim up to `limit` mails that are due, for `lease` (see `dialect::CLAIM_MAIL_SQL`).
    pub(crate) async fn claim_mail(&self, limit: i64, lease: time::Duration) -> Result<Vec<QueuedMail>, StoreError> {
        let rows = claim_leased(self, dialect::CLAIM_MAIL_SQL, limit, lease).await?;
        let mut mails: Vec<QueuedMail> = rows.iter().map(mail_from_row).collect::<Result<_, StoreError>>()?;
        mails.sort_by_key(|m| m.id);
        Ok(mails)
    }

    pub(crate) async fn mail_sent(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL, claimed_until = NULL WHERE id = $2 AND sent_at IS NULL")
            .bind(ts(OffsetDateTime::now_utc())).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A failed try: the next one at `retry_at`; marked failed instead when the mail was queued
    /// before `give_up_before`.
    pub(crate) async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: OffsetDateTime,
        give_up_before: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, claimed_until = NULL, next_attempt_at = $2, failed_at = CASE WHEN created_at < $3 THEN $4 ELSE NULL END WHERE id = $5 AND sent_at IS NULL RETURNING failed_at")
            .bind(error).bind(ts(retry_at)).bind(ts(give_up_before)).bind(ts(now)).bind(id).fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<OffsetDateTime>, _>(0)?.is_some(),
            None => false,
        })
    }

    /// A failed mail queued again (an admin's decision): tried at once, its clock restarted.
    pub(crate) async fn retry_mail(&self, id: i64) -> Result<bool, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE outbox SET failed_at = NULL, next_attempt_at = NULL, created_at = $1 WHERE id = $2 AND failed_at IS NOT NULL")
            .bind(ts(now)).bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    pub(crate) async fn mail_statuses(
        &self,
        report: Option<ReportId>,
        failed_only: bool,
        limit: i64,
    ) -> Result<Vec<MailStatus>, StoreError> {
        let rows = sqlx::query("SELECT o.id, o.report_id, r.tracking_number, o.to_addr, o.created_at, o.sent_at, o.failed_at, o.attempts, o.last_error FROM outbox o JOIN reports r ON r.id = o.report_id WHERE ($1 IS NULL OR o.report_id = $1) AND ($2 = 0 OR o.failed_at IS NOT NULL) ORDER BY o.id DESC LIMIT $3")
            .bind(report.map(|r| r.0)).bind(i64::from(failed_only)).bind(limit).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let sent: Option<OffsetDateTime> = r.try_get("sent_at")?;
                let failed: Option<OffsetDateTime> = r.try_get("failed_at")?;
                let tn: String = r.try_get("tracking_number")?;
                Ok(MailStatus {
                    id: r.try_get("id")?,
                    report_id: ReportId(r.try_get("report_id")?),
                    tracking_number: TrackingNumber::parse(&tn).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    to: r.try_get("to_addr")?,
                    created_at: r.try_get("created_at")?,
                    state: match (sent, failed) {
                        (Some(at), _) => MailState::Sent(at),
                        (None, Some(at)) => MailState::Failed(at),
                        (None, None) => MailState::Pending { attempts: r.try_get("attempts")? },
                    },
                    last_error: r.try_get("last_error")?,
                })
            })
            .collect()
    }

    pub(crate) async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let r = sqlx::query("SELECT COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN failed_at IS NOT NULL AND sent_at IS NULL THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0) FROM outbox")
            .fetch_one(&self.pool).await?;
        Ok(OutboxCounts { queued: r.try_get(0)?, failed: r.try_get(1)?, sent: r.try_get(2)? })
    }

    /// Give claimed mail back unsent (a worker that stops between mails).
    pub(crate) async fn release_mail(&self, ids: &[i64]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for id in ids {
            sqlx::query("UPDATE outbox SET claimed_until = NULL WHERE id = $1 AND sent_at IS NULL")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
