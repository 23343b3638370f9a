"""Schemas of the registries: bodies to create records and the records as answered."""

from __future__ import annotations

from pydantic import BaseModel, Field

from transport import registry

MAX_ID = 2**31 - 1


class CarrierCreate(registry.Carrier):
    """A new carrier; ``id`` is given by the server."""

    id: None = Field(default=None, exclude=True)


class CarrierPublic(registry.Carrier):
    """A stored carrier."""

    id: int


class VehicleCreate(registry.Vehicle):
    """A new vehicle; its carrier is the caller's."""

    id: None = Field(default=None, exclude=True)
    carrier_id: int | None = Field(default=None, exclude=True)  # type: ignore[assignment]


class VehiclePublic(registry.Vehicle):
    """A stored vehicle."""

    id: int


class TankCreate(registry.Tank):
    """A new tank; its carrier is the caller's."""

    id: None = Field(default=None, exclude=True)
    carrier_id: int | None = Field(default=None, exclude=True)  # type: ignore[assignment]
    vehicle_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class TankPublic(registry.Tank):
    """A stored tank."""

    id: int


class PersonCreate(registry.Person):
    """A new driver or escort; the carrier is the caller's."""

    id: None = Field(default=None, exclude=True)
    carrier_id: int | None = Field(default=None, exclude=True)  # type: ignore[assignment]


class PersonPublic(registry.Person):
    """A stored driver or escort."""

    id: int


class ImportResult(BaseModel):
    """What a CSV import did."""

    kind: str
    created_ids: list[int]
    updated_ids: list[int]
