"""``liftlab.uplift.TLearner`` / ``XLearner``: meta-learners of the uplift (Künzel, Sekhon, Bickel &
Yu 2019, "Metalearners for estimating heterogeneous treatment effects using machine learning",
PNAS 116(10)) with a scikit-learn face.

**Two paths.** With ``base=None`` the Rust core fits everything (``liftlab::uplift::meta``): ridge
regression for a continuous outcome (spend, revenue), L2 logistic regression for a binary one,
ridge at the X-learner's second stage; ``alpha`` is the L2 penalty of both (scikit-learn's
``Ridge(alpha)`` and ``LogisticRegression(C=1/alpha)`` on standardised features). These take
numeric features only (numbers, booleans; no missing values): a text column is a ``SchemaError``
suggesting one-hot encoding, or :class:`liftlab.uplift.UpliftForest`, which handles categories.
The built-in models save to versioned JSON (:meth:`save` / :meth:`load`).

With ``base`` = any object with ``fit(X, y)`` and ``predict(X)`` (a scikit-learn estimator or a
hand-written class), the meta-learning is done here in numpy: ``base`` is copied per model with
``sklearn.base.clone`` when scikit-learn is importable, else ``copy.deepcopy``; for a binary
outcome its ``predict_proba(X)[:, 1]`` is used when it has one. ``X`` is handed to the base learner
as given (row subsets of the same DataFrame / array), so a pipeline may encode categories itself.

**The learners.** T-learner: ``μ0`` on control, ``μ_k`` on the units of treatment ``k``; uplift
``μ_k(x) − μ0(x)``. X-learner: the imputed effects ``D1 = Y − μ0(X)`` (treated) and
``D0 = μ_k(X) − Y`` (control) are regressed by the second stage (``second_stage``, default a copy
of ``base``) into ``τ1`` and ``τ0``; uplift ``g·τ0(x) + (1 − g)·τ1(x)`` with **g the share treated**
``n_k / (n_k + n_0)``, a constant: the data must come from a randomised experiment, where the
propensity does not depend on ``x`` (the core makes the same choice). Do not use them on
observational data.

**Treatments.** ``treatment`` holds codes ``0`` (control) and ``1..k``, every code present; each
treatment is fitted against control alone. ``predict`` returns a 1-D array for one treatment and
a 2-D array ``(n, k)`` for several (column ``k − 1`` is treatment ``k``).

The saved file (built-in learners only)::

    {"format": "liftlab.meta_learner", "format_version": 1, "learner": "t" | "x",
     "features": ["x0", "x1"], "feature_names_in": true, "outcome": "continuous",
     "params": {...the Python parameters...}, "model": {...the core model, with its format_version...}}
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import numpy as np
import polars as pl

from liftlab import _core
from liftlab._uplift_estimator import Estimator
from liftlab._uplift_forest import _fitted_columns, _is_pandas, _read_json, _table, _treatment_codes, _vector
from liftlab.exceptions import InsufficientDataError, InvalidInputError, SchemaError, _error

FILE_FORMAT = "liftlab.meta_learner"
FILE_FORMAT_VERSION = 1

_OUTCOMES = ("auto", "binary", "continuous")


def _clone(estimator: Any) -> Any:
    """An unfitted copy: scikit-learn's ``clone`` when available (imported lazily), else a deep copy."""
    try:
        from sklearn.base import clone
    except ImportError:
        return copy.deepcopy(estimator)
    return clone(estimator, safe=False)


def _check_estimator(est: Any, field: str) -> None:
    for method in ("fit", "predict"):
        if not callable(getattr(est, method, None)):
            raise _error(InvalidInputError, (field,), f"must have fit(X, y) and predict(X) methods; {type(est).__name__} has no {method}")


def _shape(X: Any) -> tuple[int, int, list[str] | None]:
    """Rows, columns and column names (None for an array) of X, for the plug-in path."""
    if isinstance(X, pl.DataFrame):
        return X.height, X.width, [str(c) for c in X.columns]
    if _is_pandas(X) and hasattr(X, "columns"):
        return len(X), X.shape[1], [str(c) for c in X.columns]
    shape = np.shape(X)
    if len(shape) != 2:
        raise _error(InvalidInputError, ("X",), f"must be two-dimensional (units x features), got {len(shape)} dimensions")
    return shape[0], shape[1], None


def _rows(X: Any, idx: np.ndarray) -> Any:
    if isinstance(X, pl.DataFrame):
        return X[idx]
    if _is_pandas(X) and hasattr(X, "iloc"):
        return X.iloc[idx]
    return np.asarray(X)[idx]


class _MetaLearner(Estimator):
    """Shared machinery of :class:`TLearner` and :class:`XLearner` (``_learner`` is "t" or "x")."""

    _learner = "t"

    # fit / predict -------------------------------------------------------------------------------

    def _check_params(self) -> None:
        if self.outcome not in _OUTCOMES:
            raise _error(InvalidInputError, ("outcome",), f"must be one of {', '.join(map(repr, _OUTCOMES))}, got {self.outcome!r}")
        alpha = self.alpha
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)) or not (0 <= alpha < float("inf")):
            raise _error(InvalidInputError, ("alpha",), f"must be a finite number >= 0, got {alpha!r}")
        if isinstance(self.tol, bool) or not isinstance(self.tol, (int, float, np.number)) or not (0 < self.tol < float("inf")):
            raise _error(InvalidInputError, ("tol",), f"must be a finite number > 0, got {self.tol!r}")
        mi = self.max_iter
        if isinstance(mi, bool) or not isinstance(mi, (int, np.integer)) or mi < 1:
            raise _error(InvalidInputError, ("max_iter",), f"must be a positive integer, got {mi!r}")
        if self.base is not None:
            _check_estimator(self.base, "base")
        second = getattr(self, "second_stage", None)
        if second is not None:
            if self.base is None:
                raise _error(
                    InvalidInputError,
                    ("second_stage",),
                    "needs a base learner too; with base=None the core's ridge is the second stage"
                )
            _check_estimator(second, "second_stage")

    def fit(self, X: Any, treatment: Any, y: Any) -> _MetaLearner:
        """Fits on features ``X`` (polars / pandas DataFrame or 2-D array), ``treatment`` codes
        (0 = control, 1..k) and outcome ``y`` (continuous, or 0/1; a missing outcome is an error).
        Returns self."""
        self._check_params()
        yv = _vector(y, "y")
        if self.base is None:
            names, table = _table(X)
            if not table:
                raise _error(InvalidInputError, ("X",), "has no feature columns")
            text = [name for name, (kind, _) in table.items() if kind == "cat"]
            if text:
                raise _error(
                    SchemaError,
                    (f'X["{text[0]}"]',),
                    'is text; the built-in linear base learners take numeric features only. '
                    "One-hot encode it (polars: X.to_dummies(...), pandas: get_dummies), pass base= a pipeline "
                    "that encodes it, or use UpliftForest, which handles categorical features"
                )
            columns = [np.ascontiguousarray(v, dtype="float64") for _, v in table.values()]
            n, features = len(columns[0]), list(table)
        else:
            n, width, names = _shape(X)
            if width == 0:
                raise _error(InvalidInputError, ("X",), "has no feature columns")
            features = names if names is not None else [f"x{j}" for j in range(width)]
        if n == 0:
            raise _error(InsufficientDataError, ("X",), "has no rows")
        if len(yv) != n:
            raise _error(InvalidInputError, ("y",), f"has {len(yv)} values but X has {n} rows", "length_mismatch")
        bad = np.flatnonzero(~np.isfinite(yv))
        if bad.size:
            raise _error(InvalidInputError, ("y", int(bad[0])), f"missing or non-finite outcome ({yv[bad[0]]}); drop or fill it before fitting")
        codes, _ = _treatment_codes(treatment, yv)
        is01 = (yv == 0) | (yv == 1)
        if self.outcome == "auto":
            outcome = "binary" if bool(is01.all()) else "continuous"
        else:
            outcome = self.outcome
            if outcome == "binary" and not is01.all():
                i = int(np.flatnonzero(~is01)[0])
                raise _error(InvalidInputError, ("y", i), f"must be 0 or 1 (binary outcome), got {yv[i]}")

        self._model: Any = None
        self._plugin: dict[str, Any] | None = None
        if self.base is None:
            self._model = _core._fit_meta_learner(
                columns,
                codes,
                np.ascontiguousarray(yv),
                names=features,
                learner=self._learner,
                outcome=outcome,
                alpha=float(self.alpha),
                tol=float(self.tol),
                max_iter=int(self.max_iter),
            )
        else:
            self._plugin = self._fit_plugin(X, codes, yv, outcome)
        self._features = features
        self.outcome_ = outcome
        self.treatments_ = np.arange(1, int(codes.max()) + 1)
        self._set_fitted_features(names, len(features))
        return self

    def _predict_outcome(self, model: Any, X: Any, binary: bool) -> np.ndarray:
        if binary and callable(getattr(model, "predict_proba", None)):
            proba = np.asarray(model.predict_proba(X), dtype="float64")
            classes = list(getattr(model, "classes_", [0, 1]))
            col = classes.index(1) if 1 in classes else proba.shape[1] - 1
            return proba[:, col]
        return np.asarray(model.predict(X), dtype="float64").reshape(-1)

    def _fit_plugin(self, X: Any, codes: np.ndarray, y: np.ndarray, outcome: str) -> dict[str, Any]:
        binary = outcome == "binary"
        second = getattr(self, "second_stage", None)
        if self._learner == "x" and second is None:
            if binary and callable(getattr(self.base, "predict_proba", None)):
                raise _error(
                    InvalidInputError,
                    ("second_stage",),
                    "base is a classifier (it has predict_proba) and the second stage regresses the "
                    "imputed effects in [-1, 1]; give a regressor, e.g. second_stage=LinearRegression()"
                )
            second = self.base
        idx0 = np.flatnonzero(codes == 0)
        X0, y0 = _rows(X, idx0), y[idx0]
        mu0 = _clone(self.base).fit(X0, y0)
        arms: list[dict[str, Any]] = []
        for k in range(1, int(codes.max()) + 1):
            idx1 = np.flatnonzero(codes == k)
            X1, y1 = _rows(X, idx1), y[idx1]
            mu1 = _clone(self.base).fit(X1, y1)
            arm: dict[str, Any] = {"mu": mu1, "propensity": len(idx1) / (len(idx1) + len(idx0))}
            if self._learner == "x":
                d1 = y1 - self._predict_outcome(mu0, X1, binary)
                d0 = self._predict_outcome(mu1, X0, binary) - y0
                arm["tau1"] = _clone(second).fit(X1, d1)
                arm["tau0"] = _clone(second).fit(X0, d0)
            arms.append(arm)
        return {"mu0": mu0, "arms": arms, "binary": binary}

    def _check_fitted(self) -> None:
        if not hasattr(self, "_features"):
            name = type(self).__name__
            raise _error(InvalidInputError, (name,), f"not fitted yet; call fit(X, treatment, y) or {name}.load(path)")

    def _columns(self, X: Any) -> list[np.ndarray]:
        """X's feature columns in fitted order (built-in path)."""
        expected = self._features
        items = list(zip(expected, _fitted_columns(X, expected, hasattr(self, "feature_names_in_"))))
        out = []
        for name, (kind, values) in items:
            if kind == "cat":
                raise _error(SchemaError, (f'X["{name}"]',), "is text; the built-in linear base learners take numeric features only")
            out.append(np.ascontiguousarray(values, dtype="float64"))
        return out

    def predict(self, X: Any) -> np.ndarray:
        """The predicted uplift over control of each row: a 1-D float64 array for one treatment, a
        2-D array ``(n, k)`` for several (column ``k - 1`` is treatment ``k``). For a binary outcome
        it is a difference of probabilities.

        Built-in learners: a DataFrame must have the fitted columns (matched by name, in any
        order) and no others; a 2-D array, as many columns as at fit time, in the same order.
        """
        self._check_fitted()
        if self._plugin is None:
            uplifts = list(self._model.predict(self._columns(X), names=self._features))
        else:
            p = self._plugin
            binary = p["binary"]
            uplifts = []
            mu0 = self._predict_outcome(p["mu0"], X, binary) if self._learner == "t" else None
            for arm in p["arms"]:
                if mu0 is not None:
                    uplifts.append(self._predict_outcome(arm["mu"], X, binary) - mu0)
                else:
                    g = arm["propensity"]
                    tau0 = np.asarray(arm["tau0"].predict(X), dtype="float64").reshape(-1)
                    tau1 = np.asarray(arm["tau1"].predict(X), dtype="float64").reshape(-1)
                    uplifts.append(g * tau0 + (1.0 - g) * tau1)
        return uplifts[0] if len(uplifts) == 1 else np.column_stack(uplifts)

    # persistence -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The saved form (see the module documentation); built-in learners only."""
        self._check_fitted()
        if self._plugin is not None:
            raise _error(
                InvalidInputError,
                ("base",),
                "save/load is for the built-in learners (base=None); a plug-in base learner is a Python "
                "object, so pickle or joblib the fitted model instead"
            )
        params = {k: v for k, v in self.get_params(deep=False).items() if k not in ("base", "second_stage")}
        return {
            "format": FILE_FORMAT,
            "format_version": FILE_FORMAT_VERSION,
            "learner": self._learner,
            "features": self._features,
            "feature_names_in": hasattr(self, "feature_names_in_"),
            "outcome": self.outcome_,
            "params": params,
            "model": json.loads(self._model.to_json()),
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the model as versioned JSON; :meth:`load` gives identical predictions."""
        d = self.to_dict()
        with open(path, "w", encoding="utf-8") as f:
            json.dump(d, f)
            f.write("\n")

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "model") -> Any:
        if not isinstance(d, dict) or d.get("format") != FILE_FORMAT:
            raise _error(InvalidInputError, (source,), f'not a liftlab meta-learner (no "format": "{FILE_FORMAT}")')
        if d.get("format_version") != FILE_FORMAT_VERSION:
            raise _error(
                InvalidInputError,
                (source, "format_version"),
                f"is {d.get('format_version')!r}; this liftlab reads {FILE_FORMAT_VERSION}"
            )
        if d.get("learner") != cls._learner:
            other = {"t": "TLearner", "x": "XLearner"}.get(str(d.get("learner")), "another model")
            raise _error(InvalidInputError, (source, "learner"), f"is {d.get('learner')!r}, a saved {other}; use {other}.load")
        features = d.get("features")
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise _error(InvalidInputError, (source, "features"), "must be a list of column names")
        model = _core._MetaLearner.from_json(json.dumps(d.get("model")), f"{source}.model")
        if model.n_features != len(features) or model.learner != cls._learner:
            raise _error(InvalidInputError, (source, "model"), "does not match the file's learner and features")
        params = {k: v for k, v in (d.get("params") or {}).items() if k in cls._param_names()}
        est = cls(**params)
        est._model = model
        est._plugin = None
        est._features = list(features)
        est.outcome_ = model.outcome
        est.treatments_ = np.arange(1, model.n_treatments + 1)
        if d.get("feature_names_in", True):
            est.feature_names_in_ = np.array(features, dtype=object)
        est.n_features_in_ = len(features)
        return est

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Any:
        """Reads a model written by :meth:`save`; a file that cannot be read raises
        :class:`liftlab.exceptions.LiftlabIOError` naming ``path``."""
        return cls.from_dict(_read_json(path), os.fspath(path))


class TLearner(_MetaLearner):
    """T-learner: one outcome model per group; the uplift of treatment ``k`` is ``μ_k(x) − μ0(x)``.

    ``base=None`` fits the core's ridge (continuous outcome) or L2 logistic regression (binary;
    the uplift is then a difference of probabilities), penalty ``alpha`` on standardised features;
    ``tol`` / ``max_iter`` govern the logistic fit. ``base`` = any ``fit``/``predict`` estimator
    fits in Python instead. ``outcome="auto"`` is binary when every ``y`` is 0 or 1. See the
    module documentation of ``liftlab._uplift_meta`` for the details.

    >>> import numpy as np
    >>> from liftlab.uplift import TLearner
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 2)); t = rng.integers(0, 2, 2000)
    >>> y = 1 + X[:, 0] + t * (0.5 + X[:, 1]) + rng.normal(size=2000)
    >>> TLearner().fit(X, t, y).predict(X).shape
    (2000,)
    """

    _learner = "t"

    def __init__(
        self, base: Any = None, *, outcome: str = "auto", alpha: float = 1.0, tol: float = 1e-8, max_iter: int = 100
    ) -> None:
        self.__dict__.update({k: v for k, v in locals().items() if k != "self"})


class XLearner(_MetaLearner):
    """X-learner (Künzel et al. 2019): stage-1 outcome models as the T-learner's, then imputed
    effects regressed by ``second_stage`` (default a copy of ``base``; the core's ridge when
    ``base=None``), combined with the weight ``g`` = share treated (randomised data assumed).

    Parameters as :class:`TLearner`. With a classifier ``base`` on a binary outcome, give a
    regressor as ``second_stage``.
    """

    _learner = "x"

    def __init__(
        self, base: Any = None, second_stage: Any = None, *, outcome: str = "auto", alpha: float = 1.0, tol: float = 1e-8,
        max_iter: int = 100,
    ) -> None:  # fmt: skip
        self.__dict__.update({k: v for k, v in locals().items() if k != "self"})
