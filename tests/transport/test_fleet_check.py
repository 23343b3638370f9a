"""The offline fleet check refuses what it cannot tell apart (the rules run in the scenarios)."""

from __future__ import annotations

import pandas as pd
import pytest

from transport import fleet_check
from transport.rules.base import VehicleContext


def test_tracks_sharing_a_vehicle_id_are_refused() -> None:
    track = pd.DataFrame({"lon": [], "lat": [], "fix_at": []})
    tracks = [(VehicleContext("A"), track), (VehicleContext("A"), track)]
    with pytest.raises(ValueError, match="`tracks` repeat a vehicle id: \\['A', 'A'\\]"):
        fleet_check.check_fleet(None, None, tracks)  # type: ignore[arg-type]
