"""liftlab: experimentation and A/B-test analysis.

Assignment (GrowthBook-compatible hashing, layers, holdouts, targeting) and experiment analysis
(effects with honest intervals, CUPED, sequential and Bayesian views, reports) and pre-launch
forecasts (``forecast_impact``: projected lift, test plan, realism from history) and uplift metrics
(``liftlab.uplift``: scikit-uplift's Qini and uplift curves and scores) with a Rust core; metrics
defined once in the spec's ``[catalog]`` and computed in the warehouse (``compile_sql``,
``analyze_warehouse``).
"""

from liftlab import exceptions, uplift
from liftlab._analysis import (
    ForestPlot,
    Report,
    analyze,
    analyze_stats,
    bayes_effect,
    compare_arms,
    confidence_sequence,
    group_sequential_design,
    minimum_detectable_effect,
    power,
    sample_size,
)
from liftlab._assign import assign, assign_batch, eval_condition, load_spec
from liftlab._core import (
    Assignment,
    Spec,
    SrmResult,
    __version__,
    adjust_p_values,
    bucket_ranges,
    check_srm,
    choose_variant,
    hash_unit,
    in_namespace,
)
from liftlab._forecast import FanChart, Forecast, LiftChart, Reconciliation, TornadoChart, forecast_defaults, forecast_impact
from liftlab._warehouse import analyze_warehouse, compile_sql

__all__ = [
    "Assignment",
    "FanChart",
    "Forecast",
    "ForestPlot",
    "LiftChart",
    "Reconciliation",
    "Report",
    "adjust_p_values",
    "analyze",
    "analyze_stats",
    "analyze_warehouse",
    "bayes_effect",
    "compare_arms",
    "compile_sql",
    "confidence_sequence",
    "forecast_defaults",
    "forecast_impact",
    "group_sequential_design",
    "minimum_detectable_effect",
    "power",
    "sample_size",
    "Spec",
    "SrmResult",
    "TornadoChart",
    "check_srm",
    "__version__",
    "assign",
    "assign_batch",
    "bucket_ranges",
    "choose_variant",
    "eval_condition",
    "exceptions",
    "hash_unit",
    "in_namespace",
    "load_spec",
    "uplift",
]
