//! The server's clocks besides the system's.
//!
//! Every component reads time from the one injected `Clock` (requests, authentication, the
//! maintenance loop, last-use records), so tests control time instead of waiting for it: Rust tests
//! in process with a clock they move, end-to-end tests with `--dev-clock-start`.

use chrono::{DateTime, Utc};
use coffer_server::Clock;

/// `serve --dev --dev-clock-start TIME`: the system clock shifted so that it read `TIME` when the
/// server started; it then advances in real time.
///
/// Why a shift from a start time rather than a clock the test steps: it puts the server at a
/// chosen moment (a rotation window in the middle of a UTC day, a given date) so a test never
/// waits for the real time of day and never races midnight, while time-driven work (the
/// maintenance loop, expiries) still happens as it does in production. Only `--dev` honours it:
/// outside it a shifted clock would make every real client's signature look skewed.
pub struct ShiftedClock {
    offset: chrono::Duration,
}

impl ShiftedClock {
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        ShiftedClock {
            offset: start - Utc::now(),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

/// Parses `--dev-clock-start`: RFC 3339, e.g. `2030-06-14T12:00:00Z`.
pub fn parse_start(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}; expected RFC 3339, e.g. 2030-06-14T12:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_clock_starts_at_the_given_time_and_advances() {
        let start = parse_start("2030-06-14T12:00:00Z").unwrap();
        let clock = ShiftedClock::starting_at(start);
        let first = clock.now();
        assert!(first >= start && first - start < chrono::Duration::minutes(5));
        assert!(clock.now() >= first);
        assert!(parse_start("2030-06-14 12:00").is_err());
        assert_eq!(parse_start("2030-06-14T14:00:00+02:00").unwrap(), start);
    }
}
