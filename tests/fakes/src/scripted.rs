//! Faults a test scripts into a provider's fake: the next request that matches gets an error
//! answer, in that provider's own error format (each fake renders it). Played once, in order.

use std::collections::VecDeque;

use axum::http::StatusCode;

/// What the matching request gets: its status, the provider's error code (Drive's `reason`,
/// Dropbox's `.tag`, Graph's `error.code`) and, if given, `Retry-After` in seconds.
pub struct ScriptedFault {
    pub status: StatusCode,
    pub code: String,
    pub retry_after: Option<u64>,
}

struct Scripted {
    method: Option<String>,
    matching: String,
    fault: ScriptedFault,
}

#[derive(Default)]
pub struct ScriptedFaults {
    queue: VecDeque<Scripted>,
    /// The next chunk sent to an upload session finds every session gone, as if it had expired.
    sessions_expire: bool,
}

impl ScriptedFaults {
    /// `matching` is part of `"METHOD /path?query"`; it may start with a method
    /// (`"PUT /upload"`) or be only part of a path (`"/changes"`).
    pub fn push(&mut self, matching: &str, status: u16, code: &str, retry_after: Option<u64>) {
        let (method, rest) = match matching.split_once(' ') {
            Some((m, rest)) if !m.is_empty() && m.chars().all(|c| c.is_ascii_uppercase()) => {
                (Some(m.to_string()), rest.to_string())
            }
            _ => (None, matching.to_string()),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.queue.push_back(Scripted {
            method,
            matching: rest,
            fault: ScriptedFault { status, code: code.into(), retry_after },
        });
    }

    /// The first scripted fault this request matches, taken off the queue.
    pub fn take(&mut self, method: &str, target: &str) -> Option<ScriptedFault> {
        let at = self
            .queue
            .iter()
            .position(|s| s.method.as_deref().is_none_or(|m| m == method) && target.contains(s.matching.as_str()))?;
        self.queue.remove(at).map(|s| s.fault)
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn expire_sessions_at_next_chunk(&mut self) {
        self.sessions_expire = true;
    }

    /// For a chunk's handler: whether its fake must forget every upload session now.
    pub fn take_session_expiry(&mut self) -> bool {
        std::mem::take(&mut self.sessions_expire)
    }

    pub fn session_expiry_pending(&self) -> bool {
        self.sessions_expire
    }
}
