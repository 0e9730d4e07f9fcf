"""Warehouse-native analysis: the spec's metric catalogue compiled to one SQL query, run where the
data lives (DuckDB, PostgreSQL, ClickHouse, ... through the connection you pass), and its
sufficient statistics analysed by the same core as :func:`liftlab.analyze`.

The query is written by the Rust core (``liftlab sql`` and ``POST /v1/sql`` print the same text);
this module only runs it and hands the rows back.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
import os
from collections.abc import Mapping
from typing import Any

from liftlab import _core
from liftlab._analysis import Report
from liftlab._assign import SpecLike, load_spec
from liftlab.exceptions import InvalidInputError, _error

DIALECTS = ("duckdb", "postgres", "clickhouse", "spark", "bigquery", "snowflake")

# top-level module of a connection's class -> dialect
_MODULES = {
    "_duckdb": "duckdb",
    "duckdb": "duckdb",
    "psycopg": "postgres",
    "psycopg2": "postgres",
    "pg8000": "postgres",
    "chdb": "clickhouse",
    "clickhouse_connect": "clickhouse",
    "clickhouse_driver": "clickhouse",
    "pyspark": "spark",
    "google": "bigquery",
    "snowflake": "snowflake",
}
# ADBC vendor names (adbc_get_info()["vendor_name"]) -> dialect
_ADBC_VENDORS = {"duckdb": "duckdb", "postgresql": "postgres", "snowflake": "snowflake", "bigquery": "bigquery"}


def _is_spec_path(spec: Any) -> bool:
    return isinstance(spec, os.PathLike) or (isinstance(spec, str) and "\n" not in spec and spec.endswith(".toml"))


def _spec_and_base(spec: SpecLike, base_dir: str | os.PathLike | None) -> tuple[_core.Spec, str | None]:
    """The spec, and the folder its relative file sources are read from (a spec file's own folder)."""
    if base_dir is None and _is_spec_path(spec):
        base_dir = os.path.dirname(os.path.abspath(os.fspath(spec)))
    return load_spec(spec), (os.fspath(base_dir) if base_dir is not None else None)


def _date(value: Any, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()[:10]
    raise _error(InvalidInputError, (field,), f"expected a date or 'YYYY-MM-DD', got {type(value).__name__}")


def compile_sql(
    spec: SpecLike,
    experiment: str | None = None,
    *,
    dialect: str = "duckdb",
    start: str | _dt.date | None = None,
    end: str | _dt.date | None = None,
    base_dir: str | os.PathLike | None = None,
) -> str:
    """The SQL that computes experiment ``experiment``'s sufficient statistics in ``dialect``
    (``duckdb``, ``postgres``, ``clickhouse``, ``spark``, ``bigquery``, ``snowflake``), from
    exposures on ``start`` to ``end`` (inclusive dates; default all). The same text as
    ``liftlab sql`` and ``POST /v1/sql``.

    >>> import liftlab
    >>> spec = '''
    ... [[experiments]]
    ... key = "sms"
    ... variants = ["control", "sms"]
    ... [catalog]
    ... id_types = ["phone"]
    ... exposures = { table = "exposures", id_type = "phone", unit_col = "phone",
    ...               experiment_col = "experiment", variant_col = "variant", time_col = "ts" }
    ... facts = [{ name = "orders", table = "orders", ids = { phone = "phone" }, time_col = "ts",
    ...            columns = ["amount"] }]
    ... metrics = [{ name = "revenue", kind = "sum", fact = "orders", column = "amount" }]
    ... '''
    >>> print(liftlab.compile_sql(spec, dialect="postgres").splitlines()[1])
    -- m0 = revenue: sum of orders.amount
    """
    s, base = _spec_and_base(spec, base_dir)
    key = s.resolve_experiment(experiment)
    sql, _ = _core._compile_sql(s, key, dialect, _date(start, "start"), _date(end, "end"), base)
    return sql


def _dialect_of(con: Any) -> str:
    mod = type(con).__module__.split(".")[0]
    if mod in _MODULES:
        return _MODULES[mod]
    if hasattr(con, "adbc_get_info"):
        vendor = str(con.adbc_get_info().get("vendor_name", "")).lower()
        for name, dialect in _ADBC_VENDORS.items():
            if name in vendor:
                return dialect
    raise _error(
        InvalidInputError,
        ("dialect",),
        f"cannot tell the SQL dialect of a {type(con).__module__}.{type(con).__name__}; pass dialect= (one of {', '.join(DIALECTS)})"
    )


def _cell(v: Any) -> Any:
    """A value of the engine's answer as JSON: numbers, text, None (NaN and infinities become
    None, which the core reports by column and row)."""
    if v is None or isinstance(v, (str, int)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, decimal.Decimal):
        return float(v) if v.is_finite() else None
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()[:10]
    if hasattr(v, "item"):  # numpy scalars
        return _cell(v.item())
    return str(v)


def _run(con: Any, sql: str) -> tuple[list[str], list[tuple]]:
    """Runs ``sql`` on a DuckDB connection, a Spark session, a clickhouse-connect client or any
    DB-API 2.0 / ADBC connection; returns the column names and rows."""
    mod = type(con).__module__.split(".")[0]
    if mod in ("_duckdb", "duckdb"):
        cur = con.execute(sql)
        return [d[0] for d in cur.description], cur.fetchall()
    if mod == "pyspark":
        df = con.sql(sql)
        return list(df.columns), [tuple(r) for r in df.collect()]
    if mod == "clickhouse_connect":
        r = con.query(sql)
        return list(r.column_names), list(r.result_rows)
    if not hasattr(con, "cursor"):
        raise _error(InvalidInputError, ("con",), f"a {type(con).__name__} is not a DuckDB connection, a Spark session or a DB-API connection")
    cur = con.cursor()
    try:
        cur.execute(sql)
        names = [d[0] for d in cur.description]
        return names, list(cur.fetchall())
    finally:
        close = getattr(cur, "close", None)
        if close is not None:
            close()


def _quote(name: str) -> str:
    """A DuckDB identifier (for registering the ``tables`` given by name)."""
    return '"' + name.replace('"', '""') + '"'


def _register(con: Any, tables: Mapping[str, Any]) -> None:
    """Makes each DataFrame (polars, pandas, Arrow) or Parquet/CSV path of ``tables`` a DuckDB
    view under its name (``schema.table`` creates the schema)."""
    for i, (name, obj) in enumerate(tables.items()):
        if not isinstance(name, str) or not name or any(p == "" for p in name.split(".")):
            raise _error(InvalidInputError, ("tables",), f"'{name}' is not a table name")
        tmp = f"__liftlab_table_{i}"
        if isinstance(obj, (str, os.PathLike)):
            path = os.fspath(obj)
            rel = con.read_csv(path) if path.lower().endswith(".csv") else con.read_parquet(path)
            rel.create_view(tmp, replace=True)
        else:
            con.register(tmp, obj)
        parts = name.split(".")
        if len(parts) > 1:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {'.'.join(_quote(p) for p in parts[:-1])}")
        con.execute(f"CREATE OR REPLACE VIEW {'.'.join(_quote(p) for p in parts)} AS SELECT * FROM {tmp}")


def analyze_warehouse(
    spec: SpecLike,
    experiment: str | None = None,
    con: Any = None,
    *,
    dialect: str | None = None,
    start: str | _dt.date | None = None,
    end: str | _dt.date | None = None,
    tables: Mapping[str, Any] | None = None,
    base_dir: str | os.PathLike | None = None,
) -> Report:
    """Analyses an experiment where its data lives: compiles the spec's ``[catalog]`` metrics to
    one query, runs it on ``con`` and analyses the per-variant sufficient statistics it returns.
    The :class:`Report` is the same as :func:`liftlab.analyze` gives on the unit-level table.

    ``con`` is a DuckDB connection, a DB-API 2.0 or ADBC connection (psycopg, chdb, Snowflake,
    BigQuery ...), a clickhouse-connect client or a Spark session; the dialect follows from it
    (or pass ``dialect=``). Without ``con`` an in-memory DuckDB reads the spec's file sources
    (relative to the spec file's folder, or ``base_dir``). ``tables`` maps source table names to
    DataFrames or Parquet/CSV paths to register in DuckDB first.
    """
    s, base = _spec_and_base(spec, base_dir)
    key = s.resolve_experiment(experiment)
    own = con is None
    if own:
        try:
            import duckdb
        except ImportError as e:  # pragma: no cover - duckdb is installed with the tests
            raise _error(InvalidInputError, ("con",), "without a connection liftlab uses DuckDB: pip install duckdb") from e
        con = duckdb.connect()
    try:
        d = dialect or _dialect_of(con)
        if tables:
            if d != "duckdb":
                raise _error(InvalidInputError, ("tables",), "DataFrames are registered in DuckDB only; load them into your warehouse")
            _register(con, tables)
        sql, _ = _core._compile_sql(s, key, d, _date(start, "start"), _date(end, "end"), base)
        names, rows = _run(con, sql)
    finally:
        if own:
            con.close()
    table = {"columns": [str(n) for n in names], "rows": [[_cell(v) for v in r] for r in rows]}
    return Report(_core._analyze_stats_table(s, key, json.dumps(table)))
