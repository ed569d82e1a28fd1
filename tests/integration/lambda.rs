//! The Lambda path itself: the binary under `cargo lambda watch` (the
//! runtime API emulator), invoked with event files by `cargo lambda invoke`.
//! scripts/test installs cargo-lambda (PyPI) and puts it on PATH.

use std::path::Path;
use std::process::{Command, Stdio};

/// Stops the emulator and the function it started when the test ends.
struct Watch(std::process::Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["--", &group]).status();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn invoke(port: u16, event: &str) -> serde_json::Value {
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    // The first invocation waits for the emulator to start the function.
    for _ in 0..120 {
        let out = Command::new("cargo")
            .args([
                "lambda",
                "invoke",
                "afureko",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .arg("--data-file")
            .arg(events.join(event))
            .output()
            .expect("cargo lambda is on PATH (scripts/test installs it)");
        if out.status.success() {
            return serde_json::from_slice(&out.stdout).expect("a JSON response");
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("cargo lambda invoke never got an answer for {event}");
}

#[test]
fn the_binary_answers_api_gateway_events_under_the_lambda_runtime() {
    let data = tempfile::tempdir().unwrap();
    let tenant = Command::new(env!("CARGO_BIN_EXE_afureko"))
        .args(["tenant", "create", "--id", "demo"])
        .args(["--twilio-account-sid", "AC00000000000000000000000000000000"])
        .args(["--twilio-auth-token", "events-test-token"])
        .env("AFUREKO_DATA_DIR", data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(tenant.success());

    let port = free_port();
    let child = {
        use std::os::unix::process::CommandExt;
        Command::new("cargo")
            .args([
                "lambda",
                "watch",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("AFUREKO_DATA_DIR", data.path())
            .env("AFUREKO_PUBLIC_URL", "https://calls.example.com")
            .env("AFUREKO_TWILIO_API_BASE", "http://127.0.0.1:9")
            .env("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("cargo lambda watch starts")
    };
    let _watch = Watch(child);

    for event in ["twilio-voice.json", "twilio-voice-rest-v1.json"] {
        let response = invoke(port, event);
        assert_eq!(response["statusCode"], 200, "{event}: {response}");
        let body = response["body"].as_str().unwrap_or_default();
        assert!(body.starts_with("<?xml"), "{event}: {body}");
        assert!(
            body.contains("action=\"https://calls.example.com/twilio/demo/ivr/offer/overflow/"),
            "{event}: {body}"
        );
    }
    let health = invoke(port, "healthz.json");
    assert_eq!(health["body"], "ok");
}

/// A Runtime API that only records init errors.
async fn runtime_api_recording_init_errors() -> (String, tokio::sync::mpsc::Receiver<String>) {
    use axum::routing::post;
    let (sent, received) = tokio::sync::mpsc::channel(4);
    let app = axum::Router::new().route(
        "/2018-06-01/runtime/init/error",
        post(move |body: String| {
            let sent = sent.clone();
            async move {
                let _ = sent.send(body).await;
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr.to_string(), received)
}

#[tokio::test]
async fn a_start_up_error_is_reported_to_the_runtime_api() {
    let (api, mut received) = runtime_api_recording_init_errors().await;
    let status = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_afureko"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &api)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AFUREKO_TABLE", "afureko")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!status.success());
    let body: serde_json::Value = serde_json::from_str(&received.recv().await.unwrap()).unwrap();
    assert_eq!(body["errorType"], "Runtime.InitError");
    assert_eq!(
        body["errorMessage"],
        "AFUREKO_BUCKET: must be set with AFUREKO_TABLE (the AWS backend needs both)"
    );
}
