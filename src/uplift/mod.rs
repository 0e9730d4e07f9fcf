//! Uplift modelling for CRM and telesales: whom to contact.
//!
//! - [`metrics`]: evaluation of a ranking by predicted uplift — uplift and Qini curves, their
//!   (normalised) areas, uplift at the top k, uplift by percentile, bootstrap intervals, and
//!   treatment/control balance — following scikit-uplift's definitions.
//! - [`forest`]: an uplift random forest grown natively (Rzepakowski & Jaroszewicz 2012 split
//!   criteria, as causalml's `UpliftTreeClassifier` defines them).
//!
//! Pure: slices in, plain result structs out; no I/O.

pub mod forest;
pub mod linear;
pub mod meta;
pub mod metrics;
pub mod model_file;
pub mod policy;

pub use forest::{fit_uplift_forest, ForestParams, SplitCriterion, UpliftForest};
pub use linear::{fit_logistic, fit_ridge, LinearModel, LogisticParams, RidgeParams};
pub use meta::{fit_meta_learner, MetaLearner, MetaLearnerKind, MetaParams, OutcomeType};
pub use metrics::{
    bootstrap_uplift_auc, perfect_qini_curve, perfect_uplift_curve, qini_auc, qini_auc_score, qini_curve,
    standardized_mean_differences, uplift_at_k, uplift_auc, uplift_auc_score, uplift_by_percentile, uplift_curve,
};
pub use model_file::{categories_of, category_codes, label_codes, FeatureColumn, ForestFile};
#[allow(deprecated)]
pub use policy::{plan_contact_policy, ContactPolicy};
pub use policy::{plan_contacts, Budget, ContactPlan, ProfitCurve, UnitDecision};

use crate::error::{Error, Result};

/// Checks feature columns (column-major): at least one, `expected` of them (when not 0), at
/// least one row (scikit-learn refuses 0 samples too), equal lengths, no infinities, and NaN only
/// where `missing_ok` (the forest takes NaN as missing; the linear learners need finite values).
/// Returns the number of rows.
pub(crate) fn check_features(x: &[&[f64]], expected: usize, missing_ok: bool) -> Result<usize> {
    if x.is_empty() {
        return Err(Error::invalid("x", "has no feature columns"));
    }
    if expected != 0 && x.len() != expected {
        return Err(Error::invalid(
            "x",
            format!("has {} feature columns; the model was fitted on {expected}", x.len()),
        ));
    }
    let n = x[0].len();
    if n == 0 {
        return Err(Error::insufficient("x", "has no rows"));
    }
    for (j, col) in x.iter().enumerate() {
        if col.len() != n {
            return Err(Error::length_mismatch(format!("x[{j}]"), (col.len(), "rows"), "x[0]", (n, "")));
        }
        let bad = |v: &f64| if missing_ok { v.is_infinite() } else { !v.is_finite() };
        if let Some(i) = col.iter().position(bad) {
            let reason = if missing_ok {
                "must be finite or NaN (missing)".to_string()
            } else {
                format!("is {}; the linear learners need finite features (impute missing values first)", col[i])
            };
            return Err(Error::invalid(format!("x[{j}][{i}]"), reason));
        }
    }
    Ok(n)
}

/// The most groups (control plus treatments) a learner takes: treatment codes are 0 (control)
/// and 1..=63, at every door.
pub const MAX_GROUPS: usize = 64;

/// The fewest units a group (control, or one treatment) must have for a learner to fit.
///
/// Two, because an uplift is a difference of group means and each group's mean needs a spread
/// to be judged: with one unit the group's rate is that unit's outcome (0 or 1), its sampling
/// variance cannot be estimated (no degrees of freedom, `n − 1 = 0`), and the forest's bootstrap
/// leaves that group out of about a third of the trees (`(1 − 1/n)^n ≈ e^−1`). The meta-learners'
/// outcome model of such a group is fitted to a single point. This is the bound below which no
/// estimate is defensible, not a recommendation: `min_samples_treatment` (default 10) is what
/// stops a split from resting on few units.
pub const MIN_GROUP_UNITS: usize = 2;

/// Treatment codes from numbers (as files and numpy hold them): each an integer 0 (control) or
/// 1..[`MAX_GROUPS`]; NaN is a missing treatment. Errors name `treatment[i]`.
pub fn treatment_codes(t: &[f64]) -> Result<Vec<u8>> {
    t.iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.is_nan() {
                Err(Error::invalid(format!("treatment[{i}]"), "missing treatment (empty cell or NaN)"))
            } else if v >= 0.0 && v < MAX_GROUPS as f64 && v.fract() == 0.0 {
                Ok(v as u8)
            } else {
                Err(Error::invalid(
                    format!("treatment[{i}]"),
                    format!("must be an integer code 0 (control) or 1..={} (a treatment), got {v}", MAX_GROUPS - 1),
                ))
            }
        })
        .collect()
}

/// Checks the training rows every learner takes: `treatment` and `y` of `n` values each, and
/// the groups — codes 0 (control) and 1..=k below [`MAX_GROUPS`], every code present, k ≥ 1,
/// each group of at least [`MIN_GROUP_UNITS`] units. Returns the units of each group (k + 1).
pub fn check_groups(n: usize, treatment: &[u8], y: &[f64]) -> Result<Vec<usize>> {
    if treatment.len() != n {
        return Err(Error::length_mismatch("treatment", (treatment.len(), "values"), "x", (n, "rows")));
    }
    if y.len() != n {
        return Err(Error::length_mismatch("y", (y.len(), "values"), "x", (n, "rows")));
    }
    let mut counts = vec![0usize; MAX_GROUPS];
    for (i, &t) in treatment.iter().enumerate() {
        match counts.get_mut(t as usize) {
            Some(c) => *c += 1,
            None => {
                return Err(Error::invalid(
                    format!("treatment[{i}]"),
                    format!("must be an integer code 0 (control) or 1..={} (a treatment), got {t}", MAX_GROUPS - 1),
                ))
            }
        }
    }
    let n_groups = counts.iter().rposition(|&c| c > 0).map_or(0, |k| k + 1);
    counts.truncate(n_groups);
    if n_groups == 0 {
        return Err(Error::insufficient("treatment", "is empty (no rows)"));
    }
    if counts.iter().filter(|&&c| c > 0).count() < 2 {
        return Err(Error::invalid(
            "treatment",
            format!("every unit has code {}; control (0) and at least one treatment (1..) are needed", n_groups - 1),
        ));
    }
    if let Some(g) = counts.iter().position(|&c| c == 0) {
        let what = if g == 0 { "control (0)".to_string() } else { format!("treatment {g}") };
        return Err(Error::invalid(
            "treatment",
            format!("no unit has {what}; codes must be 0 (control) and 1..={} with every code present", n_groups - 1),
        ));
    }
    if let Some(g) = counts.iter().position(|&c| c < MIN_GROUP_UNITS) {
        return Err(Error::insufficient(
            "treatment",
            format!("code {g} has {} unit; each group needs at least {MIN_GROUP_UNITS}", counts[g]),
        ));
    }
    Ok(counts)
}

/// A saved core model with a `format_version` (the forest, the meta-learners).
pub trait Versioned: serde::de::DeserializeOwned {
    /// The version this liftlab reads.
    const FORMAT_VERSION: u32;
    /// What the model is, for errors ("an uplift forest").
    const WHAT: &'static str;
    /// The version the model was saved with.
    fn format_version(&self) -> u32;
}

/// A core model parsed from JSON (serde's answer, `parsed`), its `format_version` checked;
/// `field` names it in errors.
pub fn versioned<T: Versioned>(parsed: serde_json::Result<T>, field: &str) -> Result<T> {
    let model = parsed.map_err(|e| Error::invalid(field, format!("is not {}: {e}", T::WHAT)))?;
    if model.format_version() != T::FORMAT_VERSION {
        return Err(Error::invalid(
            format!("{field}.format_version"),
            format!("is {}; this liftlab reads {}", model.format_version(), T::FORMAT_VERSION),
        ));
    }
    Ok(model)
}

impl Versioned for UpliftForest {
    const FORMAT_VERSION: u32 = forest::FORMAT_VERSION;
    const WHAT: &'static str = "an uplift forest";
    fn format_version(&self) -> u32 {
        self.format_version
    }
}

impl Versioned for MetaLearner {
    const FORMAT_VERSION: u32 = meta::FORMAT_VERSION;
    const WHAT: &'static str = "a meta-learner";
    fn format_version(&self) -> u32 {
        self.format_version
    }
}
