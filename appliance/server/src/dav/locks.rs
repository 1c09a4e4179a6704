//! WebDAV locks that end. dav-server's in-memory lock system keeps every lock until UNLOCK, whatever
//! timeout it was given: a client that crashed while holding one (Finder and Explorer lock before they
//! write) would block that file until a restart. This wrapper grants at most an hour, drops locks
//! whose time is up before every operation, and bounds how many exist.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use dav_server::davpath::DavPath;
use dav_server::ls::{DavLock, DavLockSystem, LsFuture};
use dav_server::memls::MemLs;
use futures_util::FutureExt;
use xmltree::Element;

/// The longest lock granted; clients refresh long-held ones (RFC 4918 §6.6).
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// More live locks than any household needs; past it, new LOCKs are refused.
const MAX_LOCKS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct ExpiringLocks {
    inner: Box<MemLs>,
    /// Live locks: path, token, end.
    granted: Arc<Mutex<Vec<(DavPath, String, SystemTime)>>>,
}

impl ExpiringLocks {
    pub fn new() -> Box<Self> {
        Box::new(ExpiringLocks { inner: MemLs::new(), granted: Arc::default() })
    }

    fn granted(&self) -> std::sync::MutexGuard<'_, Vec<(DavPath, String, SystemTime)>> {
        self.granted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Unlocks every lock whose time is up.
    async fn expire(&self) {
        let now = SystemTime::now();
        let expired: Vec<(DavPath, String)> = {
            let mut granted = self.granted();
            let (gone, live): (Vec<_>, Vec<_>) = granted.drain(..).partition(|(_, _, end)| *end <= now);
            *granted = live;
            gone.into_iter().map(|(path, token, _)| (path, token)).collect()
        };
        for (path, token) in expired {
            let _ = self.inner.unlock(&path, &token).await;
        }
    }
}

fn bounded(timeout: Option<Duration>) -> Duration {
    timeout.map_or(MAX_TIMEOUT, |t| t.min(MAX_TIMEOUT))
}

impl DavLockSystem for ExpiringLocks {
    fn lock(
        &'_ self,
        path: &DavPath,
        principal: Option<&str>,
        owner: Option<&Element>,
        timeout: Option<Duration>,
        shared: bool,
        deep: bool,
    ) -> LsFuture<'_, Result<DavLock, DavLock>> {
        let (path, principal, owner) = (path.clone(), principal.map(str::to_string), owner.cloned());
        async move {
            self.expire().await;
            let timeout = bounded(timeout);
            if self.granted().len() >= MAX_LOCKS {
                // Refused as if the path were locked already (423): the client retries later.
                let refusal = DavLock {
                    token: String::new(),
                    path: Box::new(path),
                    principal: None,
                    owner: None,
                    timeout_at: None,
                    timeout: None,
                    shared: false,
                    deep: false,
                };
                return Err(refusal);
            }
            let lock =
                self.inner.lock(&path, principal.as_deref(), owner.as_ref(), Some(timeout), shared, deep).await?;
            self.granted().push((path, lock.token.clone(), SystemTime::now() + timeout));
            Ok(lock)
        }
        .boxed()
    }

    fn unlock(&'_ self, path: &DavPath, token: &str) -> LsFuture<'_, Result<(), ()>> {
        let (path, token) = (path.clone(), token.to_string());
        async move {
            self.expire().await;
            self.granted().retain(|(_, t, _)| *t != token);
            self.inner.unlock(&path, &token).await
        }
        .boxed()
    }

    fn refresh(&'_ self, path: &DavPath, token: &str, timeout: Option<Duration>) -> LsFuture<'_, Result<DavLock, ()>> {
        let (path, token) = (path.clone(), token.to_string());
        async move {
            self.expire().await;
            let timeout = bounded(timeout);
            let lock = self.inner.refresh(&path, &token, Some(timeout)).await?;
            for (_, t, end) in self.granted().iter_mut() {
                if *t == token {
                    *end = SystemTime::now() + timeout;
                }
            }
            Ok(lock)
        }
        .boxed()
    }

    fn check(
        &'_ self,
        path: &DavPath,
        principal: Option<&str>,
        ignore_principal: bool,
        deep: bool,
        submitted_tokens: &[String],
    ) -> LsFuture<'_, Result<(), DavLock>> {
        let (path, principal, tokens) = (path.clone(), principal.map(str::to_string), submitted_tokens.to_vec());
        async move {
            self.expire().await;
            self.inner.check(&path, principal.as_deref(), ignore_principal, deep, &tokens).await
        }
        .boxed()
    }

    fn discover(&'_ self, path: &DavPath) -> LsFuture<'_, Vec<DavLock>> {
        let path = path.clone();
        async move {
            self.expire().await;
            self.inner.discover(&path).await
        }
        .boxed()
    }

    fn delete(&'_ self, path: &DavPath) -> LsFuture<'_, Result<(), ()>> {
        let path = path.clone();
        async move {
            let result = self.inner.delete(&path).await;
            // The locks at and under `path` are gone; forget their tokens too.
            let gone = |p: &DavPath| p.as_bytes().starts_with(path.as_bytes());
            self.granted().retain(|(p, _, _)| !gone(p));
            result
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn locks_end_when_their_time_is_up() {
        let locks = ExpiringLocks::new();
        let path = DavPath::new("/default/a.jpg").unwrap();
        let lock = locks.lock(&path, Some("anna"), None, Some(Duration::from_millis(50)), false, false).await.unwrap();
        assert!(locks.check(&path, Some("bob"), false, false, &[]).await.is_err(), "locked");
        assert!(locks.check(&path, Some("anna"), false, false, std::slice::from_ref(&lock.token)).await.is_ok());
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(locks.check(&path, Some("bob"), false, false, &[]).await.is_ok(), "expired");
        assert!(locks.discover(&path).await.is_empty());
    }

    #[test]
    fn timeouts_are_bounded() {
        assert_eq!(bounded(None), MAX_TIMEOUT);
        assert_eq!(bounded(Some(Duration::from_secs(86_400 * 365))), MAX_TIMEOUT);
        assert_eq!(bounded(Some(Duration::from_secs(60))), Duration::from_secs(60));
    }
}
