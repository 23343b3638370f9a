"""Vehicles API: a carrier's vehicles, a vehicle's track over a period as GeoJSON, and the
e-waybills its terminal uploaded."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import AwareDatetime

from api.deps import OwnCarrier, RecordId, ScopeDep, SessionDep, require_role
from api.errors import found
from api.routes.registries import add_record, get_record
from api.schemas.live import Feature, FeatureCollection, PositionPublic
from api.schemas.registries import VehicleCreate, VehiclePublic
from api.schemas.waybills import WaybillUploadPublic
from transport import registry
from transport.accounts import Role
from transport.store import registries, tracks, waybill_uploads

router = APIRouter(prefix="/v1/vehicles", tags=["vehicles"])

READERS = Depends(require_role(Role.POLICE, Role.CARRIER))
MAX_TRACK_PERIOD = timedelta(days=31)
MAX_UPLOADS = 500


@router.post("", status_code=201, dependencies=[Depends(require_role(Role.CARRIER))])
def create_vehicle(
    session: SessionDep, carrier_id: OwnCarrier, body: VehicleCreate
) -> VehiclePublic:
    """Register a vehicle of the caller's carrier."""
    return VehiclePublic.model_validate(
        add_record(session, carrier_id, registry.Vehicle, body).model_dump()
    )


@router.get("", dependencies=[READERS])
def read_vehicles(session: SessionDep, scope: ScopeDep) -> list[VehiclePublic]:
    """List the vehicles in scope: every carrier's for police, its own for a carrier."""
    records = registries.list_records(session, registry.Vehicle, **scope.kwargs)
    return [VehiclePublic.model_validate(r.model_dump()) for r in records]


@router.get("/{vehicle_id}", dependencies=[READERS])
def read_vehicle(session: SessionDep, scope: ScopeDep, vehicle_id: RecordId) -> VehiclePublic:
    """Return one vehicle in scope (404 for another carrier's)."""
    return VehiclePublic.model_validate(
        get_record(session, scope, registry.Vehicle, vehicle_id).model_dump()
    )


@router.get("/{vehicle_id}/track.geojson", dependencies=[READERS])
def read_vehicle_track(
    session: SessionDep,
    scope: ScopeDep,
    vehicle_id: RecordId,
    since: Annotated[AwareDatetime, Query(description="Start, with its UTC offset.")],
    until: Annotated[AwareDatetime, Query(description="End (included), at most 31 days on.")],
) -> FeatureCollection:
    """Return a vehicle's track over a period: a LineString and one Point per fix, in order."""
    if not since <= until <= since + MAX_TRACK_PERIOD:
        raise HTTPException(
            422, detail="`until` must follow `since` by at most 31 days / 时间段须在31天以内"
        )
    points = tracks.read_track(
        session, vehicle_id=vehicle_id, since=since, until=until, **scope.kwargs
    )
    points = found(points, "vehicle", "车辆", vehicle_id)
    positions = [PositionPublic.of(p) for p in points]
    features = [p.to_feature("fix") for p in positions]
    if len(positions) >= 2:
        line = {"type": "LineString", "coordinates": [[p.lon, p.lat] for p in positions]}
        features.insert(
            0, Feature(geometry=line, properties={"kind": "track", "fixes": len(positions)})
        )
    return FeatureCollection(
        features=features,
        properties={
            "vehicle_id": vehicle_id,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "fix_count": len(positions),
            "truncated": len(positions) >= tracks.MAX_TRACK_POINTS,
        },
    )


@router.get("/{vehicle_id}/waybill-uploads", dependencies=[READERS])
def read_vehicle_waybill_uploads(
    session: SessionDep,
    scope: ScopeDep,
    vehicle_id: RecordId,
    limit: Annotated[int, Query(ge=1, le=MAX_UPLOADS, description="Newest first, at most.")] = 50,
) -> list[WaybillUploadPublic]:
    """Return the e-waybills the vehicle's terminal uploaded (0x0701), newest first."""
    get_record(session, scope, registry.Vehicle, vehicle_id)  # 404 outside the scope
    uploads = waybill_uploads.list_waybill_uploads(
        session, vehicle_id=vehicle_id, limit=limit, **scope.kwargs
    )
    return [WaybillUploadPublic.model_validate(u, from_attributes=True) for u in uploads]
