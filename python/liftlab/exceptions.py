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

__all__ = [
    "LiftlabError",
    "InvalidInputError",
    "SchemaError",
    "InsufficientDataError",
    "NotFoundError",
    "LiftlabIOError",
]
