"""Schemas of GeoJSON answers (live positions, tracks, alerts) and live websocket messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from transport.store.tracks import TrackPoint


class Feature(BaseModel):
    """A GeoJSON Feature (WGS-84 lon/lat)."""

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection; `properties` is a foreign member describing the whole."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]
    properties: dict[str, Any] = Field(default_factory=dict)


class PositionPublic(BaseModel):
    """A vehicle's stored position."""

    vehicle_key: str
    vehicle_id: int | None
    carrier_id: int | None
    fix_at: datetime
    lon: float
    lat: float
    speed_kmh: float
    heading_deg: float

    @classmethod
    def of(cls, point: TrackPoint) -> PositionPublic:
        """Return the public form of a track point."""
        return cls(
            vehicle_key=point.vehicle_key,
            vehicle_id=point.vehicle_id,
            carrier_id=point.carrier_id,
            fix_at=point.fix_at,
            lon=point.lon,
            lat=point.lat,
            speed_kmh=point.speed_kmh,
            heading_deg=point.heading_deg,
        )

    def to_feature(self, kind: str = "position") -> Feature:
        """Return the position as a GeoJSON Point feature (``properties.kind`` says what it is)."""
        return Feature(
            geometry={"type": "Point", "coordinates": [self.lon, self.lat]},
            properties={"kind": kind} | self.model_dump(mode="json", exclude={"lon", "lat"}),
        )
