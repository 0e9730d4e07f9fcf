"""Analysis as a Spark job: the spec's catalogue compiled to Spark SQL, run by the cluster over the
event tables, and the report made from the per-variant sums that come back to the driver.

    spark-submit examples/spark/analysis_job.py --spec spec.toml --experiment call-script \
        --report report.json --markdown report.md

The spec's ``[catalog]`` names the sources: ``table = "crm.calls"`` for a table of the session's
catalogue (Hive metastore, Unity, Glue ...), or ``path = "s3://bucket/calls/"`` for Parquet files
(a relative path is read from the spec file's folder, or ``--base-dir``). ``liftlab.analyze_warehouse``
is the same function that takes a DuckDB or DB-API connection; here the connection is the
SparkSession. ``--demo`` writes the telesales example of examples/warehouse (20,000 persons) to
a temporary folder and ``--local`` runs on a local[2] session, so the script runs as is:

    python examples/spark/analysis_job.py --demo --local --experiment call-script --markdown /tmp/report.md
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import liftlab
from liftlab import spark as ls
from pyspark.sql import SparkSession

EXAMPLE = Path(__file__).resolve().parents[1] / "warehouse"


def demo_data(folder: str) -> Path:
    """The example's Parquet files under ``folder``/data, with microsecond timestamps (Spark reads
    no nanosecond Parquet timestamps); returns the folder to read the spec's relative paths from."""
    import pandas as pd

    sys.path.insert(0, str(EXAMPLE))
    import make_data

    for path in make_data.generate(Path(folder) / "data", persons=20_000, seed=14).values():
        pd.read_parquet(path).to_parquet(path, index=False, coerce_timestamps="us", allow_truncated_timestamps=False)
    return Path(folder)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spec", help="the spec with a [catalog] (default with --demo: examples/warehouse/spec.toml)")
    p.add_argument("--experiment", required=True)
    p.add_argument("--start", help="first exposure date analysed (YYYY-MM-DD)")
    p.add_argument("--end", help="last exposure date analysed, inclusive")
    p.add_argument("--base-dir", help="folder the spec's relative paths are read from (default: the spec's folder)")
    p.add_argument("--report", help="write the report as JSON here")
    p.add_argument("--markdown", help="write the report as Markdown here")
    p.add_argument("--demo", action="store_true", help="write the example's event tables to a temporary folder and analyse them")
    p.add_argument("--local", action="store_true", help="run on a local[2] session")
    a = p.parse_args(argv)
    spark = ls.local_session(2) if a.local else SparkSession.builder.appName("liftlab-analysis").getOrCreate()
    spec, base = a.spec, a.base_dir
    if a.demo:
        spec = spec or str(EXAMPLE / "spec.toml")
        base = str(demo_data(tempfile.mkdtemp(prefix="liftlab-demo-")))
    elif not spec:
        p.error("give --spec, or --demo")
    # the spec and its catalogue are checked here, on the driver, before any job starts
    report = liftlab.analyze_warehouse(spec, a.experiment, spark, start=a.start, end=a.end, base_dir=base)
    if a.report:
        Path(a.report).write_text(report.to_json())
    if a.markdown:
        Path(a.markdown).write_text(report.to_markdown())
    d = report.to_dict()
    summary = {"experiment": a.experiment, "n_total": d["data"]["n_total"], "decision": report.decision}
    print(json.dumps(summary, default=str))
    return d


if __name__ == "__main__":
    main(sys.argv[1:])
