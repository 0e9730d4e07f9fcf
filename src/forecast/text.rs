//! The forecast's sentences, written once for every face: the formula, the note on which
//! statistic the headline is, the PRD paragraph, the source of the history, and the number
//! formats they use (thousands separators, signed percentages, the topline's unit after
//! amounts). The page, Python and the CLI show these strings as the JSON answer carries them.

use serde::{Deserialize, Serialize};

use super::history::{EffectPrior, Realism};
use super::plan::{StdDevSource, TestPlan};
use super::{Change, Forecast, ForecastRequest, HistoryInput, Interval, NodeKind};
use crate::stats::power::Baseline;

/// The language the forecast's sentences are written in: `en` (the default) or `zh-CN`
/// (Simplified Chinese). Numbers are formatted the same way in both; names the user typed are
/// kept verbatim.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub enum Language {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Language {
    /// Every language, for tests and documentation.
    pub const ALL: [Language; 2] = [Language::En, Language::ZhCn];

    /// The code as the request spells it: "en", "zh-CN".
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::ZhCn => "zh-CN",
        }
    }
}

/// Read from a string, so that any other value (another code, a number, null) is the same
/// invalid-input error naming the field at every door, never a malformed request.
impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Language::ALL.into_iter().find(|l| l.code() == code).ok_or_else(|| {
            serde::de::Error::custom(format!("'{code}' is not a language of the forecast's text (en, zh-CN)"))
        })
    }
}

/// A name in quotes: 'interested' (English), “interested” (Chinese).
pub struct Quote<'a>(pub &'a str);

/// A name in the quotes of `lang`.
pub fn quote(lang: Language, name: &str) -> String {
    match lang {
        Language::En => format!("'{name}'"),
        Language::ZhCn => format!("“{name}”"),
    }
}

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
/// (12.35), four significant-looking decimals below (0.0800); exactly zero is "0".
pub fn fmt_value(x: f64) -> String {
    if x == 0.0 {
        return "0".into(); // an axis's zero, a gain of exactly nothing: not "0.0000"
    }
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

/// `template` with each "{}" replaced by the next of `args`.
pub(super) fn fill(template: &str, args: &[&str]) -> String {
    let mut out = template.to_string();
    for a in args {
        out = out.replacen("{}", a, 1);
    }
    out
}

/// "1 day", "46 days" / "46 天".
pub(super) fn days_text(lang: Language, d: u64) -> String {
    match lang {
        Language::En if d == 1 => "1 day".into(),
        Language::En => format!("{} days", fmt_count(d)),
        Language::ZhCn => format!("{} 天", fmt_count(d)),
    }
}

/// The days of a month and a year, as the projection counts them.
pub const DAYS_PER_MONTH: f64 = 30.4375;
pub const DAYS_PER_YEAR: f64 = 365.25;

/// A period's name: 1 -> "day", 7 -> "week", 30.4375 -> "month", 365.25 -> "year", else "N days"
/// (Chinese: 天, 周, 月, 年, "N 天").
pub fn period_name(days: f64) -> String {
    period_name_in(Language::En, days)
}

/// [`period_name`] in `lang`.
pub fn period_name_in(lang: Language, days: f64) -> String {
    let named =
        [(1.0, "day", "天"), (7.0, "week", "周"), (DAYS_PER_MONTH, "month", "月"), (DAYS_PER_YEAR, "year", "年")];
    match (named.iter().find(|n| n.0 == days), lang) {
        (Some(n), Language::En) => n.1.into(),
        (Some(n), Language::ZhCn) => n.2.into(),
        (None, Language::En) => format!("{} days", fmt_days(days)),
        (None, Language::ZhCn) => format!("{} 天", fmt_days(days)),
    }
}

/// "per day", "per 30 days" / "每天", "每 30 天": the label of a period's lift.
pub fn per_period(lang: Language, days: f64) -> String {
    match lang {
        Language::En => format!("per {}", period_name_in(lang, days)),
        Language::ZhCn if [1.0, 7.0, DAYS_PER_MONTH, DAYS_PER_YEAR].contains(&days) => {
            format!("每{}", period_name_in(lang, days))
        }
        Language::ZhCn => format!("每 {}", period_name_in(lang, days)),
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
    lang: Language,
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
    let per = per_period(lang, input.period_days);
    let level = (input.confidence_level * 100.0).round();
    let above = mean >= likely;
    let amount = |x: f64, signed: bool| fmt_amount(x, unit, signed);
    // the numbers, written once for both languages
    let (tree, terms, now, cov) =
        (tree.join(" × "), terms.join(" × "), amount(baseline, false), fmt_share(input.reach));
    let (lk, lk_abs) = (fmt_pct(likely, 2), amount(baseline * likely, true));
    let (lo, hi) = (fmt_pct(relative.low, 2), fmt_pct(relative.high, 2));
    let (lo_abs, hi_abs) = (amount(baseline * relative.low, true), amount(baseline * relative.high, true));
    match lang {
        Language::En => {
            let why = if means_are_likely {
                format!(
                    "The headline, the mean over the 90% ranges, is {}: the ranges are symmetric, so it differs from \
                     the likely value only by simulation noise.",
                    fmt_pct(mean, 2)
                )
            } else {
                let (direction, reach) = if above {
                    ("above", "further above likely than below")
                } else {
                    ("below", "further below likely than above")
                };
                format!(
                    "The headline, the mean over the 90% ranges, is {} ({} {per}), {direction} the likely value \
                     because the ranges reach {reach}.",
                    fmt_pct(mean, 2),
                    amount(baseline * mean, true),
                )
            };
            format!(
                "topline = {tree} = {now} {per}. Lift = {cov} reached × ({terms} − 1) = {lk} with every change at its \
                 likely value → {lk_abs} {per}. {why} {level}% interval {lo} to {hi} ({lo_abs} to {hi_abs} {per})."
            )
        }
        Language::ZhCn => {
            let why = if means_are_likely {
                format!(
                    "标题数字是按各项 90% 范围模拟得到的均值 {}：各范围对称，它与最可能值的差别只来自模拟误差。",
                    fmt_pct(mean, 2)
                )
            } else {
                let (direction, reach) = if above { ("高于", "向上") } else { ("低于", "向下") };
                format!(
                    "标题数字是按各项 90% 范围模拟得到的均值 {}（{per} {}），{direction}最可能值，因为各范围{reach}延伸得更远。",
                    fmt_pct(mean, 2),
                    amount(baseline * mean, true),
                )
            };
            format!(
                "顶层指标 = {tree} = {per} {now}。提升 = 覆盖 {cov} × ({terms} − 1) = {lk}（每项变化取最可能值）→ {per} \
                 {lk_abs}。{why}{level}% 置信区间 {lo} 至 {hi}（{per} {lo_abs} 至 {hi_abs}）。"
            )
        }
    }
}

/// Which statistic the headline is, and the median beside it.
pub(super) fn headline_note(lang: Language, mean: f64, median: f64, draws: usize) -> String {
    match lang {
        Language::En => format!(
            "The headline {} is the mean of {} simulated lifts: what the change adds on average, the number that adds \
             up across changes and over time. Half of the simulated lifts are below the median, {}.",
            fmt_pct(mean, 2),
            fmt_count(draws as u64),
            fmt_pct(median, 2)
        ),
        Language::ZhCn => format!(
            "标题数字 {} 是 {} 次模拟提升的均值：即这项变化平均带来的提升，可以在多项变化之间、跨时间累加。一半的模拟提升低于中位数 {}。",
            fmt_pct(mean, 2),
            fmt_count(draws as u64),
            fmt_pct(median, 2)
        ),
    }
}

/// Where a forecast's history comes from, in words: "5 past tests and a team win rate of 20%
/// (example values)".
pub fn history_source(lang: Language, h: &HistoryInput, prior: Option<&EffectPrior>) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(p) = prior {
        parts.push(match lang {
            Language::En => format!("{} past test{}", p.experiments, if p.experiments == 1 { "" } else { "s" }),
            Language::ZhCn => format!("{} 个历史实验", p.experiments),
        });
    }
    if let Some(w) = h.win_rate {
        parts.push(match lang {
            Language::En => format!("a team win rate of {}", fmt_share(w)),
            Language::ZhCn => format!("团队胜率 {}", fmt_share(w)),
        });
    }
    if parts.is_empty() {
        return None;
    }
    let mut out = parts.join(match lang {
        Language::En => " and ",
        Language::ZhCn => "和",
    });
    if let Some(label) = h.label.as_deref().filter(|l| !l.is_empty()) {
        out.push_str(&match lang {
            Language::En => format!(" ({label})"),
            Language::ZhCn => format!("（{label}）"),
        });
    }
    Some(out)
}

/// Where history read from the ledger comes from, in words: "the ledger's 4 reconciled forecasts
/// of team 'sales'".
pub fn ledger_label(lang: Language, team: Option<&str>, author: Option<&str>, found: usize) -> String {
    match lang {
        Language::En => {
            let mut out = format!("the ledger's {found} reconciled forecast{}", if found == 1 { "" } else { "s" });
            if let Some(t) = team {
                out.push_str(&format!(" of team '{t}'"));
            }
            if let Some(a) = author {
                out.push_str(&format!(" by '{a}'"));
            }
            out
        }
        Language::ZhCn => {
            let mut who = String::new();
            if let Some(t) = team {
                who.push_str(&format!("团队“{t}”"));
            }
            if let Some(a) = author {
                who.push_str(&format!("由“{a}”所做"));
            }
            if !who.is_empty() {
                who.push('的');
            }
            format!("预测台账中{who} {found} 条已对账的预测")
        }
    }
}

/// The default name of the units when the tree does not start with a count.
fn default_units(lang: Language) -> &'static str {
    match lang {
        Language::En => "units",
        Language::ZhCn => "单位",
    }
}

/// The number of units in words: "18,601 leads" / "18,601 个 leads".
fn units(lang: Language, n: u64, name: &str) -> String {
    match lang {
        Language::En => format!("{} {name}", fmt_count(n)),
        Language::ZhCn => format!("{} 个 {name}", fmt_count(n)),
    }
}

/// The plan's sample size in words: "18,601 leads per arm (37,202 in all)".
fn arms_text(lang: Language, p: &TestPlan, name: &str, variants: usize) -> String {
    let s = &p.sample_size;
    let (n, m, total) = (units(lang, s.n_control, name), fmt_count(s.n_per_variant), fmt_count(s.n_total));
    let equal = s.n_per_variant == s.n_control && variants == 1;
    match lang {
        Language::En if equal => format!("{n} per arm ({total} in all)"),
        Language::En => {
            let each = if variants == 1 { "the variant".to_string() } else { format!("each of {variants} variants") };
            format!("{n} in control and {m} in {each} ({total} in all)")
        }
        Language::ZhCn if equal => format!("每组 {n}（共 {total} 个）"),
        Language::ZhCn => {
            let each = if variants == 1 { "实验组".to_string() } else { format!("{variants} 个实验组各") };
            format!("对照组 {n}，{each} {m} 个（共 {total} 个）")
        }
    }
}

/// The label of the metric a test reads: "the share of leads reaching 'interested'", "the
/// topline per unit of leads", "'order value' per unit of leads".
pub(super) fn metric_label(lang: Language, units: &str, node: &str, proportion: bool, last: bool) -> String {
    let q = quote(lang, node);
    match (lang, proportion, last) {
        (Language::En, true, _) => format!("the share of {units} reaching {q}"),
        (Language::En, false, true) => format!("the topline per unit of {units}"),
        (Language::En, false, false) => format!("{q} per unit of {units}"),
        (Language::ZhCn, true, _) => format!("到达{q}的 {units} 占比"),
        (Language::ZhCn, false, true) => format!("每个 {units} 的顶层指标"),
        (Language::ZhCn, false, false) => format!("每个 {units} 的{q}"),
    }
}

/// The plan's notes: why a change is not part of the test's effect.
pub(super) enum PlanNote<'a> {
    /// A change of the count: more units, invisible to a per-unit test.
    CountChange { node: &'a str },
    /// A change below the node the test reads.
    Below { node: &'a str, likely: f64, read: &'a str },
    /// The topline's likely per-unit change is 0.
    NoTopline,
}

pub(super) fn plan_note(lang: Language, note: PlanNote<'_>) -> String {
    match (lang, note) {
        (Language::En, PlanNote::CountChange { node }) => format!(
            "the change of {} (more units) is not visible to a per-unit test and is left out of the plan",
            quote(lang, node)
        ),
        (Language::ZhCn, PlanNote::CountChange { node }) => {
            format!("{}的变化（单位数量增加）在按单位比较的实验中看不到，未计入实验规划", quote(lang, node))
        }
        (Language::En, PlanNote::Below { node, likely, read }) => format!(
            "the likely change of {} ({}) is below {}: this test does not read it, and the topline forecast assumes it",
            quote(lang, node),
            fmt_pct(likely, 1),
            quote(lang, read)
        ),
        (Language::ZhCn, PlanNote::Below { node, likely, read }) => format!(
            "{}的最可能变化（{}）在{}的下游：本实验读不到它，顶层指标的预测假定它会发生",
            quote(lang, node),
            fmt_pct(likely, 1),
            quote(lang, read)
        ),
        (Language::En, PlanNote::NoTopline) => {
            "the likely per-unit change of the topline is 0, so there is no topline plan".into()
        }
        (Language::ZhCn, PlanNote::NoTopline) => "顶层指标每单位的最可能变化为 0，因此没有顶层指标的实验规划".into(),
    }
}

/// What would complete a plan: the standard deviation of value node `value` among the units
/// that reach it, to plan a test on node `read` (`topline`: the last node).
pub(super) fn missing_std_dev(lang: Language, units: &str, value: &str, read: &str, topline: bool) -> String {
    let v = quote(lang, value);
    match (lang, topline) {
        (Language::En, true) => format!(
            "to plan a test on the topline, give the standard deviation of {v} among the {units} that reach it (or \
             plan.std_dev, the topline's per unit): it cannot be derived from the tree, {v} being an amount, not a rate"
        ),
        (Language::En, false) => format!(
            "to plan a test on {}, give the standard deviation of {v} among the {units} that reach it",
            quote(lang, read)
        ),
        (Language::ZhCn, true) => format!(
            "要规划以顶层指标为读数的实验，请给出到达{v}的 {units} 中{v}的标准差（或直接给出每单位顶层指标的标准差）：\
             {v}是金额而不是比率，无法由指标树推导"
        ),
        (Language::ZhCn, false) => {
            format!("要规划读取{}的实验，请给出到达{v}的 {units} 中{v}的标准差", quote(lang, read))
        }
    }
}

/// How an observed lift of the test metric becomes the topline's: one for one, or through the
/// changes the test does not read; then times the reach for the whole topline.
#[allow(clippy::too_many_arguments)]
pub(super) fn mapping(
    lang: Language,
    units: &str,
    label: &str,
    now: &str,
    x: f64,
    ratio: f64,
    reach: f64,
    reads_topline: bool,
) -> String {
    let reached = (1.0 + x) * ratio - 1.0;
    let cov = format!("{:.0}%", reach * 100.0);
    let whole = match (reach < 1.0, lang) {
        (false, _) => String::new(),
        (true, Language::En) => {
            format!(" and, with {cov} of {units} reached, {} on the whole topline", fmt_pct(reach * reached, 2))
        }
        (true, Language::ZhCn) => {
            format!("；覆盖 {cov} 的 {units} 时，整体顶层指标提升 {}", fmt_pct(reach * reached, 2))
        }
    };
    let (xs, rs) = (fmt_pct(x, 2), fmt_pct(reached, 2));
    let one_for_one = (ratio - 1.0).abs() < 1e-12;
    let r = format!("{ratio:.4}");
    match (lang, reads_topline) {
        (Language::En, true) => format!(
            "The test reads {label} ({now} now) among the {units} the change reaches: its lift is the topline's among \
             them, so an observed {xs} is {rs} per reached unit{whole}."
        ),
        (Language::ZhCn, true) => format!(
            "实验读取变化覆盖到的 {units} 中{label}（当前 {now}）：它的提升就是这些 {units} 的顶层指标提升，\
             因此观测到 {xs} 即每个覆盖单位提升 {rs}{whole}。"
        ),
        (Language::En, false) => {
            let how = if one_for_one {
                "the topline moves one for one with it (nothing below it is expected to change)".to_string()
            } else {
                format!(
                    "the topline moves with it and with the changes below it that the test does not read \
                     (topline lift = (1 + observed) × {r} − 1)"
                )
            };
            format!(
                "The test reads {label} ({now} now) among the {units} the change reaches; {how}: an observed {xs} \
                 there is {rs} on the topline per reached unit{whole}."
            )
        }
        (Language::ZhCn, false) => {
            let how = if one_for_one {
                "顶层指标与它同比例变化（它的下游预计没有变化）".to_string()
            } else {
                format!("顶层指标随它以及实验读不到的下游变化一起变化（顶层指标提升 = (1 + 观测提升) × {r} − 1）")
            };
            format!(
                "实验读取变化覆盖到的 {units} 中{label}（当前 {now}）；{how}：在该指标上观测到 {xs}，\
                 即每个覆盖单位的顶层指标提升 {rs}{whole}。"
            )
        }
    }
}

/// One remark on an input that is allowed but implausible (see [`super::plausibility`]).
pub(super) enum Implausible {
    Reach(f64),
    ConfidenceLevel(f64),
    Change(f64),
    Alpha(f64),
    Power(f64),
    WinRate(f64),
    PastEffect { effect: f64, std_err: f64 },
}

pub(super) fn implausible(lang: Language, what: Implausible) -> String {
    use Implausible::*;
    match (lang, what) {
        (Language::En, Reach(v)) => format!(
            "{v} is {} of the units: shares are fractions (0.5 = 50%); if half of them were meant, that is 0.5",
            fmt_share(v)
        ),
        (Language::ZhCn, Reach(v)) => {
            format!("{v} 表示 {} 的单位：占比用小数表示（0.5 = 50%）；如果想表示一半，请填 0.5", fmt_share(v))
        }
        (Language::En, ConfidenceLevel(v)) => {
            format!("a {} interval is unusually narrow: levels are fractions (0.95 = 95%)", fmt_share(v))
        }
        (Language::ZhCn, ConfidenceLevel(v)) => {
            format!("{} 的置信区间窄得不寻常：置信水平用小数表示（0.95 = 95%）", fmt_share(v))
        }
        (Language::En, Change(v)) => format!(
            "{v} is a change of {}: changes are relative fractions (0.08 = +8%); is a change this large meant?",
            fmt_pct(v, 0)
        ),
        (Language::ZhCn, Change(v)) => format!(
            "{v} 表示变化 {}：变化用相对小数表示（0.08 = +8%）；确实预期这么大的变化吗？",
            fmt_pct(v, 0)
        ),
        (Language::En, Alpha(a)) => {
            format!("{a} is a significance level of {}: alpha is a fraction (0.05 = 5%)", fmt_share(a))
        }
        (Language::ZhCn, Alpha(a)) => {
            format!("{a} 表示显著性水平 {}：α 用小数表示（0.05 = 5%）", fmt_share(a))
        }
        (Language::En, Power(p)) => format!("{p} is a power of {}: power is a fraction (0.8 = 80%)", fmt_share(p)),
        (Language::ZhCn, Power(p)) => format!("{p} 表示统计功效 {}：功效用小数表示（0.8 = 80%）", fmt_share(p)),
        (Language::En, WinRate(w)) => format!(
            "{w} means {} of the team's tests won: win rates are fractions (0.2 = 20%)",
            fmt_share(w)
        ),
        (Language::ZhCn, WinRate(w)) => {
            format!("{w} 表示团队的实验中有 {} 胜出：胜率用小数表示（0.2 = 20%）", fmt_share(w))
        }
        (Language::En, PastEffect { effect, std_err }) => format!(
            "an effect of {} (standard error {}) is implausible for a test: effects are relative fractions (0.021 = +2.1%)",
            fmt_pct(effect, 0),
            fmt_share(std_err)
        ),
        (Language::ZhCn, PastEffect { effect, std_err }) => format!(
            "效应 {}（标准误 {}）对一次实验来说不合常理：效应用相对小数表示（0.021 = +2.1%）",
            fmt_pct(effect, 0),
            fmt_share(std_err)
        ),
    }
}

/// What `liftlab forecast` prints above the PRD paragraph: the headline with its interval, median
/// and delta-method interval, then the absolute lift over each period.
pub fn summary(lang: Language, f: &Forecast) -> String {
    let unit = f.unit.as_deref();
    let level = (f.confidence_level * 100.0).round();
    let p = |x: f64| fmt_pct(x, 2);
    let (est, lo, hi, med) = (p(f.relative.estimate), p(f.relative.low), p(f.relative.high), p(f.median));
    let (dlo, dhi) = (p(f.relative_delta.low), p(f.relative_delta.high));
    let head = match lang {
        Language::En => {
            format!("Projected lift {est} ({level}% interval {lo} to {hi}; median {med}; delta method {dlo} to {dhi})")
        }
        Language::ZhCn => {
            format!("预计提升 {est}（{level}% 置信区间 {lo} 至 {hi}；中位数 {med}；delta 法 {dlo} 至 {dhi}）")
        }
    };
    let (to, sep, open, close) = match lang {
        Language::En => ("to", "; ", " (", ")"),
        Language::ZhCn => ("至", "；", "（", "）"),
    };
    let periods: Vec<String> = f
        .periods
        .iter()
        .map(|x| {
            format!(
                "{} {}{open}{} {to} {}{close}",
                x.label,
                fmt_amount(x.lift.estimate, unit, true),
                fmt_amount(x.lift.low, unit, true),
                fmt_amount(x.lift.high, unit, true)
            )
        })
        .collect();
    format!("{head}\n{}", periods.join(sep))
}

/// The label before the formula in the PRD paragraph: "Formula: " / "公式：".
pub fn formula_label(lang: Language) -> &'static str {
    match lang {
        Language::En => "Formula: ",
        Language::ZhCn => "公式：",
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
    let lang = req.language;
    let en = lang == Language::En;
    let m = &req.model;
    let unit = f.unit.as_deref().or(m.unit.as_deref());
    let amount = |x: f64| fmt_amount(x, unit, true);
    let who = m.nodes.first().filter(|n| n.kind == NodeKind::Count).map_or(default_units(lang), |n| n.name.as_str());
    let level = format!("{:.0}%", f.confidence_level * 100.0);
    let mut out = Vec::new();

    let changes: Vec<String> = m
        .changes
        .iter()
        .map(|c| {
            let (q, l, lo, hi) = (quote(lang, &c.node), fmt_pct(c.likely, 1), fmt_pct(c.low, 1), fmt_pct(c.high, 1));
            if en {
                format!("{q} {l} (90% range {lo} to {hi})")
            } else {
                format!("{q} {l}（90% 范围 {lo} 至 {hi}）")
            }
        })
        .collect();
    let reach = match (lang, m.reach < 1.0) {
        (Language::En, true) => format!("for the {} of {who} the change reaches", fmt_share(m.reach)),
        (Language::En, false) => format!("for all {who}"),
        (Language::ZhCn, true) => format!("在变化覆盖到的 {} 的 {who} 中", fmt_share(m.reach)),
        (Language::ZhCn, false) => format!("在全部 {who} 中"),
    };
    let per = per_period(lang, m.period_days);
    let per_period_lift = f.periods.iter().find(|p| p.days == m.period_days).map(|p| p.lift).unwrap_or(f.absolute);
    let (rel, lo, hi) = (fmt_pct(f.relative.estimate, 2), fmt_pct(f.relative.low, 2), fmt_pct(f.relative.high, 2));
    let med = fmt_pct(if f.median != 0.0 { f.median } else { f.relative.estimate }, 2);
    let abs = amount(per_period_lift.estimate);
    let mut impact = if en {
        format!(
            "Expected impact. We expect {} {reach}. That moves the topline by {rel} ({level} interval {lo} to {hi}; \
             median {med}), about {abs} {per}",
            changes.join(", ")
        )
    } else {
        format!(
            "预期影响。我们预计{reach}：{}。这将使顶层指标变化 {rel}（{level} 置信区间 {lo} 至 {hi}；中位数 {med}），\
             约为{per} {abs}",
            changes.join("，")
        )
    };
    if m.period_days < DAYS_PER_YEAR {
        let (y, ylo, yhi) = (amount(f.per_year.estimate), amount(f.per_year.low), amount(f.per_year.high));
        impact.push_str(&if en {
            format!(" and {y} per year ({ylo} to {yhi})")
        } else {
            format!("，每年 {y}（{ylo} 至 {yhi}）")
        });
    }
    impact.push_str(if en { "." } else { "。" });
    if m.reach < 1.0 {
        let (r, rlo, rhi) = (fmt_pct(f.reached.estimate, 2), fmt_pct(f.reached.low, 2), fmt_pct(f.reached.high, 2));
        impact.push_str(&if en {
            format!(" Among the {who} it reaches, the lift is {r} ({rlo} to {rhi}).")
        } else {
            format!("在覆盖到的 {who} 中，提升为 {r}（{rlo} 至 {rhi}）。")
        });
    }
    if let (Some(node), true) = (&f.most_sensitive, f.sensitivity.len() > 1) {
        impact.push_str(&if en {
            format!(" The forecast depends most on {}.", quote(lang, node))
        } else {
            format!("预测对{}最敏感。", quote(lang, node))
        });
    }
    out.push(impact);
    out.push(format!("{}{}", formula_label(lang), f.formula));
    if !f.headline_note.is_empty() {
        out.push(f.headline_note.clone());
    }

    if let Some(p) = plan {
        let design = req.plan.as_ref().map(|x| x.design).unwrap_or_default();
        let max_days = req.plan.as_ref().map_or(28.0, |x| x.max_days);
        let mut test = String::from(if en { "Test. " } else { "实验。" });
        if !p.mapping.is_empty() {
            test.push_str(&p.mapping);
            if en {
                test.push(' ');
            }
        }
        let sd = match (lang, p.std_dev_source, p.std_dev, p.baseline) {
            (Language::En, Some(StdDevSource::Tree), Some(s), Baseline::Mean { .. }) => {
                format!(" (standard deviation {} per unit, derived from the tree)", fmt_value(s))
            }
            (Language::En, Some(StdDevSource::Given), Some(s), Baseline::Mean { .. }) => {
                format!(" (standard deviation {} per unit, as given)", fmt_value(s))
            }
            (Language::ZhCn, Some(StdDevSource::Tree), Some(s), Baseline::Mean { .. }) => {
                format!("（每单位标准差 {}，由指标树推导）", fmt_value(s))
            }
            (Language::ZhCn, Some(StdDevSource::Given), Some(s), Baseline::Mean { .. }) => {
                format!("（每单位标准差 {}，为给定值）", fmt_value(s))
            }
            _ => String::new(),
        };
        let longer = match (lang, p.duration_days as f64 > max_days) {
            (_, false) => String::new(),
            (Language::En, true) => format!(", longer than the {} days available", fmt_days(max_days)),
            (Language::ZhCn, true) => format!("，超过可用的 {} 天", fmt_days(max_days)),
        };
        let arms = arms_text(lang, p, who, design.variants);
        let days = days_text(lang, p.duration_days);
        let (daily, eff, power, alpha) =
            (fmt_value(p.daily_units), fmt_pct(p.rel_effect, 2), fmt_share(design.power), fmt_share(design.alpha));
        let (max, mde) = (fmt_days(max_days), fmt_pct(p.mde_at_max_days.rel_effect, 2));
        let pw = fmt_share((p.power_at_max_days * 1000.0).round() / 1000.0);
        test.push_str(&if en {
            format!(
                "It needs {arms}{sd}, {days} at {daily} {who} a day{longer}, to detect {eff} with {power} power at \
                 α = {alpha}; in {max} days it can detect {mde} (power {pw} for the likely change)."
            )
        } else {
            format!(
                "需要{arms}{sd}，按每天 {daily} 个 {who} 计需 {days}{longer}，才能在 α = {alpha} 下以 {power} 的\
                 统计功效检测到 {eff}；{max} 天内可检测到 {mde}（对最可能变化的功效为 {pw}）。"
            )
        });
        if let Some(t) = &p.topline {
            let how = match (lang, t.std_dev_source) {
                (_, StdDevSource::Proportion) => String::new(),
                (Language::En, StdDevSource::Tree) => {
                    format!(", standard deviation {} derived from the tree", fmt_value(t.std_dev))
                }
                (Language::En, StdDevSource::Given) => {
                    format!(", standard deviation {} as given", fmt_value(t.std_dev))
                }
                (Language::ZhCn, StdDevSource::Tree) => format!("，标准差 {}，由指标树推导", fmt_value(t.std_dev)),
                (Language::ZhCn, StdDevSource::Given) => format!("，标准差 {}，为给定值", fmt_value(t.std_dev)),
            };
            let now = match t.baseline {
                Baseline::Proportion { rate } => fmt_share(rate),
                Baseline::Mean { mean, .. } => fmt_amount(mean, unit, false),
            };
            let (label, n, days) = (&t.label, fmt_count(t.sample_size.n_control), days_text(lang, t.duration_days));
            let tmde = fmt_pct(t.mde_at_max_days.rel_effect, 2);
            test.push_str(&if en {
                format!(
                    " Read on {label} instead ({now} now{how}), a test would need {n} {who} per arm: {days}; in {max} \
                     days it can detect {tmde}."
                )
            } else {
                format!("若改为读取{label}（当前 {now}{how}），实验每组需要 {n} 个 {who}：{days}；{max} 天内可检测到 {tmde}。")
            });
        } else if let Some(need) = p.missing.first() {
            test.push_str(&if en {
                format!(" A test read on the topline cannot be planned yet: {}.", need.message)
            } else {
                format!("以顶层指标为读数的实验暂时无法规划：{}。", need.message)
            });
        }
        for n in &p.notes {
            test.push_str(&if en { format!(" Note: {n}.") } else { format!("注：{n}。") });
        }
        out.push(test);
    }

    if realism.is_some() || false_positive_risk.is_some() {
        let mut chance = match (lang, history_source) {
            (Language::En, Some(s)) => format!("Chance of success, from {s}."),
            (Language::En, None) => "Chance of success.".to_string(),
            (Language::ZhCn, Some(s)) => format!("成功概率，依据：{s}。"),
            (Language::ZhCn, None) => "成功概率。".to_string(),
        };
        if let (Some(r), Some(pr)) = (realism, prior) {
            let (n, mean, e, pp) =
                (pr.experiments, fmt_pct(pr.mean, 2), fmt_pct(r.expected_lift, 2), fmt_prob(r.prob_positive));
            chance.push_str(&if en {
                format!(
                    " Against {n} past tests (mean effect {mean}), the expected lift among the {who} reached is {e}; \
                     the chance that the true lift is above zero is {pp}"
                )
            } else {
                format!(
                    "参照 {n} 个历史实验（平均效应 {mean}），覆盖到的 {who} 中预期提升为 {e}；真实提升大于零的概率为 {pp}"
                )
            });
            if let Some(a) = r.prob_above_mde {
                chance.push_str(&if en {
                    format!(", and above what the test can detect {}", fmt_prob(a))
                } else {
                    format!("，大于实验可检测幅度的概率为 {}", fmt_prob(a))
                });
            }
            chance.push_str(if en { "." } else { "。" });
        }
        if let (Some(fpr), Some(w)) = (false_positive_risk, req.history.as_ref().and_then(|h| h.win_rate)) {
            let (w, x) = (fmt_share(w), fmt_share((fpr * 1000.0).round() / 1000.0));
            chance.push_str(&if en {
                format!(
                    " At the team's win rate of {w}, a significant result would be a false positive {x} of the time \
                     (Kohavi et al. 2022)."
                )
            } else {
                format!("按团队 {w} 的胜率，显著的结果有 {x} 的可能是假阳性（Kohavi 等，2022）。")
            });
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
        assert_eq!(fmt_value(0.0), "0");
        assert_eq!(fmt_value(-0.0), "0");
        assert_eq!(fmt_signed(0.0), "+0");
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
