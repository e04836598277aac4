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
                   f"{service.control_room_endpoint}, metrics http://{net.host}:{service.metrics_port}/metrics, "
                   f"page {service.web_url or 'off'}", err=True)
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
           as_json: bool = typer.Option(False, "--json", help="Print the per-step results as JSON."),
           plots: Optional[Path] = typer.Option(None, "--plots", file_okay=False,
                                                help="Also write PNG figures (like the paper's) to this folder.")) -> None:
    """Print per-step results of a cell, read back from Tiled."""
    from .report import format_table, read_cell_report, write_cell_plots

    config = _load(config_file, overrides)
    steps = read_cell_report(config, cell)
    if not steps:
        typer.echo(f"porewatch: no steps of cell {cell!r} in Tiled", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps({"cell_id": cell, "steps": steps}, indent=2) if as_json else format_table(steps))
    if plots is not None:
        for path in write_cell_plots(config, cell, plots):
            typer.echo(f"wrote {path}", err=True)


@app.command()
def watch(address: Optional[str] = typer.Option(None, help="Control-room stream, tcp://host:port; default: "
                                                            "network.host and network.control_room_port."),
          duration_s: Optional[float] = typer.Option(None, "--duration", help="Stop after this many seconds."),
          config_file: Optional[Path] = ConfigOption, overrides: List[str] = SetOption) -> None:
    """Live terminal table of the control-room stream: steps, porosities, current density, hot spots."""
    from .watch import watch as watch_stream

    net = _load(config_file, overrides).network
    host = "127.0.0.1" if net.host in ("0.0.0.0", "*") else net.host
    watch_stream(address or f"tcp://{host}:{net.control_room_port}", duration_s=duration_s)


@app.command()
def train(out: Path = typer.Option(..., "--out", help="Folder for the model files and card."),
          name: str = typer.Option("unet_resnet34", help="Base name of the written files."),
          simulated: List[str] = typer.Option([], help="Simulated cell SEED or SEED:N_COLS (repeatable)."),
          steps: str = typer.Option("pristine", help="Steps of each simulated cell, comma-separated (the "
                                                     "paper's workflow: one step, applied to the later ones)."),
          randomise: bool = typer.Option(True, help="Vary simulated cells and detectors around the defaults."),
          images: List[Path] = typer.Option([], exists=True, dir_okay=False, help="Volume (TIFF or HDF5, 1/m)."),
          labels: List[Path] = typer.Option([], exists=True, dir_okay=False, help="Its label volume (Phase values)."),
          image_key: Optional[str] = typer.Option(None, help="HDF5 dataset of the volumes."),
          label_key: Optional[str] = typer.Option(None, help="HDF5 dataset of the label volumes."),
          pixel_size_um: Optional[float] = typer.Option(None, help="Voxel size of the user volumes, um."),
          margin_um: float = typer.Option(60.0, help="Slices this far beyond the Li electrodes are included."),
          electrode: str = typer.Option("top", help="Slices of the top, bottom or both Li electrodes (the "
                                                    "paper's workflow: one electrode)."),
          train_slices: int = typer.Option(800, help="Training slices (the paper's split: 800 + 200 from one "
                                                     "electrode in one step)."),
          val_slices: int = typer.Option(200, help="Validation slices."),
          val_block_slices: int = typer.Option(20, help="Validation takes blocks of up to this many consecutive "
                                                        "slices of a volume (1: single slices)."),
          val_guard_slices: int = typer.Option(2, help="No training slice within this many rows of a validation "
                                                       "slice of its volume (0 and a block of 1: a random split)."),
          architecture: str = typer.Option("resnet34", help="resnet34 (the paper's) or tiny."),
          iterations: int = typer.Option(4000), batch_size: int = typer.Option(8),
          crop_px: int = typer.Option(128, help="Side of the random training crops."),
          extra_blur_px: float = typer.Option(0.0, help="Blur half the crops by a Gaussian of up to this "
                                                        "standard deviation, px (0: off)."),
          background_per_m: float = typer.Option(0.0, help="Add to half the crops a smooth background field of "
                                                           "up to this mean and standard deviation, 1/m (0: off)."),
          learning_rate: float = typer.Option(1e-3), eval_every: int = typer.Option(250),
          patience: int = typer.Option(6, help="Evaluations without improvement before stopping."),
          ema_decay: Optional[float] = typer.Option(None, help="Evaluate and keep an exponential moving average "
                                                               "of the weights with this decay per iteration."),
          dice_weight: float = typer.Option(1.0, help="Weight of the soft Dice loss beside cross-entropy "
                                                      "(0: cross-entropy alone)."),
          count_weight: float = typer.Option(0.0, help="Weight of the pore count loss: the batch's decided pore "
                                                       "pixels among its labelled pore-or-Li ones against the "
                                                       "labelled pores (0: off)."),
          max_minutes: Optional[float] = typer.Option(None, help="Stop training after this long."),
          seed: int = typer.Option(0), threads: Optional[int] = typer.Option(None, help="torch CPU threads."),
          keep_fp32: bool = typer.Option(False, help="Also write the fp32 ONNX and a safetensors checkpoint."),
          cache_dir: Optional[Path] = typer.Option(None, help="Keep simulated slices here between runs."),
          init: Optional[Path] = typer.Option(None, exists=True, dir_okay=False,
                                              help="Continue from this model file (.safetensors or .onnx)."),
          config_file: Optional[Path] = ConfigOption, overrides: List[str] = SetOption) -> None:
    """Train the segmentation U-Net on labelled slices (simulated ground truth and/or user label volumes)."""
    from .segmentation import importable

    if not importable("torch"):
        raise typer.BadParameter("porewatch train needs torch: pip install 'porewatch[train]'")
    import torch

    from porewatch.kernels.segment.augment import Augmentation
    from porewatch.kernels.segment.training import TrainSettings

    from .training import ARCHITECTURES, TrainRequest, parse_simulated, run_training

    config = _load(config_file, overrides)
    if len(images) != len(labels):
        raise typer.BadParameter("give one --labels per --images")
    if electrode not in ("top", "bottom", "both"):
        raise typer.BadParameter(f"--electrode must be top, bottom or both, got {electrode!r}")
    if architecture not in ARCHITECTURES:
        raise typer.BadParameter(f"--architecture must be one of {sorted(ARCHITECTURES)}")
    if threads:
        torch.set_num_threads(threads)
    request = TrainRequest(out_dir=out, name=name, volumes=tuple(zip(images, labels)), image_key=image_key,
                           label_key=label_key, pixel_size_um=pixel_size_um, margin_um=margin_um,
                           electrodes=("top", "bottom") if electrode == "both" else (electrode,),
                           simulated=parse_simulated(simulated, steps=tuple(steps.split(",")), randomise=randomise),
                           n_train=train_slices, n_val=val_slices, val_block_slices=val_block_slices,
                           val_guard_slices=val_guard_slices, architecture=architecture, keep_fp32=keep_fp32,
                           cache_dir=cache_dir, init=init)
    settings = TrainSettings(iterations=iterations, batch_size=batch_size, learning_rate=learning_rate,
                             eval_every=eval_every, patience=patience, ema_decay=ema_decay, seed=seed,
                             dice_weight=dice_weight, count_weight=count_weight,
                             max_seconds=None if max_minutes is None else 60.0 * max_minutes,
                             augmentation=Augmentation(crop_px=crop_px, extra_blur_max_px=extra_blur_px,
                                                       background_max_per_m=background_per_m))
    card = run_training(request, config.pipeline, settings)
    typer.echo(json.dumps({"files": card["files"], "validation": card["validation"]}, indent=1))


@app.command("label-init")
def label_init(volume: Path = typer.Argument(..., exists=True, dir_okay=False, help="Volume (TIFF or HDF5, 1/m)."),
               out: Path = typer.Option(..., "--out", help="Label TIFF stack to write."),
               key: Optional[str] = typer.Option(None, help="HDF5 dataset of the volume.")) -> None:
    """Initial labels by edge-based segmentation (gradient + watershed), for manual correction."""
    from .training import run_label_init

    typer.echo(json.dumps(run_label_init(volume, out, key=key)))


if __name__ == "__main__":
    app()
