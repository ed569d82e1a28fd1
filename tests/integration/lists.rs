//! The agents' list as a call center works it: a customer found by the
//! last digits of their number, filters and orders paged without gaps,
//! counts that follow new calls and claims, and numbers as people read
//! them. On every backend.

use crate::backends::Kind;
use crate::helpers::*;
use crate::sessions::Browser;
use afureko::domain::agent::Role;
use afureko::domain::callback::{
    Attempt, CallbackRecord, Confirmation, NewCallback, Outcome, Status,
};
use afureko::domain::ids::{CallSid, TenantId};
use afureko::domain::phone::{E164, Region};
use afureko::domain::reason::Reason;
use afureko::domain::tenant::TenantSettings;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

fn at(minutes: i64) -> Timestamp {
    NOW.parse::<Timestamp>()
        .unwrap()
        .checked_add(SignedDuration::from_mins(minutes))
        .unwrap()
}

/// What a seeded record is like.
#[derive(Clone, Copy)]
struct Seed<'a> {
    number: &'a str,
    /// Minutes after NOW the call arrived; due 60 minutes later.
    received: i64,
    reason: Reason,
    status: Status,
    attempts: usize,
    repeat: bool,
}

const SEED: Seed = Seed {
    number: "",
    received: 0,
    reason: Reason::Overflow,
    status: Status::Pending,
    attempts: 0,
    repeat: false,
};

async fn seed(app: &TestApp, s: Seed<'_>) -> CallbackRecord {
    let number = E164::parse(s.number, Region::JP).unwrap();
    let mut record = CallbackRecord::new(
        TenantId::parse(TENANT).unwrap(),
        NewCallback {
            call_sid: CallSid::parse(&app.call_sid()).unwrap(),
            caller_number: Some(number.clone()),
            callback_number: number,
            confirmation: Confirmation::CallerId,
            reason: s.reason,
            received_at: at(s.received),
            due_from: None,
        },
        60,
        at(s.received),
    );
    for n in 0..s.attempts {
        record.attempts.push(Attempt {
            at: at(s.received + 1 + n as i64),
            agent: "ann".into(),
            outcome: Outcome::NoAnswer,
            note: None,
            call: None,
            corrections: Vec::new(),
        });
    }
    if s.repeat {
        let later = CallSid::parse(&app.call_sid()).unwrap();
        record.attach_call(later, at(s.received + 30), at(s.received + 30));
    }
    record.status = s.status;
    if s.status == Status::Claimed {
        record.claimed_by = Some("bob".into());
        record.claimed_at = Some(at(s.received));
    }
    app.backend
        .store
        .insert_callback(&record)
        .await
        .unwrap()
        .into_record()
}

/// Every page of `url` (which has a `?`), following `next_cursor`: the ids
/// in order, and the number of pages.
async fn all_pages(app: &TestApp, key: &str, url: &str) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page_url = match &cursor {
            Some(c) => format!("{url}&cursor={c}"),
            None => url.to_owned(),
        };
        let reply = app.api("GET", &page_url, key, None).await;
        assert_eq!(reply.status, 200, "{page_url}: {:?}", reply.json());
        let body = reply.json();
        ids.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        assert!(pages < 200, "{url}: no end");
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (ids, pages),
        }
    }
}

/// Which records a list should hold.
type Keeps = Box<dyn Fn(&&CallbackRecord) -> bool>;

fn ids(records: &[&CallbackRecord]) -> Vec<String> {
    records.iter().map(|r| r.id.to_string()).collect()
}

async fn a_number_search_finds_the_caller_by_their_last_digits(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let mobile = seed(
        &app,
        Seed {
            number: "+819011112222",
            received: 0,
            ..SEED
        },
    )
    .await;
    let landline = seed(
        &app,
        Seed {
            number: "+81311112222",
            received: 5,
            ..SEED
        },
    )
    .await;
    let done = seed(
        &app,
        Seed {
            number: "+819033332222",
            received: -600,
            status: Status::Completed,
            ..SEED
        },
    )
    .await;
    let _other = seed(
        &app,
        Seed {
            number: "+819011112223",
            received: 10,
            ..SEED
        },
    )
    .await;
    let search = |q: &str| format!("/api/v1/callbacks?q={}", urlencode(q));

    // The last four: every number ending in them, any status, newest call first.
    let (found, _) = all_pages(&app, &key, &search("2222")).await;
    assert_eq!(found, ids(&[&landline, &mobile, &done]));
    // More digits, with or without hyphens, full-width too.
    for q in ["1111-2222", "11112222", "１１１１－２２２２"] {
        let (found, _) = all_pages(&app, &key, &search(q)).await;
        assert_eq!(found, ids(&[&landline, &mobile]), "{q}");
    }
    // The whole number, national or international: that number only.
    for q in [
        "090-1111-2222",
        "09011112222",
        "+81 90 1111 2222",
        "+819011112222",
    ] {
        let (found, _) = all_pages(&app, &key, &search(q)).await;
        assert_eq!(found, ids(&[&mobile]), "{q}");
    }
    // With a status.
    let (found, _) = all_pages(&app, &key, &format!("{}&status=completed", search("2222"))).await;
    assert_eq!(found, ids(&[&done]));
    let (found, _) = all_pages(&app, &key, &search("9999")).await;
    assert!(found.is_empty());

    // Numbers as people in the tenant's region read them: whole for a
    // key, masked in the same groups for a signed-in agent.
    let reply = app.api("GET", &search("090-1111-2222"), &key, None).await;
    let item = &reply.json()["items"][0];
    assert_eq!(item["callback_number"], "+819011112222");
    assert_eq!(item["callback_display"], "090-1111-2222");
    assert_eq!(item["caller_display"], "090-1111-2222");
    app.add_agent(TENANT, "ann", Role::Agent).await;
    let ann = app.browser("ann").await;
    let reply = app.browse(&ann, "GET", &search("2222"), None).await;
    let items = reply.json()["items"].as_array().unwrap().clone();
    let displays: Vec<&str> = items
        .iter()
        .map(|i| i["callback_display"].as_str().unwrap())
        .collect();
    assert_eq!(displays, ["03-****-2222", "090-****-2222", "090-****-2222"]);

    // What is no search is refused, naming the parameter.
    for (q, message) in [
        ("222", "q needs at least the last 4 digits of the number"),
        (
            "ann",
            "q is a phone number or its last digits (at least 4): digits, with spaces, hyphens or brackets between them and a + in front",
        ),
        ("12345678901234567", "q has more digits than a phone number"),
    ] {
        let reply = app.api("GET", &search(q), &key, None).await;
        assert_eq!(reply.status, 400, "{q}");
        assert_eq!(
            reply.json(),
            json!({"error": {"code": "bad_request", "message": message, "field": "q"}}),
            "{q}"
        );
    }
    let reply = app
        .api(
            "GET",
            &format!("{}&sort=received", search("2222")),
            &key,
            None,
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["field"], "sort");
}

/// Many records share a number's last four digits: the search pages
/// through them all, newest first, once each.
async fn a_number_search_pages_without_gaps(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let mut seeded = Vec::new();
    for n in 0..23 {
        let number = format!("+8190{:04}5678", 1000 + n);
        // Arrivals tie in pairs: ties go by id.
        seeded.push(
            seed(
                &app,
                Seed {
                    number: &number,
                    received: n / 2,
                    ..SEED
                },
            )
            .await,
        );
    }
    seed(
        &app,
        Seed {
            number: "+819012345679",
            ..SEED
        },
    )
    .await;
    let (found, pages) = all_pages(&app, &key, "/api/v1/callbacks?q=5678&limit=5").await;
    seeded.sort_by_key(|r| std::cmp::Reverse((r.received_at, r.id.to_string())));
    assert_eq!(found, ids(&seeded.iter().collect::<Vec<_>>()));
    assert_eq!(pages, 5);
}

/// Every order and filter against the records it should hold, in order,
/// paged in sevens.
async fn filters_and_orders_page_without_gaps(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    app.clock.set(at(160));
    let reasons = [Reason::Overflow, Reason::AfterHours, Reason::Busy];
    let statuses = [
        Status::Pending,
        Status::Pending,
        Status::Claimed,
        Status::Completed,
    ];
    let mut records = Vec::new();
    for n in 0..36_i64 {
        let number = format!("+8131234{:04}", n);
        let received = (n * 37) % 300 - 60;
        let record = seed(
            &app,
            Seed {
                number: &number,
                received,
                reason: reasons[n as usize % 3],
                status: statuses[n as usize % 4],
                attempts: (n as usize / 4) % 3,
                repeat: n % 5 == 0,
            },
        )
        .await;
        records.push(record);
    }
    let now = at(160);
    let open = |r: &&CallbackRecord| matches!(r.status, Status::Pending | Status::Claimed);
    let by_due = |v: &mut Vec<&CallbackRecord>| v.sort_by_key(|r| (r.due_at, r.id.to_string()));
    let cases: Vec<(&str, Keeps, &str)> = vec![
        (
            "status=pending",
            Box::new(|r| r.status == Status::Pending),
            "due",
        ),
        (
            "status=completed&sort=-due",
            Box::new(|r| r.status == Status::Completed),
            "-due",
        ),
        (
            "status=pending&sort=received",
            Box::new(|r| r.status == Status::Pending),
            "received",
        ),
        ("sort=received", Box::new(open), "received"),
        (
            "status=pending&sort=attempts",
            Box::new(|r| r.status == Status::Pending),
            "attempts",
        ),
        (
            "status=claimed&sort=attempts",
            Box::new(|r| r.status == Status::Claimed),
            "attempts",
        ),
        (
            "status=pending&reason=after-hours",
            Box::new(|r| r.status == Status::Pending && r.reason == Reason::AfterHours),
            "due",
        ),
        ("reason=busy", Box::new(|r| r.reason == Reason::Busy), "due"),
        (
            "status=pending&repeat=true",
            Box::new(|r| r.status == Status::Pending && !r.repeat_calls.is_empty()),
            "due",
        ),
        (
            "status=pending&due=overdue",
            Box::new(move |r| r.status == Status::Pending && r.due_at < now),
            "due",
        ),
        (
            "due=overdue",
            Box::new(move |r| open(r) && r.due_at < now),
            "due",
        ),
        (
            "status=pending&due=soon",
            Box::new(move |r| r.status == Status::Pending && r.due_at >= now && r.due_at < at(190)),
            "due",
        ),
        (
            "status=pending&due=overdue&sort=attempts",
            Box::new(move |r| r.status == Status::Pending && r.due_at < now),
            "attempts",
        ),
        (
            "status=pending&repeat=true&sort=received",
            Box::new(|r| r.status == Status::Pending && !r.repeat_calls.is_empty()),
            "received",
        ),
    ];
    for (params, keeps, order) in cases {
        let mut expected: Vec<&CallbackRecord> = records.iter().filter(|r| keeps(r)).collect();
        match order {
            "due" => by_due(&mut expected),
            "-due" => {
                by_due(&mut expected);
                expected.reverse();
            }
            "received" => expected.sort_by_key(|r| (r.received_at, r.id.to_string())),
            _ => expected.sort_by_key(|r| {
                (
                    std::cmp::Reverse(r.attempts.len()),
                    r.received_at,
                    r.id.to_string(),
                )
            }),
        }
        assert!(!expected.is_empty(), "{params}: a case that shows nothing");
        let url = format!("/api/v1/callbacks?{params}&limit=7");
        let (found, _) = all_pages(&app, &key, &url).await;
        assert_eq!(found, ids(&expected), "{params}");
    }
    // A cursor goes on only its own list.
    let first = app
        .api(
            "GET",
            "/api/v1/callbacks?status=pending&limit=2",
            &key,
            None,
        )
        .await
        .json();
    let cursor = first["next_cursor"].as_str().unwrap();
    let other = app
        .api(
            "GET",
            &format!("/api/v1/callbacks?status=pending&sort=received&limit=2&cursor={cursor}"),
            &key,
            None,
        )
        .await;
    assert_eq!(other.status, 400);
    assert_eq!(
        other.json(),
        json!({"error": {"code": "bad_request", "message": "cursor belongs to a list with another status, order or filter", "field": "cursor"}})
    );
    for (params, field) in [
        ("sort=newest", "sort"),
        ("status=completed&sort=attempts", "sort"),
        ("due=late", "due"),
        ("reason=bored", "reason"),
    ] {
        let reply = app
            .api("GET", &format!("/api/v1/callbacks?{params}"), &key, None)
            .await;
        assert_eq!(reply.status, 400, "{params}");
        assert_eq!(reply.json()["error"]["field"], field, "{params}");
    }
}

/// A rare reason among many records: each page reads a bounded number of
/// records, the cursor goes on, and every match shows once, in order.
async fn a_selective_filter_reads_a_bounded_page(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let mut rare = Vec::new();
    for n in 0..270_i64 {
        let number = format!("+8131235{:04}", n);
        // Far apart: a page reads at most 250 records on DynamoDB.
        let reason = if [5, 260, 265].contains(&n) {
            Reason::QueueFull
        } else {
            Reason::Overflow
        };
        let record = seed(
            &app,
            Seed {
                number: &number,
                received: n,
                reason,
                ..SEED
            },
        )
        .await;
        if reason == Reason::QueueFull {
            rare.push(record);
        }
    }
    for params in [
        "status=pending&reason=queue-full",
        "reason=queue-full",
        "status=pending&reason=queue-full&sort=received",
    ] {
        let (found, _) =
            all_pages(&app, &key, &format!("/api/v1/callbacks?{params}&limit=2")).await;
        assert_eq!(found, ids(&rare.iter().collect::<Vec<_>>()), "{params}");
    }
}

async fn counts(app: &TestApp, key: &str, who: Option<&Browser>) -> Value {
    let path = "/api/v1/callbacks/counts";
    let reply = match who {
        Some(b) => app.browse(b, "GET", path, None).await,
        None => app.api("GET", path, key, None).await,
    };
    assert_eq!(reply.status, 200);
    reply.json()
}

async fn counts_follow_new_calls_and_claims(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    assert_eq!(
        counts(&app, &key, None).await,
        json!({"pending": 0, "overdue": 0, "claimed": 0, "mine": null, "latest_received_at": null, "cap": 1000})
    );
    let (call, _) = app.play_call(CALLER).await;
    let late = seed(
        &app,
        Seed {
            number: "+819011112222",
            received: -120,
            ..SEED
        },
    )
    .await;
    app.add_agent(TENANT, "ann", Role::Agent).await;
    let ann = app.browser("ann").await;
    assert_eq!(
        counts(&app, &key, Some(&ann)).await,
        json!({"pending": 2, "overdue": 1, "claimed": 0, "mine": 0,
            "latest_received_at": call.received_at.to_string(), "cap": 1000})
    );
    let claimed = app
        .browse(
            &ann,
            "POST",
            &format!("/api/v1/callbacks/{}/claim", late.id),
            Some(json!({})),
        )
        .await;
    assert_eq!(claimed.status, 200);
    seed(
        &app,
        Seed {
            number: "+819044445555",
            received: -5,
            status: Status::Claimed,
            ..SEED
        },
    )
    .await;
    let newer = seed(
        &app,
        Seed {
            number: "+819066667777",
            received: 30,
            ..SEED
        },
    )
    .await;
    let seen: Value = counts(&app, &key, Some(&ann)).await;
    assert_eq!(
        seen,
        json!({"pending": 2, "overdue": 0, "claimed": 2, "mine": 1,
            "latest_received_at": newer.received_at.to_string(), "cap": 1000})
    );
    assert_eq!(counts(&app, &key, None).await["mine"], Value::Null);
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

crate::on_every_backend!(
    a_number_search_finds_the_caller_by_their_last_digits,
    a_number_search_pages_without_gaps,
    filters_and_orders_page_without_gaps,
    a_selective_filter_reads_a_bounded_page,
    counts_follow_new_calls_and_claims,
);
