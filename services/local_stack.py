"""Everything a self-contained run needs on this machine: document proxy and service on free ports.

Used by ``porewatch demo``, ``porewatch replay --local`` and the end-to-end tests, so that they
exercise exactly the code path of a deployed ``porewatch serve`` with a ``bluesky-0MQ-proxy``.
"""

from __future__ import annotations

from .beamline.proxy import DocumentProxy
from .config import Config
from .ports import free_tcp_ports
from .service import PorewatchService


def with_free_ports(config: Config) -> Config:
    """A copy of ``config`` whose network ports are all free ones."""
    ports = free_tcp_ports(5, config.network.host)
    network = config.network.model_copy(update=dict(zip(
        ("documents_in_port", "documents_out_port", "frames_port", "control_room_port", "metrics_port"), ports)))
    web = config.web.model_copy(update={"port": 0})  # the page binds a free port itself
    return config.model_copy(update={"network": network, "web": web})


class LocalStack:
    """Document proxy + service, started and stopped together (idempotent, context manager)."""

    def __init__(self, config: Config, *, service: PorewatchService | None = None):
        self.config = config
        net = config.network
        self.documents_in_address = f"tcp://{net.host}:{net.documents_in_port}"
        self.proxy = DocumentProxy(self.documents_in_address, f"tcp://{net.host}:{net.documents_out_port}")
        self.service = service or PorewatchService(config)

    @property
    def frames_address(self) -> str:
        return self.service.frames_endpoint

    @property
    def control_room_address(self) -> str:
        return self.service.control_room_endpoint

    def start(self) -> "LocalStack":
        try:
            self.proxy.start()
            self.service.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.service.stop()
        self.proxy.stop()

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
