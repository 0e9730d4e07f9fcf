use super::*;

fn node(name: &str, kind: NodeKind, baseline: f64) -> Node {
    Node { name: name.into(), kind, baseline }
}

fn change(node: &str, low: f64, likely: f64, high: f64) -> Change {
    Change { node: node.into(), low, likely, high }
}

/// traffic × conversion × order value, per day.
fn shop(changes: Vec<Change>) -> ForecastInput {
    ForecastInput {
        nodes: vec![
            node("traffic", NodeKind::Count, 50_000.0),
            node("conversion", NodeKind::Rate, 0.03),
            node("order_value", NodeKind::Value, 80.0),
        ],
        changes,
        coverage: 1.0,
        dilution: 0.0,
        period_days: 1.0,
        draws: 100_000,
        seed: 7,
        confidence: 0.95,
    }
}

/// With no uncertainty the lift is the product formula, computed by hand:
/// 0.6 × (1.05 × 1.02 − 1) = 0.6 × 0.071 = 0.0426; baseline 50,000 × 0.03 × 80 = 120,000.
#[test]
fn point_changes_follow_the_product_formula() {
    let mut input = shop(vec![change("conversion", 0.05, 0.05, 0.05), change("order_value", 0.02, 0.02, 0.02)]);
    input.coverage = 0.6;
    let f = forecast(&input).unwrap();
    assert!((f.baseline - 120_000.0).abs() < 1e-9);
    for x in [f.relative.estimate, f.relative.low, f.relative.high, f.relative_delta.estimate, f.relative_likely] {
        assert!((x - 0.0426).abs() < 1e-12, "{x}");
    }
    assert!((f.absolute.estimate - 5_112.0).abs() < 1e-6);
    assert!((f.per_year.estimate - 5_112.0 * 365.25).abs() < 1e-3);
    assert!(f.formula.contains("+4.26%") && f.formula.contains("120,000"), "{}", f.formula);
}

/// One node, symmetric range: the change is normal with σ = (high − low) / (2 z₀.₉₅), so the
/// 95% interval of the lift is likely ± 1.96σ (closed form). With 1,000,000 draws the 2.5%
/// quantile's standard error is 0.0027σ, so the 0.01σ tolerance is 3.7 standard errors.
#[test]
fn one_symmetric_node_gives_the_normal_quantiles() {
    let f =
        forecast(&ForecastInput { draws: 1_000_000, ..shop(vec![change("conversion", 0.02, 0.05, 0.08)]) }).unwrap();
    let sigma = 0.03 / 1.6448536269514722;
    let (lo, hi) = (0.05 - 1.959963984540054 * sigma, 0.05 + 1.959963984540054 * sigma);
    assert!((f.relative.low - lo).abs() < 0.01 * sigma, "{} vs {lo}", f.relative.low);
    assert!((f.relative.high - hi).abs() < 0.01 * sigma, "{} vs {hi}", f.relative.high);
    assert!((f.relative.estimate - 0.05).abs() < 0.01 * sigma);
}

/// The two-piece normal's mean and variance (closed forms, e.g. Wallis 2014, "The two-piece
/// normal, binormal, or double Gaussian distribution") against a fine numerical integration of
/// its density.
#[test]
fn split_normal_moments_match_numerical_integration() {
    let d = SplitNormal::new(&change("x", -0.01, 0.02, 0.10));
    let a = (2.0 / std::f64::consts::PI).sqrt() / (d.lo + d.hi);
    let dens = |x: f64| {
        let s = if x < d.m { d.lo } else { d.hi };
        a * (-(x - d.m).powi(2) / (2.0 * s * s)).exp()
    };
    let (lo, hi, n) = (d.m - 12.0 * d.lo, d.m + 12.0 * d.hi, 400_000);
    let h = (hi - lo) / n as f64;
    let (mut m0, mut m1, mut m2) = (0.0, 0.0, 0.0);
    for i in 0..=n {
        let x = lo + i as f64 * h;
        let w = if i == 0 || i == n { 0.5 } else { 1.0 } * h * dens(x);
        m0 += w;
        m1 += w * x;
        m2 += w * x * x;
    }
    assert!((m0 - 1.0).abs() < 1e-6, "density integrates to {m0}");
    assert!((m1 - d.mean()).abs() < 1e-7, "{m1} vs {}", d.mean());
    assert!(((m2 - m1 * m1) - d.var()).abs() < 1e-7);
}

/// Monte Carlo and the delta method on the log scale agree within 1% (of the interval's width)
/// where both apply: several nodes with narrow, symmetric ranges.
#[test]
fn monte_carlo_and_delta_method_agree() {
    let mut input = shop(vec![
        change("traffic", 0.00, 0.02, 0.04),
        change("conversion", 0.01, 0.04, 0.07),
        change("order_value", -0.02, 0.01, 0.04),
    ]);
    input.coverage = 0.8;
    let f = forecast(&input).unwrap();
    let width = f.relative_delta.high - f.relative_delta.low;
    for (mc, dm) in [
        (f.relative.low, f.relative_delta.low),
        (f.relative.high, f.relative_delta.high),
        (f.relative.estimate, f.relative_delta.estimate),
    ] {
        eprintln!("monte carlo {mc:.6} delta {dm:.6} width {width:.6}");
        assert!((mc - dm).abs() < 0.01 * width, "{mc} vs {dm} (width {width})");
    }
}

/// The interval at a decimal confidence is the fan chart's quantiles to the last bit.
#[test]
fn the_interval_is_the_fan_charts_quantiles() {
    for confidence in [0.5, 0.8, 0.9, 0.95] {
        let f = forecast(&ForecastInput { confidence, ..shop(vec![change("conversion", -0.02, 0.03, 0.12)]) }).unwrap();
        let at = |p: f64| f.quantiles.iter().find(|q| (q[0] - p).abs() < 1e-12).map(|q| q[1]);
        let tail = (1.0 - confidence) / 2.0;
        assert_eq!(Some(f.relative.low), at(tail), "{confidence}");
        assert_eq!(Some(f.relative.high), at(1.0 - tail), "{confidence}");
    }
}

#[test]
fn the_same_seed_gives_the_same_numbers() {
    let input = shop(vec![change("conversion", -0.02, 0.03, 0.12)]);
    let a = forecast(&input).unwrap();
    assert_eq!(a, forecast(&input).unwrap());
    let b = forecast(&ForecastInput { seed: 8, ..input }).unwrap();
    assert_ne!(a.relative.low, b.relative.low);
}

#[test]
fn dilution_and_sensitivity() {
    // +10% traffic whose extra visitors convert at half the rate: +5% topline
    let mut input = shop(vec![change("traffic", 0.10, 0.10, 0.10)]);
    input.dilution = 0.5;
    let f = forecast(&input).unwrap();
    assert!((f.relative_likely - 0.05).abs() < 1e-12);
    // dilution does not touch the last rate's own change (nothing converts below it but a value)
    let mut input = shop(vec![change("conversion", 0.10, 0.10, 0.10)]);
    input.dilution = 0.5;
    assert!((forecast(&input).unwrap().relative_likely - 0.10).abs() < 1e-12);
    // the widest range is the node the forecast depends on most
    let f = forecast(&shop(vec![change("traffic", 0.0, 0.01, 0.02), change("conversion", -0.05, 0.03, 0.15)])).unwrap();
    assert_eq!(f.most_sensitive.as_deref(), Some("conversion"));
    assert!(f.sensitivity[0].swing > f.sensitivity[1].swing);
}

#[test]
fn bad_input_names_the_field() {
    let field = |input: ForecastInput| forecast(&input).unwrap_err().field().map(str::to_string);
    let ok = shop(vec![change("conversion", 0.0, 0.05, 0.1)]);
    let mut i = ok.clone();
    i.nodes[1].baseline = 1.2;
    assert_eq!(field(i).as_deref(), Some("nodes[1].baseline"));
    let mut i = ok.clone();
    i.nodes[0].baseline = 0.0;
    assert_eq!(field(i).as_deref(), Some("nodes[0].baseline"), "zero traffic");
    let mut i = ok.clone();
    i.nodes.clear();
    assert_eq!(field(i).as_deref(), Some("nodes"));
    let i = shop(vec![change("conversion", 0.1, 0.05, 0.2)]);
    assert_eq!(field(i).as_deref(), Some("changes[0]"), "low above likely");
    let i = shop(vec![change("checkout", 0.0, 0.05, 0.1)]);
    assert_eq!(field(i).as_deref(), Some("changes[0].node"), "unknown node");
    let i = shop(vec![change("conversion", 0.0, 0.05, 40.0)]);
    assert_eq!(field(i).as_deref(), Some("changes[0].high"), "a rate above 1");
    let i = shop(vec![change("traffic", -1.5, 0.05, 0.1)]);
    assert_eq!(field(i).as_deref(), Some("changes[0].low"));
    let i = shop(vec![change("traffic", f64::NAN, 0.05, 0.1)]);
    assert_eq!(field(i).as_deref(), Some("changes[0].low"));
    let mut i = ok.clone();
    i.coverage = 0.0;
    assert_eq!(field(i).as_deref(), Some("coverage"));
    let mut i = ok.clone();
    i.draws = 10;
    assert_eq!(field(i).as_deref(), Some("draws"));
    let mut i = ok;
    i.changes.push(change("conversion", 0.0, 0.01, 0.02));
    assert_eq!(field(i).as_deref(), Some("changes[1].node"), "a node changed twice");
}

/// The plan of an e-mail funnel: 20,000 units a day, delivered 0.9 × clicked 0.1 = 9% per unit,
/// a +10% click rate. The per-unit test is 0.09 vs 0.099. Reference: R's `power.prop.test`
/// formula with `strict = TRUE` (both tails), solved with scipy 1.17 `brentq` (xtol 1e-10):
/// n = 16,582.15522670902 per group (the one-tailed closed form, R's default, gives 16,582.196).
/// So 33,166 units: 2 days at 20,000 a day. (The plan asks for that pooled test; the default
/// plans the analysis' Wald test, checked in tests/stats_power.rs.)
#[test]
fn plan_of_a_funnel() {
    let input = ForecastInput {
        nodes: vec![
            node("list", NodeKind::Count, 20_000.0),
            node("delivered", NodeKind::Rate, 0.9),
            node("clicked", NodeKind::Rate, 0.1),
        ],
        changes: vec![change("clicked", 0.0, 0.10, 0.2)],
        ..shop(vec![])
    };
    let pooled = crate::stats::power::DesignOptions {
        proportion_test: crate::stats::power::ProportionTest::Pooled,
        ..Default::default()
    };
    let p = test_plan(&input, &PlanInput { design: pooled, ..Default::default() }).unwrap();
    assert!(matches!(p.baseline, crate::stats::power::Baseline::Proportion { rate } if (rate - 0.09).abs() < 1e-12));
    assert!((p.rel_effect - 0.10).abs() < 1e-12);
    assert!((p.sample_size.n_control_exact - 16_582.155_226_709_02).abs() < 1e-4, "{}", p.sample_size.n_control_exact);
    assert_eq!(p.sample_size.n_total, 33_166);
    assert_eq!(p.duration_days, 2);
    assert!((p.daily_units - 20_000.0).abs() < 1e-9);
    // 28 days x 20,000 units / 2 arms = 280,000 per arm: far more than needed
    assert!(p.power_at_max_days > 0.999 && p.mde_at_max_days.rel_effect < 0.10);
    // a traffic change is not visible to a per-unit test; a mean needs its standard deviation
    let mut more = input.clone();
    more.changes.push(change("list", 0.0, 0.05, 0.1));
    assert_eq!(test_plan(&more, &PlanInput::default()).unwrap().notes.len(), 1);
    assert_eq!(
        test_plan(&shop(vec![change("conversion", 0.0, 0.05, 0.1)]), &PlanInput::default()).unwrap_err().field(),
        Some("plan.std_dev")
    );
    let only_traffic = ForecastInput { changes: vec![change("list", 0.0, 0.05, 0.1)], ..input };
    assert_eq!(test_plan(&only_traffic, &PlanInput::default()).unwrap_err().field(), Some("model.changes"));
}

/// The quantiles of `v` at `probs` by the sorted-array definition (numpy "linear").
fn sorted_quantile(v: &[f64], q: f64) -> f64 {
    let mut sorted = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let pos = q * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The quantiles `summarize` finds with its histogram, bit for bit those of sorting (and the
/// mean and standard deviation those of the textbook sums, to rounding).
fn assert_quantiles_equal_sorting(v: &[f64], what: &str) {
    let probs = [0.0, 1e-4, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975, 0.9999, 1.0];
    let (mean, sd, q) = summarize(montecarlo::LiftDraws::of(v), &probs);
    for p in probs {
        let (got, want) = (q.at(p), sorted_quantile(v, p));
        assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "{what}: p={p}: {got} vs {want}");
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    if m.is_finite() && s.is_finite() {
        assert!((mean - m).abs() <= 1e-12 * m.abs().max(s), "{what}: mean {mean} vs {m}");
        assert!((sd - s).abs() <= 1e-12 * s || v.len() == 1, "{what}: sd {sd} vs {s}");
    } else if v.iter().any(|x| !x.is_finite()) {
        assert!(!mean.is_finite(), "{what}: mean {mean}");
    }
}

/// Quantiles equal the sorted-array definition (numpy "linear") exactly.
#[test]
fn quantiles_equal_sorting() {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    for n in [1usize, 2, 3, 10, 101, 1000, 4099, 100_003] {
        let v: Vec<f64> =
            (0..n).map(|_| rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng)).collect();
        assert_quantiles_equal_sorting(&v, &format!("normal, n={n}"));
        let skewed: Vec<f64> = v.iter().map(|x| x.exp()).collect();
        assert_quantiles_equal_sorting(&skewed, &format!("log-normal, n={n}"));
    }
}

/// ... also with ties, signed zeros, values far outside the range of the first 256 (which sets
/// the histogram's range), a first block all equal, a constant sample, and infinities and NaN
/// (ordered as `f64::total_cmp` orders them: NaN above +inf).
#[test]
fn quantiles_with_ties_and_extremes_equal_sorting() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(10);
    let mut normal = || -> f64 { rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng) };
    let n = 20_001;
    let base: Vec<f64> = (0..n).map(|_| normal()).collect();
    let ties: Vec<f64> = base.iter().map(|x| (x * 4.0).round() / 4.0).collect();
    assert_quantiles_equal_sorting(&ties, "a normal rounded to quarters");
    let zeros: Vec<f64> = base
        .iter()
        .map(|&x| {
            if x.abs() < 0.5 {
                if x < 0.0 {
                    -0.0
                } else {
                    0.0
                }
            } else {
                x
            }
        })
        .collect();
    assert_quantiles_equal_sorting(&zeros, "signed zeros");
    let mut outliers = base.clone();
    for (i, x) in [f64::MAX, -f64::MAX, 1e300, -1e300, 5e-324, -5e-324, 1e6, -1e6].into_iter().enumerate() {
        outliers[300 + 1000 * i] = x;
    }
    assert_quantiles_equal_sorting(&outliers, "outliers beyond the first block's range");
    let mut outliers_first = outliers.clone();
    outliers_first.swap(0, 300);
    assert_quantiles_equal_sorting(&outliers_first, "an outlier in the first block");
    let mut flat_start = base.clone();
    flat_start[..256].fill(0.25);
    assert_quantiles_equal_sorting(&flat_start, "the first block all equal");
    assert_quantiles_equal_sorting(&vec![0.125; n], "a constant sample");
    let clamped: Vec<f64> = base.iter().map(|x| x.clamp(-0.5, 1.0)).collect();
    assert_quantiles_equal_sorting(&clamped, "masses at both ends");
    let mut two_points: Vec<f64> = (0..n).map(|_| if rng.random::<f64>() < 0.975 { 1.0 } else { -1.0 }).collect();
    assert_quantiles_equal_sorting(&two_points, "two points");
    two_points[7] = f64::INFINITY;
    assert_quantiles_equal_sorting(&two_points, "with +inf");
    two_points[9] = f64::NAN;
    two_points[11] = f64::NEG_INFINITY;
    assert_quantiles_equal_sorting(&two_points, "with NaN and -inf");
}

/// Kept base draws give the same forecast as fresh ones, bit for bit, whatever the funnel;
/// draws of another seed, size or too few nodes are not used.
#[test]
fn kept_base_draws_give_the_same_forecast() {
    let funnels = [
        shop(vec![change("conversion", -0.02, 0.03, 0.12)]),
        shop(vec![change("conversion", 0.0, 0.05, 40.0 / 3.0 - 1.0)]), // clamped at a rate of 1
        ForecastInput {
            dilution: 0.3,
            coverage: 0.4,
            confidence: 0.8,
            ..shop(vec![
                change("traffic", -0.05, 0.02, 0.04),
                change("order_value", 0.0, 0.0, 0.0),
                change("conversion", -0.5, 0.1, 0.9),
            ])
        },
    ];
    let base = BaseDraws::new(7, 100_000, 3);
    assert_eq!(base.bytes(), 100_000 * 3 * 16);
    for input in &funnels {
        let fresh = forecast(input).unwrap();
        assert_eq!(forecast_with(input, &base).unwrap(), fresh);
        for other in [BaseDraws::new(8, 100_000, 3), BaseDraws::new(7, 50_000, 3)] {
            assert_eq!(forecast_with(input, &other).unwrap(), fresh, "draws that do not serve are not used");
        }
    }
    let three = &funnels[2];
    assert_eq!(forecast_with(three, &BaseDraws::new(7, 100_000, 2)).unwrap(), forecast(three).unwrap());
    let req = ForecastRequest { model: funnels[0].clone(), plan: None, history: None };
    assert_eq!(forecast_impact_with(&req, Some(&base)).unwrap(), forecast_impact(&req).unwrap());
}
