//! Issue 13, item 5: precision with large offsets.
//!
//! Metrics with a large mean and a small standard deviation (means 1e6 … 1e12, sd 1 and 10) go
//! through the in-memory aggregation (whole, and in merged partitions) and the effect
//! computation; standard errors, CUPED's θ and the effects are compared with an **exact**
//! computation: every f64 value is an integer multiple of its column's smallest ulp, so the
//! sums of the scaled values are exact integers (i128, overflow-checked) and the central moments
//! are exact rationals until one final rounding. Target (the issue's): standard errors within
//! 1e-6 relative, effects within 1e-6 of their standard error. Raw (unshifted) sums of squares
//! fail this by up to 45% at mean 1e8 and lose the variance altogether at 1e12.

use std::collections::BTreeMap;

use liftlab::report::{aggregate_experiment, Codes, ExperimentData, Exposures, Ids, Outcomes};
use liftlab::spec::Spec;
use liftlab::stats::effect::{compare_arms, EffectOptions, MetricComparison, MetricKind};

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

const SPEC: &str = r#"
[[experiments]]
key = "e"
variants = ["control", "treatment"]

[[metrics]]
name = "spend"
kind = "mean"

[[metrics]]
name = "spend_cuped"
kind = "mean"
column = "spend"
covariate = "pre"

[[metrics]]
name = "spend_per_visit"
kind = "ratio"
column = "spend"
denominator = "visits"

[[metrics]]
name = "spend_per_visit_cuped"
kind = "ratio"
column = "spend"
denominator = "visits"
covariate = "pre"
covariate_denominator = "pre_visits"
"#;

const COLS: [&str; 4] = ["spend", "visits", "pre", "pre_visits"];

/// Unit-level data of one design: `cols[k][i]` for unit `i`, arm 0 first.
struct Data {
    arm: Vec<usize>,
    cols: [Vec<f64>; 4],
}

/// Units of both arms: spend ≈ mean + sd·z (+0.3 sd in treatment), visits ≈ mean/2 correlated
/// with spend, and their pre-period copies correlated 0.8. Every column has a large offset.
fn simulate(seed: u64, mean: f64, sd: f64, n: [usize; 2]) -> Data {
    let mut r = Rng::new(seed);
    let mut d = Data { arm: Vec::new(), cols: Default::default() };
    for (a, &na) in n.iter().enumerate() {
        for _ in 0..na {
            let (z1, z2, z3, z4) = (r.normal(), r.normal(), r.normal(), r.normal());
            let lift = 0.3 * sd * a as f64;
            d.arm.push(a);
            d.cols[0].push(mean + lift + sd * z1);
            d.cols[1].push(0.5 * mean + sd * (0.6 * z1 + 0.8 * z2));
            d.cols[2].push(0.9 * mean + sd * (0.8 * z1 + 0.6 * z3));
            d.cols[3].push(0.45 * mean + sd * (0.8 * (0.6 * z1 + 0.8 * z2) + 0.6 * z4));
        }
    }
    d
}

fn tables(d: &Data, units: &[usize]) -> (Exposures, Outcomes) {
    let names = ["control", "treatment"];
    let exposures = Exposures {
        units: Ids::Int(units.iter().map(|&i| i as i64).collect()),
        variants: Codes::from_values(units.iter().map(|&i| Some(names[d.arm[i]]))),
        days: None,
        segments: Vec::new(),
    };
    let mut columns = BTreeMap::new();
    for (k, name) in COLS.iter().enumerate() {
        columns.insert(name.to_string(), units.iter().map(|&i| d.cols[k][i]).collect());
    }
    (exposures, Outcomes { units: Ids::Int(units.iter().map(|&i| i as i64).collect()), columns })
}

/// The exponent `e` of the smallest ulp of a column: every value is an integer times `2^e`.
fn ulp_exponent(v: &[f64]) -> i32 {
    v.iter()
        .filter(|x| **x != 0.0)
        .map(|x| {
            let biased = ((x.to_bits() >> 52) & 0x7ff) as i32;
            assert!(biased > 0, "subnormal values are not expected here");
            biased - 1023 - 52
        })
        .min()
        .unwrap_or(0)
}

/// A column as exact integers `v / 2^e`.
fn to_ints(v: &[f64], e: i32) -> Vec<i128> {
    let scale = 2f64.powi(-e);
    v.iter()
        .map(|x| {
            let s = x * scale; // a power of two: exact
            assert_eq!(s.fract(), 0.0);
            s as i128
        })
        .collect()
}

/// Exact per-arm moments of the four columns, rounded once at the end.
struct Exact {
    n: [f64; 2],
    /// `mean[a][k]`.
    mean: [[f64; 4]; 2],
    /// `mean_diff[k] = mean[1][k] − mean[0][k]`, exact until the final rounding.
    mean_diff: [f64; 4],
    /// `cov[a][k][l]` with ddof 1.
    cov: [[[f64; 4]; 4]; 2],
}

fn exact(d: &Data) -> Exact {
    let e: [i32; 4] = std::array::from_fn(|k| ulp_exponent(&d.cols[k]));
    let ints: [Vec<i128>; 4] = std::array::from_fn(|k| to_ints(&d.cols[k], e[k]));
    // deviations from the first unit's value keep the integers small (still exact)
    let dev = |k: usize, i: usize| ints[k][i] - ints[k][0];
    let mut out = Exact { n: [0.0; 2], mean: [[0.0; 4]; 2], mean_diff: [0.0; 4], cov: [[[0.0; 4]; 4]; 2] };
    let mut sums = [[0i128; 4]; 2];
    let mut counts = [0i128; 2];
    for a in 0..2 {
        let idx: Vec<usize> = (0..d.arm.len()).filter(|&i| d.arm[i] == a).collect();
        let n = idx.len() as i128;
        counts[a] = n;
        out.n[a] = n as f64;
        for k in 0..4 {
            let s: i128 = idx.iter().map(|&i| dev(k, i)).sum();
            sums[a][k] = s;
            out.mean[a][k] = d.cols[k][0] + (s as f64 / n as f64) * 2f64.powi(e[k]);
            for l in 0..4 {
                let mut skl: i128 = 0;
                for &i in &idx {
                    skl = skl.checked_add(dev(k, i).checked_mul(dev(l, i)).unwrap()).unwrap();
                }
                let s_l: i128 = idx.iter().map(|&i| dev(l, i)).sum();
                // n(n−1)·cov = n·Σ a b − Σa·Σb, exact
                let num = n.checked_mul(skl).unwrap().checked_sub(s.checked_mul(s_l).unwrap()).unwrap();
                out.cov[a][k][l] = num as f64 / (n * (n - 1)) as f64 * 2f64.powi(e[k] + e[l]);
            }
        }
    }
    for k in 0..4 {
        let num = counts[0].checked_mul(sums[1][k]).unwrap() - counts[1].checked_mul(sums[0][k]).unwrap();
        out.mean_diff[k] = num as f64 / (counts[0] * counts[1]) as f64 * 2f64.powi(e[k]);
    }
    out
}

/// Reference results computed from the exact moments with the delta-method formulas written out
/// here (Deng et al. 2013 and 2018), independently of `compare_arms`.
struct Expected {
    arm_se: [f64; 2],
    se: f64,
    abs: f64,
    rel_se: f64,
    theta: Option<f64>,
}

fn quad(g: &[f64; 4], s: &[[f64; 4]; 4]) -> f64 {
    (0..4).map(|i| (0..4).map(|j| g[i] * s[i][j] * g[j]).sum::<f64>()).sum()
}

fn expected(x: &Exact, kind: MetricKind, cuped: bool) -> Expected {
    // unadjusted estimate's gradient per arm, and the covariate's
    let grad = |a: usize| -> [f64; 4] {
        let m = &x.mean[a];
        match kind {
            MetricKind::Ratio => [1.0 / m[1], -m[0] / (m[1] * m[1]), 0.0, 0.0],
            _ => [1.0, 0.0, 0.0, 0.0],
        }
    };
    let cgrad = |a: usize| -> [f64; 4] {
        let m = &x.mean[a];
        match kind {
            MetricKind::Ratio => [0.0, 0.0, 1.0 / m[3], -m[2] / (m[3] * m[3])],
            _ => [0.0, 0.0, 1.0, 0.0],
        }
    };
    let var_of = |g: &[f64; 4], a: usize| quad(g, &x.cov[a]) / x.n[a];
    // differences of the estimates from exact mean differences
    let ratio_diff = |p: usize, q: usize| {
        let (m0, m1) = (&x.mean[0], &x.mean[1]);
        (x.mean_diff[p] * m0[q] - m0[p] * x.mean_diff[q]) / (m1[q] * m0[q])
    };
    let (d0, dc) = match kind {
        MetricKind::Ratio => (ratio_diff(0, 1), ratio_diff(2, 3)),
        _ => (x.mean_diff[0], x.mean_diff[2]),
    };
    let g0c = match kind {
        MetricKind::Ratio => x.mean[0][0] / x.mean[0][1],
        _ => x.mean[0][0],
    };
    let arm_se = [var_of(&grad(0), 0).sqrt(), var_of(&grad(1), 1).sqrt()];
    let theta = cuped.then(|| {
        let cov_xc = |a: usize| {
            let (g, h) = (grad(a), cgrad(a));
            (0..4).map(|i| (0..4).map(|j| g[i] * x.cov[a][i][j] * h[j]).sum::<f64>()).sum::<f64>()
        };
        let num: f64 = (0..2).map(|a| (x.n[a] - 1.0) * cov_xc(a)).sum();
        let den: f64 = (0..2).map(|a| (x.n[a] - 1.0) * quad(&cgrad(a), &x.cov[a])).sum();
        num / den
    });
    let t = theta.unwrap_or(0.0);
    let adj = |a: usize| -> [f64; 4] { std::array::from_fn(|k| grad(a)[k] - t * cgrad(a)[k]) };
    let se = (var_of(&adj(0), 0) + var_of(&adj(1), 1)).sqrt();
    let abs = d0 - t * dc;
    // relative: abs / g⁰_c, gradient over both arms
    let gt: [f64; 4] = adj(1).map(|g| g / g0c);
    let gc: [f64; 4] = std::array::from_fn(|k| -adj(0)[k] / g0c - abs * grad(0)[k] / (g0c * g0c));
    let rel_se = (var_of(&gt, 1) + var_of(&gc, 0)).sqrt();
    Expected { arm_se, se, abs, rel_se, theta }
}

/// The worst relative error of the standard errors (and θ) and of the effect in units of its
/// standard error, of one comparison against its exact reference.
fn errors(got: &MetricComparison, want: &Expected) -> (f64, f64) {
    let rel = |g: f64, w: f64| ((g - w) / w).abs();
    let e = &got.effects[0];
    let mut se_err = rel(e.std_err, want.se)
        .max(rel(got.arms[0].std_err, want.arm_se[0]))
        .max(rel(got.arms[1].std_err, want.arm_se[1]))
        .max(rel(e.rel_std_err.unwrap(), want.rel_se));
    if let Some(t) = want.theta {
        se_err = se_err.max(rel(got.theta.unwrap(), t));
    }
    let effect_err = (e.abs_effect - want.abs).abs() / want.se;
    (if se_err.is_nan() { f64::INFINITY } else { se_err }, if effect_err.is_nan() { f64::INFINITY } else { effect_err })
}

const METRICS: [(MetricKind, bool); 4] =
    [(MetricKind::Mean, false), (MetricKind::Mean, true), (MetricKind::Ratio, false), (MetricKind::Ratio, true)];

/// Analyses every metric of `cells` and returns the worst errors against `want`.
fn worst(cells: &ExperimentData, x: &Exact, label: &str) -> (f64, f64) {
    let (mut se, mut eff) = (0.0f64, 0.0f64);
    for (m, &(kind, cuped)) in METRICS.iter().enumerate() {
        let got = compare_arms(&cells.metrics[m], kind, &EffectOptions { cuped, ..Default::default() })
            .unwrap_or_else(|e| panic!("{label} metric {m}: {e}"));
        let (a, b) = errors(&got, &expected(x, kind, cuped));
        se = se.max(a);
        eff = eff.max(b);
    }
    (se, eff)
}

#[test]
fn precision_with_large_offsets() {
    let spec = Spec::from_toml(SPEC).unwrap();
    let mut failures = Vec::new();
    for (s, &sd) in [1.0, 10.0].iter().enumerate() {
        for (p, mean) in [1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12].into_iter().enumerate() {
            let d = simulate(1000 + 10 * s as u64 + p as u64, mean, sd, [6000, 4000]);
            let x = exact(&d);
            let all: Vec<usize> = (0..d.arm.len()).collect();
            let (e, o) = tables(&d, &all);
            let whole = aggregate_experiment(&spec, "e", &e, &o).unwrap();
            // three partitions by unit, each aggregated with its own shift, then merged
            let mut merged = ExperimentData::default();
            for part in 0..3 {
                let mine: Vec<usize> = all.iter().copied().filter(|i| (i * 7 + 3) % 3 == part).collect();
                let (e, o) = tables(&d, &mine);
                merged.merge(&aggregate_experiment(&spec, "e", &e, &o).unwrap()).unwrap();
            }
            for (label, cells) in [("whole", &whole), ("merged partitions", &merged)] {
                let (se, eff) = worst(cells, &x, label);
                eprintln!(
                    "mean {mean:.0e}, sd {sd}, {label}: worst relative error of std errors and theta {se:.1e}, \
                     of effects (in std errors) {eff:.1e}"
                );
                if !(se <= 1e-6 && eff <= 1e-6) {
                    failures.push(format!("mean {mean:e} sd {sd} {label}: se error {se:e}, effect error {eff:e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
