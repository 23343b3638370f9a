"""Registry records: plates, classes, media and validity read at one moment in Beijing time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from tests.transport import fleet
from transport import registry
from transport.registry import Validity

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        pytest.param("粤B12345", "粤B12345", id="plain"),
        pytest.param(" 粤 b·12345 ", "粤B12345", id="spaces-dot-lowercase"),
        pytest.param("粤BD12345", "粤BD12345", id="new-energy"),
        pytest.param("粤B1234挂", "粤B1234挂", id="trailer"),
    ],
)
def test_plate_is_normalised(text: str, plate: str) -> None:
    assert registry.normalise_plate(text) == plate


@pytest.mark.parametrize("text", ["B12345", "粤12345", "粤B123", "XX12345"])
def test_bad_plate_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a Chinese number plate"):
        registry.normalise_plate(text)


@pytest.mark.parametrize(
    ("permitted", "hazard_class", "covered"),
    [
        pytest.param(("2",), "2.3", True, id="class-covers-division"),
        pytest.param(("2.1",), "2.3", False, id="other-division"),
        pytest.param(("3", "8"), "8", True, id="exact"),
        pytest.param(("1",), "1.1", True, id="explosives"),
        pytest.param(("2",), "2", True, id="same-token"),
    ],
)
def test_classes_covered(permitted: tuple[str, ...], hazard_class: str, covered: bool) -> None:
    assert registry.classes_covered(permitted, hazard_class) is covered


def test_validity_is_read_on_the_beijing_date() -> None:
    until = date(2025, 6, 9)
    late_utc = datetime(2025, 6, 9, 15, 59, tzinfo=UTC)  # 23:59 in Beijing, still the 9th
    next_day = datetime(2025, 6, 9, 16, 0, tzinfo=UTC)  # 00:00 on the 10th in Beijing
    assert registry.validity_on(until, late_utc, ZONE) is Validity.VALID
    assert registry.validity_on(until, next_day, ZONE) is Validity.EXPIRED


def test_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="`at` must be timezone-aware"):
        registry.local_date(datetime(2025, 6, 9, 8, 0), ZONE)  # noqa: DTZ001


def test_tank_media_accept_text_and_prefix() -> None:
    tank = fleet.tank(1, permitted_un_numbers="UN1203, 1202 1203")
    assert tank.permitted_un_numbers == ("1203", "1202")


def test_vehicle_names_every_bad_field() -> None:
    with pytest.raises(ValidationError) as caught:
        fleet.vehicle(1, plate="nope", rated_load_kg=0, terminal_phone="abc")
    fields = {error["loc"][0] for error in caught.value.errors()}
    assert fields == {"plate", "rated_load_kg", "terminal_phone"}


@pytest.mark.parametrize(
    "classes", [pytest.param("", id="empty"), pytest.param("3 10", id="unknown-class")]
)
def test_person_classes_are_checked(classes: str) -> None:
    with pytest.raises(ValidationError, match="permitted_classes"):
        fleet.person(1, permitted_classes=classes)


def test_carrier_classes_from_text() -> None:
    assert fleet.carrier(permitted_classes="2，3;8").permitted_classes == ("2", "3", "8")
