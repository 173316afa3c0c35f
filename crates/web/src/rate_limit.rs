//! A sliding-window counter per key (an e-mail address, an IP address) kept in this node's
//! memory: the login limiter. Several nodes each allow the limit; that bounds guessing well
//! enough without a shared store, and a restart forgets (the window is a minute).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Keys remembered at most; beyond this, keys with no attempt inside the window are forgotten
/// first, so a flood of distinct keys cannot grow memory without bound.
pub const RATE_LIMIT_KEYS_MAX: usize = 100_000;

/// Attempts per key within a window.
#[derive(Debug, Default)]
pub struct RateLimiter {
    attempts: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl RateLimiter {
    /// Records an attempt for `key` at `now_ms` unless `max` attempts already happened in the
    /// last `window_ms`; returns whether this attempt is allowed.
    pub fn allow(&self, key: &str, now_ms: i64, max: usize, window_ms: i64) -> bool {
        let Ok(mut map) = self.attempts.lock() else {
            return false;
        };
        if map.len() >= RATE_LIMIT_KEYS_MAX && !map.contains_key(key) {
            map.retain(|_, times| times.back().is_some_and(|t| now_ms - t < window_ms));
            if map.len() >= RATE_LIMIT_KEYS_MAX {
                return false;
            }
        }
        let times = map.entry(key.to_string()).or_default();
        while times.front().is_some_and(|t| now_ms - t >= window_ms) {
            times.pop_front();
        }
        if times.len() >= max {
            return false;
        }
        times.push_back(now_ms);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_within_the_window_and_lifts_after_it() {
        let limiter = RateLimiter::default();
        assert!(limiter.allow("a", 0, 2, 60_000));
        assert!(limiter.allow("a", 1, 2, 60_000));
        assert!(!limiter.allow("a", 2, 2, 60_000));
        assert!(limiter.allow("b", 2, 2, 60_000));
        assert!(limiter.allow("a", 60_000, 2, 60_000));
    }
}
