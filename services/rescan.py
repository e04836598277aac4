"""Rescans of hot spots: policy, requests, rate limit, de-duplication, audit log, queue-server submission.

Policy (``rescan.policy``): ``off`` does nothing; ``suggest`` publishes a request per hot spot on the
control-room stream (topic ``rescans``) for a person to approve on the page; ``auto`` submits it to a
bluesky-queueserver RE Manager at once, as a ``roi_rescan`` plan item whose metadata carry
``purpose``, ``hotspot_id`` and ``parent_step``.

A hot spot gets no new request while an earlier one within ``roi_radius_um`` on the same electrode
awaits approval or is queued, nor within ``repeat_after_steps`` steps of one that ran; automatic
submissions are limited to ``max_per_hour``. Every decision is appended to the audit log (JSON lines)
and counted in ``porewatch_rescan_decisions_total{decision}``. A queue server that is down or refuses
the item yields a ``failed`` decision with its reason, never an exception in the pipeline.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from .config import RescanConfig
from .metrics import ServiceMetrics

log = logging.getLogger(__name__)

ELECTRODES = ("top", "bottom")
#: states of a request that block new requests for the same hot spot
PENDING = ("suggested", "submitted")
HOUR_S = 3600.0


class RescanError(RuntimeError):
    """A rescan could not be submitted or approved; the message says why."""


@dataclass(frozen=True)
class RescanRequest:
    """One hot spot to rescan: where it is, its region of interest and the plan to run."""

    request_id: str
    cell_id: str
    parent_step: int
    electrode: str
    hotspot_id: int
    x_um: float
    y_um: float
    peak_current_density_A_m2: float
    roi: dict
    plan_name: str
    angle_factor: int

    def to_dict(self) -> dict:
        return asdict(self)

    def item_metadata(self) -> dict:
        """Metadata of the queue-server item (and so of the rescan's start document)."""
        return {"purpose": "rescan", "hotspot_id": self.hotspot_id, "parent_step": self.parent_step,
                "rescan_request_id": self.request_id, "cell_id": self.cell_id, "electrode": self.electrode}


def requests_for_step(report: dict, settings: RescanConfig) -> list[RescanRequest]:
    """One request per hot spot of a step report, the region of interest centred on the hot spot."""
    requests = []
    for electrode in ELECTRODES:
        for spot in report[electrode]["hotspots"]:
            requests.append(RescanRequest(
                request_id=uuid.uuid4().hex[:12], cell_id=report["cell_id"], parent_step=report["step_index"],
                electrode=electrode, hotspot_id=spot["id"], x_um=spot["x_um"], y_um=spot["y_um"],
                peak_current_density_A_m2=spot["peak_current_density_A_m2"],
                roi={"x_um": spot["x_um"], "y_um": spot["y_um"], "radius_um": settings.roi_radius_um},
                plan_name=settings.plan_name, angle_factor=settings.angle_factor))
    return requests


class AuditLog:
    """Appends one JSON line per decision: ``{"time", "decision", "request", "detail"}``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(self, decision: str, request: RescanRequest, detail: str | None = None) -> None:
        line = json.dumps({"time": datetime.now(timezone.utc).isoformat(), "decision": decision,
                           "request": request.to_dict(), "detail": detail})
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as file:
                file.write(line + "\n")

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]


class QueueServerSubmitter:
    """Adds plan items to a bluesky-queueserver RE Manager over its 0MQ API."""

    def __init__(self, address: str, *, timeout_s: float, start_queue: bool = True):
        self.address, self.timeout_s, self.start_queue = address, timeout_s, start_queue
        self._api = None

    def _manager(self):
        if self._api is None:
            try:
                from bluesky_queueserver_api.zmq import REManagerAPI
            except ImportError as error:
                raise RescanError("bluesky-queueserver-api is not installed: pip install 'porewatch[queueserver]'") \
                    from error
            self._api = REManagerAPI(zmq_control_addr=self.address, timeout_recv=self.timeout_s,
                                     timeout_send=self.timeout_s)
        return self._api

    def submit(self, request: RescanRequest) -> str:
        """Queue the request's plan (first in the queue) and start the queue if the manager is idle.

        Returns the item uid; raises :class:`RescanError` naming the address when the manager does
        not answer or refuses the item.
        """
        api = self._manager()
        from bluesky_queueserver_api import BPlan

        item = BPlan(request.plan_name, request=request.to_dict(), angle_factor=request.angle_factor)
        item.meta = request.item_metadata()
        try:
            answer = api.item_add(item, pos="front", user="porewatch", user_group="primary")
            if self.start_queue:
                status = api.status()
                if status["manager_state"] == "idle" and status["worker_environment_exists"]:
                    api.queue_start()
        except Exception as error:  # timeouts, refusals and transport errors of the API alike
            self.close()
            raise RescanError(f"queue server at {self.address}: {type(error).__name__}: {error}") from error
        return answer["item"]["item_uid"]

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None


@dataclass
class _Entry:
    request: RescanRequest
    state: str
    item_uid: str | None = None
    detail: str | None = None


class RescanManager:
    """Applies the rescan policy to each published step; owns the requests and their states.

    ``publish(topic, header)`` sends on the control-room stream (it must be thread-safe);
    ``submitter`` has ``submit(request) -> item uid`` and ``close()``.
    """

    def __init__(self, settings: RescanConfig, *, publish: Callable[[str, dict], None], metrics: ServiceMetrics,
                 audit: AuditLog, submitter, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self._publish, self._metrics, self._audit, self._submitter = publish, metrics, audit, submitter
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._submitted_at: list[float] = []
        self._lock = threading.RLock()
        self._reports: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    # -- life cycle: steps are considered in a thread of their own, off the pipeline ---------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rescans", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._reports.put(None)
            self._thread.join(timeout=2 * self.settings.timeout_s + 5)
            self._thread = None
        self._submitter.close()

    def step_published(self, report: dict) -> None:
        """Hook of the output stage: consider the hot spots of a step (returns at once)."""
        self._reports.put(report)

    def _run(self) -> None:
        while (report := self._reports.get()) is not None:
            try:
                self.consider(report)
            except Exception:  # a bad report must not end rescans for the rest of the experiment
                log.exception("rescan policy failed on step %s", report.get("step_index"))

    # -- decisions -------------------------------------------------------------------------
    def consider(self, report: dict) -> list[str]:
        """Decide on every hot spot of a step report; returns the decisions in order."""
        if self.settings.policy == "off":
            return []
        decisions = []
        for request in requests_for_step(report, self.settings):
            with self._lock:
                blocking = self._blocking(request)
                if blocking is not None:
                    decisions.append(self._decide("duplicate", request, detail=blocking))
                elif self.settings.policy == "suggest":
                    decisions.append(self._decide("suggested", request))
                elif self._rate_limited():
                    decisions.append(self._decide("rate_limited", request,
                                                  detail=f"{self.settings.max_per_hour} rescans in the last hour"))
                else:
                    decisions.append(self._submit(request))
        return decisions

    def approve(self, request_id: str) -> dict:
        """Submit a suggested request, or retry a failed one (a person approved it).

        Raises KeyError for an unknown request, :class:`RescanError` when it cannot be submitted.
        """
        with self._lock:
            entry = self._entries.get(request_id)
            if entry is None:
                raise KeyError(f"no rescan request {request_id!r}")
            if entry.state not in ("suggested", "failed"):
                raise RescanError(f"rescan request {request_id} is {entry.state}, not awaiting approval")
            self._decide("approved", entry.request)
            if self._submit(entry.request) == "failed":
                raise RescanError(entry.detail)
            return {"request_id": request_id, "state": entry.state, "item_uid": entry.item_uid}

    def dismiss(self, request_id: str) -> dict:
        """Reject a suggested request (a person declined it)."""
        with self._lock:
            entry = self._entries.get(request_id)
            if entry is None:
                raise KeyError(f"no rescan request {request_id!r}")
            if entry.state != "suggested":
                raise RescanError(f"rescan request {request_id} is {entry.state}, not awaiting approval")
            self._decide("rejected", entry.request, detail="declined on the control-room page")
            return {"request_id": request_id, "state": "rejected"}

    def rescan_completed(self, request: dict, *, tiled_key: str) -> None:
        """Hook of the output stage: the rescan of ``request`` was analysed and stored under ``tiled_key``."""
        with self._lock:
            entry = self._entries.get(request.get("request_id"))
            if entry is None:  # submitted by someone else, or before a restart
                return
            entry.state = "completed"
            self._audit.record("completed", entry.request, detail=f"results in Tiled under {tiled_key}")
            self._metrics.rescan_decisions.labels(decision="completed").inc()

    def states(self) -> dict[str, str]:
        with self._lock:
            return {request_id: entry.state for request_id, entry in self._entries.items()}

    def _blocking(self, request: RescanRequest) -> str | None:
        """Why an earlier request for the same hot spot blocks this one, or None."""
        for entry in self._entries.values():
            earlier = entry.request
            if (earlier.cell_id, earlier.electrode) != (request.cell_id, request.electrode):
                continue
            if math.hypot(earlier.x_um - request.x_um, earlier.y_um - request.y_um) > self.settings.roi_radius_um:
                continue
            if entry.state in PENDING:
                return f"request {earlier.request_id} of step {earlier.parent_step} is {entry.state}"
            if entry.state == "completed" and \
                    request.parent_step - earlier.parent_step <= self.settings.repeat_after_steps:
                return f"rescanned after step {earlier.parent_step} (request {earlier.request_id})"
        return None

    def _rate_limited(self) -> bool:
        now = self._clock()
        self._submitted_at = [t for t in self._submitted_at if now - t < HOUR_S]
        return len(self._submitted_at) >= self.settings.max_per_hour

    def _submit(self, request: RescanRequest) -> str:
        try:
            item_uid = self._submitter.submit(request)
        except RescanError as error:
            log.error("rescan of %s hot spot %d of step %d not submitted: %s", request.electrode,
                      request.hotspot_id, request.parent_step, error)
            return self._decide("failed", request, detail=str(error))
        self._submitted_at.append(self._clock())
        self._entries.setdefault(request.request_id, _Entry(request, "submitted")).item_uid = item_uid
        return self._decide("submitted", request, detail=f"queue item {item_uid}")

    def _decide(self, decision: str, request: RescanRequest, *, detail: str | None = None) -> str:
        entry = self._entries.setdefault(request.request_id, _Entry(request, decision))
        if decision != "approved":
            entry.state, entry.detail = decision, detail
        self._audit.record(decision, request, detail)
        self._metrics.rescan_decisions.labels(decision=decision).inc()
        self._publish("rescans", {"event": decision, "request": request.to_dict(), "detail": detail,
                                  "cell_id": request.cell_id, "parent_step": request.parent_step})
        log.info("rescan %s: %s hot spot %d of step %d%s", decision, request.electrode, request.hotspot_id,
                 request.parent_step, f" ({detail})" if detail else "")
        return decision
