//! A webhook's budget. Twilio waits 15 s in all for an answer, connection
//! included, then plays its application error and the caller's request is
//! gone. A webhook whose work (the store's, mostly) is not done within
//! `BUDGET` answers what still takes the request, the record-only flow
//! (the record is made from the recording's callback), and logs why.

use crate::domain::ids::TenantId;
use crate::domain::ivr::{self, Links};
use crate::domain::tenant::TenantSettings;
use crate::domain::twiml::{Method, Twiml, Verb};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::twilio::links::TwilioLinks;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Well under Twilio's 15 s: room for a cold start's connection, the
/// answer's way back, and API Gateway.
pub const BUDGET: Duration = Duration::from_secs(8);

/// The tenant's settings, once the webhook has read the tenant and checked
/// the signature: the answer past the budget speaks the tenant's language.
#[derive(Clone, Default)]
pub struct SettingsSeen(Arc<OnceLock<TenantSettings>>);

impl SettingsSeen {
    pub fn note(&self, settings: &TenantSettings) {
        let _ = self.0.set(settings.clone());
    }
}

/// Runs a Twilio route within `BUDGET`; every other route as it is.
pub async fn within_budget(
    State(state): State<AppState>,
    route: MatchedPath,
    mut request: Request,
    next: Next,
) -> Response {
    if !route.as_str().starts_with("/twilio/") {
        return next.run(request).await;
    }
    let tenant = request.uri().path().split('/').nth(2).map(str::to_owned);
    let seen = SettingsSeen::default();
    request.extensions_mut().insert(seen.clone());
    let Ok(response) = tokio::time::timeout(BUDGET, next.run(request)).await else {
        tracing::warn!(
            budget_s = BUDGET.as_secs(),
            tenant_read = seen.0.get().is_some(),
            "webhook past its budget (the store is slow or down): answered the record-only flow"
        );
        let tenant = tenant.as_deref().and_then(|t| TenantId::parse(t).ok());
        return past_budget(&state, route.as_str(), tenant, seen.0.get());
    };
    response
}

/// What a Twilio route answers past the budget. Without the tenant's
/// settings (its read was what stalled), the defaults speak.
fn past_budget(
    state: &AppState,
    route: &str,
    tenant: Option<TenantId>,
    settings: Option<&TenantSettings>,
) -> Response {
    let Some(tenant) = tenant else {
        return ApiError::NotFound("no such tenant".into()).into_response();
    };
    let defaults = TenantSettings::default();
    let settings = settings.unwrap_or(&defaults);
    let links = TwilioLinks::new(state, &tenant);
    match route.strip_prefix("/twilio/{tenant}") {
        // No caller waits: Twilio tries the callback again.
        Some("/recording") => {
            ApiError::Unavailable("the recording could not be kept in time; try again".into())
                .into_response()
        }
        Some("/ivr/recorded") => ivr::after_recording_no_due(settings).into_response(),
        // A wait URL may not record: the caller leaves the queue, and the
        // Enqueue action records.
        Some(wait) if wait.starts_with("/queue/wait/") => {
            Twiml::new().push(Verb::Leave).into_response()
        }
        _ => ivr::record_only(
            settings,
            links.recorded(),
            Method::Post,
            links.recording_status(),
        )
        .into_response(),
    }
}
