"""Loading checks on documents: vehicle, people, tank inspection, carrier scope, permits."""

from __future__ import annotations

from collections.abc import Mapping

from transport import registry
from transport._check_base import (
    CheckId,
    CheckResult,
    LoadingContext,
    dated_fact,
    not_applicable,
    result_of,
    tank_missing,
)
from transport.reasons import Reason
from transport.registry import Person, PersonRole
from transport.waybills import PermitKind

_PERMIT_NAMES: Mapping[PermitKind, tuple[str, str]] = {
    PermitKind.HIGHLY_TOXIC: (
        "road transport pass for highly toxic chemicals", "剧毒化学品道路运输通行证"),
    PermitKind.EXPLOSIVES: ("transport permit for explosives", "民用爆炸物品运输许可证"),
    PermitKind.RADIOACTIVE: ("transport permit for radioactive material", "放射性物品道路运输许可"),
}  # fmt: skip


def check_vehicle_documents(ctx: LoadingContext) -> CheckResult:
    """Check 1: the vehicle's licence and operating certificate are valid at loading."""
    vehicle = ctx.vehicle
    checks = (
        ("licence", "行驶证", vehicle.licence_number, vehicle.licence_valid_until),
        (
            "operating certificate",
            "道路运输证",
            vehicle.operating_certificate_number,
            vehicle.operating_certificate_valid_until,
        ),
    )
    facts, problems = [f"vehicle {vehicle.plate}"], []
    for what_en, what_zh, number, until in checks:
        fact, problem = dated_fact(what_en, what_zh, number, until, ctx)
        facts.append(fact)
        if problem is not None:
            problems.append(problem)
    return result_of(
        CheckId.VEHICLE_DOCUMENTS,
        facts,
        problems,
        "licence and operating certificate are valid at loading",
        "行驶证、道路运输证在装货时有效",
    )


def _person_problems(
    person: Person | None, role: PersonRole, ctx: LoadingContext, facts: list[str]
) -> list[Reason]:
    """Return every reason a driver or escort may not go on this trip."""
    role_zh = "驾驶员" if role is PersonRole.DRIVER else "押运员"
    if person is None:
        return [
            Reason(
                f"{role.value}_id",
                "missing",
                f"no {role.value} on the waybill",
                f"运单未指定{role_zh}",
            )
        ]
    problems = []
    if person.role is not role:
        registered_zh = "驾驶员" if person.role is PersonRole.DRIVER else "押运员"
        problems.append(
            Reason(
                f"{role.value}_id",
                "wrong_role",
                f"{person.name} is registered as {person.role.value}, not {role.value}",
                f"{person.name} 登记为{registered_zh}，不是{role_zh}",
            )
        )
    fact, expired = dated_fact(
        f"{role.value} certificate", f"{role_zh}从业资格证", person.certificate_number,
        person.certificate_valid_until, ctx,
    )  # fmt: skip
    facts.append(f"{person.name}: {fact}; classes {' '.join(person.permitted_classes)}")
    if expired is not None:
        problems.append(expired)
    uncovered = [
        c for c in ctx.goods_classes if not registry.classes_covered(person.permitted_classes, c)
    ]
    if uncovered:
        problems.append(
            Reason(
                f"{role.value}_id",
                "class_not_covered",
                f"{role.value} {person.name}'s certificate does not cover "
                f"class {', '.join(uncovered)}",
                f"{role_zh} {person.name} 的从业资格不含第 {'、'.join(uncovered)} 类",
            )
        )
    return problems


def check_personnel_qualifications(ctx: LoadingContext) -> CheckResult:
    """Check 2: driver and escort hold valid qualification certificates for the goods' classes."""
    facts: list[str] = []
    problems = _person_problems(ctx.driver, PersonRole.DRIVER, ctx, facts)
    problems += _person_problems(ctx.escort, PersonRole.ESCORT, ctx, facts)
    return result_of(
        CheckId.PERSONNEL_QUALIFICATIONS,
        facts,
        problems,
        "driver and escort certificates are valid for these goods at loading",
        "驾驶员、押运员从业资格证在装货时有效且覆盖所运类别",
    )


def check_tank_inspection(ctx: LoadingContext) -> CheckResult:
    """Check 3: the tank is within its inspection validity at loading (the vehicle's is check 1)."""
    missing = tank_missing(ctx, CheckId.TANK_INSPECTION)
    if missing is not None:
        return missing
    assert ctx.tank is not None
    fact, problem = dated_fact(
        "tank inspection", "罐体检验", ctx.tank.number, ctx.tank.inspection_valid_until, ctx
    )
    return result_of(
        CheckId.TANK_INSPECTION,
        [fact],
        [problem] if problem else [],
        "tank is within its inspection validity at loading",
        "罐体在检验合格有效期内",
    )


def check_carrier_scope(ctx: LoadingContext) -> CheckResult:
    """Extra: the carrier's permit is valid at loading and its scope covers the goods' classes."""
    carrier = ctx.carrier
    fact, expired = dated_fact(
        "business permit",
        "道路运输经营许可证",
        carrier.permit_number,
        carrier.permit_valid_until,
        ctx,
    )
    problems = [expired] if expired else []
    uncovered = [
        c for c in ctx.goods_classes if not registry.classes_covered(carrier.permitted_classes, c)
    ]
    if uncovered:
        problems.append(
            Reason(
                "carrier_id",
                "class_not_in_scope",
                f"{carrier.name}'s permit does not cover class {', '.join(uncovered)}",
                f"{carrier.name} 的经营范围不含第 {'、'.join(uncovered)} 类",
            )
        )
    scope = " ".join(carrier.permitted_classes)
    return result_of(
        CheckId.CARRIER_SCOPE,
        [fact, f"scope {scope}; goods classes {' '.join(ctx.goods_classes)}"],
        problems,
        "carrier permit is valid and covers the goods",
        "承运人许可有效且经营范围覆盖所运货物",
    )


def check_driver_not_escort(ctx: LoadingContext) -> CheckResult:
    """Extra: driver and escort are two different people."""
    driver, escort = ctx.driver, ctx.escort
    if driver is None or escort is None:
        return not_applicable(
            CheckId.DRIVER_NOT_ESCORT,
            "driver or escort missing (see personnel check)",
            "decided by the personnel check",
            "由从业人员查验判定",
        )
    same = (driver.id is not None and driver.id == escort.id) or (
        driver.certificate_number == escort.certificate_number
    )
    problems = []
    if same:
        problems.append(
            Reason(
                "escort_id",
                "driver_is_escort",
                f"{driver.name} is both driver and escort",
                f"{driver.name} 同时担任驾驶员和押运员",
            )
        )
    return result_of(
        CheckId.DRIVER_NOT_ESCORT,
        [
            f"driver {driver.name} ({driver.certificate_number}), "
            f"escort {escort.name} ({escort.certificate_number})"
        ],
        problems,
        "driver and escort are different people",
        "驾驶员与押运员为不同人员",
    )


def _required_permits(ctx: LoadingContext) -> list[PermitKind]:
    """Return the special permits the goods need."""
    profile = ctx.profile
    needed = []
    if profile is not None and profile.is_highly_toxic:
        needed.append(PermitKind.HIGHLY_TOXIC)
    if profile is not None and profile.is_explosive:
        needed.append(PermitKind.EXPLOSIVES)
    if "7" in ctx.goods_classes:
        needed.append(PermitKind.RADIOACTIVE)
    return needed


def _permit_problems(kind: PermitKind, ctx: LoadingContext) -> list[Reason]:
    """Return why no permit of one kind covers this trip (empty when one does)."""
    name_en, name_zh = _PERMIT_NAMES[kind]
    permits = [p for p in ctx.waybill.permits if p.kind is kind]
    if not permits:
        return [
            Reason("permits", f"{kind.value}_permit_missing", f"no {name_en}", f"缺少{name_zh}")
        ]
    departure = ctx.waybill.planned_departure_at
    for permit in permits:
        start, end = permit.valid_from_at, permit.valid_until_at
        if start <= ctx.loading_at <= end and start <= departure <= end:
            return []
    return [
        Reason(
            "permits",
            f"{kind.value}_permit_window",
            f"{name_en} {', '.join(p.number for p in permits)}: its time window does not cover "
            f"loading at {ctx.loading_at.isoformat()} and departure at {departure.isoformat()}",
            f"{name_zh} {'、'.join(p.number for p in permits)} 的有效时段不覆盖装货和计划发车时间",
        )
    ]


def check_special_documents(ctx: LoadingContext) -> CheckResult:
    """Extra: 剧毒 goods, explosives and radioactive material carry a permit with route, window."""
    needed = _required_permits(ctx)
    if not needed:
        return not_applicable(
            CheckId.SPECIAL_DOCUMENTS,
            f"goods classes {' '.join(ctx.goods_classes)}, none 剧毒, explosive or radioactive",
            "no special permit needed",
            "无需专项通行证件",
        )
    problems = [problem for kind in needed for problem in _permit_problems(kind, ctx)]
    facts = [f"needed: {', '.join(kind.value for kind in needed)}"] + [
        f"{p.kind.value} permit {p.number} "
        f"{p.valid_from_at.isoformat()}–{p.valid_until_at.isoformat()}"
        for p in ctx.waybill.permits
    ]
    return result_of(
        CheckId.SPECIAL_DOCUMENTS,
        facts,
        problems,
        "special permits with route and time window cover this trip",
        "专项通行证件（含路线、时段）覆盖本次运输",
    )
