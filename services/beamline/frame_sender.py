"""The detector side of the raw-frame stream: a PUSH socket that follows the RunEngine's runs.

Subscribed to the RunEngine as a document callback, it learns the uid of the open run from its
start document and, on the stop document, sends the end-of-run marker after the run's last frame
(the role an areaDetector ZMQ plugin plays at a real beamline).
"""

from __future__ import annotations

import threading

import numpy as np
import zmq

from ..wire import EndOfRun, ImageKey, encode_frame


class FrameSender:
    """PUSH socket connected to the service's frame address (``tcp://host:port``)."""

    def __init__(self, address: str, *, high_water_mark: int = 16, context: zmq.Context | None = None):
        self._context = context or zmq.Context.instance()
        self._socket = self._context.socket(zmq.PUSH)
        self._socket.setsockopt(zmq.SNDHWM, high_water_mark)
        self._socket.setsockopt(zmq.LINGER, -1)  # queued frames and the end marker are never discarded
        self._socket.connect(address)
        self._lock = threading.Lock()
        self.run_uid: str | None = None
        self.frames_sent = 0

    def __call__(self, name: str, doc: dict) -> None:
        """RunEngine document callback."""
        if name == "start":
            self.begin_run(doc["uid"])
        elif name == "stop" and doc.get("run_start") == self.run_uid:
            self.end_run()

    def begin_run(self, run_uid: str) -> None:
        with self._lock:
            self.run_uid, self.frames_sent = run_uid, 0

    def send(self, frame: np.ndarray, *, image_key: ImageKey, angle_deg: float) -> int:
        """Send one frame of the open run (zero-copy); returns its frame index."""
        with self._lock:
            if self.run_uid is None:
                raise RuntimeError("FrameSender.send() outside a run: no start document seen")
            index = self.frames_sent
            parts = encode_frame(frame, run_uid=self.run_uid, frame_index=index, image_key=image_key,
                                 angle_deg=angle_deg)
            self._socket.send_multipart(parts, copy=False)
            self.frames_sent += 1
            return index

    def send_raw(self, parts: list) -> None:
        """Send an arbitrary multipart message (tools and tests of the service's validation)."""
        with self._lock:
            self._socket.send_multipart(parts)

    def end_run(self) -> None:
        with self._lock:
            if self.run_uid is not None:
                self._socket.send(EndOfRun(self.run_uid, self.frames_sent).to_json())
                self.run_uid = None

    def close(self, *, timeout_s: float = 30.0) -> None:
        """Close after queued messages are delivered (or ``timeout_s`` passed)."""
        self._socket.close(linger=int(timeout_s * 1000))
