"""Tests of cargo profiles: tunnel-code resolution and ordering, flags, permits and bad lines."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from transport import goods
from transport._errors import CargoError
from transport.cargo import (
    RESTRICTIVENESS,
    TUNNEL_CATEGORIES,
    CargoProfile,
    CarriageType,
    GoodsLine,
    QuantityUnit,
    may_enter,
    most_restrictive,
    resolve_tunnel_code,
)
from transport.goods import GoodsEntry, TunnelCode

TANK, BULK, PACKAGES = CarriageType.TANK, CarriageType.BULK, CarriageType.PACKAGES
B, C, D, E, NONE = TunnelCode.B, TunnelCode.C, TunnelCode.D, TunnelCode.E, TunnelCode.NONE
PLAIN_CODES = (NONE, E, D, C, B)


def line(un_number: str, **fields: Any) -> GoodsLine:
    """A goods line, 20 t in a tank unless told otherwise."""
    defaults: dict[str, Any] = {"quantity": 20, "unit": "t", "carriage": "tank"}
    return GoodsLine.model_validate({"un_number": un_number, **defaults, **fields})


def synthetic_catalogue() -> goods.Catalogue:
    """One entry per tunnel code, UN 9001-9012; mass codes are class 1.1 explosives."""
    entries = [
        GoodsEntry(
            un_number=f"{9001 + index}",
            name_en=f"TEST {code.value}",
            hazard_class="1.1" if code in {TunnelCode.B1000C, TunnelCode.C5000D} else "3",
            tunnel_code=code,
        )
        for index, code in enumerate(TunnelCode)
    ]
    return goods.Catalogue(entries)


SYNTHETIC = synthetic_catalogue()
UN_OF_CODE = {entry.tunnel_code: entry.un_number for entry in SYNTHETIC}


# --- resolving Table A codes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "carriage", "mass_kg", "expected"),
    [
        (TunnelCode.B1000C, PACKAGES, 1000.0, C),
        (TunnelCode.B1000C, PACKAGES, 1000.1, B),
        (TunnelCode.B1000C, TANK, None, B),
        (TunnelCode.C5000D, PACKAGES, 5000.0, D),
        (TunnelCode.C5000D, PACKAGES, 5001.0, C),
        (TunnelCode.C5000D, PACKAGES, None, C),
        (TunnelCode.B_D, TANK, None, B),
        (TunnelCode.B_D, PACKAGES, None, D),
        (TunnelCode.C_D, BULK, None, C),
        (TunnelCode.C_E, PACKAGES, None, E),
        (TunnelCode.B_E, TANK, None, B),
        (TunnelCode.D_E, TANK, None, D),
        (TunnelCode.D_E, BULK, None, D),
        (TunnelCode.D_E, PACKAGES, None, E),
        (TunnelCode.C, PACKAGES, None, C),
        (TunnelCode.NONE, TANK, None, NONE),
    ],
    ids=["b1000c-at-limit", "b1000c-above", "b1000c-unknown", "c5000d-at-limit", "c5000d-above",
         "c5000d-unknown", "bd-tank", "bd-packages", "cd-bulk", "ce-packages", "be-tank", "de-tank",
         "de-bulk", "de-packages", "plain", "none"],
)  # fmt: skip
def test_resolve_tunnel_code(
    code: TunnelCode, carriage: CarriageType, mass_kg: float | None, expected: TunnelCode
) -> None:
    assert resolve_tunnel_code(code, carriage=carriage, net_explosive_mass_kg=mass_kg) is expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [(TunnelCode.B_D, D), (TunnelCode.C_E, E), (TunnelCode.D_E, D)],
    ids=["bd", "ce", "de"],
)
def test_bulk_counts_as_tank_only_for_codes_configured(
    code: TunnelCode, expected: TunnelCode
) -> None:
    resolved = resolve_tunnel_code(code, carriage=BULK, bulk_as_tank_codes={TunnelCode.D_E})
    assert resolved is expected


# --- ordering and tunnel entry ----------------------------------------------------------------

ENTERABLE = {
    B: "A",
    C: "AB",
    D: "ABC",
    E: "ABCD",
    NONE: "ABCDE",
}


@pytest.mark.parametrize("code", PLAIN_CODES, ids=lambda code: code.value)
@pytest.mark.parametrize("category", TUNNEL_CATEGORIES)
def test_may_enter_matches_adr_table(code: TunnelCode, category: str) -> None:
    assert may_enter(code, category) is (category in ENTERABLE[code])


@pytest.mark.parametrize(
    ("code", "category", "message"),
    [
        (B, "F", r"`category` must be one of A, B, C, D, E, got 'F'"),
        (B, "", r"`category` must be one of"),
        (TunnelCode.D_E, "C", r"tunnel code 'D/E' is combined: resolve it first"),
    ],
    ids=["unknown-category", "empty-category", "combined-code"],
)
def test_may_enter_refuses_bad_input(code: TunnelCode, category: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        may_enter(code, category)


def test_most_restrictive_of_nothing_is_none() -> None:
    assert most_restrictive([]) is NONE
    assert most_restrictive([E, NONE, C, D]) is C


@given(st.lists(st.sampled_from(PLAIN_CODES), min_size=1))
def test_most_restrictive_is_max_by_rank(codes: list[TunnelCode]) -> None:
    assert RESTRICTIVENESS[most_restrictive(codes)] == max(RESTRICTIVENESS[c] for c in codes)


@given(
    st.sampled_from(PLAIN_CODES), st.sampled_from(PLAIN_CODES), st.sampled_from(TUNNEL_CATEGORIES)
)
def test_more_restrictive_code_enters_no_more_tunnels(
    first: TunnelCode, second: TunnelCode, category: str
) -> None:
    stricter, looser = sorted((first, second), key=RESTRICTIVENESS.__getitem__, reverse=True)
    assert not may_enter(stricter, category) or may_enter(looser, category)
    assert may_enter(stricter, "A")


# --- profiles from the built-in catalogue -----------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected_code"),
    [
        ([line("1203")], D),
        ([line("1203", carriage="packages", quantity=200, unit="L")], E),
        ([line("1075")], B),
        ([line("1017")], C),
        ([line("1203"), line("1017")], C),
        ([line("1203"), line("1075", carriage="packages", quantity=50, unit="kg")], D),
        ([line("1830"), line("1789", packing_group="II")], E),
        ([line("1093")], C),
        ([line("2015", packing_group="I", name="含量>70%")], B),
        ([line("0241", carriage="packages", quantity=800, unit="kg")], C),
        ([line("0241", carriage="packages", quantity=1.2, unit="t")], B),
        ([line("0241", carriage="packages", quantity=5, unit="t", net_explosive_mass_kg=900)], C),
        ([line("0241", carriage="packages", quantity=600, unit="kg")] * 2, B),
        ([line("0332", quantity=900, unit="L")], B),
    ],
    ids=["petrol-tank", "petrol-drums", "lpg-tank", "chlorine-tank", "petrol-and-chlorine",
         "petrol-and-lpg-cylinders", "acids", "acrylonitrile", "peroxide-over-70",
         "explosive-800kg", "explosive-1.2t", "explosive-nem-given", "explosive-total-over-1000",
         "explosive-volume-unknown-mass"],
)  # fmt: skip
def test_profile_tunnel_code(lines: list[GoodsLine], expected_code: TunnelCode) -> None:
    assert CargoProfile.from_lines(lines).tunnel_code is expected_code


def test_profile_describes_its_load() -> None:
    lines = [line("1203"), line("1017"), line("2031", packing_group="I"), line("1203")]
    profile = CargoProfile.from_lines(lines, permits=["water_source_level2"])
    assert profile.lines == tuple(lines)
    assert [entry.un_number for entry in profile.entries] == ["1203", "1017", "2031", "1203"]
    assert profile.line_tunnel_codes == (D, C, E, D)
    assert profile.un_numbers == ("1203", "1017", "2031")
    assert profile.hazard_classes == ("2.3", "3", "8")
    assert profile.subsidiary_hazards == ("5.1", "8")
    assert (profile.is_highly_toxic, profile.is_explosive_precursor) == (True, True)
    assert (profile.is_explosive, profile.explosive_mass_kg) == (False, 0.0)
    assert profile.has_permit("water_source_level2")
    assert not profile.has_permit("highly_toxic_route_permit")


@pytest.mark.parametrize(
    ("un_number", "packing_group", "category", "allowed"),
    [("1203", None, "C", True), ("1203", None, "D", False), ("1075", None, "B", False),
     ("1075", None, "A", True), ("1789", "II", "D", True), ("1789", "II", "E", False)],
    ids=["petrol-C", "petrol-D", "lpg-B", "lpg-A", "hcl-D", "hcl-E"],
)  # fmt: skip
def test_profile_may_enter_tunnel(
    un_number: str, packing_group: str | None, category: str, allowed: bool
) -> None:
    profile = CargoProfile.from_lines([line(un_number, packing_group=packing_group)])
    assert profile.may_enter_tunnel(category) is allowed


def test_profile_accepts_mappings_and_is_frozen() -> None:
    profile = CargoProfile.from_lines(
        [{"un_number": "UN1203", "quantity": 30, "unit": "m3", "carriage": "tank"}]
    )
    assert profile.lines[0].unit is QuantityUnit.M3
    assert profile.lines[0].mass_kg is None
    with pytest.raises(ValidationError, match="frozen"):
        profile.tunnel_code = E


def test_profile_bulk_rule_is_configurable() -> None:
    lines = [line("1075", carriage="bulk")]
    assert CargoProfile.from_lines(lines).tunnel_code is B
    assert CargoProfile.from_lines(lines, bulk_as_tank_codes={TunnelCode.D_E}).tunnel_code is D


# --- bad lines --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "permits", "message"),
    [
        ([line("1203"), line("9999")], [], r"^lines\[1\]: UN9999 is not in the catalogue$"),
        ([], [], r"`lines` is empty"),
        ([line("3414")], [], r"lines\[0\]: UN3414 has 3 entries that differ"),
        ([{"un_number": "1203", "quantity": 0, "unit": "t", "carriage": "tank"}], [],
         r"lines\[0\]: quantity: quantity must be a finite number above 0, got 0"),
        ([{"un_number": "1203", "quantity": 1, "unit": "gal", "carriage": "ship"}], [],
         r"lines\[0\]: unit: Input should be 'kg', 'L', 't' or 'm3'; lines\[0\]: carriage:"),
        ([{"un_number": "12", "quantity": 1, "unit": "t", "carriage": "tank"}], [],
         r"lines\[0\]: un_number: UN number must be four digits, got '12'"),
        ([line("1203")], ["Water Source", "ok_permit"],
         r"permits must be snake_case names, got 'Water Source'$"),
    ],
    ids=["unknown-un", "empty", "ambiguous", "zero-quantity", "bad-enums", "bad-un", "bad-permit"],
)  # fmt: skip
def test_bad_lines_are_refused(lines: list[Any], permits: list[str], message: str) -> None:
    with pytest.raises(CargoError, match=message):
        CargoProfile.from_lines(lines, permits=permits)


def test_every_bad_line_is_named_at_once() -> None:
    lines: list[GoodsLine | dict[str, Any]] = [
        {"un_number": "1203", "quantity": -1, "unit": "t", "carriage": "tank"},
        line("1203"),
        line("0000"),
    ]
    with pytest.raises(CargoError) as caught:
        CargoProfile.from_lines(lines, permits=["BAD"])
    reasons = str(caught.value).split("; ")
    assert [reason.split(":")[0] for reason in reasons] == [
        "lines[0]",
        "lines[2]",
        "permits must be snake_case names, got 'BAD'",
    ]


def test_negative_net_explosive_mass_is_refused() -> None:
    with pytest.raises(ValidationError, match="net explosive mass must be a finite number of kg"):
        line("0241", net_explosive_mass_kg=-1)


# --- properties over a synthetic catalogue with every code ------------------------------------

lines_strategy = st.builds(
    GoodsLine,
    un_number=st.sampled_from(sorted(UN_OF_CODE.values())),
    quantity=st.floats(min_value=0.001, max_value=3000),
    unit=st.sampled_from(QuantityUnit),
    carriage=st.sampled_from(CarriageType),
    net_explosive_mass_kg=st.none() | st.floats(min_value=0, max_value=6000),
)


@given(st.lists(lines_strategy, min_size=1, max_size=6))
def test_profile_code_is_most_restrictive_line_code(lines: list[GoodsLine]) -> None:
    profile = CargoProfile.from_lines(lines, SYNTHETIC)
    ranks = [RESTRICTIVENESS[code] for code in profile.line_tunnel_codes]
    assert RESTRICTIVENESS[profile.tunnel_code] == max(ranks)
    for goods_line, entry, code in zip(
        profile.lines, profile.entries, profile.line_tunnel_codes, strict=True
    ):
        assert code is resolve_tunnel_code(
            entry.tunnel_code,
            carriage=goods_line.carriage,
            net_explosive_mass_kg=profile.explosive_mass_kg,
        )


@given(st.lists(lines_strategy, min_size=1, max_size=6), lines_strategy)
def test_adding_a_line_never_makes_a_load_less_restrictive(
    lines: list[GoodsLine], extra: GoodsLine
) -> None:
    before = CargoProfile.from_lines(lines, SYNTHETIC)
    after = CargoProfile.from_lines([*lines, extra], SYNTHETIC)
    assert RESTRICTIVENESS[after.tunnel_code] >= RESTRICTIVENESS[before.tunnel_code]
    for category in TUNNEL_CATEGORIES:
        assert not after.may_enter_tunnel(category) or before.may_enter_tunnel(category)


@given(st.lists(lines_strategy, min_size=1, max_size=6), st.randoms())
def test_line_order_does_not_change_the_code(lines: list[GoodsLine], rng: Any) -> None:
    shuffled = list(lines)
    rng.shuffle(shuffled)
    first = CargoProfile.from_lines(lines, SYNTHETIC)
    assert CargoProfile.from_lines(shuffled, SYNTHETIC).tunnel_code is first.tunnel_code
