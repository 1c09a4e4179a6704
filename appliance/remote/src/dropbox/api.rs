//! Dropbox's wire: RPC calls (JSON body) on the api host, upload and download calls (JSON in the
//! `Dropbox-API-Arg` header, raw bytes in the body) on the content host, their metadata and their
//! errors. Errors are classed from the `.tag`s of the error union, never from its text. Every call
//! is made with a current access token: a 401 refreshes it once and the pacer tries again.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Dropbox;
use crate::error::{check_answer, class_of_status, ErrorClass, RemoteError};

pub(super) const PROVIDER: &str = "dropbox";
pub(super) const ARG_HEADER: &str = "dropbox-api-arg";
pub(super) const RESULT_HEADER: &str = "dropbox-api-result";

/// A file, folder or deleted entry (`Metadata` with its `.tag`).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub(super) enum Metadata {
    File(FileMetadata),
    Folder(FolderMetadata),
    Deleted(DeletedMetadata),
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct FileMetadata {
    pub id: String,
    pub path_display: Option<String>,
    pub path_lower: Option<String>,
    pub server_modified: Option<String>,
    pub size: u64,
    pub content_hash: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct FolderMetadata {
    pub id: String,
    pub path_display: Option<String>,
    pub path_lower: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct DeletedMetadata {
    pub path_display: Option<String>,
    pub path_lower: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ListFolderResult {
    pub entries: Vec<Metadata>,
    pub cursor: String,
    pub has_more: bool,
}

/// JSON for an HTTP header: every character from 0x7F up written as `\uXXXX` (UTF-16, so astral
/// characters become surrogate pairs), as Dropbox requires of `Dropbox-API-Arg`. Outside strings
/// serde_json writes only ASCII, so escaping every such character keeps the JSON the same value.
pub(super) fn header_json(value: &impl Serialize) -> Result<String, RemoteError> {
    let json = serde_json::to_string(value).map_err(|e| RemoteError::Config(format!("Dropbox argument: {e}")))?;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if (c as u32) < 0x7f {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<Value>,
    error_summary: Option<String>,
}

/// The `.tag`s of an error union from the outside in (`path`, `conflict`, `folder`), through
/// structs that hold the union under `reason` (429's `RateLimitError`, `UploadWriteFailed`).
pub(super) fn error_tags(error: &Value) -> Vec<String> {
    let mut tags = Vec::new();
    let mut at = error;
    for _ in 0..16 {
        match at {
            Value::String(tag) => {
                tags.push(tag.clone());
                break;
            }
            Value::Object(map) => match map.get(".tag").and_then(Value::as_str) {
                Some(tag) => {
                    tags.push(tag.to_string());
                    match map.get(tag) {
                        Some(inner @ (Value::Object(_) | Value::String(_))) => at = inner,
                        _ => match map.get("reason") {
                            Some(reason) => at = reason,
                            None => break,
                        },
                    }
                }
                None => match map.get("reason") {
                    Some(reason) => at = reason,
                    None => break,
                },
            },
            _ => break,
        }
    }
    tags
}

/// `correct_offset` of an `incorrect_offset` session error, wherever it sits in the union.
pub(super) fn correct_offset(body: &str) -> Option<u64> {
    fn find(v: &Value) -> Option<u64> {
        match v {
            Value::Object(map) => {
                if map.get(".tag").and_then(Value::as_str) == Some("incorrect_offset") {
                    if let Some(n) = map.get("correct_offset").and_then(Value::as_u64) {
                        return Some(n);
                    }
                }
                map.values().find_map(find)
            }
            _ => None,
        }
    }
    let parsed: ErrorBody = serde_json::from_str(body).ok()?;
    find(&parsed.error?)
}

/// Dropbox's error answer classed: by the union's tags where there is a JSON error (409, 429, 401),
/// by the status otherwise (400's plain text, 5xx).
pub(super) fn dropbox_error(status: u16, body: &str, after: Option<Duration>) -> RemoteError {
    let parsed: Option<ErrorBody> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().and_then(|b| b.error.clone());
    let tags = error.as_ref().map(error_tags).unwrap_or_default();
    let body_after = error.as_ref().and_then(|e| e.get("retry_after")).and_then(Value::as_u64).map(Duration::from_secs);
    let has = |t: &str| tags.iter().any(|x| x == t);
    let class = if has("too_many_requests") || has("too_many_write_operations") {
        ErrorClass::Retry { after: body_after.or(after) }
    } else if [
        "insufficient_space",
        "malformed_path",
        "payload_too_large",
        // Names Dropbox refuses (desktop.ini, .DS_Store…) and places the app may not write: a
        // conflict that no retry resolves.
        "disallowed_name",
        "no_write_permission",
        "team_folder",
        "restricted_content",
    ]
    .iter()
    .any(|t| has(t))
    {
        ErrorClass::Fatal
    } else if status == 401 || has("expired_access_token") || has("invalid_access_token") {
        ErrorClass::NeedsReconnect
    } else if tags.first().is_some_and(|t| matches!(t.as_str(), "path" | "path_lookup" | "from_lookup"))
        && has("not_found")
    {
        ErrorClass::NotFound
    } else if status >= 500 {
        ErrorClass::Retry { after: body_after.or(after) }
    } else if status == 409 {
        // Conflicts, and upload sessions Dropbox no longer knows or has closed.
        ErrorClass::Conflict
    } else {
        class_of_status(status, body_after.or(after))
    };
    let code = (!tags.is_empty()).then(|| tags.join("/"));
    let message = parsed.and_then(|b| b.error_summary).unwrap_or_else(|| {
        if body.is_empty() {
            format!("HTTP {status}")
        } else {
            body.chars().take(200).collect()
        }
    });
    RemoteError::Provider { provider: PROVIDER, status, code, message, class }
}

pub(super) async fn check(response: reqwest::Response) -> Result<reqwest::Response, RemoteError> {
    check_answer(response, dropbox_error).await
}

/// Whether an error is the tag path `tags` (e.g. `path/conflict/folder`), or starts with it.
pub(super) fn is(e: &RemoteError, tags: &str) -> bool {
    matches!(e, RemoteError::Provider { code: Some(code), .. } if code == tags || code.starts_with(&format!("{tags}/")))
}

pub(super) async fn read_json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, RemoteError> {
    let text = response.text().await?;
    parse(&text)
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, RemoteError> {
    serde_json::from_str(text)
        .map_err(|e| RemoteError::Protocol { provider: PROVIDER, detail: format!("{e}: {:.200}", text) })
}

impl Dropbox {
    pub(super) fn api(&self, route: &str) -> String {
        format!("{}/2/{route}", self.settings.api_base)
    }

    pub(super) fn content(&self, route: &str) -> String {
        format!("{}/2/{route}", self.settings.content_base)
    }

    /// An RPC call: JSON in, JSON out.
    pub(super) async fn rpc<T: serde::de::DeserializeOwned>(
        &self,
        route: &str,
        arg: &impl Serialize,
    ) -> Result<T, RemoteError> {
        let url = self.api(route);
        let body = serde_json::to_vec(arg).map_err(|e| RemoteError::Config(format!("Dropbox argument: {e}")))?;
        self.request(
            route,
            |token| {
                self.http
                    .post(&url)
                    .bearer_auth(token)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            },
            read_json,
        )
        .await
    }

    /// Sends what `build` makes with the current token and reads the answer with `read`, both
    /// inside the pacer, so a body cut while being read is retried too.
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
            .run(what, || async {
                let response = self.send(&build, &refreshed).await?;
                read(check(response).await?).await
            })
            .await
    }

    /// One try with the current token; see [`TokenSource::send`](crate::oauth::TokenSource).
    pub(super) async fn send(
        &self,
        build: &impl Fn(&str) -> reqwest::RequestBuilder,
        refreshed: &AtomicBool,
    ) -> Result<reqwest::Response, RemoteError> {
        self.tokens.send(refreshed, build, |body| dropbox_error(401, body, None)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_json_escapes_everything_past_ascii() {
        let arg = json!({ "path": "/Caf\u{e9}/\u{5bb6}\u{1f600}\u{7f}.jpg" });
        let header = header_json(&arg).unwrap();
        assert_eq!(header, r#"{"path":"/Caf\u00e9/\u5bb6\ud83d\ude00\u007f.jpg"}"#);
        assert!(header.is_ascii());
        assert_eq!(serde_json::from_str::<Value>(&header).unwrap(), arg);
    }

    #[test]
    fn errors_are_classed_by_their_tags() {
        let class = |status, body: &str| dropbox_error(status, body, None).class();
        let not_found = r#"{"error_summary":"path/not_found/..","error":{".tag":"path","path":{".tag":"not_found"}}}"#;
        assert_eq!(class(409, not_found), ErrorClass::NotFound);
        assert!(is(&dropbox_error(409, not_found, None), "path/not_found"));
        let conflict = r#"{"error":{".tag":"path","path":{".tag":"conflict","conflict":{".tag":"folder"}}}}"#;
        assert!(is(&dropbox_error(409, conflict, None), "path/conflict/folder"));
        assert_eq!(class(409, conflict), ErrorClass::Conflict);
        let limited = r#"{"error":{"reason":{".tag":"too_many_requests"},"retry_after":7}}"#;
        assert_eq!(class(429, limited), ErrorClass::Retry { after: Some(Duration::from_secs(7)) });
        let busy = r#"{"error":{".tag":"path","path":{"reason":{".tag":"too_many_write_operations"},"upload_session_id":"s"}}}"#;
        assert_eq!(class(409, busy), ErrorClass::Retry { after: None });
        let full =
            r#"{"error":{".tag":"path","path":{"reason":{".tag":"insufficient_space"},"upload_session_id":"s"}}}"#;
        assert_eq!(class(409, full), ErrorClass::Fatal);
        let refused = r#"{"error":{".tag":"path","path":{".tag":"disallowed_name"}}}"#;
        assert_eq!(class(409, refused), ErrorClass::Fatal);
        assert_eq!(class(401, r#"{"error":{".tag":"invalid_access_token"}}"#), ErrorClass::NeedsReconnect);
        assert_eq!(class(503, "<html>busy</html>"), ErrorClass::Retry { after: None });
        assert_eq!(class(507, "Insufficient Storage"), ErrorClass::Retry { after: None });
        assert_eq!(class(400, "Error in call to API function"), ErrorClass::Fatal);
        let offset = r#"{"error":{".tag":"lookup_failed","lookup_failed":{".tag":"incorrect_offset","correct_offset":1048576}}}"#;
        assert_eq!(correct_offset(offset), Some(1_048_576));
        assert_eq!(class(409, offset), ErrorClass::Conflict);
        let delete = r#"{"error":{".tag":"path_lookup","path_lookup":{".tag":"not_found"}}}"#;
        assert_eq!(class(409, delete), ErrorClass::NotFound);
        // Void members as bare strings.
        assert!(is(&dropbox_error(409, r#"{"error":{".tag":"path","path":"not_found"}}"#, None), "path/not_found"));
    }
}
