"""liftlab's exceptions: one base class, specific subclasses.

Every error raised by liftlab derives from :class:`LiftlabError`; the message names the field at
fault, e.g. ``experiments[0].weights: sum to 0.7, not 1``. Each error also says it in a form a
program can use:

- ``code``: the stable code, as HTTP's ``error.code`` (``"invalid_input"``, ``"schema_error"``,
  ``"insufficient_data"``, ``"not_found"``, ``"io_error"``, ``"internal"``);
- ``detail``: a finer code where one is useful (``"not_a_number"``, ``"not_finite"``,
  ``"budget_too_small"``, ``"unknown_experiment"``, ``"ambiguous_experiment"``,
  ``"missing_column"``, ``"not_a_date"``, ``"length_mismatch"``) or None;
- ``field``: the argument or field at fault as dotted text (``"experiments[0].weights"``), in
  Python's names (``y_true`` where the core says ``outcome``), or None;
- ``path``: the same as a tuple of keys and indices (``("experiments", 0, "weights")``).
"""

from __future__ import annotations

from typing import TypeVar

from liftlab._core import (
    InsufficientDataError,
    InvalidInputError,
    LiftlabError,
    LiftlabIOError,
    NotFoundError,
    SchemaError,
)

_E = TypeVar("_E", bound=LiftlabError)


def _error(cls: type[_E], path: tuple[str | int, ...], reason: str, detail: str | None = None) -> _E:
    """An exception of ``cls`` about the field at ``path`` (keys and indices), with its ``field``,
    ``path`` and ``detail`` set as the core sets them; for the checks the wrappers make themselves."""
    field = ""
    for s in path:
        field += f"[{s}]" if isinstance(s, int) else (f".{s}" if field else s)
    e = cls(f"{field}: {reason}")
    e.field = field
    e.path = tuple(path)
    e.detail = detail
    return e


class LiftlabWarning(UserWarning):
    """An allowed but implausible input (a coverage of 0.005 where 0.5 may have been meant); the
    message names the field, as errors do."""


__all__ = [
    "LiftlabWarning",
    "LiftlabError",
    "InvalidInputError",
    "SchemaError",
    "InsufficientDataError",
    "NotFoundError",
    "LiftlabIOError",
]
