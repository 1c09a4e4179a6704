//! End-to-end tests: each starts real shoeboxd processes and talks HTTP to them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod bad_input;
mod browse;
mod client;
mod crash;
mod discovery;
mod disk_full;
mod isolation;
mod mqtt;
mod netns;
mod policy;
mod pull;
mod resumable;
mod support;
mod sync;
mod systemd;
mod thumbnails;
mod upload;
mod webapp;
mod webapp_api_key;
mod webapp_integrations;
mod webdav;
