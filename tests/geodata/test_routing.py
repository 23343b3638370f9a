"""Compliant, time-dependent routing: window borders, tunnel codes, permits, explanations."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import numpy as np
import pytest
import shapely

from geodata import (
    restriction_index,
    restrictions,
    route_check,
    route_explain,
    route_graph,
    routing,
)
from geodata.network import RoadNetwork
from tests.geodata.routing_fixtures import box, feature, ladder, layer

SZ = zoneinfo.ZoneInfo("Asia/Shanghai")
FUEL = restriction_index.CargoKey(
    classes=frozenset({"3"}), un_numbers=frozenset({"1203"}), tunnel_code="D/E"
)
ORIGIN, TARGET = (114.00, 22.50), (114.03, 22.50)
NIGHT_BAN = feature("night-ban-12", "forbidden_segment", schedule="19:00-06:00", osm_way_ids=[12])


def build(network: RoadNetwork, *features: dict) -> route_graph.RoutingIndex:
    """Routing index of a network with the given features."""
    compiled = restriction_index.compile_layers(network, [layer(*features)] if features else [])
    return route_graph.build_routing_index(network, compiled)


def edge_of(network: RoadNetwork, u: int, v: int) -> int:
    """Edge id from node u to node v."""
    (edge,) = np.flatnonzero((network.edge_u == u) & (network.edge_v == v))
    return int(edge)


def ways(index: route_graph.RoutingIndex, route: routing.Route) -> list[int]:
    """OSM way ids along a route, repeats merged."""
    way_ids = index.network.edges["osm_way_id"].to_numpy()[route.edge_ids].tolist()
    return [w for k, w in enumerate(way_ids) if k == 0 or way_ids[k - 1] != w]


@pytest.fixture(scope="module")
def night() -> route_graph.RoutingIndex:
    """The ladder with a 19:00-06:00 ban on the main road's middle piece (way 12)."""
    return build(ladder(), NIGHT_BAN)


@pytest.mark.parametrize(
    ("arrive_local", "uses_main"),
    [("18:59", True), ("19:01", False), ("05:59", False), ("06:01", True)],
    ids=["before-ban", "ban-started", "ban-ending", "ban-ended"],
)
def test_ban_applies_at_the_moment_the_segment_is_reached(
    night: route_graph.RoutingIndex, arrive_local: str, uses_main: bool
) -> None:
    network = night.network
    to_segment_s = float(night.edge_time_s[edge_of(network, 0, 1)])
    hour, minute = map(int, arrive_local.split(":"))
    reach = dt.datetime(2025, 10, 15, hour, minute, tzinfo=SZ)
    depart = reach - dt.timedelta(seconds=to_segment_s)
    route = routing.fastest_route(night, ORIGIN, TARGET, depart, FUEL)
    assert route is not None
    assert (12 in ways(night, route)) is uses_main
    assert (
        route_check.check_route(night, route.edge_ids, depart, FUEL, entered_s=route.entered_s)
        == []
    )


def test_departure_before_ban_but_arrival_after_start_detours(
    night: route_graph.RoutingIndex,
) -> None:
    depart = dt.datetime(2025, 10, 15, 18, 59, 30, tzinfo=SZ)  # reaches way 12 after 19:00
    route = routing.fastest_route(night, ORIGIN, TARGET, depart, FUEL)
    assert route is not None and 12 not in ways(night, route)
    free = routing.fastest_route(night, ORIGIN, TARGET, depart, None)
    assert free is not None and 12 in ways(night, free)


@pytest.mark.parametrize(
    ("tunnel_code", "category", "may_pass"),
    [
        ("B", "B", False), ("B", "A", True), ("C", "B", True), ("C", "C", False),
        ("D", "C", True), ("D", "D", False), ("E", "D", True), ("E", "E", False),
        ("D/E", "D", False), ("B1000C", "B", False), (None, "E", True),
    ],
    ids=lambda v: str(v),
)  # fmt: skip
def test_tunnel_category_against_tunnel_code(
    tunnel_code: str | None, category: str, may_pass: bool
) -> None:
    index = build(ladder(tunnel_category=category))
    cargo = restriction_index.CargoKey(classes=frozenset({"3"}), tunnel_code=tunnel_code)
    depart = dt.datetime(2025, 10, 15, 12, tzinfo=SZ)
    route = routing.fastest_route(index, ORIGIN, (114.05, 22.50), depart, cargo)
    assert route is not None
    assert (23 in ways(index, route)) is may_pass
    if not may_pass:
        free = routing.fastest_route(index, ORIGIN, (114.05, 22.50), depart, None)
        assert free is not None
        broken = route_check.check_route(index, free.edge_ids, depart, cargo)
        assert [v.restriction_id for v in broken] == [f"adr-tunnel-category-{category}"]
        assert "ADR" in broken[0].name_en and "隧道" in broken[0].name_zh


@pytest.mark.parametrize(
    ("kind", "permits", "uses_main"),
    [
        ("water_source_level1", frozenset(), False),
        ("water_source_level1", frozenset({"water_source_permit"}), False),
        ("water_source_level2", frozenset(), False),
        ("water_source_level2", frozenset({"water_source_permit"}), True),
        ("water_source_belt", frozenset({"water_source_permit"}), True),
    ],
    ids=["l1", "l1-permit", "l2", "l2-permit", "belt-permit"],
)
def test_water_source_zone_by_level_and_permit(
    kind: str, permits: frozenset[str], uses_main: bool
) -> None:
    zone = feature("water", kind, geometry=box(114.013, 22.497, 114.017, 22.503))
    index = build(ladder(), zone)
    cargo = restriction_index.CargoKey(classes=frozenset({"3"}), permits=permits)
    route = routing.fastest_route(
        index, ORIGIN, TARGET, dt.datetime(2025, 10, 15, 12, tzinfo=SZ), cargo
    )
    assert route is not None and (12 in ways(index, route)) is uses_main


def test_cargo_selector_leaves_other_loads_on_the_main_road() -> None:
    gases_only = feature("gas-ban", "forbidden_segment", osm_way_ids=[12], cargo={"classes": ["2"]})
    index = build(ladder(), gases_only)
    depart = dt.datetime(2025, 10, 15, 12, tzinfo=SZ)
    lpg = restriction_index.CargoKey(classes=frozenset({"2.1"}))
    assert 12 not in ways(index, routing.fastest_route(index, ORIGIN, TARGET, depart, lpg))
    assert 12 in ways(index, routing.fastest_route(index, ORIGIN, TARGET, depart, FUEL))


def test_explanation_names_the_rule_and_the_extra_cost(night: route_graph.RoutingIndex) -> None:
    plan = route_explain.plan_route(
        night, ORIGIN, TARGET, dt.datetime(2025, 10, 15, 21, tzinfo=SZ), FUEL
    )
    assert plan.route is not None and plan.unrestricted is not None
    assert [v.restriction_id for v in plan.avoided] == ["night-ban-12"]
    (detour,) = plan.detours
    assert detour.restriction_ids == ("night-ban-12",)
    assert detour.compliant_m > detour.unrestricted_m and plan.extra_s > 0
    assert plan.extra_m == pytest.approx(detour.compliant_m - detour.unrestricted_m, abs=1.0)
    text = "\n".join(plan.explain())
    assert "测试限制 night-ban-12" in text and "Test restriction night-ban-12" in text
    assert plan.to_dict()["detours"][0]["extra_km"] > 0


def test_compliant_plan_without_restrictions_has_no_detour(
    night: route_graph.RoutingIndex,
) -> None:
    plan = route_explain.plan_route(
        night, ORIGIN, TARGET, dt.datetime(2025, 10, 15, 12, tzinfo=SZ), FUEL
    )
    assert plan.detours == () and plan.avoided == () and plan.extra_m == pytest.approx(0.0)


def test_no_route_names_the_blocking_ban_and_the_earliest_departure() -> None:
    spur_ban = feature("spur-night-ban", "forbidden_segment", schedule="19:00-06:00",
                       osm_way_ids=[38])  # fmt: skip
    index = build(ladder(), spur_ban)
    network = index.network
    depart = dt.datetime(2025, 10, 15, 22, tzinfo=SZ)
    plan = route_explain.plan_route(index, ORIGIN, (114.05, 22.50), depart, FUEL)
    assert plan.route is None
    assert [v.restriction_id for v in plan.blocking] == ["spur-night-ban"]
    to_spur_s = float(
        sum(index.edge_time_s[edge_of(network, a, b)] for a, b in ((0, 1), (1, 2), (2, 3)))
    )
    threshold = dt.datetime(2025, 10, 16, 6, tzinfo=SZ) - dt.timedelta(seconds=to_spur_s)
    assert plan.earliest_depart_at is not None
    assert threshold <= plan.earliest_depart_at <= threshold + dt.timedelta(seconds=61)
    assert plan.earliest_route is not None
    assert route_check.check_route(
        index, plan.earliest_route.edge_ids, plan.earliest_depart_at, FUEL,
        entered_s=plan.earliest_route.entered_s,
    ) == []  # fmt: skip
    assert "最早可行出发" in "\n".join(plan.explain())


def test_check_route_says_which_rule_where_and_when(night: route_graph.RoutingIndex) -> None:
    network = night.network
    path = [edge_of(network, a, b) for a, b in ((0, 1), (1, 2), (2, 3))]
    depart = dt.datetime(2025, 10, 15, 19, 30, tzinfo=SZ)
    (violation,) = route_check.check_route(night, np.array(path), depart, FUEL)
    assert violation.restriction_id == "night-ban-12"
    assert violation.edge_ids == (path[1],)
    assert violation.entered_at == depart + dt.timedelta(seconds=float(night.edge_time_s[path[0]]))
    assert (violation.lon, violation.lat) == pytest.approx((114.01, 22.50), abs=1e-6)


def test_drawn_line_is_snapped_to_roads_and_checked(night: route_graph.RoutingIndex) -> None:
    line = shapely.LineString([(114.0005, 22.5001), (114.015, 22.4999), (114.0295, 22.5001)])
    edges, violations = route_check.check_line(
        night, line, dt.datetime(2025, 10, 15, 23, tzinfo=SZ), FUEL
    )
    assert ways(night, routing.Route(edges, np.zeros(len(edges)), dt.datetime.now(SZ), 0, 0)) == [
        1, 12, 23,
    ]  # fmt: skip
    assert [v.restriction_id for v in violations] == ["night-ban-12"]


def test_naive_departure_and_far_point_are_refused(night: route_graph.RoutingIndex) -> None:
    with pytest.raises(ValueError, match="`depart_at` must be timezone-aware"):
        routing.fastest_route(night, ORIGIN, TARGET, dt.datetime(2025, 10, 15), FUEL)  # noqa: DTZ001
    with pytest.raises(routing.RoutingError, match="no road within 500 m"):
        routing.snap_point(night, 115.0, 23.0)


def test_active_intervals_follow_schedule_changes() -> None:
    layer_ = layer(NIGHT_BAN)
    start = dt.datetime(2025, 10, 15, 12, tzinfo=SZ)
    intervals = route_graph.active_intervals(layer_.features[0], start, 24 * 3600.0)
    assert intervals.tolist() == [[7 * 3600.0, 18 * 3600.0]]


@pytest.fixture(scope="module")
def shenzhen_index(shenzhen: RoadNetwork) -> route_graph.RoutingIndex:
    """Shenzhen with the demo layer."""
    demo = restrictions.load_layer("geodata/examples/shenzhen_demo_layer.geojson")
    compiled = restriction_index.compile_layers(shenzhen, [demo])
    return route_graph.build_routing_index(shenzhen, compiled)


@pytest.mark.parametrize(
    ("local", "permits", "detours"),
    [
        ("2025-10-15T08:00", frozenset(), True),
        ("2025-10-15T12:00", frozenset(), False),
        ("2025-10-15T08:00", frozenset({"police_route_permit"}), False),
        ("2025-10-01T08:00", frozenset(), False),  # National Day: PH off
    ],
    ids=["rush-hour", "midday", "permit", "holiday"],
)
def test_shenzhen_rush_hour_zone_is_avoided_only_when_in_force(
    shenzhen_index: route_graph.RoutingIndex, local: str, permits: frozenset[str], detours: bool
) -> None:
    cargo = restriction_index.CargoKey(classes=frozenset({"3"}), permits=permits)
    depart = dt.datetime.fromisoformat(local).replace(tzinfo=SZ)
    plan = route_explain.plan_route(
        shenzhen_index, (113.975, 22.52), (114.065, 22.545), depart, cargo
    )
    assert plan.route is not None
    ids = {rid for d in plan.detours for rid in d.restriction_ids}
    assert ("demo-futian-centre-rush-hour-ban" in ids) is detours
    assert route_check.check_route(
        shenzhen_index, plan.route.edge_ids[1:-1], depart, cargo,
        entered_s=plan.route.entered_s[1:-1],
    ) == []  # fmt: skip
