//! Python bindings of `uplift::forest`: the fitted forest as an opaque `_UpliftForest`; the
//! wrapper (`liftlab/_uplift_forest.py`) turns DataFrames into columns and keeps the column and
//! category mapping.
//!
//! Features cross as a list of one-dimensional float64 columns (column-major, NaN = missing,
//! categorical features as their codes), borrowed when contiguous. Fitting bins one column at a
//! time, so a strided column (a column view of a row-major 2-D array) is copied alone and dropped
//! once binned: the fit never holds a column-major copy of the whole matrix. Treatment is codes
//! 0 (control) and 1..=k, the outcome float64. Fitting and predicting run without the GIL. Errors
//! name the wrapper's fields: the core's `x[j]` becomes `X[<name of column j>]`, its `y` stays `y`.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::names::Names;
use super::to_py_err;
use super::uplift::{floats, whole_number, Column};
use crate::error::Error;
use crate::uplift::forest::{self as core, BinnedFeature, ForestParams, SplitCriterion, UpliftForest};
use crate::uplift::model_file::{categories_of, category_codes, label_codes, score_columns, FeatureColumn, ForestFile};
use crate::uplift::{check_groups, treatment_codes, versioned};

/// The feature columns; `names` (one per column) name them in errors.
fn columns<'py>(x: &Bound<'py, PyList>, names: &[String]) -> PyResult<Vec<Column<'py, f64>>> {
    x.iter().enumerate().map(|(j, c)| floats(&c, &field_name(names, j))).collect()
}

/// A core model as JSON (serde), for the models' `to_json` (shared with the meta-learners' door).
pub(super) fn model_json<T: serde::Serialize>(model: &T) -> PyResult<String> {
    serde_json::to_string(model).map_err(|e| to_py_err(Error::Internal(e.to_string())))
}

/// The Python name of feature column `j` in errors (shared with the meta-learners' door).
pub(super) fn field_name(names: &[String], j: usize) -> String {
    match names.get(j) {
        Some(n) => format!("X[{n:?}]"),
        None => format!("X[{j}]"),
    }
}

/// The core's `x` / `x[j]...` fields become `X` / `X["name"]...` (the rename table, `names.rs`).
pub(super) fn py_err(e: Error, names: &[String]) -> PyErr {
    let label = |j: usize| field_name(names, j);
    Names { features: Some(&label), ..Names::default() }.py_err(e)
}

/// A fitted uplift forest (`liftlab.uplift.UpliftForest` holds one).
#[pyclass(name = "_UpliftForest", module = "liftlab._core", frozen)]
struct PyUpliftForest {
    forest: UpliftForest,
}

#[pymethods]
impl PyUpliftForest {
    /// Predicted uplift of each row over control, one float64 array per treatment; `x` is a list
    /// of float64 columns, `names` names them in errors.
    #[pyo3(signature = (x, names = None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyList>,
        names: Option<Vec<String>>,
    ) -> PyResult<Vec<Bound<'py, PyArray1<f64>>>> {
        let names = names.unwrap_or_default();
        let cols = columns(x, &names)?;
        let slices: Vec<&[f64]> = cols.iter().map(Column::as_slice).collect();
        let out = py.detach(|| self.forest.predict_all(&slices)).map_err(|e| py_err(e, &names))?;
        Ok(out.into_iter().map(|v| v.into_pyarray(py)).collect())
    }

    /// Number of treatments (groups other than control).
    #[getter]
    fn n_treatments(&self) -> usize {
        self.forest.n_groups.saturating_sub(1)
    }

    /// The core model as JSON (serde; includes its `format_version`).
    fn to_json(&self) -> PyResult<String> {
        model_json(&self.forest)
    }

    /// A model from [`to_json`]'s text; `field` names it in errors.
    #[staticmethod]
    #[pyo3(signature = (text, field = "forest"))]
    fn from_json(text: &str, field: &str) -> PyResult<Self> {
        Ok(PyUpliftForest { forest: versioned(serde_json::from_str(text), field).map_err(to_py_err)? })
    }

    #[getter]
    fn n_features(&self) -> usize {
        self.forest.n_features
    }

    #[getter]
    fn n_trees(&self) -> usize {
        self.forest.trees.len()
    }

    fn __repr__(&self) -> String {
        format!("_UpliftForest(n_trees={}, n_features={})", self.forest.trees.len(), self.forest.n_features)
    }
}

/// Fits an uplift forest. `x` is a list of float64 columns (categorical ones as codes, listed in
/// `categorical` by index); `names` name the columns in errors; `n_jobs` threads (None = all cores;
/// the result does not depend on it); `on_tree`, if given, is called with the number of trees
/// grown so far after each tree (from the fitting threads, holding the GIL briefly; an exception
/// it raises is printed by Python and fitting goes on).
#[pyfunction]
#[pyo3(signature = (
    x, treatment, y, *, names = None, categorical = Vec::new(), n_trees, max_depth, min_samples_leaf,
    min_samples_treatment, n_reg, criterion, max_features, bootstrap, max_bins, normalization, seed, n_jobs = None,
    on_tree = None
))]
#[allow(clippy::too_many_arguments)]
fn _fit_uplift_forest(
    py: Python<'_>,
    x: &Bound<'_, PyList>,
    treatment: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    names: Option<Vec<String>>,
    categorical: Vec<usize>,
    n_trees: &Bound<'_, PyAny>,
    max_depth: &Bound<'_, PyAny>,
    min_samples_leaf: &Bound<'_, PyAny>,
    min_samples_treatment: &Bound<'_, PyAny>,
    n_reg: f64,
    criterion: &str,
    max_features: Option<&Bound<'_, PyAny>>,
    bootstrap: bool,
    max_bins: &Bound<'_, PyAny>,
    normalization: bool,
    seed: &Bound<'_, PyAny>,
    n_jobs: Option<&Bound<'_, PyAny>>,
    on_tree: Option<Py<PyAny>>,
) -> PyResult<PyUpliftForest> {
    let names = names.unwrap_or_default();
    // Whole numbers, bounded so that they convert; the core checks its documented limits
    // (MAX_TREES, MAX_DEPTH, MAX_JOBS, max_bins <= 255) and names the field.
    let count = |v: &Bound<'_, PyAny>, field: &str| whole_number(v, field, u32::MAX.into()).map(|v| v as usize);
    let params = ForestParams {
        n_trees: count(n_trees, "n_trees")?,
        criterion: SplitCriterion::parse(criterion).map_err(to_py_err)?,
        max_depth: count(max_depth, "max_depth")?,
        min_samples_leaf: count(min_samples_leaf, "min_samples_leaf")?,
        min_samples_treatment: count(min_samples_treatment, "min_samples_treatment")?,
        n_reg,
        max_features: max_features.map(|m| count(m, "max_features")).transpose()?,
        max_bins: count(max_bins, "max_bins")?,
        bootstrap,
        normalization,
        categorical,
        seed: whole_number(seed, "seed", u64::MAX)?,
    };
    let n_jobs = n_jobs.map(|n| count(n, "n_jobs")).transpose()?;
    if let Some(n) = n_jobs {
        core::check_jobs(n).map_err(to_py_err)?;
    }
    params.check(x.len()).map_err(|e| py_err(e, &names))?;
    let t = floats(treatment, "treatment")?;
    let codes = treatment_codes(t.as_slice()).map_err(to_py_err)?;
    drop(t);
    let y = floats(y, "y")?;
    let y = y.as_slice();
    let pool = super::pool::for_jobs(n_jobs).map_err(to_py_err)?;
    // A few columns at a time (one per thread), binned in parallel: a strided column's copy lives
    // only while it is binned.
    let threads = pool.current_num_threads().max(1);
    let items: Vec<Bound<'_, PyAny>> = x.iter().collect();
    let mut binned: Vec<BinnedFeature> = Vec::with_capacity(items.len());
    for (chunk_no, chunk) in items.chunks(threads).enumerate() {
        let first = chunk_no * threads;
        let cols: Vec<Column<'_, f64>> = chunk
            .iter()
            .enumerate()
            .map(|(k, c)| floats(c, &field_name(&names, first + k)))
            .collect::<PyResult<_>>()?;
        let slices: Vec<&[f64]> = cols.iter().map(Column::as_slice).collect();
        let bin = || -> crate::error::Result<Vec<BinnedFeature>> {
            use rayon::prelude::*;
            slices
                .par_iter()
                .enumerate()
                .map(|(k, c)| {
                    let j = first + k;
                    BinnedFeature::new(c, j, params.categorical.contains(&j), params.max_bins)
                })
                .collect()
        };
        let done = py.detach(|| pool.install(bin)).map_err(|e| py_err(e, &names))?;
        binned.extend(done);
    }
    let grown = std::sync::atomic::AtomicUsize::new(0);
    let tick = || {
        let done = grown.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(cb) = &on_tree {
            Python::attach(|py| {
                if let Err(e) = cb.call1(py, (done,)) {
                    e.print(py);
                }
            });
        }
    };
    let forest = py
        .detach(|| pool.install(|| core::fit_binned(&binned, &codes, y, &params, &tick)))
        .map_err(|e| py_err(e, &names))?;
    Ok(PyUpliftForest { forest })
}

/// The core's defaults (`ForestParams::default()`), for the wrapper's signature test.
#[pyfunction]
fn _uplift_forest_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let p = ForestParams::default();
    let d = PyDict::new(py);
    d.set_item("n_trees", p.n_trees)?;
    d.set_item("max_depth", p.max_depth)?;
    d.set_item("min_samples_leaf", p.min_samples_leaf)?;
    d.set_item("min_samples_treatment", p.min_samples_treatment)?;
    d.set_item("n_reg", p.n_reg)?;
    d.set_item("criterion", p.criterion.name())?;
    d.set_item("max_features", p.max_features)?;
    d.set_item("bootstrap", p.bootstrap)?;
    d.set_item("max_bins", p.max_bins)?;
    d.set_item("normalization", p.normalization)?;
    d.set_item("seed", p.seed)?;
    Ok(d)
}

/// A model file's text (`uplift::model_file`): `{"forest", "features": [(name, categories)],
/// "feature_names_in", "treatments", "params": {...}, "score_columns"}`; `source` names it in errors.
#[pyfunction]
fn _read_forest_file<'py>(py: Python<'py>, text: &str, source: &str) -> PyResult<Bound<'py, PyDict>> {
    let file = ForestFile::from_json(text, source).map_err(to_py_err)?;
    let d = PyDict::new(py);
    let features: Vec<(String, Option<Vec<String>>)> =
        file.features.iter().map(|f| (f.name.clone(), f.categories.clone())).collect();
    d.set_item("features", features)?;
    d.set_item("feature_names_in", file.feature_names_in)?;
    d.set_item("treatments", file.treatments.clone())?;
    d.set_item("params", py.import("json")?.call_method1("loads", (file.params().to_string(),))?)?;
    d.set_item("score_columns", file.score_columns())?;
    d.set_item("forest", PyUpliftForest { forest: file.forest })?;
    Ok(d)
}

/// The model file's text of a fitted forest with its features `[(name, categories or None)]`,
/// treatment labels and thread count (`uplift::model_file`).
#[pyfunction]
#[pyo3(signature = (forest, features, feature_names_in, treatments = None, n_jobs = None))]
fn _write_forest_file(
    forest: PyRef<'_, PyUpliftForest>,
    features: Vec<(String, Option<Vec<String>>)>,
    feature_names_in: bool,
    treatments: Option<Vec<String>>,
    n_jobs: Option<usize>,
) -> PyResult<String> {
    let file = ForestFile {
        features: features.into_iter().map(|(name, categories)| FeatureColumn { name, categories }).collect(),
        feature_names_in,
        treatments,
        n_jobs,
        forest: forest.forest.clone(),
    };
    file.to_json().map_err(to_py_err)
}

/// The score column names of a model (`uplift::model_file::score_columns`).
#[pyfunction]
#[pyo3(signature = (n_treatments, labels = None))]
fn _score_columns(n_treatments: usize, labels: Option<Vec<String>>) -> Vec<String> {
    score_columns(n_treatments, labels.as_deref())
}

/// A categorical feature's categories (`uplift::model_file::categories_of`).
#[pyfunction]
fn _categories(values: Vec<Option<String>>) -> Vec<String> {
    categories_of(values)
}

/// The codes of `values` among `categories`, NaN for missing or unseen ones.
#[pyfunction]
fn _category_codes<'py>(
    py: Python<'py>,
    values: Vec<Option<String>>,
    categories: Vec<String>,
) -> Bound<'py, PyArray1<f64>> {
    category_codes(values, &categories).into_pyarray(py)
}

/// Treatment codes (uint8) of numbers, checked with the groups of every learner (codes 0..=63,
/// every code present, each with `MIN_GROUP_UNITS` units); `y` is only counted.
#[pyfunction]
fn _treatment_codes<'py>(
    py: Python<'py>,
    treatment: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<u8>>> {
    let codes = treatment_codes(floats(treatment, "treatment")?.as_slice()).map_err(to_py_err)?;
    check_groups(codes.len(), &codes, floats(y, "y")?.as_slice()).map_err(to_py_err)?;
    Ok(codes.into_pyarray(py))
}

/// Treatment codes of text labels, `control` being 0 (`uplift::model_file::label_codes`), and the
/// treatments' labels in code order.
#[pyfunction]
fn _treatment_label_codes<'py>(
    py: Python<'py>,
    labels: Vec<Option<String>>,
    control: &str,
) -> PyResult<(Bound<'py, PyArray1<u8>>, Vec<String>)> {
    let (codes, treatments) = label_codes(labels, control).map_err(to_py_err)?;
    Ok((codes.into_pyarray(py), treatments))
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyUpliftForest>()?;
    m.add_function(wrap_pyfunction!(_fit_uplift_forest, m)?)?;
    m.add_function(wrap_pyfunction!(_uplift_forest_defaults, m)?)?;
    for f in [
        wrap_pyfunction!(_read_forest_file, m)?,
        wrap_pyfunction!(_write_forest_file, m)?,
        wrap_pyfunction!(_score_columns, m)?,
        wrap_pyfunction!(_categories, m)?,
        wrap_pyfunction!(_category_codes, m)?,
        wrap_pyfunction!(_treatment_codes, m)?,
        wrap_pyfunction!(_treatment_label_codes, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
