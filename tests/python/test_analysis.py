"""Experiment analysis through the Python door.

The Hillstrom campaign analysed with ``liftlab.analyze`` from polars and from pandas, against
the references of ``tests/fixtures/hillstrom_reference.json`` (scipy / statsmodels, produced by
``make_hillstrom_reference.py``), and against scipy computed here where scipy has the method.
"""

from __future__ import annotations

import datetime
import json

import liftlab
import numpy as np
import pandas as pd
import polars as pl
import pytest
from conftest import ROOT
from liftlab.exceptions import InsufficientDataError, InvalidInputError, LiftlabError, SchemaError
from scipy import stats

SPEC = ROOT / "examples" / "hillstrom.toml"


@pytest.fixture(scope="module")
def hillstrom(shared) -> pl.DataFrame:
    return pl.read_csv(shared / "data" / "hillstrom.csv", infer_schema_length=None).with_row_index("unit_id")


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((ROOT / "tests" / "fixtures" / "hillstrom_reference.json").read_text())


def split(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    exposures = df.select("unit_id", pl.col("segment").alias("variant"), "zip_code", "channel")
    outcomes = df.select("unit_id", "visit", "conversion", "spend", "history")
    return exposures, outcomes


def test_hillstrom_matches_references(hillstrom, reference):
    report = liftlab.analyze(str(SPEC), *split(hillstrom))
    t = report.to_polars()
    assert report.srm["p_value"] == pytest.approx(reference["srm"]["p_value"], rel=1e-9)
    for variant in ["Mens E-Mail", "Womens E-Mail"]:
        ref = reference[variant]

        def row(metric, variant=variant):
            return t.filter((pl.col("metric") == metric) & (pl.col("variant") == variant)).row(0, named=True)

        for m in ["visit", "conversion"]:  # statsmodels Wald, 1e-9 / p 1e-6
            r = row(m)
            assert r["abs_effect"] == pytest.approx(ref[m]["abs_effect"], rel=1e-9)
            assert r["ci_low"] == pytest.approx(ref[m]["ci_low"], rel=1e-9)
            assert r["p_value"] == pytest.approx(ref[m]["p_value"], rel=1e-6)
        r = row("spend")  # scipy Welch
        assert r["ci_high"] == pytest.approx(ref["spend"]["ci_high"], rel=1e-9)
        assert r["p_value"] == pytest.approx(ref["spend"]["p_value"], rel=1e-6)
        r = row("spend_cuped")  # statsmodels OLS coefficient, HC2 standard error within 1%
        assert r["abs_effect"] == pytest.approx(ref["spend_cuped"]["abs_effect"], rel=1e-9)
        assert r["std_err"] == pytest.approx(ref["spend_cuped"]["hc2_std_err"], rel=0.01)
        assert r["variance_reduction"] > 0
        r = row("spend_per_visit")  # linearised delta method
        assert r["std_err"] == pytest.approx(ref["spend_per_visit"]["std_err"], rel=1e-9)
    seg = report.segments_to_polars()
    assert set(seg["segment"].unique()) == {"zip_code", "channel"}
    assert report.decision["verdict"] == "ship"


def test_pandas_and_polars_agree(hillstrom):
    e, o = split(hillstrom)
    a = liftlab.analyze(str(SPEC), e, o)
    e_pd = pd.DataFrame({c: e[c].to_list() for c in e.columns})
    o_pd = pd.DataFrame({c: o[c].to_numpy() for c in o.columns})
    b = liftlab.analyze(str(SPEC), e_pd, o_pd)
    assert a.to_dict()["metrics"] == b.to_dict()["metrics"]


def test_report_renders(hillstrom):
    r = liftlab.analyze(str(SPEC), *split(hillstrom))
    html = r._repr_html_()
    assert "<svg" in html and "spend_per_visit" in html
    assert r.forest_plot()._repr_svg_().startswith("<svg")
    assert "| visit | Mens E-Mail |" in r.to_markdown()
    assert "ship" in repr(r)
    assert json.loads(r.to_json())["schema_version"] == 1


def test_welch_against_scipy_on_random_data():
    # scipy.stats.ttest_ind(equal_var=False): statistic, p-value and confidence interval; 1e-9.
    rng = np.random.default_rng(7)
    for alt in ["two-sided", "greater", "less"]:
        a = rng.lognormal(1, 1, 300)
        b = rng.lognormal(1.1, 1, 200)
        arms = [
            {"n": len(x), "sum_x": float(x.sum()), "sum_x2": float((x * x).sum())} for x in (a, b)
        ]
        got = liftlab.compare_arms(arms, "mean", alternative=alt)["effects"][0]
        ref = stats.ttest_ind(b, a, equal_var=False, alternative=alt)
        ci = ref.confidence_interval(0.95)
        assert got["statistic"] == pytest.approx(ref.statistic, rel=1e-9)
        assert got["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
        assert got["df"] == pytest.approx(ref.df, rel=1e-9)
        lo = got["ci_low"] if got["ci_low"] is not None else -np.inf
        hi = got["ci_high"] if got["ci_high"] is not None else np.inf
        assert lo == pytest.approx(ci.low, rel=1e-9)
        assert hi == pytest.approx(ci.high, rel=1e-9)


def test_sample_size_reproduces_r_power_prop_test():
    # R documentation example: power.prop.test(p1 = .50, p2 = .75, power = .90) => n = 76.7 (R plans a
    # pooled test; the default plans the analysis' Wald test)
    s = liftlab.sample_size(rate=0.5, abs_effect=0.25, power=0.9, proportion_test="pooled")
    assert s["n_control_exact"] == pytest.approx(76.7, abs=0.05)
    assert s["n_control"] == 77


def test_bad_input_raises_liftlab_exceptions(hillstrom):
    e, o = split(hillstrom)
    with pytest.raises(SchemaError, match="zip_code"):
        liftlab.analyze(str(SPEC), e.drop("zip_code"), o)
    with pytest.raises(SchemaError, match="history"):
        liftlab.analyze(str(SPEC), e, o.drop("history"))
    with pytest.raises(InvalidInputError, match="unknown variant 'Typo'"):
        liftlab.analyze(str(SPEC), e.with_columns(pl.lit("Typo").alias("variant")), o)
    with pytest.raises(InvalidInputError, match=r"outcomes\.spend\[3\]"):
        liftlab.analyze(str(SPEC), e, o.with_columns(pl.when(pl.col("unit_id") == 3).then(None).otherwise(pl.col("spend")).alias("spend")))
    with pytest.raises(InvalidInputError, match=r"outcomes\.spend\[5\]"):
        liftlab.analyze(str(SPEC), e, o.with_columns(pl.when(pl.col("unit_id") == 5).then(float("inf")).otherwise(pl.col("spend")).alias("spend")))
    with pytest.raises(InvalidInputError, match="null unit id"):
        liftlab.analyze(str(SPEC), e.with_columns(pl.lit(None, dtype=pl.Int64).alias("unit_id")), o)
    with pytest.raises(InsufficientDataError, match=r"arms\[1\]\.n"):
        liftlab.compare_arms([{"n": 10, "sum_x": 3, "sum_x2": 3}, {"n": 0}], "binary")
    with pytest.raises(InsufficientDataError, match="zero variance"):
        liftlab.compare_arms([{"n": 10, "sum_x": 0, "sum_x2": 0}, {"n": 10, "sum_x": 0, "sum_x2": 0}], "binary")
    with pytest.raises(InvalidInputError, match=r"arms\[1\]\.sum_y"):
        liftlab.compare_arms([{"n": 5, "sum_x": 3, "sum_x2": 3, "sum_y": 1, "sum_y2": 1}, {"n": 5, "sum_x": 1, "sum_x2": 1}], "ratio")
    with pytest.raises(InvalidInputError, match="sum_x"):
        liftlab.compare_arms([{"n": 5, "sum_x": -1, "sum_x2": 1}, {"n": 5, "sum_x": 1, "sum_x2": 1}], "binary")
    with pytest.raises(InvalidInputError):
        liftlab.compare_arms([{"n": -5, "sum_x": 1, "sum_x2": 1}, {"n": 5, "sum_x": 1, "sum_x2": 1}], "binary")
    with pytest.raises(InvalidInputError, match="experiment"):
        liftlab.analyze("[[experiments]]\nkey='a'\nvariants=['x','y']\n[[experiments]]\nkey='b'\nvariants=['x','y']", e, o)
    with pytest.raises(InvalidInputError, match="DataFrame"):
        liftlab.analyze(str(SPEC), [1, 2], o)
    assert issubclass(SchemaError, LiftlabError)


SMALL = """
[[experiments]]
key = "sms"
variants = ["control", "sms"]
[[metrics]]
name = "converted"
kind = "binary"
"""


def test_cells_follow_the_core_rules_whatever_the_dtype() -> None:
    """The cell rules are the core's (``report::input``), the same as a CSV file's and a JSON
    array's: a float NaN and the text 'NaN' give one error; numbers as text are numbers; a
    column of another type names its type; dates may be text or dates."""
    exp = pl.DataFrame({"unit_id": list(range(8)), "variant": ["control", "sms"] * 4})
    conv = [0, 1, 0, 1, 1, 1, 0, 0]
    want = liftlab.analyze(SMALL, exp, pl.DataFrame({"unit_id": list(range(8)), "converted": conv})).to_dict()
    as_text = pl.DataFrame({"unit_id": list(range(8)), "converted": [str(v) for v in conv]})
    assert liftlab.analyze(SMALL, exp, as_text).to_dict()["metrics"] == want["metrics"]
    for bad in ([0.0, 1.0, float("nan")] + [0.0] * 5, ["0", "1", "NaN"] + ["0"] * 5):
        with pytest.raises(InvalidInputError) as info:
            liftlab.analyze(SMALL, exp, pl.DataFrame({"unit_id": list(range(8)), "converted": bad}))
        assert (info.value.detail, info.value.path) == ("not_finite", ("outcomes", "converted", 2))
        assert "is not a finite number (use null or an empty cell for a missing value)" in str(info.value)
    dates = pl.DataFrame({"unit_id": list(range(8)), "converted": [datetime.date(2026, 1, 1)] * 8})
    with pytest.raises(SchemaError, match=r"^outcomes\.converted: is not a number column \(date\)") as info:
        liftlab.analyze(SMALL, exp, dates)
    assert info.value.detail == "not_a_number"
    with pytest.raises(InvalidInputError, match=r"^exposures\.unit_id\[3\]: empty unit id"):
        liftlab.analyze(SMALL, exp.with_columns(pl.Series("unit_id", ["a", "b", "c", "", "e", "f", "g", "h"])), dates)
    with pytest.raises(InvalidInputError, match=r"^exposures\.variant\[1\]: null variant"):
        liftlab.analyze(SMALL, exp.with_columns(pl.Series("variant", ["control", "", "sms"] * 2 + ["sms"] * 2)), dates)
    out = pl.DataFrame({"unit_id": list(range(8)), "converted": conv})
    text_days = exp.with_columns(pl.Series("t", ["2026-03-01", "2026-03-02T08:00:00", None] * 2 + ["2026-03-01"] * 2))
    true_days = text_days.with_columns(pl.col("t").str.slice(0, 10).str.to_date())
    a = liftlab.analyze(SMALL, text_days, out, time_col="t").to_dict()
    assert a["timeline"] and a["timeline"] == liftlab.analyze(SMALL, true_days, out, time_col="t").to_dict()["timeline"]
    with pytest.raises(SchemaError, match=r"^exposures\.t: is not a date or time column \(float\)"):
        liftlab.analyze(SMALL, exp.with_columns(pl.lit(1.5).alias("t")), out, time_col="t")


def test_power_arguments_are_checked_by_the_core_and_named() -> None:
    cases = [
        ({"abs_effect": 0.1}, "rate", "give either rate= (a proportion) or mean= and std_dev="),
        ({"mean": 3.0, "abs_effect": 0.1}, "std_dev", "give either rate="),
        ({"rate": 0.1}, "abs_effect", "give exactly one of abs_effect= or rel_effect="),
        ({"rate": 0.1, "abs_effect": 0.1, "rel_effect": 0.1}, "rel_effect", "give exactly one of"),
        ({"rate": 1.5, "abs_effect": 0.1}, "rate", "is not a rate in (0, 1)"),
        ({"rate": 0.1, "abs_effect": 0.1, "sequential": "bayes"}, "sequential", "'bayes' is not fixed"),
        ({"rate": 0.1, "abs_effect": 0.1, "sequential": "group_sequential", "looks": 99}, "looks", "99 is not in"),
        ({"rate": 0.1, "abs_effect": 0.1, "alternative": "both"}, "alternative", "unknown variant"),
    ]
    for kw, field, text in cases:
        with pytest.raises(InvalidInputError) as info:
            liftlab.sample_size(**kw)
        assert info.value.field == field and text in str(info.value), (kw, str(info.value))
    # numpy numbers pass as the numbers they are
    assert liftlab.power(n_control=np.int64(50), rate=np.float64(0.5), abs_effect=0.25, variants=np.int64(1)) == pytest.approx(
        liftlab.power(n_control=50, rate=0.5, abs_effect=0.25)
    )
