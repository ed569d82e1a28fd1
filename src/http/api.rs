//! The agents' JSON API under `/api/v1`: the callback list, claims,
//! attempts, completion and recordings. The tenant comes from the API key.

use crate::domain::api_key::hash_key;
use crate::domain::callback::{
    Attempt, CallbackRecord, ChangeError, Outcome, RecordingState, Status, agent_name,
};
use crate::domain::ids::CallbackId;
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::store::{ListPosition, ListQuery, RecordingAccess, StoreError, modify_callback};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The tenant whose API key came with the request.
pub struct Agent {
    pub tenant: Tenant,
}

impl FromRequestParts<AppState> for Agent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::Unauthorized("missing Authorization: Bearer <api key>".into())
        })?;
        let key = header
            .to_str()
            .ok()
            // The scheme is case-insensitive (RFC 9110).
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("Authorization must be Bearer <api key>".into())
            })?;
        let invalid = || ApiError::Unauthorized("the API key is not valid".into());
        let api_key = state
            .store
            .find_api_key(&hash_key(key))
            .await?
            .filter(|k| k.is_active())
            .ok_or_else(invalid)?;
        let tenant = state
            .store
            .get_tenant(&api_key.tenant_id)
            .await?
            .ok_or_else(invalid)?;
        tracing::Span::current().record("tenant", tenant.id.as_str());
        Ok(Agent { tenant })
    }
}

/// `Json` whose rejections are our JSON errors (400, or 413 when too big).
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge(format!(
            "request bodies are limited to {} bytes",
            crate::http::MAX_BODY_BYTES
        ));
    }
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::BadRequest("send the body as Content-Type: application/json".into())
        }
        other => ApiError::BadRequest(other.body_text()),
    }
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::HeldByOther { .. } => ApiError::Conflict(e.to_string()),
            ChangeError::InvalidState { .. } => ApiError::InvalidState(e.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    /// RFC 3339, UTC.
    pub at: String,
    pub agent: String,
    #[schema(value_type = String, example = "no_answer")]
    pub outcome: Outcome,
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RecordingView {
    pub recording_sid: String,
    /// pending_copy, stored, absent or copy_failed.
    #[schema(value_type = String, example = "stored")]
    pub state: RecordingState,
    pub duration_seconds: Option<u32>,
}

/// A callback record as agents see it.
#[derive(Serialize, ToSchema)]
pub struct CallbackView {
    pub id: String,
    pub call_sid: String,
    pub caller_number: Option<String>,
    pub callback_number: String,
    /// caller_id, entered or unconfirmed.
    pub confirmation: String,
    pub received_at: String,
    /// busy, no-answer, queue-timeout, queue-opt-out, after-hours or overflow.
    pub reason: String,
    /// pending, claimed, completed or failed.
    pub status: String,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<String>,
    pub due_at: String,
    pub attempts: Vec<AttemptView>,
    pub recordings: Vec<RecordingView>,
    /// Path of the audio, once a recording is stored.
    pub recording_url: Option<String>,
    pub completed_by: Option<String>,
    pub completion_note: Option<String>,
    pub version: u64,
    pub updated_at: String,
}

impl From<&CallbackRecord> for CallbackView {
    fn from(r: &CallbackRecord) -> Self {
        CallbackView {
            id: r.id.to_string(),
            call_sid: r.call_sid.to_string(),
            caller_number: r.caller_number.as_ref().map(|n| n.to_string()),
            callback_number: r.callback_number.to_string(),
            confirmation: r.confirmation.as_str().to_owned(),
            received_at: r.received_at.to_string(),
            reason: r.reason.to_string(),
            status: r.status.to_string(),
            claimed_by: r.claimed_by.clone(),
            claimed_at: r.claimed_at.map(|t| t.to_string()),
            due_at: r.due_at.to_string(),
            attempts: r
                .attempts
                .iter()
                .map(|a| AttemptView {
                    at: a.at.to_string(),
                    agent: a.agent.clone(),
                    outcome: a.outcome,
                    note: a.note.clone(),
                })
                .collect(),
            recordings: r
                .recordings
                .iter()
                .map(|rec| RecordingView {
                    recording_sid: rec.sid.to_string(),
                    state: rec.state,
                    duration_seconds: rec.duration_seconds,
                })
                .collect(),
            recording_url: latest_stored(r)
                .map(|_| format!("/api/v1/callbacks/{}/recording", r.id)),
            completed_by: r.completed_by.clone(),
            completion_note: r.completion_note.clone(),
            version: r.version,
            updated_at: r.updated_at.to_string(),
        }
    }
}

fn latest_stored(r: &CallbackRecord) -> Option<&str> {
    r.recordings
        .iter()
        .rev()
        .find(|rec| rec.state == RecordingState::Stored)
        .and_then(|rec| rec.storage_key.as_deref())
}

#[derive(Serialize, ToSchema)]
pub struct CallbackPage {
    pub items: Vec<CallbackView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// pending, claimed, completed or failed; all when absent.
    pub status: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

fn parse_status(s: &str) -> Result<Status, ApiError> {
    s.parse().map_err(ApiError::BadRequest)
}

/// The cursor is the last item's position plus the filter it was made for,
/// so it stays right while records change, and cannot be reused with
/// another filter.
#[derive(Serialize, Deserialize)]
struct Cursor {
    s: Option<String>,
    d: i64,
    i: String,
}

fn encode_cursor(status: Option<Status>, after: &ListPosition) -> String {
    let cursor = Cursor {
        s: status.map(|s| s.as_str().to_owned()),
        d: after.due_at_ms,
        i: after.id.clone(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

fn decode_cursor(text: &str, status: Option<Status>) -> Result<ListPosition, ApiError> {
    let bad = || ApiError::BadRequest("cursor is not one this API gave out".into());
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if cursor.s.as_deref() != status.map(|s| s.as_str()) {
        return Err(ApiError::BadRequest(
            "cursor belongs to a list with another status filter".into(),
        ));
    }
    Ok(ListPosition {
        due_at_ms: cursor.d,
        id: cursor.i,
    })
}

#[utoipa::path(
    get, path = "/api/v1/callbacks", tag = "callbacks",
    params(ListParams),
    responses(
        (status = 200, description = "The callback list, oldest due first", body = CallbackPage),
        (status = 400, description = "Bad filter, limit or cursor", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_callbacks(
    State(state): State<AppState>,
    agent: Agent,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CallbackPage>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let status = params.status.as_deref().map(parse_status).transpose()?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    let after = params
        .cursor
        .as_deref()
        .map(|c| decode_cursor(c, status))
        .transpose()?;
    let page = state
        .store
        .list_callbacks(
            &agent.tenant.id,
            &ListQuery {
                status,
                limit: limit as usize,
                after,
            },
        )
        .await?;
    Ok(Json(CallbackPage {
        items: page.items.iter().map(CallbackView::from).collect(),
        next_cursor: page.next.map(|p| encode_cursor(status, &p)),
    }))
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no callback {id:?}"))
}

async fn load(state: &AppState, agent: &Agent, id: &str) -> Result<CallbackRecord, ApiError> {
    let callback_id = CallbackId::parse(id).ok_or_else(|| not_found(id))?;
    state
        .store
        .get_callback(&agent.tenant.id, &callback_id)
        .await?
        .ok_or_else(|| not_found(id))
}

#[utoipa::path(
    get, path = "/api/v1/callbacks/{id}", tag = "callbacks",
    params(("id" = String, Path, description = "Callback id")),
    responses(
        (status = 200, description = "The record with its attempts", body = CallbackView),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such callback for this tenant", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get_callback(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<Json<CallbackView>, ApiError> {
    let record = load(&state, &agent, &id).await?;
    Ok(Json(CallbackView::from(&record)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentBody {
    /// Who is acting (a name or login; 1–100 characters).
    pub agent: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttemptBody {
    pub agent: String,
    /// reached, no_answer, busy, voicemail or wrong_number.
    #[schema(value_type = String, example = "no_answer")]
    pub outcome: Outcome,
    pub note: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    pub agent: String,
    pub note: Option<String>,
}

const MAX_NOTE_CHARS: usize = 2000;

fn agent_of(name: &str) -> Result<String, ApiError> {
    agent_name(name).ok_or_else(|| {
        ApiError::BadRequest("agent must be 1-100 characters with no control characters".into())
    })
}

fn note_of(note: Option<String>) -> Result<Option<String>, ApiError> {
    match note {
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => Err(ApiError::BadRequest(format!(
            "note must be at most {MAX_NOTE_CHARS} characters"
        ))),
        Some(n) if n.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// Applies an agent's change with optimistic concurrency: the domain decides
/// on the latest version, and the store writes only if nobody wrote since.
async fn change(
    state: &AppState,
    agent: &Agent,
    id: &str,
    mut apply: impl FnMut(&mut CallbackRecord) -> Result<(), ChangeError> + Send,
) -> Result<Json<CallbackView>, ApiError> {
    let callback_id = CallbackId::parse(id).ok_or_else(|| not_found(id))?;
    let mut refused = None;
    let updated =
        modify_callback(
            state.store.as_ref(),
            &agent.tenant.id,
            &callback_id,
            |r| match apply(r) {
                Ok(()) => true,
                Err(e) => {
                    refused = Some(e);
                    false
                }
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => not_found(id),
            other => other.into(),
        })?;
    match refused {
        Some(e) => Err(e.into()),
        None => Ok(Json(CallbackView::from(&updated))),
    }
}

#[utoipa::path(
    post, path = "/api/v1/callbacks/{id}/claim", tag = "callbacks",
    params(("id" = String, Path, description = "Callback id")),
    request_body = AgentBody,
    responses(
        (status = 200, description = "Claimed by this agent", body = CallbackView),
        (status = 400, description = "Bad body", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such callback", body = ErrorBody),
        (status = 409, description = "Another agent holds it", body = ErrorBody),
        (status = 422, description = "Completed or failed", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn claim(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AgentBody>,
) -> Result<Json<CallbackView>, ApiError> {
    let name = agent_of(&body.agent)?;
    let now = state.clock.now();
    let rules = agent.tenant.settings.work_rules();
    change(&state, &agent, &id, |r| r.claim(&name, now, &rules)).await
}

#[utoipa::path(
    post, path = "/api/v1/callbacks/{id}/release", tag = "callbacks",
    params(("id" = String, Path, description = "Callback id")),
    request_body = AgentBody,
    responses(
        (status = 200, description = "Back to pending", body = CallbackView),
        (status = 400, description = "Bad body", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such callback", body = ErrorBody),
        (status = 409, description = "Another agent holds it", body = ErrorBody),
        (status = 422, description = "Not claimed", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn release(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AgentBody>,
) -> Result<Json<CallbackView>, ApiError> {
    let name = agent_of(&body.agent)?;
    let now = state.clock.now();
    let rules = agent.tenant.settings.work_rules();
    change(&state, &agent, &id, |r| r.release(&name, now, &rules)).await
}

#[utoipa::path(
    post, path = "/api/v1/callbacks/{id}/attempts", tag = "callbacks",
    params(("id" = String, Path, description = "Callback id")),
    request_body = AttemptBody,
    responses(
        (status = 200, description = "Attempt logged; the record's new state", body = CallbackView),
        (status = 400, description = "Bad body", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such callback", body = ErrorBody),
        (status = 409, description = "Another agent holds it", body = ErrorBody),
        (status = 422, description = "Completed or failed", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn log_attempt(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AttemptBody>,
) -> Result<Json<CallbackView>, ApiError> {
    let name = agent_of(&body.agent)?;
    let note = note_of(body.note)?;
    let now = state.clock.now();
    let rules = agent.tenant.settings.work_rules();
    change(&state, &agent, &id, |r| {
        r.log_attempt(
            Attempt {
                at: now,
                agent: name.clone(),
                outcome: body.outcome,
                note: note.clone(),
            },
            &rules,
        )
    })
    .await
}

#[utoipa::path(
    post, path = "/api/v1/callbacks/{id}/complete", tag = "callbacks",
    params(("id" = String, Path, description = "Callback id")),
    request_body = CompleteBody,
    responses(
        (status = 200, description = "Completed", body = CallbackView),
        (status = 400, description = "Bad body", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such callback", body = ErrorBody),
        (status = 409, description = "Another agent holds it", body = ErrorBody),
        (status = 422, description = "Already completed or failed", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn complete(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CompleteBody>,
) -> Result<Json<CallbackView>, ApiError> {
    let name = agent_of(&body.agent)?;
    let note = note_of(body.note)?;
    let now = state.clock.now();
    let rules = agent.tenant.settings.work_rules();
    change(&state, &agent, &id, |r| {
        r.complete(&name, note.clone(), now, &rules)
    })
    .await
}

#[utoipa::path(
    get, path = "/api/v1/callbacks/{id}/recording", tag = "callbacks",
    params(("id" = String, Path, description = "Callback id")),
    responses(
        (status = 200, description = "The audio (audio/wav), from the embedded store", content_type = "audio/wav"),
        (status = 302, description = "A presigned S3 link, valid for 5 minutes"),
        (status = 206, description = "Part of the audio (Range request)", content_type = "audio/wav"),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 404, description = "No such callback, or no stored recording yet", body = ErrorBody),
        (status = 416, description = "Range not satisfiable", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn recording(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = load(&state, &agent, &id).await?;
    let key = latest_stored(&record)
        .ok_or_else(|| ApiError::NotFound("this callback has no stored recording yet".into()))?;
    let audio = match state.audio.access(key).await? {
        Some(RecordingAccess::Bytes(audio)) => audio,
        Some(RecordingAccess::Redirect(url)) => {
            return Ok((
                StatusCode::FOUND,
                [
                    (header::LOCATION, url),
                    (header::CACHE_CONTROL, "private, no-store".to_owned()),
                ],
            )
                .into_response());
        }
        None => {
            return Err(ApiError::Internal(format!(
                "recording {key} is missing from the store"
            )));
        }
    };
    let total = audio.len();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, total))
        .transpose()?;
    let (status, body, content_range) = match range {
        None => (StatusCode::OK, audio, None),
        Some((start, end)) => (
            StatusCode::PARTIAL_CONTENT,
            audio[start..=end].to_vec(),
            Some(format!("bytes {start}-{end}/{total}")),
        ),
    };
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "audio/wav".to_owned()),
            (header::ACCEPT_RANGES, "bytes".to_owned()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response();
    if let Some(value) = content_range.and_then(|v| v.parse().ok()) {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    Ok(response)
}

/// One `bytes=` range, inclusive; several ranges are not supported.
fn parse_range(value: &str, total: usize) -> Result<(usize, usize), ApiError> {
    let unsatisfiable = || ApiError::RangeNotSatisfiable(format!("bytes */{total}"));
    let spec = value
        .trim()
        .strip_prefix("bytes=")
        .filter(|s| !s.contains(','))
        .ok_or_else(unsatisfiable)?;
    let (start, end) = spec.split_once('-').ok_or_else(unsatisfiable)?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: usize = suffix.parse().map_err(|_| unsatisfiable())?;
            if n == 0 || total == 0 {
                return Err(unsatisfiable());
            }
            (total.saturating_sub(n), total - 1)
        }
        (start, "") => (
            start.parse().map_err(|_| unsatisfiable())?,
            total.saturating_sub(1),
        ),
        (start, end) => {
            let start: usize = start.parse().map_err(|_| unsatisfiable())?;
            let end: usize = end.parse().map_err(|_| unsatisfiable())?;
            (start, end.min(total.saturating_sub(1)))
        }
    };
    if total == 0 || start > end || start >= total {
        return Err(unsatisfiable());
    }
    Ok((start, end))
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// bad_request, unauthorized, forbidden, not_found, conflict,
    /// payload_too_large, invalid_state, range_not_satisfiable, internal.
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up", body = String, example = "ok"))
)]
pub async fn healthz() -> &'static str {
    "ok"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), (0, 9));
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), (90, 99));
        assert_eq!(parse_range("bytes=-10", 100).unwrap(), (90, 99));
        assert_eq!(parse_range("bytes=50-500", 100).unwrap(), (50, 99));
        for bad in [
            "bytes=100-",
            "bytes=5-1",
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=-0",
            "bytes=x-",
        ] {
            assert!(parse_range(bad, 100).is_err(), "{bad}");
        }
        assert!(parse_range("bytes=0-", 0).is_err());
    }

    #[test]
    fn cursors_are_bound_to_their_filter() {
        let position = ListPosition {
            due_at_ms: 42,
            id: "x".into(),
        };
        let cursor = encode_cursor(Some(Status::Pending), &position);
        assert_eq!(
            decode_cursor(&cursor, Some(Status::Pending)).unwrap(),
            position
        );
        assert!(decode_cursor(&cursor, None).is_err());
        assert!(decode_cursor("garbage!", None).is_err());
    }
}
