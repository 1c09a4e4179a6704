//! The one pacer every provider's calls go through: at most `concurrency` calls at once, at most
//! one call start per `min_interval` on average (the provider's request rate; a burst of calls may
//! start at once where the provider's quota is counted over a minute, see [`Pacer::with_burst`]),
//! and on a retryable error a pause before the next attempt: the provider's `Retry-After` when it
//! gave one, otherwise an exponential back-off with jitter, for at most `max_attempts` attempts in
//! all.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use crate::error::{ErrorClass, RemoteError};

#[derive(Debug, Clone)]
pub struct PacerSettings {
    pub concurrency: usize,
    /// The least time between two call starts; zero for no rate limit.
    pub min_interval: Duration,
    pub max_attempts: u32,
    /// The first back-off; it doubles per retry up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is not waited out here: the error goes to the caller,
    /// whose queue can come back to the work later.
    pub max_retry_after: Duration,
}

impl Default for PacerSettings {
    fn default() -> Self {
        PacerSettings {
            concurrency: 4,
            min_interval: Duration::from_millis(10),
            max_attempts: 10,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

pub struct Pacer {
    settings: PacerSettings,
    permits: Semaphore,
    /// When the next call would start if calls were spaced exactly `min_interval` apart.
    next_start: Mutex<Instant>,
    /// How many calls may start ahead of that spacing (1: none).
    burst: u32,
}

impl Pacer {
    pub fn new(settings: PacerSettings) -> Self {
        Pacer {
            permits: Semaphore::new(settings.concurrency.max(1)),
            next_start: Mutex::new(Instant::now()),
            settings,
            burst: 1,
        }
    }

    /// Lets up to `burst` calls start at once after a quiet spell, the rate over time staying one
    /// per `min_interval`: in any span of time, at most `burst` more calls start than the rate
    /// alone allows. For providers whose quota counts calls per minute, not their spacing, so a
    /// short backlog is not held to the spacing a long one needs.
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    pub fn settings(&self) -> &PacerSettings {
        &self.settings
    }

    /// Runs `call` until it succeeds, fails with an error that is not worth retrying, or has been
    /// tried `max_attempts` times. `call` is invoked afresh each attempt, so it must rebuild its
    /// request (a streamed body cannot be sent twice).
    pub async fn run<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T, RemoteError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RemoteError>>,
    {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = {
                let _permit = self.permits.acquire().await.map_err(|_| RemoteError::Config("pacer closed".into()))?;
                self.wait_for_slot().await;
                call().await
            };
            let error = match result {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            let ErrorClass::Retry { after } = error.class() else { return Err(error) };
            if attempt >= self.settings.max_attempts {
                tracing::warn!(what, attempt, error = %error, "giving up after the last attempt");
                return Err(error);
            }
            let pause = match after {
                Some(after) if after > self.settings.max_retry_after => return Err(error),
                Some(after) => after,
                None => self.backoff(attempt),
            };
            tracing::debug!(what, attempt, ?pause, error = %error, "retrying");
            tokio::time::sleep(pause).await;
        }
    }

    async fn wait_for_slot(&self) {
        if self.settings.min_interval.is_zero() {
            return;
        }
        let start = {
            // The generic cell rate algorithm: `next` runs ahead of now by at most `burst` spacings.
            let mut next = self.next_start.lock().await;
            let now = Instant::now();
            let due = (*next).max(now);
            let ahead = self.settings.min_interval.saturating_mul(self.burst - 1);
            *next = due + self.settings.min_interval;
            due.checked_sub(ahead).map_or(now, |start| start.max(now))
        };
        tokio::time::sleep_until(start).await;
    }

    /// Jitter (a uniform pause between half and all of the exponential bound): many boxes retrying
    /// after the same provider hiccup do not come back in step.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.settings.base_backoff.saturating_mul(1u32 << (attempt - 1).min(16));
        let bound = exp.min(self.settings.max_backoff);
        bound.mul_f64(0.5 + 0.5 * random_fraction())
    }
}

fn random_fraction() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
    use std::sync::Arc;

    fn retryable(after: Option<Duration>) -> RemoteError {
        RemoteError::Provider {
            provider: "test",
            status: 429,
            code: None,
            message: "slow down".into(),
            class: ErrorClass::Retry { after },
        }
    }

    fn settings() -> PacerSettings {
        PacerSettings { min_interval: Duration::ZERO, ..PacerSettings::default() }
    }

    #[tokio::test(start_paused = true)]
    async fn obeys_retry_after_then_succeeds() {
        let pacer = Pacer::new(settings());
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let value = pacer
            .run("t", || async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(retryable(Some(Duration::from_secs(7))))
                } else {
                    Ok(42)
                }
            })
            .await
            .unwrap();
        assert_eq!(value, 42);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(started.elapsed().as_secs(), 14, "two Retry-After pauses of 7 s");
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_with_growing_pauses() {
        let pacer = Pacer::new(PacerSettings { max_attempts: 5, ..settings() });
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let err = pacer
            .run("t", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(retryable(None))
            })
            .await
            .unwrap_err();
        assert!(matches!(err.class(), ErrorClass::Retry { .. }));
        assert_eq!(calls.load(Ordering::SeqCst), 5);
        // Four pauses, each at least half of 0.2, 0.4, 0.8, 1.6 s.
        assert!(started.elapsed() >= Duration::from_millis(1500), "{:?}", started.elapsed());
        assert!(started.elapsed() <= Duration::from_millis(3000), "{:?}", started.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn does_not_retry_what_retrying_cannot_fix() {
        let pacer = Pacer::new(settings());
        let calls = AtomicU32::new(0);
        let err = pacer
            .run("t", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(RemoteError::Provider {
                    provider: "test",
                    status: 401,
                    code: Some("invalid_grant".into()),
                    message: "revoked".into(),
                    class: ErrorClass::NeedsReconnect,
                })
            })
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::NeedsReconnect);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_too_long_goes_back_to_the_caller() {
        let pacer = Pacer::new(settings());
        let started = Instant::now();
        let err = pacer.run("t", || async { Err::<(), _>(retryable(Some(Duration::from_secs(3600)))) }).await;
        assert!(err.is_err());
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn limits_concurrency_and_rate() {
        let pacer = Arc::new(Pacer::new(PacerSettings {
            concurrency: 2,
            min_interval: Duration::from_millis(100),
            ..PacerSettings::default()
        }));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (pacer, running, peak) = (pacer.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                pacer
                    .run("t", || async {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                        Ok::<_, RemoteError>(())
                    })
                    .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
        // Ten starts 100 ms apart: the last starts at 0.9 s at the earliest.
        assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
    }

    /// When each of `n` calls started, relative to the first call's time.
    async fn starts(pacer: &Pacer, n: usize) -> Vec<Duration> {
        let origin = Instant::now();
        let mut at = Vec::new();
        for _ in 0..n {
            pacer.run("t", || async { Ok::<_, RemoteError>(()) }).await.unwrap();
            at.push(origin.elapsed());
        }
        at
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_starts_at_once_then_the_rate_holds() {
        let interval = Duration::from_millis(100);
        let pacer = Pacer::new(PacerSettings { min_interval: interval, ..PacerSettings::default() }).with_burst(3);
        let at = starts(&pacer, 6).await;
        assert_eq!(at[..3], [Duration::ZERO; 3], "the burst");
        assert_eq!(at[3..], [interval, interval * 2, interval * 3], "then one per interval");
        // After a quiet spell the burst is back, never more than it.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let at = starts(&pacer, 4).await;
        assert_eq!(at, [Duration::ZERO, Duration::ZERO, Duration::ZERO, interval]);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_burst_calls_are_spaced() {
        let interval = Duration::from_millis(100);
        let pacer = Pacer::new(PacerSettings { min_interval: interval, ..PacerSettings::default() });
        let at = starts(&pacer, 3).await;
        assert_eq!(at, [Duration::ZERO, interval, interval * 2]);
    }
}
