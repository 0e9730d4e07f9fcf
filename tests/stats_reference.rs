//! Every statistic of `liftlab::stats` against an independent reference: scipy, statsmodels,
//! numerical integration, published formulas. The cases live in `tests/fixtures/stats_cases.json`,
//! written by `tests/fixtures/make_stats_cases.py` (run by hand; each case names its reference call
//! and versions in `source` and its tolerance with a reason in `tol`). The same file is replayed
//! through the Python door by `tests/python/test_stats_reference.py`.
//!
//! An unknown case kind fails the test: nothing is skipped silently.

use std::collections::BTreeMap;
use std::path::PathBuf;

use liftlab::stats::bayes::{bayes_effect, Prior};
use liftlab::stats::effect::{compare_arms, EffectOptions, MetricKind};
use liftlab::stats::group_sequential::{group_sequential_design, group_sequential_power};
use liftlab::stats::moments::SuffStats;
use liftlab::stats::multiple::{adjust_p_values, Correction};
use liftlab::stats::power::{minimum_detectable_effect, power, sample_size, Baseline, DesignOptions, EffectSize};
use liftlab::stats::sequential::confidence_sequence;
use liftlab::stats::{check_srm, Alternative, Direction};
use serde_json::Value;

/// Every kind the fixture may hold; each must have at least one case.
const KINDS: &[&str] = &[
    "welch",
    "binary",
    "ratio",
    "cuped",
    "relative",
    "multiple_testing",
    "power",
    "srm",
    "bayes",
    "confidence_sequence",
    "group_sequential",
];

fn load() -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stats_cases.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One case's context: where failures are collected, with the case's source and tolerance.
struct Checker<'a> {
    label: String,
    source: &'a str,
    rel: f64,
    abs: f64,
    failures: &'a mut Vec<String>,
    checked: usize,
    /// The largest `|got − want| / (rel·|want| + abs)` seen: how much of the tolerance is used.
    worst: f64,
}

impl Checker<'_> {
    fn fail(&mut self, msg: String) {
        self.failures.push(format!("{}: {msg}\n    source: {}", self.label, self.source));
    }

    /// `want` null means the value must be absent (an open end of a one-sided interval).
    fn opt(&mut self, field: &str, got: Option<f64>, want: &Value) {
        self.checked += 1;
        match (got, want.as_f64()) {
            (None, None) if want.is_null() => {}
            (Some(g), Some(w)) => {
                let bound = self.rel * w.abs() + self.abs;
                self.worst = self.worst.max((g - w).abs() / bound);
                let ok = (g - w).abs() <= bound; // false for NaN too
                if !ok {
                    let rel = (g - w).abs() / w.abs().max(f64::MIN_POSITIVE);
                    self.fail(format!(
                        "{field}: got {g:.17e}, want {w:.17e} (diff {:.3e}, rel {rel:.3e}; tol rel {} abs {})",
                        (g - w).abs(),
                        self.rel,
                        self.abs
                    ));
                }
            }
            _ => self.fail(format!("{field}: got {got:?}, want {want}")),
        }
    }

    fn num(&mut self, field: &str, got: f64, want: &Value) {
        self.opt(field, Some(got), want)
    }

    fn exact<T: PartialEq + std::fmt::Debug>(&mut self, field: &str, got: T, want: T) {
        self.checked += 1;
        if got != want {
            self.fail(format!("{field}: got {got:?}, want {want:?}"));
        }
    }
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

/// Builds each arm's sufficient statistics from the unit-level arrays, one unit at a time.
fn arms_from(dataset: &Value) -> Vec<SuffStats> {
    dataset["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .map(|a| {
            let col = |k: &str| a.get(k).map(f64s);
            let x = col("x").expect("x");
            let (y, c, d) = (col("y"), col("c"), col("d"));
            let at = |v: &Option<Vec<f64>>, i: usize| v.as_ref().map_or(0.0, |v| v[i]);
            let mut s = SuffStats::default();
            for (i, &xi) in x.iter().enumerate() {
                s.push(xi, at(&y, i), at(&c, i), at(&d, i));
            }
            s
        })
        .collect()
}

fn alternative(v: &Value) -> Alternative {
    Alternative::parse(v.as_str().expect("alternative")).expect("alternative")
}

fn run_arms(case: &Value, datasets: &Value, ck: &mut Checker) {
    let arms = arms_from(&datasets[case["data"].as_str().expect("data")]);
    let kind = match case["metric"].as_str().expect("metric") {
        "mean" => MetricKind::Mean,
        "binary" => MetricKind::Binary,
        "ratio" => MetricKind::Ratio,
        other => panic!("unknown metric {other}"),
    };
    let options = EffectOptions {
        alpha: case["alpha"].as_f64().expect("alpha"),
        alternative: alternative(&case["alternative"]),
        cuped: case["cuped"].as_bool().expect("cuped"),
        ..Default::default()
    };
    let r = match compare_arms(&arms, kind, &options) {
        Ok(r) => r,
        Err(e) => return ck.fail(format!("compare_arms failed: {e}")),
    };
    let want = &case["expected"];
    if let Some(theta) = want.get("theta") {
        ck.opt("theta", r.theta, theta);
    }
    let effects = want["effects"].as_array().expect("effects");
    ck.exact("effects.len()", r.effects.len(), effects.len());
    for (i, (e, w)) in r.effects.iter().zip(effects).enumerate() {
        for (field, wv) in w.as_object().expect("effect") {
            let got = match field.as_str() {
                "abs_effect" => Some(e.abs_effect),
                "std_err" => Some(e.std_err),
                "statistic" => Some(e.statistic),
                "p_value" => Some(e.p_value),
                "df" => e.df,
                "ci_low" => e.ci_low,
                "ci_high" => e.ci_high,
                "rel_effect" => e.rel_effect,
                "rel_std_err" => e.rel_std_err,
                "rel_ci_low" => e.rel_ci_low,
                "rel_ci_high" => e.rel_ci_high,
                "variance_reduction" => e.variance_reduction,
                other => panic!("unknown effect field {other}"),
            };
            ck.opt(&format!("effects[{i}].{field}"), got, wv);
        }
    }
}

fn run_multiple(case: &Value, ck: &mut Checker) {
    let method = match case["method"].as_str().expect("method") {
        "holm" => Correction::Holm,
        "fdr_bh" => Correction::BenjaminiHochberg,
        other => panic!("unknown method {other}"),
    };
    let got = adjust_p_values(&f64s(&case["p_values"]), method).expect("adjust_p_values");
    let want = case["expected"]["p_adjusted"].as_array().expect("p_adjusted");
    ck.exact("len", got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        ck.num(&format!("p_adjusted[{i}]"), *g, w);
    }
}

fn run_power(case: &Value, ck: &mut Checker) {
    let baseline: Baseline = serde_json::from_value(case["baseline"].clone()).expect("baseline");
    let options: DesignOptions = serde_json::from_value(case["options"].clone()).expect("options");
    let effect = || -> EffectSize { serde_json::from_value(case["effect"].clone()).expect("effect") };
    let n_control = || case["n_control"].as_f64().expect("n_control");
    let want = &case["expected"];
    match case["what"].as_str().expect("what") {
        "sample_size" => match sample_size(&baseline, effect(), &options) {
            Ok(s) => {
                ck.num("n_control_exact", s.n_control_exact, &want["n_control_exact"]);
                for (field, got) in
                    [("n_control", s.n_control), ("n_per_variant", s.n_per_variant), ("n_total", s.n_total)]
                {
                    if let Some(w) = want.get(field) {
                        ck.exact(field, got, w.as_u64().expect("integer"));
                    }
                }
            }
            Err(e) => ck.fail(format!("sample_size failed: {e}")),
        },
        "power" => match power(&baseline, effect(), n_control(), &options) {
            Ok(p) => ck.num("power", p, &want["power"]),
            Err(e) => ck.fail(format!("power failed: {e}")),
        },
        "mde" => match minimum_detectable_effect(&baseline, n_control(), &options) {
            Ok(m) => {
                ck.num("abs_effect", m.abs_effect, &want["abs_effect"]);
                ck.num("rel_effect", m.rel_effect, &want["rel_effect"]);
            }
            Err(e) => ck.fail(format!("minimum_detectable_effect failed: {e}")),
        },
        other => panic!("unknown power 'what' {other}"),
    }
}

fn run_srm(case: &Value, ck: &mut Checker) {
    let observed: Vec<u64> =
        case["observed"].as_array().expect("observed").iter().map(|v| v.as_u64().unwrap()).collect();
    let r = match check_srm(&observed, &f64s(&case["weights"]), case["alpha"].as_f64().unwrap()) {
        Ok(r) => r,
        Err(e) => return ck.fail(format!("check_srm failed: {e}")),
    };
    let want = &case["expected"];
    ck.num("statistic", r.statistic, &want["statistic"]);
    ck.num("p_value", r.p_value, &want["p_value"]);
    ck.exact("df", r.df as u64, want["df"].as_u64().unwrap());
    ck.exact("mismatch", r.mismatch, want["mismatch"].as_bool().unwrap());
    for (i, (g, w)) in r.expected.iter().zip(want["expected"].as_array().unwrap()).enumerate() {
        ck.num(&format!("expected[{i}]"), *g, w);
    }
}

fn run_bayes(case: &Value, ck: &mut Checker) {
    let prior: Prior = serde_json::from_value(case["prior"].clone()).expect("prior");
    let direction: Direction = serde_json::from_value(case["direction"].clone()).expect("direction");
    let r = match bayes_effect(
        case["rel_effect"].as_f64().unwrap(),
        case["rel_std_err"].as_f64().unwrap(),
        &prior,
        direction,
        case["alpha"].as_f64().unwrap(),
    ) {
        Ok(r) => r,
        Err(e) => return ck.fail(format!("bayes_effect failed: {e}")),
    };
    let want = &case["expected"];
    for (field, got) in [
        ("post_mean", r.post_mean),
        ("post_std_dev", r.post_std_dev),
        ("chance_to_win", r.chance_to_win),
        ("risk_variant", r.risk_variant),
        ("risk_control", r.risk_control),
        ("ci_low", r.ci_low),
        ("ci_high", r.ci_high),
    ] {
        ck.num(field, got, &want[field]);
    }
}

fn run_cs(case: &Value, ck: &mut Checker) {
    let g = |k: &str| case[k].as_f64().unwrap_or_else(|| panic!("{k}"));
    let r = match confidence_sequence(g("estimate"), g("std_err"), g("n_total"), g("alpha"), g("tuning")) {
        Ok(r) => r,
        Err(e) => return ck.fail(format!("confidence_sequence failed: {e}")),
    };
    let want = &case["expected"];
    ck.num("ci_low", r.ci_low, &want["ci_low"]);
    ck.num("ci_high", r.ci_high, &want["ci_high"]);
    ck.num("multiplier", r.multiplier, &want["multiplier"]);
    ck.num("p_value", r.p_value, &want["p_value"]);
}

fn run_gs(case: &Value, ck: &mut Checker) {
    let d = match group_sequential_design(
        &f64s(&case["info_fractions"]),
        case["alpha"].as_f64().unwrap(),
        alternative(&case["alternative"]),
    ) {
        Ok(d) => d,
        Err(e) => return ck.fail(format!("group_sequential_design failed: {e}")),
    };
    let want = &case["expected"];
    for (field, got) in [("z_bounds", &d.z_bounds), ("nominal_p", &d.nominal_p)] {
        let w = want[field].as_array().unwrap();
        ck.exact(&format!("{field}.len()"), got.len(), w.len());
        for (k, (g, w)) in got.iter().zip(w).enumerate() {
            ck.num(&format!("{field}[{k}]"), *g, w);
        }
    }
    // the spending function is a closed form with its own (tighter) tolerance
    let (rel, abs) = (ck.rel, ck.abs);
    let t = &case["alpha_spent_tol"];
    (ck.rel, ck.abs) =
        (t["rel"].as_f64().expect("alpha_spent_tol.rel"), t["abs"].as_f64().expect("alpha_spent_tol.abs"));
    for (k, (g, w)) in d.alpha_spent.iter().zip(want["alpha_spent"].as_array().unwrap()).enumerate() {
        ck.num(&format!("alpha_spent[{k}]"), *g, w);
    }
    (ck.rel, ck.abs) = (rel, abs);
    for p in want["power_at_drift"].as_array().unwrap() {
        let drift = p["drift"].as_f64().unwrap();
        match group_sequential_power(&d, drift) {
            Ok(got) => ck.num(&format!("power_at_drift({drift})"), got, &p["power"]),
            Err(e) => ck.fail(format!("group_sequential_power failed: {e}")),
        }
    }
}

#[test]
fn every_statistic_matches_its_independent_reference() {
    let fx = load();
    let datasets = &fx["datasets"];
    let cases = fx["cases"].as_array().expect("cases");
    let mut failures = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut checked = 0;
    let mut worst: BTreeMap<String, f64> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        let kind = case["kind"].as_str().expect("kind");
        let tol = &case["tol"];
        let mut ck = Checker {
            label: format!("case {i} ({kind})"),
            source: case["source"].as_str().expect("source"),
            rel: tol["rel"].as_f64().expect("tol.rel"),
            abs: tol["abs"].as_f64().expect("tol.abs"),
            failures: &mut failures,
            checked: 0,
            worst: 0.0,
        };
        match kind {
            "welch" | "binary" | "ratio" | "cuped" | "relative" => run_arms(case, datasets, &mut ck),
            "multiple_testing" => run_multiple(case, &mut ck),
            "power" => run_power(case, &mut ck),
            "srm" => run_srm(case, &mut ck),
            "bayes" => run_bayes(case, &mut ck),
            "confidence_sequence" => run_cs(case, &mut ck),
            "group_sequential" => run_gs(case, &mut ck),
            other => panic!("case {i}: unknown kind '{other}': teach this test to replay it (no silent skips)"),
        }
        assert!(ck.checked > 0, "case {i} ({kind}) checked nothing");
        checked += ck.checked;
        let w = worst.entry(kind.to_string()).or_insert(0.0);
        *w = w.max(ck.worst);
        *counts.entry(kind.to_string()).or_default() += 1;
    }
    println!("{} cases, {checked} values checked", cases.len());
    for (kind, n) in &counts {
        println!("  {kind:<20} {n:>3} cases, worst |diff| / tolerance {:.2e}", worst[kind]);
    }
    for k in KINDS {
        assert!(counts.contains_key(*k), "no case of kind '{k}' in the fixture");
    }
    let declared: BTreeMap<String, usize> = serde_json::from_value(fx["counts"].clone()).expect("counts");
    assert_eq!(counts, declared, "the fixture's counts disagree with its cases");
    assert!(failures.is_empty(), "{} of {checked} values disagree:\n{}", failures.len(), failures.join("\n"));
}
