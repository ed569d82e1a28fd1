//! A call's recordings: Twilio's copy, ours, and the copier's claim on it.

use super::{CallbackRecord, MAX_RECORDINGS};
use crate::domain::ids::{CallSid, RecordingSid, TenantId};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    /// Twilio holds it; our copy is still to be made (retryable).
    PendingCopy,
    /// Our copy is stored under `storage_key`.
    Stored,
    /// The call ended without a recording.
    Absent,
    /// Copying failed too often; the Twilio URL is all there is.
    CopyFailed,
}

impl RecordingState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingState::PendingCopy => "pending_copy",
            RecordingState::Stored => "stored",
            RecordingState::Absent => "absent",
            RecordingState::CopyFailed => "copy_failed",
        }
    }
}

/// What a recording holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordingKind {
    /// The caller's request, left in the IVR.
    #[default]
    Request,
    /// A click-to-call conversation: the customer and the agent, a channel
    /// each.
    Callback,
}

impl RecordingKind {
    fn is_request(&self) -> bool {
        *self == RecordingKind::Request
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    pub sid: RecordingSid,
    /// Records written before call backs were recorded hold requests only.
    #[serde(default, skip_serializing_if = "RecordingKind::is_request")]
    pub kind: RecordingKind,
    /// The call that made it (a repeat caller's later call has its own).
    #[serde(default)]
    pub call_sid: Option<CallSid>,
    pub state: RecordingState,
    pub twilio_url: Option<String>,
    pub duration_seconds: Option<u32>,
    pub storage_key: Option<String>,
    pub copy_attempts: u32,
    pub last_error: Option<String>,
    /// While set and in the future, one copier is downloading it; the
    /// others leave it alone. A crashed copier's claim lapses at this time.
    #[serde(default)]
    pub copying_until: Option<Timestamp>,
    /// Twilio's copy, once ours is stored (`None` on records from before
    /// this was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twilio_copy: Option<TwilioCopy>,
}

/// What became of Twilio's copy of a recording after ours was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum TwilioCopy {
    /// The tenant keeps recordings at Twilio.
    Kept,
    /// To be deleted; the sweeper retries a failed delete.
    DeletePending {
        attempts: u32,
    },
    Deleted,
    /// Deleting failed `MAX_DELETE_ATTEMPTS` times; the last error is on
    /// the recording.
    DeleteFailed,
}

impl Recording {
    /// A recording that is absent until told otherwise.
    fn new(kind: RecordingKind, call_sid: CallSid, sid: RecordingSid) -> Self {
        Recording {
            sid,
            kind,
            call_sid: Some(call_sid),
            state: RecordingState::Absent,
            twilio_url: None,
            duration_seconds: None,
            storage_key: None,
            copy_attempts: 0,
            last_error: None,
            copying_until: None,
            twilio_copy: None,
        }
    }
}

/// Recordings are tried this many times before they are given up: with
/// the copy queue's doubling waits, over about a day.
pub const MAX_COPY_ATTEMPTS: u32 = 12;

/// Deleting Twilio's copy is retried this many times.
pub const MAX_DELETE_ATTEMPTS: u32 = 5;

/// How long a copier may hold a recording: longer than the slowest copy
/// (10 s download, 12 s upload, 10 s delete, all bounded), so only a crashed
/// copier's claim lapses; short, so the job that finds it held gets it soon.
pub const COPY_LEASE: SignedDuration = SignedDuration::from_mins(1);

impl CallbackRecord {
    pub fn recording(&self, sid: &RecordingSid) -> Option<&Recording> {
        self.recordings.iter().find(|r| &r.sid == sid)
    }

    fn recording_mut(&mut self, sid: &RecordingSid) -> Option<&mut Recording> {
        self.recordings.iter_mut().find(|r| &r.sid == sid)
    }

    /// Twilio finished a recording: keep its URL at once. A repeat of the
    /// same callback changes nothing. Past `MAX_RECORDINGS` the recording
    /// is only counted (`recording(sid)` stays `None`: nothing to copy).
    /// Returns whether the record changed.
    pub fn recording_completed(
        &mut self,
        kind: RecordingKind,
        call_sid: CallSid,
        sid: RecordingSid,
        twilio_url: String,
        duration_seconds: Option<u32>,
        now: Timestamp,
    ) -> bool {
        self.add_recording(
            Recording {
                state: RecordingState::PendingCopy,
                twilio_url: Some(twilio_url),
                duration_seconds,
                ..Recording::new(kind, call_sid, sid)
            },
            now,
        )
    }

    /// The call ended without a recording. Past `MAX_RECORDINGS` there is
    /// nothing worth counting: changes nothing.
    pub fn recording_absent(
        &mut self,
        kind: RecordingKind,
        call_sid: CallSid,
        sid: RecordingSid,
        now: Timestamp,
    ) -> bool {
        if self.recordings.len() >= MAX_RECORDINGS {
            return false;
        }
        self.add_recording(Recording::new(kind, call_sid, sid), now)
    }

    /// Adds a recording Twilio told us of, or counts it past
    /// `MAX_RECORDINGS`; a repeated callback changes nothing.
    fn add_recording(&mut self, recording: Recording, now: Timestamp) -> bool {
        if self.recording(&recording.sid).is_some()
            || self.last_recording_not_kept.as_ref() == Some(&recording.sid)
        {
            return false;
        }
        if self.recordings.len() >= MAX_RECORDINGS {
            self.recordings_not_kept = self.recordings_not_kept.saturating_add(1);
            self.last_recording_not_kept = Some(recording.sid);
        } else {
            self.recordings.push(recording);
        }
        self.updated_at = now;
        true
    }

    /// Claims a pending recording for one copier until `now + COPY_LEASE`;
    /// false when it is not pending or another copier's claim still runs.
    pub fn begin_copy(&mut self, sid: &RecordingSid, now: Timestamp) -> bool {
        match self.recording_mut(sid) {
            Some(r)
                if r.state == RecordingState::PendingCopy
                    && r.copying_until.is_none_or(|until| until <= now) =>
            {
                r.copying_until = Some(now.checked_add(COPY_LEASE).unwrap_or(now));
                self.updated_at = now;
                true
            }
            _ => false,
        }
    }

    /// Our copy is stored; Twilio's is to be deleted when `delete_twilio`,
    /// else kept.
    pub fn recording_stored(
        &mut self,
        sid: &RecordingSid,
        storage_key: String,
        delete_twilio: bool,
        now: Timestamp,
    ) -> bool {
        match self.recording_mut(sid) {
            Some(r) if r.state == RecordingState::PendingCopy => {
                r.state = RecordingState::Stored;
                r.storage_key = Some(storage_key);
                r.copy_attempts += 1;
                r.last_error = None;
                r.copying_until = None;
                r.twilio_copy = Some(if delete_twilio {
                    TwilioCopy::DeletePending { attempts: 0 }
                } else {
                    TwilioCopy::Kept
                });
                self.updated_at = now;
                true
            }
            _ => false,
        }
    }

    /// Whether Twilio's copy of `sid` is still to be deleted.
    pub fn twilio_delete_pending(&self, sid: &RecordingSid) -> bool {
        self.recording(sid)
            .is_some_and(|r| matches!(r.twilio_copy, Some(TwilioCopy::DeletePending { .. })))
    }

    /// Twilio's copy is gone.
    pub fn twilio_deleted(&mut self, sid: &RecordingSid, now: Timestamp) -> bool {
        match self.recording_mut(sid) {
            Some(r) if matches!(r.twilio_copy, Some(TwilioCopy::DeletePending { .. })) => {
                r.twilio_copy = Some(TwilioCopy::Deleted);
                r.last_error = None;
                self.updated_at = now;
                true
            }
            _ => false,
        }
    }

    /// Deleting Twilio's copy failed: retried by the sweeper until
    /// `MAX_DELETE_ATTEMPTS`.
    pub fn twilio_delete_failed(
        &mut self,
        sid: &RecordingSid,
        error: String,
        now: Timestamp,
    ) -> bool {
        match self.recording_mut(sid) {
            Some(r) => match r.twilio_copy {
                Some(TwilioCopy::DeletePending { attempts }) => {
                    let attempts = attempts + 1;
                    r.twilio_copy = Some(if attempts >= MAX_DELETE_ATTEMPTS {
                        TwilioCopy::DeleteFailed
                    } else {
                        TwilioCopy::DeletePending { attempts }
                    });
                    r.last_error = Some(error);
                    self.updated_at = now;
                    true
                }
                _ => false,
            },
            None => false,
        }
    }

    /// A copy failed: stays retryable until `MAX_COPY_ATTEMPTS`.
    pub fn recording_copy_failed(
        &mut self,
        sid: &RecordingSid,
        error: String,
        now: Timestamp,
    ) -> bool {
        match self.recording_mut(sid) {
            Some(r) if r.state == RecordingState::PendingCopy => {
                r.copy_attempts += 1;
                r.last_error = Some(error);
                r.copying_until = None;
                if r.copy_attempts >= MAX_COPY_ATTEMPTS {
                    r.state = RecordingState::CopyFailed;
                }
                self.updated_at = now;
                true
            }
            _ => false,
        }
    }

    /// Where the newest stored request's audio is (a call back's
    /// recording is fetched by its sid).
    pub fn latest_stored_key(&self) -> Option<&str> {
        self.recordings
            .iter()
            .rev()
            .find(|rec| rec.state == RecordingState::Stored && rec.kind.is_request())
            .and_then(|rec| rec.storage_key.as_deref())
    }

    /// Whether the sweeper has work here: a copy to make, or Twilio's copy
    /// to delete.
    pub fn has_pending_copy(&self) -> bool {
        self.recordings.iter().any(|r| {
            r.state == RecordingState::PendingCopy
                || matches!(r.twilio_copy, Some(TwilioCopy::DeletePending { .. }))
        })
    }
}

/// Where a recording's audio lives in the recording store.
pub fn recording_key(
    tenant: &TenantId,
    call_sid: &CallSid,
    recording_sid: &RecordingSid,
    ext: &str,
) -> String {
    format!("recordings/{tenant}/{call_sid}/{recording_sid}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::callback::tests::{at, record};

    fn sid() -> RecordingSid {
        RecordingSid::parse("RE00000000000000000000000000000001").unwrap()
    }

    #[test]
    fn recording_lifecycle_is_idempotent() {
        let mut r = record();
        assert!(r.recording_completed(
            RecordingKind::Request,
            r.call_sid.clone(),
            sid(),
            "https://api.twilio.com/x".into(),
            Some(7),
            at("2026-11-25T01:05:00Z")
        ));
        assert!(!r.recording_completed(
            RecordingKind::Request,
            r.call_sid.clone(),
            sid(),
            "https://api.twilio.com/x".into(),
            Some(7),
            at("2026-11-25T01:05:00Z")
        ));
        assert!(r.has_pending_copy());
        assert_eq!(r.updated_at, at("2026-11-25T01:05:00Z"));
        let stored_at = at("2026-11-25T01:06:00Z");
        assert!(r.recording_stored(&sid(), "recordings/acme/x/y.wav".into(), false, stored_at));
        assert!(!r.recording_stored(&sid(), "again".into(), true, at("2026-11-25T01:07:00Z")));
        assert_eq!(r.updated_at, stored_at);
        assert_eq!(r.recordings[0].state, RecordingState::Stored);
        assert_eq!(r.recordings[0].twilio_copy, Some(TwilioCopy::Kept));
        assert!(!r.has_pending_copy());
    }

    #[test]
    fn copy_failures_end_in_a_terminal_state() {
        let mut r = record();
        let now = at("2026-11-25T01:05:00Z");
        r.recording_completed(
            RecordingKind::Request,
            r.call_sid.clone(),
            sid(),
            "u".into(),
            None,
            now,
        );
        for _ in 0..MAX_COPY_ATTEMPTS {
            assert!(r.recording_copy_failed(&sid(), "boom".into(), now));
        }
        assert_eq!(r.recordings[0].state, RecordingState::CopyFailed);
        assert!(!r.recording_copy_failed(&sid(), "boom".into(), now));
    }

    #[test]
    fn one_copier_holds_a_recording_until_its_claim_lapses() {
        let mut r = record();
        let now = at("2026-11-25T01:05:00Z");
        r.recording_completed(
            RecordingKind::Request,
            r.call_sid.clone(),
            sid(),
            "u".into(),
            None,
            now,
        );
        assert!(r.begin_copy(&sid(), now));
        let lapse = now + COPY_LEASE;
        assert_eq!(lapse, at("2026-11-25T01:06:00Z"));
        assert!(
            !r.begin_copy(&sid(), lapse - SignedDuration::from_secs(1)),
            "held"
        );
        assert!(r.begin_copy(&sid(), lapse), "lapsed");
        assert!(r.recording_copy_failed(&sid(), "boom".into(), now));
        assert!(r.begin_copy(&sid(), now), "a failure frees it at once");
        assert!(r.recording_stored(&sid(), "k".into(), true, now));
        assert!(!r.begin_copy(&sid(), at("2026-11-25T02:00:00Z")), "stored");
    }

    #[test]
    fn twilios_copy_is_deleted_or_given_up_after_five_failures() {
        let now = at("2026-11-25T01:05:00Z");
        let mut r = record();
        r.recording_completed(
            RecordingKind::Request,
            r.call_sid.clone(),
            sid(),
            "u".into(),
            None,
            now,
        );
        assert!(!r.twilio_delete_pending(&sid()));
        r.recording_stored(&sid(), "k".into(), true, now);
        assert!(r.twilio_delete_pending(&sid()));
        assert!(
            r.has_pending_copy(),
            "the sweeper still has the delete to do"
        );
        let mut failing = r.clone();
        // docs/operations.md's promise, not the constant: given up at the 5th.
        for attempt in 1..5 {
            assert!(failing.twilio_delete_failed(&sid(), "503".into(), now));
            assert_eq!(
                failing.recordings[0].twilio_copy,
                Some(TwilioCopy::DeletePending { attempts: attempt })
            );
        }
        assert!(failing.twilio_delete_failed(&sid(), "503".into(), now));
        assert_eq!(
            failing.recordings[0].twilio_copy,
            Some(TwilioCopy::DeleteFailed)
        );
        assert_eq!(failing.recordings[0].last_error.as_deref(), Some("503"));
        assert!(!failing.has_pending_copy());
        assert!(!failing.twilio_delete_failed(&sid(), "503".into(), now));

        assert!(r.twilio_deleted(&sid(), now));
        assert_eq!(r.recordings[0].twilio_copy, Some(TwilioCopy::Deleted));
        assert!(!r.has_pending_copy());
        assert!(!r.twilio_deleted(&sid(), now));
    }
}
