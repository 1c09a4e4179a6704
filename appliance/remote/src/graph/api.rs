//! Graph's wire types and errors, and every API request sent with a current access token: a 401
//! makes the token source refresh (once for all callers) and the pacer try again. Errors are
//! classed by `error.code` and the status, never by the message.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::Deserialize;

use super::Graph;
use crate::error::{check_answer, class_of_status, ErrorClass, RemoteError};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DriveItem {
    pub id: String,
    /// Business and SharePoint leave it out of deleted items in delta.
    pub name: Option<String>,
    /// Personal OneDrive leaves it out of deleted items in delta.
    pub size: Option<u64>,
    pub last_modified_date_time: Option<String>,
    pub parent_reference: Option<ItemReference>,
    pub file: Option<FileFacet>,
    pub folder: Option<serde_json::Value>,
    pub root: Option<serde_json::Value>,
    pub deleted: Option<serde_json::Value>,
    #[serde(rename = "@microsoft.graph.downloadUrl")]
    pub download_url: Option<String>,
}

impl DriveItem {
    pub fn is_folder(&self) -> bool {
        self.folder.is_some() || self.root.is_some()
    }

    pub fn quickxor(&self) -> Option<&str> {
        self.file.as_ref()?.hashes.as_ref()?.quick_xor_hash.as_deref()
    }

    pub fn parent_id(&self) -> Option<&str> {
        self.parent_reference.as_ref()?.id.as_deref()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ItemReference {
    pub id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct FileFacet {
    pub hashes: Option<Hashes>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Hashes {
    pub quick_xor_hash: Option<String>,
}

/// A page of children or of delta.
#[derive(Deserialize)]
pub(super) struct ItemPage {
    #[serde(default)]
    pub value: Vec<DriveItem>,
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    pub delta_link: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Identified {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Listed<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
}

/// Why OneDrive and SharePoint would refuse `name` for a file or folder, if they would
/// ("Restrictions and limitations in OneDrive and SharePoint"). Refused here, before anything is
/// sent, because Graph answers these inconsistently (400 `invalidRequest`, `nameAlreadyExists`
/// for a reserved name, or a path cut at the `:`) and none of them is something a retry can fix.
pub(super) fn refused_name(name: &str) -> Option<&'static str> {
    const CHARACTERS: &[char] = &['"', '*', ':', '<', '>', '?', '/', '\\', '|'];
    const RESERVED: &[&str] = &["con", "prn", "aux", "nul", ".lock", "desktop.ini"];
    let lower = name.to_lowercase();
    // COM0-COM9 and LPT0-LPT9: Microsoft's list includes the 0s.
    let device = |prefix: &str| {
        lower.strip_prefix(prefix).is_some_and(|n| n.len() == 1 && n.bytes().all(|b| b.is_ascii_digit()))
    };
    if name.contains(CHARACTERS) {
        Some("a character OneDrive refuses (\" * : < > ? / \\ |)")
    } else if name.starts_with(' ') || name.ends_with(' ') {
        Some("a name OneDrive refuses: a leading or trailing space")
    } else if name.ends_with('.') {
        Some("a name OneDrive refuses: ending with '.'")
    } else if RESERVED.contains(&lower.as_str()) || device("com") || device("lpt") {
        Some("a name OneDrive reserves (CON, PRN, AUX, NUL, COM0-9, LPT0-9, .lock, desktop.ini)")
    } else if name.starts_with("~$") {
        Some("a name OneDrive refuses: starting with ~$ (Office's lock files)")
    } else if lower.contains("_vti_") {
        Some("a name OneDrive refuses: _vti_ (SharePoint's own)")
    } else {
        None
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorInner,
}

#[derive(Deserialize)]
struct ErrorInner {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// Graph's error body `{"error":{"code","message","innerError"}}`, classed by `code`, else status.
pub(super) fn graph_error(provider: &'static str, status: u16, body: &str, after: Option<Duration>) -> RemoteError {
    let parsed: Option<ErrorBody> = serde_json::from_str(body).ok();
    let code = parsed.as_ref().map(|b| b.error.code.clone()).filter(|c| !c.is_empty());
    let message = parsed.map(|b| b.error.message).unwrap_or_else(|| format!("HTTP {status}"));
    let class = match code.as_deref() {
        Some("itemNotFound") => ErrorClass::NotFound,
        Some("nameAlreadyExists") => ErrorClass::Conflict,
        Some("activityLimitReached" | "serviceNotAvailable") => ErrorClass::Retry { after },
        Some("quotaLimitReached" | "insufficientStorage") => ErrorClass::Fatal,
        _ => match status {
            // Bandwidth exceeded (SharePoint), retried as rclone does.
            509 => ErrorClass::Retry { after },
            507 => ErrorClass::Fatal,
            _ => class_of_status(status, after),
        },
    };
    RemoteError::Provider { provider, status, code, message, class }
}

/// A success passes through; an error answer becomes the classified error.
pub(super) async fn check(
    provider: &'static str,
    response: reqwest::Response,
) -> Result<reqwest::Response, RemoteError> {
    check_answer(response, |status, body, after| graph_error(provider, status, body, after)).await
}

/// Like [`check`], for a pre-authenticated URL (a download URL): a 401 or 403 there means the URL
/// lapsed (they last about an hour), not that the account's sign-in did, so it is a conflict to
/// resolve with a fresh URL, never a reason to ask the owner to reconnect.
pub(super) async fn check_preauthenticated(
    provider: &'static str,
    response: reqwest::Response,
) -> Result<reqwest::Response, RemoteError> {
    check_answer(response, |status, body, after| {
        let error = graph_error(provider, status, body, after);
        match status {
            401 | 403 => error.with_class(ErrorClass::Conflict),
            _ => error,
        }
    })
    .await
}

pub(super) async fn read_json<T: serde::de::DeserializeOwned>(
    provider: &'static str,
    response: reqwest::Response,
) -> Result<T, RemoteError> {
    let text = response.text().await?;
    serde_json::from_str(&text).map_err(|e| RemoteError::Protocol { provider, detail: format!("{e}: {text:.200}") })
}

impl Graph {
    /// Sends the request `build` makes with the current token and reads the answer with `read`,
    /// both inside the pacer, so a body cut while being read is retried too.
    pub(super) async fn request<T, Fut>(
        &self,
        what: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
        read: impl Fn(reqwest::Response) -> Fut,
    ) -> Result<T, RemoteError>
    where
        Fut: std::future::Future<Output = Result<T, RemoteError>>,
    {
        let refreshed = AtomicBool::new(false);
        self.pacer
            .run(what, || async { read(check(self.provider, self.send(&build, &refreshed).await?).await?).await })
            .await
    }

    /// One try with the current token, the answer unchecked; see
    /// [`TokenSource::send`](crate::oauth::TokenSource).
    pub(super) async fn send(
        &self,
        build: &impl Fn(&str) -> reqwest::RequestBuilder,
        refreshed: &AtomicBool,
    ) -> Result<reqwest::Response, RemoteError> {
        self.tokens.send(refreshed, build, |body| graph_error(self.provider, 401, body, None)).await
    }

    pub(super) async fn json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<T, RemoteError> {
        self.request(what, build, |r| read_json(self.provider, r)).await
    }

    /// Like [`json`](Self::json), with None for an item that is not there.
    pub(super) async fn json_opt<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Option<T>, RemoteError> {
        match self.json(what, build).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::refused_name;

    #[test]
    fn names_onedrive_refuses() {
        for name in [
            "a\"b.jpg",
            "a*b.jpg",
            "12:30.jpg",
            "<x>.jpg",
            "why?.jpg",
            "back\\slash.jpg",
            "pipe|.jpg",
            " lead.jpg",
            "trail.jpg ",
            "folder.",
            "CON",
            "con",
            "Prn",
            "AUX",
            "nul",
            "COM1",
            "com9",
            "COM0",
            "LPT1",
            "lpt9",
            ".lock",
            "desktop.ini",
            "Desktop.INI",
            "~$report.docx",
            "a_vti_b",
            "_VTI_cnf",
        ] {
            assert!(refused_name(name).is_some(), "{name:?} passed");
        }
    }

    #[test]
    fn ordinary_names_pass() {
        for name in [
            "IMG_0001.JPG",
            "Sommer am See",
            "Caf\u{e9}",
            "\u{5bb6}\u{65cf}",
            "con.jpg",
            "CONSOLE",
            "COM10",
            "LPT",
            "comma,semi;colon-free #1 & 100%.jpg",
            "a.lock",
            "~photo.jpg",
            "$~x",
            "vti_ok",
            ".hidden",
            "in . the middle",
        ] {
            assert_eq!(refused_name(name), None, "{name:?}");
        }
    }
}
