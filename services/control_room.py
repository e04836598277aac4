"""The control-room stream: ZMQ PUB of step results, and a subscriber for clients.

Message layout (protocol ``porewatch.control/1``), multipart::

    [topic (ascii), JSON header, array buffer 0, array buffer 1, ...]

The header holds the scalars and an ``arrays`` list ``[{"name", "dtype", "shape"}, ...]`` describing
the buffers that follow, in order. Topics:

``status``
    service and step progress: ``{"event": "step_started" | "progress" | "stage" | "step_complete" |
    "step_failed", ...}``
``porosity``
    per-electrode porosity scalars; arrays ``<electrode>_pore_density`` (n_y, n_x)
``current_density``
    per-electrode mean/std; arrays ``<electrode>_current_density`` (n_y, n_x), A/m^2
``hotspots``
    ``{"hotspots": {"top": [...], "bottom": [...]}}``
``slices``
    three orthogonal slices of the volume with their labels (see :mod:`porewatch.services.live_views`)
``rescans``
    rescan requests and decisions on hot spots (see :mod:`porewatch.services.rescan`)
``step``
    the whole report dict of a step (what ``porewatch report --json`` prints for it)
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import zmq

PROTOCOL = "porewatch.control/1"
TOPICS = ("status", "porosity", "current_density", "hotspots", "llzo", "slices", "rescans", "step")


class ControlRoomPublisher:
    """PUB socket bound on ``address`` (``tcp://host:port``; port 0 = any free port)."""

    def __init__(self, address: str, *, context: zmq.Context | None = None):
        self._address = address
        self._context = context or zmq.Context.instance()
        self._socket: zmq.Socket | None = None
        self._lock = threading.Lock()  # the output stage and the rescan manager both publish
        self.endpoint: str | None = None

    def start(self) -> str:
        """Bind the socket; returns the bound endpoint."""
        if self._socket is None:
            self._socket = self._context.socket(zmq.PUB)
            self._socket.setsockopt(zmq.LINGER, 1000)
            host, _, port = self._address.rpartition(":")
            if port == "0":
                self._socket.bind_to_random_port(host)
            else:
                self._socket.bind(self._address)
            self.endpoint = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        return self.endpoint

    def publish(self, topic: str, header: dict, arrays: dict[str, np.ndarray] | None = None) -> None:
        """Send one message; arrays go as raw C-contiguous buffers described in the header."""
        if topic not in TOPICS:
            raise ValueError(f"topic {topic!r} is not one of {TOPICS}")
        if self._socket is None:
            raise RuntimeError("ControlRoomPublisher.publish() before start()")
        arrays = {name: np.ascontiguousarray(a) for name, a in (arrays or {}).items()}
        full = {"protocol": PROTOCOL, "topic": topic, "time": time.time(), **header,
                "arrays": [{"name": n, "dtype": str(a.dtype), "shape": list(a.shape)} for n, a in arrays.items()]}
        parts = [topic.encode(), json.dumps(full, allow_nan=True).encode(), *arrays.values()]
        with self._lock:
            self._socket.send_multipart(parts, copy=False)

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


class ControlRoomSubscriber:
    """SUB client of the control-room stream (used by ``replay --wait``, ``watch`` and tests)."""

    def __init__(self, address: str, topics: tuple[str, ...] = TOPICS, *, context: zmq.Context | None = None):
        self._context = context or zmq.Context.instance()
        self._socket = self._context.socket(zmq.SUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        for topic in topics:
            self._socket.setsockopt(zmq.SUBSCRIBE, topic.encode())
        self._socket.connect(address)

    def receive(self, timeout_s: float) -> tuple[str, dict, dict[str, np.ndarray]] | None:
        """The next message as ``(topic, header, arrays)``, or None after ``timeout_s``."""
        if not self._socket.poll(int(timeout_s * 1000)):
            return None
        parts = self._socket.recv_multipart()
        header = json.loads(parts[1])
        arrays = {spec["name"]: np.frombuffer(buf, dtype=spec["dtype"]).reshape(spec["shape"])
                  for spec, buf in zip(header["arrays"], parts[2:])}
        return parts[0].decode(), header, arrays

    def close(self) -> None:
        self._socket.close()


def collect_step_reports(subscriber: ControlRoomSubscriber, *, expected: int, timeout_s: float,
                         run_uids: set[str] | None = None) -> list[dict]:
    """Step reports from the stream until ``expected`` steps completed or failed, in arrival order.

    Only runs in ``run_uids`` count when it is given. A failed step yields ``{"run_uid", "error"}``.
    Raises TimeoutError naming how many steps arrived.
    """
    deadline = time.monotonic() + timeout_s
    reports: list[dict] = []
    while len(reports) < expected:
        message = subscriber.receive(max(0.0, deadline - time.monotonic()))
        if message is None:
            raise TimeoutError(f"{len(reports)} of {expected} step results arrived within {timeout_s} s")
        topic, header, _ = message
        if run_uids is not None and header.get("run_uid") not in run_uids:
            continue
        if topic == "step":
            reports.append(header["report"])
        elif topic == "status" and header.get("event") == "step_failed":
            reports.append({"run_uid": header.get("run_uid"), "error": header.get("error")})
    return reports
