//! Shoebox's domain: the catalogue, the library and its ingest path, accounts, workspaces, events and
//! tags. Synchronous and free of HTTP; async callers run it on a blocking pool.

pub mod accounts;
pub mod assets;
pub mod audit;
pub mod catalogue;
pub mod doctor;
pub mod error;
pub mod events;
pub mod ingest;
pub mod model;
pub mod policy;
pub mod settings;
pub mod summary;
pub mod tags;
#[cfg(test)]
mod testing;
pub mod thumbs;
pub mod tokens;
pub mod tree;
pub mod uploads;
pub mod workspaces;

pub use catalogue::Catalogue;
pub use error::{CoreError, Result};
pub use ingest::{IngestRequest, Library, Place};
pub use rusqlite;
