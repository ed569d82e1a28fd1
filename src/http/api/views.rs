//! What agents see of a record: the JSON the API answers.

use crate::domain::callback::{
    CallbackRecord, ClaimChange, Confirmation, Outcome, RecordingKind, RecordingState, Status,
};
use crate::domain::outbound::{CallEnd, CallState, OutboundCall, TwilioFault};
use crate::domain::phone::Region;
use crate::domain::reason::Reason;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    /// Its number, 1 for the first: `PATCH /api/v1/callbacks/{id}/attempts/{n}` corrects it.
    pub n: usize,
    /// RFC 3339, UTC.
    pub at: String,
    pub agent: String,
    /// The latest outcome (after any corrections).
    pub outcome: Outcome,
    pub note: Option<String>,
    /// The calls of an attempt click-to-call logged; null for one logged
    /// by hand.
    pub call: Option<AttemptCallView>,
    /// Corrections of the outcome, oldest first.
    pub corrections: Vec<CorrectionView>,
}

#[derive(Serialize, ToSchema)]
pub struct AttemptCallView {
    /// The call to the agent's phone.
    pub agent_call_sid: String,
    /// The customer's leg.
    pub customer_call_sid: Option<String>,
    /// How long the customer was connected, in seconds.
    pub duration_seconds: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct CorrectionView {
    pub at: String,
    pub agent: String,
    /// The outcome before this correction.
    pub from: Outcome,
    pub note: String,
}

/// The latest click-to-call on the record, as the page follows it.
#[derive(Serialize, ToSchema)]
pub struct CallView {
    /// The agent whose phone it rang.
    pub agent: String,
    pub started_at: String,
    pub state: CallState,
    /// Why it ended, once `state` is `ended`.
    pub end: Option<CallEnd>,
    /// The attempt it logged (`n`), once ended `logged`.
    pub attempt: Option<usize>,
    pub agent_call_sid: Option<String>,
    pub customer_call_sid: Option<String>,
    /// What Twilio answered when it refused the call (`end`:
    /// `twilio_refused`).
    pub twilio_error: Option<TwilioFault>,
    pub updated_at: String,
}

impl From<&OutboundCall> for CallView {
    fn from(c: &OutboundCall) -> Self {
        CallView {
            agent: c.agent.clone(),
            started_at: c.started_at.to_string(),
            state: c.state,
            end: c.end,
            attempt: c.attempt,
            agent_call_sid: c.agent_call_sid.as_ref().map(ToString::to_string),
            customer_call_sid: c.customer_call_sid.as_ref().map(ToString::to_string),
            twilio_error: c.twilio_error.clone(),
            updated_at: c.updated_at.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RecordingView {
    pub recording_sid: String,
    /// The caller's request, or a recorded call back.
    pub kind: RecordingKind,
    /// The call that left it: the first call's CallSid or a repeat call's
    /// (see `history`); null on recordings from before it was kept.
    pub call_sid: Option<String>,
    pub state: RecordingState,
    pub duration_seconds: Option<u32>,
    /// Path of this recording's audio, once stored.
    pub url: Option<String>,
}

/// A note, or a hand-over when `handed_to` is set.
#[derive(Serialize, ToSchema)]
pub struct NoteView {
    pub at: String,
    pub agent: String,
    pub text: Option<String>,
    pub handed_to: Option<String>,
}

/// What happened in a history entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    /// The first call.
    Arrived,
    /// A later call from the same number joined the record.
    RepeatCall,
    Claimed,
    Released,
    /// The holder's claim timed out (noted when someone else acted).
    ClaimExpired,
    Attempt,
    /// An attempt's outcome corrected (`outcome` the new one,
    /// `previous_outcome` the old, `attempt` which).
    AttemptCorrected,
    Note,
    HandedOver,
    /// Completed without a logged attempt (a `reached` attempt completes
    /// the record too, and shows as that attempt).
    Completed,
}

/// One entry of a record's history. Fields that do not apply to the kind
/// are left out.
#[derive(Serialize, ToSchema)]
pub struct HistoryEntry {
    /// RFC 3339, UTC. Left out only for repeat calls that joined before
    /// arrival times were kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    pub kind: HistoryKind,
    /// The call, for arrivals and repeat calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_sid: Option<String>,
    /// Who acted (whose claim it was, for `claim_expired`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The attempt's outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The note of an attempt, note, hand-over or completion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Who a hand-over went to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handed_to: Option<String>,
    /// The attempt a correction changed (`n`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<usize>,
    /// The outcome a correction replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_outcome: Option<Outcome>,
}

impl HistoryEntry {
    fn new(at: Option<Timestamp>, kind: HistoryKind) -> Self {
        HistoryEntry {
            at: at.map(|t| t.to_string()),
            kind,
            call_sid: None,
            agent: None,
            outcome: None,
            text: None,
            handed_to: None,
            attempt: None,
            previous_outcome: None,
        }
    }
}

/// Everything that happened to the record, oldest first.
fn history(r: &CallbackRecord) -> Vec<HistoryEntry> {
    let mut timed: Vec<(Timestamp, HistoryEntry)> = Vec::new();
    let mut push = |at: Timestamp, entry: HistoryEntry| timed.push((at, entry));
    push(
        r.received_at,
        HistoryEntry {
            call_sid: Some(r.call_sid.to_string()),
            ..HistoryEntry::new(Some(r.received_at), HistoryKind::Arrived)
        },
    );
    for call in &r.repeat_calls {
        // Untimed (older) repeat calls sort right after the first call.
        push(
            call.at.unwrap_or(r.received_at),
            HistoryEntry {
                call_sid: Some(call.call_sid.to_string()),
                ..HistoryEntry::new(call.at, HistoryKind::RepeatCall)
            },
        );
    }
    for c in &r.claims {
        let kind = match c.change {
            ClaimChange::Claimed => HistoryKind::Claimed,
            ClaimChange::Released => HistoryKind::Released,
            ClaimChange::Expired => HistoryKind::ClaimExpired,
        };
        push(
            c.at,
            HistoryEntry {
                agent: Some(c.agent.clone()),
                ..HistoryEntry::new(Some(c.at), kind)
            },
        );
    }
    for (i, a) in r.attempts.iter().enumerate() {
        // The attempt as it was logged; its corrections follow.
        let logged = a.corrections.first().map_or(a.outcome, |c| c.from);
        push(
            a.at,
            HistoryEntry {
                agent: Some(a.agent.clone()),
                outcome: Some(logged),
                text: a.note.clone(),
                attempt: Some(i + 1),
                ..HistoryEntry::new(Some(a.at), HistoryKind::Attempt)
            },
        );
        let mut outcomes = a.corrections.iter().skip(1).map(|c| c.from);
        for c in &a.corrections {
            push(
                c.at,
                HistoryEntry {
                    agent: Some(c.agent.clone()),
                    outcome: Some(outcomes.next().unwrap_or(a.outcome)),
                    previous_outcome: Some(c.from),
                    text: Some(c.note.clone()),
                    attempt: Some(i + 1),
                    ..HistoryEntry::new(Some(c.at), HistoryKind::AttemptCorrected)
                },
            );
        }
    }
    for n in &r.notes {
        let kind = match n.handed_to {
            Some(_) => HistoryKind::HandedOver,
            None => HistoryKind::Note,
        };
        push(
            n.at,
            HistoryEntry {
                agent: Some(n.agent.clone()),
                text: n.text.clone(),
                handed_to: n.handed_to.clone(),
                ..HistoryEntry::new(Some(n.at), kind)
            },
        );
    }
    if let Some(agent) = &r.completed_by {
        // Records completed before the time was kept show their last change.
        let at = r.completed_at.unwrap_or(r.updated_at);
        push(
            at,
            HistoryEntry {
                agent: Some(agent.clone()),
                text: r.completion_note.clone(),
                ..HistoryEntry::new(Some(at), HistoryKind::Completed)
            },
        );
    }
    // Stable: entries at the same instant keep the order above.
    timed.sort_by_key(|(at, _)| *at);
    timed.into_iter().map(|(_, entry)| entry).collect()
}

/// The callback window a caller chose, as it comes round.
#[derive(Serialize, ToSchema)]
pub struct WindowView {
    /// RFC 3339, UTC: not to be called before.
    pub start: String,
    /// RFC 3339, UTC: the record is due then.
    pub end: String,
}

/// A callback record as agents see it.
#[derive(Serialize, ToSchema)]
pub struct CallbackView {
    pub id: String,
    pub call_sid: String,
    pub caller_number: Option<String>,
    pub callback_number: String,
    /// `callback_number` as people in the tenant's region read it: the
    /// national format there (`090-1111-2222`), the international one for
    /// another country's (`+1 415-867-5309`); masked in the same groups
    /// where `callback_number` is (`090-****-2222`).
    pub callback_display: String,
    /// `caller_number` the same way.
    pub caller_display: Option<String>,
    /// `unconfirmed`: the caller hung up before confirming the number (it
    /// is the caller ID).
    pub confirmation: Confirmation,
    pub received_at: String,
    pub reason: Reason,
    pub status: Status,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<String>,
    pub due_at: String,
    /// The callback window the caller chose (the record is due at its
    /// end); null when the caller chose none, as soon as possible.
    pub window: Option<WindowView>,
    /// In the list only: the window's start while the window has not
    /// opened on an open record, which then waits until it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub not_before: Option<String>,
    pub attempts: Vec<AttemptView>,
    pub recordings: Vec<RecordingView>,
    /// Path of the audio, once a recording is stored.
    pub recording_url: Option<String>,
    pub completed_by: Option<String>,
    pub completion_note: Option<String>,
    /// Internal notes and hand-overs, oldest first.
    pub notes: Vec<NoteView>,
    /// Later calls from the same number that joined this record.
    pub repeat_calls: usize,
    /// Arrivals, claims, attempts, notes, hand-overs and completion,
    /// oldest first.
    pub history: Vec<HistoryEntry>,
    /// When a completed or failed record is deleted with its recordings
    /// (the tenant's retention); null while open.
    pub expires_at: Option<String>,
    /// The latest click-to-call on it (`POST /api/v1/callbacks/{id}/call`);
    /// null when there was none.
    pub call: Option<CallView>,
    pub version: u64,
    pub updated_at: String,
}

impl CallbackView {
    /// The record whole, its numbers shown as people in `region` read them.
    fn of(r: &CallbackRecord, region: Region) -> Self {
        CallbackView {
            id: r.id.to_string(),
            call_sid: r.call_sid.to_string(),
            caller_number: r.caller_number.as_ref().map(|n| n.to_string()),
            callback_number: r.callback_number.to_string(),
            callback_display: r.callback_number.display(region),
            caller_display: r.caller_number.as_ref().map(|n| n.display(region)),
            confirmation: r.confirmation,
            received_at: r.received_at.to_string(),
            reason: r.reason,
            status: r.status,
            claimed_by: r.claimed_by.clone(),
            claimed_at: r.claimed_at.map(|t| t.to_string()),
            due_at: r.due_at.to_string(),
            window: r.window.map(|w| WindowView {
                start: w.start.to_string(),
                end: w.end.to_string(),
            }),
            not_before: None,
            attempts: r
                .attempts
                .iter()
                .enumerate()
                .map(|(i, a)| AttemptView {
                    n: i + 1,
                    at: a.at.to_string(),
                    agent: a.agent.clone(),
                    outcome: a.outcome,
                    note: a.note.clone(),
                    call: a.call.as_ref().map(|c| AttemptCallView {
                        agent_call_sid: c.agent_call_sid.to_string(),
                        customer_call_sid: c.customer_call_sid.as_ref().map(ToString::to_string),
                        duration_seconds: c.duration_seconds,
                    }),
                    corrections: a
                        .corrections
                        .iter()
                        .map(|c| CorrectionView {
                            at: c.at.to_string(),
                            agent: c.agent.clone(),
                            from: c.from,
                            note: c.note.clone(),
                        })
                        .collect(),
                })
                .collect(),
            recordings: r
                .recordings
                .iter()
                .map(|rec| RecordingView {
                    recording_sid: rec.sid.to_string(),
                    kind: rec.kind,
                    call_sid: rec.call_sid.as_ref().map(|c| c.to_string()),
                    state: rec.state,
                    duration_seconds: rec.duration_seconds,
                    url: (rec.state == RecordingState::Stored)
                        .then(|| format!("/api/v1/callbacks/{}/recording?sid={}", r.id, rec.sid)),
                })
                .collect(),
            recording_url: r
                .latest_stored_key()
                .map(|_| format!("/api/v1/callbacks/{}/recording", r.id)),
            completed_by: r.completed_by.clone(),
            completion_note: r.completion_note.clone(),
            notes: r
                .notes
                .iter()
                .map(|n| NoteView {
                    at: n.at.to_string(),
                    agent: n.agent.clone(),
                    text: n.text.clone(),
                    handed_to: n.handed_to.clone(),
                })
                .collect(),
            repeat_calls: r.repeat_calls.len(),
            history: history(r),
            expires_at: r.expires_at.map(|t| t.to_string()),
            call: r.call.as_ref().map(CallView::from),
            version: r.version,
            updated_at: r.updated_at.to_string(),
        }
    }
}

impl CallbackView {
    /// The view for a signed-in agent (`login`) shows the callback number
    /// whole only while that agent holds the record; API keys see it whole.
    pub fn for_caller(r: &CallbackRecord, login: Option<&str>, region: Region) -> Self {
        let holder = login.is_none_or(|login| r.claimed_by.as_deref() == Some(login));
        CallbackView::of(r, region).masked_unless(holder, r, region)
    }

    /// A list row: masked for every signed-in agent, the holder too (the
    /// whole number is on the record, where it is called); API keys see it
    /// whole. A record that waits for its window is marked with its
    /// start (`not_before`) while the window has not opened at `now`.
    pub fn in_list(
        r: &CallbackRecord,
        login: Option<&str>,
        region: Region,
        now: Timestamp,
    ) -> Self {
        CallbackView {
            not_before: r.not_before(now).map(|t| t.to_string()),
            ..CallbackView::of(r, region)
        }
        .masked_unless(login.is_none(), r, region)
    }

    fn masked_unless(mut self, whole: bool, r: &CallbackRecord, region: Region) -> Self {
        if !whole {
            self.callback_number = r.callback_number.masked();
            self.callback_display = r.callback_number.display_masked(region);
            self.caller_number = r.caller_number.as_ref().map(|n| n.masked());
            self.caller_display = r.caller_number.as_ref().map(|n| n.display_masked(region));
        }
        self
    }
}

#[derive(Serialize, ToSchema)]
pub struct CallbackPage {
    pub items: Vec<CallbackView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}
