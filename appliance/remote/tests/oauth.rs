//! The OAuth flows against the fake authorization server (`shoebox-fakes`): device code with
//! approval, denial and expiry; PKCE with a pasted code or redirect URL; refresh once under
//! concurrency; revocation turning the connection into "needs reconnect".

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use shoebox_fakes::FakeServer;
use shoebox_remote::graph::DriveSelector;
use shoebox_remote::oauth::{
    token_http, CodeFlow, DeviceFlow, Endpoints, FileTokenStore, GoogleScope, OAuthSettings, TokenSource, Tokens,
};
use shoebox_remote::ErrorClass;

async fn fakes() -> FakeServer {
    FakeServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn settings(fakes: &FakeServer, provider: &'static str) -> OAuthSettings {
    let client_id = format!("{provider}-client-id");
    let endpoints = Endpoints::below(&fakes.url(""), provider);
    match provider {
        "google" => OAuthSettings::google(client_id, endpoints, GoogleScope::DriveFile),
        "dropbox" => OAuthSettings::dropbox(client_id, endpoints),
        "microsoft" => OAuthSettings::microsoft(client_id, endpoints, &DriveSelector::Me),
        other => panic!("the OAuth fake has no {other}"),
    }
}

fn code_of(e: &shoebox_remote::RemoteError) -> Option<String> {
    match e {
        shoebox_remote::RemoteError::Provider { code, .. } => code.clone(),
        _ => None,
    }
}

#[tokio::test]
async fn device_flow_waits_for_the_owner_then_gets_tokens() {
    for provider in ["google", "microsoft"] {
        let fakes = fakes().await;
        let start = DeviceFlow::start(&settings(&fakes, provider), token_http().unwrap()).await.unwrap();
        // The provider's page where the owner types the code (the fake serves one).
        assert_eq!(start.verification_url, fakes.url(&format!("/oauth/{provider}/verify")), "{provider}");
        assert_eq!(start.user_code.len(), 9);
        let oauth = fakes.oauth.clone();
        let code = start.user_code.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            assert!(oauth.approve(&code));
        });
        let tokens = start.flow.finish().await.unwrap();
        assert!(tokens.refresh.is_some() && tokens.expires_at.is_some());
        // Pending answers came first (Google's with 428): the client read the error field.
        assert!(fakes.oauth.device_polls() >= 2, "{provider}: {} polls", fakes.oauth.device_polls());
    }
}

#[tokio::test]
async fn device_flow_denied_or_expired_needs_a_new_start() {
    let fakes = fakes().await;
    let start = DeviceFlow::start(&settings(&fakes, "microsoft"), token_http().unwrap()).await.unwrap();
    assert!(fakes.oauth.deny(&start.user_code));
    let err = start.flow.finish().await.unwrap_err();
    assert_eq!((err.class(), code_of(&err).as_deref()), (ErrorClass::NeedsReconnect, Some("access_denied")));

    fakes.oauth.set_device_ttl(Duration::from_secs(2));
    let start = DeviceFlow::start(&settings(&fakes, "google"), token_http().unwrap()).await.unwrap();
    let err = start.flow.finish().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::NeedsReconnect, "{err}");
}

/// The fake answers `slow_down` to a client that polls faster than the interval (RFC 8628 §3.5).
#[tokio::test]
async fn polling_too_fast_is_told_to_slow_down() {
    let fakes = fakes().await;
    let http = reqwest::Client::new();
    let started: serde_json::Value = http
        .post(fakes.url("/oauth/microsoft/device"))
        .form(&[("client_id", "c"), ("scope", "Files.ReadWrite")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let device_code = started["device_code"].as_str().unwrap();
    let poll = || async {
        let r = http
            .post(fakes.url("/oauth/microsoft/token"))
            .form(&[
                ("client_id", "c"),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code),
            ])
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = r.json().await.unwrap();
        body["error"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(poll().await, "authorization_pending");
    assert_eq!(poll().await, "slow_down");
}

#[tokio::test]
async fn pkce_with_a_pasted_code_or_redirect_url() {
    let fakes = fakes().await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // Dropbox: no redirect; the page shows the code.
    let start = CodeFlow::start(&settings(&fakes, "dropbox"), None, token_http().unwrap()).unwrap();
    assert!(start.authorize_url.contains("code_challenge_method=S256"), "{}", start.authorize_url);
    assert!(start.authorize_url.contains("token_access_type=offline"));
    let page = browser.get(&start.authorize_url).send().await.unwrap().text().await.unwrap();
    let code = page.split("<code id=\"code\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let tokens = start.flow.finish(&format!("  {code}\n")).await.unwrap();
    assert!(tokens.refresh.is_some());

    // Google with a loopback redirect: the owner pastes the address the browser ended at.
    let start =
        CodeFlow::start(&settings(&fakes, "google"), Some("http://127.0.0.1:1/"), token_http().unwrap()).unwrap();
    let answer = browser.get(&start.authorize_url).send().await.unwrap();
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    assert!(start.flow.finish(&location).await.is_ok());

    // A redirect URL from another sign-in (its state differs) is refused before any request.
    let start =
        CodeFlow::start(&settings(&fakes, "google"), Some("http://127.0.0.1:1/"), token_http().unwrap()).unwrap();
    assert!(start.flow.finish(&location).await.is_err());
}

async fn connected(fakes: &FakeServer, dir: &std::path::Path) -> (Arc<TokenSource>, std::path::PathBuf) {
    let start = DeviceFlow::start(&settings(fakes, "google"), token_http().unwrap()).await.unwrap();
    assert!(fakes.oauth.approve(&start.user_code));
    let tokens = start.flow.finish().await.unwrap();
    let path = dir.join("tokens.json");
    let store = Arc::new(FileTokenStore::new(path.clone()));
    let source = TokenSource::new(settings(fakes, "google"), token_http().unwrap(), tokens, store);
    (Arc::new(source), path)
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_by_many_requests() {
    let fakes = fakes().await;
    let dir = tempfile::tempdir().unwrap();
    let (source, path) = connected(&fakes, dir.path()).await;
    let before = source.access_token().await.unwrap();
    assert_eq!(fakes.oauth.refreshes(), 0);

    // Every request sees a 401 with the same old token at once.
    fakes.oauth.expire_access_tokens();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (source, before) = (source.clone(), before.clone());
        tasks.push(tokio::spawn(async move { source.rejected(&before).await }));
    }
    let mut fresh = Vec::new();
    for t in tasks {
        fresh.push(t.await.unwrap().unwrap());
    }
    assert!(fresh.iter().all(|t| *t == fresh[0] && *t != before));
    assert_eq!(fakes.oauth.refreshes(), 1, "one refresh for twenty requests");

    // Saved, readable only by the box's user, and the secrets never print.
    let saved: Tokens = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(saved.access, fresh[0]);
    assert!(saved.refresh.is_some(), "the refresh token is kept when the provider sends no new one");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!format!("{saved:?}").contains(fresh[0].expose()));
}

#[tokio::test]
async fn a_revoked_grant_needs_reconnect_and_stops_asking() {
    let fakes = fakes().await;
    let dir = tempfile::tempdir().unwrap();
    let (source, _) = connected(&fakes, dir.path()).await;
    let token = source.access_token().await.unwrap();
    fakes.oauth.revoke_all();
    let err = source.rejected(&token).await.unwrap_err();
    assert_eq!((err.class(), code_of(&err).as_deref()), (ErrorClass::NeedsReconnect, Some("invalid_grant")));
    assert!(source.needs_reconnect());
    // No more refresh attempts until the owner reconnects.
    assert_eq!(source.rejected(&token).await.unwrap_err().class(), ErrorClass::NeedsReconnect);
    assert!(source.access_token().await.is_err());
    assert_eq!(fakes.oauth.refresh_requests(), 1);
}
