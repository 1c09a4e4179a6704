//! A call's argument: the JSON body of an RPC call, or the `Dropbox-API-Arg` header of an upload or
//! download call (JSON in which Dropbox requires `\uXXXX` for every character from 0x7F, which a
//! JSON parser reads as it reads any escape). Void union members come as `".tag"` objects or as
//! bare strings; both are accepted.

use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::errors::DbxError;

pub const ARG_HEADER: &str = "dropbox-api-arg";
pub const RESULT_HEADER: &str = "dropbox-api-result";

pub fn rpc<T: DeserializeOwned>(route: &str, headers: &HeaderMap, body: &[u8]) -> Result<T, DbxError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.trim().to_ascii_lowercase().starts_with("application/json") {
        return Err(DbxError::bad_input(
            route,
            format!("Bad HTTP \"Content-Type\" header: \"{content_type}\".  Expecting one of \"application/json\"."),
        ));
    }
    serde_json::from_slice(body).map_err(|e| DbxError::bad_input(route, format!("request body: {e}")))
}

pub fn header<T: DeserializeOwned>(route: &str, headers: &HeaderMap) -> Result<T, DbxError> {
    let Some(raw) = headers.get(ARG_HEADER) else {
        return Err(DbxError::bad_input(
            route,
            "Must provide HTTP header \"Dropbox-API-Arg\" or URL parameter \"arg\".",
        ));
    };
    // Header bytes past ASCII are refused: the client must escape them.
    let text = raw.to_str().ok().filter(|t| t.is_ascii()).ok_or_else(|| {
        DbxError::bad_input(route, "HTTP header \"Dropbox-API-Arg\": characters past 0x7E must be escaped as \\uXXXX")
    })?;
    serde_json::from_str(text).map_err(|e| DbxError::bad_input(route, format!("HTTP header \"Dropbox-API-Arg\": {e}")))
}

/// Upload calls carry raw bytes.
pub fn octet_stream(route: &str, headers: &HeaderMap) -> Result<(), DbxError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.trim().eq_ignore_ascii_case("application/octet-stream") {
        return Ok(());
    }
    Err(DbxError::bad_input(
        route,
        format!(
            "Bad HTTP \"Content-Type\" header: \"{content_type}\".  Expecting one of \"application/octet-stream\"."
        ),
    ))
}

/// The member of a union value: `"overwrite"` or `{".tag":"overwrite"}`.
pub fn tag(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(map) => map.get(".tag").and_then(Value::as_str),
        _ => None,
    }
}

/// JSON safe in an HTTP header: every character from 0x7F as `\uXXXX` (surrogate pairs past the
/// BMP), as Dropbox writes `Dropbox-API-Result`.
pub fn header_safe(value: &Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        if (c as u32) < 0x7f {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}
