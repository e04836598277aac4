"""Material classes of a Li | LLZO | Li cell, shared by simulator, segmentation and analysis."""

from enum import IntEnum


class Phase(IntEnum):
    """Label values of a segmented volume (uint8)."""

    OUTSIDE = 0
    PORE = 1
    LITHIUM = 2
    LLZO = 3
    STEEL = 4
