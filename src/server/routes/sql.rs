//! Warehouse routes: `POST /v1/sql` compiles the query of an experiment's sufficient statistics
//! from the spec's `[catalog]`. The service never runs it; the answer goes back through
//! `POST /v1/analyze` (`data`) or `liftlab analyze --stats`.

use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::assign::resolve_spec;
use crate::error::Error;
use crate::server::error::{ApiError, ErrorBody, Json};
use crate::server::AppState;
use crate::warehouse::{compile_sql, CompileOptions, CompiledQuery, Dialect};

pub(super) fn guarded_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sql))
}

/// Which query to compile.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SqlRequest {
    /// The experiment key (default: the spec's only experiment).
    #[serde(default)]
    experiment: Option<String>,
    /// `duckdb` (default), `postgres`, `clickhouse`, `spark`, `bigquery` or `snowflake`.
    #[serde(default)]
    dialect: Option<String>,
    /// First exposure date analysed (`YYYY-MM-DD`).
    #[serde(default)]
    start: Option<String>,
    /// Last exposure date analysed, inclusive (`YYYY-MM-DD`).
    #[serde(default)]
    end: Option<String>,
    /// A spec (TOML text or JSON object) with a `[catalog]`; default: the service's active spec.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    spec: Option<Value>,
}

/// The SQL that computes an experiment's sufficient statistics in a warehouse (the same text as
/// `liftlab sql` and `liftlab.compile_sql`), with the columns of its answer.
#[utoipa::path(post, path = "/v1/sql", tag = "analysis", request_body = SqlRequest,
    security((), ("bearer" = [])),
    responses((status = 200, body = CompiledQuery), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn sql(State(state): State<AppState>, Json(req): Json<SqlRequest>) -> Result<Json<CompiledQuery>, ApiError> {
    let spec = resolve_spec(&state, req.spec.as_ref())?;
    let key = match req.experiment {
        Some(k) => spec.experiment(&k)?.key.clone(),
        None => match spec.experiments.as_slice() {
            [one] => one.key.clone(),
            _ => return Err(Error::invalid("experiment", "name the experiment whose query to compile").into()),
        },
    };
    let dialect = Dialect::from_name(req.dialect.as_deref().unwrap_or("duckdb"))?;
    // file sources are printed as the spec wrote them: the service reveals no folder of its own
    let options = CompileOptions { start: req.start, end: req.end, base_dir: None };
    Ok(Json(compile_sql(&spec, &key, dialect, &options)?))
}
