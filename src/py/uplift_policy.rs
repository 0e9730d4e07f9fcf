//! Python binding of `uplift::policy`; the wrapper (`liftlab/_uplift_policy.py`) turns DataFrames
//! and dicts into columns and builds the `ContactPlan`.
//!
//! The uplift crosses **channel-major**, one float64 column per channel (as a DataFrame holds it),
//! with the channels' `names`; the core checks and transposes it to unit-major rows
//! (`uplift::policy::rows_from_channels`). Errors name the Python arguments (`names.rs`): the
//! core's `uplift[i][j]` becomes `uplift['sms'][i]`, `channel[j]` `uplift['sms']`, `cost[j]`
//! `cost['sms']`; a budget's error already names `max_contacts` or `max_spend`. The policy runs
//! without the GIL.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};

use super::names::Names;
use super::uplift::{floats, invalid};
use numpy::{IntoPyArray, PyArray1};

use crate::error::Error;
use crate::uplift::policy::{plan_contacts, rows_from_channels, unit_options, Budget};

/// One channel's uplift as float64 (any `numpy.asarray(x, dtype="float64")` input, one-dimensional).
fn column(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Vec<f64>> {
    Ok(floats(obj, field)?.as_slice().to_vec())
}

/// `max_contacts`: a positive integer (not a bool).
fn contacts_budget(k: &Bound<'_, PyAny>) -> PyResult<usize> {
    if k.is_instance_of::<PyBool>() || !k.hasattr("__index__")? {
        return Err(invalid("max_contacts", format!("must be a whole number of contacts, got {k}")));
    }
    let k: i64 = k.extract().map_err(|e| invalid("max_contacts", e))?;
    match usize::try_from(k) {
        Ok(k) => Ok(k),
        Err(_) => Err(invalid("max_contacts", format!("must be >= 1, got {k}"))),
    }
}

/// The contact plan over channel columns; `value` is one number for every channel or one per
/// channel. Returns `{"channel": [index or None], "uplift": [chosen channel's uplift or None],
/// "expected_gain", "score", "rank", "n_contacts", "spend", "expected_conversions",
/// "expected_net_gain", "curve_n_contacted", "curve_net_gain", "peak_n_contacted",
/// "peak_net_gain", "optimal"}`.
#[pyfunction]
#[pyo3(signature = (uplift, names, cost, value, max_contacts = None, max_spend = None))]
fn _plan_contacts<'py>(
    py: Python<'py>,
    uplift: Vec<Bound<'py, PyAny>>,
    names: Vec<String>,
    cost: Vec<f64>,
    value: Vec<f64>,
    max_contacts: Option<&Bound<'py, PyAny>>,
    max_spend: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let rows = unit_rows(&uplift, &names, &cost)?;
    let mut budgets = Vec::new();
    if let Some(k) = max_contacts {
        budgets.push(Budget::MaxContacts(contacts_budget(k)?));
    }
    if let Some(s) = max_spend {
        budgets.push(Budget::MaxSpend(s));
    }
    let policy = py
        .detach(|| plan_contacts(&rows, &cost, &value, &budgets))
        .map_err(|e| Names { channels: &names, ..Names::default() }.py_err(e))?;
    let d = PyDict::new(py);
    let u = &policy.units;
    d.set_item("channel", u.iter().map(|x| x.channel).collect::<Vec<_>>())?;
    d.set_item("uplift", u.iter().enumerate().map(|(i, x)| x.channel.map(|j| rows[i][j])).collect::<Vec<_>>())?;
    d.set_item("expected_gain", u.iter().map(|x| x.expected_gain).collect::<Vec<_>>())?;
    d.set_item("score", u.iter().map(|x| x.score).collect::<Vec<_>>())?;
    d.set_item("rank", u.iter().map(|x| x.rank).collect::<Vec<_>>())?;
    d.set_item("n_contacts", policy.n_contacts)?;
    d.set_item("spend", policy.spend)?;
    d.set_item("expected_conversions", policy.expected_conversions)?;
    d.set_item("expected_net_gain", policy.expected_net_gain)?;
    let curve = policy.profit_curve;
    d.set_item("curve_n_contacted", curve.n_contacted)?;
    d.set_item("curve_net_gain", curve.net_gain)?;
    d.set_item("peak_n_contacted", curve.peak_n_contacted)?;
    d.set_item("peak_net_gain", curve.peak_net_gain)?;
    d.set_item("optimal", policy.optimal)?;
    Ok(d)
}

/// Channel-major columns as unit-major rows (`uplift::policy::rows_from_channels`, which checks
/// their lengths), errors named after the channels.
fn unit_rows(uplift: &[Bound<'_, PyAny>], names: &[String], cost: &[f64]) -> PyResult<Vec<Vec<f64>>> {
    if names.len() != uplift.len() {
        // `_channels` in the wrapper gives one name per column; anything else is its bug
        return Err(super::to_py_err(Error::Internal(format!(
            "_plan_contacts: {} channel names for {} uplift columns",
            names.len(),
            uplift.len()
        ))));
    }
    let cols =
        uplift.iter().zip(names).map(|(c, n)| column(c, &format!("uplift['{n}']"))).collect::<PyResult<Vec<_>>>()?;
    rows_from_channels(&cols, cost).map_err(|e| Names { channels: names, ..Names::default() }.py_err(e))
}

/// The policy's per-unit numbers (`uplift::policy::unit_options`) for a batch of units, as numpy
/// arrays: `best` (channel index, −1 for none), `score`, `gain` (one array per channel, NaN where
/// the channel is not eligible), `n_options`, and the convex hulls flattened: `hull_len` per unit,
/// then `hull_channel`, `hull_d_cost`, `hull_efficiency` unit after unit. Used by the Spark plan
/// (`liftlab/spark.py`) on each Arrow batch.
#[pyfunction]
fn _contact_options<'py>(
    py: Python<'py>,
    uplift: Vec<Bound<'py, PyAny>>,
    names: Vec<String>,
    cost: Vec<f64>,
    value: Vec<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let rows = unit_rows(&uplift, &names, &cost)?;
    let options = py
        .detach(|| unit_options(&rows, &cost, &value))
        .map_err(|e| Names { channels: &names, ..Names::default() }.py_err(e))?;
    let d = PyDict::new(py);
    let best: Vec<i64> = options.iter().map(|o| o.best.map_or(-1, |j| j as i64)).collect();
    d.set_item("best", best.into_pyarray(py))?;
    d.set_item("score", options.iter().map(|o| o.score).collect::<Vec<_>>().into_pyarray(py))?;
    let gains: Vec<Bound<'py, PyArray1<f64>>> = (0..cost.len())
        .map(|j| options.iter().map(|o| o.gains[j].unwrap_or(f64::NAN)).collect::<Vec<_>>().into_pyarray(py))
        .collect();
    d.set_item("gain", gains)?;
    d.set_item("n_options", options.iter().map(|o| o.n_options as i64).collect::<Vec<_>>().into_pyarray(py))?;
    d.set_item("hull_len", options.iter().map(|o| o.hull.len() as i64).collect::<Vec<_>>().into_pyarray(py))?;
    let steps = || options.iter().flat_map(|o| o.hull.iter());
    d.set_item("hull_channel", steps().map(|h| h.channel as i64).collect::<Vec<_>>().into_pyarray(py))?;
    d.set_item("hull_d_cost", steps().map(|h| h.d_cost).collect::<Vec<_>>().into_pyarray(py))?;
    d.set_item("hull_efficiency", steps().map(|h| h.efficiency).collect::<Vec<_>>().into_pyarray(py))?;
    Ok(d)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_plan_contacts, m)?)?;
    m.add_function(wrap_pyfunction!(_contact_options, m)?)?;
    Ok(())
}
