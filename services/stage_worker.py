"""A pipeline stage: one thread taking items from a bounded queue and putting results on the next.

A full output queue blocks the stage (backpressure); nothing is dropped. Errors in one item are
logged and counted, and the stage goes on with the next item.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable, Iterable

from .ingest import put_until_stopped
from .metrics import ServiceMetrics

log = logging.getLogger(__name__)
IDLE_TICK_S = 0.2


class StageWorker:
    """Runs ``work(item) -> iterable of results`` on every item of ``source``.

    ``idle()`` (optional) is called whenever no item arrived for :data:`IDLE_TICK_S` and may also
    return results (the assembler uses it for timeouts). ``on_error(item, error)`` is called when
    ``work`` raises.
    """

    def __init__(self, name: str, source: queue.Queue, work: Callable[[object], Iterable],
                 sink: queue.Queue | None, metrics: ServiceMetrics, *,
                 idle: Callable[[], Iterable] | None = None,
                 on_error: Callable[[object, BaseException], None] | None = None):
        self.name = name
        self._source, self._sink = source, sink
        self._work, self._idle, self._on_error = work, idle, on_error
        self._metrics = metrics
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.busy = False

    @property
    def idle(self) -> bool:
        """True when no item is waiting or being worked on."""
        return not self.busy and self._source.empty()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"stage-{self.name}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._metrics.queue_depth.labels(queue=self.name).set(self._source.qsize())
            try:
                item = self._source.get(timeout=IDLE_TICK_S)
            except queue.Empty:
                if self._idle is not None:
                    self._emit(self._idle())
                continue
            self.busy = True
            started = time.perf_counter()
            try:
                self._emit(self._work(item))
            except Exception as error:  # one bad step must not stop the service
                log.exception("stage %s failed on %s", self.name, type(item).__name__)
                self._metrics.steps_failed.inc()
                if self._on_error is not None:
                    self._on_error(item, error)
            finally:
                self.busy = False
                log.debug("stage %s took %.3f s", self.name, time.perf_counter() - started)

    def _emit(self, results: Iterable) -> None:
        for result in results or ():
            if self._sink is not None:
                put_until_stopped(self._sink, result, self._stop)
