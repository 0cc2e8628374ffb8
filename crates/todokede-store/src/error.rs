//! The store's one error type: unavailable (retry later) versus everything else.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached, is locked, read-only or full: the caller should answer
    /// "try again" (HTTP 503, sysexits 75), never "received".
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    InvalidTransition(#[from] todokede_domain::InvalidTransition),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported database URL `{0}` (expected sqlite://PATH or postgres://…)")]
    BadUrl(String),
    /// The report changed since the version the caller read (If-Match): its version now.
    #[error("the report changed meanwhile (now version {0})")]
    VersionMismatch(i64),
    #[error("already exists: {0}")]
    Duplicate(String),
    /// The backend does not do this (an SQLite-only operation on PostgreSQL).
    #[error("{0}")]
    Unsupported(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(db.message().to_owned()),
            // A row that names a report, user … which does not exist: the caller asked about
            // something that is not there (not an outage to retry).
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Unavailable(e.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Unavailable(format!("migration failed: {e}"))
    }
}
