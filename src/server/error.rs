//! HTTP errors: every failure leaves as `{"error": {"code", "message", "field"}}`.

use axum::extract::rejection::JsonRejection;
use axum::extract::FromRequest;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::Error;

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable code: `invalid_input`, `schema_error`, `insufficient_data`, `not_found`,
    /// `malformed_request`, `payload_too_large`, `unauthorized`, `internal`.
    pub code: String,
    pub message: String,
    /// The request field at fault, when there is one (dotted path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error on its way out of a handler.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None }
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
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            // Details stay in the log; the client learns only that it is not its fault.
            tracing::error!(error = %e, "internal error");
            return ApiError::new(status, "internal", "internal error");
        }
        ApiError { status, code: e.code(), message: e.to_string(), field: e.field().map(str::to_string) }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(
                status,
                "payload_too_large",
                "request body is larger than the configured limit (body_limit_bytes)",
            );
        }
        let (status, field) = match &r {
            // A body that parses as JSON but has a wrong or missing field: name the field.
            JsonRejection::JsonDataError(e) => {
                let text = e.body_text();
                (StatusCode::UNPROCESSABLE_ENTITY, field_from_serde(&text))
            }
            JsonRejection::MissingJsonContentType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, None),
            _ => (StatusCode::BAD_REQUEST, None),
        };
        let code = if status == StatusCode::UNPROCESSABLE_ENTITY { "invalid_input" } else { "malformed_request" };
        ApiError { status, code, message: r.body_text(), field }
    }
}

/// serde's messages name the path first ("Failed to deserialize the JSON body into the target
/// type: weights[0]: invalid type ..."); pull it out.
fn field_from_serde(text: &str) -> Option<String> {
    let rest = text.split_once("target type: ").map(|(_, r)| r).unwrap_or(text);
    let missing =
        |s: &str| s.split_once("missing field `").and_then(|(_, r)| r.split_once('`')).map(|(f, _)| f.to_string());
    match rest.split_once(": ") {
        Some((path, detail)) if !path.contains(' ') => {
            // "attributes: missing field `x`" names the parent; join them.
            Some(match missing(detail) {
                Some(f) if path != "." => format!("{path}.{f}"),
                Some(f) => f,
                None => path.to_string(),
            })
        }
        // "missing field `x` at line 1 column 2" has no path prefix
        _ => missing(rest),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            ErrorBody { error: ErrorDetail { code: self.code.to_string(), message: self.message, field: self.field } };
        (self.status, axum::Json(body)).into_response()
    }
}

/// `axum::Json`, but a rejected body answers in the same error shape as everything else.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_field_in_serde_messages() {
        assert_eq!(
            field_from_serde("Failed to deserialize the JSON body into the target type: weights[0]: invalid type: string \"a\", expected f64 at line 1 column 20").as_deref(),
            Some("weights[0]")
        );
        assert_eq!(
            field_from_serde(
                "Failed to deserialize the JSON body into the target type: missing field `unit_id` at line 1 column 2"
            )
            .as_deref(),
            Some("unit_id")
        );
    }
}
