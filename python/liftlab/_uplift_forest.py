"""``liftlab.uplift.UpliftForest``: the core's uplift random forest with a scikit-learn face.

The estimator turns a polars or pandas DataFrame (or a 2-D numpy array) into float64 columns:
numeric and boolean columns as numbers, string / categorical columns as categorical features
coded by their sorted distinct values at fit time (the mapping is kept in the model, so a value
keeps its code across calls and files), null / NaN as missing. A category unseen at fit time is
missing at predict time.

Treatment is codes 0 (control) and 1..k: one forest takes several treatments at once (SMS, call,
e-mail against no contact), and ``predict`` returns the uplift of each, a 2-D array ``(n, k)``
(a 1-D array for one treatment, as the meta-learners do).

The saved file is the core's (``liftlab::uplift::model_file``), shared with the command line
(``liftlab uplift fit`` / ``score``) and the Spark scorer: features with their categories, the
treatments' labels, the parameters and the forest. The rules (category coding, treatment codes
0..63, each group at least ``MIN_GROUP_UNITS`` = 2 units, text labels with ``control=``) are the
core's too; this module converts DataFrames and arrays.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import polars as pl

from liftlab import _core
from liftlab._uplift_estimator import Estimator
from liftlab.exceptions import InsufficientDataError, InvalidInputError, LiftlabIOError, SchemaError, _error

FILE_FORMAT = "liftlab.uplift_forest"
FILE_FORMAT_VERSION = 1


def _is_pandas(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "pandas"


def _is_text_dtype_polars(dtype: Any) -> bool:
    return dtype == pl.String or isinstance(dtype, (pl.Enum, pl.Categorical)) or dtype == pl.Categorical


def _pandas_is_text(col: Any) -> bool:
    import pandas as pd

    dtype = col.dtype
    return bool(
        isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)
    )


def _table(X: Any) -> tuple[list[str] | None, dict[str, Any]]:
    """Column names (None for an array) and, per name, ``("num", float64 array)`` or
    ``("cat", list of str | None)``."""
    if isinstance(X, pl.DataFrame):
        out: dict[str, Any] = {}
        for name in X.columns:
            s = X.get_column(name)
            if _is_text_dtype_polars(s.dtype):
                out[str(name)] = ("cat", s.cast(pl.String).to_list())
            elif s.dtype.is_numeric() or s.dtype == pl.Boolean or s.dtype == pl.Null:
                out[str(name)] = ("num", np.ascontiguousarray(s.cast(pl.Float64).to_numpy(), dtype="float64"))
            else:
                raise _error(SchemaError, (f'X["{name}"]',), f"has type {s.dtype}; use numbers, booleans or strings")
        return [str(c) for c in X.columns], out
    if _is_pandas(X) and hasattr(X, "columns"):
        import pandas as pd

        out = {}
        for name in X.columns:
            col = X[name]
            if _pandas_is_text(col):
                out[str(name)] = ("cat", [None if pd.isna(v) else str(v) for v in col.tolist()])
            else:
                try:
                    out[str(name)] = ("num", col.to_numpy(dtype="float64", na_value=np.nan))
                except (TypeError, ValueError) as e:
                    raise _error(SchemaError, (f'X["{name}"]',), f"cannot be read as numbers: {e}") from None
        return [str(c) for c in X.columns], out
    try:
        arr = np.asarray(X, dtype="float64")
    except (TypeError, ValueError) as e:
        raise _error(InvalidInputError, ("X",), f"must be a DataFrame or a 2-D array of numbers: {e}") from None
    if arr.ndim != 2:
        raise _error(InvalidInputError, ("X",), f"must be two-dimensional (units x features), got {arr.ndim} dimensions")
    # column views, not copies: the core bins one column at a time (copying a strided one alone)
    return None, {f"x{j}": ("num", arr[:, j]) for j in range(arr.shape[1])}


def _vector(v: Any, field: str) -> np.ndarray:
    """A column of numbers (booleans as 0/1, null as NaN) as float64; text is an
    ``InvalidInputError`` naming ``field``."""
    if isinstance(v, pl.Series):
        if not (v.dtype.is_numeric() or v.dtype in (pl.Boolean, pl.Null)):
            hint = (
                "; give codes 0 (control) and 1..k (UpliftForest.fit also reads text labels with control=LABEL)"
                if field == "treatment"
                else ""
            )
            raise _error(InvalidInputError, (field,), f"has {v.dtype} values; must be numbers{hint}")
        v = v.cast(pl.Float64).to_numpy()
    elif _is_pandas(v) and hasattr(v, "to_numpy"):
        try:
            v = v.to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError) as e:
            raise _error(InvalidInputError, (field,), f"must be numbers: {e}") from None
    try:
        a = np.asarray(v, dtype="float64")
    except (TypeError, ValueError) as e:
        raise _error(InvalidInputError, (field,), f"must be numbers: {e}") from None
    if a.ndim != 1:
        raise _error(InvalidInputError, (field,), f"must be one-dimensional, got {a.ndim} dimensions")
    return a


def _treatment_codes(treatment: Any, y: np.ndarray, control: str | None = None) -> tuple[np.ndarray, list[str] | None]:
    """The core's treatment codes (0 = control, 1..k, every group at least 2 units) and, with
    ``control``, the treatments' labels: text labels become codes (control 0, the others sorted)."""
    labels = None
    if control is None:
        t = _vector(treatment, "treatment")
    else:
        if isinstance(treatment, pl.Series):
            values = treatment.cast(pl.String).to_list()
        else:
            values = [None if v is None or v != v else str(v) for v in list(treatment)]
        t, labels = _core._treatment_label_codes(values, str(control))
    if len(t) != len(y):
        raise _error(InvalidInputError, ("treatment",), f"has {len(t)} values but X has {len(y)} rows", "length_mismatch")
    return _core._treatment_codes(t, y), labels


def _fitted_columns(X: Any, expected: list[str], by_name: bool) -> list[tuple[str, Any]]:
    """X's columns in the fitted order, as :func:`_table` reads them: matched by name when the
    model was fitted on named columns and X has names (the fitted ones and no others), else by
    position (as many as at fit time)."""
    names, table = _table(X)
    if names is not None and by_name:
        absent = [c for c in expected if c not in table]
        if absent:
            raise _error(SchemaError, ("X",), f"no column {', '.join(repr(c) for c in absent)} (the model was fitted on {', '.join(expected)})")
        unknown = [c for c in names if c not in set(expected)]
        if unknown:
            raise _error(
                SchemaError,
                ("X",),
                f"unknown column {', '.join(repr(c) for c in unknown)} "
                f"(the model was fitted on {', '.join(expected)}); drop it before predict"
            )
        return [table[c] for c in expected]
    if len(table) != len(expected):
        raise _error(SchemaError, ("X",), f"has {len(table)} columns; the model was fitted on {len(expected)}")
    return list(table.values())


def _progress(progress: Any, total: int) -> tuple[Any, Any]:
    """The per-tree callback for ``progress`` and a function closing what it opened."""
    if progress is None or progress is False:
        return None, lambda: None
    if callable(progress):
        return (lambda done: progress(done, total)), lambda: None
    if progress is not True:
        raise _error(InvalidInputError, ("progress",), f"must be True, False, None or a callable, got {progress!r}")
    try:
        from tqdm.auto import tqdm
    except ImportError:
        import sys

        def line(done: int) -> None:
            width = 30
            filled = width * done // total
            sys.stderr.write(f"\rgrowing trees [{'=' * filled}{' ' * (width - filled)}] {done}/{total}")
            sys.stderr.flush()

        return line, lambda: sys.stderr.write("\n")
    bar = tqdm(total=total, desc="growing trees", unit="tree")
    return (lambda done: bar.update(done - bar.n)), bar.close


class UpliftForest(Estimator):
    """An uplift random forest for a binary outcome (Rzepakowski & Jaroszewicz 2012 split
    criteria, causalml's ``UpliftRandomForestClassifier`` parameters), grown by liftlab's core.

    Parameters mirror the core's ``ForestParams`` and their defaults (``n_reg`` is 10, as in
    causalml). ``criterion`` is ``"KL"``, ``"ED"``, ``"Chi"`` or ``"DDP"``; ``max_depth`` counts
    splits (1 = a stump); ``max_features`` None is ``ceil(sqrt(p))``; ``n_jobs`` None uses every
    core; the seed alone fixes the forest, whatever the thread count. Limits (the core's, checked
    before anything is allocated or started): ``n_trees`` at most 10,000, ``max_depth`` at most 64,
    ``n_jobs`` at most 256, ``max_bins`` 2 to 255; beyond them ``InvalidInputError`` names the
    parameter.

    >>> import numpy as np
    >>> from liftlab.uplift import UpliftForest
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 2)); t = rng.integers(0, 2, 2000)
    >>> y = (rng.random(2000) < 0.3 + 0.2 * t * (X[:, 0] > 0)).astype(float)
    >>> m = UpliftForest(n_trees=10, min_samples_leaf=50).fit(X, t, y)
    >>> m.predict(X).shape
    (2000,)
    """

    def __init__(
        self,
        n_trees: int = 100,
        max_depth: int = 5,
        min_samples_leaf: int = 100,
        min_samples_treatment: int = 10,
        n_reg: float = 10.0,
        criterion: str = "KL",
        max_features: int | None = None,
        bootstrap: bool = True,
        max_bins: int = 255,
        normalization: bool = True,
        seed: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.__dict__.update({k: v for k, v in locals().items() if k != "self"})

    # fit / predict -------------------------------------------------------------------------------

    def _core_params(self) -> dict[str, Any]:
        for name in ("n_trees", "max_depth", "min_samples_leaf", "min_samples_treatment", "max_bins", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise _error(InvalidInputError, (name,), f"must be a non-negative integer, got {v!r}")
        for name in ("max_features", "n_jobs"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
                raise _error(InvalidInputError, (name,), f"must be None or a positive integer, got {v!r}")
        return {
            "n_trees": int(self.n_trees),
            "max_depth": int(self.max_depth),
            "min_samples_leaf": int(self.min_samples_leaf),
            "min_samples_treatment": int(self.min_samples_treatment),
            "n_reg": float(self.n_reg),
            "criterion": str(self.criterion),
            "max_features": None if self.max_features is None else int(self.max_features),
            "bootstrap": bool(self.bootstrap),
            "max_bins": int(self.max_bins),
            "normalization": bool(self.normalization),
            "seed": int(self.seed),
            "n_jobs": None if self.n_jobs is None else int(self.n_jobs),
        }

    def fit(self, X: Any, treatment: Any, y: Any, *, control: str | None = None, progress: Any = None) -> UpliftForest:
        """Grows the forest on features ``X`` (DataFrame or 2-D array), ``treatment`` codes
        (0 = control, 1..k = treatments such as SMS, call, e-mail; every code present, each with
        at least 2 units) and a binary outcome ``y`` (0/1; a missing outcome is an error). Returns
        self.

        With ``control`` (a label), ``treatment`` holds text labels, as ``liftlab uplift fit
        --control`` reads them: that label is control and the others, sorted, treatments 1..k
        (kept in ``treatment_labels_`` and the saved file, and naming the Spark scorer's columns).

        ``progress=True`` shows a bar of the trees grown (``tqdm.auto``'s in a notebook when tqdm
        is installed, else a line on stderr); a callable is called as ``progress(done, total)``
        after each tree."""
        params = self._core_params()
        names, table = _table(X)
        if not table:
            raise _error(InvalidInputError, ("X",), "has no feature columns")
        features: list[dict[str, Any]] = []
        columns: list[np.ndarray] = []
        categorical: list[int] = []
        for j, (name, (kind, values)) in enumerate(table.items()):
            if kind == "cat":
                categories = _core._categories(values)
                features.append({"name": name, "categories": categories})
                columns.append(_core._category_codes(values, categories))
                categorical.append(j)
            else:
                features.append({"name": name, "categories": None})
                columns.append(values)
        yv = _vector(y, "y")
        n = len(columns[0])
        if n == 0:
            raise _error(InsufficientDataError, ("X",), "has no rows")
        if len(yv) != n:
            raise _error(InvalidInputError, ("y",), f"has {len(yv)} values but X has {n} rows", "length_mismatch")
        missing = np.flatnonzero(np.isnan(yv))
        if missing.size:
            raise _error(InvalidInputError, ("y", int(missing[0])), "missing outcome (NaN or null); drop or fill it before fitting")
        codes, labels = _treatment_codes(treatment, yv, control)
        col_names = [f["name"] for f in features]
        on_tree, close = _progress(progress, params["n_trees"])
        try:
            self._forest = _core._fit_uplift_forest(
                columns, codes, yv, names=col_names, categorical=categorical, on_tree=on_tree, **params
            )
        finally:
            close()
        self.treatments_ = np.arange(1, self._forest.n_treatments + 1)
        self.treatment_labels_ = labels
        self._features = features
        self._set_fitted_features(names, len(features))
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "_forest"):
            raise _error(InvalidInputError, ("UpliftForest",), "not fitted yet; call fit(X, treatment, y) or UpliftForest.load(path)")

    def predict(self, X: Any) -> np.ndarray:
        """Predicted uplift ``P(y=1 | treatment k) - P(y=1 | control)`` of each row, as float64:
        a 1-D array for one treatment, a 2-D array ``(n, k)`` for several (column ``k - 1`` is
        treatment ``k``), as the meta-learners give.

        A DataFrame must have the fitted columns (matched by name, in any order) and no others;
        a 2-D array, as many columns as at fit time, in the same order.
        """
        self._check_fitted()
        expected = [f["name"] for f in self._features]
        columns_in_order = _fitted_columns(X, expected, hasattr(self, "feature_names_in_"))
        items = list(zip(self._features, columns_in_order))
        columns: list[np.ndarray] = []
        for f, (kind, values) in items:
            if f["categories"] is not None:
                if kind == "num":
                    # numbers where text was fitted: compare as text, the way they print
                    values = [None if v != v else (str(int(v)) if float(v).is_integer() else str(v)) for v in values]
                columns.append(_core._category_codes(values, f["categories"]))
            else:
                if kind == "cat":
                    raise _error(SchemaError, (f'X["{f["name"]}"]',), "is text but was numeric at fit time")
                columns.append(values)
        out = self._forest.predict(columns, names=expected)
        return out[0] if len(out) == 1 else np.column_stack(out)

    # persistence -----------------------------------------------------------------------------------

    def score_columns(self) -> list[str]:
        """The names ``liftlab uplift score`` and :func:`liftlab.spark.predict_uplift` give the
        scores: ``uplift`` for one treatment, else the treatments' labels or ``uplift_1``, ..."""
        self._check_fitted()
        return list(_core._score_columns(self._forest.n_treatments, self.treatment_labels_))

    def to_json(self) -> str:
        """The saved form, the core's model file (see the module documentation)."""
        self._check_fitted()
        features = [(f["name"], f["categories"]) for f in self._features]
        n_jobs = None if self.n_jobs is None else int(self.n_jobs)
        names_in = hasattr(self, "feature_names_in_")
        return _core._write_forest_file(self._forest, features, names_in, self.treatment_labels_, n_jobs)

    def to_dict(self) -> dict[str, Any]:
        """The saved form as a dict (see the module documentation)."""
        return dict(json.loads(self.to_json()))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the model as versioned JSON; :meth:`load` gives identical predictions."""
        text = self.to_json()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text + "\n")

    @classmethod
    def from_json(cls, text: str, source: str = "model") -> UpliftForest:
        """A model from the text of a model file (:meth:`save`'s or ``liftlab uplift fit``'s)."""
        d = _core._read_forest_file(text, source)
        params = {k: v for k, v in d["params"].items() if k in cls._param_names()}
        model = cls(**params)
        model._forest = d["forest"]
        model._features = [{"name": name, "categories": cats} for name, cats in d["features"]]
        if d["feature_names_in"]:
            model.feature_names_in_ = np.array([f["name"] for f in model._features], dtype=object)
        model.n_features_in_ = len(model._features)
        model.treatments_ = np.arange(1, model._forest.n_treatments + 1)
        model.treatment_labels_ = d["treatments"]
        return model

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "model") -> UpliftForest:
        """A model from :meth:`to_dict`'s dict."""
        return cls.from_json(json.dumps(d), source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> UpliftForest:
        """Reads a model written by :meth:`save` or by ``liftlab uplift fit``; a file that cannot
        be read raises :class:`liftlab.exceptions.LiftlabIOError` naming ``path``."""
        return cls.from_json(_read_text(path), os.fspath(path))


def _read_text(path: Any) -> str:
    """The text of a model file; unreadable is a liftlab error naming ``path``."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise _error(InvalidInputError, ("path",), f"{os.fspath(path)} is not UTF-8 text: {e}") from None
    except (OSError, TypeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise _error(LiftlabIOError, ("path",), f"cannot read {path!r}: {reason}") from None


def _read_json(path: Any) -> Any:
    """The JSON of a model file; unreadable or not JSON is a liftlab error naming ``path``."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise _error(InvalidInputError, ("path",), f"{os.fspath(path)} is not JSON: {e}") from None
    except UnicodeDecodeError as e:
        raise _error(InvalidInputError, ("path",), f"{os.fspath(path)} is not UTF-8 text: {e}") from None
    except (OSError, TypeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise _error(LiftlabIOError, ("path",), f"cannot read {path!r}: {reason}") from None
