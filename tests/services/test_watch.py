"""``porewatch watch``: the stream folded into tables, live against a real PUB socket, and as a command."""

import io
import subprocess
import sys
import threading
import time

import pytest
import zmq
from rich.console import Console

from porewatch.services.control_room import ControlRoomPublisher
from porewatch.services.watch import WatchState, render, watch

SPOT = {"id": 1, "x_um": 155.8, "y_um": -155.8, "area_um2": 9140.6, "peak_current_density_A_m2": 1.5246,
        "llzo_beneath": {"porosity": 0.0123, "tortuosity": 1.0195, "solid_path": True}}


def report(step_index, name, applied, porosity, mean_j, hotspots=()):
    electrode = {"porosity": porosity, "porosity_near_interface": porosity / 2, "current_density_mean_A_m2": mean_j,
                 "current_density_std_A_m2": None, "hotspots": list(hotspots)}
    return {"cell_id": "cell-7", "step_index": step_index, "step_name": name, "applied_current_density_A_m2": applied,
            "top": electrode, "bottom": {**electrode, "porosity": porosity + 0.01, "hotspots": []},
            "llzo": {"porosity": 0.001}}


def experiment_messages():
    ident = lambda i, name: {"run_uid": f"run-{i}", "cell_id": "cell-7", "step_index": i, "step_name": name}
    messages = []
    for i, name, applied, porosity, mean_j, spots in ((0, "pristine", 0.0, 0.021, None, ()),
                                                      (1, "plate", 0.25, 0.034, 0.262, (SPOT,))):
        messages += [
            ("status", {"event": "step_started", "backend": "numpy", **ident(i, name)}),
            ("status", {"event": "progress", "backend": "numpy", **ident(i, name),
                        "frames_received": {"projections": 90, "flats": 4, "darks": 3},
                        "frames_expected": {"projections": 180, "flats": 4, "darks": 3}}),
            ("status", {"event": "stage", "stage": "reconstruct", "backend": "numpy", **ident(i, name)}),
            ("hotspots", {**ident(i, name), "hotspots": {"top": list(spots), "bottom": []}}),
            ("step", {**ident(i, name), "report": report(i, name, applied, porosity, mean_j, spots)}),
            ("status", {"event": "step_complete", "backend": "numpy", "end_to_end_s": 4.25, **ident(i, name)}),
        ]
    messages.append(("status", {"event": "step_started", "backend": "numpy", **ident(2, "strip")}))
    messages.append(("status", {"event": "progress", "backend": "numpy", **ident(2, "strip"),
                                "frames_received": {"projections": 45}, "frames_expected": {"projections": 180}}))
    return messages


def rendered(state) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(render(state))
    return console.file.getvalue()


def test_state_folds_the_stream_into_rows():
    state = WatchState()
    for topic, header in experiment_messages():
        state.update(topic, header)
    assert state.cell_id == "cell-7" and state.backend == "numpy"
    assert [row.status for row in state.steps.values()] == ["done in 4.2 s", "done in 4.2 s",
                                                            "acquiring 45/180 projections"]
    text = rendered(state)
    assert "3.40" in text and "4.40" in text  # top and bottom porosity of the plating step, %
    assert "0.250" in text and "0.262" in text  # applied and measured mean current density
    assert "156" in text and "-156" in text and "1.525" in text and "1.23" in text and "1.020" in text


def test_a_new_cell_starts_a_new_table():
    state = WatchState()
    for topic, header in experiment_messages():
        state.update(topic, header)
    state.update("status", {"event": "step_started", "cell_id": "cell-8", "step_index": 0, "step_name": "pristine"})
    assert state.cell_id == "cell-8" and list(state.steps) == [0] and state.hotspots is None


@pytest.fixture
def publisher():
    context = zmq.Context()
    pub = ControlRoomPublisher("tcp://127.0.0.1:0", context=context)
    endpoint = pub.start()
    stop = threading.Event()

    def publish_repeatedly():  # repeated, so that a subscriber joining late still sees every message
        while not stop.is_set():
            for topic, header in experiment_messages():
                pub.publish(topic, header)
            stop.wait(0.2)

    thread = threading.Thread(target=publish_repeatedly, daemon=True)
    thread.start()
    yield endpoint
    stop.set()
    thread.join(timeout=5)
    pub.stop()
    context.destroy(linger=0)


def test_watch_follows_a_live_stream_for_a_bounded_time(publisher):
    console = Console(file=io.StringIO(), width=200, color_system=None)
    started = time.monotonic()
    state = watch(publisher, duration_s=1.5, console=console)
    assert 1.5 <= time.monotonic() - started < 5
    assert sorted(state.steps) == [0, 1, 2] and state.hotspots_step == 1
    assert "plate" in console.file.getvalue() and "0.262" in console.file.getvalue()


def test_watch_command_prints_the_table(publisher):
    result = subprocess.run([sys.executable, "-m", "porewatch.services.cli", "watch", "--address", publisher,
                             "--duration", "2"], capture_output=True, text=True, timeout=60,
                            env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "cell cell-7" in result.stdout and "pristine" in result.stdout and "strip" in result.stdout
    assert "acquiring 45/180 projections" in result.stdout and "1.525" in result.stdout
