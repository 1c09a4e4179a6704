//! A reverse proxy in front of a provider (the real s3s-fs, or a fake) that plays the faults a test
//! scripts: an answer of its own (429 with Retry-After, 500, 503) instead of forwarding, or a
//! connection cut after part of a body. It logs every request so a test can see what was resent.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;

#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status, an S3-style error body and, if given, `Retry-After`.
    Status { status: u16, retry_after: Option<u64>, code: &'static str },
    /// Forward the request, then cut the connection after this many bytes of the answer's body.
    CutResponseAfter(usize),
    /// Read this many bytes of the request body, then cut the connection.
    CutRequestAfter(usize),
}

#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path_and_query: String,
    pub body_len: usize,
    pub fault: Option<Fault>,
}

struct Script {
    /// Faults for the next requests whose method and path match, in order, each after letting
    /// its count of matching requests through.
    faults: VecDeque<(String, String, usize, Fault)>,
    log: Vec<Logged>,
    /// A storm: one request in this many (not scripted otherwise) fails, and the count so far.
    storm: Option<(usize, usize)>,
}

/// What a storm plays, in turn: rate limits, server errors and connections cut mid-answer.
const STORM: [Fault; 4] = [
    Fault::Status { status: 429, retry_after: Some(1), code: "SlowDown" },
    Fault::Status { status: 500, retry_after: None, code: "InternalError" },
    Fault::Status { status: 503, retry_after: None, code: "ServiceUnavailable" },
    Fault::CutResponseAfter(16),
];

#[derive(Clone)]
pub struct FaultProxy {
    script: Arc<Mutex<Script>>,
    upstream: String,
    http: reqwest::Client,
    pub addr: SocketAddr,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> std::io::Result<FaultProxy> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let proxy = FaultProxy {
            script: Arc::new(Mutex::new(Script { faults: VecDeque::new(), log: Vec::new(), storm: None })),
            upstream: format!("http://{upstream}"),
            http: reqwest::Client::new(),
            addr: listener.local_addr()?,
        };
        let app = axum::Router::new().fallback(forward).with_state(proxy.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(proxy)
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next request with this method whose path and query contain `matching` gets `fault`.
    pub fn inject(&self, method: &str, matching: &str, fault: Fault) {
        self.inject_after(method, matching, 0, fault);
    }

    /// Like [`inject`](Self::inject), for the matching request after `skip` others have passed
    /// (the second chunk of an upload whose chunks all go to one URL).
    pub fn inject_after(&self, method: &str, matching: &str, skip: usize, fault: Fault) {
        self.script().faults.push_back((method.into(), matching.into(), skip, fault));
    }

    /// From now on one request in `one_in` fails (429 with Retry-After, 500, 503 or a cut answer,
    /// in turn); None ends the storm.
    pub fn storm(&self, one_in: Option<usize>) {
        self.script().storm = one_in.map(|n| (n.max(1), 0));
    }

    pub fn log(&self) -> Vec<Logged> {
        self.script().log.clone()
    }

    pub fn clear_log(&self) {
        self.script().log.clear();
    }

    pub fn pending_faults(&self) -> usize {
        self.script().faults.len()
    }

    fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut script = self.script();
        let Some(at) = script.faults.iter().position(|(m, p, _, _)| m == method && path.contains(p.as_str())) else {
            let (one_in, count) = script.storm.as_mut()?;
            *count += 1;
            return (*count % *one_in == 0).then(|| STORM[(*count / *one_in) % STORM.len()].clone());
        };
        let entry = script.faults.get_mut(at)?;
        if entry.2 > 0 {
            entry.2 -= 1;
            return None;
        }
        script.faults.remove(at).map(|(_, _, _, f)| f)
    }
}

async fn forward(State(proxy): State<FaultProxy>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let headers = request.headers().clone();
    let fault = proxy.take_fault(method.as_str(), &path);
    let mut body = request.into_body().into_data_stream();

    let mut received = Vec::new();
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else { break };
        received.extend_from_slice(&chunk);
        if let Some(Fault::CutRequestAfter(n)) = &fault {
            if received.len() >= *n {
                log(&proxy, &method, &path, received.len(), fault.clone());
                // Dropping the connection mid-request: a response whose body fails at once
                // makes hyper close it without a complete answer.
                return cut_response();
            }
        }
    }
    log(&proxy, &method, &path, received.len(), fault.clone());

    if let Some(Fault::Status { status, retry_after, code }) = &fault {
        let mut response = (
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            format!("<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>scripted</Message></Error>"),
        )
            .into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert("retry-after", (*secs).into());
        }
        return response;
    }

    let mut upstream = proxy.http.request(method.clone(), format!("{}{}", proxy.upstream, path));
    for (name, value) in copy_headers(&headers).iter() {
        upstream = upstream.header(name, value);
    }
    let answer = match upstream.body(received).send().await {
        Ok(a) => a,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let status = answer.status();
    let mut out_headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let body = match fault {
        Some(Fault::CutResponseAfter(n)) => {
            let head = bytes.slice(..n.min(bytes.len()));
            let stream = futures_util::stream::iter(vec![
                Ok::<Bytes, std::io::Error>(head),
                Err(std::io::Error::other("cut by the test")),
            ]);
            Body::from_stream(stream)
        }
        _ => Body::from(bytes),
    };
    out_headers.remove("transfer-encoding");
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = out_headers;
    response
}

/// The client's headers, Host included: SigV4 signs the host and port the client used, which are
/// the proxy's.
fn copy_headers(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    out.remove("connection");
    out.remove("transfer-encoding");
    out
}

fn cut_response() -> Response {
    let stream = futures_util::stream::iter(vec![Err::<Bytes, _>(std::io::Error::other("cut by the test"))]);
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert("content-length", 1000u64.into());
    response
}

fn log(proxy: &FaultProxy, method: &axum::http::Method, path: &str, body_len: usize, fault: Option<Fault>) {
    proxy.script().log.push(Logged { method: method.to_string(), path_and_query: path.into(), body_len, fault });
}
