//! Service-level figures: what a period's calls were, and whether they were
//! called back in time; per day, per agent, and the backlog now. Pure: the
//! use case (`calls::stats`) feeds it the period's records, by received
//! time, and the open records.

use crate::domain::callback::{CallbackRecord, Outcome, RecordingState, Status, due_at};
use crate::domain::reason::Reason;
use crate::domain::tenant::TenantSettings;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The longest period, in days: a year, a leap day included.
pub const MAX_DAYS: i32 = 366;
/// The period when none is asked for: today and the six days before.
pub const DEFAULT_DAYS: i32 = 7;
/// How many of the longest-waiting open records the backlog names.
pub const OLDEST: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("from ({from}) is after to ({to})")]
    Reversed { from: Date, to: Date },
    #[error("a period is at most {MAX_DAYS} days, got {0}")]
    TooLong(i64),
    #[error("the period is outside the calendar")]
    Calendar,
}

impl PeriodError {
    /// The query parameter at fault.
    pub fn field(&self) -> &'static str {
        match self {
            PeriodError::Reversed { .. } => "from",
            PeriodError::TooLong(_) | PeriodError::Calendar => "to",
        }
    }
}

/// Whole days, `from` to `to` inclusive, in a tenant's time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    from: Date,
    to: Date,
    tz: TimeZone,
    start: Timestamp,
    end: Timestamp,
}

impl Period {
    /// The days `from..=to` in `tz`. Without `to`, up to today; without
    /// `from`, the `DEFAULT_DAYS` up to `to`.
    pub fn new(
        from: Option<Date>,
        to: Option<Date>,
        tz: TimeZone,
        now: Timestamp,
    ) -> Result<Period, PeriodError> {
        let to = to.unwrap_or_else(|| now.to_zoned_datetime(tz.clone()).date());
        let from = match from {
            Some(from) => from,
            None => to
                .checked_sub((DEFAULT_DAYS - 1).days())
                .map_err(|_| PeriodError::Calendar)?,
        };
        if from > to {
            return Err(PeriodError::Reversed { from, to });
        }
        let days = i64::from(
            from.until(to)
                .map_err(|_| PeriodError::Calendar)?
                .get_days(),
        ) + 1;
        if days > i64::from(MAX_DAYS) {
            return Err(PeriodError::TooLong(days));
        }
        let midnight = |date: Date| {
            date.to_zoned_datetime(tz.clone())
                .map(|z| z.timestamp())
                .map_err(|_| PeriodError::Calendar)
        };
        let after = to.checked_add(1.day()).map_err(|_| PeriodError::Calendar)?;
        Ok(Period {
            start: midnight(from)?,
            end: midnight(after)?,
            from,
            to,
            tz,
        })
    }

    pub fn from(&self) -> Date {
        self.from
    }

    pub fn to(&self) -> Date {
        self.to
    }

    /// The first instant of `from` (the period includes it).
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The first instant after `to` (the period excludes it).
    pub fn end(&self) -> Timestamp {
        self.end
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// Every date of the period, in order.
    pub fn dates(&self) -> Vec<Date> {
        self.from
            .series(1.day())
            .take_while(|d| *d <= self.to)
            .collect()
    }

    /// Which day of the period `at` falls on, if any.
    fn day_of(&self, at: Timestamp) -> Option<usize> {
        if at < self.start || at >= self.end {
            return None;
        }
        let date = at.to_zoned_datetime(self.tz.clone()).date();
        let days = self.from.until(date).ok()?.get_days();
        usize::try_from(days).ok()
    }
}

/// Calls by why they reached the callback IVR: one member per `Reason`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ByReason {
    pub overflow: u64,
    pub busy: u64,
    #[serde(rename = "no-answer")]
    pub no_answer: u64,
    #[serde(rename = "queue-timeout")]
    pub queue_timeout: u64,
    #[serde(rename = "queue-opt-out")]
    pub queue_opt_out: u64,
    #[serde(rename = "queue-full")]
    pub queue_full: u64,
    #[serde(rename = "after-hours")]
    pub after_hours: u64,
    pub outage: u64,
}

impl ByReason {
    fn count(&mut self, reason: Reason) {
        // Exhaustive: a new reason does not compile without its member.
        let n = match reason {
            Reason::Overflow => &mut self.overflow,
            Reason::Busy => &mut self.busy,
            Reason::NoAnswer => &mut self.no_answer,
            Reason::QueueTimeout => &mut self.queue_timeout,
            Reason::QueueOptOut => &mut self.queue_opt_out,
            Reason::QueueFull => &mut self.queue_full,
            Reason::AfterHours => &mut self.after_hours,
            Reason::Outage => &mut self.outage,
        };
        *n += 1;
    }
}

/// A median and 90th percentile in minutes (one decimal); null when no
/// record of the period has the time.
#[derive(Debug, Default, Clone, PartialEq, Serialize, ToSchema)]
pub struct Spread {
    pub median: Option<f64>,
    /// The nearest-rank 90th percentile: nine in ten took at most this.
    pub p90: Option<f64>,
}

/// The figures of a period's records (or of one day's).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    /// Records received, each call once (repeat calls join a record).
    pub received: u64,
    pub by_reason: ByReason,
    pub completed: u64,
    /// Given up after the last allowed attempt.
    pub failed: u64,
    /// Pending or claimed now.
    pub open: u64,
    /// Completed at or before their first due time (the SLA from arrival,
    /// or from the next opening for calls after hours).
    pub completed_within_sla: u64,
    /// `completed_within_sla` / (`completed` + `failed` + open records past
    /// their first due time), from 0 to 1; null when that is 0.
    pub sla_share: Option<f64>,
    /// From arrival to the first logged attempt.
    pub minutes_to_first_attempt: Spread,
    /// From arrival to completion.
    pub minutes_to_completion: Spread,
    /// Attempts logged on completed records, per completed record (two
    /// decimals); null when none completed.
    pub attempts_per_completed: Option<f64>,
    /// Later calls from the same number that joined these records.
    pub repeat_calls: u64,
    /// Recordings still only at Twilio: waiting for a copy, or given up.
    pub recordings_not_copied: u64,
}

/// One day's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DayFigures {
    #[schema(value_type = String, format = Date, example = "2026-12-01")]
    pub date: Date,
    #[serde(flatten)]
    pub figures: Figures,
}

/// What one agent did on the period's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AgentFigures {
    /// The agent as the attempts name them.
    pub login: String,
    pub attempts: u64,
    /// Attempts that reached the caller.
    pub reached: u64,
    /// Records this agent completed, by a reaching attempt or by hand.
    pub completed: u64,
}

/// An open record that waits, for the backlog's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Waiting {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    pub status: Status,
    pub reason: Reason,
    pub claimed_by: Option<String>,
}

/// The open records now, whatever the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Backlog {
    pub pending: u64,
    pub claimed: u64,
    /// Open records past their (current) due time, as the list marks them.
    pub overdue: u64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub oldest_waiting_received_at: Option<Timestamp>,
    /// The ten records waiting longest (by arrival), oldest first.
    pub oldest: Vec<Waiting>,
}

/// The answer of `GET /api/v1/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Stats {
    #[schema(value_type = String, format = Date, example = "2026-12-01")]
    pub from: Date,
    #[schema(value_type = String, format = Date, example = "2026-12-07")]
    pub to: Date,
    #[schema(example = "Asia/Tokyo")]
    pub time_zone: String,
    pub totals: Figures,
    /// Every day of the period, days without calls too.
    pub days: Vec<DayFigures>,
    /// Agents with an attempt or a completion on the period's records, by login.
    pub agents: Vec<AgentFigures>,
    pub backlog: Backlog,
}

/// What a record's figures are drawn from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub first_due: Timestamp,
    pub first_attempt: Option<Timestamp>,
    pub completed: Option<Timestamp>,
    /// For a completed record: whether it was completed in time.
    pub within_sla: Option<bool>,
    pub recordings_not_copied: u64,
}

impl Facts {
    /// The facts of `r`. Records from before the first due time was kept
    /// use `due_at` unless an unreached attempt moved it; then the SLA of
    /// `settings` from arrival (or the next opening).
    pub fn of(r: &CallbackRecord, settings: &TenantSettings) -> Facts {
        let first_due = r.first_due_at.unwrap_or_else(|| {
            if r.attempts.iter().any(|a| a.outcome != Outcome::Reached) {
                let from = settings.due_from(r.reason, r.received_at);
                due_at(from.unwrap_or(r.received_at), settings.callback_sla_minutes)
            } else {
                r.due_at
            }
        });
        let completed = r.completed_time();
        Facts {
            first_due,
            first_attempt: r.attempts.iter().map(|a| a.at).min(),
            completed,
            within_sla: completed.map(|at| at <= first_due),
            recordings_not_copied: r
                .recordings
                .iter()
                .filter(|rec| {
                    matches!(
                        rec.state,
                        RecordingState::PendingCopy | RecordingState::CopyFailed
                    )
                })
                .count() as u64,
        }
    }
}

/// Counts and times of some records, before they become `Figures`.
#[derive(Debug, Default)]
struct Tally {
    received: u64,
    by_reason: ByReason,
    completed: u64,
    failed: u64,
    open: u64,
    within_sla: u64,
    open_past_due: u64,
    to_first_attempt_ms: Vec<i64>,
    to_completion_ms: Vec<i64>,
    attempts_on_completed: u64,
    repeat_calls: u64,
    recordings_not_copied: u64,
}

impl Tally {
    fn add(&mut self, r: &CallbackRecord, facts: &Facts, now: Timestamp) {
        self.received += 1;
        self.by_reason.count(r.reason);
        match r.status {
            Status::Completed => {
                self.completed += 1;
                self.attempts_on_completed += r.attempts.len() as u64;
            }
            Status::Failed => self.failed += 1,
            Status::Pending | Status::Claimed => {
                self.open += 1;
                if facts.first_due < now {
                    self.open_past_due += 1;
                }
            }
        }
        if facts.within_sla == Some(true) {
            self.within_sla += 1;
        }
        let since_arrival = |at: Timestamp| at.as_millisecond() - r.received_at.as_millisecond();
        if let Some(at) = facts.first_attempt {
            self.to_first_attempt_ms.push(since_arrival(at));
        }
        if let Some(at) = facts.completed {
            self.to_completion_ms.push(since_arrival(at));
        }
        self.repeat_calls += r.repeat_calls.len() as u64;
        self.recordings_not_copied += facts.recordings_not_copied;
    }

    fn figures(mut self) -> Figures {
        let judged = self.completed + self.failed + self.open_past_due;
        Figures {
            received: self.received,
            by_reason: self.by_reason,
            completed: self.completed,
            failed: self.failed,
            open: self.open,
            completed_within_sla: self.within_sla,
            sla_share: ratio(self.within_sla, judged, 4),
            minutes_to_first_attempt: spread(&mut self.to_first_attempt_ms),
            minutes_to_completion: spread(&mut self.to_completion_ms),
            attempts_per_completed: ratio(self.attempts_on_completed, self.completed, 2),
            repeat_calls: self.repeat_calls,
            recordings_not_copied: self.recordings_not_copied,
        }
    }
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

fn ratio(part: u64, whole: u64, decimals: i32) -> Option<f64> {
    (whole > 0).then(|| round(part as f64 / whole as f64, decimals))
}

/// The median (the mean of the middle two of an even count) and the
/// nearest-rank 90th percentile of `ms`, in minutes to one decimal.
fn spread(ms: &mut [i64]) -> Spread {
    if ms.is_empty() {
        return Spread::default();
    }
    ms.sort_unstable();
    let n = ms.len();
    let median = if n % 2 == 1 {
        ms[n / 2] as f64
    } else {
        (ms[n / 2 - 1] as f64 + ms[n / 2] as f64) / 2.0
    };
    let p90 = ms[(9 * n).div_ceil(10) - 1] as f64;
    let minutes = |v: f64| Some(round(v / 60_000.0, 1));
    Spread {
        median: minutes(median),
        p90: minutes(p90),
    }
}

/// Builds `Stats` from a period's records, a page at a time.
pub struct StatsBuilder<'a> {
    period: Period,
    settings: &'a TenantSettings,
    now: Timestamp,
    total: Tally,
    days: Vec<Tally>,
    agents: BTreeMap<String, AgentFigures>,
    backlog: BacklogBuilder,
}

impl<'a> StatsBuilder<'a> {
    pub fn new(period: Period, settings: &'a TenantSettings, now: Timestamp) -> Self {
        let days = period.dates().iter().map(|_| Tally::default()).collect();
        StatsBuilder {
            period,
            settings,
            now,
            total: Tally::default(),
            days,
            agents: BTreeMap::new(),
            backlog: BacklogBuilder::new(now),
        }
    }

    /// Counts a record received in the period (others are left out).
    pub fn add(&mut self, r: &CallbackRecord) {
        let Some(day) = self.period.day_of(r.received_at) else {
            return;
        };
        let facts = Facts::of(r, self.settings);
        self.total.add(r, &facts, self.now);
        if let Some(tally) = self.days.get_mut(day) {
            tally.add(r, &facts, self.now);
        }
        for a in &r.attempts {
            let agent = self.agent(&a.agent);
            agent.attempts += 1;
            if a.outcome == Outcome::Reached {
                agent.reached += 1;
            }
        }
        if r.status == Status::Completed {
            let by = r.completed_by.clone().or_else(|| {
                r.attempts
                    .iter()
                    .rev()
                    .find(|a| a.outcome == Outcome::Reached)
                    .map(|a| a.agent.clone())
            });
            if let Some(by) = by {
                self.agent(&by).completed += 1;
            }
        }
    }

    /// Counts an open record in the backlog (any received time).
    pub fn add_open(&mut self, r: &CallbackRecord) {
        self.backlog.add(r);
    }

    fn agent(&mut self, login: &str) -> &mut AgentFigures {
        self.agents
            .entry(login.to_owned())
            .or_insert_with(|| AgentFigures {
                login: login.to_owned(),
                attempts: 0,
                reached: 0,
                completed: 0,
            })
    }

    pub fn finish(self) -> Stats {
        Stats {
            from: self.period.from,
            to: self.period.to,
            time_zone: self.settings.time_zone.clone(),
            totals: self.total.figures(),
            days: self
                .period
                .dates()
                .into_iter()
                .zip(self.days)
                .map(|(date, tally)| DayFigures {
                    date,
                    figures: tally.figures(),
                })
                .collect(),
            agents: self.agents.into_values().collect(),
            backlog: self.backlog.finish(),
        }
    }
}

struct BacklogBuilder {
    now: Timestamp,
    pending: u64,
    claimed: u64,
    overdue: u64,
    /// The oldest seen so far, at most `OLDEST` once trimmed.
    oldest: Vec<Waiting>,
}

impl BacklogBuilder {
    fn new(now: Timestamp) -> Self {
        BacklogBuilder {
            now,
            pending: 0,
            claimed: 0,
            overdue: 0,
            oldest: Vec::new(),
        }
    }

    fn add(&mut self, r: &CallbackRecord) {
        match r.status {
            Status::Pending => self.pending += 1,
            Status::Claimed => self.claimed += 1,
            Status::Completed | Status::Failed => return,
        }
        if r.due_at < self.now {
            self.overdue += 1;
        }
        self.oldest.push(Waiting {
            id: r.id.to_string(),
            received_at: r.received_at,
            due_at: r.due_at,
            status: r.status,
            reason: r.reason,
            claimed_by: r.claimed_by.clone(),
        });
        if self.oldest.len() >= 4 * OLDEST {
            self.trim();
        }
    }

    fn trim(&mut self) {
        self.oldest
            .sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
        self.oldest.truncate(OLDEST);
    }

    fn finish(mut self) -> Backlog {
        self.trim();
        Backlog {
            pending: self.pending,
            claimed: self.claimed,
            overdue: self.overdue,
            oldest_waiting_received_at: self.oldest.first().map(|w| w.received_at),
            oldest: self.oldest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::callback::tests::{at, record};
    use crate::domain::callback::{Attempt, Recording, RecordingKind};
    use crate::domain::ids::{CallSid, CallbackId, RecordingSid};
    use crate::domain::schedule::Schedule;

    fn tokyo() -> TimeZone {
        TimeZone::get("Asia/Tokyo").unwrap()
    }

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn the_default_period_is_the_last_seven_days_in_the_tenants_zone() {
        // 2026-11-30T16:00Z is already December 1st in Tokyo.
        let p = Period::new(None, None, tokyo(), at("2026-11-30T16:00:00Z")).unwrap();
        assert_eq!((p.from(), p.to()), (date("2026-11-25"), date("2026-12-01")));
        assert_eq!(p.start(), at("2026-11-24T15:00:00Z"));
        assert_eq!(p.end(), at("2026-12-01T15:00:00Z"));
        assert_eq!(p.dates().len(), 7);
        let p = Period::new(None, Some(date("2026-03-10")), tokyo(), at(NOW)).unwrap();
        assert_eq!(p.from(), date("2026-03-04"));
    }

    const NOW: &str = "2026-11-25T01:00:00Z";

    #[test]
    fn a_period_is_one_to_366_days_forwards() {
        let one = Period::new(
            Some(date("2026-12-01")),
            Some(date("2026-12-01")),
            tokyo(),
            at(NOW),
        );
        assert_eq!(one.unwrap().dates(), [date("2026-12-01")]);
        let year = Period::new(
            Some(date("2024-01-01")),
            Some(date("2024-12-31")),
            tokyo(),
            at(NOW),
        );
        assert_eq!(year.unwrap().dates().len(), 366);
        let err = Period::new(
            Some(date("2024-01-01")),
            Some(date("2025-01-01")),
            tokyo(),
            at(NOW),
        )
        .unwrap_err();
        assert_eq!(
            (err.clone(), err.field()),
            (PeriodError::TooLong(367), "to")
        );
        let err = Period::new(
            Some(date("2026-12-02")),
            Some(date("2026-12-01")),
            tokyo(),
            at(NOW),
        )
        .unwrap_err();
        assert_eq!(err.field(), "from");
        assert_eq!(
            err.to_string(),
            "from (2026-12-02) is after to (2026-12-01)"
        );
    }

    #[test]
    fn days_follow_the_zone_across_a_daylight_saving_change() {
        // Berlin went to summer time on 2026-03-29: that day has 23 hours.
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let p = Period::new(
            Some(date("2026-03-28")),
            Some(date("2026-03-30")),
            berlin,
            at(NOW),
        )
        .unwrap();
        assert_eq!(p.start(), at("2026-03-27T23:00:00Z"));
        assert_eq!(p.end(), at("2026-03-30T22:00:00Z"));
        assert_eq!(p.day_of(at("2026-03-28T22:59:59Z")), Some(0));
        assert_eq!(p.day_of(at("2026-03-28T23:00:00Z")), Some(1));
        assert_eq!(p.day_of(at("2026-03-29T21:59:59Z")), Some(1));
        assert_eq!(p.day_of(at("2026-03-29T22:00:00Z")), Some(2));
        assert_eq!(p.day_of(at("2026-03-30T22:00:00Z")), None);
    }

    #[test]
    fn spreads_are_the_median_and_the_nearest_rank_p90() {
        let min = |m: i64| m * 60_000;
        assert_eq!(spread(&mut []), Spread::default());
        let s = spread(&mut [min(3), min(1), min(2)]);
        assert_eq!((s.median, s.p90), (Some(2.0), Some(3.0)));
        let mut ten: Vec<i64> = (1..=10).map(min).collect();
        let s = spread(&mut ten);
        assert_eq!((s.median, s.p90), (Some(5.5), Some(9.0)));
        let s = spread(&mut [90_000]);
        assert_eq!((s.median, s.p90), (Some(1.5), Some(1.5)));
    }

    fn attempt(agent: &str, outcome: Outcome, when: &str) -> Attempt {
        Attempt::logged(at(when), agent.into(), outcome, None)
    }

    #[test]
    fn a_day_counts_reasons_outcomes_sla_and_agents() {
        let settings = TenantSettings::default();
        let period = Period::new(
            Some(date("2026-11-25")),
            Some(date("2026-11-25")),
            tokyo(),
            at(NOW),
        )
        .unwrap();
        let now = at("2026-11-25T10:00:00Z");
        // Received 01:00Z, due 02:30Z (90 minutes).
        let base = record();
        let mut in_time = base.clone();
        in_time.attempts = vec![
            attempt("ann", Outcome::NoAnswer, "2026-11-25T01:30:00Z"),
            attempt("bob", Outcome::Reached, "2026-11-25T02:30:00Z"),
        ];
        in_time.status = Status::Completed;
        in_time.due_at = at("2026-11-25T02:30:00Z");
        let mut late = base.clone();
        late.reason = Reason::AfterHours;
        late.completed_by = Some("ann".into());
        late.completed_at = Some(at("2026-11-25T02:31:00Z"));
        late.status = Status::Completed;
        let mut failed = base.clone();
        failed.reason = Reason::Busy;
        failed.status = Status::Failed;
        failed.attempts = vec![attempt("ann", Outcome::Busy, "2026-11-25T03:00:00Z")];
        let mut waiting = base.clone();
        waiting.id = CallbackId::generate();
        waiting
            .repeat_calls
            .push(crate::domain::callback::RepeatCall {
                call_sid: CallSid::parse("CA00000000000000000000000000000009").unwrap(),
                at: None,
            });
        waiting.recordings.push(Recording {
            sid: RecordingSid::parse("RE00000000000000000000000000000001").unwrap(),
            kind: RecordingKind::Request,
            call_sid: None,
            state: RecordingState::PendingCopy,
            twilio_url: None,
            duration_seconds: None,
            storage_key: None,
            copy_attempts: 0,
            last_error: None,
            copying_until: None,
            twilio_copy: None,
        });
        let mut not_yet_due = base.clone();
        not_yet_due.first_due_at = Some(at("2026-11-25T11:00:00Z"));
        let mut outside = base.clone();
        outside.received_at = at("2026-11-25T15:00:00Z");
        let mut b = StatsBuilder::new(period, &settings, now);
        for r in [&in_time, &late, &failed, &waiting, &not_yet_due, &outside] {
            b.add(r);
        }
        let stats = b.finish();
        let t = &stats.totals;
        assert_eq!((t.received, t.completed, t.failed, t.open), (5, 2, 1, 2));
        assert_eq!(
            (
                t.by_reason.overflow,
                t.by_reason.after_hours,
                t.by_reason.busy
            ),
            (3, 1, 1)
        );
        assert_eq!(t.completed_within_sla, 1);
        // 1 in time of 2 completed + 1 failed + 1 open past due.
        assert_eq!(t.sla_share, Some(0.25));
        assert_eq!(t.minutes_to_first_attempt.median, Some(75.0));
        assert_eq!(t.minutes_to_completion.median, Some(90.5));
        assert_eq!(t.minutes_to_completion.p90, Some(91.0));
        assert_eq!(t.attempts_per_completed, Some(1.0));
        assert_eq!((t.repeat_calls, t.recordings_not_copied), (1, 1));
        assert_eq!(stats.days.len(), 1);
        assert_eq!(stats.days[0].figures, stats.totals);
        assert_eq!(
            stats.agents,
            [
                AgentFigures {
                    login: "ann".into(),
                    attempts: 2,
                    reached: 0,
                    completed: 1
                },
                AgentFigures {
                    login: "bob".into(),
                    attempts: 1,
                    reached: 1,
                    completed: 1
                },
            ]
        );
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["days"][0]["date"], "2026-11-25");
        assert_eq!(json["days"][0]["received"], 5);
        assert_eq!(json["time_zone"], "Asia/Tokyo");
    }

    #[test]
    fn every_reason_has_its_own_member() {
        let json = serde_json::to_value(ByReason::default()).unwrap();
        let names: Vec<&String> = json.as_object().unwrap().keys().collect();
        for name in names {
            let reason: Reason = name.parse().unwrap();
            let mut counted = ByReason::default();
            counted.count(reason);
            assert_eq!(serde_json::to_value(&counted).unwrap()[name], 1, "{name}");
        }
    }

    #[test]
    fn old_records_find_their_first_due_time() {
        let mut settings = TenantSettings {
            callback_sla_minutes: 90,
            ..TenantSettings::default()
        };
        let mut r = record();
        r.first_due_at = None;
        assert_eq!(Facts::of(&r, &settings).first_due, r.due_at);
        r.attempts = vec![attempt("ann", Outcome::NoAnswer, "2026-11-25T02:00:00Z")];
        r.due_at = at("2026-11-25T03:00:00Z");
        assert_eq!(
            Facts::of(&r, &settings).first_due,
            at("2026-11-25T02:30:00Z")
        );
        // After hours: from the next opening (09:00 Tokyo).
        settings.schedule = Schedule::default();
        settings.schedule.set_hours("mon-fri=09:00-18:00").unwrap();
        r.reason = Reason::AfterHours;
        r.received_at = at("2026-11-24T12:00:00Z");
        assert_eq!(
            Facts::of(&r, &settings).first_due,
            at("2026-11-25T01:30:00Z")
        );
    }

    #[test]
    fn the_backlog_names_the_ten_longest_waiting() {
        let now = at("2026-11-26T00:00:00Z");
        let mut b = BacklogBuilder::new(now);
        let mut made = Vec::new();
        for i in 0..50 {
            let mut r = record();
            r.id = CallbackId::generate();
            // Received newest first, so the oldest come last.
            r.received_at = at("2026-11-25T12:00:00Z")
                .checked_sub(jiff::SignedDuration::from_mins(i))
                .unwrap();
            r.due_at = r
                .received_at
                .checked_add(jiff::SignedDuration::from_hours(6))
                .unwrap();
            if i % 2 == 0 {
                r.status = Status::Claimed;
                r.claimed_by = Some("ann".into());
            }
            made.push(r.clone());
            b.add(&r);
        }
        let mut closed = record();
        closed.status = Status::Completed;
        b.add(&closed);
        let backlog = b.finish();
        assert_eq!((backlog.pending, backlog.claimed), (25, 25));
        // Due by 18:00Z, before now.
        assert_eq!(backlog.overdue, 50);
        let want: Vec<String> = made
            .iter()
            .rev()
            .take(10)
            .map(|r| r.id.to_string())
            .collect();
        let got: Vec<String> = backlog.oldest.iter().map(|w| w.id.clone()).collect();
        assert_eq!(got, want);
        assert_eq!(
            backlog.oldest_waiting_received_at,
            Some(at("2026-11-25T11:11:00Z"))
        );
    }
}
