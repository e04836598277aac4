"""``porewatch report --plots DIR``: PNG figures of a cell's steps, after Dixit et al. (2020) Figs 2-4.

Figures are drawn from the step reports and the arrays stored beside them in Tiled
(``array(step_index, key)`` returns an array or None when it is not stored):

* ``porosity_vs_step.png``: Li porosity overall and within 10 um of Li|LLZO per electrode, and
  the pellet's bulk and interfacial porosity (Figs 2b, 4c);
* ``li_depth_profiles.png``: Li porosity against depth from Li|LLZO, one line per step (Fig. S5b);
* ``pore_density_difference.png``: step-to-step pore density difference maps (Figs 2c, d);
* ``current_density_step_NNN.png``: current density maps with the hot spots circled (Fig. 3b);
* ``llzo_profiles.png``: the pellet's normalised porosity depth profile per step and the
  latest subsurface porosity map (Figs 4a, b);
* ``microstructure_factors.png``: M_x, M_y, M_z of tomography and synthetic domains per step
  (Fig. 4d), when computed.

Matplotlib runs on its Agg backend (no display); it is imported when the figures are drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

ELECTRODES = ("top", "bottom")
ArrayReader = Callable[[int, str], "np.ndarray | None"]


def write_plots(steps: list[dict], array: ArrayReader, directory: Path) -> list[Path]:
    """Draw every figure that the stored steps allow into ``directory``; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in (("porosity_vs_step", _porosity_vs_step), ("li_depth_profiles", _li_depth_profiles),
                       ("pore_density_difference", _pore_density_difference), ("llzo_profiles", _llzo_profiles),
                       ("microstructure_factors", _microstructure_factors)):
        figure = draw(plt, steps, array)
        if figure is not None:
            written.append(_save(plt, figure, directory / f"{name}.png"))
    for step in steps:
        figure = _current_density(plt, step, array)
        if figure is not None:
            written.append(_save(plt, figure, directory / f"current_density_step_{step['step_index']:03d}.png"))
    return written


def _save(plt, figure, path: Path) -> Path:
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def _values(steps: list[dict], *keys) -> np.ndarray:
    out = []
    for step in steps:
        value = step
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        out.append(np.nan if value is None else float(value))
    return np.array(out)


def _porosity_vs_step(plt, steps, array):
    index = [step["step_index"] for step in steps]
    labels = [f"{step['step_index']} {step['step_name']}" for step in steps]
    figure, (li, llzo) = plt.subplots(1, 2, figsize=(10, 4))
    for name, marker in zip(ELECTRODES, "os"):
        li.plot(index, 100 * _values(steps, name, "porosity"), marker=marker, label=f"{name}: overall")
        li.plot(index, 100 * _values(steps, name, "porosity_near_interface"), marker=marker, linestyle="--",
                label=f"{name}: within 10 um of Li|LLZO")
    for key, label in (("porosity_bulk", "bulk"), ("porosity_interfacial_top", "interfacial, top"),
                       ("porosity_interfacial_bottom", "interfacial, bottom")):
        llzo.plot(index, 100 * _values(steps, "llzo", key), marker="o", label=label)
    for axes, title in ((li, "Li electrodes"), (llzo, "LLZO pellet (X-ray transparent)")):
        axes.set_xticks(index, labels, rotation=30)
        axes.set_ylabel("porosity (%)")
        axes.set_title(title)
        axes.legend(fontsize=8)
    return figure


def _li_depth_profiles(plt, steps, array):
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, name in zip(axes, ELECTRODES):
        for step in steps:
            profile = np.array([np.nan if v is None else v for v in step[name].get("porosity_depth_profile") or []])
            width = step[name].get("porosity_depth_bin_um") or 10.0
            if profile.size:
                ax.plot((np.arange(profile.size) + 0.5) * width, 100 * profile, label=step["step_name"])
        ax.set_xlabel("depth from Li|LLZO (um)")
        ax.set_title(f"{name} electrode")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("porosity (%)")
    return figure


def _pore_density_difference(plt, steps, array):
    later = [step for step in steps[1:] if array(step["step_index"], "top_pore_density_difference") is not None]
    if not later:
        return None
    figure, axes = plt.subplots(2, len(later), figsize=(3.2 * len(later), 6), squeeze=False)
    for column, step in enumerate(later):
        for row, name in enumerate(ELECTRODES):
            diff = array(step["step_index"], f"{name}_pore_density_difference")
            limit = max(float(np.nanmax(np.abs(diff))), 1e-6)
            image = axes[row, column].imshow(100 * diff, cmap="RdBu_r", vmin=-100 * limit, vmax=100 * limit)
            axes[row, column].set_title(f"{name}: {step['step_name']} - previous", fontsize=9)
            axes[row, column].axis("off")
            figure.colorbar(image, ax=axes[row, column], fraction=0.046, label="pore density change (%)")
    return figure


def _current_density(plt, step, array):
    maps = {name: array(step["step_index"], f"{name}_current_density") for name in ELECTRODES}
    if any(value is None for value in maps.values()):
        return None
    figure, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, name in zip(axes, ELECTRODES):
        j = maps[name]
        n_y, n_x = j.shape
        pixel_um = _pixel_um(step)
        extent = [-(n_x / 2) * pixel_um, (n_x / 2) * pixel_um, (n_y / 2) * pixel_um, -(n_y / 2) * pixel_um]
        image = ax.imshow(j, extent=extent, cmap="viridis")
        for spot in step[name]["hotspots"]:
            ax.add_patch(plt.Circle((spot["x_um"], spot["y_um"]), spot.get("extent_um", 30.0), fill=False,
                                    color="red", linewidth=1.5))
            ax.annotate(str(spot["id"]), (spot["x_um"], spot["y_um"]), color="red", fontsize=9)
        ax.set_title(f"{name}: mean {step[name]['current_density_mean_A_m2'] or float('nan'):.3f} A/m^2")
        ax.set_xlabel("x (um)")
        ax.set_ylabel("y (um)")
        figure.colorbar(image, ax=ax, label="j (A/m^2)")
    figure.suptitle(f"step {step['step_index']} '{step['step_name']}': applied "
                    f"{step.get('applied_current_density_A_m2', float('nan')):+.3f} A/m^2")
    return figure


def _pixel_um(step: dict) -> float:
    pixel_m = step.get("pixel_size_m")
    return float(pixel_m) * 1e6 if pixel_m else 1.0


def _llzo_profiles(plt, steps, array):
    figure, (profiles, subsurface) = plt.subplots(1, 2, figsize=(10, 4))
    for step in steps:
        llzo = step.get("llzo", {})
        profile = np.array([np.nan if v is None else v for v in llzo.get("porosity_depth_profile_normalised") or []])
        width = llzo.get("porosity_depth_bin_um") or 36.0
        if profile.size:
            profiles.plot((np.arange(profile.size) + 0.5) * width, profile, marker=".", label=step["step_name"])
    profiles.axhline(1.0, color="grey", linewidth=0.8)
    profiles.set_xlabel("depth from the top Li|LLZO interface (um)")
    profiles.set_ylabel("porosity / pellet mean")
    profiles.legend(fontsize=8)
    latest = array(steps[-1]["step_index"], "llzo_subsurface_porosity") if steps else None
    if latest is not None:
        image = subsurface.imshow(100 * latest, cmap="magma")
        figure.colorbar(image, ax=subsurface, label="subsurface porosity (%)")
        subsurface.set_title(f"subsurface porosity, step {steps[-1]['step_index']}")
    subsurface.axis("off")
    return figure


def _microstructure_factors(plt, steps, array):
    rows = [(step, region, factors) for step in steps
            for region, factors in (step.get("llzo", {}).get("microstructure_factors") or {}).items()]
    if not rows:
        return None
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, quantity in zip(axes, ("conductivity", "youngs_modulus")):
        for offset, (source, marker) in enumerate((("tomography", "o"), ("synthetic", "s"))):
            for axis_index, axis in enumerate("xyz"):
                xs, means, lows, highs = [], [], [], []
                for position, (step, region, factors) in enumerate(rows):
                    stats = (factors.get(source) or {}).get(quantity)
                    if stats:
                        xs.append(position + 0.1 * axis_index + 0.35 * offset)
                        means.append(stats["mean"][axis])
                        lows.append(stats["mean"][axis] - stats["min"][axis])
                        highs.append(stats["max"][axis] - stats["mean"][axis])
                if xs:
                    ax.errorbar(xs, means, yerr=[lows, highs], fmt=marker, label=f"{source} M_{axis}", markersize=4)
        ax.set_xticks(range(len(rows)), [f"{s['step_index']} {r}" for s, r, _ in rows], rotation=40, fontsize=7)
        ax.set_title(quantity.replace("_", " "))
        ax.legend(fontsize=7)
    axes[0].set_ylabel("microstructure factor")
    return figure
