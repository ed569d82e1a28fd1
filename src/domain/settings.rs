//! A change to a tenant's settings: what `afureko tenant create/update` and
//! `PATCH /api/v1/settings` apply, one set of rules for both. Secrets (the
//! Twilio credentials) are never part of it.

use crate::domain::phone::{E164, Region};
use crate::domain::prompts::{Language, PromptKey};
use crate::domain::routing::{Destination, RoutingMode};
use crate::domain::schedule::Holiday;
use crate::domain::tenant::{RecordingFormat, TenantError, TenantSettings};
use jiff::civil::Date;

/// Its message always starts with the setting's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A value that does not parse, named by its setting.
    #[error("{field}: {message}")]
    Value {
        field: &'static str,
        message: String,
    },
    #[error("{}", named(.0))]
    Invalid(#[from] TenantError),
}

fn named(e: &TenantError) -> String {
    let message = e.to_string();
    if message.starts_with(e.field()) {
        message
    } else {
        format!("{}: {message}", e.field())
    }
}

impl SettingsError {
    /// The setting at fault.
    pub fn field(&self) -> &'static str {
        match self {
            SettingsError::Value { field, .. } => field,
            SettingsError::Invalid(e) => e.field(),
        }
    }
}

/// Every field is optional: what is `None` or empty stays as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChange {
    /// A new language brings its default voice, unless `voice` is given or
    /// the voice speaks it already.
    pub language: Option<Language>,
    pub voice: Option<String>,
    pub prompts: Vec<(PromptKey, String)>,
    pub reset_prompts: Vec<PromptKey>,
    pub max_recording_seconds: Option<u32>,
    pub number_entry_attempts: Option<u32>,
    pub max_callback_attempts: Option<u32>,
    pub callback_sla_minutes: Option<u32>,
    pub claim_timeout_minutes: Option<u32>,
    pub retry_delay_minutes: Option<u32>,
    pub retention_days: Option<u32>,
    pub time_zone: Option<String>,
    pub default_region: Option<Region>,
    pub delete_twilio_recording: Option<bool>,
    pub recording_format: Option<RecordingFormat>,
    pub routing_mode: Option<RoutingMode>,
    /// Replaces the dial list when not empty.
    pub dial_to: Vec<String>,
    pub ring_timeout_seconds: Option<u32>,
    /// `"none"` for Twilio's default.
    pub dial_caller_id: Option<String>,
    pub queue_name: Option<String>,
    /// `"none"` to say the queue_hold prompt.
    pub hold_audio_url: Option<String>,
    pub offer_interval_seconds: Option<u32>,
    pub max_wait_seconds: Option<u32>,
    pub max_queue_size: Option<u32>,
    /// Forget the weekly hours first (open around the clock).
    pub always_open: bool,
    /// `DAYS=RANGES` specs, applied in order after `always_open`.
    pub hours: Vec<String>,
    /// Added, replacing a holiday of the same date.
    pub holidays: Vec<Holiday>,
    pub remove_holidays: Vec<Date>,
    pub closed_now: Option<bool>,
}

fn value(field: &'static str) -> impl Fn(String) -> SettingsError {
    move |message| SettingsError::Value { field, message }
}

fn set<T>(given: Option<T>, field: &mut T) {
    if let Some(value) = given {
        *field = value;
    }
}

impl SettingsChange {
    /// Applies the change and validates the result; on an error `settings`
    /// may be half changed, so callers apply it to a copy they then drop.
    pub fn apply(self, settings: &mut TenantSettings) -> Result<(), SettingsError> {
        if let Some(language) = self.language {
            if self.voice.is_none() && !language.accepts_voice(&settings.voice) {
                settings.voice = language.default_voice().to_owned();
            }
            settings.language = language;
        }
        set(self.voice, &mut settings.voice);
        settings.prompts.extend(self.prompts);
        for key in self.reset_prompts {
            settings.prompts.remove(&key);
        }
        set(
            self.max_recording_seconds,
            &mut settings.max_recording_seconds,
        );
        set(
            self.number_entry_attempts,
            &mut settings.number_entry_attempts,
        );
        set(
            self.max_callback_attempts,
            &mut settings.max_callback_attempts,
        );
        set(
            self.callback_sla_minutes,
            &mut settings.callback_sla_minutes,
        );
        set(
            self.claim_timeout_minutes,
            &mut settings.claim_timeout_minutes,
        );
        set(self.retry_delay_minutes, &mut settings.retry_delay_minutes);
        set(self.retention_days, &mut settings.retention_days);
        set(self.time_zone, &mut settings.time_zone);
        set(self.default_region, &mut settings.default_region);
        set(
            self.delete_twilio_recording,
            &mut settings.delete_twilio_recording,
        );
        set(self.recording_format, &mut settings.recording_format);

        let region = settings.default_region;
        let routing = &mut settings.routing;
        set(self.routing_mode, &mut routing.mode);
        if !self.dial_to.is_empty() {
            routing.dial.destinations = self
                .dial_to
                .iter()
                .map(|d| Destination::parse(d, region))
                .collect::<Result<_, _>>()
                .map_err(value("dial_to"))?;
        }
        set(
            self.ring_timeout_seconds,
            &mut routing.dial.ring_timeout_seconds,
        );
        if let Some(caller_id) = &self.dial_caller_id {
            routing.dial.caller_id = match caller_id.as_str() {
                "none" => None,
                number => Some(
                    E164::parse(number, region)
                        .map_err(|e| value("dial_caller_id")(e.to_string()))?,
                ),
            };
        }
        set(self.queue_name, &mut routing.queue.name);
        if let Some(url) = self.hold_audio_url {
            routing.queue.hold_audio_url = (url != "none").then_some(url);
        }
        set(
            self.offer_interval_seconds,
            &mut routing.queue.offer_interval_seconds,
        );
        set(self.max_wait_seconds, &mut routing.queue.max_wait_seconds);
        set(self.max_queue_size, &mut routing.queue.max_queue_size);

        let schedule = &mut settings.schedule;
        if self.always_open {
            schedule.weekly = None;
        }
        for spec in &self.hours {
            schedule.set_hours(spec).map_err(value("hours"))?;
        }
        for holiday in self.holidays {
            schedule.holidays.retain(|h| h.date != holiday.date);
            schedule.holidays.push(holiday);
        }
        for date in self.remove_holidays {
            schedule.holidays.retain(|h| h.date != date);
        }
        schedule.holidays.sort_by_key(|h| h.date);
        set(self.closed_now, &mut schedule.closed_now);
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

    #[test]
    fn a_new_language_brings_its_voice_unless_one_is_given() {
        let english = applied(SettingsChange {
            language: Some(Language::EnUs),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(english.voice, "Polly.Joanna");
        let err = applied(SettingsChange {
            language: Some(Language::EnUs),
            voice: Some("Polly.Mizuki".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.field(), "voice");
    }

    #[test]
    fn every_refusal_names_its_setting() {
        let sla = applied(SettingsChange {
            callback_sla_minutes: Some(0),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(sla.field(), "callback_sla_minutes");
        assert_eq!(
            sla.to_string(),
            "callback_sla_minutes must be between 1 and 20160, got 0"
        );
        let zone = applied(SettingsChange {
            time_zone: Some("Mars/Olympus".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            zone.to_string(),
            "time_zone: unknown time zone \"Mars/Olympus\" (expected an IANA name such as Asia/Tokyo)"
        );
        let hours = applied(SettingsChange {
            hours: vec!["someday".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(hours.field(), "hours");
        assert!(hours.to_string().starts_with("hours: "), "{hours}");
        let dial = applied(SettingsChange {
            dial_to: vec!["nonsense".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(dial.field(), "dial_to");
    }

    #[test]
    fn holidays_are_added_replaced_and_removed_in_date_order() {
        let day = |s: &str| s.parse::<Holiday>().unwrap();
        let mut settings = TenantSettings::default();
        SettingsChange {
            holidays: vec![day("2026-12-31=year end"), day("2026-12-30")],
            closed_now: Some(true),
            ..Default::default()
        }
        .apply(&mut settings)
        .unwrap();
        SettingsChange {
            holidays: vec![day("2026-12-31=last day")],
            remove_holidays: vec!["2026-12-30".parse().unwrap()],
            ..Default::default()
        }
        .apply(&mut settings)
        .unwrap();
        assert_eq!(settings.schedule.holidays, [day("2026-12-31=last day")]);
        assert!(settings.schedule.closed_now);
    }
}
