//! Sample-ratio mismatch: does the observed split match the configured weights?
//!
//! Pearson's chi-square goodness-of-fit test, `X² = Σ (O_i − E_i)² / E_i` with `E_i = n·w_i` and
//! `k − 1` degrees of freedom (variants with weight 0 drop out), flagged at `p < 0.001` by default
//! (the threshold GrowthBook, Optimizely and Kohavi et al. 2020 recommend: a real SRM is a bug in
//! the pipeline, so the alarm must be rare when there is none).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::error::{Error, Result};

/// The default SRM alarm threshold on the p-value.
pub const SRM_ALPHA: f64 = 0.001;

/// The outcome of an SRM check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SrmResult {
    pub statistic: f64,
    pub df: usize,
    pub p_value: f64,
    /// Whether `p_value < alpha`.
    pub mismatch: bool,
    pub observed: Vec<u64>,
    pub expected: Vec<f64>,
}

/// The most units an SRM check counts: 2^53, the largest count a double holds exactly.
const MAX_UNITS: u128 = 1 << 53;

/// Pearson chi-square test of `observed` counts against `weights` (normalised to sum 1).
pub fn check_srm(observed: &[u64], weights: &[f64], alpha: f64) -> Result<SrmResult> {
    if observed.len() != weights.len() {
        return Err(Error::invalid(
            "weights",
            format!("has {} entries for {} observed counts", weights.len(), observed.len()),
        ));
    }
    if observed.len() < 2 {
        return Err(Error::invalid("observed", "needs at least 2 variants"));
    }
    crate::limits::check_len("observed", observed.len(), crate::limits::MAX_VARIANTS, "variants")?;
    if let Some(i) = weights.iter().position(|w| !w.is_finite() || *w < 0.0) {
        return Err(Error::invalid(format!("weights[{i}]"), format!("{} is not a finite weight >= 0", weights[i])));
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::invalid("alpha", format!("{alpha} is not in (0, 1)")));
    }
    let total_w: f64 = weights.iter().sum();
    if total_w <= 0.0 {
        return Err(Error::invalid("weights", "sum to 0"));
    }
    // Summed wide: counts near 2^64 must not wrap around to "no units observed".
    let n: u128 = observed.iter().map(|&o| u128::from(o)).sum();
    if n > MAX_UNITS {
        return Err(Error::invalid(
            "observed",
            format!("the counts sum to {n} units; at most 2^53 ({MAX_UNITS}) are supported"),
        ));
    }
    let n = n as u64;
    if n == 0 {
        return Err(Error::insufficient("observed", "no units observed"));
    }
    let mut statistic = 0.0;
    let mut df = 0usize;
    let mut expected = Vec::with_capacity(weights.len());
    for (i, (&o, &w)) in observed.iter().zip(weights).enumerate() {
        let e = n as f64 * w / total_w;
        expected.push(e);
        if w == 0.0 {
            if o > 0 {
                return Err(Error::invalid(format!("observed[{i}]"), "units observed in a variant with weight 0"));
            }
            continue;
        }
        statistic += (o as f64 - e).powi(2) / e;
        df += 1;
    }
    let df = df.saturating_sub(1);
    if df == 0 {
        return Err(Error::invalid("weights", "need at least 2 variants with weight > 0"));
    }
    let dist = ChiSquared::new(df as f64).map_err(|e| Error::Internal(e.to_string()))?;
    let p_value = dist.sf(statistic);
    Ok(SrmResult { statistic, df, p_value, mismatch: p_value < alpha, observed: observed.to_vec(), expected })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12: counts that sum past 2^64 used to wrap around to "no units observed".
    #[test]
    fn srm_counts_that_overflow_are_an_error() {
        let e = check_srm(&[1 << 63, 1 << 63], &[0.5, 0.5], 0.001).unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid_input", Some("observed")));
        assert!(e.to_string().contains("2^53"), "{e}");
        assert!(check_srm(&[1 << 52, 1 << 52], &[0.5, 0.5], 0.001).is_ok());
        let e = check_srm(&[1; 101], &[1.0 / 101.0; 101], 0.001).unwrap_err();
        assert_eq!(e.field(), Some("observed"));
    }

    /// Reference: scipy 1.17.1, `scipy.stats.chisquare(obs, n * w)`. For df = 2 the chi-square
    /// survival function is exactly `exp(-x/2)`, an independent closed form. Tolerance 1e-12
    /// relative: both compute the regularised incomplete gamma in double precision.
    #[test]
    fn agrees_with_scipy_chisquare() {
        let cases: &[(&[u64], &[f64], f64, f64)] = &[
            (&[5021, 4979], &[0.5, 0.5], 0.1764, 0.6744854536964989),
            (&[10123, 9877], &[0.5, 0.5], 3.0258, 0.08194989587323867),
            (&[2010, 3050, 4940], &[0.2, 0.3, 0.5], 1.6033333333333335, 0.44858070623180535),
            (&[480, 520, 1000], &[0.25, 0.25, 0.5], 1.6, 0.4493289641172217),
            (&[5300, 4700], &[0.5, 0.5], 36.0, 1.9731752900753933e-09),
        ];
        for (obs, w, stat, p) in cases {
            let r = check_srm(obs, w, SRM_ALPHA).unwrap();
            assert!((r.statistic - stat).abs() <= 1e-12 * stat, "{obs:?}: {}", r.statistic);
            assert!((r.p_value - p).abs() <= 1e-9 * p, "{obs:?}: {} vs {p}", r.p_value);
            if r.df == 2 {
                assert!((r.p_value - (-r.statistic / 2.0).exp()).abs() < 1e-14);
            }
            assert_eq!(r.mismatch, *p < SRM_ALPHA);
        }
    }

    #[test]
    fn bad_input() {
        assert_eq!(check_srm(&[1, 2], &[0.5], 0.001).unwrap_err().field(), Some("weights"));
        assert_eq!(check_srm(&[0, 0], &[0.5, 0.5], 0.001).unwrap_err().code(), "insufficient_data");
        assert_eq!(check_srm(&[3, 2], &[1.0, 0.0], 0.001).unwrap_err().field(), Some("observed[1]"));
        assert_eq!(check_srm(&[3, 2], &[0.5, f64::NAN], 0.001).unwrap_err().field(), Some("weights[1]"));
    }
}
