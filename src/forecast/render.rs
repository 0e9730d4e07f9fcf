//! Rendering a forecast, once for every face (as [`crate::report::render`] renders an analysis):
//! the charts as SVG, the notebook's HTML and the CLI's text, in the request's language.
//!
//! - [`lift_svg`]: the projected relative lift of the topline: nested bands holding 95%, 90%,
//!   80% and 50% of the simulated lifts with the median, the reported interval's ends, the mean
//!   (the headline), the lift at the likely changes and the delta-method interval.
//! - [`tornado_svg`]: each changed node from its low to its high with the others at likely.
//! - [`gain_svg`]: the cumulative absolute gain over the months since launch, with the same bands
//!   ([`cumulative_gain`] gives its numbers).
//! - [`render_html`]: the tables of the projection, the test plan and the realism from history,
//!   the formula and the three charts (the Python `Forecast`'s notebook display).
//! - [`render_text`]: what `liftlab forecast` prints.
//! - [`reconciliation_html`]: a forecast set against the observed lift.
//!
//! The page asks the service for the charts (`POST /v1/forecast?charts=svg&chart_width=...`) and
//! shows them as they come; a chart is drawn at the width it is shown at, so that its 12px labels
//! stay 12px on a phone. No scripts, no external assets; every name is escaped.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::display::{display_text, Panel};
use super::ledger::{Observed, Reconciliation};
use super::text::{self, fill, fmt_amount, fmt_count, fmt_pct, fmt_share, fmt_value, Language};
use super::{ForecastReport, ForecastRequest, Interval, DEFAULT_PERIOD_DAYS};
use crate::error::{Error, Result};

/// The width charts are drawn at unless the face knows its own (a notebook, a file).
pub const DEFAULT_WIDTH: u32 = 560;
/// The narrowest and widest a chart is drawn.
pub const MIN_WIDTH: u32 = 280;
pub const MAX_WIDTH: u32 = 2000;
/// The months the gain chart covers by default, and at most.
pub const DEFAULT_MONTHS: u32 = 12;
pub const MAX_MONTHS: u32 = 120;

/// The charts of one forecast as SVG, with the sentences that explain them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ForecastCharts {
    /// The projected lift: bands, interval, mean, likely value, delta method ([`lift_svg`]).
    pub lift: String,
    /// What the lift chart shows, in words.
    pub lift_note: String,
    /// The sensitivity to each change ([`tornado_svg`]; empty without changes).
    pub tornado: String,
    /// What the tornado shows, and the node the forecast depends on most.
    pub tornado_note: String,
    /// The cumulative gain over [`DEFAULT_MONTHS`] months ([`gain_svg`]).
    pub gain: String,
}

/// Every chart of a forecast at `width` pixels.
pub fn charts(req: &ForecastRequest, report: &ForecastReport, width: u32) -> Result<ForecastCharts> {
    let lang = req.language;
    Ok(ForecastCharts {
        lift: lift_svg(report, lang, width),
        lift_note: lift_note(report, lang),
        tornado: tornado_svg(req, report, width),
        tornado_note: tornado_note(report, lang),
        gain: gain_svg(req, report, DEFAULT_MONTHS, width)?,
    })
}

/// Checks a chart width.
pub fn check_width(width: u32, field: &str) -> Result<()> {
    if (MIN_WIDTH..=MAX_WIDTH).contains(&width) {
        Ok(())
    } else {
        Err(Error::invalid(field, format!("{width} is not a chart width in {MIN_WIDTH}..={MAX_WIDTH} pixels")))
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn svg_open(w: f64, h: f64, label: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" \
         aria-label=\"{}\" font-family=\"system-ui, sans-serif\" font-size=\"12\" fill=\"#1f2933\">",
        esc(label)
    )
}

/// About `count` round ticks over [lo, hi], and the decimals their percentages need.
fn nice_ticks(lo: f64, hi: f64, count: usize) -> (Vec<f64>, usize) {
    let span = hi - lo;
    if !(span > 0.0) {
        return (vec![lo], 0);
    }
    let mag = 10f64.powf((span / count as f64).log10().floor());
    let step =
        [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| span / s <= count as f64).unwrap_or(10.0 * mag);
    let mut digits = 0;
    while digits < 4 {
        let x = step * 100.0 * 10f64.powi(digits as i32);
        if (x.round() - x).abs() <= 1e-6 {
            break;
        }
        digits += 1;
    }
    let mut ticks = Vec::new();
    let mut k = (lo / step).ceil() as i64;
    while (k as f64) * step <= hi + 1e-12 {
        ticks.push(if k == 0 { 0.0 } else { k as f64 * step });
        k += 1;
    }
    (ticks, digits)
}

/// A linear scale over `values` (padded by 8%) onto [left, right].
struct Scale {
    lo: f64,
    hi: f64,
    left: f64,
    right: f64,
}

impl Scale {
    fn over(values: &[f64], left: f64, right: f64) -> Self {
        let mut lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let mut hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if hi - lo < 1e-9 {
            lo -= 0.01;
            hi += 0.01;
        }
        let pad = (hi - lo) * 0.08;
        Scale { lo: lo - pad, hi: hi + pad, left, right }
    }
    fn x(&self, v: f64) -> f64 {
        self.left + (v - self.lo) / (self.hi - self.lo) * (self.right - self.left)
    }
}

/// Vertical grid lines with percentage labels, about one per 80 pixels.
fn axis(s: &mut String, sc: &Scale, y: f64, top: f64) {
    let room = ((sc.x(sc.hi) - sc.x(sc.lo)) / 80.0).floor() as usize;
    let (ticks, digits) = nice_ticks(sc.lo, sc.hi, room.clamp(3, 6));
    for t in ticks {
        let x = sc.x(t);
        let (stroke, dash) = if t == 0.0 { ("#8a96a3", " stroke-dasharray=\"3 3\"") } else { ("#eceff2", "") };
        let _ = write!(s, "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top}\" y2=\"{y}\" stroke=\"{stroke}\"{dash}/>");
        let label = if t == 0.0 { "0".to_string() } else { fmt_pct(t, digits) };
        let _ = write!(s, "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{label}</text>", y + 14.0);
    }
}

fn width_of(width: u32) -> f64 {
    f64::from(width.clamp(MIN_WIDTH, MAX_WIDTH))
}

/// The quantile of the report at `p`, if reported.
fn quantile(report: &ForecastReport, p: f64) -> Option<f64> {
    report.forecast.quantiles.iter().find(|q| (q[0] - p).abs() < 1e-9).map(|q| q[1])
}

/// The central bands (level, low p, high p), widest first, as the fan charts draw them.
const BANDS: [(f64, f64, f64); 4] = [(0.95, 0.025, 0.975), (0.90, 0.05, 0.95), (0.80, 0.10, 0.90), (0.50, 0.25, 0.75)];

/// The projected lift: nested bands, the interval's ends, the mean, the likely value and the
/// delta-method interval.
pub fn lift_svg(report: &ForecastReport, lang: Language, width: u32) -> String {
    let f = &report.forecast;
    let (w, h) = (width_of(width), 132.0);
    let (r, d) = (f.relative, f.relative_delta);
    let bands: Vec<(f64, f64)> =
        BANDS.iter().filter_map(|&(_, a, b)| Some((quantile(report, a)?, quantile(report, b)?))).collect();
    let mut values = vec![r.low, r.high, r.estimate, f.relative_likely, d.low, d.high, 0.0];
    values.extend(bands.iter().flat_map(|&(a, b)| [a, b]));
    let sc = Scale::over(&values, 16.0, w - 16.0);
    let (est, lo, hi) = (fmt_pct(r.estimate, 2), fmt_pct(r.low, 2), fmt_pct(r.high, 2));
    let label = match lang {
        Language::En => format!("projected lift {est}, interval {lo} to {hi}"),
        Language::ZhCn => format!("预计提升 {est}，区间 {lo} 至 {hi}"),
    };
    let mut s = svg_open(w, h, &label);
    let (bar_y, axis_y, half) = (72.0, 112.0, 11.0);
    axis(&mut s, &sc, axis_y, 8.0);
    for (i, &(a, b)) in bands.iter().enumerate() {
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"#2563a8\" opacity=\"{:.2}\"/>",
            sc.x(a),
            bar_y - half,
            (sc.x(b) - sc.x(a)).max(1.0),
            2.0 * half,
            0.16 + 0.12 * i as f64
        );
    }
    if bands.is_empty() {
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" rx=\"3\" fill=\"#2563a8\" opacity=\"0.3\"/>",
            sc.x(r.low),
            bar_y - half,
            (sc.x(r.high) - sc.x(r.low)).max(1.0),
            2.0 * half
        );
    }
    if let (false, Some(m)) = (bands.is_empty(), quantile(report, 0.5)) {
        let m = sc.x(m);
        let _ = write!(
            s,
            "<line x1=\"{m:.1}\" x2=\"{m:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#1b4f87\" stroke-width=\"1.5\"/>",
            bar_y - half,
            bar_y + half
        );
    }
    // the reported interval's ends
    for v in [r.low, r.high] {
        let x = sc.x(v);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#1f2933\" stroke-width=\"1.5\"/>\
             <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            bar_y - half - 4.0,
            bar_y + half + 4.0,
            bar_y - half - 8.0,
            fmt_pct(v, 2)
        );
    }
    // the delta-method interval, thin, below
    let dy = bar_y + half + 9.0;
    let _ = write!(
        s,
        "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{dy}\" y2=\"{dy}\" stroke=\"#8a96a3\" stroke-width=\"1.5\"/>",
        sc.x(d.low),
        sc.x(d.high)
    );
    for v in [d.low, d.high] {
        let x = sc.x(v);
        let _ =
            write!(s, "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#8a96a3\"/>", dy - 3.0, dy + 3.0);
    }
    let lx = sc.x(f.relative_likely);
    let _ = write!(
        s,
        "<path d=\"M{lx:.1},{}l6,7l-6,7l-6,-7Z\" fill=\"#fff\" stroke=\"#1f2933\" stroke-width=\"1.5\"/>",
        bar_y - 7.0
    );
    let ex = sc.x(r.estimate);
    let mean = match lang {
        Language::En => format!("mean {est}"),
        Language::ZhCn => format!("均值 {est}"),
    };
    let _ = write!(
        s,
        "<circle cx=\"{ex:.1}\" cy=\"{bar_y}\" r=\"5\" fill=\"#f5a623\" stroke=\"#1f2933\" stroke-width=\"1.2\"/>\
         <line x1=\"{ex:.1}\" x2=\"{ex:.1}\" y1=\"22\" y2=\"{}\" stroke=\"#1f2933\" stroke-width=\"1\"/>\
         <text x=\"{:.1}\" y=\"16\" text-anchor=\"middle\" font-weight=\"600\">{mean}</text></svg>",
        bar_y - 26.0,
        ex.clamp(60.0, w - 60.0)
    );
    s
}

/// What the lift chart shows.
pub fn lift_note(report: &ForecastReport, lang: Language) -> String {
    let f = &report.forecast;
    let (draws, level) = (fmt_count(f.draws as u64), format!("{:.0}%", f.confidence_level * 100.0));
    let (likely, dlo, dhi) =
        (fmt_pct(f.relative_likely, 2), fmt_pct(f.relative_delta.low, 2), fmt_pct(f.relative_delta.high, 2));
    match lang {
        Language::En => format!(
            "Bands: where 95%, 90%, 80% and 50% of {draws} simulated lifts fall (darker is likelier), with the median; \
             ticks: the {level} interval; dot: the mean (the headline); diamond: every change at its likely value \
             ({likely}); grey line: the delta-method interval ({dlo} to {dhi})."
        ),
        Language::ZhCn => format!(
            "色带：{draws} 次模拟提升中 95%、90%、80% 和 50% 所在的范围（越深越可能），并标出中位数；刻度线：{level} 区间；\
             圆点：均值（标题数字）；菱形：所有变化取最可能值（{likely}）；灰线：delta 法区间（{dlo} 至 {dhi}）。"
        ),
    }
}

/// What the tornado shows, and the node the forecast depends on most.
pub fn tornado_note(report: &ForecastReport, lang: Language) -> String {
    let f = &report.forecast;
    if f.sensitivity.is_empty() {
        return String::new();
    }
    let most = f.most_sensitive.as_deref().map(|n| text::quote(lang, n));
    match (lang, most) {
        (Language::En, m) => format!(
            "Each bar: the lift as one change goes from its low to its high with the others at likely.{}",
            m.map_or(String::new(), |m| format!(" The forecast depends most on {m}."))
        ),
        (Language::ZhCn, m) => format!(
            "每条：某个变化从下限到上限、其余取最可能值时的提升。{}",
            m.map_or(String::new(), |m| format!("预测对{m}最敏感。"))
        ),
    }
}

/// Each changed node from its low to its high with the others at likely (widest swing first).
pub fn tornado_svg(req: &ForecastRequest, report: &ForecastReport, width: u32) -> String {
    let f = &report.forecast;
    let rows = &f.sensitivity;
    if rows.is_empty() {
        return String::new();
    }
    let w = width_of(width);
    let (row_h, top) = (30.0, 8.0);
    let label_w = (w * 0.28).round().min(120.0);
    let h = top + rows.len() as f64 * row_h + 24.0;
    let mut values = vec![f.relative_likely, 0.0];
    values.extend(rows.iter().flat_map(|r| [r.at_low, r.at_high]));
    let sc = Scale::over(&values, label_w + 40.0, w - 50.0);
    let label = match req.language {
        Language::En => "sensitivity of the lift to each change",
        Language::ZhCn => "提升对每个变化的敏感度",
    };
    let mut s = svg_open(w, h, label);
    let axis_y = top + rows.len() as f64 * row_h + 4.0;
    axis(&mut s, &sc, axis_y, top);
    let mid = sc.x(f.relative_likely);
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h + row_h / 2.0;
        let (a, b) = (r.at_low.min(r.at_high), r.at_low.max(r.at_high));
        let range = req.model.changes.iter().find(|c| c.node == r.node).map_or(String::new(), |c| {
            format!(": {} / {} / {}", fmt_pct(c.low, 1), fmt_pct(c.likely, 1), fmt_pct(c.high, 1))
        });
        let name = esc(&r.node);
        let _ = write!(
            s,
            "<g><title>{name}{range} → {} … {}</title>\
             <text x=\"{label_w}\" y=\"{}\" text-anchor=\"end\">{name}</text>\
             <rect x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"18\" fill=\"#c9d3de\"/>\
             <rect x=\"{mid:.1}\" y=\"{}\" width=\"{:.1}\" height=\"18\" fill=\"#2563a8\" opacity=\"0.55\"/>\
             <text x=\"{:.1}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <text x=\"{:.1}\" y=\"{}\" text-anchor=\"start\">{}</text></g>",
            fmt_pct(r.at_low, 2),
            fmt_pct(r.at_high, 2),
            y + 4.0,
            sc.x(a),
            y - 9.0,
            (mid - sc.x(a)).max(1.0),
            y - 9.0,
            (sc.x(b) - mid).max(1.0),
            sc.x(a) - 4.0,
            y + 4.0,
            fmt_pct(a, 1),
            sc.x(b) + 4.0,
            y + 4.0,
            fmt_pct(b, 1)
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{mid:.1}\" x2=\"{mid:.1}\" y1=\"{}\" y2=\"{axis_y}\" stroke=\"#1f2933\" stroke-width=\"1\"/></svg>",
        top - 2.0
    );
    s
}

/// One month of [`cumulative_gain`]: the gain since launch at each reported quantile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GainPoint {
    pub month: u32,
    pub day: f64,
    /// `[p, gain]` for each quantile of the report.
    pub quantiles: Vec<[f64; 2]>,
}

/// The cumulative absolute gain at the end of each month since launch, at each quantile of the
/// lift. The lift is one unknown number, so its uncertainty does not average out over time: the
/// gain after `t` days is `t · per_day`, and its p-quantile `t · q_p(per_day)`.
pub fn cumulative_gain(req: &ForecastRequest, report: &ForecastReport, months: u32) -> Result<Vec<GainPoint>> {
    if !(1..=MAX_MONTHS).contains(&months) {
        return Err(Error::invalid("months", format!("{months} is not a whole number of months in 1..={MAX_MONTHS}")));
    }
    let period = if req.model.period_days > 0.0 { req.model.period_days } else { DEFAULT_PERIOD_DAYS };
    let per_day = report.forecast.baseline / period;
    Ok((0..=months)
        .map(|m| {
            let day = f64::from(m) * text::DAYS_PER_MONTH;
            let quantiles = report.forecast.quantiles.iter().map(|q| [q[0], q[1] * per_day * day]).collect();
            GainPoint { month: m, day, quantiles }
        })
        .collect())
}

/// The cumulative gain over `months` since launch: the median line and the 50/80/90/95% bands.
pub fn gain_svg(req: &ForecastRequest, report: &ForecastReport, months: u32, width: u32) -> Result<String> {
    let points = cumulative_gain(req, report, months)?;
    let lang = req.language;
    let last = points.last().map(|p| p.quantiles.clone()).unwrap_or_default();
    let q = |p: f64| last.iter().find(|x| (x[0] - p).abs() < 1e-9).map(|x| x[1]);
    let w = width_of(width);
    let (h, left, right, top, bottom) = (300.0, 70.0, (w * 0.25).clamp(80.0, 150.0), 34.0, 44.0);
    let days = f64::from(months) * text::DAYS_PER_MONTH;
    let all: Vec<f64> = last.iter().map(|x| x[1]).collect();
    let mut lo = all.iter().copied().fold(0.0, f64::min);
    let mut hi = all.iter().copied().fold(0.0, f64::max);
    let pad = if hi > lo { (hi - lo) * 0.06 } else { 1.0 };
    if lo < 0.0 {
        lo -= pad;
    }
    hi += pad;
    let (pw, ph) = (w - left - right, h - top - bottom);
    let x = |d: f64| left + d / days * pw;
    let y = |v: f64| top + (hi - v) / (hi - lo) * ph;
    let unit = report.forecast.unit.as_deref().or(req.model.unit.as_deref());
    let (title, axis_name, median, label) = match lang {
        Language::En => (
            format!("projected cumulative gain since launch ({})", esc(unit.unwrap_or("topline units"))),
            "months since launch",
            "median",
            "cumulative gain since launch",
        ),
        Language::ZhCn => (
            format!("上线以来预计累计增益（{}）", esc(unit.unwrap_or("顶层指标单位"))),
            "上线后月数",
            "中位数",
            "上线以来累计增益",
        ),
    };
    let mut s = svg_open(w, h, label);
    let _ = write!(s, "<text x=\"{left}\" y=\"18\" font-weight=\"600\">{title}</text>");
    let (ticks, _) = nice_ticks(lo, hi, 5);
    for t in ticks {
        let _ = write!(
            s,
            "<line x1=\"{left}\" y1=\"{yt:.1}\" x2=\"{:.1}\" y2=\"{yt:.1}\" stroke=\"#eee\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#666\">{}</text>",
            left + pw,
            left - 6.0,
            y(t) + 4.0,
            fmt_value(t),
            yt = y(t)
        );
    }
    let step = if months <= 12 { 1 } else { (months / 12).max(1) };
    for m in (0..=months).step_by(step as usize) {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\">{m}</text>",
            x(f64::from(m) * text::DAYS_PER_MONTH),
            h - bottom + 16.0
        );
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\">{axis_name}</text>",
        left + pw / 2.0,
        h - 8.0
    );
    let opacity = [0.15, 0.22, 0.30, 0.45];
    for (&(level, plo, phi), op) in BANDS.iter().zip(opacity) {
        let (Some(a), Some(b)) = (q(plo), q(phi)) else { continue };
        let _ = write!(
            s,
            "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"#1565c0\" fill-opacity=\"{op}\">\
             <title>{}: {} … {}</title></polygon>",
            x(0.0),
            y(0.0),
            x(days),
            y(b),
            x(days),
            y(a),
            fmt_share(level),
            fmt_amount(a, unit, true),
            fmt_amount(b, unit, true)
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{y0:.1}\" x2=\"{:.1}\" y2=\"{y0:.1}\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>",
        left + pw,
        y0 = y(0.0)
    );
    let lx = left + pw + 8.0;
    if let Some(m) = q(0.5) {
        let _ = write!(
            s,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#0d47a1\" stroke-width=\"2\"/>\
             <text x=\"{lx}\" y=\"{:.1}\" fill=\"#0d47a1\" font-weight=\"600\">{median} {}</text>",
            x(0.0),
            y(0.0),
            x(days),
            y(m),
            y(m) + 4.0,
            text::fmt_signed(m)
        );
    }
    // each band's bounds at the right edge, where they do not run into another label
    let mut used: Vec<f64> = q(0.5).map(y).into_iter().collect();
    for &(level, plo, phi) in &BANDS {
        for v in [q(plo), q(phi)].into_iter().flatten() {
            let yy = y(v);
            if used.iter().all(|u| (yy - u).abs() >= 13.0) {
                used.push(yy);
                let _ = write!(
                    s,
                    "<text x=\"{lx}\" y=\"{:.1}\" fill=\"#555\">{}: {}</text>",
                    yy + 4.0,
                    fmt_share(level),
                    text::fmt_signed(v)
                );
            }
        }
    }
    let _ = write!(
        s,
        "<rect x=\"{left}\" y=\"{top}\" width=\"{pw:.1}\" height=\"{ph}\" fill=\"none\" stroke=\"#ccc\"/></svg>"
    );
    Ok(s)
}

/// The start of a two-column table with a title.
fn table_head(title: &str) -> String {
    format!("<table><thead><tr><th colspan='2' style='text-align:left'>{}</th></tr></thead><tbody>", esc(title))
}

/// A two-column table with a title.
fn table(title: &str, rows: &[(String, String)]) -> String {
    table_head(title) + &table_rows(rows)
}

/// The rows of a two-column table, and its end.
fn table_rows(rows: &[(String, String)]) -> String {
    let mut s = String::new();
    for (k, v) in rows {
        let _ = write!(
            s,
            "<tr><td style='text-align:left'>{}</td><td style='text-align:right'>{}</td></tr>",
            esc(k),
            esc(v)
        );
    }
    s.push_str("</tbody></table>");
    s
}

/// The words of the notebook's tables.
struct Words {
    projection: &'static str,
    topline_now: &'static str,
    relative: &'static str,
    median: &'static str,
    delta: &'static str,
    likely: &'static str,
    absolute: &'static str,
    most_sensitive: &'static str,
    draws_seed: &'static str,
    note: &'static str,
}

const EN: Words = Words {
    projection: "Projection",
    topline_now: "topline now",
    relative: "relative lift (Monte Carlo mean, {} interval)",
    median: "… median of the simulated lifts",
    delta: "… delta method",
    likely: "… at the likely changes",
    absolute: "absolute gain",
    most_sensitive: "most sensitive to",
    draws_seed: "draws / seed",
    note: "note",
};

const ZH: Words = Words {
    projection: "预测",
    topline_now: "当前顶层指标",
    relative: "相对提升（蒙特卡洛均值，{} 区间）",
    median: "… 模拟提升的中位数",
    delta: "… delta 法",
    likely: "… 各变化取最可能值",
    absolute: "绝对增益",
    most_sensitive: "最敏感的节点",
    draws_seed: "模拟次数 / 随机种子",
    note: "注",
};

fn pct_iv(iv: Interval, lang: Language) -> String {
    let to = if lang == Language::En { "to" } else { "至" };
    format!("{} ({} {to} {})", fmt_pct(iv.estimate, 2), fmt_pct(iv.low, 2), fmt_pct(iv.high, 2))
}

/// The tables of the notebook display: the projection, the test plan and the realism from history.
fn tables(report: &ForecastReport, lang: Language) -> String {
    let w = if lang == Language::En { &EN } else { &ZH };
    let (f, set) = (&report.forecast, &report.settings);
    let unit = f.unit.as_deref();
    let to = if lang == Language::En { "to" } else { "至" };
    let level = format!("{:.0}%", f.confidence_level * 100.0);
    let mut proj = vec![
        (
            format!("{} ({})", w.topline_now, text::per_period(lang, set.period_days)),
            fmt_amount(f.baseline, unit, false),
        ),
        (fill(w.relative, &[&level]), pct_iv(f.relative, lang)),
        (w.median.into(), fmt_pct(f.median, 2)),
        (w.delta.into(), pct_iv(f.relative_delta, lang)),
        (w.likely.into(), fmt_pct(f.relative_likely, 2)),
    ];
    for p in &f.periods {
        let iv = p.lift;
        proj.push((
            format!("{} {}", w.absolute, p.label),
            format!(
                "{} ({} {to} {})",
                fmt_amount(iv.estimate, unit, true),
                fmt_amount(iv.low, unit, true),
                fmt_amount(iv.high, unit, true)
            ),
        ));
    }
    proj.push((w.most_sensitive.into(), f.most_sensitive.clone().unwrap_or_else(|| "–".into())));
    proj.push((w.draws_seed.into(), format!("{} / {}", fmt_count(f.draws as u64), f.seed)));
    let mut out = vec![table(w.projection, &proj)];
    // the plan's notes below its facts (the page lists them under the plans, the CLI has them in
    // the paragraph)
    let notes: Vec<(String, String)> =
        report.plan.iter().flat_map(|p| &p.notes).map(|n| (w.note.to_string(), n.clone())).collect();
    let d = &report.display;
    out.push(panel_table(&d.plan, &notes));
    out.extend(d.topline.iter().map(|p| panel_table(p, &[])));
    out.push(panel_table(&d.chance, &[]));
    format!("<div style='display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start'>{}</div>", out.join(""))
}

/// A panel of the display as a table: its lead, its facts (the note after the value, smaller),
/// or why it has none; then `rows`.
fn panel_table(p: &Panel, rows: &[(String, String)]) -> String {
    let mut s = table_head(&p.title);
    for line in p.lead.iter().chain(&p.empty) {
        let _ = write!(s, "<tr><td colspan='2' style='text-align:left;color:#555'>{}</td></tr>", esc(line));
    }
    for f in &p.facts {
        let note = f.note.as_deref().map_or(String::new(), |n| format!(" <small>{}</small>", esc(n)));
        let colour = if f.warn { "color:#b45309;" } else { "" };
        let _ = write!(
            s,
            "<tr data-field='{}'><td style='text-align:left'>{}</td><td style='text-align:right;{colour}'>{}{note}</td></tr>",
            esc(&f.field),
            esc(&f.label),
            esc(&f.value)
        );
    }
    s.push_str(&table_rows(rows));
    s
}

/// The notebook display: the tables, the formula and the three charts with their notes.
pub fn render_html(req: &ForecastRequest, report: &ForecastReport) -> Result<String> {
    let lang = req.language;
    let c = charts(req, report, DEFAULT_WIDTH)?;
    let note = |t: &str| format!("<p style='max-width:{DEFAULT_WIDTH}px;color:#555;font-size:90%'>{}</p>", esc(t));
    Ok(format!(
        "<div class='liftlab-forecast'>{}<p style='max-width:60em'>{}<code>{}</code></p>\
         <div style='display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start'><div>{}{}</div><div>{}{}</div><div>{}</div></div></div>",
        tables(report, lang),
        esc(text::formula_label(lang)),
        esc(&report.forecast.formula),
        c.lift,
        note(&c.lift_note),
        c.tornado,
        note(&c.tornado_note),
        c.gain
    ))
}

/// [`render_html`] as a page of its own (`liftlab forecast --html`).
pub fn render_page(req: &ForecastRequest, report: &ForecastReport) -> Result<String> {
    let title = match req.language {
        Language::En => "liftlab forecast",
        Language::ZhCn => "liftlab 预测",
    };
    Ok(format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:system-ui,sans-serif\">{}</body></html>\n",
        req.language.code(),
        render_html(req, report)?
    ))
}

/// What `liftlab forecast` prints: the headline with its interval and median, the absolute lift
/// over each period, then the PRD paragraph (formula, test plan, chance of success), in the
/// request's language.
pub fn render_text(report: &ForecastReport) -> String {
    format!(
        "{}\n\n{}\n\n{}\n",
        text::summary(report.settings.language, &report.forecast),
        display_text(&report.display, report.settings.language),
        report.prd_paragraph
    )
}

/// A forecast set against what the experiment observed, on the reached scale: a table and a
/// chart of both intervals (the Python `Reconciliation`'s display).
pub fn reconciliation_html(
    metric: &str,
    variant: Option<&str>,
    confidence_level: f64,
    observed: &Observed,
    rec: &Reconciliation,
) -> String {
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    let obs_iv = match (observed.low, observed.high) {
        (Some(a), Some(b)) => format!(" ({} to {})", fmt_pct(a, 2), fmt_pct(b, 2)),
        _ => String::new(),
    };
    let what = match variant {
        Some(v) => format!("{metric} · {v}"),
        None => metric.to_string(),
    };
    let rows = vec![
        (
            format!("forecast ({:.0}% interval)", confidence_level * 100.0),
            format!(
                "{} ({} to {})",
                fmt_pct(rec.forecast, 2),
                fmt_pct(rec.forecast_low, 2),
                fmt_pct(rec.forecast_high, 2)
            ),
        ),
        ("observed".to_string(), format!("{}{obs_iv}", fmt_pct(rec.observed, 2))),
        ("error (forecast − observed)".into(), fmt_pct(rec.error, 2)),
        ("observed inside the forecast interval".into(), yes(rec.covered)),
        ("direction right".into(), yes(rec.direction_hit)),
        ("shipped as a significant win".into(), yes(observed.significant_win)),
    ];
    // the chart: both intervals on one axis
    let mut vals = vec![0.0, rec.forecast_low, rec.forecast_high, rec.observed];
    vals.extend([observed.low, observed.high].into_iter().flatten());
    let sc = Scale::over(&vals, 90.0, 500.0);
    let mut s = svg_open(520.0, 96.0, "Forecast against the observed lift");
    if sc.lo < 0.0 && sc.hi > 0.0 {
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"8\" x2=\"{x:.1}\" y2=\"72\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>",
            x = sc.x(0.0)
        );
    }
    let lines = [
        ("forecast", rec.forecast, Some(rec.forecast_low), Some(rec.forecast_high), "#1565c0"),
        ("observed", rec.observed, observed.low, observed.high, "#222"),
    ];
    for (i, (name, est, a, b, colour)) in lines.into_iter().enumerate() {
        let y = 24.0 + 30.0 * i as f64;
        let _ = write!(s, "<text x=\"4\" y=\"{}\">{name}</text>", y + 4.0);
        if let (Some(a), Some(b)) = (a, b) {
            let _ = write!(
                s,
                "<line x1=\"{:.1}\" y1=\"{y}\" x2=\"{:.1}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"/>",
                sc.x(a),
                sc.x(b)
            );
        }
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{}\" width=\"8\" height=\"8\" fill=\"{colour}\"><title>{name} {}</title></rect>",
            sc.x(est) - 4.0,
            y - 4.0,
            fmt_pct(est, 2)
        );
    }
    let (ticks, digits) = nice_ticks(sc.lo, sc.hi, 4);
    for t in ticks {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"90\" text-anchor=\"middle\" fill=\"#666\">{}</text>",
            sc.x(t),
            fmt_pct(t, digits)
        );
    }
    s.push_str("</svg>");
    format!("<div>{}{s}</div>", table(&format!("Forecast vs observed: {what}"), &rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::{forecast_impact, Change, ForecastInput, Node, NodeKind};

    fn request(lang: Language) -> ForecastRequest {
        let node = |name: &str, kind, baseline| Node { name: name.into(), kind, baseline, std_dev: None };
        ForecastRequest {
            model: ForecastInput {
                nodes: vec![node("a<b>", NodeKind::Count, 1000.0), node("answered", NodeKind::Rate, 0.3)],
                changes: vec![Change { node: "answered".into(), low: 0.0, likely: 0.05, high: 0.1 }],
                reach: 0.5,
                dilution: 0.0,
                period_days: 1.0,
                draws: 10_000,
                seed: 1,
                confidence_level: 0.9,
                unit: Some("CNY".into()),
            },
            plan: Some(Default::default()),
            history: None,
            language: lang,
        }
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(-0.012, 0.05, 4), (vec![0.0, 0.02, 0.04], 0));
        let (t, d) = nice_ticks(-0.012, 0.05, 8);
        let hundredths: Vec<i64> = t.iter().map(|x| (x * 100.0).round() as i64).collect();
        assert_eq!((hundredths, d), (vec![-1, 0, 1, 2, 3, 4, 5], 0));
        assert!(t.iter().zip(-1..).all(|(x, k)| (x - k as f64 / 100.0).abs() < 1e-15));
        let (t, d) = nice_ticks(0.0, 0.012, 5);
        assert_eq!(d, 2, "0.0025 is 0.25%: two decimals");
        assert!((t[1] - 0.0025).abs() < 1e-12, "{t:?}");
    }

    #[test]
    fn charts_show_the_reports_numbers_and_escape_names() {
        for lang in Language::ALL {
            let req = request(lang);
            let report = forecast_impact(&req).unwrap();
            let c = charts(&req, &report, 400).unwrap();
            let r = report.forecast.relative;
            assert!(c.lift.contains(&format!(">{}</text>", fmt_pct(r.low, 2))), "{}", c.lift);
            assert!(c.lift.contains("width=\"400\""));
            assert_eq!(c.tornado.matches("<rect").count(), 2);
            assert!(c.gain.contains("CNY"));
            let html = render_html(&req, &report).unwrap();
            assert_eq!(html.matches("<svg").count(), 3);
            let c = charts(&req, &report, DEFAULT_WIDTH).unwrap();
            assert!(html.contains(&c.lift) && html.contains(&c.tornado) && html.contains(&c.gain));
            assert!(!html.contains("a<b>") && html.contains("a&lt;b&gt;"));
            assert!(c.lift_note.contains("10,000") && c.lift_note.contains("90%"));
        }
        let req = request(Language::ZhCn);
        let report = forecast_impact(&req).unwrap();
        assert!(render_html(&req, &report).unwrap().contains("在“answered”上实验"));
        assert!(render_text(&report).starts_with("预计提升"));
    }

    #[test]
    fn cumulative_gain_is_the_per_day_lift_times_days() {
        let req = request(Language::En);
        let report = forecast_impact(&req).unwrap();
        let g = cumulative_gain(&req, &report, 12).unwrap();
        assert_eq!(g.len(), 13);
        let year = &g[12];
        let q = |p: f64| year.quantiles.iter().find(|x| x[0] == p).unwrap()[1];
        let per_year = report.forecast.per_year;
        // the 90% interval's ends are the 5% and 95% quantiles
        assert!((q(0.05) - per_year.low).abs() <= 1e-9 * per_year.low.abs());
        assert!((q(0.95) - per_year.high).abs() <= 1e-9 * per_year.high.abs());
        assert_eq!(cumulative_gain(&req, &report, 0).unwrap_err().field(), Some("months"));
        assert_eq!(check_width(100, "chart_width").unwrap_err().field(), Some("chart_width"));
    }
}
