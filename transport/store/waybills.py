"""Store e-waybills and move them through their lifecycle, within a carrier scope.

Each write runs in a savepoint: a refused waybill or event leaves nothing behind, whatever the
caller's transaction holds. One vehicle holds at most one active waybill; the store checks it
and a partial unique index backs it up against concurrent writers.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from transport import registry, waybills
from transport._errors import ConflictError, ScopeError, TransitionError, WaybillError
from transport.reasons import Reason
from transport.store import models, registries
from transport.store.scope import scoped
from transport.waybills import ACTIVE_STATES, Refusal, Waybill, WaybillEvent, WaybillState

if TYPE_CHECKING:
    from collections.abc import Collection

    from sqlalchemy.orm import Session

    from transport import goods

__all__ = [
    "WaybillParties",
    "apply_event",
    "create_waybill",
    "find_active_waybill",
    "find_active_waybills",
    "get_waybill",
    "list_waybills",
    "load_parties",
    "lock_waybill_row",
    "route_refusal",
    "set_planned_route",
]

logger = logging.getLogger(__name__)

_JSON_FIELDS = (
    "consignor",
    "consignee",
    "loader",
    "loading_place",
    "unloading_place",
    "emergency_contact",
)
_REFERENCES: tuple[tuple[str, Any, str, str], ...] = (
    ("vehicle_id", registry.Vehicle, "vehicle", "车辆"),
    ("tank_id", registry.Tank, "tank", "罐体"),
    ("driver_id", registry.Person, "driver", "驾驶员"),
    ("escort_id", registry.Person, "escort", "押运员"),
)


@dataclass(frozen=True)
class WaybillParties:
    """The registry records a waybill points at, read in the waybill's carrier scope."""

    carrier: registry.Carrier
    vehicle: registry.Vehicle
    tank: registry.Tank | None
    driver: registry.Person | None
    escort: registry.Person | None


def _to_waybill(row: models.WaybillRow) -> Waybill:
    """Return the domain waybill of a row and its lines."""
    data: dict[str, Any] = {
        name: getattr(row, name)
        for name in Waybill.model_fields
        if name not in {"lines", "permits", "state"}
    }
    data["state"] = WaybillState(row.state)
    data["permits"] = tuple(row.permits)
    data["lines"] = tuple(
        waybills.WaybillLine.model_validate(line, from_attributes=True) for line in row.lines
    )
    return Waybill.model_validate(data)


def _reference_reasons(session: Session, waybill: Waybill, carrier_id: int) -> list[Reason]:
    """Return a reason for each referenced record that is not in the carrier's registry."""
    reasons = []
    for field, kind, label_en, label_zh in _REFERENCES:
        record_id = getattr(waybill, field)
        if record_id is None:
            continue
        found = registries.get_record(session, kind, record_id=record_id, carrier_id=carrier_id)
        if found is None:
            reasons.append(
                Reason(
                    field,
                    "unknown",
                    f"{label_en} {record_id} is not in this carrier's registry",
                    f"本承运人名下没有{label_zh} {record_id}",
                )
            )
    if registries.get_carrier(session, carrier_id=carrier_id) is None:
        reasons.append(Reason("carrier_id", "unknown", "carrier does not exist", "承运人不存在"))
    return reasons


NUMBER_DRAWS = 5  # tries for a free system-drawn waybill number


def _new_number(waybill: Waybill, carrier_id: int) -> str:
    """Return a waybill number: carrier, planned departure date (UTC), random suffix."""
    day = waybill.planned_departure_at.strftime("%Y%m%d")
    return f"WB{carrier_id:04d}{day}{secrets.token_hex(3).upper()}"


def _row_of(waybill: Waybill, number: str, lines: tuple[waybills.WaybillLine, ...]) -> Any:
    """Return a new waybill row with its line rows."""
    dumped = waybill.model_dump(mode="json")
    row = models.WaybillRow(
        carrier_id=waybill.carrier_id,
        number=number,
        state=WaybillState.DRAFT.value,
        vehicle_id=waybill.vehicle_id,
        trailer_plate=waybill.trailer_plate,
        tank_id=waybill.tank_id,
        driver_id=waybill.driver_id,
        escort_id=waybill.escort_id,
        planned_departure_at=waybill.planned_departure_at,
        planned_route_wkt=waybill.planned_route_wkt,
        permits=dumped["permits"],
        **{name: dumped[name] for name in _JSON_FIELDS},
    )
    row.lines = [
        models.WaybillLineRow(position=position, **line.model_dump(mode="json"))
        for position, line in enumerate(lines)
    ]
    return row


def create_waybill(
    session: Session, waybill: Waybill, *, carrier_id: int, catalogue: goods.Catalogue
) -> Waybill:
    """Store a new waybill in state draft, its goods lines described from the catalogue.

    Raises
    ------
    WaybillError
        Naming every faulty field: records not in the carrier's registry, unknown goods,
        a class that disagrees with the catalogue. Nothing is stored.
    ConflictError
        When the waybill number is taken.
    """
    if waybill.carrier_id != carrier_id:
        msg = f"waybill names carrier {waybill.carrier_id}, scope is carrier {carrier_id}"
        raise ScopeError(msg)
    reasons = _reference_reasons(session, waybill, carrier_id)
    try:
        lines = waybills.describe_lines(waybill.lines, catalogue)
    except WaybillError as err:
        reasons += err.reasons
        lines = ()
    if reasons:
        raise WaybillError(reasons)
    # A number the system draws may meet one drawn before (24 random bits per carrier and
    # day): draw again. A number the caller gave is theirs: a clash is a conflict.
    attempts = 1 if waybill.number else NUMBER_DRAWS
    for attempt in range(attempts):
        number = waybill.number or _new_number(waybill, carrier_id)
        row = _row_of(waybill, number, lines)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
                session.add(_event_row(row.id, "create", "", WaybillState.DRAFT, "system"))
            break
        except IntegrityError as err:
            if attempt == attempts - 1:
                reason = Reason(
                    "number", "duplicate", f"waybill {number} exists", f"运单号 {number} 已存在"
                )
                raise ConflictError([reason]) from err
            logger.info("drawn waybill number %s exists; drawing another", number)
    return _to_waybill(row)


def _event_row(
    waybill_id: int, event: str, from_state: str, to_state: WaybillState, actor: str
) -> models.WaybillEventRow:
    """Return the audit row of one lifecycle event."""
    return models.WaybillEventRow(
        waybill_id=waybill_id,
        event=event,
        from_state=from_state,
        to_state=to_state.value,
        actor=actor,
    )


def lock_waybill_row(
    session: Session, *, waybill_id: int, carrier_id: int | None, all_carriers: bool
) -> models.WaybillRow | None:
    """Return the waybill row in scope, locked for update on PostgreSQL; None when unknown."""
    statement = scoped(
        select(models.WaybillRow).where(models.WaybillRow.id == waybill_id),
        models.WaybillRow,
        carrier_id=carrier_id,
        all_carriers=all_carriers,
    ).with_for_update()
    return session.scalars(statement).one_or_none()


def _at_site(statement: Any, loader_site: str | None) -> Any:
    """Narrow a SELECT of waybills to those whose loader (装货人) is one site, if given."""
    if loader_site is None:
        return statement
    return statement.where(models.WaybillRow.loader["name"].as_string() == loader_site)


def get_waybill(
    session: Session,
    *,
    waybill_id: int,
    carrier_id: int | None = None,
    all_carriers: bool = False,
    loader_site: str | None = None,
) -> Waybill | None:
    """Return one waybill in scope, None when unknown or another carrier's.

    A loader's scope is ``all_carriers=True`` with its ``loader_site``: the waybills
    presented for loading there, of any carrier.
    """
    statement = scoped(
        select(models.WaybillRow).where(models.WaybillRow.id == waybill_id),
        models.WaybillRow,
        carrier_id=carrier_id,
        all_carriers=all_carriers,
    )
    statement = _at_site(statement, loader_site)
    row = session.scalars(statement).one_or_none()
    return None if row is None else _to_waybill(row)


def list_waybills(
    session: Session,
    *,
    carrier_id: int | None = None,
    all_carriers: bool = False,
    state: WaybillState | None = None,
    vehicle_id: int | None = None,
    loader_site: str | None = None,
) -> list[Waybill]:
    """Return the waybills in scope, newest first, optionally of one state or vehicle."""
    statement = scoped(
        select(models.WaybillRow).order_by(models.WaybillRow.id.desc()),
        models.WaybillRow,
        carrier_id=carrier_id,
        all_carriers=all_carriers,
    )
    statement = _at_site(statement, loader_site)
    if state is not None:
        statement = statement.where(models.WaybillRow.state == WaybillState(state).value)
    if vehicle_id is not None:
        statement = statement.where(models.WaybillRow.vehicle_id == vehicle_id)
    return [_to_waybill(row) for row in session.scalars(statement)]


def find_active_waybill(
    session: Session, *, vehicle_id: int, carrier_id: int | None = None, all_carriers: bool = False
) -> Waybill | None:
    """Return the vehicle's active waybill (dispatched, checked or departed), if any."""
    found = find_active_waybills(
        session, vehicle_ids=[vehicle_id], carrier_id=carrier_id, all_carriers=all_carriers
    )
    return found.get(vehicle_id)


def find_active_waybills(
    session: Session,
    *,
    vehicle_ids: Collection[int],
    carrier_id: int | None = None,
    all_carriers: bool = False,
) -> dict[int, Waybill]:
    """Return the active waybill of each of the vehicles that has one, by vehicle id."""
    statement = scoped(
        select(models.WaybillRow).where(
            models.WaybillRow.vehicle_id.in_(vehicle_ids),
            models.WaybillRow.state.in_([state.value for state in ACTIVE_STATES]),
        ),
        models.WaybillRow,
        carrier_id=carrier_id,
        all_carriers=all_carriers,
    )
    found: dict[int, Waybill] = {}
    for row in session.scalars(statement):
        found.setdefault(row.vehicle_id, _to_waybill(row))
    return found


def _second_active(session: Session, row: models.WaybillRow) -> ConflictError | None:
    """Return the conflict when the row's vehicle already holds another active waybill."""
    other = find_active_waybill(session, vehicle_id=row.vehicle_id, all_carriers=True)
    if other is None or other.id == row.id:
        return None
    vehicle = session.get(models.VehicleRow, row.vehicle_id)
    plate = vehicle.plate if vehicle is not None else str(row.vehicle_id)
    return ConflictError([waybills.refusal_for_second_active(plate, other.number or "?")])


def change_state(
    session: Session, row: models.WaybillRow, event: WaybillEvent, *, actor: str
) -> WaybillState:
    """Apply one event to a loaded row inside the caller's savepoint; refuse by raising.

    Raises
    ------
    TransitionError
        When the lifecycle refuses the event in the row's state.
    ConflictError
        When dispatching would give the vehicle a second active waybill.
    """
    before = WaybillState(row.state)
    after = waybills.next_state(before, event)
    if isinstance(after, Refusal):
        raise TransitionError([after.reason])
    if after in ACTIVE_STATES and before not in ACTIVE_STATES:
        conflict = _second_active(session, row)
        if conflict is not None:
            raise conflict
    row.state = after.value
    session.add(_event_row(row.id, event.value, before.value, after, actor))
    session.flush()
    return after


def apply_event(
    session: Session,
    *,
    waybill_id: int,
    event: WaybillEvent,
    actor: str,
    carrier_id: int | None = None,
    all_carriers: bool = False,
) -> Waybill | None:
    """Apply a lifecycle event (dispatch, depart, arrive, archive, cancel) to a stored waybill.

    Check outcomes are not events a caller may apply: they come only from a recorded check
    run (:func:`transport.store.check_runs.run_loading_check`).

    Returns
    -------
    waybill
        The waybill in its new state; None when it is unknown in this scope.

    Raises
    ------
    TransitionError, ConflictError
        See :func:`change_state`; nothing is changed then.
    """
    event = WaybillEvent(event)
    if event in {WaybillEvent.CHECK_PASSED, WaybillEvent.CHECK_FAILED}:
        msg = "check outcomes come from a recorded check run, not from `apply_event`"
        raise ValueError(msg)
    row = lock_waybill_row(
        session, waybill_id=waybill_id, carrier_id=carrier_id, all_carriers=all_carriers
    )
    if row is None:
        return None
    try:
        with session.begin_nested():
            change_state(session, row, event, actor=actor)
    except IntegrityError as err:  # a concurrent dispatch won the partial unique index
        session.refresh(row)
        plate = str(row.vehicle_id)
        reason = waybills.refusal_for_second_active(plate, "?")
        raise ConflictError([reason]) from err
    except (TransitionError, ConflictError):
        session.refresh(row)
        raise
    return _to_waybill(row)


#: States in which a waybill's planned route may still be replaced (before departure).
ROUTABLE_STATES = frozenset(
    {WaybillState.DRAFT, WaybillState.DISPATCHED, WaybillState.LOADING_CHECKED}
)


def route_refusal(state: WaybillState) -> Reason | None:
    """Why a waybill in `state` may not get a new planned route; None when it may."""
    if state in ROUTABLE_STATES:
        return None
    return Reason(
        "state",
        "route_fixed",
        f"the route of a waybill in state {state.value!r} can no longer change",
        "运单已发车或已结束，不能再更改路线",
    )


def set_planned_route(
    session: Session,
    *,
    waybill_id: int,
    route_wkt: str,
    carrier_id: int | None = None,
    all_carriers: bool = False,
) -> Waybill | None:
    """Store a WGS-84 LineString as the waybill's approved (planned) route; None when unknown.

    Route-deviation checks read it from then on.

    Raises
    ------
    TransitionError
        When the waybill has departed or ended (its route no longer changes).
    """
    route_wkt = waybills.parse_route(route_wkt)
    row = lock_waybill_row(
        session, waybill_id=waybill_id, carrier_id=carrier_id, all_carriers=all_carriers
    )
    if row is None:
        return None
    refusal = route_refusal(WaybillState(row.state))
    if refusal is not None:
        raise TransitionError([refusal])
    with session.begin_nested():
        row.planned_route_wkt = route_wkt
        session.flush()
    logger.info("waybill %s: planned route stored", waybill_id)
    return _to_waybill(row)


def load_parties(session: Session, waybill: Waybill) -> WaybillParties:
    """Return the carrier, vehicle, tank, driver and escort of a stored waybill, in its scope."""
    cid = waybill.carrier_id
    carrier = registries.get_carrier(session, carrier_id=cid)
    vehicle = registries.get_record(
        session, registry.Vehicle, record_id=waybill.vehicle_id, carrier_id=cid
    )
    assert carrier is not None and vehicle is not None  # foreign keys and scope at creation
    tank = None
    if waybill.tank_id is not None:
        tank = registries.get_record(
            session, registry.Tank, record_id=waybill.tank_id, carrier_id=cid
        )
    people = [
        None
        if person_id is None
        else registries.get_record(session, registry.Person, record_id=person_id, carrier_id=cid)
        for person_id in (waybill.driver_id, waybill.escort_id)
    ]
    return WaybillParties(carrier, vehicle, tank, people[0], people[1])
