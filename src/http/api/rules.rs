//! The input rules of the agents' API, each stated once: the validator the
//! handlers call and the schema the OpenAPI document shows come from the
//! same constants, so they cannot drift apart.

use crate::domain::work::{MAX_AGENT_CHARS, agent_name};
use crate::http::error::ApiError;
use std::ops::RangeInclusive;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};

pub const DEFAULT_LIMIT: u32 = 50;
pub const LIMITS: RangeInclusive<u32> = 1..=200;
pub const MAX_NOTE_CHARS: usize = 2000;

/// The characters `char::is_control` refuses (Unicode Cc), as a regex class
/// body that ECMA-262 and Python's `re` read alike.
const CONTROL: &str = r"\u0000-\u001F\u007F-\u009F";
/// The non-control characters `str::trim` removes (Unicode White_Space).
const SPACE: &str = r" \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// `agent_name` as a pattern: no control characters, and not only
/// whitespace (a name is trimmed, so a blank one would be empty).
pub fn agent_pattern() -> String {
    format!("^[^{CONTROL}]*[^{CONTROL}{SPACE}][^{CONTROL}]*$")
}

pub fn limit_of(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !LIMITS.contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between {} and {}, got {limit}",
            LIMITS.start(),
            LIMITS.end()
        )));
    }
    Ok(limit)
}

pub fn agent_of(name: &str) -> Result<String, ApiError> {
    agent_name(name).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "agent must be 1-{MAX_AGENT_CHARS} characters, not only spaces, with no control characters"
        ))
    })
}

/// A blank note is no note.
pub fn note_of(note: Option<String>) -> Result<Option<String>, ApiError> {
    match note {
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => Err(ApiError::BadRequest(format!(
            "note must be at most {MAX_NOTE_CHARS} characters"
        ))),
        Some(n) if n.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

pub fn limit_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(*LIMITS.start()))
        .maximum(Some(*LIMITS.end()))
        .default(Some(DEFAULT_LIMIT.into()))
        .description(Some("Page size"))
        .into()
}

pub fn agent_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_AGENT_CHARS))
        .pattern(Some(agent_pattern()))
        .description(Some(
            "Who is acting (a name or login). Kept trimmed; a name of only spaces is refused.",
        ))
        .examples(["ann"])
        .into()
}

pub fn note_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(MAX_NOTE_CHARS))
        .description(Some("Free text; a blank note is kept as none."))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::routes;

    fn list_param(name: &str) -> serde_json::Value {
        let doc = serde_json::to_value(routes().1).unwrap();
        let params = doc["paths"]["/api/v1/callbacks"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .clone();
        params
            .into_iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no parameter {name}"))
    }

    /// The document's bounds are exactly where the validator's are.
    #[test]
    fn the_documented_limit_is_the_enforced_one() {
        let schema = &list_param("limit")["schema"];
        let min = schema["minimum"].as_u64().unwrap() as u32;
        let max = schema["maximum"].as_u64().unwrap() as u32;
        assert!(limit_of(Some(min)).is_ok());
        assert!(limit_of(Some(max)).is_ok());
        assert!(limit_of(Some(min - 1)).is_err());
        assert!(limit_of(Some(max + 1)).is_err());
        let default = schema["default"].as_u64().unwrap() as u32;
        assert_eq!(limit_of(None).unwrap(), default);
    }

    #[test]
    fn the_documented_agent_and_note_lengths_are_the_enforced_ones() {
        let doc = serde_json::to_value(routes().1).unwrap();
        let body = &doc["components"]["schemas"]["AttemptBody"];
        let max = body["properties"]["agent"]["maxLength"].as_u64().unwrap() as usize;
        assert!(agent_of(&"x".repeat(max)).is_ok());
        assert!(agent_of(&"x".repeat(max + 1)).is_err());
        assert_eq!(body["properties"]["agent"]["pattern"], agent_pattern());
        let max = body["properties"]["note"]["maxLength"].as_u64().unwrap() as usize;
        assert!(note_of(Some("x".repeat(max))).is_ok());
        assert!(note_of(Some("x".repeat(max + 1))).is_err());
        assert_eq!(body["additionalProperties"], false);
    }
}
