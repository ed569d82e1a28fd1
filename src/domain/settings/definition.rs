//! The settings a tenant's admin reads and changes, each defined once:
//! its name, the kind of value it takes (bounds, choices) and where it
//! lives in `TenantSettings`. The CLI's flags and their checks, the API's
//! view and patch, their OpenAPI schemas and the page's form (the `fields`
//! of `GET /api/v1/settings`) are all made from `SETTINGS`.
//!
//! A new setting is a field of `TenantSettings` and an entry here; a list
//! of texts is `Kind::List`, its items' form a `ListItem`. Another
//! structured one (a text per prompt with a reset, holidays to add and
//! remove) will bring its own `Kind` and `Value` variants; the doors handle
//! a kind, never a setting.

use crate::domain::callback_window::{self, MAX_WINDOWS};
use crate::domain::phone::{E164, Region};
use crate::domain::prompts::Language;
use crate::domain::routing::RoutingMode;
use crate::domain::settings::{OutOfRange, SettingsError};
use crate::domain::speech::NumberEntry;
use crate::domain::tenant::{
    MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, RecordingFormat, TenantError, TenantSettings,
};
use serde::Serialize;

/// What a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    /// A whole number from `min` to `max`.
    Integer {
        min: u32,
        max: u32,
    },
    /// Text the setting's own rules check when applied (a voice, a time
    /// zone), at most `max_length` characters where bounded.
    Text {
        max_length: Option<usize>,
    },
    /// One of these, as written.
    Choice(&'static [&'static str]),
    /// A phone number in E.164 (`+` and the country code), or none: the
    /// empty text.
    Phone,
    /// At most `max_items` texts of the form `item` says, checked together
    /// (an empty list is a value too: none).
    List {
        max_items: usize,
        item: ListItem,
    },
}

/// What the items of a list setting are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListItem {
    /// A callback window, `1=09:00-12:00`.
    CallbackWindow,
}

impl ListItem {
    /// An item's form, for `--help`.
    pub fn value_name(self) -> &'static str {
        match self {
            ListItem::CallbackWindow => "KEY=HH:MM-HH:MM",
        }
    }

    /// A pattern every item matches (ECMA-262, for the API's document);
    /// the item's own check is stricter (times of the day, in order).
    pub fn pattern(self) -> &'static str {
        match self {
            ListItem::CallbackWindow => callback_window::PATTERN,
        }
    }

    /// An item, as the page's form and the document show one.
    pub fn example(self) -> &'static str {
        match self {
            ListItem::CallbackWindow => "1=09:00-12:00",
        }
    }

    /// The items, each checked and the list as a whole, as they are kept
    /// (in their own order and form).
    fn check(self, items: &[String]) -> Result<Vec<String>, String> {
        match self {
            ListItem::CallbackWindow => callback_window::parse_windows(items)
                .map(|windows| windows.iter().map(ToString::to_string).collect())
                .map_err(|e| e.to_string()),
        }
    }
}

impl Kind {
    /// What a value of this kind looks like, for a refusal.
    fn expected(self) -> String {
        match self {
            Kind::Boolean => "true or false".into(),
            Kind::Integer { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Text { .. } => "text".into(),
            Kind::Choice(choices) => one_of(choices),
            Kind::Phone => "a number in E.164 such as +81501234567, or \"\" for none".into(),
            Kind::List { max_items, item } => {
                format!("a list of at most {max_items} like {}", item.example())
            }
        }
    }
}

/// `a`, `a` or `b`, one of `a`, `b`, `c`: how serde lists choices.
fn one_of(choices: &[&str]) -> String {
    let quoted: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
    match quoted.as_slice() {
        [one] => one.clone(),
        [a, b] => format!("{a} or {b}"),
        many => format!("one of {}", many.join(", ")),
    }
}

/// A setting's value, as the doors carry it; JSON writes it plainly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Boolean(bool),
    Integer(u32),
    Text(String),
    List(Vec<String>),
}

impl Value {
    fn text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    fn list(&self) -> Option<&[String]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }
}

#[derive(Clone, Copy)]
pub struct Setting {
    /// The API's member, the CLI's flag (`_` as `-`), the page's
    /// `set_<name>` label.
    pub name: &'static str,
    pub kind: Kind,
    /// One line for `--help` and the API document.
    pub help: &'static str,
    read: fn(&TenantSettings) -> Value,
    /// Only ever given a value `check` passed.
    write: fn(&mut TenantSettings, &Value),
}

impl std::fmt::Debug for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setting")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Setting {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Setting {}

impl Setting {
    /// The setting called `name`.
    pub fn find(name: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|s| s.name == name)
    }

    /// The page's label key (strings.js).
    pub fn label(&self) -> String {
        format!("set_{}", self.name)
    }

    pub fn read(&self, settings: &TenantSettings) -> Value {
        (self.read)(settings)
    }

    pub(super) fn write(&self, settings: &mut TenantSettings, value: &Value) {
        (self.write)(settings, value);
    }

    fn refused(&self, message: String) -> SettingsError {
        SettingsError::Value {
            field: self.name,
            message,
        }
    }

    /// `value` if it is of this setting's kind, within its bounds and
    /// choices.
    pub fn check(&self, value: Value) -> Result<Value, SettingsError> {
        match (self.kind, &value) {
            (Kind::Boolean, Value::Boolean(_)) => Ok(value),
            (Kind::Integer { min, max }, Value::Integer(got)) => {
                OutOfRange::check(self.name, *got, min, max).map_err(TenantError::from)?;
                Ok(value)
            }
            (Kind::Text { max_length }, Value::Text(text)) => match max_length {
                Some(max) if text.chars().count() > max => {
                    Err(self.refused(format!("at most {max} characters")))
                }
                _ => Ok(value),
            },
            (Kind::Phone, Value::Text(text)) if text.is_empty() => Ok(value),
            (Kind::Phone, Value::Text(text)) => match e164(text) {
                Some(number) => Ok(Value::Text(number.as_str().to_owned())),
                None => Err(self.refused(format!("{text:?} is not {}", self.kind.expected()))),
            },
            (Kind::Choice(choices), Value::Text(text)) => {
                if choices.contains(&text.as_str()) {
                    Ok(value)
                } else {
                    Err(self.refused(format!(
                        "unknown variant `{text}`, expected {}",
                        one_of(choices)
                    )))
                }
            }
            (Kind::List { max_items, item }, Value::List(items)) => {
                if items.len() > max_items {
                    return Err(
                        self.refused(format!("at most {max_items} items, got {}", items.len()))
                    );
                }
                item.check(items)
                    .map(Value::List)
                    .map_err(|message| self.refused(message))
            }
            _ => Err(self.refused(format!("expected {}", self.kind.expected()))),
        }
    }

    /// A value as typed (a command-line flag), checked.
    pub fn parse(&self, text: &str) -> Result<Value, SettingsError> {
        let value = match self.kind {
            Kind::Boolean => match text {
                "true" => Value::Boolean(true),
                "false" => Value::Boolean(false),
                _ => return Err(self.refused(format!("expected true or false, got {text:?}"))),
            },
            Kind::Integer { .. } => match text.trim().parse() {
                Ok(n) => Value::Integer(n),
                Err(_) => {
                    return Err(
                        self.refused(format!("expected {}, got {text:?}", self.kind.expected()))
                    );
                }
            },
            Kind::Text { .. } | Kind::Choice(_) => Value::Text(text.to_owned()),
            // As `--dial-caller-id` takes it too.
            Kind::Phone if text == "none" => Value::Text(String::new()),
            Kind::Phone => Value::Text(text.trim().to_owned()),
            // One item: the command line gathers a list flag's values.
            Kind::List { .. } => Value::List(vec![text.to_owned()]),
        };
        self.check(value)
    }
}

/// A number written in E.164 (with its `+`): the region never applies.
fn e164(text: &str) -> Option<E164> {
    text.starts_with('+')
        .then(|| E164::parse(text, Region::JP).ok())
        .flatten()
}

/// A setting whose value is a field of `TenantSettings` (a path into it).
macro_rules! setting {
    ($name:literal, boolean, $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            kind: Kind::Boolean,
            help: $help,
            read: |s| Value::Boolean(s.$($field).+),
            write: |s, v| {
                if let Value::Boolean(b) = v {
                    s.$($field).+ = *b;
                }
            },
        }
    };
    ($name:literal, integer($min:expr, $max:expr), $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            kind: Kind::Integer { min: $min, max: $max },
            help: $help,
            read: |s| Value::Integer(s.$($field).+),
            write: |s, v| {
                if let Value::Integer(n) = v {
                    s.$($field).+ = *n;
                }
            },
        }
    };
    ($name:literal, text, $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            kind: Kind::Text { max_length: None },
            help: $help,
            read: |s| Value::Text(s.$($field).+.clone()),
            write: |s, v| {
                if let Value::Text(t) = v {
                    s.$($field).+ = t.clone();
                }
            },
        }
    };
    // A number, or none (the empty text).
    ($name:literal, phone, $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            kind: Kind::Phone,
            help: $help,
            read: |s| Value::Text(s.$($field).+.as_ref().map_or_else(String::new, |n| n.as_str().to_owned())),
            write: |s, v| {
                if let Some(text) = v.text() {
                    s.$($field).+ = e164(text);
                }
            },
        }
    };
    // A list of items kept as a `Vec` of a type that reads and writes
    // itself as text (`FromStr`, `Display`).
    ($name:literal, list($item:expr, $max:expr), $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            kind: Kind::List { max_items: $max, item: $item },
            help: $help,
            read: |s| Value::List(s.$($field).+.iter().map(ToString::to_string).collect()),
            write: |s, v| {
                if let Some(items) = v.list() {
                    s.$($field).+ = items.iter().filter_map(|i| i.parse().ok()).collect();
                }
            },
        }
    };
    // An enum, by its names; `FromStr` reads a name back.
    ($name:literal, choice($names:expr, $as_str:expr), $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            kind: Kind::Choice(&$names),
            help: $help,
            read: |s| Value::Text($as_str(s.$($field).+).to_owned()),
            write: |s, v| {
                if let Some(Ok(choice)) = v.text().map(str::parse) {
                    s.$($field).+ = choice;
                }
            },
        }
    };
}

/// In the order the page shows them.
pub static SETTINGS: [Setting; 21] = [
    setting!(
        "language",
        choice(Language::CODES, Language::code),
        "The callers' language; a new one brings its default voice unless a voice is given.",
        language
    ),
    setting!(
        "voice",
        text,
        "Twilio <Say> voice; must speak the language.",
        voice
    ),
    // Twilio's own bounds for <Record maxLength> are 1..14400; a callback
    // request longer than an hour is a mistake.
    setting!(
        "max_recording_seconds",
        integer(5, 3600),
        "The longest recording of a caller's request, in seconds.",
        max_recording_seconds
    ),
    setting!(
        "number_entry_attempts",
        integer(1, 10),
        "How many times the IVR asks before it ends the call politely.",
        number_entry_attempts
    ),
    setting!(
        "max_callback_attempts",
        integer(1, 20),
        "Attempts before a callback fails.",
        max_callback_attempts
    ),
    setting!(
        "callback_sla_minutes",
        integer(1, 60 * 24 * 14),
        "Minutes from the call to when its callback is due.",
        callback_sla_minutes
    ),
    setting!(
        "claim_timeout_minutes",
        integer(1, 60 * 24),
        "Minutes after which an agent's claim lapses.",
        claim_timeout_minutes
    ),
    setting!(
        "retry_delay_minutes",
        integer(1, 60 * 24 * 7),
        "Minutes until an unreached callback is due again.",
        retry_delay_minutes
    ),
    setting!(
        "retention_days",
        integer(MIN_RETENTION_DAYS, MAX_RETENTION_DAYS),
        "Days a completed or failed record and its recordings are kept.",
        retention_days
    ),
    setting!(
        "time_zone",
        text,
        "IANA time zone, e.g. Asia/Tokyo; any other name is refused.",
        time_zone
    ),
    setting!(
        "delete_twilio_recording",
        boolean,
        "Delete Twilio's copy of a recording once ours is stored.",
        delete_twilio_recording
    ),
    setting!(
        "recording_format",
        choice(RecordingFormat::NAMES, RecordingFormat::extension),
        "Fetch recordings from Twilio as wav, or mp3 (a tenth of the size).",
        recording_format
    ),
    setting!(
        "routing_mode",
        choice(RoutingMode::NAMES, RoutingMode::as_str),
        "overflow: the IVR at once; dial: ring the agents first; queue: wait in a Twilio queue.",
        routing.mode
    ),
    setting!(
        "closed_now",
        boolean,
        "Closed now, whatever the hours say.",
        schedule.closed_now
    ),
    // Calling back from afureko (click-to-call).
    setting!(
        "outbound_caller_id",
        phone,
        "The tenant's Twilio number (E.164) a call back shows the customer; click-to-call is off until it is set.",
        outbound_caller_id
    ),
    setting!(
        "agent_ring_seconds",
        integer(10, 60),
        "Seconds click-to-call rings the agent's phone.",
        agent_ring_seconds
    ),
    setting!(
        "callback_recording",
        boolean,
        "Record call backs (both parties, after a consent notice to the customer).",
        callback_recording
    ),
    setting!(
        "reached_min_seconds",
        integer(0, 300),
        "A call back shorter than this (seconds) is logged no_answer, not reached.",
        reached_min_seconds
    ),
    // Issue #22: what the caller is told and may choose.
    setting!(
        "announce_due",
        boolean,
        "Tell callers by when they will be called back ({due} in the prompts); off, no time is promised.",
        announce_due
    ),
    setting!(
        "callback_windows",
        list(ListItem::CallbackWindow, MAX_WINDOWS),
        "Times a caller may choose to be called back in, each on its key (1=09:00-12:00), within business hours; none: no choice.",
        callback_windows
    ),
    setting!(
        "number_entry",
        choice(NumberEntry::NAMES, NumberEntry::as_str),
        "dtmf: the number is typed; dtmf-speech: typed or said.",
        number_entry
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    fn setting(name: &str) -> &'static Setting {
        Setting::find(name).unwrap()
    }

    /// Every setting reads back what it wrote, in the form serde stores.
    #[test]
    fn each_setting_writes_and_reads_its_own_field() {
        let defaults = TenantSettings::default();
        let stored = serde_json::to_value(&defaults).unwrap();
        for s in &SETTINGS {
            let value = s.read(&defaults);
            let json = serde_json::to_value(&value).unwrap();
            let path = match s.name {
                "routing_mode" => &stored["routing"]["mode"],
                "closed_now" => &stored["schedule"]["closed_now"],
                name => &stored[name],
            };
            // No number is stored as null, and offered as "".
            let none = serde_json::json!("");
            let path = if s.kind == Kind::Phone && path.is_null() {
                &none
            } else {
                path
            };
            assert_eq!(&json, path, "{}", s.name);
            let mut written = TenantSettings::default();
            s.write(&mut written, &s.check(value.clone()).unwrap());
            assert_eq!(written, defaults, "{}", s.name);
        }
        let mode = setting("routing_mode");
        let mut settings = TenantSettings::default();
        mode.write(&mut settings, &mode.parse("queue").unwrap());
        assert_eq!(settings.routing.mode, RoutingMode::Queue);
        assert_eq!(mode.read(&settings), Value::Text("queue".into()));
    }

    #[test]
    fn names_are_unique_and_choices_are_the_enums_as_serde_writes_them() {
        for (i, s) in SETTINGS.iter().enumerate() {
            assert!(SETTINGS[..i].iter().all(|o| o.name != s.name), "{}", s.name);
        }
        let serde_names = |all: Vec<serde_json::Value>| -> Vec<String> {
            all.iter().map(|v| v.as_str().unwrap().to_owned()).collect()
        };
        let kinds = [
            (
                "language",
                serde_names(Language::ALL.iter().map(|l| serde_json::json!(l)).collect()),
            ),
            (
                "recording_format",
                serde_names(
                    RecordingFormat::ALL
                        .iter()
                        .map(|f| serde_json::json!(f))
                        .collect(),
                ),
            ),
            (
                "routing_mode",
                serde_names(
                    RoutingMode::ALL
                        .iter()
                        .map(|m| serde_json::json!(m))
                        .collect(),
                ),
            ),
            (
                "number_entry",
                serde_names(
                    NumberEntry::ALL
                        .iter()
                        .map(|e| serde_json::json!(e))
                        .collect(),
                ),
            ),
        ];
        for (name, names) in kinds {
            let Kind::Choice(choices) = setting(name).kind else {
                panic!("{name} is a choice");
            };
            assert_eq!(choices, names.as_slice(), "{name}");
        }
    }

    #[test]
    fn values_are_checked_against_kind_bounds_and_choices() {
        let sla = setting("callback_sla_minutes");
        assert_eq!(sla.parse("17"), Ok(Value::Integer(17)));
        assert_eq!(
            sla.parse("0").unwrap_err().to_string(),
            "callback_sla_minutes must be between 1 and 20160, got 0"
        );
        assert_eq!(
            sla.parse("soon").unwrap_err().to_string(),
            "callback_sla_minutes: expected a whole number from 1 to 20160, got \"soon\""
        );
        assert_eq!(
            sla.check(Value::Text("17".into())).unwrap_err().to_string(),
            "callback_sla_minutes: expected a whole number from 1 to 20160"
        );
        let language = setting("language");
        assert_eq!(
            language.parse("fr-FR").unwrap_err().to_string(),
            "language: unknown variant `fr-FR`, expected `ja-JP` or `en-US`"
        );
        assert_eq!(
            setting("routing_mode")
                .parse("ring")
                .unwrap_err()
                .to_string(),
            "routing_mode: unknown variant `ring`, expected one of `overflow`, `dial`, `queue`"
        );
        let closed = setting("closed_now");
        assert_eq!(closed.parse("true"), Ok(Value::Boolean(true)));
        assert_eq!(closed.parse("yes").unwrap_err().field(), "closed_now");
        let caller_id = setting("outbound_caller_id");
        assert_eq!(
            caller_id.parse("+81 50 1234 5678"),
            Ok(Value::Text("+815012345678".into()))
        );
        assert_eq!(caller_id.parse("none"), Ok(Value::Text(String::new())));
        assert_eq!(
            caller_id.check(Value::Text(String::new())),
            Ok(Value::Text(String::new()))
        );
        assert_eq!(
            caller_id.parse("0501234567").unwrap_err().to_string(),
            "outbound_caller_id: \"0501234567\" is not a number in E.164 such as +81501234567, or \"\" for none"
        );
        assert_eq!(
            caller_id.check(Value::Integer(5)).unwrap_err().to_string(),
            "outbound_caller_id: expected a number in E.164 such as +81501234567, or \"\" for none"
        );
        let mut settings = TenantSettings::default();
        caller_id.write(&mut settings, &caller_id.parse("+815012345678").unwrap());
        assert_eq!(
            settings.outbound_caller_id.as_ref().map(E164::as_str),
            Some("+815012345678")
        );
        caller_id.write(&mut settings, &Value::Text(String::new()));
        assert_eq!(settings.outbound_caller_id, None);
        let short = Setting {
            name: "short",
            kind: Kind::Text {
                max_length: Some(3),
            },
            ..*setting("voice")
        };
        assert_eq!(short.parse("abc"), Ok(Value::Text("abc".into())));
        assert_eq!(
            short.parse("abcd").unwrap_err().to_string(),
            "short: at most 3 characters"
        );
    }

    #[test]
    fn a_list_is_checked_whole_and_kept_in_its_own_form() {
        let windows = setting("callback_windows");
        let list = |items: &[&str]| Value::List(items.iter().map(|i| i.to_string()).collect());
        assert_eq!(
            windows.check(list(&["2=13:00-17:00", "1=09:00-12:00"])),
            Ok(list(&["1=09:00-12:00", "2=13:00-17:00"]))
        );
        assert_eq!(windows.check(list(&[])), Ok(list(&[])));
        assert_eq!(windows.parse("1=09:00-12:00"), Ok(list(&["1=09:00-12:00"])));
        let refused = |value| windows.check(value).unwrap_err().to_string();
        assert_eq!(
            refused(list(&["1=09:00-10:00"; 5])),
            "callback_windows: at most 4 items, got 5"
        );
        assert_eq!(
            refused(list(&["1=09:00-10:00", "1=13:00-14:00"])),
            "callback_windows: key 1 is given to two callback windows"
        );
        assert_eq!(
            refused(list(&["morning"])),
            "callback_windows: a callback window must look like 1=09:00-12:00 (a key from 1 to 9), got \"morning\""
        );
        assert_eq!(
            refused(Value::Text("1=09:00-12:00".into())),
            "callback_windows: expected a list of at most 4 like 1=09:00-12:00"
        );
        let mut settings = TenantSettings::default();
        windows.write(&mut settings, &list(&["3=10:00-11:00"]));
        assert_eq!(settings.callback_windows[0].key, 3);
        assert_eq!(windows.read(&settings), list(&["3=10:00-11:00"]));
    }
}
