"""Uplift scoring and a contact plan as Spark jobs: score every lead with a fitted uplift forest,
then choose whom to contact, and through which channel, within a contact or spend budget.

    spark-submit examples/spark/uplift_job.py --model model.json --leads warehouse.leads --unit-col lead_id \
        --cost sms=0.05,call=1.5 --value 40 --max-spend 20000 --out s3://bucket/contact_plan/

The model is a file of ``UpliftForest.save`` or ``liftlab uplift fit`` (one treatment per channel,
its labels naming the score columns), shipped to the executors once. The contacts are written as
Parquet with the columns of ``liftlab uplift plan`` (id, channel, uplift, expected_gain, score) and
the plan's totals printed. ``--demo N`` fits a small model and makes N leads, and ``--local`` runs
on a local[2] session, so the script runs as is:

    python examples/spark/uplift_job.py --demo 200000 --local --cost sms=0.05,call=1.5 --value 40 \
        --max-spend 2000 --out /tmp/contact_plan
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile

import numpy as np
import polars as pl
from liftlab import spark as ls
from liftlab.uplift import UpliftForest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def demo(spark: SparkSession, n: int, folder: str) -> tuple[str, object]:
    """A past campaign with random channels (SMS works on recent customers, calls on big spenders),
    a forest fitted on it, and n leads to score."""
    rng = np.random.default_rng(7)
    m = 20_000
    past = pl.DataFrame({"recent": rng.integers(0, 2, m), "spend": rng.uniform(0, 100, m)})
    channel = rng.integers(0, 3, m)  # 0 none, 1 call, 2 sms (labels sorted, as the CLI codes them)
    p = 0.1 + 0.15 * ((channel == 2) & (past["recent"].to_numpy() == 1)) + 0.2 * ((channel == 1) & (past["spend"].to_numpy() > 50))
    model = UpliftForest(n_trees=30, min_samples_leaf=100, seed=1).fit(past, channel, (rng.random(m) < p).astype(float))
    d = model.to_dict() | {"treatments": ["call", "sms"]}
    path = f"{folder}/model.json"
    with open(path, "w") as f:
        json.dump(d, f)
    leads = spark.range(n).select(
        F.format_string("lead-%08d", "id").alias("lead_id"),
        (F.hash("id") % 2 == 0).cast("int").alias("recent"),
        (F.abs(F.hash(F.col("id") + 1)) % 10_000 / 100.0).alias("spend"),
    )
    return path, leads


def parse_costs(text: str) -> dict[str, float]:
    return {k: float(v) for k, v in (kv.split("=") for kv in text.split(","))}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="model file (UpliftForest.save / liftlab uplift fit)")
    p.add_argument("--leads", help="Parquet path or table of leads with the model's features")
    p.add_argument("--demo", type=int, help="fit a demo model and make this many leads")
    p.add_argument("--unit-col", "--id-col", dest="unit_col", default="lead_id", help="the unit id column (--id-col: its old name)")
    p.add_argument("--cost", required=True, help="cost per contact, e.g. sms=0.05,call=1.5")
    p.add_argument("--value", type=float, required=True, help="value of one conversion")
    p.add_argument("--max-contacts", type=int)
    p.add_argument("--max-spend", type=float)
    p.add_argument("--out", required=True, help="Parquet output folder for the contacts")
    p.add_argument("--local", action="store_true", help="run on a local[2] session")
    a = p.parse_args(argv)
    spark = ls.local_session(2) if a.local else SparkSession.builder.appName("liftlab-uplift").getOrCreate()
    if a.demo:
        folder = tempfile.mkdtemp()
        model, leads = demo(spark, a.demo, folder)
    else:
        if not (a.model and a.leads):
            p.error("give --model and --leads, or --demo")
        model = a.model
        leads = spark.read.parquet(a.leads) if "/" in a.leads or a.leads.endswith(".parquet") else spark.table(a.leads)
    cost = parse_costs(a.cost)
    scored = ls.predict_uplift(model, leads)  # one column per channel, named by the model's labels
    plan = ls.plan_contacts(
        scored, cost, a.value, unit_col=a.unit_col, max_contacts=a.max_contacts, max_spend=a.max_spend
    )
    plan.contacts().write.mode("overwrite").parquet(a.out)
    totals = plan.totals()
    print(json.dumps(totals))
    return totals


if __name__ == "__main__":
    main(sys.argv[1:])
