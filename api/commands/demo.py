"""`hazmat demo`: the main job on the embedded default network, end to end, with a report.

Loads the network, simulates a small tanker fleet, matches every trip and prints what was
driven; each capability of the system adds its stage here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from api.commands._match_report import report_match
from geodata import sources
from geodata.matching.matcher import match_track
from geodata.network import RoadNetwork
from transport.simulation import SimulatedTrip, simulate_fleet

console = Console(emoji=False)
DEMO_START_AT = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)  # 08:30 in Asia/Shanghai


def run_demo(
    network_source: Annotated[
        str, typer.Option("--network", "-n", help="Network source (see `hazmat network`).")
    ] = sources.DEFAULT_SOURCE,
    vehicles: Annotated[int, typer.Option(min=1, max=500, help="Simulated tankers.")] = 6,
    interval_s: Annotated[float, typer.Option(min=1.0, help="Seconds between fixes.")] = 10.0,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 808,
) -> None:
    """Replay simulated tanker trips on a real network, match them and report what was driven."""
    with console.status("Loading road network / 加载路网 ..."):
        network = sources.load_network(network_source)
    summary = network.summary()
    console.print(
        f"network / 路网: {network.name}: {summary['edges']:,} edges, "
        f"{summary['length_km']:.1f} km, {summary['tunnel_edges']} tunnel and "
        f"{summary['bridge_edges']} bridge edges"
    )
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Simulating fleet / 模拟车队", total=None)
        trips = simulate_fleet(
            network, vehicles, seed=seed, start_at=DEMO_START_AT, interval_s=interval_s
        )
        progress.update(task, total=1, completed=1)
    table = _trip_table()
    with Progress(console=console) as progress:
        task = progress.add_task("Matching trips / 轨迹匹配", total=len(trips))
        for trip in trips:
            table.add_row(*_trip_row(network, trip))
            progress.advance(task)
    console.print(table)


def _trip_table() -> Table:
    """The report table's columns."""
    table = Table(title="Matched trips / 匹配结果")
    for column in (
        "vehicle / 车辆", "fixes / 点数", "matched / 匹配", "km", "min / 分钟",
        "on true path / 路径吻合", "roads driven / 途经道路",
    ):  # fmt: skip
        table.add_column(column)
    return table


def _trip_row(network: RoadNetwork, trip: SimulatedTrip) -> tuple[str, ...]:
    """Match one trip and describe it."""
    fixes = trip.fixes
    t = (fixes["fix_at"] - DEMO_START_AT).dt.total_seconds().to_numpy()
    result = match_track(network, fixes["x"].to_numpy(), fixes["y"].to_numpy(), t)
    report = report_match(network, result, t)
    agreement = _overlap_share(network, result.matched_edge_ids(), trip.true_edge_ids)
    return (
        f"{trip.vehicle_id} {trip.plate}", str(report.fixes), str(report.matched),
        f"{report.km:.2f}", f"{report.duration_s / 60:.1f}", f"{agreement:.0%}",
        ", ".join(report.roads),
    )  # fmt: skip


def _overlap_share(network: RoadNetwork, matched: np.ndarray, truth: np.ndarray) -> float:
    """Length of the true path that the match found, over the longer of the two."""
    common = np.intersect1d(matched, truth)
    longer = max(network.edge_length_m[matched].sum(), network.edge_length_m[truth].sum())
    return float(network.edge_length_m[common].sum() / longer) if longer else 0.0
