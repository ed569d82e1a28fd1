//! Tenants' secrets sealed at rest (docs/operations.md, "Secrets at rest"): what the
//! backends hold is sealed, webhooks still verify, plaintext tenants of an
//! older afureko still open and are sealed on their next write, and a wrong
//! key stops start-up naming where the key came from.

use crate::backends::{Kind, dynamo_client, new_kms_key, random_key, require, sdk};
use crate::helpers::*;
use afureko::clock::SystemClock;
use afureko::config::SecretKeys;
use afureko::domain::ids::TenantId;
use afureko::domain::tenant::{AuthToken, Tenant, TenantSettings};
use afureko::startup;
use afureko::store::StoreError;
use afureko::store::aws;
use afureko::store::dynamo::{DynamoStore, create_table};
use afureko::store::key_record::KeySource;
use afureko::twilio::sim::Sim;
use aws_sdk_dynamodb::types::AttributeValue;
use std::sync::Arc;

const NEW_TOKEN: &str = "rotated-auth-token-acme";
const SHARED_KEY: &str = "webhook-shared-key-acme";

fn dynamo_url(kind: Kind) -> String {
    let var = match kind {
        Kind::Moto => "AFUREKO_TEST_MOTO_URL",
        _ => "AFUREKO_TEST_DYNALITE_URL",
    };
    std::env::var(var).unwrap()
}

/// The tenant's stored document, read past afureko.
async fn raw_doc(app: &TestApp, kind: Kind, id: &str) -> String {
    match kind {
        Kind::Embedded => {
            let conn = rusqlite::Connection::open(app.dir.path().join("afureko.db")).unwrap();
            conn.query_row("SELECT doc FROM tenants WHERE id = ?1", [id], |r| r.get(0))
                .unwrap()
        }
        _ => {
            let (_, table) = app.s3.as_ref().unwrap();
            let item = dynamo_client(&dynamo_url(kind))
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S(format!("TENANT#{id}")))
                .key("sk", AttributeValue::S("TENANT".into()))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item
                .unwrap();
            item["doc"].as_s().unwrap().clone()
        }
    }
}

/// Writes a tenant's document as it is, past afureko: as an older
/// afureko stored it (plaintext), or a document copied from elsewhere.
async fn put_raw_doc(app: &TestApp, kind: Kind, id: &str, doc: &str) {
    match kind {
        Kind::Embedded => {
            let conn = rusqlite::Connection::open(app.dir.path().join("afureko.db")).unwrap();
            conn.execute(
                "INSERT OR REPLACE INTO tenants (id, doc) VALUES (?1, ?2)",
                [id, doc],
            )
            .unwrap();
        }
        _ => {
            let (_, table) = app.s3.as_ref().unwrap();
            dynamo_client(&dynamo_url(kind))
                .put_item()
                .table_name(table)
                .item("pk", AttributeValue::S(format!("TENANT#{id}")))
                .item("sk", AttributeValue::S("TENANT".into()))
                .item("doc", AttributeValue::S(doc.to_owned()))
                .send()
                .await
                .unwrap();
        }
    }
}

/// The first answer to a call signed with `token`, from a number that has
/// not called before: its status, and whether it is the menu (a `<Gather>`).
async fn first_answer(app: &TestApp, tenant: &str, token: &str) -> (u16, bool) {
    let sim = Sim::new(app.router(), PUBLIC_URL, ACCOUNT_SID, token);
    let sid = app.call_sid();
    let n = u32::from_str_radix(&sid[sid.len() - 4..], 16).unwrap();
    let from = format!("+813123{n:05}");
    let reply = sim
        .call(&sid, &from, COMPANY)
        .incoming(&app.url(&format!("/twilio/{tenant}/voice")))
        .await
        .unwrap();
    let menu = reply.status == 200 && reply.doc().unwrap().gather().is_some();
    (reply.status, menu)
}

async fn secrets_are_sealed_at_rest_and_webhooks_still_verify(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let mut tenant = app.tenant.clone();
    tenant.twilio.webhook_shared_key = Some(AuthToken::new(SHARED_KEY).unwrap());
    tenant
        .twilio
        .rotate_auth_token(AuthToken::new(NEW_TOKEN).unwrap(), 60, NOW.parse().unwrap())
        .unwrap();
    app.backend.store.update_tenant(&tenant).await.unwrap();

    let doc = raw_doc(&app, kind, TENANT).await;
    for secret in [AUTH_TOKEN, NEW_TOKEN, SHARED_KEY] {
        assert!(
            !doc.contains(secret),
            "{secret} is stored in plaintext: {doc}"
        );
    }
    let stored: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let twilio = &stored["twilio"];
    for sealed in [
        &twilio["auth_token"],
        &twilio["webhook_shared_key"],
        &twilio["previous_auth_token"]["token"],
    ] {
        assert!(sealed.as_str().unwrap().starts_with("afk1:"), "{sealed}");
    }
    assert_eq!(twilio["account_sid"], ACCOUNT_SID);

    let read = app.backend.store.get_tenant(&tenant.id).await.unwrap();
    assert_eq!(read.as_ref(), Some(&tenant));
    // The new token and, in its overlap window, the old one verify.
    assert_eq!(first_answer(&app, TENANT, NEW_TOKEN).await, (200, true));
    assert_eq!(first_answer(&app, TENANT, AUTH_TOKEN).await, (200, true));
    assert_eq!(first_answer(&app, TENANT, "a-wrong-token").await.0, 403);
}

async fn a_sealed_document_copied_to_another_tenant_does_not_open(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let mut doc: serde_json::Value =
        serde_json::from_str(&raw_doc(&app, kind, TENANT).await).unwrap();
    doc["id"] = "globex".into();
    put_raw_doc(&app, kind, "globex", &doc.to_string()).await;
    let read = app
        .backend
        .store
        .get_tenant(&TenantId::parse("globex").unwrap())
        .await;
    assert_eq!(
        read.map(|_| ()).map_err(|e| e.to_string()),
        Err("the secrets of tenant globex do not open".to_owned())
    );
    assert!(matches!(
        app.backend
            .store
            .get_tenant(&TenantId::parse("globex").unwrap())
            .await,
        Err(StoreError::Secret { .. })
    ));
}

async fn a_plaintext_tenant_opens_and_is_sealed_on_its_next_write(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let legacy = Tenant {
        id: TenantId::parse("legacy").unwrap(),
        ..app.tenant.clone()
    };
    // The old format: the tenant as JSON, its secrets in plaintext.
    let old_doc = serde_json::to_string(&legacy).unwrap();
    assert!(old_doc.contains(AUTH_TOKEN));
    put_raw_doc(&app, kind, "legacy", &old_doc).await;

    let read = app.backend.store.get_tenant(&legacy.id).await.unwrap();
    assert_eq!(read.as_ref(), Some(&legacy));
    assert_eq!(first_answer(&app, "legacy", AUTH_TOKEN).await, (200, true));

    let mut changed = read.unwrap();
    changed.settings.max_callback_attempts = 5;
    app.backend.store.update_tenant(&changed).await.unwrap();
    let doc = raw_doc(&app, kind, "legacy").await;
    assert!(!doc.contains(AUTH_TOKEN), "{doc}");
    assert!(doc.contains("\"auth_token\":\"afk1:"), "{doc}");
    let read = app.backend.store.get_tenant(&legacy.id).await.unwrap();
    assert_eq!(read, Some(changed));
    assert_eq!(first_answer(&app, "legacy", AUTH_TOKEN).await, (200, true));
}

crate::on_every_backend!(
    secrets_are_sealed_at_rest_and_webhooks_still_verify,
    a_sealed_document_copied_to_another_tenant_does_not_open,
    a_plaintext_tenant_opens_and_is_sealed_on_its_next_write,
);

fn env_key(key: afureko::secrets::SecretKey) -> SecretKeys {
    SecretKeys {
        secret_key: Some(key),
        ..Default::default()
    }
}

async fn start_error(dir: &std::path::Path, secrets: &SecretKeys) -> String {
    match startup::embedded(dir, secrets, Arc::new(SystemClock)).await {
        Ok(_) => panic!("the embedded store started"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn the_embedded_store_refuses_a_key_that_is_not_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let key = random_key();
    let backend = startup::embedded(dir.path(), &env_key(key.clone()), Arc::new(SystemClock))
        .await
        .unwrap();
    let app = spawn_app().await;
    backend.store.create_tenant(&app.tenant).await.unwrap();
    drop(backend);

    assert_eq!(
        start_error(dir.path(), &env_key(random_key())).await,
        "AFUREKO_SECRET_KEY does not open this store's secrets: it is not the key they were sealed with (restore that key)"
    );
    // No key configured: the key file, which this store never had.
    let key_file = dir.path().join("secret.key");
    assert_eq!(
        start_error(dir.path(), &SecretKeys::default()).await,
        format!(
            "this store's secrets are sealed, but the key file {} is missing: restore it, or set AFUREKO_SECRET_KEY to the key",
            key_file.display()
        )
    );
    let backend = startup::embedded(dir.path(), &env_key(key), Arc::new(SystemClock))
        .await
        .unwrap();
    let read = backend.store.get_tenant(&app.tenant.id).await.unwrap();
    assert_eq!(read, Some(app.tenant.clone()));
}

#[tokio::test]
async fn the_key_file_is_made_private_at_first_start_and_a_changed_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let backend = startup::embedded(dir.path(), &SecretKeys::default(), Arc::new(SystemClock))
        .await
        .unwrap();
    drop(backend);
    let key_file = dir.path().join("secret.key");
    let text = std::fs::read_to_string(&key_file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The file's key, given in the environment instead, is the same key.
    let same = afureko::secrets::SecretKey::parse(&text).unwrap();
    startup::embedded(dir.path(), &env_key(same), Arc::new(SystemClock))
        .await
        .unwrap();

    std::fs::write(&key_file, crate::backends::random_key_text()).unwrap();
    assert_eq!(
        start_error(dir.path(), &SecretKeys::default()).await,
        format!(
            "the key file {} does not open this store's secrets: it is not the key they were sealed with (restore that key)",
            key_file.display()
        )
    );
    std::fs::write(&key_file, "not a key").unwrap();
    assert_eq!(
        start_error(dir.path(), &SecretKeys::default()).await,
        format!(
            "the key file {} is not the base64 of 32 bytes",
            key_file.display()
        )
    );
}

/// Two starts on one table with KMS (moto): the second decrypts the data
/// key the first made; another KMS key, or a local key, is refused.
#[tokio::test]
#[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
async fn kms_seals_with_a_data_key_and_refuses_another_kms_key() {
    require(Kind::Moto);
    let sdk = sdk(
        &std::env::var("AFUREKO_TEST_MOTO_URL").unwrap(),
        "test",
        "test",
    );
    let table = format!("afureko-kms-{}", uuid::Uuid::new_v4().simple());
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    create_table(&dynamo, &table).await.unwrap();
    let (key_a, key_b) = (new_kms_key(&sdk).await, new_kms_key(&sdk).await);
    let kms = |key_id: &str| KeySource::Kms {
        client: aws::kms_client(&sdk),
        key_id: key_id.to_owned(),
    };
    let fresh = || Arc::new(DynamoStore::new(dynamo.clone(), table.clone()));

    let first = startup::sealed(fresh(), &kms(&key_a)).await.unwrap().store;
    let app = spawn_app().await;
    first.create_tenant(&app.tenant).await.unwrap();

    let second = startup::sealed(fresh(), &kms(&key_a)).await.unwrap().store;
    let read = second.get_tenant(&app.tenant.id).await.unwrap();
    assert_eq!(read, Some(app.tenant.clone()));

    let record = dynamo
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("META#SECRET_KEY".into()))
        .key("sk", AttributeValue::S("META".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let record: serde_json::Value = serde_json::from_str(record["doc"].as_s().unwrap()).unwrap();
    let arn = record["kms_key_arn"].as_str().unwrap();
    assert!(arn.ends_with(&format!(":key/{key_a}")), "{arn}");
    assert_eq!(record["kind"], "kms");

    let refused = |result: Result<_, startup::StartupError>| match result {
        Ok(_) => panic!("started with the wrong key"),
        Err(e) => e.to_string(),
    };
    assert_eq!(
        refused(startup::sealed(fresh(), &kms(&key_b)).await),
        format!(
            "this store's secrets were sealed with the KMS key {arn}, but AFUREKO_KMS_KEY_ID ({key_b}) is configured: configure the key they were sealed with"
        )
    );
    assert_eq!(
        refused(startup::sealed(fresh(), &KeySource::Env(random_key())).await),
        format!(
            "this store's secrets were sealed with the KMS key {arn}, but AFUREKO_SECRET_KEY is configured: configure the key they were sealed with"
        )
    );
    assert!(
        refused(startup::sealed(fresh(), &kms("no-such-key")).await)
            .starts_with("this store's secrets were sealed with the KMS key")
    );
}

/// A KMS key that does not exist fails the first start, naming the variable.
#[tokio::test]
#[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
async fn a_missing_kms_key_fails_start_up_naming_the_variable() {
    require(Kind::Moto);
    let sdk = sdk(
        &std::env::var("AFUREKO_TEST_MOTO_URL").unwrap(),
        "test",
        "test",
    );
    let table = format!("afureko-kms-{}", uuid::Uuid::new_v4().simple());
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    create_table(&dynamo, &table).await.unwrap();
    let source = KeySource::Kms {
        client: aws::kms_client(&sdk),
        key_id: "00000000-0000-0000-0000-000000000000".into(),
    };
    let store = Arc::new(DynamoStore::new(dynamo, table));
    let error = match startup::sealed(store, &source).await {
        Ok(_) => panic!("started without a KMS key"),
        Err(e) => e.to_string(),
    };
    assert_eq!(
        error,
        "KMS GenerateDataKey with AFUREKO_KMS_KEY_ID (00000000-0000-0000-0000-000000000000) failed"
    );
}
