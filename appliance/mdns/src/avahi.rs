//! The system's avahi-daemon, through its D-Bus API (the interface avahi-client itself wraps). Talking
//! D-Bus directly with zbus keeps the build free of C libraries and bindgen, so the ARM cross build
//! and the Yocto recipe need nothing from avahi at build time.

use std::time::Duration;

use crate::{Advertisement, MdnsError};
use futures_util::StreamExt;

// avahi's constants (avahi-common/defs.h).
const IF_UNSPEC: i32 = -1;
const PROTO_UNSPEC: i32 = -1;
const SERVER_RUNNING: i32 = 2;
const GROUP_ESTABLISHED: i32 = 2;
const GROUP_COLLISION: i32 = 3;
const GROUP_FAILURE: i32 = 4;
/// The D-Bus error of AddService when the name is already announced on this very host.
const LOCAL_COLLISION: &str = "org.freedesktop.Avahi.CollisionError";

/// How long avahi may take to probe and establish the names.
const ESTABLISH_WAIT: Duration = Duration::from_secs(15);

// Each proxy in its own module: both interfaces have a `StateChanged` signal, and the macro names
// the stream type after it.
mod server {
    use zbus::zvariant::OwnedObjectPath;

    #[zbus::proxy(
        interface = "org.freedesktop.Avahi.Server",
        default_service = "org.freedesktop.Avahi",
        default_path = "/"
    )]
    pub trait Server {
        fn get_version_string(&self) -> zbus::Result<String>;
        fn entry_group_new(&self) -> zbus::Result<OwnedObjectPath>;
        fn get_alternative_service_name(&self, name: &str) -> zbus::Result<String>;
        #[zbus(signal)]
        fn state_changed(&self, state: i32, error: String) -> zbus::Result<()>;
    }
}

mod group {
    #[zbus::proxy(interface = "org.freedesktop.Avahi.EntryGroup", default_service = "org.freedesktop.Avahi")]
    pub trait EntryGroup {
        #[allow(clippy::too_many_arguments)]
        fn add_service(
            &self,
            interface: i32,
            protocol: i32,
            flags: u32,
            name: &str,
            service_type: &str,
            domain: &str,
            host: &str,
            port: u16,
            txt: Vec<Vec<u8>>,
        ) -> zbus::Result<()>;
        fn commit(&self) -> zbus::Result<()>;
        fn reset(&self) -> zbus::Result<()>;
        fn free(&self) -> zbus::Result<()>;
        #[zbus(signal)]
        fn state_changed(&self, state: i32, error: String) -> zbus::Result<()>;
    }
}

use group::{EntryGroupProxy, StateChangedStream as GroupStates};
use server::{ServerProxy, StateChangedStream as ServerStates};

/// True when an avahi-daemon answers on the system bus within `wait`.
pub async fn available(wait: Duration) -> bool {
    let probe = async {
        let conn = zbus::Connection::system().await?;
        ServerProxy::new(&conn).await?.get_version_string().await
    };
    matches!(tokio::time::timeout(wait, probe).await, Ok(Ok(_)))
}

pub struct Published {
    group: EntryGroupProxy<'static>,
    watcher: tokio::task::JoinHandle<()>,
}

pub async fn publish(ad: Advertisement) -> Result<Published, MdnsError> {
    let conn = zbus::Connection::system().await?;
    let server = ServerProxy::new(&conn).await?;
    let version = server.get_version_string().await?;
    let group = EntryGroupProxy::builder(&conn).path(server.entry_group_new().await?)?.build().await?;
    let mut group_states = group.receive_state_changed().await?;
    let server_states = server.receive_state_changed().await?;
    let name = establish(&server, &group, &mut group_states, &ad, ad.name.clone()).await?;
    tracing::info!(%name, port = ad.port, avahi = %version, "announcing over mDNS through avahi-daemon");
    let watcher = tokio::spawn(watch(server, group.clone(), group_states, server_states, ad, name));
    Ok(Published { group, watcher })
}

/// Adds every service under `name` and commits, taking avahi's alternative name ("Shoebox #2") for
/// as long as the name is taken, on this host or on the LAN. Returns the name that was established.
async fn establish(
    server: &ServerProxy<'_>,
    group: &EntryGroupProxy<'_>,
    states: &mut GroupStates,
    ad: &Advertisement,
    mut name: String,
) -> Result<String, MdnsError> {
    'names: loop {
        for service in &ad.services {
            let txt = service.txt.iter().map(|(k, v)| format!("{k}={v}").into_bytes()).collect();
            let added =
                group.add_service(IF_UNSPEC, PROTO_UNSPEC, 0, &name, &service.service_type, "", "", ad.port, txt).await;
            match added {
                Ok(()) => {}
                // Another program on this host announces the name already: avahi says so at once
                // instead of probing the LAN.
                Err(zbus::Error::MethodError(error, _, _)) if error.as_str() == LOCAL_COLLISION => {
                    name = rename(server, group, &name).await?;
                    continue 'names;
                }
                Err(e) => return Err(e.into()),
            }
        }
        group.commit().await?;
        loop {
            let next = tokio::time::timeout(ESTABLISH_WAIT, states.next()).await;
            let Ok(Some(signal)) = next else {
                return Err(MdnsError::AvahiState("no answer from avahi-daemon while registering".into()));
            };
            let args = signal.args()?;
            match args.state {
                GROUP_ESTABLISHED => return Ok(name),
                GROUP_COLLISION => {
                    name = rename(server, group, &name).await?;
                    continue 'names;
                }
                GROUP_FAILURE => return Err(MdnsError::AvahiState(args.error)),
                _ => {}
            }
        }
    }
}

/// Empties the group and gives the name avahi suggests instead of a taken one.
async fn rename(server: &ServerProxy<'_>, group: &EntryGroupProxy<'_>, taken: &str) -> Result<String, MdnsError> {
    group.reset().await?;
    let alternative = server.get_alternative_service_name(taken).await?;
    tracing::warn!(%taken, now = %alternative, "mDNS name taken; renamed");
    Ok(alternative)
}

/// Keeps the services up after start: a conflict that appears later gets a new name, and when
/// avahi-daemon itself comes back to running (after its host name changed), everything is added again.
async fn watch(
    server: ServerProxy<'static>,
    group: EntryGroupProxy<'static>,
    mut group_states: GroupStates,
    mut server_states: ServerStates,
    ad: Advertisement,
    mut name: String,
) {
    loop {
        let collision = tokio::select! {
            Some(signal) = group_states.next() => match signal.args().map(|a| a.state) {
                Ok(GROUP_COLLISION) => true,
                _ => continue,
            },
            Some(signal) = server_states.next() => match signal.args().map(|a| a.state) {
                Ok(SERVER_RUNNING) => false,
                _ => continue,
            },
            else => return,
        };
        let again = async {
            let next = if collision {
                rename(&server, &group, &name).await?
            } else {
                group.reset().await?;
                name.clone()
            };
            establish(&server, &group, &mut group_states, &ad, next).await
        };
        match again.await {
            Ok(now) => {
                tracing::info!(%now, "mDNS services announced again");
                name = now;
            }
            Err(e) => tracing::warn!(error = %e, "re-announcing over avahi failed"),
        }
    }
}

impl Published {
    /// Frees the entry group: avahi sends the goodbye packets.
    pub async fn stop(self) {
        self.watcher.abort();
        match tokio::time::timeout(Duration::from_secs(3), self.group.free()).await {
            Ok(Ok(())) => tracing::info!("mDNS services withdrawn"),
            Ok(Err(e)) => tracing::warn!(error = %e, "withdrawing the mDNS services failed"),
            Err(_) => tracing::warn!("avahi-daemon did not answer the withdrawal in time"),
        }
    }
}
