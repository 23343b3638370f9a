"""`hazmat map live|playback|evidence|planner`: write the maps of a simulated run as HTML.

Every page is self-contained (Leaflet and plugins inlined, the road network as base layer), so
it opens from a file on a machine without internet.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from api.commands import _map_scene
from geodata import sources
from maps import evidence, layers, live, planner, playback

if TYPE_CHECKING:
    pass

app = typer.Typer(
    help="Write maps of a simulated run as offline HTML / 生成离线地图页面.",
    no_args_is_help=True,
)
console = Console(emoji=False)

OutOption = Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")]
NetworkOption = Annotated[
    str, typer.Option("--network", "-n", help="Network source (see `hazmat network`).")
]
VehiclesOption = Annotated[int, typer.Option(min=1, max=500, help="Simulated tankers.")]
SeedOption = Annotated[int, typer.Option(help="Seed of the simulation.")]


def _scene(network_source: str, vehicles: int, seed: int) -> _map_scene.MapScene:
    """Simulate the run the maps draw."""
    with console.status("Simulating and checking the fleet / 模拟并检查车队 ..."):
        return _map_scene.simulated_scene(network_source, vehicles=vehicles, seed=seed)


def _parse_at(value: str | None, default: dt.datetime) -> dt.datetime:
    """An aware moment from ISO text (naive text is read as UTC)."""
    if value is None:
        return default
    at = dt.datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def write_scene_live_map(
    scene: _map_scene.MapScene,
    out: Path,
    *,
    at: dt.datetime | None = None,
    refresh_url: str | None = None,
    static_url: str | None = None,
) -> Path:
    """Write the supervisor's live map of a scene at `at` (default: 60 % into the run)."""
    at = at or scene.live_at
    shown = live.alerts_at(scene.alerts, at=at, lookback_s=live.LiveParams().alert_lookback_s)
    in_alert = {a.vehicle_id for a, is_open in shown if is_open}
    positions = live.vehicle_positions(
        scene.fixes, at=at, vehicles=scene.vehicles, alert_vehicle_ids=in_alert
    )
    return live.write_live_map(
        out, scene.network, positions=positions,
        restrictions=layers.restrictions_of(scene.layers), alerts=scene.alerts,
        vehicles=scene.vehicles, at=at, refresh_url=refresh_url, static_url=static_url,
    )  # fmt: skip


@app.command("live")
def write_live(
    out: OutOption = Path("out/live-map.html"),
    network_source: NetworkOption = sources.DEFAULT_SOURCE,
    vehicles: VehiclesOption = 6,
    seed: SeedOption = 808,
    at: Annotated[str | None, typer.Option(help="Moment, ISO 8601 (default 60 % in).")] = None,
    refresh_url: Annotated[
        str | None, typer.Option(help="Positions GeoJSON to poll, e.g. /v1/live/positions.geojson.")
    ] = None,
) -> None:
    """Supervisor live map: vehicles by state, trails, restrictions in force, alerts."""
    scene = _scene(network_source, vehicles, seed)
    path = write_scene_live_map(
        scene, out, at=_parse_at(at, scene.live_at), refresh_url=refresh_url
    )
    console.print(f"live map / 实时监控地图: {path}")


@app.command("playback")
def write_playback(
    out: OutOption = Path("out/playback-map.html"),
    network_source: NetworkOption = sources.DEFAULT_SOURCE,
    vehicles: VehiclesOption = 6,
    seed: SeedOption = 808,
    vehicle: Annotated[str, typer.Option(help="Vehicle id, e.g. V001.")] = "V001",
) -> None:
    """Track playback of one vehicle: speed-coloured path, stops, alerts on a time slider."""
    scene = _scene(network_source, vehicles, seed)
    if vehicle not in scene.vehicles:
        console.print(f"[red]unknown vehicle / 未知车辆:[/red] {vehicle}; "
                      f"choose from {', '.join(scene.vehicles)}")  # fmt: skip
        raise typer.Exit(code=2)
    path = playback.write_playback_map(
        out, scene.network, scene.fixes_of(vehicle), vehicle=scene.vehicles[vehicle],
        alerts=[a for a in scene.alerts if a.vehicle_id == vehicle],
    )  # fmt: skip
    console.print(f"playback map / 轨迹回放地图: {path}")


@app.command("evidence")
def write_evidence(
    out: OutOption = Path("out/evidence-map.html"),
    network_source: NetworkOption = sources.DEFAULT_SOURCE,
    vehicles: VehiclesOption = 6,
    seed: SeedOption = 808,
    alert: Annotated[
        str | None, typer.Option(help="Alert id (default: the first alert on a restriction).")
    ] = None,
) -> None:
    """Alert evidence map: fixes, matched path, restriction geometry, when it began."""
    scene = _scene(network_source, vehicles, seed)
    chosen = [a for a in scene.alerts if a.alert_id == alert] if alert else [
        a for a in scene.alerts if a.evidence.restriction_id
    ] or list(scene.alerts)  # fmt: skip
    if not chosen:
        console.print(f"[red]no such alert / 无此报警:[/red] {alert or '(none raised)'}")
        raise typer.Exit(code=2)
    picked = chosen[0]
    path = evidence.write_evidence_map(
        out, scene.network, picked, restrictions=layers.restrictions_of(scene.layers),
        vehicle=scene.vehicles.get(picked.vehicle_id), track=scene.fixes_of(picked.vehicle_id),
    )  # fmt: skip
    console.print(
        f"evidence map / 报警证据地图: {path} (alert {picked.alert_id}, {picked.rule_id})"
    )


@app.command("planner")
def write_planner(
    out: OutOption = Path("out/planner-map.html"),
    network_source: NetworkOption = sources.DEFAULT_SOURCE,
    vehicles: VehiclesOption = 6,
    seed: SeedOption = 808,
    at: Annotated[str | None, typer.Option(help="Moment, ISO 8601 (default 60 % in).")] = None,
) -> None:
    """Planner view: restriction layers by kind, as in force at a moment."""
    scene = _scene(network_source, vehicles, seed)
    path = planner.write_planner_map(
        out, scene.network, layers.restrictions_of(scene.layers),
        at=_parse_at(at, scene.live_at),
    )  # fmt: skip
    console.print(f"planner map / 限行图层地图: {path}")
