//! Call intake: keeping one callback record per caller as a call moves
//! through the IVR, and noting the recordings Twilio makes.

use crate::domain::callback::{CallbackRecord, Confirmation, NewCallback};
use crate::domain::ids::{CallSid, RecordingSid};
use crate::domain::ivr::IvrContext;
use crate::domain::phone::E164;
use crate::domain::reason::Reason;
use crate::domain::tenant::Tenant;
use crate::store::{Inserted, Store, StoreError, modify_callback};
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
    /// caller).
    pub async fn open_for_caller(
        &self,
        call_sid: &CallSid,
        number: &E164,
        ctx: IvrContext,
    ) -> Result<bool, StoreError> {
        if let Some(existing) = self.find_call(call_sid).await? {
            // A retried webhook, or a later step of this call.
            return Ok(&existing.call_sid != call_sid);
        }
        if self.join_open_record(call_sid, number).await? {
            return Ok(true);
        }
        let new = self.new_callback(
            call_sid,
            Some(number),
            number,
            Confirmation::Unconfirmed,
            ctx,
        );
        let record = self.insert(new).await?.into_record();
        Ok(&record.call_sid != call_sid)
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
        let own = match self.find_call(call_sid).await? {
            Some(record) => record,
            None => {
                if self.join_open_record(call_sid, &number).await? {
                    return Ok(());
                }
                let new = self.new_callback(call_sid, caller_number, &number, how, ctx);
                match self.insert(new).await? {
                    Inserted::Created(_) => return Ok(()),
                    Inserted::Existing(record) => record,
                }
            }
        };
        // A record this call only joined keeps its own number.
        if &own.call_sid == call_sid {
            let now = self.now;
            modify_callback(self.store, &self.tenant.id, &own.id, |r| {
                r.confirm_number(number.clone(), how, now)
            })
            .await?;
        }
        Ok(())
    }

    /// Why the caller left the queue, when this call already has a record.
    pub async fn reason_of(&self, call_sid: &CallSid) -> Result<Option<Reason>, StoreError> {
        Ok(self.find_call(call_sid).await?.map(|r| r.reason))
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
        let now = self.now;
        let record = modify_callback(self.store, &self.tenant.id, &record.id, |r| match &event {
            RecordingEvent::Completed {
                sid,
                url,
                duration_seconds,
            } => r.recording_completed(
                call_sid.clone(),
                sid.clone(),
                url.clone(),
                *duration_seconds,
                now,
            ),
            RecordingEvent::Absent { sid } => {
                r.recording_absent(call_sid.clone(), sid.clone(), now)
            }
        })
        .await?;
        Ok(record)
    }

    async fn find_call(&self, call_sid: &CallSid) -> Result<Option<CallbackRecord>, StoreError> {
        self.store
            .find_callback_by_call_sid(&self.tenant.id, call_sid)
            .await
    }

    /// Adds the call to the tenant's open record of `number`, if any.
    async fn join_open_record(
        &self,
        call_sid: &CallSid,
        number: &E164,
    ) -> Result<bool, StoreError> {
        let Some(open) = self
            .store
            .find_open_callback_by_number(&self.tenant.id, number)
            .await?
        else {
            return Ok(false);
        };
        // A concurrent delivery of this very call made it: it is this call's
        // own record, and the caller is not a repeat caller.
        if &open.call_sid == call_sid {
            return Ok(false);
        }
        let now = self.now;
        let record = modify_callback(self.store, &self.tenant.id, &open.id, |r| {
            r.attach_call(call_sid.clone(), now)
        })
        .await?;
        tracing::info!(
            callback_id = %record.id,
            repeat_calls = record.repeat_calls.len(),
            "repeat caller joined an open callback"
        );
        Ok(true)
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

    async fn insert(&self, new: NewCallback) -> Result<Inserted, StoreError> {
        let record = CallbackRecord::new(
            self.tenant.id.clone(),
            new,
            self.tenant.settings.callback_sla_minutes,
            self.now,
        );
        let inserted = self.store.insert_callback(&record).await?;
        if let Inserted::Created(r) = &inserted {
            tracing::info!(
                callback_id = %r.id,
                callback_number = %r.callback_number.masked(),
                reason = %r.reason,
                "callback record created"
            );
        }
        Ok(inserted)
    }
}
