//! Analysis routes: `POST /v1/analyze`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::assign::{json_response, resolve_spec, LIGHT_ROWS};
use crate::error::Error;
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
    variant: Vec<String>,
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
    /// Numbers or `null`; anything else is the schema error `not_a_number` naming the cell
    /// (`raw.outcomes.<column>[i]`), as the CLI names a CSV cell.
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

/// One outcome column: numbers, `null` the missing value (JSON has no NaN; NaN is how the
/// aggregator spells missing).
fn numbers(name: &str, v: &[Value]) -> Result<Vec<f64>, Error> {
    v.iter()
        .enumerate()
        .map(|(i, x)| match x {
            Value::Null => Ok(f64::NAN),
            Value::Number(n) => n.as_f64().ok_or_else(|| Error::Internal(format!("{n} as f64"))),
            Value::String(s) => Err(report::aggregate::not_a_number(name, i, &format!("'{s}'")).within("outcomes")),
            other => Err(report::aggregate::not_a_number(name, i, &other.to_string()).within("outcomes")),
        })
        .collect()
}

fn parse_days(v: Vec<Option<String>>) -> Result<Vec<Option<i64>>, Error> {
    v.into_iter()
        .enumerate()
        .map(|(i, s)| match s {
            None => Ok(None),
            Some(s) => report::aggregate::parse_iso_day(&s)
                .map(Some)
                .ok_or_else(|| Error::invalid(format!("raw.exposures.time[{i}]"), format!("'{s}' is not a date"))),
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
                    variants: Codes::from_values(raw.exposures.variant.iter().map(|v| Some(v.as_str()))),
                    days: raw.exposures.time.map(parse_days).transpose()?,
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
                    .map(|(name, v)| numbers(&name, &v).map(|v| (name, v)).map_err(|e| e.within("raw")))
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
