//! Forecast routes: `POST /v1/forecast` (stateless) and the ledger: `POST /v1/forecasts`,
//! `GET /v1/forecasts`, `GET /v1/forecasts/{id}`, `POST /v1/forecasts/{id}/outcome`,
//! `GET /v1/calibration`.
//!
//! A saved forecast's report is always computed here from its request, never taken from the
//! client, so the ledger holds only numbers liftlab produced. A write is validated, stored and
//! read back in one transaction, and its answer rendered from what was read back: a write that
//! fails at any step stores nothing, and nothing is stored that cannot be read back. Writes
//! sent with an `Idempotency-Key` header are done once; a retry gets the first answer again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::Error;
use crate::forecast::history::PastEffect;
use crate::forecast::ledger::{
    observed_from_report, reconcile, Calibration, ForecastLift, ForecastMeta, Observed, Reconciliation,
};
use crate::forecast::{
    complete_report, forecast_impact_until, history::ledger_label, render, validate_input, BaseDraws, ForecastReport,
    ForecastRequest, ForecastSettings, Interval,
};
use crate::interrupt::Interrupt;
use crate::limits::MAX_PAST_EFFECTS;
use crate::report::Report;
use crate::server::error::{ApiError, ErrorBody, Json, Query};
use crate::server::work::Cost;
use crate::server::AppState;
use crate::store::{ForecastFilter, ForecastLine, Idempotency, NewForecast, NewOutcome, StoredForecast, Written};

pub(super) fn guarded_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(forecast))
        .routes(routes!(list_forecasts))
        .routes(routes!(get_forecast))
        .routes(routes!(get_calibration))
}

/// Cheap forecast routes anyone may call.
pub(super) fn open_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(forecast_defaults))
}

pub(super) fn write_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(save_forecast)).routes(routes!(add_outcome))
}

/// The most forecasts one list answers.
const MAX_LIMIT: usize = 500;

/// Fills `history.past` from the ledger's reconciled forecasts (the newest, up to
/// [`MAX_PAST_EFFECTS`] in all) when the request asks for it.
fn resolve_history(state: &AppState, req: &mut ForecastRequest) -> crate::Result<()> {
    let lang = req.language;
    let Some(h) = req.history.as_mut() else { return Ok(()) };
    let Some(q) = h.from_ledger.take() else { return Ok(()) };
    let room = MAX_PAST_EFFECTS.saturating_sub(h.past.len());
    let mut found = 0;
    for obs in state.store.observed_results(q.team.as_deref(), q.author.as_deref(), room)? {
        if let Some(se) = obs.std_err() {
            h.past.push(PastEffect { effect: obs.relative, std_err: se });
            found += 1;
        }
    }
    let from = ledger_label(lang, q.team.as_deref(), q.author.as_deref(), found);
    h.label = Some(match h.label.take() {
        Some(l) if !l.is_empty() => format!("{l}; {from}"),
        _ => from,
    });
    Ok(())
}

/// Forecasts up to twice the default size (100,000 draws of two changed nodes) are light work;
/// larger ones, and those that read the ledger, are heavy ([`Cost`]).
fn cost(req: &ForecastRequest) -> Cost {
    let m = &req.model;
    let ledger = req.history.as_ref().is_some_and(|h| h.from_ledger.is_some());
    if ledger || m.draws as u64 * m.changes.len() as u64 > 200_000 {
        Cost::Heavy
    } else {
        Cost::Light
    }
}

/// Checks the service's budget for one forecast: draws × changed nodes at most
/// `max_forecast_work`.
fn check_budget(state: &AppState, req: &ForecastRequest, within: &str) -> Result<(), Error> {
    let m = &req.model;
    let work = m.draws as u64 * m.changes.len() as u64;
    let max = state.config.max_forecast_work;
    if work > max {
        return Err(Error::invalid(
            format!("{within}model.draws"),
            format!(
                "{} draws of {} changed nodes are {work} node draws; this service computes at most {max} per request (max_forecast_work)",
                m.draws,
                m.changes.len()
            ),
        ));
    }
    Ok(())
}

/// The most memory the kept base draws take: 32 MiB, e.g. the draws of 20 seeds of a 100,000-draw
/// forecast of one changed node (1.6 MB each).
const BASE_DRAWS_BYTES: usize = 32 << 20;

/// Draws larger than this are never kept (so that one request cannot flush the rest): 100,000
/// draws of up to 5 changed nodes, or 500,000 of one.
const BASE_DRAWS_MAX_ENTRY: usize = BASE_DRAWS_BYTES / 4;

/// How many (seed, draws) pairs seen once are remembered: a seed's draws are kept from its second
/// forecast on, so that a stream of one-off seeds costs nothing but this list.
const SEEN_ONCE: usize = 256;

/// What one kept answer costs besides its key and JSON: the report's own numbers and strings
/// (about as large as its JSON) and the map's bookkeeping.
fn answer_bytes(key: &str, json: &[u8]) -> usize {
    key.len() + 2 * json.len() + 256
}

/// Recent forecast answers keyed by the canonical JSON of their (resolved) request: a forecast
/// is a pure function of its request, seed included, so a repeated request (a page projecting
/// again, a save after a projection) is answered without re-running the Monte Carlo. Bounded in
/// bytes (`cache_bytes`, keys included): the least recently used go first, and an answer larger
/// than a sixteenth of the whole is not kept.
///
/// It also keeps the base draws of recent seeds ([`BaseDraws`]; at most [`BASE_DRAWS_BYTES`],
/// least recently used dropped first): they depend on the seed and the number of draws only, so
/// a request that differs only in its funnel, as a PM's page sends them (seed 0 by default), is
/// answered without drawing again, with the same numbers as a fresh computation.
pub(crate) struct ForecastCache {
    answers: Mutex<Answers>,
    bases: Mutex<Bases>,
    /// Calibrations by (team, author), valid while the ledger's generation is the same.
    calibrations: Mutex<HashMap<LedgerFilter, (u64, Arc<Calibration>)>>,
}

/// A (team, author) filter of the ledger.
type LedgerFilter = (Option<String>, Option<String>);

/// The most calibrations kept (a filter each).
const CALIBRATIONS: usize = 64;

impl ForecastCache {
    pub(crate) fn new(max_bytes: usize) -> Self {
        ForecastCache {
            answers: Mutex::new(Answers { max_bytes, ..Default::default() }),
            bases: Default::default(),
            calibrations: Default::default(),
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
    map: HashMap<String, (u64, Arc<Answer>)>,
    tick: u64,
    bytes: usize,
    max_bytes: usize,
}

impl Answers {
    fn insert(&mut self, key: String, answer: Arc<Answer>) {
        let size = answer_bytes(&key, &answer.json);
        if size > self.max_bytes / 16 || self.map.contains_key(&key) {
            return;
        }
        if self.bytes + size > self.max_bytes {
            // drop the least recently used until a quarter is free
            let mut by_age: Vec<(u64, String)> = self.map.iter().map(|(k, v)| (v.0, k.clone())).collect();
            by_age.sort_unstable();
            for (_, k) in by_age {
                if self.bytes + size <= self.max_bytes * 3 / 4 {
                    break;
                }
                if let Some((_, a)) = self.map.remove(&k) {
                    self.bytes -= answer_bytes(&k, &a.json);
                }
            }
        }
        self.bytes += size;
        self.tick += 1;
        self.map.insert(key, (self.tick, answer));
    }
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
    fn compute(&self, key: String, req: &ForecastRequest, stop: &Interrupt) -> crate::Result<Arc<Answer>> {
        if let Some(hit) = self.get(&key) {
            return Ok(hit);
        }
        let report = self.forecast(req, stop)?;
        let json = to_json(&report)?.into();
        let out = Arc::new(Answer { report, json });
        if let Ok(mut c) = self.answers.lock() {
            c.insert(key, out.clone());
        }
        Ok(out)
    }

    /// `forecast_impact`, from kept base draws when the seed's are kept.
    fn forecast(&self, req: &ForecastRequest, stop: &Interrupt) -> crate::Result<ForecastReport> {
        let m = &req.model;
        if validate_input(m).is_err() {
            return forecast_impact_until(req, None, stop); // answers with the error
        }
        let found = self.bases.lock().map_err(|_| false).and_then(|mut b| b.find(m.seed, m.draws, m.changes.len()));
        match found {
            Ok(base) => forecast_impact_until(req, Some(&base), stop),
            Err(true) => {
                let base = Arc::new(BaseDraws::new(m.seed, m.draws, m.changes.len()));
                let report = forecast_impact_until(req, Some(&base), stop);
                if let Ok(mut b) = self.bases.lock() {
                    b.keep(base);
                }
                report
            }
            Err(false) => forecast_impact_until(req, None, stop),
        }
    }

    fn get_or_compute(&self, req: &ForecastRequest, stop: &Interrupt) -> crate::Result<Arc<Answer>> {
        self.compute(to_json(req)?, req, stop)
    }
}

/// A JSON body that is already serialised.
fn json_bytes(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.into()).into_response()
}

/// What a forecast answer carries besides the report.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ForecastParams {
    /// `svg`: the answer carries the charts as SVG in `charts` (the projected lift, the tornado,
    /// the cumulative gain) with their notes, drawn by the core in the request's language.
    charts: Option<String>,
    /// The width the charts are shown at, in pixels (280 to 2000; default 560).
    #[param(minimum = 280, maximum = 2000)]
    chart_width: Option<u32>,
}

impl ForecastParams {
    /// The chart width asked for, checked; `None` when no charts are asked for.
    fn width(&self) -> Result<Option<u32>, Error> {
        match self.charts.as_deref() {
            None => {
                if self.chart_width.is_some() {
                    return Err(Error::invalid("chart_width", "is for charts: add charts=svg"));
                }
                Ok(None)
            }
            Some("svg") => {
                let w = self.chart_width.unwrap_or(render::DEFAULT_WIDTH);
                render::check_width(w, "chart_width")?;
                Ok(Some(w))
            }
            Some(other) => Err(Error::invalid("charts", format!("'{other}' is not a chart format (svg)"))),
        }
    }
}

/// The answer, with the charts when asked for.
fn answer(answer: &Answer, charts: Option<(&ForecastRequest, u32)>) -> Result<Response, ApiError> {
    let Some((req, w)) = charts else { return Ok(json_bytes(StatusCode::OK, answer.json.clone())) };
    let mut report = answer.report.clone();
    report.charts = Some(render::charts(req, &report, w)?);
    Ok(json_bytes(StatusCode::OK, to_json(&report)?))
}

/// Projects the topline change of an expected change to a metric tree, with its interval, the
/// PRD formula, sensitivities, and (optionally) the test plan and a reality check from history.
/// `history.from_ledger` takes the past effects from the ledger's reconciled forecasts. At most
/// `max_forecast_work` draws × changed nodes per request (2,000,000 by default). The answer echoes
/// the settings used, defaults filled in (`settings`); with `charts=svg` it carries the charts.
#[utoipa::path(post, path = "/v1/forecast", tag = "forecast", request_body = ForecastRequest, params(ForecastParams),
    security((), ("bearer" = [])),
    responses((status = 200, body = ForecastReport), (status = 422, body = ErrorBody), (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn forecast(
    State(state): State<AppState>,
    q: Result<Query<ForecastParams>, ApiError>,
    Json(req): Json<ForecastRequest>,
) -> Result<Response, ApiError> {
    // a body's error is answered before the query's (the body is read first)
    let Query(q) = q?;
    let width = q.width()?;
    check_budget(&state, &req, "")?;
    if req.history.as_ref().is_none_or(|h| h.from_ledger.is_none()) {
        if let Some(hit) = to_json(&req).ok().and_then(|key| state.forecasts.get(&key)) {
            return answer(&hit, width.map(|w| (&req, w)));
        }
    }
    let shown = width.map(|_| req.clone());
    let work = state.work.clone();
    let out = work
        .run(cost(&req), move |stop| {
            let mut req = req;
            resolve_history(&state, &mut req)?;
            state.forecasts.get_or_compute(&req, stop)
        })
        .await?;
    answer(&out, shown.as_ref().zip(width))
}

/// The defaults of a forecast request (what a request without them is answered with, and what
/// every answer echoes as `settings`): reach, dilution, period, draws, seed, interval level, and
/// the test plan's longest run, α and power.
#[utoipa::path(get, path = "/v1/forecast/defaults", tag = "forecast",
    responses((status = 200, body = ForecastSettings)))]
async fn forecast_defaults() -> Json<ForecastSettings> {
    Json(ForecastSettings::default())
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
    /// The share of units the change reaches: the lift among them is the topline's / reach.
    reach: f64,
    /// Deprecated: the same as `reach` (its name before; written for one release).
    #[schema(deprecated)]
    coverage: f64,
    /// The projected lift among the reached units (what the test measures; the ledger reconciles
    /// on this scale), beside the topline's in `report.forecast.relative`.
    reached: Interval,
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
    /// The projected relative lift of the whole topline and its interval.
    relative: Interval,
    /// The same among the reached units (`relative / reach`), the scale of reconciliation.
    reached: Interval,
    /// The share of units the change reaches.
    reach: f64,
    /// The level of the interval.
    confidence_level: f64,
    /// Deprecated: the same as `reach` (its name before; written for one release).
    #[schema(deprecated)]
    coverage: f64,
    /// Deprecated: the same as `confidence_level` (its name before; written for one release).
    #[schema(deprecated)]
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

fn outcome_view(lift: &ForecastLift, o: Option<&crate::store::StoredOutcome>) -> crate::Result<Option<OutcomeView>> {
    o.map(|o| {
        let mut observed: Observed = parse_stored(&o.observed_json)?;
        observed.scale = o.scale; // the column: outcomes saved before it existed have it too
        Ok(OutcomeView {
            reconciliation: reconcile(lift, &observed),
            observed,
            source: o.source.clone(),
            note: o.note.clone(),
            recorded_at: o.recorded_at.clone(),
        })
    })
    .transpose()
}

fn saved_view(f: StoredForecast) -> crate::Result<SavedForecast> {
    let outcome = outcome_view(&f.lift, f.outcome.as_ref())?;
    let request: ForecastRequest = parse_stored(&f.request_json)?;
    let mut report: ForecastReport = parse_stored(&f.report_json)?;
    complete_report(&request, &mut report); // texts and views of reports saved by older versions
    Ok(SavedForecast {
        id: f.id,
        reach: f.lift.reach,
        coverage: f.lift.reach,
        reached: f.lift.reached(),
        request,
        report,
        title: f.meta.title,
        author: f.meta.author,
        team: f.meta.team,
        metric: f.meta.metric,
        created_at: f.created_at,
        outcome,
    })
}

/// The answer of a write, rendered from the rows the transaction reads back: if they cannot be
/// read back, the write fails and is rolled back.
fn written_view(f: StoredForecast) -> crate::Result<String> {
    let view = saved_view(f).map_err(|e| {
        Error::invalid("request", format!("the forecast cannot be stored: a number does not read back ({e})"))
    })?;
    to_json(&view)
}

/// The `Idempotency-Key` of a write, with the route and a fingerprint of its request.
struct IdempotencyKey {
    key: String,
    route: String,
    fingerprint: String,
}

impl IdempotencyKey {
    fn from_headers<T: Serialize>(headers: &HeaderMap, route: String, body: &T) -> Result<Option<Self>, Error> {
        let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
        let key = v
            .to_str()
            .ok()
            .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| Error::invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters"))?;
        // FNV-1a over the canonical JSON of the request: stable across versions and platforms
        let text = to_json(body)?;
        let hash =
            text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        Ok(Some(IdempotencyKey { key: key.to_string(), route, fingerprint: format!("{hash:016x}:{}", text.len()) }))
    }

    fn as_store(&self) -> Idempotency<'_> {
        Idempotency { key: &self.key, route: &self.route, fingerprint: &self.fingerprint }
    }
}

/// The HTTP answer of a write.
fn written(w: Written, status: StatusCode) -> Response {
    match w {
        Written::Fresh(body) => json_bytes(status, body),
        Written::Replayed { status, body } => {
            let mut r = json_bytes(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body);
            r.headers_mut().insert("idempotent-replayed", header::HeaderValue::from_static("true"));
            r
        }
    }
}

/// Computes and saves a forecast; answers once it is committed to disk. With an
/// `Idempotency-Key` header, a retry of the same request answers the first save again.
#[utoipa::path(post, path = "/v1/forecasts", tag = "forecast", request_body = SaveForecast,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retried save answer the first one instead of saving twice")),
    responses((status = 201, body = SavedForecast), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn save_forecast(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<SaveForecast>,
) -> Result<Response, ApiError> {
    check_budget(&state, &body.request, "request.")?;
    let idem = IdempotencyKey::from_headers(
        &headers,
        "POST /v1/forecasts".into(),
        &(&body.title, &body.author, &body.team, &body.metric, &body.request),
    )?;
    let work = state.work.clone();
    let w = work
        .run(cost(&body.request), move |stop| {
            let meta = ForecastMeta { title: body.title, author: body.author, team: body.team, metric: body.metric }
                .validated()?;
            let mut req = body.request;
            resolve_history(&state, &mut req).map_err(|e| e.within("request"))?;
            let answer = state.forecasts.get_or_compute(&req, stop).map_err(|e| e.within("request"))?;
            let report = &answer.report;
            let request_json = to_json(&req)?;
            let report_json = std::str::from_utf8(&answer.json).map_err(|e| Error::Internal(e.to_string()))?;
            let new = NewForecast {
                meta: &meta,
                request_json: &request_json,
                report_json,
                relative: report.forecast.relative,
                reach: req.model.reach,
                confidence: report.forecast.confidence_level,
            };
            state.store.write(idem.as_ref().map(IdempotencyKey::as_store).as_ref(), 201, |tx| {
                written_view(tx.insert_forecast(&new)?)
            })
        })
        .await?;
    Ok(written(w, StatusCode::CREATED))
}

fn to_json<T: Serialize>(v: &T) -> crate::Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))
}

/// Filters of the ledger list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListParams {
    team: Option<String>,
    author: Option<String>,
    /// Only forecasts with this text in their title, author, team or metric (ASCII letters in
    /// any case; at most 200 characters).
    q: Option<String>,
    /// Only forecasts with an id below this (paging, newest first).
    before: Option<i64>,
    /// At most this many (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
}

fn summary(f: ForecastLine) -> crate::Result<ForecastSummary> {
    Ok(ForecastSummary {
        outcome: outcome_view(&f.lift, f.outcome.as_ref())?,
        reached: f.lift.reached(),
        reach: f.lift.reach,
        coverage: f.lift.reach,
        id: f.id,
        title: f.meta.title,
        author: f.meta.author,
        team: f.meta.team,
        metric: f.meta.metric,
        created_at: f.created_at,
        relative: f.lift.whole(),
        confidence_level: f.confidence,
        confidence: f.confidence,
    })
}

/// Saved forecasts, newest first, with their newest outcome; paged with `before` and `limit`.
#[utoipa::path(get, path = "/v1/forecasts", tag = "forecast", params(ListParams),
    security((), ("bearer" = [])),
    responses((status = 200, body = ForecastList), (status = 422, body = ErrorBody)))]
async fn list_forecasts(State(state): State<AppState>, Query(q): Query<ListParams>) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::invalid("limit", format!("must be between 1 and {MAX_LIMIT}, got {limit}")).into());
    }
    if q.q.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(Error::invalid("q", "is longer than 200 characters").into());
    }
    let text = q.q.filter(|t| !t.trim().is_empty()).map(|t| t.trim().to_string());
    let work = state.work.clone();
    work.run(Cost::Light, move |_| {
        let rows = state.store.list_forecasts(&ForecastFilter {
            team: q.team,
            author: q.author,
            text,
            before: q.before,
            limit,
        })?;
        let forecasts = rows.into_iter().map(summary).collect::<crate::Result<Vec<_>>>()?;
        super::assign::json_response(&ForecastList { forecasts })
    })
    .await
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

/// One saved forecast: its request, report and newest outcome; with `charts=svg` its report
/// carries the charts, as `POST /v1/forecast` answers them.
#[utoipa::path(get, path = "/v1/forecasts/{id}", tag = "forecast", params(("id" = i64, Path, description = "forecast id", minimum = 1), ForecastParams),
    security((), ("bearer" = [])),
    responses((status = 200, body = SavedForecast), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_forecast(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<ForecastParams>, ApiError>,
) -> Result<Json<SavedForecast>, ApiError> {
    let id = parse_id(&id)?;
    let Query(q) = q?;
    let width = q.width()?;
    let work = state.work.clone();
    let found = work.run(Cost::Light, move |_| state.store.get_forecast(id)?.map(saved_view).transpose()).await?;
    let mut found = found.ok_or_else(|| not_found(id))?;
    if let Some(w) = width {
        found.report.charts = Some(render::charts(&found.request, &found.report, w)?);
    }
    Ok(Json(found))
}

/// The observed result of a forecast's experiment: typed in, or read from a liftlab analysis report.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
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

/// Attaches the observed result to a forecast (appended: earlier outcomes are kept). With an
/// `Idempotency-Key` header, a retry of the same request answers the first one again.
#[utoipa::path(post, path = "/v1/forecasts/{id}/outcome", tag = "forecast", request_body = OutcomeBody,
    params(("id" = i64, Path, description = "forecast id", minimum = 1),
           ("Idempotency-Key" = Option<String>, Header, description = "makes a retried request answer the first one instead of appending twice")),
    security(("bearer" = [])),
    responses((status = 200, body = SavedForecast), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_outcome(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<OutcomeBody>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    if body.note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(Error::invalid("note", "is longer than 2000 characters").into());
    }
    let idem = IdempotencyKey::from_headers(&headers, format!("POST /v1/forecasts/{id}/outcome"), &body)?;
    let work = state.work.clone();
    let w = work
        .run(Cost::Light, move |_| {
            let Some(f) = state.store.get_forecast(id)? else { return Ok(None) };
            let (observed, source) = match (body.observed, body.report) {
                (Some(o), None) => {
                    o.validate().map_err(|e| e.within("observed"))?;
                    (o, "typed".to_string())
                }
                (None, Some(report)) => {
                    let metric = body.metric.unwrap_or_else(|| f.meta.metric.clone());
                    let o = observed_from_report(&report, &metric, body.variant.as_deref())?;
                    let variant =
                        body.variant.unwrap_or_else(|| {
                            report.metrics.iter().find(|m| m.name == metric).map_or(String::new(), |m| {
                                m.effects.first().map_or(String::new(), |e| e.variant.clone())
                            })
                        });
                    (o, format!("report:{}/{metric}/{variant}", report.experiment))
                }
                (Some(_), Some(_)) => return Err(Error::invalid("observed", "give `observed` or `report`, not both")),
                (None, None) => {
                    return Err(Error::invalid("observed", "give the observed result or an analysis `report`"))
                }
            };
            let json = to_json(&observed)?;
            let new =
                NewOutcome { observed_json: &json, observed: &observed, source: &source, note: body.note.as_deref() };
            let mut missing = false;
            let w = state.store.write(idem.as_ref().map(IdempotencyKey::as_store).as_ref(), 200, |tx| {
                match tx.insert_outcome(id, &new)? {
                    Some(f) => written_view(f),
                    None => {
                        missing = true; // removed meanwhile: nothing is written
                        Err(Error::not_found("id", "forecast", id.to_string()))
                    }
                }
            });
            match w {
                Err(_) if missing => Ok(None),
                w => w.map(Some),
            }
        })
        .await?;
    w.map(|w| written(w, StatusCode::OK)).ok_or_else(|| not_found(id))
}

/// Filters of the calibration.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CalibrationParams {
    team: Option<String>,
    author: Option<String>,
}

/// How well forecasts matched results: interval coverage, mean absolute error, bias,
/// directional hit rate and the share that shipped a significant win; overall and per team,
/// author and month. Computed by streaming the ledger's columns (memory for the groups only) and
/// kept until the ledger changes.
#[utoipa::path(get, path = "/v1/calibration", tag = "forecast", params(CalibrationParams),
    security((), ("bearer" = [])),
    responses((status = 200, body = Calibration), (status = 422, body = ErrorBody)))]
async fn get_calibration(
    State(state): State<AppState>,
    Query(q): Query<CalibrationParams>,
) -> Result<Json<Calibration>, ApiError> {
    let key = (q.team, q.author);
    let generation = state.store.generation();
    let kept = state.forecasts.calibrations.lock().ok().and_then(|m| m.get(&key).cloned());
    if let Some((_, cal)) = kept.filter(|(g, _)| *g == generation) {
        return Ok(Json(cal.as_ref().clone()));
    }
    let work = state.work.clone();
    let cal = work
        .run(Cost::Heavy, move |_| {
            let cal = Arc::new(state.store.calibration(key.0.as_deref(), key.1.as_deref())?);
            if let Ok(mut m) = state.forecasts.calibrations.lock() {
                if m.len() >= CALIBRATIONS {
                    m.clear();
                }
                m.insert(key, (generation, cal.clone()));
            }
            Ok(cal)
        })
        .await?;
    Ok(Json(cal.as_ref().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::forecast_impact;
    use crate::interrupt::NEVER;

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
        let cache = ForecastCache::new(16 << 20);
        let reqs = [request(4, 1, 0.05, 0), request(4, 1, 0.06, 0), request(6, 2, 0.02, 0), request(3, 1, 0.1, 0)];
        for (i, req) in reqs.iter().enumerate() {
            let got = cache.get_or_compute(req, &NEVER).unwrap();
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
        let cache = ForecastCache::new(16 << 20);
        let mut hot = request(3, 1, 0.05, 1);
        for seed in 1..=40u64 {
            for likely in [0.01, 0.02] {
                cache.get_or_compute(&request(3, 1, likely, seed), &NEVER).unwrap();
            }
            // seed 1 is used all along, so it stays
            hot.model.changes[0].likely += 0.0001;
            cache.get_or_compute(&hot, &NEVER).unwrap();
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
            cache.get_or_compute(&big, &NEVER).unwrap();
        }
        assert!(!cache.bases.lock().unwrap().kept.iter().any(|k| k.1.seed() == 99));
    }
}
