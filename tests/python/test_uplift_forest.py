"""liftlab.uplift.UpliftForest: the core's uplift forest behind a scikit-learn face."""

from __future__ import annotations

import csv
import inspect
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from liftlab import _core
from liftlab.exceptions import InsufficientDataError, InvalidInputError, LiftlabError, LiftlabIOError, SchemaError
from liftlab.uplift import UpliftForest

SMALL = {"n_trees": 20, "min_samples_leaf": 200}


def make_data(seed: int, n: int = 20_000) -> tuple[pl.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Known uplift: +0.1 where x0 > 0 and +0.1 in the city "south", on a base rate of 0.2;
    x1 is noise. Treatment is a fair coin."""
    rng = np.random.default_rng(seed)
    x0, x1 = rng.normal(size=n), rng.normal(size=n)
    city = rng.choice(["north", "south", "east", "west"], size=n)
    t = rng.integers(0, 2, n)
    tau = 0.1 * (x0 > 0) + 0.1 * (city == "south")
    y = (rng.random(n) < 0.2 + t * tau).astype("float64")
    return pl.DataFrame({"x0": x0, "x1": x1, "city": city}), t, y, tau


@pytest.fixture(scope="module")
def train() -> tuple[pl.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    return make_data(0)


@pytest.fixture(scope="module")
def fitted(train) -> UpliftForest:
    X, t, y, _ = train
    return UpliftForest(**SMALL).fit(X, t, y)


def test_recovers_a_known_uplift() -> None:
    # Measured (liftlab 0.1.0, 50 trees, min_samples_leaf=200, 20,000 units, fresh 20,000 for
    # testing): the correlation with the true uplift was 0.871-0.935 over data seeds 0-7 (0.886
    # for seed 0); without the city column it was 0.58-0.71, below 1/sqrt(2) = 0.707, the best
    # a ranking blind to half of the effect can do. 0.8 leaves room for platform noise while
    # still requiring the categorical split.
    X, t, y, _ = make_data(0)
    X_test, _, _, tau = make_data(100)
    model = UpliftForest(n_trees=50, min_samples_leaf=200, seed=0).fit(X, t, y)
    with_city = np.corrcoef(model.predict(X_test), tau)[0, 1]
    blind = UpliftForest(n_trees=50, min_samples_leaf=200, seed=0).fit(X.drop("city"), t, y)
    without_city = np.corrcoef(blind.predict(X_test.drop("city")), tau)[0, 1]
    assert with_city > 0.8
    assert without_city < 0.75 < with_city
    # The fitted uplift in "south" exceeds the others' by about 0.1.
    pred = model.predict(X_test)
    south = X_test["city"].to_numpy() == "south"
    assert 0.05 < pred[south].mean() - pred[~south].mean() < 0.15


def test_polars_pandas_and_numpy_give_identical_predictions(train) -> None:
    X, t, y, _ = train
    reference = UpliftForest(**SMALL).fit(X, t, y).predict(X)
    cols = {c: X[c].to_list() for c in X.columns}
    variants = [
        X.with_columns(pl.col("city").cast(pl.Categorical)),
        X.with_columns(pl.col("city").cast(pl.Enum(["west", "south", "north", "east"]))),
        pd.DataFrame(cols),
        pd.DataFrame({**cols, "city": pd.Categorical(cols["city"])}),
        pd.DataFrame({**cols, "city": pd.array(cols["city"], dtype="string")}),
    ]
    for frame in variants:
        model = UpliftForest(**SMALL).fit(frame, pl.Series(t), pd.Series(y))
        np.testing.assert_array_equal(model.predict(frame), reference)
        # a model fitted on one library scores the other's frames
        np.testing.assert_array_equal(model.predict(X), reference)
    # numeric features: a 2-D numpy array and the same columns as a DataFrame
    numeric = X.drop("city")
    from_frame = UpliftForest(**SMALL).fit(numeric, t, y)
    from_array = UpliftForest(**SMALL).fit(numeric.to_numpy(), t, y)
    np.testing.assert_array_equal(from_array.predict(numeric.to_numpy()), from_frame.predict(numeric))
    assert not hasattr(from_array, "feature_names_in_")
    assert from_array.n_features_in_ == 2


def test_nulls_are_missing_alike_in_polars_and_pandas(train) -> None:
    X, t, y, _ = train
    mask = np.arange(len(X)) % 7 == 0
    x0 = np.where(mask, np.nan, X["x0"].to_numpy())
    city = [None if m else c for m, c in zip(mask, X["city"].to_list())]
    polars_frame = pl.DataFrame({"x0": pl.Series(x0).fill_nan(None), "x1": X["x1"], "city": city})
    pandas_frame = pd.DataFrame({"x0": x0, "x1": X["x1"].to_numpy(), "city": city})
    a = UpliftForest(**SMALL).fit(polars_frame, t, y).predict(polars_frame)
    b = UpliftForest(**SMALL).fit(pandas_frame, t, y).predict(pandas_frame)
    np.testing.assert_array_equal(a, b)
    assert np.isfinite(a).all()


def test_unseen_category_is_missing(fitted, train) -> None:
    X = train[0].head(50)
    unseen = fitted.predict(X.with_columns(pl.lit("atlantis").alias("city")))
    null = fitted.predict(X.with_columns(pl.lit(None, dtype=pl.String).alias("city")))
    np.testing.assert_array_equal(unseen, null)


def test_columns_are_matched_by_name(fitted, train) -> None:
    X = train[0]
    np.testing.assert_array_equal(fitted.predict(X.select("city", "x1", "x0")), fitted.predict(X))
    assert list(fitted.feature_names_in_) == ["x0", "x1", "city"]


def test_save_and_load_give_identical_predictions(fitted, train, tmp_path: Path) -> None:
    X = train[0]
    path = tmp_path / "model.json"
    fitted.save(path)
    saved = json.loads(path.read_text())
    assert (saved["format"], saved["format_version"]) == ("liftlab.uplift_forest", 1)
    assert saved["features"][2] == {"name": "city", "categories": ["east", "north", "south", "west"]}
    loaded = UpliftForest.load(path)
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    assert loaded.get_params() == fitted.get_params()
    assert list(loaded.feature_names_in_) == list(fitted.feature_names_in_)
    saved["format_version"] = 99
    path.write_text(json.dumps(saved))
    with pytest.raises(InvalidInputError, match="format_version"):
        UpliftForest.load(path)


def test_seed_fixes_the_forest_whatever_the_thread_count(train) -> None:
    X, t, y, _ = train
    one = UpliftForest(**SMALL, n_jobs=1).fit(X, t, y).predict(X)
    every = UpliftForest(**SMALL).fit(X, t, y).predict(X)
    np.testing.assert_array_equal(one, every)
    other_seed = UpliftForest(**SMALL, seed=1).fit(X, t, y).predict(X)
    assert not np.array_equal(other_seed, every)


def test_defaults_agree_with_the_core() -> None:
    """Defaults live once, in Rust (`ForestParams::default()`); the signature must say the same."""
    sig = inspect.signature(UpliftForest.__init__).parameters
    for name, value in _core._uplift_forest_defaults().items():
        assert sig[name].default == value, name
    assert sig["n_jobs"].default is None


def test_sklearn_style_params() -> None:
    m = UpliftForest(n_trees=7)
    params = m.get_params()
    assert params["n_trees"] == 7 and params["criterion"] == "KL"
    clone = type(m)(**params)
    assert clone.get_params() == params
    assert m.set_params(max_depth=3, criterion="ED") is m
    assert (m.max_depth, m.criterion) == (3, "ED")
    assert repr(m) == "UpliftForest(n_trees=7, max_depth=3, criterion='ED')"
    with pytest.raises(InvalidInputError, match="^depth: not a parameter"):
        m.set_params(depth=3)


@pytest.mark.parametrize(
    ("case", "exception", "message"),
    [
        ("no_features", InvalidInputError, r"^X: has no feature columns"),
        ("short_treatment", InvalidInputError, r"^treatment: has 10 values but X has 20000 rows"),
        ("short_y", InvalidInputError, r"^y: has 10 values but X has 20000 rows"),
        ("single_group", InvalidInputError, r"^treatment: every unit has code 0; control \(0\) and at least one treatment"),
        ("missing_code", InvalidInputError, r"^treatment: no unit has treatment 1; codes must be 0 \(control\) and 1..=2"),
        ("nan_outcome", InvalidInputError, r"^y\[5\]: missing outcome"),
        ("bad_treatment", InvalidInputError, r"^treatment\[0\]: must be an integer code 0 \(control\) or 1..=63 \(a treatment\), got 2.5"),
        ("infinite_feature", InvalidInputError, r'^X\["x1"\]\[3\]: must be finite'),
        ("bad_criterion", InvalidInputError, r"^criterion: must be one of"),
        ("bad_n_trees", InvalidInputError, r"^n_trees: must be in 1..=10000, got 0"),
    ],
)
def test_fit_errors_name_the_field(train, case: str, exception: type, message: str) -> None:
    X, t, y, _ = train
    kwargs = dict(SMALL)
    if case == "no_features":
        X = X.select([])
    elif case == "short_treatment":
        t = t[:10]
    elif case == "short_y":
        y = y[:10]
    elif case == "single_group":
        t = np.zeros_like(t)
    elif case == "nan_outcome":
        y = y.copy()
        y[5] = np.nan
    elif case == "missing_code":
        t = np.where(t == 1, 2, 0)
    elif case == "bad_treatment":
        t = t.astype(float)
        t[0] = 2.5
    elif case == "infinite_feature":
        X = X.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(np.inf).otherwise(pl.col("x1")).alias("x1"))
    elif case == "bad_criterion":
        kwargs["criterion"] = "gini"
    elif case == "bad_n_trees":
        kwargs["n_trees"] = 0
    with pytest.raises(exception, match=message):
        UpliftForest(**kwargs).fit(X, t, y)


def test_predict_errors_name_the_columns(fitted, train) -> None:
    X = train[0].head(10)
    with pytest.raises(SchemaError, match=r"^X: unknown column 'id'"):
        fitted.predict(X.with_columns(pl.lit(1).alias("id")))
    with pytest.raises(SchemaError, match=r"^X: no column 'x1'"):
        fitted.predict(X.drop("x1"))
    with pytest.raises(SchemaError, match=r'^X\["x0"\]: is text'):
        fitted.predict(X.with_columns(pl.col("x0").cast(pl.String)))
    with pytest.raises(SchemaError, match=r"^X: has 2 columns; the model was fitted on 3"):
        fitted.predict(X.drop("city").to_numpy())
    with pytest.raises(InvalidInputError, match="not fitted"):
        UpliftForest().predict(X)
    assert issubclass(SchemaError, LiftlabError)


def test_a_python_model_scores_on_the_command_line(fitted, train, liftlab_bin: str, tmp_path: Path) -> None:
    """The model file is shared with `liftlab uplift score`: same predictions, bit for bit."""
    X = train[0].head(500)
    model, data, out = tmp_path / "model.json", tmp_path / "pool.csv", tmp_path / "scored.csv"
    fitted.save(model)
    X.with_row_index("id").write_csv(data)
    run = subprocess.run(
        [liftlab_bin, "uplift", "score", "--model", str(model), "--data", str(data), "--id-col", "id", "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == [str(i) for i in range(500)]
    np.testing.assert_array_equal(np.array([float(r["uplift"]) for r in rows]), fitted.predict(X))


def make_channels(seed: int, n: int = 30_000) -> tuple[pl.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Three groups: 0 = no contact, 1 = SMS with uplift +0.12 where x0 > 0, 2 = call with +0.12
    in the city "south"; base rate 0.2. Returns X, treatment, y and the true uplifts (n, 2)."""
    rng = np.random.default_rng(seed)
    x0, x1 = rng.normal(size=n), rng.normal(size=n)
    city = rng.choice(["north", "south", "east", "west"], size=n)
    t = rng.integers(0, 3, n)
    tau = np.column_stack([0.12 * (x0 > 0), 0.12 * (city == "south")])
    lift = np.where(t == 1, tau[:, 0], np.where(t == 2, tau[:, 1], 0.0))
    y = (rng.random(n) < 0.2 + lift).astype("float64")
    return pl.DataFrame({"x0": x0, "x1": x1, "city": city}), t, y, tau


def test_several_treatments_predict_one_column_each(tmp_path: Path) -> None:
    # Measured (30,000 units, 40 trees, fresh 10,000 for testing): r = 0.881 (SMS) and 0.894
    # (call) with their own true uplift; 0.020 and 0.009 with the other's.
    X, t, y, _ = make_channels(1)
    X_test, _, _, tau = make_channels(2, 10_000)
    model = UpliftForest(n_trees=40, min_samples_leaf=200, seed=3).fit(X, t, y)
    assert list(model.treatments_) == [1, 2]
    pred = model.predict(X_test)
    assert pred.shape == (10_000, 2) and pred.dtype == np.float64
    r = [np.corrcoef(pred[:, k], tau[:, k])[0, 1] for k in range(2)]
    cross = [np.corrcoef(pred[:, k], tau[:, 1 - k])[0, 1] for k in range(2)]
    assert min(r) > 0.8, r
    assert max(abs(c) for c in cross) < 0.3, cross
    # the file keeps both treatments: identical predictions after loading
    model.save(tmp_path / "m.json")
    back = UpliftForest.load(tmp_path / "m.json")
    assert list(back.treatments_) == [1, 2]
    np.testing.assert_array_equal(back.predict(X_test), pred)
    # the same numbers as the T-learner's shape convention: column k - 1 is treatment k
    one = UpliftForest(n_trees=40, min_samples_leaf=200, seed=3).fit(X.filter(pl.Series(t != 2)), t[t != 2], y[t != 2])
    assert one.predict(X_test).shape == (10_000,)


def test_row_major_arrays_are_binned_column_by_column() -> None:
    # a C-ordered 2-D array crosses as strided column views; the forest equals the one fitted on
    # Fortran-ordered (contiguous column) data and on a DataFrame of the same numbers
    X, t, y, _ = make_data(5, 5_000)
    A = np.ascontiguousarray(X.drop("city").to_numpy())
    F = np.asfortranarray(A)
    a = UpliftForest(**SMALL).fit(A, t, y)
    f = UpliftForest(**SMALL).fit(F, t, y)
    assert json.loads(a._forest.to_json()) == json.loads(f._forest.to_json())
    np.testing.assert_array_equal(a.predict(A), f.predict(F))


def test_progress_reports_every_tree(capsys) -> None:
    X, t, y, _ = make_data(6, 3_000)
    seen: list[tuple[int, int]] = []
    UpliftForest(n_trees=9, min_samples_leaf=100).fit(X, t, y, progress=lambda done, total: seen.append((done, total)))
    assert sorted(seen) == [(k, 9) for k in range(1, 10)]
    # True: a bar (tqdm's when installed, else a stderr line) that ends at 9/9
    UpliftForest(n_trees=9, min_samples_leaf=100).fit(X, t, y, progress=True)
    assert "9/9" in capsys.readouterr().err
    with pytest.raises(InvalidInputError, match="^progress: must be True, False, None or a callable"):
        UpliftForest(n_trees=2).fit(X, t, y, progress="yes")


def test_item11_text_columns_zero_rows_and_missing_files_name_the_argument(fitted, train, tmp_path: Path) -> None:
    """Issue 13, item 11: text treatment labels or a text outcome in a polars Series, 0-row frames
    (polars and pandas) and a missing model file raised polars' errors, a bare IndexError and
    FileNotFoundError; each is now a liftlab.exceptions error naming the argument, for the forest
    and the meta-learners alike."""
    from liftlab.uplift import TLearner

    X, t, y, _ = train
    labels = pl.Series(np.where(t == 1, "sms", "none"))
    for est in (UpliftForest(**SMALL), TLearner()):
        Xe = X if isinstance(est, UpliftForest) else X.drop("city")
        with pytest.raises(InvalidInputError, match=r"^treatment: has String values; must be numbers; give codes 0"):
            est.fit(Xe, labels, y)
        with pytest.raises(InvalidInputError, match=r"^y: has String values; must be numbers"):
            est.fit(Xe, t, pl.Series(np.where(y == 1, "yes", "no")))
        with pytest.raises(InvalidInputError, match=r"^treatment:"):
            est.fit(pd.DataFrame(Xe.to_dict(as_series=False)), pd.Series(labels.to_list()), y)
        for empty in (Xe.head(0), pd.DataFrame(Xe.head(0).to_dict(as_series=False))):
            with pytest.raises(InsufficientDataError, match=r"^X: has no rows"):
                est.fit(empty, t[:0], y[:0])
        with pytest.raises(LiftlabIOError, match=r"^path: cannot read .*missing\.json"):
            type(est).load(tmp_path / "missing.json")
    with pytest.raises(InsufficientDataError, match=r"^X: has no rows"):
        fitted.predict(X.head(0))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidInputError, match=r"bad\.json: is not JSON"):  # the core names the file, as the CLI does
        UpliftForest.load(tmp_path / "bad.json")


def test_issue12_forest_sizes_are_bounded_and_counts_are_invalid_input(train) -> None:
    """Issue 12, item 5: ``UpliftForest(n_jobs=20000)`` used to hang starting threads; every size
    is bounded (n_trees <= 10,000, max_depth <= 64, n_jobs <= 256, max_bins <= 255) and a negative
    or huge count is an InvalidInputError naming the parameter, never OverflowError."""
    from liftlab.uplift import TLearner

    X, t, y, _ = train
    X, t, y = X.head(2000), t[:2000], y[:2000]
    for params, field in (
        ({"n_jobs": 20_000}, "n_jobs: must be in 1..=256"),
        ({"n_trees": 10_001}, "n_trees: must be in 1..=10000"),
        ({"max_depth": 65}, "max_depth: must be in 1..=64"),
        ({"max_bins": 256}, "max_bins: must be in 2..=255"),
        ({"n_trees": -1}, "n_trees:"),
        ({"seed": 2**64}, "seed:"),
        ({"n_trees": 10**30}, "n_trees:"),
        ({"max_features": 10**30}, "max_features:"),
    ):
        with pytest.raises(InvalidInputError, match="^" + re.escape(field)):
            UpliftForest(**{**SMALL, **params}).fit(X, t, y)
    assert UpliftForest(n_trees=2, min_samples_leaf=200, n_jobs=256).fit(X, t, y).predict(X).shape == (2000,)
    with pytest.raises(InvalidInputError, match=r"^max_iter:"):
        TLearner(max_iter=10**30).fit(X.drop("city"), t, y)


def test_item11_the_cli_reads_nan_cells_as_python_does(liftlab_bin: str, tmp_path: Path) -> None:
    """Issue 13, item 11: polars writes a float NaN as ``NaN`` in CSV; ``liftlab uplift fit`` reads
    it as a missing value, as Python does, so the forest fitted on the file by the CLI predicts
    exactly what the forest fitted in Python on the same frame predicts (same seed)."""
    X, t, y, _ = make_data(3, 4000)
    X = X.with_columns(pl.when(pl.int_range(pl.len()) % 9 == 0).then(np.nan).otherwise(pl.col("x0")).alias("x0"))
    data, model = tmp_path / "train.csv", tmp_path / "model.json"
    X.with_columns(pl.Series("t", t), pl.Series("y", y)).write_csv(data)
    assert "NaN" in data.read_text()
    run = subprocess.run(
        [liftlab_bin, "uplift", "fit", "--data", str(data), "--treatment-col", "t", "--outcome-col", "y",
         "--categorical", "city", "--n-trees", "10", "--min-samples-leaf", "100", "-o", str(model)],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    ours = UpliftForest(n_trees=10, min_samples_leaf=100).fit(X, t, y)
    np.testing.assert_array_equal(UpliftForest.load(model).predict(X), ours.predict(X))
