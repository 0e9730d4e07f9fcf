//! Always-valid (peek-safe) confidence sequences.
//!
//! The two-sided normal-mixture boundary of Howard, Ramdas, McAuliffe & Sekhon (2021),
//! "Time-uniform, nonparametric, nonasymptotic confidence sequences", eq. (14), in the
//! asymptotic form GrowthBook and Eppo use. With `N` units analysed so far in the two arms
//! compared (control and the variant, as gbstats' `SequentialTwoSidedTTest`; other arms of the
//! experiment are not part of this estimate), an effect estimate with standard error `se` (so
//! `s² = se²·N` is the per-unit variance), level
//! `alpha` and a tuning sample size `N*` (the `N` at which the boundary is tightest):
//!
//! ```text
//! ρ² = (−2 ln α + ln(−2 ln α + 1)) / N*
//! half-width = s · sqrt( 2(Nρ² + 1) / (N² ρ²) · ln( sqrt(Nρ² + 1) / α ) )
//! ```
//!
//! The interval `estimate ± half-width` covers the true effect at every look simultaneously with
//! probability `1 − α`, so a team may look every day and stop when it excludes 0. Dividing the
//! half-width by `se` gives a multiplier `m(N, α)` that replaces the fixed-horizon `z_{1−α/2}`;
//! the always-valid p-value is the smallest `α` whose sequence excludes 0.
//!
//! Group-sequential designs with a planned number of looks are in [`super::group_sequential`].

use serde::{Deserialize, Serialize};

use super::check_alpha;
use crate::error::{Error, Result};

/// GrowthBook's default tuning sample size `N*`.
pub const DEFAULT_TUNING: f64 = 5000.0;

/// The confidence-sequence multiplier `m(N, α) = half-width / se` for `n_total` units (of the
/// two arms compared).
pub fn cs_multiplier(n_total: f64, alpha: f64, tuning: f64) -> Result<f64> {
    check_alpha(alpha)?;
    if !(n_total >= 1.0) || !n_total.is_finite() {
        return Err(Error::invalid("n_total", format!("{n_total} is not a count >= 1")));
    }
    if !(tuning > 0.0) || !tuning.is_finite() {
        return Err(Error::invalid("tuning", format!("{tuning} is not a sample size > 0")));
    }
    let l = -2.0 * alpha.ln();
    let rho2 = (l + (l + 1.0).ln()) / tuning;
    let nr = n_total * rho2;
    let inner = 2.0 * (nr + 1.0) / (n_total * n_total * rho2) * ((nr + 1.0).sqrt() / alpha).ln();
    Ok((n_total * inner.max(0.0)).sqrt())
}

/// An always-valid interval and p-value for one estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SequentialInterval {
    pub ci_low: f64,
    pub ci_high: f64,
    /// The smallest `alpha` whose confidence sequence excludes 0 (1 when none does).
    pub p_value: f64,
    /// `half-width / std_err`.
    pub multiplier: f64,
}

/// The always-valid interval of `estimate ± m(N, α)·std_err` and its p-value.
pub fn confidence_sequence(
    estimate: f64,
    std_err: f64,
    n_total: f64,
    alpha: f64,
    tuning: f64,
) -> Result<SequentialInterval> {
    if !estimate.is_finite() {
        return Err(Error::invalid("estimate", "is not a finite number"));
    }
    if !(std_err > 0.0) || !std_err.is_finite() {
        return Err(Error::invalid("std_err", format!("{std_err} is not a standard error > 0")));
    }
    let m = cs_multiplier(n_total, alpha, tuning)?;
    let z = estimate.abs() / std_err;
    Ok(SequentialInterval {
        ci_low: estimate - m * std_err,
        ci_high: estimate + m * std_err,
        p_value: always_valid_p(z, n_total, tuning)?,
        multiplier: m,
    })
}

/// The smallest `α` with `m(N, α) <= z`, by bisection on `ln α` (m decreases in α).
fn always_valid_p(z: f64, n_total: f64, tuning: f64) -> Result<f64> {
    let (mut lo, mut hi) = ((1e-300f64).ln(), (1.0f64 - 1e-12).ln());
    if cs_multiplier(n_total, hi.exp(), tuning)? > z {
        return Ok(1.0);
    }
    if cs_multiplier(n_total, lo.exp(), tuning)? <= z {
        return Ok(0.0);
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if cs_multiplier(n_total, mid.exp(), tuning)? > z {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    Ok(hi.exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The multiplier exceeds the fixed-horizon z at every N (peeking costs width) and the
    /// p-value inverts the interval.
    #[test]
    fn wider_than_fixed_and_inverts() {
        for &n in &[10.0, 100.0, 1000.0, 5000.0, 1e5, 1e7] {
            let m = cs_multiplier(n, 0.05, DEFAULT_TUNING).unwrap();
            assert!(m > 1.959964, "N = {n}: {m}");
            let r = confidence_sequence(m * 2.0, 2.0, n, 0.05, DEFAULT_TUNING).unwrap();
            assert!((r.p_value - 0.05).abs() < 1e-8, "N = {n}: {}", r.p_value);
            assert!(r.ci_low.abs() < 1e-9);
        }
    }

    #[test]
    fn bad_input() {
        assert_eq!(cs_multiplier(0.0, 0.05, 5000.0).unwrap_err().field(), Some("n_total"));
        assert_eq!(cs_multiplier(10.0, 1.5, 5000.0).unwrap_err().field(), Some("alpha"));
        assert_eq!(cs_multiplier(10.0, 0.05, 0.0).unwrap_err().field(), Some("tuning"));
        assert_eq!(confidence_sequence(1.0, 0.0, 10.0, 0.05, 5000.0).unwrap_err().field(), Some("std_err"));
        assert_eq!(confidence_sequence(f64::NAN, 1.0, 10.0, 0.05, 5000.0).unwrap_err().field(), Some("estimate"));
    }
}
