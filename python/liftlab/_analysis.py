"""Analysis: DataFrames in, a :class:`Report` out; thin wrappers over the Rust core."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from liftlab import _core
from liftlab._assign import SpecLike, load_spec
from liftlab.exceptions import InvalidInputError, _error


def _to_polars(df: Any, name: str) -> pl.DataFrame:
    if isinstance(df, pl.DataFrame):
        return df
    if isinstance(df, pl.LazyFrame):
        return df.collect()
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is optional
        pd = None
    if pd is not None and isinstance(df, pd.DataFrame):
        return pl.DataFrame([_pandas_column(str(c), df[c]) for c in df.columns])
    if isinstance(df, Mapping):
        return pl.DataFrame(dict(df))
    raise _error(InvalidInputError, (name,), f"expected a polars or pandas DataFrame, got {type(df).__name__}")


def _pandas_column(name: str, col: Any) -> pl.Series:
    """One pandas column as a polars Series, without needing pyarrow."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
        if col.isna().any():
            return pl.Series(name, col.astype("float64").to_numpy(), nan_to_null=True)
        return pl.Series(name, col.to_numpy())
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        days = col.dt.floor("D").to_numpy().astype("datetime64[D]").astype("int64")
        return pl.Series(name, days).cast(pl.Date)
    values = [None if v is None or (isinstance(v, float) and v != v) else str(v) for v in col.tolist()]
    return pl.Series(name, values, dtype=pl.String)


def _cells(s: pl.Series) -> tuple[str, Any, Any]:
    """A column as the core's cell rules take it (``_core._analyze``): ``(kind, values, nulls)``,
    kind ``int``, ``float``, ``date`` (numpy arrays, days for dates), ``text`` (a list) or the
    name of another type; ``nulls`` marks the null rows, or is None."""
    nulls = s.is_null().to_numpy() if s.null_count() else None
    if s.dtype.is_integer():
        return "int", s.fill_null(0).cast(pl.Int64).to_numpy(), nulls
    if s.dtype.is_numeric() or s.dtype == pl.Boolean:
        return "float", s.cast(pl.Float64).fill_null(0.0).to_numpy(), nulls
    if s.dtype in (pl.Date, pl.Datetime):
        return "date", s.cast(pl.Date).cast(pl.Int64).fill_null(0).to_numpy(), nulls
    if s.dtype in (pl.String, pl.Categorical, pl.Enum):
        return "text", s.cast(pl.String).to_list(), None
    return str(s.dtype), None, None


_NULL_CODE = 2**32 - 1


def _text(s: pl.Series) -> tuple[Any, list[str]]:
    """Dictionary-codes a text column: (uint32 codes, names); a null cell is 2**32 - 1."""
    s = s.cast(pl.String)
    names = s.drop_nulls().unique(maintain_order=True)
    codes = s.replace_strict(
        names, pl.Series(np.arange(len(names), dtype=np.uint32)), default=None, return_dtype=pl.UInt32
    ).fill_null(_NULL_CODE)
    return codes.to_numpy(), names.to_list()


def _table(df: pl.DataFrame, unit_col: str, cells: Sequence[str], texts: Sequence[str] = ()) -> tuple[list[str], dict]:
    """The columns ``_core._analyze`` reads, those the frame has: unit ids (integers or text),
    ``cells`` for the core's rules, ``texts`` dictionary-coded."""
    cols: dict[str, Any] = {c: _cells(df[c]) for c in cells if c in df.columns}
    cols.update({c: _text(df[c]) for c in texts if c in df.columns})
    if unit_col in df.columns:
        u = df[unit_col]
        cols[unit_col] = _cells(u if u.dtype.is_integer() else u.cast(pl.String))
    return df.columns, cols


class ForestPlot:
    """A forest plot of relative effects (SVG), shown inline in notebooks."""

    def __init__(self, svg: str):
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)


class Report:
    """An experiment report: the same versioned JSON the CLI writes and ``POST /v1/analyze`` returns.

    ``to_polars()`` gives one row per metric x variant; ``segments_to_polars()`` the same per
    segment value; in Jupyter the report renders as a table with a forest plot.
    """

    def __init__(self, report_json: str):
        self._json = report_json
        self._data = json.loads(report_json)

    @property
    def experiment(self) -> str:
        return self._data["experiment"]

    @property
    def decision(self) -> dict[str, Any]:
        """``{"verdict": "ship" | "do_not_ship" | "keep_running" | "invalid", "variant", "reasons"}``."""
        return self._data["decision"]

    @property
    def srm(self) -> dict[str, Any]:
        return self._data["srm"]

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self._json)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self._data, indent=indent)

    @staticmethod
    def _rows(metrics: Sequence[Mapping[str, Any]], extra: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = []
        for m in metrics:
            control = m["arms"][0] if m["arms"] else {}
            arms = {a["variant"]: a for a in m["arms"]}
            for e in m["effects"]:
                b = e.get("bayes") or {}
                rows.append(
                    {
                        **extra,
                        "metric": m["name"],
                        "kind": m["kind"],
                        "variant": e["variant"],
                        "n_control": control.get("n"),
                        "n_variant": arms.get(e["variant"], {}).get("n"),
                        "control": control.get("estimate"),
                        "value": arms.get(e["variant"], {}).get("estimate"),
                        "abs_effect": e["abs_effect"],
                        "std_err": e["std_err"],
                        "ci_low": e["ci_low"],
                        "ci_high": e["ci_high"],
                        "rel_effect": e["rel_effect"],
                        "rel_ci_low": e["rel_ci_low"],
                        "rel_ci_high": e["rel_ci_high"],
                        "p_value": e["p_value"],
                        "p_adjusted": e["p_adjusted"],
                        "significant": e["significant"],
                        "chance_to_win": b.get("chance_to_win"),
                        "variance_reduction": e.get("variance_reduction"),
                        "guardrail": e.get("guardrail"),
                    }
                )
        return rows

    def to_polars(self) -> pl.DataFrame:
        """One row per metric x variant (against control)."""
        return pl.DataFrame(self._rows(self._data["metrics"], {}), infer_schema_length=None)

    def segments_to_polars(self) -> pl.DataFrame:
        """One row per segment value x metric x variant."""
        rows: list[dict[str, Any]] = []
        for s in self._data.get("segments", []):
            rows += self._rows(s["metrics"], {"segment": s["column"], "segment_value": s["value"]})
        return pl.DataFrame(rows, infer_schema_length=None)

    def forest_plot(self) -> ForestPlot:
        """The relative effects with their intervals, as an inline SVG."""
        return ForestPlot(_core._forest_plot_svg(self._json))

    def to_markdown(self) -> str:
        return _core._report_markdown(self._json)

    def to_html(self, path: str | None = None) -> str:
        """The self-contained HTML report; written to ``path`` when given."""
        page = _core._report_page(self._json)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(page)
        return page

    def _repr_html_(self) -> str:
        return _core._report_html(self._json)

    def __repr__(self) -> str:
        d = self.decision
        v = f" {d['variant']}" if d.get("variant") else ""
        return f"<liftlab.Report {self.experiment}: {d['verdict']}{v}, {len(self._data['metrics'])} metrics>"


def analyze(
    spec: SpecLike,
    exposures: Any,
    outcomes: Any,
    *,
    experiment: str | None = None,
    unit_col: str = "unit_id",
    variant_col: str = "variant",
    time_col: str | None = None,
) -> Report:
    """Analyses an experiment from unit-level exposures and outcomes (polars or pandas).

    ``exposures`` has one row per exposure: ``unit_col``, ``variant_col`` and optionally
    ``time_col`` and the spec's segment columns. ``outcomes`` has one row per unit with the
    metric columns the spec names. Units seen in two variants are counted and excluded; units
    without outcomes count as 0 unless the metric says ``missing = "drop"``.

    >>> import polars as pl, liftlab
    >>> spec = '''
    ... [[experiments]]
    ... key = "sms"
    ... variants = ["control", "sms"]
    ... [[metrics]]
    ... name = "converted"
    ... kind = "binary"
    ... '''
    >>> exp = pl.DataFrame({"unit_id": list(range(8)), "variant": ["control", "sms"] * 4})
    >>> out = pl.DataFrame({"unit_id": list(range(8)), "converted": [0, 1, 0, 1, 1, 1, 0, 0]})
    >>> r = liftlab.analyze(spec, exp, out)
    >>> r.to_polars()["rel_effect"][0]  # control converts 1 of 4, sms 3 of 4
    2.0
    """
    s = load_spec(spec)
    key = s.resolve_experiment(experiment)
    e = _to_polars(exposures, "exposures")
    o = _to_polars(outcomes, "outcomes")
    exp = _table(e, unit_col, [time_col] if time_col else [], [variant_col, *s.segment_columns(key)])
    out = _table(o, unit_col, s.metric_columns(key))
    return Report(_core._analyze(s, key, exp, out, unit_col, variant_col, time_col))


def analyze_stats(spec: SpecLike, data: Mapping[str, Any], *, experiment: str | None = None) -> Report:
    """Analyses sufficient statistics: the ``data`` object of ``POST /v1/analyze``."""
    s = load_spec(spec)
    return Report(_core._analyze_stats(s, s.resolve_experiment(experiment), json.dumps(data)))


def compare_arms(
    arms: Sequence[Mapping[str, float]],
    kind: str,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    cuped: bool = False,
    relative_interval: str = "delta",
) -> dict[str, Any]:
    """Every arm against control (``arms[0]``) from sufficient statistics
    (``{"n", "sum_x", "sum_x2", ...}``, optionally shifted: with ``"shift_x": k`` the sums are of
    ``x - k``, which keeps the variance of a large mean); returns the arms and effects as a dict.
    With ``"sum_x3"`` a mean metric is checked for skewness; ``relative_interval="log"`` (with
    ``"sum_lx"``, ``"sum_lx2"``: sums of ln x) gives the ratio of geometric means."""
    opts = {"alpha": alpha, "alternative": alternative, "cuped": cuped, "relative_interval": relative_interval}
    return json.loads(_core._compare_arms(json.dumps(list(arms)), kind, json.dumps(opts)))


def bayes_effect(
    rel_effect: float,
    rel_std_err: float,
    *,
    prior_mean: float = 0.0,
    prior_std_dev: float | None = None,
    direction: str = "increase",
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Posterior of a relative effect under a normal prior (flat when ``prior_std_dev`` is None)."""
    prior = json.dumps({"mean": prior_mean, "std_dev": prior_std_dev})
    return json.loads(_core._bayes_effect(rel_effect, rel_std_err, prior, direction, alpha))


def confidence_sequence(
    estimate: float, std_err: float, n_total: float, *, alpha: float = 0.05, tuning: float = 5000.0
) -> dict[str, Any]:
    """The always-valid interval and p-value of an estimate after ``n_total`` units (the units of
    the two arms compared, as the analysis counts them)."""
    return json.loads(_core._confidence_sequence(estimate, std_err, n_total, alpha, tuning))


def group_sequential_design(
    info_fractions: Sequence[float], *, alpha: float = 0.05, alternative: str = "two-sided"
) -> dict[str, Any]:
    """O'Brien-Fleming-type (Lan-DeMets) boundaries for looks at ``info_fractions``."""
    return json.loads(_core._group_sequential_design(list(info_fractions), alpha, alternative))


def _power(what: str, args: dict[str, Any]) -> Any:
    """``stats::power::answer_power_question`` of the keyword arguments as given: the core checks
    them and its errors name them."""
    return json.loads(_core._power(what, json.dumps(args, default=_number)))


def _number(v: Any) -> Any:
    """A number JSON does not know (a numpy scalar) as the Python number it is."""
    return v.item() if hasattr(v, "item") else float(v)


def sample_size(
    *,
    rate: float | None = None,
    mean: float | None = None,
    std_dev: float | None = None,
    abs_effect: float | None = None,
    rel_effect: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    variants: int = 1,
    variance_reduction: float = 0.0,
    sequential: str | None = None,
    tuning: float = 5000.0,
    looks: int = 1,
    proportion_test: str = "wald",
) -> dict[str, Any]:
    """Units per arm to detect an effect; unequal splits, several variants, CUPED and sequential
    designs. Rates are planned for the test the analysis runs (``proportion_test="wald"``, the
    unpooled z-test) or for a pooled z-test (``"pooled"``: R's power.prop.test formula); means
    as statsmodels' NormalIndPower.

    >>> round(sample_size(rate=0.5, abs_effect=0.25, power=0.9, proportion_test="pooled")["n_control_exact"], 1)
    76.7
    """
    return _power("sample_size", locals())


def power(
    *,
    n_control: float,
    rate: float | None = None,
    mean: float | None = None,
    std_dev: float | None = None,
    abs_effect: float | None = None,
    rel_effect: float | None = None,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    variants: int = 1,
    variance_reduction: float = 0.0,
    sequential: str | None = None,
    tuning: float = 5000.0,
    looks: int = 1,
    proportion_test: str = "wald",
) -> float:
    """The power to detect an effect with ``n_control`` units in control (``ratio * n_control``
    per variant); the same formulas and options as :func:`sample_size`.

    R's ``power.prop.test(n=50, p1=.5, p2=.75)`` gives 0.7401659:

    >>> round(power(n_control=50, rate=0.5, abs_effect=0.25, proportion_test="pooled"), 4)
    0.7402
    """
    return float(_power("power", locals()))


def minimum_detectable_effect(
    *,
    n_control: float,
    rate: float | None = None,
    mean: float | None = None,
    std_dev: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    variants: int = 1,
    variance_reduction: float = 0.0,
    sequential: str | None = None,
    tuning: float = 5000.0,
    looks: int = 1,
    proportion_test: str = "wald",
) -> dict[str, Any]:
    """The smallest effect detected with ``power`` at ``n_control`` units in control (absolute
    and relative to the baseline)."""
    return _power("mde", locals())
