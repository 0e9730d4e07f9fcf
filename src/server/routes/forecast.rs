//! Forecast routes: `POST /v1/forecast` (stateless) and the ledger: `POST /v1/forecasts`,
//! `GET /v1/forecasts`, `GET /v1/forecasts/{id}`, `POST /v1/forecasts/{id}/outcome`,
//! `GET /v1/calibration`.
//!
//! A saved forecast's report is always computed here from its request, never taken from the
//! client, so the ledger holds only numbers liftlab produced.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::Error;
use crate::forecast::history::PastEffect;
use crate::forecast::ledger::{
    calibration, observed_from_report, reconcile, Calibration, CalibrationRecord, ForecastMeta, Observed,
    Reconciliation,
};
use crate::forecast::{forecast_impact, ForecastReport, ForecastRequest, Interval};
use crate::report::Report;
use crate::server::error::{ApiError, ErrorBody, Json};
use crate::server::AppState;
use crate::store::{ForecastFilter, NewForecast, StoredForecast};

pub(super) fn read_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(forecast))
        .routes(routes!(list_forecasts))
        .routes(routes!(get_forecast))
        .routes(routes!(get_calibration))
}

pub(super) fn write_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(save_forecast)).routes(routes!(add_outcome))
}

/// The most forecasts one list answers.
const MAX_LIMIT: usize = 500;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> crate::Result<T> + Send + 'static) -> Result<T, ApiError> {
    Ok(tokio::task::spawn_blocking(f).await.map_err(|e| Error::Internal(e.to_string()))??)
}

/// Every saved forecast of a team and/or author.
fn all_forecasts(state: &AppState, team: Option<String>, author: Option<String>) -> crate::Result<Vec<StoredForecast>> {
    state.store.list_forecasts(&ForecastFilter { team, author, before: None, limit: usize::MAX })
}

/// Fills `history.past` from the ledger's reconciled forecasts when the request asks for it.
fn resolve_history(state: &AppState, req: &mut ForecastRequest) -> crate::Result<()> {
    let Some(h) = req.history.as_mut() else { return Ok(()) };
    let Some(q) = h.from_ledger.take() else { return Ok(()) };
    for f in all_forecasts(state, q.team.clone(), q.author.clone())? {
        if let Some(o) = f.outcome {
            let obs: Observed = parse_stored(&o.observed_json)?;
            if let Some(se) = obs.std_err() {
                h.past.push(PastEffect { effect: obs.relative, std_err: se });
            }
        }
    }
    Ok(())
}

/// The most answers [`ForecastCache`] keeps (each a few kB of JSON).
const CACHE_ENTRIES: usize = 1024;

/// Recent forecast answers keyed by the canonical JSON of their (resolved) request: a forecast
/// is a pure function of its request, seed included, so a repeated request (a page projecting
/// again, a save after a projection) is answered without re-running the Monte Carlo. Bounded:
/// when full, the oldest half is dropped.
#[derive(Default)]
pub(crate) struct ForecastCache {
    inner: std::sync::Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    map: std::collections::HashMap<String, (u64, std::sync::Arc<ForecastReport>)>,
    tick: u64,
}

impl ForecastCache {
    fn get_or_compute(&self, req: &ForecastRequest) -> crate::Result<std::sync::Arc<ForecastReport>> {
        let key = to_json(req)?;
        if let Ok(mut c) = self.inner.lock() {
            c.tick += 1;
            let tick = c.tick;
            if let Some(hit) = c.map.get_mut(&key) {
                hit.0 = tick;
                return Ok(hit.1.clone());
            }
        }
        let out = std::sync::Arc::new(forecast_impact(req)?);
        if let Ok(mut c) = self.inner.lock() {
            if c.map.len() >= CACHE_ENTRIES {
                let mut ticks: Vec<u64> = c.map.values().map(|v| v.0).collect();
                let (_, &mut median, _) = ticks.select_nth_unstable(CACHE_ENTRIES / 2);
                c.map.retain(|_, v| v.0 > median);
            }
            let tick = c.tick;
            c.map.insert(key, (tick, out.clone()));
        }
        Ok(out)
    }
}

/// Projects the topline change of an expected change to a metric tree, with its interval, the
/// PRD formula, sensitivities, and (optionally) the test plan and a reality check from history.
/// `history.from_ledger` takes the past effects from the ledger's reconciled forecasts.
#[utoipa::path(post, path = "/v1/forecast", tag = "forecast", request_body = ForecastRequest,
    responses((status = 200, body = ForecastReport), (status = 422, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn forecast(
    State(state): State<AppState>,
    Json(mut req): Json<ForecastRequest>,
) -> Result<Json<ForecastReport>, ApiError> {
    let out = blocking(move || {
        resolve_history(&state, &mut req)?;
        state.forecasts.get_or_compute(&req)
    })
    .await?;
    Ok(Json(out.as_ref().clone()))
}

/// A forecast to save in the ledger.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SaveForecast {
    title: String,
    author: String,
    team: String,
    /// The topline metric (the analysis metric it will be checked against).
    metric: String,
    request: ForecastRequest,
}

/// The newest outcome of a forecast, reconciled.
#[derive(Serialize, utoipa::ToSchema)]
struct OutcomeView {
    observed: Observed,
    reconciliation: Reconciliation,
    /// `typed`, or `report:<experiment>/<metric>/<variant>`.
    source: String,
    note: Option<String>,
    recorded_at: String,
}

/// A saved forecast.
#[derive(Serialize, utoipa::ToSchema)]
struct SavedForecast {
    id: i64,
    title: String,
    author: String,
    team: String,
    metric: String,
    created_at: String,
    request: ForecastRequest,
    report: ForecastReport,
    outcome: Option<OutcomeView>,
}

/// A line of the ledger.
#[derive(Serialize, utoipa::ToSchema)]
struct ForecastSummary {
    id: i64,
    title: String,
    author: String,
    team: String,
    metric: String,
    created_at: String,
    /// The projected relative lift and its interval.
    relative: Interval,
    confidence: f64,
    outcome: Option<OutcomeView>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ForecastList {
    forecasts: Vec<ForecastSummary>,
}

fn parse_stored<T: serde::de::DeserializeOwned>(json: &str) -> crate::Result<T> {
    serde_json::from_str(json).map_err(|e| Error::Internal(format!("stored ledger JSON does not parse: {e}")))
}

fn outcome_view(f: &StoredForecast) -> crate::Result<Option<OutcomeView>> {
    f.outcome
        .as_ref()
        .map(|o| {
            let observed: Observed = parse_stored(&o.observed_json)?;
            Ok(OutcomeView {
                reconciliation: reconcile(&f.relative, &observed),
                observed,
                source: o.source.clone(),
                note: o.note.clone(),
                recorded_at: o.recorded_at.clone(),
            })
        })
        .transpose()
}

fn saved_view(f: StoredForecast) -> crate::Result<SavedForecast> {
    let outcome = outcome_view(&f)?;
    Ok(SavedForecast {
        id: f.id,
        request: parse_stored(&f.request_json)?,
        report: parse_stored(&f.report_json)?,
        title: f.meta.title,
        author: f.meta.author,
        team: f.meta.team,
        metric: f.meta.metric,
        created_at: f.created_at,
        outcome,
    })
}

/// Computes and saves a forecast; answers once it is committed to disk.
#[utoipa::path(post, path = "/v1/forecasts", tag = "forecast", request_body = SaveForecast,
    security(("bearer" = [])),
    responses((status = 201, body = SavedForecast), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn save_forecast(
    State(state): State<AppState>,
    Json(body): Json<SaveForecast>,
) -> Result<(StatusCode, Json<SavedForecast>), ApiError> {
    let saved = blocking(move || {
        let meta = ForecastMeta { title: body.title, author: body.author, team: body.team, metric: body.metric }
            .validated()?;
        let mut req = body.request;
        resolve_history(&state, &mut req).map_err(|e| e.within("request"))?;
        let report = state.forecasts.get_or_compute(&req).map_err(|e| e.within("request"))?;
        let request_json = to_json(&req)?;
        let report_json = to_json(report.as_ref())?;
        let stored = state.store.save_forecast(&NewForecast {
            meta: &meta,
            request_json: &request_json,
            report_json: &report_json,
            relative: report.forecast.relative,
            confidence: report.forecast.confidence,
        })?;
        saved_view(stored)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

fn to_json<T: Serialize>(v: &T) -> crate::Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))
}

/// Filters of the ledger list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct ListParams {
    team: Option<String>,
    author: Option<String>,
    /// Only forecasts with an id below this (paging, newest first).
    before: Option<i64>,
    /// At most this many (default 100, at most 500).
    limit: Option<usize>,
}

fn query_error(e: axum::extract::rejection::QueryRejection) -> ApiError {
    let text = e.body_text();
    let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", text.clone());
    err.field = text.split_once("deserialize query string: ").and_then(|(_, r)| r.split(':').next()).map(|f| {
        let f = f.trim();
        f.strip_prefix("unknown field `").and_then(|r| r.split('`').next()).unwrap_or(f).to_string()
    });
    err
}

/// Saved forecasts, newest first, with their newest outcome.
#[utoipa::path(get, path = "/v1/forecasts", tag = "forecast", params(ListParams),
    responses((status = 200, body = ForecastList), (status = 422, body = ErrorBody)))]
async fn list_forecasts(
    State(state): State<AppState>,
    q: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ForecastList>, ApiError> {
    let Query(q) = q.map_err(query_error)?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::invalid("limit", format!("must be between 1 and {MAX_LIMIT}, got {limit}")).into());
    }
    let list = blocking(move || {
        let rows =
            state.store.list_forecasts(&ForecastFilter { team: q.team, author: q.author, before: q.before, limit })?;
        let forecasts = rows
            .into_iter()
            .map(|f| {
                Ok(ForecastSummary {
                    outcome: outcome_view(&f)?,
                    id: f.id,
                    title: f.meta.title,
                    author: f.meta.author,
                    team: f.meta.team,
                    metric: f.meta.metric,
                    created_at: f.created_at,
                    relative: f.relative,
                    confidence: f.confidence,
                })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(ForecastList { forecasts })
    })
    .await?;
    Ok(Json(list))
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .ok()
        .filter(|&i| i > 0)
        .ok_or_else(|| Error::invalid("id", format!("a forecast id is a positive integer, got '{id}'")).into())
}

fn not_found(id: i64) -> ApiError {
    Error::not_found("id", "forecast", id.to_string()).into()
}

/// One saved forecast: its request, report and newest outcome.
#[utoipa::path(get, path = "/v1/forecasts/{id}", tag = "forecast", params(("id" = i64, Path, description = "forecast id")),
    responses((status = 200, body = SavedForecast), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_forecast(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<SavedForecast>, ApiError> {
    let id = parse_id(&id)?;
    let found = blocking(move || state.store.get_forecast(id)?.map(saved_view).transpose()).await?;
    found.map(Json).ok_or_else(|| not_found(id))
}

/// The observed result of a forecast's experiment: typed in, or read from a liftlab analysis report.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct OutcomeBody {
    /// The observed lift, typed in.
    observed: Option<Observed>,
    /// A liftlab analysis report (`liftlab analyze -o report.json`); with `metric` (default: the
    /// forecast's metric) and `variant` (needed when it has several treatments).
    report: Option<Box<Report>>,
    metric: Option<String>,
    variant: Option<String>,
    note: Option<String>,
}

/// Attaches the observed result to a forecast (appended: earlier outcomes are kept).
#[utoipa::path(post, path = "/v1/forecasts/{id}/outcome", tag = "forecast", request_body = OutcomeBody,
    params(("id" = i64, Path, description = "forecast id")), security(("bearer" = [])),
    responses((status = 200, body = SavedForecast), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_outcome(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<OutcomeBody>,
) -> Result<Json<SavedForecast>, ApiError> {
    let id = parse_id(&id)?;
    let found = blocking(move || {
        let Some(f) = state.store.get_forecast(id)? else { return Ok(None) };
        let (observed, source) = match (body.observed, body.report) {
            (Some(o), None) => {
                o.validate().map_err(|e| e.within("observed"))?;
                (o, "typed".to_string())
            }
            (None, Some(report)) => {
                let metric = body.metric.unwrap_or_else(|| f.meta.metric.clone());
                let o = observed_from_report(&report, &metric, body.variant.as_deref())?;
                let variant = body.variant.unwrap_or_else(|| {
                    report
                        .metrics
                        .iter()
                        .find(|m| m.name == metric)
                        .map_or(String::new(), |m| m.effects.first().map_or(String::new(), |e| e.variant.clone()))
                });
                (o, format!("report:{}/{metric}/{variant}", report.experiment))
            }
            (Some(_), Some(_)) => return Err(Error::invalid("observed", "give `observed` or `report`, not both")),
            (None, None) => return Err(Error::invalid("observed", "give the observed result or an analysis `report`")),
        };
        if let Some(n) = &body.note {
            if n.chars().count() > 2000 {
                return Err(Error::invalid("note", "is longer than 2000 characters"));
            }
        }
        let json = to_json(&observed)?;
        state.store.add_outcome(id, &json, &source, body.note.as_deref())?.map(saved_view).transpose()
    })
    .await?;
    found.map(Json).ok_or_else(|| not_found(id))
}

/// Filters of the calibration.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct CalibrationParams {
    team: Option<String>,
    author: Option<String>,
}

/// How well forecasts matched results: interval coverage, mean absolute error, bias,
/// directional hit rate and the share that shipped a significant win; overall and per team,
/// author and month.
#[utoipa::path(get, path = "/v1/calibration", tag = "forecast", params(CalibrationParams),
    responses((status = 200, body = Calibration), (status = 422, body = ErrorBody)))]
async fn get_calibration(
    State(state): State<AppState>,
    q: Result<Query<CalibrationParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Calibration>, ApiError> {
    let Query(q) = q.map_err(query_error)?;
    let cal = blocking(move || {
        let records = all_forecasts(&state, q.team, q.author)?
            .into_iter()
            .map(|f| {
                let observed = f.outcome.as_ref().map(|o| parse_stored::<Observed>(&o.observed_json)).transpose()?;
                Ok(CalibrationRecord {
                    author: f.meta.author,
                    team: f.meta.team,
                    created_at: f.created_at,
                    forecast: f.relative,
                    confidence: f.confidence,
                    observed,
                })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(calibration(&records))
    })
    .await?;
    Ok(Json(cal))
}
