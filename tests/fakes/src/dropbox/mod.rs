//! Being written.

use axum::Router;

use crate::oauth::OAuthFake;

#[derive(Clone)]
pub struct DropboxFake {
    #[allow(dead_code)]
    oauth: OAuthFake,
}

impl DropboxFake {
    pub fn new(oauth: OAuthFake) -> DropboxFake {
        DropboxFake { oauth }
    }
}

pub fn routes(_fake: DropboxFake) -> Router {
    Router::new()
}
