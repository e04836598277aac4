"""``porewatch replay``: stream DXchange step files through the frame protocol to a service.

Each file becomes one run: a start document (step metadata from the file) through Bluesky's 0MQ
Publisher, then darks, flats and projections on the raw-frame stream, then the stop document and
the end-of-run marker -- the same messages a beamline sends, so the service cannot tell the two
apart.
"""

from __future__ import annotations

import logging
from pathlib import Path

from event_model import compose_run

from .beamline.frame_sender import FrameSender
from .config import Config
from .control_room import ControlRoomSubscriber, collect_step_reports
from .dxchange import DXchangeReader
from .documents import open_document_publisher
from .local_stack import LocalStack, with_free_ports
from .wire import ImageKey

log = logging.getLogger(__name__)


def replay_file(path: Path, *, publisher, sender: FrameSender) -> str:
    """Send one DXchange step as one run; returns its run uid."""
    with DXchangeReader(path) as reader:
        n_rows, n_cols = reader.projections.shape[1:]
        bundle = compose_run(metadata={
            "plan_name": "tomo_step_scan", "purpose": "replay", "source_file": str(path),
            **reader.metadata.to_dict(),
            "frames_expected": {"projections": reader.n_angles, "flats": len(reader.flats), "darks": len(reader.darks)},
            "detector_shape": [int(n_rows), int(n_cols)]})
        publisher("start", bundle.start_doc)
        sender.begin_run(bundle.start_doc["uid"])
        for dark in reader.darks:
            sender.send(dark, image_key=ImageKey.DARK, angle_deg=0.0)
        for flat in reader.flats:
            sender.send(flat, image_key=ImageKey.FLAT, angle_deg=0.0)
        for angle_deg, frame in reader.frames():
            sender.send(frame, image_key=ImageKey.PROJECTION, angle_deg=angle_deg)
        stop_doc = bundle.compose_stop()
        sender.end_run()
        publisher("stop", stop_doc)
        log.info("replayed %s as run %s (%d projections)", path, bundle.start_doc["uid"], reader.n_angles)
        return bundle.start_doc["uid"]


def _replay_to(config: Config, files: list[Path], *, documents_address: str, frames_address: str,
               control_room_address: str, wait: bool, timeout_s: float) -> list[dict]:
    subscriber = ControlRoomSubscriber(control_room_address, ("status", "step")) if wait else None
    publisher = open_document_publisher(documents_address)
    sender = FrameSender(frames_address, high_water_mark=config.ingest.receive_high_water_mark)
    try:
        uids = [replay_file(path, publisher=publisher, sender=sender) for path in files]
        if not wait:
            return [{"run_uid": uid, "source_file": str(path)} for uid, path in zip(uids, files)]
        return collect_step_reports(subscriber, expected=len(uids), timeout_s=timeout_s, run_uids=set(uids))
    finally:
        sender.close()
        publisher.close()
        if subscriber is not None:
            subscriber.close()


def replay_files(config: Config, files: list[Path], *, wait: bool, local: bool, timeout_s: float) -> list[dict]:
    """Replay ``files`` in order; with ``wait`` return the step reports the service published.

    With ``local`` a proxy and a service are started here on free ports and stopped afterwards.
    """
    if not local:
        net = config.network
        return _replay_to(config, files, documents_address=f"tcp://{net.host}:{net.documents_in_port}",
                          frames_address=f"tcp://{net.host}:{net.frames_port}",
                          control_room_address=f"tcp://{net.host}:{net.control_room_port}",
                          wait=wait, timeout_s=timeout_s)
    with LocalStack(with_free_ports(config)) as stack:
        return _replay_to(config, files, documents_address=stack.documents_in_address,
                          frames_address=stack.frames_address, control_room_address=stack.control_room_address,
                          wait=True, timeout_s=timeout_s)
