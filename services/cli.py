"""The ``porewatch`` command line: one app, a sub-command per job; heavy imports inside commands."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import List, Optional

import typer

from .config import Config, load_config, to_toml

app = typer.Typer(help="Streaming tomography analysis of Li|LLZO|Li cells.", no_args_is_help=True,
                  add_completion=False)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

ConfigOption = typer.Option(None, "--config", "-c", help="TOML configuration file.", exists=True, dir_okay=False)
SetOption = typer.Option([], "--set", "-s", help="Override a setting: section.key=value (repeatable).")


def _load(config_file: Optional[Path], overrides: List[str]) -> Config:
    try:
        config = load_config(config_file, overrides=overrides)
    except ValueError as error:
        typer.echo(f"porewatch: {error}", err=True)
        raise typer.Exit(2) from error
    logging.basicConfig(level=config.service.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Tiled request otherwise
    return config


def _wait_for_signal() -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()


@config_app.command("show")
def config_show(config_file: Optional[Path] = ConfigOption, overrides: List[str] = SetOption) -> None:
    """Print the effective configuration as TOML (defaults < file < POREWATCH_* environment < --set)."""
    typer.echo(to_toml(_load(config_file, overrides)))


@app.command()
def serve(config_file: Optional[Path] = ConfigOption, overrides: List[str] = SetOption,
          with_proxy: bool = typer.Option(False, help="Also start Bluesky's 0MQ document proxy.")) -> None:
    """Run the service until interrupted (Ctrl-C or SIGTERM)."""
    from .beamline.proxy import DocumentProxy
    from .service import PorewatchService

    config = _load(config_file, overrides)
    net = config.network
    proxy = DocumentProxy(f"tcp://{net.host}:{net.documents_in_port}", f"tcp://{net.host}:{net.documents_out_port}")
    service = PorewatchService(config)
    try:
        if with_proxy:
            proxy.start()
        service.start()
        typer.echo(f"porewatch serving: frames {service.frames_endpoint}, control room "
                   f"{service.control_room_endpoint}, metrics http://{net.host}:{service.metrics_port}/metrics",
                   err=True)
        _wait_for_signal()
    finally:
        service.stop()
        proxy.stop()


@app.command()
def demo(config_file: Optional[Path] = ConfigOption, overrides: List[str] = SetOption) -> None:
    """Run a whole simulated experiment (pristine -> plate -> strip) through every component."""
    from .demo import run_demo

    raise typer.Exit(run_demo(_load(config_file, overrides)))


@app.command()
def simulate(config_file: Optional[Path] = ConfigOption, overrides: List[str] = SetOption,
             export: Optional[Path] = typer.Option(None, help="Write DXchange files (+ ground truth) to this "
                                                              "folder instead of streaming to a service.")) -> None:
    """Run the simulated beamline: stream to a running service, or export DXchange step files."""
    from .simulation import export_experiment, stream_experiment

    config = _load(config_file, overrides)
    if export is not None:
        for path in export_experiment(config.simulation, export):
            typer.echo(str(path))
    else:
        for uid in stream_experiment(config):
            typer.echo(uid)


@app.command()
def replay(files: List[Path] = typer.Argument(..., exists=True, dir_okay=False, help="DXchange step files."),
           config_file: Optional[Path] = ConfigOption, overrides: List[str] = SetOption,
           wait: bool = typer.Option(False, help="Return once the service has published the last step."),
           local: bool = typer.Option(False, help="Start the service (and proxy) here, process, then stop."),
           timeout_s: float = typer.Option(600.0, help="Longest wait for results, s.")) -> None:
    """Stream DXchange HDF5 step files to a service through the frame protocol."""
    from .replay import replay_files

    config = _load(config_file, overrides)
    reports = replay_files(config, files, wait=wait or local, local=local, timeout_s=timeout_s)
    for report in reports:
        typer.echo(json.dumps(report))


@app.command()
def report(cell: str = typer.Option(..., "--cell", help="Cell id."),
           config_file: Optional[Path] = ConfigOption, overrides: List[str] = SetOption,
           as_json: bool = typer.Option(False, "--json", help="Print the per-step results as JSON.")) -> None:
    """Print per-step results of a cell, read back from Tiled."""
    from .report import format_table, read_cell_report

    config = _load(config_file, overrides)
    steps = read_cell_report(config, cell)
    if not steps:
        typer.echo(f"porewatch: no steps of cell {cell!r} in Tiled", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps({"cell_id": cell, "steps": steps}, indent=2) if as_json else format_table(steps))


if __name__ == "__main__":
    app()
