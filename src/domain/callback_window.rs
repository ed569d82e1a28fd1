//! Callback windows: a tenant may let the caller choose when to be called
//! back, up to four windows within business hours (`1=09:00-12:00`), each
//! on a key of its own; 0 stays "as soon as possible".

use crate::domain::due;
use crate::domain::prompts::Language;
use crate::domain::schedule::{LOOKAHEAD_DAYS, OpenRange, Schedule};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub const MAX_WINDOWS: usize = 4;

/// A window is offered for today only while its end is at least this far
/// away: less leaves the agents no time to call.
pub const LEAD_TIME: SignedDuration = SignedDuration::from_mins(30);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("a callback window must look like 1=09:00-12:00 (a key from 1 to 9), got {0:?}")]
    Shape(String),
    #[error(transparent)]
    Hours(#[from] crate::domain::schedule::HoursError),
    #[error("at most {MAX_WINDOWS} callback windows, got {0}")]
    TooMany(usize),
    #[error("key {0} is given to two callback windows")]
    SameKey(u8),
    #[error("callback window {0} is outside business hours on every day")]
    OutsideHours(CallbackWindow),
}

/// One window: the key that chooses it and its hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CallbackWindow {
    pub key: u8,
    pub hours: OpenRange,
}

/// The form of a window, as the API's document gives it (ECMA-262).
pub const PATTERN: &str = "^[1-9]=[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$";

impl FromStr for CallbackWindow {
    type Err = WindowError;
    /// `1=09:00-12:00`, exactly (`PATTERN`); `24:00` may end a window, as
    /// it may opening hours.
    fn from_str(s: &str) -> Result<Self, WindowError> {
        let shape = || WindowError::Shape(s.to_owned());
        let digit = |b: &u8, max: u8| b.is_ascii_digit() && *b <= max;
        let clock = |c: &[u8]| {
            matches!(c, [h1, h2, b':', m1, m2]
                if digit(h1, b'2') && digit(h2, b'9') && digit(m1, b'5') && digit(m2, b'9'))
        };
        let (key, hours) = match s.as_bytes() {
            [k @ b'1'..=b'9', b'=', rest @ ..]
                if rest.len() == 11
                    && rest[5] == b'-'
                    && clock(&rest[..5])
                    && clock(&rest[6..]) =>
            {
                (k - b'0', &s[2..])
            }
            _ => return Err(shape()),
        };
        let hours = hours.parse().map_err(WindowError::Hours)?;
        Ok(CallbackWindow { key, hours })
    }
}

impl TryFrom<String> for CallbackWindow {
    type Error = WindowError;
    fn try_from(s: String) -> Result<Self, WindowError> {
        s.parse()
    }
}

impl From<CallbackWindow> for String {
    fn from(w: CallbackWindow) -> String {
        w.to_string()
    }
}

impl fmt::Display for CallbackWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.hours)
    }
}

/// Parses a tenant's windows (`--callback-window`, repeated); an empty
/// list turns the choice off. Sorted by key, as the prompt offers them.
pub fn parse_windows<S: AsRef<str>>(specs: &[S]) -> Result<Vec<CallbackWindow>, WindowError> {
    let mut windows = specs
        .iter()
        .map(|s| s.as_ref().parse())
        .collect::<Result<Vec<CallbackWindow>, _>>()?;
    windows.sort_by_key(|w| w.key);
    check_windows(&windows)?;
    Ok(windows)
}

/// At most four windows, each on its own key.
pub fn check_windows(windows: &[CallbackWindow]) -> Result<(), WindowError> {
    if windows.len() > MAX_WINDOWS {
        return Err(WindowError::TooMany(windows.len()));
    }
    for (i, w) in windows.iter().enumerate() {
        if windows[..i].iter().any(|earlier| earlier.key == w.key) {
            return Err(WindowError::SameKey(w.key));
        }
    }
    Ok(())
}

/// Every window lies within the business hours of at least one day of the
/// week (from the day's first opening to its last closing: a callback may
/// wait out a lunch break).
pub fn check_within_hours(
    windows: &[CallbackWindow],
    schedule: &Schedule,
) -> Result<(), WindowError> {
    match windows.iter().find(|w| !w.within_some_week_day(schedule)) {
        Some(w) => Err(WindowError::OutsideHours(*w)),
        None => Ok(()),
    }
}

/// When a chosen window next comes round: what the record keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl CallbackWindow {
    fn within(&self, span: OpenRange) -> bool {
        span.start <= self.hours.start && self.hours.end <= span.end
    }

    fn within_some_week_day(&self, schedule: &Schedule) -> bool {
        crate::domain::schedule::Day::ALL
            .into_iter()
            .filter_map(|day| schedule.weekly_span(day))
            .any(|span| self.within(span))
    }

    /// The window's next occurrence after `now`, in `tz`: today while its
    /// end is at least `LEAD_TIME` away and today's business hours hold it,
    /// else the next day whose hours do (holidays and closed days skipped).
    /// `None` when none comes within a month.
    pub fn next_occurrence(
        &self,
        now: Timestamp,
        tz: &TimeZone,
        schedule: &Schedule,
    ) -> Option<Occurrence> {
        let today = now.to_zoned_datetime(tz.clone()).date();
        let soonest_end = now.checked_add(LEAD_TIME).ok()?;
        (0..LOOKAHEAD_DAYS).find_map(|offset| {
            let date = today.checked_add(jiff::Span::new().days(offset)).ok()?;
            if !schedule
                .business_span(date)
                .is_some_and(|span| self.within(span))
            {
                return None;
            }
            let (start, end) = Schedule::window(date, &self.hours, tz)?;
            (end.timestamp() >= soonest_end).then(|| Occurrence {
                start: start.timestamp(),
                end: end.timestamp(),
            })
        })
    }
}

/// The choice offered after the number is confirmed, made from the windows:
/// 「できるだけ早くをご希望の方は0を、午前9時から12時は1を、…を押してください。」
pub fn choice_prompt(windows: &[CallbackWindow], language: Language) -> String {
    let hours = |w: &CallbackWindow| due::hours(w.hours.start, w.hours.end, language);
    match language {
        Language::JaJp => {
            let mut parts = vec!["できるだけ早くをご希望の方は0を".to_owned()];
            parts.extend(windows.iter().map(|w| format!("{}は{}を", hours(w), w.key)));
            format!("{}押してください。", parts.join("、"))
        }
        Language::EnUs => {
            let mut parts = vec!["For a call as soon as possible, press 0.".to_owned()];
            parts.extend(
                windows
                    .iter()
                    .map(|w| format!("For {}, press {}.", hours(w), w.key)),
            );
            parts.join(" ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::tests::{at, new_york, office, tokyo};
    use jiff::civil::Time;

    fn window(spec: &str) -> CallbackWindow {
        spec.parse().unwrap()
    }

    fn occurrence(start: &str, end: &str) -> Option<Occurrence> {
        Some(Occurrence {
            start: at(start),
            end: at(end),
        })
    }

    #[test]
    fn windows_parse_and_print() {
        let w = window("2=13:00-17:00");
        assert_eq!(w.key, 2);
        assert_eq!(w.hours.start, Time::constant(13, 0, 0, 0));
        assert_eq!(w.to_string(), "2=13:00-17:00");
        assert_eq!(window("4=22:00-24:00").hours.end, Time::MAX);
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(json, r#""2=13:00-17:00""#);
        assert_eq!(serde_json::from_str::<CallbackWindow>(&json).unwrap(), w);
    }

    #[test]
    fn bad_windows_are_refused_with_the_reason() {
        let refused = |spec: &str| spec.parse::<CallbackWindow>().unwrap_err().to_string();
        for spec in [
            "0=09:00-12:00",
            "10=09:00-12:00",
            "a=09:00-12:00",
            "09:00-12:00",
            "=09:00-12:00",
            " 2 = 13:00-17:00",
            "1=9:00-12:00",
            "1=09:00-12:00:00",
            "1=09:00 - 12:00",
            "1=０9:00-12:00",
        ] {
            assert_eq!(
                refused(spec),
                format!(
                    "a callback window must look like 1=09:00-12:00 (a key from 1 to 9), got {spec:?}"
                )
            );
        }
        assert_eq!(
            refused("1=12:00-09:00"),
            "opening hours must end after they start, got \"12:00-09:00\""
        );
        assert_eq!(
            refused("1=12:00-12:00"),
            "opening hours must end after they start, got \"12:00-12:00\""
        );
        assert_eq!(
            refused("1=25:00-26:00"),
            "opening hours must look like 09:00-18:00, got \"25:00-26:00\""
        );
        let specs = [
            "1=09:00-10:00",
            "2=10:00-11:00",
            "3=11:00-12:00",
            "4=13:00-14:00",
        ];
        assert_eq!(parse_windows(&specs).unwrap().len(), 4);
        let five = [&specs[..], &["5=14:00-15:00"]].concat();
        assert_eq!(parse_windows(&five), Err(WindowError::TooMany(5)));
        assert_eq!(
            parse_windows(&["1=09:00-10:00", "1=13:00-14:00"])
                .unwrap_err()
                .to_string(),
            "key 1 is given to two callback windows"
        );
        assert_eq!(parse_windows::<&str>(&[]), Ok(Vec::new()));
        let sorted = parse_windows(&["3=13:00-17:00", "1=09:00-12:00"]).unwrap();
        assert_eq!(sorted.iter().map(|w| w.key).collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn windows_must_lie_within_business_hours() {
        let s = office();
        // Across the lunch break is within the day's hours.
        let fine = parse_windows(&["1=09:00-12:00", "2=13:00-17:00", "3=11:00-14:00"]).unwrap();
        assert_eq!(check_within_hours(&fine, &s), Ok(()));
        // Saturday's hours hold 10:00-14:00 even if no weekday did.
        assert_eq!(check_within_hours(&[window("1=10:00-14:00")], &s), Ok(()));
        let late = window("2=17:00-19:00");
        assert_eq!(
            check_within_hours(&[window("1=09:00-12:00"), late], &s)
                .unwrap_err()
                .to_string(),
            "callback window 2=17:00-19:00 is outside business hours on every day"
        );
        assert!(check_within_hours(&[window("1=08:30-10:00")], &s).is_err());
        // Always open: any window.
        assert_eq!(
            check_within_hours(&[window("1=00:00-24:00")], &Schedule::default()),
            Ok(())
        );
    }

    #[test]
    fn the_next_occurrence_is_today_while_there_is_time() {
        let s = office();
        let afternoon = window("2=13:00-17:00");
        let tz = tokyo();
        // Wed 2025-12-03 10:00 JST: today 13:00-17:00.
        assert_eq!(
            afternoon.next_occurrence(at("2025-12-03T01:00:00Z"), &tz, &s),
            occurrence("2025-12-03T04:00:00Z", "2025-12-03T08:00:00Z")
        );
        // 16:30 JST, 30 minutes before the end: still today.
        assert_eq!(
            afternoon.next_occurrence(at("2025-12-03T07:30:00Z"), &tz, &s),
            occurrence("2025-12-03T04:00:00Z", "2025-12-03T08:00:00Z")
        );
        // 16:31 JST: tomorrow.
        assert_eq!(
            afternoon.next_occurrence(at("2025-12-03T07:31:00Z"), &tz, &s),
            occurrence("2025-12-04T04:00:00Z", "2025-12-04T08:00:00Z")
        );
    }

    #[test]
    fn the_next_occurrence_skips_closed_days_and_holidays() {
        let mut s = office();
        let tz = tokyo();
        let morning = window("1=09:00-12:00");
        // Fri 2025-12-05 18:00 JST: Saturday's hours (10-14) do not hold
        // 9-12, Sunday is closed: Monday.
        let friday_evening = at("2025-12-05T09:00:00Z");
        assert_eq!(
            morning.next_occurrence(friday_evening, &tz, &s),
            occurrence("2025-12-08T00:00:00Z", "2025-12-08T03:00:00Z")
        );
        // Saturday's hours hold 11-13: Saturday.
        assert_eq!(
            window("3=11:00-13:00").next_occurrence(friday_evening, &tz, &s),
            occurrence("2025-12-06T02:00:00Z", "2025-12-06T04:00:00Z")
        );
        // Monday a holiday: Tuesday.
        s.holidays.push("2025-12-08".parse().unwrap());
        assert_eq!(
            morning.next_occurrence(friday_evening, &tz, &s),
            occurrence("2025-12-09T00:00:00Z", "2025-12-09T03:00:00Z")
        );
        // Nothing within a month: none.
        let mut closed = Schedule::default();
        closed.set_hours("mon-sun=closed").unwrap();
        assert_eq!(morning.next_occurrence(friday_evening, &tz, &closed), None);
    }

    #[test]
    fn the_next_occurrence_in_new_york_keeps_local_hours_across_dst() {
        let ny = new_york();
        let mut s = Schedule::default();
        s.set_hours("mon-fri=09:00-17:00").unwrap();
        let w = window("1=09:00-12:00");
        // Fri 2026-03-06 15:00 EST: Monday 03-09 09:00 EDT = 13:00Z (EST
        // would have been 14:00Z).
        assert_eq!(
            w.next_occurrence(at("2026-03-06T20:00:00Z"), &ny, &s),
            occurrence("2026-03-09T13:00:00Z", "2026-03-09T16:00:00Z")
        );
        // Always open, a window in the spring gap: 02:30 moves to 03:30.
        let gap = window("2=02:30-04:00");
        assert_eq!(
            gap.next_occurrence(at("2026-03-08T05:00:00Z"), &ny, &Schedule::default()),
            occurrence("2026-03-08T07:30:00Z", "2026-03-08T08:00:00Z")
        );
    }

    /// What the document's pattern lets through parses, or fails on its
    /// times only; what it refuses never parses.
    #[test]
    fn the_pattern_is_the_parsers_shape() {
        let pattern = regex::Regex::new(PATTERN).unwrap();
        for spec in [
            "1=09:00-12:00",
            "9=22:00-24:00",
            "1=25:00-26:00",
            "2=12:00-09:00",
            "3=24:30-24:45",
            " 1=09:00-12:00",
            "1=9:00-12:00",
            "0=09:00-12:00",
            "1=09:00-12:00:00",
            "1=09:00–12:00",
            "1=09:60-12:00",
            "1=09:00-12:00\n",
        ] {
            let parsed = spec.parse::<CallbackWindow>();
            assert_eq!(
                pattern.is_match(spec),
                !matches!(parsed, Err(WindowError::Shape(_))),
                "{spec:?}"
            );
        }
    }

    #[test]
    fn the_choice_prompt_is_made_from_the_windows() {
        use crate::domain::prompts::PromptKey;
        for language in Language::ALL {
            assert_eq!(
                choice_prompt(&[], language),
                PromptKey::WindowChoice.default_text(language)
            );
        }
        let windows = parse_windows(&["1=09:00-12:00", "2=13:00-17:00"]).unwrap();
        assert_eq!(
            choice_prompt(&windows, Language::JaJp),
            "できるだけ早くをご希望の方は0を、午前9時から12時は1を、午後1時から5時は2を押してください。"
        );
        assert_eq!(
            choice_prompt(&windows, Language::EnUs),
            "For a call as soon as possible, press 0. For 9 am to 12 noon, press 1. For 1 pm to 5 pm, press 2."
        );
        let one = parse_windows(&["3=10:30-12:30"]).unwrap();
        assert_eq!(
            choice_prompt(&one, Language::JaJp),
            "できるだけ早くをご希望の方は0を、午前10時30分から午後0時30分は3を押してください。"
        );
    }
}
