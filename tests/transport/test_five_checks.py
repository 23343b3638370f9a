"""The loading checks: each passes, fails and, where it can, does not apply; judged at loading."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.transport import fleet
from transport import five_checks, goods, waybills
from transport.five_checks import CheckId, Outcome
from transport.registry import PersonRole

C = CheckId
CATALOGUE = goods.load_builtin_catalogue()
ZONE = ZoneInfo("Asia/Shanghai")
DAY_BEFORE_LOADING = fleet.LOADING_AT.date() - timedelta(days=1)
AFTER_CREATION = fleet.CREATED_AT.date() + timedelta(days=3)  # valid at creation, not at loading
PERMIT = {
    "kind": "highly_toxic",
    "number": "粤公危剧通 2025-0001",
    "issued_by": "深圳市公安局交通警察支队",
    "route_description": "大铲湾油库—南坪快速—沙河西路—南山加油站",
    "valid_from_at": fleet.LOADING_AT - timedelta(hours=2),
    "valid_until_at": fleet.LOADING_AT + timedelta(hours=6),
}
CHLORINE = [{"un_number": "1017", "quantity": 10, "unit": "t"}]


def _report(
    *,
    carrier: dict[str, Any] | None = None,
    vehicle: dict[str, Any] | None = None,
    tank: dict[str, Any] | None = None,
    no_tank: bool = False,
    driver: dict[str, Any] | None = None,
    escort: dict[str, Any] | None = None,
    no_escort: bool = False,
    waybill: dict[str, Any] | None = None,
    loaded: list[dict[str, Any]] | str | None = "as_stated",
) -> five_checks.CheckReport:
    """Run the checks on the valid fleet with some fields changed."""
    wb = fleet.waybill(**(waybill or {}))
    wb = wb.model_copy(update={"lines": waybills.describe_lines(wb.lines, CATALOGUE)})
    if loaded == "as_stated":
        loaded_lines = wb.lines
    elif loaded is None:
        loaded_lines = None
    else:
        loaded_lines = tuple(waybills.WaybillLine.model_validate(line) for line in loaded)  # type: ignore[union-attr]
    driver_record = fleet.person(1, **({"id": 1} | (driver or {})))
    context = five_checks.LoadingContext.build(
        wb,
        carrier=fleet.carrier(**({"id": 1} | (carrier or {}))),
        vehicle=fleet.vehicle(1, id=1, **(vehicle or {})),
        tank=None if no_tank else fleet.tank(1, id=1, **(tank or {})),
        driver=driver_record,
        escort=None
        if no_escort
        else fleet.person(1, **({"role": PersonRole.ESCORT, "id": 2} | (escort or {}))),
        loading_at=fleet.LOADING_AT,
        zone=ZONE,
        loaded_lines=loaded_lines,
        catalogue=CATALOGUE,
    )
    return five_checks.run_checks(context)


def _result(report: five_checks.CheckReport, check: CheckId) -> five_checks.CheckResult:
    return next(r for r in report.results if r.check_id is check)


CASES = [
    # check 1: vehicle documents
    pytest.param(C.VEHICLE_DOCUMENTS, {}, Outcome.PASS, "valid at loading", id="vehicle-docs-pass"),
    pytest.param(
        C.VEHICLE_DOCUMENTS,
        {"vehicle": {"licence_valid_until": DAY_BEFORE_LOADING}},
        Outcome.FAIL,
        "licence XSZ",
        id="licence-expired",
    ),
    pytest.param(
        C.VEHICLE_DOCUMENTS,
        {"vehicle": {"operating_certificate_valid_until": AFTER_CREATION}},
        Outcome.FAIL,
        "operating certificate",
        id="operating-cert-expires-between-creation-and-loading",
    ),
    pytest.param(
        C.VEHICLE_DOCUMENTS,
        {"vehicle": {"operating_certificate_valid_until": fleet.LOADING_AT.date()}},
        Outcome.PASS,
        "valid at loading",
        id="operating-cert-last-day",
    ),
    # check 2: people
    pytest.param(
        C.PERSONNEL_QUALIFICATIONS, {}, Outcome.PASS, "certificates are valid", id="people-pass"
    ),
    pytest.param(
        C.PERSONNEL_QUALIFICATIONS,
        {"driver": {"certificate_valid_until": AFTER_CREATION}},
        Outcome.FAIL,
        "driver certificate",
        id="driver-cert-expires-between-creation-and-loading",
    ),
    pytest.param(
        C.PERSONNEL_QUALIFICATIONS,
        {"escort": {"permitted_classes": ("8",)}},
        Outcome.FAIL,
        "does not cover class 3",
        id="escort-class-not-covered",
    ),
    pytest.param(
        C.PERSONNEL_QUALIFICATIONS,
        {"no_escort": True},
        Outcome.FAIL,
        "no escort",
        id="escort-missing",
    ),
    pytest.param(
        C.PERSONNEL_QUALIFICATIONS,
        {"escort": {"role": PersonRole.DRIVER}},
        Outcome.FAIL,
        "registered as driver, not escort",
        id="escort-is-registered-driver",
    ),
    # check 3: tank inspection
    pytest.param(
        C.TANK_INSPECTION, {}, Outcome.PASS, "inspection validity", id="tank-inspection-pass"
    ),
    pytest.param(
        C.TANK_INSPECTION,
        {"tank": {"inspection_valid_until": DAY_BEFORE_LOADING}},
        Outcome.FAIL,
        "tank inspection TK",
        id="tank-inspection-expired",
    ),
    pytest.param(
        C.TANK_INSPECTION,
        {"no_tank": True, "vehicle": {"is_tank": False}, "waybill": {"tank_id": None}},
        Outcome.NOT_APPLICABLE,
        "no tank",
        id="tank-inspection-na-packaged",
    ),
    pytest.param(
        C.TANK_INSPECTION,
        {"no_tank": True},
        Outcome.FAIL,
        "names no tank",
        id="tank-vehicle-without-tank",
    ),
    # check 4: goods match the waybill
    pytest.param(
        C.GOODS_MATCH_WAYBILL, {}, Outcome.PASS, "loaded goods are on the waybill", id="goods-pass"
    ),
    pytest.param(
        C.GOODS_MATCH_WAYBILL,
        {"loaded": [{"un_number": "1203", "quantity": 19.5, "unit": "t"}]},
        Outcome.PASS,
        "within the stated",
        id="goods-less-than-stated",
    ),
    pytest.param(
        C.GOODS_MATCH_WAYBILL,
        {"loaded": [{"un_number": "1203", "quantity": 20_500, "unit": "kg"}]},
        Outcome.FAIL,
        "loaded 20500 kg, waybill states 20000 kg",
        id="goods-more-than-stated",
    ),
    pytest.param(
        C.GOODS_MATCH_WAYBILL,
        {"loaded": [{"un_number": "1202", "quantity": 20, "unit": "t"}]},
        Outcome.FAIL,
        "UN1202 PG - is loaded but not on the waybill",
        id="goods-other-un-number",
    ),
    pytest.param(
        C.GOODS_MATCH_WAYBILL,
        {"loaded": [{"un_number": "1203", "quantity": 20, "unit": "m3"}]},
        Outcome.FAIL,
        "loaded in m3, the waybill states t",
        id="goods-unit-mismatch",
    ),
    pytest.param(
        C.GOODS_MATCH_WAYBILL,
        {"loaded": None},
        Outcome.FAIL,
        "recorded no loaded goods",
        id="goods-not-recorded",
    ),
    # check 5: tank media
    pytest.param(C.TANK_PERMITTED_MEDIA, {}, Outcome.PASS, "on the tank's list", id="media-pass"),
    pytest.param(
        C.TANK_PERMITTED_MEDIA,
        {"tank": {"permitted_un_numbers": ("1202",)}},
        Outcome.FAIL,
        "UN1203 is not on tank",
        id="tank-not-permitted-for-medium",
    ),
    pytest.param(
        C.TANK_PERMITTED_MEDIA,
        {"no_tank": True, "vehicle": {"is_tank": False}},
        Outcome.NOT_APPLICABLE,
        "no tank",
        id="media-na-packaged",
    ),
    # extra: rated load and tank volume
    pytest.param(C.RATED_LOAD, {}, Outcome.PASS, "within rated load", id="load-pass"),
    pytest.param(
        C.RATED_LOAD,
        {"vehicle": {"rated_load_kg": 19_999}},
        Outcome.FAIL,
        "exceed the rated load of 19999 kg",
        id="overload",
    ),
    pytest.param(
        C.RATED_LOAD,
        {"waybill": {"lines": [{"un_number": "1203", "quantity": 30_000, "unit": "L"}]}},
        Outcome.FAIL,
        "without `mass_kg`",
        id="volume-without-mass",
    ),
    pytest.param(
        C.RATED_LOAD,
        {
            "waybill": {
                "lines": [{"un_number": "1203", "quantity": 45, "unit": "m3", "mass_kg": 29_000}]
            }
        },
        Outcome.FAIL,
        "exceed tank volume 40 m3",
        id="over-tank-volume",
    ),
    # extra: carrier scope
    pytest.param(C.CARRIER_SCOPE, {}, Outcome.PASS, "covers the goods", id="scope-pass"),
    pytest.param(
        C.CARRIER_SCOPE,
        {"carrier": {"permitted_classes": ("8",)}},
        Outcome.FAIL,
        "does not cover class 3",
        id="scope-class-not-covered",
    ),
    pytest.param(
        C.CARRIER_SCOPE,
        {"carrier": {"permit_valid_until": DAY_BEFORE_LOADING}},
        Outcome.FAIL,
        "business permit",
        id="carrier-permit-expired",
    ),
    # extra: driver is not escort
    pytest.param(C.DRIVER_NOT_ESCORT, {}, Outcome.PASS, "different people", id="two-people"),
    pytest.param(
        C.DRIVER_NOT_ESCORT,
        {"escort": {"id": 1}},
        Outcome.FAIL,
        "is both driver and escort",
        id="driver-is-escort-same-id",
    ),
    pytest.param(
        C.DRIVER_NOT_ESCORT,
        {"driver": {"certificate_number": "SAME"}, "escort": {"certificate_number": "SAME"}},
        Outcome.FAIL,
        "is both driver and escort",
        id="driver-is-escort-same-certificate",
    ),
    pytest.param(
        C.DRIVER_NOT_ESCORT,
        {"no_escort": True},
        Outcome.NOT_APPLICABLE,
        "personnel check",
        id="no-escort-na",
    ),
    # extra: special documents
    pytest.param(
        C.SPECIAL_DOCUMENTS,
        {},
        Outcome.NOT_APPLICABLE,
        "no special permit",
        id="fuel-needs-no-permit",
    ),
    pytest.param(
        C.SPECIAL_DOCUMENTS,
        {"waybill": {"lines": CHLORINE}},
        Outcome.FAIL,
        "no road transport pass for highly toxic",
        id="jiandu-without-permit",
    ),
    pytest.param(
        C.SPECIAL_DOCUMENTS,
        {"waybill": {"lines": CHLORINE, "permits": [PERMIT]}},
        Outcome.PASS,
        "cover this trip",
        id="jiandu-with-permit",
    ),
    pytest.param(
        C.SPECIAL_DOCUMENTS,
        {
            "waybill": {
                "lines": CHLORINE,
                "permits": [PERMIT | {"valid_until_at": fleet.LOADING_AT - timedelta(minutes=1)}],
            }
        },
        Outcome.FAIL,
        "time window does not cover",
        id="jiandu-permit-window-over",
    ),
    pytest.param(
        C.SPECIAL_DOCUMENTS,
        {"waybill": {"lines": CHLORINE, "permits": [PERMIT | {"kind": "explosives"}]}},
        Outcome.FAIL,
        "no road transport pass",
        id="jiandu-wrong-permit-kind",
    ),
]


@pytest.mark.parametrize(("check", "changes", "outcome", "text"), CASES)
def test_check(check: CheckId, changes: dict[str, Any], outcome: Outcome, text: str) -> None:
    report = _report(**changes)
    result = _result(report, check)
    assert result.outcome is outcome, result
    assert text in result.reason_en
    assert report.passed is (outcome is not Outcome.FAIL) or any(
        r.outcome is Outcome.FAIL for r in report.results if r.check_id is not check
    )


def test_valid_fleet_passes_everything() -> None:
    report = _report()
    assert report.passed and report.failed == ()
    assert [r.check_id for r in report.results] == list(CheckId)


def test_every_result_explains_itself() -> None:
    for report in (_report(), _report(vehicle={"rated_load_kg": 1}, no_escort=True, loaded=None)):
        for result in report.results:
            assert result.fact and result.reason_en and result.reason_zh and result.legal_basis
            assert result.title_en and result.title_zh


def test_a_failing_check_lists_every_reason() -> None:
    result = _result(
        _report(
            vehicle={
                "licence_valid_until": DAY_BEFORE_LOADING,
                "operating_certificate_valid_until": DAY_BEFORE_LOADING,
            }
        ),
        C.VEHICLE_DOCUMENTS,
    )
    assert [r.field for r in result.reasons] == ["licence", "operating_certificate"]
    assert "；" in result.reason_zh


def test_validity_is_judged_at_loading_not_at_creation() -> None:
    expiring = date(2025, 6, 5)
    assert fleet.CREATED_AT.date() < expiring < fleet.LOADING_AT.date()
    assert not _report(tank={"inspection_valid_until": expiring}).passed


def test_naive_loading_time_is_refused() -> None:
    wb = fleet.waybill()
    with pytest.raises(ValueError, match="timezone-aware"):
        five_checks.LoadingContext.build(
            wb, carrier=fleet.carrier(), vehicle=fleet.vehicle(1), tank=None, driver=None,
            escort=None, loading_at=fleet.LOADING_AT.replace(tzinfo=None), zone=ZONE,
            loaded_lines=None, catalogue=CATALOGUE,
        )  # fmt: skip
