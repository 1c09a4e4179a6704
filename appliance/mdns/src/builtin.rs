//! The built-in responder (the `mdns-sd` crate) for systems without avahi. It probes for the names,
//! renames on conflict, follows the host's addresses (checked every few seconds) and re-announces.

use std::time::Duration;

use mdns_sd::{DaemonEvent, ServiceDaemon, ServiceInfo};

use crate::{Advertisement, MdnsError};

/// How long a withdrawal may take before shutdown goes on without it.
const GOODBYE_WAIT: Duration = Duration::from_secs(3);

pub struct Published {
    daemon: ServiceDaemon,
    fullnames: Vec<String>,
    monitor: tokio::task::JoinHandle<()>,
}

pub fn publish(ad: Advertisement) -> Result<Published, MdnsError> {
    let daemon = ServiceDaemon::new()?;
    let host = format!("{}.local.", host_label());
    let mut fullnames = Vec::new();
    for service in &ad.services {
        let info = ServiceInfo::new(
            &format!("{}.local.", service.service_type),
            &ad.name,
            &host,
            (),
            ad.port,
            service.txt.as_slice(),
        )?
        .enable_addr_auto();
        fullnames.push(info.get_fullname().to_string());
        daemon.register(info)?;
    }
    let events = daemon.monitor()?;
    let monitor = tokio::spawn(async move {
        while let Ok(event) = events.recv_async().await {
            match event {
                DaemonEvent::NameChange(change) => {
                    tracing::warn!(from = %change.original, to = %change.new_name, "mDNS name taken on the LAN; renamed");
                }
                DaemonEvent::Error(e) => tracing::warn!(error = %e, "mDNS responder"),
                DaemonEvent::IpAdd(ip) => tracing::info!(%ip, "new address; announcing it"),
                DaemonEvent::IpDel(ip) => tracing::info!(%ip, "address gone"),
                _ => {}
            }
        }
    });
    tracing::info!(name = %ad.name, port = ad.port, "announcing over mDNS (built-in responder)");
    Ok(Published { daemon, fullnames, monitor })
}

impl Published {
    pub async fn stop(self) {
        for name in &self.fullnames {
            match self.daemon.unregister(name) {
                Ok(done) => {
                    if tokio::time::timeout(GOODBYE_WAIT, done.recv_async()).await.is_err() {
                        tracing::warn!(service = %name, "mDNS goodbye not confirmed in time");
                    }
                }
                Err(e) => tracing::warn!(service = %name, error = %e, "mDNS withdrawal failed"),
            }
        }
        if let Ok(done) = self.daemon.shutdown() {
            let _ = tokio::time::timeout(GOODBYE_WAIT, done.recv_async()).await;
        }
        self.monitor.abort();
    }
}

/// The first label of the system's host name, as mDNS host names are `<label>.local.`.
fn host_label() -> String {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_string_lossy();
    let label = name.split('.').next().unwrap_or("").trim();
    if label.is_empty() {
        "shoebox".to_string()
    } else {
        label.to_string()
    }
}
