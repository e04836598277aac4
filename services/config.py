"""Typed configuration of porewatch: defaults, TOML files, environment and per-command overrides.

One entry point, :func:`load_config`, merges in this order (later wins):

1. the documented defaults of the models below,
2. a TOML file (``--config FILE``), with one table per section (``[network]``, ...),
3. environment variables ``POREWATCH_<SECTION>__<KEY>`` (e.g. ``POREWATCH_PIPELINE__RECON_METHOD=fbp``),
4. per-command ``--set section.key=value`` overrides.

Values given as strings (environment, ``--set``) are parsed as TOML scalars first (``3``, ``1.5``,
``true``, ``"text"``), so ``--set pipeline.backend=numpy`` and ``--set simulation.n_cols=96`` both work.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ENV_PREFIX = "POREWATCH_"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NetworkConfig(_Section):
    """Addresses of the sockets; every port binds to ``host`` only."""

    host: str = Field("127.0.0.1", description="interface to bind and connect on; ports 0 = any free port")
    documents_in_port: int = Field(5577, ge=0, le=65535, description="0MQ proxy input (RunEngine Publisher)")
    documents_out_port: int = Field(5578, ge=0, le=65535, description="0MQ proxy output (service subscribes)")
    frames_port: int = Field(5579, ge=0, le=65535, description="raw-frame PUSH/PULL stream (service binds)")
    control_room_port: int = Field(5580, ge=0, le=65535, description="control-room PUB stream (service binds)")
    metrics_port: int = Field(9580, ge=0, le=65535, description="Prometheus HTTP endpoint (/metrics)")
    metrics_enabled: bool = True


class IngestConfig(_Section):
    """Frame reception and step assembly."""

    receive_high_water_mark: int = Field(16, ge=1, description="ZMQ RCVHWM of the frame socket, messages")
    frame_queue_size: int = Field(64, ge=1, description="frames waiting for preprocessing")
    unknown_run_grace_s: float = Field(10.0, gt=0, description="how long frames wait for their start document")
    end_of_run_timeout_s: float = Field(30.0, gt=0, description="wait for missing frames after the stop document")


class PipelineConfig(_Section):
    """Reconstruction and segmentation stages."""

    backend: Literal["auto", "numpy", "cupy"] = Field("auto", description="array backend; auto = cupy if a GPU works")
    recon_method: Literal["gridrec", "fbp"] = "gridrec"
    recon_filter: Literal["ramp", "shepp-logan", "hann", "parzen"] = "shepp-logan"
    center_px: float | None = Field(None, description="rotation axis column; None = automatic search")
    zinger_threshold: float | None = Field(
        0.1, gt=0, description="per-frame zinger removal: transmission excess over the 3x3 median; unset = off")
    phase_retrieval: Literal["none", "paganin"] = Field(
        "none", description="per-frame phase retrieval; 'paganin' replaces -log")
    delta_over_beta: float = Field(
        1742.0, gt=0, description="Paganin ratio: 1742 (Li) keeps pores' true contrast but blurs LLZO edges over "
                                  "~50 um and can invert Li/pore contrast beside LLZO; 85 (LLZO) keeps edges sharp "
                                  "but leaves pore fringes")
    stripe_removal: Literal["none", "sorting", "fourier-wavelet"] = Field(
        "none", description="ring suppression on whole sinograms; anything but 'none' moves row filtering from "
                            "frame arrival to the end of the step")
    stripe_sorting_size: int = Field(3, ge=3, description="median window of sorting-based stripe removal, px")
    memory_budget_bytes: int = Field(2 * 1024**3, gt=0, description="bound on reconstruction working memory")
    segmentation: Literal["otsu", "multiotsu"] = Field("otsu", description="segmentation method")
    step_queue_size: int = Field(2, ge=1, description="assembled steps waiting for reconstruction")
    result_queue_size: int = Field(2, ge=1, description="volumes waiting for segmentation and analysis")


class AnalysisConfig(_Section):
    """Quantification settings (the paper's defaults); see ``porewatch.kernels.quantify``."""

    near_interface_um: float = Field(10.0, gt=0, description="band beside the Li|LLZO interface for porosity")
    depth_bin_um: float = Field(10.0, gt=0, description="bin width of porosity depth profiles")
    pore_density_window_um: float = Field(500.0, gt=0, description="depth averaged by pore-density maps")
    current_density_smoothing_px: float = Field(1.0, ge=0, description="Gaussian sigma applied to j maps")
    hotspot_mode: Literal["std", "mean_multiple"] = Field(
        "std", description="hot-spot departure scale: robust std of j, or multiples of mean j")
    hotspot_threshold: float = Field(4.0, gt=0, description="hot spot: |j - mean| above this many scale units")
    hotspot_min_area_um2: float = Field(2500.0, ge=0, description="smallest hot-spot area reported")


class TiledConfig(_Section):
    """Where results go. An empty ``uri`` starts a local Tiled server in ``directory``."""

    uri: str = ""
    api_key: str | None = None
    directory: Path = Path("porewatch-data/tiled")
    write_volumes: bool = Field(True, description="store reconstructed volumes and labels, not only maps")


class SimulationConfig(_Section):
    """The simulated Li|LLZO|Li beamline used by ``demo`` and ``simulate``."""

    cell_id: str = "sim-cell-001"
    seed: int = 7
    n_cols: int = Field(128, ge=32, le=2048, description="detector columns (= reconstruction width)")
    n_rows: int | None = Field(None, ge=16, description="detector rows; None = as many as the stack needs")
    n_angles: int = Field(180, ge=16, description="projections over 180 degrees")
    n_flats: int = Field(10, ge=1)
    n_darks: int = Field(5, ge=1)
    steps: tuple[str, ...] = Field(("pristine", "plate", "strip"), description="galvanostatic steps to run")
    current_density_A_m2: float = Field(0.25, gt=0, description="magnitude of the plate/strip current density")
    step_duration_s: float = Field(72 * 3600.0, gt=0, description="duration of each plate/strip step")


class ServiceConfig(_Section):
    """Service-wide behaviour."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(_Section):
    """The whole configuration; ``porewatch config show`` prints it."""

    network: NetworkConfig = NetworkConfig()
    ingest: IngestConfig = IngestConfig()
    pipeline: PipelineConfig = PipelineConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    tiled: TiledConfig = TiledConfig()
    simulation: SimulationConfig = SimulationConfig()
    service: ServiceConfig = ServiceConfig()


def _parse_scalar(text: str) -> object:
    """Parse a command-line or environment value as a TOML scalar, else keep the string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _assign(tree: dict, dotted_key: str, value: object, origin: str) -> None:
    section, _, key = dotted_key.partition(".")
    if not key or section not in Config.model_fields:
        raise ValueError(f"{origin}: '{dotted_key}' is not 'section.key' with a known section "
                         f"({', '.join(Config.model_fields)})")
    tree.setdefault(section, {})[key] = value


def environment_overrides(environ: Mapping[str, str]) -> dict:
    """Settings from ``POREWATCH_<SECTION>__<KEY>`` variables, as a nested dict."""
    tree: dict = {}
    for name, text in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("__")
        _assign(tree, f"{section}.{key}", _parse_scalar(text), f"environment variable {name}")
    return tree


def command_overrides(assignments: list[str]) -> dict:
    """Settings from ``section.key=value`` strings, as a nested dict."""
    tree: dict = {}
    for item in assignments:
        dotted_key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected section.key=value")
        _assign(tree, dotted_key.strip(), _parse_scalar(text.strip()), f"--set {item!r}")
    return tree


def _merge(base: dict, extra: dict) -> dict:
    merged = {section: dict(values) for section, values in base.items()}
    for section, values in extra.items():
        merged.setdefault(section, {}).update(values)
    return merged


def load_config(path: Path | None = None, *, overrides: list[str] = (),
                environ: Mapping[str, str] | None = None) -> Config:
    """Build the effective configuration (defaults < TOML file < environment < overrides).

    Raises ValueError naming the file, variable or setting that is wrong.
    """
    tree: dict = {}
    if path is not None:
        try:
            tree = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ValueError(f"configuration file {path}: {error}") from error
    tree = _merge(tree, environment_overrides(os.environ if environ is None else environ))
    tree = _merge(tree, command_overrides(list(overrides)))
    try:
        return Config.model_validate(tree)
    except ValidationError as error:
        raise ValueError(f"invalid configuration: {error}") from error


def to_toml(config: Config) -> str:
    """The configuration as TOML text (``None`` values are written as comments)."""
    lines: list[str] = []
    for section, model in config:
        lines.append(f"[{section}]")
        for key, value in model.model_dump(mode="json").items():
            description = type(model).model_fields[key].description
            comment = f"  # {description}" if description else ""
            if value is None:
                lines.append(f"# {key} = (unset){comment}")
            else:
                lines.append(f"{key} = {_toml_value(value)}{comment}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
