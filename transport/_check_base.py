"""Shared parts of the loading checks: outcomes, check ids, the loading context and results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from transport import registry
from transport.cargo import CargoProfile
from transport.reasons import Reason, join_en, join_zh
from transport.registry import Validity

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from transport import goods
    from transport.registry import Carrier, Person, Tank, Vehicle
    from transport.waybills import Waybill, WaybillLine


class Outcome(StrEnum):
    """Result of one check."""

    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"


class CheckId(StrEnum):
    """The five checks, then the extra checks, in the order they are run and shown."""

    VEHICLE_DOCUMENTS = "vehicle_documents"
    PERSONNEL_QUALIFICATIONS = "personnel_qualifications"
    TANK_INSPECTION = "tank_inspection"
    GOODS_MATCH_WAYBILL = "goods_match_waybill"
    TANK_PERMITTED_MEDIA = "tank_permitted_media"
    RATED_LOAD = "rated_load"
    CARRIER_SCOPE = "carrier_scope"
    DRIVER_NOT_ESCORT = "driver_not_escort"
    SPECIAL_DOCUMENTS = "special_documents"


#: (English, Chinese) title of each check.
CHECK_TITLES: Mapping[CheckId, tuple[str, str]] = {
    CheckId.VEHICLE_DOCUMENTS: (
        "vehicle licence and operating certificate", "查车辆行驶证和道路运输证"),
    CheckId.PERSONNEL_QUALIFICATIONS: (
        "driver and escort qualifications", "查驾驶员、押运员从业资格证"),
    CheckId.TANK_INSPECTION: ("tank inspection validity", "查罐体检验合格有效期"),
    CheckId.GOODS_MATCH_WAYBILL: ("goods match the waybill", "查所装货物与运单是否一致"),
    CheckId.TANK_PERMITTED_MEDIA: (
        "goods on the tank's media list", "查所装货物是否在罐体适装介质列表内"),
    CheckId.RATED_LOAD: ("within rated load and tank volume", "不超核定载质量和罐体容积"),
    CheckId.CARRIER_SCOPE: ("carrier permit covers the goods", "承运人经营范围覆盖所运货物"),
    CheckId.DRIVER_NOT_ESCORT: ("driver and escort are two people", "驾驶员与押运员不是同一人"),
    CheckId.SPECIAL_DOCUMENTS: (
        "special permits (剧毒, explosives, radioactive)", "剧毒/爆炸/放射性物品专项证件"),
}  # fmt: skip

_BASIS_FIVE = "Order 29 Art 23 (装货人查验); 五必查 wording [unconfirmed]"
_BASIS: Mapping[CheckId, str] = {
    CheckId.VEHICLE_DOCUMENTS: _BASIS_FIVE,
    CheckId.PERSONNEL_QUALIFICATIONS: _BASIS_FIVE,
    CheckId.TANK_INSPECTION: _BASIS_FIVE,
    CheckId.GOODS_MATCH_WAYBILL: _BASIS_FIVE,
    CheckId.TANK_PERMITTED_MEDIA: "Order 29 Art 23; Regulation 591 Art 47",
    CheckId.RATED_LOAD: "Order 29 Art 23; Regulation 591 Art 47 (核定载质量)",
    CheckId.CARRIER_SCOPE: "Order 29 Art 22 (经营范围)",
    CheckId.DRIVER_NOT_ESCORT: "Order 29 (驾驶员与押运员分设) [practice]",
    CheckId.SPECIAL_DOCUMENTS: "Regulation 591 (剧毒化学品道路运输通行证); Order 29",
}


@dataclass(frozen=True)
class LoadingContext:
    """Everything the checks read, as found at the loading site.

    ``loaded_lines`` are the goods actually being loaded as the loader records them; None
    means the loader recorded nothing, and the goods check fails. ``profile`` is the cargo
    profile of the waybill's lines; None when they do not resolve in the catalogue.
    """

    waybill: Waybill
    carrier: Carrier
    vehicle: Vehicle
    tank: Tank | None
    driver: Person | None
    escort: Person | None
    loading_at: datetime
    zone: ZoneInfo
    loaded_lines: tuple[WaybillLine, ...] | None
    profile: CargoProfile | None

    @classmethod
    def build(
        cls,
        waybill: Waybill,
        *,
        carrier: Carrier,
        vehicle: Vehicle,
        tank: Tank | None,
        driver: Person | None,
        escort: Person | None,
        loading_at: datetime,
        zone: ZoneInfo,
        loaded_lines: Sequence[WaybillLine] | None,
        catalogue: goods.Catalogue,
    ) -> LoadingContext:
        """Return a context with the cargo profile of the waybill computed from the catalogue."""
        registry.local_date(loading_at, zone)  # refuses a naive loading time early
        try:
            profile = CargoProfile.from_lines(
                [line.to_goods_line() for line in waybill.lines], catalogue
            )
        except ValueError:
            profile = None
        return cls(
            waybill=waybill,
            carrier=carrier,
            vehicle=vehicle,
            tank=tank,
            driver=driver,
            escort=escort,
            loading_at=loading_at,
            zone=zone,
            loaded_lines=None if loaded_lines is None else tuple(loaded_lines),
            profile=profile,
        )

    @property
    def loading_date_text(self) -> str:
        """The loading date in the local zone, for facts."""
        return f"{registry.local_date(self.loading_at, self.zone).isoformat()} ({self.zone.key})"

    @property
    def goods_classes(self) -> tuple[str, ...]:
        """Primary classes of the waybill's goods."""
        return tuple(dict.fromkeys(line.hazard_class or "?" for line in self.waybill.lines))


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's outcome, the facts that decided it and the reasons in Chinese and English."""

    check_id: CheckId
    outcome: Outcome
    fact: str
    reason_en: str
    reason_zh: str
    legal_basis: str
    reasons: tuple[Reason, ...] = field(default=())

    @property
    def title_en(self) -> str:
        """English title of the check."""
        return CHECK_TITLES[self.check_id][0]

    @property
    def title_zh(self) -> str:
        """Chinese title of the check."""
        return CHECK_TITLES[self.check_id][1]


@dataclass(frozen=True, slots=True)
class CheckReport:
    """All check results of one loading check run, in :data:`CHECKS` order."""

    loading_at: datetime
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        """Whether loading may go on: no check failed."""
        return all(result.outcome is not Outcome.FAIL for result in self.results)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        """The failed checks."""
        return tuple(result for result in self.results if result.outcome is Outcome.FAIL)


def result_of(
    check_id: CheckId, facts: Sequence[str], problems: Sequence[Reason], ok_en: str, ok_zh: str
) -> CheckResult:
    """Return fail with every problem, or pass with the given texts."""
    if problems:
        return CheckResult(
            check_id,
            Outcome.FAIL,
            "; ".join(facts),
            join_en(problems),
            join_zh(problems),
            _BASIS[check_id],
            tuple(problems),
        )
    return CheckResult(check_id, Outcome.PASS, "; ".join(facts), ok_en, ok_zh, _BASIS[check_id])


def not_applicable(check_id: CheckId, fact: str, en: str, zh: str) -> CheckResult:
    """Return a not-applicable result."""
    return CheckResult(check_id, Outcome.NOT_APPLICABLE, fact, en, zh, _BASIS[check_id])


def dated_fact(
    what_en: str, what_zh: str, number: str, valid_until: date, ctx: LoadingContext
) -> tuple[str, Reason | None]:
    """Return the fact about one dated document and a reason when it has expired at loading."""
    until = valid_until.isoformat()
    fact = f"{what_en} {number} valid until {until}, loading on {ctx.loading_date_text}"
    if registry.validity_on(valid_until, ctx.loading_at, ctx.zone) is Validity.VALID:
        return fact, None
    return fact, Reason(
        what_en.replace(" ", "_"),
        "expired",
        f"{what_en} {number} expired on {until}, before loading on {ctx.loading_date_text}",
        f"{what_zh} {number} 有效期至 {until}，装货日 {ctx.loading_date_text} 已过期",
    )


def tank_missing(ctx: LoadingContext, check_id: CheckId) -> CheckResult | None:
    """Return n/a when no tank is involved, fail when a tank vehicle has none, else None."""
    if ctx.tank is not None:
        return None
    if not ctx.vehicle.is_tank:
        return not_applicable(
            check_id,
            f"vehicle {ctx.vehicle.plate} is not a tank vehicle and the waybill names no tank",
            "no tank: goods travel in packages or bulk",
            "无罐体：货物为包装件或散装",
        )
    problem = Reason(
        "tank_id",
        "missing",
        f"tank vehicle {ctx.vehicle.plate} but the waybill names no tank",
        f"罐式车辆 {ctx.vehicle.plate}，但运单未填写罐体",
    )
    return result_of(
        check_id, [f"vehicle {ctx.vehicle.plate} is a tank vehicle"], [problem], "", ""
    )
