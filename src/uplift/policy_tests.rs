//! Tests of the contact policy: hand-computed small cases, brute-force enumeration of every
//! assignment on small random instances, invariants (sleeping dogs, determinism) and every error.

use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn channels(policy: &ContactPlan) -> Vec<Option<usize>> {
    policy.units.iter().map(|u| u.channel).collect()
}

// ---- hand-computed cases ----------------------------------------------------------------------

/// value 10; channels A (cost 1), B (cost 3).
/// unit 0: uplift A 0.3, B 0.6 → gains 2, 3
/// unit 1: uplift A 0.25, B 0.5 → gains 1.5, 2
/// unit 2: uplift A 0.05, B 0.2 → gains −0.5, −1 (never contacted)
fn two_channel_case() -> (Vec<Vec<f64>>, Vec<f64>) {
    (vec![vec![0.3, 0.6], vec![0.25, 0.5], vec![0.05, 0.2]], vec![1.0, 3.0])
}

#[test]
fn no_budget_takes_each_units_best_positive_channel() {
    let (u, c) = two_channel_case();
    let p = plan_contacts(&u, &c, &[10.0], &[]).unwrap();
    assert_eq!(channels(&p), vec![Some(1), Some(1), None]);
    assert_eq!(p.n_contacts, 2);
    assert!(close(p.spend, 6.0));
    assert!(close(p.expected_conversions, 1.1));
    assert!(close(p.expected_net_gain, 5.0));
    assert!(close(p.units[0].expected_gain, 3.0) && close(p.units[2].expected_gain, 0.0));
    assert!(close(p.units[2].score, -0.5)); // best of −0.5 and −1
    assert_eq!(p.order, vec![0, 1, 2]);
    assert_eq!(p.profit_curve.n_contacted, vec![0, 1, 2, 3]);
    let want = [0.0, 3.0, 5.0, 4.5];
    assert!(p.profit_curve.net_gain.iter().zip(want).all(|(a, b)| close(*a, b)));
    assert_eq!(p.profit_curve.peak_n_contacted, 2);
    assert!(close(p.profit_curve.peak_net_gain, 5.0));
}

#[test]
fn contact_budget_takes_the_top_k_best_gains() {
    let (u, c) = two_channel_case();
    let p = plan_contacts(&u, &c, &[10.0], &[Budget::MaxContacts(1)]).unwrap();
    assert_eq!(channels(&p), vec![Some(1), None, None]);
    assert!(close(p.expected_net_gain, 3.0));
    // The curve goes on past the budget: unit 1 (best gain 2), then unit 2 (−0.5).
    assert_eq!(p.order, vec![0, 1, 2]);
    assert_eq!(p.units[1].rank, 1);
    assert!(close(p.profit_curve.net_gain[2], 5.0));
    // A budget above the number of positive units changes nothing.
    let q = plan_contacts(&u, &c, &[10.0], &[Budget::MaxContacts(10)]).unwrap();
    assert_eq!(channels(&q), vec![Some(1), Some(1), None]);
}

#[test]
fn spend_budget_forces_a_cheaper_channel() {
    // Spend 4: hull segments by efficiency: u0 A (2/1), u1 A (1.5/1), u0 A→B (1/2 = 0.5),
    // u1 A→B (0.5/2 = 0.25). Taken: u0 A (1), u1 A (2), u0 B (4); u1 B would need 6.
    // Enumeration: {u0 B, u1 A} = 4.5 is the optimum at spend 4 ({u0 A, u1 B} = 4, both A = 3.5).
    let (u, c) = two_channel_case();
    let p = plan_contacts(&u, &c, &[10.0], &[Budget::MaxSpend(4.0)]).unwrap();
    assert_eq!(channels(&p), vec![Some(1), Some(0), None]);
    assert!(close(p.spend, 4.0));
    assert!(close(p.expected_net_gain, 4.5));
    assert_eq!(p.order, vec![0, 1, 2]);
    // Spend 3: u0 A, u1 A (spend 2), u0 B needs 4 → skipped; gain 3.5 (= the optimum:
    // u0 B alone is 3).
    let p = plan_contacts(&u, &c, &[10.0], &[Budget::MaxSpend(3.0)]).unwrap();
    assert_eq!(channels(&p), vec![Some(0), Some(0), None]);
    assert!(close(p.expected_net_gain, 3.5));
}

#[test]
fn both_budgets_hold_at_once() {
    let (u, c) = two_channel_case();
    // One contact, spend 2: only channel A fits → u0 A (gain 2).
    let p = plan_contacts(&u, &c, &[10.0], &[Budget::MaxContacts(1), Budget::MaxSpend(2.0)]).unwrap();
    assert_eq!(channels(&p), vec![Some(0), None, None]);
    // One contact, spend 10: the hull greedy alone would stop at u0 A; the gain rule gives u0 B.
    let p = plan_contacts(&u, &c, &[10.0], &[Budget::MaxContacts(1), Budget::MaxSpend(10.0)]).unwrap();
    assert_eq!(channels(&p), vec![Some(1), None, None]);
    assert!(close(p.expected_net_gain, 3.0));
    // The tighter of two budgets of the same kind holds.
    let p = plan_contacts(&u, &c, &[10.0], &[Budget::MaxSpend(10.0), Budget::MaxSpend(3.0)]).unwrap();
    assert!(close(p.spend, 2.0));
}

#[test]
fn a_free_channel_is_taken_first() {
    // e-mail costs nothing: every unit with a positive e-mail uplift gets at least e-mail.
    let u = vec![vec![0.01, 0.3], vec![0.02, 0.1]];
    let c = vec![0.0, 2.0];
    let p = plan_contacts(&u, &c, &[10.0], &[Budget::MaxSpend(2.0)]).unwrap();
    // Unit 0: e-mail 0.1, call 1.0 (upgrade 0.9 for 2). Unit 1: e-mail 0.2, call −1.
    assert_eq!(channels(&p), vec![Some(1), Some(0)]);
    assert!(close(p.expected_net_gain, 1.2));
}

// ---- invariants -------------------------------------------------------------------------------

#[test]
fn sleeping_dogs_are_never_contacted() {
    // Channel 1 is free, so a negative uplift on it has a gain of exactly uplift · value < 0;
    // channel 0 has a large negative uplift everywhere.
    let u = vec![vec![-0.5, -0.01], vec![-0.2, 0.3], vec![-0.1, -0.0]];
    let c = vec![0.0, 0.0];
    for budgets in [vec![], vec![Budget::MaxContacts(3)], vec![Budget::MaxSpend(5.0)]] {
        let p = plan_contacts(&u, &c, &[10.0], &budgets).unwrap();
        for (i, d) in p.units.iter().enumerate() {
            if let Some(j) = d.channel {
                assert!(u[i][j] > 0.0, "unit {i} contacted on sleeping-dog channel {j}");
            }
        }
        assert_eq!(channels(&p), vec![None, Some(1), None]);
    }
}

#[test]
fn equal_gains_break_ties_by_unit_then_channel_index() {
    // Four identical units, two identical channels: the budget decides who, the index decides
    // which; permuting the (identical) rows cannot change anything.
    let row = vec![0.2, 0.2];
    let u = vec![row.clone(); 4];
    let c = vec![1.0, 1.0];
    for budgets in
        [vec![Budget::MaxContacts(2)], vec![Budget::MaxSpend(2.0)], vec![Budget::MaxContacts(2), Budget::MaxSpend(9.0)]]
    {
        let p = plan_contacts(&u, &c, &[10.0], &budgets).unwrap();
        assert_eq!(channels(&p), vec![Some(0), Some(0), None, None], "{budgets:?}");
        assert_eq!(p.order, vec![0, 1, 2, 3]);
    }
    // Permuting units with equal gains among units with other gains: the chosen set among the
    // tied ones is always the lower indices, and the result moves with the permutation otherwise.
    let base = [vec![0.5, 0.1], vec![0.3, 0.3], vec![0.3, 0.3], vec![0.3, 0.3], vec![0.1, 0.05]];
    let c = vec![1.0, 1.0];
    let perms: [[usize; 5]; 3] = [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]];
    for perm in perms {
        let u: Vec<Vec<f64>> = perm.iter().map(|&k| base[k].clone()).collect();
        for budgets in [vec![Budget::MaxContacts(2)], vec![Budget::MaxSpend(2.0)]] {
            let p = plan_contacts(&u, &c, &[10.0], &budgets).unwrap();
            let picked: Vec<usize> = (0..5).filter(|&i| p.units[i].channel.is_some()).collect();
            // The unique best unit plus the lowest-index tied unit.
            let best = perm.iter().position(|&k| k == 0).unwrap();
            let tied_low = (0..5).find(|&i| (1..=3).contains(&perm[i])).unwrap();
            let mut want = vec![best, tied_low];
            want.sort();
            assert_eq!(picked, want, "{perm:?} {budgets:?}");
            let again = plan_contacts(&u, &c, &[10.0], &budgets).unwrap();
            assert_eq!(p, again);
        }
    }
}

// ---- brute force ------------------------------------------------------------------------------

/// splitmix64: a tiny deterministic generator so the instances do not depend on rand's version.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

/// The best total gain over every assignment (each unit: no contact or any channel) within the
/// limits, by enumeration of all (m + 1)^n of them.
fn brute_force(u: &[Vec<f64>], c: &[f64], value: f64, max_contacts: usize, max_spend: f64) -> f64 {
    let (n, m) = (u.len(), c.len());
    let total = (m + 1).pow(n as u32);
    let mut best = 0.0f64;
    for code in 0..total {
        let (mut rest, mut gain, mut spend, mut contacts) = (code, 0.0, 0.0, 0);
        for row in u {
            let k = rest % (m + 1);
            rest /= m + 1;
            if k > 0 {
                gain += row[k - 1] * value - c[k - 1];
                spend += c[k - 1];
                contacts += 1;
            }
        }
        if contacts <= max_contacts && fits(spend, max_spend) {
            best = best.max(gain);
        }
    }
    best
}

fn random_instance(rng: &mut Rng, n: usize, m: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
    let c: Vec<f64> = (0..m).map(|_| rng.uniform(0.1, 1.5)).collect();
    let u = (0..n).map(|_| (0..m).map(|_| rng.uniform(-0.05, 0.25)).collect()).collect();
    (u, c)
}

fn check_feasible(p: &ContactPlan, u: &[Vec<f64>], c: &[f64], value: f64, max_contacts: usize, max_spend: f64) {
    assert!(p.n_contacts <= max_contacts);
    assert!(fits(p.spend, max_spend), "spend {} > {max_spend}", p.spend);
    let mut gain = 0.0;
    for (i, d) in p.units.iter().enumerate() {
        if let Some(j) = d.channel {
            assert!(u[i][j] > 0.0 && u[i][j] * value - c[j] > 0.0);
            gain += u[i][j] * value - c[j];
        }
    }
    assert!(close(gain, p.expected_net_gain));
}

/// 400 instances of 6 units × 3 channels (4^6 = 4096 assignments each), value 10, uplift
/// U(−0.05, 0.25), costs U(0.1, 1.5), spend budget U(cheapest, 4): the plan is feasible, equal to
/// brute-force enumeration (1e-9 relative) and marked optimal in every instance (before issue 13
/// the greedy alone was exactly optimal in 346 of them).
#[test]
fn spend_budget_plan_equals_brute_force() {
    let (n, m, value, runs) = (6, 3, 10.0, 400);
    let mut rng = Rng(20_261_129);
    for _ in 0..runs {
        let (u, c) = random_instance(&mut rng, n, m);
        let cheapest = c.iter().copied().fold(f64::INFINITY, f64::min);
        let s = rng.uniform(cheapest, 4.0);
        let p = plan_contacts(&u, &c, &[value], &[Budget::MaxSpend(s)]).unwrap();
        check_feasible(&p, &u, &c, value, usize::MAX, s);
        let opt = brute_force(&u, &c, value, usize::MAX, s);
        assert!(close(p.expected_net_gain, opt), "plan {} opt {opt}", p.expected_net_gain);
        assert!(p.optimal);
    }
}

/// No budget and a contact budget are exact: equal to brute force on every instance.
#[test]
fn unbudgeted_and_contact_budget_match_brute_force() {
    let mut rng = Rng(7);
    for run in 0..200 {
        let (u, c) = random_instance(&mut rng, 6, 3);
        let k = 1 + run % 6;
        let p = plan_contacts(&u, &c, &[10.0], &[Budget::MaxContacts(k)]).unwrap();
        check_feasible(&p, &u, &c, 10.0, k, f64::INFINITY);
        assert!(close(p.expected_net_gain, brute_force(&u, &c, 10.0, k, f64::INFINITY)));
        let p = plan_contacts(&u, &c, &[10.0], &[]).unwrap();
        assert!(close(p.expected_net_gain, brute_force(&u, &c, 10.0, usize::MAX, f64::INFINITY)));
        // The profit curve ends at the sum of all units' best gains and peaks at the policy's gain.
        let end: f64 = p.units.iter().map(|d| d.score).sum();
        assert!(close(*p.profit_curve.net_gain.last().unwrap(), end));
        assert!(close(p.profit_curve.peak_net_gain, p.expected_net_gain));
        assert_eq!(p.profit_curve.peak_n_contacted, p.n_contacts);
    }
}

/// Both budgets (K = 1..4, spend U(cheapest, 4)): feasible and equal to brute force in every
/// instance (before issue 13: exactly optimal in 297 of 300).
#[test]
fn both_budgets_equal_brute_force() {
    let mut rng = Rng(99);
    for run in 0..300 {
        let (u, c) = random_instance(&mut rng, 6, 3);
        let cheapest = c.iter().copied().fold(f64::INFINITY, f64::min);
        let s = rng.uniform(cheapest, 4.0);
        let k = 1 + run % 4;
        let p = plan_contacts(&u, &c, &[10.0], &[Budget::MaxContacts(k), Budget::MaxSpend(s)]).unwrap();
        check_feasible(&p, &u, &c, 10.0, k, s);
        assert!(close(p.expected_net_gain, brute_force(&u, &c, 10.0, k, s)), "run {run}");
        assert!(p.optimal);
    }
}

// ---- issue 13, item 10 ------------------------------------------------------------------------

/// No uncontacted unit has an eligible option that the money left (and the contact limit) would
/// still allow: "no affordable profitable contact left out".
fn check_nothing_affordable_left(p: &ContactPlan, u: &[Vec<f64>], c: &[f64], v: &[f64], k: usize, s: f64) {
    if p.n_contacts >= k {
        return;
    }
    for (i, d) in p.units.iter().enumerate() {
        if d.channel.is_some() {
            continue;
        }
        for j in 0..c.len() {
            let gain = u[i][j] * v[j] - c[j];
            if u[i][j] > 0.0 && gain > 0.0 {
                assert!(
                    !fits(p.spend + c[j], s),
                    "unit {i} channel {j} (cost {}, gain {gain}) fits the budget left",
                    c[j]
                );
            }
        }
    }
}

/// The case: one SMS at cost 0.3 with gain +0.12 under a budget of 0.5 was not sent,
/// because the same unit's call (gain 2, cost 1, off budget) hid the SMS from the hull. By hand:
/// the only plans within 0.5 are nothing (0) and the SMS (0.12).
#[test]
fn item10_an_affordable_contact_hidden_by_the_hull_is_sent() {
    // channels: sms (cost 0.3), call (cost 1.0); value 1: gains 0.42 − 0.3 = 0.12 and 3 − 1 = 2
    let u = vec![vec![0.42, 3.0]];
    let p = plan_contacts(&u, &[0.3, 1.0], &[1.0], &[Budget::MaxSpend(0.5)]).unwrap();
    assert_eq!(channels(&p), vec![Some(0)]);
    assert!(close(p.expected_net_gain, 0.12) && p.optimal);
}

/// An exhaustive dynamic programme over whole budget steps: the best gain of units `0..n` within
/// `budget` steps and at most `k` contacts, every option of positive gain allowed (independent of
/// the policy's hull, fill and search). `cost_steps[j]` is channel `j`'s cost in steps.
fn exact_dp(u: &[Vec<f64>], cost_steps: &[usize], c: &[f64], v: &[f64], budget: usize, k: usize) -> f64 {
    let k = k.min(u.len());
    // best[kk][b]: best gain with at most kk contacts and b steps
    let mut best = vec![vec![0.0f64; budget + 1]; k + 1];
    for row in u {
        let mut next = best.clone();
        for kk in 1..=k {
            for b in 0..=budget {
                for j in 0..c.len() {
                    let g = row[j] * v[j] - c[j];
                    if g > 0.0 && cost_steps[j] <= b {
                        next[kk][b] = next[kk][b].max(best[kk - 1][b - cost_steps[j]] + g);
                    }
                }
            }
        }
        best = next;
    }
    best[k][budget]
}

/// 600 random instances of 5-40 units and 2-3 channels (costs on a grid of 0.05 from 0.1 to 1.5,
/// so that the dynamic programme above is exact; the budget half a step off the grid; uplift
/// U(−0.05, 0.25); one value of 10, or a value per channel U(5, 15) in every other instance; a
/// contact limit in every third) against the exhaustive DP. Asserted: every plan feasible, with no
/// affordable contact left out, within 1% of the optimum (the target for the 99th
/// percentile), and equal to it (1e-9) whenever marked optimal. Measured with this seed: 600 of
/// 600 equal to the optimum and marked optimal; with the exact search switched off (greedy and
/// fill only) 530 of 600, 99th-percentile gap 11.5%, worst 18%.
#[test]
fn item10_plan_within_one_percent_of_an_exhaustive_dp() {
    let step = 0.05;
    let mut rng = Rng(13_010);
    let (mut exact, mut proven, mut gaps) = (0, 0, Vec::new());
    for run in 0..600 {
        let n = 5 + (rng.next_f64() * 36.0) as usize;
        let m = 2 + usize::from(rng.next_f64() < 0.5);
        let cost_steps: Vec<usize> = (0..m).map(|_| 2 + (rng.next_f64() * 29.0) as usize).collect();
        let c: Vec<f64> = cost_steps.iter().map(|&k| k as f64 * step).collect();
        let v: Vec<f64> = if run % 2 == 0 { vec![10.0; m] } else { (0..m).map(|_| rng.uniform(5.0, 15.0)).collect() };
        let u: Vec<Vec<f64>> = (0..n).map(|_| (0..m).map(|_| rng.uniform(-0.05, 0.25)).collect()).collect();
        let cheapest = *cost_steps.iter().min().unwrap();
        let budget = cheapest + (rng.next_f64() * (4.0 * n as f64)) as usize;
        let s = (budget as f64 + 0.5) * step;
        let k = if run % 3 == 0 { 1 + (rng.next_f64() * n as f64) as usize } else { usize::MAX };
        let mut budgets = vec![Budget::MaxSpend(s)];
        if k < usize::MAX {
            budgets.push(Budget::MaxContacts(k));
        }
        let values: &[f64] = if run % 2 == 0 { &v[..1] } else { &v };
        let p = plan_contacts(&u, &c, values, &budgets).unwrap();
        assert!(p.n_contacts <= k && fits(p.spend, s), "run {run}");
        let gain: f64 = p.units.iter().enumerate().filter_map(|(i, d)| d.channel.map(|j| u[i][j] * v[j] - c[j])).sum();
        assert!(close(gain, p.expected_net_gain), "run {run}");
        check_nothing_affordable_left(&p, &u, &c, &v, k, s);
        let opt = exact_dp(&u, &cost_steps, &c, &v, budget, k);
        let gap = if opt > 0.0 { (opt - p.expected_net_gain) / opt } else { 0.0 };
        assert!(gap >= -1e-9, "run {run}: plan {} above the optimum {opt}", p.expected_net_gain);
        assert!(gap <= 0.01, "run {run}: gap {gap}");
        if p.optimal {
            proven += 1;
            assert!(gap <= 1e-9, "run {run}: marked optimal with gap {gap}");
        }
        if gap <= 1e-9 {
            exact += 1;
        }
        gaps.push(gap);
    }
    gaps.sort_by(f64::total_cmp);
    let p99 = gaps[(gaps.len() * 99).div_ceil(100) - 1];
    eprintln!("item 10: {exact} of 600 plans optimal ({proven} proven), p99 gap {p99:.2e}, worst {:.2e}", gaps[599]);
}

/// A value per channel: the plan equals brute force when a conversion is worth more through one
/// channel (value 30 by call, 8 by SMS, 5 by e-mail), with and without budgets.
#[test]
fn item10_a_value_per_channel() {
    let mut rng = Rng(4242);
    let v = [8.0, 30.0, 5.0];
    for run in 0..200 {
        let (u, c) = random_instance(&mut rng, 6, 3);
        let s = rng.uniform(1.5, 4.0);
        let k = 1 + run % 5;
        for budgets in [vec![], vec![Budget::MaxSpend(s)], vec![Budget::MaxContacts(k), Budget::MaxSpend(s)]] {
            let p = plan_contacts(&u, &c, &v, &budgets).unwrap();
            let (kk, ss) = match budgets.len() {
                0 => (usize::MAX, f64::INFINITY),
                1 => (usize::MAX, s),
                _ => (k, s),
            };
            // brute force with a value per channel
            let mut best = 0.0f64;
            for code in 0..4usize.pow(6) {
                let (mut rest, mut gain, mut spend, mut contacts) = (code, 0.0, 0.0, 0);
                for row in &u {
                    let o = rest % 4;
                    rest /= 4;
                    if o > 0 {
                        gain += row[o - 1] * v[o - 1] - c[o - 1];
                        spend += c[o - 1];
                        contacts += 1;
                    }
                }
                if contacts <= kk && fits(spend, ss) {
                    best = best.max(gain);
                }
            }
            assert!(close(p.expected_net_gain, best), "run {run} {budgets:?}: {} vs {best}", p.expected_net_gain);
            check_nothing_affordable_left(&p, &u, &c, &v, kk, ss);
        }
    }
    let e = plan_contacts(&[vec![0.1, 0.2]], &[1.0, 1.0], &[10.0, 0.0], &[]).unwrap_err();
    assert_eq!(e.field(), Some("value[1]"));
    let e = plan_contacts(&[vec![0.1, 0.2]], &[1.0, 1.0], &[10.0, 5.0, 1.0], &[]).unwrap_err();
    assert_eq!(e.field(), Some("value"));
}

/// Above the exact search's size bound (EXACT_MAX_OPTIONS) the plan is the greedy and the fill:
/// not marked optimal, feasible, nothing affordable left out, and within one option's gain of the
/// linear-programming bound.
#[test]
fn item10_large_instances_fall_back_to_greedy_and_fill() {
    let mut rng = Rng(77);
    let (u, c) = random_instance(&mut rng, 2_000, 3);
    let s = 150.0;
    let p = plan_contacts(&u, &c, &[10.0], &[Budget::MaxSpend(s)]).unwrap();
    assert!(!p.optimal);
    check_feasible(&p, &u, &c, 10.0, usize::MAX, s);
    check_nothing_affordable_left(&p, &u, &c, &[10.0; 3], usize::MAX, s);
    let prob = Problem { uplift: &u, cost: &c, value: vec![10.0; 3] };
    let mut left = s;
    let mut lp = 0.0;
    for seg in hull_segments(&prob, 0..u.len()) {
        if seg.d_cost <= left {
            left -= seg.d_cost;
            lp += seg.d_gain;
        } else {
            lp += seg.d_gain * left / seg.d_cost;
            break;
        }
    }
    let max_item = u.iter().flat_map(|r| r.iter().zip(&c).map(|(x, cj)| x * 10.0 - cj)).fold(0.0, f64::max);
    assert!(
        p.expected_net_gain <= lp + 1e-9 && p.expected_net_gain >= lp - max_item,
        "{} vs LP {lp}",
        p.expected_net_gain
    );
}

// ---- errors -----------------------------------------------------------------------------------

fn field_of(r: Result<ContactPlan>) -> (String, String) {
    let e = r.unwrap_err();
    (e.field().unwrap_or_default().to_string(), e.to_string())
}

#[test]
fn every_error_names_its_field() {
    let u = vec![vec![0.1, 0.2], vec![0.3, 0.0]];
    let c = vec![1.0, 0.5];
    let run = |u: &[Vec<f64>], c: &[f64], v: f64, b: &[Budget]| field_of(plan_contacts(u, c, &[v], b));

    assert_eq!(run(&u, &[], 10.0, &[]).0, "cost"); // no channels
    assert_eq!(run(&u, &[1.0, -0.1], 10.0, &[]).0, "cost[1]");
    assert_eq!(run(&u, &[f64::NAN, 1.0], 10.0, &[]).0, "cost[0]");
    assert_eq!(run(&u, &c, 0.0, &[]).0, "value");
    assert_eq!(run(&u, &c, -1.0, &[]).0, "value");
    assert_eq!(run(&u, &c, f64::NAN, &[]).0, "value");
    assert_eq!(
        run(&[vec![0.1, 0.2], vec![0.3]], &c, 10.0, &[]),
        ("uplift[1]".into(), "uplift[1]: has 1 channels but cost has 2".into())
    );
    assert_eq!(run(&[vec![0.1, f64::NAN]], &c, 10.0, &[]).0, "uplift[0][1]");
    assert_eq!(run(&[vec![f64::INFINITY, 0.0]], &c, 10.0, &[]).0, "uplift[0][0]");
    assert_eq!(
        run(&u, &c, 10.0, &[Budget::MaxSpend(0.4)]),
        ("budget.max_spend".into(), "budget.max_spend: is below the cheapest contact (0.5)".into())
    );
    assert_eq!(run(&u, &c, 10.0, &[Budget::MaxSpend(-1.0)]).0, "budget.max_spend");
    assert_eq!(run(&u, &c, 10.0, &[Budget::MaxSpend(f64::NAN)]).0, "budget.max_spend");
    assert_eq!(run(&u, &c, 10.0, &[Budget::MaxContacts(0)]).0, "budget.max_contacts");
    let e = plan_contacts(&u, &c, &[10.0], &[Budget::MaxContacts(0)]).unwrap_err();
    assert_eq!(e.detail(), Some(crate::error::Detail::BudgetTooSmall));
    let e = plan_contacts(&[], &c, &[10.0], &[]).unwrap_err();
    assert_eq!((e.code(), e.field()), ("insufficient_data", Some("uplift")));
    for (u, c, v) in [(vec![vec![0.1]], vec![-1.0], 1.0), (vec![vec![0.1]], vec![1.0], 0.0)] {
        assert_eq!(plan_contacts(&u, &c, &[v], &[]).unwrap_err().code(), "invalid_input");
    }
    // A budget exactly at the cheapest contact is fine.
    assert!(plan_contacts(&u, &c, &[10.0], &[Budget::MaxSpend(0.5)]).is_ok());
}

// ---- unit_options: the per-unit quantities a split planner ranks on ---------------------------

#[test]
fn unit_options_are_the_policys_own_per_unit_numbers() {
    // Hand-computed on the two-channel case (value 10; A cost 1, B cost 3):
    // unit 0: gains 2, 3; hull (1, 2, A) then (3, 3, B): efficiencies 2/1 and (3-2)/(3-1) = 0.5
    // unit 1: gains 1.5, 2; hull (1, 1.5, A) then (3, 2, B): 1.5 and 0.25
    // unit 2: no eligible channel; score −0.5
    let (u, c) = two_channel_case();
    let o = unit_options(&u, &c, &[10.0]).unwrap();
    assert_eq!(o[0].best, Some(1));
    assert_eq!(o[0].gains, vec![Some(0.3 * 10.0 - 1.0), Some(0.6 * 10.0 - 3.0)]);
    assert_eq!(o[0].n_options, 2);
    let steps: Vec<(usize, f64, f64)> = o[0].hull.iter().map(|h| (h.channel, h.d_cost, h.efficiency)).collect();
    assert_eq!(steps, vec![(0, 1.0, 2.0), (1, 2.0, 0.5)]);
    assert!(close(o[1].hull[1].efficiency, 0.25));
    assert_eq!((o[2].best, o[2].gains.clone(), o[2].n_options, o[2].hull.len()), (None, vec![None, None], 0, 0));
    assert!(close(o[2].score, -0.5));
    // The same numbers the plan reports (score, expected gain of the best channel), bit for bit.
    let p = plan_contacts(&u, &c, &[10.0], &[]).unwrap();
    for (i, x) in o.iter().enumerate() {
        assert_eq!(x.score.to_bits(), p.units[i].score.to_bits());
        assert_eq!(x.best, p.units[i].channel);
        assert_eq!(x.best.map_or(0.0, |j| x.gains[j].unwrap()).to_bits(), p.units[i].expected_gain.to_bits());
    }
    // A free channel is one infinite step; a dominated option is no step.
    let o = unit_options(&[vec![0.1, 0.05]], &[0.0, 0.5], &[10.0]).unwrap();
    assert_eq!(o[0].hull, vec![HullStep { channel: 0, d_cost: 0.0, efficiency: f64::INFINITY }]);
    assert_eq!(o[0].n_options, 1);
    // Errors are the plan's.
    assert_eq!(unit_options(&[vec![f64::NAN, 0.1]], &c, &[10.0]).unwrap_err().field(), Some("uplift[0][0]"));
}

#[test]
#[allow(deprecated)]
fn the_old_names_still_plan() {
    let u = vec![vec![0.5], vec![0.1]];
    let old: super::ContactPolicy = super::plan_contact_policy(&u, &[1.0], &[10.0], &[]).unwrap();
    assert_eq!(old, plan_contacts(&u, &[1.0], &[10.0], &[]).unwrap());
}

#[test]
fn channel_columns_become_unit_rows_or_name_both_fields() {
    let cols = vec![vec![0.1, 0.2, 0.3], vec![1.0, 2.0, 3.0]];
    let rows = rows_from_channels(&cols, &[1.0, 2.0]).unwrap();
    assert_eq!(rows, vec![vec![0.1, 1.0], vec![0.2, 2.0], vec![0.3, 3.0]]);
    assert!(rows_from_channels(&[], &[]).unwrap().is_empty());

    let e = rows_from_channels(&cols, &[1.0]).unwrap_err();
    assert_eq!(e.to_string(), "cost: has 1 channels but uplift has 2");
    assert_eq!(e.detail(), Some(Detail::LengthMismatch));
    let others: Vec<&str> = match &e {
        Error::InvalidInput { reason, .. } => reason.fields().map(|f| f.as_str()).collect(),
        _ => vec![],
    };
    assert_eq!(others, ["uplift"]);

    let e = rows_from_channels(&[vec![0.1, 0.2], vec![0.3]], &[1.0, 2.0]).unwrap_err();
    assert_eq!(e.to_string(), "channel[1]: has 1 values but channel[0] has 2");
    // a rename table renames both fields, from the parts
    let e = e.map_path(|p| match p.segments() {
        [crate::error::Segment::Key(k), crate::error::Segment::Index(j)] if k == "channel" => {
            crate::error::FieldPath::key(["'sms'", "'call'"][*j])
        }
        _ => p,
    });
    assert_eq!(e.to_string(), "'call': has 1 values but 'sms' has 2");
    assert_eq!(e.field(), Some("'call'"));
}
