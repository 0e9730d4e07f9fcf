//! The forecast's sentences, written once for every face: the formula, the note on which
//! statistic the headline is, the PRD paragraph, the source of the history, and the number
//! formats they use (thousands separators, signed percentages, the topline's unit after
//! amounts). The page, Python and the CLI show these strings as the JSON answer carries them.

use super::history::{EffectPrior, Realism};
use super::plan::{StdDevSource, TestPlan};
use super::{Change, Forecast, ForecastRequest, HistoryInput, Interval, NodeKind};
use crate::stats::power::Baseline;

/// A name in quotes: 'interested'.
pub struct Quote<'a>(pub &'a str);

impl std::fmt::Display for Quote<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}'", self.0)
    }
}

/// Digits with thousands separators: "1234567" -> "1,234,567".
fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A whole number with thousands separators: 18601 -> "18,601".
pub fn fmt_count(n: u64) -> String {
    group(&n.to_string())
}

/// An amount: thousands separators and no decimals from 100 up (25,200), two decimals from 1
/// (12.35), four significant-looking decimals below (0.0800).
pub fn fmt_value(x: f64) -> String {
    let a = x.abs();
    let body = if a >= 100.0 {
        group(&format!("{a:.0}"))
    } else if a >= 1.0 {
        format!("{a:.2}")
    } else {
        format!("{a:.4}")
    };
    let zero = body.chars().all(|c| c == '0' || c == '.' || c == ',');
    format!("{}{body}", if x < 0.0 && !zero { "-" } else { "" })
}

/// [`fmt_value`] with a sign: "+25,200", "-3.50".
pub fn fmt_signed(x: f64) -> String {
    let v = fmt_value(x);
    if v.starts_with('-') {
        v
    } else {
        format!("+{v}")
    }
}

/// An amount of the topline with its unit: "25,200 CNY" (or the number alone).
pub fn fmt_amount(x: f64, unit: Option<&str>, signed: bool) -> String {
    let v = if signed { fmt_signed(x) } else { fmt_value(x) };
    match unit {
        Some(u) => format!("{v} {u}"),
        None => v,
    }
}

/// A relative change as a signed percentage: 0.0347 -> "+3.47%" (never "-0.00%").
pub fn fmt_pct(x: f64, digits: usize) -> String {
    let s = format!("{:.*}", digits, (x * 100.0).abs());
    let zero = s.chars().all(|c| c == '0' || c == '.');
    format!("{}{s}%", if x < 0.0 && !zero { "-" } else { "+" })
}

/// A share as a percentage without needless decimals: 0.6 -> "60%", 0.025 -> "2.5%",
/// 0.12 -> "12%", 0.0096 -> "0.96%".
pub fn fmt_share(x: f64) -> String {
    let s = format!("{:.2}", x * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// A probability from a continuous distribution: "<1%" and ">99%" at the tails, else "37%".
pub fn fmt_prob(x: f64) -> String {
    if x < 0.005 {
        "<1%".into()
    } else if x > 0.995 {
        ">99%".into()
    } else {
        format!("{:.0}%", x * 100.0)
    }
}

/// Days without trailing zeros: 7, 30.5.
pub fn fmt_days(d: f64) -> String {
    let s = format!("{d:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// "1 day", "46 days".
fn days_text(d: u64) -> String {
    if d == 1 {
        "1 day".into()
    } else {
        format!("{} days", fmt_count(d))
    }
}

/// The days of a month and a year, as the projection counts them.
pub const DAYS_PER_MONTH: f64 = 30.4375;
pub const DAYS_PER_YEAR: f64 = 365.25;

/// A period's name: 1 -> "day", 7 -> "week", 30.4375 -> "month", 365.25 -> "year", else "N days".
pub fn period_name(days: f64) -> String {
    if days == 1.0 {
        "day".into()
    } else if days == 7.0 {
        "week".into()
    } else if days == DAYS_PER_MONTH {
        "month".into()
    } else if days == DAYS_PER_YEAR {
        "year".into()
    } else {
        format!("{} days", fmt_days(days))
    }
}

/// The periods to show the absolute lift for, one name per length: the day, the baseline's
/// period, the month when the period is shorter than four weeks (so that "per 30 days" and a
/// "per month" of a different value never stand side by side) and the year when it is shorter.
pub fn period_lengths(period_days: f64) -> Vec<f64> {
    let mut out = vec![1.0];
    if period_days != 1.0 {
        out.push(period_days);
    }
    if period_days < 28.0 {
        out.push(DAYS_PER_MONTH);
    }
    if period_days < DAYS_PER_YEAR {
        out.push(DAYS_PER_YEAR);
    }
    out
}

/// A node's baseline as the formula writes it: a rate as a percentage, the rest as amounts.
fn node_value(kind: NodeKind, x: f64) -> String {
    match kind {
        NodeKind::Rate => fmt_share(x),
        _ => fmt_value(x),
    }
}

/// The formula with the numbers substituted. `likely` is the lift with every change at its likely
/// value; the headline is the Monte Carlo mean (`mean`), and the formula says why they differ.
#[allow(clippy::too_many_arguments)]
pub(super) fn formula(
    input: &super::ForecastInput,
    factors: &[(f64, &Change)],
    baseline: f64,
    likely: f64,
    mean: f64,
    means_are_likely: bool,
    relative: &Interval,
) -> String {
    let unit = input.unit.as_deref();
    let tree: Vec<String> =
        input.nodes.iter().map(|n| format!("{} {}", n.name, node_value(n.kind, n.baseline))).collect();
    let terms: Vec<String> = factors
        .iter()
        .map(|&(f, c)| {
            if f < 1.0 {
                format!("(1 {} × {:.2})", fmt_pct(c.likely, 2), f)
            } else {
                format!("(1 {})", fmt_pct(c.likely, 2))
            }
        })
        .collect();
    let per = format!("per {}", period_name(input.period_days));
    let level = (input.confidence * 100.0).round();
    let why = if means_are_likely {
        format!(
            "The headline, the mean over the 90% ranges, is {}: the ranges are symmetric, so it differs from the \
             likely value only by simulation noise.",
            fmt_pct(mean, 2)
        )
    } else {
        let direction = if mean >= likely { "above" } else { "below" };
        let reach = if mean >= likely { "further above likely than below" } else { "further below likely than above" };
        format!(
            "The headline, the mean over the 90% ranges, is {} ({} {}), {direction} the likely value because the \
             ranges reach {reach}.",
            fmt_pct(mean, 2),
            fmt_amount(baseline * mean, unit, true),
            per
        )
    };
    format!(
        "topline = {} = {} {per}. Lift = {} reached × ({} − 1) = {} with every change at its likely value → {} \
         {per}. {why} {level}% interval {} to {} ({} to {} {per}).",
        tree.join(" × "),
        fmt_amount(baseline, unit, false),
        fmt_share(input.coverage),
        terms.join(" × "),
        fmt_pct(likely, 2),
        fmt_amount(baseline * likely, unit, true),
        fmt_pct(relative.low, 2),
        fmt_pct(relative.high, 2),
        fmt_amount(baseline * relative.low, unit, true),
        fmt_amount(baseline * relative.high, unit, true),
    )
}

/// Which statistic the headline is, and the median beside it.
pub(super) fn headline_note(mean: f64, median: f64, draws: usize) -> String {
    format!(
        "The headline {} is the mean of {} simulated lifts: what the change adds on average, the number that adds \
         up across changes and over time. Half of the simulated lifts are below the median, {}.",
        fmt_pct(mean, 2),
        fmt_count(draws as u64),
        fmt_pct(median, 2)
    )
}

/// Where a forecast's history comes from, in words: "5 past tests and a team win rate of 20%
/// (example values)".
pub fn history_source(h: &HistoryInput, prior: Option<&EffectPrior>) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(p) = prior {
        parts.push(format!("{} past test{}", p.experiments, if p.experiments == 1 { "" } else { "s" }));
    }
    if let Some(w) = h.win_rate {
        parts.push(format!("a team win rate of {}", fmt_share(w)));
    }
    if parts.is_empty() {
        return None;
    }
    let mut out = parts.join(" and ");
    if let Some(label) = h.label.as_deref().filter(|l| !l.is_empty()) {
        out.push_str(&format!(" ({label})"));
    }
    Some(out)
}

/// The number of units in words: "18,601 leads".
fn units(n: u64, name: &str) -> String {
    format!("{} {name}", fmt_count(n))
}

/// The plan's sample size in words: "18,601 leads per arm (37,202 in all)".
fn arms_text(p: &TestPlan, name: &str, variants: usize) -> String {
    let s = &p.sample_size;
    if s.n_per_variant == s.n_control && variants == 1 {
        format!("{} per arm ({} in all)", units(s.n_control, name), fmt_count(s.n_total))
    } else {
        let each = if variants == 1 { "the variant".to_string() } else { format!("each of {variants} variants") };
        format!(
            "{} in control and {} in {each} ({} in all)",
            units(s.n_control, name),
            fmt_count(s.n_per_variant),
            fmt_count(s.n_total)
        )
    }
}

/// The paste-ready PRD paragraph: the expected impact, the formula and the headline's statistic,
/// the test (which metric it reads and how its result maps to the topline, with the topline's
/// plan beside it), and the chance of success with the history it comes from.
#[allow(clippy::too_many_arguments)]
pub fn prd_paragraph(
    req: &ForecastRequest,
    f: &Forecast,
    plan: Option<&TestPlan>,
    prior: Option<&EffectPrior>,
    realism: Option<&Realism>,
    false_positive_risk: Option<f64>,
    history_source: Option<&str>,
) -> String {
    let m = &req.model;
    let unit = f.unit.as_deref().or(m.unit.as_deref());
    let who = m.nodes.first().filter(|n| n.kind == NodeKind::Count).map_or("units", |n| n.name.as_str());
    let level = format!("{:.0}%", f.confidence * 100.0);
    let mut out = Vec::new();

    let changes: Vec<String> = m
        .changes
        .iter()
        .map(|c| {
            format!(
                "{} {} (90% range {} to {})",
                Quote(&c.node),
                fmt_pct(c.likely, 1),
                fmt_pct(c.low, 1),
                fmt_pct(c.high, 1)
            )
        })
        .collect();
    let reach = if m.coverage < 1.0 {
        format!("for the {} of {who} the change reaches", fmt_share(m.coverage))
    } else {
        format!("for all {who}")
    };
    let period = if f.period.is_empty() { period_name(m.period_days) } else { f.period.clone() };
    let per_period = f.periods.iter().find(|p| p.days == m.period_days).map(|p| p.lift).unwrap_or(f.absolute);
    let mut impact = format!(
        "Expected impact. We expect {} {reach}. That moves the topline by {} ({level} interval {} to {}; median {}), \
         about {} per {period}",
        changes.join(", "),
        fmt_pct(f.relative.estimate, 2),
        fmt_pct(f.relative.low, 2),
        fmt_pct(f.relative.high, 2),
        fmt_pct(if f.median != 0.0 { f.median } else { f.relative.estimate }, 2),
        fmt_amount(per_period.estimate, unit, true),
    );
    if m.period_days < DAYS_PER_YEAR {
        impact.push_str(&format!(
            " and {} per year ({} to {})",
            fmt_amount(f.per_year.estimate, unit, true),
            fmt_amount(f.per_year.low, unit, true),
            fmt_amount(f.per_year.high, unit, true)
        ));
    }
    impact.push('.');
    if m.coverage < 1.0 {
        impact.push_str(&format!(
            " Among the {who} it reaches, the lift is {} ({} to {}).",
            fmt_pct(f.reached.estimate, 2),
            fmt_pct(f.reached.low, 2),
            fmt_pct(f.reached.high, 2)
        ));
    }
    if let (Some(node), true) = (&f.most_sensitive, f.sensitivity.len() > 1) {
        impact.push_str(&format!(" The forecast depends most on {}.", Quote(node)));
    }
    out.push(impact);
    out.push(format!("Formula: {}", f.formula));
    if !f.headline_note.is_empty() {
        out.push(f.headline_note.clone());
    }

    if let Some(p) = plan {
        let design = req.plan.as_ref().map(|x| x.design).unwrap_or_default();
        let max_days = req.plan.as_ref().map_or(28.0, |x| x.max_days);
        let mut test = String::from("Test. ");
        if !p.mapping.is_empty() {
            test.push_str(&p.mapping);
            test.push(' ');
        }
        let sd = match (p.std_dev_source, p.std_dev, p.baseline) {
            (Some(StdDevSource::Tree), Some(s), Baseline::Mean { .. }) => {
                format!(" (standard deviation {} per unit, derived from the tree)", fmt_value(s))
            }
            (Some(StdDevSource::Given), Some(s), Baseline::Mean { .. }) => {
                format!(" (standard deviation {} per unit, as given)", fmt_value(s))
            }
            _ => String::new(),
        };
        let longer = if p.duration_days as f64 > max_days {
            format!(", longer than the {} days available", fmt_days(max_days))
        } else {
            String::new()
        };
        test.push_str(&format!(
            "It needs {}{sd}, {} at {} {who} a day{longer}, to detect {} with {} power at α = {}; in {} days it can \
             detect {} (power {} for the likely change).",
            arms_text(p, who, design.variants),
            days_text(p.duration_days),
            fmt_value(p.daily_units),
            fmt_pct(p.rel_effect, 2),
            fmt_share(design.power),
            fmt_share(design.alpha),
            fmt_days(max_days),
            fmt_pct(p.mde_at_max_days.rel_effect, 2),
            fmt_share((p.power_at_max_days * 1000.0).round() / 1000.0),
        ));
        if let Some(t) = &p.topline {
            let how = match t.std_dev_source {
                StdDevSource::Proportion => String::new(),
                StdDevSource::Tree => format!(", standard deviation {} derived from the tree", fmt_value(t.std_dev)),
                StdDevSource::Given => format!(", standard deviation {} as given", fmt_value(t.std_dev)),
            };
            test.push_str(&format!(
                " Read on {} instead ({} now{how}), a test would need {} {who} per arm: {}; in {} days it can detect {}.",
                t.label,
                match t.baseline {
                    Baseline::Proportion { rate } => fmt_share(rate),
                    Baseline::Mean { mean, .. } => fmt_amount(mean, unit, false),
                },
                fmt_count(t.sample_size.n_control),
                days_text(t.duration_days),
                fmt_days(max_days),
                fmt_pct(t.mde_at_max_days.rel_effect, 2),
            ));
        } else if let Some(need) = p.missing.first() {
            test.push_str(&format!(" A test read on the topline cannot be planned yet: {}.", need.message));
        }
        for n in &p.notes {
            test.push_str(&format!(" Note: {n}."));
        }
        out.push(test);
    }

    if realism.is_some() || false_positive_risk.is_some() {
        let mut chance = match history_source {
            Some(s) => format!("Chance of success, from {s}."),
            None => "Chance of success.".to_string(),
        };
        if let (Some(r), Some(pr)) = (realism, prior) {
            chance.push_str(&format!(
                " Against {} past tests (mean effect {}), the expected lift among the {who} reached is {}; the chance \
                 that the true lift is above zero is {}",
                pr.experiments,
                fmt_pct(pr.mean, 2),
                fmt_pct(r.expected_lift, 2),
                fmt_prob(r.prob_positive)
            ));
            if let Some(a) = r.prob_above_mde {
                chance.push_str(&format!(", and above what the test can detect {}", fmt_prob(a)));
            }
            chance.push('.');
        }
        if let (Some(fpr), Some(w)) = (false_positive_risk, req.history.as_ref().and_then(|h| h.win_rate)) {
            chance.push_str(&format!(
                " At the team's win rate of {}, a significant result would be a false positive {} of the time \
                 (Kohavi et al. 2022).",
                fmt_share(w),
                fmt_share((fpr * 1000.0).round() / 1000.0)
            ));
        }
        out.push(chance);
    }
    out.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_written() {
        assert_eq!(fmt_count(18_601), "18,601");
        assert_eq!(fmt_count(999), "999");
        assert_eq!(fmt_count(1_000_000), "1,000,000");
        assert_eq!(fmt_value(1_440_000.0), "1,440,000");
        assert_eq!(fmt_value(-25_200.4), "-25,200");
        assert_eq!(fmt_value(12.345), "12.35");
        assert_eq!(fmt_value(0.08), "0.0800");
        assert_eq!(fmt_value(-0.00001), "0.0000");
        assert_eq!(fmt_signed(57_600.0), "+57,600");
        assert_eq!(fmt_amount(57_600.0, Some("CNY"), true), "+57,600 CNY");
        assert_eq!(fmt_pct(0.0347, 2), "+3.47%");
        assert_eq!(fmt_pct(-0.000001, 2), "+0.00%");
        assert_eq!(fmt_pct(-0.05, 1), "-5.0%");
        assert_eq!(fmt_share(0.6), "60%");
        assert_eq!(fmt_share(0.025), "2.5%");
        assert_eq!(fmt_share(0.0096), "0.96%");
        assert_eq!(fmt_prob(0.001), "<1%");
        assert_eq!(period_name(30.4375), "month");
        assert_eq!(period_name(30.0), "30 days");
        assert_eq!(period_lengths(1.0), [1.0, DAYS_PER_MONTH, DAYS_PER_YEAR]);
        assert_eq!(period_lengths(30.0), [1.0, 30.0, DAYS_PER_YEAR]);
        assert_eq!(period_lengths(DAYS_PER_MONTH), [1.0, DAYS_PER_MONTH, DAYS_PER_YEAR]);
        assert_eq!(period_lengths(7.0), [1.0, 7.0, DAYS_PER_MONTH, DAYS_PER_YEAR]);
        assert_eq!(period_lengths(DAYS_PER_YEAR), [1.0, DAYS_PER_YEAR]);
    }
}
