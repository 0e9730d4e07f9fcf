//! Bayesian view of an effect: a normal approximation with a normal prior on the relative effect.
//!
//! The likelihood of the relative effect `θ` is `N(θ̂, se²)` (the delta-method estimate of
//! [`super::effect`]); the prior is `N(μ₀, σ₀²)` or flat. The posterior is normal with precision
//! `1/se² + 1/σ₀²` and mean `(θ̂/se² + μ₀/σ₀²) / precision` (conjugate normal–normal; Gelman et al.,
//! *Bayesian Data Analysis*, 3rd ed., §2.5). From it:
//!
//! - chance to beat control `P(θ > 0)` (or `P(θ < 0)` when lower is better);
//! - risk (expected loss) of shipping the treatment `E[max(0, −θ)]` and of keeping control
//!   `E[max(0, θ)]`, in relative terms, by the closed form `E[max(0, X)] = μΦ(μ/σ) + σφ(μ/σ)`
//!   for `X ~ N(μ, σ²)`;
//! - an equal-tailed `1 − alpha` credible interval.
//!
//! Default prior: flat (the posterior then equals the likelihood). The documented informative
//! choice is [`Prior::informative`], `N(0, 0.3²)` on the relative effect — GrowthBook's default
//! proper prior: lifts beyond ±60% are a priori rare, and small samples are shrunk toward 0.

use serde::{Deserialize, Serialize};

use super::{check_alpha, norm_cdf, norm_pdf, norm_ppf, Direction};
use crate::error::{Error, Result};

/// A normal prior on the relative effect; `std_dev = None` is the flat prior.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Prior {
    pub mean: f64,
    pub std_dev: Option<f64>,
}

impl Prior {
    /// The flat (improper) prior.
    pub fn flat() -> Self {
        Prior { mean: 0.0, std_dev: None }
    }

    /// `N(0, 0.3²)` on the relative effect.
    pub fn informative() -> Self {
        Prior { mean: 0.0, std_dev: Some(0.3) }
    }
}

/// The posterior summary of one relative effect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct BayesResult {
    pub post_mean: f64,
    pub post_std_dev: f64,
    /// Probability that the variant is better than control in the metric's direction.
    pub chance_to_win: f64,
    /// Expected relative loss if the variant is shipped.
    pub risk_variant: f64,
    /// Expected relative loss if control is kept.
    pub risk_control: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// `E[max(0, X)]` for `X ~ N(mu, sd²)`.
fn expected_positive_part(mu: f64, sd: f64) -> f64 {
    let z = mu / sd;
    mu * norm_cdf(z) + sd * norm_pdf(z)
}

/// The posterior of a relative effect `rel_effect ± rel_std_err` under `prior`.
pub fn bayes_effect(
    rel_effect: f64,
    rel_std_err: f64,
    prior: &Prior,
    direction: Direction,
    alpha: f64,
) -> Result<BayesResult> {
    check_alpha(alpha)?;
    if !rel_effect.is_finite() {
        return Err(Error::invalid("rel_effect", "is not a finite number"));
    }
    if !(rel_std_err > 0.0) || !rel_std_err.is_finite() {
        return Err(Error::invalid("rel_std_err", format!("{rel_std_err} is not a standard error > 0")));
    }
    if !prior.mean.is_finite() {
        return Err(Error::invalid("prior.mean", "is not a finite number"));
    }
    let like_prec = 1.0 / (rel_std_err * rel_std_err);
    let (mean, sd) = match prior.std_dev {
        None => (rel_effect, rel_std_err),
        Some(s) if s > 0.0 && s.is_finite() => {
            let prior_prec = 1.0 / (s * s);
            let prec = like_prec + prior_prec;
            ((rel_effect * like_prec + prior.mean * prior_prec) / prec, prec.sqrt().recip())
        }
        Some(s) => return Err(Error::invalid("prior.std_dev", format!("{s} is not a standard deviation > 0"))),
    };
    // Gains are measured in the metric's good direction.
    let sign = if direction == Direction::Decrease { -1.0 } else { 1.0 };
    let good = sign * mean;
    let q = norm_ppf(1.0 - alpha / 2.0);
    Ok(BayesResult {
        post_mean: mean,
        post_std_dev: sd,
        chance_to_win: norm_cdf(good / sd),
        risk_variant: expected_positive_part(-good, sd),
        risk_control: expected_positive_part(good, sd),
        ci_low: mean - q * sd,
        ci_high: mean + q * sd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Risk of shipping minus risk of keeping equals the posterior mean gain
    /// (E[max(0,X)] − E[max(0,−X)] = E[X]), and a flat prior returns the likelihood.
    #[test]
    fn identities() {
        let r = bayes_effect(0.03, 0.02, &Prior::flat(), Direction::Increase, 0.05).unwrap();
        assert!((r.risk_control - r.risk_variant - 0.03).abs() < 1e-15);
        assert_eq!((r.post_mean, r.post_std_dev), (0.03, 0.02));
        let d = bayes_effect(0.03, 0.02, &Prior::flat(), Direction::Decrease, 0.05).unwrap();
        assert!((d.chance_to_win + r.chance_to_win - 1.0).abs() < 1e-15);
        assert_eq!(d.risk_variant, r.risk_control);
    }

    #[test]
    fn bad_input() {
        let p = Prior { mean: 0.0, std_dev: Some(-1.0) };
        assert_eq!(bayes_effect(0.1, 0.1, &p, Direction::Increase, 0.05).unwrap_err().field(), Some("prior.std_dev"));
        assert_eq!(
            bayes_effect(0.1, 0.0, &Prior::flat(), Direction::Increase, 0.05).unwrap_err().field(),
            Some("rel_std_err")
        );
        assert_eq!(
            bayes_effect(f64::INFINITY, 0.1, &Prior::flat(), Direction::Increase, 0.05).unwrap_err().field(),
            Some("rel_effect")
        );
    }
}
