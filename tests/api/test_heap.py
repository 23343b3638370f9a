"""Service processes settle their heap before serving: loaded objects frozen, fewer collections."""

from __future__ import annotations

import json
import subprocess
import sys

from api.commands._heap import YOUNG_THRESHOLD

PROBE = """
import gc, json
from api.commands._heap import settle_heap
loaded = [[i] for i in range(10_000)]  # containers the collector tracks
before = gc.get_freeze_count()
settle_heap()
print(json.dumps([before, gc.get_freeze_count(), gc.get_threshold()[0]]))
"""


def test_settle_heap_freezes_what_is_loaded_and_raises_the_young_threshold() -> None:
    # in a process of its own: the collector's settings are global
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    before, frozen, threshold = json.loads(done.stdout)
    assert before == 0 and frozen >= 10_000
    assert threshold == YOUNG_THRESHOLD
