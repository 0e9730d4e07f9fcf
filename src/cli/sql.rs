//! `liftlab sql`: print the query that computes an experiment's sufficient statistics in a
//! warehouse; and the reader of that query's answer for `liftlab analyze --stats FILE`. So a CI
//! job is `liftlab sql ... | duckdb -json > stats.json && liftlab analyze --stats stats.json`.

use std::io::Write;
use std::path::Path;

use crate::data::{self, ColData, Want};
use crate::error::{Error, FieldPath, Result};
use crate::report::ExperimentData;
use crate::spec::Spec;
use crate::warehouse::{self, Cell, CompileOptions, Dialect, StatsTable};

#[derive(clap::Args, Debug)]
pub(super) struct SqlArgs {
    /// Experiment spec (TOML) with a [catalog].
    #[arg(long)]
    spec: String,
    /// The experiment (default: the spec's only experiment).
    #[arg(long)]
    experiment: Option<String>,
    /// SQL dialect: duckdb, postgres, clickhouse, spark, bigquery or snowflake.
    #[arg(long, default_value = "duckdb")]
    dialect: String,
    /// First exposure date analysed (YYYY-MM-DD).
    #[arg(long)]
    start: Option<String>,
    /// Last exposure date analysed, inclusive (YYYY-MM-DD); facts after it are not read.
    #[arg(long)]
    end: Option<String>,
    /// Write the query to this file instead of stdout.
    #[arg(short = 'o', long)]
    output: Option<String>,
}

/// The spec's only experiment, or the one named (the core's rule, [`Spec::resolve_experiment`]).
pub(super) fn experiment_key(spec: &Spec, experiment: Option<&str>) -> Result<String> {
    Ok(spec.resolve_experiment(experiment)?.key.clone())
}

pub(super) fn run_sql(a: SqlArgs) -> Result<()> {
    let spec = super::load_spec(&a.spec)?;
    let key = experiment_key(&spec, a.experiment.as_deref())?;
    let dialect = Dialect::from_name(&a.dialect)?;
    // file sources are relative to the spec file; the printed query runs from here
    let base_dir = Path::new(&a.spec).parent().map(|p| p.to_string_lossy().into_owned()).filter(|p| !p.is_empty());
    let q = warehouse::compile_sql(&spec, &key, dialect, &CompileOptions { start: a.start, end: a.end, base_dir })?;
    match &a.output {
        Some(path) => std::fs::write(path, &q.sql).map_err(|e| Error::io(path, e)),
        None => std::io::stdout().lock().write_all(q.sql.as_bytes()).map_err(|e| Error::io("stdout", e)),
    }
}

/// Reads an engine's answer: JSON (`duckdb -json`, `{"columns", "rows"}`, or one object per line
/// as ClickHouse's `JSONEachRow`), CSV with a header, or Parquet.
fn read_table(path: &str) -> Result<StatsTable> {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".json") || lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        return StatsTable::from_json(&text).map_err(|e| e.within(FieldPath::key(path)));
    }
    let names = data::column_names(path)?;
    if names.len() > warehouse::MAX_STATS_COLUMNS {
        return Err(Error::invalid(path, format!("has more than {} columns", warehouse::MAX_STATS_COLUMNS)));
    }
    let text_col = |n: &str| {
        let n = n.to_ascii_lowercase();
        n == "variant" || n == "exposure_day" || (n.starts_with("dim") && n[3..].parse::<usize>().is_ok())
    };
    let wanted: Vec<(&str, Want)> =
        names.iter().map(|n| (n.as_str(), if text_col(n) { Want::Text } else { Want::Number })).collect();
    let cols = data::read_columns(path, &wanted)?;
    let n_rows = cols.first().map_or(0, |c| match c {
        ColData::Text(c) => c.len(),
        ColData::Number(v) => v.len(),
        _ => 0,
    });
    if n_rows > warehouse::MAX_STATS_ROWS {
        return Err(Error::invalid(path, format!("has more than {} rows", warehouse::MAX_STATS_ROWS)));
    }
    let mut rows = vec![Vec::with_capacity(cols.len()); n_rows];
    for col in &cols {
        for (r, row) in rows.iter_mut().enumerate() {
            row.push(match col {
                ColData::Text(c) => match c.codes[r] {
                    crate::report::Codes::NULL => Cell::Null,
                    k => Cell::Text(c.names[k as usize].clone()),
                },
                ColData::Number(v) if v[r].is_nan() => Cell::Null,
                ColData::Number(v) => Cell::Num(v[r]),
                _ => Cell::Null,
            });
        }
    }
    Ok(StatsTable { columns: names, rows })
}

/// The statistics of experiment `key` from the engine's answer in `path`.
pub(super) fn read_stats(spec: &Spec, key: &str, path: &str) -> Result<ExperimentData> {
    warehouse::read_stats(spec, key, &read_table(path)?)
}
