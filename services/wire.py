"""The raw-frame wire format: multipart ``[JSON header, raw pixel buffer]`` over ZMQ PUSH/PULL.

Header of a frame (protocol ``porewatch.frame/1``)::

    {"protocol": "porewatch.frame/1", "kind": "frame", "run_uid": str, "frame_index": int,
     "image_key": 0 | 1 | 2,            # NXtomo: 0 projection, 1 flat, 2 dark
     "angle_deg": float, "dtype": "uint16", "shape": [n_rows, n_cols], "timestamp": float}

After the last frame of a run the sender adds one single-part message
``{"protocol": ..., "kind": "end_of_run", "run_uid": str, "n_frames": int}``; PUSH/PULL keeps order per
sender, so every frame of the run has been delivered when it arrives.

Decoding validates everything and raises :class:`FrameRejected` with a short machine ``reason``
(used as the Prometheus label) and a message naming what was wrong.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

PROTOCOL = "porewatch.frame/1"
ALLOWED_DTYPES = ("uint8", "uint16", "uint32", "float32")
MAX_FRAME_SIDE = 16384


class ImageKey(IntEnum):
    """NXtomo image keys."""

    PROJECTION = 0
    FLAT = 1
    DARK = 2


class FrameRejected(ValueError):
    """A message that is not a valid frame; ``reason`` is one of a small fixed set."""

    REASONS = ("bad_json", "bad_header", "bad_dtype", "truncated", "wrong_shape", "unknown_run", "duplicate")

    def __init__(self, reason: str, message: str):
        if reason not in self.REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class FrameHeader:
    """Validated header of one frame."""

    run_uid: str
    frame_index: int
    image_key: ImageKey
    angle_deg: float
    dtype: str
    shape: tuple[int, int]
    timestamp: float

    def to_json(self) -> bytes:
        return json.dumps({
            "protocol": PROTOCOL, "kind": "frame", "run_uid": self.run_uid,
            "frame_index": self.frame_index, "image_key": int(self.image_key),
            "angle_deg": self.angle_deg, "dtype": self.dtype, "shape": list(self.shape),
            "timestamp": self.timestamp,
        }).encode()


@dataclass(frozen=True)
class EndOfRun:
    """Marker sent after the last frame of a run."""

    run_uid: str
    n_frames: int

    def to_json(self) -> bytes:
        return json.dumps({"protocol": PROTOCOL, "kind": "end_of_run", "run_uid": self.run_uid,
                           "n_frames": self.n_frames}).encode()


def encode_frame(frame: np.ndarray, *, run_uid: str, frame_index: int, image_key: ImageKey,
                 angle_deg: float, timestamp: float | None = None) -> list:
    """Multipart message parts for one 2-D frame; the array buffer is sent without a copy."""
    if frame.ndim != 2:
        raise ValueError(f"frame must be 2-D (n_rows, n_cols), got shape {frame.shape}")
    frame = np.ascontiguousarray(frame)
    header = FrameHeader(run_uid=run_uid, frame_index=int(frame_index), image_key=ImageKey(image_key),
                         angle_deg=float(angle_deg), dtype=str(frame.dtype), shape=tuple(frame.shape),
                         timestamp=time.time() if timestamp is None else float(timestamp))
    return [header.to_json(), frame]


def _require(header: dict, key: str, kind: type | tuple[type, ...]):
    value = header.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise FrameRejected("bad_header", f"frame header field {key!r} missing or not {kind}: {value!r}")
    return value


def _parse_header(raw: bytes) -> dict:
    try:
        header = json.loads(bytes(raw))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FrameRejected("bad_json", f"frame header is not JSON: {error}") from error
    if not isinstance(header, dict) or header.get("protocol") != PROTOCOL:
        raise FrameRejected("bad_header", f"frame header lacks protocol {PROTOCOL!r}")
    return header


def decode_message(parts: list) -> tuple[FrameHeader, np.ndarray] | EndOfRun:
    """Validate a received multipart message (``bytes`` or ``zmq.Frame`` parts).

    Returns ``(header, frame)`` with ``frame`` a read-only view on the received buffer, or
    :class:`EndOfRun`. Raises :class:`FrameRejected` for anything malformed.
    """
    if not parts:
        raise FrameRejected("bad_header", "empty message")
    header = _parse_header(getattr(parts[0], "bytes", parts[0]))
    kind = header.get("kind")
    if kind == "end_of_run":
        return EndOfRun(run_uid=_require(header, "run_uid", str), n_frames=_require(header, "n_frames", int))
    if kind != "frame":
        raise FrameRejected("bad_header", f"unknown message kind {kind!r}")
    if len(parts) != 2:
        raise FrameRejected("bad_header", f"a frame has 2 parts (header, buffer), got {len(parts)}")
    dtype = _require(header, "dtype", str)
    if dtype not in ALLOWED_DTYPES:
        raise FrameRejected("bad_dtype", f"frame dtype {dtype!r} not one of {ALLOWED_DTYPES}")
    shape = _require(header, "shape", list)
    if len(shape) != 2 or not all(isinstance(n, int) and 0 < n <= MAX_FRAME_SIDE for n in shape):
        raise FrameRejected("bad_header", f"frame shape {shape!r} is not two positive sizes")
    image_key = _require(header, "image_key", int)
    if image_key not in tuple(ImageKey):
        raise FrameRejected("bad_header", f"image_key {image_key} is not 0, 1 or 2")
    buffer = memoryview(getattr(parts[1], "buffer", parts[1]))
    expected = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if buffer.nbytes != expected:
        raise FrameRejected("truncated", f"frame buffer has {buffer.nbytes} bytes, header "
                                         f"{shape} {dtype} needs {expected}")
    frame = np.frombuffer(buffer, dtype=dtype).reshape(shape)
    parsed = FrameHeader(run_uid=_require(header, "run_uid", str),
                         frame_index=_require(header, "frame_index", int), image_key=ImageKey(image_key),
                         angle_deg=float(_require(header, "angle_deg", (int, float))), dtype=dtype,
                         shape=(shape[0], shape[1]), timestamp=float(_require(header, "timestamp", (int, float))))
    return parsed, frame
