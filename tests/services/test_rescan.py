"""Rescan policy, de-duplication, rate limit, audit log, and a queue server that is down.

The policy runs against a recording stand-in of the queue server (the queue server itself is
exercised for real in test_rescan_queue_server.py); a real submitter pointed at a port where no RE
Manager listens shows the error path, also through the page's approve endpoint.
"""

import json
import time
import urllib.error
import urllib.request

import pytest
import zmq

from porewatch.services.config import RescanConfig
from porewatch.services.control_room import ControlRoomPublisher
from porewatch.services.metrics import ServiceMetrics
from porewatch.services.ports import free_tcp_ports
from porewatch.services.rescan import (AuditLog, QueueServerSubmitter, RescanError, RescanManager,
                                       requests_for_step)
from porewatch.services.web import ControlRoomWeb


def spot(id, x_um, y_um, peak=1.5):
    return {"id": id, "x_um": x_um, "y_um": y_um, "area_um2": 5000.0, "peak_current_density_A_m2": peak}


def report(step_index, top=(), bottom=()):
    return {"cell_id": "cell-1", "step_index": step_index, "top": {"hotspots": list(top)},
            "bottom": {"hotspots": list(bottom)}}


class RecordingQueue:
    """Stands in for the RE Manager: records submissions, or refuses them with a RescanError."""

    def __init__(self, refuse: str | None = None):
        self.items, self.refuse, self.closed = [], refuse, False

    def submit(self, request):
        if self.refuse:
            raise RescanError(self.refuse)
        self.items.append(request)
        return f"item-{len(self.items)}"

    def close(self):
        self.closed = True


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def manager(tmp_path, queue=None, clock=None, **settings):
    published = []
    metrics = ServiceMetrics()
    rescans = RescanManager(RescanConfig(**settings), publish=lambda topic, header: published.append((topic, header)),
                            metrics=metrics, audit=AuditLog(tmp_path / "audit.jsonl"), submitter=queue or RecordingQueue(),
                            clock=clock or Clock())
    return rescans, published, metrics


def decisions(metrics):
    return {sample.labels["decision"]: sample.value for family in metrics.registry.collect()
            if family.name == "porewatch_rescan_decisions" for sample in family.samples
            if sample.name.endswith("_total") and sample.value}


def test_a_request_names_the_hot_spot_its_region_and_the_plan():
    (request,) = requests_for_step(report(3, top=[spot(2, 100.0, -50.0, peak=2.5)]),
                                   RescanConfig(roi_radius_um=200.0, angle_factor=3))
    assert (request.cell_id, request.parent_step, request.electrode, request.hotspot_id) == ("cell-1", 3, "top", 2)
    assert request.roi == {"x_um": 100.0, "y_um": -50.0, "radius_um": 200.0}
    assert request.plan_name == "roi_rescan" and request.angle_factor == 3
    assert request.item_metadata()["purpose"] == "rescan" and request.item_metadata()["parent_step"] == 3


def test_off_does_nothing(tmp_path):
    rescans, published, _ = manager(tmp_path, policy="off")
    assert rescans.consider(report(1, top=[spot(1, 0, 0)])) == []
    assert published == [] and not (tmp_path / "audit.jsonl").exists()


def test_suggest_publishes_requests_and_waits_for_a_person(tmp_path):
    queue = RecordingQueue()
    rescans, published, metrics = manager(tmp_path, queue, policy="suggest")
    assert rescans.consider(report(1, top=[spot(1, 0, 0)], bottom=[spot(1, 300, 300)])) == ["suggested"] * 2
    assert queue.items == [] and [topic for topic, _ in published] == ["rescans", "rescans"]
    request_id = published[0][1]["request"]["request_id"]
    answer = rescans.approve(request_id)
    assert answer["state"] == "submitted" and answer["item_uid"] == "item-1"
    assert queue.items[0].request_id == request_id
    assert rescans.dismiss(published[1][1]["request"]["request_id"])["state"] == "rejected"
    with pytest.raises(RescanError, match="not awaiting approval"):
        rescans.approve(request_id)
    with pytest.raises(KeyError):
        rescans.approve("no-such-request")
    assert decisions(metrics) == {"suggested": 2, "approved": 1, "submitted": 1, "rejected": 1}


def test_a_hot_spot_is_not_requested_again_while_queued_or_within_n_steps(tmp_path):
    rescans, published, _ = manager(tmp_path, policy="auto", repeat_after_steps=2, roi_radius_um=100.0)
    assert rescans.consider(report(1, top=[spot(1, 0, 0)])) == ["submitted"]
    # the same place (moved by less than the region's radius) while the first rescan is queued
    assert rescans.consider(report(2, top=[spot(4, 30, 40)], bottom=[spot(1, 30, 40)])) == ["duplicate", "submitted"]
    rescans.rescan_completed(published[0][1]["request"], tiled_key="cell-1/step_001/rescan_x")
    assert rescans.consider(report(3, top=[spot(1, 0, 0), spot(2, 500, 0)])) == ["duplicate", "submitted"]
    assert rescans.consider(report(4, top=[spot(1, 10, 0)])) == ["submitted"]  # 3 steps after step 1


def test_automatic_submissions_are_rate_limited_per_hour(tmp_path):
    clock = Clock()
    rescans, _, _ = manager(tmp_path, clock=clock, policy="auto", max_per_hour=2)
    spots = [spot(i, 400.0 * i, 0) for i in range(1, 4)]
    assert rescans.consider(report(1, top=spots)) == ["submitted", "submitted", "rate_limited"]
    clock.now += 3601
    assert rescans.consider(report(5, top=spots[2:])) == ["submitted"]


def test_every_decision_is_in_the_audit_log(tmp_path):
    rescans, _, _ = manager(tmp_path, RecordingQueue(refuse="plan 'roi_rescan' is not allowed"), policy="auto")
    assert rescans.consider(report(1, top=[spot(1, 0, 0)])) == ["failed"]
    (entry,) = AuditLog(tmp_path / "audit.jsonl").read()
    assert entry["decision"] == "failed" and "not allowed" in entry["detail"]
    assert entry["request"]["hotspot_id"] == 1 and entry["time"].endswith("+00:00")


@pytest.fixture
def dead_queue_server():
    (port,) = free_tcp_ports(1)
    submitter = QueueServerSubmitter(f"tcp://127.0.0.1:{port}", timeout_s=0.5)
    yield submitter
    submitter.close()


def test_queue_server_down_is_a_clear_error_not_a_crash(tmp_path, dead_queue_server):
    rescans, published, metrics = manager(tmp_path, dead_queue_server, policy="auto")
    started = time.monotonic()
    assert rescans.consider(report(1, top=[spot(1, 0, 0)])) == ["failed"]
    assert time.monotonic() - started < 5
    detail = published[-1][1]["detail"]
    assert dead_queue_server.address in detail and "timeout" in detail.lower()
    assert decisions(metrics) == {"failed": 1}


def test_approving_on_the_page_with_the_queue_server_down_answers_503_with_the_reason(tmp_path, dead_queue_server):
    context = zmq.Context()
    publisher = ControlRoomPublisher("tcp://127.0.0.1:0", context=context)
    endpoint = publisher.start()
    rescans, published, _ = manager(tmp_path, dead_queue_server, policy="suggest")
    web = ControlRoomWeb(host="127.0.0.1", port=0, control_room_address=endpoint, tiled_uri=None,
                         tiled_api_key=None, rescans=rescans, context=context)
    web.start()
    try:
        rescans.consider(report(1, top=[spot(1, 0, 0)]))
        request_id = published[0][1]["request"]["request_id"]
        post = urllib.request.Request(f"{web.url}api/rescans/{request_id}/approve", method="POST")
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(post, timeout=10)
        assert answer.value.code == 503
        assert dead_queue_server.address in json.load(answer.value)["error"]
        state = json.load(urllib.request.urlopen(f"{web.url}api/state", timeout=10))
        assert state["rescan_approval"] is True and state["cells"] == []
        assert rescans.states()[request_id] == "failed"
    finally:
        web.stop()
        publisher.stop()
        context.destroy(linger=0)
