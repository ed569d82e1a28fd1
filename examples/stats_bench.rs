//! The service-level figures on a big tenant: seeds RECORDS records (100,000
//! by default) spread over the year up to now, every fate, into the
//! embedded store and, when `AFUREKO_TEST_MOTO_URL` or
//! `AFUREKO_TEST_DYNALITE_URL` is set (`. target/local-aws/env`), into a new
//! DynamoDB table there; then times the figures of today, the last 7 and
//! the last 30 days (`calls::stats::service_level`, what `GET
//! /api/v1/stats` runs) and prices a 30-day request's DynamoDB reads with
//! the integration tests' meter. Figures: docs/performance.md.
//!
//!   cargo run --release --example stats_bench [-- RECORDS]

#[path = "../tests/integration/meter.rs"]
#[allow(dead_code)]
mod meter;

use afureko::calls::stats::{period, service_level};
use afureko::clock::FixedClock;
use afureko::deps::Deps;
use afureko::domain::callback::{
    Attempt, CallbackRecord, Confirmation, NewCallback, Outcome, Status,
};
use afureko::domain::ids::{AccountSid, CallSid, TenantId};
use afureko::domain::phone::{E164, Region};
use afureko::domain::reason::Reason;
use afureko::domain::tenant::{AuthToken, Tenant, TenantSettings, TwilioCredentials};
use afureko::store::Store;
use afureko::store::dynamo::{DynamoStore, create_table};
use afureko::store::fs::FsRecordingStore;
use afureko::store::sqlite::SqliteStore;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use std::time::Instant;

const NOW: &str = "2026-12-01T03:00:00Z";
/// Inserts in flight at once while seeding.
const SEEDERS: usize = 32;

fn tenant() -> Tenant {
    Tenant {
        id: TenantId::parse("bench").unwrap(),
        twilio: TwilioCredentials::new(
            AccountSid::parse("AC00000000000000000000000000000000").unwrap(),
            AuthToken::new("bench-token").unwrap(),
        ),
        settings: TenantSettings::default(),
        created_at: NOW.parse().unwrap(),
    }
}

/// Record `n` of `total`, spread evenly over the 365 days before now:
/// mostly completed, some failed, the last few days' partly still open.
fn record(n: usize, total: usize, settings: &TenantSettings) -> CallbackRecord {
    let now: Timestamp = NOW.parse().unwrap();
    let year_ms = 365 * 24 * 3_600_000i64;
    let received = now - SignedDuration::from_millis(year_ms - year_ms * n as i64 / total as i64);
    let number = E164::parse(&format!("+8190{:08}", 10_000_000 + n), Region::JP).unwrap();
    let reasons = [
        Reason::Overflow,
        Reason::Busy,
        Reason::NoAnswer,
        Reason::AfterHours,
    ];
    let mut r = CallbackRecord::new(
        tenant().id,
        NewCallback {
            call_sid: CallSid::parse(&format!("CA{n:032x}")).unwrap(),
            caller_number: Some(number.clone()),
            callback_number: number,
            confirmation: Confirmation::CallerId,
            reason: reasons[n % reasons.len()],
            received_at: received,
            due_from: None,
        },
        settings.callback_sla_minutes,
        received,
    );
    let at = |minutes: i64| received + SignedDuration::from_mins(minutes);
    let attempt = |minutes: i64, outcome: Outcome| {
        Attempt::logged(
            at(minutes),
            ["ann", "bob", "cat"][n % 3].into(),
            outcome,
            Some("called back".into()),
        )
    };
    let recent = now.duration_since(received) < SignedDuration::from_hours(24);
    match n % 10 {
        _ if recent && n.is_multiple_of(3) => {}
        0 => {
            r.attempts = vec![
                attempt(30, Outcome::NoAnswer),
                attempt(90, Outcome::Busy),
                attempt(150, Outcome::NoAnswer),
            ];
            r.status = Status::Failed;
        }
        1..=3 => {
            r.attempts = vec![
                attempt(40, Outcome::NoAnswer),
                attempt(300, Outcome::Reached),
            ];
            r.status = Status::Completed;
        }
        _ => {
            r.attempts = vec![attempt(25, Outcome::Reached)];
            r.status = Status::Completed;
        }
    }
    r
}

async fn seed(store: Arc<dyn Store>, total: usize) {
    let started = Instant::now();
    let settings = TenantSettings::default();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total {
        if tasks.len() >= SEEDERS {
            tasks.join_next().await.unwrap().unwrap();
        }
        let (store, r) = (store.clone(), record(n, total, &settings));
        tasks.spawn(async move {
            store.insert_callback(&r).await.expect("insert");
        });
        if n % 10_000 == 9_999 {
            eprintln!("  {} records in {:.0?}", n + 1, started.elapsed());
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    eprintln!("  seeded {total} in {:.0?}", started.elapsed());
}

/// Times the figures of the last `days` days, `runs` times; the records
/// of the period and the fastest and median times.
async fn time(deps: Deps<'_>, days: i32, runs: usize) -> (u64, f64, f64) {
    let t = tenant();
    let to: Date = deps
        .clock
        .now()
        .to_zoned_datetime(t.settings.time_zone())
        .date();
    let from = to.checked_sub(jiff::Span::new().days(days - 1)).unwrap();
    let mut times = Vec::new();
    let mut received = 0;
    for _ in 0..runs {
        let p = period(deps, &t, Some(from), Some(to)).unwrap();
        let started = Instant::now();
        let stats = service_level(deps, &t, p).await.expect("stats");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        received = stats.totals.received;
    }
    times.sort_by(f64::total_cmp);
    (received, times[0], times[times.len() / 2])
}

async fn report(name: &str, deps: Deps<'_>) {
    for (label, days, runs) in [("today", 1, 5), ("7 days", 7, 5), ("30 days", 30, 5)] {
        let (received, fastest, median) = time(deps, days, runs).await;
        println!(
            "{name}: {label}: {received} records, median {median:.0} ms (fastest {fastest:.0} ms) over {runs} runs"
        );
    }
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("RECORDS is a number"))
        .unwrap_or(100_000);
    let clock = Arc::new(FixedClock::new(NOW.parse().unwrap()));
    let dir = tempfile::tempdir().unwrap();
    let audio = FsRecordingStore::new(dir.path().join("recordings"));

    eprintln!("embedded store: seeding {total} records");
    let sqlite = Arc::new(
        SqliteStore::open(&dir.path().join("afureko.db"))
            .await
            .unwrap()
            .with_clock(clock.clone()),
    );
    seed(sqlite.clone(), total).await;
    let deps = Deps {
        store: sqlite.as_ref(),
        audio: &audio,
        agents: sqlite.as_ref(),
        audit: sqlite.as_ref(),
        clock: clock.as_ref(),
    };
    report("SQLite", deps).await;

    let endpoint = std::env::var("AFUREKO_TEST_DYNALITE_URL")
        .or_else(|_| std::env::var("AFUREKO_TEST_MOTO_URL"));
    let Ok(endpoint) = endpoint else {
        eprintln!("no AFUREKO_TEST_MOTO_URL or AFUREKO_TEST_DYNALITE_URL: DynamoDB skipped");
        return;
    };
    assert!(endpoint.starts_with("http://127.0.0.1:"), "loopback only");
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "bench"),
        ))
        .timeout_config(afureko::store::aws::dynamo_timeouts())
        .build();
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("afureko-stats-bench-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await.expect("create table");
    eprintln!("DynamoDB at {endpoint}: seeding {total} records into {table}");
    let plain = Arc::new(DynamoStore::new(client.clone(), table.clone()).with_clock(clock.clone()));
    seed(plain, total).await;
    let meter = meter::Meter::default();
    meter.learn_table(&client, &table).await;
    let metered = aws_sdk_dynamodb::Client::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(meter.clone())
            .build(),
    );
    let dynamo = Arc::new(DynamoStore::new(metered, table.clone()).with_clock(clock.clone()));
    let deps = Deps {
        store: dynamo.as_ref(),
        audio: &audio,
        agents: dynamo.as_ref(),
        audit: dynamo.as_ref(),
        clock: clock.as_ref(),
    };
    report("DynamoDB", deps).await;
    meter.take();
    let (received, _, _) = time(deps, 30, 1).await;
    let usage = meter.take();
    println!(
        "DynamoDB: one 30-day request ({received} records): {:.1} RRU, requests {:?}",
        usage.rru, usage.requests
    );
    let _ = client.delete_table().table_name(&table).send().await;
}
