//! A crash mid-load: the server process is killed while webhooks are in
//! flight; every webhook it had answered 200 must have its record. And a
//! crash between a change and its notification: delivered after the
//! restart.

use afureko::domain::ids::{CallSid, TenantId};
use afureko::store::CallbackStore;
use afureko::store::sqlite::SqliteStore;
use afureko::twilio::signature::{self, Algorithm};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

const PUBLIC_URL: &str = "https://calls.example.test";
const TOKEN: &str = "crash-token";
/// Answers to wait for before the kill: enough that writes are in flight.
const ANSWERED_BEFORE_KILL: usize = 300;
const SENDERS: u64 = 16;

/// Kills the server if the test fails before it does.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn send(client: &reqwest::Client, base: &str, sender: u64, n: u64) -> Option<String> {
    let call_sid = format!("CA{sender:016x}{n:016x}");
    let params: Vec<(String, String)> = [
        ("CallSid", call_sid.clone()),
        // A valid mobile number, so every call keeps a record at once.
        ("From", format!("+819012{sender:02}{:04}", n % 10_000)),
        ("To", "+81312345678".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let url = format!("{PUBLIC_URL}/twilio/acme/voice");
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let reply = client
        .post(format!("{base}/twilio/acme/voice"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "x-twilio-signature",
            signature::sign(TOKEN, &url, &params, Algorithm::Sha1),
        )
        .body(body)
        .send()
        .await
        .ok()?;
    (reply.status() == 200).then_some(call_sid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_no_answered_webhook() {
    let data = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_afureko");
    let created = Command::new(binary)
        .args(["tenant", "create", "--id", "acme"])
        .args(["--twilio-account-sid", "AC00000000000000000000000000000001"])
        .args(["--twilio-auth-token", TOKEN])
        .env("AFUREKO_DATA_DIR", data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(created.success());

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server(
        Command::new(binary)
            .arg("serve")
            .env("AFUREKO_DATA_DIR", data.path())
            .env("AFUREKO_LISTEN", format!("127.0.0.1:{port}"))
            .env("AFUREKO_PUBLIC_URL", PUBLIC_URL)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up, "the server never answered /healthz");

    let answered = Arc::new(Mutex::new(Vec::new()));
    let (enough_tx, enough) = tokio::sync::watch::channel(false);
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let (client, base, answered) = (client.clone(), base.clone(), answered.clone());
            let enough_tx = enough_tx.clone();
            tokio::spawn(async move {
                // Until the server is gone: then every send fails.
                for n in 0.. {
                    let Some(sid) = send(&client, &base, sender, n).await else {
                        break;
                    };
                    let mut answered = answered.lock().unwrap();
                    answered.push(sid);
                    if answered.len() >= ANSWERED_BEFORE_KILL {
                        let _ = enough_tx.send(true);
                    }
                }
            })
        })
        .collect();
    drop(enough_tx);
    let mut enough = enough;
    enough.wait_for(|e| *e).await.unwrap();
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    for sender in senders {
        sender.await.unwrap();
    }

    let store = SqliteStore::open(&data.path().join("afureko.db"))
        .await
        .unwrap();
    let tenant = TenantId::parse("acme").unwrap();
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() >= ANSWERED_BEFORE_KILL);
    for sid in &answered {
        let sid = CallSid::parse(sid).unwrap();
        assert!(
            store
                .find_callback_by_call_sid(&tenant, &sid)
                .await
                .unwrap()
                .is_some(),
            "{sid} was answered 200 but has no record"
        );
    }
}

/// `afureko serve` on `data`, listening on `port`, notifications allowed
/// to loopback (where the test's receiver is).
fn serve(data: &std::path::Path, port: u16) -> Server {
    Server(
        Command::new(env!("CARGO_BIN_EXE_afureko"))
            .arg("serve")
            .env("AFUREKO_DATA_DIR", data)
            .env("AFUREKO_LISTEN", format!("127.0.0.1:{port}"))
            .env("AFUREKO_PUBLIC_URL", PUBLIC_URL)
            .env("AFUREKO_ALLOW_PRIVATE_NOTIFY", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

async fn wait_until_up(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server never answered /healthz");
}

/// The server is killed while it delivers a record's `callback.created`
/// (the receiver holds the request): the outbox, written with the record,
/// still has it, and the restarted server delivers it, the same event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_outlives_a_killed_server() {
    let data = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_afureko");
    let receiver = crate::receiver::Receiver::start(&[], 200).await;
    receiver.hold(true);
    let cli = |args: &[&str]| {
        let status = Command::new(binary)
            .args(args)
            .env("AFUREKO_DATA_DIR", data.path())
            .env("AFUREKO_ALLOW_PRIVATE_NOTIFY", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "afureko {}", args.join(" "));
    };
    let sid = "AC00000000000000000000000000000001";
    cli(&[
        "tenant",
        "create",
        "--id",
        "acme",
        "--twilio-account-sid",
        sid,
        "--twilio-auth-token",
        TOKEN,
    ]);
    cli(&[
        "notify",
        "add",
        "--tenant",
        "acme",
        "--url",
        &receiver.url,
        "--events",
        "created",
    ]);

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = serve(data.path(), port);
    wait_until_up(&client, &base).await;
    assert!(
        send(&client, &base, 99, 1).await.is_some(),
        "the call was answered"
    );
    // The delivery is under way, held by the receiver: kill -9 now.
    let first = receiver.wait_for(1).await.remove(0);
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    receiver.hold(false);

    let _restarted = serve(data.path(), port);
    wait_until_up(&client, &base).await;
    // Delivered again once the killed sender's lease on it lapsed.
    let got = receiver.wait_for(2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header("webhook-id"), first.header("webhook-id"));
    assert_eq!(got[1].body, first.body);
    assert_eq!(got[1].json()["type"], "callback.created");
}
