//! Calling back from afureko (click-to-call): placing the call through
//! Twilio's REST API, then each request of the agent's leg, decided by
//! `domain::outbound` on the record's latest version and written only if
//! nobody wrote since.

use crate::calls::intake::{Intake, RecordingEvent};
use crate::calls::work::{self, WorkError};
use crate::deps::Deps;
use crate::domain::agent::AgentAccount;
use crate::domain::audit::{Actor, AuditAction};
use crate::domain::callback::{CallbackRecord, RecordingKind};
use crate::domain::ids::{CallSid, CallbackId};
use crate::domain::outbound::{self, CallKey, CallRefusal, DialResult, OutboundLinks, TwilioFault};
use crate::domain::tenant::Tenant;
use crate::domain::twiml::Twiml;
use crate::store::{StoreError, modify_callback};
use crate::twilio::api::{CallParams, TwilioApi, TwilioApiError};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No such record, or the store failed.
    #[error(transparent)]
    Work(#[from] WorkError),
    #[error(transparent)]
    Refused(#[from] CallRefusal),
    /// Twilio refused the call or could not be reached; the record keeps
    /// why (its call ended `twilio_refused`).
    #[error("Twilio did not place the call")]
    Twilio(#[source] TwilioApiError),
}

impl From<StoreError> for CallError {
    fn from(e: StoreError) -> Self {
        CallError::Work(e.into())
    }
}

/// A call back Twilio placed: it is ringing the agent's phone.
pub struct Placed {
    /// The call to the agent's phone.
    pub call_sid: CallSid,
    pub record: CallbackRecord,
}

/// Calls the customer of the tenant's record `id` back for `agent`, who
/// holds it: Twilio rings the agent's phone first. The record keeps the
/// call before Twilio is asked, so the leg's first request finds it.
pub async fn place(
    deps: Deps<'_>,
    api: &TwilioApi,
    links: &dyn OutboundLinks,
    actor: &Actor,
    tenant: &Tenant,
    agent: &AgentAccount,
    id: &str,
) -> Result<Placed, CallError> {
    let now = deps.clock.now();
    let rules = tenant.settings.work_rules();
    let record = work::load(deps, &tenant.id, id).await?;
    record.may_call(&agent.login, now, &rules)?;
    let (caller_id, phone) = outbound::ready(&tenant.settings, &agent.login, agent.phone.as_ref())?;
    let mut refused = None;
    let mut key = None;
    modify_callback(deps.store, &tenant.id, &record.id, |r| {
        match r.start_call(&agent.login, now, &rules) {
            Ok(started) => key = Some(started),
            Err(e) => refused = Some(e),
        }
        refused.is_none()
    })
    .await?;
    let key = match (key, refused) {
        (Some(key), None) => key,
        (_, Some(refusal)) => return Err(refusal.into()),
        (None, None) => return Err(CallError::Work(WorkError::NotFound(id.to_owned()))),
    };
    let call = CallParams {
        to: phone.clone(),
        from: caller_id.clone(),
        url: links.answer(&key),
        status_callback: links.status(&key),
        timeout_seconds: tenant.settings.agent_ring_seconds,
    };
    match api.create_call(&tenant.twilio, &call).await {
        Ok(call_sid) => {
            let record = modify_callback(deps.store, &tenant.id, &record.id, |r| {
                r.call_placed(&key, &call_sid, now)
            })
            .await?;
            audit(
                deps,
                tenant,
                actor,
                AuditAction::CallBackPlaced,
                &record.id,
                0,
            )
            .await?;
            tracing::info!(callback_id = %record.id, %call_sid, "call back placed: ringing the agent");
            Ok(Placed { call_sid, record })
        }
        Err(e) => {
            let fault = fault_of(&e);
            let kept = modify_callback(deps.store, &tenant.id, &record.id, |r| {
                r.call_refused(&key, fault.clone(), now)
            })
            .await;
            if let Err(store) = kept {
                tracing::warn!(
                    error = crate::telemetry::error_chain(&store),
                    "could not keep why Twilio refused the call on the record"
                );
            }
            tracing::warn!(
                callback_id = %record.id,
                error = crate::telemetry::error_chain(&e),
                "Twilio did not place the call back"
            );
            Err(CallError::Twilio(e))
        }
    }
}

/// What a refused call keeps of Twilio's error: its error body when it
/// sent one, else what went wrong (never a URL or a token).
pub fn fault_of(e: &TwilioApiError) -> TwilioFault {
    let status = match e {
        TwilioApiError::Status { status, .. } => Some(*status),
        _ => None,
    };
    match e.twilio() {
        Some(body) => TwilioFault {
            status: Some(body.status),
            code: body.code,
            message: body.message.clone(),
            more_info: body.more_info.clone(),
        },
        None => TwilioFault {
            status,
            code: None,
            message: Some(crate::telemetry::error_chain(e)),
            more_info: None,
        },
    }
}

/// Appends the audit entry of a change to the record `id`.
async fn audit(
    deps: Deps<'_>,
    tenant: &Tenant,
    actor: &Actor,
    action: AuditAction,
    id: &CallbackId,
    attempt: usize,
) -> Result<(), StoreError> {
    let counts = match attempt {
        0 => BTreeMap::new(),
        n => BTreeMap::from([("attempt".to_owned(), n as u64)]),
    };
    deps.record_audit(&tenant.id, actor, action, id.as_str(), counts)
        .await
}

/// Corrects the outcome of attempt `n` (1 is the first) of the record
/// `id`, with a note, as `by` (its agent, or anyone when `supervisor`);
/// audited. The record's status follows the new outcome
/// (`CallbackRecord::correct_attempt`).
#[allow(clippy::too_many_arguments)]
pub async fn correct_attempt(
    deps: Deps<'_>,
    actor: &Actor,
    tenant: &Tenant,
    id: &str,
    n: usize,
    by: &str,
    supervisor: bool,
    outcome: crate::domain::callback::Outcome,
    note: String,
) -> Result<CallbackRecord, WorkError> {
    let now = deps.clock.now();
    let rules = tenant.settings.work_rules();
    let record = work::load(deps, &tenant.id, id).await?;
    let (mut refused, mut corrected) = (None, false);
    let written = modify_callback(deps.store, &tenant.id, &record.id, |r| {
        match r.correct_attempt(n, by, supervisor, outcome, note.clone(), now, &rules) {
            Ok(changed) => corrected = changed,
            Err(e) => refused = Some(e),
        }
        corrected
    })
    .await
    .map_err(|e| match e {
        StoreError::OpenNumberTaken => WorkError::NumberOpenElsewhere,
        StoreError::NotFound(_) => WorkError::NotFound(id.to_owned()),
        other => other.into(),
    })?;
    if let Some(e) = refused {
        return Err(e.into());
    }
    if corrected {
        audit(
            deps,
            tenant,
            actor,
            AuditAction::AttemptCorrected,
            &written.id,
            n,
        )
        .await?;
    }
    Ok(written)
}

/// One request of the agent's leg: the domain's answer on the record's
/// latest version, written when it changed. A record gone meanwhile
/// (erased, expired) ends the call politely.
async fn leg_step(
    deps: Deps<'_>,
    tenant: &Tenant,
    key: &CallKey,
    mut decide: impl FnMut(&mut CallbackRecord) -> (Twiml, bool) + Send,
) -> Result<Twiml, StoreError> {
    let mut answer = None;
    let stepped = modify_callback(deps.store, &tenant.id, &key.callback, |r| {
        let (twiml, changed) = decide(r);
        answer = Some(twiml);
        changed
    })
    .await;
    match (stepped, answer) {
        (Ok(_), Some(twiml)) => Ok(twiml),
        (Ok(_), None) | (Err(StoreError::NotFound(_)), _) => {
            Ok(outbound::record_gone(&tenant.settings))
        }
        (Err(e), _) => Err(e),
    }
}

/// The agent answered their phone.
pub async fn agent_answered(
    deps: Deps<'_>,
    tenant: &Tenant,
    links: &dyn OutboundLinks,
    key: &CallKey,
    call_sid: &CallSid,
) -> Result<Twiml, StoreError> {
    let now = deps.clock.now();
    leg_step(deps, tenant, key, |r| {
        r.agent_answered(key, call_sid, &tenant.settings, links, now)
    })
    .await
}

/// The agent pressed `digits` (empty: nothing) after the whisper.
pub async fn agent_pressed(
    deps: Deps<'_>,
    tenant: &Tenant,
    links: &dyn OutboundLinks,
    key: &CallKey,
    digits: &str,
) -> Result<Twiml, StoreError> {
    let now = deps.clock.now();
    leg_step(deps, tenant, key, |r| {
        r.agent_pressed(key, digits, &tenant.settings, links, now)
    })
    .await
}

/// The customer answered.
pub async fn customer_answered(
    deps: Deps<'_>,
    tenant: &Tenant,
    key: &CallKey,
) -> Result<Twiml, StoreError> {
    let now = deps.clock.now();
    leg_step(deps, tenant, key, |r| {
        r.customer_answered(key, &tenant.settings, now)
    })
    .await
}

/// The customer's leg ended: its outcome is logged, once.
pub async fn customer_leg_ended(
    deps: Deps<'_>,
    tenant: &Tenant,
    key: &CallKey,
    agent_call_sid: &CallSid,
    dial: &DialResult,
) -> Result<Twiml, StoreError> {
    let now = deps.clock.now();
    let twiml = leg_step(deps, tenant, key, |r| {
        r.customer_leg_ended(key, agent_call_sid, dial, &tenant.settings, now)
    })
    .await?;
    tracing::info!(callback_id = %key.callback, dial_status = dial.status, "call back ended");
    Ok(twiml)
}

/// The agent leg's status callback.
pub async fn agent_leg_status(
    deps: Deps<'_>,
    tenant: &Tenant,
    key: &CallKey,
    call_sid: &CallSid,
    status: &str,
) -> Result<(), StoreError> {
    let now = deps.clock.now();
    let noted = modify_callback(deps.store, &tenant.id, &key.callback, |r| {
        r.agent_leg_status(key, call_sid, status, now)
    })
    .await;
    match noted {
        Ok(_) | Err(StoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A recording of the call back (both parties), noted on its record like
/// a caller's request; `None` when the record is gone.
pub async fn recording(
    deps: Deps<'_>,
    tenant: &Tenant,
    key: &CallKey,
    call_sid: &CallSid,
    event: &RecordingEvent,
) -> Result<Option<CallbackRecord>, StoreError> {
    let intake = Intake::new(deps.store, tenant, deps.clock.now());
    let kind = RecordingKind::Callback;
    match intake
        .note_recording(&key.callback, kind, call_sid, event)
        .await
    {
        Ok(record) => Ok(Some(record)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
