"""Accounts of the system's users: the roles and what an account is (no passwords here)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Account", "Role"]


class Role(enum.StrEnum):
    """What a user may do.

    police
        Read everything, acknowledge and close alerts, export evidence.
    carrier
        Its own vehicles, people, waybills and alerts only (a tenant).
    loader
        Run loading checks for waybills presented at its loading site.
    planner
        Restriction layers, routing, what-if.
    admin
        Accounts (and carriers, to onboard them).
    """

    POLICE = "police"
    CARRIER = "carrier"
    LOADER = "loader"
    PLANNER = "planner"
    ADMIN = "admin"


@dataclass(frozen=True)
class Account:
    """A stored account; `carrier_id` for carriers, `loader_site` for loaders."""

    id: int
    username: str
    role: Role
    carrier_id: int | None
    loader_site: str | None
    display_name: str | None
    is_active: bool
    created_at: datetime

    @property
    def label(self) -> str:
        """Who did something, for audit trails: the display name and the username."""
        return f"{self.display_name} ({self.username})" if self.display_name else self.username
