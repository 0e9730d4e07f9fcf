//! Analysis routes: `POST /v1/analyze`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::assign::{json_response, resolve_spec, LIGHT_ROWS};
use crate::error::Error;
use crate::report::input::{self, Nan, NumberCell, RawColumn};
use crate::report::{self, Codes, ExperimentData, Exposures, Ids, Outcomes, Report};
use crate::server::error::{ApiError, ErrorBody, Json};
use crate::server::work::Cost;
use crate::server::AppState;

pub(super) fn guarded_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(analyze))
}

/// Unit ids: all integers or all strings.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
enum RawIds {
    Int(Vec<i64>),
    Str(Vec<String>),
}

impl From<RawIds> for Ids {
    fn from(r: RawIds) -> Self {
        match r {
            RawIds::Int(v) => Ids::Int(v),
            RawIds::Str(v) => Ids::Str(v),
        }
    }
}

/// Unit-level exposures, column-oriented.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RawExposures {
    unit: RawIds,
    /// Variant names; `null` (or empty text) is the error `null variant` naming the row.
    variant: Vec<Option<String>>,
    /// First exposure as ISO dates (`YYYY-MM-DD...`), for the cumulative chart.
    #[serde(default)]
    time: Option<Vec<Option<String>>>,
    /// Segment columns by name.
    #[serde(default)]
    segments: BTreeMap<String, Vec<Option<String>>>,
}

/// Unit-level outcomes, column-oriented; `null` is a missing value (an error when used).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RawOutcomes {
    unit: RawIds,
    /// Numbers or `null` (text that is a number is read as one); anything else is the schema
    /// error `not_a_number` naming the cell (`raw.outcomes.<column>[i]`), as the CLI names a CSV
    /// cell (the rules of `report::input`).
    #[schema(value_type = BTreeMap<String, Vec<Option<f64>>>)]
    columns: BTreeMap<String, Vec<Value>>,
}

impl RawOutcomes {
    fn unit_len(&self) -> usize {
        match &self.unit {
            RawIds::Int(v) => v.len(),
            RawIds::Str(v) => v.len(),
        }
    }
}

/// Small raw arrays instead of sufficient statistics.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RawData {
    exposures: RawExposures,
    outcomes: RawOutcomes,
}

/// What to analyse: sufficient statistics (`data`) or small raw arrays (`raw`), exactly one.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AnalyzeRequest {
    /// The experiment key (default: the spec's only experiment).
    #[serde(default)]
    experiment: Option<String>,
    /// Sufficient statistics per metric and variant (and segment, and day).
    #[serde(default)]
    data: Option<ExperimentData>,
    #[serde(default)]
    raw: Option<RawData>,
    /// A spec (TOML text or JSON object); default: the service's active spec.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    spec: Option<Value>,
}

/// One outcome column: each JSON value as the cell it is (JSON has no NaN; the core's rules).
fn numbers(name: &str, v: &[Value]) -> Result<Vec<f64>, Error> {
    v.iter()
        .enumerate()
        .map(|(i, x)| {
            let shown;
            let cell = match x {
                Value::Null => NumberCell::Null,
                Value::Number(n) => {
                    NumberCell::Number(n.as_f64().ok_or_else(|| Error::Internal(format!("{n} as f64")))?)
                }
                Value::String(s) => NumberCell::Text(s),
                other => {
                    shown = other.to_string();
                    NumberCell::Other(&shown)
                }
            };
            input::number_cell(name, i, cell, Nan::Error)
        })
        .collect()
}

/// Analyses an experiment and returns the same JSON report as `liftlab analyze`.
#[utoipa::path(post, path = "/v1/analyze", tag = "analysis", request_body = AnalyzeRequest,
    security((), ("bearer" = [])),
    responses((status = 200, body = Report), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn analyze(State(state): State<AppState>, Json(req): Json<AnalyzeRequest>) -> Result<Response, ApiError> {
    let work = state.work.clone();
    let rows = req.raw.as_ref().map_or(0, |r| r.exposures.variant.len().max(r.outcomes.unit_len()));
    let cost = if rows > LIGHT_ROWS { Cost::Heavy } else { Cost::Light };
    work.run(cost, move |_| {
        let spec = resolve_spec(&state, req.spec.as_ref())?;
        let key = spec.resolve_experiment(req.experiment.as_deref())?.key.clone();
        let data = match (req.data, req.raw) {
            (Some(d), None) => d,
            (None, Some(raw)) => {
                let exposures = Exposures {
                    units: raw.exposures.unit.into(),
                    variants: Codes::from_values(raw.exposures.variant.iter().map(Option::as_deref)),
                    days: raw
                        .exposures
                        .time
                        .map(|t| input::days("time", 0, RawColumn::Text(&t)).map_err(|e| e.within("raw.exposures")))
                        .transpose()?,
                    segments: raw
                        .exposures
                        .segments
                        .iter()
                        .map(|(name, v)| (name.clone(), Codes::from_values(v.iter().map(Option::as_deref))))
                        .collect(),
                };
                let columns = raw
                    .outcomes
                    .columns
                    .into_iter()
                    .map(|(name, v)| numbers(&name, &v).map(|v| (name, v)).map_err(|e| e.within("raw.outcomes")))
                    .collect::<Result<_, Error>>()?;
                let outcomes = Outcomes { units: raw.outcomes.unit.into(), columns };
                report::aggregate_experiment(&spec, &key, &exposures, &outcomes).map_err(|e| e.within("raw"))?
            }
            _ => return Err(Error::invalid("data", "give exactly one of `data` (sufficient statistics) or `raw`")),
        };
        json_response(&report::analyze_experiment(&spec, &key, &data)?)
    })
    .await
}
