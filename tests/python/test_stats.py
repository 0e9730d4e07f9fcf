"""Statistics through the Python door, against scipy (an independent implementation)."""

from __future__ import annotations

import liftlab
import numpy as np
import polars as pl
import pytest
from liftlab.exceptions import InsufficientDataError, InvalidInputError
from scipy import stats


def test_check_srm_matches_scipy_chisquare():
    # Reference: scipy.stats.chisquare (cephes igamc); tolerance 1e-9 relative on p.
    rng = np.random.default_rng(20261122)
    for _ in range(200):
        k = int(rng.integers(2, 6))
        w = rng.dirichlet(np.ones(k))
        n = int(rng.integers(100, 100_000))
        obs = rng.multinomial(n, w)
        if (obs == 0).any():
            continue
        ref = stats.chisquare(obs, n * w)
        got = liftlab.check_srm(obs.tolist(), w.tolist())
        assert got.statistic == pytest.approx(ref.statistic, rel=1e-10)
        assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
        assert got.df == k - 1
        assert got.mismatch == (ref.pvalue < 0.001)


def test_check_srm_bad_input():
    with pytest.raises(InvalidInputError, match="weights"):
        liftlab.check_srm([1, 2], [0.5])
    with pytest.raises(InsufficientDataError):
        liftlab.check_srm([0, 0], [0.5, 0.5])
    with pytest.raises(InvalidInputError, match="alpha"):
        liftlab.check_srm([10, 10], [0.5, 0.5], alpha=1.5)
    r = liftlab.check_srm([5300, 4700], [0.5, 0.5])
    assert r.mismatch and "mismatch" in r._repr_html_().lower() and r.to_dict()["df"] == 1


def test_shifted_sums_at_large_offsets_match_scipy():
    # Issue 13, item 5 at the Python door: sums shifted by a per-metric constant (as a warehouse
    # query sends them) give Welch's test of the raw values. References: the exact means and
    # variances of the float values (fractions.Fraction; scipy's ttest_ind subtracts two rounded
    # means, keeping ~7 digits of the difference at 1e9, and numpy's two-pass variance is 6e-9 off
    # at 1e12), then scipy's t distribution with Welch's df; tolerance 1e-9 relative.
    from fractions import Fraction

    def exact(v):
        xs = [Fraction(x) for x in v]
        m = sum(xs) / len(xs)
        return m, sum((x - m) ** 2 for x in xs) / (len(xs) - 1)

    rng = np.random.default_rng(13)
    for mean, sd in [(1e6, 1.0), (1e9, 10.0), (1e12, 1.0)]:
        c = mean + sd * rng.standard_normal(3000)
        t = mean + 0.1 * sd + sd * rng.standard_normal(2000)
        k = float(np.round(mean))
        arms = [
            {"n": len(v), "sum_x": float((v - k).sum()), "sum_x2": float(((v - k) ** 2).sum()), "shift_x": k}
            for v in (c, t)
        ]
        got = liftlab.compare_arms(arms, "mean")["effects"][0]
        (mc, vc), (mt, vt) = exact(c), exact(t)
        a, b = float(vt / len(t)), float(vc / len(c))
        diff, se = float(mt - mc), np.sqrt(a + b)
        df = (a + b) ** 2 / (a * a / (len(t) - 1) + b * b / (len(c) - 1))
        assert got["std_err"] == pytest.approx(se, rel=1e-9)
        assert got["abs_effect"] == pytest.approx(diff, rel=1e-9)
        assert got["statistic"] == pytest.approx(diff / se, rel=1e-9)
        assert got["df"] == pytest.approx(df, rel=1e-9)
        assert got["p_value"] == pytest.approx(2 * stats.t.sf(abs(diff / se), df), rel=1e-9)


def test_skewed_metric_is_flagged_and_the_log_scale_matches_scipy():
    # Issue 13, item 8 at the Python door: lognormal(sigma = 2) spend, 600 units per arm. The report
    # flags the skewness (n > 355 skewness^2, Kohavi et al. 2014) with the remedy; with
    # relative_interval = "log" the relative interval is exp of scipy's Welch interval on ln x
    # (stats.ttest_ind(equal_var=False).confidence_interval(0.95)); tolerance 1e-9 relative.
    spec = """
[[experiments]]
key = "e"
variants = ["control", "treatment"]

[[metrics]]
name = "spend"
kind = "mean"
relative_interval = "log"
"""
    rng = np.random.default_rng(8)
    n = 1200
    arm = np.arange(n) % 2
    spend = (1.0 + 0.1 * arm) * np.exp(2.0 * rng.standard_normal(n))
    exposures = pl.DataFrame({"unit_id": np.arange(n), "variant": np.where(arm == 1, "treatment", "control")})
    outcomes = pl.DataFrame({"unit_id": np.arange(n), "spend": spend})
    report = liftlab.analyze(spec, exposures, outcomes).to_dict()
    e = report["metrics"][0]["effects"][0]
    assert any(note.startswith("heavily skewed metric") and "cap" in note for note in e["notes"]), e["notes"]
    assert report["metrics"][0]["arms"][0]["skewness"] == pytest.approx(stats.skew(spend[arm == 0], bias=True), rel=1e-9)
    ref = stats.ttest_ind(np.log(spend[arm == 1]), np.log(spend[arm == 0]), equal_var=False)
    lo, hi = ref.confidence_interval(0.95)
    assert e["rel_ci_low"] == pytest.approx(np.expm1(lo), rel=1e-9)
    assert e["rel_ci_high"] == pytest.approx(np.expm1(hi), rel=1e-9)
    log_diff = np.log(spend[arm == 1]).mean() - np.log(spend[arm == 0]).mean()
    assert e["rel_effect"] == pytest.approx(np.expm1(log_diff), rel=1e-9)
    with pytest.raises(InvalidInputError, match="relative_interval"):
        liftlab.compare_arms([{"n": 3, "sum_x": 6.0, "sum_x2": 14.0}] * 2, "binary", relative_interval="log")
