//! The extractor every Twilio webhook starts with: cheap checks first
//! (tenant id shape, content type, size, a signature header present), then
//! the tenant read, then the signature over the public URL and the form.

use crate::domain::ids::{CallSid, TenantId};
use crate::domain::phone::CallerId;
use crate::domain::speech::Answer;
use crate::domain::tenant::{AuthToken, Tenant};
use crate::domain::twiml::Twiml;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{ApiPath, too_large};
use crate::http::twilio::deadline::SettingsSeen;
use crate::twilio::signature::{self, Algorithm};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

impl IntoResponse for Twiml {
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            self.render(),
        )
            .into_response()
    }
}

/// The tenant a webhook is for.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TenantPath {
    /// Tenant id
    pub tenant: String,
}

/// A webhook whose signature checked out, with its tenant and parameters.
pub struct TwilioWebhook {
    pub tenant: Tenant,
    params: Vec<(String, String)>,
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

impl FromRequest<AppState> for TwilioWebhook {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let ApiPath(TenantPath { tenant }) =
            ApiPath::<TenantPath>::from_request_parts(&mut parts, state).await?;
        let unknown = || ApiError::NotFound(format!("no tenant {tenant:?}"));
        let tenant_id = TenantId::parse(&tenant).map_err(|_| unknown())?;
        tracing::Span::current().record("tenant", tenant_id.as_str());
        if !is_form(&parts.headers) {
            return Err(ApiError::BadRequest(
                "Twilio webhooks must be application/x-www-form-urlencoded".into(),
            ));
        }
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path(), |pq| pq.as_str())
            .to_owned();
        let headers = std::mem::take(&mut parts.headers);
        let seen = parts.extensions.get::<SettingsSeen>().cloned();
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large("webhook bodies")
                } else {
                    ApiError::BadRequest(rejection.body_text())
                }
            })?;
        let signature_value = headers
            .get(signature::SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::Forbidden("missing X-Twilio-Signature".into()))?;
        if std::str::from_utf8(&body).is_err() {
            return Err(ApiError::BadRequest("the form body is not UTF-8".into()));
        }
        let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();

        let tenant = crate::tenants::get(state.deps(), &tenant_id)
            .await?
            .ok_or_else(unknown)?;
        let url = state.public_url.join(&path_and_query);
        let now = state.clock.now();
        let (secrets, algorithm): (Vec<&AuthToken>, _) = match headers
            .get(signature::SETTINGS_HEADER)
        {
            // During a rotation's overlap the previous token counts too.
            None => (tenant.twilio.auth_tokens(now).collect(), Algorithm::Sha1),
            Some(settings) => {
                let algorithm = settings
                    .to_str()
                    .ok()
                    .and_then(Algorithm::from_settings_header)
                    .ok_or_else(|| ApiError::Forbidden("unsupported signature algorithm".into()))?;
                (tenant.twilio.webhook_shared_key.iter().collect(), algorithm)
            }
        };
        let valid = secrets.iter().any(|secret| {
            signature::verify(secret.expose(), &url, &params, signature_value, algorithm)
        });
        if !valid {
            tracing::warn!(tenant = %tenant.id, "webhook signature did not verify");
            return Err(ApiError::Forbidden(
                "X-Twilio-Signature does not match this request".into(),
            ));
        }
        if let Some(seen) = seen {
            seen.note(&tenant.settings);
        }
        Ok(TwilioWebhook { tenant, params })
    }
}

impl TwilioWebhook {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.param(name)
            .ok_or_else(|| ApiError::BadRequest(format!("missing {name}")))
    }

    /// A count Twilio sends (QueueTime, CurrentQueueSize); 0 when absent.
    pub fn count(&self, name: &str) -> u32 {
        self.param(name)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn call_sid(&self) -> Result<CallSid, ApiError> {
        let sid = CallSid::parse(self.required("CallSid")?)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        tracing::Span::current().record("call_sid", sid.as_str());
        Ok(sid)
    }

    pub fn caller(&self) -> Result<CallerId, ApiError> {
        let from = self.required("From")?;
        Ok(CallerId::from_twilio(
            from,
            self.tenant.settings.default_region,
        ))
    }

    pub fn digits(&self) -> &str {
        self.param("Digits").unwrap_or_default()
    }

    /// A Gather's answer: the keys pressed, else what was said.
    pub fn answer(&self) -> Answer {
        Answer::new(self.param("Digits"), self.param("SpeechResult"))
    }
}
