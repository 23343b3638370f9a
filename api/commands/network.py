"""`hazmat network build|info`: build road networks from OSM sources and describe them."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from geodata import sources
from geodata._errors import NetworkSourceError
from geodata.network import RoadNetwork

app = typer.Typer(help="Road networks from OpenStreetMap / 由 OSM 构建路网.", no_args_is_help=True)
console = Console(emoji=False)

SourceArg = Annotated[
    str,
    typer.Argument(
        help="`default` (Helsinki, embedded), a .osm.pbf/.osm[.gz|.bz2]/.json/.graphml file, "
        "`place:NAME` or `bbox:W,S,E,N` (online)."
    ),
]


def _load(source: str, *, use_cache: bool) -> RoadNetwork:
    """Load a network or exit with a clear message."""
    try:
        with console.status(f"Loading network {source} / 加载路网 ..."):
            return sources.load_network(source, use_cache=use_cache)
    except NetworkSourceError as err:
        console.print(f"[red]error / 错误:[/red] {err}")
        raise typer.Exit(code=2) from err


@app.command("build")
def build_network(
    source: SourceArg = sources.DEFAULT_SOURCE,
    rebuild: Annotated[bool, typer.Option(help="Ignore a cached copy and build again.")] = False,
) -> None:
    """Build a network and store it in the cache (see HAZMAT_CACHE_DIR)."""
    if rebuild:
        network = _load(source, use_cache=False)
        sources.write_cached(network, sources.cache_dir() / network.source_hash)
    else:
        network = _load(source, use_cache=True)
    console.print(f"built / 已构建: {network!r}")
    console.print(f"cache / 缓存: {sources.cache_dir() / network.source_hash}")


@app.command("info")
def show_network_info(
    source: SourceArg = sources.DEFAULT_SOURCE,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print counts of edges, km, bridges, tunnels, tunnel categories and hazmat tags."""
    summary = _load(source, use_cache=True).summary()
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Road network / 路网: {summary['name']}")
    table.add_column("what / 项目")
    table.add_column("value / 数值", justify="right")
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        table.add_row(key, str(value))
    console.print(table)
