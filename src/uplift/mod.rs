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
