//! Wiring of the MQTT status publisher: settings from `[mqtt]`, the status API's snapshot as the
//! state, and the link's state back into the status API.

use std::sync::Arc;

use anyhow::Context;
use futures_util::FutureExt;
use shoebox_mqtt::{Broker, Command, Device, LinkState, Publisher, Settings, Wiring};
use shoebox_server::state::MqttLink;
use shoebox_server::AppState;

use crate::config::MqttConfig;

pub fn start(config: &MqttConfig, state: &AppState, device_name: &str, port: u16) -> anyhow::Result<Publisher> {
    let device_id = state.settings.device_id.clone();
    let read = |path: &std::path::Path, what: &str| {
        std::fs::read(path).with_context(|| format!("reading the MQTT {what} {}", path.display()))
    };
    let password = match &config.password_file {
        Some(path) => Some(String::from_utf8_lossy(&read(path, "password file")?).trim_end().to_string()),
        None => None,
    };
    let ca_pem = config.ca_file.as_deref().map(|path| read(path, "CA file")).transpose()?;
    let settings = Settings {
        broker: Broker::parse(&config.broker)?,
        username: config.username.clone(),
        password,
        ca_pem,
        client_id: config.client_id.clone().unwrap_or_else(|| format!("shoebox-{device_id}")),
        topic_prefix: config.topic_prefix.clone().unwrap_or_else(|| format!("shoebox/{device_id}")),
        discovery_prefix: config.discovery_prefix.clone(),
        commands: config.commands,
    };
    // The web app as the LAN knows the box: its mDNS host name.
    let host = rustix::system::uname().nodename().to_string_lossy().into_owned();
    let device = Device {
        id: device_id,
        name: device_name.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        configuration_url: Some(format!("http://{host}.local:{port}/")),
    };
    let source_state = state.clone();
    let status: shoebox_mqtt::StatusSource = Arc::new(move || {
        let state = source_state.clone();
        async move {
            match shoebox_server::routes::status::snapshot(&state).await {
                Ok(status) => serde_json::to_value(status).ok(),
                Err(e) => {
                    tracing::warn!(code = e.code, "status for MQTT");
                    None
                }
            }
        }
        .boxed()
    });
    let observed_state = state.clone();
    let observer: shoebox_mqtt::LinkObserver = Arc::new(move |link: LinkState| {
        let (state, error) = match link {
            LinkState::Connecting => ("connecting", None),
            LinkState::Connected => ("connected", None),
            LinkState::Refused(why) => ("refused", Some(why)),
            LinkState::Down(why) => ("down", Some(why)),
        };
        observed_state.stats.set_mqtt(Some(MqttLink { state, error }));
    });
    let engine = state.sync.clone();
    let commands: shoebox_mqtt::CommandSink = Arc::new(move |command| match command {
        Command::SyncNow(id) => {
            let engine = engine.clone();
            tokio::spawn(async move {
                if let Err(e) = engine.sync_now(id).await {
                    tracing::warn!(connection = id, error = %e, "MQTT sync now");
                }
            });
        }
    });
    let wiring = Wiring { status, changes: state.stats.subscribe(), observer, commands };
    Ok(Publisher::start(settings, device, wiring))
}
