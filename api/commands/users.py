"""`hazmat user add|list`: accounts of the API, their roles and tenants."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from api import security
from api.commands._db import console, open_session
from transport.accounts import Role
from transport.store import accounts

app = typer.Typer(help="API accounts / 用户账户: add and list.", no_args_is_help=True)

MIN_PASSWORD_CHARS = 10


def _read_password(from_stdin: bool) -> str:
    """Read the password from standard input or a hidden, confirmed prompt."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password / 密码", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_CHARS:
        console.print(f"[red]the password needs at least {MIN_PASSWORD_CHARS} characters[/red]")
        raise typer.Exit(code=2)
    return password


@app.command("add")
def add_user(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[Role, typer.Option("--role", help="police, carrier, loader, planner, admin.")],
    carrier_id: Annotated[
        int | None, typer.Option("--carrier", help="Carrier id (carrier accounts only).")
    ] = None,
    loader_site: Annotated[
        str | None, typer.Option("--site", help="Loader party name (loader accounts only).")
    ] = None,
    display_name: Annotated[str | None, typer.Option("--name", help="Shown in audits.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add an account; the password is stored only as an argon2id hash."""
    password_hash = security.hash_password(_read_password(password_stdin))
    with open_session() as session:
        account = accounts.add_account(
            session,
            username=username,
            password_hash=password_hash,
            role=role,
            carrier_id=carrier_id,
            loader_site=loader_site,
            display_name=display_name,
        )
    console.print(f"added / 已添加: {account.username} ({account.role}) id {account.id}")


@app.command("list")
def list_users() -> None:
    """List every account."""
    with open_session() as session:
        found = accounts.list_accounts(session)
    table = Table(title="Accounts / 账户")
    for column in ("id", "username", "role", "carrier", "site", "active"):
        table.add_column(column)
    for a in found:
        table.add_row(
            str(a.id), a.username, a.role.value, str(a.carrier_id or ""), a.loader_site or "",
            "yes" if a.is_active else "no",
        )  # fmt: skip
    console.print(table)
