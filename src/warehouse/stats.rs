//! The engine's answer -> [`ExperimentData`]: rows of (variant, day) and (variant, dimension
//! value) with `n`, shifted sums, shifts and caps become the per-variant cells, the segments and
//! the cumulative daily timeline the analysis reads.

use std::collections::BTreeMap;

use serde_json::Value;

use super::compile::{components, pair, shifted, third_moment, Plan};
use crate::error::{Error, Result};
use crate::report::ExperimentData;
use crate::spec::{CapSpec, Spec};
use crate::stats::moments::SuffStats;

pub use crate::limits::{MAX_STATS_COLUMNS, MAX_STATS_ROWS};

/// One cell of the engine's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Num(f64),
    Text(String),
}

/// The engine's answer: column names (any case) and rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatsTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

fn cell(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Number(n) => n.as_f64().map_or(Cell::Null, Cell::Num),
        Value::Bool(b) => Cell::Num(f64::from(u8::from(*b))),
        Value::String(s) => Cell::Text(s.clone()),
        other => Cell::Text(other.to_string()),
    }
}

impl StatsTable {
    /// Reads JSON in any of the forms engines print: `{"columns": [...], "rows": [[...]]}`, an
    /// array of row objects (`duckdb -json`), or one object per line (ClickHouse's
    /// `JSONEachRow`).
    pub fn from_json(text: &str) -> Result<Self> {
        let objects = |rows: Vec<&serde_json::Map<String, Value>>| -> Result<StatsTable> {
            let mut t = StatsTable::default();
            for r in &rows {
                for k in r.keys() {
                    if !t.columns.contains(k) {
                        t.columns.push(k.clone());
                        if t.columns.len() > MAX_STATS_COLUMNS {
                            return Err(Error::invalid("stats", format!("more than {MAX_STATS_COLUMNS} columns")));
                        }
                    }
                }
            }
            t.rows =
                rows.iter().map(|r| t.columns.iter().map(|c| r.get(c).map_or(Cell::Null, cell)).collect()).collect();
            Ok(t)
        };
        let t = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(o)) if o.contains_key("columns") && o.contains_key("rows") => {
                let columns: Vec<String> = serde_json::from_value(o["columns"].clone())
                    .map_err(|e| Error::invalid("stats.columns", format!("must be a list of names: {e}")))?;
                let rows =
                    o["rows"].as_array().ok_or_else(|| Error::invalid("stats.rows", "must be a list of rows"))?;
                let rows = rows
                    .iter()
                    .enumerate()
                    .map(|(i, r)| match r.as_array() {
                        Some(r) if r.len() == columns.len() => Ok(r.iter().map(cell).collect()),
                        _ => Err(Error::invalid(
                            format!("stats.rows[{i}]"),
                            format!("must be a list of {} values", columns.len()),
                        )),
                    })
                    .collect::<Result<_>>()?;
                StatsTable { columns, rows }
            }
            Ok(Value::Object(o)) => objects(vec![&o])?,
            Ok(Value::Array(a)) => objects(
                a.iter()
                    .enumerate()
                    .map(|(i, r)| {
                        r.as_object().ok_or_else(|| Error::invalid(format!("stats[{i}]"), "is not an object"))
                    })
                    .collect::<Result<_>>()?,
            )?,
            Ok(_) => return Err(Error::invalid("stats", "expected rows of statistics as JSON")),
            Err(_) => {
                let parsed: Vec<Value> = text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                    .map(|(i, l)| {
                        serde_json::from_str(l)
                            .map_err(|e| Error::invalid(format!("stats line {}", i + 1), format!("is not JSON: {e}")))
                    })
                    .collect::<Result<_>>()?;
                objects(
                    parsed
                        .iter()
                        .enumerate()
                        .map(|(i, r)| {
                            r.as_object()
                                .ok_or_else(|| Error::invalid(format!("stats line {}", i + 1), "is not an object"))
                        })
                        .collect::<Result<_>>()?,
                )?
            }
        };
        t.check_size()?;
        Ok(t)
    }

    fn check_size(&self) -> Result<()> {
        if self.rows.len() > MAX_STATS_ROWS {
            return Err(Error::invalid("stats", format!("has {} rows, more than {MAX_STATS_ROWS}", self.rows.len())));
        }
        if self.columns.len() > MAX_STATS_COLUMNS {
            return Err(Error::invalid("stats", format!("more than {MAX_STATS_COLUMNS} columns")));
        }
        Ok(())
    }
}

struct Reader<'a> {
    table: &'a StatsTable,
    idx: BTreeMap<String, usize>,
}

impl Reader<'_> {
    fn col(&self, name: &str) -> Result<usize> {
        self.idx.get(name).copied().ok_or_else(|| {
            Error::schema(
                format!("stats.{name}"),
                format!(
                    "the engine's answer has no column '{name}' (columns: {}); was it computed for this spec and experiment?",
                    self.table.columns.join(", ")
                ),
            )
        })
    }

    fn text(&self, r: usize, c: usize) -> Option<String> {
        match &self.table.rows[r][c] {
            Cell::Null => None,
            Cell::Text(s) => Some(s.clone()),
            Cell::Num(x) => Some(x.to_string()),
        }
    }

    fn num(&self, r: usize, c: usize) -> Result<f64> {
        let bad = |what: &str| {
            Error::invalid(
                format!("stats.{}[{r}]", self.table.columns[c]),
                format!("{what}: a value in the warehouse may be NaN or infinite, or the output was cut"),
            )
        };
        let x = match &self.table.rows[r][c] {
            Cell::Num(x) => *x,
            Cell::Text(s) => s.trim().parse::<f64>().map_err(|_| bad(&format!("'{s}' is not a number")))?,
            Cell::Null => return Err(bad("null")),
        };
        if x.is_finite() {
            Ok(x)
        } else {
            Err(bad(&format!("{x} is not finite")))
        }
    }

    fn count(&self, r: usize, c: usize) -> Result<u64> {
        let x = self.num(r, c)?;
        if x < 0.0 || x.fract() != 0.0 || x > 9.0e15 {
            return Err(Error::invalid(format!("stats.{}[{r}]", self.table.columns[c]), format!("{x} is not a count")));
        }
        Ok(x as u64)
    }
}

/// The statistics of `n` units from their shifted sums `S_k = Σ(v_k − s_k)`, sums of products
/// `P_kl = Σ(v_k − s_k)(v_l − s_l)` and shifts `s_k` (components `x, y, c, d`): exactly the fields
/// of [`SuffStats`], whose sums are of the shifted values.
fn suff_stats(n: u64, sums: [f64; 4], prods: [[f64; 4]; 4], shifts: [f64; 4], sum_x3: Option<f64>) -> SuffStats {
    SuffStats {
        n,
        sum_x: sums[0],
        sum_x2: prods[0][0],
        sum_y: sums[1],
        sum_y2: prods[1][1],
        sum_xy: prods[0][1],
        sum_c: sums[2],
        sum_c2: prods[2][2],
        sum_xc: prods[0][2],
        sum_yc: prods[1][2],
        sum_d: sums[3],
        sum_d2: prods[3][3],
        sum_xd: prods[0][3],
        sum_yd: prods[1][3],
        sum_cd: prods[2][3],
        shift_x: shifts[0],
        shift_y: shifts[1],
        shift_c: shifts[2],
        shift_d: shifts[3],
        sum_x3,
        ..Default::default()
    }
}

fn letter_index(l: char) -> usize {
    match l {
        'x' => 0,
        'y' => 1,
        'c' => 2,
        _ => 3,
    }
}

/// Turns the engine's answer to experiment `key`'s query into [`ExperimentData`].
pub(crate) fn read(spec: &Spec, key: &str, table: &StatsTable) -> Result<ExperimentData> {
    table.check_size()?;
    let plan = Plan::new(spec, key)?;
    let exp = spec.experiment(key)?;
    let nv = exp.variants.len();
    let nm = plan.metrics.len();
    let idx: BTreeMap<String, usize> =
        table.columns.iter().enumerate().map(|(i, c)| (c.to_ascii_lowercase(), i)).collect();
    let rd = Reader { table, idx };
    for (i, r) in table.rows.iter().enumerate() {
        if r.len() != table.columns.len() {
            return Err(Error::invalid(
                format!("stats.rows[{i}]"),
                format!("has {} values for {} columns", r.len(), table.columns.len()),
            ));
        }
    }
    let c_variant = rd.col("variant")?;
    let c_day = rd.col("exposure_day")?;
    let c_dims: Vec<usize> = (0..plan.dims.len()).map(|k| rd.col(&format!("dim{k}"))).collect::<Result<_>>()?;
    let c_n = rd.col("n")?;
    let c_multi = rd.col("multiple_exposures")?;
    // per metric: (letter index, sum column), (pair, column), (letter index, shift column), cap column
    struct MetricCols {
        sums: Vec<(usize, usize)>,
        prods: Vec<(usize, usize, usize)>,
        x3: Option<usize>,
        shifts: Vec<(usize, usize)>,
        cap: Option<usize>,
    }
    let mcols: Vec<MetricCols> = plan
        .metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let letters: Vec<char> = components(m).iter().map(|(l, _, _)| *l).collect();
            let mut mc = MetricCols { sums: Vec::new(), prods: Vec::new(), x3: None, shifts: Vec::new(), cap: None };
            for (a, &la) in letters.iter().enumerate() {
                mc.sums.push((letter_index(la), rd.col(&format!("m{i}_sum_{la}"))?));
                for &lb in &letters[a..] {
                    mc.prods.push((letter_index(la), letter_index(lb), rd.col(&format!("m{i}_sum_{}", pair(la, lb)))?));
                }
                if shifted(m, la) {
                    mc.shifts.push((letter_index(la), rd.col(&format!("m{i}_shift_{la}"))?));
                }
            }
            if third_moment(m) {
                mc.x3 = Some(rd.col(&format!("m{i}_sum_x3"))?);
            }
            if matches!(m.cap, Some(CapSpec::Quantile(_))) {
                mc.cap = Some(rd.col(&format!("m{i}_cap"))?);
            }
            Ok(mc)
        })
        .collect::<Result<_>>()?;

    let empty = || vec![vec![SuffStats::default(); nv]; nm];
    let mut exposures = vec![0u64; nv];
    let mut metrics = empty();
    let mut days: BTreeMap<String, Vec<Vec<SuffStats>>> = BTreeMap::new();
    let mut segments: BTreeMap<String, BTreeMap<String, Vec<Vec<SuffStats>>>> = BTreeMap::new();
    let mut multiple = 0u64;
    let mut caps: Vec<Option<f64>> = plan
        .metrics
        .iter()
        .map(|m| match m.cap {
            Some(CapSpec::Value(v)) => Some(v),
            _ => None,
        })
        .collect();
    for r in 0..table.rows.len() {
        let variant =
            rd.text(r, c_variant).ok_or_else(|| Error::invalid(format!("stats.variant[{r}]"), "null variant"))?;
        let v = exp.variants.iter().position(|x| *x == variant).ok_or_else(|| {
            Error::invalid(
                format!("stats.variant[{r}]"),
                format!("unknown variant '{variant}' (the experiment's variants: {})", exp.variants.join(", ")),
            )
        })?;
        let n = rd.count(r, c_n)?;
        multiple = multiple.max(rd.count(r, c_multi)?);
        let mut cells = Vec::with_capacity(nm);
        for (m, mc) in mcols.iter().enumerate() {
            let (mut sums, mut prods, mut shifts) = ([0.0; 4], [[0.0; 4]; 4], [0.0; 4]);
            for &(k, c) in &mc.sums {
                sums[k] = rd.num(r, c)?;
            }
            for &(k, l, c) in &mc.prods {
                prods[k][l] = rd.num(r, c)?;
                prods[l][k] = prods[k][l];
            }
            for &(k, c) in &mc.shifts {
                shifts[k] = rd.num(r, c)?;
            }
            if let Some(c) = mc.cap {
                if caps[m].is_none() {
                    caps[m] = rd.num(r, c).ok();
                }
            }
            let x3 = mc.x3.map(|c| rd.num(r, c)).transpose()?;
            cells.push(suff_stats(n, sums, prods, shifts, x3));
        }
        let day = rd.text(r, c_day);
        let dim_values: Vec<(usize, String)> =
            c_dims.iter().enumerate().filter_map(|(k, &c)| rd.text(r, c).map(|s| (k, s))).collect();
        let add = |target: &mut Vec<Vec<SuffStats>>| {
            for (tm, cm) in target.iter_mut().zip(&cells) {
                tm[v] += *cm;
            }
        };
        match (day, dim_values.as_slice()) {
            (Some(day), []) => {
                exposures[v] += n;
                add(&mut metrics);
                add(days.entry(day).or_insert_with(empty));
            }
            (None, [(k, value)]) => {
                add(segments.entry(plan.dims[*k].clone()).or_default().entry(value.clone()).or_insert_with(empty));
            }
            _ => {
                return Err(Error::invalid(
                    format!("stats.rows[{r}]"),
                    "a row holds either an exposure_day or one dimension value, not both or neither",
                ))
            }
        }
    }
    let mut running = empty();
    let timeline = days
        .into_iter()
        .map(|(day, cells)| {
            for (rm, cm) in running.iter_mut().zip(cells) {
                for (x, y) in rm.iter_mut().zip(cm) {
                    *x += y;
                }
            }
            (day, running.clone())
        })
        .collect();
    let any_cap = plan.metrics.iter().any(|m| m.cap.is_some());
    Ok(ExperimentData {
        exposures,
        multiple_exposures: multiple,
        missing_outcomes: 0,
        metrics,
        caps: if any_cap { caps } else { Vec::new() },
        segments,
        timeline,
    })
}
