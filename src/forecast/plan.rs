//! The test that follows a forecast: which metric it reads, how many units, how many days, and
//! what it can see.
//!
//! **The metric the test reads.** A test can read the per-unit value of any node `k` below the
//! tree's first `count` node: `x_k = Π_{1 ≤ j ≤ k} node_j`, the share of units that get as far
//! as a rate ("the share of leads reaching 'interested'"), or an amount per unit once a value is
//! in the chain. By default it reads the node the change acts on (the deepest changed node
//! below the count): a process KPI moves first and with less noise than the topline, which is
//! then forecast from it. The plan of a test read on the topline per unit is given beside it.
//!
//! **The effect designed for** is the likely change of `x_k`: `Π (1 + e_j·f_j) − 1` over the
//! changed nodes `j ≤ k` below the count, `f_j = 1 − dilution` when a rate lies between `j` and
//! `k` (see the module's dilution). A change of the count itself (more units) is not visible to
//! a per-unit test and is left out, with a note; so are changes below `k`, which the test does
//! not read but the topline forecast assumes. An observed lift `x` of the test metric maps to
//! the topline among the reached units as `(1 + x)·r − 1`, `r = (1 + T)/(1 + E)` with `T` the
//! topline's and `E` the test metric's likely per-unit change (`r = 1`: one for one), and to the
//! whole topline times `reach`.
//!
//! **Standard deviations** are derived from the tree where they can be: a per-unit value made of
//! rates only is a proportion (`√(p(1 − p))`, planned for the analysis' Wald test, or R's
//! `power.prop.test` pooled test); with value nodes, the per-unit value is a product of
//! independent factors, a rate a yes/no step (`E[B²] = p`) and a value with its mean `μ` and
//! standard deviation `s` (`E[V²] = s² + μ²`, the value's `std_dev`, among the units that reach
//! it), so `Var x = Π E[f²] − (Π E[f])²`: exact for a funnel of yes/no steps ending in one value.
//! Where a value node has no `std_dev`, the per-unit standard deviation cannot be derived:
//! `plan.std_dev` gives the topline's directly (statsmodels' `NormalIndPower`); without either
//! the topline's plan is left out and [`TestPlan::missing`] names the input that would complete
//! it. See [`crate::stats::power`] for the formulas, unequal splits, several arms, CUPED and
//! sequential designs.

use serde::{Deserialize, Serialize};

use super::text::{self, fmt_amount, Language, PlanNote, Quote};
use super::{dilution_factor_within, validate, Change, FieldNote, ForecastInput, NodeKind};
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
    /// The node whose per-unit value the test reads (default: the deepest changed node below the
    /// count, the node the change acts on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Per-unit standard deviation of the per-unit topline, when it cannot be derived from the
    /// tree (a value node without its `std_dev`); it wins over the derived one.
    #[serde(default)]
    pub std_dev: Option<f64>,
    /// The longest the team can run the test, in days.
    #[serde(default = "default_max_days")]
    pub max_days: f64,
}

impl Default for PlanInput {
    fn default() -> Self {
        PlanInput { design: DesignOptions::default(), metric: None, std_dev: None, max_days: default_max_days() }
    }
}

/// Where a plan's per-unit standard deviation comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StdDevSource {
    /// A proportion: `√(p(1 − p))`.
    Proportion,
    /// Derived from the tree: rates as yes/no steps, values with their `std_dev`.
    Tree,
    /// Given as `plan.std_dev`.
    Given,
}

/// The plan of a test read on one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MetricPlan {
    /// The node whose per-unit value the test reads (the last node for the topline).
    pub metric: String,
    /// That per-unit value in words: "the share of leads reaching 'interested'".
    pub label: String,
    pub baseline: Baseline,
    /// The per-unit standard deviation planned with, and where it comes from.
    pub std_dev: f64,
    pub std_dev_source: StdDevSource,
    /// The relative per-unit effect designed for (the likely change of this metric).
    pub rel_effect: f64,
    pub sample_size: SampleSize,
    /// Days to collect `sample_size.n_total` units.
    pub duration_days: u64,
    pub mde_at_max_days: Mde,
    pub power_at_max_days: f64,
}

/// The plan: the test on its metric (the fields of [`MetricPlan`], kept at the top as before),
/// the topline's plan beside it, and how the test's result maps to the topline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct TestPlan {
    /// The node whose per-unit value the test reads (empty in plans saved before it was chosen:
    /// those read the topline).
    #[serde(default)]
    pub metric: String,
    /// That per-unit value in words.
    #[serde(default)]
    pub metric_label: String,
    pub baseline: Baseline,
    #[serde(default)]
    pub std_dev: Option<f64>,
    #[serde(default)]
    pub std_dev_source: Option<StdDevSource>,
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
    /// `true` when the test reads the topline itself.
    #[serde(default)]
    pub reads_topline: bool,
    /// The plan of a test read on the topline per unit, beside this one (absent when the test
    /// reads the topline, or when the topline's standard deviation cannot be derived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topline: Option<MetricPlan>,
    /// `(1 + topline's likely per-unit change) / (1 + rel_effect)`: an observed lift `x` of the
    /// test metric is `(1 + x)·topline_ratio − 1` on the topline among the reached units.
    #[serde(default = "one")]
    pub topline_ratio: f64,
    /// How the test's result maps to the topline, in words.
    #[serde(default)]
    pub mapping: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Inputs that would complete the plan (a standard deviation that cannot be derived), each
    /// with the field that takes it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<FieldNote>,
}

fn one() -> f64 {
    1.0
}

/// The per-unit value of node `k` (`1 ≤ k`): its mean, and its standard deviation with its source
/// when it can be derived; `None` names the first value node without a `std_dev`.
fn per_unit(input: &ForecastInput, k: usize) -> (f64, std::result::Result<(f64, StdDevSource), usize>) {
    let chain = &input.nodes[1..=k];
    let mean: f64 = chain.iter().map(|n| n.baseline).product();
    if chain.iter().all(|n| n.kind == NodeKind::Rate) {
        return (mean, Ok(((mean * (1.0 - mean)).max(0.0).sqrt(), StdDevSource::Proportion)));
    }
    let mut second = 1.0;
    for (i, n) in chain.iter().enumerate() {
        second *= match (n.kind, n.std_dev) {
            (NodeKind::Rate, _) => n.baseline,
            (_, Some(s)) => s * s + n.baseline * n.baseline,
            (_, None) => return (mean, Err(i + 1)),
        };
    }
    (mean, Ok(((second - mean * mean).max(0.0).sqrt(), StdDevSource::Tree)))
}

/// The likely relative change of node `k`'s per-unit value, over the changed nodes `1..=k`.
fn likely_change(input: &ForecastInput, changed: &[(usize, &Change)], k: usize) -> f64 {
    let mut prod = 1.0;
    for &(j, c) in changed {
        if (1..=k).contains(&j) {
            prod *= 1.0 + c.likely * dilution_factor_within(input, j, k);
        }
    }
    prod - 1.0
}

/// "the share of leads reaching 'interested'", "the topline per unit of leads", ...
fn metric_label(lang: Language, input: &ForecastInput, k: usize, proportion: bool) -> String {
    text::metric_label(lang, &input.nodes[0].name, &input.nodes[k].name, proportion, k + 1 == input.nodes.len())
}

/// The test plan of a forecast's likely change, in English.
pub fn test_plan(input: &ForecastInput, plan: &PlanInput) -> Result<TestPlan> {
    test_plan_in(input, plan, Language::En)
}

/// [`test_plan`] with its sentences (label, mapping, notes, missing inputs) in `lang`; errors are
/// in English.
pub fn test_plan_in(input: &ForecastInput, plan: &PlanInput, lang: Language) -> Result<TestPlan> {
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
    if let Some(sd) = plan.std_dev {
        if !(sd > 0.0 && sd.is_finite()) {
            return Err(Error::invalid("plan.std_dev", format!("{sd} is not a standard deviation > 0")));
        }
    }
    let last = input.nodes.len() - 1;
    if last == 0 {
        return Err(Error::invalid(
            "model.nodes",
            "a test reads a per-unit value: the tree needs a rate or value below the count",
        ));
    }
    // the node the test reads
    let k = match &plan.metric {
        Some(name) => {
            let Some(k) = input.nodes.iter().position(|n| &n.name == name) else {
                let names: Vec<&str> = input.nodes[1..].iter().map(|n| n.name.as_str()).collect();
                return Err(Error::invalid(
                    "plan.metric",
                    format!("'{name}' is not a node of the tree ({})", names.join(", ")),
                ));
            };
            if k == 0 {
                return Err(Error::invalid(
                    "plan.metric",
                    format!("'{name}' is the count of units; a test reads a rate or value per unit below it"),
                ));
            }
            k
        }
        None => match changed.iter().map(|&(j, _)| j).filter(|&j| j > 0).max() {
            Some(k) => k,
            None => return Err(Error::invalid(
                "model.changes",
                "the likely per-unit change is 0: only the count of units changes, which a per-unit test cannot see",
            )),
        },
    };
    let mut notes = Vec::new();
    for &(j, c) in &changed {
        if j == 0 {
            notes.push(text::plan_note(lang, PlanNote::CountChange { node: &c.node }));
        } else if j > k {
            notes.push(text::plan_note(
                lang,
                PlanNote::Below { node: &c.node, likely: c.likely, read: &input.nodes[k].name },
            ));
        }
    }
    let rel_effect = likely_change(input, &changed, k);
    if rel_effect == 0.0 {
        let field = if plan.metric.is_some() { "plan.metric" } else { "model.changes" };
        return Err(Error::invalid(
            field,
            format!(
                "the likely change of {} per unit is 0: no change at or above it; test a node at or below a changed one",
                Quote(&input.nodes[k].name)
            ),
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
    let daily_units = first.baseline / input.period_days * input.reach;
    let o = &plan.design;
    let arms = 1.0 + o.ratio * o.variants as f64;
    let n_control_max = (daily_units * plan.max_days / arms).max(2.0);
    let plan_metric = |k: usize, baseline: Baseline, sd: (f64, StdDevSource), rel: f64| -> Result<MetricPlan> {
        let size = sample_size(&baseline, EffectSize::Relative(rel), o).map_err(within)?;
        let days = duration_days(size.n_total, daily_units, 1.0).map_err(within)?;
        let mde = minimum_detectable_effect(&baseline, n_control_max, o).map_err(within)?;
        let power_max = power(&baseline, EffectSize::Relative(rel), n_control_max, o).map_err(within)?;
        let proportion = matches!(baseline, Baseline::Proportion { .. });
        Ok(MetricPlan {
            metric: input.nodes[k].name.clone(),
            label: metric_label(lang, input, k, proportion),
            baseline,
            std_dev: sd.0,
            std_dev_source: sd.1,
            rel_effect: rel,
            sample_size: size,
            duration_days: days,
            mde_at_max_days: mde,
            power_at_max_days: power_max,
        })
    };
    // a proportion, or a mean with its standard deviation (`given` wins for the topline)
    let describe = |k: usize| -> std::result::Result<(Baseline, (f64, StdDevSource)), (usize, FieldNote)> {
        let (mean, sd) = per_unit(input, k);
        if let (Some(given), true) = (plan.std_dev, k == last) {
            if !input.nodes[1..=k].iter().all(|n| n.kind == NodeKind::Rate) {
                return Ok((Baseline::Mean { mean, std_dev: given }, (given, StdDevSource::Given)));
            }
        }
        match sd {
            Ok((s, StdDevSource::Proportion)) => {
                Ok((Baseline::Proportion { rate: mean }, (s, StdDevSource::Proportion)))
            }
            Ok((s, src)) => Ok((Baseline::Mean { mean, std_dev: s }, (s, src))),
            Err(v) => {
                let (units, node) = (&input.nodes[0].name, &input.nodes[v].name);
                let message = text::missing_std_dev(lang, units, node, &input.nodes[k].name, k == last);
                Err((v, FieldNote { field: format!("model.nodes[{v}].std_dev"), message }))
            }
        }
    };
    let test = match describe(k) {
        Ok((baseline, sd)) => plan_metric(k, baseline, sd, rel_effect)?,
        Err((v, note)) => {
            // errors are in English: the message again, in English
            let field = if k == last { "plan.std_dev".to_string() } else { note.field.clone() };
            let message = text::missing_std_dev(
                Language::En,
                &input.nodes[0].name,
                &input.nodes[v].name,
                &input.nodes[k].name,
                k == last,
            );
            return Err(Error::invalid(field, message));
        }
    };
    let topline_rel = likely_change(input, &changed, last);
    let mut missing = Vec::new();
    let topline = if k == last {
        None
    } else if topline_rel == 0.0 {
        notes.push(text::plan_note(lang, PlanNote::NoTopline));
        None
    } else {
        match describe(last) {
            Ok((baseline, sd)) => Some(plan_metric(last, baseline, sd, topline_rel)?),
            Err((_, note)) => {
                missing.push(note);
                None
            }
        }
    };
    let topline_ratio = (1.0 + topline_rel) / (1.0 + rel_effect);
    let mapping = mapping_text(lang, input, &test, topline_ratio, k == last);
    Ok(TestPlan {
        metric: test.metric,
        metric_label: test.label,
        baseline: test.baseline,
        std_dev: Some(test.std_dev),
        std_dev_source: Some(test.std_dev_source),
        rel_effect,
        daily_units,
        sample_size: test.sample_size,
        duration_days: test.duration_days,
        mde_at_max_days: test.mde_at_max_days,
        power_at_max_days: test.power_at_max_days,
        reads_topline: k == last,
        topline,
        topline_ratio,
        mapping,
        notes,
        missing,
    })
}

/// How an observed lift of the test metric becomes the topline's (the sentence is the text
/// module's).
fn mapping_text(lang: Language, input: &ForecastInput, test: &MetricPlan, ratio: f64, reads_topline: bool) -> String {
    let now = match test.baseline {
        Baseline::Proportion { rate } => format!("{:.2}%", rate * 100.0),
        Baseline::Mean { mean, .. } => fmt_amount(mean, input.unit.as_deref(), false),
    };
    text::mapping(lang, &input.nodes[0].name, &test.label, &now, test.rel_effect, ratio, input.reach, reads_topline)
}
