//! Telling people about records: the events a record's change raises for
//! the tenant's notification endpoints, and the SMS confirmation to the
//! caller. A change raises them on the record itself (`CallbackRecord::
//! raised`), and the store writes them in the same write as the change:
//! the outbox (docs/design.md, "Notifications").
//!
//! `endpoint`: the tenant's endpoints and what became of their deliveries;
//! `address`: which URLs and addresses an endpoint may use; `payload`: the
//! bodies (Standard Webhooks JSON, Slack); `signing`: the Standard Webhooks
//! signature; `retry`: when a failed delivery is tried again; `sms`: the
//! confirmation's sender, text and who gets one.

pub mod address;
pub mod endpoint;
pub mod payload;
pub mod retry;
pub mod signing;
pub mod sms;

use crate::domain::callback::{CallbackRecord, RecordingState, Status};
use crate::domain::ids::{CallbackId, TenantId};
use crate::domain::reason::Reason;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// What an endpoint can subscribe to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum EventType {
    /// A new record.
    #[serde(rename = "callback.created")]
    CallbackCreated,
    /// A later call from the same number joined an open record.
    #[serde(rename = "callback.repeat_call")]
    CallbackRepeatCall,
    /// A pending record passed its due time (once per record).
    #[serde(rename = "callback.overdue")]
    CallbackOverdue,
    #[serde(rename = "callback.completed")]
    CallbackCompleted,
    /// The record failed after the tenant's maximum unreached attempts.
    #[serde(rename = "callback.failed")]
    CallbackFailed,
    /// A recording could not be copied out of Twilio: an admin's attention.
    #[serde(rename = "recording.copy_failed")]
    RecordingCopyFailed,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::CallbackCreated,
        EventType::CallbackRepeatCall,
        EventType::CallbackOverdue,
        EventType::CallbackCompleted,
        EventType::CallbackFailed,
        EventType::RecordingCopyFailed,
    ];

    /// The `type` of its payload.
    pub const fn name(self) -> &'static str {
        match self {
            EventType::CallbackCreated => "callback.created",
            EventType::CallbackRepeatCall => "callback.repeat_call",
            EventType::CallbackOverdue => "callback.overdue",
            EventType::CallbackCompleted => "callback.completed",
            EventType::CallbackFailed => "callback.failed",
            EventType::RecordingCopyFailed => "recording.copy_failed",
        }
    }

    /// The name without its prefix, as the command line takes it.
    pub fn short(self) -> &'static str {
        self.name()
            .split_once('.')
            .map_or(self.name(), |(_, short)| short)
    }
}

impl FromStr for EventType {
    type Err = String;
    /// `callback.created`, or just `created`.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        EventType::ALL
            .into_iter()
            .find(|e| e.name() == s || e.short() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = EventType::ALL.iter().map(|e| e.name()).collect();
                format!("unknown event {s:?} (one of: {})", names.join(", "))
            })
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a change of a record raised: an event for the endpoints, or the
/// caller's SMS confirmation. Written as the event's name, or `sms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Raised {
    Event(EventType),
    Sms,
}

const SMS: &str = "sms";

impl From<Raised> for String {
    fn from(raised: Raised) -> String {
        match raised {
            Raised::Event(event) => event.name().to_owned(),
            Raised::Sms => SMS.to_owned(),
        }
    }
}

impl TryFrom<String> for Raised {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        if name == SMS {
            return Ok(Raised::Sms);
        }
        EventType::ALL
            .into_iter()
            .find(|e| e.name() == name)
            .map(Raised::Event)
            .ok_or_else(|| format!("unknown outbox entry {name:?}"))
    }
}

/// A record as an event tells of it: never the whole number (masked as
/// the logs mask it) nor a recording's URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackData {
    pub id: CallbackId,
    pub tenant: TenantId,
    pub reason: Reason,
    pub status: Status,
    pub received_at: Timestamp,
    pub due_at: Timestamp,
    /// Masked: `+81*****5678`.
    pub callback_number: String,
    pub attempts: u32,
}

impl CallbackData {
    pub fn of(record: &CallbackRecord) -> Self {
        CallbackData {
            id: record.id.clone(),
            tenant: record.tenant_id.clone(),
            reason: record.reason,
            status: record.status,
            received_at: record.received_at,
            due_at: record.due_at,
            callback_number: record.callback_number.masked(),
            attempts: u32::try_from(record.attempts.len()).unwrap_or(u32::MAX),
        }
    }
}

/// One entry of the outbox: what was raised, by which write, and the
/// record as that write left it. Its `id` is the `webhook-id` of every
/// delivery of it, retries included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    pub id: String,
    pub at: Timestamp,
    pub raised: Raised,
    pub data: CallbackData,
}

impl Outgoing {
    /// The outbox entries of a write of `record` (at its new `version`):
    /// what its change raised. Their ids follow from the record, the
    /// version and the place in the list, so a write's entries always have
    /// the same ids however often they are relayed.
    pub fn of_write(record: &CallbackRecord) -> Vec<Outgoing> {
        Self::of_raised(record, &record.raised)
    }

    /// As `of_write`, for a record read back with what it raised (the
    /// DynamoDB stream's new image).
    pub fn of_raised(record: &CallbackRecord, raised: &[Raised]) -> Vec<Outgoing> {
        let data = CallbackData::of(record);
        let record_id = record.id.as_str().replace('-', "");
        raised
            .iter()
            .enumerate()
            .map(|(n, raised)| Outgoing {
                id: format!("msg_{record_id}_{}_{n}", record.version),
                at: record.updated_at,
                raised: *raised,
                data: data.clone(),
            })
            .collect()
    }

    pub fn event(&self) -> Option<EventType> {
        match self.raised {
            Raised::Event(event) => Some(event),
            Raised::Sms => None,
        }
    }
}

/// The SMS confirmation of a record: asked for once, then sent or failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsConfirmation {
    pub state: SmsState,
    /// When it was asked for.
    pub requested_at: Timestamp,
    /// When it was sent, or failed for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<Timestamp>,
    /// Twilio's MessageSid, once sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Twilio's error, e.g. `error 21614: …` (numbers masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmsState {
    /// In the outbox, or being retried (the last error kept).
    Requested,
    Sent,
    Failed,
}

impl CallbackRecord {
    /// Applies `change` and notes what it raised; false (nothing raised)
    /// when `change` changed nothing.
    pub fn change(&mut self, change: impl FnOnce(&mut CallbackRecord) -> bool) -> bool {
        let before = self.clone();
        if !change(self) {
            return false;
        }
        self.raise_since(&before);
        true
    }

    /// What the record's change since `before` raises: a repeat call, a
    /// close, passing its due time, a recording that could not be copied,
    /// the caller's SMS.
    fn raise_since(&mut self, before: &CallbackRecord) {
        let mut raised = Vec::new();
        let joined = self
            .repeat_calls
            .len()
            .saturating_sub(before.repeat_calls.len());
        raised.extend(std::iter::repeat_n(
            Raised::Event(EventType::CallbackRepeatCall),
            joined,
        ));
        if self.status != before.status {
            match self.status {
                Status::Completed => raised.push(Raised::Event(EventType::CallbackCompleted)),
                Status::Failed => raised.push(Raised::Event(EventType::CallbackFailed)),
                Status::Pending | Status::Claimed => {}
            }
        }
        if self.overdue_at.is_some() && before.overdue_at.is_none() {
            raised.push(Raised::Event(EventType::CallbackOverdue));
        }
        let failed_copies = self.recordings.iter().filter(|r| {
            r.state == RecordingState::CopyFailed
                && before
                    .recording(&r.sid)
                    .is_none_or(|b| b.state != RecordingState::CopyFailed)
        });
        for _ in failed_copies {
            raised.push(Raised::Event(EventType::RecordingCopyFailed));
        }
        if self.sms.is_some() && before.sms.is_none() {
            raised.push(Raised::Sms);
        }
        self.raised.extend(raised);
    }

    /// A pending record past its due time is announced once: false when it
    /// is not pending, not yet due, or was announced already.
    pub fn mark_overdue(&mut self, now: Timestamp) -> bool {
        if self.status != Status::Pending || self.due_at > now || self.overdue_at.is_some() {
            return false;
        }
        self.overdue_at = Some(now);
        self.updated_at = now;
        true
    }

    /// Asks for the caller's SMS confirmation: once per record.
    pub fn request_sms(&mut self, now: Timestamp) -> bool {
        if self.sms.is_some() {
            return false;
        }
        self.sms = Some(SmsConfirmation {
            state: SmsState::Requested,
            requested_at: now,
            done_at: None,
            sid: None,
            error: None,
        });
        self.updated_at = now;
        true
    }

    /// The SMS went out.
    pub fn sms_sent(&mut self, sid: String, now: Timestamp) -> bool {
        self.settle_sms(SmsState::Sent, Some(sid), None, now)
    }

    /// The SMS failed: for good (`last`), or to be tried again, its error
    /// kept meanwhile.
    pub fn sms_failed(&mut self, error: String, last: bool, now: Timestamp) -> bool {
        match &mut self.sms {
            Some(sms) if sms.state == SmsState::Requested && !last => {
                sms.error = Some(error);
                self.updated_at = now;
                true
            }
            _ => self.settle_sms(SmsState::Failed, None, Some(error), now),
        }
    }

    fn settle_sms(
        &mut self,
        state: SmsState,
        sid: Option<String>,
        error: Option<String>,
        now: Timestamp,
    ) -> bool {
        match &mut self.sms {
            Some(sms) if sms.state == SmsState::Requested => {
                sms.state = state;
                sms.done_at = Some(now);
                sms.sid = sid;
                sms.error = error;
                self.updated_at = now;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::callback::tests::{at, record};
    use crate::domain::callback::{Attempt, Outcome, RecordingKind};
    use crate::domain::ids::{CallSid, RecordingSid};
    use crate::domain::tenant::TenantSettings;

    #[test]
    fn a_new_record_raises_created_and_its_entries_are_named_by_the_write() {
        let r = record();
        assert_eq!(r.raised, [Raised::Event(EventType::CallbackCreated)]);
        let entries = Outgoing::of_write(&r);
        assert_eq!(entries.len(), 1);
        let id = r.id.as_str().replace('-', "");
        assert_eq!(entries[0].id, format!("msg_{id}_0_0"));
        assert_eq!(entries[0].at, r.updated_at);
        assert_eq!(entries[0].data.callback_number, "+81*****5678");
        assert_eq!(entries[0].event(), Some(EventType::CallbackCreated));
        assert_eq!(Outgoing::of_write(&r), entries, "the same ids every time");
    }

    fn read_back(r: &CallbackRecord) -> CallbackRecord {
        serde_json::from_value(serde_json::to_value(r).unwrap()).unwrap()
    }

    #[test]
    fn what_was_raised_is_not_stored_in_the_record() {
        let r = read_back(&record());
        assert!(r.raised.is_empty());
    }

    #[test]
    fn changes_raise_their_events_once() {
        let rules = TenantSettings::default().work_rules();
        let mut r = read_back(&record());
        let now = at("2026-11-25T03:00:00Z");
        let later = CallSid::parse("CA00000000000000000000000000000002").unwrap();
        assert!(r.change(|r| r.attach_call(later.clone(), now, now)));
        assert!(!r.change(|r| r.attach_call(later.clone(), now, now)));
        assert!(r.change(|r| r.mark_overdue(now)));
        assert!(!r.change(|r| r.mark_overdue(now)));
        assert!(r.change(|r| r.request_sms(now)));
        assert!(!r.change(|r| r.request_sms(now)));
        let attempt = Attempt::logged(now, "ann".into(), Outcome::Reached, None);
        assert!(r.change(|r| r.log_attempt(attempt, &rules).is_ok()));
        assert_eq!(
            r.raised,
            [
                Raised::Event(EventType::CallbackRepeatCall),
                Raised::Event(EventType::CallbackOverdue),
                Raised::Sms,
                Raised::Event(EventType::CallbackCompleted),
            ]
        );
    }

    #[test]
    fn only_a_pending_record_past_due_is_overdue() {
        let mut r = record();
        assert!(!r.mark_overdue(at("2026-11-25T02:29:59Z")));
        r.status = Status::Claimed;
        assert!(!r.mark_overdue(at("2026-11-25T02:30:00Z")));
        r.status = Status::Pending;
        assert!(r.mark_overdue(at("2026-11-25T02:30:00Z")));
    }

    #[test]
    fn a_failed_attempt_limit_and_a_given_up_copy_raise_theirs() {
        let rules = crate::domain::tenant::WorkRules {
            max_attempts: 1,
            ..TenantSettings::default().work_rules()
        };
        let mut r = read_back(&record());
        let now = at("2026-11-25T03:00:00Z");
        let sid = RecordingSid::parse("RE00000000000000000000000000000001").unwrap();
        r.recording_completed(
            RecordingKind::Request,
            r.call_sid.clone(),
            sid.clone(),
            "u".into(),
            None,
            now,
        );
        for n in 1..=crate::domain::callback::MAX_COPY_ATTEMPTS {
            assert!(r.change(|r| r.recording_copy_failed(&sid, format!("e{n}"), now)));
        }
        let attempt = Attempt::logged(now, "ann".into(), Outcome::NoAnswer, None);
        assert!(r.change(|r| r.log_attempt(attempt, &rules).is_ok()));
        assert_eq!(
            r.raised,
            [
                Raised::Event(EventType::RecordingCopyFailed),
                Raised::Event(EventType::CallbackFailed),
            ]
        );
    }

    #[test]
    fn an_sms_is_sent_or_failed_once_and_keeps_the_error_between_tries() {
        let mut r = record();
        let now = at("2026-11-25T03:00:00Z");
        assert!(!r.sms_sent("SM1".into(), now), "never asked for");
        r.request_sms(now);
        assert!(r.sms_failed("error 20429: Too many requests".into(), false, now));
        let sms = r.sms.clone().unwrap();
        assert_eq!(sms.state, SmsState::Requested);
        assert_eq!(sms.error.as_deref(), Some("error 20429: Too many requests"));
        assert!(r.sms_failed("error 21614: not a mobile number".into(), true, now));
        let sms = r.sms.clone().unwrap();
        assert_eq!(
            (sms.state, sms.error.as_deref(), sms.done_at),
            (
                SmsState::Failed,
                Some("error 21614: not a mobile number"),
                Some(now)
            )
        );
        assert!(!r.sms_sent("SM1".into(), now));
    }

    #[test]
    fn event_names_parse_long_and_short_and_raised_round_trips() {
        assert_eq!("created".parse(), Ok(EventType::CallbackCreated));
        assert_eq!("callback.overdue".parse(), Ok(EventType::CallbackOverdue));
        assert_eq!("copy_failed".parse(), Ok(EventType::RecordingCopyFailed));
        assert!(
            "deleted"
                .parse::<EventType>()
                .unwrap_err()
                .contains("callback.created")
        );
        for event in EventType::ALL {
            assert_eq!(serde_json::json!(event), event.name());
            let raised = Raised::Event(event);
            let json = serde_json::to_value(raised).unwrap();
            assert_eq!(serde_json::from_value::<Raised>(json).unwrap(), raised);
        }
        assert_eq!(serde_json::json!(Raised::Sms), "sms");
    }
}
