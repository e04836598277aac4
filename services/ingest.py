"""Ingest: the frame PULL socket and the Bluesky document SUB socket, feeding one bounded queue.

Both receivers put tagged events on the same :class:`queue.Queue`, so the step assembler sees
documents and frames in one thread without locks:

* ``("document", name, doc)`` from Bluesky's 0MQ proxy (``prefix name json`` messages, the wire
  format of :class:`bluesky.callbacks.zmq.Publisher` with a JSON serializer);
* ``("frame", FrameHeader, array)`` and ``("end_of_run", EndOfRun)`` from the raw-frame stream.

The queue is bounded: when the pipeline falls behind, :meth:`FrameReceiver` stops reading, the
socket's high-water mark fills and the sender blocks (PUSH/PULL never drops), so backpressure
reaches the beamline instead of memory growing.
"""

from __future__ import annotations

import json
import logging
import queue
import threading

import zmq

from .metrics import ServiceMetrics
from .wire import EndOfRun, FrameRejected, decode_message

log = logging.getLogger(__name__)
POLL_MS = 100


def put_until_stopped(target: queue.Queue, item, stop: threading.Event) -> bool:
    """Blocking put that gives up when ``stop`` is set; returns whether the item was queued."""
    while not stop.is_set():
        try:
            target.put(item, timeout=POLL_MS / 1000)
            return True
        except queue.Full:
            continue
    return False


class _Receiver:
    """A daemon thread reading one socket; subclasses implement ``_open`` and ``_handle``."""

    name = "receiver"

    def __init__(self, output: queue.Queue, metrics: ServiceMetrics, *, context: zmq.Context | None = None):
        self._output = output
        self._metrics = metrics
        self._context = context or zmq.Context.instance()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._socket: zmq.Socket | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        if self._thread is None:
            self._socket = self._open()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._socket.poll(POLL_MS):
                    self._handle(self._socket.recv_multipart(copy=False))
        finally:
            self._socket.close(linger=0)

    def _open(self) -> zmq.Socket:
        raise NotImplementedError

    def _handle(self, parts: list) -> None:
        raise NotImplementedError


class FrameReceiver(_Receiver):
    """PULL socket bound on ``address``; validates frames and queues them."""

    name = "frame-receiver"

    def __init__(self, address: str, output: queue.Queue, metrics: ServiceMetrics, *,
                 high_water_mark: int = 16, context: zmq.Context | None = None):
        super().__init__(output, metrics, context=context)
        self._address = address
        self._high_water_mark = high_water_mark
        self.endpoint: str | None = None

    def _open(self) -> zmq.Socket:
        socket = self._context.socket(zmq.PULL)
        socket.setsockopt(zmq.RCVHWM, self._high_water_mark)
        host, _, port = self._address.rpartition(":")
        if port == "0":
            socket.bind_to_random_port(host)
        else:
            socket.bind(self._address)
        self.endpoint = socket.getsockopt_string(zmq.LAST_ENDPOINT)
        return socket

    def _handle(self, parts: list) -> None:
        try:
            message = decode_message(parts)
        except FrameRejected as rejection:
            self._metrics.frames_rejected.labels(reason=rejection.reason).inc()
            log.warning("rejected frame message (%s): %s", rejection.reason, rejection)
            return
        if isinstance(message, EndOfRun):
            put_until_stopped(self._output, ("end_of_run", message), self._stop)
        else:
            header, frame = message
            put_until_stopped(self._output, ("frame", header, frame), self._stop)


class DocumentSubscriber(_Receiver):
    """SUB socket connected to the Bluesky 0MQ proxy's output; decodes JSON documents."""

    name = "document-subscriber"

    def __init__(self, address: str, output: queue.Queue, metrics: ServiceMetrics, *,
                 prefix: bytes = b"", context: zmq.Context | None = None):
        super().__init__(output, metrics, context=context)
        self._address = address
        self._prefix = prefix

    def _open(self) -> zmq.Socket:
        socket = self._context.socket(zmq.SUB)
        socket.setsockopt(zmq.SUBSCRIBE, self._prefix)
        socket.connect(self._address)
        return socket

    def _handle(self, parts: list) -> None:
        message = b"".join(part.bytes for part in parts)
        try:
            prefix, name, payload = message.split(b" ", 2)
            if self._prefix and prefix != self._prefix:
                return
            doc = json.loads(payload)
            name = name.decode()
        except (ValueError, UnicodeDecodeError) as error:
            self._metrics.documents_rejected.inc()
            log.warning("rejected Bluesky document message: %s", error)
            return
        put_until_stopped(self._output, ("document", name, doc), self._stop)
