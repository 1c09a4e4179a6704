//! The API's routes. Each is registered through utoipa-axum, so the OpenAPI document is built from
//! the same list the router serves and cannot drift from it.

pub mod assets;
pub mod audit;
pub mod connections;
pub mod download;
pub mod events;
pub mod health;
pub mod policy;
pub mod session;
pub mod status;
pub mod tags;
pub mod thumbnail;
pub mod tokens;
pub mod tus;
pub mod upload;
pub mod users;
pub mod workspaces;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::require_api_key;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (docs/api.md lists them).
    code: String,
    message: String,
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Shoebox API", description = "The photo box's REST API. See docs/api.md for the overview."),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))));
    }
}

/// The whole HTTP surface of the service.
pub fn router(state: AppState) -> Router {
    // Uploads stream their bodies to disk and have no size limit of their own; every other route
    // buffers JSON and is held to `max_json_bytes`.
    let uploads = OpenApiRouter::new()
        .routes(routes!(upload::upload_asset))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(tus::upload_options, tus::create_upload))
                .routes(routes!(tus::head_upload, tus::get_upload, tus::patch_upload, tus::delete_upload))
                .layer(from_fn(tus::tus_headers)),
        )
        .layer(from_fn_with_state(state.clone(), crate::policy::enforce_upload))
        .layer(DefaultBodyLimit::disable());
    let json = OpenApiRouter::new()
        .routes(routes!(health::health))
        .routes(routes!(status::get_status))
        .routes(routes!(audit::list_audit))
        .routes(routes!(policy::get_network_policy, policy::set_network_policy, policy::reset_network_policy))
        .routes(routes!(session::setup_status, session::setup))
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(session::me))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::update_user))
        .routes(routes!(session::get_access_link, session::create_access_link, session::revoke_access_link))
        .routes(routes!(workspaces::list_workspaces, workspaces::create_workspace))
        .routes(routes!(workspaces::get_workspace, workspaces::update_workspace))
        .routes(routes!(workspaces::list_members, workspaces::add_member))
        .routes(routes!(workspaces::set_member, workspaces::remove_member))
        .routes(routes!(assets::check_assets))
        .routes(routes!(assets::list_assets))
        .routes(routes!(assets::get_asset, assets::update_asset, assets::delete_asset))
        .routes(routes!(download::download_original))
        .routes(routes!(thumbnail::get_thumbnail))
        .routes(routes!(events::list_events, events::create_event))
        .routes(routes!(events::update_event, events::delete_event))
        .routes(routes!(tags::list_tags, tags::create_tag))
        .routes(routes!(tags::rename_tag, tags::delete_tag))
        .routes(routes!(connections::list_providers))
        .routes(routes!(connections::list_connections, connections::create_connection))
        .routes(routes!(connections::get_connection, connections::update_connection, connections::delete_connection))
        .routes(routes!(connections::sync_connection))
        .routes(routes!(connections::reconnect_connection))
        .routes(routes!(connections::authorize_connection))
        .layer(DefaultBodyLimit::max(state.settings.max_json_bytes));
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(uploads).merge(json).split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let doc = Arc::new(doc);

    api.route("/api/v1/openapi.json", get(move || async move { axum::Json(doc.as_ref().clone()) }))
        .route("/access/{token}", get(session::open_access_link))
        .merge(crate::dav::router(state.clone()))
        .merge(crate::webui::routes())
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this path does not take that method")
        })
        .layer(from_fn_with_state(state.clone(), require_api_key))
        .layer(from_fn_with_state(state.clone(), crate::policy::enforce_access))
        .layer(from_fn(crate::header_limit::refuse_oversized_headers))
        // Outermost, so that every refusal (headers, API key, token, role, type, space) reaches the client.
        .layer(from_fn(crate::drain::answer_after_body))
        .with_state(state)
}
