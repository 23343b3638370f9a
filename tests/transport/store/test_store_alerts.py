"""Alerts in the store on both databases: recorded from the pipeline, handled, scoped."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from tests.transport import alert_events, fleet
from tests.transport.store.conftest import Fleet, store_fleet
from transport import goods, registry
from transport._errors import ScopeError, TransitionError
from transport.alerts.handling import AlertAction, HandlingState
from transport.alerts.lifecycle import AlertChange, AlertEvent
from transport.store import alert_recording, alerts, registries
from transport.store import waybills as waybill_store
from transport.waybills import Waybill, WaybillEvent

CATALOGUE = goods.load_builtin_catalogue()


def _plate(session: Session, fleet: Fleet) -> str:
    vehicle = registries.get_record(
        session, registry.Vehicle, record_id=fleet.vehicle_id, carrier_id=fleet.carrier_id
    )
    assert vehicle is not None
    return vehicle.plate


def test_opened_alert_is_stored_with_carrier_vehicle_and_evidence(
    session: Session, stored_fleet: Fleet
) -> None:
    event = alert_events.opened(_plate(session, stored_fleet))
    [stored] = alert_recording.record_alert_events(
        session,
        [event],
        all_carriers=True,
        road_geometry=lambda ids: {
            "type": "MultiLineString",
            "coordinates": [[[113.9, 22.53], [113.91, 22.53]]],
        },
    )
    assert stored.carrier_id == stored_fleet.carrier_id
    assert stored.vehicle_id == stored_fleet.vehicle_id
    assert stored.is_active and stored.state is HandlingState.NEW
    assert stored.evidence["legal_basis"]["zh"].startswith("《危险货物")
    assert stored.matched_geojson is not None
    assert (stored.lon, stored.lat) == (113.902, 22.53)


def test_replayed_events_change_nothing_and_close_ends_once(
    session: Session, stored_fleet: Fleet
) -> None:
    event = alert_events.opened(_plate(session, stored_fleet))
    end = alert_events.closed(event)
    first = alert_recording.record_alert_events(session, [event, end], all_carriers=True)
    again = alert_recording.record_alert_events(session, [event, end], all_carriers=True)
    assert [a.id for a in first] == [a.id for a in again]
    assert again[0].is_active is False and again[0].ended_at == event.alert.last_at
    history = alerts.list_alert_history(session, alert_id=first[0].id, all_carriers=True)
    assert [h.action for h in history or []] == [AlertAction.OPENED, AlertAction.ENDED]


def test_older_evidence_never_replaces_newer_and_stored_roads_stay(
    session: Session, stored_fleet: Fleet
) -> None:
    newer = alert_events.opened(_plate(session, stored_fleet), fixes=5)
    older = AlertEvent(
        AlertChange.UPDATED,
        replace(newer.alert, last_at=newer.alert.started_at, evidence=replace(
            newer.alert.evidence, fixes=newer.alert.evidence.fixes[:1], fix_count=1)),
    )  # fmt: skip
    roads = {"type": "LineString", "coordinates": [[113.9, 22.53], [113.91, 22.53]]}
    [first] = alert_recording.record_alert_events(
        session, [newer], all_carriers=True, road_geometry=lambda ids: roads
    )
    [late] = alert_recording.record_alert_events(session, [older], all_carriers=True)
    [again] = alert_recording.record_alert_events(
        session, [newer], all_carriers=True, road_geometry=lambda ids: None
    )
    assert late.evidence == first.evidence and late.evidence["fix_count"] == 5
    assert late.last_at == newer.alert.last_at and late.matched_geojson == roads
    assert again.matched_geojson == roads  # no roads this time: the stored ones stay
    assert alerts.get_alert(session, alert_id=first.id, all_carriers=True) == again


def test_alert_created_by_another_writer_meanwhile_is_updated_not_duplicated(
    session: Session, stored_fleet: Fleet
) -> None:
    """Two workers race on one alert: the second finds it at insert time and updates it."""
    if session.get_bind().dialect.name == "sqlite":
        pytest.skip("SQLite admits one writer at a time: the race needs PostgreSQL")
    event = alert_events.opened(_plate(session, stored_fleet))
    end = alert_events.closed(event)
    raced: list[bool] = []

    def other_writer_first(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("INSERT INTO alerts ") and not raced:
            raced.append(True)
            with Session(session.get_bind()) as other, other.begin():
                alert_recording.record_alert_events(other, [event], all_carriers=True)

    sa_event.listen(session.connection(), "before_cursor_execute", other_writer_first)
    [stored] = alert_recording.record_alert_events(session, [event, end], all_carriers=True)
    session.commit()
    assert raced and stored.is_active is False
    page = alerts.list_alerts(
        session, where=alerts.AlertFilter(vehicle_key=event.alert.vehicle_id), all_carriers=True
    )
    assert [a.id for a in page.items] == [stored.id]
    history = alerts.list_alert_history(session, alert_id=stored.id, all_carriers=True)
    assert [h.action for h in history or []] == [AlertAction.OPENED, AlertAction.ENDED]


def test_alert_belongs_to_the_waybill_it_names_else_the_active_one(
    session: Session, stored_fleet: Fleet
) -> None:
    plate, carrier_id = _plate(session, stored_fleet), stored_fleet.carrier_id

    def new_waybill() -> int:
        waybill = Waybill.model_validate(fleet.waybill_fields(**stored_fleet.refs()))
        created = waybill_store.create_waybill(
            session, waybill, carrier_id=carrier_id, catalogue=CATALOGUE
        )
        assert created.id is not None
        return created.id

    def stored_for(waybill_id: str | None) -> int | None:
        [stored] = alert_recording.record_alert_events(
            session, [alert_events.opened(plate, waybill_id=waybill_id)], all_carriers=True
        )
        return stored.waybill_id

    active = new_waybill()
    assert stored_for(None) is None  # a draft is not active
    waybill_store.apply_event(
        session, waybill_id=active, event=WaybillEvent.DISPATCH, actor="调度",
        carrier_id=carrier_id,
    )  # fmt: skip
    next_trip = new_waybill()  # a draft of the same vehicle, not its active waybill
    assert stored_for(str(next_trip)) == next_trip
    assert stored_for("999999") == active
    assert stored_for(None) == active
    # The same answers for a batch mixing them, with an unregistered vehicle's alert.
    mixed = [
        alert_events.opened(plate, waybill_id=str(next_trip)),
        alert_events.opened("粤B_UNKNOWN", waybill_id=str(next_trip)),
        alert_events.opened(plate, waybill_id="999999"),
        alert_events.opened(plate),
    ]
    stored = alert_recording.record_alert_events(session, mixed, all_carriers=True)
    assert [a.waybill_id for a in stored] == [next_trip, None, active, active]


def test_unregistered_vehicle_alert_is_police_only(session: Session, stored_fleet: Fleet) -> None:
    [stored] = alert_recording.record_alert_events(
        session, [alert_events.opened("粤B_UNKNOWN")], all_carriers=True
    )
    assert stored.carrier_id is None
    assert alerts.get_alert(session, alert_id=stored.id, carrier_id=stored_fleet.carrier_id) is None
    assert alerts.get_alert(session, alert_id=stored.id, all_carriers=True) is not None


def test_other_carriers_alert_is_not_found_nor_handled(
    session: Session, stored_fleet: Fleet
) -> None:
    other = store_fleet(session)
    [stored] = alert_recording.record_alert_events(
        session, [alert_events.opened(_plate(session, stored_fleet))], all_carriers=True
    )
    assert alerts.get_alert(session, alert_id=stored.id, carrier_id=other.carrier_id) is None
    assert (
        alerts.add_alert_note(
            session, alert_id=stored.id, actor="x", note="n", carrier_id=other.carrier_id
        )
        is None
    )
    page = alerts.list_alerts(session, carrier_id=other.carrier_id)
    assert stored.id not in [a.id for a in page.items]


def test_handling_timeline(session: Session, stored_fleet: Fleet) -> None:
    [stored] = alert_recording.record_alert_events(
        session, [alert_events.opened(_plate(session, stored_fleet))], all_carriers=True
    )
    scope = {"all_carriers": True}
    acked = alerts.acknowledge_alert(session, alert_id=stored.id, actor="警官 王", **scope)
    assert acked is not None and acked.state is HandlingState.ACKNOWLEDGED
    assert acked.acknowledged_by == "警官 王" and acked.acknowledged_at is not None
    with pytest.raises(TransitionError, match="cannot be acknowledged"):
        alerts.acknowledge_alert(session, alert_id=stored.id, actor="警官 李", **scope)
    alerts.add_alert_note(session, alert_id=stored.id, actor="承运人", note="司机已联系", **scope)
    closed = alerts.close_alert(session, alert_id=stored.id, actor="警官 王", note="处罚", **scope)
    assert closed is not None and closed.state is HandlingState.CLOSED
    with pytest.raises(TransitionError, match="cannot be closed"):
        alerts.close_alert(session, alert_id=stored.id, actor="警官 王", **scope)
    history = alerts.list_alert_history(session, alert_id=stored.id, **scope) or []
    assert [(h.action, h.note) for h in history] == [
        (AlertAction.OPENED, None),
        (AlertAction.ACKNOWLEDGED, None),
        (AlertAction.NOTE, "司机已联系"),
        (AlertAction.CLOSED, "处罚"),
    ]


def test_list_filters_and_pages(session: Session, stored_fleet: Fleet) -> None:
    plate = _plate(session, stored_fleet)
    events = [
        alert_events.opened(plate, started_at=alert_events.T0.replace(hour=h)) for h in (1, 2, 3)
    ]
    stored = alert_recording.record_alert_events(session, events, all_carriers=True)
    alerts.close_alert(session, alert_id=stored[0].id, actor="p", all_carriers=True)
    scope = {"carrier_id": stored_fleet.carrier_id}
    page = alerts.list_alerts(session, limit=2, **scope)
    assert page.total == 3 and [a.id for a in page.items] == [stored[2].id, stored[1].id]
    rest = alerts.list_alerts(session, offset=2, limit=2, **scope)
    assert [a.id for a in rest.items] == [stored[0].id]
    open_only = alerts.list_alerts(session, where=alerts.AlertFilter(exclude_closed=True), **scope)
    assert {a.id for a in open_only.items} == {stored[1].id, stored[2].id}
    late = alerts.list_alerts(
        session, where=alerts.AlertFilter(since=alert_events.T0.replace(hour=3)), **scope
    )
    assert [a.id for a in late.items] == [stored[2].id]


def test_recording_without_all_carriers_is_a_scope_error(session: Session) -> None:
    with pytest.raises(ScopeError, match="carrier_id"):
        alert_recording.record_alert_events(session, [], all_carriers=False)
