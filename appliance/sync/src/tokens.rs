//! A connection's refreshed OAuth tokens saved in its catalogue row.

use std::sync::Arc;

use async_trait::async_trait;
use shoebox_core::Catalogue;
use shoebox_remote::oauth::{TokenStore, Tokens};
use shoebox_remote::RemoteError;

use crate::connections::{self, ConnectionId, Secrets};

pub(crate) struct CatalogueTokenStore {
    pub(crate) catalogue: Arc<Catalogue>,
    pub(crate) connection: ConnectionId,
}

#[async_trait]
impl TokenStore for CatalogueTokenStore {
    async fn save(&self, tokens: &Tokens) -> Result<(), RemoteError> {
        let (cat, id) = (self.catalogue.clone(), self.connection);
        let secrets = Secrets::OAuth { tokens: tokens.clone() };
        tokio::task::spawn_blocking(move || cat.write(|tx| connections::set_secrets(tx, id, &secrets)))
            .await
            .map_err(|e| RemoteError::Config(format!("saving tokens: {e}")))?
            .map_err(|e| RemoteError::Config(format!("saving tokens: {e}")))
    }
}
