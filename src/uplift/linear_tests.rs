// Index loops mirror the formulas (Gram–Schmidt, per-feature gradients) more plainly than iterators.
#![allow(clippy::needless_range_loop)]

use super::*;

// Fixed data sets for the reference checks, generated once with numpy 2.4.6 and pasted here so the
// tests need no Python (the reference calls are in each test's doc comment):
// ```python
// rng = np.random.default_rng(20261129)
// X = np.round(rng.normal(size=(20, 3)) * [1.0, 3.0, 0.5] + [0.0, 10.0, -2.0], 3)
// y = np.round(1.5 + X @ [0.8, -0.3, 2.0] + rng.normal(size=20), 3)          # RIDGE_X, RIDGE_Y
// X = np.round(rng.normal(size=(40, 2)) * [1.0, 2.0] + [0.5, -1.0], 3)
// y = (rng.uniform(size=40) < 1 / (1 + np.exp(-(-0.4 + X @ [1.2, -0.7])))).astype(float)
// ```                                                                          # LOGIT_X, LOGIT_Y
const RIDGE_X: [[f64; 20]; 3] = [
    [
        -0.574, 1.613, -0.402, -0.425, 0.149, 0.016, 0.773, 0.2, 0.335, 1.819, -1.719, -0.455, 0.517, -0.625, 0.143,
        -1.556, 1.876, -0.545, 1.118, -0.611,
    ],
    [
        11.208, 7.47, 10.313, 8.007, 6.942, 15.168, 11.962, 8.764, 14.48, 9.012, 7.463, 10.898, 7.497, 11.672, 12.141,
        6.938, 10.909, 6.828, 9.566, 8.605,
    ],
    [
        -1.866, -2.815, -2.004, -1.04, -2.358, -2.662, -2.429, -2.015, -2.471, -1.923, -1.416, -1.134, -2.004, -1.605,
        -2.931, -2.323, -2.636, -3.107, -2.236, -1.903,
    ],
];
const RIDGE_Y: [f64; 20] = [
    -5.875, -5.847, -6.376, -1.676, -5.049, -8.537, -6.814, -7.472, -7.891, -3.023, -5.796, -1.994, -4.886, -4.25,
    -8.579, -6.142, -5.296, -6.153, -4.56, -5.561,
];
const LOGIT_X: [[f64; 40]; 2] = [
    [
        0.941, -0.322, 2.236, 1.358, -0.216, 0.06, 1.473, -0.774, 1.573, -1.556, -0.28, 0.154, -0.236, 1.682, 0.153,
        -0.02, 0.987, 0.662, 2.868, 1.506, 0.947, 0.241, -0.322, 1.27, -0.499, 1.374, 0.284, 0.32, -0.008, -0.606,
        0.223, -0.709, 0.346, 0.325, -1.057, -0.532, 1.585, 0.09, -0.541, -0.527,
    ],
    [
        -5.112, 0.671, -3.066, 1.684, -3.28, -2.383, 0.192, -2.587, 2.292, -0.885, 0.42, 0.639, -0.692, -0.847, -0.732,
        -2.196, -2.033, -2.494, -1.898, -1.511, -3.621, -1.944, 2.106, -5.095, -4.869, -1.204, -0.754, -2.635, -0.271,
        -2.477, -2.068, -1.098, -2.81, -6.627, -0.731, 1.697, -2.012, 1.904, -0.038, -1.461,
    ],
];
const LOGIT_Y: [f64; 40] = [
    1., 0., 1., 0., 1., 1., 0., 1., 0., 0., 1., 0., 0., 1., 0., 0., 1., 1., 1., 1., 1., 1., 0., 1., 1., 1., 1., 1., 0.,
    1., 1., 1., 1., 1., 1., 0., 1., 0., 0., 0.,
];

fn cols<const N: usize>(x: &[[f64; N]]) -> Vec<&[f64]> {
    x.iter().map(|c| c.as_slice()).collect()
}

fn assert_close(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want} (tol {tol})");
}

/// Ridge in our convention is, on the original scale, `min ‖y − b0 − X·w‖² + alpha·Σ s_j²·w_j²`
/// (`s_j` the population sd), whose normal equations with centred `Xc`, `yc` are
/// `(XcᵀXc + alpha·diag(s²))·w = Xcᵀyc`, `b0 = ȳ − m·w`. numpy solves that system on the original
/// scale (LAPACK gesv, LU with pivoting), a different method and scaling from our standardised
/// Cholesky. Reference (numpy 2.4.6, /work/main/.venv):
/// ```python
/// m = X.mean(0); s = X.std(0); Xc = X - m; yc = y - y.mean()
/// w = np.linalg.solve(Xc.T @ Xc + alpha * np.diag(s**2), Xc.T @ yc); b0 = y.mean() - m @ w
/// ```
/// Tolerance 1e-10: the system's condition number is small (features standardised, n = 20), so
/// both solvers agree to ~1e-14; 1e-10 leaves room for summation order.
#[test]
fn ridge_matches_numpy_normal_equations() {
    let x = cols(&RIDGE_X);
    let fit = fit_ridge(&x, &RIDGE_Y, &RidgeParams { alpha: 2.5 }).unwrap();
    eprintln!(
        "ridge vs numpy: intercept {:e}, coef[2] {:e}",
        fit.intercept - 1.7342032871438482,
        fit.coef[2] - 2.317401434614325
    );
    assert_close(fit.intercept, 1.7342032871438482, 1e-10, "intercept");
    for (j, want) in [0.6176550254480684, -0.24567028107411015, 2.317401434614325].into_iter().enumerate() {
        assert_close(fit.coef[j], want, 1e-10, &format!("coef[{j}]"));
    }
    // alpha = 0 is ordinary least squares: same numpy call without the penalty
    let ols = fit_ridge(&x, &RIDGE_Y, &RidgeParams { alpha: 0.0 }).unwrap();
    assert_close(ols.intercept, 2.844315562265468, 1e-10, "ols intercept");
    for (j, want) in [0.7924400369735654, -0.27480763358632143, 2.7088322356863404].into_iter().enumerate() {
        assert_close(ols.coef[j], want, 1e-10, &format!("ols coef[{j}]"));
    }
}

/// The same ridge problem written as augmented least squares, `[1 X; 0 √alpha·diag(s)]·[b0; w] ≈
/// [y; 0]`, solved by a QR factorisation with modified Gram–Schmidt (no normal equations, no
/// centring): an independent method coded here. Tolerance 1e-9 (MGS loses a little orthogonality
/// on the uncentred intercept column, whose scale differs from x1's mean of ~10).
#[test]
fn ridge_matches_gram_schmidt_qr_on_augmented_system() {
    let alpha: f64 = 2.5;
    let x = cols(&RIDGE_X);
    let n = RIDGE_Y.len();
    let p = x.len();
    let sd: Vec<f64> = x
        .iter()
        .map(|c| {
            let m = c.iter().sum::<f64>() / n as f64;
            (c.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n as f64).sqrt()
        })
        .collect();
    // columns of the augmented (n + p) × (p + 1) matrix
    let rows = n + p;
    let mut a: Vec<Vec<f64>> = Vec::new();
    let mut one = vec![1.0; n];
    one.extend(vec![0.0; p]);
    a.push(one);
    for j in 0..p {
        let mut c = x[j].to_vec();
        c.extend((0..p).map(|k| if k == j { alpha.sqrt() * sd[j] } else { 0.0 }));
        a.push(c);
    }
    let mut b = RIDGE_Y.to_vec();
    b.extend(vec![0.0; p]);
    // modified Gram–Schmidt: A = Q·R
    let k = p + 1;
    let mut r = vec![vec![0.0; k]; k];
    let mut q = a.clone();
    for i in 0..k {
        let norm = q[i].iter().map(|v| v * v).sum::<f64>().sqrt();
        r[i][i] = norm;
        q[i].iter_mut().for_each(|v| *v /= norm);
        for j in i + 1..k {
            let d: f64 = (0..rows).map(|t| q[i][t] * q[j][t]).sum();
            r[i][j] = d;
            for t in 0..rows {
                q[j][t] -= d * q[i][t];
            }
        }
    }
    let qtb: Vec<f64> = (0..k).map(|i| (0..rows).map(|t| q[i][t] * b[t]).sum()).collect();
    let mut sol = vec![0.0; k];
    for i in (0..k).rev() {
        sol[i] = (qtb[i] - (i + 1..k).map(|j| r[i][j] * sol[j]).sum::<f64>()) / r[i][i];
    }
    let fit = fit_ridge(&x, &RIDGE_Y, &RidgeParams { alpha }).unwrap();
    eprintln!("ridge vs Gram-Schmidt QR: intercept {:e}", fit.intercept - sol[0]);
    assert_close(fit.intercept, sol[0], 1e-9, "intercept");
    for j in 0..p {
        assert_close(fit.coef[j], sol[j + 1], 1e-9, &format!("coef[{j}]"));
    }
}

/// With alpha = 0 the logistic fit is the maximum-likelihood estimate, which statsmodels' `Logit`
/// computes. Reference (statsmodels 0.15.0, numpy 2.4.6, /work/main/.venv):
/// `sm.Logit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12, maxiter=100, disp=0).params`
/// → converged. Tolerance 1e-6, as briefed; both stop on Newton steps far below that.
#[test]
fn logistic_without_penalty_matches_statsmodels_logit() {
    let x = cols(&LOGIT_X);
    let fit = fit_logistic(&x, &LOGIT_Y, &LogisticParams { alpha: 0.0, ..Default::default() }).unwrap();
    eprintln!(
        "logistic vs statsmodels: {:e} {:e} {:e} after {} iterations",
        fit.intercept + 1.2503855313598655,
        fit.coef[0] - 0.7073765264519121,
        fit.coef[1] + 1.552647874184955,
        fit.n_iter
    );
    assert_close(fit.intercept, -1.2503855313598655, 1e-6, "intercept");
    assert_close(fit.coef[0], 0.7073765264519121, 1e-6, "coef[0]");
    assert_close(fit.coef[1], -1.552647874184955, 1e-6, "coef[1]");
    assert!(fit.n_iter < 20, "{} iterations", fit.n_iter);
    // a tiny penalty moves the estimate continuously toward the MLE (lambda -> 0)
    let tiny = fit_logistic(&x, &LOGIT_Y, &LogisticParams { alpha: 1e-9, ..Default::default() }).unwrap();
    assert_close(tiny.coef[1], fit.coef[1], 1e-6, "alpha 1e-9 coef[1]");
}

/// At the penalised optimum the gradient of the objective vanishes (first-order condition): on the
/// standardised scale, `Σ (y_i − p_i)·z_ij = alpha·β_j` for each feature and `Σ (y_i − p_i) = 0`.
/// On the original scale `β_j = coef_j·s_j` and `z_ij = (x_ij − m_j)/s_j`, so
/// `Σ (y_i − p_i)·(x_ij − m_j) = alpha·coef_j·s_j²`.
#[test]
fn logistic_with_penalty_satisfies_first_order_conditions() {
    let x = cols(&LOGIT_X);
    let alpha = 3.0;
    let fit = fit_logistic(&x, &LOGIT_Y, &LogisticParams { alpha, ..Default::default() }).unwrap();
    let p = fit.predict_proba(&x).unwrap();
    let resid: Vec<f64> = LOGIT_Y.iter().zip(&p).map(|(y, p)| y - p).collect();
    assert!(resid.iter().sum::<f64>().abs() < 1e-9);
    let n = resid.len() as f64;
    for j in 0..2 {
        let m = x[j].iter().sum::<f64>() / n;
        let var = x[j].iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
        let g: f64 = resid.iter().zip(x[j]).map(|(r, v)| r * (v - m)).sum();
        assert_close(g, alpha * fit.coef[j] * var, 1e-9, &format!("gradient {j}"));
    }
    // shrinkage: the penalised slopes are smaller in magnitude than the MLE's
    let mle = fit_logistic(&x, &LOGIT_Y, &LogisticParams { alpha: 0.0, ..Default::default() }).unwrap();
    assert!(fit.coef[1].abs() < mle.coef[1].abs());
}

#[test]
fn perfect_separation_needs_the_penalty() {
    let x0: Vec<f64> = (0..30).map(|i| i as f64 / 10.0).collect();
    let y: Vec<f64> = x0.iter().map(|&v| f64::from(u8::from(v > 1.45))).collect();
    let err = fit_logistic(&[&x0], &y, &LogisticParams { alpha: 0.0, ..Default::default() }).unwrap_err();
    assert_eq!(err.field(), Some("max_iter"));
    assert!(err.to_string().contains("separated"), "{err}");
    let fit = fit_logistic(&[&x0], &y, &LogisticParams { alpha: 0.1, ..Default::default() }).unwrap();
    assert!(fit.coef[0] > 0.0 && fit.coef[0].is_finite());
    let p = fit.predict_proba(&[&x0]).unwrap();
    assert!(p[0] < 0.5 && p[29] > 0.5);
}

#[test]
fn constant_feature_gets_zero_coefficient() {
    let x = cols(&RIDGE_X);
    let constant = [4.2; 20];
    let with = [x[0], &constant, x[1], x[2]];
    let a = fit_ridge(&x, &RIDGE_Y, &RidgeParams { alpha: 0.0 }).unwrap();
    let b = fit_ridge(&with, &RIDGE_Y, &RidgeParams { alpha: 0.0 }).unwrap();
    assert_eq!(b.coef[1], 0.0);
    assert_close(b.coef[3], a.coef[2], 1e-10, "coef");
    assert_close(b.intercept, a.intercept, 1e-10, "intercept");
}

#[test]
fn bad_inputs_name_the_field() {
    let x = cols(&RIDGE_X);
    let mut nan = RIDGE_X[1];
    nan[7] = f64::NAN;
    let with_nan = [x[0], &nan, x[2]];
    let err = fit_ridge(&with_nan, &RIDGE_Y, &RidgeParams::default()).unwrap_err();
    assert_eq!(err.field(), Some("x[1][7]"));
    assert!(err.to_string().contains("impute"), "{err}");
    assert_eq!(fit_ridge(&[], &RIDGE_Y, &RidgeParams::default()).unwrap_err().field(), Some("x"));
    assert_eq!(fit_ridge(&x, &RIDGE_Y[..5], &RidgeParams::default()).unwrap_err().field(), Some("y"));
    assert_eq!(fit_ridge(&x, &RIDGE_Y, &RidgeParams { alpha: -1.0 }).unwrap_err().field(), Some("alpha"));
    let mut ybad = RIDGE_Y;
    ybad[3] = f64::NAN;
    assert_eq!(fit_ridge(&x, &ybad, &RidgeParams::default()).unwrap_err().field(), Some("y[3]"));
    let lx = cols(&LOGIT_X);
    let mut y2 = LOGIT_Y;
    y2[4] = 0.5;
    assert_eq!(fit_logistic(&lx, &y2, &LogisticParams::default()).unwrap_err().field(), Some("y[4]"));
    let zeros = [0.0; 40];
    let err = fit_logistic(&lx, &zeros, &LogisticParams::default()).unwrap_err();
    assert_eq!((err.field(), err.code()), (Some("y"), "insufficient_data"));
    // collinear features without a penalty
    let twice: Vec<f64> = RIDGE_X[0].iter().map(|v| 2.0 * v).collect();
    let err = fit_ridge(&[x[0], &twice], &RIDGE_Y, &RidgeParams { alpha: 0.0 }).unwrap_err();
    assert_eq!(err.field(), Some("x"));
    // prediction with the wrong number of features
    let fit = fit_ridge(&x, &RIDGE_Y, &RidgeParams::default()).unwrap();
    assert_eq!(fit.decision_function(&x[..2]).unwrap_err().field(), Some("x"));
}
