"""The fleet parking rules through the worker chain: stops shared in memory and on Redis."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from geodata import restrictions
from geodata.matching.matcher import MatchParams
from geodata.network import RoadNetwork
from tests.scenarios import drive
from tests.scenarios.conftest import scenario_network  # noqa: F401 - fixture
from tests.transport.redis_process import RedisProcess
from transport import track_check
from transport.alerts.lifecycle import AlertChange
from transport.cargo import CargoProfile
from transport.fixes import Fix
from transport.pipeline import chain, embedded, fleet_stops
from transport.pipeline.checkpoint import MemoryCheckpointStore
from transport.pipeline.context import StaticDirectory
from transport.pipeline.fix_store import SqliteFixStore
from transport.rules.base import RoadContext, VehicleContext

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
LOT_RING = [[114.0360, 22.5410], [114.0380, 22.5410], [114.0380, 22.5422], [114.0360, 22.5422]]


def lot_layer() -> restrictions.RestrictionLayer:
    """A hazmat lot for two vehicles, open all day."""
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[*LOT_RING, LOT_RING[0]]]},
        "properties": {
            "id": "lot", "kind": "parking_lot", "max_dwell_min": 120, "capacity": 2,
            "name": {"zh": "危险货物停车场", "en": "hazmat lot"},
            "legal_basis": {"zh": "测试", "en": "test"},
            "cargo": {"all_dangerous_goods": True},
            "source": {"kind": "example", "ref": "test"},
        },
    }  # fmt: skip
    return restrictions.load_layer(
        restrictions.layer_document([feature], name="lots", authority=("测试", "test"))
    )


def arrivals(network: RoadNetwork) -> list[Fix]:
    """Three petrol tankers parking 40 min in the lot, arriving 4 min apart (noisy fixes)."""
    fixes = []
    for k, vehicle_id in enumerate("ABC"):
        frame = drive.drive_fixes(
            network,
            [
                drive.WaypointPlan(114.02907, 22.54027),
                drive.WaypointPlan(114.0370, 22.54161, stop_s=2400, is_via=False),
                drive.WaypointPlan(114.04614, 22.54235),
            ],
            start_at=dt.datetime(2026, 3, 2, 10, 4 * k, tzinfo=SHANGHAI),
            interval_s=15,
            noise_m=6,
            seed=50 + k,
        )
        fixes += [
            Fix(vehicle_id, row.fix_at.to_pydatetime(), row.lon, row.lat, row.speed_kmh)
            for row in frame.itertuples()
        ]
    return fixes


def run(
    network: RoadNetwork, tmp_path: Path, stop_store: fleet_stops.StopStore | None
) -> list[tuple[str, str]]:
    """Run the three tankers through the embedded chain; return the fleet alerts opened."""
    road = track_check.road_context(network, [lot_layer()], with_osm=False)
    petrol = CargoProfile.from_lines(
        [{"un_number": "1203", "quantity": 20, "unit": "t", "carriage": "tank"}]
    )
    directory = StaticDirectory({v: VehicleContext(v, cargo=petrol) for v in "ABC"})
    setup = chain.MonitoringSetup(
        network, road, directory, MatchParams(lag=2), stop_store=stop_store
    )
    store = SqliteFixStore(tmp_path / "fixes.sqlite")
    try:
        # Batches of about two minutes of fix time: a batch sees the stops the batches before
        # it shared, as a live worker reading the bus every few seconds does.
        result = embedded.run_embedded(arrivals(network), setup, fix_store=store, batch_size=24)
    finally:
        store.close()
    return sorted(
        (e.alert.vehicle_id, e.alert.key)
        for e in result.alert_events
        if e.change is AlertChange.OPENED and e.alert.rule_id.startswith("lot_")
    )


def test_chain_reads_and_shares_stops_only_with_a_stop_store(
    network: RoadNetwork, road: RoadContext, tmp_path: Path
) -> None:
    def names(stop_store: fleet_stops.StopStore | None) -> list[str]:
        setup = chain.MonitoringSetup(
            network, road, StaticDirectory({}), MatchParams(), stop_store=stop_store
        )
        steps = chain.build_chain(
            fix_store=fix_store, checkpoints=MemoryCheckpointStore(), monitoring=setup
        )
        return [type(step).__name__ for step in steps]

    fix_store = SqliteFixStore(tmp_path / "fixes.sqlite")
    try:
        shared = names(fleet_stops.MemoryStopStore())
        alone = names(None)
    finally:
        fix_store.close()
    rules = shared.index("EvaluateRules")
    assert shared[rules - 1 : rules + 2] == ["RefreshFleet", "EvaluateRules", "PublishStops"]
    assert [n for n in shared if n not in {"RefreshFleet", "PublishStops"}] == alone


def test_third_tanker_in_a_lot_for_two_is_over_capacity_in_memory(
    scenario_network: Callable[[str], RoadNetwork],  # noqa: F811
    tmp_path: Path,
) -> None:
    network = scenario_network("shenzhen")
    assert run(network, tmp_path, None) == [("C", "capacity:lot")]


def test_third_tanker_over_capacity_with_stops_shared_on_redis(
    scenario_network: Callable[[str], RoadNetwork],  # noqa: F811
    tmp_path: Path,
    redis_server: RedisProcess,
) -> None:
    network = scenario_network("shenzhen")
    store = fleet_stops.RedisStopStore(redis_server.url, prefix="fleet-test")
    try:
        assert run(network, tmp_path, store) == [("C", "capacity:lot")]
        left = store.view(at=dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC))
        assert len(left) == 0  # every tanker drove off: their stops were withdrawn
    finally:
        store.close()
