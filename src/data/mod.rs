//! Files in and out (CSV and Parquet): the only place the CLI touches tabular files.
//!
//! Columns become typed vectors here and schema problems become [`Error::Schema`] naming the
//! column, so the core sees only slices.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde_json::{Map, Number, Value};

use crate::error::{Detail, Error, FieldPath, Result};
use rustc_hash::FxHashMap;

use crate::report::{Codes, Exposures, Ids, Outcomes};

/// The most rows of a Parquet file reserved before reading: a file's footer may claim any number
/// of rows (a 639-byte file can claim 2^40), so memory follows the rows decoded, not the claim.
const PREALLOC_ROWS: usize = 1 << 20;

/// File formats, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    /// The format of `path` from its extension (`.csv`, `.parquet` / `.pq`).
    pub fn of(path: &str) -> Result<Self> {
        let ext = Path::new(path).extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("parquet") | Some("pq") => Ok(Format::Parquet),
            _ => Err(Error::invalid(FieldPath::key(path), "unknown file type; use .csv or .parquet")),
        }
    }
}

/// Units to assign: ids and, optionally, one attribute object per unit built from the other
/// columns.
#[derive(Debug, Default)]
pub struct Units {
    pub ids: Vec<String>,
    pub attributes: Option<Vec<Value>>,
}

/// Reads a units file. The `id_col` column is required; with `with_attributes`, every other
/// column becomes an attribute (numbers as numbers, empty cells as missing).
pub fn read_units(path: &str, id_col: &str, with_attributes: bool) -> Result<Units> {
    match Format::of(path)? {
        Format::Csv => read_units_csv(path, id_col, with_attributes),
        Format::Parquet => read_units_parquet(path, id_col, with_attributes),
    }
}

fn csv_cell(s: &str) -> Option<Value> {
    if s.is_empty() {
        return None;
    }
    if let Ok(i) = s.parse::<i64>() {
        return Some(Value::Number(i.into()));
    }
    if let Some(n) = s.parse::<f64>().ok().filter(|x| x.is_finite()).and_then(Number::from_f64) {
        return Some(Value::Number(n));
    }
    match s {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        _ => Some(Value::String(s.to_string())),
    }
}

fn read_units_csv(path: &str, id_col: &str, with_attributes: bool) -> Result<Units> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| Error::io(path, e))?;
    let headers = rdr.headers().map_err(|e| Error::io(path, e))?.clone();
    let id_idx = headers.iter().position(|h| h == id_col).ok_or_else(|| {
        Error::schema(
            FieldPath::key(id_col),
            format!("no column '{id_col}' in {path} (columns: {})", headers.iter().collect::<Vec<_>>().join(", ")),
        )
        .with_detail(Detail::MissingColumn)
    })?;
    let mut units = Units { ids: Vec::new(), attributes: with_attributes.then(Vec::new) };
    for (row, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| Error::io(path, format!("row {}: {e}", row + 2)))?;
        units.ids.push(rec.get(id_idx).unwrap_or_default().to_string());
        if let Some(attrs) = units.attributes.as_mut() {
            let mut m = Map::new();
            for (j, (h, cell)) in headers.iter().zip(rec.iter()).enumerate() {
                if j != id_idx {
                    if let Some(v) = csv_cell(cell) {
                        m.insert(h.to_string(), v);
                    }
                }
            }
            attrs.push(Value::Object(m));
        }
    }
    // A column of numbers holds ids as JavaScript prints them (`47593751.0` -> "47593751"), as a
    // DataFrame reader would type it and as GrowthBook hashes numbers (`assign::ids`).
    crate::assign::ids::normalize_id_cells(&mut units.ids);
    Ok(units)
}

fn to_strings(col: &ArrayRef, name: &str) -> Result<StringArray> {
    let cast = arrow_cast::cast(col, &DataType::Utf8)
        .map_err(|e| Error::schema(FieldPath::key(name), format!("cannot read column '{name}' as text: {e}")))?;
    cast.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| Error::Internal(format!("cast of column '{name}' to text gave {}", cast.data_type())))
}

fn column_values(col: &ArrayRef, name: &str) -> Result<Vec<Option<Value>>> {
    let n = col.len();
    let dt = col.data_type();
    if dt.is_integer() {
        let a = arrow_cast::cast(col, &DataType::Int64).map_err(|e| Error::schema(FieldPath::key(name), e))?;
        let a = a
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| Error::schema(FieldPath::key(name), "integer cast failed"))?;
        return Ok((0..n).map(|i| a.is_valid(i).then(|| Value::from(a.value(i)))).collect());
    }
    if dt.is_floating() || matches!(dt, DataType::Decimal128(..) | DataType::Decimal256(..)) {
        let a = arrow_cast::cast(col, &DataType::Float64).map_err(|e| Error::schema(FieldPath::key(name), e))?;
        let a = a
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| Error::schema(FieldPath::key(name), "float cast failed"))?;
        return Ok((0..n)
            .map(|i| if a.is_valid(i) { Number::from_f64(a.value(i)).map(Value::Number) } else { None })
            .collect());
    }
    if *dt == DataType::Boolean {
        let a = col
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| Error::schema(FieldPath::key(name), "boolean read failed"))?;
        return Ok((0..n).map(|i| a.is_valid(i).then(|| Value::Bool(a.value(i)))).collect());
    }
    let s = to_strings(col, name)?;
    Ok((0..n).map(|i| s.is_valid(i).then(|| Value::String(s.value(i).to_string()))).collect())
}

fn read_units_parquet(path: &str, id_col: &str, with_attributes: bool) -> Result<Units> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::io(path, format!("not a readable Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    let id_idx = schema.index_of(id_col).map_err(|_| {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        Error::schema(FieldPath::key(id_col), format!("no column '{id_col}' in {path} (columns: {})", names.join(", ")))
            .with_detail(Detail::MissingColumn)
    })?;
    let reader = builder.with_batch_size(65_536).build().map_err(|e| Error::io(path, e))?;
    let mut units = Units { ids: Vec::new(), attributes: with_attributes.then(Vec::new) };
    for batch in reader {
        let batch = batch.map_err(|e| Error::io(path, e))?;
        let col = batch.column(id_idx);
        if col.data_type().is_numeric() {
            // numbers: as JavaScript prints them (`assign::ids`); null, NaN and ±inf are missing
            let a = arrow_cast::cast(col, &DataType::Float64).map_err(|e| Error::schema(FieldPath::key(id_col), e))?;
            let a = a
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| Error::schema(FieldPath::key(id_col), "float cast failed"))?;
            for i in 0..a.len() {
                let ok = a.is_valid(i) && a.value(i).is_finite();
                units.ids.push(if ok { crate::assign::stringify_number(a.value(i)) } else { String::new() });
            }
        } else if *col.data_type() == DataType::Boolean {
            return Err(Error::schema(FieldPath::key(id_col), "is a boolean column; unit ids are text or numbers"));
        } else {
            let ids = to_strings(col, id_col)?;
            for i in 0..ids.len() {
                units.ids.push(if ids.is_valid(i) { ids.value(i).to_string() } else { String::new() });
            }
        }
        if let Some(attrs) = units.attributes.as_mut() {
            let start = attrs.len();
            attrs.extend((0..batch.num_rows()).map(|_| Value::Object(Map::new())));
            for (j, field) in schema.fields().iter().enumerate() {
                if j == id_idx {
                    continue;
                }
                for (k, v) in column_values(batch.column(j), field.name())?.into_iter().enumerate() {
                    if let (Some(v), Value::Object(m)) = (v, &mut attrs[start + k]) {
                        m.insert(field.name().clone(), v);
                    }
                }
            }
        }
    }
    Ok(units)
}

/// A table of text and float columns to write.
pub struct Table {
    pub columns: Vec<(String, Column)>,
}

/// One output column.
pub enum Column {
    Text(Vec<Option<String>>),
    Float(Vec<Option<f64>>),
}

/// Writes `table` to `path` as CSV or Parquet (zstd), by extension.
pub fn write_table(path: &str, table: &Table) -> Result<()> {
    match Format::of(path)? {
        Format::Csv => {
            let mut w = csv::Writer::from_path(path).map_err(|e| Error::io(path, e))?;
            w.write_record(table.columns.iter().map(|(n, _)| n.as_str())).map_err(|e| Error::io(path, e))?;
            let rows = table.columns.first().map_or(0, |(_, c)| match c {
                Column::Text(v) => v.len(),
                Column::Float(v) => v.len(),
            });
            let mut rec: Vec<String> = Vec::with_capacity(table.columns.len());
            for i in 0..rows {
                rec.clear();
                for (_, c) in &table.columns {
                    rec.push(match c {
                        Column::Text(v) => v[i].clone().unwrap_or_default(),
                        Column::Float(v) => v[i].map(|x| x.to_string()).unwrap_or_default(),
                    });
                }
                w.write_record(&rec).map_err(|e| Error::io(path, e))?;
            }
            w.flush().map_err(|e| Error::io(path, e))
        }
        Format::Parquet => {
            let fields: Vec<Field> = table
                .columns
                .iter()
                .map(|(n, c)| {
                    Field::new(n, if matches!(c, Column::Text(_)) { DataType::Utf8 } else { DataType::Float64 }, true)
                })
                .collect();
            let arrays: Vec<ArrayRef> = table
                .columns
                .iter()
                .map(|(_, c)| -> ArrayRef {
                    match c {
                        Column::Text(v) => {
                            Arc::new(StringArray::from(v.iter().map(|s| s.as_deref()).collect::<Vec<_>>()))
                        }
                        Column::Float(v) => Arc::new(Float64Array::from(v.clone())),
                    }
                })
                .collect();
            let schema = Arc::new(Schema::new(fields));
            let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| Error::Internal(e.to_string()))?;
            let file = File::create(path).map_err(|e| Error::io(path, e))?;
            let props = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
                .build();
            let mut w =
                parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| Error::io(path, e))?;
            w.write(&batch).map_err(|e| Error::io(path, e))?;
            w.close().map_err(|e| Error::io(path, e))?;
            Ok(())
        }
    }
}

/// What a column read for analysis must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Unit ids (integers stay integers; anything else is text).
    Id,
    /// Text (variants, segments).
    Text,
    /// Numbers (booleans as 0/1); empty cells are null; NaN is an error.
    Number,
    /// Numbers as [`Want::Number`], where a NaN (a `NaN` cell, as polars writes a float NaN) is
    /// also missing: the uplift doors, where Python takes NaN as missing.
    NumberOrNan,
    /// A date or time, as days since 1970-01-01 (UTC).
    Day,
}

/// A column read for analysis.
#[derive(Clone, Debug)]
pub enum ColData {
    Ids(Ids),
    /// Dictionary-coded text; a null or empty cell is [`Codes::NULL`].
    Text(Codes),
    /// Numbers; a null or empty cell is NaN (a NaN or infinite value in the file is an error).
    Number(Vec<f64>),
    Day(Vec<Option<i64>>),
}

use crate::report::input::{self, cell, Nan, NumberCell, RawColumn};

fn no_column(path: &str, name: &str, have: &[String]) -> Error {
    input::missing_column(name, path, have)
}

/// What a NaN means in a column read as `want`.
fn nan_of(want: Want) -> Nan {
    if want == Want::NumberOrNan {
        Nan::Missing
    } else {
        Nan::Error
    }
}

/// The column names of a CSV or Parquet file, in order (reads only the header / schema).
pub fn column_names(path: &str) -> Result<Vec<String>> {
    match Format::of(path)? {
        Format::Csv => {
            let mut rdr = csv::Reader::from_path(path).map_err(|e| Error::io(path, e))?;
            Ok(rdr.headers().map_err(|e| Error::io(path, e))?.iter().map(str::to_string).collect())
        }
        Format::Parquet => {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| Error::io(path, format!("not a readable Parquet file: {e}")))?;
            Ok(builder.schema().fields().iter().map(|f| f.name().clone()).collect())
        }
    }
}

/// Whether the file ends with a line break (or a closing quote, which ends a quoted last cell);
/// an empty file counts as ended.
fn ends_with_line_break(path: &str) -> Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    if f.seek(SeekFrom::End(0)).map_err(|e| Error::io(path, e))? == 0 {
        return Ok(true);
    }
    f.seek(SeekFrom::End(-1)).map_err(|e| Error::io(path, e))?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last).map_err(|e| Error::io(path, e))?;
    Ok(matches!(last[0], b'\n' | b'\r' | b'"'))
}

fn is_text(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Which rows of an Arrow array are null, when any is.
fn null_mask(a: &dyn Array) -> Option<Vec<bool>> {
    (a.null_count() > 0).then(|| (0..a.len()).map(|r| a.is_null(r)).collect())
}

/// Reads the named columns of a CSV or Parquet file (Parquet reads only those columns).
pub fn read_columns(path: &str, wanted: &[(&str, Want)]) -> Result<Vec<ColData>> {
    match Format::of(path)? {
        Format::Csv => read_columns_csv(path, wanted),
        Format::Parquet => read_columns_parquet(path, wanted),
    }
}

fn read_columns_csv(path: &str, wanted: &[(&str, Want)]) -> Result<Vec<ColData>> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| Error::io(path, e))?;
    let headers: Vec<String> = rdr.headers().map_err(|e| Error::io(path, e))?.iter().map(str::to_string).collect();
    let idx: Vec<usize> = wanted
        .iter()
        .map(|(n, _)| headers.iter().position(|h| h == n).ok_or_else(|| no_column(path, n, &headers)))
        .collect::<Result<_>>()?;
    let mut raw: Vec<Vec<String>> = vec![Vec::new(); wanted.len()];
    let mut rec = csv::StringRecord::new();
    let mut row = 0usize;
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(Error::io(path, format!("row {}: {e}", row + 2))),
        }
        for (k, &i) in idx.iter().enumerate() {
            raw[k].push(rec.get(i).unwrap_or_default().to_string());
        }
        row += 1;
    }
    // A file cut off in the middle of its last number still parses (`0.12` of `0.1234`): writers
    // end every row with a line break, so a last row without one, ending in a number we read, is
    // refused rather than read short.
    if row > 0 && !ends_with_line_break(path)? {
        // every record has the header's fields (the reader is not flexible)
        let last = headers.len().saturating_sub(1);
        if let Some(k) = idx.iter().position(|&i| i == last) {
            let (name, want) = wanted[k];
            if matches!(want, Want::Number | Want::NumberOrNan | Want::Id) && !raw[k][row - 1].is_empty() {
                return Err(Error::invalid(
                    cell(name, row - 1),
                    format!(
                        "{path} ends in the middle of this value ('{}', no line break after the last row): \
                         the file may be cut off; end it with a line break if it is complete",
                        raw[k][row - 1]
                    ),
                ));
            }
        }
    }
    wanted
        .iter()
        .zip(raw)
        .map(|(&(name, want), cells)| -> Result<ColData> {
            Ok(match want {
                Want::Id => match cells.iter().map(|c| c.parse::<i64>()).collect::<std::result::Result<Vec<_>, _>>() {
                    Ok(ints) => ColData::Ids(Ids::Int(ints)),
                    Err(_) => {
                        for (r, c) in cells.iter().enumerate() {
                            input::unit_id_cell(name, r, Some(c))?;
                        }
                        ColData::Ids(Ids::Str(cells))
                    }
                },
                Want::Text => ColData::Text(Codes::from_values(cells.iter().map(|c| Some(c.as_str())))),
                // a CSV file has no null: an empty cell is one
                Want::Number | Want::NumberOrNan => ColData::Number(
                    cells
                        .iter()
                        .enumerate()
                        .map(|(r, c)| {
                            let cell = if c.is_empty() { NumberCell::Null } else { NumberCell::Text(c) };
                            input::number_cell(name, r, cell, nan_of(want))
                        })
                        .collect::<Result<_>>()?,
                ),
                Want::Day => ColData::Day(
                    cells
                        .iter()
                        .enumerate()
                        .map(|(r, c)| (!c.is_empty()).then(|| input::day_cell(name, r, c)).transpose())
                        .collect::<Result<_>>()?,
                ),
            })
        })
        .collect()
}

fn read_columns_parquet(path: &str, wanted: &[(&str, Want)]) -> Result<Vec<ColData>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Int64Type};
    use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
    let open = |options: ArrowReaderOptions| {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
            .map_err(|e| Error::io(path, format!("not a readable Parquet file: {e}")))
    };
    let builder = open(ArrowReaderOptions::new())?;
    let schema = builder.schema().clone();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let idx: Vec<usize> = wanted
        .iter()
        .map(|(n, _)| schema.index_of(n).map_err(|_| no_column(path, n, &names)))
        .collect::<Result<_>>()?;
    // Text columns are read as dictionaries: Parquet stores low-cardinality strings that way, and
    // the reader then hands over the dictionary and its keys without building a string per row.
    let text = |i: usize| {
        wanted.iter().zip(&idx).any(|((_, w), &j)| j == i && matches!(w, Want::Text))
            && matches!(schema.field(i).data_type(), DataType::Utf8 | DataType::LargeUtf8)
    };
    let options = if (0..schema.fields().len()).any(text) {
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if text(i) {
                    Field::new(
                        f.name(),
                        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                        f.is_nullable(),
                    )
                } else {
                    f.as_ref().clone()
                }
            })
            .collect();
        ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields)))
    } else {
        ArrowReaderOptions::new()
    };
    let mut roots: Vec<usize> = idx.clone();
    roots.sort_unstable();
    roots.dedup();
    // Row groups are read on every core, in contiguous runs, and concatenated in order.
    let row_counts: Vec<usize> =
        builder.metadata().row_groups().iter().map(|g| usize::try_from(g.num_rows()).unwrap_or(0)).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, row_counts.len().max(1));
    let per = row_counts.len().div_ceil(threads).max(1);
    let parts: Vec<(Vec<usize>, usize)> = (0..row_counts.len())
        .step_by(per)
        .map(|lo| {
            let hi = (lo + per).min(row_counts.len());
            ((lo..hi).collect(), row_counts[..lo].iter().fold(0usize, |a, &n| a.saturating_add(n)))
        })
        .collect();
    let read_part = |row_groups: Vec<usize>, part_base: usize| -> Result<Vec<ColData>> {
        // The footer's row counts are a claim, not a fact: reserve at most PREALLOC_ROWS up front
        // and let the vectors grow with the rows actually decoded.
        let rows: usize = row_groups.iter().fold(0usize, |a, &g| a.saturating_add(row_counts[g])).min(PREALLOC_ROWS);
        let builder = open(options.clone())?.with_row_groups(row_groups);
        let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
        let reader = builder.with_projection(mask).with_batch_size(1 << 14).build().map_err(|e| Error::io(path, e))?;
        let mut out: Vec<ColData> = wanted
            .iter()
            .zip(&idx)
            .map(|(&(_, want), &i)| match want {
                Want::Id if schema.field(i).data_type().is_integer() => {
                    ColData::Ids(Ids::Int(Vec::with_capacity(rows)))
                }
                Want::Id => ColData::Ids(Ids::Str(Vec::with_capacity(rows))),
                Want::Text => ColData::Text(Codes { codes: Vec::with_capacity(rows), names: Vec::new() }),
                Want::Number | Want::NumberOrNan => ColData::Number(Vec::with_capacity(rows)),
                Want::Day => ColData::Day(Vec::with_capacity(rows)),
            })
            .collect();
        // one dictionary per text column, kept across batches
        let mut maps: Vec<FxHashMap<String, u32>> = vec![FxHashMap::default(); wanted.len()];
        for batch in reader {
            let batch = batch.map_err(|e| Error::io(path, e))?;
            for (k, &(name, _)) in wanted.iter().enumerate() {
                let col = batch.column_by_name(name).ok_or_else(|| no_column(path, name, &names))?;
                let base = part_base
                    + match &out[k] {
                        ColData::Ids(i) => i.len(),
                        ColData::Text(v) => v.len(),
                        ColData::Number(v) => v.len(),
                        ColData::Day(v) => v.len(),
                    };
                let map = &mut maps[k];
                match &mut out[k] {
                    ColData::Ids(Ids::Int(v)) => {
                        let a = arrow_cast::cast(col, &DataType::Int64)
                            .map_err(|e| Error::schema(FieldPath::key(name), e))?;
                        let a = a.as_primitive::<Int64Type>();
                        if let Some(r) = (0..a.len()).find(|&r| a.is_null(r)) {
                            input::unit_id_cell(name, base + r, None)?;
                        }
                        v.extend(a.values().iter().copied());
                    }
                    ColData::Ids(Ids::Str(v)) => {
                        let a = to_strings(col, name)?;
                        for r in 0..a.len() {
                            let id = input::unit_id_cell(name, base + r, a.is_valid(r).then(|| a.value(r)))?;
                            v.push(id.to_string());
                        }
                    }
                    ColData::Text(v) if matches!(col.data_type(), DataType::Dictionary(..)) => {
                        let d = col.as_dictionary::<arrow_array::types::Int32Type>();
                        let values = to_strings(d.values(), name)?;
                        // this batch's dictionary -> our codes
                        let local: Vec<u32> = (0..values.len())
                            .map(|k| {
                                let cell = values.is_valid(k).then(|| values.value(k)).filter(|s| !s.is_empty());
                                v.code_of(cell, map)
                            })
                            .collect();
                        let keys = d.keys();
                        v.codes.reserve(keys.len());
                        if keys.null_count() == 0 {
                            v.codes.extend(keys.values().iter().map(|&k| local[k as usize]));
                        } else {
                            v.codes.extend((0..keys.len()).map(|r| {
                                if keys.is_valid(r) {
                                    local[keys.value(r) as usize]
                                } else {
                                    Codes::NULL
                                }
                            }));
                        }
                    }
                    ColData::Text(v) => {
                        let a = to_strings(col, name)?;
                        v.codes.reserve(a.len());
                        for r in 0..a.len() {
                            let cell = a.is_valid(r).then(|| a.value(r)).filter(|s| !s.is_empty());
                            v.push(cell, map);
                        }
                    }
                    ColData::Number(v) => {
                        let nan = nan_of(wanted[k].1);
                        if is_text(col.data_type()) {
                            // text cells are read by the same rule as a CSV file's
                            let a = to_strings(col, name)?;
                            for r in 0..a.len() {
                                let cell = if a.is_valid(r) { NumberCell::Text(a.value(r)) } else { NumberCell::Null };
                                v.push(input::number_cell(name, base + r, cell, nan)?);
                            }
                            continue;
                        }
                        let a = arrow_cast::cast(col, &DataType::Float64)
                            .map_err(|_| input::not_a_number_column(name, &col.data_type().to_string()))?;
                        let a = a.as_primitive::<arrow_array::types::Float64Type>();
                        let nulls = null_mask(a);
                        let raw = RawColumn::Float { values: a.values(), nulls: nulls.as_deref() };
                        v.extend(input::numbers(name, base, raw, nan)?);
                    }
                    ColData::Day(v) => {
                        if is_text(col.data_type()) {
                            let a = to_strings(col, name)?;
                            for r in 0..a.len() {
                                v.push(a.is_valid(r).then(|| input::day_cell(name, base + r, a.value(r))).transpose()?);
                            }
                        } else {
                            let a = arrow_cast::cast(col, &DataType::Date32)
                                .map_err(|_| input::not_a_date_column(name, &col.data_type().to_string()))?;
                            let a = a.as_primitive::<Date32Type>();
                            v.extend((0..a.len()).map(|r| a.is_valid(r).then(|| i64::from(a.value(r)))));
                        }
                    }
                }
            }
        }
        Ok(out)
    };
    if parts.len() <= 1 {
        return read_part((0..row_counts.len()).collect(), 0);
    }
    let results: Vec<Result<Vec<ColData>>> = std::thread::scope(|s| {
        let handles: Vec<_> = parts.into_iter().map(|(g, base)| s.spawn(move || read_part(g, base))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::Internal(format!("a reader of {path} panicked")))))
            .collect()
    });
    let mut results = results.into_iter();
    let mut out = results.next().unwrap_or_else(|| Ok(Vec::new()))?;
    let mut maps: Vec<FxHashMap<String, u32>> = out
        .iter()
        .map(|c| match c {
            ColData::Text(t) => t.names.iter().enumerate().map(|(k, n)| (n.clone(), k as u32)).collect(),
            _ => FxHashMap::default(),
        })
        .collect();
    for part in results {
        for ((acc, next), map) in out.iter_mut().zip(part?).zip(&mut maps) {
            match (acc, next) {
                (ColData::Ids(Ids::Int(a)), ColData::Ids(Ids::Int(b))) => a.extend(b),
                (ColData::Ids(Ids::Str(a)), ColData::Ids(Ids::Str(b))) => a.extend(b),
                (ColData::Number(a), ColData::Number(b)) => a.extend(b),
                (ColData::Day(a), ColData::Day(b)) => a.extend(b),
                (ColData::Text(a), ColData::Text(b)) => {
                    let remap: Vec<u32> = b.names.iter().map(|n| a.code_of(Some(n), map)).collect();
                    a.codes.extend(b.codes.iter().map(|&c| if c == Codes::NULL { c } else { remap[c as usize] }));
                }
                _ => return Err(Error::Internal(format!("row groups of {path} read as different types"))),
            }
        }
    }
    Ok(out)
}

/// Reads an exposures file: unit, variant, optional first-exposure time and segment columns.
pub fn read_exposures(
    path: &str,
    unit_col: &str,
    variant_col: &str,
    time_col: Option<&str>,
    segment_cols: &[String],
) -> Result<Exposures> {
    let mut wanted = vec![(unit_col, Want::Id), (variant_col, Want::Text)];
    if let Some(t) = time_col {
        wanted.push((t, Want::Day));
    }
    wanted.extend(segment_cols.iter().map(|s| (s.as_str(), Want::Text)));
    let mut cols = read_columns(path, &wanted)?.into_iter();
    let units = match cols.next() {
        Some(ColData::Ids(i)) => i,
        _ => return Err(Error::Internal("unit column".into())),
    };
    let variants = match cols.next() {
        Some(ColData::Text(v)) => {
            input::check_variants(variant_col, &v)?;
            v
        }
        _ => return Err(Error::Internal("variant column".into())),
    };
    let days = match time_col {
        Some(_) => match cols.next() {
            Some(ColData::Day(d)) => Some(d),
            _ => return Err(Error::Internal("time column".into())),
        },
        None => None,
    };
    let segments = segment_cols
        .iter()
        .zip(cols)
        .map(|(name, c)| match c {
            ColData::Text(v) => Ok((name.clone(), v)),
            _ => Err(Error::Internal("segment column".into())),
        })
        .collect::<Result<_>>()?;
    Ok(Exposures { units, variants, days, segments })
}

/// Reads an outcomes file: the unit column and the named numeric columns.
pub fn read_outcomes(path: &str, unit_col: &str, columns: &[&str]) -> Result<Outcomes> {
    let mut wanted = vec![(unit_col, Want::Id)];
    let mut uniq: Vec<&str> = Vec::new();
    for c in columns {
        if !uniq.contains(c) {
            uniq.push(c);
        }
    }
    wanted.extend(uniq.iter().map(|c| (*c, Want::Number)));
    let mut cols = read_columns(path, &wanted)?.into_iter();
    let units = match cols.next() {
        Some(ColData::Ids(i)) => i,
        _ => return Err(Error::Internal("unit column".into())),
    };
    let mut map = std::collections::BTreeMap::new();
    for (name, c) in uniq.iter().zip(cols) {
        if let ColData::Number(v) = c {
            map.insert((*name).to_string(), v);
        }
    }
    Ok(Outcomes { units, columns: map })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Parquet file of one row whose footer claims `claimed` rows in its row group.
    fn lying_parquet(path: &std::path::Path, claimed: i64) {
        use parquet::file::metadata::{ParquetMetaDataReader, ParquetMetaDataWriter};
        let schema = Arc::new(Schema::new(vec![
            Field::new("unit_id", DataType::Int64, false),
            Field::new("variant", DataType::Utf8, false),
            Field::new("paid", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1])),
                Arc::new(StringArray::from(vec!["control"])),
                Arc::new(Float64Array::from(vec![1.0])),
            ],
        )
        .unwrap();
        let mut bytes = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut bytes, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let n = bytes.len();
        let meta_len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
        let meta = ParquetMetaDataReader::decode_metadata(&bytes[n - 8 - meta_len..n - 8]).unwrap();
        let groups = meta.row_groups().iter().map(|g| g.clone().into_builder().set_num_rows(claimed).build().unwrap());
        let lying = meta.clone().into_builder().set_row_groups(groups.collect()).build();
        let mut out = bytes[..n - 8 - meta_len].to_vec();
        ParquetMetaDataWriter::new(&mut out, &lying).finish().unwrap();
        std::fs::write(path, out).unwrap();
    }

    /// Issue 12: a small Parquet file whose footer claims 2^40 rows aborted `liftlab analyze`
    /// (8 TB reserved from the footer's count); now it is an error, and memory follows the rows
    /// that are really there.
    #[test]
    fn a_footer_claiming_2_pow_40_rows_is_an_error_not_an_abort() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lying.parquet");
        lying_parquet(&p, 1 << 40);
        assert!(std::fs::metadata(&p).unwrap().len() < 2000);
        let path = p.to_str().unwrap();
        // Either an error, or the one row that is really there; never the claim.
        match read_exposures(path, "unit_id", "variant", None, &[]) {
            Ok(e) => assert_eq!(e.units.len(), 1),
            Err(e) => assert_eq!(e.code(), "io_error", "{e}"),
        }
        match read_outcomes(path, "unit_id", &["paid"]) {
            Ok(o) => assert_eq!(o.units.len(), 1),
            Err(e) => assert_eq!(e.code(), "io_error", "{e}"),
        }
        match read_units(path, "unit_id", true) {
            Ok(u) => assert_eq!(u.ids.len(), 1),
            Err(e) => assert_eq!(e.code(), "io_error", "{e}"),
        }
        // the honest file reads
        lying_parquet(&p, 1);
        assert_eq!(read_exposures(path, "unit_id", "variant", None, &[]).unwrap().units.len(), 1);
    }

    /// Row groups are read in parallel and concatenated: the text dictionary of each part (which
    /// meets values in a different order) must map back to the same values, rows in order.
    #[test]
    fn parquet_row_groups_concatenate_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("groups.parquet");
        let n = 1000usize;
        let ids: Vec<i64> = (0..n as i64).rev().collect();
        let text: Vec<Option<&str>> =
            (0..n).map(|i| if i % 7 == 0 { None } else { Some(["a", "b", "c"][(i * i / 3) % 3]) }).collect();
        let nums: Vec<Option<f64>> = (0..n).map(|i| if i % 11 == 0 { None } else { Some(i as f64 / 2.0) }).collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("t", DataType::Utf8, true),
            Field::new("x", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids.clone())),
                Arc::new(StringArray::from(text.clone())),
                Arc::new(Float64Array::from(nums.clone())),
            ],
        )
        .unwrap();
        let props = parquet::file::properties::WriterProperties::builder().set_max_row_group_size(37).build();
        let mut w = parquet::arrow::ArrowWriter::try_new(File::create(&p).unwrap(), schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let cols =
            read_columns(p.to_str().unwrap(), &[("id", Want::Id), ("t", Want::Text), ("x", Want::Number)]).unwrap();
        let ColData::Ids(Ids::Int(got_ids)) = &cols[0] else { panic!("ids") };
        assert_eq!(got_ids, &ids);
        let ColData::Text(codes) = &cols[1] else { panic!("text") };
        let got_text: Vec<Option<&str>> =
            codes.codes.iter().map(|&c| (c != Codes::NULL).then(|| codes.names[c as usize].as_str())).collect();
        assert_eq!(got_text, text);
        let ColData::Number(x) = &cols[2] else { panic!("numbers") };
        for (g, w) in x.iter().zip(&nums) {
            assert!(match w {
                Some(w) => g == w,
                None => g.is_nan(),
            });
        }
    }

    #[test]
    fn csv_and_parquet_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        for ext in ["csv", "parquet"] {
            let p = dir.path().join(format!("t.{ext}"));
            let p = p.to_str().unwrap();
            let t = Table {
                columns: vec![
                    ("id".into(), Column::Text(vec![Some("a".into()), Some("b".into())])),
                    ("age".into(), Column::Float(vec![Some(3.0), None])),
                ],
            };
            write_table(p, &t).unwrap();
            let u = read_units(p, "id", true).unwrap();
            assert_eq!(u.ids, vec!["a", "b"]);
            let a = u.attributes.unwrap();
            assert_eq!(a[0]["age"].as_f64(), Some(3.0));
            assert!(a[1].get("age").is_none());
            assert_eq!(read_units(p, "nope", false).unwrap_err().code(), "schema_error");
            let cols = read_columns(p, &[("id", Want::Id), ("age", Want::Number)]).unwrap();
            assert!(matches!(&cols[0], ColData::Ids(Ids::Str(v)) if v == &["a", "b"]));
            assert!(matches!(&cols[1], ColData::Number(v) if v[0] == 3.0 && v[1].is_nan()));
        }
        assert!(Format::of("x.xlsx").is_err());
    }

    /// Python: (date(2026, 3, 1) - date(1970, 1, 1)).days == 20513.
    #[test]
    fn days() {
        assert_eq!(crate::report::aggregate::parse_iso_day("2026-03-01"), Some(20_513));
        assert_eq!(crate::report::aggregate::parse_iso_day("2026-03-01T23:59:59Z"), Some(20_513));
        assert_eq!(crate::report::aggregate::parse_iso_day("1970-01-01"), Some(0));
        assert_eq!(crate::report::aggregate::parse_iso_day("2026-13-01"), None);
        assert_eq!(crate::report::aggregate::iso_date(20_513), "2026-03-01");
    }
}
