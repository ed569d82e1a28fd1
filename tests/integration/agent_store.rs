//! The `AgentStore` rules, on every backend.

use crate::backends::{Kind, make};
use afureko::domain::agent::{AgentAccount, Role, Session};
use afureko::domain::ids::TenantId;
use afureko::store::StoreError;

fn agent(tenant: &str, login: &str) -> AgentAccount {
    AgentAccount::new(
        TenantId::parse(tenant).unwrap(),
        login.into(),
        format!("{login} name"),
        Role::Agent,
        "a long enough password",
        "2026-11-25T00:00:00Z".parse().unwrap(),
    )
    .unwrap()
}

async fn agents_round_trip_per_tenant(kind: Kind) {
    // The data dir lives as long as the test: readers open it lazily.
    let made = make(kind).await;
    let b = &made.backend;
    let store = b.agents.as_ref();
    let acme = TenantId::parse("acme").unwrap();
    let created = agent("acme", "ann");
    store.create_agent(&agent("acme", "bob")).await.unwrap();
    store.create_agent(&created).await.unwrap();
    store.create_agent(&agent("other", "ann")).await.unwrap();
    assert!(matches!(
        store.create_agent(&agent("acme", "ann")).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let logins: Vec<String> = store
        .list_agents(&acme)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.login)
        .collect();
    assert_eq!(logins, ["ann", "bob"]);

    let mut ann = store.get_agent(&acme, "ann").await.unwrap().unwrap();
    assert_eq!(ann, created);
    ann.role = Role::Admin;
    let stored = store.update_agent(&ann).await.unwrap();
    assert_eq!(stored.version, ann.version + 1);
    assert!(
        matches!(store.update_agent(&ann).await, Err(StoreError::Conflict)),
        "a write from a stale read is refused"
    );
    assert_eq!(
        store.get_agent(&acme, "ann").await.unwrap().unwrap().role,
        Role::Admin
    );
    let other = TenantId::parse("other").unwrap();
    assert_eq!(
        store.get_agent(&other, "ann").await.unwrap().unwrap().role,
        Role::Agent,
        "another tenant's ann is another agent"
    );
    assert!(store.get_agent(&acme, "nobody").await.unwrap().is_none());
    assert!(matches!(
        store.update_agent(&agent("acme", "nobody")).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn sessions_are_found_by_hash_touched_and_deleted(kind: Kind) {
    // The data dir lives as long as the test: readers open it lazily.
    let made = make(kind).await;
    let b = &made.backend;
    let store = b.agents.as_ref();
    let ann = agent("acme", "ann");
    let now = "2026-11-25T01:00:00Z".parse().unwrap();
    let made = Session::start(&ann, now);
    store.create_session(&made.session).await.unwrap();
    assert_eq!(
        store.find_session(&made.session.hash).await.unwrap(),
        Some(made.session.clone())
    );
    assert!(store.find_session(&made.token).await.unwrap().is_none());
    let mut later = made.session.clone();
    later.last_seen_at = "2026-11-25T02:00:00Z".parse().unwrap();
    store.touch_session(&later).await.unwrap();
    assert_eq!(
        store.find_session(&later.hash).await.unwrap(),
        Some(later.clone())
    );
    store.delete_session(&later.hash).await.unwrap();
    assert!(store.find_session(&later.hash).await.unwrap().is_none());
    store.delete_session(&later.hash).await.unwrap();
    store.touch_session(&later).await.unwrap();
    assert!(
        store.find_session(&later.hash).await.unwrap().is_none(),
        "a touch does not bring a signed-out session back"
    );
}

crate::on_every_backend!(
    agents_round_trip_per_tenant,
    sessions_are_found_by_hash_touched_and_deleted
);
