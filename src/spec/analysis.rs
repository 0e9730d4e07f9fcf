//! The analysis part of the spec: metrics and analysis settings.
//!
//! ```toml
//! [analysis]                     # defaults for every experiment; [experiments.analysis] overrides
//! alpha = 0.05
//! alternative = "two-sided"
//! correction = "holm"            # none | holm | benjamini_hochberg
//! sequential = "off"             # off | confidence_sequence | group_sequential
//! tuning = 5000                  # confidence sequence: N* (GrowthBook's default)
//! looks = 4                      # group sequential: planned looks ...
//! planned_units = 20000          # ... and the units at the last look
//! prior = { mean = 0.0, std_dev = 0.3 }   # Bayesian view; omit for the flat prior
//! segments = ["channel"]         # exposure columns to break results down by
//!
//! [[metrics]]
//! name = "spend"
//! kind = "mean"                  # binary | mean | ratio
//! column = "spend"               # default: the name
//! covariate = "history"          # CUPED pre-period column
//! cap = { quantile = 0.99 }      # or { value = 500 }
//! relative_interval = "log"      # delta (default) | log: the ratio of geometric means, for a
//!                                # heavily skewed positive metric (see stats::effect)
//!
//! [[metrics]]
//! name = "spend_per_visit"
//! kind = "ratio"
//! column = "spend"
//! denominator = "visit"
//!
//! [[metrics]]
//! name = "unsubscribe"
//! kind = "binary"
//! direction = "decrease"
//! guardrail_margin = 0.001       # non-inferiority: at most 0.001 worse, in the metric's units
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::stats::bayes::Prior;
use crate::stats::effect::{MetricKind, RelativeInterval};
use crate::stats::multiple::Correction;
use crate::stats::sequential::DEFAULT_TUNING;
use crate::stats::{check_alpha, Alternative, Direction};

/// A metric as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    pub name: String,
    pub kind: MetricKind,
    /// The outcome column (a ratio's numerator); default: the metric's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// A ratio's denominator column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator: Option<String>,
    /// Pre-period covariate column for CUPED (a ratio's pre-period numerator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covariate: Option<String>,
    /// A ratio's pre-period denominator column (required with `covariate` for ratios).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covariate_denominator: Option<String>,
    /// Which way is good (default `increase`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Makes the metric a guardrail: the variant must be shown no worse than control by more
    /// than this margin, in the metric's units (non-inferiority).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_margin: Option<f64>,
    /// Caps the per-unit value (and a ratio's numerator) before analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<CapSpec>,
    /// What a unit without an outcome row contributes: `zero` (default) or `drop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Missing>,
    /// The relative effect's interval: `delta` (default, the ratio of means) or `log` (the ratio
    /// of geometric means; mean metrics of positive values without CUPED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative_interval: Option<RelativeInterval>,
}

/// Capping (winsorisation) of large values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CapSpec {
    /// Cap at this quantile of the pooled values (numpy's default, linear interpolation).
    Quantile(f64),
    /// Cap at this fixed value.
    Value(f64),
}

/// What a unit with no outcome row contributes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// Counts as 0 (no conversion, no spend): the usual case for exposure-based analysis.
    #[default]
    Zero,
    /// Left out of the metric.
    Drop,
}

/// How the analysis treats time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SequentialMode {
    /// Fixed horizon: analyse once, at the planned end.
    #[default]
    Off,
    /// Always-valid confidence sequences: look whenever you like.
    ConfidenceSequence,
    /// A planned number of looks with O'Brien–Fleming-type spending.
    GroupSequential,
}

/// Analysis settings as written; every field optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative: Option<Alternative>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<Correction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential: Option<SequentialMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub looks: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_units: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<Prior>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<String>,
}

/// A validated metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Metric {
    pub name: String,
    pub kind: MetricKind,
    pub column: String,
    pub denominator: Option<String>,
    pub covariate: Option<String>,
    pub covariate_denominator: Option<String>,
    pub direction: Direction,
    pub guardrail_margin: Option<f64>,
    pub cap: Option<CapSpec>,
    pub missing: Missing,
    #[serde(default)]
    pub relative_interval: RelativeInterval,
}

impl Metric {
    /// Whether CUPED applies.
    pub fn cuped(&self) -> bool {
        self.covariate.is_some()
    }
    /// Every column the metric reads from the outcomes.
    pub fn columns(&self) -> Vec<&str> {
        [Some(&self.column), self.denominator.as_ref(), self.covariate.as_ref(), self.covariate_denominator.as_ref()]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect()
    }
}

/// Validated analysis settings, defaults filled in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AnalysisSettings {
    pub alpha: f64,
    pub alternative: Alternative,
    pub correction: Correction,
    pub sequential: SequentialMode,
    pub tuning: f64,
    pub looks: Option<usize>,
    pub planned_units: Option<u64>,
    pub prior: Prior,
    pub segments: Vec<String>,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        AnalysisSettings {
            alpha: 0.05,
            alternative: Alternative::TwoSided,
            correction: Correction::Holm,
            sequential: SequentialMode::Off,
            tuning: DEFAULT_TUNING,
            looks: None,
            planned_units: None,
            prior: Prior::flat(),
            segments: Vec::new(),
        }
    }
}

fn non_empty(s: &str, field: &str) -> Result<()> {
    if s.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    Ok(())
}

impl MetricSpec {
    /// Validates one metric.
    pub fn validate(&self) -> Result<Metric> {
        non_empty(&self.name, "name")?;
        let column = self.column.clone().unwrap_or_else(|| self.name.clone());
        non_empty(&column, "column")?;
        match (self.kind, &self.denominator) {
            (MetricKind::Ratio, None) => {
                return Err(Error::invalid("denominator", "a ratio metric needs a denominator"))
            }
            (MetricKind::Binary | MetricKind::Mean, Some(_)) => {
                return Err(Error::invalid("denominator", "only ratio metrics have a denominator"))
            }
            _ => {}
        }
        match (self.kind, &self.covariate, &self.covariate_denominator) {
            (MetricKind::Binary, Some(_), _) => {
                return Err(Error::invalid("covariate", "CUPED applies to mean and ratio metrics; use kind = \"mean\""))
            }
            (MetricKind::Ratio, Some(_), None) => {
                return Err(Error::invalid(
                    "covariate_denominator",
                    "a ratio's CUPED covariate is a pre-period ratio: give its denominator column",
                ))
            }
            (MetricKind::Binary | MetricKind::Mean, _, Some(_)) | (_, None, Some(_)) => {
                return Err(Error::invalid("covariate_denominator", "only a ratio metric with a covariate has one"))
            }
            _ => {}
        }
        if let Some(m) = self.guardrail_margin {
            if !(m >= 0.0) || !m.is_finite() {
                return Err(Error::invalid("guardrail_margin", format!("{m} is not a margin >= 0")));
            }
        }
        match self.cap {
            Some(CapSpec::Quantile(q)) if !(q > 0.0 && q < 1.0) => {
                return Err(Error::invalid("cap.quantile", format!("{q} is not in (0, 1)")))
            }
            Some(CapSpec::Value(v)) if !v.is_finite() => return Err(Error::invalid("cap.value", "is not finite")),
            Some(_) if self.kind == MetricKind::Binary => {
                return Err(Error::invalid("cap", "a binary metric has nothing to cap"))
            }
            _ => {}
        }
        let relative_interval = self.relative_interval.unwrap_or_default();
        if relative_interval == RelativeInterval::Log {
            if self.kind != MetricKind::Mean {
                return Err(Error::invalid(
                    "relative_interval",
                    "the log-scale relative interval applies to mean metrics (kind = \"mean\")",
                ));
            }
            if self.covariate.is_some() {
                return Err(Error::invalid(
                    "relative_interval",
                    "the log-scale relative interval does not combine with CUPED (covariate)",
                ));
            }
        }
        Ok(Metric {
            name: self.name.clone(),
            kind: self.kind,
            column,
            denominator: self.denominator.clone(),
            covariate: self.covariate.clone(),
            covariate_denominator: self.covariate_denominator.clone(),
            direction: self.direction.unwrap_or_default(),
            guardrail_margin: self.guardrail_margin,
            cap: self.cap,
            missing: self.missing.unwrap_or_default(),
            relative_interval,
        })
    }
}

impl AnalysisSpec {
    /// Validates settings over `base` (the spec-level defaults).
    pub fn validate(&self, base: &AnalysisSettings) -> Result<AnalysisSettings> {
        let mut s = base.clone();
        if let Some(a) = self.alpha {
            check_alpha(a)?;
            s.alpha = a;
        }
        if let Some(a) = self.alternative {
            s.alternative = a;
        }
        if let Some(c) = self.correction {
            s.correction = c;
        }
        if let Some(m) = self.sequential {
            s.sequential = m;
        }
        if let Some(t) = self.tuning {
            if !(t > 0.0) || !t.is_finite() {
                return Err(Error::invalid("tuning", format!("{t} is not a sample size > 0")));
            }
            s.tuning = t;
        }
        if let Some(l) = self.looks {
            if !(1..=50).contains(&l) {
                return Err(Error::invalid("looks", format!("{l} is not in 1..=50")));
            }
            s.looks = Some(l);
        }
        if let Some(p) = self.planned_units {
            if p < 4 {
                return Err(Error::invalid("planned_units", "must be at least 4"));
            }
            s.planned_units = Some(p);
        }
        if let Some(p) = self.prior {
            if !p.mean.is_finite() {
                return Err(Error::invalid("prior.mean", "is not finite"));
            }
            if let Some(sd) = p.std_dev {
                if !(sd > 0.0) || !sd.is_finite() {
                    return Err(Error::invalid("prior.std_dev", format!("{sd} is not a standard deviation > 0")));
                }
            }
            s.prior = p;
        }
        if !self.segments.is_empty() {
            for (i, seg) in self.segments.iter().enumerate() {
                non_empty(seg, &format!("segments[{i}]"))?;
            }
            s.segments = self.segments.clone();
        }
        if s.sequential == SequentialMode::GroupSequential {
            if s.looks.is_none() {
                return Err(Error::invalid("looks", "a group-sequential analysis needs the planned number of looks"));
            }
            if s.planned_units.is_none() {
                return Err(Error::invalid(
                    "planned_units",
                    "a group-sequential analysis needs the planned units at the last look",
                ));
            }
        }
        if s.sequential == SequentialMode::ConfidenceSequence && s.alternative != Alternative::TwoSided {
            return Err(Error::invalid("alternative", "confidence sequences are two-sided"));
        }
        Ok(s)
    }
}
