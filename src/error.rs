//! The one error type of liftlab, with a stable machine-readable [`Error::code`].
//!
//! Every face maps it the same way, from this one table:
//!
//! | variant            | `code()`             | Python (`liftlab.exceptions`) | HTTP | CLI exit |
//! |--------------------|----------------------|-------------------------------|------|----------|
//! | `InvalidInput`     | `invalid_input`      | `InvalidInputError`           | 422  | 2        |
//! | `Schema`           | `schema_error`       | `SchemaError`                 | 422  | 2        |
//! | `InsufficientData` | `insufficient_data`  | `InsufficientDataError`       | 422  | 2        |
//! | `NotFound`         | `not_found`          | `NotFoundError`               | 404  | 2        |
//! | `Io`               | `io_error`           | `LiftlabIOError`              | 500  | 2        |
//! | `Cancelled`        | `cancelled`          | `LiftlabError`                | 503  | 3        |
//! | `Internal`         | `internal`           | `LiftlabError`                | 500  | 3        |
//!
//! The HTTP adapter adds `malformed_request` (400), `unauthorized` (401) and `payload_too_large`
//! (413), which never reach the core. A CLI regression check that finds a regression exits 1.
//! HTTP bodies have the shape `{"error": {"code": "...", "message": "...", "field": "..."}}`.

use std::fmt;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in liftlab.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A value the caller gave is not acceptable; `field` names it (a dotted path into the spec or
    /// request, e.g. `experiments[0].weights`).
    #[error("{field}: {reason}")]
    InvalidInput { field: String, reason: String },
    /// Tabular input lacks a column or has one of the wrong type.
    #[error("{field}: {reason}")]
    Schema { field: String, reason: String },
    /// The input is well formed but too small for the requested computation.
    #[error("{field}: {reason}")]
    InsufficientData { field: String, reason: String },
    /// A named thing (experiment key, forecast id) does not exist.
    #[error("{field}: no {what} named '{key}'")]
    NotFound { field: String, what: String, key: String },
    /// A file could not be read or written (adapters only; the core does no I/O).
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    /// Work stopped before it finished because its [`crate::interrupt::Interrupt`] was raised:
    /// the client left, or the service's deadline for one request passed.
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// A bug or an environment failure; never caused by user input.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        Error::InvalidInput { field: field.into(), reason: reason.to_string() }
    }

    /// Shorthand for [`Error::Schema`].
    pub fn schema(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        Error::Schema { field: field.into(), reason: reason.to_string() }
    }

    /// Shorthand for [`Error::InsufficientData`].
    pub fn insufficient(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        Error::InsufficientData { field: field.into(), reason: reason.to_string() }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(field: impl Into<String>, what: impl Into<String>, key: impl Into<String>) -> Self {
        Error::NotFound { field: field.into(), what: what.into(), key: key.into() }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<String>, reason: impl fmt::Display) -> Self {
        Error::Io { path: path.into(), reason: reason.to_string() }
    }

    /// The stable, machine-readable code of this error (see the module table).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "invalid_input",
            Error::Schema { .. } => "schema_error",
            Error::InsufficientData { .. } => "insufficient_data",
            Error::NotFound { .. } => "not_found",
            Error::Io { .. } => "io_error",
            Error::Cancelled(_) => "cancelled",
            Error::Internal(_) => "internal",
        }
    }

    /// The field (or path) the error is about, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidInput { field, .. }
            | Error::Schema { field, .. }
            | Error::InsufficientData { field, .. }
            | Error::NotFound { field, .. } => Some(field),
            Error::Io { path, .. } => Some(path),
            Error::Cancelled(_) | Error::Internal(_) => None,
        }
    }

    /// The exit code of the command-line face for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Internal(_) | Error::Cancelled(_) => 3,
            _ => 2,
        }
    }

    /// Prefixes the field with a parent path: `weights` becomes `experiments[0].weights`.
    pub fn within(self, parent: &str) -> Self {
        let join = |f: String| {
            if f.is_empty() {
                parent.to_string()
            } else if f.starts_with('[') {
                format!("{parent}{f}")
            } else {
                format!("{parent}.{f}")
            }
        };
        match self {
            Error::InvalidInput { field, reason } => Error::InvalidInput { field: join(field), reason },
            Error::Schema { field, reason } => Error::Schema { field: join(field), reason },
            Error::InsufficientData { field, reason } => Error::InsufficientData { field: join(field), reason },
            Error::NotFound { field, what, key } => Error::NotFound { field: join(field), what, key },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_prefixes_field_paths() {
        let e = Error::invalid("weights", "must sum to 1").within("experiments[0]");
        assert_eq!(e.field(), Some("experiments[0].weights"));
        let e = Error::invalid("[2]", "empty").within("ids");
        assert_eq!(e.field(), Some("ids[2]"));
        assert_eq!(e.to_string(), "ids[2]: empty");
        assert_eq!(e.code(), "invalid_input");
        assert_eq!(Error::Internal("x".into()).exit_code(), 3);
    }
}
