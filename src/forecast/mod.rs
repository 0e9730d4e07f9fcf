//! Pre-launch impact forecasts: a metric tree, the PM's expected change, and the projected change
//! of the topline with its interval.
//!
//! **The model.** The topline is the product of the tree's nodes: a base volume (`count`: list
//! size, traffic, leads per day) times rates (`rate`: delivered, interacted, converted ... in
//! [0, 1]) times values (`value`: order value, deals per account). A funnel `list -> delivered ->
//! interacted -> deal` is `list × delivery rate × interaction rate × deal rate`; a driver tree
//! is `traffic × conversion × order value`.
//!
//! **The expected change.** For each node the PM gives a relative change as a range `low /
//! likely / high`, read as a 90% range with `likely` the most likely value (Hubbard, *How to
//! Measure Anything*, 2014, calibrated 90% intervals). It becomes a two-piece (split) normal:
//! mode `likely`, `σ₋ = (likely − low)/z₀.₉₅` below and `σ₊ = (high − likely)/z₀.₉₅` above, so
//! `low` and `high` are the 5th and 95th percentiles of their own halves; a symmetric range is a
//! plain normal. A node's draws are clamped so that it never falls below zero nor a rate above 1.
//!
//! **Reach and dilution.** The change reaches a share `reach` of the population; the rest is
//! unchanged. With `dilution = d`, the units an upstream change adds (a node with a rate below
//! it) convert downstream at `(1 − d)` times the usual rates, so that node's change counts as
//! `δ·(1 − d)` in the topline.
//!
//! **The projection.** With effective changes `e_i`, the topline moves by
//! `L = reach · (Π (1 + e_i) − 1)` (relative). Its interval is given two ways: seeded Monte
//! Carlo over the node distributions (quantiles of `L`), and the delta method on the log scale,
//! `g = ln(1 + L)` with `Var g ≈ Σ (∂g/∂δ_i)² Var δ_i` at the means, back-transformed. Both are
//! reported; they agree when the ranges are narrow and roughly symmetric, and the Monte Carlo one
//! is the one to quote otherwise. The same seed gives the same numbers: the draws come from
//! ChaCha8, a portable generator, through IEEE basic operations only, so they are the same on
//! every platform (`montecarlo.rs`, which also says how 100,000 draws take half a millisecond).
//! They depend on the seed and the number of draws, not on the funnel: [`BaseDraws`] keeps them
//! for [`forecast_with`].
//!
//! **Sensitivity.** Each changed node in turn goes from its `low` to its `high` with the others at
//! `likely` (a tornado chart); the widest swing is the node the forecast depends on most.

pub mod display;
pub mod history;
pub mod ledger;
mod montecarlo;
pub mod plan;
pub mod render;
pub mod text;
mod ziggurat_tables;

pub use montecarlo::BaseDraws;
pub use plan::{test_plan, test_plan_in, MetricPlan, PlanInput, StdDevSource, TestPlan};
pub use text::Language;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::interrupt::{Interrupt, NEVER};
use crate::stats::norm_ppf;

/// What a node measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A volume: units, visitors, leads (per period). Positive.
    Count,
    /// A share in [0, 1]: delivery, open, conversion rates.
    Rate,
    /// A positive amount per unit: order value, items per order.
    Value,
}

/// One node of the metric tree with its baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    pub baseline: f64,
    /// A value node's standard deviation among the units that reach it (e.g. of order value per
    /// order): with it the test plan derives the per-unit standard deviation of the topline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_dev: Option<f64>,
}

/// The PM's expected relative change of one node (0.05 = +5%), as a 90% range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub node: String,
    pub low: f64,
    pub likely: f64,
    pub high: f64,
}

/// The default reach: the change reaches every unit.
pub const DEFAULT_REACH: f64 = 1.0;
/// The default number of Monte Carlo draws.
pub const DEFAULT_DRAWS: usize = 100_000;
/// The default level of the reported intervals.
pub const DEFAULT_CONFIDENCE_LEVEL: f64 = 0.95;
/// The default period of the baseline: a day.
pub const DEFAULT_PERIOD_DAYS: f64 = 1.0;

fn default_reach() -> f64 {
    DEFAULT_REACH
}
fn default_draws() -> usize {
    DEFAULT_DRAWS
}
fn default_confidence_level() -> f64 {
    DEFAULT_CONFIDENCE_LEVEL
}
fn default_period_days() -> f64 {
    DEFAULT_PERIOD_DAYS
}

/// Everything a forecast needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ForecastInput {
    /// The metric tree, upstream first: the topline is the product of the nodes.
    pub nodes: Vec<Node>,
    pub changes: Vec<Change>,
    /// The share of the population the change reaches, in (0, 1] (`coverage` before, still
    /// read: a deprecated alias).
    #[serde(default = "default_reach", alias = "coverage")]
    pub reach: f64,
    /// The share of the downstream conversion lost by units an upstream change adds, in [0, 1].
    #[serde(default)]
    pub dilution: f64,
    /// How many days the baseline topline covers (1 = the topline is per day).
    #[serde(default = "default_period_days")]
    pub period_days: f64,
    #[serde(default = "default_draws")]
    pub draws: usize,
    #[serde(default)]
    pub seed: u64,
    /// The level of the reported intervals, in (0, 1) (`confidence` before, still read: a
    /// deprecated alias).
    #[serde(default = "default_confidence_level", alias = "confidence")]
    pub confidence_level: f64,
    /// The topline's unit, written after its amounts: a currency ("CNY", "EUR") or what is
    /// counted ("deals"). At most 24 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// A lift with its interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

/// One bar of the tornado chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Sensitivity {
    pub node: String,
    /// The relative lift with this node at its `low` (others at `likely`).
    pub at_low: f64,
    /// ... and at its `high`.
    pub at_high: f64,
    pub swing: f64,
}

/// The absolute lift over one period, with its name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PeriodLift {
    /// "per day", "per month", "per 30 days", "per year".
    pub label: String,
    pub days: f64,
    pub lift: Interval,
}

/// A remark about one input: a value that is allowed but implausible, or an input that would
/// complete an answer. `field` is the input's path from the request's root.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct FieldNote {
    pub field: String,
    pub message: String,
}

/// The projection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Forecast {
    /// The topline now (product of the baselines) per `period_days`.
    pub baseline: f64,
    /// The relative lift of the whole topline: the estimate is the Monte Carlo mean (the
    /// headline), the interval its quantiles.
    pub relative: Interval,
    /// The same lift among the units the change reaches: `relative / reach` (what a test on
    /// those units measures, and the scale the ledger reconciles on).
    #[serde(default)]
    pub reached: Interval,
    /// The median of the relative lift over the draws (shown beside the mean).
    #[serde(default)]
    pub median: f64,
    /// The same in topline units per period.
    pub absolute: Interval,
    /// Absolute lift per day, per 30.4375-day month and per 365.25-day year (Monte Carlo).
    pub per_day: Interval,
    pub per_month: Interval,
    pub per_year: Interval,
    /// The baseline's period in words: "day", "week", "month", "year" or "30 days".
    #[serde(default)]
    pub period: String,
    /// The absolute lift over the periods to show, one name per length: per day, per the
    /// baseline's period, per month (only when the period is shorter) and per year.
    #[serde(default)]
    pub periods: Vec<PeriodLift>,
    /// The topline's unit (the model's), for the faces to write after amounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The standard deviation of the relative lift over the Monte Carlo draws.
    pub relative_std_dev: f64,
    /// The relative lift by the delta method on the log scale (estimate at the means).
    pub relative_delta: Interval,
    /// The relative lift with every node at its `likely` change.
    pub relative_likely: f64,
    /// The formula with the numbers substituted, for the PRD: the lift at the likely changes,
    /// and why the headline (the mean) differs from it.
    pub formula: String,
    /// Which statistic the headline is and why, with the median.
    #[serde(default)]
    pub headline_note: String,
    /// Tornado bars, widest swing first.
    pub sensitivity: Vec<Sensitivity>,
    pub most_sensitive: Option<String>,
    /// Quantiles of the relative lift over the draws, `[p, value]` for each p in
    /// [`FAN_LEVELS`]: the bands of a fan chart.
    pub quantiles: Vec<[f64; 2]>,
    pub draws: usize,
    pub seed: u64,
    /// The level of the intervals (the model's `confidence_level`).
    #[serde(default)]
    pub confidence_level: f64,
    /// Deprecated: the same as `confidence_level`, written for one release for readers of the old name.
    #[serde(default)]
    pub confidence: f64,
}

/// The probabilities at which [`Forecast::quantiles`] are reported (the 50/80/90/95% bands and the median).
pub const FAN_LEVELS: [f64; 9] = [0.025, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.975];

/// A node's change distribution: split normal with mode `m`, scales `lo`/`hi`.
#[derive(Clone, Copy, Debug)]
struct SplitNormal {
    m: f64,
    lo: f64,
    hi: f64,
}

impl SplitNormal {
    fn new(c: &Change) -> Self {
        let z = norm_ppf(0.95);
        SplitNormal { m: c.likely, lo: (c.likely - c.low) / z, hi: (c.high - c.likely) / z }
    }
    fn mean(&self) -> f64 {
        self.m + (2.0 / std::f64::consts::PI).sqrt() * (self.hi - self.lo)
    }
    fn var(&self) -> f64 {
        (1.0 - 2.0 / std::f64::consts::PI) * (self.hi - self.lo).powi(2) + self.lo * self.hi
    }
}

/// The smallest and largest baseline of a count or value node, and the bounds of the topline: far
/// beyond any real funnel, and far from where a product of a few dozen of them overflows.
const MIN_BASELINE: f64 = 1e-100;
const MAX_BASELINE: f64 = 1e100;

/// The longest unit of the topline ("CNY", "deals").
const MAX_UNIT_CHARS: usize = 24;

/// The largest relative change of a node: 1,000 = a thousand-fold increase.
const MAX_CHANGE: f64 = 1_000.0;

/// The range a node's relative change may take: never below zero, a rate never above 1.
fn bounds(node: &Node) -> (f64, f64) {
    match node.kind {
        NodeKind::Rate if node.baseline > 0.0 => (-1.0, 1.0 / node.baseline - 1.0),
        _ => (-1.0, f64::INFINITY),
    }
}

/// Checks a model without running it (the checks `forecast` starts with).
pub fn validate_input(input: &ForecastInput) -> Result<()> {
    validate(input).map(|_| ())
}

fn validate(input: &ForecastInput) -> Result<Vec<(usize, &Change)>> {
    use crate::limits::{check_len, check_name, MAX_DRAWS, MAX_FORECAST_NODES, MAX_FORECAST_WORK};
    if input.nodes.is_empty() {
        return Err(Error::invalid("nodes", "the metric tree is empty: give at least one node"));
    }
    check_len("nodes", input.nodes.len(), MAX_FORECAST_NODES, "nodes")?;
    check_len("changes", input.changes.len(), MAX_FORECAST_NODES, "changes")?;
    if !(1_000..=MAX_DRAWS).contains(&input.draws) {
        return Err(Error::invalid("draws", format!("{} is not between 1,000 and 10,000,000", input.draws)));
    }
    let work = input.draws as u64 * input.changes.len() as u64;
    if work > MAX_FORECAST_WORK {
        return Err(Error::invalid(
            "draws",
            format!(
                "{} draws of {} changed nodes are {work} node draws; at most {MAX_FORECAST_WORK} per forecast",
                input.draws,
                input.changes.len()
            ),
        ));
    }
    for (i, n) in input.nodes.iter().enumerate() {
        let field = format!("nodes[{i}].baseline");
        if n.name.trim().is_empty() {
            return Err(Error::invalid(format!("nodes[{i}].name"), "is empty"));
        }
        check_name(format!("nodes[{i}].name"), &n.name)?;
        if input.nodes[..i].iter().any(|m| m.name == n.name) {
            return Err(Error::invalid(format!("nodes[{i}].name"), format!("'{}' appears twice", n.name)));
        }
        match n.kind {
            NodeKind::Rate if !(0.0..=1.0).contains(&n.baseline) => {
                return Err(Error::invalid(field, format!("{} is a rate outside [0, 1]", n.baseline)))
            }
            NodeKind::Count | NodeKind::Value if !(n.baseline > 0.0 && n.baseline.is_finite()) => {
                return Err(Error::invalid(field, format!("{} must be a positive number", n.baseline)))
            }
            NodeKind::Count | NodeKind::Value if !(MIN_BASELINE..=MAX_BASELINE).contains(&n.baseline) => {
                return Err(Error::invalid(
                    field,
                    format!("{} is outside [1e-100, 1e100], where a forecast's arithmetic stays exact", n.baseline),
                ))
            }
            _ => {}
        }
        if let Some(sd) = n.std_dev {
            let field = format!("nodes[{i}].std_dev");
            if n.kind != NodeKind::Value {
                return Err(Error::invalid(
                    field,
                    "only a value node takes a standard deviation (a rate's follows from the rate, p(1 − p))",
                ));
            }
            if !(sd >= 0.0 && sd.is_finite() && sd <= MAX_BASELINE) {
                return Err(Error::invalid(field, format!("{sd} is not a standard deviation >= 0")));
            }
        }
    }
    if let Some(u) = &input.unit {
        if u.trim().is_empty() || u.trim() != u {
            return Err(Error::invalid("unit", "is empty or has spaces around it"));
        }
        if u.chars().count() > MAX_UNIT_CHARS {
            return Err(Error::invalid("unit", format!("is longer than {MAX_UNIT_CHARS} characters")));
        }
    }
    let topline: f64 = input.nodes.iter().map(|n| n.baseline).product();
    if !(topline.is_finite() && (topline == 0.0 || (MIN_BASELINE..=MAX_BASELINE).contains(&topline))) {
        return Err(Error::invalid(
            "nodes",
            format!("the baselines multiply to {topline:e}, outside [1e-100, 1e100]: rescale a count or value"),
        ));
    }
    if input.changes.is_empty() {
        return Err(Error::invalid("changes", "state the expected change of at least one node"));
    }
    let mut out = Vec::with_capacity(input.changes.len());
    for (i, c) in input.changes.iter().enumerate() {
        let Some(k) = input.nodes.iter().position(|n| n.name == c.node) else {
            let names: Vec<&str> = input.nodes.iter().map(|n| n.name.as_str()).collect();
            return Err(Error::invalid(
                format!("changes[{i}].node"),
                format!("'{}' is not a node of the tree ({})", c.node, names.join(", ")),
            ));
        };
        if out.iter().any(|&(j, _)| j == k) {
            return Err(Error::invalid(format!("changes[{i}].node"), format!("'{}' is changed twice", c.node)));
        }
        for (name, v) in [("low", c.low), ("likely", c.likely), ("high", c.high)] {
            if !v.is_finite() {
                return Err(Error::invalid(format!("changes[{i}].{name}"), "is not a finite number"));
            }
        }
        if c.low > c.likely || c.likely > c.high {
            return Err(Error::invalid(
                format!("changes[{i}]"),
                format!("low ({}) <= likely ({}) <= high ({}) does not hold", c.low, c.likely, c.high),
            ));
        }
        let (min, max) = bounds(&input.nodes[k]);
        if c.low <= min {
            return Err(Error::invalid(
                format!("changes[{i}].low"),
                format!("{} would take '{}' to zero or below (a change is above -1, i.e. -100%)", c.low, c.node),
            ));
        }
        if c.high > MAX_CHANGE {
            return Err(Error::invalid(
                format!("changes[{i}].high"),
                format!("{} is more than a {MAX_CHANGE}-fold change; state changes as fractions (0.05 = +5%)", c.high),
            ));
        }
        if c.high > max {
            return Err(Error::invalid(
                format!("changes[{i}].high"),
                format!("{} would take the rate '{}' above 1 (at most {max:.4})", c.high, c.node),
            ));
        }
        out.push((k, c));
    }
    if !(input.reach > 0.0 && input.reach <= 1.0) {
        return Err(Error::invalid("reach", format!("{} is not in (0, 1]", input.reach)));
    }
    if !(0.0..=1.0).contains(&input.dilution) {
        return Err(Error::invalid("dilution", format!("{} is not in [0, 1]", input.dilution)));
    }
    if !(input.period_days > 0.0 && input.period_days.is_finite()) {
        return Err(Error::invalid("period_days", format!("{} is not a positive number of days", input.period_days)));
    }
    if !(input.confidence_level > 0.0 && input.confidence_level < 1.0) {
        return Err(Error::invalid("confidence_level", format!("{} is not in (0, 1)", input.confidence_level)));
    }
    Ok(out)
}

/// `(1 − d)` for a node with a rate below it when `d > 0`, else 1.
fn dilution_factor(input: &ForecastInput, k: usize) -> f64 {
    dilution_factor_within(input, k, input.nodes.len() - 1)
}

/// `(1 − d)` for node `j` seen from node `k`: when `d > 0` and a rate lies below `j` down to `k`.
fn dilution_factor_within(input: &ForecastInput, j: usize, k: usize) -> f64 {
    if input.dilution > 0.0 && j < k && input.nodes[j + 1..=k].iter().any(|n| n.kind == NodeKind::Rate) {
        1.0 - input.dilution
    } else {
        1.0
    }
}

/// The relative topline lift for node changes `deltas` (aligned with `changed`).
fn lift(input: &ForecastInput, changed: &[(usize, &Change)], deltas: &[f64]) -> f64 {
    let mut prod = 1.0;
    for (&(k, _), &d) in changed.iter().zip(deltas) {
        prod *= 1.0 + d * dilution_factor(input, k);
    }
    input.reach * (prod - 1.0)
}

/// Sample quantiles with linear interpolation between order statistics (numpy's default,
/// "linear"), from the order statistics alone (found by `montecarlo`'s histogram, not a sort).
struct Quantiles {
    /// (index, value) of each order statistic needed, sorted by index.
    stats: Vec<(usize, f64)>,
    n: usize,
}

impl Quantiles {
    fn positions(n: usize, q: f64) -> (usize, usize, f64) {
        let pos = q * (n - 1) as f64;
        let lo = pos.floor() as usize;
        (lo, (lo + 1).min(n - 1), pos - lo as f64)
    }

    /// The order statistics (sorted, distinct) that the quantiles at `probs` of `n` values need.
    fn ranks(n: usize, probs: &[f64]) -> Vec<usize> {
        let mut idx: Vec<usize> = probs
            .iter()
            .flat_map(|&q| {
                let (lo, hi, _) = Self::positions(n, q);
                [lo, hi]
            })
            .collect();
        idx.sort_unstable();
        idx.dedup();
        idx
    }

    fn at(&self, q: f64) -> f64 {
        let (lo, hi, frac) = Self::positions(self.n, q);
        let get = |i: usize| self.stats[self.stats.binary_search_by_key(&i, |s| s.0).expect("selected")].1;
        let (a, b) = (get(lo), get(hi));
        a + frac * (b - a)
    }
}

/// The mean, standard deviation and quantiles at `probs` of lift draws.
fn summarize(draws: montecarlo::LiftDraws, probs: &[f64]) -> (f64, f64, Quantiles) {
    let n = draws.len();
    let (mean, sd, stats) = draws.summarize(&Quantiles::ranks(n, probs));
    (mean, sd, Quantiles { stats, n })
}

/// The interval's lower tail `(1 − confidence)/2`, rounded to 15 decimals so that a decimal
/// confidence has its decimal tail: 0.95 gives 0.025, as in [`FAN_LEVELS`], not
/// 0.025000000000000022 (half of `1 − 0.95` in binary), so that the interval's ends are the fan
/// chart's 2.5% and 97.5% quantiles to the last bit.
fn lower_tail(confidence: f64) -> f64 {
    ((1.0 - confidence) / 2.0 * 1e15).round() / 1e15
}

/// Projects the topline change of `input`.
pub fn forecast(input: &ForecastInput) -> Result<Forecast> {
    project(input, None, &NEVER, Language::En)
}

/// [`forecast`] from base draws kept from an earlier forecast with the same seed and number of
/// draws and at least as many changed nodes (see [`BaseDraws`]): the same numbers, bit for bit,
/// without drawing again. Draws that do not serve `input` are not used (it draws afresh).
pub fn forecast_with(input: &ForecastInput, base: &BaseDraws) -> Result<Forecast> {
    project(input, Some(base), &NEVER, Language::En)
}

/// The projection with its sentences (formula, headline note, period names) in `lang`.
fn project(input: &ForecastInput, base: Option<&BaseDraws>, stop: &Interrupt, lang: Language) -> Result<Forecast> {
    let changed = validate(input)?;
    let baseline: f64 = input.nodes.iter().map(|n| n.baseline).product();
    let dists: Vec<SplitNormal> = changed.iter().map(|(_, c)| SplitNormal::new(c)).collect();

    // Monte Carlo
    let models: Vec<montecarlo::NodeModel> = changed
        .iter()
        .zip(&dists)
        .map(|(&(k, _), &dist)| {
            let (min, max) = bounds(&input.nodes[k]);
            montecarlo::NodeModel { dist, min, max, factor: dilution_factor(input, k) }
        })
        .collect();
    let draws = match base.filter(|b| b.serves(input.seed, input.draws, models.len())) {
        Some(b) => montecarlo::lifts_from_base(&models, input.reach, b, stop)?,
        None => montecarlo::draw_lifts(&models, input.reach, input.seed, input.draws, stop)?,
    };
    let tail = lower_tail(input.confidence_level);
    let probs: Vec<f64> = [tail, 1.0 - tail].into_iter().chain(FAN_LEVELS).collect();
    let (mean, relative_std_dev, q) = summarize(draws, &probs);
    let relative = Interval { estimate: mean, low: q.at(tail), high: q.at(1.0 - tail) };

    // delta method on g = ln(1 + L) at the means
    let means: Vec<f64> = dists.iter().map(SplitNormal::mean).collect();
    let l0 = lift(input, &changed, &means);
    let prod0 = l0 / input.reach + 1.0;
    let mut var_g = 0.0;
    for ((&(k, _), dist), &m) in changed.iter().zip(&dists).zip(&means) {
        let f = dilution_factor(input, k);
        // ∂L/∂δ_k = reach · f · Π / (1 + f δ_k); ∂g/∂δ_k = that / (1 + L)
        let grad = input.reach * f * prod0 / (1.0 + f * m) / (1.0 + l0);
        var_g += grad * grad * dist.var();
    }
    let z = norm_ppf(1.0 - tail);
    let g0 = (1.0 + l0).ln();
    let sd = var_g.sqrt();
    let relative_delta = Interval { estimate: l0, low: (g0 - z * sd).exp() - 1.0, high: (g0 + z * sd).exp() - 1.0 };

    let scale = |iv: Interval, k: f64| Interval { estimate: iv.estimate * k, low: iv.low * k, high: iv.high * k };
    let absolute = scale(relative, baseline);
    let per_day = scale(absolute, 1.0 / input.period_days);

    // tornado
    let likely: Vec<f64> = changed.iter().map(|(_, c)| c.likely).collect();
    let relative_likely = lift(input, &changed, &likely);
    let mut sensitivity: Vec<Sensitivity> = changed
        .iter()
        .enumerate()
        .map(|(i, (_, c))| {
            let mut at = likely.clone();
            at[i] = c.low;
            let at_low = lift(input, &changed, &at);
            at[i] = c.high;
            let at_high = lift(input, &changed, &at);
            Sensitivity { node: c.node.clone(), at_low, at_high, swing: (at_high - at_low).abs() }
        })
        .collect();
    sensitivity.sort_by(|a, b| b.swing.total_cmp(&a.swing));
    let most_sensitive = sensitivity.first().filter(|s| s.swing > 0.0).map(|s| s.node.clone());

    let factors: Vec<(f64, &Change)> = changed.iter().map(|&(k, c)| (dilution_factor(input, k), c)).collect();
    let means_are_likely = dists.iter().all(|d| d.lo == d.hi);
    let formula =
        text::formula(lang, input, &factors, baseline, relative_likely, relative.estimate, means_are_likely, &relative);
    let median = q.at(0.5);
    let quantiles = FAN_LEVELS.iter().map(|&p| [p, q.at(p)]).collect();
    let periods = text::period_lengths(input.period_days)
        .into_iter()
        .map(|days| PeriodLift {
            label: text::per_period(lang, days),
            days,
            lift: if days == input.period_days { absolute } else { scale(per_day, days) },
        })
        .collect();
    let out = Forecast {
        baseline,
        relative,
        reached: scale(relative, 1.0 / input.reach),
        median,
        absolute,
        per_day,
        per_month: scale(per_day, text::DAYS_PER_MONTH),
        per_year: scale(per_day, text::DAYS_PER_YEAR),
        period: text::period_name_in(lang, input.period_days),
        periods,
        unit: input.unit.clone(),
        relative_std_dev,
        relative_delta,
        relative_likely,
        formula,
        headline_note: text::headline_note(lang, relative.estimate, median, input.draws),
        sensitivity,
        most_sensitive,
        quantiles,
        draws: input.draws,
        seed: input.seed,
        confidence_level: input.confidence_level,
        confidence: input.confidence_level,
    };
    check_finite(&out)?;
    Ok(out)
}

/// Every number of a forecast is finite, or the input is refused: a ledger must never store a
/// number it cannot read back (JSON has no NaN or infinity).
fn check_finite(f: &Forecast) -> Result<()> {
    let iv = |i: &Interval| [i.estimate, i.low, i.high];
    let mut all = vec![f.baseline, f.relative_std_dev, f.relative_likely, f.median];
    for i in [&f.relative, &f.reached, &f.absolute, &f.per_day, &f.per_month, &f.per_year, &f.relative_delta] {
        all.extend(iv(i));
    }
    all.extend(f.periods.iter().flat_map(|p| iv(&p.lift)));
    all.extend(f.quantiles.iter().map(|q| q[1]));
    all.extend(f.sensitivity.iter().flat_map(|s| [s.at_low, s.at_high, s.swing]));
    if all.iter().all(|v| v.is_finite()) {
        return Ok(());
    }
    Err(Error::invalid(
        "changes",
        "the projected lift is not a finite number (the changes or baselines are too extreme to compute); narrow the ranges",
    ))
}

/// Past experiments to judge a forecast by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HistoryInput {
    /// Past relative effects with their standard errors (an empirical-Bayes prior needs 3+).
    #[serde(default)]
    pub past: Vec<history::PastEffect>,
    /// The share of the team's past tests that won; gives the false-positive risk.
    #[serde(default)]
    pub win_rate: Option<f64>,
    /// Add the reconciled forecasts of the service's ledger (of this team / author) to `past`.
    /// Only the service can resolve it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_ledger: Option<LedgerQuery>,
    /// Where these numbers come from, in a few words ("example values", "team sales, 2025"),
    /// repeated where the chance of success is shown. At most 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// Which forecasts of the ledger to take past effects from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
}

/// A whole forecast request: the model, optionally the test plan and history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ForecastRequest {
    pub model: ForecastInput,
    #[serde(default)]
    pub plan: Option<PlanInput>,
    #[serde(default)]
    pub history: Option<HistoryInput>,
    /// The language of the answer's sentences (the PRD paragraph, the formula, the plan's
    /// mapping and notes, the warnings, the period names): `en` (default) or `zh-CN`. Numbers
    /// are written the same way in both; names are kept as typed; errors are in English.
    #[serde(default)]
    pub language: Language,
}

/// The settings a forecast was made with, every default filled in. Every answer echoes them
/// (`settings`), and [`ForecastSettings::default`] are the defaults themselves (`GET
/// /v1/forecast/defaults`, `liftlab.forecast_defaults()`): no face restates a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ForecastSettings {
    /// The share of the units the change reaches (`model.reach`).
    pub reach: f64,
    /// `model.dilution`.
    pub dilution: f64,
    /// How many days the baseline covers (`model.period_days`).
    pub period_days: f64,
    pub draws: usize,
    pub seed: u64,
    /// The level of the intervals (`model.confidence_level`).
    pub confidence_level: f64,
    /// The test plan's longest run in days (`plan.max_days`), its significance level and power
    /// (`plan.design.alpha`, `plan.design.power`): the plan's when one was asked, else the defaults.
    pub max_days: f64,
    pub alpha: f64,
    pub power: f64,
    pub language: Language,
}

impl Default for ForecastSettings {
    fn default() -> Self {
        let (plan, design) = (PlanInput::default(), crate::stats::power::DesignOptions::default());
        ForecastSettings {
            reach: DEFAULT_REACH,
            dilution: 0.0,
            period_days: DEFAULT_PERIOD_DAYS,
            draws: DEFAULT_DRAWS,
            seed: 0,
            confidence_level: DEFAULT_CONFIDENCE_LEVEL,
            max_days: plan.max_days,
            alpha: design.alpha,
            power: design.power,
            language: Language::default(),
        }
    }
}

impl ForecastSettings {
    /// The settings of `req`, its defaults filled in.
    pub fn of(req: &ForecastRequest) -> Self {
        let (m, plan) = (&req.model, req.plan.clone().unwrap_or_default());
        ForecastSettings {
            reach: m.reach,
            dilution: m.dilution,
            period_days: m.period_days,
            draws: m.draws,
            seed: m.seed,
            confidence_level: m.confidence_level,
            max_days: plan.max_days,
            alpha: plan.design.alpha,
            power: plan.design.power,
            language: req.language,
        }
    }
}

/// The answer to a [`ForecastRequest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ForecastReport {
    pub forecast: Forecast,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<TestPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior: Option<history::EffectPrior>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realism: Option<history::Realism>,
    /// The chance a significant result of this test is a false positive, at the team's win rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub false_positive_risk: Option<f64>,
    /// Where the history behind `prior`, `realism` and `false_positive_risk` comes from, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_source: Option<String>,
    /// Allowed but implausible inputs (a share of 0.005 where 0.5 may have been meant, a change
    /// of +800%), each naming its field.
    #[serde(default)]
    pub warnings: Vec<FieldNote>,
    /// The paste-ready paragraph for the PRD: the expected impact, the formula, the test (the
    /// metric it reads and how its result maps to the topline) and the chance of success.
    #[serde(default)]
    pub prd_paragraph: String,
    /// The settings the forecast was made with, defaults filled in (absent from reports saved
    /// before it was added; [`complete_report`] fills them from the request).
    #[serde(default)]
    pub settings: ForecastSettings,
    /// The test plan, the topline's plan and the chance of success as labelled, formatted facts
    /// in the answer's language, as every face shows them ([`display::display`]); rebuilt from
    /// the numbers whenever a report is made or read back.
    #[serde(default)]
    pub display: display::ForecastDisplay,
    /// The charts as SVG, when asked (`POST /v1/forecast?charts=svg`); never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charts: Option<render::ForecastCharts>,
}

/// A forecast request read from TOML: a forecast file (`[model]`, `[plan]`, `[history]`,
/// `language`) or an experiment spec with `[[forecasts]]`, of which `experiment` picks one (needed
/// when it has several). A malformed file is an error naming `source` (its path), a bad field one
/// naming the field from the request's root (`model.nodes[0].kind`).
pub fn request_from_toml(text: &str, source: &str, experiment: Option<&str>) -> Result<ForecastRequest> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| Error::invalid(source, e.to_string().replace('\n', " ")))?;
    if !table.contains_key("model") {
        return crate::spec::Spec::from_toml(text)?.forecast_request(experiment);
    }
    if experiment.is_some() {
        return Err(Error::invalid(
            "experiment",
            "a forecast file has one forecast; --experiment is for experiment specs",
        ));
    }
    let de = toml::Deserializer::parse(text).map_err(|e| Error::invalid(source, e.to_string().replace('\n', " ")))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        Error::invalid(if field == "." { source.to_string() } else { field }, e.inner().to_string().replace('\n', " "))
    })
}

/// A forecast request read from JSON (the body of `POST /v1/forecast`): a bad field is an error
/// naming it from the request's root, a malformed text one naming `request`.
pub fn request_from_json(text: &str) -> Result<ForecastRequest> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "request".to_string() } else { path };
        Error::invalid(field, e.inner().to_string())
    })
}

/// Runs a whole request; every error names its field from the request's root.
pub fn forecast_impact(req: &ForecastRequest) -> Result<ForecastReport> {
    forecast_impact_with(req, None)
}

/// [`forecast_impact`], from kept base draws when given (see [`forecast_with`]).
pub fn forecast_impact_with(req: &ForecastRequest, base: Option<&BaseDraws>) -> Result<ForecastReport> {
    forecast_impact_until(req, base, &NEVER)
}

/// [`forecast_impact_with`] that stops with [`Error::Cancelled`] soon after `stop` is raised.
pub fn forecast_impact_until(
    req: &ForecastRequest,
    base: Option<&BaseDraws>,
    stop: &Interrupt,
) -> Result<ForecastReport> {
    let lang = req.language;
    let forecast = project(&req.model, base, stop, lang).map_err(|e| e.within("model"))?;
    let plan = req.plan.as_ref().map(|p| test_plan_in(&req.model, p, lang)).transpose()?;
    let (mut prior, mut realism, mut fpr, mut source) = (None, None, None, None);
    if let Some(h) = &req.history {
        if h.from_ledger.is_some() {
            return Err(Error::invalid(
                "history.from_ledger",
                "only the service reads the ledger; give `history.past` here, or send the request to POST /v1/forecast",
            ));
        }
        if let Some(l) = &h.label {
            if l.chars().count() > 200 {
                return Err(Error::invalid("history.label", "is longer than 200 characters"));
            }
        }
        if !h.past.is_empty() {
            let p = history::fit_prior(&h.past).map_err(|e| e.within("history"))?;
            // Past tests measured effects among the units they reached, as the plan's MDE is, so
            // realism judges the topline's lift among reached units. The MDE is the test
            // metric's: it maps to the topline as the plan says ((1 + MDE)·ratio − 1).
            let mde = plan.as_ref().map(|p| (1.0 + p.mde_at_max_days.rel_effect) * p.topline_ratio - 1.0);
            let c = req.model.reach;
            realism = Some(history::realism(&p, forecast.relative.estimate / c, forecast.relative_std_dev / c, mde)?);
            prior = Some(p);
        }
        if let Some(w) = h.win_rate {
            let design = req.plan.as_ref().map(|p| p.design).unwrap_or_default();
            let power = plan.as_ref().map_or(design.power, |p| p.power_at_max_days.min(p.sample_size.power));
            fpr = Some(history::false_positive_risk(design.alpha, power, w).map_err(|e| e.within("history"))?);
        }
        source = text::history_source(lang, h, prior.as_ref());
    }
    let prd_paragraph =
        text::prd_paragraph(req, &forecast, plan.as_ref(), prior.as_ref(), realism.as_ref(), fpr, source.as_deref());
    let mut report = ForecastReport {
        forecast,
        plan,
        prior,
        realism,
        false_positive_risk: fpr,
        history_source: source,
        warnings: plausibility(req),
        prd_paragraph,
        settings: ForecastSettings::of(req),
        display: Default::default(),
        charts: None,
    };
    report.display = display::display(&report);
    Ok(report)
}

/// Fills what a report saved by an earlier version lacks, from its own numbers and its request
/// (never by projecting again, so that a saved forecast keeps the numbers it was saved with): the
/// lift among the reached units, the median, the periods, the headline's note and the PRD
/// paragraph; and rebuilds the display from them.
pub fn complete_report(req: &ForecastRequest, report: &mut ForecastReport) {
    complete_texts(req, report);
    report.display = display::display(report);
}

fn complete_texts(req: &ForecastRequest, report: &mut ForecastReport) {
    report.settings = ForecastSettings::of(req);
    let f = &mut report.forecast;
    if f.confidence_level == 0.0 {
        f.confidence_level = f.confidence; // saved before the rename
    }
    f.confidence = f.confidence_level;
    if !report.prd_paragraph.is_empty() {
        return;
    }
    let (m, lang) = (&req.model, req.language);
    let f = &mut report.forecast;
    let scale = |iv: Interval, k: f64| Interval { estimate: iv.estimate * k, low: iv.low * k, high: iv.high * k };
    if m.reach > 0.0 {
        f.reached = scale(f.relative, 1.0 / m.reach);
    }
    if let Some(q) = f.quantiles.iter().find(|q| q[0] == 0.5) {
        f.median = q[1];
    }
    f.period = text::period_name_in(lang, m.period_days);
    f.periods = text::period_lengths(m.period_days)
        .into_iter()
        .map(|days| PeriodLift {
            label: text::per_period(lang, days),
            days,
            lift: if days == m.period_days { f.absolute } else { scale(f.per_day, days) },
        })
        .collect();
    f.unit = m.unit.clone();
    f.headline_note = text::headline_note(lang, f.relative.estimate, f.median, f.draws);
    if report.history_source.is_none() {
        if let Some(h) = &req.history {
            report.history_source = text::history_source(lang, h, report.prior.as_ref());
        }
    }
    report.warnings = plausibility(req);
    report.prd_paragraph = text::prd_paragraph(
        req,
        &report.forecast,
        report.plan.as_ref(),
        report.prior.as_ref(),
        report.realism.as_ref(),
        report.false_positive_risk,
        report.history_source.as_deref(),
    );
}

/// Inputs that are allowed but implausible under the convention that shares and changes are
/// fractions (0.5 = 50%, 0.08 = +8%): most likely a percentage typed as a fraction or the other
/// way round. Each names its field; the answer is computed all the same.
pub fn plausibility(req: &ForecastRequest) -> Vec<FieldNote> {
    use text::Implausible::*;
    let lang = req.language;
    let mut out = Vec::new();
    let mut note =
        |field: String, what: text::Implausible| out.push(FieldNote { field, message: text::implausible(lang, what) });
    let m = &req.model;
    if m.reach < 0.01 {
        note("model.reach".into(), Reach(m.reach));
    }
    if m.confidence_level < 0.5 {
        note("model.confidence_level".into(), ConfidenceLevel(m.confidence_level));
    }
    for (i, c) in m.changes.iter().enumerate() {
        let (name, v) = [("low", c.low), ("likely", c.likely), ("high", c.high)]
            .into_iter()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap_or(("likely", c.likely));
        if v.abs() > 1.0 {
            note(format!("model.changes[{i}].{name}"), Change(v));
        }
    }
    if let Some(p) = &req.plan {
        let a = p.design.alpha;
        if a > 0.0 && !(0.001..=0.2).contains(&a) {
            note("plan.design.alpha".into(), Alpha(a));
        }
        let pw = p.design.power;
        if pw > 0.0 && pw < 0.5 {
            note("plan.design.power".into(), Power(pw));
        }
    }
    if let Some(h) = &req.history {
        if let Some(w) = h.win_rate.filter(|&w| w > 0.0 && w < 0.01) {
            note("history.win_rate".into(), WinRate(w));
        }
        for (i, p) in h.past.iter().enumerate() {
            if p.effect.abs() > 1.0 || p.std_err > 1.0 {
                note(format!("history.past[{i}]"), PastEffect { effect: p.effect, std_err: p.std_err });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
