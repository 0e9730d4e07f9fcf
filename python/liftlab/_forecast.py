"""Forecasting: a metric tree and the PM's expected change in, a :class:`Forecast` out.

A conversion layer over the Rust core (``liftlab::forecast``): Python values become the request
``POST /v1/forecast`` takes and ``liftlab forecast --spec FILE`` reads from TOML, and the answer
becomes a :class:`Forecast`. Every rule, default, sentence and chart is the core's: the notebook
display, ``fan_chart()`` and ``tornado_chart()`` show what the core renders, as the page and
``liftlab forecast --html`` do.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Union

import polars as pl

from liftlab import _core
from liftlab._assign import _toml_text
from liftlab._deprecation import deprecated, renamed
from liftlab.exceptions import InvalidInputError, LiftlabWarning, _error

RequestLike = Union[str, "os.PathLike[str]", Mapping[str, Any]]

_DESIGN_KEYS = ("alpha", "power", "alternative", "ratio", "variants", "variance_reduction", "sequential")

#: Names of the model's fields before issue 16 -> their names now (deprecated for one release).
_RENAMED = {"coverage": "reach", "confidence": "confidence_level"}


class Interval(NamedTuple):
    """An estimate with its interval."""

    estimate: float
    low: float
    high: float


def forecast_defaults() -> dict[str, Any]:
    """The defaults of a forecast (the core's, as ``GET /v1/forecast/defaults`` serves them and
    every answer echoes them in ``settings``): ``reach``, ``dilution``, ``period_days``, ``draws``,
    ``seed``, ``confidence_level``, the plan's ``max_days``, ``alpha`` and ``power``, ``language``.

    >>> d = forecast_defaults()
    >>> d["max_days"], d["power"], d["alpha"], d["confidence_level"]
    (28.0, 0.8, 0.05, 0.95)
    """
    return dict(json.loads(_core._forecast_defaults()))


# --- building the request (conversions) ------------------------------------------------------


def _clean(obj: Any, field: str) -> Any:
    """JSON-ready values: numpy scalars unwrapped; NaN and infinities, which JSON cannot carry, refused by name."""
    if isinstance(obj, Mapping):
        return {str(k): _clean(v, f"{field}.{k}" if field else str(k)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v, f"{field}[{i}]") for i, v in enumerate(obj)]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        raise _error(InvalidInputError, (field,), f"{obj} is not a finite number")
    return obj


def _records(table: Any, names: Sequence[str], field: str) -> list[Any]:
    """Dicts from a list of dicts / tuples, a {key: tuple} mapping or a polars/pandas DataFrame."""
    if isinstance(table, pl.DataFrame):
        return table.to_dicts()
    if hasattr(table, "to_dict") and hasattr(table, "columns"):  # pandas
        return list(table.to_dict("records"))
    if isinstance(table, Mapping):
        table = [(k, *(v if isinstance(v, (list, tuple)) else (v,))) for k, v in table.items()]
    if isinstance(table, (str, bytes)) or not isinstance(table, Sequence):
        raise _error(InvalidInputError, (field,), f"expected a list of dicts or of ({', '.join(names)}) tuples")
    out = []
    for i, row in enumerate(table):
        if isinstance(row, Mapping):
            out.append(dict(row))
        elif isinstance(row, (list, tuple)) and len(row) == len(names):
            out.append(dict(zip(names, row)))
        else:
            raise _error(InvalidInputError, (field, i), f"expected a dict or a ({', '.join(names)}) tuple")
    return out


def _plan(plan: Any) -> dict[str, Any] | None:
    """``True`` for a plan with the defaults; flat design keys (``{"power": 0.9}``) moved under ``design``."""
    if plan is None or plan is False:
        return None
    if plan is True:
        return {}
    if not isinstance(plan, Mapping):
        raise _error(InvalidInputError, ("plan",), f"expected a dict (metric, std_dev, max_days, design), got {type(plan).__name__}")
    p = dict(plan)
    design = dict(p.pop("design", None) or {})
    design.update({k: p.pop(k) for k in _DESIGN_KEYS if k in p})
    if isinstance(design.get("sequential"), str):
        design["sequential"] = {"method": design["sequential"]}
    return {**p, "design": design} if design else p


def _history(history: Any) -> dict[str, Any] | None:
    if history is None:
        return None
    if not isinstance(history, Mapping):
        raise _error(InvalidInputError, ("history",), f"expected a dict (past, win_rate), got {type(history).__name__}")
    h = dict(history)
    past = h.get("past")
    if past is not None:
        if hasattr(past, "columns"):  # a table of past experiments may carry more columns: keep the two used
            past = past[[c for c in past.columns if c in ("effect", "std_err")]]
        h["past"] = _records(past, ("effect", "std_err"), "history.past")
    return h


def _read_request(request: RequestLike) -> dict[str, Any]:
    if isinstance(request, Mapping):
        return dict(request)
    text = _toml_text(request, "request")
    if text is None:
        raise _error(InvalidInputError, ("request",), f"expected a dict, a path to a TOML file or TOML text, got {type(request).__name__}")
    return dict(json.loads(_core._forecast_request_from_toml(text, "request")))


def forecast_impact(
    nodes: Any = None,
    changes: Any = None,
    *,
    reach: float | None = None,
    dilution: float | None = None,
    period_days: float | None = None,
    draws: int | None = None,
    seed: int | None = None,
    confidence_level: float | None = None,
    unit: str | None = None,
    plan: Any = None,
    history: Any = None,
    language: str | None = None,
    request: RequestLike | None = None,
    coverage: float | None = None,
    confidence: float | None = None,
) -> Forecast:
    """Projects what a change does to a topline, before launch.

    ``nodes`` is the metric tree, upstream first; the topline is their product: ``count`` (units
    per ``period_days``), ``rate`` (a share in [0, 1]) and ``value`` nodes, as dicts
    ``{"name", "kind", "baseline"}`` or ``(name, kind, baseline)`` tuples. ``changes`` gives the
    expected relative change of one or more nodes as a 90% range, ``{"node", "low", "likely",
    "high"}`` or ``(node, low, likely, high)`` (0.05 = +5%); it reaches the share ``reach`` of
    the population. ``dilution`` is the share of downstream conversion lost by the extra units an
    upstream change brings. Every share (rates, ``reach``, ``dilution``, changes) is a fraction:
    0.5 is half; an implausible one (a reach of 0.005) is warned about. ``confidence_level`` is
    the level of the intervals. ``unit`` names the topline's unit (a currency such as ``"CNY"``),
    written after amounts. A value node may carry ``"std_dev"`` (among the units reaching it) so
    the plan can derive the topline's standard deviation. An option left out takes the core's
    default (:func:`forecast_defaults`; the answer echoes what was used in ``settings``).
    ``coverage`` and ``confidence`` are the deprecated names of ``reach`` and ``confidence_level``.

    ``plan`` adds the test that would follow (``{"metric", "std_dev", "max_days", "design"}``:
    ``metric`` is the node the test reads, by default the lowest node the change acts on, with
    the topline's plan beside it; ``std_dev`` only where it cannot be derived from the tree; the design
    keys ``alpha``, ``power``, ``alternative``, ``ratio``, ``variants``, ``variance_reduction``,
    ``sequential`` may be given flat; ``plan=True`` for the defaults; the sample-size formulas are
    those of :func:`liftlab.sample_size`). ``history`` (``{"past": [(effect, std_err), ...],
    "win_rate"}``) adds an empirical-Bayes prior from past experiments, the chance of success
    and the false-positive risk.

    ``language`` is the language of the answer's sentences and charts: ``"en"`` or ``"zh-CN"``
    (Simplified Chinese); another value is an ``InvalidInputError`` naming ``language``.

    Instead of ``nodes`` and ``changes`` a whole request can be given (as ``request=`` or first
    argument): the dict of ``POST /v1/forecast``, or a path to a TOML file such as
    ``examples/forecast.toml`` (what ``liftlab forecast --spec`` reads). Keyword arguments given
    then override the request's.

    >>> import liftlab
    >>> f = liftlab.forecast_impact(
    ...     [("visitors", "count", 10_000), ("conversion", "rate", 0.04), ("order_value", "value", 60.0)],
    ...     [("conversion", 0.02, 0.05, 0.08)],  # +2% to +8%, most likely +5%
    ...     reach=0.5, seed=7)
    >>> round(f.relative_likely, 4)  # half the traffic sees +5%
    0.025
    >>> f.most_sensitive
    'conversion'
    """
    reach = renamed("reach", reach, "coverage", coverage)
    confidence_level = renamed("confidence_level", confidence_level, "confidence", confidence)
    if isinstance(nodes, (str, os.PathLike)) or (isinstance(nodes, Mapping) and "model" in nodes):
        if request is not None:
            raise _error(InvalidInputError, ("request",), "given twice (first argument and request=)")
        request, nodes = nodes, None
    given = {"reach": reach, "dilution": dilution, "period_days": period_days, "draws": draws, "seed": seed}
    given.update({"confidence_level": confidence_level, "unit": unit})
    given = {k: v for k, v in given.items() if v is not None}
    if request is not None:
        if nodes is not None or changes is not None:
            raise _error(InvalidInputError, ("request",), "give either a request or nodes and changes, not both")
        req = _read_request(request)
        model = dict(req.get("model") or {})
        for old, new in _RENAMED.items():  # a kwarg replaces the request's value under either name
            if new in given:
                model.pop(old, None)
        req["model"] = {**model, **given}
        if plan is not None:
            req["plan"] = plan
        if history is not None:
            req["history"] = history
    else:
        if nodes is None or changes is None:
            raise _error(InvalidInputError, ("nodes",), "give the metric tree (nodes) and the expected changes, or a request")
        nodes = _records(nodes, ("name", "kind", "baseline"), "nodes")
        req = {"model": {"nodes": nodes, "changes": _records(changes, ("node", "low", "likely", "high"), "changes"), **given}}
        req["plan"], req["history"] = plan, history
    if req.get("plan") is not None:
        req["plan"] = _plan(req["plan"])
    if req.get("history") is not None:
        req["history"] = _history(req["history"])
    if language is not None:
        req["language"] = language
    req = _clean({k: v for k, v in req.items() if v is not None}, "")
    out = Forecast(_core._forecast_impact(json.dumps(req)), req)
    for w in out.warnings:
        warnings.warn(f"{w['field']}: {w['message']}", LiftlabWarning, stacklevel=2)
    return out


# --- the result ------------------------------------------------------------------------------


class _Svg:
    """An SVG chart drawn by the core, shown inline in notebooks."""

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


class LiftChart(_Svg):
    """The projected relative lift: bands, interval, mean, likely value and delta method (as the page shows it)."""


class Forecast:
    """A projection: the same JSON ``liftlab forecast --json`` prints and ``POST /v1/forecast`` returns.

    ``relative`` (the Monte Carlo mean and interval of the relative lift), ``absolute``,
    ``per_day``, ``per_month`` and ``per_year`` are :class:`Interval` tuples; ``plan``,
    ``prior`` and ``realism`` are dicts or None; ``settings`` the settings used, defaults filled
    in. In Jupyter it shows the core's tables and charts (those of the page and ``--html``).
    """

    def __init__(self, report_json: str, request: Mapping[str, Any]):
        self._json = report_json
        self._data = json.loads(report_json)
        self._request = json.loads(json.dumps(request))
        self._request_json = json.dumps(self._request)
        self._f = self._data["forecast"]

    def _iv(self, key: str) -> Interval:
        d = self._f[key]
        return Interval(d["estimate"], d["low"], d["high"])

    @property
    def relative(self) -> Interval:
        """Relative lift of the topline: Monte Carlo mean and ``confidence_level`` interval."""
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
    def reached(self) -> Interval:
        """The relative lift among the units the change reaches (``relative / reach``): what a test on them measures."""
        return self._iv("reached")

    @property
    def relative_likely(self) -> float:
        """The relative lift with every node at its ``likely`` change."""
        return float(self._f["relative_likely"])

    @property
    def relative_std_dev(self) -> float:
        return float(self._f["relative_std_dev"])

    @property
    def median(self) -> float:
        """The median of the simulated relative lifts (the headline ``relative.estimate`` is the mean)."""
        return float(self._f["median"])

    @property
    def baseline(self) -> float:
        """The topline now, per ``period_days``."""
        return float(self._f["baseline"])

    @property
    def formula(self) -> str:
        """The formula with the numbers substituted, for the PRD."""
        return str(self._f["formula"])

    @property
    def most_sensitive(self) -> str | None:
        return self._f["most_sensitive"]

    @property
    def quantiles(self) -> dict[float, float]:
        """Quantiles of the relative lift, ``{p: value}`` at p = 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975."""
        return {p: v for p, v in self._f["quantiles"]}

    @property
    def confidence_level(self) -> float:
        """The level of the intervals."""
        return float(self._f["confidence_level"])

    @property
    def confidence(self) -> float:
        """Deprecated: :attr:`confidence_level`."""
        deprecated("Forecast.confidence", "Forecast.confidence_level")
        return self.confidence_level

    @property
    def draws(self) -> int:
        return int(self._f["draws"])

    @property
    def seed(self) -> int:
        return int(self._f["seed"])

    @property
    def settings(self) -> dict[str, Any]:
        """The settings the forecast was made with, the core's defaults filled in (:func:`forecast_defaults`)."""
        return dict(self._data["settings"])

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
    def warnings(self) -> list[dict[str, str]]:
        """Allowed but implausible inputs, each ``{"field", "message"}`` (also issued as Python warnings)."""
        return [dict(w) for w in self._data.get("warnings", [])]

    @property
    def request(self) -> dict[str, Any]:
        """The request as sent to the core (a dict ``POST /v1/forecast`` accepts)."""
        return json.loads(self._request_json)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self._json)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self._data, indent=indent)

    # tables
    def sensitivity(self) -> pl.DataFrame:
        """One row per changed node, widest swing first: its range and the lift at its low / high."""
        ch = {c["node"]: c for c in self._request["model"]["changes"]}
        rows = [{**{k: ch[s["node"]][k] for k in ("low", "likely", "high")}, **s} for s in self._f["sensitivity"]]
        schema = {k: pl.Float64 for k in ("low", "likely", "high", "at_low", "at_high", "swing")}
        return pl.DataFrame(rows, schema={"node": pl.String, **schema})

    def cumulative_gain(self, months: int = 12) -> pl.DataFrame:
        """The fan chart's numbers: the cumulative absolute gain at the end of each month since
        launch, at each quantile (``q0.025`` ... ``q0.975``). The lift is one unknown number, so
        its uncertainty does not average out over time: the bands widen in proportion to time."""
        rows = json.loads(_core._cumulative_gain(self._request_json, self._json, _months(months)))
        return pl.DataFrame(
            [{"month": r["month"], "day": r["day"], **{f"q{p:g}": v for p, v in r["quantiles"]}} for r in rows]
        )

    # charts and text, as the core renders them
    def _chart(self, chart: str, width: int = 560, months: int = 12) -> str:
        return _core._forecast_chart(self._request_json, self._json, chart, width, months)

    def fan_chart(self, months: int = 12) -> FanChart:
        """The projected cumulative absolute gain over ``months`` since launch: median line and
        50/80/90/95% bands from the Monte Carlo quantiles of the lift."""
        return FanChart(self._chart("gain", months=_months(months)))

    def tornado_chart(self) -> TornadoChart:
        """Each changed node from its low to its high with the others at likely (widest first)."""
        return TornadoChart(self._chart("tornado"))

    def lift_chart(self, width: int = 560) -> LiftChart:
        """The projected relative lift, as the page shows it, ``width`` pixels wide."""
        return LiftChart(self._chart("lift", width))

    def prd_paragraph(self) -> str:
        """A paste-ready paragraph for the PRD, written by the core (the page and the CLI show the
        same text): the expected impact with its interval and median, the formula, the test (which
        metric it reads, how its result maps to the topline, the topline's plan beside it) and,
        with history, the chance of success and the history it comes from."""
        return str(self._data.get("prd_paragraph", ""))

    def summary(self) -> str:
        """What ``liftlab forecast`` prints: the headline, the absolute lift per period, the test plan
        and chance-of-success facts (``to_dict()["display"]``, as the page shows them) and the PRD
        paragraph."""
        return _core._forecast_text(self._json)

    def reconcile(self, report: Any, metric: str, variant: str | None = None) -> Reconciliation:
        """Sets this forecast against the observed lift of ``metric`` (treatment ``variant``, needed
        when the report has several) in a liftlab analysis report: a :class:`liftlab.Report`, its
        dict or its JSON text. A test measures the lift among the units it reaches, so both are
        compared on that scale: the forecast's topline lift is divided by its ``reach``."""
        if hasattr(report, "to_json") and hasattr(report, "decision"):
            text = report.to_json(indent=None)
        elif isinstance(report, Mapping):
            text = json.dumps(report)
        elif isinstance(report, str):
            text = report
        else:
            raise _error(InvalidInputError, ("report",), f"expected a liftlab Report, its dict or JSON, got {type(report).__name__}")
        rel, reach, level = json.dumps(self._f["relative"]), self.settings["reach"], self.confidence_level
        out = json.loads(_core._reconcile(rel, reach, level, text, metric, variant))
        rec = out["reconciliation"]
        reached = Interval(rec["forecast"], rec["forecast_low"], rec["forecast_high"])
        return Reconciliation(out, metric, out["variant"], reached, level)

    def _repr_html_(self) -> str:
        return _core._forecast_html(self._request_json, self._json)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<liftlab.Forecast {self.summary().splitlines()[0]}>"


def _months(months: Any) -> int:
    if isinstance(months, bool) or not isinstance(months, int) or months < 0:
        raise _error(InvalidInputError, ("months",), f"{months} is not a whole number of months in 1..=120")
    return months


class Reconciliation:
    """A forecast set against what the experiment observed (relative lifts, among the reached units)."""

    def __init__(
        self, data: Mapping[str, Any], metric: str, variant: str | None, forecast: Interval, confidence_level: float
    ):
        self._data = dict(data)
        self.metric, self.variant = metric, variant
        self.forecast_interval, self.confidence_level = forecast, confidence_level
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

    @property
    def confidence(self) -> float:
        """Deprecated: :attr:`confidence_level`."""
        deprecated("Reconciliation.confidence", "Reconciliation.confidence_level")
        return self.confidence_level

    def to_dict(self) -> dict[str, Any]:
        keys = ("metric", "variant", "forecast", "confidence_level", "observed", "observed_low", "observed_high")
        out = {k: getattr(self, k) for k in keys}
        out.update(forecast_low=self.forecast_interval.low, forecast_high=self.forecast_interval.high)
        out["confidence"] = self.confidence_level  # deprecated name, for one release
        for k in ("p_value", "significant_win", "error", "covered", "direction_hit"):
            out[k] = getattr(self, k)
        return out

    def _repr_html_(self) -> str:
        return str(self._data.get("html", ""))

    def __repr__(self) -> str:
        return (
            f"<liftlab.Reconciliation {self.metric}: forecast {self.forecast:+.2%}, observed {self.observed:+.2%}, "
            f"error {self.error:+.2%}, covered={self.covered}, direction_hit={self.direction_hit}>"
        )
