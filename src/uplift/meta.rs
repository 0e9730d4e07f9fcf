//! Meta-learners of the uplift (conditional average treatment effect) on top of the regularised
//! linear base learners of [`super::linear`]: the T-learner and the X-learner (Künzel, Sekhon,
//! Bickel & Yu 2019, "Metalearners for estimating heterogeneous treatment effects using machine
//! learning", PNAS 116(10)).
//!
//! **T-learner.** One base model per group: `μ0` on the control units, `μ_k` on the units of
//! treatment `k`; the uplift of treatment `k` is `μ_k(x) − μ0(x)`.
//!
//! **X-learner.** Stage 1 is the T-learner's `μ0`, `μ_k`. Stage 2 imputes individual effects —
//! for the treated units of `k`, `D1 = Y − μ0(X)`; for the control units, `D0 = μ_k(X) − Y` —
//! and fits a ridge regression to each: `τ1` on the treated units, `τ0` on the control units. The
//! uplift is `τ(x) = g·τ0(x) + (1 − g)·τ1(x)` (the paper's eq. 9 with its suggested weight, the
//! propensity score). Here **`g` is a constant, the share treated** `n_k / (n_k + n_0)` among the
//! units of treatment `k` and control: the data are assumed to come from a randomised experiment,
//! where the propensity does not depend on `x`. Do not use these learners on observational data.
//!
//! **Outcomes.** Continuous: ridge regression at both stages. Binary (0/1): L2 logistic
//! regression at stage 1 (so `μ` are probabilities and the uplift is a difference of
//! probabilities); stage 2 of the X-learner regresses the imputed effects, which lie in `[−1, 1]`,
//! with ridge.
//!
//! **Several treatments.** Treatment codes are `0` (control) and `1..=k`, every code present.
//! Each treatment is fitted against the control group alone (units of the other treatments are
//! not used), and [`MetaLearner::predict`] returns the uplift of each treatment over control. The
//! control model `μ0` is fitted once and shared.
//!
//! **Missing values** are not handled: a NaN feature is an error naming `x[j][i]` (the uplift
//! forest handles them). Features are standardised internally by the base learners.
//!
//! The model serialises with serde, with a `format_version` checked on prediction; a JSON round
//! trip gives bit-identical predictions.

use serde::{Deserialize, Serialize};

use super::linear::{fit_logistic, fit_ridge, LinearModel, LogisticParams, RidgeParams};
use crate::error::{Error, Result};

/// The version of the serialised model; bumped on any change that alters predictions.
pub const FORMAT_VERSION: u32 = 1;

/// Which meta-learner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaLearnerKind {
    /// Separate outcome models per group; uplift = `μ_k(x) − μ0(x)`.
    TLearner,
    /// Künzel et al.'s X-learner (see the module documentation).
    #[default]
    XLearner,
}

/// The kind of outcome, which chooses the stage-1 base learner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeType {
    /// Any finite number: ridge regression.
    #[default]
    Continuous,
    /// 0 or 1: L2 logistic regression; the uplift is a difference of probabilities.
    Binary,
}

/// Parameters of [`fit_meta_learner`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetaParams {
    pub learner: MetaLearnerKind,
    pub outcome: OutcomeType,
    /// The ridge base learner (continuous outcomes; stage 2 of the X-learner always).
    pub ridge: RidgeParams,
    /// The logistic base learner (stage 1 for binary outcomes).
    pub logistic: LogisticParams,
}

/// A stage-1 outcome model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeModel {
    /// Predicts `intercept + coef·x`.
    Ridge(LinearModel),
    /// Predicts `σ(intercept + coef·x)`.
    Logistic(LinearModel),
}

impl OutcomeModel {
    fn predict(&self, x: &[&[f64]]) -> Result<Vec<f64>> {
        match self {
            OutcomeModel::Ridge(m) => m.decision_function(x),
            OutcomeModel::Logistic(m) => m.predict_proba(x),
        }
    }
}

/// The models of one treatment against control.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreatmentModel {
    /// The treatment code (1..=k).
    pub treatment: u8,
    /// Training units of this treatment.
    pub n_treated: usize,
    /// The propensity `g = n_treated / (n_treated + n_control)` (used by the X-learner).
    pub propensity: f64,
    /// Stage 1: the outcome model of the treated units, `μ_k`.
    pub mu: OutcomeModel,
    /// X-learner stage 2: `τ0`, fitted to `D0 = μ_k(X0) − Y0` on the control units.
    pub tau0: Option<LinearModel>,
    /// X-learner stage 2: `τ1`, fitted to `D1 = Y1 − μ0(X1)` on the treated units.
    pub tau1: Option<LinearModel>,
}

/// A fitted T- or X-learner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetaLearner {
    pub format_version: u32,
    pub n_features: usize,
    pub params: MetaParams,
    /// Training units of the control group.
    pub n_control: usize,
    /// Stage 1: the outcome model of the control units, `μ0`.
    pub control: OutcomeModel,
    /// One entry per treatment code 1..=k, in order.
    pub treatments: Vec<TreatmentModel>,
}

impl MetaLearner {
    /// The predicted uplift over control of each treatment for each row of `x` (column-major, one
    /// slice per feature, all finite): `out[k − 1][i]` is treatment `k`'s uplift for row `i`.
    pub fn predict(&self, x: &[&[f64]]) -> Result<Vec<Vec<f64>>> {
        if self.format_version != FORMAT_VERSION {
            return Err(Error::invalid(
                "format_version",
                format!("the model has format {}; this liftlab reads {FORMAT_VERSION}", self.format_version),
            ));
        }
        super::check_features(x, self.n_features, false)?;
        let mu0 = match self.params.learner {
            MetaLearnerKind::TLearner => Some(self.control.predict(x)?),
            MetaLearnerKind::XLearner => None,
        };
        self.treatments
            .iter()
            .map(|arm| match (&mu0, &arm.tau0, &arm.tau1) {
                (Some(mu0), _, _) => {
                    let mu1 = arm.mu.predict(x)?;
                    Ok(mu1.iter().zip(mu0).map(|(a, b)| a - b).collect())
                }
                (None, Some(tau0), Some(tau1)) => {
                    let (t0, t1) = (tau0.decision_function(x)?, tau1.decision_function(x)?);
                    let g = arm.propensity;
                    Ok(t0.iter().zip(&t1).map(|(a, b)| g * a + (1.0 - g) * b).collect())
                }
                _ => Err(Error::invalid("treatments", "an X-learner model lacks its stage-2 models")),
            })
            .collect()
    }
}

/// Adds which group a base-learner error arose in, keeping its field and kind.
fn in_group(e: Error, group: &str) -> Error {
    match e {
        Error::InvalidInput { .. } | Error::InsufficientData { .. } => e.append(format!(" ({group})")),
        other => other,
    }
}

/// The rows `rows` of each column.
fn take(x: &[&[f64]], rows: &[usize]) -> Vec<Vec<f64>> {
    x.iter().map(|c| rows.iter().map(|&i| c[i]).collect()).collect()
}

fn as_cols(x: &[Vec<f64>]) -> Vec<&[f64]> {
    x.iter().map(Vec::as_slice).collect()
}

/// Fits a T- or X-learner (see the module documentation) to outcome `y` with `treatment` codes
/// 0 (control) and 1..=k, on features `x` given column-major (one slice per feature, all finite).
pub fn fit_meta_learner(x: &[&[f64]], treatment: &[u8], y: &[f64], params: &MetaParams) -> Result<MetaLearner> {
    let n = super::check_features(x, 0, false)?;
    if n == 0 {
        return Err(Error::insufficient("x", "has no rows"));
    }
    super::check_groups(n, treatment, y)?;
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!("y[{i}]"), format!("must be finite, got {}", y[i])));
    }
    if params.outcome == OutcomeType::Binary {
        if let Some(i) = y.iter().position(|&v| v != 0.0 && v != 1.0) {
            return Err(Error::invalid(format!("y[{i}]"), format!("must be 0 or 1 (binary outcome), got {}", y[i])));
        }
    }
    let k = treatment.iter().copied().max().unwrap_or(0) as usize;
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); k + 1];
    for (i, &t) in treatment.iter().enumerate() {
        groups[t as usize].push(i);
    }

    let fit_outcome = |xs: &[&[f64]], ys: &[f64], group: &str| -> Result<OutcomeModel> {
        match params.outcome {
            OutcomeType::Continuous => fit_ridge(xs, ys, &params.ridge).map(OutcomeModel::Ridge),
            OutcomeType::Binary => fit_logistic(xs, ys, &params.logistic).map(OutcomeModel::Logistic),
        }
        .map_err(|e| in_group(e, group))
    };
    let x0_owned = take(x, &groups[0]);
    let x0 = as_cols(&x0_owned);
    let y0: Vec<f64> = groups[0].iter().map(|&i| y[i]).collect();
    let control = fit_outcome(&x0, &y0, "control group")?;
    let n_control = groups[0].len();
    let mut treatments = Vec::with_capacity(k);
    for (code, rows) in groups.iter().enumerate().skip(1) {
        let group = format!("treatment {code}");
        let x1_owned = take(x, rows);
        let x1 = as_cols(&x1_owned);
        let y1: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
        let mu = fit_outcome(&x1, &y1, &group)?;
        let propensity = rows.len() as f64 / (rows.len() + n_control) as f64;
        let (tau0, tau1) = match params.learner {
            MetaLearnerKind::TLearner => (None, None),
            MetaLearnerKind::XLearner => {
                // D1 = Y1 − μ0(X1) on the treated units, D0 = μ_k(X0) − Y0 on the control units
                let d1: Vec<f64> = y1.iter().zip(control.predict(&x1)?).map(|(y, m)| y - m).collect();
                let d0: Vec<f64> = mu.predict(&x0)?.iter().zip(&y0).map(|(m, y)| m - y).collect();
                let tau1 = fit_ridge(&x1, &d1, &params.ridge).map_err(|e| in_group(e, &group))?;
                let tau0 = fit_ridge(&x0, &d0, &params.ridge).map_err(|e| in_group(e, "control group"))?;
                (Some(tau0), Some(tau1))
            }
        };
        treatments.push(TreatmentModel { treatment: code as u8, n_treated: rows.len(), propensity, mu, tau0, tau1 });
    }
    Ok(MetaLearner {
        format_version: FORMAT_VERSION,
        n_features: x.len(),
        params: params.clone(),
        n_control,
        control,
        treatments,
    })
}

#[cfg(test)]
#[path = "meta_tests.rs"]
mod tests;
