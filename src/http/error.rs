//! One error type for every route, mapped once to a status and a JSON body
//! `{"error": {"code", "message", "field"?, "holder"?}}`. A 5xx keeps its cause on the response
//! for the request log, which writes it once; the client sees no detail.

use crate::accounts::AccountError;
use crate::calls::intake::IntakeError;
use crate::calls::outbound::{CallError, fault_of};
use crate::calls::stats::StatsError;
use crate::calls::work::WorkError;
use crate::domain::outbound::{CallRefusal, TwilioFault};
use crate::domain::settings::SettingsError;
use crate::domain::work::ChangeError;
use crate::http::limit::RetryAfter;
use crate::store::StoreError;
use crate::telemetry::error_chain;
use crate::tenants::TenantsError;
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
    /// A bad request about one input: a body's member, a query parameter,
    /// a setting (`field` in the body).
    #[error("{message}")]
    BadField { field: String, message: String },
    /// The current password given to change one's password is wrong: a
    /// 400 about `current_password`, not a 401, as the session stays.
    #[error("the current password is wrong")]
    WrongPassword,
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
    /// Another agent holds the record (`holder` in the body).
    #[error("claimed by {holder}")]
    HeldByOther { holder: String },
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
    /// A setting the operation needs is not set (422, `field` names it).
    #[error("{message}")]
    NotConfigured { field: String, message: String },
    /// Twilio refused a request afureko made for this one, or could not be
    /// reached (502, with Twilio's error body as `twilio`).
    #[error("{message}")]
    Twilio {
        message: String,
        twilio: TwilioFault,
    },
    /// An Idempotency-Key sent again with another request (422).
    #[error("this Idempotency-Key was used with another request")]
    KeyReused,
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

    /// A 400 about the input `field`.
    pub fn bad_field(field: &str, message: impl std::fmt::Display) -> Self {
        ApiError::BadField {
            field: field.to_owned(),
            message: message.to_string(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) | ApiError::BadField { .. } => {
                (StatusCode::BAD_REQUEST, "bad_request")
            }
            ApiError::WrongPassword => (StatusCode::BAD_REQUEST, "wrong_password"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::UriTooLong(_) => (StatusCode::URI_TOO_LONG, "uri_too_long"),
            ApiError::Conflict(_) | ApiError::HeldByOther { .. } => {
                (StatusCode::CONFLICT, "conflict")
            }
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::InvalidState(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_state"),
            ApiError::NotConfigured { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "not_configured"),
            ApiError::Twilio { .. } => (StatusCode::BAD_GATEWAY, "twilio_error"),
            ApiError::KeyReused => (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
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
            StoreError::AlreadyExists(_) | StoreError::Conflict | StoreError::LastAdmin(_) => {
                ApiError::Conflict(e.to_string())
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<SettingsError> for ApiError {
    fn from(e: SettingsError) -> Self {
        ApiError::bad_field(e.field(), e)
    }
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::HeldByOther { holder } => ApiError::HeldByOther { holder },
            ChangeError::NotHolder => ApiError::Forbidden(e.to_string()),
            ChangeError::InvalidState { .. } | ChangeError::TooManyCorrections => {
                ApiError::InvalidState(e.to_string())
            }
            ChangeError::NoSuchAttempt { .. } => ApiError::NotFound(e.to_string()),
            ChangeError::NotYourAttempt => ApiError::Forbidden(e.to_string()),
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
            WorkError::NotFound(_) | WorkError::NoRecording { .. } => {
                ApiError::NotFound(e.to_string())
            }
            WorkError::Refused(e) => e.into(),
            WorkError::NumberOpenElsewhere => ApiError::Conflict(e.to_string()),
            WorkError::MissingAudio(_) => ApiError::internal(e),
            WorkError::Store(e) => e.into(),
        }
    }
}

impl From<CallRefusal> for ApiError {
    fn from(e: CallRefusal) -> Self {
        match e {
            CallRefusal::Record(e) => e.into(),
            CallRefusal::NotClaimed | CallRefusal::UnderWay { .. } => {
                ApiError::Conflict(e.to_string())
            }
            CallRefusal::NoCallerId | CallRefusal::NoPhone { .. } => ApiError::NotConfigured {
                field: e.missing().unwrap_or_default().to_owned(),
                message: e.to_string(),
            },
        }
    }
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Work(e) => e.into(),
            CallError::Refused(e) => e.into(),
            CallError::Twilio(cause) => {
                let twilio = fault_of(&cause);
                ApiError::Twilio {
                    message: format!("Twilio did not place the call: {}", error_chain(&cause)),
                    twilio,
                }
            }
        }
    }
}

impl From<StatsError> for ApiError {
    fn from(e: StatsError) -> Self {
        match e {
            StatsError::Period(e) => ApiError::bad_field(e.field(), e),
            StatsError::TooManyRecords { .. } => ApiError::bad_field("to", e),
            StatsError::Store(e) => e.into(),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::NoAgent(_) | AccountError::NoKey(_) => ApiError::NotFound(e.to_string()),
            AccountError::Agent(e) => match e.field() {
                Some(field) => ApiError::bad_field(field, e),
                None => ApiError::BadRequest(e.to_string()),
            },
            AccountError::Key(e) => ApiError::bad_field(e.field(), e),
            AccountError::OwnAdmin => ApiError::BadRequest(e.to_string()),
            AccountError::Store(e) => e.into(),
        }
    }
}

impl From<TenantsError> for ApiError {
    fn from(e: TenantsError) -> Self {
        match e {
            TenantsError::NoTenant(_) => ApiError::NotFound(e.to_string()),
            TenantsError::Settings(e) => e.into(),
            TenantsError::Credentials(e) => ApiError::bad_field(e.field(), e),
            TenantsError::Store(e) => e.into(),
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
        let (field, holder) = match &self {
            ApiError::BadField { field, .. } | ApiError::NotConfigured { field, .. } => {
                (Some(field.clone()), None)
            }
            ApiError::WrongPassword => (Some("current_password".to_owned()), None),
            ApiError::HeldByOther { holder } => (None, Some(holder.clone())),
            _ => (None, None),
        };
        let twilio = match &self {
            ApiError::Twilio { twilio, .. } => Some(twilio.clone()),
            _ => None,
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code: code.into(),
                    message,
                    field,
                    holder,
                    twilio,
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

/// What went wrong. `message` is for people; a program reads `code`, and
/// `field` or `holder` where present, never the message.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// bad_request, wrong_password (400: the current password given to
    /// change one's own is wrong; the session stays), unauthorized,
    /// forbidden, not_found, method_not_allowed, conflict,
    /// payload_too_large, uri_too_long, too_many_requests, invalid_state,
    /// not_configured, idempotency_key_reused, range_not_satisfiable,
    /// twilio_error, internal.
    pub code: String,
    pub message: String,
    /// On a `bad_request` about one input: its name (a body's member, a
    /// query parameter; for settings, the member of `PATCH /api/v1/settings`);
    /// `current_password` on a `wrong_password`. On `not_configured`: the
    /// setting that is missing (`outbound_caller_id`, or the agent's
    /// `phone`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "max_recording_seconds")]
    pub field: Option<String>,
    /// On the `conflict` of a change to a record another agent holds: who
    /// holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "bob")]
    pub holder: Option<String>,
    /// On a `twilio_error`: what Twilio answered (its status, error code,
    /// message and more_info), or why it could not be reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub twilio: Option<TwilioFault>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// An example error body for the document.
fn example(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "code": code, "message": message } })
}

/// An example error body with one of its optional members.
fn example_with(code: &str, message: &str, member: &str, value: &str) -> serde_json::Value {
    let mut body = example(code, message);
    body["error"][member] = value.into();
    body
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

/// The errors of counting callbacks.
#[derive(IntoResponses)]
pub enum CountErrors {
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
    #[response(status = 400, description = "A bad body or value; `field` names the member at fault",
        example = json!(example_with("bad_request", "callback_sla_minutes must be between 1 and 20160, got 0", "field", "callback_sla_minutes")))]
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
    #[response(status = 400, description = "Bad body, agent name or Idempotency-Key; `field` names a member at fault",
        example = json!(example_with("bad_request", "agent must be 1-100 characters, not only spaces, with no control characters", "field", "agent")))]
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
    #[response(status = 409, description = "Another agent holds it (`holder` says who), or a request with this Idempotency-Key is still running",
        example = json!(example_with("conflict", "claimed by bob", "holder", "bob")))]
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

/// The errors of calling a customer back (click-to-call).
#[derive(IntoResponses)]
pub enum CallErrors {
    #[response(status = 400, description = "Bad body or Idempotency-Key, or `agent` names no active agent; `field` names the member at fault",
        example = json!(example_with("bad_request", "no active agent \"ann\": click-to-call rings an agent's own phone", "field", "agent")))]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "No or bad API key or session",
        example = json!(example("unauthorized", "the API key is not valid")))]
    Unauthorized(ErrorBody),
    #[response(
        status = 403,
        description = "Missing or wrong X-CSRF-Token, acting as another agent, or a password still to change",
        example = json!(example("forbidden", "missing or wrong X-CSRF-Token header (GET /api/v1/me gives it)"))
    )]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "No such callback for this tenant",
        example = json!(example("not_found", "no callback \"0193c0de-0000-7000-8000-000000000000\"")))]
    NotFound(ErrorBody),
    #[response(
        status = 409,
        description = "Another agent holds it (`holder` says who), nobody does (claim it first), a call back on it is under way, \
or a request with this Idempotency-Key is still running. Nothing is asked of Twilio.",
        example = json!(example_with("conflict", "claimed by bob", "holder", "bob"))
    )]
    Conflict(ErrorBody),
    #[response(status = 413, description = "Body over 64 KiB",
        example = json!(example("payload_too_large", "request bodies are limited to 65536 bytes")))]
    PayloadTooLarge(ErrorBody),
    #[response(
        status = 422,
        description = "`not_configured`: the tenant has no `outbound_caller_id`, or the agent no `phone` (`field` names which); \
`invalid_state`: the record is completed or failed; or the Idempotency-Key was used with another request",
        example = json!(example_with("not_configured", "click-to-call is off: the tenant has no outbound_caller_id (its Twilio number for calling back) yet", "field", "outbound_caller_id"))
    )]
    Unprocessable(ErrorBody),
    #[response(
        status = 502,
        description = "Twilio refused the call or could not be reached: `twilio` holds its answer (status, code, message, more_info); \
the record's `call` ended `twilio_refused` with the same",
        example = json!({"error": {"code": "twilio_error",
            "message": "Twilio did not place the call: Twilio answered 400 for the new call: error 21210: The source phone number provided, +81*****5678, is not yet verified for your account.",
            "twilio": {"status": 400, "code": 21210, "message": "The source phone number provided, +81*****5678, is not yet verified for your account.",
                "more_info": "https://www.twilio.com/docs/errors/21210"}}})
    )]
    BadGateway(ErrorBody),
}

/// The errors of the service-level figures.
#[derive(IntoResponses)]
pub enum StatsErrors {
    #[response(status = 400, description = "A bad date or period; `field` names the parameter at fault",
        example = json!(example_with("bad_request", "a period is at most 366 days, got 367", "field", "to")))]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "No or bad API key or session",
        example = json!(example("unauthorized", "the API key is not valid")))]
    Unauthorized(ErrorBody),
    #[response(status = 403, description = "An agent (the figures are for supervisors and admins), or a password still to change",
        example = json!(example("forbidden", "this needs the supervisor role")))]
    Forbidden(ErrorBody),
}

/// The errors of exporting a period's records.
#[derive(IntoResponses)]
pub enum ExportErrors {
    #[response(status = 400, description = "A bad date or period, or more records than one export holds; `field` names the parameter at fault",
        example = json!(example_with("bad_request", "the period holds 25000 records; an export holds at most 20000: choose a shorter period", "field", "to")))]
    BadRequest(ErrorBody),
    #[response(status = 401, description = "No or bad API key or session",
        example = json!(example("unauthorized", "the API key is not valid")))]
    Unauthorized(ErrorBody),
    #[response(status = 403, description = "An agent, whole numbers asked for by anyone but a signed-in admin, or a password still to change",
        example = json!(example("forbidden", "whole numbers in an export needs an admin signed in")))]
    Forbidden(ErrorBody),
}
