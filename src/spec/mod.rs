//! The experiment spec: one TOML file that drives assignment (and, later, analysis and
//! forecasting).
//!
//! ```toml
//! version = 1
//!
//! [groups]                       # named lists, for `$inGroup` and for exclusions
//! do_not_contact = ["+15550100", "+15550101"]
//!
//! [[holdouts]]
//! key = "h2-holdout"             # 5% of all units see nothing new for the half year
//! share = 0.05
//!
//! [[experiments]]
//! key = "sms-reminder"
//! variants = ["control", "sms"]
//! weights = [0.5, 0.5]           # default: equal
//! coverage = 0.2                 # share of eligible units enrolled; raise it to ramp up
//! layer = "outreach"             # experiments of one layer are mutually exclusive ...
//! namespace_range = [0.0, 0.5]   # ... each owning a slice of the layer
//! condition = { country = { "$in" = ["US", "CA"] } }
//! exclude_groups = ["do_not_contact"]
//! forced = { "qa-phone-1" = "sms" }
//! ```
//!
//! Every field is checked once, by [`Spec::from_toml`] / [`Spec::from_json`], and errors name the
//! field by its path (`experiments[0].weights`).
//!
//! **Moving experiments from GrowthBook.** The fields map one to one (`hashAttribute` ->
//! `hash_attribute`, `hashVersion` -> `hash_version`, `namespace` -> `layer` + `namespace_range`,
//! `filters`, `condition`, `weights`, `coverage`, `seed`), with these differences in defaults:
//! - `hash_version` defaults to **2** here, while a GrowthBook `Experiment` defined in code (an
//!   SDK's `run()`) defaults to **1**: set `hash_version = 1` for an experiment that was running
//!   with the SDK default, or every unit is hashed anew and about half change variant;
//! - an empty `seed` means the key, as in the SDKs;
//! - invalid weights and coverage are errors, not silently repaired (the full list of deliberate
//!   differences is in `tests/growthbook_cases.rs`).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::assign::condition::{Condition, SavedGroups};
use crate::assign::hash::{self, HashVersion};
use crate::error::{Error, Result};

pub mod analysis;
pub mod catalog;

pub use analysis::{AnalysisSettings, AnalysisSpec, CapSpec, Metric, MetricSpec, Missing, SequentialMode};

/// The newest spec format version this build understands.
pub const SPEC_VERSION: u32 = 1;

/// The spec as written (serde model). Use [`Spec`] for the validated form.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// Spec format version (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// Named lists of values (ids, phone numbers, …) for `$inGroup` and `exclude_groups`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, Vec<Value>>,
    /// Long-running holdouts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holdouts: Vec<HoldoutSpec>,
    /// The experiments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub experiments: Vec<ExperimentSpec>,
    /// Metrics the experiments are analysed on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricSpec>,
    /// Analysis settings for every experiment (each may override them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisSpec>,
    /// Pre-launch forecasts of experiments' changes (`liftlab forecast --spec … --experiment …`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forecasts: Vec<ForecastSpec>,
    /// The warehouse metric catalogue: id types, identity tables, exposure and fact sources,
    /// metrics on facts ([`catalog`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<catalog::CatalogSpec>,
}

/// The forecast of one experiment's change: the fields of a forecast request, tied to the
/// experiment whose test will check it. The test plan takes the experiment's arms: with the
/// default design (one treatment, equal split) it uses the experiment's number of treatments and
/// its treatment/control weight ratio.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastSpec {
    /// The key of the experiment that will test the change.
    pub experiment: String,
    pub model: crate::forecast::ForecastInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<crate::forecast::PlanInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<crate::forecast::HistoryInput>,
}

/// One experiment as written in the spec.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    /// Unique key; also the default hash seed.
    pub key: String,
    /// Hash seed (default: the key). An empty seed also means the key, as in GrowthBook's SDKs
    /// (`seed || key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// Hash version, 1 or 2 (default **2**). A GrowthBook `Experiment` defined in code defaults
    /// to version **1**: when moving such an experiment here, write `hash_version = 1` (or the
    /// version it was defined with) so that no unit changes variant. Experiments from the
    /// GrowthBook app carry their `hashVersion` (2 for new ones); copy it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_version: Option<i64>,
    /// The attribute whose value is hashed (default `id`: the unit id itself). Its value is
    /// hashed as GrowthBook's SDKs do: a non-empty string as it is, a non-zero number as
    /// JavaScript prints it (`4217.0` -> `"4217"`); `0`, `""` and booleans are missing
    /// (`missing_attribute`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_attribute: Option<String>,
    /// Variant names, control first.
    pub variants: Vec<String>,
    /// Traffic weights, one per variant, summing to 1 (default equal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f64>>,
    /// Share of eligible units enrolled, in [0, 1] (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
    /// Explicit bucket ranges `[start, end)` per variant, replacing weights and coverage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranges: Option<Vec<[f64; 2]>>,
    /// Layer (GrowthBook namespace) the experiment lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// The slice `[start, end)` of the layer this experiment owns (default `[0, 1]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_range: Option<[f64; 2]>,
    /// Hash filters: the unit must fall in one of the ranges of every filter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<FilterSpec>,
    /// Targeting condition (GrowthBook condition JSON, as a TOML table or a JSON string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
    /// Unit ids never enrolled (do-not-contact lists): exclusion always wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Names of groups whose members are never enrolled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_groups: Vec<String>,
    /// Forced variants for QA: unit id -> variant name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub forced: BTreeMap<String, String>,
    /// Whether the experiment enrols anyone (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Names of the metrics this experiment is analysed on (default: every metric of the spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<String>>,
    /// Analysis settings overriding the spec's `[analysis]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisSpec>,
}

/// A hash filter (GrowthBook's `filters`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// Hash seed.
    pub seed: String,
    /// Attribute to hash (default `id`, as in GrowthBook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// Hash version (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_version: Option<i64>,
    /// Ranges `[start, end)`; the unit passes when its hash is in any of them.
    pub ranges: Vec<[f64; 2]>,
}

/// A long-running holdout.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldoutSpec {
    /// Unique key; also the default hash seed.
    pub key: String,
    /// Share of all units held out, in [0, 1].
    pub share: f64,
    /// Hash seed (default: the key; an empty seed also means the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// Hash version (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_version: Option<i64>,
    /// Attribute hashed (default `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_attribute: Option<String>,
    /// Scope: experiments in these layers (default: every experiment, unless `experiments` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<String>>,
    /// Scope: these experiments (default: every experiment, unless `layers` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiments: Option<Vec<String>>,
}

/// A validated experiment, ready to assign.
#[derive(Clone, Debug)]
pub struct Experiment {
    pub key: String,
    pub seed: String,
    pub hash_version: HashVersion,
    pub hash_attribute: String,
    pub variants: Vec<String>,
    pub weights: Vec<f64>,
    pub coverage: f64,
    pub ranges: Vec<(f64, f64)>,
    pub layer: Option<String>,
    pub namespace_range: (f64, f64),
    pub filters: Vec<Filter>,
    pub condition: Option<Condition>,
    pub exclude: HashSet<String>,
    pub forced: BTreeMap<String, usize>,
    pub active: bool,
    /// Indices into [`Spec::holdouts`] of the holdouts covering this experiment.
    pub holdouts: Vec<usize>,
    /// Indices into [`Spec::metrics`] of the metrics this experiment is analysed on.
    pub metrics: Vec<usize>,
    /// The experiment's analysis settings (the spec's, overridden by its own).
    pub analysis: AnalysisSettings,
}

/// A validated hash filter.
#[derive(Clone, Debug)]
pub struct Filter {
    pub seed: String,
    pub attribute: Option<String>,
    pub hash_version: HashVersion,
    pub ranges: Vec<(f64, f64)>,
}

/// A validated holdout.
#[derive(Clone, Debug)]
pub struct Holdout {
    pub key: String,
    pub share: f64,
    pub seed: String,
    pub hash_version: HashVersion,
    pub hash_attribute: String,
}

/// A validated spec: every field checked, conditions parsed, ranges computed.
#[derive(Clone, Debug)]
pub struct Spec {
    pub version: u32,
    pub groups: SavedGroups,
    pub holdouts: Vec<Holdout>,
    pub experiments: Vec<Experiment>,
    /// Every metric of the spec.
    pub metrics: Vec<Metric>,
    /// The spec-level analysis settings.
    pub analysis: AnalysisSettings,
    /// The validated metric catalogue; its metrics are also in `metrics`, after the spec's own.
    pub catalog: Option<catalog::Catalog>,
    /// The spec as written, for echoing back (`GET /v1/spec`).
    pub source: SpecFile,
}

/// The hash seed: the given one, or the key when it is absent or empty (GrowthBook's
/// `experiment.seed || experiment.key`).
fn seed_or_key(seed: Option<&str>, key: &str) -> String {
    match seed {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => key.to_string(),
    }
}

fn parse_version(v: Option<i64>, field: &str) -> Result<HashVersion> {
    v.map_or(Ok(HashVersion::V2), |v| HashVersion::from_number(v, field))
}

fn check_range(r: [f64; 2], field: &str) -> Result<(f64, f64)> {
    let [s, e] = r;
    if !(s.is_finite() && e.is_finite()) || s < 0.0 || e > 1.0 || s > e {
        return Err(Error::invalid(
            field,
            format!("[{s}, {e}] is not a range [start, end) with 0 <= start <= end <= 1"),
        ));
    }
    Ok((s, e))
}

fn check_key(key: &str, field: &str) -> Result<()> {
    if key.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    Ok(())
}

impl Spec {
    /// Parses and validates a TOML spec.
    pub fn from_toml(text: &str) -> Result<Self> {
        let de = toml::Deserializer::parse(text).map_err(|e| Error::invalid("spec", one_line(&e.to_string())))?;
        let file: SpecFile = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            Error::invalid(if path == "." { "spec".to_string() } else { path }, one_line(&e.inner().to_string()))
        })?;
        Self::from_file(file)
    }

    /// Parses and validates a spec given as JSON (the same fields as the TOML form).
    pub fn from_json(value: &Value) -> Result<Self> {
        let file: SpecFile = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            Error::invalid(if path == "." { "spec".to_string() } else { path }, one_line(&e.inner().to_string()))
        })?;
        Self::from_file(file)
    }

    /// Validates a parsed spec.
    pub fn from_file(file: SpecFile) -> Result<Self> {
        let version = file.version.unwrap_or(SPEC_VERSION);
        if version == 0 || version > SPEC_VERSION {
            return Err(Error::invalid(
                "version",
                format!("spec version {version} is not supported (this build reads 1..={SPEC_VERSION})"),
            ));
        }
        use crate::limits::{check_len, MAX_EXPERIMENTS, MAX_HOLDOUTS, MAX_METRICS};
        check_len("experiments", file.experiments.len(), MAX_EXPERIMENTS, "experiments")?;
        check_len("holdouts", file.holdouts.len(), MAX_HOLDOUTS, "holdouts")?;
        check_len("metrics", file.metrics.len(), MAX_METRICS, "metrics")?;
        check_len("forecasts", file.forecasts.len(), MAX_EXPERIMENTS, "forecasts")?;
        let groups: SavedGroups = file.groups.clone();
        for name in groups.keys() {
            check_key(name, "groups")?;
        }

        let mut holdouts = Vec::new();
        let mut seen = HashSet::new();
        for (i, h) in file.holdouts.iter().enumerate() {
            let at = |f: &str| format!("holdouts[{i}].{f}");
            check_key(&h.key, &at("key"))?;
            if !seen.insert(h.key.clone()) {
                return Err(Error::invalid(at("key"), format!("duplicate holdout key '{}'", h.key)));
            }
            if !(0.0..=1.0).contains(&h.share) {
                return Err(Error::invalid(at("share"), format!("{} is outside [0, 1]", h.share)));
            }
            holdouts.push(Holdout {
                key: h.key.clone(),
                share: h.share,
                seed: seed_or_key(h.seed.as_deref(), &h.key),
                hash_version: parse_version(h.hash_version, &at("hash_version"))?,
                hash_attribute: h.hash_attribute.clone().unwrap_or_else(|| "id".into()),
            });
        }

        let mut experiments: Vec<Experiment> = Vec::new();
        let mut keys = HashSet::new();
        for (i, x) in file.experiments.iter().enumerate() {
            let exp = Self::validate_experiment(x, &groups).map_err(|e| e.within(format!("experiments[{i}]")))?;
            if !keys.insert(exp.key.clone()) {
                return Err(Error::invalid(
                    format!("experiments[{i}].key"),
                    format!("duplicate experiment key '{}'", exp.key),
                ));
            }
            experiments.push(exp);
        }

        // Experiments of one layer are mutually exclusive: their slices must not overlap.
        for (i, a) in experiments.iter().enumerate() {
            for b in &experiments[..i] {
                if a.layer.is_some() && a.layer == b.layer {
                    let (s1, e1) = a.namespace_range;
                    let (s2, e2) = b.namespace_range;
                    if s1 < e2 && s2 < e1 {
                        return Err(Error::invalid(
                            format!("experiments[{i}].namespace_range"),
                            format!(
                                "[{s1}, {e1}) overlaps [{s2}, {e2}) of '{}' in layer '{}'; experiments of one layer must not overlap",
                                b.key,
                                a.layer.as_deref().unwrap_or_default()
                            ),
                        ));
                    }
                }
            }
        }

        // Holdout scopes.
        let layer_names: HashSet<String> = experiments.iter().filter_map(|e| e.layer.clone()).collect();
        for (hi, h) in file.holdouts.iter().enumerate() {
            if let Some(layers) = &h.layers {
                if let Some((j, l)) = layers.iter().enumerate().find(|(_, l)| !layer_names.contains(l.as_str())) {
                    return Err(Error::invalid(
                        format!("holdouts[{hi}].layers[{j}]"),
                        format!("no experiment is in layer '{l}'"),
                    ));
                }
            }
            if let Some(exps) = &h.experiments {
                if let Some((j, k)) = exps.iter().enumerate().find(|(_, k)| !keys.contains(k.as_str())) {
                    return Err(Error::not_found(format!("holdouts[{hi}].experiments[{j}]"), "experiment", k.as_str()));
                }
            }
            for exp in experiments.iter_mut() {
                let in_scope = match (&h.layers, &h.experiments) {
                    (None, None) => true,
                    (layers, exps) => {
                        layers.as_ref().is_some_and(|ls| exp.layer.as_ref().is_some_and(|l| ls.contains(l)))
                            || exps.as_ref().is_some_and(|ks| ks.contains(&exp.key))
                    }
                };
                if in_scope {
                    exp.holdouts.push(hi);
                }
            }
        }

        // Metrics and analysis settings.
        let mut metrics: Vec<Metric> = Vec::new();
        for (i, m) in file.metrics.iter().enumerate() {
            let metric = m.validate().map_err(|e| e.within(format!("metrics[{i}]")))?;
            if metrics.iter().any(|x| x.name == metric.name) {
                return Err(Error::invalid(
                    format!("metrics[{i}].name"),
                    format!("duplicate metric '{}'", metric.name),
                ));
            }
            metrics.push(metric);
        }
        let catalog = match &file.catalog {
            None => None,
            Some(c) => {
                let (catalog, fact_metrics) = c.validate()?;
                for (i, metric) in fact_metrics.into_iter().enumerate() {
                    if metrics.iter().any(|x| x.name == metric.name) {
                        return Err(Error::invalid(
                            format!("catalog.metrics[{i}].name"),
                            format!("duplicate metric '{}' (also in [[metrics]])", metric.name),
                        ));
                    }
                    metrics.push(metric);
                }
                Some(catalog)
            }
        };
        let analysis = match &file.analysis {
            Some(a) => a.validate(&AnalysisSettings::default()).map_err(|e| e.within("analysis"))?,
            None => AnalysisSettings::default(),
        };
        for (i, (exp, x)) in experiments.iter_mut().zip(&file.experiments).enumerate() {
            exp.metrics = match &x.metrics {
                None => (0..metrics.len()).collect(),
                Some(names) => names
                    .iter()
                    .enumerate()
                    .map(|(j, name)| {
                        metrics.iter().position(|m| &m.name == name).ok_or_else(|| {
                            Error::not_found(format!("experiments[{i}].metrics[{j}]"), "metric", name.as_str())
                        })
                    })
                    .collect::<Result<_>>()?,
            };
            exp.analysis = match &x.analysis {
                Some(a) => a.validate(&analysis).map_err(|e| e.within(format!("experiments[{i}].analysis")))?,
                None => analysis.clone(),
            };
        }
        for (i, f) in file.forecasts.iter().enumerate() {
            let at = |field: &str| format!("forecasts[{i}].{field}");
            if !experiments.iter().any(|e| e.key == f.experiment) {
                return Err(Error::invalid(at("experiment"), format!("no experiment '{}' in the spec", f.experiment)));
            }
            crate::forecast::validate_input(&f.model).map_err(|e| e.within(at("model")))?;
        }
        Ok(Spec { version, groups, holdouts, experiments, metrics, analysis, catalog, source: file })
    }

    /// The forecast request of experiment `key` (or of the only forecast when `key` is `None`),
    /// its plan set to the experiment's arms.
    pub fn forecast_request(&self, key: Option<&str>) -> Result<crate::forecast::ForecastRequest> {
        let all = &self.source.forecasts;
        let f = match key {
            Some(k) => all.iter().find(|f| f.experiment == k).ok_or_else(|| {
                let have: Vec<&str> = all.iter().map(|f| f.experiment.as_str()).collect();
                Error::invalid(
                    "experiment",
                    format!("the spec has no forecast for '{k}' (it has: {})", have.join(", ")),
                )
            })?,
            None => match all.as_slice() {
                [f] => f,
                [] => return Err(Error::invalid("forecasts", "the spec has no [[forecasts]]")),
                _ => return Err(Error::invalid("experiment", "the spec has several forecasts; name the experiment")),
            },
        };
        let exp = self.experiment(&f.experiment)?;
        let mut plan = f.plan.clone();
        if let Some(p) = plan.as_mut() {
            let d = &mut p.design;
            if d.variants == 1 && d.ratio == 1.0 {
                d.variants = exp.variants.len() - 1;
                let w = &exp.weights;
                if w[1..].iter().all(|x| (x - w[1]).abs() < 1e-12) && w[0] > 0.0 {
                    d.ratio = w[1] / w[0];
                }
            }
        }
        Ok(crate::forecast::ForecastRequest {
            model: f.model.clone(),
            plan,
            history: f.history.clone(),
            language: Default::default(),
        })
    }

    fn validate_experiment(x: &ExperimentSpec, groups: &SavedGroups) -> Result<Experiment> {
        check_key(&x.key, "key")?;
        crate::limits::check_name("key", &x.key)?;
        let n = x.variants.len();
        crate::limits::check_len("variants", n, crate::limits::MAX_VARIANTS, "variants")?;
        if n < 2 {
            return Err(Error::invalid(
                "variants",
                format!("has {n} variant(s); an experiment needs at least 2 (control first)"),
            ));
        }
        let mut names = HashSet::new();
        for (j, v) in x.variants.iter().enumerate() {
            check_key(v, &format!("variants[{j}]"))?;
            crate::limits::check_name(format!("variants[{j}]"), v)?;
            if !names.insert(v.as_str()) {
                return Err(Error::invalid(format!("variants[{j}]"), format!("duplicate variant '{v}'")));
            }
        }
        let coverage = x.coverage.unwrap_or(1.0);
        hash::validate_coverage(coverage)?;
        let weights = match &x.weights {
            Some(w) => {
                hash::validate_weights(n, w)?;
                w.clone()
            }
            None => hash::equal_weights(n),
        };
        let ranges = match &x.ranges {
            Some(rs) => {
                if rs.len() != n {
                    return Err(Error::invalid("ranges", format!("has {} ranges for {n} variants", rs.len())));
                }
                let ranges = rs
                    .iter()
                    .enumerate()
                    .map(|(j, r)| check_range(*r, &format!("ranges[{j}]")))
                    .collect::<Result<Vec<_>>>()?;
                for (j, a) in ranges.iter().enumerate() {
                    if ranges[..j].iter().any(|b| a.0 < b.1 && b.0 < a.1) {
                        return Err(Error::invalid(format!("ranges[{j}]"), "overlaps the range of another variant"));
                    }
                }
                ranges
            }
            None => hash::bucket_ranges(n, coverage, Some(&weights))?,
        };
        let namespace_range = match (x.namespace_range, &x.layer) {
            (Some(r), Some(_)) => check_range(r, "namespace_range")?,
            (Some(_), None) => {
                return Err(Error::invalid("namespace_range", "is set but `layer` is not; name the layer"))
            }
            (None, _) => (0.0, 1.0),
        };
        if let Some(layer) = &x.layer {
            check_key(layer, "layer")?;
        }
        let filters = x
            .filters
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let at = |s: &str| format!("filters[{j}].{s}");
                Ok(Filter {
                    seed: f.seed.clone(),
                    attribute: f.attribute.clone(),
                    hash_version: parse_version(f.hash_version, &at("hash_version"))?,
                    ranges: f
                        .ranges
                        .iter()
                        .enumerate()
                        .map(|(k, r)| check_range(*r, &at(&format!("ranges[{k}]"))))
                        .collect::<Result<_>>()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let condition = match &x.condition {
            None => None,
            Some(v) => {
                let v = match v {
                    Value::String(text) => serde_json::from_str::<Value>(text)
                        .map_err(|e| Error::invalid("condition", format!("is not valid JSON: {e}")))?,
                    other => other.clone(),
                };
                let c = Condition::parse(&v)?;
                c.validate(groups).map_err(|e| e.within("condition"))?;
                Some(c)
            }
        };
        let mut exclude: HashSet<String> = x.exclude.iter().cloned().collect();
        for (j, g) in x.exclude_groups.iter().enumerate() {
            let members =
                groups.get(g).ok_or_else(|| Error::not_found(format!("exclude_groups[{j}]"), "group", g.as_str()))?;
            // A number is the unit id JavaScript would print (`47593751.0` -> "47593751").
            exclude.extend(members.iter().map(|m| match m {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), crate::assign::stringify_number),
                other => other.to_string(),
            }));
        }
        let mut forced = BTreeMap::new();
        for (unit, variant) in &x.forced {
            let idx = x.variants.iter().position(|v| v == variant).ok_or_else(|| {
                Error::invalid(
                    format!("forced.{unit}"),
                    format!("unknown variant '{variant}' (variants: {})", x.variants.join(", ")),
                )
            })?;
            forced.insert(unit.clone(), idx);
        }
        let hash_attribute = x.hash_attribute.clone().unwrap_or_else(|| "id".into());
        check_key(&hash_attribute, "hash_attribute")?;
        Ok(Experiment {
            key: x.key.clone(),
            seed: seed_or_key(x.seed.as_deref(), &x.key),
            hash_version: parse_version(x.hash_version, "hash_version")?,
            hash_attribute,
            variants: x.variants.clone(),
            weights,
            coverage,
            ranges,
            layer: x.layer.clone(),
            namespace_range,
            filters,
            condition,
            exclude,
            forced,
            active: x.active.unwrap_or(true),
            holdouts: Vec::new(),
            metrics: Vec::new(),
            analysis: AnalysisSettings::default(),
        })
    }

    /// The experiment with `key`.
    pub fn experiment(&self, key: &str) -> Result<&Experiment> {
        self.experiments.iter().find(|e| e.key == key).ok_or_else(|| {
            Error::not_found("experiment", "experiment", key).with_detail(crate::error::Detail::UnknownExperiment)
        })
    }

    /// The experiment to analyse (or query, or forecast from): the one named, or the spec's only
    /// one. The rule every door follows; its errors name the field `experiment`.
    pub fn resolve_experiment(&self, key: Option<&str>) -> Result<&Experiment> {
        match (key, self.experiments.as_slice()) {
            (Some(k), _) => self.experiment(k),
            (None, [one]) => Ok(one),
            (None, []) => Err(Error::invalid("experiment", "the spec has no experiments")),
            (None, all) => Err(Error::invalid(
                "experiment",
                format!(
                    "the spec has {} experiments; name one ({})",
                    all.len(),
                    all.iter().map(|e| e.key.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
            .with_detail(crate::error::Detail::AmbiguousExperiment)),
        }
    }

    /// The outcome columns the metrics of experiment `key` read, each once, in metric order.
    pub fn metric_columns(&self, key: &str) -> Result<Vec<&str>> {
        let mut cols: Vec<&str> = Vec::new();
        for &i in &self.experiment(key)?.metrics {
            for c in self.metrics[i].columns() {
                if !cols.contains(&c) {
                    cols.push(c);
                }
            }
        }
        Ok(cols)
    }

    /// The spec as TOML text.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(&self.source).map_err(|e| Error::Internal(format!("cannot write spec as TOML: {e}")))
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> Error {
        Spec::from_toml(text).unwrap_err()
    }

    #[test]
    fn errors_name_the_field() {
        let base = "[[experiments]]\nkey = \"a\"\nvariants = [\"c\", \"t\"]\n";
        assert_eq!(err(&format!("{base}weights = [0.5]\n")).field(), Some("experiments[0].weights"));
        assert_eq!(err(&format!("{base}weights = [0.7, 0.6]\n")).field(), Some("experiments[0].weights"));
        assert_eq!(err(&format!("{base}coverage = 1.5\n")).field(), Some("experiments[0].coverage"));
        assert_eq!(err(&format!("{base}colour = 1\n")).field(), Some("experiments[0].colour"));
        assert!(err(&format!("{base}colour = 1\n")).to_string().contains("colour"));
        assert_eq!(err(&format!("{base}forced = {{ u1 = \"x\" }}\n")).field(), Some("experiments[0].forced.u1"));
        assert_eq!(err(&format!("{base}hash_version = 3\n")).field(), Some("experiments[0].hash_version"));
        assert_eq!(
            err(&format!("{base}condition = {{ age = {{ \"$gtt\" = 3 }} }}\n")).field(),
            Some("experiments[0].condition.age")
        );
        assert_eq!(err("[[experiments]]\nkey = \"a\"\nvariants = [\"c\"]\n").field(), Some("experiments[0].variants"));
        assert_eq!(err("[[experiments]]\nkey = \"a\"\n").field(), Some("experiments[0]"));
        let two = format!("{base}layer = \"l\"\nnamespace_range = [0.0, 0.6]\n[[experiments]]\nkey = \"b\"\nvariants = [\"c\", \"t\"]\nlayer = \"l\"\nnamespace_range = [0.5, 1.0]\n");
        assert_eq!(err(&two).field(), Some("experiments[1].namespace_range"));
        assert!(Spec::from_toml("version = 1").is_ok());
        assert_eq!(err("version = 9").field(), Some("version"));
    }

    #[test]
    fn condition_as_json_string_or_table() {
        let s = Spec::from_toml(
            "[[experiments]]\nkey = \"a\"\nvariants = [\"c\", \"t\"]\ncondition = '{\"country\": {\"$in\": [\"US\"]}}'\n\
             [[experiments]]\nkey = \"b\"\nvariants = [\"c\", \"t\"]\ncondition = { country = { \"$in\" = [\"US\"] } }\n",
        )
        .unwrap();
        assert_eq!(
            s.experiments[0].condition.as_ref().unwrap().source(),
            s.experiments[1].condition.as_ref().unwrap().source()
        );
    }
}
