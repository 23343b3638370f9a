"""Dependencies of the API handlers as `Annotated` aliases: settings, session, caller, scope,
road network.

`scope_of` is the one place a caller's tenant scope is decided; every store query receives it.
Roles are checked by decorator dependencies: ``dependencies=[Depends(require_role(...))]``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api import security
from geodata import sources
from geodata._errors import NetworkSourceError
from geodata.network import RoadNetwork
from transport import goods
from transport.accounts import Account, Role
from transport.settings import Settings
from transport.store import accounts

logger = logging.getLogger(__name__)
_network_lock = threading.Lock()
_BEARER = HTTPBearer(auto_error=False, description="Access token from `POST /v1/auth/token`.")
_UNAUTHENTICATED = "not authenticated: give a valid bearer token / 未认证：请提供有效令牌"


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


def get_network(request: Request) -> RoadNetwork:
    """Return the road network the API routes on and draws its maps over.

    ``app.state.network`` when the application was given one (``app.state.map_network`` is
    still read, for callers that set the old name), else the network of the settings'
    `network_source` (``HAZMAT_NETWORK``), loaded on the first request that needs it (from the
    on-disk cache after the first build) and kept for the life of the application; 503 when it
    cannot be loaded.
    """
    state = request.app.state
    network: RoadNetwork | None = getattr(state, "network", None)
    if network is not None:
        return network
    with _network_lock:
        network = getattr(state, "network", None) or getattr(state, "map_network", None)
        if network is None:
            source = get_app_settings(request).network_source
            try:
                network = sources.load_network(source)
            except NetworkSourceError as err:
                logger.error("road network %r cannot be loaded: %s", source, err)
                raise HTTPException(503, detail="road network unavailable / 路网暂不可用") from err
        state.network = network
    return network


#: Largest id a path or query accepts (PostgreSQL INTEGER), so no input overflows a column.
MAX_ID = 2**31 - 1
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="Record id.")]

SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
CatalogueDep = Annotated[goods.Catalogue, Depends(get_catalogue)]
NetworkDep = Annotated[RoadNetwork, Depends(get_network)]


def account_of_token(session: Session, token: str, *, secret_key: str) -> Account | None:
    """Return the active account a token names, None when the token or account is not valid."""
    account_id = security.read_access_token(token, secret_key=secret_key)
    account = None if account_id is None else accounts.get_account(session, account_id=account_id)
    return account if account is not None and account.is_active else None


def get_current_account(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Account:
    """Return the caller's account (401 without a valid bearer token)."""
    account = (
        None
        if credentials is None
        else account_of_token(
            session, credentials.credentials, secret_key=request.app.state.token_secret
        )
    )
    if account is None:
        raise HTTPException(401, detail=_UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})
    return account


CurrentAccount = Annotated[Account, Depends(get_current_account)]


def require_role(*roles: Role | str) -> Callable[[Account], None]:
    """Return a dependency refusing (403) callers whose role is not one of `roles`."""
    allowed = frozenset(Role(role) for role in roles)

    def _check_role(account: CurrentAccount) -> None:
        if account.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise HTTPException(
                403, detail=f"role {account.role} may not do this (allowed: {names}) / 无权限"
            )

    return _check_role


@dataclass(frozen=True)
class Scope:
    """What rows a caller may see: one carrier's, or every carrier's (narrowed to a site)."""

    carrier_id: int | None
    all_carriers: bool
    loader_site: str | None = None

    @property
    def kwargs(self) -> dict[str, Any]:
        """The scope as store keyword arguments (``carrier_id``, ``all_carriers``)."""
        return {"carrier_id": self.carrier_id, "all_carriers": self.all_carriers}

    @property
    def waybill_kwargs(self) -> dict[str, Any]:
        """The scope for waybill queries, where a loader sees the waybills of its site."""
        return self.kwargs | {"loader_site": self.loader_site}


def scope_of(account: Account) -> Scope:
    """Return the scope of an account: a carrier its own rows, a loader its site, others all.

    Roles decide which endpoints a caller reaches; the scope decides which rows it sees there.
    """
    if account.role is Role.CARRIER:
        return Scope(carrier_id=account.carrier_id, all_carriers=False)
    if account.role is Role.LOADER:
        return Scope(carrier_id=None, all_carriers=True, loader_site=account.loader_site)
    return Scope(carrier_id=None, all_carriers=True)


def get_scope(account: CurrentAccount) -> Scope:
    """Return the caller's scope."""
    return scope_of(account)


ScopeDep = Annotated[Scope, Depends(get_scope)]


def get_own_carrier(account: CurrentAccount) -> int:
    """Return the carrier a carrier account writes for (403 for callers without one)."""
    if account.role is not Role.CARRIER or account.carrier_id is None:
        raise HTTPException(403, detail="only a carrier account writes its registry / 仅承运人")
    return account.carrier_id


OwnCarrier = Annotated[int, Depends(get_own_carrier)]
