//! One error type for every route, mapped once to a status and a JSON body
//! `{"error": {"code", "message"}}`. A 5xx keeps its cause on the response
//! for the request log, which writes it once; the client sees no detail.

use crate::calls::intake::IntakeError;
use crate::calls::work::WorkError;
use crate::domain::work::ChangeError;
use crate::store::StoreError;
use crate::telemetry::error_chain;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::error::Error as StdError;
use std::sync::Arc;
use utoipa::{IntoResponses, ToSchema};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("this route does not take {0}")]
    MethodNotAllowed(axum::http::Method),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// A change the record's state does not allow (422).
    #[error("{0}")]
    InvalidState(String),
    /// `total` is the resource's length, for `Content-Range: bytes */total`.
    #[error("the requested range is not satisfiable")]
    RangeNotSatisfiable { total: u64 },
    #[error("internal error")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

impl ApiError {
    pub fn internal(cause: impl StdError + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(cause))
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::InvalidState(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_state"),
            ApiError::RangeNotSatisfiable { .. } => {
                (StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} does not exist")),
            StoreError::Conflict => ApiError::Conflict(e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::HeldByOther { .. } => ApiError::Conflict(e.to_string()),
            ChangeError::NotHolder => ApiError::Forbidden(e.to_string()),
            ChangeError::InvalidState { .. } => ApiError::InvalidState(e.to_string()),
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::UnknownCall(_) => ApiError::NotFound(e.to_string()),
            IntakeError::Store(e) => e.into(),
        }
    }
}

impl From<WorkError> for ApiError {
    fn from(e: WorkError) -> Self {
        match e {
            WorkError::NotFound(_) => ApiError::NotFound(e.to_string()),
            WorkError::Refused(e) => e.into(),
            WorkError::Store(e) => e.into(),
        }
    }
}

/// The cause of a 5xx, carried on the response to the request log.
#[derive(Clone, Debug)]
pub struct InternalCause(pub Arc<str>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            ApiError::Internal(_) => "something went wrong on our side; it has been logged".into(),
            other => other.to_string(),
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code: code.into(),
                    message,
                },
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::RangeNotSatisfiable { total } => {
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{total}")) {
                    headers.insert(header::CONTENT_RANGE, value);
                }
            }
            ApiError::Internal(cause) => {
                let cause = InternalCause(error_chain(cause.as_ref()).into());
                response.extensions_mut().insert(cause);
            }
            _ => {}
        }
        response
    }
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// bad_request, unauthorized, forbidden, not_found, method_not_allowed,
    /// conflict, payload_too_large, too_many_requests, invalid_state,
    /// range_not_satisfiable, internal.
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The errors every Twilio webhook can answer (documentation only).
#[derive(IntoResponses)]
pub enum WebhookErrors {
    #[response(status = 400, description = "Bad form or parameters")]
    BadRequest(ErrorBody),
    #[response(status = 403, description = "Missing or wrong X-Twilio-Signature")]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "Unknown tenant")]
    NotFound(ErrorBody),
    #[response(status = 413, description = "Body over 64 KiB")]
    PayloadTooLarge(ErrorBody),
}

/// The errors of reading one callback (documentation only).
#[derive(IntoResponses)]
pub enum ReadErrors {
    #[response(status = 401, description = "No or bad API key or session")]
    Unauthorized(ErrorBody),
    #[response(status = 403, description = "A password still to change")]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "No such callback for this tenant")]
    NotFound(ErrorBody),
}

/// The errors of an agent's change to a callback (documentation only).
#[derive(IntoResponses)]
pub enum ChangeErrors {
    #[response(status = 400, description = "Bad body or agent name")]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "No or bad API key or session")]
    Unauthorized(ErrorBody),
    #[response(
        status = 403,
        description = "Missing or wrong X-CSRF-Token, acting as another agent, a role too low, or a password still to change"
    )]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "No such callback for this tenant")]
    NotFound(ErrorBody),
    #[response(status = 409, description = "Another agent holds it")]
    Conflict(ErrorBody),
    #[response(status = 413, description = "Body over 64 KiB")]
    PayloadTooLarge(ErrorBody),
    #[response(
        status = 422,
        description = "Not allowed in the record's state (e.g. completed or failed)"
    )]
    InvalidState(ErrorBody),
}
