//! When the caller is told to expect the call back: `{due}` in a prompt,
//! and the hours of a callback window, spoken as a person would say them.

use crate::domain::callback_window::Occurrence;
use crate::domain::prompts::Language;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{RoundMode, Timestamp, Unit, ZonedDateTime, ZonedDateTimeRound};

/// When a record is due, and the window the caller chose, if any: what
/// `{due}` is spoken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub at: Timestamp,
    pub window: Option<Occurrence>,
}

impl Due {
    /// Due at `at`, no window chosen.
    pub fn at(at: Timestamp) -> Self {
        Due { at, window: None }
    }

    /// `due_phrase` of this.
    pub fn phrase(&self, now: Timestamp, tz: &TimeZone, language: Language) -> String {
        due_phrase(self.at, now, tz, language, self.window.as_ref())
    }
}

/// A prompt without its `{due}` (a tenant that promises no time): the
/// sentence closes up round it, no space left doubled or before a
/// punctuation mark. 「担当者より{due}折り返し…」 reads 「担当者より折り返し…」,
/// "We will call you back {due}." reads "We will call you back.".
pub fn without_due(text: &str) -> String {
    let removed = text.replace("{due}", "");
    let mut out = String::with_capacity(removed.len());
    for c in removed.chars() {
        let space_before = out.ends_with(' ');
        if c == ' ' && (space_before || out.is_empty()) {
            continue;
        }
        if space_before && matches!(c, '.' | ',' | '!' | '?' | ';' | ':' | '。' | '、') {
            out.pop();
        }
        out.push(c);
    }
    out.trim_end().to_owned()
}

/// What `{due}` says: by when the callback comes, rounded up to the next
/// quarter hour in the tenant's zone (「本日15時30分までに」, "by 3:30 pm
/// today"), or, for a record with a window, the window (「明日の午後1時から
/// 5時の間に」, "between 1 pm and 5 pm tomorrow"). A time already past
/// (an overdue record a caller rings about again) is "as soon as possible".
pub fn due_phrase(
    due: Timestamp,
    now: Timestamp,
    tz: &TimeZone,
    language: Language,
    window: Option<&Occurrence>,
) -> String {
    let today = now.to_zoned_datetime(tz.clone()).date();
    if let Some(window) = window {
        if window.end <= now {
            return as_soon_as_possible(language).to_owned();
        }
        let start = window.start.to_zoned_datetime(tz.clone());
        let hours = hours_between(start.time(), end_time(window.end, tz), language);
        let day = day(start.date(), today, language);
        return match language {
            Language::JaJp => format!("{day}の{hours}の間に"),
            Language::EnUs => format!("between {hours} {day}"),
        };
    }
    if due <= now {
        return as_soon_as_possible(language).to_owned();
    }
    let due = round_up_to_quarter(due.to_zoned_datetime(tz.clone()));
    let day = day(due.date(), today, language);
    let (hour, minute) = (due.hour(), due.minute());
    match language {
        Language::JaJp if minute == 0 => format!("{day}{hour}時までに"),
        Language::JaJp => format!("{day}{hour}時{minute}分までに"),
        Language::EnUs => {
            let (twelve, half) = twelve_hour(hour);
            format!("by {twelve}:{minute:02} {half} {day}")
        }
    }
}

/// When something happened, as said to an agent: 「本日14時5分」, "today
/// at 2:05 pm", 「12月8日(月)9時」, "on Monday, December 8 at 9:00 am".
pub fn spoken_moment(at: Timestamp, now: Timestamp, tz: &TimeZone, language: Language) -> String {
    let today = now.to_zoned_datetime(tz.clone()).date();
    let at = at.to_zoned_datetime(tz.clone());
    let day = day(at.date(), today, language);
    let (hour, minute) = (at.hour(), at.minute());
    match language {
        Language::JaJp if minute == 0 => format!("{day}{hour}時"),
        Language::JaJp => format!("{day}{hour}時{minute}分"),
        Language::EnUs => {
            let (twelve, half) = twelve_hour(hour);
            format!("{day} at {twelve}:{minute:02} {half}")
        }
    }
}

/// `{due}` when the due time is unknown or past.
pub fn as_soon_as_possible(language: Language) -> &'static str {
    match language {
        Language::JaJp => "できるだけ早く",
        Language::EnUs => "as soon as possible",
    }
}

/// Hours from `start` to `end` (`24:00` as `Time::MAX`), as a caller hears
/// them: 「午前9時から12時」「午後1時から5時」, "9 am to 12 noon".
pub fn hours(start: Time, end: Time, language: Language) -> String {
    match language {
        Language::JaJp => hours_between(start, end, language),
        Language::EnUs => format!("{} to {}", english_clock(start), english_clock(end)),
    }
}

/// As `hours`, but English joins with "and" ("between 1 pm and 5 pm").
fn hours_between(start: Time, end: Time, language: Language) -> String {
    match language {
        Language::JaJp => {
            let end_marker = half_of(end) != half_of(start) && half_of(end) == Half::Afternoon;
            format!(
                "{}から{}",
                japanese_clock(start, true),
                japanese_clock(end, end_marker)
            )
        }
        Language::EnUs => format!("{} and {}", english_clock(start), english_clock(end)),
    }
}

/// A window's end as a time of its day: midnight ends the day (24:00).
fn end_time(end: Timestamp, tz: &TimeZone) -> Time {
    match end.to_zoned_datetime(tz.clone()).time() {
        t if t == Time::midnight() => Time::MAX,
        t => t,
    }
}

fn round_up_to_quarter(at: ZonedDateTime) -> ZonedDateTime {
    let quarter = ZonedDateTimeRound::new()
        .smallest(Unit::Minute)
        .increment(15)
        .mode(RoundMode::Ceil);
    // Cannot fail short of the end of time; the exact time then.
    at.round(quarter).unwrap_or(at)
}

/// 本日 / 明日 / 12月8日(月); today / tomorrow / on Monday, December 8.
fn day(date: Date, today: Date, language: Language) -> String {
    let tomorrow = today.tomorrow().ok();
    match language {
        Language::JaJp if date == today => "本日".to_owned(),
        Language::JaJp if Some(date) == tomorrow => "明日".to_owned(),
        Language::JaJp => {
            const WEEKDAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];
            let weekday =
                WEEKDAYS[usize::from(date.weekday().to_monday_zero_offset().unsigned_abs())];
            format!("{}月{}日({weekday})", date.month(), date.day())
        }
        Language::EnUs if date == today => "today".to_owned(),
        Language::EnUs if Some(date) == tomorrow => "tomorrow".to_owned(),
        Language::EnUs => date.strftime("on %A, %B %-d").to_string(),
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Half {
    Morning,
    Noon,
    Afternoon,
}

fn half_of(t: Time) -> Half {
    match (t.hour(), t.minute()) {
        (12, 0) if t.second() == 0 => Half::Noon,
        (h, _) if h < 12 => Half::Morning,
        _ => Half::Afternoon,
    }
}

/// 午前9時, 午後1時30分, 12時 (noon), 24時 (the end of the day); without
/// 午前/午後 when `marker` is false (the end of a range in the same half
/// of the day as its start).
fn japanese_clock(t: Time, marker: bool) -> String {
    if t == Time::MAX {
        return "24時".to_owned();
    }
    let minutes = match t.minute() {
        0 => String::new(),
        m => format!("{m}分"),
    };
    match half_of(t) {
        Half::Noon => "12時".to_owned(),
        Half::Morning if marker => format!("午前{}時{minutes}", t.hour()),
        Half::Afternoon if marker => format!("午後{}時{minutes}", t.hour() - 12),
        Half::Morning => format!("{}時{minutes}", t.hour()),
        Half::Afternoon => format!("{}時{minutes}", t.hour() - 12),
    }
}

/// 9 am, 9:30 am, 12 noon, 1 pm, midnight.
fn english_clock(t: Time) -> String {
    if t == Time::MAX || t == Time::midnight() {
        return "midnight".to_owned();
    }
    if half_of(t) == Half::Noon {
        return "12 noon".to_owned();
    }
    let (twelve, half) = twelve_hour(t.hour());
    match t.minute() {
        0 => format!("{twelve} {half}"),
        m => format!("{twelve}:{m:02} {half}"),
    }
}

fn twelve_hour(hour: i8) -> (i8, &'static str) {
    let half = if hour < 12 { "am" } else { "pm" };
    match hour % 12 {
        0 => (12, half),
        h => (h, half),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::Schedule;
    use crate::domain::schedule::tests::{at, new_york, tokyo};

    fn both(due: &str, now: &str, tz: &TimeZone) -> (String, String) {
        (
            due_phrase(at(due), at(now), tz, Language::JaJp, None),
            due_phrase(at(due), at(now), tz, Language::EnUs, None),
        )
    }

    #[test]
    fn the_same_day_rounded_up_to_the_quarter_hour() {
        // Wed 2025-12-03, 10:00 JST; due 15:17:30 JST.
        assert_eq!(
            both("2025-12-03T06:17:30Z", "2025-12-03T01:00:00Z", &tokyo()),
            ("本日15時30分までに".into(), "by 3:30 pm today".into())
        );
        // On the quarter: as it is; on the hour: no minutes in Japanese.
        assert_eq!(
            both("2025-12-03T06:15:00Z", "2025-12-03T01:00:00Z", &tokyo()),
            ("本日15時15分までに".into(), "by 3:15 pm today".into())
        );
        assert_eq!(
            both("2025-12-03T02:45:01Z", "2025-12-03T01:00:00Z", &tokyo()),
            ("本日12時までに".into(), "by 12:00 pm today".into())
        );
    }

    #[test]
    fn a_moment_is_said_with_its_day() {
        let now = at("2025-12-03T06:00:00Z");
        let said = |when: &str| {
            (
                spoken_moment(at(when), now, &tokyo(), Language::JaJp),
                spoken_moment(at(when), now, &tokyo(), Language::EnUs),
            )
        };
        assert_eq!(
            said("2025-12-03T05:05:00Z"),
            ("本日14時5分".into(), "today at 2:05 pm".into())
        );
        assert_eq!(
            said("2025-12-01T00:00:00Z"),
            (
                "12月1日(月)9時".into(),
                "on Monday, December 1 at 9:00 am".into()
            )
        );
    }

    #[test]
    fn the_next_day() {
        // Wed 22:00 JST; due Thu 09:07 JST.
        assert_eq!(
            both("2025-12-04T00:07:00Z", "2025-12-03T13:00:00Z", &tokyo()),
            ("明日9時15分までに".into(), "by 9:15 am tomorrow".into())
        );
        // 23:50 rounds up to midnight: tomorrow's 0時.
        assert_eq!(
            both("2025-12-03T14:50:00Z", "2025-12-03T13:00:00Z", &tokyo()),
            ("明日0時までに".into(), "by 12:00 am tomorrow".into())
        );
    }

    #[test]
    fn after_hours_across_a_weekend_and_a_holiday() {
        let mut schedule = Schedule::default();
        schedule.set_hours("mon-fri=09:00-18:00").unwrap();
        schedule.holidays.push("2025-12-08".parse().unwrap());
        // Fri 2025-12-05 19:00 JST: closed; the next opening is Tue 12-09
        // (Monday is a holiday), the record due an hour after it.
        let now = at("2025-12-05T10:00:00Z");
        let opening = schedule.next_opening(now, &tokyo()).unwrap();
        assert_eq!(opening, at("2025-12-09T00:00:00Z"));
        let due = opening
            .checked_add(jiff::SignedDuration::from_mins(60))
            .unwrap();
        assert_eq!(
            due_phrase(due, now, &tokyo(), Language::JaJp, None),
            "12月9日(火)10時までに"
        );
        assert_eq!(
            due_phrase(due, now, &tokyo(), Language::EnUs, None),
            "by 10:00 am on Tuesday, December 9"
        );
        // Without the holiday: Monday, December 8.
        schedule.holidays.clear();
        let opening = schedule.next_opening(now, &tokyo()).unwrap();
        let due = opening
            .checked_add(jiff::SignedDuration::from_mins(60))
            .unwrap();
        assert_eq!(
            both(&due.to_string(), &now.to_string(), &tokyo()),
            (
                "12月8日(月)10時までに".into(),
                "by 10:00 am on Monday, December 8".into()
            )
        );
    }

    #[test]
    fn a_past_due_time_is_as_soon_as_possible() {
        assert_eq!(
            both("2025-12-03T01:00:00Z", "2025-12-03T01:00:00Z", &tokyo()),
            ("できるだけ早く".into(), "as soon as possible".into())
        );
    }

    #[test]
    fn in_new_york_across_the_change_to_daylight_saving_time() {
        // Sat 2026-03-07 16:00 EST; due Sun 03-08 10:05 EDT (14:05Z).
        assert_eq!(
            both("2026-03-08T14:05:00Z", "2026-03-07T21:00:00Z", &new_york()),
            ("明日10時15分までに".into(), "by 10:15 am tomorrow".into())
        );
        // The same instant a day later is 10:05 EDT, not 9:05.
        assert_eq!(
            both("2026-03-09T14:05:00Z", "2026-03-07T21:00:00Z", &new_york()),
            (
                "3月9日(月)10時15分までに".into(),
                "by 10:15 am on Monday, March 9".into()
            )
        );
        // The autumn's repeated hour: 01:40 EST (06:40Z) rounds to 01:45 EST.
        assert_eq!(
            both("2026-11-01T06:40:00Z", "2026-11-01T04:00:00Z", &new_york()),
            ("本日1時45分までに".into(), "by 1:45 am today".into())
        );
    }

    #[test]
    fn a_window_says_its_hours() {
        let window = |start: &str, end: &str| Occurrence {
            start: at(start),
            end: at(end),
        };
        let now = at("2025-12-03T01:00:00Z"); // Wed 10:00 JST
        let tomorrow = window("2025-12-04T04:00:00Z", "2025-12-04T08:00:00Z");
        let say = |w: &Occurrence, language| due_phrase(w.end, now, &tokyo(), language, Some(w));
        assert_eq!(say(&tomorrow, Language::JaJp), "明日の午後1時から5時の間に");
        assert_eq!(
            say(&tomorrow, Language::EnUs),
            "between 1 pm and 5 pm tomorrow"
        );
        let today = window("2025-12-03T00:00:00Z", "2025-12-03T03:00:00Z");
        assert_eq!(say(&today, Language::JaJp), "本日の午前9時から12時の間に");
        assert_eq!(
            say(&today, Language::EnUs),
            "between 9 am and 12 noon today"
        );
        let monday = window("2025-12-08T02:30:00Z", "2025-12-08T05:00:00Z");
        assert_eq!(
            say(&monday, Language::JaJp),
            "12月8日(月)の午前11時30分から午後2時の間に"
        );
        assert_eq!(
            say(&monday, Language::EnUs),
            "between 11:30 am and 2 pm on Monday, December 8"
        );
        let evening = window("2025-12-03T13:00:00Z", "2025-12-03T15:00:00Z");
        assert_eq!(
            say(&evening, Language::JaJp),
            "本日の午後10時から24時の間に"
        );
        assert_eq!(
            say(&evening, Language::EnUs),
            "between 10 pm and midnight today"
        );
        let over = window("2025-12-02T04:00:00Z", "2025-12-02T08:00:00Z");
        assert_eq!(say(&over, Language::JaJp), "できるだけ早く");
    }

    #[test]
    fn without_due_the_sentence_closes_up() {
        use crate::domain::prompts::PromptKey;
        assert_eq!(
            without_due(PromptKey::Thanks.default_text(Language::JaJp)),
            "ありがとうございました。担当者より折り返しお電話いたします。失礼いたします。"
        );
        assert_eq!(
            without_due(PromptKey::Thanks.default_text(Language::EnUs)),
            "Thank you. We will call you back. Goodbye."
        );
        let cases = [
            (
                "{due}折り返しお電話いたします。",
                "折り返しお電話いたします。",
            ),
            (
                "担当者より{due}、折り返します。",
                "担当者より、折り返します。",
            ),
            (
                "We call {due}, so stay near the phone.",
                "We call, so stay near the phone.",
            ),
            ("{due} we will call.  Bye {due}!", "we will call. Bye!"),
            ("Bye now.", "Bye now."),
        ];
        for (text, said) in cases {
            assert_eq!(without_due(text), said, "{text}");
        }
    }

    #[test]
    fn a_due_says_its_window_if_it_has_one() {
        let now = at("2025-12-03T01:00:00Z");
        let window = Occurrence {
            start: at("2025-12-04T04:00:00Z"),
            end: at("2025-12-04T08:00:00Z"),
        };
        let due = Due {
            at: window.end,
            window: Some(window),
        };
        assert_eq!(
            due.phrase(now, &tokyo(), Language::JaJp),
            "明日の午後1時から5時の間に"
        );
        assert_eq!(
            Due::at(window.end).phrase(now, &tokyo(), Language::JaJp),
            "明日17時までに"
        );
    }

    #[test]
    fn hours_of_a_range() {
        let t = |s: &str| s.parse::<Time>().unwrap();
        let cases = [
            ("09:00", "12:00", "午前9時から12時", "9 am to 12 noon"),
            ("13:00", "17:00", "午後1時から5時", "1 pm to 5 pm"),
            (
                "12:00",
                "13:30",
                "12時から午後1時30分",
                "12 noon to 1:30 pm",
            ),
            (
                "08:30",
                "11:45",
                "午前8時30分から11時45分",
                "8:30 am to 11:45 am",
            ),
            ("12:30", "18:00", "午後0時30分から6時", "12:30 pm to 6 pm"),
        ];
        for (start, end, ja, en) in cases {
            assert_eq!(hours(t(start), t(end), Language::JaJp), ja);
            assert_eq!(hours(t(start), t(end), Language::EnUs), en);
        }
        assert_eq!(
            hours(t("22:00"), Time::MAX, Language::JaJp),
            "午後10時から24時"
        );
    }
}
