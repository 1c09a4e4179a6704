//! The box's status over MQTT, where Home Assistant (and any other home-automation system) reads it:
//! `<prefix>/availability` (`online`/`offline`, retained, the `offline` also left with the broker as the
//! last will, so a crash or power cut shows), `<prefix>/state` (retained JSON, on change at most once a
//! second and every 60 s), and Home Assistant discovery configs.
//!
//! The publisher is one task of its own. A broker that is down, slow or refusing never blocks or slows
//! the service: requests only bump a counter the task watches, and the task reconnects with back-off.

mod discovery;
mod link;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Serialize;

pub use discovery::Device;
pub use link::{Publisher, Wiring};

#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error("broker address {0:?}: use mqtt://host[:1883] or mqtts://host[:8883]")]
    BadBroker(String),
    #[error("reading {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// How to reach the broker and where to publish.
#[derive(Clone)]
pub struct Settings {
    pub broker: Broker,
    pub username: Option<String>,
    pub password: Option<String>,
    /// PEM of the CA that signed the broker's certificate (mqtts); without it, the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    pub client_id: String,
    /// `shoebox/<device id>` unless configured.
    pub topic_prefix: String,
    /// `homeassistant` unless configured.
    pub discovery_prefix: String,
    /// Take commands (`<prefix>/command/sync/<connection id>`) and offer their buttons.
    pub commands: bool,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("broker", &self.broker)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("client_id", &self.client_id)
            .field("topic_prefix", &self.topic_prefix)
            .field("discovery_prefix", &self.discovery_prefix)
            .field("commands", &self.commands)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl Broker {
    /// `mqtt://host[:port]` (1883) or `mqtts://host[:port]` (8883).
    pub fn parse(url: &str) -> Result<Broker, MqttError> {
        let bad = || MqttError::BadBroker(url.to_string());
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        let (tls, default_port) = match scheme {
            "mqtt" | "tcp" => (false, 1883),
            "mqtts" | "ssl" => (true, 8883),
            _ => return Err(bad()),
        };
        let rest = rest.trim_end_matches('/');
        let port_of = |p: &str| p.parse::<u16>().map_err(|_| bad());
        let (host, port) = match rest.strip_prefix('[') {
            // An IPv6 literal: [::1] or [::1]:1884.
            Some(v6) => match v6.split_once(']').ok_or_else(bad)? {
                (host, "") => (host, default_port),
                (host, after) => (host, port_of(after.strip_prefix(':').ok_or_else(bad)?)?),
            },
            None => match rest.split_once(':') {
                Some((host, port)) => (host, port_of(port)?),
                None => (rest, default_port),
            },
        };
        if host.is_empty() || host.contains('/') {
            return Err(bad());
        }
        Ok(Broker { host: host.to_string(), port, tls })
    }
}

/// What the link is doing, for the status API and the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LinkState {
    Connecting,
    Connected,
    /// The broker turned the login down (wrong user or password, not authorised).
    Refused(String),
    /// No connection (broker unreachable, TLS failure, connection lost); retrying.
    Down(String),
}

/// The status JSON, fetched when it is to be published.
pub type StatusSource = Arc<dyn Fn() -> BoxFuture<'static, Option<serde_json::Value>> + Send + Sync>;
/// Told every change of the link's state.
pub type LinkObserver = Arc<dyn Fn(LinkState) + Send + Sync>;

/// What Home Assistant (or anyone allowed on the broker) can ask of the box, when commands are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Sync this pull connection now.
    SyncNow(i64),
}

/// Carries out commands (it must not block: start the work and return).
pub type CommandSink = Arc<dyn Fn(Command) + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_addresses() {
        let b = |s: &str| Broker::parse(s).ok();
        assert_eq!(b("mqtt://nas.local"), Some(Broker { host: "nas.local".into(), port: 1883, tls: false }));
        assert_eq!(b("mqtts://10.0.0.2:8884"), Some(Broker { host: "10.0.0.2".into(), port: 8884, tls: true }));
        assert_eq!(b("mqtt://[::1]:1884"), Some(Broker { host: "::1".into(), port: 1884, tls: false }));
        assert_eq!(b("mqtt://[::1]"), Some(Broker { host: "::1".into(), port: 1883, tls: false }));
        for bad in ["nas.local", "http://nas.local", "mqtt://", "mqtt://h:port", "mqtt://h:1883/x/y"] {
            assert!(b(bad).is_none(), "{bad}");
        }
    }
}
