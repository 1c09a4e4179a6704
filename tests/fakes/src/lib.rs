//! Wire-faithful fakes of the cloud services Shoebox talks to, for its tests and for trying the
//! sync by hand (`shoebox-fakes --listen 127.0.0.1:9000`). One server answers every provider, each
//! under its own path prefix, so a test points every configurable base URL at the same address.

pub mod disk;
pub mod drive;
pub mod dropbox;
pub mod faults;
pub mod graph;
pub mod oauth;
pub mod s3_server;
mod scripted;

use std::net::SocketAddr;

pub use drive::DriveFake;
pub use dropbox::DropboxFake;
pub use faults::{Fault, FaultProxy};
pub use graph::GraphFake;
pub use oauth::{Flavour, OAuthFake, Refused};

/// The fakes, listening.
pub struct FakeServer {
    pub addr: SocketAddr,
    pub oauth: OAuthFake,
    pub drive: DriveFake,
    pub dropbox: DropboxFake,
    pub graph: GraphFake,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    pub async fn start(listen: SocketAddr) -> std::io::Result<FakeServer> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let oauth = OAuthFake::default();
        let drive = DriveFake::new(oauth.clone());
        let dropbox = DropboxFake::new(oauth.clone());
        let graph = GraphFake::new(oauth.clone());
        let app = oauth::routes(oauth.clone())
            .merge(drive::routes(drive.clone()))
            .merge(dropbox::routes(dropbox.clone()))
            .merge(graph::routes(graph.clone()));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("shoebox-fakes: {e}");
            }
        });
        Ok(FakeServer { addr, oauth, drive, dropbox, graph, task })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Serves until the process ends (the binary's use).
    pub async fn wait(mut self) {
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        let _ = task.await;
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Bit rot on the provider's side, for testing a client's download verification: the first byte
/// flipped, or one added to empty content.
fn flip_first_byte(content: &mut bytes::Bytes) {
    let mut rotten = content.to_vec();
    match rotten.first_mut() {
        Some(b) => *b ^= 0xff,
        None => rotten.push(0),
    }
    *content = rotten.into();
}
