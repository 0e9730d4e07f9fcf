use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

/// Synthetic randomised experiment with a known uplift:
/// `uplift = 0.1·1[x0 > 0] − 0.05·1[x1 > 0.5]`, control rate `0.1 + 0.05·x2`, with
/// x0 ~ U(−1, 1), x1, x2 ~ U(0, 1), two noise features (x3 with 10% missing), treatment a fair coin.
struct Synthetic {
    cols: Vec<Vec<f64>>,
    treatment: Vec<u8>,
    y: Vec<f64>,
    truth: Vec<f64>,
}

fn synthetic(n: usize, seed: u64) -> Synthetic {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cols: Vec<Vec<f64>> = (0..5).map(|_| Vec::with_capacity(n)).collect();
    let (mut treatment, mut y, mut truth) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let x0 = rng.random::<f64>() * 2.0 - 1.0;
        let x1: f64 = rng.random();
        let x2: f64 = rng.random();
        let x3 = if rng.random::<f64>() < 0.1 { f64::NAN } else { rng.random::<f64>() };
        let x4: f64 = rng.random();
        let uplift = 0.1 * f64::from(u8::from(x0 > 0.0)) - 0.05 * f64::from(u8::from(x1 > 0.5));
        let t = u8::from(rng.random::<f64>() < 0.5);
        let p = 0.1 + 0.05 * x2 + if t == 1 { uplift } else { 0.0 };
        y.push(f64::from(u8::from(rng.random::<f64>() < p)));
        for (c, v) in cols.iter_mut().zip([x0, x1, x2, x3, x4]) {
            c.push(v);
        }
        treatment.push(t);
        truth.push(uplift);
    }
    Synthetic { cols, treatment, y, truth }
}

fn columns(s: &Synthetic) -> Vec<&[f64]> {
    s.cols.iter().map(Vec::as_slice).collect()
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

fn small_params() -> ForestParams {
    ForestParams { n_trees: 40, max_depth: 4, min_samples_leaf: 200, seed: 11, ..Default::default() }
}

#[test]
fn recovers_a_known_uplift_function() {
    let train = synthetic(20_000, 1);
    let test = synthetic(5_000, 2);
    for criterion in [SplitCriterion::Kl, SplitCriterion::Ed, SplitCriterion::Chi, SplitCriterion::Ddp] {
        let params = ForestParams { criterion, ..small_params() };
        let forest = fit_uplift_forest(&columns(&train), &train.treatment, &train.y, &params).unwrap();
        let pred = forest.predict(&columns(&test)).unwrap();
        let r = correlation(&pred, &test.truth);
        eprintln!("{criterion:?}: correlation with the true uplift {r:.3}");
        let bound = if criterion == SplitCriterion::Ddp { 0.6 } else { 0.85 };
        assert!(r > bound, "{criterion:?}: correlation {r}");
    }
}

// Correlation of the predicted with the true uplift on 5,000 fresh rows, measured with the
// parameters of `small_params` (40 trees, max_depth 4, min_samples_leaf 200, seed 11) on this
// data (train seed 1, test seed 2) and on four more data draws (train/test seeds 11/12 ... 41/42):
//   KL 0.932 (0.887 to 0.932 over the five draws), ED 0.928 (0.889 to 0.933),
//   chi-square 0.928 (0.880 to 0.928), DDP 0.844 (0.676 to 0.861).
// DDP is the noisiest: its gain |uplift_l − uplift_r| is neither weighted by the children's sizes
// nor normalised, so it favours splits that isolate a small, noisy child. The bounds (0.85; 0.6
// for DDP) sit under the lowest of the five draws; the test itself is deterministic.

#[test]
fn same_seed_same_forest_whatever_the_thread_count() {
    let data = synthetic(4_000, 3);
    let cols = columns(&data);
    let params = ForestParams { n_trees: 16, min_samples_leaf: 50, ..small_params() };
    let fit_with = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| fit_uplift_forest(&cols, &data.treatment, &data.y, &params).unwrap())
    };
    let one = fit_with(1);
    for threads in [2, 3] {
        let other = fit_with(threads);
        assert_eq!(one, other, "{threads} threads");
        assert_eq!(one.predict(&cols).unwrap(), other.predict(&cols).unwrap());
    }
    let reseeded = fit_uplift_forest(&cols, &data.treatment, &data.y, &ForestParams { seed: 12, ..params }).unwrap();
    assert_ne!(one, reseeded);
}

#[test]
fn serde_round_trip_gives_identical_predictions() {
    let data = synthetic(4_000, 4);
    let cols = columns(&data);
    let params = ForestParams { n_trees: 8, min_samples_leaf: 50, ..small_params() };
    let forest = fit_uplift_forest(&cols, &data.treatment, &data.y, &params).unwrap();
    let json = serde_json::to_string(&forest).unwrap();
    let back: UpliftForest = serde_json::from_str(&json).unwrap();
    assert_eq!(back, forest);
    let (a, b) = (forest.predict(&cols).unwrap(), back.predict(&cols).unwrap());
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    assert!(json.contains("\"format_version\":1"));
    let future = UpliftForest { format_version: 99, ..back };
    assert_eq!(future.predict(&cols).unwrap_err().field(), Some("format_version"));
}

#[test]
fn missing_values_follow_the_learned_direction() {
    // y depends on x0 only through "missing or not": missing units have the treated rate raised.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let n = 6_000;
    let (mut x0, mut t, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let missing = i % 3 == 0;
        x0.push(if missing { f64::NAN } else { rng.random::<f64>() });
        let ti = u8::from(rng.random::<f64>() < 0.5);
        let p = 0.1 + if missing && ti == 1 { 0.3 } else { 0.0 };
        t.push(ti);
        y.push(f64::from(u8::from(rng.random::<f64>() < p)));
    }
    let params = ForestParams { n_trees: 5, max_depth: 1, min_samples_leaf: 100, ..small_params() };
    let forest = fit_uplift_forest(&[&x0], &t, &y, &params).unwrap();
    let pred = forest.predict(&[&[f64::NAN, 0.5]]).unwrap();
    assert!(pred[0] > 0.2 && pred[1].abs() < 0.1, "{pred:?}");
}

#[test]
fn categorical_codes_are_ordered_by_uplift() {
    // Six codes; the uplift is +0.2 for codes 1 and 4 and 0 for the others, a set no single
    // threshold on the codes can separate. As a categorical feature one split finds it.
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let n = 12_000;
    let (mut code, mut t, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let c = (i % 6) as f64;
        let ti = u8::from(rng.random::<f64>() < 0.5);
        let lift = if c == 1.0 || c == 4.0 { 0.2 } else { 0.0 };
        code.push(c);
        t.push(ti);
        y.push(f64::from(u8::from(rng.random::<f64>() < 0.1 + lift * f64::from(ti))));
    }
    let params = ForestParams { n_trees: 5, max_depth: 1, categorical: vec![0], ..small_params() };
    let forest = fit_uplift_forest(&[&code], &t, &y, &params).unwrap();
    let probe = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, f64::NAN];
    let pred = forest.predict(&[&probe]).unwrap();
    for (c, p) in probe.iter().zip(&pred) {
        if *c == 1.0 || *c == 4.0 {
            assert!(*p > 0.15, "code {c}: {p}");
        } else {
            assert!(p.abs() < 0.05, "code {c}: {p}");
        }
    }
    for tree in &forest.trees {
        match &tree.nodes[0] {
            // codes in increasing uplift: the four without uplift go left; the unseen code 7 and
            // NaN follow the larger child, which is the left one
            Node::CategoricalSplit { left_codes, right_codes, missing_left, .. } => {
                assert_eq!(
                    (left_codes.as_slice(), right_codes.as_slice()),
                    (&[0.0, 2.0, 3.0, 5.0][..], &[1.0, 4.0][..])
                );
                assert!(*missing_left);
            }
            other => panic!("expected a categorical split, got {other:?}"),
        }
    }
    let too_many: Vec<f64> = (0..300).map(f64::from).collect();
    let t2: Vec<u8> = (0..300).map(|i| (i % 2) as u8).collect();
    let e = fit_uplift_forest(&[&too_many], &t2, &vec![0.0; 300], &params).unwrap_err();
    assert_eq!(e.field(), Some("x[0]"));
}

#[test]
fn leaves_respect_the_size_and_depth_limits() {
    let data = synthetic(6_000, 7);
    let cols = columns(&data);
    let params = ForestParams {
        n_trees: 6,
        bootstrap: false,
        max_depth: 3,
        min_samples_leaf: 150,
        min_samples_treatment: 40,
        ..small_params()
    };
    let forest = fit_uplift_forest(&cols, &data.treatment, &data.y, &params).unwrap();
    for tree in &forest.trees {
        assert!(tree.nodes.len() > 1, "no split at all");
        let mut stack = vec![(0usize, 0usize)];
        while let Some((k, depth)) = stack.pop() {
            match &tree.nodes[k] {
                Node::Split { left, right, .. } | Node::CategoricalSplit { left, right, .. } => {
                    stack.push((*left, depth + 1));
                    stack.push((*right, depth + 1));
                }
                Node::Leaf { counts, rates } => {
                    assert!(depth <= 3);
                    assert!(counts.iter().sum::<usize>() >= 150 && counts.iter().all(|&c| c >= 40), "{counts:?}");
                    assert!(rates.iter().all(|r| (0.0..=1.0).contains(r)));
                }
            }
        }
    }
}

#[test]
fn bin_edges_are_midpoints_or_quantiles() {
    // three distinct values -> two midpoints
    assert_eq!(bin_edges(&[1.0, 3.0, 3.0, f64::NAN, 2.0], 255), vec![1.5, 2.5]);
    // 1000 distinct values, 4 bins -> the values at ranks 250, 500, 750
    let col: Vec<f64> = (0..1000).map(f64::from).collect();
    let e = bin_edges(&col, 4);
    assert_eq!(e, vec![250.0, 500.0, 750.0]);
    assert_eq!((bin_of(&e, 250.0), bin_of(&e, 250.5), bin_of(&e, f64::NAN)), (0, 1, MISSING));
    // every bin of a 255-bin feature stays below the missing bin
    let col: Vec<f64> = (0..10_000).map(f64::from).collect();
    let e = bin_edges(&col, 255);
    assert!(e.len() <= 254 && col.iter().all(|&v| bin_of(&e, v) < MISSING));
}

#[test]
fn normalisation_by_hand() {
    // cur_n = [100, 100], left_n = [50, 50]: pt_a = 50/100.1, pc_a = 50/100.1, so both KL terms
    // vanish; norm = 0.5·(−p ln p) + 0.5·(−p ln p) + 0.5 with p = 50/100.1.
    let p: f64 = 50.0 / 100.1;
    let expected = -p * p.ln() + 0.5;
    assert!((norm_i(&[100.0, 100.0], &[50.0, 50.0]) - expected).abs() < 1e-12);
    // KL of equal rates is 0; KL(0.2 || 0.1) = 0.2 ln 2 + 0.8 ln(8/9)
    assert!(kl_divergence(0.3, 0.3).abs() < 1e-15);
    // causalml returns 0 for a control rate of exactly 0
    assert_eq!(kl_divergence(0.3, 0.0), 0.0);
    assert!((kl_divergence(0.2, 0.1) - (0.2 * 2f64.ln() + 0.8 * (0.8f64 / 0.9).ln())).abs() < 1e-15);
}

#[test]
fn bad_input_errors_name_the_field() {
    let x0 = [0.1, 0.2, 0.3, 0.4];
    let (t, y) = ([0u8, 1, 0, 1], [0.0, 1.0, 1.0, 0.0]);
    let p = ForestParams::default();
    let field = |r: Result<UpliftForest>| r.unwrap_err().field().map(str::to_string);
    assert_eq!(field(fit_uplift_forest(&[], &t, &y, &p)).as_deref(), Some("x"));
    assert_eq!(field(fit_uplift_forest(&[&x0, &x0[..3]], &t, &y, &p)).as_deref(), Some("x[1]"));
    assert_eq!(field(fit_uplift_forest(&[&x0], &t[..3], &y, &p)).as_deref(), Some("treatment"));
    assert_eq!(field(fit_uplift_forest(&[&x0], &t, &y[..3], &p)).as_deref(), Some("y"));
    assert_eq!(field(fit_uplift_forest(&[&x0], &[1, 1, 1, 1], &y, &p)).as_deref(), Some("treatment"));
    assert_eq!(field(fit_uplift_forest(&[&x0], &[0, 3, 1, 0], &y, &p)).as_deref(), Some("treatment[1]"));
    assert_eq!(field(fit_uplift_forest(&[&x0], &t, &[0.0, f64::NAN, 1.0, 0.0], &p)).as_deref(), Some("y[1]"));
    assert_eq!(field(fit_uplift_forest(&[&x0], &t, &[0.0, 0.5, 1.0, 0.0], &p)).as_deref(), Some("y[1]"));
    assert_eq!(field(fit_uplift_forest(&[&[0.0, f64::INFINITY, 1.0, 2.0]], &t, &y, &p)).as_deref(), Some("x[0][1]"));
    let e = fit_uplift_forest(&[&[]], &[], &[], &p).unwrap_err();
    assert_eq!((e.code(), e.field()), ("insufficient_data", Some("x")));
    let bad = |q: ForestParams| field(fit_uplift_forest(&[&x0], &t, &y, &q));
    assert_eq!(bad(ForestParams { n_trees: 0, ..p.clone() }).as_deref(), Some("n_trees"));
    assert_eq!(bad(ForestParams { max_bins: 256, ..p.clone() }).as_deref(), Some("max_bins"));
    assert_eq!(bad(ForestParams { max_features: Some(2), ..p.clone() }).as_deref(), Some("max_features"));
    assert_eq!(bad(ForestParams { n_reg: f64::NAN, ..p.clone() }).as_deref(), Some("n_reg"));
    assert_eq!(bad(ForestParams { categorical: vec![1], ..p.clone() }).as_deref(), Some("categorical"));
    let forest = fit_uplift_forest(&[&x0], &t, &y, &p).unwrap();
    assert_eq!(forest.predict(&[&x0, &x0]).unwrap_err().field(), Some("x"));
}
