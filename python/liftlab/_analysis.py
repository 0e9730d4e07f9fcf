"""Analysis: DataFrames in, a :class:`Report` out; thin wrappers over the Rust core."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from liftlab import _core
from liftlab._assign import SpecLike, load_spec
from liftlab.exceptions import InvalidInputError, SchemaError, _error


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
    raise InvalidInputError(f"{name}: expected a polars or pandas DataFrame, got {type(df).__name__}")


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


def _col(df: pl.DataFrame, col: str, table: str) -> pl.Series:
    if col not in df.columns:
        raise _error(
            SchemaError, (table, col), f"no column '{col}' in the {table} (columns: {', '.join(df.columns)})", "missing_column"
        )
    return df.get_column(col)


def _ids(s: pl.Series, table: str) -> Any:
    if s.null_count():
        row = s.is_null().arg_true()[0]
        raise _error(InvalidInputError, (table, s.name or "", int(row)), "null unit id")
    if s.dtype.is_integer():
        return s.cast(pl.Int64).to_numpy()
    return s.cast(pl.String).to_list()


def _days(s: pl.Series) -> list[int | None]:
    if s.dtype == pl.String:
        parsed = s.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        bad = parsed.is_null() & s.is_not_null()
        if bad.any():
            row = bad.arg_true()[0]
            raise _error(SchemaError, (s.name or "", int(row)), f"'{s[row]}' is not a date (YYYY-MM-DD...)")
        s = parsed
    elif s.dtype != pl.Date:
        try:
            s = s.cast(pl.Date)
        except pl.exceptions.PolarsError as e:
            raise SchemaError(f"{s.name}: is not a date or time column ({s.dtype})") from e
    return s.cast(pl.Int32).to_list()


_NULL_CODE = 2**32 - 1


def _text(s: pl.Series) -> tuple[Any, list[str]]:
    """Dictionary-codes a text column: (uint32 codes, names); a null or empty cell is 2**32 - 1."""
    s = s.cast(pl.String)
    s = pl.select(pl.when(s == "").then(None).otherwise(s).alias(s.name or "")).to_series()
    names = s.drop_nulls().unique(maintain_order=True)
    codes = s.replace_strict(
        names, pl.Series(np.arange(len(names), dtype=np.uint32)), default=None, return_dtype=pl.UInt32
    ).fill_null(_NULL_CODE)
    return codes.to_numpy(), names.to_list()


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
    variants = _col(e, variant_col, "exposures")
    if variants.null_count():
        row = variants.is_null().arg_true()[0]
        raise _error(InvalidInputError, (variant_col, int(row)), "null variant")
    segments = [(c, _text(_col(e, c, "exposures"))) for c in s.segment_columns(key)]
    days = _days(_col(e, time_col, "exposures")) if time_col else None
    columns = []
    for c in s.metric_columns(key):
        col = _col(o, c, "outcomes")
        if not (col.dtype.is_numeric() or col.dtype == pl.Boolean):
            if col.dtype == pl.String:
                bad = col.cast(pl.Float64, strict=False).is_null() & col.is_not_null()
                if bad.any():
                    row = int(bad.arg_true()[0])
                    raise _error(SchemaError, ("outcomes", c, row), f"'{col[row]}' is not a number", "not_a_number")
            raise _error(SchemaError, ("outcomes", c), f"outcome column must be numeric, got {col.dtype}", "not_a_number")
        col = col.cast(pl.Float64)
        bad = col.is_nan() | col.is_infinite()
        if bad.any():
            row = bad.arg_true()[0]
            raise _error(
                InvalidInputError,
                ("outcomes", c, int(row)),
                f"{col[row]} is not a finite number (use null for a missing value)",
                "not_finite",
            )
        columns.append((c, col.fill_null(np.nan).to_numpy()))
    report_json = _core._analyze(
        s,
        key,
        _ids(_col(e, unit_col, "exposures"), "exposures"),
        _text(variants),
        days,
        segments,
        _ids(_col(o, unit_col, "outcomes"), "outcomes"),
        columns,
    )
    return Report(report_json)


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


def _baseline(rate: float | None, mean: float | None, std_dev: float | None) -> str:
    if rate is not None and mean is None:
        return json.dumps({"kind": "proportion", "rate": rate})
    if mean is not None and std_dev is not None and rate is None:
        return json.dumps({"kind": "mean", "mean": mean, "std_dev": std_dev})
    raise InvalidInputError("baseline: give either rate= (a proportion) or mean= and std_dev=")


def _design(**kw: Any) -> str:
    seq = kw.pop("sequential")
    if seq is None or seq == "fixed":
        kw["sequential"] = {"method": "fixed"}
    elif seq == "confidence_sequence":
        kw["sequential"] = {"method": "confidence_sequence", "tuning": kw.pop("tuning")}
    elif seq == "group_sequential":
        kw["sequential"] = {"method": "group_sequential", "looks": kw.pop("looks")}
    else:
        raise InvalidInputError(f"sequential: '{seq}' is not fixed, confidence_sequence or group_sequential")
    kw.pop("tuning", None)
    kw.pop("looks", None)
    return json.dumps(kw)


def _effect(abs_effect: float | None, rel_effect: float | None) -> str:
    if (abs_effect is None) == (rel_effect is None):
        raise InvalidInputError("effect: give exactly one of abs_effect= or rel_effect=")
    return json.dumps({"absolute": abs_effect} if abs_effect is not None else {"relative": rel_effect})


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
    opts = _design(
        alpha=alpha,
        power=power,
        alternative=alternative,
        ratio=ratio,
        variants=variants,
        variance_reduction=variance_reduction,
        sequential=sequential,
        tuning=tuning,
        looks=looks,
        proportion_test=proportion_test,
    )
    return json.loads(
        _core._power("sample_size", _baseline(rate, mean, std_dev), opts, _effect(abs_effect, rel_effect), None)
    )


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
    opts = _design(
        alpha=alpha,
        power=0.8,
        alternative=alternative,
        ratio=ratio,
        variants=variants,
        variance_reduction=variance_reduction,
        sequential=sequential,
        tuning=tuning,
        looks=looks,
        proportion_test=proportion_test,
    )
    effect = _effect(abs_effect, rel_effect)
    return float(json.loads(_core._power("power", _baseline(rate, mean, std_dev), opts, effect, float(n_control))))


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
    opts = _design(
        alpha=alpha,
        power=power,
        alternative=alternative,
        ratio=ratio,
        variants=variants,
        variance_reduction=variance_reduction,
        sequential=sequential,
        tuning=tuning,
        looks=looks,
        proportion_test=proportion_test,
    )
    return json.loads(_core._power("mde", _baseline(rate, mean, std_dev), opts, None, float(n_control)))
