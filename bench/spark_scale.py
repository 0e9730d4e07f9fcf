"""liftlab on Spark (local[N]): assignment and warehouse analysis throughput, per core, and how it
scales from local[1] to local[2].

Each measurement runs in its own process (its own JVM and Python workers), one after the other:

- ``assign --cores N``: ``liftlab.spark.assign_batch`` on ``--ids`` ids made by Spark
  (``spark.range`` formatted as phone numbers), one experiment of two variants; the job ends in a
  count per variant (so every row is assigned and nothing is written). ``baseline`` is the same
  job without the assignment (ids made and counted), the cost of Spark itself.
- ``growthbook``: the same ids through a PySpark Python UDF calling the GrowthBook SDK
  (``GrowthBook.run`` per unit, one client per Python worker), on a sample of ``--sample`` ids,
  extrapolated linearly to ``--ids``; the variant of each sampled id is checked against liftlab's.
- ``single``: ``liftlab.assign_batch`` in this one process on the same ids (polars strings), in
  chunks of 5,000,000 (the timing covers the calls only, not making the ids).
- ``analysis --cores N``: ``liftlab.analyze_warehouse(spec, "e", spark)`` over the Parquet files of
  bench/warehouse_vs_handwritten.py (``--orders`` fact rows, ``--persons`` exposed persons),
  written once under ``--data`` (default /tmp; deleted at the end unless ``--keep``); the
  report's effects are checked equal (1e-9 relative) to DuckDB's on one machine, whose time is
  printed too.

Run: ``make bench-spark`` (``python bench/spark_scale.py all``); sizes with ``--ids``,
``--sample``, ``--orders``, ``--persons``. Prints one JSON line per measurement and a summary.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC = '[[experiments]]\nkey = "sms-reminder"\nvariants = ["control", "sms"]\nhash_version = 2\n'
KEY = "sms-reminder"


def session(cores: int):
    from liftlab import spark as ls

    # a little more than the default memory for the 100M-row shuffle; shuffle partitions as for a cluster job
    return ls.local_session(cores, app_name=f"liftlab-bench-{cores}", **{"spark.driver.memory": "4g"})


def spark_ids(spark, n: int, cores: int):
    from pyspark.sql import functions as F

    return spark.range(0, n, numPartitions=max(8, 8 * cores)).select(F.format_string("+1555%08d", "id").alias("unit_id"))


def timed(f):
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def child_assign(a) -> dict:
    from liftlab import spark as ls
    from pyspark.sql import functions as F

    spark = session(a.cores)
    ids = spark_ids(spark, a.ids, a.cores)
    spark_ids(spark, 100_000, a.cores).groupBy(F.length("unit_id")).count().collect()  # warm up the JVM
    _, base = timed(lambda: ids.groupBy(F.length("unit_id")).count().collect())
    counts, secs = timed(lambda: ls.assign_batch(SPEC, ids).groupBy("variant").count().collect())
    counts = {r["variant"]: r["count"] for r in counts}
    assert sum(counts.values()) == a.ids
    spark.stop()
    return {"what": f"spark assign local[{a.cores}]", "ids": a.ids, "seconds": secs, "baseline_seconds": base, "counts": counts}


def child_growthbook(a) -> dict:
    from growthbook import Experiment, GrowthBook
    from liftlab import spark as ls
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    spark = session(a.cores)
    clients: dict = {}

    def gb_variant(uid: str) -> str:
        gb = clients.get("gb")
        if gb is None:
            gb = clients["gb"] = (GrowthBook(attributes={}), Experiment(key=KEY, variations=["control", "sms"], hashVersion=2))
        client, exp = gb
        client.set_attributes({"id": uid})
        return client.run(exp).value

    udf = F.udf(gb_variant, T.StringType())
    ids = spark_ids(spark, a.sample, a.cores)
    ids.select(udf("unit_id").alias("v")).limit(1000).collect()  # warm up the Python workers
    counts, secs = timed(lambda: ids.select(udf("unit_id").alias("variant")).groupBy("variant").count().collect())
    counts = {r["variant"]: r["count"] for r in counts}
    # the same variant as liftlab for every id of a smaller sample
    check = spark_ids(spark, min(a.sample, 100_000), a.cores)
    both = ls.assign_batch(SPEC, check).withColumn("gb", udf("unit_id"))
    differ = both.filter(F.col("gb") != F.col("variant")).count()
    spark.stop()
    return {
        "what": f"spark GrowthBook UDF local[{a.cores}]",
        "ids": a.sample,
        "seconds": secs,
        "extrapolated_ids": a.ids,
        "extrapolated_seconds": secs * a.ids / a.sample,
        "counts": counts,
        "differ_from_liftlab": differ,
    }


def child_single(a) -> dict:
    import liftlab
    import polars as pl

    spec = liftlab.load_spec(SPEC)
    chunk = 5_000_000
    secs, counts = 0.0, {}
    for start in range(0, a.ids, chunk):
        n = min(chunk, a.ids - start)
        ids = pl.select(pl.format("+1555{}", pl.int_range(start, start + n).cast(pl.String).str.zfill(8)).alias("unit_id"))["unit_id"]
        out, s = timed(lambda ids=ids: liftlab.assign_batch(spec, ids))
        secs += s
        for v, c in out.group_by("variant").len().iter_rows():
            counts[v] = counts.get(v, 0) + c
    return {"what": "liftlab.assign_batch, one process", "ids": a.ids, "seconds": secs, "counts": counts}


def data_dir(a) -> Path:
    return Path(a.data) / f"liftlab-bench-spark-{a.persons}x{a.orders}"


def child_analysis(a) -> dict:
    import liftlab

    folder = data_dir(a)
    spec = str(folder / "spec.toml")
    if a.cores == 0:  # DuckDB in this process: the single-machine reference
        report, secs = timed(lambda: liftlab.analyze_warehouse(spec, "e"))
        what = "DuckDB analyze_warehouse, one process"
    else:
        spark = session(a.cores)
        spark.range(1000).count()
        report, secs = timed(lambda: liftlab.analyze_warehouse(spec, "e", spark))
        spark.stop()
        what = f"spark analyze_warehouse local[{a.cores}]"
    d = report.to_dict()
    effects = {m["name"]: [m["effects"][0]["abs_effect"], m["effects"][0]["std_err"]] for m in d["metrics"]}
    return {"what": what, "orders": a.orders, "persons": d["data"]["n_total"], "seconds": secs, "effects": effects}


def run_child(kind: str, a, **over) -> dict:
    args = [sys.executable, __file__, kind]
    opts = {"ids": a.ids, "sample": a.sample, "orders": a.orders, "persons": a.persons, "data": a.data, "cores": a.cores} | over
    for k, v in opts.items():
        args += [f"--{k}", str(v)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(r), flush=True)
    return r


def generate(a) -> float:
    sys.path.insert(0, str(HERE))
    import warehouse_vs_handwritten as w

    w.OUT = data_dir(a)
    t = time.perf_counter()
    w.generate(a.persons, a.orders)
    (w.OUT / "spec.toml").write_text(w.SPEC)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=["all", "assign", "growthbook", "single", "analysis", "assign-all", "analysis-all"])
    ap.add_argument("--ids", type=int, default=50_000_000)
    ap.add_argument("--sample", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=100_000_000)
    ap.add_argument("--persons", type=int, default=5_000_000)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--data", default="/tmp")
    ap.add_argument("--keep", action="store_true", help="keep the generated Parquet files")
    ap.add_argument("--analysis-cores", default="2,1", help="the local[N] sessions of analysis-all, e.g. 2 or 2,1")
    a = ap.parse_args()
    if a.kind in ("assign", "growthbook", "single", "analysis"):
        f = {"assign": child_assign, "growthbook": child_growthbook, "single": child_single, "analysis": child_analysis}[a.kind]
        print(json.dumps(f(a)))
        return
    print(f"machine: {os.cpu_count()} cores (shared), python {sys.version.split()[0]}", flush=True)
    if a.kind in ("all", "assign-all"):
        s2 = run_child("assign", a, cores=2)
        s1 = run_child("assign", a, cores=1)
        one = run_child("single", a)
        gb = run_child("growthbook", a, cores=2)
        assert s2["counts"] == s1["counts"] == one["counts"], "the variant counts differ"
        n = a.ids
        print(f"assignment of {n:,} ids: local[2] {s2['seconds']:.1f} s ({n / s2['seconds'] / 2 / 1e6:.2f} M ids/s per core); "
              f"local[1] {s1['seconds']:.1f} s ({n / s1['seconds'] / 1e6:.2f} M/s); scaling local[1] -> local[2] x{s1['seconds'] / s2['seconds']:.2f}; "
              f"Spark alone (ids made and counted) {s2['baseline_seconds']:.1f} s on local[2]; "
              f"one process {one['seconds']:.1f} s ({n / one['seconds'] / 1e6:.2f} M/s); "
              f"GrowthBook UDF {gb['extrapolated_seconds']:.0f} s extrapolated from {gb['ids']:,} ids "
              f"(x{gb['extrapolated_seconds'] / s2['seconds']:.0f} liftlab's time; {gb['differ_from_liftlab']} ids differ)", flush=True)
    if a.kind in ("all", "analysis-all"):
        try:
            gen = generate(a)
            print(f"data: {a.orders:,} orders, {a.persons:,} persons written in {gen:.0f} s to {data_dir(a)}", flush=True)
            duck = run_child("analysis", a, cores=0)
            results = [run_child("analysis", a, cores=int(c)) for c in a.analysis_cores.split(",")]
            for r in results:
                for k, (e, se) in duck["effects"].items():
                    g = r["effects"][k]
                    assert math.isclose(g[0], e, rel_tol=1e-9, abs_tol=1e-12) and math.isclose(g[1], se, rel_tol=1e-9), (k, g, e, se)
            line = f"analysis of {a.orders:,} fact rows: DuckDB one process {duck['seconds']:.1f} s"
            for c, r in zip(a.analysis_cores.split(","), results):
                line += f"; local[{c}] {r['seconds']:.1f} s ({a.orders / r['seconds'] / int(c) / 1e6:.2f} M rows/s per core)"
            if len(results) == 2:
                line += f"; scaling local[1] -> local[2] x{results[1]['seconds'] / results[0]['seconds']:.2f}"
            print(line + "; effects equal to DuckDB's to 1e-9", flush=True)
        finally:
            if not a.keep:
                shutil.rmtree(data_dir(a), ignore_errors=True)


if __name__ == "__main__":
    main()
