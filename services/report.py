"""``porewatch report``: per-step results of a cell, read back from Tiled."""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

from .config import Config
from .tiled_store import LocalTiledServer, TiledResultStore

ELECTRODES = ("top", "bottom")


@contextmanager
def open_result_store(config: Config) -> Iterator[TiledResultStore]:
    """The result store of ``tiled.uri`` when set, else of the local catalog in ``tiled.directory``."""
    with ExitStack() as stack:
        if config.tiled.uri:
            uri, api_key = config.tiled.uri, config.tiled.api_key
        else:
            server = stack.enter_context(LocalTiledServer(config.tiled.directory))
            uri, api_key = server.uri, server.api_key
        yield stack.enter_context(TiledResultStore(uri, api_key=api_key))


def read_cell_report(config: Config, cell_id: str) -> list[dict]:
    """The stored step reports of ``cell_id`` sorted by step index; empty if the cell is unknown."""
    with open_result_store(config) as store:
        try:
            return store.read_cell(cell_id)
        except KeyError:
            return []


def write_cell_plots(config: Config, cell_id: str, directory: Path) -> list[Path]:
    """Figures of the cell's stored steps into ``directory`` (see :mod:`porewatch.services.plots`); the files."""
    from .plots import write_plots

    with open_result_store(config) as store:
        try:
            steps = store.read_cell(cell_id)
        except KeyError:
            return []

        def array(step_index: int, key: str):
            try:
                return store.read_array(cell_id, step_index, key)
            except KeyError:
                return None

        return write_plots(steps, array, Path(directory))


def _number(value, scale: float = 1.0, digits: int = 1) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"


def format_table(steps: list[dict]) -> str:
    """A fixed-width table of the per-step, per-electrode results."""
    lines = [f"{'step':>4} {'name':<10} {'j_app':>7} {'elec':<6} {'z_coll':>7} {'z_elyt':>7} {'t_um':>6} "
             f"{'por':>6} {'por10':>6} {'j_mean':>7} {'j_std':>7} {'hot':>3}",
             "     (A/m^2 and um; porosities in %)"]
    for step in steps:
        for name in ELECTRODES:
            e = step[name]
            lines.append(
                f"{step['step_index']:>4} {step['step_name']:<10} "
                f"{_number(step['applied_current_density_A_m2'], digits=3):>7} {name:<6} "
                f"{_number(e['collector_interface_z_um']):>7} {_number(e['electrolyte_interface_z_um']):>7} "
                f"{_number(e['thickness_mean_um']):>6} {_number(e['porosity'], 100, 2):>6} "
                f"{_number(e['porosity_near_interface'], 100, 2):>6} "
                f"{_number(e['current_density_mean_A_m2'], digits=3):>7} "
                f"{_number(e['current_density_std_A_m2'], digits=3):>7} {len(e['hotspots']):>3}")
        lines.append(f"{'':>4} {'':<10} {'':>7} llzo   porosity {_number(step['llzo']['porosity'], 100, 2)} %")
    return "\n".join(lines)
