"""Assignment: thin wrappers that turn Python values into what the Rust core takes."""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Union

import numpy as np
import polars as pl

from liftlab import _core
from liftlab._core import Assignment, Spec
from liftlab.exceptions import InvalidInputError, SchemaError, _error

SpecLike = Union[Spec, str, os.PathLike, Mapping[str, Any]]


def _toml_text(value: Any, field: str) -> str | None:
    """The TOML text of a path to a `.toml` file or of TOML given as a string; None otherwise."""
    if isinstance(value, os.PathLike) or (isinstance(value, str) and "\n" not in value and value.endswith(".toml")):
        path = os.fspath(value)
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except OSError as e:
            raise _error(InvalidInputError, (field,), f"cannot read {path}: {e.strerror}") from None
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
    raise _error(InvalidInputError, ("spec",), f"expected a Spec, a path, TOML text or a dict, got {type(spec).__name__}")


def _json_default(o: Any) -> Any:
    """numpy scalars as the JSON numbers and booleans they are (so a float32 4217.0 hashes as
    "4217", as GrowthBook hashes numbers); anything else as its text."""
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, numbers.Integral):
        return int(o)
    if isinstance(o, numbers.Real):
        x = float(o)
        return None if x != x else x
    return str(o)


def _attributes_json(attributes: Any) -> str | None:
    if attributes is None:
        return None
    if isinstance(attributes, Mapping):
        return json.dumps(attributes, default=_json_default)
    raise _error(InvalidInputError, ("attributes",), f"expected a dict, got {type(attributes).__name__}")


def _unit_id(unit_id: Any, field: str = "unit_id") -> str:
    """A unit id as text: a string as it is, a number as JavaScript prints it (``47593751.0`` ->
    ``"47593751"``), as GrowthBook's SDKs hash numbers."""
    if isinstance(unit_id, str):
        return unit_id
    if isinstance(unit_id, (bool, np.bool_)):
        raise _error(InvalidInputError, (field,), f"{unit_id!r} is not a unit id (use a string or a number)")
    if isinstance(unit_id, numbers.Real):
        return _core._unit_id_of_number(unit_id, field)
    if unit_id is None:
        raise _error(InvalidInputError, (field,), "id is null")
    raise _error(InvalidInputError, (field,), f"expected a string or a number, got {type(unit_id).__name__}")


def assign(
    spec: SpecLike,
    unit_id: str,
    attributes: Mapping[str, Any] | None = None,
    experiment: str | None = None,
) -> list[Assignment]:
    """Assigns one unit to every experiment of ``spec`` (or only ``experiment``).

    Returns one :class:`Assignment` per experiment: a variant, or the reason the unit is not
    enrolled (``excluded``, ``in_holdout``, ``not_eligible``, ``outside_coverage``, ...).
    ``unit_id`` is a string or a number; a number is hashed as JavaScript prints it
    (``47593751.0`` as ``"47593751"``), as GrowthBook's SDKs do.

    >>> spec = load_spec('[[experiments]]\\nkey = "a"\\nvariants = ["control", "treatment"]')
    >>> [a.variant for a in assign(spec, "user-1")]
    ['control']
    """
    return _core._assign(load_spec(spec), _unit_id(unit_id), _attributes_json(attributes), experiment)


#: Integers up to 2^53 print the same in JavaScript; above, they are rounded to a double first.
_EXACT_INT = 2**53


def _ids_elementwise(values: Iterable[Any]) -> pl.Series:
    """Mixed Python objects (a list, an object array): each a string or a number, never null."""
    out = []
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and v != v):
            raise _error(InvalidInputError, ("ids", i), "id is null")
        out.append(_unit_id(v, f"ids[{i}]"))
    return pl.Series("id", out, dtype=pl.String)


def _numeric_ids(ids: pl.Series) -> pl.Series:
    """A numeric Series as the ids JavaScript prints (``47593751.0`` -> ``"47593751"``)."""
    if ids.null_count():
        raise _error(InvalidInputError, ("ids", int(ids.is_null().arg_true()[0])), "id is null")
    if ids.dtype.is_integer():
        # min and max, not abs(): abs(-2**63) overflows Int64 (and would print -2**63 exactly)
        if ids.len() == 0 or -_EXACT_INT <= ids.min() and ids.max() <= _EXACT_INT:  # type: ignore[operator]
            return ids.cast(pl.String)
        ids = ids.cast(pl.Float64)
    values = np.ascontiguousarray(ids.cast(pl.Float64).to_numpy(), dtype="float64")
    return pl.Series("id", _core._unit_ids_of_floats(values), dtype=pl.String)


def _to_id_frame(ids: Any) -> pl.DataFrame:
    """Any column of ids (polars/pandas Series, numpy array, list) as a one-column polars frame of
    text. Numbers become the text JavaScript prints (GrowthBook hashes them so); booleans, nulls
    and NaN are errors naming the row."""
    if ids is None:
        raise _error(InvalidInputError, ("ids",), "is None; pass a list, array or Series of unit ids")
    if isinstance(ids, (str, bytes)):
        raise _error(InvalidInputError, ("ids",), f"is a single string ({ids[:40]!r}), not a list of ids; pass [{ids[:40]!r}] for one unit")
    if isinstance(ids, pl.DataFrame):
        if ids.width != 1:
            raise _error(SchemaError, ("ids",), "pass a single column (a Series), not a frame with several columns")
        ids = ids.to_series()
    if not isinstance(ids, pl.Series):
        mod = type(ids).__module__.split(".")[0]
        if mod == "pandas":
            missing = ids.isna().to_numpy().nonzero()[0]
            if len(missing):
                raise _error(InvalidInputError, ("ids", int(missing[0])), "id is null")
            ids = _ids_elementwise(ids.tolist()) if ids.dtype == object else pl.Series("id", ids.to_numpy())
        elif isinstance(ids, np.ndarray):
            if ids.ndim != 1:
                raise _error(InvalidInputError, ("ids",), f"must be one-dimensional, got {ids.ndim} dimensions")
            ids = _ids_elementwise(ids.tolist()) if ids.dtype == object else pl.Series("id", ids)
        elif isinstance(ids, Iterable) and not isinstance(ids, Mapping):
            values = list(ids)
            try:
                ids = pl.Series("id", values, strict=True)
            except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
                ids = _ids_elementwise(values)
            if ids.dtype == pl.Object:
                ids = _ids_elementwise(values)
        else:
            raise _error(InvalidInputError, ("ids",), f"expected a list, array or Series of unit ids, got {type(ids).__name__}")
    if ids.dtype == pl.Boolean:
        raise _error(InvalidInputError, ("ids",), "booleans are not unit ids (use strings or numbers)")
    if ids.dtype == pl.Null:
        if ids.len():
            raise _error(InvalidInputError, ("ids", 0), "id is null")
        ids = ids.cast(pl.String)
    elif ids.dtype.is_numeric():
        ids = _numeric_ids(ids)
    elif ids.dtype != pl.String:
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
        raise _error(InvalidInputError, ("attributes",), "expected a polars or pandas DataFrame with one row per id")
    if len(records) != n:
        raise _error(InvalidInputError, ("attributes",), f"has {len(records)} rows for {n} ids")
    rows = [{k: v for k, v in r.items() if v is not None and v == v} for r in records]
    return json.dumps(rows, default=_json_default)


def assign_batch(
    spec: SpecLike,
    ids: Any,
    attributes: Any = None,
    experiment: str | None = None,
) -> pl.DataFrame:
    """Assigns a column of ids; returns a polars DataFrame in long format.

    Columns: ``unit_id``, ``experiment``, ``variant`` (null when not enrolled), ``reason``,
    ``bucket`` (the unit's hash, null where it was not computed). ``ids`` may be a polars or
    pandas Series, a numpy array or a list (a single string is not a list of ids: an error); text
    ids are hashed as they are, numbers as JavaScript prints them (``47593751.0`` from a float64
    column as ``"47593751"``, as GrowthBook's SDKs hash it; ``unit_id`` holds that text).
    ``attributes`` is an optional DataFrame with one row per id, used by targeting conditions and
    custom hash attributes. The work runs in Rust without the GIL.

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
