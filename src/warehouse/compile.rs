//! Spec + experiment + dialect -> one SQL query returning the sufficient statistics.
//!
//! The query's steps, one CTE each:
//! 1. `exposure_rows`: the experiment's exposures (null unit, variant or time dropped; the date
//!    range applied), dimension values as text;
//! 2. `persons`: one row per person: first exposure time (and, with dimensions, the attributes of
//!    that first exposure), and whether they saw more than one variant (`ranked` numbers a
//!    person's exposures when dimensions need the first one's attributes);
//! 3. `exposed`: the persons kept (one variant), with the exposure day (a date, written as
//!    `YYYY-MM-DD` text in the answer); `multiple`: how many not;
//! 4. `ids_<k>`: for a fact keyed by another id type, its ids mapped to persons through the
//!    identity tables, distinct (so a fact row reaches a person once);
//! 5. `facts_<k>`: per person, every aggregate that reads fact source `k`, each with its own
//!    window and filters (`CASE WHEN`), over the rows in the union of those windows;
//! 6. `unit_values`: per person, every metric's components, 0 when there is no fact;
//! 7. `caps` / `capped`: quantile caps computed over the kept persons, and caps applied;
//! 8. `shifts` / `centered`: every component minus one of its values rounded to an integer (the
//!    person with the smallest id: the in-memory aggregation's rule, "the first unit's values",
//!    made deterministic), so the sums of squares and products keep their precision (a metric
//!    with mean 1e8 and standard deviation 10 would lose every digit of its variance in
//!    `Σx² − (Σx)²/n` otherwise). An integer shift keeps integer data exact: an arm whose values
//!    are all 0 has a mean of exactly 0 (so its relative effect is reported undefined, not
//!    1e15), a denominator that sums to 0 is exactly 0, counts stay whole. Binary values (0 or 1)
//!    are not shifted;
//! 9. the result: per (variant, day) and per (variant, dimension value) the count `n` and the
//!    sums and sums of products of the centred components (and of cubes, for mean metrics'
//!    skewness), with the shifts, the quantile caps and the number of persons seen in several
//!    variants.
//!
//! Component `x` is a metric's value (a ratio's numerator), `y` a ratio's denominator, `c` and
//! `d` the same over the CUPED lookback window, as in [`crate::stats::moments`].

use super::dialect::{Dialect, Ty};
use super::sql::{Expr, GroupBy, JoinKind, Query, Relation, Select};
use super::{CompileOptions, CompiledQuery};
use crate::error::{Error, Result};
use crate::report::aggregate::{iso_date, parse_iso_day};
use crate::spec::catalog::{Agg, Catalog, FactAgg, FactKind, FactMetric, FilterOp, Literal, RowFilter, Source};
use crate::spec::{CapSpec, Spec};

/// The components of a metric, in `x, y, c, d` order: letter, aggregate, over the lookback.
pub(crate) fn components(m: &FactMetric) -> Vec<(char, &FactAgg, bool)> {
    let mut v = vec![('x', &m.value, false)];
    if let Some(den) = &m.denominator {
        v.push(('y', den, false));
    }
    if m.lookback.is_some() {
        v.push(('c', &m.value, true));
        if let Some(den) = &m.denominator {
            v.push(('d', den, true));
        }
    }
    v
}

/// The suffix of the sum of products of two components, as in `SuffStats` (`x2`, `xy`, `yc`).
pub(crate) fn pair(a: char, b: char) -> String {
    if a == b {
        format!("{a}2")
    } else {
        format!("{a}{b}")
    }
}

/// Whether component `letter` of `m` is shifted (a binary value is 0 or 1 and is not).
pub(crate) fn shifted(m: &FactMetric, letter: char) -> bool {
    !(m.kind == FactKind::Binary && letter == 'x')
}

/// Whether the query also sums `(x − shift)³`: mean metrics, for the skewness check of their
/// effects (as the in-memory aggregation does).
pub(crate) fn third_moment(m: &FactMetric) -> bool {
    m.metric_kind() == crate::stats::effect::MetricKind::Mean
}

/// What one experiment's query computes, checked against the spec.
pub(crate) struct Plan<'a> {
    pub catalog: &'a Catalog,
    /// The experiment's metrics, in its order.
    pub metrics: Vec<&'a FactMetric>,
    /// The segment dimensions (the experiment's `segments`, each a catalogue dimension).
    pub dims: Vec<String>,
}

impl<'a> Plan<'a> {
    pub(crate) fn new(spec: &'a Spec, key: &'a str) -> Result<Self> {
        let catalog = spec.catalog.as_ref().ok_or_else(|| {
            Error::invalid("catalog", "the spec has no [catalog]: a warehouse query needs its sources and metrics")
        })?;
        let ei = spec
            .experiments
            .iter()
            .position(|e| e.key == key)
            .ok_or_else(|| Error::not_found("experiment", "experiment", key))?;
        let exp = &spec.experiments[ei];
        let metrics = exp
            .metrics
            .iter()
            .map(|&i| {
                let name = &spec.metrics[i].name;
                catalog.metric(name).ok_or_else(|| {
                    Error::invalid(
                        format!("experiments[{ei}].metrics"),
                        format!(
                            "'{name}' reads a unit-level column ([[metrics]]); a warehouse query computes [[catalog.metrics]] only: list the experiment's metrics"
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if metrics.is_empty() {
            return Err(Error::invalid(
                format!("experiments[{ei}].metrics"),
                "the experiment has no metric to compute",
            ));
        }
        let dims = &catalog.exposures.dimensions;
        for (j, s) in exp.analysis.segments.iter().enumerate() {
            if !dims.contains(s) {
                return Err(Error::invalid(
                    format!("experiments[{ei}].analysis.segments[{j}]"),
                    format!(
                        "'{s}' is not a dimension of [catalog.exposures] (dimensions: {})",
                        if dims.is_empty() { "none".to_string() } else { dims.join(", ") }
                    ),
                ));
            }
        }
        Ok(Plan { catalog, metrics, dims: exp.analysis.segments.clone() })
    }

    /// The fact sources the metrics read, in catalogue order.
    fn facts(&self) -> Vec<usize> {
        let mut f: Vec<usize> =
            self.metrics.iter().flat_map(|m| components(m).into_iter().map(|(_, a, _)| a.fact)).collect();
        f.sort_unstable();
        f.dedup();
        f
    }

    /// The result's columns, in order.
    pub(crate) fn columns(&self) -> Vec<String> {
        let mut cols = vec!["variant".to_string(), "exposure_day".to_string()];
        cols.extend((0..self.dims.len()).map(|k| format!("dim{k}")));
        cols.push("n".into());
        for (i, m) in self.metrics.iter().enumerate() {
            let comps = components(m);
            for (a, (la, _, _)) in comps.iter().enumerate() {
                cols.push(format!("m{i}_sum_{la}"));
                for (lb, _, _) in &comps[a..] {
                    cols.push(format!("m{i}_sum_{}", pair(*la, *lb)));
                }
            }
            if third_moment(m) {
                cols.push(format!("m{i}_sum_x3"));
            }
            for (l, _, _) in &comps {
                if shifted(m, *l) {
                    cols.push(format!("m{i}_shift_{l}"));
                }
            }
            if matches!(m.cap, Some(CapSpec::Quantile(_))) {
                cols.push(format!("m{i}_cap"));
            }
        }
        cols.push("multiple_exposures".into());
        cols
    }
}

fn check_source(s: &Source, d: Dialect, field: String) -> Result<()> {
    match s {
        Source::Path(p) => d.file(p).map(|_| ()).map_err(|reason| Error::invalid(field, reason)),
        _ => Ok(()),
    }
}

fn date(s: &Option<String>, field: &str) -> Result<Option<i64>> {
    s.as_ref()
        .map(|v| {
            // a real calendar date, written in full (2025-02-30 is refused, not moved to March)
            parse_iso_day(v)
                .filter(|&d| iso_date(d) == *v)
                .ok_or_else(|| Error::invalid(field, format!("'{}' is not a date YYYY-MM-DD", v.escape_debug())))
        })
        .transpose()
}

fn value_lit(v: &Literal) -> Expr {
    match v {
        Literal::Text(s) => Expr::Str(s.clone()),
        Literal::Int(i) => Expr::Int(*i),
        Literal::Num(x) => Expr::Num(*x),
        Literal::Bool(b) => Expr::Bool(*b),
    }
}

fn filter_expr(f: &RowFilter) -> Expr {
    let col = Expr::col("f", &f.column);
    let one = || value_lit(&f.values[0]);
    match f.op {
        FilterOp::Eq => col.op("=", one()),
        FilterOp::Ne => col.op("<>", one()),
        FilterOp::Lt => col.op("<", one()),
        FilterOp::Le => col.op("<=", one()),
        FilterOp::Gt => col.op(">", one()),
        FilterOp::Ge => col.op(">=", one()),
        FilterOp::In => Expr::In(Box::new(col), f.values.iter().map(value_lit).collect(), false),
        FilterOp::NotIn => Expr::In(Box::new(col), f.values.iter().map(value_lit).collect(), true),
        FilterOp::IsNull => Expr::IsNull(Box::new(col), false),
        FilterOp::NotNull => Expr::IsNull(Box::new(col), true),
    }
}

/// A component's time bounds in seconds relative to exposure: `[lo, hi)`.
fn bounds(m: &FactMetric, lookback: bool) -> (i64, Option<i64>) {
    match (lookback, m.lookback) {
        (true, Some(l)) => (-l, Some(0)),
        _ => m.window,
    }
}

fn describe(m: &FactMetric, catalog: &Catalog) -> String {
    let part = |a: &FactAgg| {
        let fact = &catalog.facts[a.fact].name;
        let what = match (a.agg, &a.column) {
            (Agg::Any, _) => format!("any row of {fact}"),
            (Agg::Count, _) => format!("rows of {fact}"),
            (agg, Some(c)) => format!("{} of {fact}.{c}", agg.name()),
            (agg, None) => format!("{} of {fact}", agg.name()),
        };
        if a.filters.is_empty() {
            what
        } else {
            format!("{what} (filtered)")
        }
    };
    let mut s = match &m.denominator {
        Some(den) => format!("{} / {}", part(&m.value), part(den)),
        None => part(&m.value),
    };
    let days = |x: i64| format!("{}", x as f64 / 86_400.0);
    match m.window {
        (0, None) => {}
        (a, None) => s.push_str(&format!(", from day {}", days(a))),
        (a, Some(b)) => s.push_str(&format!(", days [{}, {})", days(a), days(b))),
    }
    if let Some(l) = m.lookback {
        s.push_str(&format!(", CUPED over the {} days before", days(l)));
    }
    match m.cap {
        Some(CapSpec::Quantile(q)) => s.push_str(&format!(", capped at quantile {q}")),
        Some(CapSpec::Value(v)) => s.push_str(&format!(", capped at {v}")),
        None => {}
    }
    s.escape_debug().to_string()
}

/// Compiles the query of experiment `key` (see the module docs for its steps).
pub(crate) fn compile(spec: &Spec, key: &str, d: Dialect, opt: &CompileOptions) -> Result<CompiledQuery> {
    let plan = Plan::new(spec, key)?;
    let cat = plan.catalog;
    let start = date(&opt.start, "start")?;
    let end = date(&opt.end, "end")?;
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            return Err(Error::invalid("end", format!("{} is before the start {}", iso_date(e), iso_date(s))));
        }
    }
    // the end date is inclusive: everything before the next midnight
    let end_excl = end.map(|e| iso_date(e + 1));
    let start = start.map(iso_date);
    let facts = plan.facts();
    if let Some(b) = &opt.base_dir {
        if b.chars().any(char::is_control) {
            return Err(Error::invalid("base_dir", "holds a control character"));
        }
    }
    // relative file sources are read from `base_dir`
    let src = |s: &Source| -> Relation {
        match (s, &opt.base_dir) {
            (Source::Path(p), Some(base)) if !p.starts_with('/') && !p.contains("://") && !base.is_empty() => {
                Relation::Source(Source::Path(format!("{}/{p}", base.trim_end_matches('/'))))
            }
            _ => Relation::Source(s.clone()),
        }
    };
    check_source(&cat.exposures.source, d, "catalog.exposures.path".into())?;
    for &k in &facts {
        check_source(&cat.facts[k].source, d, format!("catalog.facts[{k}].path"))?;
        for hop in &cat.facts[k].path {
            check_source(
                &cat.identities[hop.identity].source,
                d,
                format!("catalog.identities[{}].path", hop.identity),
            )?;
        }
    }
    let dims: Vec<String> = (0..plan.dims.len()).map(|k| format!("dim{k}")).collect();
    let mut ctes: Vec<(String, String, Select)> = Vec::new();
    let ex = &cat.exposures;

    // 1. exposure rows
    let mut s = Select::from(src(&ex.source), "x");
    s.item(Expr::col("x", &ex.unit_col), "unit_id");
    s.item(Expr::col("x", &ex.variant_col).cast(Ty::Text), "variant");
    s.item(Expr::col("x", &ex.time_col), "exposed_at");
    for (k, name) in plan.dims.iter().enumerate() {
        s.item(Expr::col("x", name).cast(Ty::Text), format!("dim{k}"));
    }
    s.filter.push(Expr::col("x", &ex.experiment_col).op("=", Expr::Str(key.to_string())));
    for c in [&ex.unit_col, &ex.variant_col, &ex.time_col] {
        s.filter.push(Expr::IsNull(Box::new(Expr::col("x", c)), true));
    }
    if let Some(st) = &start {
        s.filter.push(Expr::col("x", &ex.time_col).op(">=", Expr::Midnight(st.clone())));
    }
    if let Some(en) = &end_excl {
        s.filter.push(Expr::col("x", &ex.time_col).op("<", Expr::Midnight(en.clone())));
    }
    ctes.push(("exposure_rows".into(), format!("exposures of experiment {}", key.escape_debug()), s));

    // 2. one row per person
    if dims.is_empty() {
        let mut s = Select::from(Relation::Cte("exposure_rows"), "r");
        s.item(Expr::at("r", "unit_id"), "unit_id");
        s.item(Expr::call("MIN", vec![Expr::at("r", "variant")]), "variant");
        s.item(Expr::call("MIN", vec![Expr::at("r", "exposed_at")]), "exposed_at");
        s.item(
            mixed(Expr::call("MIN", vec![Expr::at("r", "variant")]), Expr::call("MAX", vec![Expr::at("r", "variant")])),
            "mixed",
        );
        s.group_by = GroupBy::Keys(vec![Expr::at("r", "unit_id")]);
        ctes.push((
            "persons".into(),
            "one row per person: first exposure, and whether they saw several variants".into(),
            s,
        ));
    } else {
        let mut s = Select::from(Relation::Cte("exposure_rows"), "r");
        for c in ["unit_id", "variant", "exposed_at"].iter().map(|c| c.to_string()).chain(dims.iter().cloned()) {
            s.pass(Expr::at("r", c));
        }
        let by_unit = vec![Expr::at("r", "unit_id")];
        let mut order = vec![Expr::at("r", "exposed_at"), Expr::at("r", "variant")];
        order.extend(dims.iter().map(|c| Expr::at("r", c.clone())));
        s.item(Expr::Window(Box::new(Expr::call("ROW_NUMBER", vec![])), by_unit.clone(), order), "exposure_rank");
        s.item(
            Expr::Window(Box::new(Expr::call("MIN", vec![Expr::at("r", "variant")])), by_unit.clone(), vec![]),
            "min_variant",
        );
        s.item(
            Expr::Window(Box::new(Expr::call("MAX", vec![Expr::at("r", "variant")])), by_unit, vec![]),
            "max_variant",
        );
        ctes.push(("ranked".into(), "each person's exposures in time order".into(), s));
        let mut s = Select::from(Relation::Cte("ranked"), "k");
        for c in ["unit_id", "variant", "exposed_at"].iter().map(|c| c.to_string()).chain(dims.iter().cloned()) {
            s.pass(Expr::at("k", c));
        }
        s.item(mixed(Expr::at("k", "min_variant"), Expr::at("k", "max_variant")), "mixed");
        s.filter.push(Expr::at("k", "exposure_rank").op("=", Expr::Int(1)));
        ctes.push((
            "persons".into(),
            "one row per person: first exposure, and whether they saw several variants".into(),
            s,
        ));
    }

    // 3. kept persons and the count of the others
    let mut s = Select::from(Relation::Cte("persons"), "p");
    for c in ["unit_id", "variant", "exposed_at"] {
        s.pass(Expr::at("p", c));
    }
    s.item(Expr::Date(Box::new(Expr::at("p", "exposed_at"))), "exposure_day");
    for c in &dims {
        let v = Expr::call("NULLIF", vec![Expr::at("p", c.clone()), Expr::Str(String::new())]);
        s.item(Expr::call("COALESCE", vec![v, Expr::Str("(missing)".into())]), c.clone());
    }
    s.filter.push(Expr::at("p", "mixed").op("=", Expr::Int(0)));
    ctes.push(("exposed".into(), "persons exposed to one variant only".into(), s));
    let mut s = Select::from(Relation::Cte("persons"), "p");
    s.item(Expr::CountStar, "multiple_exposures");
    s.filter.push(Expr::at("p", "mixed").op("=", Expr::Int(1)));
    ctes.push(("multiple".into(), "persons exposed to more than one variant: counted, then excluded".into(), s));

    // 4. ids of other types mapped to persons
    let mut mapped: Vec<String> = Vec::new();
    for &k in &facts {
        let f = &cat.facts[k];
        if f.path.is_empty() || mapped.contains(&f.id_type) {
            continue;
        }
        mapped.push(f.id_type.clone());
        let t = cat.id_types.iter().position(|x| *x == f.id_type).unwrap_or(0);
        let last = f.path.len() - 1;
        let h = |i: usize| format!("h{i}");
        let mut s = Select::from(src(&cat.identities[f.path[last].identity].source), &h(last));
        s.distinct = true;
        s.item(Expr::col(&h(last), &f.path[last].to_col), "id");
        s.item(Expr::at("e", "unit_id"), "unit_id");
        for i in (0..last).rev() {
            let on = Expr::col(&h(i), &f.path[i].to_col).op("=", Expr::col(&h(i + 1), &f.path[i + 1].from_col));
            s.join(JoinKind::Inner, src(&cat.identities[f.path[i].identity].source), &h(i), vec![on]);
        }
        s.join(
            JoinKind::Inner,
            Relation::Cte("exposed"),
            "e",
            vec![Expr::at("e", "unit_id").op("=", Expr::col("h0", &f.path[0].from_col))],
        );
        s.filter.push(Expr::IsNull(Box::new(Expr::col(&h(last), &f.path[last].to_col)), true));
        let via: Vec<&str> = f.path.iter().map(|p| cat.identities[p.identity].name.as_str()).collect();
        ctes.push((
            format!("ids_{t}"),
            format!("{} ids of the persons, through {}", f.id_type, via.join(", ")).escape_debug().to_string(),
            s,
        ));
    }

    // 5. per person aggregates of each fact source
    for &k in &facts {
        let f = &cat.facts[k];
        let mut s = Select::from(src(&f.source), "f");
        s.item(Expr::at("e", "unit_id"), "unit_id");
        let time = Expr::col("f", &f.time_col);
        let exposed_at = || Expr::at("e", "exposed_at");
        let mut lo = i64::MAX;
        let mut hi = Some(i64::MIN);
        let mut aggs = Vec::new();
        for (i, m) in plan.metrics.iter().enumerate() {
            for (l, a, back) in components(m) {
                if a.fact != k {
                    continue;
                }
                let (a_lo, a_hi) = bounds(m, back);
                lo = lo.min(a_lo);
                hi = match (hi, a_hi) {
                    (Some(x), Some(y)) => Some(x.max(y)),
                    _ => None,
                };
                aggs.push((i, l, a, a_lo, a_hi));
            }
        }
        for &(i, l, a, a_lo, a_hi) in &aggs {
            let mut cond = Vec::new();
            if a_lo != lo {
                cond.push(time.clone().op(">=", Expr::AddSeconds(Box::new(exposed_at()), a_lo)));
            }
            if a_hi != hi {
                if let Some(x) = a_hi {
                    cond.push(time.clone().op("<", Expr::AddSeconds(Box::new(exposed_at()), x)));
                }
            }
            cond.extend(a.filters.iter().map(filter_expr));
            let value = || Expr::col("f", a.column.as_deref().unwrap_or_default());
            // without a condition of its own the CTE's WHERE already selects the rows
            let guarded = |then: Expr, other: Option<Expr>| {
                if cond.is_empty() {
                    then
                } else {
                    Expr::when(Expr::And(cond.clone()), then, other)
                }
            };
            let e = match a.agg {
                Agg::Any => Expr::call("MAX", vec![guarded(Expr::Int(1), Some(Expr::Int(0)))]),
                Agg::Count => {
                    if cond.is_empty() {
                        Expr::CountStar
                    } else {
                        Expr::call("COUNT", vec![guarded(Expr::Int(1), None)])
                    }
                }
                Agg::CountDistinct => Expr::CountDistinct(Box::new(guarded(value(), None))),
                Agg::Sum => Expr::call("SUM", vec![guarded(value().cast(Ty::Double), None)]),
                Agg::Max => Expr::call("MAX", vec![guarded(value().cast(Ty::Double), None)]),
            };
            s.item(e, format!("m{i}_{l}"));
        }
        if f.path.is_empty() {
            s.join(
                JoinKind::Inner,
                Relation::Cte("exposed"),
                "e",
                vec![Expr::at("e", "unit_id").op("=", Expr::col("f", &f.id_col))],
            );
        } else {
            let t = cat.id_types.iter().position(|x| *x == f.id_type).unwrap_or(0);
            s.join(
                JoinKind::Inner,
                Relation::CteNamed(format!("ids_{t}")),
                "i",
                vec![Expr::at("i", "id").op("=", Expr::col("f", &f.id_col))],
            );
            s.join(
                JoinKind::Inner,
                Relation::Cte("exposed"),
                "e",
                vec![Expr::at("e", "unit_id").op("=", Expr::at("i", "unit_id"))],
            );
        }
        s.filter.push(time.clone().op(">=", Expr::AddSeconds(Box::new(exposed_at()), lo)));
        if let Some(h) = hi {
            s.filter.push(time.clone().op("<", Expr::AddSeconds(Box::new(exposed_at()), h)));
        }
        if let Some(st) = &start {
            s.filter.push(time.clone().op(">=", Expr::AddSeconds(Box::new(Expr::Midnight(st.clone())), lo.min(0))));
        }
        if let Some(en) = &end_excl {
            s.filter.push(time.clone().op("<", Expr::Midnight(en.clone())));
        }
        s.group_by = GroupBy::Keys(vec![Expr::at("e", "unit_id")]);
        let via = if f.path.is_empty() { String::new() } else { format!(" (by {})", f.id_type) };
        ctes.push((
            format!("facts_{k}"),
            format!("per person, from fact source {}{via}", f.name).escape_debug().to_string(),
            s,
        ));
    }

    // 6. per person values, 0 without facts
    let mut s = Select::from(Relation::Cte("exposed"), "e");
    let keys: Vec<String> =
        ["variant", "exposure_day"].iter().map(|c| c.to_string()).chain(dims.iter().cloned()).collect();
    s.pass(Expr::at("e", "unit_id"));
    for c in &keys {
        s.pass(Expr::at("e", c.clone()));
    }
    let mut comps: Vec<(usize, char)> = Vec::new();
    for (i, m) in plan.metrics.iter().enumerate() {
        for (l, a, _) in components(m) {
            let t = format!("t{}", a.fact);
            let v = Expr::at(&t, format!("m{i}_{l}")).cast(Ty::Double);
            s.item(Expr::call("COALESCE", vec![v, Expr::Num(0.0)]), format!("m{i}_{l}"));
            comps.push((i, l));
        }
    }
    for &k in &facts {
        let t = format!("t{k}");
        s.join(
            JoinKind::Left,
            Relation::CteNamed(format!("facts_{k}")),
            &t,
            vec![Expr::at(&t, "unit_id").op("=", Expr::at("e", "unit_id"))],
        );
    }
    ctes.push(("unit_values".into(), "per person: every metric's components, 0 without a matching fact".into(), s));

    // 7. caps
    let quantile_caps: Vec<(usize, f64)> = plan
        .metrics
        .iter()
        .enumerate()
        .filter_map(|(i, m)| match m.cap {
            Some(CapSpec::Quantile(q)) => Some((i, q)),
            _ => None,
        })
        .collect();
    if !quantile_caps.is_empty() {
        let mut s = Select::from(Relation::Cte("unit_values"), "v");
        for &(i, q) in &quantile_caps {
            let x = Box::new(Expr::at("v", format!("m{i}_x")));
            if d == Dialect::Bigquery {
                s.item(Expr::QuantileWindow(x, q), format!("m{i}_cap"));
            } else {
                s.item(Expr::Quantile(x, q), format!("m{i}_cap"));
            }
        }
        if d == Dialect::Bigquery {
            s.limit = Some(1);
        }
        ctes.push(("caps".into(), "quantile caps over every kept person (linear interpolation, as numpy)".into(), s));
    }
    let any_cap = plan.metrics.iter().any(|m| m.cap.is_some());
    let values = if any_cap {
        let mut s = Select::from(Relation::Cte("unit_values"), "v");
        s.pass(Expr::at("v", "unit_id"));
        for c in &keys {
            s.pass(Expr::at("v", c.clone()));
        }
        for &(i, l) in &comps {
            let v = Expr::at("v", format!("m{i}_{l}"));
            let capped = match (l, plan.metrics[i].cap) {
                ('x', Some(CapSpec::Quantile(_))) => Expr::call("LEAST", vec![v, Expr::at("q", format!("m{i}_cap"))]),
                ('x', Some(CapSpec::Value(c))) => Expr::call("LEAST", vec![v, Expr::Num(c)]),
                _ => v,
            };
            s.item(capped, format!("m{i}_{l}"));
        }
        if !quantile_caps.is_empty() {
            s.join(JoinKind::Cross, Relation::Cte("caps"), "q", vec![]);
        }
        ctes.push(("capped".into(), "values capped (a ratio's numerator)".into(), s));
        "capped"
    } else {
        "unit_values"
    };

    // 8. shifts
    let shifts: Vec<(usize, char)> = comps.iter().copied().filter(|&(i, l)| shifted(plan.metrics[i], l)).collect();
    let centered = if shifts.is_empty() {
        values
    } else {
        let mut s = Select::from(Relation::Cte(values), "v");
        for &(i, l) in &shifts {
            s.item(Expr::call("ROUND", vec![Expr::at("v", format!("m{i}_{l}"))]), format!("m{i}_shift_{l}"));
        }
        s.order_by = vec![Expr::at("v", "unit_id")];
        s.limit = Some(1);
        ctes.push(("shifts".into(), "the shifts: the values of the person with the smallest id, rounded".into(), s));
        let mut s = Select::from(Relation::Cte(values), "v");
        for c in &keys {
            s.pass(Expr::at("v", c.clone()));
        }
        for &(i, l) in &comps {
            let v = Expr::at("v", format!("m{i}_{l}"));
            let e = if shifted(plan.metrics[i], l) { v.op("-", Expr::at("s", format!("m{i}_shift_{l}"))) } else { v };
            s.item(e, format!("m{i}_{l}"));
        }
        s.join(JoinKind::Cross, Relation::Cte("shifts"), "s", vec![]);
        ctes.push(("centered".into(), "values minus their shift".into(), s));
        "centered"
    };

    // 9. sufficient statistics per (variant, day) and per (variant, dimension value)
    let mut s = Select::from(Relation::Cte(centered), "c");
    for c in &keys {
        if c == "exposure_day" {
            // grouped as a date, written as text once per row of the answer
            s.item(Expr::at("c", c.clone()).cast(Ty::Text), c.clone());
        } else {
            s.pass(Expr::at("c", c.clone()));
        }
    }
    s.item(Expr::CountStar, "n");
    for (i, m) in plan.metrics.iter().enumerate() {
        let letters: Vec<char> = components(m).iter().map(|(l, _, _)| *l).collect();
        for (a, &la) in letters.iter().enumerate() {
            let va = || Expr::at("c", format!("m{i}_{la}"));
            s.item(Expr::call("SUM", vec![va()]), format!("m{i}_sum_{la}"));
            for &lb in &letters[a..] {
                let vb = Expr::at("c", format!("m{i}_{lb}"));
                s.item(Expr::call("SUM", vec![va().op("*", vb)]), format!("m{i}_sum_{}", pair(la, lb)));
            }
        }
        if third_moment(m) {
            let x = || Expr::at("c", format!("m{i}_x"));
            s.item(Expr::call("SUM", vec![x().op("*", x()).op("*", x())]), format!("m{i}_sum_x3"));
        }
        for &l in &letters {
            if shifted(m, l) {
                s.item(Expr::call("MAX", vec![Expr::at("s", format!("m{i}_shift_{l}"))]), format!("m{i}_shift_{l}"));
            }
        }
        if matches!(m.cap, Some(CapSpec::Quantile(_))) {
            s.item(Expr::call("MAX", vec![Expr::at("q", format!("m{i}_cap"))]), format!("m{i}_cap"));
        }
    }
    s.item(Expr::call("MAX", vec![Expr::at("mx", "multiple_exposures")]), "multiple_exposures");
    if !shifts.is_empty() {
        s.join(JoinKind::Cross, Relation::Cte("shifts"), "s", vec![]);
    }
    if !quantile_caps.is_empty() {
        s.join(JoinKind::Cross, Relation::Cte("caps"), "q", vec![]);
    }
    s.join(JoinKind::Cross, Relation::Cte("multiple"), "mx", vec![]);
    let by_day = vec![Expr::at("c", "variant"), Expr::at("c", "exposure_day")];
    s.group_by = if dims.is_empty() {
        GroupBy::Keys(by_day)
    } else {
        let mut sets = vec![by_day];
        sets.extend(dims.iter().map(|c| vec![Expr::at("c", "variant"), Expr::at("c", c.clone())]));
        GroupBy::Sets(sets)
    };
    s.order_by = keys.iter().map(|c| Expr::name(c.clone())).collect();

    let mut header = format!("-- liftlab: sufficient statistics of experiment {} ({})\n", key.escape_debug(), d.name());
    for (i, m) in plan.metrics.iter().enumerate() {
        header.push_str(&format!("-- m{i} = {}: {}\n", m.name.escape_debug(), describe(m, cat)));
    }
    for (k, name) in plan.dims.iter().enumerate() {
        header.push_str(&format!("-- dim{k} = {}\n", name.escape_debug()));
    }
    let body = Query { ctes, body: s }.render(d).map_err(|reason| Error::invalid("dialect", reason))?;
    Ok(CompiledQuery { sql: header + &body, dialect: d, columns: plan.columns() })
}

/// `CASE WHEN lo = hi THEN 0 ELSE 1 END`: 1 for a person seen in more than one variant.
fn mixed(lo: Expr, hi: Expr) -> Expr {
    Expr::when(lo.op("=", hi), Expr::Int(0), Some(Expr::Int(1)))
}
