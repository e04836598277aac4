"""Boundary checks shared by the simulator: one place that raises, naming the argument."""

from math import isfinite


def require(condition: bool, name: str, message: str) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``condition`` holds."""
    if not condition:
        raise ValueError(f"{name} {message}")


def check_positive(name: str, value: float) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number > 0."""
    require(isfinite(value) and value > 0, name, f"must be a finite positive number, got {value!r}")


def check_non_negative(name: str, value: float) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number >= 0."""
    require(isfinite(value) and value >= 0, name, f"must be finite and >= 0, got {value!r}")


def check_fraction(name: str, value: float) -> None:
    """Raise ``ValueError`` unless ``0 <= value < 1``."""
    require(isfinite(value) and 0 <= value < 1, name, f"must lie in [0, 1), got {value!r}")


def check_range(name: str, bounds: tuple[float, float]) -> None:
    """Raise ``ValueError`` unless ``bounds`` is ``(low, high)`` with ``0 < low <= high``."""
    require(len(bounds) == 2, name, f"must be a (low, high) pair, got {bounds!r}")
    low, high = bounds
    require(isfinite(low) and isfinite(high) and 0 < low <= high, name,
            f"must satisfy 0 < low <= high, got {bounds!r}")
