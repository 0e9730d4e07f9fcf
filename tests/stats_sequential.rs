//! Issue 13, item 7: with three or more arms the confidence sequence counts the units of the two
//! arms compared (control and the variant), as GrowthBook's gbstats does
//! (`SequentialTwoSidedTTest`: `n = n_A + n_B`, per-unit variance `SE²·(n_A + n_B)`), not the
//! units of every arm.
//!
//! - `confidence_sequence_counts_the_pair`: the report's always-valid interval is the half-width
//!   formula of Howard et al. (2021) / Waudby-Smith et al. (2023, eq. 9) written out here, at the
//!   pair's `N`, for 3 and 4 arms of different sizes.
//! - `confidence_sequence_plan_counts_the_pair`: the power of a confidence-sequence plan with
//!   three variants uses the multiplier at `n_c + n_t`, as the analysis will.
//! - `confidence_sequence_coverage_under_peeking_3_and_4_arms`: 30 daily looks at simulated
//!   A/B/C and A/B/C/D tests; the sequence of every variant must cover its true effect at every
//!   look in at least 95% of the runs (minus two binomial standard errors of the estimate).

use liftlab::report::{analyze_experiment, ExperimentData};
use liftlab::spec::Spec;
use liftlab::stats::moments::SuffStats;
use liftlab::stats::power::{power, Baseline, DesignOptions, EffectSize, SequentialPlan};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};
use statrs::distribution::{ContinuousCDF, Normal};

fn spec(arms: usize, tuning: f64) -> Spec {
    let names: Vec<String> = (0..arms).map(|i| format!("\"v{i}\"")).collect();
    Spec::from_toml(&format!(
        r#"
[[experiments]]
key = "e"
variants = [{}]

[experiments.analysis]
sequential = "confidence_sequence"
tuning = {tuning}
correction = "none"

[[metrics]]
name = "converted"
kind = "binary"
"#,
        names.join(", ")
    ))
    .unwrap()
}

fn cell(n: u64, conversions: u64) -> SuffStats {
    let k = conversions as f64;
    SuffStats { n, sum_x: k, sum_x2: k, ..Default::default() }
}

/// The two-sided half-width of the normal-mixture confidence sequence, as gbstats'
/// `sequential_interval_halfwidth(s2, n, N*, alpha)`:
/// `sqrt(s2)·sqrt(2(nρ² + 1)·ln(sqrt(nρ² + 1)/α) / (nρ)²)`, `ρ² = (−2 ln α + ln(−2 ln α + 1)) / N*`,
/// with `s2 = se²·n` and `n` the units of the two arms compared.
fn gbstats_half_width(se: f64, n: f64, tuning: f64, alpha: f64) -> f64 {
    let l = -2.0 * alpha.ln();
    let rho2 = (l + (l + 1.0).ln()) / tuning;
    let s2 = se * se * n;
    let nr = n * rho2 + 1.0;
    s2.sqrt() * (2.0 * nr * (nr.sqrt() / alpha).ln() / (n * n * rho2)).sqrt()
}

#[test]
fn confidence_sequence_counts_the_pair() {
    for (arms, sizes, conv) in [
        (3, vec![4000u64, 1500, 2500], vec![400u64, 170, 300]),
        (4, vec![3000, 1000, 6000, 2000], vec![300, 125, 660, 190]),
    ] {
        let s = spec(arms, 5000.0);
        let data = ExperimentData {
            exposures: sizes.clone(),
            metrics: vec![sizes.iter().zip(&conv).map(|(&n, &k)| cell(n, k)).collect()],
            ..Default::default()
        };
        let r = analyze_experiment(&s, "e", &data).unwrap();
        for (v, e) in r.metrics[0].effects.iter().enumerate() {
            let v = v + 1;
            assert_eq!(e.interval, "confidence_sequence");
            let n_pair = (sizes[0] + sizes[v]) as f64;
            let want = gbstats_half_width(e.std_err, n_pair, 5000.0, 0.05);
            let got = (e.ci_high.unwrap() - e.ci_low.unwrap()) / 2.0;
            let all: f64 = sizes.iter().sum::<u64>() as f64;
            eprintln!(
                "{arms} arms, variant {v}: half-width {got:.6}, gbstats at the pair's n = {n_pair} {want:.6}, \
                 at every arm's n = {all} {:.6}",
                gbstats_half_width(e.std_err, all, 5000.0, 0.05)
            );
            assert!((got - want).abs() <= 1e-9 * want, "{arms} arms, variant {v}: {got} vs {want}");
            // the relative interval uses the same multiplier
            let rel_half = (e.rel_ci_high.unwrap() - e.rel_ci_low.unwrap()) / 2.0;
            let m = want / e.std_err;
            assert!((rel_half - m * e.rel_std_err.unwrap()).abs() <= 1e-9 * rel_half);
        }
    }
}

/// A mean metric (sd 35), 3,000 units in control and in each of three variants, effect 4.0,
/// alpha 0.05 shared by Bonferroni: the normal power with `z` replaced by the multiplier of the
/// pair (`n = 6,000`, gbstats' half-width over the standard error).
#[test]
fn confidence_sequence_plan_counts_the_pair() {
    let (sd, n, delta, alpha) = (35.0, 3000.0, 4.0, 0.05 / 3.0);
    let o = DesignOptions {
        variants: 3,
        sequential: SequentialPlan::ConfidenceSequence { tuning: 5000.0 },
        ..Default::default()
    };
    let got = power(&Baseline::Mean { mean: 20.0, std_dev: sd }, EffectSize::Absolute(delta), n, &o).unwrap();
    let s1 = sd * (2.0 / n).sqrt();
    let m = gbstats_half_width(s1, 2.0 * n, 5000.0, alpha) / s1;
    let phi = Normal::new(0.0, 1.0).unwrap();
    let want = phi.cdf((delta - m * s1) / s1) + phi.cdf((-delta - m * s1) / s1);
    eprintln!("confidence-sequence plan, 3 variants: power {got:.6}, pair multiplier {m:.4} -> {want:.6}");
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
}

/// Coverage of the true effects at every one of 30 daily looks (200 units per arm a day,
/// conversion 10% in control, +0%, +10%, +20% in the variants).
#[test]
fn confidence_sequence_coverage_under_peeking_3_and_4_arms() {
    let runs = 4000;
    let days = 30;
    let per_day = 200;
    let rates = [0.10, 0.10, 0.11, 0.12];
    for arms in [3usize, 4] {
        let s = spec(arms, 5000.0);
        let mut rng = ChaCha8Rng::seed_from_u64(70 + arms as u64);
        let mut covered = vec![0usize; arms - 1];
        for _ in 0..runs {
            let mut cells: Vec<SuffStats> = vec![SuffStats::default(); arms];
            let mut ok = vec![true; arms - 1];
            for _ in 0..days {
                for (a, c) in cells.iter_mut().enumerate() {
                    let k = Binomial::new(per_day, rates[a]).unwrap().sample(&mut rng);
                    *c += cell(per_day, k);
                }
                let data = ExperimentData {
                    exposures: cells.iter().map(|c| c.n).collect(),
                    metrics: vec![cells.clone()],
                    ..Default::default()
                };
                let r = analyze_experiment(&s, "e", &data).unwrap();
                for (v, e) in r.metrics[0].effects.iter().enumerate() {
                    let truth = rates[v + 1] - rates[0];
                    if let (Some(lo), Some(hi)) = (e.ci_low, e.ci_high) {
                        ok[v] &= lo <= truth && truth <= hi;
                    }
                }
            }
            for (c, o) in covered.iter_mut().zip(ok) {
                *c += o as usize;
            }
        }
        for (v, &c) in covered.iter().enumerate() {
            let cov = c as f64 / runs as f64;
            let se = (0.95 * 0.05 / runs as f64).sqrt();
            eprintln!(
                "{arms} arms, variant {} (true effect {:+.2}): covered at all {days} looks in {cov:.4} of {runs} runs",
                v + 1,
                rates[v + 1] - rates[0]
            );
            assert!(cov >= 0.95 - 2.0 * se, "{arms} arms, variant {}: coverage {cov}", v + 1);
        }
    }
}
