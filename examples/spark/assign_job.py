"""Assignment as a Spark job: every unit of a table gets its experiment, variant, reason and bucket.

    spark-submit examples/spark/assign_job.py --spec examples/experiments.toml \
        --units s3://bucket/leads/ --unit-col lead_id --attributes country,phone --out s3://bucket/assignments/

``--units`` is a Parquet path or a table of the session's catalogue; the result is written as
Parquet (one row per unit and experiment), partitioned by experiment. ``--demo N`` makes N leads
instead of reading them (and ``--local`` runs on a local[2] session), so the script runs as is:

    python examples/spark/assign_job.py --spec examples/experiments.toml --demo 100000 --local --out /tmp/assignments
"""

from __future__ import annotations

import argparse
import sys

from liftlab import spark as ls
from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def read_units(spark: SparkSession, source: str):
    """A Parquet path (anything with a / or a .parquet suffix) or a table name."""
    return spark.read.parquet(source) if "/" in source or source.endswith(".parquet") else spark.table(source)


def demo_units(spark: SparkSession, n: int):
    return spark.range(n).select(
        F.format_string("+1555%07d", "id").alias("unit_id"),
        F.element_at(F.array(*[F.lit(c) for c in ("US", "CA", "FR")]), (F.col("id") % 3 + 1).cast("int")).alias("country"),
    )


def main(argv: list[str] | None = None) -> dict[str, int]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spec", required=True, help="the experiment spec (TOML)")
    p.add_argument("--units", help="Parquet path or table of units")
    p.add_argument("--demo", type=int, help="make this many demo leads instead of --units")
    p.add_argument("--unit-col", "--id-col", dest="unit_col", default="unit_id", help="the unit id column (--id-col: its old name)")
    p.add_argument("--attributes", default="", help="comma-separated attribute columns (targeting, hash attributes)")
    p.add_argument("--experiment", help="only this experiment")
    p.add_argument("--out", required=True, help="Parquet output folder")
    p.add_argument("--local", action="store_true", help="run on a local[2] session")
    a = p.parse_args(argv)
    spark = ls.local_session(2) if a.local else SparkSession.builder.appName("liftlab-assign").getOrCreate()
    if (a.units is None) == (a.demo is None):
        p.error("give --units or --demo")
    units = demo_units(spark, a.demo) if a.demo else read_units(spark, a.units)
    attrs = [c for c in a.attributes.split(",") if c] or (["country"] if a.demo else [])
    # the spec and the columns are checked here, on the driver, before any job starts
    out = ls.assign_batch(a.spec, units, unit_col=a.unit_col, attribute_cols=attrs, experiment=a.experiment)
    out.write.mode("overwrite").partitionBy("experiment").parquet(a.out)
    counts = {r["reason"]: r["count"] for r in spark.read.parquet(a.out).groupBy("reason").count().collect()}
    print(f"wrote {sum(counts.values()):,} rows to {a.out}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    return counts


if __name__ == "__main__":
    main(sys.argv[1:])
