//! From sufficient statistics to a report: effects, corrections, sequential and Bayesian views,
//! guardrails and the decision.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    ArmReport, DataSummary, Decision, EffectReport, GuardrailStatus, MetricReport, Report, SegmentReport,
    TimelinePoint, Verdict, REPORT_SCHEMA_VERSION,
};
use crate::error::{Error, Result};
use crate::spec::{Experiment, Metric, SequentialMode, Spec};
use crate::stats::bayes::bayes_effect;
use crate::stats::effect::{compare_arms, EffectOptions, RefDist};
use crate::stats::group_sequential::{equally_spaced, group_sequential_design};
use crate::stats::moments::SuffStats;
use crate::stats::multiple::{adjust_p_values, Correction};
use crate::stats::sequential::confidence_sequence;
use crate::stats::{check_srm, Alternative, Direction, SRM_ALPHA};

/// Per-variant statistics of every metric of an experiment: `cells[m][v]` is metric `m`
/// (in the experiment's metric order) for variant `v` (in the spec's order, control first).
pub type Cells = Vec<Vec<SuffStats>>;

/// Everything the analysis needs, computed by the data layer (or sent over HTTP).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExperimentData {
    /// Units exposed to each variant (after excluding units seen in more than one).
    pub exposures: Vec<u64>,
    /// Units exposed to more than one variant: counted here, excluded from everything else.
    #[serde(default)]
    pub multiple_exposures: u64,
    /// Exposed units with no outcome row.
    #[serde(default)]
    pub missing_outcomes: u64,
    /// `metrics[m][v]`.
    pub metrics: Cells,
    /// The cap applied to each metric, when capping is on (same order as `metrics`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<Option<f64>>,
    /// Segment column -> segment value -> cells.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub segments: BTreeMap<String, BTreeMap<String, Cells>>,
    /// Cumulative cells at the end of each day (ISO date), when exposure times are known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<(String, Cells)>,
}

impl ExperimentData {
    /// Adds another partition's statistics to these, as if both had been computed at once.
    ///
    /// Partitions must split the data by unit (each unit's exposures and outcomes in one
    /// partition), so that a unit seen in two variants is caught inside its partition. Timelines
    /// are cumulative: at each date the merged value adds every partition's latest cumulative
    /// cells up to that date. Caps computed from a quantile differ per partition and cannot be
    /// merged exactly: different caps are an error.
    pub fn merge(&mut self, other: &ExperimentData) -> Result<()> {
        if self.exposures.is_empty() && self.metrics.is_empty() {
            *self = other.clone();
            return Ok(());
        }
        let (nm, nv) = (self.metrics.len(), self.exposures.len());
        if other.exposures.len() != nv {
            return Err(Error::invalid("exposures", format!("has {} variants, not {nv}", other.exposures.len())));
        }
        check_shape(&other.metrics, nm, nv, "metrics")?;
        if self.caps != other.caps {
            return Err(Error::invalid("caps", "partitions were capped differently; cap by value to merge them"));
        }
        fn add(a: &mut Cells, b: &Cells) {
            for (am, bm) in a.iter_mut().zip(b) {
                for (x, y) in am.iter_mut().zip(bm) {
                    *x += *y;
                }
            }
        }
        for (a, b) in self.exposures.iter_mut().zip(&other.exposures) {
            *a += b;
        }
        self.multiple_exposures += other.multiple_exposures;
        self.missing_outcomes += other.missing_outcomes;
        add(&mut self.metrics, &other.metrics);
        for (col, values) in &other.segments {
            let mine = self.segments.entry(col.clone()).or_default();
            for (value, cells) in values {
                check_shape(cells, nm, nv, &format!("segments.{col}.{value}"))?;
                match mine.get_mut(value) {
                    Some(c) => add(c, cells),
                    None => {
                        mine.insert(value.clone(), cells.clone());
                    }
                }
            }
        }
        if !other.timeline.is_empty() {
            let empty = vec![vec![SuffStats::default(); nv]; nm];
            let mut dates: Vec<&String> = self.timeline.iter().chain(&other.timeline).map(|(d, _)| d).collect();
            dates.sort();
            dates.dedup();
            // the latest cumulative cells of a timeline at or before `date`
            let at = |t: &[(String, Cells)], date: &str| -> Cells {
                t.iter()
                    .take_while(|(d, _)| d.as_str() <= date)
                    .last()
                    .map_or_else(|| empty.clone(), |(_, c)| c.clone())
            };
            let merged = dates
                .iter()
                .map(|&d| {
                    let mut c = at(&self.timeline, d);
                    add(&mut c, &at(&other.timeline, d));
                    (d.clone(), c)
                })
                .collect();
            self.timeline = merged;
        }
        Ok(())
    }
}

fn check_shape(cells: &Cells, n_metrics: usize, n_variants: usize, field: &str) -> Result<()> {
    if cells.len() != n_metrics {
        return Err(Error::invalid(field, format!("has {} metrics, the experiment has {n_metrics}", cells.len())));
    }
    for (m, arms) in cells.iter().enumerate() {
        if arms.len() != n_variants {
            return Err(Error::invalid(
                format!("{field}[{m}]"),
                format!("has {} variants, the experiment has {n_variants}", arms.len()),
            ));
        }
    }
    Ok(())
}

/// Sign that turns an effect into "good" units (positive = better).
fn good_sign(d: Direction) -> f64 {
    if d == Direction::Decrease {
        -1.0
    } else {
        1.0
    }
}

/// Analyses one metric's cells; the error of an unanalysable metric is reported, not raised.
fn metric_report(metric: &Metric, arms: &[SuffStats], variants: &[String], exp: &Experiment) -> MetricReport {
    let s = &exp.analysis;
    let mut report = MetricReport {
        name: metric.name.clone(),
        kind: metric.kind,
        direction: metric.direction,
        guardrail_margin: metric.guardrail_margin,
        cuped: metric.cuped(),
        cap: None,
        theta: None,
        arms: Vec::new(),
        effects: Vec::new(),
        error: None,
    };
    let opts = EffectOptions {
        alpha: s.alpha,
        alternative: s.alternative,
        cuped: metric.cuped(),
        relative_interval: metric.relative_interval,
    };
    let cmp = match compare_arms(arms, metric.kind, &opts) {
        Ok(c) => c,
        Err(e) => {
            report.error = Some(e.to_string());
            report.arms = arms
                .iter()
                .zip(variants)
                .map(|(a, v)| ArmReport {
                    variant: v.clone(),
                    n: a.n,
                    estimate: None,
                    std_err: None,
                    adjusted: None,
                    skewness: None,
                })
                .collect();
            return report;
        }
    };
    report.theta = cmp.theta;
    report.arms = cmp
        .arms
        .iter()
        .zip(variants)
        .map(|(a, v)| ArmReport {
            variant: v.clone(),
            n: a.n,
            estimate: Some(a.estimate),
            std_err: Some(a.std_err),
            adjusted: a.adjusted,
            skewness: a.skewness,
        })
        .collect();
    let sign = good_sign(metric.direction);
    for e in &cmp.effects {
        let mut er = EffectReport::from_effect(e, &variants[e.variant]);
        if s.sequential == SequentialMode::ConfidenceSequence {
            // The sequence's time is the units of the two arms compared, as gbstats'
            // SequentialTwoSidedTTest (n = n_A + n_B): the estimate's per-unit variance is
            // se²·(n_c + n_v); other arms add nothing to this comparison.
            let n_pair = (arms[0].n + arms[e.variant].n) as f64;
            if let Ok(cs) = confidence_sequence(e.abs_effect, e.std_err, n_pair, s.alpha, s.tuning) {
                er.p_value = cs.p_value;
                er.ci_low = Some(cs.ci_low);
                er.ci_high = Some(cs.ci_high);
                if let (Some(d), Some(lse)) = (e.log_effect, e.log_std_err) {
                    // log scale: the same multiplier on ln of the ratio of geometric means
                    er.rel_ci_low = Some((d - cs.multiplier * lse).exp() - 1.0);
                    er.rel_ci_high = Some((d + cs.multiplier * lse).exp() - 1.0);
                } else if let (Some(rel), Some(rse)) = (e.rel_effect, e.rel_std_err) {
                    er.rel_ci_low = Some(rel - cs.multiplier * rse);
                    er.rel_ci_high = Some(rel + cs.multiplier * rse);
                }
                er.interval = "confidence_sequence".into();
            }
        }
        if let (Some(rel), Some(rse)) = (e.rel_effect, e.rel_std_err) {
            if rse > 0.0 {
                er.bayes = bayes_effect(rel, rse, &s.prior, metric.direction, s.alpha).ok();
            }
        }
        if let Some(margin) = metric.guardrail_margin {
            // Non-inferiority: H0 "worse than control by more than the margin" (in good units).
            let dist = RefDist::new(e.df).unwrap_or(RefDist::Normal);
            let q = dist.ppf(1.0 - s.alpha);
            let good = sign * e.abs_effect;
            let (lb, ub) = (good - q * e.std_err, good + q * e.std_err);
            er.guardrail = Some(if lb > -margin {
                GuardrailStatus::Pass
            } else if ub < -margin {
                GuardrailStatus::Fail
            } else {
                GuardrailStatus::Inconclusive
            });
        }
        report.effects.push(er);
    }
    report
}

/// Applies the multiple-comparison correction over every effect of the non-guardrail metrics
/// and marks significance (sequential designs decide by their own boundary).
fn mark_significance(metrics: &mut [MetricReport], exp: &Experiment, n_total: u64) -> Result<()> {
    let s = &exp.analysis;
    let mut family: Vec<(usize, usize)> = Vec::new();
    for (m, r) in metrics.iter().enumerate() {
        if r.guardrail_margin.is_none() {
            for e in 0..r.effects.len() {
                family.push((m, e));
            }
        }
    }
    let ps: Vec<f64> = family.iter().map(|&(m, e)| metrics[m].effects[e].p_value).collect();
    let adjusted = adjust_p_values(&ps, s.correction)?;
    // Group-sequential: the boundary of the current look, with Bonferroni over the family.
    let gs_bound = if s.sequential == SequentialMode::GroupSequential {
        let looks = s.looks.unwrap_or(1);
        let planned = s.planned_units.unwrap_or(n_total.max(1)) as f64;
        let t = (n_total as f64 / planned).min(1.0);
        let k = ((t * looks as f64).ceil() as usize).clamp(1, looks);
        let m = if s.correction == Correction::None { 1 } else { family.len().max(1) };
        let design = group_sequential_design(&equally_spaced(looks), s.alpha / m as f64, s.alternative)?;
        Some((k, design.z_bounds[k - 1]))
    } else {
        None
    };
    for (&(m, e), p_adj) in family.iter().zip(adjusted) {
        let sign = good_sign(metrics[m].direction);
        let eff = &mut metrics[m].effects[e];
        eff.p_adjusted = Some(p_adj);
        let reject = match gs_bound {
            Some((_, c)) => match s.alternative {
                Alternative::TwoSided => eff.statistic.abs() >= c,
                Alternative::Greater => eff.statistic >= c,
                Alternative::Less => -eff.statistic >= c,
            },
            None => p_adj <= s.alpha,
        };
        eff.significant = Some(reject);
        eff.verdict = Some(if !reject {
            "flat".into()
        } else if sign * eff.abs_effect > 0.0 {
            "better".into()
        } else {
            "worse".into()
        });
    }
    Ok(())
}

/// Analyses experiment `key` of `spec` on `data`.
pub fn analyze_experiment(spec: &Spec, key: &str, data: &ExperimentData) -> Result<Report> {
    let exp = spec.experiment(key)?;
    let variants = &exp.variants;
    let metrics: Vec<&Metric> = exp.metrics.iter().map(|&i| &spec.metrics[i]).collect();
    if metrics.is_empty() {
        // Without a metric there is nothing to decide on: no verdict, not "do not ship".
        return Err(Error::invalid(
            "metrics",
            format!("experiment '{key}' has no metrics to analyse; add [[metrics]] to the spec"),
        ));
    }
    if data.exposures.len() != variants.len() {
        return Err(Error::invalid(
            "exposures",
            format!("has {} variants, experiment '{key}' has {}", data.exposures.len(), variants.len()),
        ));
    }
    check_shape(&data.metrics, metrics.len(), variants.len(), "metrics")?;
    for (col, values) in &data.segments {
        for (value, cells) in values {
            check_shape(cells, metrics.len(), variants.len(), &format!("segments.{col}.{value}"))?;
        }
    }
    for (day, cells) in &data.timeline {
        check_shape(cells, metrics.len(), variants.len(), &format!("timeline.{day}"))?;
    }
    let n_total = data
        .exposures
        .iter()
        .try_fold(0u64, |a, &n| a.checked_add(n))
        .filter(|&n| n <= 1 << 53)
        .ok_or_else(|| Error::invalid("exposures", "the counts sum to more than 2^53 units"))?;
    if n_total == 0 {
        return Err(Error::insufficient("exposures", "no exposed units"));
    }
    let srm = check_srm(&data.exposures, &exp.weights, SRM_ALPHA)?;

    let mut metric_reports: Vec<MetricReport> =
        metrics.iter().zip(&data.metrics).map(|(m, arms)| metric_report(m, arms, variants, exp)).collect();
    for (r, cap) in metric_reports.iter_mut().zip(data.caps.iter().chain(std::iter::repeat(&None))) {
        r.cap = *cap;
    }
    if metric_reports.iter().all(|r| r.error.is_some()) {
        // Not "keep running": nothing was analysed, and more of the same data may not help.
        let why: Vec<String> =
            metric_reports.iter().map(|r| format!("{}: {}", r.name, r.error.as_deref().unwrap_or_default())).collect();
        return Err(Error::insufficient("metrics", format!("no metric could be analysed ({})", why.join("; "))));
    }
    mark_significance(&mut metric_reports, exp, n_total)?;

    // Segments: each segment's effects, corrected within the segment family.
    let mut segments = Vec::new();
    for (col, values) in &data.segments {
        let mut seg_metrics: Vec<(String, Vec<MetricReport>)> = values
            .iter()
            .map(|(value, cells)| {
                let reps = metrics.iter().zip(cells).map(|(m, arms)| metric_report(m, arms, variants, exp)).collect();
                (value.clone(), reps)
            })
            .collect();
        // one family across every value of this segment column
        let mut flat: Vec<MetricReport> = seg_metrics.iter_mut().flat_map(|(_, r)| std::mem::take(r)).collect();
        mark_significance(&mut flat, exp, n_total)?;
        let per = metrics.len();
        let mut it = flat.into_iter();
        for (value, _) in seg_metrics {
            segments.push(SegmentReport { column: col.clone(), value, metrics: it.by_ref().take(per).collect() });
        }
    }

    // Cumulative effects over time (relative lift of each variant per metric).
    let mut timeline = Vec::new();
    for (day, cells) in &data.timeline {
        for (m, arms) in metrics.iter().zip(cells) {
            let r = metric_report(m, arms, variants, exp);
            for e in r.effects {
                timeline.push(TimelinePoint {
                    date: day.clone(),
                    metric: m.name.clone(),
                    variant: e.variant,
                    n: arms.iter().map(|a| a.n).sum(),
                    rel_effect: e.rel_effect,
                    rel_ci_low: e.rel_ci_low,
                    rel_ci_high: e.rel_ci_high,
                });
            }
        }
    }

    let decision = decide(&srm, &metric_reports, exp, n_total);
    Ok(Report {
        schema_version: REPORT_SCHEMA_VERSION,
        liftlab_version: env!("CARGO_PKG_VERSION").to_string(),
        experiment: key.to_string(),
        variants: variants.clone(),
        settings: exp.analysis.clone(),
        srm,
        decision,
        data: DataSummary {
            exposures: data.exposures.clone(),
            multiple_exposures: data.multiple_exposures,
            missing_outcomes: data.missing_outcomes,
            n_total,
        },
        metrics: metric_reports,
        segments,
        timeline,
    })
}

/// The decision summary: invalid (SRM) / do not ship / ship / keep running, with reasons.
fn decide(srm: &crate::stats::SrmResult, metrics: &[MetricReport], exp: &Experiment, n_total: u64) -> Decision {
    let mut reasons = Vec::new();
    if srm.mismatch {
        reasons.push(format!(
            "sample-ratio mismatch: p = {:.2e} < {SRM_ALPHA} (observed {:?}, expected {:?}); fix the assignment or logging before reading any effect",
            srm.p_value,
            srm.observed,
            srm.expected.iter().map(|e| e.round() as u64).collect::<Vec<_>>()
        ));
        return Decision { verdict: Verdict::Invalid, variant: None, reasons };
    }
    let finished = match (exp.analysis.sequential, exp.analysis.planned_units) {
        (_, Some(p)) => n_total >= p,
        (SequentialMode::ConfidenceSequence, None) => false,
        (_, None) => true,
    };
    let mut best: Option<(usize, f64)> = None;
    let mut any_inconclusive_guardrail = false;
    let mut any_untested = false;
    for v in 1..exp.variants.len() {
        let name = &exp.variants[v];
        let mut wins = Vec::new();
        let mut losses = Vec::new();
        let mut guard_fail = Vec::new();
        let mut guard_open = Vec::new();
        let mut untested = Vec::new();
        for m in metrics {
            let Some(e) = m.effects.iter().find(|e| &e.variant == name) else {
                // the metric could not be analysed (its `error` says why)
                if m.guardrail_margin.is_some() {
                    guard_open.push(m.name.clone());
                } else {
                    untested.push(m.name.clone());
                }
                continue;
            };
            match (m.guardrail_margin, e.guardrail, e.verdict.as_deref()) {
                (Some(_), Some(GuardrailStatus::Fail), _) => guard_fail.push(m.name.clone()),
                (Some(_), Some(GuardrailStatus::Inconclusive), _) => guard_open.push(m.name.clone()),
                (None, _, Some("better")) => wins.push((m.name.clone(), e.rel_effect.unwrap_or(0.0))),
                (None, _, Some("worse")) => losses.push(m.name.clone()),
                _ => {}
            }
        }
        if !guard_fail.is_empty() {
            reasons.push(format!("{name}: guardrail violated on {}", guard_fail.join(", ")));
            continue;
        }
        if !losses.is_empty() {
            reasons.push(format!("{name}: significantly worse on {}", losses.join(", ")));
            continue;
        }
        if !guard_open.is_empty() {
            any_inconclusive_guardrail = true;
            reasons.push(format!("{name}: non-inferiority not yet shown on {}", guard_open.join(", ")));
            continue;
        }
        if let Some((metric, lift)) = wins.first() {
            reasons.push(format!("{name}: significant win on {metric} ({:+.2}%)", lift * 100.0));
            let score =
                good_sign(metrics.iter().find(|m| &m.name == metric).map_or(Direction::Increase, |m| m.direction))
                    * lift;
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((v, score));
            }
        } else if !untested.is_empty() {
            any_untested = true;
            reasons.push(format!("{name}: no test possible yet on {} (see each metric's error)", untested.join(", ")));
        } else {
            reasons.push(format!("{name}: no significant effect on the primary metrics"));
        }
    }
    if let Some((v, _)) = best {
        return Decision { verdict: Verdict::Ship, variant: Some(exp.variants[v].clone()), reasons };
    }
    let verdict =
        if !finished || any_inconclusive_guardrail || any_untested { Verdict::KeepRunning } else { Verdict::DoNotShip };
    if !finished {
        reasons.push(match exp.analysis.planned_units {
            Some(p) => format!("{n_total} of {p} planned units analysed"),
            None => "a confidence-sequence analysis may continue until it is conclusive".to_string(),
        });
    }
    Decision { verdict, variant: None, reasons }
}
