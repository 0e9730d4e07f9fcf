//! Forecast routes: `POST /v1/forecast` (stateless) and the ledger: `POST /v1/forecasts`,
//! `GET /v1/forecasts`, `GET /v1/forecasts/{id}`, `POST /v1/forecasts/{id}/outcome`,
//! `GET /v1/calibration`.
//!
//! A saved forecast's report is always computed here from its request, never taken from the
//! client, so the ledger holds only numbers liftlab produced.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::Error;
use crate::forecast::history::PastEffect;
use crate::forecast::ledger::{
    calibration, observed_from_report, reconcile, Calibration, CalibrationRecord, ForecastMeta, Observed,
    Reconciliation,
};
use crate::forecast::{
    forecast_impact, forecast_impact_with, validate_input, BaseDraws, ForecastReport, ForecastRequest, Interval,
};
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

/// The most memory the kept base draws take: 32 MiB, e.g. the draws of 20 seeds of a 100,000-draw
/// forecast of one changed node (1.6 MB each).
const BASE_DRAWS_BYTES: usize = 32 << 20;

/// Draws larger than this are never kept (so that one request cannot flush the rest): 100,000
/// draws of up to 5 changed nodes, or 500,000 of one.
const BASE_DRAWS_MAX_ENTRY: usize = BASE_DRAWS_BYTES / 4;

/// How many (seed, draws) pairs seen once are remembered: a seed's draws are kept from its second
/// forecast on, so that a stream of one-off seeds costs nothing but this list.
const SEEN_ONCE: usize = 256;

/// Recent forecast answers keyed by the canonical JSON of their (resolved) request: a forecast
/// is a pure function of its request, seed included, so a repeated request (a page projecting
/// again, a save after a projection) is answered without re-running the Monte Carlo. Bounded:
/// when full, the oldest half is dropped.
///
/// It also keeps the base draws of recent seeds ([`BaseDraws`]; at most [`BASE_DRAWS_BYTES`],
/// least recently used dropped first): they depend on the seed and the number of draws only, so
/// a request that differs only in its funnel, as a PM's page sends them (seed 0 by default), is
/// answered without drawing again, with the same numbers as a fresh computation.
pub(crate) struct ForecastCache {
    answers: std::sync::Mutex<Answers>,
    bases: std::sync::Mutex<Bases>,
    /// Forecasts computed at once: two per core, so that 200 waiting requests take turns (first
    /// come, first served) instead of sharing the cores 200 ways, while a core never waits for the
    /// next one to be handed over.
    slots: Arc<tokio::sync::Semaphore>,
}

impl Default for ForecastCache {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        ForecastCache {
            answers: Default::default(),
            bases: Default::default(),
            slots: Arc::new(tokio::sync::Semaphore::new(2 * cores)),
        }
    }
}

/// A forecast's answer, with its JSON as the route sends it.
struct Answer {
    report: ForecastReport,
    json: axum::body::Bytes,
}

#[derive(Default)]
struct Answers {
    map: std::collections::HashMap<String, (u64, Arc<Answer>)>,
    tick: u64,
}

#[derive(Default)]
struct Bases {
    /// (last use, draws).
    kept: Vec<(u64, Arc<BaseDraws>)>,
    /// The memory `kept` takes.
    bytes: usize,
    /// (seed, draws) of forecasts whose draws are not kept, the oldest first.
    seen_once: std::collections::VecDeque<(u64, usize)>,
    tick: u64,
}

impl Bases {
    /// Kept draws that serve a forecast, or whether to make and keep them (the second time a
    /// seed and number of draws are seen).
    fn find(&mut self, seed: u64, draws: usize, nodes: usize) -> Result<Arc<BaseDraws>, bool> {
        self.tick += 1;
        let tick = self.tick;
        if let Some(k) = self.kept.iter_mut().find(|k| k.1.seed() == seed && k.1.draws() == draws) {
            k.0 = tick;
            if k.1.nodes() >= nodes {
                return Ok(k.1.clone());
            }
        }
        if BaseDraws::bytes_for(draws, nodes) > BASE_DRAWS_MAX_ENTRY {
            return Err(false);
        }
        if self.kept.iter().any(|k| k.1.seed() == seed && k.1.draws() == draws) {
            return Err(true); // kept for fewer nodes: keep them for these many
        }
        if let Some(i) = self.seen_once.iter().position(|&s| s == (seed, draws)) {
            self.seen_once.remove(i);
            return Err(true);
        }
        if self.seen_once.len() == SEEN_ONCE {
            self.seen_once.pop_front();
        }
        self.seen_once.push_back((seed, draws));
        Err(false)
    }

    /// Keeps `base` (in place of draws of the same seed with fewer nodes), dropping the least
    /// recently used until all fit in [`BASE_DRAWS_BYTES`].
    fn keep(&mut self, base: Arc<BaseDraws>) {
        self.tick += 1;
        let (seed, draws) = (base.seed(), base.draws());
        self.kept.retain(|k| !(k.1.seed() == seed && k.1.draws() == draws));
        self.kept.push((self.tick, base));
        self.kept.sort_by_key(|k| k.0);
        self.bytes = self.kept.iter().map(|k| k.1.bytes()).sum();
        while self.bytes > BASE_DRAWS_BYTES {
            let (_, dropped) = self.kept.remove(0);
            self.bytes -= dropped.bytes();
        }
    }
}

impl ForecastCache {
    /// A kept answer to a request, by its key.
    fn get(&self, key: &str) -> Option<Arc<Answer>> {
        let mut c = self.answers.lock().ok()?;
        c.tick += 1;
        let tick = c.tick;
        c.map.get_mut(key).map(|hit| {
            hit.0 = tick;
            hit.1.clone()
        })
    }

    /// Computes the answer to `req` (with kept base draws when there are) and keeps it.
    fn compute(&self, key: String, req: &ForecastRequest) -> crate::Result<Arc<Answer>> {
        if let Some(hit) = self.get(&key) {
            return Ok(hit);
        }
        let report = self.forecast(req)?;
        let json = to_json(&report)?.into();
        let out = Arc::new(Answer { report, json });
        if let Ok(mut c) = self.answers.lock() {
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

    /// `forecast_impact`, from kept base draws when the seed's are kept.
    fn forecast(&self, req: &ForecastRequest) -> crate::Result<ForecastReport> {
        let m = &req.model;
        if validate_input(m).is_err() {
            return forecast_impact(req); // answers with the error
        }
        let found = self.bases.lock().map_err(|_| false).and_then(|mut b| b.find(m.seed, m.draws, m.changes.len()));
        match found {
            Ok(base) => forecast_impact_with(req, Some(&base)),
            Err(true) => {
                let base = Arc::new(BaseDraws::new(m.seed, m.draws, m.changes.len()));
                let report = forecast_impact_with(req, Some(&base));
                if let Ok(mut b) = self.bases.lock() {
                    b.keep(base);
                }
                report
            }
            Err(false) => forecast_impact(req),
        }
    }

    fn get_or_compute(&self, req: &ForecastRequest) -> crate::Result<Arc<Answer>> {
        self.compute(to_json(req)?, req)
    }
}

/// A JSON body that is already serialised.
fn json_bytes(body: axum::body::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Projects the topline change of an expected change to a metric tree, with its interval, the
/// PRD formula, sensitivities, and (optionally) the test plan and a reality check from history.
/// `history.from_ledger` takes the past effects from the ledger's reconciled forecasts.
#[utoipa::path(post, path = "/v1/forecast", tag = "forecast", request_body = ForecastRequest,
    responses((status = 200, body = ForecastReport), (status = 422, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn forecast(State(state): State<AppState>, Json(mut req): Json<ForecastRequest>) -> Result<Response, ApiError> {
    let cache = state.forecasts.clone();
    if req.history.as_ref().is_some_and(|h| h.from_ledger.is_some()) {
        req = blocking(move || resolve_history(&state, &mut req).map(|()| req)).await?;
    }
    let key = to_json(&req)?;
    if let Some(hit) = cache.get(&key) {
        return Ok(json_bytes(hit.json.clone()));
    }
    let slot = cache.slots.clone().acquire_owned().await.map_err(|e| Error::Internal(e.to_string()))?;
    let worker = cache.clone();
    let out = blocking(move || {
        let out = worker.compute(key, &req);
        drop(slot); // the next request starts as soon as this one's numbers are ready
        out
    })
    .await?;
    Ok(json_bytes(out.json.clone()))
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
        let answer = state.forecasts.get_or_compute(&req).map_err(|e| e.within("request"))?;
        let report = &answer.report;
        let request_json = to_json(&req)?;
        let report_json = std::str::from_utf8(&answer.json).map_err(|e| Error::Internal(e.to_string()))?.to_string();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A PM's request: a funnel of `n` nodes with the last `changed` changing, seed 0, 100,000 draws.
    fn request(n: usize, changed: usize, likely: f64, seed: u64) -> ForecastRequest {
        let nodes: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                if i == 0 {
                    serde_json::json!({"name": "n0", "kind": "count", "baseline": 1000 + n})
                } else {
                    serde_json::json!({"name": format!("n{i}"), "kind": "rate", "baseline": 0.5 / i as f64})
                }
            })
            .collect();
        let changes: Vec<serde_json::Value> = (n - changed..n)
            .map(|i| serde_json::json!({"node": format!("n{i}"), "low": likely - 0.03, "likely": likely, "high": likely + 0.05}))
            .collect();
        serde_json::from_value(serde_json::json!({"model": {"nodes": nodes, "changes": changes, "seed": seed}}))
            .unwrap()
    }

    /// From the second forecast of a seed on, its base draws are kept and reused by requests that
    /// differ in their funnel, with the same answer as a fresh computation, bit for bit.
    #[test]
    fn funnels_of_one_seed_share_base_draws_and_answers_do_not_change() {
        let cache = ForecastCache::default();
        let reqs = [request(4, 1, 0.05, 0), request(4, 1, 0.06, 0), request(6, 2, 0.02, 0), request(3, 1, 0.1, 0)];
        for (i, req) in reqs.iter().enumerate() {
            let got = cache.get_or_compute(req).unwrap();
            let fresh = forecast_impact(req).unwrap();
            assert_eq!(got.report, fresh, "request {i}");
            assert_eq!(&got.json[..], to_json(&fresh).unwrap().as_bytes());
            let kept = cache.bases.lock().unwrap().kept.iter().map(|k| (k.1.seed(), k.1.nodes())).collect::<Vec<_>>();
            let want = match i {
                0 => vec![],       // seen once
                1 => vec![(0, 1)], // kept from the second on
                _ => vec![(0, 2)], // two changed nodes: kept again with both
            };
            assert_eq!(kept, want, "after request {i}");
        }
    }

    /// The kept draws never take more than BASE_DRAWS_BYTES; the least recently used go first, and
    /// draws too large to keep are computed fresh.
    #[test]
    fn kept_base_draws_are_bounded() {
        let cache = ForecastCache::default();
        let mut hot = request(3, 1, 0.05, 1);
        for seed in 1..=40u64 {
            for likely in [0.01, 0.02] {
                cache.get_or_compute(&request(3, 1, likely, seed)).unwrap();
            }
            // seed 1 is used all along, so it stays
            hot.model.changes[0].likely += 0.0001;
            cache.get_or_compute(&hot).unwrap();
        }
        let b = cache.bases.lock().unwrap();
        assert!(b.bytes <= BASE_DRAWS_BYTES && b.bytes == b.kept.iter().map(|k| k.1.bytes()).sum::<usize>());
        assert_eq!(b.kept.len(), BASE_DRAWS_BYTES / BaseDraws::bytes_for(100_000, 1));
        assert!(b.kept.iter().any(|k| k.1.seed() == 1) && b.kept.iter().any(|k| k.1.seed() == 40));
        drop(b);
        let mut big = request(3, 1, 0.05, 99);
        big.model.draws = 1_000_000; // 16 MB: never kept
        for likely in [0.05, 0.06] {
            big.model.changes[0].likely = likely;
            cache.get_or_compute(&big).unwrap();
        }
        assert!(!cache.bases.lock().unwrap().kept.iter().any(|k| k.1.seed() == 99));
    }
}
