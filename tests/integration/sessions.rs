//! Agents signed in with the session cookie: sign-in, expiry, revocation,
//! lockout, CSRF, impersonation, roles, notes and hand-overs.

use crate::backends::Kind;
use crate::helpers::{ApiReply, NOW, TENANT, TestApp, spawn_app, spawn_on, with_json};
use afureko::domain::agent::{AgentAccount, Role};
use afureko::domain::tenant::TenantSettings;
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

const PASSWORD: &str = "a long enough password";

/// A browser: the session cookie and the CSRF token it was given.
pub(crate) struct Browser {
    cookie: String,
    csrf: String,
}

impl TestApp {
    /// Adds an agent whose password is already chosen.
    pub(crate) async fn add_agent(&self, tenant: &str, login: &str, role: Role) -> AgentAccount {
        let mut agent = AgentAccount::new(
            afureko::domain::ids::TenantId::parse(tenant).unwrap(),
            login.into(),
            format!("{login} san"),
            role,
            PASSWORD,
            NOW.parse().unwrap(),
        )
        .unwrap();
        agent.must_change_password = false;
        self.backend.agents.create_agent(&agent).await.unwrap();
        agent
    }

    async fn sign_in_as(&self, tenant: &str, login: &str, password: &str) -> ApiReply {
        let request = Request::post("/api/v1/sessions")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"tenant": tenant, "login": login, "password": password}).to_string(),
            ))
            .unwrap();
        self.send(request).await
    }

    pub(crate) async fn browser(&self, login: &str) -> Browser {
        self.browser_in(TENANT, login).await
    }

    pub(crate) async fn browser_in(&self, tenant: &str, login: &str) -> Browser {
        let reply = self.sign_in_as(tenant, login, PASSWORD).await;
        assert_eq!(
            reply.status,
            201,
            "{}",
            String::from_utf8_lossy(&reply.bytes)
        );
        browser_of(&reply)
    }

    /// A request with the cookie, and the CSRF header when `csrf`.
    pub(crate) async fn as_browser(
        &self,
        b: &Browser,
        method: &str,
        path: &str,
        body: Option<Value>,
        csrf: bool,
    ) -> ApiReply {
        self.send(browser_request_of(b, method, path, body, csrf, None))
            .await
    }

    /// `browse` with an Idempotency-Key.
    pub(crate) async fn browse_keyed(
        &self,
        b: &Browser,
        method: &str,
        path: &str,
        body: Option<Value>,
        idempotency_key: &str,
    ) -> ApiReply {
        let request = browser_request_of(b, method, path, body, true, Some(idempotency_key));
        self.send(request).await
    }

    pub(crate) async fn browse(
        &self,
        b: &Browser,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> ApiReply {
        self.as_browser(b, method, path, body, true).await
    }

    fn later(&self, minutes: i64) {
        let at = NOW
            .parse::<jiff::Timestamp>()
            .unwrap()
            .checked_add(jiff::SignedDuration::from_mins(minutes))
            .unwrap();
        self.clock.set(at);
    }
}

/// A request of browser `b` with the cookie, the CSRF header when `csrf`,
/// and the Idempotency-Key if one.
pub(crate) fn browser_request_of(
    b: &Browser,
    method: &str,
    path: &str,
    body: Option<Value>,
    csrf: bool,
    idempotency_key: Option<&str>,
) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("cookie", format!("afureko_session={}", b.cookie));
    if csrf {
        request = request.header("x-csrf-token", &b.csrf);
    }
    if let Some(key) = idempotency_key {
        request = request.header("idempotency-key", key);
    }
    with_json(request, body)
}

fn browser_of(reply: &ApiReply) -> Browser {
    let set_cookie = reply.headers["set-cookie"].to_str().unwrap();
    let cookie = set_cookie
        .strip_prefix("afureko_session=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned();
    Browser {
        cookie,
        csrf: reply.json()["csrf_token"].as_str().unwrap().to_owned(),
    }
}

fn cb(id: &str, action: &str) -> String {
    format!("/api/v1/callbacks/{id}{action}")
}

#[tokio::test]
async fn sign_in_me_and_sign_out() {
    let app = spawn_app().await;
    app.add_agent(TENANT, "ann", Role::Supervisor).await;
    let reply = app.sign_in_as(TENANT, " Ann ", PASSWORD).await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.json()["login"], "ann");
    assert_eq!(reply.json()["role"], "supervisor");
    assert_eq!(reply.json()["time_zone"], "Asia/Tokyo");
    let set_cookie = reply.headers["set-cookie"].to_str().unwrap();
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Secure",
        "Max-Age=604800",
    ] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    let b = browser_of(&reply);
    assert_eq!(b.cookie.len(), 64);

    let me = app.browse(&b, "GET", "/api/v1/me", None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["csrf_token"], b.csrf.as_str());

    let no_csrf = app
        .as_browser(&b, "DELETE", "/api/v1/sessions/current", None, false)
        .await;
    assert_eq!(no_csrf.status, 403);
    let out = app
        .browse(&b, "DELETE", "/api/v1/sessions/current", None)
        .await;
    assert_eq!(out.status, 204);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("afureko_session=; ")
    );
    let after = app.browse(&b, "GET", "/api/v1/me", None).await;
    assert_eq!(after.status, 401);
}

#[tokio::test]
async fn wrong_logins_and_passwords_get_one_message_and_lock_the_login() {
    let app = spawn_app().await;
    app.add_agent(TENANT, "ann", Role::Agent).await;
    let wrong_password = app.sign_in_as(TENANT, "ann", "not the password").await;
    let wrong_login = app.sign_in_as(TENANT, "nobody", PASSWORD).await;
    let wrong_tenant = app.sign_in_as("ghost", "ann", PASSWORD).await;
    for reply in [&wrong_password, &wrong_login, &wrong_tenant] {
        assert_eq!(reply.status, 401);
        assert_eq!(reply.json(), wrong_password.json());
        assert!(!reply.headers.contains_key("set-cookie"));
    }
    for _ in 1..5 {
        app.sign_in_as(TENANT, "ann", "not the password").await;
    }
    let locked = app.sign_in_as(TENANT, "ann", PASSWORD).await;
    assert_eq!(locked.status, 429, "the right password too, while locked");
    assert_eq!(locked.error_code(), "too_many_requests");
    app.later(15);
    assert_eq!(app.sign_in_as(TENANT, "ann", PASSWORD).await.status, 201);
}

#[tokio::test]
async fn unknown_and_disabled_logins_lock_like_real_ones() {
    let app = spawn_app().await;
    app.add_agent(TENANT, "ann", Role::Agent).await;
    let mut dan = app.add_agent(TENANT, "dan", Role::Agent).await;
    dan.disable(NOW.parse().unwrap());
    app.backend.agents.update_agent(&dan).await.unwrap();
    // What a guesser sees: status, body and Retry-After of each try.
    let answers = |tenant: &'static str, login: &'static str| {
        let app = &app;
        async move {
            let mut seen = Vec::new();
            for _ in 0..7 {
                let reply = app.sign_in_as(tenant, login, "a wrong guess!").await;
                let retry = reply
                    .headers
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                seen.push((reply.status, reply.json(), retry));
            }
            seen
        }
    };
    let known = answers(TENANT, "ann").await;
    assert_eq!(known[4].0, 401);
    assert_eq!(known[5].0, 429, "five wrong passwords lock a login");
    assert_eq!(known[5].2.as_deref(), Some("900"));
    for (tenant, login) in [(TENANT, "nobody"), (TENANT, "dan"), ("ghost", "ann")] {
        assert_eq!(answers(tenant, login).await, known, "{tenant}/{login}");
    }
    // Case and spaces name the same login, as for a real one.
    assert_eq!(app.sign_in_as(TENANT, " NOBODY ", "x").await.status, 429);
    app.later(15);
    let unlocked = app.sign_in_as(TENANT, "nobody", "a wrong guess!").await;
    assert_eq!(
        unlocked.status, 401,
        "the lock lasts 15 minutes, as a real one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_passwords_all_count() {
    let app = spawn_app().await;
    app.add_agent(TENANT, "ann", Role::Agent).await;
    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..5 {
        let router = app.router();
        let body =
            json!({"tenant": TENANT, "login": "ann", "password": format!("guess number {n}")});
        let request = Request::post("/api/v1/sessions")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        guesses.spawn(crate::helpers::send_to(router, request));
    }
    for reply in guesses.join_all().await {
        assert_eq!(reply.status, 401);
    }
    let locked = app.sign_in_as(TENANT, "ann", PASSWORD).await;
    assert_eq!(
        locked.status, 429,
        "five guesses at once lock the login too"
    );
}

#[tokio::test]
async fn sessions_expire_when_idle_and_after_seven_days() {
    let app = spawn_app().await;
    app.add_agent(TENANT, "ann", Role::Agent).await;
    let idle = app.browser("ann").await;
    app.later(12 * 60);
    assert_eq!(
        app.browse(&idle, "GET", "/api/v1/me", None).await.status,
        401
    );

    app.later(0);
    let busy = app.browser("ann").await;
    // Used every 11 hours it stays, until 7 days (168 h) after sign-in.
    for step in 1..=15 {
        app.later(step * 11 * 60);
        let me = app.browse(&busy, "GET", "/api/v1/me", None).await;
        assert_eq!(me.status, 200, "after {} h", step * 11);
    }
    app.later(16 * 11 * 60);
    assert_eq!(
        app.browse(&busy, "GET", "/api/v1/me", None).await.status,
        401
    );
}

#[tokio::test]
async fn disabling_an_agent_ends_its_sessions_and_sign_ins() {
    let app = spawn_app().await;
    let mut ann = app.add_agent(TENANT, "ann", Role::Agent).await;
    let b = app.browser("ann").await;
    ann.disable(NOW.parse().unwrap());
    app.backend.agents.update_agent(&ann).await.unwrap();
    assert_eq!(app.browse(&b, "GET", "/api/v1/me", None).await.status, 401);
    let again = app.sign_in_as(TENANT, "ann", PASSWORD).await;
    assert_eq!(again.status, 401);
    assert_eq!(
        again.json()["error"]["message"],
        "wrong tenant, login or password"
    );
}

#[tokio::test]
async fn cookie_requests_need_the_csrf_token_and_act_as_the_agent() {
    let app = spawn_app().await;
    app.add_agent(TENANT, "ann", Role::Agent).await;
    let b = app.browser("ann").await;
    let seeded = app.seed(TENANT, 0).await;
    let id = seeded.id.to_string();

    let listed = app.browse(&b, "GET", "/api/v1/callbacks", None).await;
    assert_eq!(listed.status, 200, "reading needs no CSRF token");
    let masked = seeded.callback_number.masked();
    assert!(masked.starts_with("+81*****"), "{masked}");
    assert_eq!(
        listed.json()["items"][0]["callback_number"],
        masked.as_str()
    );

    let forged = app
        .as_browser(&b, "POST", &cb(&id, "/claim"), Some(json!({})), false)
        .await;
    assert_eq!(forged.status, 403);
    let wrong = Browser {
        cookie: b.cookie.clone(),
        csrf: "0".repeat(64),
    };
    let forged = app
        .browse(&wrong, "POST", &cb(&id, "/claim"), Some(json!({})))
        .await;
    assert_eq!(forged.status, 403);

    let as_bob = app
        .browse(
            &b,
            "POST",
            &cb(&id, "/claim"),
            Some(json!({"agent": "bob"})),
        )
        .await;
    assert_eq!(as_bob.status, 403);
    assert_eq!(as_bob.error_code(), "forbidden");

    let claimed = app
        .browse(&b, "POST", &cb(&id, "/claim"), Some(json!({})))
        .await;
    assert_eq!(claimed.status, 200);
    assert_eq!(claimed.json()["claimed_by"], "ann");
    assert_eq!(
        claimed.json()["callback_number"],
        seeded.callback_number.as_str(),
        "the holder sees the whole number"
    );
    let listed = app.browse(&b, "GET", "/api/v1/callbacks", None).await;
    assert_eq!(
        listed.json()["items"][0]["callback_number"],
        masked.as_str(),
        "the list masks it for the holder too"
    );
    let named = app
        .browse(
            &b,
            "POST",
            &cb(&id, "/attempts"),
            Some(json!({"agent": "ann", "outcome": "no_answer"})),
        )
        .await;
    assert_eq!(named.status, 200, "naming oneself is fine");
    assert_eq!(named.json()["attempts"][0]["agent"], "ann");
}

#[tokio::test]
async fn a_new_password_is_chosen_first_and_ends_other_sessions() {
    let app = spawn_app().await;
    let mut ann = app.add_agent(TENANT, "ann", Role::Agent).await;
    ann.must_change_password = true;
    app.backend.agents.update_agent(&ann).await.unwrap();
    let first = app.browser("ann").await;
    let other = app.browser("ann").await;
    assert_eq!(
        app.browse(&first, "GET", "/api/v1/me", None).await.json()["must_change_password"],
        true
    );
    let gated = app.browse(&first, "GET", "/api/v1/callbacks", None).await;
    assert_eq!(gated.status, 403);
    assert!(
        gated.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("POST /api/v1/me/password")
    );
    let wrong = app
        .browse(
            &first,
            "POST",
            "/api/v1/me/password",
            Some(json!({"current_password": "nope", "new_password": "my own new password"})),
        )
        .await;
    // A wrong current password is an input refused, not a session ended:
    // its own code, the field it is about, and the session stays.
    assert_eq!(wrong.status, 400);
    assert_eq!(
        wrong.json(),
        json!({"error": {"code": "wrong_password", "message": "the current password is wrong", "field": "current_password"}})
    );
    let still = app.browse(&first, "GET", "/api/v1/me", None).await;
    assert_eq!(still.status, 200);
    assert_eq!(still.json()["must_change_password"], true);
    let short = app
        .browse(
            &first,
            "POST",
            "/api/v1/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": "short"})),
        )
        .await;
    assert_eq!(short.status, 400);
    let changed = app
        .browse(
            &first,
            "POST",
            "/api/v1/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": "my own new password"})),
        )
        .await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.json()["must_change_password"], false);
    let renewed = browser_of(&changed);
    assert_eq!(
        app.browse(&renewed, "GET", "/api/v1/callbacks", None)
            .await
            .status,
        200
    );
    for ended in [&first, &other] {
        assert_eq!(
            app.browse(ended, "GET", "/api/v1/me", None).await.status,
            401
        );
    }
    let signed = app.sign_in_as(TENANT, "ann", "my own new password").await;
    assert_eq!(signed.status, 201);
}

async fn roles_decide_who_hands_over_and_who_manages_agents(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "ann", Role::Agent).await;
    app.add_agent(TENANT, "bob", Role::Agent).await;
    app.add_agent(TENANT, "sue", Role::Supervisor).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let (ann, bob, sue, ada) = (
        app.browser("ann").await,
        app.browser("bob").await,
        app.browser("sue").await,
        app.browser("ada").await,
    );
    let id = app.seed(TENANT, 0).await.id.to_string();
    app.browse(&ann, "POST", &cb(&id, "/claim"), Some(json!({})))
        .await;

    let taken = app
        .browse(&bob, "POST", &cb(&id, "/claim"), Some(json!({})))
        .await;
    assert_eq!(taken.status, 409);
    assert_eq!(taken.json()["error"]["message"], "claimed by ann");
    // The page reads who holds it from `holder`, never from the message.
    assert_eq!(
        taken.json(),
        json!({"error": {"code": "conflict", "message": "claimed by ann", "holder": "ann"}})
    );
    let grab = app
        .browse(
            &bob,
            "POST",
            &cb(&id, "/assign"),
            Some(json!({"to": "bob"})),
        )
        .await;
    assert_eq!(grab.status, 403, "an agent cannot take another's record");

    let handed = app
        .browse(
            &ann,
            "POST",
            &cb(&id, "/assign"),
            Some(json!({"to": "bob", "note": "bob knows this customer"})),
        )
        .await;
    assert_eq!(handed.status, 200);
    assert_eq!(handed.json()["claimed_by"], "bob");
    let reassigned = app
        .browse(
            &sue,
            "POST",
            &cb(&id, "/assign"),
            Some(json!({"to": "ann"})),
        )
        .await;
    assert_eq!(reassigned.status, 200, "a supervisor reassigns");
    let notes = reassigned.json()["notes"].clone();
    assert_eq!(notes[0]["agent"], "ann");
    assert_eq!(notes[0]["handed_to"], "bob");
    assert_eq!(notes[0]["text"], "bob knows this customer");
    assert_eq!(notes[1]["handed_to"], "ann");
    let stored = app.browse(&sue, "GET", &cb(&id, ""), None).await;
    assert_eq!(stored.json()["status"], "claimed");
    assert_eq!(stored.json()["claimed_by"], "ann");
    assert_eq!(stored.json()["notes"], notes, "the hand-over is stored");
    let nobody = app
        .browse(
            &sue,
            "POST",
            &cb(&id, "/assign"),
            Some(json!({"to": "ghost"})),
        )
        .await;
    assert_eq!(nobody.status, 400);

    let new_agent = json!({"login": "cat", "name": "Cat", "role": "agent"});
    for who in [&ann, &sue] {
        let refused = app
            .browse(who, "POST", "/api/v1/agents", Some(new_agent.clone()))
            .await;
        assert_eq!(refused.status, 403);
    }
    let key = app.api_key().await;
    let by_key = app
        .api("POST", "/api/v1/agents", &key, Some(new_agent.clone()))
        .await;
    assert_eq!(by_key.status, 403, "API keys do not manage agents");
    let added = app
        .browse(&ada, "POST", "/api/v1/agents", Some(new_agent.clone()))
        .await;
    assert_eq!(added.status, 201);
    let initial = added.json()["initial_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let cat = app.sign_in_as(TENANT, "cat", &initial).await;
    assert_eq!(cat.json()["must_change_password"], true);
    let cat = browser_of(&cat);
    let promoted = app
        .browse(
            &ada,
            "PATCH",
            "/api/v1/agents/cat",
            Some(json!({"role": "supervisor"})),
        )
        .await;
    assert_eq!(promoted.json()["role"], "supervisor");
    let disabled = app
        .browse(
            &ada,
            "PATCH",
            "/api/v1/agents/cat",
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(disabled.json()["active"], false);
    assert_eq!(
        app.browse(&cat, "GET", "/api/v1/me", None).await.status,
        401
    );
    let reset = app
        .browse(&ada, "POST", "/api/v1/agents/bob/password", None)
        .await;
    assert_eq!(reset.status, 200);
    assert_eq!(
        app.browse(&bob, "GET", "/api/v1/me", None).await.status,
        401
    );
    let list = app.browse(&ann, "GET", "/api/v1/agents", None).await;
    assert_eq!(list.json().as_array().unwrap().len(), 5);
}

async fn notes_are_in_the_history_for_colleagues(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "ann", Role::Agent).await;
    let ann = app.browser("ann").await;
    let id = app.seed(TENANT, 0).await.id.to_string();
    let probe = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let noted = app
        .browse(
            &ann,
            "POST",
            &cb(&id, "/notes"),
            Some(json!({"text": probe})),
        )
        .await;
    assert_eq!(noted.status, 200);
    assert_eq!(noted.json()["notes"][0]["text"], probe, "kept as typed");
    assert_eq!(noted.json()["notes"][0]["agent"], "ann");
    assert_eq!(noted.json()["status"], "pending", "a note claims nothing");
    let empty = app
        .browse(
            &ann,
            "POST",
            &cb(&id, "/notes"),
            Some(json!({"text": "  "})),
        )
        .await;
    assert_eq!(empty.status, 400);
    let key = app.api_key().await;
    let by_key = app
        .api(
            "POST",
            &cb(&id, "/notes"),
            &key,
            Some(json!({"agent": "desk", "text": "from the CRM"})),
        )
        .await;
    assert_eq!(by_key.json()["notes"][1]["agent"], "desk");
    let anonymous = app
        .api(
            "POST",
            &cb(&id, "/notes"),
            &key,
            Some(json!({"text": "who?"})),
        )
        .await;
    assert_eq!(anonymous.status, 400, "an API key names the agent");
    let stored = app.api("GET", &cb(&id, ""), &key, None).await.json();
    let texts: Vec<&str> = stored["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, [probe, "from the CRM"]);
}

async fn a_session_sees_only_its_own_tenant(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_tenant("other").await;
    app.add_agent(TENANT, "ann", Role::Admin).await;
    let ann = app.browser("ann").await;
    let theirs = app.seed("other", 0).await.id.to_string();
    let read = app.browse(&ann, "GET", &cb(&theirs, ""), None).await;
    assert_eq!(read.status, 404);
    let claim = app
        .browse(&ann, "POST", &cb(&theirs, "/claim"), Some(json!({})))
        .await;
    assert_eq!(claim.status, 404);
    let list = app.browse(&ann, "GET", "/api/v1/callbacks", None).await;
    assert_eq!(list.json()["items"], json!([]));
}

crate::on_every_backend!(
    roles_decide_who_hands_over_and_who_manages_agents,
    notes_are_in_the_history_for_colleagues,
    a_session_sees_only_its_own_tenant,
);
