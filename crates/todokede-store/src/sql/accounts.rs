//! Accounts: users, sessions, TOTP, the audit log.
//! Compiled into each backend (`#[path]` from `sqlite.rs` and `postgres.rs`): `Store` is that
//! backend's store, `dialect` its few statements that differ.

use super::Store;
use super::rows::*;
use crate::{StoreError, model::*};
use sqlx::Row as _;
use time::OffsetDateTime;
use todokede_domain::*;

impl Store {
    pub(crate) async fn create_user(&self, email: &str, role: Role, password_hash: &str) -> Result<UserId, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO users (email, role, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(email)
        .bind(role.key())
        .bind(password_hash)
        .bind(ts(OffsetDateTime::now_utc()))
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        audit_in(&mut tx, None, "user.create", Some(email), Some(role.key())).await?;
        tx.commit().await?;
        Ok(UserId(id))
    }

    pub(crate) async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, email, role, password_hash, disabled FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, email, role, password_hash, disabled FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query("SELECT id, email, role, password_hash, disabled FROM users ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Disable (or enable) an account; disabling ends all its sessions at once.
    pub(crate) async fn set_user_disabled(&self, id: UserId, disabled: bool, by: UserId) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2").bind(disabled).bind(id.0).execute(&mut *tx).await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
        }
        audit_in(
            &mut tx,
            Some(by),
            if disabled { "user.disable" } else { "user.enable" },
            Some(&id.0.to_string()),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn totp(&self, id: UserId) -> Result<(Option<String>, i64), StoreError> {
        let r = sqlx::query("SELECT totp_secret, totp_last_step FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await?;
        Ok((r.try_get(0)?, r.try_get(1)?))
    }

    pub(crate) async fn set_totp(&self, id: UserId, secret: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = 0 WHERE id = $2")
            .bind(secret)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        audit_in(&mut tx, Some(id), if secret.is_some() { "user.totp_on" } else { "user.totp_off" }, None, None)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record a used TOTP time step; false if it (or a later one) was used already: codes are single-use.
    pub(crate) async fn use_totp_step(&self, id: UserId, step: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
            .bind(step)
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    pub(crate) async fn create_session(
        &self,
        token_hash: &str,
        who: &SessionSubject,
        csrf: &str,
        lifetime: time::Duration,
    ) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        let (kind, user, report) = match who {
            SessionSubject::Analyst(u) => ("analyst", Some(u.0), None),
            SessionSubject::Reporter(r) => ("reporter", None, Some(r.0)),
        };
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(ts(now)).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO sessions (token_hash, kind, user_id, report_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(token_hash).bind(kind).bind(user).bind(report).bind(csrf).bind(ts(now)).bind(ts(now + lifetime))
            .execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query("SELECT kind, user_id, report_id, csrf, expires_at FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let expires: OffsetDateTime = r.try_get("expires_at")?;
        if expires < OffsetDateTime::now_utc() {
            return Ok(None);
        }
        let kind: String = r.try_get("kind")?;
        let subject = if kind == "analyst" {
            SessionSubject::Analyst(UserId(
                r.try_get::<Option<i64>, _>("user_id")?.ok_or_else(|| StoreError::Corrupt("session".into()))?,
            ))
        } else {
            SessionSubject::Reporter(ReportId(
                r.try_get::<Option<i64>, _>("report_id")?.ok_or_else(|| StoreError::Corrupt("session".into()))?,
            ))
        };
        Ok(Some(Session { subject, csrf: r.try_get("csrf")? }))
    }

    pub(crate) async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn audit(
        &self,
        user: Option<UserId>,
        action: &str,
        target: Option<&str>,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        audit_in(&mut tx, user, action, target, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query("SELECT at, user_id, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(audit_from_row).collect()
    }
}
