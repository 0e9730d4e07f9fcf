//! Sufficient statistics: everything the analysis needs about one arm (or one segment of one arm)
//! for one metric, in a form that merges by addition.
//!
//! Each unit contributes up to four values: `x` (the metric value, or a ratio's numerator),
//! `y` (a ratio's denominator), `c` (the pre-period covariate for CUPED, or the pre-period
//! numerator of a ratio) and `d` (the pre-period denominator of a ratio). [`SuffStats`] keeps the
//! count, the four sums and the ten sums of products. Adding two of them gives the statistics of
//! the union of their units, so any engine (SQL, Spark, a loop over Parquet row groups) can compute
//! them in pieces; the analysis runs on them alone.

use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

/// Count, sums and sums of products of one arm's per-unit values.
///
/// Unused components stay 0. Field names read as `sum_x2 = Σ x²`, `sum_xy = Σ x·y`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SuffStats {
    /// Number of units.
    pub n: u64,
    #[serde(default)]
    pub sum_x: f64,
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
    /// Statistics of a single metric value per unit (binary or mean metric).
    pub fn from_values(x: &[f64]) -> Self {
        let mut s = SuffStats::default();
        for &v in x {
            s.push(v, 0.0, 0.0, 0.0);
        }
        s
    }

    /// Adds one unit.
    #[inline]
    pub fn push(&mut self, x: f64, y: f64, c: f64, d: f64) {
        self.n += 1;
        self.sum_x += x;
        self.sum_x2 += x * x;
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

    /// Adds one unit with only a value `x` (binary and mean metrics): the other sums stay 0.
    #[inline]
    pub fn push_x(&mut self, x: f64) {
        self.n += 1;
        self.sum_x += x;
        self.sum_x2 += x * x;
    }

    /// `Σ v_i` for component `i` ([`X`], [`Y`], [`C`], [`D`]).
    pub fn sum(&self, i: usize) -> f64 {
        match i {
            X => self.sum_x,
            Y => self.sum_y,
            C => self.sum_c,
            _ => self.sum_d,
        }
    }

    /// `Σ v_i·v_j`.
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

    /// The mean of component `i`.
    pub fn mean(&self, i: usize) -> f64 {
        self.sum(i) / self.n as f64
    }

    /// The sample covariance of components `i` and `j` with `ddof` degrees of freedom removed
    /// (`(Σ v_i v_j − Σv_i Σv_j / n) / (n − ddof)`); rounding below zero is clamped for variances.
    pub fn cov(&self, i: usize, j: usize, ddof: u64) -> f64 {
        let n = self.n as f64;
        let v = (self.sum_prod(i, j) - self.sum(i) * self.sum(j) / n) / (n - ddof as f64);
        if i == j {
            v.max(0.0)
        } else {
            v
        }
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
        ];
        fields.iter().find(|(_, v)| !v.is_finite()).map(|(k, _)| *k)
    }
}

impl AddAssign for SuffStats {
    fn add_assign(&mut self, o: Self) {
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

    proptest! {
        /// Merging the statistics of two parts equals the statistics of the whole (up to
        /// floating-point reassociation).
        #[test]
        fn merge_is_union(rows in prop::collection::vec((-1e3f64..1e3, 0f64..50.0, -1e3f64..1e3, 0f64..50.0), 0..60),
                          cut in 0usize..60) {
            let cut = cut.min(rows.len());
            let build = |r: &[(f64, f64, f64, f64)]| {
                let mut s = SuffStats::default();
                for &(x, y, c, d) in r { s.push(x, y, c, d); }
                s
            };
            let whole = build(&rows);
            let merged = build(&rows[..cut]) + build(&rows[cut..]);
            prop_assert_eq!(whole.n, merged.n);
            for i in 0..4 {
                prop_assert!((whole.sum(i) - merged.sum(i)).abs() <= 1e-9 * (1.0 + whole.sum(i).abs()));
                for j in 0..4 {
                    let (a, b) = (whole.sum_prod(i, j), merged.sum_prod(i, j));
                    prop_assert!((a - b).abs() <= 1e-9 * (1.0 + a.abs()));
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
    }
}
