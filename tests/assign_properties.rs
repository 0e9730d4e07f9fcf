//! Property and distribution tests of assignment.
//!
//! * Ramp-up: raising coverage never moves an enrolled unit (proptest over seeds, weights,
//!   coverages and ids).
//! * Split: over 100,000 ids the variant counts match the weights (chi-square goodness of fit,
//!   p-value from statrs' chi-square CDF; fixed ids, so the test is deterministic).
//! * Independence: two experiments in different layers are assigned independently (chi-square
//!   test of independence on the 2x3 contingency table).
//!
//! Threshold: a deterministic hash either passes or fails forever, so the tests use p > 0.001:
//! a correct hash fails with probability 0.1% per seed, and the seeds below are fixed.

#![allow(clippy::needless_range_loop)] // parallel columns are indexed by row

use liftlab::assign::{self, Reason};
use liftlab::spec::Spec;
use proptest::prelude::*;
use statrs::distribution::{ChiSquared, ContinuousCDF};

fn chi_square_p(stat: f64, df: f64) -> f64 {
    1.0 - ChiSquared::new(df).unwrap().cdf(stat)
}

fn spec_with(weights: &[f64], coverage: f64, seed: &str, version: u8) -> Spec {
    let variants: Vec<String> = (0..weights.len()).map(|i| format!("\"v{i}\"")).collect();
    let w: Vec<String> = weights.iter().map(|w| format!("{w:?}")).collect();
    Spec::from_toml(&format!(
        "[[experiments]]\nkey = \"x\"\nseed = \"{seed}\"\nhash_version = {version}\nvariants = [{}]\nweights = [{}]\ncoverage = {coverage:?}\n",
        variants.join(", "),
        w.join(", ")
    ))
    .unwrap()
}

fn weights_strategy() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(1u32..100, 2..5).prop_map(|raw| {
        let total: u32 = raw.iter().sum();
        let mut w: Vec<f64> = raw.iter().map(|&r| r as f64 / total as f64).collect();
        // make the sum exactly representable-close to 1
        let s: f64 = w[..w.len() - 1].iter().sum();
        let last = w.len() - 1;
        w[last] = 1.0 - s;
        w
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn ramping_coverage_up_moves_nobody(
        weights in weights_strategy(),
        c1 in 0.0f64..1.0,
        extra in 0.0f64..1.0,
        seed in "[a-z0-9-]{0,12}",
        version in 1u8..=2,
        ids in prop::collection::vec("[a-zA-Z0-9+@.]{1,16}", 50..200),
    ) {
        let c2 = c1 + (1.0 - c1) * extra;
        let before = spec_with(&weights, c1, &seed, version);
        let after = spec_with(&weights, c2, &seed, version);
        let a = assign::assign_batch(&before, "x", &ids, None).unwrap();
        let b = assign::assign_batch(&after, "x", &ids, None).unwrap();
        for i in 0..ids.len() {
            if a.variant_index[i] >= 0 {
                prop_assert_eq!(a.variant_index[i], b.variant_index[i], "unit {} moved when coverage went {} -> {}", &ids[i], c1, c2);
            }
        }
    }

    #[test]
    fn assignment_is_deterministic_and_in_range(weights in weights_strategy(), id in "\\PC{1,20}") {
        let spec = spec_with(&weights, 1.0, "s", 2);
        let a = assign::assign_experiment(&spec, "x", &id, None).unwrap();
        let b = assign::assign_experiment(&spec, "x", &id, None).unwrap();
        prop_assert_eq!(&a, &b);
        let bucket = a.bucket.unwrap();
        prop_assert!((0.0..1.0).contains(&bucket));
    }
}

#[test]
fn split_matches_weights_over_100k_ids() {
    let weights = [0.2, 0.3, 0.5];
    let ids: Vec<String> = (0..100_000).map(|i| format!("user-{i}")).collect();
    for version in [1u8, 2] {
        let spec = spec_with(&weights, 1.0, "split-test", version);
        let b = assign::assign_batch(&spec, "x", &ids, None).unwrap();
        let mut counts = [0f64; 3];
        for &v in &b.variant_index {
            assert!(v >= 0, "full coverage enrols everyone");
            counts[v as usize] += 1.0;
        }
        let n = ids.len() as f64;
        let stat: f64 = counts.iter().zip(weights).map(|(o, w)| (o - n * w).powi(2) / (n * w)).sum();
        let p = chi_square_p(stat, 2.0);
        assert!(p > 0.001, "v{version}: counts {counts:?}, chi2 {stat:.2}, p {p:.5}");
    }
}

#[test]
fn coverage_enrols_its_share() {
    let ids: Vec<String> = (0..100_000).map(|i| format!("lead-{i}")).collect();
    let spec = spec_with(&[0.5, 0.5], 0.3, "cov", 2);
    let b = assign::assign_batch(&spec, "x", &ids, None).unwrap();
    let enrolled = b.reason.iter().filter(|r| **r == Reason::Assigned).count() as f64;
    let (n, p) = (ids.len() as f64, 0.3);
    let z = (enrolled - n * p) / (n * p * (1.0 - p)).sqrt();
    assert!(z.abs() < 3.29, "enrolled {enrolled} of {n}, z = {z:.2}");
}

#[test]
fn two_layers_are_independent() {
    let spec = Spec::from_toml(
        r#"
[[experiments]]
key = "pricing"
variants = ["a", "b"]
layer = "pricing"

[[experiments]]
key = "onboarding"
variants = ["a", "b", "c"]
layer = "onboarding"
"#,
    )
    .unwrap();
    let ids: Vec<String> = (0..100_000).map(|i| format!("+1555{i:07}")).collect();
    let a = assign::assign_batch(&spec, "pricing", &ids, None).unwrap();
    let b = assign::assign_batch(&spec, "onboarding", &ids, None).unwrap();
    let mut table = [[0f64; 3]; 2];
    for i in 0..ids.len() {
        table[a.variant_index[i] as usize][b.variant_index[i] as usize] += 1.0;
    }
    let n = ids.len() as f64;
    let rows: Vec<f64> = table.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<f64> = (0..3).map(|j| table.iter().map(|r| r[j]).sum()).collect();
    let mut stat = 0.0;
    for i in 0..2 {
        for j in 0..3 {
            let e = rows[i] * cols[j] / n;
            stat += (table[i][j] - e).powi(2) / e;
        }
    }
    let p = chi_square_p(stat, 2.0);
    assert!(p > 0.001, "table {table:?}, chi2 {stat:.2}, p {p:.5}");
}

#[test]
fn layer_slices_are_exclusive_and_holdout_takes_its_share() {
    let spec = Spec::from_toml(
        r#"
[[holdouts]]
key = "h2"
share = 0.05

[[experiments]]
key = "a"
variants = ["c", "t"]
layer = "L"
namespace_range = [0.0, 0.4]

[[experiments]]
key = "b"
variants = ["c", "t"]
layer = "L"
namespace_range = [0.4, 1.0]
"#,
    )
    .unwrap();
    let ids: Vec<String> = (0..50_000).map(|i| format!("u{i}")).collect();
    let a = assign::assign_batch(&spec, "a", &ids, None).unwrap();
    let b = assign::assign_batch(&spec, "b", &ids, None).unwrap();
    let mut held = 0.0;
    for i in 0..ids.len() {
        assert!(!(a.reason[i].enrolled() && b.reason[i].enrolled()), "{} in both", ids[i]);
        assert_eq!(
            a.reason[i] == Reason::InHoldout,
            b.reason[i] == Reason::InHoldout,
            "holdout is per unit, not per experiment"
        );
        if a.reason[i] == Reason::InHoldout {
            held += 1.0;
        }
    }
    let n = ids.len() as f64;
    let z = (held - 0.05 * n) / (n * 0.05 * 0.95).sqrt();
    assert!(z.abs() < 3.29, "held out {held} of {n}");
    // layer share: v1 namespace hash has 1,000 buckets, so [0, 0.4) holds 40% of them
    let in_a = a.reason.iter().filter(|r| r.enrolled()).count() as f64;
    let expected = n * 0.95 * 0.4;
    let z = (in_a - expected) / (expected * (1.0 - 0.38)).sqrt();
    assert!(z.abs() < 3.29, "{in_a} in a, expected about {expected}");
}

/// SRM calibration by simulation: 10,000 A/A experiments (different seeds, 1,000 units each,
/// 50/50) assigned by the real hash and checked at alpha = 0.001. The number of false alarms is
/// Binomial(10,000, 0.001): mean 10, sd 3.2; [2, 22] holds it with probability > 0.999.
#[test]
fn srm_false_alarms_are_about_one_in_a_thousand() {
    let ids: Vec<String> = (0..1000).map(|i| format!("cust-{i}")).collect();
    let mut alarms = 0;
    for s in 0..10_000 {
        let spec = spec_with(&[0.5, 0.5], 1.0, &format!("aa-{s}"), 2);
        let b = assign::assign_batch(&spec, "x", &ids, None).unwrap();
        let treated = b.variant_index.iter().filter(|&&v| v == 1).count() as u64;
        let r = liftlab::stats::check_srm(&[1000 - treated, treated], &[0.5, 0.5], 0.001).unwrap();
        alarms += usize::from(r.mismatch);
    }
    assert!((2..=22).contains(&alarms), "{alarms} false SRM alarms in 10,000 A/A tests");
}
