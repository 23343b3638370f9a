"""Reference JT/T 808 frames from ../shared/data/jt808-frames, read once for parametrisation."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

from tests.conftest import SHARED_DATA_DIR

FRAMES_DIR = "jt808-frames"
HARVESTED = f"{FRAMES_DIR}/harvested_frames.tsv"
SELECTED = f"{FRAMES_DIR}/selected_vectors.json"
DECODED_0200 = f"{FRAMES_DIR}/decoded_0x0200.json"
LIVE_CAPTURE = f"{FRAMES_DIR}/live_capture_ybzwyrcld_loopback.tsv"


def read_tsv(relative: str) -> list[dict[str, str]]:
    """Return the rows of a shared TSV file, or none when it is missing (tests then skip)."""
    path = SHARED_DATA_DIR / relative
    if not path.exists():
        return []
    csv.field_size_limit(sys.maxsize)  # two harvested rows hold 300 KB of hex
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def read_json(relative: str) -> list[dict[str, Any]]:
    """Return the records of a shared JSON file, or none when it is missing (tests then skip)."""
    path = SHARED_DATA_DIR / relative
    if not path.exists():
        return []
    records: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return records
