//! Twilio webhooks: verify, parse, hand to the domain, carry out its effect.

use crate::domain::callback::{CallbackRecord, NewCallback, Reason};
use crate::domain::flow::{self, Effect, Ivr, IvrContext, Links, Step};
use crate::domain::ids::{CallSid, RecordingSid};
use crate::domain::phone::CallerId;
use crate::domain::tenant::{Tenant, TenantId};
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
    let arrived = Timestamp::from_second(arrived)
        .map_err(|_| ApiError::BadRequest("arrival time out of range".into()))?;
    Ok(IvrContext { reason, arrived })
}

/// Runs one IVR step: carries out its effect, then answers its TwiML.
async fn run(
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
    match step.effect {
        Effect::None => {}
        Effect::OpenOnCallerId(number) => {
            let new = NewCallback {
                call_sid,
                caller_number: Some(number.clone()),
                callback_number: number,
                confirmation: crate::domain::callback::Confirmation::Unconfirmed,
                reason: ctx.reason,
                received_at: ctx.arrived,
            };
            insert(state, &hook.tenant, new).await?;
        }
        Effect::Confirm { number, how } => {
            let new = NewCallback {
                call_sid,
                caller_number: caller.number().cloned(),
                callback_number: number.clone(),
                confirmation: how,
                reason: ctx.reason,
                received_at: ctx.arrived,
            };
            if let Inserted::Existing(existing) = insert(state, &hook.tenant, new).await? {
                let now = state.clock.now();
                modify_callback(state.store.as_ref(), &hook.tenant.id, &existing.id, |r| {
                    let changed = r.confirm_number(number.clone(), how);
                    if changed {
                        r.updated_at = now;
                    }
                    changed
                })
                .await?;
            }
        }
    }
    Ok(step.twiml)
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
    let ctx = IvrContext {
        reason: Reason::Overflow,
        arrived: state.clock.now(),
    };
    run(&state, &hook, ctx, |ivr| ivr.start()).await
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
    run(&state, &hook, ctx, |ivr| {
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
    run(&state, &hook, ctx, |ivr| {
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
    run(&state, &hook, ctx, |ivr| {
        ivr.on_confirm(&step.typed, &digits, step.attempt)
    })
    .await
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
    Ok(flow::after_recording(&hook.tenant.settings))
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
            Box::new(move |r| r.recording_completed(sid.clone(), url.clone(), duration))
        }
        "absent" => {
            let sid = sid.clone();
            Box::new(move |r| r.recording_absent(sid.clone()))
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
