//! Issue 13, item 8: heavily skewed metrics.
//!
//! Lognormal values (σ = 2, skewness 414) with 500 units per arm and a true lift of +10% that
//! multiplies every value (so the lift of the mean and of the geometric mean are both 10%),
//! 10,000 seeded runs (binomial standard error of a coverage near 95%: 0.22 points):
//!
//! - the delta-method relative interval (the default) under-covers with its misses on one side,
//!   as the issue measured (90.9%);
//! - Kohavi et al.'s (2014) rule `n > 355·skewness²` flags (nearly) every run and no run of a
//!   symmetric metric of the same size, with a note that names the remedy;
//! - the log-scale relative interval (`relative_interval = log`) covers 95% ± 1%.

use liftlab::stats::effect::{compare_arms, EffectOptions, MetricKind, RelativeInterval};
use liftlab::stats::moments::SuffStats;

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

const RUNS: usize = 10_000;
const N: usize = 500;

fn skewed(r: &mut Rng, scale: f64) -> Vec<f64> {
    (0..N).map(|_| scale * (2.0 * r.normal()).exp()).collect()
}

fn is_skew_note(n: &str) -> bool {
    n.starts_with("heavily skewed metric") && n.contains("355") && n.contains("cap")
}

#[test]
fn heavily_skewed_metrics() {
    let lift = 0.10;
    let mut r = Rng::new(88);
    let (mut delta_in, mut delta_below, mut delta_above, mut log_in, mut flagged) = (0, 0, 0, 0, 0);
    let log_opts = EffectOptions { relative_interval: RelativeInterval::Log, ..Default::default() };
    for _ in 0..RUNS {
        let c = SuffStats::from_positive_values(&skewed(&mut r, 1.0));
        let t = SuffStats::from_positive_values(&skewed(&mut r, 1.0 + lift));
        let d = compare_arms(&[c, t], MetricKind::Mean, &EffectOptions::default()).unwrap();
        let e = &d.effects[0];
        let (lo, hi) = (e.rel_ci_low.unwrap(), e.rel_ci_high.unwrap());
        if lift < lo {
            delta_below += 1; // the interval lies above the truth
        } else if lift > hi {
            delta_above += 1;
        } else {
            delta_in += 1;
        }
        flagged += e.notes.iter().any(|n| is_skew_note(n)) as usize;
        let l = compare_arms(&[c, t], MetricKind::Mean, &log_opts).unwrap();
        let e = &l.effects[0];
        log_in += (e.rel_ci_low.unwrap() <= lift && lift <= e.rel_ci_high.unwrap()) as usize;
        // the log scale keeps the p-value and absolute interval of the means
        assert_eq!(e.p_value, d.effects[0].p_value);
    }
    let rate = |k: usize| k as f64 / RUNS as f64;
    eprintln!(
        "lognormal(σ = 2), n = {N} per arm, +10%: delta-method relative interval covers {:.4} (misses: truth above \
         the interval {:.4}, below {:.4}); log-scale interval covers {:.4}; skewness note in {:.4} of runs",
        rate(delta_in),
        rate(delta_above),
        rate(delta_below),
        rate(log_in),
        rate(flagged)
    );
    assert!((rate(log_in) - 0.95).abs() <= 0.01, "log-scale coverage {}", rate(log_in));
    assert!(rate(flagged) >= 0.99, "skewness flagged in {}", rate(flagged));
    // the problem the log scale solves is there: under-coverage, misses on one side
    assert!(rate(delta_in) < 0.93 && delta_above > 5 * delta_below, "delta-method coverage {}", rate(delta_in));

    // a symmetric metric of the same size is not flagged (skewness ~ N(0, 0.11), the rule needs > 1.19)
    let mut false_alarms = 0;
    for _ in 0..2000 {
        let arm = |r: &mut Rng| SuffStats::from_values(&(0..N).map(|_| 100.0 + 10.0 * r.normal()).collect::<Vec<_>>());
        let (c, t) = (arm(&mut r), arm(&mut r));
        let d = compare_arms(&[c, t], MetricKind::Mean, &EffectOptions::default()).unwrap();
        false_alarms += d.effects[0].notes.iter().any(|n| is_skew_note(n)) as usize;
    }
    eprintln!("normal(100, 10), n = {N} per arm: skewness note in {false_alarms} of 2000 runs");
    assert_eq!(false_alarms, 0);
}

/// The rule itself: the note appears exactly when an arm has at most 355·g₁² units. A tenth of
/// the units at 1 and the rest at 0 has skewness (1 − 2p)/sqrt(p(1 − p)) = 8/3, so the rule asks
/// for 355 × 64/9 = 2524.4 units per arm.
#[test]
fn skewness_rule_threshold() {
    let arm =
        |n: usize| SuffStats::from_values(&(0..n).map(|i| if i % 10 == 0 { 1.0 } else { 0.0 }).collect::<Vec<_>>());
    for (n, noted) in [(1000, true), (2520, true), (2530, false), (10_000, false)] {
        let a = arm(n);
        let g = a.skewness().unwrap();
        assert!((g - 8.0 / 3.0).abs() < 1e-12, "{g}");
        let d = compare_arms(&[a, a], MetricKind::Mean, &EffectOptions::default()).unwrap();
        assert_eq!(d.effects[0].notes.iter().any(|n| is_skew_note(n)), noted, "n = {n}");
        assert_eq!(d.arms[0].skewness, Some(g));
    }
}

#[test]
fn log_scale_needs_its_sums_and_a_mean_metric() {
    let c = SuffStats::from_values(&[1.0, 2.0, 3.0]);
    let log = EffectOptions { relative_interval: RelativeInterval::Log, ..Default::default() };
    let e = compare_arms(&[c, c], MetricKind::Mean, &log).unwrap_err();
    assert_eq!(e.field(), Some("arms[0].sum_lx"));
    let p = SuffStats::from_positive_values(&[1.0, 2.0, 3.0]);
    let e = compare_arms(&[p, p], MetricKind::Ratio, &log).unwrap_err();
    assert_eq!(e.field(), Some("relative_interval"));
    let e = compare_arms(&[p, p], MetricKind::Mean, &EffectOptions { cuped: true, ..log }).unwrap_err();
    assert_eq!(e.field(), Some("relative_interval"));
}
