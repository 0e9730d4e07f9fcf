//! Warehouse-native analysis: the spec's metric catalogue ([`crate::spec::catalog`]) compiled
//! to one SQL query per experiment, run where the data lives, and its answer read back as the
//! sufficient statistics [`crate::report::analyze_experiment`] analyses. Pure: no I/O, no
//! connection; the Python door, the CLI (`liftlab sql`, `liftlab analyze --stats`) and the HTTP
//! service (`POST /v1/sql`) run or print the query.
//!
//! ```
//! use liftlab::spec::Spec;
//! use liftlab::warehouse::{compile_sql, CompileOptions, Dialect};
//!
//! let spec = Spec::from_toml(r#"
//! [[experiments]]
//! key = "sms"
//! variants = ["control", "sms"]
//!
//! [catalog]
//! id_types = ["phone"]
//! exposures = { table = "exposures", id_type = "phone", unit_col = "phone",
//!               experiment_col = "experiment", variant_col = "variant", time_col = "ts" }
//! facts = [{ name = "orders", table = "orders", ids = { phone = "phone" }, time_col = "ts",
//!            columns = ["amount"] }]
//! metrics = [{ name = "revenue", kind = "sum", fact = "orders", column = "amount",
//!              window_days = [0, 7] }]
//! "#).unwrap();
//! let q = compile_sql(&spec, "sms", Dialect::Duckdb, &CompileOptions::default()).unwrap();
//! assert!(q.sql.contains(r#"SUM(CAST(f."amount" AS DOUBLE))"#));
//! assert_eq!(q.columns[..5], ["variant", "exposure_day", "n", "m0_sum_x", "m0_sum_x2"]);
//! ```
//!
//! The answer has one row per (variant, exposure day) and, with segments, one per (variant,
//! dimension value): `n`, and per metric `m<i>_sum_<k>` and `m<i>_sum_<kl>` (the sums and sums of
//! products of the components minus their shifts), for mean metrics `m<i>_sum_x3` (the sum of
//! cubes `Σ(x − shift_x)³`, for the skewness check), `m<i>_shift_<k>`, `m<i>_cap` for quantile
//! caps, and `multiple_exposures`. [`read_stats`] turns it into [`ExperimentData`]: the
//! per-variant cells (the sum of the day rows), the segments and the cumulative daily timeline.

mod compile;
mod dialect;
mod sql;
mod stats;

use serde::{Deserialize, Serialize};

pub use dialect::Dialect;
pub use stats::{Cell, StatsTable, MAX_STATS_COLUMNS, MAX_STATS_ROWS};

use crate::error::Result;
use crate::report::ExperimentData;
use crate::spec::Spec;

/// The date range of an analysis: exposures from `start` (inclusive) to `end` (inclusive, the
/// whole day), and facts before the end of `end`. Dates are `YYYY-MM-DD`; default: all.
/// `base_dir` is the folder relative file sources (`path = "data/x.parquet"`) are read from,
/// usually the spec file's folder; default: as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CompileOptions {
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_dir: Option<String>,
}

/// A compiled query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct CompiledQuery {
    pub sql: String,
    pub dialect: Dialect,
    /// The columns of its answer, in order.
    pub columns: Vec<String>,
}

/// Compiles the sufficient-statistics query of experiment `key` for `dialect`.
///
/// Errors (nothing is run): no `[catalog]`, a metric of the experiment that is not a catalogue
/// metric, a segment that is not a catalogue dimension, a file source the dialect cannot read,
/// a malformed date.
pub fn compile_sql(spec: &Spec, key: &str, dialect: Dialect, options: &CompileOptions) -> Result<CompiledQuery> {
    compile::compile(spec, key, dialect, options)
}

/// Reads the answer of [`compile_sql`]'s query (column names in any case) into the statistics
/// [`crate::report::analyze_experiment`] takes. Errors name the column and row.
pub fn read_stats(spec: &Spec, key: &str, table: &StatsTable) -> Result<ExperimentData> {
    stats::read(spec, key, table)
}
