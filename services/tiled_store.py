"""Per-step results of porewatch in Tiled, and a local Tiled server to hold them.

Tree written by :class:`TiledResultStore` (any Tiled server; the local one is the default)::

    <cell_id>/                 container, specs ["porewatch-cell"], metadata {"cell_id": ...}
        step_000/              container, specs ["porewatch-step"], the step metadata
            volume             (n_z, n_y, n_x) float32, dims ("z", "y", "x")
            labels             (n_z, n_y, n_x) uint8
            <map>              (N, N) float32, NaN where undefined, dims ("y", "x")
            metrics            one-row table of the step's scalar metrics
            rescan_<id>/       container, specs ["porewatch-rescan"]: a hot spot's rescan (its report as
                               metadata, region-of-interest arrays); listed in the step's ``rescans`` and
                               in the hot spot's ``rescans``

:class:`LocalTiledServer` runs ``tiled serve catalog`` in a child process on 127.0.0.1 with
the directory layout of ``tiled.server.SimpleTiledServer`` (``catalog.db`` SQLite catalog,
``data/`` array files, ``storage.duckdb`` tables), so results left in a directory can be
served again later, even by a second server while the first still runs.  A child process
keeps the server's threads, logging configuration and GIL out of the pipeline's process.
"""

import logging
import math
import numbers
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from porewatch.services.step_metadata import validate_cell_id

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
CELL_SPEC = "porewatch-cell"
STEP_SPEC = "porewatch-step"
RESCAN_SPEC = "porewatch-rescan"
METRICS_KEY = "metrics"
#: Dimension names given to arrays without explicit ``dims``, by number of dimensions.
DEFAULT_DIMS = {2: ("y", "x"), 3: ("z", "y", "x")}


def step_key(step_index: int) -> str:
    """Tiled key of a step container: ``step_007`` for index 7."""
    if isinstance(step_index, bool) or not isinstance(step_index, numbers.Integral):
        raise TypeError(f"step_index must be an int, got {type(step_index).__name__}")
    if step_index < 0:
        raise ValueError(f"step_index must be >= 0, got {step_index}")
    return f"step_{int(step_index):03d}"


def _free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 now (the OS picks it; another process could take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class LocalTiledServer:
    """A Tiled server with a SQLite catalog in ``directory``, run as a child process.

    ``start()`` and ``stop()`` are idempotent; the object is also a context manager.  The
    server listens on 127.0.0.1 only; its log goes to ``directory/server.log`` (mode 0600).

    Parameters
    ----------
    directory : str or Path
        Created if missing; an existing catalog there is opened, not replaced.
    api_key : str, optional
        Alphanumeric single-user key; a random 32-hex-digit key by default.
    startup_timeout_s : float
        How long :meth:`start` waits for the server to answer (it takes ~7-35 s).
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        api_key: str | None = None,
        startup_timeout_s: float = 90.0,
    ) -> None:
        if api_key is not None and not (isinstance(api_key, str) and api_key.isalnum()):
            raise ValueError("api_key must be a non-empty alphanumeric str")
        if startup_timeout_s <= 0:
            raise ValueError(f"startup_timeout_s must be positive, got {startup_timeout_s}")
        self.directory = Path(directory).resolve()
        self.api_key = api_key or secrets.token_hex(16)
        self.startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._base_url: str | None = None

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the server, None when not started."""
        return None if self._process is None else self._process.pid

    @property
    def uri(self) -> str:
        """The API root, ``http://127.0.0.1:<port>/api/v1`` (the key is not part of it)."""
        if self._base_url is None:
            raise RuntimeError("LocalTiledServer is not started")
        return f"{self._base_url}/api/v1"

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        return self.directory / "server.log"

    def start(self) -> None:
        """Start the server and wait until it answers /healthz (no-op if running; a server
        that died is started again).

        Raises
        ------
        RuntimeError
            If the server process exits during start-up (the log tail is in the message).
        TimeoutError
            If it does not answer within ``startup_timeout_s``.
        """
        if self.running:
            return
        self.stop()
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        port = _free_loopback_port()
        command = [sys.executable, "-m", "tiled", "serve", "catalog"]
        command += [str(self.directory / "catalog.db"), "--init"]
        command += ["--host", HOST, "--port", str(port)]
        command += ["--write", str(self.directory / "data")]
        command += ["--write", f"duckdb:///{self.directory / 'storage.duckdb'}"]
        environment = {**os.environ, "TILED_SINGLE_USER_API_KEY": self.api_key}
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        started = time.monotonic()
        try:
            self._process = subprocess.Popen(
                command,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=subprocess.STDOUT,
            )
        finally:
            os.close(log_fd)
        self._base_url = f"http://{HOST}:{port}"
        try:
            self._wait_until_ready(self._process, self._base_url)
        except BaseException:
            self.stop()
            raise
        logger.info(
            "Tiled server (pid %d) on %s for %s ready in %.1f s",
            self._process.pid,
            self._base_url,
            self.directory,
            time.monotonic() - started,
        )

    def _wait_until_ready(self, process: "subprocess.Popen[bytes]", base_url: str) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        with httpx.Client(trust_env=False) as client:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    tail = self.log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(
                        f"Tiled server exited with code {process.returncode}; "
                        f"log {self.log_path} ends with:\n{tail}"
                    )
                try:
                    if client.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise TimeoutError(
            f"Tiled server did not answer within {self.startup_timeout_s} s; see {self.log_path}"
        )

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout_s``); no-op if stopped."""
        process, self._process, self._base_url = self._process, None, None
        if process is None:
            return
        try:
            process.terminate()
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning("Tiled server did not stop in %.0f s; killing it", timeout_s)
            process.kill()
            process.wait()

    def __enter__(self) -> "LocalTiledServer":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def to_json_metadata(value: Any, where: str = "metadata") -> Any:
    """Convert ``value`` to JSON types for Tiled metadata.

    numpy scalars and arrays become Python numbers and lists, tuples become lists, NaN and
    infinities become None (JSON has no such numbers).

    Raises
    ------
    TypeError
        Naming the path (``metadata['report']['tau']``) of a value of another type.
    """
    if isinstance(value, (np.generic, np.ndarray)):
        return to_json_metadata(value.tolist(), where)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        converted = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has a non-str key {key!r}")
            converted[key] = to_json_metadata(item, f"{where}[{key!r}]")
        return converted
    if isinstance(value, (list, tuple)):
        return [to_json_metadata(item, f"{where}[{index}]") for index, item in enumerate(value)]
    raise TypeError(f"{where} is a {type(value).__name__}, which is not JSON-able")


def _scalar_metrics(table: Mapping[str, Any]) -> dict[str, bool | int | float | str]:
    """Copy ``table`` with numpy scalars made Python scalars; raise on non-scalar values."""
    metrics = {}
    for name, value in table.items():
        scalar = value.item() if isinstance(value, np.generic) else value
        if not isinstance(name, str) or not isinstance(scalar, (bool, int, float, str)):
            raise TypeError(f"table[{name!r}] must be a scalar under a str key, got {value!r}")
        metrics[name] = scalar
    return metrics


def _arrays_with_dims(
    arrays: Mapping[str, np.ndarray], dims: Mapping[str, Sequence[str]]
) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Check the arrays and name their dimensions."""
    stored = {}
    for name, array in arrays.items():
        if not isinstance(name, str) or not name or "/" in name or name == METRICS_KEY:
            raise ValueError(f"array key {name!r} must be a str without '/', not 'metrics'")
        if not isinstance(array, np.ndarray):
            kind = type(array).__name__
            raise TypeError(f"arrays[{name!r}] must be a numpy array, got {kind}")
        array_dims = list(dims.get(name, DEFAULT_DIMS.get(array.ndim, ())))
        if len(array_dims) != array.ndim:
            raise ValueError(
                f"arrays[{name!r}] has {array.ndim} dimensions; dims[{name!r}] must name them"
            )
        stored[name] = (np.ascontiguousarray(array), array_dims)
    return stored


def _plain(value: Any) -> Any:
    """Deep-copy Tiled's read-only DictView/ListView into dicts and lists."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(item) for item in value]
    return value


class TiledResultStore:
    """Write and read porewatch step results in a Tiled tree (layout in the module docstring).

    One writer per cell at a time.  Rewriting a step that exists (a replay run twice)
    replaces it: the old step container and its arrays are deleted first, so a step holds
    what the last :meth:`write_step` wrote (a write interrupted midway leaves a partial step,
    listed in ``metadata["arrays"]`` but missing arrays, until the step is written again).

    Parameters
    ----------
    uri : str
        Tiled URI of the container to write under, e.g. ``LocalTiledServer.uri`` or
        ``https://tiled.example.org/api/v1/metadata/porewatch``.
    api_key : str, optional
        Needed unless the key is in ``uri`` or the server allows anonymous writes.
    """

    def __init__(self, uri: str, api_key: str | None = None) -> None:
        from tiled.client import from_uri

        self._root = from_uri(uri, api_key=api_key)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._root.context.close()

    def __enter__(self) -> "TiledResultStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write_step(
        self,
        cell_id: str,
        step_index: int,
        *,
        metadata: Mapping[str, Any],
        arrays: Mapping[str, np.ndarray],
        table: Mapping[str, bool | int | float | str] | None = None,
        dims: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Write (or replace) the results of one step.

        Parameters
        ----------
        cell_id : str
        step_index : int
            The step container is ``<cell_id>/step_<step_index:03d>``.
        metadata : dict
            JSON-able step metadata (see :func:`to_json_metadata`).  ``cell_id`` and
            ``step_index`` are added (or must match), ``arrays`` (the keys written) and
            ``metrics`` (``table``) are added (and may not be given).
        arrays : dict of str to ndarray
            Written as they are (dtype kept), e.g. volume (n_z, n_y, n_x) float32, labels uint8,
            maps (N, N) float32 with NaN.  Leave the volume out to save time and space.
        table : dict of str to scalar, optional
            Scalar metrics: stored in ``metadata["metrics"]`` (NaN -> None) and as a one-row
            table ``metrics`` (NaN kept).
        dims : dict of str to sequence of str, optional
            Dimension names per array key; the default is :data:`DEFAULT_DIMS` by ``ndim``,
            required for arrays of other ``ndim``.

        Raises
        ------
        ValueError, TypeError
            Naming the bad argument, before anything is written.
        """
        key = step_key(step_index)
        stored = _arrays_with_dims(arrays, dims or {})
        metrics = _scalar_metrics(table or {})
        step_metadata = to_json_metadata(dict(metadata))
        reserved = {"arrays", "metrics"} & set(step_metadata)
        if reserved:
            raise ValueError(f"metadata keys {sorted(reserved)} are reserved for the store")
        identity = {"cell_id": validate_cell_id(cell_id), "step_index": int(step_index)}
        for name, expected in identity.items():
            if step_metadata.setdefault(name, expected) != expected:
                raise ValueError(f"metadata[{name!r}] = {step_metadata[name]!r}, not {expected!r}")
        step_metadata["arrays"] = sorted(stored)
        step_metadata["metrics"] = to_json_metadata(metrics, "table")

        cell = self._cell(cell_id)
        if key in cell:
            logger.info("replacing %s/%s in Tiled", cell_id, key)
            cell.delete_contents(key, recursive=True, external_only=False)
        step = cell.create_container(key, metadata=step_metadata, specs=[STEP_SPEC])
        for name, (array, array_dims) in stored.items():
            step.write_array(array, key=name, dims=array_dims)
        if metrics:
            step.write_table({name: [value] for name, value in metrics.items()}, key=METRICS_KEY)

    def write_rescan(self, cell_id: str, step_index: int, key: str, *, metadata: Mapping[str, Any],
                     arrays: Mapping[str, np.ndarray], hotspot: tuple[str, int],
                     dims: Mapping[str, Sequence[str]] | None = None) -> str:
        """Store a hot spot's rescan inside its step and link it from the step and the hot spot.

        The container ``<cell_id>/step_<NNN>/<key>`` holds ``metadata`` (plus ``arrays``) and the
        arrays; the step's metadata gains ``rescans`` (keys) and the hot spot ``(electrode, id)`` of
        ``metadata[electrode]["hotspots"]`` a ``rescans`` list. Returns the path of the container.

        Raises
        ------
        KeyError
            If the step is not stored.
        """
        stored = _arrays_with_dims(arrays, dims or {})
        rescan_metadata = to_json_metadata(dict(metadata))
        rescan_metadata["arrays"] = sorted(stored)
        cell, name = self._existing_cell(cell_id), step_key(step_index)
        if name not in cell:
            raise KeyError(f"cell {cell_id!r} has no {name}")
        step = cell[name]
        if key in step:
            step.delete_contents(key, recursive=True, external_only=False)
        node = step.create_container(key, metadata=rescan_metadata, specs=[RESCAN_SPEC])
        for array_key, (array, array_dims) in stored.items():
            node.write_array(array, key=array_key, dims=array_dims)
        electrode, hotspot_id = hotspot
        parent = _plain(step.metadata)
        for spot in parent.get(electrode, {}).get("hotspots", []):
            if spot.get("id") == hotspot_id:
                spot["rescans"] = sorted(set(spot.get("rescans", [])) | {key})
        step.update_metadata({electrode: parent[electrode], "rescans": sorted(set(parent.get("rescans", [])) | {key})})
        return f"{cell_id}/{name}/{key}"

    def read_rescan(self, cell_id: str, step_index: int, key: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Metadata and arrays of a rescan stored by :meth:`write_rescan`. Raises KeyError naming what is missing."""
        cell, name = self._existing_cell(cell_id), step_key(step_index)
        if name not in cell or key not in cell[name]:
            raise KeyError(f"{cell_id}/{name} has no rescan {key!r}")
        node = cell[name][key]
        return _plain(node.metadata), {array_key: np.asarray(node[array_key].read()) for array_key in node}

    def _cell(self, cell_id: str) -> Any:
        """The container of a cell, created if missing."""
        if cell_id not in self._root:
            self._root.create_container(cell_id, metadata={"cell_id": cell_id}, specs=[CELL_SPEC])
        return self._root[cell_id]

    def _existing_cell(self, cell_id: str) -> Any:
        validate_cell_id(cell_id)
        if cell_id not in self._root:
            raise KeyError(f"no cell {cell_id!r} in Tiled at {self._root.uri}")
        return self._root[cell_id]

    def list_cells(self) -> list[str]:
        """Sorted ids of the cells (containers with the ``porewatch-cell`` spec)."""
        from tiled.queries import SpecsQuery

        return sorted(self._root.search(SpecsQuery(include=[CELL_SPEC])).keys())

    def read_cell(self, cell_id: str) -> list[dict[str, Any]]:
        """Metadata dicts of the cell's steps, sorted by ``step_index``.

        Raises
        ------
        KeyError
            If the cell is not in the tree.
        """
        steps = [_plain(step.metadata) for step in self._existing_cell(cell_id).values()]
        return sorted(steps, key=lambda step: step["step_index"])

    def read_array(self, cell_id: str, step_index: int, key: str) -> np.ndarray:
        """One stored array of one step.

        Raises
        ------
        KeyError
            Naming the missing cell, step or array.
        """
        step_name = step_key(step_index)
        cell = self._existing_cell(cell_id)
        if step_name not in cell:
            raise KeyError(f"cell {cell_id!r} has no {step_name}")
        step = cell[step_name]
        if key not in step:
            raise KeyError(f"{cell_id}/{step_name} has no array {key!r}")
        return np.asarray(step[key].read())
