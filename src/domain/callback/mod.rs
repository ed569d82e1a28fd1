//! The callback record: one per call, what agents work through.

mod recording;

use crate::domain::callback_window::Occurrence;
use crate::domain::due::Due;
use crate::domain::ids::{CallSid, CallbackId, RecordingSid, TenantId};
use crate::domain::notify::{EventType, Raised};
use crate::domain::outbound::OutboundCall;
use crate::domain::phone::{self, E164};
use crate::domain::reason::Reason;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

pub use recording::{
    COPY_LEASE, MAX_COPY_ATTEMPTS, MAX_DELETE_ATTEMPTS, Recording, RecordingKind, RecordingState,
    TwilioCopy, recording_key,
};

/// How the callback number was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Confirmation {
    /// The caller pressed 1 to be called back on their caller ID.
    CallerId,
    /// The caller typed a number and confirmed it.
    Entered,
    /// The caller left before confirming: the caller ID is kept as the number.
    Unconfirmed,
}

impl Confirmation {
    pub fn as_str(self) -> &'static str {
        match self {
            Confirmation::CallerId => "caller_id",
            Confirmation::Entered => "entered",
            Confirmation::Unconfirmed => "unconfirmed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Claimed,
    Completed,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Claimed => "claimed",
            Status::Completed => "completed",
            Status::Failed => "failed",
        }
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            Status::Pending,
            Status::Claimed,
            Status::Completed,
            Status::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| format!("status must be pending, claimed, completed or failed, got {s:?}"))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Reached,
    NoAnswer,
    Busy,
    Voicemail,
    WrongNumber,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: Timestamp,
    pub agent: String,
    pub outcome: Outcome,
    pub note: Option<String>,
    /// The call that logged it by itself (click-to-call); none for one an
    /// agent logged by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<AttemptCall>,
    /// Later corrections of its outcome, oldest first (`outcome` is the
    /// latest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<Correction>,
}

impl Attempt {
    /// An attempt an agent logs by hand.
    pub fn logged(at: Timestamp, agent: String, outcome: Outcome, note: Option<String>) -> Self {
        Attempt {
            at,
            agent,
            outcome,
            note,
            call: None,
            corrections: Vec::new(),
        }
    }
}

/// The calls of an attempt click-to-call logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptCall {
    /// The call to the agent's phone (Twilio's parent call).
    pub agent_call_sid: CallSid,
    /// The customer's leg (the Dial's DialCallSid), when Twilio gave one.
    pub customer_call_sid: Option<CallSid>,
    /// How long the customer was connected (DialCallDuration).
    pub duration_seconds: Option<u32>,
}

/// An attempt's outcome corrected after it was logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub at: Timestamp,
    pub agent: String,
    /// The outcome before this correction.
    pub from: Outcome,
    pub note: String,
}

/// An internal note agents leave for each other on a record; a hand-over
/// is a note naming who the record went to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub at: Timestamp,
    pub agent: String,
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handed_to: Option<String>,
}

/// A later call from the same number that joined an open record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredRepeatCall")]
pub struct RepeatCall {
    pub call_sid: CallSid,
    /// When the call arrived; unknown for calls joined before it was kept.
    pub at: Option<Timestamp>,
}

/// Records written before arrival times were kept hold bare call SIDs.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredRepeatCall {
    Sid(CallSid),
    Full {
        call_sid: CallSid,
        #[serde(default)]
        at: Option<Timestamp>,
    },
}

impl From<StoredRepeatCall> for RepeatCall {
    fn from(stored: StoredRepeatCall) -> Self {
        match stored {
            StoredRepeatCall::Sid(call_sid) => RepeatCall { call_sid, at: None },
            StoredRepeatCall::Full { call_sid, at } => RepeatCall { call_sid, at },
        }
    }
}

/// What happened to a record's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimChange {
    Claimed,
    Released,
    /// The claim timed out and someone else acted on the record.
    Expired,
}

/// A claim taken, given back or lapsed, for the record's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimEvent {
    pub at: Timestamp,
    pub agent: String,
    pub change: ClaimChange,
}

/// Claim events kept per record, newest; bounds the stored item (a
/// DynamoDB item is at most 400 KB) however often a record changes hands.
pub const MAX_CLAIM_EVENTS: usize = 100;

/// Repeat calls kept on a record: the first ones, and in the last place
/// the latest (a call's own later webhooks find the record through it).
/// The rest are counted. Bounds the item however often a number calls (a
/// robocaller, a spoofed caller ID): 20 calls are about 1.5 KB.
pub const MAX_REPEAT_CALLS: usize = 20;

/// Recordings kept on a record, the first ones; later ones are counted and
/// not copied (each is about 0.5 KB of the item, and audio to store).
pub const MAX_RECORDINGS: usize = 10;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackRecord {
    pub id: CallbackId,
    pub tenant_id: TenantId,
    pub call_sid: CallSid,
    /// The caller ID, when the caller did not withhold it.
    #[serde(deserialize_with = "phone::stored::optional")]
    pub caller_number: Option<E164>,
    #[serde(deserialize_with = "phone::stored::number")]
    pub callback_number: E164,
    pub confirmation: Confirmation,
    /// When the call first arrived (keeps the caller's place in line).
    pub received_at: Timestamp,
    pub reason: Reason,
    pub recordings: Vec<Recording>,
    /// Later calls from the same number while this record was open: the
    /// first `MAX_REPEAT_CALLS - 1` and the latest.
    #[serde(default)]
    pub repeat_calls: Vec<RepeatCall>,
    /// Repeat calls past `MAX_REPEAT_CALLS`, counted but not kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repeat_calls_not_kept: u32,
    /// Recordings past `MAX_RECORDINGS`, counted but not kept (nor copied).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recordings_not_kept: u32,
    /// The latest of those, so a retried callback is not counted twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_recording_not_kept: Option<RecordingSid>,
    pub status: Status,
    pub attempts: Vec<Attempt>,
    pub claimed_by: Option<String>,
    /// When the current claim was taken; it expires after the tenant's claim timeout.
    #[serde(default)]
    pub claimed_at: Option<Timestamp>,
    pub due_at: Timestamp,
    /// The first due time: the SLA from arrival (after hours, from the next
    /// opening). `due_at` moves on with every retry; the promise does not.
    /// `None` on records from before it was kept (`stats` then works it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_due_at: Option<Timestamp>,
    /// The callback window the caller chose, when it comes round: the
    /// record is due at its end, and not to be called before its start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Occurrence>,
    /// Who completed the record without a logged attempt, and why.
    #[serde(default)]
    pub completed_by: Option<String>,
    #[serde(default)]
    pub completion_note: Option<String>,
    /// When the record was completed without a logged attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    /// Notes and hand-overs, oldest first.
    #[serde(default)]
    pub notes: Vec<Note>,
    /// Claims taken, released and lapsed, oldest first (at most
    /// `MAX_CLAIM_EVENTS`, the newest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<ClaimEvent>,
    /// When a completed or failed record is gone: every read treats it as
    /// deleted from then on, and the stores remove it (tenant retention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// When the record was announced overdue (`callback.overdue`, once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_at: Option<Timestamp>,
    /// The caller's SMS confirmation, once asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<crate::domain::notify::SmsConfirmation>,
    /// The latest click-to-call on this record: how far it got, and why it
    /// ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<OutboundCall>,
    /// Bumped by the store on every write; updates are conditional on it.
    pub version: u64,
    pub updated_at: Timestamp,
    /// What the change being written raised (`domain::notify`): the store
    /// puts it in its outbox in the same write. Never stored in the record.
    #[serde(skip)]
    pub raised: Vec<crate::domain::notify::Raised>,
}

/// What is known when a call produces its record.
pub struct NewCallback {
    pub call_sid: CallSid,
    pub caller_number: Option<E164>,
    pub callback_number: E164,
    pub confirmation: Confirmation,
    pub reason: Reason,
    pub received_at: Timestamp,
    /// What the SLA counts from; `None` is the arrival. After hours it is
    /// the next opening.
    pub due_from: Option<Timestamp>,
}

/// When a callback is due: the tenant's SLA after `from`, the arrival or,
/// after hours, the next opening.
pub fn due_at(from: Timestamp, sla_minutes: u32) -> Timestamp {
    let sla = SignedDuration::from_mins(i64::from(sla_minutes));
    from.checked_add(sla).unwrap_or(from)
}

impl CallbackRecord {
    pub fn new(tenant_id: TenantId, new: NewCallback, sla_minutes: u32, now: Timestamp) -> Self {
        let due = due_at(new.due_from.unwrap_or(new.received_at), sla_minutes);
        CallbackRecord {
            id: CallbackId::generate(),
            tenant_id,
            call_sid: new.call_sid,
            caller_number: new.caller_number,
            callback_number: new.callback_number,
            confirmation: new.confirmation,
            received_at: new.received_at,
            reason: new.reason,
            recordings: Vec::new(),
            repeat_calls: Vec::new(),
            repeat_calls_not_kept: 0,
            recordings_not_kept: 0,
            last_recording_not_kept: None,
            status: Status::Pending,
            attempts: Vec::new(),
            claimed_by: None,
            claimed_at: None,
            completed_by: None,
            completion_note: None,
            completed_at: None,
            notes: Vec::new(),
            claims: Vec::new(),
            due_at: due,
            first_due_at: Some(due),
            window: None,
            expires_at: None,
            overdue_at: None,
            sms: None,
            call: None,
            version: 0,
            updated_at: now,
            raised: vec![Raised::Event(EventType::CallbackCreated)],
        }
    }

    /// Called by the changes that may close a record: a closed one expires
    /// `retention` after it closed, an open one never.
    pub(crate) fn settle_expiry(&mut self, retention: SignedDuration, now: Timestamp) {
        self.expires_at = if self.is_open() {
            None
        } else {
            Some(now.checked_add(retention).unwrap_or(Timestamp::MAX))
        };
    }

    /// Whether the record is past its retention: gone for every reader.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Sets the confirmed callback number; false when nothing changed.
    pub fn confirm_number(&mut self, number: E164, how: Confirmation, now: Timestamp) -> bool {
        if self.callback_number == number && self.confirmation == how {
            return false;
        }
        self.callback_number = number;
        self.confirmation = how;
        self.updated_at = now;
        true
    }

    /// The caller's choice of when to be called back: a window (the record
    /// is due at its end) or, `None`, as soon as possible (due `asap_due`,
    /// the tenant's SLA). Only a pending record changes: one an agent holds
    /// is being worked already. False when nothing changed.
    pub fn choose_window(
        &mut self,
        window: Option<Occurrence>,
        asap_due: Timestamp,
        now: Timestamp,
    ) -> bool {
        if self.status != Status::Pending || self.window == window {
            return false;
        }
        self.due_at = window.map_or(asap_due, |w| w.end);
        // The caller's choice is the promise the service level measures.
        self.first_due_at = Some(self.due_at);
        self.window = window;
        self.updated_at = now;
        true
    }

    /// When the record is due, with the caller's window.
    pub fn due(&self) -> Due {
        Due {
            at: self.due_at,
            window: self.window,
        }
    }

    /// When the record may be called, if not yet at `now`: its window's
    /// start, while the window has not opened on an open record.
    pub fn not_before(&self, now: Timestamp) -> Option<Timestamp> {
        self.window
            .map(|w| w.start)
            .filter(|start| *start > now && self.is_open())
    }

    /// Every call that belongs to this record.
    pub fn has_call(&self, call_sid: &CallSid) -> bool {
        &self.call_sid == call_sid || self.repeat_call_sids().any(|c| c == call_sid)
    }

    /// The later calls that joined this record, oldest first.
    pub fn repeat_call_sids(&self) -> impl Iterator<Item = &CallSid> {
        self.repeat_calls.iter().map(|c| &c.call_sid)
    }

    /// A later call from the same number, which arrived at `arrived`,
    /// joins this record; false when it already has (a retried webhook).
    /// Past `MAX_REPEAT_CALLS` it takes the last place, and the call it
    /// displaces is counted in `repeat_calls_not_kept`.
    pub fn attach_call(&mut self, call_sid: CallSid, arrived: Timestamp, now: Timestamp) -> bool {
        if self.has_call(&call_sid) {
            return false;
        }
        let call = RepeatCall {
            call_sid,
            at: Some(arrived),
        };
        match self.repeat_calls.get_mut(MAX_REPEAT_CALLS - 1) {
            Some(last) => {
                *last = call;
                self.repeat_calls_not_kept = self.repeat_calls_not_kept.saturating_add(1);
            }
            None => self.repeat_calls.push(call),
        }
        self.updated_at = now;
        true
    }

    /// Every later call from the number, kept or only counted.
    pub fn repeat_call_count(&self) -> u64 {
        self.repeat_calls.len() as u64 + u64::from(self.repeat_calls_not_kept)
    }

    pub fn is_open(&self) -> bool {
        matches!(self.status, Status::Pending | Status::Claimed)
    }

    /// When a completed record was completed: without an attempt, when an
    /// agent said so; else the reaching attempt; records completed before
    /// the time was kept, their last change. `None` unless completed.
    pub fn completed_time(&self) -> Option<Timestamp> {
        if self.status != Status::Completed {
            return None;
        }
        let reached = || {
            self.attempts
                .iter()
                .rev()
                .find(|a| a.outcome == Outcome::Reached)
                .map(|a| a.at)
        };
        Some(
            self.completed_at
                .or_else(reached)
                .unwrap_or(self.updated_at),
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {

    use super::*;
    use crate::domain::phone::Region;

    pub(crate) fn record() -> CallbackRecord {
        let number = E164::parse("+81312345678", Region::JP).unwrap();
        CallbackRecord::new(
            TenantId::parse("acme").unwrap(),
            NewCallback {
                call_sid: CallSid::parse("CA00000000000000000000000000000001").unwrap(),
                caller_number: Some(number.clone()),
                callback_number: number,
                confirmation: Confirmation::Unconfirmed,
                reason: Reason::Overflow,
                received_at: "2026-11-25T01:00:00Z".parse().unwrap(),
                due_from: None,
            },
            90,
            "2026-11-25T01:00:05Z".parse().unwrap(),
        )
    }

    #[test]
    fn due_is_received_plus_sla() {
        let r = record();
        assert_eq!(r.due_at.to_string(), "2026-11-25T02:30:00Z");
        assert_eq!(r.status, Status::Pending);
    }

    #[test]
    fn repeat_calls_attach_once() {
        let mut r = record();
        let later = CallSid::parse("CA00000000000000000000000000000002").unwrap();
        let arrived = at("2026-11-25T01:58:00Z");
        let now = at("2026-11-25T02:00:00Z");
        assert!(r.attach_call(later.clone(), arrived, now));
        assert!(!r.attach_call(later.clone(), arrived, now));
        assert!(!r.attach_call(r.call_sid.clone(), arrived, now));
        assert!(r.has_call(&later));
        assert_eq!(
            r.repeat_calls,
            [RepeatCall {
                call_sid: later,
                at: Some(arrived)
            }]
        );
    }

    fn sid(n: u32) -> CallSid {
        CallSid::parse(&format!("CA{n:032x}")).unwrap()
    }

    #[test]
    fn repeat_calls_past_the_bound_keep_the_first_and_the_latest() {
        let mut r = record();
        let (arrived, now) = (at("2026-11-25T01:58:00Z"), at("2026-11-25T02:00:00Z"));
        for n in 2..=31 {
            assert!(r.attach_call(sid(n), arrived, now), "call {n}");
        }
        // 30 repeat calls: 2..=20 kept, 31 the latest, 21..=30 counted.
        assert_eq!(r.repeat_calls.len(), MAX_REPEAT_CALLS);
        assert_eq!(r.repeat_calls[18].call_sid, sid(20));
        assert_eq!(r.repeat_calls[19].call_sid, sid(31));
        assert_eq!(r.repeat_calls_not_kept, 10);
        assert_eq!(r.repeat_call_count(), 30);
        assert!(!r.attach_call(sid(31), arrived, now), "a retried webhook");
        assert!(!r.has_call(&sid(30)), "displaced: found by its link only");
        assert_eq!(r.repeat_call_count(), 30);
    }

    #[test]
    fn recordings_past_the_bound_are_counted_once() {
        let mut r = record();
        let now = at("2026-11-25T02:00:00Z");
        let rec = |n: u32| RecordingSid::parse(&format!("RE{n:032x}")).unwrap();
        for n in 1..=12 {
            let url = format!("https://api.twilio.com/{n}");
            assert!(r.recording_completed(
                RecordingKind::Request,
                sid(n),
                rec(n),
                url,
                Some(30),
                now
            ));
        }
        assert_eq!(r.recordings.len(), MAX_RECORDINGS);
        assert!(r.recording(&rec(10)).is_some() && r.recording(&rec(11)).is_none());
        assert_eq!(r.recordings_not_kept, 2);
        let again = r.recording_completed(
            RecordingKind::Request,
            sid(12),
            rec(12),
            "u".into(),
            Some(30),
            now,
        );
        assert!(!again, "Twilio's retry of the last callback");
        assert!(
            !r.recording_absent(RecordingKind::Request, sid(13), rec(13), now),
            "nothing to count"
        );
        assert_eq!(r.recordings_not_kept, 2);
    }

    #[test]
    fn a_number_that_calls_hundreds_of_times_keeps_a_small_record() {
        let mut r = record();
        let now = at("2026-11-25T02:00:00Z");
        for n in 2..=500 {
            r.attach_call(sid(n), now, now);
            let recording = RecordingSid::parse(&format!("RE{n:032x}")).unwrap();
            let url = format!(
                "https://api.twilio.com/2010-04-01/Accounts/AC{n:032x}/Recordings/{recording}"
            );
            r.recording_completed(
                RecordingKind::Request,
                sid(n),
                recording,
                url,
                Some(120),
                now,
            );
        }
        assert_eq!((r.repeat_call_count(), r.recordings_not_kept), (499, 489));
        let bytes = serde_json::to_vec(&r).unwrap().len();
        // DynamoDB's limit is 400 KB; a write costs 1 WRU a KB.
        assert!(bytes < 8 * 1024, "{bytes} bytes");
    }

    #[test]
    fn records_stored_before_the_history_fields_still_load() {
        let mut doc = serde_json::to_value(record()).unwrap();
        let map = doc.as_object_mut().unwrap();
        map.insert(
            "repeat_calls".into(),
            serde_json::json!(["CA00000000000000000000000000000002"]),
        );
        assert!(map.get("claims").is_none() && map.get("completed_at").is_none());
        let old: CallbackRecord = serde_json::from_value(doc).unwrap();
        assert_eq!(
            old.repeat_calls,
            [RepeatCall {
                call_sid: CallSid::parse("CA00000000000000000000000000000002").unwrap(),
                at: None
            }]
        );
        assert!(old.claims.is_empty());
        let mut new = old.clone();
        new.attach_call(
            CallSid::parse("CA00000000000000000000000000000003").unwrap(),
            at("2026-11-25T01:30:00Z"),
            at("2026-11-25T01:31:00Z"),
        );
        let json = serde_json::to_value(&new).unwrap();
        assert_eq!(
            json["repeat_calls"],
            serde_json::json!([
                {"call_sid": "CA00000000000000000000000000000002", "at": null},
                {"call_sid": "CA00000000000000000000000000000003", "at": "2026-11-25T01:30:00Z"}
            ])
        );
        assert_eq!(serde_json::from_value::<CallbackRecord>(json).unwrap(), new);
    }

    pub(crate) fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn statuses_round_trip() {
        for s in ["pending", "claimed", "completed", "failed"] {
            assert_eq!(s.parse::<Status>().unwrap().as_str(), s);
        }
        assert_eq!(
            "done".parse::<Status>().unwrap_err(),
            "status must be pending, claimed, completed or failed, got \"done\""
        );
    }

    #[test]
    fn a_chosen_window_sets_when_the_record_is_due() {
        let mut r = record();
        let asap = r.due_at;
        let window = Occurrence {
            start: at("2026-11-25T04:00:00Z"),
            end: at("2026-11-25T08:00:00Z"),
        };
        let now = at("2026-11-25T01:02:00Z");
        assert!(r.choose_window(Some(window), asap, now));
        assert_eq!((r.window, r.due_at), (Some(window), window.end));
        assert!(!r.choose_window(Some(window), asap, now));
        // Waits until the window opens.
        assert_eq!(r.not_before(now), Some(window.start));
        assert_eq!(r.not_before(window.start), None);
        // As soon as possible: the SLA's due time again.
        assert!(r.choose_window(None, asap, now));
        assert_eq!((r.window, r.due_at), (None, asap));
        assert!(!r.choose_window(None, asap, now));
        // A record an agent holds keeps its time.
        r.status = Status::Claimed;
        assert!(!r.choose_window(Some(window), asap, now));
        assert_eq!(r.window, None);
        // A closed one waits for nothing.
        r.status = Status::Pending;
        r.choose_window(Some(window), asap, now);
        r.status = Status::Completed;
        assert_eq!(r.not_before(now), None);
        // Stored with its window (not what its changes raised); a record
        // without one stores none.
        r.raised.clear();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["window"],
            serde_json::json!({"start": "2026-11-25T04:00:00Z", "end": "2026-11-25T08:00:00Z"})
        );
        assert!(
            serde_json::to_value(record())
                .unwrap()
                .get("window")
                .is_none()
        );
        assert_eq!(serde_json::from_value::<CallbackRecord>(json).unwrap(), r);
    }
}
