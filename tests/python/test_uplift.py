"""liftlab.uplift against scikit-uplift's documented definitions (``sklift.metrics`` 0.5),
re-implemented below in plain numpy without calling liftlab (sklift is not a dependency).

The reference follows sklift's code path: ``np.argsort(uplift, kind="mergesort")[::-1]`` for the
ranking, thresholds at the last position of each run of equal scores (``np.diff``), float
cumulative sums, ``np.divide(..., where=den != 0)`` for the ratios, a prepended ``(0, 0)``, the
trapezoidal rule for areas, the random line to the perfect curve's last point, ``int(n * k)`` for
``uplift_at_k`` and ``np.array_split`` for ``uplift_by_percentile``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from liftlab import uplift
from liftlab.exceptions import InsufficientDataError, InvalidInputError, LiftlabError

TOL = 1e-12

# ----------------------------------------------------------------------------------------------
# The reference: sklift 0.5's definitions in numpy.


def ref_order(scores):
    return np.argsort(np.asarray(scores, dtype=float), kind="mergesort")[::-1]


def ref_curve(y, scores, t, kind):
    y, scores, t = (np.asarray(a, dtype=float) for a in (y, scores, t))
    o = ref_order(scores)
    y, scores, t = y[o], scores[o], t[o]
    y_trmnt = np.where(t == 1, y, 0.0)
    y_ctrl = np.where(t == 0, y, 0.0)
    idx = np.r_[np.where(np.diff(scores))[0], scores.size - 1]
    n_trmnt = np.cumsum(t)[idx]
    s_trmnt = np.cumsum(y_trmnt)[idx]
    s_ctrl = np.cumsum(y_ctrl)[idx]
    n_all = idx + 1.0
    n_ctrl = n_all - n_trmnt
    if kind == "uplift":
        rate_t = np.divide(s_trmnt, n_trmnt, out=np.zeros_like(s_trmnt), where=n_trmnt != 0)
        rate_c = np.divide(s_ctrl, n_ctrl, out=np.zeros_like(s_ctrl), where=n_ctrl != 0)
        values = (rate_t - rate_c) * n_all
    else:
        values = s_trmnt - s_ctrl * np.divide(n_trmnt, n_ctrl, out=np.zeros_like(n_trmnt), where=n_ctrl != 0)
    return np.r_[0.0, n_all], np.r_[0.0, values]


def ref_perfect_uplift(y, t):
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=float)
    control_responders = np.sum((y == 1) & (t == 0))
    treated_non_responders = np.sum((y == 0) & (t == 1))
    summand = y if control_responders > treated_non_responders else t
    return ref_curve(y, 2 * (y == t) + summand, t, "uplift")


def ref_perfect_qini(y, t, negative_effect=True):
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=float)
    if negative_effect:
        return ref_curve(y, y * t - y * (1 - t), t, "qini")
    x_actual, v_actual = ref_curve(y, y, t, "qini")
    return np.array([0.0, v_actual[-1], x_actual[-1]]), np.array([0.0, v_actual[-1], v_actual[-1]])


def ref_auc(x, v):
    x, v = np.asarray(x), np.asarray(v)
    return float(np.sum(np.diff(x) * (v[:-1] + v[1:]) / 2.0))


def ref_score(actual, perfect):
    baseline = ref_auc([0.0, perfect[0][-1]], [0.0, perfect[1][-1]])
    return (ref_auc(*actual) - baseline) / (ref_auc(*perfect) - baseline)


def ref_uplift_auc_score(y, s, t):
    return ref_score(ref_curve(y, s, t, "uplift"), ref_perfect_uplift(y, t))


def ref_qini_auc_score(y, s, t, negative_effect=True):
    return ref_score(ref_curve(y, s, t, "qini"), ref_perfect_qini(y, t, negative_effect))


def ref_uplift_at_k(y, s, t, k, strategy):
    y, t = np.asarray(y, dtype=float), np.asarray(t)
    o = ref_order(s)
    if strategy == "overall":
        n_size = int(len(y) * k) if isinstance(k, float) else k
        top_y, top_t = y[o][:n_size], t[o][:n_size]
        return top_y[top_t == 1].mean() - top_y[top_t == 0].mean()
    n_ctrl = int((t == 0).sum() * k) if isinstance(k, float) else k
    n_trmnt = int((t == 1).sum() * k) if isinstance(k, float) else k
    return y[o][t[o] == 1][:n_trmnt].mean() - y[o][t[o] == 0][:n_ctrl].mean()


def ref_uplift_by_percentile(y, s, t, bins, strategy, binary):
    y, t = np.asarray(y, dtype=float), np.asarray(t)
    o = ref_order(s)
    if strategy == "overall":
        y_bins, t_bins = np.array_split(y[o], bins), np.array_split(t[o], bins)
        parts_t = [yb[tb == 1] for yb, tb in zip(y_bins, t_bins)]
        parts_c = [yb[tb == 0] for yb, tb in zip(y_bins, t_bins)]
    else:
        parts_t = np.array_split(y[o][t[o] == 1], bins)
        parts_c = np.array_split(y[o][t[o] == 0], bins)
    n_t = np.array([len(p) for p in parts_t])
    n_c = np.array([len(p) for p in parts_c])
    rate_t = np.array([p.mean() for p in parts_t])
    rate_c = np.array([p.mean() for p in parts_c])
    if binary:  # sklift's formula
        var_t, var_c = rate_t * (1 - rate_t), rate_c * (1 - rate_c)
    else:  # its continuous analogue, the population variance
        var_t, var_c = np.array([p.var() for p in parts_t]), np.array([p.var() for p in parts_c])
    std = np.sqrt(var_t / n_t + var_c / n_c)
    return n_t, n_c, rate_t, rate_c, rate_t - rate_c, std


# ----------------------------------------------------------------------------------------------
# Fixed data.

# 12 units, distinct scores, binary outcome.
Y_BIN = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1], dtype=float)
T_BIN = np.array([1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0], dtype=np.uint8)
S_DISTINCT = np.array([0.31, 0.9, -0.2, 0.55, 0.12, 0.74, 0.05, -0.6, 0.42, 0.6, 0.0, 0.33])
# The same units with tied scores (runs mixing treated and control, responders and not).
S_TIES = np.array([0.5, 0.9, 0.1, 0.5, 0.1, 0.9, 0.5, -0.3, 0.5, 0.9, 0.1, 0.5])
# A continuous outcome (revenue).
Y_CONT = np.array([12.5, 0.0, 3.25, 40.0, 0.0, 7.5, 18.0, 0.0, 22.75, 1.5, 0.0, 9.0])


def _random_case(seed, n=240, ties=False, continuous=False):
    rng = np.random.default_rng(seed)
    t = (rng.random(n) < 0.45).astype(np.uint8)
    s = rng.normal(size=n)
    if ties:
        s = np.round(s, 1)
    p = 0.2 + 0.15 * t * (s > 0)
    y = (rng.random(n) < p).astype(float)
    if continuous:
        y = y * rng.gamma(2.0, 10.0, size=n)
    return y, s, t


CASES = {
    "binary-distinct": (Y_BIN, S_DISTINCT, T_BIN),
    "binary-ties": (Y_BIN, S_TIES, T_BIN),
    "binary-random": _random_case(1),
    "binary-random-ties": _random_case(2, ties=True),
    "binary-all-tied": (Y_BIN, np.zeros(12), T_BIN),
}
CONT_CASES = {
    "continuous-distinct": (Y_CONT, S_DISTINCT, T_BIN),
    "continuous-ties": (Y_CONT, S_TIES, T_BIN),
    "continuous-random-ties": _random_case(3, ties=True, continuous=True),
}
ALL_CASES = {**CASES, **CONT_CASES}


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=TOL, atol=TOL)


# ----------------------------------------------------------------------------------------------
# Curves and scores against the reference.


@pytest.mark.parametrize("case", ALL_CASES)
@pytest.mark.parametrize("kind", ["uplift", "qini"])
def test_curves_match_sklift_definition(case, kind):
    y, s, t = ALL_CASES[case]
    fn = uplift.uplift_curve if kind == "uplift" else uplift.qini_curve
    got = fn(y, s, t)
    assert isinstance(got, pl.DataFrame) and got.columns == ["n_targeted", "value"]
    x_ref, v_ref = ref_curve(y, s, t, kind)
    assert got.height == len(x_ref)
    close(got["n_targeted"], x_ref)
    close(got["value"], v_ref)


def test_ties_enter_the_curve_at_once():
    curve = uplift.qini_curve(Y_BIN, S_TIES, T_BIN)
    assert curve["n_targeted"].to_list() == [0.0, 3.0, 8.0, 11.0, 12.0]
    # The order inside a tie group does not matter: permuting units keeps the curve.
    perm = np.random.default_rng(0).permutation(12)
    again = uplift.qini_curve(Y_BIN[perm], S_TIES[perm], T_BIN[perm])
    close(again["value"], curve["value"])


@pytest.mark.parametrize("case", CASES)
def test_perfect_curves_match_sklift_definition(case):
    y, _, t = CASES[case]
    got = uplift.perfect_uplift_curve(y, t)
    close(got["n_targeted"], ref_perfect_uplift(y, t)[0])
    close(got["value"], ref_perfect_uplift(y, t)[1])
    for neg in (True, False):
        got = uplift.perfect_qini_curve(y, t, negative_effect=neg)
        x_ref, v_ref = ref_perfect_qini(y, t, neg)
        close(got["n_targeted"], x_ref)
        close(got["value"], v_ref)


@pytest.mark.parametrize("case", CASES)
def test_normalized_scores_match_sklift_definition(case):
    y, s, t = CASES[case]
    assert abs(uplift.uplift_auc_score(y, s, t) - ref_uplift_auc_score(y, s, t)) <= TOL
    assert abs(uplift.qini_auc_score(y, s, t) - ref_qini_auc_score(y, s, t)) <= TOL
    if ref_perfect_qini(y, t, False)[1][-1] < 0:  # a negative overall effect: no perfect curve (issue 13, item 9)
        with pytest.raises(InvalidInputError, match=r"^negative_effect:"):
            uplift.qini_auc_score(y, s, t, negative_effect=False)
    else:
        assert abs(uplift.qini_auc_score(y, s, t, negative_effect=False) - ref_qini_auc_score(y, s, t, False)) <= TOL
    area = uplift.qini_auc(y, s, t)
    x, v = ref_curve(y, s, t, "qini")
    assert abs(area["area"] - ref_auc(x, v)) <= TOL
    assert abs(area["normalized"] - ref_qini_auc_score(y, s, t)) <= TOL


def test_perfect_ranking_scores_one():
    y, t = Y_BIN, T_BIN.astype(float)
    # Here control responders (3) outnumber treated non-responders (2): sklift ranks by 2*[y = t] + y.
    assert np.sum((y == 1) & (t == 0)) == 3 and np.sum((y == 0) & (t == 1)) == 2
    perfect = 2 * (y == t) + y
    assert abs(uplift.uplift_auc_score(y, perfect, t) - 1.0) <= TOL
    assert abs(uplift.qini_auc_score(y, y * t - y * (1 - t), t) - 1.0) <= TOL


@pytest.mark.parametrize("case", CONT_CASES)
def test_continuous_outcome_areas_and_refusals(case):
    y, s, t = CONT_CASES[case]
    for kind, fn in (("uplift", uplift.uplift_auc), ("qini", uplift.qini_auc)):
        a = fn(y, s, t)
        x, v = ref_curve(y, s, t, kind)
        assert abs(a["area"] - ref_auc(x, v)) <= TOL
        assert abs(a["random_area"] - x[-1] * v[-1] / 2) <= TOL
        assert a["perfect_area"] is None and a["normalized"] is None
    with pytest.raises(InvalidInputError, match=r"^y_true: the perfect curve needs a binary"):
        uplift.uplift_auc_score(y, s, t)
    with pytest.raises(InvalidInputError, match=r"^y_true: the perfect curve needs a binary"):
        uplift.qini_auc_score(y, s, t)
    with pytest.raises(InvalidInputError, match=r"^y_true:"):
        uplift.perfect_qini_curve(y, t)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("case", ALL_CASES)
@pytest.mark.parametrize("strategy", ["overall", "by_group"])
@pytest.mark.parametrize("k", [0.3, 0.5, 0.75, 5])
def test_uplift_at_k_matches_sklift_definition(case, strategy, k):
    y, s, t = ALL_CASES[case]
    expected = ref_uplift_at_k(y, s, t, k, strategy)
    if np.isnan(expected):  # sklift's mean of an empty group: nan, as liftlab's
        assert np.isnan(uplift.uplift_at_k(y, s, t, k=k, strategy=strategy))
    else:
        assert abs(uplift.uplift_at_k(y, s, t, k=k, strategy=strategy) - expected) <= TOL


def test_uplift_at_k_numpy_integer_is_a_count():
    y, s, t = CASES["binary-distinct"]
    assert uplift.uplift_at_k(y, s, t, k=np.int64(6)) == uplift.uplift_at_k(y, s, t, k=6)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("case", ALL_CASES)
@pytest.mark.parametrize("strategy", ["overall", "by_group"])
@pytest.mark.parametrize("bins", [2, 3, 4])
def test_uplift_by_percentile_matches_sklift_definition(case, strategy, bins):
    y, s, t = ALL_CASES[case]
    got = uplift.uplift_by_percentile(y, s, t, bins=bins, strategy=strategy)
    assert got.columns == [
        "percentile",
        "n_treatment",
        "n_control",
        "response_rate_treatment",
        "response_rate_control",
        "uplift",
        "std_uplift",
    ]
    n_t, n_c, rate_t, rate_c, up, std = ref_uplift_by_percentile(y, s, t, bins, strategy, case.startswith("binary"))
    assert got["n_treatment"].to_list() == n_t.tolist()
    assert got["n_control"].to_list() == n_c.tolist()
    # A bin without treated or control units: sklift's nan, liftlab's null.
    close(got["response_rate_treatment"], rate_t)
    close(got["response_rate_control"], rate_c)
    close(got["uplift"], up)
    close(got["std_uplift"], std)


def test_uplift_by_percentile_labels_and_deciles():
    y, s, t = CASES["binary-random"]
    got = uplift.uplift_by_percentile(y, s, t)
    assert got["percentile"].to_list() == ["0-10", "10-20", "20-30", "30-40", "40-50", "50-60", "60-70", "70-80", "80-90", "90-100"]
    assert got["n_treatment"].sum() + got["n_control"].sum() == len(y)


def test_uplift_by_percentile_empty_group_is_null():
    y = np.array([1, 0, 1, 0, 1, 0], dtype=float)
    t = np.array([1, 1, 1, 0, 0, 0])
    s = np.array([6, 5, 4, 3, 2, 1], dtype=float)  # the top half is all treated
    got = uplift.uplift_by_percentile(y, s, t, bins=2)
    assert got["response_rate_control"].to_list()[0] is None
    assert got["uplift"].to_list()[0] is None
    assert got["n_control"].to_list() == [0, 3]


# ----------------------------------------------------------------------------------------------
# Bootstrap.


def test_bootstrap_estimates_are_the_scores_and_reproducible():
    y, s, t = CASES["binary-random-ties"]
    b = uplift.bootstrap_scores(y, s, t, n_resamples=200, seed=7)
    assert b["metric"].to_list() == ["uplift_auc", "qini_auc"]
    assert b.columns == ["metric", "statistic", "estimate", "ci_low", "ci_high", "std_err", "n_valid"]
    est = dict(zip(b["metric"], b["estimate"]))
    assert abs(est["uplift_auc"] - ref_uplift_auc_score(y, s, t)) <= TOL
    assert abs(est["qini_auc"] - ref_qini_auc_score(y, s, t)) <= TOL
    assert (b["ci_low"] < b["ci_high"]).all() and (b["std_err"] > 0).all()
    assert (b["n_valid"] <= 200).all() and (b["n_valid"] > 150).all()
    assert b.equals(uplift.bootstrap_scores(y, s, t, n_resamples=200, seed=7))
    assert not b.equals(uplift.bootstrap_scores(y, s, t, n_resamples=200, seed=8))
    wider = uplift.bootstrap_scores(y, s, t, n_resamples=200, seed=7, confidence_level=0.99)
    assert (wider["ci_low"] <= b["ci_low"]).all() and (wider["ci_high"] >= b["ci_high"]).all()


def test_bootstrap_above_random_on_a_continuous_outcome():
    y, s, t = CONT_CASES["continuous-random-ties"]
    b = uplift.bootstrap_scores(y, s, t, n_resamples=100, statistic="above_random")
    assert b["statistic"].to_list() == ["above_random", "above_random"]
    for row, kind in zip(b.iter_rows(named=True), ("uplift", "qini")):
        x, v = ref_curve(y, s, t, kind)
        assert abs(row["estimate"] - (ref_auc(x, v) - x[-1] * v[-1] / 2)) <= 1e-9 * max(1.0, abs(row["estimate"]))
        assert row["n_valid"] == 100
    with pytest.raises(InvalidInputError, match=r"^y_true:"):
        uplift.bootstrap_scores(y, s, t, n_resamples=100)
    with pytest.raises(InvalidInputError, match=r"^n_resamples:"):
        uplift.bootstrap_scores(y, s, t, n_resamples=1, statistic="above_random")
    with pytest.raises(InvalidInputError, match=r"^statistic:"):
        uplift.bootstrap_scores(y, s, t, statistic="median")


# ----------------------------------------------------------------------------------------------
# Balance.


def ref_smd(x, t):
    x, t = np.asarray(x, dtype=float), np.asarray(t)
    a, b = x[(t == 1) & ~np.isnan(x)], x[(t == 0) & ~np.isnan(x)]
    return (a.mean() - b.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)


def test_balance_matches_austin_smd_with_missing_values():
    rng = np.random.default_rng(5)
    t = (rng.random(80) < 0.5).astype(np.uint8)
    age = rng.normal(40, 10, 80) + 3 * t
    spend = rng.gamma(2.0, 50.0, 80)
    spend[[3, 17, 40]] = np.nan
    frame = pl.DataFrame({"age": age, "spend": spend, "member": rng.random(80) < 0.3})
    got = uplift.balance(frame, t)
    assert got.columns == ["feature", "n_treatment", "n_control", "mean_treatment", "mean_control", "smd"]
    assert got["feature"].to_list() == ["age", "spend", "member"]
    close(got["smd"], [ref_smd(age, t), ref_smd(spend, t), ref_smd(frame["member"].to_numpy(), t)])
    assert got["n_treatment"][1] + got["n_control"][1] == 77
    # pandas, a 2-D array and polars with nulls instead of NaN give the same numbers.
    pd_frame = pd.DataFrame({c: frame[c].to_numpy() for c in frame.columns})
    assert uplift.balance(pd_frame, pd.Series(t)).equals(got)
    arr = uplift.balance(np.column_stack([age, spend, frame["member"].to_numpy()]), t.tolist())
    assert arr["feature"].to_list() == [0, 1, 2]
    assert arr.drop("feature").equals(got.drop("feature"))
    as_dict = uplift.balance({c: frame[c].to_list() for c in frame.columns}, t)
    assert as_dict.equals(got)
    with_nulls = frame.with_columns(pl.col("spend").fill_nan(None))
    assert uplift.balance(with_nulls, pl.Series(t)).equals(got)


def test_balance_names_the_bad_column():
    frame = pl.DataFrame({"age": [30.0, 40.0, 50.0, 60.0], "city": ["a", "b", "c", "d"]})
    with pytest.raises(InvalidInputError, match=r'^X\["city"\]: must be numbers'):
        uplift.balance(frame, [1, 0, 1, 0])
    with pytest.raises(InvalidInputError, match=r'^X\["age"\]\[2\]: must be finite or NaN'):
        uplift.balance(pl.DataFrame({"age": [1.0, 2.0, np.inf, 3.0]}), [1, 0, 1, 0])
    with pytest.raises(InvalidInputError, match=r"^treatment\[1\]:"):
        uplift.balance(frame.select("age"), [1, 2, 1, 0])
    with pytest.raises(InsufficientDataError, match=r"^treatment: is empty"):
        uplift.balance(np.empty((0, 2)), [])


# ----------------------------------------------------------------------------------------------
# Input kinds: numpy, lists, polars and pandas give the same answer.


def _kinds(y, s, t):
    yield "numpy", (y, s, t)
    yield "list", (y.tolist(), s.tolist(), t.tolist())
    yield "polars", (pl.Series("y", y), pl.Series("s", s), pl.Series("t", t))
    yield "pandas", (pd.Series(y), pd.Series(s), pd.Series(t))
    yield "int-and-bool", (y.astype(np.int64), s, t.astype(bool))
    yield "strided", (np.repeat(y, 2)[::2], np.repeat(s, 2)[::2], np.repeat(t, 2)[::2])
    yield "pandas-nullable", (pd.Series(y).astype("Int64"), pd.Series(s), pd.Series(t).astype("Int8"))
    yield "polars-int", (pl.Series(y.astype(np.int64)), pl.Series(s), pl.Series(t.astype(np.int32)))


@pytest.mark.parametrize("kind", [k for k, _ in _kinds(Y_BIN, S_TIES, T_BIN)])
def test_input_kinds_agree(kind):
    y, s, t = CASES["binary-ties"]
    args = dict(_kinds(y, s, t))[kind]
    assert uplift.qini_curve(*args).equals(uplift.qini_curve(y, s, t))
    assert uplift.uplift_curve(*args).equals(uplift.uplift_curve(y, s, t))
    assert uplift.qini_auc_score(*args) == uplift.qini_auc_score(y, s, t)
    assert uplift.uplift_auc_score(*args) == uplift.uplift_auc_score(y, s, t)
    assert uplift.uplift_at_k(*args, k=0.5, strategy="by_group") == uplift.uplift_at_k(y, s, t, k=0.5, strategy="by_group")
    assert uplift.uplift_by_percentile(*args, bins=3).equals(uplift.uplift_by_percentile(y, s, t, bins=3))
    assert uplift.bootstrap_scores(*args, n_resamples=50).equals(uplift.bootstrap_scores(y, s, t, n_resamples=50))
    assert uplift.perfect_uplift_curve(args[0], args[2]).equals(uplift.perfect_uplift_curve(y, t))


# ----------------------------------------------------------------------------------------------
# Bad input: the exception names the field.

FUNCS = {
    "uplift_curve": uplift.uplift_curve,
    "qini_curve": uplift.qini_curve,
    "uplift_auc_score": uplift.uplift_auc_score,
    "qini_auc_score": uplift.qini_auc_score,
    "uplift_at_k": uplift.uplift_at_k,
    "uplift_by_percentile": lambda y, s, t: uplift.uplift_by_percentile(y, s, t, bins=2),
    "bootstrap_scores": lambda y, s, t: uplift.bootstrap_scores(y, s, t, n_resamples=10),
}
Y6 = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
S6 = [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]
T6 = [1, 1, 1, 0, 0, 0]


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize(
    ("y", "s", "t", "error", "pattern"),
    [
        (Y6, S6[:5], T6, InvalidInputError, r"^uplift: has 5 values but y_true has 6"),
        (Y6, S6, T6[:4], InvalidInputError, r"^treatment: has 4 values but y_true has 6"),
        (Y6, S6, [1] * 6, InvalidInputError, r"^treatment: all units are treated; both groups are needed"),
        (Y6, S6, [0] * 6, InvalidInputError, r"^treatment: all units are control"),
        ([1.0, 0.0, np.nan, 0.0, 1.0, 0.0], S6, T6, InvalidInputError, r"^y_true\[2\]: must be finite, got NaN"),
        ([1.0, 0.0, None, 0.0, 1.0, 0.0], S6, T6, InvalidInputError, r"^y_true\[2\]: must be finite"),
        (Y6, [0.6, 0.5, 0.4, np.inf, 0.2, 0.1], T6, InvalidInputError, r"^uplift\[3\]: must be finite"),
        (Y6, S6, [1, 2, 1, 0, 0, 0], InvalidInputError, r"^treatment\[1\]: must be 0 \(control\) or 1, got 2"),
        (Y6, S6, np.array([1, 2, 1, 0, 0, 0], dtype=np.uint8), InvalidInputError, r"^treatment\[1\]: must be 0 \(control\) or 1, got 2"),
        (Y6, S6, [1, 0.5, 1, 0, 0, 0], InvalidInputError, r"^treatment\[1\]: must be 0 \(control\) or 1, got 0.5"),
        ([], [], [], InsufficientDataError, r"^y_true: is empty"),
        (["a", "b", "c", "d", "e", "f"], S6, T6, InvalidInputError, r"^y_true: must be numbers"),
        (Y6, [S6, S6], T6, InvalidInputError, r"^uplift: must be one-dimensional"),
    ],
)
def test_bad_input_names_the_field(name, y, s, t, error, pattern):
    with pytest.raises(error, match=pattern):
        FUNCS[name](y, s, t)


def test_bad_input_from_polars_and_pandas_names_the_field():
    with pytest.raises(InvalidInputError, match=r"^y_true\[1\]: must be finite"):
        uplift.qini_curve(pl.Series([1.0, None, 0.0, 1.0]), [4, 3, 2, 1], [1, 0, 1, 0])
    with pytest.raises(InvalidInputError, match=r"^y_true\[1\]: must be finite"):
        uplift.qini_curve(pd.Series([1, None, 0, 1], dtype="Int64"), [4, 3, 2, 1], [1, 0, 1, 0])
    with pytest.raises(InvalidInputError, match=r"^treatment\[2\]:"):
        uplift.qini_curve([1, 0, 0, 1], [4, 3, 2, 1], pl.Series([1, 0, None, 0]))


def test_bad_parameters_name_the_field():
    y, s, t = Y6, S6, T6
    for k in (0.0, 1.0, 1.5, 0, 6, -1, True, "top"):
        with pytest.raises(InvalidInputError, match=r"^k:"):
            uplift.uplift_at_k(y, s, t, k=k)
    with pytest.raises(InvalidInputError, match=r"^k: 4 is more than the 3 units of the"):
        uplift.uplift_at_k(y, s, t, k=4, strategy="by_group")
    assert np.isnan(uplift.uplift_at_k(y, s, t, k=0.5))  # no control unit in the top half: nan, as sklift
    with pytest.raises(InvalidInputError, match=r"^strategy: must be 'overall' or 'by_group'"):
        uplift.uplift_at_k(y, s, t, strategy="top")
    for bins in (0, 6, -2):
        with pytest.raises(InvalidInputError, match=r"^bins:"):
            uplift.uplift_by_percentile(y, s, t, bins=bins)
    with pytest.raises(InvalidInputError, match=r"^bins: must be a whole number"):
        uplift.uplift_by_percentile(y, s, t, bins=2.5)
    with pytest.raises(InvalidInputError, match=r"^confidence_level:"):
        uplift.bootstrap_scores(y, s, t, confidence_level=1.0)


def test_no_room_above_random_is_refused():
    # No unit responds: the perfect and the random curves coincide, so no normalised score
    # (sklift's check_is_binary refuses a constant outcome too).
    for fn in (uplift.qini_auc_score, uplift.uplift_auc_score):
        with pytest.raises(InvalidInputError, match=r"^y_true: every outcome is 0"):
            fn([0.0] * 4, [4, 3, 2, 1], [1, 0, 1, 0])
    assert issubclass(InsufficientDataError, LiftlabError)


def test_concurrent_calls_agree():
    # The extension releases the GIL while computing; calls from several threads give the same answer.
    from concurrent.futures import ThreadPoolExecutor

    y, s, t = CASES["binary-random-ties"]
    expected = uplift.bootstrap_scores(y, s, t, n_resamples=300, seed=3)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: uplift.bootstrap_scores(y, s, t, n_resamples=300, seed=3), range(8)))
    assert all(r.equals(expected) for r in results)


def test_exported_from_the_package():
    import liftlab

    assert liftlab.uplift is uplift
    assert "uplift" in liftlab.__all__


# ----------------------------------------------------------------------------------------------
# Issue 13 against scikit-uplift itself (sklift 0.5.1, installed by the Makefile).


def _sklift_or_error(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (ValueError, ZeroDivisionError) as e:
        return e


def _random_binary(rng, n):
    t = rng.integers(0, 2, n)
    t[:2] = [0, 1]
    y = (rng.random(n) < rng.uniform(0.1, 0.6) + rng.uniform(-0.3, 0.3) * t).astype(float)
    y[:4] = [0, 1, 0, 1]
    return y, rng.normal(size=n), t


def test_item9_qini_without_negative_effect_raises_as_sklift():
    """Issue 13, item 9: on 211 random binary cases, ``qini_auc_score(..., negative_effect=False)``
    equals sklift's score (1e-9) where sklift gives one and raises (InvalidInputError naming
    ``negative_effect``) where sklift raises, i.e. when the overall effect is negative. Before the
    fix liftlab returned a score of the wrong sign in those cases."""
    from sklift.metrics import qini_auc_score

    rng = np.random.default_rng(13)
    raised = 0
    for _ in range(211):
        y, s, t = _random_binary(rng, int(rng.integers(20, 200)))
        want = _sklift_or_error(qini_auc_score, y, s, t, negative_effect=False)
        if isinstance(want, ZeroDivisionError):  # no room above random (Q_N = 0): no score
            with pytest.raises(InsufficientDataError, match=r"^y_true: the perfect and random curves"):
                uplift.qini_auc_score(y, s, t, negative_effect=False)
        elif isinstance(want, Exception):
            raised += 1
            with pytest.raises(InvalidInputError, match=r"^negative_effect: is false but the overall effect is negative"):
                uplift.qini_auc_score(y, s, t, negative_effect=False)
            assert uplift.qini_auc(y, s, t, negative_effect=False)["normalized"] is None
        else:
            assert uplift.qini_auc_score(y, s, t, negative_effect=False) == pytest.approx(want, rel=1e-9, abs=1e-12)
        assert uplift.qini_auc_score(y, s, t) == pytest.approx(qini_auc_score(y, s, t), rel=1e-9, abs=1e-12)
    assert 50 < raised < 161, raised  # both branches are exercised


def test_item9_constant_outcomes_raise_as_sklift():
    """Issue 13, item 9: every outcome 1 (the scores came out as ~4e-6) or every outcome 0: sklift's
    check_is_binary raises ValueError for both; liftlab raises InvalidInputError naming y_true."""
    from sklift.metrics import qini_auc_score, uplift_auc_score

    s, t = np.arange(10.0), np.array([0, 1] * 5)
    for v in (0.0, 1.0):
        y = np.full(10, v)
        for sk, ours in ((qini_auc_score, uplift.qini_auc_score), (uplift_auc_score, uplift.uplift_auc_score)):
            assert isinstance(_sklift_or_error(sk, y, s, t), ValueError)
            with pytest.raises(InvalidInputError, match=rf"^y_true: every outcome is {v:g}"):
                ours(y, s, t)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_item11_uplift_at_k_without_a_group_is_nan_as_sklift():
    """Issue 13, item 11: no control (or no treated) unit in the top k gives NaN in sklift (the
    mean of an empty slice); so does liftlab. Elsewhere the two agree to 1e-12."""
    from sklift.metrics import uplift_at_k

    rng = np.random.default_rng(11)
    nan = 0
    for _ in range(100):
        y, s, t = _random_binary(rng, int(rng.integers(10, 60)))
        for strategy in ("overall", "by_group"):
            for k in (1, 2, 0.05, 0.3):
                want = _sklift_or_error(uplift_at_k, y, s, t, strategy=strategy, k=k)
                if isinstance(want, Exception):
                    with pytest.raises(InvalidInputError, match=r"^k:"):
                        uplift.uplift_at_k(y, s, t, k=k, strategy=strategy)
                    continue
                got = uplift.uplift_at_k(y, s, t, k=k, strategy=strategy)
                if np.isnan(want):
                    nan += 1
                    assert np.isnan(got)
                else:
                    assert got == pytest.approx(want, abs=1e-12)
    assert nan > 0


def test_item11_percentile_labels_match_sklift_at_every_bin_count():
    """Issue 13, item 11: sklift labels bins ``round(100 b / bins)`` (Python's round, half to even);
    liftlab computed ``round(b / bins * 100)`` in floats, off by one at some bin counts (40 bins:
    "0-3" for sklift's "0-2"). Every bin count from 1 to 299 on 300 units, with the counts, rates
    and uplift of each bin (1e-12)."""
    from sklift.metrics import uplift_by_percentile

    rng = np.random.default_rng(5)
    y, s, t = _random_binary(rng, 300)
    for bins in range(1, 300):
        want = uplift_by_percentile(y, s, t, bins=bins, std=True)
        got = uplift.uplift_by_percentile(y, s, t, bins=bins)
        assert got["percentile"].to_list() == list(want.index), bins
        assert got["n_treatment"].to_list() == want["n_treatment"].tolist(), bins
        assert got["n_control"].to_list() == want["n_control"].tolist(), bins
        for ours, theirs in (("uplift", "uplift"), ("response_rate_treatment", "response_rate_treatment"),
                             ("response_rate_control", "response_rate_control"), ("std_uplift", "std_uplift")):
            assert np.allclose(got[ours].to_numpy().astype(float), want[theirs].to_numpy(dtype=float),
                               atol=1e-12, equal_nan=True), (bins, ours)


def test_zero_rows_and_text_columns_in_the_metrics_name_the_argument():
    """A guard beside issue 13, item 11 (whose regression tests are the forest's and the
    meta-learners', in test_uplift_forest.py): the metrics already named the argument for empty
    and text inputs (polars and pandas), and must go on doing so."""
    empty = (pl.Series([], dtype=pl.Float64), pl.Series([], dtype=pl.Float64), pl.Series([], dtype=pl.Int64))
    with pytest.raises(InsufficientDataError, match=r"^y_true: is empty"):
        uplift.qini_auc_score(*empty)
    with pytest.raises(InsufficientDataError, match=r"^y_true: is empty"):
        uplift.uplift_curve(*(pd.Series(c.to_list(), dtype=float) for c in empty))
    text = pl.Series(["a", "b", "a", "b"])
    with pytest.raises(InvalidInputError, match=r"^y_true:"):
        uplift.qini_curve(text, [4, 3, 2, 1], [1, 0, 1, 0])
    with pytest.raises(InvalidInputError, match=r"^treatment:"):
        uplift.qini_curve([1, 0, 1, 0], [4, 3, 2, 1], text)


def test_issue12_counts_are_invalid_input_not_overflow():
    """Issue 12, item 5: negative or huge counts raise InvalidInputError naming the argument."""
    y, s, t = Y6, S6, T6
    for n in (-1, 10**30, 1_000_001):
        with pytest.raises(InvalidInputError, match=r"^n_resamples:"):
            uplift.bootstrap_scores(y, s, t, n_resamples=n)
    for seed in (-1, 2**64):
        with pytest.raises(InvalidInputError, match=r"^seed:"):
            uplift.bootstrap_scores(y, s, t, seed=seed)
    with pytest.raises(InvalidInputError, match=r"^bins:"):
        uplift.uplift_by_percentile(y, s, t, bins=10**30)
