//! PostgreSQL: for deployments with several stateless server processes. Commits are durable
//! with the server's default `synchronous_commit=on`.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr as _;

use crate::StoreError;

type Db = sqlx::Postgres;

#[derive(Clone)]
pub struct PgStore {
    pool: sqlx::PgPool,
    seal: crate::seal::Sealer,
}

use PgStore as Store;

impl PgStore {
    /// `key` seals the TOTP seeds; without one, a second factor cannot be turned on.
    pub async fn open(url: &str, key: Option<crate::seal::SealKey>) -> Result<Self, StoreError> {
        // Optional filters are written `($n IS NULL OR …)`: only a plan made for the actual
        // values folds them away and uses the right index (a generic plan of a search scanned
        // the reports table: 0.4 ms became 90 ms).
        let opts = PgConnectOptions::from_str(url)?
            .options([("synchronous_commit", "on"), ("plan_cache_mode", "force_custom_plan")]);
        // Fail fast when the server is not there at all (the pool would retry until its timeout).
        sqlx::Connection::close(<sqlx::PgConnection as sqlx::Connection>::connect_with(&opts).await?).await?;
        let pool =
            PgPoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(10)).connect_with(opts).await?;
        // sqlx takes an advisory lock, so several processes starting together migrate once.
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        if key.is_none() {
            tracing::warn!(
                "no TOTP key configured ({} or --totp-key-file): analysts cannot turn a second factor on",
                crate::seal::KEY_ENV
            );
        }
        let store = PgStore { pool, seal: crate::seal::Sealer::new(key) };
        store.seal_clear_totp().await?;
        Ok(store)
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// The migrations this build knows that the database has not applied (successfully).
    pub(crate) async fn schema_status(&self) -> Result<crate::SchemaStatus, StoreError> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(&self.pool).await?;
        Ok(crate::SchemaStatus::of(sqlx::migrate!("migrations/postgres").iter().map(|m| m.version), &applied))
    }

    /// PostgreSQL is backed up with its own tools (pg_dump, or a base backup with WAL
    /// archiving: README, "Operations"); todokede does not copy a server's database.
    pub(crate) async fn backup_into(&self, _path: &std::path::Path) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "todokede backup copies SQLite stores; back PostgreSQL up with pg_dump -Fc (README, Operations)".into(),
        ))
    }

    pub(crate) fn seal_key(&self) -> Option<crate::seal::SealKey> {
        self.seal.key()
    }

    pub(crate) fn can_seal(&self) -> bool {
        self.seal.has_key()
    }

    pub(crate) async fn close(&self) -> Result<(), StoreError> {
        self.pool.close().await;
        Ok(())
    }

    async fn backend_integrity_problems(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
}

/// The statements in which PostgreSQL differs from the other backend; the areas use them as
/// `dialect::…`.
mod dialect {
    use super::rows::like_pattern;

    /// How a time is bound: as itself (`timestamptz` compares instants, at microseconds).
    pub(super) fn ts(t: time::OffsetDateTime) -> time::OffsetDateTime {
        t
    }

    /// SKIP LOCKED: concurrent workers in several processes each take different jobs, nobody waits.
    pub(super) const CLAIM_JOBS_SQL: &str = "UPDATE jobs SET claimed_until = $1 WHERE id IN (SELECT id FROM jobs WHERE done_at IS NULL AND attempts < 5 AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id, kind, report_id";

    /// The outbox's claim: SKIP LOCKED, so the outbox workers of several processes each take
    /// different mail and none sends one that another holds.
    pub(super) const CLAIM_MAIL_SQL: &str = "UPDATE outbox SET claimed_until = $1 WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= $2) AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id, report_id, message_id, from_addr, to_addr, raw, attempts, created_at";

    /// Full-text search: every term as ILIKE '%term%' on search_docs, which pg_trgm's GIN index
    /// serves for terms of 3+ characters; the first term drives ($1, the FTS5 query on SQLite, is
    /// unused here). A sub-select under `OR` is never turned into a join, so the two cases are two
    /// statements.
    pub(super) const SEARCH_TERMS_SQL: &str = concat!(
        "SELECT ",
        summary_columns!(),
        "
        FROM search_docs d JOIN reports r ON r.id = d.report_id
        WHERE ($1::text IS NULL OR $1::text IS NOT NULL) AND d.body ILIKE $2 ESCAPE '\\'
          AND ($3::text IS NULL OR d.body ILIKE $3 ESCAPE '\\') AND ($4::text IS NULL OR d.body ILIKE $4 ESCAPE '\\')
          AND ($5::text IS NULL OR d.body ILIKE $5 ESCAPE '\\')
          AND ($6::text IS NULL OR r.state = $6) AND ($7::text IS NULL OR r.reporter_kind = $7)
          AND ($8::timestamptz IS NULL OR r.received_at >= $8) AND ($9::timestamptz IS NULL OR r.received_at < $9)
          AND ($10::text IS NULL OR EXISTS (SELECT 1 FROM report_facets f WHERE f.report_id = r.id AND f.facet = $10))
        ORDER BY r.id DESC LIMIT $11"
    );
    /// Without terms: the reports, newest first, filtered.
    pub(super) const SEARCH_SCAN_SQL: &str = concat!("SELECT ", summary_columns!(), "
        FROM reports r
        WHERE ($1::text IS NULL OR $1::text IS NOT NULL) AND ($2::text IS NULL) AND ($3::text IS NULL) AND ($4::text IS NULL) AND ($5::text IS NULL)
          AND ($6::text IS NULL OR r.state = $6) AND ($7::text IS NULL OR r.reporter_kind = $7)
          AND ($8::timestamptz IS NULL OR r.received_at >= $8) AND ($9::timestamptz IS NULL OR r.received_at < $9)
          AND ($10::text IS NULL OR EXISTS (SELECT 1 FROM report_facets f WHERE f.report_id = r.id AND f.facet = $10))
        ORDER BY r.id DESC LIMIT $11");

    pub(super) fn search_sql(_has_fts_query: bool, has_terms: bool) -> &'static str {
        if has_terms { SEARCH_TERMS_SQL } else { SEARCH_SCAN_SQL }
    }

    /// Every term is an ILIKE pattern (case-insensitive like FTS5's trigrams).
    pub(super) fn search_terms(terms: &[String]) -> (Option<String>, Vec<String>) {
        (None, terms.iter().take(4).map(|t| like_pattern(t)).collect())
    }

    /// A text's LSH band keys, given as a JSON array, in one statement.
    /// The TAXII objects' bulk writes: the rows as one JSON array of arrays.
    pub(super) const TAXII_DELETE_SQL: &str = "DELETE FROM taxii_objects WHERE (collection, object_id) IN (SELECT r->>0, r->>1 FROM jsonb_array_elements($1::jsonb) AS r)";
    pub(super) const TAXII_INSERT_SQL: &str = "INSERT INTO taxii_objects (collection, object_id, object_type, version, date_added, content_hash, content) SELECT r->>0, r->>1, r->>2, COALESCE(r->>3, $2::text), $2::text, r->>4, r->>5 FROM jsonb_array_elements($1::jsonb) AS r";
    /// A page of TAXII objects after a (date_added, object_id) bound, the lists as JSON arrays
    /// (`[]`: no filter).
    pub(super) const TAXII_PAGE_SQL: &str = "SELECT object_id, date_added, version, content FROM taxii_objects WHERE collection = $1 AND (date_added, object_id) > ($2::text, $3::text) AND ($4::jsonb = '[]'::jsonb OR object_type IN (SELECT jsonb_array_elements_text($4::jsonb))) AND ($5::jsonb = '[]'::jsonb OR object_id IN (SELECT jsonb_array_elements_text($5::jsonb))) AND ($6::jsonb = '[]'::jsonb OR version IN (SELECT jsonb_array_elements_text($6::jsonb))) ORDER BY date_added, object_id LIMIT $7";
    pub(super) const BANDS_INSERT_SQL: &str = "INSERT INTO lsh_bands (band_key, report_id, part) SELECT DISTINCT k::bigint, $2, $3 FROM jsonb_array_elements_text($1::jsonb) AS k ON CONFLICT DO NOTHING";
    pub(super) const SEARCH_DELETE_SQL: &str = "DELETE FROM search_docs WHERE report_id = $1";
    pub(super) const SEARCH_INSERT_SQL: &str = "INSERT INTO search_docs (report_id, body) VALUES ($1, $2)";
    /// A follow-up's text, searchable as soon as it is stored.
    pub(super) const SEARCH_APPEND_SQL: &str = "UPDATE search_docs SET body = body || $2 WHERE report_id = $1";
}

// The queries, by area, written once in `src/sql/` and compiled here for this backend. Each
// area sees only `Db`, `Store`, `dialect` and the shared `rows` (its imports say so).
#[path = "sql/accounts.rs"]
mod accounts;
#[path = "postgres_bulk.rs"]
mod bulk;
#[path = "sql/classification.rs"]
mod classification;
#[path = "sql/crossref.rs"]
mod crossref;
#[path = "sql/desk.rs"]
mod desk;
#[path = "sql/intake.rs"]
mod intake;
#[path = "sql/jobs.rs"]
mod jobs;
#[path = "sql/limits.rs"]
mod limits;
#[path = "sql/mail.rs"]
mod mail;
#[path = "sql/publication.rs"]
mod publication;
#[path = "sql/reports.rs"]
mod reports;
#[path = "sql/rows.rs"]
mod rows;
#[path = "sql/sharing.rs"]
mod sharing;
#[path = "sql/taxii.rs"]
mod taxii;
#[path = "sql/tokens.rs"]
mod tokens;
#[path = "sql/watchlists.rs"]
mod watchlists;
