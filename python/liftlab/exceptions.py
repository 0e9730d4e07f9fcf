"""liftlab's exceptions: one base class, specific subclasses.

Every error raised by liftlab derives from :class:`LiftlabError`; the message names the field at
fault, e.g. ``experiments[0].weights: sum to 0.7, not 1``.
"""

from liftlab._core import (
    InsufficientDataError,
    InvalidInputError,
    LiftlabError,
    LiftlabIOError,
    NotFoundError,
    SchemaError,
)


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
