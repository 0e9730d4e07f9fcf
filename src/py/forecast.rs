//! Python bindings of `forecast`. The request and the answers cross as JSON text (the same
//! objects as `POST /v1/forecast` and `liftlab forecast --json`); the wrapper
//! (`liftlab/_forecast.py`) builds the `Forecast` object, its table and its charts.

use pyo3::prelude::*;

use super::report::{from_json, to_json};
use super::to_py_err;
use crate::error::Error;
use crate::forecast::{self, ledger, ForecastRequest, Interval};
use crate::report::Report;

/// `forecast::forecast_impact` over JSON. A malformed request names the field from the
/// request's root (`model.nodes[0].kind`), as the CLI and the service do; the Monte Carlo runs
/// without the GIL.
#[pyfunction]
fn _forecast_impact(py: Python<'_>, request_json: &str) -> PyResult<String> {
    let de = &mut serde_json::Deserializer::from_str(request_json);
    let req: ForecastRequest = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "request".to_string() } else { path };
        to_py_err(Error::invalid(field, e.inner().to_string()))
    })?;
    let out = py.detach(|| forecast::forecast_impact(&req)).map_err(to_py_err)?;
    to_json(&out)
}

/// Reads the observed lift of `metric` (treatment `variant`) from an analysis report and sets
/// the forecast's topline interval (at `coverage`) against it, on the reached scale:
/// `{"observed": ..., "reconciliation": ...}`.
#[pyfunction]
#[pyo3(signature = (forecast_relative_json, coverage, report_json, metric, variant = None))]
fn _reconcile(
    forecast_relative_json: &str,
    coverage: f64,
    report_json: &str,
    metric: &str,
    variant: Option<&str>,
) -> PyResult<String> {
    let interval: Interval = from_json(forecast_relative_json, "forecast")?;
    if !(coverage > 0.0 && coverage <= 1.0) {
        return Err(to_py_err(Error::invalid("coverage", format!("{coverage} is not in (0, 1]"))));
    }
    let report: Report = from_json(report_json, "report")?;
    let observed = ledger::observed_from_report(&report, metric, variant).map_err(to_py_err)?;
    let reconciliation = ledger::reconcile(&ledger::ForecastLift::topline(interval, coverage), &observed);
    to_json(&serde_json::json!({ "observed": observed, "reconciliation": reconciliation }))
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_forecast_impact, m)?)?;
    m.add_function(wrap_pyfunction!(_reconcile, m)?)?;
    Ok(())
}
