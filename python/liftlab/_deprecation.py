"""Old public names kept for one release (docs/names.md lists them): one warning, one rule for
a value given under both names."""

from __future__ import annotations

import warnings
from typing import Any, TypeVar

from liftlab.exceptions import InvalidInputError, _error

T = TypeVar("T")


def deprecated(old: str, new: str, stacklevel: int = 3) -> None:
    """Warns that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(f"`{old}` is deprecated: use `{new}`", DeprecationWarning, stacklevel=stacklevel)


def renamed(new: str, value: T | None, old: str, old_value: T | None, default: Any = None) -> Any:
    """The value of a keyword argument renamed from ``old`` to ``new``: the new name's value, else
    the old name's (with a ``DeprecationWarning``), else ``default``; both given is an
    :class:`~liftlab.exceptions.InvalidInputError` naming ``new``."""
    if old_value is None:
        return default if value is None else value
    deprecated(old, new, stacklevel=4)
    if value is not None:
        raise _error(InvalidInputError, (new,), f"given twice (as `{new}` and as its deprecated name `{old}`)")
    return old_value
