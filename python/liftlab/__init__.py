"""liftlab: experimentation and A/B-test analysis.

Assignment (GrowthBook-compatible hashing, layers, holdouts, targeting) with a Rust core.
"""

from liftlab import exceptions
from liftlab._assign import assign, assign_batch, eval_condition, load_spec
from liftlab._core import (
    Assignment,
    Spec,
    SrmResult,
    __version__,
    bucket_ranges,
    check_srm,
    choose_variant,
    hash_unit,
    in_namespace,
)

__all__ = [
    "Assignment",
    "Spec",
    "SrmResult",
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
]
