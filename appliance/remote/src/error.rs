//! What can go wrong talking to a cloud drive, already sorted into what the caller should do about
//! it. Providers classify from status codes and typed error fields (S3's `<Code>`, Dropbox's
//! `.tag`, Graph's `error.code`), never from message text, which providers reword at will.

use std::time::Duration;

/// What the caller (the pacer, then the sync engine) does with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again: a rate limit, a server error, a cut connection. `after` is the provider's
    /// `Retry-After` when it gave one, which the pacer obeys over its own back-off.
    Retry { after: Option<Duration> },
    /// The account's credentials no longer work (revoked, expired refresh token, wrong key):
    /// nothing will succeed until the owner reconnects it.
    NeedsReconnect,
    /// The file or folder is not there.
    NotFound,
    /// Something is in the way (a file where a folder should be, a name taken, an upload session
    /// that the provider forgot).
    Conflict,
    /// Will not succeed by trying again: a bad request, a missing bucket, a file too large.
    Fatal,
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// An answer from the provider, with its own error code where it gives one.
    #[error("{provider} answered {status}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Provider { provider: &'static str, status: u16, code: Option<String>, message: String, class: ErrorClass },
    /// No answer: connection refused or cut, timeout, a body that ended early.
    #[error("network: {0}")]
    Network(String),
    /// The bytes the provider holds (or sent) are not the bytes we have.
    #[error("{what}: the provider's {kind} is {remote}, ours is {local}")]
    HashMismatch { what: String, kind: &'static str, remote: String, local: String },
    /// An answer we could not read (not the documented shape).
    #[error("{provider}: unreadable answer: {detail}")]
    Protocol { provider: &'static str, detail: String },
    #[error("local file {path}: {source}")]
    Local { path: String, source: std::io::Error },
    #[error("invalid remote path {0:?}: {1}")]
    InvalidPath(String, &'static str),
    #[error("configuration: {0}")]
    Config(String),
}

impl RemoteError {
    pub fn class(&self) -> ErrorClass {
        match self {
            RemoteError::Provider { class, .. } => *class,
            RemoteError::Network(_) => ErrorClass::Retry { after: None },
            // A corrupted transfer is worth one more try; the pacer bounds how many.
            RemoteError::HashMismatch { .. } => ErrorClass::Retry { after: None },
            RemoteError::Protocol { .. }
            | RemoteError::Local { .. }
            | RemoteError::InvalidPath(..)
            | RemoteError::Config(_) => ErrorClass::Fatal,
        }
    }

    /// The same provider answer, handled as `class` (a 401 is a retry once the token was refreshed).
    pub(crate) fn with_class(self, class: ErrorClass) -> Self {
        match self {
            RemoteError::Provider { provider, status, code, message, .. } => {
                RemoteError::Provider { provider, status, code, message, class }
            }
            other => other,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.class() == ErrorClass::NotFound
    }

    pub(crate) fn local(path: &std::path::Path, source: std::io::Error) -> Self {
        RemoteError::Local { path: path.display().to_string(), source }
    }
}

impl From<reqwest::Error> for RemoteError {
    fn from(e: reqwest::Error) -> Self {
        // Without the URL: presigned URLs carry their signature in the query.
        RemoteError::Network(e.without_url().to_string())
    }
}

/// The class of an HTTP status when the provider's typed error says nothing more specific.
pub fn class_of_status(status: u16, retry_after: Option<Duration>) -> ErrorClass {
    match status {
        429 | 500 | 502 | 503 | 504 | 408 => ErrorClass::Retry { after: retry_after },
        401 => ErrorClass::NeedsReconnect,
        404 | 410 => ErrorClass::NotFound,
        409 | 412 => ErrorClass::Conflict,
        _ => ErrorClass::Fatal,
    }
}

/// A success passes through; an error answer becomes the provider's classified error, made by
/// `classify` from the status, the body and `Retry-After`.
pub(crate) async fn check_answer(
    response: reqwest::Response,
    classify: impl FnOnce(u16, &str, Option<Duration>) -> RemoteError,
) -> Result<reqwest::Response, RemoteError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let after = retry_after(response.headers());
    // HEAD answers have no body; the status alone decides then.
    let body = response.text().await.unwrap_or_default();
    Err(classify(status.as_u16(), &body, after))
}

/// `Retry-After` as seconds (the form every provider here sends; an HTTP date is ignored).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}
