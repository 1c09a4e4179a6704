//! Making the box findable on the LAN: DNS-SD services over mDNS (`_shoebox._tcp` for apps,
//! `_http._tcp` for the web app), through the system's avahi-daemon when there is one and through a
//! built-in responder otherwise; and browsing for boxes, for the client.
//!
//! Both backends resolve name conflicts the mDNS way (the second "Shoebox" becomes "Shoebox #2" under
//! avahi, "Shoebox (2)" built in), re-announce when the host's addresses change, and withdraw the
//! services with goodbye packets on [`Advertiser::stop`].

mod avahi;
pub mod browse;
mod builtin;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use browse::{browse, FoundBox};

/// The service type apps look for.
pub const SHOEBOX_SERVICE: &str = "_shoebox._tcp";
/// The service type browsers and generic tools look for.
pub const HTTP_SERVICE: &str = "_http._tcp";
/// The service type WebDAV apps (PhotoSync, file managers) look for.
pub const WEBDAV_SERVICE: &str = "_webdav._tcp";

#[derive(Debug, thiserror::Error)]
pub enum MdnsError {
    #[error("avahi-daemon: {0}")]
    Avahi(#[from] zbus::Error),
    #[error("avahi-daemon refused the services: {0}")]
    AvahiState(String),
    #[error("mDNS responder: {0}")]
    Builtin(#[from] mdns_sd::Error),
    #[error("invalid advertisement: {0}")]
    Invalid(String),
}

/// Which responder announces the services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// avahi when its daemon answers on the system bus, else built in.
    #[default]
    Auto,
    /// The system's avahi-daemon, over D-Bus (what a NAS image runs).
    Avahi,
    /// The pure-Rust responder, for systems without avahi.
    Builtin,
    /// No advertisement.
    Off,
}

/// One DNS-SD service of the box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// `_shoebox._tcp`, `_http._tcp`, ...
    pub service_type: String,
    /// TXT record entries.
    pub txt: Vec<(String, String)>,
}

/// What the box announces: one instance name and port for all its services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertisement {
    /// The instance name people see ("Shoebox"); at most 63 bytes.
    pub name: String,
    pub port: u16,
    pub services: Vec<Service>,
}

impl Advertisement {
    /// The services of a Shoebox: the API for apps, the web app for browsers, and WebDAV at
    /// `webdav_path` (the default workspace's tree) for the backup apps people already have.
    pub fn shoebox(name: &str, port: u16, device_id: &str, version: &str, webdav_path: &str) -> Advertisement {
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Advertisement {
            name: name.to_string(),
            port,
            services: vec![
                Service {
                    service_type: SHOEBOX_SERVICE.into(),
                    txt: pairs(&[("api", "/api/v1"), ("id", device_id), ("version", version), ("name", name)]),
                },
                Service { service_type: HTTP_SERVICE.into(), txt: pairs(&[("path", "/")]) },
                Service { service_type: WEBDAV_SERVICE.into(), txt: pairs(&[("path", webdav_path)]) },
            ],
        }
    }

    fn validate(&self) -> Result<(), MdnsError> {
        // RFC 6763 4.1.1: an instance name is one DNS label, so at most 63 bytes.
        if self.name.is_empty() || self.name.len() > 63 {
            return Err(MdnsError::Invalid(format!("device name {:?} must be 1 to 63 bytes", self.name)));
        }
        for service in &self.services {
            for (key, value) in &service.txt {
                if key.is_empty() || key.contains('=') || !key.is_ascii() || key.len() + value.len() + 1 > 255 {
                    return Err(MdnsError::Invalid(format!("TXT entry {key}={value}")));
                }
            }
        }
        Ok(())
    }
}

/// The running advertisement. Dropping it without [`Advertiser::stop`] leaves withdrawal to the
/// responder (avahi withdraws when our D-Bus connection closes; the built-in one does not).
pub enum Advertiser {
    Avahi(avahi::Published),
    Builtin(builtin::Published),
    Off,
}

/// How long `auto` waits for avahi-daemon to answer before choosing the built-in responder.
const AVAHI_PROBE: Duration = Duration::from_secs(2);

impl Advertiser {
    /// Starts announcing `ad` with `backend`.
    pub async fn start(backend: Backend, ad: Advertisement) -> Result<Advertiser, MdnsError> {
        ad.validate()?;
        let backend = match backend {
            Backend::Auto => {
                if avahi::available(AVAHI_PROBE).await {
                    Backend::Avahi
                } else {
                    tracing::info!("no avahi-daemon on the system bus; using the built-in mDNS responder");
                    Backend::Builtin
                }
            }
            other => other,
        };
        match backend {
            Backend::Avahi => Ok(Advertiser::Avahi(avahi::publish(ad).await?)),
            Backend::Builtin => Ok(Advertiser::Builtin(builtin::publish(ad)?)),
            Backend::Off | Backend::Auto => Ok(Advertiser::Off),
        }
    }

    /// The backend actually in use.
    pub fn backend(&self) -> Backend {
        match self {
            Advertiser::Avahi(_) => Backend::Avahi,
            Advertiser::Builtin(_) => Backend::Builtin,
            Advertiser::Off => Backend::Off,
        }
    }

    /// Withdraws every service (goodbye packets) and waits until that is done.
    pub async fn stop(self) {
        match self {
            Advertiser::Avahi(p) => p.stop().await,
            Advertiser::Builtin(p) => p.stop().await,
            Advertiser::Off => {}
        }
    }
}
