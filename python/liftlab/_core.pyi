"""Type stubs and examples for the Rust extension ``liftlab._core``.

The examples below are run by the test suite (pytest ``--doctest-glob='*.pyi'``).

"""


from collections.abc import Callable, Sequence
from typing import Any, final

import numpy as np
import numpy.typing as npt

__version__: str
REASONS: list[str]

class LiftlabError(Exception):
    code: str
    detail: str | None
    field: str | None
    path: tuple[str | int, ...]
class InvalidInputError(LiftlabError): ...
class SchemaError(LiftlabError): ...
class InsufficientDataError(LiftlabError): ...
class NotFoundError(LiftlabError): ...
class LiftlabIOError(LiftlabError): ...

def _main(argv: Sequence[str]) -> int:
    """Runs the ``liftlab`` command (the Rust binary's own entry point) with ``argv``, program
    name first, with the GIL released; returns its exit code. The wheel's ``liftlab`` console
    script (``liftlab._cli.main``) calls it."""

@final
class Spec:
    """A validated experiment spec.

    >>> from liftlab import Spec
    >>> spec = Spec.from_toml('[[experiments]]\nkey = "a"\nvariants = ["control", "treatment"]')
    >>> spec.experiments, spec.variants("a"), spec.weights("a")
    (['a'], ['control', 'treatment'], [0.5, 0.5])

    """

    @staticmethod
    def from_toml(text: str) -> Spec: ...
    @staticmethod
    def from_json(text: str) -> Spec: ...
    @property
    def experiments(self) -> list[str]: ...
    def variants(self, experiment: str) -> list[str]: ...
    def weights(self, experiment: str) -> list[float]: ...
    def metric_columns(self, experiment: str) -> list[str]: ...
    def segment_columns(self, experiment: str) -> list[str]: ...
    def resolve_experiment(self, experiment: str | None = None) -> str: ...
    def to_toml(self) -> str: ...

@final
class Assignment:
    """The answer for one unit in one experiment: a variant, or why not.

    >>> import liftlab
    >>> spec = liftlab.load_spec('[[experiments]]\nkey = "a"\nvariants = ["c", "t"]\nexclude = ["u9"]')
    >>> liftlab.assign(spec, "u9")[0].to_dict()["reason"]
    'excluded'

    """

    experiment: str
    unit_id: str
    variant: str | None
    variant_index: int | None
    reason: str
    enrolled: bool
    bucket: float | None
    detail: str | None
    def to_dict(self) -> dict: ...
    def _repr_html_(self) -> str: ...

def hash_unit(seed: str, value: str, version: int = 2) -> float:
    """GrowthBook-compatible hash in [0, 1): FNV-1a 32 over UTF-16 code units.

    >>> from liftlab import hash_unit
    >>> hash_unit("seed", "a", 2), hash_unit("", "a", 1)
    (0.0505, 0.22)

    """

def bucket_ranges(n_variants: int, coverage: float = 1.0, weights: list[float] | None = None) -> list[tuple[float, float]]:
    """Bucket range per variant; invalid weights or coverage, or ``n_variants`` outside
    ``1..=1000``, raise InvalidInputError naming the argument.

    >>> from liftlab import bucket_ranges
    >>> bucket_ranges(2, 0.5)
    [(0.0, 0.25), (0.5, 0.75)]

    """

def choose_variant(hash: float, ranges: Sequence[Sequence[float]] | npt.ArrayLike) -> int | None:
    """Index of the range holding ``hash``, or None. ``ranges`` is any sequence of ``[start, end)``
    pairs (lists, tuples, a 2-D numpy array), as GrowthBook's SDKs take them; a malformed one
    raises InvalidInputError naming ``ranges[i]``.

    >>> from liftlab import choose_variant
    >>> choose_variant(0.6, [[0, 0.25], [0.5, 0.75]]), choose_variant(0.4, [(0, 0.25), (0.5, 0.75)])
    (1, None)

    """

def in_namespace(unit_id: str, name: str, start: float, end: float) -> bool:
    """Whether ``unit_id`` is in ``[start, end)`` of namespace ``name``.

    >>> from liftlab import in_namespace
    >>> in_namespace("1", "namespace1", 0.4, 1.0)
    True

    """

def _eval_condition(condition_json: str, attributes_json: str, groups_json: str | None = None) -> bool: ...
def _assign(spec: Spec, unit_id: str, attributes_json: str | None = None, experiment: str | None = None) -> list[Assignment]: ...
def _unit_id_of_number(value: float, field: str = "unit_id") -> str:
    """A number's unit id: JavaScript's ``String()`` of it, as GrowthBook hashes numbers.

    >>> from liftlab import _core
    >>> _core._unit_id_of_number(47593751.0), _core._unit_id_of_number(1e21), _core._unit_id_of_number(-0.0)
    ('47593751', '1e+21', '0')

    """

def _unit_ids_of_floats(values: npt.NDArray[np.float64]) -> list[str]: ...
def _assign_batch(
    spec: Spec, table: object, experiment: str, attributes_json: str | None = None
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8], npt.NDArray[np.float64]]: ...

@final
class SrmResult:
    """Outcome of a sample-ratio-mismatch check."""

    statistic: float
    df: int
    p_value: float
    mismatch: bool
    observed: list[int]
    expected: list[float]
    def to_dict(self) -> dict: ...
    def _repr_html_(self) -> str: ...

def check_srm(observed: list[int], weights: list[float], alpha: float = ...) -> SrmResult:
    """Pearson chi-square test of the observed split against the weights.

    >>> from liftlab import check_srm
    >>> r = check_srm([5300, 4700], [0.5, 0.5])
    >>> r.mismatch, round(r.statistic, 6)
    (True, 36.0)

    """

def adjust_p_values(p_values: list[float], method: str = "holm") -> list[float]:
    """Holm or Benjamini-Hochberg adjusted p-values, in the input's order
    (statsmodels' ``multipletests(method="holm" | "fdr_bh")``).

    >>> from liftlab import adjust_p_values
    >>> [round(p, 3) for p in adjust_p_values([0.01, 0.04, 0.03, 0.005], "holm")]
    [0.03, 0.06, 0.06, 0.02]

    """

def _analyze(
    spec: Spec,
    key: str,
    exposures: tuple[list[str], dict[str, Any]],
    outcomes: tuple[list[str], dict[str, Any]],
    unit_col: str,
    variant_col: str,
    time_col: str | None,
) -> str: ...
def _analyze_stats(spec: Spec, key: str, data_json: str) -> str: ...
def _compile_sql(
    spec: Spec, key: str, dialect: str, start: str | None = None, end: str | None = None, base_dir: str | None = None
) -> tuple[str, list[str]]: ...
def _analyze_stats_table(spec: Spec, key: str, table_json: str) -> str: ...
def _report_html(report_json: str) -> str: ...
def _report_page(report_json: str) -> str: ...
def _report_markdown(report_json: str) -> str: ...
def _forest_plot_svg(report_json: str) -> str: ...
def _compare_arms(arms_json: str, kind: str, options_json: str) -> str: ...
def _bayes_effect(
    rel_effect: float, rel_std_err: float, prior_json: str = "{}", direction: str = "increase", alpha: float = 0.05
) -> str: ...
def _confidence_sequence(
    estimate: float, std_err: float, n_total: float, alpha: float = 0.05, tuning: float = ...
) -> str: ...
def _group_sequential_design(info_fractions: list[float], alpha: float = 0.05, alternative: str = "two-sided") -> str: ...
def _power(what: str, args_json: str) -> str: ...
def _forecast_impact(request_json: str) -> str:
    """``liftlab::forecast::forecast_impact`` over JSON: the request of ``POST /v1/forecast`` in,
    its answer out; a bad request raises InvalidInputError naming the field from the root.

    >>> import json
    >>> from liftlab import _core
    >>> req = {"model": {"nodes": [{"name": "visitors", "kind": "count", "baseline": 1000},
    ...                            {"name": "conversion", "kind": "rate", "baseline": 0.05}],
    ...                  "changes": [{"node": "conversion", "low": 0.1, "likely": 0.1, "high": 0.1}]}}
    >>> round(json.loads(_core._forecast_impact(json.dumps(req)))["forecast"]["relative"]["estimate"], 12)
    0.1
    >>> req["model"]["nodes"][1]["baseline"] = 1.5
    >>> _core._forecast_impact(json.dumps(req))
    Traceback (most recent call last):
    ...
    liftlab.InvalidInputError: model.nodes[1].baseline: 1.5 is a rate outside [0, 1]

    """

def _forecast_defaults() -> str:
    """The defaults of a forecast request as JSON (what every answer echoes as ``settings``)."""

def _forecast_request_from_toml(text: str, source: str) -> str:
    """A forecast request read from TOML text (a forecast file, or an experiment spec with one
    ``[[forecasts]]``) as the JSON ``POST /v1/forecast`` takes; errors name ``source`` or the field."""

def _forecast_chart(request_json: str, report_json: str, chart: str, width: int = ..., months: int = ...) -> str:
    """One chart of a forecast as SVG, drawn by the core: ``lift``, ``tornado`` or ``gain``."""

def _forecast_html(request_json: str, report_json: str) -> str:
    """The core's HTML of a forecast: the tables, the formula and the charts."""

def _forecast_text(report_json: str) -> str:
    """What ``liftlab forecast`` prints for a forecast."""

def _cumulative_gain(request_json: str, report_json: str, months: int) -> str:
    """The cumulative gain at the end of each month since launch at each quantile, as JSON rows."""

def _reconcile(
    forecast_relative_json: str,
    reach: float,
    confidence_level: float,
    report_json: str,
    metric: str,
    variant: str | None = None,
) -> str:
    """A forecast's topline interval (``{"estimate", "low", "high"}``) at ``reach`` against the
    observed lift of ``metric`` in an analysis report, both on the scale of the reached units
    (topline / reach): ``{"observed", "reconciliation", "variant", "html"}``."""

# Uplift metrics (``liftlab.uplift`` wraps these). Columns are numpy float64 / uint8 arrays (a
# contiguous one is read without a copy) or anything ``numpy.asarray(x, dtype="float64")`` reads;
# treatment values must be 0 or 1. Order and names are scikit-uplift's ``(y_true, uplift,
# treatment)``, and errors name them so. The computations run without the GIL.

_Column = npt.ArrayLike

def _ranking_curve(
    kind: str, y_true: _Column, uplift: _Column, treatment: _Column
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """sklift's ``qini_curve`` (``kind="qini"``) or ``uplift_curve`` (``"uplift"``):
    ``(n_targeted, value)`` at each distinct score, from ``(0, 0)``.

    >>> from liftlab import _core
    >>> _core._ranking_curve("uplift", [1, 0, 1, 0], [0.4, 0.3, 0.2, 0.1], [1, 1, 0, 0])[1].tolist()
    [0.0, 1.0, 1.0, -1.5, 0.0]
    >>> _core._ranking_curve("uplift", [1, 0, 1], [0.4, 0.3], [1, 1, 0])
    Traceback (most recent call last):
    ...
    liftlab.InvalidInputError: uplift: has 2 values but y_true has 3

    """

@final
class _UpliftChart:
    """A Qini or uplift chart drawn by the core (``report::uplift_chart``)."""
    @property
    def svg(self) -> str: ...
    @property
    def curves(self) -> list[tuple[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]]: ...
    @property
    def x_range(self) -> tuple[float, float]: ...
    @property
    def y_range(self) -> tuple[float, float]: ...
    def scale(self, n_targeted: float, value: float) -> tuple[float, float]: ...

def _uplift_chart(
    kind: str,
    y_true: _Column,
    treatment: _Column,
    names: list[str],
    scores: list[_Column],
    *,
    perfect: bool,
    negative_effect: bool,
    max_points: int,
) -> _UpliftChart:
    """The Qini or uplift chart of each ranking; a repeated or reserved name is an error naming
    ``others``.

    >>> from liftlab import _core
    >>> c = _core._uplift_chart("qini", [1, 0, 1, 0], [1, 1, 0, 0], ["model"], [[0.4, 0.3, 0.2, 0.1]],
    ...                         perfect=True, negative_effect=True, max_points=400)
    >>> [name for name, _ in c.curves], c.svg.startswith("<svg")
    (['model', 'random', 'perfect'], True)

    """

def _profit_curve_svg(n_contacted: list[int], net_gain: list[float], plan_n: int, peak_n: int) -> str:
    """A contact plan's profit curve as SVG, the plan's point and the peak marked."""

def _perfect_uplift_curve(y_true: _Column, treatment: _Column) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def _perfect_qini_curve(
    y_true: _Column, treatment: _Column, negative_effect: bool = True
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def _uplift_auc(y_true: _Column, uplift: _Column, treatment: _Column) -> dict[str, float | None]: ...
def _qini_auc(y_true: _Column, uplift: _Column, treatment: _Column, negative_effect: bool = True) -> dict[str, float | None]: ...
def _uplift_auc_score(y_true: _Column, uplift: _Column, treatment: _Column) -> float: ...
def _qini_auc_score(y_true: _Column, uplift: _Column, treatment: _Column, negative_effect: bool = True) -> float: ...
def _uplift_at_k(
    y_true: _Column, uplift: _Column, treatment: _Column, strategy: str = "overall", k: float | int | None = None
) -> float: ...
def _uplift_by_percentile(
    y_true: _Column, uplift: _Column, treatment: _Column, strategy: str = "overall", bins: int | None = None
) -> dict[str, list[Any]]: ...
def _bootstrap_uplift_auc(
    y_true: _Column,
    uplift: _Column,
    treatment: _Column,
    n_resamples: int | None = None,
    confidence_level: float = 0.95,
    seed: int | None = None,
    negative_effect: bool = True,
    statistic: str = "normalized",
) -> dict[str, Any]: ...
def _standardized_mean_differences(
    features: list[_Column], treatment: _Column, names: list[str] | None = None
) -> dict[str, list[Any]]: ...

# The uplift forest (``liftlab.uplift.UpliftForest`` wraps these). Features are a list of float64
# columns (NaN = missing; categorical ones as codes, listed by index in ``categorical``); ``names``
# name the columns in errors (``X["city"]: ...``). Fitting and predicting run without the GIL.

@final
class _UpliftForest:
    @property
    def n_features(self) -> int: ...
    @property
    def n_trees(self) -> int: ...
    @property
    def n_treatments(self) -> int: ...
    def predict(self, x: list[_Column], names: list[str] | None = None) -> list[npt.NDArray[np.float64]]: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str, field: str = "forest") -> _UpliftForest: ...

def _read_forest_file(text: str, source: str) -> dict[str, Any]:
    """A model file (``uplift::model_file``): ``{"forest", "features": [(name, categories)],
    "feature_names_in", "treatments", "params", "score_columns"}``; errors name ``source``."""

def _write_forest_file(
    forest: _UpliftForest,
    features: list[tuple[str, list[str] | None]],
    feature_names_in: bool,
    treatments: list[str] | None = None,
    n_jobs: int | None = None,
) -> str:
    """The model file's text."""

def _score_columns(n_treatments: int, labels: list[str] | None = None) -> list[str]:
    """``uplift`` for one treatment, else the labels or ``uplift_1``, ...

    >>> from liftlab import _core
    >>> _core._score_columns(1), _core._score_columns(2), _core._score_columns(2, ["call", "sms"])
    (['uplift'], ['uplift_1', 'uplift_2'], ['call', 'sms'])

    """

def _categories(values: list[str | None]) -> list[str]:
    """A categorical feature's categories: its distinct values, sorted.

    >>> from liftlab import _core
    >>> _core._categories(["b", None, "a", "b"])
    ['a', 'b']

    """

def _category_codes(values: list[str | None], categories: list[str]) -> npt.NDArray[np.float64]:
    """Each value's index among ``categories``; missing or unseen values are NaN."""

def _treatment_codes(treatment: _Column, y: _Column) -> npt.NDArray[np.uint8]:
    """Treatment codes checked by the core's group rules (codes 0..63, every code present, each
    group at least 2 units).

    >>> from liftlab import _core
    >>> _core._treatment_codes([0, 1, 1], [0, 1, 0])
    Traceback (most recent call last):
    ...
    liftlab.InsufficientDataError: treatment: code 0 has 1 unit; each group needs at least 2

    """

def _treatment_label_codes(labels: list[str | None], control: str) -> tuple[npt.NDArray[np.uint8], list[str]]:
    """Codes of text labels (``control`` is 0, the others sorted) and the treatments' labels."""

def _fit_uplift_forest(
    x: list[_Column],
    treatment: _Column,
    y: _Column,
    *,
    names: list[str] | None = None,
    categorical: list[int] = ...,
    n_trees: int,
    max_depth: int,
    min_samples_leaf: int,
    min_samples_treatment: int,
    n_reg: float,
    criterion: str,
    max_features: int | None,
    bootstrap: bool,
    max_bins: int,
    normalization: bool,
    seed: int,
    n_jobs: int | None = None,
    on_tree: Callable[[int], object] | None = None,
) -> _UpliftForest: ...
def _uplift_forest_defaults() -> dict[str, Any]:
    """The core's ``ForestParams::default()``: the defaults of ``UpliftForest``."""

# The meta-learners over the built-in ridge / L2-logistic base learners (``liftlab.uplift.TLearner``
# / ``XLearner`` wrap these). Features are a list of contiguous float64 columns (all finite);
# treatment uint8 codes 0 (control) and 1..k; ``names`` name the columns in errors.

@final
class _MetaLearner:
    @property
    def n_features(self) -> int: ...
    @property
    def n_treatments(self) -> int: ...
    @property
    def learner(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    def predict(self, x: list[npt.NDArray[np.float64]], names: list[str] | None = None) -> list[npt.NDArray[np.float64]]: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str, field: str = "model") -> _MetaLearner: ...

def _fit_meta_learner(
    x: list[npt.NDArray[np.float64]],
    treatment: npt.NDArray[np.uint8],
    y: npt.NDArray[np.float64],
    *,
    names: list[str] | None = None,
    learner: str,
    outcome: str,
    alpha: float,
    tol: float,
    max_iter: int,
) -> _MetaLearner: ...
def _plan_contacts(
    uplift: list[_Column],
    names: list[str],
    cost: list[float],
    value: list[float],
    max_contacts: int | None = None,
    max_spend: float | None = None,
) -> dict[str, Any]:
    """The contact policy over channel columns (``liftlab.uplift.plan_contacts`` wraps it);
    ``value`` is one number for every channel or one per channel.

    >>> from liftlab import _core
    >>> out = _core._plan_contacts([[0.42], [3.0]], ["sms", "call"], [0.3, 1.0], [1.0], max_spend=0.5)
    >>> out["channel"], round(out["expected_net_gain"], 9), out["optimal"]
    ([0], 0.12, True)

    """

def _contact_options(uplift: list[_Column], names: list[str], cost: list[float], value: list[float]) -> dict[str, Any]:
    """The policy's per-unit numbers for a batch of units (``liftlab.spark.plan_contacts`` uses it
    on each Arrow batch): ``best`` (channel index, -1 for none), ``score``, ``gain`` (one array
    per channel, NaN where not eligible), ``n_options``, and the convex hulls flattened
    (``hull_len`` per unit, then ``hull_channel``, ``hull_d_cost``, ``hull_efficiency``)."""

def _meta_learner_defaults() -> dict[str, Any]:
    """The core's ``MetaParams::default()``: the defaults of ``TLearner`` / ``XLearner``."""
