"""Describe a load from its waybill goods lines: classes, flags, permits and its tunnel code."""

from __future__ import annotations

import logging
import math
import re
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from transport import goods
from transport._errors import CargoError, CatalogueError
from transport.goods import GoodsEntry, PackingGroup, TunnelCode

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

__all__ = [
    "COMBINED_BY_CARRIAGE",
    "MASS_THRESHOLD_KG",
    "RESTRICTIVENESS",
    "TUNNEL_CATEGORIES",
    "CargoProfile",
    "CarriageType",
    "GoodsLine",
    "QuantityUnit",
    "may_enter",
    "most_restrictive",
    "resolve_tunnel_code",
]

logger = logging.getLogger(__name__)

#: Rank of a resolved load code: the higher, the more tunnels it keeps out of.
RESTRICTIVENESS: Mapping[TunnelCode, int] = {
    TunnelCode.NONE: 0,
    TunnelCode.E: 1,
    TunnelCode.D: 2,
    TunnelCode.C: 3,
    TunnelCode.B: 4,
}

#: ADR tunnel categories, A (no restriction) to E (most restricted).
TUNNEL_CATEGORIES: tuple[str, ...] = ("A", "B", "C", "D", "E")

#: Codes split by carriage: (code for tank carriage, code for other carriage).
COMBINED_BY_CARRIAGE: Mapping[TunnelCode, tuple[TunnelCode, TunnelCode]] = {
    TunnelCode.B_D: (TunnelCode.B, TunnelCode.D),
    TunnelCode.C_D: (TunnelCode.C, TunnelCode.D),
    TunnelCode.B_E: (TunnelCode.B, TunnelCode.E),
    TunnelCode.C_E: (TunnelCode.C, TunnelCode.E),
    TunnelCode.D_E: (TunnelCode.D, TunnelCode.E),
}

#: Codes split by total net explosive mass: (threshold kg, code above it, code at or below).
MASS_THRESHOLD_KG: Mapping[TunnelCode, tuple[float, TunnelCode, TunnelCode]] = {
    TunnelCode.B1000C: (1000.0, TunnelCode.B, TunnelCode.C),
    TunnelCode.C5000D: (5000.0, TunnelCode.C, TunnelCode.D),
}

_KG_PER_UNIT = {"kg": 1.0, "t": 1000.0}
_PERMIT = re.compile(r"[a-z][a-z0-9_]*")


class CarriageType(StrEnum):
    """How the goods travel: in a tank, in bulk, or in packages."""

    TANK = "tank"
    BULK = "bulk"
    PACKAGES = "packages"


class QuantityUnit(StrEnum):
    """Unit of a waybill quantity."""

    KG = "kg"
    L = "L"
    T = "t"
    M3 = "m3"


class GoodsLine(BaseModel):
    """One goods line of a waybill.

    ``packing_group`` and ``name`` (part of the Chinese or English name) choose among catalogue
    entries of one UN number. ``net_explosive_mass_kg`` matters for class 1 only; when it is
    None the line's mass is its upper bound, and a volume gives no bound.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    un_number: str
    packing_group: PackingGroup | None = None
    name: str | None = None
    quantity: float
    unit: QuantityUnit
    carriage: CarriageType
    net_explosive_mass_kg: float | None = None

    @field_validator("un_number", mode="before")
    @classmethod
    def _check_un_number(cls, value: object) -> str:
        try:
            return goods.normalise_un_number(value)
        except CatalogueError as err:
            raise ValueError(str(err)) from err

    @field_validator("quantity")
    @classmethod
    def _check_quantity(cls, value: float) -> float:
        if not (math.isfinite(value) and value > 0):
            msg = f"quantity must be a finite number above 0, got {value}"
            raise ValueError(msg)
        return value

    @field_validator("net_explosive_mass_kg")
    @classmethod
    def _check_net_explosive_mass(cls, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and value >= 0):
            msg = f"net explosive mass must be a finite number of kg ≥ 0, got {value}"
            raise ValueError(msg)
        return value

    @property
    def mass_kg(self) -> float | None:
        """Quantity in kg, None when it is a volume."""
        factor = _KG_PER_UNIT.get(self.unit.value)
        return None if factor is None else self.quantity * factor

    @property
    def explosive_mass_bound_kg(self) -> float | None:
        """Net explosive mass if given, else the line's mass (an upper bound), else None."""
        return (
            self.net_explosive_mass_kg if self.net_explosive_mass_kg is not None else self.mass_kg
        )


def resolve_tunnel_code(
    code: TunnelCode,
    *,
    carriage: CarriageType,
    net_explosive_mass_kg: float | None = None,
    bulk_as_tank_codes: Collection[TunnelCode] = frozenset(COMBINED_BY_CARRIAGE),
) -> TunnelCode:
    """Return the plain code (B, C, D, E or "(-)") a Table A code means for one carriage.

    B1000C is B when the total net explosive mass of the transport unit exceeds 1000 kg, else
    C; C5000D likewise at 5000 kg. An unknown mass (None) counts as exceeding. B/D, C/D, B/E,
    C/E and D/E take the first letter for tank carriage, the second otherwise; bulk carriage
    takes the first letter for the codes in ``bulk_as_tank_codes``.

    Parameters
    ----------
    code
        Table A tunnel restriction code of the entry.
    carriage
        Carriage of the goods line.
    net_explosive_mass_kg
        Total net explosive mass of the transport unit, None when unknown.
    bulk_as_tank_codes
        Combined codes for which bulk counts as tank. The default, every combined code, is
        DOMAIN.md §4; ADR 8.6.4 as read by some says bulk only for D/E: pass ``{D_E}``.

    Examples
    --------
    >>> resolve_tunnel_code(TunnelCode.D_E, carriage=CarriageType.TANK).value
    'D'
    >>> resolve_tunnel_code(TunnelCode.B1000C, carriage=CarriageType.PACKAGES,
    ...                     net_explosive_mass_kg=800).value
    'C'
    """
    if code in MASS_THRESHOLD_KG:
        threshold_kg, above, otherwise = MASS_THRESHOLD_KG[code]
        is_above = net_explosive_mass_kg is None or net_explosive_mass_kg > threshold_kg
        return above if is_above else otherwise
    if code in COMBINED_BY_CARRIAGE:
        tank_code, other_code = COMBINED_BY_CARRIAGE[code]
        is_tank = carriage is CarriageType.TANK or (
            carriage is CarriageType.BULK and code in bulk_as_tank_codes
        )
        return tank_code if is_tank else other_code
    return code


def _check_resolved(code: TunnelCode) -> int:
    """Return the rank of a resolved code; refuse a combined one."""
    if code not in RESTRICTIVENESS:
        msg = f"tunnel code {code.value!r} is combined: resolve it first"
        raise ValueError(msg)
    return RESTRICTIVENESS[code]


def most_restrictive(codes: Iterable[TunnelCode]) -> TunnelCode:
    """Return the most restrictive of resolved codes (B > C > D > E > "(-)"); "(-)" if none."""
    return max(codes, key=_check_resolved, default=TunnelCode.NONE)


def may_enter(code: TunnelCode, category: str) -> bool:
    """Return whether a load with a resolved code may enter a tunnel of an ADR category.

    Code B keeps out of categories B–E, C of C–E, D of D–E, E of E; "(-)" enters all, and
    category A admits every load.

    Examples
    --------
    >>> may_enter(TunnelCode.C, "B"), may_enter(TunnelCode.C, "C")
    (True, False)
    """
    rank = _check_resolved(code)
    text = category.strip().upper()
    if text not in TUNNEL_CATEGORIES:
        msg = f"`category` must be one of {', '.join(TUNNEL_CATEGORIES)}, got {category!r}"
        raise ValueError(msg)
    if rank == 0:
        return True
    return text < code.value


class CargoProfile(BaseModel):
    """What a load is, for rules and routing: built with :meth:`CargoProfile.from_lines`.

    ``entries`` and ``line_tunnel_codes`` run parallel to ``lines``. ``hazard_classes`` are
    the primary classes and divisions present, ``subsidiary_hazards`` the others, both in
    GB 6944 order. ``explosive_mass_kg`` is the total net explosive mass used for B1000C and
    C5000D: 0 without explosives, None when a line gives no bound.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    lines: tuple[GoodsLine, ...]
    entries: tuple[GoodsEntry, ...]
    line_tunnel_codes: tuple[TunnelCode, ...]
    tunnel_code: TunnelCode
    hazard_classes: tuple[str, ...]
    subsidiary_hazards: tuple[str, ...]
    un_numbers: tuple[str, ...]
    is_highly_toxic: bool
    is_explosive: bool
    is_explosive_precursor: bool
    explosive_mass_kg: float | None
    permits: frozenset[str]

    def may_enter_tunnel(self, category: str) -> bool:
        """Return whether the load may enter a tunnel of ADR category A–E."""
        return may_enter(self.tunnel_code, category)

    def has_permit(self, permit: str) -> bool:
        """Return whether the load's vehicle holds a permit, e.g. "water_source_level2"."""
        return permit in self.permits

    @classmethod
    def from_lines(
        cls,
        lines: Iterable[GoodsLine | Mapping[str, Any]],
        catalogue: goods.Catalogue | None = None,
        *,
        permits: Iterable[str] = (),
        bulk_as_tank_codes: Collection[TunnelCode] = frozenset(COMBINED_BY_CARRIAGE),
    ) -> CargoProfile:
        """Build the profile of a load from its waybill goods lines.

        Parameters
        ----------
        lines
            Goods lines, as models or as mappings of their fields.
        catalogue
            Where UN numbers are looked up; None uses the built-in catalogue.
        permits
            Permits the vehicle holds, snake_case ("highly_toxic_route_permit").
        bulk_as_tank_codes
            Combined codes for which bulk carriage counts as tank, see
            :func:`resolve_tunnel_code`.

        Raises
        ------
        CargoError
            Naming every faulty line by index (``lines[2]``) and every bad permit: invalid
            fields, unknown UN numbers, several catalogue entries that differ.
        """
        catalogue = goods.load_builtin_catalogue() if catalogue is None else catalogue
        line_list = list(lines)
        errors = [] if line_list else ["`lines` is empty: a load needs at least one goods line"]
        checked = [
            _check_line(index, line, catalogue, errors) for index, line in enumerate(line_list)
        ]
        permit_set = _check_permits(permits, errors)
        if errors:
            msg = "; ".join(errors)
            raise CargoError(msg)
        pairs = [pair for pair in checked if pair is not None]
        return cls._from_checked(pairs, permit_set, bulk_as_tank_codes)

    @classmethod
    def _from_checked(
        cls,
        pairs: list[tuple[GoodsLine, GoodsEntry]],
        permits: frozenset[str],
        bulk_as_tank_codes: Collection[TunnelCode],
    ) -> CargoProfile:
        """Assemble a profile from valid lines and their entries."""
        entries = tuple(entry for _, entry in pairs)
        mass_kg = _explosive_mass_kg(pairs)
        codes = tuple(
            resolve_tunnel_code(
                entry.tunnel_code,
                carriage=line.carriage,
                net_explosive_mass_kg=mass_kg,
                bulk_as_tank_codes=bulk_as_tank_codes,
            )
            for line, entry in pairs
        )
        return cls(
            lines=tuple(line for line, _ in pairs),
            entries=entries,
            line_tunnel_codes=codes,
            tunnel_code=most_restrictive(codes),
            hazard_classes=_in_class_order(entry.hazard_class for entry in entries),
            subsidiary_hazards=_in_class_order(h for e in entries for h in e.subsidiary_hazards),
            un_numbers=tuple(dict.fromkeys(entry.un_number for entry in entries)),
            is_highly_toxic=any(entry.is_highly_toxic for entry in entries),
            is_explosive=any(entry.is_explosive for entry in entries),
            is_explosive_precursor=any(entry.is_explosive_precursor for entry in entries),
            explosive_mass_kg=mass_kg,
            permits=permits,
        )


def _check_line(
    index: int,
    line: GoodsLine | Mapping[str, Any],
    catalogue: goods.Catalogue,
    errors: list[str],
) -> tuple[GoodsLine, GoodsEntry] | None:
    """Validate one line and find its entry; on failure add the reasons and return None."""
    try:
        model = line if isinstance(line, GoodsLine) else GoodsLine.model_validate(line)
    except ValidationError as err:
        errors.extend(f"lines[{index}]: {_describe_validation(detail)}" for detail in err.errors())
        return None
    try:
        entry = catalogue.lookup(
            model.un_number,
            packing_group=model.packing_group.value if model.packing_group else None,
            name=model.name,
        )
    except CatalogueError as err:
        errors.append(f"lines[{index}]: {err}")
        return None
    return model, entry


def _describe_validation(detail: Any) -> str:
    """Return "field: reason" for one pydantic error detail."""
    field = ".".join(str(part) for part in detail["loc"]) or "line"
    cause = detail.get("ctx", {}).get("error")
    return f"{field}: {cause if cause is not None else detail['msg']}"


def _check_permits(permits: Iterable[str], errors: list[str]) -> frozenset[str]:
    """Return the permits as a set; add a reason for each one not in snake_case."""
    permit_set = frozenset(permits)
    bad = sorted(repr(permit) for permit in permit_set if not _PERMIT.fullmatch(str(permit)))
    if bad:
        errors.append(f"permits must be snake_case names, got {', '.join(bad)}")
    return permit_set


def _explosive_mass_kg(pairs: list[tuple[GoodsLine, GoodsEntry]]) -> float | None:
    """Total net explosive mass over class 1 and mass-coded lines; None if one is unbounded."""
    total_kg = 0.0
    for line, entry in pairs:
        if entry.is_explosive or entry.tunnel_code in MASS_THRESHOLD_KG:
            bound_kg = line.explosive_mass_bound_kg
            if bound_kg is None:
                return None
            total_kg += bound_kg
    return total_kg


def _in_class_order(hazards: Iterable[str]) -> tuple[str, ...]:
    """Deduplicate hazard codes and sort them as GB 6944 lists them ("1" before "1.1")."""
    order = {hazard: rank for rank, hazard in enumerate(("1", *goods.HAZARD_CLASSES))}
    return tuple(sorted(set(hazards), key=order.__getitem__))
