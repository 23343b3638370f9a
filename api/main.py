"""The FastAPI application: assembled here from settings, the store and one router per resource."""

from __future__ import annotations

from fastapi import FastAPI

from api import errors
from api.routes import registries, waybills
from transport.settings import Settings, get_settings
from transport.store.engine import make_engine, make_session_factory, migrate


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the application on the settings' database (migrated first when configured)."""
    settings = get_settings() if settings is None else settings
    if settings.auto_migrate:
        migrate(settings.database_url)
    app = FastAPI(title="Hazmat tracker / 危险货物道路运输监控", version="0.1.0")
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.session_factory = make_session_factory(app.state.engine)
    errors.install_error_handlers(app)
    app.include_router(registries.router)
    app.include_router(waybills.router)
    return app
