"""`hazmat check`: test restriction layers against recorded trips and print the alerts.

One track is checked alone; several are checked together as a fleet, so the rules that need
the other vehicles (lot capacity, segregation in lots, waiting clusters) see each other.
Each track's vehicle id is its file name without extension.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from geodata import restrictions, sources, tracks
from geodata._errors import NetworkSourceError, RestrictionLayerError, TrackError
from transport import fleet_check, track_check
from transport._errors import CargoError
from transport.cargo import CargoProfile
from transport.rules.base import VehicleContext
from transport.rules.params import RuleParams

console = Console(emoji=False)
DEFAULT_QUANTITY_T = 20.0


def _fail(message: str) -> typer.Exit:
    """Print an error in both languages and return the exit to raise."""
    console.print(f"[red]error / 错误:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code=2)


def _load_layers(paths: list[Path]) -> list[restrictions.RestrictionLayer]:
    """Load every layer; print every problem of every file and exit 2 if any."""
    layers, problems = [], []
    for path in paths:
        try:
            layers.append(restrictions.load_layer(path))
        except RestrictionLayerError as err:
            problems += [str(p) for p in err.problems] or [str(err)]
    if problems:
        for problem in problems[:-1]:
            console.print(f"[red]error / 错误:[/red] {problem}", markup=True, highlight=False)
        raise _fail(problems[-1])
    return layers


def _cargo(cargo: str, permits: list[str]) -> CargoProfile:
    """A load from ``UN1203,UN1830``: 20 t of each, in a tank."""
    codes = [c.strip().upper().removeprefix("UN") for c in cargo.split(",") if c.strip()]
    lines = [
        {"un_number": code, "quantity": DEFAULT_QUANTITY_T, "unit": "t", "carriage": "tank"}
        for code in codes
    ]
    try:
        return CargoProfile.from_lines(lines, permits=permits)
    except CargoError as err:
        msg = f"--cargo {cargo!r}: {err}"
        raise _fail(msg) from err


def check_trip(
    track_files: Annotated[
        list[Path],
        typer.Argument(help="CSV (lon, lat, time), GPX or GeoJSON; several: checked as a fleet."),
    ],
    layers: Annotated[
        list[Path], typer.Option("--layers", "-l", help="Restriction layer GeoJSON (repeat).")
    ],
    cargo: Annotated[
        str, typer.Option("--cargo", help="UN numbers of the load, e.g. UN1203,UN1830.")
    ],
    network_source: Annotated[
        str, typer.Option("--network", "-n", help="Network source (see `hazmat network`).")
    ] = sources.DEFAULT_SOURCE,
    permits: Annotated[
        list[str] | None, typer.Option("--permit", help="Permit the vehicle holds (repeat).")
    ] = None,
    corridor: Annotated[
        str | None, typer.Option("--route", help="Id of the approved_corridor to keep to.")
    ] = None,
    time_zone: Annotated[
        str, typer.Option("--tz", help="Time zone of rules and of times written without one.")
    ] = "Asia/Shanghai",
    with_osm: Annotated[
        bool, typer.Option("--osm/--no-osm", help="Add restrictions derived from OSM tags.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the alerts as JSON.")] = False,
) -> None:
    """Match tracks, run every rule and print the alerts with evidence (table or JSON)."""
    loaded = _load_layers(layers)
    load = _cargo(cargo, permits or [])
    stems = [path.stem for path in track_files]
    if len(set(stems)) < len(stems):
        msg = f"two tracks share a vehicle id (file name without extension): {', '.join(stems)}"
        raise _fail(msg)
    try:
        params = RuleParams(time_zone=time_zone)
        read = [tracks.read_track(path, naive_tz=time_zone) for path in track_files]
        network = sources.load_network(network_source)
        road = track_check.road_context(network, loaded, with_osm=with_osm)
    except (TrackError, NetworkSourceError, ValueError) as err:
        raise _fail(str(err)) from err
    for path, track in zip(track_files, read, strict=True):
        if track.fixes.empty:
            msg = f"{path.name}: no readable fixes ({len(track.rejected)} rows rejected)"
            raise _fail(msg)
    if corridor is not None and corridor not in road.compiled.corridors:
        known = ", ".join(sorted(road.compiled.corridors)) or "none"
        msg = f"--route {corridor!r} is not an approved_corridor of the layers ({known})"
        raise _fail(msg)
    approved = road.compiled.corridors[corridor] if corridor else None
    vehicles = [VehicleContext(stem, cargo=load, corridor=approved) for stem in stems]
    if len(read) == 1:
        result = track_check.check_track(network, road, vehicles[0], read[0].fixes, params=params)
    else:
        fleet = [(v, t.fixes) for v, t in zip(vehicles, read, strict=True)]
        result = fleet_check.check_fleet(network, road, fleet, params=params)
    names = ", ".join(path.name for path in track_files)
    if as_json:
        payload = {
            "tracks": [path.name for path in track_files],
            "network": network.name,
            "fixes": result.fixes,
            "matched": result.matched,
            "alerts": [track_check.alert_to_dict(a) for a in result.alerts],
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    _print_table(result, names, network.name, time_zone)


def _print_table(result: track_check.TrackCheck, track: str, network: str, tz: str) -> None:
    """The alerts as a rich table, local times."""
    console.print(
        f"tracks / 轨迹: {track}  network / 路网: {network}  fixes / 定位点: {result.fixes}  "
        f"matched / 已匹配: {result.matched}  alerts / 告警: {len(result.alerts)}"
    )
    table = Table(title="Alerts / 告警")
    for column in (
        "vehicle / 车辆", "rule / 规则", "start / 开始", "end / 结束", "place / 位置 (lon, lat)",
        "fact / 事实", "restriction / 限制", "legal basis / 依据",
    ):  # fmt: skip
        table.add_column(column)
    for alert in result.alerts:
        row = track_check.alert_to_dict(alert)
        ev = alert.evidence
        place = row["place"]
        table.add_row(
            alert.vehicle_id,
            f"{alert.rule_id}\n{ev.rule_title.zh}\n{ev.rule_title.en}",
            _local(alert.started_at, tz),
            _local(alert.ended_at, tz) if alert.ended_at else "-",
            f"{place['lon']:.5f}, {place['lat']:.5f}" if place else "-",
            f"{ev.fact.zh}\n{ev.fact.en}",
            f"{ev.restriction_id or '-'}\n{ev.schedule or ''}",
            f"{ev.legal_basis.zh}\n{ev.legal_basis.en}",
        )
    console.print(table)


def _local(at: dt.datetime, tz: str) -> str:
    """A time on the local clock, to the second."""
    return at.astimezone(zoneinfo.ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")
