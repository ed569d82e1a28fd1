//! One behaviour suite for the store traits, run on every backend.

use crate::backends::{Kind, make, require};
use afureko::domain::api_key::ApiKey;
use afureko::domain::callback::{
    CallbackRecord, Confirmation, NewCallback, Outcome, RecordingState, Status,
};
use afureko::domain::ids::{AccountSid, CallSid, CallbackId, RecordingSid, TenantId};
use afureko::domain::phone::{E164, Region};
use afureko::domain::reason::Reason;
use afureko::domain::tenant::{AuthToken, Tenant, TenantSettings, TwilioCredentials};
use afureko::startup::Backend;
use afureko::store::copy_queue::{CopyJob, Depth, MAX_RECEIVES, Redriven};
use afureko::store::{Inserted, ListQuery, ReceivedQuery, StoreError, modify_callback};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static NEXT: AtomicU32 = AtomicU32::new(1);

fn call_sid() -> CallSid {
    CallSid::parse(&format!("CA{:032x}", NEXT.fetch_add(1, Ordering::Relaxed))).unwrap()
}

fn record(tenant: &str, minutes: i64, number: &str) -> CallbackRecord {
    let number = E164::parse(number, Region::JP).unwrap();
    let received: jiff::Timestamp = "2026-11-25T01:00:00Z".parse().unwrap();
    let received = received + jiff::SignedDuration::from_mins(minutes);
    CallbackRecord::new(
        TenantId::parse(tenant).unwrap(),
        NewCallback {
            call_sid: call_sid(),
            caller_number: Some(number.clone()),
            callback_number: number,
            confirmation: Confirmation::CallerId,
            reason: Reason::Overflow,
            received_at: received,
            due_from: None,
        },
        60,
        received,
    )
}

/// moto checks a condition and writes in separate steps, so concurrent
/// conditional writes can both pass there (DynamoDB, dynalite and SQLite
/// make them atomic): on moto the same rules are checked one at a time.
fn concurrent(kind: Kind) -> bool {
    !matches!(kind, Kind::Moto)
}

/// One test per rule and backend, each on a fresh backend, so a failing
/// rule hides no other. `rule(concurrent)` also gets `concurrent(kind)`.
macro_rules! store_suite {
    ($backend:ident, $kind:ident) => {
        mod $backend {
            store_suite!(@rules $kind;
                idempotent_create_under_duplicates(concurrent),
                one_winner_per_version(concurrent),
                one_open_record_per_number(concurrent),
                attempts_to_the_maximum_fail_the_record(),
                pages_have_no_gaps_or_duplicates(),
                tenants_are_isolated(),
                tenants_round_trip(),
                recent_callbacks_are_newest_first(),
                counts_stop_at_their_cap(),
                a_period_is_read_by_arrival_alone(),
                repeat_callers_are_found(),
                recording_states_persist(),
                api_keys(),
                audio_round_trip(),
                copy_queue_leases_acks_and_dead_letters(),
            );
        }
    };
    (@rules $kind:ident; $($rule:ident($($flag:ident)?)),* $(,)?) => {
        $(crate::backend_test!($kind,
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $rule() {
                let kind = crate::backends::Kind::$kind;
                crate::backends::require(kind);
                let tb = crate::backends::make(kind).await;
                super::$rule(&tb.backend $(, super::$flag(kind))?).await;
            }
        );)*
    };
}

store_suite!(on_the_embedded_store, Embedded);
store_suite!(on_dynamodb_and_s3_in_moto, Moto);
store_suite!(on_dynalite_and_s3s_fs, DynaliteAndS3sFs);

fn tenant(id: &str) -> Tenant {
    Tenant {
        id: TenantId::parse(id).unwrap(),
        twilio: TwilioCredentials {
            account_sid: AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap(),
            auth_token: AuthToken::new("token").unwrap(),
            webhook_shared_key: None,
            previous_auth_token: None,
        },
        settings: TenantSettings::default(),
        created_at: "2026-11-25T00:00:00Z".parse().unwrap(),
    }
}

async fn idempotent_create_under_duplicates(b: &Backend, concurrent: bool) {
    let first = record("acme", 0, "+81312345678");
    let mut results = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let store = b.store.clone();
        let mut retry = first.clone();
        retry.id = CallbackId::generate();
        if concurrent {
            tasks.spawn(async move { store.insert_callback(&retry).await });
        } else {
            results.push(store.insert_callback(&retry).await);
        }
    }
    results.extend(tasks.join_all().await);
    let created = results
        .iter()
        .filter(|r| matches!(r, Ok(Inserted::Created(_))))
        .count();
    assert_eq!(created, 1, "one record per CallSid");
    let ids: HashSet<CallbackId> = results
        .into_iter()
        .map(|r| r.unwrap().into_record().id)
        .collect();
    assert_eq!(ids.len(), 1, "every duplicate sees the one record");
    let found = b
        .store
        .find_callback_by_call_sid(&first.tenant_id, &first.call_sid)
        .await
        .unwrap()
        .unwrap();
    assert!(ids.contains(&found.id));
    let stored = b
        .store
        .recent_callbacks(&first.tenant_id, 10)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "no stray records");
}

async fn one_winner_per_version(b: &Backend, concurrent: bool) {
    let r = b
        .store
        .insert_callback(&record("acme", 1, "+81312340001"))
        .await
        .unwrap()
        .into_record();
    let mut results = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..10 {
        let store = b.store.clone();
        let mut mine = r.clone();
        mine.status = Status::Claimed;
        mine.claimed_by = Some(format!("agent{n}"));
        if concurrent {
            tasks.spawn(async move { store.update_callback(&mine).await });
        } else {
            results.push(store.update_callback(&mine).await);
        }
    }
    results.extend(tasks.join_all().await);
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "a claim is a conditional write");
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| matches!(r, Err(StoreError::Conflict)))
    );
    let stored = b
        .store
        .get_callback(&r.tenant_id, &r.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, r.version + 1);
    assert_eq!(&stored, winners[0], "the winner's write is what is stored");
    let mut ghost = r.clone();
    ghost.id = CallbackId::generate();
    assert!(matches!(
        b.store.update_callback(&ghost).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn one_open_record_per_number(b: &Backend, concurrent: bool) {
    let number = "+81312348888";
    let tenant = TenantId::parse("acme").unwrap();
    let mut results = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    let calls: Vec<CallbackRecord> = (0..8).map(|_| record("acme", 0, number)).collect();
    for r in calls.clone() {
        let store = b.store.clone();
        if concurrent {
            tasks.spawn(async move { (r.call_sid.clone(), store.insert_callback(&r).await) });
        } else {
            results.push((r.call_sid.clone(), store.insert_callback(&r).await));
        }
    }
    results.extend(tasks.join_all().await);
    let created: Vec<&CallbackRecord> = results
        .iter()
        .filter_map(|(_, r)| match r {
            Ok(Inserted::Created(r)) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 1, "one open record per number");
    let open = created[0].clone();
    for (call, result) in &results {
        if call == &open.call_sid {
            continue;
        }
        assert!(
            matches!(result, Ok(Inserted::NumberOpen(r)) if r.id == open.id),
            "{result:?}"
        );
        // Nothing of the losing call is left: it may join the open record.
        assert_eq!(
            b.store
                .find_callback_by_call_sid(&tenant, call)
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(
        b.store.recent_callbacks(&tenant, 20).await.unwrap().len(),
        1
    );

    // An open record cannot take the number either.
    let other = b
        .store
        .insert_callback(&record("acme", 1, "+81312348889"))
        .await
        .unwrap()
        .into_record();
    let taken = modify_callback(b.store.as_ref(), &tenant, &other.id, |r| {
        r.confirm_number(
            open.callback_number.clone(),
            Confirmation::Entered,
            r.updated_at,
        )
    })
    .await;
    assert!(
        matches!(taken, Err(StoreError::OpenNumberTaken)),
        "{taken:?}"
    );
    let stored = b
        .store
        .get_callback(&tenant, &other.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.callback_number.as_str(), "+81312348889");

    // Once the record is closed, the number is free again.
    modify_callback(b.store.as_ref(), &tenant, &open.id, |r| {
        r.status = Status::Completed;
        true
    })
    .await
    .unwrap();
    let moved = modify_callback(b.store.as_ref(), &tenant, &other.id, |r| {
        r.confirm_number(
            open.callback_number.clone(),
            Confirmation::Entered,
            r.updated_at,
        )
    })
    .await
    .unwrap();
    assert_eq!(moved.callback_number, open.callback_number);
    let reread = b
        .store
        .get_callback(&tenant, &other.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reread.callback_number, open.callback_number);
    // ... and its old number is free for a new record.
    assert!(matches!(
        b.store
            .insert_callback(&record("acme", 2, "+81312348889"))
            .await
            .unwrap(),
        Inserted::Created(_)
    ));
}

async fn attempts_to_the_maximum_fail_the_record(b: &Backend) {
    let r = b
        .store
        .insert_callback(&record("acme", 2, "+81312340002"))
        .await
        .unwrap()
        .into_record();
    let rules = TenantSettings {
        max_callback_attempts: 2,
        ..TenantSettings::default()
    }
    .work_rules();
    for (n, outcome) in [Outcome::NoAnswer, Outcome::Busy].into_iter().enumerate() {
        let at: jiff::Timestamp = format!("2026-11-25T0{}:00:00Z", n + 2).parse().unwrap();
        let updated = modify_callback(b.store.as_ref(), &r.tenant_id, &r.id, |rec| {
            rec.claim("ann", at, &rules).unwrap();
            rec.log_attempt(
                afureko::domain::callback::Attempt::logged(at, "ann".into(), outcome, None),
                &rules,
            )
            .is_ok()
        })
        .await
        .unwrap();
        let expected = if n == 0 {
            Status::Pending
        } else {
            Status::Failed
        };
        assert_eq!(updated.status, expected);
        let reread = b
            .store
            .get_callback(&r.tenant_id, &r.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reread.status, expected, "stored, not only returned");
        assert_eq!(reread.attempts.len(), n + 1);
        assert_eq!(reread.claimed_by, None);
    }
    let stored = b
        .store
        .get_callback(&r.tenant_id, &r.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, Status::Failed);
    assert_eq!(stored.attempts.len(), 2);
    let failed = b
        .store
        .list_callbacks(
            &r.tenant_id,
            &ListQuery {
                status: Some(Status::Failed),
                limit: 10,
                after: None,
                ..ListQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(failed.items.iter().any(|x| x.id == r.id));
}

async fn pages_have_no_gaps_or_duplicates(b: &Backend) {
    let tenant = TenantId::parse("pager").unwrap();
    let mut all = HashSet::new();
    for n in 0..230 {
        // Several records share each due time: ties are ordered by id.
        // One open record per number: each record has its own.
        let r = record("pager", n % 41, &format!("+8131234{n:04}"));
        all.insert(b.store.insert_callback(&r).await.unwrap().into_record().id);
    }
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = b
            .store
            .list_callbacks(
                &tenant,
                &ListQuery {
                    status: None,
                    limit: 37,
                    after,
                    ..ListQuery::default()
                },
            )
            .await
            .unwrap();
        pages += 1;
        // Claims in between move records to another status, not out of the list.
        if let Some(first) = page.items.first() {
            let mut claimed = first.clone();
            claimed.status = Status::Claimed;
            b.store.update_callback(&claimed).await.unwrap();
        }
        seen.extend(page.items.iter().map(|r| (r.due_at, r.id.clone())));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 7);
    assert_eq!(seen.len(), 230, "no gaps");
    let ids: HashSet<CallbackId> = seen.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(ids, all, "no duplicates, nothing missing");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "oldest due first, ties by id");
    let pending = b
        .store
        .list_callbacks(
            &tenant,
            &ListQuery {
                status: Some(Status::Pending),
                limit: 500,
                after: None,
                ..ListQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(pending.items.len(), 230 - 7);
    assert!(pending.items.iter().all(|r| r.status == Status::Pending));
    let failed = b
        .store
        .list_callbacks(
            &tenant,
            &ListQuery {
                status: Some(Status::Failed),
                limit: 10,
                after: None,
                ..ListQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(failed.items.is_empty() && failed.next.is_none());
}

async fn tenants_are_isolated(b: &Backend) {
    let mine = b
        .store
        .insert_callback(&record("alpha", 0, "+81312345678"))
        .await
        .unwrap()
        .into_record();
    let beta = TenantId::parse("beta").unwrap();
    assert_eq!(b.store.get_callback(&beta, &mine.id).await.unwrap(), None);
    assert_eq!(
        b.store
            .find_callback_by_call_sid(&beta, &mine.call_sid)
            .await
            .unwrap(),
        None
    );
    assert!(
        b.store
            .recent_callbacks(&beta, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        b.store
            .find_open_callback_by_number(&beta, &mine.callback_number)
            .await
            .unwrap(),
        None
    );
    let listed = b
        .store
        .list_callbacks(
            &beta,
            &ListQuery {
                status: None,
                limit: 10,
                after: None,
                ..ListQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(listed.items.is_empty());
    // The same CallSid under another tenant is another call.
    let mut other = mine.clone();
    other.tenant_id = beta.clone();
    other.id = CallbackId::generate();
    assert!(matches!(
        b.store.insert_callback(&other).await.unwrap(),
        Inserted::Created(_)
    ));
}

async fn tenants_round_trip(b: &Backend) {
    let mut acme = tenant("acme");
    b.store.create_tenant(&acme).await.unwrap();
    assert!(matches!(
        b.store.create_tenant(&acme).await,
        Err(StoreError::AlreadyExists(what)) if what == "tenant acme"
    ));
    acme.settings.max_recording_seconds = 60;
    b.store.update_tenant(&acme).await.unwrap();
    assert_eq!(b.store.get_tenant(&acme.id).await.unwrap(), Some(acme));
    let ghost = tenant("ghost");
    assert!(matches!(
        b.store.update_tenant(&ghost).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(b.store.get_tenant(&ghost.id).await.unwrap(), None);
}

async fn recent_callbacks_are_newest_first(b: &Backend) {
    let mut calls = Vec::new();
    // Open and closed records, arriving in turn.
    for (minutes, number) in [
        (0, "+81312345678"),
        (30, "+81312345670"),
        (60, "+81312345679"),
    ] {
        let mut r = record("acme", minutes, number);
        if minutes == 30 {
            r.status = Status::Completed;
        }
        calls.push(
            b.store
                .insert_callback(&r)
                .await
                .unwrap()
                .into_record()
                .call_sid,
        );
    }
    b.store
        .insert_callback(&record("other", 120, "+81312345678"))
        .await
        .unwrap();
    let acme = TenantId::parse("acme").unwrap();
    let recent: Vec<CallSid> = b
        .store
        .recent_callbacks(&acme, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.call_sid)
        .collect();
    calls.reverse();
    assert_eq!(recent, calls);
}

/// Counts of a status, due before a time, stopping at a cap; another
/// tenant's and another status's records are not counted.
async fn counts_stop_at_their_cap(b: &Backend) {
    let tenant = TenantId::parse("counted").unwrap();
    for n in 0..7 {
        let mut r = record("counted", n * 10, &format!("+8131234{n:04}"));
        if n == 6 {
            r.status = Status::Claimed;
        }
        b.store.insert_callback(&r).await.unwrap();
    }
    b.store
        .insert_callback(&record("other", 0, "+81312349999"))
        .await
        .unwrap();
    let count = |status, due_before, cap| {
        let store = b.store.clone();
        let tenant = tenant.clone();
        async move {
            store
                .count_callbacks(&tenant, status, due_before, cap)
                .await
                .unwrap()
        }
    };
    assert_eq!(count(Status::Pending, None, 100).await, 6);
    assert_eq!(count(Status::Pending, None, 4).await, 4);
    assert_eq!(count(Status::Claimed, None, 100).await, 1);
    assert_eq!(count(Status::Failed, None, 100).await, 0);
    // Due 60 minutes after each arrival: two of them before 01:00 + 80 min.
    let before: jiff::Timestamp = "2026-11-25T02:20:00Z".parse().unwrap();
    let before = before.as_millisecond();
    assert_eq!(count(Status::Pending, Some(before), 100).await, 2);
    // A record due exactly then is not due before it.
    assert_eq!(count(Status::Pending, Some(before + 1), 100).await, 3);
}

/// `[from, until)` by arrival, oldest first (ties by id), a page at a
/// time; other periods, other tenants and expired records left out.
async fn a_period_is_read_by_arrival_alone(b: &Backend) {
    let acme = TenantId::parse("acme").unwrap();
    let mut inside = Vec::new();
    for (minutes, number) in [
        (-1, "+81312340001"),
        (0, "+81312340002"),
        (10, "+81312340003"),
        (10, "+81312340004"),
        (30, "+81312340005"),
        (60, "+81312340006"),
    ] {
        let r = b
            .store
            .insert_callback(&record("acme", minutes, number))
            .await
            .unwrap()
            .into_record();
        if (0..60).contains(&minutes) {
            inside.push(r);
        }
    }
    b.store
        .insert_callback(&record("other", 20, "+81312340007"))
        .await
        .unwrap();
    let from: jiff::Timestamp = "2026-11-25T01:00:00Z".parse().unwrap();
    let until = from + jiff::SignedDuration::from_hours(1);
    assert_eq!(b.store.count_received(&acme, from, until).await.unwrap(), 4);
    // Closed and past its retention: gone for every reader.
    let mut expired = record("acme", 20, "+81312340008");
    expired.status = Status::Completed;
    expired.expires_at = Some("2026-11-24T00:00:00Z".parse().unwrap());
    b.store.insert_callback(&expired).await.unwrap();
    inside.sort_by_key(|r| (r.received_at, r.id.to_string()));
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = b
            .store
            .received_callbacks(
                &acme,
                &ReceivedQuery {
                    from,
                    until,
                    limit: 3,
                    after,
                },
            )
            .await
            .unwrap();
        seen.extend(page.items.into_iter().map(|r| r.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let want: Vec<CallbackId> = inside.into_iter().map(|r| r.id).collect();
    assert_eq!(seen, want);
}

async fn repeat_callers_are_found(b: &Backend) {
    let tenant = TenantId::parse("repeat").unwrap();
    let first = b
        .store
        .insert_callback(&record("repeat", 0, "+81312347777"))
        .await
        .unwrap()
        .into_record();
    let open = b
        .store
        .find_open_callback_by_number(&tenant, &first.callback_number)
        .await
        .unwrap();
    assert_eq!(open.map(|r| r.id), Some(first.id.clone()));
    let later = call_sid();
    let joined = modify_callback(b.store.as_ref(), &tenant, &first.id, |r| {
        r.attach_call(later.clone(), r.received_at, r.updated_at)
    })
    .await
    .unwrap();
    assert_eq!(joined.repeat_calls.len(), 1);
    assert_eq!(joined.repeat_calls[0].call_sid, later);
    assert_eq!(joined.repeat_calls[0].at, Some(first.received_at));
    let stored = b
        .store
        .get_callback(&tenant, &first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.repeat_calls, joined.repeat_calls, "re-read");
    assert_eq!(stored.version, joined.version);
    let found = b
        .store
        .find_callback_by_call_sid(&tenant, &later)
        .await
        .unwrap();
    assert_eq!(found.map(|r| r.id), Some(first.id.clone()));
    // The joined call cannot also start a record of its own.
    let mut own = record("repeat", 1, "+81312347777");
    own.call_sid = later.clone();
    assert!(matches!(
        b.store.insert_callback(&own).await.unwrap(),
        Inserted::Existing(r) if r.id == first.id
    ));
    let recent = b.store.recent_callbacks(&tenant, 10).await.unwrap();
    assert_eq!(recent.len(), 1);
    modify_callback(b.store.as_ref(), &tenant, &first.id, |r| {
        r.status = Status::Completed;
        true
    })
    .await
    .unwrap();
    assert_eq!(
        b.store
            .find_open_callback_by_number(&tenant, &first.callback_number)
            .await
            .unwrap(),
        None
    );
}

async fn recording_states_persist(b: &Backend) {
    let r = b
        .store
        .insert_callback(&record("rec", 0, "+81312346666"))
        .await
        .unwrap()
        .into_record();
    let sid =
        RecordingSid::parse(&format!("RE{:032x}", NEXT.fetch_add(1, Ordering::Relaxed))).unwrap();
    let call = r.call_sid.clone();
    modify_callback(b.store.as_ref(), &r.tenant_id, &r.id, |x| {
        x.recording_completed(
            afureko::domain::callback::RecordingKind::Request,
            call.clone(),
            sid.clone(),
            "https://api.twilio.com/r".into(),
            Some(4),
            x.updated_at,
        )
    })
    .await
    .unwrap();
    modify_callback(b.store.as_ref(), &r.tenant_id, &r.id, |x| {
        x.recording_stored(&sid, "recordings/k.wav".into(), false, x.updated_at)
    })
    .await
    .unwrap();
    let stored = b
        .store
        .get_callback(&r.tenant_id, &r.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.recordings[0].state, RecordingState::Stored);
    assert_eq!(
        stored.recordings[0].storage_key.as_deref(),
        Some("recordings/k.wav")
    );
}

async fn api_keys(b: &Backend) {
    let tenant = TenantId::parse("keys").unwrap();
    let now: jiff::Timestamp = "2026-11-25T00:00:00Z".parse().unwrap();
    let made = ApiKey::generate(tenant.clone(), Some("desk".into()), now);
    b.store.create_api_key(&made.key).await.unwrap();
    assert_eq!(
        b.store.find_api_key(&made.key.hash).await.unwrap(),
        Some(made.key.clone())
    );
    assert_eq!(b.store.find_api_key("nope").await.unwrap(), None);
    assert_eq!(
        b.store.list_api_keys(&tenant).await.unwrap(),
        vec![made.key.clone()]
    );
    let other = TenantId::parse("other-keys").unwrap();
    assert!(matches!(
        b.store.revoke_api_key(&other, &made.key.id, now).await,
        Err(StoreError::NotFound(_))
    ));
    let revoked = b
        .store
        .revoke_api_key(&tenant, &made.key.id, now)
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(now));
    assert!(
        !b.store
            .find_api_key(&made.key.hash)
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );
    assert_eq!(b.store.list_api_keys(&tenant).await.unwrap().len(), 1);
    assert!(b.store.list_api_keys(&other).await.unwrap().is_empty());
}

async fn audio_round_trip(b: &Backend) {
    let key = "recordings/acme/CA0/RE0.wav";
    assert_eq!(b.audio.get(key).await.unwrap(), None);
    crate::helpers::put_bytes(b.audio.as_ref(), key, &[1, 2, 3, 4])
        .await
        .unwrap();
    match b.audio.access(key).await.unwrap() {
        Some(afureko::store::RecordingAccess::File { path, length }) => {
            assert_eq!(length, 4);
            assert_eq!(std::fs::read(path).unwrap(), [1, 2, 3, 4]);
        }
        Some(afureko::store::RecordingAccess::Redirect(url)) => {
            assert!(url.contains("X-Amz-Signature="), "{url}");
        }
        None => panic!("the audio is stored"),
    }
    assert_eq!(b.audio.get(key).await.unwrap(), Some(vec![1, 2, 3, 4]));
}

fn job(n: u32) -> CopyJob {
    CopyJob {
        tenant: TenantId::parse("queue").unwrap(),
        callback: CallbackId::parse(&format!("01938f2e-0000-7000-8000-{n:012}")).unwrap(),
        recording: RecordingSid::parse(&format!("RE{:032x}", NEXT.fetch_add(1, Ordering::Relaxed)))
            .unwrap(),
    }
}

/// The queue: a received job is leased (no other receive sees it), an
/// acked one is gone, a failed one comes back with its receives counted,
/// and after `MAX_RECEIVES` it is dead until a re-drive.
async fn copy_queue_leases_acks_and_dead_letters(b: &Backend) {
    let q = b.queue.as_ref();
    let now: jiff::Timestamp = "2026-11-25T01:00:00Z".parse().unwrap();
    let (first, second) = (job(1), job(2));
    q.send(&first, now).await.unwrap();
    q.send(&second, now).await.unwrap();
    let got = q.receive(10, Duration::ZERO, now).await.unwrap();
    let jobs: HashSet<_> = got.iter().map(|d| d.job.clone().unwrap()).collect();
    assert_eq!(jobs, HashSet::from([first.clone(), second.clone()]));
    assert!(got.iter().all(|d| d.receives == 1));
    assert!(
        q.receive(10, Duration::ZERO, now).await.unwrap().is_empty(),
        "leased"
    );
    assert_eq!(
        q.depth(now).await.unwrap(),
        Depth {
            waiting: 0,
            in_flight: 2,
            dead: 0
        }
    );

    let (done, again) = if got[0].job.as_ref() == Some(&first) {
        (&got[0], &got[1])
    } else {
        (&got[1], &got[0])
    };
    q.ack(done).await.unwrap();
    q.fail(again, Duration::ZERO, now).await.unwrap();
    let mut receives = 1;
    loop {
        let got = q.receive(10, Duration::ZERO, now).await.unwrap();
        if got.is_empty() {
            break;
        }
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].job.as_ref(), Some(&second));
        receives += 1;
        assert_eq!(got[0].receives, receives);
        q.fail(&got[0], Duration::ZERO, now).await.unwrap();
    }
    assert_eq!(
        receives, 8,
        "received 8 times (docs/operations.md), then dead"
    );
    assert_eq!(MAX_RECEIVES, 8, "as template.yaml's maxReceiveCount");
    assert_eq!(
        q.depth(now).await.unwrap(),
        Depth {
            waiting: 0,
            in_flight: 0,
            dead: 1
        }
    );

    let redriven = q.redrive(100, now).await.unwrap();
    assert_eq!(
        redriven,
        Redriven {
            requeued: 1,
            unreadable: 0
        }
    );
    let got = q.receive(10, Duration::ZERO, now).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].job.as_ref(), Some(&second));
    assert_eq!(got[0].receives, 1, "a re-driven job has its tries again");
    q.ack(&got[0]).await.unwrap();
    assert_eq!(q.depth(now).await.unwrap(), Depth::default());
}

/// `afureko aws init` twice: the second run finds everything in place.
async fn init_twice(kind: Kind) {
    let tb = make(kind).await;
    let (s3, name) = tb.s3.clone().expect("an AWS backend");
    let sdk_dynamo = match kind {
        Kind::Moto => std::env::var("AFUREKO_TEST_MOTO_URL"),
        _ => std::env::var("AFUREKO_TEST_DYNALITE_URL"),
    }
    .expect("local server");
    let dynamo = crate::backends::dynamo_client(&sdk_dynamo);
    assert_eq!(
        afureko::store::dynamo::create_table(&dynamo, &name)
            .await
            .unwrap(),
        "exists"
    );
    assert_eq!(
        afureko::store::s3::create_bucket(&s3, &name).await.unwrap(),
        "exists"
    );
}

#[tokio::test]
#[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
async fn aws_init_is_idempotent_on_moto() {
    require(Kind::Moto);
    init_twice(Kind::Moto).await;
}

#[tokio::test]
#[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
async fn aws_init_is_idempotent_on_dynalite_and_s3s_fs() {
    require(Kind::DynaliteAndS3sFs);
    init_twice(Kind::DynaliteAndS3sFs).await;
}
