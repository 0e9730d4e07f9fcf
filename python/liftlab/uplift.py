"""Evaluation of an uplift ranking, following scikit-uplift's (``sklift.metrics`` 0.5) definitions.

**Argument order** is scikit-uplift's: ``(y_true, uplift, treatment)`` — the outcome, the
predicted uplift (the score ranking the units, highest first) and the 0/1 treatment flag — with
the same parameter names, so ``sklift.metrics.qini_auc_score(y_true, uplift, treatment)`` and
``liftlab.uplift.qini_auc_score(y_true, uplift, treatment)`` are called alike. Pass them by
keyword when in doubt: swapping ``uplift`` and ``treatment`` cannot always be detected.

Each column may be a numpy array, a list, a polars or a pandas Series. The outcome may be binary
or continuous (a mean instead of a rate); the perfect curves and the normalised scores
(``uplift_auc_score``, ``qini_auc_score``) need a binary one. Missing or non-finite outcomes and
scores, mismatched lengths, an empty input or a single treatment group raise
:class:`liftlab.exceptions.InvalidInputError` (or :class:`~liftlab.exceptions.InsufficientDataError`)
whose message starts with the field: ``y_true[3]: must be finite, got NaN``.

Ties: units are ranked as sklift ranks them (a stable sort of the scores, reversed); the curves
are evaluated at the distinct scores only, so a tie group enters the curve at once.

>>> from liftlab import uplift
>>> y, t, s = [1, 0, 1, 0, 1, 0], [1, 1, 1, 0, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
>>> uplift.qini_curve(y, s, t)["value"].to_list()
[0.0, 1.0, 1.0, 2.0, 2.0, 0.5, 1.0]
>>> round(uplift.qini_auc_score(y, s, t), 6)
0.615385
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from liftlab import _core
from liftlab._uplift_forest import UpliftForest
from liftlab.exceptions import InvalidInputError, _error

__all__ = [
    "UpliftForest",
    "balance",
    "bootstrap_scores",
    "perfect_qini_curve",
    "perfect_uplift_curve",
    "qini_auc",
    "qini_auc_score",
    "qini_curve",
    "uplift_at_k",
    "uplift_auc",
    "uplift_auc_score",
    "uplift_by_percentile",
    "uplift_curve",
]


def _column(x: Any) -> Any:
    """A polars or pandas Series (or Index) as a numpy array, missing values as NaN; other inputs
    are passed on as they are (the extension reads numpy arrays and sequences)."""
    if isinstance(x, pl.Series):
        if x.dtype.is_numeric() or x.dtype == pl.Boolean:
            return x.cast(pl.Float64).to_numpy()
        return x.to_numpy()
    if type(x).__module__.split(".")[0] == "pandas" and hasattr(x, "to_numpy"):
        try:
            return x.to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError):
            return x.to_numpy()
    return x


def _curve(arrays: tuple[np.ndarray, np.ndarray]) -> pl.DataFrame:
    n_targeted, value = arrays
    return pl.DataFrame({"n_targeted": n_targeted, "value": value})


def uplift_curve(y_true: Any, uplift: Any, treatment: Any) -> pl.DataFrame:
    """sklift's ``uplift_curve(y_true, uplift, treatment)``: ``U(n) = (y_t/n_t - y_c/n_c) * n``.

    Returns a polars DataFrame with columns ``n_targeted`` (Float64) and ``value``, one row per
    distinct score plus the starting point ``(0, 0)``; sklift returns the same two columns as
    the arrays ``(num_all, curve_values)``.
    """
    return _curve(_core._ranking_curve("uplift", _column(y_true), _column(uplift), _column(treatment)))


def qini_curve(y_true: Any, uplift: Any, treatment: Any) -> pl.DataFrame:
    """sklift's ``qini_curve(y_true, uplift, treatment)``: ``Q(n) = y_t - y_c * n_t/n_c``.

    Columns ``n_targeted`` and ``value`` as in :func:`uplift_curve`.
    """
    return _curve(_core._ranking_curve("qini", _column(y_true), _column(uplift), _column(treatment)))


def perfect_uplift_curve(y_true: Any, treatment: Any) -> pl.DataFrame:
    """sklift's ``perfect_uplift_curve(y_true, treatment)``: the uplift curve of the best
    ranking of a binary outcome. Columns as in :func:`uplift_curve`."""
    return _curve(_core._perfect_uplift_curve(_column(y_true), _column(treatment)))


def perfect_qini_curve(y_true: Any, treatment: Any, negative_effect: bool = True) -> pl.DataFrame:
    """sklift's ``perfect_qini_curve(y_true, treatment, negative_effect=True)`` for a binary
    outcome. Without ``negative_effect`` the curve is ``(0,0) -> (Q_N, Q_N) -> (N, Q_N)``, so the
    middle ``n_targeted`` need not be a whole number, as in sklift."""
    return _curve(_core._perfect_qini_curve(_column(y_true), _column(treatment), negative_effect))


def uplift_auc(y_true: Any, uplift: Any, treatment: Any) -> dict[str, float | None]:
    """Area under the uplift curve with its references, for binary or continuous outcomes:
    ``{"area", "random_area", "perfect_area", "normalized"}`` (the last two None for a
    non-binary outcome; ``normalized`` is :func:`uplift_auc_score`)."""
    return _core._uplift_auc(_column(y_true), _column(uplift), _column(treatment))


def qini_auc(y_true: Any, uplift: Any, treatment: Any, negative_effect: bool = True) -> dict[str, float | None]:
    """Area under the Qini curve with its references, as :func:`uplift_auc`."""
    return _core._qini_auc(_column(y_true), _column(uplift), _column(treatment), negative_effect)


def uplift_auc_score(y_true: Any, uplift: Any, treatment: Any) -> float:
    """sklift's ``uplift_auc_score(y_true, uplift, treatment)``:
    ``(AUUC - random) / (perfect - random)``, for a binary outcome."""
    return _core._uplift_auc_score(_column(y_true), _column(uplift), _column(treatment))


def qini_auc_score(y_true: Any, uplift: Any, treatment: Any, negative_effect: bool = True) -> float:
    """sklift's ``qini_auc_score(y_true, uplift, treatment, negative_effect=True)``, the Qini
    coefficient: ``(area under Qini - random) / (perfect - random)``, for a binary outcome."""
    return _core._qini_auc_score(_column(y_true), _column(uplift), _column(treatment), negative_effect)


def uplift_at_k(y_true: Any, uplift: Any, treatment: Any, *, k: float | int = 0.3, strategy: str = "overall") -> float:
    """sklift's ``uplift_at_k(y_true, uplift, treatment, strategy, k=0.3)``: mean outcome of the
    treated minus that of the control among the top ``k`` by score.

    ``k`` a float is a fraction in (0, 1) (``int(k * n)`` units), an int a count. ``strategy``
    ``"overall"`` cuts the whole ranking, ``"by_group"`` the first ``k`` of each group. (sklift
    makes ``strategy`` the fourth positional argument; here ``k`` and ``strategy`` are keyword-only.)
    When the top ``k`` holds no treated or no control unit the result is ``nan``, as in sklift.
    """
    return _core._uplift_at_k(_column(y_true), _column(uplift), _column(treatment), strategy, k)


def uplift_by_percentile(
    y_true: Any, uplift: Any, treatment: Any, *, bins: int = 10, strategy: str = "overall"
) -> pl.DataFrame:
    """sklift's ``uplift_by_percentile(y_true, uplift, treatment, strategy="overall", bins=10,
    std=True)`` as a polars DataFrame, one row per bin from the top of the ranking.

    Columns: ``percentile`` (sklift's labels: ``"0-10"``, ...; ``"0-12"``, ``"12-25"`` for 8 bins,
    bounds rounded half to even as Python's ``round``), ``n_treatment``, ``n_control``,
    ``response_rate_treatment``, ``response_rate_control`` (mean outcomes), ``uplift`` and
    ``std_uplift`` (``sqrt(v_t/n_t + v_c/n_c)`` with population variances: sklift's binomial
    formula for a binary outcome). Rates of an empty group are null. ``bins`` and ``strategy``
    are keyword-only (sklift takes ``strategy`` fourth).
    """
    cols = _core._uplift_by_percentile(_column(y_true), _column(uplift), _column(treatment), strategy, bins)
    del cols["low_fraction"], cols["high_fraction"]
    return pl.DataFrame(
        cols,
        schema_overrides={
            "n_treatment": pl.Int64,
            "n_control": pl.Int64,
            "response_rate_treatment": pl.Float64,
            "response_rate_control": pl.Float64,
            "uplift": pl.Float64,
            "std_uplift": pl.Float64,
        },
    )


def bootstrap_scores(
    y_true: Any,
    uplift: Any,
    treatment: Any,
    *,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
    negative_effect: bool = True,
    statistic: str = "normalized",
) -> pl.DataFrame:
    """Percentile bootstrap intervals of the AUUC and Qini scores.

    Resamples treated and control units with replacement within their group (group sizes fixed),
    from a seeded ChaCha8 generator: the same seed gives the same interval on every platform.
    ``statistic`` ``"normalized"`` is :func:`uplift_auc_score` / :func:`qini_auc_score` (binary
    outcome); ``"above_random"`` is the area minus the random area (any outcome).

    Returns a polars DataFrame with rows ``metric`` = ``"uplift_auc"``, ``"qini_auc"`` and
    columns ``estimate`` (on the data as given), ``ci_low``, ``ci_high``, ``std_err`` and
    ``n_valid`` (resamples where the score was defined).
    """
    out = _core._bootstrap_uplift_auc(
        _column(y_true), _column(uplift), _column(treatment), n_resamples, confidence_level, seed, negative_effect, statistic
    )
    rows = [{"metric": m, "statistic": out["statistic"], **out[m]} for m in ("uplift_auc", "qini_auc")]
    return pl.DataFrame(rows)


def _feature_columns(X: Any) -> tuple[list[Any], list[str] | None]:
    if isinstance(X, pl.DataFrame):
        return [_column(X.get_column(c)) for c in X.columns], [str(c) for c in X.columns]
    if isinstance(X, Mapping):
        return [_column(v) for v in X.values()], [str(c) for c in X]
    if type(X).__module__.split(".")[0] == "pandas" and hasattr(X, "columns"):
        return [_column(X[c]) for c in X.columns], [str(c) for c in X.columns]
    if isinstance(X, pl.Series) or type(X).__module__.split(".")[0] == "pandas":
        name = getattr(X, "name", None)
        return [_column(X)], [str(name) if name not in (None, "") else "0"]
    try:
        arr = np.asarray(X, dtype="float64")
    except (TypeError, ValueError) as e:
        raise _error(InvalidInputError, ("X",), f"must be a DataFrame or a 2-D array of numbers: {e}") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise _error(InvalidInputError, ("X",), f"must be two-dimensional (units x features), got {arr.ndim} dimensions")
    return [arr[:, j] for j in range(arr.shape[1])], None


def balance(X: Any, treatment: Any) -> pl.DataFrame:
    """Standardised mean difference of each feature between treated and control (Austin 2009):
    ``(mean_t - mean_c) / sqrt((s2_t + s2_c) / 2)`` with sample variances; |smd| > 0.1 is the
    usual flag of imbalance.

    ``X`` is a polars or pandas DataFrame or a dict (one column per feature), a 2-D array or
    nested list (units x features) or a single column; ``treatment`` is 0/1 per unit. Missing values (null,
    NaN) are omitted per feature. Returns a polars DataFrame with columns ``feature`` (the column
    name, or the column index for an array), ``n_treatment``, ``n_control``, ``mean_treatment``,
    ``mean_control``, ``smd`` (null when a group has fewer than 2 values or no spread).
    """
    cols, names = _feature_columns(X)
    out = _core._standardized_mean_differences(cols, _column(treatment), names)
    feature: list[Any] = [names[j] for j in out.pop("feature")] if names is not None else out.pop("feature")
    return pl.DataFrame(
        {"feature": feature, **out},
        schema_overrides={
            "n_treatment": pl.Int64,
            "n_control": pl.Int64,
            "mean_treatment": pl.Float64,
            "mean_control": pl.Float64,
            "smd": pl.Float64,
        },
    )


from liftlab._uplift_plots import UpliftPlot, qini_plot, uplift_plot  # noqa: E402  (re-export; it imports this module)

__all__ += ["UpliftPlot", "qini_plot", "uplift_plot"]

from liftlab._uplift_policy import ContactPlan, plan_contacts  # noqa: E402  (re-export)

__all__ += ["ContactPlan", "plan_contacts"]

from liftlab._uplift_meta import TLearner, XLearner  # noqa: E402  (re-export)

__all__ += ["TLearner", "XLearner"]
