//! Requests left while afureko could not answer. The number's fallback URL
//! (or a webhook past its budget) serves the record-only flow, so such a
//! call reaches afureko only as its recording's callback, which Twilio
//! retries: `keep_recording` makes its record then, from Twilio's view of
//! the call. The reconciliation is the net under that: it lists the
//! tenant's recordings through Twilio's REST API and keeps those whose
//! callbacks never came.

use crate::calls::intake::{Intake, IntakeError, RecordingEvent};
use crate::calls::recordings::RecordingCopier;
use crate::clock::Clock;
use crate::domain::callback::CallbackRecord;
use crate::domain::ids::CallSid;
use crate::domain::ivr::IvrContext;
use crate::domain::phone::CallerId;
use crate::domain::reason::Reason;
use crate::domain::tenant::Tenant;
use crate::store::reconciled::ReconciledStore;
use crate::store::{Store, StoreError};
use crate::twilio::api::TwilioApiError;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("Twilio's API failed")]
    Twilio(#[from] TwilioApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<IntakeError> for ReconcileError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Store(e) => ReconcileError::Store(e),
            // Its record was made a moment ago: the store lost it since.
            IntakeError::UnknownCall(call) => {
                ReconcileError::Store(StoreError::Unreadable(format!("the record of call {call}")))
            }
        }
    }
}

/// What became of a recording's callback.
#[derive(Debug)]
pub enum Kept {
    /// Noted on its call's record (and its copy queued).
    Noted(Box<CallbackRecord>),
    /// A call afureko never saw, from a withheld caller ID: there is no
    /// number to call back, so no record; Twilio keeps the recording.
    Withheld,
}

/// Notes a recording on its call's record at once and queues its copy.
/// A call afureko never saw gets its record first: reason `outage`, the
/// caller ID as the callback number (`unconfirmed`), received at
/// `received_at`; a racing callback and reconciliation make one record.
pub async fn keep_recording(
    store: &dyn Store,
    copier: &RecordingCopier,
    tenant: &Tenant,
    call_sid: &CallSid,
    event: RecordingEvent,
    received_at: Timestamp,
    now: Timestamp,
) -> Result<Kept, ReconcileError> {
    let intake = Intake::new(store, tenant, now);
    let record = match intake.recording_event(call_sid, event.clone()).await {
        Ok(record) => record,
        Err(IntakeError::UnknownCall(_)) => {
            let call = copier.api().get_call(&tenant.twilio, call_sid).await?;
            let from = call.from.as_deref().unwrap_or_default();
            let caller = CallerId::from_twilio(from, tenant.settings.default_region);
            let Some(number) = caller.number() else {
                tracing::warn!(%call_sid, "a call afureko never saw, caller ID withheld: no number to call back, its recording stays at Twilio");
                return Ok(Kept::Withheld);
            };
            let ctx = IvrContext {
                reason: Reason::Outage,
                arrived: received_at,
            };
            intake.open_for_caller(call_sid, number, ctx).await?;
            intake.recording_event(call_sid, event.clone()).await?
        }
        Err(e) => return Err(e.into()),
    };
    // Past the record's bound: the copier deletes Twilio's copy.
    let delete_unkept = matches!(event, RecordingEvent::Completed { .. })
        && tenant.settings.delete_twilio_recording;
    copier
        .queue_copy(&record, event.sid(), delete_unkept)
        .await?;
    Ok(Kept::Noted(Box::new(record)))
}

/// How much one run of one tenant does: pages of its list, of `page_size`
/// recordings (Twilio's largest is 1,000), and lost calls kept; the rest
/// waits for the next run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub page_size: u16,
    pub pages: usize,
    pub lost_calls: usize,
}

impl Default for Bounds {
    /// 10,000 recordings, 100 lost calls: a run of many tenants stays well
    /// inside the sweeper's 300 s.
    fn default() -> Self {
        Bounds {
            page_size: 1000,
            pages: 10,
            lost_calls: 100,
        }
    }
}
/// A run looks again at recordings created this long before the last
/// complete run started (one still processing then was not listed
/// complete).
const GRACE: SignedDuration = SignedDuration::from_hours(1);
const DAY: SignedDuration = SignedDuration::from_hours(24);

/// What one run did for one tenant.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reconciled {
    pub pages: usize,
    /// Recordings listed (each once, though the day filter lists some again).
    pub listed: usize,
    /// Not a finished `<Record>` recording.
    pub skipped: usize,
    /// Their calls have records.
    pub known: usize,
    /// Lost calls now noted on a record (new, or a number's open one).
    pub kept: usize,
    /// Lost calls with a withheld caller ID: no record.
    pub withheld: usize,
    /// Every listed recording was looked at: the progress moved on.
    pub complete: bool,
}

/// The reconciliation of a tenant, by the sweeper or `afureko reconcile`.
pub struct Reconciler {
    store: Arc<dyn Store>,
    progress: Arc<dyn ReconciledStore>,
    copier: Arc<RecordingCopier>,
    clock: Arc<dyn Clock>,
    bounds: Bounds,
}

impl Reconciler {
    pub fn new(
        store: Arc<dyn Store>,
        progress: Arc<dyn ReconciledStore>,
        copier: Arc<RecordingCopier>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Reconciler {
            store,
            progress,
            copier,
            clock,
            bounds: Bounds::default(),
        }
    }

    pub fn with_bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    /// One bounded run for `tenant`: Twilio's recordings created since
    /// `since` (a GMT day), or without it those created since the last
    /// complete run started, less `GRACE` (the list itself filters by day:
    /// from the day before); a first run looks a day back. The progress
    /// moves on when the run saw all of them and left no gap behind the
    /// last one.
    pub async fn run(
        &self,
        tenant: &Tenant,
        since: Option<Date>,
    ) -> Result<Reconciled, ReconcileError> {
        let started = self.clock.now();
        let last = self.progress.reconciled_at(&tenant.id).await?;
        let day_before = |at: Timestamp| {
            at.checked_sub(DAY)
                .unwrap_or(at)
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date()
        };
        // Twilio lists the newest first: past `look_from` the rest is older.
        let (since, look_from) = match since {
            Some(day) => (day, None),
            None => match last {
                Some(at) => (day_before(at), at.checked_sub(GRACE).ok()),
                // A tenant from before the progress was kept (a tenant
                // starts with its creation): a day back.
                None => {
                    let from = started.checked_sub(DAY).unwrap_or(started);
                    (day_before(started), Some(from.max(tenant.created_at)))
                }
            },
        };
        let api = self.copier.api();
        let bounds = self.bounds;
        let mut pages = api.list_recordings(&tenant.twilio, since, bounds.page_size)?;
        let mut done = Reconciled {
            complete: true,
            ..Reconciled::default()
        };
        'pages: loop {
            if done.pages == bounds.pages {
                done.complete = false;
                break;
            }
            let Some(page) = pages.next_page().await? else {
                break;
            };
            done.pages += 1;
            for recording in page {
                done.listed += 1;
                let seen_before = matches!(
                    (look_from, recording.date_created),
                    (Some(from), Some(created)) if created < from
                );
                if seen_before {
                    break 'pages;
                }
                let call_sid = match &recording.call_sid {
                    Some(call) if recording.is_record_verb() && recording.status == "completed" => {
                        call
                    }
                    _ => {
                        done.skipped += 1;
                        continue;
                    }
                };
                if self
                    .store
                    .find_callback_by_call_sid(&tenant.id, call_sid)
                    .await?
                    .is_some()
                {
                    done.known += 1;
                    continue;
                }
                if done.kept + done.withheld == bounds.lost_calls {
                    done.complete = false;
                    break 'pages;
                }
                let event = RecordingEvent::Completed {
                    url: api.recording_url(&tenant.twilio.account_sid, &recording.sid),
                    sid: recording.sid,
                    duration_seconds: recording.duration_seconds,
                };
                let now = self.clock.now();
                let received_at = recording.date_created.unwrap_or(now);
                let kept = keep_recording(
                    self.store.as_ref(),
                    &self.copier,
                    tenant,
                    call_sid,
                    event,
                    received_at,
                    now,
                )
                .await?;
                match kept {
                    Kept::Noted(record) => {
                        tracing::info!(callback_id = %record.id, %call_sid, "a lost call's request kept");
                        done.kept += 1;
                    }
                    Kept::Withheld => done.withheld += 1,
                }
            }
        }
        // A run from a later day than the last one's window would leave
        // the days between unseen.
        let no_gap = last.is_none_or(|at| since <= day_before(at));
        if done.complete && no_gap {
            self.progress.set_reconciled_at(&tenant.id, started).await?;
        }
        Ok(done)
    }

    /// A run for every tenant the sweeper reconciles, or (`scan`, an
    /// operator's run) for every tenant of the store, which also enrols
    /// tenants from before the progress was kept. A tenant whose run fails
    /// is logged and the others go on.
    pub async fn run_all(&self, scan: bool) -> Result<Reconciled, StoreError> {
        let mut total = Reconciled {
            complete: true,
            ..Reconciled::default()
        };
        let ids = if scan {
            self.store.tenant_ids().await?
        } else {
            self.progress.reconciled_tenants().await?
        };
        for id in ids {
            let Some(tenant) = self.store.get_tenant(&id).await? else {
                continue;
            };
            match self.run(&tenant, None).await {
                Ok(done) => total.add(&done),
                Err(e) => {
                    total.complete = false;
                    tracing::warn!(tenant = %id, error = crate::telemetry::error_chain(&e), "reconciliation failed");
                }
            }
        }
        Ok(total)
    }
}

impl Reconciled {
    fn add(&mut self, other: &Reconciled) {
        self.pages += other.pages;
        self.listed += other.listed;
        self.skipped += other.skipped;
        self.known += other.known;
        self.kept += other.kept;
        self.withheld += other.withheld;
        self.complete &= other.complete;
    }
}
