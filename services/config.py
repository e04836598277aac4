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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ENV_PREFIX = "POREWATCH_"

#: Pore-share threshold of the slice fusion (``segmentation.pore_fusion_threshold``) for the shipped model:
#: the one at which the fused pore volume equals the network's slice-wise one, pooled over 7 calibration
#: cells used neither for training nor for the held-out evaluation (``python -m
#: porewatch.tools.calibrate_pore_threshold --seed 8101 8102 8103 8104 8105 --default-seed 8001 8002
#: --n-cols 256 192``).  It prints 0.405 for the shipped model (0.407 for the one before, with which the
#: value was set); the 0.002 between them moves the pooled fused pore volume by about 0.3 %.
PORE_FUSION_THRESHOLD = 0.407


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
    """Reconstruction stages (segmentation has its own section)."""

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
    step_queue_size: int = Field(2, ge=1, description="assembled steps waiting for reconstruction")
    result_queue_size: int = Field(2, ge=1, description="volumes waiting for segmentation and analysis")


class SegmentationConfig(_Section):
    """Segmentation: the ResNet34 U-Net (Dixit et al.) or the classical Otsu baseline; see
    ``porewatch.services.segmentation``."""

    method: Literal["cnn", "otsu", "multiotsu"] = Field(
        "cnn", description="cnn = the U-Net on the slices crossing the Li electrodes, multi-Otsu elsewhere; "
                           "otsu / multiotsu = the classical baseline alone")
    backend: Literal["auto", "tensorrt", "torch", "onnxruntime"] = Field(
        "auto", description="auto = TensorRT with a GPU, else torch on CUDA, else ONNX Runtime (CPU)")
    model_path: Path | None = Field(None, description="model file (.onnx, or .safetensors for torch); "
                                                      "unset = the shipped model")
    tile_px: int = Field(512, ge=32, multiple_of=32, description="largest network input side, multiple of 32")
    overlap_px: int = Field(64, ge=0, description="smallest overlap of neighbouring tiles, blended")
    batch_size: int = Field(8, ge=1, description="tiles per network call (and the TensorRT profile's maximum)")
    electrode_margin_um: float = Field(60.0, ge=0, description="slices this far beyond the coarse Li bands "
                                                                 "also go through the network")
    confident_probability: float = Field(0.8, gt=0, lt=1, description="probability counted as confident "
                                                                      "in the step report")
    engine_cache_dir: Path = Field(Path("porewatch-data/engines"), description="TensorRT engines, one per GPU "
                                                                              "model, TensorRT and model file")
    threads: int | None = Field(None, ge=1, description="CPU threads of ONNX Runtime / torch; unset = theirs")
    flip_averaging: bool = Field(False, description="average the network over the four mirror images of each "
                                                    "tile: 4x the network time, pore IoU +0.01")
    pore_fusion: bool = Field(True, description="decide pore vs Li on the pore share averaged with the slices "
                                                "above and below (porewatch.kernels.segment.slice_fusion); "
                                                "false = each slice's most probable class")
    pore_fusion_threshold: float = Field(PORE_FUSION_THRESHOLD, gt=0, lt=1,
                                         description="averaged pore share above which a voxel is pore "
                                                     "(calibrated for the shipped model)")

    @model_validator(mode="after")
    def _overlap_fits_tile(self):
        if self.overlap_px > self.tile_px // 2:
            raise ValueError(f"overlap_px ({self.overlap_px}) must not exceed half of tile_px ({self.tile_px})")
        return self


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
    hotspot_min_area_px: int = Field(16, ge=1, description="smallest hot-spot area in pixels (noise specks)")
    hotspot_min_compactness: float = Field(0.5, ge=0, le=1, description="hot spots are compact; arcs and "
                                                                        "streaks (artefacts) score below")
    hotspot_peak_factor: float = Field(2.0, ge=1, description="a hot spot must peak at this times the threshold")
    porosity_distribution_window_px: int = Field(5, ge=1, description="lateral window of the local porosity "
                                                                      "whose distribution and modes are reported")
    llzo_depth_bin_um: float = Field(36.0, gt=0, description="bin of the pellet's porosity depth profile")
    llzo_interfacial_um: float = Field(100.0, gt=0, description="thickness of the pellet's interfacial regions")
    llzo_transport_every_steps: int = Field(1, ge=0, description="tortuosity and microstructure factors of the "
                                                                 "pellet every N steps (0 = never)")
    llzo_box_max_px: int = Field(128, ge=8, description="lateral side of the pellet boxes for tortuosity")
    llzo_domains: int = Field(2, ge=0, description="microstructure-factor domains per pellet region")
    llzo_domain_max_px: int = Field(16, ge=4, description="largest side of a microstructure-factor domain")
    llzo_grain_size_um: float = Field(20.0, gt=0, description="grain size of the synthetic LLZO domains")


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
    n_cols: int = Field(192, ge=32, le=2048, description="detector columns (= reconstruction width)")
    n_rows: int | None = Field(None, ge=16, description="detector rows; None = as many as the stack needs")
    n_angles: int = Field(270, ge=16, description="projections over 180 degrees")
    n_flats: int = Field(10, ge=1)
    n_darks: int = Field(5, ge=1)
    steps: tuple[str, ...] = Field(("pristine", "plate", "strip"), description="galvanostatic steps to run")
    current_density_A_m2: float = Field(0.25, gt=0, description="magnitude of the plate/strip current density")
    step_duration_s: float = Field(72 * 3600.0, gt=0, description="duration of each plate/strip step")


class ServiceConfig(_Section):
    """Service-wide behaviour."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class WebConfig(_Section):
    """The control-room page served by ``porewatch serve`` over HTTP on ``network.host``."""

    enabled: bool = True
    port: int = Field(8580, ge=0, le=65535, description="HTTP port of the control-room page; 0 = any free port")


class RescanConfig(_Section):
    """Rescans of hot spots through a bluesky-queueserver RE Manager."""

    policy: Literal["off", "suggest", "auto"] = Field(
        "suggest", description="off; suggest = publish a request for a person to approve; auto = submit at once")
    queue_server: str = Field("tcp://127.0.0.1:60615", description="RE Manager 0MQ control address")
    plan_name: str = Field("roi_rescan", description="rescan plan defined in the queue server's startup code")
    roi_radius_um: float = Field(250.0, gt=0, description="radius of the region of interest around a hot spot")
    angle_factor: int = Field(2, ge=1, description="projections of a rescan, as a multiple of the step's")
    max_per_hour: int = Field(4, ge=1, description="at most this many submissions in any hour")
    repeat_after_steps: int = Field(2, ge=0, description="no new rescan of a hot spot within this many steps")
    audit_log: Path | None = Field(None, description="JSON lines, one per decision; unset = rescan-audit.jsonl "
                                                     "beside tiled.directory")
    timeout_s: float = Field(5.0, gt=0, description="longest wait for an answer of the queue server")
    start_queue: bool = Field(True, description="start the RE Manager's queue after a submission if it is idle")


class Config(_Section):
    """The whole configuration; ``porewatch config show`` prints it."""

    network: NetworkConfig = NetworkConfig()
    ingest: IngestConfig = IngestConfig()
    pipeline: PipelineConfig = PipelineConfig()
    segmentation: SegmentationConfig = SegmentationConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    tiled: TiledConfig = TiledConfig()
    simulation: SimulationConfig = SimulationConfig()
    service: ServiceConfig = ServiceConfig()
    web: WebConfig = WebConfig()
    rescan: RescanConfig = RescanConfig()


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
