"""The raw-frame wire format: round trip and every rejection reason."""

import json

import numpy as np
import pytest

from porewatch.services.wire import EndOfRun, FrameRejected, ImageKey, decode_message, encode_frame


def _frame(shape=(4, 6), dtype=np.uint16):
    return (np.arange(np.prod(shape)) % 60000).astype(dtype).reshape(shape)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.uint8])
def test_round_trip_keeps_pixels_and_header(dtype):
    frame = _frame(dtype=dtype)
    parts = encode_frame(frame, run_uid="r1", frame_index=3, image_key=ImageKey.FLAT, angle_deg=12.5)
    header, decoded = decode_message([parts[0], memoryview(parts[1]).tobytes()])
    assert header.run_uid == "r1" and header.frame_index == 3 and header.image_key == ImageKey.FLAT
    assert header.angle_deg == 12.5 and header.shape == frame.shape
    np.testing.assert_array_equal(decoded, frame)


def test_end_of_run_marker_round_trip():
    marker = decode_message([EndOfRun("r1", 42).to_json()])
    assert marker == EndOfRun("r1", 42)


def _header(**changes):
    parts = encode_frame(_frame(), run_uid="r1", frame_index=0, image_key=0, angle_deg=0.0)
    header = json.loads(parts[0])
    header.update(changes)
    return json.dumps(header).encode(), memoryview(parts[1]).tobytes()


@pytest.mark.parametrize("parts, reason", [
    ([b"{not json", b"x"], "bad_json"),
    ([json.dumps({"kind": "frame"}).encode(), b"x"], "bad_header"),
    (list(_header(dtype="complex128")), "bad_dtype"),
    (list(_header(shape=[4])), "bad_header"),
    (list(_header(image_key=7)), "bad_header"),
    (list(_header(run_uid=5)), "bad_header"),
    ([_header()[0], _header()[1][:-2]], "truncated"),
    ([_header()[0]], "bad_header"),
    (list(_header(kind="mystery")), "bad_header"),
])
def test_malformed_messages_are_rejected_with_their_reason(parts, reason):
    with pytest.raises(FrameRejected) as info:
        decode_message(parts)
    assert info.value.reason == reason
    assert str(info.value)
