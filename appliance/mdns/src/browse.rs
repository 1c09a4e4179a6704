//! Finding boxes on the LAN: browse `_shoebox._tcp` for a while and collect what resolves.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use mdns_sd::{ServiceDaemon, ServiceEvent};

use crate::{MdnsError, SHOEBOX_SERVICE};

/// A box that answered, as its TXT record describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FoundBox {
    /// The instance name ("Shoebox", "Shoebox #2").
    pub name: String,
    /// The mDNS host name (`shoebox.local.`).
    pub host: String,
    pub addresses: Vec<IpAddr>,
    pub port: u16,
    /// The stable device id (TXT `id`).
    pub id: Option<String>,
    pub version: Option<String>,
    /// The API's path (TXT `api`), `/api/v1`.
    pub api: String,
}

impl FoundBox {
    /// The API's base URL on the first address, IPv4 preferred (what most phones route best).
    pub fn api_url(&self) -> Option<String> {
        let addr = self.addresses.iter().find(|a| a.is_ipv4()).or_else(|| self.addresses.first())?;
        let host = match addr {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        Some(format!("http://{host}:{}{}", self.port, self.api))
    }
}

/// Browses for `wait` and returns every box that resolved, by name. Runs a querier on every
/// interface: call it only where multicasting is allowed.
pub async fn browse(wait: Duration) -> Result<Vec<FoundBox>, MdnsError> {
    let daemon = ServiceDaemon::new()?;
    // A box that has just started answers no query while it probes for its name, then announces
    // itself unasked: take that announcement rather than wait for the next query seconds later.
    daemon.accept_unsolicited(true)?;
    let events = daemon.browse(&format!("{SHOEBOX_SERVICE}.local."))?;
    let mut found = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok(event)) = tokio::time::timeout_at(deadline, events.recv_async()).await {
        match event {
            ServiceEvent::ServiceResolved(service) => {
                let txt = |key: &str| service.txt_properties.get_property_val_str(key).map(str::to_string);
                let suffix = format!(".{}", service.ty_domain);
                let name = service.fullname.strip_suffix(&suffix).unwrap_or(&service.fullname).replace("\\ ", " ");
                let mut addresses: Vec<IpAddr> = service.addresses.iter().map(|a| a.to_ip_addr()).collect();
                addresses.sort();
                found.insert(
                    service.fullname.clone(),
                    FoundBox {
                        name,
                        host: service.host.clone(),
                        addresses,
                        port: service.port,
                        id: txt("id"),
                        version: txt("version"),
                        api: txt("api").unwrap_or_else(|| "/api/v1".into()),
                    },
                );
            }
            ServiceEvent::ServiceRemoved(_, fullname) => {
                found.remove(&fullname);
            }
            _ => {}
        }
    }
    if let Ok(done) = daemon.shutdown() {
        let _ = tokio::time::timeout(Duration::from_secs(1), done.recv_async()).await;
    }
    Ok(found.into_values().collect())
}
