"""Schemas of accounts and access tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from transport.accounts import Account, Role

USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]+$"


class AccountBase(BaseModel):
    """An account's role and tenant: a carrier for carriers, a loading site for loaders."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=64, pattern=USERNAME_PATTERN)
    role: Role
    carrier_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    loader_site: str | None = Field(
        default=None, min_length=1, max_length=200, description="Loader party name (装货人)."
    )
    display_name: str | None = Field(default=None, min_length=1, max_length=100)


class AccountCreate(AccountBase):
    """A new account with its password (stored only as an argon2id hash)."""

    password: str = Field(min_length=10, max_length=256)


class AccountPublic(AccountBase):
    """A stored account."""

    id: int
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, account: Account) -> AccountPublic:
        """Return the public form of an account."""
        return cls(
            id=account.id,
            username=account.username,
            role=account.role,
            carrier_id=account.carrier_id,
            loader_site=account.loader_site,
            display_name=account.display_name,
            is_active=account.is_active,
            created_at=account.created_at,
        )


class TokenCreate(BaseModel):
    """Credentials exchanged for an access token."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenPublic(BaseModel):
    """A bearer access token: send it as ``Authorization: Bearer <access_token>``."""

    access_token: str
    token_type: str = "bearer"
    expires_in_s: int
    role: Role
