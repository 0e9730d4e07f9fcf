//! The product manager's page: `GET /` is a forecast form (funnel, expected change, reach, plan,
//! history) that calls `POST /v1/forecast`, draws the projected lift and its interval, writes the
//! PRD paragraph, saves to the ledger and lists past forecasts with their calibration.
//!
//! Plain HTML, a little plain JavaScript and SVG drawn by it; everything is compiled into the
//! binary (`include_str!`) and nothing is fetched from elsewhere, so the page works offline. The
//! form starts from `examples/forecast.toml`, served as JSON at `/assets/example.json`, so the
//! page and the documented example cannot drift apart.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::Error;
use crate::forecast::ForecastRequest;
use crate::server::error::{ApiError, Json};
use crate::server::AppState;

const INDEX_HTML: &str = include_str!("../page/index.html");
const APP_JS: &str = include_str!("../page/app.js");
const STYLE_CSS: &str = include_str!("../page/style.css");
const EXAMPLE_TOML: &str = include_str!("../../../examples/forecast.toml");

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(index))
        .routes(routes!(app_js))
        .routes(routes!(style_css))
        .routes(routes!(example))
}

/// `no-cache`: the browser revalidates, so a new binary's page is never mixed with old assets.
fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")], body)
}

/// The forecast page for product managers.
#[utoipa::path(get, path = "/", tag = "page",
    responses((status = 200, description = "The forecast page", content_type = "text/html")))]
async fn index() -> impl IntoResponse {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// The page's script.
#[utoipa::path(get, path = "/assets/app.js", tag = "page",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript")))]
async fn app_js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// The page's style sheet.
#[utoipa::path(get, path = "/assets/style.css", tag = "page",
    responses((status = 200, description = "CSS", content_type = "text/css")))]
async fn style_css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

/// The request of `examples/forecast.toml`, as JSON: the page's starting point.
#[utoipa::path(get, path = "/assets/example.json", tag = "page",
    responses((status = 200, body = ForecastRequest)))]
async fn example() -> Result<Json<ForecastRequest>, ApiError> {
    let req = toml::from_str(EXAMPLE_TOML)
        .map_err(|e| Error::Internal(format!("examples/forecast.toml does not parse: {e}")))?;
    Ok(Json(req))
}
