"""liftlab.uplift.plan_contacts: the hand-computed cases of ``src/uplift/policy_tests.rs`` through
Python, the input kinds agreeing, the written files and the errors.

The case (value 10; channels a cost 1, b cost 3), net gain = uplift * 10 - cost, computed by hand:

    unit 0: uplift a 0.3,  b 0.6 -> gains  2,    3
    unit 1: uplift a 0.25, b 0.5 -> gains  1.5,  2
    unit 2: uplift a 0.05, b 0.2 -> gains -0.5, -1   (never contacted)
"""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pandas as pd
import polars as pl
import pytest
from liftlab import uplift
from liftlab.exceptions import InsufficientDataError, InvalidInputError

UPLIFT = {"a": [0.3, 0.25, 0.05], "b": [0.6, 0.5, 0.2]}
COST = {"a": 1.0, "b": 3.0}
VALUE = 10.0
TOL = 1e-12  # a few float products and sums of exact decimals


def test_no_budget_takes_each_units_best_channel():
    p = uplift.plan_contacts(UPLIFT, COST, VALUE)
    df = p.to_polars()
    assert df["channel"].to_list() == ["b", "b", None]
    assert df["uplift"].to_list() == [0.6, 0.5, None]
    assert df["rank"].to_list() == [0, 1, 2]
    assert np.allclose(df["expected_gain"].to_numpy(), [3.0, 2.0, 0.0], atol=TOL)
    assert np.allclose(df["score"].to_numpy(), [3.0, 2.0, -0.5], atol=TOL)  # u2: best of -0.5, -1
    assert p.n_contacts == 2 and p.n_units == 3
    assert p.spend == pytest.approx(6.0, abs=TOL)
    assert p.expected_conversions == pytest.approx(1.1, abs=TOL)
    assert p.expected_net_gain == pytest.approx(5.0, abs=TOL)
    curve = p.profit_curve()
    assert curve.columns == ["n_contacted", "net_gain"]
    assert curve["n_contacted"].to_list() == [0, 1, 2, 3]
    assert np.allclose(curve["net_gain"].to_numpy(), [0.0, 3.0, 5.0, 4.5], atol=TOL)
    assert (p.peak_n_contacted, p.peak_net_gain) == (2, pytest.approx(5.0, abs=TOL))


def test_contact_budget_takes_the_top_units():
    p = uplift.plan_contacts(UPLIFT, COST, VALUE, max_contacts=1)
    assert p.to_polars()["channel"].to_list() == ["b", None, None]
    assert p.expected_net_gain == pytest.approx(3.0, abs=TOL)
    # The curve goes on past the budget.
    assert p.profit_curve()["net_gain"][2] == pytest.approx(5.0, abs=TOL)


def test_spend_budget_forces_a_cheaper_channel():
    # Spend 4: {u0 b, u1 a} = 4.5, the optimum by enumeration (policy_tests.rs).
    p = uplift.plan_contacts(UPLIFT, COST, VALUE, max_spend=4.0)
    c = p.contacts()
    assert c["id"].to_list() == [0, 1]
    assert c["channel"].to_list() == ["b", "a"]
    assert p.spend == pytest.approx(4.0, abs=TOL)
    assert p.expected_net_gain == pytest.approx(4.5, abs=TOL)
    # Spend 3: both on a, 3.5.
    p = uplift.plan_contacts(UPLIFT, COST, VALUE, max_spend=3)
    assert p.contacts()["channel"].to_list() == ["a", "a"]
    assert p.expected_net_gain == pytest.approx(3.5, abs=TOL)


def test_both_budgets_hold_at_once():
    p = uplift.plan_contacts(UPLIFT, COST, VALUE, max_contacts=1, max_spend=2.0)
    assert p.to_polars()["channel"].to_list() == ["a", None, None]
    p = uplift.plan_contacts(UPLIFT, COST, VALUE, max_contacts=1, max_spend=10.0)
    assert p.to_polars()["channel"].to_list() == ["b", None, None]


def test_polars_pandas_dict_inputs_agree():
    ids = ["u0", "u1", "u2"]
    want = uplift.plan_contacts(UPLIFT, COST, VALUE, max_spend=4.0, ids=ids).to_polars()
    assert want["id"].to_list() == ids
    for u in (pl.DataFrame(UPLIFT), pd.DataFrame(UPLIFT), {k: np.array(v) for k, v in UPLIFT.items()}):
        for i in (ids, pl.Series(ids), pd.Series(ids), np.array(ids)):
            got = uplift.plan_contacts(u, COST, VALUE, max_spend=4.0, ids=i).to_polars()
            assert got.equals(want), (type(u), type(i))
    # One channel: a 1-D array, a list or a named Series with a number for the cost.
    one = uplift.plan_contacts(np.array(UPLIFT["a"]), 1.0, VALUE).to_polars()
    assert one["channel"].to_list() == ["uplift", "uplift", None]
    assert uplift.plan_contacts(UPLIFT["a"], 1, VALUE).to_polars().equals(one)
    named = uplift.plan_contacts(pl.Series("sms", UPLIFT["a"]), {"sms": 1.0}, VALUE).to_polars()
    assert named["channel"].to_list() == ["sms", "sms", None]
    assert named.drop("channel").equals(one.drop("channel"))


def test_written_files_round_trip(tmp_path):
    p = uplift.plan_contacts(UPLIFT, COST, VALUE, max_spend=4.0, ids=["u0", "u1", "u2"])
    want = p.contacts().drop("rank")
    assert want.columns == ["id", "channel", "uplift", "expected_gain", "score"]  # the CLI's columns
    p.write_csv(str(tmp_path / "c.csv"))
    assert pl.read_csv(tmp_path / "c.csv").equals(want)
    p.write_parquet(str(tmp_path / "c.parquet"))
    assert pl.read_parquet(tmp_path / "c.parquet").equals(want)


def test_repr_html_has_totals_and_a_curve_with_both_marks():
    p = uplift.plan_contacts(UPLIFT, COST, VALUE, max_contacts=1)
    h = p._repr_html_()
    assert "Expected net gain" in h and "at most 1 contacts" in h
    assert h.count("<svg") == 1 and 'class="budget"' in h and 'class="peak"' in h
    assert "plan: 3 at 1" in h and "peak: 5 at 2" in h
    assert "ContactPlan(n_contacts=1 of 3" in repr(p)
    # A long curve is thinned but keeps its end points.
    rng = np.random.default_rng(0)
    big = uplift.plan_contacts({"a": rng.normal(0.1, 0.1, 5000)}, {"a": 0.5}, VALUE)
    assert len(big._repr_html_()) < 40_000


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"cost": {"a": 1.0}}, InvalidInputError, "cost: no cost for channel 'b'"),
        ({"cost": {"a": 1.0, "b": 3.0, "c": 1.0}}, InvalidInputError, "cost: 'c' is not a channel"),
        ({"cost": 1.0}, InvalidInputError, "cost: a single number is for one channel"),
        ({"cost": {"a": -1.0, "b": 3.0}}, InvalidInputError, "cost['a']: must be finite and >= 0"),
        ({"value": 0.0}, InvalidInputError, "value: must be finite and > 0"),
        ({"value": "10"}, InvalidInputError, "value: must be a number"),
        ({"max_spend": 0.5}, InvalidInputError, "max_spend: is below the cheapest contact (1)"),
        ({"max_spend": float("nan")}, InvalidInputError, "max_spend: must be a number"),
        ({"max_contacts": 0}, InvalidInputError, "max_contacts: is below one contact"),
        ({"max_contacts": -1}, InvalidInputError, "max_contacts: must be >= 1"),
        ({"max_contacts": 1.5}, InvalidInputError, "max_contacts: must be a whole number"),
        ({"max_contacts": True}, InvalidInputError, "max_contacts: must be a whole number"),
        ({"uplift": {"a": [0.1, float("nan")], "b": [0.1, 0.2]}}, InvalidInputError, "uplift['a'][1]: must be finite"),
        ({"uplift": pl.DataFrame({"a": [0.1, None], "b": [0.1, 0.2]})}, InvalidInputError, "uplift['a'][1]"),
        ({"uplift": {"a": [0.1, 0.2], "b": [0.1]}}, InvalidInputError, "uplift['b']: has 1 values"),
        ({"uplift": {"a": ["x"], "b": [0.1]}}, InvalidInputError, "uplift['a']: must be numbers"),
        ({"uplift": np.zeros((2, 2))}, InvalidInputError, "uplift: an array must be one-dimensional"),
        ({"uplift": {"a": [], "b": []}}, InsufficientDataError, "uplift: is empty"),
        ({"ids": [1, 2]}, InvalidInputError, "ids: has 2 values but uplift has 3 units"),
    ],
)
def test_errors_name_the_argument(kwargs, error, message):
    args = {"uplift": UPLIFT, "cost": COST, "value": VALUE, **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        uplift.plan_contacts(args.pop("uplift"), args.pop("cost"), args.pop("value"), **args)


def test_the_cli_writes_the_same_file(tmp_path, liftlab_bin):
    ids = ["u0", "u1", "u2"]
    pl.DataFrame({"id": ids, **UPLIFT}).write_csv(tmp_path / "scored.csv")
    p = uplift.plan_contacts(UPLIFT, COST, VALUE, max_spend=4.0, ids=ids)
    p.write_csv(str(tmp_path / "py.csv"))
    args = ["uplift", "plan", "--scored", "scored.csv", "--uplift-cols", "a,b", "--cost", "a=1,b=3", "--value", "10"]
    out = subprocess.run([liftlab_bin, *args, "--max-spend", "4", "-o", "cli.csv"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "expected net gain: 4.5" in out.stdout
    assert pl.read_csv(tmp_path / "cli.csv").equals(pl.read_csv(tmp_path / "py.csv"))


def _milp_optimum(u: np.ndarray, cost: np.ndarray, value: np.ndarray, max_spend: float, max_contacts: int | None) -> float:
    """The exact optimum by scipy.optimize.milp (HiGHS; mip_rel_gap 0): binary x[i, j] for every
    (unit, channel) with a positive net gain, at most one channel per unit, spend <= max_spend and
    at most max_contacts contacts."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    gain = u * value - cost
    cells = [(i, j) for i in range(u.shape[0]) for j in range(u.shape[1]) if gain[i, j] > 0 and u[i, j] > 0]
    if not cells:
        return 0.0
    g = np.array([gain[i, j] for i, j in cells])
    rows = [np.array([1.0 if i == k else 0.0 for i, _ in cells]) for k in range(u.shape[0])]
    a = [np.vstack(rows), np.array([[cost[j] for _, j in cells]])]
    ub = [np.ones(u.shape[0]), np.array([max_spend])]
    if max_contacts is not None:
        a.append(np.ones((1, len(cells))))
        ub.append(np.array([float(max_contacts)]))
    res = milp(-g, integrality=np.ones(len(cells)), bounds=Bounds(0, 1),
               constraints=LinearConstraint(np.vstack(a), -np.inf, np.concatenate(ub)), options={"mip_rel_gap": 0})
    assert res.success, res.message
    return float(-res.fun)


def test_item10_plans_within_one_percent_of_scipy_milp():
    """Issue 13, item 10: on 600 random instances (5-40 units, 2-3 channels, costs U(0.1, 1.5),
    uplift U(-0.05, 0.25), one value of 10 or a value per channel U(5, 15), a spend budget
    U(cheapest, max(cheapest, 0.1 n) + 0.5) and in every third a contact limit), the plan against the exact
    optimum of scipy.optimize.milp: the 99th-percentile gap at most 1% (the issue's target), every
    plan feasible with no affordable profitable contact left out, and plans marked optimal equal to
    the MILP's to 1e-6 (HiGHS' feasibility tolerance). Measured: 600 of 600 optimal and proven
    optimal (issue 13 measured the greedy alone, before the fix, at 88.6% optimal, p99 gap 24%)."""
    rng = np.random.default_rng(10)
    gaps, proven = [], 0
    for run in range(600):
        n, m = int(rng.integers(5, 41)), int(rng.integers(2, 4))
        names = [f"c{j}" for j in range(m)]
        cost = rng.uniform(0.1, 1.5, m)
        value = np.full(m, 10.0) if run % 2 == 0 else rng.uniform(5, 15, m)
        u = rng.uniform(-0.05, 0.25, (n, m))
        s = float(rng.uniform(cost.min(), max(cost.min(), 0.1 * n) + 0.5))
        k = int(rng.integers(1, n + 1)) if run % 3 == 0 else None
        plan = uplift.plan_contacts(
            {c: u[:, j] for j, c in enumerate(names)},
            dict(zip(names, cost)),
            10.0 if run % 2 == 0 else dict(zip(names, value)),
            max_spend=s,
            max_contacts=k,
        )
        opt = _milp_optimum(u, cost, value, s, k)
        gap = (opt - plan.expected_net_gain) / opt if opt > 0 else 0.0
        gaps.append(gap)
        df = plan.to_polars()
        chosen = [None if c is None else names.index(c) for c in df["channel"].to_list()]
        spend = sum(cost[j] for j in chosen if j is not None)
        assert spend <= s * (1 + 1e-9) and (k is None or plan.n_contacts <= k), run
        if k is None or plan.n_contacts < k:
            for i, j0 in enumerate(chosen):
                if j0 is None:
                    for j in range(m):
                        affordable = u[i, j] > 0 and u[i, j] * value[j] - cost[j] > 0 and spend + cost[j] <= s
                        assert not affordable, (run, i, j)
        if plan.optimal:
            proven += 1
            assert abs(gap) <= 1e-6, (run, gap)
    gaps = np.array(gaps)
    p99 = float(np.quantile(gaps, 0.99))
    assert p99 <= 0.01, p99
    assert proven == 600 and (gaps <= 1e-6).all(), (proven, gaps.max())


def test_item10_a_value_per_channel():
    """Issue 13, item 10: a conversion worth 30 by call and 5 by SMS (the hand case's uplifts, costs
    a 1, b 3): gains a 0.5, 0.25, -0.75 and b 15, 12, 3; at most 4 spent the best plan is unit 0 by
    b and unit 1 by a (15.25; by hand over the plans that fit)."""
    p = uplift.plan_contacts(UPLIFT, COST, {"a": 5.0, "b": 30.0}, max_spend=4.0)
    assert p.to_polars()["channel"].to_list() == ["b", "a", None]
    assert p.expected_net_gain == pytest.approx(15.25, abs=TOL) and p.optimal
    assert p.value == {"a": 5.0, "b": 30.0}
    with pytest.raises(InvalidInputError, match=r"^value: no value for channel 'b'"):
        uplift.plan_contacts(UPLIFT, COST, {"a": 5.0})
    with pytest.raises(InvalidInputError, match=r"^value\['b'\]: must be finite and > 0"):
        uplift.plan_contacts(UPLIFT, COST, {"a": 5.0, "b": 0.0})
    with pytest.raises(InvalidInputError, match=r"^value: 'fax' is not a channel"):
        uplift.plan_contacts(UPLIFT, COST, {"a": 5.0, "b": 1.0, "fax": 2.0})
