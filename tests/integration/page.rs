//! The agents' page: served from the binary with strict security headers.

use crate::helpers::{TENANT, spawn_app};
use afureko::domain::agent::Role;
use afureko::settings::BaseUrl;
use axum::body::Body;
use axum::http::Request;
use serde_json::json;

#[tokio::test]
async fn the_page_is_served_with_strict_headers_and_no_inline_script() {
    let app = spawn_app().await;
    let root = app
        .send(Request::get("/").body(Body::empty()).unwrap())
        .await;
    assert_eq!(root.status, 303);
    assert_eq!(root.headers["location"], "/app");
    for (path, kind) in [
        ("/app", "text/html"),
        ("/app/app.js", "text/javascript"),
        ("/app/strings.js", "text/javascript"),
        ("/app/app.css", "text/css"),
    ] {
        let reply = app
            .send(Request::get(path).body(Body::empty()).unwrap())
            .await;
        assert_eq!(reply.status, 200, "{path}");
        assert!(
            reply.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        let csp = reply.headers["content-security-policy"].to_str().unwrap();
        for rule in [
            "default-src 'none'",
            "script-src 'self';",
            "frame-ancestors 'none'",
            "media-src 'self' https:;",
        ] {
            assert!(csp.contains(rule), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(reply.headers["x-content-type-options"], "nosniff");
        assert_eq!(reply.headers["referrer-policy"], "no-referrer");
    }
    let html = app
        .send(Request::get("/app").body(Body::empty()).unwrap())
        .await;
    let html = String::from_utf8(html.bytes).unwrap();
    // Every script has a src, and no element carries an event handler or style.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=").count()
    );
    assert!(!html.contains(" onclick") && !html.contains(" style="));
    let js = app
        .send(Request::get("/app/app.js").body(Body::empty()).unwrap())
        .await;
    let js = String::from_utf8(js.bytes).unwrap();
    assert!(!js.contains("innerHTML") && !js.contains("insertAdjacentHTML"));
}

#[tokio::test]
async fn secure_is_dropped_only_for_plain_http_on_loopback() {
    let app = spawn_app().await;
    app.add_agent(TENANT, "ann", Role::Agent).await;
    for (url, secure) in [
        ("http://127.0.0.1:3000", false),
        ("http://localhost:3000", false),
        ("http://[::1]:3000", false),
        ("http://calls.example.com", true),
        ("https://127.0.0.1:3000", true),
    ] {
        let mut state = app.state.clone();
        state.public_url = BaseUrl::parse("AFUREKO_PUBLIC_URL", url).unwrap();
        let page = crate::helpers::send_to(
            afureko::http::app(state.clone()),
            Request::get("/app").body(Body::empty()).unwrap(),
        )
        .await;
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert_eq!(csp.contains("http://127.0.0.1:*"), !secure, "{url}: {csp}");
        let body = json!({"tenant": TENANT, "login": "ann", "password": "a long enough password"});
        let signed_in = crate::helpers::send_to(
            afureko::http::app(state),
            Request::post("/api/v1/sessions")
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
        assert_eq!(signed_in.status, 201, "{url}");
        let cookie = signed_in.headers["set-cookie"].to_str().unwrap();
        assert!(cookie.starts_with("afureko_session="), "{cookie}");
        let attributes: Vec<&str> = cookie.split("; ").skip(1).collect();
        assert_eq!(attributes.contains(&"Secure"), secure, "{url}: {cookie}");
        assert!(attributes.contains(&"HttpOnly"), "{url}: {cookie}");
    }
}
