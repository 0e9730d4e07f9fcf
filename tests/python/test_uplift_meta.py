"""liftlab.uplift.TLearner / XLearner: the built-in (Rust core) path against a numpy transcription
of the core's documented objective, the plug-in path against exact least squares, scikit-learn
base learners when installed, several treatments, save/load and the errors.

Data (the core's `meta_tests.rs` design): x0, x1, x2 ~ N(0, 1), treatment uniform over 0..=k,
y = 1 + x0 + uplift_t(x) + N(0, 1) with uplift_1 = 0.5 + x1 and uplift_2 = -1 + 2 x0.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import polars as pl
import pytest
from liftlab import _core
from liftlab.exceptions import InsufficientDataError, InvalidInputError, SchemaError
from liftlab.uplift import TLearner, XLearner

LEARNERS = [TLearner, XLearner]


def _data(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    t = rng.integers(0, k + 1, n)
    truth = np.column_stack([0.5 + X[:, 1], -1.0 + 2.0 * X[:, 0]])[:, :k]
    effect = np.where(t == 0, 0.0, truth[np.arange(n), np.maximum(t, 1) - 1])
    y = 1.0 + X[:, 0] + effect + rng.normal(size=n)
    return X, t, y, truth


def _ridge(X: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """The core's ridge (src/uplift/linear.rs module doc): standardise with the population sd,
    solve (ZᵀZ + alpha I) β = Zᵀ(y − ȳ), unpenalised intercept; returns [intercept, coef...]."""
    m, s = X.mean(axis=0), X.std(axis=0)
    Z = (X - m) / s
    beta = np.linalg.solve(Z.T @ Z + alpha * np.eye(X.shape[1]), Z.T @ (y - y.mean()))
    coef = beta / s
    return np.concatenate([[y.mean() - coef @ m], coef])


def _apply(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    return w[0] + X @ w[1:]


def _reference(learner: str, X, t, y, Xnew, alpha: float) -> np.ndarray:
    """T- and X-learner (one treatment) over `_ridge`, written from the core's module doc."""
    c, tr = t == 0, t == 1
    mu0, mu1 = _ridge(X[c], y[c], alpha), _ridge(X[tr], y[tr], alpha)
    if learner == "t":
        return _apply(mu1, Xnew) - _apply(mu0, Xnew)
    tau1 = _ridge(X[tr], y[tr] - _apply(mu0, X[tr]), alpha)
    tau0 = _ridge(X[c], _apply(mu1, X[c]) - y[c], alpha)
    g = tr.sum() / (tr.sum() + c.sum())
    return g * _apply(tau0, Xnew) + (1 - g) * _apply(tau1, Xnew)


class LstsqRegressor:
    """A hand-written base learner: ordinary least squares with an intercept (numpy lstsq)."""

    def fit(self, X, y):
        A = np.column_stack([np.ones(len(X)), np.asarray(X, dtype=float)])
        self.w_ = np.linalg.lstsq(A, np.asarray(y, dtype=float), rcond=None)[0]
        return self

    def predict(self, X):
        return _apply(self.w_, np.asarray(X, dtype=float))


def _ols(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Exact OLS by the normal equations (a different route from lstsq's SVD)."""
    A = np.column_stack([np.ones(len(X)), X])
    return np.linalg.solve(A.T @ A, A.T @ y)


# ---- built-in (Rust core) ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", LEARNERS)
def test_builtin_recovers_linear_uplift_and_matches_the_documented_objective(cls):
    X, t, y, _ = _data(5_000, 1, 7)
    Xn, _, _, truth = _data(5_000, 1, 8)
    model = cls().fit(X, t, y)
    assert model.outcome_ == "continuous"
    u = model.predict(Xn)
    assert u.shape == (5_000,) and u.dtype == np.float64
    # 1. the numpy transcription of the core's objective: same numbers up to rounding (the core
    #    solves by its own Cholesky, numpy by LAPACK: measured max |difference| 2.5e-14 (T), 1.3e-14
    #    (X); 1e-9 leaves room for other BLAS builds)
    ref = _reference(cls._learner, X, t, y, Xn, alpha=1.0)
    np.testing.assert_allclose(u, ref, rtol=1e-9, atol=1e-9)
    # 2. the truth: correlation on 5,000 fresh rows (measured 0.99922 for both learners with this
    #    numpy seed; the core's test measures 0.99999 on its own ChaCha8 data, n = 5,000 as here)
    assert np.corrcoef(u, truth[:, 0])[0, 1] > 0.99
    # 3. the core test's coefficient read-off ([intercept, slopes] of the linear uplift) within its
    #    tolerance 0.1 (~3.5 SE of a difference of two OLS coefficients on 2,500 rows each);
    #    measured T [0.5160, 0.0226, 0.9582, 0.0298], X [0.5160, 0.0226, 0.9581, 0.0298]
    pts = np.vstack([np.zeros(3), np.eye(3)])
    v = model.predict(pts)
    coef = np.concatenate([[v[0]], v[1:] - v[0]])
    np.testing.assert_allclose(coef, [0.5, 0.0, 1.0, 0.0], atol=0.1)


def test_builtin_binary_outcome_is_a_difference_of_probabilities():
    rng = np.random.default_rng(3)
    n = 20_000
    X = rng.normal(size=(n, 3))
    t = rng.integers(0, 2, n)
    a = -0.5 + 0.8 * X[:, 0]
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    truth = sig(a + 0.6 + 0.8 * X[:, 1]) - sig(a)
    y = (rng.random(n) < np.where(t == 1, sig(a + 0.6 + 0.8 * X[:, 1]), sig(a))).astype(float)
    for cls in LEARNERS:
        model = cls().fit(X, t, y)
        assert model.outcome_ == "binary"
        u = model.predict(X)
        assert np.all(np.abs(u) <= 1)
        # measured 0.9991 (T) and 0.9748 (X): the logistic T-learner is well specified, the
        # X-learner's linear second stage only approximates a difference of sigmoids
        assert np.corrcoef(u, truth)[0, 1] > 0.95, cls
    # outcome="continuous" forces ridge (a linear probability model) on the same 0/1 data
    assert TLearner(outcome="continuous").fit(X, t, y).outcome_ == "continuous"


def test_builtin_dataframes_by_name_in_any_order():
    X, t, y, _ = _data(2_000, 1, 1)
    df = pl.DataFrame(X, schema=["a", "b", "c"])
    for cls in LEARNERS:
        model = cls().fit(df, pl.Series(t), pl.Series(y))
        assert list(model.feature_names_in_) == ["a", "b", "c"]
        u = model.predict(df)
        np.testing.assert_array_equal(u, model.predict(df.select(["c", "a", "b"])))
        np.testing.assert_array_equal(u, model.predict(pd.DataFrame(X, columns=["a", "b", "c"])))
        np.testing.assert_array_equal(
            u, cls().fit(pd.DataFrame(X, columns=["a", "b", "c"]), pd.Series(t), pd.Series(y)).predict(X)
        )
        np.testing.assert_array_equal(u, cls().fit(X, t, y).predict(X))
        with pytest.raises(SchemaError, match=r"X: no column 'c'"):
            model.predict(df.drop("c"))
        with pytest.raises(SchemaError, match=r"unknown column 'd'"):
            model.predict(df.with_columns(d=pl.lit(1.0)))


# ---- plug-in base learners -------------------------------------------------------------------


def test_plugin_t_learner_equals_the_exact_ols_difference():
    X, t, y, _ = _data(3_000, 1, 11)
    Xn, _, _, _ = _data(1_000, 1, 12)
    u = TLearner(LstsqRegressor()).fit(X, t, y).predict(Xn)
    exact = _apply(_ols(X[t == 1], y[t == 1]), Xn) - _apply(_ols(X[t == 0], y[t == 0]), Xn)
    # lstsq (SVD) vs normal equations on well-conditioned data: ~1e-14
    np.testing.assert_allclose(u, exact, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("cls", LEARNERS)
def test_plugin_ols_equals_builtin_with_alpha_zero(cls):
    # the core's ridge with alpha = 0 is OLS, so both paths compute the same learner
    X, t, y, _ = _data(3_000, 1, 13)
    plug = cls(LstsqRegressor()).fit(X, t, y).predict(X)
    core = cls(alpha=0.0).fit(X, t, y).predict(X)
    np.testing.assert_allclose(plug, core, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(plug, _reference(cls._learner, X, t, y, X, alpha=0.0), rtol=1e-9, atol=1e-9)


def test_plugin_keeps_the_dataframe_for_the_base_learner():
    X, t, y, _ = _data(1_000, 1, 2)
    seen = []

    class Spy(LstsqRegressor):
        def fit(self, X, y):
            seen.append(type(X).__name__)
            return super().fit(X, y)

    df = pl.DataFrame(X, schema=["a", "b", "c"])
    model = TLearner(Spy()).fit(df, t, y)
    assert seen == ["DataFrame", "DataFrame"]
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    np.testing.assert_allclose(model.predict(df), TLearner(LstsqRegressor()).fit(X, t, y).predict(X), atol=1e-12)


def test_plugin_needs_fit_and_predict():
    X, t, y, _ = _data(200, 1, 2)
    with pytest.raises(InvalidInputError, match=r"^base: must have fit\(X, y\) and predict\(X\)"):
        TLearner(object()).fit(X, t, y)
    with pytest.raises(InvalidInputError, match=r"^second_stage: needs a base learner"):
        XLearner(second_stage=LstsqRegressor()).fit(X, t, y)


def test_copies_without_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # `import sklearn...` now raises ImportError
    X, t, y, _ = _data(500, 1, 5)
    base = LstsqRegressor()
    model = XLearner(base).fit(X, t, y)
    assert not hasattr(base, "w_")  # the given object stays unfitted: deep copies were fitted
    assert model.predict(X).shape == (500,)


def test_no_scikit_learn_at_import_time():
    code = "import sys, liftlab.uplift; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_scikit_learn_estimators_plug_in():
    # scikit-learn is in the test environment (Makefile); a missing one fails, never skips
    from sklearn import linear_model
    from sklearn.base import clone

    X, t, y, _ = _data(5_000, 1, 7)
    Xn, _, _, truth = _data(5_000, 1, 8)
    for cls in LEARNERS:
        u = cls(linear_model.LinearRegression()).fit(X, t, y).predict(Xn)
        assert np.corrcoef(u, truth[:, 0])[0, 1] > 0.99
        # LinearRegression is OLS: the built-in with alpha = 0 to rounding
        np.testing.assert_allclose(u, cls(alpha=0.0).fit(X, t, y).predict(Xn), atol=1e-9)
    # binary outcome: LogisticRegression's predict_proba at stage 1
    rng = np.random.default_rng(3)
    n = 20_000
    Xb = rng.normal(size=(n, 2))
    tb = rng.integers(0, 2, n)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    p0, p1 = sig(-0.5 + 0.8 * Xb[:, 0]), sig(0.1 + 0.8 * Xb[:, 0] + 0.8 * Xb[:, 1])
    yb = (rng.random(n) < np.where(tb == 1, p1, p0)).astype(float)
    t_model = TLearner(linear_model.LogisticRegression()).fit(Xb, tb, yb)
    x_model = XLearner(linear_model.LogisticRegression(), second_stage=linear_model.LinearRegression()).fit(Xb, tb, yb)
    for u in (t_model.predict(Xb), x_model.predict(Xb)):
        assert np.corrcoef(u, p1 - p0)[0, 1] > 0.95
    # C = 1 on ~N(0, 1) features vs the core's alpha = 1 on standardised ones: nearly the same fit
    # (measured max |difference| 1.0e-4 in uplift; correlations with the truth 0.9998 T, 0.974 X)
    np.testing.assert_allclose(t_model.predict(Xb), TLearner().fit(Xb, tb, yb).predict(Xb), atol=5e-3)
    with pytest.raises(InvalidInputError, match=r"^second_stage: base is a classifier"):
        XLearner(linear_model.LogisticRegression()).fit(Xb, tb, yb)
    # the estimator protocol: clone, nested parameters
    m = XLearner(linear_model.Ridge(), alpha=2.0)
    c = clone(m)
    assert c.get_params(deep=False)["alpha"] == 2.0 and c.base is not m.base
    m.set_params(base__alpha=5.0)
    assert m.base.alpha == 5.0 and m.get_params()["base__alpha"] == 5.0


# ---- several treatments ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", LEARNERS)
def test_several_treatments_one_column_each(cls):
    X, t, y, _ = _data(7_500, 2, 7)
    Xn, _, _, truth = _data(5_000, 2, 8)
    model = cls().fit(X, t, y)
    assert list(model.treatments_) == [1, 2]
    u = model.predict(Xn)
    assert u.shape == (5_000, 2)
    for k in range(2):
        assert np.corrcoef(u[:, k], truth[:, k])[0, 1] > 0.99
    # each treatment against control alone: the same as a one-treatment fit on those units
    for k in (1, 2):
        keep = (t == 0) | (t == k)
        alone = cls().fit(X[keep], (t[keep] == k).astype(int), y[keep]).predict(Xn)
        np.testing.assert_allclose(u[:, k - 1], alone, rtol=1e-12, atol=1e-12)
    plug = cls(LstsqRegressor()).fit(X, t, y).predict(Xn)
    np.testing.assert_allclose(plug, cls(alpha=0.0).fit(X, t, y).predict(Xn), atol=1e-9)


# ---- save / load -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", LEARNERS)
def test_save_load_identical(cls, tmp_path):
    X, t, y, _ = _data(3_000, 2, 4)
    df = pl.DataFrame(X, schema=["a", "b", "c"])
    model = cls(alpha=0.5).fit(df, t, y)
    path = tmp_path / "meta.json"
    model.save(path)
    saved = json.loads(path.read_text())
    assert saved["format"] == "liftlab.meta_learner" and saved["format_version"] == 1
    assert saved["model"]["format_version"] == 1 and saved["learner"] == cls._learner
    loaded = cls.load(path)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(df), model.predict(df))
    np.testing.assert_array_equal(loaded.predict(df.select(["b", "c", "a"])), model.predict(df))
    other = XLearner if cls is TLearner else TLearner
    with pytest.raises(InvalidInputError, match=r"\.learner: is"):
        other.load(path)
    saved["model"]["format_version"] = 99
    path.write_text(json.dumps(saved))
    with pytest.raises(InvalidInputError, match=r"model\.format_version: is 99"):
        cls.load(path)


def test_save_refuses_plugin_models(tmp_path):
    X, t, y, _ = _data(300, 1, 4)
    with pytest.raises(InvalidInputError, match=r"^base: save/load is for the built-in learners"):
        TLearner(LstsqRegressor()).fit(X, t, y).save(tmp_path / "m.json")


# ---- parameters ------------------------------------------------------------------------------


def test_defaults_agree_with_the_core():
    core = _core._meta_learner_defaults()
    for cls in LEARNERS:
        p = cls().get_params()
        assert p["alpha"] == core["alpha"] == core["logistic_alpha"]
        assert p["tol"] == core["tol"] and p["max_iter"] == core["max_iter"]
        assert p["base"] is None and p["outcome"] == "auto"


def test_get_set_params():
    m = TLearner()
    assert m.set_params(alpha=3.0, outcome="continuous") is m
    assert m.get_params()["alpha"] == 3.0
    assert repr(m) == "TLearner(outcome='continuous', alpha=3.0)"
    with pytest.raises(InvalidInputError, match=r"^second_stage: not a parameter of TLearner"):
        m.set_params(second_stage=None)
    X, t, y, _ = _data(200, 1, 4)
    with pytest.raises(InvalidInputError, match=r"^outcome: must be one of"):
        TLearner(outcome="spend").fit(X, t, y)
    with pytest.raises(InvalidInputError, match=r"^alpha: must be a finite number >= 0"):
        XLearner(alpha=-1).fit(X, t, y)
    with pytest.raises(InvalidInputError, match=r"^TLearner: not fitted yet"):
        TLearner().predict(X)


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("base", [None, LstsqRegressor()], ids=["builtin", "plugin"])
@pytest.mark.parametrize("cls", LEARNERS)
def test_errors_name_the_argument(cls, base):
    X, t, y, _ = _data(100, 1, 9)
    with pytest.raises(InvalidInputError, match=r"^treatment: has 99 values but X has 100 rows"):
        cls(base).fit(X, t[:99], y)
    with pytest.raises(InvalidInputError, match=r"^y: has 99 values but X has 100 rows"):
        cls(base).fit(X, t, y[:99])
    with pytest.raises(InvalidInputError, match=r"^treatment: every unit has code 1"):
        cls(base).fit(X, np.ones(100), y)
    with pytest.raises(InvalidInputError, match=r"^treatment: no unit has treatment 1"):
        cls(base).fit(X, np.where(t == 1, 2, t), y)
    with pytest.raises(InsufficientDataError, match=r"^treatment: code 1 has 1 unit; each group needs at least 2"):
        cls(base).fit(X, np.r_[1, np.zeros(99)], y)
    with pytest.raises(InvalidInputError, match=r"^treatment\[0\]: must be an integer code"):
        cls(base).fit(X, np.r_[0.5, t[1:]], y)
    y_nan = y.copy()
    y_nan[3] = np.nan
    with pytest.raises(InvalidInputError, match=r"^y\[3\]: missing or non-finite outcome"):
        cls(base).fit(X, t, y_nan)
    with pytest.raises(InvalidInputError, match=r"^y\[3\]: missing"):
        cls(base).fit(X, t, pl.Series(y).scatter(3, None))
    with pytest.raises(InvalidInputError, match=r"^X: has no feature columns"):
        cls(base).fit(np.empty((100, 0)), t, y)
    with pytest.raises(InvalidInputError, match=r"^y\[0\]: must be 0 or 1"):
        cls(base, outcome="binary").fit(X, t, y)


@pytest.mark.parametrize("cls", LEARNERS)
def test_builtin_errors(cls):
    X, t, y, _ = _data(100, 1, 9)
    df = pl.DataFrame(X, schema=["a", "b", "c"])
    with pytest.raises(SchemaError, match=r'^X\["city"\]: is text.*One-hot encode.*UpliftForest'):
        cls().fit(df.with_columns(city=pl.lit("Paris")), t, y)
    with pytest.raises(SchemaError, match=r'^X\["city"\]: is text'):
        cls().fit(pd.DataFrame(X, columns=["a", "b", "c"]).assign(city="Paris"), t, y)
    with pytest.raises(InvalidInputError, match=r"^X: has no feature columns"):
        cls().fit(pl.DataFrame(), t, y)
    # a missing feature: the core's x[j][i] renamed to the column
    with pytest.raises(InvalidInputError, match=r'^X\["b"\]\[5\]: is NaN'):
        cls().fit(df.with_columns(pl.when(pl.int_range(pl.len()) == 5).then(None).otherwise(pl.col("b")).alias("b")), t, y)
    model = cls().fit(df, t, y)
    with pytest.raises(SchemaError, match=r"^X: has 2 columns; the model was fitted on 3"):
        model.predict(X[:, :2])
