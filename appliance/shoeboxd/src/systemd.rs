//! Telling systemd how the service is (`Type=notify`): ready once it listens, alive while its
//! catalogue answers (the watchdog), stopping when it stops. Outside systemd (no `NOTIFY_SOCKET`)
//! every call does nothing.

use std::time::Duration;

use sd_notify::NotifyState;
use shoebox_server::AppState;

pub fn ready() {
    notify(&[NotifyState::Ready, NotifyState::Status("serving")]);
}

pub fn stopping() {
    notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// Pets the watchdog at half its period, but only while the catalogue answers a query: a service
/// wedged on its database should be restarted, not kept alive by a timer alone.
pub fn spawn_watchdog(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    let period = sd_notify::watchdog_enabled()?;
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(period / 2);
        loop {
            tick.tick().await;
            let alive = tokio::time::timeout(
                period / 2,
                state.db(|cat| cat.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))),
            )
            .await;
            match alive {
                Ok(Ok(_)) => notify(&[NotifyState::Watchdog]),
                _ => tracing::warn!("the catalogue did not answer; the systemd watchdog is not fed"),
            }
        }
    }))
}

fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "could not notify systemd");
    }
}

/// The period, for the log.
pub fn watchdog_period() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}
