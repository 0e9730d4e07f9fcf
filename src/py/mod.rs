//! The Python extension module `liftlab._core`: thin conversions around the core.
//!
//! Exceptions live here and are re-exported by `liftlab.exceptions`; [`to_py_err`] is the one
//! place a [`crate::Error`] becomes a Python exception.

mod assign;
#[cfg(feature = "cli")]
mod cli;
mod forecast;
mod names;
mod pool;
mod report;
mod stats;
mod uplift;
mod uplift_meta;
mod uplift_model;
mod uplift_policy;
mod warehouse;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use pyo3::types::PyTuple;
use pyo3::IntoPyObjectExt;

use crate::error::{Detail, Error, Segment};

create_exception!(liftlab, LiftlabError, PyException, "Base class of every liftlab error.");
create_exception!(
    liftlab,
    InvalidInputError,
    LiftlabError,
    "A value given to liftlab is not acceptable; the message names the field."
);
create_exception!(liftlab, SchemaError, LiftlabError, "Tabular input lacks a column or has one of the wrong type.");
create_exception!(liftlab, InsufficientDataError, LiftlabError, "The input is too small for the computation asked.");
create_exception!(liftlab, NotFoundError, LiftlabError, "A named thing (experiment key, forecast id) does not exist.");
create_exception!(liftlab, LiftlabIOError, LiftlabError, "A file could not be read or written.");

/// Maps the core error to its Python exception (the table in `error.rs`), with the error's
/// `code`, `detail`, `field` (dotted text) and `path` (a tuple of str and int) as attributes. A
/// binding renames the path first (`names.rs`).
pub(crate) fn to_py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    let err = match e {
        Error::InvalidInput { .. } => InvalidInputError::new_err(msg),
        Error::Schema { .. } => SchemaError::new_err(msg),
        Error::InsufficientData { .. } => InsufficientDataError::new_err(msg),
        Error::NotFound { .. } => NotFoundError::new_err(msg),
        Error::Io { .. } => LiftlabIOError::new_err(msg),
        _ => LiftlabError::new_err(msg),
    };
    Python::attach(|py| {
        let value = err.value(py);
        let path: Vec<Bound<'_, PyAny>> = match e.path() {
            Some(p) => p
                .segments()
                .iter()
                .map(|s| match s {
                    Segment::Key(k) => k.into_bound_py_any(py),
                    Segment::Index(i) => i.into_bound_py_any(py),
                })
                .collect::<PyResult<_>>()?,
            None => e.field().map(|f| f.into_bound_py_any(py)).into_iter().collect::<PyResult<_>>()?,
        };
        value.setattr("code", e.code())?;
        value.setattr("detail", e.detail().map(Detail::as_str))?;
        value.setattr("field", e.field())?;
        value.setattr("path", PyTuple::new(py, path)?)
    })
    .map_or_else(|failed| failed, |()| err)
}

/// The class attributes every liftlab exception has, for one raised by the Python wrappers
/// without them: `code` (the class's), `detail` and `field` None, `path` empty.
fn add_exception(
    m: &Bound<'_, PyModule>,
    name: &str,
    class: Bound<'_, pyo3::types::PyType>,
    code: &str,
) -> PyResult<()> {
    class.setattr("code", code)?;
    class.setattr("detail", m.py().None())?;
    class.setattr("field", m.py().None())?;
    class.setattr("path", PyTuple::empty(m.py()))?;
    m.add(name, class)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    add_exception(m, "LiftlabError", py.get_type::<LiftlabError>(), "internal")?;
    add_exception(m, "InvalidInputError", py.get_type::<InvalidInputError>(), "invalid_input")?;
    add_exception(m, "SchemaError", py.get_type::<SchemaError>(), "schema_error")?;
    add_exception(m, "InsufficientDataError", py.get_type::<InsufficientDataError>(), "insufficient_data")?;
    add_exception(m, "NotFoundError", py.get_type::<NotFoundError>(), "not_found")?;
    add_exception(m, "LiftlabIOError", py.get_type::<LiftlabIOError>(), "io_error")?;
    assign::register(m)?;
    #[cfg(feature = "cli")]
    cli::register(m)?;
    forecast::register(m)?;
    report::register(m)?;
    stats::register(m)?;
    uplift::register(m)?;
    uplift_meta::register(m)?;
    uplift_model::register(m)?;
    uplift_policy::register(m)?;
    warehouse::register(m)
}
