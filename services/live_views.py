"""What the control room sees beyond the step report: slices, depth profiles, the pellet beneath hot spots.

These are computed by the service's last stage (:mod:`porewatch.services.outputs`) from the step's
volume, labels and analysis, published on the control-room stream and stored in Tiled; the web
page (:mod:`porewatch.services.web`) turns any control-room message into JSON with
:func:`message_to_json`.
"""

from __future__ import annotations

import base64
import math

import numpy as np


from .processing import AnalysedStep

ELECTRODES = ("top", "bottom")
#: Longest side of a published slice, pixels (slices are decimated, not interpolated).
SLICE_MAX_SIZE = 256
#: Percentiles of the volume mapped to black and white on the page.
DISPLAY_PERCENTILES = (1.0, 99.0)


def slice_rows(report: dict, n_z: int, pixel_size_m: float) -> int:
    """Row of the axial (xy) slice: mid-depth of the top Li electrode, or the volume's middle."""
    top = report.get("top") or {}
    collector, electrolyte = top.get("collector_interface_z_um"), top.get("electrolyte_interface_z_um")
    if collector is None or electrolyte is None:
        return n_z // 2
    return int(np.clip(round((collector + electrolyte) / 2 * 1e-6 / pixel_size_m), 0, n_z - 1))


def orthogonal_slices(volume: np.ndarray, labels: np.ndarray, *, z_index: int,
                      max_size: int = SLICE_MAX_SIZE) -> tuple[dict[str, np.ndarray], dict]:
    """Three orthogonal slices of a volume and its labels, decimated to at most ``max_size`` pixels a side.

    Parameters
    ----------
    volume : (n_z, n_y, n_x) float32, 1/m
    labels : (n_z, n_y, n_x) uint8
    z_index : row of the axial slice

    Returns
    -------
    arrays : ``xy`` (n_y', n_x') at ``z_index``, ``xz`` (n_z', n_x') through the central y,
        ``yz`` (n_z', n_y') through the central x, float32; and ``<name>_labels`` uint8 beside each.
    header : ``stride`` (decimation), ``z_index``, ``y_index``, ``x_index`` (full-volume indices) and
        ``display_range`` (1st and 99th percentile of the slices, 1/m).
    """
    if volume.ndim != 3 or volume.shape != labels.shape:
        raise ValueError(f"volume {volume.shape} and labels {labels.shape} must be the same 3-D shape")
    if not 0 <= z_index < volume.shape[0]:
        raise ValueError(f"z_index {z_index} outside 0..{volume.shape[0] - 1}")
    stride = max(1, math.ceil(max(volume.shape) / max_size))
    y_index, x_index = volume.shape[1] // 2, volume.shape[2] // 2
    cuts = {"xy": (z_index, slice(None, None, stride), slice(None, None, stride)),
            "xz": (slice(None, None, stride), y_index, slice(None, None, stride)),
            "yz": (slice(None, None, stride), slice(None, None, stride), x_index)}
    arrays = {}
    for name, cut in cuts.items():
        arrays[name] = np.ascontiguousarray(volume[cut], dtype=np.float32)
        arrays[f"{name}_labels"] = np.ascontiguousarray(labels[cut], dtype=np.uint8)
    values = np.concatenate([arrays[name].ravel() for name in cuts])
    finite = values[np.isfinite(values)]
    low, high = np.percentile(finite, DISPLAY_PERCENTILES) if finite.size else (0.0, 1.0)
    header = {"stride": stride, "z_index": int(z_index), "y_index": y_index, "x_index": x_index,
              "display_range": [float(low), float(high)]}
    return arrays, header


def step_slices(analysed: AnalysedStep) -> tuple[dict[str, np.ndarray], dict]:
    """:func:`orthogonal_slices` of an analysed step, the axial one through the top Li electrode."""
    volume, meta = analysed.reconstructed.volume, analysed.reconstructed.step.metadata
    z_index = slice_rows(analysed.report, volume.shape[0], meta.pixel_size_m)
    arrays, header = orthogonal_slices(volume, analysed.labels, z_index=z_index)
    return arrays, {**header, "pixel_size_um": meta.pixel_size_m * 1e6}


def region_of_interest(analysed: AnalysedStep, roi: dict) -> tuple[dict[str, np.ndarray], dict]:
    """Volume and labels of a rescan inside the region of interest: the columns of the square around
    the circle ``roi`` (``x_um``, ``y_um``, ``radius_um``), every row.

    Returns ``volume`` (n_z, n_i, n_j) float32 and ``labels`` uint8, and ``{"roi_index": [i0, i1, j0, j1]}``
    (half-open index ranges of y and x in the full volume).
    """
    volume, pixel_um = analysed.reconstructed.volume, analysed.reconstructed.step.metadata.pixel_size_m * 1e6
    _, n_y, n_x = volume.shape
    centre_i, centre_j = roi["y_um"] / pixel_um + (n_y - 1) / 2, roi["x_um"] / pixel_um + (n_x - 1) / 2
    half = roi["radius_um"] / pixel_um
    i0, i1 = max(0, math.floor(centre_i - half)), min(n_y, math.ceil(centre_i + half) + 1)
    j0, j1 = max(0, math.floor(centre_j - half)), min(n_x, math.ceil(centre_j + half) + 1)
    if i1 <= i0 or j1 <= j0:
        raise ValueError(f"roi {roi} lies outside the {n_y} x {n_x} volume")
    arrays = {"volume": np.ascontiguousarray(volume[:, i0:i1, j0:j1], dtype=np.float32),
              "labels": np.ascontiguousarray(analysed.labels[:, i0:i1, j0:j1], dtype=np.uint8)}
    return arrays, {"roi_index": [i0, i1, j0, j1]}


def depth_profiles(analysed: AnalysedStep) -> dict[str, np.ndarray]:
    """``<electrode>_porosity_depth_profile`` (n_bins,) float32: porosity per depth bin from Li|LLZO."""
    return {f"{name}_porosity_depth_profile":
            np.asarray(analysed.analysis.electrode(name).porosity.depth_profile, dtype=np.float32)
            for name in ELECTRODES}


def encode_array(array: np.ndarray) -> dict:
    """``{"dtype", "shape", "data"}`` with the raw little-endian bytes in base64 (float64 sent as float32)."""
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return {"dtype": str(array.dtype.name), "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii")}


def message_to_json(topic: str, header: dict, arrays: dict[str, np.ndarray]) -> dict:
    """A control-room message as one JSON-able dict: ``{"topic", "header", "arrays": {name: encoded}}``."""
    header = {key: value for key, value in header.items() if key != "arrays"}
    return {"topic": topic, "header": header, "arrays": {name: encode_array(a) for name, a in arrays.items()}}
