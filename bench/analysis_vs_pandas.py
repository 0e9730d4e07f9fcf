"""liftlab analyze vs a pandas + scipy script doing the same computation, in the same run.

10,000,000 units in two arms; three metrics: conversion (binary), revenue per order (ratio,
delta method) and revenue with CUPED on pre-period revenue. Both read the same Parquet files and
compute the same effects; the script checks that the numbers agree.

Run: ``make bench-analysis`` (builds the release binary, installs pyarrow for pandas' Parquet
reader, then ``python bench/analysis_vs_pandas.py``). ``--units N`` for another size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import polars as pl

SPEC = """
[[experiments]]
key = "bench"
variants = ["control", "treatment"]

[analysis]
correction = "none"

[[metrics]]
name = "converted"
kind = "binary"

[[metrics]]
name = "revenue_per_order"
kind = "ratio"
column = "revenue"
denominator = "orders"

[[metrics]]
name = "revenue"
kind = "mean"
covariate = "pre_revenue"
"""


def make_data(n: int, folder: str) -> tuple[str, str]:
    rng = np.random.default_rng(42)
    unit = np.arange(n, dtype=np.int64)
    variant = np.where(rng.random(n) < 0.5, "control", "treatment")
    level = np.exp(rng.normal(2.0, 0.8, n))
    orders = rng.poisson(0.4 * (1 + (variant == "treatment") * 0.02), n).astype(np.float64)
    revenue = orders * level * rng.uniform(0.5, 1.5, n)
    pre = rng.poisson(0.4, n) * level * rng.uniform(0.5, 1.5, n)
    converted = (orders > 0).astype(np.float64)
    e = os.path.join(folder, "exposures.parquet")
    o = os.path.join(folder, "outcomes.parquet")
    pl.DataFrame({"unit_id": unit, "variant": variant}).write_parquet(e)
    pl.DataFrame(
        {"unit_id": unit, "converted": converted, "revenue": revenue, "orders": orders, "pre_revenue": pre}
    ).write_parquet(o)
    return e, o


def pandas_scipy(e: str, o: str) -> dict[str, float]:
    """The peer: what an analyst would write with pandas and scipy."""
    import pandas as pd
    from scipy import stats

    exp = pd.read_parquet(e)
    out = pd.read_parquet(o)
    df = exp.merge(out, on="unit_id", how="left").fillna(0.0)
    res: dict[str, float] = {}
    g = df.groupby("variant")
    # conversion: unpooled Wald z
    p = g["converted"].mean()
    n = g.size()
    se = np.sqrt(p * (1 - p) / n).pow(2).sum() ** 0.5
    diff = p["treatment"] - p["control"]
    res["converted"] = float(2 * stats.norm.sf(abs(diff / se)))
    # revenue per order: delta method
    var_r = {}
    r = {}
    for v, a in g:
        x, y = a["revenue"].to_numpy(), a["orders"].to_numpy()
        r[v] = x.sum() / y.sum()
        lin = (x - r[v] * y) / y.mean()
        var_r[v] = lin.var(ddof=1) / len(a)
    z = (r["treatment"] - r["control"]) / np.sqrt(var_r["treatment"] + var_r["control"])
    res["revenue_per_order"] = float(2 * stats.norm.sf(abs(z)))
    # revenue with CUPED (theta pooled within arms)
    cxc = g.apply(lambda a: ((a.revenue - a.revenue.mean()) * (a.pre_revenue - a.pre_revenue.mean())).sum())
    ccc = g.apply(lambda a: ((a.pre_revenue - a.pre_revenue.mean()) ** 2).sum())
    theta = cxc.sum() / ccc.sum()
    adj = df.revenue - theta * df.pre_revenue
    ga = adj.groupby(df.variant)
    m, vv, nn = ga.mean(), ga.var(ddof=1), ga.size()
    z = (m["treatment"] - m["control"]) / np.sqrt((vv / nn).sum())
    res["revenue"] = float(2 * stats.norm.sf(abs(z)))
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=10_000_000)
    ap.add_argument("--bin", default=os.path.join("target", "release", "liftlab"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        e, o = make_data(args.units, d)
        print(f"data: {args.units:,} units written in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        spec = os.path.join(d, "spec.toml")
        with open(spec, "w") as f:
            f.write(SPEC)
        report = os.path.join(d, "report.json")
        cmd = [args.bin, "analyze", "--spec", spec, "--exposures", e, "--outcomes", o, "-o", report]
        ll = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
            ll.append(time.perf_counter() - t)
        t = time.perf_counter()
        ref = pandas_scipy(e, o)
        pd_time = time.perf_counter() - t
        with open(report) as f:
            rep = json.load(f)
        for m in rep["metrics"]:
            p = m["effects"][0]["p_value"]
            assert abs(p - ref[m["name"]]) <= 1e-6 * max(ref[m["name"]], 1e-300) + 1e-12, (m["name"], p, ref)
        best = min(ll)
        print(f"liftlab analyze (best of {args.repeat}): {best:.3f} s  {[round(x, 3) for x in ll]}")
        print(f"pandas + scipy: {pd_time:.3f} s")
        print(f"ratio: {pd_time / best:.1f}x; p-values agree: {ref}")


if __name__ == "__main__":
    main()
