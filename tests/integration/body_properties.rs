//! Generated bodies through the real Router: whatever a client sends to a
//! JSON route is answered below 500, a refusal in the documented error
//! shape; valid bodies are stored and answered as sent. (The body types'
//! own properties, many more cases, are in src/http/extract.rs.)

use crate::helpers::{ApiReply, NOW, TENANT, TestApp, send_to, spawn_app};
use afureko::domain::agent::{AgentAccount, Role};
use afureko::domain::ids::TenantId;
use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};

const PASSWORD: &str = "a long enough password";

/// Every route that reads a JSON body, who calls it, and its body's fields.
#[derive(Clone, Copy, Debug)]
enum Caller {
    Key,
    Session,
    Nobody,
}

type Route = (&'static str, &'static str, Caller, &'static [&'static str]);

const ROUTES: [Route; 10] = [
    (
        "POST",
        "/api/v1/callbacks/{id}/claim",
        Caller::Key,
        &["agent"],
    ),
    (
        "POST",
        "/api/v1/callbacks/{id}/release",
        Caller::Key,
        &["agent"],
    ),
    (
        "POST",
        "/api/v1/callbacks/{id}/attempts",
        Caller::Key,
        &["agent", "outcome", "note"],
    ),
    (
        "POST",
        "/api/v1/callbacks/{id}/complete",
        Caller::Key,
        &["agent", "note"],
    ),
    (
        "POST",
        "/api/v1/callbacks/{id}/notes",
        Caller::Session,
        &["agent", "text"],
    ),
    (
        "POST",
        "/api/v1/callbacks/{id}/assign",
        Caller::Key,
        &["agent", "to", "note"],
    ),
    (
        "POST",
        "/api/v1/sessions",
        Caller::Nobody,
        &["tenant", "login", "password"],
    ),
    (
        "POST",
        "/api/v1/me/password",
        Caller::Session,
        &["current_password", "new_password"],
    ),
    (
        "POST",
        "/api/v1/agents",
        Caller::Session,
        &["login", "name", "role"],
    ),
    (
        "PATCH",
        "/api/v1/agents/bob",
        Caller::Session,
        &["name", "role", "active"],
    ),
];

const FIELDS: [&str; 13] = [
    "agent",
    "outcome",
    "note",
    "text",
    "to",
    "tenant",
    "login",
    "password",
    "current_password",
    "new_password",
    "name",
    "role",
    "active",
];

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(&["reached", "bob", "ann", "admin", TENANT, ""][..])
            .prop_map(Value::from),
        ".{0,30}".prop_map(Value::from),
    ];
    let key = prop_oneof![
        3 => prop::sample::select(&FIELDS[..]).prop_map(str::to_owned),
        1 => ".{0,8}",
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Mostly the route's own fields (each likely there) with any values, so
/// many bodies get past parsing into the rules; then any JSON, any bytes.
fn any_body(fields: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        1 => any_json(),
        4 => prop::sample::select(
            &[
                "ann",
                " bob ",
                "reached",
                "no_answer",
                "agent",
                "admin",
                TENANT,
                PASSWORD,
                "   ",
            ][..]
        )
        .prop_map(Value::from),
        1 => "\\PC{0,150}".prop_map(Value::from),
    ];
    let fielded = prop::collection::vec(prop::option::weighted(0.85, value), fields.len())
        .prop_map(move |values| {
            let map: serde_json::Map<String, Value> = fields
                .iter()
                .zip(values)
                .filter_map(|(k, v)| v.map(|v| ((*k).to_owned(), v)))
                .collect();
            Value::Object(map).to_string().into_bytes()
        });
    prop_oneof![
        6 => fielded,
        2 => any_json().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..120),
    ]
}

struct Setup {
    app: TestApp,
    key: String,
    cookie: String,
    csrf: String,
}

impl Setup {
    async fn new() -> Setup {
        let app = spawn_app().await;
        for (login, role) in [("ann", Role::Admin), ("bob", Role::Agent)] {
            let mut agent = AgentAccount::new(
                TenantId::parse(TENANT).unwrap(),
                login.into(),
                login.into(),
                role,
                PASSWORD,
                NOW.parse().unwrap(),
            )
            .unwrap();
            agent.must_change_password = false;
            app.backend.agents.create_agent(&agent).await.unwrap();
        }
        let key = app.api_key().await;
        let signed = app
            .send(json_request(
                "POST",
                "/api/v1/sessions",
                Caller::Nobody,
                json!({"tenant": TENANT, "login": "ann", "password": PASSWORD})
                    .to_string()
                    .into_bytes(),
                None,
            ))
            .await;
        assert_eq!(signed.status, 201);
        let cookie = signed.headers["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let csrf = signed.json()["csrf_token"].as_str().unwrap().to_owned();
        Setup {
            app,
            key,
            cookie,
            csrf,
        }
    }

    async fn send(&self, method: &str, path: &str, caller: Caller, body: Vec<u8>) -> ApiReply {
        let auth = match caller {
            Caller::Key => Some((format!("Bearer {}", self.key), None)),
            Caller::Session => Some((self.cookie.clone(), Some(self.csrf.clone()))),
            Caller::Nobody => None,
        };
        send_to(
            self.app.router(),
            json_request(method, path, caller, body, auth),
        )
        .await
    }
}

fn json_request(
    method: &str,
    path: &str,
    caller: Caller,
    body: Vec<u8>,
    auth: Option<(String, Option<String>)>,
) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    match (caller, auth) {
        (Caller::Key, Some((bearer, _))) => request = request.header("authorization", bearer),
        (Caller::Session, Some((cookie, csrf))) => {
            request = request.header("cookie", cookie);
            if let Some(csrf) = csrf {
                request = request.header("x-csrf-token", csrf);
            }
        }
        _ => {}
    }
    request.body(Body::from(body)).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn any_body_on_any_json_route_is_answered_below_500_in_the_documented_shape() {
    let rt = runtime();
    let setup = rt.block_on(Setup::new());
    let mut runner = TestRunner::new(Config::with_cases(64));
    let cases =
        prop::sample::select(&ROUTES[..]).prop_flat_map(|route| (Just(route), any_body(route.3)));
    runner
        .run(&cases, |((method, path, caller, _), body)| {
            let reply = rt.block_on(async {
                let record = setup.app.seed(TENANT, 10).await;
                let path = path.replace("{id}", &record.id.to_string());
                setup.send(method, &path, caller, body).await
            });
            let text = String::from_utf8_lossy(&reply.bytes);
            prop_assert!(
                reply.status < 500,
                "{method} {path}: {} {text}",
                reply.status
            );
            if reply.status >= 400 {
                let body = reply.json();
                let error = &body["error"];
                prop_assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{}", text);
                // `field` on a 400 about one input, `holder` on a claim's
                // 409: the documented optional members.
                let optional = match reply.status {
                    400 => error.get("field"),
                    409 => error.get("holder"),
                    _ => None,
                };
                let members = 2 + usize::from(optional.is_some());
                prop_assert_eq!(
                    error.as_object().map(|o| o.len()),
                    Some(members),
                    "{}",
                    text
                );
                prop_assert!(
                    optional.is_none_or(|v| v.as_str().is_some_and(|v| !v.is_empty())),
                    "{}",
                    text
                );
                prop_assert!(error["code"].as_str().is_some_and(|c| !c.is_empty()));
                prop_assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
            }
            Ok(())
        })
        .unwrap();
}

/// A name the API accepts: printable, not blank, at most 100 characters.
fn agent_name() -> impl Strategy<Value = String> {
    "[ a-zA-Z0-9._\u{3042}-\u{3093}]{1,100}".prop_filter("not blank", |s| !s.trim().is_empty())
}

fn outcome() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["reached", "no_answer", "busy", "voicemail", "wrong_number"][..])
}

#[test]
fn valid_bodies_are_stored_and_answered_as_sent() {
    let rt = runtime();
    let setup = rt.block_on(Setup::new());
    let next = AtomicU32::new(0);
    let mut runner = TestRunner::new(Config::with_cases(64));
    let strategy = (
        agent_name(),
        outcome(),
        proptest::option::of("\\PC{0,300}"),
        "\\PC{0,300}".prop_filter("not blank", |s| !s.trim().is_empty()),
        "[a-z0-9._]{1,50}",
        agent_name(),
        prop::sample::select(&["agent", "supervisor", "admin"][..]),
    );
    runner
        .run(
            &strategy,
            |(name, outcome, note, text, login, display, role)| {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let login = format!("{login}-{n}");
                let s = &setup;
                let (id, stored, answered, agent, patched) = rt.block_on(async {
                    let record = s.app.seed(TENANT, 10).await;
                    let id = record.id.to_string();
                    let post = |action: &str, body: Value| {
                        let path = format!("/api/v1/callbacks/{id}/{action}");
                        let body = body.to_string().into_bytes();
                        async move { s.send("POST", &path, Caller::Key, body).await }
                    };
                    let claimed = post("claim", json!({"agent": name})).await;
                    assert_eq!(claimed.status, 200, "{}", claimed.json());
                    assert_eq!(claimed.json()["claimed_by"], name.trim());
                    let attempt = json!({"agent": name, "outcome": outcome, "note": note});
                    assert_eq!(post("attempts", attempt).await.status, 200);
                    let answered = post("notes", json!({"agent": name, "text": text})).await;
                    let got = s
                        .send(
                            "GET",
                            &format!("/api/v1/callbacks/{id}"),
                            Caller::Key,
                            vec![],
                        )
                        .await;
                    let new = json!({"login": login, "name": display, "role": role});
                    let agent = s
                        .send(
                            "POST",
                            "/api/v1/agents",
                            Caller::Session,
                            new.to_string().into(),
                        )
                        .await;
                    let change = json!({"name": name}).to_string().into_bytes();
                    let patched = s
                        .send(
                            "PATCH",
                            &format!("/api/v1/agents/{login}"),
                            Caller::Session,
                            change,
                        )
                        .await;
                    (id, got, answered, agent, patched)
                });
                prop_assert_eq!(answered.status, 200, "{}", answered.json());
                let record = answered.json();
                prop_assert_eq!(
                    &stored.json(),
                    &record,
                    "what is stored is what was answered"
                );
                prop_assert_eq!(&record["id"], &Value::from(id));
                let attempts = record["attempts"].as_array().unwrap();
                prop_assert_eq!(attempts.len(), 1);
                let kept_note = note.filter(|n| !n.trim().is_empty());
                prop_assert_eq!(&attempts[0]["agent"], name.trim());
                prop_assert_eq!(&attempts[0]["outcome"], outcome);
                prop_assert_eq!(&attempts[0]["note"], &json!(kept_note));
                let notes = record["notes"].as_array().unwrap();
                let last = notes.last().unwrap();
                prop_assert_eq!(&last["agent"], name.trim());
                prop_assert_eq!(&last["text"], text.as_str());

                prop_assert_eq!(agent.status, 201, "{}", agent.json());
                let view = &agent.json()["agent"];
                prop_assert_eq!(&view["login"], login.as_str());
                prop_assert_eq!(&view["name"], display.trim());
                prop_assert_eq!(&view["role"], role);
                prop_assert_eq!(patched.status, 200, "{}", patched.json());
                prop_assert_eq!(&patched.json()["name"], name.trim());
                Ok(())
            },
        )
        .unwrap();
}
