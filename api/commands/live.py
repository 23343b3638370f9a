"""`hazmat gateway` and `hazmat worker`: the live pipeline's processes.

With ``--redis`` the gateway only publishes and workers run as their own processes
(``hazmat worker --shards 0,1``); without it the gateway runs on the in-process bus with an
embedded worker storing fixes to the SQLite file ``--db``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from pathlib import Path
from typing import Annotated

import typer

from transport.bus import batching, memory, redis_streams
from transport.gateway import jt808_server
from transport.pipeline import checkpoint, fix_store, service

logger = logging.getLogger(__name__)

DEFAULT_DB = Path("hazmat-fixes.sqlite")

RedisOption = Annotated[
    str | None,
    typer.Option(
        "--redis",
        envvar="HAZMAT_REDIS_URL",
        help="Redis URL of the production bus; without it the in-process bus / 进程内总线.",
    ),
]
ShardCountOption = Annotated[
    int, typer.Option("--n-shards", min=1, help="Shard streams of the deployment (all agree).")
]
DbOption = Annotated[Path, typer.Option("--db", help="SQLite file the fixes are stored in.")]
PrefixOption = Annotated[str, typer.Option("--prefix", help="Redis key prefix.")]


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set `stop` on SIGINT and SIGTERM."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def parse_shards(text: str, n_shards: int) -> list[int]:
    """Return the shards of ``0,1,3`` or ``all``; exit with a message when one is out of range."""
    if text == "all":
        return list(range(n_shards))
    try:
        shards = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as err:
        msg = f"--shards takes numbers like 0,1 or `all`, got {text!r}"
        raise typer.BadParameter(msg) from err
    if not shards or shards[0] < 0 or shards[-1] >= n_shards:
        msg = f"--shards must lie in 0..{n_shards - 1}, got {text!r}"
        raise typer.BadParameter(msg)
    return shards


def gateway(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 8808,
    redis_url: RedisOption = None,
    n_shards: ShardCountOption = 4,
    db: DbOption = DEFAULT_DB,
    idle_timeout_s: Annotated[float, typer.Option(help="Close silent connections.")] = 180.0,
    max_connections: Annotated[int, typer.Option(help="Refuse connections beyond.")] = 20_000,
) -> None:
    """Run the JT/T 808 gateway / 运行 JT/T 808 接入网关."""
    options = jt808_server.ServerOptions(
        idle_timeout_s=idle_timeout_s, max_connections=max_connections
    )
    asyncio.run(_serve_gateway(host, port, options, redis_url=redis_url, n_shards=n_shards, db=db))


async def _serve_gateway(
    host: str,
    port: int,
    options: jt808_server.ServerOptions,
    *,
    redis_url: str | None,
    n_shards: int,
    db: Path,
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down in order."""
    stop = asyncio.Event()
    stop_on_signals(stop)
    bus: memory.MemoryBus | redis_streams.RedisStreamsBus
    embedded: asyncio.Task[object] | None = None
    if redis_url:
        bus = redis_streams.RedisStreamsBus(redis_url, n_shards=n_shards)
    else:
        bus = memory.MemoryBus(n_shards=n_shards)
        embedded = asyncio.create_task(
            service.run_worker(
                bus.consumer(range(n_shards), name="embedded"),
                fix_store=fix_store.SqliteFixStore(db),
                checkpoints=checkpoint.MemoryCheckpointStore(),
                stop=stop,
            )
        )
    publisher = batching.BatchingPublisher(bus)
    server = jt808_server.Jt808Server(publisher, options=options)
    await server.start(host, port)
    typer.echo(f"JT/T 808 gateway on {host}:{server.port} ({'redis' if redis_url else 'embedded'})")
    await stop.wait()
    await server.shutdown()
    await publisher.close()
    if embedded is not None:
        await embedded
    await bus.close()


def worker(
    shards: Annotated[str, typer.Option(help="Shards to own, e.g. 0,1 or all.")] = "all",
    redis_url: RedisOption = None,
    n_shards: ShardCountOption = 4,
    db: DbOption = DEFAULT_DB,
    name: Annotated[str | None, typer.Option(help="Consumer name (unique).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Fixes per batch.")] = 500,
    lease_ttl_ms: Annotated[int, typer.Option(min=100, help="Shard lease time.")] = 10_000,
    claim_idle_ms: Annotated[
        int | None, typer.Option(help="Claim others' pending messages idle this long.")
    ] = None,
    prefix: PrefixOption = "hazmat",
) -> None:
    """Run a pipeline worker on the Redis bus / 运行流水线处理进程."""
    if not redis_url:
        msg = "a worker process needs --redis (or HAZMAT_REDIS_URL)"
        raise typer.BadParameter(msg)
    owned = parse_shards(shards, n_shards)
    consumer_name = name or f"{socket.gethostname()}-{os.getpid()}"
    asyncio.run(
        _run_worker(
            redis_url, owned, n_shards=n_shards, db=db, name=consumer_name,
            batch_size=batch_size, lease_ttl_ms=lease_ttl_ms, claim_idle_ms=claim_idle_ms,
            prefix=prefix,
        )
    )  # fmt: skip


async def _run_worker(
    redis_url: str,
    shards: list[int],
    *,
    n_shards: int,
    db: Path,
    name: str,
    batch_size: int,
    lease_ttl_ms: int,
    claim_idle_ms: int | None,
    prefix: str,
) -> None:
    """Consume until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    stop_on_signals(stop)
    bus = redis_streams.RedisStreamsBus(redis_url, n_shards=n_shards, prefix=prefix)
    consumer = bus.consumer(
        shards, name=name, lease_ttl_ms=lease_ttl_ms, claim_idle_ms=claim_idle_ms
    )
    store = fix_store.SqliteFixStore(db)
    checkpoints = checkpoint.RedisCheckpointStore(redis_url, prefix=prefix)
    typer.echo(f"worker {name} for shards {shards} of {n_shards}", err=True)
    try:
        stats = await service.run_worker(
            consumer, fix_store=store, checkpoints=checkpoints, stop=stop, batch_size=batch_size
        )
        typer.echo(f"worker {name} stopped: {stats.summary()}", err=True)
    finally:
        checkpoints.close()
        store.close()
        await bus.close()
