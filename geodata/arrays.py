"""Small numpy building blocks the indexes share: CSR range gathers and integer set ops."""

from __future__ import annotations

import numpy as np

__all__ = ["concatenated_ranges", "unique_ints"]


def concatenated_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Return ``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])`` without a loop.

    The positions a CSR gather reads: ``values[concatenated_ranges(ptr[rows], sizes)]``.

    Examples
    --------
    >>> concatenated_ranges(np.array([5, 0, 2]), np.array([2, 0, 3])).tolist()
    [5, 6, 2, 3, 4]
    """
    counts = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(counts)
    return np.repeat(np.asarray(starts, dtype=np.int64) - ends + counts, counts) + np.arange(
        ends[-1] if len(ends) else 0
    )


def unique_ints(keys: np.ndarray) -> np.ndarray:
    """Return the distinct values of an integer array, sorted (`np.unique` without its hashing,
    several times faster on the few hundred values a batch holds).

    Examples
    --------
    >>> unique_ints(np.array([3, 1, 3, 2, 1])).tolist()
    [1, 2, 3]
    """
    out = np.sort(np.asarray(keys, dtype=np.int64))
    if len(out) < 2:
        return out
    keep = np.empty(len(out), dtype=bool)
    keep[0] = True
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]
