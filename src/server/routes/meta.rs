//! Health.

use axum::extract::State;
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::server::error::{ApiError, Json};
use crate::server::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz))
}

/// Health of the service and its database.
#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    status: &'static str,
    version: &'static str,
    schema_version: i64,
    /// Stored version of the active experiment spec, if one is loaded.
    spec_version: Option<i64>,
}

/// Liveness and readiness: answers 200 when the database answers.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = Health), (status = 500, body = crate::server::error::ErrorBody)))]
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    // On the async thread: the probe has its own connection, which nothing else uses, and a
    // `SELECT` on it takes microseconds, so health never waits for a background thread.
    let schema_version = state.store.ping().and_then(|_| state.store.schema_version())?;
    Ok(Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        schema_version,
        spec_version: state.active_spec().map(|s| s.version),
    }))
}
