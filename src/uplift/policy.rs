//! A cost-aware, budget-constrained, multi-channel contact policy: whom to contact, and through
//! which channel, to maximise the expected net gain.
//!
//! **Inputs.** `uplift` is **unit-major**: `uplift[i][j]` is the predicted uplift of channel `j`
//! (SMS, call, e-mail, ...) for unit `i`, against no contact; every row has one value per channel.
//! `cost[j]` is the cost of one contact through channel `j`, and `value` the value of one
//! conversion (or of one unit of a continuous outcome). The net gain of contacting unit `i` through
//! channel `j` is `g[i][j] = uplift[i][j] · value − cost[j]`.
//!
//! **Eligibility.** A channel is *eligible* for a unit when its uplift is `> 0` and its net gain is
//! `> 0`. Predicted sleeping dogs (uplift `< 0` on a channel) are therefore never contacted through
//! that channel, and a unit whose every channel has a net gain `≤ 0` is never contacted.
//!
//! **Budgets** ([`Budget`]), none, one or both (when a kind is given twice, the tighter one holds):
//! - *none*: every unit takes its best eligible channel (largest net gain; ties → lower channel
//!   index). This is optimal.
//! - *at most `K` contacts*: the `K` units with the largest best-channel net gains, each with its
//!   best channel (ties → lower unit index). This is optimal.
//! - *at most `S` spent*: a multiple-choice knapsack. Each unit's eligible options `(cost, gain)`
//!   plus "no contact" `(0, 0)` are reduced to their upper convex hull (dominated options dropped;
//!   collinear points are kept so the integer greedy can stop at them); the hull's segments of all
//!   units are sorted by incremental efficiency `Δgain/Δcost` (descending; ties → lower unit index,
//!   then the unit's hull order, cheaper option first) and taken in that order whenever the budget
//!   still allows; a unit's later segment upgrades it to a dearer channel, and once a segment of a
//!   unit is skipped its later segments are skipped too. This is the classical MCKP greedy (Sinha
//!   & Zoltners 1979): the prefix taken before the first segment that does not fit is the integer
//!   part of the LP-relaxation optimum, whose value is at least the integer optimum, so the
//!   greedy's gain is at least `optimum − the largest single option's net gain` (it then fills the
//!   remaining budget with later segments that fit, which only adds gain). The tests check that
//!   bound against brute-force enumeration and measure how often the greedy is exactly optimal.
//! - *both*: the hull greedy above, also refusing a new contact once `K` are made, and the
//!   contact-budget rule (units by best net gain, each with its best eligible channel that still
//!   fits the remaining spend, until `K` contacts); the better of the two is returned. Both
//!   constraints always hold; no optimality bound is claimed for this combination.
//!
//! A spend fits the budget `S` when it is at most `S · (1 + 1e-9)` (`S + 1e-9` when `S < 1`), so
//! that costs summing to `S` up to rounding fit.
//!
//! **Output.** Per unit: the chosen channel (or none), its expected net gain and its score (the
//! best net gain over all its channels, the key units are ranked by), and its rank in the policy's
//! priority order. The priority order lists the contacted units in the order the policy picked them
//! (by best net gain without a budget or with a contact budget; in the order their first hull
//! segment was taken under a spend budget), then the others by score (ties → lower unit index). The
//! [`ProfitCurve`] accumulates, along that order, the chosen channel's net gain for contacted units
//! and the best channel's net gain (score) for the others, so beyond the policy's contacts it shows
//! what contacting more units would add or lose; it peaks where the marginal unit's gain turns
//! negative.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A budget on the contact policy; several may be given at once (all must hold).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Budget {
    /// At most this many units are contacted.
    MaxContacts(usize),
    /// At most this much is spent on contacts (in the units of `cost`).
    MaxSpend(f64),
}

/// The decision for one unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitDecision {
    /// The channel index to contact the unit through; `None` for no contact.
    pub channel: Option<usize>,
    /// The expected net gain of the decision: `uplift · value − cost` of the chosen channel, 0 for
    /// no contact.
    pub expected_gain: f64,
    /// The unit's best net gain over all its channels (negative when every channel loses): the key
    /// the policy ranks units by.
    pub score: f64,
    /// The unit's position (0-based) in the policy's priority order, the order of the profit curve.
    pub rank: usize,
}

/// Expected cumulative net gain as the number of units contacted grows along the policy's
/// priority order, from `(0, 0)` to all units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfitCurve {
    /// `0, 1, …, n`.
    pub n_contacted: Vec<usize>,
    /// Cumulative expected net gain of the first `n_contacted` units of the priority order.
    pub net_gain: Vec<f64>,
    /// The number contacted where the curve is highest (the first such point).
    pub peak_n_contacted: usize,
    /// The curve's highest value.
    pub peak_net_gain: f64,
}

/// The chosen contact policy with its totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactPolicy {
    /// One decision per unit, in input order.
    pub units: Vec<UnitDecision>,
    /// Unit indices in the policy's priority order (contacted units first).
    pub order: Vec<usize>,
    /// Number of units contacted.
    pub n_contacts: usize,
    /// Total cost of the contacts.
    pub spend: f64,
    /// Expected incremental conversions (or outcome units): the sum of the chosen channels' uplift.
    pub expected_conversions: f64,
    /// Expected net gain: the sum of the chosen channels' `uplift · value − cost`.
    pub expected_net_gain: f64,
    /// The profit curve along the priority order.
    pub profit_curve: ProfitCurve,
}

/// The checked problem.
struct Problem<'a> {
    uplift: &'a [Vec<f64>],
    cost: &'a [f64],
    value: f64,
}

impl Problem<'_> {
    fn n_units(&self) -> usize {
        self.uplift.len()
    }

    fn gain(&self, i: usize, j: usize) -> f64 {
        self.uplift[i][j] * self.value - self.cost[j]
    }

    fn eligible(&self, i: usize, j: usize) -> bool {
        self.uplift[i][j] > 0.0 && self.gain(i, j) > 0.0
    }

    /// Best eligible channel among those `allowed`: largest gain, ties → lower channel index.
    fn best_channel(&self, i: usize, allowed: impl Fn(usize) -> bool) -> Option<usize> {
        let mut best: Option<usize> = None;
        for j in 0..self.cost.len() {
            if self.eligible(i, j) && allowed(j) && best.is_none_or(|b| self.gain(i, j) > self.gain(i, b)) {
                best = Some(j);
            }
        }
        best
    }

    /// Best net gain over all channels, eligible or not.
    fn score(&self, i: usize) -> f64 {
        (0..self.cost.len()).map(|j| self.gain(i, j)).fold(f64::NEG_INFINITY, f64::max)
    }

    fn total_gain(&self, chosen: &[Option<usize>]) -> f64 {
        chosen.iter().enumerate().filter_map(|(i, c)| c.map(|j| self.gain(i, j))).sum()
    }
}

/// Whether a total spend fits the budget (with a relative tolerance of 1e-9 for rounding).
fn fits(spend: f64, max_spend: f64) -> bool {
    spend <= max_spend + 1e-9 * max_spend.abs().max(1.0)
}

/// Indices sorted by `key` descending, ties → lower index (keys are never NaN).
fn sorted_desc(mut idx: Vec<usize>, key: impl Fn(usize) -> f64) -> Vec<usize> {
    idx.sort_by(|&a, &b| key(b).partial_cmp(&key(a)).unwrap_or(std::cmp::Ordering::Equal).then(a.cmp(&b)));
    idx
}

fn check_inputs(uplift: &[Vec<f64>], cost: &[f64], value: f64) -> Result<()> {
    if cost.is_empty() {
        return Err(Error::invalid("cost", "is empty; at least one channel is needed"));
    }
    if let Some(j) = cost.iter().position(|c| !(c.is_finite() && *c >= 0.0)) {
        return Err(Error::invalid(format!("cost[{j}]"), format!("must be finite and >= 0, got {}", cost[j])));
    }
    if !(value.is_finite() && value > 0.0) {
        return Err(Error::invalid("value", format!("must be finite and > 0, got {value}")));
    }
    if uplift.is_empty() {
        return Err(Error::insufficient("uplift", "is empty; at least one unit is needed"));
    }
    for (i, row) in uplift.iter().enumerate() {
        if row.len() != cost.len() {
            return Err(Error::invalid(
                format!("uplift[{i}]"),
                format!("has {} channels but cost has {}", row.len(), cost.len()),
            ));
        }
        if let Some(j) = row.iter().position(|u| !u.is_finite()) {
            return Err(Error::invalid(format!("uplift[{i}][{j}]"), format!("must be finite, got {}", row[j])));
        }
    }
    Ok(())
}

/// The tightest contact and spend limits, checked.
fn check_budgets(budgets: &[Budget], cost: &[f64]) -> Result<(Option<usize>, Option<f64>)> {
    let cheapest = cost.iter().copied().fold(f64::INFINITY, f64::min);
    let (mut max_contacts, mut max_spend): (Option<usize>, Option<f64>) = (None, None);
    for b in budgets {
        match *b {
            Budget::MaxContacts(k) => {
                if k == 0 {
                    return Err(Error::invalid("budget", "is below one contact (max_contacts = 0)"));
                }
                max_contacts = Some(max_contacts.map_or(k, |m| m.min(k)));
            }
            Budget::MaxSpend(s) => {
                if s.is_nan() {
                    return Err(Error::invalid("budget", "max_spend must be a number, got NaN"));
                }
                if s < cheapest {
                    return Err(Error::invalid("budget", format!("is below the cheapest contact ({cheapest})")));
                }
                max_spend = Some(max_spend.map_or(s, |m| m.min(s)));
            }
        }
    }
    Ok((max_contacts, max_spend))
}

/// Choose whom to contact, and through which channel, to maximise the expected net gain
/// `Σ (uplift · value − cost)` over the contacted units, within the `budgets` (empty: no budget).
/// See the [module docs](self) for the layout of `uplift` (unit-major), the rules and guarantees.
///
/// Errors (`InvalidInput`, naming the field): no channels (`cost` empty), a negative or non-finite
/// `cost[j]`, a `value` that is not finite and `> 0`, an `uplift[i]` row whose length differs from
/// `cost`'s, a non-finite `uplift[i][j]`, and a `budget` below one contact (`MaxContacts(0)`, a
/// `MaxSpend` below the cheapest channel's cost, or NaN). No units is `InsufficientData`.
pub fn plan_contact_policy(uplift: &[Vec<f64>], cost: &[f64], value: f64, budgets: &[Budget]) -> Result<ContactPolicy> {
    check_inputs(uplift, cost, value)?;
    let (max_contacts, max_spend) = check_budgets(budgets, cost)?;
    let p = Problem { uplift, cost, value };
    let (chosen, picked) = match (max_contacts, max_spend) {
        (k, None) => choose_by_gain(&p, k.unwrap_or(usize::MAX), f64::INFINITY),
        (None, Some(s)) => choose_by_hull(&p, usize::MAX, s),
        (Some(k), Some(s)) => {
            let hull = choose_by_hull(&p, k, s);
            let by_gain = choose_by_gain(&p, k, s);
            if p.total_gain(&by_gain.0) > p.total_gain(&hull.0) {
                by_gain
            } else {
                hull
            }
        }
    };
    Ok(assemble(&p, chosen, picked))
}

/// Units by best eligible net gain (descending, ties → lower index), each with its best eligible
/// channel that fits the remaining spend, until `max_contacts`. Exact without a spend limit.
/// Returns the chosen channels and the units in the order picked.
fn choose_by_gain(p: &Problem, max_contacts: usize, max_spend: f64) -> (Vec<Option<usize>>, Vec<usize>) {
    let n = p.n_units();
    let best: Vec<Option<usize>> = (0..n).map(|i| p.best_channel(i, |_| true)).collect();
    let candidates: Vec<usize> = (0..n).filter(|&i| best[i].is_some()).collect();
    let candidates = sorted_desc(candidates, |i| best[i].map_or(f64::NEG_INFINITY, |j| p.gain(i, j)));
    let mut chosen = vec![None; n];
    let mut picked = Vec::new();
    let mut spend = 0.0;
    for i in candidates {
        if picked.len() >= max_contacts {
            break;
        }
        if let Some(j) = p.best_channel(i, |j| fits(spend + p.cost[j], max_spend)) {
            chosen[i] = Some(j);
            spend += p.cost[j];
            picked.push(i);
        }
    }
    (chosen, picked)
}

/// One segment of a unit's upper convex hull: from its hull point `level − 1` to `level`.
struct Segment {
    efficiency: f64,
    d_cost: f64,
    unit: usize,
    level: usize,
    channel: usize,
}

/// A unit's upper convex hull of eligible `(cost, gain, channel)` options, starting after the
/// implicit origin `(0, 0)` (no contact): costs and gains strictly increasing, efficiencies
/// non-increasing.
fn unit_hull(p: &Problem, i: usize) -> Vec<(f64, f64, usize)> {
    let mut options: Vec<(f64, f64, usize)> =
        (0..p.cost.len()).filter(|&j| p.eligible(i, j)).map(|j| (p.cost[j], p.gain(i, j), j)).collect();
    // Cost ascending, then gain descending, then channel ascending (all finite: total order).
    options.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut hull: Vec<(f64, f64, usize)> = Vec::new();
    let mut top_gain = 0.0;
    for o in options {
        if o.1 <= top_gain {
            continue; // dominated: no more gain for at least the cost
        }
        top_gain = o.1;
        while let Some(&last) = hull.last() {
            let prev = if hull.len() >= 2 { hull[hull.len() - 2] } else { (0.0, 0.0, 0) };
            if efficiency(prev, last) < efficiency(last, o) {
                hull.pop(); // below the chord from prev to o
            } else {
                break;
            }
        }
        hull.push(o);
    }
    hull
}

/// `Δgain/Δcost` from `a` to `b`; infinite for a free step.
fn efficiency(a: (f64, f64, usize), b: (f64, f64, usize)) -> f64 {
    let d_cost = b.0 - a.0;
    if d_cost > 0.0 {
        (b.1 - a.1) / d_cost
    } else {
        f64::INFINITY
    }
}

/// The MCKP greedy on the units' convex hulls (see the module docs).
fn choose_by_hull(p: &Problem, max_contacts: usize, max_spend: f64) -> (Vec<Option<usize>>, Vec<usize>) {
    let n = p.n_units();
    let mut segments = Vec::new();
    for i in 0..n {
        let mut prev = (0.0, 0.0, 0);
        for (k, &pt) in unit_hull(p, i).iter().enumerate() {
            segments.push(Segment {
                efficiency: efficiency(prev, pt),
                d_cost: pt.0 - prev.0,
                unit: i,
                level: k + 1,
                channel: pt.2,
            });
            prev = pt;
        }
    }
    segments
        .sort_by(|a, b| b.efficiency.total_cmp(&a.efficiency).then(a.unit.cmp(&b.unit)).then(a.level.cmp(&b.level)));
    let mut level = vec![0usize; n];
    let mut chosen = vec![None; n];
    let mut picked = Vec::new();
    let mut spend = 0.0;
    for s in segments {
        if level[s.unit] + 1 != s.level {
            continue; // an earlier step of this unit was skipped
        }
        if s.level == 1 && picked.len() >= max_contacts {
            continue;
        }
        if !fits(spend + s.d_cost, max_spend) {
            continue;
        }
        spend += s.d_cost;
        level[s.unit] = s.level;
        chosen[s.unit] = Some(s.channel);
        if s.level == 1 {
            picked.push(s.unit);
        }
    }
    (chosen, picked)
}

fn assemble(p: &Problem, chosen: Vec<Option<usize>>, picked: Vec<usize>) -> ContactPolicy {
    let n = p.n_units();
    let scores: Vec<f64> = (0..n).map(|i| p.score(i)).collect();
    let rest: Vec<usize> = (0..n).filter(|&i| chosen[i].is_none()).collect();
    let mut order = picked;
    order.extend(sorted_desc(rest, |i| scores[i]));
    let mut rank = vec![0usize; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    let units: Vec<UnitDecision> = (0..n)
        .map(|i| UnitDecision {
            channel: chosen[i],
            expected_gain: chosen[i].map_or(0.0, |j| p.gain(i, j)),
            score: scores[i],
            rank: rank[i],
        })
        .collect();
    let (mut n_contacted, mut net_gain) = (vec![0usize], vec![0.0]);
    let (mut peak_n_contacted, mut peak_net_gain, mut cum) = (0usize, 0.0, 0.0);
    for (r, &i) in order.iter().enumerate() {
        cum += if chosen[i].is_some() { units[i].expected_gain } else { scores[i] };
        n_contacted.push(r + 1);
        net_gain.push(cum);
        if cum > peak_net_gain {
            peak_net_gain = cum;
            peak_n_contacted = r + 1;
        }
    }
    let contacted = || (0..n).filter_map(|i| chosen[i].map(|j| (i, j)));
    ContactPolicy {
        n_contacts: contacted().count(),
        spend: contacted().map(|(_, j)| p.cost[j]).sum(),
        expected_conversions: contacted().map(|(i, j)| p.uplift[i][j]).sum(),
        expected_net_gain: contacted().map(|(i, j)| p.gain(i, j)).sum(),
        units,
        order,
        profit_curve: ProfitCurve { n_contacted, net_gain, peak_n_contacted, peak_net_gain },
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
