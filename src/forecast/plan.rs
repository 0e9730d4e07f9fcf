//! The test that follows a forecast: how many units, how many days, and what the test can see.
//!
//! The experiment measures the per-unit topline (everything below the tree's first `count`
//! node) on the units the change reaches: a proportion when every node below the count is a rate
//! (planned for the analysis' Wald test, or R's `power.prop.test` pooled test), otherwise a mean, which needs its per-unit standard deviation
//! (statsmodels' `NormalIndPower`); see [`crate::stats::power`] for the formulas, unequal splits,
//! several arms, CUPED and sequential designs. The effect designed for is the forecast's likely
//! per-unit change, `Π (1 + e_i) − 1` over the changed nodes below the count; a change of the
//! count itself (more units) is not visible to a per-unit test and is left out, with a note.

use serde::{Deserialize, Serialize};

use super::{dilution_factor, validate, ForecastInput, NodeKind};
use crate::error::{Error, Result};
use crate::stats::power::{
    duration_days, minimum_detectable_effect, power, sample_size, Baseline, DesignOptions, EffectSize, Mde, SampleSize,
};

fn default_max_days() -> f64 {
    28.0
}

/// How the test would be run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    #[serde(default)]
    pub design: DesignOptions,
    /// Per-unit standard deviation of the per-unit topline (needed unless it is a proportion).
    #[serde(default)]
    pub std_dev: Option<f64>,
    /// The longest the team can run the test, in days.
    #[serde(default = "default_max_days")]
    pub max_days: f64,
}

impl Default for PlanInput {
    fn default() -> Self {
        PlanInput { design: DesignOptions::default(), std_dev: None, max_days: default_max_days() }
    }
}

/// The plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct TestPlan {
    pub baseline: Baseline,
    /// The relative per-unit effect designed for.
    pub rel_effect: f64,
    /// Units the change reaches per day (the test's traffic).
    pub daily_units: f64,
    /// Sample size to detect `rel_effect` with the design's power.
    pub sample_size: SampleSize,
    /// Days to collect `sample_size.n_total` units.
    pub duration_days: u64,
    /// What `max_days` of traffic can detect, and the power for `rel_effect` in that time.
    pub mde_at_max_days: Mde,
    pub power_at_max_days: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The test plan of a forecast's likely change.
pub fn test_plan(input: &ForecastInput, plan: &PlanInput) -> Result<TestPlan> {
    let changed = validate(input).map_err(|e| e.within("model"))?;
    let Some(first) = input.nodes.first().filter(|n| n.kind == NodeKind::Count) else {
        return Err(Error::invalid(
            "model.nodes[0]",
            "a test plan needs the tree to start with a count of units per period",
        ));
    };
    if !(plan.max_days >= 1.0 && plan.max_days.is_finite()) {
        return Err(Error::invalid("plan.max_days", format!("{} is not a number of days >= 1", plan.max_days)));
    }
    let below = &input.nodes[1..];
    let per_unit: f64 = below.iter().map(|n| n.baseline).product();
    let baseline = if below.iter().all(|n| n.kind == NodeKind::Rate) {
        Baseline::Proportion { rate: per_unit }
    } else {
        let sd = plan.std_dev.ok_or_else(|| {
            Error::invalid(
                "plan.std_dev",
                "the per-unit topline is not a proportion: give its per-unit standard deviation",
            )
        })?;
        Baseline::Mean { mean: per_unit, std_dev: sd }
    };
    let mut notes = Vec::new();
    let mut prod = 1.0;
    for &(k, c) in &changed {
        if k == 0 {
            notes.push(format!(
                "the change of '{}' (more units) is not visible to a per-unit test and is left out of the plan",
                c.node
            ));
        } else {
            prod *= 1.0 + c.likely * dilution_factor(input, k);
        }
    }
    let rel_effect = prod - 1.0;
    if rel_effect == 0.0 {
        return Err(Error::invalid(
            "model.changes",
            "the likely per-unit change is 0: there is nothing for a test to detect",
        ));
    }
    // The power functions name design fields bare (`power`) and the rest by their own names.
    let within = |e: Error| {
        let design = matches!(
            e.field(),
            Some("alpha" | "power" | "alternative" | "ratio" | "variants" | "variance_reduction" | "sequential")
        ) || e.field().is_some_and(|f| f.starts_with("sequential."));
        e.within(if design { "plan.design" } else { "plan" })
    };
    let daily_units = first.baseline / input.period_days * input.coverage;
    let o = &plan.design;
    let size = sample_size(&baseline, EffectSize::Relative(rel_effect), o).map_err(within)?;
    let days = duration_days(size.n_total, daily_units, 1.0).map_err(within)?;
    let arms = 1.0 + o.ratio * o.variants as f64;
    let n_control = (daily_units * plan.max_days / arms).max(2.0);
    let mde = minimum_detectable_effect(&baseline, n_control, o).map_err(within)?;
    let power_max = power(&baseline, EffectSize::Relative(rel_effect), n_control, o).map_err(within)?;
    Ok(TestPlan {
        baseline,
        rel_effect,
        daily_units,
        sample_size: size,
        duration_days: days,
        mde_at_max_days: mde,
        power_at_max_days: power_max,
        notes,
    })
}
