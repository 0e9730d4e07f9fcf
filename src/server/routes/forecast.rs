//! Forecast routes: `POST /v1/forecast` (stateless).

use axum::extract::State;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::Error;
use crate::forecast::{forecast_impact, ForecastReport, ForecastRequest};
use crate::server::error::{ApiError, ErrorBody, Json};
use crate::server::AppState;

pub(super) fn read_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(forecast))
}

/// Projects the topline change of an expected change to a metric tree, with its interval, the
/// PRD formula, sensitivities, and (optionally) the test plan and a reality check from history.
#[utoipa::path(post, path = "/v1/forecast", tag = "forecast", request_body = ForecastRequest,
    responses((status = 200, body = ForecastReport), (status = 422, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn forecast(
    State(_state): State<AppState>,
    Json(req): Json<ForecastRequest>,
) -> Result<Json<ForecastReport>, ApiError> {
    let out = tokio::task::spawn_blocking(move || forecast_impact(&req))
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    Ok(Json(out))
}
