//! Assignment routes: units to variants, the hashing primitives, and the active spec.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::assign::{self, Assignment, HashVersion, LongAssignments, SavedGroups, UnitId};
use crate::error::Error;
use crate::server::error::{ApiError, ErrorBody, Json};
use crate::server::work::Cost;
use crate::server::{ActiveSpec, AppState};
use crate::spec::Spec;

pub(super) fn read_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(assign_one))
        .routes(routes!(hash))
        .routes(routes!(bucket_ranges))
        .routes(routes!(choose_variant))
        .routes(routes!(in_namespace))
        .routes(routes!(eval_condition))
        .routes(routes!(get_spec))
}

pub(super) fn guarded_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(assign_many))
}

pub(super) fn write_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(put_spec))
}

/// A unit id in the schema: a string, or a number (hashed as JavaScript prints it).
fn unit_id_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .description(Some("a string, or a number (hashed as JavaScript prints it: 47593751.0 is \"47593751\")"))
            .build(),
    )
}

fn unit_ids_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new().items(utoipa::openapi::RefOr::T(unit_id_schema())).build()
}

/// Uses the request's inline spec (TOML text or a JSON object), else the service's active spec.
pub(super) fn resolve_spec(state: &AppState, inline: Option<&Value>) -> Result<Arc<Spec>, Error> {
    match inline {
        Some(Value::String(text)) => Ok(Arc::new(Spec::from_toml(text).map_err(|e| e.within("spec"))?)),
        Some(v @ Value::Object(_)) => Ok(Arc::new(Spec::from_json(v).map_err(|e| e.within("spec"))?)),
        Some(_) => Err(Error::invalid("spec", "must be TOML text or a JSON object")),
        None => state.active_spec().map(|a| a.spec.clone()).ok_or_else(|| {
            Error::invalid(
                "spec",
                "no spec in the request and none loaded; pass `spec` or start the service with --spec",
            )
        }),
    }
}

/// Assign one unit.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AssignRequest {
    /// The unit (user id, phone number, lead id): a string, or a number (hashed as JavaScript
    /// prints it, `47593751.0` -> "47593751", as GrowthBook's SDKs do).
    #[schema(schema_with = unit_id_schema)]
    unit_id: UnitId,
    /// The unit's attributes, for targeting and custom hash attributes.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    attributes: Option<Value>,
    /// Only this experiment (default: every experiment of the spec).
    #[serde(default)]
    experiment: Option<String>,
    /// Inline spec (TOML text or JSON object); default: the service's active spec.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    spec: Option<Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct AssignResponse {
    unit_id: String,
    assignments: Vec<Assignment>,
}

/// Assigns one unit to the experiments of the spec.
#[utoipa::path(post, path = "/v1/assign", tag = "assign", request_body = AssignRequest,
    responses((status = 200, body = AssignResponse), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody)))]
async fn assign_one(
    State(state): State<AppState>,
    Json(req): Json<AssignRequest>,
) -> Result<Json<AssignResponse>, ApiError> {
    let spec = resolve_spec(&state, req.spec.as_ref())?;
    let attrs = req.attributes.as_ref();
    let unit_id = req.unit_id.0;
    let assignments = match &req.experiment {
        Some(key) => vec![assign::assign_experiment(&spec, key, &unit_id, attrs)?],
        None => assign::assign_unit(&spec, &unit_id, attrs)?,
    };
    Ok(Json(AssignResponse { unit_id, assignments }))
}

/// Assign many units.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct BatchRequest {
    /// The units: strings, or numbers (hashed as JavaScript prints them).
    #[schema(schema_with = unit_ids_schema)]
    ids: Vec<UnitId>,
    /// One attribute object per unit (optional).
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    attributes: Option<Vec<Value>>,
    /// Only this experiment (default: every experiment of the spec).
    #[serde(default)]
    experiment: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    spec: Option<Value>,
}

/// Assigns many units (column-oriented, long format: one row per unit and experiment). At most
/// `max_batch_rows` rows (ids × experiments, 100,000 by default) per request.
#[utoipa::path(post, path = "/v1/assign/batch", tag = "assign", request_body = BatchRequest,
    security((), ("bearer" = [])),
    responses((status = 200, body = LongAssignments), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn assign_many(State(state): State<AppState>, Json(req): Json<BatchRequest>) -> Result<Response, ApiError> {
    let max_rows = state.config.max_batch_rows;
    let work = state.work.clone();
    let cost = if req.ids.len() > LIGHT_ROWS { Cost::Heavy } else { Cost::Light };
    work.run(cost, move |_| {
        let spec = resolve_spec(&state, req.spec.as_ref())?;
        let experiments = if req.experiment.is_some() { 1 } else { spec.experiments.len() };
        let rows = req.ids.len().saturating_mul(experiments);
        if rows > max_rows {
            return Err(Error::invalid(
                "ids",
                format!(
                    "{} ids × {experiments} experiments are {rows} rows; at most {max_rows} per request (max_batch_rows): send smaller batches",
                    req.ids.len()
                ),
            ));
        }
        let only = req.experiment.map(|k| vec![k]);
        let out = assign::assign_long(&spec, only.as_deref(), &req.ids, req.attributes.as_deref(), &mut |_| {})?;
        json_response(&out)
    })
    .await
}

/// Batches and raw analyses up to this many rows are light work ([`Cost`]).
pub(super) const LIGHT_ROWS: usize = 10_000;

/// A JSON answer serialised by the caller (on a blocking thread, for large answers).
pub(super) fn json_response<T: Serialize>(v: &T) -> Result<Response, Error> {
    let body = serde_json::to_vec(v).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct HashRequest {
    seed: String,
    value: String,
    /// 1 or 2; 2 when absent, as at the CLI and in Python.
    #[serde(default = "HashVersion::default_number")]
    #[schema(default = 2)]
    version: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct HashResponse {
    /// In [0, 1).
    hash: f64,
}

/// GrowthBook-compatible hash of a value.
#[utoipa::path(post, path = "/v1/hash", tag = "primitives", request_body = HashRequest,
    responses((status = 200, body = HashResponse), (status = 422, body = ErrorBody)))]
async fn hash(Json(req): Json<HashRequest>) -> Result<Json<HashResponse>, ApiError> {
    let v = HashVersion::from_number(req.version, "version")?;
    Ok(Json(HashResponse { hash: assign::hash_unit(&req.seed, &req.value, v) }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RangesRequest {
    n_variants: usize,
    #[serde(default = "one")]
    coverage: f64,
    #[serde(default)]
    weights: Option<Vec<f64>>,
}

fn one() -> f64 {
    1.0
}

#[derive(Serialize, utoipa::ToSchema)]
struct RangesResponse {
    /// `[start, end)` per variant.
    ranges: Vec<[f64; 2]>,
}

/// Bucket ranges for a coverage and weights.
#[utoipa::path(post, path = "/v1/bucket-ranges", tag = "primitives", request_body = RangesRequest,
    responses((status = 200, body = RangesResponse), (status = 422, body = ErrorBody)))]
async fn bucket_ranges(Json(req): Json<RangesRequest>) -> Result<Json<RangesResponse>, ApiError> {
    let r = assign::bucket_ranges(req.n_variants, req.coverage, req.weights.as_deref())?;
    Ok(Json(RangesResponse { ranges: r.into_iter().map(|(s, e)| [s, e]).collect() }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ChooseRequest {
    hash: f64,
    /// `[start, end)` pairs.
    #[schema(value_type = Vec<Vec<f64>>)]
    ranges: Vec<Vec<f64>>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ChooseResponse {
    /// Index of the range holding the hash, or null.
    variant_index: Option<usize>,
}

/// The variant whose range holds a hash.
#[utoipa::path(post, path = "/v1/choose-variant", tag = "primitives", request_body = ChooseRequest,
    responses((status = 200, body = ChooseResponse), (status = 422, body = ErrorBody)))]
async fn choose_variant(Json(req): Json<ChooseRequest>) -> Result<Json<ChooseResponse>, ApiError> {
    if !req.hash.is_finite() {
        return Err(Error::invalid("hash", "must be a finite number").into());
    }
    let ranges = req
        .ranges
        .iter()
        .enumerate()
        .map(|(i, r)| match r.as_slice() {
            &[s, e] => Ok((s, e)),
            _ => {
                Err(Error::invalid(format!("ranges[{i}]"), format!("has {} numbers; a range is [start, end)", r.len())))
            }
        })
        .collect::<Result<Vec<(f64, f64)>, Error>>()?;
    Ok(Json(ChooseResponse { variant_index: assign::choose_variant(req.hash, &ranges) }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NamespaceRequest {
    unit_id: String,
    name: String,
    start: f64,
    end: f64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct NamespaceResponse {
    in_namespace: bool,
}

/// Whether a unit falls in a namespace slice.
#[utoipa::path(post, path = "/v1/in-namespace", tag = "primitives", request_body = NamespaceRequest,
    responses((status = 200, body = NamespaceResponse), (status = 422, body = ErrorBody)))]
async fn in_namespace(Json(req): Json<NamespaceRequest>) -> Result<Json<NamespaceResponse>, ApiError> {
    Ok(Json(NamespaceResponse { in_namespace: assign::in_namespace(&req.unit_id, &req.name, req.start, req.end) }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ConditionRequest {
    #[schema(value_type = Object)]
    condition: Value,
    /// The unit's attributes (an object; null or absent is `{}`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    attributes: Value,
    /// Saved groups for `$inGroup`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    groups: Option<SavedGroups>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ConditionResponse {
    result: bool,
}

/// Evaluates a targeting condition against attributes.
#[utoipa::path(post, path = "/v1/eval-condition", tag = "primitives", request_body = ConditionRequest,
    responses((status = 200, body = ConditionResponse), (status = 422, body = ErrorBody)))]
async fn eval_condition(Json(req): Json<ConditionRequest>) -> Result<Json<ConditionResponse>, ApiError> {
    let groups = req.groups.unwrap_or_default();
    if !req.condition.is_object() {
        return Err(Error::invalid("condition", "must be a JSON object (a GrowthBook condition)").into());
    }
    let attrs = match req.attributes {
        Value::Null => Value::Object(Default::default()),
        a @ Value::Object(_) => a,
        _ => return Err(Error::invalid("attributes", "must be a JSON object of attributes").into()),
    };
    Ok(Json(ConditionResponse { result: assign::eval_condition(&req.condition, &attrs, &groups)? }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct SpecResponse {
    /// Stored version number.
    version: i64,
    /// The spec as TOML.
    toml: String,
    /// Experiment keys.
    experiments: Vec<String>,
}

fn spec_response(a: &ActiveSpec) -> SpecResponse {
    SpecResponse {
        version: a.version,
        toml: a.toml.clone(),
        experiments: a.spec.experiments.iter().map(|e| e.key.clone()).collect(),
    }
}

/// The active experiment spec.
#[utoipa::path(get, path = "/v1/spec", tag = "assign",
    responses((status = 200, body = SpecResponse), (status = 404, body = ErrorBody)))]
async fn get_spec(State(state): State<AppState>) -> Result<Json<SpecResponse>, ApiError> {
    let active = state.active_spec().ok_or_else(|| Error::not_found("spec", "spec", "active"))?;
    Ok(Json(spec_response(&active)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PutSpecRequest {
    /// The new spec as TOML text.
    toml: String,
}

/// Replaces the active spec; stored as a new version before it is acknowledged.
#[utoipa::path(put, path = "/v1/spec", tag = "assign", request_body = PutSpecRequest, security(("bearer" = [])),
    responses((status = 200, body = SpecResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_spec(
    State(state): State<AppState>,
    Json(req): Json<PutSpecRequest>,
) -> Result<Json<SpecResponse>, ApiError> {
    let spec = Spec::from_toml(&req.toml).map_err(|e| e.within("toml"))?;
    let store = state.store.clone();
    let text = req.toml.clone();
    let stored = tokio::task::spawn_blocking(move || store.save_spec(&text))
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    let active = ActiveSpec { spec: Arc::new(spec), version: stored.version, toml: req.toml };
    let resp = spec_response(&active);
    if let Ok(mut g) = state.spec.write() {
        *g = Some(Arc::new(active));
    }
    Ok(Json(resp))
}
