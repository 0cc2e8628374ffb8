//! The application's errors, by what the caller should do about them.

use todokede_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such report, user or version.
    #[error("not found")]
    NotFound,
    /// The request cannot be carried out as given (an unknown key, nothing to edit).
    #[error("{0}")]
    Invalid(String),
    /// It clashes with what is stored (a state that does not allow it, a duplicate).
    #[error("{0}")]
    Conflict(String),
    /// A rule refuses it for this person (the four-eyes rule, a password policy): what to tell
    /// them, in Japanese and English.
    #[error("{en}")]
    Refused { ja: String, en: String },
    /// The report changed since the version the caller names (If-Match): its version now.
    #[error("the report changed meanwhile (now version {0})")]
    Stale(i64),
    /// The store cannot be reached right now: retry later (HTTP 503, sysexits 75).
    #[error(transparent)]
    Unavailable(StoreError),
    /// A fault of ours (a mail that cannot be composed, a panicked analysis, corrupt data).
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }
    pub fn refused(ja: impl Into<String>, en: impl Into<String>) -> Self {
        AppError::Refused { ja: ja.into(), en: en.into() }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::InvalidTransition(_) => AppError::Conflict(e.to_string()),
            // The database's own words (constraint names) stay in the log.
            StoreError::Duplicate(m) => {
                tracing::debug!(cause = %m, "duplicate");
                AppError::Conflict("already exists".into())
            }
            StoreError::VersionMismatch(v) => AppError::Stale(v),
            StoreError::Corrupt(_) => AppError::Internal(e.to_string()),
            StoreError::Unsupported(m) => AppError::Invalid(m),
            StoreError::Unavailable(_) | StoreError::BadUrl(_) => AppError::Unavailable(e),
        }
    }
}

#[cfg(feature = "publication")]
impl From<todokede_publish::RenderError> for AppError {
    fn from(e: todokede_publish::RenderError) -> Self {
        AppError::Internal(e.to_string())
    }
}
