//! An analyst's desk: the reply templates admins keep and each analyst's saved queue filters.
//! Compiled into each backend (`#[path]` from `sqlite.rs` and `postgres.rs`).

use super::Store;
use super::rows::*;
use crate::{StoreError, model::*};
use sqlx::Row as _;
use time::OffsetDateTime;
use todokede_domain::*;

fn template_from_row(r: &<super::Db as sqlx::Database>::Row) -> Result<ReplyTemplate, StoreError> {
    Ok(ReplyTemplate {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        language: parse_key(&r.try_get::<String, _>("language")?)?,
        body: r.try_get("body")?,
        updated_by: r.try_get::<Option<i64>, _>("updated_by")?.map(UserId),
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// Every reply template: Japanese ones first, then by name.
    pub(crate) async fn reply_templates(&self) -> Result<Vec<ReplyTemplate>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, language, body, updated_by, updated_at FROM reply_templates ORDER BY language DESC, name, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(template_from_row).collect()
    }

    /// Create (`id` None) or replace a template; audited. Returns its id.
    pub(crate) async fn save_reply_template(
        &self,
        id: Option<i64>,
        name: &str,
        language: Language,
        body: &str,
        by: Option<UserId>,
    ) -> Result<i64, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        let id: i64 = match id {
            None => sqlx::query(
                "INSERT INTO reply_templates (name, language, body, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(name)
            .bind(language.key())
            .bind(body)
            .bind(by.map(|u| u.0))
            .bind(ts(now))
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?,
            Some(id) => sqlx::query(
                "UPDATE reply_templates SET name = $1, language = $2, body = $3, updated_by = $4, updated_at = $5 WHERE id = $6 RETURNING id",
            )
            .bind(name)
            .bind(language.key())
            .bind(body)
            .bind(by.map(|u| u.0))
            .bind(ts(now))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get(0)?,
        };
        audit_in(&mut tx, by, "template.save", Some(&id.to_string()), Some(name)).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn delete_reply_template(&self, id: i64, by: Option<UserId>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let name: String = sqlx::query("DELETE FROM reply_templates WHERE id = $1 RETURNING name")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get(0)?;
        audit_in(&mut tx, by, "template.delete", Some(&id.to_string()), Some(&name)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One analyst's saved filters, by name.
    pub(crate) async fn saved_filters(&self, user: UserId) -> Result<Vec<SavedFilter>, StoreError> {
        let rows = sqlx::query("SELECT id, name, query FROM saved_filters WHERE user_id = $1 ORDER BY name, id")
            .bind(user.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(SavedFilter { id: r.try_get("id")?, name: r.try_get("name")?, query: r.try_get("query")? }))
            .collect()
    }

    /// Save a filter under a name; the same name again replaces its query.
    pub(crate) async fn save_filter(&self, user: UserId, name: &str, query: &str) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO saved_filters (user_id, name, query, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query RETURNING id",
        )
        .bind(user.0)
        .bind(name)
        .bind(query)
        .bind(ts(OffsetDateTime::now_utc()))
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        tx.commit().await?;
        Ok(id)
    }

    /// Delete one of the analyst's own filters (another's id is not found).
    pub(crate) async fn delete_saved_filter(&self, user: UserId, id: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM saved_filters WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}
