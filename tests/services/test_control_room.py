"""The control-room PUB stream: header plus array buffers, topics, and step collection."""

import time

import numpy as np
import pytest
import zmq

from porewatch.services.control_room import ControlRoomPublisher, ControlRoomSubscriber, collect_step_reports


@pytest.fixture
def stream():
    context = zmq.Context()
    publisher = ControlRoomPublisher("tcp://127.0.0.1:0", context=context)
    endpoint = publisher.start()
    subscriber = ControlRoomSubscriber(endpoint, context=context)
    _wait_until_subscribed(publisher, subscriber)
    yield publisher, subscriber
    subscriber.close()
    publisher.stop()
    context.destroy(linger=0)


def _wait_until_subscribed(publisher, subscriber, timeout_s: float = 30.0) -> None:
    """Publishes probes until one arrives (a SUB socket misses what is sent before it has joined), then
    drains the probes still in flight."""
    deadline = time.monotonic() + timeout_s
    while True:
        publisher.publish("status", {"event": "probe"})
        if subscriber.receive(timeout_s=0.05) is not None:
            break
        assert time.monotonic() < deadline, "the subscriber never joined"
    while subscriber.receive(timeout_s=0.2) is not None:
        pass


def test_arrays_and_scalars_round_trip(stream):
    publisher, subscriber = stream
    j_map = np.arange(12, dtype=np.float32).reshape(3, 4)
    j_map[0, 0] = np.nan
    publisher.publish("current_density", {"step_index": 2, "top": {"mean_A_m2": 0.25}}, {"top_current_density": j_map})
    topic, header, arrays = subscriber.receive(timeout_s=5)
    assert topic == "current_density" and header["step_index"] == 2 and header["top"]["mean_A_m2"] == 0.25
    assert header["protocol"] == "porewatch.control/1"
    np.testing.assert_array_equal(arrays["top_current_density"], j_map)


def test_unknown_topic_is_refused(stream):
    with pytest.raises(ValueError, match="topic"):
        stream[0].publish("gossip", {})


def test_collect_step_reports_takes_completed_and_failed_steps_of_the_given_runs(stream):
    publisher, subscriber = stream
    publisher.publish("step", {"run_uid": "other", "report": {"step_index": 9}})
    publisher.publish("step", {"run_uid": "a", "report": {"step_index": 0}})
    publisher.publish("status", {"event": "step_failed", "run_uid": "b", "error": "boom"})
    reports = collect_step_reports(subscriber, expected=2, timeout_s=5, run_uids={"a", "b"})
    assert reports == [{"step_index": 0}, {"run_uid": "b", "error": "boom"}]
    with pytest.raises(TimeoutError, match="0 of 1"):
        collect_step_reports(subscriber, expected=1, timeout_s=0.2)
