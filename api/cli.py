"""The `hazmat` command line: one sub-command group per topic, assembled here."""

from __future__ import annotations

import logging

import typer

from api.commands import (
    check,
    demo,
    feed,
    goods,
    live,
    match,
    network,
    registry,
    restrictions,
    route,
    serve,
    users,
    waybill,
)
from api.commands import maps as map_commands

app = typer.Typer(
    help="Hazardous-goods transport tracking and route control / 危险货物道路运输监控与路线管控.",
    no_args_is_help=True,
)
# the main job
app.command("demo")(demo.run_demo)
# the map and its restrictions
app.add_typer(network.app, name="network")
app.add_typer(restrictions.app, name="restrictions")
app.command("match")(match.match_file)
app.command("check")(check.check_trip)
app.command("route")(route.route_trip)
app.add_typer(map_commands.app, name="map")
# goods, registries and waybills
app.add_typer(goods.app, name="goods")
app.add_typer(registry.app, name="registry")
app.add_typer(waybill.app, name="waybill")
# the live system
app.command("gateway")(live.gateway)
app.command("worker")(live.worker)
app.command("serve")(serve.serve_api)
app.command("replay")(feed.replay)
app.command("simulate")(feed.simulate)
app.add_typer(users.app, name="user")


@app.callback()
def configure(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress.")) -> None:
    """Set up logging for every command."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
