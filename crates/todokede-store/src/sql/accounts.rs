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
    pub(crate) async fn create_user(
        &self,
        email: &str,
        role: Role,
        password_hash: &str,
        one_time_until: Option<OffsetDateTime>,
    ) -> Result<UserId, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO users (email, role, password_hash, created_at, one_time_until) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(email)
        .bind(role.key())
        .bind(password_hash)
        .bind(ts(OffsetDateTime::now_utc()))
        .bind(one_time_until.map(ts))
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        audit_in(&mut tx, None, "user.create", Some(email), Some(role.key())).await?;
        tx.commit().await?;
        Ok(UserId(id))
    }

    pub(crate) async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row =
            sqlx::query("SELECT id, email, role, password_hash, disabled, one_time_until FROM users WHERE email = $1")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row =
            sqlx::query("SELECT id, email, role, password_hash, disabled, one_time_until FROM users WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows =
            sqlx::query("SELECT id, email, role, password_hash, disabled, one_time_until FROM users ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Disable (or enable) an account; disabling ends all its sessions at once.
    pub(crate) async fn set_user_disabled(
        &self,
        id: UserId,
        disabled: bool,
        by: Option<UserId>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(disabled)
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
        }
        audit_in(&mut tx, by, if disabled { "user.disable" } else { "user.enable" }, Some(&id.0.to_string()), None)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user's TOTP seed (opened: it is sealed at rest, [`crate::seal`]) and last used step.
    pub(crate) async fn totp(&self, id: UserId) -> Result<(Option<String>, i64), StoreError> {
        let r = sqlx::query("SELECT totp_secret, totp_last_step FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await?;
        let stored: Option<String> = r.try_get(0)?;
        let secret = stored.map(|s| self.seal.open(&s, &totp_use(id))).transpose()?;
        Ok((secret, r.try_get(1)?))
    }

    /// Whether the user has a second factor (without opening the seed).
    pub(crate) async fn has_totp(&self, id: UserId) -> Result<bool, StoreError> {
        let r = sqlx::query("SELECT totp_secret IS NOT NULL FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get(0)?)
    }

    pub(crate) async fn set_totp(&self, id: UserId, secret: Option<&str>) -> Result<(), StoreError> {
        let sealed = secret.map(|s| self.seal.seal(s, &totp_use(id))).transpose()?;
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = 0 WHERE id = $2")
            .bind(sealed)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        audit_in(&mut tx, Some(id), if secret.is_some() { "user.totp_on" } else { "user.totp_off" }, None, None)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Seal the TOTP seeds stored in clear (before sealing existed), when the store has a key.
    /// Each row only if it still holds the clear value, so processes starting together agree.
    pub(crate) async fn seal_clear_totp(&self) -> Result<u64, StoreError> {
        if !self.seal.has_key() {
            return Ok(0);
        }
        let rows = sqlx::query("SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL")
            .fetch_all(&self.pool)
            .await?;
        let mut sealed = 0;
        for r in rows {
            let (id, clear): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
            if crate::seal::Sealer::is_sealed(&clear) {
                continue;
            }
            let value = self.seal.seal(&clear, &totp_use(UserId(id)))?;
            let mut tx = self.begin_write().await?;
            sealed += sqlx::query("UPDATE users SET totp_secret = $1 WHERE id = $2 AND totp_secret = $3")
                .bind(value)
                .bind(id)
                .bind(&clear)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
        }
        if sealed > 0 {
            tracing::info!(sealed, "TOTP seeds stored in clear are now sealed");
        }
        Ok(sealed)
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

    /// A new password (its hash), one-time until `one_time_until` or chosen by the user
    /// (`None`). Every session of the account ends (a reset locks out whoever held one; after a
    /// change the web gives the user a fresh one). Audited as a change by the user themself, a
    /// reset by anyone else (or the console: `by` None).
    pub(crate) async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        one_time_until: Option<OffsetDateTime>,
        by: Option<UserId>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET password_hash = $1, one_time_until = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(one_time_until.map(ts))
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
        let action = if by == Some(id) { "user.password_change" } else { "user.password_reset" };
        audit_in(&mut tx, by, action, Some(&id.0.to_string()), None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Turn the second factor off for an account (an admin's reset: a lost phone): the TOTP
    /// secret and every recovery code go, and so do its sessions.
    pub(crate) async fn reset_second_factor(&self, id: UserId, by: Option<UserId>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET totp_secret = NULL, totp_last_step = 0 WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
        audit_in(&mut tx, by, "user.totp_reset", Some(&id.0.to_string()), None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replace an account's recovery codes by new ones (their SHA-256, hex).
    pub(crate) async fn replace_recovery_codes(&self, id: UserId, hashes: &[String]) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
        for h in hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
                .bind(id.0)
                .bind(h)
                .bind(ts(now))
                .execute(&mut *tx)
                .await?;
        }
        audit_in(
            &mut tx,
            Some(id),
            "user.recovery_codes_new",
            Some(&id.0.to_string()),
            Some(&hashes.len().to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Spend one recovery code (by its hash); false when it is unknown or was used. Audited
    /// with the number left.
    pub(crate) async fn use_recovery_code(&self, id: UserId, hash: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let used = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(ts(OffsetDateTime::now_utc()))
        .bind(id.0)
        .bind(hash)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if used {
            let left: i64 = sqlx::query("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                .bind(id.0)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            audit_in(
                &mut tx,
                Some(id),
                "user.recovery_code_used",
                Some(&id.0.to_string()),
                Some(&format!("{left} left")),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(used)
    }

    /// Recovery codes not yet used.
    pub(crate) async fn recovery_codes_left(&self, id: UserId) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Every setting an admin changed, as (key, value), by key.
    pub(crate) async fn settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT key, value FROM settings ORDER BY key").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    pub(crate) async fn set_setting(&self, key: &str, value: &str, by: Option<UserId>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if value.is_empty() {
            sqlx::query("DELETE FROM settings WHERE key = $1").bind(key).execute(&mut *tx).await?;
        } else {
            sqlx::query("INSERT INTO settings (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at")
                .bind(key)
                .bind(value)
                .bind(by.map(|u| u.0))
                .bind(ts(OffsetDateTime::now_utc()))
                .execute(&mut *tx)
                .await?;
        }
        audit_in(&mut tx, by, "settings.set", Some(key), Some(value)).await?;
        tx.commit().await?;
        Ok(())
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

/// What a user's sealed TOTP seed is bound to: its use and its row.
fn totp_use(id: UserId) -> String {
    format!("totp:user:{}", id.0)
}
