//! When a failed delivery is tried again: ten tries over about a day.
//! After the n-th failed try the next waits 30 s × 3^(n−1), at most 8 h,
//! give or take a fifth (jitter, so endpoints that failed together are not
//! all tried again at once): 30 s, 1.5 min, 4.5 min, 13.5 min, 40.5 min,
//! 2 h, 6 h, 8 h, 8 h — the tenth try about 25 hours after the first.

use std::time::Duration;

/// Tries of one delivery, the first included.
pub const MAX_ATTEMPTS: u32 = 10;

const FIRST: Duration = Duration::from_secs(30);
const LONGEST: Duration = Duration::from_secs(8 * 3600);

/// The wait after `failed` tries failed (1 for the first), before jitter.
pub fn base_delay(failed: u32) -> Duration {
    let factor = 3u32.saturating_pow(failed.saturating_sub(1));
    FIRST.saturating_mul(factor).min(LONGEST)
}

/// The wait before the next try after `failed` tries failed, `jitter`
/// (from 0 to 1) spreading it over ±20 %; `None` once the last try failed.
pub fn next_try(failed: u32, jitter: f64) -> Option<Duration> {
    if failed >= MAX_ATTEMPTS {
        return None;
    }
    let spread = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    Some(base_delay(failed).mul_f64(spread))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_tries_over_about_a_day() {
        let waits: Vec<u64> = (1..MAX_ATTEMPTS).map(|n| base_delay(n).as_secs()).collect();
        assert_eq!(waits, [30, 90, 270, 810, 2430, 7290, 21870, 28800, 28800]);
        let total: u64 = waits.iter().sum();
        assert!((24 * 3600..26 * 3600).contains(&total), "{total}");
        assert_eq!(next_try(MAX_ATTEMPTS, 0.5), None);
        assert_eq!(next_try(1, 0.0), Some(Duration::from_secs(24)));
        assert_eq!(next_try(1, 1.0), Some(Duration::from_secs(36)));
        assert_eq!(next_try(1, 7.0), Some(Duration::from_secs(36)));
        assert_eq!(base_delay(40), LONGEST);
    }
}
