"""``porewatch watch``: a terminal view of the control-room stream.

A live table of the steps (status, Li porosity, mean current density next to the applied one, hot
spots), the hot spots of the latest step, and rescan requests, redrawn as messages arrive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .control_room import ControlRoomSubscriber

ELECTRODES = ("top", "bottom")
TOPICS = ("status", "hotspots", "rescans", "step")
STAGE_NAMES = {"reconstruct": "reconstructing", "analyse": "segmenting + analysing", "publish": "publishing"}


@dataclass
class StepRow:
    """What is known about one step so far."""

    step_index: int
    step_name: str = "?"
    status: str = "started"
    report: dict | None = None


@dataclass
class WatchState:
    """The control-room stream folded into the rows of the tables (one cell at a time: the latest)."""

    cell_id: str | None = None
    backend: str | None = None
    steps: dict[int, StepRow] = field(default_factory=dict)
    hotspots: dict | None = None
    hotspots_step: int | None = None
    rescans: dict[str, dict] = field(default_factory=dict)
    messages: int = 0

    def update(self, topic: str, header: dict) -> None:
        """Take one message of the stream."""
        self.messages += 1
        if topic == "rescans" and "request" in header:
            self.rescans[header["request"]["request_id"]] = header
            return
        cell_id = header.get("cell_id")
        if cell_id is None or header.get("step_index") is None:
            return
        if cell_id != self.cell_id:
            self.cell_id, self.steps, self.hotspots = cell_id, {}, None
        row = self.steps.setdefault(header["step_index"], StepRow(header["step_index"]))
        row.step_name = header.get("step_name") or row.step_name
        self.backend = header.get("backend") or self.backend
        if topic == "status":
            row.status = self._status(header, row.status)
        elif topic == "hotspots":
            self.hotspots, self.hotspots_step = header["hotspots"], header["step_index"]
        elif topic == "step":
            row.report = header["report"]

    @staticmethod
    def _status(header: dict, current: str) -> str:
        event = header.get("event")
        if event == "progress":
            got, want = header["frames_received"], header["frames_expected"]
            return f"acquiring {got.get('projections', 0)}/{want.get('projections', 0)} projections"
        if event == "stage":
            return STAGE_NAMES.get(header["stage"], header["stage"])
        if event == "step_complete":
            return f"done in {header['end_to_end_s']:.1f} s"
        if event == "step_failed":
            return f"FAILED: {header.get('error')}"
        return "started" if event == "step_started" else current


def _number(value, scale: float = 1.0, digits: int = 3) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"


def steps_table(state: WatchState) -> Table:
    table = Table(title=f"cell {state.cell_id or '-'}  (backend {state.backend or '?'})", title_justify="left")
    for heading in ("step", "name", "status", "top porosity %", "bottom porosity %", "applied j A/m^2",
                    "top mean j", "bottom mean j", "hot spots"):
        table.add_column(heading, justify="left" if heading in ("name", "status") else "right")
    for index in sorted(state.steps):
        row = state.steps[index]
        report = row.report or {}
        cells = [str(index), row.step_name, row.status]
        cells += [_number(report.get(n, {}).get("porosity"), 100, 2) for n in ELECTRODES]
        cells.append(_number(report.get("applied_current_density_A_m2")))
        cells += [_number(report.get(n, {}).get("current_density_mean_A_m2")) for n in ELECTRODES]
        cells.append(str(sum(len(report[n]["hotspots"]) for n in ELECTRODES)) if report else "-")
        table.add_row(*cells)
    return table


def hotspots_table(state: WatchState) -> Table:
    table = Table(title=f"hot spots of step {state.hotspots_step if state.hotspots else '-'}", title_justify="left")
    for heading in ("electrode", "id", "x um", "y um", "area um^2", "peak j A/m^2", "LLZO porosity %",
                    "LLZO tortuosity"):
        table.add_column(heading, justify="right")
    for electrode in ELECTRODES:
        for spot in (state.hotspots or {}).get(electrode, []):
            beneath = spot.get("llzo_beneath") or {}
            tortuosity = "blocked" if beneath.get("solid_path") is False else _number(beneath.get("tortuosity"))
            table.add_row(electrode, str(spot["id"]), f"{spot['x_um']:.0f}", f"{spot['y_um']:.0f}",
                          f"{spot['area_um2']:.0f}", f"{spot['peak_current_density_A_m2']:.3f}",
                          _number(beneath.get("porosity"), 100, 2), tortuosity)
    return table


def rescans_table(state: WatchState) -> Table:
    table = Table(title="rescan requests", title_justify="left")
    for heading in ("request", "hot spot", "step", "plan", "state"):
        table.add_column(heading)
    for entry in state.rescans.values():
        request = entry["request"]
        table.add_row(request["request_id"], f"{request['electrode']} #{request['hotspot_id']}",
                      str(request["parent_step"]), request["plan_name"],
                      entry["event"] + (f" ({entry['detail']})" if entry.get("detail") else ""))
    return table


def render(state: WatchState) -> Group:
    parts = [steps_table(state), hotspots_table(state)]
    if state.rescans:
        parts.append(rescans_table(state))
    if not state.messages:
        parts.insert(0, Text("waiting for the control-room stream ...", style="dim"))
    return Group(*parts)


def watch(address: str, *, duration_s: float | None = None, console: Console | None = None,
          poll_s: float = 0.2) -> WatchState:
    """Follow the stream at ``address`` and redraw the tables until ``duration_s`` passes (None: Ctrl-C)."""
    console = console or Console()
    state = WatchState()
    subscriber = ControlRoomSubscriber(address, TOPICS)
    deadline = None if duration_s is None else time.monotonic() + duration_s
    try:
        with Live(render(state), console=console, auto_refresh=False, transient=False) as live:
            while deadline is None or time.monotonic() < deadline:
                message = subscriber.receive(poll_s)
                if message is None:
                    continue
                topic, header, _ = message
                state.update(topic, header)
                live.update(render(state), refresh=True)
    except KeyboardInterrupt:
        pass
    finally:
        subscriber.close()
    return state
