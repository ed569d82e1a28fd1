//! Duplicate webhooks delivered at the same moment, released together
//! behind a barrier (`RacingStore`) and sent through the real Router.
//!
//! They run on the embedded store and on dynalite + s3s-fs only: moto
//! checks a condition and writes in separate steps, so two concurrent
//! conditional writes can both pass there (docs/dynamodb.md), which is a
//! flaw of the stand-in, not of the code under test.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::calls::recordings::{RecordingCopier, Worked};
use afureko::domain::callback::{RecordingState, Status};
use afureko::domain::ids::RecordingSid;
use afureko::domain::prompts::{Language, PromptKey};
use afureko::domain::tenant::TenantSettings;
use afureko::store::Store;
use afureko::store::copy_queue::CopyJob;
use afureko::twilio::api::{MediaHosts, TwilioApi};
use afureko::twilio::sim::{Sim, tone_wav};
use std::collections::HashSet;
use std::sync::Arc;

/// A Twilio stand-in whose requests go through a store holding `race`.
fn racing_sim(app: &TestApp, race: Race, n: usize) -> Arc<Sim> {
    let mut state = app.state.clone();
    state.store = Arc::new(RacingStore::holding(app.state.store.clone(), race, n));
    Arc::new(Sim::new(
        afureko::http::app(state),
        PUBLIC_URL,
        ACCOUNT_SID,
        AUTH_TOKEN,
    ))
}

async fn one_completed_recording_delivered_at_once_is_copied_once(kind: Kind) {
    const DELIVERIES: usize = 4;
    let app = spawn_on(kind, wav_settings()).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let audio = tone_wav(1.0);
    let rec_url = app.twilio.add_recording(&rec_sid, audio.clone());
    let sim = racing_sim(&app, Race::CallbackReads, DELIVERIES);
    let mut deliveries = tokio::task::JoinSet::new();
    for _ in 0..DELIVERIES {
        let (sim, sid, doc, rec_sid, rec_url) = (
            sim.clone(),
            sid.clone(),
            doc.clone(),
            rec_sid.clone(),
            rec_url.clone(),
        );
        deliveries.spawn(async move {
            sim.call(&sid, CALLER, COMPANY)
                .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
                .await
                .unwrap()
                .status
        });
    }
    assert_eq!(deliveries.join_all().await, [204; DELIVERIES]);
    assert_eq!(
        app.twilio.downloads(),
        0,
        "the callbacks only queue the copy"
    );

    // Copiers working the same job at once (a queue delivering it twice):
    // all read the pending recording, then all make the read that decides
    // who copies (the claim's read-modify-write) before any writes; one
    // conditional write wins. A lost update would show as two copies.
    let record = app.record(&sid).await.unwrap();
    let job = CopyJob {
        tenant: app.tenant.id.clone(),
        callback: record.id.clone(),
        recording: RecordingSid::parse(&rec_sid).unwrap(),
    };
    let store: Arc<dyn Store> =
        Arc::new(RacingStore::new(app.state.store.clone(), DELIVERIES).rounds(2));
    let copier = Arc::new(RecordingCopier::new(
        store,
        app.backend.audio.clone(),
        app.backend.queue.clone(),
        TwilioApi::new(&app.twilio.base_url(), MediaHosts::default()).unwrap(),
        app.clock.clone(),
    ));
    let mut copiers = tokio::task::JoinSet::new();
    for _ in 0..DELIVERIES {
        let (copier, job) = (copier.clone(), job.clone());
        copiers.spawn(async move { copier.handle(&job).await.unwrap() });
    }
    let mut worked = copiers.join_all().await;
    worked.sort_by_key(|w| *w != Worked::Stored);
    assert_eq!(worked[0], Worked::Stored);
    assert!(worked[1..].iter().all(|w| *w == Worked::Held), "{worked:?}");
    assert_eq!(app.twilio.downloads(), 1, "one download");
    assert_eq!(app.twilio.deleted(), [rec_sid], "one delete");
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings.len(), 1);
    assert_eq!(record.recordings[0].state, RecordingState::Stored);
    assert_eq!(record.recordings[0].copying_until, None);
    let key = record.recordings[0].storage_key.clone().unwrap();
    assert_eq!(app.backend.audio.get(&key).await.unwrap(), Some(audio));
}

/// All the calls look up the number before any inserts: the insert's own
/// guard must refuse all but one (on DynamoDB this composition is the
/// production path; on SQLite it forces `insert_callback`'s guard).
async fn first_calls_from_one_number_at_once_leave_one_open_record(kind: Kind) {
    first_calls_at_once(kind, Race::OpenNumberLookups).await;
}

/// All the calls enter the store's own first-call step together (SQLite's
/// one transaction and its unique index, DynamoDB's guard items).
async fn first_calls_through_the_real_store_leave_one_open_record(kind: Kind) {
    first_calls_at_once(kind, Race::OpenForCall).await;
}

async fn first_calls_at_once(kind: Kind, race: Race) {
    const CALLS: usize = 4;
    let app = spawn_on(kind, TenantSettings::for_language(Language::EnUs)).await;
    let sim = racing_sim(&app, race, CALLS);
    let sids: Vec<String> = (0..CALLS).map(|_| app.call_sid()).collect();
    let mut calls = tokio::task::JoinSet::new();
    for sid in &sids {
        let (sim, sid, url) = (sim.clone(), sid.clone(), app.voice_url());
        calls.spawn(async move {
            let reply = sim
                .call(&sid, CALLER, COMPANY)
                .incoming(&url)
                .await
                .unwrap();
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.doc().unwrap()
        });
    }
    let docs = calls.join_all().await;
    let records = app.records().await;
    assert_eq!(records.len(), 1, "one record for all the calls");
    let record = &records[0];
    assert_eq!(record.status, Status::Pending);
    assert_eq!(record.callback_number.as_str(), CALLER);
    let all: HashSet<&str> = std::iter::once(record.call_sid.as_str())
        .chain(record.repeat_call_sids().map(|c| c.as_str()))
        .collect();
    assert_eq!(all, sids.iter().map(String::as_str).collect());
    // The first call is offered its caller ID; the others hear that the
    // earlier request is kept, and may record an addition.
    let repeat = PromptKey::RepeatCaller
        .default_text(Language::EnUs)
        .replace("{number}", "0 3, 1 2 3 4, 5 6 7 8");
    let repeats = docs
        .iter()
        .filter(|doc| doc.said().contains(&repeat))
        .count();
    assert_eq!(repeats, CALLS - 1);
    for doc in docs.iter().filter(|doc| doc.said().contains(&repeat)) {
        assert!(doc.record().is_some(), "{:?}", doc.verb_names());
    }
}

/// Agents claiming one record at once, through the agents' API.
async fn concurrent_claims_have_exactly_one_winner(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let id = app.seed(TENANT, 0).await.id.to_string();
    const AGENTS: usize = 24;
    let mut racing = app.state.clone();
    racing.store = Arc::new(RacingStore::new(app.state.store.clone(), AGENTS));
    let router = afureko::http::app(racing);
    let mut claims = tokio::task::JoinSet::new();
    for n in 0..AGENTS {
        let request = api_request(
            "POST",
            &format!("/api/v1/callbacks/{id}/claim"),
            &key,
            Some(serde_json::json!({"agent": format!("agent{n}")})),
        );
        claims.spawn(send_to(router.clone(), request));
    }
    let replies = claims.join_all().await;
    let winners: Vec<&ApiReply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1);
    let holder = winners[0].json()["claimed_by"].as_str().unwrap().to_owned();
    for loser in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(loser.status, 409);
        assert_eq!(loser.error_code(), "conflict");
        assert_eq!(
            loser.json()["error"]["message"],
            format!("claimed by {holder}")
        );
    }
    let stored = app
        .api("GET", &format!("/api/v1/callbacks/{id}"), &key, None)
        .await;
    assert_eq!(stored.json()["claimed_by"], holder);
}

/// ada and bob, the tenant's two admins, each take the other's admin
/// role away (`change`) at the same moment, both checked as admins first.
/// At most one change passes; the other is 409, and an admin remains.
async fn two_admins_at_once_cannot_remove_each_other(kind: Kind, change: serde_json::Value) {
    use crate::sessions::browser_request_of;
    use afureko::domain::agent::Role;
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    app.add_agent(TENANT, "bob", Role::Admin).await;
    let (ada, bob) = (app.browser("ada").await, app.browser("bob").await);
    let mut state = app.state.clone();
    state.agents = Arc::new(RacingAgents::new(app.state.agents.clone(), 2));
    let router = afureko::http::app(state);
    let requests = [(&ada, "bob"), (&bob, "ada")].map(|(by, target)| {
        let path = format!("/api/v1/agents/{target}");
        let request = browser_request_of(by, "PATCH", &path, Some(change.clone()), true, None);
        tokio::spawn(send_to(router.clone(), request))
    });
    let mut statuses = Vec::new();
    for request in requests {
        let reply = request.await.unwrap();
        assert!(matches!(reply.status, 200 | 409), "{:?}", reply.json());
        statuses.push(reply.status);
    }
    assert!(
        statuses.iter().filter(|s| **s == 200).count() <= 1,
        "{statuses:?}"
    );
    let admins = app
        .backend
        .agents
        .list_agents(&app.tenant.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.role == Role::Admin && a.is_active())
        .count();
    assert!(admins >= 1, "{statuses:?}: no admin left");
}

async fn two_admins_at_once_cannot_demote_each_other(kind: Kind) {
    two_admins_at_once_cannot_remove_each_other(kind, serde_json::json!({"role": "agent"})).await;
}

async fn two_admins_at_once_cannot_disable_each_other(kind: Kind) {
    two_admins_at_once_cannot_remove_each_other(kind, serde_json::json!({"active": false})).await;
}

crate::on_atomic_backends!(
    two_admins_at_once_cannot_demote_each_other,
    two_admins_at_once_cannot_disable_each_other,
    concurrent_claims_have_exactly_one_winner,
    one_completed_recording_delivered_at_once_is_copied_once,
    first_calls_from_one_number_at_once_leave_one_open_record,
    first_calls_through_the_real_store_leave_one_open_record,
);
