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

use crate::error::{Error, Result};

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
            _ => Err(Error::invalid(path, "unknown file type; use .csv or .parquet")),
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
            id_col,
            format!("no column '{id_col}' in {path} (columns: {})", headers.iter().collect::<Vec<_>>().join(", ")),
        )
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
    Ok(units)
}

fn to_strings(col: &ArrayRef, name: &str) -> Result<StringArray> {
    let cast = arrow_cast::cast(col, &DataType::Utf8)
        .map_err(|e| Error::schema(name, format!("cannot read column '{name}' as text: {e}")))?;
    cast.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| Error::Internal(format!("cast of column '{name}' to text gave {}", cast.data_type())))
}

fn column_values(col: &ArrayRef, name: &str) -> Result<Vec<Option<Value>>> {
    let n = col.len();
    let dt = col.data_type();
    if dt.is_integer() {
        let a = arrow_cast::cast(col, &DataType::Int64).map_err(|e| Error::schema(name, e))?;
        let a = a.as_any().downcast_ref::<Int64Array>().ok_or_else(|| Error::schema(name, "integer cast failed"))?;
        return Ok((0..n).map(|i| a.is_valid(i).then(|| Value::from(a.value(i)))).collect());
    }
    if dt.is_floating() || matches!(dt, DataType::Decimal128(..) | DataType::Decimal256(..)) {
        let a = arrow_cast::cast(col, &DataType::Float64).map_err(|e| Error::schema(name, e))?;
        let a = a.as_any().downcast_ref::<Float64Array>().ok_or_else(|| Error::schema(name, "float cast failed"))?;
        return Ok((0..n)
            .map(|i| if a.is_valid(i) { Number::from_f64(a.value(i)).map(Value::Number) } else { None })
            .collect());
    }
    if *dt == DataType::Boolean {
        let a =
            col.as_any().downcast_ref::<BooleanArray>().ok_or_else(|| Error::schema(name, "boolean read failed"))?;
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
        Error::schema(id_col, format!("no column '{id_col}' in {path} (columns: {})", names.join(", ")))
    })?;
    let reader = builder.with_batch_size(65_536).build().map_err(|e| Error::io(path, e))?;
    let mut units = Units { ids: Vec::new(), attributes: with_attributes.then(Vec::new) };
    for batch in reader {
        let batch = batch.map_err(|e| Error::io(path, e))?;
        let ids = to_strings(batch.column(id_idx), id_col)?;
        for i in 0..ids.len() {
            units.ids.push(if ids.is_valid(i) { ids.value(i).to_string() } else { String::new() });
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

#[cfg(test)]
mod tests {
    use super::*;

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
        }
        assert!(Format::of("x.xlsx").is_err());
    }
}
