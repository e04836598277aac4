"""Every Prometheus metric of porewatch, declared in one place.

Naming follows Prometheus practice: one ``porewatch_`` prefix, base units (seconds, ratio),
``_total`` on counters, and bounded label sets (no run uids, no cell ids).
Each :class:`ServiceMetrics` owns its own registry, so several services (tests) can coexist.
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client import disable_created_metrics

STAGES = ("receive", "preprocess", "reconstruct", "segment", "analyse", "publish", "store")
ELECTRODES = ("top", "bottom")
#: Regions of the LLZO pellet (label values of the llzo gauges).
LLZO_REGIONS = ("pellet", "interfacial_top", "bulk", "interfacial_bottom")
#: Outcomes of the rescan policy (see porewatch.services.rescan), the label values of rescan_decisions.
RESCAN_DECISIONS = ("suggested", "submitted", "approved", "rejected", "duplicate", "rate_limited", "failed",
                    "completed")
STAGE_BUCKETS_S = (0.001, 0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)


class ServiceMetrics:
    """The metrics of one running service and, optionally, the HTTP endpoint that exposes them."""

    def __init__(self) -> None:
        disable_created_metrics()  # process-wide switch of prometheus_client: no *_created series
        self.registry = CollectorRegistry()
        r = self.registry
        self.frames_received = Counter("porewatch_frames_received_total", "Frames accepted, by NXtomo image key",
                                       ["image_key"], registry=r)
        self.frames_rejected = Counter("porewatch_frames_rejected_total", "Messages rejected on the frame stream",
                                       ["reason"], registry=r)
        self.documents_rejected = Counter("porewatch_documents_rejected_total",
                                          "Bluesky documents that could not be decoded", registry=r)
        self.stage_duration = Histogram("porewatch_stage_duration_seconds", "Time spent per stage and step",
                                        ["stage"], buckets=STAGE_BUCKETS_S, registry=r)
        self.step_end_to_end = Histogram("porewatch_step_end_to_end_seconds",
                                         "From a step's last frame to its published results",
                                         buckets=STAGE_BUCKETS_S, registry=r)
        self.volume_latency = Histogram("porewatch_volume_latency_seconds",
                                        "From a step's last frame to its complete reconstructed volume",
                                        buckets=STAGE_BUCKETS_S, registry=r)
        self.queue_depth = Gauge("porewatch_queue_depth", "Items waiting in a stage's input queue",
                                 ["queue"], registry=r)
        self.queue_capacity = Gauge("porewatch_queue_capacity", "Size bound of a stage's input queue",
                                    ["queue"], registry=r)
        self.porosity = Gauge("porewatch_porosity_ratio", "Li porosity of the latest step", ["electrode"],
                              registry=r)
        self.porosity_near_interface = Gauge("porewatch_porosity_near_interface_ratio",
                                             "Li porosity within the near-interface band, latest step",
                                             ["electrode"], registry=r)
        self.current_density_mean = Gauge("porewatch_current_density_mean_amperes_per_square_meter",
                                          "Area-mean current density from thickness change, latest step",
                                          ["electrode"], registry=r)
        self.hotspots_detected = Counter("porewatch_hotspots_detected_total", "Hot spots detected", registry=r)
        self.steps_completed = Counter("porewatch_steps_completed_total", "Steps analysed and published",
                                       registry=r)
        self.steps_failed = Counter("porewatch_steps_failed_total", "Steps whose processing raised an error",
                                    registry=r)
        self.hotspots_latest = Gauge("porewatch_hotspots_latest", "Hot spots found in the latest step",
                                     ["electrode"], registry=r)
        self.mass_balance = Gauge("porewatch_current_density_mass_balance_ratio",
                                  "Area-mean current density from thickness change over the applied one, latest step",
                                  ["electrode"], registry=r)
        self.porosity_modes = Gauge("porewatch_porosity_distribution_modes",
                                    "Modes of the local Li porosity distribution, latest step", ["electrode"], registry=r)
        self.llzo_porosity = Gauge("porewatch_llzo_porosity_ratio",
                                   "X-ray transparent fraction of the LLZO pellet, latest step, by region",
                                   ["region"], registry=r)
        self.llzo_tortuosity = Gauge("porewatch_llzo_tortuosity_ratio",
                                     "Tortuosity factor of the LLZO along z, latest step computed, by region",
                                     ["region"], registry=r)
        self.backend_info = Gauge("porewatch_backend_info", "1 for the array backend in use", ["backend"],
                                  registry=r)
        self.rescan_decisions = Counter("porewatch_rescan_decisions_total",
                                        "Rescan policy decisions on hot spots, by outcome", ["decision"],
                                        registry=r)
        for reason in ("bad_json", "bad_header", "bad_dtype", "truncated", "wrong_shape", "unknown_run",
                       "duplicate"):
            self.frames_rejected.labels(reason=reason)
        for key in ("0", "1", "2"):
            self.frames_received.labels(image_key=key)
        for decision in RESCAN_DECISIONS:
            self.rescan_decisions.labels(decision=decision)
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int) -> int:
        """Serve ``/metrics`` over HTTP on ``host:port`` (0 = any free port); returns the port."""
        if self._server is None:
            self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        return self._server.server_port

    def stop(self) -> None:
        """Stop the HTTP endpoint (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server, self._thread = None, None
