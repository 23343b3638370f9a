"""`hazmat serve`: run the HTTP API (and its live websocket) with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from api.main import create_app
from transport.bus import factory


def serve_api(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    redis_url: Annotated[
        str | None,
        typer.Option(
            "--redis",
            envvar="HAZMAT_REDIS_URL",
            help="Redis of the workers: bus for POST /v1/positions and live channel.",
        ),
    ] = None,
    n_shards: Annotated[int, typer.Option(min=1, help="Shards of the Redis bus.")] = 4,
) -> None:
    """Serve the API on the configured database (HAZMAT_DATABASE_URL); OpenAPI at /docs."""
    bus = factory.open_bus("redis", redis_url=redis_url, n_shards=n_shards) if redis_url else None
    app = create_app(bus=bus, live_redis_url=redis_url)
    uvicorn.run(app, host=host, port=port, log_level="info")
