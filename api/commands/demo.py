"""`hazmat demo`: the main job on the embedded default network, end to end, with a report.

Loads the network and an illustrative restriction layer, simulates a small tanker fleet with
different loads, runs every fix through the live pipeline on the in-process bus (match, rules,
alerts, store) and prints what was driven and which alerts it raised.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from api.commands._match_report import main_roads
from geodata import sources
from geodata.matching.matcher import MatchParams
from geodata.matching.result import merge_repeats
from geodata.network import RoadNetwork
from geodata.restrictions import RestrictionLayer
from maps import live
from transport import demo_layers, track_check
from transport.alerts.lifecycle import Alert, AlertEvent
from transport.cargo import CargoProfile
from transport.matched import MatchedFix
from transport.pipeline import chain, embedded
from transport.pipeline.context import StaticDirectory
from transport.pipeline.fix_store import SqliteFixStore
from transport.rules.base import VehicleContext
from transport.settings import get_settings
from transport.simulation import SimulatedTrip, simulate_fleet, trip_fixes

console = Console(emoji=False)
DEMO_START_AT = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)  # 08:30 in Asia/Shanghai
LOCAL = ZoneInfo("Asia/Shanghai")
LIVE_MATCH_PARAMS = MatchParams(lag=2)
DEFAULT_OUT_DIR = Path("out") / "demo"
MAP_NAME = "supervisor-map.html"
# Loads of the simulated fleet, in turn: UN number (None = empty tanker) and a label.
FLEET_LOADS: tuple[tuple[str | None, str], ...] = (
    ("1203", "汽油 petrol"),
    ("1075", "液化石油气 LPG"),
    ("1017", "氯 chlorine"),
    ("1202", "柴油 diesel"),
    ("1830", "硫酸 sulphuric acid"),
    (None, "空车 empty"),
)


def run_demo(
    network_source: Annotated[
        str, typer.Option("--network", "-n", help="Network source (see `hazmat network`).")
    ] = sources.DEFAULT_SOURCE,
    vehicles: Annotated[int, typer.Option(min=1, max=500, help="Simulated tankers.")] = 6,
    interval_s: Annotated[float, typer.Option(min=1.0, help="Seconds between fixes.")] = 10.0,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 808,
    out_dir: Annotated[
        Path, typer.Option(help="Folder for the supervisor map and the fix store.")
    ] = DEFAULT_OUT_DIR,
) -> None:
    """Run simulated tankers through the live pipeline and report trips and alerts."""
    with console.status("Loading road network and restrictions / 加载路网与限行图层 ..."):
        network = sources.load_network(network_source)
        layer = demo_layers.default_demo_layer(network)
        road = track_check.road_context(network, [layer])
    _print_network(network, len(layer.features))
    trips = simulate_fleet(
        network, vehicles, seed=seed, start_at=DEMO_START_AT, interval_s=interval_s
    )
    contexts = {trip.vehicle_id: _vehicle_context(trip, i) for i, trip in enumerate(trips)}
    setup = chain.MonitoringSetup(
        network, road, StaticDirectory(contexts), LIVE_MATCH_PARAMS,
        rule_params=get_settings().rules,
    )  # fmt: skip
    fixes = [fix for trip in trips for fix in trip_fixes(trip)]
    out_dir.mkdir(parents=True, exist_ok=True)
    store_path = out_dir / "demo-fixes.sqlite"
    store_path.unlink(missing_ok=True)
    fix_store = SqliteFixStore(store_path)
    with Progress(console=console) as progress:
        task = progress.add_task("Live pipeline / 实时处理", total=len(fixes))
        run = embedded.run_embedded(
            fixes, setup, fix_store=fix_store, on_progress=lambda n: progress.advance(task, n)
        )
    stored = fix_store.count_fixes()
    fix_store.close()
    alerts = _latest_alerts(run.alert_events)
    console.print(_trip_table(network, trips, contexts, run.positions))
    console.print(_alert_table(alerts))
    console.print(
        f"fixes published / 上报: {len(fixes)}, stored / 入库: {stored}, "
        f"alert changes / 告警变化: {len(run.alert_events)}"
    )
    with console.status("Writing the supervisor map / 生成监控地图 ..."):
        map_path = _write_map(network, layer, trips, contexts, alerts, out_dir / MAP_NAME)
    console.print(f"supervisor map / 监控地图: {map_path.resolve()}")


def _write_map(
    network: RoadNetwork,
    layer: RestrictionLayer,
    trips: list[SimulatedTrip],
    contexts: dict[str, VehicleContext],
    alerts: list[Alert],
    path: Path,
) -> Path:
    """The supervisor's live map of the run, at 60 % of its span, as a self-contained page."""
    fixes = pd.concat([trip.fixes.assign(vehicle_id=trip.vehicle_id) for trip in trips])
    start, end = fixes["fix_at"].min(), fixes["fix_at"].max()
    at = (start + (end - start) * 0.6).to_pydatetime()
    vehicles = {
        trip.vehicle_id: live.VehicleInfo(
            trip.vehicle_id, trip.plate, contexts[trip.vehicle_id].waybill_id,
            FLEET_LOADS[index % len(FLEET_LOADS)][1],
        )
        for index, trip in enumerate(trips)
    }  # fmt: skip
    shown = live.alerts_at(alerts, at=at, lookback_s=live.LiveParams().alert_lookback_s)
    in_alert = {alert.vehicle_id for alert, is_open in shown if is_open}
    positions = live.vehicle_positions(fixes, at=at, vehicles=vehicles, alert_vehicle_ids=in_alert)
    return live.write_live_map(
        path, network, positions=positions, restrictions=layer.features, alerts=alerts,
        vehicles=vehicles, at=at,
    )  # fmt: skip


def _print_network(network: RoadNetwork, n_restrictions: int) -> None:
    """One line about the network and the layer."""
    summary = network.summary()
    console.print(
        f"network / 路网: {network.name}: {summary['edges']:,} edges, "
        f"{summary['length_km']:.1f} km, {summary['tunnel_edges']} tunnel and "
        f"{summary['bridge_edges']} bridge edges; "
        f"demo layer / 演示图层: {n_restrictions} restrictions"
    )


def _vehicle_context(trip: SimulatedTrip, index: int) -> VehicleContext:
    """The trip's load, taken in turn from `FLEET_LOADS`."""
    un_number, _ = FLEET_LOADS[index % len(FLEET_LOADS)]
    if un_number is None:
        return VehicleContext(trip.vehicle_id)
    line = {"un_number": un_number, "quantity": 20, "unit": "t", "carriage": "tank"}
    cargo = CargoProfile.from_lines([line])
    return VehicleContext(trip.vehicle_id, cargo=cargo, waybill_id=f"DEMO-{trip.vehicle_id}")


def _trip_table(
    network: RoadNetwork,
    trips: list[SimulatedTrip],
    contexts: dict[str, VehicleContext],
    positions: list[MatchedFix],
) -> Table:
    """Per trip: load, fixes, matched, km driven, minutes, share of the true path found, roads."""
    by_vehicle: dict[str, list[MatchedFix]] = defaultdict(list)
    for fix in positions:
        by_vehicle[fix.vehicle_id].append(fix)
    table = Table(title="Trips / 行程")
    for column in ("vehicle / 车辆", "load / 货物", "fixes / 点数", "matched / 匹配", "km",
                   "min / 分钟", "on true path / 路径吻合", "roads / 途经道路"):  # fmt: skip
        table.add_column(column)
    for index, trip in enumerate(trips):
        matched = by_vehicle[trip.vehicle_id]
        driven = merge_repeats(
            np.array([e for f in matched for e in f.driven_edge_ids], dtype=np.int64)
        )
        minutes = (matched[-1].fix_at - matched[0].fix_at).total_seconds() / 60 if matched else 0.0
        table.add_row(
            f"{trip.vehicle_id} {trip.plate}", FLEET_LOADS[index % len(FLEET_LOADS)][1],
            str(len(trip.fixes)), str(sum(f.is_matched for f in matched)),
            f"{network.edge_length_m[driven].sum() / 1000:.2f}", f"{minutes:.1f}",
            f"{_overlap_share(network, driven, trip.true_edge_ids):.0%}",
            ", ".join(main_roads(network, driven)),
        )  # fmt: skip
    return table


def _overlap_share(network: RoadNetwork, matched: np.ndarray, truth: np.ndarray) -> float:
    """Length of the true path that the match found, over the longer of the two."""
    common = np.intersect1d(matched, truth)
    longer = max(network.edge_length_m[matched].sum(), network.edge_length_m[truth].sum())
    return float(network.edge_length_m[common].sum() / longer) if longer else 0.0


def _latest_alerts(events: list[AlertEvent]) -> list[Alert]:
    """Each alert as of its latest change, in order of start."""
    latest = {event.alert.alert_id: event.alert for event in events}
    return sorted(latest.values(), key=lambda a: (a.started_at, a.vehicle_id, a.rule_id))


def _alert_table(alerts: list[Alert]) -> Table:
    """Alerts with local times, status and the deciding fact in Chinese and English."""
    table = Table(title=f"Alerts / 告警 ({len(alerts)})")
    for column in ("vehicle / 车辆", "rule / 规则", "start / 开始", "status / 状态",
                   "fact / 事实"):  # fmt: skip
        table.add_column(column)
    for alert in alerts:
        fact = alert.evidence.fact
        table.add_row(
            alert.vehicle_id, f"{alert.evidence.rule_title.zh}\n{alert.rule_id}",
            alert.started_at.astimezone(LOCAL).strftime("%H:%M:%S"), alert.status.value,
            f"{fact.zh}\n{fact.en}",
        )  # fmt: skip
    return table
