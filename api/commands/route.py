"""`hazmat route`: the fastest compliant route for a load, explained (or why there is none)."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from geodata import restrictions, route_explain, routing, sources
from geodata._errors import NetworkSourceError, RestrictionLayerError
from transport import route_planning
from transport._errors import CargoError
from transport.cargo import CargoProfile
from transport.rules.base import cargo_key

console = Console(emoji=False)
LOCAL_ZONE = "Asia/Shanghai"


def _point(text: str, option: str) -> tuple[float, float]:
    """Parse ``LON,LAT``."""
    try:
        lon, lat = (float(part) for part in text.split(","))
    except ValueError as err:
        msg = f"{option} must be LON,LAT (WGS-84), got {text!r}"
        raise typer.BadParameter(msg) from err
    return lon, lat


def _depart(text: str) -> dt.datetime:
    """Parse an ISO moment; without an offset it is read in Asia/Shanghai."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as err:
        msg = f"--depart must be an ISO date-time, got {text!r}"
        raise typer.BadParameter(msg) from err
    return moment if moment.tzinfo else moment.replace(tzinfo=zoneinfo.ZoneInfo(LOCAL_ZONE))


def _fail(err: Exception) -> typer.Exit:
    """Print an error and return the exit to raise."""
    console.print(f"[red]error / 错误:[/red] {err}")
    return typer.Exit(code=2)


def route_trip(
    origin: Annotated[str, typer.Option("--from", help="Origin LON,LAT (WGS-84).")],
    destination: Annotated[str, typer.Option("--to", help="Destination LON,LAT (WGS-84).")],
    depart: Annotated[str, typer.Option("--depart", help="Departure, ISO (local if no offset).")],
    cargo: Annotated[list[str], typer.Option("--cargo", help="UN number(s) of the load.")],
    network_source: Annotated[
        str, typer.Option("--network", help="Network source (see `hazmat network`).")
    ] = sources.DEFAULT_SOURCE,
    layers: Annotated[
        list[Path] | None, typer.Option("--layers", help="Restriction layer GeoJSON files.")
    ] = None,
    permits: Annotated[
        list[str] | None, typer.Option("--permit", help="Permits held (e.g. fuel_supply).")
    ] = None,
    carriage: Annotated[str, typer.Option(help="tank, bulk or packages.")] = "tank",
    with_osm: Annotated[
        bool, typer.Option("--osm/--no-osm", help="Add restrictions derived from OSM tags.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Route a load at a departure time; explain detours, or what blocks and when to leave."""
    start, end, depart_at = _point(origin, "--from"), _point(destination, "--to"), _depart(depart)
    try:
        profile = CargoProfile.from_lines(
            [{"un_number": un, "quantity": 1, "unit": "t", "carriage": carriage} for un in cargo],
            permits=permits or (),
        )
        network = sources.load_network(network_source)
        loaded = [restrictions.load_layer(path) for path in layers or []]
        index = route_planning.routing_index(network, loaded, with_osm=with_osm)
        plan = route_explain.plan_route(index, start, end, depart_at, cargo_key(profile))
    except (CargoError, NetworkSourceError, RestrictionLayerError, routing.RoutingError) as err:
        raise _fail(err) from err
    if as_json:
        out = route_planning.plan_json(index, plan)
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        console.print(f"network / 路网: {network.name}  cargo / 货物: {', '.join(cargo)} "
                      f"(tunnel code / 隧道代码 {profile.tunnel_code.value})")  # fmt: skip
        for line in plan.explain():
            console.print(line, markup=False, highlight=False)
        for v in plan.avoided:
            console.print(
                f"  {v.entered_at:%Y-%m-%d %H:%M} ({v.lon:.5f}, {v.lat:.5f}) {v.restriction_id}: "
                f"{v.legal_basis_zh} / {v.legal_basis_en}",
                markup=False, highlight=False,
            )  # fmt: skip
    if plan.route is None:
        raise typer.Exit(code=1)
