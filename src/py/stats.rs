//! Python bindings of `stats`.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::to_py_err;
use crate::stats::{self, SrmResult};

/// A sample-ratio-mismatch check.
#[pyclass(frozen, module = "liftlab", name = "SrmResult")]
pub struct PySrmResult {
    inner: SrmResult,
}

#[pymethods]
impl PySrmResult {
    #[getter]
    fn statistic(&self) -> f64 {
        self.inner.statistic
    }
    #[getter]
    fn df(&self) -> usize {
        self.inner.df
    }
    #[getter]
    fn p_value(&self) -> f64 {
        self.inner.p_value
    }
    #[getter]
    fn mismatch(&self) -> bool {
        self.inner.mismatch
    }
    #[getter]
    fn observed(&self) -> Vec<u64> {
        self.inner.observed.clone()
    }
    #[getter]
    fn expected(&self) -> Vec<f64> {
        self.inner.expected.clone()
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("statistic", self.inner.statistic)?;
        d.set_item("df", self.inner.df)?;
        d.set_item("p_value", self.inner.p_value)?;
        d.set_item("mismatch", self.inner.mismatch)?;
        d.set_item("observed", self.inner.observed.clone())?;
        d.set_item("expected", self.inner.expected.clone())?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "SrmResult(mismatch={}, p_value={:.4e}, statistic={:.4}, df={})",
            if self.inner.mismatch { "True" } else { "False" },
            self.inner.p_value,
            self.inner.statistic,
            self.inner.df
        )
    }

    fn _repr_html_(&self) -> String {
        let r = &self.inner;
        let verdict = if r.mismatch {
            "<b style=\"color:#cf222e\">Sample-ratio mismatch: do not trust this experiment's results</b>"
        } else {
            "<b style=\"color:#1a7f37\">No sample-ratio mismatch</b>"
        };
        let rows: String = r
            .observed
            .iter()
            .zip(&r.expected)
            .enumerate()
            .map(|(i, (o, e))| {
                format!("<tr><td>{i}</td><td>{o}</td><td>{e:.1}</td><td>{:+.2}%</td></tr>", 100.0 * (*o as f64 - e) / e)
            })
            .collect();
        format!(
            "<div>{verdict} (chi-square {:.3}, df {}, p = {:.3e})<table><tr><th>variant</th><th>observed</th><th>expected</th><th>deviation</th></tr>{rows}</table></div>",
            r.statistic, r.df, r.p_value
        )
    }
}

/// Chi-square test of observed counts against configured weights; `mismatch` when p < alpha.
#[pyfunction]
#[pyo3(signature = (observed, weights, alpha = stats::SRM_ALPHA))]
fn check_srm(observed: Vec<u64>, weights: Vec<f64>, alpha: f64) -> PyResult<PySrmResult> {
    Ok(PySrmResult { inner: stats::check_srm(&observed, &weights, alpha).map_err(to_py_err)? })
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySrmResult>()?;
    m.add_function(wrap_pyfunction!(check_srm, m)?)?;
    Ok(())
}
