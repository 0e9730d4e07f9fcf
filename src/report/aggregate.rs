//! From unit-level columns to [`ExperimentData`]: the join of exposures and outcomes, capping,
//! and the per-variant / per-segment / per-day sufficient statistics.
//!
//! Rules (the and the docs'):
//! - A unit exposed to more than one variant is counted in `multiple_exposures` and excluded
//!   from everything else; repeated exposures to the same variant count once (first time wins).
//! - A variant name not in the experiment is an error naming the value and the row.
//! - An exposed unit with no outcome row counts as 0 for metrics with `missing = "zero"` (the
//!   default) and is left out of metrics with `missing = "drop"`.
//! - A null, NaN or infinite outcome value of an exposed unit is an error naming the column and
//!   the row (`nan_policy = "raise"`); outcome rows of units never exposed are ignored.
//! - Capping at a quantile uses the pooled values of the exposed units (numpy's default linear
//!   interpolation), then `min(value, cap)`; a ratio caps its numerator.
//! - Sums are shifted by one value of the metric ([`metric_shift`]) so that a metric with a large
//!   mean keeps its variance; the shift is in the cells (`shift_x`, ...).
//!
//! Speed: text columns arrive dictionary-coded ([`Codes`]); integer ids that are sorted (or
//! identical in both tables) are joined without hashing.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::ExperimentData;
use crate::error::{Detail, Error, FieldPath, Reason, Result, Segment};
use crate::spec::{CapSpec, Metric, Missing, Spec};
use crate::stats::moments::SuffStats;

/// Unit ids of a table: integers or text.
#[derive(Clone, Debug)]
pub enum Ids {
    Int(Vec<i64>),
    Str(Vec<String>),
}

impl Ids {
    pub fn len(&self) -> usize {
        match self {
            Ids::Int(v) => v.len(),
            Ids::Str(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub(crate) fn display(&self, i: usize) -> String {
        match self {
            Ids::Int(v) => v[i].to_string(),
            Ids::Str(v) => v[i].clone(),
        }
    }
}

/// A dictionary-coded text column: `names[codes[i]]` is row `i`'s value; [`Codes::NULL`] is a
/// missing value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Codes {
    pub codes: Vec<u32>,
    pub names: Vec<String>,
}

impl Codes {
    pub const NULL: u32 = u32::MAX;

    /// Codes values in order of first appearance.
    pub fn from_values<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut c = Codes::default();
        let mut map: FxHashMap<String, u32> = FxHashMap::default();
        for v in values {
            c.push(v, &mut map);
        }
        c
    }

    /// Appends one value, using `map` (name -> code) to find or add its code.
    #[inline]
    pub fn push(&mut self, v: Option<&str>, map: &mut FxHashMap<String, u32>) {
        let code = self.code_of(v, map);
        self.codes.push(code);
    }

    /// The code of a value, adding it to the dictionary when new (without appending a row); null
    /// and empty text are [`Codes::NULL`] (the rule of [`super::input`]).
    #[inline]
    pub fn code_of(&mut self, v: Option<&str>, map: &mut FxHashMap<String, u32>) -> u32 {
        match v {
            None | Some("") => Codes::NULL,
            Some(s) => match map.get(s) {
                Some(&k) => k,
                None => {
                    let k = self.names.len() as u32;
                    self.names.push(s.to_string());
                    map.insert(s.to_string(), k);
                    k
                }
            },
        }
    }

    /// A column coded elsewhere (a DataFrame's dictionary): `names[codes[i]]` is row `i`'s value.
    /// A code outside the dictionary is an error at `column[row]`; a name that is empty text is
    /// null, as [`Codes::code_of`] has it.
    pub fn from_dictionary(column: &str, mut codes: Vec<u32>, names: Vec<String>) -> Result<Self> {
        if let Some(r) = codes.iter().position(|&c| c != Codes::NULL && c as usize >= names.len()) {
            return Err(Error::invalid(super::input::cell(column, r), "code outside the dictionary"));
        }
        if let Some(empty) = names.iter().position(String::is_empty) {
            for c in codes.iter_mut().filter(|c| **c == empty as u32) {
                *c = Codes::NULL;
            }
        }
        Ok(Codes { codes, names })
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

/// The exposures table as columns.
#[derive(Clone, Debug)]
pub struct Exposures {
    pub units: Ids,
    pub variants: Codes,
    /// First exposure, in days since 1970-01-01 (UTC), when known.
    pub days: Option<Vec<Option<i64>>>,
    /// Segment columns: name and values.
    pub segments: Vec<(String, Codes)>,
}

/// The outcomes table as columns: unit ids and named numeric columns (NaN marks a null).
#[derive(Clone, Debug)]
pub struct Outcomes {
    pub units: Ids,
    pub columns: BTreeMap<String, Vec<f64>>,
}

/// Days since 1970-01-01 to an ISO date (Hinnant's `civil_from_days`).
pub fn iso_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 of a civil date (Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses the date at the start of `s` (`YYYY-MM-DD`, optionally followed by a time) to days
/// since 1970-01-01.
pub fn parse_iso_day(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s.get(0..4)?.parse().ok()?;
    let m: i64 = s.get(5..7)?.parse().ok()?;
    let d: i64 = s.get(8..10)?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| days_from_civil(y, m, d))
}

/// numpy's default quantile (linear interpolation between order statistics).
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = q * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let frac = pos - lo as f64;
    let (_, &mut a, rest) = values.select_nth_unstable_by(lo, f64::total_cmp);
    if frac == 0.0 || rest.is_empty() {
        return a;
    }
    let b = rest.iter().copied().fold(f64::INFINITY, f64::min);
    a + frac * (b - a)
}

/// For each exposure row kept, the unit's variant, first day and row in the exposures table.
struct Kept {
    variant: Vec<u32>,
    /// Empty when the exposures carry no times.
    day: Vec<Option<i64>>,
    row: Vec<usize>,
    /// Every exposure row is kept in order: `row` is left empty and row `i` is unit `i`.
    identity: bool,
    /// Row of the unit in the outcomes table (`u32::MAX`: none).
    outcome_row: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl Kept {
    /// The exposures row of kept unit `i`.
    #[inline]
    fn row(&self, i: usize) -> usize {
        if self.identity {
            i
        } else {
            self.row[i]
        }
    }

    fn rows(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.variant.len()).map(|i| self.row(i))
    }
}

/// An exposures column whose length is not the unit column's (`variant: has 3 rows but unit has 4`).
fn column_mismatch(column: &str, len: usize, units: usize) -> Error {
    Error::Schema {
        field: column.into(),
        reason: Reason::length_mismatch(len, "rows", "unit", units, ""),
        detail: Some(Detail::LengthMismatch),
    }
}

fn dedupe_exposures(exp: &Exposures, names: &[String]) -> Result<(Kept, u64)> {
    let n = exp.units.len();
    if exp.variants.len() != n {
        return Err(column_mismatch("variant", exp.variants.len(), n));
    }
    let days = exp.days.as_ref();
    if let Some(d) = days {
        if d.len() != n {
            return Err(column_mismatch("time", d.len(), n));
        }
    }
    // the file's variant codes -> the experiment's variant indices
    let remap: Vec<Option<u32>> =
        exp.variants.names.iter().map(|v| names.iter().position(|x| x == v).map(|i| i as u32)).collect();
    let mut variant = Vec::with_capacity(n);
    for (row, &code) in exp.variants.codes.iter().enumerate() {
        let idx = if code == Codes::NULL { None } else { remap.get(code as usize).copied().flatten() };
        match (idx, exp.variants.names.get(code as usize)) {
            (Some(i), _) => variant.push(i),
            (None, Some(v)) => {
                return Err(Error::invalid(
                    super::input::cell("variant", row).within("exposures"),
                    format!("unknown variant '{v}' (the experiment's variants: {})", names.join(", ")),
                ))
            }
            (None, None) => {
                return Err(super::input::check_variants("variant", &exp.variants).unwrap_err().within("exposures"))
            }
        }
    }
    let mut kept =
        Kept { variant: Vec::new(), day: Vec::new(), row: Vec::new(), identity: false, outcome_row: Vec::new() };
    let multi = match &exp.units {
        // strictly increasing integer ids hold no duplicate: keep every row as it is
        Ids::Int(ids) if ids.windows(2).all(|w| w[0] < w[1]) => {
            kept.identity = true;
            kept.day = days.cloned().unwrap_or_default();
            kept.variant = variant;
            0
        }
        Ids::Int(ids) => dedupe(ids.iter().copied(), &variant, days, &mut kept),
        Ids::Str(ids) => dedupe(ids.iter().map(String::as_str), &variant, days, &mut kept),
    };
    Ok((kept, multi))
}

/// First-seen deduplication; units seen in two variants are dropped and counted.
fn dedupe<K: std::hash::Hash + Eq>(
    ids: impl ExactSizeIterator<Item = K>,
    variant: &[u32],
    days: Option<&Vec<Option<i64>>>,
    kept: &mut Kept,
) -> u64 {
    use std::collections::hash_map::Entry;
    const MULTI: u32 = u32::MAX;
    let mut seen: FxHashMap<K, u32> = FxHashMap::default();
    seen.reserve(ids.len());
    let mut valid = Vec::with_capacity(ids.len());
    let mut multi = 0u64;
    for (row, id) in ids.enumerate() {
        let day = days.and_then(|d| d[row]);
        match seen.entry(id) {
            Entry::Vacant(e) => {
                e.insert(kept.variant.len() as u32);
                kept.variant.push(variant[row]);
                if days.is_some() {
                    kept.day.push(day);
                }
                kept.row.push(row);
                valid.push(true);
            }
            Entry::Occupied(mut e) => {
                let k = *e.get();
                if k == MULTI {
                    continue;
                }
                let k = k as usize;
                if kept.variant[k] != variant[row] {
                    multi += 1;
                    valid[k] = false;
                    e.insert(MULTI);
                } else if let Some(d) = day {
                    kept.day[k] = Some(kept.day[k].map_or(d, |x| x.min(d)));
                }
            }
        }
    }
    if multi > 0 {
        fn keep<T>(v: &mut Vec<T>, valid: &[bool]) {
            let mut i = 0;
            v.retain(|_| {
                i += 1;
                valid[i - 1]
            });
        }
        keep(&mut kept.variant, &valid);
        keep(&mut kept.day, &valid);
        keep(&mut kept.row, &valid);
    }
    multi
}

fn duplicate_outcome(out: &Outcomes, a: usize, b: usize) -> Error {
    Error::invalid(
        format!("outcomes.unit[{b}]"),
        format!(
            "unit '{}' has two outcome rows ({a} and {b}); aggregate outcomes to one row per unit",
            out.units.display(b)
        ),
    )
}

/// Outcome rows of sorted integer ids by a merge join (no hashing); `None` when not sorted.
fn merge_join(kept_ids: &[i64], out_ids: &[i64], out: &Outcomes) -> Option<Result<Vec<u32>>> {
    if !kept_ids.windows(2).all(|w| w[0] < w[1]) {
        return None;
    }
    if !out_ids.windows(2).all(|w| w[0] < w[1]) {
        // not strictly increasing: unsorted (hash join) or a duplicate next to its twin
        if out_ids.windows(2).any(|w| w[0] > w[1]) {
            return None;
        }
        let i = out_ids.windows(2).position(|w| w[0] == w[1]).unwrap_or(0);
        return Some(Err(duplicate_outcome(out, i, i + 1)));
    }
    // the same units in the same order (one outcome row per exposed unit)
    if kept_ids == out_ids {
        return Some(Ok((0..out_ids.len() as u32).collect()));
    }
    let mut rows = Vec::with_capacity(kept_ids.len());
    let mut j = 0;
    for &id in kept_ids {
        while j < out_ids.len() && out_ids[j] < id {
            j += 1;
        }
        rows.push(if j < out_ids.len() && out_ids[j] == id { j as u32 } else { NONE });
    }
    Some(Ok(rows))
}

/// Finds each kept unit's outcome row.
fn join_outcomes(exp: &Exposures, kept: &mut Kept, out: &Outcomes) -> Result<()> {
    if out.units.len() >= NONE as usize {
        return Err(Error::invalid("outcomes", "more than 4 billion rows"));
    }
    kept.outcome_row = match (&exp.units, &out.units) {
        (Ids::Int(e), Ids::Int(o)) => {
            // every row kept (the common case): the exposure ids are the kept ids
            let kept_ids: std::borrow::Cow<'_, [i64]> = if kept.identity {
                std::borrow::Cow::Borrowed(e)
            } else {
                kept.row.iter().map(|&r| e[r]).collect::<Vec<_>>().into()
            };
            match merge_join(&kept_ids, o, out) {
                Some(rows) => rows?,
                None => {
                    let mut map: FxHashMap<i64, u32> = FxHashMap::default();
                    map.reserve(o.len());
                    for (r, id) in o.iter().enumerate() {
                        if let Some(prev) = map.insert(*id, r as u32) {
                            return Err(duplicate_outcome(out, prev as usize, r));
                        }
                    }
                    kept_ids.iter().map(|id| map.get(id).copied().unwrap_or(NONE)).collect()
                }
            }
        }
        (Ids::Str(e), Ids::Str(o)) => {
            let mut map: FxHashMap<&str, u32> = FxHashMap::default();
            map.reserve(o.len());
            for (r, id) in o.iter().enumerate() {
                if let Some(prev) = map.insert(id.as_str(), r as u32) {
                    return Err(duplicate_outcome(out, prev as usize, r));
                }
            }
            kept.rows().map(|r| map.get(e[r].as_str()).copied().unwrap_or(NONE)).collect()
        }
        (Ids::Int(e), Ids::Str(o)) => {
            let mut map: FxHashMap<&str, u32> = FxHashMap::default();
            for (r, id) in o.iter().enumerate() {
                if let Some(prev) = map.insert(id.as_str(), r as u32) {
                    return Err(duplicate_outcome(out, prev as usize, r));
                }
            }
            kept.rows().map(|r| map.get(e[r].to_string().as_str()).copied().unwrap_or(NONE)).collect()
        }
        (Ids::Str(e), Ids::Int(o)) => {
            let mut map: FxHashMap<String, u32> = FxHashMap::default();
            for (r, id) in o.iter().enumerate() {
                if let Some(prev) = map.insert(id.to_string(), r as u32) {
                    return Err(duplicate_outcome(out, prev as usize, r));
                }
            }
            kept.rows().map(|r| map.get(e[r].as_str()).copied().unwrap_or(NONE)).collect()
        }
    };
    Ok(())
}

/// A metric's per-unit value getter over the outcome columns.
struct MetricCols<'a> {
    cols: [Option<(&'a str, &'a [f64])>; 4],
    missing: Missing,
    cap: Option<f64>,
    /// Keep the sums of `ln x` (the log-scale relative interval).
    log: bool,
}

impl MetricCols<'_> {
    /// `(x, y, c, d)` of outcome row `r`, or `None` to leave the unit out.
    #[inline]
    fn values(&self, r: u32) -> Result<Option<[f64; 4]>> {
        if r == NONE {
            return Ok(match self.missing {
                Missing::Zero => Some([0.0; 4]),
                Missing::Drop => None,
            });
        }
        let mut v = [0.0; 4];
        for (k, col) in self.cols.iter().enumerate() {
            if let Some((name, data)) = col {
                let x = data[r as usize];
                if !x.is_finite() {
                    return Err(Error::invalid(
                        FieldPath::new(vec![
                            Segment::from("outcomes"),
                            Segment::from(*name),
                            Segment::Index(r as usize),
                        ]),
                        format!(
                            "{} value (nan_policy = raise): clean or fill it before the analysis",
                            if x.is_nan() { "null or NaN" } else { "infinite" }
                        ),
                    ));
                }
                v[k] = x;
            }
        }
        if let Some(cap) = self.cap {
            v[0] = v[0].min(cap);
        }
        Ok(Some(v))
    }
}

fn metric_cols<'a>(m: &'a Metric, out: &'a Outcomes) -> Result<MetricCols<'a>> {
    let get = |name: Option<&'a String>| -> Result<Option<(&'a str, &'a [f64])>> {
        match name {
            None => Ok(None),
            Some(n) => out.columns.get(n).map(|c| Some((n.as_str(), c.as_slice()))).ok_or_else(|| {
                Error::schema(
                    FieldPath::new(vec![Segment::from("outcomes"), Segment::from(n.as_str())]),
                    format!(
                        "metric '{}' needs column '{n}', not in the outcomes (columns: {})",
                        m.name,
                        out.columns.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
                .with_detail(Detail::MissingColumn)
            }),
        }
    };
    Ok(MetricCols {
        cols: [
            get(Some(&m.column))?,
            get(m.denominator.as_ref())?,
            get(m.covariate.as_ref())?,
            get(m.covariate_denominator.as_ref())?,
        ],
        missing: m.missing,
        cap: None,
        log: m.relative_interval == crate::stats::effect::RelativeInterval::Log,
    })
}

/// The shape of the accumulated cells.
struct Layout {
    nv: usize,
    /// Each metric's empty cell: its shifts `[x, y, c, d]` ([`SuffStats`] sums are of
    /// `v − shift`) and the optional sums it keeps (the third moment of mean metrics, the log
    /// scale when asked for).
    templates: Vec<SuffStats>,
    /// Codes per segment column, plus one slot for the missing value.
    seg_sizes: Vec<usize>,
    n_days: usize,
}

/// What every accumulation chunk reads.
struct Ctx<'a> {
    kept: &'a Kept,
    cols: &'a [MetricCols<'a>],
    seg_cols: &'a [(&'a str, &'a Codes)],
    day_idx: &'a [u32],
}

/// Sufficient statistics of a range of units: `[metric][variant]`, per segment code and per day.
struct Partial {
    cells: Vec<Vec<SuffStats>>,
    exposures_n: Vec<u64>,
    seg_cells: Vec<Vec<Vec<Vec<SuffStats>>>>,
    day_cells: Vec<Vec<Vec<SuffStats>>>,
}

impl Partial {
    fn new(l: &Layout) -> Self {
        let empty = || l.templates.iter().map(|&t| vec![t; l.nv]).collect::<Vec<_>>();
        Partial {
            cells: empty(),
            exposures_n: vec![0; l.nv],
            seg_cells: l.seg_sizes.iter().map(|&k| (0..k).map(|_| empty()).collect()).collect(),
            day_cells: (0..l.n_days).map(|_| empty()).collect(),
        }
    }

    fn merge(&mut self, other: Partial) {
        fn add(a: &mut [Vec<SuffStats>], b: Vec<Vec<SuffStats>>) {
            for (am, bm) in a.iter_mut().zip(b) {
                for (x, y) in am.iter_mut().zip(bm) {
                    *x += y;
                }
            }
        }
        add(&mut self.cells, other.cells);
        for (a, b) in self.exposures_n.iter_mut().zip(other.exposures_n) {
            *a += b;
        }
        for (a, b) in self.seg_cells.iter_mut().zip(other.seg_cells) {
            for (x, y) in a.iter_mut().zip(b) {
                add(x, y);
            }
        }
        for (a, b) in self.day_cells.iter_mut().zip(other.day_cells) {
            add(a, b);
        }
    }

    fn all_cells(&self) -> impl Iterator<Item = &SuffStats> {
        self.cells.iter().flatten()
    }
}

/// Accumulates units `range` of the kept exposures, metric by metric (column-major). Values are
/// not checked here: a NaN or infinity shows up as a non-finite sum, and the caller then finds
/// the row.
fn accumulate(ctx: &Ctx<'_>, layout: &Layout, range: std::ops::Range<usize>) -> Partial {
    let mut p = Partial::new(layout);
    let variant = &ctx.kept.variant[range.clone()];
    let rows = &ctx.kept.outcome_row[range.clone()];
    for &v in variant {
        p.exposures_n[v as usize] += 1;
    }
    let extra = !ctx.seg_cols.is_empty() || layout.n_days > 0;
    for (m, mc) in ctx.cols.iter().enumerate() {
        let cap = mc.cap.unwrap_or(f64::INFINITY);
        let drop_missing = mc.missing == Missing::Drop;
        let log = mc.log;
        let x_only = mc.cols[1..].iter().all(Option::is_none);
        let col = |k: usize| mc.cols[k].map_or(&[][..], |(_, d)| d);
        let (cx, cy, cc, cd) = (col(0), col(1), col(2), col(3));
        let get = |k: &[f64], r: usize| if k.is_empty() { 0.0 } else { k[r] };
        let cells = &mut p.cells[m];
        for (i, (&v, &r)) in variant.iter().zip(rows).enumerate() {
            let vals = if r == NONE {
                if drop_missing {
                    continue;
                }
                [0.0; 4]
            } else {
                let r = r as usize;
                let x = cx[r];
                // `x > cap` is false for NaN, so a NaN stays NaN and is reported
                let x = if x > cap { cap } else { x };
                if x_only {
                    [x, 0.0, 0.0, 0.0]
                } else {
                    [x, get(cy, r), get(cc, r), get(cd, r)]
                }
            };
            let [x, y, c, d] = vals;
            // ln x only for the log scale (values checked positive beforehand)
            let lx = if log { x.ln() } else { 0.0 };
            let push = |s: &mut SuffStats| {
                if x_only {
                    s.push_x(x)
                } else {
                    s.push(x, y, c, d)
                }
                if log {
                    s.push_log(lx)
                }
            };
            push(&mut cells[v as usize]);
            if extra {
                let unit = range.start + i;
                for (k, (_, codes)) in ctx.seg_cols.iter().enumerate() {
                    let code = codes.codes[ctx.kept.row(unit)];
                    let slot = if code == Codes::NULL { codes.names.len() } else { code as usize };
                    push(&mut p.seg_cells[k][slot][m][v as usize]);
                }
                if layout.n_days > 0 {
                    let day = ctx.day_idx[unit];
                    if day != NONE {
                        push(&mut p.day_cells[day as usize][m][v as usize]);
                    }
                }
            }
        }
    }
    p
}

/// The shifts of a metric's sums: the first exposed unit's values that are all finite (capped),
/// rounded to integers, so that every sum is of values near the data and a large mean keeps its
/// variance ([`crate::stats::moments`]); an integer shift also keeps integer data exact (an arm
/// of zeros has a mean of exactly 0, not 1e-14; the warehouse query shifts by the same rule).
/// One shift per metric for every arm, segment and day, so cells merge by plain addition.
/// Binary metrics keep 0 (0/1 values lose nothing and their sums stay the conversion counts), as
/// do metrics with no finite value (the error comes later).
fn metric_shift(m: &Metric, mc: &MetricCols<'_>, outcome_rows: &[u32]) -> [f64; 4] {
    use crate::stats::effect::MetricKind;
    if m.kind == MetricKind::Binary {
        return [0.0; 4];
    }
    for &r in outcome_rows {
        if r == NONE {
            continue;
        }
        if let Ok(Some(v)) = mc.values(r) {
            return v.map(f64::round);
        }
    }
    [0.0; 4]
}

/// Values a metric kind cannot take: a binary metric is 0 or 1, a ratio's denominators are
/// counts (never negative). Nulls are left to the accumulation, which reports them by row.
fn check_values(m: &Metric, mc: &MetricCols<'_>) -> Result<()> {
    use crate::stats::effect::MetricKind;
    let bad = |k: usize, ok: &dyn Fn(f64) -> bool, what: &str| -> Result<()> {
        if let Some((name, data)) = mc.cols[k] {
            if let Some(r) = data.iter().position(|&x| !x.is_nan() && !ok(x)) {
                return Err(Error::invalid(
                    format!("outcomes.{name}[{r}]"),
                    format!("{} for metric '{}': {what}", data[r], m.name),
                ));
            }
        }
        Ok(())
    };
    match m.kind {
        MetricKind::Binary => bad(0, &|x| x == 0.0 || x == 1.0, "a binary metric's values are 0 or 1"),
        MetricKind::Ratio => {
            bad(1, &|x| x >= 0.0, "a ratio's denominator is a count and cannot be negative")?;
            bad(3, &|x| x >= 0.0, "a ratio's denominator is a count and cannot be negative")
        }
        MetricKind::Mean if mc.log => bad(
            0,
            &|x| x > 0.0,
            "relative_interval = \"log\" needs positive values (it analyses ln x); cap, drop or use the default interval",
        ),
        MetricKind::Mean => Ok(()),
    }
}

/// Joins exposures and outcomes and computes every cell the analysis of `key` needs.
pub fn aggregate_experiment(
    spec: &Spec,
    key: &str,
    exposures: &Exposures,
    outcomes: &Outcomes,
) -> Result<ExperimentData> {
    let exp = spec.experiment(key)?;
    let names = &exp.variants;
    let nv = names.len();
    if exposures.units.is_empty() {
        return Err(Error::insufficient("exposures", "no rows"));
    }
    if let Some((name, c)) = outcomes.columns.iter().find(|(_, c)| c.len() != outcomes.units.len()) {
        return Err(Error::schema(
            name.as_str(),
            format!("has {} rows, the unit column has {}", c.len(), outcomes.units.len()),
        ));
    }
    let (mut kept, multiple_exposures) = dedupe_exposures(exposures, names)?;
    join_outcomes(exposures, &mut kept, outcomes)?;
    let metrics: Vec<&Metric> = exp.metrics.iter().map(|&i| &spec.metrics[i]).collect();
    let mut cols = Vec::with_capacity(metrics.len());
    let mut caps = Vec::with_capacity(metrics.len());
    for m in &metrics {
        let mut mc = metric_cols(m, outcomes)?;
        check_values(m, &mc)?;
        mc.cap = match m.cap {
            None => None,
            Some(CapSpec::Value(v)) => Some(v),
            Some(CapSpec::Quantile(q)) => {
                let uncapped = MetricCols { cols: mc.cols, missing: mc.missing, cap: None, log: false };
                let mut vals = Vec::with_capacity(kept.outcome_row.len());
                for &r in &kept.outcome_row {
                    if let Some(v) = uncapped.values(r)? {
                        vals.push(v[0]);
                    }
                }
                Some(quantile(&mut vals, q)).filter(|c| c.is_finite())
            }
        };
        caps.push(mc.cap);
        cols.push(mc);
    }
    let missing_outcomes = kept.outcome_row.iter().filter(|&&r| r == NONE).count() as u64;
    if missing_outcomes == kept.outcome_row.len() as u64 && !outcomes.units.is_empty() {
        return Err(Error::invalid(
            "outcomes.unit",
            format!(
                "none of the {} outcome rows matches an exposed unit (exposure ids look like '{}', outcome ids like '{}'): \
                 are both files keyed by the same id?",
                outcomes.units.len(),
                exposures.units.display(0),
                outcomes.units.display(0)
            ),
        ));
    }

    for (m, mc) in metrics.iter().zip(&cols) {
        if mc.log && mc.missing == Missing::Zero && missing_outcomes > 0 {
            return Err(Error::invalid(
                format!("outcomes.{}", m.column),
                format!(
                    "metric '{}' uses relative_interval = \"log\", which needs positive values, but {missing_outcomes} \
                     exposed units have no outcome row and count as 0 (missing = \"zero\"): set missing = \"drop\" \
                     or use the default relative interval",
                    m.name
                ),
            ));
        }
    }
    // Segment codes per kept unit.
    let seg_cols: Vec<(&str, &Codes)> = exp
        .analysis
        .segments
        .iter()
        .map(|s| {
            exposures.segments.iter().find(|(n, _)| n == s).map(|(n, c)| (n.as_str(), c)).ok_or_else(|| {
                Error::schema(
                    s.as_str(),
                    format!(
                        "segment column '{s}' is not in the exposures (columns: {})",
                        exposures.segments.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )
            })
        })
        .collect::<Result<_>>()?;
    for (name, c) in &seg_cols {
        if c.len() != exposures.units.len() {
            return Err(Error::schema(
                *name,
                format!("has {} rows, the unit column has {}", c.len(), exposures.units.len()),
            ));
        }
    }
    // Day index per kept unit.
    let mut day_list: Vec<i64> = kept.day.iter().flatten().copied().collect();
    day_list.sort_unstable();
    day_list.dedup();
    let day_idx: Vec<u32> =
        kept.day.iter().map(|d| d.and_then(|d| day_list.binary_search(&d).ok()).map_or(NONE, |i| i as u32)).collect();

    // Accumulate in chunks on every core; the partial sums merge exactly like partitions.
    let templates: Vec<SuffStats> = metrics
        .iter()
        .zip(&cols)
        .map(|(m, mc)| {
            let shift = metric_shift(m, mc, &kept.outcome_row);
            let mut t = SuffStats::with_shift(shift);
            if m.kind == crate::stats::effect::MetricKind::Mean {
                t = t.with_third_moment();
            }
            if mc.log {
                t = t.with_log_scale(if shift[0] > 0.0 { shift[0].ln() } else { 0.0 });
            }
            t
        })
        .collect();
    let layout = Layout {
        nv,
        templates,
        seg_sizes: seg_cols.iter().map(|(_, c)| c.names.len() + 1).collect(),
        n_days: day_list.len(),
    };
    let n_kept = kept.variant.len();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let chunk = n_kept.div_ceil(threads).max(1 << 16);
    let ctx = Ctx { kept: &kept, cols: &cols, seg_cols: &seg_cols, day_idx: &day_idx };
    let partials: Vec<Partial> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n_kept)
            .step_by(chunk)
            .map(|lo| {
                let (ctx, layout) = (&ctx, &layout);
                s.spawn(move || accumulate(ctx, layout, lo..(lo + chunk).min(n_kept)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("aggregation thread")).collect()
    });
    let mut total = Partial::new(&layout);
    for p in partials {
        total.merge(p);
    }
    // A NaN or infinite value poisons its sums: find the first such row for the error message.
    if total.all_cells().any(|c| c.non_finite_field().is_some()) {
        for &r in &kept.outcome_row {
            for mc in &cols {
                mc.values(r)?;
            }
        }
    }
    let Partial { cells, exposures_n, seg_cells, day_cells } = total;
    let mut segments: BTreeMap<String, BTreeMap<String, Vec<Vec<SuffStats>>>> = BTreeMap::new();
    for ((name, codes), per_code) in seg_cols.iter().zip(seg_cells) {
        let entry = segments.entry((*name).to_string()).or_default();
        for (code, c) in per_code.into_iter().enumerate() {
            if c.iter().flatten().all(|s| s.n == 0) {
                continue;
            }
            let label = codes.names.get(code).cloned().unwrap_or_else(|| "(missing)".to_string());
            entry.insert(label, c);
        }
    }
    // cumulative by day
    let mut timeline = Vec::with_capacity(day_list.len());
    let mut running: Vec<Vec<SuffStats>> = layout.templates.iter().map(|&t| vec![t; nv]).collect();
    for (day, add) in day_list.iter().zip(day_cells) {
        for (rm, am) in running.iter_mut().zip(add) {
            for (r, a) in rm.iter_mut().zip(am) {
                *r += a;
            }
        }
        timeline.push((iso_date(*day), running.clone()));
    }
    Ok(ExperimentData {
        exposures: exposures_n,
        multiple_exposures,
        missing_outcomes,
        metrics: cells,
        caps: if caps.iter().any(Option::is_some) { caps } else { Vec::new() },
        segments,
        timeline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy 2.x: np.quantile([1, 2, 3, 4, 10], 0.9) = 7.6; np.quantile([5, 1, 3], 0.5) = 3.0.
    #[test]
    fn quantile_matches_numpy() {
        assert!((quantile(&mut [1.0, 2.0, 3.0, 4.0, 10.0], 0.9) - 7.6).abs() < 1e-12);
        assert_eq!(quantile(&mut [5.0, 1.0, 3.0], 0.5), 3.0);
    }

    /// Python: datetime.date(1970, 1, 1) + timedelta(days=...) .
    #[test]
    fn iso_dates() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(20_454), "2026-01-01");
        assert_eq!(iso_date(-1), "1969-12-31");
        assert_eq!(iso_date(11_016), "2000-02-29");
    }
}
