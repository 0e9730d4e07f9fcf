//! Sufficient statistics: everything the analysis needs about one arm (or one segment of one arm)
//! for one metric, in a form that merges by addition.
//!
//! Each unit contributes up to four values: `x` (the metric value, or a ratio's numerator),
//! `y` (a ratio's denominator), `c` (the pre-period covariate for CUPED, or the pre-period
//! numerator of a ratio) and `d` (the pre-period denominator of a ratio). [`SuffStats`] keeps the
//! count, the four sums and the ten sums of products. Adding two of them gives the statistics of
//! the union of their units, so any engine (SQL, Spark, a loop over Parquet row groups) can compute
//! them in pieces; the analysis runs on them alone.
//!
//! ## Shifted sums (numerical stability)
//!
//! Every sum is of the *shifted* values `v − k_v`, with one constant `k_v` per component
//! (`shift_x`, `shift_y`, `shift_c`, `shift_d`; 0 by default, which is the plain sums). Raw sums of
//! squares lose the variance to cancellation when the mean is large against the standard deviation:
//! `Σx² − (Σx)²/n` at mean 1e8 and sd 10 keeps about 1 significant digit in f64. With `k` near the
//! data (any one value of it, or a cheap first pass) the shifted sums hold small numbers and the
//! covariance `(Σ(v_i−k_i)(v_j−k_j) − Σ(v_i−k_i)·Σ(v_j−k_j)/n) / (n − ddof)` is the same
//! (covariances are translation invariant) without the cancellation: the "shifted data" algorithm of
//! Chan, Golub & LeVeque (1983), "Algorithms for computing the sample variance: analysis and
//! recommendations", *The American Statistician* 37(3), §3. Means are `k + Σ(v−k)/n`.
//!
//! Two statistics with different shifts merge by re-expressing one in the other's shift with the
//! binomial identities (`δ = k_old − k_new`):
//!
//! ```text
//! Σ(v − k_new)               = Σ(v − k_old) + n·δ_v
//! Σ(v − k_new)(w − m_new)    = Σ(v − k_old)(w − m_old) + δ_w·Σ(v − k_old) + δ_v·Σ(w − m_old) + n·δ_v·δ_w
//! ```
//!
//! which are exact in real arithmetic and, for shifts near the data, well conditioned in f64.
//!
//! ## Optional sums
//!
//! Two groups of sums are kept only when asked for (`None` otherwise, and after merging with
//! statistics that lack them): `sum_x3 = Σ (x − shift_x)³`, for the sample skewness that warns of
//! a heavily skewed metric ([`SuffStats::skewness`]), and `sum_lx`, `sum_lx2` of `ln x − shift_lx`,
//! for the log-scale relative interval of a positive metric. They re-express like the others:
//! `Σ(a + δ)³ = Σa³ + 3δ·Σa² + 3δ²·Σa + n·δ³`.

use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

/// Count, shifted sums and shifted sums of products of one arm's per-unit values.
///
/// Unused components stay 0. Field names read as `sum_x2 = Σ (x − shift_x)²`,
/// `sum_xy = Σ (x − shift_x)(y − shift_y)`; with the default shifts of 0 they are the plain
/// `Σ x²`, `Σ x·y`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SuffStats {
    /// Number of units.
    pub n: u64,
    /// `Σ (x − shift_x)`.
    #[serde(default)]
    pub sum_x: f64,
    /// `Σ (x − shift_x)²`.
    #[serde(default)]
    pub sum_x2: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum_y: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum_y2: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum_xy: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum_c: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum_c2: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum_xc: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum_yc: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum_d: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum_d2: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum_xd: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum_yd: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum_cd: f64,
    /// The constant subtracted from every `x` before it enters a sum (default 0: plain sums).
    /// Any value near the data keeps the variance exact for large means, e.g. one unit's value
    /// or a per-metric constant chosen by the warehouse query.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shift_x: f64,
    /// The constant subtracted from every `y` (a ratio's denominator) before it enters a sum.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shift_y: f64,
    /// The constant subtracted from every `c` (the CUPED covariate) before it enters a sum.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shift_c: f64,
    /// The constant subtracted from every `d` (the covariate's denominator) before it enters a sum.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shift_d: f64,
    /// `Σ (x − shift_x)³`, for the skewness check of mean metrics; absent: not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum_x3: Option<f64>,
    /// `Σ (ln x − shift_lx)`, for the log-scale relative interval of a positive mean metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum_lx: Option<f64>,
    /// `Σ (ln x − shift_lx)²`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum_lx2: Option<f64>,
    /// The constant subtracted from every `ln x` before it enters `sum_lx` and `sum_lx2`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shift_lx: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// Component indices into [`SuffStats::sum`] and [`SuffStats::sum_prod`].
pub const X: usize = 0;
pub const Y: usize = 1;
pub const C: usize = 2;
pub const D: usize = 3;

impl SuffStats {
    /// Empty statistics whose sums will be of `v − shift[i]` for component `i`.
    pub fn with_shift(shift: [f64; 4]) -> Self {
        SuffStats { shift_x: shift[X], shift_y: shift[Y], shift_c: shift[C], shift_d: shift[D], ..Default::default() }
    }

    /// These statistics, also keeping `Σ (x − shift_x)³` of the units pushed from now on (call it
    /// on empty statistics).
    pub fn with_third_moment(mut self) -> Self {
        self.sum_x3 = Some(0.0);
        self
    }

    /// These statistics, also keeping the sums of `ln x − shift`, starting from 0: every unit's
    /// `ln x` is then added with [`SuffStats::push_log`].
    pub fn with_log_scale(mut self, shift: f64) -> Self {
        self.sum_lx = Some(0.0);
        self.sum_lx2 = Some(0.0);
        self.shift_lx = shift;
        self
    }

    /// Statistics of a single metric value per unit (binary or mean metric) with the third
    /// moment, shifted by the first finite value so that large means keep their variance.
    pub fn from_values(x: &[f64]) -> Self {
        let k = x.iter().copied().find(|v| v.is_finite()).unwrap_or(0.0);
        let mut s = SuffStats::with_shift([k, 0.0, 0.0, 0.0]).with_third_moment();
        for &v in x {
            s.push_x(v);
        }
        s
    }

    /// [`SuffStats::from_values`] with the log-scale sums too (the values must be positive).
    pub fn from_positive_values(x: &[f64]) -> Self {
        let k = x.iter().copied().find(|v| v.is_finite()).unwrap_or(1.0);
        let mut s = SuffStats::from_values(x).with_log_scale(k.ln());
        for &v in x {
            s.push_log(v.ln());
        }
        s
    }

    /// Adds one unit (its values are shifted by the statistics' shifts).
    #[inline]
    pub fn push(&mut self, x: f64, y: f64, c: f64, d: f64) {
        let (x, y, c, d) = (x - self.shift_x, y - self.shift_y, c - self.shift_c, d - self.shift_d);
        self.n += 1;
        self.sum_x += x;
        self.sum_x2 += x * x;
        if let Some(s3) = self.sum_x3.as_mut() {
            *s3 += x * x * x;
        }
        self.sum_y += y;
        self.sum_y2 += y * y;
        self.sum_xy += x * y;
        self.sum_c += c;
        self.sum_c2 += c * c;
        self.sum_xc += x * c;
        self.sum_yc += y * c;
        self.sum_d += d;
        self.sum_d2 += d * d;
        self.sum_xd += x * d;
        self.sum_yd += y * d;
        self.sum_cd += c * d;
    }

    /// Adds one unit with only a value `x` (binary and mean metrics): the other sums stay 0, so
    /// the other shifts must be 0.
    #[inline]
    pub fn push_x(&mut self, x: f64) {
        let x = x - self.shift_x;
        self.n += 1;
        self.sum_x += x;
        self.sum_x2 += x * x;
        if let Some(s3) = self.sum_x3.as_mut() {
            *s3 += x * x * x;
        }
    }

    /// Adds `ln x` of the unit just pushed to the log-scale sums (when kept); the count is the
    /// push's.
    #[inline]
    pub fn push_log(&mut self, lx: f64) {
        if let (Some(s1), Some(s2)) = (self.sum_lx.as_mut(), self.sum_lx2.as_mut()) {
            let l = lx - self.shift_lx;
            *s1 += l;
            *s2 += l * l;
        }
    }

    /// The sample skewness of `x`, `g₁ = m₃ / m₂^{3/2}` with the central moments `m_k` of the
    /// units (ddof 0: scipy's `stats.skew(bias=True)`), from the shifted sums; `None` without
    /// `sum_x3`, with fewer than 3 units or no variance.
    pub fn skewness(&self) -> Option<f64> {
        let s3 = self.sum_x3?;
        if self.n < 3 {
            return None;
        }
        let n = self.n as f64;
        let (a1, a2, a3) = (self.sum_x / n, self.sum_x2 / n, s3 / n);
        let m2 = a2 - a1 * a1;
        let m3 = a3 - 3.0 * a1 * a2 + 2.0 * a1 * a1 * a1;
        (m2 > 0.0 && m2.is_finite()).then(|| m3 / m2.powf(1.5)).filter(|g| g.is_finite())
    }

    /// The mean and the sample variance (ddof 1) of `ln x`, when the log-scale sums are kept.
    pub fn log_moments(&self) -> Option<(f64, f64)> {
        let (s1, s2) = (self.sum_lx?, self.sum_lx2?);
        let n = self.n as f64;
        if self.n < 2 {
            return None;
        }
        Some((self.shift_lx + s1 / n, ((s2 - s1 * s1 / n) / (n - 1.0)).max(0.0)))
    }

    /// The shift of component `i`.
    pub fn shift(&self, i: usize) -> f64 {
        match i {
            X => self.shift_x,
            Y => self.shift_y,
            C => self.shift_c,
            _ => self.shift_d,
        }
    }

    /// The four shifts `[x, y, c, d]`.
    pub fn shifts(&self) -> [f64; 4] {
        [self.shift_x, self.shift_y, self.shift_c, self.shift_d]
    }

    /// `Σ (v_i − shift_i)` for component `i` ([`X`], [`Y`], [`C`], [`D`]).
    pub fn sum(&self, i: usize) -> f64 {
        match i {
            X => self.sum_x,
            Y => self.sum_y,
            C => self.sum_c,
            _ => self.sum_d,
        }
    }

    /// The plain `Σ v_i = Σ (v_i − shift_i) + n·shift_i` (for checks of a value's range, not for
    /// variances: it can be large).
    pub fn raw_sum(&self, i: usize) -> f64 {
        self.sum(i) + self.n as f64 * self.shift(i)
    }

    /// `Σ (v_i − shift_i)(v_j − shift_j)`.
    pub fn sum_prod(&self, i: usize, j: usize) -> f64 {
        match (i.min(j), i.max(j)) {
            (X, X) => self.sum_x2,
            (X, Y) => self.sum_xy,
            (X, C) => self.sum_xc,
            (X, D) => self.sum_xd,
            (Y, Y) => self.sum_y2,
            (Y, C) => self.sum_yc,
            (Y, D) => self.sum_yd,
            (C, C) => self.sum_c2,
            (C, D) => self.sum_cd,
            _ => self.sum_d2,
        }
    }

    fn sum_prod_mut(&mut self, i: usize, j: usize) -> &mut f64 {
        match (i.min(j), i.max(j)) {
            (X, X) => &mut self.sum_x2,
            (X, Y) => &mut self.sum_xy,
            (X, C) => &mut self.sum_xc,
            (X, D) => &mut self.sum_xd,
            (Y, Y) => &mut self.sum_y2,
            (Y, C) => &mut self.sum_yc,
            (Y, D) => &mut self.sum_yd,
            (C, C) => &mut self.sum_c2,
            (C, D) => &mut self.sum_cd,
            _ => &mut self.sum_d2,
        }
    }

    fn sum_mut(&mut self, i: usize) -> &mut f64 {
        match i {
            X => &mut self.sum_x,
            Y => &mut self.sum_y,
            C => &mut self.sum_c,
            _ => &mut self.sum_d,
        }
    }

    /// The mean of component `i`: `shift_i + Σ (v_i − shift_i) / n`.
    pub fn mean(&self, i: usize) -> f64 {
        self.shift(i) + self.sum(i) / self.n as f64
    }

    /// `mean_i(self) − mean_i(other)`, computed as `(k_self − k_other) + (S_self/n_self −
    /// S_other/n_other)` so that a small difference of two large means keeps its digits (the two
    /// means rounded to f64 first would keep only `ulp(mean)` of it).
    pub fn mean_diff(&self, other: &SuffStats, i: usize) -> f64 {
        (self.shift(i) - other.shift(i)) + (self.sum(i) / self.n as f64 - other.sum(i) / other.n as f64)
    }

    /// The sample covariance of components `i` and `j` with `ddof` degrees of freedom removed
    /// (`(Σ a_i a_j − Σa_i Σa_j / n) / (n − ddof)` over the shifted values `a = v − shift`, which
    /// equals the covariance of `v`); rounding below zero is clamped for variances.
    pub fn cov(&self, i: usize, j: usize, ddof: u64) -> f64 {
        let n = self.n as f64;
        let v = (self.sum_prod(i, j) - self.sum(i) * self.sum(j) / n) / (n - ddof as f64);
        if i == j {
            v.max(0.0)
        } else {
            v
        }
    }

    /// The same statistics re-expressed with sums of `v − shift[i]` (the binomial identities of
    /// the module documentation). Components whose shift does not change are left untouched.
    pub fn reshift(&self, shift: [f64; 4]) -> SuffStats {
        let old = *self;
        let mut s = *self;
        let delta: [f64; 4] = std::array::from_fn(|i| old.shift(i) - shift[i]);
        if delta == [0.0; 4] {
            return s;
        }
        if let (Some(s3), true) = (old.sum_x3, delta[X] != 0.0) {
            let (d, n) = (delta[X], old.n as f64);
            s.sum_x3 = Some(s3 + 3.0 * d * old.sum_x2 + 3.0 * d * d * old.sum_x + n * d * d * d);
        }
        let n = self.n as f64;
        for i in 0..4 {
            for j in i..4 {
                if delta[i] != 0.0 || delta[j] != 0.0 {
                    *s.sum_prod_mut(i, j) =
                        old.sum_prod(i, j) + delta[j] * old.sum(i) + delta[i] * old.sum(j) + n * delta[i] * delta[j];
                }
            }
            if delta[i] != 0.0 {
                *s.sum_mut(i) = old.sum(i) + n * delta[i];
            }
        }
        s.shift_x = shift[X];
        s.shift_y = shift[Y];
        s.shift_c = shift[C];
        s.shift_d = shift[D];
        s
    }

    /// The same statistics with the log-scale sums re-expressed around `shift`.
    pub fn reshift_log(&self, shift: f64) -> SuffStats {
        let mut s = *self;
        let d = self.shift_lx - shift;
        if d != 0.0 {
            if let (Some(s1), Some(s2)) = (self.sum_lx, self.sum_lx2) {
                let n = self.n as f64;
                s.sum_lx = Some(s1 + n * d);
                s.sum_lx2 = Some(s2 + 2.0 * d * s1 + n * d * d);
            }
            s.shift_lx = shift;
        }
        s
    }

    /// The names of the fields that hold a non-finite number, for error messages.
    pub fn non_finite_field(&self) -> Option<&'static str> {
        let fields = [
            ("sum_x", self.sum_x),
            ("sum_x2", self.sum_x2),
            ("sum_y", self.sum_y),
            ("sum_y2", self.sum_y2),
            ("sum_xy", self.sum_xy),
            ("sum_c", self.sum_c),
            ("sum_c2", self.sum_c2),
            ("sum_xc", self.sum_xc),
            ("sum_yc", self.sum_yc),
            ("sum_d", self.sum_d),
            ("sum_d2", self.sum_d2),
            ("sum_xd", self.sum_xd),
            ("sum_yd", self.sum_yd),
            ("sum_cd", self.sum_cd),
            ("shift_x", self.shift_x),
            ("shift_y", self.shift_y),
            ("shift_c", self.shift_c),
            ("shift_d", self.shift_d),
            ("sum_x3", self.sum_x3.unwrap_or(0.0)),
            ("sum_lx", self.sum_lx.unwrap_or(0.0)),
            ("sum_lx2", self.sum_lx2.unwrap_or(0.0)),
            ("shift_lx", self.shift_lx),
        ];
        fields.iter().find(|(_, v)| !v.is_finite()).map(|(k, _)| *k)
    }
}

impl AddAssign for SuffStats {
    /// Merges `o` into `self`. The result keeps `self`'s shifts, or `o`'s when `self` has no
    /// units (so that summing from `SuffStats::default()` adopts the first non-empty operand's
    /// shifts); the other operand is re-expressed with [`SuffStats::reshift`].
    fn add_assign(&mut self, o: Self) {
        let adopt = self.n == 0 && o.n > 0;
        let target = if adopt { o.shifts() } else { self.shifts() };
        let target_lx = if adopt { o.shift_lx } else { self.shift_lx };
        if self.shifts() != target {
            *self = self.reshift(target);
        }
        if self.shift_lx != target_lx {
            *self = self.reshift_log(target_lx);
        }
        let mut o = if o.shifts() != target { o.reshift(target) } else { o };
        if o.shift_lx != target_lx {
            o = o.reshift_log(target_lx);
        }
        // an optional sum survives a merge when both sides have it (or one side has no units)
        let merge = |a: Option<f64>, b: Option<f64>, an: u64, bn: u64| match (a, b) {
            (Some(x), Some(y)) => Some(x + y),
            (None, Some(y)) if an == 0 => Some(y),
            (Some(x), None) if bn == 0 => Some(x),
            _ => None,
        };
        self.sum_x3 = merge(self.sum_x3, o.sum_x3, self.n, o.n);
        self.sum_lx = merge(self.sum_lx, o.sum_lx, self.n, o.n);
        self.sum_lx2 = merge(self.sum_lx2, o.sum_lx2, self.n, o.n);
        self.n += o.n;
        self.sum_x += o.sum_x;
        self.sum_x2 += o.sum_x2;
        self.sum_y += o.sum_y;
        self.sum_y2 += o.sum_y2;
        self.sum_xy += o.sum_xy;
        self.sum_c += o.sum_c;
        self.sum_c2 += o.sum_c2;
        self.sum_xc += o.sum_xc;
        self.sum_yc += o.sum_yc;
        self.sum_d += o.sum_d;
        self.sum_d2 += o.sum_d2;
        self.sum_xd += o.sum_xd;
        self.sum_yd += o.sum_yd;
        self.sum_cd += o.sum_cd;
    }
}

impl Add for SuffStats {
    type Output = SuffStats;
    fn add(mut self, o: Self) -> Self {
        self += o;
        self
    }
}

impl std::iter::Sum for SuffStats {
    fn sum<I: Iterator<Item = SuffStats>>(iter: I) -> Self {
        iter.fold(SuffStats::default(), |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn build(rows: &[(f64, f64, f64, f64)], shift: [f64; 4]) -> SuffStats {
        let mut s = SuffStats::with_shift(shift);
        for &(x, y, c, d) in rows {
            s.push(x, y, c, d);
        }
        s
    }

    /// Statistics that describe the same units: equal counts, means and covariances (the
    /// shift-free content), to `tol` relative.
    fn same_units(a: &SuffStats, b: &SuffStats, tol: f64) -> std::result::Result<(), String> {
        if a.n != b.n {
            return Err(format!("n {} vs {}", a.n, b.n));
        }
        if a.n == 0 {
            return Ok(());
        }
        for i in 0..4 {
            let (p, q) = (a.mean(i), b.mean(i));
            if (p - q).abs() > tol * (1.0 + p.abs()) {
                return Err(format!("mean {i}: {p} vs {q}"));
            }
            for j in 0..4 {
                let (p, q) = (a.cov(i, j, 0), b.cov(i, j, 0));
                let scale = (a.cov(i, i, 0) * a.cov(j, j, 0)).sqrt();
                if (p - q).abs() > tol * (1.0 + scale) {
                    return Err(format!("cov {i}{j}: {p} vs {q}"));
                }
            }
        }
        Ok(())
    }

    proptest! {
        /// Merging the statistics of two parts equals the statistics of the whole (up to
        /// floating-point reassociation), whatever shifts each part was accumulated with.
        #[test]
        fn merge_is_union(rows in prop::collection::vec((-1e3f64..1e3, 0f64..50.0, -1e3f64..1e3, 0f64..50.0), 0..60),
                          cut in 0usize..60,
                          k1 in prop::array::uniform4(-1e3f64..1e3),
                          k2 in prop::array::uniform4(-1e3f64..1e3)) {
            let cut = cut.min(rows.len());
            let whole = build(&rows, [0.0; 4]);
            // plain sums merge by addition, as before shifts existed
            let merged = build(&rows[..cut], [0.0; 4]) + build(&rows[cut..], [0.0; 4]);
            prop_assert_eq!(whole.n, merged.n);
            for i in 0..4 {
                prop_assert!((whole.sum(i) - merged.sum(i)).abs() <= 1e-9 * (1.0 + whole.sum(i).abs()));
                for j in 0..4 {
                    let (a, b) = (whole.sum_prod(i, j), merged.sum_prod(i, j));
                    prop_assert!((a - b).abs() <= 1e-9 * (1.0 + a.abs()));
                }
            }
            // differently shifted parts: the result keeps the left operand's shifts (or the
            // right's when the left is empty) and describes the same units
            let left = build(&rows[..cut], k1);
            let shifted = left + build(&rows[cut..], k2);
            let kept = if cut == 0 && rows.len() > cut { k2 } else { k1 };
            prop_assert_eq!(shifted.shifts(), kept);
            prop_assert!(same_units(&whole, &shifted, 1e-9).is_ok(), "{:?}", same_units(&whole, &shifted, 1e-9));
            // the third moment re-expresses too (Σ(a + δ)³); scale: Σ|x|³ with the shifts' size
            let third = |r: &[(f64, f64, f64, f64)], k: [f64; 4]| {
                let mut s = SuffStats::with_shift(k).with_third_moment();
                for &(x, y, c, d) in r { s.push(x, y, c, d); }
                s
            };
            let whole3 = third(&rows, [0.0; 4]).sum_x3.unwrap();
            let merged3 = (third(&rows[..cut], k1) + third(&rows[cut..], k2)).reshift([0.0; 4]).sum_x3.unwrap();
            let scale: f64 = rows.iter().map(|r| (r.0.abs() + 2e3).powi(3)).sum();
            prop_assert!((whole3 - merged3).abs() <= 1e-12 * (1.0 + scale), "{} vs {}", whole3, merged3);
            // re-expressing in the plain shifts gives the plain sums back
            let back = shifted.reshift([0.0; 4]);
            for i in 0..4 {
                prop_assert!((whole.sum(i) - back.sum(i)).abs() <= 1e-9 * (1.0 + whole.sum(i).abs()));
                for j in 0..4 {
                    let (a, b) = (whole.sum_prod(i, j), back.sum_prod(i, j));
                    prop_assert!((a - b).abs() <= 1e-9 * (1.0 + a.abs()), "{} {} {} {}", i, j, a, b);
                }
            }
        }
    }

    /// Sample variance against the two-pass textbook formula on fixed numbers
    /// (numpy.var([2, 4, 4, 4, 5, 5, 7, 9], ddof=1) = 4.571428571428571).
    #[test]
    fn variance_matches_two_pass() {
        let s = SuffStats::from_values(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert!((s.cov(X, X, 1) - 4.571428571428571).abs() < 1e-12);
        assert!((s.cov(X, X, 0) - 4.0).abs() < 1e-12);
        assert_eq!(s.mean(X), 5.0);
        assert_eq!(s.shift_x, 2.0);
    }

    /// The same numbers plus 1e12: numpy.var(np.array([2, 4, 4, 4, 5, 5, 7, 9]) + 1e12, ddof=1)
    /// = 4.571428571428571 (every value is exact in f64, two-pass in numpy); plain sums of
    /// squares give 0 or garbage here (1e24 has an ulp of 2^27).
    #[test]
    fn variance_with_a_large_offset() {
        let v: Vec<f64> = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0].iter().map(|x| x + 1e12).collect();
        let s = SuffStats::from_values(&v);
        assert!((s.cov(X, X, 1) - 4.571428571428571).abs() < 1e-12, "{}", s.cov(X, X, 1));
        assert_eq!(s.mean(X), 1e12 + 5.0);
        let mut plain = SuffStats::default();
        for &x in &v {
            plain.push_x(x);
        }
        assert!((plain.cov(X, X, 1) - 4.571428571428571).abs() > 0.1, "plain sums kept the variance");
        // the difference of two large means keeps its digits
        let t = SuffStats::from_values(&v.iter().map(|x| x + 0.25).collect::<Vec<_>>());
        assert_eq!(t.mean_diff(&s, X), 0.25);
    }

    /// Skewness against scipy 1.17.1 `stats.skew([2, 4, 4, 4, 5, 5, 7, 9], bias=True)` = 0.65625
    /// (also at an offset of 1e9, and merged from parts with different shifts), and
    /// `stats.skew([0.5, 1, 2, 8, 3, 0.25], bias=True)` = 1.3371828615786259; the log moments
    /// against numpy 2.4 `np.mean(np.log(y))` = 0.2986265782046758 and
    /// `np.var(np.log(y), ddof=1)` = 1.5757354340648404. Tolerance 1e-12 relative (a handful of
    /// rounded operations on small sums).
    #[test]
    fn skewness_and_log_moments_match_scipy() {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert!(close(SuffStats::from_values(&x).skewness().unwrap(), 0.65625));
        let far: Vec<f64> = x.iter().map(|v| v + 1e9).collect();
        assert!(close(SuffStats::from_values(&far).skewness().unwrap(), 0.65625));
        let merged = SuffStats::from_values(&far[..3]) + SuffStats::from_values(&far[3..]);
        assert_ne!(SuffStats::from_values(&far[3..]).shift_x, merged.shift_x);
        assert!(close(merged.skewness().unwrap(), 0.65625), "{:?}", merged.skewness());
        let y = [0.5, 1.0, 2.0, 8.0, 3.0, 0.25];
        let s = SuffStats::from_positive_values(&y);
        assert!(close(s.skewness().unwrap(), 1.3371828615786259));
        let (m, v) = s.log_moments().unwrap();
        assert!(close(m, 0.2986265782046758) && close(v, 1.5757354340648404), "{m} {v}");
        let parts = SuffStats::from_positive_values(&y[..2]) + SuffStats::from_positive_values(&y[2..]);
        let (m2, v2) = parts.log_moments().unwrap();
        assert!(close(m2, m) && close(v2, v), "{m2} {v2}");
        // statistics without the optional sums say so instead of guessing
        let mut plain = SuffStats::default();
        plain.push_x(1.0);
        plain.push_x(2.0);
        plain.push_x(9.0);
        assert_eq!(plain.skewness(), None);
        assert_eq!(plain.log_moments(), None);
        assert_eq!((SuffStats::from_values(&x) + plain).sum_x3, None, "a merge with a part lacking sum_x3");
        assert!((SuffStats::default() + SuffStats::from_values(&x)).sum_x3.is_some(), "an empty part adopts");
    }

    /// A shift in the JSON is read, a zero shift is not written (old inputs read the same).
    #[test]
    fn shifts_in_json() {
        let s: SuffStats = serde_json::from_str(r#"{"n": 2, "sum_x": 1.0, "sum_x2": 1.0}"#).unwrap();
        assert_eq!(s.shifts(), [0.0; 4]);
        assert!(!serde_json::to_string(&s).unwrap().contains("shift"));
        let s: SuffStats =
            serde_json::from_str(r#"{"n": 2, "sum_x": 1.0, "sum_x2": 1.0, "shift_x": 1e9, "shift_c": 3}"#).unwrap();
        assert_eq!(s.mean(X), 1e9 + 0.5);
        assert_eq!(s.shifts(), [1e9, 0.0, 3.0, 0.0]);
        let back: SuffStats = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
