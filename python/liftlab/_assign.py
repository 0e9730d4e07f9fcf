"""Assignment: thin wrappers that turn Python values into what the Rust core takes."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Union

import polars as pl

from liftlab import _core
from liftlab._core import Assignment, Spec
from liftlab.exceptions import InvalidInputError, SchemaError

SpecLike = Union[Spec, str, os.PathLike, Mapping[str, Any]]


def _toml_text(value: Any, field: str) -> str | None:
    """The TOML text of a path to a `.toml` file or of TOML given as a string; None otherwise."""
    if isinstance(value, os.PathLike) or (isinstance(value, str) and "\n" not in value and value.endswith(".toml")):
        path = os.fspath(value)
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except OSError as e:
            raise InvalidInputError(f"{field}: cannot read {path}: {e.strerror}") from None
    return value if isinstance(value, str) else None


def load_spec(spec: SpecLike) -> Spec:
    """Returns a validated :class:`Spec` from a Spec, a path to a TOML file, TOML text or a dict.

    >>> s = load_spec('[[experiments]]\\nkey = "a"\\nvariants = ["control", "treatment"]')
    >>> s.experiments
    ['a']
    """
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, Mapping):
        return Spec.from_json(json.dumps(spec))
    text = _toml_text(spec, "spec")
    if text is not None:
        return Spec.from_toml(text)
    raise InvalidInputError(f"spec: expected a Spec, a path, TOML text or a dict, got {type(spec).__name__}")


def _attributes_json(attributes: Any) -> str | None:
    if attributes is None:
        return None
    if isinstance(attributes, Mapping):
        return json.dumps(attributes, default=str)
    raise InvalidInputError(f"attributes: expected a dict, got {type(attributes).__name__}")


def assign(
    spec: SpecLike,
    unit_id: str,
    attributes: Mapping[str, Any] | None = None,
    experiment: str | None = None,
) -> list[Assignment]:
    """Assigns one unit to every experiment of ``spec`` (or only ``experiment``).

    Returns one :class:`Assignment` per experiment: a variant, or the reason the unit is not
    enrolled (``excluded``, ``in_holdout``, ``not_eligible``, ``outside_coverage``, ...).

    >>> spec = load_spec('[[experiments]]\\nkey = "a"\\nvariants = ["control", "treatment"]')
    >>> [a.variant for a in assign(spec, "user-1")]
    ['control']
    """
    if not isinstance(unit_id, str):
        raise InvalidInputError(f"unit_id: expected a string, got {type(unit_id).__name__}")
    return _core._assign(load_spec(spec), unit_id, _attributes_json(attributes), experiment)


def _to_id_frame(ids: Any) -> pl.DataFrame:
    """Any column of ids (polars/pandas Series, numpy array, list) as a one-column polars frame of text."""
    if isinstance(ids, pl.DataFrame):
        if ids.width != 1:
            raise SchemaError("ids: pass a single column (a Series), not a frame with several columns")
        ids = ids.to_series()
    if not isinstance(ids, pl.Series):
        mod = type(ids).__module__.split(".")[0]
        if mod == "pandas":
            missing = ids.isna().to_numpy().nonzero()[0]
            if len(missing):
                raise InvalidInputError(f"ids[{missing[0]}]: id is null")
            ids = pl.Series("id", ids.astype(str).tolist() if ids.dtype == object else ids.to_numpy())
        else:
            try:
                ids = pl.Series("id", ids)
            except (TypeError, ValueError) as e:
                raise InvalidInputError(f"ids: cannot read as a column of ids: {e}") from None
    if ids.dtype != pl.String:
        if ids.dtype.is_float():
            raise InvalidInputError("ids: float ids are ambiguous (1.0 vs '1'); cast them to int or str first")
        ids = ids.cast(pl.String)
    return ids.rename("id").to_frame()


def _attributes_rows_json(attributes: Any, n: int) -> str | None:
    if attributes is None:
        return None
    if type(attributes).__module__.split(".")[0] == "pandas":
        # pandas without pyarrow: go through records; missing cells (None/NaN/NaT) are dropped.
        records = attributes.to_dict(orient="records")
    elif isinstance(attributes, pl.DataFrame):
        records = attributes.to_dicts()
    else:
        raise InvalidInputError("attributes: expected a polars or pandas DataFrame with one row per id")
    if len(records) != n:
        raise InvalidInputError(f"attributes: has {len(records)} rows for {n} ids")
    rows = [{k: v for k, v in r.items() if v is not None and v == v} for r in records]
    return json.dumps(rows, default=str)


def assign_batch(
    spec: SpecLike,
    ids: Any,
    attributes: Any = None,
    experiment: str | None = None,
) -> pl.DataFrame:
    """Assigns a column of ids; returns a polars DataFrame in long format.

    Columns: ``unit_id``, ``experiment``, ``variant`` (null when not enrolled), ``reason``,
    ``bucket`` (the unit's hash, null where it was not computed). ``ids`` may be a polars or
    pandas Series, a numpy array or a list; ``attributes`` an optional DataFrame with one row per
    id, used by targeting conditions. The work runs in Rust without the GIL.

    >>> spec = load_spec('[[experiments]]\\nkey = "a"\\nvariants = ["control", "treatment"]')
    >>> assign_batch(spec, ["user-1", "user-2"]).select("unit_id", "variant").rows()
    [('user-1', 'control'), ('user-2', 'treatment')]
    """
    s = load_spec(spec)
    frame = _to_id_frame(ids)
    keys = [experiment] if experiment is not None else s.experiments
    attrs = _attributes_rows_json(attributes, frame.height)
    reasons = list(_core.REASONS)
    parts = []
    for key in keys:
        vi, rc, bucket = _core._assign_batch(s, frame, key, attrs)
        names = s.variants(key)
        part = pl.DataFrame({"vi": vi, "rc": rc, "bucket": bucket}).select(
            pl.lit(key).alias("experiment"),
            pl.col("vi").replace_strict(dict(enumerate(names)), default=None, return_dtype=pl.String).alias("variant"),
            pl.col("rc").replace_strict(dict(enumerate(reasons)), return_dtype=pl.String).alias("reason"),
            pl.col("bucket").fill_nan(None),
        )
        parts.append(pl.concat([frame.rename({"id": "unit_id"}), part], how="horizontal"))
    if not parts:
        return pl.DataFrame(
            schema={"unit_id": pl.String, "experiment": pl.String, "variant": pl.String, "reason": pl.String, "bucket": pl.Float64}
        )
    return pl.concat(parts)


def eval_condition(condition: Mapping[str, Any], attributes: Mapping[str, Any], groups: Mapping[str, Sequence[Any]] | None = None) -> bool:
    """Evaluates a GrowthBook-style targeting condition against a unit's attributes.

    >>> eval_condition({"country": {"$in": ["US", "CA"]}, "age": {"$gte": 18}}, {"country": "US", "age": 30})
    True
    """
    return _core._eval_condition(
        json.dumps(condition), json.dumps(attributes, default=str), None if groups is None else json.dumps(groups)
    )
