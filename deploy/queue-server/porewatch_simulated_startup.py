"""Startup code of a bluesky-queueserver RE Worker driving porewatch's simulated beamline.

    start-re-manager --startup-script deploy/queue-server/porewatch_simulated_startup.py \
        --user-group-permissions deploy/queue-server/user_group_permissions.yaml ...

Addresses and the simulated cell come from porewatch's configuration: the file named by the
``POREWATCH_CONFIG`` environment variable (optional) and ``POREWATCH_<SECTION>__<KEY>`` variables,
as for every porewatch command. Documents go to the 0MQ proxy, frames to the service. At a real
beamline this file is replaced by the beamline's profile, which must expose a ``roi_rescan(request,
angle_factor)`` plan (see porewatch.services.beamline.rescan_plan).
"""

import os

from porewatch.services.beamline.rescan_plan import SimulatedRescanSource, make_roi_rescan
from porewatch.services.beamline.station import SimulatedBeamline, build_bench, step_metadata
from porewatch.services.config import load_config

_config = load_config(os.environ.get("POREWATCH_CONFIG") or None)
_host = "127.0.0.1" if _config.network.host in ("0.0.0.0", "*") else _config.network.host
_bench = build_bench(_config.simulation)
_beamline = SimulatedBeamline(_bench, documents_address=f"tcp://{_host}:{_config.network.documents_in_port}",
                              frames_address=f"tcp://{_host}:{_config.network.frames_port}")

RE = _beamline.run_engine
galvanostat, detector, shutter = _beamline.galvanostat, _beamline.detector, _beamline.shutter
rotation, sample_stage = _beamline.rotation, _beamline.sample_stage
roi_rescan = make_roi_rescan(SimulatedRescanSource(_bench), step_metadata(_bench), detector=detector,
                             rotation=rotation, shutter=shutter, sample_stage=sample_stage)
