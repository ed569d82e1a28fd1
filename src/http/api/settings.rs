//! The tenant's settings, read and changed by a signed-in admin. Only
//! settings that are not secret: the Twilio credentials (auth token,
//! webhook key) are the operator's, through the CLI, and never shown.

use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::prompts::Language;
use crate::domain::routing::RoutingMode;
use crate::domain::settings::SettingsChange;
use crate::domain::tenant::{RecordingFormat, TenantSettings};
use crate::http::AppState;
use crate::http::api::auth::Agent;
use crate::http::error::{AdminBodyErrors, AdminErrors, ApiError};
use crate::http::extract::ApiJson;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

const WHAT: &str = "managing the tenant's settings";

/// The schemas whose properties `openapi::complete` bounds from
/// `tenant::NUMBER_LIMITS` and the domain's enums.
pub const SCHEMAS: [&str; 2] = ["SettingsView", "SettingsPatch"];

/// What an admin may read and change of the tenant's settings.
#[derive(Serialize, ToSchema)]
pub struct SettingsView {
    /// The callers' language.
    #[schema(value_type = String)]
    pub language: Language,
    /// Twilio `<Say>` voice; must speak `language`.
    pub voice: String,
    pub max_recording_seconds: u32,
    /// How many times the IVR asks before it ends the call politely.
    pub number_entry_attempts: u32,
    pub max_callback_attempts: u32,
    /// Minutes from the call to when its callback is due.
    pub callback_sla_minutes: u32,
    /// Minutes after which an agent's claim lapses.
    pub claim_timeout_minutes: u32,
    /// Minutes until an unreached callback is due again.
    pub retry_delay_minutes: u32,
    /// Days a completed or failed record and its recordings are kept.
    pub retention_days: u32,
    /// IANA time zone, e.g. Asia/Tokyo.
    pub time_zone: String,
    /// Delete Twilio's copy of a recording once ours is stored.
    pub delete_twilio_recording: bool,
    #[schema(value_type = String)]
    pub recording_format: RecordingFormat,
    /// overflow: the IVR at once; dial: ring the agents first; queue: wait
    /// in a Twilio queue.
    #[schema(value_type = String)]
    pub routing_mode: RoutingMode,
    /// Closed now, whatever the hours say.
    pub closed_now: bool,
}

impl From<&TenantSettings> for SettingsView {
    fn from(s: &TenantSettings) -> Self {
        SettingsView {
            language: s.language,
            voice: s.voice.clone(),
            max_recording_seconds: s.max_recording_seconds,
            number_entry_attempts: s.number_entry_attempts,
            max_callback_attempts: s.max_callback_attempts,
            callback_sla_minutes: s.callback_sla_minutes,
            claim_timeout_minutes: s.claim_timeout_minutes,
            retry_delay_minutes: s.retry_delay_minutes,
            retention_days: s.retention_days,
            time_zone: s.time_zone.clone(),
            delete_twilio_recording: s.delete_twilio_recording,
            recording_format: s.recording_format,
            routing_mode: s.routing.mode,
            closed_now: s.schedule.closed_now,
        }
    }
}

/// The settings to change; absent or null ones stay as they are. A new
/// `language` brings its default voice unless `voice` is given too.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    #[schema(value_type = Option<String>)]
    pub language: Option<Language>,
    pub voice: Option<String>,
    #[serde(default, deserialize_with = "whole")]
    pub max_recording_seconds: Option<u32>,
    #[serde(default, deserialize_with = "whole")]
    pub number_entry_attempts: Option<u32>,
    #[serde(default, deserialize_with = "whole")]
    pub max_callback_attempts: Option<u32>,
    #[serde(default, deserialize_with = "whole")]
    pub callback_sla_minutes: Option<u32>,
    #[serde(default, deserialize_with = "whole")]
    pub claim_timeout_minutes: Option<u32>,
    #[serde(default, deserialize_with = "whole")]
    pub retry_delay_minutes: Option<u32>,
    #[serde(default, deserialize_with = "whole")]
    pub retention_days: Option<u32>,
    /// A zone of the IANA time zone database, e.g. `Asia/Tokyo`; any other
    /// name is 400.
    pub time_zone: Option<String>,
    pub delete_twilio_recording: Option<bool>,
    #[schema(value_type = Option<String>)]
    pub recording_format: Option<RecordingFormat>,
    #[schema(value_type = Option<String>)]
    pub routing_mode: Option<RoutingMode>,
    pub closed_now: Option<bool>,
}

/// A whole number, as JSON Schema counts them: `17` or `17.0`.
fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    let whole = match number.as_u64() {
        Some(n) => Some(n),
        None => number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(f))
            .map(|f| f as u64),
    };
    whole
        .and_then(|n| u32::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid value: {number}, expected a whole number from 0 to {}",
                u32::MAX
            ))
        })
}

impl SettingsPatch {
    /// The domain's change, and how many settings it names.
    fn into_change(self) -> (SettingsChange, u64) {
        let change = SettingsChange {
            language: self.language,
            voice: self.voice,
            max_recording_seconds: self.max_recording_seconds,
            number_entry_attempts: self.number_entry_attempts,
            max_callback_attempts: self.max_callback_attempts,
            callback_sla_minutes: self.callback_sla_minutes,
            claim_timeout_minutes: self.claim_timeout_minutes,
            retry_delay_minutes: self.retry_delay_minutes,
            retention_days: self.retention_days,
            time_zone: self.time_zone,
            delete_twilio_recording: self.delete_twilio_recording,
            recording_format: self.recording_format,
            routing_mode: self.routing_mode,
            closed_now: self.closed_now,
            ..SettingsChange::default()
        };
        let named = [
            change.language.is_some(),
            change.voice.is_some(),
            change.max_recording_seconds.is_some(),
            change.number_entry_attempts.is_some(),
            change.max_callback_attempts.is_some(),
            change.callback_sla_minutes.is_some(),
            change.claim_timeout_minutes.is_some(),
            change.retry_delay_minutes.is_some(),
            change.retention_days.is_some(),
            change.time_zone.is_some(),
            change.delete_twilio_recording.is_some(),
            change.recording_format.is_some(),
            change.routing_mode.is_some(),
            change.closed_now.is_some(),
        ];
        let count = named.into_iter().filter(|&n| n).count() as u64;
        (change, count)
    }
}

#[utoipa::path(
    get, path = "/api/v1/settings", tag = "admin",
    responses(
        (status = 200, description = "The tenant's settings; never its Twilio auth token or webhook key", body = SettingsView),
        AdminErrors,
    ),
    security(("session" = []), ("api_key" = []))
)]
pub async fn get_settings(
    State(state): State<AppState>,
    agent: Agent,
) -> Result<Json<SettingsView>, ApiError> {
    agent.admin_session(WHAT)?;
    let tenant = state
        .store
        .get_tenant_fresh(&agent.tenant.id)
        .await?
        .unwrap_or(agent.tenant);
    Ok(Json(SettingsView::from(&tenant.settings)))
}

#[utoipa::path(
    patch, path = "/api/v1/settings", tag = "admin",
    request_body = SettingsPatch,
    responses(
        (status = 200, description = "Changed (the last change wins: tenants carry no version); \
calls and changes that read the tenant after this answer use them", body = SettingsView),
        AdminBodyErrors,
        AdminErrors,
    ),
    security(("session" = []), ("api_key" = []))
)]
pub async fn change_settings(
    State(state): State<AppState>,
    agent: Agent,
    ApiJson(patch): ApiJson<SettingsPatch>,
) -> Result<Json<SettingsView>, ApiError> {
    let admin = agent.admin_session(WHAT)?.account.login.clone();
    // Read past the tenant cache: what is written back includes the
    // credentials, which the CLI may have rotated a moment ago.
    let mut tenant = state
        .store
        .get_tenant_fresh(&agent.tenant.id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("your session has ended: sign in again".into()))?;
    let (change, named) = patch.into_change();
    if named == 0 {
        return Ok(Json(SettingsView::from(&tenant.settings)));
    }
    change
        .apply(&mut tenant.settings)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    state.store.update_tenant(&tenant).await?;
    let now = state.clock.now();
    let entry = AuditEntry::new(
        tenant.id.clone(),
        now,
        format!("agent:{admin}"),
        AuditAction::SettingsChanged,
        tenant.id.to_string(),
        BTreeMap::from([("settings".to_owned(), named)]),
    );
    state.audit.append_audit(&entry).await?;
    tracing::info!(settings = named, "tenant settings changed");
    Ok(Json(SettingsView::from(&tenant.settings)))
}
