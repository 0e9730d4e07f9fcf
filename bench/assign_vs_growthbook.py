"""liftlab's Python batch assignment vs the GrowthBook Python SDK, on the same 1,000,000 ids.

Run: `make bench-python` (installs growthbook into .venv). Prints the timings, the ratio, and
checks that both put every id in the same variant. Record the output in bench/RESULTS.md.
"""

from __future__ import annotations

import os
import platform
import statistics
import time

import liftlab
import polars as pl

N = int(os.environ.get("BENCH_N", 1_000_000))
KEY = "sms-reminder"


def main() -> None:
    import growthbook
    from growthbook import Experiment, GrowthBook  # imported here: a bench-only dependency

    ids = [f"+1555{i:07d}" for i in range(N)]
    series = pl.Series("id", ids)
    spec = liftlab.load_spec(f'[[experiments]]\nkey = "{KEY}"\nvariants = ["control", "sms"]\nhash_version = 2\n')

    # liftlab: best of 5 (the call releases the GIL and returns a polars DataFrame)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        df = liftlab.assign_batch(spec, series)
        times.append(time.perf_counter() - t)
    t_liftlab = min(times)

    # GrowthBook SDK: one client, attributes set per unit, run() per unit (its documented loop)
    exp = Experiment(key=KEY, variations=["control", "sms"], hashVersion=2)
    gb = GrowthBook(attributes={})
    t = time.perf_counter()
    gb_variants = []
    for uid in ids:
        gb.set_attributes({"id": uid})
        gb_variants.append(gb.run(exp).value)
    t_gb = time.perf_counter() - t

    agree = sum(a == b for a, b in zip(df["variant"].to_list(), gb_variants))
    print(f"python {platform.python_version()}, polars {pl.__version__}, growthbook {growthbook.__version__ if hasattr(growthbook, '__version__') else '?'}")
    print(f"ids: {N:,}")
    print(f"liftlab.assign_batch (best of 5): {t_liftlab * 1000:.1f} ms  ({N / t_liftlab / 1e6:.1f} M/s); median {statistics.median(times) * 1000:.1f} ms")
    print(f"GrowthBook SDK run() loop:        {t_gb * 1000:.1f} ms  ({N / t_gb / 1e6:.3f} M/s)")
    print(f"speed-up: {t_gb / t_liftlab:.0f}x")
    print(f"same variant for {agree:,} of {N:,} ids")
    assert agree == N, "liftlab and GrowthBook disagree"


if __name__ == "__main__":
    main()
