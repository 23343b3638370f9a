"""The e-waybill: fields, goods lines from the catalogue, planned route, lifecycle timelines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.transport import fleet
from transport import goods, waybills
from transport._errors import WaybillError
from transport.waybills import Refusal, WaybillEvent, WaybillState

E, S = WaybillEvent, WaybillState
CATALOGUE = goods.load_builtin_catalogue()


def _timeline(events: list[WaybillEvent], start: WaybillState = S.DRAFT) -> list[str]:
    """Apply events in order; record each state, or the refusal code (state unchanged)."""
    state, seen = start, []
    for event in events:
        outcome = waybills.next_state(state, event)
        if isinstance(outcome, Refusal):
            seen.append(f"refused:{outcome.reason.code}")
        else:
            state = outcome
            seen.append(state.value)
    return seen


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param(
            [E.DISPATCH, E.CHECK_PASSED, E.DEPART, E.ARRIVE, E.ARCHIVE],
            ["dispatched", "loading_checked", "departed", "arrived", "archived"],
            id="normal-trip",
        ),
        pytest.param(
            [E.DISPATCH, E.CHECK_FAILED, E.DEPART, E.CHECK_PASSED, E.DEPART],
            ["dispatched", "dispatched", "refused:check_not_passed", "loading_checked", "departed"],
            id="failed-then-fixed",
        ),
        pytest.param(
            [E.DISPATCH, E.CHECK_PASSED, E.CHECK_FAILED, E.DEPART],
            ["dispatched", "loading_checked", "dispatched", "refused:check_not_passed"],
            id="later-failure-withdraws-pass",
        ),
        pytest.param(
            [E.DEPART, E.CHECK_PASSED, E.CANCEL, E.DISPATCH],
            [
                "refused:not_dispatched",
                "refused:not_dispatched",
                "cancelled",
                "refused:not_allowed",
            ],
            id="draft-cannot-depart-then-cancelled",
        ),
        pytest.param(
            [E.DISPATCH, E.CHECK_PASSED, E.DEPART, E.CANCEL, E.ARRIVE],
            ["dispatched", "loading_checked", "departed", "refused:already_departed", "arrived"],
            id="departed-cannot-cancel",
        ),
    ],
)
def test_lifecycle_timeline(events: list[WaybillEvent], expected: list[str]) -> None:
    assert _timeline(events) == expected


def test_refusal_has_zh_and_en() -> None:
    refusal = waybills.next_state(S.ARCHIVED, E.DISPATCH)
    assert isinstance(refusal, Refusal)
    assert "'dispatch' is not allowed" in refusal.reason.en
    assert refusal.reason.zh == "运单状态为“已归档”，不能派车"


@given(st.lists(st.sampled_from(list(WaybillEvent)), max_size=30))
def test_no_sequence_departs_without_a_passed_check(events: list[WaybillEvent]) -> None:
    state, last_check_passed = S.DRAFT, False
    for event in events:
        outcome = waybills.next_state(state, event)
        if isinstance(outcome, Refusal):
            continue
        if event in (E.CHECK_PASSED, E.CHECK_FAILED):
            last_check_passed = event is E.CHECK_PASSED
        if outcome is S.DEPARTED and state is not S.DEPARTED:
            assert last_check_passed
        state = outcome


def test_active_states_are_those_holding_the_vehicle() -> None:
    assert {S.DISPATCHED, S.LOADING_CHECKED, S.DEPARTED} == waybills.ACTIVE_STATES


@pytest.mark.parametrize(
    "route",
    [
        pytest.param("LINESTRING (113.9 22.5, 114 22.6)", id="wkt"),
        pytest.param(
            {"type": "LineString", "coordinates": [[113.9, 22.5], [114, 22.6]]}, id="geojson"
        ),
        pytest.param(
            '{"type": "LineString", "coordinates": [[113.9, 22.5], [114, 22.6]]}', id="geojson-text"
        ),
    ],
)
def test_route_from_wkt_or_geojson(route: object) -> None:
    assert waybills.parse_route(route) == "LINESTRING (113.9 22.5, 114 22.6)"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("route", "message"),
    [
        pytest.param("POINT (1 2)", "must be a LineString", id="point"),
        pytest.param("LINESTRING (500 22, 501 23)", "WGS-84", id="projected"),
        pytest.param("not a route", "neither WKT nor GeoJSON", id="garbage"),
    ],
)
def test_bad_route_is_refused(route: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        waybills.parse_route(route)


def test_route_line_for_deviation_checks() -> None:
    line = waybills.route_line(fleet.waybill())
    assert line is not None and line.coords[0] == (113.93, 22.53)


def test_waybill_names_every_bad_field() -> None:
    with pytest.raises(ValidationError) as caught:
        fleet.waybill(
            planned_departure_at="2025-06-10T09:00:00",
            trailer_plate="nope",
            lines=[],
            planned_route_wkt="POINT (1 2)",
        )
    fields = {error["loc"][0] for error in caught.value.errors()}
    assert fields == {"planned_departure_at", "trailer_plate", "lines", "planned_route_wkt"}


def test_lines_are_described_from_catalogue() -> None:
    [line] = waybills.describe_lines(fleet.waybill().lines, CATALOGUE)
    assert (line.name, line.hazard_class, line.packing_group) == ("汽油", "3", "II")


def test_line_faults_are_all_named() -> None:
    lines = [
        {"un_number": "9999", "quantity": 1, "unit": "t"},
        {"un_number": "1203", "hazard_class": "8", "quantity": 1, "unit": "t"},
        {"un_number": "1203", "quantity": 0, "unit": "t"},
    ]
    with pytest.raises(WaybillError) as caught:
        waybills.describe_lines(lines, CATALOGUE)
    assert [r.field for r in caught.value.reasons] == [
        "lines[0]",
        "lines[1].hazard_class",
        "lines[2].quantity",
    ]
    assert "UN1203 属于第 3 类" in caught.value.reasons[1].zh


def test_volume_line_weighs_by_mass_kg() -> None:
    line = waybills.WaybillLine(un_number="1203", quantity=30_000, unit="L", mass_kg=22_500)
    assert (line.quantity_kg, line.quantity_m3) == (22_500, 30.0)
