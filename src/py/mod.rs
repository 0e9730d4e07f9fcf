//! The Python extension module `liftlab._core`: thin conversions around the core.
//!
//! Exceptions live here and are re-exported by `liftlab.exceptions`; [`to_py_err`] is the one
//! place a [`crate::Error`] becomes a Python exception.

mod assign;
#[cfg(feature = "cli")]
mod cli;
mod forecast;
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

use crate::error::Error;

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

/// Maps the core error to its Python exception (the table in `error.rs`).
pub(crate) fn to_py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::InvalidInput { .. } => InvalidInputError::new_err(msg),
        Error::Schema { .. } => SchemaError::new_err(msg),
        Error::InsufficientData { .. } => InsufficientDataError::new_err(msg),
        Error::NotFound { .. } => NotFoundError::new_err(msg),
        Error::Io { .. } => LiftlabIOError::new_err(msg),
        _ => LiftlabError::new_err(msg),
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("LiftlabError", py.get_type::<LiftlabError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    m.add("SchemaError", py.get_type::<SchemaError>())?;
    m.add("InsufficientDataError", py.get_type::<InsufficientDataError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("LiftlabIOError", py.get_type::<LiftlabIOError>())?;
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
