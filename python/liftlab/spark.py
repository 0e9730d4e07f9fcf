"""liftlab on Spark: assignment, uplift scoring and contact plans as Spark jobs, with the numbers of
the single-machine functions.

* :func:`assign_batch` adds ``experiment``, ``variant``, ``reason`` and ``bucket`` to a Spark
  DataFrame of unit ids; each Arrow batch goes through :func:`liftlab.assign_batch` on the
  executors (``mapInArrow``), so the answer is the single-machine one, unit for unit.
* :func:`predict_uplift` adds the uplift of each treatment from a fitted
  :class:`liftlab.uplift.UpliftForest`, shipped to the executors once (a broadcast of its JSON);
  each batch goes through ``UpliftForest.predict``: the same floats, bit for bit.
* :func:`plan_contacts` is :func:`liftlab.uplift.plan_contacts` over every unit of a Spark
  DataFrame (see its documentation for how a global budget is met and when the plan could differ).
* The warehouse analysis (:func:`liftlab.analyze_warehouse`) takes a ``SparkSession`` as its
  connection; nothing here is needed for it.

The driver checks every argument (the spec, columns, costs, budgets) before any Spark job starts
and raises the exceptions of :mod:`liftlab.exceptions` that the single-machine functions raise;
errors only the data can show (a null id, a NaN uplift) fail the Spark job with the same message.
The executors need liftlab importable (``local[N]`` runs them from the driver's Python; for a
cluster see the README's "Spark" section). Needs pyspark >= 4 (Java 17+) and pyarrow.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

try:
    import pyarrow as pa
    from pyspark import StorageLevel
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as e:  # pragma: no cover - the tests install both
    raise ImportError(f"liftlab.spark needs pyspark (>= 4, with Java 17+) and pyarrow: {e}") from e

from liftlab import _core
from liftlab._assign import SpecLike, load_spec
from liftlab._assign import assign_batch as _assign_batch_local
from liftlab._deprecation import deprecated, renamed
from liftlab._uplift_forest import UpliftForest
from liftlab._uplift_policy import _number, _per_channel, _PlanTotals
from liftlab.exceptions import InsufficientDataError, InvalidInputError, SchemaError, _error

__all__ = ["SparkContactPlan", "assign_batch", "local_session", "plan_contacts", "predict_uplift"]

#: The exact search of the core's policy runs on instances with at most this many eligible
#: (unit, channel) options (``liftlab::uplift::policy::EXACT_MAX_OPTIONS``).
EXACT_MAX_OPTIONS = 1_000

#: Rows of a sorted partition the driver reads at most at once when it locates a budget's edge.
_ROWS_PER_PARTITION = 200_000


def local_session(cores: int = 2, app_name: str = "liftlab", task_retries: int = 4, **conf: str) -> SparkSession:
    """A local Spark session (``local[cores, task_retries]``) whose Python workers run this Python,
    so liftlab is importable on the executors. A task that fails is retried up to ``task_retries``
    times, as on a cluster (plain ``local[N]`` never retries). No UI, no Ivy or Maven look-ups:
    pyspark's own jars only; the driver listens on 127.0.0.1 only. Extra ``conf`` entries are Spark settings.
    """
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the driver and its workers talk on loopback only
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    b = (
        SparkSession.builder.master(f"local[{int(cores)},{int(task_retries)}]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, 4 * int(cores))))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
    )
    for k, v in conf.items():
        b = b.config(k, v)
    session = b.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


# ---- shared checks ------------------------------------------------------------------------------


def _frame(df: Any, field: str = "df") -> DataFrame:
    if not isinstance(df, DataFrame):
        raise _error(InvalidInputError, (field,), f"expected a Spark DataFrame, got {type(df).__name__}")
    return df


def _column(df: DataFrame, name: Any, field: str) -> T.StructField:
    if not isinstance(name, str):
        raise _error(InvalidInputError, (field,), f"expected a column name, got {name!r}")
    for f in df.schema.fields:
        if f.name == name:
            return f
    raise _error(SchemaError, (field,), f"no column {name!r} in df (columns: {', '.join(df.columns)})")


def _id_field(df: DataFrame, unit_col: Any) -> T.StructField:
    f = _column(df, unit_col, "unit_col")
    if not isinstance(f.dataType, (T.StringType, T.IntegralType, T.FloatType, T.DoubleType, T.DecimalType)):
        raise _error(
            SchemaError, ("unit_col",), f"column {unit_col!r} has type {f.dataType.simpleString()}; ids are text or numbers"
        )
    return f


def _no_clash(df: DataFrame, new: Sequence[str]) -> None:
    clash = [c for c in new if c in df.columns]
    if clash:
        raise _error(SchemaError, ("df",), f"already has column {', '.join(repr(c) for c in clash)}; rename or drop it first")


def _batches_as_polars(batch: pa.RecordBatch) -> pl.DataFrame:
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _text(s: pl.Series) -> pa.Array:
    return s.to_arrow().cast(pa.string())


# ---- assignment -----------------------------------------------------------------------------------

_SPECS: dict[str, Any] = {}


def _spec_of(toml: str) -> Any:
    """The spec of this TOML text, loaded once per Python worker."""
    key = hashlib.sha256(toml.encode()).hexdigest()
    spec = _SPECS.get(key)
    if spec is None:
        spec = _SPECS[key] = load_spec(toml)
    return spec


ASSIGN_COLUMNS = ["experiment", "variant", "reason", "bucket"]


def assign_batch(
    spec: SpecLike,
    df: DataFrame,
    *,
    unit_col: str | None = None,
    attribute_cols: Sequence[str] | None = None,
    experiment: str | None = None,
    id_col: str | None = None,
) -> DataFrame:
    """Assigns the units of a Spark DataFrame: returns ``df`` with ``experiment``, ``variant``
    (null when not enrolled), ``reason`` and ``bucket`` (null where not computed) added, one row
    per unit and experiment (every experiment of ``spec``, or only ``experiment``), as
    :func:`liftlab.assign_batch` gives them for the same ids.

    ``unit_col`` (default ``"unit_id"``; ``id_col=`` is its deprecated name) holds the unit ids
    (text, or numbers hashed as JavaScript prints them);
    ``attribute_cols`` are the columns targeting conditions and custom hash attributes read
    (a null cell is a missing attribute). The work runs on the executors, batch by batch
    (``mapInArrow``), through :func:`liftlab.assign_batch`; a retried task gives the same rows.

    The spec and the columns are checked on the driver before any job starts: a malformed spec
    raises the :class:`~liftlab.exceptions.InvalidInputError` :func:`liftlab.load_spec` raises.
    A null id fails the job (``ids[i]: id is null``, ``i`` counted in the failing batch).
    """
    unit_col = renamed("unit_col", unit_col, "id_col", id_col, "unit_id")
    s = load_spec(spec)
    df = _frame(df)
    _id_field(df, unit_col)
    attrs = list(attribute_cols or [])
    for i, c in enumerate(attrs):
        _column(df, c, f"attribute_cols[{i}]")
    if experiment is not None:
        if not isinstance(experiment, str) or experiment not in s.experiments:
            raise _error(InvalidInputError, ("experiment",), f"{experiment!r} is not in the spec (experiments: {', '.join(s.experiments)})")
        keys = [experiment]
    else:
        keys = s.experiments
    _no_clash(df, ASSIGN_COLUMNS)
    toml = s.to_toml()
    schema = T.StructType(
        [*df.schema.fields]
        + [
            T.StructField("experiment", T.StringType(), False),
            T.StructField("variant", T.StringType(), True),
            T.StructField("reason", T.StringType(), False),
            T.StructField("bucket", T.DoubleType(), True),
        ]
    )
    one = experiment

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        spec_ = _spec_of(toml)
        n_keys = len(keys)
        for b in batches:
            if b.num_rows == 0:
                continue
            frame = _batches_as_polars(b)
            out = _assign_batch_local(
                spec_, frame.get_column(unit_col), attributes=frame.select(attrs) if attrs else None, experiment=one
            )
            rows = b.take(pa.array(np.tile(np.arange(b.num_rows), n_keys)))
            yield pa.RecordBatch.from_arrays(
                [
                    *rows.columns,
                    _text(out["experiment"]),
                    _text(out["variant"]),
                    _text(out["reason"]),
                    out["bucket"].to_arrow(),
                ],
                schema=pa.schema([*rows.schema, *(pa.field(c, t) for c, t in _ASSIGN_ARROW)]),
            )

    return df.mapInArrow(run, schema)


_ASSIGN_ARROW = [("experiment", pa.string()), ("variant", pa.string()), ("reason", pa.string()), ("bucket", pa.float64())]


# ---- uplift scoring -------------------------------------------------------------------------------

_MODELS: dict[str, UpliftForest] = {}


def _model_of(text: str) -> UpliftForest:
    """The model of this JSON text, loaded once per Python worker."""
    key = hashlib.sha256(text.encode()).hexdigest()
    model = _MODELS.get(key)
    if model is None:
        model = _MODELS[key] = UpliftForest.from_json(text)
    return model


def predict_uplift(
    model: UpliftForest | str | os.PathLike[str],
    df: DataFrame,
    *,
    feature_cols: Sequence[str] | None = None,
    output_cols: Sequence[str] | None = None,
) -> DataFrame:
    """Scores a Spark DataFrame with a fitted :class:`~liftlab.uplift.UpliftForest` (or the path of
    a saved one): returns ``df`` with the predicted uplift of each treatment added, the floats
    ``model.predict`` gives for the same rows, bit for bit.

    The model is shipped to the executors once, as a broadcast of its JSON, and loaded once per
    Python worker; each Arrow batch is scored by ``UpliftForest.predict``. ``feature_cols`` are
    the model's features in ``df`` (default: the columns it was fitted on, by name; for a model
    fitted on an array, give them in order). ``output_cols`` name the new columns (default, as
    ``liftlab uplift score``: ``uplift`` for one treatment, else the model file's treatment labels
    or ``uplift_1``, ``uplift_2``, ...).
    """
    if isinstance(model, (str, os.PathLike)):
        model = UpliftForest.load(model)
    if not isinstance(model, UpliftForest):
        raise _error(InvalidInputError, ("model",), f"expected a fitted UpliftForest or the path of a saved one, got {type(model).__name__}")
    text = model.to_json()  # raises when not fitted
    d = json.loads(text)
    df = _frame(df)
    fitted = [f["name"] for f in d["features"]]
    if feature_cols is None:
        if not d.get("feature_names_in", True):
            raise _error(InvalidInputError, ("feature_cols",), "the model was fitted on an array; name its columns in df, in order")
        cols = fitted
        field = "df"
    else:
        cols = list(feature_cols)
        field = "feature_cols"
        if len(cols) != len(fitted):
            raise _error(InvalidInputError, ("feature_cols",), f"has {len(cols)} columns; the model was fitted on {len(fitted)}")
    for i, c in enumerate(cols):
        f = _column(df, c, f"{field}[{i}]" if feature_cols is not None else "df")
        if not isinstance(f.dataType, (T.NumericType, T.BooleanType, T.StringType)):
            raise _error(SchemaError, (f'df["{c}"]',), f"has type {f.dataType.simpleString()}; use numbers, booleans or strings")
    k = int(model.treatments_.size)
    outs = list(output_cols) if output_cols is not None else model.score_columns()
    if len(outs) != k or len(set(outs)) != k or not all(isinstance(c, str) for c in outs):
        raise _error(InvalidInputError, ("output_cols",), f"must be {k} distinct column names, one per treatment, got {outs!r}")
    _no_clash(df, outs)
    broadcast = df.sparkSession.sparkContext.broadcast(text)
    rename = dict(zip(cols, fitted))
    schema = T.StructType([*df.schema.fields] + [T.StructField(c, T.DoubleType(), False) for c in outs])
    out_fields = [pa.field(c, pa.float64()) for c in outs]

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        m = _model_of(broadcast.value)
        for b in batches:
            if b.num_rows == 0:
                continue
            x = _batches_as_polars(b.select(cols)).rename(rename)
            u = m.predict(x)
            u = u.reshape(-1, 1) if u.ndim == 1 else u
            yield pa.RecordBatch.from_arrays(
                [*b.columns, *(pa.array(u[:, j]) for j in range(k))], schema=pa.schema([*b.schema, *out_fields])
            )

    return df.mapInArrow(run, schema)


# ---- the contact plan -------------------------------------------------------------------------------


class SparkContactPlan(_PlanTotals):
    """The contact plan of :func:`plan_contacts`: the totals (as :class:`liftlab.uplift.ContactPlan`'s)
    on the driver and the per-unit decisions as a Spark DataFrame.

    Attributes: ``channels``, ``value``, ``max_contacts``, ``max_spend``, ``n_units``,
    ``n_contacts``, ``spend``, ``expected_conversions``, ``expected_net_gain``,
    ``peak_n_contacted``, ``peak_net_gain``, ``optimal``, and ``driver_units`` (how many units the
    driver planned itself; 0 when the executors decided every unit).
    """

    def __init__(self, units: DataFrame, unit_col: str, channels: list[str], value: Any, totals: dict[str, Any], **info: Any):
        self._units = units
        self.unit_col = unit_col
        self.channels = channels
        self.value = value
        self.max_contacts: int | None = info["max_contacts"]
        self.max_spend: float | None = info["max_spend"]
        self.driver_units: int = info["driver_units"]
        self._set_totals(totals)

    @property
    def id_col(self) -> str:
        """Deprecated: :attr:`unit_col`."""
        deprecated("SparkContactPlan.id_col", "SparkContactPlan.unit_col")
        return self.unit_col

    def to_spark(self) -> DataFrame:
        """One row per unit: the id column, ``channel`` (null: no contact), ``uplift`` (of the
        chosen channel; null: no contact), ``expected_gain`` (0 for no contact) and ``score`` (the
        best net gain over all channels): :meth:`ContactPlan.to_polars` without ``rank`` (see
        :meth:`ranked`)."""
        return self._units

    def contacts(self) -> DataFrame:
        """The contacted units only, with the columns of ``liftlab uplift plan``'s file (the id
        column, ``channel``, ``uplift``, ``expected_gain``, ``score``); unordered (see :meth:`ranked`)."""
        return self._units.filter(F.col("channel").isNotNull())

    def ranked(self) -> DataFrame:
        """:meth:`to_spark` with ``rank``: the 0-based position in the policy's priority order
        (contacted units by the gain of their channel, descending, then the others by score,
        descending; ties by id ascending), as :meth:`ContactPlan.to_polars` gives it. A global
        sort: one more Spark job over every unit."""
        u = self._units
        key = F.when(F.col("channel").isNotNull(), F.col("expected_gain")).otherwise(F.col("score"))
        order = [F.col("channel").isNull().asc(), F.col("_key").desc(), F.col(self.unit_col).asc()]
        sorted_ = _sorted(u.withColumn("_key", key), order, self.n_units)
        counts = dict(sorted_.groupBy(F.shiftright(F.col("_mid"), 33).alias("p")).count().collect())
        offsets, total = {}, 0
        for p in sorted(counts):
            offsets[p] = total
            total += counts[p]
        start = F.create_map(*[x for p, o in offsets.items() for x in (F.lit(p), F.lit(o))]) if offsets else None
        pid = F.shiftright(F.col("_mid"), 33)
        local = F.col("_mid") - F.shiftleft(pid, 33)
        rank = (start[pid] + local) if start is not None else F.lit(0).cast("long")
        return sorted_.withColumn("rank", rank.cast("long")).drop("_key", "_mid")


def _sorted(df: DataFrame, order: list[Any], n_rows: int) -> DataFrame:
    """``df`` sorted globally by ``order`` into partitions of at most about
    ``_ROWS_PER_PARTITION`` rows, with ``_mid`` (partition << 33 | row in partition), kept in
    memory (or on disk) so that every later job reads the same rows in the same places."""
    parts = max(1, math.ceil(n_rows / _ROWS_PER_PARTITION))
    s = df.repartitionByRange(parts, *order).sortWithinPartitions(*order).withColumn("_mid", F.monotonically_increasing_id())
    return s.persist(StorageLevel.MEMORY_AND_DISK)


# The per-unit table the plan ranks and selects on; "u{j}" and "g{j}" are channel j's uplift and
# (eligible) net gain, "h_*" the unit's convex hull step by step.
def _options_schema(id_type: T.DataType, m: int) -> T.StructType:
    return T.StructType(
        [T.StructField("id", id_type, False)]
        + [T.StructField(f"u{j}", T.DoubleType(), False) for j in range(m)]
        + [T.StructField(f"g{j}", T.DoubleType(), True) for j in range(m)]
        + [
            T.StructField("score", T.DoubleType(), False),
            T.StructField("best", T.IntegerType(), True),
            T.StructField("best_gain", T.DoubleType(), True),
            T.StructField("n_options", T.LongType(), False),
            T.StructField("h_channel", T.ArrayType(T.IntegerType(), False), False),
            T.StructField("h_d_cost", T.ArrayType(T.DoubleType(), False), False),
            T.StructField("h_eff", T.ArrayType(T.DoubleType(), False), False),
        ]
    )


def _options(df: DataFrame, unit_col: str, cols: list[str], names: list[str], costs: list[float], values: list[float]) -> DataFrame:
    """Per unit, on the executors: the core's ``unit_options`` (``_core._contact_options``)."""
    m = len(cols)
    id_type = df.schema[unit_col].dataType
    schema = _options_schema(id_type, m)
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            if b.num_rows == 0:
                continue
            ids = b.column(0)
            if ids.null_count:
                raise _error(InvalidInputError, (unit_col,), "has a null id; every unit needs one")
            us = [b.column(1 + j).cast(pa.float64()).to_numpy(zero_copy_only=False) for j in range(m)]
            for j, u in enumerate(us):  # the core's check, naming the unit by its id, not its row in the batch
                bad = np.flatnonzero(~np.isfinite(u))
                if bad.size:
                    x = float(u[bad[0]])
                    shown = "NaN" if x != x else ("inf" if x > 0 else "-inf")  # as the core prints it
                    raise _error(InvalidInputError, (f"uplift[{names[j]!r}]",), f"must be finite, got {shown} ({unit_col} {ids[int(bad[0])].as_py()!r})")
            o = _core._contact_options(us, names, costs, values)
            best = o["best"]
            has = best >= 0
            gains = o["gain"]
            best_gain = np.full(b.num_rows, np.nan)
            for j in range(m):
                best_gain[best == j] = gains[j][best == j]
            hl = o["hull_len"]
            offsets = pa.array(np.concatenate([[0], np.cumsum(hl)]).astype(np.int32))
            arrays = [
                ids,
                *(pa.array(u) for u in us),
                *(pa.array(g, mask=np.isnan(g)) for g in gains),
                pa.array(o["score"]),
                pa.array(np.where(has, best, 0).astype(np.int32), mask=~has),
                pa.array(best_gain, mask=~has),
                pa.array(o["n_options"]),
                pa.ListArray.from_arrays(offsets, pa.array(o["hull_channel"].astype(np.int32))),
                pa.ListArray.from_arrays(offsets, pa.array(o["hull_d_cost"])),
                pa.ListArray.from_arrays(offsets, pa.array(o["hull_efficiency"])),
            ]
            yield pa.RecordBatch.from_arrays(arrays, names=schema.fieldNames())

    return df.select(F.col(unit_col), *(F.col(c).cast("double").alias(f"_u{j}") for j, c in enumerate(cols))).mapInArrow(run, schema)


def _min_positive_step(costs: list[float]) -> float | None:
    """The smallest positive cost a move can add: a channel's cost or a difference of two."""
    steps = [c for c in costs if c > 0] + [a - b for a in costs for b in costs if a - b > 0]
    return min(steps) if steps else None


def _at_or_before(eff: Any, key: Any, edge: tuple[float, Any] | None) -> Any:
    """Whether a unit's (efficiency or gain desc, id asc) position is at or before ``edge``."""
    if edge is None:
        return F.lit(False)
    e, k = edge
    return (eff > F.lit(e)) | ((eff == F.lit(e)) & (key <= F.lit(k)))


def _edge(
    rows: DataFrame, primary: str, weight: str, level1: str | None, n_rows: int, limit_spend: float, limit_count: float
) -> dict[str, Any] | None:
    """Where a greedy that takes ``rows`` in order (``primary`` descending, ``id`` ascending, then
    ``level``) while the running ``weight`` fits ``limit_spend`` and the running count of
    ``level1`` rows fits ``limit_count`` must stop, with margins for the order of float sums.

    Returns None when every row surely fits; else ``last`` = the (primary, id) of the last row
    the greedy could still reach (a margin past its stop), ``spent`` and ``counted``: the weight
    and count of the rows it surely takes (their end stays 1e-6 relative inside the budget)."""
    order = [F.col(primary).desc(), F.col("id").asc()] + ([F.col("level").asc()] if "level" in rows.columns else [])
    s = _sorted(rows, order, n_rows)
    try:
        lvl = F.col(level1) if level1 else F.lit(1)
        parts = (
            s.groupBy(F.shiftright(F.col("_mid"), 33).alias("p"))
            .agg(F.count(F.lit(1)).alias("n"), F.sum(weight).alias("w"), F.sum(lvl).alias("c"))
            .orderBy("p")
            .collect()
        )
        margin = 1e-6 * max(abs(limit_spend), 1.0) if math.isfinite(limit_spend) else 0.0
        sure_w = limit_spend - margin
        reach_w = limit_spend + margin
        cum_w, cum_c, first = 0.0, 0, None
        starts = []
        for r in parts:
            starts.append((r["p"], cum_w, cum_c))
            cum_w += float(r["w"] or 0.0)
            cum_c += int(r["c"] or 0)
            if first is None and (cum_w > sure_w or cum_c > limit_count):
                first = len(starts) - 1
        if first is None:
            return None
        cols = [primary, "id", weight] + ([level1] if level1 else [])
        w0, c0 = starts[first][1], starts[first][2]
        spent, counted, sure = w0, c0, True
        last = None
        for i in range(first, len(starts)):
            p = starts[i][0]
            rows_p = s.filter(F.shiftright(F.col("_mid"), 33) == p).orderBy("_mid").select(*cols).collect()
            done = False
            for r in rows_p:
                w = float(r[weight])
                c = int(r[level1]) if level1 else 1
                if cum_ok(w0, c0, reach_w, limit_count):
                    last = (float(r[primary]), r["id"])
                else:
                    done = True
                    break
                w0, c0 = w0 + w, c0 + c
                if sure and w0 <= sure_w and c0 <= limit_count:
                    spent, counted = w0, c0
                else:
                    sure = False
            if done:
                break
        return {"last": last, "spent": spent, "counted": counted}
    finally:
        s.unpersist()


def cum_ok(w_before: float, c_before: int, reach_w: float, limit_count: float) -> bool:
    """A row is reachable while the weight before it is within the budget (with the margin) and
    the count before it leaves room."""
    return w_before <= reach_w and c_before <= limit_count


def plan_contacts(
    df: DataFrame,
    cost: Any,
    value: float | Mapping[str, float],
    *,
    uplift_cols: Sequence[str] | None = None,
    unit_col: str | None = None,
    max_contacts: int | None = None,
    max_spend: float | None = None,
    max_driver_units: int = 2_000_000,
    id_col: str | None = None,
) -> SparkContactPlan:
    """:func:`liftlab.uplift.plan_contacts` over every unit of a Spark DataFrame: whom to contact,
    and through which channel, to maximise ``sum(uplift * value - cost)`` within the budgets.

    ``df`` has an id column (``unit_col``, default ``"id"``, unique ids; ``id_col=`` is its
    deprecated name) and one uplift column per channel
    (``uplift_cols``; default: the channels of ``cost`` when it is a dict, else ``["uplift"]``),
    e.g. :func:`predict_uplift`'s output. ``cost``, ``value``, ``max_contacts`` and ``max_spend``
    are :func:`liftlab.uplift.plan_contacts`'s, checked on the driver with its errors before any
    job starts.

    **The same plan as on one machine.** Units are ordered by id (ascending; text by its UTF-8
    bytes, as Spark and polars sort it): the single-machine plan of the units in that order is
    the plan returned, channel for channel, with the same per-unit floats (the executors compute
    them with the core's own ``unit_options``). How:

    * no budget: each unit's best channel, on the executors;
    * ``max_contacts`` only: the global threshold (the K-th best net gain, ties by id) from one
      distributed sort, then a filter on the executors;
    * ``max_spend`` (with or without ``max_contacts``): the executors rank the units' convex-hull
      steps (and, with both budgets, their best gains) by a distributed sort and find where the
      budget runs out; the driver then runs the core's :func:`liftlab.uplift.plan_contacts` itself
      on the units that can still matter: those the greedy reaches up to that edge (with a margin
      of 1e-6 of the budget for the order of float sums) and, per channel, the first units each
      later step of the plan (the greedy's tail, the fill, the plan by best gain) could take;
      the spend left at the edge bounds how many that is. Every other unit provably stays
      uncontacted; so the totals, ``optimal`` and the plan equal the single-machine ones exactly.
      With at most 1,000 eligible options in all (the core's exact search), the driver plans every
      eligible unit.

    The driver holds at most ``max_driver_units`` units (``InvalidInputError`` beyond, naming
    ``max_spend``): under a spend budget about the number of units contacted, so a budget that
    contacts tens of millions needs a larger driver. ``peak_n_contacted`` and ``peak_net_gain``
    are sums over all units computed by Spark (equal to rounding, 1e-9 relative).

    Ids must be unique (checked; ``InvalidInputError`` naming ``unit_col``), and no uplift may be
    NaN or infinite (the job fails with the core's message, naming the unit's id).
    """
    unit_col = renamed("unit_col", unit_col, "id_col", id_col, "id")
    df = _frame(df)
    _id_field(df, unit_col)
    if uplift_cols is None:
        uplift_cols = [str(k) for k in cost] if isinstance(cost, Mapping) else ["uplift"]
    cols = list(uplift_cols)
    if not cols:
        raise _error(InvalidInputError, ("uplift_cols",), "has no channels (columns)")
    if len(set(cols)) != len(cols):
        raise _error(InvalidInputError, ("uplift_cols",), f"channel names must be unique, got {cols}")
    for i, c in enumerate(cols):
        f = _column(df, c, f"uplift_cols[{i}]")
        if not isinstance(f.dataType, T.NumericType):
            raise _error(SchemaError, (f"uplift[{c!r}]",), f"has type {f.dataType.simpleString()}; must be numbers")
        if c == unit_col:
            raise _error(InvalidInputError, ("uplift_cols", i), f"{c!r} is the id column")
    names = cols
    costs = _per_channel(cost, names, "cost", one_for_all=False)
    values = _per_channel(value, names, "value", one_for_all=True)
    if max_spend is not None:
        max_spend = _number(max_spend, "max_spend")
    if isinstance(max_driver_units, bool) or not isinstance(max_driver_units, int) or max_driver_units < 1:
        raise _error(InvalidInputError, ("max_driver_units",), f"must be a positive integer, got {max_driver_units!r}")
    # The core checks costs, values and budgets with the single-machine errors: on one unit of zeros.
    _core._plan_contacts([np.zeros(1)] * len(names), names, costs, values, max_contacts, max_spend)
    k_limit = int(max_contacts) if max_contacts is not None else None
    plan_value = dict(value) if isinstance(value, Mapping) else values[0]

    opts = _options(df, unit_col, cols, names, costs, values).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        st = opts.agg(
            F.count(F.lit(1)).alias("n"),
            F.count_distinct("id").alias("distinct"),
            F.sum(F.when(F.col("best").isNotNull(), 1).otherwise(0)).alias("eligible"),
            F.sum("n_options").alias("options"),
        ).first()
        n = int(st["n"])
        if n == 0:
            raise _error(InsufficientDataError, ("uplift",), "is empty; at least one unit is needed")
        if int(st["distinct"]) != n:
            dup = opts.groupBy("id").count().filter(F.col("count") > 1).select("id").first()
            raise _error(InvalidInputError, ("unit_col",), f"ids must be unique; {dup['id']!r} appears more than once")
        eligible, options = int(st["eligible"]), int(st["options"] or 0)
        info = {"max_contacts": k_limit, "max_spend": max_spend}
        if max_spend is None:
            units, core_totals, optimal, planned = _plan_without_spend(opts, eligible, k_limit)
        else:
            units, core_totals, optimal, planned = _plan_with_spend(
                opts, names, costs, values, k_limit, max_spend, options, eligible, max_driver_units
            )
        out = _unit_frame(units, unit_col, names, costs).persist(StorageLevel.MEMORY_AND_DISK)
        agg = _totals(out, n)
        if core_totals is not None:  # the core's own totals: the driver planned every contacted unit
            agg.update(core_totals)
        agg["optimal"] = optimal
        return SparkContactPlan(out.drop("_cost"), unit_col, names, plan_value, agg, driver_units=planned, **info)
    finally:
        opts.unpersist()


def _plan_without_spend(opts: DataFrame, eligible: int, k: int | None) -> tuple[DataFrame, None, bool, int]:
    """No spend budget: every eligible unit takes its best channel; with ``max_contacts`` below the
    number of eligible units, only the K best (best gain descending, id ascending)."""
    chosen = F.col("best").isNotNull()
    if k is not None and eligible > k:
        edge = _kth(opts.filter(chosen).select("id", "best_gain"), [F.col("best_gain").desc(), F.col("id").asc()], k, eligible)
        chosen = chosen & _at_or_before(F.col("best_gain"), F.col("id"), edge)
    return opts.withColumn("choice", F.when(chosen, F.col("best"))), None, True, 0


def _kth(rows: DataFrame, order: list[Any], k: int, n: int) -> tuple[float, Any]:
    """The (best_gain, id) of the k-th row (1-based) of ``rows`` in ``order``, by a distributed sort."""
    s = _sorted(rows, order, n)
    try:
        counts = sorted(s.groupBy(F.shiftright(F.col("_mid"), 33).alias("p")).count().collect())
        seen = 0
        for p, c in counts:
            if seen + c >= k:
                r = s.filter(F.col("_mid") == (int(p) << 33) + (k - seen - 1)).first()
                return float(r["best_gain"]), r["id"]
            seen += c
        raise AssertionError("k beyond the rows")  # callers pass k < n
    finally:
        s.unpersist()


def _plan_with_spend(
    opts: DataFrame,
    names: list[str],
    costs: list[float],
    values: list[float],
    k: int | None,
    max_spend: float,
    options: int,
    eligible: int,
    max_driver_units: int,
) -> tuple[DataFrame, dict[str, Any] | None, bool, int]:
    """A spend budget: the driver plans the units that can matter with the core (see
    :func:`plan_contacts`); the others stay uncontacted."""
    m = len(names)
    spark = opts.sparkSession
    elig = opts.filter(F.col("best").isNotNull())
    kk = float(k) if k is not None else math.inf
    limit = max_spend + 1e-9 * max(abs(max_spend), 1.0)  # the core's fits()
    step = _min_positive_step(costs)
    eff0 = F.get("h_eff", 0)  # null for a unit without options (Spark may look before it filters)
    chan0 = F.get("h_channel", 0)
    in_prefix = F.lit(False)
    lists: list[DataFrame] = []
    if options > EXACT_MAX_OPTIONS:
        # 1. the hull greedy's edge: steps by efficiency (desc), id, level
        steps = elig.select("id", F.posexplode(F.arrays_zip("h_eff", "h_d_cost")).alias("pos", "s")).select(
            "id",
            (F.col("pos") + 1).alias("level"),
            F.col("s.h_eff").alias("eff"),
            F.col("s.h_d_cost").alias("d_cost"),
            (F.col("pos") == 0).cast("int").alias("first"),
        )
        hull = _edge(steps, "eff", "d_cost", "first", options, limit, kk)
        if hull is None:
            # Every step fits: each eligible unit at its hull's last point (its largest gain, the
            # cheapest channel among equal gains); the fill and the plan by gain change nothing.
            last = F.element_at("h_channel", -1)
            return opts.withColumn("choice", F.when(F.col("best").isNotNull(), last)), None, False, 0
        edges = [("hull", hull)]
        in_prefix = _at_or_before(eff0, F.col("id"), hull["last"])
        if k is not None:
            # 2. the plan by best gain: units by best gain (desc), id; the cost of the best channel
            cost_best = F.element_at(F.array(*[F.lit(c) for c in costs]), F.col("best") + 1)
            by_gain = elig.select("id", "best_gain", cost_best.alias("c"))
            g = _edge(by_gain, "best_gain", "c", None, eligible, limit, kk)
            if g is not None:
                edges.append(("gain", g))
                in_prefix = in_prefix | _at_or_before(F.col("best_gain"), F.col("id"), g["last"])
            else:  # cannot happen while the hull has an edge (its steps cost no more); planned whole
                in_prefix = F.col("best").isNotNull()
                edges.append(("gain", {"last": None, "spent": 0.0, "counted": 0}))
        left = {name: limit + 1e-6 * max(abs(max_spend), 1.0) - e["spent"] for name, e in edges}
        k_left = {name: (kk - e["counted"]) for name, e in edges}

        def bound(name: str, free_counts: bool) -> int:
            """Takes after the edge: each positive one spends at least the smallest step."""
            kl = k_left[name]
            if kl <= 0:
                return 0
            t = math.inf if step is None else math.floor(max(left[name], 0.0) / step) + 1
            if free_counts and k is not None and any(c == 0 for c in costs):
                t = math.inf  # free contacts cost nothing; only max_contacts bounds them
            t = min(t, kl)
            if not math.isfinite(t):
                raise _error(
                    InvalidInputError,
                    ("max_spend",),
                    "with a free channel and no max_contacts the plan's size is unbounded; give max_contacts"
                )
            return int(t)

        rest = elig.filter(~in_prefix)
        # 3. the greedy's tail: new contacts by their first hull step, per channel
        t_h = bound("hull", False)
        for j in range(m):
            if t_h and costs[j] <= left["hull"]:
                lists.append(rest.filter(chan0 == j).orderBy(eff0.desc(), F.col("id").asc()).limit(t_h + 1))
        # 4. the plan by gain's tail: units by best gain, per channel they could take
        if k is not None:
            t_g = bound("gain", True)
            for j in range(m):
                if t_g and costs[j] <= left["gain"]:
                    lists.append(
                        rest.filter(F.col(f"g{j}").isNotNull()).orderBy(F.col("best_gain").desc(), F.col("id").asc()).limit(t_g + 1)
                    )
        # 5. the fill: new contacts by gain, per channel
        t_f = max(bound(name, True) for name, _ in edges)
        most_left = max(left.values())
        for j in range(m):
            if t_f and costs[j] <= most_left:
                lists.append(rest.filter(F.col(f"g{j}").isNotNull()).orderBy(F.col(f"g{j}").desc(), F.col("id").asc()).limit(3 * t_f + 1))
    else:
        in_prefix = F.col("best").isNotNull()  # the core's exact search: every eligible unit
    picked = sorted({r["id"] for lst in lists for r in lst.select("id").collect()})
    id_schema = T.StructType([T.StructField("id", opts.schema["id"].dataType)])
    ids = spark.createDataFrame([(x,) for x in picked], id_schema)
    chosen = elig.filter(in_prefix).select("id").unionByName(F.broadcast(ids)).distinct().persist(StorageLevel.MEMORY_AND_DISK)
    n_chosen = chosen.count()
    if n_chosen > max_driver_units:
        raise _error(
            InvalidInputError,
            ("max_spend",),
            f"the plan reaches {n_chosen:,} units, more than max_driver_units ({max_driver_units:,}) "
            "the driver plans at once; raise max_driver_units (and the driver's memory)"
        )
    driver = elig.join(chosen, "id", "left_semi")
    if options > EXACT_MAX_OPTIONS:
        # the core's exact search must not run on the driver's part when it did not run on all
        have = driver.agg(F.sum("n_options")).first()[0] or 0
        if have <= EXACT_MAX_OPTIONS:
            pad = elig.join(chosen, "id", "left_anti").orderBy(eff0.desc(), F.col("id").asc()).limit(EXACT_MAX_OPTIONS + 1)
            driver = driver.unionByName(pad)
    local = pl.from_arrow(driver.select("id", *[f"u{j}" for j in range(m)]).toArrow())
    assert isinstance(local, pl.DataFrame)
    local = local.sort("id")
    if local.height == 0:  # no unit has a profitable channel: the core contacts none, proven optimal
        zero = {"n_contacts": 0, "spend": 0.0, "expected_conversions": 0.0, "expected_net_gain": 0.0}
        return opts.withColumn("choice", F.lit(None).cast("int")), zero, True, 0
    out = _core._plan_contacts(
        [local[f"u{j}"].to_numpy() for j in range(m)], names, costs, values, k, max_spend
    )
    decided = pl.DataFrame(
        {"id": local["id"], "choice": pl.Series(out["channel"], dtype=pl.Int32)}
    ).filter(pl.col("choice").is_not_null())
    chosen.unpersist()
    dec_schema = T.StructType([T.StructField("id", opts.schema["id"].dataType), T.StructField("choice", T.IntegerType())])
    dec = spark.createDataFrame(decided.to_arrow(compat_level=pl.CompatLevel.oldest()), dec_schema)
    units = opts.join(F.broadcast(dec) if decided.height <= 200_000 else dec, "id", "left")
    totals = {k2: out[k2] for k2 in ("n_contacts", "spend", "expected_conversions", "expected_net_gain")}
    return units, totals, bool(out["optimal"]), local.height


def _unit_frame(units: DataFrame, unit_col: str, names: list[str], costs: list[float]) -> DataFrame:
    """The plan's per-unit frame from the options table and a ``choice`` (channel index or null)."""
    m = len(names)
    c = F.col("choice")
    pick = lambda prefix: F.coalesce(*[F.when(c == j, F.col(f"{prefix}{j}")) for j in range(m)])  # noqa: E731
    return units.select(
        F.col("id").alias(unit_col),
        F.coalesce(*[F.when(c == j, F.lit(x)) for j, x in enumerate(names)]).alias("channel"),
        pick("u").alias("uplift"),
        F.coalesce(pick("g"), F.lit(0.0)).alias("expected_gain"),
        F.col("score"),
        F.coalesce(*[F.when(c == j, F.lit(x)) for j, x in enumerate(costs)]).alias("_cost"),
    )


def _totals(out: DataFrame, n: int) -> dict[str, Any]:
    """Totals summed by Spark; the peak of the profit curve: every contacted unit, then every
    other unit with a positive score (the curve rises while the next unit's gain is positive)."""
    contacted = F.col("channel").isNotNull()
    r = out.agg(
        F.sum(contacted.cast("long")).alias("n_contacts"),
        F.sum(F.when(contacted, F.col("_cost"))).alias("spend"),
        F.sum(F.when(contacted, F.col("uplift"))).alias("conv"),
        F.sum(F.when(contacted, F.col("expected_gain"))).alias("gain"),
        F.sum((~contacted & (F.col("score") > 0)).cast("long")).alias("more"),
        F.sum(F.when(~contacted & (F.col("score") > 0), F.col("score"))).alias("more_gain"),
    ).first()
    gain = float(r["gain"] or 0.0) + 0.0
    return {
        "n_units": n,
        "n_contacts": int(r["n_contacts"] or 0),
        "spend": float(r["spend"] or 0.0) + 0.0,
        "expected_conversions": float(r["conv"] or 0.0) + 0.0,
        "expected_net_gain": gain,
        "peak_n_contacted": int(r["n_contacts"] or 0) + int(r["more"] or 0),
        "peak_net_gain": gain + float(r["more_gain"] or 0.0),
    }
