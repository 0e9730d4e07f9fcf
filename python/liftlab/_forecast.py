"""Forecasting: a metric tree and the PM's expected change in, a :class:`Forecast` out.

A thin wrapper over the Rust core (``liftlab::forecast::forecast_impact``): the request crosses
as JSON, exactly the object ``POST /v1/forecast`` takes and ``liftlab forecast --spec FILE``
reads from TOML, so the four doors give the same numbers. The charts are drawn here, as SVG.
"""

from __future__ import annotations

import html
import inspect
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Union

import polars as pl

from liftlab import _core
from liftlab._assign import _toml_text
from liftlab.exceptions import InvalidInputError, LiftlabWarning

RequestLike = Union[str, "os.PathLike[str]", Mapping[str, Any]]

#: Days in a month and a year, as the core counts them (``per_month`` and ``per_year``).
DAYS_PER_MONTH = 30.4375
DAYS_PER_YEAR = 365.25

#: The central bands of the fan chart and the quantiles that bound them (the core's ``FAN_LEVELS``).
FAN_BANDS = ((0.95, 0.025, 0.975), (0.90, 0.05, 0.95), (0.80, 0.10, 0.90), (0.50, 0.25, 0.75))

_DESIGN_KEYS = ("alpha", "power", "alternative", "ratio", "variants", "variance_reduction", "sequential")


class Interval(NamedTuple):
    """An estimate with its interval."""

    estimate: float
    low: float
    high: float


# --- building the request -------------------------------------------------------------------


def _number(v: Any, field: str) -> Any:
    """A JSON-ready number: numpy scalars unwrapped, NaN and infinities refused by name."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return v  # let the core say what it expected
    if isinstance(v, float) and not math.isfinite(v):
        raise InvalidInputError(f"{field}: {v} is not a finite number")
    return v


def _clean(obj: Any, field: str) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _clean(v, f"{field}.{k}" if field else str(k)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v, f"{field}[{i}]") for i, v in enumerate(obj)]
    return _number(obj, field)


def _rows(table: Any, names: Sequence[str], field: str) -> list[Any]:
    """Rows of a list of dicts / tuples, a {key: tuple} mapping or a polars/pandas DataFrame."""
    if isinstance(table, pl.DataFrame):
        return table.to_dicts()
    if hasattr(table, "to_dict") and hasattr(table, "columns"):  # pandas
        return list(table.to_dict("records"))
    if isinstance(table, Mapping):
        return [(k, *(v if isinstance(v, (list, tuple)) else (v,))) for k, v in table.items()]
    if isinstance(table, (str, bytes)) or not isinstance(table, Sequence):
        raise InvalidInputError(f"{field}: expected a list of dicts or of ({', '.join(names)}) tuples")
    return list(table)


def _records(table: Any, names: Sequence[str], field: str) -> list[Any]:
    out = []
    for i, row in enumerate(_rows(table, names, field)):
        if isinstance(row, Mapping):
            out.append(dict(row))
        elif isinstance(row, (list, tuple)):
            if len(row) != len(names):
                raise InvalidInputError(f"{field}[{i}]: expected ({', '.join(names)}), got {len(row)} values")
            out.append(dict(zip(names, row)))
        else:
            raise InvalidInputError(f"{field}[{i}]: expected a dict or a ({', '.join(names)}) tuple")
    return out


def _plan(plan: Any) -> dict[str, Any] | None:
    if plan is None or plan is False:
        return None
    if plan is True:
        return {}
    if not isinstance(plan, Mapping):
        raise InvalidInputError(f"plan: expected a dict (metric, std_dev, max_days, design), got {type(plan).__name__}")
    p = dict(plan)
    design = dict(p.pop("design", None) or {})
    for k in _DESIGN_KEYS:  # flat design keys are allowed: plan={"power": 0.9, "max_days": 21}
        if k in p:
            design[k] = p.pop(k)
    if isinstance(design.get("sequential"), str):
        design["sequential"] = {"method": design["sequential"]}
    if design:
        p["design"] = design
    return p


def _history(history: Any) -> dict[str, Any] | None:
    if history is None:
        return None
    if not isinstance(history, Mapping):
        raise InvalidInputError(f"history: expected a dict (past, win_rate), got {type(history).__name__}")
    h = dict(history)
    past = h.get("past")
    if past is not None:
        if isinstance(past, pl.DataFrame) or hasattr(past, "columns"):
            # a table of past experiments may carry more columns (name, date): keep the two used
            cols = [c for c in past.columns if c in ("effect", "std_err")]
            past = past[cols]
        h["past"] = _records(past, ("effect", "std_err"), "history.past")
    return h


def _read_request(request: RequestLike) -> dict[str, Any]:
    if isinstance(request, Mapping):
        return dict(request)
    text = _toml_text(request, "request")
    if text is None:
        raise InvalidInputError(f"request: expected a dict, a path to a TOML file or TOML text, got {type(request).__name__}")
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python < 3.11
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise ImportError("reading a TOML request needs Python 3.11+ or `pip install tomli`") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InvalidInputError(f"request: not valid TOML: {e}") from None


def forecast_impact(
    nodes: Any = None,
    changes: Any = None,
    *,
    coverage: float = 1.0,
    dilution: float = 0.0,
    period_days: float = 1.0,
    draws: int = 100_000,
    seed: int = 0,
    confidence: float = 0.95,
    unit: str | None = None,
    plan: Any = None,
    history: Any = None,
    language: str = "en",
    request: RequestLike | None = None,
) -> Forecast:
    """Projects what a change does to a topline, before launch.

    ``nodes`` is the metric tree, upstream first; the topline is their product: ``count`` (units
    per ``period_days``), ``rate`` (a share in [0, 1]) and ``value`` nodes, as dicts
    ``{"name", "kind", "baseline"}`` or ``(name, kind, baseline)`` tuples. ``changes`` gives the
    expected relative change of one or more nodes as a 90% range, ``{"node", "low", "likely",
    "high"}`` or ``(node, low, likely, high)`` (0.05 = +5%); it reaches the share ``coverage``
    of the population. ``dilution`` is the share of downstream conversion lost by the extra
    units an upstream change brings. Every share (rates, ``coverage``, ``dilution``, changes) is
    a fraction: 0.5 is half; an implausible one (a coverage of 0.005) is warned about.
    ``unit`` names the topline's unit (a currency such as ``"CNY"``), written after amounts.
    A value node may carry ``"std_dev"`` (among the units reaching it) so the plan can derive the
    topline's standard deviation.

    ``plan`` adds the test that would follow (``{"metric", "std_dev", "max_days", "design"}``:
    ``metric`` is the node the test reads, by default the lowest node the change acts on, with
    the topline's plan beside it; ``std_dev`` only where it cannot be derived from the tree; the design
    keys ``alpha``, ``power``, ``alternative``, ``ratio``, ``variants``, ``variance_reduction``,
    ``sequential`` may be given flat; ``plan=True`` for the defaults; the sample-size formulas are
    those of :func:`liftlab.sample_size`). ``history`` (``{"past": [(effect, std_err), ...],
    "win_rate"}``) adds an empirical-Bayes prior from past experiments, the chance of success
    and the false-positive risk.

    ``language`` is the language of the answer's sentences (the PRD paragraph, the formula, the
    plan's mapping and notes, the warnings): ``"en"`` or ``"zh-CN"`` (Simplified Chinese); the
    numbers are the same in both, and another value is an ``InvalidInputError`` naming
    ``language``.

    Instead of ``nodes`` and ``changes`` a whole request can be given (as ``request=`` or first
    argument): the dict of ``POST /v1/forecast``, or a path to a TOML file such as
    ``examples/forecast.toml`` (what ``liftlab forecast --spec`` reads). Keyword arguments that
    differ from their defaults then override the request's.

    >>> import liftlab
    >>> f = liftlab.forecast_impact(
    ...     [("visitors", "count", 10_000), ("conversion", "rate", 0.04), ("order_value", "value", 60.0)],
    ...     [("conversion", 0.02, 0.05, 0.08)],  # +2% to +8%, most likely +5%
    ...     coverage=0.5, seed=7)
    >>> round(f.relative_likely, 4)  # half the traffic sees +5%
    0.025
    >>> f.most_sensitive
    'conversion'
    """
    if isinstance(nodes, (str, os.PathLike)) or (isinstance(nodes, Mapping) and "model" in nodes):
        if request is not None:
            raise InvalidInputError("request: given twice (first argument and request=)")
        request, nodes = nodes, None
    model_kw = {
        "coverage": coverage,
        "dilution": dilution,
        "period_days": period_days,
        "draws": draws,
        "seed": seed,
        "confidence": confidence,
    }
    if unit is not None:
        model_kw["unit"] = unit
    if request is not None:
        if nodes is not None or changes is not None:
            raise InvalidInputError("request: give either a request or nodes and changes, not both")
        req = _read_request(request)
        model = dict(req.get("model") or {})
        defaults = inspect.signature(forecast_impact).parameters
        model.update({k: v for k, v in model_kw.items() if v != defaults[k].default})
        req["model"] = model
        if plan is not None:
            req["plan"] = plan
        if history is not None:
            req["history"] = history
        if "plan" in req:
            req["plan"] = _plan(req["plan"])
        if "history" in req:
            req["history"] = _history(req["history"])
        req = {k: v for k, v in req.items() if v is not None}
        if language != defaults["language"].default:
            req["language"] = language  # after the Nones are dropped: None is refused by the core
    else:
        if nodes is None or changes is None:
            raise InvalidInputError("nodes: give the metric tree (nodes) and the expected changes, or a request")
        model = {
            "nodes": _records(nodes, ("name", "kind", "baseline"), "nodes"),
            "changes": _records(changes, ("node", "low", "likely", "high"), "changes"),
            **model_kw,
        }
        req = {"model": model, "language": language}
        if (p := _plan(plan)) is not None:
            req["plan"] = p
        if (h := _history(history)) is not None:
            req["history"] = h
    req = _clean(req, "")
    out = Forecast(_core._forecast_impact(json.dumps(req)), req)
    for w in out.warnings:
        warnings.warn(f"{w['field']}: {w['message']}", LiftlabWarning, stacklevel=2)
    return out


# --- formatting -----------------------------------------------------------------------------


def _pct(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x * 100:+.{digits}f}%"


def _share(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "–"
    edge = 0.5 * 10**-digits / 100  # what would round to 0% or 100% without being it
    if 0 < x <= edge:
        return f"<{10**-digits:g}%"
    if 1 - edge <= x < 1:
        return f">{100 - 10**-digits:g}%"
    return f"{x * 100:.{digits}f}%"


def _prob(x: float | None) -> str:
    """A probability from a continuous distribution: an exact 0 or 1 is a rounded tail, so "<1%" / ">99%"."""
    if x is not None and x < 0.005:
        return "<1%"
    if x is not None and x > 0.995:
        return ">99%"
    return _share(x)


def _num(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "–"
    sign = "+" if signed else ""
    if abs(x) >= 100:
        return f"{x:{sign},.0f}"
    if abs(x) >= 1:
        return f"{x:{sign}.2f}"
    return f"{x:{sign}.4g}"


def _amount(x: float | None, unit: str | None) -> str:
    return _num(x) + (f" {unit}" if unit and x is not None else "")


def _num_iv(iv: Interval) -> str:
    """An interval in one format, chosen by its largest number: ``+3.90 (+0.11 to +7.99)``."""
    big = max(abs(iv.estimate), abs(iv.low), abs(iv.high))
    spec = "+,.0f" if big >= 100 else "+.2f" if big >= 1 else "+.4g"
    return f"{iv.estimate:{spec}} ({iv.low:{spec}} to {iv.high:{spec}})"


def _esc(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    out = []
    t = start
    while t <= hi + 1e-9 * span:
        out.append(0.0 if abs(t) < 1e-12 * span else t)
        t += step
    return out


_SVG_HEAD = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
    'aria-label="{label}" font-family="system-ui, sans-serif" font-size="12">'
)


class _Svg:
    """An SVG chart shown inline in notebooks (the pattern of :class:`liftlab.ForestPlot`)."""

    def __init__(self, svg: str):
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_html_(self) -> str:
        return self.svg

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)


class FanChart(_Svg):
    """The projected cumulative absolute gain over time: median and 50/80/90/95% bands."""


class TornadoChart(_Svg):
    """The projected lift with each changed node at its low and high (others at likely)."""


def _fan_svg(quantiles: Mapping[float, float], per_day_scale: float, months: int, median_label: str) -> str:
    """Cumulative gain after t days is ``t · per_day``; its p-quantile is ``t · q_p(per_day)``."""
    w, h, left, right, top, bottom = 640, 320, 78, 150, 34, 44
    days = months * DAYS_PER_MONTH
    q = {p: v * per_day_scale * days for p, v in quantiles.items()}
    lo, hi = min(0.0, *q.values()), max(0.0, *q.values())
    pad = (hi - lo) * 0.06 or 1.0
    lo, hi = lo - (pad if lo < 0 else 0), hi + pad
    pw, ph = w - left - right, h - top - bottom

    def x(d: float) -> float:
        return left + d / days * pw

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * ph

    s = [_SVG_HEAD.format(w=w, h=h, label="Fan chart of the projected cumulative gain")]
    s.append(f'<text x="{left}" y="18" font-weight="600">projected cumulative gain since launch (topline units)</text>')
    for t in _nice_ticks(lo, hi):
        s.append(f'<line x1="{left}" y1="{y(t):.1f}" x2="{left + pw}" y2="{y(t):.1f}" stroke="#eee"/>')
        s.append(f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" fill="#666">{_esc(_num(t))}</text>')
    step = 1 if months <= 12 else max(1, months // 12)
    for m in range(0, months + 1, step):
        s.append(f'<text x="{x(m * DAYS_PER_MONTH):.1f}" y="{h - bottom + 16}" text-anchor="middle" fill="#666">{m}</text>')
    s.append(f'<text x="{left + pw / 2:.1f}" y="{h - 8}" text-anchor="middle" fill="#666">months since launch</text>')
    opacity = {0.95: 0.15, 0.90: 0.22, 0.80: 0.30, 0.50: 0.45}
    for level, plo, phi in FAN_BANDS:
        pts = f"{x(0):.1f},{y(0):.1f} {x(days):.1f},{y(q[phi]):.1f} {x(days):.1f},{y(q[plo]):.1f}"
        s.append(
            f'<polygon points="{pts}" fill="#1565c0" fill-opacity="{opacity[level]}">'
            f"<title>{level:.0%} band after {months} months: {_esc(_num(q[plo]))} to {_esc(_num(q[phi]))}</title></polygon>"
        )
    s.append(f'<line x1="{left}" y1="{y(0):.1f}" x2="{left + pw}" y2="{y(0):.1f}" stroke="#888" stroke-dasharray="4 3"/>')
    s.append(
        f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(days):.1f}" y2="{y(q[0.5]):.1f}" stroke="#0d47a1" stroke-width="2">'
        f"<title>median after {months} months: {_esc(_num(q[0.5]))}</title></line>"
    )
    # labels at the right edge: the median and each band's bounds after `months`
    lx = left + pw + 8
    s.append(
        f'<text x="{lx}" y="{y(q[0.5]) + 4:.1f}" fill="#0d47a1" font-weight="600">{_esc(median_label)} {_esc(_num(q[0.5], True))}</text>'
    )
    used = [y(q[0.5])]
    for level, plo, phi in FAN_BANDS:
        for p in (plo, phi):
            yy = y(q[p])
            if all(abs(yy - u) >= 13 for u in used):
                used.append(yy)
                s.append(f'<text x="{lx}" y="{yy + 4:.1f}" fill="#555">{level:.0%}: {_esc(_num(q[p], True))}</text>')
    s.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>')
    s.append("</svg>")
    return "".join(s)


def _tornado_svg(rows: Sequence[Mapping[str, Any]], changes: Mapping[str, Mapping[str, float]], likely: float) -> str:
    w, label_w, right, row_h, top = 640, 190, 30, 30, 40
    pw = w - label_w - right
    h = top + row_h * len(rows) + 40
    vals = [likely, 0.0] + [r["at_low"] for r in rows] + [r["at_high"] for r in rows]
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.08 or 0.01
    lo, hi = lo - pad, hi + pad

    def x(v: float) -> float:
        return label_w + (v - lo) / (hi - lo) * pw

    s = [_SVG_HEAD.format(w=w, h=h, label="Tornado chart of the sensitivities")]
    s.append(f'<text x="{label_w}" y="18" font-weight="600">projected lift with one node at its low / high</text>')
    y_end = top + row_h * len(rows)
    for t in _nice_ticks(lo, hi):
        s.append(f'<line x1="{x(t):.1f}" y1="{top - 6}" x2="{x(t):.1f}" y2="{y_end}" stroke="#eee"/>')
        s.append(f'<text x="{x(t):.1f}" y="{y_end + 16}" text-anchor="middle" fill="#666">{_esc(_pct(t, 1))}</text>')
    if lo < 0 < hi:
        s.append(f'<line x1="{x(0):.1f}" y1="{top - 6}" x2="{x(0):.1f}" y2="{y_end}" stroke="#888" stroke-dasharray="4 3"/>')
    for i, r in enumerate(rows):
        yc = top + row_h * (i + 0.5)
        c = changes.get(r["node"], {})
        rng = f"{_pct(c.get('low'), 1)} / {_pct(c.get('likely'), 1)} / {_pct(c.get('high'), 1)}" if c else ""
        s.append(f'<text x="4" y="{yc - 1:.1f}">{_esc(r["node"])}</text>')
        s.append(f'<text x="4" y="{yc + 12:.1f}" fill="#888" font-size="10">{_esc(rng)}</text>')
        for v, colour, end in ((r["at_low"], "#c62828", "low"), (r["at_high"], "#2e7d32", "high")):
            a, b = sorted((x(likely), x(v)))
            s.append(
                f'<rect x="{a:.1f}" y="{yc - 9:.1f}" width="{max(b - a, 1):.1f}" height="18" fill="{colour}" fill-opacity="0.75">'
                f"<title>{_esc(r['node'])} at its {end}: lift {_esc(_pct(v))}</title></rect>"
            )
    s.append(f'<line x1="{x(likely):.1f}" y1="{top - 6}" x2="{x(likely):.1f}" y2="{y_end}" stroke="#222" stroke-width="1.5"/>')
    s.append(f'<text x="{x(likely):.1f}" y="{top - 10}" text-anchor="middle" fill="#222">likely {_esc(_pct(likely))}</text>')
    s.append(
        f'<text x="{label_w}" y="{h - 6}" fill="#666"><tspan fill="#c62828">■</tspan> node at its low  '
        f'<tspan fill="#2e7d32">■</tspan> node at its high</text>'
    )
    s.append("</svg>")
    return "".join(s)


def _table(title: str, rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(
        f"<tr><td style='text-align:left'>{_esc(k)}</td><td style='text-align:right'>{_esc(v)}</td></tr>" for k, v in rows
    )
    return (
        f"<table><thead><tr><th colspan='2' style='text-align:left'>{_esc(title)}</th></tr></thead><tbody>{body}</tbody></table>"
    )


# --- the result -----------------------------------------------------------------------------


class Forecast:
    """A projection: the same JSON ``liftlab forecast --json`` prints and ``POST /v1/forecast`` returns.

    ``relative`` (the Monte Carlo mean and interval of the relative lift), ``absolute``,
    ``per_day``, ``per_month`` and ``per_year`` are :class:`Interval` tuples; ``plan``,
    ``prior`` and ``realism`` are dicts or None. In Jupyter it renders as tables with a fan
    chart and a tornado chart.
    """

    def __init__(self, report_json: str, request: Mapping[str, Any]):
        self._json = report_json
        self._data = json.loads(report_json)
        self._request = json.loads(json.dumps(request))
        self._f = self._data["forecast"]

    def _iv(self, key: str) -> Interval:
        d = self._f[key]
        return Interval(d["estimate"], d["low"], d["high"])

    # the key numbers
    @property
    def relative(self) -> Interval:
        """Relative lift of the topline: Monte Carlo mean and ``confidence`` interval."""
        return self._iv("relative")

    @property
    def absolute(self) -> Interval:
        """The lift in topline units per ``period_days``."""
        return self._iv("absolute")

    @property
    def per_day(self) -> Interval:
        return self._iv("per_day")

    @property
    def per_month(self) -> Interval:
        return self._iv("per_month")

    @property
    def per_year(self) -> Interval:
        return self._iv("per_year")

    @property
    def relative_delta(self) -> Interval:
        """The relative lift by the delta method on the log scale (a check on the Monte Carlo one)."""
        return self._iv("relative_delta")

    @property
    def relative_likely(self) -> float:
        """The relative lift with every node at its ``likely`` change."""
        return self._f["relative_likely"]

    @property
    def relative_std_dev(self) -> float:
        return self._f["relative_std_dev"]

    @property
    def baseline(self) -> float:
        """The topline now, per ``period_days``."""
        return self._f["baseline"]

    @property
    def formula(self) -> str:
        """The formula with the numbers substituted, for the PRD."""
        return self._f["formula"]

    @property
    def most_sensitive(self) -> str | None:
        return self._f["most_sensitive"]

    @property
    def quantiles(self) -> dict[float, float]:
        """Quantiles of the relative lift, ``{p: value}`` at p = 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975."""
        return {p: v for p, v in self._f["quantiles"]}

    @property
    def confidence(self) -> float:
        return self._f["confidence"]

    @property
    def draws(self) -> int:
        return self._f["draws"]

    @property
    def seed(self) -> int:
        return self._f["seed"]

    @property
    def plan(self) -> dict[str, Any] | None:
        """The test plan: sample size, duration, MDE and power within ``max_days`` (when asked)."""
        return self._data.get("plan")

    @property
    def prior(self) -> dict[str, Any] | None:
        """The empirical-Bayes prior of past effects (``mean``, ``tau2``, ``experiments``)."""
        return self._data.get("prior")

    @property
    def realism(self) -> dict[str, Any] | None:
        """The forecast seen through the prior: ``expected_lift``, ``prob_positive``, ``prob_above_mde``."""
        return self._data.get("realism")

    @property
    def false_positive_risk(self) -> float | None:
        return self._data.get("false_positive_risk")

    @property
    def request(self) -> dict[str, Any]:
        """The request as sent to the core (a dict ``POST /v1/forecast`` accepts)."""
        return json.loads(json.dumps(self._request))

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self._json)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self._data, indent=indent)

    # tables
    def _changes(self) -> dict[str, dict[str, float]]:
        return {c["node"]: c for c in self._request["model"]["changes"]}

    def sensitivity(self) -> pl.DataFrame:
        """One row per changed node, widest swing first: its range and the lift at its low / high."""
        ch = self._changes()
        rows = [
            {
                "node": s["node"],
                "low": ch[s["node"]]["low"],
                "likely": ch[s["node"]]["likely"],
                "high": ch[s["node"]]["high"],
                "at_low": s["at_low"],
                "at_high": s["at_high"],
                "swing": s["swing"],
            }
            for s in self._f["sensitivity"]
        ]
        schema = {k: pl.Float64 for k in ("low", "likely", "high", "at_low", "at_high", "swing")}
        return pl.DataFrame(rows, schema={"node": pl.String, **schema})

    def cumulative_gain(self, months: int = 12) -> pl.DataFrame:
        """The fan chart's numbers: the cumulative absolute gain at the end of each month since
        launch, at each quantile (``q0.025`` ... ``q0.975``). The lift is one unknown number, so
        its uncertainty does not average out over time: the bands widen in proportion to time."""
        scale = self.baseline / self._period_days()
        rows = []
        for m in range(months + 1):
            d = m * DAYS_PER_MONTH
            rows.append({"month": m, "day": d, **{f"q{p:g}": v * scale * d for p, v in self.quantiles.items()}})
        return pl.DataFrame(rows)

    def _period_days(self) -> float:
        return float(self._request["model"].get("period_days", 1.0))

    # charts
    def fan_chart(self, months: int = 12) -> FanChart:
        """The projected cumulative absolute gain over ``months`` since launch: median line and
        50/80/90/95% bands from the Monte Carlo quantiles of the lift."""
        if not (isinstance(months, int) and 1 <= months <= 120):
            raise InvalidInputError(f"months: {months} is not a whole number of months in 1..=120")
        return FanChart(_fan_svg(self.quantiles, self.baseline / self._period_days(), months, "median"))

    def tornado_chart(self) -> TornadoChart:
        """Each changed node from its low to its high with the others at likely (widest first)."""
        return TornadoChart(_tornado_svg(self._f["sensitivity"], self._changes(), self.relative_likely))

    # prose
    def prd_paragraph(self) -> str:
        """A paste-ready paragraph for the PRD, written by the core (the page and the CLI show the
        same text): the expected impact with its interval and median, the formula, the test (which
        metric it reads, how its result maps to the topline, the topline's plan beside it) and,
        with history, the chance of success and the history it comes from."""
        return str(self._data.get("prd_paragraph", ""))

    @property
    def warnings(self) -> list[dict[str, str]]:
        """Allowed but implausible inputs, each ``{"field", "message"}`` (also issued as Python warnings)."""
        return [dict(w) for w in self._data.get("warnings", [])]

    @property
    def median(self) -> float:
        """The median of the simulated relative lifts (the headline ``relative.estimate`` is the mean)."""
        return float(self._f.get("median", self.relative.estimate))

    @property
    def reached(self) -> Interval:
        """The relative lift among the units the change reaches (``relative / coverage``): what a test on them measures."""
        return self._iv("reached")

    def _design(self) -> dict[str, Any]:
        return dict((self._request.get("plan") or {}).get("design") or {})

    def _max_days(self) -> float:
        return float((self._request.get("plan") or {}).get("max_days", 28.0))

    # reconciliation
    def reconcile(self, report: Any, metric: str, variant: str | None = None) -> Reconciliation:
        """Sets this forecast against the observed lift of ``metric`` (treatment ``variant``, needed
        when the report has several) in a liftlab analysis report: a :class:`liftlab.Report`, its
        dict or its JSON text. A test measures the lift among the units it reaches, so both are
        compared on that scale: the forecast's topline lift is divided by its ``coverage``."""
        if hasattr(report, "to_json") and hasattr(report, "decision"):
            text = report.to_json(indent=None)
        elif isinstance(report, Mapping):
            text = json.dumps(report)
        elif isinstance(report, str):
            text = report
        else:
            raise InvalidInputError(f"report: expected a liftlab Report, its dict or JSON, got {type(report).__name__}")
        coverage = float(self._request["model"].get("coverage", 1.0))
        out = json.loads(_core._reconcile(json.dumps(self._f["relative"]), coverage, text, metric, variant))
        if variant is None:  # the core found the report's only treatment
            m = next(m for m in json.loads(text)["metrics"] if m["name"] == metric)
            variant = m["effects"][0]["variant"]
        rec = out["reconciliation"]
        reached = Interval(rec["forecast"], rec["forecast_low"], rec["forecast_high"])
        return Reconciliation(out, metric, variant, reached, self.confidence)

    # display
    def _html_tables(self) -> str:
        f, r = self._f, self.relative
        level = f"{self.confidence:.0%}"
        proj = [
            (f"topline now (per {f.get('period') or 'day'})", _amount(self.baseline, f.get("unit"))),
            (f"relative lift (Monte Carlo mean, {level} interval)", f"{_pct(r.estimate)} ({_pct(r.low)} to {_pct(r.high)})"),
            ("… median of the simulated lifts", _pct(self.median)),
            (
                "… delta method",
                f"{_pct(self.relative_delta.estimate)} ({_pct(self.relative_delta.low)} to {_pct(self.relative_delta.high)})",
            ),
            ("… at the likely changes", _pct(self.relative_likely)),
        ]
        for p in f.get("periods") or []:  # one name per length of time, as the core chose them
            iv = Interval(p["lift"]["estimate"], p["lift"]["low"], p["lift"]["high"])
            proj.append((f"absolute gain {p['label']}", _num_iv(iv) + (f" {f['unit']}" if f.get("unit") else "")))
        proj += [("most sensitive to", self.most_sensitive or "–"), ("draws / seed", f"{f['draws']:,} / {f['seed']}")]
        out = [_table("Projection", proj)]
        p = self.plan
        if p:
            b = p["baseline"]
            base = (
                f"rate {_share(b['rate'], 2)}"
                if b["kind"] == "proportion"
                else f"mean {_num(b['mean'])}, sd {_num(b['std_dev'])}"
            )
            ss = p["sample_size"]
            rows = [
                ("the test reads", p.get("metric_label") or "the topline per unit"),
                ("per-unit baseline", base),
                ("effect designed for (per unit)", _pct(p["rel_effect"])),
                ("units: control / per variant / total", f"{ss['n_control']:,} / {ss['n_per_variant']:,} / {ss['n_total']:,}"),
                ("power at that size", _share(ss["power"], 1)),
                ("duration", f"{p['duration_days']} days at {_num(p['daily_units'])} units a day"),
                (f"MDE in {self._max_days():g} days", _pct(p["mde_at_max_days"]["rel_effect"])),
                (f"power in {self._max_days():g} days", _share(p["power_at_max_days"], 1)),
            ]
            t = p.get("topline")
            if t:
                rows.append(("read on the topline instead", f"{t['sample_size']['n_control']:,} per arm, {t['duration_days']:,} days"))
            rows += [("note", n) for n in p.get("notes", [])]
            rows += [("needed", m["message"]) for m in p.get("missing", [])]
            out.append(_table("Test plan", rows))
        rows = []
        if self.prior:
            pr = self.prior
            rows += [
                ("past experiments", str(pr["experiments"])),
                ("prior: mean, sd of true effects", f"{_pct(pr['mean'])}, {_pct(math.sqrt(pr['tau2']))[1:]}"),
            ]
        if self.realism:
            re_ = self.realism
            rows += [
                ("expected lift (shrunk)", f"{_pct(re_['expected_lift'])} ± {_pct(re_['std_dev'])[1:]}"),
                ("chance the lift is above zero", _prob(re_["prob_positive"])),
                ("chance the lift is above the MDE", _prob(re_.get("prob_above_mde"))),
            ]
        if self.false_positive_risk is not None:
            rows.append(("false-positive risk of a win", _share(self.false_positive_risk, 1)))
        if rows:
            out.append(_table("Realism from history", rows))
        return "<div style='display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start'>" + "".join(out) + "</div>"

    def _repr_html_(self) -> str:
        return (
            "<div class='liftlab-forecast'>"
            + self._html_tables()
            + f"<p style='max-width:60em'>{_esc(self.formula)}</p>"
            + "<div style='display:flex;gap:1em;flex-wrap:wrap'>"
            + self.fan_chart().svg
            + self.tornado_chart().svg
            + "</div></div>"
        )

    def __repr__(self) -> str:
        r = self.relative
        return f"<liftlab.Forecast lift {_pct(r.estimate)} ({self.confidence:.0%}: {_pct(r.low)} to {_pct(r.high)}), {self.draws:,} draws>"


class Reconciliation:
    """A forecast set against what the experiment observed (relative lifts)."""

    def __init__(self, data: Mapping[str, Any], metric: str, variant: str | None, forecast: Interval, confidence: float):
        self._data = dict(data)
        self.metric, self.variant = metric, variant
        self.forecast_interval, self.confidence = forecast, confidence
        rec, obs = data["reconciliation"], data["observed"]
        self.forecast: float = rec["forecast"]
        self.observed: float = rec["observed"]
        self.error: float = rec["error"]
        self.covered: bool = rec["covered"]
        self.direction_hit: bool = rec["direction_hit"]
        self.observed_low: float | None = obs.get("low")
        self.observed_high: float | None = obs.get("high")
        self.p_value: float | None = obs.get("p_value")
        self.significant_win: bool = obs["significant_win"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "variant": self.variant,
            "forecast": self.forecast,
            "forecast_low": self.forecast_interval.low,
            "forecast_high": self.forecast_interval.high,
            "confidence": self.confidence,
            "observed": self.observed,
            "observed_low": self.observed_low,
            "observed_high": self.observed_high,
            "p_value": self.p_value,
            "significant_win": self.significant_win,
            "error": self.error,
            "covered": self.covered,
            "direction_hit": self.direction_hit,
        }

    def _svg(self) -> str:
        fi = self.forecast_interval
        vals = [0.0, fi.low, fi.high, self.observed] + [v for v in (self.observed_low, self.observed_high) if v is not None]
        lo, hi = min(vals), max(vals)
        pad = (hi - lo) * 0.08 or 0.01
        lo, hi = lo - pad, hi + pad
        w, label_w, pw = 520, 90, 410

        def x(v: float) -> float:
            return label_w + (v - lo) / (hi - lo) * pw

        s = [_SVG_HEAD.format(w=w, h=96, label="Forecast against the observed lift")]
        if lo < 0 < hi:
            s.append(f'<line x1="{x(0):.1f}" y1="8" x2="{x(0):.1f}" y2="72" stroke="#888" stroke-dasharray="4 3"/>')
        rows = (
            ("forecast", fi.estimate, fi.low, fi.high, "#1565c0"),
            ("observed", self.observed, self.observed_low, self.observed_high, "#222"),
        )
        for i, (name, est, a, b, colour) in enumerate(rows):
            y = 24 + 30 * i
            s.append(f'<text x="4" y="{y + 4}">{name}</text>')
            if a is not None and b is not None:
                s.append(f'<line x1="{x(a):.1f}" y1="{y}" x2="{x(b):.1f}" y2="{y}" stroke="{colour}" stroke-width="2"/>')
            s.append(
                f'<rect x="{x(est) - 4:.1f}" y="{y - 4}" width="8" height="8" fill="{colour}"><title>{name} {_esc(_pct(est))}</title></rect>'
            )
        for t in _nice_ticks(lo, hi, 4):
            s.append(f'<text x="{x(t):.1f}" y="90" text-anchor="middle" fill="#666">{_esc(_pct(t, 1))}</text>')
        s.append("</svg>")
        return "".join(s)

    def _repr_html_(self) -> str:
        fi = self.forecast_interval
        obs_iv = (
            f" ({_pct(self.observed_low)} to {_pct(self.observed_high)})"
            if self.observed_low is not None and self.observed_high is not None
            else ""
        )
        what = f"{self.metric}" + (f" · {self.variant}" if self.variant else "")
        rows = [
            (f"forecast ({self.confidence:.0%} interval)", f"{_pct(self.forecast)} ({_pct(fi.low)} to {_pct(fi.high)})"),
            ("observed (95% interval)", f"{_pct(self.observed)}{obs_iv}"),
            ("error (forecast − observed)", _pct(self.error)),
            ("observed inside the forecast interval", "yes" if self.covered else "no"),
            ("direction right", "yes" if self.direction_hit else "no"),
            ("shipped as a significant win", "yes" if self.significant_win else "no"),
        ]
        return f"<div>{_table(f'Forecast vs observed: {what}', rows)}{self._svg()}</div>"

    def __repr__(self) -> str:
        return (
            f"<liftlab.Reconciliation {self.metric}: forecast {_pct(self.forecast)}, observed {_pct(self.observed)}, "
            f"error {_pct(self.error)}, covered={self.covered}, direction_hit={self.direction_hit}>"
        )
