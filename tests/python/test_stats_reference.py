"""Every statistic through the Python door against an independent reference.

Replays ``tests/fixtures/stats_cases.json`` (written by ``tests/fixtures/make_stats_cases.py``: scipy,
statsmodels, quadrature; each case names its reference in ``source`` and its tolerance in ``tol``),
the same file ``tests/stats_reference.rs`` replays through the Rust API. Needs no reference tool at
run time. An unknown case kind fails: nothing is skipped silently.

Power, minimum detectable effect and sample size go through ``liftlab.power``,
``liftlab.minimum_detectable_effect`` and ``liftlab.sample_size``. ``group_sequential_power`` has
no Python function of its own: the fixture's ``power_at_drift`` values are checked in Rust, and the
Python side reaches the same code through ``sequential="group_sequential"`` (the ``power`` cases
with looks).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import liftlab
import numpy as np
import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "stats_cases.json"
DATA = json.loads(FIXTURE.read_text())
CASES = DATA["cases"]

# values in the fixture that this door cannot reach, with the reason (checked in Rust)
RUST_ONLY = {
    ("group_sequential", "power_at_drift"): "group_sequential_power has no Python function",
}

SUMS = {
    "sum_x": ("x", None),
    "sum_x2": ("x", "x"),
    "sum_y": ("y", None),
    "sum_y2": ("y", "y"),
    "sum_xy": ("x", "y"),
    "sum_c": ("c", None),
    "sum_c2": ("c", "c"),
    "sum_xc": ("x", "c"),
    "sum_yc": ("y", "c"),
    "sum_d": ("d", None),
    "sum_d2": ("d", "d"),
    "sum_xd": ("x", "d"),
    "sum_yd": ("y", "d"),
    "sum_cd": ("c", "d"),
}


def suff_stats(arm: dict[str, list[float]]) -> dict[str, float]:
    """An arm's sufficient statistics from its unit-level arrays (unused components stay 0)."""
    n = len(arm["x"])
    cols = {k: np.asarray(arm.get(k, np.zeros(n)), dtype=float) for k in "xycd"}
    out: dict[str, float] = {"n": n}
    for name, (a, b) in SUMS.items():
        out[name] = float(cols[a].sum() if b is None else (cols[a] * cols[b]).sum())
    return out


class Check:
    def __init__(self, case: dict):
        self.case = case
        self.rel, self.abs = case["tol"]["rel"], case["tol"]["abs"]
        self.failures: list[str] = []
        self.checked = 0

    def __call__(self, field: str, got, want) -> None:
        self.checked += 1
        if want is None or got is None:
            if got is not want:
                self.failures.append(f"{field}: got {got!r}, want {want!r}")
            return
        if isinstance(want, bool) or (isinstance(want, int) and isinstance(got, int)):
            # flags, counts and rounded-up sample sizes must agree exactly
            if type(got) is not type(want) or got != want:
                self.failures.append(f"{field}: got {got!r}, want {want!r}")
            return
        if not abs(got - want) <= self.rel * abs(want) + self.abs:
            rel = abs(got - want) / max(abs(want), math.ulp(0.0))
            self.failures.append(
                f"{field}: got {got!r}, want {want!r} (diff {abs(got - want):.3e}, rel {rel:.3e}; tol rel {self.rel} abs {self.abs})"
            )

    def done(self) -> None:
        assert self.checked > 0, "the case checked nothing"
        assert not self.failures, "\n".join(self.failures) + f"\n    source: {self.case['source']}"


def run_arms(case: dict, ck: Check) -> None:
    arms = [suff_stats(a) for a in DATA["datasets"][case["data"]]["arms"]]
    r = liftlab.compare_arms(arms, case["metric"], alpha=case["alpha"], alternative=case["alternative"], cuped=case["cuped"])
    want = case["expected"]
    if "theta" in want:
        ck("theta", r["theta"], want["theta"])
    ck("effects.len", len(r["effects"]), len(want["effects"]))
    for i, (e, w) in enumerate(zip(r["effects"], want["effects"])):
        for field, wv in w.items():
            ck(f"effects[{i}].{field}", e[field], wv)


def run_multiple(case: dict, ck: Check) -> None:
    got = liftlab.adjust_p_values(case["p_values"], case["method"])
    want = case["expected"]["p_adjusted"]
    ck("len", len(got), len(want))
    for i, (g, w) in enumerate(zip(got, want)):
        ck(f"p_adjusted[{i}]", g, w)


def run_power(case: dict, ck: Check) -> None:
    want, o, b = case["expected"], case["options"], case["baseline"]
    seq = o["sequential"]
    kw = {"rate": b["rate"]} if b["kind"] == "proportion" else {"mean": b["mean"], "std_dev": b["std_dev"]}
    if seq["method"] == "group_sequential":
        kw.update(sequential="group_sequential", looks=seq["looks"])
    elif seq["method"] == "confidence_sequence":
        kw.update(sequential="confidence_sequence", tuning=seq["tuning"])
    design = {
        "alpha": o["alpha"],
        "alternative": o["alternative"],
        "ratio": o["ratio"],
        "variants": o["variants"],
        "variance_reduction": o["variance_reduction"],
        "proportion_test": o["proportion_test"],
    }
    eff = case["effect"]
    if eff is not None:
        kw["abs_effect" if "absolute" in eff else "rel_effect"] = eff.get("absolute", eff.get("relative"))
    if case["what"] == "sample_size":
        r = liftlab.sample_size(power=o["power"], **design, **kw)
        for field, wv in want.items():
            ck(field, r[field], wv)
    elif case["what"] == "power":
        ck("power", liftlab.power(n_control=case["n_control"], **design, **kw), want["power"])
    else:
        got = liftlab.minimum_detectable_effect(n_control=case["n_control"], power=o["power"], **design, **kw)
        ck("abs_effect", got["abs_effect"], want["abs_effect"])
        ck("rel_effect", got["rel_effect"], want["rel_effect"])


def run_srm(case: dict, ck: Check) -> None:
    r = liftlab.check_srm(case["observed"], case["weights"], case["alpha"])
    want = case["expected"]
    ck("statistic", r.statistic, want["statistic"])
    ck("p_value", r.p_value, want["p_value"])
    ck("df", r.df, want["df"])
    ck("mismatch", r.mismatch, want["mismatch"])
    for i, (g, w) in enumerate(zip(r.expected, want["expected"])):
        ck(f"expected[{i}]", g, w)


def run_bayes(case: dict, ck: Check) -> None:
    r = liftlab.bayes_effect(
        case["rel_effect"],
        case["rel_std_err"],
        prior_mean=case["prior"]["mean"],
        prior_std_dev=case["prior"]["std_dev"],
        direction=case["direction"],
        alpha=case["alpha"],
    )
    for field, wv in case["expected"].items():
        ck(field, r[field], wv)


def run_cs(case: dict, ck: Check) -> None:
    r = liftlab.confidence_sequence(
        case["estimate"], case["std_err"], case["n_total"], alpha=case["alpha"], tuning=case["tuning"]
    )
    for field, wv in case["expected"].items():
        ck(field, r[field], wv)


def run_gs(case: dict, ck: Check) -> None:
    d = liftlab.group_sequential_design(case["info_fractions"], alpha=case["alpha"], alternative=case["alternative"])
    want = case["expected"]
    assert set(want) == {"z_bounds", "nominal_p", "alpha_spent", "power_at_drift"}, sorted(want)
    assert ("group_sequential", "power_at_drift") in RUST_ONLY
    for field in ("z_bounds", "nominal_p"):
        ck(f"{field}.len", len(d[field]), len(want[field]))
        for k, (g, w) in enumerate(zip(d[field], want[field])):
            ck(f"{field}[{k}]", g, w)
    spent = Check({**case, "tol": case["alpha_spent_tol"]})
    for k, (g, w) in enumerate(zip(d["alpha_spent"], want["alpha_spent"])):
        spent(f"alpha_spent[{k}]", g, w)
    spent.done()


RUNNERS = {
    "welch": run_arms,
    "binary": run_arms,
    "ratio": run_arms,
    "cuped": run_arms,
    "relative": run_arms,
    "multiple_testing": run_multiple,
    "power": run_power,
    "srm": run_srm,
    "bayes": run_bayes,
    "confidence_sequence": run_cs,
    "group_sequential": run_gs,
}


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['kind']}" for i, c in enumerate(CASES)])
def test_case_matches_reference(case):
    runner = RUNNERS.get(case["kind"])
    assert runner is not None, f"unknown kind '{case['kind']}': teach this test to replay it (no silent skips)"
    ck = Check(case)
    runner(case, ck)
    ck.done()


def test_every_kind_is_replayed():
    counts = Counter(c["kind"] for c in CASES)
    assert dict(counts) == DATA["counts"]
    assert set(counts) == set(RUNNERS), f"kinds without cases or without a runner: {set(counts) ^ set(RUNNERS)}"
