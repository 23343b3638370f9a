"""Authentication: `hazmat user add`, login for a token, refused tokens, password hashing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import security
from api.commands import users
from api.main import create_app
from tests.api import apps
from transport.accounts import Role
from transport.settings import Settings, get_settings
from transport.store import accounts

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

runner = CliRunner()


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite file the CLI's settings point at."""
    url = f"sqlite:///{tmp_path / 'auth.db'}"
    monkeypatch.setenv("HAZMAT_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url, auth_secret_key=apps.SECRET_KEY))
    with TestClient(app) as test_client:
        yield test_client
    app.state.engine.dispose()


def _add(*args: str, password: str = apps.PASSWORD) -> tuple[int, str]:
    result = runner.invoke(users.app, ["add", *args, "--password-stdin"], input=password + "\n")
    return result.exit_code, result.output


def test_user_added_on_the_command_line_logs_in(client: TestClient) -> None:
    assert _add("wang.police", "--role", "police", "--name", "王警官")[0] == 0
    response = client.post(
        "/v1/auth/token", json={"username": "wang.police", "password": apps.PASSWORD}
    )
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "bearer" and token["role"] == "police"
    me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.json()["username"] == "wang.police" and me.json()["display_name"] == "王警官"
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        account = accounts.find_account(session, username="wang.police")
        assert account is not None
        stored = accounts.password_hash_of(session, account_id=account.id)
    assert stored is not None and stored.startswith("$argon2id$") and apps.PASSWORD not in stored


def test_wrong_password_and_unknown_user_are_the_same_401(client: TestClient) -> None:
    _add("li.planner", "--role", "planner")
    answers = [
        client.post("/v1/auth/token", json={"username": user, "password": "not the password"})
        for user in ("li.planner", "nobody")
    ]
    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].json() == answers[1].json()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("--role", "carrier"), "needs a carrier", id="carrier-without-carrier"),
        pytest.param(("--role", "carrier", "--carrier", "99"), "does not exist", id="unknown"),
        pytest.param(("--role", "loader"), "needs its site", id="loader-without-site"),
        pytest.param(("--role", "police", "--site", "x"), "has no site", id="police-with-site"),
    ],
)
def test_user_add_refuses_accounts_without_their_tenant(
    database_url: str, args: tuple[str, ...], message: str
) -> None:
    code, output = _add("someone", *args)
    assert code == 2 and message in output


def test_short_password_is_refused(database_url: str) -> None:
    code, output = _add("short", "--role", "admin", password="short")
    assert code == 2 and "at least 10 characters" in output


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: "not-a-jwt", id="garbage"),
        pytest.param(
            lambda: security.create_access_token(
                account_id=1, secret_key="another-key-of-at-least-32-characters!", ttl_s=600
            ),
            id="forged",
        ),
        pytest.param(
            lambda: security.create_access_token(
                account_id=1,
                secret_key=apps.SECRET_KEY,
                ttl_s=60,
                now=datetime.now(UTC) - timedelta(hours=1),
            ),
            id="expired",
        ),
        pytest.param(
            lambda: security.create_access_token(
                account_id=999, secret_key=apps.SECRET_KEY, ttl_s=600
            ),
            id="unknown-account",
        ),
    ],
)
def test_refused_tokens_are_401(client: TestClient, token: object) -> None:
    apps.add_account(client, Role.POLICE)
    make = token
    assert callable(make)
    response = client.get("/v1/alerts", headers={"Authorization": f"Bearer {make()}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_admin_creates_an_account_through_the_api(client: TestClient) -> None:
    admin = apps.add_account(client, Role.ADMIN)
    body = {"username": "chen.loader", "role": "loader", "loader_site": "大铲湾油库",
            "password": "a long enough password"}  # fmt: skip
    created = client.post("/v1/accounts", json=body, headers=admin)
    assert created.status_code == 201 and "password" not in created.json()
    again = client.post("/v1/accounts", json=body, headers=admin)
    assert again.status_code == 409
    login = client.post(
        "/v1/auth/token", json={"username": "chen.loader", "password": "a long enough password"}
    )
    assert login.json()["role"] == "loader"
