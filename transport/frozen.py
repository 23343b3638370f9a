"""Frozen dataclass values made without their generated ``__init__``, for the hot paths that
make one per alert or rule event: a frozen ``__init__`` sets each field through
``object.__setattr__``, which costs several times a plain field copy. Neither runs
``__post_init__``: use them only for classes without one.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, TypeVar

__all__ = ["build", "evolve"]

T = TypeVar("T")


@functools.cache
def _defaults(cls: type[Any]) -> dict[str, Any]:
    """The fields of a dataclass that have a plain default, with it."""
    return {
        f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING
    }


def build(cls: type[T], /, **fields: Any) -> T:
    """``cls(**fields)`` for a frozen dataclass; fields not given take their plain defaults."""
    value = object.__new__(cls)
    value.__dict__.update(_defaults(cls), **fields)  # type: ignore[arg-type]
    return value


def evolve(value: T, /, **changes: Any) -> T:
    """``dataclasses.replace(value, **changes)`` for a frozen dataclass."""
    new = object.__new__(type(value))
    new.__dict__.update(value.__dict__, **changes)
    return new
