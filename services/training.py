"""``porewatch train`` and ``porewatch label-init``: the glue between labelled data, the training loop and files.

``train`` gathers labelled slices (simulated cells and/or user volumes with label volumes),
splits them (the paper's 800 training + 200 validation slices by default), trains the U-Net,
and writes ``<name>.onnx`` (fp16, the deployable file), optionally ``<name>.fp32.onnx`` and
``<name>.safetensors``, ``<name>.history.json`` and the model card ``<name>.md`` (data,
command, metrics, commit, ONNX-vs-torch check).
"""

from __future__ import annotations

import datetime
import json
import logging
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from porewatch.kernels.labels import Phase
from porewatch.kernels.segment.dataset import LabelledSlices, intensity_statistics, split_slices

from .config import PipelineConfig
from .training_data import SimulatedCell, labelled_volume_slices, read_volume, simulated_slices

log = logging.getLogger(__name__)

#: Encoder/decoder presets: the paper's ResNet34 U-Net and a tiny one for tests and smoke runs.
ARCHITECTURES = {
    "resnet34": dict(encoder_channels=(64, 128, 256, 512), depths=(3, 4, 6, 3),
                     decoder_channels=(256, 128, 64, 32, 16)),
    "tiny": dict(encoder_channels=(8, 16, 32, 64), depths=(1, 1, 1, 1), decoder_channels=(32, 16, 8, 8, 8)),
}


@dataclass(frozen=True)
class TrainRequest:
    """Everything ``porewatch train`` was asked for."""

    out_dir: Path
    name: str = "unet_resnet34"
    simulated: tuple[SimulatedCell, ...] = ()
    volumes: tuple[tuple[Path, Path], ...] = ()
    image_key: str | None = None
    label_key: str | None = None
    pixel_size_um: float | None = None
    margin_um: float = 60.0
    electrodes: tuple[str, ...] = ("top",)
    n_train: int = 800
    n_val: int = 200
    val_block_slices: int = 20
    val_guard_slices: int = 2
    architecture: str = "resnet34"
    keep_fp32: bool = False
    cache_dir: Path | None = None
    init: Path | None = None
    command: str = field(default_factory=lambda: shlex.join(["porewatch", *sys.argv[1:]]))


def parse_simulated(items: list[str], *, steps: tuple[str, ...], randomise: bool) -> tuple[SimulatedCell, ...]:
    """``SEED:N_COLS`` strings (``SEED`` alone means 128 columns) as :class:`SimulatedCell` objects."""
    cells = []
    for item in items:
        seed, _, n_cols = item.partition(":")
        try:
            cells.append(SimulatedCell(int(seed), int(n_cols or 128), tuple(steps), randomise))
        except ValueError as error:
            raise ValueError(f"--simulated {item!r}: expected SEED or SEED:N_COLS") from error
    return tuple(cells)


def gather_slices(request: TrainRequest, pipeline: PipelineConfig) -> LabelledSlices:
    """Every labelled electrode-crossing slice the request names."""
    slices = LabelledSlices([], [], ())
    for cell in request.simulated:
        started = time.monotonic()
        slices = slices.concat(simulated_slices(cell, pipeline, margin_um=request.margin_um,
                                                electrodes=request.electrodes, cache_dir=request.cache_dir))
        log.info("simulated cell seed %d (%d px): %d slices so far, %.0f s", cell.seed, cell.n_cols, len(slices),
                 time.monotonic() - started)
    for image_path, label_path in request.volumes:
        if request.pixel_size_um is None:
            raise ValueError("--pixel-size-um is needed with user volumes")
        slices = slices.concat(labelled_volume_slices(image_path, label_path, image_key=request.image_key,
                                                      label_key=request.label_key, margin_um=request.margin_um,
                                                      pixel_size_m=request.pixel_size_um * 1e-6,
                                                      electrodes=request.electrodes))
    if len(slices) < 2:
        raise ValueError("no labelled slices: give --simulated cells or --images/--labels volumes")
    return slices


def git_commit() -> str:
    """``HEAD`` of the repository holding this file, with ``-dirty`` if it has changes; ``unknown`` outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def run_training(request: TrainRequest, pipeline: PipelineConfig, settings) -> dict:
    """Gather data, train, export and document; returns the model card's facts (also written as files)."""
    import torch

    from porewatch.kernels.segment.training import train_segmenter
    from porewatch.kernels.segment.unet import UNet, parameter_count

    from . import model_io

    slices = gather_slices(request, pipeline)
    train, val = split_slices(slices, n_train=request.n_train, n_val=request.n_val, seed=settings.seed,
                              block_slices=request.val_block_slices, guard_slices=request.val_guard_slices)
    torch.manual_seed(settings.seed)
    if request.init is None:
        offset, scale = intensity_statistics(train)
        model = UNet(len(Phase), input_offset_per_m=offset, input_scale_per_m=scale,
                     **ARCHITECTURES[request.architecture])
        parent = None
    else:  # continue from a model file: its architecture, normalisation and weights
        model = model_io.load_model(request.init).train()
        offset, scale = float(model.input_offset_per_m), float(model.input_scale_per_m)
        meta = model_io.read_metadata(request.init)
        parent = {"file": Path(request.init).name, "sha256": model_io.file_sha256(request.init),
                  "command": meta.get("command"), "commit": meta.get("commit"),
                  "initialised_from": meta.get("initialised_from")}
    log.info("training %s U-Net (%d parameters) on %d slices, validating on %d", request.architecture,
             parameter_count(model), len(train), len(val))

    def report(entry: dict) -> None:
        log.info("iteration %d (%.0f s): loss %.4f, validation IoU %s", entry["iteration"], entry["seconds"],
                 entry["train_loss"], " ".join(f"{p.name.lower()} {v:.3f}" for p, v in zip(Phase, entry["val_iou"])))

    result = train_segmenter(model, train, val, n_classes=len(Phase), settings=settings, on_evaluation=report)
    request.out_dir.mkdir(parents=True, exist_ok=True)
    base = request.out_dir / request.name
    info = {"classes": [p.name.lower() for p in Phase], "commit": git_commit(), "command": request.command,
            "initialised_from": parent}
    files = {"onnx_fp16": base.with_suffix(".onnx")}
    if request.keep_fp32:
        files["onnx_fp32"] = base.with_suffix(".fp32.onnx")
        files["checkpoint"] = base.with_suffix(".safetensors")
        model_io.save_checkpoint(model, files["checkpoint"], info=info)
        model_io.export_onnx(model, files["onnx_fp32"], half=False, info=info)
    model_io.export_onnx(model, files["onnx_fp16"], half=True, info=info)
    sample = _export_check_sample(val)
    checks = {key: model_io.compare_onnx_with_torch(model, path, images=sample)
              for key, path in files.items() if key.startswith("onnx")}
    card = {
        "name": request.name, "architecture": request.architecture, "parameters": parameter_count(model),
        "command": request.command, "commit": info["commit"], "initialised_from": parent,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "torch": torch.__version__, "python": platform.python_version(),
        "data": {"slices_train": len(train), "slices_val": len(val), "val_block_slices": request.val_block_slices,
                 "val_guard_slices": request.val_guard_slices, "sources": _source_summary(slices),
                 "margin_um": request.margin_um, "input_offset_per_m": offset, "input_scale_per_m": scale},
        "training": {"settings": _settings_dict(settings), "stopped": result.stopped,
                     "best_iteration": result.best["iteration"], "seconds": result.history[-1]["seconds"]},
        "validation": {"iou": dict(zip((p.name.lower() for p in Phase), result.best["val_iou"])),
                       "dice": dict(zip((p.name.lower() for p in Phase), result.best["val_dice"]))},
        "onnx_check": checks,
        "files": {key: {"path": path.name, "bytes": path.stat().st_size, "sha256": model_io.file_sha256(path)}
                  for key, path in files.items()},
    }
    base.with_suffix(".history.json").write_text(json.dumps(result.history, indent=1))
    base.with_suffix(".md").write_text(model_card_markdown(card))
    failed = {key: check for key, check in checks.items() if check["class_agreement"] < EXPORT_CLASS_AGREEMENT}
    if failed:
        raise RuntimeError(f"the exported ONNX disagrees with torch on validation slices: {failed} (at least "
                           f"{EXPORT_CLASS_AGREEMENT:.0%} of pixels must get the same class); files kept in "
                           f"{request.out_dir}")
    return card


#: Least share of validation pixels on which an exported ONNX file must give torch's class.
EXPORT_CLASS_AGREEMENT = 0.99


def _export_check_sample(val: LabelledSlices, n: int = 2, side_px: int = 128):
    """Centre crops ``(n, 1, s, s)`` of the first validation slices (1/m), ``s`` at most ``side_px`` and a
    multiple of 32; None when a slice is under 32 pixels wide (the check then uses noise)."""
    images = val.images[:n]
    side = min(side_px, *(min(image.shape) for image in images)) // 32 * 32
    if side < 32:
        return None
    crops = []
    for image in images:
        y, x = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
        crops.append(image[y:y + side, x:x + side])
    return np.stack(crops)[:, None].astype(np.float32)


def _split_words(data: dict) -> str:
    """How the model card's slices were split, in words."""
    block, guard = data["val_block_slices"], data["val_guard_slices"]
    if block == 1 and guard == 0:
        return "random split"
    return (f"validation in blocks of up to {block} consecutive slices, no training slice within {guard} rows of "
            f"a validation slice")


def _source_summary(slices: LabelledSlices) -> dict[str, int]:
    """Slice counts per source volume (the text before `` z ``)."""
    counts: dict[str, int] = {}
    for source in slices.sources:
        key = source.rsplit(" z ", 1)[0]
        counts[key] = counts.get(key, 0) + 1
    return counts


def _settings_dict(settings) -> dict:
    from dataclasses import asdict

    return json.loads(json.dumps(asdict(settings), default=str))


def model_card_markdown(card: dict) -> str:
    """The model card as Markdown, with the full record as a JSON block at the end."""
    iou = card["validation"]["iou"]
    dice = card["validation"]["dice"]
    parents, parent = [], card.get("initialised_from")
    while parent:
        parents.append(parent)
        parent = parent.get("initialised_from")
    lineage = "".join(f"\nwhich continued from `{p['file']}` (sha256 `{p['sha256'][:16]}...`, commit "
                      f"`{p['commit']}`), made by\n\n```\n{p['command']}\n```\n" for p in parents)
    rows = "\n".join(f"| {name} | {_fmt(iou[name])} | {_fmt(dice[name])} |" for name in iou)
    return f"""# Segmentation model `{card['name']}`

U-Net with a {card['architecture']} encoder ({card['parameters']:,} parameters), input: reconstructed
attenuation in 1/m, one z-slice at a time; output: per-pixel probabilities of the classes
{', '.join(iou)} (`porewatch.kernels.labels.Phase` order).

## Reproduce

```
{card['command']}
```

commit `{card['commit']}`, {card['date']}, torch {card['torch']}, Python {card['python']}.
{lineage}
## Data

{card['data']['slices_train']} training and {card['data']['slices_val']} validation slices ({_split_words(card['data'])}), the slices
crossing the Li electrodes (coarse bands widened by {card['data']['margin_um']:g} um), from:

{chr(10).join(f'- {source}: {count} slices' for source, count in card['data']['sources'].items())}

## Validation (best of iteration {card['training']['best_iteration']}; stopped by {card['training']['stopped']})

| class | IoU | Dice |
|---|---|---|
{rows}

## Files

{chr(10).join(f"- `{f['path']}`: {f['bytes'] / 1e6:.1f} MB, sha256 `{f['sha256']}`" for f in card['files'].values())}

ONNX Runtime vs torch (float32) on centre crops of validation slices: {json.dumps(card['onnx_check'])}

## Record

```json
{json.dumps(card, indent=1)}
```
"""


def _fmt(value: float) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.3f}"


def run_label_init(volume_path: Path, out_path: Path, *, key: str | None = None, settings=None) -> dict:
    """Write initial labels of a volume (TIFF or HDF5 ``key``, 1/m) as a uint8 TIFF stack, for manual correction."""
    import tifffile

    from porewatch.kernels.segment.label_init import LabelInitSettings, initial_labels

    mu = np.ascontiguousarray(read_volume(volume_path, key=key), dtype=np.float32)
    labels = initial_labels(mu, settings=settings or LabelInitSettings())
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(out_path, labels, compression="zlib",
                     metadata={"axes": "ZYX", "classes": ",".join(p.name.lower() for p in Phase)})
    counts = np.bincount(labels.ravel(), minlength=len(Phase))
    return {p.name.lower(): int(c) for p, c in zip(Phase, counts)}
