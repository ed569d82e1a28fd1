//! The agents' API handlers: parse, hand to `calls::work`, answer JSON.

use crate::calls::work;
use crate::domain::callback::{Attempt, CallbackRecord, Outcome};
use crate::domain::tenant::RecordingFormat;
use crate::domain::work::ChangeError;
use crate::http::AppState;
use crate::http::api::auth::Agent;
use crate::http::api::rules::{self, note_of};
use crate::http::api::views::CallbackView;
use crate::http::error::{ApiError, ChangeErrors, ReadErrors, RecordingErrors};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::range::{RangeRequest, parse_range};
use crate::store::RecordingAccess;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// A callback's id in the path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CallbackPath {
    /// Callback id
    pub id: String,
}

#[utoipa::path(
    get, path = "/api/v1/callbacks/{id}", tag = "callbacks",
    params(CallbackPath),
    responses(
        (status = 200, description = "The record with its attempts", body = CallbackView),
        ReadErrors,
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn get_callback(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<CallbackPath>,
) -> Result<Json<CallbackView>, ApiError> {
    let record = work::load(state.deps(), &agent.tenant.id, &path.id).await?;
    Ok(Json(CallbackView::for_caller(
        &record,
        agent.login(),
        agent.region(),
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentBody {
    /// Who is acting (1–100 characters): required with an API key; with a
    /// session it is the signed-in agent, and naming another is 403.
    #[schema(schema_with = rules::agent_schema)]
    pub agent: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttemptBody {
    #[schema(schema_with = rules::agent_schema)]
    pub agent: Option<String>,
    pub outcome: Outcome,
    #[schema(schema_with = rules::note_schema)]
    pub note: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    #[schema(schema_with = rules::agent_schema)]
    pub agent: Option<String>,
    #[schema(schema_with = rules::note_schema)]
    pub note: Option<String>,
}

/// Applies an agent's change and answers the record's new state.
pub(super) async fn respond(
    state: &AppState,
    agent: &Agent,
    id: &str,
    apply: impl FnMut(&mut CallbackRecord) -> Result<(), ChangeError> + Send,
) -> Result<Json<CallbackView>, ApiError> {
    let record = work::change(state.deps(), &agent.tenant.id, id, apply).await?;
    Ok(Json(CallbackView::for_caller(
        &record,
        agent.login(),
        agent.region(),
    )))
}

#[utoipa::path(
    post, path = "/api/v1/callbacks/{id}/claim", tag = "callbacks",
    params(CallbackPath),
    request_body = AgentBody,
    responses((status = 200, description = "Claimed by this agent", body = CallbackView), ChangeErrors),
    security(("api_key" = []), ("session" = []))
)]
pub async fn claim(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<CallbackPath>,
    ApiJson(body): ApiJson<AgentBody>,
) -> Result<Json<CallbackView>, ApiError> {
    let name = agent.acting(body.agent.as_deref())?;
    let (now, rules) = (state.clock.now(), agent.tenant.settings.work_rules());
    respond(&state, &agent, &path.id, |r| r.claim(&name, now, &rules)).await
}

#[utoipa::path(
    post, path = "/api/v1/callbacks/{id}/release", tag = "callbacks",
    params(CallbackPath),
    request_body = AgentBody,
    responses((status = 200, description = "Back to pending", body = CallbackView), ChangeErrors),
    security(("api_key" = []), ("session" = []))
)]
pub async fn release(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<CallbackPath>,
    ApiJson(body): ApiJson<AgentBody>,
) -> Result<Json<CallbackView>, ApiError> {
    let name = agent.acting(body.agent.as_deref())?;
    let (now, rules) = (state.clock.now(), agent.tenant.settings.work_rules());
    respond(&state, &agent, &path.id, |r| r.release(&name, now, &rules)).await
}

#[utoipa::path(
    post, path = "/api/v1/callbacks/{id}/attempts", tag = "callbacks",
    params(CallbackPath),
    request_body = AttemptBody,
    responses((status = 200, description = "Attempt logged; the record's new state", body = CallbackView), ChangeErrors),
    security(("api_key" = []), ("session" = []))
)]
pub async fn log_attempt(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<CallbackPath>,
    ApiJson(body): ApiJson<AttemptBody>,
) -> Result<Json<CallbackView>, ApiError> {
    let attempt = Attempt::logged(
        state.clock.now(),
        agent.acting(body.agent.as_deref())?,
        body.outcome,
        note_of(body.note)?,
    );
    let rules = agent.tenant.settings.work_rules();
    respond(&state, &agent, &path.id, |r| {
        r.log_attempt(attempt.clone(), &rules)
    })
    .await
}

#[utoipa::path(
    post, path = "/api/v1/callbacks/{id}/complete", tag = "callbacks",
    params(CallbackPath),
    request_body = CompleteBody,
    responses((status = 200, description = "Completed", body = CallbackView), ChangeErrors),
    security(("api_key" = []), ("session" = []))
)]
pub async fn complete(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<CallbackPath>,
    ApiJson(body): ApiJson<CompleteBody>,
) -> Result<Json<CallbackView>, ApiError> {
    let name = agent.acting(body.agent.as_deref())?;
    let note = note_of(body.note)?;
    let (now, rules) = (state.clock.now(), agent.tenant.settings.work_rules());
    respond(&state, &agent, &path.id, |r| {
        r.complete(&name, note.clone(), now, &rules)
    })
    .await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecordingParams {
    /// Which recording (a RecordingSid of the record); the newest stored one when absent.
    pub sid: Option<String>,
}

#[utoipa::path(
    get, path = "/api/v1/callbacks/{id}/recording", tag = "callbacks",
    params(
        CallbackPath, RecordingParams,
        ("Range" = Option<String>, Header, description = "One `bytes=` range (`bytes=0-1023`, `bytes=1024-`, `bytes=-512`) for a 206; \
a malformed one, another unit or several ranges are ignored (200 with the whole file)"),
    ),
    responses(
        (status = 200, description = "The audio, from the embedded store: audio/wav, or audio/mpeg for a tenant that stores MP3",
            content(([u8] = "audio/wav"), ([u8] = "audio/mpeg"))),
        (status = 206, description = "Part of the audio (Range request)",
            content(([u8] = "audio/wav"), ([u8] = "audio/mpeg")),
            headers(("Content-Range" = String, description = "`bytes start-end/length`"))),
        (status = 302, description = "A presigned S3 link, valid for 5 minutes",
            headers(("Location" = String, description = "The presigned URL of the audio"))),
        RecordingErrors,
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn recording(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<CallbackPath>,
    ApiQuery(params): ApiQuery<RecordingParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (key, access) = work::recording(
        state.deps(),
        &agent.tenant.id,
        &path.id,
        params.sid.as_deref(),
    )
    .await?;
    let (path, total) = match access {
        RecordingAccess::File { path, length } => (path, length),
        RecordingAccess::Redirect(url) => {
            return Ok((StatusCode::FOUND, [(header::LOCATION, url)]).into_response());
        }
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, length, content_range) = match parse_range(range, total) {
        RangeRequest::Whole => (StatusCode::OK, 0, total, None),
        RangeRequest::Unsatisfiable => return Err(ApiError::RangeNotSatisfiable { total }),
        RangeRequest::Part { start, end } => (
            StatusCode::PARTIAL_CONTENT,
            start,
            end - start + 1,
            Some(format!("bytes {start}-{end}/{total}")),
        ),
    };
    let body = file_body(&path, start, length)
        .await
        .map_err(|e| ApiError::internal(AudioUnreadable(key.clone(), e)))?;
    let mut response = (
        status,
        [
            (
                header::CONTENT_TYPE,
                RecordingFormat::of_key(&key).content_type().to_owned(),
            ),
            (header::ACCEPT_RANGES, "bytes".to_owned()),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        body,
    )
        .into_response();
    if let Some(value) = content_range.and_then(|v| v.parse().ok()) {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    Ok(response)
}

/// `length` bytes of the file from `start`, streamed as it is read.
async fn file_body(path: &std::path::Path, start: u64, length: u64) -> std::io::Result<Body> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let stream = tokio_util::io::ReaderStream::new(file.take(length));
    Ok(Body::from_stream(stream))
}

#[derive(Debug, thiserror::Error)]
#[error("recording {0} cannot be read")]
struct AudioUnreadable(String, #[source] std::io::Error);
