"""Open the configured database for a command: settings, migrations, one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from transport._errors import ReasonedError
from transport.settings import Settings, get_settings
from transport.store.engine import make_engine, make_session_factory, migrate

console = Console(emoji=False)


@contextmanager
def open_session(settings: Settings | None = None) -> Iterator[Session]:
    """Yield a session on ``HAZMAT_DATABASE_URL`` in one transaction, committed on success.

    A refusal (``ReasonedError``) is printed with every reason, zh/en, and exits with code 2
    after the transaction is rolled back.
    """
    settings = get_settings() if settings is None else settings
    if settings.auto_migrate:
        migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            yield session
    except ReasonedError as err:
        print_refusal(err)
        raise typer.Exit(code=2) from err
    finally:
        engine.dispose()


def print_refusal(err: ReasonedError) -> None:
    """Print every reason of a refusal."""
    console.print(f"[red]refused / 拒绝[/red] ({type(err).__name__}):")
    for reason in err.reasons:
        console.print(f"  - {reason.describe()}", markup=False)
