//! `/api/v1/analyst/*`: the analysts' API for scripts, authorised by API tokens
//! (`Authorization: Bearer tdk_…`, `todokede_app::tokens`): scoped read / write / export,
//! every use in the audit log. The same error shape as the reporter API (`error.rs`).

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use todokede_app::tokens::{self, Refused, Scope};

use crate::AppState;
use crate::error::ApiError;

pub fn routes(state: AppState) -> Router {
    Router::new().route("/api/v1/analyst/me", get(me)).with_state(state)
}

/// The caller of an analysts' API request: the token's account and scopes.
pub struct Caller(pub tokens::Caller);

impl Caller {
    /// 403 unless the token has `scope` (`write` includes `read`).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if tokens::allows(&self.0.scopes, scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("this token lacks the `{}` scope", scope.key()),
            ))
        }
    }
}

/// 401 with the challenge RFC 6750 asks for.
fn unauthorized(message: &str) -> Response {
    let mut res = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"todokede\""));
    res
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_owned());
        let Some(presented) = presented else {
            return Err(unauthorized(
                "send an API token as `Authorization: Bearer <token>` (created on /account or with `todokede token create`)",
            ));
        };
        let what = format!("{} {}", parts.method, parts.uri.path());
        match tokens::authenticate(&st.store, &presented, &what).await {
            Ok(Ok(caller)) => Ok(Caller(caller)),
            Ok(Err(why)) => {
                tracing::info!(?why, %what, "API token refused");
                Err(unauthorized(match why {
                    Refused::Expired => "this API token has expired",
                    Refused::Revoked => "this API token was revoked",
                    Refused::Unknown | Refused::OwnerDisabled => "this API token is not valid",
                }))
            }
            Err(e) => Err(ApiError::from(e).into_response()),
        }
    }
}

#[derive(Serialize)]
struct Me {
    email: String,
    role: &'static str,
    token_id: i64,
    scopes: Vec<&'static str>,
}

/// Who the token acts as, and what it may do.
async fn me(State(_): State<AppState>, Caller(c): Caller) -> Json<Me> {
    Json(Me {
        email: c.user.email.clone(),
        role: c.user.role.key(),
        token_id: c.token_id,
        scopes: c.scopes.iter().map(|s| s.key()).collect(),
    })
}
