"""Loader of the CUDA sources beside this module (``*.cu``) as CuPy RawKernels.

Each source is compiled once per process (``functools.cache``); a ``#line`` directive makes
compiler messages point at the ``.cu`` file.
"""

import functools
from pathlib import Path

_SOURCE_DIR = Path(__file__).resolve().parent


@functools.cache
def _module(filename: str):
    import cupy

    path = _SOURCE_DIR / filename
    source = f'#line 1 "{path}"\n' + path.read_text()
    return cupy.RawModule(code=source, options=("--std=c++14",))


def load_kernel(filename: str, kernel_name: str):
    """Return the ``extern "C"`` kernel ``kernel_name`` of ``filename`` (compiled once)."""
    return _module(filename).get_function(kernel_name)
