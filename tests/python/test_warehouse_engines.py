"""The warehouse door on real engines: a throwaway PostgreSQL cluster (pg_cluster.py) through
psycopg (DB-API) and through ADBC, and ClickHouse in-process (chdb). Each engine's report equals, to 1e-9 relative, the
report of ``liftlab.analyze`` on the unit-level frames warehouse_cases.reference builds with plain
pandas; the 1e8 / sd 10 metric keeps its standard error in each engine.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

import chdb
import liftlab
import numpy as np
import pandas as pd
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg_cluster import Cluster
from psycopg import sql
from test_warehouse import assert_same, check_equal
from warehouse_cases import SPEC, big_mean_case, check_big_mean, events


def _py(v):
    """A cell as a plain Python value for the database driver (NULL for every kind of missing)."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _pg_type(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s.dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(s.dtype):
        return "BIGINT"
    if pd.api.types.is_float_dtype(s.dtype):
        return "DOUBLE PRECISION"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "TIMESTAMP"
    return "TEXT"


def load_postgres(con: psycopg.Connection, tables: dict[str, pd.DataFrame]) -> None:
    for name, df in tables.items():
        parts = name.split(".")
        table = sql.Identifier(*parts)
        if len(parts) > 1:
            con.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(parts[0])))
        con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        cols = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(_pg_type(df[c]))) for c in df.columns)
        con.execute(sql.SQL("CREATE TABLE {} ({})").format(table, cols))
        with con.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(table)) as cp:
            for row in df.itertuples(index=False):
                cp.write_row([_py(v) for v in row])


def _ch_ident(name: str) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in name.split("."))


def load_clickhouse(con, tables: dict[str, pd.DataFrame], folder: Path) -> None:
    cur = con.cursor()
    for i, (name, df) in enumerate(tables.items()):
        df = df.astype({c: "string" for c in df.columns if df[c].dtype == object})
        path = folder / f"t{i}.parquet"
        df.to_parquet(path)
        parts = name.split(".")
        if len(parts) > 1:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {_ch_ident(parts[0])}")
        cur.execute(f"DROP TABLE IF EXISTS {_ch_ident(name)}")
        cur.execute(f"CREATE TABLE {_ch_ident(name)} ENGINE = Memory AS SELECT * FROM file('{path}', Parquet)")


@pytest.fixture(scope="module")
def pg_cluster():
    with Cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def pg(pg_cluster):
    with psycopg.connect(**pg_cluster.params, autocommit=True) as con:
        yield con


@pytest.fixture(scope="module")
def ch():
    with tempfile.TemporaryDirectory(prefix="liftlab-ch-") as tmp:
        con = chdb.connect(":memory:")
        yield con, Path(tmp)
        con.close()


def check(con, tables, key="e", spec=SPEC):
    return check_equal(tables, key, spec, con)


def nonempty(seed: int) -> dict[str, pd.DataFrame]:
    """A random event set with at least a few exposed persons (an empty experiment is DuckDB's test)."""
    return events(seed, n_persons=10 + seed % 50)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1))
def test_postgres_equals_the_unit_level_analysis(pg, seed):
    tables = nonempty(seed)
    load_postgres(pg, tables)
    check(pg, tables)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1))
def test_clickhouse_equals_the_unit_level_analysis(ch, seed):
    con, folder = ch
    tables = nonempty(seed)
    load_clickhouse(con, tables, folder)
    check(con, tables)


def test_a_rich_case_on_each_engine(pg, ch):
    tables = events(7, n_persons=400)
    load_postgres(pg, tables)
    got = check(pg, tables)
    assert got["data"]["multiple_exposures"] > 0 and len(got["segments"]) == 3
    check(pg, tables, key="other")
    con, folder = ch
    load_clickhouse(con, tables, folder)
    assert_same(check(con, tables), got)
    # the same SQL through the connection as the door runs it: a date range
    r = liftlab.analyze_warehouse(SPEC, "e", pg, start=dt.date(2025, 3, 5), end="2025-03-10").to_dict()
    assert 0 < r["data"]["n_total"] < got["data"]["n_total"]
    assert {p["date"] for p in r["timeline"]} <= {f"2025-03-{d:02d}" for d in range(5, 11)}


def test_an_adbc_connection_is_told_by_its_vendor(pg, pg_cluster):
    """The same PostgreSQL cluster through ADBC (adbc-driver-postgresql, libpq): the dialect comes
    from adbc_get_info()'s vendor name, and the report equals the unit-level analysis'."""
    import adbc_driver_postgresql.dbapi

    tables = events(7, n_persons=200)
    load_postgres(pg, tables)
    p = pg_cluster.params
    with adbc_driver_postgresql.dbapi.connect(f"postgresql:///{p['dbname']}?host={p['host']}&user={p['user']}") as con:
        assert liftlab._warehouse._dialect_of(con) == "postgres"
        check(con, tables)


def test_a_mean_of_1e8_with_sd_10_on_each_engine(pg, ch):
    """The large-offset case of warehouse_cases.big_mean_case on PostgreSQL and ClickHouse
    (references and tolerances in check_big_mean)."""
    spec, tables, exact, skew = big_mean_case(4000)
    load_postgres(pg, tables)
    con, folder = ch
    load_clickhouse(con, tables, folder)
    for c in (pg, con):
        check_big_mean(liftlab.analyze_warehouse(spec, "e", c).to_dict(), exact, skew)
