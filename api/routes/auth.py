"""Authentication: exchange a username and password for a bearer token; who am I."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from api import security
from api.deps import CurrentAccount, SessionDep, SettingsDep
from api.schemas.accounts import AccountPublic, TokenCreate, TokenPublic
from transport.store import accounts

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/token")
def create_token(
    request: Request, session: SessionDep, settings: SettingsDep, body: TokenCreate
) -> TokenPublic:
    """Return an access token for valid credentials (401 otherwise, the same for any cause)."""
    account = accounts.find_account(session, username=body.username)
    password_hash = (
        None if account is None else accounts.password_hash_of(session, account_id=account.id)
    )
    verified = security.verify_password(body.password, password_hash)
    if account is None or not verified or not account.is_active:
        raise HTTPException(
            401,
            detail="wrong username or password / 用户名或密码错误",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = security.create_access_token(
        account_id=account.id,
        secret_key=request.app.state.token_secret,
        ttl_s=settings.access_token_ttl_s,
    )
    return TokenPublic(
        access_token=token, expires_in_s=settings.access_token_ttl_s, role=account.role
    )


@router.get("/me")
def read_me(account: CurrentAccount) -> AccountPublic:
    """Return the caller's account."""
    return AccountPublic.of(account)
