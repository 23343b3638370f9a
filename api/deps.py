"""Dependencies of the API handlers as `Annotated` aliases: settings, session, catalogue, scope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from sqlalchemy.orm import Session

from transport import goods
from transport.settings import Settings
from transport.store import registries


def get_app_settings(request: Request) -> Settings:
    """Return the settings the application was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """Yield a session in one transaction: committed when the handler returns, else rolled back."""
    with request.app.state.session_factory() as session, session.begin():
        yield session


def get_catalogue() -> goods.Catalogue:
    """Return the dangerous-goods catalogue (the built-in one)."""
    return goods.load_builtin_catalogue()


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
CatalogueDep = Annotated[goods.Catalogue, Depends(get_catalogue)]


def get_carrier_scope(
    session: SessionDep, carrier_id: Annotated[int, Path(description="Carrier (tenant) id.")]
) -> int:
    """Return the carrier id of the path after checking it exists (404 otherwise).

    The one place the tenant scope enters a request; the auth issue adds the check that the
    caller belongs to this carrier (or is police).
    """
    if registries.get_carrier(session, carrier_id=carrier_id) is None:
        raise HTTPException(
            status_code=404, detail=f"carrier {carrier_id} not found / 承运人不存在"
        )
    return carrier_id


CarrierScope = Annotated[int, Depends(get_carrier_scope)]
