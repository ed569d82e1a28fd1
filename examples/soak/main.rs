//! The soak (issue 10, "Faults, at scale"): plays thousands of whole calls,
//! many at once, against a running `afureko serve` over real HTTP as Twilio
//! would, while the media host, the AWS stand-in and Twilio misbehave and the
//! server is killed with SIGKILL and started again. Then `afureko sweep`
//! runs until the copy queue is empty (the server's copier works it), and
//! the store is read to check that nothing was lost. Exits non-zero with the calls that broke an invariant.
//! `scripts/soak` runs it; everything listens on 127.0.0.1.
//!
//! soak --bin target/debug/afureko --backend embedded|aws --work-dir DIR
//!      [--calls 300] [--concurrency 32] [--restarts 1] [--port 23100]
//!      [--seed 1] [--max-minutes 20] [--faults on|off]
//!
//! With `--faults off` (and `--restarts 0`) it is the whole-call load test
//! of `scripts/bench`: every webhook sent once, nothing injected, and a
//! `whole-call:` line with calls/s, per-call latency and the server's RSS.
//!
//! The AWS backend proxies `AWS_ENDPOINT_URL` (moto); the driver itself
//! reads the store there directly, without the proxy's faults.

mod aws_proxy;
mod calls;
mod check;
mod faults;
mod media;
mod rng;
mod server;

use anyhow::{Context, bail};
use calls::{Outcome, Plan, TENANT, Twilio};
use faults::Faults;
use server::{Afureko, Server};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const ACCOUNT_SID: &str = "AC50a4000000000000000000000000beef";
const AUTH_TOKEN: &str = "soak-auth-token";
const PUBLIC_URL: &str = "https://soak.afureko.test";
/// How long the server stays down after a kill, before it is started again.
const DOWNTIME: Duration = Duration::from_secs(1);
/// Sweeps while the queue drains, `SWEEP_PAUSE` apart: past a copy's lease
/// (`copy_queue::LEASE`), so jobs a killed server held come back meanwhile.
const SWEEP_ROUNDS: usize = 100;
const SWEEP_PAUSE: Duration = Duration::from_secs(3);

struct Options {
    bin: PathBuf,
    aws: bool,
    work_dir: PathBuf,
    calls: usize,
    concurrency: usize,
    restarts: usize,
    port: u16,
    seed: u64,
    max_minutes: u64,
    faults: bool,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        bin: PathBuf::new(),
        aws: false,
        work_dir: PathBuf::new(),
        calls: 300,
        concurrency: 32,
        restarts: 1,
        port: 23100,
        seed: 1,
        max_minutes: 20,
        faults: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        let bad = || format!("{flag} {value:?}");
        match flag.as_str() {
            "--bin" => o.bin = value.into(),
            "--backend" => match value.as_str() {
                "embedded" => o.aws = false,
                "aws" => o.aws = true,
                _ => bail!("--backend is embedded or aws, not {value:?}"),
            },
            "--work-dir" => o.work_dir = value.into(),
            "--calls" => o.calls = value.parse().with_context(bad)?,
            "--concurrency" => o.concurrency = value.parse().with_context(bad)?,
            "--restarts" => o.restarts = value.parse().with_context(bad)?,
            "--port" => o.port = value.parse().with_context(bad)?,
            "--seed" => o.seed = value.parse().with_context(bad)?,
            "--max-minutes" => o.max_minutes = value.parse().with_context(bad)?,
            "--faults" => match value.as_str() {
                "on" => o.faults = true,
                "off" => o.faults = false,
                _ => bail!("--faults is on or off, not {value:?}"),
            },
            _ => bail!("unknown flag {flag}"),
        }
    }
    if o.bin.as_os_str().is_empty() || o.work_dir.as_os_str().is_empty() {
        bail!("--bin and --work-dir are required");
    }
    // Listeners stay below the ephemeral range (32768 and up).
    if o.port == 0 || o.port > 32765 {
        bail!("--port must be 1-32765 (three ports from it are used)");
    }
    if o.calls == 0 || o.calls > 10_000_000 || o.concurrency == 0 {
        bail!("--calls must be 1-10000000 and --concurrency at least 1");
    }
    Ok(o)
}

/// A listener on 127.0.0.1 only.
pub async fn bind(port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// True when every invariant held.
async fn run() -> anyhow::Result<bool> {
    let o = options()?;
    std::fs::create_dir_all(&o.work_dir)?;
    let backend_name = if o.aws { "aws (moto)" } else { "embedded" };
    // Distinct SIDs and table per run: an AWS stand-in outlives runs.
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let faults = Arc::new(Faults::default());
    let media =
        media::Media::start(o.port + 1, ACCOUNT_SID, AUTH_TOKEN, o.seed, faults.clone()).await?;

    let local_url = format!("http://127.0.0.1:{}", o.port);
    let mut env = vec![
        ("AFUREKO_LISTEN".to_owned(), format!("127.0.0.1:{}", o.port)),
        ("AFUREKO_PUBLIC_URL".to_owned(), PUBLIC_URL.to_owned()),
        (
            "AFUREKO_TWILIO_API_BASE".to_owned(),
            media.base_url().to_owned(),
        ),
        ("AFUREKO_LOG".to_owned(), "info".to_owned()),
        // Failed copies come back within seconds, not minutes.
        ("AFUREKO_COPY_RETRY_SECONDS".to_owned(), "1".to_owned()),
    ];
    // The driver's own view of the store: the same configuration, but on
    // AWS straight to moto, not through the proxy.
    let mut own_env = env.clone();
    if o.aws {
        let moto = std::env::var("AWS_ENDPOINT_URL")
            .context("AWS_ENDPOINT_URL must name the AWS stand-in (moto) for --backend aws")?;
        // Tenants' secrets sealed with a key of this run's own.
        let key: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
            .iter()
            .flat_map(|u| u.into_bytes())
            .collect();
        let queue = format!("{moto}/123456789012/afureko-soak-{run_id}-copy");
        let target = [
            ("AFUREKO_TABLE".to_owned(), format!("afureko-soak-{run_id}")),
            (
                "AFUREKO_BUCKET".to_owned(),
                format!("afureko-soak-{run_id}"),
            ),
            (
                "AFUREKO_SECRET_KEY".to_owned(),
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key),
            ),
            ("AFUREKO_COPY_QUEUE_URL".to_owned(), queue.clone()),
            ("AFUREKO_COPY_DLQ_URL".to_owned(), format!("{queue}-dlq")),
            (
                "AFUREKO_NOTIFY_QUEUE_URL".to_owned(),
                format!("{queue}-notify"),
            ),
            (
                "AFUREKO_NOTIFY_DLQ_URL".to_owned(),
                format!("{queue}-notify-dlq"),
            ),
        ];
        own_env.extend(target.clone());
        Afureko {
            bin: o.bin.clone(),
            env: own_env.clone(),
            log: o.work_dir.join("init.log"),
            local_url: local_url.clone(),
        }
        .run(&["aws", "init"])
        .await?;
        let proxy = aws_proxy::start(o.port + 2, &moto, o.seed, faults.clone()).await?;
        env.extend(target);
        env.push(("AWS_ENDPOINT_URL".to_owned(), proxy));
    } else {
        let data = o.work_dir.join("data");
        std::fs::create_dir_all(&data)?;
        let data = ("AFUREKO_DATA_DIR".to_owned(), data.display().to_string());
        env.push(data.clone());
        own_env.push(data);
    }
    let server = Arc::new(Server::new(Afureko {
        bin: o.bin.clone(),
        env: env.clone(),
        log: o.work_dir.join("serve.log"),
        local_url: local_url.clone(),
    }));
    server
        .afureko()
        .run(&[
            "tenant",
            "create",
            "--id",
            TENANT,
            "--twilio-account-sid",
            ACCOUNT_SID,
            "--twilio-auth-token",
            AUTH_TOKEN,
            "--language",
            "en-US",
            // The stand-in's media serves `{sid}.wav` (new tenants fetch MP3).
            "--recording-format",
            "wav",
        ])
        .await?;
    server.start().await?;

    println!(
        "soak on {backend_name}: {} calls, {} at once, {} restart(s) with kill -9; server log in {}",
        o.calls,
        o.concurrency,
        o.restarts,
        o.work_dir.join("serve.log").display()
    );
    let twilio = Arc::new(Twilio {
        http: reqwest::Client::new(),
        public_url: PUBLIC_URL.to_owned(),
        local_url,
        account_sid: ACCOUNT_SID.to_owned(),
        auth_token: AUTH_TOKEN.to_owned(),
        media: media.clone(),
        faults: faults.clone(),
    });
    faults.on.store(o.faults, Ordering::SeqCst);
    let started = Instant::now();
    let (played, stopped_early) = play(&o, run_id, &twilio, &server).await?;
    let elapsed = started.elapsed();
    if !o.faults {
        println!(
            "{}",
            whole_call_report(&played, elapsed, &media, &server).await?
        );
    }

    // The copier works the queue after the calls: the faults stay on until
    // every job was tried once.
    let sweeps = sweep(server.afureko(), &faults).await?;
    server.kill().await?;
    let own = afureko::config::Config::from_lookup(|name| {
        own_env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })?;
    let backend = afureko::startup::backend(&own).await?;
    let counts = check::check(&backend, &media, &played).await?;

    let answered = |f: fn(&Outcome) -> bool| played.iter().filter(|c| f(&c.1)).count();
    let n = |c: &std::sync::atomic::AtomicUsize| Faults::get(c);
    println!(
        "  calls played: {} in {:.0} s{}",
        played.len(),
        elapsed.as_secs_f64(),
        if stopped_early {
            " (time bound reached; fewer calls than asked)"
        } else {
            ""
        }
    );
    println!(
        "  answered 2xx: incoming {}, press 1 {}, record {}, recording status {}; given up unanswered (server down): {}",
        answered(|o| o.incoming),
        answered(|o| o.pressed),
        answered(|o| o.recorded),
        answered(|o| o.status_callback),
        answered(|o| o.not_answered.is_some()),
    );
    println!(
        "  faults: media 500 {}, media stall {}, S3 PUT 503 {}, DynamoDB throttle {}, webhook sent twice {} (at once {}), Twilio retries {}, kill -9 {}",
        n(&faults.media_500),
        n(&faults.media_stall),
        n(&faults.s3_put_503),
        n(&faults.dynamo_throttle),
        n(&faults.webhook_repeated) + n(&faults.webhook_repeated_concurrently),
        n(&faults.webhook_repeated_concurrently),
        n(&faults.webhook_retried),
        n(&faults.kills),
    );
    println!("  sweep: {sweeps}");
    println!(
        "  records {}, recordings stored {}, Twilio copies deleted {} (of {} deletes), pending_copy {}, copy_failed {}, losses {}",
        counts.records,
        counts.stored,
        counts.twilio_deleted,
        media.deletes(),
        counts.pending_copy,
        counts.copy_failed,
        counts.losses,
    );
    if counts.violations.is_empty() {
        println!("  invariants: all held");
        return Ok(true);
    }
    println!("  invariants: {} broken", counts.violations.len());
    for v in counts.violations.iter().take(50) {
        println!("    {v}");
    }
    Ok(false)
}

/// Plays the calls, `concurrency` at a time; the server is killed and
/// restarted at evenly spaced points while calls are in flight. Stops
/// starting calls once `max_minutes` have passed.
async fn play(
    o: &Options,
    run_id: u64,
    twilio: &Arc<Twilio>,
    server: &Arc<Server>,
) -> anyhow::Result<(Vec<(Plan, Outcome)>, bool)> {
    let bound = Instant::now() + Duration::from_secs(o.max_minutes * 60);
    let kills_at: Vec<usize> = (1..=o.restarts)
        .map(|k| o.calls * k / (o.restarts + 1))
        .collect();
    let slots = Arc::new(tokio::sync::Semaphore::new(o.concurrency));
    let mut calls = tokio::task::JoinSet::new();
    let mut restarts = tokio::task::JoinSet::new();
    let mut stopped_early = false;
    for index in 0..o.calls {
        if Instant::now() > bound {
            stopped_early = true;
            break;
        }
        let slot = slots.clone().acquire_owned().await?;
        if kills_at.contains(&index) {
            let server = server.clone();
            let faults = twilio.faults.clone();
            restarts.spawn(async move {
                server.kill().await?;
                Faults::count(&faults.kills);
                tokio::time::sleep(DOWNTIME).await;
                server.start().await
            });
        }
        let twilio = twilio.clone();
        let plan = Plan::new(run_id, index, o.seed, o.faults);
        calls.spawn(async move {
            let began = Instant::now();
            let mut outcome = twilio.play(&plan).await;
            outcome.took = began.elapsed();
            drop(slot);
            (plan, outcome)
        });
    }
    let mut played = Vec::with_capacity(o.calls);
    while let Some(call) = calls.join_next().await {
        played.push(call?);
    }
    while let Some(restart) = restarts.join_next().await {
        restart??;
    }
    played.sort_by_key(|c| c.0.index);
    Ok((played, stopped_early))
}

/// `afureko sweep` until the copy queue is empty: the running server's
/// copier works the jobs, and a sweep moves dead ones back. The faults are
/// turned off once nothing waits that was never tried. Returns the first
/// and last reports.
async fn sweep(afureko: &Afureko, faults: &Faults) -> anyhow::Result<String> {
    let mut first = None;
    for round in 1..=SWEEP_ROUNDS {
        let out = afureko.run(&["sweep"]).await?;
        let line = out
            .lines()
            .find(|l| l.starts_with("sweep:"))
            .with_context(|| format!("afureko sweep printed no report: {out}"))?
            .trim_start_matches("sweep: ")
            .to_owned();
        // "0 re-driven, 0 unreadable; copy queue: 0 waiting, 0 in flight, 0 dead"
        let nothing = line
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .all(|s| s == "0");
        let first = first.get_or_insert_with(|| line.clone());
        if line.contains(" 0 waiting") {
            faults.on.store(false, Ordering::SeqCst);
        }
        if nothing && !faults.on() {
            return Ok(format!("{round} run(s): first {first}; last {line}"));
        }
        tokio::time::sleep(SWEEP_PAUSE).await;
    }
    Ok(format!(
        "the copy queue was not empty after {SWEEP_ROUNDS} runs: first {}",
        first.unwrap_or_default()
    ))
}

/// The load test's figures: calls/s counts a call once all its webhooks
/// were answered and its recording was copied (Twilio's copy deleted).
async fn whole_call_report(
    played: &[(Plan, Outcome)],
    elapsed: Duration,
    media: &media::Media,
    server: &Server,
) -> anyhow::Result<String> {
    let answered = played.iter().filter(|c| c.1.status_callback).count();
    let waiting = Instant::now();
    while media.deletes() < answered && waiting.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let copies_after = elapsed + waiting.elapsed();
    let mut took: Vec<Duration> = played.iter().map(|c| c.1.took).collect();
    took.sort();
    let at = |q: f64| took[((took.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    Ok(format!(
        "whole-call: calls={} answered={} copied={} seconds={:.2} calls_per_s={:.0} p50_ms={:.2} p99_ms={:.2} rss_kb={}",
        played.len(),
        answered,
        media.deletes(),
        copies_after.as_secs_f64(),
        media.deletes() as f64 / copies_after.as_secs_f64(),
        at(0.5),
        at(0.99),
        server.rss_kb().await.unwrap_or(0),
    ))
}
