//! The TAXII 2.1 server's objects (issue 18): the STIX export of what is approved for sharing,
//! materialised per collection with each object's date_added, kept up to date by incremental
//! writes (`taxii_apply`: the objects that changed, in one transaction), and read in pages
//! ordered by (date_added, object id). Compiled into each backend (`#[path]` from `sqlite.rs`
//! and `postgres.rs`): `Store` is that backend's store; the bulk statements, which take their
//! rows as one JSON array, are the backend's `dialect`.

use super::{Store, dialect};
use crate::{StoreError, model::*};
use sqlx::Row as _;
use time::OffsetDateTime;

/// One row of the bulk insert: collection, id, type, version, content hash, content.
type InsertRow<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, &'a str, &'a str);

/// Rows per bulk statement (their JSON is one parameter: a few hundred kB).
const BULK_ROWS: usize = 1000;

/// Content above this many bytes is inserted by its own statement.
const LARGE_CONTENT: usize = 256 * 1024;

/// Greater than every character of a STIX id: `(t, ID_MAX)` sorts after every object added at `t`.
const ID_MAX: &str = "~";

/// A STIX timestamp: UTC, milliseconds, `Z` (fixed width, so byte order is time order).
pub(crate) fn stix_timestamp(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .expect("every time of the time crate's range has four year digits")
}

fn truncate_to_ms(t: OffsetDateTime) -> OffsetDateTime {
    let ns = t.nanosecond();
    t - time::Duration::nanoseconds(i64::from(ns % 1_000_000))
}

fn json_list(values: &[String]) -> String {
    serde_json::to_string(values).expect("strings serialise")
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

    /// Per shared report, what its exported objects are built from, by report id.
    pub(crate) async fn sharing_stamps(&self) -> Result<Vec<SharingStamp>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.report_id, s.tlp, s.approved_at, r.version, a.analysed_at
             FROM report_sharing s JOIN reports r ON r.id = s.report_id
             LEFT JOIN analyses a ON a.report_id = s.report_id ORDER BY s.report_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SharingStamp {
                    report: todokede_domain::ReportId(r.try_get("report_id")?),
                    tlp: r.try_get("tlp")?,
                    approved_at: r.try_get("approved_at")?,
                    version: r.try_get("version")?,
                    analysed_at: r.try_get("analysed_at")?,
                })
            })
            .collect()
    }

    /// The stored TAXII objects' generation and fingerprint.
    pub(crate) async fn taxii_state(&self) -> Result<TaxiiState, StoreError> {
        let r =
            sqlx::query("SELECT generation, fingerprint FROM taxii_state WHERE id = 1").fetch_one(&self.pool).await?;
        Ok(TaxiiState { generation: r.try_get("generation")?, fingerprint: r.try_get("fingerprint")? })
    }

    /// Every stored TAXII object's key and content hash, with the generation they are of (one
    /// transaction, so the two agree).
    pub(crate) async fn taxii_stored(&self) -> Result<(TaxiiState, Vec<TaxiiStored>), StoreError> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("SELECT generation, fingerprint FROM taxii_state WHERE id = 1").fetch_one(&mut *tx).await?;
        let state = TaxiiState { generation: r.try_get("generation")?, fingerprint: r.try_get("fingerprint")? };
        let rows =
            sqlx::query("SELECT collection, object_id, content_hash FROM taxii_objects ORDER BY collection, object_id")
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let stored = rows
            .iter()
            .map(|r| {
                Ok(TaxiiStored {
                    collection: r.try_get("collection")?,
                    id: r.try_get("object_id")?,
                    content_hash: r.try_get("content_hash")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((state, stored))
    }

    /// Apply `changes` in one transaction if the stored objects are still of
    /// `changes.generation`: delete, then insert with one date_added — `now` to the
    /// millisecond, or a millisecond after the previous write's — and record the fingerprint.
    /// The new generation; `None` (nothing written) when another writer came first.
    pub(crate) async fn taxii_apply(
        &self,
        changes: &TaxiiChanges,
        now: OffsetDateTime,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        // Takes the state row's lock on PostgreSQL (SQLite: BEGIN IMMEDIATE): one writer at a time.
        let n = sqlx::query(
            "UPDATE taxii_state SET generation = generation + 1, fingerprint = $2 WHERE id = 1 AND generation = $1",
        )
        .bind(changes.generation)
        .bind(&changes.fingerprint)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(None);
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
        for chunk in changes.delete.chunks(BULK_ROWS) {
            let keys: Vec<[&str; 2]> = chunk.iter().map(|(c, id)| [c.as_str(), id.as_str()]).collect();
            let keys = serde_json::to_string(&keys).expect("strings serialise");
            sqlx::query(dialect::TAXII_DELETE_SQL).bind(keys).execute(&mut *tx).await?;
        }
        // A large object (the report naming every other) goes alone, bound as itself: escaping
        // megabytes into a JSON array and parsing them back costs more than the statement.
        let (large, small): (Vec<&TaxiiObject>, Vec<&TaxiiObject>) =
            changes.insert.iter().partition(|o| o.content.len() > LARGE_CONTENT);
        for o in large {
            sqlx::query(
                "INSERT INTO taxii_objects (collection, object_id, object_type, version, date_added, content_hash, content)
                 VALUES ($1, $2, $3, COALESCE($4, $5), $5, $6, $7)",
            )
            .bind(&o.collection)
            .bind(&o.id)
            .bind(&o.object_type)
            .bind(o.version.as_deref())
            .bind(&date_added)
            .bind(&o.content_hash)
            .bind(&o.content)
            .execute(&mut *tx)
            .await?;
        }
        for chunk in small.chunks(BULK_ROWS) {
            let rows: Vec<InsertRow> = chunk
                .iter()
                .map(|o| {
                    (
                        o.collection.as_str(),
                        o.id.as_str(),
                        o.object_type.as_str(),
                        o.version.as_deref(),
                        o.content_hash.as_str(),
                        o.content.as_str(),
                    )
                })
                .collect();
            let rows = serde_json::to_string(&rows).expect("strings serialise");
            sqlx::query(dialect::TAXII_INSERT_SQL).bind(rows).bind(&date_added).execute(&mut *tx).await?;
        }
        if !changes.insert.is_empty() {
            sqlx::query("UPDATE taxii_state SET last_added = $1 WHERE id = 1")
                .bind(&date_added)
                .execute(&mut *tx)
                .await?;
        }
        let generation: i64 =
            sqlx::query("SELECT generation FROM taxii_state WHERE id = 1").fetch_one(&mut *tx).await?.try_get(0)?;
        tx.commit().await?;
        Ok(Some(generation))
    }

    /// One page of stored TAXII objects: `q.limit` rows at most, in (date_added, object_id) order.
    pub(crate) async fn taxii_objects(&self, q: &TaxiiQuery) -> Result<Vec<TaxiiRow>, StoreError> {
        // `added_after` and the cursor are one lower bound on (date_added, object_id), which the
        // page index serves as a range.
        let mut after = (String::new(), String::new());
        if let Some(t) = &q.added_after {
            after = (t.clone(), ID_MAX.to_owned());
        }
        if let Some(c) = &q.after
            && *c > after
        {
            after = c.clone();
        }
        let rows = sqlx::query(dialect::TAXII_PAGE_SQL)
            .bind(&q.collection)
            .bind(&after.0)
            .bind(&after.1)
            .bind(json_list(&q.types))
            .bind(json_list(&q.ids))
            .bind(json_list(&q.versions))
            .bind(q.limit)
            .fetch_all(&self.pool)
            .await?;
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
