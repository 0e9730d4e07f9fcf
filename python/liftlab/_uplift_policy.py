"""The contact policy (``liftlab.uplift.plan_contacts``): whom to contact, through which channel,
to maximise the expected net gain ``uplift * value - cost`` within a contact and/or spend budget.

The rules (best eligible channel per unit, predicted sleeping dogs never contacted, the spend
budget by the multiple-choice knapsack's convex-hull greedy, a fill of the money left and an
exact search on small instances) and their guarantees are the Rust core's,
``liftlab::uplift::policy::plan_contacts``; this module only converts.

>>> from liftlab import uplift
>>> plan = uplift.plan_contacts({"a": [0.3, 0.25, 0.05], "b": [0.6, 0.5, 0.2]}, {"a": 1.0, "b": 3.0}, 10.0)
>>> plan.contacts()["channel"].to_list(), round(plan.expected_net_gain, 9)
(['b', 'b'], 5.0)
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from liftlab import _core
from liftlab.exceptions import InvalidInputError, _error

__all__ = ["ContactPlan", "plan_contacts"]

#: The channel name of an unnamed one-channel uplift (a 1-D array or list), as the CLI's default
#: ``uplift`` column.
DEFAULT_CHANNEL = "uplift"

#: The columns of the written files and of the CLI's output, in order.
FILE_COLUMNS = ["id", "channel", "uplift", "expected_gain", "score"]


def _is_pandas(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "pandas"


def _as_floats(x: Any) -> Any:
    """A polars or pandas column as a float64 numpy array (missing values as NaN); other inputs
    as they are (the extension reads anything ``numpy.asarray`` reads)."""
    if isinstance(x, pl.Series):
        return x.cast(pl.Float64).to_numpy() if x.dtype.is_numeric() or x.dtype == pl.Boolean else x.to_numpy()
    if _is_pandas(x) and hasattr(x, "to_numpy"):
        try:
            return x.to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError):
            return x.to_numpy()
    return x


def _channels(uplift: Any) -> tuple[list[str], list[Any]]:
    """The channel names and columns of ``uplift``."""
    if isinstance(uplift, pl.DataFrame) or (_is_pandas(uplift) and hasattr(uplift, "columns")):
        names = [str(c) for c in uplift.columns]
        cols = [_as_floats(uplift[c]) for c in uplift.columns]
    elif isinstance(uplift, Mapping):
        names = [str(c) for c in uplift]
        cols = [_as_floats(v) for v in uplift.values()]
    elif isinstance(uplift, pl.Series) or _is_pandas(uplift):
        name = getattr(uplift, "name", None)
        names = [str(name) if name not in (None, "") else DEFAULT_CHANNEL]
        cols = [_as_floats(uplift)]
    else:
        try:
            arr = np.asarray(uplift, dtype="float64")
        except (TypeError, ValueError) as e:
            raise _error(InvalidInputError, ("uplift",), f"must be a DataFrame, a dict of arrays or a 1-D array of numbers: {e}") from None
        if arr.ndim != 1:
            raise _error(
                InvalidInputError,
                ("uplift",),
                f"an array must be one-dimensional (one channel), got {arr.ndim} dimensions; "
                "give several channels as a DataFrame or a dict channel -> array"
            )
        names, cols = [DEFAULT_CHANNEL], [arr]
    if not names:
        raise _error(InvalidInputError, ("uplift",), "has no channels (columns)")
    if len(set(names)) != len(names):
        raise _error(InvalidInputError, ("uplift",), f"channel names must be unique, got {names}")
    return names, cols


def _number(x: Any, field: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise _error(InvalidInputError, (field,), f"must be a number, got {x!r}")
    return float(x)


def _per_channel(x: Any, names: list[str], field: str, one_for_all: bool) -> list[float]:
    """``x`` as one number per channel, from a dict channel -> number; a single number is for
    one channel (``cost``) or, with ``one_for_all``, for every channel (``value``)."""
    if isinstance(x, Mapping):
        keys = {str(k): v for k, v in x.items()}
        for k in keys:
            if k not in names:
                raise _error(InvalidInputError, (field,), f"{k!r} is not a channel (channels: {', '.join(names)})")
        missing = [n for n in names if n not in keys]
        if missing:
            raise _error(InvalidInputError, (field,), f"no {field} for channel {missing[0]!r}")
        return [_number(keys[n], f"{field}[{n!r}]") for n in names]
    if one_for_all:
        return [_number(x, field)]
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        if len(names) != 1:
            raise _error(
                InvalidInputError,
                (field,),
                f"a single number is for one channel; uplift has {len(names)} ({', '.join(names)}): "
                f"give a dict channel -> {field}"
            )
        return [float(x)]
    raise _error(InvalidInputError, (field,), f"must be a dict channel -> {field} or a number (one channel), got {x!r}")


def _ids(ids: Any, n: int) -> pl.Series:
    if ids is None:
        return pl.Series("id", np.arange(n, dtype=np.int64))
    s = ids.rename("id") if isinstance(ids, pl.Series) else pl.Series("id", ids.to_numpy() if _is_pandas(ids) else list(ids))
    if s.len() != n:
        raise _error(InvalidInputError, ("ids",), f"has {s.len()} values but uplift has {n} units")
    return s


def _fmt(x: float) -> str:
    return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.0f}"


# The totals of a contact plan, in the order `totals()` gives them (here and on Spark).
_TOTALS = (
    "n_units",
    "n_contacts",
    "spend",
    "expected_conversions",
    "expected_net_gain",
    "peak_n_contacted",
    "peak_net_gain",
    "optimal",
)


class _PlanTotals:
    """The totals of a contact plan, read the same way by :class:`ContactPlan` and
    :class:`liftlab.spark.SparkContactPlan`."""

    n_units: int
    n_contacts: int
    spend: float
    expected_conversions: float
    expected_net_gain: float
    peak_n_contacted: int
    peak_net_gain: float
    optimal: bool

    def _set_totals(self, totals: Mapping[str, Any]) -> None:
        for name in _TOTALS:
            setattr(self, name, totals[name])

    def totals(self) -> dict[str, Any]:
        """The totals as a dict."""
        return {name: getattr(self, name) for name in _TOTALS}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_contacts={self.n_contacts} of {self.n_units}, spend={self.spend:.6g}, "
            f"expected_net_gain={self.expected_net_gain:.6g})"
        )


class ContactPlan(_PlanTotals):
    """The chosen contacts (from :func:`plan_contacts`) with their totals.

    Attributes: ``channels`` (names, in input order), ``value`` (a number, or a dict channel ->
    value), ``max_contacts``, ``max_spend``, ``n_units``, ``n_contacts``, ``spend`` (total cost of
    the contacts), ``expected_conversions`` (sum of the chosen channels' uplift),
    ``expected_net_gain`` (sum of ``uplift * value - cost``), ``peak_n_contacted`` and
    ``peak_net_gain`` (the profit curve's highest point), ``optimal`` (the plan is proven optimal:
    always without a spend budget; with one, when the instance was small enough for the exact
    search, at most 1,000 eligible unit-channel options).
    """

    def __init__(
        self,
        out: dict[str, Any],
        channels: list[str],
        ids: pl.Series,
        value: float | dict[str, float],
        max_contacts: int | None,
        max_spend: float | None,
    ):
        self.channels = channels
        self.value = value
        self.max_contacts = max_contacts
        self.max_spend = max_spend
        self._set_totals({**out, "n_units": ids.len()})
        self._units = pl.DataFrame(
            {
                "id": ids,
                "channel": pl.Series([None if j is None else channels[j] for j in out["channel"]], dtype=pl.String),
                "uplift": pl.Series(out["uplift"], dtype=pl.Float64),
                "expected_gain": pl.Series(out["expected_gain"], dtype=pl.Float64),
                "score": pl.Series(out["score"], dtype=pl.Float64),
                "rank": pl.Series(out["rank"], dtype=pl.Int64),
            }
        )
        self._curve = pl.DataFrame(
            {
                "n_contacted": pl.Series(out["curve_n_contacted"], dtype=pl.Int64),
                "net_gain": pl.Series(out["curve_net_gain"], dtype=pl.Float64),
            }
        )

    def to_polars(self) -> pl.DataFrame:
        """One row per unit, in input order: ``id``, ``channel`` (null: no contact), ``uplift``
        (of the chosen channel; null: no contact), ``expected_gain`` (0 for no contact), ``score``
        (the best net gain over all channels, the ranking key) and ``rank`` (0-based position in
        the policy's priority order, contacted units first)."""
        return self._units.clone()

    def contacts(self) -> pl.DataFrame:
        """The contacted units only, by rank (the order the policy picked them)."""
        return self._units.filter(pl.col("channel").is_not_null()).sort("rank")

    def profit_curve(self) -> pl.DataFrame:
        """Cumulative expected net gain along the priority order: ``n_contacted`` (0..n_units) and
        ``net_gain``. Past the plan's contacts it adds each further unit's best channel, so it shows
        what contacting more would add or lose."""
        return self._curve.clone()

    def _file_frame(self) -> pl.DataFrame:
        return self.contacts().select(FILE_COLUMNS)

    def write_csv(self, path: str) -> None:
        """The contacts, by rank, with the columns of ``liftlab uplift plan``: ``id``, ``channel``,
        ``uplift``, ``expected_gain``, ``score``."""
        self._file_frame().write_csv(path)

    def write_parquet(self, path: str) -> None:
        """As :meth:`write_csv`, in Parquet."""
        self._file_frame().write_parquet(path)

    def _repr_html_(self) -> str:
        budget = [f"at most {self.max_contacts:,} contacts" if self.max_contacts is not None else None]
        budget.append(f"at most {_fmt(self.max_spend)} spent" if self.max_spend is not None else None)
        budget_text = ", ".join(b for b in budget if b) or "none"
        by_channel = self.contacts().group_by("channel").len().sort("channel")
        mix = ", ".join(f"{c}: {k:,}" for c, k in by_channel.iter_rows()) or "–"
        rows = [
            ("Budget", budget_text),
            ("Units contacted", f"{self.n_contacts:,} of {self.n_units:,} ({mix})"),
            ("Spend", _fmt(self.spend)),
            ("Expected conversions", _fmt(self.expected_conversions)),
            ("Expected net gain", _fmt(self.expected_net_gain)),
            ("Profit curve peak", f"{_fmt(self.peak_net_gain)} at {self.peak_n_contacted:,} contacts"),
        ]
        table = "".join(f'<tr><th style="text-align:left">{html.escape(k)}</th><td>{html.escape(v)}</td></tr>' for k, v in rows)
        curve = self._curve
        n, gain = curve["n_contacted"].to_list(), curve["net_gain"].to_list()
        svg = _core._profit_curve_svg(n, gain, self.n_contacts, self.peak_n_contacted)
        return f'<div class="liftlab-contact-plan"><table>{table}</table>{svg}</div>'


def plan_contacts(
    uplift: Any,
    cost: Any,
    value: float | Mapping[str, float],
    *,
    max_contacts: int | None = None,
    max_spend: float | None = None,
    ids: Any = None,
) -> ContactPlan:
    """Whom to contact, and through which channel, to maximise the expected net gain
    ``sum(uplift * value - cost)`` within the budgets.

    ``uplift`` is the predicted uplift per unit and channel (against no contact): a polars or
    pandas DataFrame or a dict of arrays with one column per channel (the column name is the
    channel's), or a 1-D array / Series for one channel (named ``"uplift"``, or the Series' name).
    ``cost`` is a dict channel -> cost of one contact (or one number for one channel), ``value``
    the value of one conversion: one number, or a dict channel -> value when a conversion is worth
    more through one channel than another. ``max_contacts`` and ``max_spend`` bound the number of
    contacts and the total cost (both may be given; without either every unit with a profitable
    channel is contacted). ``ids`` label the units (default: the row number).

    Under a spend budget the plan is the convex-hull greedy, then the money left is spent on the
    best moves that still fit (no affordable profitable contact is left out), then, on instances
    of at most 1,000 eligible unit-channel options, an exact branch and bound (``plan.optimal``
    says whether it finished; it stops after 200,000 nodes).

    A channel is considered for a unit only when its uplift and its net gain are both positive, so
    predicted sleeping dogs are never contacted. Errors (:class:`liftlab.exceptions.InvalidInputError`,
    :class:`~liftlab.exceptions.InsufficientDataError`) name the argument:
    ``cost: no cost for channel 'call'``, ``uplift['sms'][3]: must be finite, got NaN``,
    ``max_spend: is below the cheapest contact (0.05)``.
    """
    names, cols = _channels(uplift)
    costs = _per_channel(cost, names, "cost", one_for_all=False)
    values = _per_channel(value, names, "value", one_for_all=True)
    if max_spend is not None:
        max_spend = _number(max_spend, "max_spend")
    out = _core._plan_contacts(cols, names, costs, values, max_contacts, max_spend)
    n = len(out["channel"])
    plan_value = dict(value) if isinstance(value, Mapping) else values[0]
    return ContactPlan(out, names, _ids(ids, n), plan_value, int(max_contacts) if max_contacts is not None else None, max_spend)
