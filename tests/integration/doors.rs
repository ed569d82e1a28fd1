//! The API and the CLI are two doors to the same use cases: the same
//! change leaves the same audit entry through either, only the actor
//! differs (the signed-in admin, or the operator).

use crate::backends::Kind;
use crate::helpers::*;
use afureko::domain::agent::Role;
use afureko::domain::audit::{AuditAction, AuditEntry};
use afureko::domain::tenant::TenantSettings;
use serde_json::json;
use std::collections::BTreeMap;

impl TestApp {
    /// `afureko <args>` on this app's backend.
    async fn cli(&self, args: &[&str]) {
        afureko::cli::run_on(&self.backend, &self.state.public_url, args)
            .await
            .unwrap_or_else(|e| panic!("afureko {}: {e:#}", args.join(" ")));
    }

    async fn audit_trail(&self) -> Vec<AuditEntry> {
        self.backend
            .audit
            .list_audit(&self.tenant.id, 100)
            .await
            .unwrap()
    }
}

/// An entry as the doors must agree on it: what was done, to which kind of
/// subject (`subjects` maps each door's own subject to one name), what it
/// touched.
type Seen = (AuditAction, String, BTreeMap<String, u64>);

fn seen(entries: &[AuditEntry], actor: &str, subjects: &[(&str, &str)]) -> Vec<Seen> {
    let mut seen: Vec<Seen> = entries
        .iter()
        .filter(|e| e.actor == actor)
        .map(|e| {
            let subject = subjects
                .iter()
                .find(|(own, _)| *own == e.subject)
                .map_or_else(|| e.subject.clone(), |(_, common)| (*common).to_owned());
            (e.action, subject, e.counts.clone())
        })
        .collect();
    seen.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    seen
}

async fn the_cli_and_the_api_leave_the_same_audit_entries(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let admin = app.browser("ada").await;

    // Through the API, as ada.
    let made = app
        .browse(
            &admin,
            "POST",
            "/api/v1/api-keys",
            Some(json!({"name": "desk"})),
        )
        .await
        .json();
    let api_key = made["id"].as_str().unwrap().to_owned();
    let revoke = format!("/api/v1/api-keys/{api_key}");
    assert_eq!(
        app.browse(&admin, "DELETE", &revoke, None).await.status,
        204
    );
    let calls = [
        (
            "POST",
            "/api/v1/agents",
            json!({"login": "bob", "name": "Bob"}),
        ),
        (
            "PATCH",
            "/api/v1/agents/bob",
            json!({"name": "Bobby", "role": "supervisor", "phone": "090-1234-5678"}),
        ),
        ("PATCH", "/api/v1/agents/bob", json!({"active": false})),
        (
            "PATCH",
            "/api/v1/settings",
            json!({"callback_sla_minutes": 30, "language": "en-US"}),
        ),
    ];
    for (method, path, body) in calls {
        let reply = app.browse(&admin, method, path, Some(body)).await;
        assert!(reply.status < 300, "{method} {path}: {}", reply.status);
    }
    let reset = app
        .browse(&admin, "POST", "/api/v1/agents/bob/password", None)
        .await;
    assert_eq!(reset.status, 200);

    // Through the CLI, as the operator: the same changes.
    app.cli(&["api-key", "create", "--tenant", TENANT, "--name", "desk"])
        .await;
    let cli_key = app
        .backend
        .store
        .list_api_keys(&app.tenant.id)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.id != api_key)
        .unwrap()
        .id;
    app.cli(&["api-key", "revoke", "--tenant", TENANT, &cli_key])
        .await;
    let agent = ["--tenant", TENANT, "--login", "carol"];
    app.cli(&[&["agent", "add"][..], &agent, &["--name", "Carol"]].concat())
        .await;
    let change = [
        "--name",
        "Caroline",
        "--role",
        "supervisor",
        "--phone",
        "090-1234-5678",
    ];
    app.cli(&[&["agent", "change"][..], &agent, &change].concat())
        .await;
    app.cli(&[&["agent", "disable"][..], &agent].concat()).await;
    let settings = ["--callback-sla-minutes", "30", "--language", "en-US"];
    app.cli(&[&["tenant", "update", TENANT][..], &settings].concat())
        .await;
    app.cli(&[&["agent", "reset-password"][..], &agent].concat())
        .await;

    let trail = app.audit_trail().await;
    let by_api = seen(&trail, "agent:ada", &[(&api_key, "key"), ("bob", "agent")]);
    let by_cli = seen(&trail, "operator", &[(&cli_key, "key"), ("carol", "agent")]);
    assert_eq!(trail.len(), 14, "{trail:#?}");
    assert_eq!(by_api, by_cli);
    let names = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    };
    let mut expected = vec![
        (AuditAction::ApiKeyCreated, "key".to_owned(), names(&[])),
        (AuditAction::ApiKeyRevoked, "key".to_owned(), names(&[])),
        (AuditAction::AgentAdded, "agent".to_owned(), names(&[])),
        (
            AuditAction::AgentChanged,
            "agent".to_owned(),
            names(&[("name", 1), ("phone", 1), ("role", 1)]),
        ),
        (AuditAction::AgentDisabled, "agent".to_owned(), names(&[])),
        (
            AuditAction::AgentPasswordReset,
            "agent".to_owned(),
            names(&[]),
        ),
        (
            AuditAction::SettingsChanged,
            TENANT.to_owned(),
            names(&[("settings", 2)]),
        ),
    ];
    expected.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(by_api, expected);
    // The doors changed the same things alike.
    let agents = afureko::accounts::agents::list(app.state.deps(), &app.tenant.id)
        .await
        .unwrap();
    let (bob, carol) = (&agents[1], &agents[2]);
    assert_eq!((bob.login.as_str(), carol.login.as_str()), ("bob", "carol"));
    assert_eq!((bob.role, carol.role), (Role::Supervisor, Role::Supervisor));
    assert!(!bob.is_active() && !carol.is_active());
    assert_eq!(bob.phone, carol.phone);
    assert_eq!(
        bob.phone.as_ref().map(ToString::to_string).as_deref(),
        Some("+819012345678")
    );
}

crate::on_every_backend!(the_cli_and_the_api_leave_the_same_audit_entries);
