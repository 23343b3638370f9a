"""Check runs in the database: kept with who, when, where and results; stored whole or not."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.transport import fleet
from transport import goods
from transport._errors import TransitionError
from transport.five_checks import CheckId, Outcome
from transport.registry import Vehicle
from transport.store import check_runs, models, registries
from transport.store import waybills as store
from transport.waybills import Place, Waybill, WaybillEvent, WaybillState

CATALOGUE = goods.load_builtin_catalogue()
ZONE = ZoneInfo("Asia/Shanghai")
PLACE = Place(name="大铲湾油库 3 号鹤位", lon=113.87, lat=22.53)


def _dispatched(session, stored) -> Waybill:
    waybill = Waybill.model_validate(fleet.waybill_fields(**stored.refs()))
    created = store.create_waybill(
        session, waybill, carrier_id=stored.carrier_id, catalogue=CATALOGUE
    )
    store.apply_event(
        session,
        waybill_id=created.id,
        event=WaybillEvent.DISPATCH,
        actor="调度",
        carrier_id=stored.carrier_id,
    )
    session.commit()
    return store.get_waybill(session, waybill_id=created.id, carrier_id=stored.carrier_id)


def _run(session, stored, waybill, **changes):
    options = {
        "waybill_id": waybill.id,
        "checked_by": "装货员 陈刚",
        "place": PLACE,
        "loading_at": fleet.LOADING_AT,
        "loaded_lines": waybill.lines,
        "catalogue": CATALOGUE,
        "zone": ZONE,
        "carrier_id": stored.carrier_id,
    }
    run = check_runs.run_loading_check(session, **(options | changes))
    session.commit()
    return run


def test_passed_run_is_kept_and_waybill_may_depart(session, stored_fleet) -> None:
    waybill = _dispatched(session, stored_fleet)
    run = _run(session, stored_fleet, waybill)
    assert run.passed and run.state_after is WaybillState.LOADING_CHECKED
    departed = store.apply_event(
        session,
        waybill_id=waybill.id,
        event=WaybillEvent.DEPART,
        actor="张伟",
        carrier_id=stored_fleet.carrier_id,
    )
    session.commit()
    assert departed.state is WaybillState.DEPARTED
    [kept] = check_runs.list_check_runs(
        session, waybill_id=waybill.id, carrier_id=stored_fleet.carrier_id
    )
    assert kept.checked_by == "装货员 陈刚" and kept.place == PLACE
    assert kept.report.loading_at == fleet.LOADING_AT
    assert [r.check_id for r in kept.report.results] == list(CheckId)
    assert kept.report.results[-1].outcome is Outcome.NOT_APPLICABLE


def test_failed_run_blocks_departure_and_keeps_reasons(session, stored_fleet) -> None:
    cid = stored_fleet.carrier_id
    vehicle = registries.get_record(
        session, Vehicle, record_id=stored_fleet.vehicle_id, carrier_id=cid
    )
    expired = vehicle.model_copy(
        update={
            "id": None,
            "operating_certificate_valid_until": fleet.LOADING_AT.date() - timedelta(days=1),
        }
    )
    registries.upsert_records(session, [expired], carrier_id=cid)
    waybill = _dispatched(session, stored_fleet)
    run = _run(session, stored_fleet, waybill)
    assert not run.passed and run.state_after is WaybillState.DISPATCHED
    with pytest.raises(TransitionError, match="did not pass"):
        store.apply_event(
            session, waybill_id=waybill.id, event=WaybillEvent.DEPART, actor="张伟", carrier_id=cid
        )
    [kept] = check_runs.list_check_runs(session, waybill_id=waybill.id, carrier_id=cid)
    first = kept.report.results[0]
    assert first.outcome is Outcome.FAIL
    assert "operating certificate" in first.reason_en and "道路运输证" in first.reason_zh


def test_check_on_draft_is_refused_and_nothing_stored(session, stored_fleet) -> None:
    waybill = Waybill.model_validate(fleet.waybill_fields(**stored_fleet.refs()))
    created = store.create_waybill(
        session, waybill, carrier_id=stored_fleet.carrier_id, catalogue=CATALOGUE
    )
    session.commit()
    with pytest.raises(TransitionError, match="needs a dispatched waybill"):
        _run(session, stored_fleet, created)
    assert (
        check_runs.list_check_runs(
            session, waybill_id=created.id, carrier_id=stored_fleet.carrier_id
        )
        == []
    )


def test_run_that_cannot_be_stored_whole_leaves_nothing(session, stored_fleet) -> None:
    waybill = _dispatched(session, stored_fleet)
    report = _run(session, stored_fleet, waybill, record=False)
    broken = dataclasses.replace(report.results[3], outcome="maybe")
    bad_report = dataclasses.replace(
        report, results=(*report.results[:3], broken, *report.results[4:])
    )
    with pytest.raises(IntegrityError):
        check_runs.record_check_run(
            session, bad_report, waybill_id=waybill.id, checked_by="x", place=PLACE,
            loaded_lines=None, carrier_id=stored_fleet.carrier_id,
        )  # fmt: skip
    session.commit()
    runs = session.scalar(select(func.count()).where(models.CheckRunRow.waybill_id == waybill.id))
    results = session.scalar(
        select(func.count())
        .select_from(models.CheckResultRow)
        .join(models.CheckRunRow)
        .where(models.CheckRunRow.waybill_id == waybill.id)
    )
    assert (runs, results) == (0, 0)
    read = store.get_waybill(session, waybill_id=waybill.id, carrier_id=stored_fleet.carrier_id)
    assert read.state is WaybillState.DISPATCHED


def test_runs_of_other_carrier_are_not_listed(session, stored_fleet) -> None:
    from tests.transport.store.conftest import store_fleet

    waybill = _dispatched(session, stored_fleet)
    _run(session, stored_fleet, waybill)
    other = store_fleet(session)
    assert (
        check_runs.list_check_runs(session, waybill_id=waybill.id, carrier_id=other.carrier_id)
        == []
    )
    assert _run(session, other, waybill, carrier_id=other.carrier_id) is None
