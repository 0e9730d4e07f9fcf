"""liftlab's uplift forest against causalml's UpliftRandomForestClassifier: held-out quality on
Hillstrom, then fit time and peak memory on 1,000,000 synthetic rows.

Needs causalml, so it runs in a separate venv holding causalml and the liftlab wheel (never the
project's .venv)::

    python3 -m venv /work/causalml-venv && /work/causalml-venv/bin/pip install causalml
    .venv/bin/maturin build --release -o /tmp/wheels
    /work/causalml-venv/bin/pip install /tmp/wheels/liftlab-*.whl
    /work/causalml-venv/bin/python bench/uplift_vs_causalml.py quality   # ~1 min per seed
    /work/causalml-venv/bin/python bench/uplift_vs_causalml.py speed     # minutes (causalml)

``quality``: Hillstrom, women's e-mail vs no e-mail, outcome ``visit``, the split of
notebooks/04_uplift.ipynb (``numpy.random.default_rng(42).permutation``, first 70% train). Both
forests see the same numeric matrix (categoricals one-hot coded, as causalml needs numbers):
100 trees, depth 5, KL, min_samples_leaf 100, min_samples_treatment 10, n_reg 10,
max_features 10 (causalml's default), seed 42. Every score below is computed by the same function
for both models: sklift's Qini coefficient / AUUC (``liftlab.uplift.qini_auc_score`` /
``uplift_auc_score``, tested against sklift's definitions) and causalml's own
``causalml.metrics.qini_score`` (called, not re-implemented).

``speed``: each (tool, n_jobs) is fitted in its own process (``--child``) so that
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is that fit's peak; the data (13 float64 features,
1,000,000 rows, 8 MB per column) is generated in the child from a fixed seed, and its resident
size before the fit is reported as the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LIFTLAB_SHARED", ROOT.parent / "shared"))

FOREST = dict(max_depth=5, min_samples_leaf=100, min_samples_treatment=10, n_reg=10)


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---------------------------------------------------------------------------------------------
# quality on Hillstrom


def hillstrom():
    import pandas as pd

    df = pd.read_csv(SHARED / "data" / "hillstrom.csv")
    df = df[df["segment"].isin(["Womens E-Mail", "No E-Mail"])].reset_index(drop=True)
    t = (df["segment"] == "Womens E-Mail").to_numpy().astype(int)
    y = df["visit"].to_numpy().astype(float)
    X = pd.get_dummies(
        df[["recency", "history", "mens", "womens", "zip_code", "newbie", "channel", "history_segment"]],
        columns=["zip_code", "channel", "history_segment"],
        dtype=float,
    )
    perm = np.random.default_rng(42).permutation(len(df))
    n_train = round(0.7 * len(df))
    return X, t, y, perm[:n_train], perm[n_train:]


def fit_both(Xa, t, y, tr, te, seed: int) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Held-out scores of both forests fitted with ``seed``, and their fit + predict seconds."""
    from causalml.inference.tree import UpliftRandomForestClassifier
    from liftlab import uplift

    scores, secs = {}, {}
    start = time.perf_counter()
    cm = UpliftRandomForestClassifier(
        control_name="control", n_estimators=100, evaluationFunction="KL", max_features=10, random_state=seed, **FOREST
    )
    cm.fit(Xa[tr], treatment=np.where(t[tr] == 1, "treatment", "control"), y=y[tr])
    scores["causalml"] = np.asarray(cm.predict(Xa[te])).reshape(len(te), -1)[:, 0]
    secs["causalml"] = time.perf_counter() - start
    start = time.perf_counter()
    lm = uplift.UpliftForest(n_trees=100, criterion="KL", max_features=10, seed=seed, **FOREST)
    lm.fit(Xa[tr], t[tr], y[tr])
    scores["liftlab"] = lm.predict(Xa[te])
    secs["liftlab"] = time.perf_counter() - start
    return scores, secs


def quality(seeds: list[int]) -> None:
    import pandas as pd
    from causalml.metrics import qini_score
    from liftlab import uplift

    X, t, y, tr, te = hillstrom()
    Xa = X.to_numpy()
    print(f"Hillstrom women's e-mail vs none: {len(y)} rows, {Xa.shape[1]} numeric columns; train {len(tr)}, test {len(te)}")
    scores, secs = fit_both(Xa, t, y, tr, te, 42)
    frame = pd.DataFrame({"y": y[te], "w": t[te], **scores})
    cml = qini_score(frame, outcome_col="y", treatment_col="w")
    print()
    print("| model (seed 42) | fit + predict | Qini coefficient (sklift) | AUUC score (sklift) | causalml qini_score |")
    print("|---|---|---|---|---|")
    for name in ("causalml", "liftlab"):
        s = scores[name]
        print(
            f"| {name} | {secs[name]:.1f} s | {uplift.qini_auc_score(y[te], s, t[te]):.4f} "
            f"| {uplift.uplift_auc_score(y[te], s, t[te]):.4f} | {cml[name]:.4f} |"
        )
    print(f"\ncorrelation of the two models' held-out scores: {np.corrcoef(scores['causalml'], scores['liftlab'])[0, 1]:.3f}")

    # Paired bootstrap of the difference (same resampled test units for both models), seed 42.
    rng = np.random.default_rng(0)
    yt, tt = y[te], t[te]
    diffs = []
    for _ in range(1000):
        i = rng.integers(0, len(te), len(te))
        q = {m: uplift.qini_auc_score(yt[i], scores[m][i], tt[i]) for m in scores}
        diffs.append(q["liftlab"] - q["causalml"])
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    print(f"liftlab - causalml Qini, paired bootstrap (1,000 resamples of the test set): 95% interval {lo:+.4f} to {hi:+.4f}")

    # Over several forest seeds (same split): the spread a seed alone causes.
    per: dict[str, list[float]] = {"causalml": [], "liftlab": []}
    for seed in seeds:
        sc, _ = fit_both(Xa, t, y, tr, te, seed)
        for m in per:
            per[m].append(uplift.qini_auc_score(yt, sc[m], tt))
    print(f"\nQini coefficient over forest seeds {seeds}:")
    for m, v in per.items():
        print(f"  {m}: mean {np.mean(v):.4f}, sd {np.std(v, ddof=1):.4f}, min {min(v):.4f}, max {max(v):.4f}")


# ---------------------------------------------------------------------------------------------
# speed and memory on synthetic data


def synthetic(n: int, p: int = 13, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[:, 10:] = rng.integers(0, 5, size=(n, p - 10))  # three small integer-coded features
    t = rng.integers(0, 2, size=n)
    logit = -1.0 + 0.5 * X[:, 0] + t * (0.4 * (X[:, 1] > 0) - 0.3 * (X[:, 2] > 0.5) + 0.1 * X[:, 10])
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return X, t, y


def child(tool: str, rows: int, trees: int, n_jobs: int | None) -> None:
    if tool == "causalml":
        from causalml.inference.tree import UpliftRandomForestClassifier
    else:
        from liftlab import uplift
    X, t, y = synthetic(rows)
    base = maxrss_mb()
    start = time.perf_counter()
    if tool == "causalml":
        m = UpliftRandomForestClassifier(
            control_name="control", n_estimators=trees, evaluationFunction="KL", random_state=42, n_jobs=n_jobs, **FOREST
        )
        m.fit(X, treatment=np.where(t == 1, "treatment", "control"), y=y)
    else:
        m = uplift.UpliftForest(n_trees=trees, criterion="KL", max_features=10, seed=42, n_jobs=n_jobs, **FOREST)
        m.fit(X, t, y)
    fit_s = time.perf_counter() - start
    print(json.dumps({"tool": tool, "n_jobs": n_jobs, "fit_s": fit_s, "baseline_mb": base, "peak_mb": maxrss_mb()}))


def speed(rows: int, trees: int, tools: list[str]) -> None:
    print(f"{rows:,} rows x 13 features, {trees} trees, depth 5, KL, max_features 10; {os.cpu_count()} cores")
    runs = [r for r in [("liftlab", 1), ("liftlab", None), ("causalml", None)] if r[0] in tools]
    results = []
    for tool, n_jobs in runs:
        cmd = [sys.executable, __file__, "child", tool, str(rows), str(trees), "none" if n_jobs is None else str(n_jobs)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        results.append(json.loads(out))
        print(out, flush=True)
    print()
    print("| tool | n_jobs | fit | per tree | peak RSS | RSS before fit | peak - before |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        jobs = "default" if r["n_jobs"] is None else r["n_jobs"]
        print(
            f"| {r['tool']} | {jobs} | {r['fit_s']:.2f} s | {r['fit_s'] / trees:.2f} s | {r['peak_mb']:.0f} MB "
            f"| {r['baseline_mb']:.0f} MB | {r['peak_mb'] - r['baseline_mb']:.0f} MB |"
        )
    c = next((r for r in results if r["tool"] == "causalml"), None)
    for r in results if c else []:
        if r["tool"] == "liftlab":
            jobs = "default" if r["n_jobs"] is None else r["n_jobs"]
            print(f"causalml / liftlab (n_jobs={jobs}) fit time: {c['fit_s'] / r['fit_s']:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    qp = sub.add_parser("quality")
    qp.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated forest seeds for the spread over seeds")
    sp = sub.add_parser("speed")
    sp.add_argument("--rows", type=int, default=1_000_000)
    sp.add_argument("--trees", type=int, default=10)
    sp.add_argument("--tools", default="liftlab,causalml", help="comma-separated: liftlab, causalml")
    ch = sub.add_parser("child")
    ch.add_argument("tool", choices=["liftlab", "causalml"])
    ch.add_argument("rows", type=int)
    ch.add_argument("trees", type=int)
    ch.add_argument("n_jobs")
    a = ap.parse_args()
    if a.cmd == "quality":
        quality([int(v) for v in a.seeds.split(",") if v.strip()])
    elif a.cmd == "speed":
        speed(a.rows, a.trees, a.tools.split(","))
    else:
        child(a.tool, a.rows, a.trees, None if a.n_jobs == "none" else int(a.n_jobs))


if __name__ == "__main__":
    main()
