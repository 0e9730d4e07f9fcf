//! The uplift forest's model file, its category coding and its treatment labels: one format and
//! one set of rules for every face (`liftlab uplift fit` / `score`, `UpliftForest.save` / `load`,
//! the Spark scorer), so a model fitted on one scores on another.
//!
//! ```text
//! {"format": "liftlab.uplift_forest", "format_version": 1,
//!  "features": [{"name": "x0", "categories": null}, {"name": "city", "categories": ["a", "b"]}],
//!  "feature_names_in": true, "treatments": ["call", "sms"] | null,
//!  "params": {"n_trees": 100, "criterion": "KL", ...},
//!  "forest": {...the core model, with its own format_version...}}
//! ```
//!
//! - **Categories.** A categorical feature's code is the index of its value among the sorted
//!   distinct values seen at fit time ([`categories_of`]); a missing value, or one not seen at fit
//!   time, is missing (NaN) when coded ([`category_codes`]).
//! - **Treatment labels.** Text treatment labels with one of them named control: control is code
//!   0 and the other labels, sorted, codes 1..k ([`label_codes`]); the file keeps them in
//!   `"treatments"`, and scores are named by them ([`ForestFile::score_columns`]).
//! - **Params** are the forest's fitted parameters (criterion by its display name, `"KL"`), plus
//!   the face's own thread count `n_jobs` when one was given; a face passes them back to its
//!   constructor.
//!
//! Errors name the file's fields under `source` (the path, or `model`): `model.format_version`,
//! `model.features`, `model.treatments`, `model.forest`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::forest::{SplitCriterion, UpliftForest};
use super::MAX_GROUPS;
use crate::error::{Error, Result};

/// The file's `"format"`.
pub const FILE_FORMAT: &str = "liftlab.uplift_forest";
/// The file's `"format_version"` (the forest inside has its own).
pub const FILE_FORMAT_VERSION: u64 = 1;

/// One feature of the model: its column name and, for a categorical one, its sorted values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureColumn {
    pub name: String,
    pub categories: Option<Vec<String>>,
}

/// A fitted forest with what a face needs to feed and label it.
#[derive(Clone, Debug, PartialEq)]
pub struct ForestFile {
    pub features: Vec<FeatureColumn>,
    /// Whether the features were named columns (a DataFrame or a file) rather than array positions.
    pub feature_names_in: bool,
    /// The labels of treatments 1..k, when the treatment column held text labels.
    pub treatments: Option<Vec<String>>,
    /// The face's thread count, kept so that a reloaded model fits alike (`None`: every core).
    pub n_jobs: Option<usize>,
    pub forest: UpliftForest,
}

impl SplitCriterion {
    /// The criterion named `s` (`KL`, `ED`, `Chi` or `DDP`, in any case); errors name `criterion`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "kl" => Ok(SplitCriterion::Kl),
            "ed" => Ok(SplitCriterion::Ed),
            "chi" => Ok(SplitCriterion::Chi),
            "ddp" => Ok(SplitCriterion::Ddp),
            _ => Err(Error::invalid("criterion", format!("must be one of KL, ED, Chi, DDP (any case), got '{s}'"))),
        }
    }

    /// The display name (causalml's): `KL`, `ED`, `Chi`, `DDP`.
    pub fn name(self) -> &'static str {
        match self {
            SplitCriterion::Kl => "KL",
            SplitCriterion::Ed => "ED",
            SplitCriterion::Chi => "Chi",
            SplitCriterion::Ddp => "DDP",
        }
    }
}

/// The categories of a categorical feature: its distinct non-missing values, sorted (by bytes).
pub fn categories_of<S: AsRef<str>>(values: impl IntoIterator<Item = Option<S>>) -> Vec<String> {
    let mut seen: Vec<String> = values.into_iter().flatten().map(|v| v.as_ref().to_string()).collect();
    seen.sort_unstable();
    seen.dedup();
    seen
}

/// The code of each value (its index in `categories`, as a float); a missing value or one not in
/// `categories` is NaN (missing).
pub fn category_codes<S: AsRef<str>>(values: impl IntoIterator<Item = Option<S>>, categories: &[String]) -> Vec<f64> {
    let index: HashMap<&str, f64> = categories.iter().enumerate().map(|(k, c)| (c.as_str(), k as f64)).collect();
    values.into_iter().map(|v| v.and_then(|v| index.get(v.as_ref()).copied()).unwrap_or(f64::NAN)).collect()
}

/// Treatment codes from a column of text labels: `control` is 0, the other labels, sorted, are
/// 1..k. Returns each row's code and the treatments' labels in code order. Errors name `control`
/// (no row has it), `treatment[i]` (a missing label) or `treatment` (more than `MAX_GROUPS − 1`
/// treatments).
pub fn label_codes<S: AsRef<str>>(
    rows: impl IntoIterator<Item = Option<S>>,
    control: &str,
) -> Result<(Vec<u8>, Vec<String>)> {
    let rows: Vec<Option<S>> = rows.into_iter().collect();
    let labels = categories_of(rows.iter().map(|r| r.as_ref().map(AsRef::as_ref)));
    if !labels.iter().any(|n| n == control) {
        return Err(Error::invalid(
            "control",
            format!("no unit has the label '{control}' (labels: {})", labels.join(", ")),
        ));
    }
    let treatments: Vec<String> = labels.into_iter().filter(|n| n != control).collect();
    if treatments.len() >= MAX_GROUPS {
        return Err(Error::invalid(
            "treatment",
            format!("has {} treatment labels; at most {} are supported", treatments.len(), MAX_GROUPS - 1),
        ));
    }
    let codes = rows
        .iter()
        .enumerate()
        .map(|(i, r)| match r.as_ref().map(AsRef::as_ref) {
            Some(l) if l == control => Ok(0),
            Some(l) => Ok(treatments.binary_search_by(|t| t.as_str().cmp(l)).map_or(0, |k| k as u8 + 1)),
            None => Err(Error::invalid(format!("treatment[{i}]"), "missing treatment (empty cell or NaN)")),
        })
        .collect::<Result<_>>()?;
    Ok((codes, treatments))
}

/// The score columns of a model of `k` treatments with these `labels`: `uplift` for one
/// treatment; for several, the labels, or `uplift_1`, `uplift_2`, ... without them.
pub fn score_columns(k: usize, labels: Option<&[String]>) -> Vec<String> {
    match (k, labels) {
        (1, _) => vec!["uplift".into()],
        (_, Some(labels)) if labels.len() == k => labels.to_vec(),
        _ => (1..=k).map(|g| format!("uplift_{g}")).collect(),
    }
}

impl ForestFile {
    /// The names of the score columns: `uplift` for one treatment; for several, the treatments'
    /// labels, or `uplift_1`, `uplift_2`, ... without labels.
    pub fn score_columns(&self) -> Vec<String> {
        score_columns(self.forest.n_groups.saturating_sub(1), self.treatments.as_deref())
    }

    /// The forest's parameters as the file keeps them (the constructor's names and values).
    pub fn params(&self) -> Value {
        let p = &self.forest.params;
        json!({
            "n_trees": p.n_trees,
            "max_depth": p.max_depth,
            "min_samples_leaf": p.min_samples_leaf,
            "min_samples_treatment": p.min_samples_treatment,
            "n_reg": p.n_reg,
            "criterion": p.criterion.name(),
            "max_features": p.max_features,
            "bootstrap": p.bootstrap,
            "max_bins": p.max_bins,
            "normalization": p.normalization,
            "seed": p.seed,
            "n_jobs": self.n_jobs,
        })
    }

    /// The file's JSON text (one line, no trailing newline).
    pub fn to_json(&self) -> Result<String> {
        let mut v = Map::new();
        v.insert("format".into(), FILE_FORMAT.into());
        v.insert("format_version".into(), FILE_FORMAT_VERSION.into());
        v.insert("features".into(), serde_json::to_value(&self.features).map_err(internal)?);
        v.insert("feature_names_in".into(), self.feature_names_in.into());
        v.insert("treatments".into(), serde_json::to_value(&self.treatments).map_err(internal)?);
        v.insert("params".into(), self.params());
        v.insert("forest".into(), serde_json::to_value(&self.forest).map_err(internal)?);
        serde_json::to_string(&Value::Object(v)).map_err(internal)
    }

    /// Reads a model file's text; `source` (its path, or `model`) names it in errors.
    pub fn from_json(text: &str, source: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(text).map_err(|e| Error::invalid(source, format!("is not JSON: {e}")))?;
        Self::from_value(v, source)
    }

    /// [`from_json`](Self::from_json) on parsed JSON.
    pub fn from_value(mut v: Value, source: &str) -> Result<Self> {
        if v.get("format").and_then(Value::as_str) != Some(FILE_FORMAT) {
            return Err(Error::invalid(
                source,
                format!("is not a liftlab uplift forest (no \"format\": \"{FILE_FORMAT}\")"),
            ));
        }
        if v.get("format_version").and_then(Value::as_u64) != Some(FILE_FORMAT_VERSION) {
            return Err(Error::invalid(
                format!("{source}.format_version"),
                format!(
                    "is {}; this liftlab reads {FILE_FORMAT_VERSION}",
                    v.get("format_version").unwrap_or(&Value::Null)
                ),
            ));
        }
        let features: Vec<FeatureColumn> =
            serde_json::from_value(v.get_mut("features").map(Value::take).unwrap_or(Value::Null))
                .map_err(|_| Error::invalid(format!("{source}.features"), "must be a list of {name, categories}"))?;
        let forest = forest_from_value(v.get_mut("forest").map(Value::take).unwrap_or(Value::Null), source)?;
        if forest.n_features != features.len() {
            return Err(Error::invalid(
                format!("{source}.features"),
                format!("lists {} features but the forest has {}", features.len(), forest.n_features),
            ));
        }
        let k = forest.n_groups.saturating_sub(1);
        let treatments = match v.get_mut("treatments").map(Value::take) {
            None | Some(Value::Null) => None,
            Some(l) => match serde_json::from_value::<Vec<String>>(l) {
                Ok(l) if l.len() == k => Some(l),
                _ => {
                    return Err(Error::invalid(
                        format!("{source}.treatments"),
                        format!("must list the {k} treatments' labels"),
                    ))
                }
            },
        };
        let n_jobs = v.pointer("/params/n_jobs").and_then(Value::as_u64).map(|n| n as usize);
        Ok(ForestFile {
            features,
            feature_names_in: v.get("feature_names_in").and_then(Value::as_bool).unwrap_or(true),
            treatments,
            n_jobs,
            forest,
        })
    }
}

/// The core forest of a file's `"forest"`, its version checked.
fn forest_from_value(v: Value, source: &str) -> Result<UpliftForest> {
    super::versioned(serde_json::from_value(v), &format!("{source}.forest"))
}

fn internal(e: serde_json::Error) -> Error {
    Error::Internal(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uplift::forest::{fit_uplift_forest, ForestParams};

    fn fitted() -> UpliftForest {
        let x: Vec<f64> = (0..40).map(|i| (i % 7) as f64).collect();
        let t: Vec<u8> = (0..40).map(|i| (i % 3) as u8).collect();
        let y: Vec<f64> = (0..40).map(|i| ((i / 3) % 2) as f64).collect();
        let params = ForestParams { n_trees: 3, min_samples_leaf: 2, min_samples_treatment: 1, ..Default::default() };
        fit_uplift_forest(&[&x], &t, &y, &params).unwrap()
    }

    #[test]
    fn categories_are_sorted_and_unseen_values_are_missing() {
        let cats = categories_of([Some("b"), None, Some("a"), Some("b")]);
        assert_eq!(cats, ["a", "b"]);
        let codes = category_codes([Some("b"), Some("z"), None, Some("a")], &cats);
        assert_eq!(codes[0], 1.0);
        assert!(codes[1].is_nan() && codes[2].is_nan());
        assert_eq!(codes[3], 0.0);
    }

    #[test]
    fn labels_control_first_then_sorted() {
        let rows = [Some("sms"), Some("none"), Some("call"), Some("sms")];
        let (codes, treatments) = label_codes(rows, "none").unwrap();
        assert_eq!(codes, [2, 0, 1, 2]);
        assert_eq!(treatments, ["call", "sms"]);
        let e = label_codes(rows, "mail").unwrap_err();
        assert_eq!(e.to_string(), "control: no unit has the label 'mail' (labels: call, none, sms)");
        let e = label_codes([Some("a"), None], "a").unwrap_err();
        assert_eq!(e.to_string(), "treatment[1]: missing treatment (empty cell or NaN)");
    }

    #[test]
    fn a_file_reads_back_as_written_and_bad_files_name_their_field() {
        let file = ForestFile {
            features: vec![FeatureColumn { name: "x".into(), categories: None }],
            feature_names_in: true,
            treatments: Some(vec!["call".into(), "sms".into()]),
            n_jobs: Some(2),
            forest: fitted(),
        };
        let text = file.to_json().unwrap();
        assert_eq!(ForestFile::from_json(&text, "m").unwrap(), file);
        assert_eq!(file.score_columns(), ["call", "sms"]);
        let mut v: Value = serde_json::from_str(&text).unwrap();
        v["treatments"] = json!(["only one"]);
        let e = ForestFile::from_value(v.clone(), "m").unwrap_err();
        assert_eq!(e.to_string(), "m.treatments: must list the 2 treatments' labels");
        v["format_version"] = json!(9);
        assert!(ForestFile::from_value(v.clone(), "m").unwrap_err().to_string().starts_with("m.format_version: is 9"));
        v["format"] = json!("other");
        assert!(ForestFile::from_value(v, "m").unwrap_err().to_string().starts_with("m: is not a liftlab uplift"));
        assert!(ForestFile::from_json("{", "m").unwrap_err().to_string().starts_with("m: is not JSON"));
    }

    #[test]
    fn criterion_names_round_trip() {
        for c in [SplitCriterion::Kl, SplitCriterion::Ed, SplitCriterion::Chi, SplitCriterion::Ddp] {
            assert_eq!(SplitCriterion::parse(c.name()).unwrap(), c);
            assert_eq!(SplitCriterion::parse(&c.name().to_lowercase()).unwrap(), c);
        }
        assert_eq!(SplitCriterion::parse("gini").unwrap_err().field(), Some("criterion"));
    }
}
