//! One error type for every route, mapped once to a status and a JSON body
//! `{"error": {"code", "message"}}`. A 5xx keeps its cause on the response
//! for the request log, which writes it once; the client sees no detail.

use crate::calls::reconcile::ReconcileError;
use crate::calls::work::WorkError;
use crate::domain::work::ChangeError;
use crate::http::limit::RetryAfter;
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
    #[error("URLs are limited to {0} bytes")]
    UriTooLong(usize),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429, with `Retry-After`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after: RetryAfter,
    },
    /// A change the record's state does not allow (422).
    #[error("{0}")]
    InvalidState(String),
    /// An Idempotency-Key sent again with another request (422).
    #[error("this Idempotency-Key was used with another request")]
    KeyReused,
    /// `total` is the resource's length, for `Content-Range: bytes */total`.
    #[error("the requested range is not satisfiable")]
    RangeNotSatisfiable { total: u64 },
    /// 503: the work did not finish in time; Twilio tries again later.
    #[error("{0}")]
    Unavailable(String),
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
            ApiError::UriTooLong(_) => (StatusCode::URI_TOO_LONG, "uri_too_long"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::InvalidState(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_state"),
            ApiError::KeyReused => (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
            ApiError::RangeNotSatisfiable { .. } => {
                (StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable")
            }
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
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

impl From<ReconcileError> for ApiError {
    fn from(e: ReconcileError) -> Self {
        match e {
            ReconcileError::Store(e) => e.into(),
            // Twilio could not say who called (logged): its retry may.
            ReconcileError::Twilio(_) => ApiError::internal(e),
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
            ApiError::TooManyRequests {
                retry_after: RetryAfter(seconds),
                ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
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
    /// conflict, payload_too_large, uri_too_long, too_many_requests,
    /// invalid_state, idempotency_key_reused, range_not_satisfiable, internal.
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// An example error body for the document.
fn example(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "code": code, "message": message } })
}

// The families below are documentation only: each lists the errors a kind
// of operation can answer, with the error body and an example.

/// The errors every Twilio webhook can answer.
#[derive(IntoResponses)]
pub enum WebhookErrors {
    #[response(status = 400, description = "Bad form or parameters",
        example = json!(example("bad_request", "missing CallSid")))]
    BadRequest(ErrorBody),
    #[response(status = 403, description = "Missing or wrong X-Twilio-Signature",
        example = json!(example("forbidden", "X-Twilio-Signature does not match this request")))]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "Unknown tenant",
        example = json!(example("not_found", "no tenant \"acme\"")))]
    NotFound(ErrorBody),
    #[response(status = 413, description = "Body over 64 KiB",
        example = json!(example("payload_too_large", "webhook bodies are limited to 65536 bytes")))]
    PayloadTooLarge(ErrorBody),
    #[response(status = 503, description = "The recording callback's work ran past the webhook's budget (8 s); the TwiML routes answer the record-only flow instead",
        example = json!(example("unavailable", "the recording could not be kept in time; try again")))]
    Unavailable(ErrorBody),
}

/// The errors of listing callbacks.
#[derive(IntoResponses)]
pub enum ListErrors {
    #[response(status = 400, description = "Bad filter, limit or cursor",
        example = json!(example("bad_request", "limit must be between 1 and 200, got 0")))]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "No or bad API key or session",
        example = json!(example("unauthorized", "the API key is not valid")))]
    Unauthorized(ErrorBody),
    #[response(status = 403, description = "A password still to change",
        example = json!(example("forbidden", "choose a new password first: POST /api/v1/me/password")))]
    Forbidden(ErrorBody),
}

/// The errors of reading one callback.
#[derive(IntoResponses)]
pub enum ReadErrors {
    #[response(status = 400, description = "Bad path parameter",
        example = json!(example("bad_request", "Invalid URL")))]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "No or bad API key or session",
        example = json!(example("unauthorized", "the API key is not valid")))]
    Unauthorized(ErrorBody),
    #[response(status = 403, description = "A password still to change",
        example = json!(example("forbidden", "choose a new password first: POST /api/v1/me/password")))]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "No such callback for this tenant",
        example = json!(example("not_found", "callback 0193c0de-0000-7000-8000-000000000000 does not exist")))]
    NotFound(ErrorBody),
}

/// The errors of erasing a callback.
#[derive(IntoResponses)]
pub enum EraseErrors {
    #[response(status = 400, description = "Bad path parameter or Idempotency-Key",
        example = json!(example("bad_request", "Invalid URL")))]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "No or bad API key or session",
        example = json!(example("unauthorized", "your session has ended: sign in again")))]
    Unauthorized(ErrorBody),
    #[response(
        status = 403,
        description = "Not a signed-in admin (an API key may not erase), a missing or wrong X-CSRF-Token, or a password still to change",
        example = json!(example("forbidden", "erasing a record needs an admin signed in"))
    )]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "No such callback for this tenant (erased already, expired, or another tenant's)",
        example = json!(example("not_found", "no callback \"0193c0de-0000-7000-8000-000000000000\"")))]
    NotFound(ErrorBody),
}

/// The errors of every admin operation (agents, API keys, settings).
#[derive(IntoResponses)]
pub enum AdminErrors {
    #[response(status = 401, description = "No or bad API key or session",
        example = json!(example("unauthorized", "your session has ended: sign in again")))]
    Unauthorized(ErrorBody),
    #[response(
        status = 403,
        description = "Not a signed-in admin (an API key may not manage agents, keys or settings), a missing or wrong X-CSRF-Token, or a password still to change",
        example = json!(example("forbidden", "managing API keys needs an admin signed in"))
    )]
    Forbidden(ErrorBody),
}

/// The errors of an admin's body: bad, or too big.
#[derive(IntoResponses)]
pub enum AdminBodyErrors {
    #[response(status = 400, description = "A bad body or value; the message starts with the field",
        example = json!(example("bad_request", "callback_sla_minutes must be between 1 and 20160, got 0")))]
    BadRequest(ErrorBody),
    #[response(status = 413, description = "Body over 64 KiB",
        example = json!(example("payload_too_large", "request bodies are limited to 65536 bytes")))]
    PayloadTooLarge(ErrorBody),
}

/// The errors of fetching a recording: those of reading, and a bad Range.
#[derive(IntoResponses)]
pub enum RecordingErrors {
    #[response(status = 400, description = "Bad path parameter",
        example = json!(example("bad_request", "Invalid URL")))]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "No or bad API key or session",
        example = json!(example("unauthorized", "the API key is not valid")))]
    Unauthorized(ErrorBody),
    #[response(status = 403, description = "A password still to change",
        example = json!(example("forbidden", "choose a new password first: POST /api/v1/me/password")))]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "No such callback, or no stored recording yet",
        example = json!(example("not_found", "this callback has no stored recording yet")))]
    NotFound(ErrorBody),
    #[response(status = 416, description = "Range not satisfiable (`Content-Range: bytes */length`)",
        headers(("Content-Range" = String, description = "`bytes */length`: the audio's length")),
        example = json!(example("range_not_satisfiable", "the requested range is not satisfiable")))]
    RangeNotSatisfiable(ErrorBody),
}

/// The errors of an agent's change to a callback.
#[derive(IntoResponses)]
pub enum ChangeErrors {
    #[response(status = 400, description = "Bad body, agent name or Idempotency-Key",
        example = json!(example("bad_request", "agent must be 1-100 characters, not only spaces, with no control characters")))]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "No or bad API key or session",
        example = json!(example("unauthorized", "the API key is not valid")))]
    Unauthorized(ErrorBody),
    #[response(
        status = 403,
        description = "Missing or wrong X-CSRF-Token, acting as another agent, a role too low, or a password still to change",
        example = json!(example("forbidden", "missing or wrong X-CSRF-Token header (GET /api/v1/me gives it)"))
    )]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "No such callback for this tenant",
        example = json!(example("not_found", "callback 0193c0de-0000-7000-8000-000000000000 does not exist")))]
    NotFound(ErrorBody),
    #[response(status = 409, description = "Another agent holds it, or a request with this Idempotency-Key is still running",
        example = json!(example("conflict", "claimed by bob")))]
    Conflict(ErrorBody),
    #[response(status = 413, description = "Body over 64 KiB",
        example = json!(example("payload_too_large", "request bodies are limited to 65536 bytes")))]
    PayloadTooLarge(ErrorBody),
    #[response(
        status = 422,
        description = "Not allowed in the record's state (e.g. completed or failed), \
or the Idempotency-Key was used with another request",
        example = json!(example("invalid_state", "cannot claim a callback that is completed"))
    )]
    Unprocessable(ErrorBody),
}
