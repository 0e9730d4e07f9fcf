//! A cost-aware, budget-constrained, multi-channel contact policy: whom to contact, and through
//! which channel, to maximise the expected net gain.
//!
//! **Inputs.** `uplift` is **unit-major**: `uplift[i][j]` is the predicted uplift of channel `j`
//! (SMS, call, e-mail, ...) for unit `i`, against no contact; every row has one value per channel.
//! `cost[j]` is the cost of one contact through channel `j`, and `value[j]` the value of one
//! conversion (or of one unit of a continuous outcome) won through channel `j`; a single value
//! holds for every channel. The net gain of contacting unit `i` through channel `j` is
//! `g[i][j] = uplift[i][j] · value[j] − cost[j]`.
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
//! - *at most `S` spent* (with or without `K`): a multiple-choice knapsack, solved in three steps.
//!   1. *Greedy*: each unit's eligible options `(cost, gain)` plus "no contact" `(0, 0)` are reduced
//!      to their upper convex hull; the hull's segments of all units are taken in order of
//!      incremental efficiency `Δgain/Δcost` whenever the budget (and `K`) still allow, a unit's
//!      later segment upgrading it to a dearer channel (the classical MCKP greedy, Sinha & Zoltners
//!      1979: within the largest single option's gain of the optimum). With `K`, the plan by best
//!      gain (units by best net gain, each with its best channel that still fits) is also tried.
//!   2. *Fill*: the money left is spent on the best moves that still fit, any eligible option
//!      (on the hull or not): a new contact, or a switch of a contacted unit to a channel with a
//!      larger gain, by gain added (descending; ties → lower unit, then channel index), in passes
//!      until none fits (at most [`FILL_PASSES`]). Afterwards **no affordable profitable contact is
//!      left out**: every uncontacted unit's eligible options cost more than the money left (or
//!      `K` contacts are made). The greedy alone missed, for example, an SMS of cost 0.3 and gain
//!      0.12 under a budget of 0.5 when the same unit's call (off budget) hid it from the hull.
//!   3. *Exact search* on instances with at most [`EXACT_MAX_OPTIONS`] eligible (unit, channel)
//!      options: a depth-first branch and bound over the units (options by gain, then no contact)
//!      from the better of the plans above, pruned by the linear-programming bound of the hull
//!      segments still open (and, with `K`, by the `K` best gains still open). It stops after
//!      [`EXACT_MAX_NODES`] nodes, so no input can make it run long; then the best plan found is
//!      returned (filled as in step 2) and [`ContactPlan::optimal`] is false. When the search
//!      finishes, the plan is optimal (`optimal` true). Measured on 600 random instances of at
//!      most 40 units and 2-3 channels, against `scipy.optimize.milp`
//!      (`tests/python/test_uplift_policy.py`) and against an exhaustive dynamic programme
//!      (`policy_tests.rs`): every plan optimal and proven so. Issue 13 measured the greedy alone
//!      at 88.6% optimal (99th-percentile gap 24%); greedy and fill without the search, as on
//!      instances beyond the search's bound, are optimal in 530 of the 600 DP instances (99th-
//!      percentile gap 11.5%, worst 18%); on large instances the gap is at most one option's gain,
//!      small against the total.
//!
//! A spend fits the budget `S` when it is at most `S · (1 + 1e-9)` (`S + 1e-9` when `S < 1`), so
//! that costs summing to `S` up to rounding fit.
//!
//! **Output.** Per unit: the chosen channel (or none), its expected net gain and its score (the
//! best net gain over all its channels, the key units are ranked by), and its rank in the policy's
//! priority order. The priority order lists the contacted units by the net gain of their chosen
//! channel (descending; ties → lower unit index), then the others by score (ties → lower unit
//! index). The [`ProfitCurve`] accumulates, along that order, the chosen channel's net gain for
//! contacted units and the best channel's net gain (score) for the others, so beyond the policy's
//! contacts it shows what contacting more units would add or lose; it peaks where the marginal
//! unit's gain turns negative.

use serde::{Deserialize, Serialize};

use crate::error::{Detail, Error, Result};

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
pub struct ContactPlan {
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
    /// Whether the plan is proven optimal: always without a spend budget; under one, when the
    /// exact search ran to its end (see the module docs).
    pub optimal: bool,
}

/// The passes of the fill step at most (each applies at least one move; the first already
/// leaves no affordable contact out).
pub const FILL_PASSES: usize = 4;

/// The exact search runs on instances with at most this many eligible (unit, channel) options.
pub const EXACT_MAX_OPTIONS: usize = 1_000;

/// The exact search visits at most this many nodes (each costs `O(options)`), then returns the
/// best plan found.
pub const EXACT_MAX_NODES: usize = 200_000;

/// The checked problem.
struct Problem<'a> {
    uplift: &'a [Vec<f64>],
    cost: &'a [f64],
    /// One value per channel.
    value: Vec<f64>,
}

impl Problem<'_> {
    fn n_units(&self) -> usize {
        self.uplift.len()
    }

    fn gain(&self, i: usize, j: usize) -> f64 {
        self.uplift[i][j] * self.value[j] - self.cost[j]
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

    fn total_cost(&self, chosen: &[Option<usize>]) -> f64 {
        chosen.iter().filter_map(|c| c.map(|j| self.cost[j])).sum()
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

fn check_inputs(uplift: &[Vec<f64>], cost: &[f64], value: &[f64]) -> Result<Vec<f64>> {
    if cost.is_empty() {
        return Err(Error::invalid("cost", "is empty; at least one channel is needed"));
    }
    if let Some(j) = cost.iter().position(|c| !(c.is_finite() && *c >= 0.0)) {
        return Err(Error::invalid(format!("cost[{j}]"), format!("must be finite and >= 0, got {}", cost[j])));
    }
    let one_value = value.len() == 1;
    let value: Vec<f64> = match value.len() {
        1 => vec![value[0]; cost.len()],
        m if m == cost.len() => value.to_vec(),
        m => {
            return Err(Error::invalid(
                "value",
                format!("has {m} values for {} channels; give one value, or one per channel", cost.len()),
            ))
        }
    };
    if let Some(j) = value.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
        let field = if one_value { "value".to_string() } else { format!("value[{j}]") };
        return Err(Error::invalid(field, format!("must be finite and > 0, got {}", value[j])));
    }
    if uplift.is_empty() {
        return Err(Error::insufficient("uplift", "is empty; at least one unit is needed"));
    }
    for (i, row) in uplift.iter().enumerate() {
        if row.len() != cost.len() {
            return Err(Error::length_mismatch(
                format!("uplift[{i}]"),
                (row.len(), "channels"),
                "cost",
                (cost.len(), ""),
            ));
        }
        if let Some(j) = row.iter().position(|u| !u.is_finite()) {
            return Err(Error::invalid(format!("uplift[{i}][{j}]"), format!("must be finite, got {}", row[j])));
        }
    }
    Ok(value)
}

/// The tightest contact and spend limits, checked.
fn check_budgets(budgets: &[Budget], cost: &[f64]) -> Result<(Option<usize>, Option<f64>)> {
    let cheapest = cost.iter().copied().fold(f64::INFINITY, f64::min);
    let (mut max_contacts, mut max_spend): (Option<usize>, Option<f64>) = (None, None);
    for b in budgets {
        match *b {
            Budget::MaxContacts(k) => {
                if k == 0 {
                    return Err(Error::invalid("budget.max_contacts", "is below one contact (max_contacts = 0)")
                        .with_detail(Detail::BudgetTooSmall));
                }
                max_contacts = Some(max_contacts.map_or(k, |m| m.min(k)));
            }
            Budget::MaxSpend(s) => {
                if s.is_nan() {
                    return Err(
                        Error::invalid("budget.max_spend", "must be a number, got NaN").with_detail(Detail::NotFinite)
                    );
                }
                if s < cheapest {
                    return Err(Error::invalid(
                        "budget.max_spend",
                        format!("is below the cheapest contact ({cheapest})"),
                    )
                    .with_detail(Detail::BudgetTooSmall));
                }
                max_spend = Some(max_spend.map_or(s, |m| m.min(s)));
            }
        }
    }
    Ok((max_contacts, max_spend))
}

/// Choose whom to contact, and through which channel, to maximise the expected net gain
/// `Σ (uplift · value − cost)` over the contacted units, within the `budgets` (empty: no budget).
/// `value` holds one value for every channel or one per channel. See the
/// [module docs](self) for the layout of `uplift` (unit-major), the rules and guarantees.
///
/// Errors (`InvalidInput`, naming the field): no channels (`cost` empty), a negative or non-finite
/// `cost[j]`, a `value` (or `value[j]`) that is not finite and `> 0`, or a number of values that is
/// neither 1 nor the number of channels, an `uplift[i]` row whose length differs from `cost`'s, a
/// non-finite `uplift[i][j]`, and a budget below one contact: `max_contacts` for
/// `MaxContacts(0)`, `max_spend` for a `MaxSpend` below the cheapest channel's cost or NaN (the
/// field is the budget's own name at every door). No units is `InsufficientData`.
pub fn plan_contacts(uplift: &[Vec<f64>], cost: &[f64], value: &[f64], budgets: &[Budget]) -> Result<ContactPlan> {
    let value = check_inputs(uplift, cost, value)?;
    let (max_contacts, max_spend) = check_budgets(budgets, cost)?;
    let p = Problem { uplift, cost, value };
    let (chosen, optimal) = match (max_contacts, max_spend) {
        (k, None) => (choose_by_gain(&p, k.unwrap_or(usize::MAX), f64::INFINITY), true),
        (k, Some(s)) => choose_within_spend(&p, k.unwrap_or(usize::MAX), s),
    };
    Ok(assemble(&p, chosen, optimal))
}

/// Units by best eligible net gain (descending, ties → lower index), each with its best eligible
/// channel that fits the remaining spend, until `max_contacts`. Exact without a spend limit.
fn choose_by_gain(p: &Problem, max_contacts: usize, max_spend: f64) -> Vec<Option<usize>> {
    let n = p.n_units();
    let best: Vec<Option<usize>> = (0..n).map(|i| p.best_channel(i, |_| true)).collect();
    let candidates: Vec<usize> = (0..n).filter(|&i| best[i].is_some()).collect();
    let candidates = sorted_desc(candidates, |i| best[i].map_or(f64::NEG_INFINITY, |j| p.gain(i, j)));
    let mut chosen = vec![None; n];
    let (mut spend, mut contacts) = (0.0, 0);
    for i in candidates {
        if contacts >= max_contacts {
            break;
        }
        if let Some(j) = p.best_channel(i, |j| fits(spend + p.cost[j], max_spend)) {
            chosen[i] = Some(j);
            spend += p.cost[j];
            contacts += 1;
        }
    }
    chosen
}

/// Steps 1-3 of the module docs under a spend budget (and at most `max_contacts`).
fn choose_within_spend(p: &Problem, max_contacts: usize, max_spend: f64) -> (Vec<Option<usize>>, bool) {
    let mut best = fill(p, choose_by_hull(p, max_contacts, max_spend), max_contacts, max_spend);
    if max_contacts < usize::MAX {
        let by_gain = fill(p, choose_by_gain(p, max_contacts, max_spend), max_contacts, max_spend);
        if p.total_gain(&by_gain) > p.total_gain(&best) {
            best = by_gain;
        }
    }
    match search_exact(p, max_contacts, max_spend, &best) {
        Some((found, true)) => (found, true),
        Some((found, false)) => (fill(p, found, max_contacts, max_spend), false),
        None => (best, false),
    }
}

/// One segment of a unit's upper convex hull: from its hull point `level − 1` to `level`.
struct Segment {
    efficiency: f64,
    d_cost: f64,
    d_gain: f64,
    unit: usize,
    level: usize,
    channel: usize,
}

/// A unit's upper convex hull of eligible `(cost, gain, channel)` options, starting after the
/// implicit origin `(0, 0)` (no contact): costs and gains strictly increasing, efficiencies
/// non-increasing.
fn unit_hull(p: &Problem, i: usize) -> Vec<(f64, f64, usize)> {
    let mut hull: Vec<(f64, f64, usize)> = Vec::new();
    for o in undominated_options(p, i) {
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

/// A unit's eligible options `(cost, gain, channel)` without the dominated ones (another option
/// costs no more and gains at least as much): costs and gains strictly increasing.
fn undominated_options(p: &Problem, i: usize) -> Vec<(f64, f64, usize)> {
    let mut options: Vec<(f64, f64, usize)> =
        (0..p.cost.len()).filter(|&j| p.eligible(i, j)).map(|j| (p.cost[j], p.gain(i, j), j)).collect();
    // Cost ascending, then gain descending, then channel ascending (all finite: total order).
    options.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut out: Vec<(f64, f64, usize)> = Vec::new();
    let mut top_gain = 0.0;
    for o in options {
        if o.1 <= top_gain {
            continue; // dominated: no more gain for at least the cost
        }
        top_gain = o.1;
        out.push(o);
    }
    out
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

/// Every unit's hull segments, by efficiency (descending; ties → lower unit, then level).
fn hull_segments(p: &Problem, units: impl Iterator<Item = usize>) -> Vec<Segment> {
    let mut segments = Vec::new();
    for i in units {
        let mut prev = (0.0, 0.0, 0);
        for (k, &pt) in unit_hull(p, i).iter().enumerate() {
            segments.push(Segment {
                efficiency: efficiency(prev, pt),
                d_cost: pt.0 - prev.0,
                d_gain: pt.1 - prev.1,
                unit: i,
                level: k + 1,
                channel: pt.2,
            });
            prev = pt;
        }
    }
    segments
        .sort_by(|a, b| b.efficiency.total_cmp(&a.efficiency).then(a.unit.cmp(&b.unit)).then(a.level.cmp(&b.level)));
    segments
}

/// The MCKP greedy on the units' convex hulls (step 1 of the module docs).
fn choose_by_hull(p: &Problem, max_contacts: usize, max_spend: f64) -> Vec<Option<usize>> {
    let n = p.n_units();
    let mut level = vec![0usize; n];
    let mut chosen = vec![None; n];
    let (mut spend, mut contacts) = (0.0, 0);
    for s in hull_segments(p, 0..n) {
        if level[s.unit] + 1 != s.level {
            continue; // an earlier step of this unit was skipped
        }
        if s.level == 1 && contacts >= max_contacts {
            continue;
        }
        if !fits(spend + s.d_cost, max_spend) {
            continue;
        }
        spend += s.d_cost;
        level[s.unit] = s.level;
        chosen[s.unit] = Some(s.channel);
        contacts += usize::from(s.level == 1);
    }
    chosen
}

/// Step 2 of the module docs: spends what is left on the moves that still fit, by gain added.
fn fill(p: &Problem, mut chosen: Vec<Option<usize>>, max_contacts: usize, max_spend: f64) -> Vec<Option<usize>> {
    for _ in 0..FILL_PASSES {
        let mut spend = p.total_cost(&chosen);
        let mut contacts = chosen.iter().filter(|c| c.is_some()).count();
        // (gain added, cost added, unit, channel)
        let mut moves: Vec<(f64, f64, usize, usize)> = Vec::new();
        for (i, cur) in chosen.iter().enumerate() {
            for j in (0..p.cost.len()).filter(|&j| p.eligible(i, j)) {
                match *cur {
                    None => moves.push((p.gain(i, j), p.cost[j], i, j)),
                    Some(c) if p.gain(i, j) > p.gain(i, c) => {
                        moves.push((p.gain(i, j) - p.gain(i, c), p.cost[j] - p.cost[c], i, j))
                    }
                    Some(_) => {}
                }
            }
        }
        moves.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)).then(a.3.cmp(&b.3)));
        let mut moved = vec![false; chosen.len()];
        let mut any = false;
        for (_, d_cost, i, j) in moves {
            let new_contact = chosen[i].is_none();
            if moved[i] || (new_contact && contacts >= max_contacts) || !fits(spend + d_cost, max_spend) {
                continue;
            }
            chosen[i] = Some(j);
            spend += d_cost;
            contacts += usize::from(new_contact);
            moved[i] = true;
            any = true;
        }
        if !any {
            break;
        }
    }
    chosen
}

/// The branch and bound of step 3: `None` when the instance has more than
/// [`EXACT_MAX_OPTIONS`] eligible options; else the best plan found from `start` and whether the
/// search finished (the plan is then optimal).
fn search_exact(
    p: &Problem,
    max_contacts: usize,
    max_spend: f64,
    start: &[Option<usize>],
) -> Option<(Vec<Option<usize>>, bool)> {
    let n = p.n_units();
    let options: Vec<Vec<(f64, f64, usize)>> = (0..n).map(|i| undominated_options(p, i)).collect();
    if options.iter().map(Vec::len).sum::<usize>() > EXACT_MAX_OPTIONS {
        return None;
    }
    // Units with an option, by their best efficiency (descending): good decisions come first.
    let units: Vec<usize> = (0..n).filter(|&i| !options[i].is_empty()).collect();
    let best_eff = |i: usize| options[i].iter().map(|o| efficiency((0.0, 0.0, 0), *o)).fold(0.0, f64::max);
    let units = sorted_desc(units, best_eff);
    let mut pos_of = vec![usize::MAX; n];
    for (pos, &i) in units.iter().enumerate() {
        pos_of[i] = pos;
    }
    // Each unit's options by gain (descending), tried in that order before "no contact".
    let branch: Vec<Vec<(f64, f64, usize)>> = units
        .iter()
        .map(|&i| {
            let mut o = options[i].clone();
            o.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
            o
        })
        .collect();
    let segments: Vec<(f64, f64, usize)> =
        hull_segments(p, units.iter().copied()).iter().map(|s| (s.d_cost, s.d_gain, pos_of[s.unit])).collect();
    let mut best_gains: Vec<(f64, usize)> = branch.iter().enumerate().map(|(pos, o)| (o[0].1, pos)).collect();
    best_gains.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut s = Search {
        branch,
        segments,
        best_gains,
        max_contacts,
        max_spend,
        nodes: 0,
        finished: true,
        best_gain: p.total_gain(start),
        best: units.iter().map(|&i| start[i]).collect(),
        current: vec![None; units.len()],
    };
    s.dfs(0, 0.0, 0.0, 0);
    let mut chosen = vec![None; n];
    for (pos, &i) in units.iter().enumerate() {
        chosen[i] = s.best[pos];
    }
    Some((chosen, s.finished))
}

/// The state of the exact search (units by position in the branching order).
struct Search {
    /// Per position: the unit's undominated options `(cost, gain, channel)`, by gain descending.
    branch: Vec<Vec<(f64, f64, usize)>>,
    /// Every unit's hull segments `(Δcost, Δgain, position)`, by efficiency descending.
    segments: Vec<(f64, f64, usize)>,
    /// Every unit's best gain with its position, descending.
    best_gains: Vec<(f64, usize)>,
    max_contacts: usize,
    max_spend: f64,
    nodes: usize,
    finished: bool,
    best_gain: f64,
    best: Vec<Option<usize>>,
    current: Vec<Option<usize>>,
}

impl Search {
    /// An upper bound on the gain the units from position `d` on can add with `budget` left and
    /// `contacts` more contacts: the LP relaxation of their hulls (segments by efficiency, the
    /// last one in part), and, with a contact limit, the sum of their `contacts` best gains.
    fn bound(&self, d: usize, budget: f64, contacts: usize) -> f64 {
        let mut left = budget.max(0.0) + 1e-9 * self.max_spend.abs().max(1.0);
        let mut lp = 0.0;
        for &(d_cost, d_gain, pos) in &self.segments {
            if pos < d {
                continue;
            }
            if d_cost <= left {
                left -= d_cost;
                lp += d_gain;
            } else {
                lp += d_gain * left / d_cost;
                break;
            }
        }
        if contacts == usize::MAX || contacts >= self.branch.len() - d {
            return lp;
        }
        let top: f64 = self.best_gains.iter().filter(|g| g.1 >= d).take(contacts).map(|g| g.0).sum();
        lp.min(top)
    }

    fn dfs(&mut self, d: usize, gain: f64, spend: f64, contacts: usize) {
        self.nodes += 1;
        if self.nodes > EXACT_MAX_NODES {
            self.finished = false;
            return;
        }
        // strictly better beyond rounding: among equal plans the first found (the greedy's) stays
        if gain > self.best_gain + 1e-12 * self.best_gain.abs().max(1.0) {
            self.best_gain = gain;
            self.best.clone_from(&self.current);
            self.best[d..].iter_mut().for_each(|c| *c = None);
        }
        if d == self.branch.len() {
            return;
        }
        let room = self.max_contacts.saturating_sub(contacts);
        if room == 0 {
            return;
        }
        let bound = gain + self.bound(d, self.max_spend - spend, room);
        if bound <= self.best_gain + 1e-12 * self.best_gain.abs().max(1.0) {
            return;
        }
        for k in 0..self.branch[d].len() {
            let (cost, g, channel) = self.branch[d][k];
            if fits(spend + cost, self.max_spend) {
                self.current[d] = Some(channel);
                self.dfs(d + 1, gain + g, spend + cost, contacts + 1);
                if !self.finished {
                    self.current[d] = None;
                    return;
                }
            }
        }
        self.current[d] = None;
        self.dfs(d + 1, gain, spend, contacts);
    }
}

/// One step of a unit's upper convex hull (see [`unit_options`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HullStep {
    /// The channel of the hull point this step reaches.
    pub channel: usize,
    /// The cost added from the previous point (the origin, "no contact", for the first step).
    pub d_cost: f64,
    /// `Δgain/Δcost` of the step; infinite for a free step.
    pub efficiency: f64,
}

/// What the policy knows of one unit before it looks at the others (see [`unit_options`]).
#[derive(Clone, Debug, PartialEq)]
pub struct UnitOptions {
    /// The best eligible channel (largest net gain; ties → lower index), or `None`.
    pub best: Option<usize>,
    /// The best net gain over all channels, eligible or not (the ranking score).
    pub score: f64,
    /// The net gain `uplift · value − cost` of each channel where it is eligible.
    pub gains: Vec<Option<f64>>,
    /// The number of undominated eligible options (the exact search counts these).
    pub n_options: usize,
    /// The unit's upper convex hull of eligible options, step by step from "no contact", in the
    /// greedy's order (efficiencies non-increasing).
    pub hull: Vec<HullStep>,
}

/// The per-unit quantities of [`plan_contacts`], computed by the same code, for a planner
/// that splits the units across machines (liftlab's Spark plan, `python/liftlab/spark.py`): it
/// ranks and selects on these and runs [`plan_contacts`] itself on the units that can still
/// change the plan. Inputs and errors are [`plan_contacts`]'s (without budgets).
pub fn unit_options(uplift: &[Vec<f64>], cost: &[f64], value: &[f64]) -> Result<Vec<UnitOptions>> {
    let value = check_inputs(uplift, cost, value)?;
    let p = Problem { uplift, cost, value };
    Ok((0..p.n_units())
        .map(|i| {
            let mut prev = (0.0, 0.0, 0);
            let hull = unit_hull(&p, i)
                .into_iter()
                .map(|pt| {
                    let step = HullStep { channel: pt.2, d_cost: pt.0 - prev.0, efficiency: efficiency(prev, pt) };
                    prev = pt;
                    step
                })
                .collect();
            UnitOptions {
                best: p.best_channel(i, |_| true),
                score: p.score(i),
                gains: (0..cost.len()).map(|j| p.eligible(i, j).then(|| p.gain(i, j))).collect(),
                n_options: undominated_options(&p, i).len(),
                hull,
            }
        })
        .collect())
}

/// Channel-major uplift (one column per channel, as a table holds it) as the unit-major rows
/// [`plan_contacts`] and [`unit_options`] take: `uplift[i][j] = columns[j][i]`. Checks that there
/// is one column per channel of `cost` (`cost: has 2 channels but uplift has 3`) and that every
/// column is as long as the first; column `j` is named `channel[j]`
/// (`channel[1]: has 1 values but channel[0] has 2`), which a face's rename table names after
/// the channel (Python: `uplift['sms']`).
pub fn rows_from_channels(columns: &[Vec<f64>], cost: &[f64]) -> Result<Vec<Vec<f64>>> {
    if columns.len() != cost.len() {
        return Err(Error::length_mismatch("cost", (cost.len(), "channels"), "uplift", (columns.len(), "")));
    }
    let n_units = columns.first().map_or(0, Vec::len);
    if let Some(j) = columns.iter().position(|c| c.len() != n_units) {
        return Err(Error::length_mismatch(
            format!("channel[{j}]"),
            (columns[j].len(), "values"),
            "channel[0]",
            (n_units, ""),
        ));
    }
    Ok((0..n_units).map(|i| columns.iter().map(|c| c[i]).collect()).collect())
}

fn assemble(p: &Problem, chosen: Vec<Option<usize>>, optimal: bool) -> ContactPlan {
    let n = p.n_units();
    let scores: Vec<f64> = (0..n).map(|i| p.score(i)).collect();
    let contacted: Vec<usize> = (0..n).filter(|&i| chosen[i].is_some()).collect();
    let rest: Vec<usize> = (0..n).filter(|&i| chosen[i].is_none()).collect();
    let mut order = sorted_desc(contacted, |i| chosen[i].map_or(0.0, |j| p.gain(i, j)));
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
    // `+ 0.0`: an empty sum of floats is −0.0 in Rust; no contact is a total of 0
    ContactPlan {
        n_contacts: contacted().count(),
        spend: contacted().map(|(_, j)| p.cost[j]).sum::<f64>() + 0.0,
        expected_conversions: contacted().map(|(i, j)| p.uplift[i][j]).sum::<f64>() + 0.0,
        expected_net_gain: contacted().map(|(i, j)| p.gain(i, j)).sum::<f64>() + 0.0,
        units,
        order,
        profit_curve: ProfitCurve { n_contacted, net_gain, peak_n_contacted, peak_net_gain },
        optimal,
    }
}

/// The old name of [`ContactPlan`], kept for one release.
#[deprecated(note = "renamed ContactPlan, the name every door uses")]
pub type ContactPolicy = ContactPlan;

/// The old name of [`plan_contacts`], kept for one release.
#[deprecated(note = "renamed plan_contacts, the name every door uses")]
pub fn plan_contact_policy(
    uplift: &[Vec<f64>],
    cost: &[f64],
    value: &[f64],
    budgets: &[Budget],
) -> Result<ContactPlan> {
    plan_contacts(uplift, cost, value, budgets)
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
