//! Experiment reports: the versioned JSON model every face returns, built by
//! [`analyze_experiment`] from sufficient statistics.
//!
//! Schema version [`REPORT_SCHEMA_VERSION`]; a field is only ever added within a version. The
//! sample-ratio check comes first in every report and an SRM makes the decision `invalid`.

use serde::{Deserialize, Serialize};

use crate::spec::AnalysisSettings;
use crate::stats::bayes::BayesResult;
use crate::stats::effect::{Effect, MetricKind};
use crate::stats::{Direction, SrmResult};

pub mod aggregate;
pub mod analyze;
pub mod check;
pub mod input;
pub mod render;
pub mod uplift_chart;

pub use aggregate::{aggregate_experiment, Codes, Exposures, Ids, Outcomes};
pub use analyze::{analyze_experiment, Cells, ExperimentData};

/// The version of the report's JSON schema.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// The analysis of one experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Report {
    pub schema_version: u32,
    pub liftlab_version: String,
    pub experiment: String,
    /// Variant names, control first.
    pub variants: Vec<String>,
    pub settings: AnalysisSettings,
    /// Sample-ratio mismatch check of the exposures against the configured weights.
    pub srm: SrmResult,
    pub decision: Decision,
    pub data: DataSummary,
    pub metrics: Vec<MetricReport>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentReport>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimelinePoint>,
}

/// What to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ship,
    DoNotShip,
    KeepRunning,
    /// The data cannot be trusted (sample-ratio mismatch).
    Invalid,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ship => "ship",
            Verdict::DoNotShip => "do not ship",
            Verdict::KeepRunning => "keep running",
            Verdict::Invalid => "invalid",
        }
    }
}

/// The decision summary of an experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Decision {
    pub verdict: Verdict,
    /// The variant to ship, when the verdict is `ship`.
    pub variant: Option<String>,
    pub reasons: Vec<String>,
}

/// Counts of the input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct DataSummary {
    pub exposures: Vec<u64>,
    pub multiple_exposures: u64,
    pub missing_outcomes: u64,
    pub n_total: u64,
}

/// One metric: arms, effects of each variant, or the reason it could not be analysed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MetricReport {
    pub name: String,
    pub kind: MetricKind,
    pub direction: Direction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardrail_margin: Option<f64>,
    pub cuped: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theta: Option<f64>,
    pub arms: Vec<ArmReport>,
    pub effects: Vec<EffectReport>,
    /// Why the metric could not be analysed (e.g. zero variance in every arm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One arm of a metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ArmReport {
    pub variant: String,
    pub n: u64,
    pub estimate: Option<f64>,
    pub std_err: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjusted: Option<f64>,
    /// The sample skewness of the metric's values (mean metrics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skewness: Option<f64>,
}

/// Non-inferiority of a guardrail metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GuardrailStatus {
    /// Shown no worse than the margin (one-sided test at `alpha`).
    Pass,
    /// Shown worse than the margin.
    Fail,
    /// Neither yet.
    Inconclusive,
}

/// One variant against control on one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct EffectReport {
    pub variant: String,
    pub abs_effect: f64,
    pub std_err: f64,
    pub statistic: f64,
    pub df: Option<f64>,
    /// The p-value (always-valid under a confidence sequence).
    pub p_value: f64,
    /// After the multiple-comparison correction (primary metrics only).
    pub p_adjusted: Option<f64>,
    /// Whether the effect is significant after correction / by the sequential boundary.
    pub significant: Option<bool>,
    /// `better`, `worse` (significant, in the metric's direction) or `flat`.
    pub verdict: Option<String>,
    /// `fixed` or `confidence_sequence`.
    pub interval: String,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub rel_effect: Option<f64>,
    pub rel_std_err: Option<f64>,
    pub rel_ci_low: Option<f64>,
    pub rel_ci_high: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variance_reduction: Option<f64>,
    /// With `relative_interval = log`: the difference of the arms' mean `ln x` and its standard
    /// error (the relative effect is `exp(log_effect) − 1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_effect: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_std_err: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bayes: Option<BayesResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardrail: Option<GuardrailStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl EffectReport {
    fn from_effect(e: &Effect, variant: &str) -> Self {
        EffectReport {
            variant: variant.to_string(),
            abs_effect: e.abs_effect,
            std_err: e.std_err,
            statistic: e.statistic,
            df: e.df,
            p_value: e.p_value,
            p_adjusted: None,
            significant: None,
            verdict: None,
            interval: "fixed".into(),
            ci_low: e.ci_low,
            ci_high: e.ci_high,
            rel_effect: e.rel_effect,
            rel_std_err: e.rel_std_err,
            rel_ci_low: e.rel_ci_low,
            rel_ci_high: e.rel_ci_high,
            variance_reduction: e.variance_reduction,
            log_effect: e.log_effect,
            log_std_err: e.log_std_err,
            bayes: None,
            guardrail: None,
            notes: e.notes.clone(),
        }
    }
}

/// The metrics of one segment value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SegmentReport {
    pub column: String,
    pub value: String,
    pub metrics: Vec<MetricReport>,
}

/// The cumulative relative effect at the end of a day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct TimelinePoint {
    pub date: String,
    pub metric: String,
    pub variant: String,
    pub n: u64,
    pub rel_effect: Option<f64>,
    pub rel_ci_low: Option<f64>,
    pub rel_ci_high: Option<f64>,
}
