"""The warehouse door on DuckDB: the report computed in the engine equals, to 1e-9 relative, the
report of ``liftlab.analyze`` on unit-level frames that warehouse_cases.reference builds from the
same events with plain pandas; bad input is an error naming the field before anything runs; the
reviewed SQL snapshots parse with sqlglot in their dialect; a metric with mean 1e8 and standard
deviation 10 keeps its standard error.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import duckdb
import liftlab
import pandas as pd
import pytest
import sqlglot
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from liftlab.exceptions import InvalidInputError, NotFoundError
from warehouse_cases import SPEC, big_mean_case, check_big_mean, events, reference

SNAPSHOTS = ROOT / "tests" / "sql_snapshots"


def assert_same(a, b, path="report"):
    """Equal trees; numbers to 1e-9 relative (1e-12 absolute near zero)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: {len(a)} items != {len(b) if isinstance(b, list) else b}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), f"{path}: {a!r} != {b!r}"
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def duck(tables):
    con = duckdb.connect()
    liftlab._warehouse._register(con, tables)
    return con


def reference_report(spec, key, tables):
    ex, out = reference(spec, key, tables)
    return liftlab.analyze(spec, ex, out, experiment=key, unit_col="phone", variant_col="variant", time_col="exposed_at")


def check_equal(tables, key="e", spec=SPEC, con=None):
    """The warehouse report (on `con`, or an in-memory DuckDB over `tables`) equals the unit-level
    analysis' report; where that raises, the warehouse raises the same error about the same field
    (its name is returned)."""

    def run():
        if con is not None:
            return liftlab.analyze_warehouse(spec, key, con)
        return liftlab.analyze_warehouse(spec, key, tables=tables)

    try:
        want = reference_report(spec, key, tables).to_dict()
    except liftlab.exceptions.LiftlabError as e:
        # nobody exposed, or no metric can be analysed (e.g. an arm of one person)
        with pytest.raises(type(e)) as got:
            run()
        field = str(e).split(":")[0]
        assert str(got.value).split(":")[0] == field, (got.value, e)
        return field
    got = run().to_dict()
    assert_same(got, want)
    return got


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1))
def test_duckdb_equals_the_unit_level_analysis(seed):
    check_equal(events(seed))


def test_a_rich_case_covers_every_feature():
    tables = events(7, n_persons=400)
    got = check_equal(tables)
    assert got["data"]["multiple_exposures"] > 0
    assert {m["name"] for m in got["metrics"]} >= {"deal_7d", "order_value_cuped", "calls_per_message"}
    assert all(m.get("error") is None for m in got["metrics"]), [m.get("error") for m in got["metrics"]]
    assert {s["value"] for s in got["segments"]} == {"sms", "call", "(missing)"}
    assert len(got["timeline"]) > 10
    caps = {m["name"]: m.get("cap") for m in got["metrics"]}
    assert caps["revenue_14d"] == 300 and caps["revenue_cuped"] > 0
    # mean metrics carry their skewness (the query's Σ(x − shift)³), and the small arms get the
    # Kohavi note, equal to the unit-level analysis' by check_equal
    assert all(a["skewness"] > 0 for m in got["metrics"] if m["name"] == "revenue_14d" for a in m["arms"])
    notes = [n for m in got["metrics"] for e in m["effects"] for n in e.get("notes", [])]
    assert any(n.startswith("heavily skewed metric") for n in notes), notes
    check_equal(tables, key="other")


def test_an_empty_arm_and_no_facts():
    """An arm nobody is in, or persons without any fact: no metric can be analysed, and both doors
    say so with the same error; a metric without facts beside one with facts is reported."""
    assert check_equal(events(11, n_persons=30, one_arm=True)) == "metrics"
    tables = events(11, n_persons=60)
    no_facts = {k: (v.iloc[0:0] if k not in ("exposures", "crm.leads", "crm.bindings") else v) for k, v in tables.items()}
    assert check_equal(no_facts) == "metrics"
    no_wechat = dict(tables, wechat=tables["wechat"].iloc[0:0])
    got = check_equal(no_wechat)
    errors = {m["name"]: m.get("error") for m in got["metrics"]}
    assert errors["wechat_in_7d"] and errors["deal_7d"] is None


def test_the_sql_is_the_one_the_cli_prints():
    sql = liftlab.compile_sql(SPEC, "e", dialect="postgres", start="2025-03-01", end="2025-03-31")
    assert sql.startswith("-- liftlab: sufficient statistics of experiment e (postgres)")
    assert "TIMESTAMP '2025-04-01 00:00:00'" in sql
    sqlglot.parse_one(sql, read="postgres")


@pytest.mark.parametrize("path", sorted(SNAPSHOTS.glob("*.sql")), ids=lambda p: p.name)
def test_snapshots_parse_in_their_dialect(path: Path):
    dialect = path.name.split(".")[1]
    statements = sqlglot.parse(path.read_text(), read=dialect)
    assert len(statements) == 1 and statements[0] is not None
    assert isinstance(statements[0], sqlglot.exp.Select)


def test_every_dialect_compiles_and_parses():
    for d in liftlab._warehouse.DIALECTS:
        sqlglot.parse_one(liftlab.compile_sql(SPEC, "e", dialect=d), read=d)


def test_bad_input_names_the_field_and_runs_nothing():
    con = duckdb.connect()  # no tables at all: any query run would fail with a DuckDB error
    cases = [
        (SPEC.replace('column = "order_day"', 'column = "day_of_order"'), "e", "catalog.metrics[5].column"),
        (SPEC.replace('fact = "calls"', 'fact = "phone_calls"'), "e", "catalog.metrics[8].fact"),
        (SPEC.replace("window_days = [0, 7]", "window_days = [7, 0]", 1), "e", "catalog.metrics[0].window_days"),
        (SPEC.replace('ids = { unionid = "unionid" }', 'ids = { wechat_openid = "openid" }'), "e", "catalog.facts[2].ids.wechat_openid"),
        (SPEC.replace('id_types = ["phone", "unionid", "lead_id"]', 'id_types = ["phone", "unionid", "lead_id", "openid"]')
         .replace('ids = { unionid = "unionid" }', 'ids = { openid = "openid" }'), "e", "catalog.facts[2].ids"),
        (SPEC.replace('table = "orders"', 'table = "orders\\"; DROP TABLE exposures; --"'), "e", "catalog.facts[0].table"),
        (SPEC.replace('name = "deal_7d"', 'name = "deal\'7d"'), "e", "catalog.metrics[0].name"),
        (SPEC.replace('time_col = "sent_at"', 'time_col = "sent_at"\ncolour = "red"'), "e", "catalog.facts[2].colour"),
    ]
    for spec, key, field in cases:
        with pytest.raises(InvalidInputError, match="^" + re.escape(field) + ": "):
            liftlab.analyze_warehouse(spec, key, con)
        with pytest.raises(InvalidInputError, match="^" + re.escape(field) + ": "):
            liftlab.compile_sql(spec, key)
    with pytest.raises(NotFoundError, match="^experiment: "):
        liftlab.analyze_warehouse(SPEC, "nope", con)
    with pytest.raises(InvalidInputError, match="^dialect: 'mysql' is not one of duckdb, postgres"):
        liftlab.compile_sql(SPEC, "e", dialect="mysql")
    with pytest.raises(InvalidInputError, match="^start: "):
        liftlab.compile_sql(SPEC, "e", start="2025-02-30' OR TRUE --")
    with pytest.raises(InvalidInputError, match=r"^catalog.facts\[0\].path: postgres cannot read files"):
        liftlab.compile_sql(SPEC.replace('table = "orders"', 'path = "orders.parquet"'), "e", dialect="postgres")
    with pytest.raises(InvalidInputError, match="^dialect: cannot tell"):
        liftlab.analyze_warehouse(SPEC, "e", object())
    assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (0,)


def test_the_shared_bad_input_cases_name_the_field_and_run_nothing():
    """tests/fixtures/warehouse_bad_input.json (the cases the CLI and HTTP doors refuse in
    tests/warehouse_doors.rs): liftlab.compile_sql and liftlab.analyze_warehouse raise
    InvalidInputError naming the same field, and nothing reaches the connection."""
    fixture = json.loads((ROOT / "tests" / "fixtures" / "warehouse_bad_input.json").read_text())
    telesales = (SNAPSHOTS / "telesales.toml").read_text()
    con = duckdb.connect()  # no tables at all: any query run would fail with a DuckDB error
    for case in fixture["cases"]:
        spec = telesales
        for old, new in case["edits"]:
            assert old in spec, case["why"]
            spec = spec.replace(old, new, 1)
        pattern = "^" + re.escape(case["field"]) + ": "
        with pytest.raises(InvalidInputError, match=pattern):
            liftlab.compile_sql(spec, "call-script", dialect=case.get("dialect", "duckdb"))
        if "dialect" not in case:  # the connection decides the dialect: DuckDB here
            with pytest.raises(InvalidInputError, match=pattern):
                liftlab.analyze_warehouse(spec, "call-script", con)
    assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (0,)


def test_keywords_and_quotes_in_values_run_safely():
    """A table named `order`, a column named `select` and a filter value full of quotes run."""
    spec = """
[[experiments]]
key = "e'x"
variants = ["control", "treatment"]
[catalog]
id_types = ["phone"]
exposures = { table = "group", id_type = "phone", unit_col = "from", experiment_col = "where",
              variant_col = "select", time_col = "order" }
facts = [{ name = "f", table = "order", ids = { phone = "from" }, time_col = "order", columns = ["select", "by"] }]
metrics = [{ name = "m", kind = "sum", fact = "f", column = "by",
             filters = [{ column = "select", op = "=", value = "it's'); DROP TABLE \\"group\\"; --" }] }]
"""
    t0 = pd.Timestamp("2025-01-01")
    group = pd.DataFrame({"from": ["a", "b", "c", "d"], "where": ["e'x"] * 4, "select": ["control", "treatment"] * 2,
                          "order": [t0] * 4})
    order = pd.DataFrame({"from": ["a", "b", "c", "d", "a"], "order": [t0] * 5,
                          "select": ["it's'); DROP TABLE \"group\"; --"] * 4 + ["other"], "by": [1.0, 2.0, 3.0, 5.0, 100.0]})
    con = duck({"group": group, "order": order})
    r = liftlab.analyze_warehouse(spec, "e'x", con)
    assert [a["estimate"] for a in r.to_dict()["metrics"][0]["arms"]] == [2.0, 3.5]
    assert con.execute('SELECT count(*) FROM "group"').fetchone() == (4,)


def test_file_sources_relative_to_the_spec(tmp_path):
    tables = events(3, n_persons=50)
    (tmp_path / "data").mkdir()
    spec = SPEC
    for name, df in tables.items():
        file = f"data/{name.replace('.', '_')}.parquet"
        df.to_parquet(tmp_path / file)
        spec = spec.replace(f'table = "{name}"', f'path = "{file}"')
    assert "table =" not in spec
    (tmp_path / "spec.toml").write_text(spec)
    got = liftlab.analyze_warehouse(str(tmp_path / "spec.toml"), "e").to_dict()
    assert_same(got, reference_report(SPEC, "e", tables).to_dict())
    assert "read_parquet('data/orders.parquet')" in liftlab.compile_sql(spec, "e")


def test_a_mean_of_1e8_with_sd_10_keeps_its_standard_error_and_skewness():
    """The large-offset case of warehouse_cases.big_mean_case on DuckDB (references and
    tolerances in check_big_mean)."""
    spec, tables, exact, skew = big_mean_case(20_000)
    check_big_mean(liftlab.analyze_warehouse(spec, "e", tables=tables).to_dict(), exact, skew)


def test_the_cli_and_the_service_give_the_same_query_and_report(tmp_path, liftlab_bin, service):
    """`liftlab sql | duckdb > stats.{json,csv,parquet}` then `liftlab analyze --stats`: the report
    the Python door gives; `POST /v1/sql` returns the query `liftlab.compile_sql` does."""
    import subprocess

    tables = events(7, n_persons=200)
    (tmp_path / "spec.toml").write_text(SPEC)
    sql = subprocess.run([liftlab_bin, "sql", "--spec", "spec.toml", "--experiment", "e"], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert sql == liftlab.compile_sql(SPEC, "e")
    status, body = service.call("POST", "/v1/sql", {"spec": SPEC, "experiment": "e", "dialect": "clickhouse"})
    assert status == 200 and body["sql"] == liftlab.compile_sql(SPEC, "e", dialect="clickhouse")
    want = liftlab.analyze_warehouse(SPEC, "e", tables=tables).to_dict()
    con = duck(tables)
    for fmt in ("json", "csv", "parquet"):
        con.execute(f"COPY ({sql}) TO '{tmp_path / ('stats.' + fmt)}' (FORMAT {fmt})")
        subprocess.run([liftlab_bin, "analyze", "--spec", "spec.toml", "--experiment", "e", "--stats", f"stats.{fmt}",
                        "-o", f"report_{fmt}.json"], cwd=tmp_path, check=True, capture_output=True)
        got = json.loads((tmp_path / f"report_{fmt}.json").read_text())
        assert_same(got, want, fmt)


def test_the_readme_warehouse_tour_runs(tmp_path, liftlab_bin):
    """README's "### Warehouse" block: the example data, `liftlab sql`, DuckDB, `liftlab analyze
    --stats`, `liftlab check`, from a clean folder."""
    import os
    import shutil
    import subprocess
    import sys

    text = (ROOT / "README.md").read_text()
    section = re.search(r"### Warehouse\n(.*?)(?=\n## |\n### |\Z)", text, flags=re.S).group(1)
    (script,) = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    (tmp_path / "examples" / "warehouse").mkdir(parents=True)
    for f in ("make_data.py", "spec.toml"):
        shutil.copy(ROOT / "examples" / "warehouse" / f, tmp_path / "examples" / "warehouse")
    path = f"{Path(liftlab_bin).parent}:{Path(sys.executable).parent}:{os.environ['PATH']}"
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=dict(os.environ, PATH=path),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    assert "-- liftlab: sufficient statistics of experiment call-script (duckdb)" in r.stdout
    assert "call-script: ship short-script" in r.stderr and "call-script: passed" in r.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["data"]["multiple_exposures"] > 0 and len(report["timeline"]) > 30
