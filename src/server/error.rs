//! HTTP errors: every failure leaves as `{"error": {"code", "message", "field"}}`, with
//! `path` (the field as keys and indices) and `detail` (a finer code) when the core gives them.
//!
//! Request bodies ([`Json`], [`parse_body`]) and query strings ([`Query`], [`parse_query`]) are
//! read the same way: deserialized through `serde_path_to_error`, so a value of the wrong shape is
//! 422 `invalid_input` naming the field by the deserializer's tracked path
//! ([`shape_error`]). The one thing serde gives only as text, the name of a field missing from,
//! unknown to or repeated in an object, is read in [`named_field`].

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Semaphore;

use super::strict::Strict;
use crate::error::{Detail, Error, FieldPath, Segment};

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable code: `invalid_input`, `schema_error`, `insufficient_data`, `not_found`,
    /// `malformed_request` (400), `unauthorized` (401), `method_not_allowed` (405),
    /// `request_timeout` (408), `idempotency_conflict` (409), `payload_too_large` (413),
    /// `uri_too_long` (414), `unsupported_media_type` (415), `headers_too_large` (431),
    /// `overloaded` / `deadline_exceeded` (503), `internal` (500).
    pub code: String,
    pub message: String,
    /// The request field at fault, when there is one (dotted path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The same field as keys (strings) and indices (integers), when the core gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = path_schema, required = false)]
    pub path: Option<Vec<serde_json::Value>>,
    /// A finer stable code under `code` where one is useful (`not_a_number`, `not_finite`,
    /// `budget_too_small`, `unknown_experiment`, `ambiguous_experiment`, `missing_column`,
    /// `not_a_date`, `length_mismatch`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'static str>,
}

/// `path`: an array of keys (strings) and indices (integers).
fn path_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
    let segment = Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(ObjectBuilder::new().schema_type(Type::Integer))
            .build(),
    );
    ArrayBuilder::new().items(utoipa::openapi::RefOr::T(segment)).build()
}

/// An error on its way out of a handler.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub path: Option<Vec<serde_json::Value>>,
    pub detail: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None, path: None, detail: None }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::InvalidInput { .. } | Error::Schema { .. } | Error::InsufficientData { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Cancelled(_) => {
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "deadline_exceeded",
                    "the request's work did not finish within the service's deadline (request_timeout_secs); try again later",
                )
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            // Details stay in the log; the client learns only that it is not its fault.
            tracing::error!(error = %e, "internal error");
            return ApiError::new(status, "internal", "internal error");
        }
        let path = e.path().map(path_json);
        ApiError {
            status,
            code: e.code(),
            message: e.to_string(),
            field: e.field().map(str::to_string),
            path,
            detail: e.detail().map(Detail::as_str),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body is larger than the configured limit (body_limit_bytes)",
            );
        }
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_request", format!("the request body could not be read: {r}"))
    }
}

/// A field path as the body's `path`: keys (strings) and indices (integers).
fn path_json(p: &FieldPath) -> Vec<serde_json::Value> {
    p.segments()
        .iter()
        .map(|s| match s {
            Segment::Key(k) => serde_json::Value::from(k.as_str()),
            Segment::Index(i) => serde_json::Value::from(*i),
        })
        .collect()
}

/// The name of the field a serde message is about, in the three message shapes that give it only
/// as text: `missing field `unit_id``, `unknown field `colour`, expected one of ...` and
/// `duplicate field `seed``. serde reports these with the path of the object that lacks, meets or
/// repeats the field (serde_json's messages add ` at line 1 column 9`); the answer says whether
/// the field is missing (then the path never holds it). The only place the service reads a
/// deserializer's text; anything else it names by the tracked path alone.
fn named_field(message: &str) -> Option<(&str, bool)> {
    [("missing field `", true), ("unknown field `", false), ("duplicate field `", false)]
        .iter()
        .find_map(|(shape, missing)| message.strip_prefix(shape).map(|r| (r, *missing)))
        .and_then(|(r, missing)| r.split_once('`').map(|(name, _)| (name, missing)))
}

/// A value of the wrong shape in a body or a query string: 422 `invalid_input`, its field the
/// deserializer's tracked `path` (`weights[1]`), completed by the name serde gives only in its
/// message ([`named_field`]) when the path stops at the object that lacks or meets it. A value at
/// the top (the body is an array) names no field.
fn shape_error(path: &serde_path_to_error::Path, message: String) -> ApiError {
    use serde_path_to_error::Segment as S;
    let mut segments: Vec<Segment> = path
        .iter()
        .map(|s| match s {
            S::Seq { index } => Segment::Index(*index),
            S::Map { key } => Segment::Key(key.clone()),
            S::Enum { variant } => Segment::Key(variant.clone()),
            S::Unknown => Segment::Key("?".into()),
        })
        .collect();
    if let Some((name, missing)) = named_field(&message) {
        let name = Segment::Key(name.to_string());
        // an unknown or repeated key may already be the path's last step; a missing one never is
        if missing || segments.last() != Some(&name) {
            segments.push(name);
        }
    }
    let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message);
    if !segments.is_empty() {
        let field = FieldPath::new(segments);
        err.message = format!("{field}: {}", err.message);
        err.path = Some(path_json(&field));
        err.field = Some(field.to_string());
    }
    err
}

/// Parses a query string into `T`, as [`parse_body`] parses a body: a parameter of the wrong type,
/// an unknown or a missing one is 422 naming it (`chart_width: invalid digit found in string`).
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let path = e.path().clone();
        shape_error(&path, e.into_inner().to_string())
    })
}

/// A query string, read by [`parse_query`] with every failure answered in the service's error
/// shape, naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Query)
    }
}

/// How request bodies are read, set on every request by the app: how long a client may take to
/// send one (`body_timeout_secs`), how many bytes of bodies may be held at once (each body
/// reserves its `Content-Length`, or the body limit when it has none, before it is read, so a
/// thousand clients sending large bodies cannot exhaust memory), and how many large bodies may be
/// parsed at once (one per core).
#[derive(Clone, Debug)]
pub struct BodyLimits {
    pub timeout: Duration,
    pub limit: usize,
    /// KiB of bodies held at once.
    pub kib: Arc<Semaphore>,
    pub parsers: Arc<Semaphore>,
}

impl BodyLimits {
    pub fn new(timeout: Duration, limit: usize, in_flight_bytes: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        BodyLimits {
            timeout,
            limit,
            kib: Arc::new(Semaphore::new((in_flight_bytes / 1024).max(limit / 1024 + 1))),
            parsers: Arc::new(Semaphore::new(cores)),
        }
    }
}

fn overloaded(what: &str) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", format!("the service is busy {what}; try again later"))
}

/// Bodies longer than this are parsed on a blocking thread, so that parsing a large body never
/// holds up an async worker (and with it `/healthz`).
const PARSE_INLINE_BYTES: usize = 64 * 1024;

/// Parses a request body: a JSON object whose fields deserialize into `T`. Malformed JSON is 400;
/// valid JSON of the wrong shape (an array, a wrong type, a missing field, an unknown field) is 422
/// naming the field by its path.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let malformed = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "malformed_request", m);
    let shape = |m: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", m);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(malformed("the request body is empty; send a JSON object".into())),
        Some(b'{') => {}
        Some(_) => {
            return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => shape("the request body must be a JSON object with named fields"),
                Err(e) => malformed(format!("the request body is not valid JSON: {e}")),
            })
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize::<_, T>(Strict(&mut de)).map_err(|e| {
        let path = e.path().clone();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => shape_error(&path, inner.to_string()),
            _ => malformed(format!("the request body is not valid JSON: {inner}")),
        }
    })?;
    de.end().map_err(|e| malformed(format!("the request body is not valid JSON: {e}")))?;
    Ok(value)
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let mime = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unread_body = matches!(self.status, StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
                path: self.path,
                detail: self.detail,
            },
        };
        let mut r = (self.status, axum::Json(body)).into_response();
        if unread_body {
            // the rest of the body was never read: the connection cannot carry another request
            r.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
        }
        r
    }
}

/// A JSON request body: an object, read within the body timeout and parsed (on a blocking thread
/// when large) with every failure answered in the service's error shape, naming the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned + Send + 'static,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the request body as JSON with `content-type: application/json`",
            ));
        }
        let limits = req
            .extensions()
            .get::<BodyLimits>()
            .cloned()
            .unwrap_or_else(|| BodyLimits::new(Duration::from_secs(30), 8 << 20, 128 << 20));
        let until = tokio::time::Instant::now() + limits.timeout;
        let claimed = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if claimed.is_some_and(|n| n > limits.limit) {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body is larger than the configured limit (body_limit_bytes)",
            ));
        }
        let kib = (claimed.unwrap_or(limits.limit) / 1024 + 1) as u32;
        let _held = tokio::time::timeout_at(until, limits.kib.clone().acquire_many_owned(kib))
            .await
            .map_err(|_| overloaded("receiving other request bodies"))?
            .map_err(|e| ApiError::from(Error::Internal(e.to_string())))?;
        let bytes = match tokio::time::timeout_at(until, Bytes::from_request(req, state)).await {
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    format!(
                        "the request body did not arrive within {} s (body_timeout_secs)",
                        limits.timeout.as_secs()
                    ),
                ))
            }
            Ok(r) => r?,
        };
        if bytes.len() <= PARSE_INLINE_BYTES {
            return parse_body(&bytes).map(Json);
        }
        let _parser = tokio::time::timeout_at(until, limits.parsers.clone().acquire_owned())
            .await
            .map_err(|_| overloaded("reading other large request bodies"))?
            .map_err(|e| ApiError::from(Error::Internal(e.to_string())))?;
        tokio::task::spawn_blocking(move || {
            super::work::background_priority();
            parse_body(&bytes)
        })
        .await
        .map_err(|e| ApiError::from(Error::Internal(e.to_string())))?
        .map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        unit_id: String,
        weights: Vec<f64>,
    }

    fn err(text: &str) -> (u16, &'static str, Option<String>) {
        let e = parse_body::<Body>(text.as_bytes()).unwrap_err();
        (e.status.as_u16(), e.code, e.field)
    }

    #[test]
    fn bodies_fail_with_status_code_and_field() {
        assert_eq!(
            err(r#"{"unit_id": "a", "weights": [0.5, "x"]}"#),
            (422, "invalid_input", Some("weights[1]".into()))
        );
        assert_eq!(err(r#"{"weights": []}"#), (422, "invalid_input", Some("unit_id".into())));
        assert_eq!(err(r#"{"unit_id": "a", "weights": [], "w": 1}"#), (422, "invalid_input", Some("w".into())));
        assert_eq!(err(r#"["a", []]"#), (422, "invalid_input", None));
        assert_eq!(err("3"), (422, "invalid_input", None));
        assert_eq!(err(r#"{"unit_id": "a""#), (400, "malformed_request", None));
        assert_eq!(err(r#"{"unit_id": "a", "weights": []} x"#), (400, "malformed_request", None));
        assert_eq!(err("  "), (400, "malformed_request", None));
        assert!(parse_body::<Body>(br#" {"unit_id": "a", "weights": [1]} "#).is_ok());
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        body: Body,
        items: Vec<Body>,
    }

    fn nested(text: &str) -> (Option<String>, Option<Vec<serde_json::Value>>, String) {
        let e = parse_body::<Outer>(text.as_bytes()).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (422, "invalid_input"), "{text}");
        (e.field, e.path, e.message)
    }

    #[test]
    fn nested_fields_are_named_by_keys_and_indices() {
        let ok = r#"{"unit_id": "a", "weights": [1]}"#;
        // missing, in an object named like the missing field's own name
        let (field, path, message) = nested(&format!(r#"{{"body": {{"weights": []}}, "items": [{ok}]}}"#));
        assert_eq!(field.as_deref(), Some("body.unit_id"));
        assert_eq!(path, Some(vec!["body".into(), "unit_id".into()]));
        assert!(message.starts_with("body.unit_id: missing field `unit_id`"), "{message}");
        // unknown, in a list
        let (field, path, _) =
            nested(&format!(r#"{{"body": {ok}, "items": [{ok}, {{"unit_id": "b", "weights": [], "w": 1}}]}}"#));
        assert_eq!(field.as_deref(), Some("items[1].w"));
        assert_eq!(path, Some(vec!["items".into(), 1.into(), "w".into()]));
        // repeated
        let (field, _, _) = nested(&format!(r#"{{"body": {ok}, "body": {ok}, "items": []}}"#));
        assert_eq!(field.as_deref(), Some("body"));
        // a wrong type deep down
        let (field, path, _) =
            nested(&format!(r#"{{"body": {ok}, "items": [{{"unit_id": "b", "weights": [1, true]}}]}}"#));
        assert_eq!(field.as_deref(), Some("items[0].weights[1]"));
        assert_eq!(path, Some(vec!["items".into(), 0.into(), "weights".into(), 1.into()]));
    }

    #[test]
    fn serde_names_a_field_in_three_message_shapes() {
        assert_eq!(named_field("missing field `unit_id` at line 1 column 2"), Some(("unit_id", true)));
        assert_eq!(named_field("missing field `unit_id`"), Some(("unit_id", true)));
        assert_eq!(
            named_field("unknown field `colour`, expected `unit_id` or `weights` at line 1 column 9"),
            Some(("colour", false))
        );
        assert_eq!(named_field("unknown field `colour`, there are no fields"), Some(("colour", false)));
        assert_eq!(named_field("duplicate field `seed` at line 1 column 20"), Some(("seed", false)));
        // every other message names no field: the tracked path does
        assert_eq!(named_field("invalid type: string \"x\", expected f64 at line 1 column 3"), None);
        assert_eq!(named_field("invalid digit found in string"), None);
        assert_eq!(named_field("a message quoting missing field `x` later"), None);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Params {
        limit: Option<usize>,
        team: Option<String>,
        seed: u64,
    }

    fn query(q: &str) -> (u16, &'static str, Option<String>, String) {
        let e = parse_query::<Params>(q).unwrap_err();
        (e.status.as_u16(), e.code, e.field, e.message)
    }

    #[test]
    fn query_strings_fail_as_bodies_do() {
        let p = parse_query::<Params>("seed=3&team=a%20b&limit=5").unwrap();
        assert_eq!((p.seed, p.team.as_deref(), p.limit), (3, Some("a b"), Some(5)));
        assert_eq!(
            query("seed=1&limit=abc"),
            (422, "invalid_input", Some("limit".into()), "limit: invalid digit found in string".into())
        );
        assert_eq!(query("seed=1&colour=red").2.as_deref(), Some("colour"));
        assert_eq!(query("limit=3").2.as_deref(), Some("seed"));
        assert_eq!(query("").2.as_deref(), Some("seed"));
        assert_eq!(query("seed=1&seed=2").2.as_deref(), Some("seed"));
        let e = parse_query::<Params>("seed=-1").unwrap_err();
        assert_eq!(e.path, Some(vec!["seed".into()]));
    }
}
