"""Bluesky's 0MQ document proxy, run as its own process (``bluesky-0MQ-proxy``), as at a beamline."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import zmq

log = logging.getLogger(__name__)
_PROXY_MAIN = "from bluesky.commandline.zmq_proxy import main; main()"


class DocumentProxy:
    """Starts and stops a ``bluesky-0MQ-proxy`` process binding ``in_address`` and ``out_address``.

    Addresses are ``tcp://host:port``; the RunEngine's Publisher connects to ``in_address`` and the
    service subscribes to ``out_address``.
    """

    def __init__(self, in_address: str, out_address: str):
        self.in_address, self.out_address = in_address, out_address
        self._process: subprocess.Popen | None = None

    def start(self, *, timeout_s: float = 30.0) -> None:
        """Start the process and wait until it forwards a probe message."""
        if self._process is not None:
            return
        self._process = subprocess.Popen(
            [sys.executable, "-c", _PROXY_MAIN, "--in-address", self.in_address, "--out-address", self.out_address],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self._wait_until_forwarding(timeout_s)

    def _wait_until_forwarding(self, timeout_s: float) -> None:
        context = zmq.Context.instance()
        sub, pub = context.socket(zmq.SUB), context.socket(zmq.PUB)
        try:
            sub.setsockopt(zmq.SUBSCRIBE, b"porewatch-probe")
            sub.connect(self.out_address)
            pub.connect(self.in_address)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(f"bluesky-0MQ-proxy exited with code {self._process.returncode} "
                                       f"(ports {self.in_address}, {self.out_address} in use?)")
                pub.send(b"porewatch-probe ping {}")
                if sub.poll(100):
                    sub.recv()
                    return
            self.stop()
            raise TimeoutError(f"bluesky-0MQ-proxy did not forward within {timeout_s} s")
        finally:
            sub.close(linger=0)
            pub.close(linger=0)

    def stop(self) -> None:
        """Terminate the process and wait for it (idempotent)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> "DocumentProxy":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
