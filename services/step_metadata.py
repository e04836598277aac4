"""Metadata of one electrochemical step of one cell: the record shared by files and documents.

The same flat, JSON-able dictionary (SI keys, see :meth:`StepMetadata.to_dict`) travels in
DXchange files (converted to the DXchange units at that boundary), in Bluesky start documents
and in the Tiled step metadata.
"""

import math
import numbers
import re
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

#: Allowed cell identifiers: they become Tiled keys and file names, so no separators or spaces.
CELL_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def validate_cell_id(cell_id: object) -> str:
    """Return ``cell_id`` if it is a valid cell identifier, else raise.

    Raises
    ------
    TypeError
        If ``cell_id`` is not a str.
    ValueError
        If it does not match :data:`CELL_ID_PATTERN` (letters, digits, ``_ . -``; at most 128
        characters; starting with a letter or digit).
    """
    if not isinstance(cell_id, str):
        raise TypeError(f"cell_id must be a str, got {type(cell_id).__name__}")
    if CELL_ID_PATTERN.fullmatch(cell_id) is None:
        raise ValueError(
            f"cell_id {cell_id!r} must be 1-128 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return cell_id


def _real(name: str, value: object, *, minimum: float | None = None, strict: bool = False) -> float:
    """Coerce a finite real number to float, checking an optional lower bound."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    if minimum is not None and (number <= minimum if strict else number < minimum):
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be {relation} {minimum}, got {number}")
    return number


@dataclass(frozen=True)
class StepMetadata:
    """What is known about one imaged electrochemical step of one cell.

    Attributes
    ----------
    cell_id : str
        Cell identifier (see :func:`validate_cell_id`).
    step_index : int
        Position of the step in the cell's protocol, >= 0.
    step_name : str
        Human-readable step name, e.g. ``"plate_1"``.
    current_density_A_m2 : float
        Applied current density, A/m^2; positive plates Li on the top electrode.
    duration_s : float
        Duration of the step, s, >= 0.
    pixel_size_m : float
        Effective detector pixel size at the sample, m, > 0.
    energy_kev : float
        Photon energy, keV, > 0.
    propagation_distance_m : float
        Sample-to-detector distance, m, >= 0.
    """

    cell_id: str
    step_index: int
    step_name: str
    current_density_A_m2: float
    duration_s: float
    pixel_size_m: float
    energy_kev: float
    propagation_distance_m: float

    def __post_init__(self) -> None:
        validate_cell_id(self.cell_id)
        if isinstance(self.step_index, bool) or not isinstance(self.step_index, numbers.Integral):
            raise TypeError(f"step_index must be an int, got {type(self.step_index).__name__}")
        object.__setattr__(self, "step_index", int(self.step_index))
        if self.step_index < 0:
            raise ValueError(f"step_index must be >= 0, got {self.step_index}")
        if not isinstance(self.step_name, str) or not self.step_name:
            raise ValueError(f"step_name must be a non-empty str, got {self.step_name!r}")
        checked = {
            "current_density_A_m2": _real("current_density_A_m2", self.current_density_A_m2),
            "duration_s": _real("duration_s", self.duration_s, minimum=0.0),
            "pixel_size_m": _real("pixel_size_m", self.pixel_size_m, minimum=0.0, strict=True),
            "energy_kev": _real("energy_kev", self.energy_kev, minimum=0.0, strict=True),
            "propagation_distance_m": _real(
                "propagation_distance_m", self.propagation_distance_m, minimum=0.0
            ),
        }
        for name, number in checked.items():
            object.__setattr__(self, name, number)

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a flat JSON-able dict keyed by the field names (SI units)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "StepMetadata":
        """Build from a mapping holding at least every field name.

        Keys that are not fields are ignored, so a whole Bluesky start document or Tiled step
        metadata dict can be passed.

        Raises
        ------
        ValueError
            Naming the missing keys; or from the field checks.
        """
        names = [field.name for field in fields(cls)]
        missing = [name for name in names if name not in data]
        if missing:
            raise ValueError(f"step metadata lacks keys {missing}")
        return cls(**{name: data[name] for name in names})
