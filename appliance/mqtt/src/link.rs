//! The publisher task: connection, reconnection with back-off, and what is published when.

use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, LastWill, MqttOptions, Packet, QoS,
    TlsConfiguration, Transport,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};

use crate::discovery::{self, Device};
use crate::{LinkObserver, LinkState, Settings, StatusSource};

/// The state is published at most this often when it changes.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// ... and at least this often when it does not.
const REFRESH: Duration = Duration::from_secs(60);
const KEEP_ALIVE: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Room for the discovery configs, availability and state of one (re)connection.
const QUEUE: usize = 64;

/// A running publisher; `stop` says goodbye.
pub struct Publisher {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Publisher {
    /// Starts publishing. Returns at once: connecting happens in the background.
    pub fn start(
        settings: Settings,
        device: Device,
        status: StatusSource,
        changes: watch::Receiver<u64>,
        observer: LinkObserver,
    ) -> Publisher {
        // rumqttc leaves the choice of rustls' crypto to the application; ring builds everywhere we
        // ship. An error only means a provider is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (stop, stopped) = watch::channel(false);
        let link = Link::new(settings, device, status, observer);
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
    client: AsyncClient,
    events: EventLoop,
    availability: String,
    state_topic: String,
    ha_status: String,
}

impl Link {
    fn new(settings: Settings, device: Device, status: StatusSource, observer: LinkObserver) -> Link {
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
            settings,
            device,
            status,
            observer,
            client,
            events,
            availability,
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
        self.publish(&self.availability.clone(), b"online".to_vec());
        for (topic, config) in
            discovery::configs(&self.device, &self.settings.topic_prefix, &self.settings.discovery_prefix)
        {
            self.publish(&topic, config.to_string().into_bytes());
        }
        self.publish_state().await;
    }

    async fn publish_state(&mut self) {
        match (self.status)().await {
            Some(state) => {
                let topic = self.state_topic.clone();
                self.publish(&topic, state.to_string().into_bytes());
            }
            None => tracing::warn!("MQTT: the status could not be read; not published"),
        }
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
