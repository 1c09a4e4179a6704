//! The client's one error type. `anyhow` appears only in main.rs.

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("not signed in: run `shoebox login` first")]
    NotLoggedIn,
    #[error("no Shoebox answered on the network; pass --server http://ADDRESS:PORT")]
    NoBoxFound,
    #[error("several boxes answered ({0}); pass --server with the one you mean")]
    SeveralBoxes(String),
    #[error("cannot reach {url}: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the box answered {status} ({code}): {message}")]
    Api { status: u16, code: String, message: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("transfer state database: {0}")]
    State(#[from] rusqlite::Error),
    #[error("{0}")]
    Wifi(String),
    #[error("discovery: {0}")]
    Discovery(#[from] shoebox_mdns::MdnsError),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

impl ClientError {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClientError {
        let context = context.into();
        move |source| ClientError::Io { context, source }
    }

    /// Worth trying again after a pause: the network, the box restarting, the box busy.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Http { .. } => true,
            ClientError::Api { status, .. } => *status >= 500 && *status != 507 || matches!(*status, 408 | 423 | 429),
            _ => false,
        }
    }

    /// Ends the whole push, not just one file: every other file would get the same answer.
    pub fn stops_the_push(&self) -> bool {
        match self {
            ClientError::Api { status, code, .. } => {
                matches!(*status, 401 | 507) || code.starts_with("upload_") || code == "access_network_not_allowed"
            }
            _ => false,
        }
    }
}
