//! Statistics routes.

use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::server::error::{ApiError, ErrorBody, Json};
use crate::server::AppState;
use crate::stats::{self, SrmResult};

pub(super) fn read_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(check_srm))
}

fn default_alpha() -> f64 {
    stats::SRM_ALPHA
}

/// Observed units per variant and the configured weights.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SrmRequest {
    observed: Vec<u64>,
    weights: Vec<f64>,
    /// Alarm threshold on the p-value (default 0.001).
    #[serde(default = "default_alpha")]
    alpha: f64,
}

/// Sample-ratio-mismatch check (Pearson chi-square against the weights).
#[utoipa::path(post, path = "/v1/srm", tag = "stats", request_body = SrmRequest,
    responses((status = 200, body = SrmResult), (status = 422, body = ErrorBody)))]
async fn check_srm(Json(req): Json<SrmRequest>) -> Result<Json<SrmResult>, ApiError> {
    Ok(Json(stats::check_srm(&req.observed, &req.weights, req.alpha)?))
}
