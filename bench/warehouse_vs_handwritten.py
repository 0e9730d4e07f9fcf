"""liftlab's compiled DuckDB query vs a hand-written DuckDB query of the same sums, in one run.

100,000,000 order rows and 5,000,000 exposed persons (plus re-logged exposures and persons in
both arms) in Parquet. Four metrics: paid within 7 days (binary), paid revenue within 14 days
with CUPED on the 14 days before, and orders within 30 days. Each contender runs in its own
process, from Parquet to the effects:

- liftlab: ``liftlab.analyze_warehouse(spec, "e")`` (compile, in-memory DuckDB over the files,
  the report: effects, CUPED, SRM, corrections, plus the daily timeline the report carries);
- hand-written: one DuckDB query a data scientist would write for the same per-arm sums (plain,
  unshifted), then the same effects in numpy/scipy (Wald z for the rate, Welch t for the
  means, CUPED theta pooled over arms).

The script checks that the two agree on every effect, and prints wall times, peak memory (each
process's ru_maxrss) and the ratio hand-written / liftlab (>= 1.0: liftlab is no slower).

Run: ``make bench-warehouse`` (``python bench/warehouse_vs_handwritten.py``; the data is written
once to bench/out/warehouse). ``--orders N --persons N`` for other sizes, ``--repeat K`` runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "warehouse"  # + one folder per size

SPEC = """
[[experiments]]
key = "e"
variants = ["control", "treatment"]

[analysis]
correction = "none"

[catalog]
id_types = ["phone"]

[catalog.exposures]
path = "exposures.parquet"
id_type = "phone"
unit_col = "phone"
experiment_col = "experiment"
variant_col = "variant"
time_col = "exposed_at"

[[catalog.facts]]
name = "orders"
path = "orders.parquet"
ids = { phone = "phone" }
time_col = "ordered_at"
columns = ["amount", "status"]

[[catalog.metrics]]
name = "paid_7d"
kind = "binary"
fact = "orders"
filters = [{ column = "status", op = "=", value = "paid" }]
window_days = [0, 7]

[[catalog.metrics]]
name = "revenue_14d"
kind = "sum"
fact = "orders"
column = "amount"
filters = [{ column = "status", op = "=", value = "paid" }]
window_days = [0, 14]
lookback_days = 14

[[catalog.metrics]]
name = "orders_30d"
kind = "count"
fact = "orders"
window_days = [0, 30]
"""

HANDWRITTEN = """
WITH exp AS (
  SELECT phone, MIN(variant) AS variant, MAX(variant) AS last_variant, MIN(exposed_at) AS t0
  FROM read_parquet('{dir}/exposures.parquet')
  WHERE experiment = 'e'
  GROUP BY phone
), units AS (
  SELECT phone, variant, t0 FROM exp WHERE variant = last_variant
), per AS (
  SELECT u.phone,
    MAX(CASE WHEN o.status = 'paid' AND o.ordered_at >= u.t0 AND o.ordered_at < u.t0 + INTERVAL 7 DAY THEN 1 ELSE 0 END) AS paid,
    SUM(CASE WHEN o.status = 'paid' AND o.ordered_at >= u.t0 AND o.ordered_at < u.t0 + INTERVAL 14 DAY THEN o.amount ELSE 0 END) AS rev,
    SUM(CASE WHEN o.status = 'paid' AND o.ordered_at < u.t0 THEN o.amount ELSE 0 END) AS pre,
    COUNT(CASE WHEN o.ordered_at >= u.t0 THEN 1 END) AS n_orders
  FROM read_parquet('{dir}/orders.parquet') AS o
  JOIN units AS u ON o.phone = u.phone
  WHERE o.ordered_at >= u.t0 - INTERVAL 14 DAY AND o.ordered_at < u.t0 + INTERVAL 30 DAY
  GROUP BY u.phone
), v AS (
  SELECT u.variant, COALESCE(p.paid, 0) AS paid, COALESCE(p.rev, 0) AS rev, COALESCE(p.pre, 0) AS pre,
         COALESCE(p.n_orders, 0) AS n_orders
  FROM units AS u LEFT JOIN per AS p ON p.phone = u.phone
)
SELECT variant, COUNT(*) AS n, SUM(paid) AS paid, SUM(rev) AS rev, SUM(rev * rev) AS rev2, SUM(pre) AS pre,
       SUM(pre * pre) AS pre2, SUM(rev * pre) AS revpre, SUM(n_orders) AS orders, SUM(n_orders * n_orders) AS orders2,
       SUM(rev * rev * rev) AS rev3, SUM(n_orders * n_orders * n_orders) AS orders3
FROM v GROUP BY variant ORDER BY variant
"""


def generate(persons: int, orders: int) -> None:
    """Writes exposures.parquet and orders.parquet with DuckDB (about a minute at full size)."""
    import duckdb

    OUT.mkdir(parents=True, exist_ok=True)
    done = OUT / "done"
    if done.exists():
        return
    con = duckdb.connect()
    t = time.time()
    # persons: a phone number, an arm by hash, a first exposure in 60 days; 5% logged again, 0.2% in both arms
    con.execute(f"""
        COPY (
          WITH p AS (
            SELECT 8613000000000 + i AS phone,
                   CASE WHEN hash(i) % 2 = 0 THEN 'control' ELSE 'treatment' END AS variant,
                   TIMESTAMP '2025-01-01' + to_seconds((hash(i * 7) % (60 * 86400))::BIGINT) AS exposed_at,
                   i
            FROM range({persons}) t(i)
          )
          SELECT phone, 'e' AS experiment, variant, exposed_at FROM p
          UNION ALL SELECT phone, 'e', variant, exposed_at + INTERVAL 2 DAY FROM p WHERE i % 20 = 3
          UNION ALL SELECT phone, 'e', CASE WHEN variant = 'control' THEN 'treatment' ELSE 'control' END, exposed_at
                    FROM p WHERE i % 500 = 7
          UNION ALL SELECT phone, 'other', 'a', exposed_at FROM p WHERE i % 10 = 1
        ) TO '{OUT}/exposures.parquet' (FORMAT parquet)
    """)
    # orders: a phone among the persons and 10% never exposed, a time in 90 days, an amount, paid or refunded
    con.execute(f"""
        COPY (
          SELECT 8613000000000 + (hash(j) % {int(persons * 1.1)})::BIGINT AS phone,
                 TIMESTAMP '2024-12-15' + to_seconds((hash(j * 3) % (105 * 86400))::BIGINT) AS ordered_at,
                 round(20 + (hash(j * 5) % 100000) / 100.0, 2) AS amount,
                 CASE WHEN hash(j * 11) % 10 = 0 THEN 'refunded' ELSE 'paid' END AS status
          FROM range({orders}) t(j)
        ) TO '{OUT}/orders.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
    """)
    done.touch()
    print(f"data written in {time.time() - t:.0f} s to {OUT}", file=sys.stderr)


def run_liftlab() -> dict:
    import liftlab

    (OUT / "spec.toml").write_text(SPEC)
    t = time.perf_counter()
    report = liftlab.analyze_warehouse(str(OUT / "spec.toml"), "e")
    seconds = time.perf_counter() - t
    d = report.to_dict()
    effects = {m["name"]: (m["effects"][0]["abs_effect"], m["effects"][0]["std_err"]) for m in d["metrics"]}
    skew = {m["name"]: [a["skewness"] for a in m["arms"]] for m in d["metrics"] if m["name"] != "paid_7d"}
    return {"seconds": seconds, "effects": effects, "skew": skew, "n": d["data"]["exposures"], "multiple": d["data"]["multiple_exposures"],
            "timeline_days": len({p["date"] for p in d["timeline"]})}


def run_handwritten() -> dict:
    import duckdb
    import numpy as np
    from scipy import stats

    t = time.perf_counter()
    rows = duckdb.connect().execute(HANDWRITTEN.format(dir=OUT)).fetchall()
    (_, n0, p0, r0, rr0, c0, cc0, rc0, o0, oo0, rrr0, ooo0), (_, n1, p1, r1, rr1, c1, cc1, rc1, o1, oo1, rrr1, ooo1) = rows

    def mean_var(n, s, ss):
        m = s / n
        return m, (ss - s * s / n) / (n - 1)

    effects = {}
    # binary: Wald z (unpooled), as the analysis
    a, b = p0 / n0, p1 / n1
    effects["paid_7d"] = (b - a, math.sqrt(a * (1 - a) / n0 + b * (1 - b) / n1))
    # CUPED: theta pooled over arms, then the adjusted difference (Deng et al. 2013)
    def cov(n, sx, sy, sxy):
        return (sxy - sx * sy / n) / (n - 1)

    vc = [cov(n0, c0, c0, cc0), cov(n1, c1, c1, cc1)]
    cxr = [cov(n0, r0, c0, rc0), cov(n1, r1, c1, rc1)]
    theta = ((n0 - 1) * cxr[0] + (n1 - 1) * cxr[1]) / ((n0 - 1) * vc[0] + (n1 - 1) * vc[1])
    call = (c0 + c1) / (n0 + n1)
    adj = [r0 / n0 - theta * (c0 / n0 - call), r1 / n1 - theta * (c1 / n1 - call)]
    vr = [mean_var(n0, r0, rr0)[1], mean_var(n1, r1, rr1)[1]]
    var = [(vr[k] - 2 * theta * cxr[k] + theta**2 * vc[k]) / n for k, n in enumerate((n0, n1))]
    effects["revenue_14d"] = (adj[1] - adj[0], math.sqrt(var[0] + var[1]))
    # count: Welch t
    (m0, v0), (m1, v1) = mean_var(n0, o0, oo0), mean_var(n1, o1, oo1)
    t_ = stats.ttest_ind_from_stats(m1, math.sqrt(v1), n1, m0, math.sqrt(v0), n0, equal_var=False)
    effects["orders_30d"] = (m1 - m0, (m1 - m0) / t_.statistic)

    # the skewness of the mean metrics per arm, for Kohavi's n > 355·skewness² (as liftlab checks)
    def skew(n, s, ss, sss):
        a1, a2, a3 = s / n, ss / n, sss / n
        return (a3 - 3 * a1 * a2 + 2 * a1**3) / (a2 - a1 * a1) ** 1.5

    skews = {"revenue_14d": [skew(n0, r0, rr0, rrr0), skew(n1, r1, rr1, rrr1)],
             "orders_30d": [skew(n0, o0, oo0, ooo0), skew(n1, o1, oo1, ooo1)]}
    np.seterr(all="ignore")
    return {"seconds": time.perf_counter() - t, "effects": effects, "skew": skews, "n": [n0, n1]}


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(which: str) -> None:
    c = cpu()
    out = run_liftlab() if which == "liftlab" else run_handwritten()
    out["cpu_seconds"] = cpu() - c  # every DuckDB thread's time: less sensitive to other load than wall time
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=5_000_000)
    ap.add_argument("--orders", type=int, default=100_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--child", choices=["liftlab", "handwritten"])
    a = ap.parse_args()
    global OUT
    OUT = OUT / f"{a.persons}x{a.orders}"
    if a.child:
        return child(a.child)
    generate(a.persons, a.orders)
    results: dict[str, list[dict]] = {"liftlab": [], "handwritten": []}
    for _ in range(a.repeat):
        for which in ("handwritten", "liftlab"):
            t = time.perf_counter()
            args = [sys.executable, __file__, "--child", which, "--persons", str(a.persons), "--orders", str(a.orders)]
            p = subprocess.run(args, capture_output=True, text=True, env=os.environ)
            if p.returncode:
                raise SystemExit(p.stderr)
            r = json.loads(p.stdout)
            r["process_seconds"] = time.perf_counter() - t
            results[which].append(r)
            print(f"{which:12s} query+stats {r['seconds']:6.2f} s  cpu {r['cpu_seconds']:6.2f} s  process {r['process_seconds']:6.2f} s  "
                  f"peak {r['peak_mb']:7.0f} MB", file=sys.stderr)
    lift, hand = results["liftlab"][-1], results["handwritten"][-1]
    assert lift["n"] == hand["n"], (lift["n"], hand["n"])
    for k, (e, se) in hand["effects"].items():
        le, lse = lift["effects"][k]
        assert math.isclose(le, e, rel_tol=1e-6, abs_tol=1e-9) and math.isclose(lse, se, rel_tol=1e-6), (k, le, e, lse, se)
    # the hand-written sums of cubes are unshifted: agreement to 1e-6 is all they promise
    skew_diff = max(abs(lg / hg - 1) for k, hs in hand["skew"].items() for lg, hg in zip(lift["skew"][k], hs))
    assert skew_diff < 1e-6, (lift["skew"], hand["skew"])
    best = {k: min(r["seconds"] for r in v) for k, v in results.items()}
    median = {k: sorted(r["seconds"] for r in v)[len(v) // 2] for k, v in results.items()}
    cpu_best = {k: min(r["cpu_seconds"] for r in v) for k, v in results.items()}
    proc = {k: max(r["process_seconds"] for r in v) for k, v in results.items()}
    peak = {k: max(r["peak_mb"] for r in v) for k, v in results.items()}
    print(f"persons {sum(lift['n']):,} (+{lift['multiple']:,} in both arms), orders {a.orders:,}, "
          f"timeline {lift['timeline_days']} days; effects agree to 1e-6, skewness to {skew_diff:.1e}; "
          f"{a.repeat} runs each, interleaved")
    print("| contender | best wall | median wall | best CPU | slowest whole process | peak RSS |")
    for k in ("handwritten", "liftlab"):
        print(f"| {k} | {best[k]:.2f} s | {median[k]:.2f} s | {cpu_best[k]:.2f} s | {proc[k]:.2f} s | {peak[k]:,.0f} MB |")
    cpu_total = {k: sum(r["cpu_seconds"] for r in v) for k, v in results.items()}
    print(f"ratio hand-written / liftlab: best wall {best['handwritten'] / best['liftlab']:.2f}, "
          f"median wall {median['handwritten'] / median['liftlab']:.2f}, best CPU {cpu_best['handwritten'] / cpu_best['liftlab']:.2f}, "
          f"total CPU over the runs {cpu_total['handwritten'] / cpu_total['liftlab']:.2f}")


if __name__ == "__main__":
    main()
