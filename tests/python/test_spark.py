"""liftlab.spark on a local[2] session: assignment, uplift scoring and contact plans as Spark jobs,
each checked against the single-machine function on the same data (itself checked against
GrowthBook, causalml and scikit-uplift in test_assign.py, test_uplift_forest.py and
test_uplift_policy.py).

Tolerances: assignment rows, scores and chosen channels are compared exactly (the executors call
the same code on the same values); plan totals exactly where the driver planned (the core sums
the same floats in the same order), else 1e-12 relative (Spark sums in another order).
pyspark and Java are required: `make spark` installs them, and a missing one fails the import.
"""

from __future__ import annotations

import datetime as dt
import math
import os

import liftlab
import numpy as np
import polars as pl
import pytest
from conftest import ROOT
from liftlab import spark as ls
from liftlab import uplift
from liftlab.exceptions import InsufficientDataError, InvalidInputError, SchemaError
from pyspark import TaskContext
from pyspark.sql import functions as F
from test_warehouse import assert_same, reference_report
from warehouse_cases import SPEC as WAREHOUSE_SPEC
from warehouse_cases import events


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    # one session for the module; its catalogue's tables are written under a temporary folder
    return ls.local_session(2, **{"spark.sql.warehouse.dir": str(tmp_path_factory.mktemp("spark-warehouse"))})


def to_spark(spark, frame: pl.DataFrame, partitions: int = 4):
    return spark.createDataFrame(frame.to_arrow(compat_level=pl.CompatLevel.oldest())).repartition(partitions)


def collect(df) -> pl.DataFrame:
    out = pl.from_arrow(df.toArrow())
    assert isinstance(out, pl.DataFrame)
    return out


def no_job_runs(spark, call):
    """Runs ``call`` (expected to raise) and returns the exception and the Spark jobs it started."""
    sc = spark.sparkContext
    sc.setJobGroup("liftlab-driver-check", "argument checks")
    try:
        with pytest.raises(Exception) as e:
            call()
    finally:
        jobs = list(sc.statusTracker().getJobIdsForGroup("liftlab-driver-check"))
        sc.setJobGroup("", "")
    return e.value, jobs


# ---- assignment --------------------------------------------------------------------------------------

SPEC = """
[groups]
do_not_contact = ["u000003", "u000010", "u000042"]

[[holdouts]]
key = "h2-holdout"
share = 0.05

[[experiments]]
key = "sms-reminder"
variants = ["control", "sms"]
layer = "outreach"
namespace_range = [0.0, 0.5]
exclude_groups = ["do_not_contact"]
forced = { "u000007" = "sms", "u000011" = "control" }

[[experiments]]
key = "call-script"
variants = ["control", "short", "long"]
weights = [0.5, 0.25, 0.25]
coverage = 0.3
layer = "outreach"
namespace_range = [0.5, 0.9]
condition = { country = { "$in" = ["US", "CA"] } }

[[experiments]]
key = "wechat-card"
variants = ["control", "card"]
hash_attribute = "phone"
filters = [{ seed = "wave-2", ranges = [[0.0, 0.6]] }]
exclude = ["u000020"]

[[experiments]]
key = "paused"
variants = ["control", "new"]
active = false
"""

REASONS = {
    "assigned", "excluded", "forced", "inactive", "missing_attribute", "in_holdout", "filtered_out",
    "other_experiment_in_layer", "outside_layer_range", "not_eligible", "outside_coverage",
}  # fmt: skip


def units(n: int) -> pl.DataFrame:
    i = np.arange(n)
    return pl.DataFrame(
        {
            "unit_id": [f"u{k:06d}" for k in i],
            "country": np.array(["US", "CA", "FR", "DE"])[i % 4],
            # every tenth unit has no phone: missing_attribute in wechat-card
            "phone": pl.Series([None if k % 10 == 0 else f"+86{k * 7919 % 10**9:09d}" for k in i], dtype=pl.String),
        }
    )


def spark_units(spark, n: int, partitions: int = 8):
    """:func:`units` made by Spark itself on the executors (the driver ships no rows), in id order."""
    k = F.col("id")
    return spark.range(0, n, numPartitions=partitions).select(
        F.format_string("u%06d", k).alias("unit_id"),
        F.element_at(F.array(*[F.lit(c) for c in ("US", "CA", "FR", "DE")]), (k % 4 + 1).cast("int")).alias("country"),
        F.when(k % 10 != 0, F.format_string("+86%09d", k * 7919 % 10**9)).alias("phone"),
    )


def test_assignment_equals_assign_batch_unit_for_unit_on_1_000_000_ids(spark):
    # Reference: liftlab.assign_batch on the same ids and attributes (GrowthBook's cross-SDK cases
    # in test_assign.py); every row compared exactly, every reason represented.
    n = 1_000_000
    frame = units(n)
    spec = liftlab.load_spec(SPEC)
    want = liftlab.assign_batch(spec, frame["unit_id"], attributes=frame.select("country", "phone"))
    assert set(want["reason"]) == REASONS
    df = spark_units(spark, n)
    assert collect(df.limit(3_000)).equals(frame.head(3_000))  # the two generators agree
    out = ls.assign_batch(spec, df, attribute_cols=["country", "phone"])
    assert out.columns == ["unit_id", "country", "phone", "experiment", "variant", "reason", "bucket"]
    got = collect(out.select(want.columns))
    assert got.height == want.height == 4 * n
    # want is ordered by experiment (spec order), then unit; Spark's rows come partition by partition
    # in id order, each batch experiment by experiment: a stable sort by experiment lines them up.
    order = {e: i for i, e in enumerate(spec.experiments)}
    got = got.sort(pl.col("experiment").replace_strict(order, return_dtype=pl.Int8), maintain_order=True)
    assert got.equals(want)


def test_assignment_of_one_experiment_and_numeric_ids(spark):
    spec = liftlab.load_spec(SPEC)
    ids = pl.DataFrame({"lead": np.arange(5_000, dtype=np.int64) * 1_000_003, "country": ["US", "FR"] * 2_500})
    got = collect(ls.assign_batch(spec, to_spark(spark, ids), unit_col="lead", attribute_cols=["country"], experiment="call-script"))
    want = liftlab.assign_batch(spec, ids["lead"], attributes=ids.select("country"), experiment="call-script")
    got = got.with_columns(unit_id=pl.col("lead").cast(pl.String)).select(want.columns).sort("unit_id")
    assert got.equals(want.sort("unit_id"))  # integer ids hashed as their decimal text, as GrowthBook does
    assert {"assigned", "not_eligible", "outside_coverage"} <= set(got["reason"])


def test_id_col_is_a_deprecated_name_of_unit_col(spark):
    """docs/names.md: ``id_col=`` (before issue 16) still works for one release, with a warning;
    giving both names is an error naming ``unit_col``."""
    ids = pl.DataFrame({"lead": [f"u{i}" for i in range(50)]})
    df = to_spark(spark, ids)
    want = collect(ls.assign_batch(SPEC, df, unit_col="lead")).sort("lead", "experiment")
    with pytest.warns(DeprecationWarning, match="`id_col` is deprecated: use `unit_col`"):
        got = collect(ls.assign_batch(SPEC, df, id_col="lead")).sort("lead", "experiment")
    assert got.equals(want)
    with pytest.warns(DeprecationWarning), pytest.raises(InvalidInputError) as both:
        ls.assign_batch(SPEC, df, unit_col="lead", id_col="lead")
    assert both.value.field == "unit_col" and "given twice" in str(both.value)
    scored = to_spark(spark, pl.DataFrame({"lead": ["a", "b", "c"], "uplift": [0.2, 0.3, -0.2]}))
    with pytest.warns(DeprecationWarning, match="`id_col` is deprecated"):
        plan = ls.plan_contacts(scored, 1.0, 10.0, id_col="lead")
    with pytest.warns(DeprecationWarning, match="SparkContactPlan.id_col"):
        assert plan.id_col == plan.unit_col == "lead"
    assert collect(plan.to_spark()).sort("lead")["channel"].to_list() == ["uplift", "uplift", None]


def test_a_task_that_fails_once_is_retried_and_the_result_is_unchanged(spark, tmp_path):
    # One task of the stage raises once (an injected executor failure); Spark retries it
    # (local[2,4]: up to 4 attempts) and the rows equal the single-machine answer.
    marker = str(tmp_path / "failed-once")

    def fail_once(batches):
        for b in batches:
            if TaskContext.get().partitionId() == 1:
                try:
                    os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
                except FileExistsError:
                    pass
                else:
                    raise RuntimeError("injected executor failure")
            yield b

    frame = units(20_000)
    spec = liftlab.load_spec(SPEC)
    df = to_spark(spark, frame)
    flaky = df.mapInArrow(fail_once, df.schema)
    got = collect(ls.assign_batch(spec, flaky, attribute_cols=["country", "phone"]))
    assert os.path.exists(marker), "the injected failure did not happen"
    want = liftlab.assign_batch(spec, frame["unit_id"], attributes=frame.select("country", "phone"))
    key = ["experiment", "unit_id"]
    assert got.select(want.columns).sort(key).equals(want.sort(key))


def test_a_malformed_spec_fails_on_the_driver_with_the_same_error(spark):
    bad = '[[experiments]]\nkey = "a"\nvariants = ["c", "t"]\nweights = [0.7, 0.6]'
    with pytest.raises(InvalidInputError) as local:
        liftlab.load_spec(bad)
    df = to_spark(spark, units(10))
    e, jobs = no_job_runs(spark, lambda: ls.assign_batch(bad, df))
    assert isinstance(e, InvalidInputError) and str(e) == str(local.value)
    assert str(e).startswith("experiments[0].weights:")
    assert jobs == []
    with pytest.raises(SchemaError, match="unit_col: no column 'lead'"):
        ls.assign_batch(SPEC, df, unit_col="lead")
    with pytest.raises(SchemaError, match=r"attribute_cols\[0\]: no column 'city'"):
        ls.assign_batch(SPEC, df, attribute_cols=["city"])
    with pytest.raises(InvalidInputError, match="experiment: 'nope' is not in the spec"):
        ls.assign_batch(SPEC, df, experiment="nope")
    with pytest.raises(SchemaError, match="already has column 'reason'"):
        ls.assign_batch(SPEC, df.withColumnRenamed("phone", "reason"))
    with pytest.raises(InvalidInputError, match="df: expected a Spark DataFrame"):
        ls.assign_batch(SPEC, units(10))


# ---- uplift scoring -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def forest():
    rng = np.random.default_rng(11)
    n = 4_000
    x = pl.DataFrame(
        {
            "recent": rng.integers(0, 2, n),
            "spend": rng.normal(50, 20, n),
            "city": rng.choice(["sh", "bj", "gz"], n),
        }
    )
    t = rng.integers(0, 3, n)  # 0 none, 1 sms, 2 call
    p = 0.1 + 0.15 * ((t == 1) & (x["recent"].to_numpy() == 1)) + 0.2 * ((t == 2) & (x["spend"].to_numpy() > 50))
    y = (rng.random(n) < p).astype(float)
    return uplift.UpliftForest(n_trees=20, min_samples_leaf=50, seed=3).fit(x, t, y)


def leads(n: int, seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    spend = rng.normal(50, 20, n)
    spend[::97] = np.nan  # missing values score as the core scores them
    return pl.DataFrame(
        {
            "id": [f"lead-{i:06d}" for i in rng.permutation(n)],
            "recent": rng.integers(0, 2, n),
            "spend": spend,
            "city": rng.choice(["sh", "bj", "gz", "cd"], n),  # "cd" unseen at fit time: missing
        }
    )


def test_scores_equal_predict_bit_for_bit(spark, forest, tmp_path):
    frame = leads(30_000)
    want = forest.predict(frame.select("recent", "spend", "city"))
    got = collect(ls.predict_uplift(forest, to_spark(spark, frame))).sort("id")
    ref = frame.with_columns(uplift_1=want[:, 0], uplift_2=want[:, 1]).sort("id")
    assert got.columns == ["id", "recent", "spend", "city", "uplift_1", "uplift_2"]
    for c in ("uplift_1", "uplift_2"):
        assert np.array_equal(got[c].to_numpy().view(np.uint64), ref[c].to_numpy().view(np.uint64))
    # a saved model, features under other names, named outputs
    path = tmp_path / "model.json"
    forest.save(path)
    renamed = to_spark(spark, frame.rename({"spend": "spend_90d"}))
    got2 = collect(
        ls.predict_uplift(str(path), renamed, feature_cols=["recent", "spend_90d", "city"], output_cols=["sms", "call"])
    ).sort("id")
    assert np.array_equal(got2["call"].to_numpy().view(np.uint64), ref["uplift_2"].to_numpy().view(np.uint64))


def test_scoring_errors_are_raised_on_the_driver(spark, forest):
    df = to_spark(spark, leads(10))
    with pytest.raises(SchemaError, match="no column 'spend'"):
        ls.predict_uplift(forest, df.drop("spend"))
    with pytest.raises(InvalidInputError, match="output_cols: must be 2 distinct column names"):
        ls.predict_uplift(forest, df, output_cols=["a"])
    with pytest.raises(InvalidInputError, match="not fitted yet"):
        ls.predict_uplift(uplift.UpliftForest(), df)
    with pytest.raises(InvalidInputError, match="feature_cols: has 2 columns"):
        ls.predict_uplift(forest, df, feature_cols=["recent", "spend"])


# ---- contact plans ------------------------------------------------------------------------------------


def random_uplift(n: int, channels: list[str], seed: int, levels: int | None = None, numeric_ids: bool = False) -> pl.DataFrame:
    """Uplift per channel around a small positive mean; ``levels`` rounds it to 1/levels steps
    (many exact ties, as a forest's few leaves give)."""
    rng = np.random.default_rng(seed)
    cols = {}
    for j, c in enumerate(channels):
        u = rng.normal(0.01 * (j + 1), 0.02 * (j + 1), n)
        cols[c] = np.round(u * levels) / levels if levels else u
    ids = rng.permutation(n).astype(np.int64) * 13 if numeric_ids else [f"c{k}" for k in rng.permutation(n)]
    return pl.DataFrame({"id": ids, **cols})


def check_plan(spark, frame: pl.DataFrame, cost, value, **budgets):
    """The Spark plan against plan_contacts on the same units in id order: channels exactly, the
    per-unit floats bit for bit, totals exactly where the driver planned them."""
    channels = [c for c in frame.columns if c != "id"]
    ref_frame = frame.sort("id")
    ref = uplift.plan_contacts(ref_frame.select(channels), cost, value, ids=ref_frame["id"], **budgets)
    plan = ls.plan_contacts(to_spark(spark, frame), cost, value, **budgets)
    got = collect(plan.to_spark()).sort("id")
    want = ref.to_polars().drop("rank")
    assert got.columns == want.columns == ["id", "channel", "uplift", "expected_gain", "score"]
    assert got.select("id", "channel").equals(want.select("id", "channel"))
    for c in ("uplift", "expected_gain", "score"):
        assert np.array_equal(got[c].fill_null(-1.0).to_numpy().view(np.uint64), want[c].fill_null(-1.0).to_numpy().view(np.uint64)), c
    keys = ["n_contacts", "spend", "expected_conversions", "expected_net_gain"]
    if plan.driver_units:
        assert {k: getattr(plan, k) for k in keys} == {k: getattr(ref, k) for k in keys}
    else:
        assert plan.n_contacts == ref.n_contacts
        for k in keys[1:]:
            assert getattr(plan, k) == pytest.approx(getattr(ref, k), rel=1e-12, abs=1e-12), k
    assert plan.optimal == ref.optimal
    assert plan.peak_n_contacted == ref.peak_n_contacted
    assert plan.peak_net_gain == pytest.approx(ref.peak_net_gain, rel=1e-9)
    assert plan.n_units == ref.n_units
    return plan, ref


CASES = {
    # name: (units, channels, cost, value, levels, numeric ids, budgets)
    "three-channels-no-budget": (20_000, ["sms", "call", "mail"], {"sms": 0.05, "call": 1.5, "mail": 0.01}, 60.0, None, False, {}),
    "three-channels-contacts": (20_000, ["sms", "call", "mail"], {"sms": 0.05, "call": 1.5, "mail": 0.01}, 60.0, None, False, {"max_contacts": 700}),
    "three-channels-spend": (20_000, ["sms", "call", "mail"], {"sms": 0.05, "call": 1.5, "mail": 0.01}, 60.0, None, False, {"max_spend": 400.0}),
    "three-channels-both": (20_000, ["sms", "call", "mail"], {"sms": 0.05, "call": 1.5, "mail": 0.01}, {"sms": 60.0, "call": 80.0, "mail": 60.0}, None, True, {"max_spend": 400.0, "max_contacts": 1_500}),
    "ties-free-channel-both": (8_000, ["mail", "call"], {"mail": 0.0, "call": 1.5}, 60.0, 20, False, {"max_spend": 50.0, "max_contacts": 2_000}),
    "ties-contacts": (8_000, ["sms", "call"], {"sms": 0.05, "call": 1.5}, 60.0, 10, True, {"max_contacts": 1_234}),
    "ties-spend": (8_000, ["sms", "call"], {"sms": 0.05, "call": 1.5}, 60.0, 10, False, {"max_spend": 77.77}),
    "budget-never-reached": (5_000, ["sms"], {"sms": 0.05}, 60.0, None, False, {"max_spend": 1e6}),
    "small-instance-exact-search": (250, ["sms", "call"], {"sms": 0.3, "call": 1.5}, 60.0, None, False, {"max_spend": 20.0}),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_plan_equals_plan_contacts(spark, name):
    # Reference: liftlab.uplift.plan_contacts (checked against scipy's MILP and brute force in
    # test_uplift_policy.py) on the same units sorted by id.
    n, channels, cost, value, levels, numeric, budgets = CASES[name]
    frame = random_uplift(n, channels, seed=sum(map(ord, name)), levels=levels, numeric_ids=numeric)
    plan, ref = check_plan(spark, frame, cost, value, **budgets)
    assert 0 < plan.n_contacts < n
    if "max_spend" in budgets and name != "budget-never-reached":
        # the driver planned the units the greedy reaches and, per channel, the few it could take next
        assert plan.n_contacts <= plan.driver_units <= plan.n_contacts + 2_000 or name == "small-instance-exact-search"
    if name == "small-instance-exact-search":
        # at most 1,000 eligible options: the driver plans every eligible unit (the core's exact
        # search runs there, as on one machine)
        assert plan.driver_units == (ref.to_polars()["score"] > 0).sum()


def test_ranks_equal_plan_contacts(spark):
    frame = random_uplift(6_000, ["sms", "call"], seed=4, levels=20)
    cost = {"sms": 0.05, "call": 1.5}
    plan, ref = check_plan(spark, frame, cost, 60.0, max_spend=90.0)
    got = collect(plan.ranked()).sort("id")
    want = ref.to_polars().sort("id")
    assert got["rank"].to_list() == want["rank"].to_list()


def test_a_plan_from_scores_on_spark(spark, forest):
    # The three jobs chained: scores on the executors, then the plan; equal to predict + plan_contacts.
    frame = leads(12_000, seed=9)
    scored = ls.predict_uplift(forest, to_spark(spark, frame), output_cols=["sms", "call"])
    cost = {"sms": 0.05, "call": 1.5}
    plan = ls.plan_contacts(scored, cost, 40.0, max_spend=150.0)
    ref_frame = frame.sort("id")
    u = forest.predict(ref_frame.select("recent", "spend", "city"))
    ref = uplift.plan_contacts({"sms": u[:, 0], "call": u[:, 1]}, cost, 40.0, ids=ref_frame["id"], max_spend=150.0)
    got = collect(plan.contacts()).sort("id")
    assert got.select("id", "channel").equals(ref.contacts().sort("id").select("id", "channel"))
    assert (plan.n_contacts, plan.spend, plan.expected_net_gain) == (ref.n_contacts, ref.spend, ref.expected_net_gain)


def test_plan_errors_are_the_single_machine_ones_on_the_driver(spark):
    frame = random_uplift(50, ["sms", "call"], seed=1)
    df = to_spark(spark, frame)
    cost = {"sms": 0.05, "call": 1.5}
    for kwargs in (
        {"cost": {"sms": 0.05}},
        {"cost": {"sms": 0.05, "call": -1.0}},
        {"value": 0.0},
        {"max_spend": 0.01},
        {"max_contacts": 0},
    ):
        args = {"cost": cost, "value": 60.0, **kwargs}
        budgets = {k: v for k, v in args.items() if k.startswith("max_")}
        with pytest.raises(InvalidInputError) as local:
            uplift.plan_contacts(frame.select("sms", "call"), args["cost"], args["value"], **budgets)
        call = lambda: ls.plan_contacts(df, args["cost"], args["value"], uplift_cols=["sms", "call"], **budgets)  # noqa: B023, E731
        e, jobs = no_job_runs(spark, call)
        assert type(e) is InvalidInputError and str(e) == str(local.value), kwargs
        assert jobs == [], kwargs
    e, jobs = no_job_runs(spark, lambda: ls.plan_contacts(df, cost, 60.0, uplift_cols=["sms", "mail"]))
    assert isinstance(e, SchemaError) and str(e).startswith("uplift_cols[1]: no column 'mail'") and jobs == []
    with pytest.raises(SchemaError, match="unit_col: no column 'lead'"):
        ls.plan_contacts(df, cost, 60.0, unit_col="lead")
    dup = to_spark(spark, pl.concat([frame, frame.head(1)]))
    with pytest.raises(InvalidInputError, match="unit_col: ids must be unique"):
        ls.plan_contacts(dup, cost, 60.0)
    with pytest.raises(InsufficientDataError, match="uplift: is empty"):
        ls.plan_contacts(df.limit(0), cost, 60.0)
    nan = frame.with_columns(pl.when(pl.col("id") == "c7").then(float("nan")).otherwise(pl.col("call")).alias("call"))
    with pytest.raises(Exception, match=r"uplift\['call'\]: must be finite, got NaN \(id 'c7'\)"):
        ls.plan_contacts(to_spark(spark, nan), cost, 60.0)


# ---- analysis -------------------------------------------------------------------------------------
# liftlab.analyze_warehouse with the SparkSession as its connection: the Spark SQL the core compiles
# runs on the executors and the per-variant sufficient statistics (a few rows) come back. The
# references are the two single-machine paths on the same event set: liftlab.analyze on the
# unit-level frames warehouse_cases.reference builds with plain pandas, and the DuckDB query;
# reports equal to 1e-9 relative (test_warehouse.assert_same), as for the other engines.


def write_parquet(tables, folder) -> dict[str, str]:
    """Each table as one Parquet file (microsecond timestamps, which Spark reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in tables.items():
        paths[name] = str(folder / f"{name.replace('.', '_')}.parquet")
        frame.to_parquet(paths[name], coerce_timestamps="us")
    return paths


def load_catalogue(spark, paths: dict[str, str]) -> None:
    """Each file as a managed table of the session's catalogue under its name (``crm.leads`` in
    database ``crm``)."""
    for name, path in paths.items():
        if "." in name:
            spark.sql(f"CREATE DATABASE IF NOT EXISTS `{name.split('.')[0]}`")
        spark.read.parquet(path).write.mode("overwrite").saveAsTable(name)


def with_paths(spec: str, paths: dict[str, str]) -> str:
    for name, path in paths.items():
        spec = spec.replace(f'table = "{name}"', f'path = "{path}"')
    assert "table =" not in spec
    return spec


@pytest.fixture(scope="module")
def rich(spark, tmp_path_factory):
    """A rich event set (persons seen twice and in both arms, ids joined through leads and WeChat
    bindings, NULLs, facts on window edges) as catalogue tables and Parquet files."""
    tables = events(7, n_persons=400)
    paths = write_parquet(tables, tmp_path_factory.mktemp("rich"))
    load_catalogue(spark, paths)
    return tables, paths


def test_analysis_on_catalogue_tables_equals_the_single_machine_report(spark, rich):
    tables, _ = rich
    n_total = {}
    for key in ("e", "other"):
        want = reference_report(WAREHOUSE_SPEC, key, tables).to_dict()
        got = liftlab.analyze_warehouse(WAREHOUSE_SPEC, key, spark).to_dict()
        assert_same(got, want)
        assert_same(got, liftlab.analyze_warehouse(WAREHOUSE_SPEC, key, tables=tables).to_dict())  # DuckDB
        n_total[key] = got["data"]["n_total"]
        if key == "e":
            assert got["data"]["multiple_exposures"] > 0 and len(got["segments"]) == 3
            assert all(m.get("error") is None for m in got["metrics"])
    # a date range: the same SQL through the session as through DuckDB
    window = {"start": dt.date(2025, 3, 5), "end": "2025-03-10"}
    got = liftlab.analyze_warehouse(WAREHOUSE_SPEC, "e", spark, **window).to_dict()
    assert_same(got, liftlab.analyze_warehouse(WAREHOUSE_SPEC, "e", tables=tables, **window).to_dict())
    assert 0 < got["data"]["n_total"] < n_total["e"]


@pytest.mark.parametrize("seed", [3, 1_234_567, 2_025_000_017])
def test_analysis_on_parquet_paths_equals_the_single_machine_report(spark, tmp_path, seed):
    tables = events(seed, n_persons=60 + seed % 100)
    spec = with_paths(WAREHOUSE_SPEC, write_parquet(tables, tmp_path))
    assert "FROM parquet.`" in liftlab.compile_sql(spec, "e", dialect="spark")
    got = liftlab.analyze_warehouse(spec, "e", spark).to_dict()
    assert_same(got, reference_report(WAREHOUSE_SPEC, "e", tables).to_dict())


def test_analysis_of_a_mean_of_1e8_with_sd_10_keeps_its_standard_error(spark, tmp_path):
    # The shifted sums keep the variance in Spark's doubles too; exact: numpy's two-pass variance.
    rng = np.random.default_rng(5)
    n = 4_000
    variant = np.where(np.arange(n) % 2 == 0, "control", "treatment")
    value = 1e8 + rng.normal(0, 10, n) + np.where(variant == "treatment", 0.3, 0.0)
    t0 = dt.datetime(2025, 1, 1)
    phones = [f"p{i:05d}" for i in range(n)]
    ex = pl.DataFrame({"phone": phones, "experiment": "e", "variant": variant, "exposed_at": [t0] * n})
    orders = pl.DataFrame({"phone": phones, "ordered_at": [t0 + dt.timedelta(hours=1)] * n, "amount": value})
    ex.write_parquet(tmp_path / "exposures.parquet")
    orders.write_parquet(tmp_path / "orders.parquet")
    spec = f"""
[[experiments]]
key = "e"
variants = ["control", "treatment"]
[catalog]
id_types = ["phone"]
exposures = {{ path = "{tmp_path / 'exposures.parquet'}", id_type = "phone", unit_col = "phone", experiment_col = "experiment",
              variant_col = "variant", time_col = "exposed_at" }}
facts = [{{ name = "orders", path = "{tmp_path / 'orders.parquet'}", ids = {{ phone = "phone" }}, time_col = "ordered_at",
           columns = ["amount"] }}]
metrics = [{{ name = "balance", kind = "sum", fact = "orders", column = "amount" }}]
"""
    got = liftlab.analyze_warehouse(spec, "e", spark).to_dict()
    c, t = value[variant == "control"], value[variant == "treatment"]
    exact = math.sqrt(c.var(ddof=1) / len(c) + t.var(ddof=1) / len(t))
    assert abs(got["metrics"][0]["effects"][0]["std_err"] / exact - 1) < 0.01
    assert_same(got, liftlab.analyze_warehouse(spec, "e").to_dict())  # DuckDB over the same files


def test_a_malformed_catalogue_fails_on_the_driver_with_the_same_error(spark):
    bad = WAREHOUSE_SPEC.replace('column = "order_day"', 'column = "day_of_order"')
    with pytest.raises(InvalidInputError) as local:
        liftlab.analyze_warehouse(bad, "e", tables={})
    e, jobs = no_job_runs(spark, lambda: liftlab.analyze_warehouse(bad, "e", spark))
    assert type(e) is InvalidInputError and str(e) == str(local.value)
    assert str(e).startswith("catalog.metrics[5].column: ") and jobs == []


# ---- the example jobs ---------------------------------------------------------------------------------


def test_the_example_jobs_run(spark, tmp_path, monkeypatch):
    # examples/spark/*_job.py with their made-up data on this session (their --local session is
    # this one: getOrCreate); the assignment job's file is checked against assign_batch.
    monkeypatch.syspath_prepend(str(ROOT / "examples" / "spark"))
    import analysis_job
    import assign_job
    import uplift_job

    spec = ROOT / "examples" / "experiments.toml"
    n = 20_000
    counts = assign_job.main(["--spec", str(spec), "--demo", str(n), "--local", "--out", str(tmp_path / "assignments")])
    written = pl.read_parquet(tmp_path / "assignments" / "**" / "*.parquet", hive_partitioning=True)
    ids = pl.DataFrame({"unit_id": [f"+1555{i:07d}" for i in range(n)], "country": np.array(["US", "CA", "FR"])[np.arange(n) % 3]})
    want = liftlab.assign_batch(str(spec), ids["unit_id"], attributes=ids.select("country"))
    key = ["experiment", "unit_id"]
    assert written.select(want.columns).with_columns(pl.col("experiment").cast(pl.String)).sort(key).equals(want.sort(key))
    assert sum(counts.values()) == want.height

    totals = uplift_job.main(["--demo", "20000", "--local", "--cost", "sms=0.05,call=1.5", "--value", "40", "--max-spend", "300",
                              "--out", str(tmp_path / "plan")])
    contacts = pl.read_parquet(tmp_path / "plan" / "*.parquet")
    assert 0 < totals["n_contacts"] == contacts.height and totals["spend"] <= 300 + 1e-9
    assert contacts.columns == ["lead_id", "channel", "uplift", "expected_gain", "score"]

    report = analysis_job.main(["--demo", "--local", "--experiment", "call-script", "--markdown", str(tmp_path / "report.md")])
    assert report["data"]["n_total"] > 1_000 and all(m.get("error") is None for m in report["metrics"])
    assert (tmp_path / "report.md").read_text().startswith("#")
