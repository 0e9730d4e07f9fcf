"""A 100,000-draw forecast: liftlab (Python door) vs the same Monte Carlo written in numpy.

The peer is what an analyst would write by hand: draw each changed node's relative change from
the split normal of its 90% range (vectorised), clamp it to its node's bounds, multiply through
the funnel, take the mean and quantiles. Both on examples/forecast.toml, same run.
Usage: .venv/bin/python bench/forecast_vs_numpy.py   (`make bench-forecast`)
"""

from __future__ import annotations

import time
from pathlib import Path

import liftlab
import numpy as np
import tomllib
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
REQ = tomllib.loads((ROOT / "examples" / "forecast.toml").read_text())
REQ["model"]["draws"] = 100_000


def numpy_forecast(req: dict, rng: np.random.Generator) -> tuple[float, float, float]:
    m = req["model"]
    n = m["draws"]
    z90 = stats.norm.ppf(0.95)
    prod = np.ones(n)
    kinds = {node["name"]: node for node in m["nodes"]}
    for c in m["changes"]:
        lo, hi = (c["likely"] - c["low"]) / z90, (c["high"] - c["likely"]) / z90
        z = np.abs(rng.standard_normal(n))
        upper = rng.random(n) * (lo + hi) >= lo
        d = np.where(upper, c["likely"] + hi * z, c["likely"] - lo * z)
        node = kinds[c["node"]]
        top = 1.0 / node["baseline"] - 1.0 if node["kind"] == "rate" else np.inf
        prod *= 1.0 + np.clip(d, -1.0, top)
    lift = m.get("coverage", 1.0) * (prod - 1.0)
    lo_q, hi_q = np.quantile(lift, [0.025, 0.975])
    return float(lift.mean()), float(lo_q), float(hi_q)


def best(f, repeat: int = 30) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(1)
    t_np = best(lambda: numpy_forecast(REQ, rng))
    t_ll = best(lambda: liftlab.forecast_impact(REQ))
    est = liftlab.forecast_impact(REQ).relative
    ref = numpy_forecast(REQ, np.random.default_rng(2))
    print(f"liftlab.forecast_impact (100,000 draws, with plan, history, tornado): {t_ll * 1e3:.2f} ms")
    print(f"numpy Monte Carlo of the lift only (100,000 draws):                  {t_np * 1e3:.2f} ms")
    print(f"ratio numpy / liftlab: {t_np / t_ll:.2f}x")
    print(f"lift: liftlab {est.estimate:+.5f} [{est.low:+.5f}, {est.high:+.5f}]; numpy {ref[0]:+.5f} [{ref[1]:+.5f}, {ref[2]:+.5f}]")


if __name__ == "__main__":
    main()
