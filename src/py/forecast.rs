//! Python bindings of `forecast`. The request and the answers cross as JSON text (the same
//! objects as `POST /v1/forecast` and `liftlab forecast --json`); the wrapper
//! (`liftlab/_forecast.py`) converts Python values to a request and the answer to a `Forecast`
//! object, and shows what the core renders: its text, tables and charts.

use pyo3::prelude::*;

use super::report::{from_json, to_json};
use super::to_py_err;
use crate::error::Error;
use crate::forecast::{self, ledger, render, ForecastReport, ForecastRequest, ForecastSettings, Interval};
use crate::report::Report;

/// `forecast::forecast_impact` over JSON. A malformed request names the field from the
/// request's root (`model.nodes[0].kind`), as the CLI and the service do; the Monte Carlo runs
/// without the GIL.
#[pyfunction]
fn _forecast_impact(py: Python<'_>, request_json: &str) -> PyResult<String> {
    let req = forecast::request_from_json(request_json).map_err(to_py_err)?;
    let out = py.detach(|| forecast::forecast_impact(&req)).map_err(to_py_err)?;
    to_json(&out)
}

/// The defaults of a forecast request, as every answer echoes them (`settings`).
#[pyfunction]
fn _forecast_defaults() -> PyResult<String> {
    to_json(&ForecastSettings::default())
}

/// A forecast request read from TOML text (a forecast file or an experiment spec with one
/// `[[forecasts]]`), as JSON; `source` names the text in errors.
#[pyfunction]
fn _forecast_request_from_toml(text: &str, source: &str) -> PyResult<String> {
    to_json(&forecast::request_from_toml(text, source, None).map_err(to_py_err)?)
}

fn parse(request_json: &str, report_json: &str) -> PyResult<(ForecastRequest, ForecastReport)> {
    Ok((from_json(request_json, "request")?, from_json(report_json, "report")?))
}

/// One chart of a forecast as SVG: `lift`, `tornado` or `gain` (over `months`), `width` pixels wide.
#[pyfunction]
#[pyo3(signature = (request_json, report_json, chart, width = render::DEFAULT_WIDTH, months = render::DEFAULT_MONTHS))]
fn _forecast_chart(request_json: &str, report_json: &str, chart: &str, width: u32, months: u32) -> PyResult<String> {
    let (req, report) = parse(request_json, report_json)?;
    render::check_width(width, "width").map_err(to_py_err)?;
    match chart {
        "lift" => Ok(render::lift_svg(&report, req.language, width)),
        "tornado" => Ok(render::tornado_svg(&req, &report, width)),
        "gain" => render::gain_svg(&req, &report, months, width).map_err(to_py_err),
        other => Err(to_py_err(Error::invalid("chart", format!("'{other}' is not a chart (lift, tornado, gain)")))),
    }
}

/// The notebook display of a forecast: the tables, the formula and the charts.
#[pyfunction]
fn _forecast_html(request_json: &str, report_json: &str) -> PyResult<String> {
    let (req, report) = parse(request_json, report_json)?;
    render::render_html(&req, &report).map_err(to_py_err)
}

/// What `liftlab forecast` prints for a forecast.
#[pyfunction]
fn _forecast_text(report_json: &str) -> PyResult<String> {
    Ok(render::render_text(&from_json(report_json, "report")?))
}

/// The cumulative gain at the end of each month since launch, at each quantile, as JSON rows
/// `{"month", "day", "quantiles": [[p, gain], ...]}`.
#[pyfunction]
fn _cumulative_gain(request_json: &str, report_json: &str, months: u32) -> PyResult<String> {
    let (req, report) = parse(request_json, report_json)?;
    to_json(&render::cumulative_gain(&req, &report, months).map_err(to_py_err)?)
}

/// Reads the observed lift of `metric` (treatment `variant`, found when the report has one) from
/// an analysis report and sets the forecast's topline interval (at `reach`) against it, on the
/// reached scale: `{"observed", "reconciliation", "variant", "html"}`.
#[pyfunction]
#[pyo3(signature = (forecast_relative_json, reach, confidence_level, report_json, metric, variant = None))]
fn _reconcile(
    forecast_relative_json: &str,
    reach: f64,
    confidence_level: f64,
    report_json: &str,
    metric: &str,
    variant: Option<&str>,
) -> PyResult<String> {
    let interval: Interval = from_json(forecast_relative_json, "forecast")?;
    if !(reach > 0.0 && reach <= 1.0) {
        return Err(to_py_err(Error::invalid("reach", format!("{reach} is not in (0, 1]"))));
    }
    let report: Report = from_json(report_json, "report")?;
    let observed = ledger::observed_from_report(&report, metric, variant).map_err(to_py_err)?;
    let variant = variant.map(str::to_string).or_else(|| {
        let m = report.metrics.iter().find(|m| m.name == metric)?;
        m.effects.first().map(|e| e.variant.clone())
    });
    let reconciliation = ledger::reconcile(&ledger::ForecastLift::topline(interval, reach), &observed);
    let html = render::reconciliation_html(metric, variant.as_deref(), confidence_level, &observed, &reconciliation);
    to_json(&serde_json::json!({
        "observed": observed, "reconciliation": reconciliation, "variant": variant, "html": html
    }))
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_forecast_impact, m)?)?;
    m.add_function(wrap_pyfunction!(_forecast_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(_forecast_request_from_toml, m)?)?;
    m.add_function(wrap_pyfunction!(_forecast_chart, m)?)?;
    m.add_function(wrap_pyfunction!(_forecast_html, m)?)?;
    m.add_function(wrap_pyfunction!(_forecast_text, m)?)?;
    m.add_function(wrap_pyfunction!(_cumulative_gain, m)?)?;
    m.add_function(wrap_pyfunction!(_reconcile, m)?)?;
    Ok(())
}
