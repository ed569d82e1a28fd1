//! axum's extractors, with their rejections turned into our JSON errors.

use crate::http::MAX_BODY_BYTES;
use crate::http::error::ApiError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// `Json` whose rejections are 400, or 413 when the body is too big.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

/// `ApiJson`, or `None` for an empty body (no Content-Type needed then).
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| too_large("request bodies"))?;
        if bytes.is_empty() {
            return Ok(OptionalJson(None));
        }
        let request = Request::from_parts(parts, axum::body::Body::from(bytes));
        // `null` is the document's "no body" too (the schema is nullable).
        let ApiJson(value) = ApiJson::<Option<T>>::from_request(request, state).await?;
        Ok(OptionalJson(value))
    }
}

fn json_error(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large("request bodies");
    }
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::BadRequest("send the body as Content-Type: application/json".into())
        }
        other => ApiError::BadRequest(other.body_text()),
    }
}

pub fn too_large(what: &str) -> ApiError {
    ApiError::PayloadTooLarge(format!("{what} are limited to {MAX_BODY_BYTES} bytes"))
}

/// `Path` whose rejections are 400 with our JSON body.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// `Query` whose rejections are 400 with our JSON body.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// What the JSON bodies of the API make of any input: never a panic, a
/// refusal is always a 400 in the documented shape, and a valid body reads
/// back exactly as sent.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agent::Role;
    use crate::domain::callback::Outcome;
    use crate::http::api::agents::{ChangeAgentBody, NewAgentBody};
    use crate::http::api::api_keys::NewApiKeyBody;
    use crate::http::api::handlers::{AgentBody, AttemptBody, CompleteBody};
    use crate::http::api::notes::{AssignBody, NoteBody};
    use crate::http::api::rules::{agent_of, note_of};
    use crate::http::api::sessions::{PasswordBody, SignInBody};
    use crate::http::api::settings::SettingsPatch;
    use axum::body::{Body, to_bytes};
    use axum::http::header;
    use axum::response::IntoResponse;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    fn parse<T: DeserializeOwned>(
        rt: &tokio::runtime::Runtime,
        body: &[u8],
    ) -> Result<T, ApiError> {
        let request = Request::post("/")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_vec()))
            .unwrap();
        rt.block_on(ApiJson::<T>::from_request(request, &()))
            .map(|ApiJson(value)| value)
    }

    /// A refusal is a 400 `{"error": {"code": "bad_request", "message"}}`.
    fn refused_well(rt: &tokio::runtime::Runtime, error: ApiError) -> Result<(), TestCaseError> {
        let response = error.into_response();
        prop_assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let bytes = rt
            .block_on(to_bytes(response.into_body(), usize::MAX))
            .unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(body.as_object().map(|o| o.len()), Some(1));
        // The documented optional `field`, a non-empty name.
        let field = body["error"].get("field");
        prop_assert!(field.is_none_or(|f| f.as_str().is_some_and(|f| !f.is_empty())));
        let members = 2 + usize::from(field.is_some());
        prop_assert_eq!(body["error"].as_object().map(|o| o.len()), Some(members));
        prop_assert_eq!(&body["error"]["code"], "bad_request");
        prop_assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        Ok(())
    }

    fn check<T: DeserializeOwned>(
        rt: &tokio::runtime::Runtime,
        body: &[u8],
    ) -> Result<(), TestCaseError> {
        match parse::<T>(rt, body) {
            Ok(_) => Ok(()),
            Err(e) => refused_well(rt, e),
        }
    }

    /// Field names the bodies use, so objects get past "unknown field".
    const FIELDS: [&str; 16] = [
        "agent",
        "outcome",
        "note",
        "text",
        "to",
        "tenant",
        "login",
        "password",
        "current_password",
        "new_password",
        "name",
        "role",
        "active",
        "language",
        "callback_sla_minutes",
        "closed_now",
    ];

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop::sample::select(&["reached", "busy", "agent", "admin", ""][..])
                .prop_map(Value::from),
            ".{0,30}".prop_map(Value::from),
        ];
        let key = prop_oneof![
            3 => prop::sample::select(&FIELDS[..]).prop_map(str::to_owned),
            1 => ".{0,8}",
        ];
        leaf.prop_recursive(3, 32, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(key.clone(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn any_body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            any_json().prop_map(|v| v.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..120),
        ]
    }

    fn outcome() -> impl Strategy<Value = (Outcome, &'static str)> {
        prop::sample::select(
            &[
                (Outcome::Reached, "reached"),
                (Outcome::NoAnswer, "no_answer"),
                (Outcome::Busy, "busy"),
                (Outcome::Voicemail, "voicemail"),
                (Outcome::WrongNumber, "wrong_number"),
            ][..],
        )
    }

    /// A name the agent rules accept: printable, not blank, at most 100.
    fn agent_name() -> impl Strategy<Value = String> {
        "[ a-zA-Z0-9._\u{3042}-\u{3093}]{1,100}".prop_filter("not blank", |s| !s.trim().is_empty())
    }

    fn text() -> impl Strategy<Value = String> {
        "\\PC{0,200}"
    }

    /// A JSON object of the fields that are `Some`.
    fn object(fields: &[(&str, Option<Value>)]) -> Vec<u8> {
        let map: serde_json::Map<String, Value> = fields
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| ((*k).to_owned(), v)))
            .collect();
        Value::Object(map).to_string().into_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_input_is_read_or_refused_with_a_400(body in any_body()) {
            let rt = runtime();
            check::<AgentBody>(&rt, &body)?;
            check::<AttemptBody>(&rt, &body)?;
            check::<CompleteBody>(&rt, &body)?;
            check::<NoteBody>(&rt, &body)?;
            check::<AssignBody>(&rt, &body)?;
            check::<SignInBody>(&rt, &body)?;
            check::<PasswordBody>(&rt, &body)?;
            check::<NewAgentBody>(&rt, &body)?;
            check::<ChangeAgentBody>(&rt, &body)?;
            check::<NewApiKeyBody>(&rt, &body)?;
            check::<SettingsPatch>(&rt, &body)?;
            if let Ok(patch) = parse::<SettingsPatch>(&rt, &body)
                && let Err(e) = patch.into_change()
            {
                refused_well(&rt, e)?;
            }
        }

        #[test]
        fn any_note_or_agent_is_kept_or_refused(note in ".{0,2100}", name in ".{0,120}") {
            match note_of(Some(note.clone())) {
                Ok(Some(kept)) => prop_assert_eq!(kept, note),
                Ok(None) => prop_assert!(note.trim().is_empty()),
                Err(e) => {
                    prop_assert!(note.chars().count() > 2000);
                    refused_well(&runtime(), e)?;
                }
            }
            match agent_of(&name) {
                Ok(kept) => prop_assert_eq!(kept, name.trim()),
                Err(e) => refused_well(&runtime(), e)?,
            }
        }

        #[test]
        fn valid_callback_bodies_read_back_as_sent(
            agent in proptest::option::of(agent_name()),
            (outcome, outcome_text) in outcome(),
            note in proptest::option::of(text()),
            to in "[a-z0-9._-]{1,64}",
        ) {
            let rt = runtime();
            let agent_json = agent.clone().map(Value::from);
            let note_json = note.clone().map(Value::from);

            let body: AgentBody = parse(&rt, &object(&[("agent", agent_json.clone())])).unwrap();
            prop_assert_eq!(&body.agent, &agent);
            if let Some(name) = &body.agent {
                prop_assert_eq!(agent_of(name).unwrap(), name.trim());
            }

            let body: AttemptBody = parse(&rt, &object(&[
                ("agent", agent_json.clone()),
                ("outcome", Some(outcome_text.into())),
                ("note", note_json.clone()),
            ])).unwrap();
            prop_assert_eq!(&body.agent, &agent);
            prop_assert_eq!(body.outcome, outcome);
            prop_assert_eq!(&body.note, &note);
            let kept = note_of(body.note).unwrap();
            prop_assert_eq!(kept, note.clone().filter(|n| !n.trim().is_empty()));

            let body: CompleteBody = parse(&rt, &object(&[
                ("agent", agent_json.clone()),
                ("note", note_json.clone()),
            ])).unwrap();
            prop_assert_eq!((&body.agent, &body.note), (&agent, &note));

            let text = note.clone().unwrap_or_default();
            let body: NoteBody = parse(&rt, &object(&[
                ("agent", agent_json.clone()),
                ("text", Some(text.clone().into())),
            ])).unwrap();
            prop_assert_eq!((&body.agent, &body.text), (&agent, &text));

            let body: AssignBody = parse(&rt, &object(&[
                ("agent", agent_json),
                ("to", Some(to.clone().into())),
                ("note", note_json),
            ])).unwrap();
            prop_assert_eq!((&body.agent, &body.to, &body.note), (&agent, &to, &note));
        }

        #[test]
        fn valid_session_and_agent_bodies_read_back_as_sent(
            tenant in "[a-z0-9-]{1,40}",
            login in "[a-z0-9._-]{1,64}",
            password in "\\PC{12,100}",
            name in proptest::option::of(agent_name()),
            role in proptest::option::of(prop::sample::select(&["agent", "supervisor", "admin"][..])),
            active in proptest::option::of(any::<bool>()),
        ) {
            let rt = runtime();
            let body: SignInBody = parse(&rt, json!({
                "tenant": tenant, "login": login, "password": password,
            }).to_string().as_bytes()).unwrap();
            prop_assert_eq!((&body.tenant, &body.login, &body.password), (&tenant, &login, &password));

            let body: PasswordBody = parse(&rt, json!({
                "current_password": password, "new_password": login,
            }).to_string().as_bytes()).unwrap();
            prop_assert_eq!((&body.current_password, &body.new_password), (&password, &login));

            let role = role.map(str::to_owned);
            let display = name.clone().unwrap_or_else(|| "Ann".into());
            let body: NewAgentBody = parse(&rt, &object(&[
                ("login", Some(login.clone().into())),
                ("name", Some(display.clone().into())),
                ("role", role.clone().map(Value::from)),
            ])).unwrap();
            let read_role = body.role.map(Role::as_str);
            prop_assert_eq!((&body.login, &body.name, read_role), (&login, &display, role.as_deref()));

            let body: ChangeAgentBody = parse(&rt, &object(&[
                ("name", name.clone().map(Value::from)),
                ("role", role.clone().map(Value::from)),
                ("active", active.map(Value::from)),
            ])).unwrap();
            let read_role = body.role.map(Role::as_str);
            prop_assert_eq!((&body.name, read_role, body.active), (&name, role.as_deref(), active));
        }
    }
}
