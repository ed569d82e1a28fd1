//! Service-level figures, the export of a period's records and `/metrics`.
//! The figures are checked against answers this file works out itself from
//! the plan of the records it seeded: a few hundred records over six days
//! in Berlin across the change to summer time, every reason and fate,
//! completions in and out of time, calls after hours.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::domain::agent::Role;
use afureko::domain::callback::{
    Attempt, CallbackRecord, Confirmation, NewCallback, Outcome, Recording, RecordingKind,
    RecordingState, RepeatCall, Status,
};
use afureko::domain::ids::{CallSid, RecordingSid, TenantId};
use afureko::domain::phone::{E164, Region};
use afureko::domain::reason::Reason;
use afureko::domain::tenant::TenantSettings;
use afureko::settings::MetricsToken;
use axum::body::Body;
use axum::http::Request;
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const ZONE: &str = "Europe/Berlin";
const SLA_MINUTES: i64 = 120;
const OPENS: i8 = 8;
const CLOSES: i8 = 20;
/// The last day of the period, 17:00 in Berlin (summer time).
const STATS_NOW: &str = "2026-03-31T15:00:00Z";
const AGENTS: [&str; 3] = ["ann", "bob", "cat"];

fn settings() -> TenantSettings {
    let mut s = TenantSettings {
        time_zone: ZONE.into(),
        callback_sla_minutes: SLA_MINUTES as u32,
        ..TenantSettings::default()
    };
    s.schedule.set_hours("mon-sun=08:00-20:00").unwrap();
    s
}

fn berlin() -> TimeZone {
    TimeZone::get(ZONE).unwrap()
}

fn local(day: Date, hour: i8, minute: i8) -> Timestamp {
    day.at(hour, minute, 0, 0)
        .to_zoned_datetime(berlin())
        .unwrap()
        .timestamp()
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

/// What became of a planned record.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    /// A reaching attempt ten minutes before the first due time.
    ReachedInTime,
    /// An unreached try, then a reaching one 30 minutes late.
    ReachedLate,
    /// A busy try, then completed by hand five minutes before due.
    CompletedByHand,
    /// Three unreached tries.
    Failed,
    Pending,
    /// Claimed after an unreached try.
    Claimed,
}

/// A record as this test planned it, and everything the answers need.
#[derive(Debug, Clone)]
struct Plan {
    day: Date,
    received: Timestamp,
    reason: Reason,
    first_due: Timestamp,
    fate: Fate,
    /// (when, who, outcome)
    attempts: Vec<(Timestamp, &'static str, Outcome)>,
    completed: Option<(Timestamp, &'static str)>,
    due_at: Timestamp,
    repeat_calls: u64,
    recording: Option<RecordingState>,
}

impl Plan {
    fn not_copied(&self) -> u64 {
        u64::from(matches!(
            self.recording,
            Some(RecordingState::PendingCopy | RecordingState::CopyFailed)
        ))
    }
}

/// 330 records, one day in six from 2026-03-26 (the day before the
/// period) to 2026-03-31, between 06:00 and 22:59 local, none after now.
fn plans(now: Timestamp) -> Vec<Plan> {
    let mut plans = Vec::new();
    let reasons = [
        Reason::Overflow,
        Reason::Busy,
        Reason::NoAnswer,
        Reason::QueueTimeout,
        Reason::QueueOptOut,
        Reason::QueueFull,
    ];
    let fates = [
        Fate::ReachedInTime,
        Fate::ReachedLate,
        Fate::CompletedByHand,
        Fate::Failed,
        Fate::Pending,
        Fate::Claimed,
    ];
    for i in 0..330i64 {
        // Spread evenly over the days, the rest well mixed.
        let x = (i * 2_654_435_761) % (1 << 32);
        let day = date(2026, 3, 26)
            .checked_add(jiff::Span::new().days(i % 6))
            .unwrap();
        let hour = 6 + ((x / 36) % 17) as i8;
        let minute = ((x / 612) % 60) as i8;
        let received = local(day, hour, minute);
        if received >= now {
            continue;
        }
        let after_hours = !(OPENS..CLOSES).contains(&hour);
        let (reason, sla_from) = if after_hours {
            let opening_day = if hour >= CLOSES {
                day.tomorrow().unwrap()
            } else {
                day
            };
            (Reason::AfterHours, local(opening_day, OPENS, 0))
        } else {
            (reasons[(x % 6) as usize], received)
        };
        let first_due = sla_from + mins(SLA_MINUTES);
        let who = |k: i64| AGENTS[((i + k) % 3) as usize];
        let mut fate = fates[((x / 6) % 6) as usize];
        let (attempts, completed) = match fate {
            Fate::ReachedInTime => {
                let at = first_due - mins(10);
                (vec![(at, who(0), Outcome::Reached)], Some((at, who(0))))
            }
            Fate::ReachedLate => {
                let at = first_due + mins(30);
                (
                    vec![
                        (first_due - mins(60), who(0), Outcome::NoAnswer),
                        (at, who(1), Outcome::Reached),
                    ],
                    Some((at, who(1))),
                )
            }
            Fate::CompletedByHand => (
                vec![(received + mins(5), who(2), Outcome::Busy)],
                Some((first_due - mins(5), who(2))),
            ),
            Fate::Failed => (
                vec![
                    (received + mins(10), who(0), Outcome::NoAnswer),
                    (received + mins(70), who(1), Outcome::Busy),
                    (received + mins(130), who(0), Outcome::Voicemail),
                ],
                None,
            ),
            Fate::Pending => (Vec::new(), None),
            Fate::Claimed => (vec![(received + mins(10), who(1), Outcome::NoAnswer)], None),
        };
        // Nothing happens after now: a record whose story would end later
        // still waits.
        let (attempts, completed) = if attempts
            .iter()
            .map(|a| a.0)
            .chain(completed.map(|c| c.0))
            .any(|at| at > now)
        {
            fate = Fate::Pending;
            (Vec::new(), None)
        } else {
            (attempts, completed)
        };
        let due_at = match fate {
            Fate::Claimed => attempts[0].0 + mins(60),
            _ => first_due,
        };
        plans.push(Plan {
            day,
            received,
            reason,
            first_due,
            fate,
            attempts,
            completed,
            due_at,
            repeat_calls: u64::from(i % 5 == 0),
            recording: [
                Some(RecordingState::Stored),
                Some(RecordingState::PendingCopy),
                Some(RecordingState::CopyFailed),
                None,
            ][(i % 4) as usize],
        });
    }
    plans
}

/// The record of a plan, made the way intake makes one, then changed to
/// its fate.
fn record_of(tenant: &str, n: usize, plan: &Plan, settings: &TenantSettings) -> CallbackRecord {
    let number = E164::parse(&format!("+8190{:08}", 10_000_000 + n), Region::JP).unwrap();
    let sid = |kind: &str, k: usize| format!("{kind}{:032x}", (n << 4) + k);
    let mut r = CallbackRecord::new(
        TenantId::parse(tenant).unwrap(),
        NewCallback {
            call_sid: CallSid::parse(&sid("CA", 0)).unwrap(),
            caller_number: Some(number.clone()),
            callback_number: number,
            confirmation: Confirmation::CallerId,
            reason: plan.reason,
            received_at: plan.received,
            due_from: settings.due_from(plan.reason, plan.received),
        },
        settings.callback_sla_minutes,
        plan.received,
    );
    assert_eq!(r.first_due_at, Some(plan.first_due), "{plan:?}");
    r.attempts = plan
        .attempts
        .iter()
        .map(|(at, agent, outcome)| Attempt::logged(*at, (*agent).into(), *outcome, None))
        .collect();
    r.due_at = plan.due_at;
    r.status = match plan.fate {
        Fate::ReachedInTime | Fate::ReachedLate | Fate::CompletedByHand => Status::Completed,
        Fate::Failed => Status::Failed,
        Fate::Pending => Status::Pending,
        Fate::Claimed => Status::Claimed,
    };
    if plan.fate == Fate::Claimed {
        r.claimed_by = Some("bob".into());
        r.claimed_at = Some(plan.attempts[0].0);
    }
    if plan.fate == Fate::CompletedByHand {
        let (at, who) = plan.completed.unwrap();
        r.completed_by = Some(who.into());
        r.completed_at = Some(at);
    }
    for k in 0..plan.repeat_calls as usize {
        r.repeat_calls.push(RepeatCall {
            call_sid: CallSid::parse(&sid("CA", k + 1)).unwrap(),
            at: Some(plan.received + mins(3)),
        });
    }
    if let Some(state) = plan.recording {
        r.recordings.push(Recording {
            sid: RecordingSid::parse(&sid("RE", 0)).unwrap(),
            kind: RecordingKind::Request,
            call_sid: Some(r.call_sid.clone()),
            state,
            twilio_url: None,
            duration_seconds: Some(10),
            storage_key: (state == RecordingState::Stored).then(|| format!("recordings/{n}.wav")),
            copy_attempts: 0,
            last_error: None,
            copying_until: None,
            twilio_copy: None,
        });
    }
    r
}

fn round(v: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (v * scale).round() / scale
}

/// The median (the mean of the middle two of an even count) and the
/// nearest-rank 90th percentile, in minutes to one decimal.
fn spread(mut minutes: Vec<f64>) -> Value {
    if minutes.is_empty() {
        return json!({"median": null, "p90": null});
    }
    minutes.sort_by(f64::total_cmp);
    let n = minutes.len();
    let median = if n % 2 == 1 {
        minutes[n / 2]
    } else {
        (minutes[n / 2 - 1] + minutes[n / 2]) / 2.0
    };
    let rank = (n * 9).div_ceil(10);
    json!({"median": round(median, 1), "p90": round(minutes[rank - 1], 1)})
}

fn minutes_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.as_millisecond() - from.as_millisecond()) as f64 / 60_000.0
}

/// The figures of `plans`, as the API should give them.
fn figures(plans: &[&Plan], now: Timestamp) -> Value {
    let count = |f: &dyn Fn(&Plan) -> bool| plans.iter().filter(|p| f(p)).count() as u64;
    let completed = count(&|p| p.completed.is_some());
    let failed = count(&|p| p.fate == Fate::Failed);
    let open = count(&|p| matches!(p.fate, Fate::Pending | Fate::Claimed));
    let within = count(&|p| p.completed.is_some_and(|(at, _)| at <= p.first_due));
    let open_late =
        count(&|p| matches!(p.fate, Fate::Pending | Fate::Claimed) && p.first_due < now);
    let judged = completed + failed + open_late;
    let reason = |r: Reason| count(&|p| p.reason == r);
    let attempts_on_completed: u64 = plans
        .iter()
        .filter(|p| p.completed.is_some())
        .map(|p| p.attempts.len() as u64)
        .sum();
    json!({
        "received": plans.len(),
        "by_reason": {
            "overflow": reason(Reason::Overflow),
            "busy": reason(Reason::Busy),
            "no-answer": reason(Reason::NoAnswer),
            "queue-timeout": reason(Reason::QueueTimeout),
            "queue-opt-out": reason(Reason::QueueOptOut),
            "queue-full": reason(Reason::QueueFull),
            "after-hours": reason(Reason::AfterHours),
            "outage": reason(Reason::Outage),
        },
        "completed": completed,
        "failed": failed,
        "open": open,
        "completed_within_sla": within,
        "sla_share": (judged > 0).then(|| round(within as f64 / judged as f64, 4)),
        "minutes_to_first_attempt": spread(plans.iter().filter_map(|p| {
            p.attempts.first().map(|a| minutes_between(p.received, a.0))
        }).collect()),
        "minutes_to_completion": spread(plans.iter().filter_map(|p| {
            p.completed.map(|c| minutes_between(p.received, c.0))
        }).collect()),
        "attempts_per_completed": (completed > 0)
            .then(|| round(attempts_on_completed as f64 / completed as f64, 2)),
        "repeat_calls": plans.iter().map(|p| p.repeat_calls).sum::<u64>(),
        "recordings_not_copied": plans.iter().map(|p| p.not_copied()).sum::<u64>(),
    })
}

/// The whole answer for the period `from..=to`.
fn expected(plans: &[Plan], ids: &[String], from: Date, to: Date, now: Timestamp) -> Value {
    let inside: Vec<&Plan> = plans
        .iter()
        .filter(|p| p.day >= from && p.day <= to)
        .collect();
    let days: Vec<Value> = from
        .series(jiff::Span::new().days(1))
        .take_while(|d| *d <= to)
        .map(|d| {
            let of_day: Vec<&Plan> = inside.iter().copied().filter(|p| p.day == d).collect();
            let mut day = figures(&of_day, now);
            day["date"] = json!(d.to_string());
            day
        })
        .collect();
    let mut agents: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
    for p in &inside {
        for (_, who, outcome) in &p.attempts {
            let a = agents.entry(who).or_default();
            a[0] += 1;
            a[1] += u64::from(*outcome == Outcome::Reached);
        }
        if let Some((_, who)) = p.completed {
            agents.entry(who).or_default()[2] += 1;
        }
    }
    let open: Vec<(usize, &Plan)> = plans
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.fate, Fate::Pending | Fate::Claimed))
        .collect();
    let mut oldest = open.clone();
    oldest.sort_by_key(|(i, p)| (p.received, ids[*i].clone()));
    oldest.truncate(10);
    json!({
        "from": from.to_string(),
        "to": to.to_string(),
        "time_zone": ZONE,
        "totals": figures(&inside, now),
        "days": days,
        "agents": agents.iter().map(|(login, [attempts, reached, completed])| json!({
            "login": login, "attempts": attempts, "reached": reached, "completed": completed,
        })).collect::<Vec<_>>(),
        "backlog": {
            "pending": open.iter().filter(|(_, p)| p.fate == Fate::Pending).count(),
            "claimed": open.iter().filter(|(_, p)| p.fate == Fate::Claimed).count(),
            "overdue": open.iter().filter(|(_, p)| p.due_at < now).count(),
            "oldest_waiting_received_at": oldest.first().map(|(_, p)| p.received.to_string()),
            "oldest": oldest.iter().map(|(i, p)| json!({
                "id": ids[*i],
                "received_at": p.received.to_string(),
                "due_at": p.due_at.to_string(),
                "status": if p.fate == Fate::Claimed { "claimed" } else { "pending" },
                "reason": p.reason.as_str(),
                "claimed_by": (p.fate == Fate::Claimed).then_some("bob"),
            })).collect::<Vec<_>>(),
        },
    })
}

/// Seeds the plans (and records that must not count: another tenant's,
/// an expired one); the seeded records' ids, in plan order.
async fn seed(app: &TestApp, plans: &[Plan]) -> Vec<String> {
    let settings = settings();
    let mut ids = Vec::new();
    for (n, plan) in plans.iter().enumerate() {
        let r = record_of(TENANT, n, plan, &settings);
        ids.push(r.id.to_string());
        app.backend.store.insert_callback(&r).await.unwrap();
    }
    app.add_tenant("other").await;
    for (n, plan) in plans.iter().take(5).enumerate() {
        let r = record_of("other", 1000 + n, plan, &settings);
        app.backend.store.insert_callback(&r).await.unwrap();
    }
    let mut expired = record_of(TENANT, 2000, &plans[40], &settings);
    expired.status = Status::Completed;
    expired.expires_at = Some(Timestamp::UNIX_EPOCH);
    app.backend.store.insert_callback(&expired).await.unwrap();
    ids
}

async fn stats_match_the_plan(kind: Kind) {
    let app = spawn_on(kind, settings()).await;
    let now: Timestamp = STATS_NOW.parse().unwrap();
    app.clock.set(now);
    let plans = plans(now);
    assert!(plans.len() > 300, "{}", plans.len());
    for fate in [
        Fate::ReachedInTime,
        Fate::ReachedLate,
        Fate::CompletedByHand,
        Fate::Failed,
        Fate::Pending,
        Fate::Claimed,
    ] {
        assert!(plans.iter().any(|p| p.fate == fate), "{fate:?}");
    }
    let ids = seed(&app, &plans).await;
    let key = app.api_key().await;
    let (from, to) = (date(2026, 3, 27), date(2026, 3, 31));
    let reply = app
        .api(
            "GET",
            "/api/v1/stats?from=2026-03-27&to=2026-03-31",
            &key,
            None,
        )
        .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.bytes)
    );
    let got = reply.json();
    let want = expected(&plans, &ids, from, to, now);
    assert_eq!(got["days"].as_array().unwrap().len(), 5);
    // Piece by piece first, for a readable failure.
    for (i, day) in want["days"].as_array().unwrap().iter().enumerate() {
        assert_eq!(got["days"][i], *day, "day {i}");
    }
    assert_eq!(got["totals"], want["totals"]);
    assert_eq!(got["agents"], want["agents"]);
    assert_eq!(got["backlog"], want["backlog"]);
    assert_eq!(got, want);
    // The summer-time day has its 23 hours, and every reason shows.
    assert!(got["totals"]["by_reason"]["after-hours"].as_u64().unwrap() > 0);
    assert!(got["days"][2]["received"].as_u64().unwrap() > 0);

    // One day: today in Berlin by default; the default period is the
    // last seven days.
    let today = app
        .api("GET", "/api/v1/stats?from=2026-03-31", &key, None)
        .await
        .json();
    assert_eq!(today, expected(&plans, &ids, to, to, now));
    let week = app.api("GET", "/api/v1/stats", &key, None).await.json();
    assert_eq!(
        (week["from"].as_str(), week["to"].as_str()),
        (Some("2026-03-25"), Some("2026-03-31"))
    );
    assert_eq!(week, expected(&plans, &ids, date(2026, 3, 25), to, now));
}

async fn who_may_ask_and_what_is_refused(kind: Kind) {
    let app = spawn_on(kind, settings()).await;
    for (login, role) in [
        ("ann", Role::Agent),
        ("bob", Role::Supervisor),
        ("ada", Role::Admin),
    ] {
        app.add_agent(TENANT, login, role).await;
    }
    let ann = app.browser("ann").await;
    let reply = app.browse(&ann, "GET", "/api/v1/stats", None).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (403, "forbidden".into())
    );
    let reply = app
        .browse(&ann, "GET", "/api/v1/stats/records.csv", None)
        .await;
    assert_eq!(reply.status, 403);
    for login in ["bob", "ada"] {
        let b = app.browser(login).await;
        let reply = app.browse(&b, "GET", "/api/v1/stats", None).await;
        assert_eq!(reply.status, 200, "{login}");
        assert_eq!(reply.json()["totals"]["received"], 0);
        assert_eq!(reply.json()["totals"]["sla_share"], Value::Null);
    }
    let key = app.api_key().await;
    for (query, field) in [
        ("from=2026-3-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-02-30", "from"),
        ("from=2026-03-02&to=2026-03-01", "from"),
        ("from=2025-02-28&to=2026-03-01", "to"),
    ] {
        let reply = app
            .api("GET", &format!("/api/v1/stats?{query}"), &key, None)
            .await;
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(
            (reply.error_code(), reply.json()["error"]["field"].as_str()),
            ("bad_request".into(), Some(field)),
            "{query}"
        );
    }
    let reply = app.api("GET", "/api/v1/stats?days=7", &key, None).await;
    assert_eq!(reply.status, 400);
}

fn csv_lines(reply: &ApiReply) -> Vec<Vec<String>> {
    String::from_utf8(reply.bytes.clone())
        .unwrap()
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

async fn the_export_masks_numbers_unless_an_admin_asks(kind: Kind) {
    let app = spawn_on(kind, settings()).await;
    let now: Timestamp = STATS_NOW.parse().unwrap();
    app.clock.set(now);
    let plans: Vec<Plan> = plans(now)
        .into_iter()
        .filter(|p| p.day == date(2026, 3, 30))
        .collect();
    let ids = seed(&app, &plans).await;
    app.add_agent(TENANT, "bob", Role::Supervisor).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let bob = app.browser("bob").await;
    let path = "/api/v1/stats/records.csv?from=2026-03-30&to=2026-03-30";
    let reply = app.browse(&bob, "GET", path, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        reply.headers["content-disposition"],
        "attachment; filename=\"afureko-acme-2026-03-30-2026-03-30.csv\""
    );
    let lines = csv_lines(&reply);
    assert_eq!(lines[0][..3], ["id", "received_at", "reason"]);
    assert_eq!(lines.len(), plans.len() + 1);
    let column = |name: &str| lines[0].iter().position(|c| c == name).unwrap();
    let got_ids: Vec<&String> = lines[1..].iter().map(|l| &l[0]).collect();
    let mut want_ids: Vec<(Timestamp, &String)> = plans
        .iter()
        .zip(&ids)
        .map(|(p, id)| (p.received, id))
        .collect();
    want_ids.sort();
    assert_eq!(
        got_ids,
        want_ids.iter().map(|(_, id)| *id).collect::<Vec<_>>()
    );
    for (line, (received, _)) in lines[1..].iter().zip(&want_ids) {
        assert!(
            line[column("callback_number")].contains("*****"),
            "{line:?}"
        );
        // Local time with Berlin's summer offset.
        let local = received.to_zoned_datetime(berlin());
        assert_eq!(
            line[column("received_at")],
            local.strftime("%Y-%m-%dT%H:%M:%S+02:00").to_string()
        );
    }
    let within: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l[column("completed_within_sla")].as_str())
        .collect();
    assert!(within.contains(&"true") && within.contains(&"false") && within.contains(&""));
    // Whole numbers: a signed-in admin only, and audited.
    let whole = format!("{path}&whole_numbers=true");
    let reply = app.browse(&bob, "GET", &whole, None).await;
    assert_eq!(reply.status, 403);
    let key = app.api_key().await;
    assert_eq!(app.api("GET", &whole, &key, None).await.status, 403);
    assert!(app.api("GET", path, &key, None).await.status == 200);
    let audit = || async {
        app.backend
            .audit
            .list_audit(&TenantId::parse(TENANT).unwrap(), 10)
            .await
            .unwrap()
    };
    assert!(audit().await.is_empty(), "masked exports are not audited");
    let ada = app.browser("ada").await;
    let reply = app.browse(&ada, "GET", &whole, None).await;
    assert_eq!(reply.status, 200);
    let lines = csv_lines(&reply);
    assert!(
        lines[1..]
            .iter()
            .all(|l| l[column("callback_number")].starts_with("+8190")
                && !l[column("callback_number")].contains('*'))
    );
    let entries = audit().await;
    assert_eq!(entries.len(), 1);
    let entry = serde_json::to_value(&entries[0]).unwrap();
    assert_eq!(entry["actor"], "agent:ada");
    assert_eq!(entry["action"], "records_exported");
    assert_eq!(entry["subject"], "2026-03-30..2026-03-30");
    // Counted before it is read: on DynamoDB the index still holds the
    // expired record seeded that day until the TTL deletes it.
    let counted = plans.len() + usize::from(!matches!(kind, Kind::Embedded));
    assert_eq!(entry["counts"], json!({"records": counted}));
}

crate::on_every_backend!(
    stats_match_the_plan,
    who_may_ask_and_what_is_refused,
    the_export_masks_numbers_unless_an_admin_asks,
);

#[tokio::test]
async fn metrics_are_off_unless_a_token_is_set_then_asked_for() {
    let mut app = spawn_app().await;
    let get = |auth: Option<&str>| {
        let mut request = Request::get("/metrics");
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.body(Body::empty()).unwrap()
    };
    let off = app.send(get(Some("Bearer whatever-it-may-be"))).await;
    assert_eq!((off.status, off.error_code()), (404, "not_found".into()));
    let token = MetricsToken::parse("AFUREKO_METRICS_TOKEN", "metrics-token-for-tests").unwrap();
    app.state.metrics = afureko::startup::metrics_endpoint(token);
    assert!(
        app.state.metrics.is_some(),
        "the Prometheus recorder is installed"
    );
    for auth in [
        None,
        Some("Bearer metrics-token-for-test"),
        Some("Basic metrics-token-for-tests"),
    ] {
        let reply = app.send(get(auth)).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (401, "unauthorized".into()),
            "{auth:?}"
        );
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
    }
    // Something to count: a request, a forged webhook, a call and its copy.
    assert_eq!(
        app.send(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .status,
        200
    );
    let forged = app
        .send(
            Request::post("/twilio/acme/voice")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-twilio-signature", "forged")
                .body(Body::from("CallSid=CA00000000000000000000000000000001"))
                .unwrap(),
        )
        .await;
    assert_eq!(forged.status, 403);
    // Its recording is copied on the way.
    app.play_call(CALLER).await;
    let reply = app.send(get(Some("Bearer metrics-token-for-tests"))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = String::from_utf8(reply.bytes).unwrap();
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    assert!(value("afureko_http_requests_total{route=\"/healthz\",status=\"200\"}") >= 1.0);
    assert!(
        value("afureko_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"15\"}") >= 1.0
    );
    assert!(value("afureko_http_request_duration_seconds_count{route=\"/healthz\"}") >= 1.0);
    assert!(value("afureko_webhooks_total{outcome=\"forged\"}") >= 1.0);
    assert!(value("afureko_webhooks_total{outcome=\"answered\"}") >= 1.0);
    assert!(value("afureko_recording_copies_total{outcome=\"stored\"}") >= 1.0);
    value("afureko_copy_queue_jobs{state=\"waiting\"}");
    value("afureko_copy_queue_jobs{state=\"dead\"}");
    assert!(text.contains("# TYPE afureko_http_request_duration_seconds histogram"));
    assert!(
        text.contains("# HELP afureko_http_requests_total Requests answered, by route and status")
    );
}
