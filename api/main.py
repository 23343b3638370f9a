"""The FastAPI application: assembled here from settings, the store and one router per resource."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import Depends, FastAPI

from api import errors, security
from api.deps import require_role
from api.routes import (
    accounts,
    alerts,
    auth,
    live,
    maps,
    positions,
    registries,
    restrictions,
    routing,
    vehicles,
    waybills,
    whatif,
)
from transport.accounts import Role
from transport.bus.base import Bus
from transport.live_channel import LiveHub
from transport.live_relay import RedisLiveSubscriber
from transport.settings import Settings, get_settings
from transport.store.engine import make_engine, make_session_factory, migrate

logger = logging.getLogger(__name__)


def _relay_live_channel(
    url: str, hub: LiveHub
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that relays the workers' Redis live channel into `hub` while the app runs."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        subscriber = RedisLiveSubscriber(url, hub)
        app.state.live_subscriber = subscriber
        stop = asyncio.Event()
        task = asyncio.create_task(subscriber.run(stop=stop))
        try:
            yield
        finally:
            stop.set()
            await task

    return lifespan


def create_app(
    settings: Settings | None = None,
    *,
    live_hub: LiveHub | None = None,
    bus: Bus | None = None,
    live_redis_url: str | None = None,
) -> FastAPI:
    """Return the application on the settings' database (migrated first when configured).

    `live_hub` is the hub the pipeline publishes to when it runs in this process (a new one
    otherwise, on ``app.state.live_hub``). With a `bus`, the app also takes position batches
    (`POST /v1/positions`, for carriers' platforms and admins) and puts them on it. With
    `live_redis_url`, what workers publish on the Redis live channel is relayed to the hub (and
    so to the websocket) while the app runs.
    """
    settings = get_settings() if settings is None else settings
    if settings.auto_migrate:
        migrate(settings.database_url)
    hub = LiveHub() if live_hub is None else live_hub
    lifespan = _relay_live_channel(live_redis_url, hub) if live_redis_url else None
    app = FastAPI(title="Hazmat tracker / 危险货物道路运输监控", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.live_hub = hub
    if settings.auth_secret_key is None:
        logger.warning("HAZMAT_AUTH_SECRET_KEY unset: tokens are valid for this process only")
        app.state.token_secret = security.new_secret_key()
    else:
        app.state.token_secret = settings.auth_secret_key.get_secret_value()
    errors.install_error_handlers(app)
    app.include_router(auth.router)
    app.include_router(accounts.router)
    app.include_router(registries.router)
    app.include_router(vehicles.router)
    app.include_router(waybills.router)
    app.include_router(alerts.router)
    app.include_router(live.router)
    app.include_router(restrictions.router)
    app.include_router(maps.router)
    app.include_router(routing.router)
    app.include_router(whatif.router)
    if bus is not None:
        app.state.bus = bus
        app.include_router(
            positions.router, dependencies=[Depends(require_role(Role.CARRIER, Role.ADMIN))]
        )
    return app
