//! Rotation schedules: `AutomaticallyAfterDays`, `rate()` and `cron()` with their rotation
//! windows, as the Secrets Manager user guide ("Rotation schedules") describes them. All times UTC.
//!
//! Interval schedules (`AutomaticallyAfterDays`, `rate()`) are due the interval after the last
//! rotation. A `cron()` schedule is due when one of its windows is open and the secret has not
//! been rotated since that window opened; the scheduler rotates at its first check inside the
//! window (AWS picks a random moment in it).

use chrono::{Datelike, NaiveDate, TimeZone, Timelike, Utc};
use coffer_model::secretsmanager::{RotationRulesType, SecretsManagerError};

use crate::state::DAY_MS;

pub(crate) const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Schedule {
    /// Every `interval_ms` after the last rotation.
    Interval {
        interval_ms: i64,
    },
    Cron {
        cron: Cron,
        window_ms: i64,
    },
}

fn bad(message: &str) -> SecretsManagerError {
    SecretsManagerError::invalid_parameter(message.to_string())
}

fn invalid_expression() -> SecretsManagerError {
    bad("The schedule expression is invalid.")
}

/// Validates `rules` and returns the schedule they define (`None`: no schedule given).
pub(crate) fn parse(rules: &RotationRulesType) -> Result<Option<Schedule>, SecretsManagerError> {
    if rules.automatically_after_days.is_some() && rules.schedule_expression.is_some() {
        return Err(bad(
            "You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules.",
        ));
    }
    let duration_h = match &rules.duration {
        None => None,
        Some(d) => {
            let hours = d.strip_suffix('h').and_then(|h| h.parse::<i64>().ok());
            match hours {
                Some(h) if (1..=24).contains(&h) => Some(h),
                _ => {
                    return Err(bad(
                        "The rotation window Duration must be between 1h and 24h.",
                    ))
                }
            }
        }
    };
    if let Some(days) = rules.automatically_after_days {
        if !(1..=1000).contains(&days) {
            return Err(bad(
                "RotationRules.AutomaticallyAfterDays must be within 1-1000.",
            ));
        }
        return Ok(Some(Schedule::Interval {
            interval_ms: days * DAY_MS,
        }));
    }
    let Some(expr) = rules.schedule_expression.as_deref() else {
        if duration_h.is_some() {
            return Err(bad(
                "You must specify a ScheduleExpression or AutomaticallyAfterDays with a Duration.",
            ));
        }
        return Ok(None);
    };
    if let Some(inner) = expr.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let mut parts = inner.split_whitespace();
        let n = parts.next().and_then(|n| n.parse::<i64>().ok());
        let unit = parts.next();
        let interval_ms = match (n, unit, parts.next()) {
            (Some(n), Some("hour" | "hours"), None) if (4..=23).contains(&n) => {
                if duration_h.is_some_and(|d| d > n) {
                    return Err(window_overlaps());
                }
                n * HOUR_MS
            }
            (Some(n), Some("day" | "days"), None) if (1..=999).contains(&n) => n * DAY_MS,
            _ => return Err(invalid_expression()),
        };
        return Ok(Some(Schedule::Interval { interval_ms }));
    }
    if let Some(inner) = expr.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) {
        let cron = Cron::parse(inner).ok_or_else(invalid_expression)?;
        // Secrets Manager rotates at most every four hours.
        if cron.min_gap_hours() < 4 {
            return Err(invalid_expression());
        }
        let window_h = match duration_h {
            Some(d) => {
                if cron.daily() {
                    if cron.first_hour() + d > 24 {
                        return Err(window_overlaps());
                    }
                } else if d > cron.min_gap_hours() {
                    return Err(window_overlaps());
                }
                d
            }
            None if cron.daily() => 24 - cron.first_hour(),
            None => 1,
        };
        return Ok(Some(Schedule::Cron {
            cron,
            window_ms: window_h * HOUR_MS,
        }));
    }
    Err(invalid_expression())
}

fn window_overlaps() -> SecretsManagerError {
    bad("The rotation window must not extend into the next rotation window or the next UTC day.")
}

impl Schedule {
    /// When the next rotation is due, given when rotation was configured (or last attempted)
    /// and the last successful rotation.
    pub(crate) fn next_due(&self, now: i64, last_rotated: Option<i64>) -> i64 {
        match self {
            Schedule::Interval { interval_ms } => last_rotated.unwrap_or(now) + interval_ms,
            Schedule::Cron { cron, window_ms } => {
                // A window open now that the secret has not been rotated in is due at once.
                let this_hour = now - now.rem_euclid(HOUR_MS);
                let mut start = this_hour;
                while start > now - window_ms {
                    if cron.matches(start) {
                        if last_rotated.is_none_or(|r| r < start) {
                            return start;
                        }
                        break;
                    }
                    start -= HOUR_MS;
                }
                cron.next_start(this_hour + HOUR_MS).unwrap_or(i64::MAX)
            }
        }
    }
}

/// A Secrets Manager `cron()` expression: minutes must be `0` and year `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cron {
    hours: Vec<bool>,
    months: Vec<bool>,
    dom: Option<Dom>,
    dow: Option<Dow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Dom {
    days: Vec<bool>,
    last: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Dow {
    /// Weekdays 1 (Sunday) – 7 (Saturday).
    Days(Vec<bool>),
    /// `d#n`: the n-th weekday d of the month.
    Nth(u32, u32),
    /// `dL`: the last weekday d of the month.
    Last(u32),
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(text: &str, min: u32, max: u32, names: &[&str]) -> Option<u32> {
    let upper = text.to_ascii_uppercase();
    if let Some(i) = names.iter().position(|n| *n == upper) {
        return Some(min + i as u32);
    }
    let n = text.parse::<u32>().ok()?;
    (min..=max).contains(&n).then_some(n)
}

/// A set over `min..=max` from `*`, `n`, `a-b`, `a/step`, `*/step`, `a-b/step` and lists.
fn set(field: &str, min: u32, max: u32, names: &[&str]) -> Option<Vec<bool>> {
    let mut out = vec![false; max as usize + 1];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, min, max, names)?, value(b, min, max, names)?)
        } else {
            let v = value(range, min, max, names)?;
            (v, if item.contains('/') { max } else { v })
        };
        if lo > hi {
            return None;
        }
        let mut v = lo;
        while v <= hi {
            out[v as usize] = true;
            v += step;
        }
    }
    Some(out)
}

impl Cron {
    fn parse(inner: &str) -> Option<Cron> {
        let fields: Vec<&str> = inner.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = fields.as_slice() else {
            return None;
        };
        if *minutes != "0" || *year != "*" {
            return None;
        }
        let hours = set(hours, 0, 23, &[])?;
        let months = set(month, 1, 12, &MONTHS)?;
        // Exactly one of day-of-month and day-of-week is `?`.
        let (dom, dow) = match (*dom, *dow) {
            ("?", "?") => return None,
            ("?", d) => (None, Some(Self::dow(d)?)),
            (d, "?") => (Some(Self::dom(d)?), None),
            _ => return None,
        };
        Some(Cron {
            hours,
            months,
            dom,
            dow,
        })
    }

    fn dom(field: &str) -> Option<Dom> {
        if field == "L" {
            return Some(Dom {
                days: vec![false; 32],
                last: true,
            });
        }
        Some(Dom {
            days: set(field, 1, 31, &[])?,
            last: false,
        })
    }

    fn dow(field: &str) -> Option<Dow> {
        if let Some((d, n)) = field.split_once('#') {
            let d = value(d, 1, 7, &DAYS)?;
            let n = n.parse::<u32>().ok().filter(|n| (1..=5).contains(n))?;
            return Some(Dow::Nth(d, n));
        }
        if field == "L" {
            return Some(Dow::Last(7));
        }
        if let Some(d) = field.strip_suffix('L') {
            return Some(Dow::Last(value(d, 1, 7, &DAYS)?));
        }
        Some(Dow::Days(set(field, 1, 7, &DAYS)?))
    }

    fn hour_list(&self) -> Vec<i64> {
        (0..24).filter(|h| self.hours[*h as usize]).collect()
    }

    /// One window a day (a single hour), rather than a schedule in hours.
    fn daily(&self) -> bool {
        self.hour_list().len() == 1
    }

    fn first_hour(&self) -> i64 {
        self.hour_list().first().copied().unwrap_or(0)
    }

    /// The shortest gap between two consecutive windows, in hours (across midnight too).
    fn min_gap_hours(&self) -> i64 {
        let hours = self.hour_list();
        let wrap = match (hours.first(), hours.last()) {
            (Some(first), Some(last)) if hours.len() > 1 => 24 - last + first,
            _ => 24,
        };
        hours
            .windows(2)
            .map(|w| w[1] - w[0])
            .chain([wrap])
            .min()
            .unwrap_or(24)
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        if !self.months[date.month() as usize] {
            return false;
        }
        let last_day = last_day_of_month(date);
        if let Some(dom) = &self.dom {
            return if dom.last {
                date.day() == last_day
            } else {
                dom.days[date.day() as usize]
            };
        }
        let weekday = date.weekday().num_days_from_sunday() + 1;
        match &self.dow {
            Some(Dow::Days(days)) => days[weekday as usize],
            Some(Dow::Nth(d, n)) => weekday == *d && (date.day() - 1) / 7 + 1 == *n,
            Some(Dow::Last(d)) => weekday == *d && date.day() + 7 > last_day,
            None => false,
        }
    }

    /// Whether a window opens at `ms` (an hour boundary).
    fn matches(&self, ms: i64) -> bool {
        let Some(t) = Utc.timestamp_millis_opt(ms).single() else {
            return false;
        };
        t.minute() == 0
            && t.second() == 0
            && self.hours[t.hour() as usize]
            && self.day_matches(t.date_naive())
    }

    /// The first window opening at or after `from` (an hour boundary), within about 5 years.
    fn next_start(&self, from: i64) -> Option<i64> {
        let mut t = from - from.rem_euclid(HOUR_MS);
        if t < from {
            t += HOUR_MS;
        }
        let end = t + 5 * 366 * DAY_MS;
        while t < end {
            let date = Utc.timestamp_millis_opt(t).single()?.date_naive();
            if self.day_matches(date) {
                let hour = t.rem_euclid(DAY_MS) / HOUR_MS;
                if let Some(h) = self.hour_list().into_iter().find(|h| *h >= hour) {
                    return Some(t - hour * HOUR_MS + h * HOUR_MS);
                }
            }
            t = t - t.rem_euclid(DAY_MS) + DAY_MS;
        }
        None
    }
}

fn last_day_of_month(date: NaiveDate) -> u32 {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(y: i32, mo: u32, d: u32, h: u32) -> i64 {
        Utc.with_ymd_and_hms(y, mo, d, h, 0, 0)
            .single()
            .map(|t| t.timestamp_millis())
            .unwrap_or_default()
    }

    fn cron(expr: &str, duration: Option<&str>) -> Result<Option<Schedule>, SecretsManagerError> {
        parse(&RotationRulesType {
            schedule_expression: Some(expr.to_string()),
            duration: duration.map(str::to_string),
            ..Default::default()
        })
    }

    #[test]
    fn expressions_are_validated() {
        for ok in [
            "cron(0 16 1,15 * ? *)",
            "cron(0 8/8 * * ? *)",
            "cron(0 0 ? * SUN#1 *)",
            "cron(0 16 L * ? *)",
            "cron(0 4 ? * MON-FRI *)",
            "cron(0 10 ? JAN,JUL 6L *)",
            "rate(4 hours)",
            "rate(10 days)",
        ] {
            assert!(cron(ok, None).is_ok_and(|s| s.is_some()), "{ok}");
        }
        for bad in [
            "cron(5 16 * * ? *)",
            "cron(0 16 * * ? 2030)",
            "cron(0 16 * * * *)",
            "cron(0 16 ? * ? *)",
            "cron(0 25 * * ? *)",
            "cron(0 16 * *)",
            "cron(0 */2 * * ? *)",
            "cron(0 2,23 * * ? *)",
            "rate(3 hours)",
            "rate(1000 days)",
            "rate(1 week)",
            "every day",
        ] {
            assert!(cron(bad, None).is_err(), "{bad}");
        }
        assert!(cron("cron(0 20 * * ? *)", Some("5h")).is_err());
        assert!(cron("cron(0 20 * * ? *)", Some("4h")).is_ok());
        assert!(cron("cron(0 0/6 * * ? *)", Some("7h")).is_err());
        assert!(cron("rate(6 hours)", Some("7h")).is_err());
    }

    #[test]
    fn cron_windows() {
        let Ok(Some(s)) = cron("cron(0 10 * * ? *)", Some("2h")) else {
            panic!("parse")
        };
        // Inside today's window, never rotated: due at the window's start.
        assert_eq!(s.next_due(ms(2026, 3, 4, 11), None), ms(2026, 3, 4, 10));
        // Rotated in this window: the next window.
        assert_eq!(
            s.next_due(ms(2026, 3, 4, 11), Some(ms(2026, 3, 4, 10) + 5)),
            ms(2026, 3, 5, 10)
        );
        // After the window closed.
        assert_eq!(s.next_due(ms(2026, 3, 4, 12), None), ms(2026, 3, 5, 10));
        let Ok(Some(first_sunday)) = cron("cron(0 0 ? * SUN#1 *)", None) else {
            panic!("parse")
        };
        // 2026-03-01 is a Sunday; the next first Sunday is 2026-04-05.
        assert_eq!(
            first_sunday.next_due(ms(2026, 3, 2, 0), None),
            ms(2026, 4, 5, 0)
        );
        let Ok(Some(last)) = cron("cron(0 16 L * ? *)", None) else {
            panic!("parse")
        };
        assert_eq!(last.next_due(ms(2026, 2, 3, 0), None), ms(2026, 2, 28, 16));
        let Ok(Some(every8)) = cron("cron(0 8/8 * * ? *)", None) else {
            panic!("parse")
        };
        assert_eq!(
            every8.next_due(ms(2026, 2, 3, 17), Some(1)),
            ms(2026, 2, 4, 8)
        );
    }
}
