"""Tests of `transport.gateway.jt808_fixes`: location reports to fixes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from transport.gateway import jt808_fixes
from transport.gateway import jt808_messages as messages


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_alarm_names_are_the_actionable_bits_set_in_order(alarm: int) -> None:
    expected = [name for bit, name in jt808_fixes.ACTIONABLE_ALARMS.items() if alarm & bit.value]
    assert jt808_fixes.terminal_alarm_names(alarm) == expected
    assert jt808_fixes.terminal_alarm_names(messages.Alarm(alarm)) == expected


def test_alarm_word_without_actionable_bits_names_nothing() -> None:
    display_fault = 1 << 9
    assert jt808_fixes.terminal_alarm_names(display_fault) == []
    assert jt808_fixes.terminal_alarm_names(0) == []
