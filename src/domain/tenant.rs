//! Tenants: a company, its Twilio credentials and its call-flow settings.

use crate::domain::callback_window::{self, CallbackWindow, WindowError};
use crate::domain::ids::{AccountSid, TenantId};
use crate::domain::notify::sms::SmsSender;
use crate::domain::phone::{E164, Region};
use crate::domain::prompts::{Language, PromptKey, PromptOverrides};
use crate::domain::reason::Reason;
use crate::domain::routing::{Routing, RoutingError};
use crate::domain::schedule::Schedule;
use crate::domain::settings::{Kind, OutOfRange, SETTINGS, Value};
use crate::domain::speech::NumberEntry;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    #[error("the Twilio auth token must not be empty")]
    EmptyAuthToken,
    #[error("voice {voice:?} cannot speak {language}; pick a {language} voice such as {default}")]
    VoiceLanguage {
        voice: String,
        language: Language,
        default: &'static str,
    },
    #[error(transparent)]
    Range(#[from] OutOfRange),
    #[error("unknown time zone {0:?} (expected an IANA name such as Asia/Tokyo)")]
    TimeZone(String),
    #[error("prompt {0} must contain {{number}}, where the number is read back")]
    PromptNeedsNumber(&'static str),
    #[error(
        "prompt {0} cannot say {{due}}: only thanks, repeat_caller, after_hours_greeting and sms_confirmation know when the callback comes"
    )]
    PromptCannotSayDue(&'static str),
    #[error("prompt {0} must not be empty")]
    EmptyPrompt(&'static str),
    #[error(transparent)]
    Routing(#[from] RoutingError),
    #[error(
        "sms_from must be a Twilio number (+ and E.164), a Messaging Service SID (MG…) or an alphanumeric sender ID of up to 11 letters, digits and spaces, got {0:?}"
    )]
    SmsFrom(String),
    #[error("sms_from must be set to send SMS confirmations")]
    SmsWithoutSender,
    #[error("callback_windows: {0}")]
    CallbackWindows(#[from] WindowError),
}

impl TenantError {
    /// The setting at fault.
    pub fn field(&self) -> &'static str {
        match self {
            TenantError::EmptyAuthToken => "twilio_auth_token",
            TenantError::VoiceLanguage { .. } => "voice",
            TenantError::Range(e) => e.field,
            TenantError::TimeZone(_) => "time_zone",
            TenantError::PromptNeedsNumber(_)
            | TenantError::PromptCannotSayDue(_)
            | TenantError::EmptyPrompt(_) => "prompts",
            TenantError::Routing(e) => e.field(),
            TenantError::SmsFrom(_) | TenantError::SmsWithoutSender => "sms_from",
            TenantError::CallbackWindows(_) => "callback_windows",
        }
    }

    /// Whether the message starts with `field()` already.
    pub fn names_its_field(&self) -> bool {
        match self {
            TenantError::VoiceLanguage { .. }
            | TenantError::Range(_)
            | TenantError::SmsFrom(_)
            | TenantError::SmsWithoutSender
            | TenantError::CallbackWindows(_) => true,
            TenantError::Routing(_)
            | TenantError::EmptyAuthToken
            | TenantError::TimeZone(_)
            | TenantError::PromptNeedsNumber(_)
            | TenantError::PromptCannotSayDue(_)
            | TenantError::EmptyPrompt(_) => false,
        }
    }
}

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuthToken(String);

impl AuthToken {
    pub fn new(token: &str) -> Result<Self, TenantError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(TenantError::EmptyAuthToken);
        }
        Ok(AuthToken(token.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwilioCredentials {
    pub account_sid: AccountSid,
    pub auth_token: AuthToken,
    /// Secret of a Twilio webhook SharedKey, for requests that carry
    /// `X-Twilio-Webhooks-Signature-Settings`; such requests fail without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_shared_key: Option<AuthToken>,
    /// The token a rotation replaced, still accepted for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_auth_token: Option<RetiredToken>,
}

/// A replaced auth token and when it stops being accepted: Twilio may
/// still sign with it for calls already under way when it was rotated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredToken {
    pub token: AuthToken,
    pub until: Timestamp,
}

/// A closed record is kept at least a day (agents still look at what was
/// done today) and at most ten years (Japan's and the EU's longest
/// business-record periods); the default is a year.
pub const MIN_RETENTION_DAYS: u32 = 1;
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// The longest a replaced token may stay valid: a week.
pub const MAX_TOKEN_OVERLAP_MINUTES: u32 = 7 * 24 * 60;

impl TwilioCredentials {
    pub fn new(account_sid: AccountSid, auth_token: AuthToken) -> Self {
        TwilioCredentials {
            account_sid,
            auth_token,
            webhook_shared_key: None,
            previous_auth_token: None,
        }
    }

    /// Replaces the auth token; the old one is still accepted for
    /// `overlap_minutes` (0: not at all).
    pub fn rotate_auth_token(
        &mut self,
        token: AuthToken,
        overlap_minutes: u32,
        now: Timestamp,
    ) -> Result<(), TenantError> {
        OutOfRange::check(
            "keep_previous_token_minutes",
            overlap_minutes,
            0,
            MAX_TOKEN_OVERLAP_MINUTES,
        )?;
        let old = std::mem::replace(&mut self.auth_token, token);
        self.previous_auth_token =
            (overlap_minutes > 0 && old != self.auth_token).then(|| RetiredToken {
                token: old,
                until: now
                    .checked_add(jiff::SignedDuration::from_mins(i64::from(overlap_minutes)))
                    .unwrap_or(now),
            });
        Ok(())
    }

    /// The tokens a webhook signature may be made with at `now`.
    pub fn auth_tokens(&self, now: Timestamp) -> impl Iterator<Item = &AuthToken> {
        let previous = self
            .previous_auth_token
            .as_ref()
            .filter(|retired| now < retired.until)
            .map(|retired| &retired.token);
        std::iter::once(&self.auth_token).chain(previous)
    }
}

/// How the tenant's calls are handled. Every field has a default so records
/// written by older versions still load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantSettings {
    pub language: Language,
    /// Twilio `<Say>` voice; must speak `language`.
    pub voice: String,
    /// The tenant's own texts, replacing the defaults of `language`.
    pub prompts: PromptOverrides,
    pub max_recording_seconds: u32,
    /// How many times a question is asked before the call ends politely.
    pub number_entry_attempts: u32,
    pub max_callback_attempts: u32,
    /// Minutes from the call to when the callback is due.
    pub callback_sla_minutes: u32,
    /// Minutes after which an agent's claim lapses and others may take it.
    pub claim_timeout_minutes: u32,
    /// Minutes until an unreached callback is due again.
    pub retry_delay_minutes: u32,
    /// IANA time zone, e.g. Asia/Tokyo.
    pub time_zone: String,
    /// Region for numbers typed without a country code.
    pub default_region: Region,
    /// Delete Twilio's copy of a recording once ours is stored.
    pub delete_twilio_recording: bool,
    /// The audio fetched from Twilio: MP3 (new tenants), or WAV at four
    /// times the size.
    pub recording_format: RecordingFormat,
    /// Days a completed or failed record (and its recordings) is kept
    /// after it closed; `MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS`.
    pub retention_days: u32,
    pub routing: Routing,
    /// Business hours; always open unless set.
    pub schedule: Schedule,
    /// One SMS to the caller after the recording, saying by when the call
    /// comes (mobile numbers only; `domain::notify::sms`).
    pub sms_confirmation: bool,
    /// Who it comes from: a number, a Messaging Service SID or an
    /// alphanumeric sender ID (`SmsSender`); empty: not set.
    pub sms_from: String,
    /// The tenant's own Twilio number that click-to-call shows the
    /// customer; click-to-call is off until it is set.
    pub outbound_caller_id: Option<E164>,
    /// How long click-to-call rings the agent's phone.
    pub agent_ring_seconds: u32,
    /// Record click-to-call's customer leg (both parties, after a consent
    /// notice).
    pub callback_recording: bool,
    /// A customer leg shorter than this is logged no_answer, not reached.
    pub reached_min_seconds: u32,
    /// Whether `{due}` says when the callback comes; off, it says nothing.
    pub announce_due: bool,
    /// Times the caller may choose to be called back in, each on its key;
    /// none: no choice is offered.
    pub callback_windows: Vec<CallbackWindow>,
    /// Whether the number may be said as well as typed.
    pub number_entry: NumberEntry,
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            language: Language::JaJp,
            voice: Language::JaJp.default_voice().to_owned(),
            prompts: PromptOverrides::new(),
            max_recording_seconds: 120,
            number_entry_attempts: 3,
            max_callback_attempts: 3,
            callback_sla_minutes: 240,
            claim_timeout_minutes: 30,
            retry_delay_minutes: 60,
            time_zone: "Asia/Tokyo".to_owned(),
            default_region: Region::JP,
            delete_twilio_recording: true,
            recording_format: RecordingFormat::Mp3,
            retention_days: 365,
            routing: Default::default(),
            schedule: Default::default(),
            sms_confirmation: false,
            sms_from: String::new(),
            outbound_caller_id: None,
            agent_ring_seconds: 20,
            callback_recording: false,
            reached_min_seconds: 10,
            announce_due: true,
            callback_windows: Vec::new(),
            number_entry: NumberEntry::Dtmf,
        }
    }
}

impl TenantSettings {
    /// Settings for a language, with that language's default voice.
    pub fn for_language(language: Language) -> Self {
        TenantSettings {
            language,
            voice: language.default_voice().to_owned(),
            ..TenantSettings::default()
        }
    }

    pub fn validate(&self) -> Result<(), TenantError> {
        if !self.language.accepts_voice(&self.voice) {
            return Err(TenantError::VoiceLanguage {
                voice: self.voice.clone(),
                language: self.language,
                default: self.language.default_voice(),
            });
        }
        for setting in &SETTINGS {
            if let (Kind::Integer { min, max }, Value::Integer(got)) =
                (setting.kind, setting.read(self))
            {
                OutOfRange::check(setting.name, got, min, max)?;
            }
        }
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return Err(TenantError::TimeZone(self.time_zone.clone()));
        }
        self.routing.validate()?;
        if !self.sms_from.is_empty() && self.sms_sender().is_none() {
            return Err(TenantError::SmsFrom(self.sms_from.clone()));
        }
        if self.sms_confirmation && self.sms_from.is_empty() {
            return Err(TenantError::SmsWithoutSender);
        }
        callback_window::check_windows(&self.callback_windows)?;
        callback_window::check_within_hours(&self.callback_windows, &self.schedule)?;
        for (key, text) in &self.prompts {
            if text.trim().is_empty() {
                return Err(TenantError::EmptyPrompt(key.name()));
            }
            if key.takes_number() && !text.contains("{number}") {
                return Err(TenantError::PromptNeedsNumber(key.name()));
            }
            if !key.takes_due() && text.contains("{due}") {
                return Err(TenantError::PromptCannotSayDue(key.name()));
            }
        }
        Ok(())
    }

    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        // Validated when saved; UTC only for a store edited by hand.
        jiff::tz::TimeZone::get(&self.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    pub fn is_open(&self, now: Timestamp) -> bool {
        self.schedule.is_open(now, &self.time_zone())
    }

    /// When the SLA starts for a call of `reason` that arrived at `arrived`:
    /// after hours, at the next opening.
    pub fn due_from(&self, reason: Reason, arrived: Timestamp) -> Option<Timestamp> {
        (reason == Reason::AfterHours)
            .then(|| self.schedule.next_opening(arrived, &self.time_zone()))
            .flatten()
    }

    pub fn work_rules(&self) -> WorkRules {
        WorkRules {
            max_attempts: self.max_callback_attempts,
            claim_timeout: jiff::SignedDuration::from_mins(i64::from(self.claim_timeout_minutes)),
            retry_delay: jiff::SignedDuration::from_mins(i64::from(self.retry_delay_minutes)),
            retention: jiff::SignedDuration::from_hours(24 * i64::from(self.retention_days)),
        }
    }

    /// The largest recording download accepted: Twilio's WAV is 8 kHz mono
    /// 16-bit (16,000 bytes a second), its MP3 at most 32 kbit/s (4,000); a
    /// quarter more, and 64 KiB, spare.
    pub fn max_recording_bytes(&self) -> u64 {
        self.audio_bound(self.max_recording_seconds, 1)
    }

    /// The largest download of a click-to-call recording: both parties,
    /// a channel each, for at most the recorded call's time limit.
    pub fn max_callback_recording_bytes(&self) -> u64 {
        self.audio_bound(crate::domain::outbound::RECORDED_CALL_MAX_SECONDS, 2)
    }

    fn audio_bound(&self, seconds: u32, channels: u64) -> u64 {
        let per_second = match self.recording_format {
            RecordingFormat::Wav => 16_000,
            RecordingFormat::Mp3 => 4_000,
        };
        let audio = u64::from(seconds) * per_second * channels;
        audio + audio / 4 + 64 * 1024
    }

    /// Who the tenant's SMS come from, when set.
    pub fn sms_sender(&self) -> Option<SmsSender> {
        SmsSender::parse(&self.sms_from)
    }

    pub fn prompt(&self, key: PromptKey) -> &str {
        crate::domain::prompts::prompt_text(&self.prompts, self.language, key)
    }
}

/// The form a recording is fetched from Twilio in and stored as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingFormat {
    #[default]
    Wav,
    Mp3,
}

impl RecordingFormat {
    pub const ALL: [RecordingFormat; 2] = [RecordingFormat::Wav, RecordingFormat::Mp3];
    /// The names of `ALL`, as serde writes them.
    pub const NAMES: [&'static str; 2] = [Self::ALL[0].extension(), Self::ALL[1].extension()];

    /// Twilio's media URL suffix, and our key's; also its name.
    pub const fn extension(self) -> &'static str {
        match self {
            RecordingFormat::Wav => "wav",
            RecordingFormat::Mp3 => "mp3",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            RecordingFormat::Wav => "audio/wav",
            RecordingFormat::Mp3 => "audio/mpeg",
        }
    }

    /// The format of a stored recording, by its key's extension (a
    /// recording keeps the format it was stored in).
    pub fn of_key(key: &str) -> Self {
        if key.ends_with(".mp3") {
            RecordingFormat::Mp3
        } else {
            RecordingFormat::Wav
        }
    }
}

impl std::str::FromStr for RecordingFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "wav" => Ok(RecordingFormat::Wav),
            "mp3" => Ok(RecordingFormat::Mp3),
            other => Err(format!(
                "recording format must be wav or mp3, got {other:?}"
            )),
        }
    }
}

/// The timing rules of the tenant that agents' changes follow.
#[derive(Debug, Clone, Copy)]
pub struct WorkRules {
    pub max_attempts: u32,
    pub claim_timeout: jiff::SignedDuration,
    pub retry_delay: jiff::SignedDuration,
    /// How long a closed record is kept.
    pub retention: jiff::SignedDuration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub twilio: TwilioCredentials,
    pub settings: TenantSettings,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_japanese() {
        let settings = TenantSettings::default();
        settings.validate().unwrap();
        assert_eq!(settings.voice, "Polly.Mizuki");
        TenantSettings::for_language(Language::EnUs)
            .validate()
            .unwrap();
    }

    #[test]
    fn validation_names_the_problem() {
        let settings = TenantSettings {
            voice: "Polly.Joanna".into(),
            ..TenantSettings::default()
        };
        assert_eq!(
            settings.validate().unwrap_err().to_string(),
            "voice \"Polly.Joanna\" cannot speak ja-JP; pick a ja-JP voice such as Polly.Mizuki"
        );
        let settings = TenantSettings {
            time_zone: "Mars/Olympus".into(),
            ..TenantSettings::default()
        };
        assert!(matches!(settings.validate(), Err(TenantError::TimeZone(_))));
        let mut settings = TenantSettings::default();
        settings
            .prompts
            .insert(PromptKey::ConfirmNumber, "no number here".into());
        assert_eq!(
            settings.validate(),
            Err(TenantError::PromptNeedsNumber("confirm_number"))
        );
        let mut settings = TenantSettings::default();
        settings
            .prompts
            .insert(PromptKey::Greeting, "{due}お電話します".into());
        assert_eq!(
            settings.validate(),
            Err(TenantError::PromptCannotSayDue("greeting"))
        );
        for key in [
            PromptKey::Thanks,
            PromptKey::RepeatCaller,
            PromptKey::AfterHoursGreeting,
        ] {
            let mut settings = TenantSettings::default();
            settings.prompts.insert(key, "{due} {number}".into());
            settings.validate().unwrap();
        }
    }

    #[test]
    fn callback_windows_lie_within_business_hours() {
        let mut settings = TenantSettings::default();
        settings.schedule.set_hours("mon-fri=09:00-18:00").unwrap();
        settings.callback_windows =
            callback_window::parse_windows(&["1=09:00-12:00", "2=17:00-19:00"]).unwrap();
        let err = settings.validate().unwrap_err();
        assert_eq!(err.field(), "callback_windows");
        assert_eq!(
            err.to_string(),
            "callback_windows: callback window 2=17:00-19:00 is outside business hours on every day"
        );
        settings.callback_windows.pop();
        settings.validate().unwrap();
        // Older tenants, stored without the new settings, load with the defaults.
        let mut stored = serde_json::to_value(TenantSettings::default()).unwrap();
        for name in ["announce_due", "callback_windows", "number_entry"] {
            stored.as_object_mut().unwrap().remove(name);
        }
        let loaded: TenantSettings = serde_json::from_value(stored).unwrap();
        assert!(loaded.announce_due && loaded.callback_windows.is_empty());
        assert_eq!(loaded.number_entry, NumberEntry::Dtmf);
    }

    #[test]
    fn retention_is_a_day_to_ten_years() {
        for (days, ok) in [(0, false), (1, true), (3650, true), (3651, false)] {
            let settings = TenantSettings {
                retention_days: days,
                ..TenantSettings::default()
            };
            assert_eq!(settings.validate().is_ok(), ok, "{days}");
        }
        assert_eq!(
            TenantSettings::default().work_rules().retention,
            jiff::SignedDuration::from_hours(365 * 24)
        );
    }

    #[test]
    fn an_mp3_is_allowed_a_quarter_of_a_wav() {
        let wav = TenantSettings {
            max_recording_seconds: 120,
            recording_format: RecordingFormat::Wav,
            ..TenantSettings::default()
        };
        let mp3 = TenantSettings {
            recording_format: RecordingFormat::Mp3,
            ..wav.clone()
        };
        assert_eq!(wav.max_recording_bytes(), 2_400_000 + 65_536);
        assert_eq!(mp3.max_recording_bytes(), 600_000 + 65_536);
        // An hour of two channels.
        assert_eq!(wav.max_callback_recording_bytes(), 144_000_000 + 65_536);
        assert_eq!(mp3.max_callback_recording_bytes(), 36_000_000 + 65_536);
        assert_eq!("mp3".parse(), Ok(RecordingFormat::Mp3));
        assert_eq!(
            "ogg".parse::<RecordingFormat>(),
            Err("recording format must be wav or mp3, got \"ogg\"".into())
        );
        assert_eq!(
            RecordingFormat::of_key("recordings/a/CA1/RE1.mp3").content_type(),
            "audio/mpeg"
        );
        assert_eq!(
            RecordingFormat::of_key("recordings/a/CA1/RE1.wav").content_type(),
            "audio/wav"
        );
    }

    #[test]
    fn auth_token_is_not_debug_printed() {
        let token = AuthToken::new("s3cret").unwrap();
        assert_eq!(format!("{token:?}"), "AuthToken(***)");
        assert_eq!(AuthToken::new("  "), Err(TenantError::EmptyAuthToken));
    }

    #[test]
    fn a_rotated_token_overlaps_for_the_window_only() {
        let sid = AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap();
        let mut creds = TwilioCredentials::new(sid, AuthToken::new("old").unwrap());
        let at = |s: &str| -> Timestamp { s.parse().unwrap() };
        let now = at("2026-11-25T01:00:00Z");
        creds
            .rotate_auth_token(AuthToken::new("new").unwrap(), 60, now)
            .unwrap();
        let tokens = |creds: &TwilioCredentials, t: &str| -> Vec<String> {
            creds
                .auth_tokens(at(t))
                .map(|k| k.expose().to_owned())
                .collect()
        };
        assert_eq!(tokens(&creds, "2026-11-25T01:59:59Z"), ["new", "old"]);
        assert_eq!(tokens(&creds, "2026-11-25T02:00:00Z"), ["new"]);
        creds
            .rotate_auth_token(AuthToken::new("newer").unwrap(), 0, now)
            .unwrap();
        assert_eq!(tokens(&creds, "2026-11-25T01:00:01Z"), ["newer"]);
        assert_eq!(
            creds
                .rotate_auth_token(AuthToken::new("x").unwrap(), 10_081, now)
                .unwrap_err()
                .to_string(),
            "keep_previous_token_minutes must be between 0 and 10080, got 10081"
        );
    }
}
