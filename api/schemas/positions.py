"""Schemas of HTTP position batches (`POST /v1/positions`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from geodata.tracks import Datum

MAX_POSITIONS_PER_BATCH = 1_000


class PositionCreate(BaseModel):
    """One position report; `fix_at` must carry its UTC offset (checked with a zh/en reason)."""

    model_config = ConfigDict(extra="forbid")

    vehicle_id: str = Field(min_length=1, max_length=64)
    fix_at: datetime
    lon: float
    lat: float
    speed_kmh: float = 0.0
    heading_deg: float = 0.0
    altitude_m: float = 0.0


class PositionBatchCreate(BaseModel):
    """A batch from one source, all in one datum; stored whole or refused whole."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=64, description="Sending platform or device.")
    datum: Datum = Field(description="Datum of every coordinate: wgs84 or gcj02 (converted).")
    positions: list[PositionCreate] = Field(min_length=1, max_length=MAX_POSITIONS_PER_BATCH)


class PositionBatchAccepted(BaseModel):
    """The batch is on the bus: every position will be processed."""

    accepted: int
