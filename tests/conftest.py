"""Shared test fixtures: where the reference data lives, and how its absence is handled."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis: no per-example deadline (shared CI cores are slow), and reproducible runs in CI.
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


def shared_data_path(relative: str) -> Path:
    """Return a path under ../shared/data; fail under CI=true when missing, skip elsewhere."""
    path = SHARED_DATA_DIR / relative
    if not path.exists():
        msg = f"reference data missing: ../shared/data/{relative}"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data folder (read-only reference data)."""
    return shared_data_path("")
