//! What the handlers' annotations cannot say on their own, added to the
//! document from the same predicates and constants the code runs on: the
//! Idempotency-Key header, Twilio's signature header, the session's CSRF
//! header, the rate limits' 429, the body limit's 413, and the links that
//! lead from a listed record to everything that can be done with it.

use crate::http::api::idempotency::{self, KEY_PATTERN, MAX_KEY_CHARS, changes_state};
use crate::http::error::ApiError;
use crate::http::extract::too_large;
use crate::twilio::signature::SIGNATURE_HEADER;
use axum::http::Method;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Ref, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{OpenApi, RefOr, Required};

/// The operations on one record, by operation id: where a record's `id`
/// leads.
const RECORD_OPERATIONS: [&str; 6] = [
    "get_callback",
    "claim",
    "release",
    "log_attempt",
    "complete",
    "recording",
];

pub fn complete(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            (Method::GET, item.get.as_mut()),
            (Method::PUT, item.put.as_mut()),
            (Method::POST, item.post.as_mut()),
            (Method::DELETE, item.delete.as_mut()),
            (Method::PATCH, item.patch.as_mut()),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            // OpenAPI requires path parameters to be required; utoipa marks
            // one with its own schema (`schema_with`) optional.
            for parameter in operation.parameters.iter_mut().flatten() {
                if parameter.parameter_in == ParameterIn::Path {
                    parameter.required = Required::True;
                }
            }
            if changes_state(&method, path) {
                add_idempotency_key(operation);
            }
            if path.starts_with("/twilio/") {
                add_signature(operation);
            }
            if method != Method::GET {
                add_csrf(operation);
            }
            if operation.request_body.is_some() {
                add_too_large(operation);
            }
            if is_rate_limited(path) {
                add_too_many_requests(operation);
            }
            // Last: every answer, those added above too.
            if path.starts_with(crate::http::API_PREFIX) {
                add_no_store(operation);
            }
        }
    }
}

/// Every API answer, errors too, is `Cache-Control: no-store`
/// (`http::protective_headers`).
fn add_no_store(operation: &mut Operation) {
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            let mut header = Header::new(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["no-store"])),
            );
            header.description = Some(
                "Never stored by a browser: the answer may hold personal data or a secret".into(),
            );
            response.headers.insert("Cache-Control".into(), header);
        }
    }
}

/// The scheme of the session's CSRF header, in the document's components.
pub const CSRF_SCHEME: &str = "csrf";

/// A session's write also needs its CSRF header (`auth::authenticate`):
/// both schemes in one requirement, which OpenAPI reads as "and".
fn add_csrf(operation: &mut Operation) {
    let session = SecurityRequirement::new("session", Vec::<String>::new());
    for requirement in operation.security.iter_mut().flatten() {
        if *requirement == session {
            *requirement = session.clone().add(CSRF_SCHEME, Vec::<String>::new());
        }
    }
}

fn error_response(description: &str, code: &str, message: &str) -> RefOr<Response> {
    let example = serde_json::json!({"error": {"code": code, "message": message}});
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .example(Some(example))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .build()
        .into()
}

/// Every body is limited (`MAX_BODY_BYTES`), whoever reads it.
fn add_too_large(operation: &mut Operation) {
    let message = too_large("request bodies").to_string();
    operation
        .responses
        .responses
        .entry("413".into())
        .or_insert_with(|| error_response("Body over 64 KiB", "payload_too_large", &message));
}

/// Every API operation that authenticates (or signs in) is rate limited;
/// webhooks never are.
fn is_rate_limited(path: &str) -> bool {
    path.starts_with("/api/v1/") && path != crate::http::OPENAPI_PATH
}

/// The 429 of the rate limits, or of a locked login where the operation
/// documents its own, with `Retry-After`.
fn add_too_many_requests(operation: &mut Operation) {
    let response = operation
        .responses
        .responses
        .entry("429".into())
        .or_insert_with(|| {
            error_response(
                "Too many requests for this tenant: retry after `Retry-After` seconds",
                "too_many_requests",
                "too many requests for this tenant: retry after 1 s",
            )
        });
    if let RefOr::T(response) = response {
        let seconds = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1));
        let mut header = Header::new(seconds);
        header.description = Some("Whole seconds to wait before retrying".into());
        response.headers.insert("Retry-After".into(), header);
    }
}

fn add_idempotency_key(operation: &mut Operation) {
    let parameter = ParameterBuilder::new()
        .name(idempotency::HEADER)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes a retry safe: the same key with the same body within 24 h gets the first \
             answer again (with `Idempotent-Replayed: true`); with another body, 422. \
             Keys are per sender (the signed-in agent or the API key): another sender's \
             same key is its own. A sender whose role was lowered since gets 403, not the answer.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_KEY_CHARS))
                .pattern(Some(KEY_PATTERN)),
        ))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(parameter);
    let responses = &mut operation.responses.responses;
    responses.entry("400".into()).or_insert_with(|| {
        error_response(
            "A malformed Idempotency-Key",
            "bad_request",
            &idempotency::bad_key().to_string(),
        )
    });
    responses.entry("409".into()).or_insert_with(|| {
        error_response(
            "A request with this Idempotency-Key is still running",
            "conflict",
            "a request with this Idempotency-Key is still running; retry later",
        )
    });
    responses.entry("422".into()).or_insert_with(|| {
        error_response(
            "The Idempotency-Key was used with another request",
            "idempotency_key_reused",
            &ApiError::KeyReused.to_string(),
        )
    });
    // A replay is of any answer but a 5xx.
    for (status, response) in responses.iter_mut() {
        if let RefOr::T(response) = response
            && !status.starts_with('5')
        {
            response.headers.insert(
                idempotency::REPLAYED_HEADER.into(),
                Header::new(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(["true"])),
                ),
            );
        }
    }
}

fn add_signature(operation: &mut Operation) {
    let parameter = ParameterBuilder::new()
        .name(SIGNATURE_HEADER)
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some(
            "Twilio's signature of the public URL and the form, with the tenant's auth token",
        ))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(parameter);
}

/// The document as served: `doc` with the links. They are added to the
/// JSON because utoipa 5.5 writes a link's `operationId` as `operation_id`.
pub fn document(doc: &OpenApi) -> serde_json::Value {
    let mut json = serde_json::to_value(doc).unwrap_or_default();
    if let Some(paths) = json["paths"].as_object_mut() {
        for item in paths.values_mut() {
            for method in ["get", "post"] {
                if let Some(operation) = item.get_mut(method) {
                    link_record(operation);
                }
            }
        }
    }
    json
}

/// The list links its first item's id, a record's answer its own `id`.
fn link_record(operation: &mut serde_json::Value) {
    let id = match operation["operationId"].as_str() {
        Some("list_callbacks") => "$response.body#/items/0/id",
        Some(op) if RECORD_OPERATIONS.contains(&op) && op != "recording" => "$response.body#/id",
        _ => return,
    };
    let links: serde_json::Map<String, serde_json::Value> = RECORD_OPERATIONS
        .iter()
        .map(|target| {
            let link = serde_json::json!({
                "operationId": target,
                "parameters": { "id": id },
            });
            ((*target).to_owned(), link)
        })
        .collect();
    operation["responses"]["200"]["links"] = links.into();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::routes;

    fn operations(doc: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
        let mut found = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                found.push((method.clone(), path.clone(), operation.clone()));
            }
        }
        found
    }

    fn has_header(operation: &serde_json::Value, name: &str) -> Option<bool> {
        operation["parameters"]
            .as_array()?
            .iter()
            .find(|p| p["in"] == "header" && p["name"] == name)
            .map(|p| p["required"] == true)
    }

    #[test]
    fn keys_and_signatures_are_where_the_code_wants_them() {
        let doc = document(&routes().1);
        for (method, path, operation) in operations(&doc) {
            let changes = changes_state(&method.to_uppercase().parse().unwrap(), &path);
            let key = has_header(&operation, idempotency::HEADER);
            assert_eq!(key, changes.then_some(false), "{method} {path}");
            let signed = has_header(&operation, SIGNATURE_HEADER);
            assert_eq!(
                signed,
                path.starts_with("/twilio/").then_some(true),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn every_api_operation_documents_429_with_retry_after() {
        let doc = document(&routes().1);
        let mut limited = 0;
        for (method, path, operation) in operations(&doc) {
            let too_many = &operation["responses"]["429"];
            if !is_rate_limited(&path) {
                assert!(too_many.is_null(), "{method} {path}");
                continue;
            }
            limited += 1;
            assert_eq!(
                too_many["headers"]["Retry-After"]["schema"],
                serde_json::json!({"type": "integer", "minimum": 1}),
                "{method} {path}"
            );
            assert_eq!(
                too_many["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path}"
            );
        }
        assert!(limited >= 17, "{limited}");
    }

    /// Clients and schemathesis name operations by their ids: one each.
    #[test]
    fn every_operation_id_is_unique() {
        let doc = document(&routes().1);
        let mut seen = std::collections::HashMap::new();
        for (method, path, operation) in operations(&doc) {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if let Some(first) = seen.insert(id.clone(), format!("{method} {path}")) {
                panic!("{id}: {first} and {method} {path}");
            }
        }
    }

    /// Session-only operations say so; a session's writes need the CSRF
    /// header too, its reads only the cookie.
    #[test]
    fn sessions_need_their_cookie_and_writes_their_csrf_header() {
        let doc = document(&routes().1);
        let session = serde_json::json!({"session": []});
        let write = serde_json::json!({"session": [], "csrf": []});
        for (method, path, operation) in operations(&doc) {
            let Some(security) = operation["security"].as_array() else {
                continue;
            };
            // `/metrics` has a token of its own, for a scraper.
            if security == &[serde_json::json!({crate::http::metrics::TOKEN_SCHEME: []})] {
                continue;
            }
            let wanted = if method == "get" { &session } else { &write };
            assert!(security.contains(wanted), "{method} {path}");
            let other = if method == "get" { &write } else { &session };
            assert!(!security.contains(other), "{method} {path}");
        }
        let session_only = [
            ("get", "/api/v1/me"),
            ("delete", "/api/v1/sessions/current"),
            ("post", "/api/v1/me/password"),
        ];
        for (method, path) in session_only {
            let security = &doc["paths"][path][method]["security"];
            let wanted = if method == "get" { &session } else { &write };
            assert_eq!(security, &serde_json::json!([wanted]), "{method} {path}");
        }
        let csrf = &doc["components"]["securitySchemes"][CSRF_SCHEME];
        assert_eq!(csrf["in"], "header");
        assert!(
            csrf["name"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(crate::http::api::auth::CSRF_HEADER)
        );
    }

    #[test]
    fn every_body_can_be_too_large_and_keyed_operations_replay() {
        let doc = document(&routes().1);
        let mut bodies = 0;
        for (method, path, operation) in operations(&doc) {
            if !operation["requestBody"].is_null() {
                bodies += 1;
                assert!(operation["responses"]["413"].is_object(), "{method} {path}");
            }
            if changes_state(&method.to_uppercase().parse().unwrap(), &path) {
                for status in ["400", "409", "422"] {
                    let example =
                        &operation["responses"][status]["content"]["application/json"]["example"];
                    assert!(
                        example["error"]["code"].is_string(),
                        "{method} {path} {status}"
                    );
                }
            }
        }
        assert!(bodies >= 20, "{bodies}");
    }

    #[test]
    fn every_api_answer_documents_no_store() {
        let doc = document(&routes().1);
        let mut answers = 0;
        for (method, path, operation) in operations(&doc) {
            let api = path.starts_with(crate::http::API_PREFIX);
            for (status, response) in operation["responses"].as_object().unwrap() {
                let header = &response["headers"]["Cache-Control"];
                if api {
                    answers += 1;
                    assert_eq!(
                        header["schema"],
                        serde_json::json!({"type": "string", "enum": ["no-store"]}),
                        "{method} {path} {status}"
                    );
                } else {
                    assert!(header.is_null(), "{method} {path} {status}");
                }
            }
        }
        assert!(answers >= 150, "{answers}");
    }

    #[test]
    fn the_recording_documents_its_headers() {
        let doc = document(&routes().1);
        let recording = &doc["paths"]["/api/v1/callbacks/{id}/recording"]["get"];
        let range = recording["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["in"] == "header" && p["name"] == "Range");
        assert_eq!(range.map(|p| &p["required"]), Some(&false.into()));
        let responses = &recording["responses"];
        assert!(responses["206"]["headers"]["Content-Range"].is_object());
        assert!(responses["416"]["headers"]["Content-Range"].is_object());
        assert!(responses["302"]["headers"]["Location"].is_object());
        assert!(responses["403"].is_object());
    }

    #[test]
    fn settings_state_the_bounds_and_choices_the_domain_checks() {
        use crate::domain::settings::{Kind, SETTINGS};
        let doc = document(&routes().1);
        for name in ["SettingsView", "SettingsPatch"] {
            let properties = &doc["components"]["schemas"][name]["properties"];
            for setting in &SETTINGS {
                let Kind::Integer { min, max } = setting.kind else {
                    continue;
                };
                let property = &properties[setting.name];
                assert_eq!(property["minimum"], min, "{name}.{}", setting.name);
                assert_eq!(property["maximum"], max, "{name}.{}", setting.name);
            }
            let language = &properties["language"]["enum"];
            assert_eq!(language[0], "ja-JP", "{name}");
            assert_eq!(language[1], "en-US", "{name}");
        }
        let patch = &doc["components"]["schemas"]["SettingsPatch"];
        assert_eq!(patch["additionalProperties"], false);
        assert_eq!(
            patch["properties"]["routing_mode"]["enum"],
            serde_json::json!(["overflow", "dial", "queue", null])
        );
    }

    #[test]
    fn links_lead_to_operations_that_exist() {
        let doc = document(&routes().1);
        let ids: Vec<String> = operations(&doc)
            .iter()
            .filter_map(|(_, _, op)| op["operationId"].as_str().map(str::to_owned))
            .collect();
        let list = &doc["paths"]["/api/v1/callbacks"]["get"]["responses"]["200"]["links"];
        assert_eq!(list.as_object().unwrap().len(), RECORD_OPERATIONS.len());
        for (_, _, operation) in operations(&doc) {
            for link in operation["responses"]["200"]["links"]
                .as_object()
                .into_iter()
                .flat_map(|links| links.values())
            {
                let target = link["operationId"].as_str().unwrap();
                assert!(ids.iter().any(|id| id == target), "{target}");
            }
        }
    }
}
