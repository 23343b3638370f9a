"""Step `publish`: hand the batch's matched fixes and alert changes to the live channel and
the alert record, after the fixes are stored.

Sinks are plain callables so that the in-process demo, the API's live hub and the alert store
plug in alike; a sink that fails is logged with the vehicle and counted, and the batch goes on
(the alert record is rebuilt from a re-run: alert ids are stable).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transport.alerts.lifecycle import AlertEvent
    from transport.matched import MatchedFix
    from transport.pipeline.batch import Batch

__all__ = ["AlertSink", "PositionSink", "Publish"]

logger = logging.getLogger(__name__)

AlertSink = Callable[[Sequence["AlertEvent"]], None]
PositionSink = Callable[[Sequence["MatchedFix"]], None]


class Publish:
    """Send matched fixes and alert changes to every sink."""

    def __init__(
        self, *, alert_sinks: Sequence[AlertSink] = (), position_sinks: Sequence[PositionSink] = ()
    ) -> None:
        self.alert_sinks = tuple(alert_sinks)
        self.position_sinks = tuple(position_sinks)
        self.failures: Counter[str] = Counter()

    def __call__(self, batch: Batch) -> Batch:
        """Publish; return the batch unchanged."""
        if batch.alert_events:
            for alert_sink in self.alert_sinks:
                self._deliver(alert_sink, batch.alert_events)
        positions = batch.matched + batch.backfill_matched
        if positions:
            for position_sink in self.position_sinks:
                self._deliver(position_sink, positions)
        return batch

    def _deliver(self, sink: Callable[[Sequence[Any]], None], items: Sequence[object]) -> None:
        """Call one sink, counting and logging a failure instead of raising."""
        try:
            sink(items)
        except (OSError, ValueError, RuntimeError) as err:
            name = getattr(sink, "__qualname__", repr(sink))
            self.failures[name] += 1
            logger.warning("publish to %s failed for %d items: %s", name, len(items), err)
