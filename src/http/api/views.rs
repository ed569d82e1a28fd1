//! What agents see of a record: the JSON the API answers.

use crate::domain::callback::{CallbackRecord, Confirmation, Outcome, RecordingState, Status};
use crate::domain::reason::Reason;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    /// RFC 3339, UTC.
    pub at: String,
    pub agent: String,
    pub outcome: Outcome,
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RecordingView {
    pub recording_sid: String,
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

/// A callback record as agents see it.
#[derive(Serialize, ToSchema)]
pub struct CallbackView {
    pub id: String,
    pub call_sid: String,
    pub caller_number: Option<String>,
    pub callback_number: String,
    pub confirmation: Confirmation,
    pub received_at: String,
    pub reason: Reason,
    pub status: Status,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<String>,
    pub due_at: String,
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
    /// When a completed or failed record is deleted with its recordings
    /// (the tenant's retention); null while open.
    pub expires_at: Option<String>,
    pub version: u64,
    pub updated_at: String,
}

impl From<&CallbackRecord> for CallbackView {
    fn from(r: &CallbackRecord) -> Self {
        CallbackView {
            id: r.id.to_string(),
            call_sid: r.call_sid.to_string(),
            caller_number: r.caller_number.as_ref().map(|n| n.to_string()),
            callback_number: r.callback_number.to_string(),
            confirmation: r.confirmation,
            received_at: r.received_at.to_string(),
            reason: r.reason,
            status: r.status,
            claimed_by: r.claimed_by.clone(),
            claimed_at: r.claimed_at.map(|t| t.to_string()),
            due_at: r.due_at.to_string(),
            attempts: r
                .attempts
                .iter()
                .map(|a| AttemptView {
                    at: a.at.to_string(),
                    agent: a.agent.clone(),
                    outcome: a.outcome,
                    note: a.note.clone(),
                })
                .collect(),
            recordings: r
                .recordings
                .iter()
                .map(|rec| RecordingView {
                    recording_sid: rec.sid.to_string(),
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
            expires_at: r.expires_at.map(|t| t.to_string()),
            version: r.version,
            updated_at: r.updated_at.to_string(),
        }
    }
}

impl CallbackView {
    /// The view for a signed-in agent (`login`) shows the callback number
    /// whole only while that agent holds the record; API keys see it whole.
    pub fn for_caller(r: &CallbackRecord, login: Option<&str>) -> Self {
        let mut view = CallbackView::from(r);
        if let Some(login) = login
            && r.claimed_by.as_deref() != Some(login)
        {
            view.callback_number = r.callback_number.masked();
            view.caller_number = r.caller_number.as_ref().map(|n| n.masked());
        }
        view
    }
}

#[derive(Serialize, ToSchema)]
pub struct CallbackPage {
    pub items: Vec<CallbackView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}
