"""GCJ-02 ↔ WGS-84 conversion."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from geodata import datum

CHINA_LON = st.floats(min_value=73.0, max_value=135.0)
CHINA_LAT = st.floats(min_value=18.0, max_value=53.0)


@given(lon=CHINA_LON, lat=CHINA_LAT)
def test_gcj02_inverse_recovers_wgs84_within_a_centimetre(lon: float, lat: float) -> None:
    back_lon, back_lat = datum.gcj02_to_wgs84(*datum.wgs84_to_gcj02(lon, lat))
    assert abs(back_lon - lon) < 1e-7 and abs(back_lat - lat) < 1e-7


@given(lon=CHINA_LON, lat=CHINA_LAT)
def test_gcj02_shift_inside_china_is_tens_to_hundreds_of_metres(lon: float, lat: float) -> None:
    shifted_lon, shifted_lat = datum.wgs84_to_gcj02(lon, lat)
    shift_m = np.hypot(
        (shifted_lon - lon) * 111_320 * np.cos(np.radians(lat)), (shifted_lat - lat) * 110_540
    )
    assert 1.0 < shift_m < 1_000.0


def test_outside_china_nothing_moves() -> None:
    lon, lat = datum.wgs84_to_gcj02(np.array([24.94, -74.0]), np.array([60.17, 40.7]))
    assert lon.tolist() == [24.94, -74.0] and lat.tolist() == [60.17, 40.7]
