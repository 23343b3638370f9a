"""Fuzz the API against its own OpenAPI document: no input gives a server error.

Each operation is called as a role allowed to reach it (taken from the role table, which names
every operation), so generated data gets past authentication into the handlers and the store.
The database holds a tenant, alerts and a layer with small ids, which generated ids often hit.
Data that fits the schema and data that does not (positive and negative), bounded examples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.api import apps
from tests.api.test_roles import CASES, ROLES, World

if TYPE_CHECKING:
    from collections.abc import Iterator

    from schemathesis import Case

MAX_EXAMPLES = 8


def _fuzz_role(statuses: tuple[int, ...]) -> str:
    """The first role the role table lets through (anonymous when none is)."""
    return next((r for r, s in zip(ROLES, statuses, strict=True) if s < 403), "anonymous")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """An application on SQLite with a tenant, an alert and a layer."""
    with apps.api_client("sqlite", tmp_path_factory.mktemp("fuzz")) as client:
        yield World(client)


@pytest.fixture(scope="module")
def api_schema(world: World) -> schemathesis.BaseSchema:
    """The application's OpenAPI document, called in process."""
    return schemathesis.openapi.from_asgi("/openapi.json", world.client.app)


@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
@pytest.mark.parametrize("case_spec", [pytest.param(c, id=f"{c.method} {c.path}") for c in CASES])
def test_no_input_gives_a_server_error(
    api_schema: schemathesis.BaseSchema, world: World, case_spec: object, mode: GenerationMode
) -> None:
    method, path = case_spec.method, case_spec.path  # type: ignore[attr-defined]
    headers = world.headers[_fuzz_role(case_spec.statuses)]  # type: ignore[attr-defined]
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    fuzz()
