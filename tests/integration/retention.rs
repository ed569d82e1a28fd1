//! Retention (closed records and their recordings expire) and erasure on
//! request, on every backend.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::calls::retention::{Purged, purge_expired, removed_from_table};
use afureko::domain::agent::Role;
use afureko::domain::callback::CallbackRecord;
use afureko::domain::tenant::TenantSettings;
use afureko::store::ListQuery;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

fn settings(days: u32) -> TenantSettings {
    TenantSettings {
        retention_days: days,
        ..TenantSettings::default()
    }
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Every way a record can be read, by the API and the store: what each
/// found of `record`.
async fn reads(app: &TestApp, key: &str, record: &CallbackRecord) -> Vec<(&'static str, bool)> {
    let id = record.id.as_str();
    let store = &app.backend.store;
    let listed = |items: &[CallbackRecord]| items.iter().any(|r| r.id == record.id);
    let api_list = app.api("GET", "/api/v1/callbacks", key, None).await;
    let completed = app
        .api("GET", "/api/v1/callbacks?status=completed", key, None)
        .await;
    let in_page = |reply: &ApiReply| {
        reply.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item["id"] == id)
    };
    let page = store
        .list_callbacks(
            &app.tenant.id,
            &ListQuery {
                status: None,
                limit: 100,
                after: None,
                ..ListQuery::default()
            },
        )
        .await
        .unwrap();
    vec![
        (
            "GET one",
            app.api("GET", &format!("/api/v1/callbacks/{id}"), key, None)
                .await
                .status
                == 200,
        ),
        ("GET list", in_page(&api_list)),
        ("GET list completed", in_page(&completed)),
        (
            "GET recording",
            app.fetch_recording(key, id, None).await.status == 200,
        ),
        (
            "get_callback",
            store
                .get_callback(&app.tenant.id, &record.id)
                .await
                .unwrap()
                .is_some(),
        ),
        (
            "by CallSid",
            app.record(record.call_sid.as_str()).await.is_some(),
        ),
        ("recent", listed(&app.records().await)),
        ("list", listed(&page.items)),
    ]
}

async fn closed_records_past_their_retention_are_gone_from_every_read(kind: Kind) {
    let app = spawn_on(kind, settings(1)).await;
    let key = app.api_key().await;
    let (record, audio) = app.play_call(CALLER).await;
    let open = app.seed(TENANT, 5).await;
    let id = record.id.as_str();
    let audio_key = record.latest_stored_key().unwrap().to_owned();

    app.clock.set(at("2026-11-25T02:00:00Z"));
    let mut request = api_request(
        "POST",
        &format!("/api/v1/callbacks/{id}/complete"),
        &key,
        Some(json!({"agent": "ann", "note": "answered by mail"})),
    );
    request
        .headers_mut()
        .insert("idempotency-key", "close-1".parse().unwrap());
    let completed = app.send(request).await;
    assert_eq!(completed.status, 200);
    assert_eq!(completed.json()["expires_at"], "2026-11-26T02:00:00Z");
    assert_eq!(completed.json()["status"], "completed");

    app.clock.set(at("2026-11-26T01:59:59.999Z"));
    let missed: Vec<_> = reads(&app, &key, &record)
        .await
        .into_iter()
        .filter(|(_, found)| !found)
        .collect();
    assert_eq!(missed, [], "kept until the last millisecond");

    app.clock.set(at("2026-11-26T02:00:00Z"));
    let found: Vec<_> = reads(&app, &key, &record)
        .await
        .into_iter()
        .filter(|(_, found)| *found)
        .collect();
    assert_eq!(found, [], "expired: gone from every read");
    let gone = app
        .api("GET", &format!("/api/v1/callbacks/{id}"), &key, None)
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.json()["error"]["message"],
        format!("no callback {id:?}")
    );
    // The completion's kept answer holds the record: replaying it is 404 too.
    let mut replay = api_request(
        "POST",
        &format!("/api/v1/callbacks/{id}/complete"),
        &key,
        Some(json!({"agent": "ann", "note": "answered by mail"})),
    );
    replay
        .headers_mut()
        .insert("idempotency-key", "close-1".parse().unwrap());
    assert_eq!(app.send(replay).await.status, 404);
    // Open records never expire.
    assert!(
        app.backend
            .store
            .get_callback(&app.tenant.id, &open.id)
            .await
            .unwrap()
            .is_some()
    );
    // Not deleted yet (moto never runs the TTL, DynamoDB runs it late): the
    // reads above filtered it out.
    assert_eq!(
        app.backend.audio.get(&audio_key).await.unwrap(),
        Some(audio)
    );

    let store = app.backend.store.as_ref();
    let audio_store = app.backend.audio.as_ref();
    match kind {
        Kind::Embedded => {
            let purged = purge_expired(store, audio_store, 100).await.unwrap();
            assert_eq!(
                purged,
                Purged {
                    records: 1,
                    recordings: 1
                }
            );
            assert_eq!(
                purge_expired(store, audio_store, 100).await.unwrap(),
                Purged::default()
            );
        }
        Kind::Moto | Kind::DynaliteAndS3sFs => {
            // The table's TTL deletes it (here: by hand, as TTL would) ...
            assert_eq!(
                purge_expired(store, audio_store, 100).await.unwrap(),
                Purged::default(),
                "on DynamoDB the TTL deletes, not the sweeper"
            );
            let removed = store
                .delete_callback(&app.tenant.id, &record.id)
                .await
                .unwrap()
                .expect("the item was still in the table");
            // ... and its stream brings the removed item to the sweeper.
            let event = json!({"Records": [{
                "eventSource": "aws:dynamodb",
                "eventName": "REMOVE",
                "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
                "dynamodb": {"OldImage": {
                    "pk": {"S": format!("TENANT#{TENANT}#CB#{id}")},
                    "sk": {"S": "CB"},
                    "doc": {"S": serde_json::to_string(&removed).unwrap()},
                }},
            }]});
            let purged = removed_from_table(store, audio_store, &event)
                .await
                .unwrap();
            assert_eq!(
                purged,
                Purged {
                    records: 1,
                    recordings: 1
                }
            );
        }
    }
    assert_eq!(app.backend.audio.get(&audio_key).await.unwrap(), None);
    assert_eq!(
        store
            .delete_callback(&app.tenant.id, &record.id)
            .await
            .unwrap(),
        None,
        "the record itself is deleted"
    );
    // Going back in time does not bring it back.
    app.clock.set(at(NOW));
    assert_eq!(app.record(record.call_sid.as_str()).await, None);
}

async fn a_failed_record_expires_and_the_sweep_leaves_the_others(kind: Kind) {
    let app = spawn_on(
        kind,
        TenantSettings {
            max_callback_attempts: 1,
            ..settings(3)
        },
    )
    .await;
    let key = app.api_key().await;
    let failed = app.seed(TENANT, 0).await;
    let completed_later = app.seed(TENANT, 1).await;
    let attempt = json!({"agent": "ann", "outcome": "no_answer"});
    let reply = app.attempt(&key, failed.id.as_str(), attempt).await;
    assert_eq!(reply.json()["status"], "failed");
    assert_eq!(reply.json()["expires_at"], "2026-11-28T01:00:00Z");
    app.clock.set(at("2026-11-26T01:00:00Z"));
    let reply = app
        .complete(&key, completed_later.id.as_str(), json!({"agent": "ann"}))
        .await;
    assert_eq!(reply.json()["expires_at"], "2026-11-29T01:00:00Z");

    app.clock.set(at("2026-11-28T01:00:00Z"));
    let left: Vec<String> = app
        .records()
        .await
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(left, [completed_later.id.to_string()]);
    let purged = purge_expired(app.backend.store.as_ref(), app.backend.audio.as_ref(), 100)
        .await
        .unwrap();
    let expected = match kind {
        Kind::Embedded => 1,
        Kind::Moto | Kind::DynaliteAndS3sFs => 0,
    };
    assert_eq!(purged.records, expected);
    assert!(
        app.backend
            .store
            .get_callback(&app.tenant.id, &completed_later.id)
            .await
            .unwrap()
            .is_some()
    );
}

async fn erasure_removes_the_record_and_its_recordings_and_is_audited(kind: Kind) {
    let app = spawn_on(
        kind,
        TenantSettings {
            // Twilio keeps its copy: the erasure must delete it too.
            delete_twilio_recording: false,
            ..TenantSettings::default()
        },
    )
    .await;
    let key = app.api_key().await;
    let (record, _) = app.play_call(CALLER).await;
    let id = record.id.as_str();
    let audio_key = record.latest_stored_key().unwrap().to_owned();
    let rec_sid = record.recordings[0].sid.to_string();
    assert_eq!(app.twilio.deleted(), Vec::<String>::new());
    let note = json!({"agent": "ann", "text": "wants a refund for order 4711"});
    let noted = app
        .api(
            "POST",
            &format!("/api/v1/callbacks/{id}/notes"),
            &key,
            Some(note),
        )
        .await;
    assert_eq!(noted.status, 200);

    app.add_agent(TENANT, "root", Role::Admin).await;
    app.add_agent(TENANT, "sup", Role::Supervisor).await;
    let path = format!("/api/v1/callbacks/{id}");
    let by_key = app.api("DELETE", &path, &key, None).await;
    assert_eq!(by_key.status, 403);
    assert_eq!(
        by_key.json(),
        json!({"error": {"code": "forbidden", "message": "erasing a record needs an admin signed in"}})
    );
    let sup = app.browser("sup").await;
    assert_eq!(app.browse(&sup, "DELETE", &path, None).await.status, 403);
    let root = app.browser("root").await;
    let no_csrf = app.as_browser(&root, "DELETE", &path, None, false).await;
    assert_eq!(no_csrf.status, 403);
    let unknown = "0193c0de-0000-7000-8000-000000000000";
    let missing = app
        .browse(
            &root,
            "DELETE",
            &format!("/api/v1/callbacks/{unknown}"),
            None,
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json(),
        json!({"error": {"code": "not_found", "message": format!("no callback {unknown:?}")}})
    );
    assert!(
        app.record(record.call_sid.as_str()).await.is_some(),
        "refusals erase nothing"
    );

    app.clock.set(at("2026-11-25T03:00:00Z"));
    let erased = app.browse(&root, "DELETE", &path, None).await;
    assert_eq!(erased.status, 204);
    assert!(erased.bytes.is_empty());
    assert_eq!(app.browse(&root, "DELETE", &path, None).await.status, 404);
    assert_eq!(app.api("GET", &path, &key, None).await.status, 404);
    assert_eq!(app.record(record.call_sid.as_str()).await, None);
    assert_eq!(app.backend.audio.get(&audio_key).await.unwrap(), None);
    assert_eq!(app.twilio.deleted(), [rec_sid]);
    assert_eq!(
        app.backend
            .store
            .delete_callback(&app.tenant.id, &record.id)
            .await
            .unwrap(),
        None,
        "nothing left in the store"
    );

    let trail = app
        .backend
        .audit
        .list_audit(&app.tenant.id, 10)
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    let mut entry = serde_json::to_value(&trail[0]).unwrap();
    assert!(entry["id"].as_str().unwrap().len() == 36);
    entry["id"] = json!("(id)");
    assert_eq!(
        entry,
        json!({
            "id": "(id)",
            "tenant_id": TENANT,
            "at": "2026-11-25T03:00:00Z",
            "actor": "agent:root",
            "action": "callback_erased",
            "subject": id,
            "counts": {
                "attempts": 0,
                "notes": 1,
                "recordings": 1,
                "twilio_copies_deleted": 1,
                "twilio_copies_not_deleted": 0,
            },
        })
    );
    let text = entry.to_string();
    assert!(
        !text.contains("4711") && !text.contains("12345678"),
        "{text}"
    );
}

async fn another_tenants_admin_cannot_erase(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let (record, _) = app.play_call(CALLER).await;
    app.add_tenant("other").await;
    app.add_agent("other", "root", Role::Admin).await;
    let reply = app.browser_in("other", "root").await;
    let path = format!("/api/v1/callbacks/{}", record.id);
    assert_eq!(app.browse(&reply, "DELETE", &path, None).await.status, 404);
    assert!(app.record(record.call_sid.as_str()).await.is_some());
    assert_eq!(
        app.backend
            .audit
            .list_audit(&app.tenant.id, 10)
            .await
            .unwrap(),
        []
    );
}

crate::on_every_backend!(
    closed_records_past_their_retention_are_gone_from_every_read,
    a_failed_record_expires_and_the_sweep_leaves_the_others,
    erasure_removes_the_record_and_its_recordings_and_is_audited,
    another_tenants_admin_cannot_erase,
);

#[test]
fn a_day_is_the_shortest_retention() {
    assert_eq!(
        settings(0).validate().unwrap_err().to_string(),
        "retention_days must be between 1 and 3650, got 0"
    );
    assert_eq!(
        SignedDuration::from_hours(24),
        settings(1).work_rules().retention
    );
}

/// `afureko aws init` makes the stream the sweeper reads (as the template).
#[tokio::test]
#[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
async fn the_table_streams_the_old_image_of_removed_items() {
    crate::backends::require(Kind::Moto);
    let url = std::env::var("AFUREKO_TEST_MOTO_URL").unwrap();
    let client = crate::backends::dynamo_client(&url);
    let name = format!("afureko-{}", uuid::Uuid::new_v4().simple());
    afureko::store::dynamo::create_table(&client, &name)
        .await
        .unwrap();
    let table = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let stream = table.stream_specification.unwrap();
    assert!(stream.stream_enabled);
    assert_eq!(
        stream.stream_view_type,
        Some(aws_sdk_dynamodb::types::StreamViewType::OldImage)
    );
}
