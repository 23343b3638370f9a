"""Store and read user accounts; the caller hashes passwords, the store keeps only the hash."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from transport._errors import ConflictError, RegistryError
from transport.accounts import Account, Role
from transport.reasons import Reason
from transport.store import models

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["add_account", "find_account", "get_account", "list_accounts", "password_hash_of"]

logger = logging.getLogger(__name__)


def _to_account(row: models.AccountRow) -> Account:
    """Return the account of a row (without its hash)."""
    return Account(
        id=row.id,
        username=row.username,
        role=Role(row.role),
        carrier_id=row.carrier_id,
        loader_site=row.loader_site,
        display_name=row.display_name,
        is_active=row.is_active,
        created_at=row.created_at,
    )


def _tenant_reasons(
    session: Session, role: Role, carrier_id: int | None, loader_site: str | None
) -> list[Reason]:
    """Return why a role's tenant fields do not fit: carriers need a carrier, loaders a site."""
    reasons = []
    if role is Role.CARRIER and carrier_id is None:
        reasons.append(
            Reason(
                "carrier_id",
                "missing",
                "a carrier account needs a carrier",
                "承运人账户须指定承运人",
            )
        )
    if role is not Role.CARRIER and carrier_id is not None:
        reasons.append(
            Reason(
                "carrier_id", "unexpected", f"a {role} account has no carrier", "该角色不属于承运人"
            )
        )
    if carrier_id is not None and session.get(models.CarrierRow, carrier_id) is None:
        reasons.append(
            Reason("carrier_id", "unknown", f"carrier {carrier_id} does not exist", "承运人不存在")
        )
    if role is Role.LOADER and not (loader_site or "").strip():
        reasons.append(
            Reason(
                "loader_site",
                "missing",
                "a loader account needs its site",
                "装货人账户须指定装货单位",
            )
        )
    if role is not Role.LOADER and loader_site is not None:
        reasons.append(
            Reason(
                "loader_site", "unexpected", f"a {role} account has no site", "该角色没有装货单位"
            )
        )
    return reasons


def add_account(
    session: Session,
    *,
    username: str,
    password_hash: str,
    role: Role,
    carrier_id: int | None = None,
    loader_site: str | None = None,
    display_name: str | None = None,
) -> Account:
    """Store a new account and return it.

    Raises
    ------
    RegistryError
        A carrier account without an existing carrier, a loader without a site, or tenant
        fields on a role that has none; every reason at once.
    ConflictError
        When the username is taken.
    """
    reasons = _tenant_reasons(session, role, carrier_id, loader_site)
    if reasons:
        raise RegistryError(reasons)
    row = models.AccountRow(
        username=username,
        password_hash=password_hash,
        role=role.value,
        carrier_id=carrier_id,
        loader_site=loader_site,
        display_name=display_name,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as err:
        reason = Reason(
            "username", "duplicate", f"user {username} exists", f"用户 {username} 已存在"
        )
        raise ConflictError([reason]) from err
    logger.info("account %s added with role %s", username, role)
    return _to_account(row)


def get_account(session: Session, *, account_id: int) -> Account | None:
    """Return one account by id, None when unknown."""
    row = session.get(models.AccountRow, account_id)
    return None if row is None else _to_account(row)


def find_account(session: Session, *, username: str) -> Account | None:
    """Return one account by username, None when unknown."""
    row = session.scalars(
        select(models.AccountRow).where(models.AccountRow.username == username)
    ).one_or_none()
    return None if row is None else _to_account(row)


def password_hash_of(session: Session, *, account_id: int) -> str | None:
    """Return the stored password hash of an account (for verification only)."""
    row = session.get(models.AccountRow, account_id)
    return None if row is None else row.password_hash


def list_accounts(session: Session, *, role: Role | None = None) -> list[Account]:
    """Return every account (admins only), by id, optionally of one role."""
    statement = select(models.AccountRow).order_by(models.AccountRow.id)
    if role is not None:
        statement = statement.where(models.AccountRow.role == role.value)
    return [_to_account(row) for row in session.scalars(statement)]
