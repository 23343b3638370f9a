"""`hazmat restrictions validate|list|compile`: check restriction layers and compile them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from geodata import osm_restrictions, restriction_index, restrictions, sources
from geodata._errors import NetworkSourceError, RestrictionLayerError

app = typer.Typer(
    help="Restriction layers: validate, list, compile / 限行图层：校验、列出、编译.",
    no_args_is_help=True,
)
console = Console(emoji=False)
LayersArg = Annotated[list[Path], typer.Argument(help="GeoJSON restriction layer files.")]


def _load_all(paths: list[Path]) -> list[restrictions.RestrictionLayer]:
    """Load every layer, print every problem of every file, exit 2 if any."""
    layers, failed = [], False
    for path in paths:
        try:
            layers.append(restrictions.load_layer(path))
        except RestrictionLayerError as err:
            failed = True
            for problem in err.problems or (str(err),):
                console.print(f"[red]error / 错误:[/red] {problem}", markup=True, highlight=False)
    if failed:
        raise typer.Exit(code=2)
    return layers


@app.command("validate")
def validate_layers(paths: LayersArg) -> None:
    """Check layers against format v1; name file, feature index and field of each fault."""
    layers = _load_all(paths)
    for path, layer in zip(paths, layers, strict=True):
        console.print(f"ok / 通过: {path.name}: {len(layer.features)} restrictions / 条限制")


@app.command("list")
def list_restrictions(
    paths: LayersArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """List the restrictions of layers: id, kind, schedule, cargo, severity, source."""
    rows: list[dict[str, object]] = [
        {
            "id": p.id,
            "kind": p.kind.value,
            "name": f"{p.name.zh} / {p.name.en}",
            "schedule": p.schedule
            + (f" ({len(p.date_ranges)} date ranges)" if p.date_ranges else ""),
            "cargo": _describe_cargo(p.cargo),
            "severity": p.severity.value,
            "source": p.source.kind.value + (f":{p.source.ref}" if p.source.ref else ""),
        }
        for layer in _load_all(paths)
        for p in (r.properties for r in layer.features)
    ]
    _print_rows(rows, title="Restrictions / 限制", as_json=as_json)


def _describe_cargo(cargo: restrictions.CargoSelector) -> str:
    """A short text for a cargo selector."""
    if cargo.all_dangerous_goods:
        return "all / 全部"
    parts: list[tuple[str, list[str]]] = [
        ("class", sorted(cargo.classes)),
        ("UN", sorted(cargo.un_numbers)),
        ("tunnel", sorted(cargo.tunnel_codes)),
        ("flag", sorted(cargo.flags)),
    ]
    return "; ".join(f"{name} {','.join(values)}" for name, values in parts if values)


def _print_rows(rows: list[dict[str, object]], *, title: str, as_json: bool) -> None:
    """Print rows as a table or JSON lines."""
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table(title=title)
    for column in rows[0] if rows else ["id"]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


@app.command("compile")
def compile_restrictions(
    paths: LayersArg,
    network_source: Annotated[
        str, typer.Option("--network", help="Network source (see `hazmat network build`).")
    ] = sources.DEFAULT_SOURCE,
    with_osm: Annotated[
        bool, typer.Option("--osm/--no-osm", help="Add restrictions derived from OSM tags.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Compile layers onto a network; print edges and zones per restriction and index memory."""
    layers = _load_all(paths)
    try:
        network = sources.load_network(network_source)
    except NetworkSourceError as err:
        console.print(f"[red]error / 错误:[/red] {err}")
        raise typer.Exit(code=2) from err
    if with_osm:
        layers.append(osm_restrictions.derive_layer(network))
    try:
        compiled = restriction_index.compile_layers(network, layers)
    except ValueError as err:
        console.print(f"[red]error / 错误:[/red] {err}")
        raise typer.Exit(code=2) from err
    zone_counts = np.bincount(compiled.zone_restriction_idx, minlength=len(compiled))
    edge_counts = np.bincount(compiled.edge_restriction_idx, minlength=len(compiled))
    rows: list[dict[str, object]] = [
        {
            "id": rid,
            "kind": kind.value,
            "edges": int(edge_counts[i]),
            "zones": int(zone_counts[i]),
            "corridor": rid in compiled.corridors,
        }
        for i, (rid, kind) in enumerate(zip(compiled.restriction_ids, compiled.kinds, strict=True))
    ]
    _print_rows(rows, title=f"Compiled onto / 编译到 {network.name}", as_json=as_json)
    for problem in compiled.problems:
        console.print(f"[yellow]warning / 警告:[/yellow] {problem}")
    if not as_json:
        console.print(f"index memory / 索引内存: {compiled.nbytes / 1024:.1f} KiB")
