//! Python bindings of `report` and the statistics behind it. Structured values cross as JSON
//! text; the Python wrappers (`liftlab/_analysis.py`) turn them into dicts and DataFrames.

use std::collections::HashMap;

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::assign::PySpec;
use super::to_py_err;
use crate::error::{Error, Result};
use crate::report::{self, input, Codes, Exposures, Outcomes, Report};
use crate::stats;

pub(super) fn from_json<T: DeserializeOwned>(text: &str, field: &str) -> PyResult<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = match (path.as_str(), field) {
            (".", _) => field.to_string(),
            (_, "") => path,
            _ => format!("{field}.{path}"),
        };
        to_py_err(Error::invalid(field, e.inner().to_string()))
    })
}

pub(super) fn to_json<T: Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| to_py_err(Error::Internal(e.to_string())))
}

/// One column of a DataFrame as `liftlab/_analysis.py` passes it: `(kind, values, nulls)` with
/// kind `int` / `float` / `date` (a numpy array, days for dates) or `text` (a list of str or
/// None), or another type's name (values None); `nulls` a bool array, or None when none is null.
enum PyColumn<'py> {
    Int(PyReadonlyArray1<'py, i64>, Option<PyReadonlyArray1<'py, bool>>),
    Float(PyReadonlyArray1<'py, f64>, Option<PyReadonlyArray1<'py, bool>>),
    Date(PyReadonlyArray1<'py, i64>, Option<PyReadonlyArray1<'py, bool>>),
    Text(Vec<Option<String>>),
    Other(String),
}

impl<'py> PyColumn<'py> {
    fn new(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let (kind, values, nulls): (String, Bound<'py, PyAny>, Option<PyReadonlyArray1<'py, bool>>) = obj.extract()?;
        Ok(match kind.as_str() {
            "int" => PyColumn::Int(values.extract()?, nulls),
            "float" => PyColumn::Float(values.extract()?, nulls),
            "date" => PyColumn::Date(values.extract()?, nulls),
            "text" => PyColumn::Text(values.extract()?),
            _ => PyColumn::Other(kind),
        })
    }

    /// The column for the core's cell rules (`report::input`).
    fn raw(&self) -> Result<input::RawColumn<'_>> {
        fn slice<'a, T: numpy::Element>(a: &'a PyReadonlyArray1<'_, T>) -> Result<&'a [T]> {
            a.as_slice().map_err(|e| Error::Internal(format!("a column not contiguous: {e}")))
        }
        fn nulls<'a>(n: &'a Option<PyReadonlyArray1<'_, bool>>) -> Result<Option<&'a [bool]>> {
            n.as_ref().map(slice).transpose()
        }
        Ok(match self {
            PyColumn::Int(v, n) => input::RawColumn::Int { values: slice(v)?, nulls: nulls(n)? },
            PyColumn::Float(v, n) => input::RawColumn::Float { values: slice(v)?, nulls: nulls(n)? },
            PyColumn::Date(v, n) => input::RawColumn::Date { days: slice(v)?, nulls: nulls(n)? },
            PyColumn::Text(t) => input::RawColumn::Text(t),
            PyColumn::Other(k) => input::RawColumn::Other(k),
        })
    }
}

/// A DataFrame as `liftlab/_analysis.py` passes it: all its column names, and the columns the
/// analysis reads, converted (text columns of the exposures as `(uint32 codes, names)`, a null
/// `2**32 - 1`).
struct PyTable<'py> {
    /// `exposures` or `outcomes`: the table's name in error paths.
    name: &'static str,
    names: Vec<String>,
    columns: HashMap<String, Bound<'py, PyAny>>,
}

impl<'py> PyTable<'py> {
    fn column(&self, name: &str) -> Result<&Bound<'py, PyAny>> {
        self.columns.get(name).ok_or_else(|| input::missing_column(name, &format!("the {}", self.name), &self.names))
    }

    fn cells<T>(&self, name: &str, rule: impl FnOnce(input::RawColumn<'_>) -> Result<T>) -> PyResult<T> {
        let col = PyColumn::new(self.column(name).map_err(|e| to_py_err(e.within(self.name)))?)?;
        col.raw().and_then(rule).map_err(|e| to_py_err(e.within(self.name)))
    }

    fn codes(&self, name: &str) -> PyResult<Codes> {
        let col = self.column(name).map_err(|e| to_py_err(e.within(self.name)))?;
        let (codes, names): (PyReadonlyArray1<'_, u32>, Vec<String>) = col.extract()?;
        let codes = codes.as_slice().map_err(|e| to_py_err(Error::Internal(e.to_string())))?.to_vec();
        Codes::from_dictionary(name, codes, names).map_err(|e| to_py_err(e.within(self.name)))
    }
}

/// Joins exposures and outcomes, analyses experiment `key` and returns the report as JSON. The
/// cell rules are the core's (`report::input`): null ids and variants, numbers, dates.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (spec, key, exposures, outcomes, unit_col, variant_col, time_col))]
fn _analyze<'py>(
    py: Python<'py>,
    spec: &PySpec,
    key: &str,
    exposures: (Vec<String>, HashMap<String, Bound<'py, PyAny>>),
    outcomes: (Vec<String>, HashMap<String, Bound<'py, PyAny>>),
    unit_col: &str,
    variant_col: &str,
    time_col: Option<&str>,
) -> PyResult<String> {
    let inner = &spec.inner;
    let e = PyTable { name: "exposures", names: exposures.0, columns: exposures.1 };
    let o = PyTable { name: "outcomes", names: outcomes.0, columns: outcomes.1 };
    let units = e.cells(unit_col, |c| input::unit_ids(unit_col, 0, c))?;
    let variants = e.codes(variant_col)?;
    input::check_variants(variant_col, &variants).map_err(|err| to_py_err(err.within("exposures")))?;
    let days = time_col.map(|t| e.cells(t, |c| input::days(t, 0, c))).transpose()?;
    let experiment = inner.experiment(key).map_err(to_py_err)?;
    let segments =
        experiment.analysis.segments.iter().map(|s| Ok((s.clone(), e.codes(s)?))).collect::<PyResult<_>>()?;
    let exposures = Exposures { units, variants, days, segments };
    let mut columns = std::collections::BTreeMap::new();
    for c in inner.metric_columns(key).map_err(to_py_err)? {
        columns.insert(c.to_string(), o.cells(c, |raw| input::numbers(c, 0, raw, input::Nan::Error))?);
    }
    let outcomes = Outcomes { units: o.cells(unit_col, |c| input::unit_ids(unit_col, 0, c))?, columns };
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

/// Sample size, power or MDE (`what`: `sample_size`, `power`, `mde`) from the flat keyword
/// arguments of the Python functions (`stats::power::PowerArgs`, which checks them), as JSON.
#[pyfunction]
fn _power(what: &str, args_json: &str) -> PyResult<String> {
    use stats::power;
    let question: power::PowerQuestion = from_json(&format!("\"{what}\""), "what")?;
    let args: power::PowerArgs = from_json(args_json, "")?;
    to_json(&power::answer_power_question(question, &args).map_err(to_py_err)?)
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
