//! Tests of the uplift metrics against an independent slow implementation written directly from
//! sklift's formulas (O(n²): every threshold and every rank found by brute-force counting, no
//! sorting, no cumulative sums), plus hand-computed values.

use super::*;

// ---- the slow reference -------------------------------------------------------------------

/// Distinct scores, highest first (found by repeated maximum search, not by sorting).
fn slow_distinct_desc(s: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    let mut bound = f64::INFINITY;
    while let Some(next) = s.iter().copied().filter(|&v| v < bound).reduce(f64::max) {
        out.push(next);
        bound = next;
    }
    out
}

/// sklift's curve, one threshold at a time: the units with score >= threshold.
fn slow_curve(y: &[f64], s: &[f64], t: &[u8], qini: bool) -> (Vec<f64>, Vec<f64>) {
    let (mut xs, mut vs) = (vec![0.0], vec![0.0]);
    for thr in slow_distinct_desc(s) {
        let (mut n, mut nt, mut nc, mut yt, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..y.len() {
            if s[i] >= thr {
                n += 1.0;
                if t[i] == 1 {
                    nt += 1.0;
                    yt += y[i];
                } else {
                    nc += 1.0;
                    yc += y[i];
                }
            }
        }
        let v = if qini {
            yt - yc * if nc != 0.0 { nt / nc } else { 0.0 }
        } else {
            let rt = if nt != 0.0 { yt / nt } else { 0.0 };
            let rc = if nc != 0.0 { yc / nc } else { 0.0 };
            (rt - rc) * n
        };
        xs.push(n);
        vs.push(v);
    }
    (xs, vs)
}

fn slow_auc(x: &[f64], y: &[f64]) -> f64 {
    let mut a = 0.0;
    for i in 1..x.len() {
        a += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0;
    }
    a
}

fn slow_perfect_uplift_scores(y: &[f64], t: &[u8]) -> Vec<f64> {
    let cr = (0..y.len()).filter(|&i| y[i] == 1.0 && t[i] == 0).count();
    let tn = (0..y.len()).filter(|&i| y[i] == 0.0 && t[i] == 1).count();
    (0..y.len())
        .map(|i| {
            let ti = t[i] as f64;
            let eq = if y[i] == ti { 1.0 } else { 0.0 };
            2.0 * eq + if cr > tn { y[i] } else { ti }
        })
        .collect()
}

/// sklift's normalised score, `(actual − baseline) / (perfect − baseline)`, with the baseline the
/// line from (0, 0) to the perfect curve's last point.
fn slow_normalized(actual: (Vec<f64>, Vec<f64>), perfect: (Vec<f64>, Vec<f64>)) -> f64 {
    let (xp, yp) = perfect;
    let base = slow_auc(&[0.0, *xp.last().unwrap()], &[0.0, *yp.last().unwrap()]);
    (slow_auc(&actual.0, &actual.1) - base) / (slow_auc(&xp, &yp) - base)
}

fn slow_uplift_auc_score(y: &[f64], s: &[f64], t: &[u8]) -> f64 {
    slow_normalized(slow_curve(y, s, t, false), slow_curve(y, &slow_perfect_uplift_scores(y, t), t, false))
}

fn slow_qini_auc_score(y: &[f64], s: &[f64], t: &[u8]) -> f64 {
    let ps: Vec<f64> = (0..y.len()).map(|i| y[i] * t[i] as f64 - y[i] * (1.0 - t[i] as f64)).collect();
    slow_normalized(slow_curve(y, s, t, true), slow_curve(y, &ps, t, true))
}

/// Rank of unit i in sklift's order (reversed stable argsort): the units with a higher score,
/// plus the tied units with a larger index.
fn slow_rank(s: &[f64], i: usize) -> usize {
    (0..s.len()).filter(|&j| s[j] > s[i] || (s[j] == s[i] && j > i)).count()
}

/// sklift's np.array_split: bin of position `p` among `len` items.
fn slow_bin(p: usize, len: usize, bins: usize) -> usize {
    let (base, extra) = (len / bins, len % bins);
    let mut end = 0;
    for b in 0..bins {
        end += base + usize::from(b < extra);
        if p < end {
            return b;
        }
    }
    unreachable!()
}

fn slow_mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn slow_uplift_at_k_overall(y: &[f64], s: &[f64], t: &[u8], size: usize) -> f64 {
    let pick =
        |g: u8| -> Vec<f64> { (0..y.len()).filter(|&i| slow_rank(s, i) < size && t[i] == g).map(|i| y[i]).collect() };
    slow_mean(&pick(1)) - slow_mean(&pick(0))
}

fn slow_uplift_at_k_by_group(y: &[f64], s: &[f64], t: &[u8], size_t: usize, size_c: usize) -> f64 {
    // rank within group = number of same-group units ahead in the overall order
    let pick = |g: u8, size: usize| -> Vec<f64> {
        (0..y.len())
            .filter(|&i| t[i] == g)
            .filter(|&i| (0..y.len()).filter(|&j| t[j] == g && slow_rank(s, j) < slow_rank(s, i)).count() < size)
            .map(|i| y[i])
            .collect()
    };
    slow_mean(&pick(1, size_t)) - slow_mean(&pick(0, size_c))
}

// ---- fixtures ------------------------------------------------------------------------------

fn close(a: f64, b: f64, what: &str) {
    // Both sides sum the same terms in different orders; 1e-12 relative covers the rounding.
    assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs())), "{what}: {a} vs {b}");
}

/// Deterministic small data sets: (outcome, scores, treatment). A linear congruential generator
/// keeps the fixtures independent of the crate's random machinery.
/// (name, outcome, scores, treatment)
type Fixture = (String, Vec<f64>, Vec<f64>, Vec<u8>);

fn fixtures() -> Vec<Fixture> {
    let mut state: u64 = 12345;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out = Vec::new();
    for (case, n) in [(0, 7), (1, 12), (2, 25), (3, 40), (4, 61)] {
        for ties in [false, true] {
            for binary in [true, false] {
                let mut y = Vec::new();
                let mut s = Vec::new();
                let mut t = Vec::new();
                for i in 0..n {
                    let ti = if i < 2 { i as u8 } else { u8::from(next() < 0.5) };
                    let si = if ties { (next() * 4.0).floor() / 4.0 } else { next() - 0.5 };
                    let yi =
                        if binary { f64::from(u8::from(next() < 0.3 + 0.2 * ti as f64)) } else { next() * 10.0 - 2.0 };
                    y.push(yi);
                    s.push(si);
                    t.push(ti);
                }
                out.push((format!("case {case} n={n} ties={ties} binary={binary}"), y, s, t));
            }
        }
    }
    out
}

// ---- against the slow reference ------------------------------------------------------------

#[test]
fn curves_match_the_slow_reference_with_and_without_ties() {
    for (name, y, s, t) in fixtures() {
        for qini in [false, true] {
            let fast = if qini { qini_curve(&y, &s, &t).unwrap() } else { uplift_curve(&y, &s, &t).unwrap() };
            let (xs, vs) = slow_curve(&y, &s, &t, qini);
            assert_eq!(fast.n_targeted, xs, "{name} qini={qini}");
            assert_eq!(fast.value.len(), vs.len(), "{name}");
            for (a, b) in fast.value.iter().zip(&vs) {
                close(*a, *b, &name);
            }
            let area = if qini { qini_auc(&y, &s, &t, true).unwrap() } else { uplift_auc(&y, &s, &t).unwrap() };
            close(area.area, slow_auc(&xs, &vs), &name);
            close(area.random_area, slow_auc(&[0.0, *xs.last().unwrap()], &[0.0, *vs.last().unwrap()]), &name);
        }
    }
}

#[test]
fn normalized_scores_match_the_slow_reference() {
    for (name, y, s, t) in fixtures().into_iter().filter(|f| f.0.ends_with("binary=true")) {
        close(uplift_auc_score(&y, &s, &t).unwrap(), slow_uplift_auc_score(&y, &s, &t), &name);
        close(qini_auc_score(&y, &s, &t, true).unwrap(), slow_qini_auc_score(&y, &s, &t), &name);
        let a = uplift_auc(&y, &s, &t).unwrap();
        assert_eq!(a.normalized, Some(uplift_auc_score(&y, &s, &t).unwrap()));
        // The perfect ranking scores 1 on both normalised scales.
        let perfect = perfect_uplift_curve(&y, &t).unwrap();
        close((perfect.area() - a.random_area) / (a.perfect_area.unwrap() - a.random_area), 1.0, &name);
    }
}

#[test]
fn continuous_outcomes_have_areas_but_no_normalized_score() {
    for (name, y, s, t) in fixtures().into_iter().filter(|f| f.0.ends_with("binary=false")) {
        let a = qini_auc(&y, &s, &t, true).unwrap();
        assert_eq!((a.perfect_area, a.normalized), (None, None), "{name}");
        let e = qini_auc_score(&y, &s, &t, true).unwrap_err();
        assert_eq!(e.field(), Some("outcome"));
        assert!(perfect_uplift_curve(&y, &t).is_err());
    }
}

#[test]
fn uplift_at_k_matches_the_slow_reference() {
    for (name, y, s, t) in fixtures() {
        let n = y.len();
        let (nt, nc) = (t.iter().filter(|&&v| v == 1).count(), t.iter().filter(|&&v| v == 0).count());
        for f in [0.2, 0.3, 0.5, 0.8] {
            let size = (n as f64 * f) as usize;
            let has_both = |size: usize| {
                let top: Vec<usize> = (0..n).filter(|&i| slow_rank(&s, i) < size).collect();
                top.iter().any(|&i| t[i] == 1) && top.iter().any(|&i| t[i] == 0)
            };
            let got = uplift_at_k(&y, &s, &t, TopK::Fraction(f), CutStrategy::Overall);
            if has_both(size) {
                close(got.unwrap(), slow_uplift_at_k_overall(&y, &s, &t, size), &name);
            } else {
                // a group absent from the top k: NaN, as sklift's mean of an empty slice
                assert!(got.unwrap().is_nan(), "{name}");
            }
            let (st, sc) = ((nt as f64 * f) as usize, (nc as f64 * f) as usize);
            let got = uplift_at_k(&y, &s, &t, TopK::Fraction(f), CutStrategy::ByGroup);
            if st > 0 && sc > 0 {
                close(got.unwrap(), slow_uplift_at_k_by_group(&y, &s, &t, st, sc), &name);
            } else {
                assert!(got.unwrap().is_nan(), "{name}");
            }
        }
        let k = nt.min(nc).min(n - 1);
        let got = uplift_at_k(&y, &s, &t, TopK::Count(k), CutStrategy::ByGroup).unwrap();
        close(got, slow_uplift_at_k_by_group(&y, &s, &t, k, k), &name);
    }
}

#[test]
fn uplift_by_percentile_matches_the_slow_reference() {
    for (name, y, s, t) in fixtures() {
        let n = y.len();
        for bins in [1, 3, 5] {
            for strategy in [CutStrategy::Overall, CutStrategy::ByGroup] {
                let got = uplift_by_percentile(&y, &s, &t, bins, strategy).unwrap();
                assert_eq!(got.len(), bins);
                for (b, row) in got.iter().enumerate() {
                    let members = |g: u8| -> Vec<f64> {
                        (0..n)
                            .filter(|&i| t[i] == g)
                            .filter(|&i| match strategy {
                                CutStrategy::Overall => slow_bin(slow_rank(&s, i), n, bins) == b,
                                CutStrategy::ByGroup => {
                                    let len = t.iter().filter(|&&v| v == g).count();
                                    let pos =
                                        (0..n).filter(|&j| t[j] == g && slow_rank(&s, j) < slow_rank(&s, i)).count();
                                    slow_bin(pos, len, bins) == b
                                }
                            })
                            .map(|i| y[i])
                            .collect()
                    };
                    let (yt, yc) = (members(1), members(0));
                    assert_eq!((row.n_treated, row.n_control), (yt.len(), yc.len()), "{name} bin {b}");
                    if yt.is_empty() || yc.is_empty() {
                        assert_eq!(row.uplift, None);
                        continue;
                    }
                    close(row.rate_treated.unwrap(), slow_mean(&yt), &name);
                    close(row.rate_control.unwrap(), slow_mean(&yc), &name);
                    close(row.uplift.unwrap(), slow_mean(&yt) - slow_mean(&yc), &name);
                    let var = |v: &[f64]| {
                        let m = slow_mean(v);
                        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64
                    };
                    let se = (var(&yt) / yt.len() as f64 + var(&yc) / yc.len() as f64).sqrt();
                    close(row.std_err.unwrap(), se, &name);
                    if name.ends_with("binary=true") {
                        // sklift's binomial form
                        let (pt, pc) = (slow_mean(&yt), slow_mean(&yc));
                        let sk = (pt * (1.0 - pt) / yt.len() as f64 + pc * (1.0 - pc) / yc.len() as f64).sqrt();
                        close(row.std_err.unwrap(), sk, &name);
                    }
                }
            }
        }
    }
}

// ---- hand-computed values ------------------------------------------------------------------

#[test]
fn hand_computed_four_units() {
    // y = [1, 0, 1, 0], t = [1, 1, 0, 0], scores already descending.
    // Top 1: treated responder -> U = (1 − 0)·1 = 1,  Q = 1.
    // Top 2: + treated non-responder -> U = (1/2 − 0)·2 = 1, Q = 1.
    // Top 3: + control responder -> U = (1/2 − 1)·3 = −1.5, Q = 1 − 1·2/1 = −1.
    // Top 4: + control non-responder -> U = (1/2 − 1/2)·4 = 0, Q = 1 − 1·2/2 = 0.
    // AUUC = 0.5 + 1 − 0.25 − 0.75 = 0.5; random line ends at 0, area 0.
    // Perfect uplift: control responders (1) do not outnumber treated non-responders (1), so the
    // score is 2·1[y = t] + t = [3, 1, 0, 2]: order 0, 3, 1, 2, curve [0, 1, 2, 1.5, 0], area 4.5.
    // uplift_auc_score = 0.5 / 4.5 = 1/9.
    // Qini area = 0.5 + 1 + 0 − 0.5 = 1. Perfect Qini scores y·t − y·(1 − t) = [1, 0, −1, 0]:
    // thresholds after unit 0 (Q = 1), after the tie {3, 1} (n = 3, Q = 1), and all (Q = 0):
    // x = [0, 1, 3, 4], y = [0, 1, 1, 0], area 3. qini_auc_score = 1/3.
    let (y, t, s) = ([1.0, 0.0, 1.0, 0.0], [1, 1, 0, 0], [0.9, 0.8, 0.7, 0.6]);
    let u = uplift_curve(&y, &s, &t).unwrap();
    assert_eq!(u.n_targeted, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    assert_eq!(u.value, vec![0.0, 1.0, 1.0, -1.5, 0.0]);
    assert_eq!(perfect_uplift_curve(&y, &t).unwrap().value, vec![0.0, 1.0, 2.0, 1.5, 0.0]);
    close(uplift_auc(&y, &s, &t).unwrap().area, 0.5, "auuc");
    close(uplift_auc_score(&y, &s, &t).unwrap(), 1.0 / 9.0, "uplift_auc_score");
    assert_eq!(qini_curve(&y, &s, &t).unwrap().value, vec![0.0, 1.0, 1.0, -1.0, 0.0]);
    let pq = perfect_qini_curve(&y, &t, true).unwrap();
    assert_eq!((pq.n_targeted, pq.value), (vec![0.0, 1.0, 3.0, 4.0], vec![0.0, 1.0, 1.0, 0.0]));
    close(qini_auc_score(&y, &s, &t, true).unwrap(), 1.0 / 3.0, "qini_auc_score");
    // Top 50% overall: units 0 and 1 are both treated -> no control: NaN, as in sklift.
    assert!(uplift_at_k(&y, &s, &t, TopK::Fraction(0.5), CutStrategy::Overall).unwrap().is_nan());
    // Top 1 by group: treated unit 0 (y = 1), control unit 2 (y = 1): uplift 0.
    assert_eq!(uplift_at_k(&y, &s, &t, TopK::Count(1), CutStrategy::ByGroup).unwrap(), 0.0);
}

#[test]
fn ties_enter_the_curve_together_and_order_within_ties_follows_sklift() {
    // All scores tie: one threshold, the curve is (0,0) -> (N, end value).
    // y = [1, 0, 0, 1], t = [1, 0, 1, 0]: rates 1/2 and 1/2, U(4) = 0, Q(4) = 1 − 1·2/2 = 0.
    let (y, t, s) = ([1.0, 0.0, 0.0, 1.0], [1, 0, 1, 0], [0.5; 4]);
    let u = uplift_curve(&y, &s, &t).unwrap();
    assert_eq!((u.n_targeted, u.value), (vec![0.0, 4.0], vec![0.0, 0.0]));
    // -0.0 and 0.0 are one tie group, as in numpy.
    let u = uplift_curve(&y, &[0.0, -0.0, 0.0, -0.0], &t).unwrap();
    assert_eq!(u.n_targeted, vec![0.0, 4.0]);
    // Within a tie the larger index comes first (np.argsort(kind="mergesort")[::-1]): with all
    // scores tied, the top 2 overall are units 3 (control, y = 1) and 2 (treated, y = 0):
    // uplift at k = 0 − 1 = −1.
    assert_eq!(uplift_at_k(&y, &s, &t, TopK::Count(2), CutStrategy::Overall).unwrap(), -1.0);
    // The curve is invariant to permuting units inside tie groups (a fixture with ties, reversed).
    for (name, y, s, t) in fixtures().into_iter().filter(|f| f.0.contains("ties=true")) {
        let rev = |v: &[f64]| v.iter().rev().copied().collect::<Vec<f64>>();
        let trev: Vec<u8> = t.iter().rev().copied().collect();
        let (a, b) = (uplift_curve(&y, &s, &t).unwrap(), uplift_curve(&rev(&y), &rev(&s), &trev).unwrap());
        assert_eq!(a.n_targeted, b.n_targeted, "{name}");
        // exact for a binary outcome (integer sums); the last bit may differ for a continuous one,
        // whose sums run in another order
        a.value.iter().zip(&b.value).for_each(|(u, v)| close(*u, *v, &name));
    }
}

#[test]
fn perfect_qini_without_negative_effect_is_the_two_segment_line() {
    // y = [1, 0, 1, 0], t = [1, 1, 0, 0]: Q_N = 1 − 1·2/2 = 0, so (0,0) -> (0,0) -> (4,0).
    // y = [1, 1, 0, 0], t = [1, 1, 0, 0]: Q_N = 2 − 0 = 2: (0,0) -> (2,2) -> (4,2), area 2 + 4 = 6.
    let c = perfect_qini_curve(&[1.0, 1.0, 0.0, 0.0], &[1, 1, 0, 0], false).unwrap();
    assert_eq!((c.n_targeted.clone(), c.value.clone()), (vec![0.0, 2.0, 4.0], vec![0.0, 2.0, 2.0]));
    assert_eq!(c.area(), 6.0);
}

// ---- bootstrap and balance -----------------------------------------------------------------

#[test]
fn bootstrap_is_seeded_and_brackets_the_estimate() {
    let (_, y, s, t) = fixtures().into_iter().find(|f| f.0 == "case 4 n=61 ties=false binary=true").unwrap();
    let opts = BootstrapOptions { n_resamples: 300, seed: 7, ..Default::default() };
    let a = bootstrap_uplift_auc(&y, &s, &t, &opts).unwrap();
    let b = bootstrap_uplift_auc(&y, &s, &t, &opts).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.qini_auc.estimate, qini_auc_score(&y, &s, &t, true).unwrap());
    assert_eq!(a.uplift_auc.estimate, uplift_auc_score(&y, &s, &t).unwrap());
    for i in [&a.qini_auc, &a.uplift_auc] {
        assert!(i.ci_low < i.estimate && i.estimate < i.ci_high, "{i:?}");
        assert!(i.n_valid > 250 && i.std_err > 0.0);
    }
    let c = bootstrap_uplift_auc(&y, &s, &t, &BootstrapOptions { seed: 8, ..opts.clone() }).unwrap();
    assert_ne!(a, c);
    // Continuous outcome: the normalised statistic is refused, the area above random is not.
    let (_, y, s, t) = fixtures().into_iter().find(|f| f.0 == "case 4 n=61 ties=true binary=false").unwrap();
    assert_eq!(bootstrap_uplift_auc(&y, &s, &t, &opts).unwrap_err().field(), Some("outcome"));
    let opts = BootstrapOptions { statistic: AreaStatistic::AboveRandom, ..opts };
    let r = bootstrap_uplift_auc(&y, &s, &t, &opts).unwrap();
    let area = uplift_auc(&y, &s, &t).unwrap();
    assert_eq!(r.uplift_auc.estimate, area.area - area.random_area);
    assert_eq!(r.uplift_auc.n_valid, 300);
    let bad = BootstrapOptions { confidence_level: 1.0, ..opts };
    assert_eq!(bootstrap_uplift_auc(&y, &s, &t, &bad).unwrap_err().field(), Some("confidence_level"));
}

#[test]
fn quantiles_interpolate_like_numpy() {
    // np.quantile([1, 2, 3, 4], 0.25) = 1.75; np.quantile([1, 2, 3, 4], 0.9) = 3.7
    close(quantile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75, "q25");
    close(quantile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.9), 3.7, "q90");
}

#[test]
fn standardized_mean_differences_by_hand() {
    // Feature 0: treated [1, 2, 3] (mean 2, s² 1), control [2, 4, 6] (mean 4, s² 4):
    // d = (2 − 4) / sqrt((1 + 4)/2) = −2 / sqrt(2.5) = −1.2649110640673518.
    // Feature 1: a NaN among the treated is omitted: treated [5, 5], control [5, 5, 5] -> d = 0.
    let t = [1, 1, 1, 0, 0, 0];
    let f0 = [1.0, 2.0, 3.0, 2.0, 4.0, 6.0];
    let f1 = [5.0, f64::NAN, 5.0, 5.0, 5.0, 5.0];
    let b = standardized_mean_differences(&[&f0, &f1], &t).unwrap();
    close(b[0].smd.unwrap(), -2.0 / 2.5f64.sqrt(), "smd");
    assert_eq!((b[1].n_treated, b[1].n_control, b[1].smd), (2, 3, Some(0.0)));
    let e = standardized_mean_differences(&[&f0, &f1[..5]], &t).unwrap_err();
    assert_eq!(e.field(), Some("features[1]"));
}

// ---- bad input -----------------------------------------------------------------------------

#[test]
fn bad_input_errors_name_the_field() {
    let (y, s, t) = (vec![1.0, 0.0, 1.0, 0.0], vec![0.4, 0.3, 0.2, 0.1], vec![1u8, 1, 0, 0]);
    let field = |r: Result<Curve>| r.unwrap_err().field().map(str::to_string);
    assert_eq!(field(uplift_curve(&y, &s[..3], &t)).as_deref(), Some("scores"));
    assert_eq!(field(uplift_curve(&y, &s, &t[..3])).as_deref(), Some("treatment"));
    assert_eq!(field(qini_curve(&y, &s, &[1, 1, 1, 1])).as_deref(), Some("treatment"));
    assert_eq!(field(qini_curve(&y, &s, &[0, 0, 0, 0])).as_deref(), Some("treatment"));
    assert_eq!(field(qini_curve(&y, &s, &[0, 2, 1, 0])).as_deref(), Some("treatment[1]"));
    assert_eq!(field(uplift_curve(&[1.0, f64::NAN, 0.0, 0.0], &s, &t)).as_deref(), Some("outcome[1]"));
    assert_eq!(field(uplift_curve(&y, &[0.1, 0.2, f64::NAN, 0.0], &t)).as_deref(), Some("scores[2]"));
    let e = uplift_curve(&[], &[], &[]).unwrap_err();
    assert_eq!((e.code(), e.field()), ("insufficient_data", Some("outcome")));
    assert_eq!(field(perfect_uplift_curve(&[1.0, 0.5, 0.0, 0.0], &t)).as_deref(), Some("outcome"));
    let k = |k, st| uplift_at_k(&y, &s, &t, k, st).unwrap_err().field().map(str::to_string);
    assert_eq!(k(TopK::Fraction(1.0), CutStrategy::Overall).as_deref(), Some("k"));
    assert_eq!(k(TopK::Fraction(f64::NAN), CutStrategy::Overall).as_deref(), Some("k"));
    assert_eq!(k(TopK::Count(4), CutStrategy::Overall).as_deref(), Some("k"));
    assert_eq!(k(TopK::Count(3), CutStrategy::ByGroup).as_deref(), Some("k"));
    let e = uplift_by_percentile(&y, &s, &t, 4, CutStrategy::Overall).unwrap_err();
    assert_eq!(e.field(), Some("bins"));
}

// ---- issue 13 --------------------------------------------------------------------------------

/// Issue 13, item 9: without negative effects the perfect Qini curve `(0,0) → (Q_N, Q_N) → (N,
/// Q_N)` is undefined for a negative overall effect (its x goes backwards; sklift 0.5.1's
/// `qini_auc_score` raises through sklearn's `auc`); the score used to come out with the wrong
/// sign (the best ranking scored −0.9). Now an error naming `negative_effect`; with a
/// non-negative effect the score is unchanged. A constant outcome (every 1, or every 0) has no
/// perfect ranking: sklift's `check_is_binary` raises; so does liftlab, naming `outcome`.
#[test]
fn item9_qini_without_negative_effect_and_constant_outcomes_raise() {
    let mut negative = 0;
    for (name, y, s, t) in fixtures().into_iter().filter(|f| f.0.contains("binary=true")) {
        let n_t = t.iter().filter(|&&g| g == 1).count() as f64;
        let y_t: f64 = y.iter().zip(&t).filter(|p| *p.1 == 1).map(|p| p.0).sum();
        let y_c: f64 = y.iter().zip(&t).filter(|p| *p.1 == 0).map(|p| p.0).sum();
        let q_end = y_t - n_t * y_c / (y.len() as f64 - n_t);
        let r = qini_auc_score(&y, &s, &t, false);
        if q_end < 0.0 {
            negative += 1;
            assert_eq!(r.unwrap_err().field(), Some("negative_effect"), "{name}");
            let a = qini_auc(&y, &s, &t, false).unwrap();
            assert_eq!((a.perfect_area, a.normalized), (None, None), "{name}");
            // the best ranking (the perfect one with negative effects) is not scored below zero
            assert!(qini_auc_score(&y, &s, &t, true).is_ok(), "{name}");
        } else if let Ok(v) = r {
            // the slow reference's perfect curve with negative_effect = false
            let (x, c) = slow_curve(&y, &s, &t, true);
            let perfect = (vec![0.0, q_end, y.len() as f64], vec![0.0, q_end, q_end]);
            close(v, slow_normalized((x, c), perfect), &name);
        }
    }
    assert!(negative > 0, "the fixtures must hold a negative overall effect");
    let (s, t) = (vec![0.4, 0.3, 0.2, 0.1], vec![1u8, 1, 0, 0]);
    for v in [0.0, 1.0] {
        let y = vec![v; 4];
        assert_eq!(uplift_auc_score(&y, &s, &t).unwrap_err().field(), Some("outcome"), "{v}");
        assert_eq!(qini_auc_score(&y, &s, &t, true).unwrap_err().field(), Some("outcome"), "{v}");
        assert_eq!(perfect_uplift_curve(&y, &t).unwrap_err().field(), Some("outcome"), "{v}");
        assert_eq!(uplift_auc(&y, &s, &t).unwrap().normalized, None, "{v}");
        assert_eq!(qini_auc(&y, &s, &t, true).unwrap().normalized, None, "{v}");
        let b = bootstrap_uplift_auc(&y, &s, &t, &BootstrapOptions::default());
        assert_eq!(b.unwrap_err().field(), Some("outcome"), "{v}");
    }
}

/// Issue 13, item 11: `uplift_at_k` with no control (or no treated) unit in the top k is NaN,
/// as sklift's (numpy's mean of an empty slice), instead of an error; and `uplift_by_percentile`
/// labels are sklift's `"0-p1", "p1-p2", ...` with `p_b = round(100 b / bins)` half to even
/// (Python's `round`), computed here by a float division and a hand tie rule, for every bin count.
#[test]
fn item11_uplift_at_k_without_a_group_is_nan_and_percentile_labels_follow_sklift() {
    let (y, s, t) = (vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0], vec![6.0, 5.0, 4.0, 3.0, 2.0, 1.0], vec![1u8, 1, 1, 0, 0, 0]);
    assert!(uplift_at_k(&y, &s, &t, TopK::Count(2), CutStrategy::Overall).unwrap().is_nan());
    assert!(uplift_at_k(&y, &s, &t, TopK::Fraction(0.1), CutStrategy::ByGroup).unwrap().is_nan());
    close(uplift_at_k(&y, &s, &t, TopK::Count(4), CutStrategy::Overall).unwrap(), 2.0 / 3.0, "top 4");
    let round_half_even = |x: f64| {
        let f = x.floor();
        match (x - f).partial_cmp(&0.5).unwrap() {
            std::cmp::Ordering::Less => f,
            std::cmp::Ordering::Greater => f + 1.0,
            std::cmp::Ordering::Equal => f + (f % 2.0),
        }
    };
    let n = 400;
    let y: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i % 3 == 0))).collect();
    let s: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64).collect();
    let t: Vec<u8> = (0..n).map(|i| u8::from(i % 2 == 0)).collect();
    for bins in 1..n {
        let got = uplift_by_percentile(&y, &s, &t, bins, CutStrategy::Overall).unwrap();
        let p: Vec<u64> = (1..=bins).map(|b| round_half_even(b as f64 * 100.0 / bins as f64) as u64).collect();
        for (b, bin) in got.iter().enumerate() {
            let want = if b == 0 { format!("0-{}", p[0]) } else { format!("{}-{}", p[b - 1], p[b]) };
            assert_eq!(bin.label, want, "bins {bins}");
        }
    }
}
