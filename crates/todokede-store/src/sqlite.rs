//! The embedded default: one SQLite file in WAL mode with `synchronous=FULL`, so a commit that
//! returned has been fsynced and survives power loss, not only a process crash.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr as _;
use std::time::Duration;

use crate::StoreError;
use sqlx::Row as _;

type Db = sqlx::Sqlite;

#[derive(Clone)]
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    seal: crate::seal::Sealer,
}

/// Alias so the shared queries can say `Store`.
use SqliteStore as Store;

impl SqliteStore {
    /// `path` may end in `?busy_timeout_ms=N`: how long a writer waits for another process's
    /// lock before the store reports itself unavailable (default 10 s). `key` seals the TOTP
    /// seeds; without one, the key file `PATH.key` beside the database (made on first use;
    /// a new key for `:memory:`).
    pub async fn open(path_and_query: &str, key: Option<crate::seal::SealKey>) -> Result<Self, StoreError> {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let mut busy_timeout = Duration::from_secs(10);
        for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
            match (k, v.parse::<u64>()) {
                ("busy_timeout_ms", Ok(ms)) => busy_timeout = Duration::from_millis(ms),
                _ => return Err(StoreError::BadUrl(format!("unknown SQLite option `{k}={v}`"))),
            }
        }
        if path != ":memory:"
            && let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(busy_timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(busy_timeout.max(Duration::from_secs(1)))
            .connect_with(opts)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        let key = match key {
            Some(k) => k,
            None if path == ":memory:" => crate::seal::SealKey::generate(),
            None => {
                crate::seal::SealKey::load_or_create(&crate::seal::SealKey::file_beside(std::path::Path::new(path)))?
            }
        };
        let store = SqliteStore { pool, seal: crate::seal::Sealer::new(Some(key)) };
        store.assert_durable().await?;
        store.seal_clear_totp().await?;
        Ok(store)
    }

    /// Libraries and builds differ in their defaults; refuse to run without the durability the
    /// acknowledgement promises.
    async fn assert_durable(&self) -> Result<(), StoreError> {
        let sync: i64 = sqlx::query("PRAGMA synchronous").fetch_one(&self.pool).await?.try_get(0)?;
        let mode: String = sqlx::query("PRAGMA journal_mode").fetch_one(&self.pool).await?.try_get(0)?;
        if sync < 2 || !(mode.eq_ignore_ascii_case("wal") || mode.eq_ignore_ascii_case("memory")) {
            return Err(StoreError::Unavailable(format!(
                "SQLite not durable: synchronous={sync}, journal_mode={mode}"
            )));
        }
        Ok(())
    }

    /// `BEGIN IMMEDIATE` takes the write lock up front, so two writers queue on busy_timeout
    /// instead of failing with SQLITE_BUSY when a read transaction tries to upgrade.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The migrations this build knows that the database has not applied (successfully).
    pub(crate) async fn schema_status(&self) -> Result<crate::SchemaStatus, StoreError> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(&self.pool).await?;
        Ok(crate::SchemaStatus::of(sqlx::migrate!("migrations/sqlite").iter().map(|m| m.version), &applied))
    }

    /// An online, consistent copy into a new file: `VACUUM INTO` reads one snapshot (writers
    /// go on meanwhile, WAL) and writes a compacted database without the WAL.
    pub(crate) async fn backup_into(&self, path: &std::path::Path) -> Result<(), StoreError> {
        let path = path.to_str().ok_or_else(|| StoreError::Unavailable("the backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1").bind(path).execute(&self.pool).await?;
        Ok(())
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
        let mut problems = Vec::new();
        // One read transaction on one connection. FTS5 caches its index structure per
        // connection, and PRAGMA integrity_check compares against that cache without reloading
        // it (SQLite 3.51): on a connection that last looked before another one wrote, it
        // reports a checksum mismatch of a sound index. A MATCH in the same transaction loads
        // the current structure first.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT count(*) FROM search_fts WHERE search_fts MATCH '\"integrity\"'")
            .fetch_one(&mut *tx)
            .await?;
        for row in sqlx::query("PRAGMA integrity_check").fetch_all(&mut *tx).await? {
            let msg: String = row.try_get(0)?;
            if msg != "ok" {
                problems.push(msg);
            }
        }
        let fk = sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut *tx).await?;
        tx.commit().await?;
        if !fk.is_empty() {
            problems.push(format!("{} foreign key violations", fk.len()));
        }
        Ok(problems)
    }
}

/// The statements in which SQLite differs from the other backend; the areas use them as
/// `dialect::…`.
mod dialect {
    use super::rows::like_pattern;

    /// How a time is bound. SQLite has no time type: times are text, and text compares by its
    /// bytes, so every time is written in one fixed-width form — UTC, microseconds (PostgreSQL's
    /// precision, so both backends read back the same instant), `Z` — whose byte order is time
    /// order. (sqlx's RFC 3339 drops the fraction's trailing zeros and keeps the offset, so
    /// `…:05Z` sorted after `…:05.5Z`, and 08:00+09:00 after 00:00Z of the same date.)
    pub(super) fn ts(t: time::OffsetDateTime) -> String {
        t.to_offset(time::UtcOffset::UTC)
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
            ))
            .expect("every time of the time crate's range has four year digits")
    }

    /// One writer at a time (BEGIN IMMEDIATE), so a plain UPDATE … RETURNING claims safely.
    pub(super) const CLAIM_JOBS_SQL: &str = "UPDATE jobs SET claimed_until = $1 WHERE id IN (SELECT id FROM jobs WHERE done_at IS NULL AND attempts < 5 AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY id LIMIT $3) RETURNING id, kind, report_id";

    /// The outbox's claim, the same way: one statement under the write lock.
    pub(super) const CLAIM_MAIL_SQL: &str = "UPDATE outbox SET claimed_until = $1 WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= $2) AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY id LIMIT $3) RETURNING id, report_id, message_id, from_addr, to_addr, raw, attempts, created_at";

    /// Full-text search: FTS5 trigram MATCH for terms of 3+ characters (all must occur), LIKE on
    /// the same table for shorter ones (trigrams cannot index them). With a MATCH the full-text
    /// index drives, newest first, so a common phrase stops after the first page of hits.
    pub(super) const SEARCH_FTS_SQL: &str = concat!(
        "SELECT ",
        summary_columns!(),
        "
        FROM search_fts f JOIN reports r ON r.id = f.rowid
        WHERE search_fts MATCH $1
          AND ($2 IS NULL OR f.body LIKE $2 ESCAPE '\\') AND ($3 IS NULL OR f.body LIKE $3 ESCAPE '\\')
          AND ($4 IS NULL OR f.body LIKE $4 ESCAPE '\\') AND ($5 IS NULL OR f.body LIKE $5 ESCAPE '\\')
          AND ($6 IS NULL OR r.state = $6) AND ($7 IS NULL OR r.reporter_kind = $7)
          AND ($8 IS NULL OR r.received_at >= $8) AND ($9 IS NULL OR r.received_at < $9)
          AND ($10 IS NULL OR r.id IN (SELECT report_id FROM report_facets WHERE facet = $10))
        ORDER BY f.rowid DESC LIMIT $11"
    );
    /// Without a 3+ character term: the reports, newest first, filtered.
    pub(super) const SEARCH_SCAN_SQL: &str = concat!(
        "SELECT ",
        summary_columns!(),
        "
        FROM reports r LEFT JOIN search_fts f ON f.rowid = r.id
        WHERE ($1 IS NULL OR $1 IS NOT NULL)
          AND ($2 IS NULL OR f.body LIKE $2 ESCAPE '\\') AND ($3 IS NULL OR f.body LIKE $3 ESCAPE '\\')
          AND ($4 IS NULL OR f.body LIKE $4 ESCAPE '\\') AND ($5 IS NULL OR f.body LIKE $5 ESCAPE '\\')
          AND ($6 IS NULL OR r.state = $6) AND ($7 IS NULL OR r.reporter_kind = $7)
          AND ($8 IS NULL OR r.received_at >= $8) AND ($9 IS NULL OR r.received_at < $9)
          AND ($10 IS NULL OR r.id IN (SELECT report_id FROM report_facets WHERE facet = $10))
        ORDER BY r.id DESC LIMIT $11"
    );

    pub(super) fn search_sql(has_fts_query: bool, _has_terms: bool) -> &'static str {
        if has_fts_query { SEARCH_FTS_SQL } else { SEARCH_SCAN_SQL }
    }
    /// The TAXII objects' bulk writes: the rows as one JSON array of arrays (`json_each`).
    pub(super) const TAXII_DELETE_SQL: &str = "DELETE FROM taxii_objects WHERE (collection, object_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each($1))";
    pub(super) const TAXII_INSERT_SQL: &str = "INSERT INTO taxii_objects (collection, object_id, object_type, version, date_added, content_hash, content) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), COALESCE(json_extract(value, '$[3]'), $2), $2, json_extract(value, '$[4]'), json_extract(value, '$[5]') FROM json_each($1)";
    /// A page of TAXII objects after a (date_added, object_id) bound, the lists as JSON arrays
    /// (`[]`: no filter).
    pub(super) const TAXII_PAGE_SQL: &str = "SELECT object_id, date_added, version, content FROM taxii_objects WHERE collection = $1 AND (date_added, object_id) > ($2, $3) AND ($4 = '[]' OR object_type IN (SELECT value FROM json_each($4))) AND ($5 = '[]' OR object_id IN (SELECT value FROM json_each($5))) AND ($6 = '[]' OR version IN (SELECT value FROM json_each($6))) ORDER BY date_added, object_id LIMIT $7";
    /// A text's LSH band keys, given as a JSON array, in one statement.
    pub(super) const BANDS_INSERT_SQL: &str = "INSERT INTO lsh_bands (band_key, report_id, part) SELECT DISTINCT value, $2, $3 FROM json_each($1) WHERE true ON CONFLICT DO NOTHING";
    pub(super) const SEARCH_DELETE_SQL: &str = "DELETE FROM search_fts WHERE rowid = $1";
    pub(super) const SEARCH_INSERT_SQL: &str = "INSERT INTO search_fts (rowid, body) VALUES ($1, $2)";
    /// A follow-up's text, searchable as soon as it is stored.
    pub(super) const SEARCH_APPEND_SQL: &str = "UPDATE search_fts SET body = body || $2 WHERE rowid = $1";

    /// Terms of 3+ characters become one FTS5 query of quoted phrases (quotes doubled: the user's
    /// text is never FTS syntax); shorter ones become LIKE patterns.
    pub(super) fn search_terms(terms: &[String]) -> (Option<String>, Vec<String>) {
        let (long, short): (Vec<&String>, Vec<&String>) = terms.iter().take(4).partition(|t| t.chars().count() >= 3);
        let fts = (!long.is_empty())
            .then(|| long.iter().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect::<Vec<_>>().join(" AND "));
        (fts, short.iter().map(|t| like_pattern(t)).collect())
    }
}

// The queries, by area, written once in `src/sql/` and compiled here for this backend. Each
// area sees only `Db`, `Store`, `dialect` and the shared `rows` (its imports say so).
#[path = "sql/accounts.rs"]
mod accounts;
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
