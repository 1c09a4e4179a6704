//! The publisher task: connection, reconnection with back-off, and what is published when.

use std::collections::BTreeSet;
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, LastWill, MqttOptions, Packet, QoS,
    TlsConfiguration, Transport,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};

use crate::discovery::{Device, Topics};
use crate::{Command, CommandSink, LinkObserver, LinkState, Settings, StatusSource};

/// The state is published at most this often when it changes.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// ... and at least this often when it does not.
const REFRESH: Duration = Duration::from_secs(60);
const KEEP_ALIVE: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Room for the discovery configs, availability and state of one (re)connection.
const QUEUE: usize = 256;

/// What the publisher reads from the service and tells it.
pub struct Wiring {
    /// The state JSON, fetched when it is published.
    pub status: StatusSource,
    /// Moves whenever something the state shows changed.
    pub changes: watch::Receiver<u64>,
    pub observer: LinkObserver,
    /// Carries out commands (only called when `Settings::commands` is on).
    pub commands: CommandSink,
}

/// A running publisher; `stop` says goodbye.
pub struct Publisher {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Publisher {
    /// Starts publishing. Returns at once: connecting happens in the background.
    pub fn start(settings: Settings, device: Device, wiring: Wiring) -> Publisher {
        // rumqttc leaves the choice of rustls' crypto to the application; ring builds everywhere we
        // ship. An error only means a provider is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (stop, stopped) = watch::channel(false);
        let Wiring { status, changes, observer, commands } = wiring;
        let link = Link::new(settings, device, status, observer, commands);
        let task = tokio::spawn(link.run(changes, stopped));
        Publisher { stop, task }
    }

    /// Publishes `offline` and disconnects (when connected), within a couple of seconds.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(3), self.task).await.is_err() {
            tracing::warn!("MQTT: no clean goodbye; the broker's last will says offline");
        }
    }
}

struct Link {
    settings: Settings,
    device: Device,
    status: StatusSource,
    observer: LinkObserver,
    commands: CommandSink,
    client: AsyncClient,
    events: EventLoop,
    availability: String,
    state_topic: String,
    ha_status: String,
    /// `<prefix>/command/sync/`: a connection id follows.
    sync_command: String,
    /// The discovery topics published since the (re)connection, so an entity whose connection
    /// went away is removed (an empty retained config) and new ones are announced.
    announced: BTreeSet<String>,
}

impl Link {
    fn new(
        settings: Settings,
        device: Device,
        status: StatusSource,
        observer: LinkObserver,
        commands: CommandSink,
    ) -> Link {
        let availability = format!("{}/availability", settings.topic_prefix);
        let mut options = MqttOptions::new(&settings.client_id, &settings.broker.host, settings.broker.port);
        options.set_keep_alive(KEEP_ALIVE);
        options.set_last_will(LastWill::new(&availability, "offline", QoS::AtLeastOnce, true));
        if let Some(user) = &settings.username {
            options.set_credentials(user, settings.password.clone().unwrap_or_default());
        }
        if settings.broker.tls {
            let tls = match &settings.ca_pem {
                Some(ca) => TlsConfiguration::Simple { ca: ca.clone(), alpn: None, client_auth: None },
                None => TlsConfiguration::default(),
            };
            options.set_transport(Transport::tls_with_config(tls));
        }
        let (client, events) = AsyncClient::new(options, QUEUE);
        Link {
            state_topic: format!("{}/state", settings.topic_prefix),
            ha_status: format!("{}/status", settings.discovery_prefix),
            sync_command: format!("{}/command/sync/", settings.topic_prefix),
            settings,
            device,
            status,
            observer,
            commands,
            client,
            events,
            availability,
            announced: BTreeSet::new(),
        }
    }

    async fn run(mut self, mut changes: watch::Receiver<u64>, mut stop: watch::Receiver<bool>) {
        let mut connected = false;
        let mut backoff = Duration::from_secs(1);
        let mut last_state = Instant::now() - MIN_INTERVAL;
        let mut due: Option<Instant> = None;
        let mut refresh = tokio::time::interval(REFRESH);
        (self.observer)(LinkState::Connecting);
        loop {
            tokio::select! {
                event = self.events.poll() => match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        connected = true;
                        backoff = Duration::from_secs(1);
                        tracing::info!(broker = %self.settings.broker.host, "MQTT connected");
                        (self.observer)(LinkState::Connected);
                        self.announce().await;
                        last_state = Instant::now();
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) if p.topic == self.ha_status && p.payload.as_ref() == b"online" => {
                        // Home Assistant restarted: it needs the configs (and a fresh state) again.
                        self.announce().await;
                        last_state = Instant::now();
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) if self.settings.commands && p.topic.starts_with(&self.sync_command) => {
                        match p.topic[self.sync_command.len()..].parse::<i64>() {
                            Ok(id) => {
                                tracing::info!(connection = id, "MQTT: sync now");
                                (self.commands)(Command::SyncNow(id));
                            }
                            Err(_) => tracing::warn!(topic = %p.topic, "MQTT: a command for no connection"),
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        connected = false;
                        let state = describe(&e);
                        tracing::warn!(error = %e, retry_in = ?backoff, "MQTT: {}", state_text(&state));
                        (self.observer)(state);
                        tokio::select! {
                            () = sleep(backoff) => {}
                            _ = stop.changed() => return,
                        }
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        (self.observer)(LinkState::Connecting);
                    }
                },
                Ok(()) = changes.changed() => {
                    // Coalesce bursts: at most one state a second.
                    due.get_or_insert(last_state + MIN_INTERVAL);
                }
                () = sleep_until_due(due) => {
                    due = None;
                    if connected {
                        self.publish_state().await;
                        last_state = Instant::now();
                    }
                }
                _ = refresh.tick() => {
                    if connected {
                        self.publish_state().await;
                        last_state = Instant::now();
                    }
                }
                _ = stop.changed() => break,
            }
        }
        if connected {
            self.goodbye().await;
        }
    }

    /// Everything a (re)connection needs: subscriptions, availability, discovery, state.
    async fn announce(&mut self) {
        if let Err(e) = self.client.try_subscribe(&self.ha_status, QoS::AtLeastOnce) {
            tracing::warn!(error = %e, "MQTT: cannot subscribe to Home Assistant's status");
        }
        if self.settings.commands {
            if let Err(e) = self.client.try_subscribe(format!("{}+", self.sync_command), QoS::AtLeastOnce) {
                tracing::warn!(error = %e, "MQTT: cannot subscribe to commands");
            }
        }
        self.publish(&self.availability.clone(), b"online".to_vec());
        self.announced.clear();
        self.publish_state().await;
    }

    /// The state, and first the discovery configs when the entities changed (a connection came or
    /// went) or were never sent on this connection.
    async fn publish_state(&mut self) {
        let Some(state) = (self.status)().await else {
            tracing::warn!("MQTT: the status could not be read; not published");
            return;
        };
        let topics = Topics {
            device: &self.device,
            topic_prefix: &self.settings.topic_prefix,
            discovery_prefix: &self.settings.discovery_prefix,
        };
        let configs = topics.configs(Some(&state), self.settings.commands);
        let now: BTreeSet<String> = configs.iter().map(|(topic, _)| topic.clone()).collect();
        if now != self.announced || now.is_empty() {
            for gone in self.announced.difference(&now) {
                self.publish(gone, Vec::new());
            }
            for (topic, config) in &configs {
                self.publish(topic, config.to_string().into_bytes());
            }
            self.announced = now;
        }
        let topic = self.state_topic.clone();
        self.publish(&topic, state.to_string().into_bytes());
    }

    /// Queues a retained message; never waits (the event loop is polled by this same task).
    fn publish(&self, topic: &str, payload: Vec<u8>) {
        if let Err(e) = self.client.try_publish(topic, QoS::AtLeastOnce, true, payload) {
            tracing::warn!(error = %e, topic, "MQTT: message dropped");
        }
    }

    /// `offline` from us rather than from the will, then a clean disconnect, driven to the socket.
    async fn goodbye(mut self) {
        self.publish(&self.availability.clone(), b"offline".to_vec());
        let _ = self.client.try_disconnect();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            match tokio::time::timeout_at(deadline, self.events.poll()).await {
                Ok(Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect))) | Ok(Err(_)) | Err(_) => break,
                Ok(Ok(_)) => {}
            }
        }
        tracing::info!("MQTT: said offline and disconnected");
    }
}

async fn sleep_until_due(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn describe(e: &ConnectionError) -> LinkState {
    match e {
        ConnectionError::ConnectionRefused(ConnectReturnCode::BadUserNamePassword) => {
            LinkState::Refused("the broker refused the user name or password".into())
        }
        ConnectionError::ConnectionRefused(ConnectReturnCode::NotAuthorized) => {
            LinkState::Refused("the broker refused the login: not authorised (check user name and password)".into())
        }
        other => LinkState::Down(other.to_string()),
    }
}

fn state_text(state: &LinkState) -> &str {
    match state {
        LinkState::Refused(why) | LinkState::Down(why) => why,
        LinkState::Connecting => "connecting",
        LinkState::Connected => "connected",
    }
}
