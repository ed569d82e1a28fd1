//! The `AgentStore` rules, on every backend.

use crate::backends::{Kind, make};
use afureko::domain::agent::{AgentAccount, Role, Session};
use afureko::domain::ids::TenantId;
use afureko::store::StoreError;

fn agent(tenant: &str, login: &str) -> AgentAccount {
    agent_as(tenant, login, Role::Agent)
}

fn agent_as(tenant: &str, login: &str, role: Role) -> AgentAccount {
    AgentAccount::new(
        TenantId::parse(tenant).unwrap(),
        login.into(),
        format!("{login} name"),
        role,
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

/// A change that takes away an active admin needs another one left. (At
/// once, from two admins: tests/integration/races.rs.)
async fn a_tenant_keeps_an_active_admin(kind: Kind) {
    let made = make(kind).await;
    let store = made.backend.agents.as_ref();
    let acme = TenantId::parse("acme").unwrap();
    for (login, role) in [
        ("ada", Role::Admin),
        ("bob", Role::Admin),
        ("ann", Role::Agent),
    ] {
        store
            .create_agent(&agent_as("acme", login, role))
            .await
            .unwrap();
    }
    store.create_agent(&agent("other", "solo")).await.unwrap();
    let read = |tenant: &'static str, login: &'static str| async move {
        let tenant = TenantId::parse(tenant).unwrap();
        store.get_agent(&tenant, login).await.unwrap().unwrap()
    };
    let now = "2026-11-25T01:00:00Z".parse().unwrap();
    let keeping = |a: AgentAccount| async move { store.update_agent_keeping_an_admin(&a).await };

    let mut bob = read("acme", "bob").await;
    bob.role = Role::Agent;
    keeping(bob).await.unwrap();
    let mut demoted = read("acme", "ada").await;
    demoted.role = Role::Supervisor;
    let mut disabled = read("acme", "ada").await;
    disabled.disable(now);
    for change in [demoted, disabled] {
        let refused = keeping(change).await;
        assert!(
            matches!(&refused, Err(StoreError::LastAdmin(login)) if login == "ada"),
            "{refused:?}"
        );
    }
    let ada = read("acme", "ada").await;
    assert_eq!((ada.role, ada.is_active()), (Role::Admin, true));
    // What takes no admin away passes: a new name, a change to another agent.
    let mut renamed = ada.clone();
    renamed.name = "Ada Lovelace".into();
    keeping(renamed).await.unwrap();
    let mut ann = read("acme", "ann").await;
    ann.disable(now);
    keeping(ann).await.unwrap();
    // A tenant without admins keeps none: its agents change as before.
    let mut solo = read("other", "solo").await;
    solo.disable(now);
    keeping(solo).await.unwrap();
    // With bob admin again, ada may go; a stale read is a conflict as ever.
    let mut bob = read("acme", "bob").await;
    bob.role = Role::Admin;
    keeping(bob).await.unwrap();
    let mut ada = read("acme", "ada").await;
    let stale = ada.clone();
    ada.disable(now);
    keeping(ada).await.unwrap();
    assert!(matches!(keeping(stale).await, Err(StoreError::Conflict)));
    let admins: Vec<String> = store
        .list_agents(&acme)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.role == Role::Admin && a.is_active())
        .map(|a| a.login)
        .collect();
    assert_eq!(admins, ["bob"]);
}

crate::on_every_backend!(
    a_tenant_keeps_an_active_admin,
    agents_round_trip_per_tenant,
    sessions_are_found_by_hash_touched_and_deleted
);
