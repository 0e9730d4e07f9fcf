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
pub mod policy;

pub use forest::{fit_uplift_forest, ForestParams, SplitCriterion, UpliftForest};
pub use linear::{fit_logistic, fit_ridge, LinearModel, LogisticParams, RidgeParams};
pub use meta::{fit_meta_learner, MetaLearner, MetaLearnerKind, MetaParams, OutcomeType};
pub use metrics::{
    bootstrap_uplift_auc, perfect_qini_curve, perfect_uplift_curve, qini_auc, qini_auc_score, qini_curve,
    standardized_mean_differences, uplift_at_k, uplift_auc, uplift_auc_score, uplift_by_percentile, uplift_curve,
};
pub use policy::{plan_contact_policy, Budget, ContactPolicy, ProfitCurve, UnitDecision};

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
            return Err(Error::invalid(format!("x[{j}]"), format!("has {} rows but x[0] has {n}", col.len())));
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
