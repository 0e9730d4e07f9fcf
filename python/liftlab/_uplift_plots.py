"""Qini and uplift-curve plots as inline SVG (``liftlab.uplift.qini_plot`` / ``uplift_plot``).

The chart is the core's (``liftlab::report::uplift_chart``, drawn once for every face): the curves
are :func:`liftlab.uplift.qini_curve` / :func:`~liftlab.uplift.uplift_curve` (sklift's
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

from collections.abc import Mapping
from typing import Any

import polars as pl

from liftlab import _core

__all__ = ["UpliftPlot", "qini_plot", "uplift_plot"]


class UpliftPlot:
    """A Qini or uplift-curve plot (SVG), shown inline in notebooks.

    ``curves`` maps each drawn curve's name (the model labels, then ``"random"`` and, for a
    binary outcome, ``"perfect"``) to its points, a polars DataFrame ``n_targeted`` / ``value``;
    :meth:`scale` maps a data point to SVG coordinates; ``svg`` is the drawing, one ``<path>``
    per curve; ``x_range`` / ``y_range`` are the axes' data ranges.
    """

    def __init__(self, kind: str, chart: Any) -> None:
        self.kind = kind
        self._chart = chart
        self.curves = {name: pl.DataFrame({"n_targeted": x, "value": v}) for name, (x, v) in chart.curves}
        self.svg: str = chart.svg
        self.x_range: tuple[float, float] = chart.x_range
        self.y_range: tuple[float, float] = chart.y_range

    def scale(self, n_targeted: float, value: float) -> tuple[float, float]:
        """SVG coordinates of the data point ``(n_targeted, value)``."""
        return tuple(self._chart.scale(float(n_targeted), float(value)))  # type: ignore[return-value]

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


def _plot(kind: str, y_true: Any, uplift: Any, treatment: Any, label: str, others: Mapping[str, Any] | None, **draw: Any) -> UpliftPlot:
    from liftlab.uplift import _column

    others = dict(others or {})
    names = [label, *others]  # a repeated or reserved name is the core's error, naming 'others'
    cols = [_column(uplift), *(_column(v) for v in others.values())]
    chart = _core._uplift_chart(kind, _column(y_true), _column(treatment), names, cols, **draw)
    return UpliftPlot(kind, chart)


def qini_plot(
    y_true: Any, uplift: Any, treatment: Any, *, label: str = "model", others: Mapping[str, Any] | None = None,
    perfect: bool = True, negative_effect: bool = True, max_points: int = 400,
) -> UpliftPlot:  # fmt: skip
    """The Qini curve of ``uplift`` (and of each score in ``others``, ``{name: scores}``) with
    the random line and, for a binary outcome and ``perfect=True``, the perfect Qini curve
    (sklift's ``perfect_qini_curve(..., negative_effect)``) dotted. Arguments in sklift's order."""
    draw = {"perfect": perfect, "negative_effect": negative_effect, "max_points": max_points}
    return _plot("qini", y_true, uplift, treatment, label, others, **draw)


def uplift_plot(
    y_true: Any, uplift: Any, treatment: Any, *, label: str = "model", others: Mapping[str, Any] | None = None,
    perfect: bool = True, max_points: int = 400,
) -> UpliftPlot:  # fmt: skip
    """The uplift curve (sklift's ``uplift_curve``) of ``uplift`` and of each score in
    ``others``, with the random line and, for a binary outcome, the perfect curve dotted."""
    draw = {"perfect": perfect, "negative_effect": True, "max_points": max_points}
    return _plot("uplift", y_true, uplift, treatment, label, others, **draw)
