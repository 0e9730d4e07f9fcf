//! The arithmetic of the forecast ledger: what a saved forecast records, how an observed result
//! is read from an analysis report, how a forecast is reconciled with it, and the calibration of
//! a set of forecasts. Pure: the SQLite ledger itself lives in `crate::store`.
//!
//! **One scale.** A forecast projects the lift of the whole topline, `L = reach × R`, where
//! `R` is the lift among the units the change reaches; a test measures `R` (its units are the
//! reached ones). Every forecast records its reach and which lift its columns hold
//! ([`LiftScale`]); every observed result says which lift it is (a report's is always `reached`).
//! Reconciliation and calibration convert both to the **reached** scale (`topline / reach`),
//! so that forecasts made at 50% and at 100% reach of the same change, set against the same
//! observed lift, get the same error.
//!
//! Definitions (all on the relative lift among the reached units, of the forecast's topline metric):
//! - error = forecast − observed, where the forecast is the Monte Carlo mean; **bias** is its mean
//!   (positive = the forecasts were optimistic) and **mean absolute error** the mean of |error|;
//! - **coverage**: the share of observed lifts inside the forecast's interval, with a Wilson 95%
//!   interval, next to the nominal level the intervals claimed;
//! - **directional hit rate**: the share where the observed lift has the sign of the forecast;
//! - **win share**: the share of reconciled forecasts whose change shipped a significant win.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Interval;
use crate::error::{Error, Result};
use crate::report::Report;
use crate::stats::{norm_ppf, Direction};

const MAX_TEXT: usize = 200;

/// Who wrote a forecast and what it is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ForecastMeta {
    pub title: String,
    pub author: String,
    pub team: String,
    /// The topline metric the forecast projects (the analysis metric it is later checked against).
    pub metric: String,
}

impl ForecastMeta {
    /// Trims the fields and checks each is present and at most 200 characters.
    pub fn validated(mut self) -> Result<Self> {
        for (name, v) in [
            ("title", &mut self.title),
            ("author", &mut self.author),
            ("team", &mut self.team),
            ("metric", &mut self.metric),
        ] {
            *v = v.trim().to_string();
            if v.is_empty() {
                return Err(Error::invalid(name, "must not be empty"));
            }
            if v.chars().count() > MAX_TEXT {
                return Err(Error::invalid(name, format!("is longer than {MAX_TEXT} characters")));
            }
        }
        Ok(self)
    }
}

/// Which lift a number is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LiftScale {
    /// Among the units the change reaches: what a test on them measures.
    #[default]
    Reached,
    /// Of the whole topline: the reached lift × coverage.
    Topline,
}

impl LiftScale {
    /// The name stored in the ledger's columns.
    pub fn as_str(self) -> &'static str {
        match self {
            LiftScale::Reached => "reached",
            LiftScale::Topline => "topline",
        }
    }

    /// Reads a stored name; anything else is an error naming `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self> {
        match s {
            "reached" => Ok(LiftScale::Reached),
            "topline" => Ok(LiftScale::Topline),
            other => Err(Error::invalid(field, format!("'{other}' is not a lift scale (reached, topline)"))),
        }
    }

    /// A lift on this scale, on the reached scale, for a forecast of `reach`.
    pub fn to_reached(self, x: f64, reach: f64) -> f64 {
        match self {
            LiftScale::Reached => x,
            LiftScale::Topline => x / reach,
        }
    }
}

/// The observed relative lift of the forecast's metric, with its interval when known.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Observed {
    /// Observed relative lift (0.03 = +3%).
    pub relative: f64,
    /// Which lift `relative` (and its interval) is: among the units the change reached, as a
    /// test reports it (the default), or of the whole topline.
    #[serde(default)]
    pub scale: LiftScale,
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
    #[serde(default)]
    pub p_value: Option<f64>,
    /// The change shipped as a statistically significant win.
    #[serde(default)]
    pub significant_win: bool,
}

impl Observed {
    /// Checks the numbers are finite and ordered.
    pub fn validate(&self) -> Result<()> {
        let finite = |name: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(Error::invalid(name, format!("must be a finite number, got {v}")))
            }
        };
        finite("relative", self.relative)?;
        if self.relative <= -1.0 {
            return Err(Error::invalid("relative", "a relative lift must be above -1 (-100%)"));
        }
        if let Some(l) = self.low {
            finite("low", l)?;
            if l > self.relative {
                return Err(Error::invalid("low", format!("{l} is above the observed lift {}", self.relative)));
            }
        }
        if let Some(h) = self.high {
            finite("high", h)?;
            if h < self.relative {
                return Err(Error::invalid("high", format!("{h} is below the observed lift {}", self.relative)));
            }
        }
        if self.low.is_some() != self.high.is_some() {
            return Err(Error::invalid("low", "give both `low` and `high` or neither"));
        }
        if let Some(p) = self.p_value {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::invalid("p_value", format!("must be in [0, 1], got {p}")));
            }
        }
        Ok(())
    }

    /// The standard error implied by a 95% interval, for the empirical-Bayes prior.
    pub fn std_err(&self) -> Option<f64> {
        match (self.low, self.high) {
            (Some(l), Some(h)) if h > l => Some((h - l) / (2.0 * norm_ppf(0.975))),
            _ => None,
        }
    }
}

/// Reads the observed result of `metric` (variant `variant` against control) from an analysis
/// report. With no variant, the report must have exactly one treatment.
pub fn observed_from_report(report: &Report, metric: &str, variant: Option<&str>) -> Result<Observed> {
    let names = || report.metrics.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ");
    let m = report.metrics.iter().find(|m| m.name == metric).ok_or_else(|| {
        Error::invalid("metric", format!("the report has no metric '{metric}' (it has: {})", names()))
    })?;
    let effect = match variant {
        Some(v) => m.effects.iter().find(|e| e.variant == v).ok_or_else(|| {
            let have: Vec<&str> = m.effects.iter().map(|e| e.variant.as_str()).collect();
            Error::invalid("variant", format!("the report has no treatment '{v}' (it has: {})", have.join(", ")))
        })?,
        None => match m.effects.as_slice() {
            [e] => e,
            [] => return Err(Error::invalid("metric", format!("metric '{metric}' has no effect in the report"))),
            many => {
                let have: Vec<&str> = many.iter().map(|e| e.variant.as_str()).collect();
                return Err(Error::invalid(
                    "variant",
                    format!("the report has several treatments ({}); name one", have.join(", ")),
                ));
            }
        },
    };
    let relative = effect.rel_effect.ok_or_else(|| {
        Error::invalid("metric", format!("metric '{metric}' has no relative effect in the report (zero control mean?)"))
    })?;
    let good = match m.direction {
        Direction::Increase => relative > 0.0,
        Direction::Decrease => relative < 0.0,
    };
    let significant = effect.significant.unwrap_or(effect.p_value < report.settings.alpha);
    let obs = Observed {
        relative,
        scale: LiftScale::Reached,
        low: effect.rel_ci_low,
        high: effect.rel_ci_high,
        p_value: Some(effect.p_adjusted.unwrap_or(effect.p_value)),
        significant_win: significant && good,
    };
    obs.validate().map_err(|e| e.within("report"))?;
    Ok(obs)
}

/// A forecast set against what happened, on one scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Reconciliation {
    /// The scale of `forecast`, its interval, `observed` and `error`: always `reached`, the lift
    /// among the units the change reaches.
    pub scale: LiftScale,
    /// The forecast's reach (the share of units the change reaches), which converts between the
    /// scales.
    pub reach: f64,
    /// Deprecated: the same number as `reach`, under its name before issue 16 (for one release).
    #[cfg_attr(feature = "server", schema(deprecated))]
    pub coverage: f64,
    /// The forecast's expected lift among the reached units (its topline lift / reach).
    pub forecast: f64,
    pub forecast_low: f64,
    pub forecast_high: f64,
    pub observed: f64,
    /// forecast − observed (positive: the forecast was optimistic).
    pub error: f64,
    /// The observed lift lies inside the forecast's interval.
    pub covered: bool,
    /// The observed lift has the forecast's sign.
    pub direction_hit: bool,
    /// The observed lift as it was given, on its own scale.
    pub observed_given: f64,
    pub observed_scale: LiftScale,
}

/// A saved forecast's lift as reconciliation needs it: the interval, which lift it is, and the
/// reach that converts it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ForecastLift {
    pub interval: Interval,
    pub scale: LiftScale,
    pub reach: f64,
}

impl ForecastLift {
    /// A forecast's topline interval at `reach` (what the ledger's columns hold).
    pub fn topline(interval: Interval, reach: f64) -> Self {
        ForecastLift { interval, scale: LiftScale::Topline, reach }
    }

    /// The interval of the whole topline.
    pub fn whole(&self) -> Interval {
        let t = |x: f64| match self.scale {
            LiftScale::Topline => x,
            LiftScale::Reached => x * self.reach,
        };
        Interval { estimate: t(self.interval.estimate), low: t(self.interval.low), high: t(self.interval.high) }
    }

    /// The interval among the reached units.
    pub fn reached(&self) -> Interval {
        let r = |x: f64| self.scale.to_reached(x, self.reach);
        Interval { estimate: r(self.interval.estimate), low: r(self.interval.low), high: r(self.interval.high) }
    }
}

/// Sets a forecast's interval against the observed lift, both on the reached scale.
pub fn reconcile(forecast: &ForecastLift, observed: &Observed) -> Reconciliation {
    let f = forecast.reached();
    let obs = observed.scale.to_reached(observed.relative, forecast.reach);
    Reconciliation {
        scale: LiftScale::Reached,
        reach: forecast.reach,
        coverage: forecast.reach,
        forecast: f.estimate,
        forecast_low: f.low,
        forecast_high: f.high,
        observed: obs,
        error: f.estimate - obs,
        covered: f.low <= obs && obs <= f.high,
        direction_hit: f.estimate.signum() == obs.signum() && f.estimate != 0.0 && obs != 0.0,
        observed_given: observed.relative,
        observed_scale: observed.scale,
    }
}

/// One ledger row, as calibration needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibrationRecord {
    pub author: String,
    pub team: String,
    /// RFC 3339 time the forecast was saved; its first 7 characters are the month.
    pub created_at: String,
    pub forecast: ForecastLift,
    /// The level of the forecast's interval.
    pub confidence: f64,
    pub observed: Option<Observed>,
}

/// Calibration of a group of forecasts; the rates are `None` until one is reconciled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct CalibrationGroup {
    pub key: String,
    pub forecasts: usize,
    pub reconciled: usize,
    /// Share of observed lifts inside the forecast interval.
    pub coverage: Option<f64>,
    /// Wilson 95% interval of that share.
    pub coverage_low: Option<f64>,
    pub coverage_high: Option<f64>,
    /// The mean level the intervals claimed (compare with `coverage`).
    pub nominal_coverage: Option<f64>,
    pub mean_abs_error: Option<f64>,
    /// Mean of forecast − observed: positive means optimistic.
    pub bias: Option<f64>,
    pub hit_rate: Option<f64>,
    pub win_share: Option<f64>,
}

/// Calibration overall and per team, author and month (of saving), keys in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Calibration {
    /// The scale every error, bias and coverage is computed on: `reached`, the lift among the
    /// units the change reaches (forecasts and results are converted with each forecast's coverage).
    pub scale: LiftScale,
    pub overall: CalibrationGroup,
    pub by_team: Vec<CalibrationGroup>,
    pub by_author: Vec<CalibrationGroup>,
    pub by_month: Vec<CalibrationGroup>,
}

/// The Wilson score interval for `k` successes in `n` (Wilson 1927), at 95%.
pub fn wilson_interval(k: usize, n: usize) -> (f64, f64) {
    let (k, n) = (k as f64, n as f64);
    let z = norm_ppf(0.975);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The running sums of one calibration group: adding records one at a time, in any number of
/// passes, gives the same group as the whole list at once, so the ledger streams its rows through
/// it with memory for the groups only.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    forecasts: usize,
    reconciled: usize,
    covered: usize,
    hits: usize,
    wins: usize,
    sum_confidence: f64,
    sum_abs_error: f64,
    sum_error: f64,
}

impl Tally {
    /// Adds one forecast (reconciled when it has an observed result).
    pub fn add(&mut self, r: &CalibrationRecord) {
        self.forecasts += 1;
        let Some(o) = &r.observed else { return };
        let rec = reconcile(&r.forecast, o);
        self.reconciled += 1;
        self.covered += usize::from(rec.covered);
        self.hits += usize::from(rec.direction_hit);
        self.wins += usize::from(o.significant_win);
        self.sum_confidence += r.confidence;
        self.sum_abs_error += rec.error.abs();
        self.sum_error += rec.error;
    }

    /// The group's figures (means over the reconciled forecasts; `None` without any).
    pub fn group(&self, key: String) -> CalibrationGroup {
        let n = self.reconciled;
        let mean = |x: f64| (n > 0).then(|| x / n as f64);
        let share = |k: usize| mean(k as f64);
        let wilson = (n > 0).then(|| wilson_interval(self.covered, n));
        CalibrationGroup {
            key,
            forecasts: self.forecasts,
            reconciled: n,
            coverage: share(self.covered),
            coverage_low: wilson.map(|w| w.0),
            coverage_high: wilson.map(|w| w.1),
            nominal_coverage: mean(self.sum_confidence),
            mean_abs_error: mean(self.sum_abs_error),
            bias: mean(self.sum_error),
            hit_rate: share(self.hits),
            win_share: share(self.wins),
        }
    }
}

/// Builds a [`Calibration`] from records streamed one at a time.
#[derive(Clone, Debug, Default)]
pub struct CalibrationTally {
    overall: Tally,
    by_team: BTreeMap<String, Tally>,
    by_author: BTreeMap<String, Tally>,
    by_month: BTreeMap<String, Tally>,
}

impl CalibrationTally {
    pub fn add(&mut self, r: &CalibrationRecord) {
        self.overall.add(r);
        self.by_team.entry(r.team.clone()).or_default().add(r);
        self.by_author.entry(r.author.clone()).or_default().add(r);
        self.by_month.entry(r.created_at.chars().take(7).collect()).or_default().add(r);
    }

    pub fn finish(&self) -> Calibration {
        let groups = |m: &BTreeMap<String, Tally>| m.iter().map(|(k, t)| t.group(k.clone())).collect();
        Calibration {
            scale: LiftScale::Reached,
            overall: self.overall.group("all".into()),
            by_team: groups(&self.by_team),
            by_author: groups(&self.by_author),
            by_month: groups(&self.by_month),
        }
    }
}

/// The calibration of `records`: overall and by team, author and month (`YYYY-MM` of creation).
pub fn calibration(records: &[CalibrationRecord]) -> Calibration {
    let mut t = CalibrationTally::default();
    for r in records {
        t.add(r);
    }
    t.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(author: &str, team: &str, month: &str, f: (f64, f64, f64), obs: Option<(f64, bool)>) -> CalibrationRecord {
        CalibrationRecord {
            author: author.into(),
            team: team.into(),
            created_at: format!("{month}-15T10:00:00Z"),
            forecast: ForecastLift::topline(Interval { estimate: f.0, low: f.1, high: f.2 }, 1.0),
            confidence: 0.95,
            observed: obs.map(|(relative, w)| Observed {
                relative,
                scale: LiftScale::Reached,
                low: None,
                high: None,
                p_value: None,
                significant_win: w,
            }),
        }
    }

    /// Hand-computed: four reconciled forecasts of which three are covered, errors
    /// 0.05−0.02 = 0.03, 0.10−0.01 = 0.09, 0.02−(−0.01) = 0.03, −0.01−(−0.02) = 0.01.
    #[test]
    fn calibration_by_hand() {
        let recs = vec![
            rec("ana", "crm", "2026-01", (0.05, 0.01, 0.09), Some((0.02, true))),
            rec("ana", "crm", "2026-02", (0.10, 0.06, 0.14), Some((0.01, false))),
            rec("bo", "sales", "2026-02", (0.02, -0.01, 0.05), Some((-0.01, false))),
            rec("bo", "sales", "2026-02", (-0.01, -0.03, 0.01), Some((-0.02, false))),
            rec("bo", "sales", "2026-03", (0.04, 0.0, 0.08), None),
        ];
        let c = calibration(&recs);
        let o = &c.overall;
        assert_eq!((o.forecasts, o.reconciled), (5, 4));
        assert!((o.coverage.unwrap() - 0.75).abs() < 1e-12);
        assert!((o.mean_abs_error.unwrap() - 0.16 / 4.0).abs() < 1e-12);
        assert!((o.bias.unwrap() - 0.16 / 4.0).abs() < 1e-12);
        // signs: +/+ hit, +/+ hit, +/− miss, −/− hit
        assert!((o.hit_rate.unwrap() - 0.75).abs() < 1e-12);
        assert!((o.win_share.unwrap() - 0.25).abs() < 1e-12);
        assert_eq!(c.by_team.iter().map(|g| g.key.as_str()).collect::<Vec<_>>(), ["crm", "sales"]);
        let sales = &c.by_team[1];
        assert_eq!((sales.forecasts, sales.reconciled), (3, 2));
        assert!((sales.bias.unwrap() - 0.02).abs() < 1e-12);
        assert_eq!(
            c.by_month.iter().map(|g| (g.key.as_str(), g.forecasts)).collect::<Vec<_>>(),
            [("2026-01", 1), ("2026-02", 3), ("2026-03", 1)]
        );
        let march = &c.by_month[2];
        assert_eq!(march.coverage, None);
        assert_eq!(march.bias, None);
    }

    /// Issue 17: the same change forecast at 50% and at 100% coverage, the same observed +8% among
    /// the reached units: the same error. By hand, with the forecasts' Monte Carlo means among
    /// the reached units 0.0848 (topline 0.0424 at 50%, 0.0848 at 100%): error 0.0848 − 0.08 =
    /// +0.0048 for both, where the old comparison with the topline gave 0.0424 − 0.08 = −0.0376
    /// and +0.0048. The observed lift given on the topline scale (0.04 at 50%) is the same result.
    #[test]
    fn coverage_pair_reconciles_to_the_same_error() {
        let half = ForecastLift::topline(Interval { estimate: 0.0424, low: 0.0075, high: 0.0775 }, 0.5);
        let full = ForecastLift::topline(Interval { estimate: 0.0848, low: 0.015, high: 0.155 }, 1.0);
        let obs = Observed {
            relative: 0.08,
            scale: LiftScale::Reached,
            low: None,
            high: None,
            p_value: None,
            significant_win: false,
        };
        let (a, b) = (reconcile(&half, &obs), reconcile(&full, &obs));
        assert!((a.error - 0.0048).abs() < 1e-15 && (b.error - 0.0048).abs() < 1e-15, "{a:?} {b:?}");
        assert_eq!((a.covered, b.covered), (true, true));
        assert_eq!((a.forecast_low, a.forecast_high), (0.015, 0.155));
        assert_eq!(a.scale, LiftScale::Reached);
        let topline = Observed { relative: 0.04, scale: LiftScale::Topline, ..obs };
        let c = reconcile(&half, &topline);
        assert_eq!((c.observed, c.error), (a.observed, a.error));
        assert_eq!((c.observed_given, c.observed_scale), (0.04, LiftScale::Topline));
    }

    /// Calibration on one scale, by hand. Forecasts (topline interval, coverage) and results:
    /// 1. (0.03, 0.01, 0.05) at 50%  -> reached (0.06, 0.02, 0.10); observed reached 0.07:
    ///    error -0.01, covered, hit.
    /// 2. (0.05, 0.02, 0.08) at 100% -> reached the same; observed topline 0.01 -> 0.01:
    ///    error +0.04, not covered, hit.
    /// 3. (0.02, -0.01, 0.05) at 25% -> reached (0.08, -0.04, 0.20); observed topline -0.005
    ///    -> -0.02: error +0.10, covered, miss.
    ///
    /// Coverage 2/3, MAE (0.01 + 0.04 + 0.10)/3 = 0.05, bias (-0.01 + 0.04 + 0.10)/3 = 0.13/3,
    /// hit rate 2/3. Against the topline forecasts the errors would have been -0.04, +0.04, +0.025.
    #[test]
    fn calibration_on_one_scale_by_hand() {
        let rec = |f: (f64, f64, f64), coverage: f64, obs: f64, scale: LiftScale| CalibrationRecord {
            author: "ana".into(),
            team: "crm".into(),
            created_at: "2026-05-01T00:00:00Z".into(),
            forecast: ForecastLift::topline(Interval { estimate: f.0, low: f.1, high: f.2 }, coverage),
            confidence: 0.9,
            observed: Some(Observed {
                relative: obs,
                scale,
                low: None,
                high: None,
                p_value: None,
                significant_win: false,
            }),
        };
        let c = calibration(&[
            rec((0.03, 0.01, 0.05), 0.5, 0.07, LiftScale::Reached),
            rec((0.05, 0.02, 0.08), 1.0, 0.01, LiftScale::Topline),
            rec((0.02, -0.01, 0.05), 0.25, -0.005, LiftScale::Topline),
        ]);
        let o = &c.overall;
        assert_eq!(c.scale, LiftScale::Reached);
        assert!((o.coverage.unwrap() - 2.0 / 3.0).abs() < 1e-15, "{o:?}");
        assert!((o.mean_abs_error.unwrap() - 0.05).abs() < 1e-15, "{o:?}");
        assert!((o.bias.unwrap() - 0.13 / 3.0).abs() < 1e-15, "{o:?}");
        assert!((o.hit_rate.unwrap() - 2.0 / 3.0).abs() < 1e-15, "{o:?}");
        assert!((o.nominal_coverage.unwrap() - 0.9).abs() < 1e-15);
    }

    /// statsmodels 0.15.0 `proportion_confint(3, 4, alpha=0.05, method="wilson")`
    /// = (0.3006418426, 0.9544127392); `proportion_confint(0, 5, method="wilson")` = (0, 0.4344824648).
    #[test]
    fn wilson_matches_statsmodels() {
        let (l, h) = wilson_interval(3, 4);
        assert!((l - 0.300_641_842_6).abs() < 1e-9, "{l}");
        assert!((h - 0.954_412_739_2).abs() < 1e-9, "{h}");
        let (l, h) = wilson_interval(0, 5);
        assert!(l.abs() < 1e-12);
        assert!((h - 0.434_482_464_8).abs() < 1e-9, "{h}");
    }

    #[test]
    fn observed_is_validated() {
        let ok = Observed {
            relative: 0.02,
            scale: LiftScale::Reached,
            low: Some(0.0),
            high: Some(0.04),
            p_value: Some(0.04),
            significant_win: true,
        };
        ok.validate().unwrap();
        assert!((ok.std_err().unwrap() - 0.04 / (2.0 * 1.959_963_984_540_054)).abs() < 1e-15);
        let bad = |o: Observed, field: &str| assert_eq!(o.validate().unwrap_err().field(), Some(field));
        bad(Observed { relative: f64::NAN, ..ok.clone() }, "relative");
        bad(Observed { low: Some(0.03), ..ok.clone() }, "low");
        bad(Observed { high: Some(0.01), ..ok.clone() }, "high");
        bad(Observed { high: None, ..ok.clone() }, "low");
        bad(Observed { p_value: Some(1.5), ..ok.clone() }, "p_value");
        bad(Observed { relative: -1.0, low: None, high: None, ..ok }, "relative");
    }

    #[test]
    fn meta_is_trimmed_and_checked() {
        let m = ForecastMeta {
            title: " SMS reminder ".into(),
            author: "ana".into(),
            team: "crm".into(),
            metric: "deals".into(),
        };
        assert_eq!(m.clone().validated().unwrap().title, "SMS reminder");
        let e = ForecastMeta { team: "  ".into(), ..m.clone() }.validated().unwrap_err();
        assert_eq!(e.field(), Some("team"));
        let e = ForecastMeta { title: "x".repeat(201), ..m }.validated().unwrap_err();
        assert_eq!(e.field(), Some("title"));
    }
}
