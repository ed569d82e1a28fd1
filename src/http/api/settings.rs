//! The tenant's settings, read and changed by a signed-in admin. Only
//! settings that are not secret: the Twilio credentials (auth token,
//! webhook key) are the operator's, through the CLI, and never shown.
//! Members, bounds and choices all come from `domain::settings::SETTINGS`.

use crate::domain::prompts::PromptKey;
use crate::domain::reason::Reason;
use crate::domain::settings::{Kind, SETTINGS, Setting, SettingsChange, Value};
use crate::domain::tenant::TenantSettings;
use crate::http::AppState;
use crate::http::api::auth::Agent;
use crate::http::error::{AdminBodyErrors, AdminErrors, ApiError};
use crate::http::extract::ApiJson;
use crate::http::twilio::links::TwilioLinks;
use crate::tenants::{TenantsError, settings};
use axum::Json;
use axum::extract::State;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{KnownFormat, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

const WHAT: &str = "managing the tenant's settings";

/// What an admin may read and change of the tenant's settings: each
/// setting by its name, and `fields`, how to offer them.
pub struct SettingsView {
    values: Vec<(&'static str, Value)>,
    fields: Vec<SettingField>,
}

impl From<&TenantSettings> for SettingsView {
    fn from(settings: &TenantSettings) -> Self {
        SettingsView {
            values: SETTINGS
                .iter()
                .map(|s| (s.name, s.read(settings)))
                .collect(),
            fields: SETTINGS
                .iter()
                .map(|s| {
                    let mut field = SettingField::from(s);
                    if s.kind == Kind::Prompts {
                        let language = settings.language;
                        field.defaults = Some(
                            PromptKey::ALL
                                .into_iter()
                                .map(|k| (k.name(), k.default_text(language)))
                                .collect(),
                        );
                    }
                    field
                })
                .collect(),
        }
    }
}

impl Serialize for SettingsView {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.values.len() + 1))?;
        for (name, value) in &self.values {
            map.serialize_entry(name, value)?;
        }
        map.serialize_entry("fields", &self.fields)?;
        map.end()
    }
}

/// The type of a setting's value, as a form offers it.
#[derive(Serialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Boolean,
    Integer,
    String,
    /// One of `choices`.
    Enum,
    /// A number in E.164, or "" for none.
    Phone,
    /// Strings, at most `max_items`, each like `example`.
    List,
    /// A text or null (the language's own) per prompt of `choices`.
    Prompts,
}

/// One setting, as the page's form offers it; in display order.
#[derive(Serialize, ToSchema)]
pub struct SettingField {
    /// The setting's member in the view and the patch.
    #[schema(example = "max_recording_seconds")]
    pub name: &'static str,
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Where the page shows it: greeting, hours, routing, callbacks or
    /// calling_back.
    #[schema(example = "greeting")]
    pub group: &'static str,
    /// The page's text key for its label.
    #[schema(example = "set_max_recording_seconds")]
    pub label: String,
    /// An integer's bounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = 5)]
    pub minimum: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = 3600)]
    pub maximum: Option<u32>,
    /// An enum's values.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(["wav", "mp3"]))]
    pub choices: Option<Vec<&'static str>>,
    /// The longest text, in characters, where bounded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub max_length: Option<usize>,
    /// A list's longest length.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = 4)]
    pub max_items: Option<usize>,
    /// A prompt's text when the tenant has none, in the tenant's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub defaults: Option<BTreeMap<&'static str, &'static str>>,
    /// An item of a list, as one is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "1=09:00-12:00")]
    pub example: Option<&'static str>,
}

impl From<&Setting> for SettingField {
    fn from(setting: &Setting) -> Self {
        let mut field = SettingField {
            name: setting.name,
            kind: FieldType::String,
            group: setting.group.as_str(),
            label: setting.label(),
            minimum: None,
            maximum: None,
            choices: None,
            max_length: None,
            max_items: None,
            defaults: None,
            example: None,
        };
        match setting.kind {
            Kind::Boolean => field.kind = FieldType::Boolean,
            Kind::Integer { min, max } => {
                field.kind = FieldType::Integer;
                (field.minimum, field.maximum) = (Some(min), Some(max));
            }
            Kind::Text { max_length } => field.max_length = max_length,
            Kind::Choice(choices) => {
                field.kind = FieldType::Enum;
                field.choices = Some(choices.to_vec());
            }
            Kind::Phone => field.kind = FieldType::Phone,
            Kind::List { max_items, item } => {
                field.kind = FieldType::List;
                field.max_items = Some(max_items);
                field.example = Some(item.example());
            }
            Kind::Region => field.max_length = Some(2),
            Kind::Prompts => {
                field.kind = FieldType::Prompts;
                field.choices = Some(PromptKey::ALL.map(PromptKey::name).to_vec());
            }
        }
        field
    }
}

/// E.164's shape, or none (""); the number itself is checked too.
const PHONE_PATTERN: &str = r"^(\+[1-9][0-9]{6,14})?$";

/// A setting's schema in the view, or (`nullable`) in the patch.
fn property(setting: &Setting, nullable: bool) -> Schema {
    let types = |t: Type| match nullable {
        true => SchemaType::from_iter([t, Type::Null]),
        false => SchemaType::new(t),
    };
    let property = ObjectBuilder::new().description(Some(setting.help));
    match setting.kind {
        Kind::Boolean => property.schema_type(types(Type::Boolean)),
        Kind::Integer { min, max } => property
            .schema_type(types(Type::Integer))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .minimum(Some(min))
            .maximum(Some(max)),
        Kind::Text { max_length } => property
            .schema_type(types(Type::String))
            .max_length(max_length),
        Kind::Phone => property
            .schema_type(types(Type::String))
            .pattern(Some(PHONE_PATTERN)),
        Kind::Region => property
            .schema_type(types(Type::String))
            .pattern(Some("^[A-Za-z]{2}$")),
        Kind::Prompts => {
            let text = || {
                ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            };
            PromptKey::ALL.into_iter().fold(
                property
                    .schema_type(types(Type::Object))
                    .additional_properties(Some(AdditionalProperties::FreeForm(false))),
                |object, key| object.property(key.name(), text()),
            )
        }
        Kind::Choice(choices) => {
            let mut values: Vec<serde_json::Value> = choices.iter().map(|&c| c.into()).collect();
            if nullable {
                values.push(serde_json::Value::Null);
            }
            property
                .schema_type(types(Type::String))
                .enum_values(Some(values))
        }
        Kind::List { max_items, item } => {
            let items = ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::String))
                .pattern(Some(item.pattern()))
                .examples([item.example()]);
            return ArrayBuilder::new()
                .schema_type(types(Type::Array))
                .description(Some(setting.help))
                .items(items)
                .max_items(Some(max_items))
                .into();
        }
    }
    .into()
}

impl PartialSchema for SettingsView {
    fn schema() -> RefOr<Schema> {
        let object = SETTINGS.iter().fold(
            ObjectBuilder::new().description(Some(
                "The tenant's settings by name, and `fields`: each setting's type, bounds \
                 and choices, in display order.",
            )),
            |object, s| object.property(s.name, property(s, false)).required(s.name),
        );
        object
            .property(
                "fields",
                ArrayBuilder::new().items(Ref::from_schema_name(SettingField::name())),
            )
            .required("fields")
            .into()
    }
}

impl ToSchema for SettingsView {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((SettingField::name().into(), SettingField::schema()));
        <SettingField as ToSchema>::schemas(schemas);
    }
}

/// The settings to change, by name; absent or null ones stay as they are.
#[derive(Deserialize, Default)]
#[serde(transparent)]
pub struct SettingsPatch(serde_json::Map<String, serde_json::Value>);

impl PartialSchema for SettingsPatch {
    fn schema() -> RefOr<Schema> {
        SETTINGS
            .iter()
            .fold(
                ObjectBuilder::new()
                    .description(Some(
                        "The settings to change; absent or null ones stay as they are. A new \
                         `language` brings its default voice unless `voice` is given too.",
                    ))
                    .additional_properties(Some(AdditionalProperties::FreeForm(false))),
                |object, s| object.property(s.name, property(s, true)),
            )
            .into()
    }
}

impl ToSchema for SettingsPatch {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("SettingsPatch")
    }
}

/// How serde would name a JSON value in a refusal.
fn unexpected(json: &serde_json::Value) -> String {
    match json {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::Bool(b) => format!("boolean `{b}`"),
        serde_json::Value::Number(n) => format!("number `{n}`"),
        serde_json::Value::String(s) => format!("string {s:?}"),
        serde_json::Value::Array(_) => "sequence".into(),
        serde_json::Value::Object(_) => "map".into(),
    }
}

/// A whole number, as JSON Schema counts them: `17` or `17.0`.
fn whole(number: &serde_json::Number) -> Option<u32> {
    let whole = match number.as_u64() {
        Some(n) => Some(n),
        None => number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(f))
            .map(|f| f as u64),
    };
    whole.and_then(|n| u32::try_from(n).ok())
}

/// A member's JSON as the setting's value; `None` for null.
fn value_of(setting: &Setting, json: serde_json::Value) -> Result<Option<Value>, ApiError> {
    let refused =
        |problem: String| ApiError::bad_field(setting.name, format!("{}: {problem}", setting.name));
    let value = match (setting.kind, json) {
        (_, serde_json::Value::Null) => return Ok(None),
        (Kind::Boolean, serde_json::Value::Bool(b)) => Value::Boolean(b),
        (Kind::Integer { .. }, serde_json::Value::Number(n)) => match whole(&n) {
            Some(n) => Value::Integer(n),
            None => {
                return Err(refused(format!(
                    "invalid value: {n}, expected a whole number from 0 to {}",
                    u32::MAX
                )));
            }
        },
        (
            Kind::Text { .. } | Kind::Choice(_) | Kind::Phone | Kind::Region,
            serde_json::Value::String(s),
        ) => Value::Text(s),
        // A null prompt is reset to the language's own.
        (Kind::Prompts, serde_json::Value::Object(prompts)) => Value::Prompts(
            prompts
                .into_iter()
                .map(|(name, text)| match text {
                    serde_json::Value::String(s) => Ok((name, Some(s))),
                    serde_json::Value::Null => Ok((name, None)),
                    other => Err(refused(format!(
                        "{name}: invalid type: {}, expected a string or null",
                        unexpected(&other)
                    ))),
                })
                .collect::<Result<_, _>>()?,
        ),
        (Kind::List { .. }, serde_json::Value::Array(items)) => Value::List(
            items
                .into_iter()
                .map(|item| match item {
                    serde_json::Value::String(s) => Ok(s),
                    other => Err(refused(format!(
                        "invalid type: {}, expected a string",
                        unexpected(&other)
                    ))),
                })
                .collect::<Result<_, _>>()?,
        ),
        (kind, other) => {
            let expected = match kind {
                Kind::Boolean => "a boolean",
                Kind::Integer { .. } => "a whole number",
                Kind::Text { .. } | Kind::Choice(_) | Kind::Phone | Kind::Region => "a string",
                Kind::List { .. } => "a sequence",
                Kind::Prompts => "a map",
            };
            return Err(refused(format!(
                "invalid type: {}, expected {expected}",
                unexpected(&other)
            )));
        }
    };
    Ok(Some(value))
}

impl SettingsPatch {
    /// The domain's change: every member a setting of the right kind,
    /// within its bounds and choices.
    pub(crate) fn into_change(self) -> Result<SettingsChange, ApiError> {
        let mut change = SettingsChange::default();
        for (name, json) in self.0 {
            let Some(setting) = Setting::find(&name) else {
                let known: Vec<String> = SETTINGS.iter().map(|s| format!("`{}`", s.name)).collect();
                let message = format!(
                    "unknown field `{name}`, expected one of {}",
                    known.join(", ")
                );
                // No `field`: it would name no setting.
                return Err(ApiError::BadRequest(message));
            };
            if let Some(value) = value_of(setting, json)? {
                change.set(setting, value)?;
            }
        }
        Ok(change)
    }
}

#[utoipa::path(
    get, path = "/api/v1/settings", tag = "admin",
    responses(
        (status = 200, description = "The tenant's settings, and how to offer each (`fields`); never its Twilio auth token or webhook key", body = SettingsView),
        AdminErrors,
    ),
    security(("session" = []), ("api_key" = []))
)]
pub async fn get_settings(
    State(state): State<AppState>,
    agent: Agent,
) -> Result<Json<SettingsView>, ApiError> {
    agent.admin_session(WHAT)?;
    let settings = settings::read(state.deps(), &agent.tenant).await?;
    Ok(Json(SettingsView::from(&settings)))
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
    agent.admin_session(WHAT)?;
    let change = patch.into_change()?;
    let named = change.named();
    let settings = settings::change(state.deps(), &agent.actor, &agent.tenant, change)
        .await
        .map_err(|e| match e {
            TenantsError::NoTenant(_) => {
                ApiError::Unauthorized("your session has ended: sign in again".into())
            }
            other => other.into(),
        })?;
    if named > 0 {
        tracing::info!(settings = named, "tenant settings changed");
    }
    Ok(Json(SettingsView::from(&settings)))
}

/// What a new caller would hear first if they called now.
#[derive(Serialize, ToSchema)]
pub struct NextCallView {
    /// The moment previewed (now), RFC 3339
    #[schema(example = "2026-12-07T09:00:00Z")]
    pub at: String,
    /// The caller imagined: a caller ID with no open record
    #[schema(example = "+819012345678")]
    pub caller: &'static str,
    /// Why the call goes to the callback IVR; null when it first rings the
    /// agents or joins the queue (routing mode, hours)
    pub reason: Option<Reason>,
    /// The TwiML of the voice webhook's answer, as the call will get it
    /// once the settings are in force (within 2 s of a change)
    #[schema(
        example = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"ja-JP\">…</Say>…</Response>"
    )]
    pub twiml: String,
}

#[utoipa::path(
    get, path = "/api/v1/settings/next-call", tag = "admin",
    description = "The first TwiML the next call will get: the voice webhook's answer, now, on the settings as stored now, to a caller with a caller ID and no open record.",
    responses(
        (status = 200, description = "The first answer of a call arriving now", body = NextCallView),
        AdminErrors,
    ),
    security(("session" = []), ("api_key" = []))
)]
pub async fn next_call(
    State(state): State<AppState>,
    agent: Agent,
) -> Result<Json<NextCallView>, ApiError> {
    agent.admin_session(WHAT)?;
    let links = TwilioLinks::new(&state, &agent.tenant.id);
    let next = settings::next_call(state.deps(), &agent.tenant, &links).await?;
    Ok(Json(NextCallView {
        at: next.at.to_string(),
        caller: settings::SAMPLE_CALLER,
        reason: next.reason,
        twiml: next.twiml,
    }))
}
