"""The control-room page: one static page, server-sent events from the control-room stream, Tiled reloads.

Routes::

    GET  /                                     the page (services/web_static/index.html, no build step)
    GET  /static/<file>                        its script and style sheet
    GET  /events                               server-sent events: one ``message`` per control-room message,
                                               ``{"topic", "header", "arrays"}`` (see live_views.message_to_json)
    GET  /api/state                            cells in Tiled, latest live status, rescan requests
    GET  /api/cells/<cell>                     every stored step report of a cell, with depth profiles
    GET  /api/cells/<cell>/steps/<n>/views     maps and orthogonal slices of a stored step
    POST /api/rescans/<request_id>/approve     submit a suggested rescan (policy ``suggest``)
    POST /api/rescans/<request_id>/dismiss     decline a suggested rescan

A late-joining page loads the experiment so far from Tiled, then follows the events.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import zmq

from .control_room import ControlRoomSubscriber
from .live_views import ELECTRODES, encode_array, message_to_json, orthogonal_slices, slice_rows
from .rescan import RescanError
from .tiled_store import TiledResultStore

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("web_static")
CLIENT_QUEUE_SIZE = 256
KEEPALIVE_S = 10.0
POLL_S = 0.25
STARTUP_TIMEOUT_S = 10.0
#: status events kept for late joiners (the latest of each kind)
KEPT_STATUS_EVENTS = ("step_started", "progress", "stage", "step_complete", "step_failed")


class LiveFeed:
    """Follows the control-room stream in a thread and fans each message out to the page's clients."""

    def __init__(self, address: str, *, context: zmq.Context | None = None):
        self._address, self._context = address, context
        self._clients: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.latest_status: dict[str, dict] = {}
        self.rescans: dict[str, dict] = {}

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            ready = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(ready,), name="web-live-feed", daemon=True)
            self._thread.start()
            ready.wait(5)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self, ready: threading.Event) -> None:
        subscriber = ControlRoomSubscriber(self._address, context=self._context)
        ready.set()
        try:
            while not self._stop.is_set():
                message = subscriber.receive(POLL_S)
                if message is not None:
                    self._dispatch(message_to_json(*message))
        except Exception:  # the page must not take the service down
            log.exception("control-room page feed stopped")
        finally:
            subscriber.close()

    def _dispatch(self, event: dict) -> None:
        header = event["header"]
        with self._lock:
            if event["topic"] == "status" and header.get("event") in KEPT_STATUS_EVENTS:
                self.latest_status[header["event"]] = header
            elif event["topic"] == "rescans" and "request" in header:
                self.rescans[header["request"]["request_id"]] = header
            clients = list(self._clients)
        text = json.dumps(event)
        for loop, client in clients:
            loop.call_soon_threadsafe(_offer, client, text)

    def subscribe(self) -> asyncio.Queue:
        client: asyncio.Queue = asyncio.Queue(CLIENT_QUEUE_SIZE)
        with self._lock:
            self._clients.append((asyncio.get_running_loop(), client))
        return client

    def unsubscribe(self, client: asyncio.Queue) -> None:
        with self._lock:
            self._clients = [(loop, q) for loop, q in self._clients if q is not client]

    def snapshot(self) -> dict:
        with self._lock:
            return {"status": dict(self.latest_status), "rescans": list(self.rescans.values())}


def _offer(client: asyncio.Queue, text: str) -> None:
    """Queue an event for one page; a page that does not keep up loses its oldest events."""
    if client.full():
        client.get_nowait()
    client.put_nowait(text)


class TiledViews:
    """What the page reloads from Tiled: step reports, depth profiles, maps and slices (cached per run)."""

    def __init__(self, uri: str | None, api_key: str | None):
        self._uri, self._api_key = uri, api_key
        self._store: TiledResultStore | None = None
        self._lock = threading.Lock()
        self._profiles: dict[tuple[str, str], dict] = {}

    def _open(self) -> TiledResultStore:
        if self._uri is None:
            raise LookupError("no Tiled server is configured")
        if self._store is None:
            self._store = TiledResultStore(self._uri, api_key=self._api_key)
        return self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def cells(self) -> list[str]:
        with self._lock:
            return self._open().list_cells()

    def experiment(self, cell_id: str) -> dict:
        """Reports of every step, each with ``depth_profiles`` ({electrode: [...]}) and ``depth_bin_um``."""
        with self._lock:
            store = self._open()
            steps = store.read_cell(cell_id)
            for step in steps:
                key = (cell_id, str(step.get("run_uid")))
                if key not in self._profiles:
                    self._profiles[key] = {
                        name: _as_list(store.read_array(cell_id, step["step_index"], f"{name}_porosity_depth_profile"))
                        for name in ELECTRODES if f"{name}_porosity_depth_profile" in step.get("arrays", [])}
                step["depth_profiles"] = self._profiles[key]
        return {"cell_id": cell_id, "steps": steps}

    def step_views(self, cell_id: str, step_index: int) -> dict:
        """Maps (encoded arrays) of one stored step, and its orthogonal slices when the volume is stored."""
        with self._lock:
            store = self._open()
            report = next((s for s in store.read_cell(cell_id) if s["step_index"] == step_index), None)
            if report is None:
                raise KeyError(f"cell {cell_id!r} has no step {step_index}")
            stored = set(report.get("arrays", []))
            maps = {f"{n}_{kind}": store.read_array(cell_id, step_index, f"{n}_{kind}") for n in ELECTRODES
                    for kind in ("pore_density", "current_density") if f"{n}_{kind}" in stored}
            slices = None
            if {"volume", "labels"} <= stored:
                volume = store.read_array(cell_id, step_index, "volume")
                labels = store.read_array(cell_id, step_index, "labels")
                z_index = slice_rows(report, volume.shape[0], report["pixel_size_m"])
                arrays, header = orthogonal_slices(volume, labels, z_index=z_index)
                slices = {"header": {**header, "pixel_size_um": report["pixel_size_m"] * 1e6},
                          "arrays": {name: encode_array(a) for name, a in arrays.items()}}
        return {"cell_id": cell_id, "step_index": step_index, "report": report,
                "maps": {name: encode_array(a) for name, a in maps.items()}, "slices": slices}


def _as_list(array: np.ndarray) -> list:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(array, dtype=np.float64)]


def build_app(feed: LiveFeed, views: TiledViews, *, rescans, closing: threading.Event):
    """The Starlette application of the page."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, JSONResponse, StreamingResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    async def index(request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def events(request):
        client = feed.subscribe()

        async def stream():
            try:
                yield "retry: 2000\n\n"
                idle = 0.0
                while not closing.is_set():
                    try:
                        text = await asyncio.wait_for(client.get(), POLL_S)
                    except asyncio.TimeoutError:
                        idle += POLL_S
                        if idle >= KEEPALIVE_S:
                            idle = 0.0
                            yield ": keepalive\n\n"
                        continue
                    idle = 0.0
                    yield f"data: {text}\n\n"
            finally:
                feed.unsubscribe(client)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    def state(request):
        try:
            cells, error = views.cells(), None
        except Exception as failure:  # Tiled down: the live part of the page still works
            cells, error = [], f"Tiled: {failure}"
        return JSONResponse({"cells": cells, "tiled_error": error, **feed.snapshot(),
                             "rescan_approval": rescans is not None})

    def experiment(request):
        return _answer(lambda: views.experiment(request.path_params["cell_id"]))

    def step_views(request):
        return _answer(lambda: views.step_views(request.path_params["cell_id"], request.path_params["step_index"]))

    def decide_rescan(request):
        if rescans is None:
            return JSONResponse({"error": "rescans are off (rescan.policy)"}, status_code=409)
        decide = rescans.approve if request.path_params["decision"] == "approve" else rescans.dismiss
        return _answer(lambda: decide(request.path_params["request_id"]))

    return Starlette(routes=[
        Route("/", index),
        Route("/events", events),
        Route("/api/state", state),
        Route("/api/cells/{cell_id}", experiment),
        Route("/api/cells/{cell_id}/steps/{step_index:int}/views", step_views),
        Route("/api/rescans/{request_id}/{decision:str}", decide_rescan, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])


def _answer(work: Callable[[], Any]):
    from starlette.responses import JSONResponse

    try:
        return JSONResponse(work())
    except KeyError as error:
        return JSONResponse({"error": str(error.args[0] if error.args else error)}, status_code=404)
    except (LookupError, ConnectionError, OSError, RescanError) as error:
        return JSONResponse({"error": str(error)}, status_code=503)


class ControlRoomWeb:
    """HTTP server of the page, run by uvicorn in a thread; ``start()``/``stop()`` are idempotent.

    Parameters
    ----------
    host, port : where to listen (port 0 = any free port; the bound one is in :attr:`port`)
    control_room_address : ``tcp://host:port`` of the control-room PUB stream
    tiled_uri, tiled_api_key : the Tiled tree the service writes (None: no reloads)
    rescans : the :class:`~porewatch.services.rescan.RescanManager` (``approve``, ``dismiss``), None when off
    """

    def __init__(self, *, host: str, port: int, control_room_address: str, tiled_uri: str | None,
                 tiled_api_key: str | None, rescans=None, context: zmq.Context | None = None):
        self._host, self._requested_port = host, port
        self._feed = LiveFeed(control_room_address, context=context)
        self._views = TiledViews(tiled_uri, tiled_api_key)
        self._rescans = rescans
        self._closing = threading.Event()
        self._server = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host
        return f"http://{host}:{self.port}/"

    def start(self) -> int:
        """Bind, start serving and return the port."""
        if self._thread is not None:
            return self.port
        import uvicorn

        self._closing.clear()
        self._feed.start()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._requested_port))
        self.port = sock.getsockname()[1]
        app = build_app(self._feed, self._views, rescans=self._rescans, closing=self._closing)
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, name="web-server",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the control-room page did not start on {self._host}:{self.port}")
            time.sleep(0.02)
        log.info("control-room page on %s", self.url)
        return self.port

    def stop(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._thread, self._server = None, None
        self._feed.stop()
        self._views.close()
