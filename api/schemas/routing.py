"""Schemas of route planning, route checks and restriction what-if analyses."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from api.schemas.waybills import WaybillPublic
from geodata import routing
from geodata.restrictions import Restriction
from transport import goods, waybills
from transport._errors import CatalogueError
from transport.cargo import CarriageType, GoodsLine, QuantityUnit
from transport.goods import PackingGroup
from transport.waybills import WaybillState

if TYPE_CHECKING:
    import pandas as pd

    from geodata.route_check import Violation
    from geodata.route_explain import Detour, RoutePlan
    from geodata.route_graph import RoutingIndex

MAX_ID = 2**31 - 1
#: Departures are accepted within these years (schedules are unrolled from them).
FIRST_YEAR, LAST_YEAR = 2000, 2099
MAX_EDGES = 20_000

Permit = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


class LonLat(BaseModel):
    """A WGS-84 point."""

    model_config = ConfigDict(extra="forbid")

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class CargoLine(BaseModel):
    """One goods line of the load: UN number, quantity and how it is carried."""

    model_config = ConfigDict(extra="forbid")

    un_number: str = Field(description="UN number, e.g. 1203 or UN1203.")
    quantity: float = Field(gt=0, le=1e6)
    unit: QuantityUnit = QuantityUnit.T
    carriage: CarriageType = CarriageType.TANK
    packing_group: PackingGroup | None = None
    net_explosive_mass_kg: float | None = Field(default=None, ge=0, le=1e6)

    @field_validator("un_number", mode="before")
    @classmethod
    def _check_un_number(cls, value: object) -> str:
        try:
            return goods.normalise_un_number(value)
        except CatalogueError as err:
            raise ValueError(str(err)) from err

    @field_validator("quantity")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            msg = "must be a finite number"
            raise ValueError(msg)
        return value

    def to_goods_line(self) -> GoodsLine:
        """The line as the cargo profile reads it."""
        return GoodsLine(
            un_number=self.un_number, packing_group=self.packing_group, quantity=self.quantity,
            unit=self.unit, carriage=self.carriage,
            net_explosive_mass_kg=self.net_explosive_mass_kg,
        )  # fmt: skip


def _check_depart(value: dt.datetime) -> dt.datetime:
    """Refuse departures outside the years schedules are read for."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        msg = f"must lie in the years {FIRST_YEAR}–{LAST_YEAR}"
        raise ValueError(msg)
    return value


class LoadBase(BaseModel):
    """A load at a departure time: goods lines, permits held, which restrictions count."""

    model_config = ConfigDict(extra="forbid")

    depart_at: AwareDatetime = Field(description="Departure, with its UTC offset.")
    cargo: list[CargoLine] = Field(min_length=1, max_length=50)
    permits: list[Permit] = Field(
        default=[], max_length=20, description="Permits held, e.g. fuel_supply."
    )
    with_osm: bool = Field(
        default=True, description="Also apply the restrictions derived from OSM tags."
    )

    _depart = field_validator("depart_at")(_check_depart)


class RouteCreate(LoadBase):
    """A trip to route: origin and destination, departure, load."""

    origin: LonLat
    destination: LonLat


class RouteCheckCreate(LoadBase):
    """A route to check: a WGS-84 LineString (GeoJSON or WKT) or the network's edge ids."""

    route: str | dict[str, Any] | None = Field(
        default=None, description="A WGS-84 LineString, GeoJSON (object or text) or WKT."
    )
    edge_ids: list[Annotated[int, Field(ge=0, le=MAX_ID)]] | None = Field(
        default=None, min_length=1, max_length=MAX_EDGES, description="Edge ids in travel order."
    )

    @field_validator("route")
    @classmethod
    def _check_route(cls, value: str | dict[str, Any] | None) -> str | None:
        return None if value is None else waybills.parse_route(value)

    @model_validator(mode="after")
    def _one_route(self) -> RouteCheckCreate:
        if (self.route is None) == (self.edge_ids is None):
            msg = "give exactly one of `route` and `edge_ids`"
            raise ValueError(msg)
        return self


class ViolationPublic(BaseModel):
    """One restriction broken along a route: which, where it starts, when."""

    restriction_id: str
    kind: str
    name_zh: str
    name_en: str
    legal_basis_zh: str
    legal_basis_en: str
    severity: str
    entered_at: dt.datetime
    lon: float
    lat: float
    length_m: float
    edge_ids: list[int]

    @classmethod
    def of(cls, violation: Violation) -> ViolationPublic:
        """The public form of a violation."""
        return cls.model_validate(violation.to_dict())


class RouteSummary(BaseModel):
    """Length, time and timing of a route, and its edges in travel order."""

    km: float
    minutes: float
    depart_at: dt.datetime
    arrive_at: dt.datetime
    edge_ids: list[int]


class RouteFeature(BaseModel):
    """A route as a GeoJSON Feature: WGS-84 LineString through its edges."""

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any]
    properties: RouteSummary

    @classmethod
    def of(cls, index: RoutingIndex, route: routing.Route | None) -> RouteFeature | None:
        """The feature of a route (None for no route)."""
        if route is None:
            return None
        summary = route.summary()
        return cls(
            geometry=dict(routing.route_line(index, route).__geo_interface__),
            properties=RouteSummary(
                km=summary["km"], minutes=summary["minutes"], depart_at=route.depart_at,
                arrive_at=route.arrive_at, edge_ids=[int(e) for e in route.edge_ids],
            ),
        )  # fmt: skip


class RestrictionName(BaseModel):
    """A restriction by id and name."""

    id: str
    name_zh: str
    name_en: str


class DetourPublic(BaseModel):
    """Where the compliant route leaves the unrestricted one, why, at what cost."""

    restriction_ids: list[str]
    restrictions: list[RestrictionName]
    avoided: list[ViolationPublic]
    extra_km: float
    extra_min: float

    @classmethod
    def of(cls, detour: Detour) -> DetourPublic:
        """The public form of a detour."""
        names: dict[str, RestrictionName] = {}
        for v in detour.avoided:
            names.setdefault(v.restriction_id, RestrictionName(
                id=v.restriction_id, name_zh=v.name_zh, name_en=v.name_en))  # fmt: skip
        data = detour.to_dict()
        return cls(
            restriction_ids=data["restriction_ids"], restrictions=list(names.values()),
            avoided=[ViolationPublic.of(v) for v in detour.avoided],
            extra_km=data["extra_km"], extra_min=data["extra_min"],
        )  # fmt: skip


class LayerRef(BaseModel):
    """A stored restriction layer version the answer was computed with."""

    layer_id: int
    version: int


class RoutePlanPublic(BaseModel):
    """The fastest compliant route and its explanation, or what blocks the trip and until when.

    ``route`` is None when no compliant route exists at ``depart_at``: ``blocking`` then names
    the restrictions that block it and ``earliest_depart_at`` the first later departure that
    works (within 48 hours), with ``earliest_route``.
    """

    depart_at: dt.datetime
    compliant: bool
    route: RouteFeature | None
    unrestricted: RouteFeature | None
    extra_km: float | None
    extra_min: float | None
    avoided: list[ViolationPublic]
    detours: list[DetourPublic]
    blocking: list[ViolationPublic]
    earliest_depart_at: dt.datetime | None
    earliest_route: RouteFeature | None
    explanation: list[str]
    network: str
    layers: list[LayerRef]

    @classmethod
    def of(
        cls, plan: RoutePlan, index: RoutingIndex, layers: tuple[tuple[int, int], ...]
    ) -> RoutePlanPublic:
        """The public form of a plan, with route geometries."""
        data = plan.to_dict()
        return cls(
            depart_at=plan.depart_at, compliant=plan.route is not None,
            route=RouteFeature.of(index, plan.route),
            unrestricted=RouteFeature.of(index, plan.unrestricted),
            extra_km=data["extra_km"], extra_min=data["extra_min"],
            avoided=[ViolationPublic.of(v) for v in plan.avoided],
            detours=[DetourPublic.of(d) for d in plan.detours],
            blocking=[ViolationPublic.of(v) for v in plan.blocking],
            earliest_depart_at=plan.earliest_depart_at,
            earliest_route=RouteFeature.of(index, plan.earliest_route),
            explanation=plan.explain(), network=index.network.name,
            layers=[LayerRef(layer_id=i, version=v) for i, v in layers],
        )  # fmt: skip


class RouteCheckPublic(BaseModel):
    """What a route breaks, where and when; the edges it was read as."""

    depart_at: dt.datetime
    compliant: bool
    km: float
    edge_ids: list[int]
    violations: list[ViolationPublic]
    network: str
    layers: list[LayerRef]


class WaybillRoutePublic(BaseModel):
    """A waybill with its newly approved route, and the plan it came from."""

    waybill: WaybillPublic
    plan: RoutePlanPublic


class WhatIfCreate(BaseModel):
    """A proposed restriction: one restriction-layer feature (GeoJSON geometry or OSM ways)."""

    model_config = ConfigDict(extra="forbid")

    restriction: Restriction
    trips_listed: int = Field(
        default=100, ge=0, le=1000, description="Affected past trips listed at most."
    )


class WaybillHitPublic(BaseModel):
    """A waybill whose stored route the proposal would hit."""

    waybill_id: int
    number: str | None
    carrier_id: int
    state: WaybillState
    planned_departure_at: dt.datetime
    violations: list[ViolationPublic]


class TripHitPublic(BaseModel):
    """A past trip that would have broken the proposal."""

    trip_id: str
    vehicle_id: str
    carrier_id: str
    first_hit_at: dt.datetime
    hit_fixes: int


class ArchiveHitsPublic(BaseModel):
    """Past trips in the track archive that would have broken the proposal, counted.

    ``per_hour`` has 24 counts: trips by the local hour (in the restriction's time zone) of
    their first breaking fix.
    """

    trips: int
    per_hour: list[int]
    per_carrier: dict[str, int]
    listed: list[TripHitPublic]

    @classmethod
    def of(cls, trips: pd.DataFrame, per_hour: pd.Series, per_carrier: pd.Series,
           limit: int) -> ArchiveHitsPublic:  # fmt: skip
        """The public form of a what-if scan."""
        listed = [
            TripHitPublic(
                trip_id=str(row.trip_id),
                vehicle_id=str(row.vehicle_id),
                carrier_id=str(row.carrier_id),
                first_hit_at=row.first_hit_at.to_pydatetime(),
                hit_fixes=int(row.hit_fixes),
            )
            for row in trips.head(limit).itertuples(index=False)
        ]
        return cls(
            trips=len(trips), per_hour=[int(n) for n in per_hour.tolist()],
            per_carrier={str(k): int(n) for k, n in per_carrier.items()}, listed=listed,
        )  # fmt: skip


class WhatIfPublic(BaseModel):
    """What a proposed restriction would hit.

    ``waybills_hit``: active and planned waybills (draft to departed) whose stored routes it
    would hit at their planned departures; ``waybills_skipped`` counts stored routes off the
    network's area. ``archive`` is None when no track archive is configured.
    """

    restriction_id: str
    compile_problems: list[str]
    waybills_checked: int
    waybills_skipped: int
    waybills_hit: list[WaybillHitPublic]
    archive: ArchiveHitsPublic | None
