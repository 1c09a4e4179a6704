//! What the owner can connect on this box: every provider, whether its app registration is
//! configured, and how each direction signs in, so the web app can offer only what will work and
//! show the right step before the owner starts.

use serde::Serialize;
use utoipa::ToSchema;

use crate::connections::{Direction, Provider};
use crate::providers::{app, pastes_code};
use crate::Engine;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignIn {
    /// A code to type at the provider's page, on any device; the box finishes on its own.
    Device,
    /// A page to open; the code (or the URL the browser ends on) is pasted back.
    PasteCode,
    /// Access keys entered with the connection.
    Keys,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Offer {
    pub provider: Provider,
    /// False when `[sync.<app>] client_id` is missing: connecting would be refused.
    pub configured: bool,
    /// The configuration section to set when not configured.
    pub setting: Option<&'static str>,
    pub push: SignIn,
    pub pull: SignIn,
}

fn sign_in(provider: Provider, direction: Direction) -> SignIn {
    if !provider.uses_oauth() {
        SignIn::Keys
    } else if pastes_code(provider, direction) {
        SignIn::PasteCode
    } else {
        SignIn::Device
    }
}

impl Engine {
    pub fn offers(&self) -> Vec<Offer> {
        Provider::ALL
            .into_iter()
            .map(|provider| {
                let configured = !provider.uses_oauth() || app(&self.0.settings, provider).client_id.is_some();
                Offer {
                    provider,
                    configured,
                    setting: (!configured).then(|| crate::providers::section(provider)),
                    push: sign_in(provider, Direction::Push),
                    pull: sign_in(provider, Direction::Pull),
                }
            })
            .collect()
    }
}
