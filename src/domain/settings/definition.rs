//! The settings a tenant's admin reads and changes, each defined once:
//! its name, the kind of value it takes (bounds, choices) and where it
//! lives in `TenantSettings`. The CLI's flags and their checks, the API's
//! view and patch, their OpenAPI schemas and the page's form (the `fields`
//! of `GET /api/v1/settings`) are all made from `SETTINGS`.
//!
//! A new setting is a field of `TenantSettings` and an entry here; a list
//! of texts is `Kind::List`, its items' form a `ListItem`; the prompts are
//! `Kind::Prompts`, a text per prompt or none (the language's). The doors
//! handle a kind, never a setting.

use crate::domain::callback_window::{self, MAX_WINDOWS};
use crate::domain::phone::{E164, Region};
use crate::domain::prompts::{Language, PromptKey};
use crate::domain::routing::{Destination, MAX_DESTINATIONS, RoutingMode};
use crate::domain::schedule::{Holiday, Schedule};
use crate::domain::settings::{OutOfRange, SettingsError};
use crate::domain::speech::NumberEntry;
use crate::domain::tenant::{
    MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, RecordingFormat, TenantError, TenantSettings,
};
use serde::Serialize;
use std::collections::BTreeMap;

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
    /// A region's code (ISO 3166, `JP`).
    Region,
    /// A text per prompt (`PromptKey`), or none: the language's own.
    Prompts,
}

/// Where the page shows a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// What callers hear and how they answer.
    Greeting,
    Hours,
    Routing,
    /// The callback records: when they are due, tried and kept.
    Callbacks,
    /// Calling the customer back from afureko.
    CallingBack,
}

/// What the items of a list setting are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListItem {
    /// A callback window, `1=09:00-12:00`.
    CallbackWindow,
    /// A holiday, `2026-12-31` or `2026-12-31=year end`.
    Holiday,
    /// Some days' opening hours, `mon-fri=09:00-18:00` or `sun=closed`;
    /// none: open around the clock.
    Hours,
    /// An agent's phone dial mode rings: E.164 or a sip: URI.
    Destination,
}

impl Group {
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Greeting => "greeting",
            Group::Hours => "hours",
            Group::Routing => "routing",
            Group::Callbacks => "callbacks",
            Group::CallingBack => "calling_back",
        }
    }
}

impl ListItem {
    /// An item's form, for `--help`.
    pub fn value_name(self) -> &'static str {
        match self {
            ListItem::CallbackWindow => "KEY=HH:MM-HH:MM",
            ListItem::Holiday => "DATE[=NAME]",
            ListItem::Hours => "DAYS=RANGES",
            ListItem::Destination => "NUMBER|SIP",
        }
    }

    /// A pattern every item matches (ECMA-262, for the API's document);
    /// the item's own check is stricter (times of the day, in order).
    pub fn pattern(self) -> &'static str {
        match self {
            ListItem::CallbackWindow => callback_window::PATTERN,
            ListItem::Holiday => r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(=.*)?$",
            ListItem::Hours => r"^[a-z]{3}(-[a-z]{3})?=(closed|[0-9:,-]+)$",
            ListItem::Destination => r"^(\+[1-9][0-9]{6,14}|sip:[^@\s]+@\S+)$",
        }
    }

    /// An item, as the page's form and the document show one.
    pub fn example(self) -> &'static str {
        match self {
            ListItem::CallbackWindow => "1=09:00-12:00",
            ListItem::Holiday => "2026-12-31=年末",
            ListItem::Hours => "mon-fri=09:00-18:00",
            ListItem::Destination => "+81355550000",
        }
    }

    /// The items, each checked and the list as a whole, as they are kept
    /// (in their own order and form).
    fn check(self, items: &[String]) -> Result<Vec<String>, String> {
        match self {
            ListItem::CallbackWindow => callback_window::parse_windows(items)
                .map(|windows| windows.iter().map(ToString::to_string).collect())
                .map_err(|e| e.to_string()),
            ListItem::Holiday => {
                let mut days = items
                    .iter()
                    .map(|i| i.parse::<Holiday>())
                    .collect::<Result<Vec<_>, _>>()?;
                days.sort_by_key(|h| h.date);
                if let Some(pair) = days.windows(2).find(|w| w[0].date == w[1].date) {
                    return Err(format!("{} is given twice", pair[0].date));
                }
                Ok(days.iter().map(ToString::to_string).collect())
            }
            ListItem::Hours => {
                let mut schedule = Schedule::default();
                schedule.replace_hours(items).map_err(|e| e.to_string())?;
                Ok(schedule.hours_specs())
            }
            // The region does not apply: a kept number is in E.164.
            ListItem::Destination => items
                .iter()
                .map(|i| match i.trim() {
                    d if d.starts_with('+') || d.starts_with("sip:") => {
                        d.parse::<Destination>().map(|d| d.to_string())
                    }
                    d => Err(format!("{d:?} is not a number in E.164 or a sip: URI")),
                })
                .collect(),
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
            Kind::Region => "a region's code such as JP".into(),
            Kind::Prompts => "a text or null for each prompt by its name".into(),
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
    /// Prompts by name: a text, or none for the language's own.
    Prompts(BTreeMap<String, Option<String>>),
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

    fn prompts(&self) -> Option<&BTreeMap<String, Option<String>>> {
        match self {
            Value::Prompts(prompts) => Some(prompts),
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
    pub group: Group,
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
            (Kind::Region, Value::Text(text)) => Region::parse(text.trim())
                .map(|region| Value::Text(region.to_string()))
                .map_err(|e| self.refused(e.to_string())),
            (Kind::Prompts, Value::Prompts(prompts)) => {
                match prompts.keys().find(|k| k.parse::<PromptKey>().is_err()) {
                    Some(unknown) => Err(self.refused(format!(
                        "unknown prompt {unknown:?}, expected one of {}",
                        PromptKey::ALL.map(PromptKey::name).join(", ")
                    ))),
                    None => Ok(value),
                }
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
            Kind::Text { .. } | Kind::Choice(_) | Kind::Region => Value::Text(text.to_owned()),
            // As `--dial-caller-id` takes it too.
            Kind::Phone if text == "none" => Value::Text(String::new()),
            Kind::Phone => Value::Text(text.trim().to_owned()),
            // One item: the command line gathers a list flag's values.
            Kind::List { .. } => Value::List(vec![text.to_owned()]),
            // `NAME=TEXT`, as `--prompt` takes it.
            Kind::Prompts => match text.split_once('=') {
                Some((name, text)) => {
                    Value::Prompts(BTreeMap::from([(name.to_owned(), Some(text.to_owned()))]))
                }
                None => {
                    return Err(self.refused(format!("expected NAME=TEXT, got {text:?}")));
                }
            },
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
    ($group:ident, $name:literal, boolean, $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            group: Group::$group,
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
    ($group:ident, $name:literal, integer($min:expr, $max:expr), $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            group: Group::$group,
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
    ($group:ident, $name:literal, text, $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            group: Group::$group,
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
    ($group:ident, $name:literal, phone, $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            group: Group::$group,
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
    ($group:ident, $name:literal, list($item:expr, $max:expr), $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            group: Group::$group,
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
    // A text, or none (the empty text).
    ($group:ident, $name:literal, optional_text($max:expr), $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            group: Group::$group,
            kind: Kind::Text { max_length: Some($max) },
            help: $help,
            read: |s| Value::Text(s.$($field).+.clone().unwrap_or_default()),
            write: |s, v| {
                if let Some(text) = v.text() {
                    s.$($field).+ = (!text.is_empty()).then(|| text.to_owned());
                }
            },
        }
    };
    ($group:ident, $name:literal, region, $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            group: Group::$group,
            kind: Kind::Region,
            help: $help,
            read: |s| Value::Text(s.$($field).+.to_string()),
            write: |s, v| {
                if let Some(Ok(region)) = v.text().map(Region::parse) {
                    s.$($field).+ = region;
                }
            },
        }
    };
    // An enum, by its names; `FromStr` reads a name back.
    ($group:ident, $name:literal, choice($names:expr, $as_str:expr), $help:literal, $($field:ident).+) => {
        Setting {
            name: $name,
            group: Group::$group,
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

/// In the order the page shows them (by `group`).
pub static SETTINGS: [Setting; 35] = [
    setting!(
        Greeting,
        "language",
        choice(Language::CODES, Language::code),
        "The callers' language; a new one brings its default voice unless a voice is given.",
        language
    ),
    setting!(
        Greeting,
        "voice",
        text,
        "Twilio <Say> voice; must speak the language.",
        voice
    ),
    // Twilio's own bounds for <Record maxLength> are 1..14400; a callback
    // request longer than an hour is a mistake.
    setting!(
        Greeting,
        "max_recording_seconds",
        integer(5, 3600),
        "The longest recording of a caller's request, in seconds.",
        max_recording_seconds
    ),
    setting!(
        Greeting,
        "number_entry_attempts",
        integer(1, 10),
        "How many times the IVR asks before it ends the call politely.",
        number_entry_attempts
    ),
    setting!(
        Callbacks,
        "max_callback_attempts",
        integer(1, 20),
        "Attempts before a callback fails.",
        max_callback_attempts
    ),
    setting!(
        Callbacks,
        "callback_sla_minutes",
        integer(1, 60 * 24 * 14),
        "Minutes from the call to when its callback is due.",
        callback_sla_minutes
    ),
    setting!(
        Callbacks,
        "claim_timeout_minutes",
        integer(1, 60 * 24),
        "Minutes after which an agent's claim lapses.",
        claim_timeout_minutes
    ),
    setting!(
        Callbacks,
        "retry_delay_minutes",
        integer(1, 60 * 24 * 7),
        "Minutes until an unreached callback is due again.",
        retry_delay_minutes
    ),
    setting!(
        Callbacks,
        "retention_days",
        integer(MIN_RETENTION_DAYS, MAX_RETENTION_DAYS),
        "Days a completed or failed record and its recordings are kept.",
        retention_days
    ),
    setting!(
        Hours,
        "time_zone",
        text,
        "IANA time zone, e.g. Asia/Tokyo; any other name is refused.",
        time_zone
    ),
    setting!(
        Callbacks,
        "delete_twilio_recording",
        boolean,
        "Delete Twilio's copy of a recording once ours is stored.",
        delete_twilio_recording
    ),
    setting!(
        Callbacks,
        "recording_format",
        choice(RecordingFormat::NAMES, RecordingFormat::extension),
        "Fetch recordings from Twilio as wav, or mp3 (a tenth of the size).",
        recording_format
    ),
    setting!(
        Routing,
        "routing_mode",
        choice(RoutingMode::NAMES, RoutingMode::as_str),
        "overflow: the IVR at once; dial: ring the agents first; queue: wait in a Twilio queue.",
        routing.mode
    ),
    setting!(
        Hours,
        "closed_now",
        boolean,
        "Closed now, whatever the hours say.",
        schedule.closed_now
    ),
    // Calling back from afureko (click-to-call).
    setting!(
        CallingBack,
        "outbound_caller_id",
        phone,
        "The tenant's Twilio number (E.164) a call back shows the customer; click-to-call is off until it is set.",
        outbound_caller_id
    ),
    setting!(
        CallingBack,
        "agent_ring_seconds",
        integer(10, 60),
        "Seconds click-to-call rings the agent's phone.",
        agent_ring_seconds
    ),
    setting!(
        CallingBack,
        "callback_recording",
        boolean,
        "Record call backs (both parties, after a consent notice to the customer).",
        callback_recording
    ),
    setting!(
        CallingBack,
        "reached_min_seconds",
        integer(0, 300),
        "A call back shorter than this (seconds) is logged no_answer, not reached.",
        reached_min_seconds
    ),
    // Issue #22: what the caller is told and may choose.
    setting!(
        Greeting,
        "announce_due",
        boolean,
        "Tell callers by when they will be called back ({due} in the prompts); off, no time is promised.",
        announce_due
    ),
    setting!(
        Callbacks,
        "callback_windows",
        list(ListItem::CallbackWindow, MAX_WINDOWS),
        "Times a caller may choose to be called back in, each on its key (1=09:00-12:00), within business hours; none: no choice.",
        callback_windows
    ),
    setting!(
        Greeting,
        "number_entry",
        choice(NumberEntry::NAMES, NumberEntry::as_str),
        "dtmf: the number is typed; dtmf-speech: typed or said.",
        number_entry
    ),
    // Issue #26: the caller's SMS confirmation.
    setting!(
        Callbacks,
        "sms_confirmation",
        boolean,
        "After the recording, send the caller one SMS saying by when the call comes (mobile numbers only).",
        sms_confirmation
    ),
    setting!(
        Callbacks,
        "sms_from",
        text,
        "Who the SMS comes from: a Twilio number (+E.164), a Messaging Service SID (MG…) or an alphanumeric sender ID.",
        sms_from
    ),
    // Issue #21: every setting from the page.
    Setting {
        name: "prompts",
        group: Group::Greeting,
        kind: Kind::Prompts,
        help: "What callers hear, by prompt: the tenant's text, or null for the language's own; {number} is read back, {due} says by when.",
        read: |s| {
            Value::Prompts(
                PromptKey::ALL
                    .into_iter()
                    .map(|k| (k.name().to_owned(), s.prompts.get(&k).cloned()))
                    .collect(),
            )
        },
        write: |s, v| {
            for (name, text) in v.prompts().into_iter().flatten() {
                let Ok(key) = name.parse::<PromptKey>() else {
                    continue;
                };
                match text {
                    Some(text) => s.prompts.insert(key, text.clone()),
                    None => s.prompts.remove(&key),
                };
            }
        },
    },
    Setting {
        name: "hours",
        group: Group::Hours,
        kind: Kind::List {
            max_items: 7,
            item: ListItem::Hours,
        },
        help: "Weekly opening hours, a day or days each (mon-fri=09:00-12:00,13:00-18:00, sun=closed; a day not named is closed); none: open around the clock.",
        read: |s| Value::List(s.schedule.hours_specs()),
        write: |s, v| {
            if let Some(specs) = v.list() {
                // Checked: the specs parse.
                let _ = s.schedule.replace_hours(specs);
            }
        },
    },
    setting!(
        Hours,
        "holidays",
        list(ListItem::Holiday, 400),
        "Days closed all day (2026-12-31 or 2026-12-31=name); replaces the list.",
        schedule.holidays
    ),
    setting!(
        Routing,
        "dial_to",
        list(ListItem::Destination, MAX_DESTINATIONS),
        "Dial mode: the agents' numbers (E.164) or sip: URIs rung at once.",
        routing.dial.destinations
    ),
    setting!(
        Routing,
        "ring_timeout_seconds",
        integer(5, 60),
        "Dial mode: seconds the agents ring before the callback IVR.",
        routing.dial.ring_timeout_seconds
    ),
    setting!(
        Routing,
        "dial_caller_id",
        phone,
        "Dial mode: the number (E.164) the agents see; none: the caller's.",
        routing.dial.caller_id
    ),
    setting!(
        Routing,
        "queue_name",
        text,
        "Queue mode: the Twilio queue's name (1-64 characters).",
        routing.queue.name
    ),
    setting!(
        Routing,
        "hold_audio_url",
        optional_text(2000),
        "Queue mode: audio (http or https URL) played while waiting; none: the queue_hold prompt is said.",
        routing.queue.hold_audio_url
    ),
    setting!(
        Routing,
        "offer_interval_seconds",
        integer(5, 300),
        "Queue mode: seconds between callback offers.",
        routing.queue.offer_interval_seconds
    ),
    setting!(
        Routing,
        "max_wait_seconds",
        integer(10, 3600),
        "Queue mode: the longest wait before the callback IVR.",
        routing.queue.max_wait_seconds
    ),
    setting!(
        Routing,
        "max_queue_size",
        integer(1, 1000),
        "Queue mode: callers waiting at most; the next goes to the callback IVR.",
        routing.queue.max_queue_size
    ),
    setting!(
        Callbacks,
        "default_region",
        region,
        "Region (JP) of numbers written without a country code.",
        default_region
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
            let (routing, dial, queue) = (
                &stored["routing"],
                &stored["routing"]["dial"],
                &stored["routing"]["queue"],
            );
            let path = match s.name {
                "routing_mode" => &routing["mode"],
                "closed_now" => &stored["schedule"]["closed_now"],
                "holidays" => &stored["schedule"]["holidays"],
                "dial_to" => &dial["destinations"],
                "ring_timeout_seconds" => &dial["ring_timeout_seconds"],
                "dial_caller_id" => &dial["caller_id"],
                "queue_name"
                | "hold_audio_url"
                | "offer_interval_seconds"
                | "max_wait_seconds"
                | "max_queue_size" => &queue[s.name.strip_prefix("queue_").unwrap_or(s.name)],
                // Kept in other forms: none (open around the clock), no
                // text of the tenant's own.
                "hours" => {
                    assert_eq!(stored["schedule"]["weekly"], serde_json::Value::Null);
                    assert_eq!(value, Value::List(Vec::new()));
                    &json
                }
                "prompts" => {
                    assert_eq!(stored["prompts"], serde_json::json!({}));
                    assert!(json.as_object().unwrap().values().all(|v| v.is_null()));
                    &json
                }
                name => &stored[name],
            };
            // None is stored as null, and offered as "".
            let none = serde_json::json!("");
            let path = if matches!(s.kind, Kind::Phone | Kind::Text { .. }) && path.is_null() {
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

    #[test]
    fn hours_holidays_and_dial_lists_keep_their_domain_forms() {
        let list = |items: &[&str]| Value::List(items.iter().map(|i| i.to_string()).collect());
        let hours = setting("hours");
        let week = hours
            .check(list(&[
                "mon-fri=13:00-18:00,09:00-12:00",
                "sat=10:00-14:00",
            ]))
            .unwrap();
        assert_eq!(
            week,
            list(&[
                "mon=09:00-12:00,13:00-18:00",
                "tue=09:00-12:00,13:00-18:00",
                "wed=09:00-12:00,13:00-18:00",
                "thu=09:00-12:00,13:00-18:00",
                "fri=09:00-12:00,13:00-18:00",
                "sat=10:00-14:00",
                "sun=closed",
            ])
        );
        let mut settings = TenantSettings::default();
        hours.write(&mut settings, &week);
        assert_eq!(hours.read(&settings), week);
        hours.write(&mut settings, &list(&[]));
        assert_eq!(settings.schedule.weekly, None);
        assert_eq!(
            hours.check(list(&["someday=9-5"])).unwrap_err().to_string(),
            "hours: unknown day \"someday\" (mon, tue, wed, thu, fri, sat, sun)"
        );
        let holidays = setting("holidays");
        assert_eq!(
            holidays.check(list(&["2026-12-31=年末", " 2026-12-30"])),
            Ok(list(&["2026-12-30", "2026-12-31=年末"]))
        );
        assert_eq!(
            holidays
                .check(list(&["2026-12-31", "2026-12-31=again"]))
                .unwrap_err()
                .to_string(),
            "holidays: 2026-12-31 is given twice"
        );
        assert_eq!(
            holidays.check(list(&["new year"])).unwrap_err().field(),
            "holidays"
        );
        let dial = setting("dial_to");
        assert_eq!(
            dial.check(list(&["+81 3 5555 0000", "sip:desk@pbx.example.com"])),
            Ok(list(&["+81355550000", "sip:desk@pbx.example.com"]))
        );
        assert_eq!(
            dial.check(list(&["0355550000"])).unwrap_err().to_string(),
            "dial_to: \"0355550000\" is not a number in E.164 or a sip: URI"
        );
        let region = setting("default_region");
        assert_eq!(region.parse("us"), Ok(Value::Text("US".into())));
        assert_eq!(region.parse("XX").unwrap_err().field(), "default_region");
        let hold = setting("hold_audio_url");
        hold.write(
            &mut settings,
            &Value::Text("https://example.com/a.mp3".into()),
        );
        assert_eq!(
            settings.routing.queue.hold_audio_url.as_deref(),
            Some("https://example.com/a.mp3")
        );
        hold.write(&mut settings, &Value::Text(String::new()));
        assert_eq!(settings.routing.queue.hold_audio_url, None);
    }

    #[test]
    fn a_prompt_is_set_or_reset_by_its_name() {
        let prompts = setting("prompts");
        let change = |pairs: &[(&str, Option<&str>)]| {
            Value::Prompts(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.map(str::to_owned)))
                    .collect(),
            )
        };
        let mut settings = TenantSettings::default();
        let set = change(&[("thanks", Some("Bye")), ("greeting", Some("Hello"))]);
        prompts.write(&mut settings, &prompts.check(set).unwrap());
        prompts.write(&mut settings, &change(&[("greeting", None)]));
        assert_eq!(settings.prompts.len(), 1);
        assert_eq!(settings.prompts[&PromptKey::Thanks], "Bye");
        let Value::Prompts(read) = prompts.read(&settings) else {
            panic!("prompts");
        };
        assert_eq!(read.len(), PromptKey::ALL.len());
        assert_eq!(read["thanks"].as_deref(), Some("Bye"));
        assert_eq!(read["greeting"], None);
        assert_eq!(
            prompts.parse("thanks=Bye"),
            Ok(change(&[("thanks", Some("Bye"))]))
        );
        let unknown = prompts.check(change(&[("hello", Some("Hi"))])).unwrap_err();
        assert_eq!(unknown.field(), "prompts");
        assert!(
            unknown.to_string().starts_with(
                "prompts: unknown prompt \"hello\", expected one of greeting, after_hours_greeting,"
            ),
            "{unknown}"
        );
    }
}
