"""The notebooks in notebooks/ run top to bottom and render their Folium maps inline."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO_ROOT, shared_data_path

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
TIMEOUT_S = 180


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_renders_its_maps(path: Path) -> None:
    shared_data_path("osm-china/shenzhen/shenzhen_futian_nanshan_drive_2024-10.osm.pbf")
    notebook = nbformat.read(path, as_version=4)
    env_warnings = os.environ.pop("PYTHONWARNINGS", None)
    try:
        NotebookClient(
            notebook, timeout=TIMEOUT_S, kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()  # fmt: skip
    finally:
        if env_warnings is not None:
            os.environ["PYTHONWARNINGS"] = env_warnings
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    maps = [o for o in outputs if "leaflet" in str(o.get("data", {}).get("text/html", ""))]
    assert maps, "no Folium map rendered"
