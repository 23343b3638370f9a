"""Tests for geodata.restrictions: the layer format, its schema, selectors and validity."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import shapely

from geodata import restrictions
from geodata._errors import RestrictionLayerError

EXAMPLE = Path(restrictions.__file__).parent / "examples" / "shenzhen_demo_layer.geojson"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def example_dict() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def by_id(layer: restrictions.RestrictionLayer, rid: str) -> restrictions.Restriction:
    return next(r for r in layer.features if r.properties.id == rid)


def test_example_layer_loads_and_is_marked_illustrative() -> None:
    layer = restrictions.load_layer(EXAMPLE)
    assert layer.hazmat_layer_version == 1
    assert len(layer.features) == 5
    assert {r.properties.source.kind for r in layer.features} == {"example"}
    kinds = {r.properties.kind for r in layer.features}
    assert {"forbidden_segment", "zone", "water_source_level1", "no_parking_zone"} <= kinds
    box = shapely.box(113.98, 22.51, 114.06, 22.57)
    assert all(box.covers(r.shape) for r in layer.features)


def test_load_layer_accepts_a_dict() -> None:
    assert restrictions.load_layer(example_dict()) == restrictions.load_layer(EXAMPLE)


IN_FORCE_CASES = [
    pytest.param(
        "demo-expressway-night-ban", (2025, 10, 9, 18, 59, 59), False, id="night-18:59:59"
    ),
    pytest.param("demo-expressway-night-ban", (2025, 10, 9, 19, 0), True, id="night-19:00"),
    pytest.param("demo-expressway-night-ban", (2025, 10, 10, 6, 0), False, id="night-06:00"),
    pytest.param("demo-futian-centre-rush-hour-ban", (2025, 10, 9, 8, 0), True, id="rush-thu"),
    pytest.param("demo-futian-centre-rush-hour-ban", (2025, 10, 1, 8, 0), False, id="rush-ph"),
    pytest.param("demo-futian-centre-rush-hour-ban", (2025, 9, 28, 8, 0), True, id="rush-adjusted"),
    pytest.param("demo-water-source-level1", (2025, 1, 1, 3, 0), True, id="water-always"),
    pytest.param("demo-national-day-2026-ban", (2026, 9, 30, 23, 59), False, id="nd-before"),
    pytest.param("demo-national-day-2026-ban", (2026, 10, 1, 0, 0), True, id="nd-first"),
    pytest.param("demo-national-day-2026-ban", (2026, 10, 7, 23, 59), True, id="nd-last"),
    pytest.param("demo-national-day-2026-ban", (2026, 10, 8, 0, 0), False, id="nd-after"),
]


@pytest.mark.parametrize(("rid", "local", "expected"), IN_FORCE_CASES)
def test_is_in_force(rid: str, local: tuple[int, ...], expected: bool) -> None:
    restriction = by_id(restrictions.load_layer(EXAMPLE), rid)
    assert restriction.is_in_force(dt.datetime(*local, tzinfo=SHANGHAI)) is expected


def test_validity_dates_bound_the_schedule() -> None:
    raw = example_dict()
    raw["features"][2]["properties"] |= {"valid_from": "2025-01-01", "valid_to": "2025-12-31"}
    water = by_id(restrictions.load_layer(raw), "demo-water-source-level1")
    assert water.is_in_force(dt.datetime(2024, 12, 31, 15, 59, tzinfo=dt.UTC)) is False
    assert water.is_in_force(dt.datetime(2024, 12, 31, 16, 0, tzinfo=dt.UTC)) is True
    assert water.is_in_force(dt.datetime(2025, 12, 31, 23, 59, tzinfo=SHANGHAI)) is True
    assert water.is_in_force(dt.datetime(2026, 1, 1, 0, 0, tzinfo=SHANGHAI)) is False
    with pytest.raises(ValueError, match="`at` must be timezone-aware"):
        water.is_in_force(dt.datetime(2025, 6, 1))  # noqa: DTZ001


def test_layer_in_force_lists_restrictions_in_order() -> None:
    layer = restrictions.load_layer(EXAMPLE)
    ids = [r.properties.id for r in layer.in_force(dt.datetime(2026, 10, 1, 20, tzinfo=SHANGHAI))]
    assert ids == [
        "demo-expressway-night-ban",
        "demo-water-source-level1",
        "demo-nanshan-no-parking",
        "demo-national-day-2026-ban",
    ]


def broken_layer() -> dict[str, Any]:
    raw = example_dict()
    raw["hazmat_layer_version"] = 2
    features = raw["features"]
    features[0]["properties"]["severity"] = "fatal"
    features[0]["properties"]["cargo"] = {"classes": ["2.9"], "un_numbers": ["12"]}
    features[1]["properties"]["osm_way_ids"] = [123]
    features[2]["geometry"]["coordinates"][0][-1] = [114.0, 22.6]
    features[3]["properties"]["schedule"] = "Mo-Fr 25:00-26:00"
    features[3]["properties"]["buffer_m"] = 50
    features[3]["properties"]["schedlue"] = "24/7"
    features[4]["properties"]["id"] = features[0]["properties"]["id"]
    features[4]["properties"]["valid_to"] = "2026-08-01"
    return raw


EXPECTED_PROBLEMS = [
    (None, "hazmat_layer_version", "Input should be 1"),
    (0, "properties.severity", "Input should be 'info', 'warning', 'violation' or 'critical'"),
    (0, "properties.cargo.classes.0", "String should match pattern"),
    (0, "properties.cargo.un_numbers.0", "String should match pattern"),
    (1, "geometry", "give a geometry or properties.osm_way_ids, not both"),
    (2, "geometry", "polygon ring is not closed"),
    (3, "properties.schedule", "invalid opening_hours 'Mo-Fr 25:00-26:00'"),
    (3, "properties.buffer_m", "only for kind dense_area"),
    (3, "properties.schedlue", "Extra inputs are not permitted"),
    (4, "properties.id", "duplicate id 'demo-expressway-night-ban'"),
    (4, "properties.valid_to", "before valid_from (2026-08-01 < 2026-09-01)"),
]


def test_malformed_layer_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "layer.geojson"
    path.write_text(json.dumps(broken_layer()), encoding="utf-8")
    with pytest.raises(RestrictionLayerError) as caught:
        restrictions.load_layer(path)
    found = [(p.feature_index, p.field, p.message) for p in caught.value.problems]
    for index, field, message in EXPECTED_PROBLEMS:
        assert any(i == index and f == field and message in m for i, f, m in found), (
            index,
            field,
            message,
            found,
        )
    assert len(found) == len(EXPECTED_PROBLEMS)
    text = str(caught.value)
    assert "layer.geojson: feature 3: properties.schedule: invalid opening_hours " in text
    assert "'Mo-Fr 25:00-26:00'" in text
    assert "layer.geojson: hazmat_layer_version: Input should be 1" in text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        pytest.param(
            {"kind": "dense_area"},
            "properties.buffer_m",
            "required for kind dense_area",
            id="buffer",
        ),
        pytest.param(
            {"kind": "parking_lot"},
            "properties.max_dwell_min",
            "required for kind parking_lot",
            id="dwell",
        ),
        pytest.param(
            {"capacity": 4}, "properties.capacity", "only for kind parking_lot", id="capacity"
        ),
        pytest.param(
            {"kind": "parking_lot", "max_dwell_min": 60, "capacity": 0},
            "properties.capacity",
            "greater than 0",
            id="capacity-zero",
        ),
        pytest.param(
            {"kind": "parking_lot", "max_dwell_min": 60, "capacity": 2.5},
            "properties.capacity",
            "valid integer",
            id="capacity-fraction",
        ),
        pytest.param(
            {"kind": "approved_corridor", "width_m": 50},
            "geometry.type",
            "takes LineString, not Polygon",
            id="geom",
        ),
        pytest.param({"direction": "forward"}, "properties.direction", "only with", id="direction"),
        pytest.param({"cargo": {}}, "properties.cargo", "selects no cargo", id="empty-cargo"),
        pytest.param(
            {"time_zone": "Asia/Nowhere"}, "properties.time_zone", "unknown time zone", id="zone"
        ),
        pytest.param(
            {"schedule": "PH Mo-Fr 08:00-10:00"},
            "properties.schedule",
            "unsupported use of PH",
            id="ph",
        ),
        pytest.param(
            {"date_ranges": [{"first": "2026-10-07", "last": "2026-10-01"}]},
            "properties.date_ranges.0",
            "date range ends before it starts",
            id="range",
        ),
    ],
)
def test_single_fault_names_feature_and_field(
    change: dict[str, Any], field: str, message: str
) -> None:
    raw = example_dict()
    raw["features"][2]["properties"] |= change
    _assert_one_fault(raw, 2, field, message)


def _assert_one_fault(raw: dict[str, Any], index: int, field: str, message: str) -> None:
    """Loading `raw` fails with exactly one problem, naming feature `index` and `field`."""
    with pytest.raises(RestrictionLayerError) as caught:
        restrictions.load_layer(raw)
    assert [(p.file, p.feature_index, p.field) for p in caught.value.problems] == [
        ("<layer>", index, field)
    ]
    assert message in caught.value.problems[0].message


def test_parking_lot_capacity_is_read_and_optional() -> None:
    raw = example_dict()
    lot = {"kind": "parking_lot", "max_dwell_min": 360}
    raw["features"][2]["properties"] |= lot | {"capacity": 12}
    raw["features"][3]["properties"] |= lot
    raw["features"][3]["properties"].pop("buffer_m", None)
    layer = restrictions.load_layer(raw)
    assert [r.properties.capacity for r in layer.features[2:4]] == [12, None]


def test_feature_without_geometry_or_ways_is_refused() -> None:
    raw = example_dict()
    raw["features"][0]["geometry"] = None
    with pytest.raises(RestrictionLayerError, match="feature 0: geometry: give a geometry"):
        restrictions.load_layer(raw)


def test_forbidden_segment_by_osm_ways_with_direction_loads() -> None:
    raw = example_dict()
    raw["features"][0]["geometry"] = None
    raw["features"][0]["properties"] |= {"osm_way_ids": [4321, 4322], "direction": "forward"}
    raw["features"][0]["properties"]["source"] = {"kind": "osm", "ref": "4321"}
    restriction = restrictions.load_layer(raw).features[0]
    assert restriction.shape is None
    assert restriction.properties.direction == "forward"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("{not json", "cannot read layer", id="not-json"),
        pytest.param("[]", "Input should be a valid dictionary", id="not-an-object"),
    ],
)
def test_unreadable_file_is_one_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RestrictionLayerError, match=f"^bad.geojson: .*{message}"):
        restrictions.load_layer(path)


def test_committed_schema_matches_the_models() -> None:
    committed = json.loads(restrictions.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert committed == restrictions.layer_json_schema()
    assert committed["properties"]["hazmat_layer_version"] == {"const": 1, "type": "integer"} | {
        k: v for k, v in committed["properties"]["hazmat_layer_version"].items() if k == "title"
    }


@dataclass(frozen=True)
class Cargo:
    classes: frozenset[str]
    un_numbers: frozenset[str] = frozenset()
    tunnel_code: str | None = None
    is_highly_toxic: bool = False
    is_explosive: bool = False
    is_explosive_precursor: bool = False


PROPANE = Cargo(frozenset({"2.1"}), frozenset({"1978"}), "B/D")
CHLORINE = Cargo(frozenset({"2.3", "5.1", "8"}), frozenset({"1017"}), "C/D", is_highly_toxic=True)
PETROL = Cargo(frozenset({"3"}), frozenset({"1203"}), "D/E")
AMMONIUM_NITRATE = Cargo(frozenset({"5.1"}), frozenset({"1942"}), "E", is_explosive_precursor=True)

SELECTOR_CASES = [
    pytest.param({"all_dangerous_goods": True}, PETROL, True, id="all"),
    pytest.param({"classes": ["2"]}, PROPANE, True, id="class-2-covers-2.1"),
    pytest.param({"classes": ["2"]}, CHLORINE, True, id="class-2-covers-2.3"),
    pytest.param({"classes": ["2.1"]}, CHLORINE, False, id="2.1-not-2.3"),
    pytest.param({"classes": ["2.1"]}, PROPANE, True, id="division-exact"),
    pytest.param({"classes": ["5"]}, AMMONIUM_NITRATE, True, id="class-5-covers-5.1"),
    pytest.param({"classes": ["3"]}, PROPANE, False, id="other-class"),
    pytest.param({"un_numbers": ["1203", "1202"]}, PETROL, True, id="un-number"),
    pytest.param({"un_numbers": ["1202"]}, PETROL, False, id="other-un-number"),
    pytest.param({"tunnel_codes": ["B", "B/D", "C"]}, PROPANE, True, id="tunnel-code"),
    pytest.param({"tunnel_codes": ["B", "C"]}, PETROL, False, id="tunnel-code-not-listed"),
    pytest.param({"flags": ["highly_toxic"]}, CHLORINE, True, id="highly-toxic"),
    pytest.param({"flags": ["highly_toxic"]}, PETROL, False, id="not-toxic"),
    pytest.param({"flags": ["explosive_precursor"]}, AMMONIUM_NITRATE, True, id="precursor"),
    pytest.param({"flags": ["explosive"], "classes": ["3"]}, PETROL, True, id="any-criterion"),
]


@pytest.mark.parametrize(("selector", "cargo", "expected"), SELECTOR_CASES)
def test_selector_applies_to(selector: dict[str, Any], cargo: Cargo, expected: bool) -> None:
    chosen = restrictions.CargoSelector.model_validate(selector)
    assert chosen.applies_to(cargo) is expected
    flags = {
        name
        for name in ("highly_toxic", "explosive", "explosive_precursor")
        if getattr(cargo, f"is_{name}")
    }
    plain = chosen.applies_to_values(
        cargo.classes, un_numbers=cargo.un_numbers, tunnel_code=cargo.tunnel_code, flags=flags
    )
    assert plain is expected


def test_models_are_frozen() -> None:
    restriction = restrictions.load_layer(EXAMPLE).features[0]
    with pytest.raises(Exception, match="frozen"):
        restriction.properties.severity = "info"  # type: ignore[misc]


def test_restriction_validates_on_its_own() -> None:
    feature = example_dict()["features"][0]
    feature["properties"]["kind"] = "dense_area"
    with pytest.raises(ValueError, match=r"properties\.buffer_m: required for kind dense_area"):
        restrictions.Restriction.model_validate(feature)


def _ring(lon0: float, lat0: float, lon1: float, lat1: float) -> list[list[float]]:
    return [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]


def service_area(**props: Any) -> dict[str, Any]:
    """An expressway service area feature, 0.004° square, in a layer dict."""
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [_ring(114.0, 22.5, 114.004, 22.504)]},
        "properties": {
            "id": "sa",
            "kind": "service_area",
            "name": {"zh": "服务区", "en": "service area"},
            "legal_basis": {"zh": "依据", "en": "basis"},
            "cargo": {"all_dangerous_goods": True},
            "source": {"kind": "example"},
            **props,
        },
    }
    return restrictions.layer_document([feature], name="sa", authority=("测试", "test"))


def test_service_area_stay_defaults_to_45_min_and_takes_its_own() -> None:
    default = restrictions.load_layer(service_area()).features[0].properties
    own = restrictions.load_layer(service_area(max_dwell_min=60)).features[0].properties
    assert default.max_dwell_min == restrictions.SERVICE_AREA_MAX_DWELL_MIN == 45.0
    assert own.max_dwell_min == 60


def test_service_area_bays_as_polygon_or_multipolygon() -> None:
    bays = {
        "type": "MultiPolygon",
        "coordinates": [
            [_ring(114.0005, 22.5005, 114.001, 22.501)],
            [_ring(114.002, 22.5005, 114.0025, 22.501)],
        ],
    }
    (area,) = restrictions.load_layer(service_area(hazmat_bays=bays)).features
    assert area.properties.hazmat_bays is not None
    assert area.properties.hazmat_bays.type == "MultiPolygon"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        pytest.param(
            {
                "hazmat_bays": {
                    "type": "Polygon",
                    "coordinates": [_ring(114.01, 22.5, 114.02, 22.51)],
                }
            },
            "properties.hazmat_bays",
            "not inside the service area's polygon",
            id="bays-outside",
        ),
        pytest.param(
            {
                "hazmat_bays": {
                    "type": "Polygon",
                    "coordinates": [
                        [*_ring(114.001, 22.501, 114.002, 22.502)[:-1], [114.0015, 22.5015]]
                    ],
                }
            },
            "properties.hazmat_bays",
            "polygon ring is not closed",
            id="bay-ring-open",
        ),
        pytest.param(
            {
                "hazmat_bays": {
                    "type": "LineString",
                    "coordinates": [[114.001, 22.501], [114.002, 22.502]],
                }
            },
            "properties.hazmat_bays",
            "does not match any of the expected tags",
            id="bay-line",
        ),
        pytest.param(
            {
                "kind": "parking_lot",
                "max_dwell_min": 60,
                "hazmat_bays": {
                    "type": "Polygon",
                    "coordinates": [_ring(114.001, 22.501, 114.002, 22.502)],
                },
            },
            "properties.hazmat_bays",
            "only for kind service_area",
            id="bays-on-a-lot",
        ),
        pytest.param(
            {"kind": "zone", "max_dwell_min": 60},
            "properties.max_dwell_min",
            "only for kind parking_lot, service_area",
            id="dwell-on-a-zone",
        ),
    ],
)
def test_service_area_fault_names_file_feature_and_field(
    change: dict[str, Any], field: str, message: str
) -> None:
    raw = service_area()
    raw["features"][0]["properties"] |= change
    _assert_one_fault(raw, 0, field, message)
