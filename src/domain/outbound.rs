//! Calling a customer back from afureko, agent first (click-to-call).
//! Twilio rings the agent's phone; when the agent answers, a whisper says
//! who is called back and why, and "press 1" dials the customer (a key
//! press keeps the agent's own voicemail from being joined to the
//! customer). The Dial's result becomes the attempt by itself, once.
//! Decisions only: `calls::outbound` reads and writes the record.

use crate::domain::callback::{Attempt, AttemptCall, CallbackRecord, Outcome};
use crate::domain::due::spoken_moment;
use crate::domain::ids::{CallSid, CallbackId};
use crate::domain::phone::E164;
use crate::domain::prompts::Language;
use crate::domain::reason::Reason;
use crate::domain::routing::Destination;
use crate::domain::tenant::{TenantSettings, WorkRules};
use crate::domain::twiml::{Bridge, BridgeRecording, Gather, Prompt, Say, Twiml, Verb};
use crate::domain::work::ChangeError;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How long the customer's phone rings (Twilio's default for `<Dial>`).
pub const CUSTOMER_RING_SECONDS: u32 = 30;
/// How long the agent has to press 1 after the whisper.
pub const KEY_WAIT_SECONDS: u32 = 8;
/// A recorded call back lasts at most this long; the recording's size
/// bound follows from it.
pub const RECORDED_CALL_MAX_SECONDS: u32 = 3600;
/// A call that never reported its end stops blocking the next one after
/// this long.
pub const LIVE_AT_MOST: SignedDuration = SignedDuration::from_hours(1);
/// The latest note is read to the agent up to this many characters.
const NOTE_CHARS: usize = 120;

/// Which call a request of the agent's leg is about; it travels in the
/// leg's URLs, so any instance answers any step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallKey {
    pub callback: CallbackId,
    /// The login of the agent the call was placed for.
    pub agent: String,
    /// When it was placed, Unix seconds.
    pub started: i64,
}

/// Absolute URLs of the agent's leg. Implemented by the HTTP layer.
pub trait OutboundLinks: Send + Sync {
    /// Twilio's request when the agent answers.
    fn answer(&self, key: &CallKey) -> String;
    /// The key the agent pressed (or none).
    fn connect(&self, key: &CallKey) -> String;
    /// The Dial's action: how the customer's leg ended.
    fn dialed(&self, key: &CallKey) -> String;
    /// The customer answered: what they hear before they are joined.
    fn customer(&self, key: &CallKey) -> String;
    /// The agent leg's status callback.
    fn status(&self, key: &CallKey) -> String;
    /// The recording's status callback.
    fn recording(&self, key: &CallKey) -> String;
}

/// How far a call back got, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Twilio is ringing the agent's phone.
    CallingAgent,
    /// The agent hears who it is; waiting for 1.
    AgentAnswered,
    /// The customer's phone is ringing.
    CallingCustomer,
    /// The agent and the customer are talking.
    Connected,
    /// Over: `end` says why.
    Ended,
}

/// Why a call back ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallEnd {
    /// The customer's leg ended and its outcome is the attempt `attempt`.
    Logged,
    /// The agent hung up while the customer's phone rang: nothing logged.
    Canceled,
    AgentNoAnswer,
    AgentBusy,
    /// Twilio could not reach the agent's phone.
    AgentFailed,
    /// The agent pressed nothing, or another key than 1.
    AgentDeclined,
    /// The agent hung up before pressing a key.
    AgentHungUp,
    /// When the agent answered, the record was closed or someone else's.
    NoLongerHeld,
    /// Twilio refused to place the call (`twilio_error` says why).
    TwilioRefused,
}

/// Twilio's error body, as a refused call keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TwilioFault {
    /// The HTTP status Twilio answered; none when it could not be reached.
    pub status: Option<u16>,
    /// Twilio's error code, e.g. 21210.
    pub code: Option<u32>,
    pub message: Option<String>,
    pub more_info: Option<String>,
}

/// The latest click-to-call of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundCall {
    pub agent: String,
    pub started_at: Timestamp,
    /// The call to the agent's phone, once Twilio named it.
    #[serde(default)]
    pub agent_call_sid: Option<CallSid>,
    /// The customer's leg, once dialled.
    #[serde(default)]
    pub customer_call_sid: Option<CallSid>,
    pub state: CallState,
    #[serde(default)]
    pub end: Option<CallEnd>,
    /// The attempt it logged (1 is the first).
    #[serde(default)]
    pub attempt: Option<usize>,
    #[serde(default)]
    pub twilio_error: Option<TwilioFault>,
    pub updated_at: Timestamp,
}

impl OutboundCall {
    fn new(agent: &str, now: Timestamp) -> Self {
        OutboundCall {
            agent: agent.to_owned(),
            started_at: now,
            agent_call_sid: None,
            customer_call_sid: None,
            state: CallState::CallingAgent,
            end: None,
            attempt: None,
            twilio_error: None,
            updated_at: now,
        }
    }

    fn is(&self, key: &CallKey) -> bool {
        self.agent == key.agent && self.started_at.as_second() == key.started
    }

    /// Whether it still blocks another call back on the record.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.state != CallState::Ended
            && self
                .started_at
                .checked_add(LIVE_AT_MOST)
                .is_ok_and(|until| now < until)
    }

    /// Moves on to `state`, never back.
    fn advance(&mut self, state: CallState, now: Timestamp) -> bool {
        if state <= self.state {
            return false;
        }
        self.state = state;
        self.updated_at = now;
        true
    }

    /// Ends it, unless it has ended already.
    fn finish(&mut self, end: CallEnd, now: Timestamp) -> bool {
        if self.state == CallState::Ended {
            return false;
        }
        self.state = CallState::Ended;
        self.end = Some(end);
        self.updated_at = now;
        true
    }

    /// Names the agent's leg, which Twilio may report before the answer
    /// to the request that placed it arrived.
    fn name(&mut self, sid: &CallSid, now: Timestamp) -> bool {
        if self.agent_call_sid.is_some() {
            return false;
        }
        self.agent_call_sid = Some(sid.clone());
        self.updated_at = now;
        true
    }
}

/// Why a call back cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallRefusal {
    /// Closed, or another agent holds it.
    #[error(transparent)]
    Record(#[from] ChangeError),
    #[error("claim the callback first: only the agent holding it calls back")]
    NotClaimed,
    #[error("a call back on this callback is under way (placed at {since})")]
    UnderWay { since: Timestamp },
    #[error(
        "click-to-call is off: the tenant has no outbound_caller_id (its Twilio number for calling back) yet"
    )]
    NoCallerId,
    #[error("{agent} has no phone for click-to-call to ring: set one first")]
    NoPhone { agent: String },
}

impl CallRefusal {
    /// The setting that is missing, for the two that are.
    pub fn missing(&self) -> Option<&'static str> {
        match self {
            CallRefusal::NoCallerId => Some("outbound_caller_id"),
            CallRefusal::NoPhone { .. } => Some("phone"),
            _ => None,
        }
    }
}

/// What a call back needs: the tenant's number and the agent's phone.
pub fn ready<'a>(
    settings: &'a TenantSettings,
    agent: &str,
    phone: Option<&'a Destination>,
) -> Result<(&'a E164, &'a Destination), CallRefusal> {
    let caller_id = settings
        .outbound_caller_id
        .as_ref()
        .ok_or(CallRefusal::NoCallerId)?;
    let phone = phone.ok_or_else(|| CallRefusal::NoPhone {
        agent: agent.to_owned(),
    })?;
    Ok((caller_id, phone))
}

/// The attempt a Dial's `DialCallStatus` makes, if any: a completed call
/// shorter than `reached_min_seconds` (DialCallDuration; missing counts as
/// 0) did not reach the customer; `canceled` (the agent hung up first), or
/// a status Twilio adds later, makes none.
pub fn dial_outcome(
    status: &str,
    duration_seconds: Option<u32>,
    reached_min_seconds: u32,
) -> Option<Outcome> {
    match status {
        "completed" | "answered" if duration_seconds.unwrap_or(0) >= reached_min_seconds => {
            Some(Outcome::Reached)
        }
        "completed" | "answered" | "no-answer" => Some(Outcome::NoAnswer),
        "busy" => Some(Outcome::Busy),
        "failed" => Some(Outcome::WrongNumber),
        _ => None,
    }
}

/// What the agent's phone says, in the tenant's language and voice.
struct Voice<'a>(&'a TenantSettings);

impl Voice<'_> {
    fn say(&self, text: String) -> Say {
        Say {
            text,
            voice: self.0.voice.clone(),
            language: self.0.language.code().to_owned(),
        }
    }

    fn language(&self) -> Language {
        self.0.language
    }

    /// `text`, then the call ends.
    fn goodbye(&self, text: &str) -> Twiml {
        Twiml::new()
            .push(Verb::Say(self.say(text.to_owned())))
            .push(Verb::Hangup)
    }

    fn text(&self, ja: &'static str, en: &'static str) -> &'static str {
        match self.language() {
            Language::JaJp => ja,
            Language::EnUs => en,
        }
    }
}

/// Why the customer called, as the whisper says it.
fn reason_phrase(reason: Reason, language: Language) -> &'static str {
    match language {
        Language::JaJp => match reason {
            Reason::Busy => "話し中で受けられなかった",
            Reason::NoAnswer => "応答できなかった",
            Reason::QueueTimeout => "待ち時間が長くなった",
            Reason::QueueOptOut => "待ちの途中で折り返しを希望された",
            Reason::QueueFull => "待ち行列が満杯だった",
            Reason::AfterHours => "営業時間外の",
            Reason::Overflow => "混雑時の",
            Reason::Outage => "システム障害中に録音で残された",
        },
        Language::EnUs => match reason {
            Reason::Busy => "when every line was busy",
            Reason::NoAnswer => "when nobody answered",
            Reason::QueueTimeout => "and waited too long in the queue",
            Reason::QueueOptOut => "and asked for a call back while waiting",
            Reason::QueueFull => "when the queue was full",
            Reason::AfterHours => "after hours",
            Reason::Overflow => "when the lines were full",
            Reason::Outage => "and left a recording while the system was down",
        },
    }
}

/// An outcome as the agent hears it logged.
fn outcome_phrase(outcome: Outcome, language: Language) -> &'static str {
    match language {
        Language::JaJp => match outcome {
            Outcome::Reached => "つながった",
            Outcome::NoAnswer => "応答なし",
            Outcome::Busy => "話し中",
            Outcome::Voicemail => "留守電",
            Outcome::WrongNumber => "番号違い",
        },
        Language::EnUs => match outcome {
            Outcome::Reached => "reached",
            Outcome::NoAnswer => "no answer",
            Outcome::Busy => "busy",
            Outcome::Voicemail => "voicemail",
            Outcome::WrongNumber => "wrong number",
        },
    }
}

/// The first line of `text`, at most `NOTE_CHARS` characters.
fn first_line(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut cut: String = line.chars().take(NOTE_CHARS).collect();
    if cut.len() < line.len() {
        cut.push('…');
    }
    Some(cut)
}

impl CallbackRecord {
    /// The call back of `key`, if it is still the record's latest.
    fn call_of(&mut self, key: &CallKey) -> Option<&mut OutboundCall> {
        self.call.as_mut().filter(|call| call.is(key))
    }

    /// Whether `agent` may call the customer back now: the record is open
    /// and theirs, and no other call back on it is under way.
    pub fn may_call(
        &self,
        agent: &str,
        now: Timestamp,
        rules: &WorkRules,
    ) -> Result<(), CallRefusal> {
        if !self.is_open() {
            return Err(ChangeError::InvalidState {
                action: "call back",
                status: self.status,
            }
            .into());
        }
        if let Some(holder) = self.other_holder(agent, now, rules) {
            return Err(ChangeError::HeldByOther { holder }.into());
        }
        if !self.holds(agent, now, rules) {
            return Err(CallRefusal::NotClaimed);
        }
        match &self.call {
            Some(call) if call.is_live(now) => Err(CallRefusal::UnderWay {
                since: call.started_at,
            }),
            _ => Ok(()),
        }
    }

    /// A call back starts: kept before Twilio is asked, so that the
    /// agent's leg finds it whenever its first request comes.
    pub fn start_call(
        &mut self,
        agent: &str,
        now: Timestamp,
        rules: &WorkRules,
    ) -> Result<CallKey, CallRefusal> {
        self.may_call(agent, now, rules)?;
        self.call = Some(OutboundCall::new(agent, now));
        self.updated_at = now;
        Ok(CallKey {
            callback: self.id.clone(),
            agent: agent.to_owned(),
            started: now.as_second(),
        })
    }

    /// Twilio placed the call: its SID.
    pub fn call_placed(&mut self, key: &CallKey, sid: &CallSid, now: Timestamp) -> bool {
        let named = self.call_of(key).is_some_and(|call| call.name(sid, now));
        self.touched(named, now)
    }

    /// Twilio refused to place the call.
    pub fn call_refused(&mut self, key: &CallKey, fault: TwilioFault, now: Timestamp) -> bool {
        let ended = self.call_of(key).is_some_and(|call| {
            call.twilio_error = Some(fault);
            call.finish(CallEnd::TwilioRefused, now)
        });
        self.touched(ended, now)
    }

    fn touched(&mut self, changed: bool, now: Timestamp) -> bool {
        if changed {
            self.updated_at = now;
        }
        changed
    }

    /// Whether the customer may still be called for this record: open,
    /// and nobody but `agent` holds it.
    fn still_for(&self, agent: &str, now: Timestamp, rules: &WorkRules) -> bool {
        self.is_open() && self.other_holder(agent, now, rules).is_none()
    }

    /// The agent answered: the whisper and "press 1", or the end when the
    /// record is no longer theirs to call. Returns what the agent hears and
    /// whether the record changed.
    pub fn agent_answered(
        &mut self,
        key: &CallKey,
        sid: &CallSid,
        settings: &TenantSettings,
        links: &dyn OutboundLinks,
        now: Timestamp,
    ) -> (Twiml, bool) {
        let voice = Voice(settings);
        let rules = settings.work_rules();
        if !self.still_for(&key.agent, now, &rules) {
            let ended = self.call_of(key).is_some_and(|call| {
                call.name(sid, now);
                call.finish(CallEnd::NoLongerHeld, now)
            });
            return (
                voice.goodbye(no_longer_held(&voice)),
                self.touched(ended, now),
            );
        }
        let whisper = self.whisper(settings, now);
        let press = voice.text(
            "お客様におつなぎする場合は、1を押してください。",
            "Press 1 to connect.",
        );
        let twiml = Twiml::new()
            .push(Verb::Gather(Gather {
                action: links.connect(key),
                num_digits: Some(1),
                timeout_seconds: KEY_WAIT_SECONDS,
                finish_on_key: None,
                speech: None,
                prompts: vec![
                    Prompt::Say(voice.say(whisper)),
                    Prompt::Say(voice.say(press.to_owned())),
                ],
            }))
            .push(Verb::Redirect {
                url: links.connect(key),
            });
        let moved = self.call_of(key).is_some_and(|call| {
            let named = call.name(sid, now);
            call.advance(CallState::AgentAnswered, now) || named
        });
        (twiml, self.touched(moved, now))
    }

    /// Who is called back and why, for the agent's ear only: the number's
    /// last four digits, when and why they called, and the first line of
    /// the latest note.
    fn whisper(&self, settings: &TenantSettings, now: Timestamp) -> String {
        let language = settings.language;
        let ending = self.callback_number.read_ending(4, language);
        let when = spoken_moment(self.received_at, now, &settings.time_zone(), language);
        let reason = reason_phrase(self.reason, language);
        let note = self
            .notes
            .iter()
            .rev()
            .find_map(|n| n.text.as_deref().and_then(first_line));
        let mut text = match language {
            Language::JaJp => format!(
                "折り返しのお電話です。お客様の番号は、末尾{ending}。{when}にいただいた、{reason}お電話です。"
            ),
            Language::EnUs => format!(
                "A call back. The customer's number ends in {ending}. They called {when}, {reason}."
            ),
        };
        if let Some(note) = note {
            text.push_str(&match language {
                Language::JaJp => format!("最新のメモ。{note}"),
                Language::EnUs => format!(" Latest note: {note}"),
            });
        }
        text
    }

    /// The agent pressed `digits` (empty: nothing). 1 dials the customer;
    /// anything else ends the call with nothing logged.
    pub fn agent_pressed(
        &mut self,
        key: &CallKey,
        digits: &str,
        settings: &TenantSettings,
        links: &dyn OutboundLinks,
        now: Timestamp,
    ) -> (Twiml, bool) {
        let voice = Voice(settings);
        let rules = settings.work_rules();
        if digits != "1" {
            let ended = self
                .call_of(key)
                .is_some_and(|call| call.finish(CallEnd::AgentDeclined, now));
            let text = voice.text("おつなぎせずに終了します。", "Not connected. Goodbye.");
            return (voice.goodbye(text), self.touched(ended, now));
        }
        if !self.still_for(&key.agent, now, &rules) {
            let ended = self
                .call_of(key)
                .is_some_and(|call| call.finish(CallEnd::NoLongerHeld, now));
            return (
                voice.goodbye(no_longer_held(&voice)),
                self.touched(ended, now),
            );
        }
        let recording = settings.callback_recording.then(|| BridgeRecording {
            status_callback: links.recording(key),
            time_limit_seconds: RECORDED_CALL_MAX_SECONDS,
        });
        let connecting = voice.text("おつなぎします。", "Connecting.");
        let twiml = Twiml::new()
            .push(Verb::Say(voice.say(connecting.to_owned())))
            .push(Verb::Bridge(Bridge {
                action: links.dialed(key),
                timeout_seconds: CUSTOMER_RING_SECONDS,
                caller_id: settings
                    .outbound_caller_id
                    .as_ref()
                    .map(|n| n.as_str().to_owned()),
                number: self.callback_number.as_str().to_owned(),
                on_answer: links.customer(key),
                recording,
            }));
        let moved = self
            .call_of(key)
            .is_some_and(|call| call.advance(CallState::CallingCustomer, now));
        (twiml, self.touched(moved, now))
    }

    /// The customer answered: joined at once, after the consent notice
    /// when the call is recorded.
    pub fn customer_answered(
        &mut self,
        key: &CallKey,
        settings: &TenantSettings,
        now: Timestamp,
    ) -> (Twiml, bool) {
        let voice = Voice(settings);
        let twiml = if settings.callback_recording {
            let notice = voice.text(
                "お電話ありがとうございます。ご依頼いただいた折り返しのお電話です。この通話は、応対品質の向上のため録音させていただきます。",
                "Hello, this is the call back you asked for. This call is recorded to improve our service.",
            );
            Twiml::new().push(Verb::Say(voice.say(notice.to_owned())))
        } else {
            Twiml::new()
        };
        let moved = self
            .call_of(key)
            .is_some_and(|call| call.advance(CallState::Connected, now));
        (twiml, self.touched(moved, now))
    }

    /// The customer's leg ended (`DialCallStatus` and the rest of the
    /// Dial's action): its outcome becomes an attempt by the call's agent,
    /// once however often Twilio asks; the agent hears what was logged.
    #[allow(clippy::too_many_arguments)]
    pub fn customer_leg_ended(
        &mut self,
        key: &CallKey,
        agent_call_sid: &CallSid,
        dial: &DialResult,
        settings: &TenantSettings,
        now: Timestamp,
    ) -> (Twiml, bool) {
        let voice = Voice(settings);
        let rules = settings.work_rules();
        let logged = self.attempts.iter().position(|a| {
            a.call
                .as_ref()
                .is_some_and(|c| &c.agent_call_sid == agent_call_sid)
        });
        let outcome = dial_outcome(
            &dial.status,
            dial.duration_seconds,
            settings.reached_min_seconds,
        );
        let (n, changed) = match (logged, outcome) {
            (Some(i), _) => (Some(i + 1), false),
            (None, None) => (None, false),
            (None, Some(outcome)) => {
                let attempt = Attempt {
                    call: Some(AttemptCall {
                        agent_call_sid: agent_call_sid.clone(),
                        customer_call_sid: dial.customer_call_sid.clone(),
                        duration_seconds: dial.duration_seconds,
                    }),
                    ..Attempt::logged(now, key.agent.clone(), outcome, None)
                };
                self.add_call_attempt(attempt, &rules);
                (Some(self.attempts.len()), true)
            }
        };
        let said = n.and_then(|n| self.attempts.get(n - 1)).map(|a| a.outcome);
        let ended = self.call_of(key).is_some_and(|call| {
            let before = (call.state, call.end, call.attempt);
            call.customer_call_sid = call
                .customer_call_sid
                .take()
                .or_else(|| dial.customer_call_sid.clone());
            // The Dial's result is the last word on how the call ended.
            call.state = CallState::Ended;
            call.end = Some(if n.is_some() {
                CallEnd::Logged
            } else {
                CallEnd::Canceled
            });
            call.attempt = n;
            call.updated_at = now;
            before != (call.state, call.end, call.attempt)
        });
        let text = match said {
            Some(outcome) => {
                let label = outcome_phrase(outcome, voice.language());
                match voice.language() {
                    Language::JaJp => format!("発信結果を、{label}、として記録しました。"),
                    Language::EnUs => format!("Logged as {label}."),
                }
            }
            None => voice
                .text("記録はありません。", "Nothing was logged.")
                .to_owned(),
        };
        (voice.goodbye(&text), self.touched(changed || ended, now))
    }

    /// Adds an attempt a call logged. On a closed record (done meanwhile
    /// some other way) it joins the history only; on a record someone
    /// else took meanwhile it leaves their claim, unless it closes it.
    fn add_call_attempt(&mut self, attempt: Attempt, rules: &WorkRules) {
        let now = attempt.at;
        if !self.is_open() {
            self.attempts.push(attempt);
            return;
        }
        if self.other_holder(&attempt.agent, now, rules).is_some() {
            self.attempts.push(attempt);
            if self.close_by(now, rules) {
                self.settle_expiry(rules.retention, now);
            }
            return;
        }
        self.lapse_claim(&attempt.agent, now, rules);
        self.record_attempt(attempt, rules);
    }

    /// The agent leg's status callback (`CallStatus`): answered, or how it
    /// ended before the customer's leg did.
    pub fn agent_leg_status(
        &mut self,
        key: &CallKey,
        sid: &CallSid,
        status: &str,
        now: Timestamp,
    ) -> bool {
        let changed = self.call_of(key).is_some_and(|call| {
            let named = call.name(sid, now);
            let moved = match status {
                "in-progress" | "answered" => call.advance(CallState::AgentAnswered, now),
                "completed" => call.finish(CallEnd::AgentHungUp, now),
                "busy" => call.finish(CallEnd::AgentBusy, now),
                "no-answer" => call.finish(CallEnd::AgentNoAnswer, now),
                "failed" => call.finish(CallEnd::AgentFailed, now),
                "canceled" => call.finish(CallEnd::Canceled, now),
                _ => false,
            };
            named || moved
        });
        self.touched(changed, now)
    }
}

/// What the agent hears when the record is gone (erased, expired).
pub fn record_gone(settings: &TenantSettings) -> Twiml {
    let voice = Voice(settings);
    voice.goodbye(voice.text(
        "この折り返しはもうありません。通話を終了します。",
        "This callback no longer exists. Goodbye.",
    ))
}

fn no_longer_held(voice: &Voice<'_>) -> &'static str {
    voice.text(
        "この折り返しは、完了したか、ほかの担当者が対応中です。通話を終了します。",
        "This callback is closed or someone else's now. Goodbye.",
    )
}

/// What the Dial's action reports of the customer's leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialResult {
    /// `DialCallStatus`: completed, busy, no-answer, failed, canceled.
    pub status: String,
    pub customer_call_sid: Option<CallSid>,
    pub duration_seconds: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::callback::Status;
    use crate::domain::callback::tests::{at, record};
    use crate::domain::phone::Region;

    struct Links;

    impl OutboundLinks for Links {
        fn answer(&self, _: &CallKey) -> String {
            "https://x/answer".into()
        }
        fn connect(&self, _: &CallKey) -> String {
            "https://x/connect".into()
        }
        fn dialed(&self, _: &CallKey) -> String {
            "https://x/dialed".into()
        }
        fn customer(&self, _: &CallKey) -> String {
            "https://x/customer".into()
        }
        fn status(&self, _: &CallKey) -> String {
            "https://x/status".into()
        }
        fn recording(&self, _: &CallKey) -> String {
            "https://x/recording".into()
        }
    }

    fn settings() -> TenantSettings {
        TenantSettings {
            outbound_caller_id: E164::parse("+815012345678", Region::JP).ok(),
            max_callback_attempts: 2,
            ..TenantSettings::default()
        }
    }

    fn sid(n: u32) -> CallSid {
        CallSid::parse(&format!("CA{n:032x}")).unwrap()
    }

    const T0: &str = "2026-11-25T02:00:00Z";

    /// A record ann holds, with her call back placed at `T0`.
    fn calling() -> (CallbackRecord, CallKey) {
        let mut r = record();
        let rules = settings().work_rules();
        r.claim("ann", at("2026-11-25T01:59:00Z"), &rules).unwrap();
        let key = r.start_call("ann", at(T0), &rules).unwrap();
        assert!(r.call_placed(&key, &sid(1), at(T0)));
        (r, key)
    }

    fn dial(status: &str, seconds: Option<u32>) -> DialResult {
        DialResult {
            status: status.into(),
            customer_call_sid: Some(sid(2)),
            duration_seconds: seconds,
        }
    }

    #[test]
    fn dial_statuses_become_outcomes() {
        let min = 10;
        assert_eq!(
            dial_outcome("completed", Some(10), min),
            Some(Outcome::Reached)
        );
        assert_eq!(
            dial_outcome("completed", Some(9), min),
            Some(Outcome::NoAnswer)
        );
        assert_eq!(
            dial_outcome("completed", None, min),
            Some(Outcome::NoAnswer)
        );
        assert_eq!(dial_outcome("completed", None, 0), Some(Outcome::Reached));
        assert_eq!(dial_outcome("busy", None, min), Some(Outcome::Busy));
        assert_eq!(
            dial_outcome("no-answer", None, min),
            Some(Outcome::NoAnswer)
        );
        assert_eq!(
            dial_outcome("failed", None, min),
            Some(Outcome::WrongNumber)
        );
        assert_eq!(dial_outcome("canceled", Some(40), min), None);
        assert_eq!(dial_outcome("something-new", Some(40), min), None);
    }

    #[test]
    fn only_the_holder_calls_and_one_call_at_a_time() {
        let rules = settings().work_rules();
        let mut r = record();
        assert_eq!(
            r.start_call("ann", at(T0), &rules),
            Err(CallRefusal::NotClaimed)
        );
        r.claim("bob", at(T0), &rules).unwrap();
        assert_eq!(
            r.start_call("ann", at(T0), &rules),
            Err(CallRefusal::Record(ChangeError::HeldByOther {
                holder: "bob".into()
            }))
        );
        let key = r.start_call("bob", at(T0), &rules).unwrap();
        assert_eq!(key.started, at(T0).as_second());
        assert_eq!(
            r.start_call("bob", at("2026-11-25T02:00:30Z"), &rules),
            Err(CallRefusal::UnderWay { since: at(T0) })
        );
        // A call that never reported its end stops blocking after an hour.
        r.claim("bob", at("2026-11-25T02:59:00Z"), &rules).unwrap();
        assert!(
            r.start_call("bob", at("2026-11-25T03:00:00Z"), &rules)
                .is_ok()
        );
        r.complete("bob", None, at("2026-11-25T03:01:00Z"), &rules)
            .unwrap();
        assert!(matches!(
            r.start_call("bob", at("2026-11-25T03:02:00Z"), &rules),
            Err(CallRefusal::Record(ChangeError::InvalidState { .. }))
        ));
    }

    #[test]
    fn nothing_is_placed_without_a_caller_id_or_a_phone() {
        let phone = Destination::parse("+819012345678", Region::JP).unwrap();
        let none = TenantSettings::default();
        let refused = ready(&none, "ann", Some(&phone)).unwrap_err();
        assert_eq!(refused.missing(), Some("outbound_caller_id"));
        let refused = ready(&settings(), "ann", None).unwrap_err();
        assert_eq!(refused.missing(), Some("phone"));
        assert_eq!(
            refused.to_string(),
            "ann has no phone for click-to-call to ring: set one first"
        );
        let configured = settings();
        let (from, to) = ready(&configured, "ann", Some(&phone)).unwrap();
        assert_eq!((from.as_str(), to), ("+815012345678", &phone));
    }

    #[test]
    fn the_agent_hears_who_and_why_then_presses_1() {
        let (mut r, key) = calling();
        r.add_note("bob", "請求書の件。\n二行目は読まない".into(), at(T0));
        let (twiml, changed) = r.agent_answered(
            &key,
            &sid(1),
            &settings(),
            &Links,
            at("2026-11-25T02:00:10Z"),
        );
        assert!(changed);
        assert_eq!(r.call.as_ref().unwrap().state, CallState::AgentAnswered);
        assert_eq!(
            twiml.render(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
                r#"<Gather input="dtmf" action="https://x/connect" method="POST" timeout="8" numDigits="1">"#,
                r#"<Say voice="Polly.Mizuki" language="ja-JP">折り返しのお電話です。お客様の番号は、末尾ゴーロクナナハチ。本日10時にいただいた、混雑時のお電話です。最新のメモ。請求書の件。</Say>"#,
                r#"<Say voice="Polly.Mizuki" language="ja-JP">お客様におつなぎする場合は、1を押してください。</Say></Gather>"#,
                r#"<Redirect method="POST">https://x/connect</Redirect></Response>"#
            )
        );
        let english = TenantSettings::for_language(Language::EnUs);
        let mut again = r.clone();
        let (twiml, _) = again.agent_answered(&key, &sid(1), &english, &Links, at(T0));
        assert!(twiml.render().contains(
            "A call back. The customer&apos;s number ends in 5 6 7 8. They called today at 10:00 am, when the lines were full. Latest note: 請求書の件。"
        ));

        let (twiml, _) = r.agent_pressed(&key, "1", &settings(), &Links, at(T0));
        assert_eq!(r.call.as_ref().unwrap().state, CallState::CallingCustomer);
        assert_eq!(
            twiml.render(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
                r#"<Say voice="Polly.Mizuki" language="ja-JP">おつなぎします。</Say>"#,
                r#"<Dial action="https://x/dialed" method="POST" timeout="30" callerId="+815012345678" answerOnBridge="true">"#,
                r#"<Number url="https://x/customer" method="POST">+81312345678</Number></Dial></Response>"#
            )
        );
        let (twiml, _) = r.customer_answered(&key, &settings(), at(T0));
        assert_eq!(twiml, Twiml::new());
        assert_eq!(r.call.as_ref().unwrap().state, CallState::Connected);
    }

    #[test]
    fn a_recorded_call_back_plays_the_notice_to_the_customer() {
        let recorded = TenantSettings {
            callback_recording: true,
            ..settings()
        };
        let (mut r, key) = calling();
        let (twiml, _) = r.agent_pressed(&key, "1", &recorded, &Links, at(T0));
        assert!(twiml.render().contains(
            r#"timeLimit="3600" record="record-from-answer-dual" recordingStatusCallback="https://x/recording""#
        ));
        let (twiml, _) = r.customer_answered(&key, &recorded, at(T0));
        assert_eq!(
            Twiml::new()
                .push(Verb::Say(Voice(&recorded).say(
                    "お電話ありがとうございます。ご依頼いただいた折り返しのお電話です。この通話は、応対品質の向上のため録音させていただきます。".into()
                ))),
            twiml
        );
    }

    #[test]
    fn no_key_or_another_key_ends_the_call_with_nothing_logged() {
        for digits in ["", "2", "11"] {
            let (mut r, key) = calling();
            let (twiml, changed) = r.agent_pressed(&key, digits, &settings(), &Links, at(T0));
            assert!(changed);
            assert_eq!(
                twiml,
                Voice(&settings()).goodbye("おつなぎせずに終了します。")
            );
            let call = r.call.as_ref().unwrap();
            assert_eq!(
                (call.state, call.end),
                (CallState::Ended, Some(CallEnd::AgentDeclined))
            );
            assert!(r.attempts.is_empty());
            // The status callback after it changes nothing.
            assert!(!r.agent_leg_status(&key, &sid(1), "completed", at(T0)));
        }
    }

    #[test]
    fn a_record_closed_meanwhile_is_not_dialled() {
        let (mut r, key) = calling();
        let rules = settings().work_rules();
        r.complete("ann", None, at(T0), &rules).unwrap();
        let (twiml, _) = r.agent_answered(&key, &sid(1), &settings(), &Links, at(T0));
        assert!(matches!(
            twiml.verbs.as_slice(),
            [Verb::Say(_), Verb::Hangup]
        ));
        assert_eq!(r.call.as_ref().unwrap().end, Some(CallEnd::NoLongerHeld));
    }

    #[test]
    fn the_dial_result_logs_one_attempt_however_often_it_comes() {
        let (mut r, key) = calling();
        r.agent_pressed(&key, "1", &settings(), &Links, at(T0));
        let done = at("2026-11-25T02:05:00Z");
        let (twiml, changed) = r.customer_leg_ended(
            &key,
            &sid(1),
            &dial("completed", Some(95)),
            &settings(),
            done,
        );
        assert!(changed);
        assert_eq!(
            twiml,
            Voice(&settings()).goodbye("発信結果を、つながった、として記録しました。")
        );
        let (again, changed) = r.customer_leg_ended(
            &key,
            &sid(1),
            &dial("completed", Some(95)),
            &settings(),
            done,
        );
        assert!(!changed);
        assert_eq!(again, twiml);
        assert_eq!(r.attempts.len(), 1);
        let attempt = &r.attempts[0];
        assert_eq!(
            (attempt.agent.as_str(), attempt.outcome),
            ("ann", Outcome::Reached)
        );
        assert_eq!(
            attempt.call,
            Some(AttemptCall {
                agent_call_sid: sid(1),
                customer_call_sid: Some(sid(2)),
                duration_seconds: Some(95),
            })
        );
        assert_eq!(
            (r.status, r.claimed_by.as_deref()),
            (Status::Completed, None)
        );
        let call = r.call.as_ref().unwrap();
        assert_eq!(
            (
                call.state,
                call.end,
                call.attempt,
                call.customer_call_sid.clone()
            ),
            (
                CallState::Ended,
                Some(CallEnd::Logged),
                Some(1),
                Some(sid(2))
            )
        );
        // The agent leg's status callbacks, late and repeated.
        assert!(!r.agent_leg_status(&key, &sid(1), "completed", done));
        assert!(!r.agent_leg_status(&key, &sid(1), "ringing", done));
        assert_eq!(r.call.as_ref().unwrap().end, Some(CallEnd::Logged));
    }

    #[test]
    fn an_unreached_customer_is_due_again_and_a_cancel_logs_nothing() {
        let (mut r, key) = calling();
        let done = at("2026-11-25T02:05:00Z");
        r.customer_leg_ended(&key, &sid(1), &dial("busy", None), &settings(), done);
        assert_eq!(r.attempts[0].outcome, Outcome::Busy);
        assert_eq!(
            (r.status, r.due_at),
            (Status::Pending, at("2026-11-25T03:05:00Z"))
        );

        let (mut r, key) = calling();
        // The agent leg's end came first: the Dial's result still decides.
        assert!(r.agent_leg_status(&key, &sid(1), "completed", done));
        let (twiml, changed) =
            r.customer_leg_ended(&key, &sid(1), &dial("canceled", None), &settings(), done);
        assert!(changed);
        assert_eq!(twiml, Voice(&settings()).goodbye("記録はありません。"));
        assert!(r.attempts.is_empty());
        assert_eq!(r.status, Status::Claimed);
        assert_eq!(r.call.as_ref().unwrap().end, Some(CallEnd::Canceled));
    }

    #[test]
    fn an_unanswered_agent_leg_keeps_why_and_logs_nothing() {
        for (status, end) in [
            ("no-answer", CallEnd::AgentNoAnswer),
            ("busy", CallEnd::AgentBusy),
            ("failed", CallEnd::AgentFailed),
        ] {
            let (mut r, key) = calling();
            assert!(!r.agent_leg_status(&key, &sid(1), "ringing", at(T0)));
            assert!(r.agent_leg_status(&key, &sid(1), status, at(T0)));
            assert!(!r.agent_leg_status(&key, &sid(1), status, at(T0)));
            let call = r.call.as_ref().unwrap();
            assert_eq!((call.state, call.end), (CallState::Ended, Some(end)));
            assert!(r.attempts.is_empty());
            assert_eq!(r.status, Status::Claimed);
        }
    }

    #[test]
    fn a_refused_call_keeps_twilios_error() {
        let mut r = record();
        let rules = settings().work_rules();
        r.claim("ann", at(T0), &rules).unwrap();
        let key = r.start_call("ann", at(T0), &rules).unwrap();
        let fault = TwilioFault {
            status: Some(400),
            code: Some(21210),
            message: Some("not verified".into()),
            more_info: None,
        };
        assert!(r.call_refused(&key, fault.clone(), at(T0)));
        let call = r.call.as_ref().unwrap();
        assert_eq!(call.end, Some(CallEnd::TwilioRefused));
        assert_eq!(call.twilio_error, Some(fault));
        // The agent may try again at once.
        assert!(r.start_call("ann", at(T0), &rules).is_ok());
    }

    #[test]
    fn a_call_logged_on_a_record_closed_meanwhile_joins_its_history() {
        let (mut r, key) = calling();
        let rules = settings().work_rules();
        r.complete("ann", Some("by mail".into()), at(T0), &rules)
            .unwrap();
        r.customer_leg_ended(&key, &sid(1), &dial("no-answer", None), &settings(), at(T0));
        assert_eq!(r.attempts.len(), 1);
        assert_eq!(r.status, Status::Completed);
    }

    #[test]
    fn records_stored_before_call_backs_still_load() {
        let mut doc = serde_json::to_value(record()).unwrap();
        assert!(doc.get("call").is_none());
        let (mut r, _) = calling();
        // What its changes raised is never stored.
        r.raised.clear();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["call"]["state"], "calling_agent");
        assert_eq!(serde_json::from_value::<CallbackRecord>(json).unwrap(), r);
        doc.as_object_mut().unwrap().remove("call");
        assert_eq!(
            serde_json::from_value::<CallbackRecord>(doc).unwrap().call,
            None
        );
    }
}
