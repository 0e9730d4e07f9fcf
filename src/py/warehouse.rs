//! Python bindings of `warehouse`: the compiled query, and the analysis of an engine's answer.
//! Running the query is the Python side's (`liftlab/_warehouse.py`): the core does no I/O.

use pyo3::prelude::*;

use super::assign::PySpec;
use super::report::to_json;
use super::to_py_err;
use crate::error::Result;
use crate::report::{self, Report};
use crate::warehouse::{self, CompileOptions, Dialect, StatsTable};

/// The query of experiment `key` in `dialect` and the columns of its answer.
#[pyfunction]
#[pyo3(signature = (spec, key, dialect, start = None, end = None, base_dir = None))]
fn _compile_sql(
    spec: &PySpec,
    key: &str,
    dialect: &str,
    start: Option<String>,
    end: Option<String>,
    base_dir: Option<String>,
) -> PyResult<(String, Vec<String>)> {
    let d = Dialect::from_name(dialect).map_err(to_py_err)?;
    let q = warehouse::compile_sql(&spec.inner, key, d, &CompileOptions { start, end, base_dir }).map_err(to_py_err)?;
    Ok((q.sql, q.columns))
}

/// Reads an engine's answer (JSON: `{"columns": [...], "rows": [[...]]}`) and returns the report
/// of experiment `key` as JSON.
#[pyfunction]
fn _analyze_stats_table(py: Python<'_>, spec: &PySpec, key: &str, table_json: &str) -> PyResult<String> {
    let inner = &spec.inner;
    let report = py
        .detach(|| -> Result<Report> {
            let table = StatsTable::from_json(table_json)?;
            let data = warehouse::read_stats(inner, key, &table)?;
            report::analyze_experiment(inner, key, &data)
        })
        .map_err(to_py_err)?;
    to_json(&report)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_compile_sql, m)?)?;
    m.add_function(wrap_pyfunction!(_analyze_stats_table, m)?)?;
    Ok(())
}
