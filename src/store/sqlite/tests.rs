//! What only SQLite has: the file, its migrations, raw rows. The rules
//! every backend keeps are in tests/integration/store_suite.rs.

use super::*;
use crate::domain::callback::{Confirmation, NewCallback};
use crate::domain::phone::Region;
use crate::domain::reason::Reason;
use rows::Row;
use rusqlite::Connection;

fn record(tenant: &str, n: u32, received: &str) -> CallbackRecord {
    let number = E164::parse(&format!("+8131234{n:04}"), Region::JP).unwrap();
    CallbackRecord::new(
        TenantId::parse(tenant).unwrap(),
        NewCallback {
            call_sid: CallSid::parse(&format!("CA{n:032x}")).unwrap(),
            caller_number: Some(number.clone()),
            callback_number: number,
            confirmation: Confirmation::CallerId,
            reason: Reason::Overflow,
            received_at: received.parse().unwrap(),
            due_from: None,
        },
        60,
        received.parse().unwrap(),
    )
}

async fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db/afureko.db"))
        .await
        .unwrap();
    (dir, store)
}

#[tokio::test]
async fn records_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("afureko.db");
    let store = SqliteStore::open(&path).await.unwrap();
    for n in 1..=2 {
        let received = format!("2026-11-25T0{n}:00:00Z");
        store
            .insert_callback(&record("acme", n, &received))
            .await
            .unwrap();
    }
    drop(store);
    let reopened = SqliteStore::open(&path).await.unwrap();
    let acme = TenantId::parse("acme").unwrap();
    assert_eq!(reopened.recent_callbacks(&acme, 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_version_1_file_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("afureko.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(schema::SCHEMA_V1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        let r = record("acme", 7, "2026-11-25T01:00:00Z");
        conn.execute(
            "INSERT INTO callbacks (tenant_id, id, call_sid, status, due_at_ms, received_at_ms, needs_copy, version, doc)
             VALUES ('acme', ?1, ?2, 'pending', 0, 0, 0, 0, ?3)",
            params![r.id.to_string(), r.call_sid.to_string(), to_json("a callback", &r).unwrap()],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let tenant = TenantId::parse("acme").unwrap();
    let sid = CallSid::parse(&format!("CA{:032x}", 7)).unwrap();
    assert!(
        store
            .find_callback_by_call_sid(&tenant, &sid)
            .await
            .unwrap()
            .is_some()
    );
    let number = E164::parse("+81312340007", Region::JP).unwrap();
    assert!(
        store
            .find_open_callback_by_number(&tenant, &number)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn records_left_open_twice_before_the_guard_still_migrate_and_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("afureko.db");
    let number = E164::parse("+81312340001", Region::JP).unwrap();
    let twins: Vec<CallbackRecord> = (1..=2)
        .map(|n| {
            let mut r = record("acme", n, &format!("2026-11-25T0{n}:00:00Z"));
            r.callback_number = number.clone();
            r
        })
        .collect();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(schema::SCHEMA_V1).unwrap();
        conn.execute_batch(schema::SCHEMA_V2).unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        for r in &twins {
            let row = Row::of(r).unwrap();
            conn.execute(
                "INSERT INTO callbacks (tenant_id, id, call_sid, status, callback_number, due_at_ms, received_at_ms, needs_copy, version, doc)
                 VALUES ('acme', ?1, ?2, 'pending', ?3, ?4, ?5, 0, 0, ?6)",
                params![row.id, row.call_sid, row.callback_number, row.due_at_ms, row.received_at_ms, row.doc],
            )
            .unwrap();
        }
    }
    let store = SqliteStore::open(&path).await.unwrap();
    for r in &twins {
        let mut claimed = r.clone();
        claimed.status = crate::domain::callback::Status::Claimed;
        store.update_callback(&claimed).await.unwrap();
    }
    let mut third = record("acme", 3, "2026-11-25T03:00:00Z");
    third.callback_number = number;
    assert!(matches!(
        store.insert_callback(&third).await.unwrap(),
        Inserted::NumberOpen(r) if r.id == twins[0].id
    ));
}

#[test]
fn opening_a_file_at_once_from_two_connections_migrates_it_once() {
    for _ in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("afureko.db");
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let opens: Vec<_> = (0..2)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    SqliteStore::open_blocking(&path).map(|_| ())
                })
            })
            .collect();
        for open in opens {
            open.join().unwrap().unwrap();
        }
    }
}

#[tokio::test]
async fn a_malformed_tenant_is_an_error_naming_it() {
    let (_dir, store) = open().await;
    store
        .writer
        .write(|conn| {
            conn.execute(
                "INSERT INTO tenants (id, doc) VALUES ('acme', 'not json')",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let err = store
        .get_tenant(&TenantId::parse("acme").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Malformed { key, .. } if key == "tenant acme"),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_rows_are_errors_naming_the_key() {
    let (_dir, store) = open().await;
    let r = store
        .insert_callback(&record("acme", 1, "2026-11-25T01:00:00Z"))
        .await
        .unwrap()
        .into_record();
    store
        .writer
        .write(|conn| {
            conn.execute("UPDATE callbacks SET doc = '{\"id\": 7}'", [])?;
            Ok(())
        })
        .await
        .unwrap();
    let err = store.get_callback(&r.tenant_id, &r.id).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("stored item callback acme/{} is malformed", r.id)),
        "{err}"
    );
}

#[tokio::test]
async fn a_malformed_row_does_not_quote_its_content() {
    let (_dir, store) = open().await;
    let r = store
        .insert_callback(&record("acme", 1, "2026-11-25T01:00:00Z"))
        .await
        .unwrap()
        .into_record();
    // A number where a string belongs: serde's message quotes it.
    let doc = to_json("a callback", &r)
        .unwrap()
        .replace("\"+81312340001\"", "81312340001");
    store
        .writer
        .write(move |conn| {
            conn.execute("UPDATE callbacks SET doc = ?1", params![doc])?;
            Ok(())
        })
        .await
        .unwrap();
    let err = store.get_callback(&r.tenant_id, &r.id).await.unwrap_err();
    let text = crate::telemetry::error_chain(&err);
    assert!(!text.contains("81312340001"), "{text}");
    assert!(
        text.contains("is malformed: JSON data error at line 1 column"),
        "{text}"
    );
}

#[tokio::test]
async fn the_unique_index_refuses_a_second_open_record_of_a_number() {
    let (dir, store) = open().await;
    let first = record("acme", 1, "2026-11-25T01:00:00Z");
    store.insert_callback(&first).await.unwrap();
    // A closed record may share the number; reopening it may not. The
    // update makes no lookup of its own: the index is what refuses it.
    let mut second = record("acme", 2, "2026-11-25T02:00:00Z");
    second.callback_number = first.callback_number.clone();
    second.status = crate::domain::callback::Status::Completed;
    assert!(matches!(
        store.insert_callback(&second).await.unwrap(),
        Inserted::Created(_)
    ));
    let mut reopened = second.clone();
    reopened.status = crate::domain::callback::Status::Pending;
    let refused = store.update_callback(&reopened).await;
    assert!(
        matches!(refused, Err(StoreError::OpenNumberTaken)),
        "{refused:?}"
    );
    // Another process's raw insert, past the writer's lookup, is refused
    // by the index too, and is recognised as this conflict.
    let third = record("acme", 3, "2026-11-25T03:00:00Z");
    let row = Row::of(&third).unwrap();
    let conn = Connection::open(dir.path().join("db/afureko.db")).unwrap();
    let raw = conn.execute(
        "INSERT INTO callbacks (tenant_id, id, call_sid, status, callback_number, due_at_ms, received_at_ms, needs_copy, version, doc)
         VALUES ('acme', ?1, ?2, 'pending', ?3, ?4, ?5, 0, 0, ?6)",
        params![row.id, row.call_sid, first.callback_number.as_str(), row.due_at_ms, row.received_at_ms, row.doc],
    );
    assert!(
        raw.as_ref().is_err_and(writes::open_number_taken),
        "{raw:?}"
    );
}

#[tokio::test]
async fn a_job_left_unsettled_comes_back_when_its_lease_lapses() {
    use crate::store::copy_queue::{CopyJob, CopyQueue, LEASE};
    assert_eq!(
        LEASE,
        std::time::Duration::from_secs(120),
        "docs/operations.md: 2 minutes"
    );
    let (_dir, store) = open().await;
    let r = record("acme", 1, "2026-11-25T01:00:00Z");
    let job = CopyJob {
        tenant: r.tenant_id.clone(),
        callback: r.id.clone(),
        recording: crate::domain::ids::RecordingSid::parse(&format!("RE{:032x}", 1)).unwrap(),
    };
    let now: Timestamp = "2026-11-25T01:00:00Z".parse().unwrap();
    let wait = std::time::Duration::ZERO;
    store.send(&job, now).await.unwrap();
    let first = store.receive(10, wait, now).await.unwrap();
    assert_eq!(first.len(), 1);
    // The copier dies here: no ack, no fail.
    let lapse = now + jiff::SignedDuration::from_mins(2);
    let held = lapse - jiff::SignedDuration::from_millis(1);
    assert!(store.receive(10, wait, held).await.unwrap().is_empty());
    let again = store.receive(10, wait, lapse).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].job.as_ref(), Some(&job));
    assert_eq!(again[0].receives, 2);
    // The dead copier's receipt no longer settles it.
    store.ack(&first[0]).await.unwrap();
    assert_eq!(store.depth(lapse).await.unwrap().in_flight, 1);
}

/// A notification job whose sender outlived every lease goes dead, and the
/// sender's late failure does not bring it back.
#[tokio::test]
async fn a_late_failure_leaves_a_dead_notification_dead() {
    use crate::domain::notify::Outgoing;
    use crate::store::notify::{LEASE, MAX_RECEIVES, NotifyJob, NotifyQueue};
    use std::time::Duration;
    let (_dir, store) = open().await;
    let start: Timestamp = "2026-11-25T01:00:00Z".parse().unwrap();
    let job =
        NotifyJob::of(Outgoing::of_write(&record("acme", 1, "2026-11-25T01:00:00Z")).remove(0));
    NotifyQueue::send(&store, &[job], start).await.unwrap();
    let step = jiff::SignedDuration::try_from(LEASE).unwrap() + jiff::SignedDuration::from_secs(1);
    let mut at = start;
    let mut last = None;
    for n in 1..=MAX_RECEIVES {
        let got = NotifyQueue::receive(&store, 1, Duration::ZERO, at)
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "receive {n}");
        last = got.into_iter().next();
        at += step;
    }
    assert!(
        NotifyQueue::receive(&store, 1, Duration::ZERO, at)
            .await
            .unwrap()
            .is_empty()
    );
    NotifyQueue::fail(&store, &last.unwrap(), Duration::ZERO, at)
        .await
        .unwrap();
    let depth = NotifyQueue::depth(&store, at).await.unwrap();
    assert_eq!((depth.waiting, depth.dead), (0, 1));
}
