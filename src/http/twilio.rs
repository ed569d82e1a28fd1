//! Twilio webhooks: verify, parse, hand to the domain, carry out its effect.

use crate::domain::callback::{CallbackRecord, Confirmation, NewCallback};

use crate::domain::call_routing;
use crate::domain::call_routing::{Incoming, RoutingLinks, Wait, route_incoming};
use crate::domain::ids::TenantId;
use crate::domain::ids::{CallSid, RecordingSid};
use crate::domain::ivr::{self, Effect, Ivr, IvrContext, Links, Step};
use crate::domain::phone::{CallerId, E164};
use crate::domain::reason::Reason;
use crate::domain::tenant::Tenant;
use crate::domain::twiml::Twiml;
use crate::http::AppState;
use crate::http::api::ErrorBody;
use crate::http::error::ApiError;
use crate::store::{Inserted, modify_callback};
use crate::twilio::signature::{self, Algorithm};
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;

impl IntoResponse for Twiml {
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            self.render(),
        )
            .into_response()
    }
}

/// A webhook whose signature checked out, with its tenant and parameters.
pub struct TwilioWebhook {
    pub tenant: Tenant,
    params: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct TenantPath {
    tenant: String,
}

impl FromRequest<AppState> for TwilioWebhook {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let Path(TenantPath { tenant }) = <Path<TenantPath> as axum::extract::FromRequestParts<
            AppState,
        >>::from_request_parts(&mut parts, state)
        .await
        .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_else(|| parts.uri.path().to_owned());
        let headers = parts.headers.clone();
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(format!(
                        "webhook bodies are limited to {} bytes",
                        crate::http::MAX_BODY_BYTES
                    ))
                } else {
                    ApiError::BadRequest(rejection.body_text())
                }
            })?;

        let tenant_id = TenantId::parse(&tenant)
            .map_err(|_| ApiError::NotFound(format!("no tenant {tenant:?}")))?;
        tracing::Span::current().record("tenant", tenant_id.as_str());
        let tenant = state
            .store
            .get_tenant(&tenant_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no tenant {tenant:?}")))?;

        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';').next().is_some_and(|m| {
                    m.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
        if !is_form {
            return Err(ApiError::BadRequest(
                "Twilio webhooks must be application/x-www-form-urlencoded".into(),
            ));
        }
        if std::str::from_utf8(&body).is_err() {
            return Err(ApiError::BadRequest("the form body is not UTF-8".into()));
        }
        let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();

        let signature_value = headers
            .get(signature::SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::Forbidden("missing X-Twilio-Signature".into()))?;
        let url = state.public_url.join(&path_and_query);
        let (secret, algorithm) = match headers.get(signature::SETTINGS_HEADER) {
            None => (Some(&tenant.twilio.auth_token), Algorithm::Sha1),
            Some(settings) => {
                let algorithm = settings
                    .to_str()
                    .ok()
                    .and_then(Algorithm::from_settings_header)
                    .ok_or_else(|| ApiError::Forbidden("unsupported signature algorithm".into()))?;
                (tenant.twilio.webhook_shared_key.as_ref(), algorithm)
            }
        };
        let valid = secret.is_some_and(|secret| {
            signature::verify(secret.expose(), &url, &params, signature_value, algorithm)
        });
        if !valid {
            tracing::warn!(tenant = %tenant.id, "webhook signature did not verify");
            return Err(ApiError::Forbidden(
                "X-Twilio-Signature does not match this request".into(),
            ));
        }
        Ok(TwilioWebhook { tenant, params })
    }
}

impl TwilioWebhook {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.param(name)
            .ok_or_else(|| ApiError::BadRequest(format!("missing {name}")))
    }

    fn call_sid(&self) -> Result<CallSid, ApiError> {
        let sid = CallSid::parse(self.required("CallSid")?)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        tracing::Span::current().record("call_sid", sid.as_str());
        Ok(sid)
    }

    fn caller(&self) -> Result<CallerId, ApiError> {
        let from = self.required("From")?;
        Ok(CallerId::from_twilio(
            from,
            self.tenant.settings.default_region,
        ))
    }

    fn digits(&self) -> &str {
        self.param("Digits").unwrap_or_default()
    }
}

/// The IVR's action URLs, absolute under the public URL.
struct TwilioLinks {
    base: String,
}

impl TwilioLinks {
    fn new(state: &AppState, tenant: &TenantId) -> Self {
        TwilioLinks {
            base: state.public_url.join(&format!("/twilio/{tenant}")),
        }
    }

    fn step(&self, step: &str, ctx: &IvrContext, attempt: u32) -> String {
        format!(
            "{}/ivr/{step}/{}/{}/{attempt}",
            self.base,
            ctx.reason,
            ctx.arrived.as_second()
        )
    }
}

impl Links for TwilioLinks {
    fn offer(&self, ctx: &IvrContext, attempt: u32) -> String {
        self.step("offer", ctx, attempt)
    }
    fn enter(&self, ctx: &IvrContext, attempt: u32) -> String {
        self.step("enter", ctx, attempt)
    }
    fn confirm(&self, ctx: &IvrContext, attempt: u32, typed: &str) -> String {
        format!("{}/{typed}", self.step("confirm", ctx, attempt))
    }
    fn recorded(&self) -> String {
        format!("{}/ivr/recorded", self.base)
    }
    fn recording_status(&self) -> String {
        format!("{}/recording", self.base)
    }
}

impl RoutingLinks for TwilioLinks {
    fn dial_result(&self, arrived: Timestamp) -> String {
        format!("{}/dial-result/{}", self.base, arrived.as_second())
    }
    fn queue_wait(&self, arrived: Timestamp) -> String {
        format!("{}/queue/wait/{}", self.base, arrived.as_second())
    }
    fn queue_offer(&self, arrived: Timestamp) -> String {
        format!("{}/queue/offer/{}", self.base, arrived.as_second())
    }
    fn queue_result(&self, arrived: Timestamp) -> String {
        format!("{}/queue/result/{}", self.base, arrived.as_second())
    }
}

/// A routing step: when the call first arrived.
#[derive(Deserialize)]
pub struct ArrivedPath {
    #[serde(rename = "tenant")]
    _tenant: String,
    arrived: i64,
}

fn arrival(arrived: i64) -> Result<Timestamp, ApiError> {
    Timestamp::from_second(arrived)
        .map_err(|_| ApiError::BadRequest("arrival time out of range".into()))
}

/// The IVR step named in an action URL.
#[derive(Deserialize)]
pub struct StepPath {
    #[serde(rename = "tenant")]
    _tenant: String,
    reason: String,
    arrived: i64,
    attempt: u32,
}

#[derive(Deserialize)]
pub struct ConfirmPath {
    #[serde(rename = "tenant")]
    _tenant: String,
    reason: String,
    arrived: i64,
    attempt: u32,
    typed: String,
}

fn context(reason: &str, arrived: i64) -> Result<IvrContext, ApiError> {
    let reason: Reason = reason.parse().map_err(ApiError::BadRequest)?;
    Ok(IvrContext {
        reason,
        arrived: arrival(arrived)?,
    })
}

/// Starts the callback IVR. A known caller's record is kept first (or the
/// call joins the caller's open record), so a hang-up loses nothing.
async fn ivr_start(
    state: &AppState,
    hook: &TwilioWebhook,
    ctx: IvrContext,
) -> Result<Twiml, ApiError> {
    let call_sid = hook.call_sid()?;
    let links = TwilioLinks::new(state, &hook.tenant.id);
    let ivr = Ivr::new(&hook.tenant.settings, &links, hook.caller()?, ctx);
    let repeat = match ivr.opens_on_caller_id() {
        Some(number) => open_for_caller(state, &hook.tenant, &call_sid, number, ctx).await?,
        None => false,
    };
    Ok(ivr.start(repeat))
}

/// Runs one IVR step: carries out its effect, then answers its TwiML.
async fn ivr_step(
    state: &AppState,
    hook: &TwilioWebhook,
    ctx: IvrContext,
    decide: impl FnOnce(&Ivr<'_>) -> Step,
) -> Result<Twiml, ApiError> {
    let call_sid = hook.call_sid()?;
    let caller = hook.caller()?;
    let links = TwilioLinks::new(state, &hook.tenant.id);
    let step = decide(&Ivr::new(
        &hook.tenant.settings,
        &links,
        caller.clone(),
        ctx,
    ));
    if let Effect::Confirm { number, how } = step.effect {
        settle_number(state, &hook.tenant, &call_sid, &caller, number, how, ctx).await?;
    }
    Ok(step.twiml)
}

/// Keeps a record on the caller ID for this call; returns whether the call
/// joined an earlier open record of the same number (a repeat caller).
async fn open_for_caller(
    state: &AppState,
    tenant: &Tenant,
    call_sid: &CallSid,
    number: &E164,
    ctx: IvrContext,
) -> Result<bool, ApiError> {
    let store = state.store.as_ref();
    if let Some(existing) = store
        .find_callback_by_call_sid(&tenant.id, call_sid)
        .await?
    {
        // A retried webhook, or a later step of this call.
        return Ok(&existing.call_sid != call_sid);
    }
    if let Some(open) = store
        .find_open_callback_by_number(&tenant.id, number)
        .await?
    {
        attach(state, tenant, &open, call_sid).await?;
        return Ok(true);
    }
    let new = NewCallback {
        call_sid: call_sid.clone(),
        caller_number: Some(number.clone()),
        callback_number: number.clone(),
        confirmation: Confirmation::Unconfirmed,
        reason: ctx.reason,
        received_at: ctx.arrived,
        due_from: tenant.settings.due_from(ctx.reason, ctx.arrived),
    };
    let record = insert(state, tenant, new).await?.into_record();
    Ok(&record.call_sid != call_sid)
}

/// The caller confirmed the number to call back.
async fn settle_number(
    state: &AppState,
    tenant: &Tenant,
    call_sid: &CallSid,
    caller: &CallerId,
    number: E164,
    how: Confirmation,
    ctx: IvrContext,
) -> Result<(), ApiError> {
    let store = state.store.as_ref();
    let existing = match store
        .find_callback_by_call_sid(&tenant.id, call_sid)
        .await?
    {
        Some(record) => Some(record),
        None => match store
            .find_open_callback_by_number(&tenant.id, &number)
            .await?
        {
            Some(open) => {
                attach(state, tenant, &open, call_sid).await?;
                return Ok(());
            }
            None => {
                let new = NewCallback {
                    call_sid: call_sid.clone(),
                    caller_number: caller.number().cloned(),
                    callback_number: number.clone(),
                    confirmation: how,
                    reason: ctx.reason,
                    received_at: ctx.arrived,
                    due_from: tenant.settings.due_from(ctx.reason, ctx.arrived),
                };
                match insert(state, tenant, new).await? {
                    Inserted::Created(_) => None,
                    Inserted::Existing(record) => Some(record),
                }
            }
        },
    };
    // This call's own record (not one it joined) takes the confirmed number.
    if let Some(record) = existing.filter(|r| &r.call_sid == call_sid) {
        let now = state.clock.now();
        modify_callback(store, &tenant.id, &record.id, |r| {
            let changed = r.confirm_number(number.clone(), how);
            if changed {
                r.updated_at = now;
            }
            changed
        })
        .await?;
    }
    Ok(())
}

async fn attach(
    state: &AppState,
    tenant: &Tenant,
    open: &CallbackRecord,
    call_sid: &CallSid,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let record = modify_callback(state.store.as_ref(), &tenant.id, &open.id, |r| {
        r.attach_call(call_sid.clone(), now)
    })
    .await?;
    tracing::info!(
        callback_id = %record.id,
        repeat_calls = record.repeat_calls.len(),
        "repeat caller joined an open callback"
    );
    Ok(())
}

async fn insert(state: &AppState, tenant: &Tenant, new: NewCallback) -> Result<Inserted, ApiError> {
    let record = CallbackRecord::new(
        tenant.id.clone(),
        new,
        tenant.settings.callback_sla_minutes,
        state.clock.now(),
    );
    let inserted = state.store.insert_callback(&record).await?;
    if let Inserted::Created(r) = &inserted {
        tracing::info!(
            callback_id = %r.id,
            callback_number = %r.callback_number.masked(),
            reason = %r.reason,
            "callback record created"
        );
    }
    Ok(inserted)
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/voice", tag = "twilio",
    description = "Incoming call: greeting and the callback IVR.",
    params(("tenant" = String, Path, description = "Tenant id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters"),
    responses(
        (status = 200, description = "TwiML", content_type = "text/xml"),
        (status = 400, description = "Bad form or parameters", body = ErrorBody),
        (status = 403, description = "Missing or wrong X-Twilio-Signature", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
    )
)]
pub async fn voice(
    axum::extract::State(state): axum::extract::State<AppState>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let now = state.clock.now();
    let links = TwilioLinks::new(&state, &hook.tenant.id);
    match route_incoming(&hook.tenant.settings, now, &links) {
        Incoming::Ivr(reason) => {
            let ctx = IvrContext {
                reason,
                arrived: now,
            };
            ivr_start(&state, &hook, ctx).await
        }
        Incoming::Connect(twiml) => {
            hook.call_sid()?;
            Ok(twiml)
        }
    }
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/ivr/offer/{reason}/{arrived}/{attempt}", tag = "twilio",
    description = "Digits pressed at the caller-ID offer.",
    params(("tenant" = String, Path, description = "Tenant id"), ("reason" = String, Path, description = "Why the caller is here, e.g. overflow"), ("arrived" = String, Path, description = "Unix seconds when the call arrived"), ("attempt" = String, Path, description = "How many times this question was asked")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters"),
    responses(
        (status = 200, description = "TwiML", content_type = "text/xml"),
        (status = 400, description = "Bad form or parameters", body = ErrorBody),
        (status = 403, description = "Missing or wrong X-Twilio-Signature", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
    )
)]
pub async fn offer(
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(step): Path<StepPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let ctx = context(&step.reason, step.arrived)?;
    let digits = hook.digits().to_owned();
    ivr_step(&state, &hook, ctx, |ivr| {
        ivr.on_offer(&digits, step.attempt)
    })
    .await
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/ivr/enter/{reason}/{arrived}/{attempt}", tag = "twilio",
    description = "Digits typed as the callback number.",
    params(("tenant" = String, Path, description = "Tenant id"), ("reason" = String, Path, description = "Why the caller is here, e.g. overflow"), ("arrived" = String, Path, description = "Unix seconds when the call arrived"), ("attempt" = String, Path, description = "How many times this question was asked")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters"),
    responses(
        (status = 200, description = "TwiML", content_type = "text/xml"),
        (status = 400, description = "Bad form or parameters", body = ErrorBody),
        (status = 403, description = "Missing or wrong X-Twilio-Signature", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
    )
)]
pub async fn enter(
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(step): Path<StepPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let ctx = context(&step.reason, step.arrived)?;
    let digits = hook.digits().to_owned();
    ivr_step(&state, &hook, ctx, |ivr| {
        ivr.on_entry(&digits, step.attempt)
    })
    .await
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/ivr/confirm/{reason}/{arrived}/{attempt}/{typed}", tag = "twilio",
    description = "Digits pressed when the typed number was read back.",
    params(("tenant" = String, Path, description = "Tenant id"), ("reason" = String, Path, description = "Why the caller is here, e.g. overflow"), ("arrived" = String, Path, description = "Unix seconds when the call arrived"), ("attempt" = String, Path, description = "How many times this question was asked"), ("typed" = String, Path, description = "The digits typed")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters"),
    responses(
        (status = 200, description = "TwiML", content_type = "text/xml"),
        (status = 400, description = "Bad form or parameters", body = ErrorBody),
        (status = 403, description = "Missing or wrong X-Twilio-Signature", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
    )
)]
pub async fn confirm(
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(step): Path<ConfirmPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let ctx = context(&step.reason, step.arrived)?;
    let digits = hook.digits().to_owned();
    ivr_step(&state, &hook, ctx, |ivr| {
        ivr.on_confirm(&step.typed, &digits, step.attempt)
    })
    .await
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/dial-result/{arrived}", tag = "twilio",
    description = "The Dial action: hang up when an agent answered, else the callback IVR.",
    params(("tenant" = String, Path, description = "Tenant id"), ("arrived" = String, Path, description = "Unix seconds when the call arrived")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters"),
    responses(
        (status = 200, description = "TwiML", content_type = "text/xml"),
        (status = 400, description = "Bad form or parameters", body = ErrorBody),
        (status = 403, description = "Missing or wrong X-Twilio-Signature", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
    )
)]
pub async fn dial_result(
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(path): Path<ArrivedPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let arrived = arrival(path.arrived)?;
    match call_routing::after_dial(hook.required("DialCallStatus")?) {
        None => {
            hook.call_sid()?;
            Ok(hang_up())
        }
        Some(reason) => ivr_start(&state, &hook, IvrContext { reason, arrived }).await,
    }
}

fn hang_up() -> Twiml {
    Twiml::new().push(crate::domain::twiml::Verb::Hangup)
}

fn number_param(hook: &TwilioWebhook, name: &str) -> u32 {
    hook.param(name)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Carries out a wait decision: a caller who leaves keeps a record with the
/// reason (when the caller ID is known), so the Enqueue action can tell why.
async fn waited(
    state: &AppState,
    hook: &TwilioWebhook,
    wait: Wait,
    arrived: Timestamp,
) -> Result<Twiml, ApiError> {
    let call_sid = hook.call_sid()?;
    if let (Wait::Leave(reason), Some(number)) = (&wait, hook.caller()?.number()) {
        let ctx = IvrContext {
            reason: *reason,
            arrived,
        };
        open_for_caller(state, &hook.tenant, &call_sid, number, ctx).await?;
    }
    Ok(wait.twiml())
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/queue/wait/{arrived}", tag = "twilio",
    description = "The Enqueue wait URL: hold audio and the callback offer, or Leave past the limits.",
    params(("tenant" = String, Path, description = "Tenant id"), ("arrived" = String, Path, description = "Unix seconds when the call arrived")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters"),
    responses(
        (status = 200, description = "TwiML", content_type = "text/xml"),
        (status = 400, description = "Bad form or parameters", body = ErrorBody),
        (status = 403, description = "Missing or wrong X-Twilio-Signature", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
    )
)]
pub async fn queue_wait(
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(path): Path<ArrivedPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let arrived = arrival(path.arrived)?;
    let links = TwilioLinks::new(&state, &hook.tenant.id);
    let wait = call_routing::queue_wait(
        &hook.tenant.settings,
        number_param(&hook, "QueueTime"),
        number_param(&hook, "CurrentQueueSize"),
        arrived,
        &links,
    );
    waited(&state, &hook, wait, arrived).await
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/queue/offer/{arrived}", tag = "twilio",
    description = "Digits pressed at the callback offer while waiting: 1 leaves the queue.",
    params(("tenant" = String, Path, description = "Tenant id"), ("arrived" = String, Path, description = "Unix seconds when the call arrived")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters"),
    responses(
        (status = 200, description = "TwiML", content_type = "text/xml"),
        (status = 400, description = "Bad form or parameters", body = ErrorBody),
        (status = 403, description = "Missing or wrong X-Twilio-Signature", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
    )
)]
pub async fn queue_offer(
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(path): Path<ArrivedPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let arrived = arrival(path.arrived)?;
    let links = TwilioLinks::new(&state, &hook.tenant.id);
    let wait = call_routing::queue_offer(&hook.tenant.settings, hook.digits(), arrived, &links);
    waited(&state, &hook, wait, arrived).await
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/queue/result/{arrived}", tag = "twilio",
    description = "The Enqueue action: the callback IVR after leaving or a full queue; hang up after an agent.",
    params(("tenant" = String, Path, description = "Tenant id"), ("arrived" = String, Path, description = "Unix seconds when the call arrived")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters"),
    responses(
        (status = 200, description = "TwiML", content_type = "text/xml"),
        (status = 400, description = "Bad form or parameters", body = ErrorBody),
        (status = 403, description = "Missing or wrong X-Twilio-Signature", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
    )
)]
pub async fn queue_result(
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(path): Path<ArrivedPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let arrived = arrival(path.arrived)?;
    let call_sid = hook.call_sid()?;
    let left_for = state
        .store
        .find_callback_by_call_sid(&hook.tenant.id, &call_sid)
        .await?
        .map(|r| r.reason);
    let outcome = call_routing::after_queue(
        hook.required("QueueResult")?,
        left_for,
        number_param(&hook, "QueueTime"),
        &hook.tenant.settings,
    );
    match outcome {
        None => Ok(hang_up()),
        Some(reason) => ivr_start(&state, &hook, IvrContext { reason, arrived }).await,
    }
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/ivr/recorded", tag = "twilio",
    description = "After the recording: thanks and hang up.",
    params(("tenant" = String, Path, description = "Tenant id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters"),
    responses(
        (status = 200, description = "TwiML", content_type = "text/xml"),
        (status = 400, description = "Bad form or parameters", body = ErrorBody),
        (status = 403, description = "Missing or wrong X-Twilio-Signature", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
    )
)]
pub async fn recorded(hook: TwilioWebhook) -> Result<Twiml, ApiError> {
    hook.call_sid()?;
    Ok(ivr::after_recording(&hook.tenant.settings))
}

/// Twilio's recordingStatusCallback: keep the URL at once, then copy.
#[utoipa::path(
    post, path = "/twilio/{tenant}/recording", tag = "twilio",
    description = "recordingStatusCallback: keeps the recording URL, copies the audio.",
    params(("tenant" = String, Path, description = "Tenant id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters"),
    responses(
        (status = 204, description = "Taken; a failed copy is retried by the sweeper"),
        (status = 400, description = "Bad form or parameters", body = ErrorBody),
        (status = 403, description = "Missing or wrong X-Twilio-Signature", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
    )
)]
pub async fn recording_status(
    axum::extract::State(state): axum::extract::State<AppState>,
    hook: TwilioWebhook,
) -> Result<StatusCode, ApiError> {
    let call_sid = hook.call_sid()?;
    let sid = RecordingSid::parse(hook.required("RecordingSid")?)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let status = hook.required("RecordingStatus")?;
    let tenant = &hook.tenant;
    let now = state.clock.now();
    let change: Box<dyn FnMut(&mut CallbackRecord) -> bool + Send> = match status {
        "completed" => {
            let url = hook.required("RecordingUrl")?.to_owned();
            state
                .copier
                .api()
                .check_url(&url)
                .map_err(|e| ApiError::BadRequest(format!("RecordingUrl refused: {e}")))?;
            let duration = hook
                .param("RecordingDuration")
                .and_then(|d| d.parse::<u32>().ok());
            let sid = sid.clone();
            let call = call_sid.clone();
            Box::new(move |r| {
                r.recording_completed(call.clone(), sid.clone(), url.clone(), duration)
            })
        }
        "absent" => {
            let sid = sid.clone();
            let call = call_sid.clone();
            Box::new(move |r| r.recording_absent(call.clone(), sid.clone()))
        }
        // in-progress and anything newer: nothing to keep yet.
        _ => return Ok(StatusCode::NO_CONTENT),
    };
    let record = state
        .store
        .find_callback_by_call_sid(&tenant.id, &call_sid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no callback record for call {call_sid}")))?;
    let mut change = change;
    let record = modify_callback(state.store.as_ref(), &tenant.id, &record.id, |r| {
        let changed = change(r);
        if changed {
            r.updated_at = now;
        }
        changed
    })
    .await?;
    // A failed copy stays on the record for the sweeper; Twilio still gets 2xx.
    state.copier.copy(tenant, &record, &sid).await?;
    Ok(StatusCode::NO_CONTENT)
}
