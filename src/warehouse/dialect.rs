//! The six SQL dialects: how each quotes names, escapes strings, adds seconds to a time, takes
//! an exact quantile and reads a file. Everything dialect-specific lives here (GrowthBook keeps
//! one query builder per warehouse behind one interface; this is the same split, smaller).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A SQL dialect, named as sqlglot names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    Duckdb,
    Postgres,
    Clickhouse,
    Spark,
    Bigquery,
    Snowflake,
}

/// Column types the compiler casts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Double,
    Text,
}

impl Dialect {
    /// Every dialect, in the order the docs list them.
    pub const ALL: [Dialect; 6] = [
        Dialect::Duckdb,
        Dialect::Postgres,
        Dialect::Clickhouse,
        Dialect::Spark,
        Dialect::Bigquery,
        Dialect::Snowflake,
    ];

    /// The sqlglot name (`duckdb`, `postgres`, `clickhouse`, `spark`, `bigquery`, `snowflake`).
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Duckdb => "duckdb",
            Dialect::Postgres => "postgres",
            Dialect::Clickhouse => "clickhouse",
            Dialect::Spark => "spark",
            Dialect::Bigquery => "bigquery",
            Dialect::Snowflake => "snowflake",
        }
    }

    /// Parses a sqlglot dialect name.
    pub fn from_name(name: &str) -> Result<Self> {
        Dialect::ALL.into_iter().find(|d| d.name() == name).ok_or_else(|| {
            Error::invalid(
                "dialect",
                format!(
                    "'{}' is not one of {}",
                    name.escape_debug(),
                    Dialect::ALL.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    /// A quoted identifier. Names reaching here were checked at spec load to hold no quote,
    /// backslash or control character ([`crate::spec::catalog::check_name`]); the quote
    /// character is still doubled, so even an unchecked name stays one identifier.
    pub(crate) fn ident(self, name: &str) -> String {
        let q = match self {
            Dialect::Spark | Dialect::Bigquery => '`',
            _ => '"',
        };
        let mut s = String::with_capacity(name.len() + 2);
        s.push(q);
        for c in name.chars() {
            if c == q {
                s.push(q);
            }
            s.push(c);
        }
        s.push(q);
        s
    }

    /// Whether backslash is an escape character inside string literals.
    fn backslash_escapes(self) -> bool {
        matches!(self, Dialect::Clickhouse | Dialect::Spark | Dialect::Bigquery | Dialect::Snowflake)
    }

    /// A string literal. DuckDB and PostgreSQL (standard strings) double the quote; the others
    /// also treat backslash as an escape, so both are escaped with a backslash (Spark reads `''`
    /// as two adjacent literals, BigQuery does not accept it). Control characters are refused at
    /// spec load.
    pub(crate) fn string(self, v: &str) -> String {
        let mut s = String::with_capacity(v.len() + 2);
        s.push('\'');
        for c in v.chars() {
            match c {
                '\'' if self.backslash_escapes() => s.push_str("\\'"),
                '\'' => s.push_str("''"),
                '\\' if self.backslash_escapes() => s.push_str("\\\\"),
                c => s.push(c),
            }
        }
        s.push('\'');
        s
    }

    pub(crate) fn ty(self, t: Ty) -> &'static str {
        match (self, t) {
            (Dialect::Postgres, Ty::Double) => "DOUBLE PRECISION",
            (Dialect::Clickhouse, Ty::Double) => "Nullable(Float64)",
            (Dialect::Bigquery, Ty::Double) => "FLOAT64",
            (_, Ty::Double) => "DOUBLE",
            (Dialect::Postgres, Ty::Text) => "TEXT",
            (Dialect::Clickhouse, Ty::Text) => "Nullable(String)",
            (Dialect::Spark | Dialect::Bigquery, Ty::Text) => "STRING",
            (_, Ty::Text) => "VARCHAR",
        }
    }

    /// `expr` plus `seconds` (which may be negative).
    pub(crate) fn add_seconds(self, expr: &str, seconds: i64) -> String {
        if seconds == 0 {
            return expr.to_string();
        }
        let (sign, n) = if seconds < 0 { ('-', -seconds) } else { ('+', seconds) };
        match self {
            Dialect::Duckdb | Dialect::Clickhouse => format!("{expr} {sign} INTERVAL {n} SECOND"),
            Dialect::Postgres => format!("{expr} {sign} INTERVAL '{n} seconds'"),
            Dialect::Spark => format!("{expr} {sign} INTERVAL {n} SECONDS"),
            Dialect::Bigquery => {
                let f = if seconds < 0 { "TIMESTAMP_SUB" } else { "TIMESTAMP_ADD" };
                format!("{f}({expr}, INTERVAL {n} SECOND)")
            }
            Dialect::Snowflake => format!("DATEADD(SECOND, {seconds}, {expr})"),
        }
    }

    /// The calendar date of a time.
    pub(crate) fn date(self, expr: &str) -> String {
        match self {
            Dialect::Clickhouse => format!("toDate({expr})"),
            _ => format!("CAST({expr} AS DATE)"),
        }
    }

    /// A timestamp literal of midnight on `date` (`YYYY-MM-DD`, already validated).
    pub(crate) fn midnight(self, date: &str) -> String {
        match self {
            Dialect::Clickhouse => format!("toDateTime64('{date} 00:00:00', 6)"),
            _ => format!("TIMESTAMP '{date} 00:00:00'"),
        }
    }

    /// The exact quantile `q` of `expr` with linear interpolation (numpy's default, R type 7),
    /// as an aggregate; `None` where the dialect has it only as a window function (BigQuery).
    pub(crate) fn quantile(self, expr: &str, q: f64) -> Option<String> {
        match self {
            Dialect::Duckdb => Some(format!("quantile_cont({expr}, {q})")),
            Dialect::Postgres | Dialect::Snowflake => {
                Some(format!("PERCENTILE_CONT({q}) WITHIN GROUP (ORDER BY {expr})"))
            }
            Dialect::Clickhouse => Some(format!("quantileExactInclusive({q})({expr})")),
            Dialect::Spark => Some(format!("PERCENTILE({expr}, {q})")),
            Dialect::Bigquery => None,
        }
    }

    /// BigQuery's window form of the exact quantile.
    pub(crate) fn quantile_window(self, expr: &str, q: f64) -> String {
        format!("PERCENTILE_CONT({expr}, {q}) OVER ()")
    }

    /// A file read as a table, or why the dialect cannot.
    pub(crate) fn file(self, path: &str) -> std::result::Result<String, String> {
        let lower = path.to_ascii_lowercase();
        let csv = lower.ends_with(".csv");
        let lit = self.string(path);
        match (self, csv) {
            (Dialect::Duckdb, false) => Ok(format!("read_parquet({lit})")),
            (Dialect::Duckdb, true) => Ok(format!("read_csv({lit})")),
            (Dialect::Clickhouse, false) => Ok(format!("file({lit}, Parquet)")),
            (Dialect::Clickhouse, true) => Ok(format!("file({lit}, CSVWithNames)")),
            (Dialect::Spark, false) => Ok(format!("parquet.{}", self.ident(path))),
            (Dialect::Spark, true) => {
                Err("Spark reads CSV files without their header; load the file as a table".into())
            }
            _ => Err(format!("{} cannot read files in a query; load the file as a table", self.name())),
        }
    }

    /// Settings appended to the query (ClickHouse: SQL-standard NULLs in outer joins and in the
    /// columns a grouping set leaves out).
    pub(crate) fn settings(self) -> Option<&'static str> {
        match self {
            Dialect::Clickhouse => Some("SETTINGS group_by_use_nulls = 1, join_use_nulls = 1"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_cannot_be_escaped_from() {
        assert_eq!(Dialect::Duckdb.string("it's"), "'it''s'");
        assert_eq!(Dialect::Postgres.string(r"a\'b"), r"'a\''b'");
        assert_eq!(Dialect::Spark.string(r"a\'b"), r"'a\\\'b'");
        assert_eq!(Dialect::Bigquery.string("x' OR 1=1 --"), r"'x\' OR 1=1 --'");
        assert_eq!(Dialect::Duckdb.ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(Dialect::Spark.ident("a`b"), "`a``b`");
        assert_eq!(Dialect::from_name("postgres").unwrap(), Dialect::Postgres);
        assert_eq!(Dialect::from_name("mysql").unwrap_err().field(), Some("dialect"));
    }
}
