"""Restriction what-if API: what a proposed restriction would hit, for planners.

A proposal is one restriction-layer feature (GeoJSON geometry or OSM ways, schedule, cargo
selector). The answer lists the active and planned waybills (draft to departed) whose stored
routes it would hit at their planned departures (`geodata.whatif.planned_routes_hit`) and,
when a track archive is configured (``HAZMAT_TRACK_ARCHIVE``), the past trips that would have
broken it, counted per local hour of day and per carrier (`geodata.whatif.trips_hit`).
"""

from __future__ import annotations

import logging

import shapely
from fastapi import APIRouter, Depends

from api import routing_support
from api.deps import NetworkDep, ScopeDep, SessionDep, SettingsDep, require_role
from api.schemas.routing import (
    ArchiveHitsPublic,
    ViolationPublic,
    WaybillHitPublic,
    WhatIfCreate,
    WhatIfPublic,
)
from geodata import whatif
from transport import route_planning
from transport._errors import CargoError
from transport.accounts import Role
from transport.store import waybills as waybill_store
from transport.waybills import Waybill, WaybillState, route_line

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/whatif", tags=["whatif"])

PLANNER_ONLY = Depends(require_role(Role.PLANNER))
#: Waybills whose stored routes a proposal is tested against: planned and under way.
PLANNED_STATES = (
    WaybillState.DRAFT,
    WaybillState.DISPATCHED,
    WaybillState.LOADING_CHECKED,
    WaybillState.DEPARTED,
)


@router.post("", dependencies=[PLANNER_ONLY])
def run_whatif(
    session: SessionDep,
    settings: SettingsDep,
    scope: ScopeDep,
    network: NetworkDep,
    body: WhatIfCreate,
) -> WhatIfPublic:
    """What a proposed restriction would hit: planned waybill routes and, with an archive, past
    trips (counts per hour of day and per carrier)."""
    proposal = body.restriction
    compiled = whatif.footprint(network, proposal).compiled
    routed: list[Waybill] = []
    skipped = 0
    area = shapely.box(*routing_support.network_area(network))
    for state in PLANNED_STATES:
        for waybill in waybill_store.list_waybills(session, state=state, **scope.waybill_kwargs):
            line = route_line(waybill)
            if line is None:
                continue
            if not area.contains(line):
                skipped += 1
                continue
            routed.append(waybill)
    lines, departs, cargos, kept = [], [], [], []
    for waybill in routed:
        try:
            cargos.append(route_planning.waybill_cargo(waybill))
        except CargoError as err:  # a stored waybill the catalogue no longer reads
            logger.warning("waybill %s skipped in what-if: %s", waybill.id, err)
            skipped += 1
            continue
        line = route_line(waybill)
        assert line is not None
        lines.append(line)
        departs.append(waybill.planned_departure_at)
        kept.append(waybill)
    hits = whatif.planned_routes_hit(network, proposal, lines, departs, cargos) if kept else []
    waybills_hit = [
        WaybillHitPublic(
            waybill_id=w.id or 0,
            number=w.number,
            carrier_id=w.carrier_id,
            state=w.state,
            planned_departure_at=w.planned_departure_at,
            violations=[ViolationPublic.of(v) for v in found],
        )
        for w, found in zip(kept, hits, strict=True)
        if found
    ]
    archive = None
    if settings.track_archive is not None:
        try:
            result = whatif.trips_hit(settings.track_archive, network, proposal)
        except FileNotFoundError as err:  # configured, nothing archived yet: no past trips
            logger.warning("track archive is empty: %s", err)
            archive = ArchiveHitsPublic(trips=0, per_hour=[0] * 24, per_carrier={}, listed=[])
        else:
            archive = ArchiveHitsPublic.of(
                result.trips, result.per_hour, result.per_carrier, body.trips_listed
            )
    return WhatIfPublic(
        restriction_id=proposal.properties.id,
        compile_problems=list(compiled.problems),
        waybills_checked=len(kept),
        waybills_skipped=skipped,
        waybills_hit=waybills_hit,
        archive=archive,
    )
