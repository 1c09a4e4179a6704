//! `shoeboxd serve`: recover from any crash, then serve until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use shoebox_core::{accounts, policy, settings};
use shoebox_mdns::{Advertisement, Advertiser};
use shoebox_server::{AppState, Settings};

use crate::config::Config;
use crate::open::open;

/// How long a shutdown waits for requests in flight (a long upload resumes later anyway).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub async fn serve(config: Config) -> anyhow::Result<()> {
    // Registered first: a SIGTERM while the box is still starting (systemd stops it at any time)
    // is then a clean stop once startup is through, not the default kill.
    let shutdown = shutdown_signal();
    let setup_config = config.clone();
    let (opened, setup_code, stored_policy, device_id) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let opened = open(&setup_config)?;
        let report = opened.library.recover(&opened.catalogue).context("recovering the library")?;
        if report != Default::default() {
            tracing::info!(?report, "recovered from an interrupted run");
        }
        shoebox_server::routes::tus::sweep(&opened.catalogue, &opened.library).context("sweeping uploads")?;
        let needs_setup = !opened.catalogue.read(accounts::admin_exists)?;
        let code = if needs_setup { Some(setup_code()?) } else { None };
        let stored_policy = opened.catalogue.read(policy::load_stored)?;
        let device_id = opened.catalogue.write(|tx| settings::device_id(tx))?;
        Ok((opened, code, stored_policy, device_id))
    })
    .await??;

    if let Some(code) = &setup_code {
        tracing::warn!("no admin yet: open the web app and create one with the first-run setup code: {code}");
    }
    let settings = Settings {
        device_name: config.device_name.clone(),
        device_id: device_id.clone(),
        api_key: config.server.api_key.as_ref().map(|k| k.0.clone()),
        max_json_bytes: config.server.max_json_bytes,
        session_ttl: Duration::from_secs(config.auth.session_ttl_days * 86_400),
        resumable_expiry: Duration::from_secs(config.upload.resumable_expiry_secs),
        trusted_proxies: config.server.trusted_proxies.clone(),
        configured_policy: config.network_policy(),
        dav_keep_other_files: config.webdav.keep_other_files,
    };
    if stored_policy.is_some() {
        tracing::info!("network policy: the one an admin set through the API (it overrides [upload]/[access])");
    }
    let sync = std::sync::Arc::new(
        shoebox_sync::Engine::start(opened.catalogue.clone(), opened.library.clone(), config.sync.clone())
            .await
            .context("starting the cloud connections")?,
    );
    let state = AppState::new(opened.catalogue, opened.library, settings, stored_policy, setup_code, sync.clone());
    let sweeper = shoebox_server::spawn_sweeper(state.clone());
    let thumbnailer = shoebox_server::spawn_thumbnailer(state.clone());
    // A connection's state or queue moved: the status (and MQTT) shows it.
    let sync_changes = {
        let (mut changes, state) = (sync.subscribe(), state.clone());
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                state.stats.changed();
            }
        })
    };
    let app = shoebox_server::router(state.clone());

    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("listening on {}", config.server.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, version = env!("CARGO_PKG_VERSION"), "shoebox listening");
    let webdav = format!("/dav/{}/", shoebox_core::workspaces::DEFAULT_SLUG);
    let ad =
        Advertisement::shoebox(&config.device_name, address.port(), &device_id, env!("CARGO_PKG_VERSION"), &webdav);
    let advertiser = match Advertiser::start(config.discovery.backend, ad).await {
        Ok(advertiser) => advertiser,
        Err(e) => {
            // Discovery is a convenience: the box still serves everyone who knows its address.
            tracing::warn!(error = %e, "mDNS discovery is off for this run");
            Advertiser::Off
        }
    };

    // MQTT connects in the background: a broker that is down never delays or stops the service.
    let publisher = match &config.mqtt {
        Some(mqtt) => Some(crate::mqtt::start(mqtt, &state, &config.device_name, address.port())?),
        None => None,
    };

    let watchdog = crate::systemd::spawn_watchdog(state.clone());
    if let Some(period) = crate::systemd::watchdog_period() {
        tracing::info!(?period, "systemd watchdog on");
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(
        async move {
            let mut rx = stop_rx;
            let _ = rx.wait_for(|stop| *stop).await;
        },
    );
    let mut server = std::pin::pin!(std::future::IntoFuture::into_future(server));
    crate::systemd::ready();
    tokio::select! {
        result = &mut server => result?,
        () = shutdown => {
            tracing::info!("shutting down");
            crate::systemd::stopping();
            // Withdraw first, so no client finds a box that is going away.
            advertiser.stop().await;
            let _ = stop_tx.send(true);
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await.is_err() {
                tracing::warn!("requests still running after {SHUTDOWN_GRACE:?}; stopping anyway");
            }
        }
    }
    sweeper.abort();
    thumbnailer.abort();
    sync_changes.abort();
    sync.stop();
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    if let Some(publisher) = publisher {
        publisher.stop().await;
    }
    Ok(())
}

/// SIGTERM or SIGINT, both taken over from their default (kill) when this is called, not when
/// the future is first polled.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    let listen = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| tracing::warn!(error = %e, "cannot listen for {name}")).ok()
    };
    let (term, int) = (listen(SignalKind::terminate(), "SIGTERM"), listen(SignalKind::interrupt(), "SIGINT"));
    async fn received(signal: Option<Signal>) {
        match signal {
            Some(mut signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    async move {
        tokio::select! {
            () = received(term) => {}
            () = received(int) => {}
        }
    }
}

/// Eight characters from an alphabet without look-alikes (no 0/O, 1/I), shown as XXXX-XXXX.
fn setup_code() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
    let chars: String = bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    Ok(format!("{}-{}", &chars[..4], &chars[4..]))
}
