//! Regularised linear base learners for the meta-learners ([`super::meta`]): ridge regression and
//! L2-penalised logistic regression.
//!
//! **Standardisation.** Both learners standardise each feature internally, `z_j = (x_j − m_j) /
//! s_j` with the training mean `m_j` and population standard deviation `s_j`, and penalise the
//! coefficients of the standardised features; the intercept is never penalised. The fitted model
//! stores the coefficients back on the original scale (`coef[j] = β_j / s_j`, `intercept = β_0 −
//! Σ coef[j]·m_j`), so a prediction is `intercept + Σ coef[j]·x[j]`. A constant feature (`s_j =
//! 0`) carries no information and gets coefficient 0.
//!
//! **Objectives** (scikit-learn's conventions for `alpha`):
//! - ridge: `Σ_i (y_i − β_0 − z_i·β)² + alpha·‖β‖²`, solved in closed form: with centred `z`
//!   and `y`, `(ZᵀZ + alpha·I) β = Zᵀy` by a Cholesky factorisation, `β_0 = ȳ`;
//! - logistic: `−Σ_i [y_i ln p_i + (1 − y_i) ln(1 − p_i)] + alpha/2·‖β‖²` with `p_i = σ(β_0 +
//!   z_i·β)` (scikit-learn's `LogisticRegression` with `C = 1/alpha`), minimised by Newton's
//!   method (IRLS) with step halving, until the largest Newton step on the standardised scale is
//!   below `tol`. With `alpha > 0` the objective is strictly convex and bounded below, so it has a
//!   finite minimum even when the classes are perfectly separated; with `alpha = 0` (plain
//!   maximum likelihood, as statsmodels' `Logit`) separated data make the coefficients diverge
//!   and the fit fails with an error naming `max_iter`.
//!
//! **Missing values.** Unlike the uplift forest, these learners do not handle missing values: a
//! NaN (or infinite) feature is an error naming `x[j][i]`. Impute first, or use the forest.
//!
//! The dense solver is a plain Cholesky factorisation (the systems are `(p + 1) × (p + 1)` for
//! `p` features), written here so the crate needs no linear-algebra dependency.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Parameters of [`fit_ridge`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RidgeParams {
    /// L2 penalty on the standardised coefficients (`>= 0`; 0 is ordinary least squares).
    pub alpha: f64,
}

impl Default for RidgeParams {
    fn default() -> Self {
        RidgeParams { alpha: 1.0 }
    }
}

/// Parameters of [`fit_logistic`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogisticParams {
    /// L2 penalty on the standardised coefficients (`>= 0`; 0 is maximum likelihood), `1/C` in
    /// scikit-learn's terms.
    pub alpha: f64,
    /// Convergence: the largest absolute Newton step (standardised scale) is below `tol`.
    pub tol: f64,
    /// Newton iterations before the fit fails.
    pub max_iter: usize,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams { alpha: 1.0, tol: 1e-8, max_iter: 100 }
    }
}

/// A fitted linear model on the original feature scale: `intercept + Σ coef[j]·x[j]` (for the
/// logistic model, the log-odds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    pub intercept: f64,
    pub coef: Vec<f64>,
    /// Newton iterations used (0 for ridge).
    pub n_iter: usize,
}

impl LinearModel {
    /// The linear predictor of each row of `x` (column-major, one slice per feature, no NaN).
    pub fn decision_function(&self, x: &[&[f64]]) -> Result<Vec<f64>> {
        let n = super::check_features(x, self.coef.len(), false)?;
        let mut out = vec![self.intercept; n];
        for (col, &c) in x.iter().zip(&self.coef) {
            if c != 0.0 {
                out.iter_mut().zip(col.iter()).for_each(|(o, &v)| *o += c * v);
            }
        }
        Ok(out)
    }

    /// The logistic model's probabilities `σ(intercept + Σ coef[j]·x[j])`.
    pub fn predict_proba(&self, x: &[&[f64]]) -> Result<Vec<f64>> {
        Ok(self.decision_function(x)?.into_iter().map(sigmoid).collect())
    }
}

fn check_y(y: &[f64], n: usize) -> Result<()> {
    if y.len() != n {
        return Err(Error::length_mismatch("y", (y.len(), "values"), "x", (n, "rows")));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!("y[{i}]"), format!("must be finite, got {}", y[i])));
    }
    Ok(())
}

fn check_alpha(alpha: f64) -> Result<()> {
    if !(alpha >= 0.0 && alpha.is_finite()) {
        return Err(Error::invalid("alpha", format!("must be a finite number >= 0, got {alpha}")));
    }
    Ok(())
}

fn sigmoid(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

/// The training means and population standard deviations of the features, and the indices of the
/// non-constant ones (those enter the fit).
struct Scaling {
    mean: Vec<f64>,
    sd: Vec<f64>,
    active: Vec<usize>,
}

fn scaling(x: &[&[f64]], n: usize) -> Scaling {
    let nf = n as f64;
    let mean: Vec<f64> = x.iter().map(|c| c.iter().sum::<f64>() / nf).collect();
    let sd: Vec<f64> =
        x.iter().zip(&mean).map(|(c, &m)| (c.iter().map(|v| (v - m).powi(2)).sum::<f64>() / nf).sqrt()).collect();
    // A column is constant when its spread is at rounding level relative to its magnitude.
    let active = (0..x.len())
        .filter(|&j| sd[j] > 1e-12 * mean[j].abs().max(1.0) && x[j].iter().any(|&v| v != x[j][0]))
        .collect();
    Scaling { mean, sd, active }
}

/// Solves `a·v = b` for a symmetric positive-definite `a` (row-major `m × m`) by Cholesky
/// factorisation `a = L·Lᵀ`. Returns `None` when `a` is not numerically positive definite.
pub(crate) fn solve_cholesky(a: &[f64], b: &[f64], m: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; m * m];
    let scale = (0..m).map(|i| a[i * m + i].abs()).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    for i in 0..m {
        for j in 0..=i {
            let s: f64 = a[i * m + j] - (0..j).map(|k| l[i * m + k] * l[j * m + k]).sum::<f64>();
            if i == j {
                if !(s > 1e-13 * scale) {
                    return None;
                }
                l[i * m + i] = s.sqrt();
            } else {
                l[i * m + j] = s / l[j * m + j];
            }
        }
    }
    // L·w = b, then Lᵀ·v = w
    let mut w = vec![0.0; m];
    for i in 0..m {
        w[i] = (b[i] - (0..i).map(|k| l[i * m + k] * w[k]).sum::<f64>()) / l[i * m + i];
    }
    let mut v = vec![0.0; m];
    for i in (0..m).rev() {
        v[i] = (w[i] - (i + 1..m).map(|k| l[k * m + i] * v[k]).sum::<f64>()) / l[i * m + i];
    }
    Some(v)
}

/// Fits ridge regression of `y` on `x` (column-major, one slice per feature, all finite); see the
/// module documentation for the objective and the standardisation.
pub fn fit_ridge(x: &[&[f64]], y: &[f64], params: &RidgeParams) -> Result<LinearModel> {
    let n = super::check_features(x, 0, false)?;
    if n == 0 {
        return Err(Error::insufficient("x", "has no rows"));
    }
    check_y(y, n)?;
    check_alpha(params.alpha)?;
    let sc = scaling(x, n);
    let nf = n as f64;
    let y_mean = y.iter().sum::<f64>() / nf;
    let m = sc.active.len();
    let z: Vec<Vec<f64>> =
        sc.active.iter().map(|&j| x[j].iter().map(|&v| (v - sc.mean[j]) / sc.sd[j]).collect()).collect();
    let mut a = vec![0.0; m * m];
    let mut b = vec![0.0; m];
    for p in 0..m {
        b[p] = z[p].iter().zip(y).map(|(zi, yi)| zi * (yi - y_mean)).sum();
        for q in 0..=p {
            let s: f64 = z[p].iter().zip(&z[q]).map(|(u, v)| u * v).sum();
            a[p * m + q] = s;
            a[q * m + p] = s;
        }
        a[p * m + p] += params.alpha;
    }
    let beta = if m == 0 {
        Vec::new()
    } else {
        solve_cholesky(&a, &b, m).ok_or_else(|| {
            Error::invalid("x", "the features are collinear and alpha = 0; use alpha > 0 or drop a feature")
        })?
    };
    let mut coef = vec![0.0; x.len()];
    let mut intercept = y_mean;
    for (k, &j) in sc.active.iter().enumerate() {
        coef[j] = beta[k] / sc.sd[j];
        intercept -= coef[j] * sc.mean[j];
    }
    Ok(LinearModel { intercept, coef, n_iter: 0 })
}

/// Fits L2-penalised logistic regression of a binary `y` (0/1) on `x` (column-major, all finite)
/// by Newton's method; see the module documentation. Both classes must be present.
pub fn fit_logistic(x: &[&[f64]], y: &[f64], params: &LogisticParams) -> Result<LinearModel> {
    let n = super::check_features(x, 0, false)?;
    if n == 0 {
        return Err(Error::insufficient("x", "has no rows"));
    }
    check_y(y, n)?;
    if let Some(i) = y.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(Error::invalid(format!("y[{i}]"), format!("must be 0 or 1, got {}", y[i])));
    }
    let positives = y.iter().filter(|&&v| v == 1.0).count();
    if positives == 0 || positives == n {
        let only = if positives == 0 { 0 } else { 1 };
        return Err(Error::insufficient("y", format!("every outcome is {only}; both classes are needed")));
    }
    check_alpha(params.alpha)?;
    if !(params.tol > 0.0 && params.tol.is_finite()) {
        return Err(Error::invalid("tol", format!("must be a finite number > 0, got {}", params.tol)));
    }
    if params.max_iter == 0 {
        return Err(Error::invalid("max_iter", "must be at least 1"));
    }
    let sc = scaling(x, n);
    // the design: an intercept column then the standardised active features
    let m = sc.active.len() + 1;
    let mut z: Vec<Vec<f64>> = vec![vec![1.0; n]];
    z.extend(sc.active.iter().map(|&j| x[j].iter().map(|&v| (v - sc.mean[j]) / sc.sd[j]).collect()));
    let alpha = params.alpha;
    let objective = |beta: &[f64], eta: &mut [f64]| -> f64 {
        eta.iter_mut().for_each(|e| *e = 0.0);
        for (col, &b) in z.iter().zip(beta) {
            eta.iter_mut().zip(col).for_each(|(e, &v)| *e += b * v);
        }
        // −log-likelihood: ln(1 + e^η) − y·η, computed stably
        let nll: f64 = eta
            .iter()
            .zip(y)
            .map(|(&e, &yi)| if e > 0.0 { e + (-e).exp().ln_1p() } else { e.exp().ln_1p() } - yi * e)
            .sum();
        nll + 0.5 * alpha * beta[1..].iter().map(|b| b * b).sum::<f64>()
    };
    let p0 = positives as f64 / n as f64;
    let mut beta = vec![0.0; m];
    beta[0] = (p0 / (1.0 - p0)).ln();
    let mut eta = vec![0.0; n];
    let mut f = objective(&beta, &mut eta);
    let mut a = vec![0.0; m * m];
    let mut g = vec![0.0; m];
    let mut w = vec![0.0; n];
    let mut r = vec![0.0; n];
    for iter in 1..=params.max_iter {
        for i in 0..n {
            let p = sigmoid(eta[i]);
            w[i] = p * (1.0 - p);
            r[i] = y[i] - p;
        }
        for p in 0..m {
            g[p] = z[p].iter().zip(&r).map(|(v, ri)| v * ri).sum::<f64>() - if p > 0 { alpha * beta[p] } else { 0.0 };
            for q in 0..=p {
                let s: f64 = z[p].iter().zip(&z[q]).zip(&w).map(|((u, v), wi)| u * v * wi).sum();
                a[p * m + q] = s;
                a[q * m + p] = s;
            }
            if p > 0 {
                a[p * m + p] += alpha;
            }
        }
        let Some(step) = solve_cholesky(&a, &g, m) else {
            return Err(not_converged(params, iter, "the Hessian became singular"));
        };
        // step halving: accept the first step that does not increase the objective
        let mut t = 1.0;
        let mut accepted = false;
        let mut trial = vec![0.0; m];
        for _ in 0..30 {
            trial.iter_mut().zip(beta.iter().zip(&step)).for_each(|(c, (b, s))| *c = b + t * s);
            let f_new = objective(&trial, &mut eta);
            if f_new <= f + 1e-12 * f.abs().max(1.0) {
                f = f_new;
                accepted = true;
                break;
            }
            t /= 2.0;
        }
        if !accepted {
            // no descent along the Newton direction: we are at the minimum to rounding
            objective(&beta, &mut eta);
            return Ok(to_model(&beta, &sc, x.len(), iter));
        }
        beta.copy_from_slice(&trial);
        let largest = step.iter().fold(0.0_f64, |acc, s| acc.max((t * s).abs()));
        if !largest.is_finite() {
            return Err(not_converged(params, iter, "the coefficients overflowed"));
        }
        if largest < params.tol {
            return Ok(to_model(&beta, &sc, x.len(), iter));
        }
    }
    Err(not_converged(params, params.max_iter, "the largest Newton step is still above tol"))
}

fn not_converged(params: &LogisticParams, iter: usize, why: &str) -> Error {
    let hint = if params.alpha == 0.0 {
        "; with alpha = 0 this usually means the classes are perfectly separated — use alpha > 0"
    } else {
        ""
    };
    Error::invalid(
        "max_iter",
        format!("logistic regression did not converge after {iter} Newton iterations ({why}){hint}"),
    )
}

fn to_model(beta: &[f64], sc: &Scaling, p: usize, n_iter: usize) -> LinearModel {
    let mut coef = vec![0.0; p];
    let mut intercept = beta[0];
    for (k, &j) in sc.active.iter().enumerate() {
        coef[j] = beta[k + 1] / sc.sd[j];
        intercept -= coef[j] * sc.mean[j];
    }
    LinearModel { intercept, coef, n_iter }
}

#[cfg(test)]
#[path = "linear_tests.rs"]
mod tests;
