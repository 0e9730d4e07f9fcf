//! Python bindings of `assign` and `spec`.

use arrow_array::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use arrow_array::{Array, LargeStringArray, RecordBatchReader, StringArray, StringViewArray};
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};
use serde_json::Value;

use super::to_py_err;
use super::uplift::whole_number;
use crate::assign::{self as core, Assignment as CoreAssignment, HashVersion, Reason, SavedGroups};
use crate::error::Error;
use crate::spec::Spec as CoreSpec;

/// A validated experiment spec.
#[pyclass(frozen, module = "liftlab", name = "Spec")]
pub struct PySpec {
    pub(crate) inner: CoreSpec,
}

#[pymethods]
impl PySpec {
    /// Parses and validates a spec from TOML text.
    #[staticmethod]
    fn from_toml(text: &str) -> PyResult<Self> {
        Ok(PySpec { inner: CoreSpec::from_toml(text).map_err(to_py_err)? })
    }

    /// Parses and validates a spec from JSON text (the same fields as TOML).
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| to_py_err(Error::invalid("spec", format!("is not valid JSON: {e}"))))?;
        Ok(PySpec { inner: CoreSpec::from_json(&v).map_err(to_py_err)? })
    }

    /// The outcome columns the metrics of `experiment` read.
    fn metric_columns(&self, experiment: &str) -> PyResult<Vec<String>> {
        Ok(self.inner.metric_columns(experiment).map_err(to_py_err)?.into_iter().map(str::to_string).collect())
    }

    /// The key of the experiment to analyse: the one named (checked), or the spec's only one.
    #[pyo3(signature = (experiment=None))]
    fn resolve_experiment(&self, experiment: Option<&str>) -> PyResult<String> {
        Ok(self.inner.resolve_experiment(experiment).map_err(to_py_err)?.key.clone())
    }

    /// The exposure columns `experiment` is broken down by.
    fn segment_columns(&self, experiment: &str) -> PyResult<Vec<String>> {
        Ok(self.inner.experiment(experiment).map_err(to_py_err)?.analysis.segments.clone())
    }

    /// Experiment keys, in spec order.
    #[getter]
    fn experiments(&self) -> Vec<String> {
        self.inner.experiments.iter().map(|e| e.key.clone()).collect()
    }

    /// Variant names of an experiment.
    fn variants(&self, experiment: &str) -> PyResult<Vec<String>> {
        Ok(self.inner.experiment(experiment).map_err(to_py_err)?.variants.clone())
    }

    /// Weights of an experiment.
    fn weights(&self, experiment: &str) -> PyResult<Vec<f64>> {
        Ok(self.inner.experiment(experiment).map_err(to_py_err)?.weights.clone())
    }

    /// The spec as TOML text.
    fn to_toml(&self) -> PyResult<String> {
        self.inner.to_toml().map_err(to_py_err)
    }

    fn __repr__(&self) -> String {
        format!("Spec(experiments={:?})", self.experiments())
    }
}

/// The answer for one unit in one experiment.
#[pyclass(frozen, module = "liftlab", name = "Assignment")]
pub struct PyAssignment {
    inner: CoreAssignment,
}

#[pymethods]
impl PyAssignment {
    #[getter]
    fn experiment(&self) -> &str {
        &self.inner.experiment
    }
    #[getter]
    fn unit_id(&self) -> &str {
        &self.inner.unit_id
    }
    #[getter]
    fn variant(&self) -> Option<&str> {
        self.inner.variant.as_deref()
    }
    #[getter]
    fn variant_index(&self) -> Option<usize> {
        self.inner.variant_index
    }
    #[getter]
    fn reason(&self) -> &'static str {
        self.inner.reason.as_str()
    }
    #[getter]
    fn enrolled(&self) -> bool {
        self.inner.reason.enrolled()
    }
    #[getter]
    fn bucket(&self) -> Option<f64> {
        self.inner.bucket
    }
    #[getter]
    fn detail(&self) -> Option<&str> {
        self.inner.detail.as_deref()
    }

    /// The assignment as a plain dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("experiment", &self.inner.experiment)?;
        d.set_item("unit_id", &self.inner.unit_id)?;
        d.set_item("variant", &self.inner.variant)?;
        d.set_item("variant_index", self.inner.variant_index)?;
        d.set_item("reason", self.inner.reason.as_str())?;
        d.set_item("bucket", self.inner.bucket)?;
        d.set_item("detail", &self.inner.detail)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let a = &self.inner;
        match &a.variant {
            Some(v) => format!(
                "Assignment(experiment={:?}, unit_id={:?}, variant={v:?}, reason={:?})",
                a.experiment,
                a.unit_id,
                a.reason.as_str()
            ),
            None => format!(
                "Assignment(experiment={:?}, unit_id={:?}, variant=None, reason={:?})",
                a.experiment,
                a.unit_id,
                a.reason.as_str()
            ),
        }
    }

    fn _repr_html_(&self) -> String {
        let a = &self.inner;
        let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let colour = if a.reason.enrolled() { "#1a7f37" } else { "#9a6700" };
        format!(
            "<table><tr><th>experiment</th><th>unit</th><th>variant</th><th>reason</th><th>bucket</th></tr>\
             <tr><td>{}</td><td>{}</td><td><b>{}</b></td><td style=\"color:{colour}\">{}{}</td><td>{}</td></tr></table>",
            esc(&a.experiment),
            esc(&a.unit_id),
            esc(a.variant.as_deref().unwrap_or("—")),
            a.reason.as_str(),
            a.detail.as_deref().map(|d| format!(" ({})", esc(d))).unwrap_or_default(),
            a.bucket.map(|b| format!("{b:.4}")).unwrap_or_else(|| "—".into()),
        )
    }
}

fn parse_json(text: Option<&str>, field: &str) -> PyResult<Option<Value>> {
    text.map(|t| {
        serde_json::from_str(t).map_err(|e| to_py_err(Error::invalid(field, format!("is not valid JSON: {e}"))))
    })
    .transpose()
}

/// GrowthBook-compatible hash of `value` with `seed`, in [0, 1).
#[pyfunction]
#[pyo3(signature = (seed, value, version = 2))]
fn hash_unit(seed: &str, value: &str, version: i64) -> PyResult<f64> {
    let v = HashVersion::from_number(version, "version").map_err(to_py_err)?;
    Ok(core::hash_unit(seed, value, v))
}

/// Bucket ranges `[start, end)` per variant for a coverage and weights (equal when None).
#[pyfunction]
#[pyo3(signature = (n_variants, coverage = 1.0, weights = None))]
fn bucket_ranges(n_variants: &Bound<'_, PyAny>, coverage: f64, weights: Option<Vec<f64>>) -> PyResult<Vec<(f64, f64)>> {
    // bounded here only so that the conversion cannot overflow; the core checks MAX_VARIANTS
    let n = whole_number(n_variants, "n_variants", u32::MAX.into())? as usize;
    core::bucket_ranges(n, coverage, weights.as_deref()).map_err(to_py_err)
}

/// The `[start, end)` pairs of `ranges`: any sequence of pairs of numbers (tuples, lists, a
/// 2-D numpy array), as GrowthBook's SDKs take them.
fn range_pairs(ranges: &Bound<'_, PyAny>) -> PyResult<Vec<(f64, f64)>> {
    let not_pairs = |why: String| to_py_err(Error::invalid("ranges", why));
    if ranges.is_instance_of::<pyo3::types::PyString>() {
        return Err(not_pairs("must be a sequence of [start, end) pairs, got a string".into()));
    }
    let items = ranges.try_iter().map_err(|_| {
        not_pairs(format!(
            "must be a sequence of [start, end) pairs, got {}",
            ranges.get_type().name().map_or_else(|_| "?".into(), |n| n.to_string())
        ))
    })?;
    let mut out = Vec::new();
    for (i, item) in items.enumerate() {
        let item = item?;
        let field = format!("ranges[{i}]");
        let pair: Vec<f64> = if item.is_instance_of::<pyo3::types::PyString>() {
            Vec::new()
        } else {
            item.extract().map_err(|_| {
                to_py_err(Error::invalid(
                    &field,
                    format!(
                        "must be a pair of numbers, got {}",
                        item.repr().map_or_else(|_| "?".into(), |r| r.to_string())
                    ),
                ))
            })?
        };
        match pair.as_slice() {
            [s, e] => out.push((*s, *e)),
            _ => {
                return Err(to_py_err(Error::invalid(
                    field,
                    format!(
                        "must be a pair [start, end), got {}",
                        item.repr().map_or_else(|_| "?".into(), |r| r.to_string())
                    ),
                )))
            }
        }
    }
    Ok(out)
}

/// Index of the range holding `hash`, or None. `ranges` is any sequence of `[start, end)` pairs.
#[pyfunction]
fn choose_variant(hash: f64, ranges: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
    Ok(core::choose_variant(hash, &range_pairs(ranges)?))
}

/// The unit id of a number (`int`, `float`, a numpy number): its JavaScript `String()`, as
/// GrowthBook hashes it. NaN, infinities and integers beyond a double are errors naming `field`.
#[pyfunction]
#[pyo3(signature = (value, field = "unit_id"))]
fn _unit_id_of_number(value: &Bound<'_, PyAny>, field: &str) -> PyResult<String> {
    let x: f64 = value.extract().map_err(|_| {
        to_py_err(Error::invalid(field, format!("{value} is not a unit id (beyond the range of a double)")))
    })?;
    core::unit_id_from_number(x, field).map_err(to_py_err)
}

/// The unit ids of a float64 column (JavaScript's `String()` of each); NaN (a null) or an
/// infinity is an error naming `ids[i]`.
#[pyfunction]
fn _unit_ids_of_floats(values: numpy::PyReadonlyArray1<'_, f64>) -> PyResult<Vec<String>> {
    let v = values.as_array();
    v.iter()
        .enumerate()
        .map(|(i, &x)| core::unit_id_from_number(x, &format!("ids[{i}]")))
        .collect::<Result<_, _>>()
        .map_err(to_py_err)
}

/// Whether `unit_id` falls in `[start, end)` of namespace `name`.
#[pyfunction]
fn in_namespace(unit_id: &str, name: &str, start: f64, end: f64) -> bool {
    core::in_namespace(unit_id, name, start, end)
}

/// Evaluates a condition (JSON text) against attributes (JSON text).
#[pyfunction]
#[pyo3(signature = (condition_json, attributes_json, groups_json = None))]
fn _eval_condition(condition_json: &str, attributes_json: &str, groups_json: Option<&str>) -> PyResult<bool> {
    let c = parse_json(Some(condition_json), "condition")?.unwrap_or(Value::Null);
    let a = parse_json(Some(attributes_json), "attributes")?.unwrap_or(Value::Null);
    let g: SavedGroups = match parse_json(groups_json, "groups")? {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| to_py_err(Error::invalid("groups", format!("must map names to lists: {e}"))))?,
        None => SavedGroups::new(),
    };
    core::eval_condition(&c, &a, &g).map_err(to_py_err)
}

/// Assigns one unit to every experiment (or one) of the spec.
#[pyfunction]
#[pyo3(signature = (spec, unit_id, attributes_json = None, experiment = None))]
fn _assign(
    spec: &PySpec,
    unit_id: &str,
    attributes_json: Option<&str>,
    experiment: Option<&str>,
) -> PyResult<Vec<PyAssignment>> {
    let attrs = parse_json(attributes_json, "attributes")?;
    let out = match experiment {
        Some(k) => vec![core::assign_experiment(&spec.inner, k, unit_id, attrs.as_ref()).map_err(to_py_err)?],
        None => core::assign_unit(&spec.inner, unit_id, attrs.as_ref()).map_err(to_py_err)?,
    };
    Ok(out.into_iter().map(|inner| PyAssignment { inner }).collect())
}

/// Reads a one-column table through the Arrow PyCapsule stream interface into owned arrays.
fn read_id_arrays(table: &Bound<'_, PyAny>) -> PyResult<Vec<std::sync::Arc<dyn Array>>> {
    let capsule = table.call_method0("__arrow_c_stream__")?;
    let capsule = capsule
        .cast::<PyCapsule>()
        .map_err(|_| to_py_err(Error::schema("ids", "__arrow_c_stream__ did not return a capsule")))?;
    let ptr = capsule
        .pointer_checked(Some(c"arrow_array_stream"))
        .map_err(|_| to_py_err(Error::schema("ids", "not an Arrow stream capsule (arrow_array_stream)")))?
        .as_ptr() as *mut FFI_ArrowArrayStream;
    // SAFETY: the capsule holds a valid ArrowArrayStream (Arrow PyCapsule interface);
    // `from_raw` moves it out and leaves a released stream behind, which the capsule's
    // destructor then ignores.
    let reader = unsafe { ArrowArrayStreamReader::from_raw(ptr) }.map_err(|e| to_py_err(Error::schema("ids", e)))?;
    if reader.schema().fields().len() != 1 {
        return Err(to_py_err(Error::schema("ids", "expected a single column of ids")));
    }
    let mut arrays = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| to_py_err(Error::schema("ids", e)))?;
        arrays.push(batch.column(0).clone());
    }
    Ok(arrays)
}

fn collect_ids(arrays: &[std::sync::Arc<dyn Array>]) -> Result<Vec<&str>, Error> {
    let total: usize = arrays.iter().map(|a| a.len()).sum();
    let mut ids = Vec::with_capacity(total);
    for a in arrays {
        let start = ids.len();
        let null_at = |i: usize| Error::invalid(format!("ids[{}]", start + i), "id is null");
        if let Some(s) = a.as_any().downcast_ref::<StringViewArray>() {
            for i in 0..s.len() {
                if s.is_null(i) {
                    return Err(null_at(i));
                }
                ids.push(s.value(i));
            }
        } else if let Some(s) = a.as_any().downcast_ref::<StringArray>() {
            for i in 0..s.len() {
                if s.is_null(i) {
                    return Err(null_at(i));
                }
                ids.push(s.value(i));
            }
        } else if let Some(s) = a.as_any().downcast_ref::<LargeStringArray>() {
            for i in 0..s.len() {
                if s.is_null(i) {
                    return Err(null_at(i));
                }
                ids.push(s.value(i));
            }
        } else {
            return Err(Error::schema("ids", format!("ids must be text, got Arrow type {}", a.data_type())));
        }
    }
    Ok(ids)
}

/// Assigns a column of ids (a one-column table exposing `__arrow_c_stream__`, e.g. a polars
/// DataFrame) to one experiment. Returns (variant_index int32, reason_code uint8, bucket float64)
/// numpy arrays. The GIL is released while assigning.
#[pyfunction]
#[pyo3(signature = (spec, table, experiment, attributes_json = None))]
#[allow(clippy::type_complexity)]
fn _assign_batch<'py>(
    py: Python<'py>,
    spec: &PySpec,
    table: &Bound<'py, PyAny>,
    experiment: &str,
    attributes_json: Option<&str>,
) -> PyResult<(Bound<'py, PyArray1<i32>>, Bound<'py, PyArray1<u8>>, Bound<'py, PyArray1<f64>>)> {
    let arrays = read_id_arrays(table)?;
    let attrs: Option<Vec<Value>> = match parse_json(attributes_json, "attributes")? {
        Some(Value::Array(rows)) => Some(rows),
        Some(_) => return Err(to_py_err(Error::invalid("attributes", "must be a list of attribute objects"))),
        None => None,
    };
    let inner = &spec.inner;
    let result = py.detach(|| -> Result<_, Error> {
        let ids = collect_ids(&arrays)?;
        core::assign_batch(inner, experiment, &ids, attrs.as_deref())
    });
    let b = result.map_err(to_py_err)?;
    let reasons: Vec<u8> = b.reason.iter().map(|r| *r as u8).collect();
    Ok((b.variant_index.into_pyarray(py), reasons.into_pyarray(py), b.bucket.into_pyarray(py)))
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySpec>()?;
    m.add_class::<PyAssignment>()?;
    m.add_function(wrap_pyfunction!(hash_unit, m)?)?;
    m.add_function(wrap_pyfunction!(bucket_ranges, m)?)?;
    m.add_function(wrap_pyfunction!(choose_variant, m)?)?;
    m.add_function(wrap_pyfunction!(in_namespace, m)?)?;
    m.add_function(wrap_pyfunction!(_eval_condition, m)?)?;
    m.add_function(wrap_pyfunction!(_assign, m)?)?;
    m.add_function(wrap_pyfunction!(_assign_batch, m)?)?;
    m.add_function(wrap_pyfunction!(_unit_id_of_number, m)?)?;
    m.add_function(wrap_pyfunction!(_unit_ids_of_floats, m)?)?;
    m.add("REASONS", Reason::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>())?;
    Ok(())
}
