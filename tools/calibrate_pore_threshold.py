"""Calibrate the slice-fusion pore threshold of a segmentation model on simulated cells.

Simulates and reconstructs each cell as the service does, runs the network on the slices
crossing the Li electrodes and, for every threshold of a grid, decides pore vs Li with
:func:`~porewatch.kernels.segment.slice_fusion.fuse_pore_decision`.  Inside the true Li
electrodes (the simulator's Li and Li pore voxels; pellet pores excluded as the analysis
excludes them, :func:`~porewatch.kernels.quantify.porosity.lithium_pores`), all steps of
all cells pooled, it reports each decision's pore volume against the labelled one and its
pore IoU, and picks the threshold at which the fused pore volume equals the network's
slice-wise one (interpolated on the grid).  The fusion then adds the neighbouring slices'
evidence to where the pores are without moving the network's porosity: how far that reads
from the truth is the network's own bias, which differs from cell to cell (the table shows
it), and a threshold fitted to the labels of some simulated cells would carry their mix of
biases to every other cell.  Use cells that are neither training cells nor the held-out
evaluation cells.  Cells whose typical pore is under two voxels across are skipped, as
:mod:`porewatch.tools.eval_segment` does not judge them.

    python -m porewatch.tools.calibrate_pore_threshold --seed 8101 8102 --default-seed 8001 --n-cols 256 192
"""

import argparse
import json
import sys

import numpy as np

from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.porosity import lithium_pores
from porewatch.kernels.segment.slice_fusion import fuse_pore_decision
from porewatch.tools.eval_segment import RESOLVED_PORE_VOXELS, typical_pore_voxels

DEFAULT_THRESHOLDS = tuple(np.round(np.arange(0.15, 0.5001, 0.025), 3))


def step_counts(segmented, rows, truth_labels, thresholds) -> dict:
    """Voxel counts inside the true Li electrodes of one step: labelled pore, and per threshold
    (and for the slice-wise most probable class, key ``"argmax"``) predicted pore and its
    intersection with the labelled pore."""
    true_pore = lithium_pores(truth_labels, rows=slice(0, truth_labels.shape[0]))[rows]
    electrode = true_pore | (truth_labels[rows] == Phase.LITHIUM)
    counts = {"labelled": int(true_pore.sum())}
    variants = {"argmax": segmented.labels}
    for threshold in thresholds:
        variants[f"{threshold:.3f}"], _ = fuse_pore_decision(segmented.labels, segmented.confidence, segmented.share,
                                                             rows, threshold=threshold)
    for name, labels in variants.items():
        pore = (labels == Phase.PORE) & electrode
        counts[name] = {"predicted": int(pore.sum()), "both": int((pore & true_pore).sum())}
    return counts


def summarise(steps: list[dict], thresholds) -> dict:
    """Pooled pore volume (against the labelled one) and pore IoU per decision, and the threshold at
    which the fused pore volume equals the slice-wise one."""
    labelled = sum(s["labelled"] for s in steps)
    table = {}
    for name in ["argmax"] + [f"{t:.3f}" for t in thresholds]:
        predicted = sum(s[name]["predicted"] for s in steps)
        both = sum(s[name]["both"] for s in steps)
        table[name] = {"volume_ratio": predicted / labelled, "pore_iou": both / (predicted + labelled - both)}
    slice_wise = table["argmax"]["volume_ratio"]
    ratios = np.array([table[f"{t:.3f}"]["volume_ratio"] for t in thresholds])  # falls as the threshold rises
    if not ratios.min() <= slice_wise <= ratios.max():
        raise ValueError(f"the fused pore volume spans {ratios.min():.3f}..{ratios.max():.3f} of the labelled one "
                         f"over the thresholds {thresholds[0]}..{thresholds[-1]}, not the slice-wise "
                         f"{slice_wise:.3f}: widen --thresholds")
    chosen = float(np.interp(slice_wise, ratios[::-1], np.asarray(thresholds, dtype=float)[::-1]))
    return {"labelled_pore_voxels": labelled, "variants": table, "threshold": round(chosen, 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, nargs="*", default=[],
                        help="seeds of cells varied as the training cells are")
    parser.add_argument("--default-seed", type=int, nargs="*", default=[],
                        help="seeds of the default cell and detector")
    parser.add_argument("--n-cols", type=int, nargs="+", default=[256], help="detector widths")
    parser.add_argument("--steps", default="pristine,plate,strip")
    parser.add_argument("--model", default=None, help="model file; default the shipped one")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--thresholds", type=float, nargs="+", default=DEFAULT_THRESHOLDS)
    parser.add_argument("--json", default=None, help="write the counts and the summary here")
    args = parser.parse_args(argv)
    if not args.seed and not args.default_seed:
        parser.error("give calibration cells: --seed and/or --default-seed")
    from porewatch.services.config import PipelineConfig, SegmentationConfig
    from porewatch.services.segmentation import make_segmenter
    from porewatch.services.training_data import SimulatedCell, simulated_volumes

    thresholds = sorted(args.thresholds)
    segmenter = make_segmenter(SegmentationConfig(method="cnn", backend=args.backend, model_path=args.model))
    steps = []
    cells = [(seed, True) for seed in args.seed] + [(seed, False) for seed in args.default_seed]
    for n_cols in args.n_cols:
        for seed, randomise in cells:
            cell = SimulatedCell(seed, n_cols, tuple(args.steps.split(",")), randomise=randomise)
            pore_voxels = typical_pore_voxels(cell)
            if pore_voxels < RESOLVED_PORE_VOXELS:
                print(f"seed {seed} n {n_cols}: skipped, typical pore {pore_voxels:.1f} voxels across", flush=True)
                continue
            for index, mu, truth_labels, _, pixel_size_m in simulated_volumes(cell, PipelineConfig()):
                rows, segmented = segmenter.segment_electrode_slices(mu, pixel_size_m=pixel_size_m)
                counts = step_counts(segmented, rows, truth_labels, thresholds)
                steps.append({"seed": seed, "randomised": randomise, "n_cols": n_cols, "step": index,
                              "typical_pore_voxels": pore_voxels, **counts})
                print(f"seed {seed} n {n_cols} step {index}: labelled {counts['labelled']} pore voxels, "
                      f"argmax {counts['argmax']['predicted']}", flush=True)
    summary = summarise(steps, thresholds)
    print("\n| decision | pore volume / labelled | pore IoU in Li |\n|---|---|---|")
    for name, row in summary["variants"].items():
        label = "slice-wise most probable class" if name == "argmax" else f"fused, threshold {name}"
        print(f"| {label} | {row['volume_ratio']:.3f} | {row['pore_iou']:.3f} |")
    print(f"\nthreshold keeping the slice-wise pore volume: {summary['threshold']:.3f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"steps": steps, **summary}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
