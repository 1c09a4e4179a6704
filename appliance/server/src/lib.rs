//! Shoebox's HTTP API: REST v1, tus resumable uploads, authentication. This crate alone turns errors
//! into HTTP statuses and stable error codes.

pub mod auth;
pub mod dav;
mod drain;
pub mod error;
pub mod extract;
mod header_limit;
pub mod policy;
pub mod routes;
pub mod state;
mod thumbnailer;
mod webui;

pub use routes::router;
pub use routes::tus::spawn_sweeper;
pub use state::{AppState, Settings};
pub use thumbnailer::spawn_thumbnailer;
