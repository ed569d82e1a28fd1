//! The agents' page: served from the binary with strict security headers,
//! its modules all there, its words in both languages.

use crate::helpers::{TENANT, spawn_app};
use afureko::domain::agent::Role;
use afureko::http::page::{ASSETS, content_type};
use afureko::settings::BaseUrl;
use axum::body::Body;
use axum::http::Request;
use regex::Regex;
use serde_json::json;

#[tokio::test]
async fn the_page_is_served_with_strict_headers_and_no_inline_script() {
    let app = spawn_app().await;
    let root = app
        .send(Request::get("/").body(Body::empty()).unwrap())
        .await;
    assert_eq!(root.status, 303);
    assert_eq!(root.headers["location"], "/app");
    let mut pages = vec![("/app".to_owned(), "text/html; charset=utf-8", INDEX)];
    for (name, text) in ASSETS {
        pages.push((format!("/app/{name}"), content_type(name), text));
    }
    assert_eq!(content_type("app.css"), "text/css; charset=utf-8");
    assert_eq!(content_type("main.js"), "text/javascript; charset=utf-8");
    assert_eq!(content_type("favicon.svg"), "image/svg+xml");
    for (path, kind, text) in pages {
        let reply = app
            .send(Request::get(&path).body(Body::empty()).unwrap())
            .await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.headers["content-type"], kind, "{path}");
        assert_eq!(reply.bytes, text.as_bytes(), "{path}");
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
        // Everything typed goes in as text (dom.js), never as HTML.
        assert!(
            !text.contains("innerHTML") && !text.contains("insertAdjacentHTML"),
            "{path}"
        );
    }
    // Every script has a src, and no element carries an event handler or style.
    assert_eq!(
        INDEX.matches("<script").count(),
        INDEX.matches("<script src=").count()
    );
    assert!(!INDEX.contains(" onclick") && !INDEX.contains(" style="));
    for path in ["/app/nothing.js", "/app/index.html", "/app/mod.rs"] {
        let missing = app
            .send(Request::get(path).body(Body::empty()).unwrap())
            .await;
        assert_eq!(missing.status, 404, "{path}");
        assert_eq!(
            missing.json(),
            json!({"error": {"code": "not_found", "message": "the page has no such file"}}),
            "{path}"
        );
    }
}

/// The page as the browser gets it: `/app` and the files it names.
const INDEX: &str = include_str!("../../src/http/page/index.html");

fn asset(name: &str) -> &'static str {
    ASSETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("{name} is not in page::ASSETS"))
        .1
}

/// The modules `text` imports (`import … from './x.js';`).
fn imports(text: &str) -> Vec<String> {
    let import = Regex::new(r#"(?m)^import [^;]* from '\./([\w.-]+)';$"#).unwrap();
    import
        .captures_iter(text)
        .map(|c| c[1].to_owned())
        .collect()
}

/// index.html loads main.js as a module and the style sheet; main.js
/// imports, directly or not, every other module of the table, and every
/// module imported is in it (a missing one fails only in a browser).
#[test]
fn every_module_is_served_and_imported() {
    assert!(INDEX.contains(r#"<script src="/app/main.js" type="module"></script>"#));
    assert!(INDEX.contains(r#"<link rel="stylesheet" href="/app/app.css">"#));
    // The icon is the page's own: the browser asks for no /favicon.ico.
    assert!(INDEX.contains(r#"<link rel="icon" href="/app/favicon.svg" type="image/svg+xml">"#));
    let mut reached = vec!["main.js".to_owned()];
    let mut next = 0;
    while next < reached.len() {
        for module in imports(asset(&reached[next])) {
            if !reached.contains(&module) {
                reached.push(module);
            }
        }
        next += 1;
    }
    reached.sort();
    let mut scripts: Vec<String> = ASSETS
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .filter(|name| name.ends_with(".js"))
        .collect();
    scripts.sort();
    assert_eq!(reached, scripts);
}

/// strings.js, one `key: 'text',` a line per language: (language, key, text);
/// a comment line (`    // …`, naming a feature's block) is skipped.
fn strings() -> Vec<(String, String, String)> {
    let language = Regex::new(r"^  (\w+): \{$").unwrap();
    let entry = Regex::new(r#"^    ('[\w-]+'|\w+): ('[^'\\]+'|"[^"\\]+"),$"#).unwrap();
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    for line in asset("strings.js").lines() {
        if let Some(c) = language.captures(line) {
            current = Some(c[1].to_owned());
        } else if line == "  }," {
            current = None;
        } else if line.starts_with("    // ") {
            // A block's heading: whose keys follow.
        } else if let Some(lang) = &current {
            let c = entry
                .captures(line)
                .unwrap_or_else(|| panic!("not one `key: 'text',` line: {line:?}"));
            let text = &c[2][1..c[2].len() - 1];
            found.push((
                lang.clone(),
                c[1].trim_matches('\'').to_owned(),
                text.to_owned(),
            ));
        }
    }
    found
}

fn keys_of(strings: &[(String, String, String)], lang: &str) -> Vec<String> {
    let mut keys: Vec<String> = strings
        .iter()
        .filter(|(l, _, _)| l == lang)
        .map(|(_, k, _)| k.clone())
        .collect();
    keys.sort();
    keys
}

#[test]
fn japanese_and_english_have_the_same_keys_and_no_empty_text() {
    let strings = strings();
    let languages: std::collections::BTreeSet<&str> =
        strings.iter().map(|(l, _, _)| l.as_str()).collect();
    assert_eq!(languages.into_iter().collect::<Vec<_>>(), ["en", "ja"]);
    let ja = keys_of(&strings, "ja");
    let en = keys_of(&strings, "en");
    assert!(ja.len() > 100, "{}", ja.len());
    let mut unique = ja.clone();
    unique.dedup();
    assert_eq!(unique, ja, "a key twice in ja");
    let mut unique = en.clone();
    unique.dedup();
    assert_eq!(unique, en, "a key twice in en");
    assert_eq!(ja, en);
    for (lang, key, text) in &strings {
        assert!(!text.trim().is_empty(), "{lang}.{key} is empty");
    }
}

/// The keys of what the API sends that the page labels, by key prefix:
/// the values of its enums (`s_pending`…) from the OpenAPI document the page
/// reads them from (schema.js), and the settings' labels and choices from
/// the `fields` of `GET /api/v1/settings`, which the settings form is drawn
/// from (settings.js).
async fn labelled_keys() -> Vec<(&'static str, Vec<String>)> {
    let app = spawn_app().await;
    let doc = app
        .send(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json();
    let schemas = &doc["components"]["schemas"];
    let strings = |v: &serde_json::Value, prefix: &str| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("not an array: {v}"))
            .iter()
            .map(|v| format!("{prefix}{}", v.as_str().unwrap()))
            .collect()
    };
    let mut labelled: Vec<(&'static str, Vec<String>)> = [
        ("s_", "Status"),
        ("r_", "Reason"),
        ("outcome_", "Outcome"),
        ("role_", "Role"),
        ("h_", "HistoryKind"),
        ("cs_", "CallState"),
        ("ce_", "CallEnd"),
        ("rk_", "RecordingKind"),
    ]
    .into_iter()
    .map(|(prefix, schema)| (prefix, strings(&schemas[schema]["enum"], prefix)))
    .collect();
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let admin = app.browser("ada").await;
    let settings = app.browse(&admin, "GET", "/api/v1/settings", None).await;
    assert_eq!(settings.status, 200);
    let fields = settings.json()["fields"].as_array().unwrap().clone();
    let labels = fields
        .iter()
        .map(|f| f["label"].as_str().unwrap().to_owned())
        .collect();
    labelled.push(("set_", labels));
    let choices = fields
        .iter()
        .filter(|f| f["type"] == "enum")
        .flat_map(|f| strings(&f["choices"], "o_"))
        .collect();
    labelled.push(("o_", choices));
    let groups = fields
        .iter()
        .map(|f| format!("g_{}", f["group"].as_str().unwrap()))
        .collect();
    labelled.push(("g_", groups));
    let prompts = fields
        .iter()
        .filter(|f| f["type"] == "prompts")
        .flat_map(|f| strings(&f["choices"], "pk_"))
        .collect();
    labelled.push(("pk_", prompts));
    labelled
}

/// A new value or setting in the API gets a label in both languages, and
/// a label of one the API no longer has goes.
#[tokio::test]
async fn every_value_of_the_api_has_a_label_and_every_label_a_value() {
    let keys = keys_of(&strings(), "ja");
    for (prefix, mut wanted) in labelled_keys().await {
        assert!(!wanted.is_empty(), "{prefix}");
        wanted.sort();
        wanted.dedup();
        let labelled: Vec<String> = keys
            .iter()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        assert_eq!(labelled, wanted, "the labels of {prefix}…");
    }
}

/// Every key the page names exists, and every key is named by the page, or
/// labels a value of the API, or explains an error code (`e_…`).
#[tokio::test]
async fn every_key_is_used_and_every_key_used_exists() {
    let keys = keys_of(&strings(), "ja");
    let code: String = ASSETS
        .iter()
        .filter(|(name, _)| *name != "strings.js")
        .map(|(_, text)| *text)
        .chain([INDEX])
        .collect();
    let named = Regex::new(r#"\bt\('([\w-]+)'|data-t="([\w-]+)""#).unwrap();
    for c in named.captures_iter(&code) {
        let key = c.get(1).or(c.get(2)).unwrap().as_str();
        assert!(keys.iter().any(|k| k == key), "{key} is not in strings.js");
    }
    let prefixes: Vec<&str> = labelled_keys().await.into_iter().map(|(p, _)| p).collect();
    for key in &keys {
        let used = code.contains(&format!("'{key}'"))
            || code.contains(&format!("\"{key}\""))
            || key.starts_with("e_")
            || prefixes.iter().any(|p| key.starts_with(p));
        assert!(used, "{key} is used nowhere");
    }
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
