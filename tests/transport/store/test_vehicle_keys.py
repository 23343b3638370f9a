"""Vehicle ids of fixes resolved to registry vehicles, and the worker's cache of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.transport import fleet
from tests.transport.manual_clock import ManualClock
from transport.store import registries
from transport.store.vehicle_keys import VehicleKeyCache, VehicleRef

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tests.transport.store.conftest import Fleet

TTL_S = 30.0


def test_cache_keeps_an_answer_for_its_time_then_asks_again(
    session: Session, stored_fleet: Fleet
) -> None:
    clock = ManualClock()
    resolve = VehicleKeyCache(ttl_s=TTL_S, clock=clock)
    plate = fleet.unique_plate()
    assert resolve(session, [plate]) == {plate: VehicleRef(None, None)}

    cid = stored_fleet.carrier_id
    added = registries.add_record(session, fleet.vehicle(cid, plate=plate), carrier_id=cid)
    session.commit()
    clock.now_s += TTL_S - 1
    assert resolve(session, [plate]) == {plate: VehicleRef(None, None)}  # unknown, remembered

    clock.now_s += 1
    assert resolve(session, [plate]) == {plate: VehicleRef(added.id, cid)}


def test_cache_asks_only_for_keys_it_does_not_hold(session: Session, stored_fleet: Fleet) -> None:
    clock = ManualClock()
    resolve = VehicleKeyCache(ttl_s=TTL_S, clock=clock)
    cid = stored_fleet.carrier_id
    first, second = fleet.unique_plate(), fleet.unique_plate()
    assert resolve(session, [first]) == {first: VehicleRef(None, None)}
    for plate in (first, second):
        registries.add_record(session, fleet.vehicle(cid, plate=plate), carrier_id=cid)
    session.commit()

    refs = resolve(session, [first, second])

    assert refs[first] == VehicleRef(None, None)  # held from the first call
    assert refs[second].carrier_id == cid  # looked up now
