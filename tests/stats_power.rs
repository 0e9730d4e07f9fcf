//! Issue 13, item 6: the plan and the test agree.
//!
//! For a grid of designs, the sample size of `stats::power::sample_size` is run through the test
//! the analysis performs (`stats::effect::compare_arms`) on seeded simulated data, and the share
//! of rejections (the realised power) must be within 1 point of the target. For proportions the
//! realised power is also computed exactly, by summing the two binomial distributions over every
//! outcome the Wald z-test rejects (no Monte Carlo noise): a slower, independent computation.
//!
//! Monte Carlo: 50,000 runs per design, standard error sqrt(p(1−p)/50000) = 0.18 points at 80%
//! power and 0.13 at 90%, so a realised power within 1 point of the target is shown to within
//! ±0.36 (2 standard errors); a plan off by 3 points (the pooled plan of the issue, 77.1%) fails
//! by 16 standard errors. The exact power of the proportions must be within 0.5 points.

use liftlab::stats::effect::{compare_arms, EffectOptions, MetricKind};
use liftlab::stats::moments::SuffStats;
use liftlab::stats::power::{
    power, sample_size, Baseline, DesignOptions, EffectSize, ProportionTest, SampleSize, SequentialPlan,
};
use liftlab::stats::Alternative;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, ChiSquared, Distribution, Normal};
use statrs::distribution::{ContinuousCDF, Discrete, Normal as StatrsNormal};

const RUNS: usize = 50_000;

/// One design of the grid.
struct Design {
    baseline: Baseline,
    effect: EffectSize,
    options: DesignOptions,
}

fn options(alpha: f64, power: f64, alternative: Alternative, ratio: f64, variants: usize) -> DesignOptions {
    DesignOptions { alpha, power, alternative, ratio, variants, ..Default::default() }
}

fn grid() -> Vec<Design> {
    use Alternative::{Greater, Less, TwoSided};
    let prop = |rate: f64, rel: f64, o: DesignOptions| Design {
        baseline: Baseline::Proportion { rate },
        effect: EffectSize::Relative(rel),
        options: o,
    };
    vec![
        // the design: rate 0.05, +30%, alpha 0.01, treatment half the control's size
        prop(0.05, 0.30, options(0.01, 0.8, TwoSided, 0.5, 1)),
        prop(0.05, 0.30, options(0.01, 0.8, TwoSided, 2.0, 1)),
        prop(0.05, 0.30, options(0.05, 0.8, TwoSided, 1.0, 1)),
        prop(0.02, 0.20, options(0.05, 0.9, TwoSided, 0.5, 1)),
        prop(0.10, 0.10, options(0.05, 0.8, Greater, 1.0, 1)),
        prop(0.10, -0.15, options(0.05, 0.8, Less, 0.5, 1)),
        prop(0.30, 0.10, options(0.01, 0.9, TwoSided, 0.25, 1)),
        prop(0.50, -0.10, options(0.05, 0.8, TwoSided, 1.0, 1)),
        prop(0.01, 0.50, options(0.05, 0.8, TwoSided, 3.0, 1)),
        // two variants, each against control at alpha / 2 (the plan's Bonferroni)
        prop(0.05, 0.25, options(0.05, 0.8, TwoSided, 0.5, 2)),
        // means (Welch's t in the analysis, normal in the plan as statsmodels' NormalIndPower;
        // from ~100 units per arm on the difference is below half a point)
        Design {
            baseline: Baseline::Mean { mean: 20.0, std_dev: 35.0 },
            effect: EffectSize::Relative(0.08),
            options: options(0.05, 0.8, TwoSided, 0.5, 1),
        },
        Design {
            baseline: Baseline::Mean { mean: 10.0, std_dev: 5.0 },
            effect: EffectSize::Absolute(2.0),
            options: options(0.05, 0.8, TwoSided, 1.0, 1),
        },
        Design {
            baseline: Baseline::Mean { mean: 5.0, std_dev: 4.0 },
            effect: EffectSize::Absolute(0.5),
            options: options(0.01, 0.9, Greater, 2.0, 1),
        },
    ]
}

fn label(d: &Design) -> String {
    let o = &d.options;
    format!(
        "{:?} {:?} alpha {} power {} {} ratio {} variants {}",
        d.baseline,
        d.effect,
        o.alpha,
        o.power,
        o.alternative.as_str(),
        o.ratio,
        o.variants
    )
}

/// The true values of both arms and the rejection level of one comparison.
fn truth(d: &Design) -> (f64, f64, f64) {
    let base = match d.baseline {
        Baseline::Proportion { rate } => rate,
        Baseline::Mean { mean, .. } => mean,
    };
    let delta = match d.effect {
        EffectSize::Absolute(a) => a,
        EffectSize::Relative(r) => r * base,
    };
    (base, base + delta, d.options.alpha / d.options.variants as f64)
}

/// The analysis' decision on one comparison: its p-value at the plan's level, and for a
/// one-sided plan the analysis run with the same alternative.
fn rejects(c: SuffStats, t: SuffStats, kind: MetricKind, alt: Alternative, level: f64) -> bool {
    let o = EffectOptions { alpha: level, alternative: alt, ..Default::default() };
    match compare_arms(&[c, t], kind, &o) {
        Ok(cmp) => cmp.effects[0].p_value <= level,
        Err(_) => false, // no variance yet: no rejection
    }
}

/// Realised power by simulation (50,000 seeded runs) and its Monte Carlo standard error.
fn simulated_power(d: &Design, size: &SampleSize, seed: u64) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (vc, vt, level) = truth(d);
    let (nc, nt) = (size.n_control, size.n_per_variant);
    let mut hits = 0usize;
    for _ in 0..RUNS {
        let (c, t, kind) = match d.baseline {
            Baseline::Proportion { .. } => {
                let kc = Binomial::new(nc, vc).unwrap().sample(&mut rng) as f64;
                let kt = Binomial::new(nt, vt).unwrap().sample(&mut rng) as f64;
                let cell = |n: u64, k: f64| SuffStats { n, sum_x: k, sum_x2: k, ..Default::default() };
                (cell(nc, kc), cell(nt, kt), MetricKind::Binary)
            }
            Baseline::Mean { std_dev, .. } => {
                // normal data (the plan's assumption) drawn as its sufficient statistics: the
                // sample mean ~ N(m, σ²/n) and, independently, (n − 1)s²/σ² ~ χ²(n − 1); the
                // analysis runs Welch's t on them
                let arm = |n: u64, m: f64, rng: &mut ChaCha8Rng| {
                    let nf = n as f64;
                    let mean_dev = Normal::new(0.0, std_dev / nf.sqrt()).unwrap().sample(rng);
                    let ss = std_dev * std_dev * ChiSquared::new(nf - 1.0).unwrap().sample(rng);
                    SuffStats {
                        n,
                        sum_x: nf * mean_dev,
                        sum_x2: ss + nf * mean_dev * mean_dev,
                        shift_x: m,
                        ..Default::default()
                    }
                };
                (arm(nc, vc, &mut rng), arm(nt, vt, &mut rng), MetricKind::Mean)
            }
        };
        hits += rejects(c, t, kind, d.options.alternative, level) as usize;
    }
    let p = hits as f64 / RUNS as f64;
    (p, (p * (1.0 - p) / RUNS as f64).sqrt())
}

/// The exact power of the unpooled Wald z-test of two proportions: the sum of
/// `P(K_c = a) P(K_t = b)` over every `(a, b)` it rejects, over ±12 standard deviations of each
/// binomial (the mass left out is below 1e-30).
fn exact_wald_power(nc: u64, nt: u64, pc: f64, pt: f64, level: f64, alt: Alternative) -> f64 {
    let z = StatrsNormal::new(0.0, 1.0).unwrap();
    let q = match alt {
        Alternative::TwoSided => z.inverse_cdf(1.0 - level / 2.0),
        _ => z.inverse_cdf(1.0 - level),
    };
    let range = |n: u64, p: f64| {
        let (m, s) = (n as f64 * p, (n as f64 * p * (1.0 - p)).sqrt());
        let lo = (m - 12.0 * s - 5.0).floor().max(0.0) as u64;
        let hi = ((m + 12.0 * s + 5.0).ceil() as u64).min(n);
        lo..=hi
    };
    let bc = statrs::distribution::Binomial::new(pc, nc).unwrap();
    let bt = statrs::distribution::Binomial::new(pt, nt).unwrap();
    let pmf_t: Vec<(u64, f64)> = range(nt, pt).map(|b| (b, bt.pmf(b))).collect();
    let mut total = 0.0;
    for a in range(nc, pc) {
        let pa = bc.pmf(a);
        let rc = a as f64 / nc as f64;
        let mut inner = 0.0;
        for &(b, pb) in &pmf_t {
            let rt = b as f64 / nt as f64;
            let se = (rc * (1.0 - rc) / nc as f64 + rt * (1.0 - rt) / nt as f64).sqrt();
            if se > 0.0 {
                let stat = (rt - rc) / se;
                let reject = match alt {
                    Alternative::TwoSided => stat.abs() >= q,
                    Alternative::Greater => stat >= q,
                    Alternative::Less => -stat >= q,
                };
                if reject {
                    inner += pb;
                }
            }
        }
        total += pa * inner;
    }
    total
}

#[test]
fn the_plan_and_the_test_agree() {
    let mut failures = Vec::new();
    for (i, d) in grid().iter().enumerate() {
        let size = sample_size(&d.baseline, d.effect, &d.options).unwrap();
        let target = d.options.power;
        let (sim, mc_se) = simulated_power(d, &size, 600 + i as u64);
        let exact = match d.baseline {
            Baseline::Proportion { .. } => {
                let (pc, pt, level) = truth(d);
                Some(exact_wald_power(size.n_control, size.n_per_variant, pc, pt, level, d.options.alternative))
            }
            Baseline::Mean { .. } => None,
        };
        eprintln!(
            "{}: n = {} + {}; realised power {:.4} ± {:.4} (simulation), {} exact; target {target}",
            label(d),
            size.n_control,
            size.n_per_variant,
            sim,
            mc_se,
            exact.map_or("-".to_string(), |e| format!("{e:.4}"))
        );
        if (sim - target).abs() > 0.01 {
            failures.push(format!("{}: simulated power {sim:.4} ± {mc_se:.4}, target {target}", label(d)));
        }
        if let Some(e) = exact {
            if (e - target).abs() > 0.005 {
                failures.push(format!("{}: exact power {e:.4}, target {target}", label(d)));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The pooled plan (R's power.prop.test) is what the issue measured: at rate 0.05, +30%, alpha
/// 0.01, treatment half the control's size, it asks for too few units for the Wald test
/// (realised 77.1% ± 0.7 in the issue; here computed exactly). The option stays for a pooled
/// test run elsewhere; the default plans the analysis' test.
#[test]
fn the_pooled_plan_under_powers_the_wald_test() {
    let b = Baseline::Proportion { rate: 0.05 };
    let e = EffectSize::Relative(0.30);
    let pooled = DesignOptions {
        alpha: 0.01,
        ratio: 0.5,
        proportion_test: ProportionTest::Pooled,
        sequential: SequentialPlan::Fixed,
        ..Default::default()
    };
    let s = sample_size(&b, e, &pooled).unwrap();
    let exact = exact_wald_power(s.n_control, s.n_per_variant, 0.05, 0.065, 0.01, Alternative::TwoSided);
    eprintln!("pooled plan: n = {} + {}, exact Wald power {exact:.4}", s.n_control, s.n_per_variant);
    assert!(exact < 0.785, "{exact}");
    let wald = DesignOptions { proportion_test: ProportionTest::Wald, ..pooled };
    let w = sample_size(&b, e, &wald).unwrap();
    assert!(w.n_control > s.n_control);
    // the power function of the default is the Wald test's: at the pooled plan's n it says so
    let claimed = power(&b, e, s.n_control as f64, &wald).unwrap();
    assert!((claimed - exact).abs() < 0.01, "{claimed} vs exact {exact}");
}
