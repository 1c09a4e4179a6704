//! Refused uploads are answered after the client has finished sending (within bounds).
//!
//! A server that answers 401, 403, 415 or 507 while the client is still sending, and then closes,
//! makes most HTTP clients report "connection reset" instead of the answer; a phone app would retry
//! forever without learning why. This middleware keeps hold of the request body, and when the
//! response is an error and the body was not read to its end, reads and drops the rest first.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;

/// Past this much, the connection is closed instead (a client with a huge body should have asked
/// with `Expect: 100-continue`).
const DRAIN_LIMIT: usize = 64 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(10);

type Slot = Arc<Mutex<Option<Body>>>;

/// The handler's view of the body; the body itself stays in the shared slot.
struct Shared(Slot);

impl HttpBody for Shared {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).as_ref().is_none_or(HttpBody::is_end_stream)
    }
}

pub async fn answer_after_body(request: Request, next: Next) -> Response {
    // A client that sent `Expect: 100-continue` waits for our word before sending the body: reading
    // it now would only invite an upload we are about to refuse.
    if request.headers().contains_key(axum::http::header::EXPECT) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let slot: Slot = Arc::new(Mutex::new(Some(body)));
    let response = next.run(Request::from_parts(parts, Body::new(Shared(slot.clone())))).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let rest = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(rest) = rest.filter(|b| !b.is_end_stream()) {
            let mut stream = rest.into_data_stream();
            let read = async {
                let mut drained = 0usize;
                while let Some(Ok(chunk)) = stream.next().await {
                    drained += chunk.len();
                    if drained > DRAIN_LIMIT {
                        return;
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIME, read).await;
        }
    }
    response
}
