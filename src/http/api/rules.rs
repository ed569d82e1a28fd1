//! The input rules of the agents' API, each stated once: the validator the
//! handlers call and the schema the OpenAPI document shows come from the
//! same constants, so they cannot drift apart.

use crate::domain::agent::{
    LOGIN_PUNCTUATION, MAX_LOGIN_CHARS, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS,
};
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

/// Every character `str::trim` removes (Unicode White_Space).
fn trimmed() -> String {
    format!(r"\u0009-\u000D\u0085{SPACE}")
}

/// `agent_name` as a pattern: no control characters, and not only
/// whitespace (a name is trimmed, so a blank one would be empty).
pub fn agent_pattern() -> String {
    format!("^[^{CONTROL}]*[^{CONTROL}{SPACE}][^{CONTROL}]*$")
}

/// `agent::login` as a pattern: the letters, digits and punctuation of a
/// login in either case (it is lower-cased), with the spaces it trims.
pub fn login_pattern() -> String {
    let space = trimmed();
    let punctuation = regex::escape(LOGIN_PUNCTUATION);
    format!("^[{space}]*[A-Za-z0-9{punctuation}]{{1,{MAX_LOGIN_CHARS}}}[{space}]*$")
}

/// Text that is not blank once trimmed (a note's `text`).
pub fn text_pattern() -> String {
    format!(r"^[\s\S]*[^{}][\s\S]*$", trimmed())
}

pub fn limit_of(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !LIMITS.contains(&limit) {
        return Err(ApiError::bad_field(
            "limit",
            format!(
                "limit must be between {} and {}, got {limit}",
                LIMITS.start(),
                LIMITS.end()
            ),
        ));
    }
    Ok(limit)
}

pub fn agent_of(name: &str) -> Result<String, ApiError> {
    agent_name(name).ok_or_else(|| {
        ApiError::bad_field(
            "agent",
            format!(
                "agent must be 1-{MAX_AGENT_CHARS} characters, not only spaces, with no control characters"
            ),
        )
    })
}

/// A blank note is no note.
pub fn note_of(note: Option<String>) -> Result<Option<String>, ApiError> {
    note_in("note", note)
}

/// A note's `text`: a note that is not blank.
pub fn text_of(text: String) -> Result<String, ApiError> {
    note_in("text", Some(text))?
        .ok_or_else(|| ApiError::bad_field("text", "text must not be empty"))
}

/// A note given as the body's member `field`.
fn note_in(field: &str, note: Option<String>) -> Result<Option<String>, ApiError> {
    match note {
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => Err(ApiError::bad_field(
            field,
            format!("note must be at most {MAX_NOTE_CHARS} characters"),
        )),
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

/// An agent's phone: a number or a sip: URI, checked when applied.
pub fn phone_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(255))
        .description(Some(
            "A number (E.164, or national in the tenant's region) or a sip: URI; \"\" for none",
        ))
        .examples(["+819012345678"])
        .into()
}

pub fn agent_schema() -> Schema {
    name_like(
        "Who is acting (a name or login). Kept trimmed; a name of only spaces is refused.",
        "ann",
    )
}

/// A display name: the same rule as an acting agent's name.
pub fn name_schema() -> Schema {
    name_like(
        "Kept trimmed; no control characters, not only spaces.",
        "Ann Smith",
    )
}

fn name_like(description: &str, example: &str) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_AGENT_CHARS))
        .pattern(Some(agent_pattern()))
        .description(Some(description))
        .examples([example])
        .into()
}

pub fn login_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(login_pattern()))
        .description(Some(format!(
            "1-{MAX_LOGIN_CHARS} of a-z, 0-9 and {LOGIN_PUNCTUATION}; kept trimmed and lower-cased."
        )))
        .examples(["ann"])
        .into()
}

pub fn password_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(MIN_PASSWORD_CHARS))
        .max_length(Some(MAX_PASSWORD_CHARS))
        .description(Some(format!(
            "{MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} characters, not the current one."
        )))
        .into()
}

pub fn text_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_NOTE_CHARS))
        .pattern(Some(text_pattern()))
        .description(Some("The note; not blank."))
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
    use crate::domain::agent::{check_password_rules, display_name, login};
    use crate::http::routes;
    use proptest::prelude::*;
    use regex::Regex;

    fn schema(name: &str) -> serde_json::Value {
        static DOC: std::sync::LazyLock<serde_json::Value> =
            std::sync::LazyLock::new(|| serde_json::to_value(routes().1).unwrap());
        DOC["components"]["schemas"][name].clone()
    }

    /// Strings near the edges of the rules: controls, the spaces `trim`
    /// removes, login characters in both cases, and anything else.
    fn edgy(max: usize) -> impl Strategy<Value = String> {
        let c = prop_oneof![
            4 => prop::sample::select(&['a', 'Z', '0', '.', '_', '-', ' '][..]),
            1 => prop::sample::select(&['\t', '\n', '\r', '\u{0B}', '\u{1F}', '\u{7F}', '\u{85}', '\u{9F}'][..]),
            1 => prop::sample::select(&['\u{A0}', '\u{1680}', '\u{2000}', '\u{200A}', '\u{200B}', '\u{2028}', '\u{202F}', '\u{3000}', '\u{FEFF}', '\u{3042}'][..]),
            1 => any::<char>(),
        ];
        prop::collection::vec(c, 0..=max).prop_map(String::from_iter)
    }
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

    /// A string schema's rules, as a validator reads them.
    fn documented(schema: &serde_json::Value) -> impl Fn(&str) -> bool + use<> {
        let pattern = schema["pattern"].as_str().map(|p| Regex::new(p).unwrap());
        let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
        let max = schema["maxLength"]
            .as_u64()
            .map_or(usize::MAX, |m| m as usize);
        move |s: &str| {
            let n = s.chars().count();
            (min..=max).contains(&n) && pattern.as_ref().is_none_or(|p| p.is_match(s))
        }
    }

    #[test]
    fn the_session_and_agent_bodies_document_the_domain_rules() {
        let password = &schema("PasswordBody")["properties"]["new_password"];
        let ok = documented(password);
        for n in [
            MIN_PASSWORD_CHARS - 1,
            MIN_PASSWORD_CHARS,
            MAX_PASSWORD_CHARS,
            MAX_PASSWORD_CHARS + 1,
        ] {
            let p = "p".repeat(n);
            assert_eq!(ok(&p), check_password_rules(&p).is_ok(), "{n}");
        }
        let new = schema("NewAgentBody");
        assert_eq!(new["properties"]["login"]["pattern"], login_pattern());
        assert_eq!(new["properties"]["name"]["pattern"], agent_pattern());
        assert_eq!(new["properties"]["name"]["maxLength"], MAX_AGENT_CHARS);
        assert_eq!(
            schema("ChangeAgentBody")["properties"]["name"],
            new["properties"]["name"]
        );
        assert_eq!(
            schema("SignInBody")["properties"]["login"]["pattern"],
            login_pattern()
        );
        let roles = serde_json::json!(["agent", "supervisor", "admin"]);
        assert_eq!(schema("Role")["enum"], roles);
        for body in ["NewAgentBody", "ChangeAgentBody", "AgentView", "Me"] {
            let role = &schema(body)["properties"]["role"];
            let role = role.get("oneOf").map_or(role, |o| &o[1]);
            assert_eq!(role["$ref"], "#/components/schemas/Role", "{body}");
        }
    }

    #[test]
    fn the_notes_and_assign_bodies_document_the_domain_rules() {
        let note = schema("NoteBody");
        assert_eq!(
            note["properties"]["agent"],
            schema("AgentBody")["properties"]["agent"]
        );
        assert_eq!(note["properties"]["text"]["maxLength"], MAX_NOTE_CHARS);
        let assign = schema("AssignBody");
        assert_eq!(assign["properties"]["agent"], note["properties"]["agent"]);
        assert_eq!(
            assign["properties"]["note"],
            schema("AttemptBody")["properties"]["note"]
        );
        assert_eq!(assign["properties"]["to"]["pattern"], login_pattern());
        assert_eq!(assign["additionalProperties"], false);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The documented pattern and length accept exactly the names the
        /// domain accepts (the pattern is a translation of its rules).
        #[test]
        fn the_agent_pattern_is_the_domain_rule(name in edgy(MAX_AGENT_CHARS + 2)) {
            let documented = documented(&schema("AgentBody")["properties"]["agent"]);
            prop_assert_eq!(documented(&name), agent_name(&name).is_some());
            prop_assert_eq!(documented(&name), display_name(&name).is_ok());
        }

        #[test]
        fn the_login_pattern_is_the_domain_rule(name in edgy(MAX_LOGIN_CHARS + 2)) {
            let documented = documented(&schema("AssignBody")["properties"]["to"]);
            prop_assert_eq!(documented(&name), login(&name).is_ok());
        }

        #[test]
        fn the_text_rule_is_the_domain_rule(text in edgy(40)) {
            let documented = documented(&schema("NoteBody")["properties"]["text"]);
            prop_assert_eq!(documented(&text), matches!(note_of(Some(text.clone())), Ok(Some(_))));
        }
    }
}
