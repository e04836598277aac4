"""The porewatch service: wires ingest, stages and outputs together (``porewatch serve``).

::

    frames (PULL) ──┐
                    ├─> events ─> [assemble + preprocess] ─> steps ─> [reconstruct] ─> volumes
    documents (SUB)─┘                                                                     │
                    control room (PUB), Tiled, Prometheus <─ [publish + store] <─ [segment + analyse]

Every arrow is a bounded queue sized from the configuration; every bracket is one thread.
"""

from __future__ import annotations

import logging
import queue
import time
import zmq

from .assembly import StepAssembler
from .config import Config
from .control_room import ControlRoomPublisher
from .ingest import DocumentSubscriber, FrameReceiver
from .metrics import ServiceMetrics
from .outputs import ResultOutput
from .processing import FramePreprocessor, StepAnalyser, StepReconstructor
from .rescan import AuditLog, QueueServerSubmitter, RescanManager
from .stage_worker import StageWorker
from .tiled_store import LocalTiledServer, TiledResultStore

log = logging.getLogger(__name__)


class PorewatchService:
    """One running service. ``start()`` binds every socket and starts the stages; ``stop()`` undoes it.

    Ports set to 0 in the configuration bind to free ports; the bound addresses are then in
    :attr:`frames_endpoint`, :attr:`control_room_endpoint` and :attr:`metrics_port`.
    """

    def __init__(self, config: Config, *, tiled_store: TiledResultStore | None = None):
        self.config = config
        self.metrics = ServiceMetrics()
        self._context = zmq.Context()
        self._tiled_store = tiled_store
        self._local_tiled: LocalTiledServer | None = None
        self._components: list = []
        self.frames_endpoint = self.control_room_endpoint = None
        self.metrics_port: int | None = None
        self.web_url: str | None = None
        self.rescans: RescanManager | None = None
        self.tiled_uri: str | None = None
        self.tiled_api_key: str | None = None
        self.backend_name: str | None = None
        self.started = False

    def _address(self, port: int) -> str:
        return f"tcp://{self.config.network.host}:{port}"

    def _open_tiled(self) -> TiledResultStore:
        if self._tiled_store is not None:
            return self._tiled_store
        if self.config.tiled.uri:
            self.tiled_uri, self.tiled_api_key = self.config.tiled.uri, self.config.tiled.api_key
        else:
            self._local_tiled = LocalTiledServer(self.config.tiled.directory)
            self._local_tiled.start()
            self.tiled_uri, self.tiled_api_key = self._local_tiled.uri, self._local_tiled.api_key
        return TiledResultStore(self.tiled_uri, api_key=self.tiled_api_key)

    def start(self) -> None:
        if self.started:
            return
        cfg, net = self.config, self.config.network
        try:
            store = self._open_tiled()
            publisher = ControlRoomPublisher(self._address(net.control_room_port), context=self._context)
            self.control_room_endpoint = publisher.start()
            self._components.append(publisher)
            reconstructor = StepReconstructor(cfg.pipeline)
            self.backend_name = reconstructor.backend_name
            self.metrics.backend_info.labels(backend=self.backend_name).set(1)
            rescans = self._start_rescans(publisher)
            analyser = StepAnalyser(cfg.segmentation, cfg.analysis)
            output = ResultOutput(publisher, store, self.metrics, write_volumes=cfg.tiled.write_volumes,
                                  backend=reconstructor.backend_name, rescans=rescans)
            events, steps, volumes, analysed = (queue.Queue(cfg.ingest.frame_queue_size),
                                                queue.Queue(cfg.pipeline.step_queue_size),
                                                queue.Queue(cfg.pipeline.result_queue_size),
                                                queue.Queue(cfg.pipeline.result_queue_size))
            for name, q in (("events", events), ("steps", steps), ("volumes", volumes), ("analysed", analysed)):
                self.metrics.queue_capacity.labels(queue=name).set(q.maxsize)
            assembler = StepAssembler(FramePreprocessor(cfg.pipeline), self.metrics,
                                      unknown_run_grace_s=cfg.ingest.unknown_run_grace_s,
                                      end_of_run_timeout_s=cfg.ingest.end_of_run_timeout_s)
            assembler.on_step_started = output.step_started
            assembler.on_progress = output.step_progress
            stages = [
                StageWorker("events", events, assembler.handle, steps, self.metrics, idle=assembler.poll),
                StageWorker("steps", steps, lambda s: [reconstructor.run(output.stage_started("reconstruct", s),
                                                                          self.metrics)], volumes, self.metrics,
                            on_error=output.step_failed),
                StageWorker("volumes", volumes, lambda v: [analyser.run(output.stage_started("analyse", v),
                                                                        self.metrics)], analysed, self.metrics,
                            on_error=output.step_failed),
                StageWorker("analysed", analysed, lambda a: output.publish(a), None, self.metrics,
                            on_error=output.step_failed),
            ]
            for stage in reversed(stages):
                stage.start()
                self._components.append(stage)
            receiver = FrameReceiver(self._address(net.frames_port), events, self.metrics,
                                     high_water_mark=cfg.ingest.receive_high_water_mark, context=self._context)
            receiver.start()
            self.frames_endpoint = receiver.endpoint
            subscriber = DocumentSubscriber(self._address(net.documents_out_port), events, self.metrics,
                                            context=self._context)
            subscriber.start()
            self._components += [receiver, subscriber]
            if net.metrics_enabled:
                self.metrics_port = self.metrics.start(net.host, net.metrics_port)
            if cfg.web.enabled:
                self._start_web(rescans)
            self.started = True
            log.info("porewatch serving: frames %s, control room %s, metrics :%s, page %s, backend %s",
                     self.frames_endpoint, self.control_room_endpoint, self.metrics_port, self.web_url,
                     reconstructor.backend_name)
        except BaseException:
            self.stop()
            raise

    def _start_rescans(self, publisher: ControlRoomPublisher) -> RescanManager | None:
        settings = self.config.rescan
        if settings.policy == "off":
            return None
        audit = AuditLog(settings.audit_log or self.config.tiled.directory.parent / "rescan-audit.jsonl")
        submitter = QueueServerSubmitter(settings.queue_server, timeout_s=settings.timeout_s,
                                         start_queue=settings.start_queue)
        rescans = RescanManager(settings, publish=publisher.publish, metrics=self.metrics, audit=audit,
                                submitter=submitter)
        rescans.start()
        self._components.append(rescans)
        self.rescans = rescans
        return rescans

    def _start_web(self, rescans: RescanManager | None) -> None:
        from .web import ControlRoomWeb  # starlette and uvicorn only when the page is served

        web = ControlRoomWeb(host=self.config.network.host, port=self.config.web.port,
                             control_room_address=self.control_room_endpoint, tiled_uri=self.tiled_uri,
                             tiled_api_key=self.tiled_api_key, rescans=rescans, context=self._context)
        web.start()
        self._components.append(web)
        self.web_url = web.url

    def stop(self) -> None:
        """Stop receivers first, then stages, then outputs (idempotent)."""
        for component in reversed(self._components):
            component.stop()
        self._components.clear()
        self.metrics.stop()
        if self._local_tiled is not None:
            self._local_tiled.stop()
            self._local_tiled = None
        self._context.destroy(linger=0)
        self.started = False

    def wait_idle(self, *, timeout_s: float) -> bool:
        """Wait until every queue is empty and no stage is busy (used by ``replay --local``)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(c.idle for c in self._components if isinstance(c, StageWorker)):
                return True
            time.sleep(0.1)
        return False
