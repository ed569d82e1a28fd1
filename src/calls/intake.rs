//! Call intake: keeping one callback record per caller as a call moves
//! through the IVR, and noting the recordings Twilio makes.

use crate::domain::callback::{self, CallbackRecord, Confirmation, NewCallback, RecordingKind};
use crate::domain::callback_window::Occurrence;
use crate::domain::due::Due;
use crate::domain::ids::{CallSid, CallbackId, RecordingSid};
use crate::domain::ivr::IvrContext;
use crate::domain::phone::E164;
use crate::domain::reason::Reason;
use crate::domain::tenant::Tenant;
use crate::store::{Opened, Store, StoreError, modify_callback};
use jiff::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// A recording event for a call that left no record.
    #[error("no callback record for call {0}")]
    UnknownCall(CallSid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What Twilio's recordingStatusCallback reported.
#[derive(Debug, Clone)]
pub enum RecordingEvent {
    Completed {
        sid: RecordingSid,
        url: String,
        duration_seconds: Option<u32>,
    },
    Absent {
        sid: RecordingSid,
    },
}

impl RecordingEvent {
    pub fn sid(&self) -> &RecordingSid {
        match self {
            RecordingEvent::Completed { sid, .. } | RecordingEvent::Absent { sid } => sid,
        }
    }
}

/// The record a known caller's call was kept on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerRecord {
    /// The call joined an earlier open record of the same number.
    pub repeat: bool,
    /// When the record is due, and the window its caller chose.
    pub due: Due,
}

/// One call's view of the store at a moment.
pub struct Intake<'a> {
    store: &'a dyn Store,
    tenant: &'a Tenant,
    now: Timestamp,
}

impl<'a> Intake<'a> {
    pub fn new(store: &'a dyn Store, tenant: &'a Tenant, now: Timestamp) -> Self {
        Intake { store, tenant, now }
    }

    /// Keeps a record on the caller ID for this call; returns whether the
    /// call joined an earlier open record of the same number (a repeat
    /// caller), and when the record is due.
    pub async fn open_for_caller(
        &self,
        call_sid: &CallSid,
        number: &E164,
        ctx: IvrContext,
    ) -> Result<CallerRecord, StoreError> {
        let new = self.new_callback(
            call_sid,
            Some(number),
            number,
            Confirmation::Unconfirmed,
            ctx,
        );
        Ok(match self.open(new).await? {
            // A retried webhook, or a later step of this call.
            Opened::Existing(existing) => CallerRecord {
                repeat: &existing.call_sid != call_sid,
                due: existing.due(),
            },
            Opened::Joined(joined) => CallerRecord {
                repeat: true,
                due: joined.due(),
            },
            Opened::Created(created) => CallerRecord {
                repeat: false,
                due: created.due(),
            },
        })
    }

    /// The caller confirmed the number to call back: this call's own record
    /// takes it, or the call joins an open record of that number, or a new
    /// record is kept.
    pub async fn settle_number(
        &self,
        call_sid: &CallSid,
        caller_number: Option<&E164>,
        number: E164,
        how: Confirmation,
        ctx: IvrContext,
    ) -> Result<(), StoreError> {
        let new = self.new_callback(call_sid, caller_number, &number, how, ctx);
        let own = match self.open(new).await? {
            Opened::Existing(record) => record,
            Opened::Joined(_) | Opened::Created(_) => return Ok(()),
        };
        // A record this call only joined keeps its own number.
        if &own.call_sid == call_sid {
            let now = self.now;
            let confirmed = modify_callback(self.store, &self.tenant.id, &own.id, |r| {
                r.confirm_number(number.clone(), how, now)
            })
            .await;
            match confirmed {
                Ok(_) => {}
                // One open record per number: this call's record stays on
                // the caller ID rather than make a second record of it.
                Err(StoreError::OpenNumberTaken) => tracing::warn!(
                    callback_id = %own.id,
                    callback_number = %number.masked(),
                    "typed number has another open record; kept the caller ID"
                ),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Why the caller left the queue, when this call already has a record.
    pub async fn reason_of(&self, call_sid: &CallSid) -> Result<Option<Reason>, StoreError> {
        Ok(self.find_call(call_sid).await?.map(|r| r.reason))
    }

    /// When the call's record is due (and its window), to tell the caller.
    pub async fn due_of(&self, call_sid: &CallSid) -> Result<Option<Due>, StoreError> {
        Ok(self.find_call(call_sid).await?.map(|r| r.due()))
    }

    /// The caller chose when to be called back (`None`: as soon as
    /// possible) for the record this call belongs to: its own, or the open
    /// record it joined, the number's latest wish. A record an agent holds
    /// already keeps its time. Nothing happens for a call with no record.
    pub async fn choose_window(
        &self,
        call_sid: &CallSid,
        window: Option<Occurrence>,
    ) -> Result<(), StoreError> {
        let Some(record) = self.find_call(call_sid).await? else {
            return Ok(());
        };
        let settings = &self.tenant.settings;
        let asap = callback::due_at(
            settings
                .due_from(record.reason, record.received_at)
                .unwrap_or(record.received_at),
            settings.callback_sla_minutes,
        );
        let now = self.now;
        let chosen = modify_callback(self.store, &self.tenant.id, &record.id, |r| {
            r.choose_window(window, asap, now)
        })
        .await?;
        tracing::info!(
            callback_id = %chosen.id,
            window = chosen.window.is_some(),
            "callback window chosen"
        );
        Ok(())
    }

    /// Notes a recording on the call's record (its URL at once, so nothing
    /// is lost); returns the record as written.
    pub async fn recording_event(
        &self,
        call_sid: &CallSid,
        event: RecordingEvent,
    ) -> Result<CallbackRecord, IntakeError> {
        let record = self
            .find_call(call_sid)
            .await?
            .ok_or_else(|| IntakeError::UnknownCall(call_sid.clone()))?;
        let kind = RecordingKind::Request;
        Ok(self
            .note_recording(&record.id, kind, call_sid, &event)
            .await?)
    }

    /// Notes a recording of `kind`, made on the call `call_sid`, on the
    /// record `id`; a repeat changes nothing.
    pub async fn note_recording(
        &self,
        id: &CallbackId,
        kind: RecordingKind,
        call_sid: &CallSid,
        event: &RecordingEvent,
    ) -> Result<CallbackRecord, StoreError> {
        let now = self.now;
        modify_callback(self.store, &self.tenant.id, id, |r| match event {
            RecordingEvent::Completed {
                sid,
                url,
                duration_seconds,
            } => r.recording_completed(
                kind,
                call_sid.clone(),
                sid.clone(),
                url.clone(),
                *duration_seconds,
                now,
            ),
            RecordingEvent::Absent { sid } => {
                r.recording_absent(kind, call_sid.clone(), sid.clone(), now)
            }
        })
        .await
    }

    async fn find_call(&self, call_sid: &CallSid) -> Result<Option<CallbackRecord>, StoreError> {
        self.store
            .find_callback_by_call_sid(&self.tenant.id, call_sid)
            .await
    }

    fn new_callback(
        &self,
        call_sid: &CallSid,
        caller_number: Option<&E164>,
        number: &E164,
        how: Confirmation,
        ctx: IvrContext,
    ) -> NewCallback {
        NewCallback {
            call_sid: call_sid.clone(),
            caller_number: caller_number.cloned(),
            callback_number: number.clone(),
            confirmation: how,
            reason: ctx.reason,
            received_at: ctx.arrived,
            due_from: self.tenant.settings.due_from(ctx.reason, ctx.arrived),
        }
    }

    /// The call's record: its own, the open one of its number (joined),
    /// or `new`, kept now; one store step.
    async fn open(&self, new: NewCallback) -> Result<Opened, StoreError> {
        let fresh = CallbackRecord::new(
            self.tenant.id.clone(),
            new,
            self.tenant.settings.callback_sla_minutes,
            self.now,
        );
        let opened = self.store.open_callback_for_call(&fresh, self.now).await?;
        match &opened {
            Opened::Joined(r) => tracing::info!(
                callback_id = %r.id,
                repeat_calls = r.repeat_calls.len(),
                "repeat caller joined an open callback"
            ),
            Opened::Created(r) => tracing::info!(
                callback_id = %r.id,
                callback_number = %r.callback_number.masked(),
                reason = %r.reason,
                "callback record created"
            ),
            Opened::Existing(_) => {}
        }
        Ok(opened)
    }
}
