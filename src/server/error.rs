//! HTTP errors: every failure leaves as `{"error": {"code", "message", "field"}}`, with
//! `path` (the field as keys and indices) and `detail` (a finer code) when the core gives them.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Semaphore;

use super::strict::Strict;
use crate::error::{Detail, Error, Segment};

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
    /// `not_a_date`).
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
        let path = e.path().map(|p| {
            p.segments()
                .iter()
                .map(|s| match s {
                    Segment::Key(k) => serde_json::Value::from(k.as_str()),
                    Segment::Index(i) => serde_json::Value::from(*i),
                })
                .collect()
        });
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

/// serde names a missing field in its message ("missing field `unit_id`") with the path of the
/// object that lacks it; the field is that path joined with the name.
fn missing_field(message: &str) -> Option<&str> {
    message.split_once("missing field `").and_then(|(_, r)| r.split_once('`')).map(|(f, _)| f)
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
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                let field = match (missing_field(&message), path.as_str()) {
                    (Some(f), ".") => Some(f.to_string()),
                    (Some(f), p) => Some(format!("{p}.{f}")),
                    (None, ".") => None,
                    (None, p) => Some(p.to_string()),
                };
                let mut err = shape(&match &field {
                    Some(f) => format!("{f}: {message}"),
                    None => message.clone(),
                });
                err.field = field;
                err
            }
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
}
