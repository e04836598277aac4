"""Ingest over real loopback sockets: backpressure instead of loss, and documents through Bluesky's proxy."""

import queue
import threading
import time

import numpy as np
import pytest
import zmq

from porewatch.services.beamline.frame_sender import FrameSender
from porewatch.services.beamline.proxy import DocumentProxy
from porewatch.services.documents import open_document_publisher
from porewatch.services.ingest import DocumentSubscriber, FrameReceiver
from porewatch.services.metrics import ServiceMetrics
from porewatch.services.ports import free_tcp_ports
from porewatch.services.wire import ImageKey


@pytest.fixture
def context():
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def test_a_slow_consumer_applies_backpressure_and_loses_no_frame(context):
    events, metrics = queue.Queue(maxsize=2), ServiceMetrics()
    receiver = FrameReceiver("tcp://127.0.0.1:0", events, metrics, high_water_mark=2, context=context)
    receiver.start()
    sender = FrameSender(receiver.endpoint, high_water_mark=2, context=context)
    sender.begin_run("run-1")
    n_frames, shape = 40, (512, 512)  # 20 MB: more than the sockets and kernel buffers hold
    sending = threading.Thread(target=lambda: [
        sender.send(np.full(shape, i, np.uint16), image_key=ImageKey.PROJECTION, angle_deg=float(i))
        for i in range(n_frames)])
    sending.start()
    time.sleep(0.5)
    assert sending.is_alive(), "the sender should be blocked by the full queue, not dropping"
    received = []
    while len(received) < n_frames:
        kind, header, frame = events.get(timeout=10)
        received.append((header.frame_index, int(frame[0, 0])))
        time.sleep(0.005)
    sending.join(timeout=10)
    sender.end_run()
    assert events.get(timeout=10)[0] == "end_of_run"
    assert received == [(i, i) for i in range(n_frames)]
    sender.close()
    receiver.stop()


def test_documents_travel_through_the_bluesky_proxy_and_bad_ones_are_counted(context):
    in_port, out_port = free_tcp_ports(2)
    events, metrics = queue.Queue(), ServiceMetrics()
    with DocumentProxy(f"tcp://127.0.0.1:{in_port}", f"tcp://127.0.0.1:{out_port}"):
        subscriber = DocumentSubscriber(f"tcp://127.0.0.1:{out_port}", events, metrics, context=context)
        subscriber.start()
        publisher = open_document_publisher(f"tcp://127.0.0.1:{in_port}")
        raw = context.socket(zmq.PUB)
        try:
            publisher("start", {"uid": "abc", "value": np.float64(1.5)})
            kind, name, doc = events.get(timeout=10)
            assert (kind, name, doc) == ("document", "start", {"uid": "abc", "value": 1.5})
            raw.connect(f"tcp://127.0.0.1:{in_port}")
            deadline = time.monotonic() + 10
            while metrics.documents_rejected._value.get() == 0 and time.monotonic() < deadline:
                raw.send(b" start {broken json")  # repeated until the new connection carries it
                time.sleep(0.1)
            assert metrics.documents_rejected._value.get() >= 1
            assert events.empty(), "a broken document reached the pipeline"
        finally:
            raw.close(linger=0)
            publisher.close()
            subscriber.stop()
