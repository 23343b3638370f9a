"""Tenant scope: every registry and waybill query is filtered by carrier, unless police ask.

The one helper every store query goes through, so the filter cannot be forgotten: a query
without ``carrier_id`` and without an explicit ``all_carriers=True`` is a programming error.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select

from transport._errors import ScopeError

__all__ = ["check_scope", "scoped"]

S = TypeVar("S", bound=Select[Any])


def check_scope(carrier_id: int | None, all_carriers: bool) -> None:
    """Refuse a call that gives neither a carrier nor ``all_carriers=True``, or both.

    Raises
    ------
    ScopeError
        When the scope is missing or ambiguous.
    """
    if all_carriers and carrier_id is not None:
        msg = "give `carrier_id` or `all_carriers=True`, not both"
        raise ScopeError(msg)
    if not all_carriers and carrier_id is None:
        msg = "`carrier_id` is required (police-wide queries pass `all_carriers=True`)"
        raise ScopeError(msg)


def scoped(statement: S, model: Any, *, carrier_id: int | None, all_carriers: bool) -> S:
    """Return the statement filtered to one carrier's rows, or unchanged for all carriers."""
    check_scope(carrier_id, all_carriers)
    return statement if all_carriers else statement.where(model.carrier_id == carrier_id)
