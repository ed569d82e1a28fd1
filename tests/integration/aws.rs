//! The whole call on the AWS backends: the recording lands in S3, the API
//! redirects to a presigned URL with the same bytes, and an S3 outage loses
//! nothing.

use crate::backends::{Kind, make, make_with, require};
use crate::helpers::*;
use afureko::calls::recordings::WorkReport;
use afureko::domain::callback::RecordingState;
use afureko::domain::tenant::TenantSettings;
use afureko::twilio::sim::tone_wav;

async fn recording_is_presigned_from_s3(kind: Kind) {
    let app = spawn_app_on(make(kind).await, TenantSettings::default()).await;
    let key = app.api_key().await;
    let (record, audio) = app.play_call(CALLER).await;
    assert_eq!(record.recordings[0].state, RecordingState::Stored);
    let s3_key = record.recordings[0].storage_key.clone().unwrap();
    assert_eq!(
        app.backend.audio.get(&s3_key).await.unwrap(),
        Some(audio.clone())
    );

    let reply = app
        .api(
            "GET",
            &format!("/api/v1/callbacks/{}/recording", record.id),
            &key,
            None,
        )
        .await;
    assert_eq!(reply.status, 302);
    let location = reply.headers["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    assert!(
        location.contains("X-Amz-Signature="),
        "presigned: {location}"
    );
    // Valid for 5 minutes (docs/operations.md).
    let query = location.split_once('?').unwrap().1;
    assert!(
        query.split('&').any(|pair| pair == "X-Amz-Expires=300"),
        "{location}"
    );
    let fetched = reqwest::get(&location).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), audio);
}

#[tokio::test]
#[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
async fn a_call_on_moto_stores_its_recording_in_s3() {
    require(Kind::Moto);
    recording_is_presigned_from_s3(Kind::Moto).await;
}

#[tokio::test]
#[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
async fn a_call_on_dynalite_and_s3s_fs_stores_its_recording_in_s3() {
    require(Kind::DynaliteAndS3sFs);
    recording_is_presigned_from_s3(Kind::DynaliteAndS3sFs).await;
}

#[tokio::test]
#[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
async fn an_s3_outage_keeps_the_twilio_url_and_the_copier_finishes_later() {
    require(Kind::Moto);
    let app = spawn_app_on(
        make_with(Kind::Moto, false).await,
        TenantSettings::default(),
    )
    .await;
    let (sid, doc) = app.call_to_recording().await;
    let call = app.call(&sid, CALLER);
    let rec_sid = app.recording_sid();
    let audio = tone_wav(1.0);
    let rec_url = app.twilio.add_recording(&rec_sid, audio.clone());
    let reply = call
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    assert_eq!(reply.status, 204, "Twilio still gets a 2xx");
    assert_eq!(
        app.copy_round().await,
        WorkReport {
            copy_failed: 1,
            ..WorkReport::default()
        }
    );
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings[0].state, RecordingState::PendingCopy);
    assert_eq!(
        record.recordings[0].twilio_url.as_deref(),
        Some(rec_url.as_str())
    );
    assert!(
        record.recordings[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("S3 upload failed")
    );
    assert!(
        app.twilio.deleted().is_empty(),
        "Twilio's copy is the only one"
    );

    let (s3, bucket) = app.s3.clone().unwrap();
    afureko::store::s3::create_bucket(&s3, &bucket)
        .await
        .unwrap();
    let report = app.copy_round().await;
    assert_eq!(
        report,
        WorkReport {
            stored: 1,
            ..WorkReport::default()
        }
    );
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings[0].state, RecordingState::Stored);
    let key = record.recordings[0].storage_key.clone().unwrap();
    assert_eq!(app.backend.audio.get(&key).await.unwrap(), Some(audio));
    assert_eq!(app.twilio.deleted(), [rec_sid]);
}

#[tokio::test]
#[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
async fn the_agent_workflow_runs_the_same_on_dynamodb() {
    require(Kind::Moto);
    let app = spawn_app_on(make(Kind::Moto).await, TenantSettings::default()).await;
    let key = app.api_key().await;
    let (record, _) = app.play_call(CALLER).await;
    let id = record.id.to_string();
    let claim = app
        .api(
            "POST",
            &format!("/api/v1/callbacks/{id}/claim"),
            &key,
            Some(serde_json::json!({"agent": "ann"})),
        )
        .await;
    assert_eq!(claim.status, 200);
    let other = app
        .api(
            "POST",
            &format!("/api/v1/callbacks/{id}/claim"),
            &key,
            Some(serde_json::json!({"agent": "bob"})),
        )
        .await;
    assert_eq!(other.status, 409);
    let done = app
        .api(
            "POST",
            &format!("/api/v1/callbacks/{id}/attempts"),
            &key,
            Some(serde_json::json!({"agent": "ann", "outcome": "reached"})),
        )
        .await;
    assert_eq!(done.json()["status"], "completed");
    let list = app
        .api("GET", "/api/v1/callbacks?status=completed", &key, None)
        .await;
    assert_eq!(list.json()["items"][0]["id"], id);
}

/// A server that accepts connections and never answers, as a DynamoDB or
/// S3 endpoint behind a broken network path would.
async fn stalling_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_stalled_aws_endpoint_fails_the_call_instead_of_hanging() {
    let endpoint = stalling_endpoint().await;
    let sdk = crate::backends::sdk(&endpoint, "test", "test");
    let target = afureko::config::AwsTarget {
        table: "stalled".into(),
        bucket: "stalled".into(),
        copy_queue_url: format!("{endpoint}/123456789012/stalled"),
        copy_dlq_url: format!("{endpoint}/123456789012/stalled-dlq"),
    };
    use afureko::store::TenantStore;
    let secrets = afureko::config::SecretKeys {
        secret_key: Some(crate::backends::random_key()),
        ..Default::default()
    };
    // Only a guard against a hang: the SDK's own timeouts answer long before.
    let guard = std::time::Duration::from_secs(120);
    // Start-up reads the key record: it fails, it does not hang.
    let started = tokio::time::timeout(
        guard,
        afureko::startup::aws(
            &sdk,
            &target,
            &secrets,
            std::sync::Arc::new(afureko::clock::SystemClock),
        ),
    )
    .await
    .expect("a stalled DynamoDB hung start-up");
    assert!(
        matches!(
            started,
            Err(afureko::startup::StartupError::Keys(
                afureko::store::key_record::KeyError::Store(
                    afureko::store::StoreError::Dynamo { .. }
                )
            ))
        ),
        "{:?}",
        started.err()
    );
    let store = afureko::store::dynamo::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        target.table.clone(),
    );
    let audio = afureko::store::s3::S3RecordingStore::new(
        afureko::store::aws::s3_client(&sdk),
        target.bucket,
    );
    let tenant = afureko::domain::ids::TenantId::parse("acme").unwrap();
    let (read, upload) = tokio::join!(
        tokio::time::timeout(guard, store.get_tenant(&tenant)),
        tokio::time::timeout(
            guard,
            crate::helpers::put_bytes(&audio, "recordings/acme/x.wav", &[0; 16])
        ),
    );
    let read = read.expect("a stalled DynamoDB hung the call");
    assert!(
        matches!(read, Err(afureko::store::StoreError::Dynamo { .. })),
        "{read:?}"
    );
    let upload = upload.expect("a stalled S3 hung the upload");
    assert!(
        matches!(upload, Err(afureko::store::StoreError::S3 { .. })),
        "{upload:?}"
    );
}

/// Every upload asks for SSE (AES256) itself, not only through the bucket's
/// default: on a bucket without one (moto keeps what a PUT asked for), the
/// stored object is encrypted, while a plain PUT (the control) is not.
#[tokio::test]
#[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
async fn every_upload_asks_for_server_side_encryption() {
    use aws_sdk_s3::types::ServerSideEncryption;
    require(Kind::Moto);
    let moto = std::env::var("AFUREKO_TEST_MOTO_URL").unwrap();
    let client = afureko::store::aws::s3_client(&crate::backends::sdk(&moto, "test", "test"));
    let bucket = format!("afureko-plain-{}", uuid::Uuid::new_v4().simple());
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let head = |key: &'static str| {
        let (client, bucket) = (client.clone(), bucket.clone());
        async move {
            client
                .head_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap()
                .server_side_encryption()
                .cloned()
        }
    };

    client
        .put_object()
        .bucket(&bucket)
        .key("control.wav")
        .body(vec![1u8; 16].into())
        .send()
        .await
        .unwrap();
    assert_eq!(head("control.wav").await, None, "the bucket adds nothing");

    let store = afureko::store::s3::S3RecordingStore::new(client.clone(), bucket.clone());
    crate::helpers::put_bytes(&store, "recordings/acme/x.wav", &tone_wav(0.1))
        .await
        .unwrap();
    assert_eq!(
        head("recordings/acme/x.wav").await,
        Some(ServerSideEncryption::Aes256)
    );
}

/// A dead message that does not parse (sent by hand, say) is not moved by
/// the re-drive: it is counted as unreadable and stays in the dead-letter
/// queue for an operator, while the readable one is re-driven.
#[tokio::test]
#[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
async fn an_unreadable_dead_message_is_left_and_counted() {
    use afureko::store::copy_queue::{CopyJob, CopyQueue, Depth, Redriven};
    require(Kind::Moto);
    let moto = std::env::var("AFUREKO_TEST_MOTO_URL").unwrap();
    let name = format!("unreadable-{}", uuid::Uuid::new_v4().simple());
    let queue = crate::backends::copy_queue(&name).await;
    let (_, dlq) = crate::backends::queue_urls(&moto, &name);
    let client = aws_sdk_sqs::Client::new(&crate::backends::sdk(&moto, "test", "test"));
    let job = CopyJob::from_json(
        r#"{"tenant":"acme","callback":"0193a000-0000-7000-8000-000000000001","recording":"RE00000000000000000000000000000001"}"#,
    )
    .unwrap();
    for body in ["not a copy job", &job.to_json().unwrap()] {
        client
            .send_message()
            .queue_url(&dlq)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let now = jiff::Timestamp::now();
    let redriven = queue.redrive(10, now).await.unwrap();
    assert_eq!(
        redriven,
        Redriven {
            requeued: 1,
            unreadable: 1
        }
    );
    assert_eq!(
        queue.depth(now).await.unwrap(),
        Depth {
            waiting: 1,
            in_flight: 0,
            dead: 1
        }
    );
    let got = queue
        .receive(10, std::time::Duration::ZERO, now)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].job.as_ref(), Some(&job));
}

/// A crash between the call link and the record (docs/dynamodb.md): the
/// link names a record that was never written. Twilio's retry of the first
/// webhook makes the record under the link's id, once.
async fn a_call_link_left_without_its_record_is_healed_by_the_retry(kind: Kind) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let app = spawn_on(kind, TenantSettings::default()).await;
    let endpoint = match kind {
        Kind::Moto => "AFUREKO_TEST_MOTO_URL",
        _ => "AFUREKO_TEST_DYNALITE_URL",
    };
    let dynamo = crate::backends::dynamo_client(&std::env::var(endpoint).unwrap());
    let table = app.s3.as_ref().unwrap().1.clone();
    let sid = app.call_sid();
    let orphan = afureko::domain::ids::CallbackId::generate();
    dynamo
        .put_item()
        .table_name(&table)
        .item(
            "pk",
            AttributeValue::S(format!("TENANT#{TENANT}#CALL#{sid}")),
        )
        .item("sk", AttributeValue::S("CALL".into()))
        .item("callback_id", AttributeValue::S(orphan.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(app.record(&sid).await, None, "the link alone is no record");

    let call = app.call(&sid, CALLER);
    for _ in 0..2 {
        let reply = call.incoming(&app.voice_url()).await.unwrap();
        assert_eq!(reply.status, 200);
        assert!(reply.doc().unwrap().gather().is_some());
    }
    let healed = app.record(&sid).await.expect("the record is made");
    assert_eq!(healed.id, orphan);
    assert_eq!(healed.callback_number.as_str(), CALLER);
    let records = app.records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id, orphan);
}

/// A table written before the sparse number index: an open record keyed by
/// the old `by_number` key and without its guard is not found by its number
/// until `afureko aws migrate` (docs/dynamodb.md, "Moving a deployment").
async fn migrate_indexes_old_open_records(kind: Kind) {
    use afureko::store::dynamo::{DynamoStore, NumberMigration};
    use aws_sdk_dynamodb::types::AttributeValue;
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let endpoint = match kind {
        Kind::Moto => "AFUREKO_TEST_MOTO_URL",
        _ => "AFUREKO_TEST_DYNALITE_URL",
    };
    let dynamo = crate::backends::dynamo_client(&std::env::var(endpoint).unwrap());
    let table = app.s3.as_ref().unwrap().1.clone();
    let open = app.seed(TENANT, 0).await;
    let closed = app.seed(TENANT, 1).await;
    let id = closed.id.to_string();
    assert_eq!(app.claim(&key, &id, "ann").await.status, 200);
    let done = app
        .complete(&key, &id, serde_json::json!({"agent": "ann"}))
        .await;
    assert_eq!(done.status, 200);
    // Both as an older afureko left them.
    for record in [&open, &closed] {
        dynamo
            .update_item()
            .table_name(&table)
            .key(
                "pk",
                AttributeValue::S(format!("TENANT#{TENANT}#CB#{}", record.id)),
            )
            .key("sk", AttributeValue::S("CB".into()))
            .update_expression("SET gsi3pk = :pk, gsi3sk = :sk")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(format!("TENANT#{TENANT}#NUMBER#{}", record.callback_number)),
            )
            .expression_attribute_values(":sk", AttributeValue::S(format!("x#{}", record.id)))
            .send()
            .await
            .unwrap();
    }
    let guard = |number: String| {
        dynamo
            .get_item()
            .table_name(&table)
            .key(
                "pk",
                AttributeValue::S(format!("TENANT#{TENANT}#OPEN#{number}")),
            )
            .key("sk", AttributeValue::S("OPEN".into()))
            .consistent_read(true)
            .send()
    };
    dynamo
        .delete_item()
        .table_name(&table)
        .key(
            "pk",
            AttributeValue::S(format!("TENANT#{TENANT}#OPEN#{}", open.callback_number)),
        )
        .key("sk", AttributeValue::S("OPEN".into()))
        .send()
        .await
        .unwrap();
    let store = &app.backend.store;
    let found = store
        .find_open_callback_by_number(&app.tenant.id, &open.callback_number)
        .await
        .unwrap();
    assert_eq!(found, None, "an old open record is not in the new index");

    let migrating = DynamoStore::new(dynamo.clone(), table.clone());
    let report = migrating.migrate_open_numbers().await.unwrap();
    let expected = NumberMigration {
        indexed: 1,
        unindexed: 1,
        guarded: 1,
        shared: 0,
    };
    assert_eq!(report, expected);
    let found = store
        .find_open_callback_by_number(&app.tenant.id, &open.callback_number)
        .await
        .unwrap();
    assert_eq!(found.map(|r| r.id), Some(open.id.clone()));
    let held = guard(open.callback_number.to_string())
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(held["callback_id"], AttributeValue::S(open.id.to_string()));
    let closed_item = dynamo
        .get_item()
        .table_name(&table)
        .key(
            "pk",
            AttributeValue::S(format!("TENANT#{TENANT}#CB#{}", closed.id)),
        )
        .key("sk", AttributeValue::S("CB".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!closed_item.contains_key("gsi3pk"));

    let again = migrating.migrate_open_numbers().await.unwrap();
    let expected = NumberMigration {
        guarded: 1,
        ..NumberMigration::default()
    };
    assert_eq!(again, expected);
}

/// A table written before the number search and the open orders: its
/// records are in one `received_keys` partition and in neither new index
/// until `afureko aws migrate` gives them their keys.
async fn migrate_gives_old_records_their_list_keys(kind: Kind) {
    use afureko::store::dynamo::DynamoStore;
    use aws_sdk_dynamodb::types::AttributeValue;
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let endpoint = match kind {
        Kind::Moto => "AFUREKO_TEST_MOTO_URL",
        _ => "AFUREKO_TEST_DYNALITE_URL",
    };
    let dynamo = crate::backends::dynamo_client(&std::env::var(endpoint).unwrap());
    let table = app.s3.as_ref().unwrap().1.clone();
    let tried = app.seed(TENANT, 0).await;
    let closed = app.seed(TENANT, 1).await;
    let (tried_id, closed_id) = (tried.id.to_string(), closed.id.to_string());
    let outcome = serde_json::json!({"agent": "ann", "outcome": "busy"});
    assert_eq!(app.attempt(&key, &tried_id, outcome).await.status, 200);
    assert_eq!(app.claim(&key, &closed_id, "ann").await.status, 200);
    let done = app
        .complete(&key, &closed_id, serde_json::json!({"agent": "ann"}))
        .await;
    assert_eq!(done.status, 200);
    for record in [&tried, &closed] {
        dynamo
            .update_item()
            .table_name(&table)
            .key(
                "pk",
                AttributeValue::S(format!("TENANT#{TENANT}#CB#{}", record.id)),
            )
            .key("sk", AttributeValue::S("CB".into()))
            .update_expression("SET gsi4pk = :old REMOVE gsi5pk, gsi6pk, gsi6sk")
            .expression_attribute_values(":old", AttributeValue::S(format!("TENANT#{TENANT}#CB")))
            .send()
            .await
            .unwrap();
    }
    async fn listed(app: &TestApp, key: &str, url: &str) -> Vec<String> {
        let reply = app.api("GET", url, key, None).await;
        assert_eq!(reply.status, 200);
        reply.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    }
    let tail = &tried.callback_number.as_str()[tried.callback_number.as_str().len() - 4..];
    let search = format!("/api/v1/callbacks?q={tail}");
    let by_attempts = "/api/v1/callbacks?sort=attempts";
    assert!(
        listed(&app, &key, &search).await.is_empty(),
        "not in the new index yet"
    );
    assert!(listed(&app, &key, by_attempts).await.is_empty());

    let migrating = DynamoStore::new(dynamo.clone(), table.clone());
    assert_eq!(migrating.migrate_list_keys().await.unwrap(), 2);
    assert_eq!(listed(&app, &key, &search).await, [tried_id.as_str()]);
    assert_eq!(listed(&app, &key, by_attempts).await, [tried_id.as_str()]);
    assert_eq!(
        app.backend
            .store
            .recent_callbacks(&app.tenant.id, 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>(),
        [closed_id, tried_id]
    );
    assert_eq!(migrating.migrate_list_keys().await.unwrap(), 0);
}

mod on_aws {
    use super::*;

    #[tokio::test]
    #[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
    async fn migrate_gives_old_records_their_list_keys_on_moto() {
        require(Kind::Moto);
        migrate_gives_old_records_their_list_keys(Kind::Moto).await;
    }

    #[tokio::test]
    #[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
    async fn migrate_gives_old_records_their_list_keys_on_dynalite() {
        require(Kind::DynaliteAndS3sFs);
        migrate_gives_old_records_their_list_keys(Kind::DynaliteAndS3sFs).await;
    }

    #[tokio::test]
    #[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
    async fn migrate_indexes_old_open_records_on_moto() {
        require(Kind::Moto);
        migrate_indexes_old_open_records(Kind::Moto).await;
    }

    #[tokio::test]
    #[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
    async fn migrate_indexes_old_open_records_on_dynalite() {
        require(Kind::DynaliteAndS3sFs);
        migrate_indexes_old_open_records(Kind::DynaliteAndS3sFs).await;
    }

    #[tokio::test]
    #[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
    async fn a_call_link_left_without_its_record_is_healed_on_moto() {
        require(Kind::Moto);
        a_call_link_left_without_its_record_is_healed_by_the_retry(Kind::Moto).await;
    }

    #[tokio::test]
    #[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
    async fn a_call_link_left_without_its_record_is_healed_on_dynalite() {
        require(Kind::DynaliteAndS3sFs);
        a_call_link_left_without_its_record_is_healed_by_the_retry(Kind::DynaliteAndS3sFs).await;
    }
}
