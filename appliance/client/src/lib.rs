//! The `shoebox` client as a library: find boxes, sign in, push a folder with per-file transfer
//! states. The binary (`main.rs`) is a thin command line over it; the tests reuse it.

pub mod api;
pub mod credentials;
pub mod error;
pub mod progress;
pub mod push;
pub mod scan;
pub mod transfers;
pub mod wifi;

pub use error::{ClientError, Result};

/// `$XDG_DATA_HOME/shoebox/transfers.sqlite` (or the platform's equivalent).
pub fn default_transfers_path() -> Result<std::path::PathBuf> {
    dirs::data_dir()
        .map(|d| d.join("shoebox").join("transfers.sqlite"))
        .ok_or_else(|| ClientError::Invalid("no data directory (is HOME set?)".into()))
}
