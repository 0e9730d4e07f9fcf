//! Python bindings of `uplift::metrics`; the wrapper (`liftlab/uplift.py`) builds the polars
//! tables.
//!
//! Arguments follow scikit-uplift's order and names, `(y_true, uplift, treatment)`, and errors name
//! them so: the core's `outcome` becomes `y_true` and its `scores` becomes `uplift`. Outcomes and
//! scores are float64 numpy arrays (borrowed, not copied, when contiguous) or anything
//! `numpy.asarray(x, dtype="float64")` accepts; treatment is a uint8 array or any numbers that are
//! all 0 or 1. The computations run without the GIL.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};

use super::names::Names;
use super::to_py_err;
use crate::error::Error;
use crate::report::uplift_chart::{profit_curve_svg, uplift_chart, ChartOptions, CurveKind, UpliftChart};
use crate::uplift::metrics::{
    self as core, AreaStatistic, BootstrapInterval, BootstrapOptions, Curve, CurveArea, CutStrategy, TopK,
};

/// A one-dimensional column: a borrowed contiguous numpy array or an owned copy.
pub(super) enum Column<'py, T: numpy::Element> {
    Array(PyReadonlyArray1<'py, T>),
    Owned(Vec<T>),
}

impl<T: numpy::Element + Copy> Column<'_, T> {
    fn from_array(a: PyReadonlyArray1<'_, T>) -> Column<'_, T> {
        if a.is_contiguous() {
            Column::Array(a)
        } else {
            Column::Owned(a.as_array().iter().copied().collect())
        }
    }

    pub(super) fn as_slice(&self) -> &[T] {
        match self {
            // Only contiguous arrays are kept borrowed (`from_array`), so `as_slice` succeeds.
            Column::Array(a) => a.as_slice().unwrap_or_default(),
            Column::Owned(v) => v,
        }
    }
}

pub(super) fn invalid(field: impl Into<crate::error::FieldPath>, reason: impl std::fmt::Display) -> PyErr {
    to_py_err(Error::invalid(field, reason))
}

/// A whole number of `field` (a count, a seed, a size) from any Python integer (anything with
/// `__index__`: `int`, numpy integers; not a bool), in `0..=max`: a negative, too large or
/// non-integer value is an `InvalidInputError` naming the field, never Python's `OverflowError`
/// or `TypeError`. Shared by the doors of `assign` and `uplift`.
pub(crate) fn whole_number(obj: &Bound<'_, PyAny>, field: &str, max: u64) -> PyResult<u64> {
    if obj.is_instance_of::<PyBool>() || !obj.hasattr("__index__")? {
        return Err(invalid(field, format!("must be a whole number, got {}", describe(obj))));
    }
    let v: i128 = obj
        .call_method0("__index__")?
        .extract()
        .map_err(|_| invalid(field, format!("must be a whole number in 0..={max}, got {}", describe(obj))))?;
    match u64::try_from(v) {
        Ok(v) if v <= max => Ok(v),
        _ => Err(invalid(field, format!("must be a whole number in 0..={max}, got {v}"))),
    }
}

/// `repr(obj)`, shortened, for messages.
fn describe(obj: &Bound<'_, PyAny>) -> String {
    let r = obj.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into());
    if r.chars().count() > 60 {
        format!("{}...", r.chars().take(57).collect::<String>())
    } else {
        r
    }
}

/// Numbers of one field as float64 (shared by the uplift doors).
pub(super) fn floats<'py>(obj: &Bound<'py, PyAny>, field: &str) -> PyResult<Column<'py, f64>> {
    if let Ok(a) = obj.extract::<PyReadonlyArray1<'py, f64>>() {
        return Ok(Column::from_array(a));
    }
    let converted = obj
        .py()
        .import("numpy")?
        .call_method1("asarray", (obj, "float64"))
        .map_err(|e| invalid(field, format!("must be numbers: {e}")))?;
    let ndim: usize = converted.getattr("ndim")?.extract()?;
    if ndim != 1 {
        return Err(invalid(field, format!("must be one-dimensional, got {ndim} dimensions")));
    }
    Ok(Column::from_array(converted.extract::<PyReadonlyArray1<'py, f64>>()?))
}

/// The treatment flags: a uint8 array as is (the core checks the values), other numbers must be
/// 0 or 1.
fn flags<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Column<'py, u8>> {
    if let Ok(a) = obj.extract::<PyReadonlyArray1<'py, u8>>() {
        return Ok(Column::from_array(a));
    }
    let f = floats(obj, "treatment")?;
    let mut out = Vec::with_capacity(f.as_slice().len());
    for (i, &v) in f.as_slice().iter().enumerate() {
        if v == 0.0 {
            out.push(0);
        } else if v == 1.0 {
            out.push(1);
        } else {
            return Err(invalid(format!("treatment[{i}]"), format!("must be 0 (control) or 1, got {v}")));
        }
    }
    Ok(Column::Owned(out))
}

/// The core's names of the columns (`outcome`, `scores`) become the Python parameters' names (the
/// rename table, `names.rs`); the reason names the other column by the core's name, so it says
/// the Python one.
fn py_err(e: Error) -> PyErr {
    Names::default().py_err(e)
}

fn strategy(s: &str) -> PyResult<CutStrategy> {
    match s {
        "overall" => Ok(CutStrategy::Overall),
        "by_group" => Ok(CutStrategy::ByGroup),
        other => Err(invalid("strategy", format!("must be 'overall' or 'by_group', got {other:?}"))),
    }
}

/// An integer (anything with `__index__`, not a bool) is a count, any other number a fraction.
fn top_k(k: &Bound<'_, PyAny>) -> PyResult<TopK> {
    if k.is_instance_of::<PyBool>() {
        return Err(invalid("k", "must be a fraction in (0, 1) or a count, got a bool"));
    }
    if k.hasattr("__index__")? {
        let c: i64 = k.extract().map_err(|e| invalid("k", e))?;
        return match usize::try_from(c) {
            Ok(c) => Ok(TopK::Count(c)),
            Err(_) => Err(invalid("k", format!("a count must be positive, got {c}"))),
        };
    }
    match k.extract::<f64>() {
        Ok(f) => Ok(TopK::Fraction(f)),
        Err(_) => Err(invalid("k", "must be a fraction in (0, 1) or a count")),
    }
}

type CurveArrays<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

fn curve_arrays(py: Python<'_>, c: Curve) -> CurveArrays<'_> {
    (c.n_targeted.into_pyarray(py), c.value.into_pyarray(py))
}

fn area_dict<'py>(py: Python<'py>, a: &CurveArea) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("area", a.area)?;
    d.set_item("random_area", a.random_area)?;
    d.set_item("perfect_area", a.perfect_area)?;
    d.set_item("normalized", a.normalized)?;
    Ok(d)
}

/// The curve kind named `kind`: "qini" or "uplift".
fn curve_kind(kind: &str) -> PyResult<CurveKind> {
    match kind {
        "qini" => Ok(CurveKind::Qini),
        "uplift" => Ok(CurveKind::Uplift),
        _ => Err(invalid("kind", format!("must be 'qini' or 'uplift', got {kind:?}"))),
    }
}

/// sklift's `qini_curve` (`kind="qini"`) or `uplift_curve` (`"uplift"`): `(n_targeted, value)` at
/// each distinct-score threshold from `(0, 0)`.
#[pyfunction]
fn _ranking_curve<'py>(
    py: Python<'py>,
    kind: &str,
    y_true: &Bound<'py, PyAny>,
    uplift: &Bound<'py, PyAny>,
    treatment: &Bound<'py, PyAny>,
) -> PyResult<CurveArrays<'py>> {
    let f = match curve_kind(kind)? {
        CurveKind::Qini => core::qini_curve,
        CurveKind::Uplift => core::uplift_curve,
    };
    let (y, s, t) = (floats(y_true, "y_true")?, floats(uplift, "uplift")?, flags(treatment)?);
    let (y, s, t) = (y.as_slice(), s.as_slice(), t.as_slice());
    let c = py.detach(|| f(y, s, t)).map_err(py_err)?;
    Ok(curve_arrays(py, c))
}

/// A drawn Qini or uplift chart (`report::uplift_chart`); `liftlab.uplift.UpliftPlot` holds one.
#[pyclass(name = "_UpliftChart", module = "liftlab._core", frozen)]
struct PyUpliftChart {
    chart: UpliftChart,
}

#[pymethods]
impl PyUpliftChart {
    /// The SVG drawing.
    #[getter]
    fn svg(&self) -> &str {
        &self.chart.svg
    }

    /// The curves drawn, in order: `[(name, n_targeted, value)]`.
    #[getter]
    fn curves<'py>(&self, py: Python<'py>) -> Vec<(String, CurveArrays<'py>)> {
        self.chart.curves.iter().map(|(n, c)| (n.clone(), curve_arrays(py, c.clone()))).collect()
    }

    #[getter]
    fn x_range(&self) -> (f64, f64) {
        self.chart.x_range
    }

    #[getter]
    fn y_range(&self) -> (f64, f64) {
        self.chart.y_range
    }

    /// SVG coordinates of the data point `(n_targeted, value)`.
    fn scale(&self, n_targeted: f64, value: f64) -> (f64, f64) {
        self.chart.scale(n_targeted, value)
    }
}

/// The Qini (`kind="qini"`) or uplift chart of each ranking `scores[k]`, named `names[k]`. Errors
/// name the wrapper's arguments: the core's `names` becomes `others`.
#[pyfunction]
#[pyo3(signature = (kind, y_true, treatment, names, scores, *, perfect, negative_effect, max_points))]
#[allow(clippy::too_many_arguments)]
fn _uplift_chart(
    py: Python<'_>,
    kind: &str,
    y_true: &Bound<'_, PyAny>,
    treatment: &Bound<'_, PyAny>,
    names: Vec<String>,
    scores: Vec<Bound<'_, PyAny>>,
    perfect: bool,
    negative_effect: bool,
    max_points: &Bound<'_, PyAny>,
) -> PyResult<PyUpliftChart> {
    let kind = curve_kind(kind)?;
    let max_points = whole_number(max_points, "max_points", u32::MAX.into())? as usize;
    let (y, t) = (floats(y_true, "y_true")?, flags(treatment)?);
    let cols = scores.iter().map(|s| floats(s, "uplift")).collect::<PyResult<Vec<_>>>()?;
    let named: Vec<(String, &[f64])> = names.into_iter().zip(cols.iter().map(Column::as_slice)).collect();
    let options = ChartOptions { perfect, negative_effect, max_points };
    let (y, t) = (y.as_slice(), t.as_slice());
    let chart = py.detach(|| uplift_chart(kind, y, t, &named, &options)).map_err(py_err)?;
    Ok(PyUpliftChart { chart })
}

/// A contact plan's profit curve as SVG (`report::uplift_chart::profit_curve_svg`).
#[pyfunction]
fn _profit_curve_svg(n_contacted: Vec<usize>, net_gain: Vec<f64>, plan_n: usize, peak_n: usize) -> String {
    profit_curve_svg(&n_contacted, &net_gain, plan_n, peak_n)
}

/// sklift's `perfect_uplift_curve` (binary outcome).
#[pyfunction]
fn _perfect_uplift_curve<'py>(
    py: Python<'py>,
    y_true: &Bound<'py, PyAny>,
    treatment: &Bound<'py, PyAny>,
) -> PyResult<CurveArrays<'py>> {
    let (y, t) = (floats(y_true, "y_true")?, flags(treatment)?);
    let (y, t) = (y.as_slice(), t.as_slice());
    let c = py.detach(|| core::perfect_uplift_curve(y, t)).map_err(py_err)?;
    Ok(curve_arrays(py, c))
}

/// sklift's `perfect_qini_curve` (binary outcome).
#[pyfunction]
#[pyo3(signature = (y_true, treatment, negative_effect = true))]
fn _perfect_qini_curve<'py>(
    py: Python<'py>,
    y_true: &Bound<'py, PyAny>,
    treatment: &Bound<'py, PyAny>,
    negative_effect: bool,
) -> PyResult<CurveArrays<'py>> {
    let (y, t) = (floats(y_true, "y_true")?, flags(treatment)?);
    let (y, t) = (y.as_slice(), t.as_slice());
    let c = py.detach(|| core::perfect_qini_curve(y, t, negative_effect)).map_err(py_err)?;
    Ok(curve_arrays(py, c))
}

/// Area under the uplift curve with its random and (binary outcome) perfect references:
/// `{"area", "random_area", "perfect_area", "normalized"}`.
#[pyfunction]
fn _uplift_auc<'py>(
    py: Python<'py>,
    y_true: &Bound<'py, PyAny>,
    uplift: &Bound<'py, PyAny>,
    treatment: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let (y, s, t) = (floats(y_true, "y_true")?, floats(uplift, "uplift")?, flags(treatment)?);
    let (y, s, t) = (y.as_slice(), s.as_slice(), t.as_slice());
    let a = py.detach(|| core::uplift_auc(y, s, t)).map_err(py_err)?;
    area_dict(py, &a)
}

/// Area under the Qini curve with its references, as `_uplift_auc`.
#[pyfunction]
#[pyo3(signature = (y_true, uplift, treatment, negative_effect = true))]
fn _qini_auc<'py>(
    py: Python<'py>,
    y_true: &Bound<'py, PyAny>,
    uplift: &Bound<'py, PyAny>,
    treatment: &Bound<'py, PyAny>,
    negative_effect: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let (y, s, t) = (floats(y_true, "y_true")?, floats(uplift, "uplift")?, flags(treatment)?);
    let (y, s, t) = (y.as_slice(), s.as_slice(), t.as_slice());
    let a = py.detach(|| core::qini_auc(y, s, t, negative_effect)).map_err(py_err)?;
    area_dict(py, &a)
}

/// sklift's `uplift_auc_score` (binary outcome).
#[pyfunction]
fn _uplift_auc_score<'py>(
    py: Python<'py>,
    y_true: &Bound<'py, PyAny>,
    uplift: &Bound<'py, PyAny>,
    treatment: &Bound<'py, PyAny>,
) -> PyResult<f64> {
    let (y, s, t) = (floats(y_true, "y_true")?, floats(uplift, "uplift")?, flags(treatment)?);
    let (y, s, t) = (y.as_slice(), s.as_slice(), t.as_slice());
    py.detach(|| core::uplift_auc_score(y, s, t)).map_err(py_err)
}

/// sklift's `qini_auc_score`, the Qini coefficient (binary outcome).
#[pyfunction]
#[pyo3(signature = (y_true, uplift, treatment, negative_effect = true))]
fn _qini_auc_score<'py>(
    py: Python<'py>,
    y_true: &Bound<'py, PyAny>,
    uplift: &Bound<'py, PyAny>,
    treatment: &Bound<'py, PyAny>,
    negative_effect: bool,
) -> PyResult<f64> {
    let (y, s, t) = (floats(y_true, "y_true")?, floats(uplift, "uplift")?, flags(treatment)?);
    let (y, s, t) = (y.as_slice(), s.as_slice(), t.as_slice());
    py.detach(|| core::qini_auc_score(y, s, t, negative_effect)).map_err(py_err)
}

/// sklift's `uplift_at_k`: `k` an int is a count, a float a fraction in (0, 1).
#[pyfunction]
#[pyo3(signature = (y_true, uplift, treatment, strategy = "overall", k = None))]
fn _uplift_at_k<'py>(
    py: Python<'py>,
    y_true: &Bound<'py, PyAny>,
    uplift: &Bound<'py, PyAny>,
    treatment: &Bound<'py, PyAny>,
    strategy: &str,
    k: Option<&Bound<'py, PyAny>>,
) -> PyResult<f64> {
    let cut = self::strategy(strategy)?;
    let k = match k {
        Some(k) => top_k(k)?,
        None => TopK::Fraction(0.3),
    };
    let (y, s, t) = (floats(y_true, "y_true")?, floats(uplift, "uplift")?, flags(treatment)?);
    let (y, s, t) = (y.as_slice(), s.as_slice(), t.as_slice());
    py.detach(|| core::uplift_at_k(y, s, t, k, cut)).map_err(py_err)
}

/// sklift's `uplift_by_percentile` as columns: `low_fraction`, `high_fraction`, `n_treatment`,
/// `n_control`, `response_rate_treatment`, `response_rate_control`, `uplift`, `std_uplift`
/// (None where a group is empty).
#[pyfunction]
#[pyo3(signature = (y_true, uplift, treatment, strategy = "overall", bins = None))]
fn _uplift_by_percentile<'py>(
    py: Python<'py>,
    y_true: &Bound<'py, PyAny>,
    uplift: &Bound<'py, PyAny>,
    treatment: &Bound<'py, PyAny>,
    strategy: &str,
    bins: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let cut = self::strategy(strategy)?;
    // the core bounds bins by the number of units
    let bins = match bins {
        Some(b) => whole_number(b, "bins", u32::MAX.into())? as usize,
        None => 10,
    };
    let (y, s, t) = (floats(y_true, "y_true")?, floats(uplift, "uplift")?, flags(treatment)?);
    let (y, s, t) = (y.as_slice(), s.as_slice(), t.as_slice());
    let rows = py.detach(|| core::uplift_by_percentile(y, s, t, bins, cut)).map_err(py_err)?;
    let d = PyDict::new(py);
    d.set_item("percentile", rows.iter().map(|r| r.label.as_str()).collect::<Vec<_>>())?;
    d.set_item("low_fraction", rows.iter().map(|r| r.low_fraction).collect::<Vec<_>>())?;
    d.set_item("high_fraction", rows.iter().map(|r| r.high_fraction).collect::<Vec<_>>())?;
    d.set_item("n_treatment", rows.iter().map(|r| r.n_treated).collect::<Vec<_>>())?;
    d.set_item("n_control", rows.iter().map(|r| r.n_control).collect::<Vec<_>>())?;
    d.set_item("response_rate_treatment", rows.iter().map(|r| r.rate_treated).collect::<Vec<_>>())?;
    d.set_item("response_rate_control", rows.iter().map(|r| r.rate_control).collect::<Vec<_>>())?;
    d.set_item("uplift", rows.iter().map(|r| r.uplift).collect::<Vec<_>>())?;
    d.set_item("std_uplift", rows.iter().map(|r| r.std_err).collect::<Vec<_>>())?;
    Ok(d)
}

fn interval_dict<'py>(py: Python<'py>, i: &BootstrapInterval) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("estimate", i.estimate)?;
    d.set_item("ci_low", i.ci_low)?;
    d.set_item("ci_high", i.ci_high)?;
    d.set_item("std_err", i.std_err)?;
    d.set_item("n_valid", i.n_valid)?;
    Ok(d)
}

/// Stratified percentile bootstrap of the AUUC and Qini scores:
/// `{"statistic", "uplift_auc": {...}, "qini_auc": {...}}`. `statistic` is `"normalized"`
/// (sklift's scores, binary outcome) or `"above_random"` (area minus random area).
#[pyfunction]
#[pyo3(signature = (y_true, uplift, treatment, n_resamples = None, confidence_level = 0.95, seed = None, negative_effect = true, statistic = "normalized"))]
#[allow(clippy::too_many_arguments)]
fn _bootstrap_uplift_auc<'py>(
    py: Python<'py>,
    y_true: &Bound<'py, PyAny>,
    uplift: &Bound<'py, PyAny>,
    treatment: &Bound<'py, PyAny>,
    n_resamples: Option<&Bound<'py, PyAny>>,
    confidence_level: f64,
    seed: Option<&Bound<'py, PyAny>>,
    negative_effect: bool,
    statistic: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let statistic = match statistic {
        "normalized" => AreaStatistic::Normalized,
        "above_random" => AreaStatistic::AboveRandom,
        other => return Err(invalid("statistic", format!("must be 'normalized' or 'above_random', got {other:?}"))),
    };
    let defaults = BootstrapOptions::default();
    let n_resamples = match n_resamples {
        Some(n) => whole_number(n, "n_resamples", core::MAX_RESAMPLES as u64)? as usize,
        None => defaults.n_resamples,
    };
    let seed = seed.map_or(Ok(defaults.seed), |s| whole_number(s, "seed", u64::MAX))?;
    let options = BootstrapOptions { n_resamples, confidence_level, seed, negative_effect, statistic };
    let (y, s, t) = (floats(y_true, "y_true")?, floats(uplift, "uplift")?, flags(treatment)?);
    let (y, s, t) = (y.as_slice(), s.as_slice(), t.as_slice());
    let b = py.detach(|| core::bootstrap_uplift_auc(y, s, t, &options)).map_err(py_err)?;
    let d = PyDict::new(py);
    d.set_item(
        "statistic",
        match b.statistic {
            AreaStatistic::Normalized => "normalized",
            AreaStatistic::AboveRandom => "above_random",
        },
    )?;
    d.set_item("uplift_auc", interval_dict(py, &b.uplift_auc)?)?;
    d.set_item("qini_auc", interval_dict(py, &b.qini_auc)?)?;
    Ok(d)
}

/// Standardised mean differences of feature columns between treated and control (NaN is
/// missing). `names` label the columns in errors (`X['age']`); without them a column is
/// `X[:, j]`. Returns columns `feature` (index), `n_treatment`, `n_control`, `mean_treatment`,
/// `mean_control`, `smd`.
#[pyfunction]
#[pyo3(signature = (features, treatment, names = None))]
fn _standardized_mean_differences<'py>(
    py: Python<'py>,
    features: Vec<Bound<'py, PyAny>>,
    treatment: &Bound<'py, PyAny>,
    names: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyDict>> {
    if let Some(n) = &names {
        if n.len() != features.len() {
            return Err(invalid("names", format!("has {} names for {} features", n.len(), features.len())));
        }
    }
    let label = |j: usize| match &names {
        Some(n) => format!("X[{:?}]", n[j]),
        None => format!("X[:, {j}]"),
    };
    let cols = features.iter().enumerate().map(|(j, f)| floats(f, &label(j))).collect::<PyResult<Vec<_>>>()?;
    let t = flags(treatment)?;
    let slices: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
    let t = t.as_slice();
    let rows = py
        .detach(|| core::standardized_mean_differences(&slices, t))
        .map_err(|e| Names { features: Some(&label), ..Names::default() }.py_err(e))?;

    let d = PyDict::new(py);
    d.set_item("feature", rows.iter().map(|r| r.feature).collect::<Vec<_>>())?;
    d.set_item("n_treatment", rows.iter().map(|r| r.n_treated).collect::<Vec<_>>())?;
    d.set_item("n_control", rows.iter().map(|r| r.n_control).collect::<Vec<_>>())?;
    d.set_item("mean_treatment", rows.iter().map(|r| r.mean_treated).collect::<Vec<_>>())?;
    d.set_item("mean_control", rows.iter().map(|r| r.mean_control).collect::<Vec<_>>())?;
    d.set_item("smd", rows.iter().map(|r| r.smd).collect::<Vec<_>>())?;
    Ok(d)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_ranking_curve, m)?)?;
    m.add_class::<PyUpliftChart>()?;
    m.add_function(wrap_pyfunction!(_uplift_chart, m)?)?;
    m.add_function(wrap_pyfunction!(_profit_curve_svg, m)?)?;
    m.add_function(wrap_pyfunction!(_perfect_uplift_curve, m)?)?;
    m.add_function(wrap_pyfunction!(_perfect_qini_curve, m)?)?;
    m.add_function(wrap_pyfunction!(_uplift_auc, m)?)?;
    m.add_function(wrap_pyfunction!(_qini_auc, m)?)?;
    m.add_function(wrap_pyfunction!(_uplift_auc_score, m)?)?;
    m.add_function(wrap_pyfunction!(_qini_auc_score, m)?)?;
    m.add_function(wrap_pyfunction!(_uplift_at_k, m)?)?;
    m.add_function(wrap_pyfunction!(_uplift_by_percentile, m)?)?;
    m.add_function(wrap_pyfunction!(_bootstrap_uplift_auc, m)?)?;
    m.add_function(wrap_pyfunction!(_standardized_mean_differences, m)?)?;
    Ok(())
}
