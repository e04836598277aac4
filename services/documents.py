"""Bluesky documents on the wire: JSON serialisation and a Publisher that is ready to send."""

from __future__ import annotations

import json
import time

from bluesky.callbacks.zmq import Publisher

#: A PUB socket drops what it sends before the proxy's subscription has reached it (ZMQ's
#: "slow joiner"); on loopback that takes milliseconds, so this margin covers it many times over.
PUBLISHER_SETTLE_S = 0.5


def json_document_serializer(doc: dict) -> bytes:
    """Serializer for :class:`bluesky.callbacks.zmq.Publisher`: JSON, never pickle."""
    return json.dumps(doc, default=_json_default).encode()


def _json_default(value):
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def open_document_publisher(address: str) -> Publisher:
    """Bluesky's 0MQ Publisher (JSON) connected to the proxy input ``tcp://host:port``, ready to send."""
    publisher = Publisher(address.removeprefix("tcp://"), serializer=json_document_serializer)
    time.sleep(PUBLISHER_SETTLE_S)
    return publisher
