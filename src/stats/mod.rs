//! Statistics. Each method lives in its own file and works on plain slices or on mergeable
//! sufficient statistics; nothing here reads files or knows about a face.

pub mod bayes;
pub mod effect;
pub mod group_sequential;
pub mod moments;
pub mod multiple;
pub mod power;
pub mod sequential;
pub mod srm;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::error::{Error, Result};

pub use srm::{check_srm, SrmResult, SRM_ALPHA};

/// The alternative hypothesis of a test, in scipy's words.
///
/// `Greater` means the treatment's metric is larger than control's (effect > 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    #[default]
    TwoSided,
    Greater,
    Less,
}

impl Alternative {
    /// Parses scipy's spelling (`two-sided`, `greater`, `less`).
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "two-sided" | "two_sided" => Ok(Alternative::TwoSided),
            "greater" | "larger" => Ok(Alternative::Greater),
            "less" | "smaller" => Ok(Alternative::Less),
            other => Err(Error::invalid("alternative", format!("'{other}' is not one of two-sided, greater, less"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Alternative::TwoSided => "two-sided",
            Alternative::Greater => "greater",
            Alternative::Less => "less",
        }
    }
}

/// Which way a metric should move.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher is better (conversion, revenue).
    #[default]
    Increase,
    /// Lower is better (unsubscribes, complaints, cost).
    Decrease,
}

/// The standard normal distribution.
pub(crate) fn std_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("standard normal")
}

/// `Φ(x)`.
pub(crate) fn norm_cdf(x: f64) -> f64 {
    std_normal().cdf(x)
}

/// `1 − Φ(x)`, accurate in the upper tail.
pub(crate) fn norm_sf(x: f64) -> f64 {
    std_normal().sf(x)
}

/// `Φ⁻¹(p)`.
pub(crate) fn norm_ppf(p: f64) -> f64 {
    std_normal().inverse_cdf(p)
}

/// The standard normal density.
pub(crate) fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Checks that `alpha` is in (0, 1).
pub(crate) fn check_alpha(alpha: f64) -> Result<()> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(Error::invalid("alpha", format!("{alpha} is not in (0, 1)")))
    }
}
