//! Deterministic assignment of units to experiment variants.
//!
//! A unit (user id, phone number, lead id) is hashed with GrowthBook's algorithms
//! ([`hash`]), so an app that assigns with a GrowthBook SDK and liftlab agree on every bucket.
//! On top of the hash sit the ideas of Google's overlapping-experiment infrastructure (Tang et al.,
//! KDD 2010): experiments in different *layers* are assigned independently, experiments inside a
//! layer are mutually exclusive by slices of the layer's namespace hash, and a long-running
//! *holdout* keeps a share of all units out of every experiment in its scope.
//!
//! Every unit gets a clear answer ([`Assignment`]): a variant, or why it is not enrolled. The
//! checks run in this order, the first that applies deciding the [`Reason`]:
//!
//! 1. `excluded` — the unit is on an exclusion list (exclusion always wins, even over QA forcing);
//! 2. `forced` — a QA override puts the unit in a named variant;
//! 3. `inactive` — the experiment is switched off;
//! 4. `missing_attribute` — the hash attribute is not among the unit's attributes;
//! 5. `in_holdout` — the unit is in a holdout covering this experiment;
//! 6. `filtered_out` — the unit is outside the experiment's hash filters;
//! 7. `other_experiment_in_layer` / `outside_layer_range` — the unit's slice of the layer belongs
//!    to another experiment of the layer, or to none;
//! 8. `not_eligible` — the targeting condition fails;
//! 9. `outside_coverage` — the unit's hash falls outside every variant's range;
//! 10. `assigned` — in a variant.

pub mod condition;
pub mod hash;
pub mod ids;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::spec::{Experiment, Spec};
use hash::Hasher;

pub use condition::{eval_condition, Condition, SavedGroups};
pub use hash::{bucket_ranges, choose_variant, hash_unit, in_namespace, BucketRange, HashVersion};
pub use ids::{stringify_number, unit_id_from_json, unit_id_from_number, UnitId};

/// Why a unit is (or is not) in a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Reason {
    Assigned = 0,
    Forced = 1,
    Excluded = 2,
    Inactive = 3,
    MissingAttribute = 4,
    InHoldout = 5,
    FilteredOut = 6,
    OtherExperimentInLayer = 7,
    OutsideLayerRange = 8,
    NotEligible = 9,
    OutsideCoverage = 10,
}

impl Reason {
    /// Every reason, in code order.
    pub const ALL: [Reason; 11] = [
        Reason::Assigned,
        Reason::Forced,
        Reason::Excluded,
        Reason::Inactive,
        Reason::MissingAttribute,
        Reason::InHoldout,
        Reason::FilteredOut,
        Reason::OtherExperimentInLayer,
        Reason::OutsideLayerRange,
        Reason::NotEligible,
        Reason::OutsideCoverage,
    ];

    /// The snake_case name used in every face.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Assigned => "assigned",
            Reason::Forced => "forced",
            Reason::Excluded => "excluded",
            Reason::Inactive => "inactive",
            Reason::MissingAttribute => "missing_attribute",
            Reason::InHoldout => "in_holdout",
            Reason::FilteredOut => "filtered_out",
            Reason::OtherExperimentInLayer => "other_experiment_in_layer",
            Reason::OutsideLayerRange => "outside_layer_range",
            Reason::NotEligible => "not_eligible",
            Reason::OutsideCoverage => "outside_coverage",
        }
    }

    /// Whether the unit is in a variant.
    pub fn enrolled(self) -> bool {
        matches!(self, Reason::Assigned | Reason::Forced)
    }
}

/// The answer for one unit in one experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Assignment {
    pub experiment: String,
    pub unit_id: String,
    /// The variant name, when enrolled.
    pub variant: Option<String>,
    /// The variant index (0 = control), when enrolled.
    pub variant_index: Option<usize>,
    pub reason: Reason,
    /// The unit's variant hash in `[0, 1)`, when it was computed.
    pub bucket: Option<f64>,
    /// Which holdout or which experiment of the layer, when the reason has one.
    pub detail: Option<String>,
}

/// A filter's hasher, ranges and attribute.
type PreparedFilter<'a> = (Hasher, &'a [(f64, f64)], Option<&'a str>);

/// The prepared form of one experiment: hashers built once, for the batch path.
struct Prepared<'a> {
    exp: &'a Experiment,
    variant: Hasher,
    namespace: Option<Hasher>,
    holdouts: Vec<(Hasher, f64, &'a str, &'a str)>,
    filters: Vec<PreparedFilter<'a>>,
    layer_mates: Vec<(&'a str, (f64, f64))>,
    needs_attributes: bool,
}

/// The outcome of one decision, before names are attached.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Decision<'a> {
    index: Option<usize>,
    reason: Reason,
    bucket: Option<f64>,
    detail: Option<&'a str>,
}

impl<'a> Decision<'a> {
    fn out(reason: Reason) -> Self {
        Decision { index: None, reason, bucket: None, detail: None }
    }
}

/// The text hashed for an attribute, as GrowthBook's SDKs take it (`isHashable`, then
/// JavaScript's `String()`): see [`ids::attribute_hash_text`]. A missing, empty, zero or boolean
/// value means "no hash value".
fn attribute_string(attributes: Option<&Value>, name: &str) -> Option<String> {
    ids::attribute_hash_text(attributes?.get(name)?)
}

impl<'a> Prepared<'a> {
    fn new(spec: &'a Spec, exp: &'a Experiment) -> Self {
        let holdouts = exp
            .holdouts
            .iter()
            .map(|&h| {
                let h = &spec.holdouts[h];
                (Hasher::new(&h.seed, h.hash_version), h.share, h.key.as_str(), h.hash_attribute.as_str())
            })
            .collect::<Vec<_>>();
        let layer_mates = match &exp.layer {
            Some(layer) => spec
                .experiments
                .iter()
                .filter(|e| e.key != exp.key && e.layer.as_ref() == Some(layer))
                .map(|e| (e.key.as_str(), e.namespace_range))
                .collect(),
            None => Vec::new(),
        };
        let needs_attributes = exp.condition.is_some()
            || exp.hash_attribute != "id"
            || holdouts.iter().any(|h| h.3 != "id")
            || exp.filters.iter().any(|f| f.attribute.as_deref().is_some_and(|a| a != "id"));
        Prepared {
            exp,
            variant: Hasher::new(&exp.seed, exp.hash_version),
            namespace: exp.layer.as_ref().map(|l| Hasher::new(&format!("__{l}"), hash::HashVersion::V1)),
            filters: exp
                .filters
                .iter()
                .map(|f| (Hasher::new(&f.seed, f.hash_version), f.ranges.as_slice(), f.attribute.as_deref()))
                .collect(),
            holdouts,
            layer_mates,
            needs_attributes,
        }
    }

    /// Decides for one unit. `attributes` is the unit's attribute object, if any.
    #[inline]
    fn decide(&self, spec: &Spec, unit_id: &str, attributes: Option<&Value>) -> Decision<'a> {
        self.decide_with(spec, unit_id, attributes, None)
    }

    /// [`Prepared::decide`] with the variant hash of the unit id already computed (batch path;
    /// only when the experiment hashes the unit id).
    #[inline]
    fn decide_with(
        &self,
        spec: &Spec,
        unit_id: &str,
        attributes: Option<&Value>,
        id_hash: Option<f64>,
    ) -> Decision<'a> {
        let exp = self.exp;
        if exp.exclude.contains(unit_id) {
            return Decision::out(Reason::Excluded);
        }
        if let Some(&index) = exp.forced.get(unit_id) {
            return Decision { index: Some(index), reason: Reason::Forced, bucket: None, detail: None };
        }
        if !exp.active {
            return Decision::out(Reason::Inactive);
        }
        let value_of = |name: &str| -> Option<std::borrow::Cow<'_, str>> {
            if name == "id" {
                Some(std::borrow::Cow::Borrowed(unit_id))
            } else {
                attribute_string(attributes, name).map(std::borrow::Cow::Owned)
            }
        };
        let Some(hash_value) = value_of(&exp.hash_attribute) else {
            return Decision { detail: Some(exp.hash_attribute.as_str()), ..Decision::out(Reason::MissingAttribute) };
        };
        for (hasher, share, key, attribute) in &self.holdouts {
            match value_of(attribute) {
                Some(v) if hasher.hash(&v) < *share => {
                    return Decision { detail: Some(key), ..Decision::out(Reason::InHoldout) };
                }
                Some(_) => {}
                None => return Decision { detail: Some(attribute), ..Decision::out(Reason::MissingAttribute) },
            }
        }
        for (hasher, ranges, attribute) in &self.filters {
            // GrowthBook hashes a filter's `attribute`, defaulting to `id`.
            let v = value_of(attribute.unwrap_or("id"));
            let Some(v) = v else {
                return Decision::out(Reason::FilteredOut);
            };
            let n = hasher.hash(&v);
            if !ranges.iter().any(|&(s, e)| n >= s && n < e) {
                return Decision::out(Reason::FilteredOut);
            }
        }
        if let Some(ns) = &self.namespace {
            let n = ns.hash(&hash_value);
            let (s, e) = exp.namespace_range;
            if !(n >= s && n < e) {
                let other = self.layer_mates.iter().find(|(_, (s, e))| n >= *s && n < *e);
                return match other {
                    Some((key, _)) => Decision { detail: Some(key), ..Decision::out(Reason::OtherExperimentInLayer) },
                    None => Decision::out(Reason::OutsideLayerRange),
                };
            }
        }
        if let Some(cond) = &exp.condition {
            // The unit id is visible to conditions as `id`, as it is in a GrowthBook SDK's
            // attributes, unless the attributes carry their own `id`.
            let with_id;
            let attrs = match attributes {
                Some(a @ Value::Object(m)) if m.contains_key("id") => a,
                other => {
                    let mut m = match other {
                        Some(Value::Object(m)) => m.clone(),
                        _ => Default::default(),
                    };
                    m.insert("id".into(), Value::String(unit_id.to_string()));
                    with_id = Value::Object(m);
                    &with_id
                }
            };
            if !cond.eval(attrs, &spec.groups) {
                return Decision::out(Reason::NotEligible);
            }
        }
        let n = id_hash.unwrap_or_else(|| self.variant.hash(&hash_value));
        match choose_variant(n, &exp.ranges) {
            Some(i) => Decision { index: Some(i), reason: Reason::Assigned, bucket: Some(n), detail: None },
            None => Decision { bucket: Some(n), ..Decision::out(Reason::OutsideCoverage) },
        }
    }
}

/// Whether assigning in `experiment` reads unit attributes (a condition, or hashing or
/// holdouts on an attribute other than the unit id).
pub fn needs_attributes(spec: &Spec, experiment: &str) -> Result<bool> {
    Ok(Prepared::new(spec, spec.experiment(experiment)?).needs_attributes)
}

fn check_unit_id(unit_id: &str, field: &str) -> Result<()> {
    if unit_id.is_empty() {
        return Err(Error::invalid(field, "unit id is empty"));
    }
    Ok(())
}

fn check_attributes(attributes: Option<&Value>, field: &str) -> Result<()> {
    match attributes {
        None | Some(Value::Object(_)) | Some(Value::Null) => Ok(()),
        Some(other) => Err(Error::invalid(field, format!("must be a JSON object of attributes, got {other}"))),
    }
}

fn to_assignment(exp: &Experiment, unit_id: &str, d: Decision<'_>) -> Assignment {
    Assignment {
        experiment: exp.key.clone(),
        unit_id: unit_id.to_string(),
        variant: d.index.map(|i| exp.variants[i].clone()),
        variant_index: d.index,
        reason: d.reason,
        bucket: d.bucket,
        detail: d.detail.map(str::to_string),
    }
}

/// Assigns one unit in one experiment.
pub fn assign_experiment(
    spec: &Spec,
    experiment: &str,
    unit_id: &str,
    attributes: Option<&Value>,
) -> Result<Assignment> {
    check_unit_id(unit_id, "unit_id")?;
    check_attributes(attributes, "attributes")?;
    let exp = spec.experiment(experiment)?;
    let d = Prepared::new(spec, exp).decide(spec, unit_id, attributes);
    Ok(to_assignment(exp, unit_id, d))
}

/// Assigns one unit in every experiment of the spec, in spec order.
pub fn assign_unit(spec: &Spec, unit_id: &str, attributes: Option<&Value>) -> Result<Vec<Assignment>> {
    check_unit_id(unit_id, "unit_id")?;
    check_attributes(attributes, "attributes")?;
    Ok(spec
        .experiments
        .iter()
        .map(|exp| to_assignment(exp, unit_id, Prepared::new(spec, exp).decide(spec, unit_id, attributes)))
        .collect())
}

/// Column-oriented assignments of many units to one experiment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchAssignment {
    /// Variant index per unit, `-1` when not enrolled.
    pub variant_index: Vec<i32>,
    /// Reason per unit.
    pub reason: Vec<Reason>,
    /// Variant hash per unit, `NaN` where it was not computed (the reason says why).
    pub bucket: Vec<f64>,
}

/// Assigns many units to one experiment: the vectorised path of every face.
///
/// `attributes`, when given, holds one attribute object per unit (same length as `ids`). An
/// empty id is an error naming its row (`ids[17]`).
pub fn assign_batch<S: AsRef<str>>(
    spec: &Spec,
    experiment: &str,
    ids: &[S],
    attributes: Option<&[Value]>,
) -> Result<BatchAssignment> {
    assign_batch_with_progress(spec, experiment, ids, attributes, &mut |_| {})
}

/// [`assign_batch`] calling `progress(done)` every 65,536 units.
pub fn assign_batch_with_progress<S: AsRef<str>>(
    spec: &Spec,
    experiment: &str,
    ids: &[S],
    attributes: Option<&[Value]>,
    progress: &mut dyn FnMut(usize),
) -> Result<BatchAssignment> {
    let exp = spec.experiment(experiment)?;
    if let Some(attrs) = attributes {
        if attrs.len() != ids.len() {
            return Err(Error::invalid(
                "attributes",
                format!("has {} rows for {} ids; give one attribute row per id", attrs.len(), ids.len()),
            ));
        }
    }
    // Without attributes every unit is evaluated against `{}`, as a single assign without
    // attributes would be.
    let prepared = Prepared::new(spec, exp);
    let n = ids.len();
    let mut out = BatchAssignment {
        variant_index: Vec::with_capacity(n),
        reason: Vec::with_capacity(n),
        bucket: Vec::with_capacity(n),
    };
    const CHUNK: usize = 1 << 16;
    let mut hashes = vec![0.0; CHUNK.min(n)];
    for (c, chunk) in ids.chunks(CHUNK).enumerate() {
        // The variant hash of every id, computed several at a time (see `Hasher::hash_many`).
        let hashes = &mut hashes[..chunk.len()];
        let id_hashed = exp.hash_attribute == "id";
        if id_hashed {
            prepared.variant.hash_many(chunk, hashes);
        }
        for (k, id) in chunk.iter().enumerate() {
            let row = c * CHUNK + k;
            let id = id.as_ref();
            if id.is_empty() {
                return Err(Error::invalid(format!("ids[{row}]"), "unit id is empty"));
            }
            let attrs = attributes.map(|a| &a[row]);
            let d = prepared.decide_with(spec, id, attrs, id_hashed.then(|| hashes[k]));
            out.variant_index.push(d.index.map_or(-1, |i| i as i32));
            out.reason.push(d.reason);
            out.bucket.push(d.bucket.unwrap_or(f64::NAN));
        }
        progress(out.reason.len());
    }
    Ok(out)
}

/// Assignments of many units to several experiments, in long format: one row per unit and
/// experiment, with names instead of indices (what the CLI writes and `POST /v1/assign/batch`
/// returns).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct LongAssignments {
    pub unit_id: Vec<String>,
    pub experiment: Vec<String>,
    pub variant: Vec<Option<String>>,
    pub reason: Vec<Reason>,
    pub bucket: Vec<Option<f64>>,
}

/// Assigns `ids` to the experiments `experiments` (all of the spec's when `None`), calling
/// `progress(done)` as units are done across all experiments.
pub fn assign_long<S: AsRef<str>>(
    spec: &Spec,
    experiments: Option<&[String]>,
    ids: &[S],
    attributes: Option<&[Value]>,
    progress: &mut dyn FnMut(usize),
) -> Result<LongAssignments> {
    let keys: Vec<&str> = match experiments {
        Some(keys) => keys.iter().map(|k| spec.experiment(k).map(|e| e.key.as_str())).collect::<Result<_>>()?,
        None => spec.experiments.iter().map(|e| e.key.as_str()).collect(),
    };
    // The input is checked whatever the experiments are (a spec may have none).
    if let Some(attrs) = attributes {
        if attrs.len() != ids.len() {
            return Err(Error::invalid(
                "attributes",
                format!("has {} rows for {} ids; give one attribute row per id", attrs.len(), ids.len()),
            ));
        }
        for (i, a) in attrs.iter().enumerate() {
            check_attributes(Some(a), &format!("attributes[{i}]"))?;
        }
    }
    if let Some(i) = ids.iter().position(|id| id.as_ref().is_empty()) {
        return Err(Error::invalid(format!("ids[{i}]"), "unit id is empty"));
    }
    let n = ids.len();
    let mut out = LongAssignments::default();
    for (e, key) in keys.iter().enumerate() {
        let exp = spec.experiment(key)?;
        let b = assign_batch_with_progress(spec, key, ids, attributes, &mut |done| progress(e * n + done))?;
        out.unit_id.extend(ids.iter().map(|s| s.as_ref().to_string()));
        out.experiment.extend(std::iter::repeat_n(exp.key.clone(), n));
        out.variant.extend(b.variant_index.iter().map(|&i| usize::try_from(i).ok().map(|i| exp.variants[i].clone())));
        out.reason.extend(b.reason);
        out.bucket.extend(b.bucket.iter().map(|&x| (!x.is_nan()).then_some(x)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
[groups]
dnc = ["u-blocked"]

[[holdouts]]
key = "h"
share = 0.1

[[experiments]]
key = "a"
variants = ["control", "treatment"]
layer = "L"
namespace_range = [0.0, 0.5]
exclude_groups = ["dnc"]
forced = { "u-qa" = "treatment", "u-blocked" = "treatment" }

[[experiments]]
key = "b"
variants = ["control", "treatment"]
layer = "L"
namespace_range = [0.5, 1.0]
condition = { country = "US" }
"#;

    #[test]
    fn reasons_are_reported() {
        let spec = Spec::from_toml(SPEC).unwrap();
        let a = assign_experiment(&spec, "a", "u-blocked", None).unwrap();
        assert_eq!(a.reason, Reason::Excluded, "exclusion wins over forcing");
        let a = assign_experiment(&spec, "a", "u-qa", None).unwrap();
        assert_eq!((a.reason, a.variant.as_deref()), (Reason::Forced, Some("treatment")));
        let mut seen = std::collections::HashSet::new();
        for i in 0..2000 {
            let id = format!("user-{i}");
            let r = assign_unit(&spec, &id, Some(&serde_json::json!({"country": "US"}))).unwrap();
            // mutually exclusive in the layer: never enrolled in both
            assert!(!(r[0].reason.enrolled() && r[1].reason.enrolled()), "{id}");
            for x in &r {
                seen.insert(x.reason);
                if x.reason == Reason::OtherExperimentInLayer {
                    assert!(x.detail.is_some());
                }
            }
        }
        for r in [Reason::Assigned, Reason::InHoldout, Reason::OtherExperimentInLayer] {
            assert!(seen.contains(&r), "{r:?} never seen");
        }
        let b = assign_experiment(&spec, "b", "user-1", Some(&serde_json::json!({"country": "FR"}))).unwrap();
        assert!(matches!(b.reason, Reason::NotEligible | Reason::InHoldout | Reason::OtherExperimentInLayer));
    }

    #[test]
    fn batch_agrees_with_single() {
        let spec = Spec::from_toml(SPEC).unwrap();
        let ids: Vec<String> = (0..5000).map(|i| format!("id{i}")).collect();
        let batch = assign_batch(&spec, "a", &ids, None).unwrap();
        for (i, id) in ids.iter().enumerate() {
            let one = assign_experiment(&spec, "a", id, None).unwrap();
            assert_eq!(one.reason, batch.reason[i]);
            assert_eq!(one.variant_index.map_or(-1, |v| v as i32), batch.variant_index[i]);
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let spec = Spec::from_toml(SPEC).unwrap();
        assert_eq!(assign_unit(&spec, "", None).unwrap_err().field(), Some("unit_id"));
        assert_eq!(assign_experiment(&spec, "zzz", "u", None).unwrap_err().code(), "not_found");
        let ids = ["a", "", "c"];
        assert_eq!(assign_batch(&spec, "a", &ids, None).unwrap_err().field(), Some("ids[1]"));
        assert!(assign_unit(&spec, "u", Some(&serde_json::json!([1]))).is_err());
    }
}
