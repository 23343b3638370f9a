"""Fixes for bus and pipeline tests: vehicles reporting every 30 s from a fixed start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from transport.fixes import Fix, FixSource

START_AT = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)


def make_fix(vehicle_id: str = "粤B12345", step: int = 0, **changes: object) -> Fix:
    """Return fix number `step` of a vehicle (30 s apart, moving east)."""
    values: dict[str, object] = {
        "vehicle_id": vehicle_id,
        "fix_at": START_AT + timedelta(seconds=30 * step),
        "lon": 114.3 + step * 1e-4,
        "lat": 30.5,
        "speed_kmh": 54.5,
        "heading_deg": 90.0,
        "source": FixSource.JT808,
        **changes,
    }
    return Fix(**values)  # type: ignore[arg-type]


def make_fleet(n_vehicles: int, n_steps: int) -> list[Fix]:
    """Return fixes of `n_vehicles` vehicles, `n_steps` each, interleaved in time order."""
    return [make_fix(f"V{v:04d}", step) for step in range(n_steps) for v in range(n_vehicles)]


#: any valid fix (hypothesis)
fixes = st.builds(
    Fix,
    vehicle_id=st.text(min_size=1, max_size=12),
    fix_at=st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
        max_value=datetime(2099, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ).map(lambda at: at.replace(fold=0)),  # a fold means nothing in UTC
    lon=st.floats(-180, 180),
    lat=st.floats(-90, 90),
    speed_kmh=st.floats(0, 250),
    heading_deg=st.floats(0, 360),
    altitude_m=st.floats(-500, 9000),
    alarm_bits=st.integers(0, 2**32 - 1),
    status_bits=st.integers(0, 2**32 - 1),
    source=st.sampled_from(FixSource),
    is_backfill=st.booleans(),
    extras=st.dictionaries(
        st.text(max_size=8), st.floats(allow_nan=False, allow_infinity=False), max_size=3
    ),
)
