//! Analysts' classifications and their overrides of the automatic one.
//! Compiled into each backend (`#[path]` from `sqlite.rs` and `postgres.rs`): `Store` is that
//! backend's store, `dialect` its few statements that differ.

use super::Store;
use super::rows::*;
use crate::StoreError;
use sqlx::Row as _;
use time::OffsetDateTime;
use todokede_domain::*;

impl Store {
    /// Record the analyst's classification; every dimension that differs from the automatic
    /// one is kept as an override. Returns the overridden dimensions.
    pub(crate) async fn confirm_classification(
        &self,
        id: ReportId,
        by: UserId,
        confirmed: &Classification,
        automatic: &Classification,
        if_version: Option<i64>,
    ) -> Result<Vec<&'static str>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let c = classification_json(confirmed);
        let a = classification_json(automatic);
        let mut tx = self.begin_write().await?;
        bump_version(&mut tx, id.0, if_version).await?;
        sqlx::query("INSERT INTO classifications (report_id, confirmed_by, confirmed_at, causes, damages, attack_types, techniques, has_damage) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (report_id) DO UPDATE SET confirmed_by = excluded.confirmed_by, confirmed_at = excluded.confirmed_at, causes = excluded.causes,
                     damages = excluded.damages, attack_types = excluded.attack_types, techniques = excluded.techniques, has_damage = excluded.has_damage")
            .bind(id.0).bind(by.0).bind(ts(now)).bind(&c[0]).bind(&c[1]).bind(&c[2]).bind(&c[3]).bind(&c[4])
            .execute(&mut *tx).await?;
        let diff = confirmed.differences(automatic);
        for dim in &diff {
            let i = ["causes", "damages", "attack_types", "techniques", "has_damage"]
                .iter()
                .position(|d| d == dim)
                .unwrap();
            sqlx::query("INSERT INTO classification_overrides (report_id, user_id, at, dimension, automatic, confirmed) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id.0).bind(by.0).bind(ts(now)).bind(*dim).bind(a[i].clone().unwrap_or_default()).bind(c[i].clone().unwrap_or_default())
                .execute(&mut *tx).await?;
        }
        // The trend facets follow the confirmed classification.
        sqlx::query("DELETE FROM report_facets WHERE report_id = $1 AND (facet LIKE 'cause.%' OR facet LIKE 'damage.%' OR facet LIKE 'technique.%')").bind(id.0).execute(&mut *tx).await?;
        for f in confirmed.facets() {
            sqlx::query("INSERT INTO report_facets (report_id, facet) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id.0)
                .bind(f)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("INSERT INTO timeline (report_id, kind, body, user_id, at) VALUES ($1, 'classify', $2, $3, $4)")
            .bind(id.0)
            .bind(confirmed.causes.first().map(|c| c.key()).unwrap_or(""))
            .bind(by.0)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        audit_in(
            &mut tx,
            Some(by),
            "report.classify",
            Some(&id.0.to_string()),
            Some(&format!("overrides: {}", diff.join(","))),
        )
        .await?;
        tx.commit().await?;
        Ok(diff)
    }

    pub(crate) async fn classification(&self, id: ReportId) -> Result<Option<Classification>, StoreError> {
        let Some(r) = sqlx::query(
            "SELECT causes, damages, attack_types, techniques, has_damage FROM classifications WHERE report_id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(classification_from_row(&r)?))
    }

    pub(crate) async fn override_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT dimension, COUNT(*) AS n FROM classification_overrides GROUP BY dimension ORDER BY dimension",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }
}
