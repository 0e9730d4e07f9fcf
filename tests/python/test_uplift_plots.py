"""liftlab.uplift.qini_plot / uplift_plot: well-formed SVG, one path per curve, each path ending
at its curve's last point as scaled by the plot."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from liftlab import uplift
from liftlab.exceptions import InvalidInputError

SVG = "{http://www.w3.org/2000/svg}"


def data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    y = (rng.random(n) < 0.2 + 0.1 * t * (x > 0)).astype(float)
    return y, x, t, rng.normal(size=n)


def paths(svg):
    root = ET.fromstring(svg)  # raises on malformed XML
    assert root.tag == f"{SVG}svg"
    return {p.get("data-curve"): p.get("d") for p in root.iter(f"{SVG}path")}, root


def last_point(d):
    x, y = re.findall(r"(-?[\d.]+),(-?[\d.]+)", d)[-1]
    return float(x), float(y)


@pytest.mark.parametrize("make", [uplift.qini_plot, uplift.uplift_plot])
def test_one_path_per_curve_ending_at_the_last_point(make):
    y, score, t, noise = data()
    p = make(y, score, t, label="score", others={"noise": noise})
    found, root = paths(p.svg)
    assert list(found) == ["perfect", "random", "score", "noise"]  # references drawn first
    assert len(list(root.iter(f"{SVG}path"))) == len(p.curves) == 4
    for name, frame in p.curves.items():
        px, py = p.scale(frame["n_targeted"][-1], frame["value"][-1])
        assert last_point(found[name]) == pytest.approx((px, py), abs=0.006)  # written with 2 decimals
    # the random line ends where every model curve ends (the whole population)
    assert last_point(found["random"]) == last_point(found["score"]) == last_point(found["noise"])
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "units targeted" in text and "incremental outcomes" in text  # axis labels
    for name in ("score", "noise", "random", "perfect"):  # legend
        assert name in text
    assert p._repr_svg_() == p.svg and p.svg in p._repr_html_()


def test_continuous_outcome_has_no_perfect_curve():
    y, score, t, _ = data()
    p = uplift.qini_plot(y * 12.5, score, t)
    found, _ = paths(p.svg)
    assert sorted(found) == ["model", "random"]


def test_long_curves_are_thinned_but_keep_both_ends():
    y, score, t, _ = data(n=5000)
    p = uplift.uplift_plot(y, score, t, perfect=False, max_points=50)
    found, _ = paths(p.svg)
    d = found["model"]
    assert d.count("L") + 1 <= 50
    frame = p.curves["model"]
    assert last_point(d) == pytest.approx(p.scale(frame["n_targeted"][-1], frame["value"][-1]), abs=0.006)
    assert re.match(r"M(-?[\d.]+),(-?[\d.]+)", d).groups() == tuple(f"{v:.2f}" for v in p.scale(0.0, 0.0))


def test_names_must_not_clash():
    y, score, t, noise = data(n=200)
    with pytest.raises(InvalidInputError, match="others"):
        uplift.qini_plot(y, score, t, label="a", others={"random": noise})
    with pytest.raises(InvalidInputError, match="max_points"):
        uplift.qini_plot(y, score, t, max_points=1)
