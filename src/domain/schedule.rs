//! Business hours: a weekly schedule in the tenant's time zone, holidays,
//! and a manual "closed now" switch. DST-correct through jiff.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Opening hours of one day, `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OpenRange {
    pub start: Time,
    pub end: Time,
}

/// Why opening hours were refused; they are the `hours` setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("hours must look like mon-fri=09:00-18:00, got {0:?}")]
    Spec(String),
    #[error("unknown day {0:?} (mon, tue, wed, thu, fri, sat, sun)")]
    Day(String),
    #[error("day range {0:?} runs backwards")]
    Backwards(String),
    #[error("opening hours must look like 09:00-18:00, got {0:?}")]
    Range(String),
    #[error("opening hours must end after they start, got {0:?}")]
    EndsFirst(String),
    #[error("opening hours {0:?} overlap")]
    Overlap(String),
}

impl HoursError {
    /// The setting at fault.
    pub fn field(&self) -> &'static str {
        "hours"
    }
}

impl FromStr for OpenRange {
    type Err = HoursError;
    /// `09:00-18:00`; `24:00` may end a range (until midnight).
    fn from_str(s: &str) -> Result<Self, HoursError> {
        let bad = || HoursError::Range(s.to_owned());
        let (start, end) = s.trim().split_once('-').ok_or_else(bad)?;
        let parse = |t: &str| -> Result<Time, HoursError> {
            match t.trim() {
                "24:00" => Ok(Time::MAX),
                t => t.parse::<Time>().map_err(|_| bad()),
            }
        };
        let range = OpenRange {
            start: parse(start)?,
            end: parse(end)?,
        };
        if range.start >= range.end {
            return Err(HoursError::EndsFirst(s.to_owned()));
        }
        Ok(range)
    }
}

impl TryFrom<String> for OpenRange {
    type Error = HoursError;
    fn try_from(s: String) -> Result<Self, HoursError> {
        s.parse()
    }
}

impl From<OpenRange> for String {
    fn from(r: OpenRange) -> String {
        r.to_string()
    }
}

impl fmt::Display for OpenRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = if self.end == Time::MAX {
            "24:00".to_owned()
        } else {
            self.end.strftime("%H:%M").to_string()
        };
        write!(f, "{}-{end}", self.start.strftime("%H:%M"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl FromStr for Holiday {
    type Err = String;
    /// `2026-12-31` or `2026-12-31=year end`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (date, name) = match s.split_once('=') {
            Some((date, name)) => (date, Some(name.trim().to_owned())),
            None => (s, None),
        };
        let date = date
            .trim()
            .parse()
            .map_err(|_| format!("a holiday must look like YYYY-MM-DD[=name], got {s:?}"))?;
        Ok(Holiday { date, name })
    }
}

impl fmt::Display for Holiday {
    /// As `FromStr` reads it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{}={name}", self.date),
            None => write!(f, "{}", self.date),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    pub const ALL: [Day; 7] = [
        Day::Mon,
        Day::Tue,
        Day::Wed,
        Day::Thu,
        Day::Fri,
        Day::Sat,
        Day::Sun,
    ];

    fn of(weekday: Weekday) -> Day {
        Day::ALL[weekday.to_monday_zero_offset() as usize]
    }

    fn name(self) -> &'static str {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][self as usize]
    }

    fn parse(s: &str) -> Result<Day, HoursError> {
        Day::ALL
            .into_iter()
            .find(|d| d.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| HoursError::Day(s.to_owned()))
    }
}

/// When the tenant's agents answer. `weekly: None` means always open.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Schedule {
    /// Open ranges per day; a day that is missing is closed all day.
    pub weekly: Option<BTreeMap<Day, Vec<OpenRange>>>,
    pub holidays: Vec<Holiday>,
    /// Closed now, whatever the schedule says (e.g. an emergency).
    pub closed_now: bool,
}

/// How far ahead the next opening is looked for.
pub(crate) const LOOKAHEAD_DAYS: i32 = 31;

impl Schedule {
    /// Sets the hours of some days from `mon-fri=09:00-12:00,13:00-18:00`,
    /// `sat=10:00-14:00` or `sun=closed`.
    pub fn set_hours(&mut self, spec: &str) -> Result<(), HoursError> {
        let (days, ranges) = spec
            .split_once('=')
            .ok_or_else(|| HoursError::Spec(spec.to_owned()))?;
        let days: Vec<Day> = match days.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (Day::parse(from)?, Day::parse(to)?);
                if from > to {
                    return Err(HoursError::Backwards(days.to_owned()));
                }
                Day::ALL
                    .into_iter()
                    .filter(|d| (from..=to).contains(d))
                    .collect()
            }
            None => vec![Day::parse(days)?],
        };
        let ranges: Vec<OpenRange> = if ranges.trim() == "closed" {
            Vec::new()
        } else {
            let mut parsed = ranges
                .split(',')
                .map(str::parse)
                .collect::<Result<Vec<OpenRange>, HoursError>>()?;
            parsed.sort_by_key(|r| r.start);
            if parsed.windows(2).any(|w| w[0].end > w[1].start) {
                return Err(HoursError::Overlap(ranges.to_owned()));
            }
            parsed
        };
        let weekly = self.weekly.get_or_insert_with(BTreeMap::new);
        for day in days {
            weekly.insert(day, ranges.clone());
        }
        Ok(())
    }

    /// The weekly hours as `set_hours` reads them, a day a spec
    /// (`mon=09:00-12:00,13:00-18:00`, `sun=closed`); none: always open.
    pub fn hours_specs(&self) -> Vec<String> {
        let Some(weekly) = &self.weekly else {
            return Vec::new();
        };
        Day::ALL
            .into_iter()
            .map(|day| match weekly.get(&day).map(Vec::as_slice) {
                None | Some([]) => format!("{}=closed", day.name()),
                Some(ranges) => {
                    let ranges: Vec<String> = ranges.iter().map(ToString::to_string).collect();
                    format!("{}={}", day.name(), ranges.join(","))
                }
            })
            .collect()
    }

    /// Weekly hours from specs as `hours_specs` writes them, replacing
    /// the hours; none: always open.
    pub fn replace_hours(&mut self, specs: &[String]) -> Result<(), HoursError> {
        self.weekly = None;
        for spec in specs {
            self.set_hours(spec)?;
        }
        Ok(())
    }

    fn is_holiday(&self, date: Date) -> bool {
        self.holidays.iter().any(|h| h.date == date)
    }

    fn ranges(&self, date: Date) -> &[OpenRange] {
        match &self.weekly {
            Some(weekly) => weekly
                .get(&Day::of(date.weekday()))
                .map(Vec::as_slice)
                .unwrap_or_default(),
            None => &[],
        }
    }

    /// The business hours of `day` of the week, from its first opening to
    /// its last closing; `None` when it is closed all day. Always open
    /// (no weekly hours): the whole day.
    pub fn weekly_span(&self, day: Day) -> Option<OpenRange> {
        let Some(weekly) = &self.weekly else {
            return Some(OpenRange {
                start: Time::MIN,
                end: Time::MAX,
            });
        };
        let ranges = weekly.get(&day)?;
        Some(OpenRange {
            start: ranges.iter().map(|r| r.start).min()?,
            end: ranges.iter().map(|r| r.end).max()?,
        })
    }

    /// As `weekly_span`, for a date: `None` on a holiday too.
    pub fn business_span(&self, date: Date) -> Option<OpenRange> {
        if self.is_holiday(date) {
            return None;
        }
        self.weekly_span(Day::of(date.weekday()))
    }

    /// The instants a range opens and closes on `date`, in `tz`. A local
    /// time skipped by DST moves forward by the gap (02:30 → 03:30), as
    /// calendars do; a repeated one takes its first occurrence.
    pub(crate) fn window(
        date: Date,
        range: &OpenRange,
        tz: &TimeZone,
    ) -> Option<(ZonedDateTime, ZonedDateTime)> {
        let start = tz
            .to_ambiguous_zoned_datetime(date.to_datetime(range.start))
            .compatible()
            .ok()?;
        let end = if range.end == Time::MAX {
            date.tomorrow().ok()?.to_zoned_datetime(tz.clone()).ok()?
        } else {
            tz.to_ambiguous_zoned_datetime(date.to_datetime(range.end))
                .compatible()
                .ok()?
        };
        Some((start, end))
    }

    pub fn is_open(&self, now: Timestamp, tz: &TimeZone) -> bool {
        if self.closed_now {
            return false;
        }
        let Some(_) = &self.weekly else {
            return !self.is_holiday(now.to_zoned_datetime(tz.clone()).date());
        };
        let date = now.to_zoned_datetime(tz.clone()).date();
        if self.is_holiday(date) {
            return false;
        }
        self.ranges(date).iter().any(|range| {
            Self::window(date, range, tz)
                .is_some_and(|(start, end)| start.timestamp() <= now && now < end.timestamp())
        })
    }

    /// The first opening strictly after `now` (a holiday or the switch may
    /// keep the current window shut). `None` when none comes within a month,
    /// or when there are no weekly hours and today is no holiday (open all
    /// day: nothing opens later).
    pub fn next_opening(&self, now: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let today = now.to_zoned_datetime(tz.clone()).date();
        if self.weekly.is_none() && !self.is_holiday(today) {
            return None;
        }
        for offset in 0..LOOKAHEAD_DAYS {
            let date = today.checked_add(jiff::Span::new().days(offset)).ok()?;
            if self.is_holiday(date) {
                continue;
            }
            let starts: Vec<Timestamp> = match &self.weekly {
                // Always open: the day after a holiday opens at midnight.
                None => date
                    .to_zoned_datetime(tz.clone())
                    .ok()
                    .map(|z| z.timestamp())
                    .into_iter()
                    .collect(),
                Some(_) => self
                    .ranges(date)
                    .iter()
                    .filter_map(|r| Self::window(date, r, tz).map(|(s, _)| s.timestamp()))
                    .collect(),
            };
            if let Some(next) = starts.into_iter().filter(|s| *s > now).min() {
                return Some(next);
            }
        }
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Weekdays with a lunch break, Saturday mornings.
    pub(crate) fn office() -> Schedule {
        let mut s = Schedule::default();
        s.set_hours("mon-fri=09:00-12:00,13:00-18:00").unwrap();
        s.set_hours("sat=10:00-14:00").unwrap();
        s
    }

    pub(crate) fn tokyo() -> TimeZone {
        TimeZone::get("Asia/Tokyo").unwrap()
    }

    pub(crate) fn new_york() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    pub(crate) fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn open_and_closed_on_a_weekday_in_tokyo() {
        let s = office();
        // Wed 2026-11-25 10:00 JST = 01:00Z
        assert!(s.is_open(at("2026-11-25T01:00:00Z"), &tokyo()));
        // 12:30 JST lunch
        assert!(!s.is_open(at("2026-11-25T03:30:00Z"), &tokyo()));
        // 18:00 JST is closed (end exclusive); 19:30 JST closed
        assert!(!s.is_open(at("2026-11-25T09:00:00Z"), &tokyo()));
        assert_eq!(
            s.next_opening(at("2026-11-25T10:30:00Z"), &tokyo()),
            Some(at("2026-11-26T00:00:00Z")) // Thu 09:00 JST
        );
        assert_eq!(
            s.next_opening(at("2026-11-25T03:30:00Z"), &tokyo()),
            Some(at("2026-11-25T04:00:00Z")) // 13:00 JST the same day
        );
    }

    #[test]
    fn weekends_and_holidays() {
        let mut s = office();
        // Sun 2026-11-29 11:00 JST
        assert!(!s.is_open(at("2026-11-29T02:00:00Z"), &tokyo()));
        assert_eq!(
            s.next_opening(at("2026-11-29T02:00:00Z"), &tokyo()),
            Some(at("2026-11-30T00:00:00Z")) // Mon 09:00 JST
        );
        s.holidays.push(Holiday {
            date: "2026-11-30".parse().unwrap(),
            name: Some("company day".into()),
        });
        assert!(!s.is_open(at("2026-11-30T01:00:00Z"), &tokyo()));
        assert_eq!(
            s.next_opening(at("2026-11-29T02:00:00Z"), &tokyo()),
            Some(at("2026-12-01T00:00:00Z"))
        );
    }

    #[test]
    fn closed_now_switch_and_always_open_default() {
        let mut s = Schedule::default();
        assert!(s.is_open(at("2026-11-29T15:00:00Z"), &tokyo()));
        assert_eq!(s.next_opening(at("2026-11-29T15:00:00Z"), &tokyo()), None);
        s.holidays.push(Holiday {
            date: "2026-11-30".parse().unwrap(),
            name: None,
        });
        // 2026-11-30 00:00 JST is a holiday: open again on 12-01 00:00 JST.
        assert!(!s.is_open(at("2026-11-29T15:00:00Z"), &tokyo()));
        assert_eq!(
            s.next_opening(at("2026-11-29T15:00:00Z"), &tokyo()),
            Some(at("2026-11-30T15:00:00Z"))
        );
        s.holidays.clear();
        s.closed_now = true;
        assert!(!s.is_open(at("2026-11-29T15:00:00Z"), &tokyo()));
        let mut o = office();
        o.closed_now = true;
        assert!(!o.is_open(at("2026-11-25T01:00:00Z"), &tokyo()));
    }

    #[test]
    fn dst_in_new_york() {
        let ny = new_york();
        let mut s = Schedule::default();
        s.set_hours("mon-sun=09:00-17:00").unwrap();
        // Sat 2026-03-07 09:00 EST = 14:00Z; Sun 2026-03-08 (DST starts) 09:00 EDT = 13:00Z
        assert!(s.is_open(at("2026-03-07T14:00:00Z"), &ny));
        assert!(!s.is_open(at("2026-03-08T12:59:00Z"), &ny));
        assert!(s.is_open(at("2026-03-08T13:00:00Z"), &ny));
        assert_eq!(
            s.next_opening(at("2026-03-07T23:00:00Z"), &ny),
            Some(at("2026-03-08T13:00:00Z"))
        );
        // Autumn: Sun 2026-11-01 09:00 EST = 14:00Z (13:00Z is 08:00 EST).
        assert!(!s.is_open(at("2026-11-01T13:30:00Z"), &ny));
        assert!(s.is_open(at("2026-11-01T14:00:00Z"), &ny));
    }

    #[test]
    fn a_range_in_the_spring_gap_opens_after_it() {
        let ny = new_york();
        let mut s = Schedule::default();
        s.set_hours("sun=02:30-04:00").unwrap();
        // 02:30 does not exist on 2026-03-08: it opens at 03:30 EDT = 07:30Z.
        assert_eq!(
            s.next_opening(at("2026-03-08T05:00:00Z"), &ny),
            Some(at("2026-03-08T07:30:00Z"))
        );
        assert!(!s.is_open(at("2026-03-08T07:10:00Z"), &ny));
        assert!(s.is_open(at("2026-03-08T07:40:00Z"), &ny));
    }

    #[test]
    fn a_time_in_the_autumn_repeated_hour_takes_its_first_occurrence() {
        let ny = new_york();
        // Sun 2026-11-01: 01:00-02:00 happens twice, 05:00Z-06:00Z in EDT,
        // then 06:00Z-07:00Z in EST.
        let mut opens = Schedule::default();
        opens.set_hours("sun=01:30-03:00").unwrap();
        // Opens at the first 01:30 (EDT, 05:30Z), stays open through the
        // second (06:30Z) and closes at 03:00 EST = 08:00Z.
        assert_eq!(
            opens.next_opening(at("2026-11-01T04:00:00Z"), &ny),
            Some(at("2026-11-01T05:30:00Z"))
        );
        assert!(!opens.is_open(at("2026-11-01T05:29:59Z"), &ny));
        assert!(opens.is_open(at("2026-11-01T05:30:00Z"), &ny));
        assert!(opens.is_open(at("2026-11-01T06:30:00Z"), &ny));
        assert!(opens.is_open(at("2026-11-01T07:59:59Z"), &ny));
        assert!(!opens.is_open(at("2026-11-01T08:00:00Z"), &ny));

        // A range that ends in the repeated hour closes at its first
        // occurrence: 01:30 EDT = 05:30Z, not 06:30Z.
        let mut closes = Schedule::default();
        closes.set_hours("sun=00:00-01:30").unwrap();
        assert!(closes.is_open(at("2026-11-01T05:29:59Z"), &ny));
        assert!(!closes.is_open(at("2026-11-01T05:30:00Z"), &ny));
        assert!(!closes.is_open(at("2026-11-01T06:15:00Z"), &ny));
    }

    #[test]
    fn holiday_parsing() {
        let h: Holiday = "2026-12-31= year end ".parse().unwrap();
        assert_eq!(h.date, "2026-12-31".parse::<Date>().unwrap());
        assert_eq!(h.name.as_deref(), Some("year end"));
        let h: Holiday = " 2026-12-31".parse().unwrap();
        assert_eq!(h.name, None);
        let e = "2026-13-01=nope".parse::<Holiday>().unwrap_err();
        assert!(e.contains("YYYY-MM-DD[=name]") && e.contains("2026-13-01"));
        assert!("".parse::<Holiday>().is_err());
    }

    #[test]
    fn hours_parsing() {
        let mut s = Schedule::default();
        assert!(s.set_hours("fri-mon=09:00-10:00").is_err());
        assert!(s.set_hours("mon=10:00-09:00").is_err());
        assert!(s.set_hours("mon=09:00-12:00,11:00-13:00").is_err());
        assert!(s.set_hours("funday=09:00-10:00").is_err());
        assert!(s.set_hours("mon 09:00").is_err());
        assert_eq!(
            s.set_hours("fri-mon=09:00-10:00"),
            Err(HoursError::Backwards("fri-mon".into()))
        );
        assert_eq!(
            s.set_hours("mon=09:00-12:00,11:00-13:00")
                .unwrap_err()
                .to_string(),
            "opening hours \"09:00-12:00,11:00-13:00\" overlap"
        );
        s.set_hours("mon=22:00-24:00").unwrap();
        s.set_hours("tue=closed").unwrap();
        let weekly = s.weekly.as_ref().unwrap();
        assert_eq!(weekly[&Day::Mon][0].to_string(), "22:00-24:00");
        assert!(weekly[&Day::Tue].is_empty());
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), s);
    }
}
