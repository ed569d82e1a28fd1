//! The invariants, read from the store after the sweep.

use crate::calls::{Outcome, Plan, TENANT};
use crate::media::Media;
use afureko::domain::callback::RecordingState;
use afureko::domain::ids::TenantId;
use afureko::startup::Backend;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default)]
pub struct Counts {
    pub records: usize,
    pub stored: usize,
    pub twilio_deleted: usize,
    pub pending_copy: usize,
    pub copy_failed: usize,
    /// Calls answered 2xx without their record, or recordings answered
    /// 2xx and not stored.
    pub losses: usize,
    /// Every broken invariant, with the call that broke it.
    pub violations: Vec<String>,
}

pub async fn check(
    backend: &Backend,
    media: &Media,
    calls: &[(Plan, Outcome)],
) -> anyhow::Result<Counts> {
    let mut counts = Counts::default();
    let tenant = TenantId::parse(TENANT)?;
    let records = backend
        .store
        .recent_callbacks(&tenant, calls.len() * 2 + 10)
        .await?;
    counts.records = records.len();
    let by_call: HashMap<&str, &(Plan, Outcome)> =
        calls.iter().map(|c| (c.0.call_sid.as_str(), c)).collect();
    let mut records_of: HashMap<&str, usize> = HashMap::new();
    let mut stored_keys: Vec<(String, usize, String)> = Vec::new();
    for record in &records {
        for sid in std::iter::once(&record.call_sid).chain(record.repeat_call_sids()) {
            *records_of.entry(sid.as_str()).or_default() += 1;
            if !by_call.contains_key(sid.as_str()) {
                counts.violations.push(format!(
                    "record {} has a call the soak never made: {sid}",
                    record.id
                ));
            }
        }
        for recording in &record.recordings {
            let sid = recording.sid.as_str();
            let who = format!(
                "recording {sid} of record {} (call {})",
                record.id, record.call_sid
            );
            if record
                .recordings
                .iter()
                .filter(|r| r.sid == recording.sid)
                .count()
                > 1
            {
                counts
                    .violations
                    .push(format!("{who}: kept more than once"));
            }
            match recording.state {
                RecordingState::Stored => {
                    counts.stored += 1;
                    if media.deleted(sid) {
                        counts.twilio_deleted += 1;
                    } else {
                        counts
                            .violations
                            .push(format!("{who}: stored, but Twilio's copy was not deleted"));
                    }
                    let index = by_call.get(record.call_sid.as_str()).map(|c| c.0.index);
                    match (recording.storage_key.clone(), index) {
                        (Some(key), Some(index)) => stored_keys.push((key, index, who)),
                        _ => counts
                            .violations
                            .push(format!("{who}: stored without a key")),
                    }
                }
                RecordingState::PendingCopy => {
                    counts.pending_copy += 1;
                    counts
                        .violations
                        .push(format!("{who}: still pending_copy after the sweep"));
                }
                RecordingState::CopyFailed => {
                    counts.copy_failed += 1;
                    counts.violations.push(format!(
                        "{who}: copy_failed ({})",
                        recording.last_error.as_deref().unwrap_or("no error kept")
                    ));
                }
                RecordingState::Absent => counts
                    .violations
                    .push(format!("{who}: absent, but Twilio reported it completed")),
            }
        }
    }

    for (plan, outcome) in calls {
        let call = format!("call {} ({})", plan.index, plan.call_sid);
        let n = records_of.get(plan.call_sid.as_str()).copied().unwrap_or(0);
        if outcome.incoming && n != 1 {
            counts.losses += usize::from(n == 0);
            counts.violations.push(format!(
                "{call}: its incoming webhook got a 2xx, and it has {n} records"
            ));
        } else if n > 1 {
            counts.violations.push(format!("{call}: {n} records"));
        }
        if let Some(broken) = &outcome.broken {
            counts.violations.push(format!("{call}: {broken}"));
        }
        if outcome.status_callback {
            let stored = records.iter().any(|r| {
                r.call_sid.as_str() == plan.call_sid
                    && r.recordings.iter().any(|rec| {
                        rec.sid.as_str() == plan.recording_sid
                            && rec.state == RecordingState::Stored
                    })
            });
            if !stored {
                counts.losses += 1;
                counts.violations.push(format!(
                    "{call}: its recording status callback got a 2xx, and recording {} is not stored",
                    plan.recording_sid
                ));
            }
        }
    }

    // The audio itself, several reads at once.
    let audio = backend.audio.clone();
    let plans: HashMap<usize, &Plan> = calls.iter().map(|c| (c.0.index, &c.0)).collect();
    let mut reads = tokio::task::JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    for (key, index, who) in stored_keys {
        let expected = plans[&index].audio();
        let audio = audio.clone();
        let permit = limit.clone().acquire_owned().await?;
        reads.spawn(async move {
            let got = audio.get(&key).await;
            drop(permit);
            match got {
                Ok(Some(bytes)) if bytes == expected => None,
                Ok(Some(_)) => Some(format!("{who}: {key} holds other audio")),
                Ok(None) => Some(format!("{who}: {key} is missing from the recording store")),
                Err(e) => Some(format!("{who}: {key} cannot be read: {e}")),
            }
        });
    }
    while let Some(read) = reads.join_next().await {
        if let Some(violation) = read? {
            counts.losses += 1;
            counts.violations.push(violation);
        }
    }
    Ok(counts)
}
