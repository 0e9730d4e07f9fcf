//! Python bindings of `uplift::meta`: the fitted T- / X-learner as an opaque `_MetaLearner`; the
//! wrapper (`liftlab/_uplift_meta.py`) turns DataFrames into columns, keeps the column names and
//! does the plug-in (any scikit-learn-style base learner) path itself.
//!
//! Features cross as a list of contiguous one-dimensional float64 columns (column-major, all
//! finite), treatment as uint8 codes (0 = control, 1..=k), the outcome as float64. Fitting and
//! predicting run without the GIL. Errors name the wrapper's fields: the core's `x[j]` becomes
//! `X[<name of column j>]`.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::to_py_err;
use super::uplift::invalid;
use super::uplift_model::{field_name, model_json, py_err};
use crate::uplift::linear::{LogisticParams, RidgeParams};
use crate::uplift::meta::{self as core, MetaLearner, MetaLearnerKind, MetaParams, OutcomeType};
use crate::uplift::versioned;

/// Borrows each column as a slice; the wrapper passes contiguous float64 arrays.
fn slices<'a>(cols: &'a [PyReadonlyArray1<'_, f64>], names: &[String]) -> PyResult<Vec<&'a [f64]>> {
    cols.iter()
        .enumerate()
        .map(|(j, c)| c.as_slice().map_err(|_| invalid(field_name(names, j), "must be a contiguous float64 array")))
        .collect()
}

fn learner_kind(s: &str) -> PyResult<MetaLearnerKind> {
    match s {
        "t" => Ok(MetaLearnerKind::TLearner),
        "x" => Ok(MetaLearnerKind::XLearner),
        _ => Err(invalid("learner", format!("must be 't' or 'x', got {s:?}"))),
    }
}

fn outcome_type(s: &str) -> PyResult<OutcomeType> {
    match s {
        "continuous" => Ok(OutcomeType::Continuous),
        "binary" => Ok(OutcomeType::Binary),
        _ => Err(invalid("outcome", format!("must be 'continuous' or 'binary', got {s:?}"))),
    }
}

/// A fitted T- or X-learner over the built-in linear base learners (`liftlab.uplift.TLearner` /
/// `XLearner` hold one).
#[pyclass(name = "_MetaLearner", module = "liftlab._core", frozen)]
struct PyMetaLearner {
    model: MetaLearner,
}

#[pymethods]
impl PyMetaLearner {
    /// The uplift of each treatment (one float64 array per treatment 1..=k); `x` is a list of
    /// float64 columns, `names` names them in errors.
    #[pyo3(signature = (x, names = None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: Vec<PyReadonlyArray1<'py, f64>>,
        names: Option<Vec<String>>,
    ) -> PyResult<Vec<Bound<'py, PyArray1<f64>>>> {
        let names = names.unwrap_or_default();
        let cols = slices(&x, &names)?;
        let out = py.detach(|| self.model.predict(&cols)).map_err(|e| py_err(e, &names))?;
        Ok(out.into_iter().map(|u| u.into_pyarray(py)).collect())
    }

    /// The core model as JSON (serde; includes its `format_version`).
    fn to_json(&self) -> PyResult<String> {
        model_json(&self.model)
    }

    /// A model from [`to_json`]'s text; `field` names it in errors.
    #[staticmethod]
    #[pyo3(signature = (text, field = "model"))]
    fn from_json(text: &str, field: &str) -> PyResult<Self> {
        Ok(PyMetaLearner { model: versioned(serde_json::from_str(text), field).map_err(to_py_err)? })
    }

    #[getter]
    fn n_features(&self) -> usize {
        self.model.n_features
    }

    #[getter]
    fn n_treatments(&self) -> usize {
        self.model.treatments.len()
    }

    /// "t" or "x".
    #[getter]
    fn learner(&self) -> &'static str {
        match self.model.params.learner {
            MetaLearnerKind::TLearner => "t",
            MetaLearnerKind::XLearner => "x",
        }
    }

    /// "continuous" or "binary".
    #[getter]
    fn outcome(&self) -> &'static str {
        match self.model.params.outcome {
            OutcomeType::Continuous => "continuous",
            OutcomeType::Binary => "binary",
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "_MetaLearner(learner={:?}, outcome={:?}, n_features={}, n_treatments={})",
            self.learner(),
            self.outcome(),
            self.model.n_features,
            self.model.treatments.len()
        )
    }
}

/// Fits a T-learner (`learner="t"`) or X-learner (`"x"`) over ridge / L2-logistic base learners.
/// `alpha` is the L2 penalty of both base learners; `tol` and `max_iter` are the logistic one's.
#[pyfunction]
#[pyo3(signature = (x, treatment, y, *, names = None, learner, outcome, alpha, tol, max_iter))]
#[allow(clippy::too_many_arguments)]
fn _fit_meta_learner(
    py: Python<'_>,
    x: Vec<PyReadonlyArray1<'_, f64>>,
    treatment: PyReadonlyArray1<'_, u8>,
    y: PyReadonlyArray1<'_, f64>,
    names: Option<Vec<String>>,
    learner: &str,
    outcome: &str,
    alpha: f64,
    tol: f64,
    max_iter: &Bound<'_, PyAny>,
) -> PyResult<PyMetaLearner> {
    let names = names.unwrap_or_default();
    let max_iter = super::uplift::whole_number(max_iter, "max_iter", u32::MAX.into())? as usize;
    let params = MetaParams {
        learner: learner_kind(learner)?,
        outcome: outcome_type(outcome)?,
        ridge: RidgeParams { alpha },
        logistic: LogisticParams { alpha, tol, max_iter },
    };
    let cols = slices(&x, &names)?;
    let t = treatment.as_slice().map_err(|_| invalid("treatment", "must be a contiguous uint8 array"))?;
    let y = y.as_slice().map_err(|_| invalid("y", "must be a contiguous float64 array"))?;
    let model = py.detach(|| core::fit_meta_learner(&cols, t, y, &params)).map_err(|e| py_err(e, &names))?;
    Ok(PyMetaLearner { model })
}

/// The core's defaults (`MetaParams::default()`), for the wrapper's signature test.
#[pyfunction]
fn _meta_learner_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let p = MetaParams::default();
    let d = PyDict::new(py);
    d.set_item("alpha", p.ridge.alpha)?;
    d.set_item("logistic_alpha", p.logistic.alpha)?;
    d.set_item("tol", p.logistic.tol)?;
    d.set_item("max_iter", p.logistic.max_iter)?;
    Ok(d)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMetaLearner>()?;
    m.add_function(wrap_pyfunction!(_fit_meta_learner, m)?)?;
    m.add_function(wrap_pyfunction!(_meta_learner_defaults, m)?)?;
    Ok(())
}
