"""Qini and uplift-curve plots as inline SVG (``liftlab.uplift.qini_plot`` / ``uplift_plot``).

The curves are :func:`liftlab.uplift.qini_curve` / :func:`~liftlab.uplift.uplift_curve` (sklift's
definitions, argument order ``(y_true, uplift, treatment)``), drawn with the random-targeting line
(a straight line from ``(0, 0)`` to the curve's last point, which does not depend on the ranking)
and, for a binary outcome, the perfect curve dotted. Like :class:`liftlab.ForestPlot` the result
renders itself in Jupyter (``_repr_svg_`` / ``_repr_html_``) and can be saved; no plotting
library is needed.

A curve with more than ``max_points`` points is drawn through ``max_points`` of them, evenly spaced
along the ranking, always keeping the first and the last (the drawing only; the scores use every
point).

>>> from liftlab import uplift
>>> y, t, s = [1, 0, 1, 0, 1, 0], [1, 1, 1, 0, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
>>> p = uplift.qini_plot(y, s, t, label="score")
>>> list(p.curves)
['score', 'random', 'perfect']
>>> p.svg.startswith("<svg")
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from liftlab.exceptions import InvalidInputError

__all__ = ["UpliftPlot", "qini_plot", "uplift_plot"]

# model curves, in order; the references are grey
_PALETTE = ("#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#ad1457")
_RANDOM = "#888888"
_PERFECT = "#455a64"

_W, _H = 560.0, 360.0
_LEFT, _RIGHT, _TOP, _BOTTOM = 70.0, 20.0, 34.0, 50.0


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    span = hi - lo
    if not math.isfinite(span) or span <= 0:
        return [lo]
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [first + k * step for k in range(int(math.floor((hi - first) / step + 1e-9)) + 1)]


def _tick_label(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e7:
        return f"{v / 1e6:g}M"
    if float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:,.10g}" if a >= 1 else f"{v:.3g}"


def _thin(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    if len(x) <= max_points:
        return x, y
    idx = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(int))
    return x[idx], y[idx]


def _is_binary(y: Any) -> bool:
    from liftlab.uplift import _column

    a = np.asarray(_column(y), dtype="float64")
    return bool(np.all((a == 0) | (a == 1)))


class UpliftPlot:
    """A Qini or uplift-curve plot (SVG), shown inline in notebooks.

    ``curves`` maps each drawn curve's name (the model labels, then ``"random"`` and, for a
    binary outcome, ``"perfect"``) to its points, a polars DataFrame ``n_targeted`` / ``value``;
    :meth:`scale` maps a data point to SVG coordinates; ``svg`` is the drawing, one ``<path>``
    per curve.
    """

    def __init__(self, kind: str, curves: dict[str, pl.DataFrame], *, max_points: int = 400) -> None:
        self.kind = kind
        self.curves = curves
        self.max_points = max_points
        xs = np.concatenate([c["n_targeted"].to_numpy() for c in curves.values()])
        ys = np.concatenate([c["value"].to_numpy() for c in curves.values()])
        self.x_range = (0.0, float(xs.max()) if xs.max() > 0 else 1.0)
        lo, hi = float(min(ys.min(), 0.0)), float(max(ys.max(), 0.0))
        pad = 0.05 * (hi - lo) if hi > lo else 1.0
        self.y_range = (lo - (pad if lo < 0 else 0.0), hi + pad)
        self.svg = self._draw()

    def scale(self, n_targeted: float, value: float) -> tuple[float, float]:
        """SVG coordinates of the data point ``(n_targeted, value)``."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        px = _LEFT + (n_targeted - x0) / (x1 - x0) * (_W - _LEFT - _RIGHT)
        py = _TOP + (y1 - value) / (y1 - y0) * (_H - _TOP - _BOTTOM)
        return px, py

    def _path(self, frame: pl.DataFrame, colour: str, name: str, dash: str | None, width: float) -> str:
        x, y = _thin(frame["n_targeted"].to_numpy(), frame["value"].to_numpy(), self.max_points)
        pts = [self.scale(float(a), float(b)) for a, b in zip(x, y)]
        d = "M" + " L".join(f"{px:.2f},{py:.2f}" for px, py in pts)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        return (
            f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"{dash_attr} '
            f'data-curve="{_esc(name)}"><title>{_esc(name)}</title></path>'
        )

    def _draw(self) -> str:
        title = "Qini curve" if self.kind == "qini" else "Uplift curve"
        y_label = (
            "incremental outcomes (Qini: y_t − y_c·n_t/n_c)" if self.kind == "qini" else "incremental outcomes ((ȳ_t − ȳ_c)·n)"
        )
        x0p, y_top = _LEFT, _TOP
        x1p, y_bot = _W - _RIGHT, _H - _BOTTOM
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W:g} {_H:g}" width="{_W:g}" height="{_H:g}" '
            f'role="img" aria-label="{title}" font-family="system-ui, sans-serif" font-size="11">',
            f'<text x="{x0p:g}" y="18" font-weight="600" font-size="12">{title}</text>',
        ]
        # grid and ticks
        for v in _nice_ticks(*self.y_range):
            _, py = self.scale(0.0, v)
            out.append(f'<line x1="{x0p:g}" y1="{py:.2f}" x2="{x1p:g}" y2="{py:.2f}" stroke="#eee"/>')
            out.append(f'<text x="{x0p - 6:g}" y="{py + 4:.2f}" text-anchor="end" fill="#666">{_tick_label(v)}</text>')
        for v in _nice_ticks(*self.x_range):
            px, _ = self.scale(v, 0.0)
            out.append(f'<line x1="{px:.2f}" y1="{y_bot:g}" x2="{px:.2f}" y2="{y_bot + 4:g}" stroke="#666"/>')
            out.append(f'<text x="{px:.2f}" y="{y_bot + 16:g}" text-anchor="middle" fill="#666">{_tick_label(v)}</text>')
        # axes, and the zero line when the range crosses it
        out.append(f'<line x1="{x0p:g}" y1="{y_top:g}" x2="{x0p:g}" y2="{y_bot:g}" stroke="#666"/>')
        out.append(f'<line x1="{x0p:g}" y1="{y_bot:g}" x2="{x1p:g}" y2="{y_bot:g}" stroke="#666"/>')
        if self.y_range[0] < 0:
            _, pz = self.scale(0.0, 0.0)
            out.append(f'<line x1="{x0p:g}" y1="{pz:.2f}" x2="{x1p:g}" y2="{pz:.2f}" stroke="#bbb"/>')
        out.append(
            f'<text x="{(x0p + x1p) / 2:.2f}" y="{_H - 12:g}" text-anchor="middle">units targeted (ranked by predicted uplift)</text>'
        )
        out.append(
            f'<text transform="translate(14 {(y_top + y_bot) / 2:.2f}) rotate(-90)" text-anchor="middle">{_esc(y_label)}</text>'
        )
        # curves: references first so the models draw on top
        legend: list[tuple[str, str, str | None]] = []
        models = [k for k in self.curves if k not in ("random", "perfect")]
        if "perfect" in self.curves:
            out.append(self._path(self.curves["perfect"], _PERFECT, "perfect", "2 3", 1.5))
        out.append(self._path(self.curves["random"], _RANDOM, "random", "6 4", 1.5))
        for i, name in enumerate(models):
            colour = _PALETTE[i % len(_PALETTE)]
            out.append(self._path(self.curves[name], colour, name, None, 2.0))
            legend.append((name, colour, None))
        legend.append(("random", _RANDOM, "6 4"))
        if "perfect" in self.curves:
            legend.append(("perfect", _PERFECT, "2 3"))
        # legend below the plot, in rows, so it never hides a curve
        x, row, items = x0p, 0, []
        for name, colour, dash in legend:
            width = 34 + 6.5 * len(name)
            if x > x0p and x + width > x1p:
                x, row = x0p, row + 1
            items.append((x, row, name, colour, dash))
            x += width + 14
        legend_top = _H + 6
        for x, row, name, colour, dash in items:
            yy = legend_top + 16 * row
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<line x1="{x:g}" y1="{yy:g}" x2="{x + 24:g}" y2="{yy:g}" stroke="{colour}" stroke-width="2"{dash_attr}/>'
            )
            out.append(f'<text x="{x + 30:g}" y="{yy + 4:g}">{_esc(name)}</text>')
        height = legend_top + 16 * (row + 1)
        out[0] = out[0].replace(
            f'viewBox="0 0 {_W:g} {_H:g}" width="{_W:g}" height="{_H:g}"',
            f'viewBox="0 0 {_W:g} {height:g}" width="{_W:g}" height="{height:g}"',
        )
        out.append("</svg>")
        return "".join(out)

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_html_(self) -> str:
        return f"<figure>{self.svg}</figure>"

    def save(self, path: str) -> None:
        """Writes the SVG to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)

    def __repr__(self) -> str:
        return f"<liftlab.uplift.UpliftPlot {self.kind}: {', '.join(self.curves)}>"


def _plot(
    kind: str,
    y_true: Any,
    uplift: Any,
    treatment: Any,
    label: str,
    others: Mapping[str, Any] | None,
    perfect: bool,
    negative_effect: bool,
    max_points: int,
) -> UpliftPlot:
    from liftlab import uplift as u

    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points < 2:
        raise InvalidInputError(f"max_points: must be an integer >= 2, got {max_points!r}")
    scores = {label: uplift, **dict(others or {})}
    if len(scores) != 1 + len(others or {}) or any(k in ("random", "perfect") for k in scores):
        raise InvalidInputError(f"others: names must differ from label {label!r} and from 'random' / 'perfect'")
    curve = u.qini_curve if kind == "qini" else u.uplift_curve
    curves = {name: curve(y_true, s, treatment) for name, s in scores.items()}
    first = curves[label]
    n_all, end = float(first["n_targeted"][-1]), float(first["value"][-1])
    curves["random"] = pl.DataFrame({"n_targeted": [0.0, n_all], "value": [0.0, end]})
    if perfect and _is_binary(y_true):
        curves["perfect"] = (
            u.perfect_qini_curve(y_true, treatment, negative_effect)
            if kind == "qini"
            else u.perfect_uplift_curve(y_true, treatment)
        )
    return UpliftPlot(kind, curves, max_points=int(max_points))


def qini_plot(
    y_true: Any,
    uplift: Any,
    treatment: Any,
    *,
    label: str = "model",
    others: Mapping[str, Any] | None = None,
    perfect: bool = True,
    negative_effect: bool = True,
    max_points: int = 400,
) -> UpliftPlot:
    """The Qini curve of ``uplift`` (and of each score in ``others``, ``{name: scores}``) with
    the random line and, for a binary outcome and ``perfect=True``, the perfect Qini curve
    (sklift's ``perfect_qini_curve(..., negative_effect)``) dotted. Arguments in sklift's order."""
    return _plot("qini", y_true, uplift, treatment, label, others, perfect, negative_effect, max_points)


def uplift_plot(
    y_true: Any,
    uplift: Any,
    treatment: Any,
    *,
    label: str = "model",
    others: Mapping[str, Any] | None = None,
    perfect: bool = True,
    max_points: int = 400,
) -> UpliftPlot:
    """The uplift curve (sklift's ``uplift_curve``) of ``uplift`` and of each score in
    ``others``, with the random line and, for a binary outcome, the perfect curve dotted."""
    return _plot("uplift", y_true, uplift, treatment, label, others, perfect, True, max_points)
