//! The forecast's facts as every face shows them: the test plan, the topline's plan beside it and
//! the chance of success, as panels of labelled values in the answer's language, each value
//! formatted once here. The page shows the panels of the answer's `display` as they come, the
//! notebook ([`super::render::render_html`]) as tables and the CLI ([`super::render::render_text`])
//! as indented lines, so the three show the same labels and the same values.
//!
//! The shape, and why: a fixed set of named panels ([`ForecastDisplay`]), because each face places
//! each panel somewhere of its own (the page puts the two plans side by side in one card); each
//! panel an ordered list of [`Fact`]s, because every face shows a panel the same way, as label and
//! value rows. A fact names the answer's field its value formats (`plan.sample_size.n_control`),
//! the path an error would name: a machine (a test, a script reading the page) finds the exact
//! number there, so no second format of a number is ever written, and no new name for it.

use serde::{Deserialize, Serialize};

use super::plan::{StdDevSource, TestPlan};
use super::text::{
    days_text, fill, fmt_amount, fmt_count, fmt_days, fmt_pct, fmt_prob, fmt_share, fmt_value, quote, Language,
};
use super::ForecastReport;
use crate::stats::power::{Baseline, SampleSize};

/// One labelled value: a row of the page's list, of the notebook's table, a line of the CLI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Fact {
    /// The answer's field whose value this formats, as a path from the answer's root
    /// (`plan.sample_size.n_control`, `realism.prob_positive`): a stable key for machines, and
    /// where the unformatted value is.
    pub field: String,
    /// What the value is, in the answer's language.
    pub label: String,
    /// The value, formatted: "8,204", "+4.18%", "14 days".
    pub value: String,
    /// A remark shown after the value ("control; 9,000 per variant"), if any.
    pub note: Option<String>,
    /// The value needs attention: a test longer than the days available.
    #[serde(default)]
    pub warn: bool,
}

/// A titled list of facts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Panel {
    pub title: String,
    /// A sentence above the facts (where the history comes from), if any.
    pub lead: Option<String>,
    pub facts: Vec<Fact>,
    /// Why there are no facts ("Not planned: ..."): set exactly when `facts` is empty.
    pub empty: Option<String>,
}

/// The panels of a forecast's facts, in the answer's language (see the module's documentation).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ForecastDisplay {
    /// The test on the metric it reads; without facts when no plan was asked for.
    pub plan: Panel,
    /// The test read on the topline instead: absent without a plan or when the test reads the
    /// topline itself; without facts (`empty` says what is missing) when it cannot be planned.
    pub topline: Option<Panel>,
    /// The chance of success from the history; without facts when there is no history.
    pub chance: Panel,
}

impl ForecastDisplay {
    /// The panels in the order the faces show them.
    pub fn panels(&self) -> Vec<&Panel> {
        let mut out = vec![&self.plan];
        out.extend(self.topline.as_ref());
        out.push(&self.chance);
        out
    }
}

/// The labels, in one place per language.
struct Words {
    test_plan: &'static str,
    test_on: &'static str,
    test_on_topline: &'static str,
    topline_plan: &'static str,
    not_planned: &'static str,
    no_topline_plan: &'static str,
    daily: &'static str,
    metric: &'static str,
    baseline: &'static str,
    per_unit_prop: &'static str,
    per_unit_mean: &'static str,
    sd_tree: &'static str,
    sd_given: &'static str,
    effect: &'static str,
    arm: &'static str,
    control_variant: &'static str,
    total: &'static str,
    duration: &'static str,
    longer: &'static str,
    mde: &'static str,
    power: &'static str,
    at_alpha: &'static str,
    chance: &'static str,
    chance_from: &'static str,
    chance_none: &'static str,
    prob_positive: &'static str,
    prob_mde: &'static str,
    expected: &'static str,
    fpr: &'static str,
    fpr_note: &'static str,
    past: &'static str,
    mean_effect: &'static str,
}

const EN: Words = Words {
    test_plan: "Test plan",
    test_on: "Test on {}",
    test_on_topline: "Test on the topline",
    topline_plan: "On the topline instead",
    not_planned: "Not planned: ask for a test plan to size the test.",
    no_topline_plan: "No plan on the topline: {}",
    daily: "Units reached a day",
    metric: "Reads",
    baseline: "Now",
    per_unit_prop: "{} per unit (a proportion)",
    per_unit_mean: "{} per unit, std dev {} ({})",
    sd_tree: "derived from the tree",
    sd_given: "as given",
    effect: "Effect designed for",
    arm: "Sample size per arm",
    control_variant: "control; {} per variant",
    total: "Total units",
    duration: "Duration",
    longer: "longer than the {} days available",
    mde: "Detectable in {} days",
    power: "Power in {} days",
    at_alpha: "for the designed effect at α = {}",
    chance: "Chance of success",
    chance_from: "From {}.",
    chance_none: "Add the team's win rate and three or more past tests (history) to see the chance of success.",
    prob_positive: "True lift above zero",
    prob_mde: "True lift above what the test can detect",
    expected: "Expected lift after history",
    fpr: "A significant result is a false positive",
    fpr_note: "at the team's win rate; Kohavi et al. 2022",
    past: "Past tests used",
    mean_effect: "mean effect {}, sd {}",
};

const ZH: Words = Words {
    test_plan: "实验规划",
    test_on: "在{}上实验",
    test_on_topline: "在顶层指标上实验",
    topline_plan: "改为在顶层指标上实验",
    not_planned: "未规划：要求实验规划即可计算样本量。",
    no_topline_plan: "无法规划顶层指标的实验：{}",
    daily: "每天触达单位",
    metric: "读取",
    baseline: "当前",
    per_unit_prop: "每单位 {}（比例）",
    per_unit_mean: "每单位 {}，标准差 {}（{}）",
    sd_tree: "由指标树推导",
    sd_given: "为给定值",
    effect: "设计检测的效应",
    arm: "每组样本量",
    control_variant: "对照组；每个实验组 {}",
    total: "总单位数",
    duration: "时长",
    longer: "超过可用的 {} 天",
    mde: "{} 天内可检测",
    power: "{} 天内的功效",
    at_alpha: "在 α = {} 下针对设计效应",
    chance: "成功概率",
    chance_from: "依据：{}。",
    chance_none: "填写团队胜率和至少三个过往实验（历史），即可看到成功概率。",
    prob_positive: "真实提升大于零",
    prob_mde: "真实提升超过实验可检测的幅度",
    expected: "结合历史后的预期提升",
    fpr: "显著结果为假阳性的概率",
    fpr_note: "按团队胜率；Kohavi 等，2022",
    past: "使用的过往实验",
    mean_effect: "平均效应 {}，标准差 {}",
};

fn words(lang: Language) -> &'static Words {
    match lang {
        Language::En => &EN,
        Language::ZhCn => &ZH,
    }
}

fn fact(field: String, label: impl Into<String>, value: String) -> Fact {
    Fact { field, label: label.into(), value, note: None, warn: false }
}

/// A share rounded to a tenth of a percent, as the PRD paragraph writes powers and risks.
fn share_3(x: f64) -> String {
    fmt_share((x * 1000.0).round() / 1000.0)
}

/// What the plan of a test on one metric shows, the test's own plan and the topline's alike.
struct MetricView<'a> {
    /// The path of the plan in the answer: `plan` or `plan.topline`.
    at: &'static str,
    metric: &'a str,
    label: &'a str,
    baseline: Baseline,
    std_dev_source: Option<StdDevSource>,
    rel_effect: f64,
    sample_size: &'a SampleSize,
    duration_days: u64,
    mde: f64,
    power: f64,
}

fn metric_facts(v: &MetricView, report: &ForecastReport, lang: Language) -> Vec<Fact> {
    let w = words(lang);
    let set = &report.settings;
    let unit = report.forecast.unit.as_deref();
    let path = |k: &str| format!("{}.{k}", v.at);
    let base = match v.baseline {
        Baseline::Mean { mean, std_dev } => {
            let from = if v.std_dev_source == Some(StdDevSource::Given) { w.sd_given } else { w.sd_tree };
            fill(w.per_unit_mean, &[&fmt_amount(mean, unit, false), &fmt_value(std_dev), from])
        }
        Baseline::Proportion { rate } => fill(w.per_unit_prop, &[&fmt_share(rate)]),
    };
    let ss = v.sample_size;
    let max = fmt_days(set.max_days);
    let mut arm = fact(path("sample_size.n_control"), w.arm, fmt_count(ss.n_control));
    if ss.n_per_variant != ss.n_control {
        arm.note = Some(fill(w.control_variant, &[&fmt_count(ss.n_per_variant)]));
    }
    let mut duration = fact(path("duration_days"), w.duration, days_text(lang, v.duration_days));
    if v.duration_days as f64 > set.max_days {
        duration.note = Some(fill(w.longer, &[&max]));
        duration.warn = true;
    }
    let mut power = fact(path("power_at_max_days"), fill(w.power, &[&max]), share_3(v.power));
    power.note = Some(fill(w.at_alpha, &[&fmt_share(set.alpha)]));
    vec![
        fact(path("metric"), w.metric, if v.label.is_empty() { v.metric.to_string() } else { v.label.to_string() }),
        fact(path("baseline"), w.baseline, base),
        fact(path("rel_effect"), w.effect, fmt_pct(v.rel_effect, 2)),
        arm,
        fact(path("sample_size.n_total"), w.total, fmt_count(ss.n_total)),
        duration,
        fact(path("mde_at_max_days.rel_effect"), fill(w.mde, &[&max]), fmt_pct(v.mde, 2)),
        power,
    ]
}

fn plan_panels(plan: Option<&TestPlan>, report: &ForecastReport, lang: Language) -> (Panel, Option<Panel>) {
    let w = words(lang);
    let Some(p) = plan else {
        return (Panel { title: w.test_plan.into(), empty: Some(w.not_planned.into()), ..Default::default() }, None);
    };
    let title =
        if p.metric.is_empty() { w.test_on_topline.into() } else { fill(w.test_on, &[&quote(lang, &p.metric)]) };
    let mut facts = vec![fact("plan.daily_units".into(), w.daily, fmt_value(p.daily_units))];
    let view = MetricView {
        at: "plan",
        metric: &p.metric,
        label: &p.metric_label,
        baseline: p.baseline,
        std_dev_source: p.std_dev_source,
        rel_effect: p.rel_effect,
        sample_size: &p.sample_size,
        duration_days: p.duration_days,
        mde: p.mde_at_max_days.rel_effect,
        power: p.power_at_max_days,
    };
    facts.extend(metric_facts(&view, report, lang));
    let test = Panel { title, facts, ..Default::default() };
    let topline = match (&p.topline, p.missing.first()) {
        (Some(t), _) => {
            let view = MetricView {
                at: "plan.topline",
                metric: &t.metric,
                label: &t.label,
                baseline: t.baseline,
                std_dev_source: Some(t.std_dev_source),
                rel_effect: t.rel_effect,
                sample_size: &t.sample_size,
                duration_days: t.duration_days,
                mde: t.mde_at_max_days.rel_effect,
                power: t.power_at_max_days,
            };
            Some(Panel { title: w.topline_plan.into(), facts: metric_facts(&view, report, lang), ..Default::default() })
        }
        (None, Some(need)) if !p.reads_topline => Some(Panel {
            title: w.topline_plan.into(),
            empty: Some(fill(w.no_topline_plan, &[&need.message])),
            ..Default::default()
        }),
        _ => None,
    };
    (test, topline)
}

fn chance_panel(report: &ForecastReport, lang: Language) -> Panel {
    let w = words(lang);
    let mut facts = Vec::new();
    if let Some(r) = &report.realism {
        facts.push(fact("realism.prob_positive".into(), w.prob_positive, fmt_prob(r.prob_positive)));
        if let Some(a) = r.prob_above_mde {
            facts.push(fact("realism.prob_above_mde".into(), w.prob_mde, fmt_prob(a)));
        }
        let mut expected = fact("realism.expected_lift".into(), w.expected, fmt_pct(r.expected_lift, 2));
        expected.note = Some(format!("± {}", fmt_share(r.std_dev)));
        facts.push(expected);
    }
    if let Some(x) = report.false_positive_risk {
        let mut f = fact("false_positive_risk".into(), w.fpr, share_3(x));
        f.note = Some(w.fpr_note.into());
        facts.push(f);
    }
    if let Some(pr) = &report.prior {
        let mut f = fact("prior.experiments".into(), w.past, fmt_count(pr.experiments as u64));
        f.note = Some(fill(w.mean_effect, &[&fmt_pct(pr.mean, 2), &fmt_share(pr.tau2.sqrt())]));
        facts.push(f);
    }
    let empty = facts.is_empty().then(|| w.chance_none.to_string());
    let lead = report.history_source.as_deref().map(|s| fill(w.chance_from, &[s]));
    Panel { title: w.chance.into(), lead, facts, empty }
}

/// The panels of a report, in its language (`report.settings.language`).
pub fn display(report: &ForecastReport) -> ForecastDisplay {
    let lang = report.settings.language;
    let (plan, topline) = plan_panels(report.plan.as_ref(), report, lang);
    ForecastDisplay { plan, topline, chance: chance_panel(report, lang) }
}

/// The panels as the CLI prints them: a title, then each fact indented, `label: value (note)`.
pub fn display_text(d: &ForecastDisplay, lang: Language) -> String {
    let (colon, open, close) = match lang {
        Language::En => (": ", " (", ")"),
        Language::ZhCn => ("：", "（", "）"),
    };
    let mut out = Vec::new();
    for p in d.panels() {
        let mut lines = vec![p.title.clone()];
        lines.extend(p.lead.iter().chain(&p.empty).map(|s| format!("  {s}")));
        for f in &p.facts {
            let note = f.note.as_deref().map_or(String::new(), |n| format!("{open}{n}{close}"));
            lines.push(format!("  {}{colon}{}{note}", f.label, f.value));
        }
        out.push(lines.join("\n"));
    }
    out.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::{forecast_impact, render, request_from_toml, ForecastRequest};

    fn example(lang: Language) -> ForecastRequest {
        let text = include_str!("../../examples/forecast.toml");
        ForecastRequest { language: lang, ..request_from_toml(text, "forecast.toml", None).unwrap() }
    }

    /// The value at a field path of the answer's JSON, as the page reads it for `data-value`.
    fn at<'a>(json: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
        path.split('.').fold(json, |v, k| &v[k])
    }

    #[test]
    fn every_fact_formats_the_field_it_names() {
        for lang in Language::ALL {
            let report = forecast_impact(&example(lang)).unwrap();
            let d = &report.display;
            assert_eq!(d, &display(&report), "the report carries its display");
            let json = serde_json::to_value(&report).unwrap();
            let facts: Vec<&Fact> = d.panels().into_iter().flat_map(|p| &p.facts).collect();
            for f in &facts {
                let v = at(&json, &f.field);
                assert!(!v.is_null(), "{} names no field of the answer", f.field);
                assert!(!f.label.is_empty() && !f.value.is_empty(), "{f:?}");
            }
            let plan = report.plan.as_ref().unwrap();
            let by = |field: &str| facts.iter().find(|f| f.field == field).unwrap_or_else(|| panic!("{field}"));
            assert_eq!(by("plan.sample_size.n_control").value, fmt_count(plan.sample_size.n_control));
            assert_eq!(by("plan.topline.sample_size.n_control").value, "175,782");
            assert_eq!(by("plan.mde_at_max_days.rel_effect").value, fmt_pct(plan.mde_at_max_days.rel_effect, 2));
            assert_eq!(by("realism.prob_above_mde").value, "<1%");
            assert_eq!(by("false_positive_risk").value, "11.1%");
            // the topline's test runs past the 28 days available, and says so
            let long = by("plan.topline.duration_days");
            assert!(long.warn && long.note.as_deref().unwrap().contains("28"), "{long:?}");
            assert!(!by("plan.duration_days").warn);
            assert!(d.chance.lead.as_deref().unwrap().contains("5"), "{:?}", d.chance.lead);
            assert!(d.panels().iter().all(|p| p.empty.is_none()));
            if lang == Language::ZhCn {
                let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
                assert!(facts.iter().all(|f| cjk(&f.label)), "{facts:?}");
                assert!(d.panels().iter().all(|p| cjk(&p.title)));
            }
        }
    }

    #[test]
    fn a_panel_without_facts_says_why() {
        let mut req = example(Language::En);
        req.plan = None;
        req.history = None;
        let report = forecast_impact(&req).unwrap();
        let d = &report.display;
        assert!(d.plan.facts.is_empty() && d.plan.empty.as_deref().unwrap().starts_with("Not planned"));
        assert!(d.topline.is_none());
        assert!(d.chance.facts.is_empty() && d.chance.empty.as_deref().unwrap().contains("win rate"));
        assert!(d.chance.lead.is_none());
        // without the order value's spread the topline cannot be planned: the panel names what is missing
        let mut req = example(Language::ZhCn);
        req.plan.as_mut().unwrap().std_dev = None;
        let report = forecast_impact(&req).unwrap();
        let top = report.display.topline.as_ref().unwrap();
        assert!(top.facts.is_empty(), "{top:?}");
        let missing = &report.plan.as_ref().unwrap().missing[0].message;
        assert_eq!(top.empty.as_deref().unwrap(), format!("无法规划顶层指标的实验：{missing}"));
        assert!(!report.display.plan.facts.is_empty(), "the test's own plan stands");
    }

    /// The CLI's text and the notebook's HTML show the facts of the display: every label and
    /// every value, as written here.
    #[test]
    fn the_text_and_the_notebook_show_the_same_facts() {
        for lang in Language::ALL {
            let req = example(lang);
            let report = forecast_impact(&req).unwrap();
            let (text, html) = (render::render_text(&report), render::render_html(&req, &report).unwrap());
            let colon = if lang == Language::En { ": " } else { "：" };
            for p in report.display.panels() {
                let title = p.title.replace('\'', "&#39;");
                assert!(text.contains(&format!("\n{}\n", p.title)) && html.contains(&title), "{}", p.title);
                for f in &p.facts {
                    assert!(text.contains(&format!("  {}{colon}{}", f.label, f.value)), "{f:?}\n{text}");
                    let row = format!(
                        "<tr data-field='{}'><td style='text-align:left'>{}</td>",
                        f.field,
                        f.label.replace('\'', "&#39;")
                    );
                    assert!(html.contains(&row), "{row}");
                    assert!(html.contains(&f.value.replace('<', "&lt;").replace('\'', "&#39;")), "{f:?}");
                }
            }
        }
    }
}
