"""Waybills in the database: created whole or not at all, one active per vehicle, scoped."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.transport import fleet
from tests.transport.store.conftest import Fleet, store_fleet
from transport import goods
from transport._errors import ConflictError, ScopeError, TransitionError, WaybillError
from transport.store import models
from transport.store import waybills as store
from transport.waybills import Waybill, WaybillEvent, WaybillState

CATALOGUE = goods.load_builtin_catalogue()


def _create(session, stored: Fleet, **changes) -> Waybill:
    waybill = Waybill.model_validate(fleet.waybill_fields(**(stored.refs() | changes)))
    created = store.create_waybill(
        session, waybill, carrier_id=stored.carrier_id, catalogue=CATALOGUE
    )
    session.commit()
    return created


def _counts(session, carrier_id: int) -> tuple[int, int, int]:
    waybill_ids = select(models.WaybillRow.id).where(models.WaybillRow.carrier_id == carrier_id)
    return (
        session.scalar(select(func.count()).where(models.WaybillRow.carrier_id == carrier_id)),
        session.scalar(
            select(func.count()).where(models.WaybillLineRow.waybill_id.in_(waybill_ids))
        ),
        session.scalar(
            select(func.count()).where(models.WaybillEventRow.waybill_id.in_(waybill_ids))
        ),
    )


def test_created_waybill_reads_back_with_lines_route_and_aware_times(session, stored_fleet) -> None:
    created = _create(session, stored_fleet)
    read = store.get_waybill(session, waybill_id=created.id, carrier_id=stored_fleet.carrier_id)
    assert read == created
    assert read.state is WaybillState.DRAFT
    assert read.number.startswith(f"WB{stored_fleet.carrier_id:04d}2025061")
    assert read.lines[0].name == "汽油" and read.lines[0].hazard_class == "3"
    assert read.planned_departure_at == fleet.LOADING_AT.replace(hour=9)
    assert read.planned_departure_at.utcoffset() is not None
    assert read.planned_route_wkt.startswith("LINESTRING (113.93 22.53")


def test_refused_waybill_names_every_fault_and_stores_nothing(session, stored_fleet) -> None:
    other = store_fleet(session)
    before = _counts(session, stored_fleet.carrier_id)
    lines = [
        {"un_number": "1203", "quantity": 10, "unit": "t"},
        {"un_number": "9999", "quantity": 10, "unit": "t"},
        {"un_number": "1203", "hazard_class": "8", "quantity": 10, "unit": "t"},
    ]
    waybill = Waybill.model_validate(
        fleet.waybill_fields(
            **(stored_fleet.refs() | {"driver_id": other.driver_id, "lines": lines})
        )
    )
    with pytest.raises(WaybillError) as caught:
        store.create_waybill(
            session, waybill, carrier_id=stored_fleet.carrier_id, catalogue=CATALOGUE
        )
    session.commit()
    fields = [reason.field for reason in caught.value.reasons]
    assert fields == ["driver_id", "lines[1]", "lines[2].hazard_class"]
    assert "UN9999 is not in the catalogue" in str(caught.value)
    assert _counts(session, stored_fleet.carrier_id) == before


def test_duplicate_number_is_conflict_and_leaves_no_lines(session, stored_fleet) -> None:
    _create(session, stored_fleet, number="WB-DUP-1")
    before = _counts(session, stored_fleet.carrier_id)
    with pytest.raises(ConflictError, match="waybill WB-DUP-1 exists"):
        _create(session, stored_fleet, number="WB-DUP-1")
    session.commit()
    assert _counts(session, stored_fleet.carrier_id) == before


def test_waybill_of_other_carrier_is_not_found(session, stored_fleet) -> None:
    created = _create(session, stored_fleet)
    other = store_fleet(session)
    assert store.get_waybill(session, waybill_id=created.id, carrier_id=other.carrier_id) is None
    assert (
        store.apply_event(
            session,
            waybill_id=created.id,
            event=WaybillEvent.DISPATCH,
            actor="x",
            carrier_id=other.carrier_id,
        )
        is None
    )
    assert store.get_waybill(session, waybill_id=created.id, all_carriers=True) is not None


def test_waybill_query_without_scope_is_refused(session) -> None:
    with pytest.raises(ScopeError):
        store.list_waybills(session)


def test_one_active_waybill_per_vehicle(session, stored_fleet) -> None:
    scope = {"carrier_id": stored_fleet.carrier_id, "actor": "dispatcher"}
    first, second = _create(session, stored_fleet), _create(session, stored_fleet)
    store.apply_event(session, waybill_id=first.id, event=WaybillEvent.DISPATCH, **scope)
    session.commit()
    with pytest.raises(ConflictError, match=f"already has active waybill {first.number}"):
        store.apply_event(session, waybill_id=second.id, event=WaybillEvent.DISPATCH, **scope)
    session.commit()
    assert (
        store.get_waybill(session, waybill_id=second.id, carrier_id=stored_fleet.carrier_id).state
        == "draft"
    )
    store.apply_event(session, waybill_id=first.id, event=WaybillEvent.CANCEL, **scope)
    dispatched = store.apply_event(
        session, waybill_id=second.id, event=WaybillEvent.DISPATCH, **scope
    )
    session.commit()
    assert dispatched.state is WaybillState.DISPATCHED


def test_partial_unique_index_backs_the_rule(session, stored_fleet) -> None:
    first, second = _create(session, stored_fleet), _create(session, stored_fleet)
    session.execute(
        models.WaybillRow.__table__.update()
        .where(models.WaybillRow.id == first.id)
        .values(state="departed")
    )
    session.flush()
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        session.execute(
            models.WaybillRow.__table__.update()
            .where(models.WaybillRow.id == second.id)
            .values(state="dispatched")
        )
    session.rollback()


def test_depart_without_check_is_refused_and_state_kept(session, stored_fleet) -> None:
    created = _create(session, stored_fleet)
    scope = {"carrier_id": stored_fleet.carrier_id, "actor": "driver"}
    store.apply_event(session, waybill_id=created.id, event=WaybillEvent.DISPATCH, **scope)
    with pytest.raises(TransitionError, match="last loading check did not pass") as caught:
        store.apply_event(session, waybill_id=created.id, event=WaybillEvent.DEPART, **scope)
    session.commit()
    assert "不得发车" in caught.value.reasons[0].zh
    read = store.get_waybill(session, waybill_id=created.id, carrier_id=stored_fleet.carrier_id)
    assert read.state is WaybillState.DISPATCHED
    events = session.scalars(
        select(models.WaybillEventRow.event).where(models.WaybillEventRow.waybill_id == created.id)
    ).all()
    assert events == ["create", "dispatch"]


def test_check_outcome_cannot_be_applied_as_event(session, stored_fleet) -> None:
    created = _create(session, stored_fleet)
    with pytest.raises(ValueError, match="recorded check run"):
        store.apply_event(
            session, waybill_id=created.id, event=WaybillEvent.CHECK_PASSED, actor="x",
            carrier_id=stored_fleet.carrier_id,
        )  # fmt: skip


def test_a_drawn_number_that_is_taken_is_drawn_again(session, stored_fleet, monkeypatch) -> None:
    taken = _create(session, stored_fleet).number
    draws = iter([taken, taken, "WB-FRESH-1"])
    monkeypatch.setattr(store, "_new_number", lambda *_: next(draws))
    assert _create(session, stored_fleet).number == "WB-FRESH-1"
    monkeypatch.setattr(store, "_new_number", lambda *_: taken)  # every draw taken
    before = _counts(session, stored_fleet.carrier_id)
    with pytest.raises(ConflictError, match=f"waybill {taken} exists"):
        _create(session, stored_fleet)
    assert _counts(session, stored_fleet.carrier_id) == before
