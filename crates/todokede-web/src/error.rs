//! Errors → HTTP. Every error body is machine-readable:
//! `{"error": {"code": "...", "message": "...", "field": "..."}}`. Internal details never leak.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use todokede_domain::SubmissionError;
use todokede_store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such report, or the secret does not match")
    }
    /// 412: the report changed since the version in If-Match.
    pub fn stale(now: i64) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "stale",
            format!("the report changed meanwhile (now version {now}, ETag \"v{now}\"): read it again, then retry"),
        )
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }
}

impl From<SubmissionError> for ApiError {
    fn from(e: SubmissionError) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_field",
            field: Some(e.field()),
            message: e.to_string(),
        }
    }
}

impl From<todokede_app::intake::IntakeError> for ApiError {
    fn from(e: todokede_app::intake::IntakeError) -> Self {
        use todokede_app::intake::IntakeError;
        match e {
            IntakeError::Malformed(m) => ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", m),
            IntakeError::InvalidBody(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", m),
            IntakeError::Invalid(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::InvalidTransition(t) => {
                ApiError::new(StatusCode::CONFLICT, "invalid_transition", t.to_string())
            }
            StoreError::Duplicate(_) => ApiError::new(StatusCode::CONFLICT, "duplicate", "already exists"),
            StoreError::VersionMismatch(v) => ApiError::stale(v),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the report store is unavailable; nothing was stored — retry later with the same Idempotency-Key",
                )
            }
        }
    }
}

impl From<todokede_app::AppError> for ApiError {
    fn from(e: todokede_app::AppError) -> Self {
        use todokede_app::AppError;
        match e {
            AppError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found", "not found"),
            AppError::Invalid(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m),
            AppError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            AppError::Stale(v) => ApiError::stale(v),
            AppError::Refused { en, .. } => ApiError::new(StatusCode::FORBIDDEN, "refused", en),
            AppError::Unavailable(e) => {
                tracing::error!(error = %e, "store unavailable");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the store is unavailable; retry later")
            }
            AppError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message, "field": self.field}});
        let mut res = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}
