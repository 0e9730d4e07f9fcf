//! The metric catalogue: where a warehouse keeps exposures and events, how a person's ids join,
//! and every metric defined once, as data, on those events. [`crate::warehouse`] compiles it to
//! one SQL query per experiment; the analysis then runs on the query's sufficient statistics.
//!
//! ```toml
//! [catalog]
//! id_types = ["phone", "unionid", "lead_id"]      # the ids the channels know a person by
//!
//! [[catalog.identities]]                          # maps ids of one type to another (many-to-many)
//! table = "crm.wechat_bindings"                   # or sql = "SELECT ..." or path = "ids.parquet"
//! ids = { phone = "phone", unionid = "unionid" }  # id type -> column
//!
//! [catalog.exposures]                             # one row per exposure; a person is `id_type`
//! table = "exposure_log"
//! id_type = "phone"
//! unit_col = "phone"
//! experiment_col = "experiment"
//! variant_col = "variant"
//! time_col = "exposed_at"
//! dimensions = ["channel", "city"]                # exposure-time attributes, for segments
//!
//! [[catalog.facts]]
//! name = "orders"
//! table = "orders"
//! ids = { phone = "buyer_phone" }                 # id columns by id type
//! time_col = "ordered_at"
//! columns = ["amount", "status"]                  # the columns metrics may read or filter on
//!
//! [[catalog.metrics]]
//! name = "revenue_7d"
//! kind = "sum"                                    # binary | count | sum | mean | ratio
//! fact = "orders"
//! column = "amount"
//! filters = [{ column = "status", op = "=", value = "paid" }]
//! window_days = [0, 7]                            # [start, end) days after first exposure
//! lookback_days = 28                              # CUPED: the same sum over the 28 days before
//! cap = { quantile = 0.99 }                       # computed in the engine, over exposed units
//!
//! [[catalog.metrics]]
//! name = "revenue_per_call"
//! kind = "ratio"
//! numerator = { fact = "orders", agg = "sum", column = "amount" }
//! denominator = { fact = "calls", agg = "count" }
//! ```
//!
//! ## Semantics (what the compiled SQL computes, per exposed person)
//! - **Exposure.** Rows with a null unit, variant or time are ignored. A person's first exposure
//!   (earliest time) gives their exposure time, day and dimensions; a person exposed to more than
//!   one variant is counted in `multiple_exposures` and excluded, as GrowthBook does.
//! - **Facts.** A fact row belongs to a person through one id column: the one of the exposure's
//!   id type when the fact has it, else the first of its id types (in `id_types` order) that the
//!   identity tables reach. Each (person, fact row) pair counts once, however many identity rows
//!   link them.
//! - **Windows.** A metric reads the fact rows with `exposure + start <= time < exposure + end`
//!   (`window_days`, default `[0, ∞)`; facts before exposure never count). The CUPED covariate
//!   (`lookback_days = L`) is the same aggregate over `exposure − L <= time < exposure`.
//! - **Aggregates per person.** `binary`: 1 when a matching row exists, else 0. `count`: matching
//!   rows. `sum`: sum of `column`. `mean`: the per-person aggregate `agg` (`sum`, `count`,
//!   `count_distinct`, `max`), averaged over persons. `ratio`: Σ numerator / Σ denominator, each a
//!   per-person aggregate. A person without matching rows contributes 0; a null value in the
//!   column adds nothing (SQL semantics).
//! - **Filters** are `{ column, op, value }` with `op` one of `=`, `!=`, `<`, `<=`, `>`, `>=`,
//!   `in`, `not_in`, `is_null`, `not_null`. A null cell never passes `=`, `!=`, `<`... (SQL).
//! - **Caps** apply to the per-person value (a ratio's numerator), after aggregation; a quantile
//!   cap is numpy's default (linear) quantile over every kept person, computed in the engine.
//!
//! Relative effects use the delta-method interval (`relative_interval = "log"` is not offered for
//! catalogue metrics yet: the query would need the sums of `ln x`).
//!
//! Each catalogue metric is also an analysis metric ([`Metric`]) whose unit-level columns are
//! named by [`FactMetric::columns`]: `<name>`, `<name>__den`, `<name>__pre`, `<name>__pre_den`, so
//! the same spec analyses a unit-level table with those columns in `liftlab.analyze`.
//!
//! ## Names and limits
//! Table, column and id-type names are quoted by the dialect; they may hold any character except
//! quotes (`'`, `"`, `` ` ``), backslashes and control characters, which are refused at load so no
//! name can end a quoted identifier. Filter values and paths are escaped as string literals.
//! Limits: 64 id types, 64 identity tables, 256 fact sources, 1,000 catalogue metrics, 32
//! dimensions, 64 filters per aggregate, 10,000 values in an `in` list, names of 256 characters,
//! SQL sources of 100,000 characters, windows of 36,500 days.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::analysis::{CapSpec, Metric, Missing};
use crate::error::{Error, Result};
use crate::stats::effect::MetricKind;
use crate::stats::Direction;

use crate::limits::{
    check_len, MAX_DIMENSIONS, MAX_FACTS, MAX_FILTERS, MAX_IDENTITIES, MAX_ID_TYPES, MAX_IN_VALUES, MAX_METRICS,
    MAX_SQL_CHARS, MAX_WINDOW_DAYS,
};

/// The catalogue as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogSpec {
    /// The id types persons are known by (phone, unionid, device_id, lead_id, ...).
    pub id_types: Vec<String>,
    /// Tables mapping ids of one type to another.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentitySpec>,
    /// The exposure log.
    pub exposures: ExposureSpec,
    /// Event tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<FactSpec>,
    /// Metrics on the facts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<FactMetricSpec>,
}

/// An identity table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySpec {
    /// A name for messages (default `identities[i]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Id type -> column; at least two.
    pub ids: BTreeMap<String, String>,
}

/// The exposure log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExposureSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The id type of the unit column: a person is one id of this type.
    pub id_type: String,
    pub unit_col: String,
    pub experiment_col: String,
    pub variant_col: String,
    pub time_col: String,
    /// Exposure-time attribute columns, for segment results (`[analysis] segments`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<String>,
}

/// An event table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Id type -> column; at least one.
    pub ids: BTreeMap<String, String>,
    pub time_col: String,
    /// The columns metrics may aggregate or filter on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
}

/// The kind of a catalogue metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// 1 when a matching row exists (conversion).
    Binary,
    /// Matching rows per person.
    Count,
    /// Sum of a column per person.
    Sum,
    /// A per-person aggregate (`agg`), averaged over persons.
    Mean,
    /// Σ numerator / Σ denominator.
    Ratio,
}

/// A per-person aggregation of fact rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agg {
    Sum,
    Count,
    CountDistinct,
    Max,
    /// 1 when any row matches (the aggregation of a binary metric).
    Any,
}

impl Agg {
    /// The name as written in the spec.
    pub fn name(self) -> &'static str {
        match self {
            Agg::Sum => "sum",
            Agg::Count => "count",
            Agg::CountDistinct => "count_distinct",
            Agg::Max => "max",
            Agg::Any => "any",
        }
    }

    fn needs_column(self) -> bool {
        matches!(self, Agg::Sum | Agg::CountDistinct | Agg::Max)
    }
}

/// A row filter operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FilterOp {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "in")]
    In,
    #[serde(rename = "not_in")]
    NotIn,
    #[serde(rename = "is_null")]
    IsNull,
    #[serde(rename = "not_null")]
    NotNull,
}

/// A row filter as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowFilterSpec {
    pub column: String,
    pub op: FilterOp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// One side of a ratio.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactAggSpec {
    pub fact: String,
    pub agg: Agg,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<RowFilterSpec>,
}

/// A catalogue metric as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactMetricSpec {
    pub name: String,
    pub kind: FactKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The per-person aggregation of a `mean` metric (default `sum`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg: Option<Agg>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<RowFilterSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator: Option<FactAggSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator: Option<FactAggSpec>,
    /// `[start, end)` in days after the first exposure (default `[0, ∞)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_days: Option<[f64; 2]>,
    /// CUPED: the covariate is the same aggregate over this many days before exposure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback_days: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<CapSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_margin: Option<f64>,
}

/// Where rows come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A table name, split on dots (`schema.table` -> `["schema", "table"]`).
    Table(Vec<String>),
    /// A `SELECT` written by the spec's author, used as a sub-query.
    Sql(String),
    /// A Parquet or CSV file (DuckDB, ClickHouse; Spark for Parquet).
    Path(String),
}

/// A validated identity table.
#[derive(Clone, Debug, PartialEq)]
pub struct Identity {
    pub name: String,
    pub source: Source,
    /// Id type -> column.
    pub ids: BTreeMap<String, String>,
}

/// A validated exposure source.
#[derive(Clone, Debug, PartialEq)]
pub struct ExposureSource {
    pub source: Source,
    pub id_type: String,
    pub unit_col: String,
    pub experiment_col: String,
    pub variant_col: String,
    pub time_col: String,
    pub dimensions: Vec<String>,
}

/// One step from ids of one type to ids of another through an identity table.
#[derive(Clone, Debug, PartialEq)]
pub struct Hop {
    pub identity: usize,
    /// The column of the type we come from and of the type we go to.
    pub from_col: String,
    pub to_col: String,
}

/// A validated fact source.
#[derive(Clone, Debug, PartialEq)]
pub struct FactSource {
    pub name: String,
    pub source: Source,
    /// The id type and column facts join persons by.
    pub id_type: String,
    pub id_col: String,
    /// Identity hops from the exposure's id type to `id_type` (empty: the same type).
    pub path: Vec<Hop>,
    pub time_col: String,
    pub columns: Vec<String>,
}

/// A filter value: text, a whole or a finite number, or a boolean.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Text(String),
    Int(i64),
    Num(f64),
    Bool(bool),
}

/// A validated row filter (one value; a list for `in` and `not_in`; none for the null tests).
#[derive(Clone, Debug, PartialEq)]
pub struct RowFilter {
    pub column: String,
    pub op: FilterOp,
    pub values: Vec<Literal>,
}

/// A validated per-person aggregation.
#[derive(Clone, Debug, PartialEq)]
pub struct FactAgg {
    /// Index into [`Catalog::facts`].
    pub fact: usize,
    pub agg: Agg,
    pub column: Option<String>,
    pub filters: Vec<RowFilter>,
}

/// A validated catalogue metric.
#[derive(Clone, Debug, PartialEq)]
pub struct FactMetric {
    pub name: String,
    pub kind: FactKind,
    /// The value (a ratio's numerator).
    pub value: FactAgg,
    /// A ratio's denominator.
    pub denominator: Option<FactAgg>,
    /// Window start and end in seconds after exposure (`None`: no end).
    pub window: (i64, Option<i64>),
    /// CUPED lookback in seconds.
    pub lookback: Option<i64>,
    pub cap: Option<CapSpec>,
}

impl FactMetric {
    /// The analysis kind: count, sum and mean metrics are means of a per-person value.
    pub fn metric_kind(&self) -> MetricKind {
        match self.kind {
            FactKind::Binary => MetricKind::Binary,
            FactKind::Ratio => MetricKind::Ratio,
            _ => MetricKind::Mean,
        }
    }

    /// The unit-level column names of `(x, y, c, d)`: the value (numerator), denominator,
    /// pre-period value and pre-period denominator.
    pub fn columns(&self) -> [Option<String>; 4] {
        let ratio = self.denominator.is_some();
        let cuped = self.lookback.is_some();
        let n = &self.name;
        [
            Some(n.clone()),
            ratio.then(|| format!("{n}__den")),
            cuped.then(|| format!("{n}__pre")),
            (ratio && cuped).then(|| format!("{n}__pre_den")),
        ]
    }
}

/// The validated catalogue.
#[derive(Clone, Debug, PartialEq)]
pub struct Catalog {
    pub id_types: Vec<String>,
    pub identities: Vec<Identity>,
    pub exposures: ExposureSource,
    pub facts: Vec<FactSource>,
    pub metrics: Vec<FactMetric>,
}

impl Catalog {
    /// The catalogue metric named `name`.
    pub fn metric(&self, name: &str) -> Option<&FactMetric> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

/// Checks a name the SQL will quote: not empty, bounded, and free of quotes, backslashes and
/// control characters (so it can never end its quoted identifier).
pub fn check_name(s: &str, field: &str) -> Result<()> {
    if s.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    crate::limits::check_name(field, s)?;
    if let Some(c) = s.chars().find(|c| matches!(c, '"' | '\'' | '`' | '\\') || c.is_control()) {
        return Err(Error::invalid(
            field,
            format!(
                "'{}' holds {c:?}: names may not contain quotes, backslashes or control characters",
                s.escape_debug()
            ),
        ));
    }
    Ok(())
}

fn check_text(s: &str, field: &str) -> Result<()> {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(Error::invalid(field, format!("holds the control character {c:?}")));
    }
    Ok(())
}

fn source(table: &Option<String>, sql: &Option<String>, path: &Option<String>) -> Result<Source> {
    match (table, sql, path) {
        (Some(t), None, None) => {
            let parts: Vec<String> = t.split('.').map(str::to_string).collect();
            for p in &parts {
                check_name(p, "table")?;
            }
            Ok(Source::Table(parts))
        }
        (None, Some(q), None) => {
            if q.len() > MAX_SQL_CHARS && q.chars().count() > MAX_SQL_CHARS {
                return Err(Error::invalid("sql", format!("is longer than {MAX_SQL_CHARS} characters")));
            }
            let head = q.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
            if head != "select" && head != "with" {
                return Err(Error::invalid("sql", "must be one SELECT (or WITH ... SELECT) statement"));
            }
            if q.contains(';') {
                return Err(Error::invalid("sql", "must be one statement, without ';'"));
            }
            Ok(Source::Sql(q.trim().to_string()))
        }
        (None, None, Some(p)) => {
            if p.trim().is_empty() {
                return Err(Error::invalid("path", "must not be empty"));
            }
            check_text(p, "path")?;
            let lower = p.to_ascii_lowercase();
            if !(lower.ends_with(".parquet") || lower.ends_with(".pq") || lower.ends_with(".csv")) {
                return Err(Error::invalid("path", format!("'{p}' is not a .parquet or .csv file")));
            }
            Ok(Source::Path(p.clone()))
        }
        _ => Err(Error::invalid("table", "give exactly one of `table`, `sql` or `path`")),
    }
}

fn days_to_seconds(d: f64, field: &str) -> Result<i64> {
    if !d.is_finite() || d.abs() > MAX_WINDOW_DAYS {
        return Err(Error::invalid(
            field,
            format!("{d} is not a number of days in [-{MAX_WINDOW_DAYS}, {MAX_WINDOW_DAYS}]"),
        ));
    }
    Ok((d * 86_400.0).round() as i64)
}

fn scalar(v: &Value, field: &str) -> Result<Literal> {
    match v {
        Value::String(s) => {
            check_text(s, field)?;
            Ok(Literal::Text(s.clone()))
        }
        Value::Number(n) if n.as_i64().is_some() => Ok(Literal::Int(n.as_i64().unwrap_or_default())),
        Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Ok(Literal::Num(n.as_f64().unwrap_or_default())),
        Value::Bool(b) => Ok(Literal::Bool(*b)),
        other => Err(Error::invalid(field, format!("{other} is not a string, a finite number or a boolean"))),
    }
}

fn validate_filter(f: &RowFilterSpec, fact: &FactSource) -> Result<RowFilter> {
    check_name(&f.column, "column")?;
    if !fact.columns.contains(&f.column) && f.column != fact.time_col {
        return Err(Error::invalid(
            "column",
            format!("fact '{}' has no column '{}' (columns: {})", fact.name, f.column, fact.columns.join(", ")),
        ));
    }
    let values = match (f.op, &f.value) {
        (FilterOp::IsNull | FilterOp::NotNull, None) => Vec::new(),
        (FilterOp::IsNull | FilterOp::NotNull, Some(_)) => {
            return Err(Error::invalid("value", "is_null and not_null take no value"))
        }
        (FilterOp::In | FilterOp::NotIn, Some(Value::Array(items))) => {
            if items.is_empty() {
                return Err(Error::invalid("value", "an `in` list needs at least one value"));
            }
            check_len("value", items.len(), MAX_IN_VALUES, "values")?;
            items.iter().enumerate().map(|(i, v)| scalar(v, &format!("value[{i}]"))).collect::<Result<_>>()?
        }
        (FilterOp::In | FilterOp::NotIn, _) => return Err(Error::invalid("value", "`in` and `not_in` take a list")),
        (_, Some(v)) => vec![scalar(v, "value")?],
        (_, None) => return Err(Error::invalid("value", "this operator needs a value")),
    };
    Ok(RowFilter { column: f.column.clone(), op: f.op, values })
}

fn find_fact(facts: &[FactSource], name: &str, field: &str) -> Result<usize> {
    facts.iter().position(|f| f.name == name).ok_or_else(|| {
        Error::invalid(
            field,
            format!(
                "no fact source named '{name}' (facts: {})",
                facts.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

fn validate_agg(
    facts: &[FactSource],
    fact: &str,
    agg: Agg,
    column: Option<&String>,
    filters: &[RowFilterSpec],
) -> Result<FactAgg> {
    let idx = find_fact(facts, fact, "fact")?;
    let f = &facts[idx];
    let column = match (agg.needs_column(), column) {
        (true, None) => return Err(Error::invalid("column", format!("`{}` needs a column", agg.name()))),
        (false, Some(_)) => {
            return Err(Error::invalid("column", format!("`{}` reads no column; remove it", agg.name())))
        }
        (true, Some(c)) => {
            check_name(c, "column")?;
            if !f.columns.contains(c) {
                return Err(Error::invalid(
                    "column",
                    format!("fact '{}' has no column '{c}' (columns: {})", f.name, f.columns.join(", ")),
                ));
            }
            Some(c.clone())
        }
        (false, None) => None,
    };
    check_len("filters", filters.len(), MAX_FILTERS, "filters")?;
    let filters = filters
        .iter()
        .enumerate()
        .map(|(i, r)| validate_filter(r, f).map_err(|e| e.within(format!("filters[{i}]"))))
        .collect::<Result<_>>()?;
    Ok(FactAgg { fact: idx, agg, column, filters })
}

/// Shortest identity path from `from` to `to` over the identity tables (breadth first).
fn identity_path(identities: &[Identity], from: &str, to: &str) -> Option<Vec<Hop>> {
    if from == to {
        return Some(Vec::new());
    }
    let mut prev: BTreeMap<String, (String, Hop)> = BTreeMap::new();
    let mut queue = VecDeque::from([from.to_string()]);
    let mut seen = HashSet::from([from.to_string()]);
    while let Some(t) = queue.pop_front() {
        for (i, id) in identities.iter().enumerate() {
            let Some(from_col) = id.ids.get(&t) else { continue };
            for (next, to_col) in &id.ids {
                if seen.insert(next.clone()) {
                    prev.insert(
                        next.clone(),
                        (t.clone(), Hop { identity: i, from_col: from_col.clone(), to_col: to_col.clone() }),
                    );
                    if next == to {
                        let mut path = Vec::new();
                        let mut at = to.to_string();
                        while let Some((p, hop)) = prev.get(&at) {
                            path.push(hop.clone());
                            at = p.clone();
                        }
                        path.reverse();
                        return Some(path);
                    }
                    queue.push_back(next.clone());
                }
            }
        }
    }
    None
}

impl CatalogSpec {
    /// Validates the catalogue and returns it with one analysis [`Metric`] per catalogue metric
    /// (same order). Errors name the field below `catalog`.
    pub fn validate(&self) -> Result<(Catalog, Vec<Metric>)> {
        self.validate_inner().map_err(|e| e.within("catalog"))
    }

    fn validate_inner(&self) -> Result<(Catalog, Vec<Metric>)> {
        check_len("id_types", self.id_types.len(), MAX_ID_TYPES, "id types")?;
        if self.id_types.is_empty() {
            return Err(Error::invalid("id_types", "name at least the exposure's id type"));
        }
        for (i, t) in self.id_types.iter().enumerate() {
            check_name(t, &format!("id_types[{i}]"))?;
            if self.id_types[..i].contains(t) {
                return Err(Error::invalid(format!("id_types[{i}]"), format!("duplicate id type '{t}'")));
            }
        }
        let known = |t: &str, field: &str| -> Result<()> {
            if self.id_types.iter().any(|x| x == t) {
                Ok(())
            } else {
                Err(Error::invalid(
                    field,
                    format!("'{t}' is not one of the catalogue's id_types ({})", self.id_types.join(", ")),
                ))
            }
        };
        let check_ids = |ids: &BTreeMap<String, String>| -> Result<()> {
            for (t, col) in ids {
                known(t, &format!("ids.{t}"))?;
                check_name(col, &format!("ids.{t}"))?;
            }
            Ok(())
        };

        check_len("identities", self.identities.len(), MAX_IDENTITIES, "identity tables")?;
        let mut identities = Vec::new();
        for (i, s) in self.identities.iter().enumerate() {
            let at = format!("identities[{i}]");
            let name = s.name.clone().unwrap_or_else(|| at.clone());
            (|| -> Result<()> {
                check_name(&name, "name")?;
                if s.ids.len() < 2 {
                    return Err(Error::invalid("ids", "an identity table maps at least two id types"));
                }
                check_ids(&s.ids)?;
                identities.push(Identity {
                    name: name.clone(),
                    source: source(&s.table, &s.sql, &s.path)?,
                    ids: s.ids.clone(),
                });
                Ok(())
            })()
            .map_err(|e| e.within(&at))?;
        }

        let e = &self.exposures;
        let exposures = (|| -> Result<ExposureSource> {
            known(&e.id_type, "id_type")?;
            for (field, v) in [
                ("unit_col", &e.unit_col),
                ("experiment_col", &e.experiment_col),
                ("variant_col", &e.variant_col),
                ("time_col", &e.time_col),
            ] {
                check_name(v, field)?;
            }
            check_len("dimensions", e.dimensions.len(), MAX_DIMENSIONS, "dimensions")?;
            for (i, d) in e.dimensions.iter().enumerate() {
                check_name(d, &format!("dimensions[{i}]"))?;
                if e.dimensions[..i].contains(d) {
                    return Err(Error::invalid(format!("dimensions[{i}]"), format!("duplicate dimension '{d}'")));
                }
            }
            Ok(ExposureSource {
                source: source(&e.table, &e.sql, &e.path)?,
                id_type: e.id_type.clone(),
                unit_col: e.unit_col.clone(),
                experiment_col: e.experiment_col.clone(),
                variant_col: e.variant_col.clone(),
                time_col: e.time_col.clone(),
                dimensions: e.dimensions.clone(),
            })
        })()
        .map_err(|e| e.within("exposures"))?;

        check_len("facts", self.facts.len(), MAX_FACTS, "fact sources")?;
        let mut facts: Vec<FactSource> = Vec::new();
        for (i, f) in self.facts.iter().enumerate() {
            let fact = (|| -> Result<FactSource> {
                check_name(&f.name, "name")?;
                if facts.iter().any(|x| x.name == f.name) {
                    return Err(Error::invalid("name", format!("duplicate fact source '{}'", f.name)));
                }
                if f.ids.is_empty() {
                    return Err(Error::invalid("ids", "a fact source needs at least one id column"));
                }
                check_ids(&f.ids)?;
                check_name(&f.time_col, "time_col")?;
                for (j, c) in f.columns.iter().enumerate() {
                    check_name(c, &format!("columns[{j}]"))?;
                }
                // the exposure's own id type first, then the others in `id_types` order
                let candidates = std::iter::once(&exposures.id_type)
                    .chain(self.id_types.iter().filter(|t| **t != exposures.id_type))
                    .filter(|t| f.ids.contains_key(*t));
                let (id_type, path) = candidates
                    .filter_map(|t| identity_path(&identities, &exposures.id_type, t).map(|p| (t.clone(), p)))
                    .next()
                    .ok_or_else(|| {
                        Error::invalid(
                            "ids",
                            format!(
                                "no id type of fact '{}' ({}) reaches the exposure's id type '{}' through the identity tables",
                                f.name,
                                f.ids.keys().cloned().collect::<Vec<_>>().join(", "),
                                exposures.id_type
                            ),
                        )
                    })?;
                Ok(FactSource {
                    name: f.name.clone(),
                    source: source(&f.table, &f.sql, &f.path)?,
                    id_col: f.ids[&id_type].clone(),
                    id_type,
                    path,
                    time_col: f.time_col.clone(),
                    columns: f.columns.clone(),
                })
            })()
            .map_err(|e| e.within(format!("facts[{i}]")))?;
            facts.push(fact);
        }

        check_len("metrics", self.metrics.len(), MAX_METRICS, "metrics")?;
        let mut metrics = Vec::new();
        let mut analysis = Vec::new();
        for (i, m) in self.metrics.iter().enumerate() {
            let (fm, am) = m.validate(&facts).map_err(|e| e.within(format!("metrics[{i}]")))?;
            if metrics.iter().any(|x: &FactMetric| x.name == fm.name) {
                return Err(Error::invalid(format!("metrics[{i}].name"), format!("duplicate metric '{}'", fm.name)));
            }
            metrics.push(fm);
            analysis.push(am);
        }
        // the unit-level column names of one metric must not be another metric's
        let mut cols: BTreeMap<String, usize> = BTreeMap::new();
        for (i, m) in metrics.iter().enumerate() {
            for c in m.columns().into_iter().flatten() {
                if let Some(j) = cols.insert(c.clone(), i) {
                    return Err(Error::invalid(
                        format!("metrics[{i}].name"),
                        format!("its column '{c}' is also a column of metric '{}'; rename one", metrics[j].name),
                    ));
                }
            }
        }
        Ok((Catalog { id_types: self.id_types.clone(), identities, exposures, facts, metrics }, analysis))
    }
}

impl FactMetricSpec {
    fn validate(&self, facts: &[FactSource]) -> Result<(FactMetric, Metric)> {
        check_name(&self.name, "name")?;
        let ratio = self.kind == FactKind::Ratio;
        if ratio {
            for (field, set) in [
                ("fact", self.fact.is_some()),
                ("column", self.column.is_some()),
                ("agg", self.agg.is_some()),
                ("filters", !self.filters.is_empty()),
            ] {
                if set {
                    return Err(Error::invalid(
                        field,
                        "a ratio is defined by `numerator` and `denominator`; move it into them",
                    ));
                }
            }
        } else {
            for (field, set) in [("numerator", self.numerator.is_some()), ("denominator", self.denominator.is_some())] {
                if set {
                    return Err(Error::invalid(field, "only a ratio metric has a numerator and a denominator"));
                }
            }
        }
        let (value, denominator) = if ratio {
            let part = |p: &Option<FactAggSpec>, field: &str| -> Result<FactAgg> {
                let p = p.as_ref().ok_or_else(|| Error::invalid(field, "a ratio metric needs it"))?;
                if p.agg == Agg::Any {
                    return Err(Error::invalid(format!("{field}.agg"), "use count, sum, count_distinct or max"));
                }
                validate_agg(facts, &p.fact, p.agg, p.column.as_ref(), &p.filters).map_err(|e| e.within(field))
            };
            (part(&self.numerator, "numerator")?, Some(part(&self.denominator, "denominator")?))
        } else {
            let fact = self.fact.as_ref().ok_or_else(|| Error::invalid("fact", "name the fact source to aggregate"))?;
            let agg = match (self.kind, self.agg) {
                (FactKind::Binary, None) => Agg::Any,
                (FactKind::Count, None) => Agg::Count,
                (FactKind::Sum, None) => Agg::Sum,
                (FactKind::Mean, None) => Agg::Sum,
                (FactKind::Mean, Some(Agg::Any)) => {
                    return Err(Error::invalid("agg", "use kind = \"binary\" for whether any row matches"))
                }
                (FactKind::Mean, Some(a)) => a,
                _ => {
                    return Err(Error::invalid(
                        "agg",
                        "only a `mean` metric (or a ratio's parts) chooses its aggregation",
                    ))
                }
            };
            (validate_agg(facts, fact, agg, self.column.as_ref(), &self.filters)?, None)
        };
        let window = match self.window_days {
            None => (0, None),
            Some([s, e]) => {
                let (s, e) = (days_to_seconds(s, "window_days[0]")?, days_to_seconds(e, "window_days[1]")?);
                if s < 0 {
                    return Err(Error::invalid("window_days[0]", "a window starts at or after the exposure (>= 0)"));
                }
                if e <= s {
                    return Err(Error::invalid(
                        "window_days",
                        format!("the end ({e} s) is not after the start ({s} s); write [start, end) with end > start"),
                    ));
                }
                (s, Some(e))
            }
        };
        let lookback = match self.lookback_days {
            None => None,
            Some(l) => {
                let s = days_to_seconds(l, "lookback_days")?;
                if s <= 0 {
                    return Err(Error::invalid("lookback_days", format!("{l} is not a number of days > 0")));
                }
                if self.kind == FactKind::Binary {
                    return Err(Error::invalid(
                        "lookback_days",
                        "CUPED applies to count, sum, mean and ratio metrics, not binary ones",
                    ));
                }
                Some(s)
            }
        };
        let fm = FactMetric {
            name: self.name.clone(),
            kind: self.kind,
            value,
            denominator,
            window,
            lookback,
            cap: self.cap,
        };
        let [column, den, pre, pre_den] = fm.columns();
        let spec = super::analysis::MetricSpec {
            name: self.name.clone(),
            kind: fm.metric_kind(),
            column,
            denominator: den,
            covariate: pre,
            covariate_denominator: pre_den,
            direction: self.direction,
            guardrail_margin: self.guardrail_margin,
            cap: self.cap,
            missing: Some(Missing::Zero),
            // the log-scale interval needs sums of ln x, which the query does not compute yet
            relative_interval: None,
        };
        let metric = spec.validate()?;
        Ok((fm, metric))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_quotes_and_control_characters() {
        assert!(check_name("order", "f").is_ok());
        assert!(check_name("select", "f").is_ok());
        assert!(check_name("a b.c", "f").is_ok());
        for bad in ["a\"b", "a`b", "a'b", "a\\b", "a\nb", "", "  "] {
            assert_eq!(check_name(bad, "f").unwrap_err().field(), Some("f"), "{bad:?}");
        }
    }

    #[test]
    fn shortest_identity_path() {
        let id = |a: &str, b: &str| Identity {
            name: format!("{a}-{b}"),
            source: Source::Table(vec![format!("{a}_{b}")]),
            ids: BTreeMap::from([(a.to_string(), format!("{a}_col")), (b.to_string(), format!("{b}_col"))]),
        };
        let ids = vec![id("phone", "device"), id("device", "unionid"), id("phone", "lead")];
        assert_eq!(identity_path(&ids, "phone", "phone"), Some(vec![]));
        let p = identity_path(&ids, "phone", "unionid").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].identity, p[0].from_col.as_str(), p[0].to_col.as_str()), (0, "phone_col", "device_col"));
        assert_eq!((p[1].identity, p[1].from_col.as_str(), p[1].to_col.as_str()), (1, "device_col", "unionid_col"));
        assert_eq!(identity_path(&ids, "phone", "nowhere"), None);
    }
}
