"""The Python door of forecasting: the same numbers as the CLI, checked against independent references.

References (computed in the test, so they replay on every run):
- a single changed node with a symmetric range is a normal change (the core's split normal with
  equal halves), so the relative lift ``coverage · δ`` is normal: its quantiles are
  ``scipy.stats.norm.ppf``; an asymmetric range is a two-piece normal with closed-form quantiles;
- Monte Carlo tolerances are 4 standard errors of the estimated quantity: a sample p-quantile
  over n draws has standard error ``sqrt(p (1 − p) / n) / f(q_p)`` (the asymptotic variance of a
  sample quantile; e.g. Serfling 1980, *Approximation Theorems of Mathematical Statistics*, 2.3.3),
  the mean ``sd / sqrt(n)``;
- the test plan's sample sizes: statsmodels 0.15 ``NormalIndPower`` for a mean (the formula the
  core uses, ``effect_size = δ/σ``) and, for a proportion, statsmodels' ``power_proportions_2indep``
  (pooled variance under H0, unpooled under H1, both tails: R's ``power.prop.test(strict=TRUE)``
  formula) solved with scipy's ``brentq``, plus its closed form ``samplesize_proportions_2indep_onetail``;
  ``proportion_effectsize`` + ``NormalIndPower`` is Cohen's arcsine h, a different formula, and is
  not used;
- the prior: statsmodels ``combine_effects(method_re="dl")``; the false-positive risk: Kohavi, Deng
  & Vermeer (2022), ``(α/2)(1 − w) / ((α/2)(1 − w) + power · w)``.
"""

from __future__ import annotations

import html
import inspect
import json
import math
import subprocess

import liftlab
import numpy as np
import polars as pl
import pytest
import tomllib
from conftest import ROOT
from liftlab import _core
from liftlab.exceptions import InvalidInputError, LiftlabWarning
from scipy import optimize, stats

EXAMPLE = ROOT / "examples" / "forecast.toml"
Z95 = stats.norm.ppf(0.95)  # a PM's low/high are the 5th and 95th percentiles


def cli_json(liftlab_bin: str, path) -> dict:
    r = subprocess.run([liftlab_bin, "forecast", "--spec", str(path), "--json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def funnel(**kw):
    """A proportion funnel: 5,000 e-mails a day, delivered, clicked; the click rate changes."""
    nodes = [("emails", "count", 5000), ("delivered", "rate", 0.95), ("clicked", "rate", 0.04)]
    return liftlab.forecast_impact(nodes, [("clicked", 0.05, 0.10, 0.15)], **kw)


# --- the four doors agree ------------------------------------------------------------------


def test_python_equals_cli_json(liftlab_bin):
    """`liftlab forecast --spec examples/forecast.toml --json` and the Python door: identical JSON."""
    want = cli_json(liftlab_bin, EXAMPLE)
    assert liftlab.forecast_impact(EXAMPLE).to_dict() == want
    assert liftlab.forecast_impact(str(EXAMPLE)).to_dict() == want
    assert liftlab.forecast_impact(request=EXAMPLE).to_dict() == want

    assert liftlab.forecast_impact(tomllib.loads(EXAMPLE.read_text())).to_dict() == want


def test_cli_and_python_agree_on_an_edited_request(liftlab_bin, tmp_path):
    """A keyword that differs from its default overrides the request's; the CLI reads the same edit."""
    text = EXAMPLE.read_text().replace("seed = 1", "seed = 7")
    (tmp_path / "f.toml").write_text(text)
    assert liftlab.forecast_impact(EXAMPLE, seed=7).to_dict() == cli_json(liftlab_bin, tmp_path / "f.toml")


def test_list_tuple_and_mapping_inputs_agree():
    nodes = [("emails", "count", 5000), ("delivered", "rate", 0.95), ("clicked", "rate", 0.04)]
    as_dicts = [{"name": n, "kind": k, "baseline": b} for n, k, b in nodes]
    a = liftlab.forecast_impact(nodes, [("clicked", 0.05, 0.10, 0.15)])
    b = liftlab.forecast_impact(as_dicts, [{"node": "clicked", "low": 0.05, "likely": 0.10, "high": 0.15}])
    c = liftlab.forecast_impact(pl.DataFrame(as_dicts), {"clicked": (0.05, 0.10, 0.15)})
    d = liftlab.forecast_impact(nodes, [("clicked", np.float64(0.05), 0.10, np.float64(0.15))])
    assert a.to_dict() == b.to_dict() == c.to_dict() == d.to_dict()
    assert a.request["model"]["nodes"] == as_dicts


def test_python_defaults_are_the_core_defaults(liftlab_bin, service):
    """Defaults live once, in Rust: Python restates none (its options default to None: left out of
    the request), and every door echoes the same settings, the core's defaults filled in."""
    sig = inspect.signature(liftlab.forecast_impact).parameters
    options = ("reach", "dilution", "period_days", "draws", "seed", "confidence_level", "language", "coverage", "confidence")
    assert all(sig[k].default is None for k in options)
    defaults = liftlab.forecast_defaults()
    status, http = service.call("GET", "/v1/forecast/defaults")
    assert status == 200 and http == defaults
    assert (defaults["max_days"], defaults["power"], defaults["alpha"], defaults["confidence_level"]) == (28.0, 0.8, 0.05, 0.95)
    assert (defaults["reach"], defaults["draws"], defaults["seed"], defaults["language"]) == (1.0, 100_000, 0, "en")
    f = funnel(plan=True)
    assert f.settings == defaults and f.to_dict()["settings"] == defaults
    assert "model" in f.request and "reach" not in f.request["model"]  # nothing restated
    status, answer = service.call("POST", "/v1/forecast", f.request)
    assert status == 200 and answer["settings"] == defaults
    # a request without `language` is answered in the core's default, what Python sends by default
    bare = json.loads(_core._forecast_impact(json.dumps({"model": funnel().request["model"]})))
    assert bare["prd_paragraph"] == funnel().prd_paragraph()
    nodes = [{"name": "visits", "kind": "count", "baseline": 800}, {"name": "conversion", "kind": "rate", "baseline": 0.1}]
    changes = [{"node": "conversion", "low": -0.02, "likely": 0.03, "high": 0.1}]
    bare = json.loads(_core._forecast_impact(json.dumps({"model": {"nodes": nodes, "changes": changes}})))
    assert liftlab.forecast_impact(nodes, changes).to_dict() == bare


def test_same_seed_same_numbers():
    a, b = funnel(seed=11).to_dict(), funnel(seed=11).to_dict()
    assert a == b
    c = funnel(seed=12).to_dict()
    assert c["forecast"]["relative"] != a["forecast"]["relative"]
    # the likely-change figures do not depend on the draws
    assert c["forecast"]["relative_likely"] == a["forecast"]["relative_likely"]


# --- independent references ----------------------------------------------------------------


def quantile_se(p: float, n: int, density: float) -> float:
    """Asymptotic standard error of the sample p-quantile of n draws."""
    return math.sqrt(p * (1 - p) / n) / density


def test_single_symmetric_node_is_a_normal_lift():
    """One rate node changes by +2% / +5% / +8% (symmetric): δ ~ N(0.05, (0.06 / (2 · 1.6449))²);
    half the units are reached, so the lift is 0.5 · δ. Its quantiles, mean and sd must be
    scipy's normal ones within 4 Monte Carlo standard errors (n = 1,000,000 draws)."""
    n, cov = 1_000_000, 0.5
    f = liftlab.forecast_impact(
        [("visitors", "count", 10_000), ("conversion", "rate", 0.04)],
        [("conversion", 0.02, 0.05, 0.08)],
        reach=cov,
        draws=n,
        seed=3,
    )
    mu, sd = cov * 0.05, cov * 0.06 / (2 * Z95)
    assert f.relative_likely == pytest.approx(mu, abs=1e-15)
    assert abs(f.relative.estimate - mu) < 4 * sd / math.sqrt(n)
    assert abs(f.relative_std_dev - sd) < 4 * sd / math.sqrt(2 * (n - 1))  # sd of a normal sample sd
    for p, got in f.quantiles.items():
        want = stats.norm.ppf(p, mu, sd)
        se = quantile_se(p, n, stats.norm.pdf(want, mu, sd))
        assert abs(got - want) < 4 * se, (p, got, want, se)
    assert (f.relative.low, f.relative.high) == (f.quantiles[0.025], f.quantiles[0.975])
    # the same against a numpy Monte Carlo of its own (another generator): 4 · sqrt(2) standard errors
    own = cov * np.random.default_rng(20260101).normal(0.05, 0.06 / (2 * Z95), n)
    for p, got in f.quantiles.items():
        se = quantile_se(p, n, stats.norm.pdf(stats.norm.ppf(p, mu, sd), mu, sd))
        assert abs(got - np.quantile(own, p)) < 4 * math.sqrt(2) * se
    assert abs(f.relative.estimate - own.mean()) < 4 * math.sqrt(2) * sd / math.sqrt(n)
    # the delta method on the log scale has a closed form here: g = ln(1 + cov·m), sd_g = cov·σ / (1 + cov·m)
    g, sg, z = math.log1p(mu), sd / (1 + mu), stats.norm.ppf(0.975)
    assert f.relative_delta.estimate == pytest.approx(mu, rel=1e-12)
    assert f.relative_delta.low == pytest.approx(math.expm1(g - z * sg), rel=1e-12)
    assert f.relative_delta.high == pytest.approx(math.expm1(g + z * sg), rel=1e-12)
    # absolute = relative × baseline, per year = per day × 365.25
    assert f.baseline == 400.0
    assert f.per_year.estimate == pytest.approx(f.relative.estimate * 400 * 365.25, rel=1e-12)


def split_normal_quantile(p: float, m: float, lo: float, hi: float) -> float:
    """Two-piece normal (mode m, scale lo below and hi above): F(x) = 2·lo/(lo+hi)·Φ((x−m)/lo) below m."""
    w = lo / (lo + hi)
    return m + lo * stats.norm.ppf(p / (2 * w)) if p <= w else m + hi * stats.norm.ppf(0.5 + (p - w) / (2 * (1 - w)))


def split_normal_pdf(x: float, m: float, lo: float, hi: float) -> float:
    s = lo if x < m else hi
    return 2 / (math.sqrt(2 * math.pi) * (lo + hi)) * math.exp(-((x - m) ** 2) / (2 * s * s))


def test_example_matches_the_two_piece_normal():
    """examples/forecast.toml changes one node by +2% / +6% / +12% with coverage 0.6: the lift is
    0.6 · δ, δ two-piece normal with σ₋ = 0.04 / 1.6449 and σ₊ = 0.06 / 1.6449. Quantiles by the
    closed form above (checked by numerical integration when written), within 4 standard errors
    at the example's 100,000 draws; the mean is m + sqrt(2/π)(σ₊ − σ₋)."""
    f = liftlab.forecast_impact(EXAMPLE)
    n, c, m, lo, hi = f.draws, 0.6, 0.06, 0.04 / Z95, 0.06 / Z95
    sd = math.sqrt((1 - 2 / math.pi) * (hi - lo) ** 2 + lo * hi)
    assert abs(f.relative.estimate - c * (m + math.sqrt(2 / math.pi) * (hi - lo))) < 4 * c * sd / math.sqrt(n)
    for p, got in f.quantiles.items():
        q = split_normal_quantile(p, m, lo, hi)
        se = c * quantile_se(p, n, split_normal_pdf(q, m, lo, hi))
        assert abs(got - c * q) < 4 * se, (p, got, c * q, se)
    # the tornado bar: the node at its low / high with coverage applied
    s = f.sensitivity()
    assert s["at_low"][0] == pytest.approx(0.6 * 0.02, abs=1e-15) and s["at_high"][0] == pytest.approx(0.6 * 0.12, abs=1e-15)


def test_monte_carlo_agrees_with_the_delta_method():
    """Two narrow symmetric changes (+1/+3/+5% and 0/+2/+4%): the Monte Carlo 95% interval of
    (1 + δ₁)(1 + δ₂) − 1 and the log-scale delta-method interval agree within 1% of the interval's
    width. Measured: both bounds about 0.5% of the width apart (the log-normal approximation),
    and the Monte Carlo standard error of a 2.5% quantile at 10⁶ draws is 0.07% of the width."""
    f = liftlab.forecast_impact(
        [("visitors", "count", 10_000), ("ctr", "rate", 0.3), ("conversion", "rate", 0.05)],
        [("ctr", 0.01, 0.03, 0.05), ("conversion", 0.0, 0.02, 0.04)],
        draws=1_000_000,
        seed=5,
    )
    mc, dm = f.relative, f.relative_delta
    width = mc.high - mc.low
    assert abs(mc.low - dm.low) < 0.01 * width
    assert abs(mc.high - dm.high) < 0.01 * width
    assert abs(mc.estimate - dm.estimate) < 0.01 * width
    assert f.relative_likely == pytest.approx(1.03 * 1.02 - 1, rel=1e-12)


def test_plan_of_a_mean_matches_statsmodels_normal_ind_power():
    """The example's test reads 'answered' (the node the change acts on); beside it, the plan on
    the per-lead topline, a mean (12.6, sd 80 as given): statsmodels NormalIndPower's power
    with effect_size = δ/σ, δ = 12.6 × 6%, solved with scipy's brentq to 1e-14. (NormalIndPower's
    own solve_power stops earlier: its MDE here is 2e-6 off, and the core's value is the one whose
    power is 0.8 to 1e-11.)"""
    from statsmodels.stats.power import NormalIndPower

    plan = liftlab.forecast_impact(EXAMPLE).plan
    assert plan["metric"] == "answered" and plan["baseline"]["kind"] == "proportion"
    p = plan["topline"]
    assert (p["metric"], p["std_dev_source"]) == ("deal_value", "given")
    mean, sd = 0.35 * 0.08 * 450, 80.0
    assert p["baseline"] == {"kind": "mean", "mean": pytest.approx(mean, rel=1e-15), "std_dev": sd}
    delta = mean * 0.06
    nip = NormalIndPower()
    def power_at(n, es=delta / sd):
        return nip.power(es, n, 0.05, ratio=1.0, alternative="two-sided")

    n = optimize.brentq(lambda n: power_at(n) - 0.8, 100, 1e8, xtol=1e-9, rtol=1e-14)
    assert p["sample_size"]["n_control_exact"] == pytest.approx(n, rel=1e-9)
    assert p["sample_size"]["n_control_exact"] == pytest.approx(
        nip.solve_power(effect_size=delta / sd, alpha=0.05, power=0.8, ratio=1.0, alternative="two-sided"), rel=1e-6
    )
    assert p["sample_size"]["n_control"] == math.ceil(p["sample_size"]["n_control_exact"])
    # 60% of 2,000 leads a day are reached; the test needs n_total of them
    assert plan["daily_units"] == pytest.approx(1200)
    assert p["duration_days"] == math.ceil(p["sample_size"]["n_total"] / 1200)
    # what 28 days (16,800 per arm) can see, and the power for the likely change in that time
    n28 = 1200 * 28 / 2
    es = optimize.brentq(lambda e: power_at(n28, e) - 0.8, 1e-4, 1.0, xtol=1e-15, rtol=1e-14)
    assert p["mde_at_max_days"]["rel_effect"] == pytest.approx(es * sd / mean, rel=1e-9)
    assert p["power_at_max_days"] == pytest.approx(power_at(n28), rel=1e-9)


def test_plan_of_the_telesales_funnel_matches_statsmodels():
    """Issue 17's funnel: leads 50,000 a month -> reached 60% -> interested 20% -> deal 8% ->
    order value 3,000 CNY (sd 1,200), a call script moving 'interested' +2% / +8% / +15% for half
    of the leads. The test reads the share of leads reaching 'interested' (12% -> 12.96%).
    Reference, computed here: statsmodels NormalIndPower with Cohen's effect on the unpooled
    (Wald) variance, 0.0096 / sqrt((0.12·0.88 + 0.1296·0.8704) / 2): 18,600.5 per arm; the core
    adds the first-order effect of the estimated standard error (liftlab.stats.power.wald_power),
    < 0.1% here: tolerance 0.2%. The topline's plan (revenue per lead, sd derived from the tree)
    against NormalIndPower with 28.8 × 0.08 / sd: tolerance 1e-6 relative (the same normal formula)."""
    from statsmodels.stats.power import NormalIndPower

    f = liftlab.forecast_impact(
        [
            ("leads", "count", 50_000),
            ("reached", "rate", 0.6),
            ("interested", "rate", 0.2),
            ("deal", "rate", 0.08),
            {"name": "order_value", "kind": "value", "baseline": 3000, "std_dev": 1200},
        ],
        [("interested", 0.02, 0.08, 0.15)],
        reach=0.5,
        period_days=30.4375,
        unit="CNY",
        plan=True,
    )
    p = f.plan
    p0, p1 = 0.12, 0.12 * 1.08
    es = (p1 - p0) / math.sqrt((p0 * (1 - p0) + p1 * (1 - p1)) / 2)
    want = NormalIndPower().solve_power(effect_size=es, alpha=0.05, power=0.8, ratio=1.0, alternative="two-sided")
    assert p["metric"] == "interested"
    assert p["sample_size"]["n_control_exact"] == pytest.approx(want, rel=0.002)
    assert 18_500 < p["sample_size"]["n_control"] < 18_700
    t = p["topline"]
    sd = math.sqrt(0.0096 * (1200**2 + 3000**2) - 28.8**2)
    assert t["std_dev"] == pytest.approx(sd, rel=1e-12)
    want_t = NormalIndPower().solve_power(effect_size=28.8 * 0.08 / sd, alpha=0.05, power=0.8, ratio=1.0)
    assert t["sample_size"]["n_control_exact"] == pytest.approx(want_t, rel=1e-6)
    text = f.prd_paragraph()
    assert "the share of leads reaching 'interested'" in text and f"{p['sample_size']['n_control']:,} leads per arm" in text
    assert f"{t['sample_size']['n_control']:,} leads per arm" in text and "CNY" in text


def test_plan_of_a_proportion_matches_power_prop_test_formula():
    """A funnel of rates below a count is a proportion: 0.95 × 0.04 = 0.038, +10% likely. Planned
    for a pooled test (``proportion_test="pooled"``; the default plans the analysis' Wald test,
    tests/stats_power.rs), the core implements R's power.prop.test (pooled variance under H0,
    unpooled under H1, both tails): statsmodels' power_proportions_2indep is that formula, solved
    here with scipy's brentq."""
    from statsmodels.stats.proportion import power_proportions_2indep, samplesize_proportions_2indep_onetail

    p = funnel(plan={"design": {"proportion_test": "pooled"}}).plan
    rate = 0.95 * 0.04
    assert p["baseline"] == {"kind": "proportion", "rate": pytest.approx(rate, rel=1e-15)}
    assert p["rel_effect"] == pytest.approx(0.10, rel=1e-12)
    diff = rate * 0.10

    def power_at(n):
        return power_proportions_2indep(diff, rate, n, ratio=1, alpha=0.05, alternative="two-sided", return_results=False)

    n = optimize.brentq(lambda n: power_at(n) - 0.8, 100, 1e7, xtol=1e-9, rtol=1e-14)
    got = p["sample_size"]["n_control_exact"]
    assert got == pytest.approx(n, rel=1e-9)
    # the closed form counts one tail; the other adds 1e-6 of power here, so it asks 2.5e-6 more units
    closed = samplesize_proportions_2indep_onetail(diff, rate, 0.8, alpha=0.05)
    assert closed > got and got == pytest.approx(closed, rel=1e-5)
    # the same number as liftlab.sample_size, the analysis door's planner
    assert liftlab.sample_size(rate=rate, rel_effect=0.10, proportion_test="pooled")["n_control_exact"] == pytest.approx(
        got, rel=1e-12
    )
    assert p["duration_days"] == math.ceil(p["sample_size"]["n_total"] / 5000)


def test_realism_and_false_positive_risk_match_references():
    from statsmodels.stats.meta_analysis import combine_effects

    f = liftlab.forecast_impact(EXAMPLE)
    past = [(0.021, 0.010), (-0.004, 0.008), (0.013, 0.012), (0.035, 0.015), (0.002, 0.006)]
    x, s = np.array([e for e, _ in past]), np.array([e for _, e in past])
    res = combine_effects(x, s**2, method_re="dl")
    assert f.prior["mean"] == pytest.approx(res.mean_effect_re, rel=1e-12)
    assert f.prior["tau2"] == pytest.approx(res.tau2, rel=1e-12)
    # precision weighting of the prior and the forecast N(mean, sd²), on the scale of past tests:
    # the lift among the reached units, i.e. the topline lift / coverage (0.6 in the example)
    c = 0.6
    wp, wf = 1 / res.tau2, 1 / (f.relative_std_dev / c) ** 2
    mean = (wp * res.mean_effect_re + wf * f.relative.estimate / c) / (wp + wf)
    assert f.realism["expected_lift"] == pytest.approx(mean, rel=1e-12)
    assert f.realism["prob_positive"] == pytest.approx(stats.norm.sf(0, mean, math.sqrt(1 / (wp + wf))), rel=1e-9)
    power = min(f.plan["power_at_max_days"], f.plan["sample_size"]["power"])
    a, w = 0.05 / 2, 0.2
    assert f.false_positive_risk == pytest.approx(a * (1 - w) / (a * (1 - w) + power * w), rel=1e-12)


def test_history_as_a_table():
    past = pl.DataFrame({"name": ["a", "b", "c", "d"], "effect": [0.01, 0.03, -0.01, 0.02], "std_err": [0.01, 0.01, 0.01, 0.01]})
    a = funnel(plan=True, history={"past": past, "win_rate": 0.3})
    b = funnel(plan=True, history={"past": [(0.01, 0.01), (0.03, 0.01), (-0.01, 0.01), (0.02, 0.01)], "win_rate": 0.3})
    assert a.to_dict() == b.to_dict()
    assert a.prior["experiments"] == 4 and 0 < a.realism["prob_positive"] < 1


# --- the fan chart's numbers -----------------------------------------------------------------


def test_cumulative_gain_is_the_lift_times_time():
    f = liftlab.forecast_impact(EXAMPLE)
    g = f.cumulative_gain(12)
    assert g.height == 13 and g["q0.5"][0] == 0
    year = g.filter(pl.col("month") == 12)
    assert year["q0.025"][0] == pytest.approx(f.per_year.low, rel=1e-12)
    assert year["q0.975"][0] == pytest.approx(f.per_year.high, rel=1e-12)
    month = g.filter(pl.col("month") == 1)
    assert month["q0.025"][0] == pytest.approx(f.per_month.low, rel=1e-12)


# --- bad input names the field -------------------------------------------------------------

NODES = [("leads", "count", 1000), ("answered", "rate", 0.3), ("deal", "rate", 0.1)]
CHANGE = [("answered", 0.0, 0.05, 0.1)]


@pytest.mark.parametrize(
    ("nodes", "changes", "field"),
    [
        ([("leads", "count", 1000), ("answered", "rate", 1.5)], CHANGE, r"model\.nodes\[1\]\.baseline"),
        (NODES, [("answered", 0.1, 0.05, 0.0)], r"model\.changes\[0\]"),
        ([("leads", "count", 0), ("answered", "rate", 0.3)], CHANGE, r"model\.nodes\[0\]\.baseline"),
        ([], CHANGE, r"model\.nodes"),
        (NODES, [("replied", 0.0, 0.05, 0.1)], r"model\.changes\[0\]\.node"),
        (NODES, [], r"model\.changes"),
        ([("leads", "ratio", 1000)], CHANGE, r"model\.nodes\[0\]\.kind"),
        (NODES, [("answered", 0.0, 0.05, 4.0)], r"model\.changes\[0\]\.high"),
        ([("leads", "count", float("nan"))], CHANGE, r"model\.nodes\[0\]\.baseline"),
        ([("leads", "count")], CHANGE, r"nodes\[0\]"),
    ],
    ids=["rate-above-1", "low-above-high", "zero-count", "empty-funnel", "unknown-node", "no-change", "bad-kind",
         "rate-pushed-above-1", "nan", "short-tuple"],
)
def test_bad_input_names_the_field(nodes, changes, field):
    with pytest.raises(InvalidInputError, match=rf"^{field}: "):
        liftlab.forecast_impact(nodes, changes)


def test_bad_options_name_the_field():
    with pytest.raises(InvalidInputError, match=r"^model\.reach: "):
        liftlab.forecast_impact(NODES, CHANGE, reach=0)
    with pytest.raises(InvalidInputError, match=r"^model\.confidence_level: "):
        liftlab.forecast_impact(NODES, CHANGE, confidence_level=1.5)
    with pytest.raises(InvalidInputError, match=r"^model\.draws: "):
        liftlab.forecast_impact(NODES, CHANGE, draws=10)
    # a plan on the topline, revenue per lead, needs its spread: not derivable without the value's
    with pytest.raises(InvalidInputError, match=r"^plan\.std_dev: "):
        liftlab.forecast_impact([*NODES, ("deal_value", "value", 300)], CHANGE, plan={"metric": "deal_value"})
    # by default the test reads the node the change acts on, and the missing spread is named
    p = liftlab.forecast_impact([*NODES, ("deal_value", "value", 300)], CHANGE, plan=True).plan
    assert p["metric"] == "answered" and "topline" not in p
    assert [m["field"] for m in p["missing"]] == ["model.nodes[3].std_dev"]
    with pytest.raises(InvalidInputError, match=r"^plan\.metric: "):
        liftlab.forecast_impact(NODES, CHANGE, plan={"metric": "nope"})
    # the design's checks name the option within the plan (`plan.power`, the request path is plan.design.power)
    with pytest.raises(InvalidInputError, match=r"^plan\.(design\.)?power: "):
        liftlab.forecast_impact(NODES, CHANGE, plan={"power": 1.5})
    with pytest.raises(InvalidInputError, match=r"^plan\.max_days: "):
        liftlab.forecast_impact(NODES, CHANGE, plan={"max_days": 0})
    with pytest.raises(InvalidInputError, match=r"^history\.past\[1\]\.std_err: "):
        liftlab.forecast_impact(NODES, CHANGE, history={"past": [(0.01, 0.01), (0.02, 0), (0.0, 0.01)]})
    with pytest.raises(InvalidInputError, match=r"^request: cannot read"):
        liftlab.forecast_impact("no/such/forecast.toml")
    with pytest.raises(InvalidInputError, match=r"^model\.nodes\[0\]\.name: "):
        liftlab.forecast_impact(request={"model": {"nodes": [{"name": " ", "kind": "count", "baseline": 1}], "changes": []}})


# --- the display ----------------------------------------------------------------------------


def test_html_has_the_tables_and_the_cores_charts():
    """The notebook display is the core's rendering: the tables, the formula and the charts the
    page shows (POST /v1/forecast?charts=svg) and `liftlab forecast --html` writes."""
    f = liftlab.forecast_impact(EXAMPLE)
    h = f._repr_html_()
    assert h.count("<svg") == 3
    assert f.lift_chart().svg in h and f.tornado_chart().svg in h and f.fan_chart().svg in h
    assert f.formula in h
    for text in ("Projection", "Test on &#39;answered&#39;", "Chance of success", "A significant result is a false positive"):
        assert text in h, text
    # one name per length of time (the example's baseline is per day), the median beside the mean
    for text in ("absolute gain per day", "absolute gain per month", "absolute gain per year", "median", "Reads"):
        assert text in h, text
    assert "per 30" not in h
    assert f.fan_chart()._repr_svg_().startswith("<svg") and f.fan_chart(24).svg != f.fan_chart().svg
    assert f.tornado_chart()._repr_svg_().count("<rect") == 2  # one bar, two halves
    assert "liftlab.Forecast" in repr(f)
    with pytest.raises(InvalidInputError, match="^months: "):
        f.fan_chart(0)
    # names are escaped
    g = liftlab.forecast_impact([("a<b>", "count", 10)], [("a<b>", 0.0, 0.1, 0.2)])
    assert "<b>" not in g._repr_html_() and "a&lt;b&gt;" in g._repr_html_()


def test_prd_paragraph_is_the_cores():
    """The paragraph is written once, in the core: Python shows the report's text as it is."""
    f = liftlab.forecast_impact(EXAMPLE)
    text = f.prd_paragraph()
    assert text == f.to_dict()["prd_paragraph"] != ""
    p = f.plan
    for needle in (
        f"{f.relative.estimate * 100:+.2f}%",
        f"{f.relative.low * 100:+.2f}%",
        f"median {f.median * 100:+.2f}%",
        f"{p['sample_size']['n_control']:,} leads per arm",  # the tree's count names the units
        f"{p['duration_days']} days",
        f"{f.realism['prob_positive'] * 100:.0f}%",  # 98%: neither tail is rounded
        f.formula,
        "Test. The test reads the share of leads reaching 'answered'",
    ):
        assert needle in text, (needle, text)
    # without plan or history the paragraph has neither
    bare = funnel().prd_paragraph()
    assert "Test." not in bare and "past tests" not in bare and "Chance of success" not in bare


def test_implausible_shares_warn_and_shares_above_one_are_refused():
    """Every share is a fraction at every door: 0.005 reach is allowed but warned about (0.5
    may have been meant), 50 is refused naming the field."""
    with pytest.warns(liftlab.exceptions.LiftlabWarning, match=r"^model\.reach: "):
        f = funnel(reach=0.005)
    assert [w["field"] for w in f.warnings] == ["model.reach"]
    with pytest.raises(InvalidInputError, match=r"^model\.reach: "):
        funnel(reach=50)


def test_deprecated_names_still_work_with_a_warning():
    """Issue 16: `coverage` is now `reach` and `confidence` is `confidence_level`; the old names
    work for one release with a DeprecationWarning, as keywords, attributes and request keys."""
    with pytest.warns(DeprecationWarning, match="`coverage` is deprecated: use `reach`"):
        old = funnel(coverage=0.5, seed=3)
    assert old.to_dict() == funnel(reach=0.5, seed=3).to_dict()
    with pytest.warns(DeprecationWarning, match="`confidence` is deprecated: use `confidence_level`"):
        old = funnel(confidence=0.9, seed=3)
    assert old.to_dict() == funnel(confidence_level=0.9, seed=3).to_dict()
    assert old.confidence_level == 0.9 == old.settings["confidence_level"]
    with pytest.warns(DeprecationWarning, match="Forecast.confidence"):
        assert old.confidence == 0.9
    with pytest.warns(DeprecationWarning), pytest.raises(InvalidInputError, match="^reach: given twice"):
        funnel(reach=0.5, coverage=0.5)
    # a request with the old keys, and a keyword that replaces one of them
    req = funnel(reach=0.5, confidence_level=0.9).request
    req["model"]["coverage"], req["model"]["confidence"] = req["model"].pop("reach"), req["model"].pop("confidence_level")
    assert liftlab.forecast_impact(req).to_dict() == funnel(reach=0.5, confidence_level=0.9).to_dict()
    assert liftlab.forecast_impact(req, reach=0.25).settings["reach"] == 0.25
    # the answer writes the old name beside the new for one release
    assert old.to_dict()["forecast"]["confidence"] == old.to_dict()["forecast"]["confidence_level"]


# --- reconciliation -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_report():
    spec = """
[[experiments]]
key = "sms"
variants = ["control", "sms"]
[[metrics]]
name = "converted"
kind = "binary"
"""
    rng = np.random.default_rng(1)
    n = 4000
    variant = np.where(np.arange(n) % 2 == 0, "control", "sms")
    converted = (rng.random(n) < np.where(variant == "sms", 0.12, 0.10)).astype(int)
    ids = list(range(n))
    return liftlab.analyze(
        spec, pl.DataFrame({"unit_id": ids, "variant": variant}), pl.DataFrame({"unit_id": ids, "converted": converted})
    )


def test_reconcile_reads_the_report(small_report):
    f = liftlab.forecast_impact([("leads", "count", 1000), ("converted", "rate", 0.10)], [("converted", 0.05, 0.15, 0.30)], seed=2)
    row = small_report.to_polars().row(0, named=True)
    for given in (small_report, small_report.to_dict(), small_report.to_json()):
        r = f.reconcile(given, "converted")
        assert r.observed == row["rel_effect"]
        assert (r.observed_low, r.observed_high) == (row["rel_ci_low"], row["rel_ci_high"])
        assert r.forecast == f.relative.estimate
        assert r.error == pytest.approx(f.relative.estimate - row["rel_effect"], abs=1e-15)
        assert r.covered == (f.relative.low <= row["rel_effect"] <= f.relative.high)
        assert r.direction_hit == (np.sign(row["rel_effect"]) == np.sign(f.relative.estimate))
    assert f.reconcile(small_report, "converted", "sms").to_dict() == r.to_dict()
    assert "Forecast vs observed" in r._repr_html_() and r._repr_html_().count("<svg") == 1
    assert r.confidence_level == f.confidence_level and r.to_dict()["confidence_level"] == f.confidence_level
    with pytest.warns(DeprecationWarning, match="Reconciliation.confidence"):
        assert r.confidence == r.confidence_level
    assert "liftlab.Reconciliation" in repr(r)
    with pytest.raises(InvalidInputError, match="^metric: "):
        f.reconcile(small_report, "revenue")
    with pytest.raises(InvalidInputError, match="^variant: "):
        f.reconcile(small_report, "converted", "email")
    with pytest.raises(InvalidInputError, match="^report"):
        f.reconcile({"experiment": "x"}, "converted")


def test_cli_text_is_the_cores_with_thousands_separators(liftlab_bin, tmp_path):
    """`liftlab forecast` prints the headline with its median, one line of periods in the topline's
    unit with thousands separators, and the core's PRD paragraph as --json carries it; an
    implausible share is a one-line warning on stderr naming the field."""
    spec = tmp_path / "telesales.toml"
    spec.write_text(
        """
[model]
coverage = 0.5
period_days = 30.4375
unit = "CNY"
nodes = [
  { name = "leads", kind = "count", baseline = 50000 },
  { name = "reached", kind = "rate", baseline = 0.6 },
  { name = "interested", kind = "rate", baseline = 0.2 },
  { name = "deal", kind = "rate", baseline = 0.08 },
  { name = "order_value", kind = "value", baseline = 3000, std_dev = 1200 },
]
changes = [{ node = "interested", low = 0.02, likely = 0.08, high = 0.15 }]
[plan]
max_days = 28
"""
    )
    r = subprocess.run([liftlab_bin, "forecast", "--spec", str(spec)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    data = cli_json(liftlab_bin, spec)
    f = data["forecast"]
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"Projected lift {f['relative']['estimate'] * 100:+.2f}% (95% interval ")
    assert f"median {f['median'] * 100:+.2f}%" in lines[0]
    month = next(p for p in f["periods"] if p["label"] == "per month")["lift"]["estimate"]
    assert lines[1].startswith("per day ") and f"per month {month:+,.0f} CNY (" in lines[1], lines[1]
    assert "per 30" not in r.stdout
    assert data["prd_paragraph"] in r.stdout
    assert "18,599 leads per arm" in r.stdout and "1,440,000 CNY per month" in r.stdout
    # the CLI prints the core's text, as Python's summary() and str() give it
    assert liftlab.forecast_impact(spec).summary() == r.stdout == str(liftlab.forecast_impact(spec))
    # the deprecated name `coverage` in the file is read as `reach`; the warning names the field by its name now
    spec.write_text(spec.read_text().replace("coverage = 0.5", "coverage = 0.005"))
    r = subprocess.run([liftlab_bin, "forecast", "--spec", str(spec)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    (warning,) = r.stderr.splitlines()
    assert warning.startswith("warning: model.reach: ") and "0.5%" in warning, warning


# --- issue 17, item 7: the answer's sentences in the request's language -------------------


def _texts(answer: dict) -> dict:
    """Every sentence of an answer the faces show as it comes."""
    f, plan = answer["forecast"], answer.get("plan") or {}
    return {
        "prd_paragraph": answer["prd_paragraph"],
        "formula": f["formula"],
        "headline_note": f["headline_note"],
        "period": f["period"],
        "periods": [p["label"] for p in f["periods"]],
        "mapping": plan.get("mapping"),
        "metric_label": plan.get("metric_label"),
        "notes": plan.get("notes"),
        "history_source": answer.get("history_source"),
        "warnings": answer["warnings"],
        "display": answer["display"],
    }


def _cjk(s: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in s)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_doors_write_the_same_sentences_in_the_requested_language(liftlab_bin, service, tmp_path, language):
    """Python (`language=`), the CLI (`--language`, and `language` in the file) and HTTP (`language`
    in the body) give the same sentences for the same request and language; zh-CN's are Chinese."""
    request = tomllib.loads(EXAMPLE.read_text())
    request["model"]["reach"] = 0.004  # a warning, so that it is compared too
    spec = tmp_path / "f.toml"
    spec.write_text(EXAMPLE.read_text().replace("reach = 0.6", "reach = 0.004"))
    assert tomllib.loads(spec.read_text())["model"]["reach"] == 0.004
    with pytest.warns(LiftlabWarning):
        py = liftlab.forecast_impact(spec, language=language).to_dict()
    r = subprocess.run(
        [liftlab_bin, "forecast", "--spec", str(spec), "--json", "--language", language], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    cli = json.loads(r.stdout)
    in_file = tmp_path / "in_file.toml"
    in_file.write_text(f'language = "{language}"\n' + spec.read_text())
    cli_file = cli_json(liftlab_bin, in_file)
    status, http = service.call("POST", "/v1/forecast", {**request, "language": language})
    assert status == 200, http
    assert _texts(py) == _texts(cli) == _texts(cli_file) == _texts(http)
    assert py["forecast"]["relative"] == http["forecast"]["relative"]
    prd = http["prd_paragraph"]
    paragraphs = prd.split("\n\n")
    if language == "zh-CN":
        assert all(_cjk(p) for p in paragraphs), prd
        assert paragraphs[1].startswith("公式：") and "Formula" not in prd and "Expected impact" not in prd
        assert "实验。" in prd and "成功概率" in prd and "每组" in prd, prd
        assert all(_cjk(w["message"]) for w in http["warnings"]) and http["warnings"][0]["field"] == "model.reach"
        # the CLI's summary above the paragraph is the core's, in Chinese too
        text = subprocess.run(
            [liftlab_bin, "forecast", "--spec", str(spec), "--language", language], capture_output=True, text=True, timeout=60
        )
        assert text.returncode == 0 and text.stdout.startswith("预计提升 ") and prd in text.stdout, text.stdout
        # the facts' labels and titles too
        panels = [http["display"]["plan"], http["display"]["topline"], http["display"]["chance"]]
        assert all(_cjk(p["title"]) and all(_cjk(f["label"]) for f in p["facts"]) for p in panels), panels
    else:
        assert not any(_cjk(p) for p in paragraphs) and paragraphs[1].startswith("Formula: "), prd
    status, en = service.call("POST", "/v1/forecast", request)
    assert (en["prd_paragraph"] == prd) == (language == "en"), "no language is English"


@pytest.mark.parametrize("bad", ["fr", "zh", "ZH-cn", "", 7, None])
def test_a_bad_language_names_the_field_at_every_door(liftlab_bin, service, tmp_path, bad):
    request = tomllib.loads(EXAMPLE.read_text())
    if bad is None:  # Python's None is an option left out (the core's default, as for every option)
        assert funnel(language=None).settings["language"] == liftlab.forecast_defaults()["language"]
    else:
        with pytest.raises(InvalidInputError) as e:
            liftlab.forecast_impact(EXAMPLE, language=bad)
        assert str(e.value).startswith("language: "), e.value  # the message names the field first
        with pytest.raises(InvalidInputError, match=r"^language: "):
            funnel(language=bad)
    status, body = service.call("POST", "/v1/forecast", {**request, "language": bad})
    assert status == 422 and body["error"]["field"] == "language", body
    if isinstance(bad, str):
        r = subprocess.run(
            [liftlab_bin, "forecast", "--spec", str(EXAMPLE), "--language", bad], capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 2 and r.stderr.startswith("error: invalid_input: language: "), r.stderr
        assert f"'{bad}' is not a language" in r.stderr, r.stderr
        spec = tmp_path / "f.toml"
        spec.write_text(f"language = {json.dumps(bad)}\n" + EXAMPLE.read_text())
        r = subprocess.run([liftlab_bin, "forecast", "--spec", str(spec)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and r.stderr.startswith("error: invalid_input: language: "), r.stderr


def _escape(s: str) -> str:
    return html.escape(s, quote=True).replace("&#x27;", "&#39;")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_faces_show_the_services_facts(liftlab_bin, service, language):
    """One forecast's plan and chance-of-success facts: the service's `display`, the CLI's text,
    Python's summary() and the notebook's HTML carry the same titles, labels and values (the core
    writes them once, src/forecast/display.rs)."""
    request = {**tomllib.loads(EXAMPLE.read_text()), "language": language}
    status, http = service.call("POST", "/v1/forecast", request)
    assert status == 200, http
    display = http["display"]
    panels = [display["plan"], display["topline"], display["chance"]]
    facts = [f for p in panels for f in p["facts"]]
    assert len(facts) >= 20 and all(p["empty"] is None for p in panels), display
    text = subprocess.run(
        [liftlab_bin, "forecast", "--spec", str(EXAMPLE), "--language", language], capture_output=True, text=True, timeout=60
    )
    assert text.returncode == 0, text.stderr
    f = liftlab.forecast_impact(EXAMPLE, language=language)
    assert f.to_dict()["display"] == display
    assert f.summary() == text.stdout
    notebook = f._repr_html_()
    colon = ": " if language == "en" else "："
    for p in panels:
        assert f"\n{p['title']}\n" in text.stdout and _escape(p["title"]) in notebook, p["title"]
        for x in p["facts"]:
            assert f"  {x['label']}{colon}{x['value']}" in text.stdout, (x, text.stdout)
            row = f"<tr data-field='{x['field']}'><td style='text-align:left'>{_escape(x['label'])}</td>"
            assert row in notebook and _escape(x["value"]) in notebook, (x, row)
    # each value formats the answer's number its field names
    plan = http["plan"]
    by = {x["field"]: x["value"] for x in facts}
    assert by["plan.sample_size.n_control"] == f"{plan['sample_size']['n_control']:,}"
    assert by["plan.topline.sample_size.n_control"] == f"{plan['topline']['sample_size']['n_control']:,}"
    assert by["plan.mde_at_max_days.rel_effect"] == f"{plan['mde_at_max_days']['rel_effect'] * 100:+.2f}%"
    assert by["realism.prob_positive"] == f"{http['realism']['prob_positive'] * 100:.0f}%"
