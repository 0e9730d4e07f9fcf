//! Python bindings of `report` and the statistics behind it. Structured values cross as JSON
//! text; the Python wrappers (`liftlab/_analysis.py`) turn them into dicts and DataFrames.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::assign::PySpec;
use super::to_py_err;
use crate::error::{Error, Result};
use crate::report::{self, Codes, Exposures, Ids, Outcomes, Report};
use crate::stats;

pub(super) fn from_json<T: DeserializeOwned>(text: &str, field: &str) -> PyResult<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { field.to_string() } else { format!("{field}.{path}") };
        to_py_err(Error::invalid(field, e.inner().to_string()))
    })
}

pub(super) fn to_json<T: Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| to_py_err(Error::Internal(e.to_string())))
}

fn ids(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Ids> {
    if let Ok(a) = obj.extract::<PyReadonlyArray1<i64>>() {
        return Ok(Ids::Int(a.as_slice().map_err(|e| to_py_err(Error::schema(field, e)))?.to_vec()));
    }
    obj.extract::<Vec<String>>()
        .map(Ids::Str)
        .map_err(|_| to_py_err(Error::schema(field, "unit ids must be an int64 array or a list of str")))
}

/// A dictionary-coded column from Python: codes (`u32::MAX` = null) and the names they index.
type PyCodes<'py> = (PyReadonlyArray1<'py, u32>, Vec<String>);

fn codes((arr, names): PyCodes<'_>, field: &str) -> PyResult<Codes> {
    let codes = arr.as_slice().map_err(|e| to_py_err(Error::schema(field, e)))?.to_vec();
    if let Some(r) = codes.iter().position(|&c| c != Codes::NULL && c as usize >= names.len()) {
        return Err(to_py_err(Error::invalid(format!("{field}[{r}]"), "code outside the dictionary")));
    }
    Ok(Codes { codes, names })
}

/// Joins exposures and outcomes, analyses experiment `key` and returns the report as JSON.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (spec, key, exposure_units, variants, days, segments, outcome_units, columns))]
fn _analyze(
    py: Python<'_>,
    spec: &PySpec,
    key: &str,
    exposure_units: &Bound<'_, PyAny>,
    variants: PyCodes<'_>,
    days: Option<Vec<Option<i64>>>,
    segments: Vec<(String, PyCodes<'_>)>,
    outcome_units: &Bound<'_, PyAny>,
    columns: Vec<(String, PyReadonlyArray1<'_, f64>)>,
) -> PyResult<String> {
    let variants = codes(variants, "exposures.variant")?;
    let segments =
        segments.into_iter().map(|(name, c)| Ok((name.clone(), codes(c, &name)?))).collect::<PyResult<_>>()?;
    let exposures = Exposures { units: ids(exposure_units, "exposures.unit")?, variants, days, segments };
    let mut cols = std::collections::BTreeMap::new();
    for (name, arr) in &columns {
        // NaN marks a null (the Python side rejects real NaN and infinite values first)
        let s = arr.as_slice().map_err(|e| to_py_err(Error::schema(name.as_str(), e)))?;
        cols.insert(name.clone(), s.to_vec());
    }
    let outcomes = Outcomes { units: ids(outcome_units, "outcomes.unit")?, columns: cols };
    let inner = &spec.inner;
    let report = py
        .detach(|| -> Result<Report> {
            let data = report::aggregate_experiment(inner, key, &exposures, &outcomes)?;
            report::analyze_experiment(inner, key, &data)
        })
        .map_err(to_py_err)?;
    to_json(&report)
}

/// Analyses sufficient statistics (the same JSON as `POST /v1/analyze`'s `data`).
#[pyfunction]
fn _analyze_stats(spec: &PySpec, key: &str, data_json: &str) -> PyResult<String> {
    let data: report::ExperimentData = from_json(data_json, "data")?;
    to_json(&report::analyze_experiment(&spec.inner, key, &data).map_err(to_py_err)?)
}

fn parse_report(json: &str) -> PyResult<Report> {
    from_json(json, "report")
}

/// The report's HTML fragment (for `_repr_html_`).
#[pyfunction]
fn _report_html(report_json: &str) -> PyResult<String> {
    Ok(report::render::report_fragment(&parse_report(report_json)?))
}

/// The report as a self-contained HTML page.
#[pyfunction]
fn _report_page(report_json: &str) -> PyResult<String> {
    Ok(report::render::render_html(&parse_report(report_json)?))
}

/// The report as Markdown.
#[pyfunction]
fn _report_markdown(report_json: &str) -> PyResult<String> {
    Ok(report::render::render_markdown(&parse_report(report_json)?))
}

/// The forest plot of a report as SVG.
#[pyfunction]
fn _forest_plot_svg(report_json: &str) -> PyResult<String> {
    Ok(report::render::forest_plot_svg(&parse_report(report_json)?.metrics))
}

/// `stats::effect::compare_arms` over JSON.
#[pyfunction]
fn _compare_arms(arms_json: &str, kind: &str, options_json: &str) -> PyResult<String> {
    let arms: Vec<stats::moments::SuffStats> = from_json(arms_json, "arms")?;
    let kind: stats::effect::MetricKind = from_json(&format!("\"{kind}\""), "kind")?;
    let opts: stats::effect::EffectOptions = from_json(options_json, "options")?;
    to_json(&stats::effect::compare_arms(&arms, kind, &opts).map_err(to_py_err)?)
}

/// Adjusted p-values.
#[pyfunction]
#[pyo3(signature = (p_values, method = "holm"))]
fn adjust_p_values(p_values: Vec<f64>, method: &str) -> PyResult<Vec<f64>> {
    let m: stats::multiple::Correction = from_json(&format!("\"{method}\""), "method")?;
    stats::multiple::adjust_p_values(&p_values, m).map_err(to_py_err)
}

/// The Bayesian summary of a relative effect, as JSON.
#[pyfunction]
#[pyo3(signature = (rel_effect, rel_std_err, prior_json = "{}", direction = "increase", alpha = 0.05))]
fn _bayes_effect(rel_effect: f64, rel_std_err: f64, prior_json: &str, direction: &str, alpha: f64) -> PyResult<String> {
    let prior: stats::bayes::Prior = from_json(prior_json, "prior")?;
    let d: stats::Direction = from_json(&format!("\"{direction}\""), "direction")?;
    to_json(&stats::bayes::bayes_effect(rel_effect, rel_std_err, &prior, d, alpha).map_err(to_py_err)?)
}

/// An always-valid confidence sequence, as JSON.
#[pyfunction]
#[pyo3(signature = (estimate, std_err, n_total, alpha = 0.05, tuning = stats::sequential::DEFAULT_TUNING))]
fn _confidence_sequence(estimate: f64, std_err: f64, n_total: f64, alpha: f64, tuning: f64) -> PyResult<String> {
    to_json(&stats::sequential::confidence_sequence(estimate, std_err, n_total, alpha, tuning).map_err(to_py_err)?)
}

/// A group-sequential design, as JSON.
#[pyfunction]
#[pyo3(signature = (info_fractions, alpha = 0.05, alternative = "two-sided"))]
fn _group_sequential_design(info_fractions: Vec<f64>, alpha: f64, alternative: &str) -> PyResult<String> {
    let alt = stats::Alternative::parse(alternative).map_err(to_py_err)?;
    to_json(&stats::group_sequential::group_sequential_design(&info_fractions, alpha, alt).map_err(to_py_err)?)
}

/// Sample size, power or MDE (`what`), as JSON.
#[pyfunction]
#[pyo3(signature = (what, baseline_json, options_json, effect_json = None, n_control = None))]
fn _power(
    what: &str,
    baseline_json: &str,
    options_json: &str,
    effect_json: Option<&str>,
    n_control: Option<f64>,
) -> PyResult<String> {
    use stats::power;
    let b: power::Baseline = from_json(baseline_json, "baseline")?;
    let o: power::DesignOptions = from_json(options_json, "options")?;
    let effect = || -> PyResult<power::EffectSize> {
        from_json(effect_json.ok_or_else(|| to_py_err(Error::invalid("effect", "is required")))?, "effect")
    };
    let n = || n_control.ok_or_else(|| to_py_err(Error::invalid("n_control", "is required")));
    match what {
        "sample_size" => to_json(&power::sample_size(&b, effect()?, &o).map_err(to_py_err)?),
        "power" => to_json(&power::power(&b, effect()?, n()?, &o).map_err(to_py_err)?),
        "mde" => to_json(&power::minimum_detectable_effect(&b, n()?, &o).map_err(to_py_err)?),
        other => Err(to_py_err(Error::invalid("what", format!("'{other}' is not sample_size, power or mde")))),
    }
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_analyze, m)?)?;
    m.add_function(wrap_pyfunction!(_analyze_stats, m)?)?;
    m.add_function(wrap_pyfunction!(_report_html, m)?)?;
    m.add_function(wrap_pyfunction!(_report_page, m)?)?;
    m.add_function(wrap_pyfunction!(_report_markdown, m)?)?;
    m.add_function(wrap_pyfunction!(_forest_plot_svg, m)?)?;
    m.add_function(wrap_pyfunction!(_compare_arms, m)?)?;
    m.add_function(wrap_pyfunction!(adjust_p_values, m)?)?;
    m.add_function(wrap_pyfunction!(_bayes_effect, m)?)?;
    m.add_function(wrap_pyfunction!(_confidence_sequence, m)?)?;
    m.add_function(wrap_pyfunction!(_group_sequential_design, m)?)?;
    m.add_function(wrap_pyfunction!(_power, m)?)?;
    Ok(())
}
