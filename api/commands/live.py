"""`hazmat gateway` and `hazmat worker`: the live pipeline's processes.

With ``--redis`` the gateway only publishes (and sends the drivers' reminders queued for it),
keeps the terminals' registrations in Redis for every gateway of the deployment, and workers
run as their own processes (``hazmat worker --shards 0,1``); without it the gateway
runs on the in-process bus with an embedded worker storing fixes to the SQLite file ``--db``.
A worker given ``--network`` (and ``--layers``) also matches, runs the rules and records alerts
in ``--database``, records the drivers' reminder steps from the Redis reminder log in the
alerts' history (`transport.reminder_recorder`) and the e-waybills terminals uploaded
(`transport.waybill_upload_recorder`); without ``--network`` neither is recorded.
A gateway keeps ``{prefix}:gateway:{id}:alive`` fresh (``--alive-ttl-s``): workers queue no
reminder for a vehicle whose gateway has stopped refreshing it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.commands._heap import settle_heap
from geodata import restrictions, sources
from geodata.matching.matcher import MatchParams
from transport import reminder_recorder, reminders, waybill_upload_recorder
from transport.bus import batching, memory, redis_streams
from transport.gateway import jt808_server, redis_terminal_registry, reminder_desk
from transport.pipeline import (
    chain,
    checkpoint,
    fix_store,
    live_monitoring,
    runner,
    service,
    warm_up,
)
from transport.settings import get_settings
from transport.store.engine import migrate

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from transport.stream_recorder import StreamRecorder

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
DEFAULT_MATCH_LAG = 2
DEFAULT_COMMIT_INTERVAL_MS = 1_000  # a vehicle seen in several batches is checkpointed once
DEFAULT_READ_LINGER_MS = 100  # at most ten batches a second at light load
DEFAULT_FORGET_IDLE_S = 3_600.0  # a vehicle parked, its terminal off, or moved to another worker


def default_name() -> str:
    """A process name unique on this deployment: host and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


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
    gateway_id: Annotated[
        str | None, typer.Option(help="Id of this gateway for driver reminders (unique).")
    ] = None,
    prefix: PrefixOption = "hazmat",
    alive_ttl_s: Annotated[
        float, typer.Option(help="Seconds this gateway counts as alive without a refresh.")
    ] = reminders.ALIVE_TTL_S,
    alive_refresh_s: Annotated[
        float, typer.Option(help="Seconds between refreshes of the alive key.")
    ] = reminders.ALIVE_REFRESH_S,
    publish_linger_ms: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Wait this long for more fixes to share a bus round trip (delays replies).",
        ),
    ] = batching.DEFAULT_LINGER_S * 1000,
    reuse_port: Annotated[
        bool,
        typer.Option(
            "--reuse-port",
            help="Share the port with other gateway processes on this host (SO_REUSEPORT; "
            "needs --redis, give each its own --gateway-id).",
        ),
    ] = False,
) -> None:
    """Run the JT/T 808 gateway / 运行 JT/T 808 接入网关."""
    if reuse_port and not redis_url:
        msg = "--reuse-port needs --redis: gateways sharing a port share registrations and bus"
        raise typer.BadParameter(msg)
    try:
        liveness = reminders.Liveness(alive_ttl_s, alive_refresh_s)
    except ValueError as err:
        msg = "--alive-refresh-s must be positive and shorter than --alive-ttl-s"
        raise typer.BadParameter(msg) from err
    options = jt808_server.ServerOptions(
        idle_timeout_s=idle_timeout_s, max_connections=max_connections
    )
    asyncio.run(
        _serve_gateway(
            host, port, options, redis_url=redis_url, n_shards=n_shards, db=db,
            gateway_id=gateway_id or default_name(), prefix=prefix, liveness=liveness,
            publish_linger_s=publish_linger_ms / 1000, reuse_port=reuse_port,
        )
    )  # fmt: skip


async def _serve_gateway(
    host: str,
    port: int,
    options: jt808_server.ServerOptions,
    *,
    redis_url: str | None,
    n_shards: int,
    db: Path,
    gateway_id: str,
    prefix: str,
    liveness: reminders.Liveness,
    publish_linger_s: float,
    reuse_port: bool,
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down in order."""
    stop = asyncio.Event()
    stop_on_signals(stop)
    bus: memory.MemoryBus | redis_streams.RedisStreamsBus
    embedded: asyncio.Task[object] | None = None
    if redis_url:
        bus = redis_streams.RedisStreamsBus(redis_url, n_shards=n_shards, prefix=prefix)
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
    publisher = batching.BatchingPublisher(bus, linger_s=publish_linger_s)
    registry = (
        redis_terminal_registry.RedisTerminalRegistry(redis_url, prefix=prefix)
        if redis_url
        else None  # the server's in-memory registry
    )
    server = jt808_server.Jt808Server(publisher, registry=registry, options=options)
    desk = None
    if redis_url:
        desk = reminder_desk.ReminderDesk(
            server, redis_url, gateway_id=gateway_id, prefix=prefix, liveness=liveness
        )
        await desk.start()
    settle_heap()
    await server.start(host, port, reuse_port=reuse_port)
    typer.echo(f"JT/T 808 gateway on {host}:{server.port} ({'redis' if redis_url else 'embedded'})")
    await stop.wait()
    await server.shutdown()
    if desk is not None:
        await desk.close()
    await publisher.close()
    if registry is not None:
        await registry.close()
    if embedded is not None:
        await embedded
    await bus.close()


def worker(
    shards: Annotated[str, typer.Option(help="Shards to own, e.g. 0,1 or all.")] = "all",
    redis_url: RedisOption = None,
    n_shards: ShardCountOption = 4,
    db: DbOption = DEFAULT_DB,
    name: Annotated[str | None, typer.Option(help="Consumer name (unique).")] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Fixes read per shard into one batch (at most).")
    ] = runner.DEFAULT_BATCH_SIZE,
    lease_ttl_ms: Annotated[int, typer.Option(min=100, help="Shard lease time.")] = 10_000,
    claim_idle_ms: Annotated[
        int | None, typer.Option(help="Claim others' pending messages idle this long.")
    ] = None,
    commit_interval_ms: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Checkpoint and acknowledge this often (default: a third of the claim idle "
            "time, at most 1 s; at most half of it).",
        ),
    ] = None,
    prefix: PrefixOption = "hazmat",
    network_source: Annotated[
        str | None,
        typer.Option("--network", help="Network source: match and run the rules on it."),
    ] = None,
    layers: Annotated[
        list[Path] | None, typer.Option("--layers", help="Restriction layer GeoJSON (repeat).")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="Database of waybills, alerts and tracks (default: HAZMAT_DATABASE_URL).",
        ),
    ] = None,
    store_track: Annotated[
        bool, typer.Option("--track/--no-track", help="Store matched positions as track points.")
    ] = True,
    match_lag: Annotated[
        int, typer.Option(min=0, help="Fixes the online matcher waits for before deciding.")
    ] = DEFAULT_MATCH_LAG,
    context_ttl_s: Annotated[
        float, typer.Option(min=0.0, help="Seconds a vehicle's waybill context is reused.")
    ] = 30.0,
    alert_update_interval_s: Annotated[
        float,
        typer.Option(min=0.0, help="Fix time between two writes of an open alert's updates."),
    ] = live_monitoring.DEFAULT_UPDATE_INTERVAL_S,
    fleet_view_max_age_s: Annotated[
        float,
        typer.Option(
            min=0.0, help="Seconds one read of the fleet's stops serves further batches (0: none)."
        ),
    ] = live_monitoring.DEFAULT_FLEET_VIEW_MAX_AGE_S,
    read_linger_ms: Annotated[
        int,
        typer.Option(
            min=0,
            help="Read at most this often unless a read comes back full (fewer, larger "
            "batches at light load; 0: read again at once).",
        ),
    ] = DEFAULT_READ_LINGER_MS,
    forget_idle_s: Annotated[
        float,
        typer.Option(
            min=1.0,
            help="Drop a vehicle silent this long from memory (its checkpoint restores it).",
        ),
    ] = DEFAULT_FORGET_IDLE_S,
) -> None:
    """Run a pipeline worker on the Redis bus / 运行流水线处理进程."""
    if not redis_url:
        msg = "a worker process needs --redis (or HAZMAT_REDIS_URL)"
        raise typer.BadParameter(msg)
    if layers and network_source is None:
        msg = "--layers needs --network"
        raise typer.BadParameter(msg)
    owned = parse_shards(shards, n_shards)
    consumer_name = name or default_name()
    commit_interval_s = _commit_interval_s(
        commit_interval_ms, lease_ttl_ms // 2 if claim_idle_ms is None else claim_idle_ms
    )
    monitoring = None
    if network_source is not None:
        monitoring = _open_monitoring(
            network_source, layers or [], database_url=database_url, redis_url=redis_url,
            prefix=prefix, store_track=store_track, match_lag=match_lag,
            context_ttl_s=context_ttl_s, update_interval_s=alert_update_interval_s,
            fleet_view_max_age_s=fleet_view_max_age_s,
        )  # fmt: skip
    try:
        if monitoring is not None:  # compiled before the first read takes the shards' leases
            warm_up.warm_up_matching(monitoring.setup.network, monitoring.setup.match_params)
        settle_heap()  # what is loaded and compiled by now lives as long as the worker
        asyncio.run(
            _run_worker(
                redis_url, owned, n_shards=n_shards, db=db, name=consumer_name,
                batch_size=batch_size, lease_ttl_ms=lease_ttl_ms, claim_idle_ms=claim_idle_ms,
                commit_interval_s=commit_interval_s, linger_s=read_linger_ms / 1000,
                forget_idle_s=forget_idle_s, prefix=prefix,
                monitoring=monitoring.setup if monitoring else None,
                history=monitoring.session_factory if monitoring else None,
            )
        )  # fmt: skip
    finally:
        if monitoring is not None:
            monitoring.close()


def _commit_interval_s(commit_interval_ms: int | None, claim_idle_ms: int) -> float:
    """The worker's commit interval: well under the claim idle time, or the worker would
    claim back its own fixes that wait for the commit."""
    if commit_interval_ms is None:
        return min(DEFAULT_COMMIT_INTERVAL_MS, claim_idle_ms // 3) / 1000
    if commit_interval_ms > claim_idle_ms // 2:
        msg = (
            f"--commit-interval-ms {commit_interval_ms} must be at most half the claim idle "
            f"time ({claim_idle_ms} ms)"
        )
        raise typer.BadParameter(msg)
    return commit_interval_ms / 1000


def _open_monitoring(
    network_source: str,
    layer_paths: list[Path],
    *,
    database_url: str | None,
    redis_url: str,
    prefix: str,
    store_track: bool,
    match_lag: int,
    context_ttl_s: float,
    update_interval_s: float,
    fleet_view_max_age_s: float,
) -> live_monitoring.LiveMonitoring:
    """Load the network and layers, open the database; exit with a message on bad input."""
    settings = get_settings()
    url = database_url or settings.database_url
    try:
        network = sources.load_network(network_source)
        layers = [restrictions.load_layer(path) for path in layer_paths]
    except (OSError, ValueError) as err:  # network source and layer errors refine ValueError
        raise typer.BadParameter(str(err)) from err
    if settings.auto_migrate:
        migrate(url)
    return live_monitoring.open_monitoring(
        network, layers, database_url=url, redis_url=redis_url,
        match_params=MatchParams(lag=match_lag), prefix=prefix, store_track=store_track,
        context_ttl_s=context_ttl_s, update_interval_s=update_interval_s,
        rule_params=settings.rules, fleet_view_max_age_s=fleet_view_max_age_s,
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
    commit_interval_s: float,
    linger_s: float,
    forget_idle_s: float,
    prefix: str,
    monitoring: chain.MonitoringSetup | None,
    history: sessionmaker[Session] | None = None,
) -> None:
    """Consume until SIGINT or SIGTERM; with `history`, record the reminder log beside."""
    stop = asyncio.Event()
    stop_on_signals(stop)
    bus = redis_streams.RedisStreamsBus(redis_url, n_shards=n_shards, prefix=prefix)
    consumer = bus.consumer(
        shards, name=name, lease_ttl_ms=lease_ttl_ms, claim_idle_ms=claim_idle_ms
    )
    store = fix_store.SqliteFixStore(db)
    checkpoints = checkpoint.RedisCheckpointStore(redis_url, prefix=prefix)
    mode = "monitoring" if monitoring is not None else "store only"
    typer.echo(f"worker {name} for shards {shards} of {n_shards} ({mode})", err=True)
    recorders: list[StreamRecorder[Any, Any]] = []
    if history is not None:
        recorders = [
            reminder_recorder.ReminderRecorder(redis_url, history, consumer=name, prefix=prefix),
            waybill_upload_recorder.WaybillUploadRecorder(
                redis_url, history, consumer=name, prefix=prefix
            ),
        ]
    recording = [asyncio.create_task(r.run(stop=stop), name=r.group) for r in recorders]
    try:
        stats = await service.run_worker(
            consumer, fix_store=store, checkpoints=checkpoints, stop=stop,
            batch_size=batch_size, commit_interval_s=commit_interval_s, linger_s=linger_s,
            forget_idle_s=forget_idle_s, monitoring=monitoring,
        )  # fmt: skip
        typer.echo(f"worker {name} stopped: {stats.summary()}", err=True)
    finally:
        stop.set()
        for recorder, task in zip(recorders, recording, strict=True):
            await task
            typer.echo(f"{recorder.group} {name}: {dict(recorder.stats)}", err=True)
        checkpoints.close()
        store.close()
        await bus.close()
