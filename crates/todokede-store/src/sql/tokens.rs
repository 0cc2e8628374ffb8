//! API tokens: created, listed, revoked, and every use (or refused use) in the audit log.
//! Compiled into each backend (`#[path]` from `sqlite.rs` and `postgres.rs`): `Store` is that
//! backend's store.

use super::rows::*;
use super::{Db, Store};
use crate::{StoreError, model::*};
use sqlx::Row as _;
use time::OffsetDateTime;
use todokede_domain::*;

/// The columns of an [`ApiToken`] row, from `api_tokens t JOIN users u` (decoded by `token_from_row`).
macro_rules! token_columns {
    () => {
        "t.id, t.user_id, u.email, t.prefix, t.name, t.scopes, t.created_at, t.expires_at, t.revoked_at, t.last_used_at"
    };
}

fn token_from_row(r: &<Db as sqlx::Database>::Row) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: r.try_get("id")?,
        user: UserId(r.try_get("user_id")?),
        email: r.try_get("email")?,
        prefix: r.try_get("prefix")?,
        name: r.try_get("name")?,
        scopes: r.try_get("scopes")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

impl Store {
    pub(crate) async fn create_api_token(&self, t: &NewApiToken, by: UserId) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO api_tokens (user_id, token_hash, prefix, name, scopes, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(t.user.0)
        .bind(&t.token_hash)
        .bind(&t.prefix)
        .bind(&t.name)
        .bind(&t.scopes)
        .bind(ts(OffsetDateTime::now_utc()))
        .bind(ts(t.expires_at))
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let detail = format!("user {} scopes {} until {}", t.user.0, t.scopes, ts(t.expires_at));
        audit_in(&mut tx, Some(by), "api_token.create", Some(&format!("token:{id}")), Some(&detail)).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn api_tokens(&self, user: Option<UserId>) -> Result<Vec<ApiToken>, StoreError> {
        let sql = concat!(
            "SELECT ",
            token_columns!(),
            " FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE ($1 IS NULL OR t.user_id = $1) ORDER BY t.id"
        );
        let rows = sqlx::query(sql).bind(user.map(|u| u.0)).fetch_all(&self.pool).await?;
        rows.iter().map(token_from_row).collect()
    }

    pub(crate) async fn revoke_api_token(
        &self,
        id: i64,
        owner: Option<UserId>,
        by: UserId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR user_id = $3)",
        )
        .bind(ts(OffsetDateTime::now_utc()))
        .bind(id)
        .bind(owner.map(|u| u.0))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 {
            audit_in(&mut tx, Some(by), "api_token.revoke", Some(&format!("token:{id}")), None).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Look a presented token up by its hash; a known token's use is recorded (last use, and
    /// the audit log: `api.use` with `what`, or `api.refused` with why) in one transaction.
    pub(crate) async fn use_api_token(
        &self,
        token_hash: &str,
        what: &str,
    ) -> Result<Option<(ApiToken, TokenState)>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let sql = concat!(
            "SELECT ",
            token_columns!(),
            ", u.disabled FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
        );
        let Some(row) = sqlx::query(sql).bind(token_hash).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let token = token_from_row(&row)?;
        let disabled: bool = row.try_get("disabled")?;
        let state = if token.revoked_at.is_some() {
            TokenState::Revoked
        } else if disabled {
            TokenState::OwnerDisabled
        } else if token.expires_at <= now {
            TokenState::Expired
        } else {
            TokenState::Active
        };
        let target = format!("token:{}", token.id);
        let mut tx = self.begin_write().await?;
        if state == TokenState::Active {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(ts(now))
                .bind(token.id)
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, Some(token.user), "api.use", Some(&target), Some(what)).await?;
        } else {
            let why = match state {
                TokenState::Revoked => "revoked",
                TokenState::OwnerDisabled => "account disabled",
                _ => "expired",
            };
            audit_in(&mut tx, Some(token.user), "api.refused", Some(&target), Some(&format!("{why}: {what}"))).await?;
        }
        tx.commit().await?;
        Ok(Some((token, state)))
    }
}
