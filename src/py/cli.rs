//! `liftlab._core._main`: the `liftlab` command of the Python package (`liftlab._cli:main`, the
//! wheel's console script) runs the very clap entry point of the Rust binary,
//! [`crate::cli::main_with`], so `pip install liftlab` gives the same subcommands, `serve`
//! included, and there is no second CLI to keep in step.

use std::ffi::OsString;

use pyo3::prelude::*;

/// Runs `liftlab` with `argv` (the program name first, as `sys.argv`) and returns its exit code.
/// The GIL is released while it runs; Ctrl-C is the caller's to route (`liftlab._cli` restores
/// the default SIGINT action, and `serve` installs its own handler to drain and stop).
#[pyfunction(name = "_main")]
fn main(py: Python<'_>, argv: Vec<OsString>) -> i32 {
    py.detach(|| crate::cli::main_with(argv))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(main, m)?)
}
