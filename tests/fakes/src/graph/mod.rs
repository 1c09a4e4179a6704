//! Being written.

use axum::Router;

use crate::oauth::OAuthFake;

#[derive(Clone)]
pub struct GraphFake {
    #[allow(dead_code)]
    oauth: OAuthFake,
}

impl GraphFake {
    pub fn new(oauth: OAuthFake) -> GraphFake {
        GraphFake { oauth }
    }
}

pub fn routes(_fake: GraphFake) -> Router {
    Router::new()
}
