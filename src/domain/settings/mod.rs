//! A change to a tenant's settings: what `afureko tenant create/update` and
//! `PATCH /api/v1/settings` apply, one set of rules for both. Secrets (the
//! Twilio credentials) are never part of it. `definition` lists the
//! settings both doors (and the page) offer.

mod definition;

pub use definition::{Group, Kind, ListItem, SETTINGS, Setting, Value};

use crate::domain::phone::E164;
use crate::domain::routing::Destination;
use crate::domain::schedule::{Holiday, HoursError};
use crate::domain::tenant::{TenantError, TenantSettings};
use jiff::civil::Date;

/// A number outside its setting's bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} must be between {min} and {max}, got {got}")]
pub struct OutOfRange {
    pub field: &'static str,
    pub min: u32,
    pub max: u32,
    pub got: u32,
}

impl OutOfRange {
    /// Refuses `got` outside `min..=max`, naming `field`.
    pub fn check(field: &'static str, got: u32, min: u32, max: u32) -> Result<(), OutOfRange> {
        if (min..=max).contains(&got) {
            Ok(())
        } else {
            Err(OutOfRange {
                field,
                min,
                max,
                got,
            })
        }
    }
}

/// Its message always starts with the setting's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A value that does not parse, named by its setting.
    #[error("{field}: {message}")]
    Value {
        field: &'static str,
        message: String,
    },
    #[error("{field}: {0}", field = .0.field())]
    Hours(#[from] HoursError),
    #[error("{}", named(.0))]
    Invalid(#[from] TenantError),
}

fn named(e: &TenantError) -> String {
    if e.names_its_field() {
        e.to_string()
    } else {
        format!("{}: {e}", e.field())
    }
}

impl SettingsError {
    /// The setting at fault.
    pub fn field(&self) -> &'static str {
        match self {
            SettingsError::Value { field, .. } => field,
            SettingsError::Hours(e) => e.field(),
            SettingsError::Invalid(e) => e.field(),
        }
    }
}

/// Every part is optional: what is `None` or empty stays as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChange {
    /// Values of `SETTINGS`, checked, one per setting. A new language
    /// brings its default voice, unless a voice is given too or the voice
    /// speaks it already.
    values: Vec<(&'static Setting, Value)>,
    other: OtherSettings,
}

/// The command line's own forms of some of `SETTINGS`: numbers in the
/// tenant's region, holidays and hours added and removed one by one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtherSettings {
    /// Replaces the dial list when not empty.
    pub dial_to: Vec<String>,
    /// `"none"` for Twilio's default.
    pub dial_caller_id: Option<String>,
    /// `"none"` to say the queue_hold prompt.
    pub hold_audio_url: Option<String>,
    /// Forget the weekly hours first (open around the clock).
    pub always_open: bool,
    /// `DAYS=RANGES` specs, applied in order after `always_open`.
    pub hours: Vec<String>,
    /// Added, replacing a holiday of the same date.
    pub holidays: Vec<Holiday>,
    pub remove_holidays: Vec<Date>,
}

impl From<OtherSettings> for SettingsChange {
    fn from(other: OtherSettings) -> Self {
        SettingsChange {
            values: Vec::new(),
            other,
        }
    }
}

fn value(field: &'static str) -> impl Fn(String) -> SettingsError {
    move |message| SettingsError::Value { field, message }
}

impl SettingsChange {
    /// Sets `setting` to `value` if it is of the setting's kind, within
    /// its bounds and choices; a later value of a setting replaces an
    /// earlier one.
    pub fn set(&mut self, setting: &'static Setting, value: Value) -> Result<(), SettingsError> {
        let value = setting.check(value)?;
        self.values.retain(|(s, _)| *s != setting);
        self.values.push((setting, value));
        Ok(())
    }

    fn names(&self, name: &str) -> bool {
        self.values.iter().any(|(s, _)| s.name == name)
    }

    /// How many settings the change names: each value given, each prompt,
    /// hours spec and holiday, the dial list as one. What the audit trail
    /// counts, whichever door the change came through.
    pub fn named(&self) -> u64 {
        let other = &self.other;
        let given = [
            !other.dial_to.is_empty(),
            other.dial_caller_id.is_some(),
            other.hold_audio_url.is_some(),
            other.always_open,
        ];
        let lists = self.values.len()
            + other.hours.len()
            + other.holidays.len()
            + other.remove_holidays.len();
        (given.into_iter().filter(|&g| g).count() + lists) as u64
    }

    /// Applies the change and validates the result; on an error `settings`
    /// may be half changed, so callers apply it to a copy they then drop.
    pub fn apply(self, settings: &mut TenantSettings) -> Result<(), SettingsError> {
        let new_language = self.names("language") && !self.names("voice");
        for (setting, value) in &self.values {
            setting.write(settings, value);
        }
        let other = self.other;
        if new_language && !settings.language.accepts_voice(&settings.voice) {
            settings.voice = settings.language.default_voice().to_owned();
        }

        let region = settings.default_region;
        let routing = &mut settings.routing;
        if !other.dial_to.is_empty() {
            routing.dial.destinations = other
                .dial_to
                .iter()
                .map(|d| Destination::parse(d, region))
                .collect::<Result<_, _>>()
                .map_err(value("dial_to"))?;
        }
        if let Some(caller_id) = &other.dial_caller_id {
            routing.dial.caller_id = match caller_id.as_str() {
                "none" => None,
                number => Some(
                    E164::parse(number, region)
                        .map_err(|e| value("dial_caller_id")(e.to_string()))?,
                ),
            };
        }
        if let Some(url) = other.hold_audio_url {
            routing.queue.hold_audio_url = (url != "none").then_some(url);
        }

        let schedule = &mut settings.schedule;
        if other.always_open {
            schedule.weekly = None;
        }
        for spec in &other.hours {
            schedule.set_hours(spec)?;
        }
        for holiday in other.holidays {
            schedule.holidays.retain(|h| h.date != holiday.date);
            schedule.holidays.push(holiday);
        }
        for date in other.remove_holidays {
            schedule.holidays.retain(|h| h.date != date);
        }
        schedule.holidays.sort_by_key(|h| h.date);
        Ok(settings.validate()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(change: SettingsChange) -> Result<TenantSettings, SettingsError> {
        let mut settings = TenantSettings::default();
        change.apply(&mut settings).map(|()| settings)
    }

    /// A change of these values of `SETTINGS`, applied to the defaults.
    fn applied_values(values: &[(&str, &str)]) -> Result<TenantSettings, SettingsError> {
        let mut change = SettingsChange::default();
        for (name, text) in values {
            let setting = Setting::find(name).unwrap();
            change.set(setting, setting.parse(text)?)?;
        }
        applied(change)
    }

    #[test]
    fn a_new_language_brings_its_voice_unless_one_is_given() {
        let english = applied_values(&[("language", "en-US")]).unwrap();
        assert_eq!(english.voice, "Polly.Joanna");
        let err = applied_values(&[("language", "en-US"), ("voice", "Polly.Mizuki")]).unwrap_err();
        assert_eq!(err.field(), "voice");
        let joey = applied_values(&[("voice", "Polly.Joey"), ("language", "en-US")]).unwrap();
        assert_eq!(joey.voice, "Polly.Joey");
    }

    /// Why `other`, applied to the defaults, is refused.
    fn refusal(other: OtherSettings) -> SettingsError {
        applied(SettingsChange::from(other)).unwrap_err()
    }

    #[test]
    fn every_refusal_names_its_setting() {
        let sla = applied_values(&[("callback_sla_minutes", "0")]).unwrap_err();
        assert_eq!(sla.field(), "callback_sla_minutes");
        assert_eq!(
            sla.to_string(),
            "callback_sla_minutes must be between 1 and 20160, got 0"
        );
        let zone = applied_values(&[("time_zone", "Mars/Olympus")]).unwrap_err();
        assert_eq!(
            zone.to_string(),
            "time_zone: unknown time zone \"Mars/Olympus\" (expected an IANA name such as Asia/Tokyo)"
        );
        let hours = refusal(OtherSettings {
            hours: vec!["someday".into()],
            ..Default::default()
        });
        assert_eq!(hours.field(), "hours");
        assert!(hours.to_string().starts_with("hours: "), "{hours}");
        let dial = refusal(OtherSettings {
            dial_to: vec!["nonsense".into()],
            ..Default::default()
        });
        assert_eq!(dial.field(), "dial_to");
        let queue = applied_values(&[("queue_name", " ")]).unwrap_err();
        assert_eq!(queue.field(), "queue_name");
        assert_eq!(
            queue.to_string(),
            "queue_name: queue name must be 1-64 characters, got \" \""
        );
        let ring = applied_values(&[("ring_timeout_seconds", "61")]).unwrap_err();
        assert_eq!(ring.field(), "ring_timeout_seconds");
        assert_eq!(
            ring.to_string(),
            "ring_timeout_seconds must be between 5 and 60, got 61"
        );
    }

    #[test]
    fn the_count_is_of_the_settings_named() {
        let mut change = SettingsChange::from(OtherSettings {
            hours: vec!["mon=09:00-18:00".into(), "sun=closed".into()],
            dial_to: vec!["+81355550000".into(), "sip:desk@pbx.example.com".into()],
            ..Default::default()
        });
        let sla = Setting::find("callback_sla_minutes").unwrap();
        change.set(sla, Value::Integer(30)).unwrap();
        change.set(sla, Value::Integer(45)).unwrap();
        assert_eq!(change.named(), 4);
        let settings = applied(change).unwrap();
        assert_eq!(settings.callback_sla_minutes, 45);
    }

    #[test]
    fn holidays_are_added_replaced_and_removed_in_date_order() {
        let day = |s: &str| s.parse::<Holiday>().unwrap();
        let mut settings = TenantSettings::default();
        let mut change = SettingsChange::from(OtherSettings {
            holidays: vec![day("2026-12-31=year end"), day("2026-12-30")],
            ..Default::default()
        });
        let closed = Setting::find("closed_now").unwrap();
        change.set(closed, Value::Boolean(true)).unwrap();
        change.apply(&mut settings).unwrap();
        SettingsChange::from(OtherSettings {
            holidays: vec![day("2026-12-31=last day")],
            remove_holidays: vec!["2026-12-30".parse().unwrap()],
            ..Default::default()
        })
        .apply(&mut settings)
        .unwrap();
        assert_eq!(settings.schedule.holidays, [day("2026-12-31=last day")]);
        assert!(settings.schedule.closed_now);
    }
}
