"""Read police and planner restriction layers: a versioned GeoJSON format and its models.

A layer is a GeoJSON ``FeatureCollection`` with ``"hazmat_layer_version": 1``, a ``name`` and an
``authority``; each feature is one `Restriction`. The JSON Schema in
``geodata/schemas/restriction-layer-v1.schema.json`` is generated from these models
(`layer_json_schema`); regenerate it with `write_layer_schema` after changing them.

Feature properties
------------------
id
    Unique within the layer.
kind
    One of `RestrictionKind`. ``dense_area`` needs ``buffer_m``, ``parking_lot`` needs
    ``max_dwell_min``, ``approved_corridor`` needs ``width_m``; other kinds take none of them,
    except ``service_area`` (an expressway service area), whose ``max_dwell_min`` is optional
    (`SERVICE_AREA_MAX_DWELL_MIN`, 45 min [practice], when absent).
    A ``parking_lot`` may give its ``capacity``, the number of vehicles it holds (a positive
    integer; no limit when absent); other kinds may not.
hazmat_bays
    ``service_area`` only, optional: its hazmat bays as a WGS-84 ``Polygon`` or ``MultiPolygon``
    inside the area's polygon (not checked for an area given as a point). When given, a loaded
    vehicle may stop only in them.
geometry / osm_way_ids
    Either a WGS-84 ``Point``, ``LineString`` or ``Polygon`` geometry (lon, lat), or a list of OSM
    way ids with a ``direction`` (``forward``, ``backward``, ``both``; the default) relative to the
    way's drawing order, never both.
schedule, time_zone, date_ranges
    OSM opening_hours expression (default ``"24/7"``), IANA zone (default Asia/Shanghai) and
    optional local date ranges ``{"first": "2026-10-01", "last": "2026-10-07"}``; see
    `geodata.schedules` for ``PH`` and adjusted working days.
cargo
    `CargoSelector`: which loads it applies to.
exemptions
    Permit types that exempt a vehicle (e.g. ``fuel_supply``, ``police_route_permit``).
severity, legal_basis, name, valid_from, valid_to, source
    ``info|warning|violation|critical``; ``{zh, en}`` texts; local dates, both included;
    ``{kind: osm|notice|example, ref}``.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import logging
import zoneinfo
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Protocol

import pydantic
import shapely
import shapely.geometry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geodata import schedules
from geodata._errors import RestrictionLayerError, ScheduleError

__all__ = [
    "LAYER_VERSION",
    "SCHEMA_PATH",
    "SERVICE_AREA_MAX_DWELL_MIN",
    "CargoLike",
    "CargoSelector",
    "LayerProblem",
    "Restriction",
    "RestrictionKind",
    "RestrictionLayer",
    "cargo_flags",
    "layer_document",
    "layer_json_schema",
    "load_layer",
    "write_layer_schema",
]

logger = logging.getLogger(__name__)

LAYER_VERSION = 1
SCHEMA_PATH = Path(__file__).parent / "schemas" / "restriction-layer-v1.schema.json"
SCHEMA_ID = "https://hazmat-tracker.invalid/schemas/restriction-layer-v1.schema.json"
_FROZEN = ConfigDict(frozen=True, extra="forbid")
#: Stay in an expressway service area when its layer gives none [practice, DOMAIN §6].
SERVICE_AREA_MAX_DWELL_MIN = 45.0


class RestrictionKind(enum.StrEnum):
    """What a restriction restricts."""

    FORBIDDEN_SEGMENT = "forbidden_segment"
    ZONE = "zone"
    TUNNEL = "tunnel"
    BRIDGE = "bridge"
    WATER_SOURCE_LEVEL1 = "water_source_level1"
    WATER_SOURCE_LEVEL2 = "water_source_level2"
    WATER_SOURCE_BELT = "water_source_belt"
    DENSE_AREA = "dense_area"
    NO_PARKING_ZONE = "no_parking_zone"
    PARKING_LOT = "parking_lot"
    SERVICE_AREA = "service_area"
    APPROVED_CORRIDOR = "approved_corridor"


class Direction(enum.StrEnum):
    """Travel direction on OSM ways, relative to the way's drawing order."""

    FORWARD = "forward"
    BACKWARD = "backward"
    BOTH = "both"


class Severity(enum.StrEnum):
    """How grave breaking the restriction is."""

    INFO = "info"
    WARNING = "warning"
    VIOLATION = "violation"
    CRITICAL = "critical"


class SourceKind(enum.StrEnum):
    """Where a restriction comes from; ``example`` marks illustrative data."""

    OSM = "osm"
    NOTICE = "notice"
    EXAMPLE = "example"


_POLYGONAL = frozenset({"Polygon"})
_LINEAR = frozenset({"LineString"})
# Geometry types each kind accepts.
_GEOMETRY_TYPES: dict[RestrictionKind, frozenset[str]] = {
    RestrictionKind.FORBIDDEN_SEGMENT: _LINEAR,
    RestrictionKind.ZONE: _POLYGONAL,
    RestrictionKind.TUNNEL: _LINEAR | {"Point"},
    RestrictionKind.BRIDGE: _LINEAR | {"Point"},
    RestrictionKind.WATER_SOURCE_LEVEL1: _POLYGONAL,
    RestrictionKind.WATER_SOURCE_LEVEL2: _POLYGONAL,
    RestrictionKind.WATER_SOURCE_BELT: _POLYGONAL,
    RestrictionKind.DENSE_AREA: _POLYGONAL | _LINEAR | {"Point"},
    RestrictionKind.NO_PARKING_ZONE: _POLYGONAL,
    RestrictionKind.PARKING_LOT: _POLYGONAL | {"Point"},
    RestrictionKind.SERVICE_AREA: _POLYGONAL | {"Point"},
    RestrictionKind.APPROVED_CORRIDOR: _LINEAR,
}
# Kinds that may name OSM ways instead of a geometry.
_WAY_KINDS = frozenset(
    {
        RestrictionKind.FORBIDDEN_SEGMENT,
        RestrictionKind.TUNNEL,
        RestrictionKind.BRIDGE,
        RestrictionKind.APPROVED_CORRIDOR,
    }
)
# The parameter each kind requires; no other kind takes it.
_KIND_PARAMETERS = {
    "buffer_m": RestrictionKind.DENSE_AREA,
    "max_dwell_min": RestrictionKind.PARKING_LOT,
    "width_m": RestrictionKind.APPROVED_CORRIDOR,
}
# Parameters kinds may give without being required to.
_OPTIONAL_PARAMETERS = {
    "max_dwell_min": frozenset({RestrictionKind.SERVICE_AREA}),
    "hazmat_bays": frozenset({RestrictionKind.SERVICE_AREA}),
    "capacity": frozenset({RestrictionKind.PARKING_LOT}),
}

ClassCode = Annotated[str, Field(pattern=r"^[1-9](\.[1-6])?$", examples=["2", "2.1", "3"])]
UnNumber = Annotated[str, Field(pattern=r"^[0-9]{4}$", examples=["1203"])]
TunnelCode = Annotated[
    str, Field(pattern=r"^(B|C|D|E|B1000C|C5000D|B/D|C/D|D/E)$", examples=["B", "C/D"])
]
CargoFlag = Literal["highly_toxic", "explosive", "explosive_precursor"]
PermitType = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", examples=["fuel_supply"])]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Position = tuple[Longitude, Latitude]


class CargoLike(Protocol):
    """What a selector reads from a cargo profile."""

    @property
    def classes(self) -> frozenset[str]: ...
    @property
    def un_numbers(self) -> frozenset[str]: ...
    @property
    def tunnel_code(self) -> str | None: ...
    @property
    def is_highly_toxic(self) -> bool: ...
    @property
    def is_explosive(self) -> bool: ...
    @property
    def is_explosive_precursor(self) -> bool: ...


class FlagsLike(Protocol):
    """What `cargo_flags` reads from a cargo profile."""

    @property
    def is_highly_toxic(self) -> bool: ...
    @property
    def is_explosive(self) -> bool: ...
    @property
    def is_explosive_precursor(self) -> bool: ...


def cargo_flags(cargo: FlagsLike) -> frozenset[str]:
    """The selector flags a cargo carries (highly toxic, explosive, explosive precursor)."""
    held = {
        "highly_toxic": cargo.is_highly_toxic,
        "explosive": cargo.is_explosive,
        "explosive_precursor": cargo.is_explosive_precursor,
    }
    return frozenset(name for name, is_held in held.items() if is_held)


class LocalizedText(BaseModel):
    """A text in Chinese and English."""

    model_config = _FROZEN
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Source(BaseModel):
    """Where a restriction comes from: an OSM way, a police notice number, or an example."""

    model_config = _FROZEN
    kind: SourceKind
    ref: str | None = Field(default=None, description="Notice number or OSM way id.")


class DateRange(BaseModel):
    """Local dates, both included."""

    model_config = _FROZEN
    first: dt.date
    last: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.first > self.last:
            msg = f"date range ends before it starts: {self.first}..{self.last}"
            raise ValueError(msg)
        return self


class CargoSelector(BaseModel):
    """Which loads a restriction applies to; a load matches when any criterion matches.

    A class matches its divisions: ``"2"`` selects 2.1, 2.2 and 2.3; ``"2.1"`` selects only 2.1.
    Tunnel codes match exactly, so a selector for tunnel category C lists every load code it
    bars (B, B1000C, B/D, C, C5000D, C/D). ``all_dangerous_goods`` selects every load.
    """

    model_config = _FROZEN
    all_dangerous_goods: bool = False
    classes: frozenset[ClassCode] = frozenset()
    un_numbers: frozenset[UnNumber] = frozenset()
    tunnel_codes: frozenset[TunnelCode] = frozenset()
    flags: frozenset[CargoFlag] = frozenset()

    @model_validator(mode="after")
    def _selects_something(self) -> CargoSelector:
        chosen = self.classes or self.un_numbers or self.tunnel_codes or self.flags
        if not (self.all_dangerous_goods or chosen):
            msg = (
                "selects no cargo: give all_dangerous_goods, classes, un_numbers, tunnel_codes"
                " or flags"
            )
            raise ValueError(msg)
        return self

    def applies_to(self, cargo: CargoLike) -> bool:
        """Tell whether the selector matches a cargo profile."""
        flags = cargo_flags(cargo)
        return self.applies_to_values(
            cargo.classes, un_numbers=cargo.un_numbers, tunnel_code=cargo.tunnel_code, flags=flags
        )

    def applies_to_values(
        self,
        classes: Iterable[str],
        *,
        un_numbers: Iterable[str] = (),
        tunnel_code: str | None = None,
        flags: Iterable[str] = (),
    ) -> bool:
        """Tell whether the selector matches a load given as plain values.

        Parameters
        ----------
        classes
            Classes or divisions of the load, e.g. ``{"2.1", "3"}``.
        un_numbers
            Four-digit UN numbers of the load.
        tunnel_code
            The load's most restrictive tunnel restriction code, ``None`` when it has none.
        flags
            Any of ``highly_toxic``, ``explosive``, ``explosive_precursor``.
        """
        if self.all_dangerous_goods:
            return True
        return (
            any(_class_matches(selected, c) for selected in self.classes for c in classes)
            or not self.un_numbers.isdisjoint(un_numbers)
            or (tunnel_code is not None and tunnel_code in self.tunnel_codes)
            or not self.flags.isdisjoint(flags)
        )


def _class_matches(selected: str, load_class: str) -> bool:
    """Whether a selected class or division covers a load's class or division."""
    return load_class == selected or load_class.startswith(selected + ".")


class PointGeometry(BaseModel):
    """A GeoJSON Point in WGS-84."""

    model_config = _FROZEN
    type: Literal["Point"]
    coordinates: Position


class LineStringGeometry(BaseModel):
    """A GeoJSON LineString in WGS-84, at least two positions."""

    model_config = _FROZEN
    type: Literal["LineString"]
    coordinates: list[Position] = Field(min_length=2)


class PolygonGeometry(BaseModel):
    """A GeoJSON Polygon in WGS-84: closed rings of at least four positions, valid."""

    model_config = _FROZEN
    type: Literal["Polygon"]
    coordinates: list[Annotated[list[Position], Field(min_length=4)]] = Field(min_length=1)

    @model_validator(mode="after")
    def _closed_and_valid(self) -> PolygonGeometry:
        if any(ring[0] != ring[-1] for ring in self.coordinates):
            msg = "polygon ring is not closed (first and last positions differ)"
            raise ValueError(msg)
        polygon = shapely.geometry.shape(self.model_dump())
        if not polygon.is_valid:
            msg = f"invalid polygon: {shapely.is_valid_reason(polygon)}"
            raise ValueError(msg)
        return self


class MultiPolygonGeometry(BaseModel):
    """A GeoJSON MultiPolygon in WGS-84: polygons as `PolygonGeometry` takes them, valid."""

    model_config = _FROZEN
    type: Literal["MultiPolygon"]
    coordinates: list[
        Annotated[list[Annotated[list[Position], Field(min_length=4)]], Field(min_length=1)]
    ] = Field(min_length=1)

    @model_validator(mode="after")
    def _closed_and_valid(self) -> MultiPolygonGeometry:
        if any(ring[0] != ring[-1] for polygon in self.coordinates for ring in polygon):
            msg = "polygon ring is not closed (first and last positions differ)"
            raise ValueError(msg)
        multipolygon = shapely.geometry.shape(self.model_dump())
        if not multipolygon.is_valid:
            msg = f"invalid multipolygon: {shapely.is_valid_reason(multipolygon)}"
            raise ValueError(msg)
        return self


Geometry = Annotated[
    PointGeometry | LineStringGeometry | PolygonGeometry, Field(discriminator="type")
]
AreaGeometry = Annotated[PolygonGeometry | MultiPolygonGeometry, Field(discriminator="type")]


class RestrictionProperties(BaseModel):
    """The properties of a restriction feature."""

    model_config = _FROZEN
    id: str = Field(min_length=1)
    kind: RestrictionKind
    name: LocalizedText
    legal_basis: LocalizedText
    cargo: CargoSelector
    osm_way_ids: list[Annotated[int, Field(gt=0)]] | None = Field(default=None, min_length=1)
    direction: Direction | None = Field(default=None, description="Only with osm_way_ids.")
    schedule: str = Field(default="24/7", description="OSM opening_hours expression.")
    time_zone: str = schedules.DEFAULT_TIME_ZONE
    date_ranges: list[DateRange] = Field(default_factory=list)
    exemptions: frozenset[PermitType] = frozenset()
    severity: Severity = Severity.VIOLATION
    buffer_m: float | None = Field(default=None, ge=0, description="dense_area only.")
    max_dwell_min: float | None = Field(
        default=None,
        gt=0,
        description="parking_lot (required) and service_area (45 when absent) only.",
    )
    hazmat_bays: AreaGeometry | None = Field(
        default=None, description="service_area only: the bays a loaded vehicle may stop in."
    )
    width_m: float | None = Field(default=None, gt=0, description="approved_corridor only.")
    capacity: int | None = Field(
        default=None, gt=0, description="parking_lot only: how many vehicles it holds."
    )
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    source: Source

    @model_validator(mode="before")
    @classmethod
    def _service_area_dwell(cls, data: Any) -> Any:
        is_service_area = isinstance(data, Mapping) and data.get("kind") == "service_area"
        if is_service_area and data.get("max_dwell_min") is None:
            return {**data, "max_dwell_min": SERVICE_AREA_MAX_DWELL_MIN}
        return data

    @field_validator("schedule")
    @classmethod
    def _parse_schedule(cls, expression: str) -> str:
        try:
            schedules.Schedule(expression)
        except ScheduleError as err:
            raise ValueError(str(err)) from err
        return expression

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, time_zone: str) -> str:
        try:
            zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
            msg = f"unknown time zone {time_zone!r}"
            raise ValueError(msg) from err
        return time_zone


class Restriction(BaseModel):
    """One restriction: a GeoJSON Feature whose properties follow `RestrictionProperties`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["Feature"]
    geometry: Geometry | None = None
    properties: RestrictionProperties
    id: str | int | None = Field(default=None, description="Optional GeoJSON feature id.")

    @model_validator(mode="after")
    def _consistent(self) -> Restriction:
        problems = feature_problems(self.model_dump(mode="json", exclude_none=True))
        if problems:
            msg = "; ".join(f"{field}: {message}" for field, message in problems)
            raise ValueError(msg)
        return self

    @property
    def schedule(self) -> schedules.Schedule:
        """The parsed schedule in the restriction's zone, with its date ranges."""
        p = self.properties
        ranges = tuple((r.first, r.last) for r in p.date_ranges)
        return _cached_schedule(p.schedule, p.time_zone, ranges)

    @property
    def shape(self) -> shapely.Geometry | None:
        """The geometry as a shapely object (WGS-84), ``None`` for a restriction on OSM ways."""
        return None if self.geometry is None else shapely.geometry.shape(self.geometry.model_dump())

    def is_in_force(self, at: dt.datetime) -> bool:
        """Tell whether the restriction is valid on `at`'s local date and its schedule is active.

        Parameters
        ----------
        at
            Timezone-aware moment.

        Raises
        ------
        ValueError
            `at` is naive.
        """
        if at.tzinfo is None or at.utcoffset() is None:
            msg = "`at` must be timezone-aware"
            raise ValueError(msg)
        p = self.properties
        day = at.astimezone(zoneinfo.ZoneInfo(p.time_zone)).date()
        if (p.valid_from and day < p.valid_from) or (p.valid_to and day > p.valid_to):
            return False
        return schedules.is_active(self.schedule, at)


@functools.lru_cache(maxsize=1024)
def _cached_schedule(
    expression: str, time_zone: str, date_ranges: tuple[tuple[dt.date, dt.date], ...]
) -> schedules.Schedule:
    """Parse a schedule once per distinct expression, zone and date ranges."""
    return schedules.Schedule(expression, time_zone=time_zone, date_ranges=date_ranges)


def feature_problems(feature: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the (field, message) of every cross-field fault of a raw feature.

    Only values of the right type are checked; type faults are the models' business.
    """
    props = feature.get("properties")
    if not isinstance(props, Mapping):
        return []
    problems: list[tuple[str, str]] = []
    kind = _as_kind(props.get("kind"))
    problems += _place_problems(feature.get("geometry"), props, kind)
    if kind is not None:
        problems += _parameter_problems(props, kind)
        problems += _bay_problems(feature.get("geometry"), props.get("hazmat_bays"))
    first, last = _as_date(props.get("valid_from")), _as_date(props.get("valid_to"))
    if first and last and first > last:
        problems.append(("properties.valid_to", f"before valid_from ({last} < {first})"))
    return problems


def _parameter_problems(props: Mapping[str, Any], kind: RestrictionKind) -> list[tuple[str, str]]:
    """Check that a feature gives the parameters its kind requires and no other kind's."""
    problems = []
    for name in sorted(_KIND_PARAMETERS.keys() | _OPTIONAL_PARAMETERS.keys()):
        owner = _KIND_PARAMETERS.get(name)
        allowed = _OPTIONAL_PARAMETERS.get(name, frozenset()) | ({owner} if owner else set())
        if kind is owner and props.get(name) is None:
            problems.append((f"properties.{name}", f"required for kind {kind.value}"))
        elif kind not in allowed and props.get(name) is not None:
            owners = ", ".join(sorted(k.value for k in allowed))
            problems.append((f"properties.{name}", f"only for kind {owners}"))
    return problems


def _bay_problems(geometry: Any, bays: Any) -> list[tuple[str, str]]:
    """Check that hazmat bays lie inside a polygon area (when both are well-formed)."""
    if bays is None or not isinstance(geometry, Mapping) or geometry.get("type") != "Polygon":
        return []
    try:
        area = PolygonGeometry.model_validate(geometry)
        bay_model = pydantic.TypeAdapter(AreaGeometry).validate_python(bays)
    except pydantic.ValidationError:
        return []  # reported as type faults
    area_shape = shapely.geometry.shape(area.model_dump())
    if not area_shape.covers(shapely.geometry.shape(bay_model.model_dump())):
        return [("properties.hazmat_bays", "not inside the service area's polygon")]
    return []


def _place_problems(
    geometry: Any, props: Mapping[str, Any], kind: RestrictionKind | None
) -> list[tuple[str, str]]:
    """Check that a feature has a geometry or OSM ways, not both, fitting its kind."""
    has_ways = props.get("osm_way_ids") is not None
    if geometry is None and not has_ways:
        return [("geometry", "give a geometry or properties.osm_way_ids")]
    if geometry is not None and has_ways:
        return [("geometry", "give a geometry or properties.osm_way_ids, not both")]
    problems = []
    if not has_ways and props.get("direction") is not None:
        problems.append(("properties.direction", "only with properties.osm_way_ids"))
    if kind is None:
        return problems
    if has_ways and kind not in _WAY_KINDS:
        problems.append(("properties.osm_way_ids", f"kind {kind.value} needs a geometry"))
    geometry_type = geometry.get("type") if isinstance(geometry, Mapping) else None
    allowed = _GEOMETRY_TYPES[kind]
    if isinstance(geometry_type, str) and geometry_type not in allowed:
        choices = ", ".join(sorted(allowed))
        problems.append(
            ("geometry.type", f"kind {kind.value} takes {choices}, not {geometry_type}")
        )
    return problems


def _as_kind(value: Any) -> RestrictionKind | None:
    """Return the kind, or ``None`` when it is not one."""
    try:
        return RestrictionKind(value)
    except ValueError:
        return None


def _as_date(value: Any) -> dt.date | None:
    """Return an ISO date, or ``None`` when it is not one."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


class RestrictionLayer(BaseModel):
    """A restriction layer: a GeoJSON FeatureCollection of restrictions, format version 1."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        title="Hazmat restriction layer v1",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": SCHEMA_ID,
        },
    )
    type: Literal["FeatureCollection"]
    hazmat_layer_version: Literal[1]
    name: str = Field(min_length=1)
    authority: LocalizedText
    description: LocalizedText | None = None
    features: list[Restriction]

    @model_validator(mode="after")
    def _unique_ids(self) -> RestrictionLayer:
        duplicates = _duplicate_ids(self.model_dump(mode="json"))
        if duplicates:
            msg = "; ".join(f"feature {i}: duplicate id {rid!r}" for i, rid in duplicates)
            raise ValueError(msg)
        return self

    def in_force(self, at: dt.datetime) -> list[Restriction]:
        """Return the restrictions in force at one aware moment, in layer order."""
        return [r for r in self.features if r.is_in_force(at)]


def _duplicate_ids(layer: Mapping[str, Any]) -> list[tuple[int, str]]:
    """Return (feature index, id) of every feature repeating an earlier id."""
    seen: set[str] = set()
    duplicates = []
    features = layer.get("features")
    for i, feature in enumerate(features if isinstance(features, list) else []):
        props = feature.get("properties") if isinstance(feature, Mapping) else None
        rid = props.get("id") if isinstance(props, Mapping) else None
        if isinstance(rid, str):
            if rid in seen:
                duplicates.append((i, rid))
            seen.add(rid)
    return duplicates


class LayerProblem(NamedTuple):
    """One fault of a layer: file, feature index (``None`` for the layer), field, message."""

    file: str
    feature_index: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = "" if self.feature_index is None else f"feature {self.feature_index}: "
        field = f"{self.field}: " if self.field else ""
        return f"{self.file}: {where}{field}{self.message}"


def layer_document(
    features: Iterable[Mapping[str, Any]], *, name: str, authority: tuple[str, str]
) -> dict[str, Any]:
    """Wrap restriction features (GeoJSON dicts) in a layer document of this format version.

    `authority` is the issuing body as (zh, en).
    """
    return {
        "type": "FeatureCollection",
        "hazmat_layer_version": LAYER_VERSION,
        "name": name,
        "authority": {"zh": authority[0], "en": authority[1]},
        "features": list(features),
    }


def load_layer(source: str | Path | Mapping[str, Any]) -> RestrictionLayer:
    """Read and validate a restriction layer, reporting every problem at once.

    Parameters
    ----------
    source
        Path of a GeoJSON file, or the decoded layer itself.

    Returns
    -------
    layer
        The validated layer.

    Raises
    ------
    RestrictionLayerError
        The file cannot be read or the layer breaks the format; ``problems`` holds every
        (file, feature index, field, message) and the message lists them one per line.

    Examples
    --------
    >>> layer = load_layer(Path(__file__).parent / "examples" / "shenzhen_demo_layer.geojson")
    >>> layer.hazmat_layer_version, len(layer.features) > 0
    (1, True)
    """
    file, raw = _read_source(source)
    try:
        return RestrictionLayer.model_validate(raw)
    except pydantic.ValidationError as err:
        problems = _layer_problems(file, raw, err)
    msg = "\n".join(str(p) for p in problems)
    raise RestrictionLayerError(msg, tuple(problems))


def _read_source(source: str | Path | Mapping[str, Any]) -> tuple[str, Any]:
    """Return a file label and the decoded layer."""
    if isinstance(source, Mapping):
        return "<layer>", source
    path = Path(source)
    try:
        return path.name, json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        problem = LayerProblem(path.name, None, "", f"cannot read layer: {err}")
        raise RestrictionLayerError(str(problem), (problem,)) from err


def _layer_problems(file: str, raw: Any, err: pydantic.ValidationError) -> list[LayerProblem]:
    """Turn validation errors and cross-field faults into problems, sorted by feature."""
    problems = set()
    for error in err.errors(include_url=False):
        if error["type"] == "value_error" and _is_consistency_error(error["loc"]):
            continue  # reported field by field below
        index, field = _split_loc(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        problems.add(LayerProblem(file, index, field, message))
    features = raw.get("features") if isinstance(raw, Mapping) else None
    for i, feature in enumerate(features if isinstance(features, list) else []):
        if isinstance(feature, Mapping):
            problems |= {LayerProblem(file, i, f, m) for f, m in feature_problems(feature)}
    if isinstance(raw, Mapping):
        problems |= {
            LayerProblem(file, i, "properties.id", f"duplicate id {rid!r}")
            for i, rid in _duplicate_ids(raw)
        }
    return sorted(problems, key=lambda p: (-1 if p.feature_index is None else p.feature_index, p))


def _is_consistency_error(loc: tuple[int | str, ...]) -> bool:
    """Whether an error comes from the feature or layer consistency validators."""
    return len(loc) == 0 or (len(loc) == 2 and loc[0] == "features")


def _split_loc(loc: tuple[int | str, ...]) -> tuple[int | None, str]:
    """Split a pydantic location into feature index and dotted field path."""
    if len(loc) >= 2 and loc[0] == "features" and isinstance(loc[1], int):
        parts = [str(part) for part in loc[2:] if part not in _GEOMETRY_TAGS]
        return loc[1], ".".join(parts)
    return None, ".".join(str(part) for part in loc)


_GEOMETRY_TAGS = frozenset({"Point", "LineString", "Polygon", "MultiPolygon"})


def layer_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of layer format v1, generated from the models."""
    return RestrictionLayer.model_json_schema(mode="validation")


def write_layer_schema(path: Path = SCHEMA_PATH) -> Path:
    """Write the generated JSON Schema to `path` (the committed schema file by default)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(layer_json_schema(), ensure_ascii=False, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    return path
