"""0x8300 text messages: bytes in both editions, hypothesis round trips, limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transport.gateway import jt808_frames as frames
from transport.gateway import jt808_messages as messages
from transport.gateway._errors import MessageError

TTS_DISPLAY = messages.TextMessage.TTS | messages.TextMessage.DISPLAY
GBK_TEXT = st.text(
    alphabet=st.sampled_from("超速提醒请减速危险货物运输安全驾驶ABCxyz0123 ，。：【】"),
    max_size=200,
)


@pytest.mark.parametrize(
    ("version", "body_hex"),
    [
        pytest.param(frames.Version.V2013, "0cb3accbd9", id="2013-flag-text"),
        pytest.param(frames.Version.V2019, "0c01b3accbd9", id="2019-flag-type-text"),
    ],
)
def test_text_message_body_bytes(version: frames.Version, body_hex: str) -> None:
    data = messages.encode(
        messages.TextMessage(TTS_DISPLAY, "超速"), version=version, phone="13800138000", serial=7
    )
    frame = frames.decode_frame(data)
    assert frame.header.message_id == 0x8300
    assert frame.body.hex() == body_hex


@given(flags=st.integers(0, 255), text=GBK_TEXT, text_type=st.integers(0, 255),
       version=st.sampled_from(frames.Version))  # fmt: skip
def test_text_message_round_trips(
    flags: int, text: str, text_type: int, version: frames.Version
) -> None:
    message = messages.TextMessage(flags, text, text_type)
    data = messages.encode(message, version=version, phone="13800138000", serial=1)
    decoded = messages.decode(frames.decode_frame(data))
    expected_type = 1 if version is frames.Version.V2013 else text_type
    assert decoded == messages.TextMessage(flags, text, expected_type)


def test_text_longer_than_a_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="`text` takes 1200 GBK bytes"):
        messages.TextMessage(TTS_DISPLAY, "超" * 600).to_body(frames.Version.V2013)


def test_empty_text_body_is_truncated() -> None:
    frame = frames.Frame(frames.Header(0x8300, "13800138000", 1, frames.Version.V2019), b"\x0c")
    with pytest.raises(MessageError, match="truncated") as caught:
        messages.decode(frame)
    assert caught.value.reason == "truncated"
