"""DXchange HDF5 files of one imaged step, and the ground-truth files written beside them.

Layout (units are those of the file; :class:`StepMetadata` holds SI units):

=================================================  =================================
``/exchange/data``                                 (n_angles, n_rows, n_cols) uint16
``/exchange/data_white``, ``/exchange/data_dark``  (n_flats|n_darks, n_rows, n_cols) uint16
``/exchange/theta``                                (n_angles,) float64, degrees
``/measurement/instrument/detector/actual_pixel_size_x``  um
``/measurement/instrument/monochromator/energy``   keV
``/measurement/instrument/detector/distance``      mm (propagation distance)
``/process/echem/{cell_id, step_name, step_index, current_density_A_m2, duration_s}``
=================================================  =================================

Unit-bearing datasets carry a ``units`` attribute; a reader refuses a file whose ``units``
attribute names another unit.  :class:`DXchangeReader` keeps the file open so that a replay can
stream projections one frame at a time; :func:`read_dxchange` loads a whole step.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import h5py
import numpy as np

from porewatch.services.step_metadata import StepMetadata

DATA = "/exchange/data"
WHITE = "/exchange/data_white"
DARK = "/exchange/data_dark"
THETA = "/exchange/theta"
PIXEL_SIZE = "/measurement/instrument/detector/actual_pixel_size_x"
ENERGY = "/measurement/instrument/monochromator/energy"
DISTANCE = "/measurement/instrument/detector/distance"
ECHEM = "/process/echem"

#: Unit written for each unit-bearing dataset, and the spellings accepted when reading.
_UNITS = {
    THETA: ("degrees", {"deg", "degree", "degrees"}),
    PIXEL_SIZE: ("um", {"um", "micron", "microns", "micrometer", "micrometre", "\u00b5m"}),
    ENERGY: ("keV", {"kev"}),
    DISTANCE: ("mm", {"mm", "millimeter", "millimetre"}),
}
_UM_PER_M = 1e6
_MM_PER_M = 1e3


@dataclass(frozen=True)
class DXchangeStep:
    """The images of one step.

    Attributes
    ----------
    projections : (n_angles, n_rows, n_cols) uint16
    flats : (n_flats, n_rows, n_cols) uint16
        Open-beam (white) frames.
    darks : (n_darks, n_rows, n_cols) uint16
    theta_deg : (n_angles,) float64
        Rotation angle of each projection, degrees.
    """

    projections: np.ndarray
    flats: np.ndarray
    darks: np.ndarray
    theta_deg: np.ndarray


def _check_frames(name: str, array: np.ndarray, frame_shape: tuple[int, ...] | None = None) -> None:
    """Raise unless ``array`` is a non-empty 3-D uint16 stack with the given frame shape."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.dtype != np.uint16 or array.ndim != 3 or 0 in array.shape:
        raise ValueError(
            f"{name} must be a non-empty 3-D uint16 array, got {array.dtype} {array.shape}"
        )
    if frame_shape is not None and array.shape[1:] != frame_shape:
        raise ValueError(f"{name} frames are {array.shape[1:]}, projections are {frame_shape}")


def write_dxchange(
    path: str | Path,
    *,
    projections: np.ndarray,
    flats: np.ndarray,
    darks: np.ndarray,
    theta_deg: np.ndarray,
    metadata: StepMetadata,
) -> None:
    """Write one step as a DXchange HDF5 file (overwriting ``path``).

    Parameters
    ----------
    path : str or Path
    projections : (n_angles, n_rows, n_cols) uint16
        Stored chunked one frame per chunk, so frames can be read one at a time.
    flats, darks : (n, n_rows, n_cols) uint16
    theta_deg : (n_angles,) float
        Rotation angles, degrees.
    metadata : StepMetadata
        SI values; written in um (pixel size), keV and mm (distance).

    Raises
    ------
    TypeError, ValueError
        Naming the argument whose type, dtype or shape is wrong.
    """
    _check_frames("projections", projections)
    frame_shape = projections.shape[1:]
    _check_frames("flats", flats, frame_shape)
    _check_frames("darks", darks, frame_shape)
    theta = np.asarray(theta_deg, dtype=np.float64)
    if theta.shape != projections.shape[:1] or not np.all(np.isfinite(theta)):
        raise ValueError(
            f"theta_deg must hold {projections.shape[0]} finite angles, got shape {theta.shape}"
        )
    if not isinstance(metadata, StepMetadata):
        raise TypeError(f"metadata must be a StepMetadata, got {type(metadata).__name__}")
    with h5py.File(path, "w") as h5:
        h5.attrs["implements"] = "exchange:measurement:process"
        h5.create_dataset(DATA, data=projections, chunks=(1, *frame_shape))
        h5.create_dataset(WHITE, data=flats)
        h5.create_dataset(DARK, data=darks)
        values = {
            THETA: theta,
            PIXEL_SIZE: metadata.pixel_size_m * _UM_PER_M,
            ENERGY: metadata.energy_kev,
            DISTANCE: metadata.propagation_distance_m * _MM_PER_M,
        }
        for name, value in values.items():
            h5.create_dataset(name, data=value).attrs["units"] = _UNITS[name][0]
        echem = h5.create_group(ECHEM)
        echem["cell_id"] = metadata.cell_id
        echem["step_name"] = metadata.step_name
        echem["step_index"] = metadata.step_index
        echem["current_density_A_m2"] = metadata.current_density_A_m2
        echem["duration_s"] = metadata.duration_s


class DXchangeReader:
    """An open DXchange step file: metadata, flats, darks and angles loaded, frames on demand.

    Use as a context manager (or call :meth:`close`); the file is validated when opened.

    Parameters
    ----------
    path : str or Path

    Attributes
    ----------
    metadata : StepMetadata
        SI units, converted from the file's um, keV and mm.
    projections : h5py.Dataset, (n_angles, n_rows, n_cols) uint16
        Read lazily: index it, or iterate :meth:`frames`.
    flats, darks : (n, n_rows, n_cols) uint16 numpy arrays
    theta_deg : (n_angles,) float64 numpy array, degrees

    Raises
    ------
    ValueError
        Naming the missing or malformed dataset, e.g.
        ``'/exchange/theta' has 179 angles but /exchange/data has 180``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = h5py.File(self.path, "r")
        try:
            self.projections = self._frames(DATA)
            frame_shape = self.projections.shape[1:]
            self.flats = self._frames(WHITE, frame_shape)[()]
            self.darks = self._frames(DARK, frame_shape)[()]
            self.theta_deg = self._theta(self.projections.shape[0])
            self.metadata = self._metadata()
        except BaseException:
            self._file.close()
            raise

    @property
    def n_angles(self) -> int:
        """Number of projections in the file."""
        return int(self.projections.shape[0])

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        """Yield ``(theta_deg, frame)`` in file order, reading one (n_rows, n_cols) uint16 frame
        at a time."""
        for index in range(self.n_angles):
            yield float(self.theta_deg[index]), self.projections[index]

    def read_step(self) -> DXchangeStep:
        """Load every projection into memory."""
        return DXchangeStep(
            projections=self.projections[()],
            flats=self.flats,
            darks=self.darks,
            theta_deg=self.theta_deg,
        )

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._file.close()

    def __enter__(self) -> "DXchangeReader":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _dataset(self, name: str) -> h5py.Dataset:
        item = self._file.get(name)
        if not isinstance(item, h5py.Dataset):
            raise ValueError(f"{self.path}: dataset '{name}' is missing")
        return item

    def _frames(self, name: str, frame_shape: tuple[int, ...] | None = None) -> h5py.Dataset:
        dataset = self._dataset(name)
        if dataset.dtype != np.uint16 or dataset.ndim != 3 or 0 in dataset.shape:
            raise ValueError(
                f"{self.path}: '{name}' must be a non-empty 3-D uint16 stack, "
                f"got {dataset.dtype} {dataset.shape}"
            )
        if frame_shape is not None and dataset.shape[1:] != frame_shape:
            raise ValueError(
                f"{self.path}: '{name}' frames are {dataset.shape[1:]} but {DATA} frames "
                f"are {frame_shape}"
            )
        return dataset

    def _theta(self, n_angles: int) -> np.ndarray:
        self._check_units(THETA)
        theta = np.asarray(self._dataset(THETA)[()], dtype=np.float64)
        if theta.ndim != 1:
            raise ValueError(f"{self.path}: '{THETA}' must be 1-D, got shape {theta.shape}")
        if theta.size != n_angles:
            raise ValueError(
                f"{self.path}: '{THETA}' has {theta.size} angles but {DATA} has {n_angles}"
            )
        if not np.all(np.isfinite(theta)):
            raise ValueError(f"{self.path}: '{THETA}' holds non-finite angles")
        return theta

    def _check_units(self, name: str) -> None:
        units = self._dataset(name).attrs.get("units")
        if units is None:
            return
        text = units.decode() if isinstance(units, bytes) else str(units)
        if text.strip().lower() not in _UNITS[name][1]:
            raise ValueError(
                f"{self.path}: '{name}' has units {text!r}, expected {_UNITS[name][0]!r}"
            )

    def _scalar(self, name: str) -> Any:
        value = np.asarray(self._dataset(name)[()])
        if value.size != 1:
            raise ValueError(f"{self.path}: '{name}' must hold one value, got shape {value.shape}")
        item = value.reshape(-1)[0]
        return item.decode() if isinstance(item, bytes) else item.item()

    def _metadata(self) -> StepMetadata:
        for name in (PIXEL_SIZE, ENERGY, DISTANCE):
            self._check_units(name)
        echem = {
            key: self._scalar(f"{ECHEM}/{key}")
            for key in ("cell_id", "step_name", "step_index", "current_density_A_m2", "duration_s")
        }
        try:
            return StepMetadata(
                **echem,
                pixel_size_m=self._scalar(PIXEL_SIZE) / _UM_PER_M,
                energy_kev=self._scalar(ENERGY),
                propagation_distance_m=self._scalar(DISTANCE) / _MM_PER_M,
            )
        except (TypeError, ValueError) as error:
            raise ValueError(f"{self.path}: bad step metadata: {error}") from error


def read_dxchange(path: str | Path) -> tuple[StepMetadata, DXchangeStep]:
    """Read a whole DXchange step file (see :class:`DXchangeReader` to stream frames)."""
    with DXchangeReader(path) as reader:
        return reader.metadata, reader.read_step()


def ground_truth_path(step_path: str | Path) -> Path:
    """The ground-truth file beside a step file: ``step_003.h5`` -> ``step_003.truth.h5``."""
    step_path = Path(step_path)
    return step_path.with_name(f"{step_path.stem}.truth.h5")


def _write_group(group: h5py.Group, tree: Mapping[str, Any], where: str) -> None:
    for key, value in tree.items():
        if not isinstance(key, str) or not key or "/" in key:
            raise ValueError(f"truth key {key!r} at {where!r} must be a non-empty str without '/'")
        if isinstance(value, Mapping):
            _write_group(group.create_group(key), value, f"{where}{key}/")
        elif isinstance(value, np.ndarray):
            group.create_dataset(key, data=value)
        elif isinstance(value, (bool, int, float, str, np.generic)):
            group.attrs[key] = value
        else:
            raise TypeError(
                f"truth value {where}{key} must be an array, a scalar or a dict, "
                f"got {type(value).__name__}"
            )


def write_ground_truth(path: str | Path, truth: Mapping[str, Any]) -> None:
    """Write a nested dict of arrays and scalars to HDF5 (overwriting ``path``).

    Parameters
    ----------
    path : str or Path
        Usually :func:`ground_truth_path` of the step file.
    truth : dict
        Values are numpy arrays (datasets), scalars bool/int/float/str (attributes of the
        enclosing group) or nested dicts (groups, e.g. one per electrode).

    Raises
    ------
    TypeError, ValueError
        Naming the key path of an unsupported value or key.
    """
    with h5py.File(path, "w") as h5:
        _write_group(h5, truth, "/")


def _read_group(group: h5py.Group) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in group.attrs.items():
        tree[key] = value.item() if isinstance(value, np.generic) else value
    for key, item in group.items():
        tree[key] = _read_group(item) if isinstance(item, h5py.Group) else np.asarray(item[()])
    return tree


def read_ground_truth(path: str | Path) -> dict[str, Any]:
    """Read a file written by :func:`write_ground_truth` back into a nested dict."""
    with h5py.File(path, "r") as h5:
        return _read_group(h5)
