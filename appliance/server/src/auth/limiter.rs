//! Login back-off per client address and per user name: after `FREE_FAILURES` failures in a row each
//! further attempt must wait twice as long as the previous one, up to `MAX_WAIT`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FREE_FAILURES: u32 = 5;
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct LoginLimiter {
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Clone, Copy)]
struct Entry {
    failures: u32,
    blocked_until: Option<Instant>,
    last_failure: Instant,
}

impl LoginLimiter {
    /// Seconds to wait before `keys` may try again, if any of them is blocked.
    pub fn retry_after(&self, keys: &[String]) -> Option<u64> {
        let now = Instant::now();
        let entries = self.lock();
        keys.iter()
            .filter_map(|k| entries.get(k)?.blocked_until)
            .filter(|until| *until > now)
            .map(|until| seconds_rounded_up(until - now).max(1))
            .max()
    }

    pub fn failed(&self, keys: &[String]) {
        let now = Instant::now();
        let mut entries = self.lock();
        if entries.len() > MAX_ENTRIES {
            entries.retain(|_, e| now.duration_since(e.last_failure) < MAX_WAIT);
        }
        for key in keys {
            let entry =
                entries.entry(key.clone()).or_insert(Entry { failures: 0, blocked_until: None, last_failure: now });
            entry.failures += 1;
            entry.last_failure = now;
            if entry.failures >= FREE_FAILURES {
                let exp = (entry.failures - FREE_FAILURES).min(20);
                let wait = Duration::from_secs(1u64 << exp).min(MAX_WAIT);
                entry.blocked_until = Some(now + wait);
            }
        }
    }

    pub fn succeeded(&self, keys: &[String]) {
        let mut entries = self.lock();
        for key in keys {
            entries.remove(key);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `Retry-After` must not tell a client to come back before it may: 1.9 s is 2 s, not 1 s.
fn seconds_rounded_up(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_after_five_failures() {
        let limiter = LoginLimiter::default();
        let keys = vec!["user:anna".to_string()];
        for _ in 0..4 {
            limiter.failed(&keys);
            assert_eq!(limiter.retry_after(&keys), None);
        }
        limiter.failed(&keys);
        assert_eq!(limiter.retry_after(&keys), Some(1));
        limiter.failed(&keys);
        assert_eq!(limiter.retry_after(&keys), Some(2));
        limiter.succeeded(&keys);
        assert_eq!(limiter.retry_after(&keys), None);
    }
}
