"""The array helpers agree with their plain numpy meaning on any input."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from geodata.arrays import concatenated_ranges, unique_ints


@given(st.lists(st.tuples(st.integers(-1_000, 1_000), st.integers(0, 20)), max_size=30))
def test_concatenated_ranges_equals_a_loop_of_aranges(pairs):
    starts = np.array([s for s, _ in pairs], dtype=np.int64)
    counts = np.array([c for _, c in pairs], dtype=np.int64)
    expected = [v for s, c in pairs for v in range(s, s + c)]
    assert concatenated_ranges(starts, counts).tolist() == expected


@given(st.lists(st.integers(-(2**62), 2**62), max_size=200))
def test_unique_ints_equals_np_unique(values):
    array = np.array(values, dtype=np.int64)
    assert unique_ints(array).tolist() == np.unique(array).tolist()
