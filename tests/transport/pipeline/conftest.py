"""Pipeline test fixtures shared across modules: the default network, a trip, its zone."""

from __future__ import annotations

from tests.transport.pipeline.test_monitoring_steps import (  # noqa: F401 - fixtures
    fix_store,
    network,
    road,
    trip,
)
