use super::*;
use text::{DAYS_PER_MONTH, DAYS_PER_YEAR};

fn node(name: &str, kind: NodeKind, baseline: f64) -> Node {
    Node { name: name.into(), kind, baseline, std_dev: None }
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
        reach: 1.0,
        dilution: 0.0,
        period_days: 1.0,
        draws: 100_000,
        seed: 7,
        confidence_level: 0.95,
        unit: None,
    }
}

/// With no uncertainty the lift is the product formula, computed by hand:
/// 0.6 × (1.05 × 1.02 − 1) = 0.6 × 0.071 = 0.0426; baseline 50,000 × 0.03 × 80 = 120,000.
#[test]
fn point_changes_follow_the_product_formula() {
    let mut input = shop(vec![change("conversion", 0.05, 0.05, 0.05), change("order_value", 0.02, 0.02, 0.02)]);
    input.reach = 0.6;
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
    input.reach = 0.8;
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
        let f = forecast(&ForecastInput {
            confidence_level: confidence,
            ..shop(vec![change("conversion", -0.02, 0.03, 0.12)])
        })
        .unwrap();
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
    i.reach = 0.0;
    assert_eq!(field(i).as_deref(), Some("reach"));
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
    // a traffic change is not visible to a per-unit test
    let mut more = input.clone();
    more.changes.push(change("list", 0.0, 0.05, 0.1));
    assert_eq!(test_plan(&more, &PlanInput::default()).unwrap().notes.len(), 1);
    let only_traffic = ForecastInput { changes: vec![change("list", 0.0, 0.05, 0.1)], ..input };
    assert_eq!(test_plan(&only_traffic, &PlanInput::default()).unwrap_err().field(), Some("model.changes"));
}

/// Issue 17's telesales funnel: 50,000 leads a month, reached 60%, interested 20%, deal 8%,
/// order value 3,000 CNY (standard deviation 1,200 among deals); a call script moves
/// "interested" +2% / +8% / +15% for half of the leads.
fn telesales() -> ForecastInput {
    ForecastInput {
        nodes: vec![
            node("leads", NodeKind::Count, 50_000.0),
            node("reached", NodeKind::Rate, 0.6),
            node("interested", NodeKind::Rate, 0.2),
            node("deal", NodeKind::Rate, 0.08),
            Node { std_dev: Some(1_200.0), ..node("order_value", NodeKind::Value, 3_000.0) },
        ],
        changes: vec![change("interested", 0.02, 0.08, 0.15)],
        reach: 0.5,
        period_days: 30.4375,
        unit: Some("CNY".into()),
        ..shop(vec![])
    }
}

/// The test reads the node the change acts on, as a proportion: the share of leads reaching
/// "interested", 0.6 × 0.2 = 12%, against 12.96% (+8%). Reference: statsmodels 0.15.0
/// `NormalIndPower().solve_power(effect_size=0.0096 / sqrt((0.12·0.88 + 0.1296·0.8704) / 2),
/// alpha=0.05, power=0.8, ratio=1)` = 18,600.491 per arm: the unpooled (Wald) variance under both
/// hypotheses. The core adds the first-order effect of the estimated standard error
/// (`stats::power::wald_power`), which moves the size by less than 0.1% here: tolerance 0.2%.
/// The topline, revenue per lead, is 0.0096 × 3,000 = 28.8 CNY with standard deviation derived
/// from the tree: Var = p(s² + μ²) − (pμ)² = 0.0096 × (1,200² + 3,000²) − 28.8² = 99,394.56,
/// sd 315.2690 (by hand); statsmodels `NormalIndPower` with effect size 28.8 × 0.08 / 315.2690
/// gives 293,923.474 per arm (the same normal formula the core uses for means: tolerance 1e-6
/// relative). 821.36 leads a day are reached (50,000 / 30.4375 × 0.5): 46 days for the test on
/// "interested", 716 on the topline.
#[test]
fn plan_of_the_telesales_funnel() {
    let input = telesales();
    let p = test_plan(&input, &PlanInput::default()).unwrap();
    assert_eq!(p.metric, "interested");
    assert_eq!(p.metric_label, "the share of leads reaching 'interested'");
    assert!(matches!(p.baseline, crate::stats::power::Baseline::Proportion { rate } if (rate - 0.12).abs() < 1e-15));
    assert_eq!(p.std_dev_source, Some(StdDevSource::Proportion));
    assert!((p.rel_effect - 0.08).abs() < 1e-12);
    let n = p.sample_size.n_control_exact;
    eprintln!("interested: {n} per arm, {} days", p.duration_days);
    assert!((n / 18_600.491_263_684_882 - 1.0).abs() < 0.002, "{n}");
    assert!((p.daily_units - 50_000.0 / 30.4375 * 0.5).abs() < 1e-9);
    assert_eq!(p.duration_days, (p.sample_size.n_total as f64 / p.daily_units).ceil() as u64);
    assert!(!p.reads_topline && p.topline_ratio == 1.0);
    assert!(p.mapping.contains("one for one") && p.mapping.contains("+4.00% on the whole topline"), "{}", p.mapping);

    let t = p.topline.as_ref().expect("the topline's plan beside it");
    assert_eq!((t.metric.as_str(), t.std_dev_source), ("order_value", StdDevSource::Tree));
    assert!((t.std_dev - 315.269_027_974_522_1).abs() < 1e-9, "{}", t.std_dev);
    assert!((t.sample_size.n_control_exact / 293_923.474_281_538_45 - 1.0).abs() < 1e-6, "{:?}", t.sample_size);
    assert_eq!(t.duration_days, (t.sample_size.n_total as f64 / p.daily_units).ceil() as u64);
    eprintln!("topline: {} per arm, {} days", t.sample_size.n_control, t.duration_days);

    // without the order value's spread the topline's plan cannot be derived: it is left out and
    // the input that would complete it is named; plan.std_dev gives it directly
    let mut no_sd = input.clone();
    no_sd.nodes[4].std_dev = None;
    let p = test_plan(&no_sd, &PlanInput::default()).unwrap();
    assert!(p.topline.is_none());
    assert_eq!(p.missing.iter().map(|m| m.field.as_str()).collect::<Vec<_>>(), ["model.nodes[4].std_dev"]);
    let given = test_plan(&no_sd, &PlanInput { std_dev: Some(315.269_027_974_522_1), ..Default::default() }).unwrap();
    let t2 = given.topline.unwrap();
    assert_eq!(t2.std_dev_source, StdDevSource::Given);
    assert!((t2.sample_size.n_control_exact - t.sample_size.n_control_exact).abs() < 1e-6);

    // the plan can read any node below the count; the topline itself needs its spread
    let on_deal = test_plan(&input, &PlanInput { metric: Some("deal".into()), ..Default::default() }).unwrap();
    assert!(
        matches!(on_deal.baseline, crate::stats::power::Baseline::Proportion { rate } if (rate - 0.0096).abs() < 1e-15)
    );
    let on_top = test_plan(&input, &PlanInput { metric: Some("order_value".into()), ..Default::default() }).unwrap();
    assert!(on_top.reads_topline && on_top.topline.is_none());
    assert_eq!(on_top.sample_size, t.sample_size);
    let bad = |metric: &str| {
        test_plan(&input, &PlanInput { metric: Some(metric.into()), ..Default::default() })
            .unwrap_err()
            .field()
            .map(str::to_string)
    };
    assert_eq!(bad("leads").as_deref(), Some("plan.metric"), "the count is not a per-unit value");
    assert_eq!(bad("reached").as_deref(), Some("plan.metric"), "no change reaches it");
    assert_eq!(bad("nope").as_deref(), Some("plan.metric"));
    assert_eq!(
        test_plan(&no_sd, &PlanInput { metric: Some("order_value".into()), ..Default::default() }).unwrap_err().field(),
        Some("plan.std_dev")
    );
}

/// A change below the test's metric is not read by the test: the mapping goes through it.
/// "reached" +10% and "deal" +5% likely; the test reads "reached" (+10%), the topline moves by
/// 1.10 × 1.05 − 1 = +15.5%, so the ratio is 1.05 and an observed +10% maps to +15.5%.
#[test]
fn the_mapping_goes_through_changes_the_test_does_not_read() {
    let mut input = telesales();
    input.changes = vec![change("reached", 0.05, 0.10, 0.15), change("deal", 0.0, 0.05, 0.10)];
    input.reach = 1.0;
    let p = test_plan(&input, &PlanInput { metric: Some("reached".into()), ..Default::default() }).unwrap();
    assert!((p.rel_effect - 0.10).abs() < 1e-12);
    assert!((p.topline_ratio - 1.05).abs() < 1e-12, "{}", p.topline_ratio);
    assert!(p.mapping.contains("+15.50%"), "{}", p.mapping);
    assert!(p.notes.iter().any(|n| n.contains("'deal'")), "{:?}", p.notes);
    // the default reads the deepest changed node, which sees both
    let d = test_plan(&input, &PlanInput::default()).unwrap();
    assert_eq!(d.metric, "deal");
    assert!((d.rel_effect - 0.155).abs() < 1e-12 && (d.topline_ratio - 1.0).abs() < 1e-12);
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
            reach: 0.4,
            confidence_level: 0.8,
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
    let req = ForecastRequest { model: funnels[0].clone(), plan: None, history: None, language: Language::En };
    assert_eq!(forecast_impact_with(&req, Some(&base)).unwrap(), forecast_impact(&req).unwrap());
}

/// The PRD paragraph names the metric the test reads and how its result maps to the topline,
/// writes money with its unit and thousands separators, shows the median beside the mean, and
/// the formula says why the likely lift and the headline differ.
#[test]
fn prd_paragraph_of_the_telesales_funnel() {
    let req = ForecastRequest {
        model: telesales(),
        plan: Some(PlanInput::default()),
        history: Some(HistoryInput {
            past: vec![
                history::PastEffect { effect: 0.021, std_err: 0.010 },
                history::PastEffect { effect: -0.004, std_err: 0.008 },
                history::PastEffect { effect: 0.035, std_err: 0.015 },
            ],
            win_rate: Some(0.2),
            from_ledger: None,
            label: Some("example values".into()),
        }),
        language: Language::En,
    };
    let r = forecast_impact(&req).unwrap();
    let prd = &r.prd_paragraph;
    eprintln!("{prd}");
    for needle in [
        "the share of leads reaching 'interested' (12.00% now)",
        "one for one",
        "18,599 leads per arm",
        "per month",
        "CNY",
        "median",
        "Chance of success, from 3 past tests and a team win rate of 20% (example values).",
        "Read on the topline per unit of leads",
    ] {
        assert!(prd.contains(needle), "{needle:?} missing from:\n{prd}");
    }
    assert!(!prd.contains("per 30 days"), "one period");
    let f = &r.forecast;
    assert_eq!(f.period, "month");
    assert_eq!(f.periods.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(), ["per day", "per month", "per year"]);
    assert_eq!(f.periods[1].lift, f.absolute);
    assert!(f.formula.contains("1,440,000 CNY per month"), "{}", f.formula);
    assert!(f.formula.contains("above the likely value because the ranges reach further above"), "{}", f.formula);
    assert!(f.headline_note.contains("mean") && f.headline_note.contains("median"));
    assert_eq!(f.median, f.quantiles[4][1]);
    assert_eq!(
        f.reached,
        Interval { estimate: f.relative.estimate * 2.0, low: f.relative.low * 2.0, high: f.relative.high * 2.0 }
    );
    assert_eq!(r.history_source.as_deref(), Some("3 past tests and a team win rate of 20% (example values)"));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

/// Implausible shares and changes are named, with both readings; the answer is still given.
#[test]
fn implausible_inputs_are_warned_about() {
    let mut model = telesales();
    model.reach = 0.005;
    model.changes[0] = change("interested", 0.02, 0.08, 2.0);
    let req = ForecastRequest {
        model,
        plan: Some(PlanInput {
            design: crate::stats::power::DesignOptions { alpha: 0.0005, ..Default::default() },
            ..Default::default()
        }),
        history: Some(HistoryInput { past: vec![], win_rate: Some(0.002), from_ledger: None, label: None }),
        language: Language::En,
    };
    let r = forecast_impact(&req).unwrap();
    let fields: Vec<&str> = r.warnings.iter().map(|w| w.field.as_str()).collect();
    assert_eq!(
        fields,
        ["model.reach", "model.changes[0].high", "plan.design.alpha", "history.win_rate"],
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings[0].message.contains("0.5%") && r.warnings[0].message.contains("0.5 = 50%"),
        "{:?}",
        r.warnings[0]
    );
    assert!(r.warnings[1].message.contains("+200%"), "{:?}", r.warnings[1]);
}

/// Requests that between them take every branch of every sentence the core writes: the formula
/// (symmetric and skewed ranges), the reach (part and all), each period, the plan on a rate, on
/// a value and on the topline, one-for-one and not, equal and unequal arms, a test longer than
/// the days available, each note, a missing standard deviation, the chance of success and every
/// warning.
fn every_sentence() -> Vec<ForecastRequest> {
    let history = |past: Vec<(f64, f64)>, win_rate: Option<f64>, label: Option<&str>| HistoryInput {
        past: past.into_iter().map(|(effect, std_err)| history::PastEffect { effect, std_err }).collect(),
        win_rate,
        from_ledger: None,
        label: label.map(Into::into),
    };
    let past = vec![(0.021, 0.010), (-0.004, 0.008), (0.035, 0.015)];
    let req = |model: ForecastInput, plan: Option<PlanInput>, history: Option<HistoryInput>| ForecastRequest {
        model,
        plan,
        history,
        language: Language::En,
    };
    let plan_on = |metric: Option<&str>| PlanInput { metric: metric.map(Into::into), ..Default::default() };
    // a rate funnel with two changes, one of them below the node read, symmetric ranges, per week
    let mut shop_rates = ForecastInput {
        nodes: vec![
            node("visits", NodeKind::Count, 7_000.0),
            node("add_to_cart", NodeKind::Rate, 0.4),
            node("checkout", NodeKind::Rate, 0.5),
        ],
        changes: vec![
            change("visits", 0.0, 0.05, 0.10),
            change("add_to_cart", 0.03, 0.06, 0.09),
            change("checkout", 0.0, 0.02, 0.04),
        ],
        period_days: 7.0,
        ..shop(vec![])
    };
    let mut unequal = plan_on(Some("add_to_cart"));
    unequal.design.variants = 2;
    unequal.max_days = 3.0;
    let mut tele_missing = telesales();
    tele_missing.nodes[4].std_dev = None;
    tele_missing.period_days = 30.0;
    let tele_topline_given = tele_missing.clone();
    let mut tele_given = tele_missing.clone();
    tele_given.period_days = DAYS_PER_YEAR;
    tele_given.reach = 1.0;
    let given = PlanInput { std_dev: Some(2_500.0), ..plan_on(Some("order_value")) };
    let tele_tree_topline = PlanInput { ..plan_on(Some("order_value")) };
    // changes that cancel on the topline: +100% on the node read, -50% below it
    let cancel = ForecastInput {
        changes: vec![change("add_to_cart", 0.9, 1.0, 1.1), change("checkout", -0.6, -0.5, -0.4)],
        period_days: 1.0,
        ..shop_rates.clone()
    };
    let mut implausible = telesales();
    implausible.reach = 0.005;
    implausible.confidence_level = 0.4;
    implausible.changes[0] = change("interested", 0.02, 0.08, 2.0);
    let odd_design = PlanInput {
        design: crate::stats::power::DesignOptions { alpha: 0.0005, power: 0.3, ..Default::default() },
        ..Default::default()
    };
    let mut odd_past = past.clone();
    odd_past.push((2.0, 0.5));
    let margin = ForecastInput {
        nodes: vec![
            node("visits", NodeKind::Count, 7_000.0),
            node("conversion", NodeKind::Rate, 0.04),
            Node { std_dev: Some(20.0), ..node("order_value", NodeKind::Value, 60.0) },
            node("margin", NodeKind::Rate, 0.3),
        ],
        changes: vec![change("order_value", 0.01, 0.03, 0.05)],
        ..shop(vec![])
    };
    let out = vec![
        req(margin, Some(PlanInput::default()), None),
        req(tele_topline_given, Some(PlanInput { std_dev: Some(2_500.0), ..Default::default() }), None),
        req(telesales(), Some(PlanInput::default()), Some(history(past.clone(), Some(0.2), Some("example values")))),
        req(shop_rates.clone(), Some(unequal), None),
        req(tele_missing, Some(PlanInput::default()), Some(history(vec![], Some(0.3), None))),
        req(tele_given, Some(given), Some(history(past.clone(), None, Some("团队 sales")))),
        req(telesales(), Some(tele_tree_topline), None),
        req(cancel, Some(plan_on(Some("add_to_cart"))), None),
        req(implausible, Some(odd_design), Some(history(odd_past, Some(0.002), None))),
    ];
    shop_rates.changes.truncate(1);
    let mut out = out;
    out.push(req(shop_rates, Some(plan_on(Some("checkout"))), None)); // a count change only: an error
    out
}

/// Every sentence of a report, with its place: the faces show these as they come.
fn sentences(r: &ForecastReport) -> Vec<(String, String)> {
    let mut out = vec![
        ("prd_paragraph".to_string(), r.prd_paragraph.clone()),
        ("forecast.formula".into(), r.forecast.formula.clone()),
        ("forecast.headline_note".into(), r.forecast.headline_note.clone()),
        ("forecast.period".into(), r.forecast.period.clone()),
        ("summary".into(), text::summary(Language::ZhCn, &r.forecast)),
    ];
    out.extend(r.forecast.periods.iter().map(|p| ("forecast.periods[].label".into(), p.label.clone())));
    out.extend(r.history_source.iter().map(|s| ("history_source".into(), s.clone())));
    out.extend(r.warnings.iter().map(|w| (format!("warnings {}", w.field), w.message.clone())));
    if let Some(p) = &r.plan {
        out.push(("plan.metric_label".into(), p.metric_label.clone()));
        out.push(("plan.mapping".into(), p.mapping.clone()));
        out.extend(p.notes.iter().map(|n| ("plan.notes[]".into(), n.clone())));
        out.extend(p.missing.iter().map(|m| (format!("plan.missing {}", m.field), m.message.clone())));
        out.extend(p.topline.iter().map(|t| ("plan.topline.label".into(), t.label.clone())));
    }
    out
}

/// The numbers of a text as written ("+3.47%", "18,601", "1,440,000"), sorted.
fn numbers(s: &str) -> Vec<String> {
    let re = regex::Regex::new(r"[+-]?\d[\d,]*(\.\d+)?%?").unwrap();
    let mut v: Vec<String> = re.find_iter(s).map(|m| m.as_str().trim_end_matches(',').to_string()).collect();
    v.sort();
    v.dedup();
    v
}

/// Each sentence the core writes has a Simplified Chinese version: every zh-CN text contains
/// Chinese characters and, once the names the user typed (nodes, unit, history label) are taken
/// out, no Latin letters at all, except "Kohavi" (the citation) and "delta" (the delta method's
/// name in Chinese too). The same numbers appear, written the same way, in both languages. The
/// requests take every branch of every sentence (checked: each branch's English text is seen).
#[test]
fn every_sentence_is_written_in_both_languages() {
    let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let mut en_all = String::new();
    let mut answered = 0;
    for mut req in every_sentence() {
        let Ok(en) = forecast_impact(&req) else {
            req.language = Language::ZhCn;
            assert!(forecast_impact(&req).is_err(), "an error in both languages");
            continue;
        };
        answered += 1;
        req.language = Language::ZhCn;
        let zh = forecast_impact(&req).unwrap();
        assert_eq!(zh.forecast.relative, en.forecast.relative, "the language changes words, not numbers");
        let mut typed: Vec<String> = req.model.nodes.iter().map(|n| n.name.clone()).collect();
        typed.extend(req.model.unit.clone());
        typed.extend(req.history.as_ref().and_then(|h| h.label.clone()));
        typed.sort_by_key(|t| std::cmp::Reverse(t.len()));
        let (en_s, zh_s) = (sentences(&en), sentences(&zh));
        assert_eq!(en_s.len(), zh_s.len());
        for ((place, e), (_, z)) in en_s.iter().zip(&zh_s) {
            en_all.push_str(e);
            en_all.push('\n');
            assert!(cjk(z), "{place} has no Chinese: {z}");
            let mut rest = z.clone();
            for t in &typed {
                rest = rest.replace(t.as_str(), " ");
            }
            for allowed in ["Kohavi", "delta"] {
                rest = rest.replace(allowed, " ");
            }
            let latin: String = rest.chars().filter(|c| c.is_ascii_alphabetic()).collect();
            assert!(latin.is_empty(), "{place} has English left ({latin:?}) in: {z}");
            if place != "summary" {
                assert_eq!(numbers(e), numbers(z), "{place}: the same numbers in both\n{e}\n{z}");
            }
        }
    }
    assert_eq!(answered, 9);
    // every branch was taken: its English words were written
    for branch in [
        "only by simulation noise",
        "further above likely than below",
        "for all visits",
        "of leads the change reaches",
        "per week",
        "per 30 days",
        "per year",
        "the share of leads reaching",
        "the topline per unit of leads",
        "'order_value' per unit of visits",
        "moves one for one",
        "that the test does not read (topline lift",
        "so an observed",
        "per arm (",
        "in control and",
        "longer than the 3 days available",
        "derived from the tree)",
        "per unit, as given",
        "derived from the tree), a test would need",
        " as given), a test would need",
        "cannot be planned yet",
        "or plan.std_dev",
        "(more units) is not visible",
        "this test does not read it",
        "there is no topline plan",
        "Chance of success, from",
        ", and above what the test can detect",
        "a false positive",
        "if half of them were meant",
        "unusually narrow",
        "is a change this large meant",
        "a significance level of",
        "is a power of",
        "of the team's tests won",
        "is implausible for a test",
        "The forecast depends most on",
        "Among the leads it reaches",
    ] {
        assert!(en_all.contains(branch), "no request takes the branch {branch:?}");
    }
}

/// The ledger's history label, and the period names, in both languages.
#[test]
fn ledger_labels_and_periods_in_both_languages() {
    let l = |lang, team, author, n| text::ledger_label(lang, team, author, n);
    assert_eq!(
        l(Language::En, Some("sales"), Some("王芳"), 4),
        "the ledger's 4 reconciled forecasts of team 'sales' by '王芳'"
    );
    assert_eq!(l(Language::En, None, None, 1), "the ledger's 1 reconciled forecast");
    assert_eq!(
        l(Language::ZhCn, Some("sales"), Some("王芳"), 4),
        "预测台账中团队“sales”由“王芳”所做的 4 条已对账的预测"
    );
    assert_eq!(l(Language::ZhCn, None, None, 1), "预测台账中 1 条已对账的预测");
    let per: Vec<String> =
        [1.0, 7.0, DAYS_PER_MONTH, DAYS_PER_YEAR, 30.0].iter().map(|&d| text::per_period(Language::ZhCn, d)).collect();
    assert_eq!(per, ["每天", "每周", "每月", "每年", "每 30 天"]);
    assert_eq!(text::period_name_in(Language::ZhCn, 30.5), "30.5 天");
    assert_eq!(serde_json::to_string(&Language::ZhCn).unwrap(), "\"zh-CN\"");
    let bad = serde_json::from_str::<ForecastRequest>(r#"{"model": {"nodes": [], "changes": []}, "language": "zh"}"#);
    assert!(bad.unwrap_err().to_string().contains("'zh' is not a language of the forecast's text (en, zh-CN)"));
    for code in ["en", "zh-CN"] {
        let l: Language = serde_json::from_value(serde_json::json!(code)).unwrap();
        assert_eq!(l.code(), code);
    }
    assert!(serde_json::from_value::<Language>(serde_json::json!(7)).is_err());
}
