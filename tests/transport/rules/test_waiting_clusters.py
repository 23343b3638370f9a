"""Cluster membership read from the snapshot's groups equals the fleet-wide definition;
neighbours found for many points at once equal those found one by one."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from transport.rules.fleet_view import FleetStop, FleetView
from transport.rules.waiting_clusters import cluster_members

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
RADIUS_M = 100.0
MAX_AGE_S = 300.0

stops = st.lists(
    st.tuples(
        st.floats(0.0, 600.0),  # x
        st.floats(0.0, 300.0),  # y
        st.integers(-1_200, 600),  # stop began, seconds from T0
        st.integers(0, 900),  # seen that long after it began
        st.booleans(),  # loaded
        st.booleans(),  # in a lot
    ),
    max_size=40,
)


def fleet_of(drawn: list[tuple]) -> FleetView:
    return FleetView(
        FleetStop(
            vehicle_id=f"V{k}",
            x=x,
            y=y,
            since_at=T0 + dt.timedelta(seconds=began),
            seen_at=T0 + dt.timedelta(seconds=began + seen),
            lot_ids=("lot",) if in_lot else (),
            is_loaded=loaded,
        )
        for k, (x, y, began, seen, loaded, in_lot) in enumerate(drawn)
    )


def fleet_wide(fleet: FleetView, near: np.ndarray, at_us: int, other_than: str) -> np.ndarray:
    """The definition over every stop: counting stops in the groups of counting stops near."""
    counted = fleet.current(at_us, max_age_s=MAX_AGE_S, other_than=other_than)
    counted &= fleet.is_loaded & ~fleet.is_in_lot
    labels = fleet.waiting_groups(RADIUS_M)
    touched = np.unique(labels[near[counted[near]]])
    return np.flatnonzero(counted & np.isin(labels, touched[touched >= 0]))


@settings(max_examples=150, deadline=None)
@example(  # the only stop near is the vehicle's own: its group's others are not linked
    drawn=[(50.0, 0.0, -60, 60, True, False), (140.0, 0.0, -60, 60, True, False)],
    point=(0.0, 0.0),
    at_s=0,
    me=0,
)
@given(
    drawn=stops,
    point=st.tuples(st.floats(0.0, 600.0), st.floats(0.0, 300.0)),
    at_s=st.integers(-600, 1_200),
    me=st.integers(0, 45),
)
def test_members_equal_the_fleet_wide_definition(drawn, point, at_s, me) -> None:
    fleet = fleet_of(drawn)
    near = fleet.within(np.array([point[0]]), np.array([point[1]]), RADIUS_M)
    at_us = (T0 + dt.timedelta(seconds=at_s) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // (
        dt.timedelta(microseconds=1)
    )
    got = cluster_members(
        fleet, near, at_us=at_us, max_age_s=MAX_AGE_S, other_than=f"V{me}", radius_m=RADIUS_M
    )
    assert sorted(got.tolist()) == fleet_wide(fleet, near, at_us, f"V{me}").tolist()


@settings(max_examples=100, deadline=None)
@given(
    drawn=stops,
    points=st.lists(st.tuples(st.floats(0.0, 600.0), st.floats(0.0, 300.0)), max_size=12),
)
def test_neighbours_of_many_points_at_once_are_those_of_each_alone(drawn, points) -> None:
    fleet = fleet_of(drawn)
    xs, ys = np.array([x for x, _ in points]), np.array([y for _, y in points])
    each = fleet.within_each(xs, ys, RADIUS_M)
    alone = [fleet.within(np.array([x]), np.array([y]), RADIUS_M) for x, y in points]
    assert [a.tolist() for a in each] == [a.tolist() for a in alone]
