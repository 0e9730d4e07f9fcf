//! Rendering a [`Report`]: Markdown for CI summaries and pull-request comments, and a
//! self-contained HTML page with SVG charts (a forest plot of relative effects; the cumulative
//! effect over time when exposure times were given). No scripts, no external assets.

use std::fmt::Write;

use super::{EffectReport, GuardrailStatus, MetricReport, Report, TimelinePoint, Verdict};
use crate::stats::effect::MetricKind;

fn pct(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{:+.2}%", v * 100.0))
}

fn num(x: Option<f64>, kind: MetricKind) -> String {
    match (x, kind) {
        (None, _) => "–".into(),
        (Some(v), MetricKind::Binary) => format!("{:.3}%", v * 100.0),
        (Some(v), _) if v.abs() >= 100.0 => format!("{v:.1}"),
        (Some(v), _) => format!("{v:.4}"),
    }
}

fn p_text(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

fn interval(lo: Option<f64>, hi: Option<f64>) -> String {
    let f = |x: Option<f64>, inf: &str| x.map_or(inf.to_string(), |v| format!("{:+.2}%", v * 100.0));
    format!("[{}, {}]", f(lo, "-∞"), f(hi, "+∞"))
}

fn effect_mark(e: &EffectReport) -> &'static str {
    match (e.guardrail, e.verdict.as_deref()) {
        (Some(GuardrailStatus::Fail), _) => "❌ guardrail violated",
        (Some(GuardrailStatus::Pass), _) => "✅ non-inferior",
        (Some(GuardrailStatus::Inconclusive), _) => "… guardrail inconclusive",
        (_, Some("better")) => "🟢 better",
        (_, Some("worse")) => "🔴 worse",
        _ => "⚪ flat",
    }
}

/// The sample-ratio check in one sentence (shown first in every rendering).
fn srm_line(r: &Report) -> String {
    if r.srm.mismatch {
        format!(
            "Sample-ratio mismatch (p = {}): observed {:?}, expected {:?}. The effects below cannot be trusted.",
            p_text(r.srm.p_value),
            r.srm.observed,
            r.srm.expected.iter().map(|e| e.round() as u64).collect::<Vec<_>>()
        )
    } else {
        let mut line = format!("Sample ratio OK (p = {}; units {:?}).", p_text(r.srm.p_value), r.data.exposures);
        if r.data.multiple_exposures > 0 {
            line += &format!(" {} units seen in more than one variant were excluded.", r.data.multiple_exposures);
        }
        if r.data.missing_outcomes > 0 {
            line += &format!(" {} exposed units had no outcome row.", r.data.missing_outcomes);
        }
        line
    }
}

/// The report as Markdown (GitHub-flavoured tables).
pub fn render_markdown(r: &Report) -> String {
    let mut s = String::new();
    let verdict = match (&r.decision.verdict, &r.decision.variant) {
        (Verdict::Ship, Some(v)) => format!("**ship `{v}`**"),
        (v, _) => format!("**{}**", v.as_str()),
    };
    let _ = writeln!(s, "## Experiment `{}`: {verdict}\n", r.experiment);
    if r.srm.mismatch {
        let _ = writeln!(s, "> ⚠️ **{}**\n", srm_line(r));
    } else {
        let _ = writeln!(s, "{}\n", srm_line(r));
    }
    for reason in &r.decision.reasons {
        let _ = writeln!(s, "- {reason}");
    }
    let ci = ((1.0 - r.settings.alpha) * 100.0).round();
    let _ = writeln!(
        s,
        "\n| metric | variant | control | variant value | abs. effect | rel. effect | {ci}% interval (rel.) | p | p adj. | result |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---|---:|---:|---|");
    for m in &r.metrics {
        if let Some(err) = &m.error {
            let _ = writeln!(s, "| {} | – | – | – | – | – | – | – | – | not analysed: {err} |", m.name);
            continue;
        }
        let control = m.arms.first().and_then(|a| a.estimate);
        for e in &m.effects {
            let value = m.arms.iter().find(|a| a.variant == e.variant).and_then(|a| a.estimate);
            let _ = writeln!(
                s,
                "| {}{} | {} | {} | {} | {:+.4} | {} | {} | {} | {} | {} |",
                m.name,
                if m.cuped { " (CUPED)" } else { "" },
                e.variant,
                num(control, m.kind),
                num(value, m.kind),
                e.abs_effect,
                pct(e.rel_effect),
                interval(e.rel_ci_low, e.rel_ci_high),
                p_text(e.p_value),
                e.p_adjusted.map_or("–".into(), p_text),
                effect_mark(e)
            );
        }
    }
    let notes = effect_notes(&r.metrics);
    if !notes.is_empty() {
        let _ = writeln!(s, "\n**Notes**\n");
        for (metric, variant, note) in notes {
            let _ = writeln!(s, "- {metric} · {variant}: {note}");
        }
    }
    let _ = writeln!(
        s,
        "\n<sub>liftlab {} · alpha {} · {} · correction {:?} · intervals {}</sub>",
        r.liftlab_version,
        r.settings.alpha,
        r.settings.alternative.as_str(),
        r.settings.correction,
        match r.settings.sequential {
            crate::spec::SequentialMode::ConfidenceSequence => "always-valid (confidence sequence)",
            crate::spec::SequentialMode::GroupSequential => "group-sequential",
            crate::spec::SequentialMode::Off => "fixed-horizon",
        }
    );
    s
}

/// Every effect's notes (a heavily skewed metric, a log-scale interval, an undefined relative
/// effect, ...), as (metric, variant, note).
fn effect_notes(metrics: &[MetricReport]) -> Vec<(&str, &str, &str)> {
    metrics
        .iter()
        .flat_map(|m| {
            m.effects
                .iter()
                .flat_map(move |e| e.notes.iter().map(move |n| (m.name.as_str(), e.variant.as_str(), n.as_str())))
        })
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A forest plot of relative effects with their intervals, one row per metric × variant.
pub fn forest_plot_svg(metrics: &[MetricReport]) -> String {
    let rows: Vec<(&MetricReport, &EffectReport)> = metrics
        .iter()
        .flat_map(|m| m.effects.iter().map(move |e| (m, e)))
        .filter(|(_, e)| e.rel_effect.is_some())
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let (label_w, plot_w, row_h, top) = (260.0, 420.0, 28.0, 30.0);
    let h = top + row_h * rows.len() as f64 + 30.0;
    // x range symmetric around 0 covering every finite bound
    let mut span: f64 = 0.01;
    for (_, e) in &rows {
        for v in [e.rel_ci_low, e.rel_ci_high, e.rel_effect].into_iter().flatten() {
            span = span.max(v.abs());
        }
    }
    span *= 1.1;
    let x = |v: f64| label_w + (v.clamp(-span, span) + span) / (2.0 * span) * plot_w;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"Forest plot of relative effects\" font-family=\"system-ui, sans-serif\" font-size=\"12\">",
        w = label_w + plot_w + 20.0
    );
    let _ = write!(
        s,
        "<line x1=\"{x0}\" y1=\"{top}\" x2=\"{x0}\" y2=\"{y}\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>",
        x0 = x(0.0),
        y = h - 25.0
    );
    for t in [-1.0, -0.5, 0.5, 1.0] {
        let v = t * span / 1.1;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\">{:+.1}%</text>",
            x(v),
            h - 8.0,
            v * 100.0
        );
    }
    let _ = write!(s, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\">0</text>", x(0.0), h - 8.0);
    let _ = write!(s, "<text x=\"{label_w}\" y=\"18\" font-weight=\"600\">relative effect vs control</text>");
    for (i, (m, e)) in rows.iter().enumerate() {
        let y = top + row_h * (i as f64 + 0.5);
        let colour = match (e.guardrail, e.verdict.as_deref()) {
            (Some(GuardrailStatus::Fail), _) | (_, Some("worse")) => "#c62828",
            (_, Some("better")) | (Some(GuardrailStatus::Pass), _) => "#2e7d32",
            _ => "#455a64",
        };
        let _ = write!(s, "<text x=\"4\" y=\"{}\">{} · {}</text>", y + 4.0, esc(&m.name), esc(&e.variant));
        let lo = e.rel_ci_low.unwrap_or(-span);
        let hi = e.rel_ci_high.unwrap_or(span);
        let _ = write!(
            s,
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"><title>{} {}: {} {}</title></line>",
            x(lo),
            x(hi),
            esc(&m.name),
            esc(&e.variant),
            pct(e.rel_effect),
            interval(e.rel_ci_low, e.rel_ci_high)
        );
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"8\" height=\"8\" fill=\"{colour}\"/>",
            x(e.rel_effect.unwrap_or(0.0)) - 4.0,
            y - 4.0
        );
    }
    s.push_str("</svg>");
    s
}

/// The cumulative relative effect over time of one metric and variant, with its interval band.
pub fn timeline_svg(points: &[&TimelinePoint]) -> String {
    let pts: Vec<(usize, f64, f64, f64)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, p.rel_effect?, p.rel_ci_low?, p.rel_ci_high?)))
        .collect();
    if pts.len() < 2 {
        return String::new();
    }
    let (w, h, left, pad) = (520.0, 180.0, 50.0, 20.0);
    let mut lo = pts.iter().map(|p| p.2).fold(0.0f64, f64::min);
    let mut hi = pts.iter().map(|p| p.3).fold(0.0f64, f64::max);
    if hi - lo < 1e-9 {
        lo -= 0.01;
        hi += 0.01;
    }
    let n = points.len().max(2) - 1;
    let x = |i: usize| left + i as f64 / n as f64 * (w - left - pad);
    let y = |v: f64| pad + (hi - v) / (hi - lo) * (h - 2.0 * pad);
    let mut band = String::new();
    for p in &pts {
        let _ = write!(band, "{:.1},{:.1} ", x(p.0), y(p.3));
    }
    for p in pts.iter().rev() {
        let _ = write!(band, "{:.1},{:.1} ", x(p.0), y(p.2));
    }
    let line: String = pts.iter().map(|p| format!("{:.1},{:.1} ", x(p.0), y(p.1))).collect();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"Cumulative relative effect\" font-family=\"system-ui, sans-serif\" font-size=\"11\">\
<polygon points=\"{band}\" fill=\"#90caf9\" opacity=\"0.5\"/><polyline points=\"{line}\" fill=\"none\" stroke=\"#1565c0\" stroke-width=\"2\"/>\
<line x1=\"{left}\" x2=\"{x1}\" y1=\"{y0}\" y2=\"{y0}\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\
<text x=\"4\" y=\"{yt}\">{hi:+.1}%</text><text x=\"4\" y=\"{yb}\">{lo:+.1}%</text>\
<text x=\"{left}\" y=\"{h2}\">{d0}</text><text x=\"{x1}\" y=\"{h2}\" text-anchor=\"end\">{d1}</text></svg>",
        x1 = w - pad,
        y0 = y(0.0),
        yt = pad + 4.0,
        yb = h - pad,
        hi = hi * 100.0,
        lo = lo * 100.0,
        h2 = h - 4.0,
        d0 = esc(&points[0].date),
        d1 = esc(&points[points.len() - 1].date),
    )
}

/// The report as one self-contained HTML page.
pub fn render_html(r: &Report) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>liftlab · {}</title><style>{}</style></head><body>",
        esc(&r.experiment),
        CSS
    );
    s.push_str(&report_fragment(r));
    s.push_str("</body></html>\n");
    s
}

/// The report as an HTML fragment (the notebook's `_repr_html_` and the page's body).
pub fn report_fragment(r: &Report) -> String {
    let mut s = String::from("<div class=\"liftlab-report\">");
    let verdict_class = match r.decision.verdict {
        Verdict::Ship => "ship",
        Verdict::DoNotShip => "noship",
        Verdict::KeepRunning => "running",
        Verdict::Invalid => "invalid",
    };
    let _ = write!(
        s,
        "<h2>Experiment <code>{}</code> <span class=\"verdict {verdict_class}\">{}{}</span></h2>",
        esc(&r.experiment),
        r.decision.verdict.as_str(),
        r.decision.variant.as_ref().map_or(String::new(), |v| format!(" {}", esc(v)))
    );
    let class = if r.srm.mismatch { "srm bad" } else { "srm" };
    let _ = write!(s, "<p class=\"{class}\">{}{}</p>", if r.srm.mismatch { "⚠️ " } else { "" }, esc(&srm_line(r)));
    s.push_str("<ul>");
    for reason in &r.decision.reasons {
        let _ = write!(s, "<li>{}</li>", esc(reason));
    }
    s.push_str("</ul>");
    s.push_str(&forest_plot_svg(&r.metrics));
    s.push_str(&metrics_table(&r.metrics, r.settings.alpha));
    let notes = effect_notes(&r.metrics);
    if !notes.is_empty() {
        s.push_str("<ul class=\"notes\">");
        for (metric, variant, note) in notes {
            let _ = write!(s, "<li><b>{} · {}</b>: {}</li>", esc(metric), esc(variant), esc(note));
        }
        s.push_str("</ul>");
    }
    if !r.timeline.is_empty() {
        s.push_str("<h3>Cumulative effect over time</h3><div class=\"grid\">");
        let mut keys: Vec<(&str, &str)> = Vec::new();
        for p in &r.timeline {
            if !keys.contains(&(p.metric.as_str(), p.variant.as_str())) {
                keys.push((p.metric.as_str(), p.variant.as_str()));
            }
        }
        for (m, v) in keys {
            let pts: Vec<&TimelinePoint> = r.timeline.iter().filter(|p| p.metric == m && p.variant == v).collect();
            let _ =
                write!(s, "<figure><figcaption>{} · {}</figcaption>{}</figure>", esc(m), esc(v), timeline_svg(&pts));
        }
        s.push_str("</div>");
    }
    if !r.segments.is_empty() {
        s.push_str("<h3>Segments</h3>");
        for seg in &r.segments {
            let _ = write!(s, "<h4>{} = {}</h4>", esc(&seg.column), esc(&seg.value));
            s.push_str(&metrics_table(&seg.metrics, r.settings.alpha));
        }
    }
    let _ = write!(
        s,
        "<p class=\"foot\">liftlab {} · report schema {} · alpha {} · {} · correction {:?}</p></div>",
        esc(&r.liftlab_version),
        r.schema_version,
        r.settings.alpha,
        r.settings.alternative.as_str(),
        r.settings.correction
    );
    s
}

fn metrics_table(metrics: &[MetricReport], alpha: f64) -> String {
    let mut s = format!(
        "<table><thead><tr><th>metric</th><th>variant</th><th>control</th><th>variant</th><th>abs. effect</th><th>rel. effect</th><th>{}% interval</th><th>p</th><th>p adj.</th><th>chance to win</th><th>result</th></tr></thead><tbody>",
        ((1.0 - alpha) * 100.0).round()
    );
    for m in metrics {
        if let Some(err) = &m.error {
            let _ = write!(s, "<tr><td>{}</td><td colspan=\"10\">not analysed: {}</td></tr>", esc(&m.name), esc(err));
            continue;
        }
        let control = m.arms.first().and_then(|a| a.estimate);
        for e in &m.effects {
            let value = m.arms.iter().find(|a| a.variant == e.variant).and_then(|a| a.estimate);
            let _ = write!(
                s,
                "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:+.4}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&m.name),
                if m.cuped { " <small>CUPED</small>" } else { "" },
                esc(&e.variant),
                num(control, m.kind),
                num(value, m.kind),
                e.abs_effect,
                pct(e.rel_effect),
                interval(e.rel_ci_low, e.rel_ci_high),
                p_text(e.p_value),
                e.p_adjusted.map_or("–".into(), p_text),
                e.bayes.as_ref().map_or("–".into(), |b| format!("{:.1}%", b.chance_to_win * 100.0)),
                effect_mark(e)
            );
        }
    }
    s.push_str("</tbody></table>");
    s
}

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:right}\
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}.verdict{font-size:.7em;padding:2px 8px;border-radius:4px;color:#fff}\
.ship{background:#2e7d32}.noship{background:#c62828}.running{background:#f9a825}.invalid{background:#6a1b9a}\
.srm.bad{background:#fdecea;padding:.5em}.grid{display:flex;flex-wrap:wrap;gap:1em}.foot{color:#777;font-size:12px}";
