"""Accounts: admins create and list the users of the system."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api import security
from api.deps import RecordId, SessionDep, require_role
from api.errors import found
from api.schemas.accounts import AccountCreate, AccountPublic
from transport.accounts import Role
from transport.store import accounts

router = APIRouter(
    prefix="/v1/accounts", tags=["accounts"], dependencies=[Depends(require_role(Role.ADMIN))]
)


@router.post("", status_code=201)
def create_account(session: SessionDep, body: AccountCreate) -> AccountPublic:
    """Create an account; a carrier account names its carrier, a loader account its site."""
    account = accounts.add_account(
        session,
        username=body.username,
        password_hash=security.hash_password(body.password),
        role=body.role,
        carrier_id=body.carrier_id,
        loader_site=body.loader_site,
        display_name=body.display_name,
    )
    return AccountPublic.of(account)


@router.get("")
def read_accounts(
    session: SessionDep, role: Annotated[Role | None, Query()] = None
) -> list[AccountPublic]:
    """List every account, optionally of one role."""
    return [AccountPublic.of(a) for a in accounts.list_accounts(session, role=role)]


@router.get("/{account_id}")
def read_account(session: SessionDep, account_id: RecordId) -> AccountPublic:
    """Return one account."""
    account = found(
        accounts.get_account(session, account_id=account_id), "account", "账户", account_id
    )
    return AccountPublic.of(account)
