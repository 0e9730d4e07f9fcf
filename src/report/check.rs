//! The CI door: does a report pass, and has it drifted from a baseline?
//!
//! [`check_report`] lists the problems of one report (a sample-ratio mismatch, a violated
//! guardrail) and, with a baseline, every number that moved beyond the tolerance
//! ([`diff_reports`]). Reports are compared as JSON so a baseline written by an older build of
//! the same schema version still compares field by field; array elements are matched by their
//! name (`metrics[spend]`, `effects[mens]`), not by position.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{GuardrailStatus, Report, REPORT_SCHEMA_VERSION};
use crate::error::{Error, Result};

/// One difference between a report and its baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Path of the value, e.g. `metrics[spend].effects[mens].p_value`.
    pub path: String,
    pub baseline: Value,
    pub current: Value,
    /// The largest difference the tolerance allowed here (numbers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
}

/// A number for people: up to 6 significant digits, scientific outside [0.001, 10⁶).
fn readable(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    if (1e-3..1e6).contains(&x.abs()) {
        let digits = (5 - x.abs().log10().floor() as i32).clamp(0, 9) as usize;
        let s = format!("{x:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.3e}")
    }
}

impl Drift {
    /// Where the value is, in words: "metric spend, variant Mens E-Mail: p_value".
    pub fn subject(&self) -> String {
        let mut who = Vec::new();
        let mut rest = Vec::new();
        for part in self.path.split('.') {
            match part.split_once('[') {
                Some(("metrics", name)) => who.push(format!("metric {}", name.trim_end_matches(']'))),
                Some(("effects" | "arms", name)) => who.push(format!("variant {}", name.trim_end_matches(']'))),
                _ => rest.push(part),
            }
        }
        let field = rest.join(".");
        if who.is_empty() {
            field
        } else {
            format!("{}: {field}", who.join(", "))
        }
    }
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let subject = self.subject();
        match (self.baseline.as_f64(), self.current.as_f64()) {
            (Some(b), Some(c)) => {
                let change = if b != 0.0 { format!(", {:+.1}%", (c - b) / b.abs() * 100.0) } else { String::new() };
                let tol = self.tolerance.map_or(String::new(), |t| format!("; tolerance ±{}", readable(t)));
                write!(f, "{subject}: value {}, baseline {}{change}{tol}", readable(c), readable(b))
            }
            _ => write!(f, "{subject}: value {}, baseline {}", self.current, self.baseline),
        }
    }
}

/// Numbers are equal when `|a − b| <= abs_tol + rel_tol·max(|a|, |b|)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub rel: f64,
    pub abs: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { rel: 1e-6, abs: 1e-12 }
    }
}

/// The outcome of a check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Sample-ratio mismatch and guardrail violations.
    pub problems: Vec<String>,
    /// Guardrails checked and passed or inconclusive, for the record.
    pub passed: Vec<String>,
    pub drifts: Vec<Drift>,
}

impl CheckResult {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.drifts.is_empty()
    }

    /// The verdict in a word: "passed", "regression found" (a sample-ratio mismatch or a
    /// violated guardrail) or "changed" (numbers moved from the baseline: better or worse, the
    /// check cannot tell, so it does not call it a regression).
    pub fn verdict(&self) -> &'static str {
        if !self.problems.is_empty() {
            "regression found"
        } else if !self.drifts.is_empty() {
            "changed"
        } else {
            "passed"
        }
    }
}

/// The key an array element is matched by.
fn element_key(v: &Value, i: usize) -> String {
    let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    match (get("column"), get("value"), get("name"), get("variant"), get("date"), get("metric")) {
        (Some(c), Some(val), _, _, _, _) => format!("{c}={val}"),
        (_, _, _, Some(var), Some(d), Some(m)) => format!("{d}/{m}/{var}"),
        (_, _, Some(n), _, _, _) => n,
        (_, _, _, Some(var), _, _) => var,
        _ => i.to_string(),
    }
}

fn walk(path: &str, base: &Value, cur: &Value, tol: &Tolerance, out: &mut Vec<Drift>) {
    match (base, cur) {
        (Value::Object(b), Value::Object(c)) => {
            for (k, bv) in b {
                if path.is_empty() && k == "liftlab_version" {
                    continue;
                }
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                walk(&p, bv, c.get(k).unwrap_or(&Value::Null), tol, out);
            }
            for (k, cv) in c {
                if !b.contains_key(k) && !cv.is_null() {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    out.push(Drift { path: p, baseline: Value::Null, current: cv.clone(), tolerance: None });
                }
            }
        }
        (Value::Array(b), Value::Array(c)) => {
            let keyed = b.iter().chain(c).all(Value::is_object);
            if keyed {
                let ck: Vec<String> = c.iter().enumerate().map(|(i, v)| element_key(v, i)).collect();
                let bk: Vec<String> = b.iter().enumerate().map(|(i, v)| element_key(v, i)).collect();
                for (k, bv) in bk.iter().zip(b) {
                    let p = format!("{path}[{k}]");
                    match ck.iter().position(|x| x == k) {
                        Some(j) => walk(&p, bv, &c[j], tol, out),
                        None => {
                            out.push(Drift { path: p, baseline: bv.clone(), current: Value::Null, tolerance: None })
                        }
                    }
                }
                for (k, cv) in ck.iter().zip(c) {
                    if !bk.contains(k) {
                        out.push(Drift {
                            path: format!("{path}[{k}]"),
                            baseline: Value::Null,
                            current: cv.clone(),
                            tolerance: None,
                        });
                    }
                }
            } else if b.len() != c.len() {
                out.push(Drift {
                    path: path.to_string(),
                    baseline: base.clone(),
                    current: cur.clone(),
                    tolerance: None,
                });
            } else {
                for (i, (bv, cv)) in b.iter().zip(c).enumerate() {
                    walk(&format!("{path}[{i}]"), bv, cv, tol, out);
                }
            }
        }
        (Value::Number(b), Value::Number(c)) => {
            let (b, c) = (b.as_f64().unwrap_or(f64::NAN), c.as_f64().unwrap_or(f64::NAN));
            let allowed = tol.abs + tol.rel * b.abs().max(c.abs());
            if !((b - c).abs() <= allowed) {
                out.push(Drift {
                    path: path.to_string(),
                    baseline: base.clone(),
                    current: cur.clone(),
                    tolerance: Some(allowed),
                });
            }
        }
        (b, c) if b != c => {
            out.push(Drift { path: path.to_string(), baseline: b.clone(), current: c.clone(), tolerance: None })
        }
        _ => {}
    }
}

/// Every value of `current` that differs from `baseline` beyond `tol`.
pub fn diff_reports(baseline: &Value, current: &Value, tol: &Tolerance) -> Result<Vec<Drift>> {
    for (name, v) in [("baseline", baseline), ("report", current)] {
        match v.get("schema_version").and_then(Value::as_u64) {
            Some(x) if x == u64::from(REPORT_SCHEMA_VERSION) => {}
            Some(x) => {
                return Err(Error::invalid(
                    format!("{name}.schema_version"),
                    format!("{x} is not the version this build reads ({REPORT_SCHEMA_VERSION})"),
                ))
            }
            None => return Err(Error::invalid(name, "is not a liftlab report (no schema_version)")),
        }
    }
    let mut out = Vec::new();
    walk("", baseline, current, tol, &mut out);
    Ok(out)
}

/// Checks a report (and, with a baseline, its drift).
pub fn check_report(report: &Value, baseline: Option<&Value>, tol: &Tolerance) -> Result<CheckResult> {
    let parsed: Report = serde_json::from_value(report.clone())
        .map_err(|e| Error::invalid("report", format!("is not a liftlab report: {e}")))?;
    let mut r = CheckResult::default();
    if parsed.srm.mismatch {
        r.problems.push(format!(
            "sample-ratio mismatch in '{}': p = {:.3e} (observed {:?})",
            parsed.experiment, parsed.srm.p_value, parsed.srm.observed
        ));
    }
    for m in &parsed.metrics {
        for e in &m.effects {
            let label = format!("guardrail {} / {}", m.name, e.variant);
            match e.guardrail {
                Some(GuardrailStatus::Fail) => r.problems.push(format!(
                    "{label} violated: effect {:+.4} (interval {} to {}) is worse than the margin {}",
                    e.abs_effect,
                    e.ci_low.map_or("-inf".into(), |x| format!("{x:.4}")),
                    e.ci_high.map_or("inf".into(), |x| format!("{x:.4}")),
                    m.guardrail_margin.unwrap_or_default()
                )),
                Some(GuardrailStatus::Pass) => r.passed.push(format!("{label}: non-inferior")),
                Some(GuardrailStatus::Inconclusive) => r.passed.push(format!("{label}: inconclusive")),
                None => {}
            }
        }
    }
    if let Some(b) = baseline {
        r.drifts = diff_reports(b, report, tol)?;
    }
    Ok(r)
}

/// The check as a JUnit XML document (one test case per check) for CI systems.
pub fn junit_xml(name: &str, r: &CheckResult) -> String {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    }
    let mut cases = Vec::new();
    let srm_fail = r.problems.iter().find(|p| p.starts_with("sample-ratio"));
    cases.push(("sample-ratio mismatch".to_string(), srm_fail.cloned()));
    for p in r.problems.iter().filter(|p| p.starts_with("guardrail")) {
        cases.push((p.split(" violated").next().unwrap_or(p).to_string(), Some(p.clone())));
    }
    for p in &r.passed {
        cases.push((p.split(':').next().unwrap_or(p).to_string(), None));
    }
    // one case per value that moved, named by metric and variant, with the value, its baseline
    // and the tolerance; the path is in the body for tools
    if r.drifts.is_empty() {
        cases.push(("baseline".to_string(), None));
    }
    for d in &r.drifts {
        cases.push((format!("baseline: {}", d.subject()), Some(format!("{d}\npath: {}", d.path))));
    }
    let failures = cases.iter().filter(|c| c.1.is_some()).count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        esc(name),
        cases.len()
    );
    for (case, failure) in cases {
        match failure {
            None => xml.push_str(&format!("    <testcase classname=\"liftlab.check\" name=\"{}\"/>\n", esc(&case))),
            Some(msg) => xml.push_str(&format!(
                "    <testcase classname=\"liftlab.check\" name=\"{}\">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                esc(&case),
                esc(msg.lines().next().unwrap_or_default()),
                esc(&msg)
            )),
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diffs_match_by_name_and_respect_tolerance() {
        let b = json!({"schema_version": 1, "liftlab_version": "0.1.0",
            "metrics": [{"name": "a", "x": 1.0}, {"name": "b", "x": 2.0}]});
        let c = json!({"schema_version": 1, "liftlab_version": "0.2.0",
            "metrics": [{"name": "b", "x": 2.0000000001}, {"name": "a", "x": 1.1}]});
        let d = diff_reports(&b, &c, &Tolerance::default()).unwrap();
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].path, "metrics[a].x");
        assert_eq!(d[0].to_string(), "metric a: x: value 1.1, baseline 1, +10.0%; tolerance ±1.100e-6");
        assert_eq!(readable(0.012345678), "0.0123457");
        assert_eq!(readable(2.5e-7), "2.500e-7");
        let loose = Tolerance { rel: 0.2, abs: 0.0 };
        assert!(diff_reports(&b, &c, &loose).unwrap().is_empty());
        assert_eq!(diff_reports(&json!({}), &c, &loose).unwrap_err().field(), Some("baseline"));
    }
}
