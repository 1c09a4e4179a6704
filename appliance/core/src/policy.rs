//! The network policy: from which networks the box may be used at all, and from which networks and
//! Wi-Fi names it accepts uploads. The subnet is what the server sees of the client's address; the SSID
//! is only what the client says it is on (a header), so it narrows uploads for honest apps and is no
//! defence against a dishonest one.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::settings;

/// The settings key the policy changed through the API is stored under.
const SETTINGS_KEY: &str = "network_policy";

/// Longest SSID in bytes (IEEE 802.11).
pub const MAX_SSID_BYTES: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkPolicy {
    pub upload: UploadPolicy,
    pub access: AccessPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UploadPolicy {
    /// Client networks uploads are accepted from, as CIDR (`192.168.1.0/24`, `fd00::/8`).
    #[schema(value_type = Vec<String>)]
    pub allowed_networks: Vec<IpNet>,
    /// Wi-Fi names (as the client reports them in `Shoebox-Wifi-SSID`) uploads are accepted from;
    /// empty means any.
    pub allowed_ssids: Vec<String>,
    /// Refuse uploads from clients that report no Wi-Fi name.
    pub require_ssid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AccessPolicy {
    /// Client networks that may use the box at all (API, web app, downloads).
    #[schema(value_type = Vec<String>)]
    pub allowed_networks: Vec<IpNet>,
}

/// Why a client was turned away; the message names the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The address is outside `access.allowed_networks`.
    Access { addr: IpAddr },
    /// The address is outside `upload.allowed_networks`.
    UploadNetwork { addr: IpAddr },
    /// The reported Wi-Fi is not in `upload.allowed_ssids`.
    UploadSsid { ssid: String },
    /// `upload.require_ssid` is on and the client reported no Wi-Fi.
    UploadSsidMissing,
}

impl Refusal {
    /// The stable error code of the API.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Access { .. } => "access_network_not_allowed",
            Refusal::UploadNetwork { .. } => "upload_network_not_allowed",
            Refusal::UploadSsid { .. } | Refusal::UploadSsidMissing => "upload_ssid_not_allowed",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Access { addr } => {
                write!(f, "{addr} is outside the networks allowed to use this box (access.allowed_networks)")
            }
            Refusal::UploadNetwork { addr } => {
                write!(f, "{addr} is outside the networks allowed to upload (upload.allowed_networks)")
            }
            Refusal::UploadSsid { ssid } => {
                write!(f, "Wi-Fi {ssid:?} is not one of the networks allowed to upload (upload.allowed_ssids)")
            }
            Refusal::UploadSsidMissing => {
                write!(f, "uploads need the client's Wi-Fi name in the Shoebox-Wifi-SSID header (upload.require_ssid)")
            }
        }
    }
}

/// "LAN only": loopback, the private IPv4 ranges, link-local, and IPv6 unique-local and link-local.
pub fn lan_networks() -> Vec<IpNet> {
    [
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    ]
    .iter()
    .filter_map(|s| s.parse().ok())
    .collect()
}

impl Default for UploadPolicy {
    fn default() -> Self {
        UploadPolicy { allowed_networks: lan_networks(), allowed_ssids: Vec::new(), require_ssid: false }
    }
}

impl Default for AccessPolicy {
    fn default() -> Self {
        AccessPolicy { allowed_networks: lan_networks() }
    }
}

/// True when `addr` lies in one of `networks`. An IPv4 client reaching an IPv6 socket shows up as
/// `::ffff:a.b.c.d`; it is matched as the IPv4 address it is.
pub fn contains(networks: &[IpNet], addr: IpAddr) -> bool {
    let addr = addr.to_canonical();
    networks.iter().any(|net| net.contains(&addr))
}

impl NetworkPolicy {
    pub fn check_access(&self, addr: IpAddr) -> std::result::Result<(), Refusal> {
        if contains(&self.access.allowed_networks, addr) {
            Ok(())
        } else {
            Err(Refusal::Access { addr: addr.to_canonical() })
        }
    }

    /// `ssid` is the client's `Shoebox-Wifi-SSID`, if it sent one.
    pub fn check_upload(&self, addr: IpAddr, ssid: Option<&str>) -> std::result::Result<(), Refusal> {
        self.check_access(addr)?;
        if !contains(&self.upload.allowed_networks, addr) {
            return Err(Refusal::UploadNetwork { addr: addr.to_canonical() });
        }
        match ssid.filter(|s| !s.is_empty()) {
            None if self.upload.require_ssid => Err(Refusal::UploadSsidMissing),
            None => Ok(()),
            Some(ssid)
                if self.upload.allowed_ssids.is_empty() || self.upload.allowed_ssids.iter().any(|a| a == ssid) =>
            {
                Ok(())
            }
            Some(ssid) => Err(Refusal::UploadSsid { ssid: ssid.to_string() }),
        }
    }

    /// Checks what a caller could get wrong when setting the policy.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if let Some(bad) = self.upload.allowed_ssids.iter().find(|s| s.is_empty() || s.len() > MAX_SSID_BYTES) {
            return Err(format!("upload.allowed_ssids: {bad:?} is not a Wi-Fi name (1 to {MAX_SSID_BYTES} bytes)"));
        }
        Ok(())
    }
}

/// The policy an admin stored through the API, if any; it wins over the configuration file's.
pub fn load_stored(conn: &Connection) -> Result<Option<NetworkPolicy>> {
    match settings::get(conn, SETTINGS_KEY)? {
        None => Ok(None),
        Some(json) => match serde_json::from_str(&json) {
            Ok(policy) => Ok(Some(policy)),
            Err(e) => {
                // A stored policy the program cannot read must not lock the owner out: fall back to
                // the configuration and say so.
                tracing::error!(error = %e, "stored network policy is unreadable; using the configured one");
                Ok(None)
            }
        },
    }
}

pub fn store(conn: &Connection, policy: &NetworkPolicy) -> Result<()> {
    let json = serde_json::to_string(policy).map_err(|e| CoreError::invalid("network policy", e.to_string()))?;
    settings::set(conn, SETTINGS_KEY, &json)
}

/// Forgets the stored policy, so the configuration file's applies again.
pub fn clear_stored(conn: &Connection) -> Result<()> {
    settings::remove(conn, SETTINGS_KEY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn lan_only_by_default() {
        let p = NetworkPolicy::default();
        for ok in ["127.0.0.1", "10.1.2.3", "172.20.0.9", "192.168.178.20", "169.254.3.3", "::1", "fd12::5", "fe80::1"]
        {
            assert_eq!(p.check_upload(ip(ok), None), Ok(()), "{ok}");
        }
        for bad in ["8.8.8.8", "172.32.0.1", "2001:db8::1", "100.64.0.1"] {
            assert_eq!(p.check_access(ip(bad)), Err(Refusal::Access { addr: ip(bad) }), "{bad}");
        }
    }

    #[test]
    fn mapped_ipv4_is_matched_as_ipv4() {
        let p = NetworkPolicy::default();
        assert_eq!(p.check_access(ip("::ffff:192.168.1.5")), Ok(()));
        assert_eq!(p.check_access(ip("::ffff:8.8.8.8")), Err(Refusal::Access { addr: ip("8.8.8.8") }));
    }

    #[test]
    fn upload_networks_narrow_access() {
        let mut p = NetworkPolicy::default();
        p.upload.allowed_networks = vec!["192.168.1.0/24".parse().unwrap()];
        assert_eq!(p.check_access(ip("10.0.0.5")), Ok(()));
        assert_eq!(p.check_upload(ip("10.0.0.5"), None), Err(Refusal::UploadNetwork { addr: ip("10.0.0.5") }));
        assert_eq!(p.check_upload(ip("192.168.1.7"), None), Ok(()));
    }

    #[test]
    fn ssid_rules() {
        let mut p = NetworkPolicy::default();
        p.upload.allowed_ssids = vec!["Home".into()];
        let lan = ip("192.168.1.7");
        assert_eq!(p.check_upload(lan, Some("Home")), Ok(()));
        assert_eq!(p.check_upload(lan, Some("home")), Err(Refusal::UploadSsid { ssid: "home".into() }));
        assert_eq!(p.check_upload(lan, None), Ok(()), "no SSID reported and none required");
        p.upload.require_ssid = true;
        assert_eq!(p.check_upload(lan, None), Err(Refusal::UploadSsidMissing));
        assert_eq!(p.check_upload(lan, Some("")), Err(Refusal::UploadSsidMissing));
    }

    #[test]
    fn stored_policy_round_trips() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")?;
        assert_eq!(load_stored(&conn)?, None);
        let mut p = NetworkPolicy::default();
        p.upload.allowed_ssids = vec!["Home".into()];
        store(&conn, &p)?;
        assert_eq!(load_stored(&conn)?, Some(p));
        clear_stored(&conn)?;
        assert_eq!(load_stored(&conn)?, None);
        Ok(())
    }
}
