"""Registries in the database: stored and read back, scoped by carrier, duplicates refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.transport import fleet
from tests.transport.store.conftest import Fleet, store_fleet
from transport._errors import ConflictError, RegistryError, ScopeError
from transport.registry import Person, Tank, Vehicle
from transport.store import models, registries


def test_vehicle_round_trips_with_dates_and_tuples(session, stored_fleet: Fleet) -> None:
    vehicle = registries.get_record(
        session, Vehicle, record_id=stored_fleet.vehicle_id, carrier_id=stored_fleet.carrier_id
    )
    tank = registries.get_record(
        session, Tank, record_id=stored_fleet.tank_id, carrier_id=stored_fleet.carrier_id
    )
    assert vehicle is not None and vehicle.rated_load_kg == 30_000 and vehicle.is_tank
    assert vehicle.licence_valid_until == fleet.VALID
    assert tank is not None and tank.permitted_un_numbers == ("1203", "1202", "1223")
    assert tank.vehicle_id == stored_fleet.vehicle_id


def test_read_vehicle_of_other_carrier_is_none(session, stored_fleet: Fleet) -> None:
    other = store_fleet(session)
    found = registries.get_record(
        session, Vehicle, record_id=stored_fleet.vehicle_id, carrier_id=other.carrier_id
    )
    assert found is None
    listed = registries.list_records(session, Person, carrier_id=other.carrier_id)
    assert {p.id for p in listed} == {other.driver_id, other.escort_id}


def test_police_see_all_carriers(session, stored_fleet: Fleet) -> None:
    other = store_fleet(session)
    ids = {v.id for v in registries.list_records(session, Vehicle, all_carriers=True)}
    assert {stored_fleet.vehicle_id, other.vehicle_id} <= ids


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param({}, id="no-scope"),
        pytest.param({"carrier_id": 1, "all_carriers": True}, id="both"),
    ],
)
def test_query_without_one_scope_is_refused(session, scope) -> None:
    with pytest.raises(ScopeError, match="carrier_id"):
        registries.list_records(session, Vehicle, **scope)


def test_duplicate_plate_is_conflict_and_session_goes_on(session, stored_fleet: Fleet) -> None:
    cid = stored_fleet.carrier_id
    existing = registries.get_record(
        session, Vehicle, record_id=stored_fleet.vehicle_id, carrier_id=cid
    )
    assert existing is not None
    with pytest.raises(
        ConflictError, match=f"vehicle {existing.plate} yellow is already registered"
    ):
        registries.add_record(session, fleet.vehicle(cid, plate=existing.plate), carrier_id=cid)
    added = registries.add_record(session, fleet.vehicle(cid), carrier_id=cid)
    session.commit()
    assert added.id is not None


def test_tank_on_other_carriers_vehicle_is_refused(session, stored_fleet: Fleet) -> None:
    other = store_fleet(session)
    record = fleet.tank(other.carrier_id, vehicle_id=stored_fleet.vehicle_id)
    with pytest.raises(RegistryError, match="not in this carrier's registry") as caught:
        registries.add_record(session, record, carrier_id=other.carrier_id)
    assert [r.field for r in caught.value.reasons] == ["vehicle_id"]


def test_record_of_other_carrier_is_scope_error(session, stored_fleet: Fleet) -> None:
    with pytest.raises(ScopeError, match="scope is carrier"):
        registries.add_record(
            session, fleet.person(stored_fleet.carrier_id + 999), carrier_id=stored_fleet.carrier_id
        )


def test_upsert_creates_and_updates_by_natural_key(session, stored_fleet: Fleet) -> None:
    cid = stored_fleet.carrier_id
    driver = registries.get_record(
        session, Person, record_id=stored_fleet.driver_id, carrier_id=cid
    )
    assert driver is not None
    renewed = driver.model_copy(update={"id": None, "phone": "13700137000"})
    report = registries.upsert_records(session, [renewed, fleet.person(cid)], carrier_id=cid)
    session.commit()
    assert [p.id for p in report.updated] == [stored_fleet.driver_id]
    assert report.updated[0].phone == "13700137000"
    assert len(report.created) == 1


def _count(session, row) -> int:
    return session.scalar(select(func.count()).select_from(row))


def test_upsert_with_one_bad_row_stores_nothing(session, stored_fleet: Fleet) -> None:
    other = store_fleet(session)
    before = _count(session, models.VehicleRow)
    taken = registries.get_record(
        session, Vehicle, record_id=other.vehicle_id, carrier_id=other.carrier_id
    )
    assert taken is not None
    cid = stored_fleet.carrier_id
    rows = [fleet.vehicle(cid), fleet.vehicle(cid, plate=taken.plate), fleet.vehicle(cid)]
    with pytest.raises(RegistryError, match=r"already registered") as caught:
        registries.upsert_records(session, rows, carrier_id=cid)
    session.commit()
    assert [r.field for r in caught.value.reasons] == ["rows[1].plate"]
    assert _count(session, models.VehicleRow) == before
