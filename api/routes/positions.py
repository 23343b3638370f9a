"""Positions API: JSON batches of fixes from other platforms, validated and put on the bus.

A batch is accepted whole (202, every fix on the bus) or refused whole (422, one detail item
per fault, in FastAPI's validation-error shape with a Chinese message). Coordinates come in the
batch's declared datum and are converted to WGS-84 before anything else sees them. The router
reads the bus from ``app.state.bus``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request, status

from api.schemas.positions import PositionBatchAccepted, PositionBatchCreate
from geodata import datum
from geodata.tracks import Datum
from transport import fixes
from transport.bus import base as bus_base

router = APIRouter(prefix="/v1/positions", tags=["positions"])


def get_bus(request: Request) -> bus_base.Bus:
    """Return the bus the application publishes to."""
    bus: bus_base.Bus = request.app.state.bus
    return bus


BusDep = Annotated[bus_base.Bus, Depends(get_bus)]


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def create_positions(batch: PositionBatchCreate, bus: BusDep) -> PositionBatchAccepted:
    """Validate a batch, convert it to WGS-84 and put it on the bus, all or nothing."""
    received_at = fixes.utc_now()
    problems = _batch_problems(batch, received_at=received_at)
    if problems:
        raise HTTPException(status_code=422, detail=problems)
    try:
        await bus.publish(_fixes_of(batch))
    except bus_base.BusUnavailableError as err:
        detail = "positions not accepted, retry later / 定位数据暂未接收，请稍后重试"
        raise HTTPException(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, detail=detail) from err
    return PositionBatchAccepted(accepted=len(batch.positions))


def _batch_problems(batch: PositionBatchCreate, *, received_at: datetime) -> list[dict[str, Any]]:
    """Return one detail item per fault of every position (empty when the batch is valid)."""
    problems = []
    for index, item in enumerate(batch.positions):
        for rejection in fixes.validate_fix_fields(
            vehicle_id=item.vehicle_id,
            fix_at=item.fix_at,
            lon=item.lon,
            lat=item.lat,
            speed_kmh=item.speed_kmh,
            heading_deg=item.heading_deg,
            received_at=received_at,
        ):
            problems.append(
                {
                    "loc": ["body", "positions", index, rejection.field],
                    "type": rejection.code,
                    "msg": rejection.message_en,
                    "msg_zh": rejection.message_zh,
                }
            )
    return problems


def _fixes_of(batch: PositionBatchCreate) -> list[fixes.Fix]:
    """Return the batch's fixes in WGS-84 (GCJ-02 converted in one vectorised call)."""
    lon = np.array([item.lon for item in batch.positions])
    lat = np.array([item.lat for item in batch.positions])
    if batch.datum is Datum.GCJ02:
        lon, lat = datum.gcj02_to_wgs84(lon, lat)
    return [
        fixes.Fix(
            vehicle_id=item.vehicle_id,
            fix_at=item.fix_at,
            lon=float(x),
            lat=float(y),
            speed_kmh=item.speed_kmh,
            heading_deg=item.heading_deg,
            altitude_m=item.altitude_m,
            source=fixes.FixSource.HTTP,
        )
        for item, x, y in zip(batch.positions, lon, lat, strict=True)
    ]
