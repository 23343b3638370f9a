"""Loading checks on the goods: they match the waybill, suit the tank, and fit the vehicle."""

from __future__ import annotations

import math
from collections.abc import Mapping

from transport._check_base import CheckId, CheckResult, LoadingContext, result_of, tank_missing
from transport.reasons import Reason
from transport.waybills import WaybillLine

_SAME_DIMENSION = {"kg": "kg", "t": "kg", "L": "m3", "m3": "m3"}


def _amount(line: WaybillLine) -> tuple[str, float]:
    """Return (dimension, amount in kg or m³) of a line."""
    dimension = _SAME_DIMENSION[line.unit.value]
    amount = line.quantity_kg if dimension == "kg" else line.quantity_m3
    assert amount is not None
    return dimension, amount


def _goods_problems(ctx: LoadingContext, loaded: tuple[WaybillLine, ...]) -> list[Reason]:
    """Compare loaded lines with the waybill by UN number, packing group and quantity."""
    stated: dict[tuple[str, object], list[WaybillLine]] = {}
    for line in ctx.waybill.lines:
        stated.setdefault((line.un_number, line.packing_group), []).append(line)
    problems = []
    for index, line in enumerate(loaded):
        key = (line.un_number, line.packing_group or _only_group(stated, line.un_number))
        where = f"loaded_lines[{index}]"
        if key not in stated:
            problems.append(
                Reason(
                    where,
                    "not_on_waybill",
                    f"UN{line.un_number} PG {key[1] or '-'} is loaded but not on the waybill",
                    f"所装 UN{line.un_number}（包装类别 {key[1] or '-'}）不在运单上",
                )
            )
            continue
        problems += _quantity_problems(where, line, stated[key])
    return problems


def _only_group(stated: Mapping[tuple[str, object], object], un_number: str) -> object:
    """Return the packing group of a UN number when the waybill states just one."""
    groups = [group for number, group in stated if number == un_number]
    return groups[0] if len(groups) == 1 else None


def _quantity_problems(where: str, line: WaybillLine, stated: list[WaybillLine]) -> list[Reason]:
    """Refuse a loaded quantity in another dimension than stated, or above it."""
    dimension, loaded = _amount(line)
    amounts = [_amount(s) for s in stated]
    if any(d != dimension for d, _ in amounts):
        unit, stated_unit = line.unit.value, stated[0].unit.value
        return [
            Reason(
                where,
                "unit_mismatch",
                f"UN{line.un_number} loaded in {unit}, the waybill states {stated_unit}",
                f"UN{line.un_number} 实装单位 {unit} 与运单单位 {stated_unit} 不可比较",
            )
        ]
    total = sum(amount for _, amount in amounts)
    if loaded > total * (1 + 1e-9):
        return [
            Reason(
                where,
                "quantity_above_waybill",
                f"UN{line.un_number} loaded {loaded:g} {dimension}, "
                f"waybill states {total:g} {dimension}",
                f"UN{line.un_number} 实装 {loaded:g} {dimension}，超过运单 {total:g} {dimension}",
            )
        ]
    return []


def _listed(lines: tuple[WaybillLine, ...]) -> str:
    """Return "UN1203 20 t, ..." for a fact."""
    return ", ".join(f"UN{line.un_number} {line.quantity:g} {line.unit.value}" for line in lines)


def check_goods_match_waybill(ctx: LoadingContext) -> CheckResult:
    """Check 4: the goods loaded are the waybill's (UN number, packing group, quantity)."""
    if ctx.loaded_lines is None:
        problem = Reason(
            "loaded_lines",
            "not_recorded",
            "the loader recorded no loaded goods to compare with the waybill",
            "装货人未录入实际装载货物，无法与运单核对",
        )
        return result_of(
            CheckId.GOODS_MATCH_WAYBILL, ["no loaded goods recorded"], [problem], "", ""
        )
    stated, loaded = _listed(ctx.waybill.lines), _listed(ctx.loaded_lines)
    problems = _goods_problems(ctx, ctx.loaded_lines)
    if not ctx.loaded_lines:
        problems.append(Reason("loaded_lines", "empty", "no goods loaded", "未录入装载货物"))
    return result_of(
        CheckId.GOODS_MATCH_WAYBILL,
        [f"waybill: {stated}", f"loaded: {loaded or '-'}"],
        problems,
        "loaded goods are on the waybill, within the stated quantities",
        "所装货物与运单一致，未超过运单数量",
    )


def check_tank_permitted_media(ctx: LoadingContext) -> CheckResult:
    """Check 5: every UN number loaded is on the tank's permitted media list."""
    missing = tank_missing(ctx, CheckId.TANK_PERMITTED_MEDIA)
    if missing is not None:
        return missing
    assert ctx.tank is not None
    lines = ctx.loaded_lines if ctx.loaded_lines else ctx.waybill.lines
    numbers = tuple(dict.fromkeys(line.un_number for line in lines))
    media = ctx.tank.permitted_un_numbers
    outside = [number for number in numbers if number not in media]
    problems = [
        Reason(
            "tank_id",
            "medium_not_permitted",
            f"UN{number} is not on tank {ctx.tank.number}'s media list",
            f"UN{number} 不在罐体 {ctx.tank.number} 的适装介质列表内",
        )
        for number in outside
    ]
    fact = f"tank {ctx.tank.number} media UN{' UN'.join(media)}; goods UN{' UN'.join(numbers)}"
    return result_of(
        CheckId.TANK_PERMITTED_MEDIA,
        [fact],
        problems,
        "every medium is on the tank's list",
        "所装介质均在罐体适装介质列表内",
    )


def check_rated_load(ctx: LoadingContext) -> CheckResult:
    """Extra: the goods' mass is within the rated load and their volume within the tank's."""
    lines = ctx.loaded_lines if ctx.loaded_lines else ctx.waybill.lines
    problems: list[Reason] = []
    unknown = [i for i, line in enumerate(lines) if line.quantity_kg is None]
    problems += [
        Reason(
            f"lines[{i}].mass_kg",
            "mass_unknown",
            f"UN{lines[i].un_number} is a volume without `mass_kg`: the load cannot be weighed",
            f"UN{lines[i].un_number} 以体积计且未填质量，无法核对载质量",
        )
        for i in unknown
    ]
    mass_kg = math.fsum(line.quantity_kg or 0.0 for line in lines)
    rated_kg = ctx.vehicle.rated_load_kg
    facts = [f"goods {mass_kg:g} kg, rated load {rated_kg:g} kg ({ctx.vehicle.plate})"]
    if mass_kg > rated_kg:
        problems.append(
            Reason(
                "vehicle_id",
                "overload",
                f"goods {mass_kg:g} kg exceed the rated load of {rated_kg:g} kg",
                f"货物 {mass_kg:g} kg 超过核定载质量 {rated_kg:g} kg",
            )
        )
    volumes = [line.quantity_m3 for line in lines if line.quantity_m3 is not None]
    if ctx.tank is not None and volumes:
        volume_m3 = math.fsum(volumes)
        facts.append(f"goods {volume_m3:g} m3, tank {ctx.tank.number} {ctx.tank.volume_m3:g} m3")
        if volume_m3 > ctx.tank.volume_m3:
            problems.append(
                Reason(
                    "tank_id",
                    "over_volume",
                    f"goods {volume_m3:g} m3 exceed tank volume {ctx.tank.volume_m3:g} m3",
                    f"货物 {volume_m3:g} m³ 超过罐体容积 {ctx.tank.volume_m3:g} m³",
                )
            )
    return result_of(CheckId.RATED_LOAD, facts, problems, "within rated load", "未超过核定载质量")
