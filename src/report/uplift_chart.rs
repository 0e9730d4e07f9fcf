//! The uplift charts, rendered once for every face: the Qini and uplift curves of one or more
//! rankings ([`uplift_chart`]) and a contact plan's profit curve ([`profit_curve_svg`]), as
//! self-contained SVG (no scripts, no external assets), as [`super::render`] draws the analysis
//! report's charts. Python shows them inline in notebooks (`liftlab.uplift.qini_plot`,
//! `ContactPlan._repr_html_`).
//!
//! A Qini / uplift chart draws each ranking's curve (sklift's `qini_curve` / `uplift_curve`),
//! the random-targeting line (a straight line from `(0, 0)` to the first curve's last point,
//! which does not depend on the ranking) and, for a binary outcome when asked, the perfect curve
//! dotted. A curve with more than `max_points` points is drawn through `max_points` of them,
//! evenly spaced along the ranking, keeping the first and the last (the drawing only; the curves
//! returned keep every point).

use std::fmt::Write;

use crate::error::{Error, Result};
use crate::uplift::metrics::{perfect_qini_curve, perfect_uplift_curve, qini_curve, uplift_curve, Curve};

/// Which curve a chart draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CurveKind {
    /// `Q(n) = y_t − y_c · n_t/n_c`.
    Qini,
    /// `U(n) = (y_t/n_t − y_c/n_c) · n`.
    Uplift,
}

/// How to draw: the perfect curve (binary outcomes only), sklift's `negative_effect` for the
/// perfect Qini curve, and the most points drawn per curve (at least 2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChartOptions {
    pub perfect: bool,
    pub negative_effect: bool,
    pub max_points: usize,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions { perfect: true, negative_effect: true, max_points: 400 }
    }
}

/// A drawn chart: its curves by name (the rankings in order, then `random` and, when drawn,
/// `perfect`), the data ranges of its axes and the SVG.
#[derive(Clone, Debug, PartialEq)]
pub struct UpliftChart {
    pub kind: CurveKind,
    pub curves: Vec<(String, Curve)>,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub svg: String,
}

/// The names a chart gives its reference curves; a ranking may not take them.
pub const REFERENCE_CURVES: [&str; 2] = ["random", "perfect"];

const PALETTE: [&str; 8] = ["#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#ad1457"];
const RANDOM: &str = "#888888";
const PERFECT: &str = "#455a64";
const W: f64 = 560.0;
const H: f64 = 360.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 50.0;

/// The Qini or uplift chart of each ranking in `scores` (name, predicted uplift per unit) of
/// outcome `outcome` with treatment flags `treatment` (0/1). Errors: the curves' (naming
/// `outcome`, `scores[k]`'s `scores`, `treatment`), `names` when two rankings share a name or one
/// takes a reference curve's, `max_points` below 2.
pub fn uplift_chart(
    kind: CurveKind,
    outcome: &[f64],
    treatment: &[u8],
    scores: &[(String, &[f64])],
    options: &ChartOptions,
) -> Result<UpliftChart> {
    if options.max_points < 2 {
        return Err(Error::invalid("max_points", format!("must be at least 2, got {}", options.max_points)));
    }
    if scores.is_empty() {
        return Err(Error::invalid("scores", "no ranking to draw"));
    }
    for (k, (name, _)) in scores.iter().enumerate() {
        if REFERENCE_CURVES.contains(&name.as_str()) || scores[..k].iter().any(|(n, _)| n == name) {
            return Err(Error::invalid(
                "names",
                format!("'{name}' is used twice; names must differ from each other and from 'random' / 'perfect'"),
            ));
        }
    }
    let mut curves = Vec::with_capacity(scores.len() + 2);
    for (name, s) in scores {
        let c = match kind {
            CurveKind::Qini => qini_curve(outcome, s, treatment)?,
            CurveKind::Uplift => uplift_curve(outcome, s, treatment)?,
        };
        curves.push((name.clone(), c));
    }
    let first = &curves[0].1;
    let (n_all, end) = (*first.n_targeted.last().unwrap_or(&0.0), *first.value.last().unwrap_or(&0.0));
    curves.push(("random".into(), Curve { n_targeted: vec![0.0, n_all], value: vec![0.0, end] }));
    if options.perfect && outcome.iter().all(|&y| y == 0.0 || y == 1.0) {
        let perfect = match kind {
            CurveKind::Qini => perfect_qini_curve(outcome, treatment, options.negative_effect)?,
            CurveKind::Uplift => perfect_uplift_curve(outcome, treatment)?,
        };
        curves.push(("perfect".into(), perfect));
    }
    let all = |f: fn(&Curve) -> &Vec<f64>| curves.iter().flat_map(move |(_, c)| f(c).iter().copied());
    let x_max = all(|c| &c.n_targeted).fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = all(|c| &c.value).fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 1.0 };
    let x_range = (0.0, if x_max > 0.0 { x_max } else { 1.0 });
    let y_range = (lo - if lo < 0.0 { pad } else { 0.0 }, hi + pad);
    let mut chart = UpliftChart { kind, curves, x_range, y_range, svg: String::new() };
    chart.svg = chart.draw(options.max_points);
    Ok(chart)
}

impl UpliftChart {
    /// SVG coordinates of the data point `(n_targeted, value)`.
    pub fn scale(&self, n_targeted: f64, value: f64) -> (f64, f64) {
        let ((x0, x1), (y0, y1)) = (self.x_range, self.y_range);
        let px = LEFT + (n_targeted - x0) / (x1 - x0) * (W - LEFT - RIGHT);
        let py = TOP + (y1 - value) / (y1 - y0) * (H - TOP - BOTTOM);
        (px, py)
    }

    fn path(
        &self,
        curve: &Curve,
        colour: &str,
        name: &str,
        dash: Option<&str>,
        width: f64,
        max_points: usize,
    ) -> String {
        let n = curve.n_targeted.len();
        let idx: Vec<usize> = if n <= max_points {
            (0..n).collect()
        } else {
            let step = (n - 1) as f64 / (max_points - 1) as f64;
            let mut v: Vec<usize> = (0..max_points).map(|k| (k as f64 * step).round_ties_even() as usize).collect();
            v.dedup();
            v
        };
        let pts: Vec<String> = idx
            .iter()
            .map(|&i| {
                let (px, py) = self.scale(curve.n_targeted[i], curve.value[i]);
                format!("{px:.2},{py:.2}")
            })
            .collect();
        let dash = dash.map_or(String::new(), |d| format!(" stroke-dasharray=\"{d}\""));
        let name = esc(name);
        format!(
            "<path d=\"M{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width}\"{dash} data-curve=\"{name}\"><title>{name}</title></path>",
            pts.join(" L")
        )
    }

    fn draw(&self, max_points: usize) -> String {
        let (title, y_label) = match self.kind {
            CurveKind::Qini => ("Qini curve", "incremental outcomes (Qini: y_t − y_c·n_t/n_c)"),
            CurveKind::Uplift => ("Uplift curve", "incremental outcomes ((ȳ_t − ȳ_c)·n)"),
        };
        let (x0p, y_top, x1p, y_bot) = (LEFT, TOP, W - RIGHT, H - BOTTOM);
        let mut out = String::new();
        let _ = write!(out, "<text x=\"{x0p}\" y=\"18\" font-weight=\"600\" font-size=\"12\">{title}</text>");
        for v in nice_ticks(self.y_range.0, self.y_range.1) {
            let (_, py) = self.scale(0.0, v);
            let _ = write!(
                out,
                "<line x1=\"{x0p}\" y1=\"{py:.2}\" x2=\"{x1p}\" y2=\"{py:.2}\" stroke=\"#eee\"/>\
<text x=\"{}\" y=\"{:.2}\" text-anchor=\"end\" fill=\"#666\">{}</text>",
                x0p - 6.0,
                py + 4.0,
                tick_label(v)
            );
        }
        for v in nice_ticks(self.x_range.0, self.x_range.1) {
            let (px, _) = self.scale(v, 0.0);
            let _ = write!(
                out,
                "<line x1=\"{px:.2}\" y1=\"{y_bot}\" x2=\"{px:.2}\" y2=\"{}\" stroke=\"#666\"/>\
<text x=\"{px:.2}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\">{}</text>",
                y_bot + 4.0,
                y_bot + 16.0,
                tick_label(v)
            );
        }
        let _ = write!(
            out,
            "<line x1=\"{x0p}\" y1=\"{y_top}\" x2=\"{x0p}\" y2=\"{y_bot}\" stroke=\"#666\"/>\
<line x1=\"{x0p}\" y1=\"{y_bot}\" x2=\"{x1p}\" y2=\"{y_bot}\" stroke=\"#666\"/>"
        );
        if self.y_range.0 < 0.0 {
            let (_, pz) = self.scale(0.0, 0.0);
            let _ = write!(out, "<line x1=\"{x0p}\" y1=\"{pz:.2}\" x2=\"{x1p}\" y2=\"{pz:.2}\" stroke=\"#bbb\"/>");
        }
        let _ = write!(
            out,
            "<text x=\"{:.2}\" y=\"{}\" text-anchor=\"middle\">units targeted (ranked by predicted uplift)</text>\
<text transform=\"translate(14 {:.2}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            (x0p + x1p) / 2.0,
            H - 12.0,
            (y_top + y_bot) / 2.0,
            esc(y_label)
        );
        // references first, so the rankings draw on top
        let find = |n: &str| self.curves.iter().find(|(name, _)| name == n).map(|(_, c)| c);
        let mut legend: Vec<(&str, &str, Option<&str>)> = Vec::new();
        if let Some(c) = find("perfect") {
            out.push_str(&self.path(c, PERFECT, "perfect", Some("2 3"), 1.5, max_points));
        }
        if let Some(c) = find("random") {
            out.push_str(&self.path(c, RANDOM, "random", Some("6 4"), 1.5, max_points));
        }
        let models = self.curves.iter().filter(|(n, _)| !REFERENCE_CURVES.contains(&n.as_str()));
        for (i, (name, c)) in models.enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            out.push_str(&self.path(c, colour, name, None, 2.0, max_points));
            legend.push((name, colour, None));
        }
        legend.push(("random", RANDOM, Some("6 4")));
        if find("perfect").is_some() {
            legend.push(("perfect", PERFECT, Some("2 3")));
        }
        // the legend below the plot, in rows, so that it never hides a curve
        let (mut x, mut row) = (x0p, 0usize);
        let legend_top = H + 6.0;
        for (name, colour, dash) in legend {
            let width = 34.0 + 6.5 * name.chars().count() as f64;
            if x > x0p && x + width > x1p {
                x = x0p;
                row += 1;
            }
            let yy = legend_top + 16.0 * row as f64;
            let dash = dash.map_or(String::new(), |d| format!(" stroke-dasharray=\"{d}\""));
            let _ = write!(
                out,
                "<line x1=\"{x}\" y1=\"{yy}\" x2=\"{}\" y2=\"{yy}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\
<text x=\"{}\" y=\"{}\">{}</text>",
                x + 24.0,
                x + 30.0,
                yy + 4.0,
                esc(name)
            );
            x += width + 14.0;
        }
        let height = legend_top + 16.0 * (row + 1) as f64;
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {height}\" width=\"{W}\" height=\"{height}\" \
role=\"img\" aria-label=\"{title}\" font-family=\"system-ui, sans-serif\" font-size=\"11\">{out}</svg>"
        )
    }
}

/// A contact plan's profit curve: cumulative expected net gain `gain[i]` after `n[i]` contacts
/// along the priority order, the plan's point (`plan_n` contacts) and the peak (`peak_n`) marked.
pub fn profit_curve_svg(n: &[usize], gain: &[f64], plan_n: usize, peak_n: usize) -> String {
    let (w, h) = (420.0, 220.0);
    let (pad_l, pad_r, pad_t, pad_b) = (56.0, 12.0, 12.0, 30.0);
    let len = n.len().min(gain.len());
    if len == 0 {
        return String::new();
    }
    let step = (len / 400).max(1);
    let mut keep: Vec<usize> =
        (0..len).step_by(step).chain([len - 1, plan_n.min(len - 1), peak_n.min(len - 1)]).collect();
    keep.sort_unstable();
    keep.dedup();
    let x_max = n[len - 1].max(1) as f64;
    let lo = gain[..len].iter().copied().fold(0.0f64, f64::min);
    let mut hi = gain[..len].iter().copied().fold(0.0f64, f64::max);
    if hi - lo <= 0.0 {
        hi = lo + 1.0;
    }
    let x = |v: f64| pad_l + (w - pad_l - pad_r) * v / x_max;
    let y = |v: f64| pad_t + (h - pad_t - pad_b) * (hi - v) / (hi - lo);
    let pts: Vec<String> = keep.iter().map(|&i| format!("{:.1},{:.1}", x(n[i] as f64), y(gain[i]))).collect();
    let (plan_n, peak_n) = (plan_n.min(len - 1), peak_n.min(len - 1));
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" \
aria-label=\"profit curve\" font-family=\"system-ui, sans-serif\" font-size=\"11\">"
    );
    let _ = write!(
        s,
        "<line x1=\"{pad_l}\" y1=\"{y0:.1}\" x2=\"{xr}\" y2=\"{y0:.1}\" stroke=\"#999\" stroke-dasharray=\"3,3\"/>\
<line x1=\"{pad_l}\" y1=\"{pad_t}\" x2=\"{pad_l}\" y2=\"{yb}\" stroke=\"#333\"/>\
<text x=\"{xl}\" y=\"{yhi:.1}\" text-anchor=\"end\">{hi_t}</text>\
<text x=\"{xl}\" y=\"{ylo:.1}\" text-anchor=\"end\">{lo_t}</text>\
<text x=\"{pad_l}\" y=\"{yt}\">0</text>\
<text x=\"{xr}\" y=\"{yt}\" text-anchor=\"end\">{units} units</text>\
<text x=\"{xm:.0}\" y=\"{yt}\" text-anchor=\"middle\">units contacted (priority order)</text>\
<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"{pts}\"/>",
        y0 = y(0.0),
        xr = w - pad_r,
        yb = h - pad_b,
        xl = pad_l - 4.0,
        yhi = y(hi) + 4.0,
        hi_t = short_number(hi),
        ylo = y(lo) + 4.0,
        lo_t = short_number(lo),
        yt = h - 8.0,
        units = thousands(n[len - 1] as f64, 0),
        xm = (pad_l + w) / 2.0,
        pts = pts.join(" "),
    );
    let _ = write!(
        s,
        "<circle class=\"peak\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"none\" stroke=\"#2ca02c\" stroke-width=\"2\">\
<title>peak: {} at {}</title></circle>\
<circle class=\"budget\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"#d62728\"><title>plan: {} at {}</title></circle>\
<text x=\"{}\" y=\"{}\" text-anchor=\"end\"><tspan fill=\"#d62728\">● plan</tspan> <tspan fill=\"#2ca02c\">○ peak</tspan></text></svg>",
        x(n[peak_n] as f64),
        y(gain[peak_n]),
        short_number(gain[peak_n]),
        thousands(peak_n as f64, 0),
        x(n[plan_n] as f64),
        y(gain[plan_n]),
        short_number(gain[plan_n]),
        thousands(plan_n as f64, 0),
        w - pad_r,
        pad_t + 10.0,
    );
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// About five round tick values covering `[lo, hi]` (steps 1, 2, 2.5, 5 times a power of ten).
fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = hi - lo;
    if !span.is_finite() || span <= 0.0 {
        return vec![lo];
    }
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step - 1e-9).ceil() * step;
    let count = ((hi - first) / step + 1e-9).floor() as i64 + 1;
    (0..count.max(0)).map(|k| first + k as f64 * step).collect()
}

/// A tick's label: `0`, millions as `12M`, whole numbers with thousands separators, others with
/// up to ten significant digits (three below one).
fn tick_label(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if a >= 1e7 {
        format!("{}M", general(v / 1e6, 6))
    } else if v.fract() == 0.0 {
        thousands(v, 0)
    } else if a >= 1.0 {
        group(&general(v, 10))
    } else {
        general(v, 3)
    }
}

/// A total for a chart's label: four significant digits below 1,000, whole with separators above.
fn short_number(x: f64) -> String {
    if x.abs() < 1000.0 {
        general(x, 4)
    } else {
        thousands(x, 0)
    }
}

/// `x` with `decimals` decimals and a comma every three digits of its whole part.
fn thousands(x: f64, decimals: usize) -> String {
    group(&format!("{x:.decimals$}"))
}

fn group(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (whole, frac) = rest.split_once('.').map_or((rest, None), |(w, f)| (w, Some(f)));
    let mut out = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// `x` to `sig` significant digits without trailing zeros (C's `%g`).
fn general(x: f64, sig: usize) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let sci = format!("{:.*e}", sig - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= sig as i32 {
        format!("{}e{}{:02}", trim(mantissa), if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        let decimals = (sig as i32 - 1 - exp).max(0) as usize;
        trim(&format!("{x:.decimals$}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_python_formats_them() {
        // Python 3.12: f"{v:g}", f"{v:,.0f}", f"{v:,.10g}", f"{v:.3g}", f"{x:,.4g}"
        assert_eq!(general(2.5, 6), "2.5");
        assert_eq!(general(12.0, 6), "12");
        assert_eq!(general(0.000012345, 3), "1.23e-05");
        assert_eq!(general(0.125, 3), "0.125");
        assert_eq!(tick_label(1234567.0), "1,234,567");
        assert_eq!(tick_label(25_000_000.0), "25M");
        assert_eq!(tick_label(1234.5), "1,234.5");
        assert_eq!(tick_label(-0.05), "-0.05");
        assert_eq!(short_number(12.34567), "12.35");
        assert_eq!(short_number(-123456.7), "-123,457");
        assert_eq!(nice_ticks(0.0, 100.0), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(nice_ticks(-3.0, 10.0), vec![0.0, 5.0, 10.0]); // the Python drawing's _nice_ticks gave the same
    }

    #[test]
    fn a_chart_draws_each_curve_once_ending_at_its_last_point() {
        let y = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let t = [1, 1, 1, 0, 0, 0];
        let s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
        let chart =
            uplift_chart(CurveKind::Qini, &y, &t, &[("score".into(), &s[..])], &ChartOptions::default()).unwrap();
        let names: Vec<&str> = chart.curves.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["score", "random", "perfect"]);
        assert_eq!(chart.svg.matches("<path").count(), 3);
        let (px, py) = chart.scale(6.0, chart.curves[0].1.value[6]);
        assert!(chart.svg.contains(&format!("{px:.2},{py:.2}\" fill=\"none\" stroke=\"#1565c0\"")));
        let e = uplift_chart(CurveKind::Qini, &y, &t, &[("random".into(), &s[..])], &ChartOptions::default());
        assert_eq!(e.unwrap_err().field(), Some("names"));
        let few = ChartOptions { max_points: 1, ..ChartOptions::default() };
        let e = uplift_chart(CurveKind::Uplift, &y, &t, &[("a".into(), &s[..])], &few);
        assert_eq!(e.unwrap_err().field(), Some("max_points"));
    }

    #[test]
    fn the_profit_curve_marks_the_plan_and_the_peak() {
        let svg = profit_curve_svg(&[0, 1, 2, 3], &[0.0, 2.0, 3.0, 2.5], 1, 2);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>peak: 3 at 2</title>") && svg.contains("<title>plan: 2 at 1</title>"));
    }
}
