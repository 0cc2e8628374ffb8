//! The TAXII 2.1 server's objects (issue 18): the STIX export of what is approved for sharing,
//! materialised per collection with each object's date_added, and read in pages ordered by
//! (date_added, object id). Compiled into each backend (`#[path]` from `sqlite.rs` and
//! `postgres.rs`): `Store` is that backend's store.

use super::Store;
use crate::{StoreError, model::*};
use sqlx::Row as _;
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// Rows per multi-row INSERT (7 parameters each: far below both backends' limits).
const INSERT_BATCH: usize = 500;
/// Ids per DELETE … IN (…).
const DELETE_BATCH: usize = 500;

/// A STIX timestamp: UTC, milliseconds, `Z` (fixed width, so byte order is time order).
pub(crate) fn stix_timestamp(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .expect("every time of the time crate's range has four year digits")
}

/// Bind `v` next; its placeholder.
fn mark<'a>(binds: &mut Vec<&'a str>, v: &'a str) -> String {
    binds.push(v);
    format!("${}", binds.len())
}

fn truncate_to_ms(t: OffsetDateTime) -> OffsetDateTime {
    let ns = t.nanosecond();
    t - time::Duration::nanoseconds(i64::from(ns % 1_000_000))
}

impl Store {
    /// A fingerprint of every input of the shared export: which reports are approved (count,
    /// the latest approval), their versions (raised by every change an analyst makes: state,
    /// classification, links …) and their latest analysis. Cheap: one aggregate.
    pub(crate) async fn sharing_fingerprint(&self) -> Result<String, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(r.version), 0) AS BIGINT) AS versions,
                    COALESCE(CAST(MAX(s.approved_at) AS TEXT), '') AS approved,
                    COALESCE(CAST(MAX(a.analysed_at) AS TEXT), '') AS analysed
             FROM report_sharing s JOIN reports r ON r.id = s.report_id
             LEFT JOIN analyses a ON a.report_id = s.report_id",
        )
        .fetch_one(&self.pool)
        .await?;
        let n: i64 = row.try_get("n")?;
        let versions: i64 = row.try_get("versions")?;
        let approved: String = row.try_get("approved")?;
        let analysed: String = row.try_get("analysed")?;
        Ok(format!("{n}/{versions}/{approved}/{analysed}"))
    }

    /// The fingerprint the stored TAXII objects were built from ('' before the first build).
    pub(crate) async fn taxii_fingerprint(&self) -> Result<String, StoreError> {
        Ok(sqlx::query("SELECT fingerprint FROM taxii_state WHERE id = 1").fetch_one(&self.pool).await?.try_get(0)?)
    }

    /// Replace the stored TAXII objects by `objects`, built from data of `fingerprint`, in one
    /// transaction. Unchanged objects keep their date_added; new and changed ones get one
    /// date_added, `now` to the millisecond or a millisecond after the previous build's;
    /// objects not in `objects` are deleted. False (and nothing changed) when the store was
    /// already built from `fingerprint` — by another request or process meanwhile.
    pub(crate) async fn taxii_rebuild(
        &self,
        fingerprint: &str,
        objects: &[TaxiiObject],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        // Takes the state row's lock on PostgreSQL (SQLite: BEGIN IMMEDIATE): one build at a time.
        let n = sqlx::query("UPDATE taxii_state SET fingerprint = $1 WHERE id = 1 AND fingerprint <> $1")
            .bind(fingerprint)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let last: Option<String> =
            sqlx::query("SELECT last_added FROM taxii_state WHERE id = 1").fetch_one(&mut *tx).await?.try_get(0)?;
        let mut at = truncate_to_ms(now);
        if let Some(last) = last {
            let last = OffsetDateTime::parse(&last, &time::format_description::well_known::Rfc3339)
                .map_err(|e| StoreError::Corrupt(format!("taxii_state.last_added {last}: {e}")))?;
            if at <= last {
                at = last + time::Duration::milliseconds(1);
            }
        }
        let date_added = stix_timestamp(at);

        let rows =
            sqlx::query("SELECT collection, object_id, content_hash FROM taxii_objects").fetch_all(&mut *tx).await?;
        let mut stored: HashMap<(String, String), String> = HashMap::with_capacity(rows.len());
        for r in &rows {
            stored.insert((r.try_get("collection")?, r.try_get("object_id")?), r.try_get("content_hash")?);
        }
        let mut wanted: HashMap<(&str, &str), &TaxiiObject> = HashMap::with_capacity(objects.len());
        for o in objects {
            if wanted.insert((o.collection.as_str(), o.id.as_str()), o).is_some() {
                return Err(StoreError::Duplicate(format!("TAXII object {} twice in {}", o.id, o.collection)));
            }
        }
        let mut delete: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for ((collection, id), hash) in &stored {
            match wanted.get(&(collection.as_str(), id.as_str())) {
                Some(o) if o.content_hash == *hash => {}
                _ => delete.entry(collection.as_str()).or_default().push(id.as_str()),
            }
        }
        let insert: Vec<&TaxiiObject> = objects
            .iter()
            .filter(|o| stored.get(&(o.collection.clone(), o.id.clone())) != Some(&o.content_hash))
            .collect();
        for (collection, ids) in &delete {
            for chunk in ids.chunks(DELETE_BATCH) {
                let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                let sql =
                    format!("DELETE FROM taxii_objects WHERE collection = $1 AND object_id IN ({})", marks.join(", "));
                // Audited: the SQL is fixed text and numbered placeholders only.
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(*collection);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *tx).await?;
            }
        }
        for chunk in insert.chunks(INSERT_BATCH) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let b = i * 7;
                    format!("(${}, ${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7)
                })
                .collect();
            let sql = format!(
                "INSERT INTO taxii_objects (collection, object_id, object_type, version, date_added, content_hash, content) VALUES {}",
                rows.join(", ")
            );
            // Audited: the SQL is fixed text and numbered placeholders only.
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for o in chunk {
                q = q
                    .bind(&o.collection)
                    .bind(&o.id)
                    .bind(&o.object_type)
                    .bind(o.version.clone().unwrap_or_else(|| date_added.clone()))
                    .bind(&date_added)
                    .bind(&o.content_hash)
                    .bind(&o.content);
            }
            q.execute(&mut *tx).await?;
        }
        if !insert.is_empty() {
            sqlx::query("UPDATE taxii_state SET last_added = $1 WHERE id = 1")
                .bind(&date_added)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// One page of stored TAXII objects: `q.limit` rows at most, in (date_added, object_id) order.
    pub(crate) async fn taxii_objects(&self, q: &TaxiiQuery) -> Result<Vec<TaxiiRow>, StoreError> {
        let mut sql =
            String::from("SELECT object_id, date_added, version, content FROM taxii_objects WHERE collection = $1");
        let mut binds: Vec<&str> = vec![&q.collection];
        if let Some(after) = &q.added_after {
            let m = mark(&mut binds, after);
            sql.push_str(&format!(" AND date_added > {m}"));
        }
        for (column, values) in [("object_type", &q.types), ("object_id", &q.ids), ("version", &q.versions)] {
            if values.is_empty() {
                continue;
            }
            let marks: Vec<String> = values.iter().map(|v| mark(&mut binds, v.as_str())).collect();
            sql.push_str(&format!(" AND {column} IN ({})", marks.join(", ")));
        }
        if let Some((date, id)) = &q.after {
            let d = mark(&mut binds, date);
            let i = mark(&mut binds, id);
            sql.push_str(&format!(" AND (date_added > {d} OR (date_added = {d} AND object_id > {i}))"));
        }
        sql.push_str(&format!(" ORDER BY date_added, object_id LIMIT ${}", binds.len() + 1));
        // Audited: fixed text, the three column names above and numbered placeholders only;
        // every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.bind(q.limit).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(TaxiiRow {
                    id: r.try_get("object_id")?,
                    date_added: r.try_get("date_added")?,
                    version: r.try_get("version")?,
                    content: r.try_get("content")?,
                })
            })
            .collect()
    }
}
