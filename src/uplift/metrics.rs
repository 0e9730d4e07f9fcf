//! Evaluation of an uplift ranking, following **scikit-uplift's documented definitions**
//! (`sklift.metrics`, version 0.5: `uplift_curve`, `qini_curve`, `perfect_uplift_curve`,
//! `perfect_qini_curve`, `uplift_auc_score`, `qini_auc_score`, `uplift_at_k`,
//! `uplift_by_percentile`).
//!
//! **Ordering and ties.** Units are ranked by score, highest first, as sklift does with
//! `np.argsort(uplift, kind="mergesort")[::-1]`: a stable ascending sort reversed, so among equal
//! scores the unit with the *larger* index comes first. The curves are evaluated only at the
//! distinct-score thresholds (the last position of each run of equal scores), as sklearn's
//! `_binary_clf_curve` does, so a tie group enters the curve all at once and the curves do not
//! depend on the order within ties. `uplift_at_k` and `uplift_by_percentile` cut the ranking at a
//! position, which can fall inside a tie group; there the order above decides, exactly as in sklift.
//! Scores compare as numbers, so `-0.0` and `0.0` tie (as in numpy).
//!
//! **Curves.** With the top `n` units targeted, `n_t`/`n_c` of them treated/control and
//! `y_t`/`y_c` the sums of their outcomes:
//! - uplift curve `U(n) = (y_t/n_t − y_c/n_c) · n` (a ratio with a zero denominator counts as 0);
//! - Qini curve `Q(n) = y_t − y_c · n_t/n_c` (0 when `n_c = 0`);
//!
//! both starting at `(0, 0)`. Areas are trapezoidal over `n` (sklearn's `auc`). The *random*
//! curve is the straight line from `(0, 0)` to the curve's last point. The *perfect* curves need
//! a binary outcome: the uplift one ranks by `2·1[y = t] + (y if control responders outnumber
//! treated non-responders, else t)`, the Qini one by `y·t − y·(1 − t)` (`negative_effect = true`)
//! or is the two-segment line `(0,0) → (Q_N, Q_N) → (N, Q_N)` (`negative_effect = false`).
//!
//! **Normalised scores.** `uplift_auc_score` and `qini_auc_score` (the *Qini coefficient*) are
//! `(area − random area) / (perfect area − random area)`, as in sklift. causalml
//! (`causalml.metrics`, visualize.py) normalises differently: with `normalize=True` it divides its
//! cumulative-gain curve (the uplift curve) and its Qini curve by their absolute last value;
//! `auuc_score` is then the mean height of the gain curve, with no random or perfect reference,
//! and `qini_score` the mean height of the Qini curve minus that of the random line. Its curves are
//! evaluated at every row (ties are not grouped) and averaged over the rows rather than integrated,
//! so the numbers of the two libraries are not comparable.
//!
//! **Outcomes** may be binary or continuous. sklift 0.5 calls `check_is_binary(y_true)` in every
//! one of these functions; the curves, the areas above random, `uplift_at_k` and
//! `uplift_by_percentile` carry over to a continuous outcome unchanged (a mean instead of a rate),
//! while the perfect curves, hence the normalised scores, are refused for a non-binary one. NaN is
//! rejected everywhere except in the balance features, where it is a missing value and omitted
//! (`nan_policy = "omit"`).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Points of an uplift or Qini curve: the number of units targeted and the curve's value there.
/// The counts are whole numbers except in the perfect Qini curve without negative effects, whose
/// middle point sits at `x = Q_N` as in sklift.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    pub n_targeted: Vec<f64>,
    pub value: Vec<f64>,
}

impl Curve {
    /// Trapezoidal area under the curve over the number targeted (sklearn's `auc`).
    pub fn area(&self) -> f64 {
        trapezoid(&self.n_targeted, &self.value)
    }

    /// Area under the straight line from `(0, 0)` to the last point.
    pub fn random_area(&self) -> f64 {
        match (self.n_targeted.last(), self.value.last()) {
            (Some(&n), Some(&v)) => n * v / 2.0,
            _ => 0.0,
        }
    }
}

fn trapezoid(x: &[f64], y: &[f64]) -> f64 {
    x.windows(2).zip(y.windows(2)).map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0).sum()
}

/// The area of an uplift or Qini curve with its references.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurveArea {
    /// Area under the model's curve.
    pub area: f64,
    /// Area under the random line (from `(0, 0)` to the curve's last point).
    pub random_area: f64,
    /// Area under the perfect curve; `None` for an outcome that is not binary with both 0 and 1
    /// present, and for the Qini curve without negative effects when the overall effect is
    /// negative (that perfect curve is undefined).
    pub perfect_area: Option<f64>,
    /// `(area − random_area) / (perfect_area − random_area)`: sklift's `uplift_auc_score` or
    /// `qini_auc_score`. `None` when `perfect_area` is, or when the perfect and random areas are
    /// equal (no room for a ranking to do better than random).
    pub normalized: Option<f64>,
}

/// Where the top `k` is cut: a fraction in (0, 1) or a count.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopK {
    /// A fraction in (0, 1); the count is `floor(k · n)` as in sklift (`int(n * k)`).
    Fraction(f64),
    /// An absolute count.
    Count(usize),
}

/// How a ranked population is cut (sklift's `strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CutStrategy {
    /// Cut the whole ranking, then split the cut into treated and control (`"overall"`).
    #[default]
    Overall,
    /// Cut the treated and the control rankings separately (`"by_group"`).
    ByGroup,
}

/// Checked inputs: lengths agree, not empty, finite outcomes and scores, 0/1 treatment with both
/// groups present.
fn check_inputs(outcome: &[f64], scores: Option<&[f64]>, treatment: &[u8]) -> Result<()> {
    if outcome.is_empty() {
        return Err(Error::insufficient("outcome", "is empty"));
    }
    if treatment.len() != outcome.len() {
        return Err(Error::length_mismatch("treatment", (treatment.len(), "values"), "outcome", (outcome.len(), "")));
    }
    if let Some(s) = scores {
        if s.len() != outcome.len() {
            return Err(Error::length_mismatch("scores", (s.len(), "values"), "outcome", (outcome.len(), "")));
        }
        if let Some(i) = s.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(format!("scores[{i}]"), format!("must be finite, got {}", s[i])));
        }
    }
    if let Some(i) = outcome.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!("outcome[{i}]"), format!("must be finite, got {}", outcome[i])));
    }
    if let Some(i) = treatment.iter().position(|&t| t > 1) {
        return Err(Error::invalid(
            format!("treatment[{i}]"),
            format!("must be 0 (control) or 1, got {}", treatment[i]),
        ));
    }
    let n_t = treatment.iter().filter(|&&t| t == 1).count();
    if n_t == 0 || n_t == treatment.len() {
        let only = if n_t == 0 { "control" } else { "treated" };
        return Err(Error::invalid("treatment", format!("all units are {only}; both groups are needed")));
    }
    Ok(())
}

/// A binary outcome with both values present, as sklift's `check_is_binary` requires
/// (`np.unique(y) == [0, 1]`): every outcome 0, or every outcome 1, is refused, since a perfect
/// ranking cannot do better than a random one then.
fn check_binary(outcome: &[f64]) -> Result<()> {
    if let Some(i) = outcome.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(Error::invalid(
            "outcome",
            format!("the perfect curve needs a binary (0/1) outcome; outcome[{i}] is {}", outcome[i]),
        ));
    }
    if !is_binary(outcome) {
        let v = outcome.first().copied().unwrap_or_default();
        return Err(Error::invalid(
            "outcome",
            format!("every outcome is {v}; the perfect curve needs both 0 and 1 (scikit-uplift refuses it too)"),
        ));
    }
    Ok(())
}

/// Every outcome 0 or 1, and both present.
fn is_binary(outcome: &[f64]) -> bool {
    outcome.iter().all(|&v| v == 0.0 || v == 1.0) && outcome.contains(&0.0) && outcome.contains(&1.0)
}

/// `Q_N`, the Qini curve's end value `y_t − n_t · y_c / n_c` (the overall effect in units).
fn qini_end(outcome: &[f64], treatment: &[u8]) -> f64 {
    let (mut y_t, mut n_t, mut y_c) = (0.0, 0usize, 0.0);
    for (&y, &t) in outcome.iter().zip(treatment) {
        if t == 1 {
            y_t += y;
            n_t += 1;
        } else {
            y_c += y;
        }
    }
    y_t - n_t as f64 * y_c / (outcome.len() - n_t) as f64
}

/// Without negative effects the perfect Qini curve `(0,0) → (Q_N, Q_N) → (N, Q_N)` exists only
/// for `Q_N ≥ 0`: with a negative overall effect its x would go backwards, which sklift's
/// `qini_auc_score` (through sklearn's `auc`) refuses. An error naming `negative_effect`.
fn check_qini_end(outcome: &[f64], treatment: &[u8], negative_effect: bool) -> Result<()> {
    let q = qini_end(outcome, treatment);
    if !negative_effect && q < 0.0 {
        return Err(Error::invalid(
            "negative_effect",
            format!(
                "is false but the overall effect is negative (the Qini curve ends at {q}); the perfect curve \
                 without negative effects is undefined (scikit-uplift raises too): use negative_effect = true"
            ),
        ));
    }
    Ok(())
}

/// Indices by score descending; equal scores keep the larger index first (sklift's reversed
/// stable argsort). Scores are finite (checked), so `partial_cmp` never fails.
fn rank_order(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap_or(std::cmp::Ordering::Equal).then(b.cmp(&a)));
    order
}

/// Cumulative counts at each distinct-score threshold.
struct Threshold {
    n: usize,
    n_t: f64,
    y_t: f64,
    y_c: f64,
}

fn thresholds(outcome: &[f64], scores: &[f64], treatment: &[u8]) -> Vec<Threshold> {
    let order = rank_order(scores);
    let (mut n_t, mut y_t, mut y_c) = (0.0, 0.0, 0.0);
    let mut out = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        if treatment[i] == 1 {
            n_t += 1.0;
            y_t += outcome[i];
        } else {
            y_c += outcome[i];
        }
        let last_of_run = order.get(pos + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_run {
            out.push(Threshold { n: pos + 1, n_t, y_t, y_c });
        }
    }
    out
}

fn build_curve(points: Vec<Threshold>, value: impl Fn(&Threshold) -> f64) -> Curve {
    let mut n_targeted = Vec::with_capacity(points.len() + 1);
    let mut values = Vec::with_capacity(points.len() + 1);
    n_targeted.push(0.0);
    values.push(0.0);
    for p in &points {
        n_targeted.push(p.n as f64);
        values.push(value(p));
    }
    Curve { n_targeted, value: values }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b != 0.0 {
        a / b
    } else {
        0.0
    }
}

fn uplift_curve_unchecked(outcome: &[f64], scores: &[f64], treatment: &[u8]) -> Curve {
    build_curve(thresholds(outcome, scores, treatment), |p| {
        let n_c = p.n as f64 - p.n_t;
        (ratio(p.y_t, p.n_t) - ratio(p.y_c, n_c)) * p.n as f64
    })
}

fn qini_curve_unchecked(outcome: &[f64], scores: &[f64], treatment: &[u8]) -> Curve {
    build_curve(thresholds(outcome, scores, treatment), |p| {
        let n_c = p.n as f64 - p.n_t;
        p.y_t - p.y_c * ratio(p.n_t, n_c)
    })
}

/// The uplift curve `U(n) = (y_t/n_t − y_c/n_c) · n` at each distinct-score threshold, from
/// `(0, 0)` (sklift's `uplift_curve`).
pub fn uplift_curve(outcome: &[f64], scores: &[f64], treatment: &[u8]) -> Result<Curve> {
    check_inputs(outcome, Some(scores), treatment)?;
    Ok(uplift_curve_unchecked(outcome, scores, treatment))
}

/// The Qini curve `Q(n) = y_t − y_c · n_t/n_c` at each distinct-score threshold, from `(0, 0)`
/// (sklift's `qini_curve`).
pub fn qini_curve(outcome: &[f64], scores: &[f64], treatment: &[u8]) -> Result<Curve> {
    check_inputs(outcome, Some(scores), treatment)?;
    Ok(qini_curve_unchecked(outcome, scores, treatment))
}

fn perfect_uplift_scores(outcome: &[f64], treatment: &[u8]) -> Vec<f64> {
    let control_responders = outcome.iter().zip(treatment).filter(|&(&y, &t)| y == 1.0 && t == 0).count();
    let treated_non_responders = outcome.iter().zip(treatment).filter(|&(&y, &t)| y == 0.0 && t == 1).count();
    outcome
        .iter()
        .zip(treatment)
        .map(|(&y, &t)| {
            let t = f64::from(t);
            let summand = if control_responders > treated_non_responders { y } else { t };
            2.0 * f64::from(u8::from(y == t)) + summand
        })
        .collect()
}

/// The uplift curve of the best possible ranking of a binary outcome (sklift's
/// `perfect_uplift_curve`): scores `2·1[y = t] + s` with `s = y` when control responders
/// outnumber treated non-responders and `s = t` otherwise.
pub fn perfect_uplift_curve(outcome: &[f64], treatment: &[u8]) -> Result<Curve> {
    check_inputs(outcome, None, treatment)?;
    check_binary(outcome)?;
    Ok(uplift_curve_unchecked(outcome, &perfect_uplift_scores(outcome, treatment), treatment))
}

fn perfect_qini_unchecked(outcome: &[f64], treatment: &[u8], negative_effect: bool) -> Curve {
    if negative_effect {
        let scores: Vec<f64> = outcome.iter().zip(treatment).map(|(&y, &t)| if t == 1 { y } else { -y }).collect();
        qini_curve_unchecked(outcome, &scores, treatment)
    } else {
        let n = outcome.len();
        let q = qini_end(outcome, treatment);
        // sklift's x is `[0, q, n]`: the middle count is the Qini value itself. (With q < 0
        // sklearn's `auc` refuses the non-monotone x; the trapezoid here is still computed.)
        Curve { n_targeted: vec![0.0, q, n as f64], value: vec![0.0, q, q] }
    }
}

/// The Qini curve of the best possible ranking of a binary outcome (sklift's
/// `perfect_qini_curve`). With `negative_effect` (sklift's default) units are ranked by
/// `y·t − y·(1 − t)`: treated responders first, control responders last. Without it the curve is
/// `(0, 0) → (Q_N, Q_N) → (N, Q_N)` where `Q_N` is the curve's end value.
pub fn perfect_qini_curve(outcome: &[f64], treatment: &[u8], negative_effect: bool) -> Result<Curve> {
    check_inputs(outcome, None, treatment)?;
    check_binary(outcome)?;
    Ok(perfect_qini_unchecked(outcome, treatment, negative_effect))
}

fn area_of(curve: &Curve, perfect: Option<Curve>) -> CurveArea {
    let area = curve.area();
    let random_area = curve.random_area();
    let perfect_area = perfect.map(|p| p.area());
    let normalized = perfect_area.and_then(|p| {
        let room = p - random_area;
        (room != 0.0).then(|| (area - random_area) / room)
    });
    CurveArea { area, random_area, perfect_area, normalized }
}

fn uplift_auc_unchecked(outcome: &[f64], scores: &[f64], treatment: &[u8]) -> CurveArea {
    let perfect = is_binary(outcome)
        .then(|| uplift_curve_unchecked(outcome, &perfect_uplift_scores(outcome, treatment), treatment));
    area_of(&uplift_curve_unchecked(outcome, scores, treatment), perfect)
}

fn qini_auc_unchecked(outcome: &[f64], scores: &[f64], treatment: &[u8], negative_effect: bool) -> CurveArea {
    let defined = is_binary(outcome) && check_qini_end(outcome, treatment, negative_effect).is_ok();
    let perfect = defined.then(|| perfect_qini_unchecked(outcome, treatment, negative_effect));
    area_of(&qini_curve_unchecked(outcome, scores, treatment), perfect)
}

/// Area under the uplift curve (AUUC) with its random and, for a binary outcome, perfect
/// references; `normalized` is sklift's `uplift_auc_score`.
pub fn uplift_auc(outcome: &[f64], scores: &[f64], treatment: &[u8]) -> Result<CurveArea> {
    check_inputs(outcome, Some(scores), treatment)?;
    Ok(uplift_auc_unchecked(outcome, scores, treatment))
}

/// Area under the Qini curve with its random and, for a binary outcome, perfect references;
/// `normalized` is the Qini coefficient, sklift's `qini_auc_score`.
pub fn qini_auc(outcome: &[f64], scores: &[f64], treatment: &[u8], negative_effect: bool) -> Result<CurveArea> {
    check_inputs(outcome, Some(scores), treatment)?;
    Ok(qini_auc_unchecked(outcome, scores, treatment, negative_effect))
}

fn normalized_or_err(a: CurveArea) -> Result<f64> {
    a.normalized
        .ok_or_else(|| Error::insufficient("outcome", "the perfect and random curves have the same area; no score"))
}

/// sklift's `uplift_auc_score`: `(AUUC − random) / (perfect − random)`, for a binary outcome with
/// both values present (every outcome 0, or every outcome 1, is an error, as in sklift).
pub fn uplift_auc_score(outcome: &[f64], scores: &[f64], treatment: &[u8]) -> Result<f64> {
    check_inputs(outcome, Some(scores), treatment)?;
    check_binary(outcome)?;
    normalized_or_err(uplift_auc_unchecked(outcome, scores, treatment))
}

/// sklift's `qini_auc_score`, the Qini coefficient: `(area under Qini − random) / (perfect −
/// random)`, for a binary outcome with both values present. Without `negative_effect`, a negative
/// overall effect is an error naming `negative_effect` (the perfect curve is undefined; sklift
/// raises too).
pub fn qini_auc_score(outcome: &[f64], scores: &[f64], treatment: &[u8], negative_effect: bool) -> Result<f64> {
    check_inputs(outcome, Some(scores), treatment)?;
    check_binary(outcome)?;
    check_qini_end(outcome, treatment, negative_effect)?;
    normalized_or_err(qini_auc_unchecked(outcome, scores, treatment, negative_effect))
}

/// The mean of `n` values summing to `sum`; NaN for none, as numpy's mean of an empty array.
fn mean_or_nan(sum: f64, n: usize) -> f64 {
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// Uplift among the top `k` by score: mean outcome of the treated minus that of the control
/// (sklift's `uplift_at_k`). `Overall` cuts the first `k` of the whole ranking (a fraction is
/// `floor(k · n)` units); `ByGroup` takes the first `k` treated and the first `k` control units
/// (a fraction is `floor(k · n_group)` of each group). A fraction must lie in (0, 1) and a count
/// in `1..n` (and, by group, be at most each group's size), as in sklift. When the cut holds no
/// treated or no control unit the result is **NaN**, as in sklift (the mean of no unit).
pub fn uplift_at_k(outcome: &[f64], scores: &[f64], treatment: &[u8], k: TopK, strategy: CutStrategy) -> Result<f64> {
    check_inputs(outcome, Some(scores), treatment)?;
    let n = outcome.len();
    match k {
        TopK::Fraction(f) if !(f > 0.0 && f < 1.0) => {
            return Err(Error::invalid("k", format!("a fraction must be in (0, 1), got {f}")))
        }
        TopK::Count(c) if c == 0 || c >= n => {
            return Err(Error::invalid("k", format!("a count must be in 1..{n} (the number of units), got {c}")))
        }
        _ => {}
    }
    let order = rank_order(scores);
    match strategy {
        CutStrategy::Overall => {
            let size = match k {
                TopK::Fraction(f) => (n as f64 * f) as usize,
                TopK::Count(c) => c,
            };
            let (mut s_t, mut n_t, mut s_c, mut n_c) = (0.0, 0, 0.0, 0);
            for &i in &order[..size] {
                if treatment[i] == 1 {
                    s_t += outcome[i];
                    n_t += 1;
                } else {
                    s_c += outcome[i];
                    n_c += 1;
                }
            }
            Ok(mean_or_nan(s_t, n_t) - mean_or_nan(s_c, n_c))
        }
        CutStrategy::ByGroup => {
            let group_mean = |g: u8, name: &str| -> Result<f64> {
                let ranked: Vec<usize> = order.iter().copied().filter(|&i| treatment[i] == g).collect();
                let size = match k {
                    TopK::Fraction(f) => (ranked.len() as f64 * f) as usize,
                    TopK::Count(c) => c,
                };
                if size > ranked.len() {
                    return Err(Error::invalid(
                        "k",
                        format!("{size} is more than the {} units of the {name} group", ranked.len()),
                    ));
                }
                Ok(mean_or_nan(ranked[..size].iter().map(|&i| outcome[i]).sum(), size))
            };
            Ok(group_mean(1, "treated")? - group_mean(0, "control")?)
        }
    }
}

/// One bin of [`uplift_by_percentile`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PercentileBin {
    /// sklift's label of the bin (its `string_percentiles`): `"0-10"`, `"10-20"`, ... with the
    /// bounds `round(100 · b / bins)` rounded half to even, as Python's `round` does (`"0-12"`,
    /// `"12-25"` for 8 bins).
    pub label: String,
    /// The bin spans ranks `(low_fraction, high_fraction]` of the ranking (0 = the top).
    pub low_fraction: f64,
    pub high_fraction: f64,
    pub n_treated: usize,
    pub n_control: usize,
    /// Mean outcome (the response rate for a binary outcome); `None` for an empty group.
    pub rate_treated: Option<f64>,
    pub rate_control: Option<f64>,
    /// `rate_treated − rate_control`.
    pub uplift: Option<f64>,
    /// `sqrt(v_t/n_t + v_c/n_c)` with `v` the population variance (ddof 0) of the outcome, which
    /// for a binary outcome is sklift's `sqrt(p_t(1 − p_t)/n_t + p_c(1 − p_c)/n_c)`.
    pub std_err: Option<f64>,
}

/// Uplift by percentile bins of the ranking (sklift's `uplift_by_percentile`; `bins = 10` gives
/// deciles). `Overall` splits the whole ranking into `bins` near-equal parts, `ByGroup` splits
/// the treated and the control rankings separately; parts follow `np.array_split`: the first
/// `len % bins` parts have one unit more. `bins` must be in `1..n`.
pub fn uplift_by_percentile(
    outcome: &[f64],
    scores: &[f64],
    treatment: &[u8],
    bins: usize,
    strategy: CutStrategy,
) -> Result<Vec<PercentileBin>> {
    check_inputs(outcome, Some(scores), treatment)?;
    let n = outcome.len();
    if bins == 0 || bins >= n {
        return Err(Error::invalid("bins", format!("must be in 1..{n} (the number of units), got {bins}")));
    }
    let order = rank_order(scores);
    let split = |items: &[usize]| -> Vec<Vec<usize>> {
        let (base, extra) = (items.len() / bins, items.len() % bins);
        let mut start = 0;
        (0..bins)
            .map(|b| {
                let len = base + usize::from(b < extra);
                let part = items[start..start + len].to_vec();
                start += len;
                part
            })
            .collect()
    };
    let (treated_bins, control_bins): (Vec<Vec<usize>>, Vec<Vec<usize>>) = match strategy {
        CutStrategy::Overall => {
            let parts = split(&order);
            let pick =
                |g: u8| parts.iter().map(|p| p.iter().copied().filter(|&i| treatment[i] == g).collect()).collect();
            (pick(1), pick(0))
        }
        CutStrategy::ByGroup => {
            let group = |g: u8| order.iter().copied().filter(|&i| treatment[i] == g).collect::<Vec<_>>();
            (split(&group(1)), split(&group(0)))
        }
    };
    let moments = |idx: &[usize]| -> Option<(f64, f64)> {
        if idx.is_empty() {
            return None;
        }
        let m = idx.iter().map(|&i| outcome[i]).sum::<f64>() / idx.len() as f64;
        let v = idx.iter().map(|&i| (outcome[i] - m).powi(2)).sum::<f64>() / idx.len() as f64;
        Some((m, v))
    };
    Ok((0..bins)
        .map(|b| {
            let (t, c) = (&treated_bins[b], &control_bins[b]);
            let (mt, mc) = (moments(t), moments(c));
            let both = mt.zip(mc);
            PercentileBin {
                label: format!("{}-{}", percentile_bound(b, bins), percentile_bound(b + 1, bins)),
                low_fraction: b as f64 / bins as f64,
                high_fraction: (b + 1) as f64 / bins as f64,
                n_treated: t.len(),
                n_control: c.len(),
                rate_treated: mt.map(|m| m.0),
                rate_control: mc.map(|m| m.0),
                uplift: both.map(|(a, b)| a.0 - b.0),
                std_err: both.map(|(a, b)| (a.1 / t.len() as f64 + b.1 / c.len() as f64).sqrt()),
            }
        })
        .collect())
}

/// sklift's bin bound `round(b · 100 / bins)` (Python's `round`: half to even), in exact integer
/// arithmetic; 0 for `b = 0`.
fn percentile_bound(b: usize, bins: usize) -> u128 {
    let num = 100 * b as u128;
    let (q, r) = (num / bins as u128, num % bins as u128);
    let twice = 2 * r;
    match twice.cmp(&(bins as u128)) {
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q % 2),
        std::cmp::Ordering::Less => q,
    }
}

/// Which area [`bootstrap_uplift_auc`] resamples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaStatistic {
    /// `(area − random) / (perfect − random)`: sklift's `uplift_auc_score` and `qini_auc_score`
    /// (binary outcome only).
    #[default]
    Normalized,
    /// `area − random`, in units of (units targeted × outcome); works for continuous outcomes.
    AboveRandom,
}

/// The most resamples [`bootstrap_uplift_auc`] draws (it keeps one number per resample and
/// computes two areas for each): a bound on the work an argument can ask for.
pub const MAX_RESAMPLES: usize = 1_000_000;

/// Options of [`bootstrap_uplift_auc`] (names as in `scipy.stats.bootstrap`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BootstrapOptions {
    pub n_resamples: usize,
    pub confidence_level: f64,
    pub seed: u64,
    /// Passed to the perfect Qini curve (sklift's `negative_effect`).
    pub negative_effect: bool,
    pub statistic: AreaStatistic,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions {
            n_resamples: 1000,
            confidence_level: 0.95,
            seed: 0,
            negative_effect: true,
            statistic: AreaStatistic::Normalized,
        }
    }
}

/// A point estimate with its bootstrap percentile interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapInterval {
    pub estimate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Standard deviation of the resampled statistic.
    pub std_err: f64,
    /// Resamples where the statistic was defined (a normalised score is undefined when a
    /// resample's perfect and random areas coincide); the interval uses only these.
    pub n_valid: usize,
}

/// Bootstrap intervals for the AUUC and the Qini coefficient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpliftAucBootstrap {
    pub statistic: AreaStatistic,
    pub uplift_auc: BootstrapInterval,
    pub qini_auc: BootstrapInterval,
}

/// Percentile bootstrap intervals for the AUUC and the Qini coefficient.
///
/// Each resample draws `n_t` treated and `n_c` control units with replacement *within* their
/// group (a stratified bootstrap: both groups always present, group sizes fixed as in the
/// experiment's design), from a ChaCha8 generator seeded with `seed`, so the same seed gives the
/// same interval on every platform. Bounds are the `(1 ∓ confidence_level)/2` quantiles of the
/// resampled statistic with linear interpolation (numpy's default). Duplicated units tie in score
/// and enter the curves together, as the module's tie rule says.
pub fn bootstrap_uplift_auc(
    outcome: &[f64],
    scores: &[f64],
    treatment: &[u8],
    options: &BootstrapOptions,
) -> Result<UpliftAucBootstrap> {
    check_inputs(outcome, Some(scores), treatment)?;
    if !(2..=MAX_RESAMPLES).contains(&options.n_resamples) {
        return Err(Error::invalid(
            "n_resamples",
            format!("must be in 2..={MAX_RESAMPLES}, got {}", options.n_resamples),
        ));
    }
    if !(options.confidence_level > 0.0 && options.confidence_level < 1.0) {
        return Err(Error::invalid("confidence_level", format!("must be in (0, 1), got {}", options.confidence_level)));
    }
    if options.statistic == AreaStatistic::Normalized {
        check_binary(outcome)?;
        check_qini_end(outcome, treatment, options.negative_effect)?;
    }
    let pick = |a: CurveArea| match options.statistic {
        AreaStatistic::Normalized => a.normalized,
        AreaStatistic::AboveRandom => Some(a.area - a.random_area),
    };
    let stats = |y: &[f64], s: &[f64], t: &[u8]| {
        (pick(uplift_auc_unchecked(y, s, t)), pick(qini_auc_unchecked(y, s, t, options.negative_effect)))
    };
    let (est_u, est_q) = stats(outcome, scores, treatment);
    let missing = || Error::insufficient("outcome", "the perfect and random curves have the same area; no score");
    let (est_u, est_q) = (est_u.ok_or_else(missing)?, est_q.ok_or_else(missing)?);

    let treated: Vec<usize> = (0..outcome.len()).filter(|&i| treatment[i] == 1).collect();
    let control: Vec<usize> = (0..outcome.len()).filter(|&i| treatment[i] == 0).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let (mut draws_u, mut draws_q) = (Vec::new(), Vec::new());
    let (mut y, mut s, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..options.n_resamples {
        y.clear();
        s.clear();
        t.clear();
        for group in [&treated, &control] {
            for _ in 0..group.len() {
                let i = group[rand::RngExt::random_range(&mut rng, 0..group.len())];
                y.push(outcome[i]);
                s.push(scores[i]);
                t.push(treatment[i]);
            }
        }
        let (u, q) = stats(&y, &s, &t);
        draws_u.extend(u);
        draws_q.extend(q);
    }
    let interval = |estimate: f64, mut draws: Vec<f64>| -> Result<BootstrapInterval> {
        if draws.len() < 2 {
            return Err(Error::insufficient("outcome", "fewer than 2 resamples gave a defined score"));
        }
        draws.sort_by(f64::total_cmp);
        let tail = (1.0 - options.confidence_level) / 2.0;
        let m = draws.iter().sum::<f64>() / draws.len() as f64;
        let sd = (draws.iter().map(|d| (d - m).powi(2)).sum::<f64>() / (draws.len() - 1) as f64).sqrt();
        Ok(BootstrapInterval {
            estimate,
            ci_low: quantile_sorted(&draws, tail),
            ci_high: quantile_sorted(&draws, 1.0 - tail),
            std_err: sd,
            n_valid: draws.len(),
        })
    };
    Ok(UpliftAucBootstrap {
        statistic: options.statistic,
        uplift_auc: interval(est_u, draws_u)?,
        qini_auc: interval(est_q, draws_q)?,
    })
}

/// Quantile of sorted values with linear interpolation (numpy's default, Hyndman–Fan type 7).
fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Balance of one feature between treated and control.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureBalance {
    /// Index of the feature (column) as given.
    pub feature: usize,
    /// Non-missing values per group.
    pub n_treated: usize,
    pub n_control: usize,
    pub mean_treated: Option<f64>,
    pub mean_control: Option<f64>,
    /// Standardised mean difference; `None` when a group has fewer than 2 values or both
    /// variances are 0 with different means.
    pub smd: Option<f64>,
}

/// Standardised mean difference of each feature between treated and control (Austin 2009,
/// "Balance diagnostics for comparing the distribution of baseline covariates between treatment
/// groups in propensity-score matched samples", Stat. Med. 28, eq. 1):
/// `d = (x̄_t − x̄_c) / sqrt((s²_t + s²_c) / 2)` with sample variances (ddof 1). NaN is a missing
/// value and omitted per feature. |d| > 0.1 is the usual flag of imbalance. `features` is
/// column-major: one slice per feature, each as long as `treatment`.
pub fn standardized_mean_differences(features: &[&[f64]], treatment: &[u8]) -> Result<Vec<FeatureBalance>> {
    if treatment.is_empty() {
        return Err(Error::insufficient("treatment", "is empty"));
    }
    if let Some(i) = treatment.iter().position(|&t| t > 1) {
        return Err(Error::invalid(
            format!("treatment[{i}]"),
            format!("must be 0 (control) or 1, got {}", treatment[i]),
        ));
    }
    let mut out = Vec::with_capacity(features.len());
    for (j, col) in features.iter().enumerate() {
        if col.len() != treatment.len() {
            return Err(Error::length_mismatch(
                format!("features[{j}]"),
                (col.len(), "values"),
                "treatment",
                (treatment.len(), ""),
            ));
        }
        if let Some(i) = col.iter().position(|v| v.is_infinite()) {
            return Err(Error::invalid(format!("features[{j}][{i}]"), "must be finite or NaN (missing)"));
        }
        let group = |g: u8| -> Vec<f64> {
            col.iter().zip(treatment).filter(|&(v, &t)| t == g && !v.is_nan()).map(|(&v, _)| v).collect()
        };
        let (xt, xc) = (group(1), group(0));
        let mean = |x: &[f64]| (!x.is_empty()).then(|| x.iter().sum::<f64>() / x.len() as f64);
        let var = |x: &[f64], m: f64| x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64;
        let (mt, mc) = (mean(&xt), mean(&xc));
        let smd = match (mt, mc) {
            (Some(a), Some(b)) if xt.len() >= 2 && xc.len() >= 2 => {
                let pooled = ((var(&xt, a) + var(&xc, b)) / 2.0).sqrt();
                if pooled > 0.0 {
                    Some((a - b) / pooled)
                } else if a == b {
                    Some(0.0)
                } else {
                    None
                }
            }
            _ => None,
        };
        out.push(FeatureBalance {
            feature: j,
            n_treated: xt.len(),
            n_control: xc.len(),
            mean_treated: mt,
            mean_control: mc,
            smd,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
